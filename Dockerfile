# hubgate: the edge module and hubgated, built the way the Makefile builds
# them: the module against Debian's packaged nginx with nginx-dev and its
# conf_flags, so the .so loads into the stock nginx of the image.
#
# One image, two processes to run (as two containers sharing a volume for
# /run/hubgate): nginx (the default command) and
#   hubgated -c /etc/hubgate/hubgated.conf serve
# PostgreSQL and Redis are external; run `hubgated migrate` once.
FROM debian:bookworm

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        nginx nginx-dev libssl-dev libjansson-dev libpq-dev libhiredis-dev \
        libmicrohttpd-dev gcc make perl ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY config Makefile ./
COPY ngx_module ./ngx_module
COPY sidecar ./sidecar
COPY sql ./sql
COPY tools ./tools

RUN tools/build-module.sh /usr/share/nginx/src build/nginx-src \
        build/ngx_http_hubgate_module.so \
 && make build/hubgated \
 && install -m 0644 build/ngx_http_hubgate_module.so /usr/lib/nginx/modules/ \
 && install -m 0755 build/hubgated /usr/sbin/hubgated \
 && rm -rf build \
 && mkdir -p /run/hubgate /etc/hubgate

COPY conf.examples /etc/hubgate/conf.examples

EXPOSE 443
CMD ["nginx", "-g", "daemon off;"]
