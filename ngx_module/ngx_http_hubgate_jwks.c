
/*
 * hubgate: where JWT keys come from.
 *
 * hubgate_jwt_key_file: JWKS or PEM read at configuration time (so a
 * reload picks up new files); the parsed keyset lives as long as the
 * configuration.
 *
 * hubgate_jwt_key_request: an internal subrequest that returns a JWKS.
 * The raw document is kept in shared memory for all workers, with a
 * generation number; each worker parses it once per generation.  It is
 * refreshed on its TTL (one request fetches, the others use the old keys
 * meanwhile) and, at most once a minute, on an unknown kid.  Unknown kids
 * are negative-cached for the same minute.
 */


#include "ngx_http_hubgate_module.h"


#define NGX_HTTP_HUBGATE_JWKS_ZONE_SIZE  (256 * 1024)
#define NGX_HTTP_HUBGATE_MAX_KEY_FILE    (1024 * 1024)


typedef struct {
    ngx_http_hubgate_ctx_t         *ctx;
    ngx_http_hubgate_jwks_t        *jw;
} ngx_http_hubgate_fetch_t;


static ngx_int_t ngx_http_hubgate_jwks_try(const hg_keyset_t *ks,
    hg_jwt_t *jwt);
static ngx_int_t ngx_http_hubgate_jwks_sync(ngx_http_request_t *r,
    ngx_http_hubgate_jwks_t *jw);
static ngx_int_t ngx_http_hubgate_jwks_decide(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_jwks_t *jw,
    hg_jwt_t *jwt);
static ngx_int_t ngx_http_hubgate_jwks_fetch(ngx_http_request_t *r,
    ngx_http_hubgate_ctx_t *ctx, ngx_http_hubgate_jwks_t *jw);
static ngx_int_t ngx_http_hubgate_jwks_done(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static ngx_int_t ngx_http_hubgate_jwks_store(ngx_http_request_t *r,
    ngx_http_hubgate_jwks_t *jw, u_char *data, size_t len);
static void ngx_http_hubgate_jwks_negative(ngx_http_hubgate_jwks_sh_t *sh,
    uint32_t hash, time_t now);
static ngx_int_t ngx_http_hubgate_jwks_is_negative(
    ngx_http_hubgate_jwks_sh_t *sh, uint32_t hash, time_t now);
static hg_keyset_t *ngx_http_hubgate_keyset_new(void);
static void ngx_http_hubgate_keyset_free(hg_keyset_t *ks);
static void ngx_http_hubgate_keyset_cleanup(void *data);
static ngx_int_t ngx_http_hubgate_jwks_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);


ngx_int_t
ngx_http_hubgate_jwks_verify(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx)
{
    hg_jwt_t                 *jwt;
    ngx_int_t                 rc, rc2;
    ngx_http_hubgate_jwks_t  *jw;

    if (ctx->fetching) {
        /* woken before our subrequest finished */
        return NGX_AGAIN;
    }

    jwt = ctx->jwt;
    rc = HG_JWT_ERR_NO_KEY;

    if (lcf->keys) {
        rc = ngx_http_hubgate_jwks_try(lcf->keys, jwt);

        if (rc == HG_JWT_OK) {
            return NGX_OK;
        }
    }

    if (lcf->jwks_zone == NULL) {
        ctx->jwt_error = rc;
        return NGX_DECLINED;
    }

    jw = lcf->jwks_zone->data;

    if (!ctx->fetched) {
        rc2 = ngx_http_hubgate_jwks_decide(r, lcf, jw, jwt);

        if (rc2 == NGX_AGAIN) {
            return ngx_http_hubgate_jwks_fetch(r, ctx, jw);
        }

        if (rc2 == NGX_DECLINED) {
            /* a kid we know nobody has: no need to try the keys */
            ctx->jwt_error = HG_JWT_ERR_NO_KEY;
            return NGX_DECLINED;
        }
    }

    if (ngx_http_hubgate_jwks_sync(r, jw) != NGX_OK) {
        return NGX_ERROR;
    }

    if (jw->keys) {
        rc2 = ngx_http_hubgate_jwks_try(jw->keys, jwt);

        if (rc2 == HG_JWT_OK) {
            return NGX_OK;
        }

        if (rc2 != HG_JWT_ERR_NO_KEY) {
            rc = rc2;
        }
    }

    if (rc == HG_JWT_ERR_NO_KEY && jwt->kid) {
        ngx_shmtx_lock(&jw->shpool->mutex);
        ngx_http_hubgate_jwks_negative(jw->sh,
                           ngx_crc32_short((u_char *) jwt->kid, jwt->kid_len),
                           ngx_time());
        ngx_shmtx_unlock(&jw->shpool->mutex);
    }

    ctx->jwt_error = rc;

    return NGX_DECLINED;
}


