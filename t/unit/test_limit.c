
/*
 * hg_limit: rate parsing and the leaky bucket.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
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

    /* micro-requests per second; r/m and r/h rounded to nearest */
    assert_int_equal(rate("1r/s", &r), 0);
    assert_int_equal(r, 1000000);
    assert_int_equal(rate("10r/s", &r), 0);
    assert_int_equal(r, 10000000);
    assert_int_equal(rate("1000000000r/s", &r), 0);
    assert_int_equal(r, 1000000000000000ULL);
    assert_int_equal(rate("60r/m", &r), 0);
    assert_int_equal(r, 1000000);
    assert_int_equal(rate("10r/m", &r), 0);
    assert_int_equal(r, 166667);
    assert_int_equal(rate("1r/m", &r), 0);
    assert_int_equal(r, 16667);
    assert_int_equal(rate("3600r/h", &r), 0);
    assert_int_equal(r, 1000000);
    assert_int_equal(rate("100r/h", &r), 0);
    assert_int_equal(r, 27778);
    assert_int_equal(rate("1r/h", &r), 0);
    assert_int_equal(r, 278);
    assert_int_equal(rate("2r/h", &r), 0);
    assert_int_equal(r, 556);
    assert_int_equal(rate("3r/h", &r), 0);
    assert_int_equal(r, 833);
    assert_int_equal(rate("4r/h", &r), 0);
    assert_int_equal(r, 1111);
    assert_int_equal(rate("7r/h", &r), 0);
    assert_int_equal(r, 1944);
    assert_int_equal(rate("1000000000r/m", &r), 0);
    assert_int_equal(r, 16666666666667ULL);
    assert_int_equal(rate("1000000000r/h", &r), 0);
    assert_int_equal(r, 277777777778ULL);
    assert_int_equal(rate("0000000001r/s", &r), 0);
    assert_int_equal(r, 1000000);

    /* counted, not NUL-terminated */
    assert_int_equal(hg_limit_parse_rate("5r/sXYZ", 4, &r), 0);
    assert_int_equal(r, 5000000);
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

    assert_int_equal(hg_limit_account(&st, T0, 1000000, 0, 0, &info),
                     HG_LIMIT_PASSED);
    assert_int_equal(info.limit, 1);
    assert_int_equal(info.remaining, 0);
    assert_int_equal(info.delay, 0);
    assert_int_equal(info.reset, 1000);
    assert_int_equal(st.excess, 1000000);
    assert_int_equal(st.last, T0);

    saved = st;
    assert_int_equal(hg_limit_account(&st, T0, 1000000, 0, 0, &info),
                     HG_LIMIT_REJECTED);
    assert_int_equal(info.retry_after, 1000);
    assert_int_equal(info.remaining, 0);
    assert_int_equal(info.reset, 1000);
    assert_memory_equal(&st, &saved, sizeof(st));

    assert_int_equal(hg_limit_account(&st, T0 + 999, 1000000, 0, 0, &info),
                     HG_LIMIT_REJECTED);
    assert_int_equal(info.retry_after, 1);
    assert_int_equal(info.reset, 1);
    assert_memory_equal(&st, &saved, sizeof(st));

    assert_int_equal(hg_limit_account(&st, T0 + 1000, 1000000, 0, 0, &info),
                     HG_LIMIT_PASSED);
    assert_int_equal(st.excess, 1000000);
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
        assert_int_equal(hg_limit_account(&st, T0, 10000000, 5, 1, &info),
                         HG_LIMIT_PASSED);
        assert_int_equal(info.limit, 6);
        assert_int_equal(info.remaining, 5 - i);
        assert_int_equal(info.delay, 0);
        assert_int_equal(info.reset, (uint64_t) (i + 1) * 100);
    }

    saved = st;
    assert_int_equal(hg_limit_account(&st, T0, 10000000, 5, 1, &info),
                     HG_LIMIT_REJECTED);
    assert_int_equal(info.retry_after, 100);
    assert_int_equal(info.remaining, 0);
    assert_int_equal(info.limit, 6);
    assert_int_equal(info.reset, 600);
    assert_memory_equal(&st, &saved, sizeof(st));

    assert_int_equal(hg_limit_account(&st, T0 + 99, 10000000, 5, 1, &info),
                     HG_LIMIT_REJECTED);
    assert_int_equal(info.retry_after, 1);

    assert_int_equal(hg_limit_account(&st, T0 + 100, 10000000, 5, 1, &info),
                     HG_LIMIT_PASSED);
    assert_int_equal(info.remaining, 0);

    /* half a second later five requests have drained */
    assert_int_equal(hg_limit_account(&st, T0 + 600, 10000000, 5, 1, &info),
                     HG_LIMIT_PASSED);
    assert_int_equal(info.remaining, 4);
    assert_int_equal(st.excess, 2000000);
}


