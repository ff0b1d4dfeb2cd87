#!/usr/bin/env bash
# hubgate webhook benchmark (issue 4): `make bench-webhook`, and part of
# `make bench`.
#
# One run, side by side, on 127.0.0.1 over plain HTTP:
#   - Debian's nginx with the module (a private copy), one worker pinned
#     like bench/run.sh's, access_log off, and in the same nginx a second
#     server block, the "sink", answering `return 200` (proxied to over
#     HTTP/1.1 keepalive 32)
#   - the private PostgreSQL and Redis (tools/services.sh start; stopped
#     at the end only when this script started them), a database of its
#     own, a hubgated of its own (defaults: its worker threads, pool and
#     logging) behind nginx, a tenant with one Stripe integration created
#     through the API
#   - scenarios, each BENCH_RUNS times round robin, BENCH_SECONDS each
#     (after a BENCH_WARMUP s warm-up each), medians reported:
#       fwd_plain   POST of a BENCH_FORWARD_BYTES (16384) Stripe event,
#                   proxied to the sink (client_body_buffer_size 64k),
#                   carrying a Stripe-Signature that nobody checks
#       fwd_verify  the same POST through `hubgate_webhook stripe
#                   secret=<file> tolerance=1h`: verified, signed identity
#                   headers added, forwarded to the sink.  Target ≥ 0.9 ×
#                   fwd_plain req/s.  wrk sends one fixed request with a
#                   valid signature; tolerance=1h (not off) keeps the
#                   timestamp check in the path while the fixed timestamp
#                   stays valid for the whole bench
#       intake      durable intake: wrk → nginx (hubgate_webhook stripe,
#                   tolerance=1h, identity signature) → hubgated
#                   POST /v1/webhooks/stripe/<uuid> → one committed
#                   transaction (webhook_events row + webhook.process job)
#                   → 200.  Every request is a distinct event of
#                   BENCH_EVENT_BYTES (1024), signed beforehand in Perl
#                   (bench/wh_events.pl: wrk's LuaJIT has no HMAC) and
#                   read line by line by bench/webhook.lua.  events/s =
#                   rows committed (counted in PostgreSQL after the run) /
#                   wrk's duration.  Target ≥ 5,000/s
#       ceiling     the same table without hubgated and nginx: bench/
#                   wh_ceiling.c (compiled here), BENCH_CONNECTIONS libpq
#                   connections, autocommit, one prepared INSERT of the
#                   same body per row, each committed; rows counted in
#                   PostgreSQL the same way
#       ceiling_pool  the same with as many connections as hubgated's
#                   database pool (what the intake can use at once)
#   - CPU time (/proc) of nginx's worker, hubgated, the whole PostgreSQL
#     cluster and the load generator per run; a run during which other
#     processes used more than BENCH_NOISE_MAX of a core is repeated (at
#     most BENCH_MAX_RETRIES times in all)
# and writes bench/results-webhook.md (BENCH_OUT), also printed, with
# bench/webhook_report.pl.
#
# Environment: BENCH_SECONDS (5)  BENCH_RUNS (3)  BENCH_WARMUP (2)
#   BENCH_CONNECTIONS (32)  BENCH_FORWARD_BYTES (16384)
#   BENCH_EVENT_BYTES (1024)  BENCH_EVENT_RATE_MAX (20000: distinct events
#   signed per second of a run; a run that uses them up is flagged)
#   BENCH_NOISE_MAX (0.15)  BENCH_MAX_RETRIES (2)
#   BENCH_OUT (bench/results-webhook.md)  BENCH_KEEP=1 keeps the work dir
#   NGINX  HUBGATE_MODULE  HUBGATED (build/hubgated)  CC (cc)
#
# Exit status: 0 when every run was valid (all 2xx, no socket errors, no
# crash, every 2xx'd event stored with its job, no error in the logs;
# missed targets are not failures: the table says so), 1 otherwise.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench

NGINX=${NGINX:-/usr/sbin/nginx}
MODULE=${HUBGATE_MODULE:-$ROOT/build/ngx_http_hubgate_module.so}
HUBGATED=${HUBGATED:-$ROOT/build/hubgated}
CC=${CC:-cc}
SECS=${BENCH_SECONDS:-5}
RUNS=${BENCH_RUNS:-3}
WARMUP=${BENCH_WARMUP:-2}
CONNS=${BENCH_CONNECTIONS:-32}
FWD_BYTES=${BENCH_FORWARD_BYTES:-16384}
EVENT_BYTES=${BENCH_EVENT_BYTES:-1024}
RATE_MAX=${BENCH_EVENT_RATE_MAX:-20000}
OUT=${BENCH_OUT:-$BENCH/results-webhook.md}
NOISE_MAX=${BENCH_NOISE_MAX:-0.15}
MAX_RETRIES=${BENCH_MAX_RETRIES:-2}

