"""t_deb_boot.py - the Debian package under a real systemd as PID 1.

t_deb.py installs the package into the running system, where PID 1 may
not be systemd (a container, a VM's own init): there no unit can start.
This test boots a minimal Debian (the host's release, debootstrap) with
systemd-nspawn -b, its own network namespace (--private-network), and
runs the package's life in it through systemctl.  Run by `make
test-deb-boot` (tests/deb.mk), as root; not part of make test.

  root      debootstrap --variant=minbase with systemd, dbus and iproute2,
            from the mirror apt uses here; kept as a tarball in
            $SMTPD_DEB_BOOT_CACHE (default /var/tmp/smtpd-deb-boot-cache)
            and unpacked afresh for every run
  build     dpkg-buildpackage as t_deb.py does; a second .deb with the
            version bumped (same files) for the upgrade
  boot      systemd-nspawn -b --register=no --keep-unit --private-network
            (no machined, no systemd on the host is needed); commands run
            inside through nsenter on the container's PID 1; SMTP
            clients are this Python, in the container's network
            namespace only
  install   apt-get install ./smtpd_*.deb: the user smtpd (sysusers.d),
            /var/spool/smtpd (tmpfiles.d); only smtpd-queue-clean.timer
            enabled and active, nothing listening
  clean     the timer is scheduled; starting smtpd-queue-clean.service
            succeeds and removes a 3-day-old tmp/ file, keeps a fresh one
  units     systemd-analyze verify on every unit; systemd-analyze
            security: the session units at most 1.0 (the scores printed)
  socket    systemctl enable --now smtpd.socket: :25 listens; one SMTP
            session through smtpd@.service into /var/spool/smtpd/new
  remove    apt-get remove with the socket enabled and running: prerm
            stops it, nothing listens, the mail, user and conffile stay
  reinstall the socket the administrator enabled listens again
  upgrade   smtpd-fast.socket instead, one session held open; dpkg -i
            of the bumped version: the socket never closes, postinst's
            try-restart of smtpd-fast.service waits for the session
            (which gets its 250), a connection made meanwhile waits in
            the socket's queue and is served by the new supervisor;
            the time dpkg took is printed.  Again with TimeoutStopSec=
            lowered to 4 s (a drop-in) and a session that stays longer:
            the restart kills it after 4 s (no 250 was given) and the
            new supervisor takes the next session
  deliver   smtpd-deliver.path enabled with a command set in
            /etc/default/smtpd-deliver: the queue is delivered through
            it; dpkg -i restarts the running deliverer and keeps the
            edited conffile
  purge     apt-get purge: everything stopped, the .wants links and
            /etc/default files gone, the queued mail and the user kept

SKIPs (a SKIP line, exit 0) when not root, when the host is not Debian,
when debootstrap or systemd-nspawn is missing (make test-deb-boot
installs them), when debootstrap fails (no network) or the container
does not boot.  Prints PASS/FAIL lines and "N passed, M failed".
"""

import glob
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
import lib  # noqa: E402
from lib import check  # noqa: E402
import t_deb  # noqa: E402

CACHE = os.environ.get("SMTPD_DEB_BOOT_CACHE",
                       "/var/tmp/smtpd-deb-boot-cache")
INCLUDE = "systemd,systemd-sysv,dbus,iproute2"
QUEUE = "/var/spool/smtpd"
# the environment of every command run inside the container
INSIDE_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8",
              "DEBIAN_FRONTEND": "noninteractive", "TERM": "dumb",
              "SYSTEMD_PAGER": "", "HOME": "/root"}
LISTENING = ["smtpd.socket", "smtpd-fast.socket", "smtpd-submission.socket",
             "smtps.socket"]
# the units that have an [Install] section; only the clean timer is
# enabled by the package
INSTALLABLE = LISTENING + ["smtpd-deliver.path", "smtpd-deliver.service",
                           "smtpd-queue-metrics.timer",
                           "smtpd-queue-clean.timer"]
SESSION_UNITS = ["smtpd@.service", "smtpd-fast.service",
                 "smtpd-submission@.service", "smtps@.service"]
