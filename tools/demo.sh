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
# Fake Allegro and Stripe servers (t/fakes) stand in for the providers on
# loopback.  Then tokens from `hubgated token mint`; the demo tenant is
# connected to both providers through the real OAuth redirect dance
# (authorize at the fake, which consents, the redirect to nginx's
# callback, the code exchanged by hubgated), both are synced while the
# progress streams as Server-Sent Events, and the counts printed; then
# signed webhooks.  Running it again stops everything, keeps keys, tenants
# and data (the next syncs are incremental), and starts it all anew.
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

# the fake providers: pid files fake-<name>.pid
fakes_stop() {
    local f pid
    for f in "$demo"/fake-*.pid; do
        [ -e "$f" ] || continue
        pid=$(cat "$f")
        if [ -r "/proc/$pid/cmdline" ] \
           && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "fake_"; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
        fi
        rm -f "$f"
    done
}

if [ "${1:-}" = stop ]; then
    keep=${HUBGATE_DEMO_KEEP_SERVICES:-0}
    [ "${2:-}" = --keep-services ] && keep=1
    nginx_stop
    hubgated_stop
    fakes_stop
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
fakes_stop

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

# ------------------------------------------------------- fake providers

# Allegro and Stripe as the tests know them (t/fakes): OAuth with
# rotating refresh tokens, the order and billing APIs with their media
# types and pagination.  State lives in the fake's memory: a new demo run
# starts them afresh and reconnects.
allegro_port=${HUBGATE_DEMO_ALLEGRO_PORT:-18181}
stripe_port=${HUBGATE_DEMO_STRIPE_PORT:-18182}
allegro_url=http://127.0.0.1:$allegro_port
stripe_url=http://127.0.0.1:$stripe_port

fake_start() {     # NAME PORT [ENV=VALUE...]
    local name=$1 port=$2
    shift 2
    if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
        die "port $port (fake $name) is taken; set HUBGATE_DEMO_${name^^}_PORT"
    fi
    env "$@" setsid perl "$repo/t/fakes/fake_$name.pl" daemon \
        -l "http://127.0.0.1:$port" >> "fake-$name.log" 2>&1 < /dev/null &
    echo $! > "fake-$name.pid"
    for _ in $(seq 100); do
        curl -sf -o /dev/null "http://127.0.0.1:$port/_fake/stats" && {
            log "fake $name: http://127.0.0.1:$port (pid $(cat "fake-$name.pid"))"
            return 0
        }
        kill -0 "$(cat "fake-$name.pid")" 2>/dev/null || break
        sleep 0.1
    done
    tail -5 "fake-$name.log" >&2
    die "fake $name did not start; see $demo/fake-$name.log"
}

: > fake-allegro.log
: > fake-stripe.log
fake_start allegro "$allegro_port" FAKE_ORDERS=300 FAKE_SEED=2026 \
    FAKE_ALLEGRO_CLIENT_ID=hubgate-demo FAKE_ALLEGRO_CLIENT_SECRET=demo-allegro-secret
fake_start stripe "$stripe_port" FAKE_SEED=2026 FAKE_STRIPE_CUSTOMERS=40 \
    FAKE_STRIPE_INVOICES=150 FAKE_STRIPE_CHARGES=60 \
    FAKE_STRIPE_CLIENT_ID=ca_hubgatedemo FAKE_STRIPE_PLATFORM_KEY=sk_test_platform_demo

# the Connect account the fake Stripe hands out: the same every run
curl -s -o /dev/null -H 'Content-Type: application/json' \
    -d '{"connect_account":"acct_hubgatedemo"}' "$stripe_url/_fake/config"

umask 077
printf 'demo-allegro-secret\n' > allegro.secret
printf 'sk_test_platform_demo\n' > stripe-platform.key
umask 022

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
# the providers are the fakes above
allegro_api_url = $allegro_url
allegro_auth_url = $allegro_url
allegro_client_id = hubgate-demo
allegro_client_secret_file = $demo/allegro.secret
stripe_api_url = $stripe_url
stripe_connect_url = $stripe_url
stripe_client_id = ca_hubgatedemo
stripe_secret_key_file = $demo/stripe-platform.key
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

# ----------------------------------------------- OAuth: connect, then sync

ids() {            # the first OAuth integration of a provider in $body
    perl -MJSON::PP -e '
        my @i = grep { $_->{provider} eq $ARGV[0] && $_->{auth} eq "oauth" }
                @{ decode_json(<STDIN>)->{data} };
        print $i[0]{id} // ""' "$1" <<< "$body"
}
field() {          # a top-level field of the JSON in $body
    perl -MJSON::PP -e 'my $v = decode_json(<STDIN>)->{$ARGV[0]};
        print ref $v ? "" : $v // ""' "$1" <<< "$body"
}

