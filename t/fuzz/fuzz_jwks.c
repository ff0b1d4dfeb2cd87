
/*
 * Fuzzes key loading: hg_jwks_add_data (JWKS, JWK or PEM), then iteration
 * and the binding check over what loaded.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hg_jwks.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int               a, rc;
    char              err[128];
    size_t            iter;
    hg_keyset_t       ks;
    const hg_key_t   *key;

    hg_jwks_init(&ks);
    memset(err, 0, sizeof(err));

    rc = hg_jwks_add_data(&ks, (const char *) data, size, err, sizeof(err));

    /* on failure: a reason, and nothing kept; on success: some key */
    if ((rc != 0 && (err[0] == '\0' || ks.nkeys != 0))
        || (rc == 0 && (ks.nkeys == 0 || ks.nkeys > HG_JWKS_MAX_KEYS))
        || err[sizeof(err) - 1] != '\0')
    {
        abort();
    }

    for (a = HG_ALG_UNKNOWN; a <= HG_ALG_MAX; a++) {
        iter = 0;

        while ((key = hg_jwks_next(&ks, "kid", 3, a, &iter)) != NULL) {
            if (!hg_jwks_key_fits(key, a)) {
                abort();
            }
        }
    }

    hg_jwks_free(&ks);

    return 0;
}
