"""t_haproxy.py - three smtpd hosts behind a real HAProxy (make test-haproxy).

Three backends, each with its own queue: b2 on 127.0.0.2 and b3 on
127.0.0.3 are Accept=no supervisors (systemd-socket-activate without
--accept hands smtpd the listening socket), b4 on 127.0.0.4 runs under
tcpserver (one exec per connection).  Each runs --proxy-from 127.0.0.1;
b2 without --trust, b3 and b4 with --trust 192.0.2.0/24 (a network no
client here is in).  HAProxy (the Debian binary, in the foreground with
-db and a generated configuration, config() below) listens on 127.0.0.1
in mode tcp, balance roundrobin, send-proxy-v2 (then, in a second run
with fresh backends, send-proxy), option smtpchk with check-send-proxy
and "check inter 200ms fall 1 rise 1", retries 3, option redispatch 1.

A client bound to 127.0.0.9 sends 2 x MESSAGES (default 300) messages,
one per connection, from 8 threads; a try that fails (connection
dropped, a 4xx) is made again, as an MTA would, each try with its own
X-Attempt token (the Message-ID stays).  After a third of them got
their 250, b3 (supervisor and sessions: its whole process group) gets
SIGKILL; at the end it comes back on the same port and queue.

Checks: every try that got 250 is in exactly one backend's new/, the
file its queue id names, byte for byte; no try is in new/ twice;
nothing in new/ is partial or unknown; a file without a 250 exists only
on the killed host, for a try cut after its final dot (counted: that
message is then in two queues, one copy never acknowledged); every
message was accepted once in the end; b3 took none begun after the
kill, b2 and b4 took the rest, HAProxy marked b3 DOWN, and the client
saw no more failures than b3 had sessions at the kill (the rest were
redispatched); b3 back: UP again, taking mail, its files kept.
Received: and the envelope name 127.0.0.9, never [127.0.0.1], as the
client; every connect record says via=127.0.0.1 proxy=2 (or 1), the
client's ip=127.0.0.9 trusted=no, the health checks' ip=127.0.0.1
(HAProxy's v2 LOCAL header; its v1 line names the check's own
addresses) queue nothing; no proxy-failed record, no session killed by
a signal, no stray output; the logs' queue ids are the files in new/;
relaying from 127.0.0.9 through HAProxy gets 550 5.7.1 on every backend
while a local recipient is accepted.  Controls: a PROXY header naming
192.0.2.7 may relay on b3 (--trust 192.0.2.0/24) but not on b2; a check
that sends no PROXY header ("check port" without check-send-proxy)
keeps the server DOWN and smtpd logs proxy-failed: why the
configuration says check-send-proxy.

Figures (INFO lines, never a pass/fail): messages/s through HAProxy to
the three backends, and straight to one more supervisor backend, the
same client at the same concurrency, alternately, twice each.
HAPROXY_MESSAGES=N changes the count; HAPROXY_KEEP=1 keeps the logs,
queues and HAProxy configurations (the path is printed).
"""
import os
import re
import shutil
import signal
import smtplib
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import lib  # noqa: E402
from lib import check  # noqa: E402

CLIENT_IP = "127.0.0.9"
FRONT_IP = "127.0.0.1"
DOMAIN = "test.example"
HELO = "client.test.example"
SENDER = "sender@client.test.example"
MESSAGES = int(os.environ.get("HAPROXY_MESSAGES", "300"))
CONC = 8
MAX_TRIES = 8
TRUST_NET = "192.0.2.0/24"
# the supervisors' session limit: three times what the client ever has
# open at once (health checks come and go in a few ms), so a 421 "too
# many connections" is never due
MAX_CONN = 3 * CONC
TRUSTED_SRC = "192.0.2.7"
QID_RE = re.compile(rb"queued as ([A-Za-z0-9.]+)")
LOG_RE = re.compile(r"^smtpd\[(\d+)\]: ip=(\S+) event=(\S+)(.*)$")
KV_RE = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')
END_RE = re.compile(r"^tcpserver: end \d+ status (\d+)$")
LAUNCHER_LINES = ("Listening on ", "Communication attempt on fd ",
                  "Execing ")
ATTEMPT_RE = re.compile(rb"\r\nX-Attempt: (\S+)\r\n")


def info(line):
    print("INFO " + line)
    sys.stdout.flush()


free_port = lib.free_port


def group_pids(pgid):
    """Live processes of process group pgid."""
    return lib.procs(pgid=pgid)


wait_for = lib.wait_for


def read_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


