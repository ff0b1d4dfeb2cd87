
/*
 * hubgated: HTTP glue, identity, idempotency and dispatch (see api.h).
 */

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "api.h"
#include "server.h"
#include "../log.h"
#include "../metrics.h"
#include "../../ngx_module/hg_identity.h"


#define API_DB_WAIT_MS        5000
#define API_IDEM_KEY_MAX      255


static pthread_rwlock_t   api_lock = PTHREAD_RWLOCK_INITIALIZER;
static api_settings_t     api_set;          /* strings owned here */
static struct MHD_Daemon *api_daemon;
static unsigned           api_inflight;
static int                api_stopping;


static void *api_uri_cb(void *cls, const char *uri,
    struct MHD_Connection *conn);
static enum MHD_Result api_access_cb(void *cls, struct MHD_Connection *conn,
    const char *url, const char *method, const char *version,
    const char *upload_data, size_t *upload_data_size, void **req_cls);
static void api_completed_cb(void *cls, struct MHD_Connection *conn,
    void **req_cls, enum MHD_RequestTerminationCode toe);
static void api_mhd_log(void *cls, const char *fmt, va_list ap);
static enum MHD_Result api_send(api_req_t *r);
static void api_dispatch(api_req_t *r);
static int api_route(api_req_t *r, const char *prefix);
static int api_authenticate(api_req_t *r);
static void api_request_id(api_req_t *r);
static void api_run(api_req_t *r);
static int api_idem_claim(api_req_t *r, const char *key,
    const unsigned char *hash);
static void api_idem_finish(api_req_t *r, const char *key);
static void api_finish_tx(api_req_t *r);
static void api_commit(api_req_t *r);
static void api_release(api_req_t *r);
static int api_db_take(api_req_t *r);
static int api_db_lost(api_req_t *r, const char *err);
static int api_tx_open(api_req_t *r, const char *provider,
    const char *integration);
static int api_hex(const unsigned char *in, size_t len, char *out);
static const char *api_json_reason(const json_error_t *je);


int
api_server_configure(const api_settings_t *s)
{
    char           *prefix, *redis;
    unsigned char  *key;

    key = malloc(s->identity_key_len);
    prefix = strdup(s->api_prefix);
    redis = strdup(s->redis_address);

    if (key == NULL || prefix == NULL || redis == NULL) {
        free(key);
        free(prefix);
        free(redis);
        return -1;
    }

    memcpy(key, s->identity_key, s->identity_key_len);

    pthread_rwlock_wrlock(&api_lock);

    if (api_set.identity_key) {
        OPENSSL_cleanse((void *) api_set.identity_key,
                        api_set.identity_key_len);
        free((void *) api_set.identity_key);
    }

    free((void *) api_set.api_prefix);
    free((void *) api_set.redis_address);

    api_set = *s;
    api_set.identity_key = key;
    api_set.api_prefix = prefix;
    api_set.redis_address = redis;

    pthread_rwlock_unlock(&api_lock);

    return 0;
}


int
api_server_metrics_enabled(void)
{
    int  on;

    pthread_rwlock_rdlock(&api_lock);
    on = api_set.metrics;
    pthread_rwlock_unlock(&api_lock);

    return on;
}


void
api_server_redis_address(char *buf, size_t size)
{
    pthread_rwlock_rdlock(&api_lock);
    snprintf(buf, size, "%s", api_set.redis_address);
    pthread_rwlock_unlock(&api_lock);
}


int
api_server_start(int fd, char *err, size_t errlen)
{
    api_daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION
        | MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG,
        0, NULL, NULL, api_access_cb, NULL,
        MHD_OPTION_EXTERNAL_LOGGER, api_mhd_log, NULL,
        MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_URI_LOG_CALLBACK, api_uri_cb, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, api_completed_cb, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) 120,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int) 1024,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) 64 * 1024,
        MHD_OPTION_THREAD_STACK_SIZE, (size_t) 256 * 1024,
        MHD_OPTION_END);

    if (api_daemon == NULL) {
        snprintf(err, errlen, "cannot start the HTTP server on the socket");
        return -1;
    }

    return 0;
}


int
api_server_stopping(void)
{
    return __atomic_load_n(&api_stopping, __ATOMIC_ACQUIRE);
}


