#!/usr/bin/env bash
# The README's examples must work as written, on ports other than the
# defaults: start the real server on port 0, take the sh blocks of "The two
# commands" (but the first, which installs and builds) and of "Common jobs"
# out of README.md, and run each with REDPACK_API, REDPACK_ADMIN and
# REDPACK_CERTS pointing at that server, then check what each printed. A
# walk-through that hard-codes a port, or a README that drifts from what is
# checked here, fails.
#   tests/readme_example.sh SERVER_BINARY CERT_DIR
set -euo pipefail
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") certs=$(cd "$2" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
pid=; trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
fail() { echo "readme example: $*" >&2; exit 1; }

# The sh blocks of section $1, one file each: $tmp/<slug>.<n>.sh.
extract() {
  awk -v section="## $1" -v out="$tmp/$2" '
    /^## / { inside = ($0 == section) }
    inside && /^```sh$/ { n++; block = 1; next }
    inside && block && /^```$/ { block = 0; next }
    inside && block { print > (out "." n ".sh") }
  ' "$root/README.md"
}
extract "The two commands" two
extract "Common jobs" jobs
[ -f "$tmp/two.2.sh" ] && [ ! -f "$tmp/two.3.sh" ] || fail "\"The two commands\" has not 2 sh blocks"
[ -f "$tmp/jobs.3.sh" ] && [ ! -f "$tmp/jobs.4.sh" ] || fail "\"Common jobs\" has not 3 sh blocks"
# Only the default of $REDPACK_ADMIN (and comments) may name a port.
for f in "$tmp"/two.2.sh "$tmp"/jobs.*.sh; do
  if sed 's/ *#.*//' "$f" | grep -n '127\.0\.0\.1:84' | grep -v ':REDPACK_ADMIN=${REDPACK_ADMIN:-http://127.0.0.1:8444}$'; then
    fail "a README walk-through names a port instead of \$REDPACK_API / \$REDPACK_ADMIN"
  fi
done

"$bin" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --db :memory: \
  --fixtures "$root/fixtures/default.json" --tls-cert "$certs/server.pem" \
  --tls-key "$certs/server.key" --client-ca "$certs/ca.pem" >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 100); do
  grep -q '^listening ' "$tmp/out" 2>/dev/null && break
  sleep 0.05
done
api=$(sed -n 's/^listening api=\([^ ]*\) .*/\1/p' "$tmp/out")
admin=$(sed -n 's/^listening .* admin=\([^ ]*\)$/\1/p' "$tmp/out")
[ -n "$api" ] || { echo "server did not start:"; cat "$tmp/err"; exit 1; }
case "$api$admin" in *:8443*|*:8444*) fail "port 0 gave a default port: $api $admin" ;; esac

# The README's blocks run from a directory like the source tree: scripts/,
# fixtures/ and build/ (the binaries under test).
work=$tmp/work
mkdir "$work"
ln -s "$root/scripts" "$work/scripts"
ln -s "$root/fixtures" "$work/fixtures"
ln -s "$(dirname "$bin")" "$work/build"
export REDPACK_API=$api REDPACK_ADMIN=$admin REDPACK_CERTS=$certs
run() { (cd "$work" && bash -eo pipefail "$1") 2>&1 || { cat "$1" >&2; fail "$1 failed"; }; }
ctl=$(dirname "$bin")/redpack-ctl
has() { grep -q -- "$2" <<<"$1" || { echo "$1"; fail "no \"$2\" in the answer of $3"; }; }

# The two commands: the example send.
answer=$(run "$tmp/two.2.sh")
echo "$answer"
has "$answer" '<result_code><!\[CDATA\[SUCCESS\]\]></result_code>' "the example send"
grep -Eq '<send_listid><!\[CDATA\[1000041701[0-9]{8}30[0-9]{11}\]\]></send_listid>' <<<"$answer" ||
  fail "no send_listid in the example send"
echo "readme example: SUCCESS"

# A fault rule: both rules added; then removed, for what follows.
out=$(run "$tmp/jobs.1.sh")
has "$out" '"err_code":"NOTENOUGH"' "the fault rules"
has "$out" '"transport":"reset"' "the fault rules"
[ "$(curl -sS "$admin/admin/v1/faults" | grep -o '"id":' | wc -l)" = 2 ] || fail "not 2 fault rules"
curl -sS -X DELETE "$admin/admin/v1/faults" >/dev/null
echo "readme fault rules: 2 added"

# Move the clock and claim: send, claim, a day later the rest is refunded.
out=$(run "$tmp/jobs.2.sh")
echo "$out"
has "$out" '<err_code><!\[CDATA\[SUCCESS\]\]></err_code>' "the walk-through's send"
has "$out" '"seq":0' "the claim"
has "$out" '"offset_seconds":86400' "the clock"
has "$out" '<status><!\[CDATA\[REFUND\]\]></status>' "the query"
has "$out" '<refund_amount>[0-9]*</refund_amount>' "the query"
has "$out" '<hbinfo>' "the query"
"$ctl" check
echo "readme lifecycle: REFUND"

# Check what your code sent: one send to oUser1, then the block.
(cd "$work" && build/redpack-ctl send --set re_openid=oUser1 >/dev/null)
out=$(run "$tmp/jobs.3.sh")
echo "$out"
has "$out" 'ok: 1 request(s) matching endpoint=sendgroupredpack re_openid=oUser1' "verify"
echo "readme verification: ok"

# Reset between tests: the inline curl, as written.
reset=$(awk '/^## /{inside=($0=="## Common jobs")} inside' "$root/README.md" |
  grep -o '`curl -X POST "$REDPACK_ADMIN/admin/v1/reset[^`]*`' | tr -d '`')
[ -n "$reset" ] || fail "no reset curl in \"Common jobs\""
printf '%s\n' "$reset" >"$tmp/reset.sh"
out=$(run "$tmp/reset.sh")
has "$out" '"milliseconds"' "the reset"
has "$(curl -sS "$admin/admin/v1/clock")" '"offset_seconds":0' "the clock after the reset"
echo "readme reset: back to the fixtures"
