"""t_queue.py - smtpd-queue, the delivery side, through real parts.

Mail goes in through smtpd (on pipes, or under tcpserver with Python
smtplib and swaks) and out through `smtpd-queue deliver` into real
programs: procmail writing a Maildir, and msmtp relaying to a second
smtpd; the delivered bytes are compared with what was sent.  Also: 1,000
messages under three deliverers at once (each delivered exactly once),
temporary then permanent failures, per-recipient records, timeouts and
crashes, a deliverer killed mid-run, corrupt queue files, argv safety,
DSN options, --watch, clean, list/show/cat/stats, the man page, units;
the TLS envelope lines (hand-written files) and REQUIRETLS: env and %t;
the AUTH lines (hand-written, and from smtpd after AUTH PLAIN through a
checkpassword program): show, list --json, AUTH_USER, AUTH_PARAM and %a.
"""
import json
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
import tlslib  # noqa: E402
from lib import check  # noqa: E402

QTOOL = os.environ.get("QUEUE_TOOL", os.path.join(lib.ROOT, "smtpd-queue"))
QUEUED_RE = lib.QUEUED_RE
HELO = "client.test.example"

# The recording delivery agent: argv (NUL-separated), SENDER/RECIPIENT
# and stdin, one set of files per run, in $OUTDIR; exits $RC (default 0).
REC_SH = r"""#!/bin/sh
f=$(mktemp "$OUTDIR/r.XXXXXX") || exit 75
for a in "$@"; do printf '%s\0' "$a"; done > "$f.argv"
printf '%s\0%s\0' "${SENDER-(unset)}" "${RECIPIENT-(unset)}" > "$f.env"
cat > "$f.msg"
exit "${RC:-0}"
"""


# --- helpers ---------------------------------------------------------------

crlf, stuff, tx = lib.crlf, lib.stuff, lib.tx


inject = lib.inject


def subject(n, extra=b""):
    return crlf(b"From: s@example.org", b"Subject: msg %d" % n, b"",
                b"body of %d" % n) + extra


def qrun(q, *args, env=None, timeout=60, cwd=None):
    """Run smtpd-queue on queue q: (rc, stdout, stderr)."""
    p = subprocess.run([QTOOL, "--queue", q.dir] + list(args),
                       capture_output=True, env=lib.base_env(env),
                       timeout=timeout, cwd=cwd)
    return p.returncode, p.stdout, p.stderr


def qpopen(q, *args, env=None):
    return subprocess.Popen([QTOOL, "--queue", q.dir] + list(args),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=lib.base_env(env))


def body_of(blob):
    return blob.partition(b"\n\n")[2]


def lf(b):
    return b.replace(b"\r\n", b"\n")


def txt(b):
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else b


def events(err, name):
    return re.findall(r"event=%s id=(\S+)" % re.escape(name), txt(err))


def all_files(q):
    return {d: q.files(d) for d in ("new", "claim", "failed", "corrupt",
                                     "state", "tmp")}


def empty_queue(q):
    f = all_files(q)
    return all(not v for v in f.values()), f


class Work:
    """A scratch directory with the recording agent in it."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="smtpd-qw-")
        self.out = os.path.join(self.dir, "out")
        os.mkdir(self.out)
        self.rec = self.script("rec.sh", REC_SH)

    def script(self, name, body):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(body)
        os.chmod(path, 0o755)
        return path

    def env(self, extra=None):
        e = {"OUTDIR": self.out}
        e.update(extra or {})
        return e

    def runs(self):
        """What the recording agent saw: list of (argv, env, stdin)."""
        got = []
        for n in sorted(os.listdir(self.out)):
            if not n.endswith(".msg"):
                continue
            base = os.path.join(self.out, n[:-4])
            with open(base + ".argv", "rb") as f:
                argv = [a.decode() for a in f.read().split(b"\0")[:-1]]
            with open(base + ".env", "rb") as f:
                env = [a.decode() for a in f.read().split(b"\0")[:-1]]
            with open(base + ".msg", "rb") as f:
                got.append((argv, env, f.read()))
        return got

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def alive(pid):
    """Is pid a live (not zombie) process?"""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def wait_for(fn, timeout=10):
    return lib.wait_for(fn, timeout, 0.02)


# --- list, show, cat, stats, usage ----------------------------------------

def test_inspect():
    q, w = lib.Queue(), Work()
    try:
        m1 = crlf(b"Subject: one", b"", b".dot line", b"end")
        m2 = crlf(b"Subject: two", b"", "Gr\u00fc\u00dfe".encode())
        ids = inject(q, [
            tx(m1, rcpts=(b"<a@example.com> NOTIFY=SUCCESS,FAILURE "
                          b"ORCPT=rfc822;a@example.com", b"<b@example.com>"),
               mp=b"RET=HDRS ENVID=env+2B1"),
            tx(m2, frm=b"<>", rcpts=(b"<postmaster>",),
               mp=b"BODY=8BITMIME")])
        blobs = [q.read(i) for i in ids]
        rc, out, err = qrun(q, "list")
        lines = txt(out).splitlines()
        check("list-text", rc == 0 and len(lines) == 2 and ids[0] in
              lines[0] and "<s@example.org>" in lines[0] and " 2 " in
              lines[0] and "queued" in lines[0] and "<>" in lines[1],
              "rc %d out %r err %r" % (rc, out, err))
        rc, out, err = qrun(q, "list", "--json")
        try:
            js = json.loads(out)
        except ValueError as e:
            js = "bad json %s: %r" % (e, out)
        ok = (rc == 0 and isinstance(js, list) and len(js) == 2 and
              js[0]["id"] == ids[0] and js[0]["sender"] == "s@example.org"
              and js[0]["recipients"] == 2 and js[1]["sender"] == "" and
              js[0]["size"] == len(body_of(blobs[0])) and
              js[0]["state"] == "queued" and js[0]["attempts"] == 0)
        check("list-json", ok, "rc %d %r" % (rc, js))
        rc, out, err = qrun(q, "show", ids[0])
        o = txt(out)
        check("show", rc == 0 and "<s@example.org>" in o and
              "<a@example.com>  pending  notify=SUCCESS,FAILURE  "
              "orcpt=rfc822;a@example.com" in o and "ret         HDRS" in o
              and "envid       env+2B1" in o and "client      local" in o,
              "rc %d out %s err %r" % (rc, o, err))
        rc, out, err = qrun(q, "cat", ids[1])
        check("cat", rc == 0 and out == body_of(blobs[1]) and
              out.endswith(b"\r\n" + "Gr\u00fc\u00dfe".encode() + b"\r\n"),
              "rc %d %r" % (rc, out[-200:]))
        rc, out, err = qrun(q, "cat", "--lf", ids[0])
        check("cat-lf", rc == 0 and out == lf(body_of(blobs[0])) and
              b"\r" not in out and out.endswith(b"\n.dot line\nend\n"),
              "rc %d %r" % (rc, out[-200:]))
        rc, out, err = qrun(q, "stats", "--json")
        try:
            st = json.loads(out)
        except ValueError:
            st = {}
        check("stats-json", rc == 0 and st.get("queued") == 2 and
              st.get("failed") == 0 and st.get("bytes") ==
              sum(len(b) for b in blobs), "rc %d %r" % (rc, out))
        rc, out, err = qrun(q, "stats")
        check("stats-text", rc == 0 and b"queued    2" in out, "%r" % out)
        check_usage(q, w)
        check("inspect-readonly", all_files(q)["new"] == sorted(ids) and
              [q.read(i) for i in ids] == blobs, "%r" % all_files(q))
    finally:
        q.cleanup()
        w.cleanup()


def check_usage(q, w):
    for name, args, want in (
            ("show-unknown", ["show", "1.2.3.nothere.x"], 1),
            ("show-traversal", ["show", "../new"], 1),
            ("cat-unknown", ["cat", "nothere"], 1),
            ("usage-no-command", [], 100),
            ("usage-unknown-command", ["frobnicate"], 100),
            ("usage-option-not-for-command", ["cat", "x", "--json"], 100),
            ("usage-deliver-needs-command", ["deliver"], 100),
            ("usage-command-not-found",
             ["deliver", "--command", "/nonexistent/mda -x"], 100),
            ("usage-bad-placeholder",
             ["deliver", "--command", w.rec + " %x"], 100),
            ("usage-unterminated-quote",
             ["deliver", "--command", w.rec + " 'abc"], 100),
            ("usage-dsn-with-placeholders",
             ["deliver", "--command", w.rec + " %r", "--dsn", "all"], 100),
            ("usage-%t-in-command-name",
             ["deliver", "--command", "%t " + w.rec], 100),
            ("usage-percent-at-end",
             ["deliver", "--command", w.rec + " x%"], 100)):
        rc, out, err = qrun(q, *args)
        check(name, rc == want, "rc %d (want %d) err %r" % (rc, want, err))
    rc, out, err = qrun(q, "--help")
    check("help", rc == 0 and b"deliver --command" in out, "%r" % out)


# --- end to end: smtplib/swaks -> tcpserver+smtpd -> procmail, msmtp -------

def free_port():
    return lib.free_port()


class Server:
    """tcpserver on 127.0.0.1 running smtpd into a fresh queue."""

    def __init__(self, host=lib.HOST, args=()):
        self.q = lib.Queue()
        self.log = open(os.path.join(self.q.dir, "server.log"), "ab")
        for _ in range(5):
            self.port = free_port()
            self.p = subprocess.Popen(
                ["tcpserver", "-q", "-H", "-R", "127.0.0.1", str(self.port),
                 lib.SMTPD, "--queue", self.q.dir, "--hostname", host]
                + list(args),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=self.log, env=lib.base_env(), start_new_session=True)
            if wait_for(self.ready, 5):
                return
            self.stop()
        raise RuntimeError("tcpserver did not start")

    def ready(self):
        if self.p.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", self.port), 1) as s:
                s.settimeout(3)
                if s.recv(100).startswith(b"220 "):
                    s.sendall(b"QUIT\r\n")
                    s.recv(100)
                    return True
        except OSError:
            pass
        return False

    def stop(self):
        lib.stop_group(self.p)

    def cleanup(self):
        self.stop()
        self.log.close()
        self.q.cleanup()


received_split = lib.received_split


def send_samples(srv):
    """Mail through smtplib (and swaks): {queue id: client's bytes}."""
    long_line = b"L" * 100000
    samples = [
        ("s@example.org", ["r@example.com"],
         crlf(b"From: s@example.org", b"Subject: plain", b"", b"hello"), []),
        ("s@example.org", ["r1@example.com", "r2@example.com"],
         crlf(b"Subject: 8 bit", b"Content-Type: text/plain; charset=utf-8",
              b"", "Gr\u00fc\u00dfe aus K\u00f6ln \u2603".encode(),
              b".leading dot", b"..", b".", b"", b"end"), ["BODY=8BITMIME"]),
        ("s@example.org", ["r@example.com"],
         crlf(b"Subject: long", b"", long_line, b"x" * 70, b"tail \t ")
         + crlf(*[b"line %d" % i for i in range(3000)]), []),
        ("j\u00fcrgen@b\u00fccher.example", ["\u00f8le@example.com"],
         crlf("Subject: \u00e4".encode(), b"", "\u00fc".encode()),
         ["SMTPUTF8"]),
    ]
    sent = {}
    with smtplib.SMTP("127.0.0.1", srv.port, local_hostname=HELO,
                      timeout=20) as c:
        for frm, to, raw, opts in samples:
            before = set(srv.q.files("new"))
            c.sendmail(frm, to, raw, mail_options=opts)
            new = sorted(set(srv.q.files("new")) - before)
            sent[new[0]] = raw
    if shutil.which("swaks"):
        before = set(srv.q.files("new"))
        p = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % srv.port,
                            "--helo", HELO, "--to", "u@example.com",
                            "--from", "s@example.org", "--header",
                            "Subject: by swaks", "--body", "from swaks"],
                           capture_output=True, timeout=30,
                           env=lib.base_env())
        new = sorted(set(srv.q.files("new")) - before)
        if p.returncode == 0 and len(new) == 1:
            sent[new[0]] = None	# swaks writes its own headers
    return sent


