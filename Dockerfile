# hubgate edge module, built the way the Makefile builds it: against
# Debian's packaged nginx with nginx-dev and its conf_flags, so the .so
# loads into the stock nginx of the image.
FROM debian:bookworm

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        nginx nginx-dev libssl-dev libjansson-dev gcc make perl ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY config Makefile ./
COPY ngx_module ./ngx_module
COPY tools ./tools

RUN tools/build-module.sh /usr/share/nginx/src build/nginx-src \
        build/ngx_http_hubgate_module.so \
 && install -m 0644 build/ngx_http_hubgate_module.so /usr/lib/nginx/modules/ \
 && rm -rf build

COPY conf.examples /etc/hubgate/conf.examples

EXPOSE 443
CMD ["nginx", "-g", "daemon off;"]
