#!/usr/bin/env bash
# Local PostgreSQL and MariaDB for the test suite, from the OS packages, on 127.0.0.1.
#
#   scripts/db-servers.sh start   install (apt) if missing, init, start; idempotent
#   scripts/db-servers.sh env     print the ROMANCY_TEST_*_URL exports for the running servers
#   scripts/db-servers.sh stop    stop both servers (data is kept)
#
# `start` and `stop` take an optional backend (postgresql or mysql) to act on one server
# only; `stop` waits until the server has exited, so stop + start is a restart.
# ROMANCY_DB_DIR, ROMANCY_PG_PORT and ROMANCY_MYSQL_PORT select another instance (the chaos
# tests start private servers this way, to restart them without disturbing other tests).
#
# Servers listen on non-default ports so they never collide with a system instance.
# Durability is relaxed (fsync off): these servers hold throw-away test data only.
# ROMANCY_DB_DURABLE=1 starts them with the durable settings production runs instead
# (every commit flushed), for benchmarks: see docs/benchmarks.md.
set -euo pipefail

ROOT=${ROMANCY_DB_DIR:-/var/tmp/romancy-test-db}
PG_PORT=${ROMANCY_PG_PORT:-54329}
MY_PORT=${ROMANCY_MYSQL_PORT:-33069}
USER_NAME=romancy
PASSWORD=romancy
DB_NAME=romancy_test
if [ "${ROMANCY_DB_DURABLE:-0}" = 1 ]; then
    PG_DURABILITY="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
    MY_DURABILITY="--innodb-flush-log-at-trx-commit=1 --innodb-doublewrite=1"
else
    PG_DURABILITY="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    MY_DURABILITY="--innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0"
fi

log() { echo "[db-servers] $*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
    log "installing OS packages: $*"
    export DEBIAN_FRONTEND=noninteractive
    if [ ! -f /var/tmp/romancy-apt-updated ]; then
        as_root apt-get update -qq && touch /var/tmp/romancy-apt-updated
    fi
    # Package post-install scripts may try to start a system service; forbid that.
    as_root sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d'
    as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

pg_bin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$dir" ] && [ -x "$dir/postgres" ] && echo "$dir"
}

start_postgres() {
    local bin data=$ROOT/pg
    bin=$(pg_bin || true)
    if [ -z "$bin" ]; then apt_install postgresql; bin=$(pg_bin); fi
    if "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
        log "postgresql already running on 127.0.0.1:$PG_PORT"; return
    fi
    mkdir -p "$ROOT"
    if [ ! -s "$data/PG_VERSION" ]; then
        log "initialising postgresql cluster in $data"
        mkdir -p "$data" && chown postgres:postgres "$data" && chmod 700 "$data"
        local pwfile; pwfile=$(mktemp) && echo "$PASSWORD" > "$pwfile" && chmod 644 "$pwfile"
        su postgres -s /bin/sh -c "'$bin/initdb' -D '$data' -U postgres -A scram-sha-256 --pwfile='$pwfile' -E UTF8 --locale=C.UTF-8" >/dev/null
        rm -f "$pwfile"
    fi
    log "starting postgresql on 127.0.0.1:$PG_PORT"
    su postgres -s /bin/sh -c "'$bin/pg_ctl' -D '$data' -l '$data/server.log' -w -t 60 start \
        -o \"-c listen_addresses=127.0.0.1 -p $PG_PORT -k /tmp -c max_connections=400 -c TimeZone=UTC \
            $PG_DURABILITY\"" >/dev/null
    PGPASSWORD=$PASSWORD "$bin/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 <<SQL
SELECT 'CREATE ROLE $USER_NAME LOGIN SUPERUSER PASSWORD ''$PASSWORD'''
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$USER_NAME') \gexec
SELECT 'CREATE DATABASE $DB_NAME OWNER $USER_NAME'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$DB_NAME') \gexec
SQL
}

my_bin() { command -v mariadbd || command -v mysqld || ls /usr/sbin/mariadbd 2>/dev/null || true; }