/* without nodelay the k-th request of a burst waits k / rate */
static void
test_burst_delay(void **state)
{
    int               i;
    hg_limit_info_t   info;
    hg_limit_state_t  st = { 0, T0 };

    assert_int_equal(hg_limit_account(&st, T0, 10000000, 5, 0, &info),
                     HG_LIMIT_PASSED);
    assert_int_equal(info.delay, 0);

    for (i = 1; i <= 5; i++) {
        assert_int_equal(hg_limit_account(&st, T0, 10000000, 5, 0, &info),
                         HG_LIMIT_DELAYED);
        assert_int_equal(info.delay, (uint64_t) i * 100);
        assert_int_equal(info.remaining, 5 - i);
    }

    assert_int_equal(hg_limit_account(&st, T0, 10000000, 5, 0, &info),
                     HG_LIMIT_REJECTED);
    assert_int_equal(info.delay, 0);
    assert_int_equal(info.retry_after, 100);

    /* 250 ms on, 2.5 requests have left: the next waits 350 ms */
    assert_int_equal(hg_limit_account(&st, T0 + 250, 10000000, 5, 0, &info),
                     HG_LIMIT_DELAYED);
    assert_int_equal(st.excess, 4500000);
    assert_int_equal(info.delay, 350);
    assert_int_equal(info.reset, 450);

    /* an idle bucket empties: no delay again */
    assert_int_equal(hg_limit_account(&st, T0 + 10000, 10000000, 5, 0, &info),
                     HG_LIMIT_PASSED);
    assert_int_equal(info.delay, 0);
    assert_int_equal(st.excess, 1000000);
}


/* 1r/m is 16667 micro-requests/s: a request every 59999 ms (60 s, less
 * 1.2 ms for the rounding of the rate) */
static void
test_per_minute(void **state)
{
    uint64_t          r;
    hg_limit_info_t   info;
    hg_limit_state_t  st = { 0, T0 };

    assert_int_equal(rate("1r/m", &r), 0);
    assert_int_equal(hg_limit_account(&st, T0, r, 0, 0, &info),
                     HG_LIMIT_PASSED);
    assert_int_equal(info.reset, 59999);

    assert_int_equal(hg_limit_account(&st, T0, r, 0, 0, &info),
                     HG_LIMIT_REJECTED);
    assert_int_equal(info.retry_after, 59999);
    assert_in_range(info.retry_after, 60000 - 1, 60000 + 1);

    assert_int_equal(hg_limit_account(&st, T0 + 1, r, 0, 0, &info),
                     HG_LIMIT_REJECTED);
    assert_int_equal(info.retry_after, 59998);
    assert_int_equal(hg_limit_account(&st, T0 + 59998, r, 0, 0, &info),
                     HG_LIMIT_REJECTED);
    assert_int_equal(info.retry_after, 1);
    assert_int_equal(hg_limit_account(&st, T0 + 59999, r, 0, 0, &info),
                     HG_LIMIT_PASSED);
    assert_int_equal(st.excess, 1000000);
}


/*
 * 1r/h is 278 micro-requests/s (277.78 rounded): the second request waits
 * 3597123 ms, the hour less 2.9 s, not the 1000 s milli-requests gave.
 * 3600000 +- 1 ms would need 1r/h itself as the rate; a whole number of
 * micro-requests per second is within 0.5 / 278 = 0.18% of it.
 */
static void
test_per_hour(void **state)
{
    uint64_t          r;
    hg_limit_info_t   info;
    hg_limit_state_t  st = { 0, T0 };

    assert_int_equal(rate("1r/h", &r), 0);
    assert_int_equal(hg_limit_account(&st, T0, r, 0, 1, &info),
                     HG_LIMIT_PASSED);
    assert_int_equal(info.reset, 3597123);

    assert_int_equal(hg_limit_account(&st, T0, r, 0, 1, &info),
                     HG_LIMIT_REJECTED);
    assert_int_equal(info.retry_after, 3597123);
    assert_in_range(info.retry_after, 3600000 - 3600000 / 1000,
                    3600000 + 3600000 / 1000);

    /* drained amounts are floored: a retry_after counted later may be
     * up to 1000 / rate ms long, never short */
    assert_int_equal(hg_limit_account(&st, T0 + 3597122, r, 0, 1, &info),
                     HG_LIMIT_REJECTED);
    assert_in_range(info.retry_after, 1, 4);
    assert_int_equal(hg_limit_account(&st, T0 + 3597123, r, 0, 1, &info),
                     HG_LIMIT_PASSED);

    /* 2r/h and 3r/h are no longer 1r/h's 3.6r/h */
    assert_int_equal(rate("2r/h", &r), 0);
    st.excess = 0;
    st.last = T0;
    assert_int_equal(hg_limit_account(&st, T0, r, 0, 1, &info),
                     HG_LIMIT_PASSED);
    assert_int_equal(info.reset, 1798562);

    assert_int_equal(rate("3r/h", &r), 0);
    st.excess = 0;
    assert_int_equal(hg_limit_account(&st, T0, r, 0, 1, &info),
                     HG_LIMIT_PASSED);
    assert_int_equal(info.reset, 1200481);
}


