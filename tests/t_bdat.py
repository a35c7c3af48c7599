r"""t_bdat.py - BDAT (RFC 3030 CHUNKING), BODY=BINARYMIME and LIMITS
(RFC 9422), from outside: smtpd on pipes, behind a real tcpserver, and
fed by a real sending MTA (Debian's exim4 with CHUNKING on).

The EHLO keywords and the LIMITS values (--max-recipients,
--max-messages, and the 452/421 that back them); chunks of every size
(1 octet, several MiB with a flat peak RSS), pipelined with other
commands in one write and sent an octet a TCP segment; CRLF split over
two chunks, "BDAT 0 LAST", the CRLF a text message's last chunk lacks,
a leading dot kept; every refusal (503 before EHLO, MAIL or RCPT, 501
for bad syntax, 501 then 421 for an unreadable size, 552 over
--max-size, 503 for MAIL/RCPT/DATA/AUTH/STARTTLS inside a BDAT
transaction) with the refused chunk's octets read and dropped, never
run as commands (chunks that carry RSET, MAIL, EHLO, QUIT...); a first
chunk refused for its syntax (501) or lost with its file (451, the
fault shim) takes its message along: never a message without it; RSET,
HELO and EHLO dropping a half-sent message; EOF and timeouts inside a
chunk; the DATA line rules across chunks (550 bare CR/LF, 554 NUL, the
Received: loop limit); BODY=BINARYMIME (503 for DATA, octets stored
byte for byte, "Body: BINARYMIME", smtpd-queue handing it on unchanged
with BODY=BINARYMIME in the command's environment); the SMTP smuggling
sequences inside chunks; the group commit of pipelined LASTs (strace:
no 250 before the file and new/ are fsync'ed, one fsync of new/ for the
batch; the fault shim: a failed fsync is a 451 for its own message, a
failed fsync of new/ for all); the minimum data rate judged per chunk.
exim4 (exim4-daemon-light) as the client: its own configuration
(manualroute to 127.0.0.1, smtp transport with hosts_try_chunking),
its own spool, no daemon, messages submitted with -odi / -odq and a
queue run; its -v transcript must show BDAT, its log the K (CHUNKING)
flag and our 250, and the messages must arrive byte for byte.  exim
has no BINARYMIME: that case prints a SKIP line.
The cases run side by side in threads.
"""
import functools
import hashlib
import os
import pwd
import re
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
import t_smuggling  # noqa: E402
import tlslib  # noqa: E402
import netlib  # noqa: E402

# tests/valgrind/run.sh sets this: every smtpd runs many times slower
SLOW = os.environ.get("SMTPD_TEST_VALGRIND") == "1"
T = 120 if SLOW else 30             # the longest any one step may take
WORK = tempfile.mkdtemp(prefix="smtpd-bdat-")
os.chmod(WORK, 0o755)               # exim's delivery user reads in here
MAXRSS = os.path.join(lib.ROOT, "tests", "tools", "maxrss")
SHIM = lib.SHIM
QUEUE = os.path.join(lib.ROOT, "smtpd-queue")
FLAT_KB = 512       # peak RSS may exceed a one-message session's by this

EHLO = b"EHLO client.example\r\n"
MAIL = b"MAIL FROM:<s@example.org>\r\n"
RCPT = b"RCPT TO:<r@example.com>\r\n"
ENV = MAIL + RCPT
BIN_ENV = b"MAIL FROM:<s@example.org> BODY=BINARYMIME\r\n" + RCPT
QUIT = b"QUIT\r\n"
QUEUED_RE = re.compile(rb"^250 2\.0\.0 OK queued as ([A-Za-z0-9.]+)$")
SEQ_BDAT = (b"503 5.5.1 a message is under way in BDAT chunks: send the rest "
            b"with BDAT, or RSET")
UNREADABLE = b"501 5.5.4 BDAT chunk size unreadable"
LOST = (b"421 4.5.0 " + lib.HOST.encode() +
        b" cannot tell where the chunk ends, closing connection")
SYNTAX = (b"501 5.5.4 syntax: BDAT chunk-size [LAST] (the chunk was read "
          b"and dropped)")
BARE = (b"550 5.6.0 message refused: bare CR or LF in data (lines must end "
        b"with CRLF; see SMTP smuggling)")
NUL = b"554 5.6.0 message refused: NUL byte in data"
NEED_MAIL = b"503 5.5.1 send MAIL first"
NEED_RCPT = b"503 5.5.1 send RCPT first"
NEED_HELO = b"503 5.5.1 send HELO or EHLO first"

_lock = threading.Lock()           # _base
check, skip = lib.check, lib.skip


def bdat(data, last=False):
    """One BDAT command with its chunk."""
    return b"BDAT %d%s\r\n" % (len(data), b" LAST" if last else b"") + data


def chunked(msg, sizes, last=True):
    """msg as BDAT chunks of the sizes given (the last size repeats); the
    last chunk carries LAST (last=False: none does)."""
    parts, i, k = [], 0, 0
    while i < len(msg):
        n = sizes[min(k, len(sizes) - 1)]
        parts.append(msg[i:i + n])
        i += n
        k += 1
    if not parts:
        parts = [b""]
    return b"".join(bdat(p, last and j == len(parts) - 1)
                    for j, p in enumerate(parts))


stuff = lib.stuff


def ok_chunk(n):
    return b"250 2.0.0 %d octets received" % n


class Result:
    """One finished session: its replies and what it left in the queue."""

    def __init__(self, q, rc, out, err):
        self.rc, self.out = rc, out
        self.err = err.decode("utf-8", "replace")
        self.lines = out.split(b"\r\n")
        if self.lines and self.lines[-1] == b"":
            self.lines.pop()
        # the last line of each reply (the EHLO answer counts once)
        self.finals = [x for x in self.lines if x[3:4] != b"-"]
        self.codes = [x[:3].decode() for x in self.finals]
        self.ids = [m.group(1).decode()
                    for m in map(QUEUED_RE.match, self.finals) if m]
        self.new = q.files("new")
        self.tmp = q.files("tmp")
        self.msgs = {}          # id: (envelope [(k, v)], Received, rest)
        for name in self.new:
            fields, message = lib.split_spool(q.read(name))
            rec, rest = lib.received_split(message)
            self.msgs[name] = (fields, rec, rest)

    def rests(self):
        """The client's message octets, in the order of the 250s."""
        return [self.msgs[i][2] for i in self.ids if i in self.msgs]

    def field(self, qid, key):
        return [v for k, v in self.msgs[qid][0] if k == key]

    def after_ehlo(self):
        """The final reply lines after the greeting and the EHLO answer."""
        return self.finals[2:]

    def why(self):
        return "rc=%r replies=%r new=%r tmp=%r log=%s" % (
            self.rc, self.finals[-40:], self.new, self.tmp, self.err[-900:])

    def clean(self):
        """The queue holds what the 250s say, and tmp/ nothing."""
        return sorted(self.ids) == self.new and self.tmp == []


def session(data, args=(), env=None, q=None):
    """data on smtpd's stdin (a pipe, all at once): a Result."""
    own = q is None
    q = q or lib.Queue(WORK)
    try:
        rc, out, err = lib.run_smtpd(data, q, list(args), env, timeout=T)
        return Result(q, rc, out, err)
    finally:
        if own:
            q.cleanup()


class Live:
    """smtpd on pipes, driven step by step (replies read as they come)."""

    def __init__(self, args=(), env=None):
        self.q = lib.Queue(WORK)
        self.p = subprocess.Popen(
            [lib.SMTPD, "--queue", self.q.dir, "--hostname", lib.HOST] +
            list(args), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=lib.base_env(env))
        self.buf = b""
        self.err = ""
        self.rc = None

    def reply(self, timeout=T):
        """The last line of one whole reply; b"!eof" or b"!timeout"."""
        end = time.monotonic() + timeout
        fd = self.p.stdout.fileno()
        while True:
            while b"\r\n" not in self.buf:
                left = end - time.monotonic()
                if left <= 0 or not select.select([fd], [], [], left)[0]:
                    return b"!timeout"
                d = os.read(fd, 65536)
                if not d:
                    return b"!eof"
                self.buf += d
            line, self.buf = self.buf.split(b"\r\n", 1)
            if line[3:4] != b"-":
                return line

    def send(self, data):
        try:
            self.p.stdin.write(data)
            self.p.stdin.flush()
            return True
        except (BrokenPipeError, OSError):
            return False

    def cmd(self, data, timeout=T):
        return self.reply(timeout) if self.send(data) else b"!epipe"

    def finish(self, timeout=T):
        if self.rc is not None:
            return self.rc
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            self.rc = "hung"
        self.err = self.p.stderr.read().decode("utf-8", "replace")
        self.p.stdout.close()
        self.p.stderr.close()
        return self.rc


