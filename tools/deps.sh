#!/bin/sh
# Installs the Debian packages hubgate needs, only those missing.
# Quiet when everything is present; apt-get update only when needed.
set -e

PKGS="nginx nginx-dev libssl-dev libjansson-dev libcmocka-dev clang
libclang-rt-14-dev llvm-14 wrk libnginx-mod-http-js perl openssl
libpq-dev libhiredis-dev libcurl4-openssl-dev libmicrohttpd-dev
libxml2-dev libcairo2-dev libpango1.0-dev postgresql redis-server
libsaxonhe-java default-jre-headless poppler-utils curl make gcc
libio-socket-ssl-perl libmojolicious-perl"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
        || missing="$missing $p"
done

[ -z "$missing" ] && exit 0

echo "deps: installing$missing"
if [ "$(id -u)" != 0 ]; then
    echo "deps: run as root (or install:$missing)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
