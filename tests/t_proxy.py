r"""t_proxy.py - who may relay (--trust), PROXY headers (--proxy-from),
and the Accept=no supervisor (--max-connections, --max-per-ip).

Trust: real TCP sessions (smtpd on the server end of a 127.0.0.1, ::1
or IPv4-mapped connection, as tcpserver starts it) with the client's
address from TCPREMOTEIP, REMOTE_ADDR, REMOTE_HOST or getpeername();
"trusted" is both the connect record's trusted=yes|no and relaying to
an outside domain (250, the message spooled with Trusted: yes) or not
(550 5.7.1).  The default (loopback), --trust networks (IPv4, IPv6, an
IPv4-mapped client and network), RELAYCLIENT with a --trust list and
with --trust none, a pipe under --trust none (local, trusted), a
UNIX-domain socket (only by RELAYCLIENT), --proxy-from alone (loopback
no longer trusted); usage errors (exit 100).

PROXY: headers built here (v1 text, v2 with struct) on real sockets
from 127.0.0.1 with --proxy-from: TCP4, TCP6, v2 with TLVs, v2 LOCAL
and UNSPEC, v1 UNKNOWN (the 107-octet limit exactly); the client's
address and port in the connect record (ip=, port=, via=, proxy=), the
Received line (the header's destination as our address), the envelope
and a --check-client program's SMTPD_CLIENT_IP; the launcher's names
dropped; trust from --trust alone (not loopback, not RELAYCLIENT, not
the balancer's).  A header in pieces; a header with the next octets in
the same write (they are the client's: an early talker, 554); a header
followed at once by a TLS ClientHello under --tls-implicit.  Every
malformed, truncated, over-long or missing header, and silence past
the deadline: one proxy-failed record, no octet, exit 1, nothing
spooled.  A peer outside --proxy-from sending PROXY: 500 5.5.1.

Supervisor: systemd-socket-activate without --accept hands smtpd the
listening socket (fd 3, and fd 0 with --inetd): concurrent smtplib
sessions in forked children, the 421 and overload record of
--max-per-ip, --max-connections and the default 10 per address, a
child killed by SIGKILL (session-killed, the others go on), SIGTERM
(stopping: new connections refused, the open session finishes, exit
0), PROXY headers in children (a balancer not counted per address),
and root refused without SMTPD_ALLOW_ROOT.

The cases run side by side in threads.
"""
import concurrent.futures
import os
import re
import shutil
import signal
import smtplib
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
import tlslib  # noqa: E402

# tests/valgrind/run.sh sets this: every smtpd runs many times slower
SLOW = os.environ.get("SMTPD_TEST_VALGRIND") == "1"
T = 120 if SLOW else 20             # the longest any one step may take
QUIET = 3.0 if SLOW else 0.5        # "nothing arrives" means for this long
# how late a deadline may end a session (the clock starts with the
# process: under valgrind its slow start counts too)
LATE = 45.0 if SLOW else 1.5
WORK = tempfile.mkdtemp(prefix="smtpd-proxy-")
os.chmod(WORK, 0o755)
HELO = "client.test.example"
DOMAIN = "ok.example"               # ours (--domain): anyone may send here
FAR = b"<far@foreign.example>"      # not ours: relaying
OURS = b"<user@ok.example>"
OK_RE = re.compile(rb"^250 2\.0\.0 OK queued as ([A-Za-z0-9.]+)$")
MSG = (b"From: <s@example.org>\r\nTo: <far@foreign.example>\r\n"
       b"Subject: proxy test\r\n\r\nbody\r\n")

check, skip = lib.check, lib.skip
VERSION = lib.version_line(T)
TLS_BUILT = "tls: no" not in VERSION


# --- log records -------------------------------------------------------------

REC_RE = re.compile(r"^smtpd\[(\d+)\]: (.*)$")
FIELD_RE = re.compile(r'([A-Za-z_]+)=("(?:[^"\\]|\\.)*"|\S*)')


def records(log, event=None):
    """smtpd's log records as dicts (pid, and every key=value; quotes
    taken off), only those of one event if given."""
    out = []
    for line in log.splitlines():
        m = REC_RE.match(line)
        if not m:
            continue
        d = {"pid": int(m.group(1))}
        for k, v in FIELD_RE.findall(m.group(2)):
            d[k] = v[1:-1] if v.startswith('"') else v
        if event is None or d.get("event") == event:
            out.append(d)
    return out


def want_fields(rec, expect):
    """{key: (wanted, got)} where a record differs (None: absent)."""
    rec = rec or {}
    return {k: (v, rec.get(k)) for k, v in expect.items() if rec.get(k) != v}


def side_by_side(fn, items, n=4):
    """fn(item) for each item, n at a time (a case's exception is its
    FAIL, not the others')."""
    def one(item):
        try:
            fn(item)
        except Exception:
            import traceback
            check(str(item[0]), False, "exception:\n" +
                  traceback.format_exc())
    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        list(pool.map(one, items))


def literal(ip):
    return ("[IPv6:%s]" if ":" in ip else "[%s]") % ip


# --- sessions on a real TCP connection ---------------------------------------

class Session(tlslib.Session):
    """tlslib.Session with --domain DOMAIN, sticky: a connection gone is
    a "!closed ..." reply.  family: "4" 127.0.0.1, "6" ::1, "mapped" an
    AF_INET6 server socket whose peer is ::ffff:127.0.0.1, "unix" a
    UNIX-domain socket pair.  pre: octets the client has sent before
    smtpd starts (so that they are all there at its first read);
    close_first: and then its half of the connection closed (shutdown
    SHUT_WR)."""

    sticky = True

    def __init__(self, args=(), env=None, family="4", pre=b"",
                 close_first=False, tag=""):
        self.tag = tag
        super().__init__(WORK, ["--domain", DOMAIN] + list(args), env,
                         timeout=T, family=family, pre=pre,
                         close_first=close_first)

    def transaction(self, rcpts, body=MSG):
        """EHLO, MAIL, each RCPT, DATA if one was taken: ({rcpt: last
        reply line}, DATA's last line or None)."""
        self.first(b"EHLO " + HELO.encode())
        self.first(b"MAIL FROM:<s@example.org>")
        got = {r: self.first(b"RCPT TO:" + r) for r in rcpts}
        data = None
        if any(v.startswith(b"250") for v in got.values()):
            data = self.first(b"DATA")
            if data.startswith(b"354"):
                self.send_body(body + b".\r\n")
                data = self.reply()[-1]
        return got, data

    def until_eof(self, timeout=T):
        """(every octet until smtpd closes, how it ended: eof, reset or
        timeout; seconds since smtpd was started)."""
        got, how = b"", "eof"
        self.s.settimeout(timeout)
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    break
                got += d
        except socket.timeout:
            how = "timeout"
        except (ConnectionResetError, ssl.SSLError, OSError):
            how = "reset"
        return got, how, time.monotonic() - self.t0

    def spooled(self):
        """[(envelope dict, envelope field list, Received field)] of new/."""
        out = []
        for name in self.q.files("new"):
            fields, message = lib.split_spool(self.q.read(name))
            rec, _ = lib.received_split(message)
            out.append((dict(fields), fields, rec))
        return out

    def empty_queue(self):
        return self.q.files("new") == [] and self.q.files("tmp") == []


def policy_dump(tag):
    """A --check-client program that writes its environment to a file;
    (program, file)."""
    out = os.path.join(WORK, "env-%s.out" % tag)
    prog = os.path.join(WORK, "env-%s.sh" % tag)
    with open(prog, "w") as f:
        f.write("#!/bin/sh\nenv > '%s.tmp' && mv '%s.tmp' '%s'\nexit 0\n"
                % (out, out, out))
    os.chmod(prog, 0o755)
    return prog, out


def read_env(path):
    try:
        with open(path) as f:
            return dict(x.split("=", 1) for x in f.read().splitlines()
                        if "=" in x)
    except OSError:
        return None


# --- 1. trust ---------------------------------------------------------------