/* HG_JWT_OK, HG_JWT_ERR_SIGNATURE (a key fit, none verified), or NO_KEY */

static ngx_int_t
ngx_http_hubgate_jwks_try(const hg_keyset_t *ks, hg_jwt_t *jwt)
{
    size_t           iter;
    ngx_int_t        rc;
    const hg_key_t  *key;

    iter = 0;
    rc = HG_JWT_ERR_NO_KEY;

    while ((key = hg_jwks_next(ks, jwt->kid, jwt->kid_len, jwt->alg, &iter))
           != NULL)
    {
        if (hg_jwt_verify(jwt, key) == HG_JWT_OK) {
            return HG_JWT_OK;
        }

        rc = HG_JWT_ERR_SIGNATURE;
    }

    return rc;
}


/*
 * NGX_AGAIN: fetch now; NGX_OK: use what we have; NGX_DECLINED: the kid is
 * negative-cached.
 */

static ngx_int_t
ngx_http_hubgate_jwks_decide(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_jwks_t *jw,
    hg_jwt_t *jwt)
{
    time_t                       now;
    uint32_t                     hash;
    ngx_int_t                    rc, known;
    ngx_http_hubgate_jwks_sh_t  *sh;

    if (ngx_http_hubgate_jwks_sync(r, jw) != NGX_OK) {
        return NGX_ERROR;
    }

    known = jwt->kid == NULL
            || (lcf->keys && hg_jwks_has_kid(lcf->keys, jwt->kid,
                                             jwt->kid_len))
            || (jw->keys && hg_jwks_has_kid(jw->keys, jwt->kid,
                                            jwt->kid_len));

    hash = jwt->kid ? ngx_crc32_short((u_char *) jwt->kid, jwt->kid_len) : 0;
    now = ngx_time();
    sh = jw->sh;
    rc = NGX_OK;

    ngx_shmtx_lock(&jw->shpool->mutex);

    if (sh->fetched == 0) {
        /* never fetched: fetch, unless a fetch failed moments ago */
        rc = (now < sh->fetching_until) ? NGX_OK : NGX_AGAIN;

    } else if (now >= sh->expires && now >= sh->fetching_until) {
        sh->fetching_until = now + NGX_HTTP_HUBGATE_FETCH_GUARD;
        rc = NGX_AGAIN;

    } else if (!known) {

        if (ngx_http_hubgate_jwks_is_negative(sh, hash, now)) {
            rc = NGX_DECLINED;

        } else if (now - sh->unknown_kid_refresh
                   >= NGX_HTTP_HUBGATE_UNKNOWN_KID_INTERVAL)
        {
            sh->unknown_kid_refresh = now;
            rc = NGX_AGAIN;

        } else {
            ngx_http_hubgate_jwks_negative(sh, hash, now);
            rc = NGX_DECLINED;
        }
    }

    ngx_shmtx_unlock(&jw->shpool->mutex);

    return rc;
}


static void
ngx_http_hubgate_jwks_negative(ngx_http_hubgate_jwks_sh_t *sh, uint32_t hash,
    time_t now)
{
    sh->neg_kid[sh->neg_next] = hash;
    sh->neg_time[sh->neg_next] = now;
    sh->neg_next = (sh->neg_next + 1) % NGX_HTTP_HUBGATE_NEG_KIDS;
}


static ngx_int_t
ngx_http_hubgate_jwks_is_negative(ngx_http_hubgate_jwks_sh_t *sh,
    uint32_t hash, time_t now)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_HUBGATE_NEG_KIDS; i++) {
        if (sh->neg_kid[i] == hash && sh->neg_time[i] != 0
            && now - sh->neg_time[i] < NGX_HTTP_HUBGATE_UNKNOWN_KID_INTERVAL)
        {
            return 1;
        }
    }

    return 0;
}