BENCH_NAME=bench-webhook
. "$BENCH/lib.sh"

check_numbers SECS RUNS WARMUP CONNS FWD_BYTES EVENT_BYTES RATE_MAX
(( EVENT_BYTES >= 256 && EVENT_BYTES <= 1000000 )) \
    || die "BENCH_EVENT_BYTES: 256 .. 1000000"
(( FWD_BYTES >= 256 && FWD_BYTES <= 65536 )) \
    || die "BENCH_FORWARD_BYTES: 256 .. 65536 (client_body_buffer_size 64k)"

[ -x "$NGINX" ] || die "$NGINX not found (apt-get install nginx)"
[ -f "$MODULE" ] || die "$MODULE not found: run 'make module'"
[ -x "$HUBGATED" ] || die "$HUBGATED not found: run 'make sidecar'"
for c in wrk curl openssl perl "$CC"; do
    command -v "$c" >/dev/null || die "$c not found: run 'make deps'"
done
"$HUBGATED" routes | grep -q '^POST /v1/webhooks/{provider}/{integration} ' \
    || die "$HUBGATED has no POST /v1/webhooks/{provider}/{integration}: rebuild it"

pin_cpus "load generator (wrk, wh_ceiling)"

# ------------------------------------------------------- work dir, cleanup

T=$(mktemp -d "${TMPDIR:-/tmp}/whbench.XXXXXX")
chmod 755 "$T"              # nginx's worker (nobody) reaches the socket
NGINX_PID=
HG_PID=
TENANT=whbench-$(basename "$T" | cut -d. -f2 | tr 'A-Z' 'a-z')
DB_MADE=0
SERVICES_STARTED=0
STATUS=1

hg() { "$HUBGATED" -c "$T/hubgated.conf" "$@"; }

cleanup() {
    trap - EXIT INT TERM
    stop_pid "$NGINX_PID" QUIT
    stop_pid "$HG_PID" TERM
    if [ "$DB_MADE" = 1 ]; then
        "$ROOT/tools/services.sh" psql -U postgres -d postgres -q -c \
            "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >/dev/null 2>&1 \
            || log "could not drop database $BENCH_DB"
    fi
    if [ "$SERVICES_STARTED" = 1 ]; then
        "$ROOT/tools/services.sh" stop >/dev/null 2>&1 || true
    fi
    if [ "${BENCH_KEEP:-0}" = 1 ] || [ "$STATUS" != 0 ]; then
        rm -f "$T"/events-*.tsv     # large, and regenerated on every run
        log "work directory kept: $T"
    else
        rm -rf "$T"
    fi
}
trap cleanup EXIT
trap 'log "failed at line $LINENO: $BASH_COMMAND"' ERR
trap 'exit 130' INT TERM

: > "$T/meta"
meta date "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
meta nproc "$NCPU"
meta cpu "$(grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//')"
meta kernel "$(uname -r)"
meta nginx "$("$NGINX" -v 2>&1 | sed 's/^nginx version: //')"
meta wrk "$( (wrk -v 2>&1 || true) | head -1 | awk '{print $2}')"
meta hubgated "$("$HUBGATED" version) (sha256 $(sha256sum "$HUBGATED" | cut -c1-16)...)"
meta module "$MODULE (sha256 $(sha256sum "$MODULE" | cut -c1-16)..., $(date -u -r "$MODULE" '+%Y-%m-%d %H:%M:%S UTC'))"
meta postgresql "$(/usr/lib/postgresql/15/bin/postgres --version 2>/dev/null | awk '{print $3}')"
meta pinning "$PINNING"
meta load_before "$(cut -d' ' -f1-3 /proc/loadavg)"
for v in SECS RUNS WARMUP CONNS FWD_BYTES EVENT_BYTES RATE_MAX NOISE_MAX MAX_RETRIES; do
    meta "$(tr 'A-Z' 'a-z' <<< "$v")" "${!v}"
done

# ----------------------------------------------------------- the ceiling

