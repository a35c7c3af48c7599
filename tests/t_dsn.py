"""t_dsn.py - the delivery status notifications smtpd-queue writes.

Mail goes in through smtpd (on pipes) and out through `smtpd-queue
deliver` with small shell commands that exit 0, 67, 75, 1..., print an
error line, or fail by recipient.  Every report found in new/ is parsed
with Python's email package (policy.default) and checked against RFC
3464: multipart/report; report-type=delivery-status, the per-message
and per-recipient fields, the status class against the action, the
returned message or header against the original, 7-bit text, CRLF
lines; its queue envelope (Sender <>, Dsn-Of).  RET, ENVID, ORCPT and
NOTIFY combinations; the null sender; --per-recipient; --max-age
(4.4.7); delay warnings (--warn-after) once; success reports with
--final only; --no-bounce; a report that fails (never reported on);
the 1 MiB cap, 8BITMIME, BINARYMIME, SMTPUTF8; and crashes: the fault
shim (tests/fault/faultshim.so, "kill") kills the deliverer at every
queue call of a bouncing run, and the next run must leave exactly one
report, never none, never two.
"""
import email
import email.policy
import email.utils
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import check  # noqa: E402

QTOOL = os.environ.get("QUEUE_TOOL", os.path.join(lib.ROOT, "smtpd-queue"))
SHIM = lib.SHIM
HOST = lib.HOST
SENDER = "s@example.org"
CAP = 1 << 20

# fails by recipient: the local part says how (exit code, printed line);
# the null sender's mail (a report) is kept back with 75, unless $DSNOK
# (delivered) or $NULLFAIL (failed as any other)
AGENT_SH = r"""#!/bin/sh
cat > /dev/null
[ -n "$CALLS" ] && echo "${SENDER:-<>} $RECIPIENT" >> "$CALLS"
if [ -z "$SENDER" ]; then
    [ -n "$DSNOK" ] && exit 0
    [ -z "$NULLFAIL" ] && exit 75
fi
case "$RECIPIENT" in
ok*) exit 0;;
nouser*) echo "first line"; echo "$RECIPIENT: no such user here" >&2
    exit 67;;
nohost*) exit 68;;
data*) exit 65;;
perm*) echo "not allowed" >&2; exit 77;;
smtp*) echo "msmtp: server message:"; echo "550 5.2.1 mailbox disabled"
    exit 1;;
quota*) echo "over quota 4.2.2" >&2; exit 1;;
temp*) echo "452 4.2.2 mailbox full, try later" >&2; exit 75;;
plain*) exit 1;;
esac
exit 67
"""


# --- helpers ---------------------------------------------------------------

crlf, stuff = lib.crlf, lib.stuff


def tx(msg, frm=b"<" + SENDER.encode() + b">", rcpts=(b"<r@example.com>",),
       mp=b""):
    return lib.tx(msg, frm, rcpts, mp)


def bdat(msg, frm=b"<" + SENDER.encode() + b">", rcpt=b"<plain@example.com>"):
    return (b"MAIL FROM:" + frm + b" BODY=BINARYMIME\r\nRCPT TO:" + rcpt +
            b"\r\nBDAT %d LAST\r\n" % len(msg) + msg)


inject = lib.inject


def msg(n, extra=b""):
    return crlf(b"From: " + SENDER.encode(), b"To: r@example.com",
                b"Subject: msg %d" % n, b"Message-ID: <m%d@example.org>" % n,
                b"", b"body of %d" % n) + extra


