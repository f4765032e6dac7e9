#!/bin/sh
# bench/run.sh: the project's benchmark, beside its peers and limits, in one run.
#
#   bench/run.sh [--quick] [--repeat N] [--no-doc]
#
# Builds (Release), starts PostgreSQL from Debian in a temp folder on a unix
# socket (installs it with apt-get if missing), generates Kolada-like
# measurements, and measures in the same run:
#   - hub ingest (bench_ingest -k: verify, fold, durable commit) against
#     PostgreSQL (6 clients inserting the same rows, synchronous_commit on)
#     and against LMDB's batched-commit limit;
#   - the whole region on one machine (bench_region: 6 nodes -> hub -> relay),
#     write -> hub / write -> other node latency p50/p99, daemon memory;
#   - one write's round trip at a node alone (bench_write) beside a plain
#     one-put LMDB commit and the store's own commit of the record, in the
#     same folder, alternating; on a persistent REQ and as ucr sends it
#     (a connection of its own per write);
#   - ucr status / plan / report time and peak memory at 1 k, 10 k, 100 k
#     (and 1 M without --quick) records.
# Each figure is repeated (3 times; --repeat N) and given as min/median/max.
# Prints one table and writes it to docs/benchmarks.md (--no-doc: don't).
# Not a test: nothing here asserts.
set -eu

QUICK=0
REPEAT=3
DOC=1
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=1 ;;
	--repeat) REPEAT=$2; shift ;;
	--no-doc) DOC=0 ;;
	-h|--help) sed -n '2,21p' "$0"; exit 0 ;;
	*) echo "usage: bench/run.sh [--quick] [--repeat N] [--no-doc]" >&2; exit 2 ;;
	esac
	shift
done

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build-bench
BIN=$BUILD/bin
if [ "$QUICK" = 1 ]; then
	SIZES="1000 10000 100000"
	INGEST_N=60000      # rows for the ingest comparison (6 x 10 000)
	REGION_N=10000      # measurements per node in the region run
else
	SIZES="1000 10000 100000 1000000"
	INGEST_N=300000
	REGION_N=50000
fi
CLIENTS=6
BATCH=1000
LAT_WRITES=200
STATUS_WRITES=100   # writes timed until the hub's ucr status answers
START=$(date +%s)

say() { printf '%s\n' "$*" >&2; }

# ------------------------------------------------------------------ build
say "== build (Release) in $BUILD"
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j2 >/dev/null

