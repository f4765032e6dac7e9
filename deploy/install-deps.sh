#!/bin/sh
# deploy/install-deps.sh: install the Debian 12 packages UCR builds, runs
# and tests with (docs/dependencies.md says why each one is there).
set -eu
packages="build-essential cmake pkg-config
	libzmq3-dev libprotobuf-c-dev protobuf-c-compiler liblmdb-dev lmdb-utils
	libsodium-dev libinih-dev libjansson-dev libcsv-dev libcriterion-dev
	libxlsxwriter-dev libcurl4-openssl-dev unzip gettext locales
	systemd adduser clang libclang-rt-14-dev jq iproute2
	chromium"
# Node.js and npm run the report's browser test (axe-core) only. A machine
# may already have them from another source (a nodejs build that carries
# its own npm conflicts with Debian's npm package): take Debian's only
# where the commands are missing.
command -v node >/dev/null 2>&1 || packages="$packages nodejs"
command -v npm >/dev/null 2>&1 || packages="$packages npm"
SUDO=
if [ "$(id -u)" != 0 ]; then
	SUDO=sudo
fi
missing=
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "installing:$missing"
	$SUDO apt-get update
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $missing
fi
# Swedish messages (po/sv.po) need the sv_SE.UTF-8 locale; the tests run
# "LANG=sv_SE.UTF-8 ucr status".
if ! locale -a 2>/dev/null | grep -qix 'sv_SE\.utf-\?8'; then
	echo "generating the sv_SE.UTF-8 locale"
	if grep -q '^# *sv_SE.UTF-8 UTF-8' /etc/locale.gen; then
		$SUDO sed -i 's/^# *sv_SE.UTF-8 UTF-8/sv_SE.UTF-8 UTF-8/' /etc/locale.gen
	elif ! grep -q '^sv_SE.UTF-8 UTF-8' /etc/locale.gen; then
		echo 'sv_SE.UTF-8 UTF-8' | $SUDO tee -a /etc/locale.gen >/dev/null
	fi
	$SUDO locale-gen
fi
