#!/usr/bin/env bash
# Installs every Debian package redpack-sim needs to build, run and test.
# Idempotent: prints nothing and installs nothing when all are present.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libevent-dev libssl-dev libxml2-dev libsqlite3-dev libjansson-dev libjemalloc-dev
  openssl python3 python3-jsonschema python3-pytest curl
  php-cli php-curl phpunit
  default-jdk-headless junit5
  clang libclang-rt-14-dev llvm clang-format
  nginx sqlite3 haproxy
  postgresql libpq-dev
  chromium fonts-wqy-microhei
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
