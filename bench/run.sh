#!/usr/bin/env bash
# hubgate edge benchmark (DESIGN.md §6), called by `make bench`.
#
# One run, side by side, all on 127.0.0.1:
#   - nginx instances of our own (Debian's /usr/sbin/nginx, one worker so
#     every number is per core, access_log off), with the module from
#     build/ngx_http_hubgate_module.so:
#       A: hubgate_jwt_cache on, limit zones, njs and limit_req peers
#       B: the same JWT locations without hubgate_jwt_cache (cache off)
#       C: 1m limit zones for the shared-memory-per-key probe
#   - RS256 (2048-bit) and ES256 keys, 10,000 distinct tokens each from
#     build/hg-jwt, rotated by wrk (bench/tokens.lua)
#   - every scenario BENCH_RUNS times (round robin, so drift hits all of
#     them alike), BENCH_SECONDS each; the median req/s is reported
#   - `openssl speed` for what the verify speed of one core allows
# and writes a markdown table to stdout and to bench/results.md (keeping
# the section bench/sidecar.sh wrote there).
#
# Environment:
#   BENCH_SECONDS (10)  BENCH_RUNS (3)  BENCH_WARMUP (2 s per scenario)
#   BENCH_CONNECTIONS (32)  BENCH_TOKENS (10000)  BENCH_SPEED_SECONDS (3)
#   BENCH_PROBE_SECONDS (30, at most, per probe)
#   BENCH_NOISE_MAX (0.15: a run during which other processes used more
#   than this share of a core, or in which neither the nginx worker nor
#   wrk was busy BENCH_STARVED_BELOW (0.85) of its core, is repeated, at
#   most BENCH_MAX_RETRIES (6) times in all, after waiting up to 20 s for
#   a quiet machine)
#   BENCH_OUT (bench/results.md)  BENCH_KEEP=1 keeps the work directory
#   NGINX (/usr/sbin/nginx)  HUBGATE_MODULE (build/ngx_http_hubgate_module.so)
#   HGJWT (build/hg-jwt)  JS_MODULE (Debian's ngx_http_js_module.so)
#
# Exit status: 0 when the bench ran and every run was valid (targets may
# still be missed: the table says so), 1 when it could not run or a run
# was invalid (non-2xx responses, socket errors, crashes in error.log).

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench

NGINX=${NGINX:-/usr/sbin/nginx}
MODULE=${HUBGATE_MODULE:-$ROOT/build/ngx_http_hubgate_module.so}
HGJWT=${HGJWT:-$ROOT/build/hg-jwt}
JS_MODULE=${JS_MODULE:-/usr/lib/nginx/modules/ngx_http_js_module.so}
SECS=${BENCH_SECONDS:-10}
RUNS=${BENCH_RUNS:-3}
WARMUP=${BENCH_WARMUP:-2}
CONNS=${BENCH_CONNECTIONS:-32}
NTOKENS=${BENCH_TOKENS:-10000}
SPEED_SECS=${BENCH_SPEED_SECONDS:-3}
PROBE_SECS=${BENCH_PROBE_SECONDS:-30}
PROBE_TOKENS=${BENCH_PROBE_TOKENS:-40000}
OUT=${BENCH_OUT:-$BENCH/results.md}
NOISE_MAX=${BENCH_NOISE_MAX:-0.15}
MAX_RETRIES=${BENCH_MAX_RETRIES:-6}
STARVED_BELOW=${BENCH_STARVED_BELOW:-0.85}

log() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

[[ $NOISE_MAX =~ ^[0-9]*\.?[0-9]+$ ]] || die "BENCH_NOISE_MAX must be a number"
[[ $MAX_RETRIES =~ ^[0-9]+$ ]] || die "BENCH_MAX_RETRIES must be a number"
for v in SECS RUNS WARMUP CONNS NTOKENS SPEED_SECS PROBE_SECS PROBE_TOKENS; do
    [[ ${!v} =~ ^[0-9]+$ ]] && (( ${!v} > 0 )) \
        || die "$v must be a positive integer (got '${!v}')"
done

# ---------------------------------------------------------------- checks

[ -x "$NGINX" ] || die "$NGINX not found (apt-get install nginx)"
[ -f "$MODULE" ] || die "$MODULE not found: run 'make module'"
[ -x "$HGJWT" ] || die "$HGJWT not found: run 'make tools'"
command -v wrk >/dev/null || die "wrk not found (apt-get install wrk)"
command -v openssl >/dev/null || die "openssl not found"
command -v curl >/dev/null || die "curl not found (apt-get install curl)"
perl -MJSON::PP -e 1 2>/dev/null || die "perl with JSON::PP is needed"