class Backend:
    """One smtpd host: an Accept=no supervisor under
    systemd-socket-activate, or smtpd under tcpserver; its own queue and
    log, in its own process group."""

    def __init__(self, name, ip, mode, workdir, args=(), proxy=True):
        self.name, self.ip, self.mode = name, ip, mode
        self.host = name + ".test.example"
        self.q = lib.Queue(base=workdir)
        self.log = os.path.join(workdir, name + ".log")
        self.p = None
        self.base = [lib.SMTPD, "--queue", self.q.dir, "--hostname",
                     self.host, "--domain", DOMAIN] + \
            (["--proxy-from", "127.0.0.1"] if proxy else []) + list(args)
        for _ in range(5):
            self.port = free_port(ip)
            if self.start():
                return
        raise RuntimeError("%s did not start: %s" % (name, self.logtext()))

    def start(self):
        """Listen on self.port: True once it does."""
        if self.mode == "supervisor":
            cmd = ["systemd-socket-activate", "-l",
                   "%s:%d" % (self.ip, self.port), "-E",
                   "SMTPD_ALLOW_ROOT=1"] + self.base
            ready = b"Listening on"
        else:
            cmd = ["tcpserver", "-v", "-R", "-H", "-l", self.host,
                   self.ip, str(self.port), "env",
                   "SMTPD_ALLOW_ROOT=1"] + self.base
            ready = b"tcpserver: status: 0/"
        seen = read_bytes(self.log).count(ready)
        with open(self.log, "ab") as logf:
            self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL,
                                      stderr=logf, env=lib.base_env(),
                                      start_new_session=True)
        if wait_for(lambda: self.p.poll() is not None or
                    read_bytes(self.log).count(ready) > seen, 10) and \
                self.p.poll() is None:
            return True
        self.stop()
        return False

    def restart(self):
        """Back on the same address, port and queue (as after a reboot)."""
        for _ in range(20):
            if self.start():
                return True
            time.sleep(0.25)
        return False

    def logtext(self):
        return read_bytes(self.log).decode("utf-8", "replace")

    def kill(self):
        """SIGKILL to the whole group: supervisor (or tcpserver) and
        every session."""
        os.killpg(self.p.pid, signal.SIGKILL)
        self.p.wait()

    def stop(self):
        lib.stop_group(self.p)

    def cleanup(self):
        self.stop()
        self.q.cleanup()


class HAProxy:
    """haproxy -db with a generated configuration; its stats socket
    says each server's state."""

    def __init__(self, workdir, name, servers, extra_default=""):
        self.dir = workdir
        self.sock = os.path.join(workdir, name + ".sock")
        self.cfg = os.path.join(workdir, name + ".cfg")
        self.log = os.path.join(workdir, name + ".log")
        self.p = None
        for _ in range(5):
            self.port = free_port(FRONT_IP)
            with open(self.cfg, "w") as f:
                f.write(config(self.port, self.sock, servers, extra_default))
            with open(self.log, "ab") as logf:
                self.p = subprocess.Popen(["haproxy", "-db", "-f", self.cfg],
                                          stdin=subprocess.DEVNULL,
                                          stdout=logf, stderr=logf,
                                          start_new_session=True)
            if wait_for(lambda: self.p.poll() is not None or
                        os.path.exists(self.sock) and self.stats(), 10) and \
                    self.p.poll() is None:
                return
            self.stop()
        raise RuntimeError("haproxy did not start: %s" %
                           read_bytes(self.log).decode("utf-8", "replace"))

    def stats(self):
        """{server: row dict} from "show stat" (the backend's servers)."""
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect(self.sock)
            s.sendall(b"show stat\n")
            data = lib.recv_all(s).decode()
            s.close()
        except OSError:
            return {}
        lines = [ln for ln in data.splitlines() if ln]
        if not lines or not lines[0].startswith("# "):
            return {}
        head = lines[0][2:].split(",")
        rows = {}
        for ln in lines[1:]:
            row = dict(zip(head, ln.split(",")))
            if row.get("pxname") == "mx" and row.get("svname") not in (
                    "BACKEND", "FRONTEND"):
                rows[row["svname"]] = row
        return rows

    def status(self):
        return {k: v.get("status", "") for k, v in self.stats().items()}

    def logtext(self):
        return read_bytes(self.log).decode("utf-8", "replace")

    def stop(self):
        lib.stop_group(self.p)


