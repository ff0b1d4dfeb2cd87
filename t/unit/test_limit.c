
/*
 * hg_limit: rate parsing and the leaky bucket.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hg_limit.h"


#define T0   1700000000000ULL


static int
rate(const char *s, uint64_t *r)
{
    return hg_limit_parse_rate(s, strlen(s), r);
}


static void
test_parse_good(void **state)
{
    uint64_t  r;

    assert_int_equal(rate("1r/s", &r), 0);
    assert_int_equal(r, 1000);
    assert_int_equal(rate("10r/s", &r), 0);
    assert_int_equal(r, 10000);
    assert_int_equal(rate("1000000000r/s", &r), 0);
    assert_int_equal(r, 1000000000000ULL);
    assert_int_equal(rate("60r/m", &r), 0);
    assert_int_equal(r, 1000);
    assert_int_equal(rate("10r/m", &r), 0);
    assert_int_equal(r, 166);
    assert_int_equal(rate("1r/m", &r), 0);
    assert_int_equal(r, 16);
    assert_int_equal(rate("3600r/h", &r), 0);
    assert_int_equal(r, 1000);
    assert_int_equal(rate("100r/h", &r), 0);
    assert_int_equal(r, 27);
    assert_int_equal(rate("1r/h", &r), 0);
    assert_int_equal(r, 1);
    assert_int_equal(rate("1000000000r/h", &r), 0);
    assert_int_equal(r, 277777777);
    assert_int_equal(rate("0000000001r/s", &r), 0);
    assert_int_equal(r, 1000);

    /* counted, not NUL-terminated */
    assert_int_equal(hg_limit_parse_rate("5r/sXYZ", 4, &r), 0);
    assert_int_equal(r, 5000);
}


static void
test_parse_bad(void **state)
{
    size_t     i;
    uint64_t   r;

    static const char  *bad[] = {
        "", "r/s", "0r/s", "00r/s", "1000000001r/s", "9999999999r/s",
        "12345678901r/s", "00000000001r/s", "1 r/s", " 1r/s", "1r/s ",
        "1R/S", "1r/S", "1r/d", "1r/ms", "-1r/s", "+1r/s", "1.5r/s", "1r/",
        "1r", "1", "1/s", "1rs", "1r//s", "1r/s/s", "0x10r/s", "1e3r/s",
        "10rps", "1r\\s"
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = 77;
        assert_int_equal(rate(bad[i], &r), -1);
        assert_int_equal(r, 77);
    }

    assert_int_equal(hg_limit_parse_rate("10r/s", 4, &r), -1);
    assert_int_equal(hg_limit_parse_rate("1r/s\0", 5, &r), -1);
    assert_int_equal(hg_limit_parse_rate(NULL, 0, &r), -1);
}


/* burst 0: one request per 1/rate */
static void
test_no_burst(void **state)
{
    hg_limit_info_t   info;
    hg_limit_state_t  st = { 0, T0 }, saved;

    assert_int_equal(hg_limit_account(&st, T0, 1000, 0, 0, &info),
                     HG_LIMIT_PASSED);
    assert_int_equal(info.limit, 1);
    assert_int_equal(info.remaining, 0);
    assert_int_equal(info.delay, 0);
    assert_int_equal(info.reset, 1000);
    assert_int_equal(st.excess, 1000);
    assert_int_equal(st.last, T0);

    saved = st;
    assert_int_equal(hg_limit_account(&st, T0, 1000, 0, 0, &info),
                     HG_LIMIT_REJECTED);
    assert_int_equal(info.retry_after, 1000);
    assert_int_equal(info.remaining, 0);
    assert_int_equal(info.reset, 1000);
    assert_memory_equal(&st, &saved, sizeof(st));

    assert_int_equal(hg_limit_account(&st, T0 + 999, 1000, 0, 0, &info),
                     HG_LIMIT_REJECTED);
    assert_int_equal(info.retry_after, 1);
    assert_int_equal(info.reset, 1);
    assert_memory_equal(&st, &saved, sizeof(st));

    assert_int_equal(hg_limit_account(&st, T0 + 1000, 1000, 0, 0, &info),
                     HG_LIMIT_PASSED);
    assert_int_equal(st.excess, 1000);
    assert_int_equal(st.last, T0 + 1000);
}


