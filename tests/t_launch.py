"""t_launch.py - smtpd under the real launchers, and how it is installed.

Real mail, end to end, with Python smtplib through: systemd-socket-activate
(--inetd -a, and -a where the connection is fd 3), xinetd -dontfork with
units/xinetd/smtpd, and the tcpserver chains of units/tcpserver (tcprules,
rblsmtpd, recordio).  The tcpserver chains see real client addresses:
they run in a private network namespace whose loopback device also
carries 10.1.2.3, 192.0.2.9, 192.0.2.66 and 198.51.100.7, so the rules
match real peers.  (systemd-socket-activate sets no REMOTE_ADDR, unlike
systemd itself; -E sets it as systemd would, to an address that is not
the peer's, to show that smtpd takes it over the socket.)  Also: journal
records (a datagram socket bound at /run/systemd/journal/socket), the
units (systemd-analyze verify and security, sysusers, tmpfiles, the
syscalls smtpd makes against SystemCallFilter=), make install/uninstall,
and the man pages (mandoc -T lint, man).  TLS as the launchers run it
(issue 16): the TLS units' settings, their command lines under
systemd-socket-activate with the certificate as LoadCredential= passes
it, the system calls, sockets and files of TLS sessions against the
units' sandbox, units/xinetd/smtps and units/tcpserver/run-smtps.
AUTH as the submission units run it (issue 17): --require-auth and the
backend from /etc/default/smtpd (units/smtpd.default) in the units, no
trust by address; their command lines under systemd-socket-activate
with examples/checkpassword-crypt and with a real Dovecot auth socket;
the system calls, sockets and files of AUTH sessions with either
backend against the units' sandbox.  Filters (issue 21): the milter
drop-in (units/smtpd-milter.conf) verified and scored with
smtpd@.service; its command line by hand under the unit's user, groups
and namespaces reaching a real OpenDKIM's socket laid out as Debian's
(and refused without the groups); a milter session traced.
"""
import base64
import fcntl
import grp
import os
import re
import shutil
import smtplib
import socket
import struct
import subprocess
import sys
import time
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
import tlslib  # noqa: E402
from lib import check  # noqa: E402

UNITS = os.path.join(lib.ROOT, "units")
HELO = "client.test.example"
QUEUED_RE = re.compile(r"^2\.0\.0 OK queued as ([A-Za-z0-9.]+)$")
REPLY_LINE = re.compile(rb"^[2-5][0-9][0-9][ -][^\r\n]*\r\n$")
JOURNAL_SOCKET = "/run/systemd/journal/socket"
LOCK = os.path.join(tempfile.gettempdir(), "smtpd-t_launch.lock")
NOBODY = 65534
# addresses on the loopback device of the private network namespace, and
# the units/tcpserver/tcp.smtp rule each one meets
NETNS_ADDRS = ("10.1.2.3", "192.0.2.9", "192.0.2.66", "198.51.100.7")


def free_port():
    return lib.free_port()


def sanitized():
    """Is the binary under test an ASan/UBSan build?"""
    with open(lib.SMTPD, "rb") as f:
        return b"__asan_init" in f.read()


# every smtpd runs under valgrind (make valgrind-test): slower
SLOW = os.environ.get("SMTPD_TEST_VALGRIND") == "1"


def asan_env(opts):
    """ASAN_OPTIONS with opts added to what the caller had."""
    cur = os.environ.get("ASAN_OPTIONS", "")
    return {"ASAN_OPTIONS": (cur + ":" if cur else "") + opts}


def has_libsystemd():
    out = subprocess.run([lib.SMTPD, "--version"], capture_output=True,
                         env=lib.base_env()).stdout
    return b"libsystemd: loaded when used" in out


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("timeout", 60)
    kw.setdefault("env", lib.base_env())
    return subprocess.run(cmd, **kw)


def text(b):
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else b


# --- a super-server, and a client that keeps every byte it reads ----------

