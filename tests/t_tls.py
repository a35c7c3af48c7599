r"""t_tls.py - issue 16: STARTTLS, implicit TLS (--tls-implicit), REQUIRETLS.

The test makes its own PKI with openssl (ECDSA P-256) in a temporary
directory: a CA and a server certificate for mx.test.example (also
localhost and 127.0.0.1), a renewed certificate, a chain through an
intermediate CA, a key that matches nothing, a client CA with a client
certificate, and a "rogue" client certificate the client CA never signed.

Real clients, each verifying the server's certificate against the test
CA: openssl s_client (-starttls smtp, and -connect for --tls-implicit),
swaks --tls / --tlsc, Python smtplib starttls() and SMTP_SSL, msmtp
(tls on), curl smtp:// --ssl-reqd and smtps://, through tcpserver
(tests/netlib.py).  Python drives the protocol cases itself on a real TCP
connection whose server end is smtpd's stdin/stdout (Session below), so
each case has its own exit status and log: STARTTLS replies (501, 503,
502, 454, 530 with --require-tls), command injection after STARTTLS (the
CVE-2011-0411 class), the state reset after the handshake, EHLO
keywords, REQUIRETLS, client certificates (envelope, policy programs'
environment, log), handshake failures (garbage, a close, a stall past
--timeout, TLS 1.0/1.1), unusable keys and certificates, a certificate
renewed between two connections, byte-exact and multi-MiB messages, and
that a plain session never maps libtls.

On a build without TLS (smtpd --version says "tls: no") the TLS options
must be usage errors and STARTTLS 502; every test that needs TLS prints
a SKIP line instead.  The tests run side by side in threads (each has
its own smtpd, queue and server), so the group takes a few seconds.
"""
import hashlib
import json
import os
import random
import re
import shutil
import smtplib
import ssl
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
import netlib  # noqa: E402
import tlslib  # noqa: E402

# tests/valgrind/run.sh sets this: every smtpd (and its libcrypto) runs
# many times slower then
SLOW = os.environ.get("SMTPD_TEST_VALGRIND") == "1"
T = 120 if SLOW else 20             # the longest any one step may take
QUIET = 3.0 if SLOW else 0.5        # "nothing arrives" means for this long
WORK = tempfile.mkdtemp(prefix="smtpd-tls-")
HELO = "client.test.example"
OK_RE = re.compile(rb"^250 2\.0\.0 OK queued as ([A-Za-z0-9.]+)\r?$", re.M)

check, skip = lib.check, lib.skip
VERSION = lib.version_line(T)
TLS_BUILT = "tls: no" not in VERSION


# --- the PKI (tests/tlslib.py) -------------------------------------------------

PKI_ = None
der, fingerprint, cert_hash = tlslib.der, tlslib.fingerprint, \
    tlslib.cert_hash


def tls_args(cert=None):
    return PKI_.args(cert)


def ctx(cafile=None, cert=None):
    """A client context that verifies the server (and its name)."""
    return PKI_.ctx(cafile, cert)


# --- smtpd on a real TCP connection ------------------------------------------

class Session(tlslib.Session):
    """tlslib.Session over 127.0.0.1 (a trusted client), with the
    server certificate unless tls=False."""

    def __init__(self, args=(), env=None, tls=True, q=None):
        super().__init__(WORK, (tls_args() if tls else []) + list(args),
                         env, q, T)

    def context(self):
        return ctx()

    def ehlo(self, name=HELO):
        """The EHLO keywords (upper case), or the reply if not 250."""
        r = self.cmd(b"EHLO " + name.encode())
        if not r[-1].startswith(b"250"):
            return r
        return [x[4:].split(b" ")[0].decode().upper() for x in r[1:]]

    def quiet(self, seconds=QUIET):
        return super().quiet(seconds)

    def message(self, body, mail=b"<s@example.org>", rcpt=b"<r@example.com>",
                mail_params=b""):
        """MAIL, RCPT, DATA and body (dot-stuffed here): the last reply
        line, or the first refusal."""
        return self.send_message(stuff(body), mail, rcpt, mail_params)


def stuff(msg):
    """CRLF message bytes dot-stuffed, with the end mark."""
    if not msg.endswith(b"\r\n"):
        msg += b"\r\n"
    return re.sub(rb"(?m)^\.", b"..", msg) + b".\r\n"


received_split = lib.received_split


def spooled(q):
    """[(envelope fields [(k, v)], Received field, rest)] of new/, oldest
    first (the ids start with the arrival time)."""
    out = []
    for name in q.files("new"):
        fields, message = lib.split_spool(q.read(name))
        rec, rest = received_split(message)
        out.append((fields, rec, rest))
    return out


def one_message(q):
    got = spooled(q)
    return got[0] if len(got) == 1 else (None, None, None)


def events(log, event):
    """The log lines of one event (event=NAME, exactly)."""
    return [x for x in log.splitlines()
            if re.search(r"\bevent=%s(\s|$)" % re.escape(event), x)]


def nothing_spooled(q):
    return q.files("new") == [] and q.files("tmp") == []


def envelope_tls(fields, version, cipher):
    """The TLS key right after Helo, with version and cipher."""
    keys = [k for k, _ in fields]
    d = dict(fields)
    return (d.get("TLS") == "%s %s" % (version, cipher) and "Helo" in keys
            and keys.index("TLS") == keys.index("Helo") + 1)


def received_tls(rec, proto, version, cipher, bits=None):
    """Received: ... with PROTO (using VERSION with cipher CIPHER (BITS
    bits)) ..., folding ignored."""
    norm = re.sub(rb"\s+", b" ", rec).decode("utf-8", "replace")
    want = "with %s (using %s with cipher %s (" % (proto, version, cipher)
    if bits is not None:
        want += "%d bits))" % bits
    return want in norm


def client_view(srv):
    """The connection's cipher as Python sees it: (version, name, bits)."""
    c = srv.cipher()
    return srv.version(), c[0], c[2]


# --- tcpserver for the real clients ------------------------------------------

def server(args=(), env=None, cert=None):
    return netlib.Server(tls_args(cert) + list(args), env=env, qbase=WORK)


def session_end(srv, n):
    """(exit status, log text) of the n-th session of srv to end."""
    return tlslib.session_end(srv, n, T)


def run(cmd, inp=None, env=None, timeout=T):
    return tlslib.run(cmd, timeout, inp, env)


MSG = (b"From: Sender <s@example.org>\r\nTo: r@example.com\r\n"
       b"Date: Mon, 07 Dec 2026 10:00:00 +0000\r\n"
       b"Message-ID: <tls-test@client.test.example>\r\n"
       b"Subject: over TLS\r\n\r\n"
       b".leading dot\r\n..two\r\n.\r\n\r\n"
       b"Gr\xc3\xbc\xc3\x9fe \xe2\x80\x94 8-bit\r\n"
       b"trailing \t spaces  \r\nlast line\r\n")


# --- builds: --version, and a build without TLS ------------------------------

def test_version():
    check("tls-version-says", re.search(r"\btls: (no|loaded when used)\b",
                                        VERSION) is not None,
          "smtpd --version says nothing about TLS: %r" % VERSION)


