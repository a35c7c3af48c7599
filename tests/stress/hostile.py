"""hostile.py - hostile clients through a real tcpserver.

Slow clients:
  - a byte every 2 s never trips the idle limit; --session-timeout 5
    cuts it with 421 4.4.2 at about 5 s;
  - 200 idle connections fill `tcpserver -c 200`; a 201st client waits,
    and is served (a whole message queued) once the idle limit (3 s)
    frees the slots; every idle one got its 421;
  - a client that sends NOOPs but never reads its replies (small socket
    buffers) is cut at the idle limit (--timeout 2).
Oversized everything, each smtpd under tests/tools/maxrss: 10,000
recipients (the default cap: 100 taken, 9,900 x 452 under a raised
--max-errors; and with --max-recipients 10000 and a 1 MiB
--max-envelope: all kept), 1 MB command lines (NOOP, MAIL, RCPT,
EHLO, no verb), a 2 GB message streamed against --max-size 10 MB (552,
nothing queued), 10,000 header lines (queued whole) and 10,000
Received: lines (554 5.4.6), 100,000 pipelined NOOPs.  Each: the right
codes, exit status 0 after QUIT, and a peak RSS within FLAT_KB of a
one-message session's (the 10,000 kept recipients: within 4 MB).
The network versions of what t_limits.py does over pipes.
"""
import os
import re
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import lib  # noqa: E402
import netlib  # noqa: E402
from lib import check  # noqa: E402

