
/*
 * hubgate: hubgate_webhook, provider webhooks verified at the edge.
 *
 * After JWT and limits, the handler reads the whole body (bounded by
 * client_max_body_size, chunked or not), gets the secrets (files read at
 * start, and/or a secret_request subrequest to hubgated whose answer is
 * kept in the hubgate_webhook_cache zone for secret_ttl), verifies the
 * raw bytes with the scheme's core (hg_webhook.c) and only then lets the
 * request go on, with X-Hubgate-Webhook signed into X-Hubgate-Auth.  The
 * body is forwarded as read: nothing here changes it.
 *
 * pubsub is the JWT machinery: the location's keys, RS256, Google's
 * issuer, audience= as the audience, and email= checked here.
 */


#include "ngx_http_hubgate_module.h"
#include "hg_whsecrets.h"
#include "hg_whevent.h"


#define NGX_HTTP_HUBGATE_WH_TTL         60
#define NGX_HTTP_HUBGATE_WH_NEG_TTL     10
#define NGX_HTTP_HUBGATE_WH_FETCHING    1      /* a node's status: asked */
#define NGX_HTTP_HUBGATE_WH_FETCH_GUARD 5      /* s a fetch may take */
#define NGX_HTTP_HUBGATE_WH_WAIT        10     /* ms between looks */
#define NGX_HTTP_HUBGATE_WH_WAITS       200    /* looks before asking too */
#define NGX_HTTP_HUBGATE_WH_GOOGLE_ISS  "https://accounts.google.com"


typedef struct {
    ngx_str_node_t                  sn;            /* sn.str: the URI */
    ngx_queue_t                     queue;
    time_t                          expires;
    ngx_uint_t                      status;        /* 200 or 404 */
    ngx_uint_t                      nsecrets;
    size_t                          size;          /* of the whole node */
    /* the URI, then per secret: a size_t length and the bytes */
    u_char                          data[1];
} ngx_http_hubgate_whnode_t;


typedef struct {
    ngx_http_request_t             *r;
    ngx_http_hubgate_ctx_t         *ctx;
    ngx_http_hubgate_webhook_t     *wh;
} ngx_http_hubgate_whfetch_t;


static void ngx_http_hubgate_webhook_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_hubgate_webhook_flatten(ngx_http_request_t *r,
    ngx_str_t *body);
static ngx_int_t ngx_http_hubgate_webhook_mask(ngx_http_request_t *r,
    ngx_http_hubgate_webhook_t *wh);
static ngx_int_t ngx_http_hubgate_webhook_secrets(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx);
static ngx_http_hubgate_cache_t *ngx_http_hubgate_webhook_zone(
    ngx_http_request_t *r);
static ngx_http_hubgate_whnode_t *ngx_http_hubgate_webhook_find(
    ngx_http_hubgate_cache_t *cache, ngx_http_hubgate_ctx_t *ctx);
static ngx_int_t ngx_http_hubgate_webhook_lookup(ngx_http_request_t *r,
    ngx_http_hubgate_ctx_t *ctx, ngx_uint_t may_wait);
static void ngx_http_hubgate_webhook_unmark(ngx_http_request_t *r,
    ngx_http_hubgate_ctx_t *ctx);
static ngx_http_hubgate_whnode_t *ngx_http_hubgate_webhook_node(
    ngx_http_hubgate_cache_t *cache, ngx_http_hubgate_ctx_t *ctx,
    size_t size);
static ngx_int_t ngx_http_hubgate_webhook_fetch(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx);
static ngx_int_t ngx_http_hubgate_webhook_done(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static ngx_int_t ngx_http_hubgate_webhook_parse(ngx_http_request_t *r,
    u_char *data, size_t len, ngx_array_t **secrets);
static int ngx_http_hubgate_webhook_add(void *data, const char *secret,
    size_t len);
static ngx_int_t ngx_http_hubgate_webhook_suits(ngx_http_request_t *r,
    ngx_http_hubgate_webhook_t *wh, ngx_http_hubgate_ctx_t *ctx);
static void ngx_http_hubgate_webhook_store(ngx_http_request_t *r,
    ngx_http_hubgate_ctx_t *ctx, time_t ttl);
static void ngx_http_hubgate_webhook_free_node(ngx_slab_pool_t *shpool,
    ngx_http_hubgate_cache_sh_t *sh, ngx_http_hubgate_whnode_t *node);
static ngx_int_t ngx_http_hubgate_webhook_verify(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx);
static ngx_int_t ngx_http_hubgate_webhook_pubsub(ngx_http_request_t *r,
    ngx_http_hubgate_webhook_t *wh, ngx_http_hubgate_ctx_t *ctx);
static int ngx_http_hubgate_webhook_header(void *data, const char *name,
    hg_wh_str_t *value);
static ngx_int_t ngx_http_hubgate_webhook_accept(ngx_http_request_t *r,
    ngx_http_hubgate_webhook_t *wh, ngx_http_hubgate_ctx_t *ctx,
    const char *id);
static ngx_int_t ngx_http_hubgate_webhook_reject(ngx_http_request_t *r,
    ngx_http_hubgate_ctx_t *ctx, ngx_uint_t status, ngx_int_t code);
static ngx_http_complex_value_t *ngx_http_hubgate_webhook_cv(ngx_conf_t *cf,
    ngx_str_t *value);
static char *ngx_http_hubgate_webhook_file(ngx_conf_t *cf,
    ngx_array_t *secrets, ngx_str_t *path);
static void ngx_http_hubgate_webhook_wipe(void *data);
static ngx_int_t ngx_http_hubgate_webhook_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);


static ngx_str_t  ngx_http_hubgate_wh_names[] = {
    ngx_string(""),
    ngx_string("OK"),
    ngx_string("missing"),
    ngx_string("format"),
    ngx_string("stale"),
    ngx_string("future"),
    ngx_string("signature"),
    ngx_string("no_secret"),
    ngx_string("unavailable")
};


/* a secret that satisfies each scheme's check, for nginx -t without files */
static u_char  ngx_http_hubgate_wh_probe[] =
    "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";


const char *
ngx_http_hubgate_webhook_status_name(ngx_uint_t status)
{
    if (status >= NGX_HTTP_HUBGATE_WH_MAX) {
        return "";
    }

    return (const char *) ngx_http_hubgate_wh_names[status].data;
}