class Launcher:
    """A super-server in its own process group, output to a log file.

    cmd_for(port) gives the command line; a port taken in between is
    retried.  ready: 'greet' waits for a 220 on 127.0.0.1:port.
    """

    def __init__(self, name, cmd_for, workdir, env=None, ready="greet"):
        self.name = name
        self.log = os.path.join(workdir, name + ".log")
        self.p = None
        self.port = None
        for _ in range(5):
            port = free_port()
            with open(self.log, "ab") as logf:
                self.p = subprocess.Popen(
                    cmd_for(port), stdin=subprocess.DEVNULL, stdout=logf,
                    stderr=logf, env=env or lib.base_env(),
                    start_new_session=True)
            if ready != "greet" or self._wait_ready(port):
                self.port = port
                return
            self.stop()
        raise RuntimeError("%s did not start: %s" % (name, self.output()))

    def _wait_ready(self, port):
        return lib.wait_greeting(self.p, port, 10, 5)

    def stop(self):
        lib.stop_group(self.p)

    def output(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""


class _Tap:
    """A reply stream that keeps a copy of every byte read from it."""

    def __init__(self, f, buf):
        self.f, self.buf = f, buf

    def readline(self, n=-1):
        line = self.f.readline(n)
        self.buf += line
        return line

    def read(self, n=-1):
        data = self.f.read(n)
        self.buf += data
        return data

    def close(self):
        self.f.close()


class TapSMTP(smtplib.SMTP):
    """smtplib.SMTP keeping everything the server sent (received)."""

    def __init__(self, *a, **kw):
        self.received = bytearray()
        super().__init__(*a, **kw)

    def getreply(self):
        if self.file is None:
            self.file = _Tap(self.sock.makefile("rb"), self.received)
        return super().getreply()


def session(port, rcpts, sender="s@example.org", source=None, subject="t"):
    """One mail transaction with smtplib, then QUIT and read to EOF.

    Returns a dict: greeting, rcpt {addr: (code, text)}, data (code,
    text), qid, port (ours), received (every byte), trailing (bytes after
    the 221), error (repr of an exception).
    """
    msg = ("From: <%s>\r\nSubject: %s\r\n\r\nlaunch test\r\n" % (
        sender, subject)).encode()
    r = {"rcpt": {}, "data": None, "qid": None, "error": None,
         "trailing": b"", "received": b"", "greeting": None, "port": None}
    c = TapSMTP(local_hostname=HELO, timeout=20,
                source_address=(source, 0) if source else None)
    try:
        r["greeting"] = c.connect("127.0.0.1", port)
        r["port"] = c.sock.getsockname()[1]
        c.ehlo()
        c.mail(sender)
        for rc in rcpts:
            r["rcpt"][rc] = c.rcpt(rc)
        if any(v[0] == 250 for v in r["rcpt"].values()):
            code, txt = c.data(msg)
            r["data"] = (code, text(txt))
            m = QUEUED_RE.match(text(txt))
            r["qid"] = m.group(1) if code == 250 and m else None
        c.putcmd("quit")
        r["quit"] = c.getreply()
        r["trailing"] = c.file.read()
    except (smtplib.SMTPException, OSError) as e:
        r["error"] = repr(e)
    finally:
        r["received"] = bytes(c.received)
        c.close()
    return r


def rcpt_code(r, addr):
    v = r["rcpt"].get(addr)
    return (v[0], text(v[1])[:5]) if v else None


def envelope(q, qid):
    """The envelope of new/QID as a dict, or None."""
    if qid is None or qid not in q.files("new"):
        return None
    fields, _ = lib.split_spool(q.read(qid))
    return dict(fields)


def want(name, env, expect, extra=""):
    """Check envelope fields: expect maps key to value (None: absent)."""
    bad = {k: (v, (env or {}).get(k)) for k, v in expect.items()
           if (env or {}).get(k) != v}
    return check(name, env is not None and not bad,
                 "want/got %r %s" % (bad, extra) if env is not None else
                 "not spooled %s" % extra)


def locked():
    """An exclusive lock on LOCK: our runs share system socket paths."""
    f = open(LOCK, "w")
    fcntl.flock(f, fcntl.LOCK_EX)
    return f


# --- systemd-socket-activate ----------------------------------------------

def activate(name, workdir, q, inetd, setenv=(), wrap=()):
    """systemd-socket-activate -a [--inetd] [-E ...] [wrap...] smtpd."""
    def cmd(port):
        c = ["systemd-socket-activate", "-l", "127.0.0.1:%d" % port, "-a"]
        c += ["--inetd"] if inetd else []
        if os.geteuid() == 0:   # it passes no environment of its own
            c += ["-E", "SMTPD_ALLOW_ROOT=1"]
        for kv in setenv:
            c += ["-E", kv]
        return c + list(wrap) + [lib.SMTPD, "--queue", q.dir, "--hostname",
                                 lib.HOST, "--domain", "ok.example"]
    return Launcher(name, cmd, workdir)


def check_activated_peer(name, srv, q):
    """No REMOTE_ADDR: the address comes from the passed socket itself."""
    r = session(srv.port, ["far@foreign.example"], subject=name)
    env = envelope(q, r["qid"])
    want(name + "-mail", env, {
        "Client-Address": "127.0.0.1", "Client-Port": str(r["port"]),
        "Trusted": "yes", "Helo": HELO, "Sender": "<s@example.org>",
        "Recipient": "<far@foreign.example>"},
        "reply %r error %s log %s" % (r["data"], r["error"], srv.output()))
    check(name + "-log", "ip=127.0.0.1 event=connect port=%s trusted=yes"
          % r["port"] in srv.output() and "event=queued queue_id=%s" %
          r["qid"] in srv.output(), srv.output()[-1500:])


def check_remote_addr(name, srv, q):
    """REMOTE_ADDR/REMOTE_PORT, as systemd sets them, win over the socket."""
    r = session(srv.port, ["far@foreign.example", "user@ok.example"],
                subject=name)
    check(name + "-relay-550", rcpt_code(r, "far@foreign.example") ==
          (550, "5.7.1") and rcpt_code(r, "user@ok.example") == (250,
          "2.1.5"), "rcpt %r error %s" % (r["rcpt"], r["error"]))
    env = envelope(q, r["qid"])
    want(name + "-mail", env, {
        "Client-Address": "192.0.2.7", "Client-Port": "4242",
        "Trusted": "no", "Recipient": "<user@ok.example>"},
        "reply %r log %s" % (r["data"], srv.output()))
    check(name + "-log", "ip=192.0.2.7 event=connect port=4242 trusted=no"
          in srv.output(), srv.output()[-1500:])


def test_socket_activate(workdir):
    if shutil.which("systemd-socket-activate") is None:
        print("SKIP activate: systemd-socket-activate is not installed")
        return
    remote = ("REMOTE_ADDR=192.0.2.7", "REMOTE_PORT=4242")
    cases = [("activate-inetd", True, (), (), check_activated_peer),
             ("activate-inetd-remote-addr", True, remote, (),
              check_remote_addr),
             ("activate-fd3", False, (), (), check_activated_peer),
             ("activate-fd3-remote-addr", False, remote, (),
              check_remote_addr)]
    if os.geteuid() == 0:
        # what PrivateNetwork=, PrivateIPC=, ProtectHostname= and
        # PrivateMounts= of smtpd@.service do: the passed socket still works
        cases.append(("activate-fd3-namespaces", False, (),
                      ("unshare", "--net", "--ipc", "--uts", "--mount",
                       "--"), check_activated_peer))
    for name, inetd, setenv, wrap, fn in cases:
        q = lib.Queue()
        srv = None
        try:
            srv = activate(name, workdir, q, inetd, setenv, wrap)
            fn(name, srv, q)
            if not inetd:
                # fd 3 carried the session: nothing went to stdout (the log)
                check(name + "-not-stdout", "220 " + lib.HOST not in
                      srv.output(), srv.output()[-800:])
        except Exception as e:
            check(name, False, "exception %r" % e)
        finally:
            if srv is not None:
                srv.stop()
            q.cleanup()


# --- the systemd units -----------------------------------------------------

SERVICES = ("smtpd@.service", "smtpd-submission@.service", "smtps@.service")
SOCKETS = ("smtpd.socket", "smtpd-submission.socket", "smtps.socket")
# the Accept=no alternative for port 25: one supervisor forks the sessions
FAST = ("smtpd-fast.service", "smtpd-fast.socket")
# the drop-in that turns STARTTLS on for smtpd@.service (port 25)
TLS_DROPIN = "smtpd-tls.conf"
# the drop-in that sends port 25's mail through rspamd and OpenDKIM
MILTER_DROPIN = "smtpd-milter.conf"
# the variants unit_copies makes: (unit, copy of socket, what it is)
VARIANTS = (("smtpd-fd3@.service", "smtpd-fd3.socket"),
            ("smtpd-tls@.service", "smtpd-tls.socket"),
            ("smtpd-milter@.service", "smtpd-milter.socket"))
# where the shipped units and the drop-in find the certificate and key
TLS_FILES = {"tls-cert": "/etc/smtpd/tls/cert.pem",
             "tls-key": "/etc/smtpd/tls/key.pem"}
QUEUE_UNITS = ("smtpd-deliver.path", "smtpd-deliver.service",
               "smtpd-queue-clean.service", "smtpd-queue-clean.timer",
               "smtpd-queue-metrics.service", "smtpd-queue-metrics.timer")
# the AUTH settings both submission units read (EnvironmentFile=), and
# the example of that file that make install puts with the examples
AUTH_DEFAULTS = "/etc/default/smtpd"
AUTH_DEFAULTS_EXAMPLE = "smtpd.default"
AUTH_UNITS = (("smtpd-submission@.service", "smtpd-submission.socket"),
              ("smtps@.service", "smtps.socket"))
# the user the unit tests authenticate as, and the client address systemd
# would set (REMOTE_ADDR): not loopback, so nothing but AUTH lets it relay
AUTH_USER, AUTH_PASS = "alice", "correct horse battery staple"
AUTH_REMOTE = "192.0.2.7"


def fd3_variant(src):
    """smtpd@.service with its commented fd-3 alternative switched on."""
    out = src.replace("StandardInput=socket\n", "").replace(
        "StandardOutput=socket\n", "")
    out = out.replace("#StandardInput=null\n", "StandardInput=null\n")
    out = out.replace("#StandardOutput=journal\n", "StandardOutput=journal\n")
    return out


def tls_variant(src):
    """smtpd@.service with the STARTTLS drop-in (smtpd-tls.conf) added, as
    systemd reads a unit and its drop-ins: one more [Service] section."""
    with open(os.path.join(UNITS, TLS_DROPIN)) as f:
        return src + "\n" + f.read()


def milter_variant(src):
    """smtpd@.service with the milter drop-in (smtpd-milter.conf) added,
    its ExecStart= naming the built binary."""
    with open(os.path.join(UNITS, MILTER_DROPIN)) as f:
        return src + "\n" + f.read().replace("/usr/sbin/smtpd", lib.SMTPD)


def unit_copies(workdir):
    """The units with ExecStart= naming the built binary, plus the fd-3
    variant (smtpd-fd3.socket, smtpd-fd3@.service), smtpd@.service with
    its TLS drop-in (smtpd-tls.socket, smtpd-tls@.service), with its
    milter drop-in (smtpd-milter.socket, smtpd-milter@.service), and a man
    directory holding our pages so Documentation=man:smtpd(8) resolves."""
    d = os.path.join(workdir, "units")
    os.makedirs(d)
    for f in SERVICES + SOCKETS + FAST:
        with open(os.path.join(UNITS, f)) as src:
            body = src.read().replace("/usr/sbin/smtpd", lib.SMTPD)
        with open(os.path.join(d, f), "w") as dst:
            dst.write(body)
    with open(os.path.join(d, "smtpd@.service")) as f:
        svc = f.read()
    for (name, sock), make in zip(VARIANTS, (fd3_variant, tls_variant,
                                             milter_variant)):
        with open(os.path.join(d, name), "w") as f:
            f.write(make(svc))
        shutil.copy(os.path.join(d, "smtpd.socket"), os.path.join(d, sock))
    man = os.path.join(workdir, "man")
    for page, sec in (("smtpd.8", "8"), ("smtpd-spool.5", "5")):
        os.makedirs(os.path.join(man, "man" + sec), exist_ok=True)
        shutil.copy(os.path.join(lib.ROOT, "man", page), os.path.join(man,
                                                             "man" + sec))
    return d, man


def test_units_verify(d, man):
    env = lib.base_env({"MANPATH": man + ":", "SYSTEMD_PAGER": "",
                        "SYSTEMD_LOG_COLOR": "0"})
    names = list(SOCKETS + SERVICES + FAST) + [n for v in VARIANTS
                                               for n in v]
    p = run(["systemd-analyze", "verify"] + [os.path.join(d, n)
                                             for n in names], env=env)
    out = (p.stdout + p.stderr).decode("utf-8", "replace")
    if p.returncode != 0 and re.search(r"(?i)not booted|no such file or "
                                       r"directory.*/run/systemd", out):
        print("SKIP units-verify: systemd-analyze verify cannot run here: "
              "%s" % out.strip()[:300])
        return
    check("units-verify", p.returncode == 0 and out.strip() == "",
          "rc %d: %s" % (p.returncode, out))


def security_score(path):
    p = run(["systemd-analyze", "security", "--offline=true", "--no-pager",
             path], env=lib.base_env({"SYSTEMD_COLORS": "0"}))
    out = p.stdout.decode("utf-8", "replace")
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", out)
    return (float(m.group(1)), m.group(2)) if m else None, out


def test_units_security(d):
    for name in SERVICES + FAST[:1] + tuple(v[0] for v in VARIANTS):
        score, out = security_score(os.path.join(d, name))
        print("score %s: %s" % (name, score))
        check("security-" + name, score is not None and score[0] <= 1.0 and
              score[1] == "SAFE", "score %r\n%s" % (score, "\n".join(
                  ln for ln in out.splitlines() if "\u2717" in ln)))


def unit_lines(name):
    """A shipped unit's lines, stripped, without comments and blanks."""
    with open(os.path.join(UNITS, name)) as f:
        return [ln.strip() for ln in f if ln.strip() and
                not ln.lstrip().startswith("#")]


def test_units_content():
    """The settings the issue asks for, in the files as shipped."""
    load = unit_lines
    sock = load("smtpd.socket")
    check("unit-socket-settings", all(x in sock for x in (
        "ListenStream=25", "Accept=yes")) and any(
        x.startswith("MaxConnections=") for x in sock) and any(
        x.startswith("MaxConnectionsPerSource=") for x in sock), "%r" % sock)
    check("unit-submission-port", "ListenStream=587" in
          load("smtpd-submission.socket"), "")
    check("unit-smtps-port", all(x in load("smtps.socket") for x in (
        "ListenStream=465", "Accept=yes")), "")
    for name in SERVICES:
        svc = load(name)
        check("unit-settings-" + name, all(x in svc for x in (
            "User=smtpd", "StandardInput=socket", "StandardOutput=socket",
            "StandardError=journal", "ReadWritePaths=/var/spool/smtpd")) and
            any(x.startswith("ExecStart=/usr/sbin/smtpd --queue "
                             "/var/spool/smtpd") for x in svc), "%r" % svc)
    test_units_tls_content(load)
    test_units_auth_content(load)
    test_units_milter_content(load)
    test_units_fast_content(load)


def test_units_fast_content(load):
    """smtpd-fast: Accept=no on port 25, never next to smtpd.socket; the
    supervisor alone gets SIGTERM and the sessions may end; the session
    sandbox is smtpd@.service's, line for line."""
    sock, svc = load("smtpd-fast.socket"), load("smtpd-fast.service")
    check("unit-fast-socket", all(x in sock for x in (
        "ListenStream=25", "Accept=no", "Conflicts=smtpd.socket")),
        "%r" % sock)
    cmd = exec_start(svc)
    check("unit-fast-service", all(x in svc for x in (
        "KillMode=mixed", "StandardInput=null", "User=smtpd")) and
        cmd[:3] == ["/usr/sbin/smtpd", "--queue", "/var/spool/smtpd"] and
        "--max-connections" in cmd and "--max-per-ip" in cmd, "%r" % svc)
    hard = [x for x in load("smtpd@.service") if x.split("=")[0] in (
        "NoNewPrivileges", "ProtectSystem", "PrivateNetwork",
        "SystemCallFilter", "RestrictAddressFamilies", "PrivateUsers",
        "MemoryDenyWriteExecute", "CapabilityBoundingSet", "ProtectProc")]
    missing = [x for x in hard if x not in svc]
    check("unit-fast-sandbox-as-session", hard and not missing,
          "missing %r" % missing)


def exec_start(lines):
    """The ExecStart= command of a unit's lines (continuations joined)."""
    out, cont = None, False
    for ln in lines:
        if cont:
            out += " " + ln.rstrip("\\").strip()
        elif ln.startswith("ExecStart="):
            out = ln[len("ExecStart="):].rstrip("\\").strip()
        else:
            continue
        cont = ln.endswith("\\")
    return out.split() if out else []


def test_units_tls_content(load):
    """Port 25 works without a certificate (TLS only through the
    drop-in); 465 and 587 load it, and their sockets assert it exists."""
    creds = ["LoadCredential=%s:%s" % kv for kv in sorted(TLS_FILES.items())]
    # the TLS files, and the AUTH settings (test_units_auth_content)
    asserts = sorted(["AssertFileNotEmpty=" + v for v in TLS_FILES.values()]
                     + ["AssertFileNotEmpty=" + AUTH_DEFAULTS])

    def tls_lines(lines, key):
        return sorted(x for x in lines if x.startswith(key))
    port25 = load("smtpd@.service")
    check("unit-tls-port25-optional", tls_lines(port25, "LoadCredential")
          == [] and not any(x.startswith("--tls") or x == "--require-tls"
                            for x in exec_start(port25)) and
          tls_lines(load("smtpd.socket"), "Assert") == [], "%r" % port25)
    check("unit-tls-dropin", load(TLS_DROPIN) == ["[Service]"] + creds,
          "%r" % load(TLS_DROPIN))
    for svc, sock, flag, other in (
            ("smtpd-submission@.service", "smtpd-submission.socket",
             "--require-tls", "--tls-implicit"),
            ("smtps@.service", "smtps.socket", "--tls-implicit",
             "--require-tls")):
        lines, argv = load(svc), exec_start(load(svc))
        check("unit-tls-" + svc, tls_lines(lines, "LoadCredential") == creds
              and flag in argv and other not in argv and not any(
                  x in ("--tls-cert", "--tls-key") for x in argv),
              "argv %r lines %r" % (argv, lines))
        check("unit-tls-" + sock, tls_lines(load(sock), "Assert") == asserts,
              "%r" % load(sock))


# what the milter drop-in adds to port 25's command: rspamd's proxy
# worker and Debian's OpenDKIM, by their sockets; and the groups that
# give the sessions the right to connect to them
MILTER_SOCKETS = ("/run/rspamd/milter.sock", "/run/opendkim/opendkim.sock")
MILTER_GROUPS = ("_rspamd", "opendkim")


def test_units_milter_content(load):
    """The milter drop-in: the filters' groups and port 25's shipped
    command with the filters added, and nothing else (the sandbox as
    shipped)."""
    lines = load(MILTER_DROPIN)
    want = exec_start(load("smtpd@.service"))
    for path in MILTER_SOCKETS:
        want += ["--milter", "unix:" + path]
    keys = {ln.split("=", 1)[0] for ln in lines[1:]
            if not ln.startswith("--")}     # not continuation lines
    check("unit-milter-dropin", lines[0] == "[Service]" and
          "SupplementaryGroups=" + " ".join(MILTER_GROUPS) in lines and
          "ExecStart=" in lines and exec_start(lines) == want and
          keys == {"SupplementaryGroups", "ExecStart"}, "%r" % lines)


def env_file(path):
    """An EnvironmentFile= as systemd reads it: KEY=VALUE lines, # and ;
    comments, a value in double or single quotes taken without them."""
    out = {}
    with open(path) as f:
        for ln in f:
            ln = ln.strip()
            if not ln or ln[0] in "#;" or "=" not in ln:
                continue
            k, _, v = ln.partition("=")
            v = v.strip()
            if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
                v = v[1:-1]
            out[k.strip()] = v
    return out


def test_units_auth_content(load):
    """Ports 587 and 465 relay by AUTH alone (issue 17): --require-auth,
    the backend from /etc/default/smtpd, which their sockets assert; no
    RELAYCLIENT, no address list; AUTH only under TLS (no
    --auth-plaintext).  Port 25 offers no AUTH.  The example of the file
    names a backend."""
    for svc, sock in AUTH_UNITS:
        lines, argv = load(svc), exec_start(load(svc))
        check("unit-auth-" + svc, "--require-auth" in argv and
              "$SMTPD_AUTH" in argv and "$SMTPD_SUBMISSION_OPTIONS" in argv
              and "EnvironmentFile=" + AUTH_DEFAULTS in lines and
              "--auth-plaintext" not in argv and not any(
                  "RELAYCLIENT" in x for x in lines),
              "argv %r lines %r" % (argv, lines))
        sl = load(sock)
        check("unit-auth-" + sock, "AssertFileNotEmpty=" + AUTH_DEFAULTS in
              sl and not any(x.startswith(("IPAddressAllow=",
                                           "IPAddressDeny=")) for x in sl)
              and any(x.startswith("MaxConnectionsPerSource=") for x in sl),
              "%r" % sl)
    port25 = load("smtpd@.service")
    check("unit-auth-port25-none", not any(
        a.startswith(("--auth", "$SMTPD_AUTH")) or a == "--require-auth"
        for a in exec_start(port25)) and not any(
        x.startswith("EnvironmentFile=") for x in port25), "%r" % port25)
    ex = env_file(os.path.join(UNITS, AUTH_DEFAULTS_EXAMPLE))
    words = ex.get("SMTPD_AUTH", "").split()
    check("unit-auth-defaults-example", len(words) == 2 and words[0] in (
        "--auth-dovecot", "--auth-checkpassword") and words[1].startswith("/")
          and "SMTPD_SUBMISSION_OPTIONS" in ex, "%r" % ex)


def test_sysusers_tmpfiles(workdir):
    """The user and the queue directories, made in a scratch root."""
    if os.geteuid() != 0:
        print("SKIP sysusers-tmpfiles: needs root to chown in a scratch "
              "root")
        return
    root = os.path.join(workdir, "root")
    os.makedirs(os.path.join(root, "etc"))
    p1 = run(["systemd-sysusers", "--root=" + root,
              os.path.join(UNITS, "smtpd.sysusers")])
    p2 = run(["systemd-tmpfiles", "--root=" + root, "--create",
              os.path.join(UNITS, "smtpd.tmpfiles")])
    uid = None
    try:
        with open(os.path.join(root, "etc", "passwd")) as f:
            for ln in f:
                if ln.startswith("smtpd:"):
                    uid = int(ln.split(":")[2])
    except OSError:
        pass
    got = {}
    for sub in ("", "/tmp", "/new"):
        try:
            st = os.stat(root + "/var/spool/smtpd" + sub)
            got[sub] = (oct(st.st_mode & 0o7777), st.st_uid, st.st_gid)
        except OSError as e:
            got[sub] = str(e)
    check("sysusers-tmpfiles", p1.returncode == 0 and p2.returncode == 0 and
          uid is not None and 0 < uid < 1000 and all(
              v == ("0o750", uid, uid) for v in got.values()),
          "uid %r dirs %r\n%s%s" % (uid, got, text(p1.stderr),
                                    text(p2.stderr)))


# --- journal records, and the syscalls smtpd makes ------------------------

def transcript(subject):
    return ("EHLO %s\r\nMAIL FROM:<j@example.org>\r\nRCPT TO:<r@example.com>"
            "\r\nDATA\r\nSubject: %s\r\n\r\nhi\r\n.\r\nQUIT\r\n" % (
                HELO, subject)).encode()


def two_pipelined(subject):
    """Two messages in one write: one batch (group commit)."""
    one = transcript(subject)
    return one[:one.index(b"QUIT")] + one[one.index(b"MAIL"):]


def journal_stream_env(path):
    st = os.stat(path)
    return {"JOURNAL_STREAM": "%d:%d" % (st.st_dev, st.st_ino)}


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
        fields.setdefault(k.decode(), []).append(v.decode("utf-8",
                                                          "replace"))
    return fields


def receive_records(sock):
    """Every datagram waiting on sock (memfd-passed ones too)."""
    recs = []
    sock.setblocking(False)
    while True:
        try:
            data, anc, _, _ = sock.recvmsg(1 << 20, socket.CMSG_SPACE(64))
        except BlockingIOError:
            return recs
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fd = struct.unpack("i", payload[:4])[0]
                data = os.pread(fd, 1 << 24, 0)
                os.close(fd)
        recs.append(parse_native(data))


class JournalSocket:
    """A datagram socket at /run/systemd/journal/socket, removed after."""

    def __init__(self):
        d = os.path.dirname(JOURNAL_SOCKET)
        self.made_dir = not os.path.isdir(d)
        os.makedirs(d, exist_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self.sock.bind(JOURNAL_SOCKET)

    def close(self):
        self.sock.close()
        os.unlink(JOURNAL_SOCKET)
        if self.made_dir:
            os.rmdir(os.path.dirname(JOURNAL_SOCKET))


def run_logged(q, workdir, subject, env_for, args=()):
    """smtpd on a transcript; stderr to a file; env_for(stderr path)."""
    err = os.path.join(workdir, subject + ".stderr")
    open(err, "wb").close()
    with open(err, "ab") as ef:
        p = subprocess.run([lib.SMTPD, "--queue", q.dir, "--hostname",
                            lib.HOST] + list(args), input=transcript(subject),
                           stdout=subprocess.PIPE, stderr=ef, timeout=30,
                           env=lib.base_env(env_for(err)))
    with open(err, "rb") as f:
        stderr = f.read().decode("utf-8", "replace")
    m = re.search(rb"250 2\.0\.0 OK queued as ([A-Za-z0-9.]+)", p.stdout)
    return p.returncode, m.group(1).decode() if m else None, stderr


def check_records(name, recs, qid):
    """connect, queued, disconnect records with their SMTPD_* fields."""
    mine = [r for r in recs if r.get("SYSLOG_IDENTIFIER") == ["smtpd"]]
    ev = {r.get("SMTPD_EVENT", ["?"])[0]: r for r in mine}
    q = ev.get("queued", {})
    check(name + "-fields", q.get("SMTPD_QUEUE_ID") == [qid] and
          q.get("SMTPD_SENDER") == ["j@example.org"] and
          q.get("SMTPD_CLIENT_ADDRESS") == ["local"] and
          q.get("SMTPD_RCPTS") == ["1"] and
          q.get("MESSAGE", [""])[0].startswith("ip=local event=queued "
                                                "queue_id=" + qid) and
          q.get("PRIORITY") == ["6"],
          "queued record %r (all events %r)" % (q, sorted(ev)))
    check(name + "-events", {"connect", "queued", "disconnect"} <= set(ev)
          and ev["disconnect"].get("SMTPD_REASON") == ["quit"] and all(
              "MESSAGE" in r and "SMTPD_EVENT" in r for r in mine),
          "events %r" % sorted(ev))


def test_journal(workdir):
    """With libsystemd: records to the journal socket when (and only when)
    stderr is JOURNAL_STREAM; without: the same events as stderr lines."""
    q = lib.Queue()
    try:
        if not has_libsystemd():
            rc, qid, err = run_logged(q, workdir, "nolib", journal_stream_env)
            check("journal-nolib-stderr", rc == 0 and qid is not None and
                  "event=queued queue_id=%s sender=j@example.org" % qid in
                  err, "rc %d qid %r stderr %r" % (rc, qid, err))
            rc, qid, err = run_logged(q, workdir, "nolib-forced",
                                      lambda e: {}, ("--log", "journal"))
            check("journal-nolib-forced-stderr", rc == 0 and "event=queued "
                  "queue_id=%s" % qid in err, "rc %d stderr %r" % (rc, err))
            return
        if os.path.exists(JOURNAL_SOCKET):
            print("SKIP journal-records: %s exists (a real journald owns it)"
                  % JOURNAL_SOCKET)
            return
        if os.geteuid() != 0:
            print("SKIP journal-records: needs root to bind %s"
                  % JOURNAL_SOCKET)
            return
        with locked():
            js = JournalSocket()
            try:
                journal_cases(js, q, workdir)
            finally:
                js.close()
    finally:
        q.cleanup()


def journal_cases(js, q, workdir):
    rc, qid, err = run_logged(q, workdir, "journal", journal_stream_env)
    recs = receive_records(js.sock)
    check("journal-session", rc == 0 and qid is not None and err == "",
          "rc %d qid %r stderr %r" % (rc, qid, err))
    check_records("journal", recs, qid)
    # JOURNAL_STREAM naming another file: stderr is not journald's
    rc, qid, err = run_logged(
        q, workdir, "journal-other",
        lambda e: journal_stream_env(os.path.join(workdir, "journal.stderr")))
    recs = receive_records(js.sock)
    check("journal-other-stream", rc == 0 and recs == [] and
          "event=queued queue_id=%s" % qid in err,
          "records %r stderr %r" % (recs[:2], err))
    # --log journal without JOURNAL_STREAM
    rc, qid, err = run_logged(q, workdir, "journal-forced", lambda e: {},
                              ("--log", "journal"))
    check_records("journal-forced", receive_records(js.sock), qid)
    # --log stderr wins over JOURNAL_STREAM
    rc, qid, err = run_logged(q, workdir, "journal-stderr",
                              journal_stream_env, ("--log", "stderr"))
    recs = receive_records(js.sock)
    check("journal-log-stderr", recs == [] and "event=queued queue_id=%s"
          % qid in err, "records %r stderr %r" % (recs[:2], err))


def syscall_set(group, seen=None):
    """The system calls in a SystemCallFilter= group, nested groups too."""
    seen = set() if seen is None else seen
    seen.add(group)
    out = run(["systemd-analyze", "syscall-filter", "--no-pager",
               group]).stdout.decode()
    calls = set()
    for ln in out.splitlines()[1:]:
        ln = ln.strip()
        if not ln or ln.startswith("#"):
            continue
        if ln.startswith("@"):
            if ln not in seen:
                calls |= syscall_set(ln, seen)
        else:
            calls.add(ln)
    return calls


def no_trace(tag):
    """Why the traced-session checks of tag cannot run here, or None:
    under valgrind strace would see valgrind, not smtpd; strace must be
    able to trace, and openssl makes the certificates."""
    if SLOW:
        return ("SKIP %s: under valgrind strace sees valgrind's calls and "
                "files, not smtpd's" % tag)
    if shutil.which("strace") is None or shutil.which("openssl") is None or \
            run(["strace", "-qq", "-o", "/dev/null", "true"]).returncode != 0:
        return "SKIP %s: strace cannot trace here, or no openssl" % tag
    return None


def service_syscalls():
    """What SystemCallFilter= of the receiving services allows."""
    return syscall_set("@system-service") - syscall_set(
        "@privileged") - syscall_set("@resources")


def test_syscalls(workdir):
    """Every system call a whole session on a socket makes (journal logging
    included, so libsystemd is loaded; two pipelined messages; the AIO calls a
    batch on a slow disk makes) passes smtpd@.service's SystemCallFilter=,
    and it creates no socket but AF_UNIX (RestrictAddressFamilies=)."""
    if shutil.which("strace") is None or run(
            ["strace", "-qq", "-o", "/dev/null", "true"]).returncode != 0:
        print("SKIP syscalls: strace cannot trace here")
        return
    allowed = service_syscalls()
    trace = os.path.join(workdir, "strace.out")
    q = lib.Queue()
    lock = locked()	# its journal records must not reach test_journal's
    try:
        err = os.path.join(workdir, "strace.stderr")
        open(err, "wb").close()
        # on a socket, as smtpd@.service runs it (Accept=yes)
        a, b = socket.socketpair()
        with open(err, "ab") as ef:
            p = subprocess.Popen(
                ["strace", "-f", "-qq", "-o", trace, lib.SMTPD, "--queue",
                 q.dir, "--hostname", lib.HOST, "--domain", "example.com"],
                stdin=a, stdout=a,
                stderr=ef,
                env=lib.base_env(dict(journal_stream_env(err), **asan_env(
                    "detect_leaks=0"))))	# LeakSanitizer cannot run traced
        a.close()
        b.settimeout(60)
        out = b.recv(4096)	# the greeting first: no early talker
        b.sendall(two_pipelined("strace"))
        out += lib.recv_all(b)
        b.close()
        rc = p.wait(60)
        with open(trace) as f:
            lines = f.read().splitlines()
    finally:
        lock.close()
        q.cleanup()
    calls = {m.group(1) for m in (re.match(r"\d+\s+([a-z0-9_]+)\(", ln)
                                  for ln in lines) if m}
    seen = set(calls)
    # a batch whose fsyncs wait on a disk cache flush goes through AIO
    calls |= {"io_setup", "io_submit", "io_getevents", "io_destroy"}
    extra = sorted(calls - allowed)
    families = {m for ln in lines for m in re.findall(r"socket\((AF_\w+)",
                                                       ln)}
    check("syscalls-session", rc == 0 and out.count(b"queued as") == 2 and
          {"setsockopt", "sendto"} <= seen,
          "rc %d calls %r" % (rc, sorted(seen)))
    check("syscalls-filter", not extra, "outside @system-service or in "
          "~@privileged @resources: %r" % extra)
    check("syscalls-families", families <= {"AF_UNIX"}, "%r" % families)


# --- TLS as the units run it -------------------------------------------------

def has_tls():
    return b"(tls: loaded when used)" in run([lib.SMTPD, "--version"]).stdout


def tls_files(workdir):
    """A self-signed certificate for lib.HOST (and 127.0.0.1) with its key,
    and a directory holding both as LoadCredential= hands them to a unit
    (tls-cert, tls-key, mode 0400): (cert, credentials directory)."""
    d = os.path.join(workdir, "tls")
    cert, key, creds = (os.path.join(d, n) for n in ("cert.pem", "key.pem",
                                                     "credentials"))
    if os.path.isdir(creds):
        return cert, creds
    os.makedirs(creds)
    tlslib.self_signed(d, san=True)
    for src, name in ((cert, "tls-cert"), (key, "tls-key")):
        shutil.copy(src, os.path.join(creds, name))
        os.chmod(os.path.join(creds, name), 0o400)
    return cert, creds


def client_ctx(cert):
    """A client context that verifies the server against cert."""
    import ssl
    return ssl.create_default_context(cafile=cert)


def read_reply(sock):
    """One whole (multi-line) reply from a plain socket."""
    buf = b""
    while not re.search(rb"(^|\r\n)\d{3} [^\r\n]*\r\n$", buf):
        d = sock.recv(4096)
        if not d:
            break
        buf += d
    return buf


def tls_socketpair_session(sock, implicit, cert, subject):
    """STARTTLS (or TLS from the first octet), then two pipelined
    messages and QUIT; the replies after the handshake, to EOF."""
    import ssl
    sock.settimeout(60)
    if not implicit:
        read_reply(sock)
        sock.sendall(b"EHLO %s\r\n" % HELO.encode())
        read_reply(sock)
        sock.sendall(b"STARTTLS\r\n")
        read_reply(sock)
    s = client_ctx(cert).wrap_socket(sock, server_hostname=lib.HOST)
    s.sendall(b"EHLO %s\r\n" % HELO.encode() + two_pipelined(subject))
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except (ssl.SSLError, OSError) as e:
        out += b"[%r]" % e
    s.close()
    return out


def hidden_path(path, mine):
    """Would smtpd@.service's sandbox hide path?  ProtectHome=,
    ProcSubset=pid, PrivateDevices= and PrivateTmp= (mine: the test's own
    directories, which live under /tmp)."""
    if any(path == d or path.startswith(d + "/") for d in mine):
        return False
    devices = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random",
               "/dev/urandom", "/dev/tty")
    return (re.match(r"/(home|root|run/user)(/|$)", path) is not None or
            (path.startswith("/proc/") and not re.match(
                r"/proc/(self|thread-self|\d+)(/|$)", path)) or
            (path.startswith("/dev/") and path not in devices) or
            re.match(r"/(var/)?tmp(/|$)", path) is not None)


def test_syscalls_tls(workdir):
    """A STARTTLS session and an implicit-TLS one, each with two messages,
    the certificate from $CREDENTIALS_DIRECTORY as the units pass it: every
    system call passes SystemCallFilter= (getrandom, the dlopen of libtls
    and libcrypto ...), no socket but AF_UNIX is made, and no file is
    opened that the sandbox hides (ProtectHome=, ProcSubset=pid,
    PrivateDevices=, PrivateTmp=)."""
    if not has_tls():
        print("SKIP syscalls-tls: smtpd is built without TLS")
        return
    why = no_trace("syscalls-tls")
    if why:
        print(why)
        return
    allowed = service_syscalls()
    cert, creds = tls_files(workdir)
    calls, families, opened, mine = set(), set(), set(), [workdir]
    for name, implicit in (("starttls", False), ("implicit", True)):
        trace = os.path.join(workdir, "strace-tls-%s.out" % name)
        err = os.path.join(workdir, "strace-tls-%s.stderr" % name)
        open(err, "wb").close()
        q = lib.Queue()
        mine.append(q.dir)
        lock = locked()
        try:
            a, b = socket.socketpair()
            with open(err, "ab") as ef:
                p = subprocess.Popen(
                    ["strace", "-f", "-qq", "-o", trace, lib.SMTPD,
                     "--queue", q.dir, "--hostname", lib.HOST, "--domain",
                     "example.com"] + (["--tls-implicit"] if implicit
                                       else []),
                    stdin=a, stdout=a, stderr=ef,
                    env=lib.base_env(dict(
                        journal_stream_env(err),
                        CREDENTIALS_DIRECTORY=creds,
                        **asan_env("detect_leaks=0"))))
            a.close()
            out = tls_socketpair_session(b, implicit, cert, "tls-" + name)
            rc = p.wait(60)
            with open(trace) as f:
                lines = f.read().splitlines()
            spooled = [envelope(q, i) for i in q.files("new")]
        finally:
            lock.close()
            q.cleanup()
        check("syscalls-tls-%s-session" % name, rc == 0 and
              out.count(b"queued as") == 2 and len(spooled) == 2 and all(
                  e and e.get("TLS", "").startswith("TLSv1.") for e in
                  spooled), "rc %d out %r envelopes %r" % (rc, out[-600:],
                                                           spooled))
        calls |= {m.group(1) for m in (re.match(r"\d+\s+([a-z0-9_]+)\(",
                                                ln) for ln in lines) if m}
        families |= {m for ln in lines
                      for m in re.findall(r"socket\((AF_\w+)", ln)}
        opened |= {m.group(1) for m in (re.search(
            r"open(?:at2?)?\((?:AT_FDCWD, )?\"(/[^\"]*)\".*\) = \d+", ln)
            for ln in lines) if m}
    check("syscalls-tls-dlopen", any("libtls.so" in x for x in opened),
          "opened %r" % sorted(opened))
    extra = sorted(calls - allowed)
    check("syscalls-tls-filter", not extra, "outside @system-service or in "
          "~@privileged @resources: %r" % extra)
    check("syscalls-tls-families", families <= {"AF_UNIX"}, "%r" % families)
    bad = sorted(x for x in opened if hidden_path(x, mine))
    check("syscalls-tls-files", not bad, "hidden by the sandbox: %r" % bad)


def test_syscalls_auth(workdir):
    """AUTH sessions as the submission units run them, one with
    examples/checkpassword-crypt (perl, through a wrapper script) and
    one with a real Dovecot's auth socket: a wrong password, the right
    one, a message.  Every system call smtpd and the checkpassword
    program make passes SystemCallFilter=, no socket but AF_UNIX is made
    (the Dovecot socket is one), and no file is opened that the sandbox
    hides.  (AUTH in plain text here, --auth-plaintext: the TLS part of
    such a session is test_syscalls_tls's.)"""
    why = no_trace("syscalls-auth")
    if why:
        print(why)
        return
    allowed = service_syscalls()
    _, wrapper = auth_files(workdir)
    backends = [("checkpassword", ["--auth-checkpassword", wrapper])]
    dovecot = shared_dovecot(workdir)
    if dovecot is None:
        print("SKIP syscalls-auth-dovecot: needs dovecot-core and root")
    else:
        backends.append(("dovecot", ["--auth-dovecot", dovecot[1]]))
    # the tree under test stands in for /usr/local/libexec/smtpd
    mine = [workdir, lib.ROOT]
    plain = lambda u, p: base64.b64encode(
        ("\0%s\0%s" % (u, p)).encode()).decode()
    for name, opts in backends:
        trace = os.path.join(workdir, "strace-auth-%s.out" % name)
        err = os.path.join(workdir, "strace-auth-%s.stderr" % name)
        open(err, "wb").close()
        q = lib.Queue()
        mine.append(q.dir)
        lock = locked()
        try:
            a, b = socket.socketpair()
            with open(err, "ab") as ef:
                p = subprocess.Popen(
                    ["strace", "-f", "-qq", "-o", trace, lib.SMTPD,
                     "--queue", q.dir, "--hostname", lib.HOST,
                     "--require-auth", "--auth-plaintext"] + opts,
                    stdin=a, stdout=a, stderr=ef,
                    env=lib.base_env(dict(
                        journal_stream_env(err), REMOTE_ADDR=AUTH_REMOTE,
                        **asan_env("detect_leaks=0"))))
            a.close()
            b.settimeout(60)
            out = read_reply(b)		# the greeting first: no early talker
            b.sendall(("EHLO %s\r\nAUTH PLAIN %s\r\n" % (
                HELO, plain(AUTH_USER, "wrong"))).encode())
            out += read_reply(b)
            while b"535 " not in out and b"454 " not in out:
                d = b.recv(4096)
                if not d:
                    break
                out += d
            mail = transcript("auth-" + name)
            b.sendall(("AUTH PLAIN %s\r\n" % plain(AUTH_USER, AUTH_PASS)
                       ).encode() + mail[mail.index(b"MAIL"):])
            out += lib.recv_all(b)
            b.close()
            rc = p.wait(60)
            with open(trace) as f:
                lines = f.read().splitlines()
        finally:
            lock.close()
            q.cleanup()
        check("syscalls-auth-%s-session" % name, rc == 0 and
              b"535 5.7.8" in out and b"235 2.7.0" in out and
              out.count(b"queued as") == 1, "rc %d out %r" % (rc, out[-800:]))
        calls = {m.group(1) for m in (re.match(r"\d+\s+([a-z0-9_]+)\(", ln)
                                      for ln in lines) if m}
        families = {m for ln in lines
                    for m in re.findall(r"socket\((AF_\w+)", ln)}
        opened = {m.group(1) for m in (re.search(
            r"open(?:at2?)?\((?:AT_FDCWD, )?\"(/[^\"]*)\".*\) = \d+", ln)
            for ln in lines) if m}
        # an execve that failed ends "= -1 E..."; one that worked ends
        # "= 0", or "<unfinished ...>" when strace -f split the line
        execs = {m.group(1) for m in (re.search(
            r"execve\(\"([^\"]+)\".*(\) = 0|<unfinished \.\.\.>)", ln)
            for ln in lines) if m}
        if name == "checkpassword":
            # the wrapper, the perl script, and the program it runs on
            # success (smtpd names /bin/true)
            check("syscalls-auth-checkpassword-ran", wrapper in execs and
                  any(x.endswith("/checkpassword-crypt") for x in execs) and
                  "/bin/true" in execs, "%r" % execs)
        else:
            check("syscalls-auth-dovecot-connect", any(
                "connect(" in ln and dovecot[1] in ln for ln in lines),
                "no connect to %s" % dovecot[1])
        extra = sorted(calls - allowed)
        check("syscalls-auth-%s-filter" % name, not extra,
              "outside @system-service or in ~@privileged @resources: %r"
              % extra)
        check("syscalls-auth-%s-families" % name, families <= {"AF_UNIX"},
              "%r" % families)
        bad = sorted(x for x in opened if hidden_path(x, mine))
        check("syscalls-auth-%s-files" % name, not bad,
              "hidden by the sandbox: %r" % bad)


class TLSLauncher(Launcher):
    """A Launcher whose server speaks TLS from the first octet."""

    def __init__(self, name, cmd_for, workdir, cert, env=None):
        self.ctx = client_ctx(cert)
        super().__init__(name, cmd_for, workdir, env=env)

    def _wait_ready(self, port):
        # a handshake under valgrind takes seconds: a probe that gives up
        # early leaves a session behind that stop() then kills mid-way
        end = time.monotonic() + (60 if SLOW else 10)
        while time.monotonic() < end and self.p.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", port), 1) as s:
                    s.settimeout(30 if SLOW else 5)
                    with self.ctx.wrap_socket(s, server_hostname=
                                              "127.0.0.1") as t:
                        t.settimeout(5)
                        if t.recv(100).startswith(b"220 "):
                            t.sendall(b"QUIT\r\n")
                            t.recv(100)
                            return True
            except OSError:
                time.sleep(0.05)
        return False


def unit_command(names, queue, creds, defaults=None, setenv=()):
    """The ExecStart=, Environment= and EnvironmentFile= of a shipped unit
    (names: the unit and its drop-ins) as systemd-socket-activate runs
    them: the built binary, a test queue, CREDENTIALS_DIRECTORY for
    LoadCredential=, the file defaults for /etc/default/smtpd, and $VAR
    in ExecStart= split into words as systemd splits it; setenv: more
    NAME=VALUE, as systemd sets REMOTE_ADDR; as root inside the private
    namespaces the unit asks for."""
    lines = [ln for n in names for ln in unit_lines(n)]
    values = {}
    for ln in lines:
        if ln.startswith("Environment="):
            kv = ln[len("Environment="):].strip('"')
            values[kv.partition("=")[0]] = kv.partition("=")[2]
    for ln in lines:	# the files override Environment=, in any order
        if ln.startswith("EnvironmentFile="):
            path = ln[len("EnvironmentFile="):]
            path = defaults if path.lstrip("-") == AUTH_DEFAULTS else path
            if path is None or not os.path.exists(path.lstrip("-")):
                raise RuntimeError("no file for " + ln)
            values.update(env_file(path.lstrip("-")))
    argv = []
    for a in exec_start(lines):
        if re.match(r"^\$[A-Za-z_]\w*$", a):
            argv += values.get(a[1:], "").split()
        else:
            argv.append({"/usr/sbin/smtpd": lib.SMTPD,
                         "/var/spool/smtpd": queue}.get(a, a))
    env = ["%s=%s" % kv for kv in values.items()] + list(setenv)
    if any(ln.startswith("LoadCredential=") for ln in lines):
        env.append("CREDENTIALS_DIRECTORY=" + creds)
    if os.geteuid() == 0:
        env.append("SMTPD_ALLOW_ROOT=1")
        argv = ["unshare", "--net", "--ipc", "--uts", "--mount", "--"] + argv
    assert "StandardInput=socket" in lines

    def cmd(port):
        c = ["systemd-socket-activate", "-l", "127.0.0.1:%d" % port, "-a",
             "--inetd"]
        for kv in env:
            c += ["-E", kv]
        return c + argv
    return cmd


def tls_mail(name, c, q, srv, ctx, rcpt="far@foreign.example"):
    """A message through smtplib connection c (under TLS by now)."""
    c.ehlo(HELO)
    code, _ = c.mail("s@example.org")
    r = c.rcpt(rcpt)
    d = c.data(("Subject: %s\r\n\r\nunits over TLS\r\n" % name).encode())
    c.quit()
    m = QUEUED_RE.match(text(d[1]))
    env = envelope(q, m.group(1) if m else None)
    check(name + "-mail", code == 250 and r[0] == 250 and env is not None and
          env.get("TLS", "").startswith("TLSv1.") and
          env.get("Protocol") == "ESMTPS",
          "mail %r rcpt %r data %r envelope %r log %s" % (
              code, r, d, env, srv.output()[-1200:]))


def auth_files(workdir):
    """examples/checkpassword-crypt as a unit would run it: a password
    file with AUTH_USER, a wrapper naming it (CHECKPW_FILE), and a stand-in
    for /etc/default/smtpd naming the wrapper.  Returns (the stand-in,
    the wrapper)."""
    d = os.path.join(workdir, "auth")
    defaults, wrapper = (os.path.join(d, n) for n in ("default-smtpd",
                                                      "checkpassword"))
    if os.path.exists(defaults):
        return defaults, wrapper
    os.makedirs(d)
    os.chmod(d, 0o755)
    p = run(["openssl", "passwd", "-6", "-stdin"],
            input=AUTH_PASS.encode() + b"\n")
    if p.returncode != 0:
        raise RuntimeError("openssl passwd: %s" % text(p.stderr))
    passwd = os.path.join(d, "passwd")
    with open(passwd, "w") as f:
        f.write("%s:%s\n" % (AUTH_USER, text(p.stdout).strip()))
    os.chmod(passwd, 0o644)
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nCHECKPW_FILE=%s exec %s \"$@\"\n" % (
            passwd, os.path.join(lib.ROOT, "examples", "checkpassword-crypt")))
    os.chmod(wrapper, 0o755)
    with open(defaults, "w") as f:
        f.write('# /etc/default/smtpd for the tests\n'
                'SMTPD_AUTH="--auth-checkpassword %s"\n' % wrapper)
    return defaults, wrapper


