#!/bin/sh
# tests/fuzz/run.sh - run each libFuzzer target for FUZZ_SECONDS.
# Usage: run.sh tests/fuzz/fuzz_NAME...  Seeds: tests/fuzz/corpus/NAME;
# what a run learns goes to FUZZ_WORK/NAME (default tests/.cache/fuzz),
# never into git.  A crash, a leak, a hang (FUZZ_TIMEOUT s per input) or
# a broken invariant stops the target: the input is kept as
# FUZZ_WORK/NAME-crash-* and this script exits 1.  One summary line per
# target: "fuzz NAME: N executions in S s, corpus C, ok|FAILED".
set -u
cd "$(dirname "$0")/../.." || exit 1
SECONDS_EACH=${FUZZ_SECONDS:-300}
WORK=${FUZZ_WORK:-tests/.cache/fuzz}
TIMEOUT=${FUZZ_TIMEOUT:-10}
DICT=tests/fuzz/smtp.dict
status=0
for bin in "$@"; do
	name=$(basename "$bin"); name=${name#fuzz_}
	mkdir -p "$WORK/$name"
	seeds=tests/fuzz/corpus/$name
	[ -d "$seeds" ] || seeds=
	case $name in
	session|starttls|auth) maxlen=16384 ;;
	proxy) maxlen=2048 ;;
	*) maxlen=4096 ;;
	esac
	log=$WORK/$name.log
	"$bin" -max_total_time="$SECONDS_EACH" -timeout="$TIMEOUT" \
	    -rss_limit_mb=2048 -max_len=$maxlen -close_fd_mask=2 \
	    -dict=$DICT -print_final_stats=1 \
	    -artifact_prefix="$WORK/$name-" "$WORK/$name" $seeds \
	    > "$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	corpus=$(ls "$WORK/$name" | wc -l)
	if [ $rc -eq 0 ]; then
		echo "fuzz $name: ${execs:-?} executions in" \
		    "${SECONDS_EACH} s, corpus $corpus, ok"
	else
		status=1
		echo "fuzz $name: ${execs:-?} executions, FAILED (exit $rc):"
		grep -E 'INVARIANT|ERROR|runtime err|SUMMARY|Test unit|^0x' \
		    "$log" | head -20 | sed 's/^/    /'
		echo "    full log: $log"
	fi
done
exit $status
