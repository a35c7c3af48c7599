"""t_limits.py - every wait and every size has a limit.

Idle and whole-session timeouts, huge command lines, floods of
recipients and NOOPs, oversized messages: the right reply code, a clean
exit, and a peak RSS that does not grow with the input (os.wait4).
"""
import os
import resource
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

FLAT_KB = 512   # peak RSS may exceed a one-message session's by this much
MAXRSS = os.path.join(lib.ROOT, "tests", "tools", "maxrss")


def start(q, args=(), env=None, stdin=subprocess.PIPE):
    """Start smtpd; threads drain its stdout and stderr as it runs."""
    rssfile = os.path.join(q.dir, "maxrss")
    cmd = [MAXRSS, rssfile, lib.SMTPD, "--queue", q.dir,
           "--hostname", lib.HOST] + list(args)
    p = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=lib.base_env(env))
    p.rssfile = rssfile
    p.got = {"out": bytearray(), "err": bytearray()}

    def drain(f, key):
        for chunk in iter(lambda: f.read1(65536), b""):
            p.got[key] += chunk
    p.readers = [threading.Thread(target=drain, args=(p.stdout, "out")),
                 threading.Thread(target=drain, args=(p.stderr, "err"))]
    for t in p.readers:
        t.start()
    return p


def finish(p, timeout=30):
    """Wait for p; return (rc, stdout, stderr, maxrss_kb)."""
    deadline = time.time() + timeout
    rc, rss = None, 0
    while time.time() < deadline:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            rc = p.returncode = os.waitstatus_to_exitcode(status)
            with open(p.rssfile) as f:
                rss = int(f.read())
            break
        time.sleep(0.02)
    else:
        p.kill()
        p.wait()
    for t in p.readers:
        t.join()
    return rc, bytes(p.got["out"]), bytes(p.got["err"]), rss


def feed(p, data):
    """Write all of data to p's stdin (or until smtpd hangs up)."""
    view = memoryview(data)
    try:
        while view:
            n = os.write(p.stdin.fileno(), view[:65536])
            view = view[n:]
    except BrokenPipeError:
        pass


def baseline_rss():
    """Peak RSS of a plain one-message session (the yardstick)."""
    q = lib.Queue()
    p = start(q)
    feed(p, b"EHLO x\r\nMAIL FROM:<a@example.org>\r\n"
         b"RCPT TO:<b@example.com>\r\nDATA\r\nSubject: s\r\n\r\nhi\r\n"
         b".\r\nQUIT\r\n")
    p.stdin.close()
    rc, out, err, rss = finish(p)
    q.cleanup()
    return rss


BASE_KB = baseline_rss()


def flat(name, rss):
    lib.check(name, rss - BASE_KB < FLAT_KB,
              "%d KB peak vs %d KB for one small message" % (rss, BASE_KB))


def test_idle_timeout():
    q = lib.Queue()
    p = start(q, ["--timeout", "1"])
    p.stdin.write(b"EHLO x\r\n")
    p.stdin.flush()
    t0 = time.time()
    rc, out, err, _ = finish(p, 10)
    took = time.time() - t0
    lib.check("idle-timeout-421", out.rstrip().endswith(
        b"421 4.4.2 mx.test.example timeout, closing connection"), out[-200:])
    lib.check("idle-timeout-exit-1", rc == 1, "rc=%r" % rc)
    lib.check("idle-timeout-took-about-1s", 0.8 < took < 5, "%.2fs" % took)
    q.cleanup()


def test_timeout_in_data():
    q = lib.Queue()
    p = start(q, ["--timeout", "1"])
    p.stdin.write(b"EHLO x\r\nMAIL FROM:<a@b.example>\r\n"
                  b"RCPT TO:<c@d.example>\r\nDATA\r\nSubject: half\r\n")
    p.stdin.flush()
    rc, out, err, _ = finish(p, 10)
    lib.check("data-timeout-421", b"\r\n421 4.4.2 " in out, out[-200:])
    lib.check("data-timeout-nothing-queued",
              q.files("new") == [] and q.files("tmp") == [],
              "new=%r tmp=%r" % (q.files("new"), q.files("tmp")))
    q.cleanup()


