#!/usr/bin/env bash
# redpack-ctl's command line, no server needed: --version is the server's
# version, every unknown option is named with its command (exit 2), run
# from another directory a missing file is "cannot open FILE: reason", and
# `redpack-ctl fixtures` checks a fixtures file as scripts/gen-certs.sh
# does, which uses it where python3 is missing.
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

# redpack-ctl fixtures: the checks of scripts/gen-certs.sh, offline.
printf '{"merchants": [{"mch_id": "1", "name": "a"}, {"mch_id": "1", "name": "b"}]}' >"$tmp/dup.json"
printf '{"merchants": [{"mch_id": "12a", "name": "a"}]}' >"$tmp/id.json"
printf '{"merchants": [{"mch_id": "1", "name": "\\u3000 "}]}' >"$tmp/blank.json"
printf '{"users": []}' >"$tmp/none.json"
expect 1 "redpack-ctl: dup.json: duplicate mch_id 1" fixtures dup.json
expect 1 "redpack-ctl: id.json: merchants[0].mch_id must be a string of digits, got '12a'" fixtures id.json
expect 1 "redpack-ctl: blank.json: merchants[0].name must be a non-empty string without control characters" fixtures blank.json
expect 1 'redpack-ctl: none.json: expected {"merchants": [ ... ]} with at least one merchant' fixtures none.json
expect 2 "redpack-ctl: cannot open missing.json: No such file or directory" fixtures missing.json
expect 2 "redpack-ctl: unexpected argument 'b.json' for fixtures (see redpack-ctl fixtures --help)" fixtures a.json b.json
want=$(grep -o '"mch_id": *"[0-9]*"' "$root/fixtures/default.json" | grep -o '[0-9][0-9]*' | paste -sd' ' -)
got=$("$ctl" fixtures "$root/fixtures/default.json" | cut -f1 | paste -sd' ' -)
if [ -n "$want" ] && [ "$got" = "$want" ] && [ "$(REDPACK_FIXTURES=$root/fixtures/default.json "$ctl" fixtures | grep -c $'^[0-9]*\t.')" = "$(wc -w <<<"$want")" ]; then
  echo "ok: redpack-ctl fixtures lists the merchants of fixtures/default.json: $got"
else
  echo "FAIL: redpack-ctl fixtures fixtures/default.json: '$got', want '$want'"; failed=1
fi

# gen-certs.sh where python3 is missing (as in the container image) reads the
# fixtures with redpack-ctl from PATH: the same subjects as with python3,
# escapes for -subj and all.
printf '{"merchants": [{"mch_id": "7", "name": "A/B+C\\\\D 公司"}, {"mch_id": "8", "name": "x"}]}' >"$tmp/subj.json"
mkdir -p "$tmp/bin"
for c in openssl sed mktemp find mv mkdir dirname cat tr cp rm; do ln -s "$(command -v "$c")" "$tmp/bin/$c"; done
ln -s "$ctl" "$tmp/bin/redpack-ctl"
subjects() { for m in 7 8 expired; do openssl x509 -in "$1/$m/apiclient_cert.pem" -noout -subject -nameopt RFC2253; done; }
if PATH=$tmp/bin "$BASH" "$root/scripts/gen-certs.sh" "$tmp/c-ctl" "$tmp/subj.json" 2>"$tmp/e" &&
   bash "$root/scripts/gen-certs.sh" "$tmp/c-py" "$tmp/subj.json" 2>>"$tmp/e" &&
   [ "$(subjects "$tmp/c-ctl")" = "$(subjects "$tmp/c-py")" ]; then
  echo "ok: gen-certs.sh without python3 (redpack-ctl fixtures): $(subjects "$tmp/c-ctl" | head -1)"
else
  echo "FAIL: gen-certs.sh without python3:"; cat "$tmp/e"; diff <(subjects "$tmp/c-ctl") <(subjects "$tmp/c-py"); failed=1
fi
exit $failed
