
/*
 * validate and providers: settings at their boundaries, defaults, several
 * errors at once, the provider registry and its JSON, API key shapes, and
 * POST /v1/integrations bodies.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "api/validate.h"
#include "providers/providers.h"


#define HEX32   "0123456789abcdef0123456789abcdef"
#define STRIPE  "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
#define KSEF    "20250625-EC-2FDC223000-C2BFC98A9C-4E|nip-5265877635|a7f0c1"


typedef struct {
    const char  *provider;
    const char  *key;
    int          ok;
} key_case_t;


static json_t *
load(const char *text)
{
    json_t        *j;
    json_error_t   e;

    j = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY
                         | JSON_ALLOW_NUL, &e);
    if (j == NULL) {
        fail_msg("bad test JSON: %s: %s", e.text, text);
    }

    return j;
}


/* c repeated n times, in a static buffer */
static const char *
rep(char c, size_t n)
{
    static char  buf[8192];

    assert_true(n < sizeof(buf));
    memset(buf, c, n);
    buf[n] = '\0';

    return buf;
}


/* the error body must always build, whatever the errors hold */
static void
check_errors_json(const validate_errs_t *errs)
{
    json_t  *j;

    j = validate_errors_json(errs);
    assert_non_null(j);
    json_decref(j);
}


/* validate_settings(text) succeeds and gives the normalized want */
static void
settings_ok(const char *text, const char *want)
{
    json_t           *body, *out, *w;
    validate_errs_t   errs;

    body = load(text);
    w = load(want);
    out = validate_settings(body, "", &errs);
    if (out == NULL) {
        fail_msg("%s: %s: %s", text, errs.errs[0].field,
                 errs.errs[0].message);
    }
    assert_int_equal(errs.n, 0);
    assert_true(json_equal(out, w));
    json_decref(out);
    json_decref(w);
    json_decref(body);
}


/* validate_settings(text, prefix) fails with exactly one error */
static void
settings_err(const char *text, const char *prefix, const char *field,
    const char *code)
{
    json_t           *body;
    validate_errs_t   errs;

    body = load(text);
    assert_null(validate_settings(body, prefix, &errs));
    if (errs.n != 1 || strcmp(errs.errs[0].field, field) != 0
        || strcmp(errs.errs[0].code, code) != 0)
    {
        fail_msg("%s: want %s/%s, got %zu errors, first %s/%s: %s", text,
                 field, code, errs.n, errs.errs[0].field, errs.errs[0].code,
                 errs.errs[0].message);
    }
    assert_true(strlen(errs.errs[0].message) > 10);
    check_errors_json(&errs);
    json_decref(body);
}


/* validate_create(text) fails, the first error is field/code, n errors */
static void
create_err(const char *text, size_t n, const char *field, const char *code)
{
    json_t             *body;
    validate_errs_t     errs;
    validate_create_t   out;

    body = load(text);
    memset(&out, 0x5a, sizeof(out));
    assert_int_equal(validate_create(body, &out, &errs), -1);
    if (errs.n != n || strcmp(errs.errs[0].field, field) != 0
        || strcmp(errs.errs[0].code, code) != 0)
    {
        fail_msg("%s: want %zu, %s/%s, got %zu errors, first %s/%s: %s",
                 text, n, field, code, errs.n, errs.errs[0].field,
                 errs.errs[0].code, errs.errs[0].message);
    }
    assert_int_equal(out.api_key_len, 0x5a5a5a5a5a5a5a5aULL & SIZE_MAX);
    check_errors_json(&errs);
    json_decref(body);
}


static void
test_defaults(void **state)
{
    json_t  *d, *w;

    d = validate_settings_defaults();
    w = load("{\"autoGenerateInvoices\": false,"
             " \"invoiceSeries\": \"default\","
             " \"syncFrequencyMinutes\": 60, \"autoMarkAsPaid\": false,"
             " \"autoCreateCustomer\": true, \"autoCreateProduct\": true,"
             " \"defaultVatRate\": \"23\", \"fieldMappings\": {}}");
    assert_non_null(d);
    assert_true(json_equal(d, w));
    json_decref(d);
    json_decref(w);

    /* an empty body is valid and sets nothing */
    settings_ok("{}", "{}");
}


