
/*
 * hubgated: sync runs (DESIGN §4): start one, read its progress, follow it
 * as Server-Sent Events, cancel it, list the history.
 *
 * POST /v1/integrations/{id}/syncs enqueues through sync_enqueue(): while
 * a manual or scheduled sync of the integration is queued or running, a
 * second request answers 202 with that one ("created": false) instead of
 * starting another.  Progress lives in the sync_runs row; the events
 * stream sends it first, then every update the workers publish on Redis,
 * and ends with the run.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "../clock.h"
#include "../log.h"
#include "../store/redis.h"
#include "../sync/pipeline.h"


#define H_SYNC_LIST_DEFAULT  20
#define H_SYNC_LIST_MAX      100
#define H_SSE_PING_MS        15000
#define H_SSE_WAIT_MS        1000


typedef struct {
    redis_sub_t  *sub;
    char          sync_id[DB_UUID_LEN + 1];
    char         *pending;          /* bytes not sent yet */
    size_t        len, off;
    int           done;             /* the last event is queued */
    int           quiet_ms;
    uint64_t      seq;
} h_sse_t;


static int h_sync_terminal(const char *run_json);
static int h_sse_queue(h_sse_t *s, const char *run_json);
static long h_sse_read(void *ctx, uint64_t pos, char *buf, size_t max);
static void h_sse_free(void *ctx);


void
h_sync_create(api_req_t *r)
{
    char         err[512], now[CLOCK_ISO_LEN], target[96], *payload;
    json_t      *body, *mode, *pl;
    PGresult    *res;
    const char  *v[4], *status;

    if (!h_uuid(r->params[0])) {
        api_error(r, 404, "not_found", "no integration %s", r->params[0]);
        return;
    }

    pl = json_object();
    if (pl == NULL) {
        api_error(r, 500, "internal", "out of memory");
        return;
    }

    /* an empty body is a plain sync; {"mode": "full"} ignores "since" */
    if (r->body_len > 0) {
        body = api_body_json(r);
        if (body == NULL) {
            json_decref(pl);
            return;
        }

        mode = json_object_get(body, "mode");
        if (mode != NULL
            && (!json_is_string(mode)
                || (strcmp(json_string_value(mode), "full") != 0
                    && strcmp(json_string_value(mode), "incremental") != 0)))
        {
            json_decref(body);
            json_decref(pl);
            api_error(r, 422, "invalid_mode", "mode is \"full\" or"
                      " \"incremental\"");
            return;
        }

        if (mode != NULL) {
            json_object_set(pl, "mode", mode);
        }

        json_decref(body);
    }

    payload = json_dumps(pl, JSON_COMPACT);
    json_decref(pl);

    if (payload == NULL) {
        api_error(r, 500, "internal", "out of memory");
        return;
    }

    if (api_tx_begin(r) != 0) {
        free(payload);
        return;
    }

    v[0] = r->params[0];
    res = h_row(r, DB_S_INT_GET_STATUS, 1, v);
    if (res == NULL) {
        free(payload);
        return;
    }

    status = PQgetvalue(res, 0, 0);

    if (strcmp(status, "active") != 0) {
        api_error(r, 409, strcmp(status, "needs_reconnect") == 0
                          ? "needs_reconnect" : "not_active",
                  "the integration is %s: only an active integration syncs",
                  status);
        PQclear(res);
        free(payload);
        return;
    }

    PQclear(res);

    clock_iso(clock_now_ms(), now);
    v[1] = "manual";
    v[2] = payload;
    v[3] = now;

    res = db_exec(r->db, DB_S_SYNC_ENQUEUE, 4, v, err, sizeof(err));
    free(payload);

    if (res == NULL) {
        api_db_error(r, err);
        return;
    }

    snprintf(target, sizeof(target), "sync:%s", PQgetvalue(res, 0, 0));

    if (strcmp(PQgetvalue(res, 0, 2), "t") == 0
        && api_audit(r, "sync.start", target,
                     json_pack("{s:s}", "integration", r->params[0]))
           != 0)
    {
        PQclear(res);
        return;
    }

    snprintf(r->location, sizeof(r->location), "%.*s/v1/syncs/%s",
             (int) (r->path - r->path_buf), r->path_buf,
             PQgetvalue(res, 0, 0));

    api_json(r, 202, json_pack("{s:s,s:b,s:o?}",
                               "sync_id", PQgetvalue(res, 0, 0),
                               "created",
                               strcmp(PQgetvalue(res, 0, 2), "t") == 0,
                               "sync", json_loads(PQgetvalue(res, 0, 3), 0,
                                                  NULL)));
    PQclear(res);
}


