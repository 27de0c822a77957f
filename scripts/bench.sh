#!/usr/bin/env bash
# The benchmark of issue 10: redpack-sim beside a reference nginx (Debian's
# package, mutual TLS with the same certificates, a fixed answer of the same
# size; config in bench/nginx/), both loaded by redpack-bench with the same
# settings in the same run, on loopback. Prints a table and the ratios
# redpack-sim / nginx. Never part of ctest: benchmarks are not tests.
#
#   scripts/bench.sh
#
# What it measures (server CPU is read from /proc/PID/stat, utime + stime,
# before and after each run: the robust figure on a shared machine):
#   - 16 and 64 keep-alive connections of fresh signed sends: server CPU per
#     response, req/s, p50 and p99;
#   - the SIGN_ERROR path (--bad-sign 1): CPU per response against nginx's
#     per fixed answer;
#   - full TLS handshakes (a new connection per request): handshakes per
#     server CPU-second;
#   - cold start: exec to GET /healthz 200, median of 5;
#   - idle RSS after start, and RSS after BENCH_SOAK_REQUESTS sends;
#   - req/s with BENCH_PRELOAD packets already stored (scripts/preload-db.sh)
#     against an empty database, back to back.
#
# Environment: BENCH_DURATION (seconds per run, default 8), BENCH_WARMUP (1),
# BENCH_SOAK_REQUESTS (1000000), BENCH_PRELOAD (1000000), BENCH_QUICK=1 (a
# short smoke run: 1 s runs, 20,000 requests and packets), BENCH_BUILD_DIR
# (build-bench), BENCH_THREADS (redpack-bench's --threads, 1), NGINX (the
# nginx binary). Needs what scripts/setup.sh installs (nginx, sqlite3, curl).
set -euo pipefail

prog=bench
die() { echo "$prog: $*" >&2; exit 1; }
say() { echo "$prog: $*" >&2; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BENCH_BUILD_DIR:-$repo/build-bench}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
  duration=${BENCH_DURATION:-1} warmup=${BENCH_WARMUP:-0.3}
  soak=${BENCH_SOAK_REQUESTS:-20000} preload=${BENCH_PRELOAD:-20000}
else
  duration=${BENCH_DURATION:-8} warmup=${BENCH_WARMUP:-1}
  soak=${BENCH_SOAK_REQUESTS:-1000000} preload=${BENCH_PRELOAD:-1000000}
fi
threads=${BENCH_THREADS:-1}
nginx_bin=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
fixtures=$repo/fixtures/default.json
[ -x "$nginx_bin" ] || die "no nginx at $nginx_bin (scripts/setup.sh installs it, or set NGINX)"
for c in cmake curl sqlite3 python3 openssl; do
  command -v "$c" >/dev/null || die "$c is missing (scripts/setup.sh installs it)"
done

say "release build in $build"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target redpack-sim redpack-bench -- --no-print-directory >/dev/null
sim=$build/redpack-sim
bench=$build/redpack-bench