static void
test_booleans(void **state)
{
    size_t       i;
    char         text[96], field[64];
    const char  *keys[] = { "autoGenerateInvoices", "autoMarkAsPaid",
                            "autoCreateCustomer", "autoCreateProduct" };

    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        snprintf(text, sizeof(text), "{\"%s\": true}", keys[i]);
        settings_ok(text, text);
        snprintf(text, sizeof(text), "{\"%s\": false}", keys[i]);
        settings_ok(text, text);
        snprintf(text, sizeof(text), "{\"%s\": 1}", keys[i]);
        settings_err(text, "", keys[i], "type");
        snprintf(text, sizeof(text), "{\"%s\": \"true\"}", keys[i]);
        settings_err(text, "", keys[i], "type");
        snprintf(text, sizeof(text), "{\"%s\": null}", keys[i]);
        snprintf(field, sizeof(field), "settings.%s", keys[i]);
        settings_err(text, "settings.", field, "type");
    }
}


static void
test_frequency(void **state)
{
    json_t           *body;
    validate_errs_t   errs;

    settings_ok("{\"syncFrequencyMinutes\": 5}",
                "{\"syncFrequencyMinutes\": 5}");
    settings_ok("{\"syncFrequencyMinutes\": 1440}",
                "{\"syncFrequencyMinutes\": 1440}");
    settings_err("{\"syncFrequencyMinutes\": 4}", "", "syncFrequencyMinutes",
                 "range");
    settings_err("{\"syncFrequencyMinutes\": 1441}", "",
                 "syncFrequencyMinutes", "range");
    settings_err("{\"syncFrequencyMinutes\": -60}", "",
                 "syncFrequencyMinutes", "range");
    settings_err("{\"syncFrequencyMinutes\": 5.5}", "",
                 "syncFrequencyMinutes", "type");
    settings_err("{\"syncFrequencyMinutes\": 5.0}", "",
                 "syncFrequencyMinutes", "type");
    settings_err("{\"syncFrequencyMinutes\": 6e1}", "",
                 "syncFrequencyMinutes", "type");
    settings_err("{\"syncFrequencyMinutes\": \"60\"}", "settings.",
                 "settings.syncFrequencyMinutes", "type");
    settings_err("{\"syncFrequencyMinutes\": true}", "",
                 "syncFrequencyMinutes", "type");

    body = load("{\"syncFrequencyMinutes\": 3}");
    assert_null(validate_settings(body, "settings.", &errs));
    assert_string_equal(errs.errs[0].message, "syncFrequencyMinutes must be "
                        "an integer from 5 to 1440 (got 3)");
    json_decref(body);
}


static void
test_series(void **state)
{
    char  text[256];

    settings_ok("{\"invoiceSeries\": \"FV/2025.01-a_b\"}",
                "{\"invoiceSeries\": \"FV/2025.01-a_b\"}");
    settings_ok("{\"invoiceSeries\": \"7\"}", "{\"invoiceSeries\": \"7\"}");

    snprintf(text, sizeof(text), "{\"invoiceSeries\": \"%s\"}", rep('A', 64));
    settings_ok(text, text);
    snprintf(text, sizeof(text), "{\"invoiceSeries\": \"%s\"}", rep('A', 65));
    settings_err(text, "", "invoiceSeries", "too_long");

    settings_err("{\"invoiceSeries\": \"\"}", "", "invoiceSeries",
                 "too_short");
    settings_err("{\"invoiceSeries\": \"-x\"}", "", "invoiceSeries",
                 "pattern");
    settings_err("{\"invoiceSeries\": \"/x\"}", "", "invoiceSeries",
                 "pattern");
    settings_err("{\"invoiceSeries\": \"a b\"}", "", "invoiceSeries",
                 "pattern");
    settings_err("{\"invoiceSeries\": \"za\\u017c\"}", "", "invoiceSeries",
                 "pattern");
    settings_err("{\"invoiceSeries\": \"a\\u0000b\"}", "", "invoiceSeries",
                 "pattern");
    settings_err("{\"invoiceSeries\": 12}", "", "invoiceSeries", "type");
}


