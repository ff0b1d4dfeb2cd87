
/*
 * hubgated: the sync pipeline (see pipeline.h).
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "invoicing.h"
#include "pipeline.h"
#include "oauth.h"
#include "sync_conf.h"
#include "../clock.h"
#include "../log.h"
#include "../net/http.h"
#include "../providers/provider_ops.h"
#include "../store/redis.h"


#define PIPE_ERR_LEN        512
#define PIPE_MSG_LEN        256
#define PIPE_WAIT_429_MS    (60 * 1000)


typedef struct {
    job_t                 *job;
    db_conn_t             *db;
    const char            *sync_id;
    char                   provider[64];
    char                   account_id[128];
    char                   since[40];
    int                    have_since;
    json_t                *cursors;         /* {"stream": "cursor"} */
    const provider_ops_t  *ops;
    const prov_conf_t     *pc;
    sync_conf_t           *sc;
    char                  *token;
    int                    refreshed;       /* a 401 was answered once */
    int                    rate_warned;
    int64_t                processed;       /* this attempt, all streams */
    char                   error[PIPE_ERR_LEN];
    int64_t                retry_after_ms;
    struct pipe_bg_s      *bg;              /* the page being stored */
} pipe_t;



typedef enum {
    PIPE_OK = 0,
    PIPE_TRANSIENT,             /* retry on the schedule */
    PIPE_RATE,                  /* 429: wait retry_after_ms */
    PIPE_PERMANENT,             /* 4xx: fail the run */
    PIPE_RECONNECT,             /* the grant is gone */
    PIPE_CANCELLED
} pipe_rc_e;

/*
 * The store of one page runs on a thread of its own while the next page
 * is fetched: the provider's latency and PostgreSQL's work overlap.  The
 * connection is the job's: nothing else uses it until pipe_bg_wait.
 */
typedef struct pipe_bg_s {
    pthread_t    tid;
    pipe_t      *p;
    char        *stream;
    json_t      *records;
    char        *cursor;
    int          stream_done, percent, cancel;
    int64_t      total;
    pipe_rc_e    rc;
    char        *run;
    char         error[PIPE_ERR_LEN];
} pipe_bg_t;


static pipe_rc_e pipe_load(pipe_t *p, int *done);
static pipe_rc_e pipe_call(pipe_t *p, http_req_t *req, http_resp_t *resp);
static pipe_rc_e pipe_stream(pipe_t *p, const char *stream, int index,
    int nstreams);
static pipe_rc_e pipe_stream_pages(pipe_t *p, const char *stream, int index,
    int nstreams);
static pipe_rc_e pipe_targets(pipe_t *p, json_t *targets);
static pipe_rc_e pipe_store(pipe_t *p, const char *stream, json_t *records,
    const char *cursor, int stream_done, int percent, int64_t total,
    int *cancel, char **run, char *error);
static void *pipe_bg_main(void *arg);
static int pipe_bg_start(pipe_t *p, const char *stream, json_t *records,
    const char *cursor, int stream_done, int percent, int64_t total);
static pipe_rc_e pipe_bg_wait(pipe_t *p);
static json_t *pipe_unknown(pipe_t *p, json_t *list);
static pipe_rc_e pipe_fetch_each(pipe_t *p, json_t *list, json_t *into);
static job_result_e pipe_finish(pipe_t *p, pipe_rc_e rc);
static int pipe_hex(char c);
static void pipe_publish(const char *sync_id, const char *json);
static int pipe_limit(pipe_t *p);
static void pipe_sleep_ms(int64_t ms);


static atomic_ullong  st_pages, st_records, st_created, st_updated,
                      st_failed, st_calls, st_rate_waits, st_429, st_401;


void
sync_channel(const char *sync_id, char out[PIPELINE_CHANNEL_LEN])
{
    snprintf(out, PIPELINE_CHANNEL_LEN, "hubgate:sync:%s", sync_id);
}


void
pipeline_stats(pipeline_stats_t *st)
{
    st->pages = atomic_load(&st_pages);
    st->records = atomic_load(&st_records);
    st->created = atomic_load(&st_created);
    st->updated = atomic_load(&st_updated);
    st->failed = atomic_load(&st_failed);
    st->provider_calls = atomic_load(&st_calls);
    st->rate_waits = atomic_load(&st_rate_waits);
    st->retries_429 = atomic_load(&st_429);
    st->refreshes_401 = atomic_load(&st_401);
}


static void
pipe_sleep_ms(int64_t ms)
{
    struct timespec  ts;

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000;
    nanosleep(&ts, NULL);
}


static void
pipe_publish(const char *sync_id, const char *json)
{
    char  ch[PIPELINE_CHANNEL_LEN], err[256];

    if (json == NULL) {
        return;
    }

    sync_channel(sync_id, ch);

    /* progress is also in the row: a lost message costs only liveness */
    if (redis_publish(ch, json, strlen(json), err, sizeof(err)) != 0) {
        log_event(LOG_WARN, "sync_progress", "sync", sync_id, "msg", err,
                  NULL);
    }
}


