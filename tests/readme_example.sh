#!/usr/bin/env bash
# The README's example must work: start the real server on port 0, run
# scripts/example-send.sh against it, expect SUCCESS with a send_listid.
#   tests/readme_example.sh SERVER_BINARY CERT_DIR
set -euo pipefail
bin=$1 certs=$2
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT

"$bin" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --db "$tmp/db" \
  --fixtures "$root/fixtures/default.json" --tls-cert "$certs/server.pem" \
  --tls-key "$certs/server.key" --client-ca "$certs/ca.pem" >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 100); do
  grep -q '^listening ' "$tmp/out" 2>/dev/null && break
  sleep 0.05
done
api=$(sed -n 's/^listening api=\([^ ]*\) .*/\1/p' "$tmp/out")
[ -n "$api" ] || { echo "server did not start:"; cat "$tmp/err"; exit 1; }

answer=$(cd "$root" && bash scripts/example-send.sh "$api" "$certs")
echo "$answer"
grep -q '<result_code><!\[CDATA\[SUCCESS\]\]></result_code>' <<<"$answer"
grep -Eq '<send_listid><!\[CDATA\[1000041701[0-9]{8}30[0-9]{11}\]\]></send_listid>' <<<"$answer"
echo "readme example: SUCCESS"