def start_live(args=(), env=None):
    """A Live session past the greeting and EHLO, or None."""
    s = Live(args, env)
    if not s.reply().startswith(b"220 ") or \
            not s.cmd(EHLO).startswith(b"250 "):
        s.finish()
        return s, False
    return s, True


MSG = (b"From: Sender <s@example.org>\r\nTo: r@example.com\r\n"
       b"Subject: chunks\r\nMessage-ID: <bdat@client.example>\r\n\r\n"
       b"first line\r\n.leading dot\r\n..two dots\r\n.\r\n\r\n"
       b"Gr\xc3\xbc\xc3\x9fe, 8-bit\r\nlast line\r\n")


# --- EHLO and LIMITS ---------------------------------------------------------

def ehlo_lines(r):
    """The EHLO answer's keyword lines (after the host name line)."""
    out = []
    for x in r.lines[2:]:
        out.append(x[4:].decode())
        if x[3:4] == b" ":
            break
    return out


def test_ehlo_keywords():
    r = session(EHLO + b"HELO client.example\r\n" + QUIT)
    kw = ehlo_lines(r)
    check("bdat-ehlo-keywords", "CHUNKING" in kw and "BINARYMIME" in kw and
          "LIMITS RCPTMAX=100 MAILMAX=10000" in kw and kw[-1] == "HELP" and
          kw.index("LIMITS RCPTMAX=100 MAILMAX=10000") == len(kw) - 2,
          "EHLO keywords %r" % kw)
    helo = [x for x in r.finals if x.startswith(b"250 ")][1:2]
    check("bdat-helo-no-keywords", helo == [b"250 " + lib.HOST.encode()]
          and b"CHUNKING" not in r.out.split(b"\r\n250 HELP\r\n", 1)[1],
          r.why())


def test_limits_options():
    rcpts = b"".join(b"RCPT TO:<r%d@example.com>\r\n" % i for i in range(4))
    msg = b"Subject: limits\r\n\r\nbody\r\n"
    r = session(EHLO + MAIL + rcpts + chunked(msg, [10]) +
                MAIL + RCPT + bdat(msg, True) +
                MAIL + RCPT + bdat(msg, True) + b"NOOP\r\n",
                ["--max-recipients", "3", "--max-messages", "2"])
    kw = ehlo_lines(r)
    check("bdat-limits-line", "LIMITS RCPTMAX=3 MAILMAX=2" in kw, kw)
    got = r.after_ehlo()
    want_head = [b"250 2.1.0 sender OK"] + [b"250 2.1.5 recipient OK"] * 3 \
        + [b"452 4.5.3 too many recipients"]
    check("bdat-limits-rcptmax-452", got[:5] == want_head,
          "want %r got %r" % (want_head, got[:5]))
    queued = [x for x in got if QUEUED_RE.match(x)]
    check("bdat-limits-mailmax-421", len(queued) == 2 and got[-1] == (
        b"421 4.7.0 " + lib.HOST.encode() +
        b" too many messages in one session, closing connection") and
        len(r.new) == 2 and r.clean() and r.rc == 1, r.why())
    first = r.ids[0] if r.ids else None
    check("bdat-limits-three-recipients-kept", first in r.msgs and
          r.field(first, "Recipient") == [
              "<r0@example.com>", "<r1@example.com>", "<r2@example.com>"] and
          r.msgs[first][2] == msg, r.why())


# --- chunks ------------------------------------------------------------------

def test_basic_chunks():
    parts = [MSG[:17], MSG[17:60], MSG[60:]]
    data = EHLO + ENV + bdat(parts[0]) + bdat(parts[1]) + \
        bdat(parts[2], True) + QUIT
    r = session(data)
    got = r.after_ehlo()
    want = [b"250 2.1.0 sender OK", b"250 2.1.5 recipient OK",
            ok_chunk(len(parts[0])), ok_chunk(len(parts[1]))]
    check("bdat-chunk-replies", got[:4] == want and len(r.ids) == 1 and
          QUEUED_RE.match(got[4]) is not None and got[5:] == [
              b"221 2.0.0 " + lib.HOST.encode() + b" closing connection"],
          "want %r + queued + 221, got %r" % (want, got))
    qid = r.ids[0] if r.ids else None
    check("bdat-chunks-stored-exact", r.clean() and r.rests() == [MSG],
          r.why())
    check("bdat-envelope-no-body", qid in r.msgs and
          r.field(qid, "Body") == [] and
          r.field(qid, "Protocol") == ["ESMTP"] and
          r.field(qid, "Sender") == ["<s@example.org>"], r.why())
    check("bdat-log-queued", "event=queued queue_id=%s" % qid in r.err and
          "size=%d" % len(MSG) in r.err, r.err[-600:])


def test_zero_last():
    r = session(EHLO + ENV + bdat(MSG) + bdat(b"", True) + ENV +
                bdat(b"", True) + QUIT)
    check("bdat-0-last-ends-message", r.after_ehlo()[2] == ok_chunk(
        len(MSG)) and len(r.ids) == 2 and r.rests() == [MSG, b""] and
        r.clean(), r.why())


def test_one_octet_chunks():
    msg = MSG * 4
    data = chunked(msg, [1], last=False) + bdat(b"", True)
    r = session(EHLO + ENV + data + ENV + chunked(msg, [1]) + QUIT)
    got = r.after_ehlo()
    n = len(msg)
    ok = (got[2:2 + n] == [ok_chunk(1)] * n and len(r.ids) == 2 and
          got[3 + n:5 + n] == [b"250 2.1.0 sender OK",
                               b"250 2.1.5 recipient OK"] and
          got[5 + n:4 + 2 * n] == [ok_chunk(1)] * (n - 1))
    check("bdat-1-octet-chunks-replies", ok, "%d chunks: %r" % (
        n, [x for x in got if x != ok_chunk(1)]))
    check("bdat-1-octet-chunks-message", r.clean() and
          r.rests() == [msg, msg], r.why())


def test_crlf_split():
    """every CRLF of the message split between two chunks"""
    pieces = MSG.split(b"\n")
    data = b"".join(bdat(p if i == 0 else b"\n" + p)
                    for i, p in enumerate(pieces)) + bdat(b"", True)
    r = session(EHLO + ENV + data + QUIT)
    check("bdat-crlf-split-over-chunks", r.clean() and r.rests() == [MSG],
          r.why())


def test_crlf_appended():
    r = session(EHLO + ENV + bdat(b"Subject: x\r\n\r\nno end") +
                bdat(b" of line", True) + ENV +
                bdat(b"Subject: y\r\n\r\nended\r\n", True) + ENV +
                bdat(b"Subject: z\r\n\r\nends in CR\r") + bdat(b"\n", True)
                + QUIT)
    check("bdat-crlf-appended-to-text", r.clean() and r.rests() == [
        b"Subject: x\r\n\r\nno end of line\r\n",
        b"Subject: y\r\n\r\nended\r\n",
        b"Subject: z\r\n\r\nends in CR\r\n"], r.why())


def test_dots_are_data():
    msg = (b"Subject: dots\r\n\r\n.\r\n..\r\n.x\r\n\r\n.\r\n.\r\n"
           b"after the dots\r\n.")
    r = session(EHLO + ENV + chunked(msg, [20, 3, 2]) + QUIT)
    check("bdat-leading-dots-kept", r.clean() and
          r.rests() == [msg + b"\r\n"], r.why())


def test_pipelined_mix():
    """BDATs and other commands in one write"""
    a, b_ = MSG[:40], MSG[40:]
    data = (EHLO + ENV + bdat(a) + b"NOOP\r\n" + b"VRFY postmaster\r\n" +
            b"HELP\r\n" + bdat(b_, True) + ENV + b"DATA\r\n" +
            stuff(MSG) + ENV + bdat(MSG, True) + b"RSET\r\n" + QUIT)
    r = session(data)
    want = ["250", "250", "250", "250", "252", "214", "250", "250", "250",
            "354", "250", "250", "250", "250", "250", "221"]
    check("bdat-pipelined-with-commands", r.codes[2:] == want and
          len(r.ids) == 3 and r.rests() == [MSG] * 3 and r.clean() and
          r.rc == 0, "want %r got %r; %s" % (want, r.codes[2:], r.why()))


# --- refusals: the chunk is read and dropped, never run ---------------------

