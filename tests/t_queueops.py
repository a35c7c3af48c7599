"""t_queueops.py - operating the queue (issue 20): requeue, hold and
release, show's final error, the delivery command's own mistakes (exit
64, 126, 127), and stats --prometheus with its units.

requeue: one message, several, --all-failed, unknown and misplaced ids,
a message a deliverer still holds (its flock), a deliverer failing
messages while requeue --all-failed gives them back (no message ever
fails without its command running: never in new/ with the record of
its failure), crashes at each step (tests/fault/faultshim.so "kill").
hold/release: never delivered while held (deliver, --force, --watch, a
new deliverer), list/show/stats/clean see it, busy while delivered.
Metrics: the file parsed by python3-prometheus-client's own parser (run
with /usr/bin/python3, where Debian installs it) and by a real
prometheus-node-exporter's textfile collector, every value checked
against the queue's real content and counters; atomic replacement under
a reader; the units verified, scored, and their command run as an
unprivileged user with only CAP_DAC_OVERRIDE, in a user namespace that
maps root and that user (PrivateUsers=), into a root-owned directory.
"""
import fcntl
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import check  # noqa: E402
import t_queue as tq  # noqa: E402

QTOOL = tq.QTOOL
SHIM = lib.SHIM
SYS_PYTHON = "/usr/bin/python3"		# where Debian's packages live
UNITS = os.path.join(lib.ROOT, "units")
METRIC_UNITS = ("smtpd-queue-metrics.service", "smtpd-queue-metrics.timer")
STATES = ("new", "deferred", "claimed", "held", "failed", "corrupt", "tmp")
COUNTERS = ("delivered", "failed", "deferred", "corrupt", "recovered",
            "requeued", "held", "released")
NOBODY = 65534

inject, tx, subject = tq.inject, tq.tx, tq.subject
txt, events, all_files, state_of, wait_for = tq.txt, tq.events, \
    tq.all_files, tq.state_of, tq.wait_for

# an agent that fails for good (67), or as $RC says
FAIL_SH = "#!/bin/sh\ncat >/dev/null\necho \"no such user\" >&2\nexit ${RC:-67}\n"

# the parser the issue asks for, in the Python Debian installs it for
PARSE_PY = r"""
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for fam in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": fam.name, "type": fam.type, "help": fam.documentation,
                "samples": [[s.name, s.labels, s.value] for s in fam.samples]})
json.dump(out, sys.stdout)
"""


_no_bounce = []


def no_bounce():
    """["--no-bounce"] where this smtpd-queue writes delivery reports
    (DSNs) to senders, else []: these tests count what the queue does
    with the messages they put in it, and a report would be one more."""
    if not _no_bounce:
        out = subprocess.run([QTOOL, "--help"], capture_output=True,
                             timeout=30).stdout
        _no_bounce.append(["--no-bounce"] if b"--no-bounce" in out else [])
    return _no_bounce[0]


def qrun(q, *args, **kw):
    """t_queue's qrun; deliver without reports (no_bounce)."""
    if args and args[0] == "deliver":
        args = ("deliver",) + tuple(no_bounce()) + args[1:]
    return tq.qrun(q, *args, **kw)


def qpopen(q, *args, **kw):
    """t_queue's qpopen; deliver without reports (no_bounce)."""
    if args and args[0] == "deliver":
        args = ("deliver",) + tuple(no_bounce()) + args[1:]
    return tq.qpopen(q, *args, **kw)


def no_asan_leaks():
    """LeakSanitizer cannot run traced or in a user namespace."""
    asan = os.environ.get("ASAN_OPTIONS", "")
    return {"ASAN_OPTIONS": (asan + ":" if asan else "") + "detect_leaks=0"}


def fail_all(q, w, env=None):
    """Deliver with an agent that fails for good: all go to failed/."""
    agent = w.script("fail.sh", FAIL_SH)
    return qrun(q, "deliver", "--command", agent, env=env)


def raw_state(q, qid):
    try:
        with open(os.path.join(q.dir, "state", qid)) as f:
            return f.read()
    except OSError:
        return None


def shim_env(q, spec):
    return lib.shim_env(q.dir, spec)


def counters(q):
    got = {}
    try:
        with open(os.path.join(q.dir, "counters")) as f:
            for ln in f:
                k, v = ln.split()
                got[k] = int(v)
    except OSError:
        pass
    return got


# --- requeue ---------------------------------------------------------------

def test_requeue_one():
    q, w = lib.Queue(), tq.Work()
    try:
        ids = inject(q, [tx(subject(1)), tx(subject(2))])
        blob = q.read(ids[0])
        fail_all(q, w)
        before = raw_state(q, ids[0])
        rc, out, err = qrun(q, "requeue", ids[0])
        st, _ = state_of(q, ids[0])
        raw = raw_state(q, ids[0]) or ""
        check("requeue-one-moved", rc == 0 and q.files("new") == [ids[0]]
              and q.files("failed") == [ids[1]] and
              q.read(ids[0]) == blob, "rc %d files %r err %s" % (
                  rc, all_files(q), txt(err)))
        check("requeue-one-record-reset", before is not None and
              "Failed: 1 <r@example.com>" in before and st is not None and
              st.get("Attempts") == "0" and st.get("Next-Try") == "0" and
              int(st.get("Requeued", 0)) >= int(time.time()) - 5 and
              "Failed:" not in raw and "Reason:" not in raw and
              "Final-Error:" not in raw and "Done:" not in raw,
              "before %r after %r" % (before, raw))
        check("requeue-one-logged", re.search(
            r"event=requeued id=%s from=s@example.org rcpts=1 pending=1 "
            r"reason=\"1 of 1 recipients failed: exit 67: no such user\"" %
            re.escape(ids[0]), txt(err)) is not None, txt(err))
        rc, out, err = qrun(q, "list", "--json")
        js = json.loads(out)
        check("requeue-one-listed-queued", [(e["id"], e["state"],
                                             e["attempts"]) for e in js] ==
              [(ids[0], "queued", 0)], "%r" % js)
        rc, out, err = qrun(q, "deliver", "--command", w.rec, env=w.env())
        check("requeue-one-delivered", rc == 0 and len(w.runs()) == 1 and
              events(err, "delivered") == [ids[0]] and
              q.files("new") == [] and raw_state(q, ids[0]) is None,
              "rc %d err %s files %r" % (rc, txt(err), all_files(q)))
        check("requeue-one-counted", counters(q) == dict(
            delivered=1, failed=2, deferred=0, corrupt=0, recovered=0,
            requeued=1, held=0, released=0), "%r" % counters(q))
    finally:
        q.cleanup()
        w.cleanup()


