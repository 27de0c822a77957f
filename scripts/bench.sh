#!/usr/bin/env bash
# The benchmark of issue 10: redpack-sim beside a reference nginx (Debian's
# package, mutual TLS with the same certificates, a fixed answer of the same
# size; config in bench/nginx/), both loaded by redpack-bench with the same
# settings in the same run, on loopback. Prints a table and the ratios
# redpack-sim / nginx. Never part of ctest: benchmarks are not tests.
#
#   scripts/bench.sh                          # SQLite (the default store)
#   scripts/bench.sh --db postgresql          # PostgreSQL: a throwaway cluster
#   scripts/bench.sh --db postgresql://U:P@H:PORT/DB   # or yours (CREATEDB needed)
#
# With --db postgresql the same runs go to redpack-sim on PostgreSQL (each
# run on a database of its own, made on the cluster), then the keep-alive
# and SIGN_ERROR runs again with two redpack-sim processes on one database
# behind HAProxy (TCP, leastconn), their CPU added up. The history run
# preloads the PostgreSQL database the same way (scripts/preload-db.sh URL N).
#
# What it measures (server CPU is read from /proc/PID/stat, utime + stime,
# before and after each run: the robust figure on a shared machine):
#   - 16 and 64 keep-alive connections of fresh signed sends: server CPU per
#     response, req/s, p50 and p99;
#   - the SIGN_ERROR path (--bad-sign 1): CPU per response against nginx's
#     per fixed answer, nginx run again right after it for that;
#   - full TLS handshakes (a new connection per request): handshakes per
#     server CPU-second;
#   - cold start: exec to GET /healthz 200, median of 5;
#   - idle RSS after start, and RSS after BENCH_SOAK_REQUESTS sends;
#   - req/s with BENCH_PRELOAD packets already stored (scripts/preload-db.sh)
#     against an empty database, back to back.
#
# Each timed run is made BENCH_ROUNDS times, redpack-sim's and nginx's (and
# the empty and the preloaded database's) interleaved, and each figure is
# taken from the round with the median server CPU per response: on a
# shared machine the neighbours move a single run's CPU by a third. The
# stored / none ratio, the CPU ratios and the p99 differences are also
# given as the median of each round's own (its two runs back to back,
# under the same neighbours).
#
# Environment: BENCH_DURATION (seconds per run, default 8), BENCH_WARMUP (1),
# BENCH_ROUNDS (3), BENCH_SOAK_REQUESTS (1000000), BENCH_PRELOAD (1000000),
# BENCH_QUICK=1 (a short smoke run: 1 s runs, one round, 20,000 requests and
# packets), BENCH_BUILD_DIR
# (build-bench), BENCH_THREADS (redpack-bench's --threads, 1), NGINX (the
# nginx binary). Needs what scripts/setup.sh installs (nginx, sqlite3, curl).
set -euo pipefail

prog=bench
die() { echo "$prog: $*" >&2; exit 1; }
say() { echo "$prog: $*" >&2; }

pg=""
while [ $# -gt 0 ]; do
  case "$1" in
    --db) [ $# -ge 2 ] || die "--db needs postgresql or a postgresql:// URL"; pg=$2; shift 2 ;;
    --db=*) pg=${1#--db=}; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
case "$pg" in
  ""|postgresql|postgresql://*|postgres://*) ;;
  *) die "--db takes postgresql or a postgresql:// URL, not $pg" ;;
esac

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BENCH_BUILD_DIR:-$repo/build-bench}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
  duration=${BENCH_DURATION:-1} warmup=${BENCH_WARMUP:-0.3} rounds=${BENCH_ROUNDS:-1}
  soak=${BENCH_SOAK_REQUESTS:-20000} preload=${BENCH_PRELOAD:-20000}
else
  duration=${BENCH_DURATION:-8} warmup=${BENCH_WARMUP:-1} rounds=${BENCH_ROUNDS:-3}
  soak=${BENCH_SOAK_REQUESTS:-1000000} preload=${BENCH_PRELOAD:-1000000}
fi
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS must be a whole number >= 1, not $rounds"
# PostgreSQL's sends are round trips to another process: 100,000 for the
# soak there unless asked (a million would take the better part of an hour).
[ -z "$pg" ] || [ -n "${BENCH_SOAK_REQUESTS:-}" ] || [ "${BENCH_QUICK:-0}" = 1 ] || soak=100000
threads=${BENCH_THREADS:-1}
nginx_bin=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
fixtures=$repo/fixtures/default.json
[ -x "$nginx_bin" ] || die "no nginx at $nginx_bin (scripts/setup.sh installs it, or set NGINX)"
for c in cmake curl sqlite3 python3 openssl ${pg:+psql haproxy}; do
  command -v "$c" >/dev/null || die "$c is missing (scripts/setup.sh installs it)"
