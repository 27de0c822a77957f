#!/usr/bin/env bash
# Fresh Debian 12 machine -> a running redpack-sim with the demo world.
# Installs what is missing, builds, makes demo certificates in var/certs,
# runs the server in the foreground and, once it listens, prints
# copy-paste examples for the ports it actually listens on (read from its
# first line, "listening api=https://HOST:PORT admin=http://HOST:PORT").
#   scripts/run.sh [REDPACK-SIM FLAGS...]
# Extra arguments go to redpack-sim, for example
#   scripts/run.sh --listen 127.0.0.1:18443 --admin-listen 127.0.0.1:18444
# (REDPACK_LISTEN and REDPACK_ADMIN_LISTEN, or port 0, work too).
# REDPACK_SIM_BIN=FILE runs that binary instead (no setup, no build);
# REDPACK_CERTS=DIR takes the certificates from DIR instead of var/certs.
set -euo pipefail
cd "$(dirname "$0")/.."

# The examples, for the API and control API base URLs $1 and $2.
examples() {
  local api=$1 admin=$2 certs=${REDPACK_CERTS:-var/certs} ctl
  ctl=$(dirname "$bin")/redpack-ctl
  cat <<TXT
redpack-sim: demo merchant 10000098 (key 192006250b4c09247ec02edce69f6a2d),
certificates in $certs. In another shell, here:

    export REDPACK_API=$api REDPACK_ADMIN=$admin${REDPACK_CERTS:+ REDPACK_CERTS=$certs}
    scripts/example-send.sh           # send a group red packet
    $ctl packets    # the packets it holds
    curl \$REDPACK_ADMIN/healthz

Stop: Ctrl-C
TXT
}

# A URL a client can reach: a wildcard listen address means this host.
reachable() {
  sed -e 's#//0\.0\.0\.0:#//127.0.0.1:#' -e 's#//\[::\]:#//[::1]:#' <<<"$1"
}

# Reads the server's stdout: its first line, then the examples for the
# ports in it, then the rest as it comes. Ctrl-C is for the server: this
# ends when the server closes its stdout.
announce() {
  trap '' INT
  local line api admin
  IFS= read -r line || exit 0
  printf '%s\n' "$line"
  api=$(sed -n 's/^listening api=\([^ ]*\) .*/\1/p' <<<"$line")
  admin=$(sed -n 's/^listening .* admin=\([^ ]*\)$/\1/p' <<<"$line")
  if [ -n "$api" ] && [ -n "$admin" ]; then
    examples "$(reachable "$api")" "$(reachable "$admin")"
  fi
  exec cat
}

bin=${REDPACK_SIM_BIN:-build/redpack-sim}
certs=${REDPACK_CERTS:-var/certs}
if [ -z "${REDPACK_SIM_BIN:-}" ]; then
  bash scripts/setup.sh
  bash scripts/build.sh build
fi
mkdir -p var
if [ ! -f "$certs/ca.pem" ]; then
  mkdir -p "$certs"
  bash scripts/gen-certs.sh "$certs" fixtures/default.json
fi
exec "$bin" --fixtures fixtures/default.json --db var/redpack.db \
  --tls-cert "$certs/server.pem" --tls-key "$certs/server.key" --client-ca "$certs/ca.pem" \
  "$@" > >(announce)
