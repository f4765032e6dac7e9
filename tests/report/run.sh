#!/bin/sh
# tests/report/run.sh BIN_DIR OUT_DIR: the Regional Council's report in a
# real browser. A real ucr-node (offline) gets the demo municipality
# Bjurholm (deploy/demo/2403.json and the Kolada sample); "ucr report
# --html" writes the report in English and in Swedish; headless Chromium
# loads each and axe-core (npm, installed under OUT_DIR) must find no
# serious or critical violation; Chromium also prints the Swedish report to
# OUT_DIR/report.pdf and takes OUT_DIR/report.png.
# Exit 77 (skipped) without chromium, node or npm, or when npm cannot
# install axe-core (no registry).
set -u
BIN=$1
OUT=$2
SRC=$(cd "$(dirname "$0")/../.." && pwd)
DEMO=$SRC/deploy/demo

skip() {
	echo "SKIP: $*"
	exit 77
}
fail() {
	echo "FAIL: $*"
	exit 1
}

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || skip "chromium is not installed (deploy/install-deps.sh)"
command -v node >/dev/null || skip "node is not installed (deploy/install-deps.sh)"
command -v npm >/dev/null || skip "npm is not installed (deploy/install-deps.sh)"

mkdir -p "$OUT" || fail "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)
NPM=$OUT/npm
if [ ! -f "$NPM/node_modules/axe-core/axe.min.js" ] ||
	[ ! -d "$NPM/node_modules/ws" ]; then
	mkdir -p "$NPM"
	npm install --silent --no-audit --no-fund --prefix "$NPM" \
		axe-core@4 ws@8 >"$OUT/npm.log" 2>&1 ||
		skip "npm could not install axe-core and ws (see $OUT/npm.log)"
fi