static void
test_vat(void **state)
{
    size_t            i;
    char              text[64], want[64];
    json_t           *body;
    validate_errs_t   errs;
    const char       *rates[] = { "23", "8", "5", "0", "21", "11", "zw",
                                  "np" };

    for (i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        snprintf(want, sizeof(want), "{\"defaultVatRate\": \"%s\"}",
                 rates[i]);
        settings_ok(want, want);

        if (i < 6) {
            snprintf(text, sizeof(text), "{\"defaultVatRate\": %s}",
                     rates[i]);
            settings_ok(text, want);
        }
    }

    settings_err("{\"defaultVatRate\": 7}", "", "defaultVatRate", "enum");
    settings_err("{\"defaultVatRate\": 19}", "", "defaultVatRate", "enum");
    settings_err("{\"defaultVatRate\": \"7\"}", "", "defaultVatRate", "enum");
    settings_err("{\"defaultVatRate\": \"ZW\"}", "", "defaultVatRate",
                 "enum");
    settings_err("{\"defaultVatRate\": \"23 \"}", "", "defaultVatRate",
                 "enum");
    settings_err("{\"defaultVatRate\": \"23\\u0000\"}", "", "defaultVatRate",
                 "enum");
    settings_err("{\"defaultVatRate\": \"\"}", "", "defaultVatRate", "enum");
    settings_err("{\"defaultVatRate\": 23.0}", "", "defaultVatRate", "type");
    settings_err("{\"defaultVatRate\": null}", "", "defaultVatRate", "type");
    settings_err("{\"defaultVatRate\": [23]}", "", "defaultVatRate", "type");

    /* the message lists the allowed set */
    body = load("{\"defaultVatRate\": 7}");
    assert_null(validate_settings(body, "", &errs));
    assert_string_equal(errs.errs[0].message, "defaultVatRate must be one "
                        "of \"23\", \"8\", \"5\", \"0\" (Poland), \"21\", "
                        "\"11\" (Romania), \"zw\" (exempt) or \"np\" "
                        "(outside the scope of VAT) (got 7)");
    json_decref(body);
}


static void
test_mappings(void **state)
{
    size_t   i;
    char    text[4096], *p, field[96];

    settings_ok("{\"fieldMappings\": {}}", "{\"fieldMappings\": {}}");
    settings_ok("{\"fieldMappings\": {\"sku\": \"offer.external.id\","
                " \"a.b_C9\": \"x\"}}",
                "{\"fieldMappings\": {\"sku\": \"offer.external.id\","
                " \"a.b_C9\": \"x\"}}");

    /* 64 members, then 65 */
    p = text + sprintf(text, "{\"fieldMappings\": {");
    for (i = 0; i < 64; i++) {
        p += sprintf(p, "%s\"k%zu\": \"v\"", i ? ", " : "", i);
    }
    strcpy(p, "}}");
    settings_ok(text, text);
    sprintf(p, ", \"k64\": \"v\"}}");
    settings_err(text, "settings.", "settings.fieldMappings", "too_long");

    /* names: 64 bytes, then 65 */
    sprintf(text, "{\"fieldMappings\": {\"%s\": \"v\"}}", rep('n', 64));
    settings_ok(text, text);
    sprintf(text, "{\"fieldMappings\": {\"%s\": \"v\"}}", rep('n', 65));
    snprintf(field, sizeof(field), "fieldMappings.%s", rep('n', 65));
    settings_err(text, "", field, "pattern");

    settings_err("{\"fieldMappings\": {\"1a\": \"v\"}}", "",
                 "fieldMappings.1a", "pattern");
    settings_err("{\"fieldMappings\": {\"a-b\": \"v\"}}", "settings.",
                 "settings.fieldMappings.a-b", "pattern");
    settings_err("{\"fieldMappings\": {\"\": \"v\"}}", "",
                 "fieldMappings", "pattern");
    settings_err("{\"fieldMappings\": {\"\\u0142\": \"v\"}}", "",
                 "fieldMappings.\xc5\x82", "pattern");

    /* values: 1..256 bytes of string */
    sprintf(text, "{\"fieldMappings\": {\"a\": \"%s\"}}", rep('v', 256));
    settings_ok(text, text);
    sprintf(text, "{\"fieldMappings\": {\"a\": \"%s\"}}", rep('v', 257));
    settings_err(text, "", "fieldMappings.a", "too_long");
    settings_err("{\"fieldMappings\": {\"a\": \"\"}}", "", "fieldMappings.a",
                 "too_short");
    settings_err("{\"fieldMappings\": {\"a\": 5}}", "", "fieldMappings.a",
                 "type");
    settings_err("{\"fieldMappings\": []}", "", "fieldMappings", "type");
    settings_err("{\"fieldMappings\": \"sku=id\"}", "", "fieldMappings",
                 "type");
}


