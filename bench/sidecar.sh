#!/usr/bin/env bash
# hubgate sidecar benchmark: the API round trip through nginx, and
# hubgated's resident memory (DESIGN.md §6: idle RSS ≤ 20 MB).
#
# One run, side by side, on 127.0.0.1 over plain HTTP (no TLS: the edge
# bench in bench/run.sh measures the module alone):
#   - the private PostgreSQL and Redis (tools/services.sh start; stopped
#     again at the end only when this script started them)
#   - a hubgated of its own (build/hubgated, default worker threads,
#     pool and logging: info, JSON, to a file) with fresh keys in a work
#     directory, and a tenant of its own holding BENCH_INTEGRATIONS Stripe
#     api-key integrations, created through the API and deleted at the end
#   - Debian's nginx with the module, one worker (pinned like run.sh's),
#     access_log off, proxying /api/ to hubgated's socket (keepalive 32)
#     with hubgate_jwt (RS256, cache on), a per-tenant hubgate_limit and
#     the identity signature, as conf.examples/nginx.conf does
#   - scenarios, each BENCH_RUNS times round robin, BENCH_SECONDS each,
#     median req/s, wrk -t1 -c BENCH_CONNECTIONS with bench/tokens.lua:
#       return   nginx `return 200` (reference)
#       static   the API's own answer served by nginx as a static file
#       meta     GET /api/v1/providers: the round trip without PostgreSQL
#       list     GET /api/v1/integrations?limit=100: the round trip with
#                the tenant's BENCH_INTEGRATIONS integrations in one page
#   - VmRSS of hubgated (/proc/<pid>/status) idle after start and idle
#     again after the load
# and writes a section of bench/results.md (between the "sidecar bench"
# markers; bench/run.sh keeps it when it rewrites the file), also printed.
#
# Environment: BENCH_SECONDS (10)  BENCH_RUNS (3)  BENCH_WARMUP (2)
#   BENCH_CONNECTIONS (32)  BENCH_INTEGRATIONS (100)  BENCH_TOKENS (10)
#   BENCH_NOISE_MAX (0.15: a run during which processes other than nginx,
#   wrk, hubgated and PostgreSQL used more than this share of a core is
#   repeated, at most BENCH_MAX_RETRIES (2) times in all)
#   BENCH_OUT (bench/results.md)  BENCH_KEEP=1 keeps the work directory
#   NGINX  HUBGATE_MODULE  HUBGATED (build/hubgated)
#
# Exit status: 0 when every run was valid (all 2xx, no socket errors, no
# crash, no error in the logs), 1 otherwise.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench

NGINX=${NGINX:-/usr/sbin/nginx}
MODULE=${HUBGATE_MODULE:-$ROOT/build/ngx_http_hubgate_module.so}
HUBGATED=${HUBGATED:-$ROOT/build/hubgated}
SECS=${BENCH_SECONDS:-10}
RUNS=${BENCH_RUNS:-3}
WARMUP=${BENCH_WARMUP:-2}
CONNS=${BENCH_CONNECTIONS:-32}
NINTEG=${BENCH_INTEGRATIONS:-100}
NTOKENS=${BENCH_TOKENS:-10}
OUT=${BENCH_OUT:-$BENCH/results.md}
NOISE_MAX=${BENCH_NOISE_MAX:-0.15}
MAX_RETRIES=${BENCH_MAX_RETRIES:-2}

BENCH_NAME=bench-sidecar
. "$BENCH/lib.sh"

check_numbers SECS RUNS WARMUP CONNS NINTEG NTOKENS
(( NINTEG <= 200 )) || die "BENCH_INTEGRATIONS: at most 200 (the API's page limit)"

[ -x "$NGINX" ] || die "$NGINX not found (apt-get install nginx)"
[ -f "$MODULE" ] || die "$MODULE not found: run 'make module'"
[ -x "$HUBGATED" ] || die "$HUBGATED not found: run 'make sidecar'"
for c in wrk curl openssl perl; do
    command -v "$c" >/dev/null || die "$c not found: run 'make deps'"
