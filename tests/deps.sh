#!/bin/sh
# Installs what Mizan needs to build, test and benchmark, from Debian's
# packages.  Run as root, or as a user who may sudo.
set -eu
packages="build-essential meson ninja-build pkg-config
  libmicrohttpd-dev libsqlite3-dev libcjson-dev liblua5.4-dev libsodium-dev libcsv-dev
  libcurl4-openssl-dev python3 python3-aiosmtpd sqlite3 curl
  gnuplot-nox fonts-dejavu-core fonts-noto-core"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
# shellcheck disable=SC2086
$sudo apt-get install -y -q --no-install-recommends $packages
