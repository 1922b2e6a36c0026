#!/bin/sh
# Installs what Mizan needs to build, test and benchmark, from Debian's
# packages.  Run as root, or as a user who may sudo.
set -eu
packages="build-essential meson ninja-build pkg-config
  libmicrohttpd-dev libsqlite3-dev libcjson-dev liblua5.4-dev libsodium-dev libcsv-dev
  libcurl4-openssl-dev python3 python3-aiosmtpd sqlite3 curl
  gnuplot-nox fonts-dejavu-core fonts-noto-core chromium wrk"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
# shellcheck disable=SC2086
$sudo apt-get install -y -q --no-install-recommends $packages

# The browser tests (tests/browser) drive Debian's Chromium with playwright-core,
# pinned in tests/browser/package-lock.json; it needs Node.js >= 20 (Debian 12's
# nodejs is 18: use a newer one when it is older).
if ! command -v node >/dev/null 2>&1; then
	$sudo apt-get install -y -q --no-install-recommends nodejs npm
fi
if command -v npm >/dev/null 2>&1; then
	npm ci --prefix "$(dirname "$0")/browser" --no-audit --no-fund
else
	echo "deps.sh: npm is missing; the browser tests will not run" >&2
fi