def trust_case(name, args=(), env=None, family="4", trusted=True, ip=None,
               port="socket"):
    """One session: the connect record (ip=, trusted=), a relayed
    recipient taken or refused, the envelope's Trusted: and address."""
    s = Session(args, env, family, tag=name)
    try:
        greet = s.reply()[-1]
        got, data = s.transaction([FAR, OURS])
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    want_port = str(s.port) if port == "socket" else port
    conn = records(log, "connect")
    exp = {"trusted": "yes" if trusted else "no", "ip": ip,
           "port": want_port}
    bad = want_fields(conn[0] if conn else None, exp)
    check(name + "-log", len(conn) == 1 and not bad and greet.startswith(
          b"220 "), "want/got %r greeting %r log %s" % (bad, greet, log))
    far = got.get(FAR, b"")
    check(name + "-relay", (far.startswith(b"250 2.1.5") if trusted else
          far.startswith(b"550 5.7.1 ")) and got.get(OURS, b"").startswith(
          b"250 2.1.5") and rc == 0, "RCPT %r rc %r" % (got, rc))
    sp = s.spooled()
    env_ = sp[0][0] if len(sp) == 1 else {}
    rcpts = [v for k, v in (sp[0][1] if len(sp) == 1 else []) if
             k == "Recipient"]
    wrcpts = (["<far@foreign.example>"] if trusted else []) + [
        "<user@ok.example>"]
    check(name + "-envelope", OK_RE.match(data or b"") is not None and
          env_.get("Trusted") == ("yes" if trusted else "no") and
          env_.get("Client-Address") == ip and rcpts == wrcpts,
          "DATA %r spooled %r" % (data, sp))
    s.cleanup()


def test_trust_default_loopback():
    trust_case("trust-default-loopback", ip="127.0.0.1")


def test_trust_default_ipv6_loopback():
    trust_case("trust-default-ipv6-loopback", family="6", ip="::1")


def test_trust_default_remote():
    trust_case("trust-default-remote", env={
        "TCPREMOTEIP": "192.0.2.7", "TCPREMOTEPORT": "4242"},
        trusted=False, ip="192.0.2.7", port="4242")


def test_trust_default_relayclient():
    trust_case("trust-default-relayclient", env={
        "TCPREMOTEIP": "198.51.100.1", "TCPREMOTEPORT": "4242",
        "RELAYCLIENT": ""}, ip="198.51.100.1", port="4242")


def test_trust_net_in():
    trust_case("trust-net-in", ["--trust", "192.0.2.0/24"], env={
        "TCPREMOTEIP": "192.0.2.7", "TCPREMOTEPORT": "4242"},
        ip="192.0.2.7", port="4242")


def test_trust_net_loopback_out():
    """--trust names the networks: loopback is no longer among them."""
    trust_case("trust-net-loopback-out", ["--trust", "192.0.2.0/24"],
               trusted=False, ip="127.0.0.1")


def test_trust_net_other_out():
    trust_case("trust-net-other-out", ["--trust", "192.0.2.0/24"], env={
        "REMOTE_ADDR": "198.51.100.1", "REMOTE_PORT": "5555"},
        trusted=False, ip="198.51.100.1", port="5555")


def test_trust_net_xinetd():
    """REMOTE_HOST (xinetd): an address, no port."""
    trust_case("trust-net-remote-host", ["--trust", "192.0.2.0/25"], env={
        "REMOTE_HOST": "192.0.2.100"}, ip="192.0.2.100", port=None)
    trust_case("trust-net-remote-host-out", ["--trust", "192.0.2.0/25"],
               env={"REMOTE_HOST": "192.0.2.200"}, trusted=False,
               ip="192.0.2.200", port=None)


def test_trust_ipv6():
    trust_case("trust-ipv6-in", ["--trust", "2001:db8::/32"], env={
        "REMOTE_ADDR": "2001:DB8:1:0:0:0:0:25", "REMOTE_PORT": "6000"},
        ip="2001:db8:1::25", port="6000")
    trust_case("trust-ipv6-out", ["--trust", "2001:db8::/32"], env={
        "TCPREMOTEIP": "2001:db9::25", "TCPREMOTEPORT": "6000"},
        trusted=False, ip="2001:db9::25", port="6000")


def test_trust_ipv6_socket():
    trust_case("trust-ipv6-loopback-out", ["--trust", "2001:db8::/32"],
               family="6", trusted=False, ip="::1")


def test_trust_mapped():
    """An IPv4-mapped client is the IPv4 client it is: from the
    environment, from a real AF_INET6 socket, against an IPv4 network
    and against an IPv4-mapped one."""
    trust_case("trust-mapped-env", ["--trust", "192.0.2.0/24"], env={
        "TCPREMOTEIP": "::ffff:192.0.2.7", "TCPREMOTEPORT": "4242"},
        ip="192.0.2.7", port="4242")
    trust_case("trust-mapped-net", ["--trust", "::ffff:127.0.0.0/104"],
               ip="127.0.0.1")


def test_trust_mapped_socket():
    trust_case("trust-mapped-socket", ["--trust", "127.0.0.0/8"],
               family="mapped", ip="127.0.0.1")
    trust_case("trust-mapped-socket-out", ["--trust", "10.0.0.0/8"],
               family="mapped", trusted=False, ip="127.0.0.1")


def test_trust_relayclient_list():
    trust_case("trust-relayclient-with-list", ["--trust", "192.0.2.0/24"],
               env={"TCPREMOTEIP": "198.51.100.1", "TCPREMOTEPORT": "4242",
                    "RELAYCLIENT": ""}, ip="198.51.100.1", port="4242")


def test_trust_none():
    trust_case("trust-none-relayclient", ["--trust", "none"], env={
        "TCPREMOTEIP": "198.51.100.1", "TCPREMOTEPORT": "4242",
        "RELAYCLIENT": ""}, trusted=False, ip="198.51.100.1", port="4242")
    trust_case("trust-none-loopback", ["--trust", "none"], trusted=False,
               ip="127.0.0.1")


def test_trust_unix_socket():
    """A UNIX-domain socket peer has no address and is not local (any
    user who reaches the socket file could relay): untrusted unless
    RELAYCLIENT is set, and then not under --trust none."""
    for name, args, env, trusted in (
            ("trust-unix-socket", [], None, False),
            ("trust-unix-socket-relayclient", [], {"RELAYCLIENT": ""}, True),
            ("trust-unix-socket-relayclient-list", ["--trust", "10.0.0.0/8"],
             {"RELAYCLIENT": ""}, True),
            ("trust-unix-socket-relayclient-none", ["--trust", "none"],
             {"RELAYCLIENT": ""}, False)):
        s = Session(args, env, family="unix", tag=name)
        try:
            s.reply()
            got, _ = s.transaction([FAR, OURS])
            s.first(b"QUIT")
        finally:
            rc, log = s.finish()
        conn = records(log, "connect")
        far = got.get(FAR, b"")
        sp = s.spooled()
        env_ = sp[0][0] if len(sp) == 1 else {}
        check(name, len(conn) == 1 and conn[0].get("ip") == "unix" and
              conn[0].get("trusted") == ("yes" if trusted else "no") and
              (far.startswith(b"250 2.1.5") if trusted else
               far.startswith(b"550 5.7.1")) and
              got.get(OURS, b"").startswith(b"250") and rc == 0 and
              env_.get("Trusted") == ("yes" if trusted else "no"),
              "RCPT %r rc %r envelope %r log %s" % (got, rc, env_, log))
        s.cleanup()


def test_trust_none_pipe():
    """A pipe (the operator's transcript) is local: trusted even under
    --trust none."""
    q = lib.Queue(WORK)
    data = (b"EHLO " + HELO.encode() + b"\r\nMAIL FROM:<s@example.org>\r\n"
            b"RCPT TO:" + FAR + b"\r\nDATA\r\n" + MSG + b".\r\nQUIT\r\n")
    rc, out, err = lib.run_smtpd(data, q, ["--trust", "none", "--domain",
                                           DOMAIN], timeout=T)
    conn = records(err.decode("utf-8", "replace"), "connect")
    msgs = q.messages()
    env = dict(lib.split_spool(msgs[0])[0]) if len(msgs) == 1 else {}
    check("trust-none-pipe-local", rc == 0 and len(conn) == 1 and
          conn[0].get("ip") == "local" and conn[0].get("trusted") == "yes"
          and b"250 2.1.5" in out and env.get("Trusted") == "yes",
          "rc %r out %r err %r env %r" % (rc, out[-400:], err, env))
    q.cleanup()


