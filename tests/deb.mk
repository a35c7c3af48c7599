# tests/deb.mk - the Debian package test, included by the Makefile.
#   make test-deb    build the package (dpkg-buildpackage in a copy of the
#                    tree), lintian, its file list, install it into this
#                    system, one session through the installed smtpd,
#                    remove and purge it (tests/deb/t_deb.py; as root,
#                    Debian only; ~30 s)
# Not part of make test (it installs a package system-wide); .ci/run runs
# it where dpkg-dev is present.  The tools it needs come first.

test-deb:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    { ! command -v dh >/dev/null || ! command -v lintian >/dev/null || \
	    ! command -v fakeroot >/dev/null; }; then \
	    echo "tests/deb.mk: installing debhelper lintian fakeroot"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    debhelper lintian fakeroot >/dev/null </dev/null; fi
	python3 tests/deb/t_deb.py

.PHONY: test-deb
