#!/usr/bin/env bash
# Preloads a redpack-sim database with N issued group packets, fast, to see how
# the server behaves with a large history (scripts/bench.sh uses it).
#
#   scripts/preload-db.sh DB N
#   scripts/preload-db.sh postgresql://USER:PASSWORD@HOST:PORT/DATABASE N
#
# DB must not exist yet (a PostgreSQL database: must exist, empty; psql
# then does what the sqlite3 CLI does below, and the schema's triggers
# keep the counters there). redpack-sim is started on it once (on loopback, port
# 0) so that it creates the schema and loads the fixtures; then, with the
# server stopped, the sqlite3 CLI inserts in ONE transaction N packets of 300
# fen in 3 shares of 100 for one merchant and receiver, each with its ledger
# 'send' row, and lowers the merchant's balance by the total, and adds
# them to the running counters (rate, days, status) that the server's own
# inserts keep (the invariant checker below holds them to the rows).
# The packets were issued during the last hour (they do not expire for a
# day), their send_listid has the server's shape, their billnos are
# P<digits>. Finally the server is started again on DB and the invariant
# checker (GET /admin/v1/check) must pass; PRELOAD_CHECK=0 skips that.
#
# Environment: REDPACK_SIM_BIN (default build/redpack-sim), CERTS (a
# gen-certs.sh directory; default: made in a temp dir), FIXTURES (default
# fixtures/default.json), PRELOAD_MCH (10000100), PRELOAD_APPID
# (wx1000000000000000), PRELOAD_OPENID (oLoadUser0000000000000000001).
# The insert takes about 1 s per 100,000 packets on a 2-core machine, the
# check about 3 s per 100,000.
set -euo pipefail

