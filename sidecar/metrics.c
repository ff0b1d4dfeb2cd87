
/*
 * hubgated: Prometheus metrics (see metrics.h).
 */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "store/db.h"
#include "sync/invoicing.h"
#include "sync/oauth.h"
#include "sync/pipeline.h"
#include "sync/queue.h"


/* the statuses the API answers with; anything else counts as "other" */
static const int  metrics_codes[] = {
    200, 201, 202, 204, 304, 400, 401, 403, 404, 405, 409, 413, 415, 422,
    429, 500, 502, 503, 504
};

#define METRICS_NCODES  (sizeof(metrics_codes) / sizeof(metrics_codes[0]))

static const double  metrics_buckets[] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
    2.5, 5, 10
};

#define METRICS_NBUCKETS  (sizeof(metrics_buckets) / sizeof(metrics_buckets[0]))

static const char *const  metrics_vault_ops[] = {
    "seal", "open", "wrap", "unwrap", "rewrap"
};


typedef struct {
    uint64_t  codes[METRICS_NCODES + 1];
} metrics_route_t;


static size_t              metrics_nroutes;
static const char *const  *metrics_methods;
static const char *const  *metrics_paths;
static metrics_route_t    *metrics_routes;      /* nroutes + 1 (unmatched) */
static uint64_t            metrics_hist[METRICS_NBUCKETS + 1];
static uint64_t            metrics_count;
static uint64_t            metrics_sum_us;
static uint64_t            metrics_vault_n[METRICS_VAULT_NOPS][2];
static uint64_t            metrics_reloads[2];
static uint64_t            metrics_intake[2];     /* groups, events */
static time_t              metrics_start;


typedef struct {
    char    *buf;
    size_t   len;
    size_t   cap;
    int      failed;
} metrics_out_t;


static void metrics_sync(metrics_out_t *o);
static void metrics_printf(metrics_out_t *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));


int
metrics_init(size_t nroutes, const char *const *methods,
    const char *const *paths)
{
    metrics_routes = calloc(nroutes + 1, sizeof(metrics_route_t));
    if (metrics_routes == NULL) {
        return -1;
    }

    metrics_nroutes = nroutes;
    metrics_methods = methods;
    metrics_paths = paths;
    metrics_start = time(NULL);

    return 0;
}


void
metrics_request(int route, int status, double seconds)
{
    size_t    i;
    uint64_t  us;

    if (metrics_routes == NULL) {
        return;
    }

    if (route < 0 || (size_t) route >= metrics_nroutes) {
        route = (int) metrics_nroutes;
    }

    for (i = 0; i < METRICS_NCODES; i++) {
        if (metrics_codes[i] == status) {
            break;
        }
    }

    __atomic_fetch_add(&metrics_routes[route].codes[i], 1, __ATOMIC_RELAXED);

    for (i = 0; i < METRICS_NBUCKETS; i++) {
        if (seconds <= metrics_buckets[i]) {
            break;
        }
    }

    __atomic_fetch_add(&metrics_hist[i], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&metrics_count, 1, __ATOMIC_RELAXED);

    us = seconds > 0 ? (uint64_t) (seconds * 1e6) : 0;
    __atomic_fetch_add(&metrics_sum_us, us, __ATOMIC_RELAXED);
}


void
metrics_vault(metrics_vault_op_e op, int ok)
{
    __atomic_fetch_add(&metrics_vault_n[op][ok ? 0 : 1], 1, __ATOMIC_RELAXED);
}


void
metrics_intake_group(size_t n)
{
    __atomic_fetch_add(&metrics_intake[0], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&metrics_intake[1], (uint64_t) n, __ATOMIC_RELAXED);
}


void
metrics_reload(int ok)
{
    __atomic_fetch_add(&metrics_reloads[ok ? 0 : 1], 1, __ATOMIC_RELAXED);
}


static void
metrics_printf(metrics_out_t *o, const char *fmt, ...)
{
    int       n;
    char     *p;
    va_list   ap;

    if (o->failed) {
        return;
    }

    for ( ;; ) {
        va_start(ap, fmt);
        n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);

        if (n < 0) {
            o->failed = 1;
            return;
        }

        if ((size_t) n < o->cap - o->len) {
            o->len += n;
            return;
        }

        p = realloc(o->buf, o->cap * 2 + n);
        if (p == NULL) {
            o->failed = 1;
            return;
        }

        o->buf = p;
        o->cap = o->cap * 2 + n;
    }
}