def test_trust_proxy_from_only():
    """--proxy-from without --trust: loopback is not trusted, RELAYCLIENT
    still is (for peers that are not balancers)."""
    trust_case("trust-proxy-from-loopback-out",
               ["--proxy-from", "192.0.2.0/24"], trusted=False,
               ip="127.0.0.1")
    trust_case("trust-proxy-from-relayclient",
               ["--proxy-from", "192.0.2.0/24"], env={
                   "TCPREMOTEIP": "198.51.100.1", "TCPREMOTEPORT": "4242",
                   "RELAYCLIENT": ""}, ip="198.51.100.1", port="4242")


def usage(args):
    os.makedirs(os.path.join(WORK, "uq"), exist_ok=True)
    p = subprocess.run([lib.SMTPD, "--queue", os.path.join(WORK, "uq"),
                        "--hostname", lib.HOST] + args,
                       input=b"QUIT\r\n", capture_output=True,
                       env=lib.base_env(), timeout=T)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def test_usage_errors():
    nets = ["10.%d.0.0/16" % i for i in range(65)]
    many = [x for n in nets for x in ("--trust", n)]
    many_pf = [x for n in nets for x in ("--proxy-from", n)]
    cases = (
        ("none-then-net", ["--trust", "none", "--trust", "10.0.0.0/8"],
         "--trust none cannot be given with networks"),
        ("net-then-none", ["--trust", "10.0.0.0/8", "--trust", "none"],
         "--trust none cannot be given with networks"),
        ("host-bits", ["--trust", "10.1.0.0/8"], "bad --trust"),
        ("bad-octet", ["--trust", "300.1.1.1"], "bad --trust"),
        ("bits-33", ["--trust", "10.0.0.0/33"], "bad --trust"),
        ("bits-129", ["--trust", "2001:db8::/129"], "bad --trust"),
        ("v6-host-bits", ["--trust", "2001:db8::1/32"], "bad --trust"),
        ("empty", ["--trust", ""], "bad --trust"),
        ("65-trust", many, "bad --trust"),
        ("proxy-from-word", ["--proxy-from", "x"], "bad --proxy-from"),
        ("proxy-from-host-bits", ["--proxy-from", "127.0.0.1/8"],
         "bad --proxy-from"),
        ("65-proxy-from", many_pf, "bad --proxy-from"),
        ("max-connections-0", ["--max-connections", "0"],
         "--max-connections"),
        ("max-per-ip-word", ["--max-per-ip", "ten"], "--max-per-ip"))
    def bad(case):
        name, args, text = case
        rc, out, err = usage(args)
        check("usage-" + name, rc == 100 and text in err and out == b"",
              "rc %r out %r err %s" % (rc, out[:200], err[:300]))

    # and what is just inside the limits works (so the above mean it)
    def good(case):
        name, args = case
        rc, out, err = usage(args)
        check("usage-ok-" + name, rc == 0 and out.startswith(b"220 "),
              "rc %r out %r err %s" % (rc, out[:200], err[:300]))
    side_by_side(bad, cases)
    side_by_side(good, (("64-trust", many[:128]),
                        ("64-proxy-from", many_pf[:128]),
                        ("trust-host", ["--trust", "192.0.2.7"]),
                        ("trust-v6-host", ["--trust", "2001:db8::7/128"]),
                        ("trust-zero", ["--trust", "0.0.0.0/0"]),
                        ("max-per-ip-0", ["--max-per-ip", "0"])))


# --- 2. PROXY headers --------------------------------------------------------

V2SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v1(proto, src="", dst="", sport=0, dport=0):
    if proto == "UNKNOWN":
        return b"PROXY UNKNOWN\r\n"
    return ("PROXY %s %s %s %d %d\r\n" % (proto, src, dst, sport,
                                          dport)).encode()


def v2(cmd=1, fam=0x11, src=None, dst=None, sport=0, dport=0, tlvs=b"",
       length=None, ver=2):
    """A v2 header: signature, version and command, family, length, the
    address block (when src is given) and the TLVs."""
    body = b""
    if src is not None:
        af = socket.AF_INET6 if ":" in src else socket.AF_INET
        body = (socket.inet_pton(af, src) + socket.inet_pton(af, dst) +
                struct.pack("!HH", sport, dport))
    body += tlvs
    return V2SIG + struct.pack("!BBH", ver << 4 | cmd, fam,
                               len(body) if length is None else length) + body


def tlv(kind, value):
    return struct.pack("!BH", kind, len(value)) + value


# what HAProxy sends with send-proxy-v2-ssl-cn and friends: ALPN,
# AUTHORITY, CRC32C, UNIQUE_ID, SSL (with VERSION and CN inside), NETNS,
# and NOOP padding
TLVS = (tlv(0x01, b"smtp") + tlv(0x02, b"mx.test.example") +
        tlv(0x03, b"\x00\x00\x00\x00") + tlv(0x05, os.urandom(32)) +
        tlv(0x20, b"\x07" + struct.pack("!I", 0) + tlv(0x21, b"TLSv1.3") +
            tlv(0x22, b"client.test.example")) +
        tlv(0x30, b"blue") + tlv(0x04, b"\x00" * 37))

PF = ["--proxy-from", "127.0.0.1"]


def proxied(name, header, expect, args=(), env=None, pieces=None,
            policy=True):
    """A session behind a balancer: header sent first (or pieces, [(octets,
    pause)]), then a message to a relayed and a local recipient.
    expect: ip, port, via, proxy, trusted ("yes"/"no"), local (our
    address in Received), name (the connect record's name=, or None)."""
    prog, envfile = policy_dump(name)
    s = Session(PF + list(args) + (["--check-client", prog] if policy
                                   else []), env, tag=name)
    try:
        if pieces is None:
            s.send(header)
        else:
            for part, pause in pieces:
                s.send(part)
                time.sleep(pause)
        greet = s.reply()[-1]
        got, data = s.transaction([FAR, OURS])
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    trusted = expect["trusted"] == "yes"
    port = expect.get("port") or str(s.port)
    conn = records(log, "connect")
    wl = {"ip": expect["ip"], "port": port, "via": expect["via"],
          "proxy": expect["proxy"], "trusted": expect["trusted"],
          "name": expect.get("name")}
    bad = want_fields(conn[0] if conn else None, wl)
    check(name + "-log", greet.startswith(b"220 ") and len(conn) == 1 and
          not bad and not records(log, "proxy-failed"),
          "greeting %r want/got %r log %s" % (greet, bad, log))
    far = got.get(FAR, b"")
    check(name + "-relay", (far.startswith(b"250 2.1.5") if trusted else
          far.startswith(b"550 5.7.1 ")) and rc == 0 and
          OK_RE.match(data or b"") is not None,
          "RCPT %r DATA %r rc %r" % (got, data, rc))
    sp = s.spooled()
    env_, _, rec = sp[0] if len(sp) == 1 else ({}, [], b"")
    wenv = {"Client-Address": expect["ip"], "Client-Port": port,
            "Trusted": expect["trusted"], "Helo": HELO,
            "Client-Name": expect.get("name")}
    bad = want_fields(env_, wenv)
    check(name + "-envelope", len(sp) == 1 and not bad,
          "want/got %r spooled %r" % (bad, sp))
    frm = "from %s (%s%s)" % (HELO, expect["name"] + " " if
                               expect.get("name") else "",
                               literal(expect["ip"]))
    by = "by %s (%s)" % (lib.HOST, literal(expect["local"]))
    rtext = rec.decode("utf-8", "replace")
    check(name + "-received", rtext.startswith("Received: " + frm + "\r\n")
          and ("\t" + by + " with ESMTP") in rtext,
          "want %r / %r in %r" % (frm, by, rtext))
    if policy:
        pe = read_env(envfile) or {}
        wpe = {"SMTPD_CLIENT_IP": expect["ip"], "SMTPD_CLIENT_PORT": port,
               "SMTPD_TRUSTED": expect["trusted"], "SMTPD_STAGE": "connect"}
        bad = want_fields(pe, wpe)
        check(name + "-policy-env", pe and not bad and
              pe.get("SMTPD_CLIENT_NAME", "") == (expect.get("name") or ""),
              "want/got %r env %r" % (bad, pe))
    s.cleanup()


def test_v1_tcp4():
    proxied("proxy-v1-tcp4", v1("TCP4", "192.0.2.7", "198.51.100.25", 4242,
                                25),
            {"ip": "192.0.2.7", "port": "4242", "via": "127.0.0.1",
             "proxy": "1", "trusted": "no", "local": "198.51.100.25"})