TMP=$(mktemp -d /tmp/ucr-bench-run-XXXXXX)
chmod 755 "$TMP"
PGDIR=$TMP/pg
PGBIN=
NODEPID=
cleanup() {
	if [ -n "$NODEPID" ]; then kill "$NODEPID" 2>/dev/null || true; wait "$NODEPID" 2>/dev/null || true; fi
	if [ -n "$PGBIN" ] && [ -f "$PGDIR/data/postmaster.pid" ]; then
		as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast stop >/dev/null 2>&1 || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# ------------------------------------------------------------------ PostgreSQL
if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
	say "== installing PostgreSQL from Debian"
	if [ "$(id -u)" = 0 ]; then
		apt-get install -y postgresql >/dev/null
	else
		sudo apt-get install -y postgresql >/dev/null
	fi
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGVER=$("$PGBIN/postgres" --version | awk '{print $3}')
# initdb refuses root: run the server as the postgres user then.
as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
mkdir -p "$PGDIR"
[ "$(id -u)" = 0 ] && chown postgres "$PGDIR"
say "== PostgreSQL $PGVER in $PGDIR (unix socket only)"
as_pg "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w \
	-o "-k $PGDIR -c listen_addresses='' -c synchronous_commit=on -c fsync=on -c max_connections=20" \
	start >/dev/null
PSQL="$PGBIN/psql -h $PGDIR -U postgres -q -X -v ON_ERROR_STOP=1"

# ------------------------------------------------------------------ helpers
# min/median/max of numbers on stdin
stats() { sort -g | awk '{v[NR]=$1} END {printf "%s %s %s", v[1], v[int((NR+1)/2)], v[NR]}'; }
med() { echo "$1" | awk '{print $2}'; }
fmt3() { echo "$1" | awk -v d="${2:-0}" '{printf "%.*f / %.*f / %.*f", d, $1, d, $2, d, $3}'; }
result() { # result FILE KEY: a key=value of the RESULT line
	grep '^RESULT' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | tail -1
}
# runs NAME CMD...: CMD $REPEAT times ($r: the run, from 0), its output in
# $TMP/NAME.out, the RESULT lines of all in $TMP/NAME
runs() {
	runs_name=$1
	shift
	: > "$TMP/$runs_name"
	r=0
	while [ $r -lt "$REPEAT" ]; do
		"$@" > "$TMP/$runs_name.out"
		grep '^RESULT' "$TMP/$runs_name.out" >> "$TMP/$runs_name"
		r=$((r + 1))
	done
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

CODES="2480 2403 2401 2409 2404 2460"

# The rows: indicator, year, gender, value: the same generator as
# bench_ingest -k and bench_region.
gen_sql() { # gen_sql CODE N BATCH
	awk -v code="$1" -v n="$2" -v b="$3" 'BEGIN {
		g = "TKM"
		for (i = 0; i < n; i++) {
			if (i % b == 0) printf "BEGIN;\nINSERT INTO measure VALUES\n"
			ind = sprintf("N%05d", 1 + int(i / 105))
			y = 1990 + int(i / 3) % 35
			s = substr(g, i % 3 + 1, 1)
			printf "(\x27%s/measure/%s/%d/%s\x27,\x27%s\x27,\x27%s\x27,\x27%s\x27,%d,\x27%s\x27,%d.%02d)", code, ind, y, s, code, ind, code, y, s, (i * 7919) % 1000, i % 100
			if (i % b == b - 1 || i == n - 1) printf ";\nCOMMIT;\n"; else printf ",\n"
		}
	}'
}

# ------------------------------------------------------------------ ingest
say "== hub ingest: ucr vs PostgreSQL ($CLIENTS clients) vs LMDB, $INGEST_N rows, $REPEAT runs"
PER=$((INGEST_N / CLIENTS))
i=0
for c in $CODES; do
	gen_sql "$c" "$PER" "$BATCH" > "$TMP/pg-$i.sql"
	i=$((i + 1))
done
chmod 644 "$TMP"/pg-*.sql
: > "$TMP/ucr_rps"; : > "$TMP/ucr_cpu"; : > "$TMP/lmdb_rps"; : > "$TMP/pg_rps"; : > "$TMP/ucr1_rps"
: > "$TMP/lmdbg_rps"
r=0
while [ $r -lt "$REPEAT" ]; do
	# group commit as the hub does it (the batches already received,
	# up to its budgets), and one commit per batch as before it
	"$BIN/bench_ingest" -k -n "$INGEST_N" -b "$BATCH" > "$TMP/ingest.out"
	result "$TMP/ingest.out" ingest_rps >> "$TMP/ucr_rps"
	"$BIN/bench_ingest" -k -n "$INGEST_N" -b "$BATCH" -g 1 > "$TMP/ingest1.out"
	result "$TMP/ingest1.out" ingest_rps >> "$TMP/ucr1_rps"
	result "$TMP/ingest.out" ingest_cpu_us >> "$TMP/ucr_cpu"
	result "$TMP/ingest.out" lmdb_batched_rps >> "$TMP/lmdb_rps"
	result "$TMP/ingest.out" lmdb_group_rps >> "$TMP/lmdbg_rps"
	$PSQL -c "DROP TABLE IF EXISTS measure; CREATE TABLE measure (key text PRIMARY KEY, owner text NOT NULL, indicator text NOT NULL, area text NOT NULL, year int NOT NULL, gender char(1) NOT NULL, value numeric NOT NULL)"
	t0=$(date +%s.%N)
	i=0
	pids=
	while [ $i -lt $CLIENTS ]; do
		$PSQL -f "$TMP/pg-$i.sql" >/dev/null &
		pids="$pids $!"
		i=$((i + 1))
	done
	for p in $pids; do wait "$p"; done
	t1=$(date +%s.%N)
	awk -v n="$((PER * CLIENTS))" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f\n", n / (b - a)}' >> "$TMP/pg_rps"
	r=$((r + 1))
done
UCR_RPS=$(stats < "$TMP/ucr_rps"); UCR_CPU=$(stats < "$TMP/ucr_cpu")
UCR1_RPS=$(stats < "$TMP/ucr1_rps")
LMDB_RPS=$(stats < "$TMP/lmdb_rps"); PG_RPS=$(stats < "$TMP/pg_rps")
LMDBG_RPS=$(stats < "$TMP/lmdbg_rps")

# ------------------------------------------------------------------ region
say "== region: 6 nodes -> hub -> relay, $REGION_N measurements per node, $REPEAT runs"
region_run() { "$BIN/bench_region" -m 6 -n "$REGION_N" -l "$LAT_WRITES" -s "$STATUS_WRITES" -p $((27800 + r * 10)); }
runs region region_run
rstat() { tr ' ' '\n' < "$TMP/region" | sed -n "s/^$1=//p" | stats; }
REG_RPS=$(rstat region_rps); REG_RELAY=$(rstat region_relay_rps)
RT50=$(rstat rt_p50_ms); RT99=$(rstat rt_p99_ms)
H50=$(rstat hub_p50_ms); H99=$(rstat hub_p99_ms)
O50=$(rstat other_p50_ms); O99=$(rstat other_p99_ms)
ST50=$(rstat status_p50_ms); ST99=$(rstat status_p99_ms); STMAX=$(rstat status_max_ms)
CLIMS=$(rstat cli_ms); STIDLE=$(rstat status_idle_ms)
HUB_DIRTY=$(rstat hub_dirty_kib); NODE_DIRTY=$(rstat node_dirty_kib)
HUB_RSS=$(rstat hub_rss_kib); NODE_RSS=$(rstat node_rss_kib)
C50=$(rstat commit_p50_ms); C99=$(rstat commit_p99_ms)

# ------------------------------------------------------------------ one write
# One node without a hub (its own cost, no region around it): each write
# alternates with the same record's commit by the store in process, a
# plain one-put LMDB commit and a query that writes nothing, all in the
# same folder (bench_write), after 5000 writes of each (a store in use).
say "== one write: a node alone, beside LMDB commits in the same folder, $REPEAT runs"
runs write "$BIN/bench_write" -l "$LAT_WRITES"
wstat() { tr ' ' '\n' < "$TMP/write" | sed -n "s/^$1=//p" | stats; }
W_RT=$(wstat write_rt_p50_ms); W_OWN=$(wstat store_commit_p50_ms)
W_PLAIN=$(wstat lmdb_commit_p50_ms); W_Q=$(wstat query_rt_p50_ms)
W_CLI=$(wstat write_cli_p50_ms)

# ------------------------------------------------------------------ queries
say "== status / plan / report at $SIZES records"
N=$TMP/node
mkdir -p "$N"
"$BIN/ucr" keygen --out "$N/k.key" >/dev/null
cat > "$N/node.conf" <<EOF
[node]
municipality = 2403
key = $N/k.key
data = $N/data
control = ipc://$N/node.sock
map_size = 16G
EOF
"$BIN/ucr-node" -d -f "$N/node.conf" 2>"$N/node.log" &
NODEPID=$!
i=0
while [ ! -S "$N/node.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
UCR="$BIN/ucr -c $N/node.conf"
# targets, projects, decisions of a real municipality first
$UCR import "$SRC/deploy/demo/2403.json" >/dev/null
have=0
: > "$TMP/queries"; : > "$TMP/daemon"
for size in $SIZES; do
	add=$((size - have))
	awk -v n="$size" -v from="$have" 'BEGIN {
		print "kind,owner,indicator,year,gender,value,status,area"
		g = "TKM"
		for (i = from; i < n; i++)
			printf "measure,,N%05d,%d,%s,%d.%02d,,\n", 1 + int(i / 105), 1990 + int(i / 3) % 35, substr(g, i % 3 + 1, 1), (i * 7919) % 1000, i % 100
	}' > "$TMP/m.csv"
	$UCR import "$TMP/m.csv" >/dev/null
	have=$size
	for q in status plan report; do
		: > "$TMP/t"; : > "$TMP/m"
		r=0
		while [ $r -lt "$REPEAT" ]; do
			if [ $q = report ]; then args="report --html $TMP/r.html"; else args="$q --json"; fi
			# wall time in ms from the clock (time's %e has 10 ms
			# steps, coarser than the queries), peak memory from time
			t0=$(date +%s%N)
			/usr/bin/time -f "%M" -o "$TMP/tm" $UCR $args >/dev/null
			t1=$(date +%s%N)
			awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f\n", (b - a) / 1e6}' >> "$TMP/t"
			cat "$TMP/tm" >> "$TMP/m"
			r=$((r + 1))
		done
		echo "$q $size $(stats < "$TMP/t") $(stats < "$TMP/m")" >> "$TMP/queries"
	done
	# the daemon answers the queries: its heap and peak resident memory
	pd=$(awk '/^Private_Dirty:/ {print $2}' "/proc/$NODEPID/smaps_rollup")
	hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$NODEPID/status")
	echo "$size $pd $hwm" >> "$TMP/daemon"
done
kill "$NODEPID"; wait "$NODEPID" 2>/dev/null || true; NODEPID=

# ------------------------------------------------------------------ table
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
NCPU=$(nproc)
MEM=$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
OS=$(. /etc/os-release && echo "$PRETTY_NAME")
KERNEL=$(uname -r)
FS=$(df -T /tmp | awk 'NR == 2 {print $2}')
WHEN=$(date -u '+%Y-%m-%d %H:%M UTC')
ELAPSED=$(( $(date +%s) - START ))
NPROC=$(ps -e --no-headers | wc -l)

T=$TMP/table.md
{
	echo "| figure | ucr (min / median / max) | peer or limit | ratio (median) | goal |"
	echo "|---|---|---|---|---|"
	echo "| hub ingest, records/s (verified, durable, one store; group commit) | $(fmt3 "$UCR_RPS") | PostgreSQL $PGVER, $CLIENTS clients, synchronous_commit on: $(fmt3 "$PG_RPS") | $(ratio "$(med "$UCR_RPS")" "$(med "$PG_RPS")")× | ≥ 2× PostgreSQL |"
	echo "| the same, one commit per batch (no group commit), records/s | $(fmt3 "$UCR1_RPS") | PostgreSQL: $(fmt3 "$PG_RPS") | $(ratio "$(med "$UCR1_RPS")" "$(med "$PG_RPS")")× | - |"
	echo "| hub ingest vs LMDB batched commits (1000 puts per commit), records/s | $(fmt3 "$UCR_RPS") | LMDB: $(fmt3 "$LMDB_RPS") | $(ratio "$(med "$UCR_RPS")" "$(med "$LMDB_RPS")")× | (a limit) |"
	echo "| hub ingest vs LMDB commits of a group's size (16 384 puts per commit), records/s | $(fmt3 "$UCR_RPS") | LMDB: $(fmt3 "$LMDBG_RPS") | $(ratio "$(med "$UCR_RPS")" "$(med "$LMDBG_RPS")")× | (a limit) |"
	echo "| hub ingest CPU per record, µs | $(fmt3 "$UCR_CPU" 2) | - | - | ≤ 5 µs |"
	echo "| whole region, 6 nodes → hub, records/s | $(fmt3 "$REG_RPS") | PostgreSQL, $CLIENTS clients: $(fmt3 "$PG_RPS") | $(ratio "$(med "$REG_RPS")" "$(med "$PG_RPS")")× | ≥ 1× |"
	echo "| whole region, until every node holds every record, records/s | $(fmt3 "$REG_RELAY") | - | - | - |"
	echo "| one write, control round trip p50, ms (region idle: hub and 6 nodes) | $(fmt3 "$RT50" 2) | one durable LMDB commit of one put, same folder, same run (bench_region), p50: $(fmt3 "$C50" 2) | $(ratio "$(med "$RT50")" "$(med "$C50")")× | ≈ 1× |"
	echo "| one write, control round trip p50, ms (one node, no hub) | $(fmt3 "$W_RT" 2) | one durable LMDB commit of one put, same folder, alternating with the writes (bench_write), p50: $(fmt3 "$W_PLAIN" 2) | $(ratio "$(med "$W_RT")" "$(med "$W_PLAIN")")× | ≈ 1× |"
	echo "| the same round trip beside the store's own commit of that record (in process, no socket: sign, check, ~14.5 pages, two syncs), p50, ms | $(fmt3 "$W_RT" 2) | store commit: $(fmt3 "$W_OWN" 2) | $(ratio "$(med "$W_RT")" "$(med "$W_OWN")")× | - |"
	echo "| one write as ucr sends it (a connection of its own: connect, handshake, request, reply), p50, ms | $(fmt3 "$W_CLI" 2) | one durable LMDB commit of one put, same folder: $(fmt3 "$W_PLAIN" 2); the store's own commit: $(fmt3 "$W_OWN" 2) | $(ratio "$(med "$W_CLI")" "$(med "$W_PLAIN")")×; $(ratio "$(med "$W_CLI")" "$(med "$W_OWN")")× | ≈ 1× |"
	echo "| a control round trip that writes nothing (query), p50, ms | $(fmt3 "$W_Q" 2) | - | - | - |"
	echo "| one write, control round trip p99, ms | $(fmt3 "$RT99" 2) | - | - | - |"
	echo "| write → held at the hub, p50, ms | $(fmt3 "$H50" 2) | two durable commits (the node's, the hub's), p50: $(fmt3 "$C50" 2) ×2 | $(ratio "$(med "$H50")" "$(awk -v c="$(med "$C50")" 'BEGIN {print 2 * c}')")× | - |"
	echo "| write → held at the hub, p99, ms | $(fmt3 "$H99" 2) | one durable LMDB commit on this disk, p99 (same run): $(fmt3 "$C99" 2) | $(ratio "$(med "$H99")" "$(med "$C99")")× | < 10 ms |"
	echo "| write → held at another node, p50, ms | $(fmt3 "$O50" 2) | - | - | - |"
	echo "| write → held at another node, p99, ms | $(fmt3 "$O99" 2) | - | - | < 10 ms |"
	echo "| write → the hub's \`ucr status --json\` answers with it (its whole process, exec'd), p50, ms | $(fmt3 "$ST50" 2) | starting \`ucr --version\`, exec'd: $(fmt3 "$CLIMS" 2) | $(ratio "$(med "$ST50")" "$(med "$CLIMS")")× | - |"
	echo "| the same, p99 of $STATUS_WRITES writes, ms | $(fmt3 "$ST99" 2) | the status alone, region idle: $(fmt3 "$STIDLE" 2) | $(ratio "$(med "$ST99")" "$(med "$STIDLE")")× | < 10 ms p99 |"
	echo "| the same, largest of $STATUS_WRITES writes, ms | $(fmt3 "$STMAX" 2) | - | - | - |"
	first=$(echo $SIZES | awk '{print $1}')
	for q in status plan report; do
		base=$(awk -v q=$q -v s="$first" '$1 == q && $2 == s {print $4}' "$TMP/queries")
		while read -r qq size tmin tmed tmax mmin mmed mmax; do
			[ "$qq" = "$q" ] || continue
			echo "| \`ucr $q\` at $size records: time, ms, a CLI process included (peak memory, median) | $tmin / $tmed / $tmax ($(awk -v a="$mmed" 'BEGIN {printf "%.0f", a / 1024}') MiB) | at $first records: $base ms | $(ratio "$tmed" "$base")× | ≤ 1.5× of 1 k; < 32 MiB |"
		done < "$TMP/queries"
	done
	mib() { echo "$1" | awk '{printf "%.0f / %.0f / %.0f", $1 / 1024, $2 / 1024, $3 / 1024}'; }
	while read -r size pd hwm; do
		echo "| ucr-node answering them at $size records: private dirty, MiB (peak VmRSS) | $(awk -v a="$pd" -v b="$hwm" 'BEGIN {printf "%.0f (%.0f)", a / 1024, b / 1024}') | - | - | < 32 MiB |"
	done < "$TMP/daemon"
	echo "| hub heap (private dirty) after the region run, MiB | $(mib "$HUB_DIRTY") | VmRSS (with LMDB's mapped pages): $(mib "$HUB_RSS") | - | < 64 MiB |"
	echo "| largest node heap (private dirty), MiB | $(mib "$NODE_DIRTY") | VmRSS: $(mib "$NODE_RSS") | - | < 32 MiB |"
} > "$T"
MACHINE="$CPU, $NCPU cores, $MEM RAM, $OS, Linux $KERNEL, /tmp on $FS; load average at the end $LOAD, $NPROC processes"
{
	echo
	echo "bench/run.sh$( [ "$QUICK" = 1 ] && echo ' --quick'), $WHEN, $ELAPSED s, $REPEAT runs each."
	echo
	echo "Machine: $MACHINE."
	echo
	cat "$T"
} | tee "$TMP/out.md"

if [ "$DOC" = 1 ]; then
	D=$SRC/docs/benchmarks.md
	# replace the part between the markers, keep the rest of the document
	# a --quick run and a full run each have their own place
	if [ "$QUICK" = 1 ]; then M=run.sh; else M=run.sh-full; fi
	awk -v f="$TMP/out.md" -v b="<!-- $M begin -->" -v e="<!-- $M end -->" '
		$0 == b { print; while ((getline l < f) > 0) print l; skip = 1; next }
		$0 == e { skip = 0 }
		!skip { print }' "$D" > "$TMP/doc" && cp "$TMP/doc" "$D"
	say "== written to docs/benchmarks.md"
fi