ngx_int_t
ngx_http_hubgate_webhook_step(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (!ctx->wh_read) {

        if (ctx->wh_reading) {
            /* woken before the body was complete */
            return NGX_AGAIN;
        }

        ctx->wh_reading = 1;

        rc = ngx_http_read_client_request_body(r,
                                               ngx_http_hubgate_webhook_body);

        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        /* the body handler has run the phases again if the body was here */
        ngx_http_finalize_request(r, NGX_DONE);
        return NGX_DONE;
    }

    if (ctx->wh_body.data == NULL) {
        if (ngx_http_hubgate_webhook_flatten(r, &ctx->wh_body) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (lcf->webhook->pubsub) {
        return ngx_http_hubgate_webhook_pubsub(r, lcf->webhook, ctx);
    }

    if (lcf->webhook->url_secret && !ctx->wh_masked) {
        if (ngx_http_hubgate_webhook_mask(r, lcf->webhook) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->wh_masked = 1;
    }

    rc = ngx_http_hubgate_webhook_secrets(r, lcf, ctx);

    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_hubgate_webhook_verify(r, lcf, ctx);
}


static void
ngx_http_hubgate_webhook_body(ngx_http_request_t *r)
{
    ngx_http_hubgate_ctx_t  *ctx;

    ctx = ngx_http_hubgate_get_ctx(r);

    if (ctx == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx->wh_read = 1;

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}


/*
 * The body as one piece.  A body bigger than client_body_buffer_size is
 * in nginx's temporary file, just written and so in the page cache; README
 * advises a buffer as large as client_max_body_size, so it never is.
 */

static ngx_int_t
ngx_http_hubgate_webhook_flatten(ngx_http_request_t *r, ngx_str_t *body)
{
    off_t         size;
    u_char       *p;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    ngx_str_set(body, "");

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    cl = r->request_body->bufs;

    if (cl->next == NULL && !cl->buf->in_file) {
        body->data = cl->buf->pos;
        body->len = cl->buf->last - cl->buf->pos;
        return NGX_OK;
    }

    size = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        size += ngx_buf_size(cl->buf);
    }

    p = ngx_pnalloc(r->pool, size + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = p;
    body->len = size;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (!b->in_file) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
            continue;
        }

        size = b->file_last - b->file_pos;

        n = ngx_read_file(b->file, p, (size_t) size, b->file_pos);

        if (n != size) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "hubgate: webhook body: read %z of %O bytes from "
                          "the temporary file", n, size);
            return NGX_ERROR;
        }

        p += size;
    }

    return NGX_OK;
}


/*
 * A secret in the URL (mailchimp's ?key=) must reach no log: the request
 * line, which the access log's $request and every error log line show, is
 * replaced by a copy whose parameter values are "***".  The URI that is
 * verified, signed and proxied ($request_uri) stays as it came.
 */

static ngx_int_t
ngx_http_hubgate_webhook_mask(ngx_http_request_t *r,
    ngx_http_hubgate_webhook_t *wh)
{
    u_char      *p, *q, *end, *v, *e, *out, *o;
    size_t       n;
    ngx_uint_t   found;
    const char  *param;

    param = wh->wc.param ? wh->wc.param : "key";
    n = ngx_strlen(param);

    p = r->request_line.data;
    end = p + r->request_line.len;
    q = (p != NULL) ? ngx_strlchr(p, end, '?') : NULL;

    if (q == NULL) {
        return NGX_OK;
    }

    /* the query ends at the space before the HTTP version, if any */
    for (e = end; e > q && *(e - 1) != ' '; e--) { /* void */ }
    if (e > q + 1) {
        end = e - 1;
    }

    /* "k=" becomes "k=***": at most 3 bytes more per 2 */
    out = ngx_pnalloc(r->pool, 3 * r->request_line.len);
    if (out == NULL) {
        return NGX_ERROR;
    }

    o = ngx_cpymem(out, p, q + 1 - p);
    found = 0;

    for (p = q + 1; p < end; p = e) {
        for (e = p; e < end && *e != '&'; e++) { /* void */ }

        v = p + n;

        if ((size_t) (e - p) > n && *v == '='
            && ngx_strncmp(p, param, n) == 0)
        {
            o = ngx_cpymem(o, p, n + 1);
            o = ngx_cpymem(o, "***", 3);
            found = 1;

        } else {
            o = ngx_cpymem(o, p, e - p);
        }

        if (e < end) {
            *o++ = *e++;
        }
    }

    if (!found) {
        return NGX_OK;
    }

    o = ngx_cpymem(o, end, r->request_line.data + r->request_line.len - end);

    r->request_line.data = out;
    r->request_line.len = o - out;

    return NGX_OK;
}


/* fills ctx->wh_secrets from the cache or a subrequest; NGX_OK when known */

static ngx_int_t
ngx_http_hubgate_webhook_secrets(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx)
{
    ngx_int_t                    rc;
    ngx_http_hubgate_webhook_t  *wh;

    wh = lcf->webhook;

    if (wh->secret_request == NULL || ctx->wh_fetched) {
        return NGX_OK;
    }

    if (ctx->wh_fetching) {
        return NGX_AGAIN;
    }

    if (ctx->wh_key.data == NULL) {
        if (ngx_http_complex_value(r, wh->secret_request, &ctx->wh_key)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ctx->wh_key.len == 0 || ctx->wh_key.data[0] != '/') {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "hubgate: webhook secret_request \"%V\" is not a "
                          "URI", &ctx->wh_key);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /*
         * A capture is decoded: "%3F" in the provider's URL must not
         * become a query of the secret request.  No integration has such
         * a name, so it has no secret.
         */
        if (ngx_strlchr(ctx->wh_key.data, ctx->wh_key.data + ctx->wh_key.len,
                        '?')
            || ngx_strlchr(ctx->wh_key.data,
                           ctx->wh_key.data + ctx->wh_key.len, '#'))
        {
            ctx->wh_fetched = 1;
            ctx->wh_fetch = NGX_HTTP_NOT_FOUND;
            return NGX_OK;
        }

        ctx->wh_hash = ngx_crc32_short(ctx->wh_key.data, ctx->wh_key.len);
    }

    rc = ngx_http_hubgate_webhook_lookup(r, ctx,
                                         ctx->wh_waits
                                         < NGX_HTTP_HUBGATE_WH_WAITS);

    if (rc == NGX_OK) {
        ctx->wh_fetched = 1;
        return NGX_OK;
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_BUSY) {
        /* one request asks hubgated; the others look again shortly */
        ctx->wh_waits++;
        return ngx_http_hubgate_delay(r, NGX_HTTP_HUBGATE_WH_WAIT);
    }

    rc = ngx_http_hubgate_webhook_fetch(r, lcf, ctx);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return rc;
}


/* the secret_request cache of the http block */

static ngx_http_hubgate_cache_t *
ngx_http_hubgate_webhook_zone(ngx_http_request_t *r)
{
    ngx_http_hubgate_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_hubgate_module);

    return mcf->webhook_zone->data;
}


/* under the zone's lock: ctx's node, or NULL */

static ngx_http_hubgate_whnode_t *
ngx_http_hubgate_webhook_find(ngx_http_hubgate_cache_t *cache,
    ngx_http_hubgate_ctx_t *ctx)
{
    return (ngx_http_hubgate_whnode_t *)
               ngx_str_rbtree_lookup(&cache->sh->rbtree, &ctx->wh_key,
                                     ctx->wh_hash);
}


/*
 * NGX_OK: found (ctx filled); NGX_BUSY: another request is asking (and
 * may_wait); NGX_DECLINED: ask, which the node left marked as being asked
 * tells the others; NGX_ERROR.
 */

