"""tests/t_milter.py - smtpd as a milter client (--milter).

A scripted filter (ScriptedFilter, the filter side of the protocol
written here from libmilter's mfdef.h packet layouts) listens on a UNIX
socket in a temporary directory and answers each command as the test
says, recording what smtpd sent.  Covered: negotiation and the steps a
filter leaves out (SMFIP_NO*) or does not answer (SMFIP_NR_*), the
commands and macros of each stage, headers and body streamed at the end
of the message, every reply (CONTINUE, ACCEPT, REJECT, TEMPFAIL,
DISCARD, REPLYCODE checked against injection, PROGRESS), and broken
filters (down, hanging, dying mid-message, an oversized packet, garbage)
under each --milter-default-action.  Durability: a refused or discarded
message leaves nothing in new/ or tmp/.
"""
import os
import re
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import Queue, check, finish, run_smtpd  # noqa: E402

# OpenDKIM (tests/deps.sh installs it with python3-dkim) signs with a
# key made here; skipped when either is missing

SMFIP_NOHELO = 0x02
SMFIP_NR_RCPT = 0x8000
SMFIP_NR_HDR = 0x80
SMFIP_NR_BODY = 0x80000
SMFIP_HDR_LEADSPC = 0x100000


def pkt(cmd, data=b""):
    """One packet: length, command letter, data."""
    return struct.pack(">I", len(data) + 1) + cmd + data


class ScriptedFilter:
    """A milter that answers from a script: {command letter: action},
    where an action is a packet (bytes), a list of packets, "hang",
    "close" or "none" (send nothing).  Unlisted commands get CONTINUE."""
    count = 0

    def __init__(self, tmp, script=None, actions=0, steps=0, raw=None):
        ScriptedFilter.count += 1
        self.path = os.path.join(tmp, "f%d.sock" % ScriptedFilter.count)
        self.script = script or {}
        self.actions, self.steps, self.raw = actions, steps, raw
        self.got = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(4)
        self.sock.settimeout(30)
        self.t = threading.Thread(target=self.serve, daemon=True)
        self.t.start()

    def read(self, c, n):
        b = b""
        while len(b) < n:
            d = c.recv(n - len(b))
            if not d:
                return None
            b += d
        return b

    def serve(self):
        try:
            c, _ = self.sock.accept()
        except OSError:
            return
        with c:
            while True:
                h = self.read(c, 4)
                if h is None:
                    return
                body = self.read(c, struct.unpack(">I", h)[0])
                if body is None:
                    return
                cmd, data = body[:1], body[1:]
                self.got.append((cmd, data))
                if cmd == b"O":
                    c.sendall(self.raw if self.raw is not None else
                              pkt(b"O", struct.pack(">III", 6,
                                  self.actions, self.steps)))
                    continue
                if cmd in (b"D", b"A"):
                    continue
                if cmd == b"Q":
                    return
                act = self.script.get(cmd, pkt(b"c"))
                if act == "hang":
                    time.sleep(20)
                    return
                if act == "close":
                    return
                if act == "none":
                    continue
                try:
                    for p in act if isinstance(act, list) else [act]:
                        c.sendall(p)
                except OSError:     # smtpd hung up on a broken reply
                    return

    def cmds(self):
        return b"".join(c for c, _ in self.got)

    def data_of(self, cmd):
        return [d for c, d in self.got if c == cmd]

    def close(self):
        self.sock.close()


MSG = (b"EHLO client.example\r\nMAIL FROM:<a@example.org> SIZE=100\r\n"
       b"RCPT TO:<b@example.com>\r\nDATA\r\n"
       b"Subject: hello\r\nX-Folded: one\r\n\ttwo\r\n\r\nbody line\r\n.\r\n"
       b"QUIT\r\n")
ENV = {"TCPREMOTEIP": "192.0.2.7", "TCPREMOTEPORT": "4321",
       "TCPLOCALIP": "192.0.2.1"}


def session(q, filters, data=MSG, args=(), env=None):
    a = []
    for f in filters:
        a += ["--milter", "unix:" + f.path if not isinstance(f, str)
              else f]
    a += ["--milter-timeout", "2", "--domain", "example.com"] + list(args)
    e = dict(ENV)
    e.update(env or {})
    t0 = time.time()
    rc, out, err = run_smtpd(data, q, a, env=e)
    for f in filters:
        if not isinstance(f, str):
            f.t.join(5)
            f.close()
    return rc, out, err, time.time() - t0


def nothing_left(q):
    return q.files("new") == [] and q.files("tmp") == []


def bad_changes(tmp, what, acts, cases):
    """Each (name, packet) as a filter's one change at the end: the
    filter is broken (451 4.3.0 under the default tempfail) and nothing
    is left in new/ or tmp/."""
    for name, p in cases:
        q = Queue()
        f = ScriptedFilter(tmp, actions=acts, script={b"E": [p, pkt(b"c")]})
        rc, out, err, _ = session(q, [f])
        check("%s: refused: %s" % (what, name), b"451 4.3.0" in out and
              nothing_left(q), out)
        q.cleanup()


def t_continue(tmp):
    q = Queue()
    f = ScriptedFilter(tmp)
    rc, out, err, _ = session(q, [f])
    ok = b"250 2.0.0 OK queued as" in out and len(q.files("new")) == 1
    check("continue: message queued", ok, out)
    conn = f.data_of(b"C")[0]
    check("continue: CONNECT has the client's family, port, address",
          conn == b"192.0.2.7\x004" + struct.pack(">H", 4321) +
          b"192.0.2.7\x00", conn)
    check("continue: stages in order",
          f.cmds().replace(b"D", b"") == b"OCHMRTLLLNBEQ", f.cmds())
    check("continue: MAIL with its ESMTP argument",
          f.data_of(b"M") == [b"<a@example.org>\x00SIZE=100\x00"],
          f.data_of(b"M"))
    check("continue: RCPT", f.data_of(b"R") == [b"<b@example.com>\x00"],
          f.data_of(b"R"))
    hdrs = f.data_of(b"L")
    check("continue: our Received first, then the client's headers",
          hdrs[0].startswith(b"Received\x00from client.example") and
          hdrs[1] == b"Subject\x00hello\x00" and
          hdrs[2] == b"X-Folded\x00one\n\ttwo\x00", hdrs)
    check("continue: the body as sent, CRLF",
          f.data_of(b"B") == [b"body line\r\n"], f.data_of(b"B"))
    macros = b"".join(f.data_of(b"D"))
    check("continue: macros j, {daemon_name}, {client_addr}, {mail_addr}, "
          "{rcpt_addr}, i", b"j\x00mx.test.example\x00" in macros and
          b"{daemon_name}\x00mx.test.example\x00" in macros and
          b"{client_addr}\x00192.0.2.7\x00" in macros and
          b"{mail_addr}\x00a@example.org\x00" in macros and
          b"{rcpt_addr}\x00b@example.com\x00" in macros and
          b"Ei\x00" in macros, macros)
    q.cleanup()