def procmail_rc(w, name):
    md = os.path.join(w.dir, name)
    rc = os.path.join(w.dir, name + ".rc")
    with open(rc, "w") as f:
        f.write("MAILDIR=%s\nDEFAULT=%s/\nLOGFILE=%s.log\n" % (w.dir, md, md))
    return md, rc


def maildir_messages(md):
    got = []
    for sub in ("new", "cur"):
        d = os.path.join(md, sub)
        for n in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            with open(os.path.join(d, n), "rb") as f:
                got.append(f.read())
    return got


def test_e2e_procmail():
    if shutil.which("procmail") is None:
        check("e2e-procmail", False, "procmail is not installed "
              "(package procmail; tests/deps.sh installs it)")
        return
    srv, w = Server(), Work()
    try:
        sent = send_samples(srv)
        spooled = {i: srv.q.read(i) for i in sent}
        bad = [i for i, raw in sent.items() if raw is not None and
               received_split(body_of(spooled[i]))[1] != raw]
        check("e2e-spooled-as-sent", len(sent) >= 4 and not bad,
              "%d sent, differ: %r" % (len(sent), bad))
        md, rc_file = procmail_rc(w, "Maildir")
        rc, out, err = qrun(srv.q, "deliver", "--command",
                            "procmail -f %s -m " + rc_file)
        got = sorted(maildir_messages(md))
        want = sorted(lf(body_of(b)) for b in spooled.values())
        check("e2e-procmail-delivered", rc == 0 and
              sorted(events(err, "delivered")) == sorted(sent),
              "rc %d err %s" % (rc, txt(err)))
        check("e2e-procmail-bytes", got == want, "got %d messages, want %d;"
              " first differing: %r" % (len(got), len(want), next(
                  ((g[:300], x[:300]) for g, x in zip(got, want) if g != x),
                  None)))
        lfraw = [lf(r) for r in sent.values() if r is not None]
        check("e2e-procmail-client-bytes", all(any(
            m.endswith(r) and m.startswith(b"Received: ") for m in got)
            for r in lfraw), "a client's bytes are missing in the Maildir")
        ok, files = empty_queue(srv.q)
        check("e2e-procmail-queue-empty", ok, "%r" % files)
        # --crlf: the bytes exactly as spooled
        ids = inject(srv.q, [tx(crlf(b"Subject: crlf", b"", b"a", b"b"))])
        blob = srv.q.read(ids[0])
        md2, rc2 = procmail_rc(w, "Maildir-crlf")
        rc, out, err = qrun(srv.q, "deliver", "--crlf", "--command",
                            "procmail -f %s -m " + rc2)
        check("e2e-procmail-crlf", rc == 0 and maildir_messages(md2) ==
              [body_of(blob)], "rc %d %r err %s" % (
                  rc, maildir_messages(md2), txt(err)))
    finally:
        srv.cleanup()
        w.cleanup()


def test_e2e_msmtp():
    if shutil.which("msmtp") is None:
        check("e2e-msmtp", False, "msmtp is not installed "
              "(package msmtp; tests/deps.sh installs it)")
        return
    src = sink = None
    try:
        src = Server()
        sink = Server(host="sink.test.example")
        raw = crlf(b"From: s@example.org", b"Subject: relayed", b"",
                   b".dot", b"..two", b".", "\u00fc".encode(), b"end")
        with smtplib.SMTP("127.0.0.1", src.port, local_hostname=HELO,
                          timeout=20) as c:
            c.sendmail("s@example.org", ["a@example.com", "-b@example.com"],
                       raw, mail_options=["RET=HDRS", "ENVID=e+2B1",
                                          "BODY=8BITMIME"],
                       rcpt_options=["NOTIFY=SUCCESS,FAILURE"])
            c.sendmail("", ["c@example.com"], raw)
        ids = src.q.files("new")
        spooled = {i: src.q.read(i) for i in ids}
        cmd = ("msmtp -C /dev/null --host=127.0.0.1 --port=%d "
               "--domain=relay.test.example --auth=off --tls=off "
               "--set-from-header=off --set-date-header=off "
               "--set-msgid-header=off --remove-bcc-headers=off"
               % sink.port)
        rc, out, err = qrun(src.q, "deliver", "--dsn", "notify,ret",
                            "--command", cmd)
        check("e2e-msmtp-delivered", rc == 0 and len(ids) == 2 and
              sorted(events(err, "delivered")) == sorted(ids) and
              src.q.files("new") == [], "rc %d err %s" % (rc, txt(err)))
        relayed = {}
        for n in sink.q.files("new"):
            fields, msg = lib.split_spool(sink.q.read(n))
            relayed[dict(fields)["Sender"]] = (fields, msg)
        orig = {dict(lib.split_spool(b)[0])["Sender"]: lib.split_spool(b)
                for b in spooled.values()}
        ok = sorted(relayed) == ["<>", "<s@example.org>"]
        for sender in relayed if ok else ():
            fields, msg = relayed[sender]
            ok = ok and received_split(msg)[1] == orig[sender][1]
        check("e2e-msmtp-bytes", ok, "relayed %r" % {
            k: v[1][:200] for k, v in relayed.items()})
        f = relayed.get("<s@example.org>", ([], b""))[0]
        check("e2e-msmtp-dsn", ("Ret", "HDRS") in f and [
            (k, v) for k, v in f if k in ("Recipient", "Notify")] == [
            ("Recipient", "<a@example.com>"), ("Notify", "SUCCESS,FAILURE"),
            ("Recipient", "<-b@example.com>"),
            ("Notify", "SUCCESS,FAILURE")], "sink envelope %r" % f)
    finally:
        for s in (src, sink):
            if s is not None:
                s.cleanup()


# --- concurrency: 1,000 messages, three deliverers --------------------------

def test_concurrent():
    q, w = lib.Queue(), Work()
    try:
        n = 1000
        ids = inject(q, [tx(subject(i)) for i in range(n)])
        if shutil.which("procmail"):
            md, rc_file = procmail_rc(w, "Maildir")
            cmd = "procmail -f %s -m " + rc_file
        else:
            md, cmd = None, w.rec
        start = time.monotonic()
        ps = [qpopen(q, "deliver", "--command", cmd, env=w.env())
              for _ in range(3)]
        res = [p.communicate(timeout=120) for p in ps]
        took = time.monotonic() - start
        errs = [txt(e) for _, e in res]
        per = [events(e, "delivered") for e in errs]
        logged = [i for p in per for i in p]
        check("concurrent-exit", all(p.returncode == 0 for p in ps),
              "%r %s" % ([p.returncode for p in ps], errs[0][-500:]))
        check("concurrent-each-logged-once", sorted(logged) == sorted(ids),
              "logged %d (%d distinct) of %d" % (
                  len(logged), len(set(logged)), n))
        check("concurrent-all-worked", sum(1 for p in per if p) >= 2,
              "deliveries per process: %r" % [len(p) for p in per])
        if md is not None:
            got = maildir_messages(md)
        else:
            got = [m for _, _, m in w.runs()]
        subj = sorted(int(m) for m in re.findall(
            rb"(?m)^Subject: msg (\d+)$", b"".join(got)))
        check("concurrent-exactly-once", len(got) == n and
              subj == list(range(n)), "%d delivered, %d distinct subjects"
              % (len(got), len(set(subj))))
        ok, files = empty_queue(q)
        check("concurrent-queue-empty", ok, "%r" % {
            k: len(v) for k, v in files.items()})
        print("concurrent: %d messages, 3 deliverers, %.1f s, per process %r"
              % (n, took, [len(p) for p in per]))
    finally:
        q.cleanup()
        w.cleanup()


# --- failures ------------------------------------------------------------

def state_of(q, qid):
    try:
        with open(os.path.join(q.dir, "state", qid)) as f:
            return dict(ln.split(": ", 1) for ln in f.read().splitlines()
                        if ": " in ln), f.name
    except OSError:
        return None, None


