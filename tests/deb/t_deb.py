"""t_deb.py - the Debian package, built, checked, installed and removed.

Run by `make test-deb` (tests/deb.mk), and by .ci/run where dpkg-dev is
present; not part of make test (it installs a package into the running
system).  As root:

  build     dpkg-buildpackage -us -uc -b in a temporary copy of the tree
            (apt-get build-dep ./ first if dpkg-checkbuilddeps says so)
  lintian   no error and no warning on the .changes
  files     dpkg -c: exactly the files expected, in their places
  install   apt-get install ./smtpd_*.deb: the user smtpd, the queue
            /var/spool/smtpd (smtpd:smtpd 0750, tmp/ and new/), the
            conffiles /etc/default/smtpd and smtpd-deliver, the man
            pages
  units     no unit that listens is enabled (port 25, 587, 465), nor the
            deliverer; the queue clean timer is.  When PID 1 is not
            systemd (a container) nothing can be started anyway: then
            the test says so and looks at the .wants symlinks under
            /etc/systemd/system, which is all enabling does (make
            test-deb-boot runs the units under systemd, t_deb_boot.py)
  port 25   what listens on port 25 is the same before and after
  session   one SMTP session through /usr/sbin/smtpd as the user smtpd
            on a pipe, into /var/spool/smtpd/new; smtpd-queue list
  upgrade   dpkg -i over the installed package: the mail stays, still
            nothing enabled but the clean timer
  remove    apt-get remove: the binaries go, the mail, queue, user and
            /etc/default/smtpd stay
  purge     apt-get purge: /etc/default/smtpd goes, tmp/ leftovers go,
            the queued mail stays (and purge says so); purged with an
            empty queue, the queue goes too

It refuses to run (SKIP) where a smtpd package, /usr/sbin/smtpd or
opensmtpd is already installed.  Whatever happens midway, it purges the
package and removes the user and queue it created (finally:), so the
system is left as it was found.  Prints PASS/FAIL lines and ends with
"N passed, M failed".
"""

import glob
import os
import pwd
import grp
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import lib  # noqa: E402
from lib import check  # noqa: E402

QUEUE = "/var/spool/smtpd"
ENV = dict(os.environ, DEBIAN_FRONTEND="noninteractive", LC_ALL="C.UTF-8")

# every file the package ships (dpkg -c), directories left out
UNITS = ["smtpd.socket", "smtpd@.service", "smtpd-submission.socket",
         "smtpd-submission@.service", "smtps.socket", "smtps@.service",
         "smtpd-fast.socket", "smtpd-fast.service", "smtpd-deliver.path",
         "smtpd-deliver.service", "smtpd-queue-clean.service",
         "smtpd-queue-clean.timer", "smtpd-queue-metrics.service",
         "smtpd-queue-metrics.timer"]
EXAMPLES = ["check-mailbox", "checkpassword-crypt", "greylist",
            "relay-by-cert", "sender-login", "smtpd-milter.conf",
            "smtpd-tls.conf",
            "smtpd.default", "fail2ban/filter.d/smtpd.conf",
            "fail2ban/jail.d/smtpd.conf", "tcpserver/run",
            "tcpserver/run-smtps", "tcpserver/tcp.smtp",
            "tcpserver/tcp.smtps", "xinetd/smtpd", "xinetd/smtps"]
EXPECTED = set(["/usr/sbin/smtpd", "/usr/bin/smtpd-queue",
                "/etc/default/smtpd", "/etc/default/smtpd-deliver",
                "/usr/lib/sysusers.d/smtpd.conf",
                "/usr/lib/tmpfiles.d/smtpd.conf",
                "/usr/share/man/man8/smtpd.8.gz",
                "/usr/share/man/man5/smtpd-spool.5.gz",
                "/usr/share/man/man1/smtpd-queue.1.gz",
                "/usr/share/doc/smtpd/copyright",
                "/usr/share/doc/smtpd/changelog.gz"] +
               ["/lib/systemd/system/" + u for u in UNITS] +
               ["/usr/share/doc/smtpd/examples/" + e for e in EXAMPLES])
# enabled at install: only the hourly queue clean
ENABLED = {"smtpd-queue-clean.timer"}
NOT_ENABLED = ["smtpd.socket", "smtpd-fast.socket", "smtpd-submission.socket",
               "smtps.socket", "smtpd-deliver.path", "smtpd-deliver.service",
               "smtpd-fast.service", "smtpd-queue-metrics.timer"]


def run(cmd, **kw):
    kw.setdefault("env", ENV)
    return subprocess.run(cmd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, stdin=kw.pop("stdin",
                                                                 subprocess.DEVNULL),
                          **kw)