def test_refused_before_ehlo():
    payload = b"EHLO evil.example\r\nMAIL FROM:<evil@example.net>\r\n"
    r = session(bdat(payload) + MAIL + EHLO + ENV + bdat(b"x\r\n", True) +
                QUIT)
    check("bdat-before-ehlo-503", r.finals[1:3] == [NEED_HELO, NEED_HELO]
          and len(r.ids) == 1 and r.clean() and
          r.field(r.ids[0], "Helo") == ["client.example"], r.why())


def test_refused_without_mail():
    payload = (b"MAIL FROM:<evil@example.net>\r\nRCPT TO:<victim@example."
               b"com>\r\nBDAT 5 LAST\r\nhello")
    r = session(EHLO + bdat(payload) + RCPT + bdat(b"x", True) + QUIT)
    got = r.after_ehlo()
    check("bdat-without-mail-503", got == [NEED_MAIL, NEED_MAIL, NEED_MAIL,
                                           b"221 2.0.0 " + lib.HOST.encode()
                                           + b" closing connection"] and
          r.new == [] and r.tmp == [], r.why())


def test_refused_without_rcpt():
    """the dropped chunk holds RSET and MAIL: had they run, the RCPT
    after would be 503 and the sender evil"""
    payload = (b"RSET\r\nMAIL FROM:<evil@example.net>\r\n"
               b"RCPT TO:<victim@example.com>\r\n")
    r = session(EHLO + MAIL + bdat(payload) + RCPT + bdat(b"hello", True) +
                QUIT)
    got = r.after_ehlo()
    check("bdat-without-rcpt-503", got[:3] == [
        b"250 2.1.0 sender OK", NEED_RCPT, b"250 2.1.5 recipient OK"] and
        len(r.ids) == 1 and r.clean(), r.why())
    qid = r.ids[0] if r.ids else None
    check("bdat-refused-chunk-not-run", qid in r.msgs and
          r.field(qid, "Sender") == ["<s@example.org>"] and
          r.field(qid, "Recipient") == ["<r@example.com>"] and
          r.msgs[qid][2] == b"hello\r\n", r.why())


def test_refused_all_rcpts():
    """untrusted client, relaying refused: no recipient, so 503"""
    r = session(EHLO + MAIL + b"RCPT TO:<r@elsewhere.example>\r\n" +
                bdat(b"QUIT\r\n") + b"NOOP\r\n" + QUIT,
                env={"TCPREMOTEIP": "192.0.2.9"})
    got = r.after_ehlo()
    check("bdat-no-valid-rcpt-503", got[1][:3] == b"550" and
          got[2] == NEED_RCPT and got[3] == b"250 2.0.0 OK" and
          r.new == [] and r.tmp == [], r.why())


def test_refused_quit_in_chunk():
    r = session(EHLO + bdat(b"QUIT\r\n") + b"NOOP\r\n" +
                bdat(b"QUIT\r\nQUIT\r\n", True) + b"NOOP\r\n" + QUIT)
    check("bdat-refused-chunk-quit-not-run", r.codes[2:] == [
        "503", "250", "503", "250", "221"] and r.rc == 0, r.why())


def test_syntax_501():
    payload = b"QUIT\r\nQUIT"
    r = session(EHLO + b"BDAT 10 FOO\r\n" + payload + b"NOOP\r\n" +
                b"BDAT 3 LAST \r\nabc" + b"BDAT 3 LASTX\r\nabc" + ENV +
                bdat(b"part") + b"BDAT 10 FOO\r\n" + payload +
                bdat(b"x", True) + ENV + b"BDAT 7 LAST junk\r\n" +
                b"QUIT\r\nX" + b"NOOP\r\n" + QUIT)
    got = r.after_ehlo()
    want = [SYNTAX, b"250 2.0.0 OK", SYNTAX, SYNTAX, b"250 2.1.0 sender OK",
            b"250 2.1.5 recipient OK", ok_chunk(4), SYNTAX, NEED_MAIL,
            b"250 2.1.0 sender OK", b"250 2.1.5 recipient OK", SYNTAX,
            b"250 2.0.0 OK", b"221 2.0.0 " + lib.HOST.encode() +
            b" closing connection"]
    check("bdat-syntax-501-chunk-dropped", got == want,
          "want %r\n got %r" % (want, got))
    check("bdat-syntax-drops-open-message", r.new == [] and r.tmp == [] and
          r.rc == 0, r.why())


def test_lost_first_chunk_syntax():
    """a first chunk refused for its syntax is lost: its message must not
    be queued without it (the later chunks are refused too)"""
    head = b"Subject: the head\r\n\r\n"
    r = session(EHLO + ENV + b"BDAT %d FOO\r\n" % len(head) + head +
                bdat(b"tail\r\n", True) + QUIT)
    got = r.after_ehlo()
    check("bdat-first-chunk-501-no-truncated-message", got[2] == SYNTAX and
          got[3] == NEED_MAIL and r.new == [] and r.tmp == [],
          "replies %r new %r" % (got, [m for _, _, m in r.msgs.values()]))


def test_lost_first_chunk_spool():
    """the first chunk's file cannot be made (451, the chunk dropped): the
    chunks pipelined after it must not make a message without it"""
    if not os.path.exists(SHIM):
        return skip("bdat-first-chunk-451-no-truncated-message",
                    "%s not built (make %s)" % (SHIM, os.path.relpath(
                        SHIM, lib.ROOT)))
    head = b"Subject: the head\r\n\r\n"
    data = EHLO + ENV + bdat(head) + bdat(b"tail\r\n", True) + QUIT
    outs = []
    for spec in (None, "openat:%d:EIO"):
        q = lib.Queue(WORK)
        try:
            counts = q.dir + ".counts"
            # the last openat of a clean run: the file's
            env = lib.shim_env(q.dir, spec and spec % outs[0][1].get(
                "openat", 0), counts)
            r = session(data, env=env, q=q)
            c = {}
            if os.path.exists(counts):
                with open(counts) as f:
                    c = {k: int(v) for k, v in (x.split() for x in f)}
                os.unlink(counts)
            outs.append((r, c))
        finally:
            q.cleanup()
    (clean, _), (r, c) = outs
    got = r.after_ehlo()
    check("bdat-first-chunk-451-no-truncated-message", clean.rests() == [
        head + b"tail\r\n"] and c.get("fired") == 1 and
        got[2] == b"451 4.3.0 local error: message not queued, try again "
        b"later" and got[3] == NEED_MAIL and r.new == [] and r.tmp == [],
        "clean run %r; with the fault: replies %r new %r counts %r" % (
            clean.rests(), got, [m for _, _, m in r.msgs.values()], c))


UNREADABLE_SIZES = [b"BDAT", b"BDAT ", b"BDAT -1", b"BDAT abc", b"BDAT 1x",
                    b"BDAT +5", b"BDAT 0x10", b"BDAT 12345678901234567890",
                    b"BDAT 99999999999999999999 LAST"]


def test_unreadable_size():
    bad = []
    for line in UNREADABLE_SIZES:
        for opened in (False, True):
            pre = ENV + bdat(b"half a message\r\n") if opened else b""
            r = session(EHLO + pre + line + b"\r\nNOOP\r\n" + QUIT)
            got = r.finals[-2:]
            if (got != [UNREADABLE, LOST] or r.rc != 1 or r.new or r.tmp or
                    "reason=bdat-out-of-step" not in r.err):
                bad.append((line, opened, r.why()))
    check("bdat-unreadable-size-501-421", not bad, bad[:3])


def test_garbled_line():
    """A BDAT line that is not run (too long, a control octet, a bare LF
    ending) leaves the chunk's end unknown: its error, then 421; the
    octets after it are never run as commands."""
    bad = []
    for name, line in (
            ("too-long", b"BDAT 6" + b" " * 600 + b"\r\n"),
            ("control", b"BDAT 6\x01\r\n"),
            ("bare-lf", b"BDAT 6\n")):
        r = session(EHLO + ENV + line + b"QUIT\r\n" + b"NOOP\r\n" + QUIT)
        got = r.finals[-2:]
        if (len(got) != 2 or got[0][:3] != b"500" or got[1] != LOST or
                r.rc != 1 or r.new or r.tmp or b"221" in b"".join(r.finals)):
            bad.append((name, r.why()))
    check("bdat-garbled-line-421", not bad, bad[:3])


def test_refused_session_reads_chunk():
    """After a 554 greeting (--check-client reject), a BDAT's octets are
    still read and dropped, not answered line by line."""
    prog = os.path.join(WORK, "reject-client")
    with open(prog, "w") as f:
        f.write("#!/bin/sh\necho go away\nexit 100\n")
    os.chmod(prog, 0o755)
    r = session(b"EHLO c.example\r\nBDAT 12\r\nNOOP\r\nNOOP\r\n" + QUIT,
                ["--check-client", prog])
    codes = [x[:3] for x in r.finals]
    check("bdat-refused-session-chunk-read", codes[-3:] == [
        b"503", b"503", b"221"] and len(codes) == 4 and r.new == [],
        r.why())