def test_notls_build():
    """WITH_TLS=0: every TLS option is a usage error that says why."""
    dummy = os.path.join(WORK, "dummy.pem")
    with open(dummy, "w") as f:
        f.write("not used\n")
    q = lib.Queue(WORK)
    for name, args in (
            ("cert", ["--tls-cert", dummy, "--tls-key", dummy]),
            ("implicit", ["--tls-implicit"]),
            ("require-tls", ["--require-tls"]),
            ("client-ca", ["--tls-client-ca", dummy]),
            ("protocols", ["--tls-protocols", "tlsv1.2"]),
            ("ciphers", ["--tls-ciphers", "secure"])):
        rc, out, err = lib.run_smtpd(b"QUIT\r\n", q, args)
        check("tls-notls-usage-%s" % name, rc == 100 and out == b"" and
              b"without tls" in err.lower(),
              "rc %r out %r err %r" % (rc, out, err[-300:]))
    rc, out, err = lib.run_smtpd(b"QUIT\r\n", q, (), {
        "SMTPD_TLS_CERT": dummy, "SMTPD_TLS_KEY": dummy})
    check("tls-notls-usage-env", rc == 100 and b"without tls" in
          err.lower(), "rc %r out %r err %r" % (rc, out, err[-300:]))
    check("tls-notls-usage-nothing-spooled", nothing_spooled(q), "")
    q.cleanup()
    # a unit's LoadCredential= files are no reason to refuse to run
    creds = tempfile.mkdtemp(prefix="creds-", dir=WORK)
    for n in ("tls-cert", "tls-key"):
        shutil.copy(dummy, os.path.join(creds, n))
    s = Session(env={"CREDENTIALS_DIRECTORY": creds}, tls=False)
    try:
        greet = s.reply()
        kw = s.ehlo()
        r = s.first(b"STARTTLS")
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    check("tls-notls-credentials-ignored", greet[-1].startswith(b"220 ") and
          "STARTTLS" not in kw and r.startswith(b"502 5.5.1") and rc == 0,
          "%r %r %r rc %r %s" % (greet, kw, r, rc, log))
    s.q.cleanup()


def test_no_cert_502():
    """No certificate (or no TLS in the build): no STARTTLS in EHLO, and
    STARTTLS gets 502; the session goes on."""
    s = Session(tls=False)
    try:
        greet = s.reply()
        kw = s.ehlo()
        r = s.cmd(b"STARTTLS")
        noop = s.first(b"NOOP")
        mail = s.message(b"Subject: plain\r\n\r\nplain\r\n")
        quit_ = s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    check("tls-no-cert-ehlo-no-starttls", greet[0].startswith(b"220 ") and
          "STARTTLS" not in kw and "REQUIRETLS" not in kw and "SIZE" in kw,
          "%r" % kw)
    check("tls-no-cert-starttls-502", r[-1].startswith(b"502 5.5.1 "),
          "%r" % r)
    check("tls-no-cert-session-goes-on", noop.startswith(b"250 ") and
          OK_RE.match(mail) and quit_.startswith(b"221") and rc == 0,
          "%r %r %r rc %r %s" % (noop, mail, quit_, rc, log))
    fields, rec, rest = one_message(s.q)
    check("tls-no-cert-plain-envelope", fields is not None and
          "TLS" not in dict(fields) and dict(fields).get("Protocol") ==
          "ESMTP" and b" with ESMTP id " in rec, "%r %r" % (fields, rec))
    s.q.cleanup()


def test_usage():
    q = lib.Queue(WORK)
    # never a plain-text port that was meant to be TLS-only
    for name, args in (("cert-without-key", ["--tls-cert", PKI_.srv]),
                       ("key-without-cert",
                        ["--tls-key", PKI_.keyof(PKI_.srv)]),
                       ("implicit-without-cert", ["--tls-implicit"]),
                       ("require-tls-without-cert", ["--require-tls"])):
        rc, out, err = lib.run_smtpd(b"QUIT\r\n", q, args)
        check("tls-usage-%s" % name, rc == 100 and out == b"",
              "rc %r out %r err %r" % (rc, out, err[-300:]))
    q.cleanup()


# --- what a plain session pays -----------------------------------------------

def test_plain_maps_no_libtls():
    """A certificate configured, no STARTTLS: libtls, libssl, libcrypto
    are not mapped; after STARTTLS libtls is."""
    s = Session()
    try:
        s.reply()
        s.ehlo()
        before = s.maps()
        ok = s.starttls()
        kw = s.ehlo()
        after = s.maps()
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    libs = re.compile(r"lib(tls|ssl|crypto)[.-]")
    check("tls-plain-session-no-libtls", before is not None and
          not libs.search(before), "mapped: %s" % "\n".join(
              x for x in (before or "").splitlines() if libs.search(x)))
    check("tls-starttls-maps-libtls", ok and after is not None and
          re.search(r"libtls[.-]", after) is not None and
          "REQUIRETLS" in kw, "starttls %r, libtls not mapped: %s" % (
              ok, log))
    s.q.cleanup()


# --- the protocol ------------------------------------------------------------

def test_state_reset():
    """EHLO keywords before and after; REQUIRETLS refused in plain text;
    STARTTLS with a parameter, inside a transaction; after the handshake
    MAIL needs a new EHLO; STARTTLS twice; REQUIRETLS in the envelope."""
    s = Session()
    try:
        s.reply()
        kw = s.ehlo()
        check("tls-ehlo-plain-lists-starttls", "STARTTLS" in kw and
              "REQUIRETLS" not in kw, "%r" % kw)
        r = s.first(b"MAIL FROM:<a@b.example> REQUIRETLS")
        check("tls-requiretls-plain-555", r.startswith(b"555 5.5.4 "),
              "%r" % r)
        r = s.first(b"STARTTLS now")
        check("tls-starttls-parameter-501", r.startswith(b"501 5.5.4 "),
              "%r" % r)
        r = s.first(b"MAIL FROM:<a@b.example>")
        r2 = s.first(b"STARTTLS")
        check("tls-starttls-in-transaction-503", r.startswith(b"250") and
              r2.startswith(b"503 5.5.1 "), "%r %r" % (r, r2))
        s.first(b"RSET")
        r = s.first(b"STARTTLS")
        check("tls-starttls-220", r.startswith(b"220 2.0.0 "), "%r" % r)
        s.tls()
        ver, cipher, bits = client_view(s.s)
        check("tls-no-plain-text-before-handshake", s.leftover == b"",
              "%r" % s.leftover)
        r = s.cmd(b"MAIL FROM:<a@b.example>")
        check("tls-mail-after-handshake-needs-ehlo",
              r[-1].startswith(b"503 5.5.1 "), "%r" % r)
        kw = s.ehlo()
        check("tls-ehlo-tls-lists-requiretls", "REQUIRETLS" in kw and
              "STARTTLS" not in kw and "PIPELINING" in kw, "%r" % kw)
        r = s.first(b"STARTTLS")
        check("tls-starttls-twice-503", r.startswith(b"503 5.5.1 "),
              "%r" % r)
        r1 = s.message(MSG, mail_params=b"REQUIRETLS")
        r2 = s.message(b"Subject: second\r\n\r\nno REQUIRETLS\r\n")
        r3 = s.message(b"Subject: utf8\r\n\r\nutf8\r\n",
                       mail=b"<j\xc3\xbcrgen@example.org>",
                       mail_params=b"SMTPUTF8")
        s.first(b"HELO helo.test.example")
        r4 = s.message(b"Subject: helo\r\n\r\nhelo\r\n")
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    check("tls-state-messages-queued", all(OK_RE.match(r or b"")
                                           for r in (r1, r2, r3, r4)) and
          rc == 0, "%r rc %r %s" % ((r1, r2, r3, r4), rc, log))
    got = spooled(s.q)
    if not check("tls-state-four-files", len(got) == 4, "%d" % len(got)):
        s.q.cleanup()
        return
    by_subject = {}
    for fields, rec, rest in got:
        m = re.search(rb"Subject: ([^\r]*)", rest)
        by_subject[m.group(1) if m else None] = (fields, rec, rest)
    fields, rec, rest = by_subject.get(b"over TLS", (None, b"", b""))
    d = dict(fields or [])
    keys = [k for k, _ in fields or []] + ["Require-TLS", "Recipient",
                                            "Sender"]
    check("tls-requiretls-envelope", d.get("Require-TLS") == "yes" and
          keys.index("Sender") < keys.index("Require-TLS") <
          keys.index("Recipient"), "%r" % fields)
    check("tls-message-bytes", rest == MSG, "stored %r" % rest)
    check("tls-envelope-tls-line", envelope_tls(fields or [], ver, cipher)
          and ver == "TLSv1.3" and d.get("Protocol") == "ESMTPS",
          "%r (client: %s %s)" % (
              fields, ver, cipher))
    check("tls-received-esmtps", received_tls(rec, "ESMTPS", ver, cipher,
                                              bits), "%r" % rec)
    f2 = dict(by_subject.get(b"second", ([], b"", b""))[0])
    check("tls-no-requiretls-no-key", f2 and "Require-TLS" not in f2 and
          f2.get("TLS") == "%s %s" % (ver, cipher), "%r" % f2)
    f3, rec3, _ = by_subject.get(b"utf8", ([], b"", b""))
    check("tls-utf8smtps", dict(f3).get("Protocol") == "UTF8SMTPS" and
          received_tls(rec3, "UTF8SMTPS", ver, cipher, bits), "%r %r" % (
              f3, rec3))
    f4, rec4, _ = by_subject.get(b"helo", ([], b"", b""))
    check("tls-helo-smtp-with-comment", dict(f4).get("Protocol") == "SMTP"
          and dict(f4).get("TLS") == "%s %s" % (ver, cipher) and
          received_tls(rec4, "SMTP", ver, cipher, bits), "%r %r" % (f4, rec4))
    tls_rec = events(log, "tls")
    check("tls-log-record", len(tls_rec) == 1 and ver in tls_rec[0] and
          cipher in tls_rec[0] and str(bits) in tls_rec[0], log)
    s.q.cleanup()


