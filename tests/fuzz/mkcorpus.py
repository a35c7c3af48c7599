#!/usr/bin/env python3
"""tests/fuzz/mkcorpus.py - seed corpora for the fuzz targets.

Turns every tests/transcripts/*.t into inputs:
  corpus/session/<name>      selector octet + the client bytes
  corpus/addr/<name>-N       selector octet + a MAIL FROM:/RCPT TO: argument
  corpus/spoolfmt/<name>     cut octet + a spool file smtpd wrote for it
  corpus/spoolfmt/tls-*      cut octet + a hand-written file with the TLS
                             lines (TLS, TLS-Client-Cert, Require-TLS)
  corpus/spoolfmt/auth-*     the same with the AUTH lines (Auth,
                             Auth-Param)
  corpus/starttls/<name>-tls two selector octets + EHLO, STARTTLS, SEP +
                             the client bytes (-implicit: them under
                             --tls-implicit; -lines: a TLS record a line)
and, written here, corpus/starttls/<case>: the STARTTLS injection cases,
refusals, REQUIRETLS, client certificates, KeyUpdate, renegotiation,
records of every size, and raw records (ClientHellos that Python's ssl
module makes, cut, garbled, alerts, SSLv2, HTTP); corpus/auth/<case>:
AUTH PLAIN and LOGIN sessions in fuzz_auth.c's operations (right and
wrong passwords, three failures, "*", spoiled base64, odd names, lines
near 12288 octets, every backend, Dovecot lines good and broken);
corpus/proxy/<case>: PROXY headers, v1 and v2, good and bad, whole, cut
and with the client's octets after them, in one piece or several, and
"NETWORK\nADDRESS" pairs for the netaddr half of fuzz_proxy.c.
corpus/session/bdat-<case>: BDAT and BODY=BINARYMIME sessions (chunks
of every size, refused chunks full of commands, bad sizes, smuggling
sequences in chunks), each also -tight and -pieces.
The selector octets are the ones fuzz_session.c, fuzz_addr.c and
fuzz_starttls.c read:
session bit 1 = --lf, bit 0 = tight limits, bit 2 = untrusted client,
bit 3 = read in small pieces;
addr 6 = whole MAIL argument, 7 = whole RCPT argument, 0 + flags = path;
starttls octet 0: bit 0 = real TLS (else raw), 1 = client TLS 1.2 only,
2 = close_notify, 3 = untrusted client, bits 4-5 = smtpd variant (1
--require-tls, 2 --tls-client-ca, 3 both and tight limits), 6 = client
certificate, 7 = --tls-implicit; octet 1: bits 0-1 = records (0 a
part, 1 a line, 2 pieces of 1-13, 3 one octet), bits 2-3 = KeyUpdate
(1 not requested, 2 requested), bit 4 = TLS 1.2 renegotiation.
auth: fuzz_auth.c's header (selector octets, then operations).
proxy: octet 0 bits 0-2 = how many piece-length octets follow, bit 3 =
one-octet pieces, bit 7 = netaddr instead of a header.
Run from anywhere; rewrites the six directories.
"""
import glob
import hashlib
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import lib  # noqa: E402


def parse(path):
    """A transcript's client bytes, @args and @env (the format of
    tests/t_transcripts.py, which cannot be imported: it runs on load)."""
    t = {"args": [], "env": {}, "input": b""}
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if line.startswith("C: "):
                t["input"] += lib.decode_escapes(line[3:]) + b"\r\n"
            elif line == "C:":
                t["input"] += b"\r\n"
            elif line.startswith("C~ "):
                t["input"] += lib.decode_escapes(line[3:])
            elif line.startswith("@args "):
                t["args"] += line[6:].split()
            elif line.startswith("@env "):
                k, _, v = line[5:].partition("=")
                t["env"][k] = v
    return t


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def session_selector(t):
    sel = 2 if "--lf" in t["args"] else 0
    ip = t["env"].get("TCPREMOTEIP") or t["env"].get("REMOTE_ADDR") or ""
    if ip and not ip.startswith("127.") and "RELAYCLIENT" not in t["env"]:
        sel |= 4
    return sel


def addr_inputs(data):
    """The MAIL/RCPT arguments in a client byte stream."""
    out = []
    for line in data.replace(b"\r\n", b"\n").split(b"\n"):
        up = line.upper()
        for kw, sel in ((b"MAIL FROM:", 6), (b"RCPT TO:", 7)):
            if up.startswith(kw):
                arg = line[len(kw):].lstrip(b" ")
                out.append(bytes([sel]) + arg)
                path = arg.split(b" ", 1)[0]
                out.append(bytes([0 | (1 << 3 if sel == 6 else 2 << 3)])
                           + path)
                if b" " in arg:
                    out.append(bytes([2 if sel == 6 else 3])
                               + arg.split(b" ", 1)[1])
    return out


def spool_files(t):
    """Run the real smtpd on the transcript; its queued files."""
    if not os.access(lib.SMTPD, os.X_OK):
        return []
    q = lib.Queue()
    try:
        lib.run_smtpd(t["input"], q, t["args"], t["env"], timeout=30)
        return q.messages()
    except Exception:
        return []
    finally:
        q.cleanup()


TLS_SEEDS = {
    # the TLS lines of issue 16, written by hand: smtpd on pipes has none
    "tls-requiretls": (b"TLS: TLSv1.3 TLS_AES_256_GCM_SHA384\n"
                       b"TLS-Client-Cert: SHA256:" + b"0123456789abcdef" * 4 +
                       b"\n", b"ESMTPS", b"Envid: e+2B1\nRequire-TLS: yes\n"),
    "tls-utf8": (b"TLS: TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384\n", b"UTF8SMTPS",
                 b"SMTPUTF8: yes\n"),
    "tls-auth": (b"TLS: TLSv1.3 TLS_CHACHA20_POLY1305_SHA256\n", b"ESMTPSA",
                 b"Body: 8BITMIME\nRequire-TLS: yes\n"),
}


AUTH_SEEDS = {
    # the AUTH lines of issue 17, by hand too (Auth after the TLS lines)
    "auth-mailbox": (b"TLS: TLSv1.3 TLS_AES_256_GCM_SHA384\nAuth: alice\n",
                     b"ESMTPSA", b"Require-TLS: yes\nAuth-Param: alice+2Bx@"
                     b"example.org\n"),
    "auth-null": (b"Auth: j\xc3\xbcrgen@example.org\n", b"UTF8SMTPA",
                  b"SMTPUTF8: yes\nAuth-Param: <>\n"),
    "auth-none": (b"", b"ESMTP", b"Auth-Param: <>\n"),
}


