#!/usr/bin/env bash
# Starts a throw-away PostgreSQL cluster on 127.0.0.1 in a temporary directory and prints its URL.
# Usage: eval "$(scripts/postgres.sh start)"   ...   scripts/postgres.sh stop "$PGTEST_DIR"
set -euo pipefail

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bindir" ] || { echo "postgres.sh: PostgreSQL is not installed" >&2; exit 1; }

run_as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
  start)
    dir=$(mktemp -d /tmp/dockyard-pg.XXXXXX)
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    run_as_postgres "$bindir/initdb" -D "$dir/data" -U postgres -A trust --no-sync >/dev/null
    run_as_postgres "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off -c full_page_writes=off -c max_connections=300" \
      start >/dev/null
    echo "export PGTEST_DIR=$dir"
    echo "export DOCKYARD_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    dir=${2:?usage: postgres.sh stop DIR}
    run_as_postgres "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: postgres.sh start | stop DIR" >&2
    exit 2
    ;;
esac
