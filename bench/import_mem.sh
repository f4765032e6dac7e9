#!/bin/sh
# import_mem.sh: the node's memory and the wall time of one large
# `ucr import`, for one or more builds in the same run (docs/benchmarks.md).
#
#   bench/import_mem.sh [-n RECORDS] [-r REPEAT] BIN_DIR...
#
# For each repeat and each BIN_DIR (a folder holding ucr and ucr-node), a
# fresh node without a hub imports RECORDS measurements (one CSV file, one
# import, one transaction). While it runs, the node's /proc files are read
# every 0.1 s: the peak of Private_Dirty (its heap and LMDB's dirty pages,
# smaps_rollup) and VmHWM (the peak resident set, with the mapped store
# pages it has touched). Printed per build: min / median / max of the wall
# time, the peak private dirty and VmHWM. The builds take turns, so a noisy
# machine slows each alike.
set -eu

N=1000000
REPEAT=3
while getopts n:r: o; do
	case $o in
	n) N=$OPTARG ;;
	r) REPEAT=$OPTARG ;;
	*) echo "usage: $0 [-n RECORDS] [-r REPEAT] BIN_DIR..." >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: $0 [-n RECORDS] [-r REPEAT] BIN_DIR..." >&2; exit 2; }

TMP=$(mktemp -d)
NODEPID=
cleanup() {
	[ -n "$NODEPID" ] && kill "$NODEPID" 2>/dev/null && wait "$NODEPID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

awk -v n="$N" 'BEGIN {
	print "kind,owner,indicator,year,gender,value,status,area"
	g = "TKM"
	for (i = 0; i < n; i++)
		printf "measure,,N%05d,%d,%s,%d.%02d,,\n", 1 + int(i / 105), 1990 + int(i / 3) % 35, substr(g, i % 3 + 1, 1), (i * 7919) % 1000, i % 100
}' > "$TMP/m.csv"

stats() { sort -n | awk '{ v[NR] = $1 } END { printf "%s / %s / %s", v[1], v[int((NR + 1) / 2)], v[NR] }'; }

r=0
while [ $r -lt "$REPEAT" ]; do
	b=0
	for BIN in "$@"; do
		D=$TMP/node
		rm -rf "$D"
		mkdir -p "$D"
		"$BIN/ucr" keygen --out "$D/k.key" >/dev/null
		cat > "$D/node.conf" <<EOF
[node]
municipality = 2403
key = $D/k.key
data = $D/data
control = ipc://$D/node.sock
map_size = 16G
EOF
		"$BIN/ucr-node" -d -f "$D/node.conf" 2>"$D/node.log" &
		NODEPID=$!
		i=0
		while [ ! -S "$D/node.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		t0=$(date +%s.%N)
		"$BIN/ucr" -c "$D/node.conf" import "$TMP/m.csv" >/dev/null &
		CLI=$!
		peak=0
		# until the CLI has exited (a zombie until waited for)
		while grep -q '^State:[[:space:]]*[RSD]' "/proc/$CLI/status" 2>/dev/null; do
			pd=$(awk '/^Private_Dirty:/ {print $2}' "/proc/$NODEPID/smaps_rollup" 2>/dev/null || echo 0)
			[ "${pd:-0}" -gt "$peak" ] && peak=$pd
			sleep 0.1
		done
		wait "$CLI"
		t1=$(date +%s.%N)
		hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$NODEPID/status")
		after=$(awk '/^Private_Dirty:/ {print $2}' "/proc/$NODEPID/smaps_rollup")
		kill "$NODEPID"; wait "$NODEPID" 2>/dev/null || true; NODEPID=
		awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f\n", b - a}' >> "$TMP/t.$b"
		echo $((peak / 1024)) >> "$TMP/pd.$b"
		echo $((hwm / 1024)) >> "$TMP/hwm.$b"
		echo $((after / 1024)) >> "$TMP/after.$b"
		echo "run $r $BIN: $(tail -1 "$TMP/t.$b") s, peak private dirty $((peak / 1024)) MiB, VmHWM $((hwm / 1024)) MiB, private dirty after $((after / 1024)) MiB" >&2
		b=$((b + 1))
	done
	r=$((r + 1))
done

echo "$N records, one import, $REPEAT runs each (min / median / max):"
b=0
for BIN in "$@"; do
	echo "$BIN: wall $(stats < "$TMP/t.$b") s; peak private dirty $(stats < "$TMP/pd.$b") MiB; VmHWM $(stats < "$TMP/hwm.$b") MiB; private dirty after $(stats < "$TMP/after.$b") MiB"
	b=$((b + 1))
done
