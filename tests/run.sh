#!/bin/sh
# tests/run.sh: the one command that sets up a fresh Debian 12 machine and
# runs every test: installs the Debian packages UCR needs, configures and
# builds from scratch, runs the test suite, then runs it again in a build
# with AddressSanitizer and UndefinedBehaviorSanitizer.
#
#   ./tests/run.sh            everything
#   ./tests/run.sh --no-deps  skip apt-get (packages already installed)
#   ./tests/run.sh --no-asan  skip the sanitizer run
#   ./tests/run.sh --no-fuzz  skip the fuzzers
#   ./tests/run.sh --no-chaos skip tests/chaos/run.sh --ci (after the suite)
#
# Last, when clang is there, every libFuzzer harness in fuzz/ runs for
# 30 s under AddressSanitizer and UndefinedBehaviorSanitizer (fuzz/run.sh;
# UCR_FUZZ_SECONDS changes the time).
set -eu
cd "$(dirname "$0")/.."

deps=1
asan=1
fuzz=1
chaos=1
for arg in "$@"; do
	case "$arg" in
	--no-deps) deps=0 ;;
	--no-asan) asan=0 ;;
	--no-fuzz) fuzz=0 ;;
	--no-chaos) chaos=0 ;;
	*) echo "usage: tests/run.sh [--no-deps] [--no-asan] [--no-fuzz] [--no-chaos]" >&2; exit 2 ;;
	esac
done

if [ "$deps" = 1 ]; then
	./deploy/install-deps.sh
fi

jobs=$(nproc 2>/dev/null || echo 2)

run_suite() {
	dir=$1
	shift
	rm -rf "$dir"
	cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
	cmake --build "$dir" -j"$jobs"
	(cd "$dir" && ctest --output-on-failure -j"$jobs")
}

# Release 0.1.0's programs for tests/mixed, built once for both suites.
mixed="-DUCR_MIXED_CACHE=$PWD/build-mixed"

# The main suite runs the Release build (-O3, as bench/ builds it), so a
# warning only -O3 finds fails here.
echo "== build (Release) and test"
run_suite build-test "$mixed" -DCMAKE_BUILD_TYPE=Release

if [ "$chaos" = 1 ]; then
	echo "== chaos: kill -9, partitions, a slow link, restores (tests/chaos/run.sh --ci)"
	UCR_BIN="$PWD/build-test/bin" ./tests/chaos/run.sh --ci
fi

if [ "$asan" = 1 ]; then
	echo "== build and test with AddressSanitizer and UndefinedBehaviorSanitizer"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_suite build-asan -DUCR_SANITIZE=ON "$mixed"
fi
if [ "$fuzz" = 1 ]; then
	if command -v clang >/dev/null 2>&1; then
		echo "== fuzz every harness for ${UCR_FUZZ_SECONDS:-30} s (ASan, UBSan)"
		./fuzz/run.sh "${UCR_FUZZ_SECONDS:-30}"
	else
		echo "== clang not found: fuzzers skipped"
	fi
fi
echo "all tests passed"