def out(p):
    return p.stdout.decode("utf-8", "replace")


def tail(p, n=15):
    return "\n".join(out(p).splitlines()[-n:])


def installed(pkg):
    p = run(["dpkg-query", "-W", "-f=${db:Status-Status}", pkg])
    return p.returncode == 0 and out(p).strip() not in ("", "not-installed")


def exists_user(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def exists_group(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def listeners(port):
    """The listening TCP sockets on port (address:port lines)."""
    p = run(["ss", "-Hltn", "sport = :%d" % port])
    return sorted(l.split()[3] for l in out(p).splitlines() if l.split())


def copy_tree(dest):
    """The tree's tracked and untracked-but-not-ignored files (what a
    clean checkout plus the work in progress holds), no build output."""
    p = subprocess.run(["git", "-C", lib.ROOT, "ls-files", "-z", "--cached",
                        "--others", "--exclude-standard"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    if p.returncode != 0:
        # not a git checkout (a tarball): all of it but the test output;
        # build output is harmless, debian/rules clean runs make clean
        shutil.copytree(lib.ROOT, dest, symlinks=True,
                        ignore=shutil.ignore_patterns(
                            ".git", "out", "out-*", "demo-queue",
                            "__pycache__", ".cache"))
        return
    for rel in p.stdout.decode().split("\0"):
        if not rel or not os.path.lexists(os.path.join(lib.ROOT, rel)):
            continue
        d = os.path.join(dest, os.path.dirname(rel))
        os.makedirs(d, exist_ok=True)
        shutil.copy2(os.path.join(lib.ROOT, rel), os.path.join(dest, rel),
                     follow_symlinks=False)


def build(work):
    src = os.path.join(work, "smtpd")
    copy_tree(src)
    p = run(["dpkg-checkbuilddeps"], cwd=src)
    if p.returncode != 0:
        print("INFO build-deps missing, apt-get build-dep ./: %s" %
              out(p).strip())
        q = run(["apt-get", "build-dep", "-y", "-q", "./"], cwd=src)
        if not check("build-dep", q.returncode == 0, tail(q)):
            return None
    t0 = time.time()
    p = run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src)
    ok = check("build", p.returncode == 0, tail(p, 30))
    print("INFO build took %.1f s" % (time.time() - t0))
    # the hardening flags reached the compiler
    check("build-flags", b"-fstack-protector-strong" in p.stdout and
          b"-D_FORTIFY_SOURCE=2" in p.stdout and b"-O2" in p.stdout and
          b"-Wl,-z,relro" in p.stdout and b"-Wl,-z,now" in p.stdout and
          b"-Werror=format-security -Wformat=2" in p.stdout,
          "dpkg-buildflags not in the compiler's command lines")
    debs = glob.glob(os.path.join(work, "smtpd_*.deb"))
    if not ok or len(debs) != 1:
        check("build-deb", False, "no single smtpd_*.deb: %r" % debs)
        return None
    return debs[0]


def test_lintian(work):
    changes = glob.glob(os.path.join(work, "smtpd_*.changes"))
    p = run(["lintian", "--fail-on", "none"] + changes)
    text = out(p)
    for line in text.splitlines():
        print("INFO lintian: " + line)
    bad = [l for l in text.splitlines() if l[:2] in ("E:", "W:")]
    check("lintian", changes and not bad, "\n".join(bad))


def test_files(deb):
    p = run(["dpkg-deb", "-c", deb])
    files, modes = set(), {}
    for line in out(p).splitlines():
        f = line.split()
        if f[0].startswith("d"):
            continue
        path = f[5][1:]
        files.add(path)
        modes[path] = f[0]
    check("files", files == EXPECTED, "missing %r, extra %r" %
          (sorted(EXPECTED - files), sorted(files - EXPECTED)))
    check("files-modes", modes.get("/usr/sbin/smtpd") == "-rwxr-xr-x" and
          modes.get("/usr/bin/smtpd-queue") == "-rwxr-xr-x" and
          modes.get("/etc/default/smtpd") == "-rw-r--r--", repr(modes))
    p = run(["dpkg-deb", "-f", deb, "Conflicts", "Provides", "Depends"])
    text = out(p)
    check("control-conflicts", "Conflicts: opensmtpd" in text and
          "mail-transport-agent" not in text, text)


def owner_mode(path):
    st = os.lstat(path)
    return (pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name,
            stat.S_IMODE(st.st_mode), stat.S_ISDIR(st.st_mode))


def test_installed():
    try:
        u = pwd.getpwnam("smtpd")
        check("user", u.pw_dir == QUEUE and u.pw_shell == "/usr/sbin/nologin"
              and u.pw_uid < 1000, repr(u))
    except KeyError:
        check("user", False, "no user smtpd after install")
    for d in (QUEUE, QUEUE + "/tmp", QUEUE + "/new"):
        try:
            om = owner_mode(d)
        except (OSError, KeyError) as e:
            om = repr(e)
        check("queue " + d, om == ("smtpd", "smtpd", 0o750, True), repr(om))
    p = run(["dpkg-query", "-W", "-f=${Conffiles}", "smtpd"])
    check("conffiles", "/etc/default/smtpd " in out(p) and
          "/etc/default/smtpd-deliver " in out(p), out(p))
    for page in ("smtpd", "smtpd-queue", "smtpd-spool"):
        p = run(["man", "-w", page])
        check("man " + page, p.returncode == 0 and
              out(p).startswith("/usr/share/man/"), out(p))
    p = run(["/usr/sbin/smtpd", "--version"])
    check("version", p.returncode == 0 and "tls: loaded when used" in out(p)
          and "libsystemd: loaded when used" in out(p), out(p))


def wants_links():
    """{unit: [the .wants directories that link to it]}"""
    links = {}
    for l in glob.glob("/etc/systemd/system/*.wants/*"):
        links.setdefault(os.path.basename(l), []).append(os.path.dirname(l))
    return links


def test_units():
    try:
        with open("/proc/1/comm") as f:
            pid1 = f.read().strip()
    except OSError:
        pid1 = "unknown"
    booted = os.path.isdir("/run/systemd/system")
    if not booted:
        print("INFO PID 1 is %s, not systemd: no unit can be started here;"
              " checking what is enabled (the .wants symlinks under"
              " /etc/systemd/system) and that nothing listens on :25" % pid1)
    links = wants_links()
    for u in NOT_ENABLED:
        check("not-enabled " + u, u not in links, repr(links.get(u)))
    for u in sorted(ENABLED):
        check("enabled " + u, u in links and
              "/etc/systemd/system/timers.target.wants" in links[u],
              repr(links.get(u)))
    # systemctl is-enabled reads the unit files, booted or not
    p = run(["systemctl", "is-enabled"] + NOT_ENABLED + sorted(ENABLED))
    states = out(p).split()
    n = len(NOT_ENABLED)
    # static: smtpd-fast.service has no [Install] (its socket starts it)
    check("is-enabled", len(states) == n + len(ENABLED) and
          all(s in ("disabled", "static") for s in states[:n]) and
          states[n:] == ["enabled"] * len(ENABLED),
          " ".join(states))
    if booted:
        p = run(["systemctl", "is-active", "smtpd.socket", "smtps.socket",
                 "smtpd-submission.socket", "smtpd-fast.socket"])
        check("not-active", "active\n" not in out(p).replace("inactive", ""),
              out(p))


def test_session():
    transcript = os.path.join(lib.ROOT, "examples", "hello.smtp")
    with open(transcript, "rb") as f:
        data = f.read().replace(b"\n", b"\r\n")
    before = set(os.listdir(QUEUE + "/new"))
    p = subprocess.run(["runuser", "-u", "smtpd", "--", "/usr/sbin/smtpd",
                        "--queue", QUEUE, "--hostname", "mx.deb.test"],
                       input=data, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=ENV, timeout=60)
    replies = p.stdout.decode("utf-8", "replace")
    check("session", p.returncode == 0 and "\r\n250 " in replies and
          "221 " in replies, replies + p.stderr.decode("utf-8", "replace"))
    new = sorted(set(os.listdir(QUEUE + "/new")) - before)
    ok = check("queued", len(new) == 1, repr(new))
    if ok:
        path = os.path.join(QUEUE, "new", new[0])
        with open(path, "rb") as f:
            msg = f.read()
        check("queued-message", b"Subject: hello from smtpd" in msg and
              b"\n.this line starts with a dot" in msg and
              owner_mode(path)[0] == "smtpd", msg[:400])
    p = run(["runuser", "-u", "smtpd", "--", "/usr/bin/smtpd-queue",
             "--queue", QUEUE, "list"])
    check("smtpd-queue-list", p.returncode == 0 and ok and
          new[0] in out(p) and "<alice@example.org>" in out(p), out(p))
    return new[0] if ok else None


def main():
    if os.geteuid() != 0:
        print("SKIP deb: needs root (it installs the package)")
        return
    for tool in ("dpkg-buildpackage", "dh", "lintian", "fakeroot", "apt-get",
                 "ss", "runuser"):
        if shutil.which(tool) is None:
            print("SKIP deb: %s is not installed (make test-deb installs"
                  " debhelper, lintian, fakeroot)" % tool)
            return
    for pkg in ("smtpd", "opensmtpd"):
        if installed(pkg):
            print("SKIP deb: the package %s is installed already" % pkg)
            return
    for path in ("/usr/sbin/smtpd", "/usr/bin/smtpd-queue"):
        if os.path.lexists(path):
            print("SKIP deb: %s exists (make install?): not overwriting it"
                  % path)
            return
    had_user, had_group = exists_user("smtpd"), exists_group("smtpd")
    had_queue = os.path.lexists(QUEUE)
    if had_queue:
        print("SKIP deb: %s exists already: not touching its mail" % QUEUE)
        return
    for path in ("/etc/default/smtpd", "/etc/default/smtpd-deliver"):
        if os.path.lexists(path):
            print("SKIP deb: %s exists already" % path)
            return
    port25 = listeners(25)
    if port25:
        print("INFO listening on :25 before the install: %r" % port25)
    work = tempfile.mkdtemp(prefix="smtpd-deb-", dir="/var/tmp")
    t0 = time.time()
    try:
        deb = build(work)
        if deb is None:
            return
        test_lintian(work)
        test_files(deb)
        p = run(["apt-get", "install", "-y", "-q", "--no-install-recommends",
                 deb])
        if not check("install", p.returncode == 0 and installed("smtpd"),
                     tail(p)):
            return
        test_installed()
        test_units()
        check("port-25", listeners(25) == port25, "before %r, after %r" %
              (port25, listeners(25)))
        msg = test_session()

        # installed again over itself (postinst configure with the old
        # version: the upgrade path): the mail stays, nothing is enabled
        p = run(["dpkg", "-i", deb])
        links = wants_links()
        check("upgrade", p.returncode == 0 and msg is not None and
              os.path.isfile(os.path.join(QUEUE, "new", msg)) and
              not any(u in links for u in NOT_ENABLED) and
              "smtpd-queue-clean.timer" in links, tail(p))

        p = run(["apt-get", "remove", "-y", "-q", "smtpd"])
        check("remove", p.returncode == 0 and
              not os.path.exists("/usr/sbin/smtpd") and
              not os.path.exists("/usr/bin/smtpd-queue"), tail(p))
        check("remove-keeps", exists_user("smtpd") and
              os.path.isfile("/etc/default/smtpd") and msg is not None and
              os.path.isfile(os.path.join(QUEUE, "new", msg)),
              "user, /etc/default/smtpd or the message gone")
        # a killed session's leftover in tmp/: no mail, purge removes it
        stale = os.path.join(QUEUE, "tmp", "stale.1")
        with open(stale, "w") as f:
            f.write("partial\n")
        p = run(["apt-get", "purge", "-y", "-q", "smtpd"])
        check("purge", p.returncode == 0 and not installed("smtpd") and
              not os.path.exists("/etc/default/smtpd") and
              not os.path.exists("/etc/default/smtpd-deliver") and
              not os.path.exists(stale), tail(p))
        check("purge-keeps-mail", msg is not None and
              os.path.isfile(os.path.join(QUEUE, "new", msg)) and
              "holds 1 file(s) of mail; left in place" in out(p), out(p))
        check("purge-units", not any(u in wants_links()
                                     for u in UNITS), repr(wants_links()))

        # again, with the queue emptied: purge removes the queue
        shutil.rmtree(QUEUE)
        p = run(["dpkg", "-i", deb])
        check("reinstall", p.returncode == 0 and os.path.isdir(QUEUE + "/new"),
              tail(p))
        p = run(["dpkg", "--purge", "smtpd"])
        check("purge-empty-queue", p.returncode == 0 and
              not os.path.lexists(QUEUE), tail(p))
    except Exception:
        check("exception", False, traceback.format_exc())
    finally:
        if installed("smtpd") or run(["dpkg-query", "-W", "smtpd"]).returncode == 0:
            run(["dpkg", "--purge", "smtpd"])
        if not had_queue:
            shutil.rmtree(QUEUE, ignore_errors=True)
        if not had_user and exists_user("smtpd"):
            run(["userdel", "smtpd"])
        if not had_group and exists_group("smtpd"):
            run(["groupdel", "smtpd"])
        shutil.rmtree(work, ignore_errors=True)
        check("left-as-found", not installed("smtpd") and
              exists_user("smtpd") == had_user and
              exists_group("smtpd") == had_group and
              os.path.lexists(QUEUE) == had_queue and
              listeners(25) == port25 and
              not os.path.lexists("/etc/default/smtpd") and
              not os.path.lexists("/etc/default/smtpd-deliver"), "")
        print("INFO deb test took %.1f s" % (time.time() - t0))
        p, f = lib._results["pass"], lib._results["fail"]
        print("%d passed, %d failed" % (p, f))


if __name__ == "__main__":
    main()
    lib.finish()
