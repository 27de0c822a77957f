#!/usr/bin/env bash
# A throwaway PostgreSQL for tests (issue 14): its own cluster in a
# directory, its own port on 127.0.0.1, stopped and deleted at the end.
#   scripts/pg-throwaway.sh start DIR   prints the postgresql:// URL, also in DIR/url
#   scripts/pg-throwaway.sh stop DIR    stops it and removes DIR
set -euo pipefail
umask 077 # DIR/url holds a password

prog=pg-throwaway
usage="usage: pg-throwaway.sh start DIR | restart DIR [SECONDS] | stop DIR | --help"

readonly DB=redpack          # the database created, and the superuser's name
readonly PORT_LO=20000       # ports tried: below Linux's ephemeral range
readonly PORT_SPAN=12000     # (32768 and up), where outgoing connections bind
readonly PORT_TRIES=20
readonly RUN_AS=nobody       # when started by root: initdb and postgres refuse root

die() { echo "$prog: $*" >&2; exit 1; }
usage_error() { echo "$prog: $*" >&2; exit 2; }

print_help() {
  cat <<EOF
$usage

restart DIR [SECONDS]
           stops DIR's cluster at once (pg_ctl -m immediate: its
           connections cut, as in a crash), waits SECONDS (0), and starts
           it again on the same port: for tests of reconnection.
start DIR  makes a new PostgreSQL cluster (initdb of the newest version in
           /usr/lib/postgresql) and starts it: listening on 127.0.0.1 on a
           free port of its own (another is tried when a parallel run took
           it) and on a unix socket in its directory; fsync off, as nothing
           in it is meant to last; a database "$DB" whose owner, the
           superuser "$DB", logs in over TCP with a random password.
           Prints the URL, postgresql://$DB:PASSWORD@127.0.0.1:PORT/$DB,
           and writes it to DIR/url. The server's log is DIR/log.
           Run as root, the cluster belongs to the user $RUN_AS, and lives in
           DIR (chowned to it) or, when $RUN_AS cannot reach DIR or the
           socket's path would be too long, in a directory under \${TMPDIR:-/tmp}
           that DIR/data links to. A DIR left by an earlier start is
           stopped and replaced; any other non-empty DIR is refused.
stop DIR   stops the server (immediate shutdown) and removes DIR and the
           cluster; nothing to do when DIR does not exist.

scripts/setup.sh installs PostgreSQL (Debian's postgresql).
EOF
}

# The newest installed server's bin directory.
pg_bin() {
  local d best=""
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] || continue
    if [ -z "$best" ] || [ "$(basename "$(dirname "$d")")" -gt "$(basename "$(dirname "$best")")" ]; then
      best=$d
    fi
  done
  [ -n "$best" ] || die "no PostgreSQL server in /usr/lib/postgresql (scripts/setup.sh installs it)"
  echo "$best"
}

# Runs a command as the cluster's owner: $RUN_AS when we are root.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$RUN_AS" -- "$@"
  else
    "$@"
  fi
}

# A cluster that lives outside DIR: DIR/data links to one made by start.
is_outside() { [ -L "$1/data" ] && [[ "$(readlink "$1/data")" == */pg-throwaway.*/data ]]; }

# A throwaway's marks: its url file or its cluster.
is_ours() { [ -e "$1/url" ] || [ -e "$1/data/PG_VERSION" ] || is_outside "$1"; }

# Stops the cluster of DIR, if it runs, and removes it and DIR.
remove() {
  local dir=$1 data=$1/data owner
  if is_outside "$dir"; then data=$(readlink "$data"); fi
  if [ -f "$data/postmaster.pid" ]; then
    owner=$(stat -c %U "$data")
    if [ "$(id -u)" -eq 0 ] && [ "$owner" != root ]; then
      runuser -u "$owner" -- "$(pg_bin)/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
    else
      "$(pg_bin)/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
  fi
  # The cluster's own directory, when it lives outside DIR.
  if is_outside "$dir"; then rm -rf -- "$(dirname "$data")"; fi
  rm -rf -- "$dir"
}

do_stop() {
  [ -e "$1" ] || return 0
  is_ours "$1" || die "$1: not a throwaway PostgreSQL (no url, no data): left alone"
  remove "$1"
}

