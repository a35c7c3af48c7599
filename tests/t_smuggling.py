r"""t_smuggling.py - SMTP smuggling through a real tcpserver.

Every end-of-data look-alike from the SMTP smuggling research
(\n.\n \n.\r \r.\n \r.\r \n.\r\n \r.\r\n \r\n\0.\r\n \r\n.\r\r\n
\r\r\n.\r\r\n, and \r\n.\r \r\n.\n) is put inside a message, once with a
whole second transaction after it ("smuggle") and once with only text
after it ("early end"); each is sent in one write after the greeting, and
byte by byte as separate TCP segments (TCP_NODELAY, a pause between
sends).  Never two messages, never a second 354, never the smuggled
text in new/; the look-alike never ends the data (no reply comes until
the real CRLF.CRLF); the message is refused (550 or 554) and the session
stays in step (a clean message after it is queued whole).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
import netlib  # noqa: E402
from lib import check  # noqa: E402

SEQUENCES = [
    ("lf-dot-lf", b"\n.\n"),
    ("lf-dot-cr", b"\n.\r"),
    ("cr-dot-lf", b"\r.\n"),
    ("cr-dot-cr", b"\r.\r"),
    ("lf-dot-crlf", b"\n.\r\n"),
    ("cr-dot-crlf", b"\r.\r\n"),
    ("crlf-nul-dot-crlf", b"\r\n\x00.\r\n"),
    ("crlf-dot-cr-crlf", b"\r\n.\r\r\n"),
    ("cr-crlf-dot-cr-crlf", b"\r\r\n.\r\r\n"),
    ("crlf-dot-cr", b"\r\n.\r"),
    ("crlf-dot-lf", b"\r\n.\n"),
]
EHLO = b"EHLO client.example\r\n"
ENVELOPE = (b"MAIL FROM:<sender@example.org>\r\n"
            b"RCPT TO:<rcpt@example.com>\r\nDATA\r\n")
SMUGGLED = (b"MAIL FROM:<admin@bank.example>\r\n"
            b"RCPT TO:<victim@example.com>\r\nDATA\r\n"
            b"From: admin@bank.example\r\nSubject: SMUGGLED\r\n\r\n"
            b"smuggled body\r\n.\r\n")
CLEAN = (b"From: sender@example.org\r\nSubject: clean after\r\n\r\n"
         b"the clean message\r\n")


def refusal(seq):
    return "554" if b"\0" in seq else "550"


def ehlo(c):
    check_greeting = c.reply()
    c.send(EHLO)
    return check_greeting[0][:3] == b"220" and c.reply()[-1][:3] == b"250"


def smuggle(srv, name, seq, split):
    """A whole second transaction after the look-alike."""
    tag = "smuggle-%s-%s" % (name, "split" if split else "one-write")
    c = netlib.Client(srv.port, nodelay=split)
    try:
        if not ehlo(c):
            return check(tag, False, "no greeting/EHLO: %r" % c.all)
        data = (ENVELOPE + b"Subject: first\r\n\r\nbefore" + seq + SMUGGLED
                + b"QUIT\r\n")
        if split:
            c.send_split(data)
        else:
            c.send(data)
        got = [c.code() for _ in range(5)]
        c.read_to_eof()
        msgs = srv.q.messages()
        ok = (got == ["250", "250", "354", refusal(seq), "221"]
              and c.all.count(b"\r\n354 ") == 1
              and b"queued as" not in c.all and msgs == []
              and srv.q.files("tmp") == [])
        return check(tag, ok, "replies %r new %d tmp %r all=%r" % (
            got, len(msgs), srv.q.files("tmp"), c.all[-400:]))
    except (EOFError, OSError) as e:
        return check(tag, False, "%r; got %r" % (e, c.all[-400:]))
    finally:
        c.close()
        for f in srv.q.files("new"):
            os.unlink(os.path.join(srv.q.dir, "new", f))


def early_end(srv, name, seq, split):
    """The look-alike then plain text: the data must not end there."""
    tag = "early-end-%s-%s" % (name, "split" if split else "one-write")
    c = netlib.Client(srv.port, nodelay=split)
    try:
        if not ehlo(c):
            return check(tag, False, "no greeting/EHLO: %r" % c.all)
        c.send(ENVELOPE)
        pre = [c.code() for _ in range(3)]
        data = b"Subject: first\r\n\r\nbefore" + seq + b"after\r\n"
        if split:
            c.send_split(data)
        else:
            c.send(data)
        quiet = c.quiet_for(0.3)
        c.send(b".\r\n")
        end = c.code()
        c.send(ENVELOPE + CLEAN + b".\r\nQUIT\r\n")
        after = [c.code() for _ in range(5)]
        c.read_to_eof()
        msgs = srv.q.messages()
        ok = (pre == ["250", "250", "354"] and quiet and end == refusal(seq)
              and after == ["250", "250", "354", "250", "221"]
              and len(msgs) == 1 and msgs[0].endswith(b"\r\n" + CLEAN)
              and b"before" not in msgs[0] and srv.q.files("tmp") == [])
        return check(tag, ok, "pre %r quiet %r end %r after %r new %d "
                     "all=%r" % (pre, quiet, end, after, len(msgs),
                                 c.all[-400:]))
    except (EOFError, OSError) as e:
        return check(tag, False, "%r; got %r" % (e, c.all[-400:]))
    finally:
        c.close()
        for f in srv.q.files("new"):
            os.unlink(os.path.join(srv.q.dir, "new", f))


def main():
    if not netlib.have_tcpserver():
        print("SKIP smuggling: tcpserver not installed "
              "(package ucspi-tcp-ipv6; tests/deps.sh installs it)")
        lib.finish()
    srv = netlib.Server(args=["--timeout", "20"])
    try:
        n = 0
        for name, seq in SEQUENCES:
            for split in (False, True):
                smuggle(srv, name, seq, split)
                early_end(srv, name, seq, split)
                n += 2
        ended = srv.wait_ended(n, 30)
        statuses = [s for _, s in srv.ended()]
        check("smuggling-sessions-ended-cleanly", ended and
              statuses == [0] * n, "ended %d of %d, statuses %r" % (
                  len(statuses), n, statuses))
    finally:
        srv.cleanup()
    lib.finish()


if __name__ == "__main__":
    main()