def test_nineteen_digits_read():
    """19 digits can be read: the octets are awaited (EOF here), no 501"""
    r = session(EHLO + ENV + b"BDAT 9999999999999999999\r\n" +
                b"NOOP\r\nQUIT\r\n")
    check("bdat-19-digits-readable", r.codes[2:] == ["250", "250"] and
          r.rc == 1 and "reason=eof-in-data" in r.err and r.new == [] and
          r.tmp == [], r.why())


def test_max_size():
    big = b"x" * 598 + b"\r\n"
    cmds = b"NOOP\r\n" * 100                    # 600 octets of "commands"
    r = session(EHLO + ENV + bdat(big) + bdat(cmds) + bdat(b"abc", True) +
                ENV + bdat(b"y" * 998 + b"\r\n", True) + ENV +
                bdat(b"y" * 999 + b"\r\n", True) + QUIT,
                ["--max-size", "1000"])
    got = r.after_ehlo()
    limit = b"552 5.3.4 message size exceeds fixed limit of 1000 bytes"
    check("bdat-max-size-552-at-crossing-chunk", got[:5] == [
        b"250 2.1.0 sender OK", b"250 2.1.5 recipient OK", ok_chunk(600),
        limit, NEED_MAIL], "got %r" % got)
    check("bdat-max-size-session-goes-on", got[5:7] == [
        b"250 2.1.0 sender OK", b"250 2.1.5 recipient OK"] and
        QUEUED_RE.match(got[7]) is not None and got[10] == limit and
        got[11:] == [b"221 2.0.0 " + lib.HOST.encode() +
                     b" closing connection"] and
        r.rests() == [b"y" * 998 + b"\r\n"] and r.clean(), r.why())


def test_in_transaction_503():
    r = session(EHLO + ENV + bdat(MSG[:30]) + MAIL + RCPT + b"DATA\r\n" +
                b"AUTH PLAIN AGEAYg==\r\n" + b"NOOP\r\n" + b"VRFY x\r\n" +
                b"STARTTLS\r\n" + bdat(MSG[30:], True) + QUIT)
    got = r.after_ehlo()
    check("bdat-in-transaction-503", got[3:7] == [SEQ_BDAT] * 4 and
          got[7][:3] == b"250" and got[8][:3] == b"252" and
          got[9][:3] == b"502", "got %r" % got)
    check("bdat-in-transaction-message-intact", r.rests() == [MSG] and
          r.clean(), r.why())


def make_cert():
    """A self-signed certificate for --tls-cert, or None."""
    try:
        return tlslib.self_signed(os.path.join(WORK, "pki"))
    except RuntimeError:
        return None


def test_starttls_in_transaction():
    """with TLS offered: STARTTLS inside a BDAT transaction is 503 (not
    a handshake), and the message goes on"""
    ver = subprocess.run([lib.SMTPD, "--version"], capture_output=True)
    if b"tls: no" in ver.stdout + ver.stderr:
        return skip("bdat-starttls-503", "smtpd built without TLS")
    if shutil.which("openssl") is None:
        return skip("bdat-starttls-503", "openssl not installed "
                    "(tests/deps.sh installs it)")
    ck = make_cert()
    if ck is None:
        return check("bdat-starttls-cert", False, "openssl req failed")
    r = session(EHLO + ENV + bdat(MSG[:30]) + b"STARTTLS\r\n" +
                bdat(MSG[30:], True) + QUIT,
                ["--tls-cert", ck[0], "--tls-key", ck[1]])
    got = r.after_ehlo()
    check("bdat-starttls-503", got[3] == b"503 5.5.1 STARTTLS not allowed "
          b"in a mail transaction" and r.rests() == [MSG] and r.clean(),
          r.why())


def test_reset_drops():
    bad = []
    for cmd in (b"RSET\r\n", b"HELO other.example\r\n",
                b"EHLO other.example\r\n"):
        r = session(EHLO + ENV + bdat(MSG[:50]) + cmd + bdat(MSG[50:], True)
                    + ENV + bdat(b"second\r\n", True) + QUIT)
        got = [x for x in r.after_ehlo() if x[:4] != b"250-"]
        if (got[3][:3] != b"250" or got[4] != NEED_MAIL or
                r.rests() != [b"second\r\n"] or not r.clean()):
            bad.append((cmd, got, r.why()))
    check("bdat-rset-helo-ehlo-drop-message", not bad, bad)
    # the half-sent message's file is in tmp/ until RSET, then gone
    s, up = start_live()
    try:
        a = [s.cmd(MAIL), s.cmd(RCPT), s.cmd(bdat(MSG[:50]))]
        during = s.q.files("tmp")
        b_ = s.cmd(b"RSET\r\n")
        after = (s.q.files("tmp"), s.q.files("new"))
        c = s.cmd(bdat(b"x", True))
        check("bdat-rset-removes-tmp-file", up and a[2] == ok_chunk(50) and
              len(during) == 1 and b_ == b"250 2.0.0 reset OK" and
              after == ([], []) and c == NEED_MAIL,
              "replies %r %r %r tmp during %r after %r" % (a, b_, c, during,
                                                           after))
    finally:
        s.finish()
        s.q.cleanup()


def test_eof_inside():
    cases = {
        "mid-chunk": EHLO + ENV + b"BDAT 100\r\n" + b"x" * 40,
        "between-chunks": EHLO + ENV + bdat(MSG[:40]),
        "mid-last-chunk": EHLO + ENV + bdat(MSG[:40]) +
        b"BDAT 100 LAST\r\nabc",
        "mid-refused-chunk": EHLO + b"BDAT 100\r\nQUIT\r\n",
    }
    bad = []
    for name, data in cases.items():
        r = session(data)
        if r.rc != 1 or r.new or r.tmp or b"queued" in r.out or \
                b"221" in r.out:
            bad.append((name, r.why()))
    check("bdat-eof-nothing-kept", not bad, bad)


def test_timeout_inside():
    bad = []
    for name, pre in (("mid-chunk", ENV + b"BDAT 100\r\n" + b"x" * 40),
                      ("mid-refused-chunk", b"BDAT 100\r\nQUIT\r\n")):
        s, up = start_live(["--timeout", "5" if SLOW else "1"])
        try:
            t0 = time.monotonic()
            s.send(pre)
            got = []
            while True:
                x = s.reply()
                got.append(x)
                if x[:1] in (b"4", b"!"):
                    break
            took = time.monotonic() - t0
            rc = s.finish()
            tmp, new = s.q.files("tmp"), s.q.files("new")
            if not (up and got[-1] == b"421 4.4.2 " + lib.HOST.encode() +
                    b" timeout, closing connection" and rc == 1 and
                    tmp == [] and new == [] and took < 20):
                bad.append((name, got, rc, tmp, new, took, s.err[-300:]))
        finally:
            s.finish()
            s.q.cleanup()
    check("bdat-timeout-inside-chunk-421", not bad, bad)


def test_min_rate_per_chunk():
    """--min-data-rate judges each chunk: a client that waits for each
    250 (no pipelining) and pauses between fast chunks is not cut; one
    chunk trickled below the rate is"""
    if SLOW:
        return skip("bdat-min-rate", "timing test, not under valgrind")
    args = ["--timeout", "1", "--min-data-rate", "1000"]
    s, up = start_live(args)
    got = []
    try:
        got += [s.cmd(MAIL), s.cmd(RCPT)]
        for _ in range(7):
            s.send(b"BDAT 100\r\n" + b"x" * 50)
            time.sleep(0.05)
            got.append(s.cmd(b"x" * 48 + b"\r\n"))
            time.sleep(0.4)
        got.append(s.cmd(bdat(b"", True)))
    finally:
        s.finish()
        s.q.cleanup()
    check("bdat-min-rate-clock-per-chunk", up and got[2:9] == [
        ok_chunk(100)] * 7 and QUEUED_RE.match(got[9]) is not None,
        "replies %r; log %s" % (got, s.err[-400:]))
    s, up = start_live(args)
    try:
        s.send(MAIL + RCPT + b"BDAT 100000\r\n")
        for _ in range(30):             # 40 octets a second for 3 s
            if not s.send(b"x" * 4):
                break
            time.sleep(0.1)
        got = [s.reply(), s.reply(), s.reply(5)]
    finally:
        s.finish()
        s.q.cleanup()
    check("bdat-min-rate-trickled-chunk-421", got[2] == b"421 4.4.2 " +
          lib.HOST.encode() + b" data arrives too slowly (below the minimum "
          b"rate), closing connection", "replies %r" % got)