def t_macros(tmp):
    q = Queue()
    f = ScriptedFilter(tmp)
    rc, out, err, _ = session(q, [f], args=[
        "--milter-macros", "connect=j,{client_addr}",
        "--milter-macros", "rcpt=", "--milter-macros",
        "eom={mail_addr} i"])
    d = f.data_of(b"D")
    check("macros: --milter-macros chooses each stage's list",
          d[0] == b"Cj\x00mx.test.example\x00{client_addr}\x00192.0.2.7\x00"
          and not any(x.startswith(b"R") for x in d) and
          any(x.startswith(b"E{mail_addr}\x00a@example.org\x00i\x00")
              for x in d) and len(q.files("new")) == 1, d)
    q.cleanup()
    q = Queue()
    rc, out, err = run_smtpd(b"", q, ["--milter-macros", "rcpt={bogus}"])
    check("macros: a macro smtpd cannot fill is a usage error",
          rc == 100 and b"cannot fill" in err, (rc, err))
    q.cleanup()


def optneg(actions, steps, lists):
    """An OPTNEG answer with macro lists: [(stage, b"names")...]."""
    return pkt(b"O", struct.pack(">III", 6, actions, steps) + b"".join(
        struct.pack(">I", st) + names + b"\0" for st, names in lists))


def t_symlist(tmp):
    """SETSYMLIST: a filter's own macro lists (SMFIM_CONNECT 0, ENVRCPT
    3, EOM 5, EOH 6 here) replace the list of those stages for it alone;
    names smtpd cannot fill are left out; the others stay as configured."""
    q = Queue()
    f1 = ScriptedFilter(tmp, raw=optneg(0x100, 0, [
        (0, b"{client_port} {no_such_macro} j"), (3, b""),
        (5, b"{mail_addr}"), (6, b"j")]))
    f2 = ScriptedFilter(tmp)
    rc, out, err, _ = session(q, [f1, f2], args=[
        "--milter-macros", "connect=v"])
    d = [x for x in f1.data_of(b"D") if not x.startswith(b"T")]
    check("symlist: each listed stage sends the filter's own list",
          d == [b"Cj\0mx.test.example\0{client_port}\0004321\0",
                b"M{mail_addr}\0a@example.org\0",
                b"Nj\0mx.test.example\0",
                b"E{mail_addr}\0a@example.org\0"] and
          len(q.files("new")) == 1, (d, out))
    check("symlist: a stage it did not list keeps its default (DATA: i)",
          [x[:3] for x in f1.data_of(b"D") if x.startswith(b"T")] ==
          [b"Ti\0"], f1.data_of(b"D"))
    check("symlist: a filter without lists gets --milter-macros",
          f2.data_of(b"D")[0] == b"Cv\0smtpd\0" and
          any(x.startswith(b"R{rcpt_addr}") for x in f2.data_of(b"D")),
          f2.data_of(b"D"))
    q.cleanup()
    fifty = b" ".join([b"{x%d}" % k for k in range(49)] + [b"{rcpt_addr}"])
    q = Queue()
    f = ScriptedFilter(tmp, raw=optneg(0, 0, [(3, fifty)]))
    rc, out, err, _ = session(q, [f])
    check("symlist: 50 names in a list (the cap) are taken",
          b"R{rcpt_addr}\0b@example.com\0" in f.data_of(b"D") and
          len(q.files("new")) == 1, (out, f.data_of(b"D")))
    q.cleanup()
    bad = [
        ("51 names", optneg(0, 0, [(3, fifty + b" j")])),
        ("a stage twice", optneg(0, 0, [(0, b"j"), (0, b"v")])),
        ("an unknown stage", optneg(0, 0, [(7, b"j")])),
        ("no NUL", pkt(b"O", struct.pack(">IIII", 6, 0, 0, 0) + b"j")),
        ("a short stage", pkt(b"O", struct.pack(">III", 6, 0, 0) +
                              b"\0\0\0")),
        ("over 4096 octets", optneg(0, 0, [(k, b"j" * 600)
                                           for k in range(7)])),
    ]
    for name, raw in bad:
        q = Queue()
        f = ScriptedFilter(tmp, raw=raw)
        rc, out, err, _ = session(q, [f])
        check("symlist: %s: a broken filter" % name,
              b"451 4.3.0" in out and b"bad OPTNEG" in err and
              nothing_left(q), (out, err))
        q.cleanup()


UNK = (b"EHLO client.example\r\nXYZZY some arg\r\n"
       b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\n"
       b"XYZZY\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n")


def t_unknown(tmp):
    """UNKNOWN: an unknown verb's line goes to the filter before the 500;
    its REJECT, TEMPFAIL or own reply answers the command instead."""
    q = Queue()
    f = ScriptedFilter(tmp)
    rc, out, err, _ = session(q, [f], data=UNK)
    check("unknown: the line as received, then our own 500",
          f.data_of(b"U") == [b"XYZZY some arg\0", b"XYZZY\0"] and
          out.count(b"500 5.5.1 command unrecognized") == 2 and
          len(q.files("new")) == 1 and
          not any(x.startswith(b"U") for x in f.data_of(b"D")),
          (f.got, out))
    q.cleanup()
    for name, reply, want in (
            ("REJECT", pkt(b"r"), b"550 5.7.1 rejected by a mail filter"),
            ("TEMPFAIL", pkt(b"t"), b"451 4.7.1"),
            ("REPLYCODE", pkt(b"y", b"502 5.5.2 not here\0"),
             b"502 5.5.2 not here\r\n")):
        q = Queue()
        f = ScriptedFilter(tmp, script={b"U": reply})
        rc, out, err, _ = session(q, [f], data=UNK)
        check("unknown: %s answers the command, the session goes on" %
              name, out.count(want) == 2 and b"500 5.5.1" not in out and
              len(q.files("new")) == 1, out)
        q.cleanup()
    q = Queue()
    f = ScriptedFilter(tmp, script={b"U": pkt(b"d")})
    rc, out, err, _ = session(q, [f], data=UNK)
    check("unknown: DISCARD inside a transaction drops its message",
          out.count(b"500 5.5.1") == 2 and b"250 2.0.0 OK\r\n" in out and
          nothing_left(q) and b"event=discard" in err, (out, err))
    q.cleanup()
    q = Queue()
    f = ScriptedFilter(tmp, steps=0x100)              # SMFIP_NOUNKNOWN
    v2 = ScriptedFilter(tmp, raw=pkt(b"O", struct.pack(">III", 2, 0, 0)))
    rc, out, err, _ = session(q, [f, v2], data=UNK)
    check("unknown: not sent with NOUNKNOWN, nor to a version 2 filter",
          b"U" not in f.cmds() and b"U" not in v2.cmds() and
          b"M" in v2.cmds() and out.count(b"500 5.5.1") == 2, (
              f.cmds(), v2.cmds(), out))
    q.cleanup()
    q = Queue()
    f = ScriptedFilter(tmp, steps=0x20000, script={b"U": "none"})  # NR_UNKN
    rc, out, err, el = session(q, [f], data=UNK)
    check("unknown: NR_UNKN: sent, no reply waited for",
          len(f.data_of(b"U")) == 2 and out.count(b"500 5.5.1") == 2 and
          len(q.files("new")) == 1 and el < 2, (out, el))
    q.cleanup()
    q = Queue()
    f = ScriptedFilter(tmp, steps=0x200)              # SMFIP_NODATA
    rc, out, err, _ = session(q, [f], data=UNK)
    check("unknown: inside a transaction, not to a filter without DATA",
          f.data_of(b"U") == [b"XYZZY some arg\0"] and
          len(q.files("new")) == 1, (f.got, out))
    q.cleanup()
    q = Queue()
    f = ScriptedFilter(tmp)
    rc, out, err, _ = session(q, [f], data=(
        b"EHLO c.example\r\nMAIL FROM:<a@example.org>\r\n"
        b"RCPT TO:<b@example.com>\r\nBDAT 4\r\nx: yXYZZY\r\n"
        b"BDAT 6 LAST\r\n\r\nhi\r\nQUIT\r\n"))
    check("unknown: not between BDAT chunks (the filter was told DATA)",
          f.data_of(b"U") == [] and b"500 5.5.1" in out and
          len(q.files("new")) == 1, (f.got, out))
    q.cleanup()
    q = Queue()
    f = ScriptedFilter(tmp)
    pw = b"c2VjcmV0"
    rc, out, err, _ = session(q, [f], data=(
        b"EHLO c.example\r\nAUTH LOGIN\r\nalice\r\n" + pw +
        b"\r\nEXPN x\r\nSubject: hi\r\n"), args=[
        "--auth-checkpassword", "/bin/false", "--auth-plaintext"])
    check("unknown: a refused AUTH LOGIN's password line, known verbs and "
          "header lines are never sent", f.data_of(b"U") == [] and
          b"501" in out and b"500 5.5.1" in out and b"502" in out, (
              f.got, out))
    q.cleanup()