/* the sync engine: queue, pipeline and OAuth counters */
static void
metrics_sync(metrics_out_t *o)
{
    queue_stats_t     q;
    oauth_stats_t     a;
    pipeline_stats_t  p;

    queue_stats(&q);
    pipeline_stats(&p);
    oauth_stats(&a);

    metrics_printf(o,
        "# HELP hubgated_jobs_total Jobs by what became of them.\n"
        "# TYPE hubgated_jobs_total counter\n"
        "hubgated_jobs_total{event=\"claimed\"} %llu\n"
        "hubgated_jobs_total{event=\"done\"} %llu\n"
        "hubgated_jobs_total{event=\"retried\"} %llu\n"
        "hubgated_jobs_total{event=\"dead\"} %llu\n"
        "hubgated_jobs_total{event=\"cancelled\"} %llu\n"
        "hubgated_jobs_total{event=\"lost\"} %llu\n"
        "# HELP hubgated_jobs_running Jobs this instance runs now.\n"
        "# TYPE hubgated_jobs_running gauge\n"
        "hubgated_jobs_running %d\n"
        "# HELP hubgated_sync_pages_total Provider pages stored.\n"
        "# TYPE hubgated_sync_pages_total counter\n"
        "hubgated_sync_pages_total %llu\n"
        "# HELP hubgated_sync_records_total Records synced, by result.\n"
        "# TYPE hubgated_sync_records_total counter\n"
        "hubgated_sync_records_total{result=\"read\"} %llu\n"
        "hubgated_sync_records_total{result=\"created\"} %llu\n"
        "hubgated_sync_records_total{result=\"updated\"} %llu\n"
        "hubgated_sync_records_total{result=\"failed\"} %llu\n"
        "# HELP hubgated_provider_calls_total Calls to providers.\n"
        "# TYPE hubgated_provider_calls_total counter\n"
        "hubgated_provider_calls_total %llu\n"
        "# HELP hubgated_sync_rate_waits_total Waits for a provider's"
        " limit on our side.\n"
        "# TYPE hubgated_sync_rate_waits_total counter\n"
        "hubgated_sync_rate_waits_total %llu\n"
        "# HELP hubgated_provider_responses_total Provider answers that"
        " changed a sync's course.\n"
        "# TYPE hubgated_provider_responses_total counter\n"
        "hubgated_provider_responses_total{status=\"429\"} %llu\n"
        "hubgated_provider_responses_total{status=\"401\"} %llu\n"
        "# HELP hubgated_oauth_total OAuth operations.\n"
        "# TYPE hubgated_oauth_total counter\n"
        "hubgated_oauth_total{op=\"connect\"} %llu\n"
        "hubgated_oauth_total{op=\"refresh\"} %llu\n"
        "hubgated_oauth_total{op=\"refresh_failed\"} %llu\n"
        "hubgated_oauth_total{op=\"revoke\"} %llu\n",
        (unsigned long long) q.claimed, (unsigned long long) q.done,
        (unsigned long long) q.retried, (unsigned long long) q.dead,
        (unsigned long long) q.cancelled, (unsigned long long) q.lost,
        q.running,
        (unsigned long long) p.pages, (unsigned long long) p.records,
        (unsigned long long) p.created, (unsigned long long) p.updated,
        (unsigned long long) p.failed, (unsigned long long) p.provider_calls,
        (unsigned long long) p.rate_waits,
        (unsigned long long) p.retries_429,
        (unsigned long long) p.refreshes_401,
        (unsigned long long) a.connects,
        (unsigned long long) a.token_refreshes,
        (unsigned long long) a.refresh_failures,
        (unsigned long long) a.revocations);

    metrics_printf(o,
        "# HELP hubgated_invoices_generated_total Invoices from synced"
        " orders, by result.\n"
        "# TYPE hubgated_invoices_generated_total counter\n"
        "hubgated_invoices_generated_total{result=\"issued\"} %llu\n"
        "hubgated_invoices_generated_total{result=\"failed\"} %llu\n"
        "# HELP hubgated_invoices_overdue_total Invoices the scheduler"
        " marked overdue.\n"
        "# TYPE hubgated_invoices_overdue_total counter\n"
        "hubgated_invoices_overdue_total %llu\n",
        (unsigned long long) invoicing_stat_created(),
        (unsigned long long) invoicing_stat_failed(),
        (unsigned long long) invoicing_stat_overdue());
}


