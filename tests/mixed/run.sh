#!/bin/bash
# tests/mixed/run.sh BIN_DIR CACHE_DIR: a region that upgrades one site at
# a time, with real programs of two releases on loopback.
#
# Release 0.1.0 is built from this repository's history into CACHE_DIR
# (tests/mixed/build-old.sh; once, then cached). BIN_DIR holds this
# release's programs. Two regions, each in its own temp folder:
#
#  A. this release's hub, a 0.1.0 node (2403) and a node of this release
#     (2480): the hub upgraded first.
#  B. a 0.1.0 hub, a 0.1.0 node (2403) and a node of this release (2480):
#     the nodes upgraded first. Then the hub is upgraded on its store.
#
# In both: writes of either release reach every site; what changed since
# 0.1.0 is exercised: a new field in an old kind (Meeting.regional), the
# new record kinds (indicator, programme, member), which the older side
# must not receive nor be made to refuse again and again: held back with
# a message saying to upgrade, no fork, no refusal loop; in A, a 0.1.0
# node restored from an old copy and written to offline (the hub's REBASE
# case, which 0.1.0 cannot do: told to upgrade, nothing stored lost); in B,
# a view query (a new frame kind) to the 0.1.0 hub. Finally every site is
# upgraded and every site holds the same view digest. Assertions are on
# digests, seqs and record counts, never on times.
#
# Exit 0: passed; 1: a check failed; 77: skipped (release 0.1.0 cannot be
# built from this clone's history: a shallow clone). --keep keeps the
# folders.
set -u
NEW=$(cd "${1:?usage: tests/mixed/run.sh BIN_DIR CACHE_DIR [--keep]}" && pwd)
CACHE=${2:?usage: tests/mixed/run.sh BIN_DIR CACHE_DIR [--keep]}
KEEP=${3:-}
SRC=$(cd "$(dirname "$0")/../.." && pwd)

for p in ucr ucr-node ucr-hub; do
	[ -x "$NEW/$p" ] || { echo "FAIL: $NEW/$p not found: build first"; exit 1; }
done
command -v jq >/dev/null || { echo "SKIP: needs jq (deploy/install-deps.sh)"; exit 77; }
OLD=$(sh "$SRC/tests/mixed/build-old.sh" "$CACHE")
rc=$?
[ $rc = 77 ] && exit 77
[ $rc = 0 ] || { echo "FAIL: release 0.1.0 did not build"; exit 1; }

W=$(mktemp -d /tmp/ucr-mixed-XXXXXX)
PIDS=""
FAILS=0
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	if [ "$KEEP" = --keep ] || [ "$FAILS" != 0 ]; then
		echo "mixed: kept $W"
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

say() { printf 'mixed: %s\n' "$*"; }
ok() { say "ok   $*"; }
fail() {
	say "FAIL $*"
	FAILS=$((FAILS + 1))
}
check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}

# ------------------------------------------------------------ one region

# A region lives in $R: hub.conf, 2403.conf, 2480.conf; $R/rel.SITE says
# which release runs a site (old or new).
bin() { if [ "$(cat "$R/rel.$1")" = old ]; then echo "$OLD"; else echo "$NEW"; fi; }
U() { # U SITE ARGS...: that site's own ucr
	local s=$1
	shift
	"$(bin "$s")/ucr" -c "$R/$s.conf" "$@"
}

region() { # region NAME HUBREL 2403REL 2480REL
	R=$W/$1
	mkdir -p "$R"
	echo "$2" >"$R/rel.hub"
	echo "$3" >"$R/rel.2403"
	echo "$4" >"$R/rel.2480"
	PORT=$((20000 + (RANDOM % 20000)))
	local hubhex hex c
	hubhex=$("$(bin hub)/ucr" keygen --out "$R/hub.key" | head -1 | cut -c1-64)
	cat >"$R/hub.conf" <<EOF
[hub]
key = $R/hub.key
data = $R/hub.data
control = ipc://$R/hub.sock
listen = tcp://127.0.0.1:$PORT
EOF
	echo "$hubhex" >"$R/hub.hex"
	node_conf 2403 2403
	node_conf 2480 2480
}