# --- content -----------------------------------------------------------------

def test_line_rules():
    cases = [
        ("bare-lf", [b"Subject: a\r\n\r\nbare\nlf\r\n"], BARE),
        ("bare-cr", [b"Subject: a\r\n\r\nbare\rcr\r\n"], BARE),
        ("cr-at-end", [b"Subject: a\r\n\r\nends in CR\r"], BARE),
        ("cr-then-chunk-not-lf", [b"Subject: a\r\n\r\nx\r", b"y\r\n"], BARE),
        ("lf-starts-chunk", [b"Subject: a\r\n\r\nx", b"\ny\r\n"], BARE),
        ("nul", [b"Subject: a\r\n\r\nnul\x00byte\r\n"], NUL),
        ("nul-8bitmime", [b"Subject: a\r\n\r\n\x00\r\n"], NUL),
        ("lf-8bitmime", [b"Subject: a\r\n\r\n\n"], BARE),
        ("lf-7bit", [b"Subject: a\r\n\r\nx\ny\r\n"], BARE),
    ]
    bad = []
    for name, parts, want in cases:
        env = ENV
        if "8bitmime" in name:
            env = b"MAIL FROM:<s@example.org> BODY=8BITMIME\r\n" + RCPT
        elif "7bit" in name:
            env = b"MAIL FROM:<s@example.org> BODY=7BIT\r\n" + RCPT
        data = b"".join(bdat(p, i == len(parts) - 1)
                        for i, p in enumerate(parts))
        r = session(EHLO + env + data + ENV + bdat(MSG, True) + QUIT)
        got = r.after_ehlo()
        n = len(parts) - 1
        if (got[2:2 + n] != [ok_chunk(len(p)) for p in parts[:-1]] or
                got[2 + n] != want or r.rests() != [MSG] or not r.clean()):
            bad.append((name, got, r.why()))
    check("bdat-line-rules-550-554", not bad, bad[:3])


def test_loop_limit():
    def msg(n):
        return b"".join(b"Received: from hop%d.example by x; now\r\n" % i
                        for i in range(n)) + b"Subject: loop\r\n\r\nbody\r\n"
    bad = []
    for n, want in ((100, "250"), (101, "554")):
        for sizes in ([100000], [4], [1], [13, 7]):
            r = session(EHLO + ENV + chunked(msg(n), sizes) + QUIT)
            fin = r.after_ehlo()[-2]
            if fin[:3].decode() != want or (want == "554" and fin != (
                    b"554 5.4.6 message refused: too many Received headers "
                    b"(mail loop?)")) or not r.clean() or \
                    len(r.ids) != (want == "250"):
                bad.append((n, sizes, fin, r.why()))
    check("bdat-received-loop-limit", not bad, bad[:2])


BINARY = (bytes(range(256)) * 3 + b"\r\n.\r\nMAIL FROM:<x@y.example>\r\n"
          b"\n.\n\r.\r\x00.\r\n\r\r\nQUIT\r\nBDAT 5 LAST\r\nhello" +
          bytes(range(255, -1, -1)) + b"\n\r")


def test_binarymime():
    """any octets, stored exactly as sent, wherever the chunks split"""
    bad = []
    for sizes in ([len(BINARY)], [1], [7, 300], [256, 1, 1, 1], [3]):
        r = session(EHLO + BIN_ENV + chunked(BINARY, sizes) + QUIT)
        qid = r.ids[0] if r.ids else None
        if not (r.clean() and r.rests() == [BINARY] and
                r.field(qid, "Body") == ["BINARYMIME"]):
            bad.append((sizes, r.why()))
    check("bdat-binarymime-byte-exact", not bad, bad[:2])
    r = session(EHLO + BIN_ENV + b"DATA\r\n" + bdat(BINARY, True) + QUIT)
    got = r.after_ehlo()
    check("bdat-binarymime-data-503", got[2] == b"503 5.5.1 BODY=BINARYMIME "
          b"needs BDAT, not DATA (RFC 3030)" and b"354" not in r.out and
          r.rests() == [BINARY] and r.clean(), r.why())
    # the same octets without BODY=BINARYMIME: refused, nothing kept
    r = session(EHLO + ENV + chunked(BINARY, [100]) + QUIT)
    check("bdat-binary-octets-need-binarymime", r.after_ehlo()[-2] == BARE
          and r.new == [] and r.tmp == [], r.why())


def run_queue(q, args, env):
    """smtpd-queue deliver with a command that keeps each message's
    stdin and environment as OUT/<recipient>.msg and .env"""
    out = os.path.join(q.dir + ".out")
    os.makedirs(out, exist_ok=True)
    cmd = "sh -c 'cat > \"$0/$4.msg\"; env > \"$0/$4.env\"' " + out
    p = subprocess.run([QUEUE, "--queue", q.dir, "deliver", "--command", cmd]
                       + list(args), capture_output=True, timeout=T,
                       env=lib.base_env(env))
    got = {}
    for f in os.listdir(out):
        with open(os.path.join(out, f), "rb") as fh:
            got[f] = fh.read()
    shutil.rmtree(out, ignore_errors=True)
    return p, got


def test_queue_delivery():
    text = b"Subject: t\r\n\r\nline one\r\nline two\r\n"
    data = (EHLO + BIN_ENV.replace(b"<r@", b"<bin@") + chunked(BINARY, [99])
            + b"MAIL FROM:<s@example.org> BODY=8BITMIME\r\n"
            b"RCPT TO:<eight@example.com>\r\n" + chunked(text, [5]) +
            b"MAIL FROM:<s@example.org> BODY=7BIT\r\n"
            b"RCPT TO:<seven@example.com>\r\n" + bdat(text, True) +
            MAIL + b"RCPT TO:<none@example.com>\r\n" + bdat(text, True) +
            QUIT)
    for crlf in (False, True):
        q = lib.Queue(WORK)
        try:
            r = session(data, q=q)
            spooled = {}
            for qid, (fields, rec, rest) in r.msgs.items():
                rcpt = dict(fields)["Recipient"][1:-1]
                spooled[rcpt] = q.read(qid).split(b"\n\n", 1)[1]
            p, got = run_queue(q, ["--crlf"] if crlf else [],
                               {"BODY": "INHERITED"})
            tag = "bdat-queue%s" % ("-crlf" if crlf else "")
            if not check(tag + "-delivered", len(spooled) == 4 and
                         p.returncode == 0 and len(got) == 8 and
                         q.files("new") == [],
                         "spooled %r rc %r got %r err %r" % (
                             list(spooled), p.returncode, list(got),
                             p.stderr[-500:])):
                continue

            def envbody(r_):
                return [x for x in got[r_ + "@example.com.env"].split(b"\n")
                        if x.startswith(b"BODY=")]
            check(tag + "-binarymime-byte-exact",
                  got["bin@example.com.msg"] == spooled["bin@example.com"]
                  and spooled["bin@example.com"].endswith(BINARY),
                  "%r" % got["bin@example.com.msg"][-80:])
            conv = (lambda m: m) if crlf else \
                (lambda m: m.replace(b"\r\n", b"\n"))
            check(tag + "-text-line-ends", all(
                got[r_ + "@example.com.msg"] == conv(spooled[r_ +
                                                             "@example.com"])
                for r_ in ("eight", "seven", "none")),
                  "%r" % got["eight@example.com.msg"][-60:])
            check(tag + "-env-body", envbody("bin") == [b"BODY=BINARYMIME"]
                  and envbody("eight") == [b"BODY=8BITMIME"] and
                  envbody("seven") == [b"BODY=7BIT"] and
                  envbody("none") == [],
                  "%r" % [(r_, envbody(r_)) for r_ in
                          ("bin", "eight", "seven", "none")])
        finally:
            q.cleanup()


# --- group commit ------------------------------------------------------------

STRACE_LINE = re.compile(r"^(\d+\s+)?(\w+)\((.*)\)\s+=\s+(-?\d+)")


def three_messages():
    msgs = [b"Subject: group %d\r\n\r\n" % i + b"body\r\n" * (i + 1)
            for i in range(3)]
    data = EHLO + b"".join(
        MAIL + b"RCPT TO:<r%d@example.com>\r\n" % i + chunked(m, [9])
        for i, m in enumerate(msgs)) + QUIT
    return msgs, data


def can_strace():
    return shutil.which("strace") is not None and subprocess.run(
        ["strace", "-f", "-o", "/dev/null", "true"],
        capture_output=True).returncode == 0