def start_dovecot(workdir):
    """Dovecot (Debian's dovecot-core) with a private configuration under
    workdir: a passwd-file database holding AUTH_USER, no protocols, and
    the auth listener for smtpd that README (AUTH) shows.  Returns
    (process, socket path), or None when Dovecot is not there (or we are
    not root, which its master process wants)."""
    if shutil.which("dovecot") is None or os.geteuid() != 0:
        return None
    d = os.path.join(workdir, "dovecot")
    rundir = os.path.join(d, "run")
    os.makedirs(rundir)
    os.makedirs(os.path.join(d, "state"))
    for x in (d, rundir):
        os.chmod(x, 0o755)
    p = run(["openssl", "passwd", "-6", "-stdin"],
            input=AUTH_PASS.encode() + b"\n")
    users = os.path.join(d, "users")
    with open(users, "w") as f:
        f.write("%s:{SHA512-CRYPT}%s::::::\n" % (AUTH_USER,
                                                 text(p.stdout).strip()))
    os.chmod(users, 0o644)
    conf = os.path.join(d, "dovecot.conf")
    with open(conf, "w") as f:
        f.write("""base_dir = %(run)s
state_dir = %(d)s/state
log_path = %(d)s/dovecot.log
protocols =
ssl = no
passdb {
  driver = passwd-file
  args = %(users)s
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
service auth {
  unix_listener auth-smtpd {
    mode = 0660
    user = root
    group = %(group)s
  }
}
""" % {"run": rundir, "d": d, "users": users,
       "group": grp.getgrgid(NOBODY).gr_name})
    sock = os.path.join(rundir, "auth-smtpd")
    proc = subprocess.Popen(["dovecot", "-F", "-c", conf],
                            stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    for _ in range(200):
        if os.path.exists(sock) or proc.poll() is not None:
            break
        time.sleep(0.05)
    if not os.path.exists(sock):
        lib.stop_group(proc)
        with open(os.path.join(d, "dovecot.log"), errors="replace") as f:
            raise RuntimeError("dovecot did not start: %s" % f.read()[-800:])
    return proc, sock


_DOVECOT = {}


def shared_dovecot(workdir):
    """One start_dovecot for the unit tests (stop_dovecot ends it);
    None, after a FAIL line, when it would not start."""
    if "it" not in _DOVECOT:
        try:
            _DOVECOT["it"] = start_dovecot(workdir)
        except Exception as e:
            _DOVECOT["it"] = None
            check("dovecot-start", False, "%r" % e)
    return _DOVECOT["it"]


def stop_dovecot():
    if _DOVECOT.get("it") is not None:
        lib.stop_group(_DOVECOT["it"][0])
    _DOVECOT.clear()


def auth_mail(name, c, q, srv):
    """On smtplib connection c, under TLS by now, from AUTH_REMOTE: AUTH
    offered as PLAIN LOGIN; MAIL before AUTH gets 530 5.7.0, a wrong
    password 535 5.7.8, the right one 235; then a message to a foreign
    domain relays, the user in the envelope, ESMTPSA."""
    c.ehlo(HELO)
    check(name + "-offered", c.has_extn("auth") and
          c.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"],
          "EHLO %r" % c.ehlo_resp)
    code, msg = c.mail("s@example.org")
    check(name + "-530-auth", (code, text(msg)) == (
        530, "5.7.0 Authentication required"), "%r %r" % (code, msg))
    c.user, c.password = AUTH_USER, "not the password"
    try:
        bad = c.auth("PLAIN", c.auth_plain)
    except smtplib.SMTPAuthenticationError as e:
        bad = (e.smtp_code, e.smtp_error)
    check(name + "-535", bad[0] == 535 and text(bad[1]).startswith(
        "5.7.8"), "%r" % (bad,))
    good = c.login(AUTH_USER, AUTH_PASS)
    check(name + "-235", good[0] == 235, "%r" % (good,))
    code, _ = c.mail("s@example.org")
    r = c.rcpt("far@foreign.example")
    d = c.data(("Subject: %s\r\n\r\nsubmitted\r\n" % name).encode())
    c.quit()
    m = QUEUED_RE.match(text(d[1]))
    env = envelope(q, m.group(1) if m else None)
    want(name + "-mail", env, {
        "Client-Address": AUTH_REMOTE, "Trusted": "no", "Auth": AUTH_USER,
        "Protocol": "ESMTPSA", "Recipient": "<far@foreign.example>"},
        "mail %r rcpt %r data %r log %s" % (code, r, d,
                                            srv.output()[-1500:]))
    check(name + "-tls", (env or {}).get("TLS", "").startswith("TLSv1."),
          "%r" % env)
    log = srv.output()
    check(name + "-log", "ip=%s event=auth-failed user=%s reason=\"wrong "
          "user or password\"" % (AUTH_REMOTE, AUTH_USER) in log and
          "ip=%s event=auth user=%s" % (AUTH_REMOTE, AUTH_USER) in log and
          AUTH_PASS not in log, log[-1500:])


# OpenDKIM laid out as Debian's package runs it (/etc/opendkim.conf):
# its own user, a directory of its own 0750, the socket 0770 (UMask 007);
# verify only, and an Authentication-Results field on every message
MILTER_OPENDKIM = """Mode v
Socket local:%(run)s/opendkim.sock
PidFile %(d)s/opendkim.pid
UserID opendkim
UMask 007
Background no
Syslog no
AlwaysAddARHeader yes
"""


def milter_syscalls(workdir, argv, sock):
    """A session through the filter at sock, traced: every system call
    passes the units' SystemCallFilter=, no socket but AF_UNIX is made
    (RestrictAddressFamilies=), and the filter's socket is connected."""
    why = no_trace("syscalls-milter")
    if why:
        print(why)
        return
    trace = os.path.join(workdir, "strace-milter.out")
    q = lib.Queue()
    try:
        cmd = [a.replace("/var/spool/smtpd", q.dir) for a in argv] + [
            "--hostname", lib.HOST, "--domain", "example.com"]
        p = subprocess.run(["strace", "-f", "-qq", "-o", trace] + cmd,
                           input=two_pipelined("milter-strace").replace(
                               b"Subject:", b"From: <j@example.org>\r\n"
                               b"Subject:"), capture_output=True,
                           env=lib.base_env(dict(
                               REMOTE_ADDR=AUTH_REMOTE,
                               **asan_env("detect_leaks=0"))), timeout=60)
        with open(trace) as f:
            lines = f.read().splitlines()
        queued = [q.read(n) for n in q.files("new")]
    finally:
        q.cleanup()
    calls = {m.group(1) for m in (re.match(r"\d+\s+([a-z0-9_]+)\(", ln)
                                  for ln in lines) if m}
    families = {m for ln in lines for m in re.findall(r"socket\((AF_\w+)",
                                                       ln)}
    check("syscalls-milter-session", p.returncode == 0 and len(queued) == 2
          and all(b"\n\nAuthentication-Results: " in m for m in queued)
          and any("connect(" in ln and sock in ln for ln in lines),
          "rc %d out %r" % (p.returncode, p.stdout[-300:]))
    extra = sorted(calls - service_syscalls())
    check("syscalls-milter-filter", not extra, "outside @system-service or "
          "in ~@privileged @resources: %r" % extra)
    check("syscalls-milter-families", families <= {"AF_UNIX"},
          "%r" % families)


def test_units_milter_reach(workdir):
    """The milter drop-in's command and groups let a session reach
    OpenDKIM's socket as Debian lays it out, and nothing less does.  The
    drop-in's command line (rspamd left out: not started here; the
    socket's directory moved into the test's) runs as smtpd@.service
    runs it as far as that can be done by hand: as an unprivileged user
    (nobody for smtpd) with no capabilities and no new privileges, its
    groups set first and then a user namespace that maps only root and
    that user (PrivateUsers=), private network, IPC and UTS namespaces
    (PrivateNetwork=, PrivateIPC=, ProtectHostname=), the socket's
    directory mounted read-only (ProtectSystem=strict).  With the
    drop-in's SupplementaryGroups= the message is queued with OpenDKIM's
    Authentication-Results; without it the filter cannot be reached
    (Permission denied) and MAIL gets 451 4.3.0."""
    tools = ("opendkim", "unshare", "nsenter", "setpriv", "mount")
    if os.geteuid() != 0 or not all(shutil.which(x) for x in tools):
        print("SKIP unit-milter-reach: needs root, opendkim and "
              "util-linux's unshare, nsenter, setpriv and mount")
        return
    try:
        gid = grp.getgrnam("opendkim").gr_gid
        import pwd
        uid = pwd.getpwnam("opendkim").pw_uid
    except KeyError:
        print("SKIP unit-milter-reach: no user or group opendkim "
              "(the opendkim package makes them)")
        return
    d = os.path.join(workdir, "milter")
    run_dir = os.path.join(d, "opendkim")
    os.makedirs(run_dir)
    os.chmod(d, 0o755)
    os.chown(run_dir, uid, gid)
    os.chmod(run_dir, 0o750)
    sock = os.path.join(run_dir, "opendkim.sock")
    with open(os.path.join(d, "opendkim.conf"), "w") as f:
        f.write(MILTER_OPENDKIM % {"d": d, "run": run_dir})
    pid, holder = lib.userns_holder(NOBODY)
    if pid is None:
        check("unit-milter-userns", False, "cannot make a user namespace")
        return
    filt = subprocess.Popen(["opendkim", "-f", "-x",
                             os.path.join(d, "opendkim.conf")])
    try:
        for _ in range(200):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        argv = []
        for a in exec_start(unit_lines(MILTER_DROPIN)):
            if a == "unix:" + MILTER_SOCKETS[0]:
                argv.pop()		# rspamd: not started here
                continue
            argv.append({"/usr/sbin/smtpd": lib.SMTPD,
                         "unix:" + MILTER_SOCKETS[1]: "unix:" + sock}.get(
                             a, a))
        # the drop-in's groups, those that exist here
        gids = []
        for ln in unit_lines(MILTER_DROPIN):
            if ln.startswith("SupplementaryGroups="):
                for g in ln.split("=", 1)[1].split():
                    try:
                        gids.append(str(grp.getgrnam(g).gr_gid))
                    except KeyError:
                        pass
        results = {}
        for name, groups in (("group", "--groups=" + ",".join(gids or
                                                               ["0"])),
                             ("nogroup", "--clear-groups")):
            q = lib.Queue()
            os.chown(q.dir, NOBODY, NOBODY)
            cmd = [a.replace("/var/spool/smtpd", q.dir) for a in argv] + [
                "--hostname", lib.HOST, "--domain", "example.com",
                "--milter-timeout", "10"]
            # groups first, as root; then the user namespace; then the
            # other namespaces and the read-only directory; then the user
            p = subprocess.run(
                ["setpriv", groups, "--", "nsenter", "-U", "-t", str(pid),
                 "--preserve-credentials", "--", "unshare", "--net",
                 "--ipc", "--uts", "--mount", "--", "sh", "-c",
                 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" '
                 '&& shift && exec "$@"', "sh", run_dir, "setpriv",
                 "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                 "--keep-groups", "--inh-caps=-all", "--bounding-set=-all",
                 "--no-new-privs", "--"] + cmd,
                input=transcript("milter-" + name).replace(
                    b"Subject:", b"From: <j@example.org>\r\nSubject:"),
                capture_output=True,
                env=lib.base_env(dict(REMOTE_ADDR=AUTH_REMOTE,
                                      **asan_env("detect_leaks=0"))),
                timeout=60)
            new = [os.path.join(q.dir, "new", n) for n in q.files("new")]
            owners = {os.stat(n).st_uid for n in new}
            msgs = [open(n, "rb").read() for n in new]
            results[name] = (p.returncode, p.stdout, p.stderr, owners, msgs)
            q.cleanup()
        rc, out, err, owners, msgs = results["group"]
        check("unit-milter-reach", rc == 0 and len(msgs) == 1 and
              owners == {NOBODY} and b"\n\nAuthentication-Results: " +
              lib.HOST.encode() + b"; dkim=none;" in msgs[0],
              "rc %d out %r err %r msgs %r" % (rc, out[-300:], err[-600:],
                                                msgs))
        rc, out, err, owners, msgs = results["nogroup"]
        check("unit-milter-needs-the-group", msgs == [] and
              b"451 4.3.0" in out and b"Permission denied" in err,
              "rc %d out %r err %r" % (rc, out[-300:], err[-600:]))
        milter_syscalls(workdir, argv, sock)
    finally:
        filt.terminate()
        filt.wait(10)
        holder.kill()		# --kill-child: its sleep goes too
        holder.wait()


def test_units_tls_exec(workdir):
    """The TLS units' own command lines, under systemd-socket-activate:
    smtps@.service (TLS from the first octet, verified by the client),
    smtpd-submission@.service (530 before STARTTLS, then mail), both with
    AUTH from a stand-in for /etc/default/smtpd naming
    examples/checkpassword-crypt, and the submission unit once more with
    units/smtpd.default as shipped but for the path of a real Dovecot's
    auth socket; smtpd@.service with and without its drop-in (STARTTLS
    offered only with it, AUTH never)."""
    if not has_tls():
        print("SKIP units-tls-exec: smtpd is built without TLS")
        return
    for tool in ("systemd-socket-activate", "openssl"):
        if shutil.which(tool) is None:
            print("SKIP units-tls-exec: %s is not installed" % tool)
            return
    cert, creds = tls_files(workdir)
    ctx = client_ctx(cert)
    defaults, _ = auth_files(workdir)
    cases = [("unit-exec-smtps", ("smtps@.service",), defaults),
             ("unit-exec-submission", ("smtpd-submission@.service",),
              defaults),
             ("unit-exec-port25-tls", ("smtpd@.service", TLS_DROPIN), None),
             ("unit-exec-port25", ("smtpd@.service",), None)]
    dovecot = shared_dovecot(workdir)
    if dovecot is None:
        print("SKIP unit-exec-submission-dovecot: needs dovecot-core and "
              "root")
    else:
        shipped = os.path.join(workdir, "auth", "default-smtpd-dovecot")
        with open(os.path.join(UNITS, AUTH_DEFAULTS_EXAMPLE)) as f:
            body = f.read()
        with open(shipped, "w") as f:
            f.write(body.replace("/run/dovecot/auth-smtpd", dovecot[1]))
        check("unit-exec-dovecot-example", "/run/dovecot/auth-smtpd" in
              env_file(os.path.join(UNITS, AUTH_DEFAULTS_EXAMPLE)).get(
                  "SMTPD_AUTH", ""), body)
        cases.append(("unit-exec-submission-dovecot",
                      ("smtpd-submission@.service",), shipped))
    for name, names, dflt in cases:
        units_exec_case(name, names, dflt, workdir, cert, creds, ctx)


def units_exec_case(name, names, defaults, workdir, cert, creds, ctx):
    """One case of test_units_tls_exec."""
    q = lib.Queue()
    srv = None
    auth = defaults is not None
    try:
        cmd = unit_command(names, q.dir, creds, defaults, (
            "REMOTE_ADDR=" + AUTH_REMOTE,) if auth else ())
        if name == "unit-exec-smtps":
            srv = TLSLauncher(name, cmd, workdir, cert)
            c = smtplib.SMTP_SSL("127.0.0.1", srv.port, context=ctx,
                                 timeout=20)
            auth_mail(name, c, q, srv)
            return
        srv = Launcher(name, cmd, workdir)
        c = smtplib.SMTP("127.0.0.1", srv.port, timeout=20)
        c.ehlo(HELO)
        offered = c.has_extn("starttls")
        check(name + "-no-auth-in-plain-text", not c.has_extn("auth"),
              "EHLO %r" % c.ehlo_resp)
        if name == "unit-exec-port25":
            check(name + "-no-starttls", not offered,
                  "EHLO %r" % c.ehlo_resp)
            c.quit()
            return
        if auth:
            code, msg = c.mail("s@example.org")
            check(name + "-530", (code, text(msg)) == (
                530, "5.7.0 Must issue a STARTTLS command first"),
                "%r %r" % (code, msg))
            # AUTH too, before any credentials are sent (--require-tls)
            code, msg = c.docmd("AUTH", "PLAIN")
            check(name + "-530-auth-before-tls", (code, text(msg)) == (
                530, "5.7.0 Must issue a STARTTLS command first"),
                "%r %r" % (code, msg))
        check(name + "-starttls-offered", offered,
              "EHLO %r" % c.ehlo_resp)
        c.starttls(context=ctx)
        if auth:
            auth_mail(name, c, q, srv)
        else:
            c.ehlo(HELO)
            check(name + "-no-auth", not c.has_extn("auth"),
                  "EHLO %r" % c.ehlo_resp)
            tls_mail(name, c, q, srv, ctx)
    except Exception as e:
        check(name, False, "exception %r log %s" % (
            e, srv.output()[-1200:] if srv else ""))
    finally:
        if srv is not None:
            srv.stop()
        q.cleanup()


# --- xinetd ------------------------------------------------------------------

def xinetd_service(name, values, shipped="smtpd"):
    """units/xinetd/SHIPPED as service NAME: attributes in values replace
    the shipped ones or are added."""
    with open(os.path.join(UNITS, "xinetd", shipped)) as f:
        src = f.read()
    body = src[src.index("\nservice ") + 1:]
    out = []
    for ln in body.splitlines():
        m = re.match(r"\s*(\w+)\s*=", ln)
        if ln.startswith("service "):
            ln = "service " + name
        elif m and m.group(1) in values:
            ln = "\t%s = %s" % (m.group(1), values.pop(m.group(1)))
        elif ln.strip() == "}":
            out += ["\t%s = %s" % kv for kv in values.items()]
        out.append(ln)
    return "\n".join(out) + "\n"


class SyslogSocket:
    """A datagram socket at /dev/log, so smtpd's syslog records can be
    read; None when /dev/log is taken (a syslog daemon runs)."""

    PATH = "/dev/log"

    def __init__(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.PATH)
        os.chmod(self.PATH, 0o666)	# as syslog daemons make it

    def records(self):
        out = []
        self.sock.setblocking(False)
        while True:
            try:
                out.append(self.sock.recv(65536).decode("utf-8", "replace"))
            except BlockingIOError:
                return out

    def close(self):
        self.sock.close()
        os.unlink(self.PATH)


def xinetd_config(workdir, q, ports, forced_port):
    """One config: units/xinetd/smtpd as shipped (but port, address, user,
    paths), and a second service with --log stderr forced."""
    group = grp.getgrgid(NOBODY).gr_name
    args = "--queue %s --hostname %s --domain ok.example" % (q.dir, lib.HOST)
    conf = "defaults\n{\n}\n"
    for name, port, extra in (("smtpd_test", ports, ""),
                              ("smtpd_forced", forced_port,
                               " --log stderr")):
        # flags = IPv6 (as shipped) makes an IPv6 socket: bound to the
        # v4-mapped 127.0.0.1, it takes IPv4 clients of 127.0.0.1 only,
        # and xinetd sets REMOTE_HOST=::ffff:127.0.0.1
        values = {"type": "UNLISTED", "port": str(port),
                  "bind": "::ffff:127.0.0.1", "user": "nobody",
                  "group": group,
                  "server": lib.SMTPD, "server_args": args + extra,
                  "log_type": "FILE " + os.path.join(workdir, "xinetd.log")}
        if sanitized():		# ASan reserves terabytes of address space
            values["rlimit_as"] = "UNLIMITED"
        conf += xinetd_service(name, values)
    path = os.path.join(workdir, "xinetd.conf")
    with open(path, "w") as f:
        f.write(conf)
    return path


def check_xinetd_session(name, srv_port, q, syslog):
    r = session(srv_port, ["far@foreign.example"], subject=name)
    env = envelope(q, r["qid"])
    # REMOTE_HOST (no port in it, and v4-mapped: smtpd writes it as
    # 127.0.0.1); getpeername() would have given a port
    want(name + "-mail", env, {"Client-Address": "127.0.0.1",
                               "Client-Port": None, "Trusted": "yes",
                               "Recipient": "<far@foreign.example>"},
         "reply %r error %s" % (r["data"], r["error"]))
    lines = r["received"].splitlines(keepends=True)
    check(name + "-stream-clean", r["error"] is None and lines and all(
        REPLY_LINE.match(ln) for ln in lines) and r["trailing"] == b"" and
        b"event=" not in r["received"] and b"smtpd[" not in r["received"],
        "received %r" % r["received"][-600:])
    if syslog is not None:
        recs = syslog.records()
        check(name + "-syslog", any(re.match(
            r"<22>.*smtpd\[\d+\]: ip=127\.0\.0\.1 event=queued queue_id=%s "
            % re.escape(r["qid"] or "-"), x) for x in recs) and any(
            "ip=127.0.0.1 event=connect trusted=yes" in x for x in recs),
            "records %r" % recs[-5:])


def test_xinetd(workdir):
    if shutil.which("xinetd") is None:
        print("SKIP xinetd: xinetd is not installed")
        return
    if os.geteuid() != 0:
        print("SKIP xinetd: xinetd needs root to run a service as a user")
        return
    q = lib.Queue()
    os.chown(q.dir, NOBODY, NOBODY)
    srv = syslog = lock = None
    try:
        lock = locked()
        if os.path.exists(SyslogSocket.PATH):
            print("SKIP xinetd-syslog: %s exists (a syslog daemon owns it);"
                  " records are not checked" % SyslogSocket.PATH)
        else:
            syslog = SyslogSocket()
        forced = free_port()
        conf = {}

        def cmd(port):
            conf["path"] = xinetd_config(workdir, q, port, forced)
            return ["xinetd", "-dontfork", "-f", conf["path"], "-pidfile",
                    os.path.join(workdir, "xinetd.pid")]
        srv = Launcher("xinetd", cmd, workdir)
        check_xinetd_session("xinetd", srv.port, q, syslog)
        check_xinetd_session("xinetd-forced-stderr", forced, q, syslog)
    except Exception as e:
        check("xinetd", False, "exception %r\nlog %s" % (
            e, srv.output() if srv else ""))
    finally:
        if srv is not None:
            srv.stop()
        if syslog is not None:
            syslog.close()
        if lock is not None:
            lock.close()
        q.cleanup()


def tls_session(name, srv, q, source=None, rcpt="far@foreign.example"):
    """A message over implicit TLS (smtplib.SMTP_SSL, the certificate
    verified); returns the envelope, or None (the reason is checked)."""
    try:
        c = smtplib.SMTP_SSL("127.0.0.1", srv.port, context=srv.ctx,
                             timeout=20, source_address=(source, 0)
                             if source else None)
        c.ehlo(HELO)
        c.mail("s@example.org")
        r = c.rcpt(rcpt)
        d = c.data(("Subject: %s\r\n\r\nover TLS\r\n" % name).encode())
        c.quit()
    except (smtplib.SMTPException, OSError) as e:
        return "%r" % e
    m = QUEUED_RE.match(text(d[1]))
    return envelope(q, m.group(1) if m else None) or "rcpt %r data %r" % (
        r, d)


def test_xinetd_smtps(workdir):
    """units/xinetd/smtps as shipped (user root, only_from, RELAYCLIENT),
    but port, address, paths and --user nobody: smtpd opens a root-only
    key, drops to nobody, and takes mail over implicit TLS."""
    if not has_tls() or shutil.which("xinetd") is None or \
            shutil.which("openssl") is None or os.geteuid() != 0:
        print("SKIP xinetd-smtps: needs TLS, xinetd, openssl and root")
        return
    cert, creds = tls_files(workdir)
    key = os.path.join(creds, "tls-key")        # 0400, root's
    q = lib.Queue()
    os.chown(q.dir, NOBODY, NOBODY)
    srv = None
    with open(os.path.join(UNITS, "xinetd", "smtps")) as f:
        args = re.search(r"server_args\s*=\s*(.*)", f.read()).group(1)
    args = args.replace("--user smtpd", "--user nobody --hostname " +
                        lib.HOST).replace("/var/spool/smtpd", q.dir).replace(
        "/etc/smtpd/tls/cert.pem", cert).replace("/etc/smtpd/tls/key.pem",
                                                 key)

    def cmd(port):
        values = {"type": "UNLISTED", "port": str(port),
                  "bind": "::ffff:127.0.0.1", "server": lib.SMTPD,
                  "server_args": args, "log_type": "FILE " + os.path.join(
                      workdir, "xinetd-smtps.log")}
        if sanitized():
            values["rlimit_as"] = "UNLIMITED"
        path = os.path.join(workdir, "xinetd-smtps.conf")
        with open(path, "w") as f:
            f.write("defaults\n{\n}\n" + xinetd_service(
                "smtps_test", values, "smtps"))
        return ["xinetd", "-dontfork", "-f", path, "-pidfile",
                os.path.join(workdir, "xinetd-smtps.pid")]
    try:
        srv = TLSLauncher("xinetd-smtps", cmd, workdir, cert)
        env = tls_session("xinetd-smtps", srv, q)
        qid = env.get("Id") if isinstance(env, dict) else None
        owner = os.stat(os.path.join(q.dir, "new", qid)).st_uid if qid \
            else None
        check("xinetd-smtps-mail", isinstance(env, dict) and
              env.get("TLS", "").startswith("TLSv1.") and
              env.get("Trusted") == "yes" and owner == NOBODY,
              "envelope %r owner %r log %s" % (env, owner,
                                               srv.output()[-1000:]))
    except Exception as e:
        check("xinetd-smtps", False, "exception %r log %s" % (
            e, srv.output()[-1000:] if srv else ""))
    finally:
        if srv is not None:
            srv.stop()
        q.cleanup()


# --- tcpserver chains --------------------------------------------------------

def tcprules_cdb(workdir, rules_text=None, name="tcp.smtp"):
    """units/tcpserver/NAME (or rules_text) compiled by tcprules."""
    if rules_text is None:
        with open(os.path.join(UNITS, "tcpserver", name)) as f:
            rules_text = f.read()
    cdb = os.path.join(workdir, name + ".cdb")
    p = subprocess.run(["tcprules", cdb, cdb + ".tmp"],
                       input=rules_text.encode(), capture_output=True,
                       timeout=30)
    if p.returncode != 0:
        raise RuntimeError("tcprules: %s" % text(p.stderr))
    return cdb


def run_script(workdir, q, cdb):
    """units/tcpserver/run as a supervisor would run it, its settings
    pointed at this test (no block list: RBL is empty)."""
    env = lib.base_env({
        "SMTPD": lib.SMTPD, "QUEUE": q.dir, "RULES": cdb,
        "SMTPD_USER": "nobody", "LISTEN": "127.0.0.1", "MAXCONN": "10",
        "RBL": "", "SMTPD_ARGS": "--hostname %s --domain ok.example" %
        lib.HOST})

    def cmd(port):
        env["PORT"] = str(port)
        return [os.path.join(UNITS, "tcpserver", "run")]
    return Launcher("run-script", cmd, workdir, env=env)


def check_chain_relay(name, srv, q, source, expect_addr, trusted):
    """A client at source: relaying as the rules say, mail spooled."""
    r = session(srv.port, ["far@foreign.example", "user@ok.example"],
                source=source, subject=name)
    far = rcpt_code(r, "far@foreign.example")
    check(name + "-relay", far == ((250, "2.1.5") if trusted else
                                   (550, "5.7.1")) and
          rcpt_code(r, "user@ok.example") == (250, "2.1.5"),
          "rcpt %r error %s log %s" % (r["rcpt"], r["error"],
                                       srv.output()[-1000:]))
    want(name + "-mail", envelope(q, r["qid"]), {
        "Client-Address": expect_addr, "Client-Port": str(r["port"]),
        "Trusted": "yes" if trusted else "no"},
        "reply %r log %s" % (r["data"], srv.output()[-1000:]))


def check_chain_blocked(name, srv, q):
    """RBLSMTPD set by a rule: rblsmtpd answers, smtpd never runs."""
    before = q.files("new")
    r = session(srv.port, ["user@ok.example"], source="192.0.2.66",
                subject=name)
    v = r["rcpt"].get("user@ok.example")
    check(name, r["greeting"] is not None and b"rblsmtpd" in
          r["greeting"][1] and v is not None and v[0] == 553 and
          b"refused here" in v[1] and r["data"] is None and
          q.files("new") == before and "rblsmtpd: 192.0.2.66 pid" in
          srv.output() and "ip=192.0.2.66" not in srv.output(),
          "greeting %r rcpt %r new %r log %s" % (
              r["greeting"], r["rcpt"], q.files("new"), srv.output()[-800:]))


def check_chain_denied(name, srv, q):
    r = session(srv.port, ["user@ok.example"], source="198.51.100.7",
                subject=name)
    check(name, r["greeting"] is None and r["error"] is not None and
          "tcpserver: deny" in srv.output(),
          "greeting %r error %r log %s" % (r["greeting"], r["error"],
                                           srv.output()[-500:]))


def netns_tcpserver(workdir):
    """In the private network namespace: the shipped run script and rules
    (tcpserver -x, rblsmtpd, smtpd), then a bare tcpserver -x chain."""
    q = lib.Queue()
    os.chown(q.dir, NOBODY, NOBODY)
    srv = None
    try:
        cdb = tcprules_cdb(workdir)
        srv = run_script(workdir, q, cdb)
        check_chain_relay("run-relayclient", srv, q, "10.1.2.3", "10.1.2.3",
                          True)
        check_chain_relay("run-untrusted", srv, q, "192.0.2.9", "192.0.2.9",
                          False)
        check_chain_relay("run-loopback", srv, q, None, "127.0.0.1", True)
        check_chain_blocked("run-rblsmtpd-blocked", srv, q)
        check_chain_denied("run-deny", srv, q)
        srv.stop()
        uid = str(NOBODY)
        srv = Launcher("tcpserver-x", lambda port: [
            "tcpserver", "-v", "-H", "-R", "-l", lib.HOST, "-x", cdb,
            "-u", uid, "-g", uid, "127.0.0.1", str(port), lib.SMTPD,
            "--queue", q.dir, "--hostname", lib.HOST, "--domain",
            "ok.example"], workdir)
        check_chain_relay("tcpserver-x-relayclient", srv, q, "10.1.2.3",
                          "10.1.2.3", True)
        check_chain_relay("tcpserver-x-untrusted", srv, q, "192.0.2.9",
                          "192.0.2.9", False)
    except Exception as e:
        check("netns-tcpserver", False, "exception %r log %s" % (
            e, srv.output()[-1500:] if srv else ""))
    finally:
        if srv is not None:
            srv.stop()
        q.cleanup()
    netns_run_smtps(workdir)


def netns_run_smtps(workdir):
    """units/tcpserver/run-smtps with tcp.smtps: a listed network relays
    over implicit TLS, any other address is dropped by tcpserver; the key
    readable by the group of the user smtpd runs as (units/README)."""
    if not has_tls() or shutil.which("openssl") is None:
        print("SKIP run-smtps: needs TLS and openssl")
        return
    q = lib.Queue()
    os.chown(q.dir, NOBODY, NOBODY)
    srv = None
    try:
        cert, creds = tls_files(workdir)
        key = os.path.join(workdir, "tls", "key-group.pem")
        shutil.copy(os.path.join(creds, "tls-key"), key)
        os.chown(key, 0, NOBODY)
        os.chmod(key, 0o640)
        env = lib.base_env({
            "SMTPD": lib.SMTPD, "QUEUE": q.dir, "SMTPD_USER": "nobody",
            "RULES": tcprules_cdb(workdir, name="tcp.smtps"),
            "LISTEN": "127.0.0.1", "TLS_CERT": cert, "TLS_KEY": key,
            "SMTPD_ARGS": "--hostname " + lib.HOST})

        def cmd(port):
            env["PORT"] = str(port)
            return [os.path.join(UNITS, "tcpserver", "run-smtps")]
        srv = TLSLauncher("run-smtps", cmd, workdir, cert, env=env)
        got = tls_session("run-smtps-relay", srv, q, "10.1.2.3")
        want("run-smtps-relay", got if isinstance(got, dict) else None, {
            "Client-Address": "10.1.2.3", "Trusted": "yes",
            "Recipient": "<far@foreign.example>"},
            "%r log %s" % (got, srv.output()[-1000:]))
        check("run-smtps-tls", isinstance(got, dict) and got.get(
            "TLS", "").startswith("TLSv1."), "%r" % got)
        got = tls_session("run-smtps-deny", srv, q, "192.0.2.9")
        check("run-smtps-deny", not isinstance(got, dict) and
              "tcpserver: deny" in srv.output() and "ip=192.0.2.9" not in
              srv.output(), "%r log %s" % (got, srv.output()[-800:]))
    except Exception as e:
        check("run-smtps", False, "exception %r log %s" % (
            e, srv.output()[-1500:] if srv else ""))
    finally:
        if srv is not None:
            srv.stop()
        q.cleanup()


def netns_child():
    """Entry point inside unshare --net: set up lo, run the chains."""
    for cmd in (["ip", "link", "set", "lo", "up"],) + tuple(
            ["ip", "addr", "add", a + "/32", "dev", "lo"]
            for a in NETNS_ADDRS):
        p = run(cmd)
        if p.returncode != 0:
            check("netns-setup", False, "%s: %s" % (cmd, text(p.stderr)))
            lib.finish()
    workdir = tempfile.mkdtemp(prefix="smtpd-launch-ns-")
    os.chmod(workdir, 0o755)
    try:
        netns_tcpserver(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    lib.finish()


def test_tcpserver_netns():
    for tool in ("tcpserver", "tcprules", "rblsmtpd", "ip", "unshare"):
        if shutil.which(tool) is None:
            print("SKIP tcpserver-chains: %s is not installed" % tool)
            return
    if os.geteuid() != 0:
        print("SKIP tcpserver-chains: a network namespace with real client "
              "addresses needs root")
        return
    sys.stdout.flush()
    # --pid --fork --kill-child: whatever happens, every process started in
    # there dies with the namespace's first process
    p = subprocess.run(["unshare", "--net", "--pid", "--fork",
                        "--kill-child", "--", sys.executable,
                        os.path.abspath(__file__), "--netns-child"],
                       env=os.environ.copy(), timeout=120)
    if p.returncode not in (0, 1):
        check("tcpserver-chains", False, "netns child exited %d" %
              p.returncode)


def test_recordio(workdir):
    """tcpserver ... recordio smtpd: the transcript on recordio's stderr."""
    if shutil.which("recordio") is None or shutil.which("tcpserver") is None:
        print("SKIP recordio: ucspi-tcp is not installed")
        return
    q = lib.Queue()
    srv = None
    try:
        srv = Launcher("recordio", lambda port: [
            "tcpserver", "-q", "-H", "-R", "-l", lib.HOST, "127.0.0.1",
            str(port), "recordio", lib.SMTPD, "--queue", q.dir, "--hostname",
            lib.HOST], workdir)
        r = session(srv.port, ["far@foreign.example"], subject="recordio")
        log = srv.output()
        env = envelope(q, r["qid"])
        want("recordio-mail", env, {"Client-Address": "127.0.0.1",
                                    "Client-Port": str(r["port"])},
             "reply %r log %s" % (r["data"], log[-800:]))
        m = re.search(r"(?m)^(\d+) > 250 2\.0\.0 OK queued as %s" %
                      re.escape(r["qid"] or "-"), log)
        pid = m.group(1) if m else "-"
        pats = [r"(?m)^%s > 220 %s ESMTP" % (pid, re.escape(lib.HOST)),
                r"(?mi)^%s < MAIL FROM:<s@example\.org>" % pid,
                r"(?m)^%s < Subject: recordio" % pid,
                r"(?m)^%s > 221 " % pid,
                r"(?m)^smtpd\[%s\]: ip=127\.0\.0\.1 event=queued" % pid]
        missing = [x for x in pats if not re.search(x, log)]
        check("recordio-transcript", m is not None and not missing,
              "missing %r in %s" % (missing, log[-1500:]))
    except Exception as e:
        check("recordio", False, "exception %r" % e)
    finally:
        if srv is not None:
            srv.stop()
        q.cleanup()


def test_run_script_lint():
    if shutil.which("shellcheck") is None:
        print("SKIP run-script-shellcheck: shellcheck is not installed")
        return
    for name in ("run", "run-smtps"):
        p = run(["shellcheck", "-s", "sh", os.path.join(UNITS, "tcpserver",
                                                        name)])
        check("run-script-shellcheck-" + name, p.returncode == 0,
              text(p.stdout))


# --- make install, man pages ------------------------------------------------

def sd_dir(var, fallback, env):
    p = run(["pkg-config", "--variable=" + var, "systemd"], env=env)
    out = p.stdout.decode().strip()
    return out if p.returncode == 0 and out else fallback


def tree(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            path = os.path.join(d, f)
            out[os.path.relpath(path, root)] = os.stat(path).st_mode & 0o7777
    return out


def expected_install(prefix, env):
    """{path: (mode, source file, substitute /usr/sbin/smtpd)}."""
    unitdir = sd_dir("systemdsystemunitdir", prefix + "/lib/systemd/system",
                     env)
    exp = {prefix + "/sbin/smtpd": (0o755, "smtpd", False),
           prefix + "/sbin/smtpd-queue": (0o755, "smtpd-queue", False),
           prefix + "/share/man/man1/smtpd-queue.1": (0o644, "man/smtpd-queue.1",
                                                      False),
           prefix + "/share/man/man8/smtpd.8": (0o644, "man/smtpd.8", False),
           prefix + "/share/man/man5/smtpd-spool.5": (0o644, "man/smtpd-spool.5",
                                                      False),
           sd_dir("sysusersdir", prefix + "/lib/sysusers.d", env) +
           "/smtpd.conf": (0o644, "units/smtpd.sysusers", False),
           sd_dir("tmpfilesdir", prefix + "/lib/tmpfiles.d", env) +
           "/smtpd.conf": (0o644, "units/smtpd.tmpfiles", False)}
    for u in SERVICES + SOCKETS + FAST + QUEUE_UNITS:
        exp[unitdir + "/" + u] = (0o644, "units/" + u, True)
    for e in ("check-mailbox", "greylist", "relay-by-cert", "sender-login",
              "checkpassword-crypt"):
        exp[prefix + "/share/doc/smtpd/examples/" + e] = (0o755,
                                                          "examples/" + e,
                                                          False)
    for e in ("fail2ban/filter.d/smtpd.conf", "fail2ban/jail.d/smtpd.conf"):
        exp[prefix + "/share/doc/smtpd/examples/" + e] = (0o644,
                                                          "examples/" + e,
                                                          False)
    for e, mode in (("xinetd/smtpd", 0o644), ("xinetd/smtps", 0o644),
                    ("tcpserver/run", 0o755), ("tcpserver/tcp.smtp", 0o644),
                    ("tcpserver/run-smtps", 0o755),
                    ("tcpserver/tcp.smtps", 0o644), (TLS_DROPIN, 0o644),
                    (MILTER_DROPIN, 0o644),
                    (AUTH_DEFAULTS_EXAMPLE, 0o644)):
        exp[prefix + "/share/doc/smtpd/examples/" + e] = (mode, "units/" + e,
                                                          True)
    return {k.lstrip("/"): v for k, v in exp.items()}


def check_installed(name, dest, prefix, env):
    exp = expected_install(prefix, env)
    got = tree(dest)
    bad = []
    for path, (mode, src, subst) in exp.items():
        with open(os.path.join(lib.ROOT, src), "rb") as f:
            want_bytes = f.read()
        if subst:
            want_bytes = want_bytes.replace(b"/usr/sbin/smtpd",
                                            prefix.encode() + b"/sbin/smtpd")
        try:
            with open(os.path.join(dest, path), "rb") as f:
                same = f.read() == want_bytes
        except OSError:
            same = False
        if got.get(path) != mode or not same:
            bad.append((path, oct(got.get(path, 0)), same))
    extra = sorted(set(got) - set(exp))
    check(name, not bad and not extra, "wrong %r extra %r" % (bad, extra))


def test_install(workdir):
    """make install into a DESTDIR (PREFIX=/usr, then the default
    /usr/local with no systemd.pc), check the tree; make uninstall."""
    if shutil.which("make") is None:
        print("SKIP install: make is not installed")
        return
    for name, prefix, extra_env in (
            ("install-usr", "/usr", {}),
            ("install-default-nopkgconfig", "/usr/local",
             {"PKG_CONFIG_LIBDIR": "/nonexistent", "PKG_CONFIG_PATH": ""})):
        env = lib.base_env(extra_env)
        dest = os.path.join(workdir, name)
        args = ["DESTDIR=" + dest] + (["PREFIX=" + prefix]
                                      if prefix != "/usr/local" else [])
        p = run(["make", "-s", "-o", "smtpd", "install"] + args,
                cwd=lib.ROOT, env=env)
        if not check(name + "-make", p.returncode == 0, text(p.stderr)):
            continue
        check_installed(name + "-tree", dest, prefix, env)
        p = run(["make", "-s", "uninstall"] + args, cwd=lib.ROOT, env=env)
        left = tree(dest)
        check(name + "-uninstall", p.returncode == 0 and not left and
              not os.path.exists(os.path.join(dest, prefix.lstrip("/"),
                                              "share/doc/smtpd")),
              "rc %d left %r %s" % (p.returncode, sorted(left),
                                    text(p.stderr)))


def help_options():
    """[(option, default or None)] from smtpd --help."""
    out = run([lib.SMTPD, "--help"]).stdout.decode()
    entries = []
    for ln in out.splitlines():
        if ln.startswith("  --"):
            entries.append(ln.strip())
        elif ln.startswith("    ") and entries:
            entries[-1] += " " + ln.strip()
    opts = []
    for e in entries:
        m = re.search(r"default ([^\s);:,]+)", e)
        for o in re.findall(r"(?:^|, )(--[a-z-]+)", e):
            opts.append((o, m.group(1) if m else None))
    return opts


def man_item(src, opt):
    """The .It block of smtpd.8 that describes opt, as plain text."""
    token = "Fl \\-" + opt[2:].replace("-", "\\-")
    for chunk in src.split("\n.It ")[1:]:
        first = chunk.split("\n", 1)[0]
        if re.search(re.escape(token) + r"(\s|$)", first):
            return chunk.replace("\\-", "-")
    return None


def test_man():
    pages = [os.path.join(lib.ROOT, "man", "smtpd.8"),
             os.path.join(lib.ROOT, "man", "smtpd-spool.5")]
    if shutil.which("mandoc") is None:
        check("man-lint", False, "mandoc is not installed (tests/deps.sh)")
        return
    # Both pages in one run, so each one's reference to the other resolves.
    # mandoc also notes, for each reference it found by file name, that
    # the system has no apropos database (Debian indexes with man-db, not
    # makewhatis): not a lint message.  Those pages must exist.
    p = run(["mandoc", "-T", "lint"] + pages, cwd=os.path.dirname(pages[0]))
    noise = re.compile(r"^mandoc: outdated mandoc\.db lacks ([\w.-]+)"
                       r"\((\w+)\) entry, run makewhatis \S+$")
    real = []
    for ln in text(p.stdout + p.stderr).splitlines():
        m = noise.match(ln)
        if m is None or run(["man", "-w", m.group(2),
                             m.group(1)]).returncode != 0:
            real.append(ln)
    check("man-lint", p.returncode == 0 and not real, "\n".join(real))
    env = lib.base_env({"MANPAGER": "cat", "PAGER": "cat", "MANWIDTH": "80",
                        "LANG": "C.UTF-8"})
    rendered = {}
    for page in pages:
        r = run(["man", "./" + os.path.basename(page)],
                cwd=os.path.dirname(page), env=env)
        out = text(r.stdout).replace("\u2212", "-").replace("\u2010", "-")
        rendered[page] = out
        check("man-render-" + os.path.basename(page), r.returncode == 0 and
              r.stderr == b"" and "NAME" in out and "DESCRIPTION" in out,
              "rc %d stderr %r" % (r.returncode, r.stderr[:500]))
    with open(pages[0]) as f:
        src = f.read()
    bad = []
    for opt, default in help_options():
        item = man_item(src, opt)
        if item is None or opt not in rendered[pages[0]]:
            bad.append((opt, "not described"))
        elif default is not None and default not in item:
            bad.append((opt, "default %s not given" % default))
    check("man-agrees-with-help", not bad and len(help_options()) > 10,
          "%r" % bad)
    missing = [x for x in ("SYNOPSIS", "OPTIONS", "ENVIRONMENT", "LIMITS",
                           "EXIT STATUS", "LAUNCHERS", "EXAMPLES",
                           "STANDARDS") if x not in rendered[pages[0]]]
    check("man-sections", not missing, "missing %r" % missing)


def test_units(workdir):
    if shutil.which("systemd-analyze") is None:
        print("SKIP units: systemd-analyze is not installed")
        return
    # systemd-analyze leaves this timestamp file behind; not ours to keep
    stamp = "/run/systemd/systemd-units-load"
    had_stamp = os.path.exists(stamp)
    try:
        d, man = unit_copies(workdir)
        test_units_content()
        test_units_verify(d, man)
        test_units_security(d)
        test_sysusers_tmpfiles(workdir)
        test_syscalls(workdir)
        test_syscalls_tls(workdir)
        test_syscalls_auth(workdir)
        test_units_tls_exec(workdir)
        test_units_milter_reach(workdir)
    finally:
        stop_dovecot()
        if not had_stamp and os.path.exists(stamp):
            os.unlink(stamp)


def main():
    import traceback
    workdir = tempfile.mkdtemp(prefix="smtpd-launch-")
    os.chmod(workdir, 0o755)
    tests = (("activate", lambda: test_socket_activate(workdir)),
             ("units", lambda: test_units(workdir)),
             ("journal", lambda: test_journal(workdir)),
             ("xinetd", lambda: test_xinetd(workdir)),
             ("xinetd-smtps", lambda: test_xinetd_smtps(workdir)),
             ("tcpserver-chains", test_tcpserver_netns),
             ("recordio", lambda: test_recordio(workdir)),
             ("run-script", test_run_script_lint),
             ("install", lambda: test_install(workdir)),
             ("man", test_man))
    try:
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
    if sys.argv[1:] == ["--netns-child"]:
        netns_child()
    main()
