r"""t_policy.py - issue 6: accept only what the host really takes.

Through real sessions, piped transcripts and Python smtplib over
tcpserver on 127.0.0.1:
  - --recipients in both forms (a text list, and a cdb built by tinycdb's
    cdb tool, found by its name or by its content): listed, unknown and
    foreign recipients, folding (case, quoting), catch-all, bare-domain
    markers, postmaster, a 3000-address list checked key by key, and
    missing, short or corrupt files;
  - --check-client/-sender/-recipient: every exit code (0, 100, 111,
    another code, a crash by signal, a hang past --check-timeout) at
    every stage, the argument and environment the program gets, its fds
    (0, 1, 2 only) and signal state, its output made safe for a reply;
  - examples/check-mailbox and examples/greylist, for real;
  - early talkers (with and without --greet-delay), --max-messages and
    --max-errors.
Transcripts use the tests/transcripts/*.t syntax (C:, C~, S: with a
final * matching any rest); @WORK@ stands for this run's directory.
"""
import json
import os
import random
import re
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

# tests/valgrind/run.sh sets this: every smtpd then starts ten times slower
SLOW = os.environ.get("SMTPD_TEST_VALGRIND") == "1"
from lib import check  # noqa: E402

WORK = tempfile.mkdtemp(prefix="smtpd-policy-")
EXAMPLES = os.path.join(lib.ROOT, "examples")
UNTRUSTED = {"TCPREMOTEIP": "192.0.2.7", "TCPREMOTEPORT": "4242",
             "TCPREMOTEHOST": "client.example.net"}
HOOK = os.path.join(WORK, "verdict")       # the programmable policy program
DUMP = os.path.join(WORK, "dump")          # writes its argv/env/fds out
CALLS = os.path.join(WORK, "calls")        # "stage arg" per verdict run
CTL = os.path.join(WORK, "connect-does")   # what verdict does at connect

# The tests' policy program.  What it does is the local part of $1 (MAIL
# and RCPT) or the word in CTL (connect); every run is logged in CALLS.
VERDICT = r"""#!/bin/sh
printf '%s %s\n' "$SMTPD_STAGE" "$1" >> @WORK@/calls
if [ "$SMTPD_STAGE" = connect ]; then
	read -r what < @WORK@/connect-does
else
	what=${1%%@*}
fi
case $what in
accept)	echo "fine by me"; exit 0 ;;
reject)	echo "go away ($SMTPD_STAGE)"; exit 100 ;;
silent)	exit 100 ;;
defer)	echo "come back later ($SMTPD_STAGE)"; exit 111 ;;
quietdefer) exit 111 ;;
other)	echo "exit 3 says nothing"; exit 3 ;;
one)	exit 1 ;;
crash)	echo "about to crash"; ulimit -c 0; kill -SEGV $$ ;;
hang)	echo "hanging"; sleep 30 & echo $! > @WORK@/hang.pid; wait; exit 0 ;;
long)	i=0; s=
	while [ $i -lt 30 ]; do s=${s}0123456789; i=$((i + 1)); done
	echo "$s"; exit 100 ;;
ctl)	printf 'a\001b\033[1mc\td\177e\303\251f\000g\r\nsecond line\n'
	exit 100 ;;
midcr)	printf 'a\rb\r\n'; exit 100 ;;
percent) echo '100% %s %n %% $(x)'; exit 100 ;;
emptyline) printf '\nsecond line\n'; exit 100 ;;
stderr)	echo "hook-stderr-marker" >&2; exit 0 ;;
signals) exec sed -n 's/^\(Sig[A-Za-z]*\):[[:space:]]*/\1 /p' \
	    /proc/self/status > @WORK@/signals ;;	# sed's own, as given
esac
exit 0
"""

# writes what it was given (argv, the environment execve gave it, its open
# fds) to WORK/dump.STAGE as JSON
DUMPER = r"""#!@PYTHON@ -I
import json, os, sys
fds = {}
for n in os.listdir("/proc/self/fd"):
    try:
        fds[n] = os.readlink("/proc/self/fd/" + n)
    except OSError:
        pass                    # the fd listdir itself used
with open("/proc/self/environ", "rb") as f:
    env = [e.decode("utf-8", "replace") for e in f.read().split(b"\0") if e]
stage = dict(e.split("=", 1) for e in env).get("SMTPD_STAGE", "none")
with open("@WORK@/dump." + stage, "w") as f:
    json.dump({"argv": sys.argv[1:], "env": env, "fds": fds}, f)
print("dumped")
"""

LIST_TEXT = (
    "# the valid recipients of the policy tests\n"
    "User@Example.COM\n"
    "bob@example.com\r\n"           # CRLF line end
    "carol@example.com \t\n"        # trailing blanks
    "\n"
    "@catch.example\n"              # catch-all
    "marked.example\n"              # domain listed, no user in it
    "alice@other.example\n"         # a text list lists other.example
    "john smith@example.com\n"      # "john smith"@example.com, unquoted
    "list%route@example.com\n"      # a routed address, listed as it is
)
# the cdb has the same addresses, lower case, and the bare domains it
# lists: example.com, marked.example, but not other.example
LIST_MAP = (
    "user@example.com\nbob@example.com\ncarol@example.com\n"
    "@catch.example\nmarked.example\nalice@other.example\nexample.com\n"
    "list%route@example.com\n")


def write(path, text, mode=0o644):
    with open(path, "wb") as f:
        f.write(text.encode() if isinstance(text, str) else text)
    os.chmod(path, mode)
    return path


def program(name, text):
    """An executable in WORK, @WORK@ and @PYTHON@ filled in."""
    return write(os.path.join(WORK, name), text.replace("@WORK@", WORK)
                 .replace("@PYTHON@", sys.executable), 0o755)


def make_cdb(path, lines):
    """Build a cdb with the real tool: cdb -c -m PATH MAPFILE."""
    src = write(path + ".src", lines)
    p = subprocess.run(["cdb", "-c", "-m", path, src], capture_output=True)
    if p.returncode != 0:
        raise RuntimeError("cdb -c -m failed: %r" % p.stderr)
    return path


def parse(text):
    """A transcript in the tests/transcripts/*.t syntax."""
    t = {"args": [], "env": {}, "input": b"", "expect": []}
    for line in text.replace("@WORK@", WORK).split("\n"):
        if line.startswith("C: "):
            t["input"] += lib.decode_escapes(line[3:]) + b"\r\n"
        elif line.startswith("C~ "):
            t["input"] += lib.decode_escapes(line[3:])
        elif line.startswith("S: "):
            t["expect"].append(line[3:])
        elif line.startswith("@args "):
            t["args"] += line[6:].split()
        elif line.startswith("@env "):
            k, _, v = line[5:].partition("=")
            t["env"][k] = v
    return t


def compare(expect, lines):
    """None if the reply lines match, else why not."""
    for i, e in enumerate(expect):
        got = lines[i] if i < len(lines) else "<none>"
        if not (got.startswith(e[:-1]) if e.endswith("*") else got == e):
            return "reply %d: want %r, got %r" % (i + 1, e, got)
    if len(lines) != len(expect):
        return "extra replies: %r" % lines[len(expect):]
    return None


def session(data, args=(), env=None, q=None):
    """Run smtpd on a pipe: (rc, reply lines, stderr text, queue)."""
    q = q or lib.Queue(WORK)
    rc, out, err = lib.run_smtpd(data, q, list(args), env)
    lines = lib.mask(out).decode("utf-8", "replace").split("\r\n")
    if lines and lines[-1] == "":
        lines.pop()
    return rc, lines, err.decode("utf-8", "replace"), q


def transcript(name, text, args=(), env=None, rc=None, new=None):
    """Run a transcript, check its replies (and exit, new/ count)."""
    t = parse(text)
    e = dict(t["env"], **(env or {}))
    code, lines, err, q = session(t["input"], t["args"] + list(args), e)
    bad = compare(t["expect"], lines)
    if bad is None and rc is not None and code != rc:
        bad = "exit %d, want %d" % (code, rc)
    if bad is None and new is not None and len(q.files("new")) != new:
        bad = "new/ has %d files, want %d" % (len(q.files("new")), new)
    check(name, bad is None, "%s\n--- stderr:\n%s" % (bad, err))
    return code, lines, err, q


