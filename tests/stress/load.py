"""load.py - 20,000 messages through `tcpserver -c 100`, 50 at a time.

Phase 1: Postfix's smtp-source (fetched by smtp-source.sh, never
installed) sends LOAD_MESSAGES (20000) messages over 50 parallel
sessions.  smtp-source stops at the first reply that is not 2xx, so its
clean exit means 20,000 250s; new/ must then hold exactly 20,000 files,
each a well-formed spool file, all different (Message-Id), and the logs
must show no refusal and no spool error.
Phase 2: our own client, 50 threads, LOAD_OWN_MESSAGES (5000; 20000 if
smtp-source cannot be had) messages with a token each: every queue id
in a 250 is a file in new/ holding exactly the message sent with it.
Both: every session ended with status 0, tmp/ is empty, and once
tcpserver is stopped no process of it is left.  The queue is on the
test's temp dir (a real file system) unless LOAD_DIR says otherwise.
"""
import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import lib  # noqa: E402
import netlib  # noqa: E402
from lib import check  # noqa: E402

MESSAGES = int(os.environ.get("LOAD_MESSAGES", "20000"))
SESSIONS = 50
QBASE = os.environ.get("LOAD_DIR")
STATUS_RE = re.compile(rb"tcpserver: status: (\d+)/")
QUEUED_RE = re.compile(rb"event=queued queue_id=(\S+)")
MSGID_RE = re.compile(rb"\r\nMessage-Id: (<[^>]*>)", re.I)


def smtp_source():
    p = subprocess.run(["sh", os.path.join(HERE, "smtp-source.sh")],
                       capture_output=True, timeout=300)
    if p.returncode != 0:
        print("smtp-source not available: %s" % p.stderr.decode(
            "utf-8", "replace").strip())
        return None
    return p.stdout.decode().strip()


