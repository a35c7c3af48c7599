"""tests/lib.py - shared helpers for the Python test groups.

Each group prints "PASS name" or "FAIL name: why" per check, which
tests/run.sh adds up.  SMTPD is the binary under test (./smtpd unless
$SMTPD says otherwise, e.g. a sanitizer build).
"""
import concurrent.futures
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMTPD = os.environ.get("SMTPD", os.path.join(ROOT, "smtpd"))
HOST = "mx.test.example"
ID_RE = re.compile(rb"\d+\.\d+\.\d+\.[0-9a-f]{16}\.[A-Za-z0-9]+")
SHIM = os.path.join(ROOT, "tests", "fault", "faultshim.so")
QUEUED_RE = re.compile(rb"^250 2\.0\.0 OK queued as (\S+)\r$", re.M)

_results = {"pass": 0, "fail": 0}
_lock = threading.Lock()        # groups that run their cases in threads


def check(name, ok, why=""):
    """Report one check."""
    with _lock:
        if ok:
            _results["pass"] += 1
            print("PASS %s" % name)
        else:
            _results["fail"] += 1
            print("FAIL %s: %s" % (name, why))
        sys.stdout.flush()
    return ok


def skip(name, why):
    """Report a check that cannot run here, and why."""
    with _lock:
        print("SKIP %s: %s" % (name, why))
        sys.stdout.flush()


def version_line(timeout=60):
    """smtpd --version: what it was built with ("tls: no", ...)."""
    p = subprocess.run([SMTPD, "--version"], capture_output=True,
                       env=base_env(), timeout=timeout)
    return (p.stdout + p.stderr).decode("utf-8", "replace").strip()


def run_tests(tests):
    """Each test function in turn, an exception its FAIL; the time each
    took on a "time" line."""
    for t in tests:
        t0 = time.monotonic()
        try:
            t()
        except Exception:
            import traceback
            check(t.__name__, False, "exception: %s" % traceback.format_exc(
            ).replace("\n", "\n    "))
        print("time %s: %.1f s" % (t.__name__, time.monotonic() - t0))


def case_name(fn, prefix):
    """A test function's check name: test_foo_bar is PREFIX-foo-bar."""
    return getattr(fn, "func", fn).__name__.replace(
        "test_", prefix + "-").replace("_", "-")


def run_threads(tests, prefix, n=8):
    """The test functions side by side, n at a time in threads; an
    exception is the FAIL of its function's case_name."""
    def guarded(fn):
        try:
            fn()
        except Exception:
            import traceback
            check(case_name(fn, prefix), False,
                  "exception:\n" + traceback.format_exc())
    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        list(pool.map(guarded, tests))


def finish():
    """Exit non-zero when a check failed."""
    sys.exit(1 if _results["fail"] else 0)


class Queue:
    """A temporary queue directory."""

    def __init__(self, base=None):
        self.dir = tempfile.mkdtemp(prefix="smtpd-q-", dir=base)

    def files(self, sub):
        d = os.path.join(self.dir, sub)
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def read(self, name, sub="new"):
        with open(os.path.join(self.dir, sub, name), "rb") as f:
            return f.read()

    def messages(self):
        return [self.read(n) for n in self.files("new")]

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def base_env(extra=None):
    """A clean environment: no launcher variables unless asked; as root,
    SMTPD_ALLOW_ROOT=1, which smtpd needs to serve a socket as root."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TCP", "REMOTE_", "RELAYCLIENT", "SMTPD_",
                                "LISTEN_", "JOURNAL_STREAM"))}
    if os.geteuid() == 0:       # the suite as root: sessions on sockets
        env["SMTPD_ALLOW_ROOT"] = "1"
    env.update(extra or {})
    return env


def run_smtpd(data, queue, args=(), env=None, timeout=60, stdin=None):
    """Run smtpd with data on stdin (a pipe); return (rc, out, err)."""
    cmd = [SMTPD, "--queue", queue.dir, "--hostname", HOST] + list(args)
    p = subprocess.run(cmd, input=data if stdin is None else None,
                       stdin=stdin, capture_output=True, env=base_env(env),
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def crlf(*lines):
    return b"".join(x + b"\r\n" for x in lines)


def stuff(msg):
    """Dot-stuff CRLF message bytes and add the end marker."""
    return re.sub(rb"(?m)^\.", b"..", msg) + b".\r\n"


def tx(msg, frm=b"<s@example.org>", rcpts=(b"<r@example.com>",), mp=b""):
    """One transaction (MAIL..DATA..end) as client bytes; rcpts may carry
    parameters, mp are MAIL's."""
    out = b"MAIL FROM:" + frm + (b" " + mp if mp else b"") + b"\r\n"
    for r in rcpts:
        out += b"RCPT TO:" + r + b"\r\n"
    return out + b"DATA\r\n" + stuff(msg)


