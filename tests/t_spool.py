"""t_spool.py - the spool contract, through real file systems.

Runs the real binary and checks what lands in QUEUE/tmp and QUEUE/new:
file layout and envelope keys, the split with the real sed, ids, mode,
atomicity on EOF / SIGKILL / write errors / unwritable queues (as an
unprivileged user), ENOSPC on a small tmpfs, and (with strace) that the
250 comes only after fsync of the file and of new/.
"""
import os
import re
import select
import signal
import shutil
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import check  # noqa: E402

NOBODY = 65534
AS_NOBODY = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
             "--clear-groups"]
QUEUED_RE = lib.QUEUED_RE
SAFE_ID = re.compile(r"^[A-Za-z0-9.]+$")


crlf, stuff = lib.crlf, lib.stuff


def tx(msg, frm=b"<s@example.org>", rcpts=(b"<r@example.com>",),
       mail_params=b""):
    """One transaction (MAIL..DATA..end) as client bytes."""
    return lib.tx(msg, frm, rcpts, mail_params)


def replies(out):
    return out.decode("utf-8", "replace").split("\r\n")


def queued_ids(out):
    return [m.decode() for m in QUEUED_RE.findall(out)]


received_split = lib.received_split


def errtext(err):
    return err.decode("utf-8", "replace")[-1500:]


class Live:
    """smtpd on pipes, driven step by step."""

    def __init__(self, cmd, env=None):
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE,
                                  env=lib.base_env(env))
        self.buf = b""
        self.err = b""

    def reply(self, timeout=10):
        """One whole (possibly multi-line) reply, as a list of lines."""
        lines = []
        end = time.monotonic() + timeout
        fd = self.p.stdout.fileno()
        while True:
            while b"\r\n" not in self.buf:
                left = end - time.monotonic()
                if left <= 0 or not select.select([fd], [], [], left)[0]:
                    raise TimeoutError("no reply; got %r" % self.buf)
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise EOFError("EOF; got %r %r" % (lines, self.buf))
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line.decode("utf-8", "replace"))
            if len(line) < 4 or line[3:4] != b"-":
                return lines

    def send(self, data):
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def cmd(self, data, timeout=10):
        self.send(data)
        return self.reply(timeout)

    def finish(self, timeout=10):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.err = self.p.stderr.read()
        self.p.stdout.close()
        self.p.stderr.close()
        return self.p.returncode


def smtpd_cmd(q, *args):
    return [lib.SMTPD, "--queue", q.dir, "--hostname", lib.HOST] + list(args)


# --- file layout and envelope --------------------------------------------

MSG1 = crlf(b"From: s@example.org", b"To: r@example.com",
            b"Subject: layout test", b"", b"first line",
            b".leading dot (stuffed on the wire)", b"..two dots",
            b".", b"", b"trailing \t spaces  ", b"last line")