def qrun(q, *args, env=None, timeout=60):
    p = subprocess.run([QTOOL, "--queue", q.dir] + list(args),
                       capture_output=True, env=lib.base_env(env),
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


class Work:
    """A scratch directory with the agent in it."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="smtpd-dsn-")
        self.agent = self.script("agent.sh", AGENT_SH)
        self.calls = os.path.join(self.dir, "calls")

    def script(self, name, body):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(body)
        os.chmod(path, 0o755)
        return path

    def called(self):
        try:
            with open(self.calls) as f:
                return f.read().splitlines()
        except OSError:
            return []

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def deliver(q, w, *args, env=None):
    """smtpd-queue deliver --per-recipient with the agent."""
    e = {"CALLS": w.calls}
    e.update(env or {})
    return qrun(q, "deliver", "--per-recipient", "--hostname", HOST,
                *args, "--command", w.agent, env=e)


def age(q, qid, seconds):
    """Make a queued message older: its Arrival, seconds back."""
    path = os.path.join(q.dir, "new", qid)
    with open(path, "rb") as f:
        data = f.read()
    t = int(re.search(rb"\nArrival: (\d+)\n", data).group(1))
    data = data.replace(b"\nArrival: %d\n" % t,
                        b"\nArrival: %d\n" % (t - seconds), 1)
    with open(path, "wb") as f:
        f.write(data)
    return t - seconds


def envelope(blob):
    head, _, body = blob.partition(b"\n\n")
    env = []
    for line in head.split(b"\n"):
        k, _, v = line.partition(b": ")
        env.append((k.decode(), v.decode("utf-8", "replace")))
    return env, body


class Dsn:
    """A report found in the queue: its envelope, raw body, parse."""

    def __init__(self, qid, blob):
        self.id = qid
        self.env, self.raw = envelope(blob)
        self.envd = dict(self.env)
        self.msg = email.message_from_bytes(self.raw,
                                            policy=email.policy.default)
        self.parts = list(self.msg.iter_parts()) \
            if self.msg.is_multipart() else []
        ds = self.parts[1].get_payload() if len(self.parts) > 1 else []
        self.per_msg = dict(ds[0].items()) if ds else {}
        self.rcpts = [dict(b.items()) for b in ds[1:]]

    def by_rcpt(self):
        return {r.get("Final-Recipient", "").split("; ", 1)[-1]: r
                for r in self.rcpts}


def reports(q, sub="new"):
    """Every report (a file with Dsn-Of) in q/sub, as Dsn objects."""
    out = []
    for n in q.files(sub):
        blob = q.read(n, sub)
        if b"\nDsn-Of: " in blob.partition(b"\n\n")[0]:
            out.append(Dsn(n, blob))
    return out


def original(q, qid, sub="failed"):
    return envelope(q.read(qid, sub))[1]


def header_of(body):
    """The header section of a message, without the empty line."""
    m = re.search(rb"\r?\n\r?\n", body)
    return body[:m.start() + (2 if body[m.start()] == 13 else 1)] \
        if m else body


STATUS_RE = re.compile(r"^([245])\.\d{1,3}\.\d{1,3}$")
ACTIONS = {"failed": "5", "delayed": "4", "delivered": "2", "relayed": "2",
           "expanded": "2"}


def rfc3464_problems(d, orig_id, arrival, sender=SENDER):
    """What in report d breaks RFC 3461/3462/3464 or our envelope."""
    p = []
    m = d.msg
    if m.get_content_type() != "multipart/report" or \
            m.get_param("report-type") != "delivery-status":
        p.append("type %s %r" % (m.get_content_type(),
                                 m.get_param("report-type")))
    if m.defects:
        p.append("defects %r" % m.defects)
    types = [x.get_content_type() for x in d.parts]
    if len(types) != 3 or types[0] != "text/plain" or \
            types[1] != "message/delivery-status" or types[2] not in (
                "message/rfc822", "text/rfc822-headers"):
        p.append("parts %r" % types)
    for k in ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version"):
        if m[k] is None:
            p.append("no %s" % k)
    if m["Auto-Submitted"] != "auto-replied":
        p.append("Auto-Submitted %r" % m["Auto-Submitted"])
    if d.envd.get("Sender") != "<>" or d.envd.get("Dsn-Of") != orig_id or \
            [v for k, v in d.env if k == "Recipient"] != ["<%s>" % sender]:
        p.append("envelope %r" % d.env)
    if d.envd.get("Id") != d.id:
        p.append("Id %r is not the file name %s" % (d.envd.get("Id"), d.id))
    text = d.raw if b"Content-Type: message/rfc822" not in d.raw else \
        d.raw[:d.raw.index(b"Content-Type: message/rfc822")]
    if re.search(rb"(?<!\r)\n", text) or re.search(rb"\r(?!\n)", text):
        p.append("a line not ended by CRLF")
    if any(len(x) > 998 for x in d.raw.split(b"\r\n")):
        p.append("a line longer than 998 octets")
    if d.parts:
        human = d.parts[0].get_content()
        if any(ord(c) > 127 for c in human) or \
                d.parts[0].get_content_charset() != "us-ascii":
            p.append("human part not 7-bit us-ascii")
    pm = d.per_msg
    if pm.get("Reporting-MTA") != "dns; " + HOST:
        p.append("Reporting-MTA %r" % pm.get("Reporting-MTA"))
    try:
        ad = email.utils.parsedate_to_datetime(pm.get("Arrival-Date"))
        if int(ad.timestamp()) != arrival:
            p.append("Arrival-Date %r, arrival %d" % (pm.get(
                "Arrival-Date"), arrival))
    except (TypeError, ValueError):
        p.append("Arrival-Date %r" % pm.get("Arrival-Date"))
    if not d.rcpts:
        p.append("no per-recipient fields")
    for r in d.rcpts:
        for k in ("Final-Recipient", "Action", "Status"):
            if k not in r:
                p.append("%s missing in %r" % (k, r))
        st = STATUS_RE.match(r.get("Status", ""))
        act = r.get("Action")
        if act not in ACTIONS or not st:
            p.append("Action %r Status %r" % (act, r.get("Status")))
        elif st.group(1) != ACTIONS[act] and not (
                act == "failed" and r["Status"] == "4.4.7"):
            p.append("Status %s with Action %s" % (r["Status"], act))
        if not re.match(r"^[A-Za-z0-9-]+; \S", r.get("Final-Recipient",
                                                    "")):
            p.append("Final-Recipient %r" % r.get("Final-Recipient"))
        if "Diagnostic-Code" in r and not re.match(
                r"^[A-Za-z0-9-]+; [ -~]*$", r["Diagnostic-Code"]):
            p.append("Diagnostic-Code %r" % r["Diagnostic-Code"])
    cte = d.parts[2].get("Content-Transfer-Encoding") if len(
        d.parts) > 2 else None
    if (cte == "8bit") != (d.envd.get("Body") == "8BITMIME"):
        p.append("8bit part %r but envelope Body %r" % (
            cte, d.envd.get("Body")))
    return p


def returned_problems(d, orig, full):
    """Does the report return the original (full) or its header, exact?"""
    b = d.msg.get_param("boundary")
    tail = b"\r\n--" + b.encode() + b"--\r\n"
    if full:
        if d.parts[2].get_content_type() != "message/rfc822":
            return ["not message/rfc822"]
        if not d.raw.endswith(b"\r\n\r\n" + orig + tail):
            return ["the original is not returned byte for byte"]
        inner = d.parts[2].get_content()
        om = email.message_from_bytes(orig, policy=email.policy.default)
        if inner["Subject"] != om["Subject"] or \
                inner["Message-ID"] != om["Message-ID"]:
            return ["returned headers differ: %r" % inner.items()]
        return []
    if d.parts[2].get_content_type() != "text/rfc822-headers":
        return ["not text/rfc822-headers"]
    hdr = header_of(orig)
    if not d.raw.endswith(b"\r\n\r\n" + hdr + tail):
        return ["the header is not returned exactly"]
    om = email.message_from_bytes(hdr + b"\r\n", policy=email.policy.compat32)
    got = email.message_from_string(d.parts[2].get_content() + "\r\n",
                                    policy=email.policy.compat32)
    if [k for k, _ in om.items()] != [k for k, _ in got.items()]:
        return ["header fields differ"]
    return []


def one_report(name, q, orig_id, arrival):
    """The one report about orig_id in new/, checked; or None."""
    ds = [d for d in reports(q) if d.envd.get("Dsn-Of") == orig_id]
    if not check(name + "-one-report", len(ds) == 1,
                 "%d reports about %s: %r" % (len(ds), orig_id, q.files(
                     "new"))):
        return None
    bad = rfc3464_problems(ds[0], orig_id, arrival)
    check(name + "-rfc3464", not bad, "; ".join(bad))
    return ds[0]


def arrival_of(q, qid, sub="failed"):
    env, _ = envelope(q.read(qid, sub))
    return int(dict(env)["Arrival"])


def new_queue():
    return lib.Queue(), Work()


# --- failures: the report, RET, ENVID, ORCPT, NOTIFY --------------------------

def test_failure_basic():
    q, w = new_queue()
    try:
        ids = inject(q, [tx(msg(1), rcpts=(
            b"<nouser@example.com>",
            b"<ok@example.com>"), mp=b"ENVID=QQ+2B1")])
        rc, out, err = deliver(q, w)
        check("fail-original-to-failed", rc == 0 and
              q.files("failed") == ids and "event=failed id=" + ids[0] in
              err and "event=report id=" + ids[0] in err,
              "rc %d files %r err %s" % (rc, q.files("failed"), err))
        d = one_report("fail", q, ids[0], arrival_of(q, ids[0]))
        if d is None:
            return
        orig = original(q, ids[0])
        bad = returned_problems(d, orig, True)
        check("fail-returns-original", not bad, "; ".join(bad))
        r = d.by_rcpt()
        check("fail-fields", list(r) == ["nouser@example.com"] and
              r["nouser@example.com"]["Action"] == "failed" and
              r["nouser@example.com"]["Status"] == "5.1.1" and
              r["nouser@example.com"]["Diagnostic-Code"] ==
              "x-unix; nouser@example.com: no such user here" and
              "Original-Recipient" not in r["nouser@example.com"] and
              d.per_msg.get("Original-Envelope-Id") == "QQ+1" and
              d.per_msg.get("X-Smtpd-Queue-ID") == ids[0],
              "%r %r" % (d.per_msg, d.rcpts))
        m = d.msg
        check("fail-headers", m["To"].addresses[0].addr_spec == SENDER and
              b"\r\nTo: <" + SENDER.encode() + b">\r\n" in d.raw and
              m["From"].addresses[0].addr_spec == "MAILER-DAEMON@" + HOST
              and "Undelivered" in m["Subject"] and
              m["Message-ID"] == "<%s@%s>" % (d.id, HOST), "%r" % m.items())
        human = d.parts[0].get_content()
        check("fail-human-part", "<nouser@example.com>: failed, 5.1.1" in
              human and "no such user here" in human and
              "ok@example.com" not in human and "attached below" in human,
              human)
        rc, out, _ = qrun(q, "show", d.id)
        rc2, out2, _ = qrun(q, "show", ids[0])
        check("fail-show", rc == 0 and ("report on   " + ids[0]).encode()
              in out and ("report      " + d.id).encode() in out2,
              "%r %r" % (out, out2))
        shutil.rmtree(os.path.join(q.dir, "tmp"))
        rc, out, err = qrun(q, "deliver", "--per-recipient", "--command",
                            w.agent, env={"DSNOK": "1", "CALLS": w.calls})
        check("fail-report-delivered", rc == 0 and q.files("new") == [] and
              os.path.isdir(os.path.join(q.dir, "tmp")) and
              "<> %s" % SENDER in w.called() and
              "event=delivered id=" + d.id in err, "%r %s" % (
                  w.called(), err))
    finally:
        q.cleanup()
        w.cleanup()


def test_status_map():
    q, w = new_queue()
    try:
        rcpts = ["nouser@x.example", "nohost@x.example", "data@x.example",
                 "perm@x.example", "smtp@x.example", "quota@x.example",
                 "plain@x.example"]
        ids = inject(q, [tx(msg(2), rcpts=[b"<%s>" % r.encode()
                                           for r in rcpts])])
        rc, out, err = deliver(q, w)
        d = one_report("map", q, ids[0], arrival_of(q, ids[0]))
        if d is None:
            return
        got = {k: (v["Status"], v.get("Diagnostic-Code"))
               for k, v in d.by_rcpt().items()}
        want = {
            "nouser@x.example": ("5.1.1", "x-unix; nouser@x.example: no "
                                 "such user here"),
            "nohost@x.example": ("5.1.2", "x-unix; exit 68"),
            "data@x.example": ("5.6.0", "x-unix; exit 65"),
            "perm@x.example": ("5.7.1", "x-unix; not allowed"),
            "smtp@x.example": ("5.2.1", "smtp; 550 5.2.1 mailbox disabled"),
            "quota@x.example": ("5.2.2", "x-unix; over quota 4.2.2"),
            "plain@x.example": ("5.0.0", "x-unix; exit 1"),
        }
        check("status-map", got == want, "\n got %r\nwant %r" % (got, want))
        check("status-order", [r["Final-Recipient"] for r in d.rcpts] ==
              ["rfc822; " + r for r in rcpts], "%r" % d.rcpts)
    finally:
        q.cleanup()
        w.cleanup()


def test_ret_envid_orcpt():
    q, w = new_queue()
    try:
        ids = inject(q, [
            tx(msg(3), rcpts=(b"<nouser@example.com> ORCPT=rfc822;"
                              b"Orig+2Bbox@example.com",), mp=b"RET=HDRS"),
            tx(msg(4), mp=b"RET=FULL ENVID=ab+3Dc"),
            tx(msg(5), rcpts=(b"<nouser2@example.com> ORCPT=rfc822;"
                              b"x+20y",))])
        rc, out, err = deliver(q, w)
        ds = [one_report("ret-%d" % i, q, ids[i], arrival_of(q, ids[i]))
              for i in range(3)]
        if None in ds:
            return
        bad = returned_problems(ds[0], original(q, ids[0]), False)
        human = ds[0].parts[0].get_content()
        check("ret-hdrs-headers-only", not bad and "RET=HDRS" in human and
              "body of 3" not in ds[0].raw.decode("latin-1"),
              "; ".join(bad) + human)
        r0 = ds[0].rcpts[0]
        check("orcpt-decoded", r0.get("Original-Recipient") ==
              "rfc822; Orig+box@example.com" and
              "Original-Envelope-Id" not in ds[0].per_msg, "%r %r" % (
                  r0, ds[0].per_msg))
        bad = returned_problems(ds[1], original(q, ids[1]), True)
        check("ret-full-original", not bad and
              ds[1].per_msg.get("Original-Envelope-Id") == "ab=c" and
              ds[1].rcpts[0]["Final-Recipient"] == "rfc822; r@example.com",
              "; ".join(bad) + " %r" % ds[1].per_msg)
        check("orcpt-not-xtext-kept-raw", ds[2].rcpts[0].get(
            "Original-Recipient") == "rfc822; x+20y" and not
              returned_problems(ds[2], original(q, ids[2]), True),
              "%r" % ds[2].rcpts)
    finally:
        q.cleanup()
        w.cleanup()


def test_notify():
    q, w = new_queue()
    try:
        ids = inject(q, [
            tx(msg(6), rcpts=(
                b"<nouser-a@example.com> NOTIFY=NEVER",
                b"<nouser-b@example.com> NOTIFY=SUCCESS",
                b"<nouser-c@example.com> NOTIFY=FAILURE",
                b"<nouser-d@example.com>",
                b"<nouser-e@example.com> NOTIFY=SUCCESS,FAILURE ORCPT="
                b"rfc822;E+2Bx@example.com",
                b"<nouser-f@example.com> NOTIFY=DELAY")),
            tx(msg(7), rcpts=(b"<nouser@example.com> NOTIFY=NEVER",
                              b"<perm@example.com> NOTIFY=SUCCESS,DELAY")),
            tx(msg(8), frm=b"<>", rcpts=(b"<nouser@example.com>",))])
        rc, out, err = deliver(q, w, env={"NULLFAIL": "1"})
        d = one_report("notify", q, ids[0], arrival_of(q, ids[0]))
        if d is not None:
            r = d.by_rcpt()
            check("notify-failure-or-none", sorted(r) == [
                "nouser-c@example.com", "nouser-d@example.com",
                "nouser-e@example.com"] and r["nouser-e@example.com"].get(
                    "Original-Recipient") == "rfc822; E+x@example.com",
                "%r" % d.rcpts)
        about = [x.envd.get("Dsn-Of") for x in reports(q)]
        check("notify-never-success-delay-none", ids[1] not in about and
              sorted(q.files("failed")) == sorted(ids), "%r %r" % (
                  about, q.files("failed")))
        check("null-sender-no-report", ids[2] not in about and
              "event=bounce-failed id=" + ids[2] in err and
              "event=failed id=" + ids[0] in err, err)
    finally:
        q.cleanup()
        w.cleanup()


def test_no_bounce_and_report_failing():
    q, w = new_queue()
    try:
        ids = inject(q, [tx(msg(9), rcpts=(b"<nouser@example.com>",))])
        rc, out, err = deliver(q, w, "--no-bounce")
        check("no-bounce", q.files("new") == [] and
              q.files("failed") == ids and "event=failed id=" + ids[0] in
              err and "event=report" not in err and "bounce-failed" not in
              err, "%r %s" % (q.files("new"), err))
        ids = inject(q, [tx(msg(10), rcpts=(b"<nouser@example.com>",))])
        deliver(q, w)
        ds = reports(q)
        one = os.path.join(w.dir, "one.sh")
        w.script("one.sh", "#!/bin/sh\ncat >/dev/null\necho 'no such "
                 "user' >&2\nexit 67\n")
        rc, out, err = qrun(q, "deliver", "--command", one)
        check("report-failing-not-reported", len(ds) == 1 and
              q.files("new") == [] and ds[0].id in q.files("failed") and
              "event=bounce-failed id=" + ds[0].id in err and
              "event=report" not in err and not reports(q, "new"),
              "files %r err %s" % (q.files("failed"), err))
    finally:
        q.cleanup()
        w.cleanup()


# --- per recipient, expiry, delay warnings, success --------------------------

def test_per_recipient_and_expiry():
    q, w = new_queue()
    try:
        ids = inject(q, [tx(msg(11), rcpts=(
            b"<ok@example.com>", b"<nouser@example.com>",
            b"<temp@example.com>"))])
        arrival = arrival_of(q, ids[0], "new")
        rc, out, err = deliver(q, w, "--backoff", "1")
        d = one_report("per-rcpt", q, ids[0], arrival)
        check("per-rcpt-reported-at-once", d is not None and
              list(d.by_rcpt()) == ["nouser@example.com"] and
              ids[0] in q.files("new") and q.files("failed") == [],
              "%r" % all_of(q))
        os.unlink(os.path.join(q.dir, "new", d.id))
        rc, out, err = deliver(q, w, "--force")
        check("per-rcpt-no-second-report", reports(q) == [] and
              ids[0] in q.files("new"), "%r %s" % (all_of(q), err))
        rc, out, err = deliver(q, w, "--force", "--max-age", "0")
        d = one_report("expiry", q, ids[0], arrival)
        if d is None:
            return
        r = d.by_rcpt()
        check("expiry-4.4.7", list(r) == ["temp@example.com"] and
              r["temp@example.com"]["Action"] == "failed" and
              r["temp@example.com"]["Status"] == "4.4.7" and
              r["temp@example.com"]["Diagnostic-Code"] ==
              "smtp; 452 4.2.2 mailbox full, try later" and
              q.files("failed") == ids, "%r %r" % (d.rcpts, all_of(q)))
        calls = [c for c in w.called() if c.startswith(SENDER)]
        check("expiry-ok-once", calls.count(SENDER + " ok@example.com") == 1
              and calls.count(SENDER + " nouser@example.com") == 1,
              "%r" % calls)
    finally:
        q.cleanup()
        w.cleanup()


def all_of(q):
    return {d: q.files(d) for d in ("new", "claim", "failed", "tmp")}


def test_delay_warning():
    q, w = new_queue()
    try:
        ids = inject(q, [
            tx(msg(12), rcpts=(b"<temp@example.com> NOTIFY=DELAY,FAILURE",
                               b"<temp2@example.com>",
                               b"<temp3@example.com> NOTIFY=FAILURE",
                               b"<ok@example.com> NOTIFY=DELAY")),
            tx(msg(13), rcpts=(b"<temp@example.com> NOTIFY=DELAY",)),
            tx(msg(14), rcpts=(b"<temp@example.com> NOTIFY=DELAY",))])
        arrival = age(q, ids[0], 7200)
        age(q, ids[2], 7200)
        rc, out, err = deliver(q, w, "--warn-after", "3600")
        d = one_report("delay", q, ids[0], arrival)
        about = [x.envd.get("Dsn-Of") for x in reports(q)]
        check("delay-not-before-time", ids[1] not in about, "%r" % about)
        if d is None:
            return
        r = d.by_rcpt()
        check("delay-fields", sorted(r) == ["temp2@example.com",
                                            "temp@example.com"] and
              all(x["Action"] == "delayed" and x["Status"] == "4.2.2" and
                  x["Diagnostic-Code"] == "smtp; 452 4.2.2 mailbox full, "
                  "try later" and "Will-Retry-Until" in x
                  for x in r.values()) and
              "Delayed Mail" in d.msg["Subject"] and
              "WARNING ONLY" in d.parts[0].get_content(), "%r" % d.rcpts)
        check("delay-headers-only", not returned_problems(
            d, original(q, ids[0], "new"), False), "%r" % returned_problems(
                d, original(q, ids[0], "new"), False))
        n = len(reports(q))
        rc, out, err = deliver(q, w, "--warn-after", "3600", "--force")
        check("delay-warned-once", len(reports(q)) == n and
              "event=report" not in err, err)
        rc, out, err = deliver(q, w, "--force")
        check("delay-off-by-default", len(reports(q)) == n, err)
    finally:
        q.cleanup()
        w.cleanup()


def test_success():
    q, w = new_queue()
    try:
        ids = inject(q, [tx(msg(15), rcpts=(
            b"<ok-a@example.com> NOTIFY=SUCCESS",
            b"<ok-b@example.com> NOTIFY=FAILURE",
            b"<ok-c@example.com>"), mp=b"RET=FULL")])
        rc, out, err = deliver(q, w)
        check("success-none-without-final", rc == 0 and reports(q) == [] and
              q.files("new") == [], "%r %s" % (all_of(q), err))
        ids = inject(q, [tx(msg(16), rcpts=(
            b"<ok-a@example.com> NOTIFY=SUCCESS,FAILURE",
            b"<ok-b@example.com> NOTIFY=FAILURE",
            b"<nouser@example.com> NOTIFY=SUCCESS,FAILURE"),
            mp=b"RET=FULL")])
        blob = q.read(ids[0])
        arrival = int(dict(envelope(blob)[0])["Arrival"])
        rc, out, err = deliver(q, w, "--final")
        d = one_report("success", q, ids[0], arrival)
        if d is None:
            return
        r = d.by_rcpt()
        check("success-delivered-and-failed", sorted(r) == [
            "nouser@example.com", "ok-a@example.com"] and
            r["ok-a@example.com"]["Action"] == "delivered" and
            r["ok-a@example.com"]["Status"] == "2.0.0" and
            r["nouser@example.com"]["Action"] == "failed",
            "%r" % d.rcpts)
        ids2 = inject(q, [tx(msg(17), rcpts=(
            b"<ok-a@example.com> NOTIFY=SUCCESS",))])
        arrival = arrival_of(q, ids2[0], "new")
        orig = original(q, ids2[0], "new")
        rc, out, err = deliver(q, w, "--final")
        d2 = one_report("success-only", q, ids2[0], arrival)
        check("success-report", d2 is not None and
              "Successful" in d2.msg["Subject"] and
              d2.rcpts[0]["Action"] == "delivered" and
              "Diagnostic-Code" not in d2.rcpts[0] and
              not returned_problems(d2, orig, False) and
              q.files("new") == [x.id for x in reports(q)],
              "%r %r" % (d2 and d2.rcpts, all_of(q)))
        rc, out, err = qrun(q, "deliver", "--final", "--dsn", "notify",
                            "--command", w.agent)
        check("success-final-excludes-dsn-notify", rc == 100, err)
    finally:
        q.cleanup()
        w.cleanup()


# --- what comes back: the cap, 8BITMIME, BINARYMIME, SMTPUTF8 ---------------

def test_returned_content():
    q, w = new_queue()
    try:
        big = b"".join(b"line %07d %s\r\n" % (i, b"y" * 60)
                       for i in range(CAP // 70 + 10))
        near = big[:CAP - 4096]
        near = near[:near.rindex(b"\r\n") + 2]
        eight = crlf(b"Subject: 8bit", b"X-Name: J\xc3\xb6rg", b"",
                     b"Gr\xc3\xbc\xc3\x9fe")
        binary = crlf(b"Subject: binary", b"") + b"\x00\x01\xff\r\n\x00bare\n"
        ids = inject(q, [
            tx(crlf(b"Subject: big", b"") + big, rcpts=(b"<plain@x.example>",),
               mp=b"RET=FULL"),
            tx(crlf(b"Subject: near", b"") + near,
               rcpts=(b"<plain@x.example>",)),
            tx(eight, rcpts=(b"<plain@x.example>",), mp=b"BODY=8BITMIME"),
            bdat(binary)])
        rc, out, err = deliver(q, w)
        ds = [one_report("back-%d" % i, q, ids[i], arrival_of(q, ids[i]))
              for i in range(4)]
        if None in ds:
            return
        bad = returned_problems(ds[0], original(q, ids[0]), False)
        check("cap-headers-only", not bad and "larger than 1048576" in
              ds[0].parts[0].get_content() and len(ds[0].raw) < 20000,
              "; ".join(bad))
        bad = returned_problems(ds[1], original(q, ids[1]), True)
        check("cap-under-full", not bad and len(original(q, ids[1])) <= CAP,
              "; ".join(bad))
        bad = returned_problems(ds[2], original(q, ids[2]), True)
        check("8bitmime-returned", not bad and ds[2].parts[2][
            "Content-Transfer-Encoding"] == "8bit" and
              ds[2].envd.get("Body") == "8BITMIME", "; ".join(bad))
        bad = returned_problems(ds[3], original(q, ids[3]), False)
        check("binarymime-headers-only", not bad and "BINARYMIME" in
              ds[3].parts[0].get_content() and b"\x00" not in ds[3].raw and
              "Body" not in ds[3].envd, "; ".join(bad))
    finally:
        q.cleanup()
        w.cleanup()


def test_smtputf8():
    q, w = new_queue()
    try:
        snd = "j\u00f6rg@example.org"
        ids = inject(q, [tx(crlf(b"Subject: utf8", b"", b"x"),
                            frm=b"<" + snd.encode() + b">", rcpts=(
                                "<b\u00fccher@example.com>".encode(),),
                            mp=b"SMTPUTF8")])
        rc, out, err = deliver(q, w)
        ds = reports(q)
        ok = len(ds) == 1
        d = ds[0] if ok else None
        check("smtputf8-report", ok and d.envd.get("SMTPUTF8") == "yes" and
              d.envd.get("Recipient") == "<%s>" % snd and
              d.envd.get("Body") == "8BITMIME" and
              d.rcpts[0]["Final-Recipient"] ==
              "utf-8; b\\x{FC}cher@example.com" and
              b"\r\nTo: <" + snd.encode() + b">\r\n" in d.raw and
              "<b\\x{FC}cher@example.com>: failed" in
              d.parts[0].get_content() and not rfc3464_problems(
                  d, ids[0], arrival_of(q, ids[0]), snd),
              "%r" % ((d and (d.env, d.rcpts, rfc3464_problems(
                  d, ids[0], arrival_of(q, ids[0]), snd))),))
    finally:
        q.cleanup()
        w.cleanup()


def test_many_recipients():
    q, w = new_queue()
    try:
        n = 60
        ids = inject(q, [tx(msg(18), rcpts=[
            b"<plain%d@example.com>" % i for i in range(n)])])
        fail1 = w.script("fail1.sh", "#!/bin/sh\ncat >/dev/null\nexit 1\n")
        rc, out, err = qrun(q, "deliver", "--hostname", HOST, "--command",
                            fail1)
        d = one_report("many", q, ids[0], arrival_of(q, ids[0]))
        human = d.parts[0].get_content() if d else ""
        check("many-listed", d is not None and len(d.rcpts) == n and
              human.count(": failed, 5.0.0") == 50 and "... and 10 more" in
              human, human[-300:])
    finally:
        q.cleanup()
        w.cleanup()


# --- crashes -------------------------------------------------------------------

def shim_env(q, spec, counts=None):
    return lib.shim_env(q.dir, spec, counts)


def read_counts(path):
    counts = {}
    try:
        with open(path) as f:
            for line in f:
                k, v = line.split()
                counts[k] = counts.get(k, 0) + int(v)
        os.unlink(path)
    except OSError:
        pass
    return counts


def shim_works():
    """Does the shim see smtpd-queue's calls?  Not in a binary with its
    own interceptors linked in (clang's -fsanitize=address)."""
    q = lib.Queue()
    try:
        os.makedirs(os.path.join(q.dir, "new"))
        counts = q.dir + ".counts"
        qrun(q, "list", env=shim_env(q, None, counts))
        return read_counts(counts).get("openat", 0) > 0
    finally:
        q.cleanup()


def crash_case(w, spec):
    """A bouncing run killed at spec, then a clean run: (problems, ids,
    how many runs of the command, the queue)."""
    q = lib.Queue()
    ids = inject(q, [tx(msg(19), rcpts=(b"<nouser@example.com>",
                                        b"<ok@example.com>"))])
    if os.path.exists(w.calls):
        os.unlink(w.calls)
    deliver(q, w, env=shim_env(q, spec))
    first = all_of(q)
    rc, out, err = deliver(q, w)
    p = []
    ds = [d for d in reports(q) if d.envd.get("Dsn-Of") == ids[0]]
    if len(ds) != 1:
        p.append("%d reports (after the crash: %r)" % (len(ds), first))
    if q.files("failed") != ids or q.files("claim"):
        p.append("files %r" % all_of(q))
    for d in ds:
        bad = rfc3464_problems(d, ids[0], arrival_of(q, ids[0]))
        if bad or list(d.by_rcpt()) != ["nouser@example.com"]:
            p.append("report %r %r" % (bad, d.rcpts))
    orphans = set(q.files("tmp")) - set(q.files("new"))
    if any(f in q.files("new") for f in q.files("tmp")):
        p.append("a report both staged and published")
    if rc != 0:
        p.append("rc %d: %s" % (rc, err[-300:]))
    calls = len([c for c in w.called() if c.startswith(SENDER)])
    return p, ids, calls, q, orphans


def test_crash_named_steps():
    """The steps by name: killed just before the report is published
    (renameat2 tmp/->new/, the 2nd), and just before the message moves to
    failed/ (the 3rd; the 1st is the claim)."""
    w = Work()
    try:
        for name, spec in (("before-publish", "renameat2:2:kill"),
                           ("before-move", "renameat2:3:kill")):
            p, ids, calls, q, orphans = crash_case(w, spec)
            try:
                check("crash-%s-one-report" % name, not p and calls == 2 and
                      not orphans, "; ".join(p) + " calls %d orphans %r" %
                      (calls, orphans))
            finally:
                q.cleanup()
        q = lib.Queue()
        try:
            ids = inject(q, [tx(msg(20), rcpts=(b"<nouser@example.com>",))])
            deliver(q, w, env=shim_env(q, "renameat2:2:kill"))
            staged = q.files("tmp")
            old = time.time() - 37 * 3600
            for f in staged:
                os.utime(os.path.join(q.dir, "tmp", f), (old, old))
            with open(os.path.join(q.dir, "tmp", "9.9.9.orphan.x"),
                      "w") as f:
                f.write("Version: 1\n")
            os.utime(os.path.join(q.dir, "tmp", "9.9.9.orphan.x"),
                     (old, old))
            rc, out, err = qrun(q, "clean")
            check("clean-keeps-staged-report", len(staged) == 1 and
                  q.files("tmp") == staged and ids[0] in q.files("new"),
                  "staged %r now %r err %s" % (staged, all_of(q), err))
            rc, out, err = deliver(q, w)
            check("staged-report-recovered", len(reports(q)) == 1 and
                  reports(q)[0].id == staged[0] and
                  "event=report-recovered id=" + ids[0] in err and
                  q.files("tmp") == [], "%r %s" % (all_of(q), err))
        finally:
            q.cleanup()
    finally:
        w.cleanup()


def test_crash_every_call():
    """Killed at each queue call a bouncing run makes, then run again:
    one report, the message in failed/, the command run again only when
    its outcome had not been recorded."""
    w = Work()
    try:
        q = lib.Queue()
        counts_file = q.dir + ".counts"
        ids = inject(q, [tx(msg(19), rcpts=(b"<nouser@example.com>",
                                            b"<ok@example.com>"))])
        deliver(q, w, env=shim_env(q, None, counts_file))
        q.cleanup()
        counts = read_counts(counts_file)
        kinds = [k for k in ("write", "fsync", "dirfsync", "close", "openat",
                             "mkdirat", "renameat", "renameat2", "linkat")
                 if counts.get(k)]
        bad, cases = [], 0
        for k in kinds:
            for n in range(1, counts[k] + 1):
                p, ids, calls, q, orphans = crash_case(w, "%s:%d:kill" % (
                    k, n))
                q.cleanup()
                cases += 1
                if p:
                    bad.append("%s:%d: %s" % (k, n, "; ".join(p)))
        check("crash-every-call", cases >= 20 and not bad,
              "%d cases, counts %r\n  " % (cases, counts) +
              "\n  ".join(bad))
    finally:
        w.cleanup()


def test_write_failures():
    """The report cannot be written (its fsync, or the record): the
    message waits, the command is not run again, the report comes."""
    w = Work()
    try:
        for name, spec in (("report-fsync", "fsync:1:EIO"),
                           ("record-rename", "renameat:1:EIO")):
            q = lib.Queue()
            try:
                ids = inject(q, [tx(msg(21), rcpts=(
                    b"<nouser@example.com>",))])
                if os.path.exists(w.calls):
                    os.unlink(w.calls)
                rc, out, err = deliver(q, w, env=shim_env(q, spec))
                held = q.files("new") == ids and reports(q) == [] and \
                    q.files("tmp") == [] and "cannot write the report" in err
                rc, out, err2 = deliver(q, w, "--force")
                calls = len([c for c in w.called() if c.startswith(SENDER)])
                check("%s-held-then-reported" % name, held and calls == 1 and
                      len(reports(q)) == 1 and q.files("failed") == ids,
                      "held %r calls %d %r\n%s\n%s" % (
                          held, calls, all_of(q), err, err2))
            finally:
                q.cleanup()
    finally:
        w.cleanup()


# --- documentation ---------------------------------------------------------------

def test_docs():
    with open(os.path.join(lib.ROOT, "man", "smtpd-queue.1")) as f:
        page = f.read()
    q = lib.Queue()
    rc, out, err = qrun(q, "--help")
    q.cleanup()
    opts = re.findall(r"--(no-bounce|final|warn-after|hostname)", out.decode())
    missing = [o for o in set(opts) if "Fl \\-" + o.replace("-", "\\-")
               not in page]
    check("docs-options", len(set(opts)) == 4 and not missing,
          "help %r, not in the man page %r" % (opts, missing))
    with open(os.path.join(lib.ROOT, "man", "smtpd-spool.5")) as f:
        check("docs-dsn-of", "Dsn-Of" in f.read(), "")


def main():
    if not os.access(QTOOL, os.X_OK):
        check("smtpd-queue-built", False, "%s is missing (make)" % QTOOL)
        lib.finish()
    tests = [test_failure_basic, test_status_map, test_ret_envid_orcpt,
             test_notify, test_no_bounce_and_report_failing,
             test_per_recipient_and_expiry, test_delay_warning, test_success,
             test_returned_content, test_smtputf8, test_many_recipients,
             test_crash_named_steps, test_write_failures,
             test_crash_every_call, test_docs]
    shim = [t for t in tests if "crash" in t.__name__ or
            "failures" in t.__name__]
    if not os.path.exists(SHIM):
        check("fault-shim-built", False, "%s is missing (make %s)" % (
            SHIM, os.path.relpath(SHIM, lib.ROOT)))
        tests = [t for t in tests if t not in shim]
    elif not shim_works():
        for t in shim:
            print("SKIP %s: the fault shim cannot interpose on this "
                  "smtpd-queue (clang's ASan runtime is linked in; the "
                  "gcc SANITIZE=1 build runs them)" % t.__name__)
        tests = [t for t in tests if t not in shim]
    lib.run_tests(tests)
    lib.finish()


if __name__ == "__main__":
    main()
