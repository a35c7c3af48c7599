#!/bin/sh
# tests/valgrind/run.sh - the whole test suite with every smtpd process
# run under valgrind (memcheck): no invalid read or write, no use of
# uninitialised memory, no leak.  The tests find the binary in $SMTPD, so
# a wrapper script stands in for it:
#   valgrind --error-exitcode=1 --leak-check=full --log-file=... smtpd
# Exit status 1 alone cannot tell a valgrind error from smtpd's own
# "client error" status, so every process also writes its own log and
# this script fails if any log holds an error.  Then the unit tests
# under valgrind too.  Logs: $TEST_OUT (default tests/out-valgrind).
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$(pwd)
OUT=${TEST_OUT:-tests/out-valgrind}
command -v valgrind >/dev/null 2>&1 || {
	echo "FAIL valgrind: not installed (tests/deps.sh)"; exit 1; }
VG=$(mktemp -d /tmp/smtpd-valgrind.XXXXXX) || exit 1
trap 'rm -rf "$VG"' EXIT
mkdir "$VG/logs"
chmod 755 "$VG"
chmod 1777 "$VG/logs"	# tests run smtpd as nobody too
LEAKS=definite,indirect,possible
VGOPTS="-q --error-exitcode=1 --leak-check=full --show-leak-kinds=$LEAKS"
VGOPTS="$VGOPTS --errors-for-leak-kinds=$LEAKS --num-callers=30"
# one report that is glibc's own (dlopen's bookkeeping), nothing of ours
VGOPTS="$VGOPTS --suppressions=$ROOT/tests/valgrind/glibc.supp"
# no gdbserver FIFOs in /tmp: a process that drops to another user
# (--user) could not remove root's at exit, and valgrind says so
VGOPTS="$VGOPTS --vgdb=no"
# the log's name has the time too: a long run reuses process ids, and a
# file an earlier process left (root's, in the sticky directory) would
# refuse a later one's log
cat > "$VG/smtpd" <<WRAP
#!/bin/sh
exec valgrind $VGOPTS --log-file=$VG/logs/vg.%p.\$(date +%s%N).log \\
    "$ROOT/smtpd" "\$@"
WRAP
chmod 755 "$VG/smtpd"

# the test scripts may allow for valgrind's slower start with this
export SMTPD_TEST_VALGRIND=1
echo "== test suite, every smtpd under valgrind (logs in $OUT)"
SMTPD="$VG/smtpd" TEST_OUT="$OUT" sh tests/run.sh
suite=$?

# the unit tests, straight under valgrind
for u in tests/unit/*_test; do
	[ -x "$u" ] || continue
	valgrind $VGOPTS --log-file="$VG/logs/unit.%p.log" "$u" \
	    > "$OUT/valgrind-$(basename "$u").log" 2>&1 || suite=1
done

nlogs=$(ls "$VG/logs" | wc -l)
bad=0
for f in "$VG"/logs/*.log; do
	[ -s "$f" ] || continue
	# -q: a log is empty unless valgrind found something
	bad=$((bad + 1))
	cp "$f" "$OUT/"
	echo "FAIL valgrind: $(basename "$f"):"
	head -40 "$f" | sed 's/^/    /'
done
echo "valgrind: $nlogs processes checked, $bad with errors"
[ $bad -eq 0 ] && [ $suite -eq 0 ]
