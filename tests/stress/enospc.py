"""enospc.py - a full file system for real, under concurrent sessions.

An 8 MB tmpfs is the queue; 16 smtpd sessions at once each send 6
messages of 100 KB to 2 MB (about 100 MB in all), so the disk fills and
frees only when this test empties new/ between rounds.  The client
pipelines MAIL, RCPT, DATA and sends the text only after 354.  Every
message gets 250 or 452 4.3.1 (at MAIL when its SIZE does not fit, at
DATA, or at the end when the disk filled meanwhile), never another 4xx
or 5xx (but the 503s to RCPT/DATA after a refused MAIL); every 250 is in new/ whole; new/ holds nothing
else; tmp/ is empty once the sessions are over; after new/ is emptied a
session queues mail again.  Needs root to mount a tmpfs (SKIP else).
"""
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import lib  # noqa: E402
from lib import check  # noqa: E402

QUEUED_RE = re.compile(rb"^250 2\.0\.0 OK queued as (\S+)\r$", re.M)
TOKEN_RE = re.compile(rb"\r\nX-Token: (\S+)\r\n")
SESSIONS, PER_SESSION, ROUNDS = 16, 6, 3


def message(tok, size):
    line = tok + b" " + b"f" * 70 + b"\r\n"
    return (b"From: full@example.org\r\nX-Token: " + tok +
            b"\r\nSubject: disk full\r\n\r\n" + line * (size // len(line)))


def session(q, msgs, out, i):
    """A client that pipelines MAIL, RCPT, DATA and sends the message only
    after 354 (RFC 2920), RSET otherwise."""
    p = subprocess.Popen([lib.SMTPD, "--queue", q.dir, "--hostname",
                          lib.HOST], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         env=lib.base_env())
    got = []

    def reply():
        while True:
            line = p.stdout.readline()
            if not line:
                raise EOFError("EOF after %r" % got[-3:])
            got.append(line.rstrip(b"\r\n"))
            if line[3:4] != b"-":
                return line[:3]
    try:
        reply()
        p.stdin.write(b"EHLO full.example\r\n")
        p.stdin.flush()
        reply()
        for k, m in enumerate(msgs):
            # half say their SIZE (refused at MAIL if it does not fit),
            # half do not: those run into the full disk while written
            size = b" SIZE=%d" % len(m) if k % 2 else b""
            p.stdin.write(b"MAIL FROM:<full@example.org>" + size + b"\r\n"
                          b"RCPT TO:<r@example.com>\r\nDATA\r\n")
            p.stdin.flush()
            codes = [reply() for _ in range(3)]
            if codes[2] == b"354":
                p.stdin.write(m + b".\r\n")
                p.stdin.flush()
                reply()
            else:
                p.stdin.write(b"RSET\r\n")
                p.stdin.flush()
                reply()
        p.stdin.write(b"QUIT\r\n")
        p.stdin.close()
        reply()
        p.wait(60)
    except (EOFError, OSError, subprocess.TimeoutExpired) as e:
        got.append(repr(e).encode())
        p.kill()
        p.wait()
    out[i] = (p.returncode, b"\r\n".join(got) + b"\r\n")


def main():
    if os.geteuid() != 0:
        print("SKIP enospc: needs root to mount a tmpfs")
        lib.finish()
    mnt = tempfile.mkdtemp(prefix="smtpd-full-")
    m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0755",
                        "tmpfs", mnt], capture_output=True)
    if m.returncode != 0:
        os.rmdir(mnt)
        print("SKIP enospc: cannot mount a tmpfs: %s" %
              m.stderr.decode("utf-8", "replace").strip())
        lib.finish()
    rng = random.Random(int(os.environ.get("ENOSPC_SEED", "5")))
    stats = {"250": 0, "452": 0, "452-written": 0, "other": 0}
    try:
        q = lib.Queue(base=mnt)
        for rnd in range(ROUNDS):
            expected = {}
            sent = []
            for i in range(SESSIONS):
                msgs = []
                for k in range(PER_SESSION):
                    tok = b"r%ds%dm%d" % (rnd, i, k)
                    msgs.append(message(tok, rng.choice(
                        [100000, 300000, 800000, 2000000])))
                    expected[tok] = msgs[-1]
                sent.append(msgs)
            out = [None] * SESSIONS
            threads = [threading.Thread(target=session, args=(
                q, sent[i], out, i)) for i in range(SESSIONS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(180)
            acked, bad_codes = set(), []
            for rc, o in out:
                for ln in o.split(b"\r\n"):
                    if ln[:3] in (b"452",):
                        stats["452"] += 1
                        if not ln.startswith(b"452 4.3.1 "):
                            bad_codes.append(ln)
                        if b"not queued" in ln:
                            stats["452-written"] += 1
                    elif ln[:1] in (b"4", b"5") and not ln.startswith(
                            b"503 5.5.1 send MAIL first"):  # RCPT, DATA
                        stats["other"] += 1
                        bad_codes.append(ln)
                acked |= set(x.decode() for x in QUEUED_RE.findall(o))
            stats["250"] += len(acked)
            new = set(q.files("new"))
            partial = []
            for name in new:
                blob = q.read(name)
                t = TOKEN_RE.search(blob)
                if not t or not blob.endswith(b"\r\n" + expected.get(
                        t.group(1), b"\0")):
                    partial.append(name)
            check("enospc-round%d-only-250-or-452" % rnd, not bad_codes,
                  bad_codes[:5])
            check("enospc-round%d-250s-are-new" % rnd, acked == new,
                  "%d 250s, %d files" % (len(acked), len(new)))
            check("enospc-round%d-nothing-partial" % rnd, not partial,
                  partial[:5])
            check("enospc-round%d-tmp-empty" % rnd, q.files("tmp") == [],
                  q.files("tmp")[:5])
            check("enospc-round%d-sessions-exit-0" % rnd,
                  all(rc == 0 for rc, _ in out), [rc for rc, _ in out])
            for name in new:       # the "delivery": room again
                os.unlink(os.path.join(q.dir, "new", name))
        print("enospc: %d messages offered to an 8 MB tmpfs by %d "
              "sessions at a time: %d queued (250), %d refused 452 4.3.1 "
              "(%d of them after the write hit ENOSPC), %d other" % (
                  ROUNDS * SESSIONS * PER_SESSION, SESSIONS, stats["250"],
                  stats["452"], stats["452-written"], stats["other"]))
        check("enospc-disk-really-filled", stats["452-written"] > 0 and
              stats["250"] > 0, stats)
    finally:
        subprocess.run(["umount", mnt], capture_output=True)
        os.rmdir(mnt)
    lib.finish()


if __name__ == "__main__":
    main()
