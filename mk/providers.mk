# provider HTTP client and provider ops: unit tests and fuzzers.  They link
# the ops of every provider, the HTTP client and nothing else of hubgated.

PROV_SRCS    := sidecar/providers/provider_ops.c sidecar/providers/allegro.c \
                sidecar/providers/stripe.c sidecar/net/http.c
PROV_HDRS    := sidecar/providers/provider_ops.h sidecar/net/http.h
PROV_LIBS    := -ljansson -lcrypto -lcurl -pthread
PROV_UNITS   := test_http test_allegro test_stripe test_provider_ops

$(patsubst %,$(BUILD)/unit/%,$(PROV_UNITS)): $(BUILD)/unit/%: t/unit/%.c \
        $(PROV_SRCS) $(PROV_HDRS) $(wildcard t/unit/fixtures/*)
	@mkdir -p $(BUILD)/unit
	$(CC) $(CORE_CFLAGS) -Isidecar -O1 -fsanitize=address,undefined \
	    -fno-omit-frame-pointer -o $@ $< $(PROV_SRCS) $(PROV_LIBS) -lcmocka

$(BUILD)/fuzz/fuzz_allegro $(BUILD)/fuzz/fuzz_stripe: $(BUILD)/fuzz/%: \
        t/fuzz/%.c $(PROV_SRCS) $(PROV_HDRS)
	@mkdir -p $(BUILD)/fuzz
	clang -std=c11 -D_GNU_SOURCE -g -O1 -Isidecar \
	    -fsanitize=fuzzer,address,undefined -o $@ $< $(PROV_SRCS) \
	    $(PROV_LIBS)
