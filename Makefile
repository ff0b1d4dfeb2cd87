# hubgate: build, test, demo, bench.  See README.md.

NGX_SRC      ?= /usr/share/nginx/src
NGINX        ?= /usr/sbin/nginx
BUILD        := build
CC           ?= cc
FUZZ_SECONDS ?= 60

CORE_SRCS    := ngx_module/hg_jwt.c ngx_module/hg_jwks.c ngx_module/hg_webhook.c \
                ngx_module/hg_identity.c ngx_module/hg_limit.c \
                ngx_module/hg_whevent.c ngx_module/hg_whsecrets.c
CORE_HDRS    := $(CORE_SRCS:.c=.h)
CORE_CFLAGS  := -std=c11 -D_GNU_SOURCE -g -O2 -Wall -Wextra -Werror \
                -Wno-unused-parameter -Ingx_module
CORE_LIBS    := -ljansson -lcrypto

UNIT_SRCS    := $(wildcard t/unit/test_*.c)
UNIT_BINS    := $(patsubst t/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))
FUZZ_SRCS    := $(wildcard t/fuzz/fuzz_*.c)
FUZZ_BINS    := $(patsubst t/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
MODULE_SRCS  := config $(wildcard ngx_module/*.c ngx_module/*.h)

.PHONY: all deps module sidecar test-sidecar format-check bench-sidecar \
        bench-webhook bench-sync \
        asan unit tools fuzz fuzz-build test test-edge demo demo-stop bench \
        clean

all: module tools sidecar

deps:
	@tools/deps.sh

module: $(BUILD)/ngx_http_hubgate_module.so

$(BUILD)/ngx_http_hubgate_module.so: $(MODULE_SRCS) tools/build-module.sh
	@tools/build-module.sh $(NGX_SRC) $(BUILD)/nginx-src $@

$(BUILD)/asan/ngx_http_hubgate_module.so: $(MODULE_SRCS) tools/build-module.sh
	@HUBGATE_ASAN=1 tools/build-module.sh $(NGX_SRC) $(BUILD)/nginx-src-asan $@

tools: $(BUILD)/hg-jwt

$(BUILD)/hg-jwt: t/tools/hg_jwt_tool.c $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(BUILD)
	$(CC) $(CORE_CFLAGS) -o $@ t/tools/hg_jwt_tool.c $(CORE_SRCS) $(CORE_LIBS)

# hubgated: every sidecar source, the identity and webhook event cores it
# shares with the edge, and the generated file that embeds sql/ and the
# OpenAPI document
SIDECAR_SRCS := $(wildcard sidecar/*.c sidecar/*/*.c)
SIDECAR_HDRS := $(wildcard sidecar/*.h sidecar/*/*.h)
SIDECAR_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O2 -Wall -Wextra -Werror \
                -Wno-unused-parameter -Wno-missing-field-initializers \
                -Isidecar -I$(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql) -pthread
SIDECAR_CFLAGS += $(shell pkg-config --cflags libcurl libxml-2.0 pangocairo 2>/dev/null)
SIDECAR_LIBS := -lmicrohttpd -lpq -lhiredis -ljansson -lcrypto -lcurl \
                $(shell pkg-config --libs libxml-2.0 pangocairo 2>/dev/null) \
                -pthread
EMBEDDED     := $(sort $(wildcard sql/*.sql)) sidecar/api/openapi.json

$(BUILD)/gen/embedded.c: $(EMBEDDED) tools/embed.pl
	@mkdir -p $(BUILD)/gen
	@tools/embed.pl $@ $(EMBEDDED)

sidecar: $(BUILD)/hubgated

$(BUILD)/hubgated: $(SIDECAR_SRCS) $(SIDECAR_HDRS) $(BUILD)/gen/embedded.c \
                   ngx_module/hg_identity.c ngx_module/hg_identity.h \
                   ngx_module/hg_whevent.c ngx_module/hg_whevent.h
	$(CC) $(SIDECAR_CFLAGS) -o $@ $(SIDECAR_SRCS) $(BUILD)/gen/embedded.c \
	    ngx_module/hg_identity.c ngx_module/hg_whevent.c $(SIDECAR_LIBS)

# the same with AddressSanitizer and UBSan, for the end-to-end suites
$(BUILD)/asan/hubgated: $(SIDECAR_SRCS) $(SIDECAR_HDRS) \
                        $(BUILD)/gen/embedded.c ngx_module/hg_identity.c \
                        ngx_module/hg_whevent.c ngx_module/hg_whevent.h
	@mkdir -p $(BUILD)/asan
	$(CC) $(SIDECAR_CFLAGS) -O1 -fsanitize=address,undefined \
	    -fno-omit-frame-pointer -o $@ $(SIDECAR_SRCS) \
	    $(BUILD)/gen/embedded.c ngx_module/hg_identity.c \
	    ngx_module/hg_whevent.c $(SIDECAR_LIBS)

VAULT_SRCS   := sidecar/vault/vault.c
VAULT_HDRS   := sidecar/vault/vault.h
CONFIG_SRCS  := sidecar/config/config.c
CONFIG_HDRS  := sidecar/config/config.h

unit: $(UNIT_BINS)

# sidecar cores: unit tests and fuzzers link the one subsystem they test
$(BUILD)/unit/test_vault: t/unit/test_vault.c $(VAULT_SRCS) $(VAULT_HDRS)
	@mkdir -p $(BUILD)/unit
	$(CC) $(CORE_CFLAGS) -Isidecar/vault -O1 -fsanitize=address,undefined \
	    -fno-omit-frame-pointer -o $@ $< $(VAULT_SRCS) -lcrypto -lcmocka

$(BUILD)/unit/test_config: t/unit/test_config.c $(CONFIG_SRCS) $(CONFIG_HDRS)
	@mkdir -p $(BUILD)/unit
	$(CC) $(CORE_CFLAGS) -Isidecar/config -O1 -fsanitize=address,undefined \
	    -fno-omit-frame-pointer -o $@ $< $(CONFIG_SRCS) -lcmocka

$(BUILD)/fuzz/fuzz_config: t/fuzz/fuzz_config.c $(CONFIG_SRCS) $(CONFIG_HDRS)
	@mkdir -p $(BUILD)/fuzz
	clang -std=c11 -D_GNU_SOURCE -g -O1 -Isidecar/config \
	    -fsanitize=fuzzer,address,undefined -o $@ $< $(CONFIG_SRCS)

$(BUILD)/fuzz/fuzz_vault: t/fuzz/fuzz_vault.c $(VAULT_SRCS) $(VAULT_HDRS)
	@mkdir -p $(BUILD)/fuzz
	clang -std=c11 -D_GNU_SOURCE -g -O1 -Isidecar/vault \
	    -fsanitize=fuzzer,address,undefined -o $@ $< $(VAULT_SRCS) -lcrypto

$(BUILD)/unit/test_validate: t/unit/test_validate.c sidecar/api/validate.c \
        sidecar/api/validate.h sidecar/providers/providers.c \
        sidecar/providers/providers.h
	@mkdir -p $(BUILD)/unit
	$(CC) $(CORE_CFLAGS) -Isidecar -O1 -fsanitize=address,undefined \
	    -fno-omit-frame-pointer -o $@ $< sidecar/api/validate.c \
	    sidecar/providers/providers.c -ljansson -lcmocka

$(BUILD)/unit/test_token: t/unit/test_token.c sidecar/token.c sidecar/token.h \
        $(CORE_SRCS) $(CORE_HDRS) t/unit/hg_test.h
	@mkdir -p $(BUILD)/unit
	$(CC) $(CORE_CFLAGS) -Isidecar -O1 -fsanitize=address,undefined \
	    -fno-omit-frame-pointer -o $@ $< sidecar/token.c $(CORE_SRCS) \
	    $(CORE_LIBS) -lcmocka

$(BUILD)/fuzz/fuzz_api_body: t/fuzz/fuzz_api_body.c sidecar/api/validate.c \
        sidecar/api/validate.h sidecar/providers/providers.c \
        sidecar/providers/providers.h
	@mkdir -p $(BUILD)/fuzz
	clang -std=c11 -D_GNU_SOURCE -g -O1 -Isidecar \
	    -fsanitize=fuzzer,address,undefined -o $@ $< sidecar/api/validate.c \
	    sidecar/providers/providers.c -ljansson

$(BUILD)/unit/%: t/unit/%.c $(CORE_SRCS) $(CORE_HDRS) $(wildcard t/unit/*.h)
	@mkdir -p $(BUILD)/unit
	$(CC) $(CORE_CFLAGS) -fsanitize=address,undefined -fno-omit-frame-pointer \
	    -o $@ $< $(CORE_SRCS) $(CORE_LIBS) -lcmocka

fuzz-build: $(FUZZ_BINS)

$(BUILD)/fuzz/%: t/fuzz/%.c $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(BUILD)/fuzz
	clang -std=c11 -D_GNU_SOURCE -g -O1 -Ingx_module \
	    -fsanitize=fuzzer,address,undefined -o $@ $< $(CORE_SRCS) $(CORE_LIBS)

# make fuzz FUZZ_SECONDS=N runs every target for N seconds
fuzz: fuzz-build
	@tools/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

# the edge suites against the module built with AddressSanitizer
asan: $(BUILD)/asan/ngx_http_hubgate_module.so tools
	HUBGATE_MODULE=$(CURDIR)/$(BUILD)/asan/ngx_http_hubgate_module.so \
	HUBGATE_ASAN=1 perl t/run.pl t/edge

# PostgreSQL and Redis are started once for the whole run (and stopped
# again when this started them), not by each suite in turn
test: deps module tools sidecar unit fuzz-build \
      $(BUILD)/asan/ngx_http_hubgate_module.so $(BUILD)/asan/hubgated
	@started=0; \
	if ! tools/services.sh status >/dev/null 2>&1; then \
	    tools/services.sh start >/dev/null || exit 1; started=1; \
	fi; \
	perl t/run.pl --fuzz-seconds 6 t/docs t/unit t/edge t/sql t/sidecar \
	    t/invoice t/asan t/fuzz; s=$$?; \
	[ $$started = 0 ] || tools/services.sh stop >/dev/null; exit $$s

format-check:
	@tools/format-check.pl ngx_module/*.[ch] sidecar/*.[ch] sidecar/*/*.[ch]

test-sidecar: sidecar tools module
	@perl t/run.pl t/sidecar

test-edge: module tools
	@perl t/run.pl t/edge

demo: deps module tools sidecar
	@tools/demo.sh

demo-stop:
	@tools/demo.sh stop

bench: deps module tools sidecar
	@bench/run.sh; s=$$?; bench/sidecar.sh || s=1; \
	    bench/webhook.sh || s=1; bench/sync.sh || s=1; exit $$s

bench-sync: deps module sidecar
	@bench/sync.sh

bench-sidecar: deps module sidecar
	@bench/sidecar.sh

bench-webhook: deps module sidecar
	@bench/webhook.sh

clean:
	rm -rf $(BUILD)

# per-subsystem rules (unit tests, fuzzers, benches): mk/<subsystem>.mk
include $(sort $(wildcard mk/*.mk))