FLAT_KB = 512
BIG_GB = float(os.environ.get("HOSTILE_BIG_GB", "2"))
ENV = (b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
STATUS = {}


def one_session(name, fn, args=(), rss=True):
    """Run fn(client, srv) on a fresh server; returns (status, rss KB)."""
    srv = netlib.Server(args=args, rss=rss)
    c = None
    try:
        c = netlib.Client(srv.port, timeout=120)
        fn(c, srv)
        c.close()
        c = None
        if not srv.wait_ended(1, 60):
            check(name + "-ended", False, srv.logtext())
            return None, 0
        status = srv.ended()[0][1]
        return status, (srv.rss_kb() if rss else 0)
    except (OSError, EOFError, AssertionError) as e:
        check(name, False, "%r; log: %s" % (e, srv.logtext()))
        return None, 0
    finally:
        if c is not None:
            c.close()
        srv.cleanup()


def greet(c):
    assert c.code() == "220"
    c.send(b"EHLO hostile.example\r\n")
    c.reply()


def baseline():
    def fn(c, srv):
        greet(c)
        c.send(ENV)
        c.replies(3)
        c.send(b"Subject: s\r\n\r\nhi\r\n.\r\nQUIT\r\n")
        c.replies(2)
    status, rss = one_session("baseline", fn)
    return rss


# --- slow clients ---------------------------------------------------------

def test_trickle_cut():
    """A byte every 2 s: 421 4.4.2 at the 5 s session cap."""
    got = {}

    def fn(c, srv):
        assert c.code() == "220"
        t0 = time.monotonic()
        data = b"NOOP and a line that never ends" * 4
        for b in data:
            try:
                c.s.sendall(bytes([b]))
            except OSError:
                break
            if not c.quiet_for(2.0) or time.monotonic() - t0 > 15:
                break
        c.read_to_eof(10)
        got["took"] = time.monotonic() - t0
        got["all"] = c.all
    status, _ = one_session("net-trickle", fn, ["--timeout", "10",
                                                "--session-timeout", "5"],
                            rss=False)
    check("net-trickle-cut-at-session-cap",
          b"421 4.4.2 mx.test.example session time limit reached" in
          got.get("all", b"") and 4.5 < got.get("took", 0) < 9 and
          status == 256, "took %.1fs status %r got %r" % (
              got.get("took", 0), status, got.get("all", b"")[-200:]))


def test_idle_fill():
    """200 idle sessions hold -c 200; the next client is served later."""
    srv = netlib.Server(args=["--timeout", "3", "--session-timeout", "60"],
                        conc=200, backlog=256)
    idle = []
    try:
        for _ in range(200):
            c = netlib.Client(srv.port, timeout=30)
            idle.append(c)
        greeted = sum(1 for c in idle if c.code() == "220")
        t0 = time.monotonic()
        late = netlib.Client(srv.port, timeout=30)
        first = late.reply()[0]
        waited = time.monotonic() - t0
        late.send(b"EHLO late.example\r\n")
        late.reply()
        late.send(ENV)
        codes = [late.code() for _ in range(3)]
        late.send(b"Subject: late\r\n\r\nserved at last\r\n.\r\nQUIT\r\n")
        codes += [late.code() for _ in range(2)]
        late.close()
        timeouts = 0
        for c in idle:
            c.read_to_eof(10)
            timeouts += b"421 4.4.2 mx.test.example timeout" in c.all
        srv.wait_ended(201, 20)
        check("net-200-idle-all-greeted", greeted == 200, "%d" % greeted)
        check("net-200-idle-new-client-waits-then-served",
              first.startswith(b"220 ") and 2.0 < waited < 10 and
              codes == ["250", "250", "354", "250", "221"] and
              len(srv.q.files("new")) == 1,
              "waited %.1fs, greeting %r, codes %r" % (waited, first, codes))
        check("net-200-idle-each-cut-with-421", timeouts == 200,
              "%d of 200 got the 421" % timeouts)
        check("net-200-idle-all-ended", len(srv.ended()) == 201,
              "%d ended" % len(srv.ended()))
    finally:
        for c in idle:
            c.close()
        srv.cleanup()


def test_never_reads():
    """Replies pile up unread: cut at the 2 s idle limit."""
    srv = netlib.Server(args=["--timeout", "2"])
    try:
        c = netlib.Client(srv.port, rcvbuf=4096)
        c.s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        c.s.setblocking(False)
        t0 = time.monotonic()
        chunk = b"NOOP\r\n" * 1000
        while time.monotonic() - t0 < 20 and not srv.ended():
            try:
                c.s.send(chunk)
            except BlockingIOError:
                time.sleep(0.05)
            except OSError:
                break
        srv.wait_ended(1, 15)
        took = time.monotonic() - t0
        ended = srv.ended()
        check("net-never-reads-cut-at-timeout", len(ended) == 1 and
              ended[0][1] == 256 and took < 10,
              "ended %r after %.1fs" % (ended, took))
        c.close()
    finally:
        srv.cleanup()


# --- oversized everything ---------------------------------------------------

def flat(name, rss, base, slack=FLAT_KB):
    check(name, rss and rss - base < slack, "%d KB peak vs %d KB for one "
          "small message" % (rss, base))


def test_many_rcpts(base):
    rcpts = b"".join(b"RCPT TO:<user%d@example.com>\r\n" % i
                     for i in range(10000))
    for cap, want in ((None, 100), ("10000", 10000)):
        got = {}

        def fn(c, srv, got=got):
            greet(c)
            reader = threading.Thread(target=lambda: got.update(
                r=[c.reply() for _ in range(10004)]))
            reader.start()
            c.send(b"MAIL FROM:<a@example.org>\r\n" + rcpts +
                   b"DATA\r\nSubject: many\r\n\r\nhi\r\n.\r\nQUIT\r\n")
            reader.join(120)
            new = srv.q.files("new")
            got["n"] = (srv.q.read(new[0]).count(b"\nRecipient: ")
                        if len(new) == 1 else -1)
        # every 452 counts as an error (--max-errors, t_limits.py cuts
        # a flood at the default 20); 10,000 kept recipients need a
        # larger envelope than the default 256 KiB
        args = ["--max-errors", "100000"] + (
            ["--max-recipients", cap, "--max-envelope", "1048576"]
            if cap else [])
        status, rss = one_session("net-10k-rcpt", fn, args)
        codes = [r[-1][:3] for r in got.get("r", [])]
        tag = "net-10k-rcpt-cap-%s" % (cap or "default")
        check(tag + "-codes", codes.count(b"250") == 1 + want + 1 and
              codes.count(b"452") == 10000 - want and
              codes[-3:] == [b"354", b"250", b"221"],
              "250s %d 452s %d last %r" % (codes.count(b"250"),
                                           codes.count(b"452"), codes[-3:]))
        check(tag + "-queued", got.get("n") == want, "%r" % got.get("n"))
        check(tag + "-exit-0", status == 0, "status %r" % status)
        flat(tag + "-rss", rss, base, FLAT_KB if not cap else 4096)


def test_huge_lines(base):
    mb = b"x" * (1 << 20)
    lines = [b"NOOP " + mb, b"MAIL FROM:<" + mb + b"@example.org>",
             b"RCPT TO:<" + mb + b"@example.com>", b"EHLO " + mb, mb]
    got = {}

    def fn(c, srv):
        greet(c)
        reader = threading.Thread(target=lambda: got.update(
            r=[c.reply()[-1] for _ in range(len(lines) + 3)]))
        reader.start()
        c.send(b"".join(x + b"\r\n" for x in lines) +
               b"MAIL FROM:<a@example.org>\r\nNOOP\r\nQUIT\r\n")
        reader.join(60)
    status, rss = one_session("net-1mb-lines", fn)
    r = got.get("r", [])
    check("net-1mb-lines-500-each", [x[:9] for x in r[:5]] ==
          [b"500 5.5.2"] * 5, r[:5])
    check("net-1mb-lines-session-goes-on", [x[:3] for x in r[5:]] ==
          [b"250", b"250", b"221"][:len(r) - 5] and len(r) == 8, r[5:])
    check("net-1mb-lines-exit-0", status == 0, "status %r" % status)
    flat("net-1mb-lines-rss", rss, base)


def test_2gb_message(base):
    total = int(BIG_GB * (1 << 30))
    got = {}

    def fn(c, srv):
        greet(c)
        c.send(ENV)
        got["pre"] = [c.code() for _ in range(3)]
        chunk = (b"y" * 1022 + b"\r\n") * 1024          # 1 MiB
        t0 = time.monotonic()
        c.send(b"Subject: huge\r\n\r\n")
        for _ in range(total // len(chunk)):
            c.s.sendall(chunk)
        c.send(b".\r\nNOOP\r\nQUIT\r\n")
        got["r"] = [c.reply()[-1] for _ in range(3)]
        got["took"] = time.monotonic() - t0
        got["new"] = srv.q.files("new")
        got["tmp"] = srv.q.files("tmp")
        srv.wait_ended(1, 30)
        m = re.search(rb"event=disconnect .*bytes_in=(\d+)", srv.logbytes())
        got["bytes_in"] = int(m.group(1)) if m else 0
    status, rss = one_session("net-2gb", fn, ["--max-size", "10000000"])
    r = got.get("r", [])
    check("net-2gb-vs-10mb-552", got.get("pre") == ["250", "250", "354"]
          and r and r[0] == b"552 5.3.4 message size exceeds fixed limit "
          b"of 10000000 bytes" and [x[:3] for x in r[1:]] ==
          [b"250", b"221"], "%r %r" % (got.get("pre"), r))
    check("net-2gb-all-read", got.get("bytes_in", 0) > total,
          "smtpd read %d bytes of %d" % (got.get("bytes_in", 0), total))
    check("net-2gb-nothing-queued", got.get("new") == [] and
          got.get("tmp") == [], "%r %r" % (got.get("new"), got.get("tmp")))
    check("net-2gb-exit-0", status == 0, "status %r" % status)
    flat("net-2gb-rss", rss, base)
    print("2 GB streamed in %.1f s (%.0f MB/s)" % (
        got.get("took", 0), total / (1 << 20) / max(got.get("took", 1),
                                                     0.001)))


def test_many_headers(base):
    for kind, hdr, want in (
            ("plain", b"X-Header-%d: value\r\n", b"250"),
            ("received", b"Received: from hop%d.example by x; "
             b"Thu, 1 Jan 2026 00:00:00 +0000\r\n", b"554")):
        got = {}
        hdrs = b"".join(hdr % i for i in range(10000))

        def fn(c, srv, got=got, hdrs=hdrs):
            greet(c)
            c.send(ENV + hdrs + b"\r\nbody\r\n.\r\nQUIT\r\n")
            got["r"] = [c.reply()[-1] for _ in range(5)]
            got["new"] = [srv.q.read(n) for n in srv.q.files("new")]
        status, rss = one_session("net-10k-headers", fn)
        r = got.get("r", [])
        new = got.get("new", [])
        tag = "net-10k-headers-%s" % kind
        check(tag + "-reply", len(r) == 5 and r[3][:3] == want and
              r[4][:3] == b"221", r)
        check(tag + "-queued", (len(new) == 1 and new[0].endswith(
            hdrs + b"\r\nbody\r\n")) if want == b"250" else new == [],
            "%d files" % len(new))
        check(tag + "-exit-0", status == 0, "status %r" % status)
        flat(tag + "-rss", rss, base)


def test_noop_flood(base):
    got = {}

    def fn(c, srv):
        assert c.code() == "220"

        def reader():
            n = 0
            while True:
                line = c.reply()[-1]
                if line.startswith(b"221 "):
                    break
                n += line == b"250 2.0.0 OK"
            got["n"] = n
        t = threading.Thread(target=reader)
        t.start()
        c.send(b"NOOP\r\n" * 100000 + b"QUIT\r\n")
        t.join(120)
    status, rss = one_session("net-100k-noop", fn)
    check("net-100k-noop-all-answered", got.get("n") == 100000,
          "%r" % got.get("n"))
    check("net-100k-noop-exit-0", status == 0, "status %r" % status)
    flat("net-100k-noop-rss", rss, base)


def main():
    if not netlib.have_tcpserver():
        print("SKIP hostile: tcpserver not installed")
        lib.finish()
    t0 = time.time()
    base = baseline()
    print("baseline: one small message, peak RSS %d KB" % base)
    for t in (test_trickle_cut, test_idle_fill, test_never_reads):
        try:
            t()
        except Exception:
            import traceback
            check(t.__name__, False, traceback.format_exc())
    for t in (test_many_rcpts, test_huge_lines, test_2gb_message,
              test_many_headers, test_noop_flood):
        try:
            t(base)
        except Exception:
            import traceback
            check(t.__name__, False, traceback.format_exc())
    print("hostile: %.0f s" % (time.time() - t0))
    lib.finish()


if __name__ == "__main__":
    main()