def config(port, sock, servers, extra_default=""):
    """The HAProxy configuration under test (README SCALING OUT).
    servers: [(name, ip, port, options)]."""
    lines = [
        "global",
        "    maxconn 1000",
        "    log stdout format raw local0 info",
        "    stats socket %s mode 600 level admin" % sock,
        "defaults",
        "    mode tcp",
        "    log global",
        "    option tcplog",
        "    timeout connect 2s",
        "    timeout client 60s",
        "    timeout server 60s",
        "    timeout check 2s",
        "    retries 3",
        "    option redispatch 1",
        extra_default,
        "frontend smtp",
        "    bind %s:%d" % (FRONT_IP, port),
        "    default_backend mx",
        "backend mx",
        "    balance roundrobin",
        "    option smtpchk EHLO balancer.test.example",
    ]
    for name, ip, p, opts in servers:
        lines.append("    server %s %s:%d %s" % (name, ip, p, opts))
    return "\n".join(ln for ln in lines if ln) + "\n"


def server_opts(version):
    send = "send-proxy-v2" if version == 2 else "send-proxy"
    return send + " check check-send-proxy inter 200ms fall 1 rise 1"


# ---- the client ------------------------------------------------------

def message(token, attempt):
    """A message: unique Message-ID per message, X-Attempt per try; a
    line with a leading dot (stuffed on the wire, stored unstuffed)."""
    lines = ["From: <%s>" % SENDER,
             "To: <rcpt@%s>" % DOMAIN,
             "Subject: haproxy test %s" % token,
             "Message-ID: <%s@%s>" % (token, HELO),
             "X-Attempt: %s" % attempt,
             ""]
    for i in range(24):
        lines.append("%s line %02d %s" % (token, i, "x" * 40))
    lines.append(".a line that begins with a dot %s" % token)
    lines.append("end of %s" % token)
    return ("\r\n".join(lines) + "\r\n").encode()


def stuff(data):
    return re.sub(rb"(?m)^\.", b"..", data)


class Ledger:
    """Every attempt: its bytes and what happened."""

    def __init__(self):
        self.lock = threading.Lock()
        self.attempts = {}      # attempt id -> record
        self.sent = {}          # attempt id -> message bytes

    def add(self, rec, data):
        with self.lock:
            self.attempts[rec["id"]] = rec
            self.sent[rec["id"]] = data


def one_attempt(ip, port, token, n, phase):
    """One connection, one message; the record says how far it got."""
    aid = "%s.%d" % (token, n)
    data = message(token, aid)
    rec = {"id": aid, "token": token, "n": n, "phase": phase,
           "stage": "connect", "code": None, "qid": None, "err": None,
           "t": None, "t0": time.monotonic()}
    s = smtplib.SMTP(local_hostname=HELO, timeout=30,
                     source_address=(CLIENT_IP, 0))
    try:
        code, resp = s.connect(ip, port)
        steps = (("ehlo", lambda: s.ehlo(), 250),
                 ("mail", lambda: s.mail(SENDER), 250),
                 ("rcpt", lambda: s.rcpt("rcpt@" + DOMAIN), 250),
                 ("data", lambda: s.docmd("DATA"), 354))
        if code != 220:
            rec["code"] = code
            return rec, data
        for stage, fn, want in steps:
            rec["stage"] = stage
            code, resp = fn()
            if code != want:
                rec["code"] = code
                return rec, data
        s.send(stuff(data) + b".\r\n")
        rec["stage"] = "dot"    # from here a lost 250 may be a queued one
        code, resp = s.getreply()
        rec["code"] = code
        rec["t"] = time.monotonic()
        m = QID_RE.search(resp)
        if code == 250 and m:
            rec["qid"] = m.group(1).decode()
        try:
            s.quit()
        except (OSError, smtplib.SMTPException):
            pass
    except (OSError, smtplib.SMTPException) as e:
        rec["err"] = "%s: %s" % (type(e).__name__, e)
    finally:
        s.close()
    return rec, data


