"""t_auth_examples.py - the AUTH examples (issue 17): the fail2ban filter
and jails of examples/fail2ban, and examples/sender-login.

fail2ban.  Real smtpd sessions fail AUTH through examples/checkpassword-
crypt: wrong passwords by PLAIN and by LOGIN, from IPv4, IPv6 and
IPv4-mapped clients, a user name smtpd refuses (user=?), one that looks
like an address (ip=203.0.113.9), one with quotes, a backslash and UTF-8
(escaped in the log), one so long that the record is cut before its
reason; and, not to be counted, a checkpassword program that exits 111
(454, the checker failed), a session on a pipe (ip=local) and a
successful AUTH.  smtpd logs them to stderr, to syslog (a datagram socket
bound at /dev/log, as a syslog daemon has it) and to the journal (one
bound at /run/systemd/journal/socket); the records are written out as a
syslog daemon writes them (BSD and RFC 3339 time stamps), as multilog
does (TAI64N), and as fail2ban's systemd backend turns journal entries
into lines (smtpd's own records, and the stderr stream of a unit with
SyslogIdentifier=smtpd-submission).  fail2ban-regex with
filter.d/smtpd.conf must find in each exactly the failures smtpd counts,
each with its client's address and user; the filter's journalmatch must
take smtpd's journal records.  The jails: fail2ban-client -t accepts
them, and a fail2ban-server with the log-file jail (polling a file the
test appends syslog lines to, a ban action that only records) bans the
address that failed 5 times and neither the one that failed 4 times nor
the one whose checker failed 5 times.

sender-login.  As a program (SMTPD_AUTH_USER, $1, SENDER_LOGINS): listed
addresses, @domain, case and quoting, several lines for a user, comments,
exact user names, <>, unauthenticated sessions, client bytes that awk -v
would have mangled, a missing list (111); and through smtpd with
--check-sender after a real AUTH: 250, 550 5.7.1 with the program's
text, 451 4.7.1 when the list is gone.
"""
import base64
import fcntl
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import check  # noqa: E402

EXAMPLES = os.path.join(lib.ROOT, "examples")
FAIL2BAN = os.path.join(EXAMPLES, "fail2ban")
SENDER_LOGIN = os.path.join(EXAMPLES, "sender-login")
CHECKPW = os.path.join(EXAMPLES, "checkpassword-crypt")
F2B_ETC = "/etc/fail2ban"
USER, PASS = "alice", "correct horse battery staple"
HOSTNAME = "mx"
# the sockets t_launch.py binds too: one run at a time
LOCK = os.path.join(tempfile.gettempdir(), "smtpd-t_launch.lock")
SYSLOG_PATH = "/dev/log"
JOURNAL_SOCKET = "/run/systemd/journal/socket"


def b64(s):
    return base64.b64encode(s if isinstance(s, bytes) else s.encode()
                            ).decode()


def plain(user, password):
    u = user if isinstance(user, bytes) else user.encode()
    return "AUTH PLAIN %s\r\n" % b64(b"\0" + u + b"\0" + password.encode())


def login(user, password):
    return "AUTH LOGIN\r\n%s\r\n%s\r\n" % (b64(user), b64(password))


# --- the backend ------------------------------------------------------------

def backends(workdir):
    """examples/checkpassword-crypt behind a wrapper naming a password
    file with USER, and a checkpassword program that always exits 111:
    {"good": path, "broken": path}."""
    d = os.path.join(workdir, "auth")
    os.makedirs(d, exist_ok=True)
    p = subprocess.run(["openssl", "passwd", "-6", "-stdin"],
                       input=PASS.encode() + b"\n", capture_output=True)
    if p.returncode != 0:
        raise RuntimeError("openssl passwd: %r" % p.stderr)
    passwd = os.path.join(d, "passwd")
    with open(passwd, "w") as f:
        f.write("%s:%s\n" % (USER, p.stdout.decode().strip()))
    out = {}
    for name, body in (
            ("good", "CHECKPW_FILE=%s exec %s \"$@\"" % (passwd, CHECKPW)),
            ("broken", "exit 111")):
        out[name] = os.path.join(d, name)
        with open(out[name], "w") as f:
            f.write("#!/bin/sh\n%s\n" % body)
        os.chmod(out[name], 0o755)
    return out


