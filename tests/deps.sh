#!/bin/sh
# tests/deps.sh - install what the tests need, only when it is missing.
# Debian packages through apt-get (as root); prints what it installs.
set -u
need=""
have() { command -v "$1" >/dev/null 2>&1; }
have python3 || need="$need python3"
have tcpserver || need="$need ucspi-tcp-ipv6"
have swaks || need="$need swaks"
have strace || need="$need strace"
have setpriv || need="$need util-linux"
# tests/t_queue.py: the delivery agents smtpd-queue hands mail to
have procmail || need="$need procmail"
have msmtp || need="$need msmtp"
# tests/t_policy.py: recipient lists as cdb (cdb -c -m), examples/greylist
have cdb || need="$need tinycdb"
have flock || need="$need util-linux"
# tests/t_launch.py: the real launchers, unit checks, man pages
have xinetd || need="$need xinetd"
have systemd-socket-activate || need="$need systemd"
# make valgrind-test, make fuzz (libFuzzer comes with clang)
have valgrind || need="$need valgrind"
have clang || need="$need clang"
have systemd-analyze || need="$need systemd"
have unshare || need="$need util-linux"
have ip || need="$need iproute2"
have mandoc || need="$need mandoc"
have man || need="$need man-db"
have shellcheck || need="$need shellcheck"
have pkg-config || need="$need pkg-config"
pkg-config --exists libsystemd 2>/dev/null || need="$need libsystemd-dev"
# TLS (issue 16): libtls for the build; tests/t_tls.py makes its CA with
# openssl and talks through openssl s_client, swaks (whose TLS needs
# Net::SSLeay), msmtp and curl
pkg-config --exists libtls 2>/dev/null || need="$need libtls-dev"
# make fuzz: fuzz_starttls is an OpenSSL client (libtls-dev does not
# bring the OpenSSL headers)
pkg-config --exists openssl 2>/dev/null || need="$need libssl-dev"
have openssl || need="$need openssl"
have curl || need="$need curl"
perl -MNet::SSLeay -e 1 >/dev/null 2>&1 || need="$need libnet-ssleay-perl"
# tests/t_auth_examples.py: the fail2ban filter and jails (fail2ban-regex,
# fail2ban-client, fail2ban-server)
have fail2ban-regex || need="$need fail2ban"
# AUTH (issue 17): tests/t_auth.py starts its own Dovecot (the real one,
# as the backend of --auth-dovecot); doveadm comes with dovecot-core
have doveadm || need="$need dovecot-core"
# tests/t_queueops.py: stats --prometheus read by prometheus_client's
# parser (Debian's, for /usr/bin/python3) and by a real node_exporter
/usr/bin/python3 -c 'import prometheus_client' >/dev/null 2>&1 ||
	need="$need python3-prometheus-client"
have prometheus-node-exporter || need="$need prometheus-node-exporter"
# make test-haproxy (tests/integration/t_haproxy.py): smtpd hosts behind
# a real HAProxy, run in the foreground by the test (no service starts)
have haproxy || need="$need haproxy"
have opendkim || need="$need opendkim"
have opendkim-genkey || need="$need opendkim-tools"
/usr/bin/python3 -c 'import dkim' >/dev/null 2>&1 ||
	need="$need python3-dkim"
/usr/bin/python3 -c 'import Milter' >/dev/null 2>&1 ||
	need="$need python3-milter"
have rspamd || need="$need rspamd"
# tests/t_bdat.py: a real sending MTA, exim as a BDAT (CHUNKING) client
# with a configuration of its own; its daemon is never started (the
# policy-rc.d below).  Only where no MTA is installed: exim4-daemon-light
# conflicts with postfix, msmtp-mta and the like, which apt-get -y would
# remove (t_bdat.py then skips its exim case)
have exim4 || [ -e /usr/sbin/sendmail ] || need="$need exim4-daemon-light"
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "tests/deps.sh: missing:$need (run as root to install)" >&2
	exit 0
fi
echo "tests/deps.sh: installing:$need"
export DEBIAN_FRONTEND=noninteractive
# a package's maintainer scripts must not start its service here
# (dovecot-core or fail2ban would start a system-wide daemon, or fail
# where no init runs): invoke-rc.d and deb-systemd-invoke ask
# policy-rc.d, whose 101 says "not allowed"; one put here only for this
# install
rcd=/usr/sbin/policy-rc.d
if [ ! -e "$rcd" ]; then
	printf '#!/bin/sh\n# tests/deps.sh: no service starts\nexit 101\n' \
	    > "$rcd" && chmod 755 "$rcd" && trap 'rm -f "$rcd"' EXIT
fi
apt-get update -qq >/dev/null 2>&1 || true
# shellcheck disable=SC2086
apt-get install -y -qq $need >/dev/null 2>&1 </dev/null ||
	echo "tests/deps.sh: apt-get install failed for:$need" >&2
exit 0