def t_quarantine_link(tmp):
    """QUARANTINE where renameat2 is missing (EINVAL, ENOSYS: the fault
    shim of t_fault.py fails it): link and unlink into hold/, still never
    replacing; a failing link is a 4xx with nothing left behind."""
    shim = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "fault", "faultshim.so")
    if not os.path.exists(shim):
        print("SKIP quarantine link: no tests/fault/faultshim.so "
              "(make tests/fault/faultshim.so)")
        return
    for spec, want, held in (
            ("renameat2:1+:EINVAL", b"250 2.0.0 OK queued as", 1),
            ("renameat2:1+:ENOSYS", b"250 2.0.0 OK queued as", 1),
            ("renameat2:1+:EINVAL,linkat:1:EIO", b"451 4.3.0", 0),
            ("renameat2:1+:EINVAL,linkat:1:EEXIST", b"451 4.3.0", 0)):
        q = Queue()
        counts = q.dir + ".counts"
        asan = os.environ.get("ASAN_OPTIONS", "")
        env = {"LD_PRELOAD": shim, "FAULT_PREFIX": q.dir,
               "FAULT_COUNTS": counts, "FAULT_SPEC": spec,
               "ASAN_OPTIONS": (asan + ":" if asan else "") +
               "verify_asan_link_order=0"}
        f = ScriptedFilter(tmp, actions=0x20, script={b"E": [
            pkt(b"q", b"looks odd\0"), pkt(b"c")]})
        rc, out, err, _ = session(q, [f], env=env)
        try:
            with open(counts) as c:
                n = dict(x.split() for x in c.read().splitlines())
            os.unlink(counts)
        except OSError:
            n = {}
        check("quarantine link: %s: %s" % (spec, want.decode()),
              want in out and len(q.files("hold")) == held and
              nothing_left(q) and int(n.get("linkat", 0)) == 1 and
              int(n.get("fired", 0)) >= 1, (out, n, q.files("hold")))
        q.cleanup()


def t_cut_line(tmp):
    """A BINARYMIME message may end without CRLF, even inside its header:
    a field a filter adds must start its own line (found by
    fuzz_msgedit)."""
    q = Queue()
    f = ScriptedFilter(tmp, actions=0x01, script={
        b"E": [pkt(b"h", b"X-Added\0yes\0"), pkt(b"c")]})
    rc, out, err, _ = session(q, [f], data=(
        b"EHLO c.example\r\nMAIL FROM:<a@example.org> BODY=BINARYMIME"
        b"\r\nRCPT TO:<b@example.com>\r\nBDAT 10 LAST\r\nSubject: x"
        b"QUIT\r\n"))
    check("cut line: an added field after a header line the message's "
          "end cut short starts its own line",
          len(q.files("new")) == 1 and
          spooled(q).endswith(b"\r\nSubject: x\r\nX-Added: yes\r\n"),
          (out, q.messages()[:1]))
    q.cleanup()


def start_pyfilter(tmp, name, script):
    """tests/milter/SCRIPT under Debian's python3 with pymilter, on a
    socket in tmp: (the process, its socket, its log), once the socket
    is there; None (and a SKIP line) without python3-milter."""
    import subprocess
    if subprocess.run(["/usr/bin/python3", "-c", "import Milter"],
                      capture_output=True).returncode != 0:
        print("SKIP %s: python3-milter not installed" % name)
        return None
    sock = os.path.join(tmp, name + ".sock")
    log = os.path.join(tmp, name + ".log")
    p = subprocess.Popen(["/usr/bin/python3", os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "milter", script),
        sock, log])
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    return p, sock, log


def t_pysymlist(tmp):
    """pymilter (libmilter) asking for its own lists (smfi_setsymlist)."""
    started = start_pyfilter(tmp, "pysymlist", "pysymlist.py")
    if started is None:
        return
    p, sock, log = started
    try:
        q = Queue()
        rc, out, err, _ = session(q, ["unix:" + sock])
        with open(log) as f:
            text = f.read()
        check("pysymlist: libmilter gets only the macros it listed",
              b"queued as" in out and "connect 4321 None None\n" in text
              and "rcpt 192.0.2.7 None\n" in text and
              "eom a@example.org\n" in text, (out, text))
        q.cleanup()
        q = Queue()
        rc, out, err, _ = session(q, ["unix:" + sock], data=MSG.replace(
            b"QUIT\r\n", b"XREJECT foo\r\nXYZ\r\nQUIT\r\n"))
        with open(log) as f:
            text = f.read()
        check("pysymlist: libmilter's unknown callback sees each unknown "
              "line; its own reply answers one", b"550 5.7.1 no such "
              b"thing here\r\n500 5.5.1 command unrecognized\r\n" in out
              and "unknown XREJECT foo\nunknown XYZ\n" in text,
              (out, text))
        q.cleanup()
        q = Queue()
        rc, out, err, _ = session(q, ["unix:" + sock], data=UNK)
        with open(log) as f:
            text = f.read()
        check("pysymlist: a filter without DATA hears of no unknown command "
              "inside a transaction, and takes the message", b"queued as"
              in out and "unknown XYZZY some arg\n" in text and
              "unknown XYZZY\n" not in text, (out, text))
        q.cleanup()
    finally:
        p.terminate()
        p.wait(10)


