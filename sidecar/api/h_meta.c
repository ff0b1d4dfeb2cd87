
/*
 * hubgated: routes about the daemon itself: /healthz, /metrics,
 * /v1/openapi.json, /v1/providers.
 */

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "server.h"
#include "../embedded.h"
#include "../log.h"
#include "../metrics.h"
#include "../providers/providers.h"
#include "../store/redis.h"


#define H_HEALTH_TIMEOUT_MS  1000


static char  *h_providers_body;         /* rendered once */


static void h_providers_init(void);


void
h_healthz(api_req_t *r)
{
    int         pg_ok, redis_ok;
    char        err[512], addr[512];
    PGresult   *res;
    db_conn_t  *c;

    pg_ok = 0;
    c = db_acquire(H_HEALTH_TIMEOUT_MS, err, sizeof(err));

    if (c != NULL) {
        res = db_exec(c, DB_S_PING, 0, NULL, err, sizeof(err));
        pg_ok = res != NULL;
        PQclear(res);
        db_release(c);
    }

    if (!pg_ok) {
        log_event(LOG_WARN, "healthz", "postgres", err, NULL);
    }

    api_server_redis_address(addr, sizeof(addr));
    redis_ok = redis_ping(addr, H_HEALTH_TIMEOUT_MS, err, sizeof(err)) == 0;

    if (!redis_ok) {
        log_event(LOG_WARN, "healthz", "redis", err, NULL);
    }

    api_json(r, pg_ok && redis_ok ? 200 : 503,
             json_pack("{s:s,s:s,s:s}",
                       "status", pg_ok && redis_ok ? "ok" : "unavailable",
                       "postgres", pg_ok ? "ok" : "unreachable",
                       "redis", redis_ok ? "ok" : "unreachable"));
}


void
h_metrics(api_req_t *r)
{
    char    *text;
    size_t   len;

    if (!api_server_metrics_enabled()) {
        api_error(r, 404, "not_found", "metrics are off (metrics = off)");
        return;
    }

    text = metrics_render(api_server_inflight(), &len);
    if (text == NULL) {
        api_error(r, 500, "internal", "out of memory");
        return;
    }

    api_raw_take(r, 200, "text/plain; version=0.0.4; charset=utf-8", text,
                 len);
}


void
h_openapi(api_req_t *r)
{
    const embedded_file_t  *f;

    f = embedded_find("sidecar/api/openapi.json");
    if (f == NULL) {
        api_error(r, 500, "internal", "the OpenAPI document is missing");
        return;
    }

    api_raw(r, 200, "application/json", (const char *) f->data, f->len);
}


/* the table is static: render it once */
static void
h_providers_init(void)
{
    size_t             i, n;
    json_t            *list, *doc;
    const provider_t  *all;

    all = providers_all(&n);
    list = json_array();

    for (i = 0; list && i < n; i++) {
        json_array_append_new(list, provider_json(&all[i]));
    }

    doc = json_pack("{s:o}", "data", list);
    h_providers_body = doc ? json_dumps(doc, JSON_COMPACT
                                             | JSON_PRESERVE_ORDER)
                           : NULL;
    json_decref(doc);
}


void
h_providers(api_req_t *r)
{
    static pthread_once_t  once = PTHREAD_ONCE_INIT;

    pthread_once(&once, h_providers_init);

    if (h_providers_body == NULL) {
        api_error(r, 500, "internal", "out of memory");
        return;
    }

    api_raw(r, 200, "application/json", h_providers_body,
            strlen(h_providers_body));
}
