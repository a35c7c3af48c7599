r"""t_auth.py - issue 17: AUTH PLAIN and LOGIN (RFC 4954).

Backends: a checkpassword program (a test checker that records what it
was given, and examples/checkpassword-crypt with a file of `openssl
passwd -6` hashes), and the real Dovecot of Debian's dovecot-core,
started here with its own configuration in a temporary directory
(passwd-file users, {PLAIN} and {SHA512-CRYPT}; the auth socket
auth-smtpd mode 0666; no protocols, no ssl) and stopped at the end.

Real clients over STARTTLS or implicit TLS, each verifying the server
against a CA made here with openssl: swaks --auth PLAIN and LOGIN,
Python smtplib login() (PLAIN) and auth("LOGIN"), msmtp (auth on), curl
--user over smtps://, against both backends, with --require-auth (so a
message that arrives went through AUTH), and each once with a wrong
password.  Python drives the protocol cases itself on a TCP connection
whose server end is smtpd's stdin/stdout (Session): every reply code of
AUTH, the two LOGIN steps, "=" and "*", authzid, the growing delay of a
wrong password and the close after the third, --max-errors, relaying
when authenticated, MAIL AUTH=, SMTPD_AUTH_USER, Received, and secrets:
the password never in smtpd's log, nor in the checker's argv or
environment (only on its fd 3), and a smtpd with a backend is not
dumpable.

On a build without TLS (--version says "tls: no") the cases that need
TLS print SKIP lines; the --auth-plaintext cases run.  The cases run
side by side in threads.
"""
import base64
import json
import os
import grp
import pwd
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
import netlib  # noqa: E402
import tlslib  # noqa: E402

# tests/valgrind/run.sh sets this: every smtpd runs many times slower
SLOW = os.environ.get("SMTPD_TEST_VALGRIND") == "1"
T = 120 if SLOW else 20             # the longest any one step may take
SLACK = 30 if SLOW else 3.0         # how late a delayed reply may be
FAST = 5.0 if SLOW else 0.99        # an undelayed reply comes within this
                                    # (a delayed one waits 1 s or more)
WORK = tempfile.mkdtemp(prefix="smtpd-auth-")
# Dovecot's auth process (user dovecot) reads its passwd file here, and a
# smtpd run as nobody its checker
os.chmod(WORK, 0o755)
HELO = "client.test.example"
OK_RE = re.compile(rb"^250 2\.0\.0 OK queued as ([A-Za-z0-9.]+)\r?$", re.M)

# The users, the same in every backend.  The passwords are distinctive,
# so that a search of every log for them (and their base64) means
# something.
PW = {"alice": "Al1ce-pw.Zq7xK", "bob": "B0b-crypt.Pw4vN"}
WRONG = "Wr0ng-pw.Hh3sM"
PW_J = "J\u00fcrgen-pw.Rt9"         # for the user j\u00fcrgen (UTF-8)
SENT = set()                        # every password and base64 sent
LOGS = []                           # (what, text): every smtpd log kept

_lock = threading.Lock()           # SENT and LOGS
check, skip = lib.check, lib.skip


def keep(what, text):
    """Remember a log (or a queue file) for the final search for secrets."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    with _lock:
        LOGS.append((what, text))


VERSION = lib.version_line(T)
TLS_BUILT = "tls: no" not in VERSION


SECRETS = [x.encode("utf-8") for x in list(PW.values()) + [WRONG, PW_J]]


def b64(data):
    """base64 of data; remembered (with the password in it) when it
    holds a password."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    s = base64.b64encode(data)
    held = [x for x in SECRETS if x in data]
    if held:
        with _lock:
            SENT.add(s.decode())
            SENT.update(x.decode("utf-8") for x in held)
    return s


def plain(user, pw, authz=""):
    """AUTH PLAIN's response: authzid NUL user NUL password, base64."""
    raw = b"\0".join(x.encode("utf-8") if isinstance(x, str) else x
                     for x in (authz, user, pw))
    return b64(raw)


# --- the PKI (tests/tlslib.py) ------------------------------------------------

PKI_ = None


def tls_args():
    return PKI_.args()


def ctx():
    """A client context that verifies the server (and its name)."""
    return PKI_.ctx()


# --- the checkpassword programs ----------------------------------------------

# A checkpassword program that records, as one JSON line per run, its
# argv, its whole environment (as execve gave it), its command line,
# what it read on fd 3 and its open fds; then answers by the user name:
# temp exits 111, exit2 exits 2, die is killed by SIGKILL, hang sleeps
# with a child that sleeps too (smtpd must kill them both); a user with
# the right password exits 0 (by running argv[1], as checkpassword
# does), anyone else 1.
CHECKER = r'''#!%(py)s -I
import json, os, signal, sys, time
USERS = %(users)r
data = b""
while True:
    try:
        d = os.read(3, 65536)
    except OSError:
        data = None
        break
    if not d:
        break
    data += d
def raw(path):
    with open(path, "rb") as f:
        return f.read().decode("latin-1")
child = None
if (data or b"").startswith(b"hang\0"):     # a child in its process group
    import subprocess
    child = subprocess.Popen(["sleep", "600"]).pid
rec = {"pid": os.getpid(), "child": child, "argv": sys.argv,
       "cmdline": raw("/proc/self/cmdline"),
       "environ": raw("/proc/self/environ"),
       "fds": sorted(os.listdir("/proc/self/fd")),
       "fd3": None if data is None else data.decode("latin-1")}
with open(%(rec)r, "a") as f:
    f.write(json.dumps(rec) + "\n")
user, _, rest = (data or b"").partition(b"\0")
pw = rest.partition(b"\0")[0]
u = user.decode("utf-8", "replace")
if u == "temp":
    sys.exit(111)
if u == "exit2":
    sys.exit(2)
if u == "die":
    os.kill(os.getpid(), signal.SIGKILL)
if u == "hang":
    time.sleep(600)
if u in USERS and USERS[u].encode("utf-8") == pw:
    if len(sys.argv) > 1:
        os.execv(sys.argv[1], sys.argv[1:])
    sys.exit(0)
sys.exit(1)
'''


def checker(tag):
    """A new recording checker (its records in PROG.jsonl)."""
    prog = os.path.join(WORK, "checker-" + tag)
    users = dict(PW)
    users.update({"nopass": "", "j\u00fcrgen": PW_J})
    with open(prog, "w") as f:
        f.write(CHECKER % {"py": sys.executable, "users": users,
                           "rec": prog + ".jsonl"})
    os.chmod(prog, 0o755)
    return prog


def checked(prog):
    """The checker's records, oldest first."""
    try:
        with open(prog + ".jsonl") as f:
            return [json.loads(x) for x in f if x.strip()]
    except OSError:
        return []


CRYPT = os.path.join(lib.ROOT, "examples", "checkpassword-crypt")


def crypt_checker(tag, passwd_file=None):
    """examples/checkpassword-crypt behind a wrapper that names its file
    (CHECKPW_FILE: smtpd gives a checker no environment of ours)."""
    if passwd_file is None:
        passwd_file = os.path.join(WORK, "crypt-passwd")
    prog = os.path.join(WORK, "crypt-" + tag)
    with open(prog, "w") as f:
        f.write("#!/bin/sh\nCHECKPW_FILE=%s exec %s \"$@\"\n" % (
            passwd_file, CRYPT))
    os.chmod(prog, 0o755)
    return prog


def make_crypt_passwd():
    path = os.path.join(WORK, "crypt-passwd")
    lines = ["# made by tests/t_auth.py with openssl passwd -6"]
    for user, pw in sorted(PW.items()):
        p = subprocess.run(["openssl", "passwd", "-6", "-stdin"],
                           input=pw.encode(), capture_output=True,
                           timeout=60)
        h = p.stdout.decode().strip()
        if p.returncode != 0 or not h.startswith("$6$"):
            raise RuntimeError("openssl passwd -6: %r" % (p.stderr,))
        lines.append("%s:%s" % (user, h))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(path, 0o644)


# --- Dovecot -----------------------------------------------------------------

DOVECOT_CONF = """# tests/t_auth.py: an auth server only, all in %(d)s
base_dir = %(d)s/run
state_dir = %(d)s/state
log_path = %(d)s/dovecot.log
protocols =
ssl = no
# smtpd <-> dovecot is a local socket; smtpd says "secured" under TLS
disable_plaintext_auth = no
auth_mechanisms = plain login
# the "client in: AUTH ..." lines (passwords hidden) tell what smtpd sent
auth_debug = yes
auth_failure_delay = 0
%(users)s
passdb {
  driver = passwd-file
  args = %(d)s/users
}
# a user only this passdb knows, whose file Dovecot cannot read: a
# temporary failure (FAIL ... code=temp_fail)
passdb {
  driver = passwd-file
  args = %(d)s/temp-%%n
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=/nonexistent
}
service auth {
  unix_listener auth-smtpd {
    mode = 0666
  }
}
# no per-IP penalty (anvil-auth-penalty): the tests time smtpd's own
# delays, not Dovecot's
service anvil {
  %(chroot)s
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
"""


def dovecot_binary():
    return (shutil.which("dovecot") or
            shutil.which("dovecot", path="/usr/sbin:/sbin:/usr/local/sbin"))