def run_phase(ledger, ip, port, phase, count, kill_at=None, killer=None):
    """count messages from CONC threads; after kill_at 250s, killer()
    runs (in its own thread).  Returns (seconds, tokens, kill time)."""
    tokens = ["%s-%04d" % (phase, i) for i in range(count)]
    todo = list(reversed(tokens))
    lock = threading.Lock()
    accepted = [0]
    fire = threading.Event()
    killed = {}

    def kill_thread():
        fire.wait()
        if killer is not None:
            killed["t"] = time.monotonic()
            killer()

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                token = todo.pop()
            for n in range(1, MAX_TRIES + 1):
                rec, data = one_attempt(ip, port, token, n, phase)
                ledger.add(rec, data)
                if rec["code"] == 250:
                    with lock:
                        accepted[0] += 1
                        if kill_at is not None and accepted[0] == kill_at:
                            fire.set()
                    break
                if rec["code"] is not None and rec["code"] >= 500:
                    break       # permanent: never retried
                time.sleep(0.05 * n)

    kt = threading.Thread(target=kill_thread)
    kt.start()
    t0 = time.monotonic()
    ts = [threading.Thread(target=worker) for _ in range(CONC)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    secs = time.monotonic() - t0
    fire.set()
    kt.join()
    return secs, tokens, killed.get("t")


# ---- protocol controls -------------------------------------------------

def proxy_header(version, src, dst, sport, dport):
    if version == 1:
        return ("PROXY TCP4 %s %s %d %d\r\n" % (src, dst, sport,
                                                dport)).encode()
    addrs = socket.inet_aton(src) + socket.inet_aton(dst) + \
        struct.pack("!HH", sport, dport)
    return (b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x11]) +
            struct.pack("!H", len(addrs)) + addrs)


def relay_session(ip, port, source, header=b""):
    """EHLO, MAIL, RCPT to another domain, RCPT to ours, RSET, QUIT:
    (outside reply, local reply), each "code text"."""
    s = socket.create_connection((ip, port), 10, source_address=(source, 0))
    c = {"buf": b""}

    def reply():
        while True:
            lines = c["buf"].split(b"\r\n")
            for i, ln in enumerate(lines[:-1]):
                if ln[3:4] != b"-":
                    c["buf"] = b"\r\n".join(lines[i + 1:])
                    return ln.decode()
            d = s.recv(4096)
            if not d:
                raise EOFError("closed")
            c["buf"] += d
    try:
        if header:
            s.sendall(header)
        reply()
        out = []
        for cmd in ("EHLO " + HELO, "MAIL FROM:<%s>" % SENDER,
                    "RCPT TO:<someone@elsewhere.example>",
                    "RCPT TO:<rcpt@%s>" % DOMAIN, "RSET", "QUIT"):
            s.sendall(cmd.encode() + b"\r\n")
            out.append(reply())
        return out[2], out[3]
    except (OSError, EOFError) as e:
        return "error %s" % e, ""
    finally:
        s.close()


# ---- reading the results -------------------------------------------------

def parse_log(text):
    """{pid: [(ip, event, {key: value})]} of smtpd's records."""
    sessions = {}
    for ln in text.splitlines():
        m = LOG_RE.match(ln)
        if not m:
            continue
        kv = dict(KV_RE.findall(m.group(4)))
        sessions.setdefault(int(m.group(1)), []).append(
            (m.group(2), m.group(3), kv))
    return sessions


def scan_queue(b):
    """[(file name, attempt id, bytes)] of b's new/."""
    out = []
    for name in b.q.files("new"):
        blob = b.q.read(name)
        m = ATTEMPT_RE.search(blob)
        out.append((name, m.group(1).decode() if m else None, blob))
    return out