do_restart() {
  local dir=$1 pause=${2:-0} data=$1/data port log=$1/log
  is_ours "$dir" && [ -e "$dir/url" ] || die "$dir: not a started throwaway PostgreSQL"
  [[ $pause =~ ^[0-9]+(\.[0-9]+)?$ ]] || usage_error "restart: SECONDS must be a number, not $pause"
  if is_outside "$dir"; then data=$(readlink "$data"); log=$(readlink "$dir/log"); fi
  port=$(sed -n 's|.*@127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$dir/url")
  [ -n "$port" ] || die "$dir/url: no port"
  run_as_owner "$data" "$(pg_bin)/pg_ctl" -D "$data" -m immediate -w -t 30 stop ||
    die "pg_ctl stop failed (log: $dir/log)"
  sleep "$pause"
  run_as_owner "$data" "$(pg_bin)/pg_ctl" -D "$data" -l "$log" -o "-p $port" -w -t 30 start ||
    die "pg_ctl start failed (log: $dir/log)"
}

# Runs a command as the owner of the cluster directory $1 (root cannot run
# PostgreSQL's tools on it), quietly.
run_as_owner() {
  local data=$1 owner
  shift
  owner=$(stat -c %U "$data")
  if [ "$(id -u)" -eq 0 ] && [ "$owner" != root ]; then
    runuser -u "$owner" -- "$@" >/dev/null 2>&1
  else
    "$@" >/dev/null 2>&1
  fi
}

do_start() {
  local dir=$1 bin run pass port try started=0 url t0
  t0=$(date +%s%N)
  bin=$(pg_bin)
  if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
    is_ours "$dir" || die "$dir exists and is not empty: give a new directory"
    do_stop "$dir"
  fi
  mkdir -p -- "$dir"
  dir=$(cd "$dir" && pwd)
  chmod 700 "$dir"
  # Whatever fails from here on leaves nothing behind.
  cleanup=$dir
  trap 'remove "$cleanup"' EXIT
  # Where the cluster lives: DIR, unless the unprivileged owner cannot
  # reach it or the socket path (DIR/.s.PGSQL.NNNNN) would pass the
  # 107 bytes of a unix socket's name.
  run=$dir
  if [ "$(id -u)" -eq 0 ]; then
    getent passwd "$RUN_AS" >/dev/null || die "no user $RUN_AS to run PostgreSQL as (it refuses root)"
    chown "$RUN_AS" "$dir"
    runuser -u "$RUN_AS" -- test -w "$dir" || run=""
  fi
  if [ -z "$run" ] || [ $(( ${#dir} + 18 )) -gt 107 ]; then
    run=$(mktemp -d "${TMPDIR:-/tmp}/pg-throwaway.XXXXXX")
    [ "$(id -u)" -ne 0 ] || chown "$RUN_AS" "$run"
    ln -s "$run/data" "$dir/data"
  fi

  pass=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  printf '%s\n' "$pass" >"$run/.pw"
  [ "$(id -u)" -ne 0 ] || chown "$RUN_AS" "$run/.pw"
  if ! as_owner "$bin/initdb" -D "$run/data" -U "$DB" --pwfile="$run/.pw" -E UTF8 --locale=C \
       --auth-local=trust --auth-host=scram-sha-256 --no-sync --no-instructions \
       >"$run/initdb.log" 2>&1; then
    cat "$run/initdb.log" >&2
    rm -f "$run/.pw"
    die "initdb failed (log above)"
  fi
  rm -f "$run/.pw"
  cat >>"$run/data/postgresql.conf" <<EOF

# pg-throwaway.sh: tests only, nothing here is meant to last.
listen_addresses = '127.0.0.1'
unix_socket_directories = '$run'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 32MB
logging_collector = off
EOF

  # A port of its own: a random one, another when a parallel run has it.
  for try in $(seq 1 "$PORT_TRIES"); do
    port=$(( PORT_LO + (RANDOM * 32768 + RANDOM) % PORT_SPAN ))
    if as_owner "$bin/pg_ctl" -D "$run/data" -l "$run/log" -o "-p $port" -w -t 30 start \
         >/dev/null 2>&1; then
      started=1
      break
    fi
    # Anything but a port in use is an error of its own.
    grep -q -e 'could not bind' -e 'Address already in use' -e 'could not create any TCP/IP sockets' \
      "$run/log" 2>/dev/null || { tail -n 20 "$run/log" >&2 2>/dev/null || true; die "postgres did not start (log above)"; }
    : >"$run/log"
  done
  [ "$started" = 1 ] || die "no free port after $PORT_TRIES tries"
  [ "$run" = "$dir" ] || ln -s "$run/log" "$dir/log"

  as_owner "$bin/createdb" -h "$run" -p "$port" -U "$DB" "$DB" \
    || die "createdb $DB failed"
  url="postgresql://$DB:$pass@127.0.0.1:$port/$DB"
  printf '%s\n' "$url" >"$dir/url.tmp"
  mv "$dir/url.tmp" "$dir/url"
  trap - EXIT
  echo "$prog: started in $(( ($(date +%s%N) - t0) / 1000000 )) ms, port $port, cluster in $run" >&2
  echo "$url"
}

case "${1:-}" in
  -h|--help) print_help; exit 0 ;;
  start|stop) [ $# -eq 2 ] && [ -n "$2" ] || usage_error "$usage" ;;
  restart) [ $# -ge 2 ] && [ $# -le 3 ] && [ -n "$2" ] || usage_error "$usage" ;;
  "") usage_error "$usage" ;;
  *) usage_error "unknown command '$1' ($usage)" ;;
esac
case "$1" in
  start) do_start "$2" ;;
  restart) do_restart "$2" "${3:-0}" ;;
  *) do_stop "$2" ;;
esac