# --- sessions that fail AUTH ------------------------------------------------

# (client address or None for a pipe, backend, AUTH exchanges, the
# failures smtpd counts: (ip, user as logged)); user None: the record
# is cut before its reason, only the address counts
LONG = "a" * 1024
ODD = "al\"ice\\\u00e9"
SESSIONS = (
    ("192.0.2.7", "good", plain(USER, "wrong") + plain(USER, PASS),
     [("192.0.2.7", USER)]),
    ("2001:db8::7", "good", login(USER, "wrong"), [("2001:db8::7", USER)]),
    ("::ffff:198.51.100.4", "good", plain("al ice", "x"),
     [("198.51.100.4", "?")]),
    ("192.0.2.8", "good", plain("ip=203.0.113.9", "x"),
     [("192.0.2.8", "ip=203.0.113.9")]),
    ("192.0.2.10", "good", plain(ODD.encode(), "x"),
     [("192.0.2.10", "al\\x22ice\\x5c\\xc3\\xa9")]),
    ("192.0.2.9", "good", plain(LONG, "x"), [("192.0.2.9", None)]),
    ("192.0.2.99", "broken", plain(USER, PASS), []),
    (None, "good", plain(USER, "wrong"), []),
    ("192.0.2.11", "good", plain(USER, PASS), []),
)


def run_session(ip, backend, exchanges, log, env=None):
    """smtpd on a pipe with --auth-plaintext: EHLO, the exchanges, QUIT.
    Returns (rc, replies, stderr)."""
    data = ("EHLO client.example\r\n" + exchanges + "QUIT\r\n").encode()
    e = dict(env or {})
    if ip is not None:
        e["TCPREMOTEIP"] = ip
    q = lib.Queue()
    try:
        rc, out, err = lib.run_smtpd(data, q, [
            "--auth-checkpassword", backend, "--auth-plaintext",
            "--log", log], env=e, timeout=60)
    finally:
        q.cleanup()
    return rc, out, err


def run_all(jobs):
    """Run (args, kwargs) of run_session side by side; results in order."""
    res = [None] * len(jobs)

    def one(i, a, kw):
        try:
            res[i] = run_session(*a, **kw)
        except Exception as e:
            res[i] = (None, b"", repr(e).encode())
    ts = [threading.Thread(target=one, args=(i, a, kw))
          for i, (a, kw) in enumerate(jobs)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return res


def locked():
    f = open(LOCK, "w")
    fcntl.flock(f, fcntl.LOCK_EX)
    return f


class Datagrams:
    """A datagram socket bound at path (removed after), or None when the
    path is taken (a real syslog daemon or journald) or we are not root."""

    def __init__(self, path):
        self.path = path
        self.made_dir = None
        d = os.path.dirname(path)
        if not os.path.isdir(d):
            os.makedirs(d)
            self.made_dir = d
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self.sock.bind(path)
        os.chmod(path, 0o666)

    @classmethod
    def open(cls, path):
        if os.geteuid() != 0 or os.path.exists(path):
            return None
        return cls(path)

    def read(self):
        """(payload, passed fd contents) of every datagram waiting."""
        out = []
        self.sock.setblocking(False)
        while True:
            try:
                data, anc, _, _ = self.sock.recvmsg(1 << 20,
                                                    socket.CMSG_SPACE(64))
            except BlockingIOError:
                return out
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fd = struct.unpack("i", payload[:4])[0]
                    data = os.pread(fd, 1 << 24, 0)
                    os.close(fd)
            out.append(data)

    def close(self):
        self.sock.close()
        os.unlink(self.path)
        if self.made_dir:
            os.rmdir(self.made_dir)


def parse_native(data):
    """journald's native protocol: KEY=value lines, or KEY LF le64 data."""
    fields, i = {}, 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:
            k = line
            n = struct.unpack("<Q", data[nl + 1:nl + 9])[0]
            v = data[nl + 9:nl + 9 + n]
            i = nl + 9 + n + 1
        fields[k.decode()] = v.decode("utf-8", "replace")
    return fields


def journal_line(entry):
    """A journal entry as fail2ban's systemd backend makes it a line
    (FilterSystemd.formatJournalEntry in fail2ban 0.10 to 1.1): _HOSTNAME,
    SYSLOG_IDENTIFIER (else _COMM) with [SYSLOG_PID or _PID] and a colon,
    MESSAGE; the time comes from the entry, not the line."""
    parts = []
    if entry.get("_HOSTNAME"):
        parts.append(entry["_HOSTNAME"])
    ident = entry.get("SYSLOG_IDENTIFIER") or entry.get("_COMM")
    if ident:
        pid = entry.get("SYSLOG_PID") or entry.get("_PID")
        parts.append(ident + ("[%s]" % pid if pid else "") + ":")
    parts.append(entry.get("MESSAGE", ""))
    return " ".join(parts)


def journalmatch_takes(match, entry):
    """Does fail2ban's journalmatch (journalctl's syntax: terms of one
    field OR'ed, of different fields AND'ed, '+' between alternatives)
    take the entry?"""
    for alt in " ".join(match.split()).split(" + "):
        terms = {}
        for t in alt.split():
            k, _, v = t.partition("=")
            terms.setdefault(k, set()).add(v)
        if all(entry.get(k) in vs for k, vs in terms.items()):
            return True
    return False


def tai64n(t):
    return "@%016x%08x" % (int(t) + (1 << 62) + 10, int((t % 1) * 1e9))


def syslog_lines(datagrams):
    """The lines a syslog daemon writes for glibc's datagrams
    ("<22>Dec  7 12:00:00 smtpd[123]: ..."): the traditional format
    (time as sent, then our host name) and the RFC 3339 one of Debian's
    rsyslog (its own time of receipt)."""
    bsd, rfc = [], []
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime())
    for d in datagrams:
        m = re.match(rb"^<\d+>(\w{3} [ \d]\d \d\d:\d\d:\d\d) (.*)$", d,
                     re.S)
        if m is None:
            continue
        msg = m.group(2).decode("utf-8", "replace").rstrip("\n")
        bsd.append("%s %s %s" % (m.group(1).decode(), HOSTNAME, msg))
        rfc.append("%s %s %s" % (stamp, HOSTNAME, msg))
    return bsd, rfc