class Dovecot:
    """The real Dovecot (dovecot -F -c CONF) with its files in d."""

    def __init__(self, d):
        self.d = d
        os.makedirs(d)
        os.chmod(d, 0o755)
        self.sock = os.path.join(d, "run", "auth-smtpd")
        self.logf = os.path.join(d, "dovecot.log")
        bob = subprocess.run(["openssl", "passwd", "-6", "-stdin"],
                             input=PW["bob"].encode(), capture_output=True,
                             timeout=60).stdout.decode().strip()
        with open(os.path.join(d, "users"), "w") as f:
            f.write("alice:{PLAIN}%s\nbob:{SHA512-CRYPT}%s\n" % (
                PW["alice"], bob))
        os.chmod(os.path.join(d, "users"), 0o644)
        temp = os.path.join(d, "temp-tempuser")
        with open(temp, "w") as f:
            f.write("tempuser:{PLAIN}x\n")
        os.chmod(temp, 0)
        users = chroot = ""
        if os.geteuid() != 0:       # as ourselves: no users to switch to
            me = pwd.getpwuid(os.geteuid()).pw_name
            group = grp.getgrgid(os.getegid()).gr_name
            users = ("default_internal_user = %s\ndefault_login_user = %s\n"
                     "default_internal_group = %s\n" % (me, me, group))
            chroot = "chroot ="
        self.conf = os.path.join(d, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(DOVECOT_CONF % {"d": d, "users": users,
                                    "chroot": chroot})
        self.out = open(os.path.join(d, "dovecot.out"), "wb")
        self.p = subprocess.Popen([dovecot_binary(), "-F", "-c", self.conf],
                                  stdin=subprocess.DEVNULL, stdout=self.out,
                                  stderr=self.out, start_new_session=True)
        if not self.ready():
            why = self.logtext()[-2000:]
            self.stop()
            raise RuntimeError("dovecot did not start: %s" % why)

    def ready(self):
        """The auth socket answers the handshake (up to DONE)."""
        end = time.monotonic() + T
        while time.monotonic() < end:
            if self.p.poll() is not None:
                return False
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.settimeout(5)
                    s.connect(self.sock)
                    s.sendall(b"VERSION\t1\t2\nCPID\t%d\n" % os.getpid())
                    got = b""
                    while b"DONE\n" not in got:
                        d = s.recv(4096)
                        if not d:
                            break
                        got += d
                    if b"MECH\tPLAIN" in got and b"DONE\n" in got:
                        return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def logtext(self):
        text = ""
        for f in (self.logf, os.path.join(self.d, "dovecot.out")):
            try:
                with open(f, encoding="utf-8", errors="replace") as fh:
                    text += fh.read()
            except OSError:
                pass
        return text

    def requests(self, rip, n=1, wait=True):
        """The AUTH requests Dovecot got from rip: [{field: value}] (a
        bare word maps to True); waits a little for its log to catch up."""
        end = time.monotonic() + (5 if wait else 0)
        while True:
            got = []
            for line in self.logtext().splitlines():
                i = line.find("client in: AUTH\t")
                if i < 0:
                    continue
                words = line[i + len("client in: "):].split("\t")
                d = {}
                for w in words[3:]:
                    k, eq, v = w.partition("=")
                    d[k] = v if eq else True
                d["mech"] = words[2]
                if d.get("rip") == rip:
                    got.append(d)
            if len(got) >= n or time.monotonic() >= end:
                return got
            time.sleep(0.1)

    def stop(self):
        lib.stop_group(self.p)
        self.out.close()


DOVECOT = None


# --- smtpd on a real TCP connection ------------------------------------------

class Session(tlslib.Session):
    """tlslib.Session over 127.0.0.1 (a trusted client unless env says
    TCPREMOTEIP=...), sticky: a connection gone is a "!closed ..." reply."""

    sticky = True

    def __init__(self, args=(), env=None, tls=False, q=None, tag=""):
        self.tag = tag
        super().__init__(WORK, (tls_args() if tls else []) + list(args),
                         env, q, T)

    def context(self):
        return ctx()

    def timed(self, line):
        """(the last reply line, seconds it took)."""
        t0 = time.monotonic()
        r = self.first(line)
        return r, time.monotonic() - t0

    def ehlo(self, name=HELO):
        """The EHLO lines after the first, without "250-" (or the reply)."""
        r = self.cmd(b"EHLO " + name.encode())
        if not r[-1].startswith(b"250"):
            return [x.decode("utf-8", "replace") for x in r]
        return [x[4:].decode() for x in r[1:]]

    def tls_implicit(self):
        self.tls()

    def message(self, body=None, mail=b"<s@example.org>",
                rcpt=b"<r@example.com>", mail_params=b""):
        """MAIL, RCPT, DATA and body: the last reply line, or the first
        refusal."""
        return self.send_message((body or MSG) + b".\r\n", mail, rcpt,
                                 mail_params)

    def eof(self):
        """True if smtpd closes the connection now (nothing more comes)."""
        try:
            self.s.settimeout(T)
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
                self.buf += d
        except (OSError, ssl.SSLError):
            return True

    def finish(self, timeout=T):
        """Close our end; (exit status or "hung", log text)."""
        super().finish(timeout)
        keep("session %s" % self.tag, self.log)
        return self.rc, self.log

    def spooled(self):
        """[(envelope fields, Received field, rest)] of new/, in order."""
        out = []
        for name in self.q.files("new"):
            blob = self.q.read(name)
            keep("queue file %s" % self.tag, blob)
            fields, message = lib.split_spool(blob)
            rec, rest = lib.received_split(message)
            out.append((fields, rec, rest))
        return out


MSG = (b"From: Sender <s@example.org>\r\nTo: r@example.com\r\n"
       b"Date: Mon, 07 Dec 2026 10:00:00 +0000\r\n"
       b"Message-ID: <auth-test@client.test.example>\r\n"
       b"Subject: authenticated\r\n\r\n"
       b"Gr\xc3\xbc\xc3\x9fe \xe2\x80\x94 8-bit\r\nlast line\r\n")


def events(log, event):
    """The log lines of one event (event=NAME, exactly)."""
    return [x for x in log.splitlines()
            if re.search(r"\bevent=%s(\s|$)" % re.escape(event), x)]


def flat(rec):
    return re.sub(rb"\s+", b" ", rec or b"").decode("utf-8", "replace")


def envelope_auth(fields, user):
    """Auth: USER once, after Helo (and TLS) and before Sender."""
    keys = [k for k, _ in fields or []]
    vals = [v for k, v in fields or [] if k == "Auth"]
    return (vals == [user] and "Helo" in keys and "Sender" in keys and
            keys.index("Helo") < keys.index("Auth") < keys.index("Sender"))


def auth_session(tag, args=(), env=None, tls=False, plaintext=True,
                 prog=None):
    """A Session with the recording checker (and --auth-plaintext)."""
    prog = prog or checker(tag)
    a = ["--auth-checkpassword", prog] + (["--auth-plaintext"]
                                          if plaintext else []) + list(args)
    return Session(a, env=env, tls=tls, tag=tag), prog


def disconnect_errors(log):
    m = re.search(r"event=disconnect .*\berrors=(\d+)", log)
    return int(m.group(1)) if m else None


OK_235 = b"235 2.7.0 Authentication successful"
BAD_535 = b"535 5.7.8 Authentication credentials invalid"
TEMP_454 = b"454 4.7.0 "
B64_501 = b"501 5.5.2 "
CANCEL_501 = b"501 5.7.0 Authentication cancelled"


# --- usage -------------------------------------------------------------------

def test_usage():
    q = lib.Queue(WORK)
    prog = checker("usage")
    notexec = os.path.join(WORK, "not-executable")
    with open(notexec, "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    os.chmod(notexec, 0o644)
    for name, args in (
            ("require-auth-alone", ["--require-auth"]),
            ("plaintext-alone", ["--auth-plaintext"]),
            ("in-received-alone", ["--auth-in-received"]),
            ("dovecot-relative", ["--auth-dovecot", "run/auth-smtpd"]),
            ("checkpassword-relative", ["--auth-checkpassword",
                                        "checker-usage"]),
            ("checkpassword-not-executable", ["--auth-checkpassword",
                                              notexec]),
            ("two-backends", ["--auth-checkpassword", prog,
                              "--auth-dovecot", "/run/dovecot/auth"]),
            ("timeout-zero", ["--auth-checkpassword", prog,
                              "--auth-timeout", "0"])):
        rc, out, err = lib.run_smtpd(b"QUIT\r\n", q, args)
        check("auth-usage-%s" % name, rc == 100 and out == b"",
              "rc %r out %r err %r" % (rc, out, err[-300:]))
    rc, out, err = lib.run_smtpd(
        b"QUIT\r\n", q, ["--auth-checkpassword", prog, "--auth-plaintext",
                         "--require-auth", "--auth-in-received",
                         "--auth-timeout", "5"])
    check("auth-usage-all-options-together", rc == 0 and
          out.startswith(b"220 "), "rc %r out %r err %r" % (rc, out, err))
    q.cleanup()


# --- what is offered, and when -----------------------------------------------

def test_no_backend_502():
    s = Session(tag="no-backend")
    try:
        s.reply()
        kw = s.ehlo()
        r = s.first(b"AUTH PLAIN " + plain("alice", PW["alice"]))
        r2 = s.first(b"AUTH LOGIN")
        p = s.first(b"MAIL FROM:<s@example.org> AUTH=<>")
        m = s.message()
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    check("auth-no-backend-not-offered", not [x for x in kw
                                              if x.startswith("AUTH")],
          "%r" % kw)
    check("auth-no-backend-502", r.startswith(b"502 5.5.1 ") and
          r2.startswith(b"502 5.5.1 "), "%r %r" % (r, r2))
    check("auth-no-backend-mail-auth-param-555",
          p.startswith(b"555 5.5.4 "), "%r" % p)
    got = s.spooled()
    check("auth-no-backend-session-goes-on", OK_RE.match(m) and rc == 0 and
          len(got) == 1 and "Auth" not in dict(got[0][0]) and
          dict(got[0][0]).get("Protocol") == "ESMTP",
          "%r rc %r %r %s" % (m, rc, got, log))
    s.cleanup()
    if not TLS_BUILT or PKI_ is None:
        skip("auth-no-backend-tls-not-offered", "needs TLS")
        return
    s = Session(tls=True, tag="no-backend-tls")
    try:
        s.reply()
        ok = s.starttls()
        kw = s.ehlo()
        r = s.first(b"AUTH PLAIN " + plain("alice", PW["alice"]))
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    check("auth-no-backend-tls-not-offered", ok and "REQUIRETLS" in kw and
          not [x for x in kw if x.startswith("AUTH")] and
          r.startswith(b"502 5.5.1 ") and rc == 0, "%r %r %r rc %r" % (
              ok, kw, r, rc))
    s.cleanup()


def test_plain_text_538():
    """A backend, no TLS, no --auth-plaintext: AUTH not offered, 538."""
    s, prog = auth_session("538", plaintext=False)
    try:
        s.reply()
        kw = s.ehlo()
        r = s.first(b"AUTH PLAIN " + plain("alice", PW["alice"]))
        r2 = s.first(b"AUTH LOGIN")
        r3 = s.first(b"AUTH PLAIN")
        m = s.first(b"MAIL FROM:<s@example.org>")
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    check("auth-plain-text-not-offered", "STARTTLS" not in kw and not [
        x for x in kw if x.startswith("AUTH")], "%r" % kw)
    want = b"538 5.7.11 Encryption required for requested authentication " \
        b"mechanism"
    check("auth-plain-text-538", r == want and r2 == want and r3 == want,
          "%r %r %r" % (r, r2, r3))
    check("auth-plain-text-538-no-check", checked(prog) == [] and
          m.startswith(b"250") and rc == 0, "%r %r rc %r" % (
              checked(prog), m, rc))
    s.cleanup()


# --- successful exchanges ----------------------------------------------------

def test_plain_initial_response():
    """AUTH PLAIN with an initial response; the checker's view; the
    envelope, Received, the log."""
    s, prog = auth_session("plain-ir")
    try:
        s.reply()
        kw = s.ehlo()
        r, took = s.timed(b"AUTH PLAIN " + plain("alice", PW["alice"]))
        kw2 = s.ehlo()
        m = s.message(rcpt=b"<r@elsewhere.example>")
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    check("auth-ehlo-offers-plain-login", "AUTH PLAIN LOGIN" in kw, "%r" % kw)
    check("auth-plain-ir-235", r == OK_235 and took < FAST,
          "%r after %.2f s" % (r, took))
    check("auth-ehlo-after-auth-no-auth", kw2 and not [
        x for x in kw2 if x.startswith("AUTH")] and "SIZE 26214400" in kw2,
          "%r" % kw2)
    got = s.spooled()
    fields, rec, rest = got[0] if len(got) == 1 else (None, None, None)
    d = dict(fields or [])
    check("auth-plain-ir-queued", OK_RE.match(m) and rc == 0 and
          rest == MSG, "%r rc %r %s" % (m, rc, log))
    check("auth-envelope-auth-user", envelope_auth(fields, "alice") and
          d.get("Protocol") == "ESMTPA", "%r" % fields)
    check("auth-received-esmtpa", " with ESMTPA id " in flat(rec) and
          "alice" not in flat(rec) and "authenticated" not in flat(rec),
          "%r" % rec)
    ok = events(log, "auth")
    check("auth-log-success", len(ok) == 1 and re.search(
        r"smtpd\[\d+\]: ip=127\.0\.0\.1 event=auth user=alice$", ok[0]),
          log)
    recs = checked(prog)
    c = recs[0] if len(recs) == 1 else {}
    env = dict(e.split("=", 1) for e in c.get("environ", "").split("\0")
               if "=" in e)
    check("auth-checkpassword-fd3", c.get("fd3") ==
          "alice\0%s\0\0" % PW["alice"], "%r" % recs)
    check("auth-checkpassword-argv", c.get("argv") == [prog, "/bin/true"],
          "%r" % c.get("argv"))
    check("auth-checkpassword-environment", set(env) <= {"PATH",
                                                         "TCPREMOTEIP"}
          and env.get("TCPREMOTEIP") == "127.0.0.1" and "PATH" in env,
          "%r" % env)
    leaks = [w for w in ("argv", "cmdline", "environ")
             if PW["alice"] in (c.get(w) or "") or
             plain("alice", PW["alice"]).decode() in (c.get(w) or "")]
    check("auth-checkpassword-password-only-on-fd3", c and not leaks and
          "argv" in c, "password in %r" % leaks)
    # fds 0, 1, 2, 3 and the one listdir had open: nothing of smtpd's
    # (not the client's socket)
    check("auth-checkpassword-no-other-fds", len(c.get("fds", [])) <= 5 and
          all(int(x) <= 4 for x in c.get("fds", [])), "%r" % c.get("fds"))
    s.cleanup()


def test_plain_no_initial_response():
    s, prog = auth_session("plain-noir")
    try:
        s.reply()
        s.ehlo()
        r1 = s.cmd(b"AUTH PLAIN")
        r2 = s.first(plain("alice", PW["alice"]))
        m = s.message()
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    got = s.spooled()
    check("auth-plain-334-empty-challenge", r1 == [b"334 "], "%r" % r1)
    check("auth-plain-no-ir-235", r2 == OK_235 and OK_RE.match(m) and
          rc == 0 and len(got) == 1 and envelope_auth(got[0][0], "alice"),
          "%r %r rc %r %r %s" % (r2, m, rc, got, log))
    s.cleanup()


def test_login_two_steps():
    s, prog = auth_session("login")
    try:
        s.reply()
        s.ehlo()
        r1 = s.cmd(b"AUTH LOGIN")
        r2 = s.cmd(b64("alice"))
        r3 = s.first(b64(PW["alice"]))
        m = s.message()
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    got = s.spooled()
    check("auth-login-username-challenge", r1 == [b"334 VXNlcm5hbWU6"],
          "%r" % r1)
    check("auth-login-password-challenge", r2 == [b"334 UGFzc3dvcmQ6"],
          "%r" % r2)
    check("auth-login-235", r3 == OK_235 and OK_RE.match(m) and rc == 0 and
          len(got) == 1 and envelope_auth(got[0][0], "alice") and
          [x.get("fd3") for x in checked(prog)] ==
          ["alice\0%s\0\0" % PW["alice"]],
          "%r %r rc %r %r %r %s" % (r3, m, rc, got, checked(prog), log))
    s.cleanup()


def test_login_initial_response():
    s, prog = auth_session("login-ir")
    try:
        s.reply()
        s.ehlo()
        r1 = s.cmd(b"AUTH LOGIN " + b64("alice"))
        r2 = s.first(b64(PW["alice"]))
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    check("auth-login-ir-asks-password", r1 == [b"334 UGFzc3dvcmQ6"],
          "%r" % r1)
    check("auth-login-ir-235", r2 == OK_235 and rc == 0, "%r rc %r %s" % (
        r2, rc, log))
    s.cleanup()


def test_empty_responses():
    """"=" is an empty response: an empty PLAIN is malformed; LOGIN's
    empty password is handed on (a user without a password)."""
    s, prog = auth_session("empty")
    try:
        s.reply()
        s.ehlo()
        r1, t1 = s.timed(b"AUTH PLAIN =")
        r2a = s.cmd(b"AUTH PLAIN")
        r2, t2 = s.timed(b"=")
        none_checked = checked(prog) == []
        r3a = s.cmd(b"AUTH LOGIN " + b64("nopass"))
        r3 = s.first(b"=")
        m = s.message()
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    check("auth-plain-ir-equals-501", r1.startswith(B64_501) and t1 < FAST,
          "%r %.2f s" % (r1, t1))
    check("auth-plain-response-equals-501", r2a == [b"334 "] and
          r2.startswith(B64_501) and t2 < FAST and none_checked,
          "%r %r %.2f s %r" % (r2a, r2, t2, checked(prog)))
    got = s.spooled()
    check("auth-login-equals-empty-password", r3a == [b"334 UGFzc3dvcmQ6"]
          and r3 == OK_235 and [x.get("fd3") for x in checked(prog)] ==
          ["nopass\0\0\0"] and OK_RE.match(m) and len(got) == 1 and
          envelope_auth(got[0][0], "nopass") and rc == 0,
          "%r %r %r %r rc %r %s" % (r3a, r3, checked(prog), m, rc, log))
    s.cleanup()


def test_authzid():
    s, prog = auth_session("authzid-same")
    try:
        s.reply()
        s.ehlo()
        r = s.first(b"AUTH PLAIN " + plain("alice", PW["alice"], "alice"))
        m = s.message()
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    got = s.spooled()
    check("auth-authzid-same-accepted", r == OK_235 and OK_RE.match(m) and
          len(got) == 1 and envelope_auth(got[0][0], "alice"),
          "%r %r %r %s" % (r, m, got, log))
    s.cleanup()
    s, prog = auth_session("authzid-other")
    try:
        s.reply()
        s.ehlo()
        r1, t1 = s.timed(b"AUTH PLAIN " + plain("alice", PW["alice"],
                                                "bob"))
        r2 = s.first(b"MAIL FROM:<s@example.org>")
        s.first(b"RSET")
        r3 = s.first(b"AUTH PLAIN " + plain("alice", PW["alice"]))
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    check("auth-authzid-other-refused", r1.startswith(B64_501) and
          t1 < FAST and len(checked(prog)) == 1 and r3 == OK_235,
          "%r %.2f s %r %r %s" % (r1, t1, checked(prog), r3, log))
    check("auth-authzid-other-not-authenticated", r2.startswith(b"250") and
          events(log, "auth") != [] and "user=bob" not in log,
          "%r %s" % (r2, log))
    s.cleanup()


def test_mechanisms():
    s, prog = auth_session("mech")
    try:
        s.reply()
        s.ehlo()
        r1 = s.first(b"AUTH CRAM-MD5")
        r2 = s.first(b"AUTH DIGEST-MD5 " + b64("x"))
        r3 = s.first(b"AUTH")
        r4 = s.first(b"AUTH  ")
        r5 = s.first(b"auth plain " + plain("alice", PW["alice"]))
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    check("auth-unknown-mechanism-504", r1.startswith(b"504 5.5.4 ") and
          r2.startswith(b"504 5.5.4 "), "%r %r" % (r1, r2))
    check("auth-no-mechanism-501", r3.startswith(b"501 5.5.4 ") and
          r4.startswith(b"501 5.5.4 "), "%r %r" % (r3, r4))
    check("auth-mechanism-any-case", r5 == OK_235 and rc == 0 and
          len(checked(prog)) == 1, "%r rc %r %s" % (r5, rc, log))
    s.cleanup()


def test_sequence():
    """AUTH before EHLO, in a transaction, twice; HELO is enough."""
    s, prog = auth_session("sequence")
    try:
        s.reply()
        r0 = s.first(b"AUTH PLAIN " + plain("alice", PW["alice"]))
        s.ehlo()
        s.first(b"MAIL FROM:<s@example.org>")
        r1 = s.first(b"AUTH PLAIN " + plain("alice", PW["alice"]))
        r1b = s.first(b"AUTH LOGIN")
        s.first(b"RSET")
        none_checked = checked(prog) == []
        r2 = s.first(b"AUTH PLAIN " + plain("alice", PW["alice"]))
        r3 = s.first(b"AUTH PLAIN " + plain("bob", PW["bob"]))
        r4 = s.first(b"AUTH LOGIN")
        m = s.message()
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    check("auth-before-ehlo-503", r0.startswith(b"503 5.5.1 "), "%r" % r0)
    check("auth-in-transaction-503", r1 == b"503 5.5.1 AUTH not allowed in "
          b"a mail transaction" and r1b == r1 and none_checked,
          "%r %r %r" % (r1, r1b, checked(prog)))
    check("auth-twice-503", r2 == OK_235 and r3 == b"503 5.5.1 Already "
          b"authenticated" and r4 == r3 and len(checked(prog)) == 1,
          "%r %r %r %r" % (r2, r3, r4, checked(prog)))
    got = s.spooled()
    check("auth-twice-first-user-kept", OK_RE.match(m) and len(got) == 1 and
          envelope_auth(got[0][0], "alice") and rc == 0,
          "%r %r rc %r %s" % (m, got, rc, log))
    s.cleanup()
    s, prog = auth_session("helo")
    try:
        s.reply()
        s.first(b"HELO " + HELO.encode())
        r = s.first(b"AUTH PLAIN " + plain("alice", PW["alice"]))
        m = s.message()
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    got = s.spooled()
    check("auth-after-helo", r == OK_235 and OK_RE.match(m) and
          len(got) == 1 and envelope_auth(got[0][0], "alice"),
          "%r %r %r %s" % (r, m, got, log))
    s.cleanup()


def test_login_password_after_refused_user():
    """AUTH LOGIN whose user name is refused (not base64, too long, a
    bare LF): a client that sends its password anyway, at once or after
    the 501, gets 500 for that line, and the log never shows it."""
    s, prog = auth_session("login-refused-user")
    pw = b64(PW["alice"])
    got = []
    try:
        s.reply()
        s.ehlo()
        for name, first, after in (
                ("not-base64", b"alice\r\n", False),
                ("pipelined", b"alice\r\n", True),
                ("too-long", b"A" * 12400 + b"\r\n", False),
                ("bare-lf", b64("alice") + b"\n", False)):
            s.cmd(b"AUTH LOGIN")
            if after:
                s.send(first + pw + b"\r\n")
                got.append((name, s.reply()[-1][:3], s.reply()[-1][:3]))
            else:
                s.send(first)
                r1 = s.reply()[-1][:3]
                got.append((name, r1, s.first(pw)[:3]))
        noop = s.first(b"NOOP")
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    want = [("not-base64", b"501", b"500"), ("pipelined", b"501", b"500"),
            ("too-long", b"500", b"500"), ("bare-lf", b"501", b"500")]
    check("auth-login-refused-user-replies", got == want and
          noop.startswith(b"250"), "%r %r" % (got, noop))
    hidden = [x for x in events(log, "reject") if "[hidden]" in x]
    check("auth-login-refused-user-password-not-logged",
          pw.decode() not in log and PW["alice"] not in log and
          len(hidden) == 4 and checked(prog) == [],
          "hidden %d: %s" % (len(hidden), log))
    s.cleanup()


def test_malformed():
    """Bad base64, malformed PLAIN, a bare LF, an unencoded password: 501
    5.5.2 at once, the checker never asked, no failure counted (but an
    error each)."""
    s, prog = auth_session("malformed")
    bad = []
    try:
        s.reply()
        s.ehlo()
        for name, lines in (
                ("not-base64", [b"AUTH PLAIN !!!!"]),
                ("unpadded", [b"AUTH PLAIN " + b64("\0alice\0" +
                                                   PW["alice"] + "xy")
                              .rstrip(b"=")]),
                ("no-nul", [b"AUTH PLAIN " + b64("alice")]),
                ("one-nul", [b"AUTH PLAIN " + b64("\0alice")]),
                ("nul-in-password", [b"AUTH PLAIN " + b64(
                    "\0alice\0pw\0more")]),
                ("space-in-ir", [b"AUTH PLAIN " + b64("\0a\0b") + b" " +
                                 b64("x")]),
                ("response-not-base64", [b"AUTH PLAIN", b"@@@@"]),
                ("login-user-not-base64", [b"AUTH LOGIN", b"alice"]),
                ("login-password-unencoded", [b"AUTH LOGIN " + b64("alice"),
                                              PW["alice"].encode()]),
                ("login-ir-not-base64", [b"AUTH LOGIN a%b"])):
            for x in lines[:-1]:
                s.cmd(x)
            r, took = s.timed(lines[-1])
            if not r.startswith(B64_501) or took >= FAST:
                bad.append((name, r, round(took, 2)))
        # a bare LF ends no response line: 501, and the line after it is
        # read as a new command
        s.cmd(b"AUTH PLAIN")
        s.send(plain("alice", PW["alice"]) + b"\n")
        lf = s.reply()[-1]
        noop = s.first(b"NOOP")
        none_checked = checked(prog) == []
        r = s.first(b"AUTH PLAIN " + plain("alice", PW["alice"]))
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    check("auth-malformed-501", bad == [], "%r" % bad)
    check("auth-bare-lf-response-501", lf.startswith(B64_501) and
          noop.startswith(b"250"), "%r %r" % (lf, noop))
    check("auth-malformed-never-checked", none_checked, "%r" % checked(prog))
    check("auth-malformed-not-failures", r == OK_235 and rc == 0 and
          events(log, "auth-failed") == [], "%r rc %r %s" % (r, rc, log))
    check("auth-malformed-counted-as-errors", disconnect_errors(log) == 11,
          "want errors=11: %s" % log)
    s.cleanup()


def test_cancel():
    s, prog = auth_session("cancel")
    try:
        s.reply()
        s.ehlo()
        s.cmd(b"AUTH PLAIN")
        r1, t1 = s.timed(b"*")
        s.cmd(b"AUTH LOGIN")
        r2, t2 = s.timed(b"*")
        s.cmd(b"AUTH LOGIN")
        s.cmd(b64("alice"))
        r3, t3 = s.timed(b"*")
        s.cmd(b"AUTH LOGIN " + b64("alice"))
        r4, t4 = s.timed(b"*")
        none_checked = checked(prog) == []
        r5 = s.first(b"AUTH PLAIN " + plain("alice", PW["alice"]))
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    check("auth-cancel-501", [r1, r2, r3, r4] == [CANCEL_501] * 4 and
          max(t1, t2, t3, t4) < FAST, "%r %r" % ([r1, r2, r3, r4],
                                                 [t1, t2, t3, t4]))
    check("auth-cancel-never-checked", none_checked and r5 == OK_235 and
          events(log, "auth-failed") == [] and rc == 0,
          "%r %r rc %r %s" % (checked(prog), r5, rc, log))
    s.cleanup()


def test_long_lines():
    """RFC 4954 4: lines of 12288 octets; one more is 500 5.5.6."""
    s, prog = auth_session("long")
    try:
        s.reply()
        s.ehlo()
        s.cmd(b"AUTH PLAIN")
        r1 = s.first(b"A" * 12289)
        s.cmd(b"AUTH PLAIN")
        r2 = s.first(b"A" * 12288)
        s.cmd(b"AUTH LOGIN")
        r3 = s.first(b"A" * 12289)
        s.cmd(b"AUTH LOGIN")
        s.cmd(b64("alice"))
        r4 = s.first(b"QUJD" * 5000)
        noop = s.first(b"NOOP")
        cmd = b"AUTH PLAIN "
        r5 = s.first(cmd + b"A" * (12289 - len(cmd)))
        r6 = s.first(cmd + b"A" * (12288 - len(cmd)))
        none_checked = checked(prog) == []
        r7 = s.first(b"AUTH PLAIN " + plain("alice", PW["alice"]))
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    want = b"500 5.5.6 Authentication exchange line is too long"
    check("auth-response-12289-500", r1 == want and r3 == want and
          r4 == want, "%r %r %r" % (r1, r3, r4))
    check("auth-response-12288-not-too-long", r2.startswith(B64_501),
          "%r" % r2)
    check("auth-command-12289-500", r5.startswith(b"500 5.5."), "%r" % r5)
    check("auth-command-12288-not-too-long", r6.startswith(B64_501),
          "%r" % r6)
    check("auth-long-lines-session-goes-on", noop.startswith(b"250") and
          none_checked and r7 == OK_235 and rc == 0,
          "%r %r %r rc %r %s" % (noop, checked(prog), r7, rc, log))
    s.cleanup()


def test_require_auth():
    s, prog = auth_session("require", ["--require-auth"])
    try:
        s.reply()
        kw = s.ehlo()
        r1 = s.first(b"MAIL FROM:<s@example.org>")
        r2 = s.first(b"RCPT TO:<r@example.com>")
        r3 = s.first(b"AUTH PLAIN " + plain("alice", PW["alice"]))
        m = s.message()
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    got = s.spooled()
    check("auth-require-auth-530", "AUTH PLAIN LOGIN" in kw and
          r1 == b"530 5.7.0 Authentication required" and
          r2.startswith(b"503 "), "%r %r %r" % (kw, r1, r2))
    check("auth-require-auth-after-auth", r3 == OK_235 and OK_RE.match(m)
          and len(got) == 1 and envelope_auth(got[0][0], "alice") and
          rc == 0, "%r %r %r rc %r %s" % (r3, m, got, rc, log))
    s.cleanup()


# --- failures ----------------------------------------------------------------

FAIL_RE = re.compile(r'^smtpd\[\d+\]: ip=(\S+) event=auth-failed user=(\S+) '
                     r'reason="([^"]*)"$')


def test_failure_delays():
    """Wrong passwords: 535 after 1 s, then 2 s; the third gets 421 4.7.0
    (after 4 s) and the session ends, exit 1."""
    s, prog = auth_session("delays", env={"TCPREMOTEIP": "192.0.2.41"})
    try:
        s.reply()
        s.ehlo()
        r1, t1 = s.timed(b"AUTH PLAIN " + plain("alice", WRONG))
        s.cmd(b"AUTH LOGIN")
        s.cmd(b64("alice"))
        r2, t2 = s.timed(b64(WRONG))
        t0 = time.monotonic()
        try:
            r3 = s.first(b"AUTH PLAIN " + plain("alice", WRONG + "3"))
        except (EOFError, OSError) as e:
            r3 = repr(e).encode()
        t3 = time.monotonic() - t0
        closed = s.eof()
    finally:
        rc, log = s.finish()
    check("auth-failure-535-after-1s", r1 == BAD_535 and
          1.0 <= t1 < 1 + SLACK, "%r after %.2f s" % (r1, t1))
    check("auth-failure-535-after-2s", r2 == BAD_535 and
          2.0 <= t2 < 2 + SLACK, "%r after %.2f s" % (r2, t2))
    check("auth-third-failure-421", r3 == b"421 4.7.0 " + lib.HOST.encode()
          + b" too many failed authentications, closing connection" and
          t3 >= 4.0 and t3 < 4 + SLACK, "%r after %.2f s" % (r3, t3))
    check("auth-third-failure-closes", closed and rc == 1 and re.search(
        r"event=disconnect reason=auth-failures\b", log),
          "closed %r rc %r %s" % (closed, rc, log))
    fails = [FAIL_RE.match(x) for x in events(log, "auth-failed")]
    check("auth-failure-log-records", len(fails) == 3 and all(
        f and f.group(1) == "192.0.2.41" and f.group(2) == "alice" and
        f.group(3) == "wrong user or password" for f in fails), log)
    s.cleanup()


def test_failures_count_as_errors():
    """A 535 counts against --max-errors like any 5xx."""
    s, prog = auth_session("max-errors", ["--max-errors", "2"])
    try:
        s.reply()
        s.ehlo()
        r0 = s.first(b"FOO")
        r1 = s.cmd(b"AUTH PLAIN " + plain("alice", WRONG))
        try:
            r2 = s.reply()
        except (EOFError, OSError) as e:
            r2 = [repr(e).encode()]
        closed = s.eof()
    finally:
        rc, log = s.finish()
    check("auth-failure-counts-against-max-errors",
          r0.startswith(b"500") and r1[-1] == BAD_535 and
          r2[-1].startswith(b"421 4.7.0 ") and b"too many errors" in r2[-1]
          and closed and rc == 1, "%r %r %r rc %r %s" % (r0, r1, r2, rc, log))
    s.cleanup()
    # the same with one error more to spare: the session goes on
    s, prog = auth_session("max-errors-3", ["--max-errors", "3"])
    try:
        s.reply()
        s.ehlo()
        s.first(b"FOO")
        r1 = s.first(b"AUTH PLAIN " + plain("alice", WRONG))
        noop = s.first(b"NOOP")
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    check("auth-failure-under-max-errors-goes-on", r1 == BAD_535 and
          noop.startswith(b"250") and rc == 0, "%r %r rc %r %s" % (
              r1, noop, rc, log))
    s.cleanup()


def test_user_names():
    """A name with a space or control, not UTF-8, or empty: a failure
    (user="?" in the log), never handed to the checker; UTF-8 names and
    1024 octets are."""
    s, prog = auth_session("names")
    try:
        s.reply()
        s.ehlo()
        r1, t1 = s.timed(b"AUTH PLAIN " + plain("al ice", PW["alice"]))
        r2, t2 = s.timed(b"AUTH PLAIN " + plain(b"\xffalice", PW["alice"]))
        none_checked = checked(prog) == []
        r3 = s.first(b"AUTH PLAIN " + plain("alice", PW["alice"]))
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    fails = [FAIL_RE.match(x) for x in events(log, "auth-failed")]
    check("auth-bad-user-name-failure", r1 == BAD_535 and r2 == BAD_535 and
          t1 >= 1.0 and t2 >= 2.0 and none_checked and
          len(fails) == 2 and all(f and f.group(2) == "?" for f in fails),
          "%r %r %.2f %.2f %r %s" % (r1, r2, t1, t2, checked(prog), log))
    check("auth-bad-user-name-then-235", r3 == OK_235 and rc == 0,
          "%r rc %r" % (r3, rc))
    s.cleanup()
    s, prog = auth_session("names-utf8")
    long_user = "u" * 1024
    try:
        s.reply()
        s.ehlo()
        s.cmd(b"AUTH LOGIN")
        s.cmd(b"=")
        r1 = s.first(b64(PW["alice"]))
        r2 = s.first(b"AUTH PLAIN " + plain(long_user, PW["alice"]))
        r3 = s.first(b"AUTH PLAIN " + plain("j\u00fcrgen", PW_J))
        m = s.message()
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    got = s.spooled()
    fd3 = [x.get("fd3") for x in checked(prog)]
    fails = [FAIL_RE.match(x) for x in events(log, "auth-failed")]
    check("auth-empty-login-user-failure", r1 == BAD_535 and fails and
          fails[0] and fails[0].group(2) == "?", "%r %s" % (r1, log))
    check("auth-1024-octet-user-checked", r2 == BAD_535 and
          ("%s\0%s\0\0" % (long_user, PW["alice"])) in fd3,
          "%r %r" % (r2, [x[:20] for x in fd3 if x]))
    check("auth-utf8-user", r3 == OK_235 and OK_RE.match(m) and
          len(got) == 1 and envelope_auth(got[0][0], "j\u00fcrgen") and
          ("j\u00fcrgen\0%s\0\0" % PW_J).encode("utf-8").decode("latin-1")
          in fd3, "%r %r %r %s" % (r3, m, got, log))
    s.cleanup()


def running(pid):
    """Is process pid there, and not a zombie?"""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def test_temporary_failures():
    """A checker that exits 111, exits 2, is killed, or hangs past
    --auth-timeout: 454, at once (no delay), not a failure and not an
    error; the hung one is killed."""
    s, prog = auth_session("temp", ["--auth-timeout", "2",
                                    "--max-errors", "2"])
    try:
        s.reply()
        s.ehlo()
        res = {}
        for user in ("temp", "exit2", "die", "hang"):
            res[user] = s.timed(b"AUTH PLAIN " + plain(user, PW["alice"]))
        r = s.first(b"AUTH PLAIN " + plain("alice", PW["alice"]))
        m = s.message()
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    for user in ("temp", "exit2", "die"):
        r1, t1 = res[user]
        check("auth-checker-%s-454" % user, r1.startswith(TEMP_454) and
              t1 < FAST + 1, "%r after %.2f s" % (r1, t1))
    r1, t1 = res["hang"]
    check("auth-checker-hang-454", r1.startswith(TEMP_454) and
          2.0 <= t1 < 2 + SLACK, "%r after %.2f s" % (r1, t1))
    hung = [(x["pid"], x["child"]) for x in checked(prog)
            if (x["fd3"] or "").startswith("hang")]
    alive = [p for p in sum(hung, ()) if running(p)]
    check("auth-checker-hang-killed", len(hung) == 1 and alive == [],
          "checker and child %r; still running: %r" % (hung, alive))
    check("auth-temporary-not-failures", r == OK_235 and OK_RE.match(m) and
          rc == 0 and disconnect_errors(log) == 0, "%r %r rc %r %s" % (
              r, m, rc, log))
    reasons = [FAIL_RE.match(x) for x in events(log, "auth-failed")]
    reasons = [f.group(3) if f else None for f in reasons]
    check("auth-temporary-logged", len(reasons) == 4 and None not in reasons
          and "exit 111" in reasons[0] and "exit 2" in reasons[1] and
          "signal 9" in reasons[2] and "timed out" in reasons[3],
          "%r %s" % (reasons, log))
    s.cleanup()


# --- relaying, MAIL AUTH=, policy programs, Received -------------------------

def test_relay():
    """An untrusted client (TCPREMOTEIP 192.0.2.x): relaying denied
    before AUTH, allowed after."""
    s, prog = auth_session("relay", env={"TCPREMOTEIP": "192.0.2.30",
                                         "TCPREMOTEPORT": "2525"})
    try:
        s.reply()
        s.ehlo()
        s.first(b"MAIL FROM:<s@example.org>")
        r1 = s.first(b"RCPT TO:<r@elsewhere.example>")
        s.first(b"RSET")
        r2 = s.first(b"AUTH PLAIN " + plain("alice", PW["alice"]))
        m = s.message(rcpt=b"<r@elsewhere.example>")
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    got = s.spooled()
    d = dict(got[0][0]) if len(got) == 1 else {}
    check("auth-untrusted-relay-denied", r1.startswith(b"550 5.7.1 "),
          "%r" % r1)
    check("auth-authenticated-may-relay", r2 == OK_235 and OK_RE.match(m)
          and d.get("Trusted") == "no" and envelope_auth(got[0][0], "alice")
          and rc == 0, "%r %r %r rc %r %s" % (r2, m, got, rc, log))
    env = [x.get("environ", "") for x in checked(prog)]
    check("auth-checker-gets-client-ip", len(env) == 1 and
          "\0TCPREMOTEIP=192.0.2.30\0" in "\0" + env[0], "%r" % env)
    s.cleanup()


def test_mail_auth_param():
    """MAIL AUTH=xtext: kept when authenticated, "<>" when not."""
    s, prog = auth_session("param-unauth")
    try:
        s.reply()
        s.ehlo()
        m1 = s.message(mail_params=b"AUTH=alice+40example.org")
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    got = s.spooled()
    fields = got[0][0] if len(got) == 1 else []
    check("auth-param-unauthenticated-empty", OK_RE.match(m1) and
          dict(fields).get("Auth-Param") == "<>" and
          "Auth" not in dict(fields), "%r %r %s" % (m1, fields, log))
    s.cleanup()
    s, prog = auth_session("param-auth")
    try:
        s.reply()
        s.ehlo()
        s.first(b"AUTH PLAIN " + plain("alice", PW["alice"]))
        m1 = s.message(mail_params=b"AUTH=alice+40example.org",
                       body=b"Subject: one\r\n\r\none\r\n")
        m2 = s.message(mail_params=b"AUTH=<>",
                       body=b"Subject: two\r\n\r\ntwo\r\n")
        m3 = s.message(body=b"Subject: three\r\n\r\nthree\r\n")
        bad = s.first(b"MAIL FROM:<s@example.org> AUTH=a+zz")
        bad2 = s.first(b"MAIL FROM:<s@example.org> AUTH=")
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    got = {}
    for fields, rec, rest in s.spooled():
        got[rest.split(b"\r\n")[0]] = fields
    f1 = got.get(b"Subject: one", [])
    keys = [k for k, _ in f1]
    check("auth-param-kept", all(OK_RE.match(x) for x in (m1, m2, m3)) and
          dict(f1).get("Auth-Param") == "alice+40example.org" and
          "Sender" in keys and "Auth-Param" in keys and
          keys.index("Sender") < keys.index("Auth-Param"),
          "%r %r" % ((m1, m2, m3), f1))
    check("auth-param-empty-kept",
          dict(got.get(b"Subject: two", [])).get("Auth-Param") == "<>" and
          "Auth-Param" not in dict(got.get(b"Subject: three", [("x", "")])),
          "%r" % got)
    check("auth-param-bad-xtext-501", bad.startswith(b"501 5.5.4") and
          bad2.startswith(b"501 5.5.4"), "%r %r" % (bad, bad2))
    s.cleanup()


DUMPER = r"""#!%s -I
import json, os
with open("/proc/self/environ", "rb") as f:
    env = dict(e.decode("utf-8", "replace").split("=", 1)
               for e in f.read().split(b"\0") if e)
with open("%s.jsonl", "a") as f:
    f.write(json.dumps(env) + "\n")
"""


def test_policy_environment():
    """SMTPD_AUTH_USER for --check-sender, only after AUTH."""
    dumper = os.path.join(WORK, "dump-sender")
    with open(dumper, "w") as f:
        f.write(DUMPER % (sys.executable, dumper))
    os.chmod(dumper, 0o755)
    s, prog = auth_session("policy", ["--check-sender", dumper])
    try:
        s.reply()
        s.ehlo()
        m1 = s.message()
        s.first(b"AUTH PLAIN " + plain("alice", PW["alice"]))
        m2 = s.message()
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    try:
        with open(dumper + ".jsonl") as f:
            envs = [json.loads(x) for x in f]
    except (OSError, ValueError):
        envs = []
    check("auth-policy-env-before-auth", len(envs) == 2 and
          "SMTPD_AUTH_USER" not in envs[0] and OK_RE.match(m1),
          "%r %r" % (envs, m1))
    check("auth-policy-env-smtpd-auth-user", len(envs) == 2 and
          envs[1].get("SMTPD_AUTH_USER") == "alice" and OK_RE.match(m2) and
          PW["alice"] not in json.dumps(envs), "%r %r %s" % (envs, m2, log))
    s.cleanup()


def test_auth_in_received():
    s, prog = auth_session("in-received", ["--auth-in-received"])
    try:
        s.reply()
        s.ehlo()
        s.first(b"AUTH PLAIN " + plain("alice", PW["alice"]))
        m = s.message()
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    got = s.spooled()
    rec = flat(got[0][1]) if len(got) == 1 else ""
    check("auth-in-received", OK_RE.match(m) and
          " with ESMTPA (authenticated as alice) id " in rec,
          "%r %r %s" % (m, rec, log))
    s.cleanup()


# --- secrets -----------------------------------------------------------------

def test_debug_log():
    """With --debug, failures and successes of both mechanisms: the log
    has the fail2ban record and the user, never the password."""
    s, prog = auth_session("debug", ["--debug"],
                           env={"TCPREMOTEIP": "198.51.100.7"})
    try:
        s.reply()
        s.ehlo()
        s.first(b"AUTH PLAIN " + plain("alice", WRONG))
        s.cmd(b"AUTH LOGIN")
        s.cmd(b64("alice"))
        s.first(b64(PW["alice"]))
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    fails = [FAIL_RE.match(x) for x in events(log, "auth-failed")]
    check("auth-debug-log-fail2ban-record", len(fails) == 1 and fails[0] and
          fails[0].group(1) == "198.51.100.7" and
          fails[0].group(2) == "alice", log)
    leaked = [x for x in SENT if x in log] + [
        x for x in (WRONG, PW["alice"]) if x in log]
    check("auth-debug-log-no-secret", events(log, "state") and
          events(log, "auth") and not leaked, "leaked %r: %s" % (leaked, log))
    s.cleanup()


def test_rejected_lines_not_logged():
    """An AUTH line refused before the exchange starts (before EHLO, in a
    transaction, with a control character, ending in a bare LF, in a
    session refused at connect) is logged without its initial response."""
    refuse = os.path.join(WORK, "refuse-client")
    with open(refuse, "w") as f:
        f.write("#!/bin/sh\nexit 100\n")
    os.chmod(refuse, 0o755)
    for name, args, lines in (
            ("before-ehlo", [], [b"AUTH PLAIN %s\r\n"]),
            ("in-transaction", [], [b"EHLO a.example\r\n",
                                    b"MAIL FROM:<s@example.org>\r\n",
                                    b"AUTH PLAIN %s\r\n"]),
            ("control-character", [], [b"EHLO a.example\r\n",
                                       b"AUTH PLAIN %s\x01\r\n"]),
            ("nul", [], [b"EHLO a.example\r\n", b"AUTH PLAIN %s\0\r\n"]),
            ("bare-lf", [], [b"EHLO a.example\r\n", b"AUTH PLAIN %s\n"]),
            ("refused-session", ["--check-client", refuse],
             [b"EHLO a.example\r\n", b"AUTH PLAIN %s\r\n"])):
        s, prog = auth_session("rejected-" + name, args)
        cred = plain("alice", PW["alice"])
        replies = []
        try:
            s.reply()
            for x in lines:
                s.send(x.replace(b"%s", cred))
                replies.append(s.reply()[-1])
            s.first(b"QUIT")
        finally:
            rc, log = s.finish()
        leaked = [x for x in (cred.decode(), PW["alice"]) if x in log]
        check("auth-rejected-line-not-logged-%s" % name,
              replies[-1][:1] in (b"5",) and not leaked and
              checked(prog) == [] and "event=reject" in log,
              "replies %r; leaked %r: %s" % (replies, leaked, log))
        s.cleanup()


def proc_owner(pid):
    """(uid owning /proc/PID/environ, the process's real uid)."""
    st = os.stat("/proc/%d/environ" % pid)
    with open("/proc/%d/status" % pid) as f:
        uid = [int(x.split()[1]) for x in f if x.startswith("Uid:")][0]
    return st.st_uid, uid


def dumpable_case(backend_args):
    """Start smtpd (as nobody when we are root, so that ownership tells:
    the files in /proc/PID of a process that is not dumpable are root's,
    and no other process of its user may read them) on a pipe; (owner of
    /proc/PID/environ, its uid)."""
    q = lib.Queue(WORK)
    os.chmod(q.dir, 0o777)
    cmd = [lib.SMTPD, "--queue", q.dir, "--hostname", lib.HOST] + \
        backend_args
    if os.geteuid() == 0:
        cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup",
               "--clear-groups"] + cmd
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=lib.base_env())
    try:
        greet = p.stdout.readline()
        owner = proc_owner(p.pid)
        out, err = p.communicate(b"QUIT\r\n", timeout=T)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    keep("dumpable", err)
    q.cleanup()
    return greet, owner, p.returncode, err


