#!/bin/bash
# make demo: the whole of hubgate on one machine.
#
#   tools/demo.sh                   start (or restart) the demo
#   tools/demo.sh stop [--keep-services]
#                                   stop nginx and hubgated, then the
#                                   private PostgreSQL and Redis too
#                                   (unless --keep-services, or
#                                   HUBGATE_DEMO_KEEP_SERVICES=1)
#
# Start: the private PostgreSQL and Redis (tools/services.sh), the schema
# (hubgated migrate), keys generated once under var/demo, tenants "demo"
# and "acme", hubgated on a Unix socket and nginx with the hubgate module
# on https://127.0.0.1:8443 in front of it (conf.examples/demo.conf).
# Then tokens from `hubgated token mint`, a Stripe integration created
# through the API, and the curl commands to try.  Running it again stops
# nginx and hubgated, keeps keys, tenants and data, and starts them anew.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
demo=$repo/var/demo
nginx=${NGINX:-/usr/sbin/nginx}
hubgated=$repo/build/hubgated
module=$repo/build/ngx_http_hubgate_module.so
conf=$demo/hubgated.conf
url=https://127.0.0.1:8443

log() { echo "demo: $*"; }
die() { echo "demo: $*" >&2; exit 1; }

hg() { "$hubgated" -c "$conf" "$@"; }

# ------------------------------------------------------------------ stop

nginx_stop() {
    local pid
    pid=$(cat "$demo/nginx.pid" 2>/dev/null || true)
    if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
        rm -f "$demo/nginx.pid"
        log "nginx: not running"
        return 0
    fi
    kill -QUIT "$pid"               # graceful: finish requests in flight
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || { log "nginx: stopped"; return 0; }
        sleep 0.1
    done
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || { log "nginx: stopped (TERM)"; return 0; }
        sleep 0.1
    done
    die "nginx (pid $pid) does not stop"
}

# the pid file's process, if it still is our hubgated (not a reused pid)
hubgated_pid() {
    local pid
    pid=$(cat "$demo/hubgated.pid" 2>/dev/null || true)
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "hubgated .*serve" || return 1
    echo "$pid"
}

hubgated_stop() {
    local pid
    if ! pid=$(hubgated_pid); then
        rm -f "$demo/hubgated.pid"
        log "hubgated: not running"
        return 0
    fi
    # SIGTERM: requests in flight finish (shutdown_timeout = 5s below)
    kill -TERM "$pid"
    for _ in $(seq 100); do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$demo/hubgated.pid"
            log "hubgated: stopped"
            return 0
        fi
        sleep 0.1
    done
    die "hubgated (pid $pid) still runs 10 s after SIGTERM; see $demo/hubgated.log"
}

if [ "${1:-}" = stop ]; then
    keep=${HUBGATE_DEMO_KEEP_SERVICES:-0}
    [ "${2:-}" = --keep-services ] && keep=1
    nginx_stop
    hubgated_stop
    if [ "$keep" = 1 ]; then
        echo "demo stopped: nginx and hubgated; PostgreSQL and Redis keep running" \
             "(tools/services.sh stop stops them)"
    else
        "$repo/tools/services.sh" stop
        echo "demo stopped: nginx, hubgated, PostgreSQL and Redis" \
             "(data kept under var/; make demo starts it all again)"
    fi
    exit 0
fi

