#!/bin/bash
# Private PostgreSQL 15 and Redis for development, tests and the demo.
#
#   tools/services.sh start | stop | status | env | psql [psql args...]
#
# Everything lives under <repo>/var/ (gitignored):
#   var/pg          PostgreSQL data dir (owned by the postgres user)
#   var/run/pg/     PostgreSQL Unix socket dir (.s.PGSQL.<port>)
#   var/run/redis.sock, var/redis/   Redis socket, config, log
# TCP: PostgreSQL 127.0.0.1:${HUBGATE_PG_PORT:-55432},
#      Redis      127.0.0.1:${HUBGATE_REDIS_PORT:-56379}.
#
# PostgreSQL refuses to run as root, so initdb/pg_ctl run as `postgres` on
# a data dir it owns. If postgres cannot reach <repo>/var (a parent dir not
# traversable, e.g. a repo under /root) or the socket path would be too long
# for sun_path, the data dir and socket go to /var/tmp/hubgate-<hash>/ and
# var/pg, var/run/pg are symlinks to them.
#
# Roles in the cluster (trust auth: a private, loopback/socket-only cluster):
#   hubgate      owns the database and the schema; runs migrations and
#                operator commands; BYPASSRLS (but not superuser).
#   hubgate_app  what the daemon uses: not superuser, not BYPASSRLS, not the
#                owner, so row-level security always applies to it.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
var=$repo/var
run=$var/run
pgbin=${HUBGATE_PG_BIN:-/usr/lib/postgresql/15/bin}
pg_port=${HUBGATE_PG_PORT:-55432}
redis_port=${HUBGATE_REDIS_PORT:-56379}
pg_user=${HUBGATE_PG_OSUSER:-postgres}
redis_dir=$var/redis
redis_sock=$run/redis.sock

log() { echo "services: $*"; }
die() { echo "services: $*" >&2; exit 1; }

as_pg() {
    if [ "$(id -u)" = 0 ]; then
        (cd / && runuser -u "$pg_user" -- "$@")  # cwd may be unreadable to it
    else
        "$@"                      # not root: run as ourselves
    fi
}

