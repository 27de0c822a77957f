#!/usr/bin/env bash
# redpack-ctl's command line, no server needed: --version is the server's
# version, every unknown option is named with its command (exit 2), and
# run from another directory a missing file is "cannot open FILE: reason".
#   tests/ctl_cli.sh CTL_BINARY SERVER_BINARY
set -uo pipefail
ctl=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") sim=$2
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

# expect RC STDERR-LINE ARGS...: exit status RC and that exact line on stderr.
expect() {
  local rc=$1 want=$2; shift 2
  (cd "$tmp" && env -u REDPACK_FIXTURES -u REDPACK_CERTS "$ctl" "$@") >"$tmp/o" 2>"$tmp/e"
  local got=$?
  if [ "$got" != "$rc" ] || ! grep -qxF -- "$want" "$tmp/e"; then
    echo "FAIL: redpack-ctl $*: exit $got (want $rc), stderr:" && cat "$tmp/e"
    echo "  wanted: $want"
    failed=1
  else
    echo "ok: redpack-ctl $* -> $want"
  fi
}

version=$("$ctl" --version)
[ "$version" = "redpack-ctl ${version#redpack-ctl }" ] && [ "${version#redpack-ctl }" = "$("$sim" --version | sed 's/^redpack-sim //')" ] ||
  { echo "FAIL: redpack-ctl --version: '$version', redpack-sim --version: '$("$sim" --version)'"; failed=1; }
echo "ok: $version"

expect 2 "redpack-ctl: unknown option '--mchid' for packets (see redpack-ctl packets --help)" packets --mchid 1
expect 2 "redpack-ctl: unknown option '--mchid' for packets (see redpack-ctl packets --help)" packets --mchid=1
expect 2 "redpack-ctl: unknown option '-m' for packets (see redpack-ctl packets --help)" packets -m 1
expect 2 "redpack-ctl: unknown option '--bogus' (see redpack-ctl --help)" --bogus check
expect 2 "redpack-ctl: unknown command 'frob' (see redpack-ctl --help)" frob
expect 2 "redpack-ctl: unknown option '--bogus' for send (see redpack-ctl send --help)" send --bogus x
expect 2 "redpack-ctl: unknown option '--nope' for faults add (see redpack-ctl faults add --help)" faults add --nope 1
expect 2 "redpack-ctl: unknown option '--mch' for verify (see redpack-ctl verify --help)" verify --count 1 --mch 1
expect 2 "redpack-ctl: unknown option '--x' for check (see redpack-ctl check --help)" check --x
expect 2 "redpack-ctl: option '--status' needs a value for packets (see redpack-ctl packets --help)" packets --status
expect 2 "redpack-ctl: unexpected argument 'extra' for check (see redpack-ctl check --help)" check extra
expect 2 "redpack-ctl: option '--markdown=1' takes no value for errors (see redpack-ctl errors --help)" errors --markdown=1
expect 2 "redpack-ctl: bad value --err-code 'a b' for journal (see redpack-ctl journal --help)" journal --err-code 'a b'
expect 2 "redpack-ctl: --timeout needs a positive number of seconds, not 'x'" --timeout=x check
# Run from another directory: the files the defaults name are missing.
expect 2 "redpack-ctl: cannot open fixtures/default.json: No such file or directory (give --fixtures FILE)" send
expect 2 "redpack-ctl: cannot open $tmp/none.json: No such file or directory (give --fixtures FILE)" send --fixtures "$tmp/none.json"
expect 2 "redpack-ctl: cannot open var/certs/ca.pem: No such file or directory (give --certs DIR, made by scripts/gen-certs.sh)" send --fixtures "$root/fixtures/default.json"
expect 2 "redpack-ctl: cannot open missing.xml: No such file or directory" send --raw missing.xml
expect 2 "redpack-ctl: $root/fixtures/default.json lists no merchant 12345678 (give --key and --set)" send --fixtures "$root/fixtures/default.json" --mch-id 12345678
if grep -q 'lists no merchant' <(cd "$tmp" && "$ctl" send 2>&1); then
  echo "FAIL: a missing fixtures file reported as 'lists no merchant'"; failed=1
fi
exit $failed