[ $# -eq 0 ] || die "usage: $0 [stop [--keep-services]]"
[ -x "$hubgated" ] || die "$hubgated not built: make sidecar"
[ -f "$module" ] || die "$module not built: make module"
for c in curl openssl perl; do
    command -v "$c" >/dev/null || die "$c not found: make deps"
done

# a second `make demo` restarts what the first one started
nginx_stop
hubgated_stop

mkdir -p "$demo/tmp"
cd "$demo"

# ---------------------------------------------------------- PostgreSQL, Redis

"$repo/tools/services.sh" start
eval "$("$repo/tools/services.sh" env)"       # PGHOST, PGPORT, redis socket

# ------------------------------------------------------- keys, made once

umask 077
[ -f tls.key ] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -nodes -keyout tls.key -out tls.crt -days 365 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
# the credential vault's key-encryption key, version 1
[ -f kek ] || printf '1 %s\n' "$(openssl rand -hex 32)" > kek
# what nginx signs X-Hubgate-Auth with and hubgated checks it with
[ -f identity.secret ] || openssl rand -hex 32 > identity.secret
# `hubgated token mint` signs with it; nginx trusts its public half
[ -f token-signing.pem ] || openssl genpkey -algorithm RSA \
    -pkeyopt rsa_keygen_bits:2048 -out token-signing.pem 2>/dev/null
chmod 600 tls.key kek identity.secret token-signing.pem
rm -f signing.key                   # the key of the edge-only demo, unused
umask 022

# hubgated's socket: nginx's workers (user nobody when the master runs as
# root) must reach it, and sun_path holds 107 bytes at most
sockdir=$demo/run
if { [ "$(id -u)" = 0 ] && ! runuser -u nobody -- test -x "$demo"; } \
   || [ ${#sockdir} -gt 90 ]
then
    if [ "$(id -u)" = 0 ]; then
        sockdir=/run/hubgate-demo-$(printf '%s' "$repo" | sha256sum | cut -c1-12)
    else
        sockdir=${XDG_RUNTIME_DIR:-/tmp}/hubgate-demo-$(printf '%s' "$repo" | sha256sum | cut -c1-12)
    fi
fi
mkdir -p "$sockdir"
chmod 755 "$sockdir"
[ -O "$sockdir" ] || die "$sockdir belongs to someone else"
sock=$sockdir/hubgated.sock

cat > hubgated.conf <<EOF
# written by tools/demo.sh (make demo); every key: conf.examples/hubgated.conf
listen = $sock
# nginx's workers run as another user; every route but /healthz still
# needs the signature only nginx can make
listen_mode = 0666
database_url = "host=$PGHOST port=$PGPORT dbname=hubgate user=hubgate_app application_name=hubgated-demo"
admin_database_url = "host=$PGHOST port=$PGPORT dbname=hubgate user=hubgate"
database_pool_size = 4
redis_address = $HUBGATE_REDIS_SOCKET
log_format = text
kek_file = $demo/kek
identity_secret_file = $demo/identity.secret
token_signing_key_file = $demo/token-signing.pem
token_issuer = hubgate-demo
token_audience = hubgate
public_base_url = $url
api_prefix = /api
worker_threads = 2
shutdown_timeout = 5s
EOF

hg config check >/dev/null
hg migrate | sed 's/^/demo: /'

# ----------------------------------------------------------------- tenants

# var/demo/tenants: "slug id" of the tenants this demo created, so of
# those whose data key var/demo/kek wraps.  A tenant of the same name made
# otherwise (by tests, or before var/demo was wiped) has a data key this
# KEK cannot open: say so rather than fail later on its first credential.
touch tenants
listing=$(hg tenant list)          # fails (and so do we) on a real error
for t in demo:"Demo Company" acme:"Acme Corp"; do
    slug=${t%%:*}
    id=$(awk -v s="$slug" 'NR > 1 && $1 == s { print $2 }' <<< "$listing")
    if [ -z "$id" ]; then
        out=$(hg tenant create "$slug" --name "${t#*:}")
        log "$out"
        id=$(sed -n 's/.* created: id \([0-9a-f-]*\),.*/\1/p' <<< "$out")
        [ -n "$id" ] || die "tenant create $slug: no id in '$out'"
        grep -v "^$slug " tenants > tenants.new || true
        echo "$slug $id" >> tenants.new
        mv tenants.new tenants
    elif grep -qx "$slug $id" tenants; then
        log "tenant $slug: exists"
    else
        msg="tenant $slug ($id) exists but was not created by this demo:
      its data key is not wrapped with $demo/kek, so hubgated cannot store
      its credentials.  To start it afresh (deletes its data):
        $hubgated -c $conf tenant delete $slug --yes && make demo"
        if [ "$slug" = demo ]; then
            die "$msg"
        fi
        log "warning: $msg"
    fi
done

# ---------------------------------------------------------------- hubgated

: > hubgated.log
setsid "$hubgated" -c "$conf" serve >> hubgated.log 2>&1 < /dev/null &
echo $! > hubgated.pid

healthy=
for _ in $(seq 100); do
    if curl -sf -o /dev/null --unix-socket "$sock" http://hubgated/healthz; then
        healthy=1
        break
    fi
    kill -0 "$(cat hubgated.pid)" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$healthy" ]; then
    tail -5 hubgated.log >&2
    die "hubgated did not answer /healthz on $sock; see $demo/hubgated.log"
fi
hubgated_pid > /dev/null || die "hubgated.pid does not name the hubgated started"
log "hubgated: serving on $sock (pid $(cat hubgated.pid))"

# ------------------------------------------------------------------- nginx

hg token jwks > jwks.json

sed -e "s|@DEMO@|$demo|g" -e "s|@MODULE@|$module|g" -e "s|@SOCKET@|$sock|g" \
    "$repo/conf.examples/demo.conf" > nginx.conf

"$nginx" -p "$demo/" -c "$demo/nginx.conf" -e "$demo/error.log" -t -q
"$nginx" -p "$demo/" -c "$demo/nginx.conf" -e "$demo/error.log"

for _ in $(seq 50); do
    curl -ks -o /dev/null "$url/healthz" && break
    sleep 0.1
done
log "nginx: https://127.0.0.1:8443 (pid $(cat nginx.pid))"

# ------------------------------------------------------------------ tokens

hg token mint --tenant demo --subject demo-user --roles user --ttl 24h \
    --claim plan=free > user.jwt
hg token mint --tenant demo --subject demo-admin --roles user,admin \
    --ttl 24h --claim plan=free > admin.jwt
hg token mint --tenant acme --subject acme-user --roles user --ttl 24h \
    --claim plan=pro > pro.jwt
# the demo's own calls below: plan pro, so they never meet the free limit
hg token mint --tenant demo --subject demo-script --roles user,admin \
    --ttl 1h --claim plan=pro > script.jwt
chmod 600 user.jwt admin.jwt pro.jwt script.jwt

# ---------------------------------------------------------- the API at work

pretty() {
    perl -MJSON::PP -e '
        my $in = do { local $/; <STDIN> };
        my $j = eval { decode_json($in) };
        print $j ? JSON::PP->new->pretty->canonical->encode($j) : $in;'
}

# api METHOD PATH TOKEN [BODY]: the body to stdout, the status to $code
api() {
    local out args=()
    [ $# -lt 4 ] || args=(-H 'Content-Type: application/json' --data "$4")
    out=$(curl -ks -w '\n%{http_code}' -X "$1" \
               -H "Authorization: Bearer $(cat "$3")" "${args[@]}" \
               "$url/api$2") || die "curl $1 $2 failed"
    code=${out##*$'\n'}
    body=${out%$'\n'*}
}

api GET /v1/integrations script.jwt
[ "$code" = 200 ] || die "GET /api/v1/integrations: $code $body"
count=$(perl -MJSON::PP -e 'print scalar @{ decode_json(<STDIN>)->{data} }' \
        <<< "$body")
if [ "$count" = 0 ]; then
    key=sk_test_hubgateDemo$(openssl rand -hex 12)
    api POST /v1/integrations script.jwt \
        "{\"provider\":\"stripe\",\"auth\":\"api_key\",\"display_name\":\"Stripe (test mode)\",\"api_key\":\"$key\"}"
    [ "$code" = 201 ] || die "POST /api/v1/integrations: $code $body"
    created="created a Stripe integration (test key) through the API: 201"
else
    created="tenant demo already has $count integration(s): none created"
fi

# the demo's Allegro integration: OAuth, so pending until Sync I connects
# it; a relay posts its order events as Standard Webhooks
api GET /v1/integrations script.jwt
[ "$code" = 200 ] || die "GET /api/v1/integrations: $code $body"
ids() {
    perl -MJSON::PP -e '
        my @i = grep { $_->{provider} eq $ARGV[0] }
                @{ decode_json(<STDIN>)->{data} };
        print $i[0]{id} // ""' "$1" <<< "$body"
}
stripe_id=$(ids stripe)
allegro_id=$(ids allegro)
if [ -z "$stripe_id" ]; then
    key=sk_test_hubgateDemo$(openssl rand -hex 12)
    api POST /v1/integrations script.jwt \
        "{\"provider\":\"stripe\",\"auth\":\"api_key\",\"display_name\":\"Stripe (test mode)\",\"api_key\":\"$key\"}"
    [ "$code" = 201 ] || die "POST /api/v1/integrations (stripe): $code $body"
    stripe_id=$(perl -MJSON::PP -e 'print decode_json(<STDIN>)->{id}' <<< "$body")
fi
if [ -z "$allegro_id" ]; then
    api POST /v1/integrations script.jwt \
        '{"provider":"allegro","display_name":"Allegro (webhook relay)"}'
    [ "$code" = 201 ] || die "POST /api/v1/integrations (allegro): $code $body"
    allegro_id=$(perl -MJSON::PP -e 'print decode_json(<STDIN>)->{id}' <<< "$body")
fi
[ -n "$stripe_id" ] && [ -n "$allegro_id" ] || die "no Stripe or Allegro integration"

api GET /v1/integrations script.jwt
[ "$code" = 200 ] || die "GET /api/v1/integrations: $code $body"
integrations=$(pretty <<< "$body")

# ---------------------------------------------------------------- webhooks

# a fresh webhook secret per integration, generated by hubgated and shown
# once; overlap_seconds 0: the previous demo run's secret stops at once
secret_of() {
    api PUT "/v1/integrations/$1/webhook-secret" script.jwt '{"overlap_seconds":0}'
    [ "$code" = 200 ] || die "PUT webhook-secret: $code $body"
    perl -MJSON::PP -e 'print decode_json(<STDIN>)->{secret}' <<< "$body"
}
stripe_secret=$(secret_of "$stripe_id")
allegro_secret=$(secret_of "$allegro_id")

# sign PROVIDER-SCHEME SECRET BODY [ID]: curl -H arguments, one a line
sign() {
    perl -MDigest::SHA=hmac_sha256_hex,hmac_sha256 -MMIME::Base64 -e '
        my ($scheme, $secret, $body, $id) = @ARGV;
        my $t = time;
        if ($scheme eq "stripe") {
            print "Stripe-Signature: t=$t,v1=",
                  hmac_sha256_hex("$t.$body", $secret), "\n";
        } else {
            (my $k = $secret) =~ s/^whsec_//;
            my $sig = encode_base64(hmac_sha256("$id.$t.$body",
                                                decode_base64($k)), "");
            print "webhook-id: $id\nwebhook-timestamp: $t\n",
                  "webhook-signature: v1,$sig\n";
        }' "$@"
}

# post PATH SCHEME SECRET BODY [ID] [TAMPER]: "<status> <answer>"
post() {
    local h=() line
    while IFS= read -r line; do h+=(-H "$line"); done < <(sign "$2" "$3" "$4" "${5:-}")
    curl -ks -w ' (%{http_code})' -H 'Content-Type: application/json' \
         "${h[@]}" --data-binary "$4${6:-}" "$url$1"
}

evt=evt_demo_$(openssl rand -hex 6)
stripe_body="{\"id\":\"$evt\",\"object\":\"event\",\"type\":\"invoice.paid\",\"data\":{\"object\":{\"id\":\"in_demo\",\"amount_paid\":12300,\"currency\":\"pln\"}}}"
wh_stripe=$(post "/api/v1/webhooks/stripe/$stripe_id" stripe "$stripe_secret" "$stripe_body")
wh_again=$(post "/api/v1/webhooks/stripe/$stripe_id" stripe "$stripe_secret" "$stripe_body")
wh_forged=$(post "/api/v1/webhooks/stripe/$stripe_id" stripe "$stripe_secret" "$stripe_body" "" " " |
           perl -0ne 'print m{<title>(.*?)</title>} ? "nginx: $1, nothing forwarded" : $_')
msg=msg_$(openssl rand -hex 6)
allegro_body='{"type":"order.created","data":{"checkoutFormId":"29ca6a1e-5f14-11ef-8a6a-ab3f1b9f2c01"}}'
wh_standard=$(post "/api/v1/webhooks/allegro/$allegro_id" standard "$allegro_secret" "$allegro_body" "$msg")

api GET '/v1/webhooks/events?limit=5' script.jwt
[ "$code" = 200 ] || die "GET /api/v1/webhooks/events: $code $body"
events=$(pretty <<< "$body")

api GET /v1/admin/summary script.jwt
[ "$code" = 200 ] || die "GET /api/v1/admin/summary: $code $body"
summary=$(pretty <<< "$body")

unauth=$(curl -ks -i "$url/api/v1/integrations" |
         grep -iE '^(HTTP/|WWW-Authenticate)' | tr -d '\r')

cat <<EOT

hubgate demo is running
  nginx + hubgate module  $url  (pid $(cat nginx.pid), log $demo/error.log)
  hubgated                $sock  (pid $(cat hubgated.pid), log $demo/hubgated.log)
  PostgreSQL, Redis       private, under $repo/var (tools/services.sh status)

tokens (24 h), also in $demo:
  user.jwt   tenant demo, roles user, plan free (2 r/s, burst 5):
$(cat user.jwt)

  admin.jwt  tenant demo, roles user,admin:
$(cat admin.jwt)

  pro.jwt    tenant acme, roles user, plan pro (100 r/s)

$created

GET /api/v1/integrations (user.jwt):
$integrations

GET /api/v1/admin/summary (admin.jwt):
$summary

webhooks, verified by nginx before hubgated commits them once:
  Stripe event $evt:
    $wh_stripe
  the same delivery again:
    $wh_again
  the same, body changed after signing:
    $wh_forged
  Standard Webhooks from an Allegro relay, $msg:
    $wh_standard

GET /api/v1/webhooks/events?limit=5 (user.jwt):
$events

without a token:
$unauth

try:
  cd $demo
  curl -k -H "Authorization: Bearer \$(cat user.jwt)" $url/api/v1/integrations
  curl -k -H "Authorization: Bearer \$(cat user.jwt)" $url/api/v1/providers
  curl -k -H "Authorization: Bearer \$(cat admin.jwt)" $url/api/v1/admin/summary
  curl -k -H "Authorization: Bearer \$(cat user.jwt)" $url/api/v1/admin/summary    # 403: not admin
  curl -k -H "Authorization: Bearer \$(cat pro.jwt)" $url/api/v1/integrations      # tenant acme: its own, none
  curl -k -i $url/api/v1/integrations                                              # 401: no token
  curl -k -H "Authorization: Bearer \$(cat user.jwt)" -H 'Content-Type: application/json' \\
       -d '{"provider":"stripe","auth":"api_key","api_key":"sk_test_0123456789abcdef"}' \\
       $url/api/v1/integrations
  for i in \$(seq 10); do curl -k -s -o /dev/null -w '%{http_code} ' \\
       -H "Authorization: Bearer \$(cat user.jwt)" $url/api/v1/providers; done; echo   # 429s: free plan
  curl -k -i -d '{"id":"evt_x"}' -H 'Stripe-Signature: t=1,v1=00' \
       $url/api/v1/webhooks/stripe/$stripe_id                                 # 401: forged
  curl -k -H "Authorization: Bearer \$(cat user.jwt)" $url/api/v1/webhooks/events
  curl -k $url/_hubgate/status
  curl -k $url/metrics

stop: make demo-stop (stops nginx, hubgated, PostgreSQL and Redis; data stays in var/)
EOT