# --- fail2ban's configuration ------------------------------------------------

def f2b_conf(workdir, jail_local="", extra_actions=None):
    """A fail2ban configuration directory: the system's fail2ban.conf,
    jail.conf, paths-*.conf, action.d and filter.d/common.conf, our
    filter and jails, none of the system's jails, and jail_local."""
    d = tempfile.mkdtemp(prefix="f2b-", dir=workdir)
    for f in os.listdir(F2B_ETC):
        if f in ("fail2ban.conf", "jail.conf") or (
                f.startswith("paths-") and f.endswith(".conf")):
            shutil.copy(os.path.join(F2B_ETC, f), d)
    shutil.copytree(os.path.join(F2B_ETC, "action.d"),
                    os.path.join(d, "action.d"))
    for sub in ("filter.d", "jail.d", "fail2ban.d"):
        os.makedirs(os.path.join(d, sub))
    shutil.copy(os.path.join(F2B_ETC, "filter.d", "common.conf"),
                os.path.join(d, "filter.d"))
    shutil.copy(os.path.join(FAIL2BAN, "filter.d", "smtpd.conf"),
                os.path.join(d, "filter.d"))
    shutil.copy(os.path.join(FAIL2BAN, "jail.d", "smtpd.conf"),
                os.path.join(d, "jail.d"))
    for name, body in (extra_actions or {}).items():
        with open(os.path.join(d, "action.d", name + ".conf"), "w") as f:
            f.write(body)
    with open(os.path.join(d, "fail2ban.local"), "w") as f:
        f.write("[Definition]\nlogtarget = %s/f2b.log\nsocket = %s/f2b.sock"
                "\npidfile = %s/f2b.pid\ndbfile = :memory:\n" % (d, d, d))
    with open(os.path.join(d, "jail.local"), "w") as f:
        f.write(jail_local)
    return d


def filter_option(name):
    """An option of our filter, continuation lines joined."""
    with open(os.path.join(FAIL2BAN, "filter.d", "smtpd.conf")) as f:
        src = f.read()
    m = re.search(r"(?m)^%s\s*=\s*(.*(?:\n[ \t]+\S.*)*)" % re.escape(name),
                  src)
    return " ".join(m.group(1).split()) if m else ""


