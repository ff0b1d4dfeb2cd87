# OAuth flow (sidecar/sync/oauth.c): the fuzz target of the callback's
# Accept negotiation.  Included by the Makefile.  oauth.c is linked alone;
# the target stubs what it calls in the database, vault and HTTP layers.

OAUTH_FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Isidecar \
                     -I$(shell pg_config --includedir 2>/dev/null \
                         || echo /usr/include/postgresql) \
                     $(shell pkg-config --cflags libxml-2.0 2>/dev/null)

$(BUILD)/fuzz/fuzz_oauth_accept: t/fuzz/fuzz_oauth_accept.c \
        sidecar/sync/oauth.c sidecar/sync/oauth.h sidecar/store/stmts_oauth.h
	@mkdir -p $(BUILD)/fuzz
	clang $(OAUTH_FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined \
	    -o $@ $< sidecar/sync/oauth.c -lpq -ljansson -lcrypto
