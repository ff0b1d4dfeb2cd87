
/*
 * provider_ops: the registry, PKCE (RFC 7636 appendix B), ISO 4217
 * exponents, decimal text to minor units (rounding, exponents 0 and 3,
 * malformed text), and the free functions.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "providers/provider_ops.h"


typedef struct {
    const char  *text;
    const char  *currency;
    int          rc;
    int64_t      minor;
} dec_case_t;


static void
test_registry(void **state)
{
    const provider_ops_t  *a, *s;

    (void) state;

    a = provider_ops("allegro");
    s = provider_ops("stripe");
    assert_ptr_equal(a, &provider_allegro);
    assert_ptr_equal(s, &provider_stripe);
    assert_string_equal(a->name, "allegro");
    assert_string_equal(s->name, "stripe");
    assert_int_equal(a->pkce, 1);
    assert_int_equal(s->pkce, 0);
    assert_null(provider_ops("amazon"));
    assert_null(provider_ops("Allegro"));
    assert_null(provider_ops(""));
    assert_null(provider_ops(NULL));

    assert_string_equal(a->streams[0], "checkout-forms");
    assert_string_equal(a->streams[1], "order-events");
    assert_null(a->streams[2]);
    assert_string_equal(s->streams[0], "customers");
    assert_string_equal(s->streams[1], "invoices");
    assert_string_equal(s->streams[2], "charges");
    assert_null(s->streams[3]);

    assert_null(a->revoke_request);
    assert_null(a->webhook_targets);
    assert_non_null(s->revoke_request);
    assert_non_null(s->webhook_targets);
}


static void
test_pkce_vector(void **state)
{
    char  ch[48];

    (void) state;

    /* RFC 7636 appendix B */
    prov_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", ch);
    assert_string_equal(ch, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}


static void
test_pkce_verifier(void **state)
{
    char    v1[64], v2[64], ch[48], err[128];
    size_t  n;

    (void) state;

    memset(v1, 'x', sizeof(v1));
    assert_int_equal(prov_pkce_verifier(v1, err, sizeof(err)), 0);
    assert_int_equal(prov_pkce_verifier(v2, err, sizeof(err)), 0);

    n = strlen(v1);
    assert_true(n >= 43 && n <= 128);
    assert_int_equal(strspn(v1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                                "qrstuvwxyz0123456789-._~"), n);
    assert_string_not_equal(v1, v2);

    prov_pkce_challenge(v1, ch);
    assert_int_equal(strlen(ch), 43);
    assert_null(strchr(ch, '='));
}


static void
test_exponents(void **state)
{
    (void) state;

    assert_int_equal(prov_currency_exponent("PLN"), 2);
    assert_int_equal(prov_currency_exponent("EUR"), 2);
    assert_int_equal(prov_currency_exponent("USD"), 2);
    assert_int_equal(prov_currency_exponent("GBP"), 2);
    assert_int_equal(prov_currency_exponent("RON"), 2);
    assert_int_equal(prov_currency_exponent("CZK"), 2);
    assert_int_equal(prov_currency_exponent("HUF"), 2);
    assert_int_equal(prov_currency_exponent("SEK"), 2);
    assert_int_equal(prov_currency_exponent("CHF"), 2);
    assert_int_equal(prov_currency_exponent("JPY"), 0);
    assert_int_equal(prov_currency_exponent("KRW"), 0);
    assert_int_equal(prov_currency_exponent("ISK"), 0);
    assert_int_equal(prov_currency_exponent("BHD"), 3);
    assert_int_equal(prov_currency_exponent("KWD"), 3);
    assert_int_equal(prov_currency_exponent("TND"), 3);
    assert_int_equal(prov_currency_exponent("CLF"), 4);
    assert_int_equal(prov_currency_exponent("XXX"), 2);
    assert_int_equal(prov_currency_exponent("jpy"), 2);
    assert_int_equal(prov_currency_exponent(""), 2);
    assert_int_equal(prov_currency_exponent(NULL), 2);
}


