"""t_deadlines.py - a silent client is cut after --timeout, in every state.

Every wait has one deadline, fixed before it starts: however smtpd waits
(a socket read under SO_RCVTIMEO, poll() on a pipe, a reply write that
does not go out), a client that goes silent is cut after --timeout
seconds, not after a fresh period on top.  Each state is tried on a
socket (stdin = stdout = one socket, as under tcpserver) and on two
pipes: right after the greeting, after EHLO, MAIL and RCPT, inside DATA
at a line start and mid-line, mid-command-line, and a client that floods
commands but never reads the replies.

Each case measures from the moment smtpd has to start waiting (our last
byte sent, or its last reply read) until it hangs up (EOF on its output,
or its exit when we do not read), and wants that within 10% of the
limit; then the 421 where we read, exit status 1 and an empty queue.
The cases run at once, in threads, so the group takes about one limit.
"""
import concurrent.futures
import fcntl
import os
import re
import select
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

LIMIT = 3
ARGS = ["--timeout", str(LIMIT), "--domain", "d.example"]
# 10% either side; 0.15 s more on top for waking up, process teardown
# and a loaded machine's scheduling, which only ever make it later.  (A
# socket's SO_RCVTIMEO runs on the kernel's coarse timer wheel: at 3 s
# it fires up to 0.26 s late with HZ=250, inside the 10%.)
LOW, HIGH = LIMIT * 0.9, LIMIT * 1.1 + 0.15
TIMEOUT_421 = b"421 4.4.2 mx.test.example timeout, closing connection\r\n"
SMALL = 4096        # socket and pipe buffers for the flood (page size)
FINAL_RE = re.compile(rb"(?:^|\r\n)\d{3} [^\r\n]*\r\n$")

EHLO = b"EHLO client.example\r\n"
MAIL = b"MAIL FROM:<a@b.example>\r\n"
RCPT = b"RCPT TO:<c@d.example>\r\n"
DATA = b"DATA\r\n"

# state: (commands sent and answered first, bytes sent then, unanswered)
STATES = [
    ("greeting", [], b""),
    ("ehlo", [EHLO], b""),
    ("mail", [EHLO, MAIL], b""),
    ("rcpt", [EHLO, MAIL, RCPT], b""),
    ("data-linestart", [EHLO, MAIL, RCPT, DATA], b"Subject: x\r\n"),
    ("data-midline", [EHLO, MAIL, RCPT, DATA], b"Subject: hal"),
    ("command-midline", [EHLO], b"NOOP"),
]
TRANSPORTS = ["socket", "pipe"]


class Setup(Exception):
    """The session did not reach the state under test."""


class Client:
    """smtpd on a socket or on two pipes, and our ends of them (raw fds:
    the same reads and writes serve both).  Reads the greeting."""

    def __init__(self, transport, q, small=False):
        if transport == "socket":
            ours, theirs = socket.socketpair()
            if small:   # AF_UNIX: bytes in flight count on the sender
                for s in (ours, theirs):
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL)
            self.rfd = self.wfd = ours.detach()
            stdin = stdout = theirs.detach()
            child = [stdin]
        else:
            stdin, self.wfd = os.pipe()
            self.rfd, stdout = os.pipe()
            if small:
                for fd in (self.wfd, stdout):
                    fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, SMALL)
            child = [stdin, stdout]
        self.log = tempfile.TemporaryFile()
        self.p = subprocess.Popen(
            [lib.SMTPD, "--queue", q.dir, "--hostname", lib.HOST] + ARGS,
            stdin=stdin, stdout=stdout, stderr=self.log, env=lib.base_env())
        for fd in child:
            os.close(fd)
        self.got = b""
        try:
            if not self.reply().startswith(b"220 "):
                raise Setup("greeting %r" % self.got[-100:])
        except Exception:
            self.close()
            raise

    def send(self, data):
        view = memoryview(data)
        while view:
            view = view[os.write(self.wfd, view):]

    def read_some(self, until):
        """One read within the monotonic time until; b"" at EOF or then."""
        ms = max(0, int((until - time.monotonic()) * 1000))
        if not select.select([self.rfd], [], [], ms / 1000)[0]:
            return b""
        try:
            data = os.read(self.rfd, 65536)
        except ConnectionResetError:
            data = b""
        self.got += data
        return data

    def reply(self):
        """Read up to the end of a (multi-line) reply; return it."""
        start, until = len(self.got), time.monotonic() + 10
        while not FINAL_RE.search(self.got[start:]):
            if not self.read_some(until):
                raise Setup("no reply, got %r" % self.got[-100:])
        return self.got[start:]

    def command(self, line):
        """Send line, want a 2xx or 3xx reply."""
        self.send(line)
        r = self.reply()
        if r[:1] not in b"23":
            raise Setup("%r answered %r" % (line, r))

    def until_eof(self, until):
        """Read to EOF; the monotonic time it came, None if not by until."""
        while self.read_some(until):
            pass
        now = time.monotonic()
        return now if now < until else None

    def close(self):
        """Close our ends, wait for smtpd; its exit status, and the last
        line it logged."""
        for fd in {self.rfd, self.wfd}:
            os.close(fd)
        try:
            rc = self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = self.p.wait()
        self.log.seek(0)
        lines = self.log.read().strip().splitlines()
        self.log.close()
        return rc, lines[-1][-160:] if lines else b""


