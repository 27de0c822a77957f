#!/usr/bin/env bash
# Builds docker/Dockerfile, runs the image and checks it from the host:
# /healthz answers 200, a signed send with the certificates copied out of the
# container succeeds, the control API answers with the token only, the
# HEALTHCHECK passes, and the server does not run as root. Where the machine
# has PostgreSQL and haproxy (scripts/setup.sh), also the image on
# PostgreSQL, and docker/compose.team.yaml emulated: the file read as
# Compose reads it (scripts/compose-check.py, PyYAML), then two containers
# with its settings on one database and one certificates volume behind the
# shipped haproxy.cfg, sends spread over both, and kill -9 of one.
#
#   scripts/docker-check.sh [--committed] [--no-pull] [--keep-image]
#
#   --committed   build the last commit (git archive HEAD), not the work tree
#   --no-pull     never try to pull debian:bookworm-slim; make it locally
#   --keep-image  keep the image afterwards (it is kept by default; see below)
#   --rm-image    remove the image afterwards
#
# Uses docker when a Docker engine answers, else podman (build with
# --isolation=chroot). Where debian:bookworm-slim is neither present nor
# pullable, makes it with mmdebstrap from this machine's apt sources and
# imports it (cached in $REDPACK_DOCKER_CACHE, default /var/tmp/redpack-sim-docker).
# Where `podman run` is refused (no rlimits for crun, as in some sandboxes) the
# image runs with `buildah from` + `buildah run --isolation=chroot`, which
# shares the host's network: the server then listens on free loopback ports.
# Installs podman, buildah and mmdebstrap (and python3-yaml) with apt-get
# when run as root and they are missing. Not part of scripts/test.sh: it takes minutes.
# Exit status 0 only when every check passes.
set -euo pipefail

prog=docker-check
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${REDPACK_DOCKER_CACHE:-/var/tmp/redpack-sim-docker}
image=${REDPACK_IMAGE:-localhost/redpack-sim:check}
base=debian:bookworm-slim
mch=10000098
token=check-$RANDOM$RANDOM
committed=0 pull=1 rm_image=0

for a in "$@"; do
  case "$a" in
    --committed) committed=1 ;;
    --no-pull) pull=0 ;;
    --keep-image) rm_image=0 ;;
    --rm-image) rm_image=1 ;;
    -h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "$prog: unknown option $a (see --help)" >&2; exit 2 ;;
  esac
done

t0=$SECONDS
say() { printf '%s: %s\n' "$prog" "$*"; }
die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }
passed=0 failed=0
ok() { passed=$((passed + 1)); printf '  ok    %s\n' "$*"; }
bad() { failed=$((failed + 1)); printf '  FAIL  %s\n' "$*"; }
elapsed() { printf '%ss' $((SECONDS - t0)); }