def test_layout_untrusted():
    q = lib.Queue()
    try:
        data = (b"EHLO client.example\r\n" + tx(
            MSG1, frm=b"<s@example.org>",
            rcpts=(b"<r@example.com> NOTIFY=SUCCESS,FAILURE "
                   b"ORCPT=rfc822;r+2Bx@example.com",
                   b"<Second@Sub.example.com>",
                   b"<third@example.com> NOTIFY=NEVER"),
            mail_params=b"SIZE=400 BODY=8BITMIME RET=HDRS ENVID=env+2Bid42")
            + b"QUIT\r\n")
        t0 = int(time.time())
        rc, out, err = lib.run_smtpd(
            data, q, ["--domain", "example.com", "--domain", ".sub.example.com"],
            {"TCPREMOTEIP": "192.0.2.7", "TCPREMOTEPORT": "40123",
             "TCPREMOTEHOST": "client.example.net"})
        t1 = int(time.time())
        ids = queued_ids(out)
        new = q.files("new")
        if not check("spool-layout-queued", rc == 0 and len(ids) == 1
                     and new == ids and q.files("tmp") == [],
                     "rc=%s ids=%s new=%s tmp=%s out=%r err=%s" % (
                         rc, ids, new, q.files("tmp"), out, errtext(err))):
            return
        qid = ids[0]
        check("spool-id-chars", SAFE_ID.match(qid) is not None
              and len(qid) <= 255, "id %r" % qid)
        path = os.path.join(q.dir, "new", qid)
        st = os.stat(path)
        check("spool-file-mode-0640", stat.S_IMODE(st.st_mode) == 0o640
              and stat.S_ISREG(st.st_mode),
              "mode %o" % st.st_mode)
        blob = q.read(qid)
        head, sep, message = blob.partition(b"\n\n")
        check("spool-envelope-lf-only", sep == b"\n\n" and b"\r" not in head
              and b"\0" not in head, "head %r" % head)
        fields, _ = lib.split_spool(blob)
        want = [
            ("Version", "1"), ("Id", qid), ("Arrival", None),
            ("Client-Address", "192.0.2.7"), ("Client-Port", "40123"),
            ("Client-Name", "client.example.net"), ("Helo", "client.example"),
            ("Protocol", "ESMTP"), ("Trusted", "no"),
            ("Sender", "<s@example.org>"), ("Size", "400"),
            ("Body", "8BITMIME"), ("Ret", "HDRS"), ("Envid", "env+2Bid42"),
            ("Recipient", "<r@example.com>"), ("Notify", "SUCCESS,FAILURE"),
            ("ORCPT", "rfc822;r+2Bx@example.com"),
            ("Recipient", "<Second@Sub.example.com>"),
            ("Recipient", "<third@example.com>"), ("Notify", "NEVER"),
        ]
        got = [(k, None if k == "Arrival" else v) for k, v in fields]
        check("spool-envelope-keys", got == want,
              "want %r\ngot  %r" % (want, fields))
        arr = dict(fields).get("Arrival", "")
        check("spool-envelope-arrival", arr.isdigit()
              and t0 - 1 <= int(arr) <= t1 + 1, "Arrival %r not in [%d,%d]"
              % (arr, t0, t1))
        rec, rest = received_split(message)
        check("spool-message-bytes", rest == MSG1,
              "want %r\ngot  %r" % (MSG1, rest))
        rec_re = (rb"^Received: from client\.example "
                  rb"\(client\.example\.net \[192\.0\.2\.7\]\)\r\n"
                  rb"\tby mx\.test\.example with ESMTP id " +
                  re.escape(qid.encode()) +
                  rb"; [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} "
                  rb"\d\d:\d\d:\d\d \+0000\r\n$")
        check("spool-received-line", re.match(rec_re, rec) is not None,
              "Received %r" % rec)
        sed = subprocess.run(["sed", "1,/^$/d", path], capture_output=True)
        check("spool-sed-split", sed.returncode == 0
              and sed.stdout == rec + MSG1,
              "sed rc=%d\nwant %r\ngot  %r" % (sed.returncode, rec + MSG1,
                                               sed.stdout))
    finally:
        q.cleanup()