/* nodelay: burst + 1 requests pass at once, then one per 1/rate */
static void
test_burst_nodelay(void **state)
{
    int               i;
    hg_limit_info_t   info;
    hg_limit_state_t  st = { 0, T0 }, saved;

    for (i = 0; i <= 5; i++) {
        assert_int_equal(hg_limit_account(&st, T0, 10000, 5, 1, &info),
                         HG_LIMIT_PASSED);
        assert_int_equal(info.limit, 6);
        assert_int_equal(info.remaining, 5 - i);
        assert_int_equal(info.delay, 0);
        assert_int_equal(info.reset, (uint64_t) (i + 1) * 100);
    }

    saved = st;
    assert_int_equal(hg_limit_account(&st, T0, 10000, 5, 1, &info),
                     HG_LIMIT_REJECTED);
    assert_int_equal(info.retry_after, 100);
    assert_int_equal(info.remaining, 0);
    assert_int_equal(info.limit, 6);
    assert_int_equal(info.reset, 600);
    assert_memory_equal(&st, &saved, sizeof(st));

    assert_int_equal(hg_limit_account(&st, T0 + 99, 10000, 5, 1, &info),
                     HG_LIMIT_REJECTED);
    assert_int_equal(info.retry_after, 1);

    assert_int_equal(hg_limit_account(&st, T0 + 100, 10000, 5, 1, &info),
                     HG_LIMIT_PASSED);
    assert_int_equal(info.remaining, 0);

    /* half a second later five requests have drained */
    assert_int_equal(hg_limit_account(&st, T0 + 600, 10000, 5, 1, &info),
                     HG_LIMIT_PASSED);
    assert_int_equal(info.remaining, 4);
    assert_int_equal(st.excess, 2000);
}


/* without nodelay the k-th request of a burst waits k / rate */
static void
test_burst_delay(void **state)
{
    int               i;
    hg_limit_info_t   info;
    hg_limit_state_t  st = { 0, T0 };

    assert_int_equal(hg_limit_account(&st, T0, 10000, 5, 0, &info),
                     HG_LIMIT_PASSED);
    assert_int_equal(info.delay, 0);

    for (i = 1; i <= 5; i++) {
        assert_int_equal(hg_limit_account(&st, T0, 10000, 5, 0, &info),
                         HG_LIMIT_DELAYED);
        assert_int_equal(info.delay, (uint64_t) i * 100);
        assert_int_equal(info.remaining, 5 - i);
    }

    assert_int_equal(hg_limit_account(&st, T0, 10000, 5, 0, &info),
                     HG_LIMIT_REJECTED);
    assert_int_equal(info.delay, 0);
    assert_int_equal(info.retry_after, 100);

    /* 250 ms on, 2.5 requests have left: the next waits 350 ms */
    assert_int_equal(hg_limit_account(&st, T0 + 250, 10000, 5, 0, &info),
                     HG_LIMIT_DELAYED);
    assert_int_equal(st.excess, 4500);
    assert_int_equal(info.delay, 350);
    assert_int_equal(info.reset, 450);

    /* an idle bucket empties: no delay again */
    assert_int_equal(hg_limit_account(&st, T0 + 10000, 10000, 5, 0, &info),
                     HG_LIMIT_PASSED);
    assert_int_equal(info.delay, 0);
    assert_int_equal(st.excess, 1000);
}


/* 1r/m is 16 milli-requests/s: a request every 62.5 s */
static void
test_slow_rate(void **state)
{
    uint64_t          r;
    hg_limit_info_t   info;
    hg_limit_state_t  st = { 0, T0 };

    assert_int_equal(rate("1r/m", &r), 0);
    assert_int_equal(hg_limit_account(&st, T0, r, 0, 0, &info),
                     HG_LIMIT_PASSED);
    assert_int_equal(info.reset, 62500);
    assert_int_equal(hg_limit_account(&st, T0 + 1, r, 0, 0, &info),
                     HG_LIMIT_REJECTED);
    assert_int_equal(info.retry_after, 62500);
    assert_int_equal(hg_limit_account(&st, T0 + 62499, r, 0, 0, &info),
                     HG_LIMIT_REJECTED);
    assert_int_equal(hg_limit_account(&st, T0 + 62500, r, 0, 0, &info),
                     HG_LIMIT_PASSED);
}