def test_requeue_keeps_delivered():
    """A message that failed for one recipient of three: the requeue
    hands it to that recipient only."""
    q, w = lib.Queue(), tq.Work()
    try:
        agent = w.script("per.sh", "#!/bin/sh\n"
                         "case \"$RECIPIENT\" in\n"
                         "bad@*) cat >/dev/null; echo unknown >&2; exit 67;;\n"
                         "esac\nexec " + w.rec + " \"$@\"\n")
        ids = inject(q, [tx(subject(1), rcpts=(
            b"<a@example.com>", b"<bad@example.com>", b"<c@example.com>"))])
        qrun(q, "deliver", "--per-recipient", "--command", agent,
             env=w.env())
        first = sorted(r[1][1] for r in w.runs())
        shutil.rmtree(w.out)
        os.mkdir(w.out)
        rc, out, err = qrun(q, "requeue", ids[0])
        raw = raw_state(q, ids[0]) or ""
        check("requeue-partial-record", rc == 0 and
              "Delivered: 1 <a@example.com>\n" in raw and
              "Delivered: 3 <c@example.com>\n" in raw and "Failed" not in
              raw and "pending=1" in txt(err), "%s %s" % (raw, txt(err)))
        rc, out, err = qrun(q, "deliver", "--per-recipient", "--command",
                            w.rec, env=w.env())
        runs = w.runs()
        check("requeue-partial-only-the-failed", first == [
            "a@example.com", "c@example.com"] and [r[1][1] for r in runs]
            == ["bad@example.com"] and events(err, "delivered") == ids,
            "first %r then %r err %s" % (first, [r[0] for r in runs],
                                         txt(err)))
    finally:
        q.cleanup()
        w.cleanup()


def test_requeue_many():
    q, w = lib.Queue(), tq.Work()
    try:
        ids = inject(q, [tx(subject(i)) for i in range(5)])
        fail_all(q, w)
        queued = inject(q, [tx(subject(9))])[0]
        rc, out, err = qrun(q, "requeue", ids[0], ids[1], "1.2.3.nothere.x",
                            queued, "../failed")
        e = txt(err)
        check("requeue-several", rc == 1 and
              q.files("new") == sorted([ids[0], ids[1], queued]) and
              q.files("failed") == sorted(ids[2:]) and
              sorted(events(err, "requeued")) == sorted(ids[:2]),
              "rc %d files %r err %s" % (rc, all_files(q), e))
        check("requeue-unknown-and-misplaced", "smtpd-queue: "
              "1.2.3.nothere.x: no such message\n" in e and
              "smtpd-queue: %s: not in failed/ (it is in new/)\n" % queued
              in e and "smtpd-queue: ../failed: no such message" in e, e)
        rc, out, err = qrun(q, "requeue", "--all-failed")
        check("requeue-all-failed", rc == 0 and q.files("failed") == [] and
              len(q.files("new")) == 6 and sorted(events(err, "requeued"))
              == sorted(ids[2:]), "rc %d files %r err %s" % (
                  rc, all_files(q), txt(err)))
        rc, out, err = qrun(q, "requeue", "--all-failed")
        check("requeue-all-failed-none", rc == 0 and err == b"",
              "rc %d err %s" % (rc, txt(err)))
        for name, args in (("usage-requeue-nothing", ["requeue"]),
                           ("usage-requeue-both", ["requeue", "--all-failed",
                                                   ids[0]]),
                           ("usage-hold-all-failed", ["hold", "--all-failed"]),
                           ("usage-release-nothing", ["release"]),
                           ("usage-requeue-json", ["requeue", "--json",
                                                   ids[0]])):
            rc, out, err = qrun(q, *args)
            check(name, rc == 100 and b"usage:" in err, "rc %d %s" % (
                rc, txt(err)))
    finally:
        q.cleanup()
        w.cleanup()