def test_session_cap_trickle():
    """A byte every 0.3 s never trips the idle limit; the cap ends it."""
    q = lib.Queue()
    p = start(q, ["--timeout", "5", "--session-timeout", "2"])
    t0 = time.time()
    try:
        for b in b"NOOP then some more text that never ends" * 10:
            os.write(p.stdin.fileno(), bytes([b]))
            time.sleep(0.3)
            if time.time() - t0 > 8:
                break
    except BrokenPipeError:
        pass
    rc, out, err, _ = finish(p, 10)
    took = time.time() - t0
    lib.check("session-cap-421", b"421 4.4.2 mx.test.example session time "
              b"limit reached" in out, out[-200:])
    lib.check("session-cap-took-about-2s", 1.5 < took < 5, "%.2fs" % took)
    q.cleanup()


def test_huge_command_line():
    q = lib.Queue()
    p = start(q)
    feed(p, b"EHLO x\r\nNOOP " + b"x" * (1 << 20) + b"\r\nNOOP\r\nQUIT\r\n")
    p.stdin.close()
    rc, out, err, rss = finish(p)
    lines = out.split(b"\r\n")
    lib.check("1mb-line-500", b"500 5.5.2 line too long" in lines, out[-300:])
    lib.check("1mb-line-session-goes-on", lines[-3:-1] == [
        b"250 2.0.0 OK", b"221 2.0.0 mx.test.example closing connection"],
        lines[-4:])
    flat("1mb-line-rss-flat", rss)


def rcpt_flood(args, n, orcpt=b""):
    """MAIL, n RCPTs (each with orcpt), DATA: (rc, replies, new/, rss)."""
    q = lib.Queue()
    p = start(q, args)
    rcpts = b"".join(b"RCPT TO:<user%d@example.com>%s\r\n" % (i, orcpt)
                     for i in range(n))
    feed(p, b"EHLO x\r\nMAIL FROM:<a@example.org>\r\n" + rcpts +
         b"DATA\r\nSubject: many\r\n\r\nhi\r\n.\r\nQUIT\r\n")
    p.stdin.close()
    rc, out, err, rss = finish(p, 120)
    lines = out.split(b"\r\n")
    files = [q.read(f) for f in q.files("new")]
    q.cleanup()
    return rc, lines, files, rss


def count(lines, prefix):
    return sum(1 for x in lines if x.startswith(prefix))


def test_many_recipients():
    """10k RCPTs: 100 accepted, then 452s; the first 1,000 past the limit
    are free (a client may pipeline more than we take), after that each
    is an error, so a client hammering them is cut at --max-errors"""
    rc, lines, files, rss = rcpt_flood([], 10000)
    lib.check("10k-rcpt-100-accepted", count(lines, b"250 2.1.5") == 100,
              "accepted %d" % count(lines, b"250 2.1.5"))
    lib.check("10k-rcpt-1020-452-then-421",
              count(lines, b"452 4.5.3") == 1000 + 20 and
              lines[-2].startswith(b"421 4.7.0 mx.test.example too many "
                                   b"errors"), lines[-3:])
    lib.check("10k-rcpt-cut-nothing-queued", files == [] and rc == 1,
              "rc=%r %d files" % (rc, len(files)))
    rc, lines, files, rss = rcpt_flood([], 1100)     # within the overshoot
    lib.check("1100-rcpt-overshoot-queued", count(lines, b"452 4.5.3") ==
              1000 and len(files) == 1 and rc == 0, "rc=%r %r" % (rc,
                                                               lines[-4:]))
    flat("10k-rcpt-rss-flat", rss)
    rc, lines, files, rss = rcpt_flood(["--max-errors", "100000"], 10000)
    lib.check("10k-rcpt-max-errors-rest-452",
              count(lines, b"452 4.5.3") == 9900,
              "452s: %d" % count(lines, b"452 4.5.3"))
    lib.check("10k-rcpt-max-errors-queued", len(files) == 1 and
              files[0].count(b"\nRecipient: ") == 100 and rc == 0,
              "rc=%r %d files" % (rc, len(files)))