prog=preload-db
die() { echo "$prog: $*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: preload-db.sh DB|postgresql://URL N"
db=$1 n=$2
[[ $n =~ ^[0-9]+$ ]] || die "N must be a count, not $n"
pg=0
case "$db" in postgresql://*|postgres://*) pg=1 ;; esac
[ "$pg" = 1 ] || [ ! -e "$db" ] || die "$db exists: give a new path"
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sim=${REDPACK_SIM_BIN:-$repo/build/redpack-sim}
fixtures=${FIXTURES:-$repo/fixtures/default.json}
mch=${PRELOAD_MCH:-10000100}
appid=${PRELOAD_APPID:-wx1000000000000000}
openid=${PRELOAD_OPENID:-oLoadUser0000000000000000001}
[ -x "$sim" ] || die "no redpack-sim at $sim (build it, or set REDPACK_SIM_BIN)"
if [ "$pg" = 1 ]; then
  command -v psql >/dev/null || die "psql is missing (scripts/setup.sh installs it)"
else
  command -v sqlite3 >/dev/null || die "the sqlite3 CLI is missing (scripts/setup.sh installs it)"
fi
command -v curl >/dev/null || die "curl is missing (scripts/setup.sh installs it)"
for v in "$mch" "$appid" "$openid"; do
  [[ $v =~ ^[A-Za-z0-9_-]+$ ]] || die "unexpected characters in $v"
done

tmp=$(mktemp -d)
pid=""
cleanup() {
  [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
certs=${CERTS:-}
if [ -z "$certs" ]; then
  certs=$tmp/certs
  bash "$repo/scripts/gen-certs.sh" "$certs" "$fixtures" 2>/dev/null
fi

# start_sim [FLAG VALUE]...: redpack-sim on DB, waits for /healthz; sets pid and admin.
start_sim() {
  : >"$tmp/out"
  "$sim" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --db "$db" --fixtures "$fixtures" \
    --tls-cert "$certs/server.pem" --tls-key "$certs/server.key" --client-ca "$certs/ca.pem" \
    --journal-size 0 "$@" >"$tmp/out" 2>"$tmp/err" &
  pid=$!
  for _ in $(seq 600); do
    admin=$(sed -n '1s/.* admin=\([^ ]*\).*/\1/p' "$tmp/out")
    [ -n "$admin" ] && curl -fsS "$admin/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$tmp/err" >&2; die "redpack-sim exited"; }
    sleep 0.05
  done
  die "redpack-sim did not answer /healthz"
}

stop_sim() {
  kill -TERM "$pid"
  wait "$pid" || die "redpack-sim exited with status $? (see its log)"
  pid=""
}

start_sim
stop_sim
# The running counters the server's inserts keep, for the rows above
# (id > base); the same SQL on both databases.
counters_sql="
INSERT INTO rate_second SELECT mch_id, created_at, COUNT(*) FROM packets, preload_base
  WHERE id > base AND created_at >= (SELECT MAX(created_at) FROM packets) - 120 GROUP BY 1, 2
  ON CONFLICT (mch_id, second) DO UPDATE SET count = rate_second.count + excluded.count;
INSERT INTO status_count SELECT mch_id, status, COUNT(*) FROM packets, preload_base
  WHERE id > base GROUP BY 1, 2
  ON CONFLICT (mch_id, status) DO UPDATE SET n = status_count.n + excluded.n;
INSERT INTO day_merchant SELECT mch_id, (send_time + 28800) / 86400, SUM(total_amount)
  FROM packets, preload_base WHERE id > base GROUP BY 1, 2
  ON CONFLICT (mch_id, day) DO UPDATE SET amount = day_merchant.amount + excluded.amount;
INSERT INTO day_user SELECT mch_id, re_openid, (send_time + 28800) / 86400, COUNT(*), SUM(100)
  FROM packets, preload_base WHERE id > base GROUP BY 1, 2, 3
  ON CONFLICT (mch_id, openid, day) DO UPDATE SET count = day_user.count + excluded.count,
  amount = day_user.amount + excluded.amount;"

if [ "$pg" = 1 ]; then
  # The same rows on PostgreSQL, with the triggers (the counters' and the
  # foreign keys') off for the load: session_replication_role, which needs
  # a superuser, as the throwaway cluster's user is; without it the
  # triggers count each row as it goes in (some 200 us a packet).
  [ "$(psql "$db" -qAtc "SELECT COUNT(*) FROM merchants WHERE mch_id = '$mch'")" = 1 ] ||
    die "no merchant $mch in $fixtures"
  fast=$(psql "$db" -qAtc "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
  if [ "$fast" = t ]; then
    load_counters=$counters_sql replica="SET LOCAL session_replication_role = replica;"
  else
    load_counters="" replica=""
  fi
  psql "$db" -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
BEGIN;
$replica
CREATE TEMP TABLE preload_base AS
  SELECT COALESCE((SELECT MAX(id) FROM packets), 0) AS base,
         EXTRACT(EPOCH FROM now())::bigint - 3600 AS t0,
         to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD') AS ymd;
INSERT INTO packets (id, mch_id, mch_billno, hb_type, status, wxappid, re_openid,
                     send_name, wishing, act_name, remark, amt_type, total_amount, total_num,
                     send_listid, created_at, send_time)
  SELECT k.id, '$mch', 'P' || k.id, 'GROUP', 'SENT', '$appid', '$openid',
         'preload', 'preload', 'preload', 'preload', 'ALL_RAND', 300, 3,
         '1000041701' || b.ymd || '30' || lpad((k.id % 100000000000)::text, 11, '0'),
         b.t0 + k.i::bigint * 3000 / ($n + 1), b.t0 + k.i::bigint * 3000 / ($n + 1)
  FROM (SELECT nextval(pg_get_serial_sequence('packets', 'id')) AS id, i
        FROM generate_series(1, $n) AS i) k, preload_base b;
INSERT INTO shares (packet_id, seq, amount)
  SELECT p.id, s.seq, 100 FROM packets p, generate_series(0, 2) AS s(seq), preload_base
  WHERE p.id > base;
INSERT INTO ledger (mch_id, amount, kind, packet_id, at)
  SELECT mch_id, -total_amount, 'send', id, send_time FROM packets, preload_base WHERE id > base;
UPDATE merchants SET balance = balance - 300 * $n WHERE mch_id = '$mch';
$load_counters
COMMIT;
SQL
else
[ "$(sqlite3 "$db" "SELECT COUNT(*) FROM merchants WHERE mch_id = '$mch'")" = 1 ] ||
  die "no merchant $mch in $fixtures"

sqlite3 -batch -bail "$db" >/dev/null <<SQL
PRAGMA busy_timeout = 10000;
PRAGMA cache_size = -262144;
BEGIN IMMEDIATE;
CREATE TEMP TABLE preload_base AS
  SELECT IFNULL((SELECT MAX(id) FROM packets), 0) AS base,
         CAST(strftime('%s', 'now') AS INTEGER) - 3600 AS t0,
         strftime('%Y%m%d', 'now', '+8 hours') AS ymd;
WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < $n)
INSERT INTO packets (id, mch_id, mch_billno, hb_type, status, wxappid, re_openid,
                     send_name, wishing, act_name, remark, amt_type, total_amount, total_num,
                     send_listid, created_at, send_time)
  SELECT base + i, '$mch', 'P' || (base + i), 'GROUP', 'SENT', '$appid', '$openid',
         'preload', 'preload', 'preload', 'preload', 'ALL_RAND', 300, 3,
         printf('1000041701%s30%011d', ymd, (base + i) % 100000000000),
         t0 + i * 3000 / ($n + 1), t0 + i * 3000 / ($n + 1)
  FROM k, preload_base;
INSERT INTO shares (packet_id, seq, amount)
  SELECT p.id, s.seq, 100
  FROM packets p, (SELECT 0 AS seq UNION ALL SELECT 1 UNION ALL SELECT 2) s, preload_base
  WHERE p.id > base;
INSERT INTO ledger (mch_id, amount, kind, packet_id, at)
  SELECT mch_id, -total_amount, 'send', id, send_time FROM packets, preload_base WHERE id > base;
UPDATE merchants SET balance = balance - 300 * $n WHERE mch_id = '$mch';
$counters_sql
COMMIT;
SQL
fi

if [ "${PRELOAD_CHECK:-1}" != 0 ]; then
  # The checker reads every row (about 30 s for 1,000,000 packets): the
  # connection must outlive it.
  start_sim --timeout 600 --request-timeout 600
  check=$(curl -fsS "$admin/admin/v1/check") || die "GET /admin/v1/check failed"
  stop_sim
  case $check in
    *'"ok":true'*) ;;
    *) die "the invariant checker refused the preloaded database: $check" ;;
  esac
fi
shown=$db
[ "$pg" = 0 ] || shown=$(sed -E 's#://([^:/@]*):[^@/]*@#://\1:***@#' <<<"$db")
echo "$prog: $shown holds $n more packets of merchant $mch" >&2