def regex_hits(conf, path, flt="smtpd"):
    """fail2ban-regex on a log file: [(ip, user)] of each failure found,
    and its whole output."""
    p = subprocess.run(["fail2ban-regex", "-c", conf, "-o", "<ip> <F-USER>",
                        path, flt], capture_output=True, timeout=120,
                       env=lib.base_env({"LANG": "C.UTF-8"}))
    out = p.stdout.decode("utf-8", "replace")
    hits = []
    for ln in out.splitlines():
        ip, _, user = ln.partition(" ")
        hits.append((ip, user))
    return p.returncode, hits, out + p.stderr.decode("utf-8", "replace")


def expected_hits():
    return [h for s in SESSIONS for h in s[3]]


def same_hits(got, want):
    """got matches want, in order; a user of None in want: any user
    (the cut record), the address must match."""
    if len(got) != len(want):
        return False
    return all(g[0] == w[0] and (w[1] is None or g[1] == w[1])
               for g, w in zip(got, want))


def check_hits(name, conf, lines, flt="smtpd", ordered=True):
    path = os.path.join(conf, name + ".log")
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(ln + "\n" for ln in lines))
    rc, hits, out = regex_hits(conf, path, flt)
    want = expected_hits()
    if not ordered:
        # the cut record's user: compared by its address only
        hits = sorted(((ip, None if len(u) > 100 else u) for ip, u in hits),
                      key=str)
        want = sorted(want, key=str)
    return check("f2b-regex-" + name, rc == 0 and same_hits(hits, want),
                 "rc %d want %r got %r\nlines %r\n%s" % (
                     rc, want, hits, [x[:160] for x in lines], out[-2000:]))


def test_filter(workdir, bk):
    """The filter on the records of SESSIONS, as each log presents them."""
    conf = f2b_conf(workdir)
    jobs = [((ip, bk[b], ex, "stderr"), {}) for ip, b, ex, _ in SESSIONS]
    res = run_all(jobs)
    stderr_lines = []
    for (ip, b, ex, fails), (rc, out, err) in zip(SESSIONS, res):
        replies = out.decode("utf-8", "replace")
        want_code = "454 " if b == "broken" else (
            "235 " if not fails and ip != None else "535 ")
        check("f2b-session-%s" % (ip or "local"), rc == 0 and
              want_code in replies, "rc %r replies %r stderr %r" % (
                  rc, replies[-600:], err[-600:]))
        stderr_lines += [ln for ln in err.decode("utf-8", "replace")
                         .splitlines() if "event=auth" in ln]
    check("f2b-no-password-logged", not any(
        PASS in ln or "wrong" in ln.split("reason=")[0]
        for ln in stderr_lines), "%r" % stderr_lines)
    now = time.time()
    # tcpserver | multilog t: a TAI64N stamp before each stderr line
    check_hits("multilog", conf, ["%s %s" % (tai64n(now), ln)
                                  for ln in stderr_lines])
    # journald, the stderr stream of a unit (SyslogIdentifier=, _PID)
    stream = []
    for ln in stderr_lines:
        pid = re.match(r"smtpd\[(\d+)\]: ", ln).group(1)
        entry = {"_HOSTNAME": HOSTNAME, "_PID": pid, "MESSAGE": ln,
                 "SYSLOG_IDENTIFIER": "smtpd-submission"}
        stream.append(journal_line(entry))
    check_hits("journal-stream", conf, stream, "smtpd[logtype=journal]")
    match = filter_option("journalmatch")
    check("f2b-journalmatch-stream", journalmatch_takes(match, {
        "SYSLOG_IDENTIFIER": "smtpd-submission"}) and journalmatch_takes(
        match, {"SYSLOG_IDENTIFIER": "smtpd-smtps"}) and
        not journalmatch_takes(match, {"SYSLOG_IDENTIFIER": "sshd"}),
        match)
    lock = locked()
    try:
        test_filter_syslog(conf, bk)
        test_filter_journal(conf, bk, match)
    finally:
        lock.close()