static void
test_unknown_and_shape(void **state)
{
    json_t           *body;
    validate_errs_t   errs;

    settings_err("{\"foo\": 1}", "", "foo", "unknown_field");
    settings_err("{\"foo\": 1}", "settings.", "settings.foo", "unknown_field");
    settings_err("{\"SyncFrequencyMinutes\": 60}", "",
                 "SyncFrequencyMinutes", "unknown_field");
    settings_err("[]", "", "", "type");
    settings_err("[]", "settings.", "settings", "type");
    settings_err("\"x\"", "", "", "type");

    /* a long member name is cut in the field, still valid UTF-8 */
    body = json_object();
    json_object_set_new(body, "\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82"
                        "\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82"
                        "\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82"
                        "\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82"
                        "\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82"
                        "\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82"
                        "\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82"
                        "\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82"
                        "\xc5\x82", json_true());
    assert_null(validate_settings(body, "settings.", &errs));
    assert_int_equal(errs.n, 1);
    assert_int_equal(strlen(errs.errs[0].field), 9 + 86);
    check_errors_json(&errs);
    json_decref(body);

    assert_null(validate_settings(NULL, NULL, &errs));
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.errs[0].code, "type");
}


static void
test_many_errors(void **state)
{
    size_t            i;
    char              key[16];
    json_t           *body, *j, *details;
    validate_errs_t   errs;

    body = load("{\"syncFrequencyMinutes\": 3, \"invoiceSeries\": \"\","
                " \"defaultVatRate\": \"7\", \"autoMarkAsPaid\": \"yes\","
                " \"autoCreateProduct\": true, \"bogus\": 1}");
    assert_null(validate_settings(body, "settings.", &errs));
    assert_int_equal(errs.n, 5);
    assert_string_equal(errs.errs[0].field, "settings.syncFrequencyMinutes");
    assert_string_equal(errs.errs[1].field, "settings.invoiceSeries");
    assert_string_equal(errs.errs[2].field, "settings.defaultVatRate");
    assert_string_equal(errs.errs[3].field, "settings.autoMarkAsPaid");
    assert_string_equal(errs.errs[4].field, "settings.bogus");
    assert_string_equal(errs.errs[4].code, "unknown_field");

    j = validate_errors_json(&errs);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(j, "error"), "code")),
                        "validation_failed");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(j, "error"), "message")),
                        errs.errs[0].message);
    details = json_object_get(json_object_get(j, "error"), "details");
    assert_int_equal(json_array_size(details), 5);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(details, 2), "code")), "enum");
    assert_int_equal(json_object_size(json_array_get(details, 2)), 3);
    json_decref(j);
    json_decref(body);

    /* counted beyond the kept ones */
    body = json_object();
    for (i = 0; i < 20; i++) {
        snprintf(key, sizeof(key), "x%zu", i);
        json_object_set_new(body, key, json_null());
    }
    assert_null(validate_settings(body, "", &errs));
    assert_int_equal(errs.n, 20);
    assert_string_equal(errs.errs[15].field, "x15");
    j = validate_errors_json(&errs);
    assert_int_equal(json_array_size(json_object_get(
                         json_object_get(j, "error"), "details")),
                     VALIDATE_ERRS_MAX);
    json_decref(j);
    json_decref(body);
}


static void
test_effective(void **state)
{
    json_t           *stored, *eff, *w, *norm;
    validate_errs_t   errs;

    eff = validate_settings_effective(NULL);
    w = validate_settings_defaults();
    assert_true(json_equal(eff, w));
    json_decref(eff);
    json_decref(w);

    /* a normalized PUT body, stored, then merged over the defaults */
    stored = load("{\"syncFrequencyMinutes\": 15, \"defaultVatRate\": 8,"
                  " \"fieldMappings\": {\"sku\": \"ean\"}}");
    norm = validate_settings(stored, "", &errs);
    assert_non_null(norm);
    assert_int_equal(json_object_size(norm), 3);
    json_object_set_new(norm, "bogus", json_integer(1));
    json_object_set_new(norm, "invoiceSeries", json_integer(5));

    eff = validate_settings_effective(norm);
    w = load("{\"autoGenerateInvoices\": false,"
             " \"invoiceSeries\": \"default\","
             " \"syncFrequencyMinutes\": 15, \"autoMarkAsPaid\": false,"
             " \"autoCreateCustomer\": true, \"autoCreateProduct\": true,"
             " \"defaultVatRate\": \"8\","
             " \"fieldMappings\": {\"sku\": \"ean\"}}");
    assert_true(json_equal(eff, w));
    assert_null(json_object_get(eff, "bogus"));

    json_decref(eff);
    json_decref(w);
    json_decref(norm);
    json_decref(stored);
}