def deliver_logged(q, w, env):
    """deliver with w.rec, stderr a file; (rc, what it logged)."""
    with tempfile.TemporaryFile(dir=w.dir) as log:
        st = os.fstat(log.fileno())
        stream = "%d:%d" % (st.st_dev, st.st_ino)
        full = dict(w.env(), **{k: v.replace("@", stream)
                                for k, v in env.items()})
        p = subprocess.run([QTOOL, "--queue", q.dir, "deliver", "--command",
                            w.rec], stdout=subprocess.DEVNULL, stderr=log,
                           env=lib.base_env(full), timeout=60)
        log.seek(0)
        return p.returncode, txt(log.read())


def test_journal_prefix():
    """On journald's stream (JOURNAL_STREAM names stderr) journald
    stamps name and pid itself: the line starts at "event="."""
    q, w = lib.Queue(), Work()
    try:
        inject(q, [tx(subject(1))])
        rc, log = deliver_logged(q, w, {"JOURNAL_STREAM": "@"})
        check("journal-no-prefix", rc == 0 and
              log.startswith("event=delivered ") and "smtpd-queue[" not in
              log, "rc %d %r" % (rc, log))
        inject(q, [tx(subject(2))])
        rc, log = deliver_logged(q, w, {"JOURNAL_STREAM": "1:2"})
        check("journal-other-stream-prefix", rc == 0 and
              re.match(r"smtpd-queue\[\d+\]: event=delivered ", log),
              "rc %d %r" % (rc, log))
    finally:
        q.cleanup()
        w.cleanup()


def test_tempfail_then_success():
    q, w = lib.Queue(), Work()
    try:
        once = w.script("once.sh", "#!/bin/sh\n"
                        "echo run >> \"$OUTDIR/../count\"\n"
                        "if [ ! -e \"$OUTDIR/../seen\" ]; then\n"
                        "  touch \"$OUTDIR/../seen\"; cat >/dev/null\n"
                        "  echo 'mailbox locked' >&2; exit 75\nfi\n"
                        "exec " + w.rec + "\n")
        count = os.path.join(w.dir, "count")
        ids = inject(q, [tx(subject(1))])
        t0 = int(time.time())
        rc, out, err = qrun(q, "deliver", "--backoff", "2", "--command",
                            once, env=w.env())
        st, _ = state_of(q, ids[0])
        check("tempfail-deferred", rc == 0 and q.files("new") == ids and
              st is not None and st.get("Attempts") == "1" and
              int(st.get("Next-Try", 0)) >= t0 + 2 and
              "exit 75: mailbox locked" in st.get("Last-Error", "") and
              events(err, "deferred") == ids, "rc %d state %r err %s" % (
                  rc, st, txt(err)))
        rc, out, err = qrun(q, "list", "--json")
        js = json.loads(out)
        check("tempfail-listed", js[0]["state"] == "deferred" and
              js[0]["attempts"] == 1 and js[0]["next_try"] >= t0 + 2,
              "%r" % js)
        rc, out, err = qrun(q, "deliver", "--backoff", "2", "--command",
                            once, env=w.env())
        with open(count) as f:
            runs = f.read().count("run")
        check("tempfail-not-before-due", rc == 0 and runs == 1 and
              q.files("new") == ids, "runs %d err %s" % (runs, txt(err)))
        st, _ = state_of(q, ids[0])
        time.sleep(max(0, int(st["Next-Try"]) + 0.05 - time.time()))
        rc, out, err = qrun(q, "deliver", "--command", once, env=w.env())
        got = w.runs()
        ok, files = empty_queue(q)
        check("tempfail-then-delivered", rc == 0 and ok and len(got) == 1
              and got[0][2].endswith(b"\nbody of 1\n") and
              events(err, "delivered") == ids, "err %s files %r" % (
                  txt(err), files))
    finally:
        q.cleanup()
        w.cleanup()


def test_permanent_failure():
    q, w = lib.Queue(), Work()
    try:
        nouser = w.script("nouser.sh", "#!/bin/sh\ncat >/dev/null\n"
                          "echo \"$1: no such user here\" >&2\nexit 67\n")
        ids = inject(q, [tx(subject(1)), tx(subject(2))])
        blob = q.read(ids[0])
        rc, out, err = qrun(q, "deliver", "--no-bounce", "--command",
                            nouser)
        st, _ = state_of(q, ids[0])
        check("permfail-failed-dir", rc == 0 and q.files("failed") ==
              sorted(ids) and q.files("new") == [] and
              q.read(ids[0], "failed") == blob, "files %r err %s" % (
                  all_files(q), txt(err)))
        check("permfail-reason", st is not None and "exit 67: -f: no such "
              "user here" in st.get("Reason", "") and
              sorted(events(err, "failed")) == sorted(ids),
              "state %r err %s" % (st, txt(err)))
        rc, out, err = qrun(q, "list", "--failed", "--json")
        js = json.loads(out)
        check("permfail-listed", len(js) == 2 and js[0]["state"] == "failed"
              and "exit 67" in js[0]["reason"], "%r" % js)
    finally:
        q.cleanup()
        w.cleanup()


def test_per_recipient():
    q, w = lib.Queue(), Work()
    try:
        agent = w.script("per.sh", "#!/bin/sh\n"
                         "echo \"$RECIPIENT\" >> \"$OUTDIR/../calls\"\n"
                         "case \"$RECIPIENT\" in\n"
                         "perm@*) cat >/dev/null; echo unknown >&2; exit 67;;\n"
                         "temp@*) if [ ! -e \"$OUTDIR/../t\" ]; then\n"
                         "  touch \"$OUTDIR/../t\"; cat >/dev/null; exit 75\n"
                         "  fi;;\nesac\nexec " + w.rec + " \"$@\"\n")
        ids = inject(q, [tx(subject(1), rcpts=(
            b"<ok@example.com>", b"<temp@example.com>",
            b"<perm@example.com>", b"<ok2@example.com>"))])
        rc, out, err = qrun(q, "deliver", "--per-recipient", "--no-bounce",
                            "--command", agent, env=w.env())
        st, path = state_of(q, ids[0])
        with open(path) as f:
            raw = f.read()
        check("per-rcpt-recorded", rc == 0 and q.files("new") == ids and
              "Delivered: 1 <ok@example.com>\n" in raw and
              "Delivered: 4 <ok2@example.com>\n" in raw and
              "Failed: 3 <perm@example.com> exit 67: unknown\n" in raw and
              "temp@" not in raw, "rc %d state:\n%s\nerr %s" % (
                  rc, raw, txt(err)))
        rc, out, err = qrun(q, "deliver", "--per-recipient", "--force",
                            "--no-bounce", "--command", agent, env=w.env())
        with open(os.path.join(w.dir, "calls")) as f:
            calls = f.read().split()
        runs = w.runs()
        check("per-rcpt-no-resend", calls == [
            "ok@example.com", "temp@example.com", "perm@example.com",
            "ok2@example.com", "temp@example.com"], "calls %r" % calls)
        check("per-rcpt-env-argv", sorted(
            (r[1][1], r[0]) for r in runs) == sorted(
            (a, ["-f", "s@example.org", "--", a]) for a in (
                "ok@example.com", "ok2@example.com", "temp@example.com"))
            and all(r[1][0] == "s@example.org" for r in runs),
            "%r" % [(r[0], r[1]) for r in runs])
        st, _ = state_of(q, ids[0])
        check("per-rcpt-partial-failure", q.files("failed") == ids and
              st.get("Reason", "").startswith("1 of 4 recipients failed"),
              "files %r state %r" % (all_files(q), st))
    finally:
        q.cleanup()
        w.cleanup()


def test_timeout_crash_expiry():
    q, w = lib.Queue(), Work()
    try:
        pidfile = os.path.join(w.dir, "bg.pid")
        hang = w.script("hang.sh", "#!/bin/sh\nsleep 30 &\n"
                        "echo $! > %s\nsleep 30\n" % pidfile)
        ids = inject(q, [tx(subject(1))])
        t0 = time.monotonic()
        rc, out, err = qrun(q, "deliver", "--timeout", "1", "--command",
                            hang)
        took = time.monotonic() - t0
        st, _ = state_of(q, ids[0])
        with open(pidfile) as f:
            bg = int(f.read())
        check("timeout-deferred", rc == 0 and took < 10 and
              q.files("new") == ids and st is not None and
              st.get("Last-Error") == "timed out after 1 s",
              "took %.1f state %r err %s" % (took, st, txt(err)))
        check("timeout-group-killed", wait_for(lambda: not alive(bg), 3),
              "background child %d still runs" % bg)
        crash = w.script("crash.sh", "#!/bin/sh\nkill -SEGV $$\n")
        rc, out, err = qrun(q, "deliver", "--force", "--command", crash)
        st, _ = state_of(q, ids[0])
        check("crash-deferred", q.files("new") == ids and
              st.get("Attempts") == "2" and
              st.get("Last-Error") == "killed by signal 11",
              "state %r err %s" % (st, txt(err)))
        tempf = w.script("tempf.sh", "#!/bin/sh\nexit 75\n")
        rc, out, err = qrun(q, "deliver", "--force", "--max-age", "0",
                            "--command", tempf)
        st, _ = state_of(q, ids[0])
        check("max-age-failed", q.files("failed") == ids and
              "expired after" in st.get("Reason", "") and
              "exit 75" in st.get("Reason", ""), "state %r err %s" % (
                  st, txt(err)))
    finally:
        q.cleanup()
        w.cleanup()