my_ping() {
    mariadb-admin --protocol=tcp -h 127.0.0.1 -P "$MY_PORT" -u "$USER_NAME" -p"$PASSWORD" ping >/dev/null 2>&1
}

start_mariadb() {
    local bin data=$ROOT/mariadb
    bin=$(my_bin)
    if [ -z "$bin" ]; then apt_install mariadb-server mariadb-client; bin=$(my_bin); fi
    if my_ping; then log "mariadb already running on 127.0.0.1:$MY_PORT"; return; fi
    mkdir -p "$ROOT"
    local fresh=0
    if [ ! -d "$data/mysql" ]; then
        log "initialising mariadb data directory in $data"
        mkdir -p "$data" && chown mysql:mysql "$data"
        mariadb-install-db --user=mysql --datadir="$data" --auth-root-authentication-method=socket \
            --skip-test-db >/dev/null
        fresh=1
    fi
    log "starting mariadb on 127.0.0.1:$MY_PORT"
    nohup "$bin" --no-defaults --user=mysql --datadir="$data" --port="$MY_PORT" --bind-address=127.0.0.1 \
        --socket="$data/mariadb.sock" --pid-file="$data/mariadb.pid" --log-error="$data/mariadb.err" \
        --default-time-zone=+00:00 --max-connections=500 --skip-log-bin \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
        $MY_DURABILITY --skip-name-resolve \
        >/dev/null 2>&1 &
    for _ in $(seq 1 120); do
        mariadb-admin --socket="$data/mariadb.sock" -u root ping >/dev/null 2>&1 && break
        sleep 0.5
    done
    mariadb --socket="$data/mariadb.sock" -u root <<SQL
CREATE USER IF NOT EXISTS '$USER_NAME'@'127.0.0.1' IDENTIFIED BY '$PASSWORD';
CREATE USER IF NOT EXISTS '$USER_NAME'@'localhost' IDENTIFIED BY '$PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO '$USER_NAME'@'127.0.0.1' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO '$USER_NAME'@'localhost' WITH GRANT OPTION;
CREATE DATABASE IF NOT EXISTS $DB_NAME;
SQL
    [ "$fresh" = 1 ] && log "mariadb initialised"
    my_ping || { log "mariadb did not come up; see $data/mariadb.err"; exit 1; }
}

print_env() {
    local origin="'local server from the OS packages, started by scripts/db-servers.sh'"
    echo "export ROMANCY_TEST_POSTGRES_URL=postgresql://$USER_NAME:$PASSWORD@127.0.0.1:$PG_PORT/$DB_NAME"
    echo "export ROMANCY_TEST_POSTGRES_ORIGIN=$origin"
    echo "export ROMANCY_TEST_MYSQL_URL=mysql://$USER_NAME:$PASSWORD@127.0.0.1:$MY_PORT/$DB_NAME"
    echo "export ROMANCY_TEST_MYSQL_ORIGIN=$origin"
}

stop_postgres() {
    local bin; bin=$(pg_bin || true)
    if [ -n "$bin" ] && [ -s "$ROOT/pg/postmaster.pid" ]; then
        su postgres -s /bin/sh -c "'$bin/pg_ctl' -D '$ROOT/pg' -m fast stop" >/dev/null || true
    fi
    log "postgresql stopped"
}

stop_mariadb() {
    local pid
    if [ -s "$ROOT/mariadb/mariadb.pid" ]; then
        pid=$(cat "$ROOT/mariadb/mariadb.pid")
        kill "$pid" 2>/dev/null || true
        # kill only asks: wait for the exit, so a start right after binds the port.
        for _ in $(seq 1 240); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    fi
    log "mariadb stopped"
}

case "${1:-start}:${2:-all}" in
    start:all) start_postgres; start_mariadb; print_env ;;
    start:postgresql) start_postgres; print_env ;;
    start:mysql) start_mariadb; print_env ;;
    env:*) print_env ;;
    stop:all) stop_postgres; stop_mariadb ;;
    stop:postgresql) stop_postgres ;;
    stop:mysql) stop_mariadb ;;
    *) echo "usage: $0 start|env|stop [postgresql|mysql]" >&2; exit 2 ;;
esac
