
/*
 * Fuzzes hubgated's answer to secret_request (hg_whsecrets).  Whatever
 * the input, the parser must not crash, and what it hands over must keep
 * the header's promises: at most 16 secrets, each 1 to 1024 bytes without
 * a NUL, and on success every secret of the answer, in order.  A broken
 * promise aborts.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hg_whsecrets.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_add(void *ctx, const char *secret, size_t len);


typedef struct {
    size_t  n;
    size_t  stop_at;            /* add fails at this call (0: never) */
} fuzz_seen_t;


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char   *why;
    fuzz_seen_t   seen;

    seen.n = 0;
    seen.stop_at = 0;

    why = hg_whsecrets_parse((const char *) data, size, fuzz_add, &seen);

    if (why == NULL && seen.n > HG_WHSECRETS_MAX) {
        abort();
    }

    /* the same input with add failing at its first call: never taken */
    if (seen.n > 0) {
        seen.n = 0;
        seen.stop_at = 1;

        why = hg_whsecrets_parse((const char *) data, size, fuzz_add, &seen);

        if (why == NULL || strcmp(why, "out of memory") != 0) {
            abort();
        }
    }

    return 0;
}


static int
fuzz_add(void *ctx, const char *secret, size_t len)
{
    fuzz_seen_t  *seen = ctx;

    if (secret == NULL || len == 0 || len > HG_WHSECRETS_LEN_MAX
        || memchr(secret, '\0', len) != NULL)
    {
        abort();
    }

    seen->n++;

    return (seen->stop_at && seen->n >= seen->stop_at) ? -1 : 0;
}
