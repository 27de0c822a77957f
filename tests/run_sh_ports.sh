#!/usr/bin/env bash
# scripts/run.sh prints its examples for the ports the server listens on:
# started with --listen / --admin-listen on port 0 (flags) and with
# REDPACK_LISTEN / REDPACK_ADMIN_LISTEN (environment), its examples name
# the ports of the server's first line, and run as printed they work.
#   tests/run_sh_ports.sh SERVER_BINARY CERT_DIR
set -euo pipefail
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") certs=$(cd "$2" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
pid=
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
fail() { echo "run.sh ports: $*" >&2; cat "$tmp/out" >&2 || true; exit 1; }

# try NAME ENV... -- ARGS...: runs scripts/run.sh, checks and runs its examples.
try() {
  local name=$1; shift
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  env REDPACK_SIM_BIN="$bin" REDPACK_CERTS="$certs" "${envs[@]}" \
    bash "$root/scripts/run.sh" --db :memory: "$@" >"$tmp/out" 2>"$tmp/err" &
  pid=$!
  for _ in $(seq 200); do
    grep -q '^Stop: Ctrl-C' "$tmp/out" 2>/dev/null && break
    sleep 0.05
  done
  grep -q '^Stop: Ctrl-C' "$tmp/out" || { cat "$tmp/err" >&2; fail "$name: no examples printed"; }
  local api admin
  api=$(sed -n 's/^listening api=\([^ ]*\) .*/\1/p' "$tmp/out")
  admin=$(sed -n 's/^listening .* admin=\([^ ]*\)$/\1/p' "$tmp/out")
  case "$api $admin" in *:0\ *|*:0|*:8443*|*:8444*) fail "$name: ports $api $admin" ;; esac
  grep -qx "    export REDPACK_API=$api REDPACK_ADMIN=$admin REDPACK_CERTS=$certs" "$tmp/out" ||
    fail "$name: the examples do not name $api and $admin"
  if grep '127\.0\.0\.1:844[34]' "$tmp/out"; then fail "$name: a default port in the examples"; fi
  # The indented lines, as a user would paste them, from the source tree.
  sed -n 's/^    //p' "$tmp/out" >"$tmp/paste.sh"
  local got
  got=$(cd "$root" && env -u REDPACK_API -u REDPACK_ADMIN bash -eo pipefail "$tmp/paste.sh" 2>&1) ||
    { echo "$got" >&2; fail "$name: the printed examples failed"; }
  grep -q '<result_code><!\[CDATA\[SUCCESS\]\]></result_code>' <<<"$got" || { echo "$got"; fail "$name: no SUCCESS"; }
  grep -q 'SENT' <<<"$got" || { echo "$got"; fail "$name: redpack-ctl packets shows no packet"; }
  grep -qx 'ok' <<<"$got" || { echo "$got"; fail "$name: /healthz did not answer ok"; }
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=
  echo "run.sh $name: examples for $api and $admin work"
}

try flags -- --listen 127.0.0.1:0 --admin-listen=127.0.0.1:0
try environment REDPACK_LISTEN=127.0.0.1:0 REDPACK_ADMIN_LISTEN=127.0.0.1:0 --