static ngx_int_t
ngx_http_hubgate_webhook_lookup(ngx_http_request_t *r,
    ngx_http_hubgate_ctx_t *ctx, ngx_uint_t may_wait)
{
    u_char                     *p;
    size_t                      len;
    ngx_str_t                  *s;
    ngx_uint_t                  i;
    ngx_array_t                *secrets;
    ngx_http_hubgate_whnode_t  *node;
    ngx_http_hubgate_cache_t   *cache;

    cache = ngx_http_hubgate_webhook_zone(r);

    ngx_shmtx_lock(&cache->shpool->mutex);

    node = ngx_http_hubgate_webhook_find(cache, ctx);

    if (node != NULL && node->expires > ngx_time()
        && node->status == NGX_HTTP_HUBGATE_WH_FETCHING && may_wait)
    {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return NGX_BUSY;
    }

    if (node == NULL || node->expires <= ngx_time()
        || node->status == NGX_HTTP_HUBGATE_WH_FETCHING)
    {
        node = ngx_http_hubgate_webhook_node(cache, ctx,
                                        offsetof(ngx_http_hubgate_whnode_t,
                                                 data)
                                        + ctx->wh_key.len);
        if (node) {
            node->status = NGX_HTTP_HUBGATE_WH_FETCHING;
            node->expires = ngx_time() + NGX_HTTP_HUBGATE_WH_FETCH_GUARD;
        }

        ngx_shmtx_unlock(&cache->shpool->mutex);
        return NGX_DECLINED;
    }

    ngx_queue_remove(&node->queue);
    ngx_queue_insert_head(&cache->sh->queue, &node->queue);

    ctx->wh_fetch = node->status;

    secrets = ngx_array_create(r->pool, node->nsecrets ? node->nsecrets : 1,
                               sizeof(ngx_str_t));
    if (secrets == NULL) {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return NGX_ERROR;
    }

    p = node->data + node->sn.str.len;

    for (i = 0; i < node->nsecrets; i++) {
        ngx_memcpy(&len, p, sizeof(size_t));
        p += sizeof(size_t);

        s = ngx_array_push(secrets);
        s->data = ngx_pnalloc(r->pool, len);

        if (s->data == NULL) {
            ngx_shmtx_unlock(&cache->shpool->mutex);
            return NGX_ERROR;
        }

        ngx_memcpy(s->data, p, len);
        s->len = len;
        p += len;
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);

    ctx->wh_secrets = secrets;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hubgate_webhook_fetch(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx)
{
    u_char                      *p;
    ngx_str_t                    uri, args, signed_uri, auth, hdr;
    ngx_uint_t                   flags;
    hg_identity_t                id;
    ngx_http_request_t          *sr;
    ngx_http_post_subrequest_t  *ps;
    ngx_http_hubgate_whfetch_t  *fetch;

    uri = ctx->wh_key;
    ngx_str_null(&args);
    flags = NGX_HTTP_LOG_UNSAFE;

    if (ngx_http_parse_unsafe_uri(r, &uri, &args, &flags) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hubgate: webhook secret_request \"%V\" is unsafe",
                      &ctx->wh_key);
        return NGX_ERROR;
    }

    fetch = ngx_palloc(r->pool, sizeof(ngx_http_hubgate_whfetch_t));
    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));

    if (fetch == NULL || ps == NULL) {
        return NGX_ERROR;
    }

    fetch->r = r;
    fetch->ctx = ctx;
    fetch->wh = lcf->webhook;

    ps->handler = ngx_http_hubgate_webhook_done;
    ps->data = fetch;

    if (ngx_http_hubgate_subrequest_get(r, &uri, args.len ? &args : NULL,
                                        ps, &sr)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* without the provider's headers either: only what hubgated checks */
    if (ngx_list_init(&sr->headers_in.headers, r->pool, 4,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* signed as proxy_pass without a URI sends it: path, then ?args */
    signed_uri.len = uri.len + (args.len ? 1 + args.len : 0);
    signed_uri.data = ngx_pnalloc(r->pool, signed_uri.len);
    if (signed_uri.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(signed_uri.data, uri.data, uri.len);
    if (args.len) {
        *p++ = '?';
        ngx_memcpy(p, args.data, args.len);
    }

    ngx_str_set(&hdr, "secret-request");

    ngx_memzero(&id, sizeof(hg_identity_t));
    id.method.data = "GET";
    id.method.len = 3;
    id.uri.data = (const char *) signed_uri.data;
    id.uri.len = signed_uri.len;
    id.webhook.data = (const char *) hdr.data;
    id.webhook.len = hdr.len;

    if (ngx_http_hubgate_identity_sign(r, &lcf->identity_secret, &id, &auth)
        != NGX_OK
        || ngx_http_hubgate_identity_header(r, &sr->headers_in.headers,
                                            "X-Hubgate-Webhook", hdr.data,
                                            hdr.len)
           != NGX_OK
        || ngx_http_hubgate_identity_header(r, &sr->headers_in.headers,
                                            "X-Hubgate-Auth", auth.data,
                                            auth.len)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    ctx->wh_fetching = 1;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hubgate: fetching webhook secrets from \"%V\"", &uri);

    return NGX_AGAIN;
}


static ngx_int_t
ngx_http_hubgate_webhook_done(ngx_http_request_t *r, void *data, ngx_int_t rc)
{
    ngx_http_hubgate_whfetch_t *fetch = data;

    time_t                   ttl;
    ngx_buf_t               *b;
    ngx_uint_t               status;
    ngx_http_hubgate_ctx_t  *ctx;

    ctx = fetch->ctx;

    if (ctx->wh_fetched) {
        return rc;
    }

    ctx->wh_fetched = 1;
    ctx->wh_fetching = 0;
    ctx->wh_fetch = 0;

    status = r->headers_out.status;
    b = r->out ? r->out->buf : NULL;

    if (rc == NGX_OK && status == NGX_HTTP_NOT_FOUND) {
        ctx->wh_fetch = NGX_HTTP_NOT_FOUND;
        ttl = ngx_min(fetch->wh->secret_ttl, NGX_HTTP_HUBGATE_WH_NEG_TTL);
        ngx_http_hubgate_webhook_store(fetch->r, ctx, ttl);
        return rc;
    }

    if (rc == NGX_OK && status == NGX_HTTP_OK && b != NULL
        && ngx_http_hubgate_webhook_parse(fetch->r, b->pos, b->last - b->pos,
                                          &ctx->wh_secrets)
           == NGX_OK)
    {
        if (ngx_http_hubgate_webhook_suits(fetch->r, fetch->wh, ctx)
            != NGX_OK)
        {
            /* not cached, and this delivery answered 500 */
            ngx_http_hubgate_webhook_unmark(fetch->r, ctx);
            ctx->wh_fetch = NGX_HTTP_INTERNAL_SERVER_ERROR;
            return rc;
        }

        ctx->wh_fetch = NGX_HTTP_OK;
        ngx_http_hubgate_webhook_store(fetch->r, ctx, fetch->wh->secret_ttl);
        return rc;
    }

    /* not cached: the next delivery asks again */
    ngx_http_hubgate_webhook_unmark(fetch->r, ctx);

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "hubgate: webhook secret_request \"%V\" failed: status %ui%s",
                  &ctx->wh_key, status,
                  (rc == NGX_OK && status == NGX_HTTP_OK && b == NULL)
                  ? " and no body in memory (is subrequest_output_buffer_size"
                    " large enough?)" : "");

    return rc;
}


/* hubgated's {"secrets": [...]} (hg_whsecrets.h) into *secrets */

static ngx_int_t
ngx_http_hubgate_webhook_parse(ngx_http_request_t *r, u_char *data,
    size_t len, ngx_array_t **secrets)
{
    const char   *why;
    ngx_array_t  *a;

    a = ngx_array_create(r->pool, 2, sizeof(ngx_str_t));
    if (a == NULL) {
        return NGX_ERROR;
    }

    why = hg_whsecrets_parse((const char *) data, len,
                             ngx_http_hubgate_webhook_add, a);

    if (why) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hubgate: webhook secret_request answered %s", why);
        return NGX_ERROR;
    }

    *secrets = a;

    return NGX_OK;
}


static int
ngx_http_hubgate_webhook_add(void *data, const char *secret, size_t len)
{
    ngx_array_t *a = data;

    ngx_str_t  *s;

    s = ngx_array_push(a);
    if (s == NULL) {
        return -1;
    }

    s->data = ngx_pnalloc(a->pool, len);
    if (s->data == NULL) {
        return -1;
    }

    ngx_memcpy(s->data, secret, len);
    s->len = len;

    return 0;
}


/*
 * The scheme's own check of hubgated's secrets, once when they arrive:
 * what the cache holds is known to suit it.
 */

static ngx_int_t
ngx_http_hubgate_webhook_suits(ngx_http_request_t *r,
    ngx_http_hubgate_webhook_t *wh, ngx_http_hubgate_ctx_t *ctx)
{
    size_t                *lens;
    ngx_str_t             *s;
    ngx_uint_t             i, n;
    const char            *msg;
    hg_wh_config_t         wc;
    const unsigned char  **secrets;

    n = ctx->wh_secrets->nelts;

    if (n == 0) {
        return NGX_OK;              /* none: answered as no_secret */
    }

    secrets = ngx_palloc(r->pool, n * sizeof(unsigned char *));
    lens = ngx_palloc(r->pool, n * sizeof(size_t));
    if (secrets == NULL || lens == NULL) {
        return NGX_ERROR;
    }

    s = ctx->wh_secrets->elts;

    for (i = 0; i < n; i++) {
        secrets[i] = s[i].data;
        lens[i] = s[i].len;
    }

    wc = wh->wc;
    wc.secrets = secrets;
    wc.secret_lens = lens;
    wc.nsecrets = n;

    msg = wh->scheme->check(&wc);

    if (msg) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hubgate: webhook secrets from \"%V\" do not suit "
                      "the %V scheme: %s", &ctx->wh_key, &wh->name, msg);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* publishes ctx's result for every worker; on failure just not cached */

static void
ngx_http_hubgate_webhook_store(ngx_http_request_t *r,
    ngx_http_hubgate_ctx_t *ctx, time_t ttl)
{
    u_char                     *p;
    size_t                      size;
    ngx_str_t                  *s;
    ngx_uint_t                  i, n;
    ngx_http_hubgate_whnode_t  *node;
    ngx_http_hubgate_cache_t   *cache;

    cache = ngx_http_hubgate_webhook_zone(r);

    n = ctx->wh_secrets ? ctx->wh_secrets->nelts : 0;
    s = ctx->wh_secrets ? ctx->wh_secrets->elts : NULL;

    size = offsetof(ngx_http_hubgate_whnode_t, data) + ctx->wh_key.len;

    for (i = 0; i < n; i++) {
        size += sizeof(size_t) + s[i].len;
    }

    ngx_shmtx_lock(&cache->shpool->mutex);

    node = ngx_http_hubgate_webhook_node(cache, ctx, size);

    if (node == NULL) {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "hubgate: hubgate_webhook_cache is full: secrets for "
                      "\"%V\" not cached", &ctx->wh_key);
        return;
    }

    node->status = ctx->wh_fetch;
    node->nsecrets = n;
    node->expires = ngx_time() + ttl;

    p = node->data + ctx->wh_key.len;

    for (i = 0; i < n; i++) {
        p = ngx_cpymem(p, &s[i].len, sizeof(size_t));
        p = ngx_cpymem(p, s[i].data, s[i].len);
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);
}


