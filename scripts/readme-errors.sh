#!/usr/bin/env bash
# The README's error table comes from the server's own catalogue
# (GET /admin/v1/errors through redpack-ctl errors --markdown), so the two
# cannot drift.
#   scripts/readme-errors.sh [--check] [BUILD_DIR]
# Without --check it rewrites the block between the README's
# "<!-- errors:begin -->" and "<!-- errors:end -->" markers; with --check
# it exits 1 when the block differs from the catalogue.
set -euo pipefail
cd "$(dirname "$0")/.."
check=0
[ "${1:-}" = --check ] && { check=1; shift; }
build=${1:-build}
tmp=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
# The catalogue needs no certificates, but the server does: use throw-away ones.
bash scripts/gen-certs.sh "$tmp/certs" fixtures/default.json 2>/dev/null
"$build/redpack-sim" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --db :memory: \
  --tls-cert "$tmp/certs/server.pem" --tls-key "$tmp/certs/server.key" \
  --client-ca "$tmp/certs/ca.pem" >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 100); do grep -q '^listening ' "$tmp/out" 2>/dev/null && break; sleep 0.05; done
admin=$(sed -n 's/^listening .* admin=\([^ ]*\)$/\1/p' "$tmp/out")
"$build/redpack-ctl" --admin "$admin" errors --markdown >"$tmp/table"
python3 - "$check" "$tmp/table" <<'PY'
import sys
check, table = sys.argv[1] == "1", open(sys.argv[2], encoding="utf-8").read()
readme = open("README.md", encoding="utf-8").read()
begin, end = "<!-- errors:begin -->\n", "<!-- errors:end -->"
head, rest = readme.split(begin, 1)
old, tail = rest.split(end, 1)
if check:
    if old != table:
        sys.exit("README.md: the error table differs from the catalogue; run scripts/readme-errors.sh")
    print("README error table matches the catalogue (%d rows)" % (table.count("\n") - 2))
else:
    open("README.md", "w", encoding="utf-8").write(head + begin + table + end + tail)
PY