def test_killed_deliverer():
    q, w = lib.Queue(), Work()
    try:
        log = os.path.join(w.dir, "log")
        marker = os.path.join(w.dir, "inflight")
        slow = w.script("slow.sh", "#!/bin/sh\n"
                        "m=$(cat)\n"
                        "echo x >> %s.count\n"
                        "if [ $(wc -l < %s.count) -eq 4 ] && "
                        "[ ! -e %s ]; then\n"
                        "  echo $$ > %s; exec sleep 30\nfi\n"
                        "printf '%%s\\n' \"$m\" | grep '^Subject:' >> %s\n"
                        % (log, log, marker, marker, log))
        n = 12
        ids = inject(q, [tx(subject(i)) for i in range(n)])
        p = qpopen(q, "deliver", "--command", slow)
        got_marker = wait_for(lambda: os.path.exists(marker) and
                              os.path.getsize(marker) > 0, 15)
        p.send_signal(signal.SIGKILL)
        p.communicate()
        with open(marker) as f:
            mda = int(f.read())
        check("killed-mda-dies-too", got_marker and
              wait_for(lambda: not alive(mda), 3), "agent %d alive" % mda)
        claimed = q.files("claim")
        check("killed-claim-left", len(claimed) == 1 and
              len(q.files("new")) == n - 4, "%r" % all_files(q))
        rc, out, err = qrun(q, "list", "--json")
        js = json.loads(out)
        check("killed-listed", sorted(e["id"] for e in js) ==
              sorted(q.files("new") + claimed) and [e["id"] for e in js if e["state"] == "claimed"] ==
              claimed, "%r" % js)
        rc, out, err = qrun(q, "deliver", "--command", slow)
        with open(log) as f:
            subj = sorted(f.read().splitlines())
        ok, files = empty_queue(q)
        check("killed-recovered", rc == 0 and events(err, "recovered") ==
              claimed, "err %s" % txt(err))
        check("killed-none-lost-none-doubled", ok and subj == sorted(
            "Subject: msg %d" % i for i in range(n)), "log %r files %r" % (
                subj, files))
    finally:
        q.cleanup()
        w.cleanup()


def test_corrupt_files():
    q, w = lib.Queue(), Work()
    try:
        ids = inject(q, [tx(subject(i)) for i in range(4)])
        good = q.read(ids[3])
        os.unlink(os.path.join(q.dir, "new", ids[3]))
        new = os.path.join(q.dir, "new")
        target = os.path.join(w.dir, "outside")
        with open(target, "wb") as f:
            f.write(b"do not touch")
        bad = {
            "1.1.1.trunc.x": (good[:good.index(b"Sender:")],
                              "truncated envelope"),
            "2.2.2.version.x": (good.replace(b"Version: 1\n",
                                             b"Version: 9\n"),
                                "unknown version 9"),
            "3.3.3.garbage.x": (b"\x00\xff garbage " + os.urandom(3000),
                                "not a queue file"),
            "4.4.4.empty.x": (b"", "empty file"),
            "5.5.5.sender.x": (re.sub(rb"Sender: <[^>]*>", b"Sender: nope",
                                      good), "bad value for Sender"),
            "6.6.6.norcpt.x": (re.sub(rb"Recipient: <[^>]*>\n", b"", good),
                               "no recipient"),
        }
        for name, (data, _) in bad.items():
            with open(os.path.join(new, name), "wb") as f:
                f.write(data)
        os.symlink(target, os.path.join(new, "7.7.7.link.x"))
        rc, out, err = qrun(q, "deliver", "--command", w.rec, env=w.env())
        runs = w.runs()
        e = txt(err)
        check("corrupt-rest-delivered", rc == 0 and len(runs) == 3 and
              sorted(events(err, "delivered")) == sorted(ids[:3]),
              "rc %d runs %d err %s" % (rc, len(runs), e))
        check("corrupt-moved-aside", q.files("corrupt") == sorted(
            list(bad) + ["7.7.7.link.x"]) and q.files("new") == [],
            "%r" % all_files(q))
        missing = [n for n, (_, why) in bad.items() if not re.search(
            r"event=bad-file id=%s .*reason=\"[^\"]*%s" % (
                re.escape(n), re.escape(why)), e)]
        check("corrupt-clear-errors", not missing and
              "id=7.7.7.link.x reason=\"a symbolic link\"" in e,
              "missing %r in %s" % (missing, e))
        with open(target, "rb") as f:
            check("corrupt-symlink-target-untouched",
                  f.read() == b"do not touch" and os.path.islink(
                      os.path.join(q.dir, "corrupt", "7.7.7.link.x")), "")
        st, _ = state_of(q, "2.2.2.version.x")
        check("corrupt-reason-recorded", st is not None and
              st.get("Reason") == "line 1: unknown version 9", "%r" % st)
        rc, out, err = qrun(q, "list", "--failed", "--json")
        js = json.loads(out)
        check("corrupt-listed", rc == 0 and len(js) == 7 and
              all(x["state"] == "corrupt" for x in js), "%r" % js)
    finally:
        q.cleanup()
        w.cleanup()


def test_mutations():
    """Damaged copies of a real queue file: each one is either delivered
    or set aside; the deliverer never crashes (run it under ASan)."""
    import random
    q, w = lib.Queue(), Work()
    try:
        ids = inject(q, [tx(subject(1), rcpts=(
            b"<a@example.com> NOTIFY=SUCCESS ORCPT=rfc822;a@example.com",
            b'<"q u"@example.com>'), mp=b"RET=HDRS ENVID=x+2By")])
        good = q.read(ids[0])
        os.unlink(os.path.join(q.dir, "new", ids[0]))
        head = good.index(b"\n\n") + 2
        rnd = random.Random(4)
        n = 300
        for i in range(n):
            b = bytearray(good)
            for _ in range(rnd.randint(1, 3)):
                k = rnd.randrange(min(head + 8, len(b)))
                op = rnd.randrange(4)
                if op == 0:
                    b[k] = rnd.randrange(256)
                elif op == 1:
                    del b[k:k + rnd.randint(1, 12)]
                elif op == 2:
                    b[k:k] = bytes([rnd.choice(b"\n:<> ,;+\0\r-")])
                else:
                    del b[k:]
            with open(os.path.join(q.dir, "new", "%d.m.x" % i), "wb") as f:
                f.write(bytes(b))
        rc, out, err = qrun(q, "deliver", "--command", w.rec, env=w.env(),
                            timeout=120)
        done = len(events(err, "delivered")) + len(events(err, "bad-file"))
        check("mutations-no-crash", rc == 0 and done == n and
              q.files("new") == [] and q.files("claim") == [] and
              len(q.files("corrupt")) + len(w.runs()) == n,
              "rc %d, %d of %d accounted for; %s" % (
                  rc, done, n, txt(err)[-600:]))
        rc, out, err = qrun(q, "list", "--failed", "--json")
        try:
            ok = len(json.loads(out)) == len(q.files("corrupt"))
        except ValueError:
            ok = False
        check("mutations-listed", rc == 0 and ok, "rc %d %r" % (
            rc, out[-300:]))
    finally:
        q.cleanup()
        w.cleanup()


# --- argv, environment, descriptors, DSN ------------------------------------

def test_argv_safety():
    q, w = lib.Queue(), Work()
    try:
        pwned = os.path.join(w.dir, "PWNED")
        evil = '"$(touch PWNED);`touch PWNED`|>x"@example.com'
        rcpts = ["-rf@example.com", '"john doe"@example.com', evil]
        inject(q, [tx(subject(1), frm=b"<-x@example.org>",
                      rcpts=[b"<" + r.encode() + b">" for r in rcpts])])
        rc, out, err = qrun(q, "deliver", "--command", w.rec + " -i",
                            env=w.env(), cwd=w.dir)
        runs = w.runs()
        check("argv-sendmail-form", rc == 0 and len(runs) == 1 and
              runs[0][0] == ["-i", "-f", "-x@example.org", "--"] + rcpts
              and not os.path.exists(pwned), "%r err %s" % (
                  runs and runs[0][0], txt(err)))
        shutil.rmtree(w.out)
        os.mkdir(w.out)
        ids = inject(q, [tx(subject(2), rcpts=[
            b"<" + r.encode() + b">" for r in rcpts])])
        rc, out, err = qrun(q, "deliver", "--per-recipient", "--no-bounce",
                            "--command", w.rec + " %r", env=w.env(),
                            cwd=w.dir)
        runs = w.runs()
        st, _ = state_of(q, ids[0])
        check("argv-dash-refused-without-dashdash", sorted(
            r[0] for r in runs) == sorted([[rcpts[1]], [rcpts[2]]]) and
              q.files("failed") == ids and "starts with '-'" in
              st.get("Reason", ""), "runs %r state %r" % (
                  [r[0] for r in runs], st))
        shutil.rmtree(w.out)
        os.mkdir(w.out)
        inject(q, [tx(subject(3), frm=b"<>", rcpts=[
            b"<" + r.encode() + b">" for r in rcpts])])
        rc, out, err = qrun(q, "deliver", "--command",
                            w.rec + " --from=%s -- %r", env=w.env(),
                            cwd=w.dir)
        runs = w.runs()
        check("argv-placeholders", len(runs) == 1 and runs[0][0] ==
              ["--from=<>", "--"] + rcpts and runs[0][1] ==
              ["", "(unset)"] and not os.path.exists(pwned),
              "%r" % [r[:2] for r in runs])
    finally:
        q.cleanup()
        w.cleanup()


def test_fds_and_env():
    q, w = lib.Queue(), Work()
    try:
        probe = w.script("probe.py", "#!%s\nimport os, sys\n"
                         "fds = []\nfor n in range(3, 1024):\n"
                         "    try:\n        os.fstat(n)\n"
                         "        fds.append(n)\n    except OSError:\n"
                         "        pass\n"
                         "data = sys.stdin.buffer.read()\n"
                         "with open(os.environ['OUTDIR'] + '/probe', 'w')"
                         " as f:\n    f.write('%%r %%r %%r %%r' %% (fds, "
                         "os.getpgrp() == os.getpid(), "
                         "os.environ.get('RECIPIENT'), len(data)))\n"
                         % sys.executable)
        inject(q, [tx(subject(1))])
        rc, out, err = qrun(q, "deliver", "--per-recipient", "--command",
                            probe, env=w.env())
        try:
            with open(os.path.join(w.out, "probe")) as f:
                got = f.read()
        except OSError:
            got = None
        check("exec-no-fd-leak-own-group", rc == 0 and got is not None and
              got.startswith("[] True 'r@example.com' "),
              "probe %r err %s" % (got, txt(err)))
    finally:
        q.cleanup()
        w.cleanup()