log "compiling bench/wh_ceiling.c"
# shellcheck disable=SC2046
"$CC" -O2 -Wall -Wextra -o "$T/wh_ceiling" "$BENCH/wh_ceiling.c" \
    $(pkg-config --cflags libpq 2>/dev/null || echo -I/usr/include/postgresql) \
    $(pkg-config --libs libpq 2>/dev/null || echo -lpq) -lpthread \
    || die "cannot compile bench/wh_ceiling.c (libpq-dev: make deps)"

# ------------------------------------------------- PostgreSQL, Redis, keys

if ! "$ROOT/tools/services.sh" status >/dev/null 2>&1; then
    SERVICES_STARTED=1
fi
"$ROOT/tools/services.sh" start >/dev/null
eval "$("$ROOT/tools/services.sh" env)"
PG_MASTER=$(head -1 "$(readlink -f "$ROOT/var/pg")/postmaster.pid")
meta pg_durability "$("$ROOT/tools/services.sh" psql -At -c "SELECT 'fsync=' || current_setting('fsync') || ', synchronous_commit=' || current_setting('synchronous_commit') || ', wal_sync_method=' || current_setting('wal_sync_method')")"

(
    umask 077
    printf '1 %s\n' "$(openssl rand -hex 32)" > "$T/kek"
    openssl rand -hex 32 > "$T/identity.secret"
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
        -out "$T/sign.pem" 2>/dev/null
    # the Stripe endpoint secret the module verifies with (secret=<file>)
    printf 'whsec_%s\n' "$(openssl rand -base64 24)" > "$T/stripe.whsec"
)
chmod 644 "$T/stripe.whsec"         # read by nginx's master at start-up
WHSEC=$(head -1 "$T/stripe.whsec")

BENCH_DB=hubgate_whbench_$$
"$ROOT/tools/services.sh" psql -U postgres -d postgres -q -c \
    "CREATE DATABASE $BENCH_DB OWNER hubgate TEMPLATE template0" >/dev/null \
    || die "cannot create database $BENCH_DB"
DB_MADE=1

sql() { "$ROOT/tools/services.sh" psql -d "$BENCH_DB" -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }

SOCK=$T/hubgated.sock
cat > "$T/hubgated.conf" <<EOF
listen = $SOCK
listen_mode = 0666
database_url = "host=$PGHOST port=$PGPORT dbname=$BENCH_DB user=hubgate_app application_name=hubgated-whbench"
admin_database_url = "host=$PGHOST port=$PGPORT dbname=$BENCH_DB user=hubgate"
redis_address = $HUBGATE_REDIS_SOCKET
kek_file = $T/kek
identity_secret_file = $T/identity.secret
token_signing_key_file = $T/sign.pem
token_issuer = hubgate-bench
token_audience = hubgate
EOF
hg config check > "$T/hubgated.effective"
POOL=$(awk '$1 == "database_pool_size" { print $3 }' "$T/hubgated.effective")
meta threads "$(awk '$1 == "worker_threads" { print $3 }' "$T/hubgated.effective")"
meta pool "$POOL"
meta loglevel "$(awk '$1 == "log_level" { print $3 }' "$T/hubgated.effective")"
meta logformat "$(awk '$1 == "log_format" { print $3 }' "$T/hubgated.effective")"
meta body_limit "$(awk '$1 == "request_body_limit" { print $3 }' "$T/hubgated.effective")"

hg migrate >/dev/null
TENANT_ID=$(hg tenant create "$TENANT" --name "webhook bench" \
    | sed -n 's/.*id \([0-9a-f-]\{36\}\).*/\1/p')
[ -n "$TENANT_ID" ] || die "tenant create printed no id"
hg token jwks > "$T/jwks.json"
TOKEN=$(hg token mint --tenant "$TENANT" --subject bench --roles user --ttl 2h)

# ---------------------------------------------------------------- hubgated

"$HUBGATED" -c "$T/hubgated.conf" serve > "$T/hubgated.log" 2>&1 < /dev/null &
HG_PID=$!
for _ in $(seq 100); do
    curl -sf -o /dev/null --unix-socket "$SOCK" http://hubgated/healthz && break
    kill -0 "$HG_PID" 2>/dev/null \
        || { tail -5 "$T/hubgated.log" >&2; die "hubgated exited at start-up"; }
    sleep 0.1
done
curl -sf -o /dev/null --unix-socket "$SOCK" http://hubgated/healthz \
    || die "hubgated does not answer /healthz on $SOCK"