static void
test_providers(void **state)
{
    size_t             i, m, n;
    json_t            *j, *modes;
    const provider_t  *all, *p;
    const char        *names[] = { "allegro", "amazon", "gmail", "stripe",
                                   "quickbooks", "square", "mailchimp",
                                   "anaf", "ksef" };
    const char        *members[] = { "name", "title", "category", "country",
                                     "auth_modes", "oauth_flow",
                                     "api_key_kind", "webhook_scheme",
                                     "syncs_available" };

    all = providers_all(&n);
    assert_int_equal(n, 9);

    for (i = 0; i < n; i++) {
        p = provider_find(names[i]);
        assert_non_null(p);
        assert_ptr_equal(p, &all[i]);
        assert_string_equal(p->name, names[i]);
        assert_true(strncmp(p->base_url, "https://", 8) == 0);
        assert_true(p->auth != 0);
        assert_true(!(p->auth & PROVIDER_AUTH_OAUTH) == (p->oauth_flow
                                                          == NULL));
        assert_true(!(p->auth & PROVIDER_AUTH_API_KEY) == (p->api_key_kind
                                                            == NULL));

        j = provider_json(p);
        assert_non_null(j);
        assert_int_equal(json_object_size(j), 9);
        for (m = 0; m < sizeof(members) / sizeof(members[0]); m++) {
            assert_non_null(json_object_get(j, members[m]));
        }
        assert_string_equal(json_string_value(json_object_get(j, "name")),
                            names[i]);
        assert_true(json_is_false(json_object_get(j, "syncs_available")));
        modes = json_object_get(j, "auth_modes");
        assert_int_equal(json_array_size(modes),
                         !!(p->auth & PROVIDER_AUTH_OAUTH)
                         + !!(p->auth & PROVIDER_AUTH_API_KEY));
        assert_int_equal(json_is_null(json_object_get(j, "country")),
                         p->country == NULL);
        json_decref(j);
    }

    assert_null(provider_find("nope"));
    assert_null(provider_find("Stripe"));
    assert_null(provider_find(""));
    assert_null(provider_find(NULL));

    /* a few facts */
    j = provider_json(provider_find("stripe"));
    modes = load("[\"oauth\", \"api_key\"]");
    assert_true(json_equal(json_object_get(j, "auth_modes"), modes));
    assert_string_equal(json_string_value(json_object_get(j,
                            "webhook_scheme")), "stripe");
    assert_true(json_is_null(json_object_get(j, "country")));
    json_decref(modes);
    json_decref(j);

    j = provider_json(provider_find("ksef"));
    modes = load("[\"api_key\"]");
    assert_true(json_equal(json_object_get(j, "auth_modes"), modes));
    assert_true(json_is_null(json_object_get(j, "oauth_flow")));
    assert_true(json_is_null(json_object_get(j, "webhook_scheme")));
    assert_string_equal(json_string_value(json_object_get(j, "country")),
                        "PL");
    json_decref(modes);
    json_decref(j);

    p = provider_find("allegro");
    assert_string_equal(p->oauth_flow, "authorization_code+pkce");
    assert_string_equal(p->category, "marketplace");
    assert_string_equal(provider_find("gmail")->webhook_scheme, "pubsub");
    assert_string_equal(provider_find("quickbooks")->webhook_scheme,
                        "intuit");
    assert_string_equal(provider_find("anaf")->country, "RO");
    assert_string_equal(provider_find("anaf")->category, "einvoicing");
}