/*
 * Under the zone's lock: the node of ctx's key, size bytes, replacing the one
 * there, in the tree and first in the queue; the least recently used
 * nodes make room.  NULL when there is none to be had.
 */

static ngx_http_hubgate_whnode_t *
ngx_http_hubgate_webhook_node(ngx_http_hubgate_cache_t *cache,
    ngx_http_hubgate_ctx_t *ctx, size_t size)
{
    ngx_uint_t                  tries;
    ngx_queue_t                *q;
    ngx_http_hubgate_whnode_t  *node, *old;

    old = ngx_http_hubgate_webhook_find(cache, ctx);

    if (old) {
        ngx_http_hubgate_webhook_free_node(cache->shpool, cache->sh, old);
    }

    node = NULL;

    for (tries = 0; tries < 8; tries++) {
        node = ngx_slab_alloc_locked(cache->shpool, size);

        if (node || ngx_queue_empty(&cache->sh->queue)) {
            break;
        }

        q = ngx_queue_last(&cache->sh->queue);
        old = ngx_queue_data(q, ngx_http_hubgate_whnode_t, queue);
        ngx_http_hubgate_webhook_free_node(cache->shpool, cache->sh, old);
    }

    if (node == NULL) {
        return NULL;
    }

    node->size = size;
    node->status = 0;
    node->nsecrets = 0;
    node->expires = 0;

    ngx_memcpy(node->data, ctx->wh_key.data, ctx->wh_key.len);
    node->sn.str.data = node->data;
    node->sn.str.len = ctx->wh_key.len;
    node->sn.node.key = ctx->wh_hash;

    ngx_rbtree_insert(&cache->sh->rbtree, &node->sn.node);
    ngx_queue_insert_head(&cache->sh->queue, &node->queue);

    return node;
}


/* a failed ask: the next request asks again at once */

static void
ngx_http_hubgate_webhook_unmark(ngx_http_request_t *r,
    ngx_http_hubgate_ctx_t *ctx)
{
    ngx_http_hubgate_whnode_t  *node;
    ngx_http_hubgate_cache_t   *cache;

    cache = ngx_http_hubgate_webhook_zone(r);

    ngx_shmtx_lock(&cache->shpool->mutex);

    node = ngx_http_hubgate_webhook_find(cache, ctx);

    if (node && node->status == NGX_HTTP_HUBGATE_WH_FETCHING) {
        ngx_http_hubgate_webhook_free_node(cache->shpool, cache->sh, node);
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);
}