done

pin_cpus "wrk"

# ------------------------------------------------------- work dir, cleanup

T=$(mktemp -d "${TMPDIR:-/tmp}/sidebench.XXXXXX")
chmod 755 "$T"              # nginx's worker (nobody) reaches the socket
NGINX_PID=
HG_PID=
TENANT=bench-$(basename "$T" | cut -d. -f2 | tr 'A-Z' 'a-z')
DB_MADE=0
SERVICES_STARTED=0
STATUS=1

hg() { "$HUBGATED" -c "$T/hubgated.conf" "$@"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

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
meta postgresql "$(/usr/lib/postgresql/15/bin/postgres --version 2>/dev/null | awk '{print $3}')"
meta pinning "$PINNING"
meta load_before "$(cut -d' ' -f1-3 /proc/loadavg)"
for v in SECS RUNS WARMUP CONNS NINTEG NTOKENS NOISE_MAX MAX_RETRIES; do
    meta "$(tr 'A-Z' 'a-z' <<< "$v")" "${!v}"
done

# ------------------------------------------------- PostgreSQL, Redis, keys

if ! "$ROOT/tools/services.sh" status >/dev/null 2>&1; then
    SERVICES_STARTED=1
fi
"$ROOT/tools/services.sh" start >/dev/null
eval "$("$ROOT/tools/services.sh" env)"
PG_MASTER=$(head -1 "$(readlink -f "$ROOT/var/pg")/postmaster.pid")

(
    umask 077
    printf '1 %s\n' "$(openssl rand -hex 32)" > "$T/kek"
    openssl rand -hex 32 > "$T/identity.secret"
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
        -out "$T/sign.pem" 2>/dev/null
)

# a database of its own: the shared one may hold tenants whose data keys
# other KEKs wrapped (the demo's, the tests'), which hubgated refuses
BENCH_DB=hubgate_bench_$$
"$ROOT/tools/services.sh" psql -U postgres -d postgres -q -c \
    "CREATE DATABASE $BENCH_DB OWNER hubgate TEMPLATE template0" >/dev/null \
    || die "cannot create database $BENCH_DB"
DB_MADE=1

SOCK=$T/hubgated.sock
cat > "$T/hubgated.conf" <<EOF
listen = $SOCK
listen_mode = 0666
database_url = "host=$PGHOST port=$PGPORT dbname=$BENCH_DB user=hubgate_app application_name=hubgated-bench"
admin_database_url = "host=$PGHOST port=$PGPORT dbname=$BENCH_DB user=hubgate"
redis_address = $HUBGATE_REDIS_SOCKET
kek_file = $T/kek
identity_secret_file = $T/identity.secret
token_signing_key_file = $T/sign.pem
token_issuer = hubgate-bench
token_audience = hubgate
EOF
hg config check > "$T/hubgated.effective"
meta threads "$(awk '$1 == "worker_threads" { print $3 }' "$T/hubgated.effective")"
meta pool "$(awk '$1 == "database_pool_size" { print $3 }' "$T/hubgated.effective")"
meta loglevel "$(awk '$1 == "log_level" { print $3 }' "$T/hubgated.effective")"
meta logformat "$(awk '$1 == "log_format" { print $3 }' "$T/hubgated.effective")"

hg migrate >/dev/null
hg tenant create "$TENANT" --name "sidecar bench" >/dev/null

hg token jwks > "$T/jwks.json"
for i in $(seq 1 "$NTOKENS"); do
    hg token mint --tenant "$TENANT" --subject "u$i" --roles user --ttl 2h
done > "$T/api.tokens"

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
sleep 2
meta rss_start "$(rss_kb "$HG_PID")"
log "hubgated pid $HG_PID: VmRSS $(rss_kb "$HG_PID") kB idle after start"

# ------------------------------------------------------------------- nginx

cp "$MODULE" "$T/ngx_http_hubgate_module.so"     # as run.sh: a private copy
PORT=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen => 1,
           LocalAddr => "127.0.0.1:0", ReuseAddr => 1)->sockport')