static void
test_api_keys(void **state)
{
    int                rc;
    char               why[PROVIDER_WHY_MAX], key[5000];
    size_t             i;
    const provider_t  *p;
    const key_case_t   cases[] = {
        { "stripe", STRIPE, 1 },
        { "stripe", "rk_live_0123456789", 1 },
        { "stripe", "sk_live_012345678", 0 },
        { "stripe", "sk_live_0123456789-abc", 0 },
        { "stripe", "pk_live_0123456789abcdef", 0 },
        { "stripe", "whsec_0123456789abcdef", 0 },
        { "stripe", "sk_prod_0123456789abcdef", 0 },
        { "stripe", "SK_live_0123456789abcdef", 0 },
        { "stripe", "sk_live", 0 },
        { "stripe", "", 0 },
        { "mailchimp", HEX32 "-us21", 1 },
        { "mailchimp", HEX32 "-us1", 1 },
        { "mailchimp", HEX32 "-abcd123", 1 },
        { "mailchimp", "0123456789ABCDEF0123456789abcdef-us21", 0 },
        { "mailchimp", "0123456789abcdef0123456789abcde-us21", 0 },
        { "mailchimp", HEX32 "us21", 0 },
        { "mailchimp", HEX32, 0 },
        { "mailchimp", HEX32 "-u21", 0 },
        { "mailchimp", HEX32 "-us", 0 },
        { "mailchimp", HEX32 "-us1234", 0 },
        { "mailchimp", HEX32 "-abcde1", 0 },
        { "mailchimp", HEX32 "-us21x", 0 },
        { "mailchimp", HEX32 "-US21", 0 },
        { "square", "EAAAl0123456789abcdefghij_-XYZ", 1 },
        { "square", "abcdefghij0123456789", 1 },
        { "square", "abcdefghij012345678", 0 },
        { "square", "EAAAl0123456789abcdef ghij", 0 },
        { "square", "EAAAl0123456789abcdef+ghij", 0 },
        { "ksef", KSEF, 1 },
        { "ksef", "0123456789abcdef", 1 },
        { "ksef", "0123456789abcde", 0 },
        { "ksef", "20250625-EC-2FDC223000 C2BFC98A9C", 0 },
        { "ksef", "20250625-EC-2FDC223000\xc5\x82", 0 },
        { "allegro", "abcdefgh", 1 },
        { "allegro", "abcdefg", 0 },
        { "allegro", "abcdefgh\tij", 0 },
        { "allegro", "abcd efgh", 0 },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        p = provider_find(cases[i].provider);
        why[0] = '\0';
        rc = provider_check_api_key(p, cases[i].key, strlen(cases[i].key),
                                    why, sizeof(why));
        if ((rc == 0) != cases[i].ok) {
            fail_msg("%s key #%zu: rc %d: %s", cases[i].provider, i, rc,
                     why);
        }
        if (rc != 0) {
            assert_true(strlen(why) > 20);
            assert_true(strlen(why) < sizeof(why) - 1);
            /* a bare prefix such as "sk_live" may be named, a key not */
            if (strlen(cases[i].key) > 8 && strstr(why, cases[i].key)) {
                fail_msg("key #%zu in its message: %s", i, why);
            }
        }
    }

    /* lengths at the limits; an embedded NUL */
    memcpy(key, "sk_test_", 8);
    memset(key + 8, 'a', 248);
    assert_int_equal(provider_check_api_key(provider_find("stripe"), key,
                                            8 + 247, why, sizeof(why)), 0);
    assert_int_equal(provider_check_api_key(provider_find("stripe"), key,
                                            8 + 248, why, sizeof(why)), -1);

    memset(key, 'a', sizeof(key));
    assert_int_equal(provider_check_api_key(provider_find("square"), key,
                                            1024, why, sizeof(why)), 0);
    assert_int_equal(provider_check_api_key(provider_find("square"), key,
                                            1025, why, sizeof(why)), -1);
    assert_int_equal(provider_check_api_key(provider_find("ksef"), key,
                                            1024, why, sizeof(why)), 0);
    assert_int_equal(provider_check_api_key(provider_find("ksef"), key,
                                            1025, why, sizeof(why)), -1);
    assert_int_equal(provider_check_api_key(NULL, key, 4096, why,
                                            sizeof(why)), 0);
    assert_int_equal(provider_check_api_key(NULL, key, 4097, why,
                                            sizeof(why)), -1);
    key[10] = '\0';
    assert_int_equal(provider_check_api_key(NULL, key, 20, why,
                                            sizeof(why)), -1);
    assert_string_equal(why, "an API key holds only printable ASCII without "
                        "spaces (byte 11 is not one)");

    /* a tiny buffer, or none */
    assert_int_equal(provider_check_api_key(NULL, "x", 1, why, 4), -1);
    assert_string_equal(why, "an ");
    assert_int_equal(provider_check_api_key(NULL, "x", 1, NULL, 0), -1);
}