HAVE_NJS=1
if [ ! -f "$JS_MODULE" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        log "installing libnginx-mod-http-js for the njs peer"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends libnginx-mod-http-js >/dev/null || true
    fi
    [ -f "$JS_MODULE" ] || { HAVE_NJS=0; log "no njs module: njs peer skipped"; }
fi

# pin nginx's worker and openssl speed to the last CPU, wrk to the first
NCPU=$(nproc)
if [ "$NCPU" -ge 2 ] && command -v taskset >/dev/null; then
    SRV_CPU=$((NCPU - 1))
    AFFINITY="worker_cpu_affinity 1$(printf '0%.0s' $(seq 1 $SRV_CPU));"
    ON_SRV=(taskset -c "$SRV_CPU")
    ON_CLI=(taskset -c 0)
else
    SRV_CPU=
    AFFINITY=
    ON_SRV=()
    ON_CLI=()
fi

# ------------------------------------------------------- work dir, cleanup

T=$(mktemp -d "${TMPDIR:-/tmp}/edgebench.XXXXXX")
chmod 755 "$T"                      # the worker (nobody) reads www/ok.txt
PIDS=()
STATUS=1

cleanup() {
    local p
    trap - EXIT INT TERM
    for p in "${PIDS[@]}"; do
        kill -QUIT "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 50); do
            kill -0 "$p" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    if [ "${BENCH_KEEP:-0}" = 1 ] || [ "$STATUS" != 0 ]; then
        log "work directory kept: $T"
    else
        rm -rf "$T"
    fi
}
trap cleanup EXIT
trap 'log "failed at line $LINENO: $BASH_COMMAND"' ERR
trap 'exit 130' INT TERM

free_port() {
    perl -MIO::Socket::INET -e \
        'print IO::Socket::INET->new(Listen => 1,
             LocalAddr => "127.0.0.1:0", ReuseAddr => 1)->sockport'
}

CLK_TCK=$(getconf CLK_TCK)

noisy() { awk -v n="$1" -v m="$NOISE_MAX" 'BEGIN { exit !(n > m) }'; }

# machine-wide "user+nice+system steal" ticks
sys_ticks() { awk '/^cpu / { print $2 + $3 + $4, $9; exit }' /proc/stat; }

# wait (at most $1 s) for a second in which the whole machine used less
# than NOISE_MAX of a core (no load of ours runs meanwhile)
wait_quiet() {
    local limit=$1 t0=$SECONDS a b used
    while [ $((SECONDS - t0)) -lt "$limit" ]; do
        a=$(sys_ticks)
        sleep 1
        b=$(sys_ticks)
        used=$(awk -v a="$a" -v b="$b" -v hz="$CLK_TCK" 'BEGIN {
            split(a, x, " "); split(b, y, " ")
            printf "%.3f", ((y[1] - x[1]) + (y[2] - x[2])) / hz }')
        noisy "$used" || return 0
    done
    log "machine still busy after ${limit}s (last second: $used of a core)"
    return 1
}

# ------------------------------------------------------------- machine

START_TS=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
CPU_MODEL=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//')
NGINX_VER=$("$NGINX" -v 2>&1 | sed 's/^nginx version: //')
OPENSSL_VER=$(openssl version)
WRK_VER=$( (wrk -v 2>&1 || true) | head -1 | awk '{print $2}')
NJS_VER=$(dpkg-query -W -f='${Version}' libnginx-mod-http-js 2>/dev/null || echo "?")
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

{
    echo "date=$START_TS"
    echo "nproc=$NCPU"
    echo "cpu=$CPU_MODEL"
    echo "kernel=$(uname -r)"
    echo "nginx=$NGINX_VER"
    echo "openssl=$OPENSSL_VER"
    echo "wrk=$WRK_VER"
    echo "njs=$([ $HAVE_NJS = 1 ] && echo "$NJS_VER" || echo none)"
    echo "load_before=$LOAD_BEFORE"
    echo "secs=$SECS"
    echo "runs=$RUNS"
    echo "warmup=$WARMUP"
    echo "conns=$CONNS"
    echo "ntokens=$NTOKENS"
    echo "probe_tokens=$PROBE_TOKENS"
    echo "speed_seconds=$SPEED_SECS"
    echo "noise_max=$NOISE_MAX"
    echo "max_retries=$MAX_RETRIES"
    echo "starved_below=$STARVED_BELOW"
    echo "pinning=$([ -n "$SRV_CPU" ] && echo "nginx worker and openssl speed on CPU $SRV_CPU, wrk on CPU 0" || echo none)"
} > "$T/meta"

meta() { echo "$1=$2" >> "$T/meta"; }

# ------------------------------------------------------- keys and tokens

log "keys and tokens (${NTOKENS} RS256 + ${NTOKENS} ES256 + ${PROBE_TOKENS} probe)"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$T/rs.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$T/es.pem" 2>/dev/null