def test_dsn_options():
    q, w = lib.Queue(), Work()
    try:
        inject(q, [tx(subject(1), rcpts=(
            b"<a@example.com> NOTIFY=SUCCESS", b"<b@example.com> NOTIFY=SUCCESS",
            b"<c@example.com> NOTIFY=NEVER", b"<d@example.com>"),
            mp=b"RET=FULL ENVID=ab+2Bc")])
        rc, out, err = qrun(q, "deliver", "--dsn", "all", "--command",
                            w.rec, env=w.env())
        got = sorted(r[0] for r in w.runs())
        base = ["-f", "s@example.org"]
        tail = ["-R", "full", "-V", "ab+c", "--"]
        want = sorted([base + ["-N", "success"] + tail + ["a@example.com",
                                                         "b@example.com"],
                       base + ["-N", "never"] + tail + ["c@example.com"],
                       base + tail + ["d@example.com"]])
        check("dsn-options", rc == 0 and got == want, "got %r" % got)
        shutil.rmtree(w.out)
        os.mkdir(w.out)
        inject(q, [tx(subject(2), rcpts=(b"<a@example.com> NOTIFY=DELAY",),
                      mp=b"RET=HDRS")])
        rc, out, err = qrun(q, "deliver", "--command", w.rec, env=w.env())
        got = [r[0] for r in w.runs()]
        check("dsn-off-by-default", got == [["-f", "s@example.org", "--",
                                             "a@example.com"]], "%r" % got)
    finally:
        q.cleanup()
        w.cleanup()


# --- TLS: the envelope lines, REQUIRETLS for the command ---------------------

CERT = "SHA256:" + "0123456789abcdef" * 4
TLS_LINE = b"TLS: TLSv1.3 TLS_AES_256_GCM_SHA384\n"
CERT_LINE = b"TLS-Client-Cert: " + CERT.encode() + b"\n"
REQ_LINE = b"Require-TLS: yes\n"

# records REQUIRETLS and the argv (NUL-separated) of each run
TLS_REC_SH = r"""#!/bin/sh
f=$(mktemp "$OUTDIR/t.XXXXXX") || exit 75
{ printf '%s\0' "${REQUIRETLS-(unset)}"; for a in "$@"; do
  printf '%s\0' "$a"; done; } > "$f.tmp" && mv "$f.tmp" "$f.run"
cat > /dev/null
"""


def spool_file(qid, session=b"", params=b"", proto=b"ESMTP",
               sender=b"s@example.org", tail=b""):
    """A queue file as smtpd writes it, by hand: session lines after
    Helo, MAIL parameter lines after Sender, tail after the recipient."""
    return (b"Version: 1\nId: " + qid.encode() + b"\nArrival: %d\n"
            % int(time.time()) + b"Client-Address: 192.0.2.7\n"
            b"Client-Port: 40312\nHelo: client.example.org\n" + session +
            b"Protocol: " + proto + b"\nTrusted: no\nSender: <" + sender +
            b">\n" + params + b"Recipient: <r@example.com>\n" + tail +
            b"\nSubject: tls\r\n\r\nbody\r\n")


def put_file(q, name, data):
    """Into new/ as smtpd does it: written in tmp/, then renamed."""
    for d in ("tmp", "new"):
        os.makedirs(os.path.join(q.dir, d), exist_ok=True)
    tmp = os.path.join(q.dir, "tmp", name)
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, os.path.join(q.dir, "new", name))


def tls_runs(w):
    """The TLS recorder's runs: [(REQUIRETLS, argv)] (each file is
    renamed into place whole, so a run is never read half-written)."""
    got = []
    for n in sorted(os.listdir(w.out)):
        if n.endswith(".run"):
            with open(os.path.join(w.out, n), "rb") as f:
                v = [a.decode() for a in f.read().split(b"\0")[:-1]]
            got.append((v[0], v[1:]))
    return got


TLS_GOOD = {
    # name: (file, sender, lines show must print, Require-TLS)
    "1.1.1.req.x": (spool_file("1.1.1.req.x", TLS_LINE + CERT_LINE,
                               REQ_LINE, b"ESMTPS", b"req@example.org"),
                    "req@example.org",
                    ["tls         TLSv1.3 cipher TLS_AES_256_GCM_SHA384",
                     "client cert " + CERT, "protocol    ESMTPS",
                     "requiretls  yes"], True),
    "2.2.2.tls.x": (spool_file("2.2.2.tls.x", TLS_LINE, b"SMTPUTF8: yes\n",
                               b"UTF8SMTPS", b"tls@example.org"),
                    "tls@example.org",
                    ["tls         TLSv1.3 cipher TLS_AES_256_GCM_SHA384",
                     "protocol    UTF8SMTPS"], False),
    "3.3.3.plain.x": (spool_file("3.3.3.plain.x",
                                 sender=b"plain@example.org"),
                      "plain@example.org",
                      ["tls         none", "protocol    ESMTP"], False),
}


def test_tls_show():
    q = lib.Queue()
    try:
        for name, (data, _, _, _) in TLS_GOOD.items():
            put_file(q, name, data)
        for name, (data, _, want, req) in TLS_GOOD.items():
            rc, out, err = qrun(q, "show", name)
            lines = txt(out).splitlines()
            check("tls-show-" + name.split(".")[3], rc == 0 and all(
                x in lines for x in want) and ("requiretls  yes" in lines)
                == req and ("client cert " + CERT in lines) ==
                (CERT_LINE in data), "rc %d out %s err %r" % (
                    rc, txt(out), err))
        rc, out, err = qrun(q, "list", "--json")
        try:
            js = {x["id"]: x for x in json.loads(out)}
        except ValueError:
            js = {}
        suite = "TLS_AES_256_GCM_SHA384"
        want = {"1.1.1.req.x": ("TLSv1.3", suite, CERT, True),
                "2.2.2.tls.x": ("TLSv1.3", suite, "", False),
                "3.3.3.plain.x": ("", "", "", False)}
        got = {k: (v.get("tls_version"), v.get("tls_cipher"),
                   v.get("tls_client_cert"), v.get("requiretls"))
               for k, v in js.items()}
        check("tls-list-json", rc == 0 and got == want, "rc %d %r" % (
            rc, out))
    finally:
        q.cleanup()


def test_tls_deliver():
    """REQUIRETLS=yes and %t=yes for a Require-TLS message only; never
    inherited, never left over from the message before (in one run, and
    one message after another under --watch)."""
    q, w = lib.Queue(), Work()
    p = None
    try:
        rec = w.script("tlsrec.sh", TLS_REC_SH)
        env = w.env({"REQUIRETLS": "inherited"})
        want = {s: ("yes", "yes") if req else ("(unset)", "no")
                for _, s, _, req in TLS_GOOD.values()}
        for name, (data, _, _, _) in TLS_GOOD.items():
            put_file(q, name, data)
        rc, out, err = qrun(q, "deliver", "--command",
                            rec + " --tls=%t x%ty %%t", env=env)
        runs = {a[a.index("-f") + 1]: (e, a) for e, a in tls_runs(w)}
        got = {s: (e, a[0][len("--tls="):]) for s, (e, a) in runs.items()}
        check("tls-deliver-env-and-%t", rc == 0 and got == want,
              "rc %d got %r want %r err %s" % (rc, got, want, txt(err)))
        argv = runs.get("req@example.org", ("", []))[1]
        check("tls-%t-in-a-word-keeps-sendmail-form", argv == [
            "--tls=yes", "xyesy", "%t", "-f", "req@example.org", "--",
            "r@example.com"], "argv %r" % argv)
        ok, files = empty_queue(q)
        check("tls-deliver-all-delivered", ok, "%r" % files)
        shutil.rmtree(w.out)
        os.mkdir(w.out)
        p = qpopen(q, "deliver", "--watch", "--per-recipient", "--command",
                   rec + " %t %s", env=env)
        order = ["1.1.1.req.x", "3.3.3.plain.x", "2.2.2.tls.x",
                 "1.1.1.req.x", "3.3.3.plain.x"]
        for i, name in enumerate(order):
            put_file(q, name, TLS_GOOD[name][0])
            wait_for(lambda: len(tls_runs(w)) == i + 1, 5)
        got = [(e, a) for e, a in tls_runs(w)]
        seen = sorted(tuple([want[TLS_GOOD[n][1]][0], [
            want[TLS_GOOD[n][1]][1], TLS_GOOD[n][1]]]) for n in order)
        check("tls-watch-no-leak", sorted(tuple(x) for x in got) == seen,
              "got %r want %r" % (got, seen))
    finally:
        if p is not None:
            p.terminate()
            p.communicate(timeout=5)
        q.cleanup()
        w.cleanup()