def test_v1_tcp4_tcpserver():
    """Under tcpserver: the balancer's address from TCPREMOTEIP, and its
    names (TCPREMOTEHOST, TCPLOCALHOST) dropped with its addresses."""
    proxied("proxy-v1-tcpserver-env",
            v1("TCP4", "192.0.2.7", "198.51.100.25", 4242, 25),
            {"ip": "192.0.2.7", "port": "4242", "via": "127.0.0.1",
             "proxy": "1", "trusted": "no", "local": "198.51.100.25"},
            env={"TCPREMOTEIP": "127.0.0.1", "TCPREMOTEPORT": "1234",
                 "TCPREMOTEHOST": "lb.test.example",
                 "TCPLOCALIP": "127.0.0.1", "TCPLOCALHOST": lib.HOST})


def test_v1_tcp6():
    proxied("proxy-v1-tcp6", v1("TCP6", "2001:db8::7", "2001:db8:25::1",
                                65535, 25),
            {"ip": "2001:db8::7", "port": "65535", "via": "127.0.0.1",
             "proxy": "1", "trusted": "yes", "local": "2001:db8:25::1"},
            args=["--trust", "2001:db8::/32"], env={
                "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "1234"})


def test_v1_tcp6_mapped():
    """An IPv4-mapped source in a TCP6 line: the IPv4 client it is."""
    proxied("proxy-v1-tcp6-mapped", v1("TCP6", "::ffff:192.0.2.7",
                                       "::ffff:198.51.100.25", 1, 25),
            {"ip": "192.0.2.7", "port": "1", "via": "127.0.0.1",
             "proxy": "1", "trusted": "yes", "local": "198.51.100.25"},
            args=["--trust", "192.0.2.0/24"])


def test_v2_tcp4_tlvs():
    proxied("proxy-v2-tcp4-tlvs", v2(1, 0x11, "192.0.2.8", "198.51.100.25",
                                     50000, 25, TLVS),
            {"ip": "192.0.2.8", "port": "50000", "via": "127.0.0.1",
             "proxy": "2", "trusted": "no", "local": "198.51.100.25"})


def test_v2_tcp6():
    proxied("proxy-v2-tcp6", v2(1, 0x21, "2001:db8::8", "2001:db8::25",
                                0, 587),
            {"ip": "2001:db8::8", "port": "0", "via": "127.0.0.1",
             "proxy": "2", "trusted": "yes", "local": "2001:db8::25"},
            args=["--trust", "2001:db8::8/128"])


def test_v2_tcp6_mapped():
    """As in v1: an IPv4-mapped address in a v2 TCP6 block is written as
    the IPv4 address it is (the one canonical form)."""
    proxied("proxy-v2-tcp6-mapped", v2(1, 0x21, "::ffff:192.0.2.9",
                                       "::ffff:198.51.100.25", 4000, 25),
            {"ip": "192.0.2.9", "port": "4000", "via": "127.0.0.1",
             "proxy": "2", "trusted": "yes", "local": "198.51.100.25"},
            args=["--trust", "192.0.2.0/24"])


LB_ENV = {"TCPREMOTEIP": "127.0.0.1", "TCPREMOTEHOST": "lb.test.example",
          "TCPLOCALIP": "127.0.0.1"}


def test_v2_local():
    """LOCAL (a health check): the connection's own addresses and names,
    still untrusted unless --trust names the balancer."""
    proxied("proxy-v2-local", v2(0, 0x00),
            {"ip": "127.0.0.1", "port": "2500", "via": "127.0.0.1",
             "proxy": "2", "trusted": "no", "local": "127.0.0.1",
             "name": "lb.test.example"},
            env=dict(LB_ENV, TCPREMOTEPORT="2500"))
    proxied("proxy-v2-local-trusted-balancer", v2(0, 0x11, "192.0.2.1",
                                                  "192.0.2.2", 1, 2),
            {"ip": "127.0.0.1", "via": "127.0.0.1", "proxy": "2",
             "trusted": "yes", "local": "127.0.0.1"},
            args=["--trust", "127.0.0.1"])


def test_v2_unspec():
    proxied("proxy-v2-unspec", v2(1, 0x00, tlvs=tlv(0x04, b"\0" * 8)),
            {"ip": "127.0.0.1", "via": "127.0.0.1", "proxy": "2",
             "trusted": "no", "local": "127.0.0.1"})


def test_v1_unknown():
    proxied("proxy-v1-unknown", v1("UNKNOWN"),
            {"ip": "127.0.0.1", "port": "2501", "via": "127.0.0.1",
             "proxy": "1", "trusted": "no", "local": "127.0.0.1",
             "name": "lb.test.example"},
            env=dict(LB_ENV, TCPREMOTEPORT="2501"))
    # the longest line the specification allows: 107 octets with CRLF
    line = b"PROXY UNKNOWN " + b"f" * 91 + b"\r\n"
    assert len(line) == 107
    proxied("proxy-v1-unknown-107", line,
            {"ip": "127.0.0.1", "via": "127.0.0.1", "proxy": "1",
             "trusted": "no", "local": "127.0.0.1"}, policy=False)


def test_pieces():
    """A header that arrives in pieces, with pauses between them."""
    h = v1("TCP4", "192.0.2.10", "198.51.100.25", 1025, 25)
    proxied("proxy-v1-pieces", None,
            {"ip": "192.0.2.10", "port": "1025", "via": "127.0.0.1",
             "proxy": "1", "trusted": "no", "local": "198.51.100.25"},
            pieces=[(h[:1], 0.2), (h[1:9], 0.2), (h[9:-1], 0.3),
                    (h[-1:], 0)], policy=False)
    h = v2(1, 0x11, "192.0.2.11", "198.51.100.25", 1026, 25, TLVS)
    proxied("proxy-v2-pieces", None,
            {"ip": "192.0.2.11", "port": "1026", "via": "127.0.0.1",
             "proxy": "2", "trusted": "no", "local": "198.51.100.25"},
            pieces=[(h[:5], 0.2), (h[5:14], 0.2), (h[14:20], 0.2),
                    (h[20:], 0)], policy=False)


def test_trust_behind_proxy():
    """Trust of a proxied client is --trust's alone: loopback,
    RELAYCLIENT and the balancer's own trust do not carry over."""
    h = v1("TCP4", "127.0.0.9", "127.0.0.1", 3333, 25)
    base = {"ip": "127.0.0.9", "port": "3333", "via": "127.0.0.1",
            "proxy": "1", "local": "127.0.0.1"}
    proxied("proxy-trust-loopback-client-no", h, dict(base, trusted="no"),
            policy=False)
    proxied("proxy-trust-listed-client-yes", h, dict(base, trusted="yes"),
            args=["--trust", "127.0.0.9"], policy=False)
    proxied("proxy-trust-relayclient-no", h, dict(base, trusted="no"),
            env={"RELAYCLIENT": ""}, policy=False)
    proxied("proxy-trust-relayclient-list-no", h, dict(base, trusted="no"),
            args=["--trust", "192.0.2.0/24"], env={"RELAYCLIENT": ""},
            policy=False)
    proxied("proxy-trust-balancer-not-client",
            v2(1, 0x11, "192.0.2.7", "127.0.0.1", 3334, 25),
            {"ip": "192.0.2.7", "port": "3334", "via": "127.0.0.1",
             "proxy": "2", "trusted": "no", "local": "127.0.0.1"},
            args=["--trust", "127.0.0.0/8"], policy=False)


def test_header_and_more():
    """The octets after the header are the client's, not the header's:
    sent with it, before the greeting, they make an early talker (554
    5.5.0), even a single octet (so none was taken with the header)."""
    for name, pre in (
            ("proxy-v1-then-ehlo", v1("TCP4", "192.0.2.12", "198.51.100.25",
                                      4444, 25) + b"EHLO x\r\n"),
            ("proxy-v1-then-one-octet", v1("TCP4", "192.0.2.12",
                                           "198.51.100.25", 4444, 25) + b"E"),
            ("proxy-v2-then-one-octet", v2(1, 0x11, "192.0.2.12",
                                           "198.51.100.25", 4444, 25,
                                           TLVS) + b"E"),
            ("proxy-v1-unknown-then-one-octet", v1("UNKNOWN") + b"Q")):
        s = Session(PF + ["--greet-delay", "0"], pre=pre, tag=name)
        try:
            got, how, _ = s.until_eof()
        finally:
            rc, log = s.finish()
        conn = records(log, "connect")
        ip = "127.0.0.1" if b"UNKNOWN" in pre else "192.0.2.12"
        check(name, got.startswith(b"554 5.5.0 ") and b"220" not in got and
              len(conn) == 1 and conn[0].get("ip") == ip and
              conn[0].get("via") == "127.0.0.1" and "reason=early-talker"
              in log and rc == 1 and s.empty_queue(),
              "got %r (%s) rc %r log %s" % (got, how, rc, log))
        s.cleanup()


# --- TLS behind a balancer ---------------------------------------------------

PKI_ = None


class BioTLS:
    """A TLS client over a plain socket through memory BIOs: its first
    flight (the ClientHello) is available before anything is sent, so
    that it can go out in the same write as the PROXY header."""

    def __init__(self, sock):
        self.sock = sock
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        ctx = ssl.create_default_context(cafile=PKI_.ca)
        self.obj = ctx.wrap_bio(self.inc, self.out, server_hostname=lib.HOST)
        try:
            self.obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        self.hello = self.out.read()

    def _flush(self):
        d = self.out.read()
        if d:
            self.sock.sendall(d)

    def _pump(self, fn):
        while True:
            try:
                r = fn()
                self._flush()
                return r
            except ssl.SSLWantReadError:
                self._flush()
                d = self.sock.recv(65536)
                if not d:
                    raise EOFError("closed during TLS")
                self.inc.write(d)

    def handshake(self):
        self._pump(self.obj.do_handshake)

    def sendall(self, data):
        self.obj.write(data)
        self._flush()

    def recv(self, n):
        try:
            return self._pump(lambda: self.obj.read(n))
        except (ssl.SSLZeroReturnError, EOFError):
            return b""

    def settimeout(self, t):
        self.sock.settimeout(t)

    def version(self):
        return self.obj.version()

    def close(self):
        self.sock.close()


def test_tls_implicit():
    """--tls-implicit behind a balancer: the header, and at once (in the
    same write, or right after it) the ClientHello; the handshake must
    find every octet of it."""
    args = PF + ["--tls-implicit", "--tls-cert", PKI_.srv, "--tls-key",
                 PKI_.srv_key]
    for name, header, ip in (
            ("proxy-tls-implicit-v1-one-write",
             v1("TCP4", "192.0.2.13", "198.51.100.25", 4465, 465),
             "192.0.2.13"),
            ("proxy-tls-implicit-v2-one-write",
             v2(1, 0x11, "192.0.2.14", "198.51.100.25", 4466, 465, TLVS),
             "192.0.2.14"),
            ("proxy-tls-implicit-v1-then-wrap",
             v1("TCP4", "192.0.2.15", "198.51.100.25", 4467, 465),
             "192.0.2.15")):
        wrap = name.endswith("then-wrap")
        plain = socket.socket()     # the ClientHello is made before connect
        tls = BioTLS(plain) if not wrap else None
        s = Session(args, pre=header + (tls.hello if tls else b""), tag=name)
        err = None
        try:
            if wrap:
                ctx = ssl.create_default_context(cafile=PKI_.ca)
                s.s = ctx.wrap_socket(s.s, server_hostname=lib.HOST)
                ver = s.s.version()
            else:
                tls.sock = s.s
                tls.handshake()
                s.s = tls
                ver = tls.version()
            greet = s.reply()[-1]
            got, data = s.transaction([OURS])
            s.first(b"QUIT")
        except Exception as e:
            err, greet, got, data, ver = repr(e), b"", {}, None, None
        finally:
            rc, log = s.finish()
            plain.close()
        sp = s.spooled()
        env = sp[0][0] if len(sp) == 1 else {}
        conn = records(log, "connect")
        check(name, err is None and greet.startswith(b"220 ") and
              OK_RE.match(data or b"") is not None and rc == 0 and
              env.get("Client-Address") == ip and
              env.get("TLS", "").startswith(ver or "-") and len(conn) == 1
              and conn[0].get("via") == "127.0.0.1" and
              conn[0].get("ip") == ip,
              "error %s greeting %r RCPT %r DATA %r rc %r env %r log %s" % (
                  err, greet, got, data, rc, env, log))
        s.cleanup()


# --- 3. headers that fail ----------------------------------------------------

def failing(name, pre=b"", pieces=(), close=False, timeout="5",
            reason=None, within=None, at_least=None, args=()):
    """A --proxy-from peer whose header is wrong (or missing, or late):
    one proxy-failed record (ip= the balancer), not an octet to the
    client, exit 1, nothing spooled."""
    s = Session(PF + ["--timeout", timeout] + list(args), pre=pre,
                close_first=close and not pieces, tag=name)
    stop = threading.Event()

    def trickle():
        for part, pause in pieces:
            if stop.is_set():
                return
            try:
                s.s.sendall(part)
            except OSError:
                return
            stop.wait(pause)
        if close:
            try:
                s.s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
    th = threading.Thread(target=trickle)
    th.start()
    try:
        got, how, secs = s.until_eof()
    finally:
        stop.set()
        th.join()
        rc, log = s.finish()
    recs = records(log)
    pf = records(log, "proxy-failed")
    # one that should fail at once must not just wait for the deadline
    quick = reason == "timeout" or "timeout" not in (
        pf[0].get("reason", "") if pf else "")
    ok = (got == b"" and how in ("eof", "reset") and rc == 1 and
          len(recs) == 1 and len(pf) == 1 and pf[0].get("ip") ==
          "127.0.0.1" and pf[0].get("reason") and quick and
          s.empty_queue())
    check(name, ok, "got %r (%s) rc %r log %s new %r tmp %r" % (
        got[:200], how, rc, log, s.q.files("new"), s.q.files("tmp")))
    if reason is not None:
        check(name + "-reason", pf and reason in pf[0].get("reason", ""),
              "want %r in %r" % (reason, log))
    if within is not None:
        check(name + "-time", (at_least or 0) - 0.1 <= secs <= within,
              "ended after %.2f s, want %s..%.1f" % (secs, at_least, within))
    s.cleanup()


def test_failures():
    t4 = "PROXY TCP4 192.0.2.7 198.51.100.25 %s %s\r\n"
    cases = (
        ("proxy-fail-no-header-ehlo", b"EHLO client.test.example\r\n",
         "no PROXY header"),
        ("proxy-fail-garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc" +
         os.urandom(200), "no PROXY header"),
        ("proxy-fail-http", b"GET / HTTP/1.0\r\n\r\n", "no PROXY header"),
        ("proxy-fail-lowercase", b"proxy TCP4 192.0.2.7 198.51.100.25 1 "
         b"25\r\n", "no PROXY header"),
        ("proxy-fail-v1-bare-lf", b"PROXY TCP4 192.0.2.7 198.51.100.25 "
         b"4242 25\n", None),
        ("proxy-fail-v1-bare-cr", b"PROXY TCP4 192.0.2.7 198.51.100.25 "
         b"4242 25\rEHLO x\r\n", None),
        ("proxy-fail-v1-108-no-crlf", b"PROXY UNKNOWN " + b"f" * 94,
         "107"),
        ("proxy-fail-v1-108-with-crlf", b"PROXY UNKNOWN " + b"f" * 92 +
         b"\r\n", None),
        ("proxy-fail-v1-long-tail", b"PROXY TCP4 192.0.2.7 198.51.100.25 1 "
         b"2 " + b"x" * 300 + b"\r\n", None),
        ("proxy-fail-v1-tcp4-ipv6", b"PROXY TCP4 2001:db8::1 2001:db8::2 1 "
         b"25\r\n", None),
        ("proxy-fail-v1-tcp6-ipv4", b"PROXY TCP6 192.0.2.7 198.51.100.25 1 "
         b"25\r\n", None),
        ("proxy-fail-v1-port-65536", (t4 % ("65536", "25")).encode(), None),
        ("proxy-fail-v1-port-leading-zero", (t4 % ("4242", "025")).encode(),
         None),
        ("proxy-fail-v1-port-sign", (t4 % ("+4242", "25")).encode(), None),
        ("proxy-fail-v1-addr-leading-zero", b"PROXY TCP4 192.0.2.07 "
         b"198.51.100.25 1 25\r\n", None),
        ("proxy-fail-v1-two-spaces", b"PROXY TCP4  192.0.2.7 198.51.100.25 "
         b"1 25\r\n", None),
        ("proxy-fail-v1-six-fields", (t4 % ("1", "25 x")).encode(), None),
        ("proxy-fail-v1-four-fields", b"PROXY TCP4 192.0.2.7 198.51.100.25 "
         b"1\r\n", None),
        ("proxy-fail-v1-udp4", b"PROXY UDP4 192.0.2.7 198.51.100.25 1 "
         b"25\r\n", None),
        ("proxy-fail-v1-nul", b"PROXY TCP4 192.0.2.7\x00 198.51.100.25 1 "
         b"25\r\n", None),
        ("proxy-fail-v2-length-2000", v2(1, 0x11, "192.0.2.7",
                                         "198.51.100.25", 1, 25,
                                         b"\0" * 1988), "1024"),
        ("proxy-fail-v2-udp", v2(1, 0x12, "192.0.2.7", "198.51.100.25", 1,
                                 25), None),
        ("proxy-fail-v2-unix", v2(1, 0x31, tlvs=b"\0" * 216), None),
        ("proxy-fail-v2-version-1", v2(1, 0x11, "192.0.2.7",
                                       "198.51.100.25", 1, 25, ver=1), None),
        ("proxy-fail-v2-command-2", v2(2, 0x11, "192.0.2.7",
                                       "198.51.100.25", 1, 25), None),
        ("proxy-fail-v2-short-block", v2(1, 0x11, tlvs=b"\xc0\x00\x02\x07"
                                         b"\xc6\x33\x64\x19"), None),
        ("proxy-fail-v2-tcp6-short", v2(1, 0x21, "192.0.2.7",
                                        "198.51.100.25", 1, 25), None),
        ("proxy-fail-bad-signature", V2SIG[:11] + b"X" +
         b"\x21\x11\x00\x0c" + b"\0" * 12, "no PROXY header"))
    todo = [(name, dict(pre=pre, reason=reason))
            for name, pre, reason in cases]
    # closed before the header is whole
    v2h = v2(1, 0x11, "192.0.2.7", "198.51.100.25", 1, 25)
    todo += [("proxy-fail-v2-truncated-close", dict(
        pre=v2h[:21], close=True, reason="closed")),
        ("proxy-fail-v2-head-only-close", dict(
            pre=v2h[:16], close=True, reason="closed")),
        ("proxy-fail-v1-truncated-close", dict(
            pre=b"PROXY TCP4 192.0.2.7 ", close=True, reason="closed")),
        ("proxy-fail-close-at-once", dict(close=True, reason="closed"))]
    side_by_side(lambda c: failing(c[0], **c[1]), todo)


def test_failure_timeouts():
    """Silence: min(10 s, --timeout); the deadline is one for the whole
    header, however it trickles in."""
    side_by_side(lambda c: failing(c[0], **c[1]), [
        ("proxy-fail-silence-timeout-2", dict(
            timeout="2", reason="timeout", at_least=2.0, within=2.0 + LATE)),
        ("proxy-fail-v2-partial-timeout-2", dict(
            pre=v2(1, 0x11, "192.0.2.7", "198.51.100.25", 1, 25)[:20],
            timeout="2", reason="timeout", at_least=2.0, within=2.0 + LATE)),
        ("proxy-fail-trickle-timeout-2", dict(
            pre=b"PROXY TCP4 ", pieces=[(b"1", 0.3)] * 20, timeout="2",
            reason="timeout", at_least=2.0, within=2.0 + LATE)),
        ("proxy-fail-silence-default-10", dict(
            timeout="300", reason="timeout", at_least=10.0,
            within=10.0 + LATE))])


# --- 4. a peer that is not a balancer ----------------------------------------

def test_not_from_balancer():
    """--proxy-from 192.0.2.0/24, the peer 127.0.0.1: its PROXY line is
    an unknown command; and loopback is not trusted (--proxy-from)."""
    s = Session(["--proxy-from", "192.0.2.0/24"], tag="outside")
    try:
        greet = s.reply()[-1]
        r = s.first(b"PROXY TCP4 192.0.2.7 198.51.100.25 4242 25")
        got, data = s.transaction([FAR, OURS])
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    conn = records(log, "connect")
    check("proxy-outside-500", greet.startswith(b"220 ") and
          r.startswith(b"500 5.5.1 "), "greeting %r PROXY %r" % (greet, r))
    check("proxy-outside-not-trusted", got.get(FAR, b"").startswith(
        b"550 5.7.1 ") and OK_RE.match(data or b"") is not None and
        len(conn) == 1 and conn[0].get("ip") == "127.0.0.1" and
        conn[0].get("trusted") == "no" and "via" not in conn[0] and
        rc == 0, "RCPT %r DATA %r rc %r log %s" % (got, data, rc, log))
    env = s.spooled()
    check("proxy-outside-envelope", len(env) == 1 and
          env[0][0].get("Client-Address") == "127.0.0.1" and
          env[0][0].get("Trusted") == "no", "%r" % env)
    s.cleanup()
    # before the greeting: an early talker, as any client would be
    s = Session(["--proxy-from", "192.0.2.0/24", "--greet-delay", "1"],
                pre=v1("TCP4", "192.0.2.7", "198.51.100.25", 4242, 25),
                tag="outside-early")
    try:
        got, _, _ = s.until_eof()
    finally:
        rc, log = s.finish()
    check("proxy-outside-early-talker", got.startswith(b"554 5.5.0 ") and
          rc == 1 and "reason=early-talker" in log and
          not records(log, "proxy-failed"),
          "got %r rc %r log %s" % (got, rc, log))
    s.cleanup()
    # a pipe is no balancer, even from an address in --proxy-from
    q = lib.Queue(WORK)
    rc, out, err = lib.run_smtpd(
        b"PROXY TCP4 192.0.2.7 198.51.100.25 4242 25\r\nQUIT\r\n", q,
        ["--proxy-from", "127.0.0.0/8"], env={"TCPREMOTEIP": "127.0.0.1"},
        timeout=T)
    check("proxy-pipe-not-expected", rc == 0 and out.startswith(b"220 ")
          and b"\r\n500 5.5.1 " in out and b"proxy-failed" not in err,
          "rc %r out %r err %r" % (rc, out, err))
    q.cleanup()


# --- 5. the supervisor (Accept=no) -------------------------------------------

def children(pid):
    """Processes whose parent is pid (zombies too: not yet reaped)."""
    return lib.procs(ppid=pid)


def wait_for(fn, timeout=T):
    return lib.wait_for(fn, timeout)


class Supervisor:
    """systemd-socket-activate -l 127.0.0.1:PORT (no --accept) [--inetd]
    smtpd ...: smtpd is handed the listening socket (fd 3, or fd 0 with
    --inetd) once the first connection comes; it execs smtpd, so its
    process is the supervisor.  Logs (stderr) in a file."""

    def __init__(self, name, args=(), inetd=False, root_ok=True, ready=True):
        self.name = name
        self.q = lib.Queue(WORK)
        self.logf = os.path.join(WORK, name + ".log")
        self.p = None
        for _ in range(5):
            self.port = lib.free_port()
            cmd = ["systemd-socket-activate", "-l", "127.0.0.1:%d" %
                   self.port] + (["--inetd"] if inetd else [])
            if os.geteuid() == 0 and root_ok:   # it passes no environment
                cmd += ["-E", "SMTPD_ALLOW_ROOT=1"]
            cmd += [lib.SMTPD, "--queue", self.q.dir, "--hostname", lib.HOST,
                    "--domain", DOMAIN] + list(args)
            with open(self.logf, "ab") as logf:
                self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                          stdout=logf, stderr=logf,
                                          env=lib.base_env(),
                                          start_new_session=True)
            if not ready:
                wait_for(lambda: "Listening on" in self.log() or
                         self.p.poll() is not None)
                if self.p.poll() is None:
                    return
            elif (lib.wait_greeting(self.p, self.port, T, T) and
                  wait_for(lambda: not children(self.p.pid))):
                return      # and the session that said so is reaped
            self.stop()
        raise RuntimeError("%s did not start: %s" % (name, self.log()))

    def log(self):
        try:
            with open(self.logf, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def recs(self, event=None):
        return records(self.log(), event)

    def connect(self):
        return RawClient(self.port)

    def child_of(self, client):
        """The pid of the session process serving client (its connect
        record, port= its port)."""
        port = str(client.s.getsockname()[1])
        r = wait_for(lambda: [x for x in self.recs("connect")
                              if x.get("port") == port])
        return r[0]["pid"] if r else None

    def stop(self):
        lib.stop_group(self.p)

    def cleanup(self):
        self.stop()
        self.q.cleanup()


class RawClient:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), T)
        self.s.settimeout(T)
        self.buf = b""

    def line(self):
        """One reply line (or b"!closed" at EOF)."""
        try:
            while b"\r\n" not in self.buf:
                d = self.s.recv(65536)
                if not d:
                    return b"!closed " + self.buf
                self.buf += d
        except OSError as e:
            return ("!closed %r " % e).encode() + self.buf
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        while True:
            ln = self.line()
            if ln[3:4] != b"-":
                return ln

    def cmd(self, line):
        try:
            self.s.sendall(line + b"\r\n")
        except OSError as e:
            return ("!closed %r" % e).encode()
        return self.reply()

    def message(self, rcpt=FAR):
        """EHLO was said: a whole transaction; DATA's final line."""
        for c in (b"MAIL FROM:<s@example.org>", b"RCPT TO:" + rcpt):
            r = self.cmd(c)
            if not r.startswith(b"250"):
                return r
        r = self.cmd(b"DATA")
        if not r.startswith(b"354"):
            return r
        return self.cmd(MSG + b".")

    def rest(self, timeout=T):
        """Everything until EOF (or reset or timeout)."""
        self.s.settimeout(timeout)
        return self.buf + lib.recv_all(self.s)

    def close(self):
        self.s.close()


