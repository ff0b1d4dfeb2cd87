#!/bin/bash
# Builds ngx_http_hubgate_module.so against Debian's nginx (nginx-dev):
# the same configure flags as the packaged binary (conf_flags), so the
# module signature matches and load_module works.
#
#   build-module.sh <nginx-src> <work-dir> <output.so>
#   HUBGATE_ASAN=1: build with AddressSanitizer (load with LD_PRELOAD=libasan)
set -euo pipefail

src=$1 work=$2 out=$3
repo=$(cd "$(dirname "$0")/.." && pwd)

if [ ! -f "$src/conf_flags" ]; then
    echo "build-module: $src/conf_flags not found: install nginx-dev" >&2
    exit 1
fi
. "$src/conf_flags"

ccopt="-g -O2 -fstack-protector-strong -Wformat -Werror=format-security -fPIC -Wdate-time -D_FORTIFY_SOURCE=2 -Wall -Werror"
ldopt="-Wl,-z,relro -Wl,-z,now -fPIC"
if [ "${HUBGATE_ASAN:-}" = 1 ]; then
    ccopt="-g -O1 -fno-omit-frame-pointer -fsanitize=address -fPIC -Wall -Werror"
    ldopt="-fsanitize=address -fPIC"
fi

stamp="$work/.configured"
if [ ! -f "$stamp" ] || [ "$repo/config" -nt "$stamp" ] \
   || [ "$0" -nt "$stamp" ]; then
    rm -rf "$work"
    mkdir -p "$work"
    cp -a "$src/." "$work/"
    (cd "$work" && ./configure "${NGX_CONF_FLAGS[@]}" \
        --with-cc-opt="$ccopt" --with-ld-opt="$ldopt" \
        --add-dynamic-module="$repo" >configure.log 2>&1) || {
        tail -30 "$work/configure.log" >&2; exit 1; }
    touch "$stamp"
fi

make -s -C "$work" -f objs/Makefile modules >"$work/make.log" 2>&1 || {
    grep -E "error|warning" "$work/make.log" | head -40 >&2
    tail -5 "$work/make.log" >&2
    exit 1; }
mkdir -p "$(dirname "$out")"
# a running nginx maps the old file: replace it, never write into it
cp "$work/objs/ngx_http_hubgate_module.so" "$out.tmp"
mv -f "$out.tmp" "$out"
echo "built $out"