def test_requeue_locked():
    """A failed message whose lock is held (a deliverer that has just
    moved it there, or another command) is left alone."""
    q, w = lib.Queue(), tq.Work()
    try:
        ids = inject(q, [tx(subject(1))])
        fail_all(q, w)
        before = raw_state(q, ids[0])
        fd = os.open(os.path.join(q.dir, "failed", ids[0]), os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            rc, out, err = qrun(q, "requeue", ids[0])
            check("requeue-busy", rc == 111 and q.files("failed") == ids
                  and raw_state(q, ids[0]) == before and
                  "being delivered or moved: try again" in txt(err),
                  "rc %d files %r err %s" % (rc, all_files(q), txt(err)))
            rc, out, err = qrun(q, "requeue", "--all-failed")
            check("requeue-all-busy", rc == 111 and q.files("failed") ==
                  ids, "rc %d err %s" % (rc, txt(err)))
        finally:
            os.close(fd)
        rc, out, err = qrun(q, "requeue", ids[0])
        check("requeue-after-unlock", rc == 0 and q.files("new") == ids,
              "rc %d %s" % (rc, txt(err)))
    finally:
        q.cleanup()
        w.cleanup()


def test_requeue_races_deliverer():
    """deliver --watch fails every message while requeue --all-failed
    gives them back, again and again: each failure has its run of the
    command (a message in new/ with its failed record would fail without
    one), nothing is lost or doubled, and the deliverer takes each
    requeued message at once (the lock is gone before the rename)."""
    q, w = lib.Queue(), tq.Work()
    p = None
    try:
        runs = os.path.join(w.dir, "runs")
        agent = w.script("count.sh", "#!/bin/sh\ncat >/dev/null\n"
                         "echo x >> %s\nexit 67\n" % runs)
        n = 20
        ids = inject(q, [tx(subject(i)) for i in range(n)])
        p = qpopen(q, "deliver", "--watch", "--command", agent)
        codes = []
        # new/'s fsync takes a disk's time: a lock kept past the rename
        # would make the deliverer skip the message, and wait
        slow = shim_env(q, "dirfsync:1+:slow") if os.path.exists(
            SHIM) else None
        settled = []
        for _ in range(6):
            settled.append(wait_for(lambda: len(q.files("failed")) == n, 5))
            codes.append(qrun(q, "requeue", "--all-failed", env=slow)[0])
            time.sleep(0.05)
        settled.append(wait_for(lambda: len(q.files("failed")) == n, 5))
        p.terminate()
        p.communicate(timeout=10)
        p = None
        with open(runs) as f:
            nruns = len(f.read().split())
        c = counters(q)
        files = all_files(q)
        check("race-settles-promptly", all(settled) and files["new"] == []
              and files["claim"] == [], "rounds %r files %r" % (settled,
                                                               files))
        check("race-none-lost", sorted(files["failed"]) == sorted(ids),
              "%r" % files)
        check("race-every-failure-ran", nruns == c.get("failed") and
              c.get("requeued") == nruns - n and nruns >= 2 * n,
              "runs %d counters %r codes %r" % (nruns, c, codes))
        check("race-requeue-status", all(x in (0, 111) for x in codes),
              "%r" % codes)
    finally:
        if p is not None:
            p.kill()
            p.communicate()
        q.cleanup()
        w.cleanup()


def test_requeue_crash():
    """A crash at each step of a requeue (the shim kills it before the
    call): the message is never in new/ with its failed record, never
    lost, and a second requeue finishes the job."""
    if not os.path.exists(SHIM):
        check("requeue-crash-shim", False, "%s is missing (make)" % SHIM)
        return
    for step, where in (("renameat:1:kill", "failed"),	# the record
                        ("renameat2:1:kill", "failed"),	# the move
                        ("dirfsync:2:kill", "new")):	# new/'s fsync
        q, w = lib.Queue(), tq.Work()
        try:
            ids = inject(q, [tx(subject(1))])
            fail_all(q, w)
            before = raw_state(q, ids[0])
            rc, out, err = qrun(q, "requeue", ids[0],
                                env=shim_env(q, step))
            raw = raw_state(q, ids[0]) or ""
            files = all_files(q)
            name = "requeue-crash-" + step.split(":")[0]
            check(name + "-died", rc == -signal.SIGKILL, "rc %d %s" % (
                rc, txt(err)))
            check(name + "-place", files[where] == ids and
                  sum(len(v) for k, v in files.items()
                      if k != "state") == 1, "%r" % files)
            check(name + "-record", (raw == before) if step.startswith(
                "renameat:") else ("Requeued:" in raw and "Failed:" not in
                                   raw), "before %r after %r" % (before, raw))
            rc, out, err = qrun(q, "deliver", "--command", w.rec,
                                env=w.env())
            ran = len(w.runs())
            if where == "failed":
                rc2, out, err2 = qrun(q, "requeue", ids[0])
                rc, out, err = qrun(q, "deliver", "--command", w.rec,
                                    env=w.env())
                ok = rc2 == 0 and ran == 0
            else:
                ok = ran == 1
            check(name + "-then-delivered", ok and len(w.runs()) == 1 and
                  events(err, "delivered") == ids and tq.empty_queue(q)[0],
                  "ran %d files %r err %s" % (ran, all_files(q), txt(err)))
        finally:
            q.cleanup()
            w.cleanup()


def old_message(q, qid, days=2):
    """A queue file in new/ that arrived days ago."""
    data = re.sub(rb"Arrival: \d+", b"Arrival: %d" % (
        int(time.time()) - days * 86400), tq.spool_file(qid))
    tq.put_file(q, qid, data)


def reports(err):
    """(type, id) of each report (DSN) a deliverer logged."""
    return re.findall(r"event=report id=(\S+) dsn=\S+ type=(\w+)", txt(err))


def test_requeue_lifetime():
    """--max-age counts from the requeue: a message that expired is tried
    again for as long as a new one; so does --warn-after."""
    q, w = lib.Queue(), tq.Work()
    try:
        qid = "1700000000.000001.0000001.0123456789abcdef.mx"
        old_message(q, qid)
        tempf = w.script("tempf.sh", "#!/bin/sh\ncat >/dev/null\n"
                         "echo busy >&2\nexit 75\n")
        rc, out, err = qrun(q, "deliver", "--max-age", "86400", "--command",
                            tempf)
        check("lifetime-expired", q.files("failed") == [qid] and
              "expired after" in txt(err), "%r %s" % (all_files(q), txt(err)))
        rc, out, err = qrun(q, "requeue", qid)
        t0 = int(time.time())
        # with reports on: no delay warning, the requeue is an hour old at
        # most (the arrival two days)
        rc, out, err = tq.qrun(q, "deliver", "--max-age", "86400",
                               "--warn-after", "3600", "--command", tempf)
        st, _ = state_of(q, qid)
        check("requeue-restarts-max-age", rc == 0 and q.files("new") ==
              [qid] and events(err, "deferred") == [qid] and st and
              t0 < int(st.get("Next-Try", 0)) <= int(st.get("Requeued", 0))
              + 86400, "rc %d %r %r %s" % (rc, all_files(q), st, txt(err)))
        check("requeue-restarts-warn-after", reports(err) == [] and
              "Warned" not in st, "%r %s" % (st, txt(err)))
    finally:
        q.cleanup()
        w.cleanup()


def test_requeue_reports():
    """With reports on: a requeued recipient that fails again is reported
    again, and its record keeps one status, not two."""
    q, w = lib.Queue(), tq.Work()
    try:
        ids = inject(q, [tx(subject(1))])
        agent = w.script("fail.sh", FAIL_SH)
        rc, out, err1 = tq.qrun(q, "deliver", "--command", agent)
        before = raw_state(q, ids[0]) or ""
        rc, out, err = qrun(q, "requeue", ids[0])
        reset = raw_state(q, ids[0]) or ""
        for n in q.files("new"):	# the first report: not ours to send
            if n not in ids:
                os.unlink(os.path.join(q.dir, "new", n))
        rc, out, err2 = tq.qrun(q, "deliver", "--command", agent)
        after = raw_state(q, ids[0]) or ""
        rc, out, err3 = qrun(q, "show", ids[0])
        check("requeue-report-reset", "Status: 1 " in before and
              "Reported: 1" in before and "Status:" not in reset and
              "Reported:" not in reset, "before %r after requeue %r" % (
                  before, reset))
        check("requeue-reported-again", reports(err1) == [
            (ids[0], "failure")] and reports(err2) == [(ids[0], "failure")]
              and after.count("Status: 1 ") == 1 and "warning" not in
              txt(err2 + err3), "%s %s %r" % (txt(err1), txt(err2), after))
    finally:
        q.cleanup()
        w.cleanup()


def chown_tree(path, uid):
    for root, dirs, files in os.walk(path):
        os.chown(root, uid, uid)
        for n in files:
            os.chown(os.path.join(root, n), uid, uid)


def test_root_becomes_owner():
    """Run as root on a queue the deliverers' user owns, requeue and hold
    write as that user: the deliverer can still read what they wrote."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        print("SKIP requeue-as-owner: needs root and setpriv")
        return
    q, w = lib.Queue(), tq.Work()
    try:
        ids = inject(q, [tx(subject(1)), tx(subject(2))])
        fail_all(q, w)
        chown_tree(q.dir, NOBODY)
        os.chmod(w.dir, 0o755)
        os.chmod(w.out, 0o777)
        rc1, out, err1 = qrun(q, "requeue", ids[0])
        rc2, out, err2 = qrun(q, "requeue", ids[1])
        rc3, out, err3 = qrun(q, "hold", ids[1])
        owners = {n: os.stat(os.path.join(q.dir, n)).st_uid for n in (
            "state/" + ids[0], "state/" + ids[1], "hold", "hold/" + ids[1])}
        check("requeue-as-owner", (rc1, rc2, rc3) == (0, 0, 0) and
              set(owners.values()) == {NOBODY}, "rc %r owners %r %s" % (
                  (rc1, rc2, rc3), owners, txt(err1 + err2 + err3)))
        p = subprocess.run(["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" %
                            NOBODY, "--clear-groups", QTOOL, "--queue", q.dir,
                            "deliver"] + no_bounce() + ["--command", w.rec],
                           capture_output=True, timeout=60,
                           env=lib.base_env(w.env()))
        check("requeue-as-owner-delivered", p.returncode == 0 and
              events(p.stderr, "delivered") == [ids[0]] and
              q.files("hold") == [ids[1]], "rc %d %s" % (
                  p.returncode, txt(p.stderr)))
    finally:
        q.cleanup()
        w.cleanup()


# --- hold and release --------------------------------------------------------

def test_hold_release():
    q, w = lib.Queue(), tq.Work()
    p = None
    try:
        ids = inject(q, [tx(subject(i)) for i in range(3)])
        rc, out, err = qrun(q, "hold", ids[0], ids[1])
        check("hold-moved", rc == 0 and q.files("hold") == sorted(ids[:2])
              and q.files("new") == [ids[2]] and
              sorted(events(err, "held")) == sorted(ids[:2]),
              "rc %d files %r err %s" % (rc, all_files(q), txt(err)))
        rc, out, err = qrun(q, "deliver", "--force", "--command", w.rec,
                            env=w.env())
        check("hold-not-delivered", rc == 0 and events(err, "delivered") ==
              [ids[2]] and len(w.runs()) == 1 and
              q.files("hold") == sorted(ids[:2]), "err %s files %r" % (
                  txt(err), all_files(q)))
        p = qpopen(q, "deliver", "--watch", "--backoff", "1", "--command",
                   w.rec, env=w.env())
        time.sleep(1.5)
        p.terminate()
        p.communicate(timeout=10)
        p = None
        check("hold-survives-new-deliverer", len(w.runs()) == 1 and
              q.files("hold") == sorted(ids[:2]), "%r" % all_files(q))
        rc, out, err = qrun(q, "list", "--json")
        js = json.loads(out)
        check("hold-listed", sorted((e["id"], e["state"]) for e in js) ==
              sorted((i, "held") for i in ids[:2]), "%r" % js)
        rc, out, err = qrun(q, "list")
        check("hold-listed-text", all(re.search(r"%s .* held " % re.escape(
            i), txt(out)) for i in ids[:2]), txt(out))
        rc, out, err = qrun(q, "show", ids[0])
        check("hold-show", rc == 0 and "state       held (%s/hold/%s)" % (
            q.dir, ids[0]) in txt(out), txt(out))
        rc, out, err = qrun(q, "stats", "--json")
        st = json.loads(out)
        check("hold-stats", st.get("held") == 2 and st.get("queued") == 0,
              "%r" % st)
        old = time.time() - 37 * 3600	# a held message keeps its record
        with open(os.path.join(q.dir, "state", ids[0]), "w") as f:
            f.write("Version: 1\nId: %s\nRecipients: 1\nAttempts: 1\n"
                    "First-Attempt: 1\nLast-Attempt: 1\nNext-Try: 1\n"
                    "Last-Error: exit 75: later\n" % ids[0])
        os.utime(os.path.join(q.dir, "state", ids[0]), (old, old))
        rc, out, err = qrun(q, "clean")
        check("hold-clean-keeps-record", rc == 0 and
              q.files("state") == [ids[0]], "%r %s" % (all_files(q),
                                                         txt(err)))
        for name, args, want, msg in (
                ("hold-again", ["hold", ids[0]], 1,
                 "not in new/ (it is in hold/)"),
                ("release-not-held", ["release", ids[2] + "x"], 1,
                 "no such message"),
                ("hold-unknown", ["hold", "1.2.3.nothere.x"], 1,
                 "no such message")):
            rc, out, err = qrun(q, *args)
            check(name, rc == want and msg in txt(err), "rc %d %s" % (
                rc, txt(err)))
        rc, out, err = qrun(q, "release", ids[0], ids[1])
        check("release-moved", rc == 0 and q.files("new") == sorted(ids[:2])
              and q.files("hold") == [] and sorted(events(err, "released"))
              == sorted(ids[:2]) and "Last-Error: exit 75: later" in
              (raw_state(q, ids[0]) or ""), "rc %d files %r err %s" % (
                  rc, all_files(q), txt(err)))
        rc, out, err = qrun(q, "deliver", "--force", "--command", w.rec,
                            env=w.env())
        check("release-delivered", sorted(events(err, "delivered")) ==
              sorted(ids[:2]) and tq.empty_queue(q)[0] and
              counters(q).get("held") == 2 and
              counters(q).get("released") == 2, "err %s files %r %r" % (
                  txt(err), all_files(q), counters(q)))
    finally:
        if p is not None:
            p.kill()
            p.communicate()
        q.cleanup()
        w.cleanup()


def test_hold_busy():
    """A message being delivered cannot be held (try again); a failed one
    is not in new/."""
    q, w = lib.Queue(), tq.Work()
    p = None
    try:
        gate = os.path.join(w.dir, "gate")
        slow = w.script("slow.sh", "#!/bin/sh\ncat >/dev/null\n"
                        "while [ ! -e %s ]; do sleep 0.05; done\nexit 75\n"
                        % gate)
        ids = inject(q, [tx(subject(1))])
        p = qpopen(q, "deliver", "--command", slow)
        claimed = wait_for(lambda: q.files("claim") == ids, 10)
        rc, out, err = qrun(q, "hold", ids[0])
        check("hold-busy", claimed and rc == 111 and
              "being delivered or moved: try again" in txt(err) and
              q.files("claim") == ids, "rc %d err %s files %r" % (
                  rc, txt(err), all_files(q)))
        open(gate, "w").close()
        p.communicate(timeout=20)
        p = None
        rc, out, err = qrun(q, "hold", ids[0])
        check("hold-after-deferral", rc == 0 and q.files("hold") == ids,
              "rc %d %s" % (rc, txt(err)))
        ids2 = inject(q, [tx(subject(2))])
        fail_all(q, w)
        rc, out, err = qrun(q, "hold", ids2[0])
        check("hold-failed-refused", rc == 1 and "not in new/ (it is in "
              "failed/)" in txt(err), "rc %d %s" % (rc, txt(err)))
    finally:
        if p is not None:
            p.kill()
            p.communicate()
        q.cleanup()
        w.cleanup()


# --- show: the final error ---------------------------------------------------

def show_lines(q, qid):
    rc, out, err = qrun(q, "show", qid)
    return rc, {ln[:12].strip(): ln[12:] for ln in txt(out).splitlines()
                if len(ln) > 12 and not ln.startswith(" ")}


def test_final_error():
    q, w = lib.Queue(), tq.Work()
    try:
        # a temporary error, then the permanent one
        flip = w.script("flip.sh", "#!/bin/sh\ncat >/dev/null\n"
                        "if [ ! -e \"$OUTDIR/../seen\" ]; then\n"
                        "  touch \"$OUTDIR/../seen\"; echo 'mailbox locked'"
                        " >&2; exit 75\nfi\necho 'no such user' >&2; exit 67\n")
        ids = inject(q, [tx(subject(1))])
        qrun(q, "deliver", "--command", flip, env=w.env())
        qrun(q, "deliver", "--force", "--command", flip, env=w.env())
        rc, sh = show_lines(q, ids[0])
        check("final-error-after-temp", rc == 0 and q.files("failed") == ids
              and sh.get("final error") == "exit 67: no such user" and
              sh.get("temp error") == "exit 75: mailbox locked" and
              "next try" not in sh, "%r" % sh)
        # per recipient: one fails for good, another later gets it: the
        # reason says only "see Failed lines", the final error says why
        per = w.script("per.sh", "#!/bin/sh\ncat >/dev/null\n"
                       "case \"$RECIPIENT\" in\n"
                       "bad@*) echo 'unknown user' >&2; exit 67;;\n"
                       "late@*) if [ ! -e \"$OUTDIR/../late\" ]; then\n"
                       "  touch \"$OUTDIR/../late\"; echo 'try later' >&2;"
                       " exit 75\n  fi;;\nesac\nexit 0\n")
        ids = inject(q, [tx(subject(2), rcpts=(b"<bad@example.com>",
                                                b"<late@example.com>"))])
        qrun(q, "deliver", "--per-recipient", "--command", per,
             env=w.env())
        qrun(q, "deliver", "--per-recipient", "--force", "--command", per,
             env=w.env())
        rc, sh = show_lines(q, ids[0])
        check("final-error-not-the-temp-one", ids[0] in q.files("failed")
              and sh.get("reason") == "1 of 2 recipients failed: see "
              "Failed lines" and sh.get("final error") ==
              "exit 67: unknown user" and sh.get("temp error") ==
              "exit 75: try later", "%r" % sh)
        rc, out, err = qrun(q, "list", "--failed", "--json")
        js = {e["id"]: e for e in json.loads(out)}
        check("final-error-json", js[ids[0]]["final_error"] ==
              "exit 67: unknown user" and js[ids[0]]["last_error"] ==
              "exit 75: try later", "%r" % js)
        # a record written before Final-Error: taken from the last Failed
        path = os.path.join(q.dir, "state", ids[0])
        with open(path) as f:
            old = re.sub(r"Final-Error: .*\n", "", f.read())
        with open(path, "w") as f:
            f.write(old.replace("Failed: 1 <bad@example.com> exit 67: "
                                "unknown user\n", "Failed: 1 "
                                "<bad@example.com> exit 67: <x>: gone\n"))
        rc, sh = show_lines(q, ids[0])
        check("final-error-old-record", sh.get("final error") ==
              "exit 67: <x>: gone", "%s %r" % (old, sh))
        # expiry: the final error says so, with the last temporary one
        tempf = w.script("tempf.sh", "#!/bin/sh\ncat >/dev/null\n"
                         "echo busy >&2; exit 75\n")
        ids = inject(q, [tx(subject(3))])
        qrun(q, "deliver", "--max-age", "0", "--command", tempf)
        rc, sh = show_lines(q, ids[0])
        check("final-error-expired", re.match(
            r"expired after \d+ s in the queue; last error: exit 75: busy$",
            sh.get("final error", "")) is not None, "%r" % sh)
    finally:
        q.cleanup()
        w.cleanup()


# --- the command's own mistakes: exit 64, 126, 127 ---------------------------

def test_command_errors():
    q, w = lib.Queue(), tq.Work()
    try:
        for code, what in ((64, "command usage error (exit 64): check "
                            "--command and --dsn"),
                           (126, "command cannot run a program (exit 126)"),
                           (127, "command did not find a program (exit "
                            "127)")):
            agent = w.script("e%d.sh" % code, "#!/bin/sh\ncat >/dev/null\n"
                             "echo 'bad option -V' >&2\nexit %d\n" % code)
            ids = inject(q, [tx(subject(code))])
            attempts = []
            for args in ([], ["--force"], ["--force", "--per-recipient"]):
                rc, out, err = qrun(q, "deliver", *args, "--command", agent)
                st, _ = state_of(q, ids[0])
                attempts.append(st.get("Attempts") if st else None)
            e = txt(err)
            check("exit-%d-deferred" % code, rc == 0 and
                  q.files("new") == ids and q.files("failed") == [] and
                  attempts == ["1", "2", "3"] and
                  st.get("Last-Error", "").startswith(what) and
                  "bad option -V" in st.get("Last-Error", "") and
                  events(err, "deferred") == ids, "rc %d attempts %r "
                  "state %r err %s" % (rc, attempts, st, e))
            check("exit-%d-logged-loudly" % code, re.search(
                r"event=command-error level=error command=%s reason=\"%s" %
                (re.escape(agent), re.escape(what)), e) is not None, e)
            os.unlink(os.path.join(q.dir, "new", ids[0]))
        # the control: 65 is the message's failure, for good
        agent = w.script("e65.sh", "#!/bin/sh\ncat >/dev/null\nexit 65\n")
        ids = inject(q, [tx(subject(65))])
        rc, out, err = qrun(q, "deliver", "--command", agent)
        check("exit-65-fails", q.files("failed") == ids and
              "command-error" not in txt(err), "%r %s" % (
                  all_files(q), txt(err)))
    finally:
        q.cleanup()
        w.cleanup()


def test_msmtp_usage_error():
    """The case the issue names: --dsn envid gives msmtp -V, which it
    does not take (exit 64): deferred, not failed."""
    if shutil.which("msmtp") is None:
        check("msmtp-installed", False, "msmtp is missing (tests/deps.sh)")
        return
    q = lib.Queue()
    try:
        port = lib.free_port()		# nothing listens: msmtp says 75
        ids = inject(q, [tx(subject(1), mp=b"ENVID=abc"),
                         tx(subject(2))])
        rc, out, err = qrun(q, "deliver", "--dsn", "all", "--command",
                            "msmtp --host=127.0.0.1 --port=%d" % port)
        st0, _ = state_of(q, ids[0])
        st1, _ = state_of(q, ids[1])
        e = txt(err)
        check("msmtp-V-deferred", q.files("failed") == [] and
              q.files("new") == sorted(ids) and st0 and
              st0.get("Last-Error", "").startswith(
                  "command usage error (exit 64)") and
              "invalid option" in st0.get("Last-Error", "") and st1 and
              st1.get("Last-Error", "").startswith("exit 75"),
              "files %r %r %r err %s" % (all_files(q), st0, st1, e))
        check("msmtp-V-logged", len(re.findall(
            r"event=command-error level=error command=msmtp ", e)) == 1,
            e)
    finally:
        q.cleanup()


# --- stats --prometheus ------------------------------------------------------

def prom_parse(text):
    """The families as prometheus_client's parser sees them, or a why."""
    if not os.access(SYS_PYTHON, os.X_OK):
        return None, "%s is missing" % SYS_PYTHON
    p = subprocess.run([SYS_PYTHON, "-c", PARSE_PY], input=text.encode(),
                       capture_output=True, timeout=60,
                       env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    if p.returncode != 0:
        return None, "parser: %s" % txt(p.stderr)[-600:]
    return json.loads(p.stdout), None


def strict_lines(text):
    """The 0.0.4 text format, line by line, as we write it: HELP, TYPE,
    then that family's samples; the problems found."""
    bad, fam = [], None
    for ln in text.splitlines():
        m = re.match(r"# (HELP|TYPE) (smtpd_queue_[a-z_]+) (.+)$", ln)
        if m and m.group(1) == "HELP":
            fam = m.group(2)
        elif m and (m.group(2) != fam or m.group(3) not in (
                "gauge", "counter")):
            bad.append(ln)
        elif not m and not re.match(r"%s(\{state=\"[a-z]+\"\})? \d+$" %
                                    re.escape(fam or "-"), ln):
            bad.append(ln)
    return bad


def expected_figures(q):
    """What the queue holds, by the test's own reading of it."""
    now = time.time()
    n = {s: 0 for s in STATES}
    size = {s: 0 for s in STATES}
    oldest = {s: None for s in STATES}
    stale = 0
    for d, s in (("new", "new"), ("claim", "claimed"), ("hold", "held"),
                 ("failed", "failed"), ("corrupt", "corrupt"),
                 ("tmp", "tmp")):
        for name in q.files(d):
            if name.startswith("."):
                continue
            sb = os.lstat(os.path.join(q.dir, d, name))
            k = s
            if d == "new":
                st, _ = state_of(q, name)
                if st and int(st.get("Attempts", "0")) > 0:
                    k = "deferred"
            n[k] += 1
            size[k] += sb.st_size
            oldest[k] = sb.st_mtime if oldest[k] is None else min(
                oldest[k], sb.st_mtime)
            if d == "tmp" and now - sb.st_mtime > 36 * 3600:
                stale += 1
    age = {s: (now - oldest[s] if oldest[s] else 0) for s in STATES}
    return n, size, age, stale


def compare(fams, q, want_counts):
    """Problems between the parsed families and the queue's content."""
    by = {f["name"]: f for f in fams}
    n, size, age, stale = expected_figures(q)
    bad = []

    def val(name, state=None):
        f = by.get(name) or by.get(name[:-6] if name.endswith("_total")
                                   else name)
        for sname, labels, v in (f["samples"] if f else []):
            if sname == name and labels == ({"state": state} if state
                                            else {}):
                return v
        return None
    for s in STATES:
        for name, want in (("smtpd_queue_messages", n[s]),
                           ("smtpd_queue_bytes", size[s])):
            if val(name, s) != want:
                bad.append((name, s, val(name, s), want))
        got = val("smtpd_queue_oldest_age_seconds", s)
        if got is None or abs(got - age[s]) > 3:
            bad.append(("oldest", s, got, age[s]))
    if val("smtpd_queue_tmp_stale_files") != stale:
        bad.append(("stale", val("smtpd_queue_tmp_stale_files"), stale))
    for c in COUNTERS:
        if val("smtpd_queue_%s_total" % c) != want_counts[c]:
            bad.append((c, val("smtpd_queue_%s_total" % c), want_counts[c]))
    for f in fams:
        if not f["name"].startswith("smtpd_queue_") or not f["help"] or \
                f["type"] not in ("gauge", "counter"):
            bad.append(("family", f["name"], f["type"], f["help"]))
        if f["type"] == "counter" and not all(
                s[0].endswith("_total") for s in f["samples"]):
            bad.append(("counter-name", f["name"]))
    return bad


def metrics_queue(q, w):
    """A queue with something in every state, and every counter moved;
    the counters it should show."""
    agent = w.script("by-subject.sh", "#!/bin/sh\nm=$(cat)\n"
                     "case \"$m\" in\n"
                     "*'Subject: msg 1'*) echo nope >&2; exit 67;;\n"
                     "*'Subject: msg 2'*) echo later >&2; exit 75;;\n"
                     "esac\nexit 0\n")
    ids = inject(q, [tx(subject(i)) for i in range(7)])
    tq.put_file(q, "1.1.1.bad.x", b"Version: 9\n\nnot a queue file\n")
    qrun(q, "hold", ids[3], ids[4])
    qrun(q, "deliver", "--command", agent)	# 0,5,6 out; 1 fails; 2 waits
    qrun(q, "release", ids[3])
    qrun(q, "requeue", ids[1])
    qrun(q, "deliver", "--command", agent)	# 3 out; 1 fails again
    late, _ = inject(q, [tx(subject(7)), tx(subject(8))])
    os.rename(os.path.join(q.dir, "new", late),
              os.path.join(q.dir, "claim", late))	# a dead deliverer's
    tmp = os.path.join(q.dir, "tmp", "1.2.3.partial.x")
    with open(tmp, "w") as f:
        f.write("partial")
    old = time.time() - 37 * 3600
    os.utime(tmp, (old, old))
    return dict(delivered=4, failed=2, deferred=1, corrupt=1, recovered=0,
                requeued=1, held=2, released=1)


def test_prometheus_file():
    q, w = lib.Queue(), tq.Work()
    d = tempfile.mkdtemp(prefix="smtpd-prom-")
    try:
        want = metrics_queue(q, w)
        path = os.path.join(d, "smtpd_queue.prom")
        rc, out, err = qrun(q, "stats", "--prometheus", path)
        sb = os.stat(path) if os.path.exists(path) else None
        check("prom-written", rc == 0 and out == b"" and sb is not None and
              stat.S_IMODE(sb.st_mode) == 0o644 and
              os.listdir(d) == ["smtpd_queue.prom"],
              "rc %d err %s dir %r" % (rc, txt(err), os.listdir(d)))
        with open(path) as f:
            text = f.read()
        check("prom-format", not strict_lines(text) and text.endswith("\n"),
              "%r" % strict_lines(text))
        fams, why = prom_parse(text)
        check("prom-parsed", fams is not None and len(fams) == 4 + len(
            COUNTERS), why or "%r" % [f["name"] for f in fams])
        if fams is not None:
            bad = compare(fams, q, want)
            check("prom-values", not bad, "%r\n%s" % (bad, text))
        check("prom-states-all-seen", all(
            expected_figures(q)[0][s] > 0 for s in STATES),
            "%r" % (expected_figures(q)[0],))
        first = dict(re.findall(r"^(smtpd_queue_\w+_total) (\d+)$", text,
                                re.M))
        ino = sb.st_ino if sb else None
        rc, out, err = qrun(q, "clean")		# gives the claim back
        want["recovered"] = 1
        rc, out, err = qrun(q, "stats", "--prometheus", path)
        with open(path) as f:
            text = f.read()
        fams, why = prom_parse(text)
        bad = compare(fams, q, want) if fams is not None else [why]
        again = dict(re.findall(r"^(smtpd_queue_\w+_total) (\d+)$", text,
                                re.M))
        check("prom-replaced", rc == 0 and not bad and
              os.stat(path).st_ino != ino, "%r" % bad)
        check("prom-counters-monotonic", len(first) == len(COUNTERS) and
              all(int(again[k]) >= int(v) for k, v in first.items()) and
              again != first, "%r -> %r" % (first, again))
        rc, out, err = qrun(q, "stats", "--prometheus")
        fams, why = prom_parse(txt(out))
        check("prom-stdout", rc == 0 and fams is not None and
              not compare(fams, q, want), why or txt(out))
        # a FILE.tmp another writer is writing is left alone; one a crash
        # left behind (older than a minute) is taken over
        with open(path + ".tmp", "w") as f:
            f.write("another writer")
        with open(path) as f:
            kept = f.read()
        rc, out, err = qrun(q, "stats", "--prometheus", path)
        with open(path) as f:
            same = f.read() == kept
        check("prom-tmp-busy", rc == 111 and same and "File exists" in
              txt(err) and os.path.exists(path + ".tmp"),
              "rc %d err %s" % (rc, txt(err)))
        old = time.time() - 120
        os.utime(path + ".tmp", (old, old))
        rc, out, err = qrun(q, "stats", "--prometheus", path)
        check("prom-tmp-stale-taken-over", rc == 0 and
              os.listdir(d) == ["smtpd_queue.prom"], "rc %d %s %r" % (
                  rc, txt(err), os.listdir(d)))
        for name, args in (("usage-prom-json", ["stats", "--prometheus",
                                                "--json"]),
                           ("usage-stats-file", ["stats", path]),
                           ("usage-prom-list", ["list", "--prometheus"])):
            rc, out, err = qrun(q, *args)
            check(name, rc == 100, "rc %d %s" % (rc, txt(err)))
        rc, out, err = qrun(q, "stats", "--prometheus",
                            os.path.join(d, "nodir", "x.prom"))
        check("prom-no-directory", rc == 111 and "cannot write" in txt(err),
              "rc %d %s" % (rc, txt(err)))
    finally:
        shutil.rmtree(d, ignore_errors=True)
        q.cleanup()
        w.cleanup()


def test_prometheus_atomic():
    """A reader never sees a part of the file while it is rewritten."""
    q, w = lib.Queue(), tq.Work()
    d = tempfile.mkdtemp(prefix="smtpd-prom-")
    try:
        inject(q, [tx(subject(i)) for i in range(3)])
        path = os.path.join(d, "smtpd_queue.prom")
        qrun(q, "stats", "--prometheus", path)
        stop = threading.Event()
        reads = {"n": 0, "bad": []}

        def reader():
            while not stop.is_set():
                with open(path) as f:
                    t = f.read()
                reads["n"] += 1
                if not t.endswith("smtpd_queue_released_total 0\n") or \
                        strict_lines(t):
                    reads["bad"].append(t[-80:])
        th = threading.Thread(target=reader)
        th.start()
        codes = [qrun(q, "stats", "--prometheus", path)[0]
                 for _ in range(40)]
        stop.set()
        th.join()
        check("prom-atomic", codes == [0] * 40 and reads["n"] > 40 and
              not reads["bad"], "codes %r reads %d bad %r" % (
                  set(codes), reads["n"], reads["bad"][:3]))
    finally:
        shutil.rmtree(d, ignore_errors=True)
        q.cleanup()
        w.cleanup()


def node_exporter():
    for p in ("prometheus-node-exporter", "node_exporter"):
        if shutil.which(p):
            return shutil.which(p)
    return None


def scrape(port, tries=50):
    import urllib.request
    for _ in range(tries):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                        timeout=5) as r:
                return r.read().decode()
        except OSError:
            time.sleep(0.1)
    return None


def test_node_exporter():
    """The file as node_exporter's textfile collector serves it."""
    exe = node_exporter()
    if exe is None:
        check("node-exporter-installed", False, "prometheus-node-exporter "
              "is missing (tests/deps.sh)")
        return
    q, w = lib.Queue(), tq.Work()
    d = tempfile.mkdtemp(prefix="smtpd-textfile-")
    p = None
    try:
        want = metrics_queue(q, w)
        rc, out, err = qrun(q, "stats", "--prometheus",
                            os.path.join(d, "smtpd_queue.prom"))
        port = lib.free_port()
        p = subprocess.Popen([exe, "--collector.disable-defaults",
                              "--collector.textfile",
                              "--collector.textfile.directory=" + d,
                              "--web.listen-address=127.0.0.1:%d" % port],
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        body = scrape(port)
        fams, why = prom_parse(body or "")
        ours = [f for f in fams or [] if f["name"].startswith("smtpd_")]
        err_fam = [f for f in fams or []
                   if f["name"] == "node_textfile_scrape_error"]
        check("node-exporter-serves", rc == 0 and body is not None and
              len(ours) == 4 + len(COUNTERS) and err_fam and
              err_fam[0]["samples"][0][2] == 0, why or (body or "")[-800:])
        bad = compare(ours, q, want) if ours else ["nothing"]
        check("node-exporter-values", not bad, "%r" % bad)
    finally:
        if p is not None:
            p.terminate()
            p.communicate(timeout=10)
        shutil.rmtree(d, ignore_errors=True)
        q.cleanup()
        w.cleanup()


# --- the units ----------------------------------------------------------------

def unit_text(name):
    with open(os.path.join(UNITS, name)) as f:
        return f.read()


def exec_start(svc):
    return re.search(r"^ExecStart=(.*)$", svc, re.M).group(1).split()


def syscall_set(group, seen=None):
    """The system calls of a SystemCallFilter= group, nested ones too."""
    seen = set() if seen is None else seen
    seen.add(group)
    out = subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager",
                          group], capture_output=True).stdout.decode()
    calls = set()
    for ln in out.splitlines()[1:]:
        ln = ln.strip()
        if ln.startswith("@") and ln not in seen:
            calls |= syscall_set(ln, seen)
        elif ln and not ln.startswith("#") and not ln.startswith("@"):
            calls.add(ln)
    return calls


