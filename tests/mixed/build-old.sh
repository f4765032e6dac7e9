#!/bin/sh
# tests/mixed/build-old.sh CACHE_DIR: build release 0.1.0's programs
# (ucr, ucr-node, ucr-hub) from this repository's own history, commit
# 94f4af5 (the commit tests/data/release-0.1.0 was made with), into
# CACHE_DIR/release-0.1.0/bin, and print that folder. A second run with
# the programs there (and the stamp naming the commit) does nothing.
#
# Exit 77 (skip) when the commit is not in the history (a shallow clone,
# or a source tree without .git), 1 when the build fails.
set -u
COMMIT=94f4af5c4f4a8f2375ff60b9d789e7c3200b8984
SRC=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -eq 1 ] || { echo "usage: tests/mixed/build-old.sh CACHE_DIR" >&2; exit 2; }
mkdir -p "$1" || exit 1
OUT=$(cd "$1" && pwd)/release-0.1.0
BIN=$OUT/build/bin

if [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$COMMIT" ] &&
	[ -x "$BIN/ucr" ] && [ -x "$BIN/ucr-node" ] && [ -x "$BIN/ucr-hub" ]; then
	echo "$BIN"
	exit 0
fi
if ! command -v git >/dev/null 2>&1 ||
	! git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
	echo "SKIP: $SRC is not a git checkout: release 0.1.0 cannot be built from its history" >&2
	exit 77
fi
if ! git -C "$SRC" cat-file -e "$COMMIT^{commit}" 2>/dev/null; then
	shallow=$(git -C "$SRC" rev-parse --is-shallow-repository 2>/dev/null)
	echo "SKIP: commit $COMMIT (release 0.1.0) is not in this clone's history (shallow: ${shallow:-unknown}); clone with full history (git fetch --unshallow)" >&2
	exit 77
fi

rm -rf "$OUT"
mkdir -p "$OUT/src" || exit 1
git -C "$SRC" archive "$COMMIT" | tar -x -C "$OUT/src" || {
	echo "FAIL: git archive $COMMIT" >&2
	exit 1
}
# Only the three programs: Release, no tests, at most two jobs.
if ! cmake -S "$OUT/src" -B "$OUT/build" -DCMAKE_BUILD_TYPE=Release \
	-DUCR_TESTS=OFF -DUCR_SANITIZE=OFF >"$OUT/build.log" 2>&1 ||
	! cmake --build "$OUT/build" -j2 --target ucr ucr-node ucr-hub \
		>>"$OUT/build.log" 2>&1; then
	echo "FAIL: release 0.1.0 does not build; see $OUT/build.log" >&2
	tail -20 "$OUT/build.log" >&2
	exit 1
fi
echo "$COMMIT" >"$OUT/stamp"
echo "$BIN"