def have_activate():
    return shutil.which("systemd-socket-activate") is not None


def smtplib_session(port, barrier, i):
    """One smtplib session that waits at barrier (all connected at once)
    before its message; (DATA reply, our port)."""
    c = smtplib.SMTP("127.0.0.1", port, local_hostname=HELO, timeout=T)
    try:
        c.ehlo()
        mine = c.sock.getsockname()[1]
        barrier.wait(T)
        c.mail("s%d@example.org" % i)
        c.rcpt("far@foreign.example")
        r = c.data(MSG)
        c.quit()
        return r, mine
    finally:
        c.close()


def supervisor_concurrent(mode):
    name = "supervisor-%s" % mode
    sv = Supervisor(name, inetd=mode == "inetd")
    try:
        n = 5
        barrier = threading.Barrier(n)
        with concurrent.futures.ThreadPoolExecutor(n) as pool:
            futs = [pool.submit(smtplib_session, sv.port, barrier, i)
                    for i in range(n)]
            res = []
            for f in futs:
                try:
                    res.append(f.result())
                except Exception as e:
                    res.append(((0, repr(e)), None))
        ok = [r for r, _ in res if r[0] == 250]
        ports = {str(p) for _, p in res}
        listening = sv.recs("listening")
        spid = listening[0]["pid"] if listening else None
        conns = [x for x in sv.recs("connect") if x.get("port") in ports]
        pids = {x["pid"] for x in conns}
        check(name + "-concurrent", len(ok) == n and len(conns) == n and
              len(pids) == n and spid not in pids and
              all(x.get("trusted") == "yes" for x in conns),
              "replies %r pids %r supervisor %r log %s" % (
                  res, pids, spid, sv.log()[-2000:]))
        envs = [dict(lib.split_spool(sv.q.read(f))[0])
                for f in sv.q.files("new")]
        eports = {e.get("Client-Port") for e in envs
                  if e.get("Client-Address") == "127.0.0.1"}
        check(name + "-spooled", ports <= eports and len(envs) == n,
              "ports %r envelopes %r" % (ports, envs))
        check(name + "-listening-record", len(listening) == 1 and
              listening[0].get("ip") == "-" and
              listening[0].get("max_connections") == "100" and
              spid == sv.p.pid, "%r (supervisor pid %d)" % (listening,
                                                            sv.p.pid))
    finally:
        sv.cleanup()