def t_clients(tmp):
    """Real SMTP clients over TCP (smtpd under tcpserver): Python's
    smtplib, and swaks when installed, through a filter that adds a
    field at the end, and one that refuses the message with its own
    reply, which the client must see as its DATA answer."""
    import shutil
    import smtplib
    import subprocess
    import netlib
    if not netlib.have_tcpserver():
        print("SKIP clients: tcpserver not installed")
        return

    def served(script, actions, send):
        f = ScriptedFilter(tmp, actions=actions, script=script)
        srv = netlib.Server(args=["--milter", "unix:" + f.path,
                                  "--milter-timeout", "5",
                                  "--domain", "example.com"])
        try:
            got = send(srv.port)
            srv.wait_ended(1, 10)
            return got, srv.q.messages()
        finally:
            srv.cleanup()
            f.t.join(5)
            f.close()

    def by_smtplib(port):
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
                return c.sendmail("a@example.org", ["b@example.com"],
                                  b"Subject: hi\r\n\r\nbody\r\n")
        except smtplib.SMTPException as e:
            return e

    add = {b"E": [pkt(b"h", b"X-Filtered\0yes\0"), pkt(b"c")]}
    got, msgs = served(add, 0x01, by_smtplib)
    check("clients: smtplib through a filter that adds a field",
          got == {} and len(msgs) == 1 and msgs[0].endswith(
              b"\r\nSubject: hi\r\nX-Filtered: yes\r\n\r\nbody\r\n"),
          (got, msgs))
    no = {b"E": pkt(b"y", b"550 5.7.1 not wanted here\0")}
    got, msgs = served(no, 0, by_smtplib)
    check("clients: smtplib sees the filter's refusal as its DATA answer",
          isinstance(got, smtplib.SMTPDataError) and
          got.smtp_code == 550 and
          got.smtp_error == b"5.7.1 not wanted here" and msgs == [],
          (got, msgs))
    if shutil.which("swaks") is None:
        print("SKIP clients-swaks: swaks not installed")
        return

    def by_swaks(port):
        return subprocess.run(
            ["swaks", "--server", "127.0.0.1:%d" % port, "--from",
             "a@example.org", "--to", "b@example.com", "--helo",
             "client.example", "--body", "hello", "--timeout", "30"],
            capture_output=True, timeout=60)

    got, msgs = served(add, 0x01, by_swaks)
    check("clients: swaks through a filter that adds a field",
          got.returncode == 0 and len(msgs) == 1 and
          b"X-Filtered: yes\r\n" in msgs[0], (got.stdout[-400:], msgs))
    got, msgs = served(no, 0, by_swaks)
    check("clients: swaks sees the filter's refusal",
          got.returncode != 0 and
          b"<** 550 5.7.1 not wanted here" in got.stdout and msgs == [],
          (got.stdout[-400:], msgs))


def t_steps(tmp):
    q = Queue()
    f = ScriptedFilter(tmp, steps=SMFIP_NOHELO | SMFIP_NR_RCPT |
                       SMFIP_NR_HDR | SMFIP_NR_BODY | SMFIP_HDR_LEADSPC,
                       script={b"R": "none", b"L": "none", b"B": "none"})
    rc, out, err, el = session(q, [f])
    check("steps: no HELO, no waiting for RCPT/HEADER/BODY replies",
          b"H" not in f.cmds() and len(q.files("new")) == 1 and el < 2,
          (f.cmds(), out))
    check("steps: HDR_LEADSPC keeps the space",
          b"Subject\x00 hello\x00" in f.data_of(b"L"), f.data_of(b"L"))
    q.cleanup()


def t_replies(tmp):
    cases = [
        ("reject at RCPT", {b"R": pkt(b"r")}, b"550 5.7.1 rejected by a "
         b"mail filter", 0),
        ("tempfail at MAIL", {b"M": pkt(b"t")}, b"451 4.7.1", 0),
        ("reject at EOB", {b"E": pkt(b"r")}, b"554 5.7.1 message content "
         b"rejected", 0),
        ("tempfail at EOB", {b"E": pkt(b"t")}, b"451 4.7.1", 0),
        ("reject at DATA", {b"T": pkt(b"r")}, b"550 5.7.1", 0),
        ("reject at a header", {b"L": pkt(b"r")}, b"554 5.7.1", 0),
        ("replycode at EOB", {b"E": pkt(b"y", b"550 5.7.0 spam here\0")},
         b"550 5.7.0 spam here\r\n", 0),
        ("replycode multi-line", {b"E": pkt(b"y", b"451-4.7.2 one\r\n"
                                            b"451 4.7.2 two\0")},
         b"451-4.7.2 one\r\n451 4.7.2 two\r\n", 0),
        ("replycode without status", {b"R": pkt(b"y", b"553 no\0")},
         b"553 5.7.1 no\r\n", 0),
        ("replycode CRLF injection", {b"E": pkt(b"y", b"550 5.7.1 a\r\n"
                                                b"250 2.0.0 ok\0")},
         b"451 4.3.0 mail filter unavailable", 0),
        ("replycode bare LF", {b"E": pkt(b"y", b"550 5.7.1 a\nRSET\0")},
         b"451 4.3.0", 0),
        ("replycode 2xx", {b"E": pkt(b"y", b"250 fine\0")}, b"451 4.3.0", 0),
        ("discard at EOB", {b"E": pkt(b"d")}, b"250 2.0.0 OK\r\n", 0),
        ("discard at RCPT", {b"R": pkt(b"d")}, b"250 2.0.0 OK\r\n", 0),
        ("accept at MAIL", {b"M": pkt(b"a")}, b"queued as", 1),
        ("progress at EOB", {b"E": [pkt(b"p"), pkt(b"p"), pkt(b"c")]},
         b"queued as", 1),
        ("skip in the body", {b"B": pkt(b"s")}, b"queued as", 1),
        ("modification not offered", {b"E": [pkt(b"h", b"X-A\0b\0"),
                                             pkt(b"c")]}, b"451 4.3.0", 0),
    ]
    for name, script, want, queued in cases:
        q = Queue()
        f = ScriptedFilter(tmp, script=script, steps=0x400)
        rc, out, err, _ = session(q, [f])
        n = len(q.files("new"))
        check("reply: %s" % name, want in out and n == queued and
              q.files("tmp") == [], (out, n))
        if name == "accept at MAIL":
            check("reply: accept: not asked again in the transaction",
                  f.cmds().replace(b"D", b"").endswith(b"MQ"), f.cmds())
        if name == "discard at EOB":
            check("reply: discard is logged", b"event=discard" in err, err)
        q.cleanup()