"$HGJWT" jwks "$("$HGJWT" jwk --key "$T/rs.pem" --kid rs1 --alg RS256)" \
    > "$T/rs.jwks"
"$HGJWT" jwks "$("$HGJWT" jwk --key "$T/es.pem" --kid es1 --alg ES256)" \
    > "$T/es.jwks"

TPL='{"tid":"t{i}","sub":"u{i}","exp":{exp}}'
"$HGJWT" sign --alg RS256 --key "$T/rs.pem" --kid rs1 --count "$NTOKENS" \
    --payload-template "$TPL" > "$T/rs.tokens"
"$HGJWT" sign --alg ES256 --key "$T/es.pem" --kid es1 --count "$NTOKENS" \
    --payload-template "$TPL" > "$T/es.tokens"
"$HGJWT" sign --alg ES256 --key "$T/es.pem" --kid es1 \
    --count "$PROBE_TOKENS" --payload-template "$TPL" > "$T/probe.tokens"

for f in rs es; do
    n=$(sort -u "$T/$f.tokens" | grep -c .)
    [ "$n" = "$NTOKENS" ] \
        || die "$f.tokens: $n distinct tokens, expected $NTOKENS"
done

# the tokens must outlive the bench
perl -MMIME::Base64 -MJSON::PP -e '
    my ($tok) = split /\n/, do { local $/; <STDIN> };
    my $p = (split /\./, $tok)[1];
    $p =~ tr/-_/+\//; $p .= "=" x ((4 - length($p) % 4) % 4);
    my $c = decode_json(decode_base64($p));
    die "first token: exp $c->{exp} is less than an hour away\n"
        unless $c->{exp} > time + 3600;
    die "first token: tid is $c->{tid}, expected t0\n" unless $c->{tid} eq "t0";
' < "$T/rs.tokens" || die "tokens from $HGJWT are not what the bench needs"

# njs peer: the verifier and its key, side by side in the work dir
if [ $HAVE_NJS = 1 ]; then
    cp "$BENCH/jwt_verify.js" "$T/jwt_verify.js"
    printf 'export default "%s";\n' \
        "$(openssl pkey -in "$T/rs.pem" -pubout -outform DER | base64 -w0)" \
        > "$T/bench_key.js"
fi

# nginx maps the module file: load a private copy, so that a rebuild of
# build/ngx_http_hubgate_module.so during the bench cannot change the
# code under the running workers
cp "$MODULE" "$T/ngx_http_hubgate_module.so"
MODULE_SHA=$(sha256sum "$MODULE" | cut -c1-16)
meta module "$MODULE (sha256 $MODULE_SHA..., $(date -u -r "$MODULE" '+%Y-%m-%d %H:%M:%S UTC'))"
MODULE=$T/ngx_http_hubgate_module.so

mkdir -p "$T/www" "$T/logs"
printf 'ok\n' > "$T/www/ok.txt"
chmod 755 "$T/www"
chmod 644 "$T/www/ok.txt"

# ---------------------------------------------------------------- configs

PORT_A=$(free_port)
PORT_B=$(free_port)
PORT_C=$(free_port)
while [ "$PORT_B" = "$PORT_A" ]; do PORT_B=$(free_port); done
while [ "$PORT_C" = "$PORT_A" ] || [ "$PORT_C" = "$PORT_B" ]; do
    PORT_C=$(free_port)
done

# common head of every instance: $1 = name, $2 = extra load_module lines
conf_head() {
    cat <<EOF
load_module $MODULE;
$2
worker_processes 1;
$AFFINITY
daemon off;
master_process on;
pid $T/$1.pid;
error_log $T/logs/$1-error.log notice;

events {
    worker_connections 1024;
}

http {
    access_log off;
    default_type text/plain;
    keepalive_requests 1000000;
    client_header_buffer_size 2k;
EOF
}

# JWT locations shared by A (cache on) and B (cache off)
jwt_locations() {
    cat <<EOF
        location = /jwt-rs256 {
            hubgate_jwt "bench";
            hubgate_jwt_algorithms RS256;
            hubgate_jwt_key_file $T/rs.jwks;
            alias $T/www/ok.txt;
        }

        location = /jwt-es256 {
            hubgate_jwt "bench";
            hubgate_jwt_algorithms ES256;
            hubgate_jwt_key_file $T/es.jwks;
            alias $T/www/ok.txt;
        }

        location = /plain {
            alias $T/www/ok.txt;
        }

        location = /_status {
            hubgate_status;
        }
EOF
}

NJS_LOAD=
NJS_HTTP=
NJS_LOC=
if [ $HAVE_NJS = 1 ]; then
    NJS_LOAD="load_module $JS_MODULE;"
    NJS_HTTP="js_path $T; js_import jwtv from jwt_verify.js;"
    NJS_LOC="location = /njs-rs256 { js_content jwtv.verify; }"
fi

{
    conf_head a "$NJS_LOAD"
    cat <<EOF

    hubgate_jwt_cache zone=jwt:64m ttl=10m;
    hubgate_limit_zone lim size=16m;
    limit_req_zone \$http_x_tenant zone=lr:16m rate=1000000r/s;
    $NJS_HTTP

    server {
        listen 127.0.0.1:$PORT_A;

        location = /return {
            return 200 "ok\n";
        }

$(jwt_locations)

        location = /jwt-rs256-limit {
            hubgate_jwt "bench";
            hubgate_jwt_algorithms RS256;
            hubgate_jwt_key_file $T/rs.jwks;
            hubgate_limit zone=lim key=\$hubgate_tenant rate=1000000r/s
                          burst=1000000 nodelay;
            alias $T/www/ok.txt;
        }

        location = /limit-req {
            limit_req zone=lr burst=1000000 nodelay;
            alias $T/www/ok.txt;
        }

        $NJS_LOC
    }
}
EOF
} > "$T/a.conf"