def test_supervisor_fd3():
    supervisor_concurrent("fd3")


def test_supervisor_inetd():
    supervisor_concurrent("inetd")


def hold(sv, n):
    """n connections, each greeted (so each has its child)."""
    cs = []
    for _ in range(n):
        c = sv.connect()
        c.greeting = c.reply()
        cs.append(c)
    return cs


def overload_case(name, args, n, reason, text):
    sv = Supervisor(name, args)
    cs = []
    try:
        cs = hold(sv, n)
        extra = sv.connect()
        got = extra.rest()
        extra.close()
        ov = wait_for(lambda: sv.recs("overload"))
        check(name + "-421", all(c.greeting.startswith(b"220 ") for c in cs)
              and got == b"421 4.7.0 " + text + b"\r\n",
              "greetings %r then %r" % ([c.greeting for c in cs], got))
        check(name + "-record", len(ov) == 1 and ov[0].get("reason") ==
              reason and ov[0].get("client") == "127.0.0.1" and
              ov[0].get("ip") == "-" and ov[0].get("sessions") == str(n),
              "%r" % ov)
        # one session ends: its place is free again
        cs.pop().close()
        wait_for(lambda: len(children(sv.p.pid)) == n - 1)
        c = sv.connect()
        cs.append(c)
        g = c.reply()
        r = c.cmd(b"EHLO " + HELO.encode())
        m = c.message()
        check(name + "-place-freed", g.startswith(b"220 ") and
              r.startswith(b"250 ") and OK_RE.match(m) is not None,
              "%r %r %r" % (g, r, m))
    finally:
        for c in cs:
            c.close()
        sv.cleanup()