# Where the PostgreSQL data dir and socket dir really are.
pg_home() {
    local ext
    ext=/var/tmp/hubgate-$(printf '%s' "$repo" | sha256sum | cut -c1-12)
    if [ -L "$var/pg" ]; then        # decided on a previous start
        echo "$ext"
    elif [ -d "$var/pg" ]; then
        echo "$var"
    elif [ "$(id -u)" = 0 ] && ! runuser -u "$pg_user" -- test -x "$var"; then
        echo "$ext"
    elif [ ${#run} -gt 80 ]; then   # sun_path is 108 bytes
        echo "$ext"
    else
        echo "$var"
    fi
}

setup_dirs() {
    mkdir -p "$var" "$run" "$redis_dir"
    chmod 755 "$var" "$run"
    home=$(pg_home)
    if [ "$home" = "$var" ]; then
        pgdata=$var/pg pgsock=$run/pg
        mkdir -p "$pgdata" "$pgsock"
    else
        pgdata=$home/pg pgsock=$home/run
        mkdir -p "$home" "$pgdata" "$pgsock"
        chmod 755 "$home"
        if [ ! -L "$var/pg" ]; then
            ln -sfn "$pgdata" "$var/pg"
            ln -sfn "$pgsock" "$run/pg"
            log "postgres cannot use $var: data in $home (symlinked from var/)"
        fi
    fi
    if [ "$(id -u)" = 0 ]; then
        chown "$pg_user:" "$pgdata" "$pgsock"
    fi
    chmod 700 "$pgdata" "$pgsock"  # only postgres (and root) reach the socket
}

resolve() {
    if [ -e "$var/pg" ]; then
        pgdata=$(readlink -f "$var/pg") pgsock=$(readlink -f "$run/pg")
    else
        pgdata=$var/pg pgsock=$run/pg
    fi
}

pg_ready() { "$pgbin/pg_isready" -q -h "$pgsock" -p "$pg_port" -t 1; }
redis_ready() {
    [ -S "$redis_sock" ] &&
        [ "$(redis-cli -s "$redis_sock" ping 2>/dev/null)" = PONG ]
}

# Poll until "$@" succeeds, at most $1 tenths of a second.
wait_for() {
    local n=$1; shift
    while ! "$@"; do
        n=$((n - 1))
        [ "$n" -gt 0 ] || return 1
        sleep 0.1
    done
}

psql_su() {
    "$pgbin/psql" -X -q -v ON_ERROR_STOP=1 -h "$pgsock" -p "$pg_port" \
        -U postgres "$@"
}

start_pg() {
    if [ ! -f "$pgdata/PG_VERSION" ]; then
        as_pg "$pgbin/initdb" -D "$pgdata" -U postgres -A trust -E UTF8 \
            --locale=C.UTF-8 >"$var/initdb.log" 2>&1 ||
            die "initdb failed, see $var/initdb.log"
        echo "include_if_exists = 'hubgate.conf'" >>"$pgdata/postgresql.conf"
        # Private cluster: local socket (dir mode 0700) and loopback only.
        cat >"$pgdata/pg_hba.conf" <<'EOF'
local   all   all                 trust
host    all   all   127.0.0.1/32  trust
EOF
        log "postgresql: initialised $pgdata"
    fi
    # Rewritten on every start so HUBGATE_PG_PORT takes effect.
    as_pg tee "$pgdata/hubgate.conf" >/dev/null <<EOF
port = $pg_port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$pgsock'
unix_socket_permissions = 0777
max_connections = 200
logging_collector = off
EOF
    if pg_ready; then
        log "postgresql: already running on port $pg_port"
    else
        as_pg "$pgbin/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -W \
            start >/dev/null
        wait_for 300 pg_ready ||
            die "postgresql did not become ready, see $pgdata/server.log"
        log "postgresql: started on $pgsock and 127.0.0.1:$pg_port"
    fi
    psql_su -d postgres <<'EOF'
SELECT 'CREATE ROLE hubgate LOGIN NOSUPERUSER BYPASSRLS'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hubgate') \gexec
SELECT 'CREATE ROLE hubgate_app LOGIN NOSUPERUSER NOBYPASSRLS'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hubgate_app') \gexec
ALTER ROLE hubgate_app NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
SELECT 'CREATE DATABASE hubgate OWNER hubgate ENCODING ''UTF8'' TEMPLATE template0'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'hubgate') \gexec
EOF
    # PG 15: the public schema belongs to pg_database_owner (= hubgate).
    psql_su -d hubgate -c 'REVOKE ALL ON SCHEMA public FROM PUBLIC;
        GRANT USAGE ON SCHEMA public TO hubgate_app;'
    log "postgresql: roles hubgate, hubgate_app and database hubgate ready"
}

start_redis() {
    if redis_ready; then
        log "redis: already running"
        return
    fi
    cat >"$redis_dir/redis.conf" <<EOF
bind 127.0.0.1
port $redis_port
unixsocket $redis_sock
unixsocketperm 700
daemonize yes
pidfile $redis_dir/redis.pid
logfile $redis_dir/redis.log
dir $redis_dir
save ""
appendonly no
EOF
    redis-server "$redis_dir/redis.conf"
    wait_for 100 redis_ready ||
        die "redis did not become ready, see $redis_dir/redis.log"
    log "redis: started on $redis_sock and 127.0.0.1:$redis_port"
}

stop_pg() {
    resolve
    if [ -f "$pgdata/postmaster.pid" ] &&
        as_pg "$pgbin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
        as_pg "$pgbin/pg_ctl" -D "$pgdata" -m fast -w -t 60 stop >/dev/null
        log "postgresql: stopped"
    else
        log "postgresql: not running"
    fi
}

stop_redis() {
    local pid
    if redis_ready; then
        pid=$(cat "$redis_dir/redis.pid" 2>/dev/null || true)
        redis-cli -s "$redis_sock" shutdown nosave >/dev/null 2>&1 || true
        if [ -n "$pid" ]; then
            wait_for 100 eval "! kill -0 $pid 2>/dev/null" ||
                die "redis (pid $pid) did not stop"
        fi
        log "redis: stopped"
    else
        log "redis: not running"
    fi
}

cmd=${1:-status}
[ $# -gt 0 ] && shift
case $cmd in
start)
    setup_dirs
    start_pg
    start_redis
    ;;
stop)
    stop_pg
    stop_redis
    ;;
status)
    resolve
    rc=0
    if pg_ready; then log "postgresql: running ($pgsock, port $pg_port)"
    else log "postgresql: stopped"; rc=3; fi
    if redis_ready; then log "redis: running ($redis_sock, port $redis_port)"
    else log "redis: stopped"; rc=3; fi
    exit $rc
    ;;
env)
    # eval "$(tools/services.sh env)": libpq/redis settings for this cluster
    resolve
    echo "export PGHOST='$pgsock' PGPORT='$pg_port' PGDATABASE=hubgate"
    echo "export HUBGATE_REDIS_SOCKET='$redis_sock'"
    ;;
psql)
    # Default: database hubgate as role hubgate; args are passed on and
    # may override (-U hubgate_app, -d postgres, ...).
    resolve
    exec "$pgbin/psql" -X -h "$pgsock" -p "$pg_port" -U hubgate -d hubgate "$@"
    ;;
*)
    echo "usage: $0 start|stop|status|env|psql [args]" >&2
    exit 2
    ;;
esac