{
    conf_head b ""
    cat <<EOF

    server {
        listen 127.0.0.1:$PORT_B;

$(jwt_locations)
    }
}
EOF
} > "$T/b.conf"

{
    conf_head c ""
    cat <<EOF

    hubgate_limit_zone probe size=1m;
    hubgate_limit_zone probe_uuid size=1m;
    hubgate_limit_zone probe_uuid_8m size=8m;

    server {
        listen 127.0.0.1:$PORT_C;

        location = /probe {
            hubgate_jwt "bench";
            hubgate_jwt_algorithms ES256;
            hubgate_jwt_key_file $T/es.jwks;
            hubgate_limit zone=probe key=\$hubgate_tenant rate=1000000r/s
                          burst=1000000 nodelay;
            alias $T/www/ok.txt;
        }

        location = /probe-uuid {
            hubgate_limit zone=probe_uuid key=\$http_x_tenant
                          rate=1000000r/s burst=1000000 nodelay;
            alias $T/www/ok.txt;
        }

        location = /probe-uuid-8m {
            hubgate_limit zone=probe_uuid_8m key=\$http_x_tenant
                          rate=1000000r/s burst=1000000 nodelay;
            alias $T/www/ok.txt;
        }

$(jwt_locations)
    }
}
EOF
} > "$T/c.conf"

# ------------------------------------------------------------ start nginx

declare -A MASTER WORKER

worker_of() { ps --ppid "$1" -o pid= | head -1 | tr -d ' '; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo -1; }

start_nginx() {   # name port
    local name=$1 port=$2 pid code
    "$NGINX" -t -q -p "$T" -c "$T/$name.conf" -e "$T/logs/$name-error.log" \
        || die "nginx -t failed for $T/$name.conf (see above)"
    "$NGINX" -p "$T" -c "$T/$name.conf" -e "$T/logs/$name-error.log" &
    pid=$!
    PIDS+=("$pid")
    MASTER[$port]=$pid
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || {
            tail -20 "$T/logs/$name-error.log" >&2
            die "nginx $name exited at start-up"
        }
        code=$(curl -s -o /dev/null -w '%{http_code}' \
                    "http://127.0.0.1:$port/plain" || true)
        if [ "$code" = 200 ]; then
            WORKER[$port]=$(worker_of "$pid")
            [ -n "${WORKER[$port]}" ] || die "nginx $name: no worker process"
            return 0
        fi
        sleep 0.1
    done
    die "nginx $name: no 200 on 127.0.0.1:$port/plain after 10 s"
}

log "starting nginx: A (cache on) :$PORT_A, B (cache off) :$PORT_B, C (probe) :$PORT_C"
start_nginx a "$PORT_A"
start_nginx b "$PORT_B"
start_nginx c "$PORT_C"

# ---------------------------------------------------------- scenarios
#
# id | port | path | tokens | baseline (scenario id, openssl:rsa|ecdsa, -)
#    | target ratio (- for none) | label

SCEN=$T/scenarios.tsv
{
    printf 'return\t%s\t/return\trs\t-\t-\tplain nginx `return 200` (reference)\n' "$PORT_A"
    printf 'plain\t%s\t/plain\trs\t-\t-\tplain nginx, static file (baseline)\n' "$PORT_A"
    printf 'rs_on\t%s\t/jwt-rs256\trs\tplain\t0.90\thubgate_jwt RS256, cache on\n' "$PORT_A"
    printf 'es_on\t%s\t/jwt-es256\tes\tplain\t0.90\thubgate_jwt ES256, cache on\n' "$PORT_A"
    printf 'rs_lim\t%s\t/jwt-rs256-limit\trs\trs_on\t0.97\thubgate_jwt RS256 + hubgate_limit, cache on\n' "$PORT_A"
    printf 'rs_off\t%s\t/jwt-rs256\trs\topenssl:rsa\t0.80\thubgate_jwt RS256, cache off\n' "$PORT_B"
    printf 'es_off\t%s\t/jwt-es256\tes\topenssl:ecdsa\t0.80\thubgate_jwt ES256, cache off\n' "$PORT_B"
    if [ $HAVE_NJS = 1 ]; then
        printf 'njs\t%s\t/njs-rs256\trs\topenssl:rsa\t-\tpeer: njs WebCrypto RS256 (no cache)\n' "$PORT_A"
    fi
    printf 'lr\t%s\t/limit-req\trs\tplain\t-\tpeer: stock limit_req keyed on X-Tenant\n' "$PORT_A"
} > "$SCEN"

