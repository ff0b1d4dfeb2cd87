#!/bin/bash
# make demo: nginx with the hubgate module on https://127.0.0.1:8443,
# a generated certificate and demo JWKS, and tokens to try.
# `make demo-stop` (tools/demo.sh stop) stops it.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
demo=$repo/var/demo
nginx=${NGINX:-/usr/sbin/nginx}
tool=$repo/build/hg-jwt

stop() {
    if [ -f "$demo/nginx.pid" ] && kill -0 "$(cat "$demo/nginx.pid")" 2>/dev/null
    then
        "$nginx" -p "$demo/" -c "$demo/nginx.conf" -e "$demo/error.log" \
            -s quit 2>/dev/null || true
        for _ in $(seq 100); do
            [ -f "$demo/nginx.pid" ] || break
            sleep 0.1
        done
    fi
}

if [ "${1:-}" = stop ]; then
    stop
    echo "demo stopped"
    exit 0
fi

stop
mkdir -p "$demo/tmp"
cd "$demo"

[ -f tls.key ] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -nodes -keyout tls.key -out tls.crt -days 30 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
[ -f signing.key ] || openssl genpkey -algorithm RSA \
    -pkeyopt rsa_keygen_bits:2048 -out signing.key 2>/dev/null
[ -f identity.secret ] || openssl rand -hex 32 > identity.secret
chmod 600 tls.key signing.key identity.secret

"$tool" jwks "$("$tool" jwk --key signing.key --kid demo-1 --alg RS256)" \
    > jwks.json

sed -e "s|@DEMO@|$demo|g" \
    -e "s|@MODULE@|$repo/build/ngx_http_hubgate_module.so|g" \
    "$repo/conf.examples/demo.conf" > nginx.conf

"$nginx" -p "$demo/" -c "$demo/nginx.conf" -e "$demo/error.log" -t -q
"$nginx" -p "$demo/" -c "$demo/nginx.conf" -e "$demo/error.log"

exp=$(( $(date +%s) + 86400 ))
mint() {
    "$tool" sign --alg RS256 --key signing.key --kid demo-1 --payload \
        "{\"iss\":\"hubgate-demo\",\"aud\":\"hubgate\",\"tid\":\"$1\",\"sub\":\"$2\",\"roles\":[$3],\"plan\":\"$4\",\"exp\":$exp}"
}
mint demo demo-user '"user"' free > user.jwt
mint demo demo-admin '"user","admin"' free > admin.jwt
mint acme acme-user '"user"' pro > pro.jwt

for _ in $(seq 50); do
    curl -ks -o /dev/null https://127.0.0.1:8443/ && break
    sleep 0.1
done

answer=$(curl -ks -H "Authorization: Bearer $(cat user.jwt)" \
    https://127.0.0.1:8443/api/v1/hello)

cat <<EOT
hubgate demo is running: nginx with the hubgate module on https://127.0.0.1:8443

  tokens (valid 24 h):  $demo/user.jwt   tenant "demo", plan free (2 r/s, burst 5)
                        $demo/admin.jwt  tenant "demo", roles user,admin
                        $demo/pro.jwt    tenant "acme", plan pro (100 r/s)

  try:
    curl -k -H "Authorization: Bearer \$(cat $demo/user.jwt)" https://127.0.0.1:8443/api/v1/hello
    curl -k -i https://127.0.0.1:8443/api/v1/hello                 # 401, no token
    for i in \$(seq 10); do curl -k -s -o /dev/null -w '%{http_code} ' \\
        -H "Authorization: Bearer \$(cat $demo/user.jwt)" https://127.0.0.1:8443/api/v1/hello; done; echo
    curl -k https://127.0.0.1:8443/_hubgate/status
    curl -k 'https://127.0.0.1:8443/_hubgate/status?format=prometheus'

  what the backend received for the first call:
    $answer

  logs: $demo/error.log   stop: make demo-stop
EOT