node_conf() { # node_conf SITE CODE: a node's key and configuration
	local hex
	[ -e "$R/rel.$1" ] || echo new >"$R/rel.$1"
	hex=$("$(bin "$1")/ucr" keygen --out "$R/$1.key" | head -1 | cut -c1-64)
	echo "$hex" >"$R/$1.hex"
	cat >"$R/$1.conf" <<EOF
[node]
municipality = $2
key = $R/$1.key
data = $R/$1.data
control = ipc://$R/$1.sock
hub = tcp://127.0.0.1:$PORT
hub_key = $(cat "$R/hub.hex")
EOF
}

start() { # start SITE
	local d=ucr-node i=0
	[ "$1" = hub ] && d=ucr-hub
	"$(bin "$1")/$d" -d -f "$R/$1.conf" >>"$R/$1.log" 2>&1 &
	echo $! >"$R/pid.$1"
	PIDS="$PIDS $!"
	while ! U "$1" peers --json >/dev/null 2>&1; do
		sleep 0.1
		i=$((i + 1))
		[ $i -lt 150 ] || { fail "$1 did not start"; tail -5 "$R/$1.log"; return 1; }
	done
}
stop() { # stop SITE
	local p
	p=$(cat "$R/pid.$1")
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null
}
upgrade() { # upgrade SITE: the same store and key, this release's program
	stop "$1"
	echo new >"$R/rel.$1"
	start "$1"
}

# Digest facts, read with each site's own ucr.
vd() { U "$1" digest --json | jq -r .view_digest; }
records() { U "$1" digest --json | jq -r .records; }
seq_of() { # seq_of SITE AUTHOR_SITE: the seq SITE holds of AUTHOR's log
	local a
	a=$(cat "$R/$2.hex")
	U "$1" digest --json | jq -r --arg a "$a" \
		'[.logs[] | select(.author == $a) | .seq] | max // 0'
}
hub_seq_of() { # hub_seq_of SITE: the seq SITE holds of the hub's log
	U "$1" digest --json | jq -r --arg a "$(hubhex)" \
		'[.logs[] | select(.author == $a) | .seq] | max // 0'
}
hubhex() { U hub roster list --json | jq -r '.[] | select(.role == "hub") | .key' | head -1; }

# wait_for SECONDS COMMAND...: until COMMAND succeeds.
wait_for() {
	local t=$1 i=0
	shift
	while ! "$@" 2>/dev/null; do
		sleep 0.2
		i=$((i + 1))
		[ $i -lt $((t * 5)) ] || return 1
	done
}
same_digest() { # same_digest SITE...
	local d0 s
	d0=$(vd "$1")
	[ -n "$d0" ] || return 1
	for s in "$@"; do [ "$(vd "$s")" = "$d0" ] || return 1; done
}
has_keys() { # has_keys SITE KEY...: SITE holds each record
	local s=$1 keys k
	shift
	keys=$(U "$s" show --json | jq -r '.[].key') || return 1
	for k in "$@"; do
		echo "$keys" | grep -qx "$k" || { say "$s lacks $k"; return 1; }
	done
}
seq_is() { [ "$(seq_of "$1" "$2")" = "$3" ]; }
hub_seq_is() { [ "$(hub_seq_of "$1")" = "$2" ]; }
peer_field() { # peer_field CODE FIELD: on the hub, a node's field
	U hub peers --json | jq -r --arg c "$1" --arg f "$2" \
		'.[] | select(.code == $c and .role == "node") | .[$f] | tostring'
}
node_field() { U "$1" peers --json | jq -r --arg f "$2" '.[$f] | tostring'; }
no_alarms() { ! grep -q ALARM "$R/hub.log" "$R/2403.log" "$R/2480.log"; }
verify_all() {
	U hub verify >/dev/null && U 2403 verify >/dev/null &&
		U 2480 verify >/dev/null
}
log_has() { grep -q -- "$2" "$R/$1.log"; }
not_forked() { # not_forked SITE AUTHOR: SITE holds AUTHOR's log unstopped
	local a
	a=$(cat "$R/$2.hex")
	[ "$(U "$1" digest --json | jq -r --arg a "$a" \
		'[.logs[] | select(.author == $a) | .stopped // false] | any')" = false ]
}