void
api_server_quiesce(void)
{
    MHD_socket  fd;

    __atomic_store_n(&api_stopping, 1, __ATOMIC_RELEASE);

    if (api_daemon) {
        fd = MHD_quiesce_daemon(api_daemon);
        if (fd != MHD_INVALID_SOCKET) {
            close(fd);
        }
    }
}


unsigned
api_server_inflight(void)
{
    return __atomic_load_n(&api_inflight, __ATOMIC_ACQUIRE);
}


void
api_server_stop(void)
{
    if (api_daemon) {
        MHD_stop_daemon(api_daemon);
        api_daemon = NULL;
    }
}


static void
api_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char    msg[512];
    size_t  n;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) {
        msg[--n] = '\0';
    }

    log_event(LOG_WARN, "http", "msg", msg, NULL);
}


/* the first callback of a request: the raw request-target, as signed */
static void *
api_uri_cb(void *cls, const char *uri, struct MHD_Connection *conn)
{
    api_req_t  *r;

    r = calloc(1, sizeof(api_req_t));
    if (r == NULL) {
        return NULL;
    }

    r->uri = strdup(uri);
    if (r->uri == NULL) {
        free(r);
        return NULL;
    }

    r->route_index = -1;
    clock_gettime(CLOCK_MONOTONIC, &r->t0);

    return r;
}


static void
api_completed_cb(void *cls, struct MHD_Connection *conn, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
    api_req_t  *r;

    r = *req_cls;
    if (r == NULL) {
        return;
    }

    *req_cls = NULL;
    api_release(r);

    if (r->started) {
        __atomic_fetch_sub(&api_inflight, 1, __ATOMIC_ACQ_REL);
    }

    free(r->uri);
    free(r->path_buf);
    free(r->body);
    free(r->resp);
    free(r);
}


static enum MHD_Result
api_access_cb(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
    char        *p;
    size_t       limit, need;
    api_req_t   *r;
    const char  *cl;

    r = *req_cls;
    if (r == NULL) {
        return MHD_NO;
    }

    if (!r->started) {
        /* in flight from here to api_completed_cb: SIGTERM waits for it */
        __atomic_fetch_add(&api_inflight, 1, __ATOMIC_ACQ_REL);
        r->started = 1;
        r->conn = conn;
        r->method = method;
        api_request_id(r);

        pthread_rwlock_rdlock(&api_lock);
        limit = api_set.body_limit;
        pthread_rwlock_unlock(&api_lock);

        cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                         MHD_HTTP_HEADER_CONTENT_LENGTH);

        if (cl != NULL && strtoull(cl, NULL, 10) > limit) {
            r->body_too_large = 1;
            api_error(r, 413, "body_too_large",
                      "the request body is larger than %zu bytes", limit);
            return api_send(r);
        }

        r->body_cap = limit;
        return MHD_YES;
    }

    if (*upload_data_size) {
        if (r->status) {
            /* answered early (413): the rest of the body is discarded */
            *upload_data_size = 0;
            return MHD_YES;
        }

        need = r->body_len + *upload_data_size;

        if (need > r->body_cap) {
            r->body_too_large = 1;

        } else if (!r->body_too_large) {
            p = realloc(r->body, need + 1);
            if (p == NULL) {
                return MHD_NO;
            }

            memcpy(p + r->body_len, upload_data, *upload_data_size);
            r->body = p;
            r->body_len = need;
            r->body[need] = '\0';
        }

        *upload_data_size = 0;
        return MHD_YES;
    }

    if (r->status) {
        return MHD_YES;             /* the early answer is already queued */
    }

    if (r->body_too_large) {
        api_error(r, 413, "body_too_large",
                  "the request body is larger than %zu bytes", r->body_cap);

    } else {
        api_dispatch(r);
    }

    return api_send(r);
}