def test_not_dumpable():
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        skip("auth-not-dumpable", "setpriv not found (util-linux)")
        return
    prog = checker("dumpable")
    for name, args in (("checkpassword", ["--auth-checkpassword", prog]),
                       ("dovecot", ["--auth-dovecot", "/run/x/auth"])):
        greet, (owner, uid), rc, err = dumpable_case(args)
        check("auth-not-dumpable-%s" % name, greet.startswith(b"220 ") and
              uid != 0 and owner == 0 and rc == 0,
              "greeting %r: /proc/PID/environ owned by %d, process uid %d, "
              "rc %r "
              "%r" % (greet, owner, uid, rc, err[-300:]))
    greet, (owner, uid), rc, err = dumpable_case([])
    check("auth-dumpable-without-backend", greet.startswith(b"220 ") and
          uid != 0 and owner == uid, "greeting %r: /proc/PID/environ owned "
          "by %d, "
          "process uid %d %r" % (greet, owner, uid, err[-300:]))


# --- TLS ---------------------------------------------------------------------

def test_tls_offer():
    """Without --auth-plaintext: offered only after STARTTLS; ESMTPSA,
    UTF8SMTPSA; Received names the TLS and not the user."""
    s, prog = auth_session("tls", tls=True, plaintext=False)
    try:
        s.reply()
        kw = s.ehlo()
        r0 = s.first(b"AUTH PLAIN " + plain("alice", PW["alice"]))
        ok = s.starttls()
        kw2 = s.ehlo()
        r1 = s.cmd(b"AUTH LOGIN")
        r2 = s.cmd(b64("alice"))
        r3 = s.first(b64(PW["alice"]))
        ver = s.s.version()
        m1 = s.message(body=b"Subject: one\r\n\r\none\r\n")
        m2 = s.message(body=b"Subject: utf8\r\n\r\nutf8\r\n",
                       mail=b"<j\xc3\xbcrgen@example.org>",
                       mail_params=b"SMTPUTF8")
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    check("auth-tls-not-offered-before-starttls", "STARTTLS" in kw and not [
        x for x in kw if x.startswith("AUTH")] and r0.startswith(b"538 "),
          "%r %r" % (kw, r0))
    check("auth-tls-offered-after-starttls", ok and "AUTH PLAIN LOGIN" in
          kw2, "%r %r" % (ok, kw2))
    check("auth-tls-login-235", r1 == [b"334 VXNlcm5hbWU6"] and
          r2 == [b"334 UGFzc3dvcmQ6"] and r3 == OK_235, "%r %r %r" % (
              r1, r2, r3))
    got = {}
    for fields, rec, rest in s.spooled():
        got[rest.split(b"\r\n")[0]] = (fields, rec)
    f1, rec1 = got.get(b"Subject: one", ([], b""))
    f2, rec2 = got.get(b"Subject: utf8", ([], b""))
    check("auth-tls-esmtpsa", OK_RE.match(m1) and envelope_auth(f1, "alice")
          and dict(f1).get("Protocol") == "ESMTPSA" and
          dict(f1).get("TLS", "").startswith(ver + " ") and
          (" with ESMTPSA (using %s with cipher " % ver) in flat(rec1) and
          "alice" not in flat(rec1), "%r %r %r %s" % (m1, f1, rec1, log))
    check("auth-tls-utf8smtpsa", OK_RE.match(m2) and
          dict(f2).get("Protocol") == "UTF8SMTPSA" and
          " with UTF8SMTPSA (using " in flat(rec2) and rc == 0,
          "%r %r %r rc %r" % (m2, f2, rec2, rc))
    s.cleanup()