/*
 * Loads the run and its integration and marks the run running.  *done is
 * set when there is nothing to do (the run already ended or was
 * cancelled before it started).
 */
static pipe_rc_e
pipe_load(pipe_t *p, int *done)
{
    int          rc;
    char         err[PIPE_MSG_LEN], now[CLOCK_ISO_LEN];
    PGresult    *res;
    const char  *v[2], *status, *run_status;
    json_error_t  jerr;

    *done = 0;

    rc = db_begin_tenant_id(p->db, p->job->tenant, err, sizeof(err));
    if (rc != 0) {
        snprintf(p->error, sizeof(p->error), "database: %s", err);
        return PIPE_TRANSIENT;
    }

    v[0] = p->sync_id;
    res = db_exec(p->db, DB_S_SYNC_LOAD, 1, v, err, sizeof(err));
    if (res == NULL) {
        db_rollback(p->db);
        snprintf(p->error, sizeof(p->error), "database: %s", err);
        return PIPE_TRANSIENT;
    }

    if (PQntuples(res) == 0) {
        PQclear(res);
        db_rollback(p->db);
        snprintf(p->error, sizeof(p->error), "sync run %s does not exist",
                 p->sync_id);
        *done = 1;
        return PIPE_PERMANENT;
    }

    snprintf(p->provider, sizeof(p->provider), "%s", PQgetvalue(res, 0, 0));
    status = PQgetvalue(res, 0, 1);
    snprintf(p->account_id, sizeof(p->account_id), "%s",
             PQgetvalue(res, 0, 2));
    run_status = PQgetvalue(res, 0, 3);
    p->have_since = !PQgetisnull(res, 0, 6);
    snprintf(p->since, sizeof(p->since), "%s", PQgetvalue(res, 0, 6));
    p->cursors = json_loads(PQgetvalue(res, 0, 7), 0, &jerr);

    if (strcmp(run_status, "queued") != 0
        && strcmp(run_status, "running") != 0)
    {
        PQclear(res);
        db_rollback(p->db);
        *done = 1;
        return PIPE_OK;
    }

    if (strcmp(PQgetvalue(res, 0, 4), "t") == 0) {
        PQclear(res);
        db_rollback(p->db);
        return PIPE_CANCELLED;
    }

    if (strcmp(status, "active") != 0) {
        snprintf(p->error, sizeof(p->error), "the integration is %s, not"
                 " active", status);
        PQclear(res);
        db_rollback(p->db);
        return PIPE_PERMANENT;
    }

    PQclear(res);

    p->ops = provider_ops(p->provider);
    p->pc = sync_conf_provider(p->sc, p->provider);

    if (p->ops == NULL || p->pc == NULL || p->ops->page_request == NULL) {
        snprintf(p->error, sizeof(p->error), "provider %s cannot sync yet",
                 p->provider);
        db_rollback(p->db);
        return PIPE_PERMANENT;
    }

    clock_iso(clock_now_ms(), now);
    v[1] = now;

    res = db_exec(p->db, DB_S_SYNC_START, 2, v, err, sizeof(err));
    if (res == NULL || db_commit(p->db, err, sizeof(err)) != 0) {
        if (res != NULL) {
            PQclear(res);
        } else {
            db_rollback(p->db);
        }
        snprintf(p->error, sizeof(p->error), "database: %s", err);
        return PIPE_TRANSIENT;
    }

    pipe_publish(p->sync_id, PQgetvalue(res, 0, 0));
    PQclear(res);

    return PIPE_OK;
}


/*
 * Waits for the provider's limit.  Allegro counts per client id, Stripe
 * per account.  Returns -1 when the run was cancelled meanwhile.
 */