static enum MHD_Result
api_send(api_req_t *r)
{
    char                    dur[32], status[8];
    double                  secs;
    enum MHD_Result         rc;
    struct timespec         t1;
    struct MHD_Response    *resp;

    api_release(r);

    if (r->status == 0) {
        api_error(r, 500, "internal", "the handler gave no answer");
    }

    if (r->stream != NULL) {
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
                   (MHD_ContentReaderCallback) r->stream, r->stream_ctx,
                   (MHD_ContentReaderFreeCallback) r->stream_free);
        if (resp == NULL) {
            if (r->stream_free != NULL) {
                r->stream_free(r->stream_ctx);
            }
            r->stream = NULL;
            return MHD_NO;
        }

        r->stream = NULL;           /* owned by the response now */
        MHD_add_response_header(resp, "X-Accel-Buffering", "no");

    } else {
        resp = MHD_create_response_from_buffer(r->resp_len, r->resp,
                                               MHD_RESPMEM_MUST_FREE);
        if (resp == NULL) {
            return MHD_NO;
        }

        r->resp = NULL;             /* owned by the response now */
    }

    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->content_type ? r->content_type
                                            : "application/json");
    MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");

    if (r->location[0]) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->location);
    }

    if (r->allow[0]) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
    }

    if (r->replayed) {
        MHD_add_response_header(resp, "Idempotent-Replayed", "true");
    }

    rc = MHD_queue_response(r->conn, r->status, resp);
    MHD_destroy_response(resp);

    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (t1.tv_sec - r->t0.tv_sec) + (t1.tv_nsec - r->t0.tv_nsec) / 1e9;
    metrics_request(r->route_index, r->status, secs);

    snprintf(dur, sizeof(dur), "%.3f", secs * 1000);
    snprintf(status, sizeof(status), "%d", r->status);
    log_context_set(r->request_id, r->tenant_slug);
    log_event(r->status >= 500 ? LOG_ERROR : LOG_INFO, "request",
              "method", r->method,
              "path", r->path ? r->path : "",
              "route", r->route ? r->route->path : "",
              "status", status, "ms", dur,
              "replayed", r->replayed ? "true" : NULL,
              NULL);
    log_context_set(NULL, NULL);

    return rc;
}


static void
api_request_id(api_req_t *r)
{
    size_t          i, n;
    const char     *h;
    unsigned char   raw[16];

    h = api_header(r, "X-Request-Id");

    if (h != NULL) {
        n = strlen(h);

        for (i = 0; i < n; i++) {
            if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'z')
                  || (h[i] >= 'A' && h[i] <= 'Z') || h[i] == '-'
                  || h[i] == '_' || h[i] == '.'))
            {
                break;
            }
        }

        if (n > 0 && n <= 64 && i == n) {
            memcpy(r->request_id, h, n + 1);
            return;
        }
    }

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        memset(raw, 0, sizeof(raw));
    }

    api_hex(raw, sizeof(raw), r->request_id);
}


static void
api_dispatch(api_req_t *r)
{
    char  prefix[160];

    pthread_rwlock_rdlock(&api_lock);
    snprintf(prefix, sizeof(prefix), "%s", api_set.api_prefix);
    pthread_rwlock_unlock(&api_lock);

    if (api_route(r, prefix) != 0) {
        return;
    }

    if (r->route->auth != API_AUTH_NONE && api_authenticate(r) != 0) {
        return;
    }

    log_context_set(r->request_id, r->tenant_slug);
    api_run(r);
    log_context_set(NULL, NULL);
}


/*
 * Matches the path (the raw target up to '?', after the prefix) against
 * the table: "{x}" captures one segment.  404 or 405 (with Allow) answered
 * here.
 */
