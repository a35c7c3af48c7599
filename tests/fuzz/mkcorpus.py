#!/usr/bin/env python3
"""tests/fuzz/mkcorpus.py - seed corpora for the fuzz targets.

Turns every tests/transcripts/*.t into inputs:
  corpus/session/<name>      selector octet + the client bytes
  corpus/addr/<name>-N       selector octet + a MAIL FROM:/RCPT TO: argument
  corpus/spoolfmt/<name>     cut octet + a spool file smtpd wrote for it
  corpus/spoolfmt/tls-*      cut octet + a hand-written file with the TLS
                             lines (TLS, TLS-Client-Cert, Require-TLS)
The selector octets are the ones fuzz_session.c and fuzz_addr.c read:
session bit 1 = --lf, bit 0 = tight limits, bit 2 = untrusted client,
bit 3 = read in small pieces;
addr 6 = whole MAIL argument, 7 = whole RCPT argument, 0 + flags = path.
Run from anywhere; rewrites the three directories.
"""
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

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


def tls_seeds():
    """Spool files with the TLS lines, where smtpd puts them."""
    for name, (session, proto, params) in sorted(TLS_SEEDS.items()):
        blob = (b"Version: 1\nId: 1795898970.637921.0004520.0018235a1e7e4739"
                b".mx\nArrival: 1795898970\nClient-Address: 192.0.2.7\n"
                b"Client-Port: 40312\nHelo: client.example.org\n" + session +
                b"Protocol: " + proto + b"\nTrusted: no\n"
                b"Sender: <alice@example.org>\nSize: 120\n" + params +
                b"Recipient: <bob@example.com>\nNotify: FAILURE\n\n"
                b"Subject: hi\r\n\r\nHello.\r\n")
        put("spoolfmt", name, bytes([len(blob) % 256]) + blob)
    return len(TLS_SEEDS)


def main():
    for sub in ("session", "addr", "spoolfmt"):
        shutil.rmtree(os.path.join(HERE, "corpus", sub), ignore_errors=True)
    n = {"session": 0, "addr": 0, "spoolfmt": 0}
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
    print("mkcorpus: %(session)d session, %(addr)d addr, "
          "%(spoolfmt)d spoolfmt inputs" % n)


if __name__ == "__main__":
    main()