static int
pipe_limit(pipe_t *p)
{
    char      key[256], err[256];
    int64_t   wait, interval, burst, window, n, burst_n;

    /*
     * A burst of one second's (Allegro) or a quarter second's (Stripe)
     * calls, the rest spread evenly, so that no window of the provider's
     * (a rolling minute, a second) ever sees more than the limit: rate x
     * window + burst = 90 % of the limit.
     */
    if (strcmp(p->provider, "allegro") == 0) {
        n = p->sc->allegro_per_minute;
        burst_n = n / 60 > 0 ? n / 60 : 1;
        window = 60000000LL;
        snprintf(key, sizeof(key), "hubgate:limit:allegro:%s",
                 p->pc->client_id);

    } else if (strcmp(p->provider, "stripe") == 0) {
        n = p->sc->stripe_per_second;
        burst_n = n / 4 > 0 ? n / 4 : 1;
        window = 1000000LL;
        snprintf(key, sizeof(key), "hubgate:limit:stripe:%s",
                 p->account_id[0] ? p->account_id : p->job->integration);

    } else {
        return 0;
    }

    /* a tenth below the limit: the provider counts arrivals, which the
     * network and the provider's own clock jitter */
    n = n * 9 / 10 > 0 ? n * 9 / 10 : 1;
    burst_n = burst_n * 9 / 10 > 0 ? burst_n * 9 / 10 : 1;

    if (burst_n >= n) {
        burst_n = n > 1 ? n - 1 : 0;
    }

    /* GCRA lets tau / T + 1 calls through at once */
    interval = window / (n - burst_n > 0 ? n - burst_n : 1);
    burst = interval * (burst_n > 0 ? burst_n - 1 : 0);

    for ( ;; ) {
        wait = redis_rate_take(key, interval, burst, err, sizeof(err));

        if (wait < 0) {
            /* no Redis: go on, the provider's 429 still protects */
            if (!p->rate_warned) {
                log_event(LOG_WARN, "sync_limit", "provider", p->provider,
                          "msg", err, NULL);
                p->rate_warned = 1;
            }
            return 0;
        }

        if (wait == 0) {
            return 0;
        }

        atomic_fetch_add(&st_rate_waits, 1);
        pipe_sleep_ms(wait < 1000 ? wait : 1000);

        if (atomic_load(&p->job->cancelled)) {
            return -1;
        }
    }
}


/*
 * One call to the provider, with the limit before it and one refresh
 * after a 401.  PIPE_OK with a 2xx resp (the caller frees it); any other
 * outcome has freed resp and written p->error.
 */
static pipe_rc_e
pipe_call(pipe_t *p, http_req_t *req, http_resp_t *resp)
{
    int            rc, i;
    char           err[PIPE_MSG_LEN], *fresh;
    prov_error_t   perr;

    for ( ;; ) {
        if (pipe_limit(p) != 0) {
            return PIPE_CANCELLED;
        }

        memset(resp, 0, sizeof(*resp));
        atomic_fetch_add(&st_calls, 1);

        if (http_send(req, resp, err, sizeof(err)) != 0) {
            http_resp_free(resp);
            snprintf(p->error, sizeof(p->error), "%s: %s", p->provider, err);
            return PIPE_TRANSIENT;
        }

        if (resp->status >= 200 && resp->status < 300) {
            return PIPE_OK;
        }

        memset(&perr, 0, sizeof(perr));
        if (p->ops->error_parse != NULL) {
            p->ops->error_parse(resp, &perr);
        }

        snprintf(p->error, sizeof(p->error), "%s answered HTTP %ld%s%s%s%s",
                 p->provider, resp->status, perr.code[0] ? ": " : "",
                 perr.code, perr.message[0] ? ": " : "", perr.message);

        if (resp->status == 401 && !p->refreshed) {
            http_resp_free(resp);
            p->refreshed = 1;
            atomic_fetch_add(&st_401, 1);

            /* the refresh needs the connection the store may be using */
            if (pipe_bg_wait(p) != PIPE_OK) {
                return PIPE_TRANSIENT;
            }

            rc = oauth_access_token(p->db, p->job->tenant,
                                    p->job->integration, p->token, &fresh,
                                    err, sizeof(err));
            if (rc == OAUTH_RECONNECT) {
                return PIPE_RECONNECT;
            }

            if (rc != 0) {
                snprintf(p->error, sizeof(p->error), "token refresh after"
                         " 401: %s", err);
                return rc == OAUTH_TRANSIENT ? PIPE_TRANSIENT
                                             : PIPE_PERMANENT;
            }

            oauth_token_free(p->token);
            p->token = fresh;

            /* the request carries the old token: replace the header */
            for (i = 0; i < req->nheaders; i++) {
                if (strncasecmp(req->headers[i], "Authorization:", 14) == 0
                    && strncasecmp(req->headers[i] + 14, " Bearer ", 8) == 0)
                {
                    OPENSSL_cleanse(req->headers[i],
                                    strlen(req->headers[i]));
                    free(req->headers[i]);
                    if (asprintf(&req->headers[i], "Authorization: Bearer %s",
                                 p->token) < 0)
                    {
                        req->headers[i] = NULL;
                        snprintf(p->error, sizeof(p->error),
                                 "out of memory");
                        return PIPE_TRANSIENT;
                    }
                }
            }

            continue;
        }

        if (resp->status == 429) {
            atomic_fetch_add(&st_429, 1);
            p->retry_after_ms = resp->retry_after_ms >= 0
                                ? resp->retry_after_ms : PIPE_WAIT_429_MS;
            http_resp_free(resp);
            return PIPE_RATE;
        }

        /* a second 401, with a fresh token, is a refusal like any 4xx */
        rc = resp->status >= 500 || resp->status == 408
             ? PIPE_TRANSIENT : PIPE_PERMANENT;
        http_resp_free(resp);

        return rc;
    }
}