static void
test_create_ok(void **state)
{
    json_t             *body;
    validate_errs_t     errs;
    validate_create_t   out;

    body = load("{\"provider\": \"allegro\"}");
    assert_int_equal(validate_create(body, &out, &errs), 0);
    assert_ptr_equal(out.provider, provider_find("allegro"));
    assert_int_equal(out.auth, PROVIDER_AUTH_OAUTH);
    assert_null(out.display_name);
    assert_null(out.api_key);
    assert_true(json_is_object(out.settings));
    assert_int_equal(json_object_size(out.settings), 0);
    json_decref(out.settings);
    json_decref(body);

    /* ksef has no OAuth: api_key is the default */
    body = load("{\"provider\": \"ksef\", \"api_key\": \"" KSEF "\"}");
    assert_int_equal(validate_create(body, &out, &errs), 0);
    assert_int_equal(out.auth, PROVIDER_AUTH_API_KEY);
    assert_int_equal(out.api_key_len, strlen(KSEF));
    assert_ptr_equal(out.api_key, json_string_value(json_object_get(body,
                                                        "api_key")));
    json_decref(out.settings);
    json_decref(body);

    body = load("{\"provider\": \"stripe\", \"auth\": \"api_key\","
                " \"api_key\": \"" STRIPE "\","
                " \"display_name\": \"Sklep \\u0141\\u00f3d\\u017a\","
                " \"settings\": {\"defaultVatRate\": 23,"
                " \"syncFrequencyMinutes\": 30}}");
    assert_int_equal(validate_create(body, &out, &errs), 0);
    assert_int_equal(out.auth, PROVIDER_AUTH_API_KEY);
    assert_string_equal(out.api_key, STRIPE);
    assert_string_equal(out.display_name, "Sklep \xc5\x81\xc3\xb3""d\xc5\xba");
    assert_string_equal(json_string_value(json_object_get(out.settings,
                            "defaultVatRate")), "23");
    assert_int_equal(json_object_size(out.settings), 2);
    json_decref(out.settings);
    json_decref(body);

    /* display_name: 128 bytes of two-byte letters */
    body = json_pack("{s:s, s:s}", "provider", "gmail", "display_name",
                     "\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82"
                     "\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82"
                     "\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82"
                     "\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82"
                     "\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82"
                     "\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82"
                     "\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82"
                     "\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82"
                     "\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82"
                     "\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82"
                     "\xc5\x82\xc5\x82\xc5\x82\xc5\x82");
    assert_int_equal(validate_create(body, &out, &errs), 0);
    assert_int_equal(strlen(out.display_name), 128);
    json_decref(out.settings);
    json_decref(body);
}


