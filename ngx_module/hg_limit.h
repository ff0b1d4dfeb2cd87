
/*
 * hubgate: per-key limit arithmetic (a leaky bucket, as limit_req counts).
 * Pure C, no allocation.
 *
 * Units: rates in milli-requests per second, excess in milli-requests,
 * times in milliseconds.
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
    uint64_t   excess;     /* milli-requests queued in the bucket */
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
 * milli-requests per second (n*1000, n*1000/60, n*1000/3600, at least 1),
 * or -1.
 */
int hg_limit_parse_rate(const char *s, size_t len, uint64_t *rate);

/*
 * Accounts one request at time now.  burst is in whole requests.  A
 * rejected request leaves the state untouched.  With nodelay, requests
 * within the burst pass at once.
 *
 * A new key starts as { 0, now }.  Exactly:
 *
 *   elapsed = now - last (0 when the clock went back; last never moves
 *             back either)
 *   excess  = max(0, st->excess - rate * elapsed / 1000)   drained
 *   next    = excess + 1000                                this request
 *   next > (burst + 1) * 1000:
 *       REJECTED, retry_after = ceil((next - (burst + 1) * 1000) * 1000
 *       / rate), reset = ceil(excess * 1000 / rate), remaining 0
 *   else st->excess = next, and
 *       remaining = ((burst + 1) * 1000 - next) / 1000,
 *       reset = ceil(next * 1000 / rate),
 *       delay = nodelay ? 0 : (next - 1000) * 1000 / rate:
 *       DELAYED when delay > 0, else PASSED.
 *
 * This is limit_req's count shifted by one request (limit_req stores
 * next - 1000): the bucket holds burst + 1 requests, the first request
 * into an empty bucket is never delayed, the k-th request of a burst
 * waits k / rate.  info may be NULL; rate 0 counts as 1.
 */
hg_limit_result_e hg_limit_account(hg_limit_state_t *st, uint64_t now,
    uint64_t rate, uint64_t burst, int nodelay, hg_limit_info_t *info);


#endif /* HG_LIMIT_H */
