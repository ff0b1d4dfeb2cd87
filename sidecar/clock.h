
/*
 * hubgated: the one clock of every schedule (job run_at, retries, sync
 * frequency, token expiry, invoice due dates).
 *
 * clock_now_ms() is the wall clock plus an offset that only
 * POST /v1/admin/test-clock moves, and only when the config key test_clock
 * is on (clock_enable_test at start).  Leases and heartbeats are not
 * schedules: they use the database's own now() so a jump of the test clock
 * never steals a running job.  Thread-safe (an atomic offset).
 */

#ifndef CLOCK_H
#define CLOCK_H

#include <stdint.h>
#include <stddef.h>


/* milliseconds since the epoch, test offset included */
int64_t clock_now_ms(void);

/* ISO 8601 UTC with milliseconds, for SQL parameters: "...Z" */
#define CLOCK_ISO_LEN  48
void clock_iso(int64_t ms, char out[CLOCK_ISO_LEN]);

/* the UTC day of ms, "YYYY-MM-DD" (invoice dates) */
#define CLOCK_DATE_LEN  11
void clock_date(int64_t ms, char out[CLOCK_DATE_LEN]);

/* test_clock on: clock_advance may be called */
void clock_enable_test(int on);
int clock_test_enabled(void);

/* moves the clock forward by ms (>= 0); -1 when the test clock is off */
int clock_advance(int64_t ms);

/* the current test offset in ms (0 in production) */
int64_t clock_offset_ms(void);


#endif /* CLOCK_H */
