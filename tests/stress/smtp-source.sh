#!/bin/sh
# tests/stress/smtp-source.sh - print the path of a runnable Postfix
# smtp-source, fetching it once if need be.  The postfix package is never
# installed: `apt-get download postfix` and `dpkg -x` into a temp dir,
# then smtp-source and the libpostfix libraries it needs are kept in
# SMTP_SOURCE_CACHE (default tests/.cache/postfix, not in git) with a
# wrapper that sets LD_LIBRARY_PATH.  Exit 1 (and why, on stderr) if it
# cannot be had: no apt, no network, a library missing.
set -u
cd "$(dirname "$0")/../.." || exit 1
CACHE=${SMTP_SOURCE_CACHE:-$(pwd)/tests/.cache/postfix}
run=$CACHE/smtp-source
check() {
	[ -x "$run" ] && "$run" 2>&1 | grep -q "usage:" &&
	    ! LD_LIBRARY_PATH=$CACHE/lib ldd "$CACHE/bin/smtp-source" \
	    2>/dev/null | grep -q "not found"
}
if check; then
	echo "$run"
	exit 0
fi
command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1 || {
	echo "smtp-source.sh: no apt-get/dpkg here" >&2; exit 1; }
tmp=$(mktemp -d /tmp/smtpd-postfix.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"	# apt's download user must be able to write here
(cd "$tmp" && apt-get download postfix >/dev/null 2>&1) ||
    (apt-get update -qq >/dev/null 2>&1 && cd "$tmp" &&
    apt-get download postfix >/dev/null 2>&1) || {
	echo "smtp-source.sh: apt-get download postfix failed" >&2; exit 1; }
dpkg -x "$tmp"/postfix_*.deb "$tmp/root" || exit 1
rm -rf "$CACHE"
mkdir -p "$CACHE/bin" "$CACHE/lib"
cp "$tmp/root/usr/sbin/smtp-source" "$CACHE/bin/" &&
    cp "$tmp"/root/usr/lib/postfix/libpostfix-*.so "$CACHE/lib/" || exit 1
cat > "$run" <<WRAP
#!/bin/sh
LD_LIBRARY_PATH=$CACHE/lib exec $CACHE/bin/smtp-source "\$@"
WRAP
chmod 755 "$run"
if ! check; then
	echo "smtp-source.sh: extracted smtp-source does not run:" >&2
	LD_LIBRARY_PATH=$CACHE/lib ldd "$CACHE/bin/smtp-source" >&2
	exit 1
fi
echo "$run"