/* one page in one transaction; *cancel when the run was cancelled */
static pipe_rc_e
pipe_store(pipe_t *p, const char *stream, json_t *records,
    const char *cursor, int stream_done, int percent, int64_t total,
    int *cancel, char **run, char *error)
{
    char         err[PIPE_MSG_LEN], pct[16], tot[24], *recs;
    PGresult    *res;
    const char  *v[9];
    int64_t      invoices;

    *cancel = 0;
    *run = NULL;

    recs = json_dumps(records, JSON_COMPACT);
    if (recs == NULL) {
        snprintf(error, PIPE_ERR_LEN, "out of memory");
        return PIPE_TRANSIENT;
    }

    snprintf(pct, sizeof(pct), "%d", percent);
    snprintf(tot, sizeof(tot), "%lld", (long long) total);

    v[0] = p->sync_id;
    v[1] = p->job->integration;
    v[2] = stream;
    v[3] = recs;
    v[4] = cursor;
    v[5] = stream_done ? "true" : "false";
    v[6] = stream;
    v[7] = pct;
    v[8] = total >= 0 ? tot : NULL;

    if (db_begin_tenant_id(p->db, p->job->tenant, err, sizeof(err)) != 0) {
        free(recs);
        snprintf(error, PIPE_ERR_LEN, "database: %s", err);
        return PIPE_TRANSIENT;
    }

    res = db_exec(p->db, DB_S_SYNC_PAGE, 9, v, err, sizeof(err));
    free(recs);

    if (res == NULL) {
        db_rollback(p->db);
        snprintf(error, PIPE_ERR_LEN, "storing a page: %s", err);
        return PIPE_TRANSIENT;
    }

    /* the page's invoices commit with its orders, or neither does */
    if (invoicing_page(p->db, p->sync_id, p->job->integration, records,
                       clock_now_ms(), &invoices, err, sizeof(err))
        != 0)
    {
        PQclear(res);
        db_rollback(p->db);
        snprintf(error, PIPE_ERR_LEN, "invoicing a page: %s", err);
        return PIPE_TRANSIENT;
    }
    (void) invoices;                    /* counted by the run's row */

    if (db_commit(p->db, err, sizeof(err)) != 0) {
        PQclear(res);
        snprintf(error, PIPE_ERR_LEN, "committing a page: %s", err);
        return PIPE_TRANSIENT;
    }

    atomic_fetch_add(&st_pages, 1);
    atomic_fetch_add(&st_records, json_array_size(records));
    atomic_fetch_add(&st_created, strtoull(PQgetvalue(res, 0, 0), NULL, 10));
    atomic_fetch_add(&st_updated, strtoull(PQgetvalue(res, 0, 1), NULL, 10));
    atomic_fetch_add(&st_failed, strtoull(PQgetvalue(res, 0, 2), NULL, 10));

    *cancel = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
    *run = strdup(PQgetvalue(res, 0, 3));
    PQclear(res);

    p->processed += (int64_t) json_array_size(records);

    return PIPE_OK;
}


static void *
pipe_bg_main(void *arg)
{
    pipe_bg_t  *bg = arg;

    bg->rc = pipe_store(bg->p, bg->stream, bg->records, bg->cursor,
                        bg->stream_done, bg->percent, bg->total, &bg->cancel,
                        &bg->run, bg->error);
    return NULL;
}


/* stores a page in the background; -1 when no thread could start */
static int
pipe_bg_start(pipe_t *p, const char *stream, json_t *records,
    const char *cursor, int stream_done, int percent, int64_t total)
{
    pipe_bg_t  *bg;

    bg = calloc(1, sizeof(*bg));
    if (bg == NULL) {
        return -1;
    }

    bg->p = p;
    bg->stream = strdup(stream);
    bg->cursor = cursor != NULL ? strdup(cursor) : NULL;
    bg->records = json_incref(records);
    bg->stream_done = stream_done;
    bg->percent = percent;
    bg->total = total;

    if (bg->stream == NULL || (cursor != NULL && bg->cursor == NULL)
        || pthread_create(&bg->tid, NULL, pipe_bg_main, bg) != 0)
    {
        json_decref(bg->records);
        free(bg->stream);
        free(bg->cursor);
        free(bg);
        return -1;
    }

    p->bg = bg;
    return 0;
}


/*
 * Waits for the page being stored (if any), publishes its progress and
 * passes on its cancellation.  PIPE_OK, or what storing it failed with
 * (p->error says why).
 */
static pipe_rc_e
pipe_bg_wait(pipe_t *p)
{
    pipe_rc_e   rc;
    pipe_bg_t  *bg = p->bg;

    if (bg == NULL) {
        return PIPE_OK;
    }

    pthread_join(bg->tid, NULL);
    p->bg = NULL;

    rc = bg->rc;

    if (rc != PIPE_OK) {
        snprintf(p->error, sizeof(p->error), "%s", bg->error);
    }

    if (bg->run != NULL) {
        pipe_publish(p->sync_id, bg->run);
    }

    if (bg->cancel) {
        atomic_store(&p->job->cancelled, 1);
    }

    json_decref(bg->records);
    free(bg->stream);
    free(bg->cursor);
    free(bg->run);
    free(bg);

    return rc;
}