def test_layout_local_helo():
    """A pipe client: no address keys, trusted, HELO gives SMTP."""
    q = lib.Queue()
    try:
        msg = crlf(b"Subject: local", b"", b"body")
        data = b"HELO pipe.example\r\n" + tx(
            msg, frm=b"<>", rcpts=(b"<x@anywhere.example>",)) + b"QUIT\r\n"
        rc, out, err = lib.run_smtpd(data, q)
        ids = queued_ids(out)
        if not check("spool-local-queued", rc == 0 and len(ids) == 1 and
                     q.files("new") == ids and q.files("tmp") == [],
                     "rc=%s out=%r err=%s" % (rc, out, errtext(err))):
            return
        blob = q.read(ids[0])
        fields, message = lib.split_spool(blob)
        keys = [k for k, _ in fields]
        want = ["Version", "Id", "Arrival", "Helo", "Protocol", "Trusted",
                "Sender", "Recipient"]
        d = dict(fields)
        check("spool-local-envelope", keys == want
              and d["Protocol"] == "SMTP" and d["Trusted"] == "yes"
              and d["Sender"] == "<>" and d["Helo"] == "pipe.example"
              and d["Id"] == ids[0]
              and d["Recipient"] == "<x@anywhere.example>",
              "fields %r" % fields)
        rec, rest = received_split(message)
        check("spool-local-received", rest == msg and rec.startswith(
            b"Received: from pipe.example\r\n\tby mx.test.example with SMTP"
            b" id " + ids[0].encode() + b"\r\n\tfor <x@anywhere.example>; "),
            "message %r" % message)
    finally:
        q.cleanup()


def test_layout_utf8():
    """SMTPUTF8: Protocol UTF8SMTP, the key, raw UTF-8 addresses."""
    q = lib.Queue()
    try:
        msg = crlf("Subject: gr\u00fc\u00dfe".encode(), b"",
                   "\u00e4\u00f6\u00fc \u2603".encode())
        data = b"EHLO c.example\r\n" + tx(
            msg, frm="<j\u00fcrgen@b\u00fccher.example>".encode(),
            rcpts=("<\u00f8@\u00e6.example>".encode(),),
            mail_params=b"SMTPUTF8 BODY=8BITMIME") + b"QUIT\r\n"
        rc, out, err = lib.run_smtpd(data, q)
        ids = queued_ids(out)
        if not check("spool-utf8-queued", rc == 0 and len(ids) == 1,
                     "rc=%s out=%r err=%s" % (rc, out, errtext(err))):
            return
        blob = q.read(ids[0])
        fields, message = lib.split_spool(blob)
        d = dict(fields)
        check("spool-utf8-envelope", d.get("Protocol") == "UTF8SMTP"
              and d.get("SMTPUTF8") == "yes" and d.get("Body") == "8BITMIME"
              and d.get("Sender") == "<j\u00fcrgen@b\u00fccher.example>"
              and d.get("Recipient") == "<\u00f8@\u00e6.example>",
              "fields %r" % fields)
        rec, rest = received_split(message)
        check("spool-utf8-bytes", rest == msg and b" with UTF8SMTP id " in rec,
              "message %r" % message)
    finally:
        q.cleanup()


def test_several_messages():
    q = lib.Queue()
    try:
        msgs = [crlf(b"Subject: m%d" % i, b"", b"body %d" % i * (i * 50 + 1))
                for i in range(4)]
        data = b"EHLO c.example\r\n"
        for i, m in enumerate(msgs):
            data += tx(m, rcpts=(b"<r%d@example.com>" % i,))
            if i == 1:
                data += b"RSET\r\n"
        data += b"QUIT\r\n"
        rc, out, err = lib.run_smtpd(data, q)
        ids = queued_ids(out)
        ok = (rc == 0 and len(ids) == 4 and len(set(ids)) == 4
              and sorted(ids) == q.files("new") and q.files("tmp") == [])
        if not check("spool-several-distinct-ids", ok,
                     "rc=%s ids=%s new=%s tmp=%s err=%s" % (
                         rc, ids, q.files("new"), q.files("tmp"),
                         errtext(err))):
            return
        bad = []
        for i, (qid, m) in enumerate(zip(ids, msgs)):
            fields, message = lib.split_spool(q.read(qid))
            d = dict(fields)
            rec, rest = received_split(message)
            if (d.get("Id") != qid or rest != m or
                    d.get("Recipient") != "<r%d@example.com>" % i or
                    [k for k, _ in fields].count("Recipient") != 1):
                bad.append((i, qid, fields, message[:200]))
        check("spool-several-complete", not bad, "bad %r" % bad)
    finally:
        q.cleanup()