/* 7r/h is 1944 micro-requests/s: one request every 514404 ms, exactly */
static void
test_seven_per_hour(void **state)
{
    int               i;
    uint64_t          r, now;
    hg_limit_info_t   info;
    hg_limit_state_t  st = { 0, T0 }, copy;

    assert_int_equal(rate("7r/h", &r), 0);
    assert_int_equal(r, 1944);

    /* a burst of 7 fills the bucket; it then lets one in every 514404 ms */
    for (i = 0; i < 7; i++) {
        assert_int_equal(hg_limit_account(&st, T0, r, 6, 1, &info),
                         HG_LIMIT_PASSED);
        assert_int_equal(info.remaining, (uint64_t) (6 - i));
    }

    assert_int_equal(info.reset, 3600824);

    now = T0;

    for (i = 0; i < 7; i++) {
        assert_int_equal(hg_limit_account(&st, now, r, 6, 1, &info),
                         HG_LIMIT_REJECTED);
        assert_in_range(info.retry_after, 514403, 514404);

        copy = st;
        assert_int_equal(hg_limit_account(&copy, now + info.retry_after - 1,
                                          r, 6, 1, NULL),
                         HG_LIMIT_REJECTED);

        now += info.retry_after;
        assert_int_equal(hg_limit_account(&st, now, r, 6, 1, &info),
                         HG_LIMIT_PASSED);
        assert_int_equal(info.remaining, 0);
    }

    /* 7 more took 7 * 10^9 / 1944 = 3600823.04 ms, 0.02% over the hour,
     * plus 2 ms of rounding (waits rounded up, drains rounded down) */
    assert_int_equal(now - T0, 3600825);

    /* without nodelay the 7th of a burst waits 6 / 1944 * 10^6 ms */
    st.excess = 0;
    st.last = T0;

    for (i = 0; i < 7; i++) {
        (void) hg_limit_account(&st, T0, r, 6, 0, &info);
    }

    assert_int_equal(info.delay, 3086419);
}


/*
 * Every r/h and r/m rate is its own, and a request takes its exact time
 * E = 1000 * P / n ms (P = 3600 or 60 s) within E / (2 * rate) + 1 ms:
 * the rate is off by at most half a micro-request a second.
 */