def calls():
    try:
        with open(CALLS) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def reset_calls(connect_does="accept"):
    write(CALLS, "")
    write(CTL, connect_does + "\n")


def spool_rcpts(q):
    """The Recipient: lines of every queued file."""
    out = []
    for m in q.messages():
        fields, _ = lib.split_spool(m)
        out.append([v for k, v in fields if k == "Recipient"])
    return out


def gone(pid, wait=3.0):
    """Has process pid ended (or become a zombie) within wait seconds?"""
    end = time.monotonic() + wait
    while time.monotonic() < end:
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except (FileNotFoundError, ProcessLookupError):
            return True
        time.sleep(0.05)
    return False


# --- recipient lists ---------------------------------------------------------

HEAD = """C: EHLO client.test.example
C: MAIL FROM:<s@sender.example>
S: 220 mx.test.example ESMTP*
S: 250-mx.test.example
S: 250-SIZE*
S: 250-PIPELINING
S: 250-8BITMIME
S: 250-ENHANCEDSTATUSCODES
S: 250-SMTPUTF8
S: 250-DSN
S: 250-CHUNKING
S: 250-BINARYMIME
S: 250-LIMITS*
S: 250 HELP
S: 250 2.1.0 sender OK
"""

OK = "250 2.1.5 recipient OK"
# replies before the first RCPT's: the greeting, EHLO's 11 lines, MAIL's
EHLO_END = 13
UNKNOWN = "550 5.1.1 no such mailbox here"
RELAY = "550 5.7.1 relaying denied: not a local domain"
ROUTED = "550 5.7.1 relaying denied: no routing (%, ! or @) in the local part"

# (recipient as written, reply to an untrusted client), both list forms
COMMON = [
    ("user@example.com", OK),
    ("USER@EXAMPLE.COM", OK),                   # ASCII case folded
    ('"User"@Example.com', OK),                 # quoted: compared unquoted
    ('"us\\er"@example.com', OK),               # quoted-pair: \e is e
    ("Bob@example.com", OK),                    # CRLF line in the text
    ("carol@example.com", OK),                  # trailing blanks
    ("nobody@example.com", UNKNOWN),
    ("user@sub.example.com", RELAY),            # not a listed domain
    ("user@example.com.evil", RELAY),
    ("anyone@catch.example", OK),               # catch-all
    ("Any.One@CATCH.Example", OK),
    ("x@marked.example", UNKNOWN),              # bare-domain marker
    ("x@local.example", UNKNOWN),               # --domain: listed too
    ("x@mx.test.example", UNKNOWN),             # our host name too
    ("postmaster@marked.example", OK),          # postmaster: always
    ("PostMaster@example.com", OK),
    ("postmaster@mx.test.example", OK),
    ("postmaster@local.example", OK),
    ("postmaster", OK),
    ("x@elsewhere.example", RELAY),
    ("postmaster@elsewhere.example", RELAY),
    ("alice@other.example", OK),                # listed: from anyone
    ("list%route@example.com", OK),             # routed, listed exactly
    ("x%elsewhere.example@catch.example", ROUTED),  # a catch-all does
    ("elsewhere.example!x@catch.example", ROUTED),  # not cover routing
    ('"x@elsewhere.example"@catch.example', ROUTED),
    ("x%elsewhere.example@local.example", ROUTED),  # nor does --domain
]
TEXT_ONLY = [
    ('"john smith"@example.com', OK),           # unquoted in the list
    ('"John Smith"@EXAMPLE.com', OK),
    ("bob@other.example", UNKNOWN),             # domain from alice@...
]
CDB_ONLY = [
    ("bob@other.example", RELAY),               # no bare key: not listed
]
# a trusted client: unknown users stay unknown, foreign domains relay
TRUSTED = [
    ("nobody@example.com", UNKNOWN),
    ("x@marked.example", UNKNOWN),
    ("x@elsewhere.example", OK),
    ("user@example.com", OK),
    ("x%elsewhere.example@catch.example", OK),  # trusted: may route
]


def rcpt_transcript(rows, extra=""):
    text = HEAD
    for addr, reply in rows:
        text += "C: RCPT TO:<%s>\nS: %s\n" % (addr, reply)
    return text + extra


def test_list(form, path, only):
    args = ["--recipients", path, "--domain", "local.example",
            "--max-errors", "100"]
    rows = COMMON + only
    data = ("C: DATA\nC: Subject: list\nC:\nC: hi\nC: .\nC: QUIT\n"
            "S: 354 *\nS: 250 2.0.0 OK queued as <ID>\n"
            "S: 221 2.0.0 mx.test.example closing connection\n")
    _, _, _, q = transcript("list-%s-untrusted" % form,
                            rcpt_transcript(rows, data), args,
                            UNTRUSTED, rc=0, new=1)
    want = ["<%s>" % a for a, r in rows if r == OK]
    got = spool_rcpts(q)
    check("list-%s-queued-recipients" % form, got == [want],
          "got %r, want %r" % (got, want))
    transcript("list-%s-trusted" % form, rcpt_transcript(
        TRUSTED + ([("bob@other.example", UNKNOWN)] if form == "text"
                   else [("bob@other.example", OK)])) +
        "C: QUIT\nS: 221 *\n", args, rc=0)


def test_lists():
    text = write(os.path.join(WORK, "rcpts.txt"), LIST_TEXT)
    test_list("text", text, TEXT_ONLY)
    if shutil.which("cdb") is None:
        check("cdb-installed", False, "the cdb tool is missing (Debian "
              "package tinycdb; tests/deps.sh installs it)")
        return
    test_list("cdb", make_cdb(os.path.join(WORK, "rcpts.cdb"), LIST_MAP),
              CDB_ONLY)
    # a cdb under another name: found by the NUL bytes in its header
    test_list("cdb-by-content", make_cdb(os.path.join(WORK, "rcpts.db"),
                                         LIST_MAP), CDB_ONLY)
    # keys that are not lower case are never found (documented)
    upper = make_cdb(os.path.join(WORK, "upper.cdb"),
                     "User@Example.COM\nexample.com\n")
    transcript("list-cdb-keys-must-be-lower-case", rcpt_transcript(
        [("user@example.com", UNKNOWN)]) + "C: QUIT\nS: 221 *\n",
        ["--recipients", upper], rc=0)


def readme_recipe():
    """The README's commands that build a cdb from a text list."""
    with open(os.path.join(lib.ROOT, "README")) as f:
        lines = f.read().split("\n")
    start = [i for i, x in enumerate(lines)
             if x.strip().startswith("LC_ALL=C awk")]
    end = [i for i, x in enumerate(lines)
           if x.strip() == "cdb -c -m recipients.cdb recipients.map"]
    if not start or not end or end[0] < start[0]:
        return None
    return "\n".join(x.strip() for x in lines[start[0]:end[0] + 1])


def test_readme_recipe():
    """The cdb built as README says answers like the text list."""
    recipe = readme_recipe()
    if recipe is None or shutil.which("cdb") is None:
        check("list-cdb-readme-recipe", False, "no recipe in README, or no "
              "cdb tool")
        return
    d = os.path.join(WORK, "recipe")
    os.makedirs(d)
    write(os.path.join(d, "recipients.txt"), LIST_TEXT)
    p = subprocess.run(["sh", "-c", recipe], cwd=d, capture_output=True)
    path = os.path.join(d, "recipients.cdb")
    if not check("list-cdb-readme-recipe-runs", p.returncode == 0 and
                 os.path.exists(path), "%r" % p.stderr):
        return
    # as the text list, but "john smith" (a key with a space: -m cannot)
    rows = COMMON + [("bob@other.example", UNKNOWN),
                     ('"john smith"@example.com', UNKNOWN)]
    transcript("list-cdb-readme-recipe", rcpt_transcript(rows) +
               "C: QUIT\nS: 221 *\n", ["--recipients", path, "--domain",
                                       "local.example", "--max-errors", "100"],
               UNTRUSTED, rc=0)


