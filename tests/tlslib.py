"""tests/tlslib.py - certificates and TLS sessions for the test groups.

For t_tls.py, t_auth.py, t_proxy.py, t_queue.py, t_bdat.py and
t_launch.py.  PKI makes a CA and a server certificate for lib.HOST (also
localhost and 127.0.0.1) with openssl, ECDSA P-256, in a directory of
the test's; client_ca() adds a client CA and a client certificate,
extras() the rest t_tls.py needs.  self_signed() is one certificate
that is its own CA.  Session runs smtpd on the server end of a real
connection, as tcpserver starts it (stdin and stdout the socket); the
test holds the client end, plain or wrapped in TLS.  session_end() and
run() serve the cases with real clients behind a netlib.Server.
"""
import hashlib
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

import lib

SERVER_EXT = ("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
              "extendedKeyUsage=serverAuth\n"
              "subjectAltName=DNS:%s,DNS:localhost,IP:127.0.0.1\n" % lib.HOST)
CLIENT_EXT = ("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
              "extendedKeyUsage=clientAuth\n")
CA_EXT = ("basicConstraints=critical,CA:TRUE,pathlen:0\n"
          "keyUsage=critical,keyCertSign,cRLSign\n")


def ossl(*args):
    """Run openssl; RuntimeError with the end of its stderr if it fails."""
    p = subprocess.run(["openssl"] + list(args), capture_output=True,
                       timeout=60)
    if p.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (" ".join(args),
                                               p.stderr.decode()[-800:]))