def t_broken(tmp):
    cases = [
        ("down", None, {}, b"451 4.3.0 mail filter unavailable", 0),
        ("hangs at EOB", None, {b"E": "hang"}, b"451 4.3.0", 0),
        ("hangs at CONNECT", None, {b"C": "hang"}, b"451 4.3.0", 0),
        ("dies in the body", None, {b"B": "close"}, b"451 4.3.0", 0),
        ("oversized packet", None, {b"E": struct.pack(">I", 1 << 30) +
                                    b"c"}, b"451 4.3.0", 0),
        ("garbage reply", None, {b"M": pkt(b"Z")}, b"451 4.3.0", 0),
        ("bad OPTNEG", pkt(b"O", b"\0\0\0\x09" + b"\0" * 8), {},
         b"451 4.3.0", 0),
    ]
    for name, raw, script, want, queued in cases:
        for action, w, qd in (("tempfail", want, queued),
                              ("accept", b"queued as", 1),
                              ("reject", b"550 5.3.0", 0)):
            q = Queue()
            f = ("unix:" + os.path.join(tmp, "nothing.sock")
                 if name == "down" else
                 ScriptedFilter(tmp, script=script, raw=raw))
            rc, out, err, el = session(
                q, [f], args=["--milter-default-action", action,
                              "--timeout", "3"])
            n = len(q.files("new"))
            check("broken: %s, %s" % (name, action),
                  w in out and n == qd and q.files("tmp") == [] and
                  (b"221 2.0.0" in out or b"503 5.5.1" in out) and
                  el < 10, (out, n, el))
            if action == "tempfail":
                check("broken: %s: one log record" % name,
                      err.count(b"result=failed") == 1, err)
            q.cleanup()


def spooled(q):
    """The one queued message, after its envelope block."""
    return q.messages()[0].split(b"\n\n", 1)[1]


def t_headers(tmp):
    acts = 0x01 | 0x10          # SMFIF_ADDHDRS | SMFIF_CHGHDRS
    q = Queue()
    f = ScriptedFilter(tmp, actions=acts, script={b"E": [
        pkt(b"h", b"X-Spam\0yes\0"),
        pkt(b"i", struct.pack(">I", 0) + b"DKIM-Signature\0v=1; a=rsa\n"
            b"\tb=abc\0"),
        pkt(b"m", struct.pack(">I", 1) + b"Subject\0changed\0"),
        pkt(b"m", struct.pack(">I", 1) + b"X-Folded\0\0"),
        pkt(b"c")]})
    rc, out, err, _ = session(q, [f])
    ok = len(q.files("new")) == 1 and q.files("tmp") == []
    check("headers: queued, no tmp file left", ok, (out, q.files("tmp")))
    if ok:
        m = spooled(q)
        hdr, body = m.split(b"\r\n\r\n", 1)
        check("headers: INSHEADER 0 on top, LF folding stored as CRLF",
              m.startswith(b"DKIM-Signature: v=1; a=rsa\r\n\tb=abc\r\n"
                           b"Received: "), m[:200])
        check("headers: CHGHEADER changes, an empty value deletes",
              b"\r\nSubject: changed\r\n" in hdr + b"\r\n" and
              b"X-Folded" not in hdr and b"hello" not in hdr, hdr)
        check("headers: ADDHEADER last", hdr.endswith(b"\r\nX-Spam: yes"),
              hdr)
        check("headers: the body byte-exact", body == b"body line\r\n",
              body)
        check("headers: logged", b"result=modified" in err, err)
    q.cleanup()
    bad_changes(tmp, "headers", acts, (
        ("a value starting a new field",
         pkt(b"h", b"X-A\0one\nX-Evil: 1\0")),
        ("a value ending the block",
         pkt(b"h", b"X-A\0one\r\n\r\nbody\0")),
        ("a name with a colon", pkt(b"h", b"X:A\0v\0")),
        ("a bare CR", pkt(b"h", b"X-A\0a\rb\0"))))
    q = Queue()
    f1 = ScriptedFilter(tmp, actions=acts, script={b"E": [
        pkt(b"h", b"X-First\0one\0"), pkt(b"c")]})
    f2 = ScriptedFilter(tmp)
    rc, out, err, _ = session(q, [f1, f2])
    check("headers: the next filter reads the changed message",
          b"X-First\0one\0" in f2.data_of(b"L") and
          len(q.files("new")) == 1, (f2.data_of(b"L"), out))
    q.cleanup()
    q = Queue()
    f = ScriptedFilter(tmp, actions=acts, script={b"E": [
        pkt(b"h", b"X-A\0b\0"), pkt(b"r")]})
    rc, out, err, _ = session(q, [f])
    check("headers: changes then REJECT: nothing queued, nothing left",
          b"554 5.7.1" in out and nothing_left(q), out)
    q.cleanup()


def envelope(q):
    """The one queued message's envelope block."""
    return q.messages()[0].split(b"\n\n", 1)[0] + b"\n"


def t_envelope(tmp):
    acts = 0x04 | 0x08 | 0x40 | 0x80    # ADDRCPT DELRCPT CHGFROM _PAR
    data = MSG.replace(b"RCPT TO:<b@example.com>\r\n",
                       b"RCPT TO:<b@example.com> NOTIFY=NEVER\r\n"
                       b"RCPT TO:<keep@example.com>\r\n")
    q = Queue()
    f = ScriptedFilter(tmp, actions=acts, script={b"E": [
        pkt(b"e", b"<new@example.org>\0"),
        pkt(b"+", b"<c@example.net>\0"),
        pkt(b"2", b"d@example.net\0NOTIFY=NEVER\0"),
        pkt(b"-", b"<B@example.com>\0"),
        pkt(b"+", b"<keep@example.com>\0"),
        pkt(b"c")]})
    rc, out, err, _ = session(q, [f], data=data)
    ok = len(q.files("new")) == 1 and q.files("tmp") == []
    check("envelope: queued", ok, out)
    if ok:
        env = envelope(q)
        check("envelope: CHGFROM", b"\nSender: <new@example.org>\n" in env,
              env)
        check("envelope: DELRCPT takes the recipient and its Notify line",
              b"<b@example.com>" not in env and b"Notify" not in env, env)
        check("envelope: ADDRCPT, ADDRCPT_PAR added once each, kept ones "
              "once", env.count(b"Recipient: <c@example.net>\n") == 1 and
              env.count(b"Recipient: <d@example.net>\n") == 1 and
              env.count(b"Recipient: <keep@example.com>\n") == 1, env)
        check("envelope: the message after it unchanged",
              spooled(q).endswith(b"Subject: hello\r\nX-Folded: one\r\n"
                                  b"\ttwo\r\n\r\nbody line\r\n"),
              spooled(q))
    q.cleanup()
    bad_changes(tmp, "envelope", acts, (
        ("an address with CRLF",
         pkt(b"+", b"<a@b.example>\r\nRecipient: <x@y>\0")),
        ("not an address", pkt(b"+", b"<not an address>\0")),
        ("a null recipient", pkt(b"+", b"<>\0")),
        ("not negotiated", pkt(b"h", b"X-A\0b\0"))))
    q = Queue()
    f = ScriptedFilter(tmp, actions=acts, script={b"E": [
        pkt(b"-", b"<b@example.com>\0"), pkt(b"c")]})
    rc, out, err, _ = session(q, [f])
    check("envelope: every recipient deleted: 250, nothing queued",
          b"250 2.0.0 OK\r\n" in out and nothing_left(q), out)
    q.cleanup()