def test_units():
    texts = {n: unit_text(n) for n in METRIC_UNITS}
    svc, timer = texts[METRIC_UNITS[0]], texts[METRIC_UNITS[1]]
    argv = exec_start(svc)
    check("metrics-unit-content", argv[1:] == [
        "--queue", "/var/spool/smtpd", "stats", "--prometheus",
        "/var/lib/prometheus/node-exporter/smtpd_queue.prom"] and
        "User=smtpd" in svc and "OnCalendar=minutely" in timer and
        "WantedBy=timers.target" in timer, "%r" % argv)
    with open(os.path.join(lib.ROOT, "Makefile")) as f:
        mk = f.read()
    with open(os.path.join(lib.ROOT, "tests", "t_launch.py")) as f:
        launch = f.read()
    check("metrics-unit-installed", all(
        n in mk and n in launch for n in METRIC_UNITS), "")
    if shutil.which("systemd-analyze") is None:
        check("systemd-analyze-installed", False, "systemd is missing")
        return
    d = tempfile.mkdtemp(prefix="smtpd-mu-")
    try:
        for n in METRIC_UNITS:
            with open(os.path.join(d, n), "w") as f:
                f.write(texts[n].replace("/usr/sbin/smtpd-queue", QTOOL))
        p = subprocess.run(["systemd-analyze", "verify", "--man=no"] +
                           [os.path.join(d, n) for n in METRIC_UNITS],
                           capture_output=True,
                           env=lib.base_env({"SYSTEMD_LOG_COLOR": "0"}))
        out = txt(p.stdout + p.stderr)
        check("metrics-unit-verify", p.returncode == 0 and out.strip() ==
              "", "rc %d: %s" % (p.returncode, out))
        p = subprocess.run(["systemd-analyze", "security", "--offline=true",
                            "--no-pager", os.path.join(d, METRIC_UNITS[0])],
                           capture_output=True,
                           env=lib.base_env({"SYSTEMD_COLORS": "0"}))
        m = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)",
                      txt(p.stdout))
        print("score %s: %s" % (METRIC_UNITS[0], m and m.group(1)))
        check("metrics-unit-security", m is not None and
              float(m.group(1)) <= 1.0 and m.group(2) == "SAFE",
              txt(p.stdout)[-1500:])
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_unit_syscalls():
    """The unit's command under strace: every call within its
    SystemCallFilter=, and no socket at all (RestrictAddressFamilies=none)."""
    if shutil.which("strace") is None or shutil.which(
            "systemd-analyze") is None:
        check("strace-installed", False, "strace or systemd is missing")
        return
    q, w = lib.Queue(), tq.Work()
    d = tempfile.mkdtemp(prefix="smtpd-prom-")
    try:
        metrics_queue(q, w)
        trace = os.path.join(d, "trace")
        p = subprocess.run(["strace", "-f", "-qq", "-o", trace, QTOOL,
                            "--queue", q.dir, "stats", "--prometheus",
                            os.path.join(d, "smtpd_queue.prom")],
                           capture_output=True,
                           env=lib.base_env(no_asan_leaks()))
        with open(trace) as f:
            lines = f.read().splitlines()
        calls = {m.group(1) for m in (re.match(r"\d+\s+([a-z0-9_]+)\(", ln)
                                      for ln in lines) if m}
        allowed = syscall_set("@system-service") - syscall_set(
            "@privileged") - syscall_set("@resources")
        check("metrics-unit-syscalls", p.returncode == 0 and
              {"renameat", "fsync", "flock"} <= calls and
              not (calls - allowed) and "socket" not in calls,
              "rc %d outside the filter %r" % (
                  p.returncode, sorted(calls - allowed)))
    finally:
        shutil.rmtree(d, ignore_errors=True)
        q.cleanup()
        w.cleanup()