def test_envelope_cap():
    """--max-recipients 100000 with 480-octet ORCPTs: the envelope's own
    cap (256 KiB by default) stops it with 452 4.5.3, memory stays flat,
    and the queue file stays small"""
    orcpt = b" ORCPT=rfc822;" + b"o" * 460 + b"@example.com"
    rc, lines, files, rss = rcpt_flood(
        ["--max-recipients", "100000", "--max-errors", "100000"], 100000,
        orcpt)
    ok = count(lines, b"250 2.1.5")
    full = count(lines, b"452 4.5.3 too many recipients: the envelope is "
                 b"full")
    lib.check("envelope-cap-452", 300 < ok < 600 and ok + full == 100000,
              "accepted %d, full %d" % (ok, full))
    lib.check("envelope-cap-queued-small", len(files) == 1 and
              len(files[0]) < (256 << 10) + 4096 and
              files[0].count(b"\nRecipient: ") == ok,
              [len(f) for f in files])
    # the recipients' text doubles its buffer as it grows: at most twice
    # the cap, whatever the number of RCPTs sent
    lib.check("envelope-cap-rss-bounded", rss - BASE_KB < FLAT_KB + 512,
              "%d KB peak vs %d KB for one small message" % (rss, BASE_KB))
    rc, lines, files, rss = rcpt_flood(
        ["--max-envelope", "4096", "--max-errors", "1000"], 200)
    ok = count(lines, b"250 2.1.5")
    lib.check("envelope-cap-option", 50 < ok < 100 and len(files) == 1 and
              files[0].count(b"\nRecipient: ") == ok, "accepted %d" % ok)


def test_noop_flood():
    q = lib.Queue()
    p = start(q)
    feed(p, b"NOOP\r\n" * 100000 + b"QUIT\r\n")
    p.stdin.close()
    rc, out, err, rss = finish(p)
    lib.check("100k-noop-all-answered",
              out.count(b"250 2.0.0 OK\r\n") == 100000, len(out))
    lib.check("100k-noop-exit-0", rc == 0, "rc=%r" % rc)
    flat("100k-noop-rss-flat", rss)


def test_oversized_message():
    q = lib.Queue()
    p = start(q, ["--max-size", "1000000"])
    feed(p, b"EHLO x\r\nMAIL FROM:<a@example.org>\r\n"
         b"RCPT TO:<b@example.com>\r\nDATA\r\nSubject: big\r\n\r\n")
    line = b"y" * 998 + b"\r\n"
    for _ in range(50):                  # 50 MB against a 1 MB limit
        feed(p, line * 1000)
    feed(p, b".\r\nNOOP\r\nQUIT\r\n")
    p.stdin.close()
    rc, out, err, rss = finish(p, 120)
    lib.check("oversize-552", b"\r\n552 5.3.4 message size exceeds fixed "
              b"limit of 1000000 bytes\r\n" in out, out[-300:])
    lib.check("oversize-session-goes-on", out.endswith(
        b"250 2.0.0 OK\r\n221 2.0.0 mx.test.example closing connection\r\n"),
        out[-200:])
    lib.check("oversize-nothing-queued", q.files("new") == [] and
              q.files("tmp") == [], q.files("tmp"))
    flat("oversize-rss-flat", rss)
    q.cleanup()


def test_many_header_lines():
    q = lib.Queue()
    hdrs = b"".join(b"X-Header-%d: value\r\n" % i for i in range(10000))
    rc, out, err = lib.run_smtpd(
        b"EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\n"
        b"DATA\r\n" + hdrs + b"\r\nbody\r\n.\r\nQUIT\r\n", q)
    lib.check("10k-headers-queued", b"250 2.0.0 OK queued as" in out and
              len(q.files("new")) == 1, out[-200:])
    q.cleanup()