def test_big_lists():
    """3000 addresses in 30 domains: every one found, 300 others not."""
    rng = random.Random(6)
    have = ["u%d.%x@d%d.example" % (i, rng.getrandbits(24), i % 30)
            for i in range(3000)]
    absent = ["v%d@d%d.example" % (i, i % 30) for i in range(300)]
    domains = ["d%d.example" % i for i in range(30)]
    text = write(os.path.join(WORK, "big.txt"), "\n".join(have) + "\n")
    lists = [("text", text)]
    if shutil.which("cdb"):
        lists.append(("cdb", make_cdb(os.path.join(WORK, "big.cdb"),
                                      "\n".join(have + domains) + "\n")))
    order = have + absent
    listed = set(have)
    rng.shuffle(order)
    data = b"EHLO c.example\r\nMAIL FROM:<s@x.org>\r\n" + b"".join(
        b"RCPT TO:<%s>\r\n" % a.encode() for a in order) + b"QUIT\r\n"
    for form, path in lists:
        rc, lines, err, _ = session(data, ["--recipients", path,
                                           "--max-recipients", "10000",
                                           "--max-errors", "100000"],
                                    UNTRUSTED)
        got = lines[EHLO_END:-1]
        bad = [(a, r) for a, r in zip(order, got)
               if r != (OK if a in listed else UNKNOWN)]
        check("list-%s-3000-addresses" % form, rc == 0 and len(got) ==
              len(order) and not bad, "rc %d, %d replies, wrong: %r\n%s" %
              (rc, len(got), bad[:5], err[-500:]))


def test_list_failures():
    t = HEAD.split("\n")[0] + "\nS: 421 4.3.0 mx.test.example mail " \
        "service unavailable (local problem), try again later\n"
    transcript("list-missing-file-421", t, ["--recipients",
               os.path.join(WORK, "no-such-list")], rc=111, new=0)
    short = write(os.path.join(WORK, "short.cdb"), "user@example.com\n")
    transcript("list-short-cdb-421", t, ["--recipients", short], rc=111)
    # a cdb whose tables point past its end: 451, not a crash
    bad = bytearray(2048)
    for i in range(256):
        bad[i * 8:i * 8 + 8] = (0x7fff0000).to_bytes(4, "little") + \
            (5).to_bytes(4, "little")
    bad = write(os.path.join(WORK, "bad.cdb"), bytes(bad) + b"x" * 100)
    transcript("list-corrupt-cdb-451", rcpt_transcript(
        [("user@example.com", "451 4.3.0 recipient list unavailable, "
          "try again later"), ("postmaster", OK)]) + "C: QUIT\nS: 221 *\n",
        ["--recipients", bad], rc=0)
    # random and truncated cdbs: every session ends normally, in time
    rng = random.Random(66)
    files = [bytes(rng.getrandbits(8) for _ in range(rng.choice(
        (2048, 2100, 4096, 9000)))) for _ in range(12)]
    if shutil.which("cdb"):
        good = open(make_cdb(os.path.join(WORK, "trunc.cdb"), LIST_MAP),
                    "rb").read()
        files += [good[:n] for n in (2048, 2100, len(good) - 9)]
    data = (b"EHLO c.example\r\nMAIL FROM:<s@x.org>\r\nRCPT TO:"
            b"<user@example.com>\r\nRCPT TO:<x@catch.example>\r\nRCPT TO:"
            b"<nobody@marked.example>\r\nQUIT\r\n")
    wrong = []
    for i, blob in enumerate(files):
        path = write(os.path.join(WORK, "junk%d.cdb" % i), blob)
        rc, lines, err, _ = session(data, ["--recipients", path])
        if rc != 0 or len(lines) != EHLO_END + 4 or not all(
                x[:3] in ("250", "550", "451")
                for x in lines[EHLO_END:EHLO_END + 3]):
            wrong.append((i, rc, lines[EHLO_END:], err[-300:]))
    check("list-corrupt-cdbs-never-crash", not wrong, "%r" % wrong[:3])


# --- policy programs ---------------------------------------------------------

FAILED = "local policy check failed, try again later"
# what: (reply at connect, reply at MAIL, reply at RCPT)
VERDICTS = {
    "accept": ("220 mx.test.example ESMTP smtpd", "250 2.1.0 sender OK", OK),
    "reject": ("554 5.7.1 go away (connect)", "550 5.7.1 go away (mail)",
               "550 5.7.1 go away (rcpt)"),
    "silent": ("554 5.7.1 rejected by local policy",
               "550 5.7.1 rejected by local policy",
               "550 5.7.1 rejected by local policy"),
    "defer": ("421 4.7.1 come back later (connect)",
              "451 4.7.1 come back later (mail)",
              "451 4.7.1 come back later (rcpt)"),
    "quietdefer": ("421 4.7.1 try again later (local policy)",
                   "451 4.7.1 try again later (local policy)",
                   "451 4.7.1 try again later (local policy)"),
    "other": ("421 4.7.1 " + FAILED, "451 4.3.0 " + FAILED,
              "451 4.3.0 " + FAILED),
    "one": ("421 4.7.1 " + FAILED, "451 4.3.0 " + FAILED,
            "451 4.3.0 " + FAILED),
    "crash": ("421 4.7.1 " + FAILED, "451 4.3.0 " + FAILED,
              "451 4.3.0 " + FAILED),
    "hang": ("421 4.7.1 " + FAILED, "451 4.3.0 " + FAILED,
             "451 4.3.0 " + FAILED),
}
CHECKS = ["--check-client", HOOK, "--check-sender", HOOK,
          "--check-recipient", HOOK, "--check-timeout", "1"]


def hang_check(name, t0):
    """A hung program: cut at --check-timeout 1, its child killed too."""
    took = time.monotonic() - t0
    try:
        pid = int(open(os.path.join(WORK, "hang.pid")).read())
    except (OSError, ValueError):
        pid = None
    check(name + "-killed-in-time", 0.9 <= took < 3 and pid is not None
          and gone(pid), "took %.2f s, pid %r" % (took, pid))


def test_connect_stage():
    for what, (greet, _, _) in VERDICTS.items():
        reset_calls(what)
        if what == "accept":
            t = ("C: HELO c.example\nC: QUIT\nS: %s\nS: 250 *\nS: 221 *\n"
                 % greet)
            rc = 0
        elif greet.startswith("554"):
            # RFC 5321 3.1: a 554 greeting, then only QUIT is served
            t = ("C: EHLO c.example\nC: MAIL FROM:<a@x.org>\nC: NOOP\n"
                 "C: QUIT\nS: %s\n" % greet +
                 "S: 503 5.7.1 no mail service for you here; please QUIT\n"
                 * 3 + "S: 221 2.0.0 mx.test.example closing connection\n")
            rc = 0
        else:                           # 421 and close: nothing more
            t = "C: EHLO c.example\nC: QUIT\nS: %s\n" % greet
            rc = 1
        t0 = time.monotonic()
        transcript("check-client-%s" % what, t, CHECKS, rc=rc, new=0)
        if what == "hang":
            hang_check("check-client-hang", t0)
        check("check-client-%s-ran-once" % what, calls() ==
              ["connect local"], "calls %r" % calls())


def test_connect_reject_extra():
    reset_calls("reject")
    # RFC 5321 3.1: after a 554 greeting, 503 to every command but QUIT,
    # unknown ones included
    transcript("check-client-554-then-503-for-any-verb",
               "C: FOO\nC: EXPN x\nC: QUIT\nS: 554 5.7.1 go away (connect)\n"
               "S: 503 5.7.1 no mail service for you here; please QUIT\n"
               "S: 503 5.7.1 no mail service for you here; please QUIT\n"
               "S: 221 *\n", ["--check-client", HOOK], rc=0)
    # a program never outlives the session cap
    reset_calls()
    t0 = time.monotonic()
    session(b"HELO h.example\r\nMAIL FROM:<hang@x.org>\r\nQUIT\r\n",
            ["--check-sender", HOOK, "--check-timeout", "20",
             "--session-timeout", "1"])
    hang_check("check-timeout-capped-by-session", t0)