def test_require_tls():
    s = Session(["--require-tls"])
    try:
        s.reply()
        kw = s.ehlo()
        r = s.first(b"MAIL FROM:<a@b.example>")
        noop = s.first(b"NOOP")
        ok = s.starttls()
        s.ehlo()
        r2 = s.message(MSG)
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    check("tls-require-tls-530", "STARTTLS" in kw and r ==
          b"530 5.7.0 Must issue a STARTTLS command first" and
          noop.startswith(b"250"), "%r %r" % (kw, r))
    check("tls-require-tls-mail-under-tls", ok and OK_RE.match(r2) and
          rc == 0 and len(s.q.files("new")) == 1, "%r rc %r %s" % (
              r2, rc, log))
    s.q.cleanup()


def test_implicit_session():
    """--tls-implicit: the handshake first, then the greeting; EHLO lists
    REQUIRETLS and not STARTTLS; STARTTLS is 503."""
    s = Session(["--tls-implicit"])
    try:
        s.tls()
        ver, cipher, bits = client_view(s.s)
        greet = s.reply()
        kw = s.ehlo()
        r = s.first(b"STARTTLS")
        m = s.message(MSG)
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    check("tls-implicit-greeting", greet[-1].startswith(b"220 " +
                                                        lib.HOST.encode()),
          "%r" % greet)
    check("tls-implicit-ehlo", "REQUIRETLS" in kw and "STARTTLS" not in kw,
          "%r" % kw)
    check("tls-implicit-starttls-503", r.startswith(b"503 5.5.1"), "%r" % r)
    fields, rec, rest = one_message(s.q)
    check("tls-implicit-message", OK_RE.match(m) and rc == 0 and
          rest == MSG and envelope_tls(fields, ver, cipher) and
          received_tls(rec, "ESMTPS", ver, cipher, bits),
          "%r rc %r %r %r %s" % (m, rc, fields, rec, log))
    s.q.cleanup()


def test_implicit_eager_client():
    """openssl s_client -connect sends its first line as soon as the
    handshake is done: under --tls-implicit that is not an early talker
    (the socket holds TLS records), with --greet-delay too; a plain
    client that talks first still is."""
    s = Session(["--tls-implicit", "--greet-delay", "1"])
    try:
        s.tls()
        s.send(b"EHLO eager.example\r\n")
        greet = s.reply()
        ehlo = s.reply()
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    s.q.cleanup()
    check("tls-implicit-eager-client", greet[-1].startswith(b"220 ") and
          ehlo[-1].startswith(b"250 ") and rc == 0,
          "%r %r rc %r %s" % (greet, ehlo, rc, log))
    s = Session(["--greet-delay", "1"])
    try:
        s.send(b"EHLO eager.example\r\n")
        greet = s.reply()
    finally:
        rc, log = s.finish()
    s.q.cleanup()
    check("tls-plain-early-talker-554", greet[-1].startswith(b"554 5.5.0")
          and rc == 1, "%r rc %r %s" % (greet, rc, log))


def injection_case(name, extra, after):
    """STARTTLS and more commands in one write: none of them may run,
    before or after the handshake."""
    s = Session()
    try:
        s.reply()
        s.ehlo()
        s.send(b"STARTTLS\r\n" + extra)
        r = s.reply()
        s.tls()
        quiet = s.quiet()
        replies = after(s)
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    check("tls-injection-%s-220" % name, r[-1].startswith(b"220 2.0.0"),
          "%r" % r)
    check("tls-injection-%s-not-run-in-plain" % name, s.leftover == b"",
          "plain text after 220: %r" % s.leftover)
    check("tls-injection-%s-no-reply-after-handshake" % name, quiet,
          "unasked reply: %r" % s.buf)
    return replies, rc, log, s


def test_injection_noop():
    def after(s):
        return [s.cmd(b"EHLO " + HELO.encode())]
    replies, rc, log, s = injection_case("noop", b"NOOP\r\n", after)
    ehlo = replies[0]
    check("tls-injection-noop-ehlo-first", ehlo[0] == b"250-" +
          lib.HOST.encode() and b"250-REQUIRETLS" in ehlo, "%r" % ehlo)
    check("tls-injection-noop-logged", len(events(log, "starttls-pipelined"))
          == 1 and rc == 0, "rc %r %s" % (rc, log))
    s.q.cleanup()