class PKI:
    """Keys and certificates, made with openssl in directory d (made
    here): the CA (ca) and a server certificate it signed (srv, srv_key)."""

    def __init__(self, d, ca_cn="smtpd test CA"):
        self.d = d
        os.makedirs(d)
        self.ca = self.root("ca", ca_cn)
        self.srv = self.signed("srv", lib.HOST, "ca", SERVER_EXT)
        self.srv_key = self.keyof(self.srv)

    def client_ca(self):
        """A client CA (cca) and a client certificate it signed (cli)."""
        self.cca = self.root("cca", "smtpd test client CA")
        self.cli = self.signed("cli", "relay.test.example", "cca",
                               CLIENT_EXT)
        return self

    def extras(self):
        """The client CA, and: a renewed server certificate (srv2), a key
        that matches nothing (other_key), a chain through an intermediate
        CA (leaf + int in chain), a client certificate the client CA never
        signed (rogue)."""
        self.srv2 = self.signed("srv2", lib.HOST, "ca", SERVER_EXT)
        self.other_key = self.key("other")
        self.int = self.signed("int", "smtpd test intermediate", "ca", CA_EXT)
        self.leaf = self.signed("leaf", lib.HOST, "int", SERVER_EXT)
        self.chain = self.p("chain.pem")
        with open(self.chain, "w") as out:
            for f in (self.leaf, self.int):
                with open(f) as src:
                    out.write(src.read())
        self.client_ca()
        self.rogue = self.signed("rogue", "rogue.test.example", "ca",
                                 CLIENT_EXT)
        return self

    def p(self, name):
        return os.path.join(self.d, name)

    def key(self, name):
        ossl("genpkey", "-algorithm", "EC", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-out", self.p(name + ".key"))
        return self.p(name + ".key")

    def root(self, name, cn):
        self.key(name)
        ossl("req", "-x509", "-new", "-key", self.p(name + ".key"),
             "-subj", "/CN=" + cn, "-days", "30", "-out",
             self.p(name + ".crt"), "-addext",
             "basicConstraints=critical,CA:TRUE", "-addext",
             "keyUsage=critical,keyCertSign,cRLSign")
        return self.p(name + ".crt")

    def signed(self, name, cn, issuer, ext):
        self.key(name)
        csr, extf = self.p(name + ".csr"), self.p(name + ".ext")
        ossl("req", "-new", "-key", self.p(name + ".key"), "-subj",
             "/CN=" + cn, "-out", csr)
        with open(extf, "w") as f:
            f.write(ext + "subjectKeyIdentifier=hash\n"
                    "authorityKeyIdentifier=keyid\n")
        ossl("x509", "-req", "-in", csr, "-CA", self.p(issuer + ".crt"),
             "-CAkey", self.p(issuer + ".key"), "-set_serial",
             "0x1" + os.urandom(8).hex(), "-days", "30", "-extfile", extf,
             "-out", self.p(name + ".crt"))
        return self.p(name + ".crt")

    def keyof(self, crt):
        return crt[:-4] + ".key"

    def args(self, cert=None):
        """smtpd's --tls-cert and --tls-key for cert (default srv)."""
        cert = cert or self.srv
        return ["--tls-cert", cert, "--tls-key", self.keyof(cert)]

    def ctx(self, cafile=None, cert=None):
        """A client context that verifies the server (and its name)
        against cafile (default the CA); cert: a client certificate."""
        c = ssl.create_default_context(cafile=cafile or self.ca)
        if cert:
            c.load_cert_chain(cert, self.keyof(cert))
        return c


def self_signed(d, san=False):
    """One self-signed certificate for lib.HOST in d (made if need be),
    by one openssl req; san: with subjectAltName DNS:lib.HOST and
    IP:127.0.0.1.  (cert, key)."""
    os.makedirs(d, exist_ok=True)
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    ossl("req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
         "-days", "2", "-subj", "/CN=" + lib.HOST,
         *(["-addext", "subjectAltName=DNS:%s,IP:127.0.0.1" % lib.HOST]
           if san else []))
    return cert, key


def der(path):
    with open(path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def fingerprint(path):
    return hashlib.sha256(der(path)).hexdigest()


def cert_hash(path):
    """libtls' tls_peer_cert_hash of a certificate: SHA256 of its DER."""
    return "SHA256:" + fingerprint(path)


# --- smtpd on a real TCP connection ------------------------------------------

CLOSED = (EOFError, OSError, ssl.SSLError)


class Session:
    """smtpd on the server end of a real connection, as tcpserver starts
    it (stdin and stdout the socket); the test holds the client end
    (self.s), raw or wrapped in TLS.  work: where the queue (unless q)
    and the log go; timeout: the longest one step may take.
    family: "4" 127.0.0.1, "6" ::1, "mapped" an AF_INET6 server socket
    whose peer is ::ffff:127.0.0.1, "unix" a UNIX-domain socket pair.
    pre: octets the client has sent before smtpd starts; close_first: and
    then its half of the connection closed (shutdown SHUT_WR).
    With sticky set, a connection gone is no exception: reply() and cmd()
    return [b"!closed: ..."] then and for every later command, so that
    each check says what it got."""

    sticky = False

    def __init__(self, work, args=(), env=None, q=None, timeout=20,
                 family="4", pre=b"", close_first=False):
        self.q = q or lib.Queue(work)
        self.T = timeout
        self.s, conn, self.port = self._connect(family)
        if pre:
            self.s.sendall(pre)
        if close_first:
            self.s.shutdown(socket.SHUT_WR)
        self.errf = tempfile.TemporaryFile(dir=work)
        cmd = ([lib.SMTPD, "--queue", self.q.dir, "--hostname", lib.HOST] +
               list(args))
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(cmd, stdin=conn, stdout=conn,
                                  stderr=self.errf, env=lib.base_env(env))
        conn.close()
        self.s.settimeout(timeout)
        self.buf = b""
        self.leftover = None    # plain text that came before the handshake
        self.rc = None
        self.log = ""
        self.dead = None
        self.ended = None       # seconds from start to exit

    @staticmethod
    def _connect(family):
        """(client socket, server socket, client port or None)."""
        if family == "unix":
            s, conn = socket.socketpair()
            return s, conn, None
        fam = socket.AF_INET if family == "4" else socket.AF_INET6
        host = {"4": "127.0.0.1", "6": "::1",
                "mapped": "::ffff:127.0.0.1"}[family]
        ls = socket.socket(fam, socket.SOCK_STREAM)
        if family == "mapped":
            ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        ls.bind((host, 0))
        ls.listen(1)
        target = ("127.0.0.1" if family == "mapped" else host,
                  ls.getsockname()[1])
        s = socket.create_connection(target, 5)
        conn, _ = ls.accept()
        ls.close()
        return s, conn, s.getsockname()[1]

    def send(self, data):
        self.s.sendall(data)

    def died(self, e):
        self.dead = ("!closed: %r" % (e,)).encode()[:300]

    def send_body(self, data):
        """send, but (sticky) a connection gone only marks it dead."""
        if not self.sticky:
            return self.send(data)
        try:
            self.send(data)
        except OSError as e:
            self.died(e)

    def read_reply(self):
        """One whole reply: [line, ...] without CRLF (EOFError at close)."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                d = self.s.recv(65536)
                if not d:
                    raise EOFError("closed; got %r" % ((lines, self.buf),))
                self.buf += d
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line)
            if len(line) < 4 or line[3:4] != b"-":
                return lines

    def reply(self):
        """One whole reply: [line, ...] without CRLF."""
        return self.cmd(None)

    def cmd(self, line):
        """The reply to a command line (None: to nothing sent)."""
        if not self.sticky:
            if line is not None:
                self.send(line + b"\r\n")
            return self.read_reply()
        if self.dead is None:
            try:
                if line is not None:
                    self.send(line + b"\r\n")
                return self.read_reply()
            except CLOSED as e:
                self.died(e)
        return [self.dead]

    def first(self, line):
        """The last line of the reply to the command line."""
        return self.cmd(line)[-1]

    def context(self):
        """The client context tls() uses when given none."""
        raise NotImplementedError

    def tls(self, context=None, hostname=lib.HOST):
        """Wrap the connection in TLS (verifying); buffered plain text is
        kept in self.leftover."""
        self.leftover, self.buf = self.buf, b""
        self.s = (context or self.context()).wrap_socket(
            self.s, server_hostname=hostname)
        return self.s

    def starttls(self, context=None):
        """EHLO, STARTTLS, the handshake; True when it all went well."""
        if "STARTTLS" not in self.ehlo():
            return False
        if not self.first(b"STARTTLS").startswith(b"220 2.0.0"):
            return False
        self.tls(context)
        return True

    def quiet(self, seconds):
        """True if no (application) data arrives for this long."""
        self.s.settimeout(seconds)
        try:
            d = self.s.recv(65536)
        except (socket.timeout, TimeoutError):
            return True
        except (OSError, ssl.SSLError):
            return True
        finally:
            self.s.settimeout(self.T)
        self.buf += d
        return False

    def send_message(self, data, mail=b"<s@example.org>",
                     rcpt=b"<r@example.com>", mail_params=b""):
        """MAIL, RCPT, DATA and data (dot-stuffed, with the end mark):
        the last reply line, or the first refusal."""
        r = self.first(b"MAIL FROM:" + mail + (b" " + mail_params
                                               if mail_params else b""))
        if not r.startswith(b"250"):
            return r
        r = self.first(b"RCPT TO:" + rcpt)
        if not r.startswith(b"250"):
            return r
        r = self.first(b"DATA")
        if not r.startswith(b"354"):
            return r
        self.send_body(data)
        return self.reply()[-1]

    def wait(self, timeout=None):
        """Wait for smtpd to exit by itself; its status, or None."""
        try:
            self.rc = self.p.wait(self.T if timeout is None else timeout)
        except subprocess.TimeoutExpired:
            return None
        if self.ended is None:
            self.ended = time.monotonic() - self.t0
        return self.rc

    def finish(self, timeout=None):
        """Close our end; (exit status or "hung", log text)."""
        try:
            self.s.close()
        except OSError:
            pass
        if self.wait(timeout) is None:
            self.p.kill()
            self.p.wait()
            self.rc = "hung"
        self.errf.seek(0)
        self.log = self.errf.read().decode("utf-8", "replace")
        self.errf.close()
        return self.rc, self.log

    def maps(self):
        try:
            with open("/proc/%d/maps" % self.p.pid) as f:
                return f.read()
        except OSError:
            return None

    def cleanup(self):
        self.q.cleanup()


# --- real clients behind a netlib.Server -------------------------------------

def session_end(srv, n, timeout):
    """(exit status, log text) of the n-th session of srv to end."""
    srv.wait_ended(n, timeout)
    ended = srv.ended()
    if len(ended) < n:
        return "hung", srv.logtext()
    pid, status = ended[n - 1]        # a wait(2) status
    status = status >> 8 if status & 0x7f == 0 else "signal %d" % (
        status & 0x7f)
    tag = "smtpd[%d]:" % pid
    lines = [x for x in srv.logbytes().decode("utf-8", "replace")
             .splitlines() if tag in x]
    return status, "\n".join(lines)


def run(cmd, timeout, inp=None, env=None):
    """(exit status or "timeout", stdout, stderr) of a client."""
    try:
        p = subprocess.run(cmd, input=inp, capture_output=True,
                           env=lib.base_env(env), timeout=timeout)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        return "timeout", e.stdout or b"", e.stderr or b""


def swaks_tls(auth=False):
    """Why swaks cannot do TLS (and auth: AUTH PLAIN and LOGIN), or None."""
    if shutil.which("swaks") is None:
        return "swaks is not installed"
    p = subprocess.run(["swaks", "--support"], capture_output=True)
    if b"=== TLS supported" not in p.stdout + p.stderr:
        return "swaks cannot do TLS (Net::SSLeay: libnet-ssleay-perl)"
    if auth and b"=== Basic AUTH supported" not in p.stdout + p.stderr:
        return "swaks cannot do AUTH PLAIN and LOGIN"
    return None


def tool(name):
    """Why a client cannot run (not installed), or None."""
    return None if shutil.which(name) else "%s is not installed" % name