def test_mail_stage():
    reset_calls()
    t = HEAD.replace("C: MAIL FROM:<s@sender.example>\n", "").replace(
        "S: 250 2.1.0 sender OK\n", "")
    for what, (_, reply, _) in VERDICTS.items():
        if what != "accept":
            t += "C: MAIL FROM:<%s@sender.example>\nS: %s\n" % (what, reply)
    # a refused sender leaves no transaction: RCPT gets 503
    t += ("C: RCPT TO:<a@example.com>\nS: 503 5.5.1 send MAIL first\n"
          "C: MAIL FROM:<accept@sender.example>\nS: 250 2.1.0 sender OK\n"
          "C: RCPT TO:<accept@example.com>\nS: %s\nC: DATA\nS: 354 *\n"
          "C: hi\nC: .\nS: 250 2.0.0 OK queued as <ID>\n"
          "C: QUIT\nS: 221 *\n" % OK)
    t0 = time.monotonic()
    _, _, _, q = transcript("check-sender-each-exit", t, CHECKS, rc=0, new=1)
    hang_check("check-sender-hang", t0)
    senders = [c.split(" ", 1)[1] for c in calls() if c.startswith("mail ")]
    want = ["%s@sender.example" % w for w in VERDICTS if w != "accept"]
    check("check-sender-ran-per-mail", senders == want +
          ["accept@sender.example"], "calls %r" % calls())
    blob = q.messages()[0] if q.messages() else b""
    check("check-sender-accepted-queued",
          b"Sender: <accept@sender.example>\n" in blob, blob[:300])


def test_rcpt_stage():
    reset_calls()
    t = HEAD.replace("s@sender.example", "accept@sender.example")
    for what, (_, _, reply) in VERDICTS.items():
        t += "C: RCPT TO:<%s@example.com>\nS: %s\n" % (what, reply)
    t += ("C: DATA\nS: 354 *\nC: hi\nC: .\nS: 250 2.0.0 OK queued as <ID>\n"
          "C: QUIT\nS: 221 *\n")
    t0 = time.monotonic()
    _, _, _, q = transcript("check-recipient-each-exit", t, CHECKS, rc=0,
                            new=1)
    hang_check("check-recipient-hang", t0)
    check("check-recipient-only-accepted-queued", spool_rcpts(q) ==
          [["<accept@example.com>"]], "%r" % spool_rcpts(q))
    rcpts = [c.split(" ", 1)[1] for c in calls() if c.startswith("rcpt ")]
    check("check-recipient-ran-per-rcpt", rcpts == ["%s@example.com" % w
          for w in VERDICTS], "calls %r" % calls())


def test_check_order():
    """Programs run after smtpd's own checks, and only if those pass."""
    reset_calls()
    lst = write(os.path.join(WORK, "order.txt"), "reject@example.com\n"
                "accept@example.com\n")
    t = HEAD.replace("C: MAIL FROM:<s@sender.example>\n",
                     "C: MAIL FROM:<accept@x.org\nC: MAIL FROM:<accept@x.org>"
                     " SIZE=999999999\nC: MAIL FROM:<accept@x.org> FOO=1\n"
                     "C: MAIL FROM:<accept@x.org>\n").replace(
        "S: 250 2.1.0 sender OK\n",
        "S: 501 5.1.7 bad sender address syntax\nS: 552 5.3.4 *\n"
        "S: 555 5.5.4 parameter not supported\nS: 250 2.1.0 sender OK\n")
    t += ("C: RCPT TO:<nobody@example.com>\nS: %s\n"     # list: unknown
          "C: RCPT TO:<x@elsewhere.example>\nS: %s\n"    # relay rules
          "C: RCPT TO:<bad>\nS: 501 5.1.3 bad recipient address syntax\n"
          "C: RCPT TO:<reject@example.com>\nS: 550 5.7.1 go away (rcpt)\n"
          "C: RCPT TO:<accept@example.com>\nS: %s\n"
          "C: RCPT TO:<postmaster>\nS: %s\n"
          "C: QUIT\nS: 221 *\n" % (UNKNOWN, RELAY, OK, OK))
    transcript("check-after-own-checks", t, ["--recipients", lst,
               "--check-sender", HOOK, "--check-recipient", HOOK],
               UNTRUSTED, rc=0)
    check("check-after-own-checks-calls", calls() == [
        "mail accept@x.org", "rcpt reject@example.com",
        "rcpt accept@example.com", "rcpt postmaster"], "calls %r" % calls())


