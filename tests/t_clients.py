"""t_clients.py - real clients through a real super-server.

smtpd runs under tcpserver (ucspi-tcp) on 127.0.0.1; Python smtplib and
swaks talk to it.  Every spooled message is compared byte for byte with
what the client put on the wire (after our Received: field), and with
what the email package generates for the message.
"""
import copy
import io
import os
import re
import shutil
import smtplib
import subprocess
import sys
from email.generator import BytesGenerator
from email.message import EmailMessage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import check  # noqa: E402

CLIENT_HELO = "client.test.example"
QUEUED_RE = re.compile(rb"^2\.0\.0 OK queued as ([A-Za-z0-9.]+)$")


def free_port():
    return lib.free_port()


class Server:
    """tcpserver on 127.0.0.1 running smtpd (prefix: e.g. env VAR=...)."""

    def __init__(self, prefix=(), args=()):
        self.q = lib.Queue()
        self.log = os.path.join(self.q.dir, "server.log")
        self.port = None
        self.p = None
        for _ in range(5):
            port = free_port()
            cmd = (["tcpserver", "-q", "-H", "-R", "-l", lib.HOST,
                    "127.0.0.1", str(port)] + list(prefix) +
                   [lib.SMTPD, "--queue", self.q.dir, "--hostname",
                    lib.HOST] + list(args))
            with open(self.log, "ab") as logf:
                self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL,
                                          stderr=logf, env=lib.base_env(),
                                          start_new_session=True)
            if self._wait_ready(port):
                self.port = port
                return
            self.stop()
        raise RuntimeError("tcpserver did not start: %s" % self.errors())

    def _wait_ready(self, port):
        return lib.wait_greeting(self.p, port, 5, 3)

    def stop(self):
        lib.stop_group(self.p)

    def errors(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("utf-8", "replace")[-2000:]
        except OSError:
            return ""

    def cleanup(self):
        self.stop()
        self.q.cleanup()


class RecSMTP(smtplib.SMTP):
    """smtplib.SMTP that keeps what it sent, and each DATA's payload."""

    def __init__(self, *a, **kw):
        self.wire = bytearray()
        self.sent = []		# (wire payload after DATA, (code, reply))
        super().__init__(*a, **kw)

    def send(self, s):
        b = s.encode(self.command_encoding) if isinstance(s, str) else s
        self.wire += b
        return super().send(s)

    def data(self, msg):
        start = len(self.wire)
        r = super().data(msg)
        payload = bytes(self.wire[start:])
        if payload.lower().startswith(b"data\r\n"):
            payload = payload[6:]
        self.sent.append((payload, r))
        return r


def connect(srv):
    return RecSMTP("127.0.0.1", srv.port, local_hostname=CLIENT_HELO,
                   timeout=20)


def unstuff(payload):
    """The DATA bytes as a server must store them: no end mark, no stuffing."""
    if not payload.endswith(b"\r\n.\r\n"):
        return None
    body = payload[:-3]
    return re.sub(rb"(?m)^\.", b"", body)


def generated(msg, utf8=False):
    """What smtplib sends for msg: flattened with CRLF, Bcc removed."""
    m = copy.copy(msg)
    del m["Bcc"]
    del m["Resent-Bcc"]
    buf = io.BytesIO()
    pol = msg.policy.clone(utf8=True) if utf8 else msg.policy
    BytesGenerator(buf, policy=pol).flatten(m, linesep="\r\n")
    b = buf.getvalue()
    return b if b.endswith(b"\r\n") else b + b"\r\n"


received_split = lib.received_split


def spooled(srv, qid):
    """(envelope fields, Received field, rest) of new/QID, or None."""
    if qid not in srv.q.files("new"):
        return None
    fields, message = lib.split_spool(srv.q.read(qid))
    rec, rest = received_split(message)
    return fields, rec, rest


def last_id(client):
    code, text = client.sent[-1][1]
    m = QUEUED_RE.match(text)
    return m.group(1).decode() if code == 250 and m else None


def verify(name, srv, client, expected=None, rcpts=None, env=None,
           protocol="ESMTP"):
    """Check the last message client sent: reply, file, bytes, envelope."""
    payload, (code, text) = client.sent[-1]
    qid = last_id(client)
    if not check(name + "-queued", qid is not None and srv.q.files("tmp") ==
                 [], "reply %r %r tmp=%s log=%s" % (
                     code, text, srv.q.files("tmp"), srv.errors())):
        return None
    got = spooled(srv, qid)
    if not check(name + "-file", got is not None, "no new/%s" % qid):
        return None
    fields, rec, rest = got
    wire = unstuff(payload)
    ok = wire is not None and rest == wire
    if expected is not None:
        ok = ok and rest == expected
    check(name + "-bytes", ok, "stored %d bytes, wire %s, generated %s\n"
          "stored    %r\nwire      %r\ngenerated %r" % (
              len(rest), len(wire) if wire is not None else None,
              len(expected) if expected is not None else None,
              rest[:300], (wire or b"")[:300], (expected or b"")[:300]))
    d = dict(fields)
    want = {"Id": qid, "Client-Address": "127.0.0.1",
            "Client-Port": str(client.sock.getsockname()[1]),
            "Helo": CLIENT_HELO, "Protocol": protocol, "Trusted": "yes"}
    want.update(env or {})
    bad = {k: (v, d.get(k)) for k, v in want.items() if d.get(k) != v}
    if rcpts is not None:
        got_r = [v for k, v in fields if k == "Recipient"]
        if got_r != ["<%s>" % r for r in rcpts]:
            bad["Recipient"] = (len(rcpts), len(got_r), got_r[:3])
    check(name + "-envelope", not bad, "want/got %r" % bad)
    check(name + "-received", rec.startswith(
        ("Received: from %s ([%s])\r\n\tby %s" % (
            CLIENT_HELO, want["Client-Address"], lib.HOST)).encode()) and
        (" with %s id %s" % (protocol, qid)).encode() in rec,
        "Received %r" % rec)
    return fields


# --- smtplib ---------------------------------------------------------------

def test_8bit(srv):
    msg = EmailMessage()
    msg["From"] = "Sender <s@example.org>"
    msg["To"] = "r@example.com"
    msg["Bcc"] = "hidden@example.com"
    msg["Subject"] = "8-bit body"
    msg.set_content("Gr\u00fc\u00dfe aus K\u00f6ln \u2014 na\u00efve "
                    "caf\u00e9 \u2603\n.leading dot\n..\n.\n\nend\n",
                    charset="utf-8", cte="8bit")
    expected = generated(msg)
    with connect(srv) as c:
        refused = c.send_message(msg, mail_options=["BODY=8BITMIME"])
        fields = verify("smtplib-8bit", srv, c, expected,
                        rcpts=["r@example.com", "hidden@example.com"],
                        env={"Body": "8BITMIME", "Sender": "<s@example.org>"})
        check("smtplib-8bit-wire", refused == {}
              and re.search(rb"(?i)\r\nMAIL FROM:<s@example\.org>"
                            rb"( SIZE=\d+)? BODY=8BITMIME\r\n", c.wire)
              and "Gr\u00fc\u00dfe".encode() in c.wire
              and b"\r\n..leading dot\r\n...\r\n..\r\n\r\nend\r\n.\r\n" in c.wire,
              "refused %r wire %r" % (refused, bytes(c.wire[:400])))
    if fields is not None:
        qid = dict(fields)["Id"]
        blob = srv.q.read(qid)
        check("smtplib-8bit-no-bcc", b"hidden@example.com" not in
              blob.partition(b"\n\n")[2] and b"\r\n\tfor <" not in blob,
              "message shows the Bcc recipient: %r" % blob[:600])


def test_smtputf8(srv):
    sender = "j\u00fcrgen@b\u00fccher.example"
    rcpt = "\u00f8le@\u00e6\u00f8\u00e5.example"
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = rcpt
    msg["Subject"] = "B\u00fccher \u00fcber \u00c4pfel"
    msg.set_content("Sch\u00f6ne Gr\u00fc\u00dfe\n", cte="8bit")
    expected = generated(msg, utf8=True)
    with connect(srv) as c:
        refused = c.send_message(msg)
        verify("smtplib-smtputf8", srv, c, expected, rcpts=[rcpt],
               protocol="UTF8SMTP",
               env={"Sender": "<%s>" % sender, "SMTPUTF8": "yes",
                    "Body": "8BITMIME"})
        check("smtplib-smtputf8-wire", refused == {} and re.search(
            rb"(?i)\r\nMAIL FROM:<" + re.escape(sender.encode()) +
            rb">( SIZE=\d+)? SMTPUTF8 BODY=8BITMIME\r\n", c.wire),
            "wire %r" % bytes(c.wire[:300]))
        # the mail_options=['SMTPUTF8'] way, through sendmail()
        raw = ("From: %s\r\nTo: %s\r\nSubject: \u00e4\r\n\r\n\u00fc\r\n" % (
            sender, rcpt)).encode()
        refused = c.sendmail(sender, [rcpt], raw, mail_options=["SMTPUTF8"])
        verify("smtplib-sendmail-smtputf8", srv, c, raw, rcpts=[rcpt],
               protocol="UTF8SMTP",
               env={"Sender": "<%s>" % sender, "SMTPUTF8": "yes"})


def test_many_rcpts(srv):
    rcpts = ["user%03d@example.com" % i for i in range(101)]
    msg = EmailMessage()
    msg["From"] = "s@example.org"
    msg["To"] = "list@example.com"
    msg["Subject"] = "many"
    msg.set_content("to a hundred\n")
    expected = generated(msg)
    with connect(srv) as c:
        refused = c.send_message(msg, to_addrs=rcpts[:100])
        check("smtplib-100-rcpts-accepted", refused == {}, "%r" % refused)
        verify("smtplib-100-rcpts", srv, c, expected, rcpts=rcpts[:100])
        refused = c.send_message(msg, to_addrs=rcpts)
        ok = (list(refused) == [rcpts[100]] and
              refused[rcpts[100]][0] == 452 and
              refused[rcpts[100]][1].startswith(b"4.5.3 "))
        check("smtplib-101st-rcpt-452", ok, "refused %r" % refused)
        verify("smtplib-101-rcpts", srv, c, expected, rcpts=rcpts[:100])


def test_several_on_one_connection(srv):
    ids, ports = [], set()
    bodies = []
    with connect(srv) as c:
        for i in range(5):
            msg = EmailMessage()
            msg["From"] = "s@example.org"
            msg["To"] = "r%d@example.com" % i
            msg["Subject"] = "message %d" % i
            msg.set_content(("line %d\n" % i) * (i * 300 + 1))
            bodies.append(generated(msg))
            c.send_message(msg)
            f = verify("smtplib-conn-msg%d" % i, srv, c, bodies[-1],
                       rcpts=["r%d@example.com" % i])
            if f:
                ids.append(dict(f)["Id"])
                ports.add(dict(f)["Client-Port"])
        mails = len(re.findall(rb"(?i)\r\nMAIL FROM:", c.wire))
    check("smtplib-conn-distinct", len(ids) == 5 and len(set(ids)) == 5
          and len(ports) == 1 and mails == 5,
          "ids %r ports %r MAIL %d" % (ids, ports, mails))


def test_dots_and_long_lines(srv):
    with connect(srv) as c:
        raw = (b"Subject: dots\r\n\r\n.\r\n..\r\n...\r\n.leading\r\n"
               b" .not leading\r\n.\r\n\r\n.\r\nlast line without CRLF")
        c.sendmail("s@example.org", ["r@example.com"], raw)
        verify("smtplib-dot-lines", srv, c, raw + b"\r\n",
               rcpts=["r@example.com"])
        check("smtplib-dot-lines-stuffed",
              b"\r\n..\r\n...\r\n....\r\n..leading\r\n .not leading\r\n"
              b"..\r\n\r\n..\r\nlast line without CRLF\r\n.\r\n" in c.wire,
              "wire %r" % bytes(c.wire[-200:]))
        for n in (1001, 70000, 1000000):
            raw = (b"Subject: long %d\r\n\r\n" % n + b"L" * (n - 2) +
                   b"\r\n." + b"x" * n + b"\r\nend\r\n")
            c.sendmail("s@example.org", ["r@example.com"], raw)
            verify("smtplib-long-line-%d" % n, srv, c, raw,
                   rcpts=["r@example.com"])


# --- swaks -----------------------------------------------------------------

def swaks_sent(out):
    """The DATA lines swaks says it sent, as bytes with CRLF."""
    lines = [ln.rstrip("\r") for ln in
             out.decode("utf-8", "replace").split("\n")]
    try:
        i = next(k for k, ln in enumerate(lines) if ln.startswith("<-  354"))
    except StopIteration:
        return None
    data = []
    for ln in lines[i + 1:]:
        if not ln.startswith(" -> "):
            continue
        ln = ln[4:]
        if ln == ".":
            return "".join(x + "\r\n" for x in data).encode()
        data.append(ln[1:] if ln.startswith(".") else ln)
    return None


def test_swaks(srv):
    if shutil.which("swaks") is None:
        print("SKIP swaks: swaks is not installed")
        return
    for extra in ([], ["--pipeline"]):
        name = "swaks" + ("-pipeline" if extra else "")
        before = set(srv.q.files("new"))
        p = subprocess.run(
            ["swaks", "--server", "127.0.0.1:%d" % srv.port,
             "--helo", CLIENT_HELO, "--to", "u@example.com",
             "--from", "s@example.org", "--header", "Subject: t",
             "--body", "hello"] + extra,
            capture_output=True, timeout=30, env=lib.base_env())
        out = p.stdout + p.stderr
        m = re.search(rb"<-  250 2\.0\.0 OK queued as ([A-Za-z0-9.]+)", out)
        new = sorted(set(srv.q.files("new")) - before)
        if not check(name + "-queued", p.returncode == 0 and m is not None
                     and new == [m.group(1).decode()] and
                     srv.q.files("tmp") == [],
                     "rc %d new %r out %r log %s" % (
                         p.returncode, new, out[-1500:], srv.errors())):
            continue
        fields, rec, rest = spooled(srv, new[0])
        sent = swaks_sent(out)
        head, _, body = rest.partition(b"\r\n\r\n")
        d = dict(fields)
        check(name + "-bytes", sent is not None and rest == sent and
              b"\r\nSubject: t\r\n" in b"\r\n" + head + b"\r\n" and
              body.startswith(b"hello\r\n") and
              body.strip(b"\r\n") == b"hello",
              "stored %r\nsent %r" % (rest, sent))
        check(name + "-envelope", d.get("Sender") == "<s@example.org>"
              and d.get("Helo") == CLIENT_HELO and d.get("Trusted") == "yes"
              and [v for k, v in fields if k == "Recipient"] ==
              ["<u@example.com>"], "fields %r" % fields)
        if extra:
            check(name + "-pipelined", re.search(
                rb" -> MAIL FROM:<s@example.org>\r?\n -> RCPT TO:"
                rb"<u@example.com>\r?\n -> DATA\r?\n<-  250 ", out) is not None
                  and b"<-  221 2.0.0" in out, "out %r" % out[:1500])


# --- trust -----------------------------------------------------------------

def test_untrusted(srv):
    msg = (b"From: s@example.org\r\nSubject: untrusted\r\n\r\nhi\r\n")
    with RecSMTP("127.0.0.1", srv.port, local_hostname=CLIENT_HELO,
                 timeout=20) as c:
        try:
            c.sendmail("s@example.org", ["victim@foreign.example"], msg)
            err = "accepted"
        except smtplib.SMTPRecipientsRefused as e:
            err = e.recipients
        r = err.get("victim@foreign.example") if isinstance(err, dict) \
            else None
        check("untrusted-foreign-550", r is not None and r[0] == 550
              and r[1].startswith(b"5.7.1 "), "got %r" % (err,))
        refused = c.sendmail("s@example.org", ["victim@foreign.example",
                                               "User@OK.Example"], msg)
        r = refused.get("victim@foreign.example")
        check("untrusted-mixed-550", list(refused) ==
              ["victim@foreign.example"] and r[0] == 550 and
              r[1].startswith(b"5.7.1 "), "refused %r" % refused)
        fields = verify("untrusted-local-domain", srv, c, msg,
                        rcpts=["User@OK.Example"],
                        env={"Client-Address": "192.0.2.7",
                             "Trusted": "no"})
        code, _ = c.rcpt("postmaster") if c.mail("s@example.org")[0] == 250 \
            else (None, None)
        check("untrusted-postmaster-250", code == 250, "code %r" % code)
        c.rset()
    return fields


def test_relayclient(srv):
    msg = b"Subject: relay\r\n\r\nrelayed\r\n"
    with RecSMTP("127.0.0.1", srv.port, local_hostname=CLIENT_HELO,
                 timeout=20) as c:
        refused = c.sendmail("s@example.org", ["far@foreign.example"], msg)
        check("relayclient-accepted", refused == {}, "%r" % refused)
        verify("relayclient", srv, c, msg, rcpts=["far@foreign.example"],
               env={"Client-Address": "192.0.2.8", "Trusted": "yes"})


def run_with(name, fn, prefix=(), args=()):
    srv = None
    try:
        srv = Server(prefix, args)
        fn(srv)
    except Exception:
        import traceback
        check(name, False, "exception: %s\nlog: %s" % (
            traceback.format_exc().replace("\n", "\n    "),
            srv.errors() if srv else ""))
    finally:
        if srv is not None:
            srv.cleanup()


def main():
    if shutil.which("tcpserver") is None:
        check("tcpserver-installed", False, "tcpserver not found "
              "(package ucspi-tcp-ipv6; tests/deps.sh installs it)")
        lib.finish()
    for name, fn in (("smtplib-8bit", test_8bit),
                     ("smtplib-smtputf8", test_smtputf8),
                     ("smtplib-many-rcpts", test_many_rcpts),
                     ("smtplib-one-connection",
                      test_several_on_one_connection),
                     ("smtplib-dots-long", test_dots_and_long_lines),
                     ("swaks", test_swaks)):
        run_with(name, fn)
    run_with("untrusted", test_untrusted,
             prefix=["env", "TCPREMOTEIP=192.0.2.7"],
             args=["--domain", "ok.example"])
    run_with("relayclient", test_relayclient,
             prefix=["env", "TCPREMOTEIP=192.0.2.8", "RELAYCLIENT="])
    lib.finish()


if __name__ == "__main__":
    main()
