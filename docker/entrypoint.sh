#!/bin/sh
# The container's entrypoint (installed as /usr/local/bin/redpack-entrypoint).
#   serve [FLAG...]    (default) make certificates at first start, then run redpack-sim
#   health             exit 0 when /healthz answers (the HEALTHCHECK)
#   certs [MCH_ID...]  write a tar of ca.pem and the merchants' certificates to stdout
#   ctl ARGS...        redpack-ctl against this container's control API
#   anything else      run as a command (e.g. sh)
# Settings are REDPACK_* variables (docs/settings.md); see docs/container.md.
set -eu

prog=redpack-entrypoint
data=/var/lib/redpack-sim
cert_dir=${REDPACK_CERT_DIR:-$data/certs}
fixtures=${REDPACK_FIXTURES:-/opt/redpack-sim/fixtures/default.json}

die() { echo "$prog: $*" >&2; exit 1; }

# The control API: reachable from outside the container only with a token.
if [ -z "${REDPACK_ADMIN_LISTEN:-}" ]; then
  if [ -n "${REDPACK_ADMIN_TOKEN:-}" ]; then
    REDPACK_ADMIN_LISTEN=0.0.0.0:8444
  else
    REDPACK_ADMIN_LISTEN=127.0.0.1:8444
  fi
fi
export REDPACK_ADMIN_LISTEN

# http://HOST:PORT of the control API as seen from inside the container.
admin_url() {
  port=${REDPACK_ADMIN_LISTEN##*:}
  host=${REDPACK_ADMIN_LISTEN%:*}
  case "$host" in
    0.0.0.0|"") host=127.0.0.1 ;;
    "[::]") host="[::1]" ;;
  esac
  echo "http://$host:$port"
}

# First start: certificates into the volume, unless all three are given.
ensure_certs() {
  cert=${REDPACK_TLS_CERT:-$cert_dir/server.pem}
  key=${REDPACK_TLS_KEY:-$cert_dir/server.key}
  ca=${REDPACK_CLIENT_CA:-$cert_dir/ca.pem}
  [ "$(certs_present)" -eq 3 ] && return 0
  mkdir -p "$cert_dir" 2>/dev/null && [ -w "$cert_dir" ] ||
    die "cannot write $cert_dir as uid $(id -u): give the volume to uid $(id -u) (chown) or mount your own certificates"
  # Several processes may share the volume (docker/compose.team.yaml): the
  # first makes the certificates under the lock, the others wait and find them.
  exec 9>"$cert_dir/.lock"
  flock 9
  present=$(certs_present)
  if [ "$present" -ne 3 ]; then
    [ "$present" -eq 0 ] ||
      die "some certificates are missing (server $cert, key $key, CA $ca): mount all three or none"
    echo "$prog: no certificates yet: making a test CA, the server's and every merchant's in $cert_dir" >&2
    bash /opt/redpack-sim/scripts/gen-certs.sh --ctl redpack-ctl "$cert_dir" "$fixtures"
    [ "$(certs_present)" -eq 3 ] ||
      die "made certificates in $cert_dir, but REDPACK_TLS_CERT/REDPACK_TLS_KEY/REDPACK_CLIENT_CA point elsewhere"
  fi
  exec 9>&-
}

certs_present() {
  n=0
  for f in "$cert" "$key" "$ca"; do [ -e "$f" ] && n=$((n + 1)); done
  echo "$n"
}

cmd=${1:-serve}
case "$cmd" in
  -*) cmd=serve ;;          # flags alone: serve with them
  *) shift ;;
esac

case "$cmd" in
  serve)
    case "${REDPACK_DB:-}" in
      :memory:|postgresql://*|postgres://*) ;;
      *)
        db_dir=$(dirname "${REDPACK_DB:-$data/redpack.db}")
        [ -w "$db_dir" ] ||
          die "cannot write $db_dir as uid $(id -u): give the volume to uid $(id -u) (chown)"
        ;;
    esac
    ensure_certs
    exec redpack-sim "$@"
    ;;
  health)
    exec redpack-ctl --admin "$(admin_url)" --timeout 2 health
    ;;
  certs)
    [ -t 1 ] && die "certs writes a tar archive: pipe it, e.g. '... certs | tar -x'"
    [ -e "$cert_dir/ca.pem" ] || die "no certificates in $cert_dir yet (they are made at the first start)"
    if [ $# -eq 0 ]; then
      set -- $(cd "$cert_dir" && for d in [0-9]*; do [ -d "$d" ] && echo "$d"; done)
    fi
    for m in "$@"; do
      [ -d "$cert_dir/$m" ] || die "no certificates for merchant $m in $cert_dir"
    done
    exec tar -C "$cert_dir" -cf - ca.pem "$@"
    ;;
  ctl)
    exec redpack-ctl --admin "$(admin_url)" "$@"
    ;;
  *)
    exec "$cmd" "$@"
    ;;
esac