/* waiting retry_after always suffices, and one ms less does not */
static void
test_retry_after_exact(void **state)
{
    int               k;
    size_t            i;
    uint64_t          now, burst;
    hg_limit_info_t   info, again;
    hg_limit_state_t  st, copy;

    static const uint64_t  rates[] = {
        1, 7, 16, 27, 333, 1000, 1500, 3333, 10000, 123457, 1000000000000ULL
    };

    for (i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        for (burst = 0; burst < 4; burst++) {
            st.excess = 0;
            st.last = T0;
            now = T0;

            for (k = 0; k < 20; k++) {
                while (hg_limit_account(&st, now, rates[i], burst, 1, &info)
                       != HG_LIMIT_REJECTED)
                {
                    /* fill */
                }

                /* exact when the bucket was last counted right now */
                if (info.retry_after > 1 && st.last == now) {
                    copy = st;
                    assert_int_equal(hg_limit_account(&copy,
                                         now + info.retry_after - 1,
                                         rates[i], burst, 1, &again),
                                     HG_LIMIT_REJECTED);
                }

                now += info.retry_after;
                assert_int_equal(hg_limit_account(&st, now, rates[i], burst,
                                                  1, &info),
                                 HG_LIMIT_PASSED);
                now += (uint64_t) k * 7;
            }
        }
    }
}


static void
test_clock_back(void **state)
{
    hg_limit_info_t   info;
    hg_limit_state_t  st = { 0, T0 };

    assert_int_equal(hg_limit_account(&st, T0, 1000, 1, 1, &info),
                     HG_LIMIT_PASSED);

    /* time going back drains nothing and does not move last back */
    assert_int_equal(hg_limit_account(&st, T0 - 5000, 1000, 1, 1, &info),
                     HG_LIMIT_PASSED);
    assert_int_equal(st.excess, 2000);
    assert_int_equal(st.last, T0);
    assert_int_equal(hg_limit_account(&st, T0 - 1, 1000, 1, 1, &info),
                     HG_LIMIT_REJECTED);
    assert_int_equal(hg_limit_account(&st, T0 + 1000, 1000, 1, 1, &info),
                     HG_LIMIT_PASSED);
}


static void
test_extremes(void **state)
{
    hg_limit_info_t   info;
    hg_limit_state_t  st = { 0, 0 };

    /* huge burst, huge time, huge rate: no overflow */
    assert_int_equal(hg_limit_account(&st, UINT64_MAX, UINT64_MAX,
                                      UINT64_MAX, 0, &info),
                     HG_LIMIT_PASSED);
    assert_int_equal(info.limit, UINT64_MAX);
    assert_int_equal(st.last, UINT64_MAX);

    st.excess = UINT64_MAX;
    st.last = 0;
    assert_int_equal(hg_limit_account(&st, 1, 1, 0, 0, &info),
                     HG_LIMIT_REJECTED);
    assert_true(info.retry_after > 0);
    assert_int_equal(hg_limit_account(&st, UINT64_MAX, 1000000000000ULL, 0,
                                      0, &info), HG_LIMIT_PASSED);
    assert_int_equal(st.excess, 1000);

    /* rate 0 counts as the slowest rate; info may be NULL */
    st.excess = 0;
    st.last = 0;
    assert_int_equal(hg_limit_account(&st, 0, 0, 0, 0, &info),
                     HG_LIMIT_PASSED);
    assert_int_equal(info.reset, 1000000);
    assert_int_equal(hg_limit_account(&st, 0, 0, 0, 0, NULL),
                     HG_LIMIT_REJECTED);
    assert_int_equal(hg_limit_account(&st, 1000000, 0, 0, 0, NULL),
                     HG_LIMIT_PASSED);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_no_burst),
        cmocka_unit_test(test_burst_nodelay),
        cmocka_unit_test(test_burst_delay),
        cmocka_unit_test(test_slow_rate),
        cmocka_unit_test(test_retry_after_exact),
        cmocka_unit_test(test_clock_back),
        cmocka_unit_test(test_extremes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