def load_dump(stage):
    try:
        with open(os.path.join(WORK, "dump." + stage)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def env_of(d):
    return dict(e.split("=", 1) for e in d["env"]) if d else None


def test_environment():
    for stage in ("connect", "mail", "rcpt"):
        if os.path.exists(os.path.join(WORK, "dump." + stage)):
            os.unlink(os.path.join(WORK, "dump." + stage))
    sender = '"odd $(touch x) `y` *;|"@Sender.Example'
    data = ("EHLO client.test.example\r\nMAIL FROM:<%s> SIZE=10\r\n"
            "RCPT TO:<User@example.com> NOTIFY=NEVER\r\nQUIT\r\n" % sender)
    env = dict(UNTRUSTED, SECRET="do-not-pass", HOME="/root", LANG="C")
    lst = write(os.path.join(WORK, "env.txt"), "user@example.com\n")
    rc, lines, err, _ = session(data.encode(), [
        "--check-client", DUMP, "--check-sender", DUMP,
        "--check-recipient", DUMP, "--recipients", lst], env)
    check("env-session", rc == 0 and lines[-2] == OK, "%r %s" % (lines, err))
    base = {"PATH": "/usr/local/bin:/usr/bin:/bin",
            "SMTPD_HOSTNAME": lib.HOST, "SMTPD_CLIENT_IP": "192.0.2.7",
            "SMTPD_CLIENT_PORT": "4242",
            "SMTPD_CLIENT_NAME": "client.example.net",
            "SMTPD_TRUSTED": "no"}
    want = {
        "connect": (["192.0.2.7"], dict(base, SMTPD_STAGE="connect",
                                        SMTPD_HELO="")),
        "mail": ([sender], dict(base, SMTPD_STAGE="mail",
                                SMTPD_HELO="client.test.example",
                                SMTPD_SENDER=sender)),
        "rcpt": (["User@example.com"], dict(
            base, SMTPD_STAGE="rcpt", SMTPD_HELO="client.test.example",
            SMTPD_SENDER=sender, SMTPD_RECIPIENT="User@example.com")),
    }
    for stage, (argv, wenv) in want.items():
        d = load_dump(stage)
        check("env-%s-argv" % stage, d is not None and d["argv"] == argv,
              "got %r" % (d and d["argv"]))
        check("env-%s-environment" % stage, env_of(d) == wenv,
              "got %r\nwant %r" % (env_of(d), wenv))
        fds = d["fds"] if d else {}
        check("env-%s-fds-0-1-2-only" % stage, sorted(fds) ==
              ["0", "1", "2"] and fds["0"] == "/dev/null" and
              fds["1"].startswith("pipe:"), "fds %r" % fds)
    check("env-no-file-from-client-bytes", not os.path.exists("x") and
          not os.path.exists(os.path.join(WORK, "x")), "a file x appeared")
    # a local client (a pipe): "local", trusted, no address; null sender
    data = b"HELO h.example\r\nMAIL FROM:<>\r\nQUIT\r\n"
    session(data, ["--check-client", DUMP, "--check-sender", DUMP])
    d, m = load_dump("connect"), load_dump("mail")
    e, em = env_of(d) or {}, env_of(m) or {}
    check("env-local-client", d and d["argv"] == ["local"] and
          e.get("SMTPD_CLIENT_IP") == "" and e.get("SMTPD_TRUSTED") == "yes",
          "%r" % d)
    check("env-null-sender", m and m["argv"] == [""] and
          em.get("SMTPD_SENDER") == "" and em.get("SMTPD_HELO") == "h.example",
          "%r" % m)
    session(b"HELO h.example\r\nQUIT\r\n", ["--check-client", DUMP],
            dict(UNTRUSTED, RELAYCLIENT=""))
    check("env-relayclient-trusted", (env_of(load_dump("connect")) or {})
          .get("SMTPD_TRUSTED") == "yes", "%r" % load_dump("connect"))


def test_program_io():
    """stderr goes to our log; signals are at their defaults."""
    reset_calls()
    rc, lines, err, _ = session(
        b"HELO h.example\r\nMAIL FROM:<stderr@x.org>\r\nRSET\r\n"
        b"MAIL FROM:<signals@x.org>\r\nQUIT\r\n", ["--check-sender", HOOK])
    check("program-stderr-in-log", "hook-stderr-marker" in err and
          "hook-stderr-marker" not in "".join(lines), err)
    try:
        sig = dict(x.split() for x in open(os.path.join(WORK, "signals")))
    except (OSError, ValueError):
        sig = {}
    # Signals 32 and 33 are glibc's own (NPTL): no libc call can reset
    # them, and a launcher may hand them over ignored; only 1-31 count.
    def standard(mask):
        return mask is not None and int(mask, 16) & 0x7fffffff == 0
    check("program-signals-default", standard(sig.get("SigIgn")) and
          standard(sig.get("SigBlk")), "SigIgn %s SigBlk %s (smtpd's "
          "SIG_IGN for SIGPIPE/SIGXFSZ must not reach the program)" %
          (sig.get("SigIgn"), sig.get("SigBlk")))


def test_sanitising():
    reset_calls()
    t = HEAD + (
        "C: RCPT TO:<long@example.com>\nS: 550 5.7.1 %s\n"
        "C: RCPT TO:<ctl@example.com>\nS: 550 5.7.1 a?b?[1mc?d?e??f?g\n"
        "C: RCPT TO:<percent@example.com>\nS: 550 5.7.1 100%% %%s %%n "
        "%%%% $(x)\n"
        "C: RCPT TO:<emptyline@example.com>\nS: 550 5.7.1 rejected by "
        "local policy\n"
        "C: QUIT\nS: 221 *\n") % ("0123456789" * 20)
    transcript("sanitise-output", t, ["--check-recipient", HOOK], rc=0)
    # a CR inside the line is a control byte like the others
    transcript("sanitise-inner-cr", HEAD + "C: RCPT TO:<midcr@example.com>\n"
               "S: 550 5.7.1 a?b\nC: QUIT\nS: 221 *\n",
               ["--check-recipient", HOOK], rc=0)


def test_program_usage():
    rel = ["--check-sender", "examples/greylist"]
    noexec = write(os.path.join(WORK, "noexec"), "#!/bin/sh\nexit 0\n")
    for name, args in (("relative", rel),
                       ("not-executable", ["--check-client", noexec]),
                       ("directory", ["--check-sender", WORK]),
                       ("missing", ["--check-recipient",
                                    os.path.join(WORK, "nope")]),
                       ("timeout-0", ["--check-timeout", "0"]),
                       ("greet-delay-301", ["--greet-delay", "301"]),
                       ("max-messages-0", ["--max-messages", "0"])):
        rc, out, _, _ = session(b"QUIT\r\n", args)
        check("usage-%s-exit-100" % name, rc == 100 and not out,
              "rc %d out %r" % (rc, out))


# --- the examples ------------------------------------------------------------

def test_check_mailbox():
    root = os.path.join(WORK, "mail")
    for d in ("example.com/alice", "example.com/john smith", "etc",
              "example.com/.hidden", "[192.0.2.1]/bob"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    prog = program("check-mailbox-wrapper", "#!/bin/sh\nMAILROOT=%s exec "
                   "%s/check-mailbox \"$@\"\n" % (root, EXAMPLES))
    no = "550 5.7.1 no such mailbox here"
    rows = [("alice@example.com", OK), ("ALICE@Example.COM", OK),
            ('"alice"@example.com', OK), ('"john smith"@example.com', OK),
            ('"John\\ Smith"@example.com', OK), ("bob@example.com", no),
            ('"../etc"@example.com', no), ('"a/b"@example.com', no),
            ('".."@example.com', no), ('".hidden"@example.com', no),
            ("bob@[192.0.2.1]", OK), ("alice@[192.0.2.1]", no),
            ('"alice@example.com"@example.com', no),
            ("PostMaster@example.com", OK), ("postmaster", OK)]
    transcript("example-check-mailbox", rcpt_transcript(rows) +
               "C: QUIT\nS: 221 *\n", ["--check-recipient", prog], rc=0)
    prog2 = program("check-mailbox-noroot", "#!/bin/sh\nMAILROOT=%s/none "
                    "exec %s/check-mailbox \"$@\"\n" % (root, EXAMPLES))
    transcript("example-check-mailbox-no-root-451", rcpt_transcript(
        [("alice@example.com", "451 4.7.1 mailbox check unavailable, try "
          "again later")]) + "C: QUIT\nS: 221 *\n",
        ["--check-recipient", prog2], rc=0)


def greylist_session(prog, sender, rcpt, ip="192.0.2.7"):
    data = ("EHLO c.example\r\nMAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nQUIT\r\n" %
            (sender, rcpt)).encode()
    rc, lines, err, _ = session(data, ["--check-recipient", prog,
                                       "--domain", "example.com"],
                                dict(UNTRUSTED, TCPREMOTEIP=ip))
    return lines[-2] if len(lines) >= 2 else "rc %d %r %s" % (rc, lines, err)


def test_greylist():
    state = os.path.join(WORK, "grey")
    prog = program("greylist-wrapper", "#!/bin/sh\nGREYLIST_DIR=%s "
                   "GREYLIST_DELAY=2 exec %s/greylist \"$@\"\n" %
                   (state, EXAMPLES))
    odd = '"a b;$(touch %s/pwned) `x` * \\" |"@Sender.example' % WORK
    t0 = time.monotonic()
    first = greylist_session(prog, odd, "u@example.com")
    again = greylist_session(prog, odd, "u@example.com")
    other = greylist_session(prog, "s@sender.example", "u@example.com")
    pm = greylist_session(prog, "s2@sender.example", "postmaster@example.com")
    check("greylist-first-try-451", first.startswith(
        "451 4.7.1 greylisted, please try again in "), first)
    check("greylist-early-retry-451", again.startswith("451 4.7.1 "), again)
    check("greylist-new-triplet-451", other.startswith("451 4.7.1 "), other)
    check("greylist-postmaster-not-delayed", pm == OK, pm)
    time.sleep(max(0, 2.2 - (time.monotonic() - t0)))
    late = greylist_session(prog, odd, "u@example.com")
    check("greylist-retry-after-delay-250", late == OK, late)
    check("greylist-other-ip-451", greylist_session(
        prog, odd, "u@example.com", "192.0.2.8").startswith("451 "), "")
    try:
        lines = open(os.path.join(state, "triplets")).read().splitlines()
    except OSError:
        lines = []
    check("greylist-state-is-hex", len(lines) == 3 and all(
        len(x.split()) == 2 and x.split()[0].isdigit() and
        all(c in "0123456789abcdef" for c in x.split()[1]) for x in lines)
        and not os.path.exists(os.path.join(WORK, "pwned")), "%r" % lines)
    # concurrent sessions: one line per triplet, however many at once
    if SLOW:
        print("SKIP greylist-concurrent-sessions: under valgrind 24 "
              "sessions outlast the 2 s greylist delay")
        return
    shutil.rmtree(state)
    cmd = [lib.SMTPD, "--queue", os.path.join(WORK, "gq"), "--hostname",
           lib.HOST, "--check-recipient", prog, "--domain", "example.com"]
    procs = []
    for i in range(24):
        data = ("EHLO c.example\r\nMAIL FROM:<s@x.org>\r\nRCPT TO:<r%d@"
                "example.com>\r\nQUIT\r\n" % (i % 6)).encode()
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=lib.base_env(UNTRUSTED))
        procs.append((p, data))
    outs = [p.communicate(d, timeout=60)[0] for p, d in procs]
    try:
        lines = open(os.path.join(state, "triplets")).read().splitlines()
    except OSError:
        lines = []
    keys = [x.split()[1] for x in lines if len(x.split()) == 2]
    check("greylist-concurrent-sessions", len(lines) == 6 and
          len(set(keys)) == 6 and all(b"\r\n451 4.7.1 " in o for o in outs),
          "%d lines %r" % (len(lines), lines))


# --- over TCP: tcpserver and real clients -----------------------------------

def free_port():
    return lib.free_port()


class Server:
    """tcpserver on 127.0.0.1 running smtpd (prefix: e.g. env VAR=...)."""

    def __init__(self, args=(), prefix=()):
        self.q = lib.Queue(WORK)
        self.log = os.path.join(self.q.dir, "server.log")
        self.p = None
        for _ in range(5):
            self.port = free_port()
            cmd = (["tcpserver", "-q", "-H", "-R", "-l", lib.HOST,
                    "127.0.0.1", str(self.port)] + list(prefix) +
                   [lib.SMTPD, "--queue", self.q.dir, "--hostname",
                    lib.HOST] + list(args))
            with open(self.log, "ab") as logf:
                self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL,
                                          stderr=logf, env=lib.base_env(),
                                          start_new_session=True)
            if self._listening():
                return
            self.stop()
        raise RuntimeError("tcpserver did not start: %s" % self.errors())

    def _listening(self):
        """Up when a connection gets a first reply (any: 220, 421, 554)."""
        end = time.monotonic() + 5
        while time.monotonic() < end:
            if self.p.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port),
                                              1) as s:
                    s.settimeout(5)
                    if s.recv(100):
                        return True
            except OSError:
                time.sleep(0.05)
        return False

    def stop(self):
        lib.stop_group(self.p)

    def errors(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("utf-8", "replace")[-2000:]
        except OSError:
            return ""


def raw(port, send=b"", delay=0.0, read_first=False, timeout=8):
    """Connect; after delay seconds send (before reading, unless
    read_first); return every byte the server sent, up to its close."""
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.settimeout(timeout)
    got = b""
    try:
        if read_first:
            got = s.recv(4096)
        if delay:
            time.sleep(delay)
        if send:
            s.sendall(send)
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
    except ConnectionResetError:
        got += b"<RST>"
    except socket.timeout:
        got += b"<TIMEOUT>"
    finally:
        s.close()
    return got


MSG = b"From: s@sender.example\r\nSubject: policy\r\n\r\nhello\r\n"


def client(srv, timeout=20):
    return smtplib.SMTP("127.0.0.1", srv.port, local_hostname="c.example",
                        timeout=timeout)


def tcp_lists():
    """smtplib, untrusted (env prefix), both list forms."""
    forms = [("text", os.path.join(WORK, "rcpts.txt"))]
    if shutil.which("cdb"):
        forms.append(("cdb", os.path.join(WORK, "rcpts.cdb")))
    for form, path in forms:
        srv = Server(["--recipients", path, "--domain", "local.example"],
                     ["env", "TCPREMOTEIP=192.0.2.7"])
        try:
            with client(srv) as c:
                refused = c.sendmail("s@sender.example", [
                    "User@Example.com", "nobody@example.com",
                    "x@any.catch.example", "x@CATCH.example",
                    "x@elsewhere.example", "postmaster"], MSG)
            got = {k: (v[0], v[1][:5]) for k, v in refused.items()}
            want = {"nobody@example.com": (550, b"5.1.1"),
                    "x@any.catch.example": (550, b"5.7.1"),
                    "x@elsewhere.example": (550, b"5.7.1")}
            check("tcp-list-%s-refused" % form, got == want, "%r" % got)
            check("tcp-list-%s-queued" % form, spool_rcpts(srv.q) == [[
                "<User@Example.com>", "<x@CATCH.example>", "<postmaster>"]],
                "%r" % spool_rcpts(srv.q))
        finally:
            srv.stop()


def tcp_programs():
    """Each stage over TCP, the environment a real connection gives."""
    reset_calls("reject")
    srv = Server(CHECKS)
    try:
        try:
            client(srv).close()
            err = None
        except smtplib.SMTPConnectError as e:
            err = (e.smtp_code, e.smtp_error)
        check("tcp-check-client-554", err == (554, b"5.7.1 go away "
              b"(connect)"), "%r" % (err,))
        write(CTL, "defer\n")
        try:
            client(srv).close()
            err = None
        except smtplib.SMTPConnectError as e:
            err = (e.smtp_code, e.smtp_error)
        check("tcp-check-client-421", err == (421, b"4.7.1 come back later "
              b"(connect)"), "%r" % (err,))
        write(CTL, "accept\n")
        with client(srv) as c:
            try:
                c.sendmail("reject@sender.example", ["a@example.com"], MSG)
                err = None
            except smtplib.SMTPSenderRefused as e:
                err = (e.smtp_code, e.smtp_error)
            check("tcp-check-sender-550", err == (550, b"5.7.1 go away "
                  b"(mail)"), "%r" % (err,))
            t0 = time.monotonic()
            refused = c.sendmail("accept@sender.example", [
                "defer@example.com", "hang@example.com", "accept@example.com",
                "crash@example.com"], MSG)
            took = time.monotonic() - t0
            check("tcp-check-recipient-refusals", {
                k: v[0] for k, v in refused.items()} == {
                    "defer@example.com": 451, "hang@example.com": 451,
                    "crash@example.com": 451} and 0.9 < took < 5,
                "%r in %.2f s" % (refused, took))
            check("tcp-check-recipient-queued", spool_rcpts(srv.q) ==
                  [["<accept@example.com>"]], "%r" % spool_rcpts(srv.q))
    finally:
        srv.stop()
    srv = Server(["--check-client", DUMP, "--check-recipient", DUMP])
    try:
        with client(srv) as c:
            port = c.sock.getsockname()[1]
            c.sendmail("s@sender.example", ["r@example.com"], MSG)
        d, r = load_dump("connect"), load_dump("rcpt")
        e, er = env_of(d) or {}, env_of(r) or {}
        check("tcp-env-connect", d and d["argv"] == ["127.0.0.1"] and
              e.get("SMTPD_CLIENT_IP") == "127.0.0.1" and
              e.get("SMTPD_CLIENT_PORT") == str(port) and
              e.get("SMTPD_TRUSTED") == "yes", "%r (port %d)" % (d, port))
        check("tcp-env-rcpt", er.get("SMTPD_HELO") == "c.example" and
              er.get("SMTPD_SENDER") == "s@sender.example" and
              er.get("SMTPD_RECIPIENT") == "r@example.com", "%r" % r)
        for stage, x in (("connect", d), ("rcpt", r)):
            fds = x["fds"] if x else {}
            check("tcp-%s-no-socket-fd" % stage, sorted(fds) ==
                  ["0", "1", "2"] and fds["0"] == "/dev/null" and
                  fds["1"].startswith("pipe:") and
                  not fds["2"].startswith("socket:"), "fds %r" % fds)
    finally:
        srv.stop()


def tcp_greylist():
    state = os.path.join(WORK, "grey-tcp")
    prog = program("greylist-tcp", "#!/bin/sh\nGREYLIST_DIR=%s "
                   "GREYLIST_DELAY=2 exec %s/greylist \"$@\"\n" %
                   (state, EXAMPLES))
    srv = Server(["--check-recipient", prog, "--domain", "example.com"],
                 ["env", "TCPREMOTEIP=192.0.2.9"])
    try:
        t0 = time.monotonic()
        with client(srv) as c:
            try:
                c.sendmail("s@sender.example", ["u@example.com"], MSG)
                err = None
            except smtplib.SMTPRecipientsRefused as e:
                err = e.recipients.get("u@example.com")
        check("tcp-greylist-deferred", err is not None and err[0] == 451 and
              err[1].startswith(b"4.7.1 greylisted"), "%r" % (err,))
        time.sleep(max(0, 2.2 - (time.monotonic() - t0)))
        with client(srv) as c:
            refused = c.sendmail("s@sender.example", ["u@example.com"], MSG)
        check("tcp-greylist-accepted-later", refused == {} and
              len(srv.q.files("new")) == 1, "%r" % refused)
    finally:
        srv.stop()


def tcp_early_talkers():
    talk = b"EHLO early.example\r\nQUIT\r\n"
    early = b"554 5.5.0 mx.test.example you talked before the greeting"
    # bytes already there when smtpd starts (a socketpair written first:
    # over TCP "at once" would be a race with smtpd's start)
    a, b = socket.socketpair()
    b.sendall(talk)
    q = lib.Queue()
    p = subprocess.Popen([lib.SMTPD, "--queue", q.dir, "--hostname",
                          lib.HOST], stdin=a, stdout=a,
                         stderr=subprocess.DEVNULL, env=lib.base_env())
    a.close()
    b.settimeout(20)
    got = b""
    try:
        while True:
            d = b.recv(4096)
            if not d:
                break
            got += d
    except OSError:
        pass
    p.wait(20)
    b.close()
    q.cleanup()
    check("early-talker-554", got.startswith(early) and b"250" not in got
          and b"220" not in got, "%r" % got)
    srv = Server()
    try:
        # sends at 0.3 s without reading: the greeting was already out
        got = raw(srv.port, talk, delay=3.0 if SLOW else 0.3)
        check("early-talker-no-delay-late-sender-served",
              got.startswith(b"220 ") and b"\r\n221 " in got, "%r" % got)
        got = raw(srv.port, talk, read_first=True)
        check("early-talker-polite-client-served", got.startswith(b"220 ")
              and b"\r\n221 " in got, "%r" % got)
    finally:
        srv.stop()
    if SLOW:
        print("SKIP early-talker-greet-delay: a wall-clock race, and "
              "valgrind's start-up is slower than the delay")
        return
    srv = Server(["--greet-delay", "1"])
    try:
        # the same late sender as above: now it talked first
        got = raw(srv.port, talk, delay=0.3)
        check("early-talker-greet-delay-554", got.startswith(early) and
              b"220" not in got and b"250" not in got, "%r" % got)
        t0 = time.monotonic()
        with client(srv) as c:
            waited = time.monotonic() - t0
            refused = c.sendmail("s@sender.example", ["r@example.com"], MSG)
        check("early-talker-greet-delay-smtplib-served", refused == {} and
              waited >= 0.9 and len(srv.q.files("new")) == 1,
              "waited %.2f, %r" % (waited, refused))
    finally:
        srv.stop()


def tcp_early_talk_during_check_client():
    """Bytes that arrive while --check-client runs came before the
    greeting too."""
    slow = program("slow-accept", "#!/bin/sh\nsleep 1\nexit 0\n")
    srv = Server(["--check-client", slow])
    try:
        got = raw(srv.port, b"EHLO early.example\r\nQUIT\r\n", delay=0.3)
        check("early-talker-during-check-client-554",
              got.startswith(b"554 5.5.0 ") and b"220" not in got, "%r" % got)
    finally:
        srv.stop()


def tcp_limits():
    srv = Server(["--max-messages", "2", "--max-errors", "3",
                  "--recipients", os.path.join(WORK, "rcpts.txt")])
    try:
        with client(srv) as c:
            c.sendmail("s@sender.example", ["user@example.com"], MSG)
            c.sendmail("s@sender.example", ["user@example.com"], MSG)
            try:
                c.sendmail("s@sender.example", ["user@example.com"], MSG)
                err = None
            except smtplib.SMTPSenderRefused as e:
                err = (e.smtp_code, e.smtp_error)
            except smtplib.SMTPServerDisconnected as e:
                err = ("disconnected", str(e))
        check("tcp-max-messages", err is not None and err[0] == 421 and
              b"4.7.0" in err[1] and len(srv.q.files("new")) == 2,
              "%r, %d queued" % (err, len(srv.q.files("new"))))
        with client(srv) as c:
            c.ehlo()
            c.mail("s@sender.example")
            codes = [c.rcpt("n%d@example.com" % i)[0] for i in range(3)]
            try:
                last = c.getreply()
            except smtplib.SMTPServerDisconnected as e:
                last = ("disconnected", str(e))
        check("tcp-max-errors-unknown-recipients", codes == [550] * 3 and
              last[0] == 421, "%r then %r" % (codes, last))
    finally:
        srv.stop()


# --- transcripts: limits and early talkers on pipes -------------------------

def test_limits():
    msg = ("C: MAIL FROM:<s@sender.example>\nC: RCPT TO:<r@example.com>\n"
           "C: DATA\nC: hi\nC: .\n")
    ok = ("S: 250 2.1.0 sender OK\nS: %s\nS: 354 *\n"
          "S: 250 2.0.0 OK queued as <ID>\n" % OK)
    t = ("C: HELO c.example\n" + msg + "C: MAIL FROM:<a@x.org>\nC: RSET\n" +
         msg + msg + "C: NOOP\nS: 220 *\nS: 250 mx.test.example\n" + ok +
         "S: 250 2.1.0 sender OK\nS: 250 2.0.0 reset OK\n" + ok +
         "S: 421 4.7.0 mx.test.example too many messages in one session, "
         "closing connection\n")
    transcript("max-messages-2", t, ["--max-messages", "2"], rc=1, new=2)
    # unknown recipients are errors: the 3rd ends the session
    lst = os.path.join(WORK, "rcpts.txt")
    transcript("max-errors-unknown-recipients", HEAD +
               "C: RCPT TO:<a@example.com>\nC: RCPT TO:<user@example.com>\n"
               "C: RCPT TO:<b@example.com>\nC: RCPT TO:<c@example.com>\n"
               "C: QUIT\nS: %s\nS: %s\nS: %s\nS: %s\n"
               "S: 421 4.7.0 mx.test.example too many errors, closing "
               "connection\n" % (UNKNOWN, OK, UNKNOWN, UNKNOWN),
               ["--recipients", lst, "--max-errors", "3"], rc=1)
    reset_calls("reject")
    transcript("max-errors-after-554-greeting",
               "C: EHLO c.example\nC: NOOP\nC: QUIT\n"
               "S: 554 5.7.1 go away (connect)\nS: 503 5.7.1 *\n"
               "S: 503 5.7.1 *\nS: 421 4.7.0 *\n",
               ["--check-client", HOOK, "--max-errors", "2"], rc=1)
    # a pipe is never an early talker, and --greet-delay does not apply
    t0 = time.monotonic()
    transcript("greet-delay-not-on-pipes", "C: HELO c.example\nC: QUIT\n"
               "S: 220 *\nS: 250 mx.test.example\nS: 221 *\n",
               ["--greet-delay", "5"], rc=0)
    check("greet-delay-not-on-pipes-fast", time.monotonic() - t0 < 2,
          "%.2f s" % (time.monotonic() - t0))


def test_help():
    rc, out, _, _ = session(b"", ["--help"])
    text = out and "\n".join(out)
    missing = [o for o in ("--recipients", "--check-client",
                           "--check-sender", "--check-recipient",
                           "--check-timeout", "--greet-delay",
                           "--max-messages", "--max-errors")
               if o not in (text or "")]
    check("help-lists-policy-options", rc == 0 and not missing,
          "missing %r" % missing)


def test_client_addresses():
    """TCPREMOTEIP as smtpd takes it: canonical IPv4 (IPv4-mapped IPv6
    too) and IPv6; anything else, leading zeros included, is "unknown"
    (and so never trusted as loopback)."""
    cases = [("192.0.2.1", "192.0.2.1"), ("0.0.0.0", "0.0.0.0"),
             ("255.255.255.255", "255.255.255.255"),
             ("::ffff:10.0.0.1", "10.0.0.1"), ("2001:db8::1", "2001:db8::1"),
             ("2001:DB8:0:0::1", "2001:db8::1"), ("256.1.1.1", "unknown"),
             ("01.2.3.4", "unknown"), ("127.0.0.01", "unknown"),
             ("1.2.3", "unknown"), ("1.2.3.4.5", "unknown"),
             ("1.2.3.4x", "unknown"), (" 1.2.3.4", "unknown"),
             ("1..2.3", "unknown"), ("1234.1.1.1", "unknown")]
    q = lib.Queue()
    try:
        bad = []
        for given, want in cases:
            rc, out, err = lib.run_smtpd(b"QUIT\r\n", q,
                                         env={"TCPREMOTEIP": given})
            m = re.search(rb"ip=(\S+) event=connect", err)
            got = m.group(1).decode() if m else None
            if got != want or (want == "unknown" and b"trusted=no" not in
                               err):
                bad.append((given, want, got))
        check("client-addresses-canonical", not bad, "%r" % bad)
    finally:
        q.cleanup()


def peer_session(family, listen_addr, connect_addr):
    """smtpd on an accepted TCP socket with no launcher variables: the
    client is found by getpeername().  (ip, port) from its connect log,
    and the client's own port."""
    ls = socket.socket(family, socket.SOCK_STREAM)
    if family == socket.AF_INET6:
        ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    ls.bind((listen_addr, 0))
    ls.listen(1)
    c = socket.create_connection((connect_addr, ls.getsockname()[1]), 10)
    conn, _ = ls.accept()
    ls.close()
    mine = c.getsockname()[1]
    q = lib.Queue()
    try:
        p = subprocess.Popen([lib.SMTPD, "--queue", q.dir, "--hostname",
                              lib.HOST], stdin=conn, stdout=conn,
                             stderr=subprocess.PIPE, env=lib.base_env())
        conn.close()
        c.settimeout(10)
        c.recv(4096)
        c.sendall(b"QUIT\r\n")
        while c.recv(4096):
            pass
        err = p.communicate(timeout=10)[1]
    finally:
        c.close()
        q.cleanup()
    m = re.search(rb"ip=(\S+) event=connect port=(\d+)", err)
    if m is None:
        return None, err, mine
    return m.group(1).decode(), int(m.group(2)), mine


def test_peer_addresses():
    """Without TCPREMOTEIP/REMOTE_ADDR smtpd asks the socket: IPv4, IPv6,
    and a v4-mapped peer on a dual-stack socket written as IPv4."""
    cases = [(socket.AF_INET, "127.0.0.1", "127.0.0.1", "127.0.0.1")]
    if socket.has_ipv6:
        cases += [(socket.AF_INET6, "::1", "::1", "::1"),
                  (socket.AF_INET6, "::", "127.0.0.1", "127.0.0.1")]
    for fam, where, to, want in cases:
        try:
            ip, port, mine = peer_session(fam, where, to)
        except OSError as e:	# no IPv6 here
            print("SKIP peer-%s: %s" % (to, e))
            continue
        check("peer-address-%s-via-%s" % (to, where), ip == want and
              port == mine, "ip %r port %r (client port %d)" % (ip, port,
                                                                mine))


def socketpair_session(args=(), env=None, send=None):
    """smtpd on one end of an AF_UNIX socketpair: (rc, replies, log)."""
    q = lib.Queue()
    os.chmod(q.dir, 0o777)      # for --user nobody
    a, b = socket.socketpair()
    p = subprocess.Popen([lib.SMTPD, "--queue", q.dir, "--hostname",
                          lib.HOST] + list(args), stdin=a, stdout=a,
                         stderr=subprocess.PIPE, env=env)
    a.close()
    b.settimeout(20)
    if send is not None:
        b.recv(4096)            # the greeting first: no early talker
        b.sendall(send)
    got = lib.recv_all(b)
    b.close()
    err = p.stderr.read().decode()
    rc = p.wait(20)
    q.cleanup()
    return rc, got, err


def test_unix_peer():
    """A UNIX-domain peer (a front end's socket file) is untrusted unless
    RELAYCLIENT says otherwise; a pipe stays local and trusted."""
    relay = (b"EHLO x\r\nMAIL FROM:<a@example.org>\r\n"
             b"RCPT TO:<far@elsewhere.example>\r\n"
             b"RCPT TO:<user@ok.example>\r\nQUIT\r\n")
    rc, got, err = socketpair_session(["--domain", "ok.example"],
                                      lib.base_env(), relay)
    check("unix-peer-untrusted", b"550 5.7.1 relaying denied" in got and
          b"250 2.1.5" in got and "ip=unix event=connect trusted=no" in err,
          "%r %s" % (got, err))
    rc, got, err = socketpair_session(["--domain", "ok.example"],
                                      lib.base_env({"RELAYCLIENT": ""}),
                                      relay)
    check("unix-peer-relayclient", got.count(b"250 2.1.5") == 2 and
          "trusted=yes" in err, "%r %s" % (got, err))
    r = subprocess.run([lib.SMTPD, "--queue", WORK + "/pipe-q", "--hostname",
                        lib.HOST], input=relay, capture_output=True,
                       env=lib.base_env())
    check("pipe-still-local", r.stdout.count(b"250 2.1.5") == 2 and
          b"trusted=yes" in r.stderr, r.stdout)


def test_root():
    """As root, a session on a socket needs --user, --allow-root or
    SMTPD_ALLOW_ROOT=1: otherwise no greeting, a clear error, exit 100.
    Pipes (transcripts) are not affected."""
    if os.geteuid() != 0:
        print("SKIP root: the suite is not running as root")
        return
    env = lib.base_env()
    del env["SMTPD_ALLOW_ROOT"]
    session = b"EHLO x\r\nQUIT\r\n"
    rc, got, err = socketpair_session((), env)
    check("root-socket-refused", rc == 100 and got == b"" and
          "refusing to run a network session as root" in err and
          "--allow-root" in err, "rc %r %r %s" % (rc, got, err))
    for name, args, extra in (
            ("root-allow-root-option", ["--allow-root"], {}),
            ("root-allow-root-env", [], {"SMTPD_ALLOW_ROOT": "1"}),
            ("root-user-nobody", ["--user", "nobody"], {})):
        rc, got, err = socketpair_session(args, dict(env, **extra), session)
        check(name, rc == 0 and got.endswith(
            b"250 HELP\r\n221 2.0.0 mx.test.example closing connection\r\n"),
            "rc %r %r %s" % (rc, got, err))
    rc, got, err = socketpair_session([], dict(env, SMTPD_ALLOW_ROOT="yes"))
    check("root-allow-root-env-only-1", rc == 100 and got == b"",
          "rc %r %r" % (rc, got))
    r = subprocess.run([lib.SMTPD, "--queue", WORK + "/root-q", "--hostname",
                        lib.HOST], input=session, capture_output=True,
                       env=env)
    check("root-pipe-allowed", r.returncode == 0 and
          r.stdout.startswith(b"220 "), r.stdout + r.stderr)


def test_debug_states():
    """--debug logs every state change, from and to; without it, none."""
    q = lib.Queue()
    data = (b"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>"
            b"\r\nRSET\r\nQUIT\r\n")
    rc, out, err = lib.run_smtpd(data, q, ["--debug"])
    got = re.findall(r"event=state from=(\w+) to=(\w+)", err.decode())
    check("debug-state-trace", got == [("greet", "ready"), ("ready", "mail"),
                                       ("mail", "rcpt"), ("rcpt", "ready")],
          "%r" % got)
    rc, out, err = lib.run_smtpd(data, q)
    check("debug-off-no-trace", b"event=state" not in err, err)
    q.cleanup()


def main():
    program("verdict", VERDICT)
    program("dump", DUMPER)
    try:
        for fn in (test_lists, test_readme_recipe, test_big_lists,
                   test_list_failures, test_connect_stage,
                   test_connect_reject_extra, test_mail_stage,
                   test_rcpt_stage, test_check_order, test_environment,
                   test_program_io, test_sanitising, test_program_usage,
                   test_check_mailbox, test_greylist, test_limits,
                   test_help, test_client_addresses, test_peer_addresses,
                   test_unix_peer, test_root, test_debug_states):
            run(fn)
        if shutil.which("tcpserver") is None:
            check("tcpserver-installed", False, "tcpserver not found "
                  "(package ucspi-tcp-ipv6; tests/deps.sh installs it)")
        else:
            for fn in (tcp_lists, tcp_programs, tcp_greylist,
                       tcp_early_talkers, tcp_early_talk_during_check_client,
                       tcp_limits):
                run(fn)
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    lib.finish()


def run(fn):
    try:
        fn()
    except Exception:
        import traceback
        check(fn.__name__, False, "exception:\n" + traceback.format_exc())


main()