static int
api_route(api_req_t *r, const char *prefix)
{
    int                 found;
    char               *q;
    size_t              i, n, plen, np, len;
    const char         *pp, *sp, *pe, *se;
    const api_route_t  *routes, *rt;

    r->path_buf = strdup(r->uri);
    if (r->path_buf == NULL) {
        api_error(r, 500, "internal", "out of memory");
        return -1;
    }

    q = strchr(r->path_buf, '?');
    if (q) {
        *q = '\0';
    }

    r->path = r->path_buf;
    plen = strlen(prefix);

    if (plen && strncmp(r->path, prefix, plen) == 0 && r->path[plen] == '/') {
        r->path += plen;
    }

    routes = api_routes(&n);
    found = 0;

    for (i = 0; i < n; i++) {
        rt = &routes[i];
        pp = rt->path;
        sp = r->path;
        np = 0;

        for ( ;; ) {
            if (*pp == '\0' || *sp == '\0') {
                break;
            }

            if (*pp == '{') {
                pe = strchr(pp, '}');
                se = strchr(sp, '/');
                if (se == NULL) {
                    se = sp + strlen(sp);
                }

                len = se - sp;
                if (len == 0 || len >= API_PARAM_LEN || np == API_PARAMS_MAX)
                {
                    break;
                }

                memcpy(r->params[np], sp, len);
                r->params[np][len] = '\0';
                np++;
                pp = pe + 1;
                sp = se;
                continue;
            }

            if (*pp != *sp) {
                break;
            }

            pp++;
            sp++;
        }

        if (*pp != '\0' || *sp != '\0') {
            continue;
        }

        if (strcmp(rt->method, r->method) == 0) {
            r->route = rt;
            r->route_index = (int) i;
            r->allow[0] = '\0';
            return 0;
        }

        len = strlen(r->allow);
        snprintf(r->allow + len, sizeof(r->allow) - len, "%s%s",
                 len ? ", " : "", rt->method);
        found = 1;
    }

    if (found) {
        api_error(r, 405, "method_not_allowed", "%s is not allowed on %s",
                  r->method, r->path);
        return -1;
    }

    r->allow[0] = '\0';
    api_error(r, 404, "not_found", "no route for %s", r->path);
    return -1;
}


/*
 * The edge signed method, URI, tenant, subject, roles and webhook; nothing
 * else identifies the caller.  Values come from the same headers the MAC
 * covers, so a header added or changed by anyone but the edge fails.
 */
static int
api_authenticate(api_req_t *r)
{
    int             rc;
    long            max_age;
    const char     *auth, *why;
    hg_identity_t   id;

#define API_ID_FIELD(f, h)                                                    \
    id.f.data = api_header(r, h);                                             \
    id.f.len = id.f.data ? strlen(id.f.data) : 0;

    auth = api_header(r, "X-Hubgate-Auth");

    id.method.data = r->method;
    id.method.len = strlen(r->method);
    id.uri.data = r->uri;
    id.uri.len = strlen(r->uri);
    API_ID_FIELD(tenant, "X-Hubgate-Tenant")
    API_ID_FIELD(subject, "X-Hubgate-Subject")
    API_ID_FIELD(roles, "X-Hubgate-Roles")
    API_ID_FIELD(webhook, "X-Hubgate-Webhook")

#undef API_ID_FIELD

    pthread_rwlock_rdlock(&api_lock);
    max_age = api_set.identity_max_age;
    rc = hg_identity_verify(api_set.identity_key, api_set.identity_key_len,
                            auth, auth ? strlen(auth) : 0, &id, time(NULL),
                            max_age);
    pthread_rwlock_unlock(&api_lock);

    if (rc != HG_IDENTITY_OK) {
        switch (rc) {
        case HG_IDENTITY_ERR_MISSING:
            why = "the request carries no identity signature: call the API"
                  " through nginx";
            break;
        case HG_IDENTITY_ERR_STALE:
            why = "the identity signature is too old";
            break;
        default:
            why = "the identity signature is not valid";
        }

        log_event(LOG_WARN, "identity_refused", "reason",
                  hg_identity_strerror(rc), "path", r->path,
                  "request_id", r->request_id, NULL);
        api_error(r, 401, "unauthorized", "%s", why);
        return -1;
    }

    if (id.tenant.len >= sizeof(r->tenant_slug)
        || id.subject.len >= sizeof(r->subject)
        || id.roles.len >= sizeof(r->roles)
        || id.webhook.len >= sizeof(r->webhook))
    {
        api_error(r, 400, "bad_request", "identity values are too long");
        return -1;
    }

    if (id.tenant.len) {
        memcpy(r->tenant_slug, id.tenant.data, id.tenant.len + 1);
    }

    if (id.subject.len) {
        memcpy(r->subject, id.subject.data, id.subject.len + 1);
    }

    if (id.roles.len) {
        memcpy(r->roles, id.roles.data, id.roles.len + 1);
    }

    if (id.webhook.len) {
        memcpy(r->webhook, id.webhook.data, id.webhook.len + 1);
    }

    if (r->route->auth >= API_AUTH_TENANT && r->tenant_slug[0] == '\0') {
        api_error(r, 401, "unauthorized", "the identity names no tenant");
        return -1;
    }

    if (r->route->auth == API_AUTH_ADMIN && !api_has_role(r, "admin")) {
        api_error(r, 403, "forbidden", "this route requires the role admin");
        return -1;
    }

    return 0;
}


