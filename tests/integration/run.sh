#!/bin/sh
# tests/integration/run.sh - the multi-host groups (make test-haproxy):
# several smtpd hosts behind a real balancer, each group a
# tests/integration/t_*.py.  Not part of tests/run.sh (they take longer
# and need haproxy).  Same output as tests/run.sh: the build line, each
# group's log in $TEST_OUT (default tests/out-integration), its failures
# and its INFO figures shown, then "N passed, M failed"; exit 1 on any
# failure.  An argument runs the groups whose name contains it.
set -u
cd "$(dirname "$0")/../.." || exit 1
OUT=${TEST_OUT:-tests/out-integration}
rm -rf "$OUT"; mkdir -p "$OUT"
PY=${PYTHON:-python3}
only=${1:-}

echo "build: $("${SMTPD:-./smtpd}" --version 2>&1 | head -1);" \
    "$(cat .build-config 2>/dev/null || echo "no .build-config")"

for t in tests/integration/t_*.py; do
	n=$(basename "$t" .py); n=${n#t_}
	case "$n" in *"$only"*) ;; *) continue ;; esac
	echo "== $n"
	start=$(date +%s)
	"$PY" "$t" > "$OUT/$n.log" 2>&1
	rc=$?
	grep -E '^(FAIL|SKIP|INFO) ' "$OUT/$n.log" | sed 's/^/   /'
	if [ $rc -ne 0 ] && ! grep -q '^FAIL ' "$OUT/$n.log"; then
		echo "FAIL $n: exited $rc (see $OUT/$n.log)" >> "$OUT/$n.log"
		echo "   FAIL $n: exited $rc (see $OUT/$n.log)"
	fi
	echo "   ($(($(date +%s) - start)) s)"
done

cat "$OUT"/*.log 2>/dev/null | awk '
	/^PASS / { p++ }
	/^FAIL / { f++ }
	END { printf "%d passed, %d failed\n", p, f; exit (f > 0) }'