def test_filter_syslog(conf, bk):
    """The records as syslog(3) sends them (--log syslog, xinetd's way)."""
    sl = Datagrams.open(SYSLOG_PATH)
    if sl is None:
        print("SKIP f2b-regex-syslog: %s is taken or we are not root"
              % SYSLOG_PATH)
        return
    try:
        run_all([((ip, bk[b], ex, "syslog"), {})
                 for ip, b, ex, _ in SESSIONS])
        grams = [d for d in sl.read() if b"event=auth" in d]
    finally:
        sl.close()
    bsd, rfc = syslog_lines(grams)
    check("f2b-syslog-records", len(bsd) == len(grams) and len(bsd) >= len(
        expected_hits()), "%r" % grams[:4])
    check_hits("syslog-bsd", conf, bsd, ordered=False)
    check_hits("syslog-rfc3339", conf, rfc, ordered=False)


def test_filter_journal(conf, bk, match):
    """The records smtpd sends to the journal itself (--log journal):
    journalmatch takes them, and the filter finds the failures in the
    lines fail2ban's systemd backend makes of them."""
    if b"libsystemd: loaded when used" not in subprocess.run(
            [lib.SMTPD, "--version"], capture_output=True).stdout:
        print("SKIP f2b-regex-journal: smtpd is built without libsystemd")
        return
    js = Datagrams.open(JOURNAL_SOCKET)
    if js is None:
        print("SKIP f2b-regex-journal: %s is taken or we are not root"
              % JOURNAL_SOCKET)
        return
    try:
        run_all([((ip, bk[b], ex, "journal"), {})
                 for ip, b, ex, _ in SESSIONS])
        recs = [parse_native(d) for d in js.read()]
    finally:
        js.close()
    recs = [r for r in recs if r.get("SMTPD_EVENT", "").startswith("auth")]
    check("f2b-journalmatch-records", recs and all(
        journalmatch_takes(match, r) for r in recs),
        "%s %r" % (match, recs[:3]))
    lines = []
    for r in recs:
        # what journald adds to every entry: the sender's pid and host
        e = dict(r, _HOSTNAME=HOSTNAME, _PID="4242")
        lines.append(journal_line(e))
    check_hits("journal", conf, lines, "smtpd[logtype=journal]",
               ordered=False)