def check_queues(tag, ledger, backends, dead):
    """The bookkeeping checks of one run; returns the lost-250 count."""
    where = {}                  # attempt id -> [(backend, file)]
    bad = []
    unknown = []
    for b in backends:
        for name, aid, blob in scan_queue(b):
            if aid is None or aid not in ledger.sent:
                unknown.append("%s/%s" % (b.name, name))
                continue
            where.setdefault(aid, []).append((b, name))
            _, body = lib.split_spool(blob)
            rcvd, rest = lib.received_split(body)
            env = dict(lib.split_spool(blob)[0])
            if rest != ledger.sent[aid]:
                bad.append("%s/%s: body differs (%d of %d octets)" % (
                    b.name, name, len(rest), len(ledger.sent[aid])))
            if not rcvd.startswith(b"Received: from " + HELO.encode() +
                                   b" ([127.0.0.9])\r\n") or \
                    b"from " + HELO.encode() + b" ([127.0.0.1])" in rcvd:
                bad.append("%s/%s: Received %r" % (b.name, name, rcvd))
            if env.get("Client-Address") != CLIENT_IP or \
                    env.get("Trusted") != "no":
                bad.append("%s/%s: envelope Client-Address %r Trusted %r" % (
                    b.name, name, env.get("Client-Address"),
                    env.get("Trusted")))
    check("%s every file in new/ is an attempt of ours" % tag, not unknown,
          " ".join(unknown[:5]))
    check("%s every file in new/ whole: body byte for byte, Received from "
          "[127.0.0.9], envelope Client-Address 127.0.0.9 Trusted no" % tag,
          not bad, "; ".join(bad[:5]))
    twice = [a for a, w in where.items() if len(w) > 1]
    check("%s no attempt in new/ twice" % tag, not twice, str(twice[:5]))

    ok250 = [r for r in ledger.attempts.values() if r["code"] == 250]
    wrong = []
    for r in ok250:
        w = where.get(r["id"], [])
        if len(w) != 1 or w[0][1] != r["qid"] or \
                not r["qid"].endswith("." + w[0][0].name):
            wrong.append("%s qid %s in %s" % (r["id"], r["qid"], [
                "%s/%s" % (b.name, n) for b, n in w]))
    check("%s each of the %d 250s: in exactly one backend's new/, the file "
          "its queue id names, on the host the id names" % (tag, len(ok250)),
          not wrong, "; ".join(wrong[:5]))

    lost, stray = [], []
    for aid, w in where.items():
        r = ledger.attempts[aid]
        if r["code"] == 250:
            continue
        if w[0][0] is dead and r["stage"] == "dot" and r["err"]:
            lost.append(aid)
        else:
            stray.append("%s in %s (stage %s code %s err %s)" % (
                aid, w[0][0].name, r["stage"], r["code"], r["err"]))
    check("%s a file without a 250 only on the killed host, for an attempt "
          "cut after its final dot" % tag, not stray, "; ".join(stray[:5]))
    cut = [r for r in ledger.attempts.values()
           if r["stage"] == "dot" and r["err"]]
    info("%s lost-250: %d attempt(s) cut after the final dot, %d of them "
         "queued on the killed host (then sent again elsewhere: %d "
         "message(s) in two queues, one copy never acknowledged)" % (
             tag, len(cut), len(lost), len(lost)))

    tokens = {}
    for r in ledger.attempts.values():
        tokens.setdefault(r["token"], []).append(r)
    never = [t for t, rs in tokens.items()
             if not any(r["code"] == 250 for r in rs)]
    again = [t for t, rs in tokens.items()
             if sum(r["code"] == 250 for r in rs) > 1]
    check("%s every one of the %d messages accepted in the end, none "
          "accepted twice" % (tag, len(tokens)), not never and not again,
          "never %s twice %s" % (never[:5], again[:5]))
    for b in backends:
        if b is not dead:
            left = b.q.files("tmp")
            check("%s %s tmp/ empty" % (tag, b.name), not left, str(left))
    info("%s killed host %s: %d file(s) left in tmp/ (sessions cut by "
         "SIGKILL, never in new/)" % (tag, dead.name,
                                      len(dead.q.files("tmp"))))
    return len(lost)


