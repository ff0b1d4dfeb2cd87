
/*
 * hubgate: per-key limit arithmetic.  See hg_limit.h.
 */

#include <string.h>

#include "hg_limit.h"


#define HG_LIMIT_ONE        1000000     /* one request, in micro-requests */
#define HG_LIMIT_MAX_N      1000000000


static uint64_t hg_limit_sat_add(uint64_t a, uint64_t b);
static uint64_t hg_limit_sat_mul(uint64_t a, uint64_t b);
static uint64_t hg_limit_ms(uint64_t micro, uint64_t rate, int round_up);
static uint64_t hg_limit_drain(uint64_t excess, uint64_t rate,
    uint64_t elapsed);


int
hg_limit_parse_rate(const char *s, size_t len, uint64_t *rate)
{
    size_t    i;
    uint64_t  n, r;

    if (s == NULL) {
        return -1;
    }

    n = 0;

    for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        if (i == 10) {
            return -1;
        }

        n = n * 10 + (uint64_t) (s[i] - '0');
    }

    if (i == 0 || n == 0 || n > HG_LIMIT_MAX_N
        || len - i != 3 || s[i] != 'r' || s[i + 1] != '/')
    {
        return -1;
    }

    /* n <= 10^9: n * 10^6 fits with room to spare */

    switch (s[i + 2]) {

    case 's':
        r = n * HG_LIMIT_ONE;
        break;

    case 'm':
        r = (n * HG_LIMIT_ONE + 30) / 60;
        break;

    case 'h':
        r = (n * HG_LIMIT_ONE + 1800) / 3600;
        break;

    default:
        return -1;
    }

    /* never 0 (1r/h is 278), but a zero rate would be a ban, not a limit */
    *rate = r ? r : 1;

    return 0;
}


hg_limit_result_e
hg_limit_account(hg_limit_state_t *st, uint64_t now, uint64_t rate,
    uint64_t burst, int nodelay, hg_limit_info_t *info)
{
    uint64_t         cap, excess, next;
    hg_limit_info_t  local;

    if (info == NULL) {
        info = &local;
    }

    memset(info, 0, sizeof(hg_limit_info_t));

    if (rate == 0) {
        rate = 1;
    }

    info->limit = hg_limit_sat_add(burst, 1);
    cap = hg_limit_sat_mul(info->limit, HG_LIMIT_ONE);

    excess = hg_limit_drain(st->excess, rate,
                            now > st->last ? now - st->last : 0);
    next = hg_limit_sat_add(excess, HG_LIMIT_ONE);

    if (next > cap) {
        info->retry_after = hg_limit_ms(next - cap, rate, 1);
        info->reset = hg_limit_ms(excess, rate, 1);
        return HG_LIMIT_REJECTED;
    }

    st->excess = next;

    if (now > st->last) {
        st->last = now;
    }

    info->remaining = (cap - next) / HG_LIMIT_ONE;
    info->reset = hg_limit_ms(next, rate, 1);

    if (!nodelay) {
        /* as limit_req: wait until the requests queued before have left */
        info->delay = hg_limit_ms(next - HG_LIMIT_ONE, rate, 0);

        if (info->delay) {
            return HG_LIMIT_DELAYED;
        }
    }

    return HG_LIMIT_PASSED;
}


static uint64_t
hg_limit_sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}


static uint64_t
hg_limit_sat_mul(uint64_t a, uint64_t b)
{
    return (b && a > UINT64_MAX / b) ? UINT64_MAX : a * b;
}


/*
 * Milliseconds for micro requests to leave at rate (micro-requests per
 * second): micro * 1000 / rate, rounded down or up.  micro * 1000 may not
 * fit, so the quotient is taken first: with micro = q * rate + r,
 * micro * 1000 / rate = q * 1000 + r * 1000 / rate, and r < rate, so
 * r * 1000 fits whenever rate <= UINT64_MAX / 1000 (10^15 at most when
 * parsed).  Beyond, r / (rate / 1000) is never short and at most 1 ms long.
 */

static uint64_t
hg_limit_ms(uint64_t micro, uint64_t rate, int round_up)
{
    uint64_t  q, r, n, d, part;

    q = micro / rate;
    r = micro % rate;

    if (r <= UINT64_MAX / 1000) {
        n = r * 1000;
        part = n / rate + ((round_up && n % rate) ? 1 : 0);

    } else {
        d = rate / 1000;
        part = r / d + ((round_up && r % d) ? 1 : 0);
    }

    return hg_limit_sat_add(hg_limit_sat_mul(q, 1000), part);
}


/*
 * excess less rate * elapsed / 1000 micro-requests, at least 0.  With
 * rate = a * 1000 + b and elapsed = e * 1000 + f, the drained amount is
 * exactly a * elapsed + b * e + b * f / 1000 (b * f < 10^6), each term
 * saturating: a sum that does not fit drains any excess.
 */

static uint64_t
hg_limit_drain(uint64_t excess, uint64_t rate, uint64_t elapsed)
{
    uint64_t  a, b, drained;

    a = rate / 1000;
    b = rate % 1000;

    drained = hg_limit_sat_add(hg_limit_sat_mul(a, elapsed),
                               hg_limit_sat_mul(b, elapsed / 1000));
    drained = hg_limit_sat_add(drained, b * (elapsed % 1000) / 1000);

    return excess > drained ? excess - drained : 0;
}
