# tests/deb.mk - the Debian package test, included by the Makefile.
#   make test-deb    build the package (dpkg-buildpackage in a copy of the
#                    tree), lintian, its file list, install it into this
#                    system, one session through the installed smtpd,
#                    remove and purge it (tests/deb/t_deb.py; as root,
#                    Debian only; ~30 s)
#   make test-deb-boot  the same package under a real systemd as PID 1:
#                    a minimal Debian (debootstrap, cached as a tarball in
#                    /var/tmp/smtpd-deb-boot-cache) booted with
#                    systemd-nspawn; install, units, a session through
#                    smtpd.socket, remove, reinstall, an upgrade with a
#                    session open on smtpd-fast, purge
#                    (tests/deb/t_deb_boot.py; as root, Debian only; ~1 min
#                    with the cached root, ~2 min without; SKIPs without
#                    network for debootstrap or when the container does
#                    not boot)
# Not part of make test (test-deb installs a package system-wide,
# test-deb-boot boots a container); .ci/run runs both where dpkg-dev is
# present.  The tools they need come first.

test-deb:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    { ! command -v dh >/dev/null || ! command -v lintian >/dev/null || \
	    ! command -v fakeroot >/dev/null; }; then \
	    echo "tests/deb.mk: installing debhelper lintian fakeroot"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    debhelper lintian fakeroot >/dev/null </dev/null; fi
	python3 tests/deb/t_deb.py

# the tools, when missing and apt-get can get them (if it cannot, the
# test says SKIP)
test-deb-boot:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    { ! command -v dh >/dev/null || ! command -v fakeroot >/dev/null || \
	    ! command -v debootstrap >/dev/null || \
	    ! command -v systemd-nspawn >/dev/null; }; then \
	    echo "tests/deb.mk: installing debhelper fakeroot debootstrap" \
	    "systemd-container"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    debhelper fakeroot debootstrap systemd-container \
	    >/dev/null </dev/null || true; fi
	python3 tests/deb/t_deb_boot.py

.PHONY: test-deb test-deb-boot