def test_tls_malformed():
    """A malformed TLS line sends the file to corrupt/ with the reason,
    as any malformed envelope; the rest of the queue is delivered."""
    q, w = lib.Queue(), Work()
    try:
        bad = {
            "cert-upper": (TLS_LINE + b"TLS-Client-Cert: SHA256:" +
                           b"0123456789ABCDEF" * 4 + b"\n", b"",
                           "bad value for TLS-Client-Cert"),
            "cert-short": (TLS_LINE + CERT_LINE[:-2] + b"\n", b"",
                           "bad value for TLS-Client-Cert"),
            "cert-long": (TLS_LINE + CERT_LINE[:-1] + b"0\n", b"",
                          "bad value for TLS-Client-Cert"),
            "cert-sha1": (TLS_LINE + b"TLS-Client-Cert: SHA1:" + b"ab" * 20
                          + b"\n", b"", "bad value for TLS-Client-Cert"),
            "cert-no-tls": (CERT_LINE, b"", "TLS-Client-Cert without TLS"),
            "req-no": (TLS_LINE, b"Require-TLS: no\n",
                       "bad value for Require-TLS"),
            "req-upper": (TLS_LINE, b"Require-TLS: YES\n",
                          "bad value for Require-TLS"),
            "req-empty": (TLS_LINE, b"Require-TLS: \n",
                          "bad value for Require-TLS"),
            "req-no-tls": (b"", REQ_LINE, "Require-TLS without TLS"),
            "req-twice": (TLS_LINE, REQ_LINE + REQ_LINE,
                          "repeated key for Require-TLS"),
            "tls-one-word": (b"TLS: TLSv1.3\n", b"", "bad value for TLS"),
            "tls-two-spaces": (b"TLS: TLSv1.3  TLS_AES_256_GCM_SHA384\n",
                               b"", "bad value for TLS"),
            "tls-three-words": (b"TLS: TLSv1.3 TLS_AES 256\n", b"",
                                "bad value for TLS"),
            "tls-8bit": ("TLS: TLSv1.3 \u00e4\n".encode(), b"",
                         "bad value for TLS"),
            "tls-long": (b"TLS: TLSv1.3 " + b"C" * 65 + b"\n", b"",
                         "bad value for TLS"),
        }
        files = {}
        for i, (tag, (sess, params, why)) in enumerate(bad.items()):
            name = "%d.%s.x" % (i + 10, tag)
            files[name] = why
            put_file(q, name, spool_file(name, sess, params, b"ESMTPS"))
        files["1.req-after-rcpt.x"] = ("key after the recipients for "
                                       "Require-TLS")
        put_file(q, "1.req-after-rcpt.x", spool_file(
            "1.req-after-rcpt.x", TLS_LINE, tail=REQ_LINE))
        files["2.proto.x"] = "bad value for Protocol"
        put_file(q, "2.proto.x", spool_file("2.proto.x", TLS_LINE,
                                            proto=b"ESMTPX"))
        for name, (data, _, _, _) in TLS_GOOD.items():
            put_file(q, name, data)
        rc, out, err = qrun(q, "deliver", "--command", w.rec, env=w.env())
        e = txt(err)
        check("tls-malformed-rest-delivered", rc == 0 and sorted(
            events(err, "delivered")) == sorted(TLS_GOOD) and
            len(w.runs()) == len(TLS_GOOD), "rc %d err %s" % (rc, e))
        check("tls-malformed-to-corrupt", q.files("corrupt") ==
              sorted(files) and q.files("new") == [], "%r" % all_files(q))
        missing = [n for n, why in files.items() if not re.search(
            r"event=bad-file id=%s reason=\"[^\"]*%s\"" % (
                re.escape(n), re.escape(why)), e)]
        check("tls-malformed-reasons", not missing, "missing %r in %s" % (
            missing, e))
        # a key of a later writer is still skipped, next to the TLS ones
        put_file(q, "4.later.x", spool_file("4.later.x", TLS_LINE +
                                            b"TLS-Later: x\n"))
        rc, out, err = qrun(q, "deliver", "--command", w.rec, env=w.env())
        check("tls-unknown-key-skipped", rc == 0 and events(
            err, "delivered") == ["4.later.x"], "err %s" % txt(err))
    finally:
        q.cleanup()
        w.cleanup()


# --- AUTH: the envelope lines, AUTH_USER/AUTH_PARAM and %a for the command ---

AUTH_LINE = b"Auth: alice\n"
UTF8_USER = "j\u00fcrgen@b\u00fccher.example"
AUTH_UTF8 = b"Auth: " + UTF8_USER.encode() + b"\n"
LONG_USER = "u" * 1000 + "\u00e9" * 12          # 1024 octets
LONG_PARAM = "p" * 480 + "+2B" * 6 + "@x"       # 500 octets

# records AUTH_USER, AUTH_PARAM and the argv (NUL-separated) of each run
AUTH_REC_SH = r"""#!/bin/sh
f=$(mktemp "$OUTDIR/a.XXXXXX") || exit 75
{ printf '%s\0%s\0' "${AUTH_USER-(unset)}" "${AUTH_PARAM-(unset)}"
  for a in "$@"; do printf '%s\0' "$a"; done; } > "$f.run"
cat > /dev/null
"""

AUTH_GOOD = {
    # name: (file, sender, lines show must print, lines it must not,
    #        AUTH_USER, AUTH_PARAM, %a)
    "1.1.1.mbox.x": (spool_file("1.1.1.mbox.x", TLS_LINE + AUTH_LINE,
                                REQ_LINE + b"Auth-Param: alice+2Bx@"
                                b"example.org\n", b"ESMTPSA",
                                b"mbox@example.org"),
                     "mbox@example.org",
                     ["auth        alice", "protocol    ESMTPSA",
                      "auth param  alice+2Bx@example.org"], [],
                     "alice", "alice+2Bx@example.org",
                     "alice+2Bx@example.org"),
    "2.2.2.utf8.x": (spool_file("2.2.2.utf8.x", AUTH_UTF8, b"SMTPUTF8: "
                                b"yes\n", b"UTF8SMTPA", b"utf8@example.org"),
                     "utf8@example.org",
                     ["auth        " + UTF8_USER, "protocol    UTF8SMTPA"],
                     ["auth param"], UTF8_USER, "(unset)", "<>"),
    "3.3.3.null.x": (spool_file("3.3.3.null.x", AUTH_LINE,
                                b"Auth-Param: <>\n", b"ESMTPA",
                                b"null@example.org"),
                     "null@example.org",
                     ["auth        alice", "auth param  <>"], [],
                     "alice", "(unset)", "<>"),
    "4.4.4.anon.x": (spool_file("4.4.4.anon.x", b"", b"Auth-Param: <>\n",
                                sender=b"anon@example.org"),
                     "anon@example.org", ["auth param  <>"],
                     ["auth        "],
                     "(unset)", "(unset)", "<>"),
    "5.5.5.none.x": (spool_file("5.5.5.none.x", sender=b"none@example.org"),
                     "none@example.org", ["protocol    ESMTP"],
                     ["auth        ", "auth param"], "(unset)", "(unset)",
                     "<>"),
    "6.6.6.dash.x": (spool_file("6.6.6.dash.x", AUTH_LINE,
                                b"Auth-Param: -oQ+3Dx@example.org\n",
                                b"ESMTPA", b"dash@example.org"),
                     "dash@example.org",
                     ["auth param  -oQ+3Dx@example.org"], [],
                     "alice", "-oQ+3Dx@example.org",
                     "+2DoQ+3Dx@example.org"),
    "7.7.7.max.x": (spool_file("7.7.7.max.x", b"Auth: " +
                               LONG_USER.encode() + b"\n", b"Auth-Param: " +
                               LONG_PARAM.encode() + b"\n", b"ESMTPA",
                               b"max@example.org"),
                    "max@example.org",
                    ["auth        " + LONG_USER,
                     "auth param  " + LONG_PARAM], [],
                    LONG_USER, LONG_PARAM, LONG_PARAM),
}


def auth_runs(w):
    """The AUTH recorder's runs: [(AUTH_USER, AUTH_PARAM, argv)]."""
    got = []
    for n in sorted(os.listdir(w.out)):
        if n.endswith(".run"):
            with open(os.path.join(w.out, n), "rb") as f:
                v = [a.decode() for a in f.read().split(b"\0")[:-1]]
            got.append((v[0], v[1], v[2:]))
    return got


def test_auth_show():
    q = lib.Queue()
    try:
        for name, spec in AUTH_GOOD.items():
            put_file(q, name, spec[0])
        for name, (_, _, want, unwanted, _, _, _) in AUTH_GOOD.items():
            rc, out, err = qrun(q, "show", name)
            lines = txt(out).splitlines()
            check("auth-show-" + name.split(".")[3], rc == 0 and all(
                x in lines for x in want) and not any(
                    x.startswith(u) for x in lines for u in unwanted),
                "rc %d out %s err %r" % (rc, txt(out), err))
        rc, out, err = qrun(q, "list", "--json")
        try:
            js = {x["id"]: x for x in json.loads(out)}
        except ValueError:
            js = {}
        want = {"1.1.1.mbox.x": ("alice", "alice+2Bx@example.org"),
                "2.2.2.utf8.x": (UTF8_USER, ""),
                "3.3.3.null.x": ("alice", "<>"),
                "4.4.4.anon.x": ("", "<>"),
                "5.5.5.none.x": ("", ""),
                "6.6.6.dash.x": ("alice", "-oQ+3Dx@example.org"),
                "7.7.7.max.x": (LONG_USER, LONG_PARAM)}
        got = {k: (v.get("auth_user"), v.get("auth_param"))
               for k, v in js.items()}
        check("auth-list-json", rc == 0 and got == want, "rc %d %r" % (
            rc, out[:2000]))
    finally:
        q.cleanup()