def test_refusals_leave_nothing():
    """Every refused message: nothing in new/, tmp/ empty, session goes on."""
    q = lib.Queue()
    try:
        big = crlf(b"Subject: big", b"", b"x" * 3000)
        data = (b"EHLO c.example\r\n"
                + tx(big)                                    # 552 too big
                + b"MAIL FROM:<s@example.org>\r\nRCPT TO:<r@example.com>\r\n"
                  b"DATA\r\nSubject: lf\r\n\r\nbare\nlf\r\n.\r\n"  # 550
                + b"MAIL FROM:<s@example.org>\r\nRCPT TO:<r@example.com>\r\n"
                  b"DATA\r\nSubject: nul\r\n\r\nn\0l\r\n.\r\n"     # 554
                + tx(crlf(b"Subject: ok", b"", b"fine"))         # 250
                + b"QUIT\r\n")
        rc, out, err = lib.run_smtpd(data, q, ["--max-size", "1000"])
        codes = [ln[:9] for ln in replies(out) if ln[:3] in
                 ("552", "550", "554", "250", "221")
                 and not ln.startswith("250-")]
        finals = [c for c in codes if c[:3] in ("552", "550", "554")]
        ids = queued_ids(out)
        check("spool-refusals-clean",
              rc == 0 and finals == ["552 5.3.4", "550 5.6.0", "554 5.6.0"]
              and len(ids) == 1 and q.files("new") == ids
              and q.files("tmp") == [],
              "rc=%s codes=%s new=%s tmp=%s out=%r" % (
                  rc, codes, q.files("new"), q.files("tmp"), out))
    finally:
        q.cleanup()


# --- EOF and SIGKILL in the middle of DATA ---------------------------------

def test_eof_in_data():
    q = lib.Queue()
    try:
        data = (b"EHLO c.example\r\nMAIL FROM:<s@example.org>\r\n"
                b"RCPT TO:<r@example.com>\r\nDATA\r\nSubject: cut\r\n\r\n"
                + b"partial line " * 1000 + b"\r\nno end")
        rc, out, err = lib.run_smtpd(data, q)
        check("spool-eof-in-data",
              rc == 1 and q.files("new") == [] and q.files("tmp") == []
              and out.rstrip(b"\r\n").endswith(b"<CRLF>.<CRLF>")
              and b"queued" not in out,
              "rc=%s new=%s tmp=%s out=%r" % (rc, q.files("new"),
                                               q.files("tmp"), out))
    finally:
        q.cleanup()


def test_kill9_in_data():
    q = lib.Queue()
    live = Live(smtpd_cmd(q))
    try:
        r = [live.reply()[0][:3]]
        r.append(live.cmd(b"EHLO c.example\r\n")[-1][:3])
        r.append(live.cmd(b"MAIL FROM:<s@example.org>\r\n")[0][:3])
        r.append(live.cmd(b"RCPT TO:<r@example.com>\r\n")[0][:3])
        r.append(live.cmd(b"DATA\r\n")[0][:3])
        live.send(b"Subject: killed\r\n\r\n" + b"y" * 200000 + b"\r\n")
        time.sleep(0.3)
        tmp_before = q.files("tmp")
        new_before = q.files("new")
        live.p.send_signal(signal.SIGKILL)
        rc = live.finish()
        check("spool-kill9-in-data",
              r == ["220", "250", "250", "250", "354"]
              and rc == -signal.SIGKILL and len(tmp_before) == 1
              and new_before == [] and q.files("new") == [],
              "replies=%s rc=%s tmp_before=%s new_before=%s new=%s" % (
                  r, rc, tmp_before, new_before, q.files("new")))
    except (TimeoutError, EOFError, OSError) as e:
        live.p.kill()
        live.finish()
        check("spool-kill9-in-data", False, "%r err=%s" % (e, errtext(
            live.err)))
    finally:
        q.cleanup()


# --- unwritable queues (as an unprivileged user) ---------------------------