def test_usage_errors():
    q = lib.Queue()
    rc, out, err = lib.run_smtpd(b"", q, ["--no-such-option"])
    lib.check("usage-unknown-option-100", rc == 100, "rc=%r" % rc)
    rc, out, err = lib.run_smtpd(b"", q, ["--max-recipients", "0"])
    lib.check("usage-bad-number-100", rc == 100, "rc=%r" % rc)
    rc, out, err = lib.run_smtpd(b"", q, ["--help"])
    lib.check("usage-help-0", rc == 0 and b"--max-size" in out, out[:100])
    rc, out, err = lib.run_smtpd(b"", q, ["--version"])
    lib.check("usage-version-0", rc == 0 and out.startswith(b"smtpd "), out)
    # option syntax: --name=value, unique prefixes, "--" (smtpd.8 OPTIONS)
    other = lib.Queue()
    msg = (b"HELO a\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"
           b"DATA\r\nx\r\n.\r\nQUIT\r\n")
    rc, out, err = lib.run_smtpd(msg, q, ["--queue=" + other.dir,
                                          "--max-s=100", "--max-rec", "5",
                                          "--"])
    lib.check("usage-equals-and-prefix", rc == 0 and
              len(other.files("new")) == 1 and not q.files("new"),
              "rc=%r %r" % (rc, err))
    other.cleanup()
    for name, args, text in (
            ("ambiguous", ["--max", "5"], b"ambiguous option: --max"),
            ("no-value", ["--timeout"], b"option needs a value: --timeout"),
            ("value-for-flag", ["--lf=1"], b"option takes no value"),
            ("short", ["-x"], b"unknown option: -x"),
            ("stray", ["stray"], b"unexpected argument: stray"),
            ("after-dashes", ["--", "--lf"], b"unexpected argument: --lf")):
        rc, out, err = lib.run_smtpd(b"QUIT\r\n", q, args)
        lib.check("usage-%s-100" % name, rc == 100 and text in err and
                  not out, "rc=%r %r" % (rc, err[:120]))
    a, b = socket.socketpair()
    p = start(q, ["--lf"], stdin=a.fileno())
    rc, out, err, _ = finish(p, 10)
    lib.check("usage-lf-on-socket-100", rc == 100, "rc=%r %r" % (rc, err))
    a.close()
    b.close()
    q.cleanup()


def test_client_never_reads():
    """A client that sends but never reads is cut at the idle timeout."""
    q = lib.Queue()
    a, b = socket.socketpair()
    b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    p = subprocess.Popen([lib.SMTPD, "--queue", q.dir, "--hostname",
                          lib.HOST, "--timeout", "1"], stdin=a.fileno(),
                         stdout=a.fileno(), stderr=subprocess.PIPE,
                         env=lib.base_env())
    a.close()
    b.settimeout(10)
    b.recv(4096)                        # the greeting
    b.setblocking(False)
    t0 = time.time()
    try:
        for _ in range(20000):
            b.send(b"NOOP\r\n" * 100)
    except (BlockingIOError, BrokenPipeError, ConnectionResetError):
        pass
    try:
        p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    took = time.time() - t0
    lib.check("never-reads-cut", p.returncode == 1 and took < 10,
              "rc=%r after %.1fs" % (p.returncode, took))
    b.close()
    q.cleanup()


def on_socket(args, nonblock=False):
    """smtpd with a socket for stdin and stdout, as under tcpserver."""
    q = lib.Queue()
    a, b = socket.socketpair()
    if nonblock:            # O_NONBLOCK on the description smtpd shares
        a.setblocking(False)
    # an AF_UNIX peer is untrusted: RELAYCLIENT, these test the waits
    p = subprocess.Popen([lib.SMTPD, "--queue", q.dir, "--hostname",
                          lib.HOST] + args, stdin=a.fileno(),
                         stdout=a.fileno(), stderr=subprocess.DEVNULL,
                         env=lib.base_env({"RELAYCLIENT": ""}))
    a.close()
    b.settimeout(20)
    return q, p, b


def trickle(b, data, gap, limit):
    """Send data a byte every gap seconds until smtpd hangs up or limit."""
    t0 = time.time()
    try:
        for c in data:
            b.send(bytes([c]))
            time.sleep(gap)
            if time.time() - t0 > limit:
                break
    except OSError:
        pass