def test_starttls_forgets_auth():
    """AUTH in plain text (--auth-plaintext), then STARTTLS: the AUTH is
    forgotten (offered again, not in the envelope, may be given again)."""
    s, prog = auth_session("tls-forget", tls=True)
    try:
        s.reply()
        kw0 = s.ehlo()
        r1 = s.first(b"AUTH PLAIN " + plain("alice", PW["alice"]))
        ok = s.starttls()
        kw = s.ehlo()
        m1 = s.message(body=b"Subject: one\r\n\r\none\r\n")
        r2 = s.first(b"AUTH PLAIN " + plain("bob", PW["bob"]))
        m2 = s.message(body=b"Subject: two\r\n\r\ntwo\r\n")
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    got = {}
    for fields, rec, rest in s.spooled():
        got[rest.split(b"\r\n")[0]] = dict(fields)
    f1 = got.get(b"Subject: one", {})
    f2 = got.get(b"Subject: two", {})
    check("auth-starttls-forgets-auth", "AUTH PLAIN LOGIN" in kw0 and
          r1 == OK_235 and ok and
          "AUTH PLAIN LOGIN" in kw and OK_RE.match(m1) and "Auth" not in f1
          and f1.get("Protocol") == "ESMTPS", "%r %r %r %r" % (
              r1, kw, m1, f1))
    check("auth-starttls-auth-again", r2 == OK_235 and OK_RE.match(m2) and
          f2.get("Auth") == "bob" and f2.get("Protocol") == "ESMTPSA" and
          rc == 0, "%r %r %r rc %r %s" % (r2, m2, f2, rc, log))
    s.cleanup()