def t_replbody(tmp):
    q = Queue()
    f = ScriptedFilter(tmp, actions=0x02, script={b"E": [
        pkt(b"b", b"new body\nline two\r\n"), pkt(b"b", b"and three\n"),
        pkt(b"c")]})
    rc, out, err, _ = session(q, [f])
    ok = len(q.files("new")) == 1 and q.files("tmp") == []
    check("replbody: queued, no tmp file left", ok, (out, q.files("tmp")))
    if ok:
        check("replbody: the new body with CRLF, the headers as they were",
              spooled(q).endswith(b"Subject: hello\r\nX-Folded: one\r\n"
                                  b"\ttwo\r\n\r\nnew body\r\nline two\r\n"
                                  b"and three\r\n"), spooled(q))
    q.cleanup()
    for name, script in (("a NUL", [pkt(b"b", b"a\0b"), pkt(b"c")]),
                         ("then REJECT", [pkt(b"b", b"x\n"), pkt(b"r")]),
                         ("over --max-size", [pkt(b"b", b"y" * 5000),
                                              pkt(b"c")])):
        q = Queue()
        f = ScriptedFilter(tmp, actions=0x02, script={b"E": script})
        rc, out, err, _ = session(q, [f], args=["--max-size", "4000"])
        check("replbody: %s: refused, nothing left" % name,
              (b"451 4.3.0" in out or b"554 5.7.1" in out) and
              nothing_left(q), (out, q.files("tmp")))
        q.cleanup()


def t_quarantine(tmp):
    import subprocess
    q = Queue()
    f = ScriptedFilter(tmp, actions=0x20, script={b"E": [
        pkt(b"q", b"looks odd\0"), pkt(b"c")]})
    rc, out, err, _ = session(q, [f])
    held = q.files("hold")
    check("quarantine: 250, committed into hold/, not new/",
          b"250 2.0.0 OK queued as" in out and len(held) == 1 and
          q.files("new") == [] and q.files("tmp") == [], (out, held))
    check("quarantine: logged with its reason",
          b"event=quarantine" in err and b"looks odd" in err, err)
    if held:
        r = subprocess.run([os.path.join(os.path.dirname(
            os.path.dirname(os.path.abspath(__file__))), "smtpd-queue"),
            "--queue", q.dir, "release", held[0]], capture_output=True)
        check("quarantine: smtpd-queue release moves it to new/",
              r.returncode == 0 and q.files("new") == held,
              r.stdout + r.stderr)
    q.cleanup()
    q = Queue()
    f = ScriptedFilter(tmp, script={b"E": [pkt(b"q", b"x\0"), pkt(b"c")]})
    rc, out, err, _ = session(q, [f])
    check("quarantine: not negotiated: a broken filter",
          b"451 4.3.0" in out and nothing_left(q) and
          q.files("hold") == [], out)
    q.cleanup()


DKIM_CONF = """Mode s
Domain example.org
Selector sel
KeyFile %(d)s/sel.private
Socket local:%(d)s/dkim.sock
InternalHosts csl:192.0.2.0/24
PidFile %(d)s/pid
Background no
Syslog no
Canonicalization relaxed/simple
RequireSafeKeys false
"""
DKIM_VERIFY = r"""
import dkim, re, sys
raw = open(sys.argv[1], "rb").read().split(b"\n\n", 1)[1]
txt = open(sys.argv[2]).read()
rec = "".join(re.findall(r'"([^"]*)"', txt)).encode()
print(dkim.verify(raw, dnsfunc=lambda n, timeout=5:
      rec if n == b"sel._domainkey.example.org." else None))
"""
SIGNED = (b"EHLO client.example\r\nMAIL FROM:<a@example.org>\r\n"
          b"RCPT TO:<b@example.com>\r\nDATA\r\n"
          b"From: A <a@example.org>\r\nTo: b@example.com\r\n"
          b"Subject: signed\r\nDate: Mon, 7 Dec 2026 15:00:00 +0000\r\n"
          b"Message-ID: <1@example.org>\r\n\r\nHello,\r\n"
          b"signed body.\r\n.\r\nQUIT\r\n")


def have_opendkim(tag):
    """OpenDKIM and dkimpy both there?  Else one SKIP line for tag."""
    import shutil
    import subprocess
    have = subprocess.run(["/usr/bin/python3", "-c", "import dkim"],
                          capture_output=True).returncode == 0
    if not shutil.which("opendkim") or not have:
        print("SKIP %s: opendkim or python3-dkim not installed" % tag)
        return False
    return True


def start_opendkim(d, conf):
    """A key for sel._domainkey.example.org made in d (its public half
    also in d/keys, as TestPublicKeys reads it), and OpenDKIM started
    in the foreground with conf: (process, "unix:" socket)."""
    import subprocess
    os.mkdir(d)
    subprocess.run(["opendkim-genkey", "-D", d, "-d", "example.org",
                    "-s", "sel"], check=True)
    with open(os.path.join(d, "sel.txt")) as f:
        rec = "".join(re.findall(r'"([^"]*)"', f.read()))
    with open(os.path.join(d, "keys"), "w") as f:
        f.write("sel._domainkey.example.org %s\n" % rec)
    with open(os.path.join(d, "opendkim.conf"), "w") as f:
        f.write(conf % {"d": d})
    p = subprocess.Popen(["opendkim", "-f", "-x",
                          os.path.join(d, "opendkim.conf")])
    for _ in range(100):
        if os.path.exists(os.path.join(d, "dkim.sock")):
            break
        time.sleep(0.05)
    return p, "unix:" + os.path.join(d, "dkim.sock")


def t_opendkim(tmp):
    """OpenDKIM from Debian signs for InternalHosts (the CONNECT
    address) and for a client that logged in ({auth_type} at MAIL);
    dkimpy verifies against the key itself."""
    import subprocess
    if not have_opendkim("opendkim"):
        return
    d = os.path.join(tmp, "dkim")
    p, sock = start_opendkim(d, DKIM_CONF)
    try:
        q = Queue()
        rc, out, err, _ = session(q, [sock], data=SIGNED)
        ok = len(q.files("new")) == 1
        check("opendkim: queued", ok, out)
        if ok:
            m = spooled(q)
            check("opendkim: signed, folded with CRLF",
                  m.startswith(b"DKIM-Signature: v=1;") and
                  b"\r\n\t" in m.split(b"Received:", 1)[0] and
                  b"\n\t" not in m.replace(b"\r\n\t", b""), m[:300])
            v = subprocess.run(["/usr/bin/python3", "-c", DKIM_VERIFY,
                                os.path.join(q.dir, "new",
                                             q.files("new")[0]),
                                os.path.join(d, "sel.txt")],
                               capture_output=True)
            check("opendkim: dkimpy verifies the signature",
                  v.stdout.strip() == b"True", v.stdout + v.stderr)
        q.cleanup()
        q = Queue()
        rc, out, err, _ = session(q, [sock], data=SIGNED,
                                  env={"TCPREMOTEIP": "198.51.100.9"})
        check("opendkim: a client outside InternalHosts is not signed",
              len(q.files("new")) == 1 and
              b"DKIM-Signature" not in spooled(q), out)
        q.cleanup()
        # OpenDKIM takes a client that logged in as its own by the macro
        # {auth_type}, which smtpd sends at MAIL after AUTH, as Postfix
        cp = os.path.join(tmp, "dkim", "checkpassword")
        with open(cp, "w") as f:
            f.write("#!/bin/sh\ncat <&3 >/dev/null\nexec \"$@\"\n")
        os.chmod(cp, 0o755)
        q = Queue()
        auth = SIGNED.replace(b"MAIL FROM", b"AUTH PLAIN AGFsaWNlAHB3\r\n"
                              b"MAIL FROM", 1)
        rc, out, err, _ = session(q, [sock], data=auth,
                                  env={"TCPREMOTEIP": "198.51.100.9"},
                                  args=["--auth-checkpassword", cp,
                                        "--auth-plaintext"])
        check("opendkim: a client outside InternalHosts that logged in is "
              "signed ({auth_type})", b"235 2.7.0" in out and
              len(q.files("new")) == 1 and
              spooled(q).startswith(b"DKIM-Signature: v=1;"), out)
        q.cleanup()
    finally:
        p.terminate()
        p.wait(10)


