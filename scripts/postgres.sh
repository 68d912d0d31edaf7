#!/usr/bin/env bash
# Prints a PostgreSQL URL the project can use, and makes sure it answers:
#   1. $DATABASE_URL when set;
#   2. else the server on 127.0.0.1:5432 (user postgres, trust auth);
#   3. else a private cluster under .data/postgres on port 54329, created and
#      started with the system's initdb/pg_ctl, installing Debian's
#      postgresql package first when they are missing.
# Only the URL goes to stdout; what was chosen is said on stderr.
#
#   scripts/postgres.sh [--db NAME]   URL of database NAME (default rollcall), created if missing
#   scripts/postgres.sh --stop        stop the private cluster if it runs
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
data="$root/.data/postgres"
sockdir="$root/.data/socket"
port=54329
probe_port=${ROLLCALL_PG_PORT_PROBE:-5432}
db=rollcall

say() { echo "postgres.sh: $*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --db) db=$2; shift 2 ;;
    --stop) stop=1; shift ;;
    *) say "unknown argument $1"; exit 2 ;;
  esac
done

as_owner() {
  # initdb and pg_ctl refuse to run as root.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_bindir() {
  local newest
  newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  echo "$newest"
}

if [ "${stop:-}" = 1 ]; then
  bin=$(pg_bindir)
  if [ -n "$bin" ] && [ -f "$data/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" -D "$data" stop -m fast >&2 && say "stopped the private PostgreSQL"
  fi
  exit 0
fi

ensure_db() { # $1: base URL ending in /postgres, prints the URL of $db
  local base=$1
  if [ "$db" != postgres ]; then
    if ! psql "$base" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
      psql "$base" -qc "CREATE DATABASE \"$db\"" >&2
      say "created database $db"
    fi
  fi
  echo "${base%/postgres*}/$db?sslmode=disable"
}

need_client() {
  command -v psql >/dev/null && command -v pg_isready >/dev/null && return
  install_postgres
}

install_postgres() {
  say "installing Debian's postgresql package (initdb, pg_ctl, psql are missing)"
  local sudo=
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql postgresql-client >&2
}

# 1. DATABASE_URL
if [ -n "${DATABASE_URL:-}" ]; then
  need_client
  if ! pg_isready -q -d "$DATABASE_URL"; then
    say "DATABASE_URL is set but nothing answers there: $DATABASE_URL"
    exit 1
  fi
  say "using DATABASE_URL"
  echo "$DATABASE_URL"
  exit 0
fi

# 2. A server on 127.0.0.1:5432
if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p "$probe_port" &&
  psql "postgres://postgres@127.0.0.1:$probe_port/postgres?sslmode=disable" -tAc 'select 1' >/dev/null 2>&1; then
  say "using PostgreSQL at 127.0.0.1:$probe_port"
  ensure_db "postgres://postgres@127.0.0.1:$probe_port/postgres"
  exit 0
fi

# 3. A private cluster under .data/
bin=$(pg_bindir)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  install_postgres
  bin=$(pg_bindir)
fi
mkdir -p "$data" "$sockdir"
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  chown -R postgres: "$root/.data"
  # postgres must reach .data through the repository's folders.
  d=$root
  while [ "$d" != / ]; do chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
fi
if [ ! -f "$data/PG_VERSION" ]; then
  say "creating a private PostgreSQL cluster under .data/postgres"
  as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >/dev/null
fi
if ! pg_isready -q -h 127.0.0.1 -p "$port"; then
  as_owner "$bin/pg_ctl" -D "$data" -l "$root/.data/postgres.log" -w \
    -o "-p $port -k $sockdir -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null
  say "started a private PostgreSQL under .data/ on port $port (log: .data/postgres.log; stop: scripts/postgres.sh --stop)"
else
  say "using the private PostgreSQL under .data/ on port $port"
fi
PATH="$bin:$PATH" ensure_db "postgres://postgres@127.0.0.1:$port/postgres"
