#!/bin/sh
# tests/stress/run.sh - the long tests (make stress): kill -9 at random,
# load through tcpserver, hostile and oversized clients.  Same output as
# tests/run.sh: each group's log in $TEST_OUT (default tests/out-stress),
# its failures shown, then "N passed, M failed"; exit 1 on any failure.
# STRESS_ONLY=name runs the groups whose name contains it.
set -u
cd "$(dirname "$0")/../.." || exit 1
OUT=${TEST_OUT:-tests/out-stress}
rm -rf "$OUT"; mkdir -p "$OUT"
PY=${PYTHON:-python3}
only=${STRESS_ONLY:-}
for t in tests/stress/*.py; do
	name=$(basename "$t" .py)
	case "$name" in *"$only"*) ;; *) continue ;; esac
	echo "== stress $name"
	start=$(date +%s)
	"$PY" "$t" > "$OUT/$name.log" 2>&1
	rc=$?
	grep -E '^(FAIL|SKIP) ' "$OUT/$name.log" | sed 's/^/   /'
	# the figures each group prints (lines that are not PASS/FAIL)
	grep -vE '^(PASS|FAIL|SKIP) |^  ' "$OUT/$name.log" | head -12 |
	    sed 's/^/   /'
	if [ $rc -ne 0 ] && ! grep -q '^FAIL ' "$OUT/$name.log"; then
		echo "FAIL $name: exited $rc" >> "$OUT/$name.log"
		echo "   FAIL $name: exited $rc (see $OUT/$name.log)"
	fi
	echo "   ($(($(date +%s) - start)) s)"
done
cat "$OUT"/*.log | awk '
	/^PASS / { p++ }
	/^FAIL / { f++ }
	END { printf "stress: %d passed, %d failed\n", p, f; exit (f > 0) }'