def test_auth_deliver():
    """AUTH_USER and AUTH_PARAM for a message whose client authenticated
    only, %a the mailbox or <> (never an option); nothing inherited or
    left over from the message before (in one run, and one message after
    another under --watch)."""
    q, w = lib.Queue(), Work()
    p = None
    try:
        rec = w.script("authrec.sh", AUTH_REC_SH)
        env = w.env({"AUTH_USER": "inherited", "AUTH_PARAM": "inherited"})
        want = {s[1]: (s[4], s[5], s[6]) for s in AUTH_GOOD.values()}
        for name, spec in AUTH_GOOD.items():
            put_file(q, name, spec[0])
        rc, out, err = qrun(q, "deliver", "--command",
                            rec + " --auth=%a x%ay %%a %t", env=env)
        runs = {a[a.index("-f") + 1]: (u, m, a) for u, m, a in auth_runs(w)}
        got = {s: (u, m, a[0][len("--auth="):])
               for s, (u, m, a) in runs.items()}
        check("auth-deliver-env-and-%a", rc == 0 and got == want,
              "rc %d got %r want %r err %s" % (rc, got, want, txt(err)))
        argv = runs.get("mbox@example.org", ("", "", []))[2]
        check("auth-%a-in-a-word-keeps-sendmail-form", argv == [
            "--auth=alice+2Bx@example.org", "xalice+2Bx@example.orgy", "%a",
            "yes", "-f", "mbox@example.org", "--", "r@example.com"],
            "argv %r" % argv)
        argv = runs.get("dash@example.org", ("", "", []))[2]
        check("auth-%a-never-an-option", len(argv) > 1 and
              argv[1] == "x+2DoQ+3Dx@example.orgy", "argv %r" % argv)
        ok, files = empty_queue(q)
        check("auth-deliver-all-delivered", ok, "%r" % files)
        shutil.rmtree(w.out)
        os.mkdir(w.out)
        p = qpopen(q, "deliver", "--watch", "--per-recipient", "--command",
                   rec + " %a %s", env=env)
        order = ["1.1.1.mbox.x", "5.5.5.none.x", "2.2.2.utf8.x",
                 "1.1.1.mbox.x", "4.4.4.anon.x", "6.6.6.dash.x",
                 "3.3.3.null.x"]
        for i, name in enumerate(order):
            put_file(q, name, AUTH_GOOD[name][0])
            wait_for(lambda: len(auth_runs(w)) == i + 1, 5)
        got = sorted((u, m, tuple(a)) for u, m, a in auth_runs(w))
        seen = sorted((AUTH_GOOD[n][4], AUTH_GOOD[n][5],
                       (AUTH_GOOD[n][6], AUTH_GOOD[n][1])) for n in order)
        check("auth-watch-no-leak", got == seen, "got %r want %r" % (
            got, seen))
    finally:
        if p is not None:
            p.terminate()
            p.communicate(timeout=5)
        q.cleanup()
        w.cleanup()


def test_auth_malformed():
    """A malformed Auth or Auth-Param line, or a mailbox without Auth,
    sends the file to corrupt/ with the reason; the rest is delivered."""
    q, w = lib.Queue(), Work()
    try:
        bv, bp = "bad value for Auth", "bad value for Auth-Param"
        mbox = b"Auth-Param: a@example.org\n"
        bad = {
            "user-empty": (b"Auth: \n", b"", bv),
            "user-space": (b"Auth: al ice\n", b"", bv),
            "user-two-spaces": (b"Auth:  alice\n", b"", bv),
            "user-bad-utf8": (b"Auth: al\xffice\n", b"", bv),
            "user-cut-utf8": (b"Auth: alic\xc3\n", b"", bv),
            "user-overlong-utf8": (b"Auth: \xc0\xafx\n", b"", bv),
            "user-tab": (b"Auth: al\tice\n", b"", "malformed line"),
            "user-del": (b"Auth: al\x7fice\n", b"", "malformed line"),
            "user-long": (b"Auth: " + b"u" * 1025 + b"\n", b"", bv),
            "user-twice": (AUTH_LINE + AUTH_LINE, b"",
                           "repeated key for Auth"),
            "param-empty": (AUTH_LINE, b"Auth-Param: \n", bp),
            "param-equals": (AUTH_LINE, b"Auth-Param: a=b@example.org\n",
                             bp),
            "param-lower-hex": (AUTH_LINE, b"Auth-Param: a+2bb@example.org"
                                b"\n", bp),
            "param-cut-hex": (AUTH_LINE, b"Auth-Param: a@example.org+2\n",
                              bp),
            "param-plus": (AUTH_LINE, b"Auth-Param: a+@example.org\n", bp),
            "param-space": (AUTH_LINE, b"Auth-Param: a b@example.org\n", bp),
            "param-8bit": (AUTH_LINE, "Auth-Param: \u00e4@example.org\n"
                           .encode(), bp),
            "param-long": (AUTH_LINE, b"Auth-Param: " + b"p" * 501 + b"\n",
                           bp),
            "param-twice": (AUTH_LINE, mbox + mbox,
                            "repeated key for Auth-Param"),
            "param-no-auth": (b"", mbox, "Auth-Param other than <> "
                              "without Auth"),
        }
        files = {}
        for i, (tag, (sess, params, why)) in enumerate(bad.items()):
            name = "%d.%s.x" % (i + 10, tag)
            files[name] = why
            put_file(q, name, spool_file(name, sess, params, b"ESMTPA"))
        files["1.auth-after-rcpt.x"] = "key after the recipients for Auth"
        put_file(q, "1.auth-after-rcpt.x", spool_file(
            "1.auth-after-rcpt.x", tail=AUTH_LINE))
        files["2.param-after-rcpt.x"] = ("key after the recipients for "
                                         "Auth-Param")
        put_file(q, "2.param-after-rcpt.x", spool_file(
            "2.param-after-rcpt.x", AUTH_LINE, tail=mbox))
        for name, spec in AUTH_GOOD.items():
            put_file(q, name, spec[0])
        rc, out, err = qrun(q, "deliver", "--command", w.rec, env=w.env())
        e = txt(err)
        check("auth-malformed-rest-delivered", rc == 0 and sorted(
            events(err, "delivered")) == sorted(AUTH_GOOD) and
            len(w.runs()) == len(AUTH_GOOD), "rc %d err %s" % (rc, e))
        check("auth-malformed-to-corrupt", q.files("corrupt") ==
              sorted(files) and q.files("new") == [], "%r" % all_files(q))
        missing = [n for n, why in files.items() if not re.search(
            r"event=bad-file id=%s reason=\"[^\"]*%s\"" % (
                re.escape(n), re.escape(why)), e)]
        check("auth-malformed-reasons", not missing, "missing %r in %s" % (
            missing, e))
        rc, out, err = qrun(q, "list", "--failed", "--json")
        try:
            js = json.loads(out)
        except ValueError:
            js = []
        check("auth-malformed-listed", rc == 0 and len(js) == len(files) and
              all(x["state"] == "corrupt" and "auth_user" not in x
                  for x in js), "%r" % out[:1000])
        # a key of a later writer is still skipped, next to the AUTH ones
        put_file(q, "4.later.x", spool_file("4.later.x", AUTH_LINE +
                                            b"Auth-Later: x\n", b"Auth-"
                                            b"Param-Later: y\n"))
        rc, out, err = qrun(q, "deliver", "--command", w.rec, env=w.env())
        check("auth-unknown-key-skipped", rc == 0 and events(
            err, "delivered") == ["4.later.x"], "err %s" % txt(err))
    finally:
        q.cleanup()
        w.cleanup()


# smtpd's checkpassword program for test_e2e_auth: the credentials on
# fd 3 must be exactly alice's (cmp: 0 same, 1 different, 2 trouble)
CHECKPW_SH = r"""#!/bin/sh
exec cmp -s - '%s' <&3
"""


def auth_plain(user, password):
    import base64
    return base64.b64encode(b"\0" + user + b"\0" + password)


def test_e2e_auth():
    """What smtpd writes after AUTH, smtpd-queue reads: the user and
    the kept AUTH= mailbox (or <>, also from a client that did not
    authenticate); show, and AUTH_USER, AUTH_PARAM and %a for the
    command."""
    q, w = lib.Queue(), Work()
    try:
        want_creds = os.path.join(w.dir, "alice.creds")
        with open(want_creds, "wb") as f:
            f.write(b"alice\0open sesame\0\0")
        chk = w.script("checkpw.sh", CHECKPW_SH % want_creds)
        args = ["--auth-checkpassword", chk, "--auth-plaintext"]
        msg = crlf(b"Subject: after AUTH", b"", b"body")
        data = (b"EHLO " + HELO.encode() + b"\r\nAUTH PLAIN " +
                auth_plain(b"alice", b"open sesame") + b"\r\n" +
                tx(msg, b"<mbox@example.org>", mp=b"AUTH=alice+2Bx@example"
                   b".org") +
                tx(msg, b"<null@example.org>", mp=b"AUTH=<>") +
                tx(msg, b"<plain@example.org>") + b"QUIT\r\n")
        rc, out, err = lib.run_smtpd(data, q, args=args, timeout=60)
        n1 = len(QUEUED_RE.findall(out))
        data = (b"EHLO " + HELO.encode() + b"\r\n" +
                tx(msg, b"<anon@example.org>", mp=b"AUTH=eve@example.org") +
                b"QUIT\r\n")
        rc2, out2, err2 = lib.run_smtpd(data, q, args=args, timeout=60)
        check("e2e-auth-queued", rc == 0 and rc2 == 0 and n1 == 3 and
              len(QUEUED_RE.findall(out2)) == 1 and b"235 " in out,
              "rc %d/%d out %r %r err %r" % (rc, rc2, out, out2, err + err2))
        want = {"mbox@example.org": ["auth        alice",
                                     "protocol    ESMTPA",
                                     "auth param  alice+2Bx@example.org"],
                "null@example.org": ["auth        alice",
                                     "auth param  <>"],
                "plain@example.org": ["auth        alice",
                                      "protocol    ESMTPA"],
                "anon@example.org": ["protocol    ESMTP",
                                     "auth param  <>"]}
        shown = {}
        for qid in q.files("new"):
            rc, out, err = qrun(q, "show", qid)
            lines = txt(out).splitlines()
            snd = [x for x in lines if x.startswith("sender")]
            shown[snd[0].split("<")[1].rstrip(">") if snd else qid] = lines
        bad = {s: shown.get(s) for s, lines in want.items()
               if shown.get(s) is None or any(x not in shown[s]
                                              for x in lines)
               or (s == "anon@example.org" and "auth        alice" in
                   shown[s])
               or (s == "plain@example.org" and any(
                   x.startswith("auth param") for x in shown[s]))}
        check("e2e-auth-show", len(shown) == 4 and not bad, "%r" % bad)
        rec = w.script("authrec.sh", AUTH_REC_SH)
        rc, out, err = qrun(q, "deliver", "--command", rec + " %a",
                            env=w.env({"AUTH_USER": "inherited"}))
        got = {a[2]: (u, m, a[0]) for u, m, a in auth_runs(w)}
        check("e2e-auth-for-the-command", rc == 0 and got == {
            "mbox@example.org": ("alice", "alice+2Bx@example.org",
                                 "alice+2Bx@example.org"),
            "null@example.org": ("alice", "(unset)", "<>"),
            "plain@example.org": ("alice", "(unset)", "<>"),
            "anon@example.org": ("(unset)", "(unset)", "<>")} and
            q.files("corrupt") == [], "rc %d got %r err %s" % (
                rc, got, txt(err)))
    finally:
        q.cleanup()
        w.cleanup()


