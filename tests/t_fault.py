"""t_fault.py - fault injection at every call site of the spool.

tests/fault/faultshim.so (LD_PRELOAD) counts the calls smtpd makes on
its queue - write, fsync of the file, fsync of new/, close, open/openat,
mkdir/mkdirat, renameat2, linkat - and fails the Nth one.  For each kind
and each N a clean run makes, one session is run with that call failing.
Always: no reply is 5xx; every message gets 250 or 4xx and at least one
gets 4xx (the one whose call failed); each 250 has its file in new/,
complete byte for byte, and no file in new/ lacks its 250; tmp/ is
empty.  Out of space (ENOSPC, EDQUOT) must say 452 4.3.1; short writes,
EINTR and a missing renameat2 (EINVAL: the link fallback) must still
queue every message.
"""
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import check  # noqa: E402

SHIM = lib.SHIM
QUEUED_RE = lib.QUEUED_RE
KINDS = ["write", "fsync", "dirfsync", "close", "open", "openat", "mkdir",
         "mkdirat", "renameat2", "linkat"]
RUNS = {"n": 0, "missed": 0}


crlf = lib.crlf


def message(i, size):
    body = b"".join(b"line %06d of message %d %s\r\n" % (k, i, b"x" * 40)
                    for k in range(size // 60 + 1))
    return crlf(b"Subject: fault test %d" % i, b"") + body


def tx(msg, rcpt=b"<r@example.com>"):
    return (b"MAIL FROM:<s@example.org>\r\nRCPT TO:" + rcpt + b"\r\n"
            b"DATA\r\n" + msg + b".\r\n")


received_split = lib.received_split


# the sessions: (name, list of messages, client bytes); "each" sessions
# are written all at once (PIPELINING, so one group commit covers them)
def scenarios():
    one = [message(0, 200)]
    two = [message(1, 300), message(2, 500)]
    big = [message(3, 300000), message(4, 100)]
    seq = [message(5, 100), message(6, 2000), message(7, 100)]
    return [
        ("one", one, b"EHLO c.example\r\n" + tx(one[0]) + b"QUIT\r\n"),
        ("pipelined-two", two, b"EHLO c.example\r\n" + tx(two[0]) +
         tx(two[1], b"<r2@example.com>") + b"QUIT\r\n"),
        ("big-then-small", big, b"EHLO c.example\r\n" + tx(big[0]) +
         b"RSET\r\n" + tx(big[1]) + b"QUIT\r\n"),
        ("one-at-a-time", seq, Chunks([b"EHLO c.example\r\n"] + [
            x for m in seq for x in (
                b"MAIL FROM:<s@example.org>\r\nRCPT TO:<r@example.com>\r\n"
                b"DATA\r\n", m + b".\r\n")] + [b"QUIT\r\n"])),
    ]


class Chunks(list):
    """Client bytes sent in steps: each step after the reply to the last
    (a client that does not pipeline), so each message is its own batch."""


def run_steps(q, chunks, env):
    """Run smtpd, sending each chunk once the previous one is answered."""
    errf = tempfile.TemporaryFile()
    p = subprocess.Popen([lib.SMTPD, "--queue", q.dir, "--hostname",
                          lib.HOST], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=errf,
                         env=lib.base_env(env))
    out = b""
    fd = p.stdout.fileno()
    final = re.compile(rb"(?m)^\d\d\d ")     # the last line of a reply
    try:
        for chunk in chunks:
            before = len(final.findall(out))
            p.stdin.write(chunk)
            p.stdin.flush()
            end = time.monotonic() + 20
            while (len(final.findall(out)) == before or
                   not out.endswith(b"\r\n")) and time.monotonic() < end:
                r = os.read(fd, 65536)
                if not r:
                    break
                out += r
    except BrokenPipeError:
        pass
    try:
        p.stdin.close()
    except BrokenPipeError:
        pass
    rest = p.stdout.read()
    p.stdout.close()
    p.wait(60)
    errf.seek(0)
    err = errf.read()
    errf.close()
    return p.returncode, out + rest, err


def read_counts(path):
    counts = {}
    try:
        with open(path) as f:
            for line in f:
                k, v = line.split()
                counts[k] = int(v)
        os.unlink(path)
    except OSError:
        pass
    return counts


def run(q, data, spec=None):
    """One session under the shim; (rc, out, err, counts)."""
    counts = q.dir + ".counts"
    env = lib.shim_env(q.dir, spec, counts)
    RUNS["n"] += 1
    if isinstance(data, Chunks):
        rc, out, err = run_steps(q, data, env)
    else:
        rc, out, err = lib.run_smtpd(data, q, env=env, timeout=120)
    return rc, out, err, read_counts(counts)


def final_codes(out):
    """The reply to each message's end of data, in order."""
    lines = out.split(b"\r\n")
    finals = []
    after_354 = False
    for ln in lines:
        if ln.startswith(b"354 "):
            after_354 = True
            continue
        if after_354 and ln[:1] in (b"2", b"4", b"5"):
            finals.append(ln[:3].decode())
            after_354 = False
    return finals


def verify(name, q, msgs, rc, out, err, expect_fail, expect_codes=None):
    """The invariants after one run; returns True if they hold."""
    ids = [m.decode() for m in QUEUED_RE.findall(out)]
    new = q.files("new")
    tmp = q.files("tmp")
    codes = [ln[:3].decode() for ln in out.split(b"\r\n") if ln[:1] == b"5"]
    problems = []
    if codes:
        problems.append("5xx replies %r" % codes)
    if tmp:
        problems.append("tmp/ not empty: %r" % tmp)
    if sorted(ids) != new:
        problems.append("250s %r but new/ %r" % (ids, new))
    for qid in set(ids) & set(new):
        blob = q.read(qid)
        head, sep, m = blob.partition(b"\n\n")
        _, rest = received_split(m) if sep else (b"", b"")
        if rest not in msgs:
            problems.append("%s is not a complete message (%d bytes)" %
                            (qid, len(blob)))
    # a 4xx may answer the end of data, DATA itself (the tmp file could
    # not be made) or the greeting (the queue could not be opened)
    fours = [ln[:3].decode() for ln in out.split(b"\r\n") if ln[:1] == b"4"]
    if expect_fail and not fours:
        problems.append("no 4xx although a call failed")
    elif not expect_fail and len(ids) != len(msgs):
        problems.append("want all %d queued, got %d" % (len(msgs), len(ids)))
    if expect_codes and not any(c in expect_codes for c in fours):
        problems.append("want one of %r, got 4xx %r" % (expect_codes, fours))
    return check(name, not problems, "; ".join(problems) + "\n  out=%r\n"
                 "  err=%s" % (out[-600:], err.decode("utf-8", "replace")
                               [-800:]))


def count_calls(data):
    q = lib.Queue()
    try:
        rc, out, err, counts = run(q, data)
        return rc, out, counts
    finally:
        q.cleanup()


def test_each_call_site():
    total = {k: 0 for k in KINDS}
    for name, msgs, data in scenarios():
        rc, out, counts = count_calls(data)
        if not check("fault-%s-clean-run" % name, rc == 0 and
                     len(QUEUED_RE.findall(out)) == len(msgs),
                     "rc=%s out=%r" % (rc, out[-300:])):
            continue
        check("fault-%s-calls-counted" % name, all(
            counts.get(k, 0) > 0 for k in ("write", "fsync", "dirfsync",
                                           "openat", "renameat2")),
              "counts %r" % counts)
        for kind in KINDS:
            for n in range(1, counts.get(kind, 0) + 1):
                q = lib.Queue()
                try:
                    spec = "%s:%d:EIO" % (kind, n)
                    rc, out, err, c = run(q, data, spec)
                    # how many writes a big message takes depends on how
                    # the pipe delivered it: an Nth call may not happen
                    fired = c.get("fired", 0) > 0
                    verify("fault-%s-%s-%d" % (name, kind, n), q, msgs,
                           rc, out, err, fired)
                    total[kind] += fired
                    RUNS["missed"] += not fired
                finally:
                    q.cleanup()
        # the link fallback (renameat2 unsupported) fails at each link
        for n in range(1, counts.get("renameat2", 0) + 1):
            q = lib.Queue()
            try:
                rc, out, err, c = run(
                    q, data, "renameat2:1+:EINVAL,linkat:%d:EIO" % n)
                # fired counts the renameat2s too: the link is the last
                fired = c.get("fired", 0) > c.get("renameat2", 0)
                verify("fault-%s-linkat-fallback-%d" % (name, n), q, msgs,
                       rc, out, err, fired)
                total["linkat"] += fired
            finally:
                q.cleanup()
    print("faults injected: %s = %d (%d runs where the Nth call did not "
          "happen)" % (", ".join("%s %d" % (k, v) for k, v in total.items()
                                 if v), sum(total.values()), RUNS["missed"]))


def test_out_of_space():
    """ENOSPC/EDQUOT on a write or fsync: 452 4.3.1, not 451."""
    name, msgs, data = scenarios()[0]
    for spec in ("write:1:ENOSPC", "write:1+:ENOSPC", "write:1:EDQUOT",
                 "fsync:1:ENOSPC", "close:1:EDQUOT"):
        q = lib.Queue()
        try:
            rc, out, err, c = run(q, data, spec)
            verify("fault-452-%s" % spec.replace(":", "-"), q, msgs, rc, out,
                   err, True, expect_codes=("452",))
        finally:
            q.cleanup()


def test_retried_calls():
    """Short writes, EINTR and no renameat2: still every message queued."""
    for name, msgs, data in scenarios():
        for spec in ("write:1+:short", "write:1:eintr", "write:2:eintr",
                     "renameat2:1+:EINVAL", "renameat2:1+:ENOSYS"):
            q = lib.Queue()
            try:
                rc, out, err, c = run(q, data, spec)
                verify("fault-ok-%s-%s" % (name, spec.replace(":", "-")), q,
                       msgs, rc, out, err, False)
            finally:
                q.cleanup()


def test_aio_fsync():
    """A pipelined batch fsyncs its first two files one after another;
    when the second takes a real wait (a disk flushing its cache: the shim
    makes each fsync take 2 ms) the rest go out together through Linux
    AIO, else (tmpfs) one after another too; where AIO is refused, one
    after another.  The same replies and files either way, and a failed
    fsync is a 451 for its own message only."""
    msgs = [message(20 + i, 100 + 50 * i) for i in range(5)]
    data = b"EHLO c.example\r\n" + b"".join(
        tx(m, b"<r%d@example.com>" % i) for i, m in enumerate(msgs)) + \
        b"QUIT\r\n"
    # unslowed, either way is right: it depends on this disk's fsyncs
    for spec, want_aio in ((None, (0, 3)), ("fsync:1+:slow", (3,)),
                           ("aiosetup:1+:ENOSYS,fsync:1+:slow", (0,)),
                           ("aiosetup:1+:EAGAIN,fsync:1+:slow", (0,))):
        q = lib.Queue()
        try:
            rc, out, err, c = run(q, data, spec)
            tag = "fault-aio-%s" % (spec or "fast-fsync").replace(
                ":", "-").replace(",", "-")
            verify(tag, q, msgs, rc, out, err, False)
            check(tag + "-counts", c.get("aiofsync", 0) in want_aio and
                  c.get("fsync", 0) == 5, "counts %r" % c)
        finally:
            q.cleanup()
    for n in (1, 2, 3, 5):
        q = lib.Queue()
        try:
            rc, out, err, c = run(q, data, "fsync:%d:EIO,fsync:1+:slow" % n)
            codes = final_codes(out)
            # the 2nd fsync is the timed one: failing at once it is
            # usually fast, but not under valgrind
            check("fault-aio-fsync-%d-one-451" % n, c.get("aiofsync", 0) in
                  ((0, 3) if n == 2 else (3,)) and
                  sorted(codes) == ["250"] * 4 + ["451"] and
                  len(q.files("new")) == 4 and q.files("tmp") == [],
                  "codes %r new %r counts %r" % (codes, q.files("new"), c))
        finally:
            q.cleanup()


def test_session_goes_on():
    """After a failed commit the same session can still queue mail (the
    second message is sent once the first is answered: its own batch)."""
    msgs = [message(7, 100), message(8, 100)]
    q = lib.Queue()
    try:
        rc, out, err, c = run(q, Chunks([b"EHLO c.example\r\n", tx(msgs[0]),
                                         tx(msgs[1]), b"QUIT\r\n"]),
                              "fsync:1:EIO")
        finals = final_codes(out)
        ids = QUEUED_RE.findall(out)
        check("fault-session-goes-on", finals == ["451", "250"] and
              len(ids) == 1 and q.files("new") == [ids[0].decode()] and
              q.files("tmp") == [] and rc == 0,
              "finals=%r new=%r tmp=%r rc=%r out=%r" % (
                  finals, q.files("new"), q.files("tmp"), rc, out[-300:]))
    finally:
        q.cleanup()


def main():
    if not os.path.exists(SHIM):
        check("fault-shim-built", False, "%s missing (make %s)" % (
            SHIM, os.path.relpath(SHIM, lib.ROOT)))
        lib.finish()
    t0 = time.time()
    for t in (test_each_call_site, test_out_of_space, test_retried_calls,
              test_session_goes_on, test_aio_fsync):
        try:
            t()
        except Exception:
            import traceback
            check(t.__name__, False, traceback.format_exc())
    print("fault runs: %d in %.1f s" % (RUNS["n"], time.time() - t0))
    lib.finish()


if __name__ == "__main__":
    main()
