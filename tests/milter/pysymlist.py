"""tests/milter/pysymlist.py - a pymilter (libmilter) filter for
t_milter.py that asks for its own macro lists (smfi_setsymlist):
{client_port} at CONNECT, {client_addr} at RCPT, {mail_addr} at EOM.
It logs what libmilter hands it at each stage, and each unknown command
(one starting XREJECT is refused with its own reply).  Run with Debian's
/usr/bin/python3: python3 pysymlist.py SOCKET LOG.

pymilter's own Base.setsymlist (and so @Milter.symlist) passes bytes
where its C module wants str under Python 3, and its negotiate swallows
the TypeError; so negotiate here calls the C module's setsymlist itself.
"""
import sys

import Milter

LISTS = {Milter.M_CONNECT: "{client_port}", Milter.M_ENVRCPT: "{client_addr}",
         Milter.M_EOM: "{mail_addr}"}


class Filter(Milter.Base):
    def log(self, *a):
        with open(LOG, "a") as f:
            f.write(" ".join(str(x) for x in a) + "\n")

    def negotiate(self, opts):
        for stage, names in LISTS.items():
            self._ctx.setsymlist(stage, names)
        self.log("negotiate", hex(opts[0]))
        return Milter.Base.negotiate(self, opts)

    def connect(self, host, family, hostaddr):
        self.log("connect", self.getsymval("{client_port}"),
                 self.getsymval("j"), self.getsymval("{client_addr}"))
        return Milter.CONTINUE

    def envrcpt(self, to, *params):
        self.log("rcpt", self.getsymval("{client_addr}"),
                 self.getsymval("{rcpt_addr}"))
        return Milter.CONTINUE

    def eom(self):
        self.log("eom", self.getsymval("{mail_addr}"))
        return Milter.ACCEPT

    def unknown(self, cmd):
        cmd = cmd.decode() if isinstance(cmd, bytes) else cmd
        self.log("unknown", cmd)
        if cmd.startswith("XREJECT"):
            self.setreply("550", "5.7.1", "no such thing here")
            return Milter.REJECT
        return Milter.CONTINUE


def main():
    global LOG
    sock, LOG = sys.argv[1], sys.argv[2]
    Milter.factory = Filter
    Milter.set_flags(Milter.SETSYMLIST)
    Milter.runmilter("pysymlist", "unix:" + sock, 10)


if __name__ == "__main__":
    main()
