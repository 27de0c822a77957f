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

# The README's lifecycle walk-through: send, query, claim, advance the
# clock a day, query again -> REFUND of the unopened rest.
admin=$(sed -n 's/^listening .* admin=\([^ ]*\)$/\1/p' "$tmp/out")
billno=10000098202611270000000042
sent=$(cd "$root" && BILLNO=$billno bash scripts/example-send.sh "$api" "$certs")
grep -q '<err_code><!\[CDATA\[SUCCESS\]\]></err_code>' <<<"$sent"
before=$(cd "$root" && bash scripts/example-query.sh $billno "$api" "$certs")
grep -q '<status><!\[CDATA\[SENT\]\]></status>' <<<"$before"
claim=$(curl -sS -X POST "$admin/admin/v1/packets/$billno/claims" -d '{"openid": "oxTWIuGaIt6gTKsQRLau2M0yL16E"}')
grep -q '"seq":0' <<<"$claim"
clock=$(curl -sS -X POST "$admin/admin/v1/clock" -d '{"advance_seconds": 86400}')
grep -q '"offset_seconds":86400' <<<"$clock"
after=$(cd "$root" && bash scripts/example-query.sh $billno "$api" "$certs")
echo "$after"
grep -q '<status><!\[CDATA\[REFUND\]\]></status>' <<<"$after"
grep -q '<refund_amount>[0-9]*</refund_amount>' <<<"$after"
grep -q '<hbinfo>' <<<"$after"
"$(dirname "$bin")/redpack-ctl" --admin "$admin" check
echo "readme lifecycle: REFUND"
