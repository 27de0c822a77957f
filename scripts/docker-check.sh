#!/usr/bin/env bash
# Builds docker/Dockerfile, runs the image and checks it from the host:
# /healthz answers 200, a signed send with the certificates copied out of the
# container succeeds, the control API answers with the token only, the
# HEALTHCHECK passes, and the server does not run as root.
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
# Installs podman, buildah and mmdebstrap with apt-get when run as root and
# they are missing. Not part of scripts/test.sh: it takes minutes.
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
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
mode="" ctr="" runpid="" ctr2="" runpid2=""
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
  stop_ctr "$ctr2" "$runpid2"
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

# The image on PostgreSQL (issue 14): a second container with REDPACK_DB a
# throwaway cluster's URL on the host (the host's network), when this
# machine has PostgreSQL (scripts/setup.sh installs it).
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 &&
   pg_url=$(bash "$root/scripts/pg-throwaway.sh" start "$tmp/pg" 2>"$tmp/pg.log"); then
  p_api=$(free_port) p_admin=$(free_port)
  case "$mode" in
    buildah)
      ctr2=$(buildah from "$image")
      buildah config --env "REDPACK_LISTEN=127.0.0.1:$p_api" \
        --env "REDPACK_ADMIN_LISTEN=127.0.0.1:$p_admin" --env "REDPACK_ADMIN_TOKEN=$token" \
        --env "REDPACK_DB=$pg_url" "$ctr2"
      setsid buildah run --isolation=chroot "$ctr2" -- redpack-entrypoint serve \
        >"$tmp/server2.out" 2>"$tmp/server2.err" </dev/null &
      runpid2=$! ;;
    *)
      ctr2=redpack-check-pg-$$
      "$mode" run -d --name "$ctr2" --network host -e "REDPACK_LISTEN=127.0.0.1:$p_api" \
        -e "REDPACK_ADMIN_LISTEN=127.0.0.1:$p_admin" -e "REDPACK_ADMIN_TOKEN=$token" \
        -e "REDPACK_DB=$pg_url" "$image" >/dev/null ;;
  esac
  code=000
  for _ in $(seq 120); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$p_admin/healthz" || true)
    [ "$code" = 200 ] && break
    sleep 0.5
  done
  merchants=$(curl -s --max-time 5 -H "Authorization: Bearer $token" \
    "http://127.0.0.1:$p_admin/admin/v1/merchants/$mch" | grep -o '"mch_id"' | wc -l)
  if [ "$mode" = buildah ]; then logs=$(cat "$tmp/server2.err"); else logs=$("$mode" logs "$ctr2" 2>&1); fi
  password=${pg_url#*://*:}; password=${password%%@*}
  if [ "$code" = 200 ] && [ "$merchants" -gt 0 ] && ! grep -qF "$password" <<<"$logs"; then
    ok "on PostgreSQL (REDPACK_DB=postgresql://...): /healthz 200, merchant $mch loaded from the fixtures, the password not in its log"
  else
    bad "on PostgreSQL: /healthz $code, $merchants merchants$(grep -qF "$password" <<<"$logs" && echo ', the password in its log')"
    tail -5 <<<"$logs"
  fi
else
  say "no PostgreSQL on this machine ($(head -c 200 "$tmp/pg.log" 2>/dev/null)): the image on PostgreSQL not checked"
fi

echo
say "image $image: ${size_mb} MB; $passed passed, $failed failed in $(elapsed)"
[ "$failed" -eq 0 ]