def inject(q, txs, args=(), helo="client.test.example"):
    """Put messages into queue q: one smtpd session (pipes) with each
    transaction in txs; their queue ids (RuntimeError unless all 250)."""
    data = b"EHLO " + helo.encode() + b"\r\n" + b"".join(txs) + b"QUIT\r\n"
    rc, out, err = run_smtpd(data, q, args=args, timeout=120)
    ids = [m.decode() for m in QUEUED_RE.findall(out)]
    if len(ids) != len(txs):
        raise RuntimeError("smtpd queued %d of %d: %r %r" % (
            len(ids), len(txs), out[-500:], err[-500:]))
    return ids


def shim_env(prefix, spec=None, counts=None):
    """The environment that puts tests/fault/faultshim.so under a program:
    calls on files under prefix counted (into the file counts) and failed
    as spec says; ASan told the shim comes first."""
    env = {"LD_PRELOAD": SHIM, "FAULT_PREFIX": prefix}
    if spec:
        env["FAULT_SPEC"] = spec
    if counts:
        env["FAULT_COUNTS"] = counts
    asan = os.environ.get("ASAN_OPTIONS", "")
    env["ASAN_OPTIONS"] = (asan + ":" if asan else "") + \
        "verify_asan_link_order=0"
    return env


def recv_all(sock):
    """Everything sock receives until the peer closes (or an error)."""
    got = b""
    try:
        while True:
            d = sock.recv(65536)
            if not d:
                break
            got += d
    except OSError:
        pass
    return got


def received_split(message):
    """(our Received: field with its folded lines, the client's bytes)
    of a spooled message (after the envelope)."""
    i = 0
    while True:
        j = message.index(b"\r\n", i) + 2
        if j >= len(message) or message[j:j + 1] not in (b" ", b"\t"):
            return message[:j], message[j:]
        i = j


def split_spool(blob):
    """Split a spool file into (envelope dict list, message bytes)."""
    head, sep, body = blob.partition(b"\n\n")
    fields = []
    for line in head.split(b"\n"):
        k, _, v = line.partition(b": ")
        fields.append((k.decode(), v.decode("utf-8", "replace")))
    return fields, body


def mask(out):
    """Replace queue ids with <ID> in server output."""
    return ID_RE.sub(b"<ID>", out)


def decode_escapes(s):
    r"""Turn \r \n \0 \t \\ and \xHH in a transcript line into bytes."""
    out = bytearray()
    b = s.encode("utf-8")
    i = 0
    while i < len(b):
        c = b[i]
        if c == 0x5c and i + 1 < len(b):
            n = chr(b[i + 1])
            if n in "rn0t\\":
                out += {"r": b"\r", "n": b"\n", "0": b"\0", "t": b"\t",
                        "\\": b"\\"}[n]
                i += 2
                continue
            if n == "x":
                out.append(int(b[i + 2:i + 4], 16))
                i += 4
                continue
        out.append(c)
        i += 1
    return bytes(out)


def free_port(ip="127.0.0.1"):
    """A TCP port on ip that is free right now."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((ip, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def procs(ppid=None, pgid=None):
    """Live processes (zombies too, when by ppid: not yet reaped) whose
    parent is ppid or whose process group is pgid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if ppid is not None and int(fields[1]) == ppid or \
                    pgid is not None and int(fields[2]) == pgid and \
                    fields[0] != "Z":
                out.append(int(d))
        except (OSError, IndexError, ValueError):
            pass
    return out


def userns_holder(nobody=65534, seconds=120):
    """A process in a new user namespace that maps root and nobody to
    themselves and nothing else, as systemd's PrivateUsers= maps root
    and a unit's user: (its pid, the unshare process to kill after), or
    (None, None) where that cannot be made (no unshare, nsenter and
    setpriv from util-linux, or no user namespaces)."""
    if not all(shutil.which(x) for x in ("unshare", "nsenter", "setpriv")):
        return None, None
    p = subprocess.Popen(["unshare", "--user", "--fork", "--kill-child",
                          "sleep", str(seconds)], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kids = []
    for _ in range(100):
        try:
            with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
                kids = f.read().split()
        except OSError:
            pass
        if kids:
            break
        time.sleep(0.02)
    try:
        for m in ("uid_map", "gid_map"):
            with open("/proc/%s/%s" % (kids[0], m), "w") as f:
                f.write("0 0 1\n%d %d 1\n" % (nobody, nobody))
    except (OSError, IndexError):
        p.kill()
        p.wait()
        return None, None
    return int(kids[0]), p


def wait_for(fn, timeout=10, step=0.05):
    """Call fn until it returns something true (that, then) or timeout
    seconds pass (then what it returns last)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()


def stop_group(p):
    """Stop a server started with start_new_session=True, its children too."""
    if p is None or p.poll() is not None:
        return
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def wait_greeting(p, port, timeout=10, greet_timeout=5):
    """Wait until a server on port greets with 220 (then QUIT); False if
    process p died or the time ran out."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if p.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), 1) as s:
                s.settimeout(greet_timeout)
                if s.recv(100).startswith(b"220 "):
                    s.sendall(b"QUIT\r\n")
                    s.recv(100)
                    return True
        except OSError:
            time.sleep(0.05)
    return False