# ------------------------------------------------------------------- nginx

cp "$MODULE" "$T/ngx_http_hubgate_module.so"     # as run.sh: a private copy
free_port() {
    perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen => 1,
        LocalAddr => "127.0.0.1:0", ReuseAddr => 1)->sockport'
}
PORT=$(free_port)
SINK=$(free_port)
while [ "$SINK" = "$PORT" ]; do SINK=$(free_port); done
mkdir -p "$T/logs"

cat > "$T/nginx.conf" <<EOF
load_module $T/ngx_http_hubgate_module.so;
worker_processes 1;
$AFFINITY
daemon off;
master_process on;
pid $T/nginx.pid;
error_log $T/logs/error.log notice;

events {
    worker_connections 1024;
}

http {
    access_log off;
    default_type application/json;
    keepalive_requests 1000000;
    client_header_buffer_size 2k;

    hubgate_jwt_cache zone=jwt:1m ttl=10m;

    upstream hubgated {
        server unix:$SOCK;
        keepalive 32;
    }

    upstream sink {
        server 127.0.0.1:$SINK;
        keepalive 32;
    }

    # the trivial upstream of the forward scenarios
    server {
        listen 127.0.0.1:$SINK;

        location / {
            return 200 "ok\n";
        }
    }

    server {
        listen 127.0.0.1:$PORT;

        hubgate_identity_secret $T/identity.secret;
        proxy_http_version 1.1;
        proxy_set_header Connection "";

        location = /return {
            return 200 "ok\n";
        }

        location = /fwd-plain {
            client_max_body_size 1m;
            client_body_buffer_size 64k;
            proxy_pass http://sink;
        }

        location = /fwd-verify {
            client_max_body_size 1m;
            client_body_buffer_size 64k;
            hubgate_webhook stripe secret=$T/stripe.whsec tolerance=1h;
            proxy_pass http://sink;
        }

        location ~ "^/api/v1/webhooks/stripe/(?<hg_integration>[0-9a-f-]{36})\$" {
            client_max_body_size 1m;
            client_body_buffer_size 1m;
            hubgate_webhook stripe secret=$T/stripe.whsec tolerance=1h;
            proxy_pass http://hubgated;
        }

        location /api/ {
            hubgate_jwt "bench";
            hubgate_jwt_algorithms RS256;
            hubgate_jwt_key_file $T/jwks.json;
            hubgate_jwt_issuer "hubgate-bench";
            hubgate_jwt_audience "hubgate";
            hubgate_jwt_require \$hubgate_tenant;
            proxy_set_header Authorization "";
            proxy_pass http://hubgated;
        }

        location = /_status {
            hubgate_status;
        }
    }
}
EOF

"$NGINX" -t -q -p "$T/" -c "$T/nginx.conf" -e "$T/logs/error.log" \
    || die "nginx -t failed for $T/nginx.conf"
