#!/bin/sh
# deploy/quickstart.sh: the whole UCR region on one machine, in one command.
#
# On a fresh Debian 12 machine: installs the Debian packages UCR needs
# (deploy/install-deps.sh), builds, makes a local region in a state folder
# (keys for a hub and six nodes, the roster, configurations), starts ucr-hub
# and the six ucr-nodes on loopback, loads the demo region
# (deploy/demo/*.json) through the ucr command, waits until every node holds
# the same records as the hub, and prints "ucr status". It runs in Swedish
# (LANG=sv_SE.UTF-8, as the units in deploy/systemd do), and prints the
# status once more in English at the end.
#
#   ./deploy/quickstart.sh            set up (or resume) and start the region
#   ./deploy/quickstart.sh --stop     stop its daemons (the data stays)
#   ./deploy/quickstart.sh --reset    stop, delete the state folder, start over
#
# Options (or environment variables):
#   --dir DIR     state folder (UCR_QUICKSTART_DIR; default ./ucr-region)
#   --port PORT   the hub's TCP port on 127.0.0.1 (UCR_QUICKSTART_PORT; 7300)
#   --build DIR   build folder (UCR_QUICKSTART_BUILD; default build-quickstart
#                 in the source tree)
#   --bin DIR     use the programs already built in DIR: no packages, no
#                 build (UCR_QUICKSTART_BIN)
#   --no-deps     do not run deploy/install-deps.sh
#   --timeout S   seconds to wait for each step (default 120)
#   --lang LOCALE the language of ucr's messages (UCR_QUICKSTART_LANG;
#                 default sv_SE.UTF-8, Swedish; C for English). A locale
#                 the machine lacks gives English.
#
# Running it again is safe: each step is skipped when it is done already
# (the region exists, a daemon runs, a key is enrolled, a file is loaded).
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
dir=${UCR_QUICKSTART_DIR:-./ucr-region}
port=${UCR_QUICKSTART_PORT:-}
build=${UCR_QUICKSTART_BUILD:-$src/build-quickstart}
bin=${UCR_QUICKSTART_BIN:-}
deps=1
action=start
timeout=120
lang=${UCR_QUICKSTART_LANG:-sv_SE.UTF-8}
codes="2480 2403 2401 2409 2404 2460"

usage() {
	if [ "${1:-2}" = 0 ]; then
		sed -n '2,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//'
	else
		echo "usage: $0 [--dir DIR] [--port PORT] [--build DIR | --bin DIR] [--no-deps] [--timeout S] [--lang LOCALE] [--stop | --reset]" >&2
	fi
	exit "${1:-2}"
}

die() {
	echo "quickstart: $*" >&2
	exit 1
}

say() {
	echo "== $*"
}

while [ $# -gt 0 ]; do
	case "$1" in
	--dir) [ $# -ge 2 ] || usage; dir=$2; shift ;;
	--dir=*) dir=${1#--dir=} ;;
	--port) [ $# -ge 2 ] || usage; port=$2; shift ;;
	--port=*) port=${1#--port=} ;;
	--build) [ $# -ge 2 ] || usage; build=$2; shift ;;
	--build=*) build=${1#--build=} ;;
	--bin) [ $# -ge 2 ] || usage; bin=$2; shift ;;
	--bin=*) bin=${1#--bin=} ;;
	--timeout) [ $# -ge 2 ] || usage; timeout=$2; shift ;;
	--timeout=*) timeout=${1#--timeout=} ;;
	--lang) [ $# -ge 2 ] || usage; lang=$2; shift ;;
	--lang=*) lang=${1#--lang=} ;;
	--no-deps) deps=0 ;;
	--stop) action=stop ;;
	--reset) action=reset ;;
	-h | --help) usage 0 ;;
	*) echo "quickstart: unknown option '$1'" >&2; usage ;;
	esac
	shift
done
case "$timeout" in '' | *[!0-9]*) die "--timeout: '$timeout' is not a number of seconds" ;; esac
if [ -n "$port" ]; then
	case "$port" in '' | *[!0-9]*) die "--port: '$port' is not a port number" ;; esac
	[ "$port" -ge 1 ] && [ "$port" -le 65535 ] || die "--port: $port is not a port number"
fi

if [ "$action" = stop ] && [ ! -d "$dir" ]; then
	echo "quickstart: no region in $dir"
	exit 0
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
marker="$dir/.ucr-quickstart"

# ------------------------------------------------------------ daemons

