
/*
 * hubgate: per-key (usually per-tenant) limits.
 *
 * The zone is a limit_req-style rbtree + LRU queue in shared memory, one
 * fixed-size node per key: the key is stored as its MD5 digest, so a node
 * is 104 bytes and the slab hands out 128 whatever the key length.  The
 * digest is also what a later Redis reconciliation would name the key by,
 * and `pending` counts what it would push; state survives reloads.
 */


#include "ngx_http_hubgate_module.h"

#include <ngx_md5.h>


#define NGX_HTTP_HUBGATE_DIGEST_LEN  16
#define NGX_HTTP_HUBGATE_IDLE_MS     60000


typedef struct {
    ngx_rbtree_node_t               node;       /* key: digest[0..7] */
    ngx_queue_t                     queue;
    hg_limit_state_t                state;
    uint64_t                        rate;       /* last rate, for expiry */
    u_char                          digest[NGX_HTTP_HUBGATE_DIGEST_LEN];
    uint32_t                        pending;    /* for redis= sync */
    uint32_t                        flags;
} ngx_http_hubgate_limit_node_t;


typedef struct {
    ngx_http_hubgate_limit_zone_t  *zone;
    hg_limit_state_t                state;      /* before this request */
    u_char                          digest[NGX_HTTP_HUBGATE_DIGEST_LEN];
} ngx_http_hubgate_limit_undo_t;


static ngx_int_t ngx_http_hubgate_limit_one(ngx_http_request_t *r,
    ngx_http_hubgate_limit_t *lim, ngx_str_t *key, uint64_t rate,
    hg_limit_info_t *info, ngx_http_hubgate_limit_undo_t *undo);
static void ngx_http_hubgate_limit_revert(ngx_http_hubgate_limit_undo_t *undo,
    ngx_uint_t n);
static ngx_http_hubgate_limit_node_t *ngx_http_hubgate_limit_lookup(
    ngx_http_hubgate_limit_zone_t *zone, u_char *digest);
static ngx_http_hubgate_limit_node_t *ngx_http_hubgate_limit_alloc(
    ngx_http_hubgate_limit_zone_t *zone, uint64_t now);
static ngx_int_t ngx_http_hubgate_limit_reject(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_limit_t *lim,
    ngx_str_t *key, hg_limit_info_t *info);
static ngx_int_t ngx_http_hubgate_limit_header(ngx_http_request_t *r,
    const char *name, uint64_t value);
static ngx_int_t ngx_http_hubgate_limit_rate(ngx_http_request_t *r,
    ngx_http_hubgate_limit_t *lim, uint64_t *rate);
static void ngx_http_hubgate_limit_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_int_t ngx_http_hubgate_limit_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);