def strace_cmd(q, log):
    return ["strace", "-f", "-s", "65536", "-o", log, "-e",
            "trace=openat,write,fsync,fdatasync,io_submit,renameat2,"
            "renameat,rename,linkat", lib.SMTPD, "--queue", q.dir,
            "--hostname", lib.HOST]


def strace_order(log, ids):
    """From an strace log: the problems with each id's file (created,
    fsync'ed, moved into new/, new/ fsync'ed, only then its 250 written),
    the fsyncs of new/ and the write of each 250 (call numbers)."""
    with open(log, encoding="utf-8", errors="replace") as f:
        calls = [m.groups()[1:] for m in map(STRACE_LINE.match, f) if m]
    newfd, fds, made, synced, moved, said = None, {}, {}, {}, {}, {}
    dirsyncs = []
    for i, (name, args, ret) in enumerate(calls):
        ret = int(ret)
        if name == "openat" and ret >= 0 and re.search(
                r'"new", O_RDONLY[|A-Z_]*O_DIRECTORY', args):
            newfd = ret
        for qid in ids:
            if name == "openat" and '"%s"' % qid in args and \
                    "O_CREAT" in args and ret >= 0:
                fds[qid], made[qid] = ret, i
            elif name in ("fsync", "fdatasync") and ret == 0 and \
                    qid in fds and int(args) == fds[qid] and \
                    qid not in synced:
                synced[qid] = i
            elif name == "io_submit" and qid in fds and \
                    "aio_fildes=%d," % fds[qid] in args:
                synced.setdefault(qid, i)
            elif name in ("renameat2", "linkat", "renameat") and \
                    ret == 0 and '"%s"' % qid in args:
                moved.setdefault(qid, i)
            elif name == "write" and ("queued as " + qid) in args:
                said[qid] = i
        if name == "fsync" and newfd is not None and \
                args == str(newfd) and ret == 0:
            dirsyncs.append(i)
    problems = []
    for qid in ids:
        try:
            if not made[qid] < synced[qid] < moved[qid] < said[qid]:
                problems.append("%s out of order" % qid)
            if not [d for d in dirsyncs if moved[qid] < d < said[qid]]:
                problems.append("%s: no fsync of new/ between its rename "
                                "and its 250" % qid)
        except KeyError as e:
            problems.append("%s: no %s" % (qid, e))
    return problems, dirsyncs, said


def test_group_commit_strace():
    """three messages pipelined in one write: one batch"""
    if not can_strace():
        return skip("bdat-group-commit-strace", "strace cannot trace here")
    msgs, data = three_messages()
    q = lib.Queue(WORK)
    log = q.dir + ".strace"
    try:
        # LeakSanitizer cannot run under ptrace: off for a sanitizer build
        env = lib.base_env({"ASAN_OPTIONS": "detect_leaks=0"})
        p = subprocess.run(strace_cmd(q, log), input=data,
                           capture_output=True, env=env, timeout=T)
        r = Result(q, p.returncode, p.stdout, p.stderr)
        if not check("bdat-group-commit-run", len(r.ids) == 3 and
                     r.rests() == msgs and r.clean(), r.why()):
            return
        problems, dirsyncs, said = strace_order(log, r.ids)
        check("bdat-group-commit-durable-before-250", not problems,
              "%s; dirsyncs %r" % (problems, dirsyncs))
        check("bdat-group-commit-one-batch", len(dirsyncs) == 1 and
              len(set(said.values())) == 1,
              "fsyncs of new/ %r, writes of the 250s %r" % (dirsyncs, said))
    finally:
        q.cleanup()
        if os.path.exists(log):
            os.unlink(log)


def test_commit_before_chunk_wait():
    """a LAST, then the next chunk only in part (read, or refused and
    skipped): the 250 must leave before smtpd waits for the rest (the
    client may wait for it), and only once the file is durable"""
    if not can_strace():
        return skip("bdat-commit-before-chunk-wait", "strace cannot trace "
                    "here")
    for name, part in (("read", ENV + b"BDAT 100\r\n" + b"x" * 40),
                       ("refused", b"BDAT 100\r\n" + b"x" * 40)):
        q = lib.Queue(WORK)
        log = q.dir + ".strace"
        p = None
        tag = "bdat-commit-before-%s-chunk-wait" % name
        try:
            env = lib.base_env({"ASAN_OPTIONS": "detect_leaks=0"})
            p = subprocess.Popen(strace_cmd(q, log), stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=env)
            p.stdin.write(EHLO + ENV + bdat(MSG, True) + part)
            p.stdin.flush()
            out, end = b"", time.monotonic() + T
            while b"queued as" not in out and time.monotonic() < end:
                if select.select([p.stdout], [], [], 1)[0]:
                    d = os.read(p.stdout.fileno(), 65536)
                    if not d:
                        break
                    out += d
            early = b"queued as" in out
            rest, err = p.communicate(b"x" * 58 + b"\r\n" + (
                bdat(b"", True) if name == "read" else b"") + QUIT,
                timeout=T)
            r = Result(q, p.returncode, out + rest, err)
            want = 2 if name == "read" else 1
            problems, _, _ = strace_order(log, r.ids) if \
                len(r.ids) == want else (["ids %r" % r.ids], 0, 0)
            check(tag, early and not problems and r.clean(),
                  "250 before the wait: %r; %s; %s" % (early, problems,
                                                       r.why()))
        finally:
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
            q.cleanup()
            if os.path.exists(log):
                os.unlink(log)


def test_group_commit_faults():
    if not os.path.exists(SHIM):
        return skip("bdat-group-commit-faults", "%s not built (make %s)" % (
            SHIM, os.path.relpath(SHIM, lib.ROOT)))
    msgs, data = three_messages()
    for spec, want in (("fsync:2:EIO", ["250", "451", "250"]),
                       ("dirfsync:1:EIO", ["451", "451", "451"])):
        q = lib.Queue(WORK)
        try:
            counts = q.dir + ".counts"
            env = lib.shim_env(q.dir, spec, counts)
            r = session(data, env=env, q=q)
            finals = [x[:3].decode() for x in r.after_ehlo()
                      if x.startswith((b"250 2.0.0 OK queued", b"451"))]
            kept = [m for m, c in zip(msgs, want) if c == "250"]
            check("bdat-group-commit-%s" % spec.replace(":", "-"),
                  finals == want and r.rests() == kept and r.clean(),
                  "want %r got %r; %s" % (want, finals, r.why()))
            if os.path.exists(counts):
                os.unlink(counts)
        finally:
            q.cleanup()


# --- memory ------------------------------------------------------------------

_base = {}


def run_rss(data, args=()):
    """smtpd under tests/tools/maxrss: (Result, peak RSS KiB)."""
    q = lib.Queue(WORK)
    rssf = q.dir + ".rss"
    try:
        p = subprocess.run([MAXRSS, rssf, lib.SMTPD, "--queue", q.dir,
                            "--hostname", lib.HOST] + list(args),
                           input=data, capture_output=True, timeout=T * 4,
                           env=lib.base_env())
        r = Result(q, p.returncode, p.stdout, p.stderr)
        r.digests = {qid: hashlib.sha256(rest).hexdigest()
                     for qid, (_, _, rest) in r.msgs.items()}
        r.msgs = {}             # no 24 MiB kept around
        with open(rssf) as f:
            return r, int(f.read())
    finally:
        q.cleanup()
        if os.path.exists(rssf):
            os.unlink(rssf)


