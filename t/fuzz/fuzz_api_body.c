
/*
 * Fuzzes API request bodies: bytes parsed as the server parses them
 * (json_loadb, JSON_REJECT_DUPLICATES), then validate_create, and
 * validate_settings on the body and on its "settings" member, and the
 * error body for each.  Nothing may crash or leak, and:
 *   - a failure has errors and leaves the output untouched; a success has
 *     none, a known provider, an auth mode it supports, and an api_key
 *     exactly when that mode is api_key, one that passes its check;
 *   - normalized settings hold the keys given, validate again to the same
 *     object, and the effective settings always hold all eight keys;
 *   - the error body always builds and dumps;
 *   - the api_key error never quotes the key: its message is made of
 *     ASCII templates and numbers, so a key with a non-ASCII byte would
 *     show.  (A search for the key itself would not do: libFuzzer learns
 *     the message text from the comparisons and feeds it back as a key.)
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/validate.h"


#define FUZZ_SETTINGS_KEYS  8


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_errors(const validate_errs_t *errs);
static void fuzz_settings(const json_t *body, const char *prefix);
static void fuzz_create(const json_t *body);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t  *body, *eff;

    body = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES,
                      NULL);
    if (body == NULL) {
        return 0;
    }

    fuzz_create(body);
    fuzz_settings(body, "");

    if (json_is_object(body) && json_object_get(body, "settings") != NULL) {
        fuzz_settings(json_object_get(body, "settings"), "settings.");
    }

    eff = validate_settings_effective(body);
    if (eff == NULL || json_object_size(eff) != FUZZ_SETTINGS_KEYS) {
        abort();
    }
    json_decref(eff);

    json_decref(body);

    return 0;
}


static void
fuzz_errors(const validate_errs_t *errs)
{
    char                 *dump;
    size_t                i, n;
    json_t               *j;
    const unsigned char  *p;

    if (errs->n == 0) {
        abort();
    }

    j = validate_errors_json(errs);
    if (j == NULL) {
        abort();
    }

    dump = json_dumps(j, JSON_COMPACT);
    if (dump == NULL) {
        abort();
    }

    free(dump);
    json_decref(j);

    n = errs->n < VALIDATE_ERRS_MAX ? errs->n : VALIDATE_ERRS_MAX;

    for (i = 0; i < n; i++) {
        if (strcmp(errs->errs[i].field, "api_key") != 0) {
            continue;
        }

        for (p = (const unsigned char *) errs->errs[i].message; *p; p++) {
            if (*p < 0x20 || *p > 0x7e) {
                abort();
            }
        }
    }
}


static void
fuzz_settings(const json_t *body, const char *prefix)
{
    json_t           *out, *again, *eff, *v;
    const char       *key;
    validate_errs_t   errs;

    out = validate_settings(body, prefix, &errs);

    if (out == NULL) {
        fuzz_errors(&errs);
        return;
    }

    if (errs.n != 0 || json_object_size(out) != json_object_size(body)) {
        abort();
    }

    json_object_foreach(out, key, v) {
        if (json_object_get(body, key) == NULL) {
            abort();
        }
    }

    again = validate_settings(out, "", &errs);
    if (again == NULL || !json_equal(again, out)) {
        abort();
    }

    eff = validate_settings_effective(out);
    if (eff == NULL || json_object_size(eff) != FUZZ_SETTINGS_KEYS) {
        abort();
    }

    json_object_foreach(out, key, v) {
        if (!json_equal(json_object_get(eff, key), v)) {
            abort();
        }
    }

    json_decref(eff);
    json_decref(again);
    json_decref(out);
}


static void
fuzz_create(const json_t *body)
{
    char               why[PROVIDER_WHY_MAX];
    validate_errs_t    errs;
    validate_create_t  out, ref;

    memset(&out, 0x5a, sizeof(out));
    memcpy(&ref, &out, sizeof(ref));

    if (validate_create(body, &out, &errs) != 0) {
        if (memcmp(&out, &ref, sizeof(out)) != 0) {
            abort();
        }
        fuzz_errors(&errs);
        return;
    }

    if (errs.n != 0 || out.provider == NULL
        || provider_find(out.provider->name) != out.provider
        || (out.auth != PROVIDER_AUTH_OAUTH
            && out.auth != PROVIDER_AUTH_API_KEY)
        || !(out.provider->auth & out.auth)
        || !json_is_object(out.settings)
        || (out.auth == PROVIDER_AUTH_API_KEY) != (out.api_key != NULL))
    {
        abort();
    }

    if (out.api_key != NULL
        && provider_check_api_key(out.provider, out.api_key,
                                  out.api_key_len, why, sizeof(why)) != 0)
    {
        abort();
    }

    json_decref(out.settings);
}