"$NGINX" -p "$T/" -c "$T/nginx.conf" -e "$T/logs/error.log" &
NGINX_PID=$!
for _ in $(seq 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$PORT/return" && break
    kill -0 "$NGINX_PID" 2>/dev/null || die "nginx exited at start-up"
    sleep 0.1
done
NGINX_WORKER=$(ps --ppid "$NGINX_PID" -o pid= | head -1 | tr -d ' ')
[ -n "$NGINX_WORKER" ] || die "nginx: no worker process"

# ------------------------------------------------------- the integration

code=$(curl -s -o "$T/logs/create.json" -w '%{http_code}' \
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    --data '{"provider":"stripe","auth":"api_key","display_name":"Stripe (webhook bench)","api_key":"sk_test_whbench0000abcdef"}' \
    "http://127.0.0.1:$PORT/api/v1/integrations")
[ "$code" = 201 ] || die "POST /api/v1/integrations: $code $(cat "$T/logs/create.json")"
INTEG=$(perl -MJSON::PP -e 'print decode_json(do { local $/; <STDIN> })->{id}' \
    < "$T/logs/create.json")
[[ $INTEG =~ ^[0-9a-f-]{36}$ ]] || die "no integration id in $(cat "$T/logs/create.json")"
INTAKE=/api/v1/webhooks/stripe/$INTEG
meta integration "$INTEG"

# ------------------------------------------------------------ pre-flight

# the forward request: one event of FWD_BYTES, validly signed (t = now;
# tolerance=1h)
perl "$BENCH/wh_events.pl" "$WHSEC" 1 fwd "$FWD_BYTES" > "$T/fwd.tsv"
cut -f2 "$T/fwd.tsv" | tr -d '\n' > "$T/fwd.body"
FWD_SIG=$(cut -f1 "$T/fwd.tsv")
[ "$(stat -c %s "$T/fwd.body")" = "$FWD_BYTES" ] || die "forward body is not $FWD_BYTES bytes"
meta fwd_t "$(date -u -d "@$(sed 's/^t=\([0-9]*\),.*/\1/' <<< "$FWD_SIG")" '+%H:%M:%S UTC')"

post() {   # path signature bodyfile -> "code body"
    curl -s -w '\n%{http_code}' -H 'Content-Type: application/json' \
        -H "Stripe-Signature: $2" --data-binary "@$3" "http://127.0.0.1:$PORT$1"
}
BAD_SIG="${FWD_SIG%?}$( [ "${FWD_SIG: -1}" = 0 ] && echo 1 || echo 0)"

log "pre-flight checks"
r=$(post /fwd-plain "$FWD_SIG" "$T/fwd.body")
[ "$r" = $'ok\n\n200' ] || die "pre-flight fwd_plain: '$(tr '\n' ' ' <<< "$r")', expected 200 ok"
r=$(post /fwd-verify "$FWD_SIG" "$T/fwd.body")
[ "$r" = $'ok\n\n200' ] || die "pre-flight fwd_verify: '$(tr '\n' ' ' <<< "$r")', expected 200 ok"
r=$(post /fwd-verify "$BAD_SIG" "$T/fwd.body")
[ "${r##*$'\n'}" = 401 ] || die "pre-flight fwd_verify with a bad signature: ${r##*$'\n'}, expected 401"
r=$(post /fwd-plain "$BAD_SIG" "$T/fwd.body")
[ "${r##*$'\n'}" = 200 ] || die "pre-flight fwd_plain with a bad signature: ${r##*$'\n'}, expected 200 (unchecked)"

perl "$BENCH/wh_events.pl" "$WHSEC" 1 preflight "$EVENT_BYTES" > "$T/pre.tsv"
cut -f2 "$T/pre.tsv" | tr -d '\n' > "$T/event.body"   # also the ceiling's body
PRE_SIG=$(cut -f1 "$T/pre.tsv")
r=$(post "$INTAKE" "$PRE_SIG" "$T/event.body")
[[ ${r##*$'\n'} = 200 && $r == *'"duplicate":false'* ]] \
    || die "pre-flight intake: '$(tr '\n' ' ' <<< "$r")', expected 200 duplicate false"
r=$(post "$INTAKE" "$PRE_SIG" "$T/event.body")
[[ ${r##*$'\n'} = 200 && $r == *'"duplicate":true'* ]] \
    || die "pre-flight intake again: '$(tr '\n' ' ' <<< "$r")', expected 200 duplicate true"
r=$(post "$INTAKE" "${PRE_SIG%?}x" "$T/event.body")
[ "${r##*$'\n'}" = 401 ] || die "pre-flight intake with a bad signature: ${r##*$'\n'}, expected 401"
n=$(sql "SELECT count(*) || ' ' || (SELECT count(*) FROM jobs WHERE kind = 'webhook.process') FROM webhook_events")
[ "$n" = "1 1" ] || die "pre-flight intake: rows and jobs '$n', expected '1 1'"

# ------------------------------------------------------------------ load

# id | kind (fixed, stream, ceiling:<conns>) | path | baseline | target | label
SCEN=$T/scenarios.tsv
{
    printf 'fwd_plain\tfixed\t/fwd-plain\t-\t-\tPOST %d B, proxied to the sink without hubgate_webhook (baseline)\n' "$FWD_BYTES"
    printf 'fwd_verify\tfixed\t/fwd-verify\tfwd_plain\tratio:0.90\tthe same POST, hubgate_webhook stripe verified, then proxied\n'
    printf 'intake\tstream\t%s\tceiling\tabs:5000\tdurable intake: nginx + hubgate_webhook, hubgated, committed row + job\n' "$INTAKE"
    printf 'ceiling\tceiling:%d\t-\t-\t-\tceiling: libpq INSERT loop, %d connections, autocommit\n' "$CONNS" "$CONNS"
    if [ "$POOL" != "$CONNS" ]; then
        printf 'ceiling_pool\tceiling:%d\t-\t-\t-\tceiling: libpq INSERT loop, %d connections (hubgated'"'"'s pool), autocommit\n' "$POOL" "$POOL"
    fi
} > "$SCEN"

# CPU ticks of the whole PostgreSQL cluster: the postmaster, its live
# children, and the children it reaped meanwhile (cutime + cstime: the
# backends of wh_ceiling's connections end before the run is measured)
pg_ticks() {
    local p s t
    s=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$PG_MASTER/stat" 2>/dev/null || echo 0)
    for p in $(ps --ppid "$PG_MASTER" -o pid=); do
        t=$(cpu_ticks "$p")
        [ "$t" -ge 0 ] && s=$((s + t))
    done
    echo "$s"
}

# PostgreSQL's backends end after their client has gone: until the
# postmaster has reaped them, their CPU time is in neither its children's
# nor its own counts.  Waits (at most 5 s) until it has as few children
# as $1.
pg_settle() {
    for _ in $(seq 50); do
        [ "$(ps --ppid "$PG_MASTER" -o pid= | grep -c .)" -le "$1" ] && return 0
        sleep 0.1
    done
    log "PostgreSQL still has more than $1 children after 5 s"
}

# the distinct signed events of a stream run (before its CPU is measured)
gen_events() {   # tag seconds
    perl "$BENCH/wh_events.pl" "$WHSEC" "$((RATE_MAX * $2))" "$1" \
        "$EVENT_BYTES" > "$T/events-$1.tsv"
}

# webhooks accepted and rejected by the module so far
wh_counters() {
    curl -fsS --max-time 5 "http://127.0.0.1:$PORT/_status" 2>/dev/null \
    | perl -MJSON::PP -e '
        my $s = decode_json(do { local $/; <STDIN> });
        my $w = $s->{webhooks} // {};
        my $r = 0;
        $r += $_ for values %{ $w->{rejected} // {} };
        printf "%d %d\n", $w->{accepted} // -1, $r;
    ' 2>/dev/null || echo "-1 -1"
}

# rows whose event id starts with $1, and the webhook.process jobs that
# point at them; waits (at most 5 s) until the count holds still: the
# requests wrk had in flight when it stopped still commit
rows_of() {
    local q last="" n
    q="SELECT count(*) || ' ' || count(j.id) FROM webhook_events e
         LEFT JOIN jobs j ON j.kind = 'webhook.process'
                         AND j.payload->>'event_id' = e.id::text
        WHERE starts_with(e.event_id, '$1')"
    for _ in $(seq 25); do
        n=$(sql "$q")
        [ "$n" = "$last" ] && break
        last=$n
        sleep 0.2
    done
    echo "$n"
}

# load: id kind path seconds tag outfile -> the HGBENCH/HGCEIL line; the
# load generator's CPU seconds go to outfile as "HGCPU <s>"
load() {
    local id=$1 kind=$2 path=$3 secs=$4 tag=$5 out=$6 rc=0 cmd
    case $kind in
    fixed)
        cmd=(wrk -t1 -c"$CONNS" -d"${secs}s" --timeout 5s -s "$BENCH/webhook.lua"
             "http://127.0.0.1:$PORT$path" -- "$T/fwd.tsv" fixed)
        ;;
    stream)
        cmd=(wrk -t1 -c"$CONNS" -d"${secs}s" --timeout 5s -s "$BENCH/webhook.lua"
             "http://127.0.0.1:$PORT$path" -- "$T/events-$tag.tsv" stream)
        ;;
    ceiling:*)
        cmd=("$T/wh_ceiling" "host=$PGHOST port=$PGPORT dbname=$BENCH_DB user=hubgate_app application_name=wh_ceiling"
             "${kind#ceiling:}" "$secs" "$TENANT_ID" "$INTEG" "$T/event.body" "$tag")
        ;;
    esac
    perl -e 'my $rc = system @ARGV; my @t = times;
             printf STDERR "HGCPU %.2f\n", $t[2] + $t[3];
             exit($rc == 0 ? 0 : 1)' -- \
        "${ON_CLI[@]}" "${cmd[@]}" > "$out" 2>&1 || rc=$?
    rm -f "$T/events-$tag.tsv"
    if [ $rc != 0 ] || ! grep -qE '^HG(BENCH|CEIL) ' "$out"; then
        echo "FAILED rc=$rc"
        return 0
    fi
    grep -E '^HG(BENCH|CEIL) ' "$out" | tail -1
}

# one measured run: RUN_LINE (runs.tsv), RUN_NOISE, RUN_LOG
measure() {   # id kind path run attempt
    local id=$1 kind=$2 path=$3 run=$4 att=$5 out line tag
    local n0 n1 h0 h1 p0 p1 s0 s1 w0 w1 reqs dur st sock sent wrapped
    local rows jobs lcpu pgk
    out=$T/logs/load-$id-$run-$att.txt
    case $kind in
    stream) tag=i${run}a${att} ;;
    ceiling:*) tag=${id}_${run}_$att ;;
    *) tag=- ;;
    esac
    [ "$kind" = stream ] && gen_events "$tag" "$SECS"
    read -r w0 _ <<< "$(wh_counters)"
    pgk=$(ps --ppid "$PG_MASTER" -o pid= | grep -c .)
    s0=$(sys_ticks); n0=$(cpu_ticks "$NGINX_WORKER"); h0=$(cpu_ticks "$HG_PID"); p0=$(pg_ticks)
    line=$(load "$id" "$kind" "$path" "$SECS" "$tag" "$out")
    pg_settle "$pgk"
    s1=$(sys_ticks); n1=$(cpu_ticks "$NGINX_WORKER"); h1=$(cpu_ticks "$HG_PID"); p1=$(pg_ticks)
    read -r w1 _ <<< "$(wh_counters)"
    if [[ $line == FAILED* ]] || [ "$n1" = -1 ] || [ "$h1" = -1 ]; then
        RUN_LINE=$(printf '%s\t%s\t%s\tFAILED' "$id" "$run" "$att")
        RUN_NOISE=0
        RUN_LOG="run $run/$RUNS $id: failed (load generator, or a process gone), see $out"
        return
    fi
    dur=$(kv duration_us "$line")
    if [[ $line == HGCEIL* ]]; then
        reqs=$(kv inserts "$line"); st=$(kv errors "$line"); sock=0
        sent=$reqs; wrapped=0
    else
        reqs=$(kv requests "$line"); st=$(kv status "$line")
        sock=$(( $(kv connect "$line") + $(kv read "$line") + $(kv write "$line") + $(kv timeout "$line") ))
        sent=$(kv sent "$line"); wrapped=$(kv wrapped "$line")
    fi
    if [ "$tag" = - ]; then
        rows=-; jobs=-
    else
        read -r rows jobs <<< "$(rows_of "$(if [ "$kind" = stream ]; then echo "evt_${tag}_"; else echo "$tag-"; fi)")"
        [[ $kind == ceiling:* ]] && jobs=-
    fi
    lcpu=$(sed -n 's/^HGCPU //p' "$out" | tail -1)
    # CPU seconds of each part; other = the machine minus all of them
    read -r rate ncpu hcpu pcpu other <<< "$(awk -v r="$reqs" -v d="$dur" \
        -v rows="$rows" -v n="$((n1 - n0))" -v h="$((h1 - h0))" -v p="$((p1 - p0))" \
        -v l="${lcpu:-0}" -v s="$((s1 - s0))" -v hz="$CLK_TCK" 'BEGIN {
            secs = d / 1e6
            o = (s - n - h - p) / hz - l
            printf "%.1f %.3f %.3f %.3f %.3f\n", (rows == "-" ? r : rows) / secs,
                   n / hz, h / hz, p / hz, (o < 0 ? 0 : o) / secs }')"
    RUN_NOISE=$other
    RUN_LINE=$(printf '%s\t' "$id" "$run" "$att" "$rate" "$reqs" "$dur" "$st" \
        "$sock" "$rows" "$jobs" "$sent" "$wrapped" "$((w1 - w0))" "$ncpu" \
        "$hcpu" "$pcpu" "${lcpu:-0}")
    RUN_LINE=$RUN_LINE$other
    RUN_LOG="run $run/$RUNS $(printf '%-12s' "$id") $(printf '%10s' "$rate")/s  responses=$reqs non-2xx=$st socket-errors=$sock rows=$rows jobs=$jobs sent=$sent wrapped=$wrapped accepted=$((w1 - w0)) cpu-s nginx=$ncpu hubgated=$hcpu postgres=$pcpu loadgen=${lcpu:-0} other-cpu=$other"
}

# what one core hashes: SHA-256 (the HMAC's work) over FWD_BYTES blocks,
# pinned like nginx's worker
ON_SRV=()
[ -n "${SRV_CPU:-}" ] && ON_SRV=(taskset -c "$SRV_CPU")
wait_quiet 10 || true
sha=$("${ON_SRV[@]}" openssl speed -seconds 2 -bytes "$FWD_BYTES" -evp sha256 2>/dev/null \
      | awk '$1 == "sha256" { sub(/k$/, "", $2); print $2 * 1000 }')
[ -n "$sha" ] && meta sha256_bytes_per_s "$sha"

nscen=$(grep -c . "$SCEN")
total=$(( nscen * (WARMUP + RUNS * SECS) ))
log "$nscen scenarios x $RUNS runs x ${SECS}s (+${WARMUP}s warm-up each): about $((total / 60))m$((total % 60))s of load"

while IFS=$'\t' read -r id kind path _; do
    tag=-
    case $kind in stream) tag=warm ;; ceiling:*) tag=${id}_warm ;; esac
    [ "$kind" = stream ] && gen_events "$tag" "$WARMUP"
    line=$(load "$id" "$kind" "$path" "$WARMUP" "$tag" "$T/logs/load-$id-warmup.txt")
    case $line in
    HGBENCH*) [[ $line == *"status=0 timeout=0"* ]] || log "warm-up $id: $line" ;;
    HGCEIL*) [[ $line == *"errors=0 "* ]] || log "warm-up $id: $line" ;;
    *) log "warm-up $id: $line" ;;
    esac
