#!/bin/bash
# tests/chaos/run.sh: a region under faults, with the real programs.
#
# A hub and six nodes on this machine; writers on five nodes; a nemesis
# that kill -9s a random daemon every 0.2-2 s (each daemon runs under a
# small supervisor that starts it again); when root with `ip` and `tc`,
# one node lives in a network namespace behind a veth pair and gets
# partitions and a 128 kbit/s link (tc tbf); then stores restored from
# plain copies and from `ucr backup`, each with the hub up and with it
# down. At the end every write a writer saw acknowledged must be at every
# site exactly once, every site must hold the same view digest, and `ucr
# verify` must pass everywhere. Bounded in time; prints a summary table.
#
#   tests/chaos/run.sh [--ci] [--keep]
#     --ci    shorter: at least 50 kills (the full run: at least 200)
#     --keep  keep the work folder (daemons' logs, stores) afterwards
#
# Programs come from $UCR_BIN (default build/bin). Exit 0 when every check
# passed, 1 when one failed, 2 when it could not run.
set -u

mode=full
keep=0
for a in "$@"; do
	case "$a" in
	--ci) mode=ci ;;
	--keep) keep=1 ;;
	*) echo "usage: tests/chaos/run.sh [--ci] [--keep]" >&2; exit 2 ;;
	esac
done

root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${UCR_BIN:-$root/build/bin}
for p in ucr ucr-node ucr-hub; do
	if [ ! -x "$bin/$p" ]; then
		echo "chaos: $bin/$p not found: build first (or set UCR_BIN)" >&2
		exit 2
	fi
done
for p in jq; do
	command -v $p >/dev/null || { echo "chaos: needs $p" >&2; exit 2; }
done
export PATH="$bin:$PATH"

if [ "$mode" = ci ]; then
	kills_min=50
	write_gap=0.5      # seconds between one writer's writes
	budget=420         # the whole run, seconds
	converge_s=150
else
	kills_min=200
	write_gap=0.25
	budget=1500
	converge_s=300
fi

W=$(mktemp -d /tmp/ucr-chaos-XXXXXX)
port=$((29000 + $$ % 900))
start_s=$(date +%s)
codes="2480 2403 2401 2409 2404 2460"
writers="2480 2403 2401 2409 2404"
ns=""                        # the network namespace, when there is one
hubip=127.0.0.1
nsnode=2409                  # the node behind the veth pair

log() { printf '%s chaos: %s\n' "$(date -u +%H:%M:%S)" "$*"; }
elapsed() { echo $(($(date +%s) - start_s)); }