/*
 * The targets of a journal page that are news: those whose revision the
 * stored order lacks (a journal read right after the full list names
 * only forms stored a moment ago).  A new reference; on a database error
 * the list as it is (fetching too much is only slower).
 */
static json_t *
pipe_unknown(pipe_t *p, json_t *list)
{
    int        i, n;
    char       err[PIPE_MSG_LEN], *text;
    json_t    *out, *t;
    PGresult  *res;
    const char *v[2];

    text = json_dumps(list, JSON_COMPACT);
    if (text == NULL || pipe_bg_wait(p) != PIPE_OK
        || db_begin_tenant_id(p->db, p->job->tenant, err, sizeof(err)) != 0)
    {
        free(text);
        return json_incref(list);
    }

    v[0] = p->job->integration;
    v[1] = text;
    res = db_exec(p->db, DB_S_SYNC_UNKNOWN, 2, v, err, sizeof(err));
    free(text);
    db_rollback(p->db);

    if (res == NULL) {
        return json_incref(list);
    }

    out = json_array();
    n = PQntuples(res);

    for (i = 0; out != NULL && i < n; i++) {
        t = json_loads(PQgetvalue(res, i, 0), 0, NULL);
        if (t != NULL) {
            json_array_append_new(out, t);
        }
    }

    PQclear(res);
    return out != NULL ? out : json_incref(list);
}


/* records named one by one (a journal's refetch list, a webhook's) */
static pipe_rc_e
pipe_fetch_each(pipe_t *p, json_t *list, json_t *into)
{
    size_t        i;
    char          err[PIPE_MSG_LEN];
    json_t       *t;
    pipe_rc_e     rc;
    http_req_t    req;
    http_resp_t   resp;
    prov_auth_t   auth;
    prov_page_t   one;
    const char   *stream, *id;

    auth.access_token = p->token;
    auth.account_id = p->account_id[0] ? p->account_id : NULL;

    json_array_foreach(list, i, t) {
        stream = json_string_value(json_object_get(t, "stream"));
        id = json_string_value(json_object_get(t, "id"));

        if (stream == NULL || id == NULL || p->ops->record_request == NULL) {
            continue;
        }

        if (atomic_load(&p->job->cancelled)) {
            return PIPE_CANCELLED;
        }

        http_req_init(&req, "GET");

        if (p->ops->record_request(p->pc, &auth, stream, id, &req, err,
                                   sizeof(err))
            != 0)
        {
            http_req_free(&req);
            snprintf(p->error, sizeof(p->error), "%s", err);
            return PIPE_PERMANENT;
        }

        rc = pipe_call(p, &req, &resp);
        http_req_free(&req);
        auth.access_token = p->token;

        if (rc == PIPE_PERMANENT && strstr(p->error, "HTTP 404") != NULL) {
            /* gone at the provider since it was named: nothing to sync */
            continue;
        }

        if (rc != PIPE_OK) {
            return rc;
        }

        memset(&one, 0, sizeof(one));
        if (p->ops->record_parse(p->pc, stream, &resp, &one, err,
                                 sizeof(err))
            != 0)
        {
            http_resp_free(&resp);
            prov_page_free(&one);
            snprintf(p->error, sizeof(p->error), "%s: unreadable %s record:"
                     " %s", p->provider, stream, err);
            return PIPE_TRANSIENT;
        }

        http_resp_free(&resp);

        if (one.records != NULL) {
            json_array_extend(into, one.records);
        }

        prov_page_free(&one);
    }

    return PIPE_OK;
}