# OpenDKIM as a verifier only, with no DNS: the public key from a file
# (TestPublicKeys: "name TXT-record" lines)
DKIM_VERIFY_CONF = """Mode v
Socket local:%(d)s/dkim.sock
PidFile %(d)s/pid
Background no
Syslog no
TestPublicKeys %(d)s/keys
"""
# dkimpy signs the message on stdin with the key in argv[1]
DKIM_SIGN = r"""
import dkim, sys
m = sys.stdin.buffer.read()
sys.stdout.buffer.write(dkim.sign(m, b"sel", b"example.org",
    open(sys.argv[1], "rb").read(), canonicalize=(b"relaxed", b"simple"),
    include_headers=[b"from", b"to", b"subject", b"date",
                     b"message-id"]) + m)
"""


def header_fields(m):
    """The header fields of a stored message (after its envelope block),
    each with its folded lines and line ends, and the body; None when a
    line of the header block does not end CRLF, or is neither a field
    (a name of printable octets and a colon) nor a continuation."""
    head, sep, body = m.partition(b"\r\n\r\n")
    if not sep:
        return None
    fields = []
    for line in (head + b"\r\n").split(b"\r\n")[:-1]:
        if b"\r" in line or b"\n" in line:
            return None
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line + b"\r\n"
        elif re.match(rb"[!-9;-~]+:", line):
            fields.append(line + b"\r\n")
        else:
            return None
    return fields, body


def only_added(m, sent, names):
    """The fields a filter added, when the stored message m is the message
    sent (header and body as the client sent them, CRLF) with our
    Received: and fields named in names (lower case) added, each well
    formed; else None."""
    got, want = header_fields(m), header_fields(sent)
    if got is None or want is None or got[1] != want[1]:
        return None
    added = [f for f in got[0] if f.split(b":", 1)[0].lower() in names]
    rest = [f for f in got[0] if f not in added]
    if not rest or not rest[0].startswith(b"Received: from ") or \
            rest[1:] != want[0]:
        return None
    return added


def t_opendkim_verify(tmp):
    """OpenDKIM in verify mode (no DNS: the key from TestPublicKeys): a
    message dkimpy signed gets Authentication-Results with dkim=pass,
    a copy with its body changed dkim=fail; the field stored with CRLF,
    the message around it byte-exact."""
    import subprocess
    if not have_opendkim("opendkim verify"):
        return
    d = os.path.join(tmp, "dkimv")
    p, sock = start_opendkim(d, DKIM_VERIFY_CONF)
    try:
        msg = SIGNED.split(b"DATA\r\n", 1)[1].split(b"\r\n.\r\n")[0] + \
            b"\r\n"
        signed = subprocess.run(["/usr/bin/python3", "-c", DKIM_SIGN,
                                 os.path.join(d, "sel.private")],
                                input=msg, capture_output=True,
                                check=True).stdout
        cases = (("intact", signed, b"dkim=pass"),
                 ("tampered", signed.replace(b"signed body.",
                                             b"changed body."), b"dkim=fail"))
        for name, sent, want in cases:
            q = Queue()
            data = SIGNED.split(b"DATA\r\n")[0] + b"DATA\r\n" + sent + \
                b".\r\nQUIT\r\n"
            rc, out, err, _ = session(q, [sock], data=data,
                                      env={"TCPREMOTEIP": "198.51.100.9"})
            added = only_added(spooled(q), sent, [b"authentication-results"]) \
                if len(q.files("new")) == 1 else None
            check("opendkim verify: %s: Authentication-Results %s, CRLF, "
                  "the rest byte-exact" % (name, want.decode()),
                  added is not None and len(added) == 1 and
                  added[0].startswith(b"Authentication-Results: "
                                      b"mx.test.example;") and
                  want + b" " in added[0] and
                  b"header.d=example.org" in added[0],
                  (out, q.messages()[:1]))
            q.cleanup()
    finally:
        p.terminate()
        p.wait(10)


def t_pymilter(tmp):
    """Debian's pymilter (libmilter underneath) as the filter."""
    started = start_pyfilter(tmp, "pymilter", "pyfilter.py")
    if started is None:
        return
    p, sock, log = started
    try:
        cases = [
            ("accept", b"queued as", 1, None),
            ("reject", b"554 5.7.1", 0, None),
            ("tempfail", b"451 4.7.1", 0, None),
            ("discard", b"250 2.0.0 OK\r\n", 0, None),
            ("replycode", b"550-5.7.1 first line\r\n550 5.7.1 second "
             b"line\r\n", 0, None),
            ("headers", b"queued as", 1,
             lambda m: m.startswith(b"X-Top: inserted\r\nReceived:") and
             b"\r\nSubject: changed\r\n" in m and
             b"X-Py: added\r\n\r\n" in m),
            ("envelope", b"queued as", 1, None),
            ("body", b"queued as", 1,
             lambda m: m.endswith(b"\r\n\r\nreplaced\r\n")),
            ("quarantine", b"queued as", 0, None),
        ]
        for subj, want, queued, test in cases:
            q = Queue()
            data = MSG.replace(b"Subject: hello", b"Subject: " +
                               subj.encode())
            rc, out, err, _ = session(q, ["unix:" + sock], data=data)
            n = len(q.files("new"))
            ok = want in out and n == queued and q.files("tmp") == []
            if ok and test is not None:
                ok = test(spooled(q))
            if ok and subj == "envelope":
                env = envelope(q)
                ok = (b"Sender: <new@example.org>" in env and
                      b"Recipient: <added@example.net>" in env and
                      b"<b@example.com>" not in env)
            if ok and subj == "quarantine":
                ok = len(q.files("hold")) == 1
            check("pymilter: %s" % subj, ok,
                  (out, n, q.messages()[:1]))
            q.cleanup()
        with open(log) as f:
            text = f.read()
        check("pymilter: it saw CONNECT with macros, MAIL, RCPT, EOB with i",
              "connect" in text and "192.0.2.7" in text and
              "mx.test.example" in text and "mail <a@example.org>" in text
              and "rcpt <b@example.com> b@example.com" in text and
              "eom accept " in text, text[:600])
    finally:
        p.terminate()
        p.wait(10)