/* brings this worker's parsed keyset up to the shared generation */

static ngx_int_t
ngx_http_hubgate_jwks_sync(ngx_http_request_t *r, ngx_http_hubgate_jwks_t *jw)
{
    u_char       *copy;
    size_t        len;
    uint64_t      generation;
    hg_keyset_t  *ks;
    char          err[256];

    ngx_shmtx_lock(&jw->shpool->mutex);

    generation = jw->sh->generation;

    if (generation == jw->generation || jw->sh->data == NULL) {
        ngx_shmtx_unlock(&jw->shpool->mutex);
        return NGX_OK;
    }

    len = jw->sh->len;
    copy = ngx_alloc(len, r->connection->log);

    if (copy == NULL) {
        ngx_shmtx_unlock(&jw->shpool->mutex);
        return NGX_ERROR;
    }

    ngx_memcpy(copy, jw->sh->data, len);

    ngx_shmtx_unlock(&jw->shpool->mutex);

    ks = ngx_http_hubgate_keyset_new();
    if (ks == NULL) {
        ngx_free(copy);
        return NGX_ERROR;
    }

    if (hg_jwks_add_data(ks, (const char *) copy, len, err, sizeof(err))
        != 0)
    {
        /* stored documents were validated before; keep the old keys */
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hubgate: jwks from \"%V\": %s", &jw->uri, err);
        ngx_http_hubgate_keyset_free(ks);
        ngx_free(copy);
        jw->generation = generation;
        return NGX_OK;
    }

    ngx_free(copy);

    if (jw->keys) {
        ngx_http_hubgate_keyset_free(jw->keys);
    }

    jw->keys = ks;
    jw->generation = generation;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hubgate_jwks_fetch(ngx_http_request_t *r, ngx_http_hubgate_ctx_t *ctx,
    ngx_http_hubgate_jwks_t *jw)
{
    ngx_http_request_t          *sr;
    ngx_http_hubgate_fetch_t    *fetch;
    ngx_http_post_subrequest_t  *ps;

    fetch = ngx_palloc(r->pool, sizeof(ngx_http_hubgate_fetch_t));
    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));

    if (fetch == NULL || ps == NULL) {
        return NGX_ERROR;
    }

    fetch->ctx = ctx;
    fetch->jw = jw;

    ps->handler = ngx_http_hubgate_jwks_done;
    ps->data = fetch;

    if (ngx_http_hubgate_subrequest_get(r, &jw->uri, NULL, ps, &sr)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ctx->fetching = 1;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hubgate: fetching jwks from \"%V\"", &jw->uri);

    return NGX_AGAIN;
}


static ngx_int_t
ngx_http_hubgate_jwks_done(ngx_http_request_t *r, void *data, ngx_int_t rc)
{
    ngx_http_hubgate_fetch_t *fetch = data;

    ngx_buf_t               *b;
    ngx_http_hubgate_ctx_t  *ctx;

    ctx = fetch->ctx;

    if (ctx->fetched) {
        return rc;
    }

    ctx->fetched = 1;
    ctx->fetching = 0;
    ctx->sr_status = r->headers_out.status;

    b = r->out ? r->out->buf : NULL;

    if (rc == NGX_OK && r->headers_out.status == NGX_HTTP_OK && b != NULL
        && b->last > b->pos
        && ngx_http_hubgate_jwks_store(r, fetch->jw, b->pos, b->last - b->pos)
           == NGX_OK)
    {
        ngx_http_hubgate_stat_inc(r, NGX_HTTP_HUBGATE_STAT_JWKS_FETCH_OK);
        return rc;
    }

    ngx_http_hubgate_stat_inc(r, NGX_HTTP_HUBGATE_STAT_JWKS_FETCH_FAILED);

    if (rc != NGX_OK || r->headers_out.status != NGX_HTTP_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hubgate: jwks request \"%V\" failed: status %ui",
                      &fetch->jw->uri, r->headers_out.status);

    } else if (b == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hubgate: jwks request \"%V\" returned no body in "
                      "memory (is subrequest_output_buffer_size large "
                      "enough?)", &fetch->jw->uri);
    }

    /*
     * Back off, so a failing identity provider is not asked once per
     * client request; briefly while no keys were ever fetched.
     */

    ngx_shmtx_lock(&fetch->jw->shpool->mutex);
    fetch->jw->sh->fetching_until = ngx_time()
                                    + (fetch->jw->sh->fetched
                                       ? NGX_HTTP_HUBGATE_FETCH_GUARD
                                       : NGX_HTTP_HUBGATE_FIRST_FETCH_GUARD);
    ngx_shmtx_unlock(&fetch->jw->shpool->mutex);

    return rc;
}


