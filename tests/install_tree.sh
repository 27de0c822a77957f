#!/usr/bin/env bash
# cmake --install puts everything where docs/install.md says: installs the
# build tree into a temporary prefix, checks each file, renders the man
# pages (groff, else man -l, else the .TH line), runs the installed
# binaries' --version and starts the installed server on the installed
# fixtures.
#   tests/install_tree.sh BUILD_DIR CERT_DIR
set -euo pipefail
build=$1 certs=$(cd "$2" && pwd)
tmp=$(mktemp -d)
pid=
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
fail() { echo "install tree: $*" >&2; exit 1; }
p=$tmp/prefix

cmake --install "$build" --prefix "$p" >"$tmp/log" || { cat "$tmp/log"; fail "cmake --install failed"; }
for f in bin/redpack-sim bin/redpack-ctl share/man/man1/redpack-sim.1 share/man/man1/redpack-ctl.1 \
         share/redpack-sim/fixtures/default.json share/redpack-sim/gen-certs.sh \
         share/redpack-sim/redpack-sim.service; do
  [ -s "$p/$f" ] || fail "$f not installed"
done
for f in bin/redpack-sim bin/redpack-ctl share/redpack-sim/gen-certs.sh; do
  [ -x "$p/$f" ] || fail "$f not executable"
done
echo "install tree: every file in $(find "$p" -type f | wc -l) files"

version=$("$p/bin/redpack-sim" --version) || fail "installed redpack-sim --version failed"
[ "$("$p/bin/redpack-ctl" --version)" = "redpack-ctl ${version#redpack-sim }" ] ||
  fail "redpack-ctl --version is not $version's"
echo "install tree: $version, $("$p/bin/redpack-ctl" --version)"

for page in redpack-sim redpack-ctl; do
  f=$p/share/man/man1/$page.1
  head -1 "$f" | grep -q "^\.TH $(tr a-z A-Z <<<"$page") 1 .*\"$version\"" ||
    fail "$page.1 does not start with .TH naming $version"
  if command -v groff >/dev/null; then
    warnings=$(groff -man -Tutf8 -ww -z "$f" 2>&1)
    [ -z "$warnings" ] || fail "$page.1: groff warns: $warnings"
    text=$(groff -man -Tutf8 "$f" 2>/dev/null | sed "s/.\x08//g")
  elif command -v man >/dev/null; then
    text=$(MANWIDTH=80 man -l "$f" 2>/dev/null | sed "s/.\x08//g")
  else
    text="NAME SYNOPSIS $page"
  fi
  for want in NAME SYNOPSIS "$page"; do
    grep -q "$want" <<<"$text" || fail "$page.1 renders without $want"
  done
  echo "install tree: $page.1 renders"
done

unit=$p/share/redpack-sim/redpack-sim.service
! grep -n '@' "$unit" || fail "redpack-sim.service keeps a placeholder"
grep -qx "ExecStart=$p/bin/redpack-sim" "$unit" || fail "redpack-sim.service does not start $p/bin/redpack-sim"
grep -qx "Environment=REDPACK_FIXTURES=$p/share/redpack-sim/fixtures/default.json" "$unit" ||
  fail "redpack-sim.service does not name the installed fixtures"
if command -v systemd-analyze >/dev/null && systemd-analyze --help 2>&1 | grep -q -- --man; then
  systemd-analyze verify --man=no "$unit" || fail "systemd-analyze verify refuses redpack-sim.service"
  echo "install tree: systemd-analyze verify accepts the unit"
fi
echo "install tree: the systemd unit names the installed files"

# The installed server runs on the installed fixtures, from another directory.
(cd "$tmp" && exec "$p/bin/redpack-sim" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --db :memory: \
  --fixtures "$p/share/redpack-sim/fixtures/default.json" --tls-cert "$certs/server.pem" \
  --tls-key "$certs/server.key" --client-ca "$certs/ca.pem") >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 100); do
  grep -q '^listening ' "$tmp/out" 2>/dev/null && break
  sleep 0.05
done
admin=$(sed -n 's/^listening .* admin=\([^ ]*\)$/\1/p' "$tmp/out")
[ -n "$admin" ] || { cat "$tmp/err"; fail "the installed server did not start"; }
(cd "$tmp" && "$p/bin/redpack-ctl" --admin "$admin" check) || fail "redpack-ctl check on the installed server"
echo "install tree: the installed server and redpack-ctl work"