/* one stream from its committed cursor to its end */
static pipe_rc_e
pipe_stream_pages(pipe_t *p, const char *stream, int index, int nstreams)
{
    int           percent, cancel, done;
    char          err[PIPE_MSG_LEN], *cursor, *run;
    int64_t       base, seen, total;
    json_t       *records, *news;
    pipe_rc_e     rc;
    http_req_t    req;
    http_resp_t   resp;
    prov_ask_t    ask;
    prov_auth_t   auth;
    prov_page_t   page;
    const char   *c, *store_cursor;

    c = json_string_value(json_object_get(p->cursors, stream));
    cursor = c != NULL ? strdup(c) : NULL;
    base = p->processed;
    seen = 0;

    for ( ;; ) {
        if (atomic_load(&p->job->cancelled)) {
            free(cursor);
            return PIPE_CANCELLED;
        }

        ask.stream = stream;
        ask.cursor = cursor;
        ask.since = p->have_since ? p->since : NULL;
        auth.access_token = p->token;
        auth.account_id = p->account_id[0] ? p->account_id : NULL;

        http_req_init(&req, "GET");

        if (p->ops->page_request(p->pc, &auth, &ask, &req, err, sizeof(err))
            != 0)
        {
            http_req_free(&req);
            free(cursor);
            snprintf(p->error, sizeof(p->error), "%s", err);
            return PIPE_PERMANENT;
        }

        rc = pipe_call(p, &req, &resp);
        http_req_free(&req);

        if (rc != PIPE_OK) {
            free(cursor);
            return rc;
        }

        memset(&page, 0, sizeof(page));

        if (p->ops->page_parse(p->pc, &ask, &resp, &page, err, sizeof(err))
            != 0)
        {
            http_resp_free(&resp);
            prov_page_free(&page);
            free(cursor);
            snprintf(p->error, sizeof(p->error), "%s: unreadable %s page: %s",
                     p->provider, stream, err);
            return PIPE_TRANSIENT;
        }

        http_resp_free(&resp);

        records = page.records != NULL ? json_incref(page.records)
                                       : json_array();

        if (page.refetch != NULL && json_array_size(page.refetch) > 0) {
            news = pipe_unknown(p, page.refetch);
            rc = pipe_fetch_each(p, news, records);
            json_decref(news);
            if (rc != PIPE_OK) {
                json_decref(records);
                prov_page_free(&page);
                free(cursor);
                return rc;
            }
        }

        seen += (int64_t) json_array_size(records);
        total = page.total >= 0 ? base + page.total : -1;

        if (page.total > 0) {
            percent = (int) ((index * 100
                              + (seen < page.total ? seen : page.total) * 100
                                / page.total)
                             / nstreams);
        } else {
            percent = index * 100 / nstreams;
        }

        done = page.next_cursor == NULL;
        store_cursor = !done ? page.next_cursor : page.final_cursor;

        /* the page before this one is stored by now, or failed */
        rc = pipe_bg_wait(p);

        if (rc == PIPE_OK
            && pipe_bg_start(p, stream, records, store_cursor,
                             done && page.final_cursor == NULL, percent,
                             total)
               != 0)
        {
            /* no thread: store it here */
            rc = pipe_store(p, stream, records, store_cursor,
                            done && page.final_cursor == NULL, percent,
                            total, &cancel, &run, p->error);
            pipe_publish(p->sync_id, run);
            free(run);

            if (cancel) {
                atomic_store(&p->job->cancelled, 1);
            }
        }

        json_decref(records);

        free(cursor);
        cursor = page.next_cursor != NULL ? strdup(page.next_cursor) : NULL;
        prov_page_free(&page);

        if (rc != PIPE_OK) {
            free(cursor);
            return rc;
        }

        if (done) {
            free(cursor);
            return PIPE_OK;
        }
    }
}


/* a stream, and the store of its last page */
static pipe_rc_e
pipe_stream(pipe_t *p, const char *stream, int index, int nstreams)
{
    pipe_rc_e  rc, wrc;

    rc = pipe_stream_pages(p, stream, index, nstreams);
    wrc = pipe_bg_wait(p);

    return rc != PIPE_OK ? rc : wrc;
}


/* a webhook's records: fetched by id, no cursor moves */
static pipe_rc_e
pipe_targets(pipe_t *p, json_t *targets)
{
    int         cancel;
    char       *run;
    json_t     *records;
    pipe_rc_e   rc;
    const char *stream;

    records = json_array();
    if (records == NULL) {
        return PIPE_TRANSIENT;
    }

    rc = pipe_fetch_each(p, targets, records);

    if (rc == PIPE_OK) {
        stream = json_string_value(json_object_get(json_array_get(targets, 0),
                                                   "stream"));
        rc = pipe_store(p, stream != NULL ? stream : "webhook", records, NULL,
                        0, 99, (int64_t) json_array_size(records), &cancel,
                        &run, p->error);
        pipe_publish(p->sync_id, run);
        free(run);
    }

    json_decref(records);
    return rc;
}