/* the handler, wrapped in Idempotency-Key when the route honours it */
static void
api_run(api_req_t *r)
{
    size_t          i, n;
    EVP_MD_CTX     *md;
    const char     *key;
    unsigned char   hash[32];

    key = (r->route->flags & API_F_IDEMPOTENT)
          ? api_header(r, "Idempotency-Key") : NULL;

    if (key == NULL) {
        r->route->handler(r);
        api_finish_tx(r);
        return;
    }

    n = strlen(key);

    for (i = 0; i < n; i++) {
        if (key[i] < 0x21 || key[i] > 0x7e) {
            break;
        }
    }

    if (n == 0 || n > API_IDEM_KEY_MAX || i != n) {
        api_error(r, 400, "bad_request", "Idempotency-Key must be 1 to %d"
                  " printable ASCII characters", API_IDEM_KEY_MAX);
        return;
    }

    /* the request as the key binds it: method, path and body */
    md = EVP_MD_CTX_new();
    if (md == NULL
        || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1
        || EVP_DigestUpdate(md, r->method, strlen(r->method) + 1) != 1
        || EVP_DigestUpdate(md, r->path, strlen(r->path) + 1) != 1
        || EVP_DigestUpdate(md, r->body ? r->body : "", r->body_len) != 1
        || EVP_DigestFinal_ex(md, hash, NULL) != 1)
    {
        EVP_MD_CTX_free(md);
        api_error(r, 500, "internal", "cannot hash the request");
        return;
    }

    EVP_MD_CTX_free(md);

    if (api_idem_claim(r, key, hash) != 0) {
        return;                     /* answered: replay, 409, 422 or error */
    }

    r->route->handler(r);
    api_idem_finish(r, key);
}


/*
 * Claims the key in its own committed transaction, so a concurrent request
 * with the same key sees it in progress.  A claim older than a minute was
 * left by a request that died before finishing (statements time out after
 * 30 s): it is taken over.  Keys live 24 hours.
 */
static int
api_idem_claim(api_req_t *r, const char *key, const unsigned char *hash)
{
    int             rc;
    char            err[512], hex[2 + 64 + 1];
    size_t          blen;
    PGresult       *res;
    const char     *v[4];
    unsigned char  *body;
    int             lens[4], fmts[4];

    if (api_tx_begin(r) != 0) {
        return -1;
    }

    v[0] = key;
    v[1] = r->method;
    v[2] = r->path;
    v[3] = (const char *) hash;
    lens[0] = lens[1] = lens[2] = 0;
    lens[3] = 32;
    fmts[0] = fmts[1] = fmts[2] = 0;
    fmts[3] = 1;

    res = db_execb(r->db, DB_S_IDEM_CLAIM, 4, v, lens, fmts, err,
                   sizeof(err));
    if (res == NULL) {
        api_db_error(r, err);
        return -1;
    }

    rc = PQntuples(res);
    PQclear(res);

    if (rc == 1) {
        goto claimed;
    }

    res = db_exec(r->db, DB_S_IDEM_GET, 1, v, err, sizeof(err));
    if (res == NULL) {
        api_db_error(r, err);
        return -1;
    }

    if (PQntuples(res) != 1) {
        PQclear(res);
        api_error(r, 409, "idempotency_in_progress",
                  "a request with this Idempotency-Key is still running");
        return -1;
    }

    hex[0] = '\\';
    hex[1] = 'x';
    api_hex(hash, 32, hex + 2);

    /* 0 hash, 1 status, 2 response_status, 3 body, 4 expired, 5 stale,
     * 6 location */
    if (strcmp(PQgetvalue(res, 0, 4), "t") == 0
        || (strcmp(PQgetvalue(res, 0, 1), "in_progress") == 0
            && strcmp(PQgetvalue(res, 0, 5), "t") == 0))
    {
        PQclear(res);
        res = db_execb(r->db, DB_S_IDEM_RESET, 4, v, lens, fmts, err,
                       sizeof(err));
        if (res == NULL) {
            api_db_error(r, err);
            return -1;
        }

        PQclear(res);
        goto claimed;
    }

    if (strcmp(PQgetvalue(res, 0, 0), hex) != 0) {
        PQclear(res);
        api_error(r, 422, "idempotency_key_reused", "this Idempotency-Key"
                  " was used with another request (method, path or body)");
        return -1;
    }

    if (strcmp(PQgetvalue(res, 0, 1), "in_progress") == 0) {
        PQclear(res);
        api_error(r, 409, "idempotency_in_progress",
                  "a request with this Idempotency-Key is still running");
        return -1;
    }

    /* done: the stored answer, byte for byte */
    body = PQunescapeBytea((const unsigned char *) PQgetvalue(res, 0, 3),
                           &blen);
    if (body == NULL) {
        PQclear(res);
        api_error(r, 500, "internal", "out of memory");
        return -1;
    }

    api_raw(r, atoi(PQgetvalue(res, 0, 2)), "application/json",
            (const char *) body, blen);
    PQfreemem(body);
    snprintf(r->location, sizeof(r->location), "%s", PQgetvalue(res, 0, 6));
    r->replayed = 1;
    PQclear(res);
    api_finish_tx(r);
    return -1;

claimed:

    if (db_commit(r->db, err, sizeof(err)) != 0) {
        r->in_tx = 0;
        api_db_error(r, err);
        return -1;
    }

    r->in_tx = 0;
    return 0;
}