ngx_int_t
ngx_http_hubgate_limit_step(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx)
{
    uint64_t                        rate, delay;
    ngx_int_t                       rc;
    ngx_str_t                       key;
    ngx_uint_t                      i, n;
    hg_limit_info_t                 info;
    ngx_http_hubgate_limit_t       *lim;
    ngx_http_hubgate_limit_undo_t  *undo;

    if (ctx->delayed) {
        /* back from the delay timer */
        return NGX_OK;
    }

    lim = lcf->limits->elts;
    delay = 0;
    n = 0;

    undo = ngx_palloc(r->pool, lcf->limits->nelts
                               * sizeof(ngx_http_hubgate_limit_undo_t));
    if (undo == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 0; i < lcf->limits->nelts; i++) {

        if (ngx_http_complex_value(r, &lim[i].key, &key) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (key.len == 0) {
            continue;
        }

        if (ngx_http_hubgate_limit_rate(r, &lim[i], &rate) != NGX_OK) {
            continue;
        }

        rc = ngx_http_hubgate_limit_one(r, &lim[i], &key, rate, &info,
                                        &undo[n]);

        if (rc != HG_LIMIT_REJECTED && !lim[i].dry_run) {
            n++;
        }

        switch (rc) {

        case HG_LIMIT_REJECTED:
            if (lim[i].dry_run) {
                ctx->limit_status = NGX_HTTP_HUBGATE_LIMIT_REJECTED_DRY_RUN;
                continue;
            }

            /* a rejected request uses up none of the other limits */
            ngx_http_hubgate_limit_revert(undo, n);

            ctx->limit_status = NGX_HTTP_HUBGATE_LIMIT_REJECTED;
            return ngx_http_hubgate_limit_reject(r, lcf, &lim[i], &key,
                                                 &info);

        case HG_LIMIT_DELAYED:
            if (lim[i].dry_run) {
                ctx->limit_status = NGX_HTTP_HUBGATE_LIMIT_DELAYED_DRY_RUN;
                continue;
            }

            ctx->limit_status = NGX_HTTP_HUBGATE_LIMIT_DELAYED;
            delay = ngx_max(delay, info.delay);
            continue;

        default: /* HG_LIMIT_PASSED */
            if (ctx->limit_status == NGX_HTTP_HUBGATE_LIMIT_NONE) {
                ctx->limit_status = NGX_HTTP_HUBGATE_LIMIT_PASSED;
            }
        }
    }

    if (delay == 0) {
        return NGX_OK;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hubgate: delaying request %uL ms", delay);

    ctx->delayed = 1;

    return ngx_http_hubgate_delay(r, (ngx_msec_t) delay);
}


static ngx_int_t
ngx_http_hubgate_limit_rate(ngx_http_request_t *r,
    ngx_http_hubgate_limit_t *lim, uint64_t *rate)
{
    ngx_str_t  value;

    if (lim->rate) {
        *rate = lim->rate;
        return NGX_OK;
    }

    if (ngx_http_complex_value(r, &lim->rate_cv, &value) != NGX_OK) {
        return NGX_ERROR;
    }

    /* an empty rate (say, a map's default "") means: no limit */
    if (value.len == 0) {
        return NGX_DECLINED;
    }

    if (hg_limit_parse_rate((const char *) value.data, value.len, rate)
        != 0)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hubgate: hubgate_limit rate \"%V\" is invalid, "
                      "limit not applied: use <n>r/s, r/m or r/h", &value);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hubgate_limit_one(ngx_http_request_t *r,
    ngx_http_hubgate_limit_t *lim, ngx_str_t *key, uint64_t rate,
    hg_limit_info_t *info, ngx_http_hubgate_limit_undo_t *undo)
{
    uint64_t                        now;
    ngx_md5_t                       md5;
    ngx_time_t                     *tp;
    hg_limit_state_t                st;
    hg_limit_result_e               rc;
    ngx_http_hubgate_limit_node_t  *ln;
    ngx_http_hubgate_limit_zone_t  *zone;
    u_char                          digest[NGX_HTTP_HUBGATE_DIGEST_LEN];

    ngx_md5_init(&md5);
    ngx_md5_update(&md5, key->data, key->len);
    ngx_md5_final(digest, &md5);

    tp = ngx_timeofday();
    now = (uint64_t) tp->sec * 1000 + tp->msec;

    zone = lim->shm_zone->data;

    ngx_shmtx_lock(&zone->shpool->mutex);

    ln = ngx_http_hubgate_limit_lookup(zone, digest);

    if (ln) {
        st = ln->state;

    } else {
        st.excess = 0;
        st.last = now;
    }

    undo->zone = zone;
    undo->state = st;
    ngx_memcpy(undo->digest, digest, NGX_HTTP_HUBGATE_DIGEST_LEN);

    rc = hg_limit_account(&st, now, rate, lim->burst, lim->nodelay, info);

    if (rc != HG_LIMIT_REJECTED) {

        if (ln == NULL) {
            ln = ngx_http_hubgate_limit_alloc(zone, now);

            if (ln) {
                ngx_memcpy(&ln->node.key, digest, sizeof(ngx_rbtree_key_t));
                ngx_memcpy(ln->digest, digest, NGX_HTTP_HUBGATE_DIGEST_LEN);
                ln->pending = 0;
                ln->flags = 0;
                ngx_rbtree_insert(&zone->sh->rbtree, &ln->node);
                zone->sh->keys++;

            } else {
                /* cannot happen with a sane zone size: fail open */
                ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                              "hubgate: limit zone \"%V\" cannot hold one "
                              "key", &zone->name);
            }
        }

        if (ln) {
            ln->state = st;
            ln->rate = rate;
            ln->pending++;
            ngx_queue_remove(&ln->queue);
        }
    }

    if (ln) {
        if (rc == HG_LIMIT_REJECTED) {
            ngx_queue_remove(&ln->queue);
        }

        ngx_queue_insert_head(&zone->sh->queue, &ln->queue);
    }

    switch (rc) {
    case HG_LIMIT_REJECTED:
        if (lim->dry_run) {
            zone->sh->dry_run_rejected++;
        } else {
            zone->sh->rejected++;
        }
        break;
    case HG_LIMIT_DELAYED:
        zone->sh->delayed++;
        break;
    default:
        zone->sh->passed++;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
}


static void
ngx_http_hubgate_limit_revert(ngx_http_hubgate_limit_undo_t *undo,
    ngx_uint_t n)
{
    ngx_uint_t                      i;
    ngx_http_hubgate_limit_node_t  *ln;

    for (i = 0; i < n; i++) {
        ngx_shmtx_lock(&undo[i].zone->shpool->mutex);

        ln = ngx_http_hubgate_limit_lookup(undo[i].zone, undo[i].digest);

        if (ln) {
            ln->state = undo[i].state;
        }

        ngx_shmtx_unlock(&undo[i].zone->shpool->mutex);
    }
}


static ngx_http_hubgate_limit_node_t *
ngx_http_hubgate_limit_lookup(ngx_http_hubgate_limit_zone_t *zone,
    u_char *digest)
{
    ngx_int_t                       c;
    ngx_rbtree_key_t                key;
    ngx_rbtree_node_t              *node, *sentinel;
    ngx_http_hubgate_limit_node_t  *ln;

    ngx_memcpy(&key, digest, sizeof(key));

    node = zone->sh->rbtree.root;
    sentinel = zone->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (key != node->key) {
            node = (key < node->key) ? node->left : node->right;
            continue;
        }

        ln = (ngx_http_hubgate_limit_node_t *) node;
        c = ngx_memcmp(digest, ln->digest, NGX_HTTP_HUBGATE_DIGEST_LEN);

        if (c == 0) {
            return ln;
        }

        node = (c < 0) ? node->left : node->right;
    }

    return NULL;
}


/*
 * Expires up to two idle, drained keys, then allocates; when the zone is
 * full the least recently used key is evicted, so a new tenant never gets
 * an error.  The returned node is linked into the queue.
 */

static ngx_http_hubgate_limit_node_t *
ngx_http_hubgate_limit_alloc(ngx_http_hubgate_limit_zone_t *zone,
    uint64_t now)
{
    uint64_t                        idle, drained;
    ngx_uint_t                      i;
    ngx_queue_t                    *q;
    ngx_http_hubgate_limit_node_t  *ln;

    for (i = 0; i < 2 && !ngx_queue_empty(&zone->sh->queue); i++) {
        q = ngx_queue_last(&zone->sh->queue);
        ln = ngx_queue_data(q, ngx_http_hubgate_limit_node_t, queue);

        idle = now > ln->state.last ? now - ln->state.last : 0;

        if (idle < NGX_HTTP_HUBGATE_IDLE_MS) {
            break;
        }

        /* drained when rate * idle / 1000 >= excess, without overflow */
        drained = ln->state.excess / idle * 1000
                  + (ln->state.excess % idle * 1000 + idle - 1) / idle;

        if (ln->rate < drained) {
            break;
        }

        ngx_queue_remove(q);
        ngx_rbtree_delete(&zone->sh->rbtree, &ln->node);
        ngx_slab_free_locked(zone->shpool, ln);
        zone->sh->keys--;
    }

    for ( ;; ) {
        ln = ngx_slab_alloc_locked(zone->shpool,
                                   sizeof(ngx_http_hubgate_limit_node_t));
        if (ln != NULL) {
            ngx_queue_insert_head(&zone->sh->queue, &ln->queue);
            return ln;
        }

        if (ngx_queue_empty(&zone->sh->queue)) {
            return NULL;
        }

        q = ngx_queue_last(&zone->sh->queue);
        ln = ngx_queue_data(q, ngx_http_hubgate_limit_node_t, queue);

        ngx_queue_remove(q);
        ngx_rbtree_delete(&zone->sh->rbtree, &ln->node);
        ngx_slab_free_locked(zone->shpool, ln);
        zone->sh->keys--;
        zone->sh->evicted++;
    }
}


static ngx_int_t
ngx_http_hubgate_limit_reject(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_limit_t *lim,
    ngx_str_t *key, hg_limit_info_t *info)
{
    uint64_t                        retry, reset;
    ngx_http_hubgate_limit_zone_t  *zone;

    zone = lim->shm_zone->data;

    retry = (info->retry_after + 999) / 1000;
    reset = (info->reset + 999) / 1000;

    ngx_log_error(lcf->limit_log_level, r->connection->log, 0,
                  "hubgate: limiting requests by zone \"%V\", key \"%V\", "
                  "retry after %uLs", &zone->name, key, retry ? retry : 1);

    if (ngx_http_hubgate_limit_header(r, "Retry-After", retry ? retry : 1)
           != NGX_OK
        || ngx_http_hubgate_limit_header(r, "RateLimit-Limit", info->limit)
           != NGX_OK
        || ngx_http_hubgate_limit_header(r, "RateLimit-Remaining", 0)
           != NGX_OK
        || ngx_http_hubgate_limit_header(r, "RateLimit-Reset",
                                         ngx_max(reset, retry))
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return lcf->limit_status;
}


static ngx_int_t
ngx_http_hubgate_limit_header(ngx_http_request_t *r, const char *name,
    uint64_t value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->value.data = ngx_pnalloc(r->pool, NGX_INT64_LEN);
    if (h->value.data == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value.len = ngx_sprintf(h->value.data, "%uL", value) - h->value.data;

    return NGX_OK;
}


static void
ngx_http_hubgate_limit_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t              **p;
    ngx_http_hubgate_limit_node_t   *ln, *lnt;

    for ( ;; ) {

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            ln = (ngx_http_hubgate_limit_node_t *) node;
            lnt = (ngx_http_hubgate_limit_node_t *) temp;

            p = (ngx_memcmp(ln->digest, lnt->digest,
                            NGX_HTTP_HUBGATE_DIGEST_LEN) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


static ngx_int_t
ngx_http_hubgate_limit_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_hubgate_limit_zone_t  *ozone = data;

    size_t                          len;
    ngx_http_hubgate_limit_zone_t  *zone;

    zone = shm_zone->data;

    if (ozone) {
        /* a reload keeps every key's state */
        zone->sh = ozone->sh;
        zone->shpool = ozone->shpool;
        return NGX_OK;
    }

    zone->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        zone->sh = zone->shpool->data;
        return NGX_OK;
    }

    zone->sh = ngx_slab_calloc(zone->shpool,
                               sizeof(ngx_http_hubgate_limit_sh_t));
    if (zone->sh == NULL) {
        return NGX_ERROR;
    }

    zone->shpool->data = zone->sh;

    ngx_rbtree_init(&zone->sh->rbtree, &zone->sh->sentinel,
                    ngx_http_hubgate_limit_rbtree_insert);
    ngx_queue_init(&zone->sh->queue);

    len = sizeof(" in hubgate_limit_zone \"\"") + shm_zone->shm.name.len;

    zone->shpool->log_ctx = ngx_slab_alloc(zone->shpool, len);
    if (zone->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(zone->shpool->log_ctx, " in hubgate_limit_zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* eviction handles a full zone: no "no memory" lines */
    zone->shpool->log_nomem = 0;

    return NGX_OK;
}


char *
ngx_http_hubgate_limit_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ssize_t                         size;
    ngx_str_t                      *value, s;
    ngx_uint_t                      i, fail_closed;
    ngx_shm_zone_t                 *shm_zone, **pz;
    ngx_http_hubgate_limit_zone_t  *zone;
    ngx_http_hubgate_main_conf_t   *mcf;

    value = cf->args->elts;
    size = 0;
    fail_closed = 0;

    /* the name appears in JSON, Prometheus labels and log lines as is */
    for (i = 0; i < value[1].len; i++) {
        if (!(isalnum(value[1].data[i]) || value[1].data[i] == '_'
              || value[1].data[i] == '-' || value[1].data[i] == '.'))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "hubgate_limit_zone \"%V\": a name may hold "
                               "only letters, digits, \"_\", \"-\" and \".\"",
                               &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    if (value[1].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hubgate_limit_zone: the name is empty");
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "size=", 5) == 0) {
            s.data = value[i].data + 5;
            s.len = value[i].len - 5;
            size = ngx_parse_size(&s);

            if (size == NGX_ERROR) {
                goto invalid;
            }

            if (size < (ssize_t) (8 * ngx_pagesize)) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "hubgate_limit_zone \"%V\": size is too "
                                   "small, use at least %uz",
                                   &value[1], 8 * ngx_pagesize);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strcmp(value[i].data, "fail=open") == 0) {
            fail_closed = 0;
            continue;
        }

        if (ngx_strcmp(value[i].data, "fail=closed") == 0) {
            fail_closed = 1;
            continue;
        }

        if (ngx_strncmp(value[i].data, "redis=", 6) == 0
            || ngx_strncmp(value[i].data, "sync=", 5) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "hubgate_limit_zone \"%V\": \"%V\" is not "
                               "available in this version: remove it (each "
                               "nginx counts on its own)",
                               &value[1], &value[i]);
            return NGX_CONF_ERROR;
        }

        goto invalid;
    }

    if (size == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hubgate_limit_zone \"%V\" needs size=<size>, "
                           "for example size=10m", &value[1]);
        return NGX_CONF_ERROR;
    }

    zone = ngx_pcalloc(cf->pool, sizeof(ngx_http_hubgate_limit_zone_t));
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    zone->name = value[1];
    zone->fail_closed = fail_closed;

    shm_zone = ngx_shared_memory_add(cf, &value[1], size,
                                     &ngx_http_hubgate_module);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hubgate_limit_zone \"%V\" is already defined",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    shm_zone->init = ngx_http_hubgate_limit_init_zone;
    shm_zone->data = zone;
    zone->shm_zone = shm_zone;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_hubgate_module);

    pz = ngx_array_push(&mcf->limit_zones);
    if (pz == NULL) {
        return NGX_CONF_ERROR;
    }

    *pz = shm_zone;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "hubgate_limit_zone \"%V\": invalid parameter \"%V\": "
                       "use size=<size> [fail=open|closed]",
                       &value[1], &value[i]);
    return NGX_CONF_ERROR;
}