def test_jails(workdir, bk):
    """fail2ban-client -t accepts both jails (the file one enabled on a
    test file), and a server running the file jail bans after maxretry."""
    logf = os.path.join(workdir, "mail.log")
    open(logf, "w").close()
    record = os.path.join(workdir, "banned")
    conf = f2b_conf(workdir, "[smtpd-logfile]\nenabled = true\nlogpath = %s\n"
                    % logf)
    p = subprocess.run(["fail2ban-client", "-c", conf, "-t"],
                       capture_output=True, timeout=120)
    out = (p.stdout + p.stderr).decode("utf-8", "replace")
    check("f2b-jails-test", p.returncode == 0 and "OK" in out, out[-1500:])
    p = subprocess.run(["fail2ban-client", "-c", conf, "-d"],
                       capture_output=True, timeout=120)
    dump = p.stdout.decode("utf-8", "replace")
    check("f2b-jails-dump", all(x in dump for x in (
        "['add', 'smtpd', 'systemd']", "'addjournalmatch', "
        "'SYSLOG_IDENTIFIER=smtpd'", "['add', 'smtpd-logfile', 'auto']",
        "'addlogpath', '%s'" % logf, "['set', 'smtpd', 'maxretry', 5]",
        "['port', '465,587']")), dump[-3000:])
    # the file jail for real: a server, polling; bans are only recorded
    action = ("[Definition]\nactionstart =\nactionstop =\nactioncheck =\n"
              "actionban = printf '%%%%s\\n' <ip> >> %s\nactionunban =\n"
              % record)
    conf = f2b_conf(workdir, "[DEFAULT]\nbanaction = record\n"
                    "banaction_allports = record\n[smtpd]\nenabled = false\n"
                    "[smtpd-logfile]\nenabled = true\nbackend = polling\n"
                    "logpath = %s\n" % logf, {"record": action})
    srv = subprocess.Popen(["fail2ban-client", "-c", conf, "-f", "-x",
                            "start"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        up = False
        for _ in range(100):
            if subprocess.run(["fail2ban-client", "-c", conf, "ping"],
                              capture_output=True).returncode == 0:
                up = True
                break
            time.sleep(0.1)
        if not check("f2b-server-up", up, ""):
            return
        time.sleep(1)
        # 5 failures from .50, 4 from .51, 5 broken checks from .52
        jobs = [(("192.0.2.50", bk["good"], plain(USER, "no"), "stderr"), {})
                for _ in range(5)]
        jobs += [(("192.0.2.51", bk["good"], plain(USER, "no"), "stderr"),
                  {}) for _ in range(4)]
        jobs += [(("192.0.2.52", bk["broken"], plain(USER, PASS), "stderr"),
                  {}) for _ in range(5)]
        lines = []
        for rc, out, err in run_all(jobs):
            lines += [ln for ln in err.decode().splitlines()
                      if "event=auth" in ln]
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00",
                              time.gmtime())
        with open(logf, "a") as f:
            for ln in lines:
                f.write("%s %s %s\n" % (stamp, HOSTNAME, ln))
        banned = []
        for _ in range(100):
            if os.path.exists(record):
                with open(record) as f:
                    banned = f.read().split()
                if banned:
                    break
            time.sleep(0.1)
        time.sleep(2)	# time for a wrong second ban to show
        with open(record) if os.path.exists(record) else open(os.devnull) \
                as f:
            banned = f.read().split()
        st = subprocess.run(["fail2ban-client", "-c", conf, "status",
                             "smtpd-logfile"], capture_output=True)
        status = st.stdout.decode("utf-8", "replace")
        check("f2b-server-ban", banned == ["192.0.2.50"] and re.search(
            r"Total failed:\s+9\b", status) is not None,
            "banned %r status %s lines %r" % (banned, status, lines))
    finally:
        subprocess.run(["fail2ban-client", "-c", conf, "stop"],
                       capture_output=True, timeout=60)
        try:
            srv.wait(15)
        except subprocess.TimeoutExpired:
            lib.stop_group(srv)


# --- sender-login -------------------------------------------------------------

LOGINS = """# who may send as what
alice:  alice@example.com, A.Smith@Example.COM
bob:    bob@example.com   # and nothing else
alice:  alice@example.net
shop:   @shop.example.com
user@example.org: user@example.org
back\\slash: b@example.com
"""


def sender_login(user, sender, logins, extra=None):
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "SENDER_LOGINS": logins,
           "SMTPD_SENDER": sender}
    if user is not None:
        env["SMTPD_AUTH_USER"] = user
    env.update(extra or {})
    p = subprocess.run([SENDER_LOGIN, sender], env=env, capture_output=True,
                       timeout=30)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def test_sender_login_program(workdir):
    logins = os.path.join(workdir, "sender-logins")
    with open(logins, "w") as f:
        f.write(LOGINS)
    cases = (
        ("alice", "alice@example.com", 0),
        ("alice", "ALICE@Example.Com", 0),
        ("alice", "a.smith@example.com", 0),
        ("alice", "\"alice\"@example.com", 0),
        ("alice", "\"al\\ice\"@example.com", 0),
        ("alice", "alice@example.net", 0),
        ("alice", "bob@example.com", 100),
        ("alice", "alice@example.org", 100),
        ("alice", "alice@sub.example.com", 100),
        ("alice", "alice+tag@example.com", 100),
        ("bob", "bob@example.com", 0),
        ("bob", "alice@example.com", 100),
        ("shop", "orders@shop.example.com", 0),
        ("shop", "Orders@SHOP.example.com", 0),
        ("shop", "\"a@b\"@shop.example.com", 0),
        ("shop", "x@sub.shop.example.com", 100),
        ("shop", "x@shop.example.com.evil.example", 100),
        ("user@example.org", "user@example.org", 0),
        ("back\\slash", "b@example.com", 0),
        ("back\\\\slash", "b@example.com", 100),
        ("Alice", "alice@example.com", 100),
        ("carol", "carol@example.com", 100),
        ("alice", "alice@example.com\\", 100),
        ("alice", "alice@example.com\\n", 100),
        ("", "anyone@anywhere.example", 0),
        (None, "anyone@anywhere.example", 0),
        ("alice", "", 0),
    )
    bad = []
    for user, sender, want in cases:
        rc, out = sender_login(user, sender, logins)
        text_ok = (out == "" if want == 0 else
                   out == "sender address not allowed for this login\n")
        if rc != want or not text_ok:
            bad.append((user, sender, rc, out))
    check("sender-login-cases", not bad and len(cases) > 20, "%r" % bad)
    rc, out = sender_login("alice", "alice@example.com",
                           os.path.join(workdir, "no-such-list"))
    check("sender-login-no-list", rc == 111 and out.startswith(
        "sender check unavailable"), "rc %d out %r" % (rc, out))
    if shutil.which("shellcheck") is not None:
        p = subprocess.run(["shellcheck", "-s", "sh", SENDER_LOGIN],
                           capture_output=True)
        check("sender-login-shellcheck", p.returncode == 0,
              p.stdout.decode("utf-8", "replace"))
    else:
        print("SKIP sender-login-shellcheck: shellcheck is not installed")


