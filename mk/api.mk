# the API's pure parts (sidecar/api/accept.c): unit test and fuzz target.
# Included by the Makefile.

$(BUILD)/unit/test_accept: t/unit/test_accept.c sidecar/api/accept.c \
        sidecar/api/accept.h
	@mkdir -p $(BUILD)/unit
	$(CC) $(CORE_CFLAGS) -Isidecar -O1 -fsanitize=address,undefined \
	    -fno-omit-frame-pointer -o $@ $< sidecar/api/accept.c -lcmocka

$(BUILD)/fuzz/fuzz_accept: t/fuzz/fuzz_accept.c sidecar/api/accept.c \
        sidecar/api/accept.h
	@mkdir -p $(BUILD)/fuzz
	clang -std=c11 -D_GNU_SOURCE -g -O1 -Isidecar \
	    -fsanitize=fuzzer,address,undefined -o $@ $< sidecar/api/accept.c