char *
ngx_http_hubgate_limit(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hubgate_loc_conf_t *lcf = conf;

    ngx_int_t                          burst;
    ngx_str_t                         *value, s, rate;
    ngx_uint_t                         i, have_key;
    ngx_http_hubgate_limit_t          *lim;
    ngx_http_compile_complex_value_t   ccv;

    if (lcf->limits == NULL) {
        lcf->limits = ngx_array_create(cf->pool, 2,
                                       sizeof(ngx_http_hubgate_limit_t));
        if (lcf->limits == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    lim = ngx_array_push(lcf->limits);
    if (lim == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(lim, sizeof(ngx_http_hubgate_limit_t));

    value = cf->args->elts;
    have_key = 0;
    rate.len = 0;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {
            s.data = value[i].data + 5;
            s.len = value[i].len - 5;

            lim->shm_zone = ngx_shared_memory_add(cf, &s, 0,
                                                  &ngx_http_hubgate_module);
            if (lim->shm_zone == NULL) {
                return NGX_CONF_ERROR;
            }

            if (lim->shm_zone->data
                && lim->shm_zone->init != ngx_http_hubgate_limit_init_zone)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "hubgate_limit: zone \"%V\" is not a "
                                   "hubgate_limit_zone", &s);
                return NGX_CONF_ERROR;
            }

            if (lim->shm_zone->data == NULL) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "hubgate_limit: unknown zone "
                                   "\"%V\": declare it first with "
                                   "\"hubgate_limit_zone %V size=10m;\" "
                                   "in http", &s, &s);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "key=", 4) == 0
            || ngx_strncmp(value[i].data, "rate=", 5) == 0)
        {
            s.len = value[i].data[0] == 'k' ? 4 : 5;
            s.data = value[i].data + s.len;
            s.len = value[i].len - s.len;

            if (s.len == 0) {
                goto invalid;
            }

            ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));
            ccv.cf = cf;
            ccv.value = &s;

            if (value[i].data[0] == 'k') {
                ccv.complex_value = &lim->key;
                have_key = 1;

            } else {
                ccv.complex_value = &lim->rate_cv;
                rate = s;
            }

            if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "burst=", 6) == 0) {
            burst = ngx_atoi(value[i].data + 6, value[i].len - 6);

            if (burst < 0 || burst > 1000000) {
                goto invalid;
            }

            lim->burst = burst;
            continue;
        }

        if (ngx_strcmp(value[i].data, "nodelay") == 0) {
            lim->nodelay = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "dry_run") == 0) {
            lim->dry_run = 1;
            continue;
        }

        goto invalid;
    }

    if (lim->shm_zone == NULL || !have_key || rate.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hubgate_limit: needs zone=, key= and rate=, for "
                           "example \"hubgate_limit zone=api "
                           "key=$hubgate_tenant rate=10r/s;\"");
        return NGX_CONF_ERROR;
    }

    if (lim->rate_cv.lengths == NULL) {
        /* a constant rate is checked and parsed once, here */
        if (hg_limit_parse_rate((const char *) rate.data, rate.len,
                                &lim->rate)
            != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "hubgate_limit: invalid rate \"%V\": use "
                               "<n>r/s, <n>r/m or <n>r/h", &rate);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "hubgate_limit: invalid parameter \"%V\": use "
                       "zone=<name> key=<value> rate=<value> [burst=<n>] "
                       "[nodelay] [dry_run]", &value[i]);
    return NGX_CONF_ERROR;
}