done

say "release build in $build"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target redpack-sim redpack-bench -- --no-print-directory >/dev/null
sim=$build/redpack-sim
bench=$build/redpack-bench

tmp=$(mktemp -d)
sim_pid="" sim2_pid="" nginx_pid="" haproxy_pid="" pg_url=""
cleanup() {
  for p in "$sim_pid" "$sim2_pid" "$nginx_pid" "$haproxy_pid"; do
    [ -z "$p" ] || kill "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  [ "$pg" != postgresql ] || bash "$repo/scripts/pg-throwaway.sh" stop "$tmp/pg" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/res"
certs=$tmp/certs
bash "$repo/scripts/gen-certs.sh" "$certs" "$fixtures" 2>/dev/null
tck=$(getconf CLK_TCK)

# ---- servers ---------------------------------------------------------------

# db_for NAME: the --db of a run: a file in $tmp for SQLite; on PostgreSQL a
# new database on the cluster (the throwaway's, or the URL's server).
if [ "$pg" = postgresql ]; then
  say "a throwaway PostgreSQL (scripts/pg-throwaway.sh)"
  pg_url=$(bash "$repo/scripts/pg-throwaway.sh" start "$tmp/pg")
elif [ -n "$pg" ]; then
  pg_url=$pg
fi
db_for() {
  if [ -z "$pg_url" ]; then
    echo "$tmp/$1.db"
    return
  fi
  local name="bench_$1_$$"
  PGOPTIONS="-c client_min_messages=warning" \
    psql "$pg_url" -qAtc "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" >/dev/null ||
    die "cannot create database $name (the URL's user needs CREATEDB)"
  echo "${pg_url%/*}/$name"
}

# start_sim DB [FLAG VALUE]...: redpack-sim on loopback port 0, waits for
# /healthz; sets sim_pid, sim_api, sim_admin. Its log goes to $tmp/sim.log
# (truncated between runs: it is opened for appending).
start_sim() {
  local db=$1
  shift
  : >"$tmp/sim.out"
  "$sim" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --db "$db" --fixtures "$fixtures" \
    --tls-cert "$certs/server.pem" --tls-key "$certs/server.key" --client-ca "$certs/ca.pem" \
    --seed 42 "$@" >"$tmp/sim.out" 2>>"$tmp/sim.log" &
  sim_pid=$!
  for _ in $(seq 600); do
    local line
    line=$(head -n 1 "$tmp/sim.out")
    if [[ $line =~ ^listening\ api=(https://[^ ]+)\ admin=(http://[^ ]+)$ ]]; then
      sim_api=${BASH_REMATCH[1]} sim_admin=${BASH_REMATCH[2]}
      curl -fsS "$sim_admin/healthz" >/dev/null 2>&1 && return 0
    fi
    kill -0 "$sim_pid" 2>/dev/null || { tail -n 20 "$tmp/sim.log" >&2; die "redpack-sim exited"; }
    sleep 0.02
  done
  die "redpack-sim did not answer /healthz"
}

stop_sim() {
  kill -TERM "$sim_pid"
  wait "$sim_pid" || die "redpack-sim exited with status $?"
  sim_pid=""
}

# start_pair DB: two redpack-sim on one (PostgreSQL) database and HAProxy
# in TCP mode in front; sim_api becomes HAProxy's, both pids in sim_pid
# and sim2_pid.
start_pair() {
  local db=$1 first_api first_pid port
  start_sim "$db"
  first_api=$sim_api first_pid=$sim_pid
  start_sim "$db"
  sim2_pid=$sim_pid sim_pid=$first_pid
  port=$(free_port)
  cat >"$tmp/haproxy.cfg" <<CFG
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend api
    bind 127.0.0.1:$port
    default_backend sims
backend sims
    balance leastconn
    server s1 ${first_api#https://}
    server s2 ${sim_api#https://}
CFG
  haproxy -f "$tmp/haproxy.cfg" -db >/dev/null 2>&1 &
  haproxy_pid=$!
  sim_api=https://127.0.0.1:$port
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.05
  done
  die "haproxy did not start"
}

stop_pair() {
  kill -TERM "$haproxy_pid"; wait "$haproxy_pid" 2>/dev/null || true; haproxy_pid=""
  kill -TERM "$sim2_pid"; wait "$sim2_pid" || die "redpack-sim exited with status $?"; sim2_pid=""
  stop_sim
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_nginx: the reference server from bench/nginx/nginx.conf.in; sets
# nginx_pid (the master) and nginx_api.
start_nginx() {
  local prefix=$tmp/nginx port user_line=""
  mkdir -p "$prefix"
  port=$(free_port)
  [ "$(id -u)" -ne 0 ] || user_line="user root;"
  python3 - "$repo/bench/nginx" "$prefix" "$port" "$certs" "$user_line" <<'PY'
import sys
src, prefix, port, certs, user_line = sys.argv[1:]
answer = open(src + "/answer.xml", encoding="utf-8").read()
if any(c in answer for c in '"\\$'):
    sys.exit("bench: answer.xml must not contain \" \\ or $ (it goes into nginx's return)")
conf = open(src + "/nginx.conf.in", encoding="utf-8").read()
for k, v in (("@USER_LINE@", user_line), ("@PREFIX@", prefix), ("@PORT@", port),
             ("@CERTS@", certs), ("@ANSWER@", answer)):
    conf = conf.replace(k, v)
open(prefix + "/nginx.conf", "w", encoding="utf-8").write(conf)
PY
  "$nginx_bin" -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log" 2>>"$prefix/error.log" &
  nginx_pid=$!
  nginx_api=https://127.0.0.1:$port
  for _ in $(seq 300); do
    curl -sS -o /dev/null --cacert "$certs/ca.pem" "$nginx_api/" 2>/dev/null && return 0
    kill -0 "$nginx_pid" 2>/dev/null || { cat "$prefix/error.log" >&2; die "nginx exited"; }
    sleep 0.02
  done
  die "nginx did not start"
}

# cpu_ticks PID: utime + stime of PID and its children processes (nginx's
# workers), in clock ticks.
cpu_ticks() {
  local total=0 p stat rest
  for p in "$1" $(awk -v pp="$1" '{ sub(/.*\) /, ""); if ($2 == pp) print FILENAME }' \
      /proc/[0-9]*/stat 2>/dev/null | sed 's|/proc/\([0-9]*\)/stat|\1|'); do
    stat=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    rest=${stat##*) }
    set -- $rest
    total=$((total + ${12} + ${13}))
  done
  echo "$total"
}

cpu_ticks_all() {
  local total=0 p
  for p in "$@"; do total=$((total + $(cpu_ticks "$p"))); done
  echo "$total"
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# ---- runs ------------------------------------------------------------------

# run NAME sim|nginx ARGS...: one redpack-bench run against that server;
# writes res/NAME.json (the bench's JSON plus server_cpu_s).
run() {
  local name=$1 target=$2 pid api before after out
  shift 2
  if [ "$target" = sim ]; then
    pid="$sim_pid $sim2_pid" api=$sim_api
  else
    pid=$nginx_pid api=$nginx_api
    set -- --fixed-body "$repo/bench/nginx/request.xml" "$@"
  fi
  : >"$tmp/sim.log"
  : >"$tmp/nginx/access.log" 2>/dev/null || true
  before=$(cpu_ticks_all $pid)
  out=$("$bench" --api "$api" --certs "$certs" --threads "$threads" --json "$@") ||
    die "redpack-bench failed on $name: $out"
  after=$(cpu_ticks_all $pid)
  python3 - "$out" "$before" "$after" "$tck" >"$tmp/res/$name.json" <<'PY'
import json, sys
doc = json.loads(sys.argv[1])
doc["server_cpu_s"] = (int(sys.argv[3]) - int(sys.argv[2])) / int(sys.argv[4])
print(json.dumps(doc))
PY
  say "$(python3 - "$tmp/res/$name.json" "$name" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
bad = {k: v for k, v in d["errors"].items() if v}
print("%-14s %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  server %6.1f us/resp  answers %s%s%s"
      % (sys.argv[2], d["rps"], d["latency_us"]["p50"] / 1e3, d["latency_us"]["p99"] / 1e3,
         d["server_cpu_s"] * 1e6 / max(d["all_responses"], 1), d["answers"],
         "  ERRORS %s" % bad if bad else "", "  (client-bound!)" if d["client_bound"] else ""))
PY
)"
}

timed=(--duration "$duration" --warmup "$warmup")

start_sim "$(db_for sim)"
sleep 0.5
idle_rss=$(rss_kib "$sim_pid")
start_nginx

for r in $(seq "$rounds"); do
  for c in 16 64; do
    run "sim_ka$c.$r" sim --connections "$c" "${timed[@]}"
    run "nginx_ka$c.$r" nginx --connections "$c" "${timed[@]}"
  done
  run "sim_badsign.$r" sim --connections 16 --bad-sign 1 "${timed[@]}"
  # nginx again, right after: the SIGN_ERROR answers' reference from the
  # same minute (nginx's own CPU per answer drifts by a fifth within a
  # round on a shared machine).
  run "nginx_badsign.$r" nginx --connections 16 "${timed[@]}"
  run "sim_handshake.$r" sim --connections 8 --new-conn "${timed[@]}"
  run "nginx_handshake.$r" nginx --connections 8 --new-conn "${timed[@]}"
done

say "soak: $soak sends"
rss_before_soak=$(rss_kib "$sim_pid")
run sim_soak sim --connections 16 --requests "$soak"
soak_rss=$(rss_kib "$sim_pid")
stop_sim

say "stored packets: $preload preloaded, against an empty database, in turns"
full_db=$tmp/full.db
[ -z "$pg_url" ] || full_db=$(db_for full)
CERTS=$certs REDPACK_SIM_BIN=$sim PRELOAD_CHECK=0 bash "$repo/scripts/preload-db.sh" "$full_db" "$preload"
for r in $(seq "$rounds"); do
  start_sim "$(db_for "empty$r")"
  run "sim_empty.$r" sim --connections 16 "${timed[@]}"
  stop_sim
  # Long connection timeouts: the invariant checker after the last round
  # reads every row (about 30 s for 1,000,000 packets; the loop waits).
  start_sim "$full_db" --timeout 600 --request-timeout 600
  run "sim_full.$r" sim --connections 16 "${timed[@]}"
  if [ "$r" = "$rounds" ]; then
    say "invariant check of the preloaded database"
    check=$(curl -fsS --max-time 900 "$sim_admin/admin/v1/check") || die "GET /admin/v1/check failed"
    case $check in *'"ok":true'*) ;; *) die "invariants broken after the preloaded run: $check" ;; esac
  fi
  stop_sim
done

if [ -n "$pg_url" ]; then
  say "two processes on one database behind HAProxy"
  start_pair "$(db_for pair)"
  for c in 16 64; do
    run "pair_ka$c" sim --connections "$c" "${timed[@]}"
  done
  run pair_badsign sim --connections 16 --bad-sign 1 "${timed[@]}"
  say "invariant check after the two processes' runs"
  check=$(curl -fsS "$sim_admin/admin/v1/check") || die "GET /admin/v1/check failed"
  case $check in *'"ok":true'*) ;; *) die "invariants broken after the two processes' runs: $check" ;; esac
  stop_pair
fi

say "cold start: 5 starts on fresh databases"
cold_dbs=()
for i in 0 1 2 3 4; do cold_dbs+=("$(db_for "cold$i")"); done
cold_ms=$(python3 - "$sim" "$fixtures" "$certs" "${cold_dbs[@]}" <<'PY'
import http.client, os, re, statistics, subprocess, sys, time
sim, fixtures, certs = sys.argv[1:4]
times = []
for db in sys.argv[4:]:
    t0 = time.monotonic()
    p = subprocess.Popen([sim, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
                          "--db", db, "--fixtures", fixtures, "--tls-cert", certs + "/server.pem",
                          "--tls-key", certs + "/server.key", "--client-ca", certs + "/ca.pem"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    m = re.match(rb"listening api=\S+ admin=http://127\.0\.0\.1:(\d+)", p.stdout.readline())
    port = int(m.group(1))
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                break
        except OSError:
            time.sleep(0.001)
    times.append((time.monotonic() - t0) * 1000)
    p.terminate()
    p.wait()
print("%.1f" % statistics.median(times))
PY
)
kill -TERM "$nginx_pid"; wait "$nginx_pid" || true; nginx_pid=""

# ---- the table -------------------------------------------------------------

store="SQLite"
[ -z "$pg_url" ] || store="PostgreSQL $(psql "$pg_url" -qAtc 'SHOW server_version' 2>/dev/null || echo '?')"
python3 - "$tmp/res" "$idle_rss" "$rss_before_soak" "$soak_rss" "$cold_ms" "$soak" "$preload" \
  "$duration" "$warmup" "$threads" "$("$nginx_bin" -v 2>&1)" "$store" "$rounds" <<'PY'
import json, os, sys
res, idle_rss, rss_before, soak_rss, cold_ms, soak, preload, duration, warmup, threads, nginx_v, store, rounds = sys.argv[1:]

# NAME.ROUND.json: of each NAME's rounds, the one with the median server
# CPU per response (per handshake for the handshake runs); the spread of
# that figure over the rounds is kept for the table.
runs, R, spread, by_round = {}, {}, {}, {}
for n in os.listdir(res):
    base, _, r = n[:-5].rpartition(".")
    if not r.isdigit():
        base = n[:-5]
    doc = json.load(open(os.path.join(res, n)))
    runs.setdefault(base, []).append(doc)
    if r.isdigit():
        by_round.setdefault(base, {})[int(r)] = doc
for base, docs in runs.items():
    key = lambda d: d["server_cpu_s"] / max(d["handshakes"] if base.endswith("handshake")
                                             else d["all_responses"], 1)
    docs.sort(key=key)
    R[base] = docs[(len(docs) - 1) // 2]
    spread[base] = (key(docs[0]), key(docs[-1]))

def cpu_us(n):  # server CPU per response, every response of the run (warm-up too)
    return R[n]["server_cpu_s"] * 1e6 / max(R[n]["all_responses"], 1)

def hs_rate(n):  # full handshakes per server CPU-second
    return R[n]["handshakes"] / R[n]["server_cpu_s"] if R[n]["server_cpu_s"] else float("nan")

def ms(n, p):
    return R[n]["latency_us"][p] / 1e3

def ratio(a, b):
    return "%.2fx" % (a / b) if b else "-"

rows = []
for c in (16, 64):
    s, g = "sim_ka%d" % c, "nginx_ka%d" % c
    rows += [("%d conns: server CPU per response (us)" % c, cpu_us(s), cpu_us(g), "%.1f"),
             ("%d conns: req/s" % c, R[s]["rps"], R[g]["rps"], "%.0f"),
             ("%d conns: p50 (ms)" % c, ms(s, "p50"), ms(g, "p50"), "%.2f"),
             ("%d conns: p99 (ms)" % c, ms(s, "p99"), ms(g, "p99"), "%.2f")]
rows += [("SIGN_ERROR: server CPU per response (us)", cpu_us("sim_badsign"), cpu_us("nginx_badsign"), "%.1f"),
         ("full handshakes per server CPU-second", hs_rate("sim_handshake"), hs_rate("nginx_handshake"), "%.0f")]
print()
print("store: %s" % store)
print("| figure | redpack-sim | nginx | redpack-sim / nginx |")
print("| --- | ---: | ---: | ---: |")
for name, a, b, f in rows:
    print("| %s | %s | %s | %s |" % (name, f % a, f % b, ratio(a, b)))
if int(rounds) > 1:
    for c in (16, 64):
        s, g = "sim_ka%d" % c, "nginx_ka%d" % c
        print("| %d conns: CPU per response, lowest / highest round (us) | %.1f / %.1f | %.1f / %.1f | |"
              % (c, spread[s][0] * 1e6, spread[s][1] * 1e6, spread[g][0] * 1e6, spread[g][1] * 1e6))
    print("| SIGN_ERROR: CPU per response, lowest / highest round (us) | %.1f / %.1f | %.1f / %.1f | |"
          % (spread["sim_badsign"][0] * 1e6, spread["sim_badsign"][1] * 1e6,
             spread["nginx_badsign"][0] * 1e6, spread["nginx_badsign"][1] * 1e6))
    # The same figures paired: each round's redpack-sim run against the
    # nginx run beside it (a minute apart at most), then the median of
    # the rounds, so a spell of the machine that fell on one server's
    # median round and not the other's does not decide the ratio.
    def paired(label, sim, ref, f, fmt):
        vals = sorted(f(by_round[sim][r], by_round[ref][r]) for r in by_round.get(sim, {})
                      if r in by_round.get(ref, {}))
        if len(vals) > 1:
            print("| %s, each round's pair (median; lowest, highest) | | | %s (%s, %s) |"
                  % (label, fmt % vals[(len(vals) - 1) // 2], fmt % vals[0], fmt % vals[-1]))
    per = lambda d: d["server_cpu_s"] / max(d["all_responses"], 1)
    for c in (16, 64):
        paired("%d conns: CPU per response / nginx's" % c, "sim_ka%d" % c, "nginx_ka%d" % c,
               lambda a, b: per(a) / per(b), "%.2fx")
    paired("SIGN_ERROR: CPU per response / nginx's", "sim_badsign", "nginx_badsign",
           lambda a, b: per(a) / per(b), "%.2fx")
    for c in (16, 64):
        paired("%d conns: p99 minus nginx's (ms)" % c, "sim_ka%d" % c, "nginx_ka%d" % c,
               lambda a, b: (a["latency_us"]["p99"] - b["latency_us"]["p99"]) / 1e3, "%+.2f")
print("| cold start, exec to /healthz 200 (ms, median of 5) | %s | | |" % cold_ms)
print("| idle RSS after start (MiB) | %.1f | | |" % (int(idle_rss) / 1024))
print("| RSS before / after %s sends (MiB) | %.1f / %.1f | | |"
      % (format(int(soak), ","), int(rss_before) / 1024, int(soak_rss) / 1024))
if "sim_full" in R:
    e, f = R["sim_empty"], R["sim_full"]
    print("| req/s with %s packets stored / with none | %.0f / %.0f | | %s |"
          % (format(int(preload), ","), f["rps"], e["rps"], ratio(f["rps"], e["rps"])))
    print("| server CPU per response, %s stored / none (us) | %.1f / %.1f | | %s |"
          % (format(int(preload), ","), cpu_us("sim_full"), cpu_us("sim_empty"),
             ratio(cpu_us("sim_full"), cpu_us("sim_empty"))))
    # Each round ran the two back to back: the ratio within a round, whose
    # neighbours' load the two shared, and the median of those.
    pairs = sorted(by_round["sim_full"][r]["rps"] / by_round["sim_empty"][r]["rps"]
                   for r in by_round.get("sim_full", {}) if r in by_round.get("sim_empty", {})
                   and by_round["sim_empty"][r]["rps"])
    if len(pairs) > 1:
        print("| req/s stored / none, each round's two runs (median; lowest, highest) | | | %.2fx (%.2fx, %.2fx) |"
              % (pairs[(len(pairs) - 1) // 2], pairs[0], pairs[-1]))
if "pair_ka16" in R:
    print("| two processes behind HAProxy: | | | |")
    for c in (16, 64):
        s, g = "pair_ka%d" % c, "nginx_ka%d" % c
        print("| 2 procs, %d conns: CPU per response, both (us) | %.1f | %.1f | %s |"
              % (c, cpu_us(s), cpu_us(g), ratio(cpu_us(s), cpu_us(g))))
        print("| 2 procs, %d conns: req/s (1 proc: %.0f) | %.0f | %.0f | %s |"
              % (c, R["sim_ka%d" % c]["rps"], R[s]["rps"], R[g]["rps"], ratio(R[s]["rps"], R[g]["rps"])))
        print("| 2 procs, %d conns: p50 / p99 (ms) | %.2f / %.2f | %.2f / %.2f | |"
              % (c, ms(s, "p50"), ms(s, "p99"), ms(g, "p50"), ms(g, "p99")))
    print("| 2 procs, SIGN_ERROR: CPU per response, both (us) | %.1f | %.1f | %s |"
          % (cpu_us("pair_badsign"), cpu_us("nginx_badsign"),
             ratio(cpu_us("pair_badsign"), cpu_us("nginx_badsign"))))
print()
notes = []
for n, d in sorted(R.items()):
    errs = {k: v for k, v in d["errors"].items() if v}
    want = "SIGN_ERROR" if n.endswith("_badsign") and not n.startswith("nginx") else "SUCCESS"
    other = {k: v for k, v in d["answers"].items() if k != want}
    if errs or other:
        notes.append("%s: transport errors %s, other answers %s" % (n, errs, other))
    if d["client_bound"]:
        notes.append("%s: redpack-bench was busy %.0f%% of the time: it may have set the pace"
                     % (n, d["client_core_share"] * 100))
for line in notes:
    print("note: " + line)
model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print("machine: %d cores (nproc), %s; %s, one worker process" % (os.cpu_count(), model, nginx_v.strip()))
print("runs of %s s after %s s of warm-up, redpack-bench with %s thread(s); server CPU from /proc"
      " (utime + stime) over every response of a run, warm-up included; latency from redpack-bench's"
      " histogram; handshake runs use 8 connections; each figure from the round with the median"
      " server CPU per response of %s interleaved round(s)." % (duration, warmup, threads, rounds))
PY