/* secrets are wiped before their memory goes back to the slab */

static void
ngx_http_hubgate_webhook_free_node(ngx_slab_pool_t *shpool,
    ngx_http_hubgate_cache_sh_t *sh, ngx_http_hubgate_whnode_t *node)
{
    ngx_rbtree_delete(&sh->rbtree, &node->sn.node);
    ngx_queue_remove(&node->queue);
    ngx_explicit_memzero(node, node->size);
    ngx_slab_free_locked(shpool, node);
}


static ngx_int_t
ngx_http_hubgate_webhook_verify(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx)
{
    int                          err;
    size_t                      *lens;
    ngx_str_t                   *s, url;
    ngx_uint_t                   i, n, nf;
    hg_wh_config_t               wc;
    hg_wh_request_t              req;
    const unsigned char        **secrets;
    ngx_http_hubgate_webhook_t  *wh;
    char                         id[HG_WH_ID_MAX + 1];

    wh = lcf->webhook;

    if (wh->secret_request && ctx->wh_fetch == 0) {
        return ngx_http_hubgate_webhook_reject(r, ctx,
                                               NGX_HTTP_HUBGATE_WH_UNAVAILABLE,
                                               NGX_HTTP_SERVICE_UNAVAILABLE);
    }

    if (ctx->wh_fetch == NGX_HTTP_INTERNAL_SERVER_ERROR) {
        /* hubgated's secrets do not suit the scheme (logged when fetched) */
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    wc = wh->wc;
    nf = wh->nfile;
    n = ctx->wh_secrets ? ctx->wh_secrets->nelts : 0;

    if (nf + n == 0) {
        return ngx_http_hubgate_webhook_reject(r, ctx,
                                               NGX_HTTP_HUBGATE_WH_NO_SECRET,
                                               NGX_HTTP_NOT_FOUND);
    }

    if (n) {
        /* file secrets, then the fetched ones: any may match */
        n = ngx_min(n, HG_WH_MAX_SECRETS - nf);

        secrets = ngx_palloc(r->pool, (nf + n) * sizeof(unsigned char *));
        lens = ngx_palloc(r->pool, (nf + n) * sizeof(size_t));
        if (secrets == NULL || lens == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        for (i = 0; i < nf; i++) {
            secrets[i] = wh->wc.secrets[i];
            lens[i] = wh->wc.secret_lens[i];
        }

        s = ctx->wh_secrets->elts;

        for (i = 0; i < n; i++) {
            secrets[nf + i] = s[i].data;
            lens[nf + i] = s[i].len;
        }

        wc.secrets = secrets;
        wc.secret_lens = lens;
        wc.nsecrets = nf + n;
    }

    req.body.data = (const char *) ctx->wh_body.data;
    req.body.len = ctx->wh_body.len;

    if (wh->url) {
        if (ngx_http_complex_value(r, wh->url, &url) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        req.url.data = (const char *) url.data;
        req.url.len = url.len;

    } else {
        req.url.data = (const char *) r->unparsed_uri.data;
        req.url.len = r->unparsed_uri.len;
    }

    req.header = ngx_http_hubgate_webhook_header;
    req.ctx = r;
    req.now = ngx_time();

    err = wh->scheme->verify(&wc, &req, id, sizeof(id));

    if (err == HG_WH_OK) {
        return ngx_http_hubgate_webhook_accept(r, wh, ctx, id);
    }

    if (err >= HG_WH_ERR_MISSING && err <= HG_WH_ERR_SIGNATURE) {
        /* the outcomes from missing to signature follow hg_wh_err_e */
        return ngx_http_hubgate_webhook_reject(r, ctx,
                                         NGX_HTTP_HUBGATE_WH_MISSING
                                         + (err - HG_WH_ERR_MISSING),
                                         NGX_HTTP_UNAUTHORIZED);
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "hubgate: webhook verification of the %V scheme failed "
                  "inside OpenSSL", &wh->name);

    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}


/* the JWT step has accepted the token; email= is ours to check */

static ngx_int_t
ngx_http_hubgate_webhook_pubsub(ngx_http_request_t *r,
    ngx_http_hubgate_webhook_t *wh, ngx_http_hubgate_ctx_t *ctx)
{
    json_t    *v;
    hg_jwt_t  *jwt;

    jwt = ngx_http_hubgate_jwt_get(r, ctx);

    if (jwt == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    v = json_object_get(jwt->payload, "email");

    if (!json_is_string(v) || json_string_length(v) != wh->email.len
        || ngx_strncmp(json_string_value(v), wh->email.data, wh->email.len)
           != 0
        || !json_is_true(json_object_get(jwt->payload, "email_verified")))
    {
        return ngx_http_hubgate_webhook_reject(r, ctx,
                                               NGX_HTTP_HUBGATE_WH_SIGNATURE,
                                               NGX_HTTP_UNAUTHORIZED);
    }

    /* Google's service account is no tenant, subject or role of ours */
    ngx_str_null(&ctx->tenant);
    ngx_str_null(&ctx->subject);
    ngx_str_null(&ctx->roles);

    return ngx_http_hubgate_webhook_accept(r, wh, ctx, "");
}


/* a pubsub token the JWT step refused */

void
ngx_http_hubgate_webhook_jwt_failed(ngx_http_request_t *r,
    ngx_http_hubgate_ctx_t *ctx)
{
    ngx_uint_t  status;

    if (ctx->wh_status != NGX_HTTP_HUBGATE_WH_NONE) {
        return;
    }

    switch (ctx->bad_request ? HG_JWT_ERR_MALFORMED : ctx->jwt_error) {

    case HG_JWT_ERR_MISSING:
        status = NGX_HTTP_HUBGATE_WH_MISSING;
        break;

    case HG_JWT_ERR_MALFORMED:
    case HG_JWT_ERR_TOO_LARGE:
    case HG_JWT_ERR_JSON:
        status = NGX_HTTP_HUBGATE_WH_FORMAT;
        break;

    case HG_JWT_ERR_EXPIRED:
        status = NGX_HTTP_HUBGATE_WH_STALE;
        break;

    case HG_JWT_ERR_NOT_YET_VALID:
        status = NGX_HTTP_HUBGATE_WH_FUTURE;
        break;

    default:
        status = NGX_HTTP_HUBGATE_WH_SIGNATURE;
    }

    ctx->wh_status = status;
    ngx_http_hubgate_stat_inc(r, NGX_HTTP_HUBGATE_STAT_WEBHOOK + status);
}


static int
ngx_http_hubgate_webhook_header(void *data, const char *name,
    hg_wh_str_t *value)
{
    ngx_http_request_t *r = data;

    size_t            len;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = ngx_strlen(name);
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return -1;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            value->data = (const char *) h[i].value.data;
            value->len = h[i].value.len;
            return 0;
        }
    }
}


static ngx_int_t
ngx_http_hubgate_webhook_accept(ngx_http_request_t *r,
    ngx_http_hubgate_webhook_t *wh, ngx_http_hubgate_ctx_t *ctx,
    const char *id)
{
    u_char  *p;
    size_t   len;

    len = ngx_strlen(id);

    ctx->wh_header.len = sizeof("scheme=") - 1 + wh->name.len
                         + (len ? sizeof(";id=") - 1 + len : 0);
    ctx->wh_header.data = ngx_pnalloc(r->pool, ctx->wh_header.len);
    if (ctx->wh_header.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(ctx->wh_header.data, "scheme=", sizeof("scheme=") - 1);
    p = ngx_cpymem(p, wh->name.data, wh->name.len);

    if (len) {
        p = ngx_cpymem(p, ";id=", sizeof(";id=") - 1);
        ngx_memcpy(p, id, len);

        ctx->wh_id.data = p;
        ctx->wh_id.len = len;
        ctx->wh_id_done = 1;
    }

    ctx->wh_status = NGX_HTTP_HUBGATE_WH_OK;
    ctx->wh_done = 1;

    ngx_http_hubgate_stat_inc(r, NGX_HTTP_HUBGATE_STAT_WEBHOOK
                                 + NGX_HTTP_HUBGATE_WH_OK);

    return NGX_OK;
}


static ngx_int_t
ngx_http_hubgate_webhook_reject(ngx_http_request_t *r,
    ngx_http_hubgate_ctx_t *ctx, ngx_uint_t status, ngx_int_t code)
{
    ctx->wh_status = status;

    ngx_http_hubgate_stat_inc(r, NGX_HTTP_HUBGATE_STAT_WEBHOOK + status);

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "hubgate: webhook refused: %V",
                  &ngx_http_hubgate_wh_names[status]);

    return code;
}


/*
 * $hubgate_webhook_id: the event id hubgated will store (hg_whevent.h):
 * the signed header's id, else the payload's or the hash of the body,
 * worked out only when the variable is used.  Not found when the scheme
 * requires a payload id the body lacks (hubgated refuses the event).
 */

ngx_int_t
ngx_http_hubgate_webhook_id(ngx_http_request_t *r,
    ngx_http_hubgate_ctx_t *ctx, ngx_str_t *id)
{
    int                           rc;
    size_t                        len;
    char                          buf[HG_WHEVENT_ID_SIZE];
    ngx_http_hubgate_webhook_t   *wh;
    ngx_http_hubgate_loc_conf_t  *lcf;

    if (ctx->wh_id_done) {
        *id = ctx->wh_id;
        return ctx->wh_id.len ? NGX_OK : NGX_DECLINED;
    }

    ctx->wh_id_done = 1;

    lcf = ctx->lcf;
    wh = lcf ? lcf->webhook : NULL;

    if (wh == NULL || ctx->wh_status != NGX_HTTP_HUBGATE_WH_OK) {
        return NGX_DECLINED;
    }

    rc = hg_whevent_payload((const char *) wh->name.data,
                            (const char *) ctx->wh_body.data,
                            ctx->wh_body.len, buf, sizeof(buf), NULL);

    if (rc == HG_WHEVENT_MISSING) {
        return NGX_DECLINED;
    }

    if (rc != HG_WHEVENT_OK && rc != HG_WHEVENT_HASHED) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "hubgate: webhook id of the %V scheme: %s", &wh->name,
                      hg_whevent_strerror(rc));
        return NGX_ERROR;
    }

    len = ngx_strlen(buf);

    ctx->wh_id.data = ngx_pnalloc(r->pool, len);
    if (ctx->wh_id.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ctx->wh_id.data, buf, len);
    ctx->wh_id.len = len;

    *id = ctx->wh_id;

    return NGX_OK;
}