def check_logs(tag, version, backends, dead):
    """Every backend's log against its queue."""
    noise, badconn, badcheck, mismatch, odd = [], [], [], [], []
    over = {}
    relays = {}
    for b in backends:
        text = b.logtext()
        for ln in text.splitlines():
            m = END_RE.match(ln)
            if LOG_RE.match(ln) and "event=session-killed" not in ln or \
                    m and m.group(1) in ("0", "256") or \
                    ln.startswith(LAUNCHER_LINES) or \
                    ln.startswith("tcpserver: ") and not m:
                continue
            odd.append("%s: %s" % (b.name, ln[:200]))
        if text.count("event=overload"):
            over[b.name] = text.count("event=overload")
        sessions = parse_log(text)
        checks = clients = 0
        qids = set()
        for pid, recs in sessions.items():
            conn = [kv for ip, ev, kv in recs if ev == "connect"]
            ip = recs[0][0]
            if ip == "-":
                continue        # the supervisor's own records
            for _, ev, kv in recs:
                if ev == "proxy-failed":
                    noise.append("%s pid %d: %s" % (b.name, pid, kv))
                if ev == "queued":
                    qids.add(kv.get("queue_id"))
                if ev == "reject" and kv.get("status") == "5.7.1":
                    relays.setdefault(b.name, []).append(ip)
            if not conn:
                continue
            kv = conn[0]
            if kv.get("via") != "127.0.0.1" or \
                    kv.get("proxy") != str(version):
                badconn.append("%s pid %d ip=%s %s" % (b.name, pid, ip, kv))
            elif ip == CLIENT_IP:
                clients += 1
                if kv.get("trusted") != "no":
                    badconn.append("%s pid %d trusted" % (b.name, pid))
            elif ip == "127.0.0.1":         # HAProxy's health checks
                checks += 1
                q = [k for _, ev, k in recs if ev == "disconnect"]
                if any(k.get("queued") != "0" for k in q) or \
                        any(ev == "queued" for _, ev, _ in recs):
                    badcheck.append("%s pid %d" % (b.name, pid))
            elif ip != TRUSTED_SRC:
                badconn.append("%s pid %d ip=%s" % (b.name, pid, ip))
        files = set(b.q.files("new"))
        if b is dead:
            if not qids <= files:
                mismatch.append("%s: logged, not in new/ %s" % (
                    b.name, sorted(qids - files)[:3]))
        elif qids != files:
            mismatch.append("%s: logged only %s, in new/ only %s" % (
                b.name, sorted(qids - files)[:3], sorted(files - qids)[:3]))
        info("%s %s: %d client sessions (ip=127.0.0.9), %d health-check "
             "sessions (ip=127.0.0.1)" % (tag, b.name, clients, checks))
        if b is not dead:
            check("%s %s logged health checks (smtpchk reached the session)"
                  % (tag, b.name), checks > 0, "none")
    check("%s no overload record (--max-connections %d, the client never "
          "has more than %d open)" % (tag, MAX_CONN, CONC), not over,
          str(over))
    check("%s no session died by a signal or said anything but log "
          "records (sanitizers, crashes)" % tag, not odd,
          "; ".join(odd[:5]))
    check("%s no proxy-failed record: the health checks send a PROXY "
          "header too (check-send-proxy)" % tag, not noise,
          "; ".join(noise[:3]))
    check("%s every connect record via=127.0.0.1 proxy=%d, the client "
          "ip=127.0.0.9 trusted=no" % (tag, version), not badconn,
          "; ".join(badconn[:3]))
    check("%s health-check sessions (ip=127.0.0.1) queued nothing" % tag,
          not badcheck, "; ".join(badcheck[:3]))
    check("%s queue ids logged = files in new/ (killed host: logged ones "
          "are there)" % tag, not mismatch, "; ".join(mismatch))
    return relays


def haproxy_figures(tag, hap):
    """Per server: connections, retries, redispatches (from HAProxy's own
    counters), and its state."""
    for name, row in sorted(hap.stats().items()):
        info("%s haproxy %s: status=%s sessions=%s wretr=%s wredis=%s "
             "chkfail=%s chkdown=%s" % (tag, name, row.get("status"),
                                        row.get("stot"), row.get("wretr"),
                                        row.get("wredis"),
                                        row.get("chkfail"),
                                        row.get("chkdown")))


# ---- one run: send-proxy-v2 or send-proxy --------------------------------