done < "$SCEN"
meta errlog_start "$(wc -l < "$T/logs/error.log")"
meta hglog_start "$(wc -l < "$T/hubgated.log")"

RESULTS=$T/runs.tsv
: > "$RESULTS"
wait_quiet 10 || true
RETRIES_LEFT=$MAX_RETRIES
for run in $(seq 1 "$RUNS"); do
    while IFS=$'\t' read -r id kind path _; do
        att=1
        measure "$id" "$kind" "$path" "$run" "$att"
        while noisy "$RUN_NOISE" && [ "$RETRIES_LEFT" -gt 0 ]; do
            log "$RUN_LOG: noisy, again"
            RETRIES_LEFT=$((RETRIES_LEFT - 1))
            wait_quiet 10 || true
            att=$((att + 1))
            measure "$id" "$kind" "$path" "$run" "$att"
        done
        printf '%s\n' "$RUN_LINE" >> "$RESULTS"
        log "$RUN_LOG"
    done < "$SCEN"
done
meta retries_used "$((MAX_RETRIES - RETRIES_LEFT))"
meta load_after "$(cut -d' ' -f1-3 /proc/loadavg)"
meta total_rows "$(sql 'SELECT count(*) FROM webhook_events')"
meta total_jobs "$(sql "SELECT count(*) FROM jobs WHERE kind = 'webhook.process'")"
meta dup_jobs "$(sql "SELECT count(*) FROM (SELECT payload->>'event_id' FROM jobs WHERE kind = 'webhook.process' GROUP BY 1 HAVING count(*) > 1) d")"
# the rows of one intake commit share its transaction's now(): commits
meta intake_commits "$(sql "SELECT count(DISTINCT e.received_at) FROM webhook_events e JOIN jobs j ON j.kind = 'webhook.process' AND j.payload->>'event_id' = e.id::text")"
kill -0 "$HG_PID" 2>/dev/null || meta hubgated_gone 1
[ "$(ps --ppid "$NGINX_PID" -o pid= | head -1 | tr -d ' ')" = "$NGINX_WORKER" ] \
    || meta nginx_worker_lost 1

# ------------------------------------------------------------ log checks

start=$(sed -n 's/^errlog_start=//p' "$T/meta")
grep -nE '\[(alert|crit|emerg)\]|exited on signal' "$T/logs/error.log" \
    > "$T/logs/nginx-bad.txt" || true
tail -n +"$((start + 1))" "$T/logs/error.log" | grep -E '\[error\]' \
    > "$T/logs/nginx-errors.txt" || true
start=$(sed -n 's/^hglog_start=//p' "$T/meta")
tail -n +"$((start + 1))" "$T/hubgated.log" \
    | grep -E '"level":"(error|warn)"' > "$T/logs/hubgated-errors.txt" || true

# ---------------------------------------------------------------- report

STATUS=0
perl "$BENCH/webhook_report.pl" "$T" > "$T/report.md" || STATUS=1
cp "$T/report.md" "$OUT"
cat "$T/report.md"
log "written to $OUT"
exit $STATUS