static void
test_slow_rates_distinct(void **state)
{
    char              buf[32];
    uint64_t          n, r, p, prev, lhs, rhs;
    const char       *unit;
    hg_limit_info_t   info;
    hg_limit_state_t  st;

    for (unit = "hm"; *unit; unit++) {
        p = (*unit == 'h') ? 3600 : 60;
        prev = 0;

        for (n = 1; n <= 3600; n++) {
            snprintf(buf, sizeof(buf), "%llur/%c", (unsigned long long) n,
                     *unit);
            assert_int_equal(rate(buf, &r), 0);
            assert_true(r > prev);
            prev = r;

            st.excess = 0;
            st.last = T0;
            (void) hg_limit_account(&st, T0, r, 0, 1, &info);

            /* |ms - E| <= E / (2 r) + 1, times 2 r n */
            lhs = 2 * r * n * info.reset;
            rhs = 2000 * r * p;
            assert_true((lhs > rhs ? lhs - rhs : rhs - lhs)
                        <= 1000 * p + 2 * r * n);
        }
    }
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
        1, 7, 278, 556, 1944, 16667, 27778, 333333, 1000000, 1500000,
        3333333, 10000000, 123456789, 1000000000000000ULL,
        UINT64_MAX / 1000, UINT64_MAX / 1000 + 1, UINT64_MAX
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

    assert_int_equal(hg_limit_account(&st, T0, 1000000, 1, 1, &info),
                     HG_LIMIT_PASSED);

    /* time going back drains nothing and does not move last back */
    assert_int_equal(hg_limit_account(&st, T0 - 5000, 1000000, 1, 1, &info),
                     HG_LIMIT_PASSED);
    assert_int_equal(st.excess, 2000000);
    assert_int_equal(st.last, T0);
    assert_int_equal(hg_limit_account(&st, T0 - 1, 1000000, 1, 1, &info),
                     HG_LIMIT_REJECTED);
    assert_int_equal(hg_limit_account(&st, T0 + 1000, 1000000, 1, 1, &info),
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
    assert_int_equal(info.retry_after, UINT64_MAX);
    assert_int_equal(info.reset, UINT64_MAX);
    assert_int_equal(hg_limit_account(&st, UINT64_MAX, 1000000000000000ULL,
                                      0, 0, &info), HG_LIMIT_PASSED);
    assert_int_equal(st.excess, 1000000);

    /* rate 0 counts as the slowest rate; info may be NULL */
    st.excess = 0;
    st.last = 0;
    assert_int_equal(hg_limit_account(&st, 0, 0, 0, 0, &info),
                     HG_LIMIT_PASSED);
    assert_int_equal(info.reset, 1000000000);
    assert_int_equal(hg_limit_account(&st, 0, 0, 0, 0, NULL),
                     HG_LIMIT_REJECTED);
    assert_int_equal(hg_limit_account(&st, 999999999, 0, 0, 0, NULL),
                     HG_LIMIT_REJECTED);
    assert_int_equal(hg_limit_account(&st, 1000000000, 0, 0, 0, NULL),
                     HG_LIMIT_PASSED);
}


/* rate * elapsed and excess * 1000 overflow 64 bits: still exact */
static void
test_huge_products(void **state)
{
    uint64_t          r;
    hg_limit_info_t   info;
    hg_limit_state_t  st;

    assert_int_equal(rate("1000000000r/s", &r), 0);
    assert_int_equal(r, 1000000000000000ULL);

    /* 10^15 * 20000 > 2^64: drains exactly 2 * 10^16 */
    st.excess = 1000000000000000000ULL;
    st.last = T0;
    assert_int_equal(hg_limit_account(&st, T0 + 20000, r, UINT64_MAX, 1,
                                      &info), HG_LIMIT_PASSED);
    assert_int_equal(st.excess, 980000000001000000ULL);
    assert_int_equal(st.last, T0 + 20000);
    assert_int_equal(info.reset, 980001);

    /* 10^15 * 2^64: drains anything */
    st.excess = UINT64_MAX;
    st.last = 0;
    assert_int_equal(hg_limit_account(&st, UINT64_MAX, r, 0, 0, &info),
                     HG_LIMIT_PASSED);
    assert_int_equal(st.excess, 1000000);
    assert_int_equal(info.reset, 1);

    /* the slowest drain over the longest time, to the micro-request */
    st.excess = UINT64_MAX;
    st.last = 0;
    assert_int_equal(hg_limit_account(&st, UINT64_MAX, 1, UINT64_MAX, 1,
                                      &info), HG_LIMIT_PASSED);
    assert_int_equal(st.excess, UINT64_MAX - UINT64_MAX / 1000 + 1000000);

    /* 999 * 2^64 / 1000 just fits: drained exactly */
    st.excess = UINT64_MAX;
    st.last = 0;
    assert_int_equal(hg_limit_account(&st, UINT64_MAX, 999, UINT64_MAX, 1,
                                      &info), HG_LIMIT_PASSED);
    assert_int_equal(st.excess, 18446744074709552ULL);

    /* 1001 * 2^64 / 1000 does not, though each of its parts does */
    st.excess = UINT64_MAX;
    st.last = 0;
    assert_int_equal(hg_limit_account(&st, UINT64_MAX, 1001, 0, 1, &info),
                     HG_LIMIT_PASSED);
    assert_int_equal(st.excess, 1000000);

    /* (next - cap) * 1000 > 2^64: ceil((2^64 - 1 - 10^6) / 10^12) ms */
    st.excess = UINT64_MAX;
    st.last = T0;
    assert_int_equal(hg_limit_account(&st, T0, r, 0, 0, &info),
                     HG_LIMIT_REJECTED);
    assert_int_equal(info.retry_after, 18446745);
    assert_int_equal(info.reset, 18446745);

    /* rates above UINT64_MAX / 1000: times never short */
    assert_int_equal(hg_limit_account(&st, T0, UINT64_MAX, 0, 0, &info),
                     HG_LIMIT_REJECTED);
    assert_int_equal(info.retry_after, 1000);
    assert_in_range(info.reset, 1000, 1001);
    assert_int_equal(hg_limit_account(&st, T0 + 1000, UINT64_MAX, 0, 0,
                                      &info), HG_LIMIT_PASSED);
    assert_int_equal(st.excess, 1000000);
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
        cmocka_unit_test(test_per_minute),
        cmocka_unit_test(test_per_hour),
        cmocka_unit_test(test_seven_per_hour),
        cmocka_unit_test(test_slow_rates_distinct),
        cmocka_unit_test(test_retry_after_exact),
        cmocka_unit_test(test_clock_back),
        cmocka_unit_test(test_extremes),
        cmocka_unit_test(test_huge_products),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