/* the attempt's end in the run and the integration; the queue's outcome */
static job_result_e
pipe_finish(pipe_t *p, pipe_rc_e rc)
{
    int           last, disabled;
    char          err[PIPE_MSG_LEN], now[CLOCK_ISO_LEN], dis[8];
    PGresult     *res;
    const char   *v[5], *outcome;
    job_result_e  jr;

    last = p->job->attempts >= p->job->max_attempts;

    switch (rc) {
    case PIPE_OK:
        outcome = "succeeded";
        jr = JOB_DONE;
        break;
    case PIPE_TRANSIENT:
        outcome = last ? "failed" : "retry";
        jr = JOB_RETRY;
        break;
    case PIPE_RATE:
        outcome = "waiting";
        jr = JOB_RETRY_AFTER;
        p->job->retry_after_ms = p->retry_after_ms;
        snprintf(p->error, sizeof(p->error), "%s asked to slow down (429):"
                 " again in %lld s", p->provider,
                 (long long) (p->retry_after_ms + 999) / 1000);
        break;
    case PIPE_CANCELLED:
        outcome = "cancelled";
        jr = JOB_CANCELLED;
        break;
    case PIPE_RECONNECT:
        outcome = "failed";
        jr = JOB_FAIL;
        snprintf(p->error, sizeof(p->error), "%s refused the grant: the"
                 " integration needs to be reconnected", p->provider);
        break;
    default:
        outcome = "failed";
        jr = JOB_FAIL;
        break;
    }

    clock_iso(clock_now_ms(), now);
    snprintf(dis, sizeof(dis), "%d", PIPELINE_DISABLE_AFTER);

    v[0] = p->sync_id;
    v[1] = outcome;
    v[2] = rc == PIPE_OK || rc == PIPE_CANCELLED ? NULL : p->error;
    v[3] = now;
    v[4] = dis;

    snprintf(p->job->error, sizeof(p->job->error), "%s", p->error);

    if (db_begin_tenant_id(p->db, p->job->tenant, err, sizeof(err)) != 0) {
        snprintf(p->job->error, sizeof(p->job->error), "database: %s", err);
        return JOB_RETRY;
    }

    res = db_exec(p->db, DB_S_SYNC_FINISH, 5, v, err, sizeof(err));
    if (res == NULL) {
        db_rollback(p->db);
        snprintf(p->job->error, sizeof(p->job->error), "database: %s", err);
        return JOB_RETRY;
    }

    if (db_commit(p->db, err, sizeof(err)) != 0) {
        PQclear(res);
        snprintf(p->job->error, sizeof(p->job->error), "database: %s", err);
        return JOB_RETRY;
    }

    disabled = PQntuples(res) > 0 && strcmp(PQgetvalue(res, 0, 1), "t") == 0;

    if (PQntuples(res) > 0) {
        pipe_publish(p->sync_id, PQgetvalue(res, 0, 0));
    }

    PQclear(res);

    if (disabled && jr == JOB_RETRY) {
        log_event(LOG_WARN, "integration_disabled", "integration",
                  p->job->integration, "msg", p->error, NULL);
        jr = JOB_FAIL;
    }

    return jr;
}


job_result_e
pipeline_sync_job(job_t *job, db_conn_t *db)
{
    int            done, i, n, rc;
    char           err[PIPE_MSG_LEN];
    json_t        *targets;
    pipe_t         p;
    pipe_rc_e      prc;
    const char    *mode;
    job_result_e   jr;

    memset(&p, 0, sizeof(p));
    p.job = job;
    p.db = db;
    p.sync_id = json_string_value(json_object_get(job->payload, "sync_id"));

    if (p.sync_id == NULL || job->integration[0] == '\0') {
        snprintf(job->error, sizeof(job->error), "a sync job needs sync_id"
                 " and an integration");
        return JOB_FAIL;
    }

    p.sc = sync_conf_get();

    prc = pipe_load(&p, &done);

    /* mode full: every record again, not only those changed since */
    mode = json_string_value(json_object_get(job->payload, "mode"));
    if (mode != NULL && strcmp(mode, "full") == 0) {
        p.have_since = 0;
    }

    if (done) {
        json_decref(p.cursors);
        sync_conf_put(p.sc);
        snprintf(job->error, sizeof(job->error), "%s", p.error);
        return prc == PIPE_OK ? JOB_DONE : JOB_FAIL;
    }

    if (prc == PIPE_OK) {
        rc = oauth_access_token(db, job->tenant, job->integration, NULL,
                                &p.token, err, sizeof(err));

        if (rc == OAUTH_RECONNECT) {
            prc = PIPE_RECONNECT;

        } else if (rc != 0) {
            snprintf(p.error, sizeof(p.error), "no access token: %s", err);
            prc = rc == OAUTH_TRANSIENT ? PIPE_TRANSIENT : PIPE_PERMANENT;
        }
    }

    if (prc == PIPE_OK) {
        targets = json_object_get(job->payload, "targets");

        if (json_is_array(targets) && json_array_size(targets) > 0) {
            prc = pipe_targets(&p, targets);

        } else {
            for (n = 0; p.ops->streams[n] != NULL; n++) {
                /* count */
            }

            for (i = 0; i < n && prc == PIPE_OK; i++) {
                prc = pipe_stream(&p, p.ops->streams[i], i, n);
            }
        }
    }

    if (prc == PIPE_OK && atomic_load(&job->cancelled)) {
        prc = PIPE_CANCELLED;
    }

    jr = pipe_finish(&p, prc);

    log_event(jr == JOB_DONE ? LOG_INFO : LOG_WARN, "sync", "sync", p.sync_id,
              "integration", job->integration, "provider", p.provider,
              "outcome", jr == JOB_DONE ? "succeeded"
                         : jr == JOB_CANCELLED ? "cancelled"
                         : jr == JOB_FAIL ? "failed" : "retry",
              "msg", prc == PIPE_OK ? "" : p.error, NULL);

    oauth_token_free(p.token);
    json_decref(p.cursors);
    sync_conf_put(p.sc);

    return jr;
}


