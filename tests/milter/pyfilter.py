"""tests/milter/pyfilter.py - a pymilter (libmilter) filter for
t_milter.py, run with Debian's /usr/bin/python3: python3 pyfilter.py
SOCKET LOG.  What it does is chosen by the message's Subject:
  reject      REJECT at EOB            tempfail   TEMPFAIL at EOB
  replycode   550 5.7.1 with 2 lines   discard    DISCARD
  headers     addheader, chgheader Subject, insheader at 0
  envelope    addrcpt, delrcpt of the first recipient, chgfrom
  body        replacebody             quarantine quarantine
  anything else: accept.  Each callback appends a line to LOG.
"""
import sys

import Milter


class Filter(Milter.Base):
    def __init__(self):
        self.id = Milter.uniqueID()
        self.subject = ""
        self.rcpts = []

    def log(self, *a):
        with open(LOG, "a") as f:
            f.write(" ".join(str(x) for x in a) + "\n")

    @Milter.noreply
    def connect(self, host, family, hostaddr):
        self.log("connect", host, hostaddr[0] if hostaddr else "",
                 self.getsymval("j"), self.getsymval("{client_addr}"))
        return Milter.CONTINUE

    def envfrom(self, f, *params):
        self.log("mail", f, *params)
        return Milter.CONTINUE

    def envrcpt(self, to, *params):
        self.rcpts.append(to)
        self.log("rcpt", to, self.getsymval("{rcpt_addr}"))
        return Milter.CONTINUE

    def header(self, name, value):
        if name.lower() == "subject":
            self.subject = value.strip()
        return Milter.CONTINUE

    def eom(self):
        s = self.subject
        self.log("eom", s, self.getsymval("i"))
        if s == "reject":
            return Milter.REJECT
        if s == "tempfail":
            return Milter.TEMPFAIL
        if s == "discard":
            return Milter.DISCARD
        if s == "replycode":
            self.setreply("550", "5.7.1", "first line", "second line")
            return Milter.REJECT
        if s == "headers":
            self.addheader("X-Py", "added")
            self.chgheader("Subject", 1, "changed")
            self.addheader("X-Top", "inserted", 0)
        if s == "envelope":
            self.addrcpt("<added@example.net>")
            self.delrcpt(self.rcpts[0])
            self.chgfrom("<new@example.org>")
        if s == "body":
            self.replacebody(b"replaced\r\n")
        if s == "quarantine":
            self.quarantine("pyfilter says so")
        return Milter.ACCEPT


def main():
    global LOG
    sock, LOG = sys.argv[1], sys.argv[2]
    Milter.factory = Filter
    Milter.set_flags(Milter.ADDHDRS | Milter.CHGHDRS | Milter.ADDRCPT |
                     Milter.DELRCPT | Milter.CHGFROM | Milter.CHGBODY |
                     Milter.QUARANTINE)
    Milter.runmilter("pyfilter", "unix:" + sock, 10)


if __name__ == "__main__":
    main()