def test_max_per_ip():
    overload_case("supervisor-max-per-ip", ["--max-per-ip", "2"], 2,
                  "max-per-ip", b"too many connections from your address, "
                  b"try again later")


def test_max_connections():
    overload_case("supervisor-max-connections", ["--max-connections", "3",
                                                 "--max-per-ip", "0"], 3,
                  "max-connections", b"too many connections, try again "
                  b"later")


def test_default_per_ip():
    overload_case("supervisor-default-per-ip-10", [], 10, "max-per-ip",
                  b"too many connections from your address, try again later")


def test_killed_child():
    name = "supervisor-killed"
    sv = Supervisor(name)
    cs = []
    try:
        cs = hold(sv, 2)
        for c in cs:
            c.cmd(b"EHLO " + HELO.encode())
        victim = sv.child_of(cs[0])
        os.kill(victim, signal.SIGKILL)
        killed = wait_for(lambda: sv.recs("session-killed"))
        gone = cs[0].rest()
        m = cs[1].message()
        q = cs[1].cmd(b"QUIT")
        c = sv.connect()
        cs.append(c)
        g = c.reply()
        check(name + "-record", len(killed) == 1 and killed[0].get(
              "signal") == "9" and killed[0].get("ip") == "-" and
              killed[0]["pid"] == sv.p.pid,
              "%r (victim %r) log %s" % (killed, victim, sv.log()[-1500:]))
        check(name + "-others-go-on", not gone and OK_RE.match(m) is not None
              and q.startswith(b"221 ") and g.startswith(b"220 ") and
              sv.p.poll() is None, "victim got %r; other %r %r; new %r" % (
                  gone, m, q, g))
    finally:
        for c in cs:
            c.close()
        sv.cleanup()


def sigterm_case(mode):
    name = "supervisor-%s-sigterm" % mode
    sv = Supervisor(name, inetd=mode == "inetd")
    cs = []
    try:
        cs = hold(sv, 1)
        a = cs[0]
        a.cmd(b"EHLO " + HELO.encode())
        a.cmd(b"MAIL FROM:<s@example.org>")
        a.cmd(b"RCPT TO:" + FAR)
        os.kill(sv.p.pid, signal.SIGTERM)
        stopping = wait_for(lambda: sv.recs("stopping"))
        # a new connection: refused, the listening socket closed
        try:
            late = RawClient(sv.port)
            cs.append(late)
            late.s.settimeout(QUIET)
            try:
                d = late.s.recv(100)
                first = "accepted, then %r" % d
            except socket.timeout:
                first = "accepted, no greeting within %.1f s" % QUIET
            except OSError as e:
                first = "accepted, then %r" % e
        except ConnectionRefusedError:
            late, first = None, "refused"
        still = sv.p.poll()
        r = a.cmd(b"DATA")
        m = a.cmd(MSG + b".")
        qr = a.cmd(b"QUIT")
        a.close()
        try:
            rc = sv.p.wait(T)
        except subprocess.TimeoutExpired:
            rc = "hung"
        late_rest = late.rest(QUIET) if late else b""
        check(name + "-stopping", len(stopping) == 1 and
              stopping[0].get("sessions") == "1" and
              stopping[0].get("ip") == "-", "%r" % stopping)
        check(name + "-new-refused", first == "refused",
              "a connection after SIGTERM: %s (%r)" % (first, late_rest))
        check(name + "-never-greeted", b"220" not in late_rest,
              "the late connection got %r" % late_rest)
        check(name + "-session-finishes", still is None and
              r.startswith(b"354") and OK_RE.match(m) is not None and
              qr.startswith(b"221 ") and len(sv.q.files("new")) == 1,
              "running %r DATA %r %r QUIT %r" % (still, r, m, qr))
        check(name + "-exit-0", rc == 0, "exit %r log %s" % (
            rc, sv.log()[-1500:]))
    finally:
        for c in cs:
            c.close()
        sv.cleanup()


