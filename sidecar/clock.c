
/*
 * hubgated: the clock of schedules (see clock.h).
 */

#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "clock.h"


static atomic_llong  clock_offset;
static atomic_int    clock_test;


int64_t
clock_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000
           + atomic_load(&clock_offset);
}


void
clock_iso(int64_t ms, char out[CLOCK_ISO_LEN])
{
    time_t     s;
    struct tm  tm;

    s = (time_t) (ms / 1000);
    gmtime_r(&s, &tm);

    snprintf(out, CLOCK_ISO_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int) (ms % 1000));
}


void
clock_date(int64_t ms, char out[CLOCK_DATE_LEN])
{
    time_t     s;
    struct tm  tm;

    s = (time_t) (ms / 1000);
    gmtime_r(&s, &tm);
    strftime(out, CLOCK_DATE_LEN, "%Y-%m-%d", &tm);
}


void
clock_enable_test(int on)
{
    atomic_store(&clock_test, on ? 1 : 0);
}


int
clock_test_enabled(void)
{
    return atomic_load(&clock_test);
}


int
clock_advance(int64_t ms)
{
    if (!atomic_load(&clock_test) || ms < 0) {
        return -1;
    }

    atomic_fetch_add(&clock_offset, ms);
    return 0;
}


int64_t
clock_offset_ms(void)
{
    return atomic_load(&clock_offset);
}
