
/*
 * hg_whsecrets: hubgated's answer to the edge's secret_request.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hg_whsecrets.h"


typedef struct {
    size_t  n;
    size_t  fail_at;            /* 1-based call that fails; 0: none */
    char    got[20][1100];
    size_t  len[20];
} seen_t;


static int
add(void *ctx, const char *secret, size_t len)
{
    seen_t  *s = ctx;

    if (s->fail_at && s->n + 1 == s->fail_at) {
        return -1;
    }

    assert_true(s->n < 20);
    assert_true(len < sizeof(s->got[0]));
    memcpy(s->got[s->n], secret, len);
    s->len[s->n++] = len;

    return 0;
}


static const char *
parse(seen_t *s, const char *json)
{
    memset(s, 0, sizeof(*s));
    return hg_whsecrets_parse(json, strlen(json), add, s);
}


static void
test_two_in_order(void **state)
{
    seen_t  s;

    assert_null(parse(&s, "{\"secrets\":[\"whsec_new\",\"whsec_old\"],"
                          "\"ttl\":60}"));
    assert_int_equal(s.n, 2);
    assert_memory_equal(s.got[0], "whsec_new", 9);
    assert_memory_equal(s.got[1], "whsec_old", 9);
}


static void
test_empty_list(void **state)
{
    seen_t  s;

    assert_null(parse(&s, "{\"secrets\":[]}"));
    assert_int_equal(s.n, 0);
}


static void
test_refused_shapes(void **state)
{
    seen_t  s;

    assert_string_equal(parse(&s, "[]"), "not {\"secrets\": [...]}");
    assert_string_equal(parse(&s, "{\"secrets\":\"x\"}"),
                        "not {\"secrets\": [...]}");
    assert_string_equal(parse(&s, "{}"), "not {\"secrets\": [...]}");
    assert_string_equal(parse(&s, "{\"secrets\":[\"a\"]"),
                        "not {\"secrets\": [...]}");
    assert_string_equal(parse(&s, "{\"secrets\":[\"a\"],\"secrets\":[]}"),
                        "not {\"secrets\": [...]}");
    assert_string_equal(parse(&s, ""), "not {\"secrets\": [...]}");
    assert_string_equal(parse(&s, "{\"secrets\":[1]}"),
                        "a secret that is not a string of 1 to 1024 bytes");
    assert_string_equal(parse(&s, "{\"secrets\":[\"\"]}"),
                        "a secret that is not a string of 1 to 1024 bytes");
    assert_string_equal(parse(&s, "{\"secrets\":[\"a\\u0000b\"]}"),
                        "a secret that is not a string of 1 to 1024 bytes");
}


static void
test_bounds(void **state)
{
    int      i;
    char     json[4096], *p;
    seen_t   s;

    /* 16 secrets: taken; 17: refused */
    p = json + sprintf(json, "{\"secrets\":[");
    for (i = 0; i < 16; i++) {
        p += sprintf(p, "%s\"s%d\"", i ? "," : "", i);
    }
    strcpy(p, "]}");
    assert_null(parse(&s, json));
    assert_int_equal(s.n, 16);

    strcpy(p, ",\"s16\"]}");
    assert_string_equal(parse(&s, json), "more than 16 secrets");

    /* 1024 bytes: taken; 1025: refused */
    p = json + sprintf(json, "{\"secrets\":[\"");
    memset(p, 'k', 1024);
    strcpy(p + 1024, "\"]}");
    assert_null(parse(&s, json));
    assert_int_equal(s.len[0], 1024);

    memset(p, 'k', 1025);
    strcpy(p + 1025, "\"]}");
    assert_string_equal(parse(&s, json),
                        "a secret that is not a string of 1 to 1024 bytes");
}


static void
test_add_failure_stops(void **state)
{
    seen_t       s;
    const char  *json = "{\"secrets\":[\"a\",\"b\",\"c\"]}";

    memset(&s, 0, sizeof(s));
    s.fail_at = 2;
    assert_string_equal(hg_whsecrets_parse(json, strlen(json), add, &s),
                        "out of memory");
    assert_int_equal(s.n, 1);
}


static void
test_no_data(void **state)
{
    seen_t  s;

    memset(&s, 0, sizeof(s));
    assert_string_equal(hg_whsecrets_parse(NULL, 3, add, &s), "no answer");
    assert_non_null(hg_whsecrets_parse(NULL, 0, add, &s));
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_in_order),
        cmocka_unit_test(test_empty_list),
        cmocka_unit_test(test_refused_shapes),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_add_failure_stops),
        cmocka_unit_test(test_no_data),
    };

    return cmocka_run_group_tests_name("hg_whsecrets", tests, NULL, NULL);
}
