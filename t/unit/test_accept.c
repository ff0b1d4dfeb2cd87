/*
 * api_accept_pick: the first listed acceptable range that we make, q=0
 * ranges skipped, case, blanks and parameters, wildcards as written.
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


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_params),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
