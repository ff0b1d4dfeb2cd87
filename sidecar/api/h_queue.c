
/*
 * hubgated: POST /v1/admin/test-clock (role admin), for tests only.
 *
 * 404 unless test_clock is on, so a production instance does not even
 * admit the route exists.  Body {"advance_seconds": n} (0 to ten years):
 * moves this instance's clock forward (clock_advance), wakes the queue's
 * workers and scheduler so what became due runs now, and answers
 * {"now": "<ISO>", "offset_seconds": <total offset>}.  Changes nothing in
 * the database, so the transaction the server commits is never opened.
 */

#include <stdio.h>

#include "api.h"
#include "../clock.h"
#include "../sync/queue.h"


void
h_test_clock(api_req_t *r)
{
    char      err[160], now[CLOCK_ISO_LEN];
    json_t   *body;
    int64_t   ms;

    if (!clock_test_enabled()) {
        api_error(r, 404, "not_found", "no such route");
        return;
    }

    body = api_body_json(r);
    if (body == NULL) {
        return;
    }

    if (queue_advance_parse(body, &ms, err, sizeof(err)) != 0) {
        json_decref(body);
        api_error(r, 422, "invalid_request", "%s", err);
        return;
    }

    json_decref(body);

    if (clock_advance(ms) != 0) {
        api_error(r, 404, "not_found", "no such route");
        return;
    }

    queue_wake();

    clock_iso(clock_now_ms(), now);

    api_json(r, 200, json_pack("{s:s,s:I}", "now", now, "offset_seconds",
                               (json_int_t) (clock_offset_ms() / 1000)));
}