tmp=$(mktemp -d)
mode="" ctr="" runpid="" extra_ctrs=() extra_pids=() haproxy_pid="" team_env=()
# Stops a container: "$1" its name, "$2" the pid of its buildah run.
stop_ctr() {
  case "$mode" in
    docker|podman) [ -n "$1" ] && "$mode" rm -f "$1" >/dev/null 2>&1 ;;
    buildah)
      if [ -n "$2" ] && kill -0 "$2" 2>/dev/null; then
        kill -TERM -- "-$2" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$2" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$2" 2>/dev/null
      fi
      [ -n "$1" ] && buildah rm "$1" >/dev/null 2>&1 ;;
  esac
}
cleanup() {
  set +e
  [ -z "$haproxy_pid" ] || kill "$haproxy_pid" 2>/dev/null
  local i
  for i in "${!extra_ctrs[@]}"; do stop_ctr "${extra_ctrs[$i]}" "${extra_pids[$i]}"; done
  stop_ctr "$ctr" "$runpid"
  [ ! -e "$tmp/pg/url" ] || bash "$root/scripts/pg-throwaway.sh" stop "$tmp/pg" >/dev/null 2>&1
  if [ "$rm_image" = 1 ] && [ -n "${engine:-}" ]; then "$engine" rmi -f "$image" >/dev/null 2>&1; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# ---- the engine ------------------------------------------------------------
need_pkgs() {
  local missing=() p
  for p in "$@"; do command -v "$p" >/dev/null || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    die "needs ${missing[*]}: sudo apt-get install -y ${missing[*]}"
  fi
  say "installing ${missing[*]} with apt-get (Debian's packages; scripts/setup.sh does not)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$tmp/apt.log" 2>&1 ||
    { cat "$tmp/apt.log" >&2; die "apt-get install ${missing[*]} failed"; }
}

if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  engine=docker
  say "engine: docker ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
else
  command -v docker >/dev/null && say "docker answers but no Docker engine runs: using podman"
  need_pkgs podman buildah mmdebstrap
  engine=podman
  say "engine: podman $(podman version --format '{{.Client.Version}}' 2>/dev/null) (build --isolation=chroot)"
fi

# ---- the base image (podman without a registry) ----------------------------
if [ "$engine" = podman ] && ! podman image exists "$base" 2>/dev/null; then
  tarball=$cache/debian-bookworm-slim.tar
  if [ -f "$tarball" ]; then
    say "base: importing the cached local $base ($tarball)"
  elif [ "$pull" = 1 ] && timeout 60 podman pull -q "docker.io/library/$base" >"$tmp/pull.log" 2>&1; then
    podman tag "docker.io/library/$base" "localhost/$base" >/dev/null
    say "base: pulled $base"
  else
    [ "$pull" = 1 ] && say "base: $base cannot be pulled ($(tail -1 "$tmp/pull.log" | cut -c1-100))"
    say "base: making a local $base with mmdebstrap from this machine's apt sources (about 1-3 min; cached in $cache)"
    mkdir -p "$cache"
    # Like the official slim image: merged /usr, no manuals, docs or translations.
    # --format=tar: the .part name alone would make mmdebstrap write a directory.
    mmdebstrap --variant=minbase --format=tar --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
      bookworm "$tarball.part" >"$tmp/mmdebstrap.log" 2>&1 ||
      { tail -20 "$tmp/mmdebstrap.log" >&2; rm -f "$tarball.part"; die "mmdebstrap failed"; }
    mv "$tarball.part" "$tarball"
    say "base: made in $(elapsed)"
  fi
  if ! podman image exists "$base" 2>/dev/null; then
    podman import -q "$tarball" "localhost/$base" >/dev/null
  fi
  say "base: localhost/$base ready"
fi

# ---- build -----------------------------------------------------------------
ctx=$root
if [ "$committed" = 1 ]; then
  ctx=$tmp/context
  mkdir -p "$ctx"
  git -C "$root" archive HEAD | tar -x -C "$ctx"
  say "context: the last commit ($(git -C "$root" log -1 --format=%h))"
else
  say "context: the work tree $root"
fi
say "building $image from docker/Dockerfile (compiles, runs the unit tests) ..."
tb=$SECONDS
if [ "$engine" = docker ]; then
  build=(docker build -f "$ctx/docker/Dockerfile" -t "$image" "$ctx")
else
  build=(podman build --isolation=chroot --format docker --jobs 1 -f "$ctx/docker/Dockerfile" -t "$image" "$ctx")
fi
dangling() { "$engine" images -q -f dangling=true 2>/dev/null | sort -u; }
dangling >"$tmp/dangling.before"
if ! "${build[@]}" >"$tmp/build.log" 2>&1; then
  tail -40 "$tmp/build.log" >&2
  die "build failed after $((SECONDS - tb))s"
fi
# The build stage this build left untagged (hundreds of MB each run): ours, removed.
dangling | comm -13 "$tmp/dangling.before" - | xargs -r "$engine" rmi >/dev/null 2>&1 || true
unit=$(grep -Eo '[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$tmp/build.log" | tail -1 || true)
bytes=$("$engine" image inspect --format '{{.Size}}' "$image")
size_mb=$(( (bytes + 500000) / 1000000 ))
say "built in $((SECONDS - tb))s; unit tests in the build: ${unit:-not reported}; image size ${size_mb} MB"

# ---- run -------------------------------------------------------------------
free_port() {
  local p
  while :; do
    p=$(( 20000 + RANDOM % 40000 ))
    ss -ltnH "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
  done
}
api_port=$(free_port)
admin_port=$(free_port)
while [ "$admin_port" = "$api_port" ]; do admin_port=$(free_port); done

mode=$engine
if [ "$engine" = podman ] && ! podman run --rm --entrypoint true "$image" >"$tmp/run-probe.log" 2>&1; then
  say "podman run is refused here ($(grep -m1 -o 'crun:.*\|Error:.*' "$tmp/run-probe.log" | cut -c1-90)): using buildah run --isolation=chroot"
  mode=buildah
fi

# Runs a command in the running container, as the image's user.
in_ctr() {
  case "$mode" in
    docker|podman) "$mode" exec -i "$ctr" "$@" ;;
    buildah) buildah run --isolation=chroot "$ctr" -- "$@" ;;
  esac
}