char *
metrics_render(unsigned inflight, size_t *len)
{
    size_t           i, j;
    uint64_t         v, cum;
    const char      *method, *path;
    metrics_out_t    o;
    db_pool_stats_t  st;

    o.cap = 8192;
    o.len = 0;
    o.failed = 0;
    o.buf = malloc(o.cap);
    if (o.buf == NULL) {
        return NULL;
    }

    metrics_printf(&o,
        "# HELP hubgated_http_requests_total API requests by route and"
        " status.\n# TYPE hubgated_http_requests_total counter\n");

    for (i = 0; i <= metrics_nroutes; i++) {
        method = i < metrics_nroutes ? metrics_methods[i] : "";
        path = i < metrics_nroutes ? metrics_paths[i] : "unmatched";

        for (j = 0; j <= METRICS_NCODES; j++) {
            v = __atomic_load_n(&metrics_routes[i].codes[j], __ATOMIC_RELAXED);
            if (v == 0) {
                continue;
            }

            if (j < METRICS_NCODES) {
                metrics_printf(&o, "hubgated_http_requests_total{method=\"%s\","
                               "route=\"%s\",status=\"%d\"} %llu\n", method,
                               path, metrics_codes[j], (unsigned long long) v);
            } else {
                metrics_printf(&o, "hubgated_http_requests_total{method=\"%s\","
                               "route=\"%s\",status=\"other\"} %llu\n", method,
                               path, (unsigned long long) v);
            }
        }
    }

    metrics_printf(&o,
        "# HELP hubgated_http_request_duration_seconds Time from the request"
        " line to the response.\n"
        "# TYPE hubgated_http_request_duration_seconds histogram\n");

    cum = 0;

    for (i = 0; i < METRICS_NBUCKETS; i++) {
        cum += __atomic_load_n(&metrics_hist[i], __ATOMIC_RELAXED);
        metrics_printf(&o, "hubgated_http_request_duration_seconds_bucket"
                       "{le=\"%g\"} %llu\n", metrics_buckets[i],
                       (unsigned long long) cum);
    }

    cum += __atomic_load_n(&metrics_hist[METRICS_NBUCKETS], __ATOMIC_RELAXED);
    metrics_printf(&o, "hubgated_http_request_duration_seconds_bucket"
                   "{le=\"+Inf\"} %llu\n", (unsigned long long) cum);
    metrics_printf(&o, "hubgated_http_request_duration_seconds_sum %.6f\n",
                   __atomic_load_n(&metrics_sum_us, __ATOMIC_RELAXED) / 1e6);
    metrics_printf(&o, "hubgated_http_request_duration_seconds_count %llu\n",
                   (unsigned long long) cum);

    db_pool_stats(&st);

    metrics_printf(&o,
        "# HELP hubgated_db_pool_connections Pool size, open and in-use"
        " connections.\n# TYPE hubgated_db_pool_connections gauge\n"
        "hubgated_db_pool_connections{state=\"size\"} %d\n"
        "hubgated_db_pool_connections{state=\"open\"} %d\n"
        "hubgated_db_pool_connections{state=\"in_use\"} %d\n"
        "# HELP hubgated_db_pool_acquire_total Connection acquisitions.\n"
        "# TYPE hubgated_db_pool_acquire_total counter\n"
        "hubgated_db_pool_acquire_total{result=\"ok\"} %llu\n"
        "hubgated_db_pool_acquire_total{result=\"waited\"} %llu\n"
        "hubgated_db_pool_acquire_total{result=\"timeout\"} %llu\n"
        "# HELP hubgated_db_connect_errors_total Failed connection attempts.\n"
        "# TYPE hubgated_db_connect_errors_total counter\n"
        "hubgated_db_connect_errors_total %llu\n",
        st.size, st.open, st.in_use, (unsigned long long) st.acquired,
        (unsigned long long) st.waited, (unsigned long long) st.timeouts,
        (unsigned long long) st.connect_errors);

    metrics_printf(&o,
        "# HELP hubgated_vault_operations_total Vault operations by kind and"
        " result.\n# TYPE hubgated_vault_operations_total counter\n");

    for (i = 0; i < METRICS_VAULT_NOPS; i++) {
        for (j = 0; j < 2; j++) {
            metrics_printf(&o, "hubgated_vault_operations_total{op=\"%s\","
                           "result=\"%s\"} %llu\n", metrics_vault_ops[i],
                           j ? "error" : "ok",
                           (unsigned long long) __atomic_load_n(
                               &metrics_vault_n[i][j], __ATOMIC_RELAXED));
        }
    }

    metrics_printf(&o,
        "# HELP hubgated_config_reloads_total SIGHUP reloads by result.\n"
        "# TYPE hubgated_config_reloads_total counter\n"
        "hubgated_config_reloads_total{result=\"ok\"} %llu\n"
        "hubgated_config_reloads_total{result=\"error\"} %llu\n"
        "# HELP hubgated_requests_in_flight Requests being served.\n"
        "# TYPE hubgated_requests_in_flight gauge\n"
        "hubgated_requests_in_flight %u\n"
        "# HELP hubgated_webhook_intake_groups_total Commits of webhook"
        " events, each\n# of every event that arrived during the previous"
        " one.\n"
        "# TYPE hubgated_webhook_intake_groups_total counter\n"
        "hubgated_webhook_intake_groups_total %llu\n"
        "# HELP hubgated_webhook_intake_events_total Webhook events in"
        " those commits.\n"
        "# TYPE hubgated_webhook_intake_events_total counter\n"
        "hubgated_webhook_intake_events_total %llu\n"
        "# HELP hubgated_start_time_seconds Unix time the daemon started.\n"
        "# TYPE hubgated_start_time_seconds gauge\n"
        "hubgated_start_time_seconds %lld\n",
        (unsigned long long) metrics_reloads[0],
        (unsigned long long) metrics_reloads[1], inflight,
        (unsigned long long) __atomic_load_n(&metrics_intake[0],
                                             __ATOMIC_RELAXED),
        (unsigned long long) __atomic_load_n(&metrics_intake[1],
                                             __ATOMIC_RELAXED),
        (long long) metrics_start);

    metrics_sync(&o);

    if (o.failed) {
        free(o.buf);
        return NULL;
    }

    *len = o.len;
    return o.buf;
}