char *
ngx_http_hubgate_webhook(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hubgate_loc_conf_t *lcf = conf;

    u_char                      *eq;
    time_t                       t;
    ngx_str_t                   *value, name, val, *sec;
    ngx_uint_t                   i;
    ngx_array_t                 *secrets;
    ngx_http_hubgate_webhook_t  *wh;

    if (lcf->webhook) {
        return "is duplicate";
    }

    value = cf->args->elts;

    wh = ngx_pcalloc(cf->pool, sizeof(ngx_http_hubgate_webhook_t));
    if (wh == NULL) {
        return NGX_CONF_ERROR;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     wh->wc = { 0 } (sha256, hex, tolerance: the scheme's default);
     *     wh->secret_request = NULL;
     *     wh->url = NULL;
     */

    wh->name = value[1];
    wh->secret_ttl = NGX_CONF_UNSET;

    if (ngx_strcmp(value[1].data, "pubsub") == 0) {
        wh->pubsub = 1;

    } else {
        wh->scheme = hg_wh_scheme((const char *) value[1].data);

        if (wh->scheme == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "hubgate_webhook: unknown scheme \"%V\": use "
                               "stripe, square, intuit, standard, github, "
                               "mailchimp, pubsub or hmac", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    secrets = ngx_array_create(cf->pool, 2, sizeof(ngx_str_t));
    if (secrets == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {
        eq = (u_char *) ngx_strchr(value[i].data, '=');

        if (eq == NULL) {
            goto invalid;
        }

        name.data = value[i].data;
        name.len = eq - value[i].data;
        val.data = eq + 1;
        val.len = value[i].data + value[i].len - val.data;

#define NGX_HG_IS(s)  (name.len == sizeof(s) - 1                              \
                       && ngx_strncmp(name.data, s, sizeof(s) - 1) == 0)

        if (NGX_HG_IS("secret")) {
            if (ngx_http_hubgate_webhook_file(cf, secrets, &val)
                != NGX_CONF_OK)
            {
                return NGX_CONF_ERROR;
            }

        } else if (NGX_HG_IS("secret_request")) {
            wh->secret_request = (val.len && val.data[0] == '/'
                                  && !ngx_strlchr(val.data,
                                                  val.data + val.len, '?'))
                                 ? ngx_http_hubgate_webhook_cv(cf, &val)
                                 : NULL;

            if (wh->secret_request == NULL) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "hubgate_webhook: secret_request=\"%V\" "
                                   "must be a path such as /api/v1/"
                                   "webhook-secrets/stripe/$integration",
                                   &val);
                return NGX_CONF_ERROR;
            }

        } else if (NGX_HG_IS("secret_ttl") || NGX_HG_IS("tolerance")) {
            t = (val.len == 3 && ngx_strncmp(val.data, "off", 3) == 0
                 && NGX_HG_IS("tolerance"))
                ? -1 : ngx_parse_time(&val, 1);

            if (t == (time_t) NGX_ERROR
                || (t == 0 && NGX_HG_IS("secret_ttl")))
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "hubgate_webhook: invalid %V \"%V\": use a "
                                   "time such as 60s or 5m%s", &name, &val,
                                   NGX_HG_IS("tolerance") ? ", or off" : "");
                return NGX_CONF_ERROR;
            }

            if (NGX_HG_IS("secret_ttl")) {
                wh->secret_ttl = t;

            } else {
                wh->wc.tolerance = t;
            }

        } else if (NGX_HG_IS("url")) {
            wh->url = val.len ? ngx_http_hubgate_webhook_cv(cf, &val) : NULL;

            if (wh->url == NULL) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "hubgate_webhook: url=\"%V\" must be the "
                                   "notification URL, variables allowed",
                                   &val);
                return NGX_CONF_ERROR;
            }

        } else if (NGX_HG_IS("header")) {
            wh->wc.header_name = (const char *) val.data;

        } else if (NGX_HG_IS("alg")) {
            if (ngx_strcmp(val.data, "sha256") == 0) {
                wh->wc.alg = HG_WH_SHA256;

            } else if (ngx_strcmp(val.data, "sha512") == 0) {
                wh->wc.alg = HG_WH_SHA512;

            } else if (ngx_strcmp(val.data, "sha1") == 0) {
                wh->wc.alg = HG_WH_SHA1;

            } else {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "hubgate_webhook: unknown alg \"%V\": use "
                                   "sha256, sha512 or sha1", &val);
                return NGX_CONF_ERROR;
            }

        } else if (NGX_HG_IS("encoding")) {
            if (ngx_strcmp(val.data, "hex") == 0) {
                wh->wc.encoding = HG_WH_HEX;

            } else if (ngx_strcmp(val.data, "base64") == 0) {
                wh->wc.encoding = HG_WH_BASE64;

            } else {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "hubgate_webhook: unknown encoding \"%V\": "
                                   "use hex or base64", &val);
                return NGX_CONF_ERROR;
            }

        } else if (NGX_HG_IS("prefix")) {
            wh->wc.prefix = (const char *) val.data;

        } else if (NGX_HG_IS("timestamp_header")) {
            wh->wc.ts_header = (const char *) val.data;
            wh->wc.payload_ts = 1;

        } else if (NGX_HG_IS("param")) {
            wh->wc.param = (const char *) val.data;

        } else if (NGX_HG_IS("audience")) {
            wh->audience = val;

        } else if (NGX_HG_IS("email")) {
            wh->email = val;

        } else {
            goto invalid;
        }