# The common start: enrol, one write on each node, every site the same.
common_start() {
	start hub || return 1
	U hub roster add 2403 "$(cat "$R/2403.hex")" >/dev/null &&
		U hub roster add 2480 "$(cat "$R/2480.hex")" >/dev/null ||
		{ fail "roster add"; return 1; }
	start 2403 && start 2480 || return 1
	U 2403 network join A1 --name "Old release's net" --scope national \
		--date 2020-01-01 >/dev/null || fail "0.1.0 node writes"
	U 2480 network join B1 --name "New release's net" --scope national \
		--date 2020-01-01 >/dev/null || fail "new node writes"
	check "$1: both releases' writes reach every site (5 records)" \
		wait_for 30 same_digest hub 2403 2480
	check "$1: 5 records everywhere" [ "$(records 2403)" = 5 ]
	# A field 0.1.0 does not know in a kind it knows: kept as bytes.
	U 2480 meeting add M1 --kind workshop --date 2024-03-01 --women 3 \
		--men 2 --regional >/dev/null || fail "new node writes a meeting"
	check "$1: a meeting with a new field (regional) reaches every site" \
		wait_for 30 same_digest hub 2403 2480
	check "$1: 6 records everywhere" [ "$(records 2403)" = 6 ]
}

# No refusal loop: what the older side was not sent costs nothing more.
quiet_for() { # quiet_for SITE SECONDS: the node's refused count stays
	local a b
	a=$(node_field "$1" refused)
	sleep "$2"
	b=$(node_field "$1" refused)
	[ "$a" = "$b" ]
}

# ------------------------------------------------------------ A: hub first

region A new old new
say "A: this release's hub, a 0.1.0 node (2403), a node of this release (2480)"
common_start A

U 2480 indicator add X2480A --title "Local indicator" --unit % >/dev/null ||
	fail "new node declares an indicator"
U hub programme set --start 2023-01-01 --end 2030-12-31 >/dev/null ||
	fail "hub sets the programme"
U hub member add 2284 --name "Örnsköldsvik" >/dev/null ||
	fail "hub admits a member"
U 2480 network join B2 --name "Net after the indicator" --scope national \
	--date 2021-01-01 >/dev/null || fail "new node writes"
U 2403 network join A2 --name "Old release's second net" --scope national \
	--date 2021-01-01 >/dev/null || fail "0.1.0 node writes"
# hub log: 1 own roster entry, 2 enrolments, programme (4), member (5);
# 2480: B1, M1, indicator (3), B2 (4); 2403: A1, A2.
check "A: the 0.1.0 node's writes reach the hub" wait_for 30 seq_is hub 2403 2
check "A: ... and the new node" wait_for 30 seq_is 2480 2403 2
check "A: the new node holds everything" wait_for 30 same_digest hub 2480
check "A: the 0.1.0 node gets the new node's log up to the indicator" \
	wait_for 30 seq_is 2403 2480 2
check "A: ... and the hub's log up to the programme" wait_for 30 hub_seq_is 2403 3
sleep 2
check "A: nothing of a kind 0.1.0 does not know is sent to it (2480's log)" \
	[ "$(seq_of 2403 2480)" = 2 ]
check "A: ... (the hub's log)" [ "$(hub_seq_of 2403)" = 3 ]
check "A: the 0.1.0 node refuses nothing (no refusal loop)" quiet_for 2403 3
check "A: ... its refused count is 0" [ "$(node_field 2403 refused)" = 0 ]
check "A: the hub counts no refusal of it" [ "$(peer_field 2403 refused)" = 0 ]
check "A: the 0.1.0 node still streams" [ "$(node_field 2403 state)" = stream ]
check "A: the hub shows the 0.1.0 node's revision (0)" \
	[ "$(peer_field 2403 revision)" = 0 ]
check "A: ... and the new node's (1)" [ "$(peer_field 2480 revision)" = 1 ]
check "A: ucr peers on the hub says what is held back and to upgrade" \
	sh -c "[ -n \"\$1\" ] && echo \"\$1\" | grep -q 'upgrade the node'" _ \
	"$(peer_field 2403 held)"