def can_drop_privileges():
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return False
    p = subprocess.run(AS_NOBODY + ["true"], capture_output=True)
    return p.returncode == 0


def run_as_nobody(data, qdir, args=()):
    cmd = AS_NOBODY + [lib.SMTPD, "--queue", qdir, "--hostname",
                       lib.HOST] + list(args)
    p = subprocess.run(cmd, input=data, capture_output=True,
                       env=lib.base_env(), timeout=30)
    return p.returncode, p.stdout, p.stderr


def expect_421(name, qdir, reason):
    rc, out, err = run_as_nobody(b"EHLO c.example\r\nQUIT\r\n", qdir)
    lines = replies(out)
    e = err.decode("utf-8", "replace")
    check(name, rc == 111 and lines[0].startswith("421 4.3.0 ")
          and lines[1:] == [""] and "unavailable" in e
          and reason.replace(" ", "\\x20") in e.replace(" ", "\\x20"),
          "rc=%s out=%r err=%s" % (rc, out, e))


def test_unwritable_queue():
    if not can_drop_privileges():
        print("SKIP spool-unwritable: cannot run as uid %d here (need root "
              "and setpriv)" % NOBODY)
        return
    base = tempfile.mkdtemp(prefix="smtpd-priv-")
    try:
        os.chmod(base, 0o755)
        # a root-owned 0755 queue: tmp/ and new/ cannot be made
        root_q = os.path.join(base, "rootq")
        os.mkdir(root_q, 0o755)
        expect_421("spool-unwritable-root-queue", root_q, "Permission denied")
        check("spool-unwritable-root-queue-untouched",
              os.listdir(root_q) == [], "%r" % os.listdir(root_q))
        # root-owned tmp/ and new/ inside a queue owned by nobody
        q2 = os.path.join(base, "q2")
        os.mkdir(q2, 0o755)
        for sub in ("tmp", "new"):
            os.mkdir(os.path.join(q2, sub), 0o755)
        os.chown(q2, NOBODY, NOBODY)
        expect_421("spool-unwritable-subdirs", q2, "Permission denied")
        # a queue whose parent does not exist and cannot be made
        expect_421("spool-unwritable-no-parent",
                   os.path.join(base, "missing", "deeper", "q"),
                   "No such file")
        # a queue under a root-owned 0755 directory: mkdir fails
        expect_421("spool-unwritable-parent",
                   os.path.join(root_q, "q"), "Permission denied")
        # new/ not writable from the start: the queue is unusable
        q3 = os.path.join(base, "q3")
        for d in (q3, os.path.join(q3, "tmp"), os.path.join(q3, "new")):
            os.mkdir(d, 0o750)
            os.chown(d, NOBODY, NOBODY)
        os.chmod(os.path.join(q3, "new"), 0o555)
        expect_421("spool-new-unwritable-at-start", q3, "Permission denied")
        test_new_unwritable_midsession(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_new_unwritable_midsession(base):
    """new/ turns read-only after the greeting: 451, tmp/ clean, goes on."""
    q4 = os.path.join(base, "q4")
    for d in (q4, os.path.join(q4, "tmp"), os.path.join(q4, "new")):
        os.mkdir(d, 0o750)
        os.chown(d, NOBODY, NOBODY)
    newdir = os.path.join(q4, "new")
    live = Live(AS_NOBODY + [lib.SMTPD, "--queue", q4, "--hostname",
                             lib.HOST])
    got = []
    try:
        got.append(live.reply()[0])
        got.append(live.cmd(b"EHLO c.example\r\n")[-1])
        os.chmod(newdir, 0o555)
        msg = crlf(b"Subject: n", b"", b"body")
        for _ in range(2):
            live.send(tx(msg))
            for _ in range(4):
                got.append(live.reply()[0])
        got.append(live.cmd(b"QUIT\r\n")[0])
        rc = live.finish()
        codes = [g[:9] for g in got]
        check("spool-new-unwritable-451",
              codes == ["220 mx.te", "250 HELP", "250 2.1.0", "250 2.1.5",
                        "354 send ", "451 4.3.0", "250 2.1.0", "250 2.1.5",
                        "354 send ", "451 4.3.0", "221 2.0.0"]
              and rc == 0 and os.listdir(newdir) == []
              and os.listdir(os.path.join(q4, "tmp")) == [],
              "replies=%r rc=%s new=%s tmp=%s err=%s" % (
                  got, rc, os.listdir(newdir),
                  os.listdir(os.path.join(q4, "tmp")), errtext(live.err)))
    except (TimeoutError, EOFError, OSError) as e:
        live.p.kill()
        live.finish()
        check("spool-new-unwritable-451", False, "%r after %r err=%s" % (
            e, got, errtext(live.err)))


# --- write errors: file size limit and a full file system -----------------

def test_ulimit_fsize():
    q = lib.Queue()
    try:
        big = crlf(b"Subject: big", b"", *([b"z" * 998] * 200))
        small = crlf(b"Subject: small", b"", b"ok")
        data = (b"EHLO c.example\r\n" + tx(big) + tx(small) + tx(big)
                + b"QUIT\r\n")
        cmd = ["sh", "-c", 'ulimit -f 64 && exec "$0" "$@"'] + smtpd_cmd(q)
        p = subprocess.run(cmd, input=data, capture_output=True,
                           env=lib.base_env(), timeout=30)
        lines = replies(p.stdout)
        finals = [ln[:9] for ln in lines
                  if ln[:3] in ("451", "452", "221") or "queued" in ln]
        ids = queued_ids(p.stdout)
        died = p.returncode < 0
        ok = (not died and p.returncode == 0 and len(finals) == 4
              and finals[0] in ("451 4.3.0", "452 4.3.1")
              and finals[1] == "250 2.0.0"
              and finals[2] in ("451 4.3.0", "452 4.3.1")
              and finals[3] == "221 2.0.0"
              and q.files("new") == ids and q.files("tmp") == [])
        check("spool-ulimit-fsize-451", ok,
              "%src=%s finals=%s new=%s tmp=%s out=%r err=%s" % (
                  "KILLED BY SIGNAL (SIGXFSZ not ignored?) " if died else "",
                  p.returncode, finals, q.files("new"), q.files("tmp"),
                  p.stdout[-600:], errtext(p.stderr)))
        if ids:
            fields, message = lib.split_spool(q.read(ids[0]))
            check("spool-ulimit-fsize-small-ok",
                  received_split(message)[1] == small, "%r" % message)
        check("spool-ulimit-fsize-logged", b"spool-error" in p.stderr,
              errtext(p.stderr))
    finally:
        q.cleanup()


def test_enospc():
    """A 4 MB tmpfs filled by a 6 MB message: 452 4.3.1, tmp/ empty."""
    if os.geteuid() != 0:
        print("SKIP spool-enospc: needs root to mount a tmpfs")
        return
    mnt = tempfile.mkdtemp(prefix="smtpd-tmpfs-")
    m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755",
                        "tmpfs", mnt], capture_output=True)
    if m.returncode != 0:
        os.rmdir(mnt)
        print("SKIP spool-enospc: cannot mount tmpfs: %s" %
              m.stderr.decode("utf-8", "replace").strip())
        return
    try:
        q = lib.Queue(base=mnt)
        big = crlf(b"Subject: huge", b"", *([b"w" * 998] * 6000))
        small = crlf(b"Subject: after", b"", b"still here")
        data = b"EHLO c.example\r\n" + tx(big) + tx(small) + b"QUIT\r\n"
        rc, out, err = lib.run_smtpd(data, q)
        lines = replies(out)
        finals = [ln[:9] for ln in lines
                  if ln[:3] in ("451", "452", "221") or "queued" in ln]
        ids = queued_ids(out)
        check("spool-enospc-452",
              rc == 0 and finals == ["452 4.3.1", "250 2.0.0", "221 2.0.0"]
              and q.files("tmp") == [] and q.files("new") == ids
              and len(ids) == 1,
              "rc=%s finals=%s new=%s tmp=%s err=%s" % (
                  rc, finals, q.files("new"), q.files("tmp"), errtext(err)))
    finally:
        subprocess.run(["umount", mnt], capture_output=True)
        os.rmdir(mnt)