def test_e2e_tls():
    """What smtpd writes under TLS, smtpd-queue reads: STARTTLS with a
    client certificate, one message with REQUIRETLS and one without, one
    more in plain text; show, and REQUIRETLS for the command."""
    v = subprocess.run([lib.SMTPD, "--version"], capture_output=True)
    if b"tls: no" in v.stdout + v.stderr or not shutil.which("openssl"):
        print("SKIP e2e-tls: smtpd built without TLS, or no openssl")
        return
    w = Work()
    srv = None
    try:
        pki = tlslib.PKI(os.path.join(w.dir, "pki"),
                         "smtpd queue test CA").client_ca()
        srv = Server(args=pki.args() + ["--tls-client-ca", pki.cca])
        ctx = pki.ctx(cert=pki.cli)
        msg = crlf(b"Subject: over TLS", b"", b"body")
        with smtplib.SMTP("127.0.0.1", srv.port, local_hostname=HELO,
                          timeout=20) as c:
            c.starttls(context=ctx)
            version, cipher = c.sock.version(), c.sock.cipher()[0]
            c.sendmail("req@example.org", ["r@example.com"], msg,
                       mail_options=["REQUIRETLS"])
            c.sendmail("tls@example.org", ["r@example.com"], msg)
        with smtplib.SMTP("127.0.0.1", srv.port, local_hostname=HELO,
                          timeout=20) as c:
            c.sendmail("plain@example.org", ["r@example.com"], msg)
        cert = tlslib.cert_hash(pki.cli)
        tls = "tls         %s cipher %s" % (version, cipher)
        want = {"req@example.org": [tls, "client cert " + cert,
                                    "protocol    ESMTPS", "requiretls  yes"],
                "tls@example.org": [tls, "client cert " + cert,
                                    "protocol    ESMTPS"],
                "plain@example.org": ["tls         none",
                                      "protocol    ESMTP"]}
        shown = {}
        for qid in srv.q.files("new"):
            rc, out, err = qrun(srv.q, "show", qid)
            lines = txt(out).splitlines()
            snd = [x for x in lines if x.startswith("sender")]
            shown[snd[0].split("<")[1].rstrip(">") if snd else qid] = lines
        bad = {s: shown.get(s) for s, lines in want.items()
               if shown.get(s) is None or any(x not in shown[s]
                                              for x in lines)
               or ("requiretls  yes" in shown[s]) != (s[:3] == "req")}
        check("e2e-tls-show", len(shown) == 3 and not bad, "%r" % bad)
        rec = w.script("tlsrec.sh", TLS_REC_SH)
        rc, out, err = qrun(srv.q, "deliver", "--command", rec + " %t",
                            env=w.env({"REQUIRETLS": "inherited"}))
        got = {a[2]: (e, a[0]) for e, a in tls_runs(w)}
        check("e2e-tls-requiretls", rc == 0 and got == {
            "req@example.org": ("yes", "yes"),
            "tls@example.org": ("(unset)", "no"),
            "plain@example.org": ("(unset)", "no")} and
            srv.q.files("corrupt") == [], "rc %d got %r err %s" % (
                rc, got, txt(err)))
    finally:
        if srv is not None:
            srv.cleanup()
        w.cleanup()


# --- watch, clean ---------------------------------------------------------

def test_watch():
    q, w = lib.Queue(), Work()
    p = None
    try:
        once = w.script("once.sh", "#!/bin/sh\n"
                        "if grep -q '^Subject: msg 9' && "
                        "[ ! -e \"$OUTDIR/../seen\" ]; then\n"
                        "  touch \"$OUTDIR/../seen\"; exit 75\nfi\n"
                        "echo ok >> \"$OUTDIR/../done\"\n")
        os.makedirs(os.path.join(q.dir, "new"))
        os.makedirs(os.path.join(q.dir, "tmp"))
        p = qpopen(q, "deliver", "--watch", "--backoff", "2", "--command",
                   once, env=w.env())
        time.sleep(0.3)
        done = os.path.join(w.dir, "done")

        def count():
            try:
                with open(done) as f:
                    return len(f.read().split())
            except OSError:
                return 0
        inject(q, [tx(subject(i)) for i in range(3)])
        check("watch-delivers-on-arrival", wait_for(
            lambda: count() == 3 and q.files("new") == [], 5),
            "delivered %d, new %r" % (count(), q.files("new")))
        inject(q, [tx(subject(9))])
        t0 = time.monotonic()
        ok = wait_for(lambda: count() == 4 and q.files("new") == [], 8)
        check("watch-retries-when-due", ok and time.monotonic() - t0 >= 0.9,
              "delivered %d after %.1f s" % (count(),
                                             time.monotonic() - t0))
        check("watch-keeps-running", p.poll() is None, "exited %r" %
              p.poll())
    finally:
        if p is not None:
            p.terminate()
            p.communicate(timeout=5)
        q.cleanup()
        w.cleanup()


def test_clean():
    q, w = lib.Queue(), Work()
    try:
        ids = inject(q, [tx(subject(1)), tx(subject(2))])
        rc, out, err = qrun(q, "stats")	# no directories made by stats
        for d in ("claim", "state"):
            os.makedirs(os.path.join(q.dir, d), exist_ok=True)
        old = time.time() - 37 * 3600
        tmp = os.path.join(q.dir, "tmp")
        for name, t in (("1.old.x", old), ("2.fresh.x", None)):
            with open(os.path.join(tmp, name), "w") as f:
                f.write("partial")
            if t:
                os.utime(os.path.join(tmp, name), (t, t))
        st = os.path.join(q.dir, "state")
        for name in ("9.orphan.x", ids[0]):
            with open(os.path.join(st, name), "w") as f:
                f.write("Version: 1\n")
            os.utime(os.path.join(st, name), (old, old))
        os.rename(os.path.join(q.dir, "new", ids[1]),
                  os.path.join(q.dir, "claim", ids[1]))
        rc, out, err = qrun(q, "clean")
        check("clean-tmp", rc == 0 and q.files("tmp") == ["2.fresh.x"],
              "tmp %r err %s" % (q.files("tmp"), txt(err)))
        check("clean-state", q.files("state") == [ids[0]],
              "state %r" % q.files("state"))
        check("clean-dead-claim", q.files("claim") == [] and
              q.files("new") == sorted(ids) and
              events(err, "recovered") == [ids[1]], "%r err %s" % (
                  all_files(q), txt(err)))
    finally:
        q.cleanup()
        w.cleanup()


# --- documentation and units -------------------------------------------------

def test_man_and_units():
    page = os.path.join(lib.ROOT, "man", "smtpd-queue.1")
    if shutil.which("mandoc") is None:
        check("man-queue-lint", False, "mandoc is not installed")
    else:
        p = subprocess.run(["mandoc", "-T", "lint", "-W", "all", page],
                           capture_output=True, cwd=os.path.dirname(page))
        out = txt(p.stdout + p.stderr)
        real = [ln for ln in out.splitlines() if not re.match(
            r"^mandoc: outdated mandoc\.db lacks", ln)]
        check("man-queue-lint", p.returncode == 0 and not real,
              "\n".join(real))
    units = os.path.join(lib.ROOT, "units")
    names = ("smtpd-deliver.path", "smtpd-deliver.service",
             "smtpd-queue-clean.service", "smtpd-queue-clean.timer")
    texts = {}
    for n in names:
        try:
            with open(os.path.join(units, n)) as f:
                texts[n] = f.read()
        except OSError as e:
            texts[n] = "missing: %s" % e
    check("units-content", "DirectoryNotEmpty=/var/spool/smtpd/new" in
          texts[names[0]] and "deliver --watch" in texts[names[1]] and
          " clean" in texts[names[2]] and "OnCalendar=" in texts[names[3]],
          "%r" % texts)
    if shutil.which("systemd-analyze") is None:
        print("SKIP units-queue-verify: systemd-analyze is not installed")
        return
    d = tempfile.mkdtemp(prefix="smtpd-qu-")
    try:
        for n in names:
            with open(os.path.join(d, n), "w") as f:
                f.write(texts[n].replace("/usr/sbin/smtpd-queue", QTOOL))
        p = subprocess.run(["systemd-analyze", "verify", "--man=no"] +
                           [os.path.join(d, n) for n in names],
                           capture_output=True, env=lib.base_env(
                               {"SYSTEMD_LOG_COLOR": "0"}))
        out = txt(p.stdout + p.stderr)
        if p.returncode != 0 and re.search(
                r"(?i)not booted|/run/systemd", out):
            print("SKIP units-queue-verify: %s" % out.strip()[:200])
        else:
            check("units-queue-verify", p.returncode == 0 and
                  out.strip() == "", "rc %d: %s" % (p.returncode, out))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    if not os.access(QTOOL, os.X_OK):
        check("smtpd-queue-built", False, "%s is missing (make)" % QTOOL)
        lib.finish()
    tests = [test_inspect, test_e2e_procmail, test_e2e_msmtp,
             test_concurrent, test_journal_prefix,
             test_tempfail_then_success,
             test_permanent_failure, test_per_recipient,
             test_timeout_crash_expiry, test_killed_deliverer,
             test_corrupt_files, test_mutations, test_argv_safety, test_fds_and_env,
             test_dsn_options, test_tls_show, test_tls_deliver,
             test_tls_malformed, test_e2e_tls, test_auth_show,
             test_auth_deliver, test_auth_malformed, test_e2e_auth,
             test_watch, test_clean, test_man_and_units]
    if shutil.which("tcpserver") is None:
        check("tcpserver-installed", False, "tcpserver not found "
              "(package ucspi-tcp-ipv6; tests/deps.sh installs it)")
        tests = [t for t in tests if "e2e" not in t.__name__]
    lib.run_tests(tests)
    lib.finish()


if __name__ == "__main__":
    main()
