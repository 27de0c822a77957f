#!/usr/bin/env bash
# Sends one sendgroupredpack for the demo merchant 10000098, signed with
# its API v2 key, over mutual TLS, and prints the XML answer.
#   [BILLNO=...] scripts/example-send.sh [API_URL] [CERT_DIR]
# Defaults: $REDPACK_API or https://127.0.0.1:8443, $REDPACK_CERTS or the
# source tree's var/certs (made by scripts/run.sh), a new 28-digit billno.
set -euo pipefail
API=${1:-${REDPACK_API:-https://127.0.0.1:8443}}
CERTS=${2:-${REDPACK_CERTS:-$(dirname "$0")/../var/certs}}
[ -f "$CERTS/ca.pem" ] || { echo "${0##*/}: cannot open $CERTS/ca.pem: no such file (run scripts/run.sh, or give CERT_DIR)" >&2; exit 2; }
KEY=192006250b4c09247ec02edce69f6a2d            # the merchant's API v2 key
BILLNO=${BILLNO:-10000098$(date +%Y%m%d)$(date +%s%N | tail -c 11)}   # 28 digits, unique
NONCE=$(openssl rand -hex 16)

# The signed string: the endpoint's non-empty fields, sorted by name.
STR="act_name=新年红包&amt_type=ALL_RAND&mch_billno=$BILLNO&mch_id=10000098"
STR="$STR&nonce_str=$NONCE&re_openid=oxTWIuGaIt6gTKsQRLau2M0yL16E&remark=新年红包"
STR="$STR&send_name=天虹百货&total_amount=300&total_num=3&wishing=恭喜发财"
STR="$STR&wxappid=wx8888888888888888"
SIGN=$(printf '%s&key=%s' "$STR" "$KEY" | openssl md5 -r | cut -c1-32 | tr a-f A-F)

BODY="<xml><act_name>新年红包</act_name><amt_type>ALL_RAND</amt_type>"
BODY="$BODY<mch_billno>$BILLNO</mch_billno><mch_id>10000098</mch_id>"
BODY="$BODY<nonce_str>$NONCE</nonce_str><re_openid>oxTWIuGaIt6gTKsQRLau2M0yL16E</re_openid>"
BODY="$BODY<remark>新年红包</remark><send_name>天虹百货</send_name>"
BODY="$BODY<total_amount>300</total_amount><total_num>3</total_num><wishing>恭喜发财</wishing>"
BODY="$BODY<wxappid>wx8888888888888888</wxappid><sign>$SIGN</sign></xml>"

curl -sS --cacert "$CERTS/ca.pem" \
  --cert "$CERTS/10000098/apiclient_cert.pem" --key "$CERTS/10000098/apiclient_key.pem" \
  -H 'Content-Type: text/xml; charset=utf-8' --data-binary "$BODY" \
  "$API/mmpaymkttransfers/sendgroupredpack"
echo