# connect PROVIDER NAME: the integration id.  The browser's part of the
# dance is curl following redirects: the authorize URL at the provider (the
# fake consents at once), its 302 to nginx's /api/v1/oauth/callback, where
# hubgated checks the state, exchanges the code with the PKCE verifier,
# stores the tokens in the vault and activates the integration.
connect() {
    local id auth page
    api GET /v1/integrations script.jwt
    [ "$code" = 200 ] || die "GET /api/v1/integrations: $code $body"
    id=$(ids "$1")
    if [ -z "$id" ]; then
        api POST /v1/integrations script.jwt \
            "{\"provider\":\"$1\",\"display_name\":\"$2\"}"
        [ "$code" = 201 ] || die "POST /api/v1/integrations ($1): $code $body"
        id=$(field id)
    else
        # a new demo run started the fakes afresh: they forgot the tokens,
        # so the test connection's refresh is refused (invalid_grant) and
        # the integration needs reconnection
        api POST "/v1/integrations/$id/test" script.jwt '{}'
        if [ "$code" = 200 ]; then
            echo "  $1: connected already" >&2
            echo "$id"
            return 0
        fi
        echo "  $1: the provider no longer knows our tokens ($code $(field error | head -c 0)$(perl -MJSON::PP -e 'print decode_json(<STDIN>)->{error}{code} // ""' <<< "$body")): reconnecting" >&2
        api POST "/v1/integrations/$id/reconnect" script.jwt '{}'
        [ "$code" = 200 ] || die "POST reconnect ($1): $code $body"
    fi
    auth=$(field authorize_url)
    [ -n "$auth" ] || die "no authorize_url for $1: $body"
    page=$(curl -ksL --max-redirs 3 -H 'Accept: application/json' "$auth") \
        || die "the OAuth redirect dance for $1 failed"
    api GET "/v1/integrations/$id" script.jwt
    [ "$(field status)" = active ] || die "$1 not connected: $page"
    {
        case $auth in
        *code_challenge=*) echo "  $1: GET ${auth%%\?*}?...  (state, PKCE S256 challenge)" ;;
        *) echo "  $1: GET ${auth%%\?*}?...  (state; the provider has no PKCE)" ;;
        esac
        echo "    -> 302 to $url/api/v1/oauth/callback?code=...&state=..."
        echo "    -> $page"
    } >&2
    echo "$id"
}

echo
echo "connecting the demo tenant through OAuth (curl plays the browser):"
allegro_id=$(connect allegro "Allegro (demo seller)")
stripe_id=$(connect stripe "Stripe (Connect)")
api GET /v1/integrations script.jwt
integrations=$(perl -MJSON::PP -e '
    for my $i (@{ decode_json(<STDIN>)->{data} }) {
        printf "  %-8s %s  %-7s %-7s health %-9s account %s\n", $i->{provider},
            $i->{id}, $i->{auth}, $i->{status}, $i->{health},
            $i->{account_id} // "-";
    }' <<< "$body")

# invoices: the seller the demo tenant invoices as, a series of its own,
# and the Allegro integration told to invoice every paid order
api PUT /v1/seller script.jwt '{"seller":{"name":"Sklep Demo Zażółć Sp. z o.o.",
    "vat_id":"PL5261040828","email":"faktury@example.pl",
    "address":{"street":"ul. Długa 1","city":"Gdańsk","postal_code":"80-001",
    "country":"PL"}},"payment":{"means_code":"30",
    "iban":"PL61109010140000071219812874"},"payment_days":14}'
[ "$code" = 200 ] || die "PUT /api/v1/seller: $code $body"
api GET /v1/invoice-series/DEMO script.jwt
if [ "$code" = 404 ]; then
    api PUT /v1/invoice-series/DEMO script.jwt \
        '{"pattern":"FV/{YYYY}/{MM}/{SEQ:4}","reset":"monthly"}'
    [ "$code" = 200 ] || die "PUT /api/v1/invoice-series/DEMO: $code $body"
fi
api PUT "/v1/integrations/$allegro_id/settings" script.jwt \
    '{"autoGenerateInvoices":true,"invoiceSeries":"DEMO","autoMarkAsPaid":true,"defaultVatRate":"23"}'
[ "$code" = 200 ] || die "PUT settings: $code $body"