def timed_on_socket(args, feed, nonblock=False):
    """Run feed(b) after the greeting, read to the end: (rc, got, secs)."""
    q, p, b = on_socket(args, nonblock)
    b.recv(4096)
    t0 = time.time()
    feed(b)
    got = lib.recv_all(b)
    took = time.time() - t0
    rc = p.wait(10)
    b.close()
    q.cleanup()
    return rc, got, took


def resume_then_stop(b):
    b.send(b"NO")
    time.sleep(1.5)
    b.send(b"OP")


def test_socket_waits():
    """Socket reads wait in read() under SO_RCVTIMEO: the same deadlines."""
    rc, got, took = timed_on_socket(["--timeout", "1"],
                                    lambda b: b.send(b"EHLO x\r\n"))
    lib.check("socket-idle-timeout-421", b"421 4.4.2 mx.test.example timeout"
              in got and rc == 1 and 0.8 < took < 6,
              "%.2fs %r" % (took, got[-120:]))
    # bytes every 0.5 s never end the line: its own 2 s clock must
    rc, got, took = timed_on_socket(["--timeout", "2"], lambda b: trickle(
        b, b"NOOP and no end of line" * 4, 0.5, 10))
    lib.check("socket-line-deadline-421", b"421 4.4.2 mx.test.example "
              b"timeout" in got and took < 7, "%.2fs %r" % (took, got[-120:]))
    # a line begun, more of it 1.5 s later, then silence: the line's 2 s
    # end comes first (at ~2 s, not 1.5 + 2 s), so the receive timer has
    # to shrink with it
    rc, got, took = timed_on_socket(["--timeout", "2"], resume_then_stop)
    lib.check("socket-line-deadline-shrinks", b"421 4.4.2 " in got and
              took < 3.0, "%.2fs %r" % (took, got[-120:]))
    rc, got, took = timed_on_socket(
        ["--timeout", "5", "--session-timeout", "2"],
        lambda b: trickle(b, b"NOOP\r\n" * 40, 0.3, 10))
    lib.check("socket-session-cap-421", b"421 4.4.2 mx.test.example session "
              b"time limit reached" in got and took < 7,
              "%.2fs %r" % (took, got[-120:]))