if [ "$mode" = buildah ]; then
  ctr=$(buildah from "$image")
  # The host's network: loopback ports, no mapping. The same settings for
  # every later `buildah run` in this container (the health check, certs).
  buildah config --env "REDPACK_LISTEN=127.0.0.1:$api_port" \
    --env "REDPACK_ADMIN_LISTEN=127.0.0.1:$admin_port" \
    --env "REDPACK_ADMIN_TOKEN=$token" "$ctr"
  setsid buildah run --isolation=chroot "$ctr" -- redpack-entrypoint serve \
    >"$tmp/server.out" 2>"$tmp/server.err" </dev/null &
  runpid=$!
else
  ctr=redpack-check-$$
  "$mode" run -d --name "$ctr" -e "REDPACK_ADMIN_TOKEN=$token" \
    -p "127.0.0.1:$api_port:8443" -p "127.0.0.1:$admin_port:8444" "$image" >/dev/null
fi
api=https://127.0.0.1:$api_port admin=http://127.0.0.1:$admin_port
say "running ($mode): api $api, admin $admin, token set"

# ---- checks ----------------------------------------------------------------
echo "checks:"
code=000
for _ in $(seq 120); do
  code=$(curl -s -o "$tmp/healthz" -w '%{http_code}' --max-time 2 "$admin/healthz" || true)
  [ "$code" = 200 ] && break
  if [ "$mode" = buildah ] && ! kill -0 "$runpid" 2>/dev/null; then break; fi
  sleep 0.5
done
if [ "$code" = 200 ]; then
  ok "GET /healthz from the host: 200 $(tr -d '\n' <"$tmp/healthz") (certificates made at first start)"
else
  bad "GET /healthz from the host: $code"
  if [ "$mode" = buildah ]; then tail -20 "$tmp/server.err"; else "$mode" logs "$ctr" 2>&1 | tail -20; fi
fi

mkdir -p "$tmp/certs"
if in_ctr redpack-entrypoint certs "$mch" | tar -x -C "$tmp/certs" &&
   [ -s "$tmp/certs/ca.pem" ] && [ -s "$tmp/certs/$mch/apiclient_cert.pem" ]; then
  ok "certificates out: redpack-entrypoint certs $mch | tar -x -> ca.pem, $mch/apiclient_{cert,key}.pem, .p12"
else
  bad "certificates out (redpack-entrypoint certs $mch)"
fi

billno=${mch}$(date +%Y%m%d)$(date +%s%N | tail -c 11)
if [ -x "$root/build/redpack-ctl" ]; then
  sender="build/redpack-ctl send"
  "$root/build/redpack-ctl" send --api "$api" --certs "$tmp/certs" --fixtures "$root/fixtures/default.json" \
    --mch-id "$mch" --set "mch_billno=$billno" >"$tmp/send.xml" 2>&1 || true
else
  sender="scripts/example-send.sh"
  (cd "$root" && BILLNO=$billno bash scripts/example-send.sh "$api" "$tmp/certs") >"$tmp/send.xml" 2>&1 || true