def tls_seeds():
    """Spool files with the TLS and the AUTH lines, where smtpd puts
    them."""
    seeds = dict(TLS_SEEDS)
    seeds.update(AUTH_SEEDS)
    for name, (session, proto, params) in sorted(seeds.items()):
        blob = (b"Version: 1\nId: 1795898970.637921.0004520.0018235a1e7e4739"
                b".mx\nArrival: 1795898970\nClient-Address: 192.0.2.7\n"
                b"Client-Port: 40312\nHelo: client.example.org\n" + session +
                b"Protocol: " + proto + b"\nTrusted: no\n"
                b"Sender: <alice@example.org>\nSize: 120\n" + params +
                b"Recipient: <bob@example.com>\nNotify: FAILURE\n\n"
                b"Subject: hi\r\n\r\nHello.\r\n")
        put("spoolfmt", name, bytes([len(blob) % 256]) + blob)
    return len(seeds)


# fuzz_starttls: the separator between the parts, and selector bits
SEP = b"==TLS=="
REAL, TLS12, NOTIFY, UNTRUSTED, CERT, IMPLICIT = 1, 2, 4, 8, 64, 128
REQUIRE, CLIENT_CA, TIGHT = 1 << 4, 2 << 4, 3 << 4
LINES, PIECES, OCTETS, KEYUPDATE, KEYUPDATE_REQ, RENEG = 1, 2, 3, 4, 8, 16


def two(a, b=0):
    """fuzz_starttls's two selector octets"""
    return bytes([a, b])
EHLO = b"EHLO client.example\r\n"	# under TLS; before it another name
PLAIN_EHLO = b"EHLO plain.example\r\n"
MAIL = (b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n"
        b"DATA\r\nSubject: t\r\n\r\nbody\r\n.\r\n")


def client_hello(lo=None, hi=None, seclevel0=False):
    """The first flight of a Python (OpenSSL) client, or b"" if this
    OpenSSL will not make it (TLS 1.0 is often compiled out)."""
    warnings.simplefilter("ignore", DeprecationWarning)	# TLS 1.0
    try:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if seclevel0:
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        if lo is not None:
            ctx.minimum_version = lo
        if hi is not None:
            ctx.maximum_version = hi
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ctx.wrap_bio(inc, out, server_hostname="mx.fuzz.example")
        try:
            obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        return out.read()
    except (ssl.SSLError, ValueError):
        return b""