# The pid in $1's pid file if that process is still the daemon started
# with config $2 (a pid can be reused), else nothing.
running_pid() {
	[ -f "$1" ] || return 0
	pid=$(cat "$1" 2>/dev/null || true)
	case "$pid" in '' | *[!0-9]*) return 0 ;; esac
	if [ -r "/proc/$pid/cmdline" ] &&
		tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "-f $2"; then
		echo "$pid"
	fi
}

# stop_daemon NAME PIDFILE CONF
stop_daemon() {
	pid=$(running_pid "$2" "$3")
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		n=0
		# gone, or a zombie (empty cmdline) where nothing reaps it
		while [ -n "$(running_pid "$2" "$3")" ] && [ $n -lt 100 ]; do
			sleep 0.1
			n=$((n + 1))
		done
		if [ -n "$(running_pid "$2" "$3")" ]; then
			echo "quickstart: $1 (pid $pid) did not stop; killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
		echo "stopped $1 (pid $pid)"
	fi
	rm -f "$2"
}

stop_all() {
	for code in $codes; do
		[ -d "$dir/$code" ] &&
			stop_daemon "ucr-node $code" "$dir/$code/node.pid" "$dir/$code/node.conf"
	done
	[ -d "$dir/hub" ] && stop_daemon ucr-hub "$dir/hub/hub.pid" "$dir/hub/hub.conf"
	return 0
}

if [ "$action" = stop ]; then
	if [ ! -f "$marker" ]; then
		echo "quickstart: no region in $dir"
		exit 0
	fi
	stop_all
	echo "the region in $dir is stopped; its data stays (start: $0 --dir $dir)"
	exit 0
fi

if [ "$action" = reset ]; then
	if [ -n "$(ls -A "$dir")" ] && [ ! -f "$marker" ]; then
		die "$dir is not empty and is not a quickstart region; not deleting it"
	fi
	if [ -f "$marker" ]; then
		stop_all
		# keep the folder itself (it may be a mount point or the cwd)
		find "$dir" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
		echo "deleted the region in $dir"
	fi
fi

# ------------------------------------------------------------ programs

if [ -z "$bin" ]; then
	if [ "$deps" = 1 ]; then
		say "Debian packages"
		"$src/deploy/install-deps.sh"
	fi
	say "build in $build"
	# The demo needs the programs only; the tests are built by tests/run.sh.
	cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DUCR_TESTS=OFF >"$dir/build.log" 2>&1 ||
		{ tail -n 30 "$dir/build.log" >&2; die "cmake failed (log: $dir/build.log)"; }
	cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" \
		--target ucr ucr-node ucr-hub >>"$dir/build.log" 2>&1 ||
		{ tail -n 30 "$dir/build.log" >&2; die "build failed (log: $dir/build.log)"; }
	bin=$build/bin
fi
bin=$(cd "$bin" && pwd)

# The language of everything ucr prints from here on, and of the daemons'
# environment (docs/operations.md, "Language"). install-deps.sh has made
# sv_SE.UTF-8 by now; without it, English.
case "$lang" in
C | POSIX | C.UTF-8 | C.utf8) ;;
*)
	want=$(echo "$lang" | tr 'A-Z' 'a-z' | sed 's/utf-8/utf8/')
	if ! locale -a 2>/dev/null | tr 'A-Z' 'a-z' | sed 's/utf-8/utf8/' |
		grep -qx "$want"; then
		echo "quickstart: no locale $lang on this machine (deploy/install-deps.sh makes sv_SE.UTF-8); English" >&2
		lang=C
	fi ;;
esac
unset LC_ALL LC_MESSAGES LANGUAGE
LANG=$lang
export LANG
for p in ucr ucr-node ucr-hub; do
	[ -x "$bin/$p" ] || die "$bin/$p: not found (build it, or give --bin)"
done
PATH=$bin:$PATH
export PATH
unset UCR_CONF

# ------------------------------------------------------------ region

hubconf=$dir/hub/hub.conf

# The hub's port: the one the region was made with.
if [ -f "$hubconf" ]; then
	made=$(sed -n 's/^listen = tcp:\/\/127\.0\.0\.1:\([0-9]*\)$/\1/p' "$hubconf")
	if [ -n "$port" ] && [ -n "$made" ] && [ "$port" != "$made" ]; then
		die "the region in $dir uses port $made, not $port (--reset to start over)"
	fi
	port=${made:-${port:-7300}}
fi
port=${port:-7300}