# sync ID: starts a sync and follows its Server-Sent Events until it ends
follow() {
    local sid
    api POST "/v1/integrations/$1/syncs" script.jwt '{"mode":"full"}'
    [ "$code" = 202 ] || die "POST syncs: $code $body"
    sid=$(field sync_id)
    echo "  GET /api/v1/syncs/$sid/events:"
    curl -ksN --max-time 300 -H "Authorization: Bearer $(cat script.jwt)" \
         "$url/api/v1/syncs/$sid/events" | perl -MJSON::PP -ne '
        BEGIN { $| = 1 }
        $ev = $1 if /^event: (\w+)/;
        next unless /^data: (.*)/;
        my $r = decode_json($1);
        printf "    %-8s %3d%%  %-16s processed %5d%s  created %5d  updated %4d  failed %d\n",
            $ev, $r->{percent}, $r->{stage}, $r->{processed},
            defined $r->{total} ? "/$r->{total}" : "",
            $r->{created}, $r->{updated}, $r->{failed};
        print "    error: $r->{error}\n" if $r->{error};'
    api GET "/v1/syncs/$sid" script.jwt
    [ "$(field status)" = succeeded ] || die "the sync of $1 did not succeed: $body"
    echo "    invoices issued by this sync: $(field invoices_created)$(
        [ "$(field invoices_failed)" = 0 ] || echo ", not issued: $(field invoices_failed) ($(field invoice_error))")"
}

# every page takes a while, as over the internet, so the progress is seen
curl -s -o /dev/null -H 'Content-Type: application/json' -d \
    '{"latency_ms":300,"count":100000,"path_prefix":"/order/checkout-forms"}' \
    "$allegro_url/_fake/faults"
curl -s -o /dev/null -H 'Content-Type: application/json' -d \
    '{"latency_ms":150,"count":100000,"path_prefix":"/v1/"}' \
    "$stripe_url/_fake/faults"

echo
echo "syncing Allegro (a full sync: 300 orders, created the first time, found unchanged after):"
follow "$allegro_id"
echo "syncing Stripe (fake Connect account: customers, invoices, charges):"
follow "$stripe_id"

count_of() {       # PATH: how many records the list has (up to 500)
    api GET "$1" script.jwt
    perl -MJSON::PP -e 'print scalar @{ decode_json(<STDIN>)->{data} }' <<< "$body"
}
synced="  Allegro orders:   $(count_of "/v1/orders?integration=$allegro_id&limit=500")
  Stripe orders:    $(count_of "/v1/orders?integration=$stripe_id&limit=500") (invoices and charges of no invoice)
  customers:        $(count_of '/v1/customers?limit=500')
  products:         $(count_of '/v1/products?limit=500')"
