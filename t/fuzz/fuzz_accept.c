/*
 * Fuzzes api_accept_pick (the Accept header of GET /v1/invoices/{id}) and
 * api_pct_decode (a series name in the path): any bytes as the value;
 * nothing may read or write past its buffer, the answer is -1 or an
 * index of the list, and a decoded segment is never longer than its
 * input nor holds a NUL.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/accept.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const  types[] = {
        "application/json", "application/*", "*/*", "application/xml",
        "text/xml", "application/pdf"
    };
    char  *s, out[64];
    int    k;

    s = malloc(size + 1);
    if (s == NULL) {
        return 0;
    }
    memcpy(s, data, size);
    s[size] = '\0';

    k = api_accept_pick(s, types, sizeof(types) / sizeof(types[0]));
    if (k < -1 || k >= (int) (sizeof(types) / sizeof(types[0]))) {
        abort();
    }

    if (api_pct_decode(s, out, sizeof(out)) == 0
        && strlen(out) > strlen(s))
    {
        abort();
    }

    free(s);
    return 0;
}