def run(version, top, figures):
    tag = "v%d" % version
    workdir = os.path.join(top, tag)
    os.mkdir(workdir)
    send = "send-proxy-v2" if version == 2 else "send-proxy"
    print("== %s: HAProxy %s" % (tag, send))
    ledger = Ledger()
    backends = []
    hap = None
    try:
        sup = ["--max-connections", str(MAX_CONN)]
        b2 = Backend("b2", "127.0.0.2", "supervisor", workdir, sup)
        backends.append(b2)
        b3 = Backend("b3", "127.0.0.3", "supervisor", workdir,
                     sup + ["--trust", TRUST_NET])
        backends.append(b3)
        b4 = Backend("b4", "127.0.0.4", "tcpserver", workdir,
                     ["--trust", TRUST_NET])
        backends.append(b4)
        opts = server_opts(version)
        hap = HAProxy(workdir, "haproxy-" + tag,
                      [(b.name, b.ip, b.port, opts) for b in backends])
        up = wait_for(lambda: hap.status() == {"b2": "UP", "b3": "UP",
                                               "b4": "UP"}, 15)
        check("%s HAProxy: b2, b3, b4 UP by smtpchk through the PROXY "
              "header" % tag, up, str(hap.status()))
        if not up:
            return

        # relaying: from 127.0.0.9 through HAProxy, two rounds
        outs = [relay_session(FRONT_IP, hap.port, CLIENT_IP)
                for _ in range(6)]
        check("%s relaying from 127.0.0.9 through HAProxy: 550 5.7.1, the "
              "local recipient 250 (6 sessions)" % tag,
              all(o.startswith("550 5.7.1") and l.startswith("250")
                  for o, l in outs), str(outs))
        # the trust decision takes the address from the header
        hdr = proxy_header(version, TRUSTED_SRC, "127.0.0.1", 40000, 25)
        o3 = relay_session(b3.ip, b3.port, "127.0.0.1", hdr)
        o2 = relay_session(b2.ip, b2.port, "127.0.0.1", hdr)
        check("%s control: PROXY header from 192.0.2.7 may relay on b3 "
              "(--trust %s), not on b2 (no --trust)" % (tag, TRUST_NET),
              o3[0].startswith("250") and o2[0].startswith("550 5.7.1"),
              "b3 %s b2 %s" % (o3, o2))

        if figures is not None:
            rates(ledger, hap, workdir, figures)

        # the failover: b3 killed after a third of the 250s
        phase = tag + "-failover"
        t_start = time.monotonic()
        count = 2 * MESSAGES
        kill_at = count // 3
        dead = {}

        def kill_b3():
            b3.kill()
            dead["t"] = time.monotonic()
        secs, toks, t_kill = run_phase(ledger, FRONT_IP, hap.port, phase,
                                       count, kill_at, kill_b3)
        info("%s failover: %d messages in %.1f s, b3 killed after %d "
             "250s, %.1f s in" % (tag, len(toks), secs, kill_at,
                                  t_kill - t_start if t_kill else -1))
        check("%s b3 killed (SIGKILL to its group): no process left" % tag,
              t_kill is not None and not group_pids(b3.p.pid),
              str(group_pids(b3.p.pid)))
        want = {"b2": "UP", "b3": "DOWN", "b4": "UP"}
        wait_for(lambda: hap.status() == want, 5)
        st = hap.status()
        check("%s HAProxy marked b3 DOWN, b2 and b4 UP" % tag, st == want,
              str(st))
        haproxy_figures(tag, hap)

        recs = [r for r in ledger.attempts.values() if r["phase"] == phase]
        # before / after: by when the attempt began, against the moment
        # b3's group was gone (no connection begun later can reach it)
        acc = {"b2": [0, 0], "b3": [0, 0], "b4": [0, 0]}
        t_dead = dead.get("t", float("inf"))
        for r in recs:
            if r["code"] == 250:
                host = r["qid"].rsplit(".", 1)[1]
                acc[host][1 if r["t0"] > t_dead else 0] += 1
        failed = [r for r in recs if r["code"] != 250]
        stages = {}
        for r in failed:
            k = "%s:%s" % (r["stage"], r["code"] if r["code"] else "error")
            stages[k] = stages.get(k, 0) + 1
        info("%s failover 250s per host, attempts begun before / after "
             "the kill: "
             "%s; failed attempts seen by the client: %d %s" % (
                 tag, " ".join("%s=%d/%d" % (h, a, b)
                               for h, (a, b) in sorted(acc.items())),
                 len(failed), stages))
        check("%s b3 took messages before the kill, none begun after it"
              % tag,
              acc["b3"][0] > 0 and acc["b3"][1] == 0, str(acc))
        check("%s b2 and b4 took the rest after the kill (HAProxy routes "
              "around b3)" % tag, acc["b2"][1] > 0 and acc["b4"][1] > 0,
              str(acc))
        # only the sessions b3 had at the kill (at most one a thread) may
        # fail for the client: the connections HAProxy sent to b3 until
        # its check saw it dead were refused and redispatched
        check("%s the client saw at most %d failures (b3's sessions at "
              "the kill; HAProxy redispatched the rest)" % (tag, CONC),
              len(failed) <= CONC, "%d: %s" % (len(failed), stages))
        # b3 comes back: same address, port and queue
        before = set(b3.q.files("new"))
        back = b3.restart() and wait_for(
            lambda: hap.status().get("b3") == "UP", 10)
        run_phase(ledger, FRONT_IP, hap.port, tag + "-back", 60)
        took = sum(1 for r in ledger.attempts.values()
                   if r["phase"] == tag + "-back" and r["code"] == 250 and
                   r["qid"].endswith(".b3"))
        check("%s b3 back on its queue: UP again, takes mail again (%d of "
              "60), the %d files of before still in its new/" % (
                  tag, took, len(before)),
              back and took > 0 and before <= set(b3.q.files("new")),
              "back %s took %d" % (back, took))
        hap.stop()
        hap_log = hap.logtext()
        # the sessions end; then the bookkeeping
        for b in backends:
            b.stop()
        check_queues(tag, ledger, backends, b3)
        relays = check_logs(tag, version, backends, b3)
        check("%s every backend refused the relaying attempts of "
              "127.0.0.9 (5.7.1 logged with ip=127.0.0.9)" % tag,
              all(CLIENT_IP in relays.get(b.name, []) for b in backends),
              str(relays))
        downs = re.findall(r"Server mx/(\w+) is DOWN", hap_log)
        info("%s haproxy log: %s" % (tag, sorted(set(re.findall(
            r"Server mx/\w+ is DOWN, reason: [^,]*", hap_log)))))
        check("%s HAProxy's log: b3 went DOWN" % tag, "b3" in downs,
              str(downs))
    finally:
        if hap is not None:
            hap.stop()
        for b in backends:
            b.cleanup()