RSPAMD_CONF = """.include "$CONFDIR/common.conf"
options {
    pidfile = "$RUNDIR/rspamd.pid";
    .include "$CONFDIR/options.inc"
}
logging {
    type = "file";
    filename = "$LOGDIR/rspamd.log";
    level = "error";
}
worker "rspamd_proxy" {
    bind_socket = "$RUNDIR/proxy.sock mode=0666";
    milter = yes;
    timeout = 120s;
    upstream "local" {
        default = yes;
        self_scan = yes;
    }
    count = 1;
}
"""
GTUBE = b"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
# local.d/milter_headers.conf: the fields rspamd adds to every message
# it lets through (for any client: the test's is not local anyway)
RSPAMD_HEADERS = """use = ["x-spamd-result", "x-rspamd-server", "x-spam-status",
       "authentication-results"];
skip_local = false;
skip_authenticated = false;
"""
RSPAMD_ADDED = [b"x-spamd-result", b"x-rspamd-server", b"x-spam-status",
                b"authentication-results"]


def t_rspamd(tmp):
    """rspamd from Debian: its proxy worker as a milter, self-scanning;
    GTUBE is refused before any 250; a clean message is queued with the
    fields milter_headers adds (folded with LF by rspamd, stored CRLF),
    the message around them byte-exact."""
    import shutil
    import subprocess
    if not shutil.which("rspamd"):
        print("SKIP rspamd: not installed")
        return
    d = os.path.join(tmp, "rspamd")
    os.mkdir(d)
    with open(os.path.join(d, "rspamd.conf"), "w") as f:
        f.write(RSPAMD_CONF)
    os.mkdir(os.path.join(d, "local.d"))
    with open(os.path.join(d, "local.d", "milter_headers.conf"), "w") as f:
        f.write(RSPAMD_HEADERS)
    v = ["--var=%s=%s" % (k, d) for k in ("RUNDIR", "DBDIR", "LOGDIR",
                                          "LOCAL_CONFDIR")]
    p = subprocess.Popen(["rspamd", "-f", "-u", "root", "-g", "root", "-i",
                          "-c", os.path.join(d, "rspamd.conf")] + v,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sock = os.path.join(d, "proxy.sock")
    try:
        for _ in range(600):
            if os.path.exists(sock):
                break
            time.sleep(0.1)
        gtube = MSG.replace(b"body line", GTUBE)
        q = Queue()
        rc, out, err, _ = session(q, ["unix:" + sock], data=gtube,
                                  args=["--milter-timeout", "60"])
        check("rspamd: GTUBE refused before 250, nothing queued",
              b"554 5.7.1 Gtube pattern" in out and nothing_left(q) and
              b"queued as" not in out, out)
        q.cleanup()
        q = Queue()     # a clean message: From, Date, Message-ID ...
        rc, out, err, _ = session(q, ["unix:" + sock], data=SIGNED,
                                  args=["--milter-timeout", "60"])
        ok = len(q.files("new")) == 1 and q.files("tmp") == []
        check("rspamd: a clean message is queued", ok, out)
        sent = SIGNED.split(b"DATA\r\n", 1)[1].split(b"\r\n.\r\n")[0] + \
            b"\r\n"
        added = only_added(spooled(q), sent, RSPAMD_ADDED) if ok else None
        names = sorted(f.split(b":", 1)[0].lower() for f in added or [])
        check("rspamd: clean: its fields added, CRLF, the rest byte-exact",
              names == sorted(RSPAMD_ADDED) and any(
                  f.startswith(b"X-Spam-Status: No, score=")
                  for f in added), (names, q.messages()[:1]))
        q.cleanup()
    finally:
        p.terminate()
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def t_two_filters(tmp):
    q = Queue()
    f1 = ScriptedFilter(tmp)
    f2 = ScriptedFilter(tmp, script={b"E": pkt(b"r")})
    rc, out, err, _ = session(q, [f1, f2])
    check("two filters: both see the message, the second refuses",
          b"E" in f1.cmds() and b"E" in f2.cmds() and b"554 5.7.1" in out
          and nothing_left(q), (out, f1.cmds(), f2.cmds()))
    q.cleanup()


def t_bdat(tmp):
    body = b"Subject: chunks\r\n\r\none\r\ntwo\r\n"
    data = (b"EHLO c.example\r\nMAIL FROM:<a@example.org>\r\n"
            b"RCPT TO:<b@example.com>\r\nBDAT 10\r\n" + body[:10] +
            b"BDAT %d LAST\r\n" % (len(body) - 10) + body[10:] +
            b"QUIT\r\n")
    q = Queue()
    f = ScriptedFilter(tmp)
    rc, out, err, _ = session(q, [f], data=data)
    check("bdat: the message from chunks through the filter, queued",
          b"DATA" not in out and f.data_of(b"B") == [b"one\r\ntwo\r\n"]
          and len(q.files("new")) == 1, (out, f.cmds()))
    q.cleanup()
    q = Queue()
    f = ScriptedFilter(tmp, script={b"T": pkt(b"r")})
    rc, out, err, _ = session(q, [f], data=data)
    check("bdat: refused at DATA: the chunks are dropped, the session "
          "goes on", b"550 5.7.1" in out and b"221 2.0.0" in out and
          nothing_left(q), out)
    q.cleanup()


def t_rset(tmp):
    q = Queue()
    f = ScriptedFilter(tmp)
    data = (b"EHLO c.example\r\nMAIL FROM:<a@example.org>\r\nRSET\r\n"
            b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\n"
            b"DATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n")
    rc, out, err, _ = session(q, [f], data=data)
    check("rset: ABORT before the next MAIL",
          f.cmds().replace(b"D", b"").startswith(b"OCHMAM"), f.cmds())
    check("rset: the second transaction is queued",
          len(q.files("new")) == 1, out)
    q.cleanup()


def main():
    import tempfile
    tmp = tempfile.mkdtemp(prefix="smtpd-milter-")
    t_continue(tmp)
    t_clients(tmp)
    t_steps(tmp)
    t_macros(tmp)
    t_symlist(tmp)
    t_pysymlist(tmp)
    t_unknown(tmp)
    t_cut_line(tmp)
    t_quarantine_link(tmp)
    t_replies(tmp)
    t_broken(tmp)
    t_headers(tmp)
    t_envelope(tmp)
    t_quarantine(tmp)
    t_replbody(tmp)
    t_two_filters(tmp)
    t_opendkim(tmp)
    t_opendkim_verify(tmp)
    t_pymilter(tmp)
    t_rspamd(tmp)
    t_rset(tmp)
    t_bdat(tmp)
    finish()


if __name__ == "__main__":
    main()
