#!/bin/sh
# fuzz/run.sh: build the libFuzzer harnesses with clang (AddressSanitizer
# and UndefinedBehaviorSanitizer) and run each for N seconds.
#
#   fuzz/run.sh [SECONDS] [HARNESS...]     default 30 s, every harness
#
# Each harness starts from its seed corpus (fuzz/corpus/NAME, not changed)
# and grows a working corpus in build-fuzz/work/NAME. A crash, leak, hang
# or sanitizer report stops the run: the input is left in build-fuzz/work/
# (crash-*, leak-*, timeout-*) and the script exits 1. Reproduce with
# build-fuzz/fuzz/fuzz_NAME FILE; keep it as a regression seed in
# fuzz/corpus/NAME once fixed.
set -eu
cd "$(dirname "$0")/.."

secs=${1:-30}
[ $# -gt 0 ] && shift
all="hub_frame node_relay control import_json import_csv import_kolada config zmtp_reply ctlsrv journal"
which=${*:-$all}

if ! command -v clang >/dev/null 2>&1; then
	echo "fuzz/run.sh: clang not found (deploy/install-deps.sh installs it)" >&2
	exit 2
fi
jobs=$(nproc 2>/dev/null || echo 2)
[ "$jobs" -gt 2 ] && jobs=2
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DUCR_FUZZ=ON -DUCR_TESTS=OFF >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz >/dev/null

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fail=0
for name in $which; do
	work=build-fuzz/work/$name
	mkdir -p "$work/corpus"
	log=$work/fuzz.log
	printf '== fuzz_%s for %s s: ' "$name" "$secs"
	if build-fuzz/fuzz/fuzz_"$name" -max_total_time="$secs" \
		-timeout=20 -rss_limit_mb=2048 -max_len=65536 \
		-print_final_stats=1 -artifact_prefix="$work/" \
		"$work/corpus" "fuzz/corpus/$name" >"$log" 2>&1; then
		grep -E '^stat::number_of_executed_units' "$log" |
			sed 's/.*: */runs /' || echo ok
	else
		echo "FAILED (see $log)"
		tail -40 "$log"
		fail=1
	fi
done
exit $fail