check "A: the 0.1.0 node's log says to upgrade it" log_has 2403 'upgrade the node'
check "A: no alarm on any site" no_alarms

# A key enrolled after the hub's log was held back from the 0.1.0 node (a
# second node of 2480, this release): 0.1.0 cannot check that log, refuses
# it a few times, and then it is held back too: no refusal loop.
node_conf 2480b 2480
U hub roster add 2480 "$(cat "$R/2480b.hex")" --name "Umeå, second office" \
	>/dev/null || fail "roster add a second key"
start 2480b
U 2480b network join C1 --name "Second office's net" --scope national \
	--date 2022-01-01 >/dev/null || fail "second node writes"
check "A: the second key's log reaches the new node" wait_for 30 seq_is 2480 2480b 1
check "A: the hub holds it back from the 0.1.0 node after its refusals" \
	wait_for 30 log_has hub 'again and again'
check "A: ... which then refuses nothing more" quiet_for 2403 3
check "A: ... and holds none of it" [ "$(seq_of 2403 2480b)" = 0 ]

# A 0.1.0 node restored from a copy and written to offline: the hub's
# REBASE case. 0.1.0 cannot re-base: it is told to upgrade, it stops
# sending its log, nothing is stopped or lost at the hub.
stop 2403
cp -a "$R/2403.data" "$R/2403.copy"
start 2403
U 2403 network join A3 --name "Written before the restore" --scope national \
	--date 2022-01-01 >/dev/null || fail "0.1.0 node writes"
check "A: the hub holds the 0.1.0 node's seq 3" wait_for 30 seq_is hub 2403 3
stop 2403
stop hub
rm -rf "$R/2403.data"
mv "$R/2403.copy" "$R/2403.data"
start 2403
sleep 4 # the write gate (3 s) opens: the hub is down
U 2403 network join A4 --name "Written offline after the restore" \
	--scope national --date 2022-02-01 >/dev/null ||
	fail "restored 0.1.0 node writes offline"
start hub
check "A: the restored 0.1.0 node is told its log differs and to upgrade" \
	wait_for 30 log_has 2403 'upgrade this node'
check "A: ... it stops sending its log" wait_for 15 sh -c \
	"[ \"\$($(bin 2403)/ucr -c $R/2403.conf peers --json | jq -r .state)\" = stopped ]"
check "A: ... ucr peers on it says why" sh -c \
	"$(bin 2403)/ucr -c $R/2403.conf peers --json | jq -r .why | grep -q 'upgrade this node'"
# Its head is now beyond the hub's and does not chain: still no fork.
U 2403 network join A5 --name "Written while stopped" --scope national \
	--date 2022-03-01 >/dev/null || fail "stopped 0.1.0 node writes"
sleep 6 # a stopped 0.1.0 node says Hello every 5 s: its batch is refused
check "A: the hub keeps the node's log as it was (seq 3, not stopped)" \
	[ "$(seq_of hub 2403)" = 3 ]
check "A: ... not stopped as a fork" not_forked hub 2403
check "A: no alarm on any site" no_alarms
check "A: the 0.1.0 node keeps receiving the other logs" \
	[ "$(seq_of 2403 2480)" = 2 ]

# Upgrade the 0.1.0 node: it re-bases A4, A5 on the hub's log and takes
# what was held back; then every site holds the same.
upgrade 2403
check "A: upgraded, the node re-bases its offline writes (hub holds 5)" \
	wait_for 60 seq_is hub 2403 5
check "A: every site holds the same view" wait_for 60 same_digest hub 2403 2480 2480b
check "A: the upgraded node holds every write of both releases" has_keys 2403 \
	2403/network/A1 2403/network/A2 2403/network/A3 2403/network/A4 \
	2403/network/A5 2480/network/B1 2480/meeting/M1 \
	2480/indicator/X2480A 2480/network/B2 region/programme/programme \
	region/member/2284 2480/network/C1
check "A: the upgraded node re-based (ucr peers)" \
	[ "$(node_field 2403 rebased)" -ge 2 ]