fi
if grep -q '<result_code><!\[CDATA\[SUCCESS\]\]></result_code>' "$tmp/send.xml"; then
  ok "signed send from the host ($sender, mutual TLS with the copied-out certificates): SUCCESS, $(grep -o 'send_listid><!\[CDATA\[[0-9]*' "$tmp/send.xml" | sed 's/.*\[//')"
else
  bad "signed send from the host ($sender):"; sed 's/^/        /' "$tmp/send.xml" | head -20
fi

no_token=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$admin/admin/v1/packets/$billno?mch_id=$mch" || true)
with_token=$(curl -s -o "$tmp/packet.json" -w '%{http_code}' --max-time 5 \
  -H "Authorization: Bearer $token" "$admin/admin/v1/packets/$billno?mch_id=$mch" || true)
if [ "$no_token" = 401 ] && [ "$with_token" = 200 ] && grep -q "\"$billno\"" "$tmp/packet.json"; then
  ok "control API from the host: 401 without the token, 200 with it (the packet just sent is there)"
else
  bad "control API from the host: $no_token without the token, $with_token with it"
fi

hc=$("$engine" image inspect --format '{{json .Config.Healthcheck}}' "$image" 2>/dev/null ||
     "$engine" image inspect --format '{{json .HealthCheck}}' "$image")
hc_cmd=$(python3 -c 'import json,sys; t=(json.loads(sys.argv[1]) or {}).get("Test") or []; print(" ".join(t[1:]) if t[:1]==["CMD"] else "")' "$hc")
if [ -z "$hc_cmd" ]; then
  bad "HEALTHCHECK: none in the image (podman needs --format docker to keep it)"
elif in_ctr $hc_cmd >"$tmp/hc.log" 2>&1; then
  ok "HEALTHCHECK ($hc_cmd) run in the container: exit 0"
else
  bad "HEALTHCHECK ($hc_cmd): $(cat "$tmp/hc.log")"
fi

case "$mode" in
  buildah)
    spid=$(ss -ltnpH "sport = :$api_port" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)
    uid=$([ -n "$spid" ] && awk '/^Uid:/ {print $2}' "/proc/$spid/status" || echo "?") ;;
  *)
    spid=1
    uid=$(in_ctr awk '/^Uid:/ {print $2}' /proc/1/status || echo "?") ;;
esac
user=$("$engine" image inspect --format '{{.Config.User}}' "$image" 2>/dev/null || echo "?")
if [ -n "$uid" ] && [ "$uid" != "?" ] && [ "$uid" != 0 ]; then
  ok "the server process runs as uid $uid (image user $user), not root"
else
  bad "the server process's uid: ${uid:-unknown}"
fi