def starttls_cases():
    """Hand-made inputs for fuzz_starttls: name -> bytes."""
    start = PLAIN_EHLO + b"STARTTLS\r\n"
    c = {
        # RFC 3207 and the CVE-2011-0411 class: what follows STARTTLS in
        # the same write is dropped, never answered under TLS
        "inject-noop": two(REAL) + start + b"NOOP\r\n" + SEP + EHLO
        + b"QUIT\r\n",
        "inject-mail": two(REAL | UNTRUSTED) + start
        + b"MAIL FROM:<evil@example.net>\r\nRCPT TO:<b@example.com>\r\n"
        + SEP + EHLO + b"RCPT TO:<c@example.com>\r\nDATA\r\n"
        b"x\r\n.\r\nQUIT\r\n",
        "inject-tls12": two(REAL | TLS12 | NOTIFY) + start
        + b"RSET\r\nNOOP\r\n" + SEP + b"NOOP\r\n" + EHLO + MAIL,
        "inject-raw": two(0) + start + b"NOOP\r\n" + SEP
        + b"NOOP\r\n",
        # after the handshake all is forgotten: MAIL before EHLO is 503
        "forget-helo": two(REAL) + start + SEP + MAIL + EHLO + MAIL,
        "forget-mail": two(REAL | NOTIFY) + PLAIN_EHLO
        + b"MAIL FROM:<a@example.com>\r\nRSET\r\nSTARTTLS\r\n" + SEP
        + b"RCPT TO:<b@example.com>\r\n" + EHLO + MAIL + b"QUIT\r\n",
        # refusals: an argument, inside a transaction, twice, no EHLO
        "refuse-arg": two(REAL) + PLAIN_EHLO + b"STARTTLS now\r\n"
        + b"STARTTLS\r\n" + SEP + EHLO + b"STARTTLS\r\nQUIT\r\n",
        "refuse-in-mail": two(REAL) + PLAIN_EHLO
        + b"MAIL FROM:<a@example.com>\r\nSTARTTLS\r\nRSET\r\n"
        b"STARTTLS\r\n" + SEP + EHLO + MAIL,
        "no-ehlo": two(REAL | TLS12) + b"STARTTLS\r\n" + SEP
        + b"HELO client.example\r\n" + MAIL + b"QUIT\r\n",
        "plain-then-tls": two(REAL | NOTIFY) + PLAIN_EHLO + MAIL
        + b"STARTTLS\r\n" + SEP + EHLO + MAIL + b"QUIT\r\n",
        # REQUIRETLS (RFC 8689) only under TLS; --require-tls
        "requiretls": two(REAL) + PLAIN_EHLO
        + b"MAIL FROM:<a@example.com> REQUIRETLS\r\nRSET\r\nSTARTTLS\r\n"
        + SEP + EHLO + b"MAIL FROM:<a@example.com> REQUIRETLS\r\n"
        b"RCPT TO:<b@example.com>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n",
        "require-tls": two(REAL | REQUIRE | UNTRUSTED) + PLAIN_EHLO + MAIL
        + b"STARTTLS\r\n" + SEP + EHLO + MAIL,
        "client-cert": two(REAL | CLIENT_CA | CERT) + start + SEP + EHLO
        + MAIL + b"QUIT\r\n",
        "client-cert-tls12": two(REAL | TLS12 | CLIENT_CA | CERT | NOTIFY)
        + start + SEP + EHLO + MAIL,
        "ca-no-cert": two(REAL | CLIENT_CA) + start + SEP + EHLO + MAIL,
        "tight": two(REAL | TIGHT | CERT) + start + SEP + EHLO
        + MAIL * 4 + b"NOOP\r\n" * 8,
        "implicit": two(REAL | IMPLICIT) + EHLO + b"STARTTLS\r\n"
        + SEP + MAIL + b"QUIT\r\n",
        "implicit-tls12-cert": two(REAL | IMPLICIT | TLS12 | CLIENT_CA
                                      | CERT) + EHLO + MAIL + SEP
        + b"QUIT\r\n",
        "implicit-require": two(REAL | IMPLICIT | REQUIRE | NOTIFY) + EHLO
        + MAIL,
        # under TLS: records of a line, of 1-13 octets, of one; KeyUpdate
        # (TLS 1.3) and renegotiation (TLS 1.2) before each part
        "records-lines": two(REAL, LINES) + start + SEP + EHLO + MAIL,
        "records-pieces": two(REAL | TLS12, PIECES) + start + SEP + EHLO
        + MAIL + b"QUIT\r\n",
        "records-octets": two(REAL | NOTIFY, OCTETS) + start + SEP + EHLO
        + MAIL,
        "keyupdate": two(REAL, KEYUPDATE) + start + SEP + EHLO + MAIL
        + b"QUIT\r\n",
        "keyupdate-requested": two(REAL | NOTIFY, KEYUPDATE_REQ | LINES)
        + start + SEP + EHLO + MAIL,
        "keyupdate-implicit": two(REAL | IMPLICIT, KEYUPDATE_REQ) + EHLO
        + b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n"
        b"DATA\r\nSubject: t\r\n\r\n" + SEP + b"body\r\n.\r\nQUIT\r\n",
        "renegotiate": two(REAL | TLS12, RENEG) + start + SEP + EHLO + MAIL
        + b"QUIT\r\n",
        "data-unended": two(REAL) + start + SEP + EHLO
        + b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n"
        b"DATA\r\npart one\r\n",
    }
    # raw: records after the 220 (or from the first octet, implicit)
    hellos = {
        "tls13": client_hello(),
        "tls12": client_hello(hi=ssl.TLSVersion.TLSv1_2),
        "tls10": client_hello(lo=ssl.TLSVersion.TLSv1,
                              hi=ssl.TLSVersion.TLSv1, seclevel0=True),
    }
    raws = {
        "alert": b"\x15\x03\x03\x00\x02\x02\x28",
        "ccs": b"\x14\x03\x03\x00\x01\x01",
        "zero-len": b"\x16\x03\x01\x00\x00",
        "huge-len": b"\x16\x03\x01\xff\xff" + b"\x01" * 64,
        "appdata": b"\x17\x03\x03\x00\x10" + b"\x00" * 16,
        "sslv2": bytes.fromhex("802e0103010015000000100000050000040100800"
                               "30080") + b"\x00" * 16,
        "http": b"GET / HTTP/1.0\r\n\r\n",
        "smtp": b"EHLO client.example\r\nQUIT\r\n",
    }
    for name, h in hellos.items():
        if not h:
            continue
        raws["hello-" + name] = h
        raws["hello-" + name + "-cut"] = h[:len(h) // 2]
        raws["hello-" + name + "-twice"] = h + h
        bad = bytearray(h)
        bad[8] ^= 0xff		# the ClientHello's own length
        raws["hello-" + name + "-badlen"] = bytes(bad)
        raws["hello-" + name + "-smtp"] = h + b"NOOP\r\n"
    for name, r in raws.items():
        c["raw-" + name] = two(0) + start + SEP + r
        c["rawimplicit-" + name] = two(IMPLICIT) + r
    return c


# fuzz_auth: octet 0 (backend in bits 0-2, then untrusted, --require-auth,
# --auth-in-received, pieces, --lf), octet 1 (the checker's script), the
# Dovecot lines (raw mode), then operations: kind | variant << 4
A_EMU, A_SCRIPT, A_REAL, A_DOVECOT, A_DOVECOT_RAW, A_NOPLAIN = 0, 2, 3, 4, 5, 7
A_UNTRUSTED, A_REQUIRE, A_RECEIVED, A_PIECES, A_LF = 8, 16, 32, 64, 128
(O_RAW, O_LINE, O_EHLO, O_PLAIN_IR, O_PLAIN, O_LOGIN, O_LOGIN_IR, O_CANCEL,
 O_MAIL, O_MISC, O_LONG) = range(11)
# the users and passwords of make_creds (c0 bits 0-2, 3-4)
U_ALICE, U_BOB, U_UTF8, U_BAD, U_RAW, U_ALICE_UPPER = 0, 3, 4, 5, 6, 7
P_RIGHT, P_SUFFIX, P_PREFIX = 0, 2, 3
Z_NONE, Z_USER, Z_OTHER, Z_ONE_NUL = 0, 1, 2, 3
MAIL_LOCAL, MAIL_RELAY = 0, 1
M_NONE, M_NULL, M_MAILBOX, M_RAW = 0, 2, 4, 6


def op(kind, variant=0):
    return bytes([kind | variant << 4])


def creds(user=U_ALICE, pw=P_RIGHT, authzid=Z_NONE, c1=0, raw=b"",
          spoil=None):
    """make_creds's octets: c0, c1, the raw user and password octets it
    takes (c1's nibbles say how many), the spoiling octet"""
    c0 = user | pw << 3 | authzid << 5 | (0x80 if spoil is not None else 0)
    return bytes([c0, c1]) + raw + (bytes([spoil]) if spoil is not None
                                    else b"")


def auth_head(sel, script=0, hs=None, ans=None):
    out = bytes([sel, script])
    if sel & 7 in (5, 6):
        for part in (hs or b"", ans or b""):
            out += bytes([len(part) & 255, len(part) >> 8]) + part
    return out


def auth_cases():
    """Hand-made inputs for fuzz_auth: name -> bytes."""
    ehlo, quit_ = op(O_EHLO), op(O_MISC, 2)
    ok = op(O_PLAIN_IR) + creds()
    bad = op(O_PLAIN_IR) + creds(U_BOB)
    mail = op(O_MAIL, MAIL_LOCAL | M_NONE)
    c = {
        "plain-ir": auth_head(A_EMU) + ehlo + ok + mail + quit_,
        "plain": auth_head(A_EMU | A_RECEIVED) + ehlo + op(O_PLAIN)
        + creds() + op(O_MAIL, M_MAILBOX) + quit_,
        "plain-empty-user": auth_head(A_EMU) + ehlo + op(O_PLAIN, 2)
        + creds(U_BAD, c1=0) + quit_,
        "login": auth_head(A_EMU) + ehlo + op(O_LOGIN) + creds()
        + op(O_MAIL, M_NULL) + quit_,
        "login-ir": auth_head(A_EMU | A_UNTRUSTED) + ehlo + op(O_LOGIN_IR)
        + creds() + op(O_MAIL, MAIL_RELAY | M_MAILBOX) + quit_,
        "lower-case": auth_head(A_EMU) + ehlo + op(O_PLAIN_IR, 2) + creds()
        + op(O_LOGIN, 2) + creds() + quit_,
        "three-failures": auth_head(A_EMU) + ehlo + bad * 3 + ok + quit_,
        "failures-then-ok": auth_head(A_EMU | A_RECEIVED) + ehlo + bad * 2
        + ok + op(O_MAIL, M_MAILBOX) + ok + quit_,
        "authzid-user": auth_head(A_EMU) + ehlo + op(O_PLAIN_IR)
        + creds(authzid=Z_USER) + mail,
        "authzid-other": auth_head(A_EMU) + ehlo + op(O_PLAIN_IR)
        + creds(authzid=Z_OTHER) + ok + mail,
        "one-nul": auth_head(A_EMU) + ehlo + op(O_PLAIN_IR)
        + creds(authzid=Z_ONE_NUL) + op(O_PLAIN) + creds(authzid=Z_ONE_NUL),
        "wrong-password": auth_head(A_EMU) + ehlo + op(O_PLAIN_IR)
        + creds(pw=P_SUFFIX, c1=0x20, raw=b"xyz") + op(O_LOGIN)
        + creds(pw=P_PREFIX, c1=0x00, raw=b"\x00") + ok,
        "raw-user": auth_head(A_EMU) + ehlo + op(O_LOGIN)
        + creds(U_RAW, c1=3, raw=b"\xf0\x9f\x98") + op(O_PLAIN_IR)
        + creds(U_RAW, c1=4, raw=b"r\xc3\xa9mi") + ok,
        "utf8-user": auth_head(A_EMU) + ehlo + op(O_PLAIN_IR)
        + creds(U_UTF8) + op(O_PLAIN_IR) + creds(U_ALICE_UPPER) + ok,
        "before-ehlo": auth_head(A_EMU) + ok + ehlo + ok + quit_,
        "in-transaction": auth_head(A_EMU) + ehlo
        + op(O_LINE) + bytes([25]) + b"MAIL FROM:<a@example.org>" + ok
        + op(O_MISC, 0) + ok + mail,
        "twice": auth_head(A_EMU) + ehlo + ok + ok + op(O_LOGIN) + creds()
        + ehlo + mail,
        "require-auth": auth_head(A_EMU | A_REQUIRE | A_UNTRUSTED) + ehlo
        + op(O_MAIL, MAIL_RELAY) + ok + op(O_MAIL, MAIL_RELAY | M_RAW)
        + bytes([9]) + b"a+2Bb@x.y" + quit_,
        "relay-untrusted": auth_head(A_EMU | A_UNTRUSTED) + ehlo
        + op(O_MAIL, MAIL_RELAY | M_MAILBOX) + ok
        + op(O_MAIL, MAIL_RELAY | M_MAILBOX),
        "no-plaintext": auth_head(A_NOPLAIN) + ehlo + ok + op(O_LOGIN)
        + creds() + mail + quit_,
        "helo": auth_head(A_EMU) + op(O_EHLO, 1) + ok + mail
        + op(O_EHLO) + quit_,
        "lf": auth_head(A_EMU | A_LF) + op(O_EHLO, 15) + op(O_PLAIN_IR, 15)
        + creds() + op(O_LOGIN, 15) + creds() + op(O_MAIL, 15),
        "bare-lf": auth_head(A_EMU) + ehlo + op(O_PLAIN_IR, 15) + creds()
        + op(O_PLAIN, 15) + creds() + op(O_LOGIN, 15) + creds() + ok,
        "pieces": auth_head(A_EMU | A_PIECES) + ehlo + op(O_LOGIN)
        + creds() + op(O_MAIL, M_MAILBOX) + quit_,
        "scripted-111": auth_head(A_SCRIPT, 0b01010101) + ehlo + ok * 4
        + mail,
        "scripted-signal": auth_head(A_SCRIPT, 0b00101010) + ehlo + ok * 4,
        "scripted-timeout": auth_head(A_SCRIPT, 0b00111111) + ehlo + bad
        + ok * 3,
        "real-ok": auth_head(A_REAL) + ehlo + op(O_LOGIN) + creds() + mail,
        "real-bad": auth_head(A_REAL) + ehlo + bad + op(O_LOGIN)
        + creds(pw=P_SUFFIX, c1=0, raw=b"!") + ok,
    }
    for v in range(8):
        c["cancel-%d" % v] = (auth_head(A_EMU) + ehlo + op(O_CANCEL, v)
                              + ok)
    for v in range(16):
        c["misc-%d" % v] = auth_head(A_EMU) + ehlo + op(O_MISC, v) + ok
    for i in range(8):
        c["bad-user-%d" % i] = (auth_head(A_EMU) + ehlo + op(O_PLAIN_IR)
                                + creds(U_BAD, c1=i) + op(O_LOGIN)
                                + creds(U_BAD, c1=i))
    for k in range(4):
        for at in (0, 0x44, 0xfc):
            c["spoil-%d-%02x" % (k, at)] = (
                auth_head(A_EMU) + ehlo + op(O_PLAIN_IR)
                + creds(spoil=k | at) + op(O_LOGIN) + creds(spoil=k | at)
                + op(O_LOGIN) + creds(spoil=0x80 | k | at) + ok)
    for d in (127, 128, 129):
        c["long-ir-%d" % d] = (auth_head(A_EMU) + ehlo
                               + op(O_LONG, 0) + bytes([d]) + ok)
        c["long-response-%d" % d] = (auth_head(A_EMU) + ehlo
                                     + op(O_LONG, 1) + bytes([d])
                                     + op(O_LONG, 2) + bytes([d]) + ok)
    for d in (7, 8, 9):
        for v in (3, 4, 5, 6):
            c["field-%d-%d" % (v, d)] = (auth_head(A_EMU) + ehlo
                                         + op(O_LONG, v) + bytes([d])
                                         + creds() + ok)
    # Dovecot: the honest server with each of its answers, then raw lines
    for script in (0, 1, 2, 3, 4, 5, 6, 7, 8, 0x10, 0x20, 0xc0, 0x19, 0x48):
        c["dovecot-%02x" % script] = (auth_head(A_DOVECOT, script) + ehlo
                                      + ok + bad + op(O_LOGIN) + creds()
                                      + mail)
    good = (b"VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\t"
            b"plaintext\nSPID\t1\nCUID\t1\nCOOKIE\t" + b"ab" * 16 +
            b"\nDONE\n")
    raws = {
        "ok": (good, b"OK\t1\tuser=alice\n"),
        "ok-other-name": (good, b"OK\t1\tuser=Alice@Example.ORG\tx=y\n"),
        "ok-no-user": (good, b"OK\t1\n"),
        "ok-bad-utf8": (good, b"OK\t1\tuser=al\xc3(ce\n"),
        "ok-space": (good, b"OK\t1\tuser=al ice\n"),
        "ok-empty-user": (good, b"OK\t1\tuser=\tuser=bob\n"),
        "ok-id-2": (good, b"OK\t2\tuser=alice\n"),
        "fail": (good, b"FAIL\t1\tuser=alice\n"),
        "fail-temp": (good, b"FAIL\t1\ttemp\treason=down\n"),
        "fail-code-temp": (good, b"FAIL\t1\tuser=alice\tcode=temp_fail\n"),
        "fail-not-temp": (good, b"FAIL\t1\treason=temp\ttempx\n"),
        "cont": (good, b"CONT\t1\t\n"),
        "no-lf": (good, b"OK\t1\tuser=alice"),
        "long-answer": (good, b"OK\t1\tuser=" + b"a" * 1100 + b"\n"),
        "nul": (good, b"OK\t1\x00\tuser=bob\n"),
        "after-done": (good + b"OK\t1\tuser=early\n", b"FAIL\t1\n"),
        "no-done": (good[:-5], b"OK\t1\n"),
        "no-version": (good.replace(b"VERSION\t1", b"VERSION\t2"),
                       b"OK\t1\n"),
        "no-plain": (good.replace(b"MECH\tPLAIN\t", b"MECH\tPLAINX\t"),
                     b"OK\t1\n"),
        "crlf": (good.replace(b"\n", b"\r\n"), b"OK\t1\r\n"),
        "done-nul": (good.replace(b"DONE", b"DONE\x00junk"), b"OK\t1\n"),
        "long-line": (b"X" * 600 + b"\n" + good, b"OK\t1\n"),
        "line-511": (b"X" * 511 + b"\n" + good, b"OK\t1\n"),
        "empty": (b"", b""),
    }
    for name, (hs, ans) in raws.items():
        c["dovecot-raw-" + name] = (auth_head(A_DOVECOT_RAW, 0, hs, ans)
                                    + ehlo + ok + op(O_MAIL, M_MAILBOX)
                                    + quit_)
    return c


# fuzz_proxy: octet 0 (bits 0-2: piece-length octets that follow, bit 3:
# pieces of one octet, bit 7: netaddr), then the stream
P_ONE, P_NET = 8, 0x80
V2SIG = b"\r\n\r\n\x00\r\nQUIT\n"
EHLO_AFTER = b"EHLO client.example\r\n"
TLS_AFTER = b"\x16\x03\x01\x00\xf4\x01\x00\x00\xf0\x03\x03"


def v2(cmd, fam, body, length=None):
    """a v2 header: signature, version/command, family, length, body"""
    n = len(body) if length is None else length
    return V2SIG + bytes([cmd, fam, n >> 8, n & 255]) + body


def tlv(kind, value):
    return bytes([kind, len(value) >> 8, len(value) & 255]) + value


def proxy_cases():
    """Hand-made inputs for fuzz_proxy: name -> bytes."""
    v4 = bytes([192, 0, 2, 1, 198, 51, 100, 2, 0xdc, 0x04, 0, 25])
    v6 = (bytes.fromhex("20010db8000000000000000000000001")
          + bytes.fromhex("20010db8000000000000000000000002")
          + bytes([0xdc, 0x04, 0, 25]))
    mapped = (bytes(10) + b"\xff\xff" + bytes([192, 0, 2, 1]) + bytes(10)
              + b"\xff\xff" + bytes([198, 51, 100, 2]) + bytes([0, 1, 255,
                                                               255]))
    tlvs = (tlv(0x01, b"smtp") + tlv(0x02, b"mx.example.org")
            + tlv(0x03, b"\x12\x34\x56\x78") + tlv(0x04, b"")
            + tlv(0x05, b"\x00" * 16)
            + tlv(0x20, b"\x07\x00\x00\x00\x00" + tlv(0x21, b"TLSv1.3")
                  + tlv(0x23, b"TLS_AES_256_GCM_SHA384")))
    ff = ":".join(["ffff"] * 8).encode()
    heads = {
        # v1: good
        "v1-tcp4": b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\n",
        "v1-tcp6": b"PROXY TCP6 2001:db8::1 2001:db8::2 56324 25\r\n",
        "v1-tcp6-mapped": b"PROXY TCP6 ::ffff:192.0.2.1 ::ffff:198.51.100.2"
        b" 56324 25\r\n",
        "v1-tcp6-long": b"PROXY TCP6 2001:0db8:0000:0000:0000:0000:0000:0001"
        b" 0:0:0:0:0:0:0:2 1 65535\r\n",
        "v1-tcp6-v4-tail": b"PROXY TCP6 ::192.0.2.1 64:ff9b::198.51.100.2 "
        b"0 25\r\n",
        "v1-ports-0": b"PROXY TCP4 0.0.0.0 255.255.255.255 0 0\r\n",
        "v1-unknown": b"PROXY UNKNOWN\r\n",
        "v1-unknown-args": b"PROXY UNKNOWN " + ff + b" " + ff
        + b" 65535 65535\r\n",			# 107: the longest
        # v1: bad
        "v1-too-long": b"PROXY UNKNOWN " + ff + b" " + ff
        + b" 65535 655350\r\n",			# 108
        "v1-no-crlf": b"PROXY TCP4 " + b"1" * 120,
        "v1-cut": b"PROXY TCP4 192.0.2.1 198.5",
        "v1-cut-cr": b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r",
        "v1-cut-sig": b"PROX",
        "v1-bare-lf": b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\n",
        "v1-bare-cr": b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\rx\n",
        "v1-cr-cr-lf": b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\r\n",
        "v1-port-65536": b"PROXY TCP4 192.0.2.1 198.51.100.2 65536 25\r\n",
        "v1-port-zero-lead": b"PROXY TCP4 192.0.2.1 198.51.100.2 056324 "
        b"25\r\n",
        "v1-port-05": b"PROXY TCP4 192.0.2.1 198.51.100.2 05 25\r\n",
        "v1-port-00": b"PROXY TCP4 192.0.2.1 198.51.100.2 1 00\r\n",
        "v1-port-sign": b"PROXY TCP4 192.0.2.1 198.51.100.2 +1 25\r\n",
        "v1-addr-zero-lead": b"PROXY TCP4 192.0.2.01 198.51.100.2 56324 "
        b"25\r\n",
        "v1-addr-300": b"PROXY TCP4 192.0.2.300 198.51.100.2 1 25\r\n",
        "v1-addr-3-parts": b"PROXY TCP4 192.0.2 198.51.100.2 1 25\r\n",
        "v1-double-space": b"PROXY TCP4  192.0.2.1 198.51.100.2 56324 "
        b"25\r\n",
        "v1-trailing-space": b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 "
        b"25 \r\n",
        "v1-six-fields": b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 25 "
        b"26\r\n",
        "v1-tcp4-v6": b"PROXY TCP4 2001:db8::1 2001:db8::2 56324 25\r\n",
        "v1-tcp6-v4": b"PROXY TCP6 192.0.2.1 198.51.100.2 56324 25\r\n",
        "v1-tcp4-mapped": b"PROXY TCP4 ::ffff:192.0.2.1 198.51.100.2 1 "
        b"25\r\n",
        "v1-udp4": b"PROXY UDP4 192.0.2.1 198.51.100.2 56324 25\r\n",
        "v1-lower": b"proxy tcp4 192.0.2.1 198.51.100.2 56324 25\r\n",
        "v1-unknownx": b"PROXY UNKNOWNX\r\n",
        "v1-empty": b"PROXY \r\n",
        "v1-tab": b"PROXY TCP4\t192.0.2.1 198.51.100.2 56324 25\r\n",
        "v1-8bit": b"PROXY UNKNOWN \xc3\xa9\r\n",
        "v1-nul": b"PROXY UNKNOWN \x00\r\n",
        "v1-scope": b"PROXY TCP6 fe80::1%eth0 fe80::2 56324 25\r\n",
        # v2: good
        "v2-tcp4": v2(0x21, 0x11, v4),
        "v2-tcp4-tlv": v2(0x21, 0x11, v4 + tlvs),
        "v2-tcp6": v2(0x21, 0x21, v6),
        "v2-tcp6-tlv": v2(0x21, 0x21, v6 + tlvs),
        "v2-tcp6-mapped": v2(0x21, 0x21, mapped),
        "v2-local": v2(0x20, 0x00, b""),
        "v2-local-addrs": v2(0x20, 0x11, v4),
        "v2-local-odd-family": v2(0x20, 0x31, b"\x00" * 216),
        "v2-unspec": v2(0x21, 0x00, b""),
        "v2-unspec-tlv": v2(0x21, 0x00, tlvs),
        "v2-len-1024": v2(0x21, 0x11, v4 + tlv(0x04, b"\x00" * 1009)),
        # v2: bad
        "v2-len-1025": v2(0x21, 0x11, v4 + tlv(0x04, b"\x00" * 1010)),
        "v2-len-65535": v2(0x21, 0x11, v4, 65535),
        "v2-tcp4-short": v2(0x21, 0x11, v4[:11]),
        "v2-tcp6-short": v2(0x21, 0x21, v6[:35]),
        "v2-udp4": v2(0x21, 0x12, v4),
        "v2-udp6": v2(0x21, 0x22, v6),
        "v2-unix": v2(0x21, 0x31, b"\x00" * 216),
        "v2-family-ff": v2(0x21, 0xff, v6),
        "v2-version-1": v2(0x11, 0x11, v4),
        "v2-version-3": v2(0x31, 0x11, v4),
        "v2-command-2": v2(0x22, 0x11, v4),
        "v2-cut-body": v2(0x21, 0x21, v6)[:30],
        "v2-cut-head": v2(0x21, 0x11, v4)[:15],
        "v2-cut-sig": V2SIG[:7],
        "v2-bad-sig": V2SIG[:11] + b"\r" + bytes([0x21, 0x11, 0, 12]) + v4,
        # neither
        "none-smtp": b"EHLO client.example\r\n",
        "none-http": b"GET / HTTP/1.0\r\n\r\n",
        "none-tls": TLS_AFTER,
        "none-empty": b"",
        "none-p": b"P\r\n",
    }
    c = {}
    for name, h in heads.items():
        c[name] = bytes([0]) + h + EHLO_AFTER
    # the client's octets after the header: TLS, nothing, another header
    c["v1-tcp4-then-tls"] = bytes([0]) + heads["v1-tcp4"] + TLS_AFTER
    c["v1-tcp4-alone"] = bytes([0]) + heads["v1-tcp4"]
    c["v2-tcp6-then-tls"] = bytes([0]) + heads["v2-tcp6-tlv"] + TLS_AFTER
    c["v2-tcp4-alone"] = bytes([0]) + heads["v2-tcp4"]
    c["v1-twice"] = bytes([0]) + heads["v1-tcp4"] * 2
    c["v2-then-v1"] = bytes([0]) + heads["v2-local"] + heads["v1-tcp6"]
    # in pieces: piece lengths (less one) first, or an octet at a time
    c["v1-tcp4-pieces"] = (bytes([3, 5, 0, 12]) + heads["v1-tcp4"]
                           + EHLO_AFTER)
    c["v1-cr-lf-split"] = (bytes([1, len(heads["v1-tcp6"]) - 2])
                           + heads["v1-tcp6"] + EHLO_AFTER)
    c["v1-unknown-octets"] = (bytes([P_ONE]) + heads["v1-unknown-args"]
                              + EHLO_AFTER)
    c["v1-cut-octets"] = bytes([P_ONE]) + heads["v1-cut"]
    c["v2-tcp4-pieces"] = (bytes([4, 11, 3, 0, 20]) + heads["v2-tcp4-tlv"]
                           + TLS_AFTER)
    c["v2-head-split"] = bytes([2, 14, 0]) + heads["v2-tcp6"] + EHLO_AFTER
    c["v2-tcp6-octets"] = bytes([P_ONE]) + heads["v2-tcp6-tlv"] + EHLO_AFTER
    c["v2-cut-octets"] = bytes([P_ONE]) + heads["v2-cut-body"]
    c["v2-long-pieces"] = (bytes([7, 255, 255, 255, 100, 0, 1, 2])
                           + heads["v2-len-1024"] + EHLO_AFTER)
    # netaddr: NETWORK \n ADDRESS
    nets = {
        "net-v4-8": b"10.0.0.0/8\n10.255.255.255",
        "net-v4-8-out": b"10.0.0.0/8\n11.0.0.0",
        "net-v4-host-bits": b"10.1.0.0/8\n10.1.0.1",
        "net-v4-host-bit-9": b"10.128.0.0/8\n10.128.0.1",
        "net-v6-host-bit-65": b"2001:db8:0:0:8000::/64\n2001:db8::1",
        "net-v4-33": b"192.0.2.0/33\n192.0.2.1",
        "net-v4-0": b"0.0.0.0/0\n255.255.255.255",
        "net-v4-1": b"128.0.0.0/1\n127.255.255.255",
        "net-v4-31": b"192.0.2.6/31\n192.0.2.7",
        "net-v4-32": b"192.0.2.7\n192.0.2.7",
        "net-v4-lead": b"192.0.2.0/024\n192.0.2.1",
        "net-v4-addr-lead": b"192.0.2.0/24\n192.0.2.01",
        "net-mapped-104": b"::ffff:10.0.0.0/104\n10.1.2.3",
        "net-mapped-95": b"::ffff:0.0.0.0/95\n10.1.2.3",
        "net-mapped-96": b"::ffff:0:0/96\n::ffff:10.1.2.3",
        "net-v6-32": b"2001:db8::/32\n2001:db8:ffff::1",
        "net-v6-0": b"::/0\n::1",
        "net-v6-127": b"2001:db8::/127\n2001:db8::1",
        "net-v6-128": b"::1/128\n::1",
        "net-v6-129": b"::1/129\n::1",
        "net-v6-vs-v4": b"::/0\n192.0.2.1",
        "net-v4-vs-v6": b"0.0.0.0/0\n2001:db8::1",
        "net-none": b"none\n192.0.2.1",
        "net-empty": b"/8\n",
        "net-scope": b"fe80::/10\nfe80::1%eth0",
        "net-upper": b"2001:DB8::/32\n2001:db8::AB",
        "net-compat": b"::/96\n::192.0.2.1",
    }
    for name, t in nets.items():
        c[name] = bytes([P_NET]) + t
    return c


# fuzz_session: BDAT (RFC 3030 CHUNKING) and BODY=BINARYMIME, hand-made;
# corpus/session/bdat-<case>, each also -tight (bit 0: --max-size 300,
# 3 recipients, 3 messages) and -pieces (bit 3: reads of 1-13 octets)
def bdat(data, last=False):
    return b"BDAT %d%s\r\n" % (len(data), b" LAST" if last else b"") + data


def chunks(msg, size, last=True):
    parts = [msg[i:i + size] for i in range(0, len(msg), size)] or [b""]
    return b"".join(bdat(p, last and i == len(parts) - 1)
                    for i, p in enumerate(parts))


def bdat_cases():
    """Hand-made sessions for fuzz_session: name -> client bytes (the
    selector octet is added by the caller)."""
    e = b"EHLO client.example\r\n"
    env = b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\n"
    benv = (b"MAIL FROM:<a@example.org> BODY=BINARYMIME\r\n"
            b"RCPT TO:<b@example.com>\r\n")
    msg = (b"From: a@example.org\r\nSubject: chunks\r\n\r\n"
           b"line one\r\n.dot\r\n..two\r\n.\r\nlast\r\n")
    binary = (bytes(range(32)) + b"\r\n.\r\nMAIL FROM:<x@y.z>\r\n\n.\n"
              b"\r.\r\x00QUIT\r\nBDAT 5 LAST\r\nhello\xff\r")
    smuggled = (b"\r\n.\r\nMAIL FROM:<evil@example.net>\r\n"
                b"RCPT TO:<b@example.com>\r\nDATA\r\nSubject: S\r\n\r\n"
                b"smuggled\r\n.\r\nQUIT\r\n")
    quit_ = b"QUIT\r\n"
    hops = b"".join(b"Received: from h%d by x; now\r\n" % i
                    for i in range(101)) + b"\r\nloop\r\n"
    c = {
        "basic": e + env + chunks(msg, 20) + quit_,
        "one-chunk": e + env + bdat(msg, True) + quit_,
        "zero-last": e + env + bdat(msg) + bdat(b"", True) + env +
        bdat(b"", True) + quit_,
        "one-octet": e + env + chunks(msg, 1, last=False) +
        bdat(b"", True) + quit_,
        "crlf-split": e + env + b"".join(
            bdat(x if i == 0 else b"\n" + x)
            for i, x in enumerate(msg.split(b"\n"))) + bdat(b"", True),
        "no-final-crlf": e + env + bdat(b"Subject: x\r\n\r\nno end", True)
        + env + bdat(b"x\r") + bdat(b"\n", True) + quit_,
        "binarymime": e + benv + chunks(binary, 7) + quit_,
        "binarymime-one": e + benv + bdat(binary, True) + env +
        bdat(binary, True) + quit_,
        "binarymime-data": e + benv + b"DATA\r\n" + bdat(binary, True) +
        b"RSET\r\n" + benv + b"DATA\r\n" + msg + b".\r\n" + quit_,
        "bare-lf": e + env + bdat(b"Subject: x\r\n\r\na\nb\r\n", True) +
        env + bdat(b"a\r") + bdat(b"b\r\n", True) + env +
        bdat(b"\x00\r\n", True) + env + bdat(msg, True) + quit_,
        "before-ehlo": bdat(b"EHLO evil\r\nMAIL FROM:<e@x.y>\r\n") +
        b"MAIL FROM:<a@example.org>\r\n" + e + env + bdat(b"x", True),
        "without-mail": e + bdat(b"MAIL FROM:<e@x.y>\r\n") +
        b"RCPT TO:<b@example.com>\r\n" + bdat(b"QUIT\r\n", True) +
        b"NOOP\r\n" + quit_,
        "without-rcpt": e + b"MAIL FROM:<a@example.org>\r\n" +
        bdat(b"RSET\r\nMAIL FROM:<e@x.y>\r\n") +
        b"RCPT TO:<b@example.com>\r\n" + bdat(b"hello", True) + quit_,
        "rcpt-refused": e + b"MAIL FROM:<a@example.org>\r\n"
        b"RCPT TO:<b@elsewhere.example>\r\n" + bdat(b"QUIT\r\n", True) +
        quit_,
        "syntax": e + b"BDAT 4 FOO\r\nQUIT" + env + bdat(b"part") +
        b"BDAT 4 LAST X\r\nQUIT" + bdat(b"x", True) + env +
        b"BDAT 3 last\r\nabc" + env + b"BDAT 2 FOO\r\nab" +
        bdat(b"tail", True) + quit_,
        "unreadable-word": e + env + bdat(b"half") + b"BDAT abc\r\n" +
        quit_,
        "unreadable-minus": e + b"BDAT -1\r\nQUIT\r\n",
        "unreadable-20-digits": e + env + b"BDAT 18446744073709551616\r\n"
        + quit_,
        "unreadable-bare": e + env + b"BDAT\r\nNOOP\r\n",
        "nineteen-digits": e + env + b"BDAT 9999999999999999999 LAST\r\n"
        + msg,
        "max-size": e + env + bdat(b"x" * 198 + b"\r\n") +
        bdat(b"NOOP\r\n" * 40) + bdat(b"abc", True) + env +
        bdat(b"y" * 298 + b"\r\n", True) + quit_,
        "in-transaction": e + env + bdat(msg[:9]) +
        b"MAIL FROM:<c@example.org>\r\nRCPT TO:<d@example.com>\r\n"
        b"DATA\r\nAUTH PLAIN AGEAYg==\r\nSTARTTLS\r\nNOOP\r\n"
        b"VRFY x\r\nHELP\r\n" + bdat(msg[9:], True) + quit_,
        "reset-mid": e + env + bdat(msg[:9]) + b"RSET\r\n" +
        bdat(msg[9:], True) + env + bdat(msg[:9]) +
        b"HELO other.example\r\n" + env + bdat(msg[:9]) + e +
        bdat(b"x", True) + quit_,
        "eof-mid-chunk": e + env + bdat(msg[:9]) + b"BDAT 100\r\npartial",
        "eof-mid-refused": e + b"BDAT 100\r\nQUIT\r\n",
        "smuggle-text": e + env + bdat(b"Subject: s\r\n\r\nx" +
                                       smuggled[:3]) +
        bdat(smuggled[3:], True) + env + bdat(msg, True) + quit_,
        "smuggle-binary": e + benv + bdat(b"x\n.\n" + smuggled) +
        bdat(b"\r.\r" + smuggled, True) + quit_,
        "loop": e + env + chunks(hops, 13) + env + chunks(hops[36:], 4000)
        + quit_,
        "mixed-data": e + env + bdat(msg[:20]) + b"NOOP\r\n" +
        bdat(msg[20:], True) + env + b"DATA\r\nSubject: d\r\n\r\n"
        b"body\r\n.\r\n" + env + bdat(msg, True) + b"RSET\r\n" + quit_,
        "four-messages": e + (env + bdat(msg, True)) * 4 + quit_,
        "many-rcpts": e + b"MAIL FROM:<a@example.org>\r\n" + b"".join(
            b"RCPT TO:<r%d@example.com>\r\n" % i for i in range(5)) +
        chunks(msg, 16) + quit_,
        "lf-lines": b"EHLO client.example\n"
        b"MAIL FROM:<a@example.org>\nRCPT TO:<b@example.com>\n"
        b"BDAT 6\nabc\r\nBDAT 4 LAST\nx\ny\nQUIT\n",
        "8bitmime-bare-lf": e + b"MAIL FROM:<a@example.org> BODY=8BITMIME"
        b"\r\nRCPT TO:<b@example.com>\r\n" + bdat(b"\xc3\xa9\n", True) +
        quit_,
    }
    return c


def main():
    for sub in ("session", "addr", "spoolfmt", "starttls", "auth", "proxy"):
        shutil.rmtree(os.path.join(HERE, "corpus", sub), ignore_errors=True)
    n = {"session": 0, "addr": 0, "spoolfmt": 0, "starttls": 0, "auth": 0,
         "proxy": 0}
    seen = set()
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "transcripts",
                                              "*.t"))):
        name = os.path.basename(path)[:-2]
        t = parse(path)
        sel = session_selector(t)
        put("session", name, bytes([sel]) + t["input"])
        put("session", name + "-tight", bytes([sel | 1]) + t["input"])
        put("session", name + "-pieces", bytes([sel | 8]) + t["input"])
        n["session"] += 3
        if "--lf" not in t["args"]:	# fuzz_starttls has no --lf
            tsel = REAL | (UNTRUSTED if sel & 4 else 0)
            put("starttls", name + "-tls", two(tsel) + PLAIN_EHLO
                + b"STARTTLS\r\n" + SEP + t["input"])
            put("starttls", name + "-implicit", two(tsel | IMPLICIT)
                + t["input"])
            put("starttls", name + "-lines", two(tsel | TLS12, LINES)
                + PLAIN_EHLO + b"STARTTLS\r\n" + SEP + t["input"])
            n["starttls"] += 3
        for i, a in enumerate(addr_inputs(t["input"])):
            h = hashlib.sha1(a).hexdigest()
            if h in seen:
                continue
            seen.add(h)
            put("addr", "%s-%d" % (name, i), a)
            n["addr"] += 1
        for i, blob in enumerate(spool_files(t)[:2]):
            # the first octet says where fuzz_spoolfmt cuts the file in
            # two for spoolfmt_head's incremental use
            put("spoolfmt", "%s-%d" % (name, i), bytes([(i * 97 + len(
                blob)) % 256]) + blob)
            n["spoolfmt"] += 1
    n["spoolfmt"] += tls_seeds()
    for name, data in starttls_cases().items():
        put("starttls", name, data)
        n["starttls"] += 1
    for name, data in auth_cases().items():
        put("auth", name, data)
        n["auth"] += 1
    for name, data in proxy_cases().items():
        put("proxy", name, data)
        n["proxy"] += 1
    for name, data in bdat_cases().items():
        sel = 2 if name == "lf-lines" else 4 if name == "rcpt-refused" else 0
        put("session", "bdat-" + name, bytes([sel]) + data)
        put("session", "bdat-" + name + "-tight", bytes([sel | 1]) + data)
        put("session", "bdat-" + name + "-pieces", bytes([sel | 8]) + data)
        n["session"] += 3
    print("mkcorpus: %(session)d session, %(addr)d addr, "
          "%(spoolfmt)d spoolfmt, %(starttls)d starttls, %(auth)d auth, "
          "%(proxy)d proxy inputs" % n)


if __name__ == "__main__":
    main()
