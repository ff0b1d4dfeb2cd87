
/*
 * Fuzzes a compact JWS: hg_jwt_parse, then hg_jwt_verify against the
 * fixed keys of t/unit/rfc_vectors.h, hg_jwt_check_claims and
 * hg_jwt_member_text on what parsed.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hg_jwt.h"
#include "hg_jwks.h"
#include "../unit/rfc_vectors.h"


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_members(json_t *object);
static void fuzz_verify(const hg_jwt_t *jwt);


/* read-only after initialization */
static hg_keyset_t  fuzz_keyset;


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char  err[256];

    hg_jwks_init(&fuzz_keyset);

    if (hg_jwks_add_json(&fuzz_keyset, RFC_JWKS,
                         sizeof(RFC_JWKS) - 1, err, sizeof(err))
        != 0)
    {
        abort();
    }

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hg_jwt_t                 jwt;
    hg_jwt_limits_t          limits = { 0, 0, (hg_alg_set_t) -1 };
    hg_jwt_claims_policy_t   policy;

    static const char       *audiences[] = { "api", "admin" };

    if (hg_jwt_parse(&jwt, (const char *) data, size, &limits) != HG_JWT_OK) {
        hg_jwt_free(&jwt);
        return 0;
    }

    fuzz_verify(&jwt);

    policy.issuer = "joe";
    policy.audiences = audiences;
    policy.naudiences = 2;
    policy.leeway = 60;
    policy.require_exp = 1;

    (void) hg_jwt_check_claims(&jwt, &policy, 1300819380);
    (void) hg_jwt_check_claims(&jwt, NULL, 0);

    fuzz_members(jwt.header);
    fuzz_members(jwt.payload);

    hg_jwt_free(&jwt);

    return 0;
}


static void
fuzz_verify(const hg_jwt_t *jwt)
{
    size_t           i, iter;
    const hg_key_t  *key;

    iter = 0;

    while ((key = hg_jwks_next(&fuzz_keyset, jwt->kid, jwt->kid_len,
                               jwt->alg, &iter))
           != NULL)
    {
        (void) hg_jwt_verify(jwt, key);
    }

    /* every key, fitting or not: the binding check must hold */
    for (i = 0; i < fuzz_keyset.nkeys; i++) {
        (void) hg_jwt_verify(jwt, &fuzz_keyset.keys[i]);
    }
}


static void
fuzz_members(json_t *object)
{
    char        *text;
    size_t       len;
    json_t      *value;
    const char  *name;

    json_object_foreach(object, name, value) {
        if (hg_jwt_member_text(object, name, strlen(name), &text, &len) == 0)
        {
            if (strlen(text) > len) {
                abort();
            }

            free(text);
        }
    }

    if (hg_jwt_member_text(object, "absent", 6, &text, &len) == 0) {
        abort();
    }
}