/*
 * Below 400 the answer is stored in the handler's own transaction, so the
 * work and its record commit together.  A 4xx is stored on its own (the
 * work was rolled back); after a 5xx the key is released for a retry.
 */
static void
api_idem_finish(api_req_t *r, const char *key)
{
    char        err[512], status[8], headers[256];
    json_t     *h;
    char       *hs;
    PGresult   *res;
    const char *v[4];
    int         lens[4], fmts[4];

    if (r->status >= 400 && r->in_tx) {
        db_rollback(r->db);
        r->in_tx = 0;
    }

    if (!r->in_tx) {
        if (r->db == NULL && r->status >= 500) {
            return;
        }

        if (api_tx_begin(r) != 0) {
            return;
        }
    }

    v[0] = key;

    if (r->status >= 500) {
        res = db_exec(r->db, DB_S_IDEM_DROP, 1, v, err, sizeof(err));
        PQclear(res);
        api_commit(r);
        return;
    }

    h = json_pack("{s:s}", "location", r->location);
    hs = h ? json_dumps(h, JSON_COMPACT) : NULL;
    json_decref(h);
    snprintf(headers, sizeof(headers), "%s", hs ? hs : "{}");
    free(hs);

    snprintf(status, sizeof(status), "%d", r->status);
    v[1] = status;
    v[2] = headers;
    v[3] = r->resp ? r->resp : "";
    lens[0] = lens[1] = lens[2] = 0;
    lens[3] = (int) r->resp_len;
    fmts[0] = fmts[1] = fmts[2] = 0;
    fmts[3] = 1;

    res = db_execb(r->db, DB_S_IDEM_DONE, 4, v, lens, fmts, err, sizeof(err));
    if (res == NULL) {
        db_rollback(r->db);
        r->in_tx = 0;
        api_db_error(r, err);
        return;
    }

    PQclear(res);
    api_commit(r);
}


/* commits whatever the answer; a failed commit turns it into an error */
static void
api_commit(api_req_t *r)
{
    char  err[512];

    r->in_tx = 0;

    if (db_commit(r->db, err, sizeof(err)) != 0) {
        api_db_error(r, err);
    }
}


/* commits a handler's transaction below 400, rolls it back otherwise */
static void
api_finish_tx(api_req_t *r)
{
    char  err[512];

    if (!r->in_tx) {
        return;
    }

    r->in_tx = 0;

    if (r->status >= 400) {
        db_rollback(r->db);
        return;
    }

    if (db_commit(r->db, err, sizeof(err)) != 0) {
        api_db_error(r, err);
    }
}


