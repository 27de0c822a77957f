#!/usr/bin/env bash
# Generates the TLS material redpack-sim and its tests need: a test CA, a server
# certificate for 127.0.0.1/::1/localhost, one WeChat-Pay-shaped merchant API
# certificate per fixture merchant, plus an untrusted and an expired client
# certificate for the first merchant (negative tests).
#
# Only the openssl CLI is used, and for the fixtures' JSON python3 (stdlib) or,
# with --ctl or where python3 is missing, `redpack-ctl fixtures` (the container
# image has no python3). Everything is built in a temp dir under DIR and moved
# into place at the end, so a failed run leaves the previous certificates
# untouched.
set -euo pipefail

prog=gen-certs
usage="usage: gen-certs.sh [--ctl REDPACK_CTL] DIR [FIXTURES]"

# Real merchant certificates carry this O; the Chinese text is the point of
# several tests, so it must survive as a UTF8String.
readonly WECHAT_O="微信商户系统"
readonly CLIENT_DAYS=1825   # WeChat merchant certificates are valid 5 years
readonly SERVER_DAYS=825    # longest validity Apple/Chrome accept for TLS servers
readonly CA_DAYS=3650

die() { echo "$prog: $*" >&2; exit 1; }

print_help() {
  cat <<EOF
$usage

Writes to DIR:
  ca.pem ca.key                     test CA
  server.pem server.key             server cert (127.0.0.1, ::1, localhost)
  <mch_id>/apiclient_cert.pem       per fixture merchant; .p12 password = mch_id
  <mch_id>/apiclient_key.pem
  <mch_id>/apiclient_cert.p12
  untrusted/ca.pem apiclient_cert.pem apiclient_key.pem   other CA, first merchant
  expired/apiclient_cert.pem apiclient_key.pem            trusted CA, expired 2021

FIXTURES defaults to fixtures/default.json in the repository. The
merchants are read with python3; with --ctl (a path, or a name in PATH),
or where python3 is missing, with "redpack-ctl fixtures FIXTURES".
EOF
}

# Runs a command with its chatter captured; shows it only when the command fails,
# so a successful run stays quiet.
run() {
  if ! "$@" >"$work/last.log" 2>&1; then
    echo "$prog: failed: $*" >&2
    cat "$work/last.log" >&2
    exit 1
  fi
}

# Prints "mch_id<TAB>OU-for-subj" per merchant, after validating the fixtures.
# The name is escaped for `openssl -subj` (\ / + are special there). mch_id is
# required to be digits: it becomes a directory name and the server rejects
# anything else anyway. `redpack-ctl fixtures` makes the same checks.
read_merchants() {
  if [ -n "$ctl" ]; then
    "$ctl" fixtures "$1" | sed 's|[\\/+]|\\&|g'
    return
  fi
  PYTHONIOENCODING=utf-8 python3 - "$1" <<'PY'
import json, re, sys
path = sys.argv[1]
def fail(msg):
    sys.exit(f"gen-certs: {path}: {msg}")
try:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
except OSError as e:
    fail(f"cannot read fixtures: {e.strerror}")
except (UnicodeDecodeError, json.JSONDecodeError) as e:
    fail(f"invalid JSON: {e}")
merchants = data.get("merchants") if isinstance(data, dict) else None
if not isinstance(merchants, list) or not merchants:
    fail('expected {"merchants": [ ... ]} with at least one merchant')
seen = set()
for i, m in enumerate(merchants):
    if not isinstance(m, dict):
        fail(f"merchants[{i}] is not an object")
    mch_id, name = m.get("mch_id"), m.get("name")
    if not isinstance(mch_id, str) or not re.fullmatch(r"[0-9]{1,32}", mch_id):
        fail(f"merchants[{i}].mch_id must be a string of digits, got {mch_id!r}")
    if mch_id in seen:
        fail(f"duplicate mch_id {mch_id}")
    seen.add(mch_id)
    if not isinstance(name, str) or not name.strip() or any(ord(c) < 32 or ord(c) == 127 for c in name):
        fail(f"merchants[{i}].name must be a non-empty string without control characters")
    ou = re.sub(r"([\\/+])", r"\\\1", name)
    print(f"{mch_id}\t{ou}")
PY
}