def test_unit_capability():
    """The unit's command line as its sandbox runs it: an unprivileged
    user (nobody stands in for smtpd) with only CAP_DAC_OVERRIDE, in a
    user namespace mapping only root and that user, writes the file
    into a root-owned 0755 directory; without the capability it cannot."""
    if os.geteuid() != 0:
        print("SKIP metrics-unit-capability: needs root")
        return
    pid, holder = lib.userns_holder(NOBODY, 60)
    if pid is None:
        check("metrics-unit-userns", False, "cannot make a user namespace "
              "here (unshare, nsenter, setpriv from util-linux)")
        return
    q, w = lib.Queue(), tq.Work()
    d = tempfile.mkdtemp(prefix="smtpd-mu-")
    try:
        inject(q, [tx(subject(i)) for i in range(2)])
        qrun(q, "stats")
        for root, dirs, files in os.walk(q.dir):
            os.chown(root, NOBODY, NOBODY)
            for n in files:
                os.chown(os.path.join(root, n), NOBODY, NOBODY)
        textdir = os.path.join(d, "node-exporter")
        os.mkdir(textdir, 0o755)
        os.chmod(d, 0o755)
        argv = [a.replace("/usr/sbin/smtpd-queue", QTOOL).replace(
            "/var/spool/smtpd", q.dir).replace(
            "/var/lib/prometheus/node-exporter", textdir)
            for a in exec_start(unit_text(METRIC_UNITS[0]))]
        env = lib.base_env(no_asan_leaks())
        results = {}
        for caps in ("+dac_override", "-all"):
            p = subprocess.run(
                ["nsenter", "-U", "-t", str(pid), "setpriv",
                 "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                 "--clear-groups", "--inh-caps=" + caps,
                 "--ambient-caps=" + caps,
                 "--bounding-set=-all" + (",+dac_override"
                                          if caps.startswith("+") else "")]
                + argv, capture_output=True, env=env, timeout=60)
            results[caps] = (p.returncode, txt(p.stderr),
                             os.listdir(textdir))
        prom = os.path.join(textdir, "smtpd_queue.prom")
        sb = os.stat(prom) if os.path.exists(prom) else None
        fams = None
        if sb is not None:
            with open(prom) as f:
                fams, why = prom_parse(f.read())
        check("metrics-unit-capability", results["+dac_override"][0] == 0
              and sb is not None and sb.st_uid == NOBODY and
              stat.S_IMODE(sb.st_mode) == 0o644 and fams is not None and
              not compare(fams, q, {c: 0 for c in COUNTERS}) and
              os.stat(textdir).st_uid == 0, "%r" % (results,))
        os.unlink(prom)
        check("metrics-unit-needs-the-capability",
              results["-all"][0] == 111 and "Permission denied" in
              results["-all"][1], "%r" % (results,))
    finally:
        holder.kill()		# --kill-child: its sleep goes too
        holder.wait()
        shutil.rmtree(d, ignore_errors=True)
        q.cleanup()
        w.cleanup()