static void
api_release(api_req_t *r)
{
    if (r->db) {
        if (r->in_tx) {
            db_rollback(r->db);
            r->in_tx = 0;
        }

        db_release(r->db);
        r->db = NULL;
    }
}


int
api_tx_begin(api_req_t *r)
{
    return api_tx_open(r, NULL, NULL);
}


int
api_tx_begin_integration(api_req_t *r, const char *provider,
    const char *integration)
{
    return api_tx_open(r, provider, integration);
}


/* the tenant of the identity, or (provider set) of the integration */
static int
api_tx_open(api_req_t *r, const char *provider, const char *integration)
{
    int   rc, tries;
    char  err[512];

    /*
     * A pooled connection the server closed (a PostgreSQL restart, an idle
     * timeout) fails at BEGIN, before anything ran: take another, which
     * reconnects, until one per pool slot has been tried.
     */

    for (tries = 0; ; tries++) {
        if (api_db_take(r) != 0) {
            return -1;
        }

        if (provider != NULL) {
            rc = db_begin_integration(r->db, provider, integration,
                                      r->tenant, err, sizeof(err));
        } else {
            rc = db_begin_tenant(r->db, r->tenant_slug, r->tenant, err,
                                 sizeof(err));
        }

        if (rc < 0 && api_db_lost(r, err) && tries < db_pool_size()) {
            continue;
        }

        break;
    }

    if (rc < 0) {
        api_db_error(r, err);
        return -1;
    }

    if (rc > 0 && provider != NULL) {
        api_error(r, 404, "not_found", "no %s integration %s", provider,
                  integration);
        return -1;
    }

    if (rc > 0) {
        api_error(r, 403, "forbidden", "tenant \"%s\" is unknown or"
                  " suspended", r->tenant_slug);
        return -1;
    }

    r->in_tx = 1;
    return 0;
}


/* a pooled connection in r->db; -1 after answering 503 */
static int
api_db_take(api_req_t *r)
{
    char  err[512];

    if (r->db != NULL) {
        return 0;
    }

    r->db = db_acquire(API_DB_WAIT_MS, err, sizeof(err));

    if (r->db == NULL) {
        log_event(LOG_ERROR, "database", "msg", err, NULL);
        api_error(r, 503, "unavailable", "the database is unavailable");
        return -1;
    }

    return 0;
}


/*
 * After a failed statement: 1 when r->db had lost its server (released,
 * so api_db_take gets another, which reconnects), else 0.
 */
static int
api_db_lost(api_req_t *r, const char *err)
{
    if (r->db == NULL || PQstatus(db_pg(r->db)) == CONNECTION_OK) {
        return 0;
    }

    log_event(LOG_WARN, "database", "msg", err, "retry",
              "on another connection", NULL);
    db_release(r->db);
    r->db = NULL;

    return 1;
}


void
api_db_error(api_req_t *r, const char *err)
{
    log_event(LOG_ERROR, "database", "msg", err, NULL);

    if (r->db && PQstatus(db_pg(r->db)) != CONNECTION_OK) {
        api_error(r, 503, "unavailable", "the database is unavailable");
        return;
    }

    api_error(r, 500, "internal", "internal error (request id %s)",
              r->request_id);
}


int
api_audit(api_req_t *r, const char *action, const char *target,
    json_t *details)
{
    char        err[512];
    char       *d;
    PGresult   *res;
    const char *v[5];

    d = details ? json_dumps(details, JSON_COMPACT) : NULL;
    json_decref(details);

    v[0] = r->subject[0] ? r->subject : "unknown";
    v[1] = action;
    v[2] = target;
    v[3] = r->request_id;
    v[4] = d ? d : "{}";

    res = db_exec(r->db, DB_S_AUDIT_INSERT, 5, v, err, sizeof(err));
    free(d);

    if (res == NULL) {
        api_db_error(r, err);
        return -1;
    }

    PQclear(res);
    return 0;
}


int
api_has_role(const api_req_t *r, const char *role)
{
    size_t       n;
    const char  *p, *e;

    n = strlen(role);

    for (p = r->roles; *p; p = *e ? e + 1 : e) {
        e = strchr(p, ',');
        if (e == NULL) {
            e = p + strlen(p);
        }

        if ((size_t) (e - p) == n && strncmp(p, role, n) == 0) {
            return 1;
        }
    }

    return 0;
}