def rates(ledger, hap, workdir, figures):
    """Messages/s through HAProxy (to b2, b3, b4) and straight to one
    more supervisor backend d6 (no PROXY header: 127.0.0.9 is not in
    --proxy-from): the same client, the same concurrency, alternately,
    twice each; the better of each pair is the figure (the machine may
    be shared)."""
    direct = Ledger()
    d6 = Backend("d6", "127.0.0.6", "supervisor", workdir,
                 ["--max-per-ip", "0", "--max-connections", str(MAX_CONN)])
    try:
        for i in range(2):
            secs, toks, _ = run_phase(ledger, FRONT_IP, hap.port,
                                      "rate-haproxy-%d" % i, MESSAGES)
            figures.setdefault("haproxy", []).append(len(toks) / secs)
            secs, toks, _ = run_phase(direct, d6.ip, d6.port,
                                      "rate-direct-%d" % i, MESSAGES)
            figures.setdefault("direct", []).append(len(toks) / secs)
        ok = sum(r["code"] == 250 for r in direct.attempts.values())
        d6.stop()
        over = d6.logtext().count("event=overload")
        check("direct to d6: no overload record (--max-connections %d, "
              "the client never has more than %d open)" % (MAX_CONN, CONC),
              over == 0, "%d overload records, %d tries refused" % (
                  over, sum(r["code"] == 421
                            for r in direct.attempts.values())))
        files = d6.q.files("new")
        check("direct to d6: %d messages, each one 250 and one file in "
              "new/" % (2 * MESSAGES), ok == 2 * MESSAGES and
              len(files) == ok, "250s %d files %d" % (ok, len(files)))
    finally:
        d6.cleanup()


def check_without_header(workdir):
    """Why check-send-proxy: with "check port" HAProxy sends no PROXY
    header on its checks unless told to; smtpd then logs proxy-failed,
    never greets, and the server stays DOWN."""
    b = Backend("b5", "127.0.0.5", "supervisor", workdir)
    hap = None
    try:
        hap = HAProxy(workdir, "haproxy-nocheckproxy",
                      [("b5", b.ip, b.port,
                        "send-proxy-v2 check port %d inter 200ms fall 1 "
                        "rise 1" % b.port)])
        failed = wait_for(lambda: "event=proxy-failed" in b.logtext(), 10)
        st = hap.status().get("b5", "")
        check("control: a check without a PROXY header (check port, no "
              "check-send-proxy): smtpd logs proxy-failed, HAProxy keeps "
              "the server DOWN", failed and st.startswith("DOWN"),
              "status %r log %r" % (st, b.logtext()[-300:]))
    finally:
        if hap is not None:
            hap.stop()
        b.cleanup()


def have(cmd):
    return subprocess.run(["sh", "-c", "command -v " + cmd],
                          capture_output=True).returncode == 0


def main():
    missing = [c for c in ("haproxy", "tcpserver", "systemd-socket-activate")
               if not have(c)]
    if missing:
        print("SKIP haproxy: not installed: %s" % " ".join(missing))
        return
    t0 = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="smtpd-haproxy-")
    figures = {}
    try:
        check_without_header(workdir)
        run(2, workdir, figures)
        run(1, workdir, None)
    finally:
        if os.environ.get("HAPROXY_KEEP"):
            print("kept: %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if "haproxy" in figures and "direct" in figures:
        h, d = max(figures["haproxy"]), max(figures["direct"])
        info("haproxy msgs_per_s=%.0f direct msgs_per_s=%.0f ratio=%.2f "
             "(best of %s and %s; %d messages each, concurrency %d, one "
             "message per connection, %d cores)" % (
                 h, d, h / d, "/".join("%.0f" % x for x in figures["haproxy"]),
                 "/".join("%.0f" % x for x in figures["direct"]), MESSAGES,
                 CONC, os.cpu_count() or 0))
    info("t_haproxy: %.0f s" % (time.monotonic() - t0))


if __name__ == "__main__":
    main()
    lib.finish()
