"""kill.py - crash consistency: KILL_SESSIONS (1000) sessions, each sent
1 to 3 messages and kill -9'd at a random moment.

Half the sessions send one message at a time (each after the last one's
reply), half pipeline them all in one write.  The kill comes at a random
time within a session's usual length, or a random few milliseconds
after the 354 or after a 250 was read (to land in the commit).  The
queue is on a real file system (the test's temp dir, not tmpfs) so the
fsyncs take their real time.  Afterwards:
  - every message whose 250 the client read is in new/ under that id,
    byte for byte;
  - every file in new/ is complete (a message that was sent, whole);
  - a file in new/ without its 250 is one of the messages in flight at
    the kill: at most one per session when sending one at a time, at
    most the unanswered batch when pipelining;
  - no two files hold the same message.
Leftovers in tmp/ are expected after kill -9 (counted, not a failure).
"""
import os
import random
import re
import select
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import lib  # noqa: E402
from lib import check  # noqa: E402

SESSIONS = int(os.environ.get("KILL_SESSIONS", "1000"))
SEED = int(os.environ.get("KILL_SEED", str(int(time.time()))))
TOKEN_RE = re.compile(rb"\r\nX-Kill-Token: (s\d+m\d+)\r\n")
REPLY_RE = re.compile(rb"^(\d\d\d)([ -])(.*)$")


