#!/usr/bin/env bash
# Queries one red packet of the demo merchant 10000098 with gethbinfo,
# signed with its API v2 key, over mutual TLS, and prints the XML answer.
#   scripts/example-query.sh BILLNO [API_URL] [CERT_DIR]
# Defaults: $REDPACK_API or https://127.0.0.1:8443, $REDPACK_CERTS or the
# source tree's var/certs (made by scripts/run.sh).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: scripts/example-query.sh BILLNO [API_URL] [CERT_DIR]" >&2; exit 2; }
BILLNO=$1
API=${2:-${REDPACK_API:-https://127.0.0.1:8443}}
CERTS=${3:-${REDPACK_CERTS:-$(dirname "$0")/../var/certs}}
[ -f "$CERTS/ca.pem" ] || { echo "${0##*/}: cannot open $CERTS/ca.pem: no such file (run scripts/run.sh, or give CERT_DIR)" >&2; exit 2; }
KEY=192006250b4c09247ec02edce69f6a2d
NONCE=$(openssl rand -hex 16)

STR="appid=wx8888888888888888&bill_type=MCHT&mch_billno=$BILLNO&mch_id=10000098&nonce_str=$NONCE"
SIGN=$(printf '%s&key=%s' "$STR" "$KEY" | openssl md5 -r | cut -c1-32 | tr a-f A-F)
BODY="<xml><appid>wx8888888888888888</appid><bill_type>MCHT</bill_type>"
BODY="$BODY<mch_billno>$BILLNO</mch_billno><mch_id>10000098</mch_id><nonce_str>$NONCE</nonce_str>"
BODY="$BODY<sign>$SIGN</sign></xml>"

curl -sS --cacert "$CERTS/ca.pem" \
  --cert "$CERTS/10000098/apiclient_cert.pem" --key "$CERTS/10000098/apiclient_key.pem" \
  --data-binary "$BODY" "$API/mmpaymkttransfers/gethbinfo"
echo