def test_nonblocking_socket():
    """A socket handed over with O_NONBLOCK: no busy wait, same result."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    q, p, b = on_socket(["--timeout", "3"], nonblock=True)
    got = b.recv(4096)
    for line in (b"EHLO x\r\n", b"MAIL FROM:<a@b.example>\r\n",
                 b"RCPT TO:<c@d.example>\r\n", b"DATA\r\n",
                 b"Subject: x\r\n\r\nbody\r\n.\r\n", b"QUIT\r\n"):
        time.sleep(0.5)     # smtpd waits for each line
        b.send(line)
    got += lib.recv_all(b)
    rc = p.wait(10)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime +
                                               before.ru_stime)
    lib.check("nonblocking-socket-session", rc == 0 and b"250 2.0.0 OK queued"
              in got and got.endswith(b"closing connection\r\n") and
              len(q.files("new")) == 1, "rc=%r %r" % (rc, got[-200:]))
    # 3 s of waiting: a loop on EAGAIN would spend them all on the CPU
    lib.check("nonblocking-socket-no-busy-wait", cpu < 2.5, "%.2fs CPU" % cpu)
    b.close()
    q.cleanup()
    rc, got, took = timed_on_socket(["--timeout", "1"], lambda b: None,
                                    nonblock=True)
    lib.check("nonblocking-socket-timeout", b"421 4.4.2 " in got and
              rc == 1 and took < 6, got[-120:])


def test_stderr_is_client_socket():
    """xinetd gives the socket as fd 2 too: logs must not reach it."""
    q = lib.Queue()
    a, b = socket.socketpair()
    p = subprocess.Popen([lib.SMTPD, "--queue", q.dir, "--hostname",
                          lib.HOST], stdin=a, stdout=a, stderr=a,
                         env=lib.base_env({"RELAYCLIENT": ""}))
    a.close()
    b.settimeout(10)
    greeting = b.recv(4096)             # a client waits for it (RFC 5321)
    b.sendall(b"EHLO x\r\nFOO\r\nMAIL FROM:<a@example.org>\r\n"
              b"RCPT TO:<b@example.com>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n")
    got = greeting + lib.recv_all(b)
    p.wait(10)
    lib.check("stderr-socket-no-logs-in-stream", b"smtpd[" not in got and
              got.endswith(b"221 2.0.0 mx.test.example closing connection"
                           b"\r\n") and b"queued as" in got, got[-300:])
    b.close()
    q.cleanup()


def data_paced(args, chunks, gap):
    """DATA sent as chunks, gap seconds apart, on a socket: (got, new/)."""
    q, p, b = on_socket(["--domain", "d.example"] + args)
    b.recv(4096)
    b.sendall(b"EHLO x\r\nMAIL FROM:<a@b.example>\r\n"
              b"RCPT TO:<c@d.example>\r\nDATA\r\n")
    try:
        for c in chunks:
            time.sleep(gap)
            b.sendall(c)
        b.sendall(b".\r\nQUIT\r\n")
    except OSError:
        pass
    got = lib.recv_all(b)
    p.wait(10)
    new = q.files("new") + q.files("tmp")
    b.close()
    q.cleanup()
    return got, new


def test_min_data_rate():
    """--min-data-rate: the first idle period is free, then the average
    must hold; a trickle is cut with 421 4.4.2, a slow link passes."""
    line = b"x" * 58 + b"\r\n"
    got, new = data_paced(["--timeout", "2", "--min-data-rate", "200"],
                          [line] * 40, 0.1)      # 600 octets/s, 4 s
    lib.check("min-data-rate-slow-link-passes", b"250 2.0.0 OK queued" in got
              and len(new) == 1, got[-200:])
    t0 = time.time()
    got, new = data_paced(["--timeout", "2", "--min-data-rate", "200"],
                          [b"x"] * 80, 0.05)     # 20 octets/s
    took = time.time() - t0         # cut at ~2 s, then up to 1 s linger
    lib.check("min-data-rate-trickle-cut", b"421 4.4.2 mx.test.example data "
              b"arrives too slowly" in got and new == [] and 1.9 < took < 4,
              "%.2fs %r %r" % (took, got[-200:], new))
    # the end arrives 2.8 s in, behind the rate: what has come whole is
    # judged by its end, not refused for its pace
    got, new = data_paced(["--timeout", "2", "--min-data-rate", "100"],
                          [b"Subject: x\r\n", b"\r\nbody\r\n.\r\n"], 1.4)
    lib.check("min-data-rate-ended-message-kept", b"250 2.0.0 OK queued"
              in got and len(new) == 1, got[-200:])
    got, new = data_paced(["--timeout", "2", "--min-data-rate", "0"],
                          [b"x"] * 60 + [b"\r\n"], 0.05)
    lib.check("min-data-rate-0-is-off", b"250 2.0.0 OK queued" in got and
              len(new) == 1, got[-200:])


def test_greet_delay_capped():
    """--greet-delay never waits past --session-timeout."""
    q, p, b = on_socket(["--greet-delay", "30", "--session-timeout", "2"])
    t0 = time.time()
    got = lib.recv_all(b)
    took = time.time() - t0
    try:
        rc = p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    b.close()
    q.cleanup()
    lib.check("greet-delay-capped-by-session", took < 5 and rc == 1 and
              b"421 4.4.2 mx.test.example session time limit reached" in
              got, "%.2fs rc=%r %r" % (took, rc, got))


for t in [test_stderr_is_client_socket, test_idle_timeout, test_timeout_in_data, test_session_cap_trickle,
          test_huge_command_line, test_many_recipients, test_envelope_cap,
          test_noop_flood,
          test_oversized_message, test_many_header_lines, test_usage_errors,
          test_client_never_reads, test_socket_waits,
          test_nonblocking_socket, test_min_data_rate,
          test_greet_delay_capped]:
    t()
lib.finish()
