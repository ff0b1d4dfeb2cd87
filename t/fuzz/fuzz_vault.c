
/*
 * Fuzzes the vault's parsers of untrusted bytes: the first input byte picks
 * vault_dek_unwrap, vault_rewrap, vault_open (with fixed keys, tenant,
 * integration and purpose) or vault_kek_parse; the rest is the blob or the
 * KEK text.  Nothing may crash or leak; outputs are consistent with the
 * return code.  (Seeds include genuine blobs, so success is allowed.)
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vault.h"


#define FUZZ_KEKS                                                            \
    "1 8a1f3c5e7d9b2a4c6e8f0a1b3c5d7e9f1a2b3c4d5e6f708192a3b4c5d6e7f809\n"   \
    "2 f0e1d2c3b4a5968778695a4b3c2d1e0ff1e2d3c4b5a69788796a5b4c3d2e1f00\n"


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* read-only after initialization */
static vault_t      *fuzz_vault;
static vault_dek_t  *fuzz_dek;


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    unsigned char  wrapped[VAULT_WRAPPED_LEN];

    (void) argc;
    (void) argv;

    if (vault_kek_parse(FUZZ_KEKS, sizeof(FUZZ_KEKS) - 1, &fuzz_vault, NULL,
                        0) != VAULT_OK
        || vault_dek_new(fuzz_vault, "t", &fuzz_dek, wrapped, NULL, 0)
           != VAULT_OK)
    {
        abort();
    }

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             rc;
    char            err[256];
    size_t          n;
    vault_t        *v;
    vault_dek_t    *dek;
    unsigned char  *out;
    unsigned char   wrapped[VAULT_WRAPPED_LEN];

    err[0] = '\0';

    if (size == 0) {
        return 0;
    }

    switch (data[0] & 3) {

    case 0:
        dek = NULL;
        rc = vault_dek_unwrap(fuzz_vault, "t", data + 1, size - 1, &dek, err,
                              sizeof(err));
        if ((rc == VAULT_OK) != (dek != NULL)) {
            abort();
        }
        vault_dek_free(dek);
        break;

    case 1:
        rc = vault_rewrap(fuzz_vault, "t", data + 1, size - 1, wrapped, err,
                          sizeof(err));
        if (rc == VAULT_OK
            && vault_dek_unwrap(fuzz_vault, "t", wrapped, sizeof(wrapped),
                                &dek, NULL, 0) != VAULT_OK)
        {
            abort();
        }
        if (rc == VAULT_OK) {
            vault_dek_free(dek);
        }
        break;

    case 2:
        /* exact size, so that ASan sees any write past the plaintext */
        n = size - 1 > VAULT_OVERHEAD ? size - 1 - VAULT_OVERHEAD : 0;
        out = malloc(n ? n : 1);
        if (out == NULL) {
            return 0;
        }
        rc = vault_open(fuzz_dek, "t", "i", "p", data + 1, size - 1, out, n,
                        &n, err, sizeof(err));
        free(out);
        if (rc == VAULT_OK && n != size - 1 - VAULT_OVERHEAD) {
            abort();
        }
        break;

    default:
        v = NULL;
        rc = vault_kek_parse((const char *) data + 1, size - 1, &v, err,
                             sizeof(err));
        if ((rc == VAULT_OK) != (v != NULL)
            || memchr(err, '\0', sizeof(err)) == NULL)
        {
            abort();
        }
        vault_free(v);
        break;
    }

    return 0;
}
