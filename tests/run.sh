#!/bin/sh
# tests/run.sh - run every test group and print the total.
# It begins with a "build: ..." line: the smtpd and the configuration
# (compiler, flags) under test.
# Each group prints "PASS name" / "FAIL name: why" lines, or (unit
# programs) a "group: N passed, M failed" line; this script adds them up
# and ends with "N passed, M failed".  Exit status 1 if anything failed.
set -u
cd "$(dirname "$0")/.." || exit 1
OUT=${TEST_OUT:-tests/out}
rm -rf "$OUT"; mkdir -p "$OUT"
PY=${PYTHON:-python3}
only=${1:-}

# which build this tests: the binary's version line (with or without
# libsystemd) and the compiler and flags make built it with
echo "build: $("${SMTPD:-./smtpd}" --version 2>&1 | head -1);" \
    "$(cat .build-config 2>/dev/null || echo "no .build-config")"

run_group() {	# name command...
	name=$1; shift
	case "$name" in *"$only"*) ;; *) return 0 ;; esac
	echo "== $name"
	"$@" > "$OUT/$name.log" 2>&1
	rc=$?
	grep -E '^(PASS|FAIL|SKIP) |^[a-z_-]+: [0-9]+ passed, [0-9]+ failed' \
	    "$OUT/$name.log" | grep -v '^PASS ' | sed 's/^/   /'
	if [ $rc -ne 0 ] && ! grep -q '^FAIL \|[1-9][0-9]* failed' \
	    "$OUT/$name.log"; then
		echo "FAIL $name: exited $rc (see $OUT/$name.log)" \
		    >> "$OUT/$name.log"
		echo "   FAIL $name: exited $rc (see $OUT/$name.log)"
	fi
}

run_group unit-addr ./tests/unit/addr_test
run_group unit-sbuf ./tests/unit/sbuf_test
run_group unit-reply ./tests/unit/reply_test
run_group unit-netaddr ./tests/unit/netaddr_test
run_group unit-status ./tests/unit/status_test
for t in tests/t_*.py; do
	n=$(basename "$t" .py); n=${n#t_}
	run_group "$n" "$PY" "$t"
done
for t in tests/t_*.sh; do
	[ -e "$t" ] || continue
	n=$(basename "$t" .sh); n=${n#t_}
	run_group "$n" sh "$t"
done

cat "$OUT"/*.log | awk '
	/^PASS / { p++ }
	/^FAIL / { f++ }
	/^[a-z_-]+: [0-9]+ passed, [0-9]+ failed/ { p += $2; f += $4 }
	END { printf "%d passed, %d failed\n", p, f; exit (f > 0) }'