def test_implicit_tls():
    s, prog = auth_session("implicit", ["--tls-implicit"], tls=True,
                           plaintext=False)
    try:
        s.tls_implicit()
        s.reply()
        kw = s.ehlo()
        r = s.first(b"AUTH PLAIN " + plain("alice", PW["alice"]))
        m = s.message()
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    got = s.spooled()
    check("auth-implicit-tls", "AUTH PLAIN LOGIN" in kw and r == OK_235 and
          OK_RE.match(m) and len(got) == 1 and
          dict(got[0][0]).get("Protocol") == "ESMTPSA" and
          envelope_auth(got[0][0], "alice") and rc == 0,
          "%r %r %r %r rc %r %s" % (kw, r, m, got, rc, log))
    s.cleanup()


# --- examples/checkpassword-crypt --------------------------------------------

def test_crypt_backend():
    prog = crypt_checker("session")
    s, _ = auth_session("crypt", prog=prog, env={
        "TCPREMOTEIP": "192.0.2.50"})
    try:
        s.reply()
        s.ehlo()
        r1, t1 = s.timed(b"AUTH PLAIN " + plain("alice", WRONG))
        r2, t2 = s.timed(b"AUTH PLAIN " + plain("mallory", PW["alice"]))
        s.cmd(b"AUTH LOGIN")
        s.cmd(b64("bob"))
        r3 = s.first(b64(PW["bob"]))
        m = s.message(rcpt=b"<r@elsewhere.example>")
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    got = s.spooled()
    check("auth-crypt-wrong-password-535", r1 == BAD_535 and t1 >= 1.0,
          "%r %.2f %s" % (r1, t1, log))
    check("auth-crypt-unknown-user-535", r2 == BAD_535 and t2 >= 2.0,
          "%r %.2f" % (r2, t2))
    check("auth-crypt-235", r3 == OK_235 and OK_RE.match(m) and
          len(got) == 1 and envelope_auth(got[0][0], "bob") and rc == 0,
          "%r %r %r rc %r %s" % (r3, m, got, rc, log))
    s.cleanup()
    # its file missing: exit 111, a temporary failure
    prog = crypt_checker("nofile", os.path.join(WORK, "no-such-passwd"))
    s, _ = auth_session("crypt-nofile", prog=prog)
    try:
        s.reply()
        s.ehlo()
        r, took = s.timed(b"AUTH PLAIN " + plain("alice", PW["alice"]))
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    check("auth-crypt-no-file-454", r.startswith(TEMP_454) and took < FAST
          + 1 and "exit 111" in log, "%r %.2f %s" % (r, took, log))
    s.cleanup()