cleanup() {
	touch "$W/stop"
	for f in "$W"/pid.*; do
		[ -e "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
	done
	for j in $(jobs -p); do kill -9 "$j" 2>/dev/null; done
	wait 2>/dev/null
	if [ -n "$ns" ]; then
		ip link del ucrh$$ 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	fi
	if [ "$keep" = 1 ]; then
		echo "chaos: kept $W"
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ------------------------------------------------------------ the network

if [ "$(id -u)" = 0 ] && command -v ip >/dev/null &&
	command -v tc >/dev/null && ip netns add ucrchaos$$ 2>/dev/null; then
	ns=ucrchaos$$
	net=$((10 + $$ % 200))
	if ip link add ucrh$$ type veth peer name ucrn$$ &&
		ip link set ucrn$$ netns "$ns" &&
		ip addr add 10.77.$net.1/24 dev ucrh$$ &&
		ip link set ucrh$$ up &&
		ip -n "$ns" addr add 10.77.$net.2/24 dev ucrn$$ &&
		ip -n "$ns" link set ucrn$$ up &&
		ip -n "$ns" link set lo up; then
		log "node $nsnode in network namespace $ns (10.77.$net.2)"
	else
		log "cannot set up a veth pair: partitions and the slow link skipped"
		ip netns del "$ns" 2>/dev/null
		ns=""
	fi
else
	log "not root, or no ip/tc/netns: partitions and the 128 kbit/s link skipped"
fi

# ------------------------------------------------------------ the region

keygen() { ucr keygen --out "$1" | head -1 | cut -c1-64; }

hubhex=$(keygen "$W/hub.key")
cat >"$W/hub.conf" <<EOF
[hub]
key = $W/hub.key
data = $W/hub.data
control = ipc://$W/hub.sock
listen = tcp://0.0.0.0:$port
EOF
for c in $codes; do
	hex=$(keygen "$W/$c.key")
	echo "$hex" >"$W/$c.hex"
	h=$hubip
	[ -n "$ns" ] && [ "$c" = "$nsnode" ] && h=10.77.$net.1
	cat >"$W/$c.conf" <<EOF
[node]
municipality = $c
key = $W/$c.key
data = $W/$c.data
control = ipc://$W/$c.sock
hub = tcp://$h:$port
hub_key = $hubhex
EOF
done

conf() { [ "$1" = hub ] && echo "$W/hub.conf" || echo "$W/$1.conf"; }

# One daemon, started again whenever it dies, unless held.
run_daemon() {
	if [ "$1" = hub ]; then
		exec ucr-hub -d -f "$W/hub.conf" >>"$W/hub.log" 2>&1
	elif [ -n "$ns" ] && [ "$1" = "$nsnode" ]; then
		exec ip netns exec "$ns" "$bin/ucr-node" -d -f "$W/$1.conf" \
			>>"$W/$1.log" 2>&1
	else
		exec ucr-node -d -f "$W/$1.conf" >>"$W/$1.log" 2>&1
	fi
}
supervise() {
	while [ ! -e "$W/stop" ]; do
		if [ -e "$W/hold.$1" ]; then
			rm -f "$W/pid.$1"
			sleep 0.1
			continue
		fi
		(run_daemon "$1") &
		p=$!
		echo $p >"$W/pid.$1"
		wait $p
		echo "$(elapsed) $1 exit $?" >>"$W/exits"
		sleep 0.2
	done
}

# Wait until a daemon answers its control socket.
ready() {
	local n=$1 t=${2:-15} i=0
	while [ $i -lt $((t * 10)) ]; do
		if [ "$n" = hub ]; then
			ucr -c "$W/hub.conf" peers --json >/dev/null 2>&1 && return 0
		else
			ucr -c "$W/$n.conf" peers --json >/dev/null 2>&1 && return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# Hold a daemon down (the supervisor waits) and kill it.
hold() {
	touch "$W/hold.$1"
	[ -e "$W/pid.$1" ] && kill -9 "$(cat "$W/pid.$1")" 2>/dev/null
	local i=0
	while [ -e "$W/pid.$1" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
}
release() { rm -f "$W/hold.$1"; }

supervise hub 2>>"$W/supervise.err" &
ready hub || { log "the hub did not start"; tail "$W/hub.log"; exit 2; }
for c in $codes; do
	ucr -c "$W/hub.conf" roster add "$c" "$(cat "$W/$c.hex")" >/dev/null ||
		{ log "roster add $c failed"; exit 2; }
done
for c in $codes; do supervise "$c" 2>>"$W/supervise.err" & done
for c in $codes; do
	ready "$c" || { log "node $c did not start"; tail "$W/$c.log"; exit 2; }
done
log "region up: hub on port $port, nodes $codes"

# ------------------------------------------------------------ writers

# Each write has its own key; a write is "acked" when ucr exits 0, and
# "unknown" when it exits 3 (it may or may not have been made).
writer() {
	local c=$1 i=0 rc
	while [ ! -e "$W/writers.stop" ]; do
		if [ -e "$W/wpause.$c" ]; then
			touch "$W/wpaused.$c"
			sleep 0.1
			continue
		fi
		rm -f "$W/wpaused.$c"
		i=$((i + 1))
		UCR_TIMEOUT=3 ucr -c "$W/$c.conf" network join "X$c-$i" \
			--name "Chaos network $c $i" --scope national \
			--date 2009-01-01 >/dev/null 2>>"$W/writer.$c.err"
		rc=$?
		case $rc in
		0) echo "$c/network/X$c-$i" >>"$W/acked.$c" ;;
		3) echo "$c/network/X$c-$i" >>"$W/unknown.$c" ;;
		*) echo "$c/network/X$c-$i" >>"$W/failed.$c" ;;
		esac
		sleep "$write_gap"
	done
}
wpause() {
	touch "$W/wpause.$1"
	local i=0
	while [ ! -e "$W/wpaused.$1" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
}
wresume() { rm -f "$W/wpause.$1" "$W/wpaused.$1"; }
for c in $writers; do writer "$c" & done

# A node's acknowledged writes are all at the hub (lag 0, link up).
in_step() {
	local c=$1 t=${2:-60} i=0 j
	while [ $i -lt $((t * 5)) ]; do
		j=$(ucr -c "$W/$c.conf" peers --json 2>/dev/null)
		if [ -n "$j" ] && [ "$(echo "$j" | jq -r '.lag == 0 and .connected and .state == "stream"')" = true ]; then
			return 0
		fi
		sleep 0.2
		i=$((i + 1))
	done
	return 1
}

# ------------------------------------------------------------ copies

# A plain copy (cp -a of a stopped store) and a ucr backup, taken early.
sleep 3
for c in 2403 2401; do
	wpause "$c"
	hold "$c"
	cp -a "$W/$c.data" "$W/$c.copy"
	release "$c"
	wresume "$c"
	ready "$c"
done
for c in 2404 2460; do
	ucr -c "$W/$c.conf" backup --out "$W/$c.bak" >/dev/null 2>>"$W/backup.err" ||
		{ log "ucr backup of $c failed: $(tail -1 "$W/backup.err")"; exit 1; }
done
log "copies taken: plain 2403 2401, ucr backup 2404 2460"

# ------------------------------------------------------------ nemesis

nemesis() {
	local n=0 victims="hub $codes" v p
	while [ ! -e "$W/nemesis.stop" ]; do
		sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.2 + 1.8 * r / 32767 }')"
		[ -e "$W/nemesis.pause" ] && continue
		set -- $victims
		shift $((RANDOM % $#))
		v=$1
		[ -e "$W/pid.$v" ] || continue
		p=$(cat "$W/pid.$v" 2>/dev/null) || continue
		if kill -9 "$p" 2>/dev/null; then
			n=$((n + 1))
			echo "$n" >"$W/kills.new" && mv "$W/kills.new" "$W/kills"
			echo "$v" >>"$W/killed"
		fi
	done
}

# Partitions and the slow link, on the namespaced node's veth pair.
links() {
	local k=0
	while [ ! -e "$W/links.stop" ]; do
		k=$((k + 1))
		if [ $((k % 2)) = 1 ]; then
			ip -n "$ns" link set ucrn$$ down && echo partition >>"$W/linkev"
			sleep 6
			ip -n "$ns" link set ucrn$$ up
		else
			tc qdisc replace dev ucrh$$ root tbf rate 128kbit burst 16kbit latency 2000ms
			ip netns exec "$ns" tc qdisc replace dev ucrn$$ root tbf rate 128kbit burst 16kbit latency 2000ms
			echo slow >>"$W/linkev"
			sleep 12
			tc qdisc del dev ucrh$$ root 2>/dev/null
			ip netns exec "$ns" tc qdisc del dev ucrn$$ root 2>/dev/null
		fi
		sleep 2
	done
}

echo 0 >"$W/kills"
nemesis &
nemesis_pid=$!
[ -n "$ns" ] && { links & links_pid=$!; }
log "nemesis running: a kill -9 every 0.2-2 s until $kills_min kills"
kills() { local k; k=$(cat "$W/kills" 2>/dev/null); echo "${k:-0}"; }
while [ "$(kills)" -lt "$kills_min" ]; do
	if [ "$(elapsed)" -gt $((budget / 2)) ]; then
		log "out of time with $(kills) kills"
		break
	fi
	sleep 1
done
touch "$W/nemesis.pause"
log "$(kills) kills in $(elapsed) s; restores next"
if [ -n "$ns" ]; then
	touch "$W/links.stop"
	wait "$links_pid" 2>/dev/null
	ip -n "$ns" link set ucrn$$ up
	# the restores and the end run over the slow link
	tc qdisc replace dev ucrh$$ root tbf rate 128kbit burst 16kbit latency 2000ms
	ip netns exec "$ns" tc qdisc replace dev ucrn$$ root tbf rate 128kbit burst 16kbit latency 2000ms
fi

# ------------------------------------------------------------ restores

restores=""
fail=0
# put_back NODE FROM: the node's store replaced by a copy, the daemon held
put_back() {
	rm -rf "$W/$1.data"
	cp -a "$2" "$W/$1.data"
}
# restore NODE FROM KIND HUB(up|down)
restore() {
	local c=$1 from=$2 kind=$3 hub=$4
	[ -d "$from" ] || return
	for d in hub $codes; do ready "$d" 30; done
	if echo " $writers " | grep -q " $c "; then wpause "$c"; fi
	if ! in_step "$c" 90; then
		log "restore $c: node not in step with the hub: $(ucr -c "$W/$c.conf" peers 2>&1)"
		fail=1
	fi
	[ "$hub" = down ] && hold hub
	hold "$c"
	put_back "$c" "$from"
	release "$c"
	ready "$c" 30
	wresume "$c" # writes go on: offline when the hub is down
	if [ "$hub" = down ]; then
		sleep 5
		release hub
		ready hub 30
	fi
	restores="$restores $c:$kind/hub-$hub"
	log "restored $c from a $kind with the hub $hub"
}
restore 2403 "$W/2403.copy" plain-copy up
restore 2401 "$W/2401.copy" plain-copy down
restore 2404 "$W/2404.bak" backup up
restore 2460 "$W/2460.bak" backup down

# ------------------------------------------------------------ the end

touch "$W/nemesis.stop"
kill "$nemesis_pid" 2>/dev/null
sleep 3
touch "$W/writers.stop"
for c in $writers; do rm -f "$W/wpause.$c"; done
sleep 4 # the writers finish their last write
for d in hub $codes; do ready "$d" 30 || { log "$d is not up"; fail=1; }; done
log "writers stopped at $(elapsed) s; waiting for one digest everywhere"

digest() { ucr -c "$(conf "$1")" digest --json 2>/dev/null | jq -c '{v: .view_digest, r: .records, e: .entries}'; }
t0=$(date +%s)
converged=0
while [ $(($(date +%s) - t0)) -lt "$converge_s" ] && [ "$(elapsed)" -lt "$budget" ]; do
	ref=$(digest hub)
	same=1
	for c in $codes; do
		[ "$(digest "$c")" = "$ref" ] || { same=0; break; }
	done
	if [ $same = 1 ] && [ -n "$ref" ]; then
		converged=1
		break
	fi
	sleep 1
done
converge_t=$(($(date +%s) - t0))
if [ $converged = 1 ]; then
	log "one digest everywhere after $converge_t s"
else
	log "NO convergence in $converge_t s"
	for d in hub $codes; do echo "  $d: $(digest "$d")"; done
	for c in $codes; do echo "  $c: $(ucr -c "$W/$c.conf" peers 2>&1 | head -2)"; done
	fail=1
fi
[ -n "$ns" ] && { tc qdisc del dev ucrh$$ root 2>/dev/null; ip netns exec "$ns" tc qdisc del dev ucrn$$ root 2>/dev/null; }

# ------------------------------------------------------------ checks

printf '\n%-6s %7s %7s %7s %8s %9s %7s\n' SITE ACKED UNKNOWN MISSING DUPLICATE VERIFY DIGEST
acked_total=0
for c in $codes; do cat "$W/acked.$c" 2>/dev/null; done | sort -u >"$W/acked.all"
acked_total=$(wc -l <"$W/acked.all")
for c in $writers; do cat "$W/unknown.$c" 2>/dev/null; done | sort -u >"$W/unknown.all"
unknown_total=$(wc -l <"$W/unknown.all")
ref=$(digest hub)
for d in hub $codes; do
	ucr -c "$(conf "$d")" show --json 2>/dev/null | jq -r '.[].key' | sort -u >"$W/keys.$d"
	missing=$(comm -23 "$W/acked.all" "$W/keys.$d" | wc -l)
	# exactly once: no key twice in the writer's own log
	dup=0
	if [ "$d" != hub ] && echo " $writers " | grep -q " $d "; then
		dup=$(ucr -c "$W/$d.conf" log --json 2>/dev/null | jq -r '.[].key' | sort | uniq -d | wc -l)
	fi
	if ucr -c "$(conf "$d")" verify >/dev/null 2>"$W/verify.$d"; then v=ok; else v=FAIL; fi
	if [ "$(digest "$d")" = "$ref" ]; then g=same; else g=DIFF; fi
	printf '%-6s %7s %7s %7s %8s %9s %7s\n' "$d" "$acked_total" "$unknown_total" "$missing" "$dup" "$v" "$g"
	[ "$missing" = 0 ] && [ "$dup" = 0 ] && [ "$v" = ok ] && [ "$g" = same ] || fail=1
	[ "$missing" = 0 ] || comm -23 "$W/acked.all" "$W/keys.$d" | head -3 | sed 's/^/  missing: /'
	[ "$v" = ok ] || sed 's/^/  verify: /' "$W/verify.$d" | head -2
done
kills=$(kills)
echo
printf '%-28s %s\n' "kills (kill -9)" "$kills (min $kills_min)"
printf '%-28s %s\n' "killed" "$(sort "$W/killed" 2>/dev/null | uniq -c | awk '{printf "%s:%s ", $2, $1}')"
printf '%-28s %s\n' "writes acknowledged" "$acked_total"
printf '%-28s %s\n' "writes with exit 3 (unknown)" "$unknown_total"
printf '%-28s %s\n' "writes refused (retried)" "$(cat "$W"/failed.* 2>/dev/null | wc -l)"
printf '%-28s %s\n' "restores" "${restores# }"
if [ -n "$ns" ]; then
	printf '%-28s %s\n' "network faults ($nsnode)" "$(sort "$W/linkev" 2>/dev/null | uniq -c | awk '{printf "%s x%s ", $2, $1}')"
else
	printf '%-28s %s\n' "network faults" "skipped (needs root, ip, tc)"
fi
printf '%-28s %s\n' "converged after writers stopped" "${converge_t} s"
printf '%-28s %s\n' "run time" "$(elapsed) s"
[ "$kills" -ge "$kills_min" ] || { echo "chaos: fewer kills than $kills_min"; fail=1; }
if [ $fail = 0 ]; then
	echo "chaos: 1 passed, 0 failed"
	exit 0
fi
echo "chaos: 0 passed, 1 failed"
keep=1
exit 1