#undef NGX_HG_IS
    }

    if (wh->secret_ttl == NGX_CONF_UNSET) {
        wh->secret_ttl = NGX_HTTP_HUBGATE_WH_TTL;
    }

    if (wh->pubsub) {
        if (wh->audience.len == 0 || wh->email.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "hubgate_webhook pubsub needs audience= (the "
                               "push endpoint's audience) and email= (the "
                               "push service account)");
            return NGX_CONF_ERROR;
        }

        if (secrets->nelts || wh->secret_request) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "hubgate_webhook pubsub takes no secret: its "
                               "keys are hubgate_jwt_key_file or "
                               "hubgate_jwt_key_request");
            return NGX_CONF_ERROR;
        }

        lcf->webhook = wh;
        return NGX_CONF_OK;
    }

    if (secrets->nelts == 0 && wh->secret_request == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hubgate_webhook %V needs secret=<file> or "
                           "secret_request=<uri>", &wh->name);
        return NGX_CONF_ERROR;
    }

    if (secrets->nelts > HG_WH_MAX_SECRETS) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hubgate_webhook: %ui secrets, at most %d",
                           secrets->nelts, HG_WH_MAX_SECRETS);
        return NGX_CONF_ERROR;
    }

    /* a secret in the URL is masked in the request line (the logs) */
    wh->url_secret = wh->wc.param != NULL
                     || ngx_strcmp(wh->name.data, "mailchimp") == 0;

    if (ngx_strcmp(wh->name.data, "square") == 0 && wh->url == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hubgate_webhook square needs url=, the "
                           "notification URL exactly as set at Square");
        return NGX_CONF_ERROR;
    }

    wh->nfile = secrets->nelts;
    wh->wc.nsecrets = secrets->nelts;
    wh->wc.secrets = ngx_palloc(cf->pool, (secrets->nelts + 1)
                                          * sizeof(unsigned char *));
    wh->wc.secret_lens = ngx_palloc(cf->pool,
                                    (secrets->nelts + 1) * sizeof(size_t));
    if (wh->wc.secrets == NULL || wh->wc.secret_lens == NULL) {
        return NGX_CONF_ERROR;
    }

    sec = secrets->elts;

    for (i = 0; i < secrets->nelts; i++) {
        ((const unsigned char **) wh->wc.secrets)[i] = sec[i].data;
        ((size_t *) wh->wc.secret_lens)[i] = sec[i].len;
    }

    if (secrets->nelts == 0) {
        /* the check sees a probe; fetched secrets are checked when used */
        ((const unsigned char **) wh->wc.secrets)[0] =
                                                  ngx_http_hubgate_wh_probe;
        ((size_t *) wh->wc.secret_lens)[0] =
                                       sizeof(ngx_http_hubgate_wh_probe) - 1;
        wh->wc.nsecrets = 1;
    }

    val.data = (u_char *) wh->scheme->check(&wh->wc);

    if (val.data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hubgate_webhook %V: %s", &wh->name, val.data);
        return NGX_CONF_ERROR;
    }

    wh->wc.nsecrets = secrets->nelts;

    lcf->webhook = wh;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "hubgate_webhook: invalid parameter \"%V\": use "
                       "secret=, secret_request=, secret_ttl=, tolerance=, "
                       "url=, header=, alg=, encoding=, prefix=, "
                       "timestamp_header=, param=, audience= or email=",
                       &value[i]);

    return NGX_CONF_ERROR;
}


/* value compiled, variables allowed; NULL on failure */

static ngx_http_complex_value_t *
ngx_http_hubgate_webhook_cv(ngx_conf_t *cf, ngx_str_t *value)
{
    ngx_http_complex_value_t          *cv;
    ngx_http_compile_complex_value_t   ccv;

    cv = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (cv == NULL) {
        return NULL;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));
    ccv.cf = cf;
    ccv.value = value;
    ccv.complex_value = cv;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NULL;
    }

    return cv;
}


/* each non-empty line of the file is a secret; wiped with the cycle */