/* validates a fetched JWKS, then publishes it to every worker */

static ngx_int_t
ngx_http_hubgate_jwks_store(ngx_http_request_t *r, ngx_http_hubgate_jwks_t *jw,
    u_char *data, size_t len)
{
    u_char                      *copy;
    time_t                       now;
    hg_keyset_t                 *ks;
    ngx_http_hubgate_jwks_sh_t  *sh;
    char                         err[256];

    ks = ngx_http_hubgate_keyset_new();
    if (ks == NULL) {
        return NGX_ERROR;
    }

    if (hg_jwks_add_data(ks, (const char *) data, len, err, sizeof(err))
        != 0)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hubgate: jwks from \"%V\" refused: %s", &jw->uri, err);
        ngx_http_hubgate_keyset_free(ks);
        return NGX_ERROR;
    }

    sh = jw->sh;
    now = ngx_time();

    ngx_shmtx_lock(&jw->shpool->mutex);

    copy = ngx_slab_alloc_locked(jw->shpool, len);
    if (copy == NULL) {
        ngx_shmtx_unlock(&jw->shpool->mutex);
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hubgate: jwks from \"%V\" is too large (%uz bytes)",
                      &jw->uri, len);
        ngx_http_hubgate_keyset_free(ks);
        return NGX_ERROR;
    }

    ngx_memcpy(copy, data, len);

    if (sh->data) {
        ngx_slab_free_locked(jw->shpool, sh->data);
    }

    sh->data = copy;
    sh->len = len;
    sh->generation++;
    sh->fetched = now;
    sh->expires = now + jw->ttl;
    sh->fetching_until = 0;

    /* the new document may hold kids that were unknown a moment ago */
    ngx_memzero(sh->neg_time, sizeof(sh->neg_time));

    if (jw->keys) {
        ngx_http_hubgate_keyset_free(jw->keys);
    }

    jw->keys = ks;
    jw->generation = sh->generation;

    ngx_shmtx_unlock(&jw->shpool->mutex);

    return NGX_OK;
}


static hg_keyset_t *
ngx_http_hubgate_keyset_new(void)
{
    hg_keyset_t  *ks;

    ks = malloc(sizeof(hg_keyset_t));
    if (ks == NULL) {
        return NULL;
    }

    hg_jwks_init(ks);

    return ks;
}


static void
ngx_http_hubgate_keyset_free(hg_keyset_t *ks)
{
    hg_jwks_free(ks);
    free(ks);
}


static void
ngx_http_hubgate_keyset_cleanup(void *data)
{
    hg_keyset_t  **ks = data;

    if (*ks) {
        ngx_http_hubgate_keyset_free(*ks);
        *ks = NULL;
    }
}


