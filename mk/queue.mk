# job queue (sidecar/sync/queue.c): its fuzz target.  Included by the
# Makefile.  queue.c links the store and log it calls (libpq, jansson);
# the target exercises only its pure parts.

QUEUE_PG_INC    := $(shell pg_config --includedir 2>/dev/null \
                     || echo /usr/include/postgresql)
QUEUE_FUZZ_SRCS := sidecar/sync/queue.c sidecar/clock.c sidecar/log.c \
                   sidecar/store/db.c

$(BUILD)/fuzz/fuzz_queue: t/fuzz/fuzz_queue.c $(QUEUE_FUZZ_SRCS) \
        sidecar/sync/queue.h sidecar/store/stmts_queue.h
	@mkdir -p $(BUILD)/fuzz
	clang -std=c11 -D_GNU_SOURCE -g -O1 -Isidecar \
	    -I$(QUEUE_PG_INC) \
	    -pthread -fsanitize=fuzzer,address,undefined -o $@ $< \
	    $(QUEUE_FUZZ_SRCS) -lpq -ljansson -pthread