def silent(c, commands, tail):
    """Reach a state, go silent, read to EOF: (silent at, EOF at)."""
    for line in commands:
        c.command(line)
    c.send(tail)
    t0 = time.monotonic()
    return t0, c.until_eof(t0 + LIMIT * 3)


def flood(c):
    """Send NOOPs and never read a reply, till smtpd goes: the replies
    fill the small buffers, smtpd stops reading, our sends stop.  Its
    write wait begins about then: at the last send that got through."""
    os.set_blocking(c.wfd, False)
    chunk = b"NOOP\r\n" * (SMALL // 8)
    poller = select.poll()
    poller.register(c.wfd, select.POLLOUT)
    t0 = None
    give_up = time.monotonic() + LIMIT * 3 + 5
    while time.monotonic() < give_up and c.p.poll() is None:
        if not poller.poll(20):
            continue
        try:
            if os.write(c.wfd, chunk) > 0:
                t0 = time.monotonic()
        except BlockingIOError:
            pass
        except OSError:             # EPIPE, ECONNRESET: smtpd is gone
            break
    return t0, time.monotonic() if time.monotonic() < give_up else None


def run_case(transport, script, args, small=False):
    """Run one case on a fresh queue: (seconds silent or None, problems,
    smtpd's last log line)."""
    q = lib.Queue()
    try:
        c = Client(transport, q, small)
        try:
            t0, t1 = script(c, *args)
        finally:
            rc, last = c.close()
        took = None if t0 is None or t1 is None else t1 - t0
        problems = []
        if took is None or not LOW <= took <= HIGH:
            problems.append("took %s, want %.2f..%.2fs" % (
                "too long" if took is None else "%.2fs" % took, LOW, HIGH))
        if script is silent and not c.got.endswith(TIMEOUT_421):
            problems.append("ends %r" % c.got[-80:])
        if script is flood and b"reason=client-not-reading" not in last:
            problems.append("not cut as not reading")
        if rc != 1:
            problems.append("rc=%r" % rc)
        if q.files("new") or q.files("tmp"):
            problems.append("queued new=%r tmp=%r" % (q.files("new"),
                                                       q.files("tmp")))
        return took, problems, last
    finally:
        q.cleanup()


def verdict(name, future):
    """One check per case: the time, the 421, the exit status, the queue."""
    try:
        took, problems, last = future.result()
    except Exception as e:  # noqa: BLE001 - a broken case is a FAIL
        lib.check(name, False, "%s: %s" % (type(e).__name__, e))
        return
    if took is not None:
        print("# %s: %.2fs" % (name, took))
    lib.check(name, not problems, "; ".join(problems) + " (log: %r)" % last)


def main():
    cases = []
    for t in TRANSPORTS:
        for state, commands, tail in STATES:
            cases.append(("silence-%s-%s" % (t, state),
                          (t, silent, (commands, tail))))
        cases.append(("silence-%s-not-reading" % t, (t, flood, (), True)))
    with concurrent.futures.ThreadPoolExecutor(len(cases)) as pool:
        futures = [pool.submit(run_case, *args) for _, args in cases]
        for (name, _), future in zip(cases, futures):
            verdict(name, future)
    lib.finish()


main()
