
/*
 * hubgated: validation of API request bodies (DESIGN §4, API).
 *
 * Pure: no I/O, no global mutable state.  Bodies are jansson trees parsed
 * by the caller (JSON_REJECT_DUPLICATES); every problem is reported, not
 * just the first, as {field, code, message}, so that a client can fix a
 * form in one round trip.  Bad input never yields a partial result.
 *
 * Integration settings (PUT /v1/integrations/{id}/settings, and "settings"
 * in POST /v1/integrations):
 *
 *   autoGenerateInvoices  boolean, default false
 *   invoiceSeries         string of 1..64 bytes: [A-Za-z0-9] then
 *                         [A-Za-z0-9_/.-]; default "default"
 *   syncFrequencyMinutes  JSON integer 5..1440 (not 5.0, not "60");
 *                         default 60
 *   autoMarkAsPaid        boolean, default false
 *   autoCreateCustomer    boolean, default true
 *   autoCreateProduct     boolean, default true
 *   defaultVatRate        "23", "8", "5", "0" (Poland), "21", "11"
 *                         (Romania since 2025-08-01), "zw" (exempt), "np"
 *                         (outside the scope of VAT), or one of those
 *                         numbers as a JSON integer; stored as the string;
 *                         default "23"
 *   fieldMappings         object of at most 64 members, each key
 *                         [A-Za-z][A-Za-z0-9_.]{0,63}, each value a string
 *                         of 1..256 bytes; default {}
 *
 * Error codes: required, type, range, enum, pattern, too_short, too_long,
 * unknown_field, unknown_provider, unsupported_auth, not_allowed, internal
 * (out of memory).  Fields are JSON paths ("settings.invoiceSeries",
 * "settings.fieldMappings.sku"; "" is the body itself), cut at a character
 * boundary to fit.  Messages are English sentences; they may quote a
 * member name or a provider name (cut short), never a value that could be
 * a secret: api_key is never quoted.
 */

#ifndef VALIDATE_H
#define VALIDATE_H

#include <stddef.h>

#include <jansson.h>

#include "providers/providers.h"


#define VALIDATE_ERRS_MAX  16


typedef struct {
    char  field[96];      /* JSON path, or "" for the body */
    char  code[40];       /* machine code, listed above */
    char  message[256];   /* an English sentence; never an api_key */
} validate_err_t;


typedef struct {
    validate_err_t  errs[VALIDATE_ERRS_MAX];
    size_t          n;    /* errors found; the first VALIDATE_ERRS_MAX kept */
} validate_errs_t;


/* every setting at its default; a new reference, NULL when out of memory */
json_t *validate_settings_defaults(void);

/*
 * Validates a settings object; prefix ("" or "settings.") is put before
 * every field name.  Returns a new reference, owned by the caller: a
 * normalized object holding exactly the keys given (no defaults added).
 * On any error returns NULL with errs filled (errs is reset first).
 */
json_t *validate_settings(const json_t *body, const char *prefix,
    validate_errs_t *errs);

/*
 * The defaults overlaid by stored (a previously normalized object, or
 * NULL).  Unknown stored keys, and stored values that no longer pass
 * validation, are dropped in favour of the default.  A new reference;
 * NULL when out of memory.
 */
json_t *validate_settings_effective(const json_t *stored);


typedef struct {
    const provider_t  *provider;        /* borrowed, static */
    unsigned           auth;            /* PROVIDER_AUTH_OAUTH or _API_KEY */
    const char        *display_name;    /* borrowed from the body, or NULL */
    const char        *api_key;         /* borrowed from the body, or NULL */
    size_t             api_key_len;
    json_t            *settings;        /* new reference: normalized
                                           settings, {} if absent */
} validate_create_t;


/*
 * POST /v1/integrations:
 *   provider      string, required, a name from the provider registry
 *   display_name  string, optional: 1..128 bytes of valid UTF-8 without
 *                 control characters (C0, DEL, C1)
 *   auth          "oauth" | "api_key", optional; default "oauth" when the
 *                 provider supports it, else "api_key"
 *   api_key       string, required when auth is api_key (checked by the
 *                 provider's key check), refused otherwise
 *   settings      object, optional, as validate_settings("settings.")
 * Any other member is an error.  Returns 0 and fills *out; out->settings
 * is then owned by the caller, and display_name and api_key are borrowed
 * from body (valid while body lives).  Returns -1 with errs filled (reset
 * first) and *out untouched.
 */
int validate_create(const json_t *body, validate_create_t *out,
    validate_errs_t *errs);

typedef struct {
    const char  *secret;            /* borrowed from the body, or NULL */
    size_t       secret_len;
    long         overlap_seconds;
} validate_whsec_t;


/*
 * PUT /v1/integrations/{id}/webhook-secret:
 *   secret           string, optional: 1..1024 printable ASCII bytes
 *                    (0x20..0x7E); absent means "generate one"
 *   overlap_seconds  JSON integer 0..2592000, optional, default 86400: how
 *                    long the older secrets stay valid
 * Any other member is an error.  Messages never quote the secret.  Returns
 * 0 and fills *out (secret borrowed from body), or -1 with errs filled
 * (reset first).
 */
int validate_webhook_secret(const json_t *body, validate_whsec_t *out,
    validate_errs_t *errs);


/*
 * The API's error body for errs:
 *   {"error": {"code": "validation_failed", "message": <first message>,
 *              "details": [{"field", "code", "message"}, ...]}}
 * A new reference, owned by the caller; NULL when out of memory.
 */
json_t *validate_errors_json(const validate_errs_t *errs);


#define VALIDATE_SERIES_MAX  64

/*
 * The invoiceSeries rule, also the rule of series names in the invoice
 * API: 1..VALIDATE_SERIES_MAX bytes, an ASCII letter or digit, then those
 * or '_', '/', '.', '-'.  0 when s (len bytes) keeps it; else the 1-based
 * position of the first byte it refuses, len + 1 for a bad length.
 */
size_t validate_series_name(const char *s, size_t len);

#endif /* VALIDATE_H */
