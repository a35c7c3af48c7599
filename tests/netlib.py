"""tests/netlib.py - smtpd behind a real tcpserver, and raw TCP clients.

For the network test groups (t_smuggling.py, tests/stress/*.py).
Server starts `tcpserver -v -c N 127.0.0.1 PORT [maxrss FILE] smtpd ...`
in its own process group, logs (tcpserver's and smtpd's) to a file, and
knows how to wait until every smtpd it started has ended.  Client is a
plain socket with reply parsing, whole and byte-by-byte sending.
"""
import os
import re
import socket
import subprocess
import time

import lib

MAXRSS = os.path.join(lib.ROOT, "tests", "tools", "maxrss")
END_RE = re.compile(rb"tcpserver: end (\d+) status (\d+)")
PID_RE = re.compile(rb"tcpserver: pid (\d+) from ")


def have_tcpserver():
    return subprocess.run(["sh", "-c", "command -v tcpserver"],
                          capture_output=True).returncode == 0


def free_port():
    return lib.free_port()


class Server:
    """tcpserver -c conc running smtpd; rss=True wraps each smtpd in
    tests/tools/maxrss (one connection at a time then: one file)."""

    def __init__(self, args=(), conc=40, rss=False, env=None, qbase=None,
                 backlog=None):
        self.q = lib.Queue(base=qbase)
        self.log = self.q.dir + ".log"        # beside the queue, not in it
        self.rssfile = self.q.dir + ".rss"
        wrap = [MAXRSS, self.rssfile] if rss else []
        self.port = None
        self.p = None
        for _ in range(5):
            port = free_port()
            cmd = (["tcpserver", "-v", "-H", "-R", "-l", lib.HOST, "-c",
                    str(conc)] + (["-b", str(backlog)] if backlog else []) +
                   ["127.0.0.1", str(port)] + wrap +
                   [lib.SMTPD, "--queue", self.q.dir, "--hostname",
                    lib.HOST] + list(args))
            with open(self.log, "ab") as logf:
                self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL,
                                          stderr=logf,
                                          env=lib.base_env(env),
                                          start_new_session=True)
            if self._wait_ready(port):
                self.port = port
                return
            self.stop()
        raise RuntimeError("tcpserver did not start: %s" % self.logtext())

    def _wait_ready(self, port):
        """Listening?  A bare connect, closed at once (no session)."""
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if self.p.poll() is not None:
                return False
            if b"tcpserver: status: 0/" in self.logbytes():
                return True
            time.sleep(0.02)
        return False

    def logbytes(self):
        try:
            with open(self.log, "rb") as f:
                return f.read()
        except OSError:
            return b""

    def logtext(self):
        return self.logbytes().decode("utf-8", "replace")[-3000:]

    def started(self):
        return len(PID_RE.findall(self.logbytes()))

    def ended(self):
        """[(pid, exit status)] of the sessions that are over."""
        return [(int(p), int(s)) for p, s in END_RE.findall(self.logbytes())]

    def wait_ended(self, n, timeout):
        """Wait until n sessions have ended; True if they did in time."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if len(self.ended()) >= n:
                return True
            time.sleep(0.05)
        return False

    def rss_kb(self):
        with open(self.rssfile) as f:
            return int(f.read())

    def stop(self):
        lib.stop_group(self.p)

    def stray(self):
        """Processes still in the server's process group after stop()."""
        return lib.procs(pgid=self.p.pid)

    def cleanup(self):
        self.stop()
        self.q.cleanup()
        for f in (self.log, self.rssfile):
            if os.path.exists(f):
                os.unlink(f)


class Client:
    """A raw SMTP client socket."""

    def __init__(self, port, timeout=30, nodelay=False, rcvbuf=None):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if nodelay:
            self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.settimeout(timeout)
        self.s.connect(("127.0.0.1", port))
        self.buf = b""
        self.all = b""

    def read_more(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError("connection closed; got %r" % self.buf[-300:])
        self.buf += d
        self.all += d

    def reply(self):
        """One whole reply: [line, ...] without CRLF."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                self.read_more()
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line)
            if len(line) < 4 or line[3:4] != b"-":
                return lines

    def replies(self, n):
        return [self.reply() for _ in range(n)]

    def code(self):
        return self.reply()[-1][:3].decode()

    def send(self, data):
        self.s.sendall(data)

    def send_split(self, data, size=1, pause=0.001):
        """data in pieces of size octets, each its own TCP segment."""
        for i in range(0, len(data), size):
            self.s.sendall(data[i:i + size])
            time.sleep(pause)

    def quiet_for(self, seconds):
        """True if nothing arrives for this long (no reply too early)."""
        self.s.settimeout(seconds)
        try:
            d = self.s.recv(65536)
        except socket.timeout:
            return True
        finally:
            self.s.settimeout(30)
        self.buf += d
        self.all += d
        return False

    def read_to_eof(self, timeout=30):
        self.s.settimeout(timeout)
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    break
                self.buf += d
                self.all += d
        except (socket.timeout, ConnectionResetError):
            pass
        return self.buf

    def close(self):
        self.s.close()