# A UNIX socket path has at most 107 bytes.
[ ${#dir} -le 80 ] || die "$dir: path too long for the control sockets (use --dir with a shorter path)"

# Pull "public_key" out of "ucr init --json" output.
public_key() {
	sed -n 's/^ *"public_key": *"\([0-9a-f]\{64\}\)".*/\1/p'
}

touch "$marker"
if [ ! -f "$hubconf" ]; then
	say "new region in $dir: hub and six nodes, hub on 127.0.0.1:$port"
	out=$(ucr init hub --dir "$dir/hub" --listen "tcp://127.0.0.1:$port" --json)
	echo "$out" | public_key >"$dir/hub/hub.pub"
fi
[ -s "$dir/hub/hub.pub" ] || die "$dir/hub/hub.pub missing (--reset to start over)"
hubkey=$(cat "$dir/hub/hub.pub")
for code in $codes; do
	if [ ! -f "$dir/$code/node.conf" ]; then
		out=$(ucr init node --municipality "$code" --dir "$dir/$code" \
			--hub "tcp://127.0.0.1:$port" --hub-key "$hubkey" --json)
		echo "$out" | public_key >"$dir/$code/node.pub"
	fi
	[ -s "$dir/$code/node.pub" ] || die "$dir/$code/node.pub missing (--reset to start over)"
done

# start_daemon NAME PROGRAM CONF PIDFILE LOG
start_daemon() {
	if [ -n "$(running_pid "$4" "$3")" ]; then
		echo "$1 runs already (pid $(cat "$4"))"
		return 0
	fi
	# setsid: the daemons outlive this script and its terminal. -d keeps
	# them in the foreground of their own session, logging to LOG.
	setsid "$2" -d -f "$3" </dev/null >>"$5" 2>&1 &
	echo $! >"$4"
	echo "started $1 (pid $!, log $5)"
}

# wait_for WHAT COMMAND...: poll until the command succeeds.
wait_for() {
	what=$1
	shift
	end=$(($(date +%s) + timeout))
	until "$@" >/dev/null 2>&1; do
		if [ "$(date +%s)" -ge "$end" ]; then
			echo "quickstart: timed out after ${timeout}s waiting for $what" >&2
			return 1
		fi
		sleep 0.2
	done
}

# alive NAME PIDFILE CONF LOG: fail with the log's tail if it died.
alive() {
	if [ -z "$(running_pid "$2" "$3")" ]; then
		echo "quickstart: $1 is not running; the end of $4:" >&2
		tail -n 20 "$4" >&2 || true
		exit 1
	fi
}

# wait_daemon NAME PIDFILE CONF LOG WHAT COMMAND...: wait_for, but give
# up at once, with the log, if the daemon dies (a port in use, say).
wait_daemon() {
	name=$1 pidf=$2 cf=$3 lg=$4 what=$5
	shift 5
	end=$(($(date +%s) + timeout))
	until "$@" >/dev/null 2>&1; do
		alive "$name" "$pidf" "$cf" "$lg"
		if [ "$(date +%s)" -ge "$end" ]; then
			echo "quickstart: timed out after ${timeout}s waiting for $what (log: $lg)" >&2
			exit 1
		fi
		sleep 0.2
	done
}

say "hub"
start_daemon ucr-hub ucr-hub "$hubconf" "$dir/hub/hub.pid" "$dir/hub/hub.log"
wait_daemon ucr-hub "$dir/hub/hub.pid" "$hubconf" "$dir/hub/hub.log" \
	"ucr-hub to answer" ucr -c "$hubconf" peers

# Enrol every node's key in the roster (a signed regional record).
roster=$(ucr -c "$hubconf" roster list)
for code in $codes; do
	key=$(cat "$dir/$code/node.pub")
	case "$roster" in
	*"$key"*) ;;
	*) ucr -c "$hubconf" roster add "$code" "$key" >/dev/null
	   echo "enrolled node $code" ;;
	esac
done

say "nodes"
for code in $codes; do
	start_daemon "ucr-node $code" ucr-node "$dir/$code/node.conf" \
		"$dir/$code/node.pid" "$dir/$code/node.log"
done
# A node opens local writes once the hub has answered its hello.
for code in $codes; do
	conf=$dir/$code/node.conf
	wait_daemon "ucr-node $code" "$dir/$code/node.pid" "$conf" \
		"$dir/$code/node.log" "node $code to reach the hub" \
		sh -c "ucr -c '$conf' peers --json | grep -q '\"state\": \"stream\"'"
done

# ------------------------------------------------------------ demo data

# load CONF FILE STAMP: import once; the stamp says it is done.
load() {
	if [ -f "$3" ]; then
		return 0
	fi
	if [ ! -f "$2" ]; then
		echo "quickstart: no demo file $2; skipped" >&2
		return 0
	fi
	ucr -c "$1" import "$2"
	touch "$3"
}

