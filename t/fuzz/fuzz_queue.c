
/*
 * libFuzzer target: what the queue reads from outside, the test clock's
 * body (queue_advance_parse) and a test.fail payload (queue_test_fail),
 * plus the backoff and jitter arithmetic on the values they lead to.
 * Input: byte 0 is the attempt number, the rest JSON text.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sync/queue.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int            rc;
    char           err[160];
    job_t          job;
    json_t        *v;
    int64_t        ms, d, j;
    json_error_t   jerr;

    if (size < 1) {
        return 0;
    }

    v = json_loadb((const char *) data + 1, size - 1, JSON_DECODE_ANY,
                   &jerr);
    if (v == NULL) {
        return 0;
    }

    ms = -1;
    rc = queue_advance_parse(v, &ms, err, sizeof(err));
    if (rc == 0 && (ms < 0 || ms > QUEUE_ADVANCE_MAX_S * 1000)) {
        abort();
    }
    if (rc != 0 && strlen(err) == 0) {
        abort();
    }

    memset(&job, 0, sizeof(job));
    job.payload = v;
    job.attempts = data[0];
    job.max_attempts = 7;

    switch (queue_test_fail(&job)) {

    case JOB_DONE:
        break;

    case JOB_RETRY_AFTER:
        if (job.retry_after_ms < 0
            || job.retry_after_ms > 24 * 3600 * 1000LL)
        {
            abort();
        }
        /* fall through */

    default:
        if (strlen(job.error) == 0) {
            abort();
        }
    }

    d = queue_backoff_ms((int) (int8_t) data[0]);
    j = queue_jitter_ms(d, (uint64_t) size * 0x9e3779b97f4a7c15ULL);
    if (d < 1000 || d > 4 * 3600 * 1000LL || j < d * 9 / 10
        || j > d * 11 / 10)
    {
        abort();
    }

    json_decref(v);
    return 0;
}
