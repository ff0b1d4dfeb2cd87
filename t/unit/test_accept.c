/*
 * api_accept_pick: the first listed acceptable range that we make, q=0
 * ranges skipped, case, blanks and parameters, wildcards as written;
 * api_pct_decode: %XX, bad escapes, NUL, the output's size.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "api/accept.h"


static const char *const  types[] = {
    "application/json", "*/*", "application/xml", "application/pdf"
};
#define N  (sizeof(types) / sizeof(types[0]))


static void
test_order(void **state)
{
    (void) state;
    assert_int_equal(api_accept_pick(NULL, types, N), 0);
    assert_int_equal(api_accept_pick("", types, N), 0);
    assert_int_equal(api_accept_pick("application/pdf", types, N), 3);
    assert_int_equal(api_accept_pick("text/html, application/xml,"
                                     " application/json", types, N), 2);
    assert_int_equal(api_accept_pick("text/html", types, N), -1);
    assert_int_equal(api_accept_pick("text/html,*/*;q=0.8", types, N), 1);
    assert_int_equal(api_accept_pick("application/jsonx", types, N), -1);
    assert_int_equal(api_accept_pick("application/jso", types, N), -1);
    assert_int_equal(api_accept_pick(",,,", types, N), -1);
}


static void
test_params(void **state)
{
    (void) state;
    assert_int_equal(api_accept_pick("Application/PDF", types, N), 3);
    assert_int_equal(api_accept_pick("  application/pdf ; q=1  ", types, N),
                     3);
    assert_int_equal(api_accept_pick("application/pdf;q=0, application/xml",
                                     types, N), 2);
    assert_int_equal(api_accept_pick("application/pdf;q=0.000,"
                                     "application/json", types, N), 0);
    assert_int_equal(api_accept_pick("application/pdf;q=0.001", types, N), 3);
    assert_int_equal(api_accept_pick("application/pdf; charset=x; Q=0",
                                     types, N), -1);
    assert_int_equal(api_accept_pick("application/pdf;level=q=0", types, N),
                     3);
    assert_int_equal(api_accept_pick("application/pdf;q=", types, N), 3);
}


static void
test_pct(void **state)
{
    char  out[16];

    (void) state;
    assert_int_equal(api_pct_decode("KOR%2F2026", out, sizeof(out)), 0);
    assert_string_equal(out, "KOR/2026");
    assert_int_equal(api_pct_decode("a%2fb%41", out, sizeof(out)), 0);
    assert_string_equal(out, "a/bA");
    assert_int_equal(api_pct_decode("plain", out, sizeof(out)), 0);
    assert_string_equal(out, "plain");
    assert_int_equal(api_pct_decode("", out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(api_pct_decode("a%2", out, sizeof(out)), -1);
    assert_int_equal(api_pct_decode("a%", out, sizeof(out)), -1);
    assert_int_equal(api_pct_decode("a%zz", out, sizeof(out)), -1);
    assert_int_equal(api_pct_decode("a%00b", out, sizeof(out)), -1);
    assert_int_equal(api_pct_decode("0123456789abcdef", out, sizeof(out)),
                     -1);
    assert_int_equal(api_pct_decode("0123456789abcde", out, sizeof(out)), 0);
    assert_int_equal(api_pct_decode("x", out, 0), -1);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_pct),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
