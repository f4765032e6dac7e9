#!/bin/sh
# view_queries.sh: time and peak memory of ucr status, plan and report at
# several store sizes (issue 11). Stores are made by bench_gen_store.
#
#   bench/view_queries.sh [-u UCR] [-g GEN] [-d DIR] [-r RUNS] SIZES...
#
# UCR is the ucr program (default build/bin/ucr), GEN bench_gen_store
# (default build/bin/bench_gen_store), DIR where the stores are kept
# (default /tmp/ucr-view-bench; a store of a size already there is
# reused). Prints one line per size and command: the median wall time and
# CPU time (perf stat task-clock, "-" without perf) of RUNS runs (default
# 5) in ms, and the highest peak resident memory in MiB (/usr/bin/time -v).
set -eu
ucr=build/bin/ucr
gen=build/bin/bench_gen_store
dir=/tmp/ucr-view-bench
runs=5
while getopts u:g:d:r: o; do
	case $o in
	u) ucr=$OPTARG ;;
	g) gen=$OPTARG ;;
	d) dir=$OPTARG ;;
	r) runs=$OPTARG ;;
	*) echo "usage: $0 [-u UCR] [-g GEN] [-d DIR] [-r RUNS] SIZES..." >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || set -- 1000 10000 100000 1000000
mkdir -p "$dir"
median() {
	echo "$@" | tr ' ' '\n' | sort -n |
	    awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}
# CPU time (task-clock) where perf may count it: wall time on a loaded
# machine is mostly waiting.
perf=""
if perf stat -x, -e task-clock -o /dev/null true 2>/dev/null; then
	perf="perf stat -x, -e task-clock -o $dir/cpu.out --"
fi
printf '%-10s %-8s %10s %10s %10s\n' records command "wall ms" "cpu ms" \
    "peak MiB"
for n in "$@"; do
	s="$dir/s$n"
	[ -f "$s/node.conf" ] || "$gen" -n "$n" "$s" >/dev/null
	for cmd in status plan "report --html $dir/report.html"; do
		times=""
		cpus=""
		rss=0
		i=0
		while [ $i -lt "$runs" ]; do
			t0=$(date +%s%N)
			if ! $perf /usr/bin/time -v "$ucr" -c "$s/node.conf" \
			    $cmd >/dev/null 2>"$dir/time.out" </dev/null; then
				head -3 "$dir/time.out" >&2
				exit 1
			fi
			t1=$(date +%s%N)
			t=$(awk -v a="$t0" -v b="$t1" \
			    'BEGIN { printf "%.1f", (b - a) / 1e6 }')
			r=$(awk -F': ' '/Maximum resident/ { print $2 }' \
			    "$dir/time.out")
			times="$times $t"
			[ -z "$perf" ] || cpus="$cpus $(awk -F, \
			    '/task-clock/ { printf "%.1f", $1 }' "$dir/cpu.out")"
			[ "$r" -gt "$rss" ] && rss=$r
			i=$((i + 1))
		done
		printf '%-10s %-8s %10s %10s %10s\n' "$n" "${cmd%% *}" \
		    "$(median $times)" "$(median ${cpus:--})" \
		    "$(awk -v r="$rss" 'BEGIN { printf "%.1f", r / 1024 }')"
	done
done