# --- Dovecot -----------------------------------------------------------------

def dovecot_session(tag, rip, args=(), tls=False, plaintext=True,
                    systemd=False):
    """A session as tcpserver starts it (TCPLOCALIP says our address) or,
    systemd=True, as systemd does (REMOTE_ADDR only: smtpd asks the
    socket for its own address)."""
    a = ["--auth-dovecot", DOVECOT.sock] + (
        ["--auth-plaintext"] if plaintext else []) + list(args)
    env = {"TCPREMOTEIP": rip, "TCPREMOTEPORT": "2525",
           "TCPLOCALIP": "127.0.0.1"}
    if systemd:
        env = {"REMOTE_ADDR": rip, "REMOTE_PORT": "2525"}
    return Session(a, env=env, tls=tls, tag=tag)


def test_dovecot_plain():
    """PLAIN through Dovecot for an untrusted client: a wrong password
    535 (after 1 s), then the right one (the name in another case:
    Dovecot's user= is what the envelope records), and relaying."""
    rip = "192.0.2.61"
    s = dovecot_session("dovecot-plain", rip)
    try:
        s.reply()
        kw = s.ehlo()
        s.first(b"MAIL FROM:<s@example.org>")
        r0 = s.first(b"RCPT TO:<r@elsewhere.example>")
        s.first(b"RSET")
        r1, t1 = s.timed(b"AUTH PLAIN " + plain("alice", WRONG))
        r2 = s.first(b"AUTH PLAIN " + plain("ALICE", PW["alice"]))
        m = s.message(rcpt=b"<r@elsewhere.example>")
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    got = s.spooled()
    check("auth-dovecot-offered", "AUTH PLAIN LOGIN" in kw and
          r0.startswith(b"550 5.7.1"), "%r %r" % (kw, r0))
    check("auth-dovecot-wrong-password-535", r1 == BAD_535 and t1 >= 1.0 and
          t1 < 1 + SLACK, "%r %.2f %s" % (r1, t1, log))
    check("auth-dovecot-235-relay", r2 == OK_235 and OK_RE.match(m) and
          len(got) == 1 and dict(got[0][0]).get("Trusted") == "no" and
          rc == 0, "%r %r %r rc %r %s" % (r2, m, got, rc, log))
    check("auth-dovecot-canonical-user", len(got) == 1 and
          envelope_auth(got[0][0], "alice") and
          re.search(r"event=auth user=alice$", log, re.M),
          "%r %s" % (got, log))
    reqs = DOVECOT.requests(rip, 2)
    check("auth-dovecot-request-fields", len(reqs) == 2 and all(
        x.get("mech") == "PLAIN" and x.get("service") == "smtp" and
        x.get("lip") == "127.0.0.1" and "secured" not in x and
        x.get("resp") == "<hidden>" for x in reqs), "%r" % reqs)
    s.cleanup()