OTHER_UNITS = ["smtpd-queue-clean.service", "smtpd-deliver.service",
               "smtpd-queue-metrics.service"]
HOLD = 8          # seconds the held session stays open across the upgrade
STOP_TIMEOUT = 4  # smtpd-fast's TimeoutStopSec= for a session that stays
UP_VERSION_SUFFIX = "+boot1"


def skip(why):
    print("SKIP deb-boot: " + why)
    sys.stdout.flush()


def host_release():
    """(ID, VERSION_CODENAME) of the host, from /etc/os-release."""
    info = {}
    try:
        with open("/etc/os-release") as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                info[k] = v.strip('"')
    except OSError:
        pass
    return info.get("ID", ""), info.get("VERSION_CODENAME", "")


def apt_mirror(suite):
    """The URI apt uses here for SUITE (deb822 .sources or one-line
    sources.list); deb.debian.org if none is found."""
    override = os.environ.get("SMTPD_DEB_BOOT_MIRROR")
    if override:
        return override
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        with open(path) as f:
            for para in f.read().split("\n\n"):
                fields = {}
                for line in para.splitlines():
                    if ":" in line and not line.startswith(("#", " ")):
                        k, _, v = line.partition(":")
                        fields[k.strip().lower()] = v.split()
                if ("deb" in fields.get("types", []) and
                        suite in fields.get("suites", []) and
                        fields.get("uris")):
                    return fields["uris"][0]
    for path in ["/etc/apt/sources.list"] + sorted(
            glob.glob("/etc/apt/sources.list.d/*.list")):
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        for line in lines:
            w = [x for x in line.split() if not x.startswith("[")]
            if len(w) >= 3 and w[0] == "deb" and w[2] == suite:
                return w[1]
    return "http://deb.debian.org/debian"


def cached_root(suite):
    """The path of the root tarball, made with debootstrap if missing;
    None (after a SKIP line) when it cannot be made."""
    arch = t_deb.out(t_deb.run(["dpkg", "--print-architecture"])).strip()
    key = hashlib.sha1(("%s %s %s" % (suite, arch, INCLUDE)).encode())
    tarball = os.path.join(CACHE, "%s-%s-%s.tar" % (suite, arch,
                                                    key.hexdigest()[:10]))
    if os.path.isfile(tarball):
        print("INFO root: %s (cached)" % tarball)
        return tarball
    os.makedirs(CACHE, exist_ok=True)
    mirror = apt_mirror(suite)
    tmp = tempfile.mkdtemp(prefix="root-", dir=CACHE)
    # the root directory's mode goes into the tarball: mkdtemp's 0700
    # kept every user but root (messagebus: dbus never started) out
    os.chmod(tmp, 0o755)
    try:
        t0 = time.time()
        p = t_deb.run(["debootstrap", "--variant=minbase",
                       "--include=" + INCLUDE, suite, tmp, mirror],
                      timeout=1200)
        if p.returncode != 0:
            skip("debootstrap %s from %s failed (no network?): %s" %
                 (suite, mirror, t_deb.tail(p, 5)))
            return None
        print("INFO debootstrap %s from %s took %.0f s" %
              (suite, mirror, time.time() - t0))
        # no downloaded .debs in the cache: 200 MB instead of 250
        for f in glob.glob(os.path.join(tmp, "var/cache/apt/archives/*.deb")):
            os.unlink(f)
        p = t_deb.run(["tar", "-C", tmp, "-cf", tarball + ".part", "."])
        if p.returncode != 0:
            skip("tar of the root failed: " + t_deb.tail(p, 5))
            return None
        os.rename(tarball + ".part", tarball)
        return tarball
    except subprocess.TimeoutExpired:
        skip("debootstrap took more than 20 minutes")
        return None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if os.path.exists(tarball + ".part"):
            os.unlink(tarball + ".part")