# ------------------------------------------------------------ pre-flight
#
# Every scenario must answer 200 "ok\n" to a good token, and every JWT
# scenario 401 to no token and to a forged one: otherwise the numbers
# would measure an error path or an unprotected location.

first_tok() { head -1 "$T/$1.tokens"; }
forged() {   # change a signature character well before the end (the
             # last one may carry only padding bits)
    local t c
    t=$(first_tok "$1")
    c=${t: -10:1}
    if [ "$c" = A ]; then c=B; else c=A; fi
    echo "${t:0:${#t}-10}$c${t: -9}"
}

log "pre-flight checks"
while IFS=$'\t' read -r id port path tok base target label; do
    url="http://127.0.0.1:$port$path"
    body=$(curl -s -w '\n%{http_code}' -H "Authorization: Bearer $(first_tok "$tok")" \
                -H "X-Tenant: t0" "$url")
    [ "$body" = $'ok\n\n200' ] \
        || die "pre-flight $id: $url with a good token gave '$(echo "$body" | tr '\n' ' ')', expected 200 ok"
    case $id in rs_*|es_*|njs)
        code=$(curl -s -o /dev/null -w '%{http_code}' "$url")
        [ "$code" = 401 ] || die "pre-flight $id: $url without a token gave $code, expected 401"
        code=$(curl -s -o /dev/null -w '%{http_code}' \
                    -H "Authorization: Bearer $(forged "$tok")" "$url")
        [ "$code" = 401 ] || die "pre-flight $id: $url with a forged token gave $code, expected 401"
        ;;
    esac
done < "$SCEN"

# error-log positions after start-up and pre-flight: later [error] lines
# happened under load
for n in a b c; do
    meta "errlog_start_$n" "$(wc -l < "$T/logs/$n-error.log")"
done

# --------------------------------------------------------------- openssl

