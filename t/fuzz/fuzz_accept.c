/*
 * Fuzzes api_accept_pick (the Accept header of GET /v1/invoices/{id}):
 * any bytes as a header value; nothing may read past the string, and the
 * answer is -1 or an index of the list.
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
    char  *s;
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

    free(s);
    return 0;
}