mkdir -p "$T/www" "$T/logs"
chmod 755 "$T/www"

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

    hubgate_jwt_cache zone=jwt:16m ttl=10m;
    hubgate_limit_zone api size=1m;

    upstream hubgated {
        server unix:$SOCK;
        keepalive 32;
    }

    server {
        listen 127.0.0.1:$PORT;

        hubgate_identity_secret $T/identity.secret;
        proxy_http_version 1.1;
        proxy_set_header Connection "";

        location = /return {
            return 200 "ok\n";
        }

        location = /static.json {
            alias $T/www/integrations.json;
        }

        location /api/ {
            hubgate_jwt "bench";
            hubgate_jwt_algorithms RS256;
            hubgate_jwt_key_file $T/jwks.json;
            hubgate_jwt_issuer "hubgate-bench";
            hubgate_jwt_audience "hubgate";
            hubgate_jwt_require \$hubgate_tenant;
            hubgate_limit zone=api key=\$hubgate_tenant rate=1000000r/s
                          burst=1000000 nodelay;

            proxy_set_header Connection "";
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

# -------------------------------------------------- the tenant's integrations

TOK1=$(head -1 "$T/api.tokens")
log "creating $NINTEG Stripe integrations for tenant $TENANT through the API"
for i in $(seq 1 "$NINTEG"); do
    code=$(curl -s -o "$T/logs/create.json" -w '%{http_code}' \
        -H "Authorization: Bearer $TOK1" -H 'Content-Type: application/json' \
        --data "{\"provider\":\"stripe\",\"auth\":\"api_key\",\"display_name\":\"Stripe account $i\",\"api_key\":\"sk_test_bench$(printf '%06d' "$i")abcdef\"}" \
        "http://127.0.0.1:$PORT/api/v1/integrations")
    [ "$code" = 201 ] || die "POST /api/v1/integrations: $code $(cat "$T/logs/create.json")"
done

# ------------------------------------------------------------ pre-flight

LIST="/api/v1/integrations?limit=$NINTEG"
curl -sf -H "Authorization: Bearer $TOK1" "http://127.0.0.1:$PORT$LIST" \
    > "$T/www/integrations.json" || die "GET $LIST failed"
chmod 644 "$T/www/integrations.json"
n=$(perl -MJSON::PP -e 'my $j = decode_json(do { local $/; <STDIN> });
        print scalar(@{ $j->{data} }), defined $j->{next_cursor} ? "+" : ""' \
    < "$T/www/integrations.json")
[ "$n" = "$NINTEG" ] || die "GET $LIST: $n integrations in the page, expected $NINTEG"
meta list_bytes "$(stat -c %s "$T/www/integrations.json")"

code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT$LIST")
[ "$code" = 401 ] || die "GET $LIST without a token: $code, expected 401"
cmp -s "$T/www/integrations.json" \
    <(curl -s "http://127.0.0.1:$PORT/static.json") \
    || die "/static.json does not serve the API's answer"
curl -sf -o /dev/null -H "Authorization: Bearer $TOK1" \
    "http://127.0.0.1:$PORT/api/v1/providers" || die "GET /api/v1/providers failed"

# id | path | label
SCEN=$T/scenarios.tsv
{
    printf 'return\t/return\tnginx `return 200` (reference)\n'
    printf 'static\t/static.json\tnginx, the same JSON as a static file\n'
    printf 'meta\t/api/v1/providers\tAPI round trip, no database: GET /api/v1/providers\n'
    printf 'list\t%s\tAPI round trip: GET /api/v1/integrations, %d in the page\n' "$LIST" "$NINTEG"
} > "$SCEN"

# ------------------------------------------------------------------ load

# CPU ticks of the whole PostgreSQL cluster (postmaster and children)
pg_ticks() {
    local p s=0 t
    for p in $PG_MASTER $(ps --ppid "$PG_MASTER" -o pid=); do
        t=$(cpu_ticks "$p")
        [ "$t" -ge 0 ] && s=$((s + t))
    done
    echo "$s"
}

# wrk_run seconds path outfile: prints the HGBENCH line (as run.sh)
wrk_run() {
    local rc=0
    perl -e 'my $rc = system @ARGV; my @t = times;
             printf STDERR "HGCPU %.2f\n", $t[2] + $t[3];
             exit($rc == 0 ? 0 : 1)' -- \
        "${ON_CLI[@]}" wrk -t1 -c"$CONNS" -d"${1}s" --timeout 5s \
        -s "$BENCH/tokens.lua" "http://127.0.0.1:$PORT$2" \
        -- "$T/api.tokens" > "$3" 2>&1 || rc=$?
    date +%s.%N >> "$T/run_ends"    # when wrk dropped its connections
    if [ $rc != 0 ] || ! grep -q '^HGBENCH ' "$3"; then
        echo "HGBENCH failed rc=$rc"
        return 0
    fi
    grep '^HGBENCH ' "$3" | tail -1
}

# one measured run: RUN_LINE for runs.tsv, RUN_NOISE, RUN_LOG
measure() {   # id path run attempt
    local id=$1 path=$2 run=$3 att=$4 out line reqs dur st sock bytes
    local n0 n1 h0 h1 p0 p1 s0 s1 wcpu
    out=$T/logs/wrk-$id-$run-$att.txt
    s0=$(sys_ticks); n0=$(cpu_ticks "$NGINX_WORKER"); h0=$(cpu_ticks "$HG_PID"); p0=$(pg_ticks)
    line=$(wrk_run "$SECS" "$path" "$out")
    s1=$(sys_ticks); n1=$(cpu_ticks "$NGINX_WORKER"); h1=$(cpu_ticks "$HG_PID"); p1=$(pg_ticks)
    if [[ $line == "HGBENCH failed"* ]] || [ "$n1" = -1 ] || [ "$h1" = -1 ]; then
        RUN_LINE=$(printf '%s\t%s\t%s\tFAILED' "$id" "$run" "$att")
        RUN_NOISE=0
        RUN_LOG="run $run/$RUNS $id: failed (wrk, or a process gone), see $out"
        return
    fi
    reqs=$(kv requests "$line"); dur=$(kv duration_us "$line")
    bytes=$(kv bytes "$line"); st=$(kv status "$line")
    sock=$(( $(kv connect "$line") + $(kv read "$line") + $(kv write "$line") + $(kv timeout "$line") ))
    wcpu=$(sed -n 's/^HGCPU //p' "$out" | tail -1)
    # CPU seconds of each part; other = the machine minus all of them
    read -r rps ncpu hcpu pcpu other <<< "$(awk -v r="$reqs" -v d="$dur" \
        -v n="$((n1 - n0))" -v h="$((h1 - h0))" -v p="$((p1 - p0))" \
        -v w="${wcpu:-0}" -v s="$((s1 - s0))" -v hz="$CLK_TCK" 'BEGIN {
            secs = d / 1e6
            o = (s - n - h - p) / hz - w
            printf "%.1f %.3f %.3f %.3f %.3f\n", r / secs, n / hz, h / hz,
                   p / hz, (o < 0 ? 0 : o) / secs }')"
    RUN_NOISE=$other
    RUN_LINE=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' \
        "$id" "$run" "$att" "$rps" "$reqs" "$dur" "$bytes" "$st" "$sock" \
        "$ncpu" "$hcpu" "$pcpu" "${wcpu:-0}" "$other")
    RUN_LOG="run $run/$RUNS $(printf '%-6s' "$id") $(printf '%10s' "$rps") req/s  non-2xx=$st socket-errors=$sock cpu-s nginx=$ncpu hubgated=$hcpu postgres=$pcpu wrk=${wcpu:-0} other-cpu=$other"
}

nscen=$(grep -c . "$SCEN")
total=$(( nscen * (WARMUP + RUNS * SECS) ))
log "$nscen scenarios x $RUNS runs x ${SECS}s (+${WARMUP}s warm-up each): about $((total / 60))m$((total % 60))s of load"

while IFS=$'\t' read -r id path _; do
    line=$(wrk_run "$WARMUP" "$path" "$T/logs/wrk-$id-warmup.txt")
    [[ $line == *"status=0 timeout=0"* ]] || log "warm-up $id: $line"
done < "$SCEN"
meta errlog_start "$(wc -l < "$T/logs/error.log")"
meta hglog_start "$(wc -l < "$T/hubgated.log")"

RESULTS=$T/runs.tsv
: > "$RESULTS"
wait_quiet 10 || true
RETRIES_LEFT=$MAX_RETRIES
for run in $(seq 1 "$RUNS"); do
    while IFS=$'\t' read -r id path _; do
        att=1
        measure "$id" "$path" "$run" "$att"
        while noisy "$RUN_NOISE" && [ "$RETRIES_LEFT" -gt 0 ]; do
            log "$RUN_LOG: noisy, again"
            RETRIES_LEFT=$((RETRIES_LEFT - 1))
            wait_quiet 10 || true
            att=$((att + 1))
            measure "$id" "$path" "$run" "$att"
        done
        printf '%s\n' "$RUN_LINE" >> "$RESULTS"
        log "$RUN_LOG"
    done < "$SCEN"
done
meta retries_used "$((MAX_RETRIES - RETRIES_LEFT))"
meta load_after "$(cut -d' ' -f1-3 /proc/loadavg)"

# hubgated idle again: its RSS after the load, and its peak
sleep 3
kill -0 "$HG_PID" 2>/dev/null || die "hubgated is gone after the load"
meta rss_after "$(rss_kb "$HG_PID")"
meta rss_peak "$(hwm_kb "$HG_PID")"
meta hg_threads "$(awk '/^Threads:/ { print $2 }' "/proc/$HG_PID/status")"
log "hubgated: VmRSS $(rss_kb "$HG_PID") kB idle after the load (peak $(hwm_kb "$HG_PID") kB)"

# ------------------------------------------------------------ log checks

start=$(sed -n 's/^errlog_start=//p' "$T/meta")
grep -nE '\[(alert|crit|emerg)\]|exited on signal' "$T/logs/error.log" \
    > "$T/logs/nginx-bad.txt" || true
tail -n +"$((start + 1))" "$T/logs/error.log" | grep -E '\[error\]' \
    > "$T/logs/nginx-errors.txt" || true
start=$(sed -n 's/^hglog_start=//p' "$T/meta")
# every warn and error line of hubgated since the warm-ups; the report
# tells those of a client gone at the end of a wrk run from the others
tail -n +"$((start + 1))" "$T/hubgated.log" \
    | grep -E '"level":"(error|warn)"' \
    > "$T/logs/hubgated-errors.txt" || true

# ---------------------------------------------------------------- report

STATUS=0
perl "$BENCH/sidecar_report.pl" "$T" > "$T/section.md" || STATUS=1

# replace the section between the markers, or add it at the end
if [ -f "$OUT" ] && grep -q '^<!-- sidecar bench: begin' "$OUT"; then
    perl -e '
        my ($file, $section) = @ARGV;
        local $/;
        open my $f, "<", $file or die "$file: $!\n";
        my $text = <$f>;
        open my $s, "<", $section or die "$section: $!\n";
        my $new = <$s>;
        $text =~ s/^<!-- sidecar bench: begin.*?^<!-- sidecar bench: end[^\n]*\n/$new/ms
            or die "no sidecar section in $file\n";
        open $f, ">", "$file.new" or die "$file.new: $!\n";
        print $f $text;
        close $f or die "$file.new: $!\n";
        rename "$file.new", $file or die "$file: $!\n";
    ' "$OUT" "$T/section.md"
else
    { [ -s "$OUT" ] && echo; cat "$T/section.md"; } >> "$OUT"
fi
cat "$T/section.md"
log "written to $OUT"
exit $STATUS