# up to 3 attempts while other processes get in the way; the fastest
# verify figures are kept (contention only ever lowers them)
wait_quiet 120 || true
RSA_VERIFY=0
ECDSA_VERIFY=0
for att in 1 2 3; do
    log "openssl speed -seconds $SPEED_SECS rsa2048 ecdsap256 (one core)"
    s0=$(sys_ticks)
    perl -e 'my $rc = system @ARGV; my @t = times;
             printf STDERR "HGCPU %.2f\n", $t[2] + $t[3];
             exit($rc == 0 ? 0 : 1)' -- \
        "${ON_SRV[@]}" openssl speed -seconds "$SPEED_SECS" rsa2048 ecdsap256 \
        > "$T/speed-$att.txt" 2> "$T/speed-$att.err" \
        || die "openssl speed failed: $(tail -3 "$T/speed-$att.err")"
    s1=$(sys_ticks)
    # openssl speed runs ~4 x SPEED_SECS (sign and verify, two algorithms)
    noise=$(awk -v s0="$s0" -v s1="$s1" -v hz="$CLK_TCK" \
        -v c="$(sed -n 's/^HGCPU //p' "$T/speed-$att.err")" -v d="$((4 * SPEED_SECS))" '
        BEGIN { split(s0, x, " "); split(s1, y, " ")
                o = ((y[1] - x[1]) / hz - c + (y[2] - x[2]) / hz) / d
                printf "%.2f", (o < 0 ? 0 : o) }')
    rv=$(awk '/^rsa 2048 bits/ {print $NF}' "$T/speed-$att.txt" | tail -1)
    ev=$(awk '/ecdsa \(nistp256\)/ {print $NF}' "$T/speed-$att.txt" | tail -1)
    [ -n "$rv" ] && [ -n "$ev" ] \
        || die "could not parse openssl speed output: $(cat "$T/speed-$att.txt")"
    if awk -v a="$rv" -v b="$RSA_VERIFY" 'BEGIN { exit !(a > b) }'; then
        RSA_VERIFY=$rv
        meta openssl_rsa_sign "$(awk '/^rsa 2048 bits/ {print $(NF-1)}' "$T/speed-$att.txt" | tail -1)"
    fi
    if awk -v a="$ev" -v b="$ECDSA_VERIFY" 'BEGIN { exit !(a > b) }'; then
        ECDSA_VERIFY=$ev
        meta openssl_ecdsa_sign "$(awk '/ecdsa \(nistp256\)/ {print $(NF-1)}' "$T/speed-$att.txt" | tail -1)"
    fi
    meta speed_noise "$noise"
    meta speed_attempts "$att"
    noisy "$noise" || break
    log "openssl speed: other processes used $noise of a core, again"
    wait_quiet 20 || true
done
meta openssl_rsa_verify "$RSA_VERIFY"
meta openssl_ecdsa_verify "$ECDSA_VERIFY"

# ------------------------------------------------------------------ load

# status counters of an instance: accepted rejected hits misses
#                                 limit_passed limit_rejected
counters() {
    local j
    j=$(curl -fsS --max-time 5 "http://127.0.0.1:$1/_status" 2>/dev/null) \
        || { echo "-1 -1 -1 -1 -1 -1"; return 0; }
    perl -MJSON::PP -e '
        my $s = decode_json(do { local $/; <STDIN> });
        my $j = $s->{jwt} // {};
        my $rej = 0;
        $rej += $_ for values %{ $j->{rejected} // {} };
        my ($lp, $lr) = (0, 0);
        for my $z (values %{ $s->{limits} // {} }) {
            $lp += $z->{passed} // 0;
            $lr += ($z->{rejected} // 0);
        }
        printf "%d %d %d %d %d %d\n", $j->{accepted} // 0, $rej,
            $s->{cache}{hits} // 0, $s->{cache}{misses} // 0, $lp, $lr;
    ' <<< "$j" 2>/dev/null || echo "-1 -1 -1 -1 -1 -1"
}

# wrk_run seconds port path tokens outfile: prints the HGBENCH line
# (wrk's own CPU time goes to $out as "HGCPU <seconds>")
wrk_run() {
    local secs=$1 port=$2 path=$3 tok=$4 out=$5 rc=0
    perl -e 'my $rc = system @ARGV; my @t = times;
             printf STDERR "HGCPU %.2f\n", $t[2] + $t[3];
             exit($rc == 0 ? 0 : 1)' -- \
        "${ON_CLI[@]}" wrk -t1 -c"$CONNS" -d"${secs}s" --timeout 5s \
        -s "$BENCH/tokens.lua" "http://127.0.0.1:$port$path" \
        -- "$T/$tok.tokens" > "$out" 2>&1 || rc=$?
    if [ $rc != 0 ] || ! grep -q '^HGBENCH ' "$out"; then
        echo "HGBENCH failed rc=$rc"
        return 0
    fi
    grep '^HGBENCH ' "$out" | tail -1
}

kv() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<< "$2"; }

RESULTS=$T/runs.tsv
: > "$RESULTS"

nscen=$(grep -c . "$SCEN")
total=$(( nscen * (WARMUP + RUNS * SECS) ))
log "$nscen scenarios x $RUNS runs x ${SECS}s (+${WARMUP}s warm-up each): about $((total / 60))m$((total % 60))s of load"

log "warm-up (${WARMUP}s each: fills the verified-token cache and the limit zones)"
while IFS=$'\t' read -r id port path tok base target label; do
    line=$(wrk_run "$WARMUP" "$port" "$path" "$tok" "$T/logs/wrk-$id-warmup.txt")
    # a warm-up must cycle through all tokens, or cache-on runs would
    # still be verifying: extend it until it has
    case $id in rs_on|es_on|rs_lim)
        reqs=$(kv requests "$line")
        if [ -n "$reqs" ] && [ "$reqs" -lt "$NTOKENS" ]; then
            line=$(wrk_run "$WARMUP" "$port" "$path" "$tok" "$T/logs/wrk-$id-warmup2.txt")
        fi
        ;;
    esac
    [[ $line == *"status=0 timeout=0"* ]] || log "warm-up $id: $line"
done < "$SCEN"

# One measured run: sets RUN_LINE (the runs.tsv line), RUN_NOISE (CPU,
# in cores, that processes other than this nginx worker and wrk used
# meanwhile, from /proc/stat: user+nice+system; steal counted too) and
# RUN_LOG.  The noise decides whether the run is repeated.
measure() {   # id port path tok run attempt
    local id=$1 port=$2 path=$3 tok=$4 run=$5 att=$6
    local w before after c0 c1 w1 s0 s1 line reqs dur st sock rps busy wcpu
    local out=$T/logs/wrk-$id-$run-$att.txt
    w=${WORKER[$port]}
    before=$(counters "$port")
    s0=$(sys_ticks)
    c0=$(cpu_ticks "$w")
    line=$(wrk_run "$SECS" "$port" "$path" "$tok" "$out")
    c1=$(cpu_ticks "$w")
    s1=$(sys_ticks)
    after=$(counters "$port")
    # the worker must still be the same process (no crash + respawn)
    w1=$(worker_of "${MASTER[$port]}")
    if [ "$w1" != "$w" ] || [ "$c0" = -1 ] || [ "$c1" = -1 ]; then
        log "run $run/$RUNS $id: nginx worker $w is gone (now: '${w1}'): crash?"
        meta "worker_lost_${id}_$run" "$w -> ${w1:-none}"
        WORKER[$port]=$w1
        c1=-1
    fi
    read -r a0 r0 h0 m0 lp0 lr0 <<< "$before"
    read -r a1 r1 h1 m1 lp1 lr1 <<< "$after"
    if [ "$a0" = -1 ] || [ "$a1" = -1 ]; then
        # no counters: mark the deltas so the report flags the run
        a0=0 a1=-1 r0=0 r1=-1 h0=0 h1=0 m0=0 m1=0 lp0=0 lp1=-1 lr0=0 lr1=-1
    fi
    if [[ $line == "HGBENCH failed"* ]]; then
        RUN_LINE=$(printf '%s\t%s\tFAILED\t0\t0\t0\t0\t0\t0\t0\t0\t0\t-1\t0\t%s\t0\t0' "$id" "$run" "$att")
        RUN_NOISE=0
        RUN_STARVED=0
        RUN_LOG="run $run/$RUNS $id: wrk failed, see $out"
        return
    fi
    reqs=$(kv requests "$line")
    dur=$(kv duration_us "$line")
    st=$(kv status "$line")
    sock=$(( $(kv connect "$line") + $(kv read "$line") + $(kv write "$line") + $(kv timeout "$line") ))
    wcpu=$(sed -n 's/^HGCPU //p' "$out" | tail -1)
    rps=$(awk -v r="$reqs" -v d="$dur" 'BEGIN { printf "%.1f", r / (d / 1e6) }')
    # share of one core the nginx worker used: near 1 means nginx, not
    # wrk, was the bottleneck
    busy=$(awk -v a="$c0" -v b="$c1" -v hz="$CLK_TCK" -v d="$dur" \
               'BEGIN { if (b < 0) print -1; else printf "%.3f", (b - a) / hz / (d / 1e6) }')
    RUN_NOISE=$(awk -v s0="$s0" -v s1="$s1" -v a="$c0" -v b="$c1" \
                    -v wc="${wcpu:-0}" -v hz="$CLK_TCK" -v d="$dur" '
        BEGIN {
            split(s0, x, " "); split(s1, y, " ")
            ng = (b < 0) ? 0 : (b - a) / hz
            o = ((y[1] - x[1]) / hz - ng - wc + (y[2] - x[2]) / hz) / (d / 1e6)
            printf "%.3f", (o < 0 ? 0 : o)
        }')
    # share of a core wrk used; when neither nginx nor wrk kept its core
    # busy, something outside this VM's accounting (the host, softirq
    # work of other processes' traffic) took the CPU: count it as noise
    cbusy=$(awk -v c="${wcpu:-0}" -v d="$dur" 'BEGIN { printf "%.3f", c / (d / 1e6) }')
    RUN_STARVED=$(awk -v a="$busy" -v b="$cbusy" -v m="$STARVED_BELOW" \
                      'BEGIN { print (a >= 0 && a < m && b < m) ? 1 : 0 }')
    RUN_LINE=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' \
        "$id" "$run" "$rps" "$reqs" "$st" "$sock" \
        $((a1 - a0)) $((r1 - r0)) $((h1 - h0)) $((m1 - m0)) \
        $((lp1 - lp0)) $((lr1 - lr0)) "$busy" "$RUN_NOISE" "$att" "$cbusy" "$RUN_STARVED")
    RUN_LOG="run $run/$RUNS $(printf '%-7s' "$id") $(printf '%10s' "$rps") req/s  non-2xx=$st socket-errors=$sock nginx-busy=$busy wrk-busy=$cbusy other-cpu=$RUN_NOISE"
}

wait_quiet 60 || true
RETRIES_LEFT=$MAX_RETRIES
for run in $(seq 1 "$RUNS"); do
    while IFS=$'\t' read -r id port path tok base target label; do
        att=1
        measure "$id" "$port" "$path" "$tok" "$run" "$att"
        while { noisy "$RUN_NOISE" || [ "$RUN_STARVED" = 1 ]; } \
              && [ "$RETRIES_LEFT" -gt 0 ]; do
            log "$RUN_LOG: noisy (other processes used $RUN_NOISE of a core; neither nginx nor wrk busy: $RUN_STARVED), again"
            RETRIES_LEFT=$((RETRIES_LEFT - 1))
            wait_quiet 20 || true
            att=$((att + 1))
            measure "$id" "$port" "$path" "$tok" "$run" "$att"
        done
        printf '%s\n' "$RUN_LINE" >> "$RESULTS"
        log "$RUN_LOG"
    done < "$SCEN"
done
meta retries_used "$((MAX_RETRIES - RETRIES_LEFT))"

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
meta load_after "$LOAD_AFTER"

# ----------------------------------------------- shared memory per key
#
# Instance C has two 1m limit zones: "probe" keyed on $hubgate_tenant
# (tokens for t0..t$((PROBE_TOKENS-1))), "probe_uuid" keyed on a
# 36-character X-Tenant, and "probe_uuid_8m" like it but 8m.  Send
# distinct keys until the zone evicts and its key count stops growing;
# bytes per key = zone size / most keys held.

zone_stats() {   # port zone -> "keys evicted"
    curl -fsS "http://127.0.0.1:$1/_status" | perl -MJSON::PP -e '
        my $s = decode_json(do { local $/; <STDIN> });
        my $z = $s->{limits}{$ARGV[0]} or die "no zone $ARGV[0] in status\n";
        printf "%d %d\n", $z->{keys} // -1, $z->{evicted} // -1;
    ' "$2"
}

probe_zone() {   # zone path tokens|uuid
    local zone=$1 path=$2 src=$3 arg wpid keys ev max=0 stable=0 t0 reason
    if [ "$src" = uuid ]; then arg=uuid; else arg=$T/$src.tokens; fi
    "${ON_CLI[@]}" wrk -t1 -c8 -d"${PROBE_SECS}s" --timeout 5s \
        -s "$BENCH/tokens.lua" "http://127.0.0.1:$PORT_C$path" -- "$arg" \
        > "$T/logs/wrk-probe-$zone.txt" 2>&1 &
    wpid=$!
    t0=$SECONDS
    reason="wrk ended"
    while kill -0 "$wpid" 2>/dev/null; do
        sleep 0.5
        read -r keys ev <<< "$(zone_stats "$PORT_C" "$zone")"
        if [ "$keys" -gt "$max" ]; then
            max=$keys
            stable=0
        else
            stable=$((stable + 1))
        fi
        if [ "$ev" -gt 0 ] && [ "$stable" -ge 4 ]; then
            reason="evicting, key count stable"
            break
        fi
        if [ "$ev" = 0 ] && [ "$stable" -ge 6 ]; then
            reason="no more distinct keys to send"
            break
        fi
    done
    kill "$wpid" 2>/dev/null || true
    wait "$wpid" 2>/dev/null || true
    read -r keys ev <<< "$(zone_stats "$PORT_C" "$zone")"
    [ "$keys" -gt "$max" ] && max=$keys
    meta "probe_${zone}_keys" "$max"
    meta "probe_${zone}_evicted" "$ev"
    meta "probe_${zone}_reason" "$reason"
    meta "probe_${zone}_seconds" "$((SECONDS - t0))"
    sed -n "s/^HGBENCH /probe_${zone}_wrk=/p" "$T/logs/wrk-probe-$zone.txt" \
        >> "$T/meta"
    log "probe $zone: most keys held $max, evicted $ev ($reason)"
}

log "shared memory per limit key (1m zones)"
probe_zone probe /probe probe
probe_zone probe_uuid /probe-uuid uuid
# the same in an 8m zone: how much of the 1m figure is the slab
# allocator's fixed bookkeeping
probe_zone probe_uuid_8m /probe-uuid-8m uuid

# ------------------------------------------------------ error-log check

for n in a b c; do
    f=$T/logs/$n-error.log
    start=$(sed -n "s/^errlog_start_$n=//p" "$T/meta")
    # crashes and alerts anywhere, errors under load
    grep -nE '\[(alert|crit|emerg)\]|exited on signal|AddressSanitizer|runtime error' \
        "$f" > "$T/logs/$n-bad.txt" || true
    tail -n +"$((start + 1))" "$f" | grep -E '\[error\]' > "$T/logs/$n-errors.txt" || true
done

# ---------------------------------------------------------------- report

STATUS=0
perl "$BENCH/report.pl" "$T" > "$T/results.md" || STATUS=$?
cat "$T/results.md"
# the section bench/sidecar.sh wrote stays, after the edge's
if [ -f "$OUT" ]; then
    sed -n '/^<!-- sidecar bench: begin/,/^<!-- sidecar bench: end/p' "$OUT" \
        > "$T/sidecar-section.md"
    if [ -s "$T/sidecar-section.md" ]; then
        echo >> "$T/results.md"
        cat "$T/sidecar-section.md" >> "$T/results.md"
    fi
fi
cp "$T/results.md" "$OUT"
log "written to $OUT"
[ "$STATUS" = 0 ] || STATUS=1
exit $STATUS