def test_dovecot_login_crypt():
    """LOGIN through Dovecot; bob's password is {SHA512-CRYPT}; an unknown
    user is 535.  Started as systemd does: Dovecot still learns lip=."""
    rip = "192.0.2.62"
    s = dovecot_session("dovecot-login", rip, systemd=True)
    try:
        s.reply()
        s.ehlo()
        r1 = s.first(b"AUTH PLAIN " + plain("mallory", PW["bob"]))
        s.cmd(b"AUTH LOGIN")
        s.cmd(b64("bob"))
        r2 = s.first(b64(PW["bob"]))
        m = s.message()
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    got = s.spooled()
    check("auth-dovecot-unknown-user-535", r1 == BAD_535, "%r %s" % (r1, log))
    check("auth-dovecot-login-sha512-crypt", r2 == OK_235 and
          OK_RE.match(m) and len(got) == 1 and
          envelope_auth(got[0][0], "bob") and rc == 0,
          "%r %r %r rc %r %s" % (r2, m, got, rc, log))
    reqs = DOVECOT.requests(rip, 2)
    check("auth-dovecot-lip-from-socket", len(reqs) == 2 and all(
        x.get("lip") == "127.0.0.1" for x in reqs), "%r" % reqs)
    s.cleanup()


def test_dovecot_temporary():
    """Dovecot cannot read a passdb file: its FAIL says temp_fail; 454,
    not 535."""
    rip = "192.0.2.63"
    s = dovecot_session("dovecot-temp", rip)
    try:
        s.reply()
        s.ehlo()
        r1, t1 = s.timed(b"AUTH PLAIN " + plain("tempuser", PW["alice"]))
        r2 = s.first(b"AUTH PLAIN " + plain("alice", PW["alice"]))
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    check("auth-dovecot-temporary-failure-454", r1.startswith(TEMP_454) and
          t1 < FAST + 1, "%r after %.2f s; %s; dovecot: %s" % (
              r1, t1, log, [x for x in DOVECOT.logtext().splitlines()
                            if "tempuser" in x][-3:]))
    check("auth-dovecot-after-temporary", r2 == OK_235 and rc == 0,
          "%r rc %r" % (r2, rc))
    s.cleanup()


def test_dovecot_tls():
    """Under TLS smtpd tells Dovecot the session is secured."""
    rip = "192.0.2.64"
    s = dovecot_session("dovecot-tls", rip, tls=True, plaintext=False)
    try:
        s.reply()
        ok = s.starttls()
        s.ehlo()
        r = s.first(b"AUTH PLAIN " + plain("alice", PW["alice"]))
        m = s.message()
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    got = s.spooled()
    check("auth-dovecot-tls-235", ok and r == OK_235 and OK_RE.match(m) and
          len(got) == 1 and dict(got[0][0]).get("Protocol") == "ESMTPSA" and
          envelope_auth(got[0][0], "alice") and rc == 0,
          "%r %r %r rc %r %s" % (r, m, got, rc, log))
    reqs = DOVECOT.requests(rip)
    check("auth-dovecot-tls-secured", len(reqs) == 1 and
          reqs[0].get("secured") is True and reqs[0].get("service") ==
          "smtp", "%r" % reqs)
    s.cleanup()


def test_dovecot_no_socket():
    s = Session(["--auth-dovecot", os.path.join(WORK, "no", "such", "auth"),
                 "--auth-plaintext"], tag="dovecot-nosocket")
    try:
        s.reply()
        kw = s.ehlo()
        r, took = s.timed(b"AUTH PLAIN " + plain("alice", PW["alice"]))
        r2 = s.first(b"AUTH PLAIN " + plain("alice", PW["alice"]))
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    check("auth-dovecot-no-socket-454", "AUTH PLAIN LOGIN" in kw and
          r.startswith(TEMP_454) and r2.startswith(TEMP_454) and
          took < FAST and rc == 0 and
          "dovecot: cannot connect" in log, "%r %r %.2f rc %r %s" % (
              r, r2, took, rc, log))
    s.cleanup()


class FaultSocket:
    """A UNIX socket that is not a working Dovecot: each connection gets
    act(conn) (a fault, for the 454 cases)."""

    def __init__(self, name, act):
        self.path = os.path.join(WORK, "fault-" + name)
        self.ls = socket.socket(socket.AF_UNIX)
        self.ls.bind(self.path)
        self.ls.listen(8)
        self.act = act
        self.conns = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            self.conns.append(c)
            try:
                self.act(c)
            except OSError:
                pass

    def close(self):
        self.ls.close()
        for c in self.conns:
            c.close()


HANDSHAKE = (b"VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext"
             b"\nSPID\t1\nCUID\t1\nCOOKIE\t00\nDONE\n")


def fault_garbage(c):
    c.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    c.close()


def fault_close(c):
    c.close()


def fault_silent(c):
    pass                        # accepted, never answered


def fault_version2(c):
    c.sendall(HANDSHAKE.replace(b"VERSION\t1\t2", b"VERSION\t2\t0"))


def fault_answer(c):
    c.sendall(HANDSHAKE)
    c.recv(65536)
    c.sendall(b"WHAT\t1\n")


def test_dovecot_faults():
    for name, act, slow in (("garbage", fault_garbage, False),
                            ("close", fault_close, False),
                            ("silent", fault_silent, True),
                            ("version-2", fault_version2, False),
                            ("bad-answer", fault_answer, False)):
        fs = FaultSocket(name, act)
        s = Session(["--auth-dovecot", fs.path, "--auth-plaintext",
                     "--auth-timeout", "2"], tag="fault-" + name)
        try:
            s.reply()
            s.ehlo()
            r, took = s.timed(b"AUTH PLAIN " + plain("alice", PW["alice"]))
            noop = s.first(b"NOOP")
            s.first(b"QUIT")
        finally:
            rc, log = s.finish()
            fs.close()
        ok_time = (2.0 <= took < 2 + SLACK) if slow else took < FAST
        check("auth-dovecot-fault-%s-454" % name, r.startswith(TEMP_454) and
              ok_time and noop.startswith(b"250") and rc == 0 and
              len(events(log, "auth-failed")) == 1,
              "%r after %.2f s, rc %r %s" % (r, took, rc, log))
        s.cleanup()


# --- real clients ------------------------------------------------------------

def server(name, backend, args=()):
    if backend == "dovecot":
        b = ["--auth-dovecot", DOVECOT.sock]
    else:
        b = ["--auth-checkpassword", crypt_checker(name)]
    return netlib.Server(tls_args() + b + ["--require-auth"] + list(args),
                         qbase=WORK)


def session_end(srv, n):
    """(exit status, log text) of the n-th session of srv to end."""
    return tlslib.session_end(srv, n, T)


def run(cmd, inp=None, timeout=T):
    return tlslib.run(cmd, timeout, inp)


def client_result(srv, name, ok_run, detail, user="alice", msg=None):
    """The checks every client case makes of its message."""
    status, log = session_end(srv, 1)
    got = []
    for n in srv.q.files("new"):
        blob = srv.q.read(n)
        keep("queue file " + name, blob)
        fields, message = lib.split_spool(blob)
        got.append((fields,) + lib.received_split(message))
    fields, rec, rest = got[0] if len(got) == 1 else (None, b"", b"")
    d = dict(fields or [])
    check("auth-client-%s" % name, ok_run and status == 0 and
          len(got) == 1 and envelope_auth(fields, user) and
          (msg is None or rest == msg), "status %r %r %r\n%s\n%s" % (
              status, fields, rest[:200], detail, log))
    check("auth-client-%s-esmtpsa" % name, d.get("Protocol") == "ESMTPSA"
          and " with ESMTPSA (using TLSv1." in flat(rec) and
          d.get("TLS", "").startswith("TLSv1."), "%r %r" % (fields, rec))
    return status, log


def client_refused(srv, name, ok_run, detail, n=2):
    """A second run of the client, with a wrong password: it fails,
    nothing more is queued, smtpd logs the failure."""
    status, log = session_end(srv, n)
    check("auth-client-%s-wrong-password" % name, ok_run and
          len(srv.q.files("new")) <= n - 1 and
          len(events(log, "auth-failed")) >= 1, "%s\n%s" % (detail, log))


def keep_server(srv, name):
    keep("tcpserver " + name, srv.logbytes())