static char *
ngx_http_hubgate_webhook_file(ngx_conf_t *cf, ngx_array_t *secrets,
    ngx_str_t *path)
{
    u_char              *buf, *p, *end, *eol, *last;
    ssize_t              n;
    ngx_fd_t             fd;
    ngx_str_t           *s;
    ngx_file_t           file;
    ngx_file_info_t      fi;
    ngx_pool_cleanup_t  *cln;

    if (ngx_conf_full_name(cf->cycle, path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(path->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "hubgate_webhook: cannot open secret file \"%V\"",
                           path);
        return NGX_CONF_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR || !ngx_is_file(&fi)
        || ngx_file_size(&fi) > 64 * 1024)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hubgate_webhook: secret file \"%V\" is not a "
                           "readable file of at most 64 KB", path);
        (void) ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    buf = ngx_pnalloc(cf->pool, ngx_file_size(&fi) + 1);

    if (cln == NULL || buf == NULL) {
        (void) ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.fd = fd;
    file.name = *path;
    file.log = cf->log;

    n = ngx_read_file(&file, buf, ngx_file_size(&fi), 0);
    (void) ngx_close_file(fd);

    if (n != (ssize_t) ngx_file_size(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hubgate_webhook: cannot read secret file \"%V\"",
                           path);
        return NGX_CONF_ERROR;
    }

    /* the buffer holds secrets from now on: wiped when the cycle goes */
    cln->handler = ngx_http_hubgate_webhook_wipe;
    cln->data = ngx_palloc(cf->pool, sizeof(ngx_str_t));
    if (cln->data == NULL) {
        cln->handler = NULL;
        ngx_explicit_memzero(buf, n);
        return NGX_CONF_ERROR;
    }

    ((ngx_str_t *) cln->data)->data = buf;
    ((ngx_str_t *) cln->data)->len = n;

    end = buf + n;

    for (p = buf; p < end; p = eol + 1) {
        eol = ngx_strlchr(p, end, '\n');
        if (eol == NULL) {
            eol = end;
        }

        for (last = eol; last > p && (last[-1] == '\r' || last[-1] == ' '
                                      || last[-1] == '\t');
             last--)
        {
            /* void */
        }

        if (last == p) {
            continue;
        }

        if (last - p > NGX_HTTP_HUBGATE_WH_SECRET_MAX) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "hubgate_webhook: a secret in \"%V\" is "
                               "longer than 1024 bytes", path);
            return NGX_CONF_ERROR;
        }

        s = ngx_array_push(secrets);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }

        s->data = p;
        s->len = last - p;
    }

    if (secrets->nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hubgate_webhook: secret file \"%V\" holds no "
                           "secret", path);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void
ngx_http_hubgate_webhook_wipe(void *data)
{
    ngx_str_t  *buf = data;

    ngx_explicit_memzero(buf->data, buf->len);
}


char *
ngx_http_hubgate_webhook_merge(ngx_conf_t *cf,
    ngx_http_hubgate_loc_conf_t *prev, ngx_http_hubgate_loc_conf_t *conf)
{
    ngx_str_t                   *aud;
    ngx_http_hubgate_webhook_t  *wh;

    if (conf->webhook == NULL) {
        conf->webhook = prev->webhook;
    }

    wh = conf->webhook;

    if (wh == NULL || !wh->pubsub) {
        return NGX_CONF_OK;
    }

    /* pubsub is a Google-signed token: the JWT step with Google's rules */

    if ((conf->key_files ? conf->keys : prev->keys) == NULL
        && conf->jwks_zone == NULL && prev->jwks_zone == NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hubgate_webhook pubsub needs Google's keys: add "
                           "hubgate_jwt_key_file or hubgate_jwt_key_request");
        return NGX_CONF_ERROR;
    }

    if (conf->jwt == NGX_CONF_UNSET || conf->jwt == 0) {
        conf->jwt = 1;
        ngx_str_set(&conf->realm, "pubsub");
    }

    if (conf->issuer.data == NULL) {
        ngx_str_set(&conf->issuer, NGX_HTTP_HUBGATE_WH_GOOGLE_ISS);
    }

    if (conf->audiences == NGX_CONF_UNSET_PTR
        || conf->audiences == NULL)
    {
        conf->audiences = ngx_array_create(cf->pool, 1, sizeof(ngx_str_t));
        if (conf->audiences == NULL) {
            return NGX_CONF_ERROR;
        }

        aud = ngx_array_push(conf->audiences);
        if (aud == NULL) {
            return NGX_CONF_ERROR;
        }

        *aud = wh->audience;
    }

    if (conf->algorithms == 0) {
        conf->algorithms = HG_ALG_BIT(HG_ALG_RS256);
    }

    return NGX_CONF_OK;
}


/* after the JWT merge: what only the whole location can tell */

char *
ngx_http_hubgate_webhook_check(ngx_conf_t *cf,
    ngx_http_hubgate_loc_conf_t *conf)
{
    ngx_http_hubgate_webhook_t    *wh;
    ngx_http_hubgate_main_conf_t  *mcf;

    wh = conf->webhook;

    if (wh == NULL) {
        return NGX_CONF_OK;
    }

    if (wh->secret_request == NULL) {
        return NGX_CONF_OK;
    }

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_hubgate_module);

    if (mcf->webhook_zone == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hubgate_webhook secret_request= needs "
                           "\"hubgate_webhook_cache zone=<name>:<size>\" "
                           "in the http block");
        return NGX_CONF_ERROR;
    }

    if (conf->identity_secret.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hubgate_webhook secret_request= needs "
                           "hubgate_identity_secret: hubgated answers only "
                           "signed requests");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


char *
ngx_http_hubgate_webhook_cache(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_hubgate_main_conf_t *mcf = conf;

    u_char                      *p;
    ssize_t                      size;
    ngx_str_t                   *value, name, s;
    ngx_http_hubgate_cache_t  *cache;

    if (mcf->webhook_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strncmp(value[1].data, "zone=", 5) != 0) {
        goto invalid;
    }

    name.data = value[1].data + 5;
    p = (u_char *) ngx_strchr(name.data, ':');

    if (p == NULL) {
        goto invalid;
    }

    name.len = p - name.data;
    s.data = p + 1;
    s.len = value[1].data + value[1].len - s.data;

    size = ngx_parse_size(&s);

    if (name.len == 0 || size == NGX_ERROR) {
        goto invalid;
    }

    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hubgate_webhook_cache: zone \"%V\" is too small: "
                           "use at least 32k", &name);
        return NGX_CONF_ERROR;
    }

    cache = ngx_pcalloc(cf->pool, sizeof(ngx_http_hubgate_cache_t));
    if (cache == NULL) {
        return NGX_CONF_ERROR;
    }

    mcf->webhook_zone = ngx_shared_memory_add(cf, &name, size,
                                              &ngx_http_hubgate_module);
    if (mcf->webhook_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (mcf->webhook_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hubgate_webhook_cache: zone \"%V\" is already "
                           "used", &name);
        return NGX_CONF_ERROR;
    }

    mcf->webhook_zone->init = ngx_http_hubgate_webhook_init_zone;
    mcf->webhook_zone->data = cache;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "hubgate_webhook_cache: invalid \"%V\": use "
                       "zone=<name>:<size>, such as zone=whsec:1m",
                       &value[1]);

    return NGX_CONF_ERROR;
}


static ngx_int_t
ngx_http_hubgate_webhook_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    return ngx_http_hubgate_cache_zone_init(shm_zone, data,
                                            ngx_str_rbtree_insert_value,
                                            "hubgate_webhook_cache");
}