tmp=$(mktemp -d)
sim_pid="" nginx_pid=""
cleanup() {
  [ -z "$sim_pid" ] || kill "$sim_pid" 2>/dev/null || true
  [ -z "$nginx_pid" ] || kill "$nginx_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/res"
certs=$tmp/certs
bash "$repo/scripts/gen-certs.sh" "$certs" "$fixtures" 2>/dev/null
tck=$(getconf CLK_TCK)

# ---- servers ---------------------------------------------------------------

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

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# ---- runs ------------------------------------------------------------------

# run NAME sim|nginx ARGS...: one redpack-bench run against that server;
# writes res/NAME.json (the bench's JSON plus server_cpu_s).
run() {
  local name=$1 target=$2 pid api before after out
  shift 2
  if [ "$target" = sim ]; then
    pid=$sim_pid api=$sim_api
  else
    pid=$nginx_pid api=$nginx_api
    set -- --fixed-body "$repo/bench/nginx/request.xml" "$@"
  fi
  : >"$tmp/sim.log"
  : >"$tmp/nginx/access.log" 2>/dev/null || true
  before=$(cpu_ticks "$pid")
  out=$("$bench" --api "$api" --certs "$certs" --threads "$threads" --json "$@") ||
    die "redpack-bench failed on $name: $out"
  after=$(cpu_ticks "$pid")
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

start_sim "$tmp/sim.db"
sleep 0.5
idle_rss=$(rss_kib "$sim_pid")
start_nginx

for c in 16 64; do
  run "sim_ka$c" sim --connections "$c" "${timed[@]}"
  run "nginx_ka$c" nginx --connections "$c" "${timed[@]}"
done
run sim_badsign sim --connections 16 --bad-sign 1 "${timed[@]}"
run sim_handshake sim --connections 8 --new-conn "${timed[@]}"
run nginx_handshake nginx --connections 8 --new-conn "${timed[@]}"

say "soak: $soak sends"
rss_before_soak=$(rss_kib "$sim_pid")
run sim_soak sim --connections 16 --requests "$soak"
soak_rss=$(rss_kib "$sim_pid")
stop_sim

say "stored packets: an empty database, then $preload preloaded"
start_sim "$tmp/empty.db"
run sim_empty sim --connections 16 "${timed[@]}"
stop_sim
CERTS=$certs REDPACK_SIM_BIN=$sim PRELOAD_CHECK=0 bash "$repo/scripts/preload-db.sh" "$tmp/full.db" "$preload"
# Long connection timeouts: the invariant checker afterwards reads every
# row (about 30 s for 1,000,000 packets, and the loop waits meanwhile).
start_sim "$tmp/full.db" --timeout 600 --request-timeout 600
run sim_full sim --connections 16 "${timed[@]}"
say "invariant check of the preloaded database"
check=$(curl -fsS "$sim_admin/admin/v1/check") || die "GET /admin/v1/check failed"
case $check in *'"ok":true'*) ;; *) die "invariants broken after the preloaded run: $check" ;; esac
stop_sim

say "cold start: 5 starts on fresh databases"
cold_ms=$(python3 - "$sim" "$fixtures" "$certs" "$tmp" <<'PY'
import http.client, os, re, statistics, subprocess, sys, time
sim, fixtures, certs, tmp = sys.argv[1:]
times = []
for i in range(5):
    db = os.path.join(tmp, "cold%d.db" % i)
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

python3 - "$tmp/res" "$idle_rss" "$rss_before_soak" "$soak_rss" "$cold_ms" "$soak" "$preload" \
  "$duration" "$warmup" "$threads" "$("$nginx_bin" -v 2>&1)" <<'PY'
import json, os, sys
res, idle_rss, rss_before, soak_rss, cold_ms, soak, preload, duration, warmup, threads, nginx_v = sys.argv[1:]
R = {n[:-5]: json.load(open(os.path.join(res, n))) for n in os.listdir(res)}

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
rows += [("SIGN_ERROR: server CPU per response (us)", cpu_us("sim_badsign"), cpu_us("nginx_ka16"), "%.1f"),
         ("full handshakes per server CPU-second", hs_rate("sim_handshake"), hs_rate("nginx_handshake"), "%.0f")]
print()
print("| figure | redpack-sim | nginx | redpack-sim / nginx |")
print("| --- | ---: | ---: | ---: |")
for name, a, b, f in rows:
    print("| %s | %s | %s | %s |" % (name, f % a, f % b, ratio(a, b)))
print("| cold start, exec to /healthz 200 (ms, median of 5) | %s | | |" % cold_ms)
print("| idle RSS after start (MiB) | %.1f | | |" % (int(idle_rss) / 1024))
print("| RSS before / after %s sends (MiB) | %.1f / %.1f | | |"
      % (format(int(soak), ","), int(rss_before) / 1024, int(soak_rss) / 1024))
e, f = R["sim_empty"], R["sim_full"]
print("| req/s with %s packets stored / with none | %.0f / %.0f | | %s |"
      % (format(int(preload), ","), f["rps"], e["rps"], ratio(f["rps"], e["rps"])))
print("| server CPU per response, %s stored / none (us) | %.1f / %.1f | | %s |"
      % (format(int(preload), ","), cpu_us("sim_full"), cpu_us("sim_empty"),
         ratio(cpu_us("sim_full"), cpu_us("sim_empty"))))
print()
notes = []
for n, d in sorted(R.items()):
    errs = {k: v for k, v in d["errors"].items() if v}
    want = "SIGN_ERROR" if n == "sim_badsign" else "SUCCESS"
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
      " histogram; handshake runs use 8 connections." % (duration, warmup, threads))
PY
