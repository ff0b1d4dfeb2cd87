
/*
 * Fuzzes an Authorization header value: hg_jwt_parse_bearer, then
 * hg_jwt_parse on the token it finds.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "hg_jwt.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int          rc;
    size_t       len;
    hg_jwt_t     jwt;
    const char  *value, *token;

    value = (const char *) data;
    rc = hg_jwt_parse_bearer(value, size, &token, &len);

    if (rc != 0) {
        if (rc != 1 && rc != -1) {
            abort();
        }

        return 0;
    }

    if (len == 0 || token < value || token + len > value + size) {
        abort();
    }

    (void) hg_jwt_parse(&jwt, token, len, NULL);
    hg_jwt_free(&jwt);

    return 0;
}