# Starts the image on the host's network, as the PostgreSQL and team checks
# run it: "$1" a name for its log, "$2" the API port, "$3" the admin port,
# "$4" REDPACK_DB, "$5" (optional) a host directory mounted as the
# certificates volume; the settings in team_env (KEY=VALUE) first. Sets
# $launched to the container.
launch() {
  local name=$1 api=$2 adm=$3 db=$4 certs=${5:-} c vol=() env
  # The compose file's settings (team_env), then the check's own: ports, token, database.
  env=("${team_env[@]}" "REDPACK_LISTEN=127.0.0.1:$api" "REDPACK_ADMIN_LISTEN=127.0.0.1:$adm"
       "REDPACK_ADMIN_TOKEN=$token" "REDPACK_DB=$db")
  case "$mode" in
    buildah)
      c=$(buildah from "$image")
      # Registered at once: the cleanup removes it whatever fails next.
      extra_ctrs+=("$c") extra_pids+=("")
      # (buildah config expands $NAME in a value; none of these has one.)
      buildah config "${env[@]/#/--env=}" "$c"
      [ -z "$certs" ] || vol=(--volume "$certs:/var/lib/redpack-sim/certs")
      setsid buildah run --isolation=chroot "${vol[@]}" "$c" -- redpack-entrypoint serve \
        >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null &
      extra_pids[${#extra_pids[@]} - 1]=$! ;;
    *)
      c=redpack-check-$name-$$
      extra_ctrs+=("$c") extra_pids+=("")
      [ -z "$certs" ] || vol=(-v "$certs:/var/lib/redpack-sim/certs")
      "$mode" run -d --name "$c" --network host "${env[@]/#/--env=}" "${vol[@]}" "$image" >/dev/null ;;
  esac
  launched=$c
}
# What a launched container logged: "$1" its name, "$2" the container.
ctr_log() {
  if [ "$mode" = buildah ]; then cat "$tmp/$1.err"; else "$mode" logs "$2" 2>&1; fi
}
# The HTTP status of GET "$1" on the admin port "$2", after up to 60 s of
# waiting for a 200 (the first start makes certificates and the schema).
await_200() {
  local code=000
  for _ in $(seq 120); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$2$1" || true)
    [ "$code" = 200 ] && break
    sleep 0.5
  done
  echo "$code"
}
answered() { # the SUCCESS answers counted in /metrics on stdin
  awk '/^redpack_answers_total\{[^}]*err_code="SUCCESS"/ {n += $2} END {print n + 0}'
}
admin_get() { # "$1" admin port, "$2" path: the body, with the token
  curl -s --max-time 5 -H "Authorization: Bearer $token" "http://127.0.0.1:$1$2" || true
}