def test_big_chunks_flat():
    mib = 2 if SLOW else 8
    with _lock:
        if "kb" not in _base:
            _base["kb"] = run_rss(EHLO + ENV + bdat(b"Subject: s\r\n\r\nhi"
                                                    b"\r\n", True) + QUIT)[1]
    base = _base["kb"]
    line = b"y" * 998 + b"\r\n"
    text = b"Subject: big\r\n\r\n" + line * (3 * mib * 1048576 // 1000)
    n = mib * 1048576
    text_data = (bdat(text[:n]) + bdat(text[n:2 * n]) + bdat(text[2 * n:]) +
                 bdat(b"", True))
    binary = bytes(range(256)) * (2 * n // 256) + b"\n\x00\r"
    bin_data = bdat(binary[:n]) + bdat(binary[n:], True)
    r, rss = run_rss(EHLO + ENV + text_data + BIN_ENV + bin_data + QUIT,
                     ["--max-size", "0"])
    want = [hashlib.sha256(text).hexdigest(),
            hashlib.sha256(binary).hexdigest()]
    check("bdat-big-chunks-stored", [r.digests.get(i) for i in r.ids] == want
          and r.clean() and r.finals[4] == ok_chunk(n), r.why())
    check("bdat-big-chunks-rss-flat", rss - base < FLAT_KB,
          "%d KiB peak for %d MiB in chunks of %d MiB vs %d KiB for one "
          "small message" % (rss, (len(text) + len(binary)) >> 20, mib,
                             base))


# --- over TCP through tcpserver: pipelining, octet by octet, smuggling ------

SMUGGLED = t_smuggling.SMUGGLED
SEQUENCES = [("crlf-dot-crlf", b"\r\n.\r\n")] + t_smuggling.SEQUENCES
CLEAN = b"From: s@example.org\r\nSubject: clean after\r\n\r\nclean\r\n"


def tcp_session(srv, data, split):
    """Send data (one write, or an octet a segment), read to EOF: the
    final reply lines after the greeting."""
    c = netlib.Client(srv.port, timeout=T, nodelay=split)
    try:
        c.reply()               # the greeting: no early talker
        if split:
            c.send_split(data, pause=0.0005)
        else:
            c.send(data)
        c.read_to_eof(T)
    except (EOFError, OSError):
        pass
    finally:
        c.close()
    lines = c.all.split(b"\r\n")
    return [x for x in lines if x and x[3:4] != b"-"][1:]


def drain_new(srv):
    """The messages in srv's new/ (removed): [(envelope, rest)]."""
    out = []
    for name in srv.q.files("new"):
        fields, m = lib.split_spool(srv.q.read(name))
        out.append((fields, lib.received_split(m)[1]))
        os.unlink(os.path.join(srv.q.dir, "new", name))
    return out


def test_smuggling(binary, split):
    """a smuggling sequence and a whole second transaction, a QUIT and a
    BDAT command inside the chunks: data, never commands"""
    kind = "binarymime" if binary else "text"
    tag = "bdat-smuggle-%s-%s" % (kind, "split" if split else "one-write")
    srv = netlib.Server(args=["--timeout", "20"], qbase=WORK)
    bad = []
    try:
        for name, seq in SEQUENCES:
            body = (b"Subject: first\r\n\r\nbefore" + seq + SMUGGLED +
                    b"QUIT\r\n" + bdat(b"hello", True) + b"\r\nafter\r\n")
            cut = body.index(seq) + 1       # a chunk ends inside seq
            env = BIN_ENV if binary else ENV
            data = (EHLO + env + bdat(body[:cut]) + bdat(body[cut:], True) +
                    ENV + chunked(CLEAN, [20]) + QUIT)
            got = tcp_session(srv, data, split)
            msgs = drain_new(srv)
            stored = binary or seq == b"\r\n.\r\n"
            want = ["250", "250", "250", "250" if stored else
                    ("554" if b"\0" in seq else "550")] + \
                ["250"] * (2 + -(-len(CLEAN) // 20)) + ["221"]
            codes = [x[:3].decode() for x in got[1:]]
            rests = [m for _, m in msgs]
            want_rests = sorted([body, CLEAN] if stored else [CLEAN])
            if (codes != want or sorted(rests) != want_rests or
                    srv.q.files("tmp") or [x for x in got if x[:3] == b"354"]):
                bad.append((name, codes, len(msgs), got[-4:]))
        check(tag, not bad, bad[:3])
    finally:
        srv.cleanup()


def test_refused_chunks_tcp(split):
    """refused chunks full of commands, over TCP: none of them runs"""
    tag = "bdat-refused-chunks-tcp-%s" % ("split" if split else "one-write")
    srv = netlib.Server(args=["--timeout", "20"], qbase=WORK)
    try:
        data = (bdat(b"EHLO evil.example\r\nMAIL FROM:<evil@example.net>\r\n")
                + MAIL + EHLO + b"BDAT 9 FOO\r\nRSET\r\nXXX" +
                bdat(b"MAIL FROM:<evil@example.net>\r\nQUIT\r\n") + MAIL +
                bdat(b"RSET\r\nMAIL FROM:<evil@example.net>\r\n"
                     b"RCPT TO:<victim@example.com>\r\nDATA\r\nQUIT\r\n") +
                RCPT + bdat(b"kept\r\n", True) + QUIT)
        got = tcp_session(srv, data, split)
        msgs = drain_new(srv)
        codes = [x[:3].decode() for x in got]
        want = ["503", "503", "250", "501", "503", "250", "503", "250",
                "250", "221"]
        env = dict(msgs[0][0]) if len(msgs) == 1 else {}
        check(tag, codes == want and len(msgs) == 1 and
              env.get("Sender") == "<s@example.org>" and
              [v for k, v in msgs[0][0] if k == "Recipient"] ==
              ["<r@example.com>"] and msgs[0][1] == b"kept\r\n",
              "want %r got %r msgs %r" % (want, got, msgs))
    finally:
        srv.cleanup()


def test_pipelined_tcp(split):
    """several messages, BDATs and other commands in one write (or an
    octet a segment), every reply in order"""
    tag = "bdat-pipelined-tcp-%s" % ("split" if split else "one-write")
    srv = netlib.Server(qbase=WORK)
    try:
        m2 = b"Subject: two\r\n\r\n" + b"line\r\n" * 20
        data = (EHLO + ENV + chunked(MSG, [50]) + b"NOOP\r\n" + BIN_ENV +
                chunked(BINARY, [400]) + b"RSET\r\n" + ENV +
                chunked(m2, [1], last=False) + bdat(b"", True) + QUIT)
        got = tcp_session(srv, data, split)
        msgs = drain_new(srv)
        n1 = -(-len(MSG) // 50) - 1
        n2 = -(-len(BINARY) // 400) - 1
        want = (["250"] * 3 + ["250"] * n1 + ["250", "250", "250", "250"] +
                ["250"] * n2 + ["250", "250", "250", "250"] +
                ["250"] * len(m2) + ["250", "221"])
        codes = [x[:3].decode() for x in got]
        check(tag, codes == want and sorted(m for _, m in msgs) ==
              sorted([MSG, BINARY, m2]) and srv.q.files("tmp") == [] and
              len([x for x in got if QUEUED_RE.match(x)]) == 3,
              "want %d replies, got %d: %r" % (len(want), len(codes),
                                               got[-6:]))
    finally:
        srv.cleanup()


def test_250_before_next_chunk():
    """a LAST's 250 goes out (durable) while the next message's first
    chunk is still arriving: no deadlock with a client that waits"""
    srv = netlib.Server(qbase=WORK)
    c = None
    try:
        c = netlib.Client(srv.port, timeout=T)
        c.reply()
        c.send(EHLO)
        c.reply()
        c.send(ENV + bdat(MSG, True) + ENV + b"BDAT 100\r\n" + b"x" * 40)
        got = [c.reply()[-1] for _ in range(3)]
        c.send(b"x" * 58 + b"\r\n" + bdat(b"", True) + QUIT)
        rest = [c.reply()[-1] for _ in range(5)]
        check("bdat-250-before-next-chunk-ends",
              QUEUED_RE.match(got[2]) is not None and
              QUEUED_RE.match(rest[3]) is not None and len(
                  srv.q.files("new")) == 2, "got %r then %r" % (got, rest))
    except (EOFError, OSError) as e:
        check("bdat-250-before-next-chunk-ends", False, "%r; got %r" % (
            e, c.all[-300:] if c else b""))
    finally:
        if c:
            c.close()
        srv.cleanup()


# --- exim4 as the sending MTA ------------------------------------------------

EXIM_CONF = """\
# t_bdat.py: exim as a client only, sending everything to smtpd
primary_hostname = client.test.example
spool_directory = %(spool)s
log_file_path = %(spool)s/log/%%slog
exim_user = %(user)s
exim_group = %(group)s
never_users =
keep_environment =
tls_advertise_hosts =
message_size_limit = 0
begin routers
to_smtpd:
  driver = manualroute
  route_list = * 127.0.0.1
  self = send
  transport = to_smtpd
  no_more
begin transports
to_smtpd:
  driver = smtp
  port = %(port)d
  allow_localhost
  hosts_try_chunking = *
  hosts_avoid_tls = *
"""


def exim_binary():
    for name in ("exim4", "exim"):
        p = shutil.which(name) or (
            "/usr/sbin/" + name if os.access("/usr/sbin/" + name, os.X_OK)
            else None)
        if p:
            return p
    return None


def exim_user():
    """exim's delivery user: the package's as root (exim never delivers
    as root, and keeps root for a -C file only when root calls), else
    the caller (exim gives up its setuid root for -C)."""
    if os.geteuid() != 0:
        pw = pwd.getpwuid(os.geteuid())
        return pw.pw_name, pw.pw_uid, pw.pw_gid
    for name in ("Debian-exim", "exim", "mail", "nobody"):
        try:
            pw = pwd.getpwnam(name)
            return pw.pw_name, pw.pw_uid, pw.pw_gid
        except KeyError:
            continue
    return None


class Exim:
    """exim with its own configuration and spool, sending to port."""

    def __init__(self, exe, port, tag):
        self.exe = exe
        self.dir = tempfile.mkdtemp(prefix="exim-" + tag + "-", dir=WORK)
        os.chmod(self.dir, 0o755)
        self.spool = os.path.join(self.dir, "spool")
        os.mkdir(self.spool, 0o750)
        user, uid, gid = exim_user()
        os.chown(self.spool, uid, gid)
        self.conf = os.path.join(self.dir, "exim.conf")
        with open(self.conf, "w") as f:
            f.write(EXIM_CONF % {"spool": self.spool, "user": uid,
                                 "group": gid, "port": port})
        os.chmod(self.conf, 0o644)

    def run(self, *args, stdin=b""):
        p = subprocess.run([self.exe, "-C", self.conf] + list(args),
                           input=stdin, capture_output=True, timeout=T * 2,
                           env=lib.base_env())
        return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")

    def send(self, sender, rcpts, msg, *opts):
        return self.run("-odi", "-oi", "-v", "-f", sender, *opts, "--",
                        *rcpts, stdin=msg)

    def mainlog(self):
        try:
            with open(os.path.join(self.spool, "log", "mainlog"),
                      encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""


def exim_text(i, lines=3):
    """A message as a user agent writes it (LF line ends, every header
    exim would add already there)."""
    body = b"".join(b"line %d of message %d: caf\xc3\xa9 %s\n" % (
        k, i, b"z" * (k % 900)) for k in range(lines))
    return (b"From: Sender <sender@example.org>\nTo: r@example.com\n"
            b"Date: Mon, 07 Dec 2026 10:00:00 +0000\n"
            b"Message-ID: <exim-%d@client.test.example>\n"
            b"Subject: via exim %d\n\n" % (i, i) + body +
            b".\n..\n.dot at the start\n" + b"x" * 990 + b"\nend\n")


def exim_rest(rest):
    """What follows exim's own Received: field in a spooled message."""
    if not rest.startswith(b"Received: from "):
        return None
    return lib.received_split(rest)[1]


def exim_found(srv, msg):
    """The spooled message whose octets after the two Received: fields
    are msg (with CRLF): its envelope, or None."""
    want = msg.replace(b"\n", b"\r\n")
    for name in srv.q.files("new"):
        fields, m = lib.split_spool(srv.q.read(name))
        if exim_rest(lib.received_split(m)[1]) == want:
            return fields
    return None


def test_exim():
    exe = exim_binary()
    if exe is None:
        return skip("bdat-exim", "exim not installed (package "
                    "exim4-daemon-light; tests/deps.sh installs it where no "
                    "other MTA is)")
    if exim_user() is None:
        return skip("bdat-exim", "no user for exim's deliveries")
    srv = netlib.Server(args=["--debug"], qbase=WORK)
    try:
        ex = Exim(exe, srv.port, "one")
        # one message, three recipients, -odi: delivered before exim exits
        m1 = exim_text(1)
        rc, out = ex.send("sender@example.org", ["r@example.com",
                                                 "r2@example.com",
                                                 "r3@example.com"], m1)
        log = ex.mainlog()
        fields = exim_found(srv, m1)
        if not check("bdat-exim-delivered", rc == 0 and fields is not None,
                     "rc %r new %r\nexim: %s\nlog: %s\nsmtpd: %s" % (
                         rc, srv.q.files("new"), out[-1500:], log[-800:],
                         srv.logtext()[-800:])):
            return
        check("bdat-exim-used-bdat", re.search(r"SMTP[+>|]+ BDAT \d+ LAST",
                                               out) is not None and
              re.search(r"=> r@example\.com .* K C=\"250 2\.0\.0 OK queued "
                        r"as ", log) is not None and
              b"from=rcpt to=bdat" in srv.logbytes(),
              "exim -v: %s\nmainlog: %s" % (out[-1500:], log[-600:]))
        check("bdat-exim-envelope", [v for k, v in fields if k in (
            "Sender", "Recipient")] == ["<sender@example.org>",
                                        "<r@example.com>", "<r2@example.com>",
                                        "<r3@example.com>"], fields)
        # a 1.5 MB message: a header chunk and a body chunk (LAST)
        m2 = exim_text(2, lines=3000)
        rc, out = ex.send("sender@example.org", ["big@example.com"], m2)
        check("bdat-exim-big-byte-exact", rc == 0 and
              exim_found(srv, m2) is not None and
              len(re.findall(r"SMTP[+>|]+ BDAT \d+", out)) >= 1,
              "rc %r: %s" % (rc, out[-1000:]))
        # three messages queued (-odq), then one queue run: one
        # connection, one smtpd session, three BDAT transactions
        srv.wait_ended(2, T)
        before = len(srv.ended())
        ms = [exim_text(10 + i, lines=5 + i) for i in range(3)]
        for i, m in enumerate(ms):
            ex.run("-odq", "-oi", "-f", "sender@example.org", "--",
                   "q%d@example.com" % i, stdin=m)
        rc, out = ex.run("-qqf")
        srv.wait_ended(before + 1, T)
        sessions = re.findall(r"event=disconnect reason=quit queued=(\d+)",
                              srv.logbytes().decode("utf-8", "replace"))
        check("bdat-exim-queue-run-one-session", rc == 0 and
              all(exim_found(srv, m) is not None for m in ms) and
              len(srv.ended()) == before + 1 and sessions[-1:] == ["3"] and
              all(re.search(r"=> q%d@example\.com .* K C=\"250 2\.0\.0 OK "
                            r"queued as " % i, ex.mainlog())
                  for i in range(3)),
              "rc %r ended %r sessions %r\n%s" % (
                  rc, srv.ended(), sessions, ex.mainlog()[-1200:]))
        # a NUL in a text message: 554 after the LAST, in exim's log
        nul = b"Subject: nul from exim\n\nbefore \x00 after\n"
        rc, out = ex.send("sender@example.org", ["nul@example.com"], nul)
        check("bdat-exim-nul-refused-554", re.search(
            r"\*\* nul@example\.com .*554 5\.6\.0 message refused: NUL",
            ex.mainlog()) is not None and not any(
                b"nul from exim" in srv.q.read(n)
                for n in srv.q.files("new")), ex.mainlog()[-800:])
    finally:
        srv.cleanup()
    # BINARYMIME: exim (4.96) has none; it never sends BODY=BINARYMIME
    with open(exe, "rb") as f:
        has = b"BINARYMIME" in f.read()
    skip("bdat-exim-binarymime", "exim does not implement BINARYMIME (no "
         "BODY=BINARYMIME in its binary: %s); the BINARYMIME cases above "
         "use raw clients" % ("found, not tried" if has else "absent"))


# --- main --------------------------------------------------------------------

TESTS = [
    test_ehlo_keywords, test_limits_options, test_basic_chunks,
    test_zero_last, test_one_octet_chunks, test_crlf_split,
    test_crlf_appended, test_dots_are_data, test_pipelined_mix,
    test_refused_before_ehlo, test_refused_without_mail,
    test_refused_without_rcpt, test_refused_all_rcpts,
    test_refused_quit_in_chunk, test_syntax_501, test_unreadable_size,
    test_garbled_line, test_refused_session_reads_chunk,
    test_lost_first_chunk_syntax, test_lost_first_chunk_spool,
    test_nineteen_digits_read, test_max_size, test_in_transaction_503,
    test_starttls_in_transaction, test_reset_drops, test_eof_inside,
    test_timeout_inside, test_min_rate_per_chunk, test_line_rules,
    test_loop_limit, test_binarymime, test_queue_delivery,
    test_group_commit_strace, test_commit_before_chunk_wait,
    test_group_commit_faults, test_big_chunks_flat,
]
TCP_TESTS = [
    functools.partial(test_smuggling, False, False),
    functools.partial(test_smuggling, False, True),
    functools.partial(test_smuggling, True, False),
    functools.partial(test_smuggling, True, True),
    functools.partial(test_refused_chunks_tcp, False),
    functools.partial(test_refused_chunks_tcp, True),
    functools.partial(test_pipelined_tcp, False),
    functools.partial(test_pipelined_tcp, True),
    test_250_before_next_chunk, test_exim,
]


def main():
    todo = list(TESTS)
    if netlib.have_tcpserver():
        todo = TCP_TESTS + todo         # the slow ones first
    else:
        skip("bdat-tcp", "tcpserver not installed (package ucspi-tcp-ipv6; "
             "tests/deps.sh installs it)")
    try:
        lib.run_threads(todo, "bdat")
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    lib.finish()


if __name__ == "__main__":
    main()
