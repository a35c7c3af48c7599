r"""t_transcripts.py - scripted SMTP sessions checked line by line.

Each tests/transcripts/*.t file holds:
  # comment
  @args OPTION...      extra smtpd options
  @env NAME=VALUE      environment (e.g. TCPREMOTEIP=192.0.2.1)
  C: text              a client line; CRLF is added; \r \n \0 \xHH escapes
  C~ text              raw client bytes, nothing added
  S: text              an expected reply line; a final * matches any rest
  S: EHLO-REPLY         the whole EHLO reply: the greeting name's line, six
                       keyword lines, the last line (250-... x7, 250 ...)
  @new N / @tmp N      files expected in QUEUE/new and QUEUE/tmp at the end
  @exit N              expected exit status
  @contains TEXT       a spooled file must contain TEXT (escapes allowed)
  @absent TEXT         no spooled file may contain TEXT
The whole client side is written at once, as a pipelining client or a
piped transcript would.  Queue ids in replies read as <ID>.
"""
import glob
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

# what "S: EHLO-REPLY" stands for: one place to change when a keyword comes
EHLO_REPLY = ["250-" + lib.HOST] + ["250-*"] * 9 + ["250 *"]


def parse(path):
    t = {"args": [], "env": {}, "input": b"", "expect": [], "checks": []}
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if line.startswith("C: "):
                t["input"] += lib.decode_escapes(line[3:]) + b"\r\n"
            elif line == "C:":
                t["input"] += b"\r\n"
            elif line.startswith("C~ "):
                t["input"] += lib.decode_escapes(line[3:])
            elif line == "S: EHLO-REPLY":
                t["expect"] += EHLO_REPLY
            elif line.startswith("S: "):
                t["expect"].append(line[3:])
            elif line.startswith("@args "):
                t["args"] += line[6:].split()
            elif line.startswith("@env "):
                k, _, v = line[5:].partition("=")
                t["env"][k] = v
            elif line.startswith("@"):
                k, _, v = line[1:].partition(" ")
                t["checks"].append((k, v))
    return t


def match(expect, got):
    if expect.endswith("*"):
        return got.startswith(expect[:-1])
    return got == expect


def run_one(path):
    name = os.path.basename(path)[:-2]
    t = parse(path)
    q = lib.Queue()
    try:
        rc, out, err = lib.run_smtpd(t["input"], q, t["args"], t["env"])
        lines = lib.mask(out).decode("utf-8", "replace").split("\r\n")
        if lines and lines[-1] == "":
            lines.pop()
        bad = None
        for i, e in enumerate(t["expect"]):
            if i >= len(lines) or not match(e, lines[i]):
                bad = "reply %d: want %r, got %r" % (
                    i + 1, e, lines[i] if i < len(lines) else "<none>")
                break
        if bad is None and len(lines) != len(t["expect"]):
            bad = "extra replies: %r" % lines[len(t["expect"]):]
        if bad is None:
            bad = run_checks(t["checks"], q, rc)
        lib.check("transcript-" + name, bad is None,
                  "%s\n--- stderr:\n%s" % (bad, err.decode("utf-8", "replace")))
    finally:
        q.cleanup()


def run_checks(checks, q, rc):
    msgs = q.messages()
    for k, v in checks:
        if k in ("new", "tmp") and len(q.files(k)) != int(v):
            return "%s/ has %d files, want %s" % (k, len(q.files(k)), v)
        if k == "exit" and rc != int(v):
            return "exit %d, want %s" % (rc, v)
        if k == "contains" and not any(lib.decode_escapes(v) in m
                                       for m in msgs):
            return "no spooled file contains %r" % v
        if k == "absent" and any(lib.decode_escapes(v) in m for m in msgs):
            return "a spooled file contains %r" % v
    return None


def main():
    paths = sorted(glob.glob(os.path.join(lib.ROOT, "tests", "transcripts",
                                          "*.t")))
    for p in paths:
        run_one(p)
    lib.check("transcripts-found", len(paths) > 0, "no transcript files")
    lib.finish()


main()