def test_sender_login_smtpd(workdir, bk):
    """examples/sender-login as smtpd's --check-sender after a real AUTH."""
    logins = os.path.join(workdir, "sender-logins-smtpd")
    with open(logins, "w") as f:
        f.write(LOGINS)
    wrapper = os.path.join(workdir, "sender-login-wrapper")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nSENDER_LOGINS=%s exec %s \"$@\"\n" % (
            logins, SENDER_LOGIN))
    os.chmod(wrapper, 0o755)
    t = ("EHLO client.example\r\n" + plain(USER, PASS) +
         "MAIL FROM:<alice@example.com>\r\nRSET\r\n"
         "MAIL FROM:<Alice@Example.NET>\r\nRSET\r\n"
         "MAIL FROM:<bob@example.com>\r\nRSET\r\n"
         "MAIL FROM:<>\r\nQUIT\r\n").encode()
    q = lib.Queue()
    try:
        args = ["--auth-checkpassword", bk["good"], "--auth-plaintext",
                "--check-sender", wrapper]
        rc, out, err = lib.run_smtpd(t, q, args, env={
            "TCPREMOTEIP": "192.0.2.7"})
        codes = re.findall(rb"(?m)^(\d{3}) (\S+ [^\r]*)\r$", out)
        mails = [c for c in codes if b"sender" in c[1]]
        check("sender-login-smtpd", rc == 0 and mails == [
            (b"250", b"2.1.0 sender OK"), (b"250", b"2.1.0 sender OK"),
            (b"550", b"5.7.1 sender address not allowed for this login"),
            (b"250", b"2.1.0 sender OK")] and b"235 2.7.0" in out,
            "rc %r replies %r log %s" % (rc, out, err[-1500:]))
        # not authenticated: the program lets it through
        t2 = ("EHLO client.example\r\nMAIL FROM:<bob@example.com>\r\n"
              "QUIT\r\n").encode()
        rc, out, err = lib.run_smtpd(t2, q, args, env={
            "TCPREMOTEIP": "192.0.2.7"})
        check("sender-login-smtpd-unauthenticated", rc == 0 and
              b"250 2.1.0 sender OK" in out, "%r %s" % (out, err[-800:]))
        os.unlink(logins)
        rc, out, err = lib.run_smtpd(t, q, args, env={
            "TCPREMOTEIP": "192.0.2.7"})
        check("sender-login-smtpd-no-list", rc == 0 and
              b"451 4.7.1 sender check unavailable, try again later" in out,
              "%r %s" % (out, err[-800:]))
    finally:
        q.cleanup()


def main():
    import traceback
    workdir = tempfile.mkdtemp(prefix="smtpd-authex-")
    os.chmod(workdir, 0o755)
    try:
        bk = backends(workdir)
        tests = [("sender-login-program",
                  lambda: test_sender_login_program(workdir)),
                 ("sender-login-smtpd",
                  lambda: test_sender_login_smtpd(workdir, bk))]
        if shutil.which("fail2ban-regex") is None or not os.path.isdir(
                F2B_ETC):
            check("fail2ban", False, "fail2ban is not installed "
                  "(tests/deps.sh)")
        else:
            tests += [("f2b-filter", lambda: test_filter(workdir, bk)),
                      ("f2b-jails", lambda: test_jails(workdir, bk))]
        for name, fn in tests:
            try:
                fn()
            except Exception:
                check(name, False, "exception: " +
                      traceback.format_exc().replace("\n", "\n    "))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    lib.finish()


if __name__ == "__main__":
    main()