static void
test_create_errors(void **state)
{
    char               text[512], *dump;
    json_t            *body, *j;
    validate_errs_t    errs;
    validate_create_t  out;

    create_err("[]", 1, "", "type");
    create_err("null", 1, "", "type");
    create_err("{}", 1, "provider", "required");
    create_err("{\"provider\": 5}", 1, "provider", "type");
    create_err("{\"provider\": \"shopify\"}", 1, "provider",
               "unknown_provider");
    create_err("{\"provider\": \"stripe\\u0000x\"}", 1, "provider",
               "unknown_provider");
    create_err("{\"provider\": \"ksef\", \"auth\": \"oauth\"}", 1, "auth",
               "unsupported_auth");
    create_err("{\"provider\": \"gmail\", \"auth\": \"api_key\","
               " \"api_key\": \"abcdefghijkl\"}", 1, "auth",
               "unsupported_auth");
    create_err("{\"provider\": \"stripe\", \"auth\": \"password\"}", 1,
               "auth", "enum");
    create_err("{\"provider\": \"stripe\", \"auth\": 1}", 1, "auth", "type");
    create_err("{\"provider\": \"ksef\"}", 1, "api_key", "required");
    create_err("{\"provider\": \"stripe\", \"auth\": \"api_key\"}", 1,
               "api_key", "required");
    create_err("{\"provider\": \"allegro\", \"api_key\": \"abcdefghijk\"}",
               1, "api_key", "not_allowed");
    create_err("{\"provider\": \"stripe\", \"auth\": \"oauth\","
               " \"api_key\": \"" STRIPE "\"}", 1, "api_key", "not_allowed");
    create_err("{\"provider\": \"ksef\", \"api_key\": 12345678901234567}", 1,
               "api_key", "type");
    create_err("{\"provider\": \"allegro\", \"display_name\": \"a\\u0007b\"}",
               1, "display_name", "pattern");
    create_err("{\"provider\": \"allegro\", \"display_name\": \"a\\u0085b\"}",
               1, "display_name", "pattern");
    create_err("{\"provider\": \"allegro\", \"display_name\": \"a\\u007fb\"}",
               1, "display_name", "pattern");
    create_err("{\"provider\": \"allegro\", \"display_name\": \"a\\u0000\"}",
               1, "display_name", "pattern");
    create_err("{\"provider\": \"allegro\", \"display_name\": \"\"}", 1,
               "display_name", "too_short");
    create_err("{\"provider\": \"allegro\", \"display_name\": 7}", 1,
               "display_name", "type");
    create_err("{\"provider\": \"allegro\", \"foo\": 1}", 1, "foo",
               "unknown_field");
    create_err("{\"provider\": \"allegro\", \"settings\": []}", 1,
               "settings", "type");
    create_err("{\"provider\": \"allegro\", \"settings\": null}", 1,
               "settings", "type");
    create_err("{\"provider\": \"allegro\","
               " \"settings\": {\"syncFrequencyMinutes\": 1441}}", 1,
               "settings.syncFrequencyMinutes", "range");

    sprintf(text, "{\"provider\": \"allegro\", \"display_name\": \"%s\"}",
            rep('d', 129));
    create_err(text, 1, "display_name", "too_long");

    /* invalid UTF-8 can only come from a tree built without checks */
    body = json_pack("{s:s}", "provider", "allegro");
    json_object_set_new(body, "display_name",
                        json_stringn_nocheck("ab\xc3(", 4));
    assert_int_equal(validate_create(body, &out, &errs), -1);
    assert_string_equal(errs.errs[0].code, "pattern");
    assert_string_equal(errs.errs[0].message, "display_name must be valid "
                        "UTF-8 (byte 3 is not)");
    json_decref(body);

    /* a bad key: its text is in no message */
    body = load("{\"provider\": \"stripe\", \"auth\": \"api_key\","
                " \"api_key\": \"sk_live_short\"}");
    assert_int_equal(validate_create(body, &out, &errs), -1);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.errs[0].field, "api_key");
    assert_string_equal(errs.errs[0].code, "pattern");
    j = validate_errors_json(&errs);
    dump = json_dumps(j, 0);
    assert_null(strstr(dump, "sk_live_short"));
    assert_null(strstr(dump, "short"));
    free(dump);
    json_decref(j);
    json_decref(body);

    body = load("{\"provider\": \"mailchimp\", \"auth\": \"api_key\","
                " \"api_key\": \"" HEX32 "-us21-\"}");
    assert_int_equal(validate_create(body, &out, &errs), -1);
    j = validate_errors_json(&errs);
    dump = json_dumps(j, 0);
    assert_null(strstr(dump, HEX32));
    free(dump);
    json_decref(j);
    json_decref(body);

    /* everything wrong at once, reported together, in a stable order */
    body = load("{\"provider\": \"ksef\", \"auth\": \"oauth\","
                " \"display_name\": \"\", \"api_key\": 5,"
                " \"settings\": {\"invoiceSeries\": \"-\", \"x\": 1},"
                " \"extra\": true}");
    assert_int_equal(validate_create(body, &out, &errs), -1);
    assert_int_equal(errs.n, 6);
    assert_string_equal(errs.errs[0].field, "display_name");
    assert_string_equal(errs.errs[1].code, "unsupported_auth");
    assert_string_equal(errs.errs[1].message,
                        "ksef does not support oauth; it supports api_key "
                        "only");
    assert_string_equal(errs.errs[2].field, "api_key");
    assert_string_equal(errs.errs[3].field, "settings.invoiceSeries");
    assert_string_equal(errs.errs[4].field, "settings.x");
    assert_string_equal(errs.errs[5].field, "extra");
    json_decref(body);

    /* an unknown provider still has its other members checked */
    create_err("{\"provider\": \"nope\", \"auth\": \"api_key\"}", 2,
               "provider", "unknown_provider");
}


static void
test_errors_json(void **state)
{
    json_t           *j, *w;
    validate_errs_t   errs;

    errs.n = 0;
    j = validate_errors_json(&errs);
    w = load("{\"error\": {\"code\": \"validation_failed\","
             " \"message\": \"the request is not valid\", \"details\": []}}");
    assert_true(json_equal(j, w));
    json_decref(j);
    json_decref(w);

    j = load("{\"invoiceSeries\": 5}");
    assert_null(validate_settings(j, "settings.", &errs));
    json_decref(j);
    j = validate_errors_json(&errs);
    w = load("{\"error\": {\"code\": \"validation_failed\","
             " \"message\": \"invoiceSeries must be a string (got an"
             " integer)\", \"details\": [{\"field\":"
             " \"settings.invoiceSeries\", \"code\": \"type\","
             " \"message\": \"invoiceSeries must be a string (got an"
             " integer)\"}]}}");
    assert_true(json_equal(j, w));
    json_decref(j);
    json_decref(w);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_booleans),
        cmocka_unit_test(test_frequency),
        cmocka_unit_test(test_series),
        cmocka_unit_test(test_vat),
        cmocka_unit_test(test_mappings),
        cmocka_unit_test(test_unknown_and_shape),
        cmocka_unit_test(test_many_errors),
        cmocka_unit_test(test_effective),
        cmocka_unit_test(test_providers),
        cmocka_unit_test(test_api_keys),
        cmocka_unit_test(test_create_ok),
        cmocka_unit_test(test_create_errors),
        cmocka_unit_test(test_errors_json),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