# --- the order of system calls -------------------------------------------

STRACE_LINE = re.compile(r"^(\d+\s+)?(\w+)\((.*)\)\s+=\s+(-?\d+)")


def test_strace_order():
    if shutil.which("strace") is None or subprocess.run(
            ["strace", "-f", "-o", "/dev/null", "true"],
            capture_output=True).returncode != 0:
        print("SKIP spool-strace-order: strace cannot trace here")
        return
    q = lib.Queue()
    log = os.path.join(q.dir, "strace.log")
    try:
        msg = crlf(b"Subject: traced", b"", b"body")
        data = b"EHLO c.example\r\n" + tx(msg) + b"QUIT\r\n"
        cmd = ["strace", "-f", "-s", "4096", "-o", log, "-e",
               "trace=openat,write,fsync,fdatasync,rename,renameat,"
               "renameat2,linkat,unlinkat,sendto,close"] + smtpd_cmd(q)
        # LeakSanitizer cannot run under ptrace: off for a sanitizer build
        env = lib.base_env({"ASAN_OPTIONS": "detect_leaks=0"})
        p = subprocess.run(cmd, input=data, capture_output=True,
                           env=env, timeout=60)
        ids = queued_ids(p.stdout)
        if not check("spool-strace-run", p.returncode == 0 and len(ids) == 1,
                     "rc=%s out=%r err=%s" % (p.returncode, p.stdout,
                                              errtext(p.stderr))):
            return
        qid = ids[0]
        with open(log, encoding="utf-8", errors="replace") as f:
            calls = [m.groups() for m in map(STRACE_LINE.match, f) if m]
        steps = []
        fds = {}
        for i, (_, name, args, ret) in enumerate(calls):
            ret = int(ret)
            if name == "openat" and ret >= 0:
                if re.search(r'"tmp", O_RDONLY[|A-Z_]*O_DIRECTORY', args):
                    fds["tmp"] = ret
                elif re.search(r'"new", O_RDONLY[|A-Z_]*O_DIRECTORY', args):
                    fds["new"] = ret
                elif ('"%s"' % qid) in args:
                    flags = args.split(", ")[2]
                    if ("O_CREAT" in flags and "O_EXCL" in flags
                            and "O_NOFOLLOW" in flags and "0640" in args
                            and args.startswith("%d," % fds.get("tmp", -9))):
                        fds["file"] = ret
                        steps.append(("create", i))
            elif name == "fsync" and ret == 0:
                if int(args) == fds.get("file") and "create" in dict(steps):
                    if "fsync-file" not in dict(steps):
                        steps.append(("fsync-file", i))
                elif int(args) == fds.get("new"):
                    steps.append(("fsync-new", i))
            elif name == "close" and ret == 0 and \
                    int(args) == fds.get("file") and "fsync-file" in dict(
                        steps) and "close-file" not in dict(steps):
                steps.append(("close-file", i))
            elif name == "renameat2" and ret == 0 and ('"%s"' % qid) in args \
                    and "RENAME_NOREPLACE" in args and args.startswith(
                        "%d," % fds.get("tmp", -9)) and (
                        ", %d, " % fds.get("new", -9)) in args:
                steps.append(("move", i))
            elif name == "linkat" and ret == 0 and ('"%s"' % qid) in args:
                steps.append(("move", i))
            elif name in ("write", "sendto") and \
                    ("250 2.0.0 OK queued as " + qid) in args:
                steps.append(("reply-250", i))
        order = [s for s, _ in steps]
        want = ["create", "fsync-file", "close-file", "move", "fsync-new",
                "reply-250"]
        check("spool-strace-order", order == want,
              "want %s\ngot  %s\nfds=%r" % (want, order, fds))
    finally:
        q.cleanup()