# The image on PostgreSQL (issue 14): a second container with REDPACK_DB a
# throwaway cluster's URL on the host (the host's network), when this
# machine has PostgreSQL (scripts/setup.sh installs it).
pg_url=""
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 &&
   pg_url=$(bash "$root/scripts/pg-throwaway.sh" start "$tmp/pg" 2>"$tmp/pg.log"); then
  p_api=$(free_port) p_admin=$(free_port)
  launch pg "$p_api" "$p_admin" "$pg_url"
  code=$(await_200 /healthz "$p_admin")
  merchants=$(admin_get "$p_admin" "/admin/v1/merchants/$mch" | { grep -o '"mch_id"' || true; } | wc -l)
  logs=$(ctr_log pg "$launched")
  password=${pg_url#*://*:}; password=${password%%@*}
  if [ "$code" = 200 ] && [ "$merchants" -gt 0 ] && ! grep -qF "$password" <<<"$logs"; then
    ok "on PostgreSQL (REDPACK_DB=postgresql://...): /healthz 200, merchant $mch loaded from the fixtures, the password not in its log"
  else
    bad "on PostgreSQL: /healthz $code, $merchants merchants$(grep -qF "$password" <<<"$logs" && echo ', the password in its log')"
    tail -5 <<<"$logs"
  fi
else
  pg_url=""
  say "no PostgreSQL on this machine ($(head -c 200 "$tmp/pg.log" 2>/dev/null)): the image on PostgreSQL not checked"
fi

# ---- the team sandbox: docker/compose.team.yaml, emulated ------------------
# Two containers of the image on one new database of the throwaway cluster
# (compose's postgres service), sharing one certificates directory (its
# redpack-certs volume), both started at once (stricter than compose, which
# starts the second once the first is healthy), and the shipped
# docker/haproxy/haproxy.cfg on this machine's haproxy in front of them, its
# binds and servers moved to loopback ports (the host's network).
team_sends() { # "$1" how many sends through HAProxy; prints how many succeeded
  local n=0 i b
  for i in $(seq "$1"); do
    b=${mch}$(date +%Y%m%d)$(date +%s%N | tail -c 11)
    # to a new user each: a user's daily limit is 10
    if "$root/build/redpack-ctl" send --api "https://127.0.0.1:$h_api" --certs "$tmp/team-certs" \
         --fixtures "$root/fixtures/default.json" --mch-id "$mch" --set "mch_billno=$b" \
         --set "re_openid=oTeam$RANDOM$RANDOM$i" >"$tmp/team-send.xml" 2>&1; then
      n=$((n + 1)); echo "$b" >>"$tmp/team-billnos"
    fi
  done
  echo "$n"
}
if [ -z "$pg_url" ] || ! command -v haproxy >/dev/null || [ ! -x "$root/build/redpack-ctl" ]; then
  say "the team sandbox not checked: it needs PostgreSQL, haproxy and build/redpack-ctl (scripts/setup.sh, scripts/build.sh)"
else
  # compose.team.yaml read with its defaults (scripts/compose-check.py,
  # PyYAML): its services, volumes, haproxy.cfg and settings agree, and the
  # containers below get its redpack-sim environment.
  if ! /usr/bin/python3 -c 'import yaml' 2>/dev/null && [ "$(id -u)" -eq 0 ]; then
    say "installing python3-yaml with apt-get (to read compose.team.yaml)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-yaml \
      >"$tmp/apt-yaml.log" 2>&1 || true
  fi
  if /usr/bin/python3 -c 'import yaml' 2>/dev/null; then
    settings=$( { in_ctr redpack-sim --help 2>&1 || true; } | awk '$1 ~ /^--/ {print substr($1, 3)}' | tr '\n' ' ')
    if /usr/bin/python3 "$root/scripts/compose-check.py" check $settings >"$tmp/compose.log" 2>&1; then
      ok "team: compose.team.yaml read (PyYAML, variables at their defaults): $(grep -c '^ok' "$tmp/compose.log") checks (the database URL against the postgres service, every REDPACK_* a setting of the image, one certificates volume, start order, haproxy.cfg's servers and ports)"
    else
      bad "team: compose.team.yaml:"; grep -v '^ok' "$tmp/compose.log" | sed 's/^/        /'
    fi
    if /usr/bin/python3 "$root/scripts/compose-check.py" env redpack-sim-1 >"$tmp/compose.env" 2>&1; then
      while IFS= read -r kv; do
        case "$kv" in REDPACK_DB=*|REDPACK_ADMIN_TOKEN=*) ;; *) team_env+=("$kv") ;; esac
      done <"$tmp/compose.env"
    else
      bad "team: the environment of compose.team.yaml's redpack-sim-1: $(head -3 "$tmp/compose.env")"
    fi
  else
    say "no PyYAML (python3-yaml): compose.team.yaml not read; its containers get REDPACK_LOG_FORMAT=json as it sets"
    team_env=(REDPACK_LOG_FORMAT=json)
  fi
  team_db=${pg_url%/*}/team
  psql -qX "$pg_url" -c "CREATE DATABASE team" >"$tmp/psql.log" 2>&1 || { cat "$tmp/psql.log" >&2; die "CREATE DATABASE team failed"; }
  mkdir -p "$tmp/team-certs"; : >"$tmp/team-billnos"
  # Writable by the image's user, as a named volume would be.
  img_uid=$(in_ctr id -u 2>/dev/null || echo 10001)
  chown "$img_uid" "$tmp/team-certs" 2>/dev/null || chmod 0777 "$tmp/team-certs"
  t1_api=$(free_port) t1_adm=$(free_port) t2_api=$(free_port) t2_adm=$(free_port)
  launch team1 "$t1_api" "$t1_adm" "$team_db" "$tmp/team-certs"; t1=$launched
  launch team2 "$t2_api" "$t2_adm" "$team_db" "$tmp/team-certs"; t2=$launched
  c1=$(await_200 /healthz "$t1_adm") c2=$(await_200 /healthz "$t2_adm")
  makers=$( { ctr_log team1 "$t1"; ctr_log team2 "$t2"; } | grep -c 'no certificates yet' || true)
  if [ "$c1" = 200 ] && [ "$c2" = 200 ] && [ "$makers" = 1 ] && [ -s "$tmp/team-certs/ca.pem" ]; then
    ok "team: two containers started at once on one new database and one certificates volume: both /healthz 200, the certificates made once"
  else
    bad "team: /healthz $c1 and $c2, certificates made $makers times"
    { ctr_log team1 "$t1"; ctr_log team2 "$t2"; } | tail -10
  fi

  h_api=$(free_port) h_adm=$(free_port)
  sed -e "s/bind :8443\b/bind 127.0.0.1:$h_api/" -e "s/bind :8444\b/bind 127.0.0.1:$h_adm/" \
      -e "s/redpack-sim-1:8443 check port 8444\b/127.0.0.1:$t1_api check port $t1_adm/" \
      -e "s/redpack-sim-2:8443 check port 8444\b/127.0.0.1:$t2_api check port $t2_adm/" \
      -e "s/redpack-sim-1:8444\b/127.0.0.1:$t1_adm/" -e "s/redpack-sim-2:8444\b/127.0.0.1:$t2_adm/" \
      "$root/docker/haproxy/haproxy.cfg" >"$tmp/haproxy.cfg"
  if grep -q 'redpack-sim-[0-9]' "$tmp/haproxy.cfg"; then
    bad "team: docker/haproxy/haproxy.cfg names a process this check did not place"
  elif ! haproxy -c -f "$tmp/haproxy.cfg" >"$tmp/haproxy-c.log" 2>&1; then
    bad "team: haproxy -c on the shipped config: $(tail -3 "$tmp/haproxy-c.log")"
  else
    setsid haproxy -db -f "$tmp/haproxy.cfg" >/dev/null 2>"$tmp/haproxy.err" </dev/null &
    haproxy_pid=$!
    for _ in $(seq 40); do # both processes through their first health check
      [ "$(team_sends 1)" = 1 ] && break
      sleep 0.5
    done
    sleep 2.5
    sent=$(team_sends 20)
    s1=$(admin_get "$t1_adm" /metrics | answered)
    s2=$(admin_get "$t2_adm" /metrics | answered)
    last=$(tail -1 "$tmp/team-billnos")
    seen=0
    for p in "$t1_adm" "$t2_adm" "$h_adm"; do # each process's, then HAProxy's
      admin_get "$p" "/admin/v1/packets/$last?mch_id=$mch" | grep -q "\"$last\"" && seen=$((seen + 1))
    done
    if [ "$sent" = 20 ] && [ "$s1" -gt 0 ] && [ "$s2" -gt 0 ] && [ "$seen" = 3 ]; then
      ok "team: 20 sends through HAProxy (mutual TLS passed through) all SUCCESS, answered by both processes ($s1 and $s2), the last packet seen by both control APIs and through HAProxy's"
    else
      bad "team: $sent of 20 sends through HAProxy succeeded; answered $s1 and $s2; last packet seen by $seen of 3 control APIs (two processes', HAProxy's)"
      sed 's/^/        /' "$tmp/team-send.xml" | head -10
    fi

    # kill -9 of the first process: at once, before a health check sees it.
    if [ "$mode" = buildah ]; then
      kpid=$(ss -ltnpH "sport = :$t1_api" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)
      [ -z "$kpid" ] || kill -KILL "$kpid" || true
    else
      "$mode" kill -s KILL "$t1" >/dev/null || true
    fi
    after=$(team_sends 10)
    gone=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$t1_adm/healthz" || true)
    kept=0 total=0
    while read -r b; do
      total=$((total + 1))
      admin_get "$t2_adm" "/admin/v1/packets/$b?mch_id=$mch" | grep -q "\"$b\"" && kept=$((kept + 1))
    done <"$tmp/team-billnos"
    if [ "$gone" = 000 ] && [ "$after" = 10 ] && [ "$kept" = "$total" ]; then
      ok "team: kill -9 of one process: the next 10 sends through HAProxy all SUCCESS, and all $total acknowledged packets are in the survivor's control API"
    else
      bad "team: after kill -9 of one process (its /healthz then $gone), $after of 10 sends succeeded; $kept of $total acknowledged packets found"
    fi
    kill "$haproxy_pid" 2>/dev/null || true
    wait "$haproxy_pid" 2>/dev/null || true
    haproxy_pid=""
  fi
fi

echo
say "image $image: ${size_mb} MB; $passed passed, $failed failed in $(elapsed)"
[ "$failed" -eq 0 ]