TMP=$(mktemp -d)
NODE_PID=
CHROME_PID=
cleanup() {
	[ -n "$CHROME_PID" ] && kill "$CHROME_PID" 2>/dev/null && wait "$CHROME_PID" 2>/dev/null
	[ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null && wait "$NODE_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

UCR=$BIN/ucr
"$UCR" init node --municipality 2403 --dir "$TMP/node" >/dev/null ||
	fail "ucr init node"
CONF=$TMP/node/node.conf
"$BIN/ucr-node" -d -f "$CONF" >"$TMP/node.log" 2>&1 &
NODE_PID=$!
i=0
while [ ! -S "$TMP/node/control.sock" ]; do
	i=$((i + 1))
	[ $i -le 100 ] || fail "ucr-node did not start: $(cat "$TMP/node.log")"
	sleep 0.1
done
"$UCR" -c "$CONF" import "$DEMO/2403.json" >/dev/null ||
	fail "import 2403.json"
"$UCR" -c "$CONF" import --kolada "$DEMO/kolada-sample.json" >/dev/null ||
	fail "import the Kolada sample"
"$UCR" -c "$CONF" indicator add N00401 --title "Greenhouse gas emissions" \
	--unit "t CO2e/inh" >/dev/null || fail "indicator add"

LANG=C LC_ALL=C "$UCR" -c "$CONF" report --html "$OUT/report.en.html" ||
	fail "ucr report (English)"
LANG=sv_SE.UTF-8 LC_ALL=sv_SE.UTF-8 "$UCR" -c "$CONF" report \
	--html "$OUT/report.sv.html" --since 2000-01-01 --json >"$TMP/sv.json" ||
	fail "ucr report (Swedish)"

# The report's structure, read from the file.
has() { # FILE TEXT WHAT
	grep -qF -- "$2" "$1" || fail "$3: no '$2' in $1"
}
has "$OUT/report.en.html" '<html lang=en>' "English lang"
has "$OUT/report.en.html" 'Sustainable Umeå region' "English title"
has "$OUT/report.sv.html" '<html lang=sv>' "Swedish lang"
has "$OUT/report.sv.html" 'Hållbara Umeåregionen' "Swedish title"
has "$OUT/report.sv.html" 'Sammanfattning' "Swedish summary"
has "$OUT/report.en.html" 'Greenhouse gas emissions (t CO2e/inh)' "indicator name and unit"
has "$OUT/report.en.html" '<sup class=p' "preliminary value marked"
has "$OUT/report.en.html" '@page{size:A4' "A4 page"
has "$OUT/report.en.html" 'counter(page)' "page numbers"
has "$OUT/report.en.html" 'Empty priority.' "empty priorities flagged"
has "$OUT/report.en.html" 'Needs a decision' "decisions in the summary"
has "$TMP/sv.json" '"since": "2000-01-01"' "--since"
grep -q '"changed": [1-9]' "$TMP/sv.json" || fail "--since 2000: nothing changed: $(cat "$TMP/sv.json")"
for f in "$OUT/report.en.html" "$OUT/report.sv.html"; do
	svg=$(grep -o '<svg' "$f" | wc -l)
	role=$(grep -o '<svg[^>]*role=img[^>]*><title id=[^>]*>[^<][^<]*</title><desc' "$f" | wc -l)
	[ "$svg" -gt 0 ] || fail "$f: no SVG"
	[ "$svg" -eq "$role" ] || fail "$f: $svg SVGs, $role with role=img, title and desc"
	tables=$(grep -o '<table>' "$f" | wc -l)
	caps=$(grep -o '<table><caption>' "$f" | wc -l)
	[ "$tables" -eq "$caps" ] || echo "note: $f: $tables tables, $caps with a caption"
done

# The browser.
PROFILE=$TMP/profile
FLAGS="--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
	--disable-background-networking --disable-component-update
	--disable-sync --disable-dev-shm-usage --user-data-dir=$PROFILE"
# shellcheck disable=SC2086
timeout 120 "$CHROMIUM" $FLAGS --no-pdf-header-footer \
	--print-to-pdf="$OUT/report.pdf" "file://$OUT/report.sv.html" \
	>"$TMP/pdf.log" 2>&1 || fail "chromium --print-to-pdf: $(tail -3 "$TMP/pdf.log")"
# shellcheck disable=SC2086
timeout 120 "$CHROMIUM" $FLAGS --window-size=900,1270 --hide-scrollbars \
	--screenshot="$OUT/report.png" "file://$OUT/report.sv.html" \
	>"$TMP/png.log" 2>&1 || fail "chromium --screenshot: $(tail -3 "$TMP/png.log")"
head -c 5 "$OUT/report.pdf" | grep -q '%PDF-' || fail "report.pdf is not a PDF"
pages=$(grep -ao '/Type */Page\b' "$OUT/report.pdf" | wc -l)
[ "$pages" -ge 3 ] || fail "report.pdf has $pages pages (the summary, the priorities, the municipalities)"
head -c 8 "$OUT/report.png" | grep -aq 'PNG' || fail "report.png is not a PNG"
echo "report.pdf: $pages pages; report.png: $(wc -c <"$OUT/report.png") bytes"

# shellcheck disable=SC2086
"$CHROMIUM" $FLAGS --remote-debugging-port=0 about:blank >"$TMP/cdp.log" 2>&1 &
CHROME_PID=$!
i=0
while [ ! -s "$PROFILE/DevToolsActivePort" ]; do
	i=$((i + 1))
	[ $i -le 300 ] || fail "chromium did not open its DevTools port: $(tail -3 "$TMP/cdp.log")"
	sleep 0.1
done
PORT=$(head -1 "$PROFILE/DevToolsActivePort")
rc=0
for lang in en sv; do
	echo "axe-core on report.$lang.html:"
	NODE_PATH=$NPM/node_modules timeout 120 node "$SRC/tests/report/axe-run.js" \
		"$PORT" "$OUT/report.$lang.html" \
		"$NPM/node_modules/axe-core/axe.min.js" >"$OUT/axe.$lang.json" 2>&1
	r=$?
	cat "$OUT/axe.$lang.json"
	[ $r -eq 0 ] || { echo "FAIL: axe-core ($lang): exit $r"; rc=1; }
	has "$OUT/axe.$lang.json" "\"lang\": \"$lang\"" "the page's language"
	# the summary fits the first page
	b=$(sed -n 's/.*"summary_bottom_px": \(-*[0-9]*\).*/\1/p' "$OUT/axe.$lang.json")
	h=$(sed -n 's/.*"page_height_px": \([0-9]*\).*/\1/p' "$OUT/axe.$lang.json")
	[ -n "$b" ] && [ "$b" -gt 0 ] && [ "$b" -le "$h" ] ||
		{ echo "FAIL: the summary ($lang) ends at ${b}px, the first page at ${h}px"; rc=1; }
done
[ $rc -eq 0 ] && echo "PASS: report (en, sv) in Chromium, no serious or critical axe violation"
exit $rc