def test_rehelo_heads():
    """A second EHLO in a session names itself in the messages after it
    (the head's session part is formatted once per HELO/EHLO)."""
    q = lib.Queue()
    try:
        m = crlf(b"Subject: h", b"", b"body")
        data = (b"EHLO first.example\r\n" + tx(m) + tx(m) +
                b"HELO second.example\r\n" + tx(m) + b"QUIT\r\n")
        rc, out, err = lib.run_smtpd(data, q)
        ids = queued_ids(out)
        helos, froms = [], []
        for qid in ids:
            fields, message = lib.split_spool(q.read(qid))
            helos.append(dict(fields).get("Helo"))
            froms.append(received_split(message)[0].split(b"\r\n")[0])
        check("spool-rehelo-heads", rc == 0 and len(ids) == 3 and helos == [
            "first.example", "first.example", "second.example"] and froms == [
            b"Received: from first.example", b"Received: from first.example",
            b"Received: from second.example"], "helos %r froms %r err=%s" % (
                helos, froms, errtext(err)))
    finally:
        q.cleanup()


def test_scanner_offsets():
    """The DATA scanner looks at 16 and 64 octets at a time: put line
    ends, leading dots, bare CR/LF and NUL at every offset across those
    blocks (one pipelined write, so messages start at shifting offsets in
    the read buffer too); clean messages are stored byte for byte, each
    bad one is refused and the session stays in step."""
    q = lib.Queue()
    try:
        data, want = b"EHLO c.example\r\n", []
        for k in range(140):
            m = crlf(b"Subject: o%d" % k, b"", b"x" * k, b"." + b"y" * (k % 70),
                     b"z" * (139 - k), b"", b"." * (k % 3 + 1))
            data += tx(m)
            want.append(("250", m))
        for k in range(0, 140, 3):
            bad = bytes([b"\n\r\0"[k // 3 % 3]])
            m = crlf(b"Subject: b%d" % k, b"", b"a" * k + bad + b"a" * (150 - k))
            data += tx(m)
            want.append(("554" if bad == b"\0" else "550", None))
        rc, out, err = lib.run_smtpd(data + b"QUIT\r\n", q)
        got = [ln[:3] for ln in replies(out)
               if ln[:3] in ("550", "554") or ln.startswith("250 2.0.0 OK q")]
        ids = queued_ids(out)
        ok = rc == 0 and got == [c for c, _ in want]
        if not check("spool-scanner-replies", ok, "rc=%s got %r err=%s" % (
                rc, got, errtext(err))):
            return
        bad = []
        for qid, m in zip(ids, [m for c, m in want if c == "250"]):
            rest = received_split(lib.split_spool(q.read(qid))[1])[1]
            if rest != m:
                bad.append((qid, rest[-200:], m[-200:]))
        check("spool-scanner-bytes", len(ids) == 140 and not bad and
              q.files("tmp") == [], "ids %d bad %r" % (len(ids), bad[:2]))
    finally:
        q.cleanup()


def main():
    for t in (test_scanner_offsets, test_rehelo_heads, test_layout_untrusted, test_layout_local_helo,
              test_layout_utf8, test_several_messages,
              test_refusals_leave_nothing, test_eof_in_data,
              test_kill9_in_data, test_unwritable_queue, test_ulimit_fsize,
              test_enospc, test_strace_order):
        try:
            t()
        except Exception as e:  # one broken test must not hide the others
            import traceback
            check(t.__name__, False, "exception: %s" %
                  traceback.format_exc().replace("\n", "\n    "))
    lib.finish()


if __name__ == "__main__":
    main()