def bumped_deb(deb, work):
    """The same package with a higher version: dpkg-deb -R, the Version:
    field changed, dpkg-deb -b.  (version, path)"""
    tree = os.path.join(work, "bumped")
    p = t_deb.run(["dpkg-deb", "-R", deb, tree])
    if p.returncode != 0:
        return None, t_deb.out(p)
    control = os.path.join(tree, "DEBIAN", "control")
    with open(control) as f:
        lines = f.read().splitlines()
    version = None
    for i, line in enumerate(lines):
        if line.startswith("Version: "):
            version = line[len("Version: "):] + UP_VERSION_SUFFIX
            lines[i] = "Version: " + version
    with open(control, "w") as f:
        f.write("\n".join(lines) + "\n")
    path = os.path.join(work, "smtpd-up.deb")
    p = t_deb.run(["dpkg-deb", "-b", tree, path])
    shutil.rmtree(tree, ignore_errors=True)
    return (version, path) if p.returncode == 0 else (None, t_deb.out(p))


class Container:
    """A booted systemd-nspawn container of ROOT."""

    def __init__(self, root, log):
        self.root = root
        self.name = "smtpd-deb-boot-%d" % os.getpid()
        self.logf = open(log, "wb")
        self.log = log
        self.proc = None
        self.pid1 = None

    def boot(self, timeout=120):
        """Start it and wait for systemd to finish booting; the state
        ("running", "degraded", ...) or None."""
        self.proc = subprocess.Popen(
            ["systemd-nspawn", "--boot", "--directory", self.root,
             "--machine", self.name, "--register=no", "--keep-unit",
             "--private-network"],
            stdin=subprocess.DEVNULL, stdout=self.logf,
            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline and self.proc.poll() is None:
            self.pid1 = self.find_pid1()
            if self.pid1:
                break
            time.sleep(0.2)
        if not self.pid1:
            return None
        # asked too early, systemctl finds no bus yet ("Failed to
        # connect to bus"): ask again until the boot has ended
        state = None
        while time.time() < deadline and self.proc.poll() is None:
            state = self.text(["systemctl", "is-system-running"], timeout=10)
            if state in ("running", "degraded", "maintenance", "stopping",
                         "offline"):
                return state
            time.sleep(0.2)
        return state if self.proc.poll() is None else None

    def find_pid1(self):
        """The container's PID 1: nspawn's child running systemd."""
        for d in glob.glob("/proc/[0-9]*"):
            try:
                with open(d + "/stat") as f:
                    st = f.read()
            except OSError:
                continue
            fields = st[st.rfind(")") + 2:].split()
            if int(fields[1]) == self.proc.pid and "(systemd)" in st:
                return int(os.path.basename(d))
        return None

    def run(self, cmd, timeout=120, ns="-a"):
        """CMD inside (all the container's namespaces); never raises on
        a timeout: the result then has returncode None."""
        full = ["nsenter", "-t", str(self.pid1), ns, "--"] + cmd
        try:
            return subprocess.run(full, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, env=INSIDE_ENV,
                                  timeout=timeout)
        except subprocess.TimeoutExpired as e:
            return subprocess.CompletedProcess(full, None, e.stdout or b"")

    def sh(self, script, timeout=120):
        return self.run(["sh", "-c", script], timeout=timeout)

    def text(self, cmd, timeout=120):
        return t_deb.out(self.run(cmd, timeout=timeout)).strip()

    def client(self, code, wait=True):
        """This Python running CODE in the container's network namespace
        (its loopback, its port 25)."""
        cmd = ["nsenter", "-t", str(self.pid1), "-n", "--",
               sys.executable, "-c", code]
        if not wait:
            return subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
        return subprocess.run(cmd, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, timeout=120)

    def stop(self):
        """Power it off (SIGTERM to nspawn), killed if that hangs."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.logf.close()
        # what nspawn leaves behind on a host without systemd
        for d in ("/run/systemd/nspawn/propagate/" + self.name,):
            try:
                os.rmdir(d)
            except OSError:
                pass

    def log_tail(self, n=20):
        self.logf.flush()
        with open(self.log, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-n:])


SEND = r'''
import select, smtplib, sys, time
t0 = time.time()
try:
    s = smtplib.SMTP("127.0.0.1", 25, timeout=%(timeout)d)
    code = s.ehlo("client.boot.test")[0]
    print("ehlo %%d %%.1f" %% (code, time.time() - t0), flush=True)
    # idle for the hold time, or until the server closes (EOF)
    select.select([s.sock], [], [], %(hold)f)
    r = s.sendmail("alice@example.org", ["postmaster@localhost"],
                   b"Subject: %(subject)s\r\n\r\nthrough the container\r\n")
    print("sent %%r %%.1f" %% (r, time.time() - t0), flush=True)
    s.quit()
except Exception as e:
    print("error %%r %%.1f" %% (e, time.time() - t0), flush=True)
'''


def send_code(subject, hold=0.0, timeout=60):
    return SEND % {"subject": subject, "hold": hold, "timeout": timeout}


def listeners(c):
    """Listening TCP sockets in the container (local address:port)."""
    return sorted(line.split()[3] for line in
                  c.text(["ss", "-Hltn"]).splitlines() if line.split())


def port25(c):
    return [a for a in listeners(c) if a.endswith(":25")]


def unit_prop(c, unit, prop):
    return c.text(["systemctl", "show", "-P", prop, unit])


def queue_files(c, sub="new"):
    p = c.run(["ls", "-1", QUEUE + "/" + sub])
    return set(t_deb.out(p).split()) if p.returncode == 0 else set()


def queued_with(c, subject, before):
    """The files new in new/ since BEFORE that carry SUBJECT, owned by
    smtpd."""
    found = []
    for name in sorted(queue_files(c) - before):
        p = c.run(["stat", "-c", "%U", QUEUE + "/new/" + name])
        body = c.run(["cat", QUEUE + "/new/" + name])
        if (("Subject: " + subject).encode() in body.stdout and
                t_deb.out(p).strip() == "smtpd"):
            found.append(name)
    return found


def failed_units(c):
    return c.text(["systemctl", "--failed", "--plain", "--no-legend"])


def test_install(c, deb):
    p = c.run(["apt-get", "install", "-y", "-q", "--no-install-recommends",
               "/root/" + os.path.basename(deb)], timeout=300)
    if not check("install", p.returncode == 0, t_deb.tail(p)):
        return False
    user = c.text(["getent", "passwd", "smtpd"]).split(":")
    check("sysusers-user", len(user) == 7 and user[5] == QUEUE and
          user[6] == "/usr/sbin/nologin" and int(user[2]) < 1000,
          repr(user))
    st = c.text(["stat", "-c", "%U %G %a %F", QUEUE, QUEUE + "/tmp",
                 QUEUE + "/new"]).splitlines()
    check("tmpfiles-queue", st == ["smtpd smtpd 750 directory"] * 3, repr(st))
    states = c.text(["systemctl", "is-enabled"] + INSTALLABLE).split()
    want = ["disabled"] * (len(INSTALLABLE) - 1) + ["enabled"]
    check("enabled-after-install", states == want,
          " ".join("%s=%s" % x for x in zip(INSTALLABLE, states)))
    active = c.text(["systemctl", "list-units", "--all", "--plain",
                     "--no-legend", "--state=active", "smtpd*", "smtps*"])
    names = sorted(line.split()[0] for line in active.splitlines()
                   if line.split())
    check("active-after-install", names == ["smtpd-queue-clean.timer"],
          repr(names))
    check("nothing-listens", listeners(c) == [], repr(listeners(c)))
    return True


def test_clean(c):
    check("clean-timer", c.text(["systemctl", "is-active",
                                 "smtpd-queue-clean.timer"]) == "active" and
          unit_prop(c, "smtpd-queue-clean.timer",
                    "NextElapseUSecRealtime") not in ("", "0"),
          unit_prop(c, "smtpd-queue-clean.timer", "NextElapseUSecRealtime"))
    c.sh("cd %s/tmp && echo partial > stale.1 && echo partial > fresh.1 &&"
         " chown smtpd:smtpd stale.1 fresh.1 &&"
         " touch -d '3 days ago' stale.1" % QUEUE)
    p = c.run(["systemctl", "start", "smtpd-queue-clean.service"])
    left = queue_files(c, "tmp")
    result = unit_prop(c, "smtpd-queue-clean.service", "Result")
    log = c.text(["journalctl", "-q", "-o", "cat", "-u",
                  "smtpd-queue-clean.service"])
    check("clean-service", p.returncode == 0 and result == "success" and
          left == {"fresh.1"} and "event=removed dir=tmp id=stale.1" in log,
          "rc %r Result=%s tmp/ %r\n%s" % (p.returncode, result, left, log))
    c.run(["rm", "-f", QUEUE + "/tmp/fresh.1"])


def test_units(c):
    p = c.sh("cd /lib/systemd/system && systemd-analyze verify --man=no"
             " smtpd* smtps*")
    check("verify-units", p.returncode == 0 and not t_deb.out(p).strip(),
          t_deb.out(p))
    for u in SESSION_UNITS + OTHER_UNITS:
        p = c.run(["systemd-analyze", "security", "--no-pager", u])
        last = t_deb.out(p).strip().splitlines()[-1:] or [""]
        print("INFO security %s: %s" % (u, last[0].split(":", 1)[-1].strip()))
        if u in SESSION_UNITS:
            try:
                score = float(last[0].split(":")[1].split()[0])
            except (IndexError, ValueError):
                score = 99.0
            check("security " + u, p.returncode == 0 and score <= 1.0,
                  t_deb.tail(p, 5))


def test_socket(c):
    p = c.run(["systemctl", "enable", "--now", "smtpd.socket"])
    check("socket-enable", p.returncode == 0 and port25(c) != [],
          t_deb.out(p) + repr(listeners(c)))
    before = queue_files(c)
    p = c.client(send_code("boot test one"))
    sent = t_deb.out(p)
    check("session", "ehlo 250" in sent and "sent {}" in sent, sent)
    msgs = queued_with(c, "boot test one", before)
    log = c.text(["journalctl", "-q", "-o", "cat", "-u", "smtpd@*"])
    check("session-queued", len(msgs) == 1 and
          ("event=queued queue_id=" + msgs[0]) in log,
          "%r\n%s" % (msgs, log[-800:]))
    return msgs[0] if msgs else None


def test_remove(c, msg):
    p = c.run(["apt-get", "remove", "-y", "-q", "smtpd"], timeout=300)
    check("remove", p.returncode == 0 and
          c.run(["test", "-e", "/usr/sbin/smtpd"]).returncode != 0,
          t_deb.tail(p))
    state = c.text(["systemctl", "is-active", "smtpd.socket"])
    p = c.client(send_code("after remove", timeout=5))
    check("remove-stops-socket", state == "inactive" and port25(c) == [] and
          "ConnectionRefusedError" in t_deb.out(p),
          "smtpd.socket %s, listening %r, client %s" %
          (state, listeners(c), t_deb.out(p)))
    check("remove-keeps", msg is not None and msg in queue_files(c) and
          c.run(["getent", "passwd", "smtpd"]).returncode == 0 and
          c.run(["test", "-f", "/etc/default/smtpd"]).returncode == 0,
          "mail, user or /etc/default/smtpd gone")


def test_reinstall(c, deb):
    p = c.run(["apt-get", "install", "-y", "-q", "--no-install-recommends",
               "/root/" + os.path.basename(deb)], timeout=300)
    state = (c.text(["systemctl", "is-enabled", "smtpd.socket"]),
             c.text(["systemctl", "is-active", "smtpd.socket"]))
    check("reinstall-restarts-enabled", p.returncode == 0 and
          state == ("enabled", "active") and port25(c) != [],
          "%r %r\n%s" % (state, listeners(c), t_deb.tail(p)))


def test_upgrade(c, up_deb, up_version):
    c.run(["systemctl", "disable", "--now", "smtpd.socket"])
    p = c.run(["systemctl", "enable", "--now", "smtpd-fast.socket"])
    check("fast-socket", p.returncode == 0 and port25(c) != [],
          t_deb.out(p) + repr(listeners(c)))
    sock_since = unit_prop(c, "smtpd-fast.socket",
                           "ActiveEnterTimestampMonotonic")
    before = queue_files(c)
    held = c.client(send_code("held across the upgrade", hold=HOLD),
                    wait=False)
    first = held.stdout.readline().decode()
    old_pid = unit_prop(c, "smtpd-fast.service", "MainPID")
    if not check("held-session", first.startswith("ehlo 250") and
                 old_pid not in ("", "0"), first + " MainPID " + old_pid):
        held.kill()
        held.wait()
        return
    t0 = time.time()
    dpkg = subprocess.Popen(
        ["nsenter", "-t", str(c.pid1), "-a", "--", "dpkg", "-i",
         "/root/" + os.path.basename(up_deb)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, env=INSIDE_ENV)
    # a connection once the old supervisor stops accepting and drains:
    # it waits in the socket's queue until the new one runs
    stopping = False
    while time.time() < t0 + 60 and dpkg.poll() is None and not stopping:
        stopping = "event=stopping sessions=1" in c.text(
            ["journalctl", "-q", "-o", "cat", "-u", "smtpd-fast.service"])
        time.sleep(0.2)
    t_late = time.time()
    late = c.client(send_code("during the upgrade", timeout=120), wait=False)
    try:
        dout, _ = dpkg.communicate(timeout=400)
    except subprocess.TimeoutExpired:
        dpkg.kill()
        dout, _ = dpkg.communicate()
    took = time.time() - t0
    hout = held.communicate(timeout=120)[0].decode()
    lout = late.communicate(timeout=150)[0].decode()
    print("INFO dpkg -i (upgrade) took %.1f s with one session open %d s"
          " (postinst: try-restart smtpd-fast.service)" % (took, HOLD))
    version = c.text(["dpkg-query", "-W", "-f=${Version}", "smtpd"])
    check("upgrade", dpkg.returncode == 0 and version == up_version,
          "rc %r version %s\n%s" % (dpkg.returncode, version,
                                    dout.decode("utf-8", "replace")[-1500:]))
    # the restart waited for the open session, which ended normally
    check("upgrade-waits-for-session", took >= HOLD - 2 and took < HOLD + 60
          and "sent {}" in hout, "dpkg took %.1f s; held session: %s" %
          (took, hout))
    new_pid = unit_prop(c, "smtpd-fast.service", "MainPID")
    check("upgrade-restarted", c.text(["systemctl", "is-active",
                                       "smtpd-fast.service"]) == "active"
          and new_pid not in ("", "0", old_pid),
          "MainPID %s -> %s" % (old_pid, new_pid))
    check("upgrade-socket-kept", unit_prop(
        c, "smtpd-fast.socket", "ActiveEnterTimestampMonotonic") == sock_since
          and port25(c) != [], "smtpd-fast.socket was restarted or closed")
    # it was answered only once the held session ended (HOLD seconds
    # after t0, less the time the held client took to get here)
    try:
        late_wait = float(lout.split()[2]) if lout.startswith("ehlo") \
            else -1.0
    except (IndexError, ValueError):
        late_wait = -1.0
    wanted = HOLD - (t_late - t0) - 1.5
    print("INFO connection made during the restart: greeted after %.1f s"
          % late_wait)
    check("upgrade-queued-connection", stopping and "ehlo 250" in lout and
          "sent {}" in lout and late_wait >= wanted,
          "stopping seen %r, greeted after %.1f s (wanted >= %.1f): %s" %
          (stopping, late_wait, wanted, lout))
    got = queued_with(c, "held across the upgrade", before) + \
        queued_with(c, "during the upgrade", before)
    check("upgrade-mail", len(got) == 2, repr(got))
    log = c.text(["journalctl", "-q", "-o", "cat", "-u",
                  "smtpd-fast.service"])
    check("upgrade-log", "event=stopping sessions=1" in log, log[-800:])


def test_upgrade_timeout(c, up_deb):
    """A session that outlives TimeoutStopSec= (lowered by a drop-in):
    the restart kills it after that long, its sender saw no 250 (it will
    retry), and the new supervisor takes the next connection."""
    c.sh("mkdir -p /etc/systemd/system/smtpd-fast.service.d && printf"
         " '[Service]\\nTimeoutStopSec=%d\\n' >"
         " /etc/systemd/system/smtpd-fast.service.d/stop.conf &&"
         " systemctl daemon-reload" % STOP_TIMEOUT)
    before = queue_files(c)
    held = c.client(send_code("killed by the restart", hold=120,
                              timeout=150), wait=False)
    first = held.stdout.readline().decode()
    t0 = time.time()
    p = c.run(["dpkg", "-i", "/root/" + os.path.basename(up_deb)],
              timeout=400)
    took = time.time() - t0
    print("INFO dpkg -i (again) took %.1f s with a session outliving"
          " TimeoutStopSec=%d" % (took, STOP_TIMEOUT))
    try:
        hout = held.communicate(timeout=30)[0].decode()
    except subprocess.TimeoutExpired:
        held.kill()
        hout = held.communicate()[0].decode()
    check("upgrade-timeout-kills", p.returncode == 0 and
          first.startswith("ehlo 250") and
          STOP_TIMEOUT - 1 <= took < STOP_TIMEOUT + 30 and
          hout.startswith("error") and
          not queued_with(c, "killed by the restart", before),
          "dpkg rc %r took %.1f s; held session: %s %s" %
          (p.returncode, took, first, hout))
    after = c.client(send_code("after the killed session"))
    check("upgrade-timeout-restarted", c.text(
        ["systemctl", "is-active", "smtpd-fast.service"]) == "active" and
          "sent {}" in t_deb.out(after), t_deb.out(after))
    c.sh("rm -r /etc/systemd/system/smtpd-fast.service.d &&"
         " systemctl daemon-reload")


DELIVER_SCRIPT = """#!/bin/sh
# the test's delivery command: the message into /srv/delivered, as smtpd
exec cat > "/srv/delivered/$(date +%s.%N).$$"
"""


def test_deliver(c, up_deb):
    """smtpd-deliver.path with a command set in /etc/default/smtpd-
    deliver: every queued message goes through it and leaves new/; an
    upgrade restarts the running deliverer (try-restart).  Disabled
    again after, and one more message stays queued for purge."""
    queued = queue_files(c)
    with open(os.path.join(c.root, "usr/local/bin/deliver-test"), "w") as f:
        f.write(DELIVER_SCRIPT)
    os.chmod(os.path.join(c.root, "usr/local/bin/deliver-test"), 0o755)
    c.sh("mkdir -p /srv/delivered && chown smtpd:smtpd /srv/delivered &&"
         " echo SMTPD_DELIVER_COMMAND=/usr/local/bin/deliver-test >>"
         " /etc/default/smtpd-deliver")
    p = c.run(["systemctl", "enable", "--now", "smtpd-deliver.path"])
    deadline = time.time() + 30
    while time.time() < deadline and queue_files(c):
        time.sleep(0.3)
    delivered = c.text(["sh", "-c", "cat /srv/delivered/*"])
    subjects = [line for line in delivered.splitlines()
                if line.startswith("Subject: ")]
    check("deliver", p.returncode == 0 and queued and not queue_files(c) and
          len(subjects) == len(queued),
          "queued %r, left %r, delivered %r\n%s" %
          (sorted(queued), sorted(queue_files(c)), subjects,
           c.text(["journalctl", "-q", "-o", "cat", "-u",
                   "smtpd-deliver.service"])[-800:]))
    old_pid = unit_prop(c, "smtpd-deliver.service", "MainPID")
    p = c.run(["dpkg", "-i", "/root/" + os.path.basename(up_deb)],
              timeout=400)
    new_pid = unit_prop(c, "smtpd-deliver.service", "MainPID")
    conf = c.text(["grep", "-c", "deliver-test",
                   "/etc/default/smtpd-deliver"])
    check("deliver-upgrade-restarts", p.returncode == 0 and
          old_pid not in ("", "0") and new_pid not in ("", "0", old_pid) and
          conf == "1", "MainPID %s -> %s, conffile kept %s\n%s" %
          (old_pid, new_pid, conf, t_deb.tail(p)))
    c.run(["systemctl", "disable", "--now", "smtpd-deliver.path",
           "smtpd-deliver.service"])
    before = queue_files(c)
    c.client(send_code("left for purge"))
    left = queued_with(c, "left for purge", before)
    return left[0] if left else None


def test_purge(c, msg):
    p = c.run(["apt-get", "purge", "-y", "-q", "smtpd"], timeout=300)
    text = t_deb.out(p)
    check("purge", p.returncode == 0 and
          c.run(["dpkg-query", "-W", "smtpd"]).returncode != 0 and
          c.run(["sh", "-c", "ls /etc/default/smtpd*"]).returncode != 0,
          t_deb.tail(p))
    states = c.text(["systemctl", "is-active", "smtpd-fast.socket",
                     "smtpd-fast.service", "smtpd-queue-clean.timer"]).split()
    check("purge-stops", states == ["inactive"] * 3 and listeners(c) == [],
          "%r %r" % (states, listeners(c)))
    links = c.text(["sh", "-c", "ls /etc/systemd/system/*.wants/"
                    " | grep -E '^smtp' || true"])
    check("purge-links", links == "", links)
    check("purge-keeps-mail", msg is not None and msg in queue_files(c) and
          "file(s) of mail; left in place" in text and
          c.run(["getent", "passwd", "smtpd"]).returncode == 0, text[-600:])


def main():
    if os.geteuid() != 0:
        skip("needs root (debootstrap, systemd-nspawn)")
        return
    distro, suite = host_release()
    if distro != "debian" or not suite:
        skip("the host is not Debian (%r %r): the container runs the"
             " host's release, for the .deb built here" % (distro, suite))
        return
    for tool in ("debootstrap", "systemd-nspawn", "nsenter",
                 "dpkg-buildpackage", "dh", "fakeroot", "tar"):
        if shutil.which(tool) is None:
            skip("%s is not installed (make test-deb-boot installs"
                 " debootstrap, systemd-container, debhelper, fakeroot)"
                 % tool)
            return
    t0 = time.time()
    tarball = cached_root(suite)
    if tarball is None:
        return
    work = tempfile.mkdtemp(prefix="smtpd-deb-boot-", dir="/var/tmp")
    c = None
    try:
        root = os.path.join(work, "root")
        os.mkdir(root, 0o755)
        p = t_deb.run(["tar", "-C", root, "-xf", tarball])
        os.chmod(root, 0o755)
        if p.returncode != 0:
            skip("cannot unpack %s: %s" % (tarball, t_deb.tail(p, 5)))
            return
        print("INFO root ready after %.0f s" % (time.time() - t0))
        deb = t_deb.build(work)
        if deb is None:
            return
        up_version, up_deb = bumped_deb(deb, work)
        if not check("bumped-deb", up_version is not None, up_deb):
            return
        for d in (deb, up_deb):
            shutil.copy(d, os.path.join(root, "root"))
        c = Container(root, os.path.join(work, "boot.log"))
        t1 = time.time()
        state = c.boot()
        if state is None:
            skip("the container did not boot: systemd-nspawn -b: %s" %
                 c.log_tail())
            return
        print("INFO booted in %.1f s: %s" % (time.time() - t1, state))
        check("boot", state == "running", "%s: %s" % (state, failed_units(c)))
        if not test_install(c, deb):
            return
        test_clean(c)
        test_units(c)
        msg = test_socket(c)
        test_remove(c, msg)
        test_reinstall(c, deb)
        test_upgrade(c, up_deb, up_version)
        test_upgrade_timeout(c, up_deb)
        msg = test_deliver(c, up_deb)
        test_purge(c, msg)
        check("no-failed-units", failed_units(c) == "", failed_units(c))
    except Exception:
        check("exception", False, traceback.format_exc())
    finally:
        if c is not None:
            c.stop()
        shutil.rmtree(work, ignore_errors=True)
        print("INFO deb-boot test took %.1f s" % (time.time() - t0))
        print("%d passed, %d failed" % (lib._results["pass"],
                                        lib._results["fail"]))


if __name__ == "__main__":
    main()
    lib.finish()