api GET "/v1/orders?integration=$allegro_id&limit=1" script.jwt
sample=$(perl -MJSON::PP -e '
    my $o = decode_json(<STDIN>)->{data}[0] or exit;
    binmode STDOUT, ":utf8";
    printf "  %s  %s  %s %s, %d lines\n", $o->{external_id}, $o->{status},
        $o->{currency}, sprintf("%d.%02d", $o->{total_minor} / 100,
        $o->{total_minor} % 100), scalar @{ $o->{lines} // [] };
    printf "    %s x %s @ %s\n", $_->{quantity}, $_->{description},
        $_->{unit_price} for @{ $o->{lines} // [] };' <<< "$body")

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
api GET "/v1/orders?integration=$stripe_id&limit=500" script.jwt
invoice=$(perl -MJSON::PP -e 'my @i = grep { $_->{external_id} =~ /^in_/ }
    @{ decode_json(<STDIN>)->{data} }; print $i[0]{external_id} // "in_demo"' <<< "$body")
stripe_body="{\"id\":\"$evt\",\"object\":\"event\",\"type\":\"invoice.paid\",\"data\":{\"object\":{\"id\":\"$invoice\",\"object\":\"invoice\"}}}"
wh_stripe=$(post "/api/v1/webhooks/stripe/$stripe_id" stripe "$stripe_secret" "$stripe_body")
wh_again=$(post "/api/v1/webhooks/stripe/$stripe_id" stripe "$stripe_secret" "$stripe_body")
wh_forged=$(post "/api/v1/webhooks/stripe/$stripe_id" stripe "$stripe_secret" "$stripe_body" "" " " |
           perl -0ne 'print m{<title>(.*?)</title>} ? "nginx: $1, nothing forwarded" : $_')
msg=msg_$(openssl rand -hex 6)
allegro_body='{"type":"order.created","data":{"checkoutFormId":"29ca6a1e-5f14-11ef-8a6a-ab3f1b9f2c01"}}'
wh_standard=$(post "/api/v1/webhooks/allegro/$allegro_id" standard "$allegro_secret" "$allegro_body" "$msg")

# the stored invoice.paid event becomes a targeted sync of that invoice
targeted="(none yet)"
for _ in $(seq 100); do
    api GET "/v1/syncs?integration=$stripe_id&limit=5" script.jwt
    targeted=$(perl -MJSON::PP -e '
        my ($r) = grep { $_->{trigger} eq "webhook" }
                  @{ decode_json(<STDIN>)->{data} };
        exit 1 unless $r && $r->{status} eq "succeeded";
        print "sync $r->{id}: trigger webhook, $r->{status},",
              " $r->{processed} record(s) fetched, $r->{updated} updated"' \
        <<< "$body") && break
    targeted="(not finished yet: GET /api/v1/syncs?integration=$stripe_id)"
    sleep 0.1
done
# invoices generated from the synced orders, and one in every format
api GET "/v1/invoices?integration=$allegro_id&limit=500" script.jwt
[ "$code" = 200 ] || die "GET /api/v1/invoices: $code $body"
invoice_list=$(perl -MJSON::PP -e '
    my @d = @{ decode_json(<STDIN>)->{data} };
    binmode STDOUT, ":utf8";
    printf "  %d invoices from Allegro orders (one per paid order, never twice)\n", scalar @d;
    for my $i (@d[0 .. ($#d < 2 ? $#d : 2)]) {
        printf "    %-18s %-6s %s  %s %d.%02d  order %s  %s\n", $i->{number},
            $i->{state}, $i->{issue_date}, $i->{currency},
            $i->{totals_minor}{payable} / 100, $i->{totals_minor}{payable} % 100,
            $i->{source_order_id}, $i->{buyer_name};
    }' <<< "$body")
invoice_id=$(perl -MJSON::PP -e 'print decode_json(<STDIN>)->{data}[0]{id} // ""' <<< "$body")
[ -n "$invoice_id" ] || die "no invoice was generated from the Allegro orders"
for f in ubl ksef pdf; do
    ext=xml; [ $f = pdf ] && ext=pdf
    curl -ks -o "$demo/invoice-$f.$ext" -w '%{http_code}' \
         -H "Authorization: Bearer $(cat script.jwt)" \
         "$url/api/v1/invoices/$invoice_id?format=$f" > "$demo/.code" || true
    [ "$(cat "$demo/.code")" = 200 ] || die "GET invoice ?format=$f: $(cat "$demo/.code")"
done
rm -f "$demo/.code"

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

integrations of tenant demo (GET /api/v1/integrations):
$integrations

synced into canonical records (GET /api/v1/orders, /customers, /products):
$synced

an Allegro order as GET /api/v1/orders shows it:
$sample

invoices (GET /api/v1/invoices), issued by the sync into series DEMO:
$invoice_list
  one of them, saved in $demo as invoice-ubl.xml, invoice-ksef.xml, invoice-pdf.pdf:
    UBL 2.1 (EN 16931):  curl -k -H "Authorization: Bearer \$(cat user.jwt)" -H 'Accept: application/xml' $url/api/v1/invoices/$invoice_id
    KSeF FA(3):          curl -k -H "Authorization: Bearer \$(cat user.jwt)" "$url/api/v1/invoices/$invoice_id?format=ksef"
    PDF:                 curl -k -H "Authorization: Bearer \$(cat user.jwt)" -H 'Accept: application/pdf' -o invoice.pdf $url/api/v1/invoices/$invoice_id
    JSON:                curl -k -H "Authorization: Bearer \$(cat user.jwt)" $url/api/v1/invoices/$invoice_id

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
  what the Stripe event started:
    $targeted

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
  curl -k -H "Authorization: Bearer \$(cat user.jwt)" "$url/api/v1/syncs?integration=$allegro_id"
  curl -k -X POST -H "Authorization: Bearer \$(cat user.jwt)" $url/api/v1/integrations/$allegro_id/syncs
  curl -kN -H "Authorization: Bearer \$(cat user.jwt)" $url/api/v1/syncs/<sync_id>/events   # live progress
  curl -k -H "Authorization: Bearer \$(cat user.jwt)" "$url/api/v1/orders?limit=5"
  curl -k $url/_hubgate/status
  curl -k $url/metrics

stop: make demo-stop (stops nginx, hubgated, PostgreSQL and Redis; data stays in var/)
EOT