const char *
api_query(api_req_t *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}


const char *
api_header(api_req_t *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}


/*
 * Our words for a parse error.  jansson's own text quotes the input near
 * the error, which may be part of an api_key, and an answer may be stored
 * (Idempotency-Key): request bytes are never echoed.
 */
static const char *
api_json_reason(const json_error_t *je)
{
    switch (json_error_code(je)) {
    case json_error_invalid_utf8:
        return "invalid UTF-8";
    case json_error_premature_end_of_input:
        return "the body ends before the JSON does";
    case json_error_end_of_input_expected:
        return "text after the JSON value";
    case json_error_stack_overflow:
        return "nested too deeply";
    case json_error_null_character:
    case json_error_null_byte_in_key:
        return "a NUL character";
    case json_error_duplicate_key:
        return "a member appears twice in one object";
    case json_error_numeric_overflow:
        return "a number out of range";
    case json_error_out_of_memory:
        return "out of memory";
    default:
        return "invalid syntax";
    }
}


json_t *
api_body_json(api_req_t *r)
{
    json_t        *v;
    const char    *ct;
    json_error_t   je;

    ct = api_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);

    if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0
        || (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' '))
    {
        api_error(r, 415, "unsupported_media_type",
                  "the body must be application/json");
        return NULL;
    }

    if (r->body_len == 0) {
        api_error(r, 400, "invalid_json", "the body is empty");
        return NULL;
    }

    v = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
    if (v == NULL) {
        api_error(r, 400, "invalid_json", "invalid JSON at line %d column"
                  " %d: %s", je.line, je.column, api_json_reason(&je));
        return NULL;
    }

    if (!json_is_object(v)) {
        json_decref(v);
        api_error(r, 400, "invalid_json", "the body must be a JSON object");
        return NULL;
    }

    return v;
}


void
api_json(api_req_t *r, int status, json_t *v)
{
    char  *s;

    s = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(v);

    if (s == NULL) {
        api_raw(r, 500, "application/json",
                "{\"error\":{\"code\":\"internal\",\"message\":"
                "\"out of memory\"}}", 55);
        return;
    }

    free(r->resp);
    r->resp = s;
    r->resp_len = strlen(s);
    r->status = status;
    r->content_type = "application/json";
}


void
api_error(api_req_t *r, int status, const char *code, const char *fmt, ...)
{
    char     msg[512];
    va_list  ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    api_json(r, status, json_pack("{s:{s:s,s:s}}", "error", "code", code,
                                  "message", msg));
}


void
api_error_json(api_req_t *r, int status, json_t *error_body)
{
    api_json(r, status, error_body);
}


void
api_raw(api_req_t *r, int status, const char *content_type,
    const char *data, size_t len)
{
    char  *p;

    p = malloc(len + 1);
    if (p == NULL) {
        /* no memory for an error body either: an empty 500 */
        api_raw_take(r, 500, content_type, NULL, 0);
        return;
    }

    memcpy(p, data, len);
    p[len] = '\0';

    api_raw_take(r, status, content_type, p, len);
}


void
api_raw_take(api_req_t *r, int status, const char *content_type, char *data,
    size_t len)
{
    /* an answer replacing a stream (a failed commit) ends the stream */
    if (r->stream != NULL) {
        if (r->stream_free != NULL) {
            r->stream_free(r->stream_ctx);
        }
        r->stream = NULL;
    }

    free(r->resp);
    r->resp = data;
    r->resp_len = len;
    r->status = status;
    r->content_type = content_type;
}


void
api_stream(api_req_t *r, int status, const char *content_type,
    long (*reader)(void *ctx, uint64_t pos, char *buf, size_t max),
    void *ctx, void (*free_ctx)(void *ctx))
{
    free(r->resp);
    r->resp = NULL;
    r->resp_len = 0;
    r->status = status;
    r->content_type = content_type;
    r->stream = reader;
    r->stream_ctx = ctx;
    r->stream_free = free_ctx;
}


static int
api_hex(const unsigned char *in, size_t len, char *out)
{
    size_t               i;
    static const char    digits[] = "0123456789abcdef";

    for (i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0xf];
    }

    out[2 * len] = '\0';
    return 0;
}