def test_injection_mail():
    def after(s):
        return [s.first(b"MAIL FROM:<x@y.example>"), s.ehlo(),
                s.first(b"RCPT TO:<c@d.example>"),
                s.first(b"MAIL FROM:<x@y.example>"),
                s.first(b"RCPT TO:<c@d.example>"), s.first(b"RSET")]
    replies, rc, log, s = injection_case(
        "mail", b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n", after)
    mail, kw, rcpt, mail2, rcpt2, rset = replies
    check("tls-injection-mail-503-before-ehlo", mail.startswith(b"503 5.5.1"),
          "%r" % mail)
    check("tls-injection-mail-no-transaction", "REQUIRETLS" in kw and
          rcpt.startswith(b"503 5.5.1") and mail2.startswith(b"250") and
          rcpt2.startswith(b"250"), "%r" % replies)
    check("tls-injection-mail-logged", len(events(log, "starttls-pipelined"))
          == 1 and rc == 0 and nothing_spooled(s.q), "rc %r %s" % (rc, log))
    s.q.cleanup()


def test_pipelined_ehlo_starttls():
    """EHLO and STARTTLS in one write is lawful (STARTTLS ends the group,
    RFC 2920): both answered, no starttls-pipelined record."""
    s = Session()
    try:
        s.reply()
        s.send(b"EHLO a.example\r\nSTARTTLS\r\n")
        r1, r2 = s.reply(), s.reply()
        s.tls()
        kw = s.ehlo()
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    check("tls-pipelined-ehlo-starttls", r1[-1].startswith(b"250 ") and
          r2[-1].startswith(b"220 2.0.0") and "REQUIRETLS" in kw and
          rc == 0 and events(log, "starttls-pipelined") == [],
          "%r %r %r rc %r %s" % (r1, r2, kw, rc, log))
    s.q.cleanup()


def limit_case(name, args, tls):
    """Silence after EHLO until a limit cuts the session: the client
    gets the 421 4.4.2 (under TLS as in plain text), smtpd exits 1."""
    s = Session(args)
    try:
        s.reply()
        if tls:
            s.starttls()
        s.ehlo()
        t0 = time.monotonic()
        try:
            r = s.reply()
        except (OSError, ssl.SSLError, EOFError) as e:
            r = repr(e)
        took = time.monotonic() - t0
    finally:
        rc, log = s.finish()
    check("tls-%s-%s-421" % ("tls" if tls else "plain", name),
          isinstance(r, list) and r[-1].startswith(b"421 4.4.2 ") and
          rc == 1 and took < 4 + (30 if SLOW else 0),
          "got %r after %.1f s, rc %r; log %s" % (r, took, rc, log))
    s.q.cleanup()


def test_idle_timeout():
    for tls in (False, True):
        limit_case("idle-timeout", ["--timeout", "10" if SLOW else "2"],
                   tls)


def test_session_limit():
    for tls in (False, True):
        limit_case("session-limit", ["--session-timeout",
                                     "15" if SLOW else "2", "--timeout",
                                     "60"], tls)


# --- client certificates -----------------------------------------------------

DUMPER = r"""#!%s -I
import json, os
with open("/proc/self/environ", "rb") as f:
    env = dict(e.decode("utf-8", "replace").split("=", 1)
               for e in f.read().split(b"\0") if e)
with open("%s." + env.get("SMTPD_STAGE", "none"), "w") as f:
    json.dump(env, f)
print("dumped")
"""


def dumper(tag):
    prog = os.path.join(WORK, "dump-" + tag)
    with open(prog, "w") as f:
        f.write(DUMPER % (sys.executable, prog))
    os.chmod(prog, 0o755)
    return prog


def dumped(prog, stage):
    try:
        with open(prog + "." + stage) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def cert_session(tag, client_cert, client_ca=True, tls=True):
    prog = dumper(tag)
    args = ["--check-sender", prog]
    if client_ca:
        args += ["--tls-client-ca", PKI_.cca]
    s = Session(args)
    ver = cipher = None
    try:
        s.reply()
        if tls:
            s.starttls(ctx(cert=client_cert))
            ver, cipher, _ = client_view(s.s)
        s.ehlo()
        r = s.message(MSG)
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    fields, rec, rest = one_message(s.q)
    s.q.cleanup()
    return r, rc, log, dict(fields or []), dumped(prog, "mail"), ver, cipher


def test_client_cert():
    want = cert_hash(PKI_.cli)
    r, rc, log, env, penv, ver, cipher = cert_session("cli", PKI_.cli)
    penv = penv or {}
    check("tls-client-cert-queued", OK_RE.match(r) and rc == 0,
          "%r rc %r %s" % (r, rc, log))
    check("tls-client-cert-envelope", env.get("TLS-Client-Cert") == want,
          "want %s, envelope %r" % (want, env))
    check("tls-client-cert-policy-env",
          penv.get("SMTPD_TLS_PEER_CERT_HASH") == want and
          penv.get("SMTPD_TLS_VERSION") == ver and
          penv.get("SMTPD_TLS_CIPHER") == cipher,
          "want %s %s %s, got %r" % (want, ver, cipher, penv))
    rec = events(log, "tls")
    check("tls-client-cert-logged", len(rec) == 1 and want in rec[0],
          "want %s: %s" % (want, log))
    # implicit TLS: the handshake comes first, so --check-client already
    # knows the certificate (a known relay can be let through at connect)
    prog = dumper("connect")
    s = Session(["--tls-implicit", "--check-client", prog,
                 "--tls-client-ca", PKI_.cca])
    try:
        s.tls(ctx(cert=PKI_.cli))
        greet = s.reply()
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    penv = dumped(prog, "connect") or {}
    check("tls-client-cert-implicit-connect-env", greet[-1].startswith(
        b"220 ") and rc == 0 and penv.get("SMTPD_TLS_PEER_CERT_HASH") ==
        want and penv.get("SMTPD_STAGE") == "connect",
        "%r rc %r penv %r %s" % (greet, rc, penv, log))
    s.q.cleanup()


def test_no_client_cert():
    """--tls-client-ca, and the client has no certificate: TLS works, no
    hash anywhere; a plain session's program sees no SMTPD_TLS_*."""
    r, rc, log, env, penv, ver, cipher = cert_session("nocli", None)
    penv = penv or {}
    check("tls-client-cert-optional", OK_RE.match(r) and rc == 0 and
          "TLS-Client-Cert" not in env and env.get("TLS") and
          penv.get("SMTPD_TLS_VERSION") == ver and
          not penv.get("SMTPD_TLS_PEER_CERT_HASH"),
          "%r rc %r env %r penv %r" % (r, rc, env, penv))
    r, rc, log, env, penv, _, _ = cert_session("plain", PKI_.cli, tls=False)
    check("tls-plain-no-tls-env", OK_RE.match(r) and penv is not None and
          not [k for k in penv if k.startswith("SMTPD_TLS")] and
          "TLS" not in env and "TLS-Client-Cert" not in env,
          "%r penv %r env %r" % (r, penv, env))
    # without --tls-client-ca nobody asks for a certificate
    r, rc, log, env, penv, _, _ = cert_session("notasked", PKI_.cli,
                                               client_ca=False)
    check("tls-client-cert-not-asked", OK_RE.match(r or b"") and
          "TLS-Client-Cert" not in env and
          not (penv or {}).get("SMTPD_TLS_PEER_CERT_HASH"),
          "%r env %r penv %r" % (r, env, penv))


def test_rogue_client_cert():
    """A certificate the client CA never signed is never recorded as
    verified: the handshake fails, or the session has no hash."""
    bad = cert_hash(PKI_.rogue)
    try:
        r, rc, log, env, penv, _, _ = cert_session("rogue", PKI_.rogue)
    except (OSError, ssl.SSLError, EOFError) as e:
        r, rc, log, env, penv = repr(e).encode(), None, "", {}, {}
    check("tls-rogue-client-cert-not-trusted",
          bad not in json.dumps(env) and
          bad not in json.dumps(penv or {}) and bad not in log,
          "%r env %r penv %r log %s" % (r, env, penv, log))


def relay_case(listed, client_cert):
    """examples/relay-by-cert as --check-sender for an untrusted client
    (TCPREMOTEIP outside loopback): RCPT to a foreign domain."""
    certs = os.path.join(WORK, "relay-certs-%d-%d" % (listed,
                                                      client_cert is None))
    with open(certs, "w") as f:
        f.write("# known relays\n")
        if listed:
            f.write(cert_hash(PKI_.cli) + "  # the test client\n")
    prog = os.path.join(WORK, "relay-%d-%d" % (listed, client_cert is None))
    with open(prog, "w") as f:
        f.write("#!/bin/sh\nRELAY_CERTS=%s exec %s \"$@\"\n" % (
            certs, os.path.join(lib.ROOT, "examples", "relay-by-cert")))
    os.chmod(prog, 0o755)
    s = Session(["--check-sender", prog, "--tls-client-ca", PKI_.cca],
                env={"TCPREMOTEIP": "192.0.2.9", "TCPREMOTEPORT": "2525"})
    try:
        s.reply()
        s.starttls(ctx(cert=client_cert))
        s.ehlo()
        mail = s.first(b"MAIL FROM:<a@example.org>")
        rcpt = s.first(b"RCPT TO:<b@elsewhere.example>")
        s.first(b"RSET")
        # the grant is for one transaction: a new MAIL is judged again
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    s.q.cleanup()
    return mail, rcpt, log


def test_relay_by_cert():
    """A --check-sender program answering RELAY lets a client with a
    listed certificate relay; unlisted or no certificate: denied."""
    mail, rcpt, log = relay_case(True, PKI_.cli)
    check("tls-relay-by-cert-listed", mail.startswith(b"250") and
          rcpt.startswith(b"250 2.1.5"), "%r %r %s" % (mail, rcpt, log))
    mail, rcpt, log = relay_case(False, PKI_.cli)
    check("tls-relay-by-cert-unlisted", mail.startswith(b"250") and
          rcpt.startswith(b"550 5.7.1"), "%r %r %s" % (mail, rcpt, log))
    mail, rcpt, log = relay_case(True, None)
    check("tls-relay-by-cert-no-cert", mail.startswith(b"250") and
          rcpt.startswith(b"550 5.7.1"), "%r %r %s" % (mail, rcpt, log))


# --- handshake failures ------------------------------------------------------

def client_hello():
    """The first flight of a real TLS client."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx().wrap_bio(inc, out, server_hostname=lib.HOST)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def failure_case(name, implicit, action, timeout=None):
    """A handshake that cannot succeed: one tls-failed record, exit 1,
    nothing spooled, no SMTP reply to what the client sent."""
    args = ["--tls-implicit"] if implicit else []
    if timeout:
        args += ["--timeout", str(timeout)]
    s = Session(args)
    extra = b""
    try:
        if not implicit:
            s.reply()
            s.ehlo()
            r = s.cmd(b"STARTTLS")
            if not r[-1].startswith(b"220 2.0.0"):
                check("tls-fail-%s" % name, False, "STARTTLS: %r" % r)
        t0 = time.monotonic()
        action(s)
        rc = s.wait(T if timeout is None else timeout + (60 if SLOW else 8))
        took = time.monotonic() - t0
        if rc is not None and action is not close_now:
            s.s.settimeout(2)
            extra = lib.recv_all(s.s)
    finally:
        rc, log = s.finish()
    fails = events(log, "tls-failed")
    check("tls-fail-%s" % name, rc == 1 and len(fails) == 1 and
          "reason=" in fails[0] and
          nothing_spooled(s.q) and not re.search(rb"(^|\r\n)\d\d\d[ -]",
                                                 s.buf + extra),
          "rc %r, tls-failed records %d, new %r tmp %r, sent %r, log %s" % (
              rc, len(fails), s.q.files("new"), s.q.files("tmp"),
              (s.buf + extra)[:200], log))
    s.q.cleanup()
    return took


def garbage(s):
    rnd = random.Random(16)
    g = bytearray(rnd.getrandbits(8) for _ in range(600))
    g[0] = 0x01             # no TLS record type, no SSLv2 hello
    g[20:40] = b"\r\nMAIL FROM:<a@b>\r\n"
    s.send(bytes(g))


def close_now(s):
    s.s.close()


def nothing(s):
    pass


def half_hello(s):
    h = client_hello()
    s.send(h[:len(h) // 2])


def trickle_hello(s):
    """A ClientHello an octet at a time: bytes that keep coming do not
    stretch the handshake past one --timeout."""
    h = client_hello()
    end = time.monotonic() + (60 if SLOW else 10)
    for i in range(len(h)):
        if s.p.poll() is not None or time.monotonic() > end:
            return
        try:
            s.send(h[i:i + 1])
        except OSError:
            return
        time.sleep(0.3)


def test_handshake_failures():
    for mode, implicit in (("starttls", False), ("implicit", True)):
        failure_case("%s-garbage" % mode, implicit, garbage)
        failure_case("%s-client-closes" % mode, implicit, close_now)


def stall_case(name, implicit, action):
    limit = 10 if SLOW else 2
    took = failure_case(name, implicit, action, timeout=limit)
    check("tls-fail-%s-time" % name, limit * 0.75 <= took <= limit +
          (30 if SLOW else 3), "cut after %.2f s (--timeout %d)" % (
              took, limit))


def test_stall_starttls():
    stall_case("starttls-stall", False, nothing)


def test_stall_implicit():
    stall_case("implicit-stall", True, nothing)


def test_stall_mid_hello():
    stall_case("starttls-stall-mid-hello", False, half_hello)


def test_trickle_hello():
    stall_case("implicit-trickle-hello", True, trickle_hello)


def old_protocol(name, flag, implicit):
    """openssl s_client offering only TLS 1.0 or 1.1 (SECLEVEL=0, so it
    really offers it): refused, one tls-failed record, exit 1."""
    srv = server(["--tls-implicit"] if implicit else [])
    try:
        cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % srv.port,
               "-CAfile", PKI_.ca, flag, "-cipher", "DEFAULT@SECLEVEL=0",
               "-nocommands", "-ign_eof", "-brief"]
        if not implicit:
            cmd += ["-starttls", "smtp", "-name", HELO]
        rc, out, err = run(cmd, b"EHLO x\r\nMAIL FROM:<a@b.example>\r\n"
                           b"QUIT\r\n")
        status, log = session_end(srv, 1)
        text = (out + err).decode("utf-8", "replace")
        check("tls-old-%s" % name, rc not in (0, "timeout") and
              "no protocols available" not in text and
              "CONNECTION ESTABLISHED" not in text and status == 1 and
              len(events(log, "tls-failed")) == 1 and
              nothing_spooled(srv.q), "client rc %r %s\nsmtpd %r %s" % (
                  rc, text[-600:], status, log))
    finally:
        srv.cleanup()


def test_tls11_starttls():
    old_protocol("tls1_1-starttls", "-tls1_1", False)


def test_tls10_starttls():
    old_protocol("tls1-starttls", "-tls1", False)


def test_tls11_implicit():
    old_protocol("tls1_1-implicit", "-tls1_1", True)


# --- keys and certificates ---------------------------------------------------

def test_unreadable():
    missing = os.path.join(WORK, "no-such-file.pem")
    for name, args, implicit in (
            ("key", ["--tls-cert", PKI_.srv, "--tls-key", missing], False),
            ("cert", ["--tls-cert", missing, "--tls-key",
                      PKI_.keyof(PKI_.srv)], False),
            ("key-implicit", ["--tls-cert", PKI_.srv, "--tls-key", missing,
                              "--tls-implicit"], True)):
        s = Session(args, tls=False)
        try:
            got = lib.recv_all(s.s)
        finally:
            rc, log = s.finish()
        ok = rc == 111 and nothing_spooled(s.q) and \
            len(events(log, "unavailable")) >= 1 and missing in log
        if implicit:            # a TLS client gets no plain text
            ok = ok and got == b""
        else:
            ok = ok and got.startswith(b"421 4.3.0 ") and \
                got.count(b"\r\n") == 1
        check("tls-unreadable-%s" % name, ok, "rc %r sent %r log %s" % (
            rc, got, log))
        s.q.cleanup()


def test_mismatched_key():
    """A key that does not match the certificate: STARTTLS 454 4.7.0 and
    the session goes on in plain text; --tls-implicit exits 111."""
    args = ["--tls-cert", PKI_.srv, "--tls-key", PKI_.other_key]
    s = Session(args, tls=False)
    try:
        s.reply()
        kw = s.ehlo()
        r = s.first(b"STARTTLS")
        kw2 = s.ehlo()
        m = s.message(MSG)
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    check("tls-mismatched-key-454", "STARTTLS" in kw and
          r.startswith(b"454 4.7.0 ") and
          re.search(r'event=\S+ reason="[^"]*key', log), "%r %r %s" % (
              kw, r, log))
    fields, rec, rest = one_message(s.q)
    check("tls-mismatched-key-plain-goes-on", isinstance(kw2, list) and
          OK_RE.match(m) and rc == 0 and rest == MSG and
          "TLS" not in dict(fields) and dict(fields).get("Protocol") ==
          "ESMTP", "%r %r rc %r %r %s" % (kw2, m, rc, fields, log))
    s.q.cleanup()
    s = Session(args + ["--tls-implicit"], tls=False)
    try:
        try:
            s.tls()
            got = s.reply()
        except (OSError, ssl.SSLError, EOFError) as e:
            got = repr(e)
    finally:
        rc, log = s.finish()
    check("tls-mismatched-key-implicit-111", rc == 111 and
          nothing_spooled(s.q) and not isinstance(got, list),
          "rc %r got %r log %s" % (rc, got, log))
    s.q.cleanup()


def test_key_as_root_then_user():
    """The key is opened before --user drops privileges: a root-only key
    works for a session run as nobody."""
    if os.geteuid() != 0:
        skip("tls-root-only-key", "the suite is not running as root")
        return
    d = tempfile.mkdtemp(prefix="rootkey-", dir=WORK)
    key = os.path.join(d, "key.pem")
    shutil.copy(PKI_.keyof(PKI_.srv), key)
    os.chmod(key, 0o600)
    os.chmod(d, 0o700)
    q = lib.Queue()             # not in WORK: nobody cannot enter that
    os.chmod(q.dir, 0o777)
    s = Session(["--tls-cert", PKI_.srv, "--tls-key", key, "--user",
                 "nobody"], tls=False, q=q)
    try:
        s.reply()
        ok = s.starttls()
        s.ehlo()
        m = s.message(MSG)
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    check("tls-root-only-key", ok and OK_RE.match(m) and rc == 0,
          "starttls %r %r rc %r %s" % (ok, m, rc, log))
    q.cleanup()


def test_defaults_from_env():
    """SMTPD_TLS_CERT/SMTPD_TLS_KEY, and $CREDENTIALS_DIRECTORY/tls-cert
    and tls-key (systemd LoadCredential=) when both are there."""
    creds = tempfile.mkdtemp(prefix="creds-", dir=WORK)
    shutil.copy(PKI_.srv, os.path.join(creds, "tls-cert"))
    shutil.copy(PKI_.keyof(PKI_.srv), os.path.join(creds, "tls-key"))
    half = tempfile.mkdtemp(prefix="creds-half-", dir=WORK)
    shutil.copy(PKI_.srv, os.path.join(half, "tls-cert"))
    for name, env, want in (
            ("env", {"SMTPD_TLS_CERT": PKI_.srv,
                     "SMTPD_TLS_KEY": PKI_.keyof(PKI_.srv)}, True),
            ("credentials", {"CREDENTIALS_DIRECTORY": creds}, True),
            ("credentials-cert-only", {"CREDENTIALS_DIRECTORY": half},
             False)):
        s = Session(env=env, tls=False)
        fp = None
        try:
            s.reply()
            ok = s.starttls()
            kw = s.ehlo()
            if ok:
                fp = hashlib.sha256(s.s.getpeercert(True)).hexdigest()
            s.first(b"QUIT")
        finally:
            rc, log = s.finish()
        if want:
            check("tls-default-%s" % name, ok and "REQUIRETLS" in kw and
                  fp == fingerprint(PKI_.srv) and rc == 0,
                  "starttls %r %r rc %r %s" % (ok, kw, rc, log))
        else:
            check("tls-default-%s" % name, not ok and rc == 0 and
                  "STARTTLS" not in kw, "starttls %r %r rc %r %s" % (
                      ok, kw, rc, log))
        s.q.cleanup()


def test_chain():
    """The certificate file may hold the chain: a client that trusts only
    the root verifies a leaf signed by an intermediate."""
    s = Session(["--tls-cert", PKI_.chain, "--tls-key",
                 PKI_.keyof(PKI_.leaf)], tls=False)
    try:
        s.reply()
        ok = s.starttls()
        peer = s.s.getpeercert(True) if ok else None
        s.first(b"QUIT")
    except (OSError, ssl.SSLError, EOFError) as e:
        ok, peer = repr(e), None
    finally:
        rc, log = s.finish()
    check("tls-cert-chain", ok is True and peer == der(PKI_.leaf) and
          rc == 0, "%r rc %r %s" % (ok, rc, log))
    s.q.cleanup()


def test_protocols_ciphers():
    """--tls-protocols and --tls-ciphers reach libtls."""
    s = Session(["--tls-protocols", "tlsv1.2", "--tls-ciphers",
                 "ECDHE-ECDSA-CHACHA20-POLY1305"])
    try:
        s.reply()
        ok = s.starttls()
        ver, cipher, bits = client_view(s.s) if ok else (None, None, None)
        s.ehlo()
        m = s.message(MSG)
        s.first(b"QUIT")
    finally:
        rc, log = s.finish()
    fields, rec, rest = one_message(s.q)
    check("tls-protocols-ciphers", ok and ver == "TLSv1.2" and
          cipher == "ECDHE-ECDSA-CHACHA20-POLY1305" and OK_RE.match(m) and
          envelope_tls(fields or [], ver, cipher) and
          received_tls(rec or b"", "ESMTPS", ver, cipher, bits),
          "%r %s %s %r %r %r %s" % (ok, ver, cipher, m, fields, rec, log))
    s.q.cleanup()
    # a TLS 1.3-only client against --tls-protocols tlsv1.2
    s = Session(["--tls-protocols", "tlsv1.2"])
    try:
        s.reply()
        c = ctx()
        c.minimum_version = ssl.TLSVersion.TLSv1_3
        try:
            ok = s.starttls(c)
        except (OSError, ssl.SSLError, EOFError) as e:
            ok = repr(e)
    finally:
        rc, log = s.finish()
    check("tls-protocols-refuse-tls13", ok is not True and rc == 1 and
          len(events(log, "tls-failed")) == 1, "%r rc %r %s" % (
              ok, rc, log))
    s.q.cleanup()


# --- messages over TLS -------------------------------------------------------

def big_message(size):
    rnd = random.Random(8)
    alphabet = bytes(range(0x20, 0x7f)) + bytes(range(0x80, 0x100))
    parts = [b"Subject: big\r\n\r\n"]
    n = 0
    while n < size:
        k = rnd.choice((0, 1, 1, 2, 20, 78, 200, 998, 5000, 70000))
        line = bytes(rnd.choice(alphabet) for _ in range(min(k, 64)))
        line = (line * (k // max(len(line), 1) + 1))[:k]
        if rnd.random() < 0.1:
            line = b"." + line
        parts.append(line + b"\r\n")
        n += len(line) + 2
    return b"".join(parts)


def test_big_and_pipelined():
    """A several-MiB message over TLS, byte for byte; then three
    transactions pipelined in one write."""
    body = big_message(6 * 1024 * 1024)
    s = Session()
    try:
        s.reply()
        s.starttls()
        s.ehlo()
        r = s.message(body)
        batch = b""
        for i in range(3):
            batch += (b"MAIL FROM:<s@example.org>\r\nRCPT TO:<r%d@example."
                      b"com>\r\nDATA\r\n" % i +
                      stuff(b"Subject: pipelined %d\r\n\r\n%s\r\n" % (
                          i, b"x" * (i * 40000))))
        s.send(batch + b"QUIT\r\n")
        rs = [s.reply()[-1] for _ in range(13)]
    finally:
        rc, log = s.finish()
    got = spooled(s.q)
    big = [x for x in got if x[2].startswith(b"Subject: big\r\n")]
    check("tls-big-message-bytes", OK_RE.match(r) and len(big) == 1 and
          big[0][2] == body, "%r, %d files, stored %d octets of %d" % (
              r, len(got), len(big[0][2]) if big else -1, len(body)))
    want = [b"250", b"250", b"354", b"250"] * 3 + [b"221"]
    check("tls-pipelined-transactions", [x[:3] for x in rs] == want and
          len(got) == 4 and rc == 0, "%r rc %r %s" % (rs, rc, log))
    s.q.cleanup()


# --- certificate renewal -----------------------------------------------------

def peer_fp(port):
    """The SHA-256 of the certificate a STARTTLS client is shown."""
    c = smtplib.SMTP("127.0.0.1", port, local_hostname=HELO, timeout=T)
    try:
        c.starttls(context=ctx())
        return hashlib.sha256(c.sock.getpeercert(True)).hexdigest()
    finally:
        c.quit()


def test_renewal():
    d = tempfile.mkdtemp(prefix="renew-", dir=WORK)
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    shutil.copy(PKI_.srv, cert)
    shutil.copy(PKI_.keyof(PKI_.srv), key)
    srv = netlib.Server(["--tls-cert", cert, "--tls-key", key], qbase=WORK)
    try:
        fp1 = peer_fp(srv.port)
        # certbot and acme.sh replace the files: new ones renamed over
        for src, dst in ((PKI_.srv2, cert), (PKI_.keyof(PKI_.srv2), key)):
            shutil.copy(src, dst + ".new")
            os.rename(dst + ".new", dst)
        fp2 = peer_fp(srv.port)
        check("tls-renewal-first-cert", fp1 == fingerprint(PKI_.srv),
              "%s vs %s" % (fp1, fingerprint(PKI_.srv)))
        check("tls-renewal-next-connection-new-cert",
              fp2 == fingerprint(PKI_.srv2) and srv.p.poll() is None,
              "%s vs %s (server %r)" % (fp2, fingerprint(PKI_.srv2),
                                        srv.p.poll()))
    finally:
        srv.cleanup()


# --- real clients ------------------------------------------------------------

def s_client_names(text):
    v = re.search(r"Protocol version: (\S+)", text)
    c = re.search(r"Ciphersuite: (\S+)", text)
    return (v.group(1) if v else None, c.group(1) if c else None)


def openssl_case(name, implicit):
    srv = server(["--tls-implicit"] if implicit else [])
    try:
        cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % srv.port,
               "-CAfile", PKI_.ca, "-verify_return_error",
               "-verify_hostname", lib.HOST, "-servername", lib.HOST,
               "-nocommands", "-ign_eof", "-brief"]
        if not implicit:
            cmd += ["-starttls", "smtp", "-name", HELO]
        script = (b"EHLO " + HELO.encode() + b"\r\nMAIL FROM:<s@example.org>"
                  b"\r\nRCPT TO:<r@example.com>\r\nDATA\r\n" + stuff(MSG) +
                  b"QUIT\r\n")
        rc, out, err = run(cmd, script)
        text = (out + err).decode("utf-8", "replace")
        status, log = session_end(srv, 1)
        ver, cipher = s_client_names(text)
        fields, rec, rest = one_message(srv.q)
        check("tls-openssl-%s-verified" % name, "Verification: OK" in text
              and ver is not None, text[-1500:])
        check("tls-openssl-%s-queued" % name, OK_RE.search(out) is not None
              and rest == MSG and status == 0, "rc %r status %r %s\n%s" % (
                  rc, status, text[-1500:], log))
        check("tls-openssl-%s-envelope" % name, fields is not None and
              envelope_tls(fields, ver, cipher) and
              received_tls(rec, "ESMTPS", ver, cipher), "%r %r (client: "
              "%s %s)" % (fields, rec, ver, cipher))
        check("tls-openssl-%s-clean-close" % name, rc == 0,
              "s_client exit %r (a close without close_notify?): %s" % (
                  rc, text[-400:]))
        # the same client, trusting another CA, must refuse the server
        bad = [x if x != PKI_.ca else PKI_.cca for x in cmd]
        rc, out, err = run(bad, b"QUIT\r\n")
        check("tls-openssl-%s-wrong-ca-refused" % name, rc not in (0,
                                                                  "timeout")
              and len(srv.q.files("new")) == 1,
              "rc %r %r" % (rc, (out + err)[-400:]))
    finally:
        srv.cleanup()


def test_openssl_starttls():
    openssl_case("starttls", False)


def test_openssl_implicit():
    openssl_case("implicit", True)


def swaks_sent(out):
    """The DATA lines swaks says it sent over TLS, as CRLF bytes."""
    lines = [x.rstrip("\r") for x in out.decode("utf-8", "replace")
             .split("\n")]
    try:
        i = next(k for k, x in enumerate(lines) if x.startswith("<~  354"))
    except StopIteration:
        return None
    data = []
    for x in lines[i + 1:]:
        if not x.startswith(" ~> "):
            continue
        x = x[4:]
        if x == ".":
            return "".join(y + "\r\n" for y in data).encode()
        data.append(x[1:] if x.startswith(".") else x)
    return None


def swaks_case(name, flag, args):
    srv = server(args)
    try:
        body = os.path.join(WORK, "swaks-%s.txt" % name)
        with open(body, "wb") as f:
            f.write(b".dotted line\r\n..two\r\nhello\r\n")
        base = ["swaks", "--server", "127.0.0.1:%d" % srv.port, flag,
                "--tls-verify", "--helo", HELO, "--to", "u@example.com",
                "--from", "s@example.org", "--header", "Subject: swaks",
                "--body", body]
        rc, out, err = run(base + ["--tls-ca-path", PKI_.ca])
        out += err
        status, log = session_end(srv, 1)
        m = re.search(rb"<~  250 2\.0\.0 OK queued as ([A-Za-z0-9.]+)", out)
        t = re.search(rb"=== TLS started with cipher (\S+?):(\S+?):(\d+)",
                      out)
        fields, rec, rest = one_message(srv.q)
        ok = (rc == 0 and m is not None and t is not None and
              fields is not None and dict(fields).get("Id") ==
              m.group(1).decode() and status == 0)
        check("tls-swaks-%s-queued" % name, ok, "rc %r status %r %r %s" % (
            rc, status, out[-1500:], log))
        if ok:
            ver, cipher, bits = (t.group(1).decode(), t.group(2).decode(),
                                 int(t.group(3)))
            check("tls-swaks-%s-bytes" % name, rest == swaks_sent(out),
                  "stored %r sent %r" % (rest, swaks_sent(out)))
            check("tls-swaks-%s-envelope" % name,
                  envelope_tls(fields, ver, cipher) and
                  received_tls(rec, "ESMTPS", ver, cipher, bits),
                  "%r %r" % (fields, rec))
        rc, out, err = run(base + ["--tls-ca-path", PKI_.cca])
        check("tls-swaks-%s-wrong-ca-refused" % name, rc != 0 and
              len(srv.q.files("new")) == (1 if ok else 0),
              "rc %r %r" % (rc, (out + err)[-400:]))
    finally:
        srv.cleanup()


def test_swaks():
    swaks_case("starttls", "--tls", [])
    swaks_case("implicit", "--tlsc", ["--tls-implicit"])


def smtplib_case(name, implicit):
    srv = server(["--tls-implicit"] if implicit else [])
    try:
        if implicit:
            c = smtplib.SMTP_SSL("127.0.0.1", srv.port, local_hostname=HELO,
                                 timeout=T, context=ctx())
        else:
            c = smtplib.SMTP("127.0.0.1", srv.port, local_hostname=HELO,
                             timeout=T)
            c.ehlo()
            plain_kw = set(c.esmtp_features)
            c.starttls(context=ctx())
        c.ehlo()
        kw = set(c.esmtp_features)
        ver, cipher, bits = client_view(c.sock)
        refused = c.sendmail("s@example.org", ["r@example.com"], MSG)
        c.quit()
        status, log = session_end(srv, 1)
        fields, rec, rest = one_message(srv.q)
        check("tls-smtplib-%s-queued" % name, refused == {} and
              rest == MSG and status == 0, "%r %r status %r %s" % (
                  refused, rest, status, log))
        check("tls-smtplib-%s-envelope" % name, fields is not None and
              envelope_tls(fields, ver, cipher) and
              dict(fields).get("Helo") == HELO and
              received_tls(rec, "ESMTPS", ver, cipher, bits),
              "%r %r (client %s %s %d)" % (fields, rec, ver, cipher, bits))
        check("tls-smtplib-%s-ehlo" % name, "requiretls" in kw and
              "starttls" not in kw and (implicit or (
                  "starttls" in plain_kw and "requiretls" not in plain_kw)),
              "%r" % kw)
        # certificate verification is really on: another CA fails
        c = None
        try:
            if implicit:
                c = smtplib.SMTP_SSL("127.0.0.1", srv.port, timeout=T,
                                     context=ctx(PKI_.cca))
            else:
                c = smtplib.SMTP("127.0.0.1", srv.port, timeout=T)
                c.starttls(context=ctx(PKI_.cca))
            err = None
        except ssl.SSLCertVerificationError as e:
            err = e
        finally:
            if c is not None:
                c.close()
        check("tls-smtplib-%s-wrong-ca-refused" % name, err is not None,
              "the client accepted the server")
    finally:
        srv.cleanup()


def test_smtplib():
    smtplib_case("starttls", False)
    smtplib_case("implicit", True)


MSMTP_CONF = """defaults
account default
host 127.0.0.1
port %d
tls on
tls_starttls %s
tls_trust_file %s
from s@example.org
domain %s
auth off
"""


def msmtp_case(name, implicit):
    srv = server(["--tls-implicit"] if implicit else [])
    try:
        conf = os.path.join(WORK, "msmtp-%s.conf" % name)
        with open(conf, "w") as f:
            f.write(MSMTP_CONF % (srv.port, "off" if implicit else "on",
                                  PKI_.ca, HELO))
        os.chmod(conf, 0o600)
        rc, out, err = run(["msmtp", "-C", conf, "-v", "r@example.com"],
                           MSG.replace(b"\r\n", b"\n"))
        status, log = session_end(srv, 1)
        fields, rec, rest = one_message(srv.q)
        d = dict(fields or [])
        check("tls-msmtp-%s" % name, rc == 0 and rest == MSG and status == 0
              and d.get("TLS", "").startswith("TLSv1.3 ") and
              d.get("Protocol") == "ESMTPS" and d.get("Helo") == HELO,
              "rc %r status %r %r %r\n%s\n%s" % (
                  rc, status, fields, rest, (out + err)[-1500:], log))
    finally:
        srv.cleanup()


def test_msmtp():
    msmtp_case("starttls", False)
    msmtp_case("implicit", True)


def curl_case(name, implicit):
    srv = server(["--tls-implicit"] if implicit else [])
    try:
        msg = os.path.join(WORK, "curl-%s.eml" % name)
        with open(msg, "wb") as f:
            f.write(MSG)
        url = "%s://127.0.0.1:%d/%s" % ("smtps" if implicit else "smtp",
                                        srv.port, HELO)
        base = ["curl", "-sS", "--mail-from", "s@example.org",
                "--mail-rcpt", "r@example.com", "-T", msg, url] + \
            ([] if implicit else ["--ssl-reqd"])
        rc, out, err = run(base + ["--cacert", PKI_.ca])
        status, log = session_end(srv, 1)
        fields, rec, rest = one_message(srv.q)
        d = dict(fields or [])
        check("tls-curl-%s" % name, rc == 0 and rest == MSG and status == 0
              and d.get("TLS", "").startswith("TLSv1.3 ") and
              d.get("Helo") == HELO, "rc %r status %r %r %r\n%s\n%s" % (
                  rc, status, fields, rest, (out + err)[-1000:], log))
        rc, out, err = run(base + ["--cacert", PKI_.cca])
        check("tls-curl-%s-wrong-ca-refused" % name, rc == 60 and
              len(srv.q.files("new")) <= 1, "rc %r %r" % (rc, err[-300:]))
    finally:
        srv.cleanup()


def test_curl():
    curl_case("starttls", False)
    curl_case("implicit", True)


# --- the runner --------------------------------------------------------------

# (function, needs TLS in the build, what else it needs)
TESTS = [
    (test_version, None, ()),
    (test_no_cert_502, None, ()),
    (test_notls_build, False, ()),
    (test_usage, True, ("pki",)),
    (test_plain_maps_no_libtls, True, ("pki",)),
    (test_state_reset, True, ("pki",)),
    (test_require_tls, True, ("pki",)),
    (test_implicit_session, True, ("pki",)),
    (test_injection_noop, True, ("pki",)),
    (test_injection_mail, True, ("pki",)),
    (test_pipelined_ehlo_starttls, True, ("pki",)),
    (test_client_cert, True, ("pki",)),
    (test_no_client_cert, True, ("pki",)),
    (test_rogue_client_cert, True, ("pki",)),
    (test_handshake_failures, True, ("pki",)),
    (test_stall_starttls, True, ("pki",)),
    (test_stall_implicit, True, ("pki",)),
    (test_stall_mid_hello, True, ("pki",)),
    (test_trickle_hello, True, ("pki",)),
    (test_tls11_starttls, True, ("pki", "tcpserver")),
    (test_tls10_starttls, True, ("pki", "tcpserver")),
    (test_tls11_implicit, True, ("pki", "tcpserver")),
    (test_unreadable, True, ("pki",)),
    (test_mismatched_key, True, ("pki",)),
    (test_relay_by_cert, True, ("pki",)),
    (test_implicit_eager_client, True, ("pki",)),
    (test_key_as_root_then_user, True, ("pki",)),
    (test_defaults_from_env, True, ("pki",)),
    (test_chain, True, ("pki",)),
    (test_protocols_ciphers, True, ("pki",)),
    (test_big_and_pipelined, True, ("pki",)),
    (test_idle_timeout, True, ("pki",)),
    (test_session_limit, True, ("pki",)),
    (test_renewal, True, ("pki", "tcpserver")),
    (test_openssl_starttls, True, ("pki", "tcpserver")),
    (test_openssl_implicit, True, ("pki", "tcpserver")),
    (test_swaks, True, ("pki", "tcpserver", "swaks")),
    (test_smtplib, True, ("pki", "tcpserver")),
    (test_msmtp, True, ("pki", "tcpserver", "msmtp")),
    (test_curl, True, ("pki", "tcpserver", "curl")),
]


def main():
    global PKI_
    missing = {}
    if TLS_BUILT:
        if shutil.which("openssl") is None:
            check("tls-openssl-installed", False, "openssl not found "
                  "(tests/deps.sh installs it)")
            missing["pki"] = "openssl is not installed"
        else:
            try:
                PKI_ = tlslib.PKI(os.path.join(WORK, "pki")).extras()
            except Exception as e:
                check("tls-pki", False, "cannot make the certificates: %s"
                      % e)
                missing["pki"] = "no certificates"
        if shutil.which("tcpserver") is None:
            check("tls-tcpserver-installed", False, "tcpserver not found "
                  "(package ucspi-tcp-ipv6; tests/deps.sh installs it)")
            missing["tcpserver"] = "tcpserver is not installed"
        for name, why in (("swaks", tlslib.swaks_tls()),
                          ("msmtp", tlslib.tool("msmtp")),
                          ("curl", tlslib.tool("curl"))):
            if why:
                missing[name] = why
    todo = []
    for fn, needs_tls, needs in TESTS:
        name = lib.case_name(fn, "tls")
        if needs_tls is True and not TLS_BUILT:
            skip(name, "needs TLS; this smtpd is built without it "
                 "(--version: tls: no)")
        elif needs_tls is False and TLS_BUILT:
            skip(name, "for a build without TLS (make WITH_TLS=0)")
        elif [n for n in needs if n in missing]:
            skip(name, "; ".join(missing[n] for n in needs if n in missing))
        else:
            todo.append(fn)
    try:
        lib.run_threads(todo, "tls")
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    lib.finish()


if __name__ == "__main__":
    main()