def make_message(rng, s, k):
    size = rng.choice([100, 300, 2000, 20000, 70000, 300000, 1200000])
    line = b"%d:%d " % (s, k) + b"z" * 70 + b"\r\n"
    body = line * (size // len(line) + 1)
    return (b"From: killer@example.org\r\nX-Kill-Token: s%dm%d\r\n"
            b"Subject: kill test %d/%d\r\n\r\n" % (s, k, s, k)) + body


def envelope():
    return (b"MAIL FROM:<killer@example.org>\r\n"
            b"RCPT TO:<victim@example.com>\r\nDATA\r\n")


class Session:
    """One smtpd on pipes, driven without threads."""

    def __init__(self, q, msgs, stepwise):
        self.p = subprocess.Popen(
            [lib.SMTPD, "--queue", q.dir, "--hostname", lib.HOST],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=lib.base_env())
        os.set_blocking(self.p.stdin.fileno(), False)
        self.msgs = msgs
        # no QUIT, and stdin stays open: every session ends by the kill
        if stepwise:
            self.chunks = [b"EHLO c.example\r\n"] + [
                envelope() + m + b".\r\n" for m in msgs]
        else:
            self.chunks = [b"EHLO c.example\r\n" + b"".join(
                envelope() + m + b".\r\n" for m in msgs)]
        self.stepwise = stepwise
        self.out = b""
        self.pending = self.chunks[0]
        self.next_chunk = 1
        self.finals = []        # per message: (code, text) after its 354
        self.lines = []
        self.seen_354 = 0

    def parse(self):
        while b"\r\n" in self.out:
            line, self.out = self.out.split(b"\r\n", 1)
            m = REPLY_RE.match(line)
            if not m:
                continue
            self.lines.append(line)
            if m.group(1) == b"354":
                self.seen_354 += 1
            elif m.group(2) == b" " and len(self.finals) < self.seen_354:
                self.finals.append((m.group(1), m.group(3)))

    def replies_done(self):
        """How many replies (last lines) we have: steps wait on them."""
        return sum(1 for x in self.lines if x[3:4] == b" ")

    def all_answered(self):
        return len(self.finals) == len(self.msgs)

    def run(self, kill_at, kill_on):
        """Drive the session; kill at time kill_at or after event."""
        fin = self.p.stdin.fileno()
        fout = self.p.stdout.fileno()
        want = 2                    # greeting + EHLO before the 1st message
        killed = False
        start = time.monotonic()
        deadline = start + 60
        while True:
            now = time.monotonic()
            if not killed and (now >= kill_at or (
                    kill_on and kill_on(self) is not None and
                    now >= kill_on(self))):
                self.p.send_signal(signal.SIGKILL)
                killed = True
            if now > deadline:
                self.p.kill()
                killed = True
            wr = [fin] if self.pending and not self.p.stdin.closed else []
            r, w, _ = select.select([fout], wr, [], 0.002)
            if w:
                try:
                    n = os.write(fin, self.pending[:65536])
                    self.pending = self.pending[n:]
                except BlockingIOError:
                    pass
                except BrokenPipeError:
                    self.pending = b""
            if r:
                d = os.read(fout, 65536)
                if not d:
                    break
                self.out += d
                self.parse()
            if (self.stepwise and not self.pending and
                    self.next_chunk < len(self.chunks) and
                    self.replies_done() >= want):
                self.pending = self.chunks[self.next_chunk]
                want += 4           # MAIL, RCPT, DATA (354), the end
                self.next_chunk += 1
        try:
            self.p.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        self.p.wait()
        self.p.stdout.close()
        return killed and self.p.returncode == -signal.SIGKILL


def calibrate(q, rng):
    """The usual length of a session, in seconds."""
    times = []
    for i in range(10):
        msgs = [make_message(rng, 10 ** 6 + i, k) for k in range(2)]
        s = Session(q, msgs, i % 2 == 0)
        t0 = time.monotonic()
        done = {}

        def when_done(sess, done=done):
            if "t" not in done and sess.all_answered():
                done["t"] = time.monotonic()
            return done.get("t")
        s.run(t0 + 30, when_done)
        times.append(done.get("t", t0 + 30) - t0)
    for f in q.files("new"):
        os.unlink(os.path.join(q.dir, "new", f))
    return sorted(times)[len(times) // 2]


def after_event(delay, what):
    """A kill trigger: delay seconds after the first 354 or 250 seen."""
    state = {}

    def trigger(s):
        if "t" not in state:
            hit = (s.seen_354 > 0 if what == "354" else
                   any(c == b"250" for c, _ in s.finals))
            if hit:
                state["t"] = time.monotonic() + delay
        return state.get("t")
    return trigger


def main():
    rng = random.Random(SEED)
    print("kill test: %d sessions, seed %d (KILL_SEED to repeat)" % (
        SESSIONS, SEED))
    q = lib.Queue()
    try:
        usual = calibrate(q, rng)
        print("a session takes about %.1f ms" % (usual * 1000))
        expected = {}       # token -> message bytes
        acked = {}          # token -> queue id from the 250
        inflight = {}       # session -> tokens sent without a final reply
        stepwise_of = {}
        killed = 0
        t0 = time.time()
        for sn in range(SESSIONS):
            n = rng.choice([1, 1, 2, 3])
            msgs = [make_message(rng, sn, k) for k in range(n)]
            for k, m in enumerate(msgs):
                expected[b"s%dm%d" % (sn, k)] = m
            stepwise = sn % 2 == 0
            stepwise_of[sn] = stepwise
            how = rng.random()
            start = time.monotonic()
            if how < 0.5:
                kill_at, kill_on = start + rng.uniform(0, usual * 1.3), None
            else:
                kill_at = start + max(2, usual * 20)
                kill_on = after_event(rng.uniform(0, 0.004),
                                      "354" if how < 0.8 else "250")
            s = Session(q, msgs, stepwise)
            if s.run(kill_at, kill_on):
                killed += 1
            for k, (code, text) in enumerate(s.finals):
                if code == b"250" and b"queued as " in text:
                    acked[b"s%dm%d" % (sn, k)] = \
                        text.split(b"queued as ")[1].decode()
            inflight[sn] = [b"s%dm%d" % (sn, k)
                            for k in range(len(s.finals), n)]
        took = time.time() - t0
        verify(q, expected, acked, inflight, stepwise_of, killed, took)
    finally:
        q.cleanup()
    lib.finish()


def verify(q, expected, acked, inflight, stepwise_of, killed, took):
    new = q.files("new")
    tmp = q.files("tmp")
    by_token = {}
    partial = []
    for name in new:
        blob = q.read(name)
        head, sep, m = blob.partition(b"\n\n")
        t = TOKEN_RE.search(m)
        tok = t.group(1) if t else None
        # the message after our Received: field must be what was sent
        if (tok is None or tok not in expected or
                not m.endswith(b"\r\n" + expected[tok].split(
                    b"\r\n", 1)[1]) or
                b"\r\nFrom: killer@example.org\r\nX-Kill-Token: " + tok
                not in m or not m.endswith(expected[tok][-200:])):
            partial.append((name, len(blob)))
            continue
        # exact: drop our Received field, compare the rest
        i = m.index(b"From: killer@example.org\r\n")
        if m[i:] != expected[tok]:
            partial.append((name, len(blob)))
            continue
        by_token.setdefault(tok, []).append(name)
    dups = {t: v for t, v in by_token.items() if len(v) > 1}
    lost = [(t, i) for t, i in acked.items() if by_token.get(t) != [i]]
    orphans = {}
    for tok in by_token:
        if tok not in acked:
            sn = int(tok[1:].split(b"m")[0])
            orphans.setdefault(sn, []).append(tok)
    bad_orphans = []
    for sn, toks in orphans.items():
        if any(t not in inflight[sn] for t in toks):
            bad_orphans.append((sn, toks, "not in flight"))
        elif stepwise_of[sn] and len(toks) > 1:
            bad_orphans.append((sn, toks, "more than one in flight"))
    worst_step = max([len(v) for sn, v in orphans.items()
                      if stepwise_of[sn]] + [0])
    worst_pipe = max([len(v) for sn, v in orphans.items()
                      if not stepwise_of[sn]] + [0])
    midway = sum(1 for v in inflight.values() if v)
    print("kills: %d of %d sessions killed in %.0f s" % (
        killed, SESSIONS, took))
    print("%d sessions were killed with a message not yet answered" %
          midway)
    print("messages: %d sent, %d acknowledged (250 seen), %d files in new/,"
          " %d without their 250 (in flight at the kill: at most %d in a "
          "session sending one at a time, %d in a pipelined batch), %d "
          "partial files left in tmp/ (expected after kill -9)" % (
              len(expected), len(acked), len(new),
              sum(len(v) for v in orphans.values()), worst_step, worst_pipe,
              len(tmp)))
    check("kill-every-250-complete-in-new", not lost,
          "%d acknowledged messages missing or wrong: %r" % (
              len(lost), lost[:10]))
    check("kill-nothing-partial-in-new", not partial,
          "%d partial or unknown files: %r" % (len(partial), partial[:10]))
    check("kill-no-duplicates", not dups, "%r" % list(dups.items())[:10])
    check("kill-orphans-only-in-flight", not bad_orphans,
          "%r" % bad_orphans[:10])
    check("kill-sessions-killed", killed == SESSIONS,
          "only %d of %d sessions were killed" % (killed, SESSIONS))


if __name__ == "__main__":
    main()