char *
ngx_http_hubgate_jwt_key_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hubgate_loc_conf_t *lcf = conf;

    u_char              *buf;
    ssize_t              n;
    ngx_fd_t             fd;
    ngx_str_t           *value, *path;
    ngx_file_info_t      fi;
    ngx_pool_cleanup_t  *cln;
    char                 err[256];

    value = cf->args->elts;

    if (ngx_conf_full_name(cf->cycle, &value[1], 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (lcf->key_files == NULL) {
        lcf->key_files = ngx_array_create(cf->pool, 2, sizeof(ngx_str_t));
        if (lcf->key_files == NULL) {
            return NGX_CONF_ERROR;
        }

        lcf->keys = ngx_http_hubgate_keyset_new();
        if (lcf->keys == NULL) {
            return NGX_CONF_ERROR;
        }

        cln = ngx_pool_cleanup_add(cf->pool, sizeof(hg_keyset_t *));
        if (cln == NULL) {
            ngx_http_hubgate_keyset_free(lcf->keys);
            return NGX_CONF_ERROR;
        }

        *(hg_keyset_t **) cln->data = lcf->keys;
        cln->handler = ngx_http_hubgate_keyset_cleanup;
    }

    path = ngx_array_push(lcf->key_files);
    if (path == NULL) {
        return NGX_CONF_ERROR;
    }

    *path = value[1];

    fd = ngx_open_file(path->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "hubgate_jwt_key_file: cannot open \"%V\"", path);
        return NGX_CONF_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > NGX_HTTP_HUBGATE_MAX_KEY_FILE)
    {
        ngx_close_file(fd);
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hubgate_jwt_key_file: \"%V\" is not a readable "
                           "file under 1m", path);
        return NGX_CONF_ERROR;
    }

    buf = ngx_pnalloc(cf->temp_pool, ngx_file_size(&fi) + 1);
    if (buf == NULL) {
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    n = ngx_read_fd(fd, buf, ngx_file_size(&fi));
    ngx_close_file(fd);

    if (n != (ssize_t) ngx_file_size(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "hubgate_jwt_key_file: cannot read \"%V\"", path);
        return NGX_CONF_ERROR;
    }

    buf[n] = '\0';

    if (hg_jwks_add_data(lcf->keys, (const char *) buf, n, err, sizeof(err))
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hubgate_jwt_key_file: \"%V\": %s", path, err);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


char *
ngx_http_hubgate_jwt_key_request(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_hubgate_loc_conf_t *lcf = conf;

    time_t                    ttl;
    ngx_str_t                *value, name, s;
    ngx_http_hubgate_jwks_t  *jw;

    if (lcf->jwks_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;
    ttl = 600;

    if (value[1].len == 0 || value[1].data[0] != '/') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hubgate_jwt_key_request: \"%V\" must be a local "
                           "URI such as /_jwks (a location that proxies to "
                           "the identity provider)", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts == 3) {
        if (ngx_strncmp(value[2].data, "ttl=", 4) != 0) {
            goto invalid;
        }

        s.data = value[2].data + 4;
        s.len = value[2].len - 4;
        ttl = ngx_parse_time(&s, 1);

        if (ttl == (time_t) NGX_ERROR || ttl == 0) {
            goto invalid;
        }
    }

    /* one zone per URI: locations that name the same URI share its keys */
    name.len = sizeof("hubgate_jwks:") - 1 + value[1].len;
    name.data = ngx_pnalloc(cf->pool, name.len);
    if (name.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_sprintf(name.data, "hubgate_jwks:%V", &value[1]);

    lcf->jwks_zone = ngx_shared_memory_add(cf, &name,
                                           NGX_HTTP_HUBGATE_JWKS_ZONE_SIZE,
                                           &ngx_http_hubgate_module);
    if (lcf->jwks_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    jw = lcf->jwks_zone->data;

    if (jw) {
        if (jw->ttl != ttl) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "hubgate_jwt_key_request: \"%V\" is used "
                               "elsewhere with another ttl: use one ttl per "
                               "URI", &value[1]);
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    jw = ngx_pcalloc(cf->pool, sizeof(ngx_http_hubgate_jwks_t));
    if (jw == NULL) {
        return NGX_CONF_ERROR;
    }

    jw->uri = value[1];
    jw->ttl = ttl;

    lcf->jwks_zone->init = ngx_http_hubgate_jwks_init_zone;
    lcf->jwks_zone->data = jw;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "hubgate_jwt_key_request: invalid parameter \"%V\": "
                       "use ttl=<time>, for example ttl=10m", &value[2]);
    return NGX_CONF_ERROR;
}


static ngx_int_t
ngx_http_hubgate_jwks_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_hubgate_jwks_t  *ojw = data;

    ngx_http_hubgate_jwks_t  *jw;

    jw = shm_zone->data;

    if (ojw) {
        /* a reload keeps the fetched document; workers re-parse it */
        jw->sh = ojw->sh;
        jw->shpool = ojw->shpool;
        return NGX_OK;
    }

    jw->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        jw->sh = jw->shpool->data;
        return NGX_OK;
    }

    jw->sh = ngx_slab_calloc(jw->shpool, sizeof(ngx_http_hubgate_jwks_sh_t));
    if (jw->sh == NULL) {
        return NGX_ERROR;
    }

    jw->shpool->data = jw->sh;
    jw->shpool->log_nomem = 0;

    return NGX_OK;
}