say "demo data (deploy/demo)"
load "$hubconf" "$src/deploy/demo/region.json" "$dir/hub/.demo-loaded"
# The programme's rules: its period (the seed's) and the region's network
# register, which goal R2 counts (docs/view.md).
if [ ! -f "$dir/hub/.rules-set" ]; then
	ucr -c "$hubconf" programme set --start 2008-01-01 --end 2010-06-30
	ucr -c "$hubconf" network register cold-climate-building \
	    --name "Nätverket för hållbart byggande och förvaltande i kallt klimat (network for sustainable building and management in a cold climate)" \
	    --alias "Nätverket för hållbart byggande och förvaltande i kallt klimat"
	ucr -c "$hubconf" network register public-health-group \
	    --name "Umeåregionens arbetsgrupp för folkhälsa (Umeå Region working group for public health)" \
	    --alias "Umeåregionens arbetsgrupp för folkhälsa"
	ucr -c "$hubconf" network register sis-tk-522 \
	    --name "SIS tekniska kommitté 522, Vägledningsstandard för hållbar utveckling i kommuner, landsting och regioner (SIS technical committee 522)" \
	    --alias "SIS/TK 522"
	ucr -c "$hubconf" network register eu-urban-consultation \
	    --name "Nationella samrådsgruppen för EU-samarbete om stadsutveckling (national consultation group for EU cooperation on urban development)" \
	    --alias "Nationella samrådsgruppen för EU-samarbete om stadsutveckling"
	ucr -c "$hubconf" network register civitas --scope international \
	    --name "Europeiska CIVITAS-nätverket för hållbara stadstransporter (European CIVITAS network for sustainable urban transport)" \
	    --alias "CIVITAS" --alias "Europeiska CIVITAS-nätverket för hållbara stadstransporter"
	touch "$dir/hub/.rules-set"
fi
for code in $codes; do
	load "$dir/$code/node.conf" "$src/deploy/demo/$code.json" "$dir/$code/.demo-loaded"
done

# ------------------------------------------------------------ sync

# Synced: the hub and every node print the same digest of the view.
view_digest() {
	ucr -c "$1" digest --json | sed -n 's/^ *"view_digest": *"\([0-9a-f]*\)".*/\1/p'
}
all_synced() {
	want=$(view_digest "$hubconf")
	[ -n "$want" ] || return 1
	for code in $codes; do
		[ "$(view_digest "$dir/$code/node.conf")" = "$want" ] || return 1
	done
}
say "waiting until every node holds what the hub holds"
wait_for "every node to sync" all_synced || {
	ucr -c "$hubconf" peers >&2 || true
	exit 1
}
echo "synced: hub and six nodes show view digest $(view_digest "$hubconf")"

# Convenience for the commands below.
cat >"$dir/env.sh" <<EOF
# . $dir/env.sh: the quickstart region's programs and the hub's config.
PATH=$bin:\$PATH
UCR_CONF=$hubconf
export PATH UCR_CONF
EOF

# The view as the municipalities read it, in the quickstart's language
# (Swedish unless --lang says otherwise), then in English (docs/cli.md:
# the language follows LANG).
say "ucr status (LANG=$LANG)"
ucr -c "$hubconf" status
say "ucr status, in English (LANG=C)"
LANG=C ucr -c "$hubconf" status

cat <<EOF

The region runs in $dir: ucr-hub on tcp://127.0.0.1:$port and six ucr-nodes
(2480 Umeå, 2403 Bjurholm, 2401 Nordmaling, 2409 Robertsfors, 2404 Vindeln,
2460 Vännäs), each with its own key, store, control socket and log file.

Run further commands against it. First, in your shell:
  . $dir/env.sh
This puts the programs on PATH and makes the hub's configuration the
default (UCR_CONF). Then, for example:
  ucr status                    the steering-group view (in your LANG)
  LANG=sv_SE.UTF-8 ucr status   the same, in Swedish; LANG=C: English
  ucr plan --priority P4        the joint action plan for one priority
  ucr peers                     the hub's nodes, connected or not, and their lag
  ucr report --html report.html the Regional Council's report
A node's view, and a write as Bjurholm's officer (reaches every node):
  ucr -c $dir/2403/node.conf cycle 2403
  ucr -c $dir/2403/node.conf measure N00401 2011 9.5
Logs: $dir/hub/hub.log and $dir/<code>/node.log

Stop it:     $0 --stop --dir $dir
Start again: $0 --dir $dir
Start over:  $0 --reset --dir $dir
EOF