static void
test_decimal(void **state)
{
    size_t      i;
    int64_t     m;
    dec_case_t  cases[] = {
        { "12.3", "PLN", 0, 1230 },
        { "12.34", "PLN", 0, 1234 },
        { "12", "PLN", 0, 1200 },
        { "0", "PLN", 0, 0 },
        { "0.00", "EUR", 0, 0 },
        { "+1.5", "EUR", 0, 150 },
        { "007.10", "EUR", 0, 710 },
        { "123.45", "PLN", 0, 12345 },
        /* half away from zero */
        { "0.005", "EUR", 0, 1 },
        { "-0.005", "EUR", 0, -1 },
        { "0.0049999", "EUR", 0, 0 },
        { "-0.0049", "EUR", 0, 0 },
        { "1.995", "EUR", 0, 200 },
        { "-1.995", "EUR", 0, -200 },
        { "2.675", "USD", 0, 268 },
        /* exponent 0 */
        { "1234", "JPY", 0, 1234 },
        { "1234.5", "JPY", 0, 1235 },
        { "1234.49", "JPY", 0, 1234 },
        { "-1234.5", "JPY", 0, -1235 },
        /* exponent 3 */
        { "1.234", "KWD", 0, 1234 },
        { "1.2345", "KWD", 0, 1235 },
        { "1.2", "BHD", 0, 1200 },
        { "-0.0005", "TND", 0, -1 },
        /* unknown currency: 2 */
        { "9.99", "ZZZ", 0, 999 },
        { "9.99", NULL, 0, 999 },
        /* the edges of int64 */
        { "92233720368547758.07", "EUR", 0, INT64_MAX },
        { "92233720368547758.08", "EUR", -1, 0 },
        { "92233720368547758.075", "EUR", -1, 0 },
        { "-92233720368547758.07", "EUR", 0, -INT64_MAX },
        { "99999999999999999999", "EUR", -1, 0 },
        /* malformed */
        { "", "EUR", -1, 0 },
        { "-", "EUR", -1, 0 },
        { ".5", "EUR", -1, 0 },
        { "12.", "EUR", -1, 0 },
        { "1,50", "EUR", -1, 0 },
        { "1.2.3", "EUR", -1, 0 },
        { " 1.00", "EUR", -1, 0 },
        { "1.00 ", "EUR", -1, 0 },
        { "1e3", "EUR", -1, 0 },
        { "--1", "EUR", -1, 0 },
        { "0x10", "EUR", -1, 0 },
        { "1.5a", "JPY", -1, 0 },
        { "NaN", "EUR", -1, 0 },
    };

    (void) state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        m = 424242;
        if (prov_decimal_to_minor(cases[i].text, cases[i].currency, &m)
            != cases[i].rc)
        {
            fail_msg("case %zu \"%s\": rc != %d", i, cases[i].text,
                     cases[i].rc);
        }

        if (cases[i].rc == 0 && m != cases[i].minor) {
            fail_msg("case %zu \"%s\": %lld != %lld", i, cases[i].text,
                     (long long) m, (long long) cases[i].minor);
        }

        if (cases[i].rc != 0 && m != 424242) {
            fail_msg("case %zu \"%s\": output touched on failure", i,
                     cases[i].text);
        }
    }

    assert_int_equal(prov_decimal_to_minor(NULL, "EUR", &m), -1);
}


static void
test_frees(void **state)
{
    prov_page_t    page;
    prov_tokens_t  t;

    (void) state;

    memset(&page, 0, sizeof(page));
    page.records = json_array();
    page.refetch = json_array();
    page.next_cursor = strdup("a");
    page.final_cursor = strdup("b");
    prov_page_free(&page);
    assert_null(page.records);
    assert_null(page.next_cursor);
    prov_page_free(&page);
    prov_page_free(NULL);

    memset(&t, 0, sizeof(t));
    t.access_token = strdup("at");
    t.refresh_token = strdup("rt");
    t.scope = strdup("s");
    t.account_id = NULL;
    prov_tokens_free(&t);
    assert_null(t.access_token);
    assert_null(t.refresh_token);
    assert_null(t.scope);
    prov_tokens_free(&t);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_pkce_vector),
        cmocka_unit_test(test_pkce_verifier),
        cmocka_unit_test(test_exponents),
        cmocka_unit_test(test_decimal),
        cmocka_unit_test(test_frees),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