def test_docs():
    with open(os.path.join(lib.ROOT, "man", "smtpd-queue.1")) as f:
        man = f.read()
    with open(os.path.join(lib.ROOT, "README")) as f:
        readme = f.read()
    p = subprocess.run([QTOOL, "--help"], capture_output=True, timeout=30)
    rc, helptext = p.returncode, txt(p.stdout)
    missing = [w for w in ("Cm requeue", "Cm hold", "Cm release",
                           "Fl \\-all\\-failed", "Fl \\-prometheus",
                           "smtpd_queue_messages", "command\\-error",
                           "Final-Error", "Requeued", "QUEUE/hold/")
               if w not in man]
    check("docs-man", not missing, "missing in smtpd-queue.1: %r" % missing)
    missing = [w for w in ("requeue", "hold ID", "--prometheus",
                           "event=command-error", "smtpd-queue-metrics.timer")
               if w not in readme]
    check("docs-readme", not missing, "missing in README: %r" % missing)
    check("docs-help", rc == 0 and all(w in helptext for w in (
        "requeue ID...|--all-failed", "hold ID...", "release ID...",
        "stats --prometheus [FILE]")), helptext)


def main():
    if not os.access(QTOOL, os.X_OK):
        check("smtpd-queue-built", False, "%s is missing (make)" % QTOOL)
        lib.finish()
    tests = [test_requeue_one, test_requeue_keeps_delivered,
             test_requeue_many, test_requeue_locked,
             test_requeue_races_deliverer, test_requeue_crash,
             test_root_becomes_owner, test_requeue_lifetime,
             test_requeue_reports,
             test_hold_release, test_hold_busy, test_final_error,
             test_command_errors, test_msmtp_usage_error,
             test_prometheus_file, test_prometheus_atomic,
             test_node_exporter, test_units, test_unit_syscalls,
             test_unit_capability, test_docs]
    lib.run_tests(tests)
    lib.finish()


if __name__ == "__main__":
    main()