void
h_syncs_list(api_req_t *r)
{
    int          limit;
    char         err[512];
    h_page_t     pg;
    PGresult    *res;
    const char  *v[5], *integ, *status;

    limit = h_page_args(r, H_SYNC_LIST_DEFAULT, H_SYNC_LIST_MAX, &pg);
    if (limit < 0) {
        return;
    }

    integ = api_query(r, "integration");
    if (integ != NULL && !h_uuid(integ)) {
        api_error(r, 400, "bad_request", "integration must be a uuid");
        return;
    }

    status = api_query(r, "status");
    if (status != NULL && strcmp(status, "queued") != 0
        && strcmp(status, "running") != 0 && strcmp(status, "succeeded") != 0
        && strcmp(status, "failed") != 0 && strcmp(status, "cancelled") != 0)
    {
        api_error(r, 400, "bad_request", "status is one of queued, running,"
                  " succeeded, failed, cancelled");
        return;
    }

    if (api_tx_begin(r) != 0) {
        return;
    }

    v[0] = pg.cursor_us;
    v[1] = pg.cursor_id;
    v[2] = integ;
    v[3] = status;
    v[4] = pg.lim;

    res = db_exec(r->db, DB_S_SYNC_LIST, 5, v, err, sizeof(err));
    if (res == NULL) {
        api_db_error(r, err);
        return;
    }

    h_page_answer(r, res, limit);
}


void
h_sync_get(api_req_t *r)
{
    char         err[512];
    PGresult    *res;
    const char  *v[1];

    if (!h_uuid(r->params[0])) {
        api_error(r, 404, "not_found", "no sync %s", r->params[0]);
        return;
    }

    if (api_tx_begin(r) != 0) {
        return;
    }

    v[0] = r->params[0];
    res = db_exec(r->db, DB_S_SYNC_GET, 1, v, err, sizeof(err));
    if (res == NULL) {
        api_db_error(r, err);
        return;
    }

    if (PQntuples(res) == 0) {
        PQclear(res);
        api_error(r, 404, "not_found", "no sync %s", r->params[0]);
        return;
    }

    api_raw(r, 200, "application/json", PQgetvalue(res, 0, 0),
            (size_t) PQgetlength(res, 0, 0));
    PQclear(res);
}


void
h_sync_cancel(api_req_t *r)
{
    char         err[512], now[CLOCK_ISO_LEN], target[96];
    PGresult    *res;
    const char  *v[2];

    if (!h_uuid(r->params[0])) {
        api_error(r, 404, "not_found", "no sync %s", r->params[0]);
        return;
    }

    if (api_tx_begin(r) != 0) {
        return;
    }

    clock_iso(clock_now_ms(), now);
    v[0] = r->params[0];
    v[1] = now;

    res = db_exec(r->db, DB_S_SYNC_CANCEL, 2, v, err, sizeof(err));
    if (res == NULL) {
        api_db_error(r, err);
        return;
    }

    if (PQntuples(res) == 0) {
        PQclear(res);

        /* not found, or already over: say which */
        res = db_exec(r->db, DB_S_SYNC_STATUS, 1, v, err, sizeof(err));
        if (res == NULL) {
            api_db_error(r, err);
            return;
        }

        if (PQntuples(res) == 0) {
            api_error(r, 404, "not_found", "no sync %s", r->params[0]);
        } else {
            api_error(r, 409, "finished", "the sync is %s already",
                      PQgetvalue(res, 0, 0));
        }

        PQclear(res);
        return;
    }

    PQclear(res);

    snprintf(target, sizeof(target), "sync:%s", r->params[0]);
    if (api_audit(r, "sync.cancel", target, NULL) != 0) {
        return;
    }

    res = db_exec(r->db, DB_S_SYNC_GET, 1, v, err, sizeof(err));
    if (res == NULL) {
        api_db_error(r, err);
        return;
    }

    /* a running sync stops at its next page; the answer says it is asked */
    api_raw(r, 202, "application/json", PQgetvalue(res, 0, 0),
            (size_t) PQgetlength(res, 0, 0));
    PQclear(res);
}


static int
h_sync_terminal(const char *run_json)
{
    int          end;
    json_t      *run;
    const char  *st;

    run = json_loads(run_json, 0, NULL);
    st = json_string_value(json_object_get(run, "status"));
    end = st != NULL && (strcmp(st, "succeeded") == 0
                         || strcmp(st, "failed") == 0
                         || strcmp(st, "cancelled") == 0);
    json_decref(run);

    return end;
}


