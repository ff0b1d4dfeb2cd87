
/*
 * hubgate: per-key limit arithmetic (a leaky bucket, as limit_req counts).
 * Pure C, no allocation.
 *
 * Units: rates in micro-requests per second, excess in micro-requests,
 * times in milliseconds.  Micro-requests keep slow rates honest: 1r/h is
 * 278 micro-requests a second, 0.08% fast (milli-requests made it 1, so
 * 1r/h to 7r/h all counted as 3.6r/h).
 */

#ifndef HG_LIMIT_H
#define HG_LIMIT_H

#include <stddef.h>
#include <stdint.h>


typedef enum {
    HG_LIMIT_PASSED = 0,
    HG_LIMIT_DELAYED,
    HG_LIMIT_REJECTED
} hg_limit_result_e;


typedef struct {
    uint64_t   excess;     /* micro-requests queued in the bucket */
    uint64_t   last;       /* ms of the last accounted request */
} hg_limit_state_t;


typedef struct {
    uint64_t   delay;          /* ms to wait (DELAYED) */
    uint64_t   retry_after;    /* ms until a request would pass (REJECTED) */
    uint64_t   limit;          /* requests the bucket holds: burst + 1 */
    uint64_t   remaining;      /* whole requests left before rejection */
    uint64_t   reset;          /* ms until the bucket is empty */
} hg_limit_info_t;


/*
 * Parses "<n>r/s", "<n>r/m", "<n>r/h" (n a positive integer up to 10^9,
 * at most 10 digits, nothing else around).  Returns 0 and the rate in
 * micro-requests per second, or -1: n*10^6 for r/s, n*10^6/60 and
 * n*10^6/3600 rounded to nearest for r/m and r/h (never a half), at least 1.
 * The largest rate is 10^15.
 */
int hg_limit_parse_rate(const char *s, size_t len, uint64_t *rate);

/*
 * Accounts one request at time now.  burst is in whole requests.  A
 * rejected request leaves the state untouched.  With nodelay, requests
 * within the burst pass at once.
 *
 * A new key starts as { 0, now }.  With ONE = 10^6 (a request) and
 * cap = (burst + 1) * ONE, exactly:
 *
 *   elapsed = now - last (0 when the clock went back; last never moves
 *             back either)
 *   excess  = max(0, st->excess - floor(rate * elapsed / 1000))   drained
 *   next    = excess + ONE                                 this request
 *   next > cap:
 *       REJECTED, retry_after = ceil((next - cap) * 1000 / rate),
 *       reset = ceil(excess * 1000 / rate), remaining 0
 *   else st->excess = next, and
 *       remaining = (cap - next) / ONE,
 *       reset = ceil(next * 1000 / rate),
 *       delay = nodelay ? 0 : floor((next - ONE) * 1000 / rate):
 *       DELAYED when delay > 0, else PASSED.
 *
 * No product that may overflow is formed: the quotients are computed
 * piecewise in 64 bits and are exact for any state and time (the ms ones
 * for rates up to UINT64_MAX / 1000, which every parsed rate is; beyond,
 * at most 1 ms long).  cap, next, the drained amount and the times
 * saturate at UINT64_MAX where the true value does not fit.
 *
 * This is limit_req's count shifted by one request (limit_req stores
 * next - ONE): the bucket holds burst + 1 requests, the first request
 * into an empty bucket is never delayed, the k-th request of a burst
 * waits k / rate.  info may be NULL; rate 0 counts as 1.
 */
hg_limit_result_e hg_limit_account(hg_limit_state_t *st, uint64_t now,
    uint64_t rate, uint64_t burst, int nodelay, hg_limit_info_t *info);


#endif /* HG_LIMIT_H */