def test_sigterm_fd3():
    sigterm_case("fd3")


def test_sigterm_inetd():
    sigterm_case("inetd")


def test_supervisor_proxy():
    """Children read PROXY headers; a balancer is not held to
    --max-per-ip; a child whose header fails leaves the others be."""
    name = "supervisor-proxy"
    sv = Supervisor(name, ["--proxy-from", "127.0.0.1", "--max-per-ip", "1",
                           "--trust", "192.0.2.8"], ready=False)
    cs = []
    try:
        heads = [v1("TCP4", "192.0.2.7", "198.51.100.25", 5001, 25),
                 v2(1, 0x11, "192.0.2.8", "198.51.100.25", 5002, 25, TLVS),
                 v1("TCP6", "2001:db8::9", "2001:db8::25", 5003, 25)]
        for h in heads:
            c = sv.connect()
            c.s.sendall(h)
            c.greeting = c.reply()
            cs.append(c)
        conns = wait_for(lambda: len(sv.recs("connect")) >= 3 and
                         sv.recs("connect"))
        got = {x.get("ip"): x for x in conns or []}
        check(name + "-children", all(c.greeting.startswith(b"220 ")
                                      for c in cs) and
              set(got) == {"192.0.2.7", "192.0.2.8", "2001:db8::9"} and
              all(x.get("via") == "127.0.0.1" for x in got.values()) and
              got.get("192.0.2.8", {}).get("trusted") == "yes" and
              got.get("192.0.2.7", {}).get("trusted") == "no" and
              not sv.recs("overload"),
              "greetings %r log %s" % ([c.greeting for c in cs], sv.log()))
        cs[1].cmd(b"EHLO " + HELO.encode())
        m = cs[1].message()
        cs[1].cmd(b"QUIT")
        envs = [dict(lib.split_spool(sv.q.read(f))[0])
                for f in sv.q.files("new")]
        check(name + "-message", OK_RE.match(m) is not None and
              len(envs) == 1 and envs[0].get("Client-Address") ==
              "192.0.2.8" and envs[0].get("Client-Port") == "5002" and
              envs[0].get("Trusted") == "yes", "%r %r" % (m, envs))
        bad = sv.connect()
        bad.s.sendall(b"EHLO x\r\n")
        badgot = bad.rest()
        bad.close()
        pf = wait_for(lambda: sv.recs("proxy-failed"))
        c = sv.connect()
        cs.append(c)
        c.s.sendall(v1("UNKNOWN"))
        g = c.reply()
        check(name + "-failed-child", badgot == b"" and len(pf) == 1 and
              pf[0]["pid"] != sv.p.pid and pf[0].get("ip") == "127.0.0.1"
              and g.startswith(b"220 "), "got %r; %r; then %r" % (
                  badgot, pf, g))
    finally:
        for c in cs:
            c.close()
        sv.cleanup()


def test_supervisor_root():
    """As root, without SMTPD_ALLOW_ROOT: refused (exit 100), not a
    supervisor, not a byte to the client."""
    if os.geteuid() != 0:
        skip("supervisor-root-refused", "not running as root")
        return
    sv = Supervisor("supervisor-root", root_ok=False, ready=False)
    try:
        try:
            c = sv.connect()
            got = c.rest()
            c.close()
        except ConnectionResetError:
            got = b""       # it was gone before connect() returned
        try:
            rc = sv.p.wait(T)
        except subprocess.TimeoutExpired:
            rc = "hung"
        check("supervisor-root-refused", rc == 100 and got == b"" and
              "refusing to run a network session as root" in sv.log() and
              not sv.recs("listening"), "rc %r got %r log %s" % (
                  rc, got, sv.log()))
    finally:
        sv.cleanup()


# --- the run -----------------------------------------------------------------

# (test, needs): "activate" systemd-socket-activate, "tls" a TLS build
# and openssl, "ipv6" an IPv6 loopback (::1, and IPv4-mapped peers)
TESTS = [
    (test_failure_timeouts, ()),        # the longest first
    (test_trust_default_loopback, ()),
    (test_trust_default_ipv6_loopback, ("ipv6",)),
    (test_trust_default_remote, ()),
    (test_trust_default_relayclient, ()),
    (test_trust_net_in, ()),
    (test_trust_net_loopback_out, ()),
    (test_trust_net_other_out, ()),
    (test_trust_net_xinetd, ()),
    (test_trust_ipv6, ()),
    (test_trust_mapped, ()),
    (test_trust_mapped_socket, ("ipv6",)),
    (test_trust_ipv6_socket, ("ipv6",)),
    (test_trust_relayclient_list, ()),
    (test_trust_none, ()),
    (test_trust_unix_socket, ()),
    (test_trust_none_pipe, ()),
    (test_trust_proxy_from_only, ()),
    (test_usage_errors, ()),
    (test_v1_tcp4, ()),
    (test_v1_tcp4_tcpserver, ()),
    (test_v1_tcp6, ()),
    (test_v1_tcp6_mapped, ()),
    (test_v2_tcp4_tlvs, ()),
    (test_v2_tcp6, ()),
    (test_v2_tcp6_mapped, ()),
    (test_v2_local, ()),
    (test_v2_unspec, ()),
    (test_v1_unknown, ()),
    (test_pieces, ()),
    (test_trust_behind_proxy, ()),
    (test_header_and_more, ()),
    (test_tls_implicit, ("tls",)),
    (test_failures, ()),
    (test_not_from_balancer, ()),
    (test_supervisor_fd3, ("activate",)),
    (test_supervisor_inetd, ("activate",)),
    (test_max_per_ip, ("activate",)),
    (test_max_connections, ("activate",)),
    (test_default_per_ip, ("activate",)),
    (test_killed_child, ("activate",)),
    (test_sigterm_fd3, ("activate",)),
    (test_sigterm_inetd, ("activate",)),
    (test_supervisor_proxy, ("activate",)),
    (test_supervisor_root, ("activate",)),
]


def test_name(fn):
    return lib.case_name(fn, "proxy")


def have_ipv6():
    """Can we listen on ::1, and on ::ffff:127.0.0.1 for IPv4 peers?"""
    try:
        for host in ("::1", "::ffff:127.0.0.1"):
            with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as ls:
                ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
                ls.bind((host, 0))
        return True
    except OSError:
        return False


def main():
    global PKI_
    missing = {}
    if not have_ipv6():
        missing["ipv6"] = "no IPv6 loopback here (::1)"
    if not have_activate():
        missing["activate"] = ("systemd-socket-activate is not installed "
                               "(package systemd; tests/deps.sh)")
    if not TLS_BUILT:
        missing["tls"] = "this smtpd is built without TLS (--version: tls: no)"
    elif shutil.which("openssl") is None:
        check("proxy-openssl-installed", False, "openssl not found "
              "(tests/deps.sh installs it)")
        missing["tls"] = "openssl is not installed"
    else:
        try:
            PKI_ = tlslib.PKI(os.path.join(WORK, "pki"),
                              "smtpd proxy test CA")
        except Exception as e:
            check("proxy-pki", False, "cannot make the certificates: %s" % e)
            missing["tls"] = "no certificates"
    todo = []
    for fn, needs in TESTS:
        gone = [n for n in needs if n in missing]
        if gone:
            skip(test_name(fn), "; ".join(missing[n] for n in gone))
        else:
            todo.append(fn)
    try:
        lib.run_threads(todo, "proxy")
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    lib.finish()


if __name__ == "__main__":
    main()