def swaks_case(backend, mech):
    name = "swaks-%s-%s" % (mech.lower(), backend)
    srv = server(name, backend)
    try:
        base = ["swaks", "--server", "127.0.0.1:%d" % srv.port, "--tls",
                "--tls-verify", "--tls-ca-path", PKI_.ca, "--helo", HELO,
                "--to", "r@elsewhere.example", "--from", "s@example.org",
                "--header", "Subject: swaks", "--auth", mech,
                "--auth-user", "alice"]
        rc, out, err = run(base + ["--auth-password", PW["alice"]])
        out += err
        ok = (rc == 0 and re.search(rb"<~  235 2\.7\.0", out) is not None
              and re.search(rb"<~  250 2\.0\.0 OK queued as", out)
              is not None)
        if mech == "LOGIN":
            ok = ok and b"<~  334 VXNlcm5hbWU6" in out and \
                b"<~  334 UGFzc3dvcmQ6" in out
        client_result(srv, name, ok, "rc %r %s" % (
            rc, out[-1500:].decode("utf-8", "replace")))
        rc, out, err = run(base + ["--auth-password", WRONG])
        client_refused(srv, name, rc not in (0, "timeout") and
                       b"<~* 535 5.7.8" in out + err, "rc %r %r" % (
                           rc, (out + err)[-600:]))
    finally:
        keep_server(srv, name)
        srv.cleanup()


def smtplib_case(backend, mech):
    name = "smtplib-%s-%s" % (mech.lower(), backend)
    srv = server(name, backend)
    detail = ""
    try:
        ok = False
        try:
            c = smtplib.SMTP("127.0.0.1", srv.port, local_hostname=HELO,
                             timeout=T)
            c.ehlo()
            plain_kw = dict(c.esmtp_features)
            c.starttls(context=ctx())
            c.ehlo()
            kw = dict(c.esmtp_features)
            if mech == "PLAIN":
                r = c.login("alice", PW["alice"])
            else:       # LOGIN, the user name as its initial response
                c.user, c.password = "alice", PW["alice"]
                r = c.auth("LOGIN", c.auth_login)
            refused = c.sendmail("s@example.org", ["r@elsewhere.example"],
                                 MSG)
            c.quit()
            ok = (r[0] == 235 and refused == {} and "auth" not in plain_kw
                  and kw.get("auth", "").split() == ["PLAIN", "LOGIN"])
            detail = "%r %r %r %r" % (r, refused, plain_kw, kw)
        except Exception as e:          # whatever the client makes of it
            detail = repr(e)
        client_result(srv, name, ok, detail, msg=MSG)
        err = None
        try:
            c = smtplib.SMTP("127.0.0.1", srv.port, local_hostname=HELO,
                             timeout=T)
            c.starttls(context=ctx())
            c.ehlo()
            if mech == "PLAIN":
                c.login("alice", WRONG)
            else:
                c.user, c.password = "alice", WRONG
                c.auth("LOGIN", c.auth_login)
        except smtplib.SMTPAuthenticationError as e:
            err = e
        except Exception as e:
            err = None
            detail = repr(e)
        try:
            c.close()
        except Exception:
            pass
        client_refused(srv, name, err is not None and err.smtp_code == 535,
                       "%r %s" % (err, detail))
    finally:
        keep_server(srv, name)
        srv.cleanup()


MSMTP_CONF = """defaults
account default
host 127.0.0.1
port %d
tls on
tls_starttls on
tls_trust_file %s
from s@example.org
domain %s
auth on
user alice
password %s
"""


def msmtp_case(backend):
    name = "msmtp-%s" % backend
    srv = server(name, backend)
    try:
        outs = []
        for i, pw in enumerate((PW["alice"], WRONG)):
            conf = os.path.join(WORK, "msmtp-%s-%d.conf" % (backend, i))
            with open(conf, "w") as f:
                f.write(MSMTP_CONF % (srv.port, PKI_.ca, HELO, pw))
            os.chmod(conf, 0o600)
            outs.append(run(["msmtp", "-C", conf, "-v",
                             "r@elsewhere.example"],
                            MSG.replace(b"\r\n", b"\n")))
            if i == 0:
                rc, out, err = outs[0]
                client_result(srv, name, rc == 0, "rc %r %s" % (
                    rc, (out + err)[-1500:].decode("utf-8", "replace")),
                              msg=MSG)
        rc, out, err = outs[1]
        client_refused(srv, name, rc not in (0, "timeout") and
                       b"535 5.7.8" in out + err, "rc %r %r" % (
                           rc, (out + err)[-600:]))
    finally:
        keep_server(srv, name)
        srv.cleanup()


def curl_case(backend):
    name = "curl-smtps-%s" % backend
    srv = server(name, backend, ["--tls-implicit"])
    try:
        msg = os.path.join(WORK, "curl-%s.eml" % backend)
        with open(msg, "wb") as f:
            f.write(MSG)
        url = "smtps://127.0.0.1:%d/%s" % (srv.port, HELO)
        base = ["curl", "-sS", "-v", "--cacert", PKI_.ca, "--mail-from",
                "s@example.org", "--mail-rcpt", "r@elsewhere.example", "-T",
                msg, url, "--user"]
        rc, out, err = run(base + ["alice:" + PW["alice"]])
        client_result(srv, name, rc == 0 and b"< 235 2.7.0" in err,
                      "rc %r %s" % (rc, err[-1500:].decode("utf-8",
                                                           "replace")),
                      msg=MSG)
        rc, out, err = run(base + ["alice:" + WRONG])
        client_refused(srv, name, rc == 67, "rc %r %r" % (rc, err[-600:]))
    finally:
        keep_server(srv, name)
        srv.cleanup()


def test_swaks():
    for backend in ("checkpassword", "dovecot"):
        for mech in ("PLAIN", "LOGIN"):
            if backend == "dovecot" and DOVECOT is None:
                continue
            swaks_case(backend, mech)


def test_smtplib():
    for backend in ("checkpassword", "dovecot"):
        for mech in ("PLAIN", "LOGIN"):
            if backend == "dovecot" and DOVECOT is None:
                continue
            smtplib_case(backend, mech)


def test_msmtp():
    for backend in ("checkpassword", "dovecot"):
        if backend == "dovecot" and DOVECOT is None:
            continue
        msmtp_case(backend)


def test_curl():
    for backend in ("checkpassword", "dovecot"):
        if backend == "dovecot" and DOVECOT is None:
            continue
        curl_case(backend)


# --- the runner --------------------------------------------------------------

def secrets_never_logged():
    """Every log smtpd wrote in this group (sessions, tcpserver logs) and
    every queue file: no password, no base64 the clients sent."""
    with _lock:
        secrets = sorted(x for x in SENT if len(x) >= 4)
        logs = list(LOGS)
    hits = [(what, sec) for what, text in logs for sec in secrets
            if sec in text]
    check("auth-password-never-logged-or-stored", len(logs) > 20 and
          not hits, "%d logs searched; found %r" % (len(logs), hits[:5]))


# (function, needs TLS in the build, what else it needs)
TESTS = [
    (test_swaks, True, ("pki", "tcpserver", "swaks", "crypt")),
    (test_smtplib, True, ("pki", "tcpserver", "crypt")),
    (test_msmtp, True, ("pki", "tcpserver", "msmtp", "crypt")),
    (test_curl, True, ("pki", "tcpserver", "curl", "crypt")),
    (test_failure_delays, None, ()),
    (test_user_names, None, ()),
    (test_crypt_backend, None, ("crypt",)),
    (test_dovecot_plain, None, ("dovecot",)),
    (test_dovecot_faults, None, ()),
    (test_temporary_failures, None, ()),
    (test_usage, None, ()),
    (test_no_backend_502, None, ()),
    (test_plain_text_538, None, ()),
    (test_plain_initial_response, None, ()),
    (test_plain_no_initial_response, None, ()),
    (test_login_two_steps, None, ()),
    (test_login_initial_response, None, ()),
    (test_empty_responses, None, ()),
    (test_authzid, None, ()),
    (test_mechanisms, None, ()),
    (test_sequence, None, ()),
    (test_malformed, None, ()),
    (test_cancel, None, ()),
    (test_long_lines, None, ()),
    (test_require_auth, None, ()),
    (test_failures_count_as_errors, None, ()),
    (test_relay, None, ()),
    (test_mail_auth_param, None, ()),
    (test_policy_environment, None, ()),
    (test_auth_in_received, None, ()),
    (test_debug_log, None, ()),
    (test_rejected_lines_not_logged, None, ()),
    (test_login_password_after_refused_user, None, ()),
    (test_not_dumpable, None, ()),
    (test_tls_offer, True, ("pki",)),
    (test_starttls_forgets_auth, True, ("pki",)),
    (test_implicit_tls, True, ("pki",)),
    (test_dovecot_login_crypt, None, ("dovecot",)),
    (test_dovecot_temporary, None, ("dovecot",)),
    (test_dovecot_tls, True, ("pki", "dovecot")),
    (test_dovecot_no_socket, None, ()),
]


def main():
    global PKI_, DOVECOT
    missing = {}
    if shutil.which("openssl") is None:
        check("auth-openssl-installed", False, "openssl not found "
              "(tests/deps.sh installs it)")
        missing["pki"] = missing["crypt"] = "openssl is not installed"
    else:
        try:
            make_crypt_passwd()
        except Exception as e:
            check("auth-crypt-passwd", False, "openssl passwd -6: %s" % e)
            missing["crypt"] = "no crypt passwd file"
        if TLS_BUILT:
            try:
                PKI_ = tlslib.PKI(os.path.join(WORK, "pki"),
                                  "smtpd auth test CA")
            except Exception as e:
                check("auth-pki", False, "cannot make the certificates: %s"
                      % e)
                missing["pki"] = "no certificates"
    if shutil.which("tcpserver") is None:
        check("auth-tcpserver-installed", False, "tcpserver not found "
              "(package ucspi-tcp-ipv6; tests/deps.sh installs it)")
        missing["tcpserver"] = "tcpserver is not installed"
    for name, why in (("swaks", tlslib.swaks_tls(auth=True)),
                      ("msmtp", tlslib.tool("msmtp")),
                      ("curl", tlslib.tool("curl"))):
        if why:
            missing[name] = why
    if dovecot_binary() is None:
        check("auth-dovecot-installed", False, "dovecot not found (package "
              "dovecot-core; tests/deps.sh installs it)")
        missing["dovecot"] = "dovecot is not installed"
    elif "openssl" not in missing.get("pki", ""):
        try:
            DOVECOT = Dovecot(os.path.join(WORK, "dovecot"))
            check("auth-dovecot-started", True)
        except Exception as e:
            check("auth-dovecot-started", False, "%s" % e)
            missing["dovecot"] = "dovecot did not start"
    todo = []
    for fn, needs_tls, needs in TESTS:
        name = lib.case_name(fn, "auth")
        if needs_tls is True and not TLS_BUILT:
            skip(name, "needs TLS; this smtpd is built without it "
                 "(--version: tls: no)")
        elif [n for n in needs if n in missing]:
            skip(name, "; ".join(missing[n] for n in needs if n in missing))
        else:
            todo.append(fn)
    try:
        lib.run_threads(todo, "auth")
        secrets_never_logged()
    finally:
        if DOVECOT is not None:
            DOVECOT.stop()
        shutil.rmtree(WORK, ignore_errors=True)
    lib.finish()


if __name__ == "__main__":
    main()