check "A: the hub holds nothing back from the upgraded node" \
	[ "$(peer_field 2403 held)" = "" ]
check "A: every store verifies" verify_all
for s in hub 2403 2480 2480b; do stop $s; done

# ------------------------------------------------------------ B: nodes first

region B old old new
say "B: a 0.1.0 hub, a 0.1.0 node (2403), a node of this release (2480)"
common_start B

U 2480 indicator add X2480B --title "Local indicator" --unit % >/dev/null ||
	fail "new node declares an indicator"
U 2480 network join B2 --name "Net after the indicator" --scope national \
	--date 2021-01-01 >/dev/null || fail "new node writes"
U 2403 network join A2 --name "Old release's second net" --scope national \
	--date 2021-01-01 >/dev/null || fail "0.1.0 node writes"
check "B: the 0.1.0 node's writes reach the new node" wait_for 30 seq_is 2480 2403 2
check "B: the new node sends the 0.1.0 hub its log up to the indicator" \
	wait_for 30 seq_is hub 2480 2
check "B: ... and keeps the rest (lag 2)" [ "$(node_field 2480 lag)" = 2 ]
check "B: the new node's ucr peers says to upgrade the hub" sh -c \
	"$NEW/ucr -c $R/2480.conf peers --json | jq -r .held | grep -q 'upgrade the hub'"
check "B: ... and its hub_revision is 0" [ "$(node_field 2480 hub_revision)" = 0 ]
sleep 3
check "B: the 0.1.0 hub refused nothing (no refusal loop)" \
	[ "$(peer_field 2480 refused)" = 0 ]
check "B: the 0.1.0 hub and node agree" same_digest hub 2403
check "B: no alarm on any site" no_alarms

# A view query (a frame 0.1.0 does not know) to the 0.1.0 hub: refused
# with one clear line, and the hub goes on.
RK=$("$NEW/ucr" keygen --out "$R/reader.key" | head -1 | cut -c1-64)
U hub roster add 2403 "$RK" --role reader >/dev/null || fail "roster add reader"
cat >"$R/reader.conf" <<EOF
[reader]
municipality = 2403
key = $R/reader.key
hub = tcp://127.0.0.1:$PORT
hub_key = $(hubhex)
EOF
UCR_TIMEOUT=10 "$NEW/ucr" -c "$R/reader.conf" status >"$R/reader.out" 2>"$R/reader.err"
check "B: a view query to the 0.1.0 hub fails (exit 1)" [ $? = 1 ]
check "B: ... with a message that says to upgrade the hub" \
	grep -q 'upgrade the hub' "$R/reader.err"
U 2403 network join A3 --name "After the view query" --scope national \
	--date 2022-01-01 >/dev/null || fail "0.1.0 node writes"
check "B: the 0.1.0 hub goes on syncing" wait_for 30 seq_is 2480 2403 3

# Upgrade the hub on its 0.1.0 store: the new node's held entries go in;
# the 0.1.0 node is held back from the indicator; then upgrade it too.
upgrade hub
check "B: the upgraded hub takes the new node's held entries" \
	wait_for 30 seq_is hub 2480 4
check "B: ... the new node holds nothing back" wait_for 15 sh -c \
	"[ -z \"\$($NEW/ucr -c $R/2480.conf peers --json | jq -r .held)\" ]"
check "B: the 0.1.0 node gets the new node's log up to the indicator" \
	wait_for 30 seq_is 2403 2480 2
check "B: ... and no more" quiet_for 2403 3
check "B: ... and its refused count is 0" [ "$(node_field 2403 refused)" = 0 ]
upgrade 2403
check "B: every site upgraded holds the same view" \
	wait_for 60 same_digest hub 2403 2480
check "B: ... and every write of both releases" has_keys 2403 \
	2403/network/A1 2403/network/A2 2403/network/A3 2480/network/B1 \
	2480/meeting/M1 2480/indicator/X2480B 2480/network/B2
check "B: every store verifies" verify_all
for s in hub 2403 2480; do stop $s; done

if [ "$FAILS" != 0 ]; then
	say "$FAILS checks failed"
	exit 1
fi
say "all checks passed"
exit 0