/* an SSE event with the run as data (one line: the JSON has no \n) */
static int
h_sse_queue(h_sse_t *s, const char *run_json)
{
    int     n, end;
    char   *ev;

    s->seq++;
    end = h_sync_terminal(run_json);
    n = asprintf(&ev, "id: %llu\nevent: %s\ndata: %s\n\n",
                 (unsigned long long) s->seq, end ? "end" : "progress",
                 run_json);
    if (n < 0) {
        return -1;
    }

    free(s->pending);
    s->pending = ev;
    s->len = (size_t) n;
    s->off = 0;

    if (end) {
        s->done = 1;
    }

    return 0;
}


static long
h_sse_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
    int      rc;
    char    *msg, *nl;
    size_t   n, len;
    h_sse_t *s = ctx;

    for ( ;; ) {
        if (s->pending != NULL && s->off < s->len) {
            n = s->len - s->off;
            n = n < max ? n : max;
            memcpy(buf, s->pending + s->off, n);
            s->off += n;
            return (long) n;
        }

        if (s->done || api_server_stopping()) {
            return -1;              /* MHD_CONTENT_READER_END_OF_STREAM */
        }

        rc = redis_sub_next(s->sub, H_SSE_WAIT_MS, &msg, &len);

        if (rc < 0) {
            return -1;
        }

        if (rc == 0) {
            s->quiet_ms += H_SSE_WAIT_MS;

            /* a comment now and then keeps proxies and clients from
             * closing a quiet stream, and finds clients that left */
            if (s->quiet_ms >= H_SSE_PING_MS) {
                s->quiet_ms = 0;
                free(s->pending);
                s->pending = strdup(": ping\n\n");
                s->len = s->pending != NULL ? strlen(s->pending) : 0;
                s->off = 0;
            }

            continue;
        }

        s->quiet_ms = 0;

        /* JSON from PostgreSQL has no newline; be sure of it */
        for (nl = msg; (nl = strchr(nl, '\n')) != NULL; ) {
            *nl = ' ';
        }

        rc = h_sse_queue(s, msg);
        free(msg);

        if (rc != 0) {
            return -1;
        }
    }
}


static void
h_sse_free(void *ctx)
{
    h_sse_t  *s = ctx;

    redis_sub_close(s->sub);
    free(s->pending);
    free(s);
}


void
h_sync_events(api_req_t *r)
{
    char         err[512], ch[PIPELINE_CHANNEL_LEN];
    h_sse_t     *s;
    PGresult    *res;
    const char  *v[1];

    if (!h_uuid(r->params[0])) {
        api_error(r, 404, "not_found", "no sync %s", r->params[0]);
        return;
    }

    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        api_error(r, 500, "internal", "out of memory");
        return;
    }

    snprintf(s->sync_id, sizeof(s->sync_id), "%.36s", r->params[0]);

    if (api_tx_begin(r) != 0) {
        free(s);
        return;
    }

    /* subscribe before reading the row, so no update falls in between */
    v[0] = r->params[0];
    res = db_exec(r->db, DB_S_SYNC_GET, 1, v, err, sizeof(err));
    if (res == NULL) {
        free(s);
        api_db_error(r, err);
        return;
    }

    if (PQntuples(res) == 0) {
        PQclear(res);
        free(s);
        api_error(r, 404, "not_found", "no sync %s", r->params[0]);
        return;
    }

    PQclear(res);

    sync_channel(s->sync_id, ch);
    s->sub = redis_subscribe(ch, err, sizeof(err));
    if (s->sub == NULL) {
        free(s);
        log_event(LOG_WARN, "sync_events", "msg", err, NULL);
        api_error(r, 503, "unavailable", "progress events are unavailable"
                  " (Redis); GET /v1/syncs/%s has the progress",
                  r->params[0]);
        return;
    }

    res = db_exec(r->db, DB_S_SYNC_GET, 1, v, err, sizeof(err));
    if (res == NULL || PQntuples(res) == 0 || h_sse_queue(s, PQgetvalue(res,
                                                          0, 0)) != 0)
    {
        if (res != NULL) {
            PQclear(res);
        }
        h_sse_free(s);
        api_error(r, 500, "internal", "cannot read the sync");
        return;
    }

    PQclear(res);

    api_stream(r, 200, "text/event-stream", h_sse_read, s, h_sse_free);
}
