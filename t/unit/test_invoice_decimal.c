/*
 * invoice decimal: parsing and formatting, rounding of halves toward
 * +infinity at both signs, exact products, overflow, checked money sums.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "invoice/decimal.h"


static int
parse(const char *s, dec_t *d)
{
    return dec_parse(s, strlen(s), d);
}


/* parse then format gives the text back */
static void
roundtrip(const char *s)
{
    dec_t  d;
    char   buf[DEC_STR_MAX];

    assert_int_equal(parse(s, &d), DEC_OK);
    assert_true(dec_format(d, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, s);
}


static void
test_parse_format(void **state)
{
    dec_t  d;
    char   buf[DEC_STR_MAX];

    roundtrip("0");
    roundtrip("1.50");
    roundtrip("-0.005");
    roundtrip("123456789.12345678");
    roundtrip("-9223372036854775807");
    roundtrip("0.00000001");

    assert_int_equal(parse("12.340", &d), DEC_OK);
    assert_int_equal(d.m, 12340);
    assert_int_equal(d.scale, 3);

    /* extra zero decimals beyond 8 are dropped, others refused */
    assert_int_equal(parse("1.0000000000", &d), DEC_OK);
    assert_int_equal(d.scale, 8);
    assert_int_equal(parse("1.000000001", &d), DEC_ERANGE);

    assert_int_equal(parse("", &d), DEC_ESYNTAX);
    assert_int_equal(parse("-", &d), DEC_ESYNTAX);
    assert_int_equal(parse(".5", &d), DEC_ESYNTAX);
    assert_int_equal(parse("5.", &d), DEC_ESYNTAX);
    assert_int_equal(parse("+5", &d), DEC_ESYNTAX);
    assert_int_equal(parse("1e3", &d), DEC_ESYNTAX);
    assert_int_equal(parse(" 1", &d), DEC_ESYNTAX);
    assert_int_equal(parse("1,5", &d), DEC_ESYNTAX);
    assert_int_equal(parse("--1", &d), DEC_ESYNTAX);
    assert_int_equal(parse("9223372036854775808", &d), DEC_ERANGE);
    assert_int_equal(parse("92233720368.54775808", &d), DEC_ERANGE);

    /* an embedded NUL is not the end */
    assert_int_equal(dec_parse("1\0" "2", 3, &d), DEC_ESYNTAX);

    /* too small a buffer */
    assert_int_equal(parse("123.45", &d), DEC_OK);
    assert_int_equal(dec_format(d, buf, 6), -1);
    assert_int_equal(dec_format(d, buf, 7), 6);
}


static void
test_money_parse_format(void **state)
{
    int64_t  m;
    char     buf[DEC_STR_MAX];

    assert_int_equal(money_parse("12", 2, 2, &m), DEC_OK);
    assert_int_equal(m, 1200);
    assert_int_equal(money_parse("12.3", 4, 2, &m), DEC_OK);
    assert_int_equal(m, 1230);
    assert_int_equal(money_parse("-0.05", 5, 2, &m), DEC_OK);
    assert_int_equal(m, -5);
    assert_int_equal(money_parse("1.005", 5, 2, &m), DEC_ERANGE);
    assert_int_equal(money_parse("1.000", 5, 2, &m), DEC_OK);
    assert_int_equal(m, 100);
    assert_int_equal(money_parse("100", 3, 0, &m), DEC_OK);
    assert_int_equal(m, 100);
    assert_int_equal(money_parse("1.5", 3, 0, &m), DEC_ERANGE);

    assert_int_equal(money_format(-50, 2, buf, sizeof(buf)), 5);
    assert_string_equal(buf, "-0.50");
    assert_true(money_format(5, 2, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "0.05");
    assert_true(money_format(300, 2, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "3.00");
    assert_true(money_format(12, 0, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "12");
    assert_true(money_format(INT64_MIN + 1, 2, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "-92233720368547758.07");
}


static int64_t
to_minor(const char *s, int exp)
{
    dec_t    d;
    int64_t  m;

    assert_int_equal(parse(s, &d), DEC_OK);
    assert_int_equal(dec_to_minor(d, exp, &m), DEC_OK);

    return m;
}


static void
test_round_half_up(void **state)
{
    /* halves toward +infinity, both signs */
    assert_int_equal(to_minor("0.005", 2), 1);
    assert_int_equal(to_minor("-0.005", 2), 0);
    assert_int_equal(to_minor("0.015", 2), 2);
    assert_int_equal(to_minor("-0.015", 2), -1);
    assert_int_equal(to_minor("2.5", 0), 3);
    assert_int_equal(to_minor("-2.5", 0), -2);
    assert_int_equal(to_minor("-2.50000001", 0), -3);
    assert_int_equal(to_minor("0.00499999", 2), 0);
    assert_int_equal(to_minor("-0.00500001", 2), -1);
    assert_int_equal(to_minor("1.004", 2), 100);
    assert_int_equal(to_minor("-1.006", 2), -101);
    assert_int_equal(to_minor("7", 2), 700);
}


static void
test_muldiv(void **state)
{
    dec_t    q, p, b;
    int64_t  m;

    /* 3 x 33.333 = 99.999 -> 100.00 */
    assert_int_equal(parse("3", &q), DEC_OK);
    assert_int_equal(parse("33.333", &p), DEC_OK);
    assert_int_equal(dec_muldiv_minor(q, p, DEC_ONE, 2, &m), DEC_OK);
    assert_int_equal(m, 10000);

    /* price per base quantity: 7 x 1.99 / 12 = 1.160833 -> 1.16 */
    assert_int_equal(parse("7", &q), DEC_OK);
    assert_int_equal(parse("1.99", &p), DEC_OK);
    assert_int_equal(parse("12", &b), DEC_OK);
    assert_int_equal(dec_muldiv_minor(q, p, b, 2, &m), DEC_OK);
    assert_int_equal(m, 116);

    /* VAT: 0.50 x 1% / 100 = 0.005 -> 0.01; negative base -> -0.00 */
    assert_int_equal(dec_muldiv_minor(DEC(50, 2), DEC(1, 0), DEC(100, 0),
                                      2, &m), DEC_OK);
    assert_int_equal(m, 1);
    assert_int_equal(dec_muldiv_minor(DEC(-50, 2), DEC(1, 0), DEC(100, 0),
                                      2, &m), DEC_OK);
    assert_int_equal(m, 0);
    assert_int_equal(dec_muldiv_minor(DEC(-150, 2), DEC(1, 0), DEC(100, 0),
                                      2, &m), DEC_OK);
    assert_int_equal(m, -1);

    /* negative divisor, scales above the result */
    assert_int_equal(dec_muldiv_minor(DEC(1, 0), DEC(1, 0), DEC(-3, 0),
                                      2, &m), DEC_OK);
    assert_int_equal(m, -33);
    assert_int_equal(dec_muldiv_minor(DEC(12345678, 8), DEC(87654321, 8),
                                      DEC(1, 8), 2, &m), DEC_OK);
    assert_int_equal(m, 1082152022);    /* 10821520.2237... */

    assert_int_equal(dec_muldiv_minor(DEC(1, 0), DEC(1, 0), DEC_ZERO, 2,
                                      &m), DEC_EDIV0);

    /* overflow is an error, never a wrap */
    assert_int_equal(dec_muldiv_minor(DEC(INT64_MAX, 0), DEC(INT64_MAX, 0),
                                      DEC_ONE, 2, &m), DEC_ERANGE);
    assert_int_equal(dec_muldiv_minor(DEC(INT64_MAX, 0), DEC(1, 0),
                                      DEC_ONE, 2, &m), DEC_ERANGE);
    assert_int_equal(dec_muldiv_minor(DEC(INT64_MAX, 8), DEC(INT64_MAX, 8),
                                      DEC(1, 8), 0, &m), DEC_ERANGE);
}


static void
test_cmp_rescale(void **state)
{
    dec_t  d;

    assert_int_equal(dec_cmp(DEC(150, 2), DEC(15, 1)), 0);
    assert_int_equal(dec_cmp(DEC(-1, 8), DEC(0, 0)), -1);
    assert_int_equal(dec_cmp(DEC(INT64_MAX, 0), DEC(INT64_MAX, 8)), 1);
    assert_int_equal(dec_sign(DEC(-3, 2)), -1);

    assert_int_equal(dec_rescale(DEC(15, 1), 3, &d), DEC_OK);
    assert_int_equal(d.m, 1500);
    assert_int_equal(dec_rescale(DEC(1500, 3), 1, &d), DEC_OK);
    assert_int_equal(d.m, 15);
    assert_int_equal(dec_rescale(DEC(1501, 3), 1, &d), DEC_ERANGE);
    assert_int_equal(dec_rescale(DEC(INT64_MAX, 0), 1, &d), DEC_ERANGE);
    assert_int_equal(dec_rescale(DEC(1, 0), 9, &d), DEC_ERANGE);

    d = dec_normalize(DEC(2300, 2));
    assert_int_equal(d.m, 23);
    assert_int_equal(d.scale, 0);
    d = dec_normalize(DEC(550, 2));
    assert_int_equal(d.m, 55);
    assert_int_equal(d.scale, 1);
}


static void
test_money_overflow(void **state)
{
    int64_t  r;

    assert_int_equal(money_add(INT64_MAX, 1, &r), DEC_ERANGE);
    assert_int_equal(money_sub(INT64_MIN, 1, &r), DEC_ERANGE);
    assert_int_equal(money_add(-5, 3, &r), DEC_OK);
    assert_int_equal(r, -2);
    assert_int_equal(dec_to_minor(DEC(INT64_MAX, 0), 2, &r), DEC_ERANGE);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_parse_format),
        cmocka_unit_test(test_money_parse_format),
        cmocka_unit_test(test_round_half_up),
        cmocka_unit_test(test_muldiv),
        cmocka_unit_test(test_cmp_rescale),
        cmocka_unit_test(test_money_overflow),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