def own_processes(srv):
    """smtpd processes still running on this server's queue."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if srv.q.dir.encode() in cmd:
            found.append(int(d))
    return found


def after_run(srv, name, nsessions):
    """Checks common to both phases; returns the queued ids logged."""
    srv.wait_ended(nsessions, 60)
    ended = srv.ended()
    bad = [s for _, s in ended if s != 0]
    log = srv.logbytes()
    peak = max([int(x) for x in STATUS_RE.findall(log)] + [0])
    check("load-%s-sessions-ok" % name, len(ended) == nsessions and not bad,
          "%d sessions ended of %d, %d with non-zero status" % (
              len(ended), nsessions, len(bad)))
    errors = [ln for ln in log.split(b"\n") if b"event=reject" in ln or
              b"event=spool-error" in ln or b"event=unavailable" in ln]
    check("load-%s-no-errors-logged" % name, not errors, errors[:5])
    check("load-%s-tmp-empty" % name, srv.q.files("tmp") == [],
          srv.q.files("tmp")[:5])
    srv.stop()
    time.sleep(0.2)
    left = own_processes(srv) + srv.stray()
    check("load-%s-no-stray-processes" % name, not left, left)
    print("%s: peak %d concurrent sessions" % (name, peak))
    return QUEUED_RE.findall(log)


def phase_smtp_source(path):
    srv = netlib.Server(conc=100, backlog=256, qbase=QBASE)
    try:
        t0 = time.time()
        p = subprocess.run([path, "-s", str(SESSIONS), "-m", str(MESSAGES),
                            "-l", "2000", "-f", "load@example.org", "-t",
                            "sink@example.com", "-M", "load.example",
                            "127.0.0.1:%d" % srv.port],
                           capture_output=True, timeout=1800)
        took = time.time() - t0
        out = (p.stdout + p.stderr).decode("utf-8", "replace")
        check("load-smtp-source-exit-0", p.returncode == 0 and
              "fatal" not in out and "warning" not in out,
              "rc=%d %s" % (p.returncode, out[-500:]))
        new = srv.q.files("new")
        queued = after_run(srv, "smtp-source", MESSAGES)
        ids = set(x.decode() for x in queued)
        check("load-smtp-source-all-in-new", len(new) == MESSAGES and
              set(new) == ids, "%d files in new/, %d logged queued, want %d"
              % (len(new), len(ids), MESSAGES))
        msgids = set()
        bad = []
        for name in new:
            blob = srv.q.read(name)
            head, sep, msg = blob.partition(b"\n\n")
            m = MSGID_RE.search(msg)
            if (not sep or not head.startswith(b"Version: 1\n") or
                    not msg.endswith(b"\r\n") or m is None):
                bad.append(name)
            else:
                msgids.add(m.group(1))
        check("load-smtp-source-files-whole-and-distinct", not bad and
              len(msgids) == len(new), "%d bad, %d distinct Message-Ids"
              % (len(bad), len(msgids)))
        print("smtp-source: %d messages in %.1f s (%.0f/s), %d sessions "
              "in parallel" % (MESSAGES, took, MESSAGES / took, SESSIONS))
    finally:
        srv.cleanup()


def client_thread(port, todo, lock, results, errors):
    """Sessions of 1..5 messages until the shared count runs out."""
    while True:
        with lock:
            if todo[0] <= 0:
                return
            n = min(todo[0], 1 + todo[0] % 5)
            first = todo[0]
            todo[0] -= n
        c = None
        try:
            c = netlib.Client(port, timeout=60)
            if c.code() != "220":
                raise RuntimeError("greeting %r" % c.all)
            c.send(b"EHLO own.load.example\r\n")
            c.reply()
            for k in range(n):
                tok = b"tok%06d" % (first - k)
                msg = (b"From: load@example.org\r\nX-Load-Token: " + tok +
                       b"\r\nSubject: own load\r\n\r\n" +
                       (b"load line " + tok + b"\r\n") * 20)
                c.send(b"MAIL FROM:<load@example.org>\r\n"
                       b"RCPT TO:<sink@example.com>\r\nDATA\r\n")
                codes = [c.code() for _ in range(3)]
                if codes != ["250", "250", "354"]:
                    raise RuntimeError("codes %r" % codes)
                c.send(msg + b".\r\n")
                r = c.reply()[-1]
                if not r.startswith(b"250 2.0.0 OK queued as "):
                    raise RuntimeError("end of data: %r" % r)
                with lock:
                    results.append((tok, msg, r.split()[-1].decode()))
            c.send(b"QUIT\r\n")
            c.reply()
        except Exception as e:  # noqa: BLE001 - counted and reported
            with lock:
                errors.append(repr(e))
        finally:
            if c is not None:
                c.close()


def phase_own(nmsgs):
    srv = netlib.Server(conc=100, backlog=256, qbase=QBASE)
    try:
        todo, lock, results, errors = [nmsgs], threading.Lock(), [], []
        t0 = time.time()
        threads = [threading.Thread(target=client_thread, args=(
            srv.port, todo, lock, results, errors)) for _ in range(SESSIONS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(1800)
        took = time.time() - t0
        sessions = srv.started()
        check("load-own-no-client-errors", not errors and
              len(results) == nmsgs, "%d errors %r, %d of %d queued" % (
                  len(errors), errors[:3], len(results), nmsgs))
        new = set(srv.q.files("new"))
        missing, wrong = [], []
        for tok, msg, qid in results:
            if qid not in new:
                missing.append(qid)
                continue
            blob = srv.q.read(qid)
            if not blob.endswith(b"\r\n" + msg):
                wrong.append(qid)
        check("load-own-every-250-in-new", not missing and not wrong and
              len(new) == len(results), "%d missing, %d wrong, %d files "
              "for %d 250s" % (len(missing), len(wrong), len(new),
                               len(results)))
        after_run(srv, "own", sessions)
        print("own client: %d messages in %d sessions in %.1f s (%.0f/s), "
              "%d threads" % (len(results), sessions, took,
                              len(results) / took, SESSIONS))
    finally:
        srv.cleanup()


def main():
    if not netlib.have_tcpserver():
        print("SKIP load: tcpserver not installed")
        lib.finish()
    path = smtp_source()
    if path:
        phase_smtp_source(path)
    phase_own(int(os.environ.get("LOAD_OWN_MESSAGES",
                                 "5000" if path else str(MESSAGES))))
    lib.finish()


if __name__ == "__main__":
    main()