static int
pipe_hex(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 0;
}


job_result_e
pipeline_webhook_job(job_t *job, db_conn_t *db)
{
    int                    rc;
    char                   why[PIPE_MSG_LEN];
    char                  *body, *hex;
    size_t                 i, blen;
    char                   err[PIPE_MSG_LEN], now[CLOCK_ISO_LEN], *pl;
    json_t                *targets, *payload;
    PGresult              *res;
    const char            *v[4], *event;
    const provider_ops_t  *ops;

    event = json_string_value(json_object_get(job->payload, "event_id"));
    if (event == NULL) {
        snprintf(job->error, sizeof(job->error), "no event_id");
        return JOB_FAIL;
    }

    if (db_begin_tenant_id(db, job->tenant, err, sizeof(err)) != 0) {
        snprintf(job->error, sizeof(job->error), "database: %s", err);
        return JOB_RETRY;
    }

    v[0] = event;
    res = db_exec(db, DB_S_WHEV_GET, 1, v, err, sizeof(err));
    if (res == NULL) {
        db_rollback(db);
        snprintf(job->error, sizeof(job->error), "database: %s", err);
        return JOB_RETRY;
    }

    if (PQntuples(res) == 0 || strcmp(PQgetvalue(res, 0, 3), "t") == 0) {
        PQclear(res);
        db_rollback(db);
        return JOB_DONE;            /* gone, or processed already */
    }

    targets = NULL;
    ops = provider_ops(PQgetvalue(res, 0, 0));
    rc = 0;

    /* an integration that is not active does not sync: the event is kept,
     * processed, with why (no failure counted against the integration) */
    if (strcmp(PQgetvalue(res, 0, 4), "active") != 0) {
        snprintf(why, sizeof(why), "not synced: the integration is %s",
                 PQgetvalue(res, 0, 4));
        PQclear(res);
        v[1] = why;
        res = db_exec(db, DB_S_WHEV_DONE, 2, v, err, sizeof(err));
        if (res == NULL) {
            db_rollback(db);
            snprintf(job->error, sizeof(job->error), "database: %s", err);
            return JOB_RETRY;
        }
        PQclear(res);
        return db_commit(db, err, sizeof(err)) == 0 ? JOB_DONE : JOB_RETRY;
    }

    /* the raw body, as verified at the edge (hex from PostgreSQL) */
    hex = PQgetvalue(res, 0, 2);
    blen = strlen(hex) / 2;
    body = malloc(blen + 1);

    if (body == NULL) {
        PQclear(res);
        db_rollback(db);
        snprintf(job->error, sizeof(job->error), "out of memory");
        return JOB_RETRY;
    }

    for (i = 0; i < blen; i++) {
        body[i] = (char) (pipe_hex(hex[2 * i]) << 4 | pipe_hex(hex[2 * i + 1]));
    }
    body[blen] = '\0';

    if (ops != NULL && ops->webhook_targets != NULL) {
        rc = ops->webhook_targets(PQgetvalue(res, 0, 1), body, blen,
                                  &targets, err, sizeof(err));
    }

    free(body);
    PQclear(res);

    if (rc != 0) {
        /* an event we cannot read is kept with why, never retried */
        snprintf(why, sizeof(why), "%s", err);
        v[1] = why;
        res = db_exec(db, DB_S_WHEV_DONE, 2, v, err, sizeof(err));
        if (res != NULL) {
            PQclear(res);
        }
        db_commit(db, err, sizeof(err));
        return JOB_DONE;
    }

    if (targets != NULL && json_array_size(targets) > 0) {
        payload = json_pack("{s:O,s:s}", "targets", targets, "event_id",
                            event);
        pl = payload != NULL ? json_dumps(payload, JSON_COMPACT) : NULL;
        json_decref(payload);

        clock_iso(clock_now_ms(), now);
        v[0] = job->integration;
        v[1] = "webhook";
        v[2] = pl;
        v[3] = now;

        res = pl != NULL ? db_exec(db, DB_S_SYNC_ENQUEUE, 4, v, err,
                                   sizeof(err))
                         : NULL;
        free(pl);

        if (res == NULL) {
            json_decref(targets);
            db_rollback(db);
            snprintf(job->error, sizeof(job->error), "enqueue: %s", err);
            return JOB_RETRY;
        }

        PQclear(res);
    }

    json_decref(targets);

    v[0] = event;
    v[1] = NULL;
    res = db_exec(db, DB_S_WHEV_DONE, 2, v, err, sizeof(err));
    if (res == NULL) {
        db_rollback(db);
        snprintf(job->error, sizeof(job->error), "database: %s", err);
        return JOB_RETRY;
    }

    PQclear(res);

    if (db_commit(db, err, sizeof(err)) != 0) {
        snprintf(job->error, sizeof(job->error), "database: %s", err);
        return JOB_RETRY;
    }

    return JOB_DONE;
}