# 20 random bytes as 40 upper-case hex digits, like WeChat's certificate serials.
# The first nibble is forced into 1..7: the number stays positive without a 0x00
# pad byte (RFC 5280 allows at most 20 octets) and always prints 40 digits.
rand_serial() {
  local hex
  hex=$(openssl rand -hex 20)
  printf '%X%s\n' $(( 16#${hex:0:1} % 7 + 1 )) "${hex:1}" | tr a-f A-F
}

# One private config for req, x509 and ca, so the system openssl.cnf (which
# distributions customise) cannot change the result.
write_config() {
  cat >"$1" <<'EOF'
[req]
distinguished_name = req_dn
string_mask = utf8only
prompt = no
[req_dn]
CN = unused

[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server_ext]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, IP:::1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

# Same key usages as the Tenpay-issued merchant certificates.
[client_ext]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, nonRepudiation, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

# Only used for the expired certificate: `openssl ca` is the one 3.0 command
# that accepts explicit past dates. Paths are relative to its scratch dir.
[ca]
default_ca = throwaway_ca
[throwaway_ca]
database = index.txt
serial = serial
new_certs_dir = .
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
[policy_any]
countryName = optional
localityName = optional
organizationName = optional
organizationalUnitName = optional
commonName = supplied
EOF
}

# Private keys (and the .p12, which holds one) must never be world-readable.
new_key() {
  ( umask 077; run openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" )
}

# new_ca DIR SUBJECT: self-signed CA as DIR/ca.pem + DIR/ca.key.
new_ca() {
  mkdir -p "$1"
  new_key "$1/ca.key"
  run openssl req -new -x509 -config "$cnf" -utf8 -subj "$2" -key "$1/ca.key" \
    -sha256 -days "$CA_DAYS" -set_serial "0x$(rand_serial)" -extensions ca_ext -out "$1/ca.pem"
}

# new_csr KEY SUBJECT CSR: fresh key plus a request carrying SUBJECT as UTF-8.
new_csr() {
  new_key "$1"
  run openssl req -new -config "$cnf" -utf8 -subj "$2" -key "$1" -out "$3"
}

# sign CSR CA_DIR DAYS EXT_SECTION OUT
sign() {
  run openssl x509 -req -in "$1" -CA "$2/ca.pem" -CAkey "$2/ca.key" -sha256 -days "$3" \
    -set_serial "0x$(rand_serial)" -extfile "$cnf" -extensions "$4" -out "$5"
}

client_subject() { printf '/C=CN/L=ShenZhen/O=%s/OU=%s/CN=%s' "$WECHAT_O" "$2" "$1"; }

# new_client OUT_DIR MCH_ID OU CA_DIR: apiclient_cert.pem + apiclient_key.pem.
new_client() {
  mkdir -p "$1"
  new_csr "$1/apiclient_key.pem" "$(client_subject "$2" "$3")" "$work/client.csr"
  sign "$work/client.csr" "$4" "$CLIENT_DAYS" client_ext "$1/apiclient_cert.pem"
}

# new_p12 DIR MCH_ID: the bundle merchants download; password is the mch_id,
# friendly name as in the real file. OpenSSL 3 defaults (AES-256, PBKDF2,
# SHA-256 MAC) are what current OpenSSL, curl and Python's cryptography read.
new_p12() {
  ( umask 077
    run openssl pkcs12 -export -name "Tenpay Certificate" -in "$1/apiclient_cert.pem" \
      -inkey "$1/apiclient_key.pem" -certfile "$out/ca.pem" -passout "pass:$2" \
      -out "$1/apiclient_cert.p12" )
}

# new_expired OUT_DIR MCH_ID OU: client certificate from the trusted CA that
# expired in 2021. `openssl x509 -req` in 3.0 cannot backdate, so a throw-away
# `openssl ca` database does it.
new_expired() {
  local db="$work/ca-db"
  mkdir -p "$1" "$db"
  : >"$db/index.txt"
  rand_serial >"$db/serial"
  new_csr "$1/apiclient_key.pem" "$(client_subject "$2" "$3")" "$work/expired.csr"
  # -preserveDN keeps the subject order instead of re-sorting it by the policy.
  ( cd "$db" && run openssl ca -batch -notext -preserveDN -config "$cnf" \
      -cert "$out/ca.pem" -keyfile "$out/ca.key" -extensions client_ext \
      -startdate 20200101000000Z -enddate 20210101000000Z \
      -in "$work/expired.csr" -out "$1/apiclient_cert.pem" )
}

# Moves every generated file from the staging dir over its final path. mv
# replaces the old file, so the new file's mode (0600 for keys) is what remains.
install_outputs() {
  local rel
  while IFS= read -r -d '' rel; do
    rel=${rel#./}
    mkdir -p "$dest/$(dirname "$rel")"
    mv -f "$out/$rel" "$dest/$rel"
  done < <(cd "$out" && find . -type f -print0)
}

main() {
  ctl=""
  while [ $# -gt 0 ]; do
    case "$1" in
      -h|--help) print_help; exit 0 ;;
      --ctl) [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }; ctl=$2; shift 2 ;;
      --ctl=*) ctl=${1#--ctl=}; shift ;;
      --) shift; break ;;
      -*) echo "$prog: unknown option $1" >&2; echo "$usage" >&2; exit 2 ;;
      *) break ;;
    esac
  done
  [ $# -ge 1 ] && [ $# -le 2 ] && [ -n "$1" ] || { echo "$usage" >&2; exit 2; }

  local repo fixtures merchants
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  fixtures=${2:-$repo/fixtures/default.json}
  command -v openssl >/dev/null || die "openssl not found in PATH"
  if [ -z "$ctl" ] && ! command -v python3 >/dev/null; then
    ctl=$(command -v redpack-ctl) ||
      die "python3 not found in PATH, nor redpack-ctl (give --ctl REDPACK_CTL): one reads the fixtures"
  fi
  [ -z "$ctl" ] || command -v "$ctl" >/dev/null || die "--ctl $ctl: no such program"
  [ -f "$fixtures" ] || die "fixtures file not found: $fixtures"
  merchants=$(read_merchants "$fixtures") || exit 1

  # Absolute paths: openssl ca runs in its own scratch dir.
  mkdir -p "$1"
  dest=$(cd "$1" && pwd)
  tmp=$(mktemp -d "$dest/.gen-certs.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  work=$tmp/work out=$tmp/out cnf=$tmp/work/openssl.cnf
  mkdir -p "$work" "$out"
  write_config "$cnf"

  new_ca "$out" "/C=CN/O=redpack-sim/OU=redpack-sim test CA/CN=redpack-sim Root CA"
  new_csr "$out/server.key" "/C=CN/O=redpack-sim/CN=localhost" "$work/server.csr"
  sign "$work/server.csr" "$out" "$SERVER_DAYS" server_ext "$out/server.pem"

  local mch_id ou first_id="" first_ou="" count=0
  while IFS=$'\t' read -r mch_id ou; do
    new_client "$out/$mch_id" "$mch_id" "$ou" "$out"
    new_p12 "$out/$mch_id" "$mch_id"
    [ -n "$first_id" ] || { first_id=$mch_id; first_ou=$ou; }
    count=$((count + 1))
  done <<<"$merchants"

  # Same merchant identity as the first fixture merchant, wrong issuer.
  new_ca "$work/untrusted" "/C=CN/O=redpack-sim/OU=redpack-sim untrusted CA/CN=redpack-sim Untrusted Root CA"
  new_client "$out/untrusted" "$first_id" "$first_ou" "$work/untrusted"
  cp "$work/untrusted/ca.pem" "$out/untrusted/ca.pem"
  new_expired "$out/expired" "$first_id" "$first_ou"

  install_outputs
  echo "$prog: wrote certificates for $count merchants to $1" >&2
}

main "$@"
