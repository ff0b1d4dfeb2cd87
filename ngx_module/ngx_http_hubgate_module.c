
/*
 * hubgate: directives, configuration, the access handler and variables.
 */


#include "ngx_http_hubgate_module.h"


static ngx_int_t ngx_http_hubgate_handler(ngx_http_request_t *r);
static void ngx_http_hubgate_ctx_cleanup(void *data);
static void ngx_http_hubgate_redirected(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx);
static char *ngx_http_hubgate_limit_status(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_hubgate_limit_log_level(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static void ngx_http_hubgate_delayed(ngx_http_request_t *r);
static ngx_int_t ngx_http_hubgate_run(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx);
static ngx_int_t ngx_http_hubgate_requires(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx);
static ngx_int_t ngx_http_hubgate_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_hubgate_init(ngx_conf_t *cf);
static void *ngx_http_hubgate_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_hubgate_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_hubgate_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_hubgate_jwt(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_hubgate_variable_str(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_hubgate_variable_error(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_hubgate_variable_limit(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_hubgate_variable_member(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_hubgate_variable_webhook(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_conf_enum_t  ngx_http_hubgate_log_levels[] = {
    { ngx_string("info"), NGX_LOG_INFO },
    { ngx_string("notice"), NGX_LOG_NOTICE },
    { ngx_string("warn"), NGX_LOG_WARN },
    { ngx_string("error"), NGX_LOG_ERR },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_hubgate_commands[] = {

    { ngx_string("hubgate_jwt"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_hubgate_jwt,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hubgate_jwt_key_file"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_hubgate_jwt_key_file,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hubgate_jwt_key_request"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_hubgate_jwt_key_request,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hubgate_jwt_algorithms"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_hubgate_jwt_algorithms,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hubgate_jwt_issuer"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hubgate_loc_conf_t, issuer),
      NULL },

    { ngx_string("hubgate_jwt_audience"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_array_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hubgate_loc_conf_t, audiences),
      NULL },

    { ngx_string("hubgate_jwt_leeway"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hubgate_loc_conf_t, leeway),
      NULL },

    { ngx_string("hubgate_jwt_tenant_claim"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hubgate_loc_conf_t, tenant_claim),
      NULL },

    { ngx_string("hubgate_jwt_roles_claim"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hubgate_loc_conf_t, roles_claim),
      NULL },

    { ngx_string("hubgate_jwt_require"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_hubgate_jwt_require,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hubgate_jwt_cache"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_hubgate_jwt_cache,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hubgate_limit_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_hubgate_limit_zone,
      0,
      0,
      NULL },

    { ngx_string("hubgate_limit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_hubgate_limit,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hubgate_limit_status"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_hubgate_limit_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hubgate_limit_log_level"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_hubgate_limit_log_level,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hubgate_identity_secret"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_hubgate_identity_secret,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hubgate_webhook"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_hubgate_webhook,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hubgate_webhook_cache"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_hubgate_webhook_cache,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hubgate_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_hubgate_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_hubgate_module_ctx = {
    ngx_http_hubgate_add_variables,        /* preconfiguration */
    ngx_http_hubgate_init,                 /* postconfiguration */

    ngx_http_hubgate_create_main_conf,     /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_hubgate_create_loc_conf,      /* create location configuration */
    ngx_http_hubgate_merge_loc_conf        /* merge location configuration */
};


ngx_module_t  ngx_http_hubgate_module = {
    NGX_MODULE_V1,
    &ngx_http_hubgate_module_ctx,          /* module context */
    ngx_http_hubgate_commands,             /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_variable_t  ngx_http_hubgate_vars[] = {

    { ngx_string("hubgate_tenant"), NULL, ngx_http_hubgate_variable_str,
      offsetof(ngx_http_hubgate_ctx_t, tenant), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hubgate_subject"), NULL, ngx_http_hubgate_variable_str,
      offsetof(ngx_http_hubgate_ctx_t, subject), NGX_HTTP_VAR_NOCACHEABLE,
      0 },

    { ngx_string("hubgate_roles"), NULL, ngx_http_hubgate_variable_str,
      offsetof(ngx_http_hubgate_ctx_t, roles), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hubgate_jwt_error"), NULL, ngx_http_hubgate_variable_error,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hubgate_limit_status"), NULL,
      ngx_http_hubgate_variable_limit, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hubgate_webhook_id"), NULL,
      ngx_http_hubgate_variable_webhook, 1, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hubgate_webhook_status"), NULL,
      ngx_http_hubgate_variable_webhook, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("jwt_claim_"), NULL, ngx_http_hubgate_variable_member,
      1, NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_PREFIX, 0 },

    { ngx_string("jwt_header_"), NULL, ngx_http_hubgate_variable_member,
      0, NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_PREFIX, 0 },

      ngx_http_null_variable
};


static ngx_str_t  ngx_http_hubgate_limit_names[] = {
    ngx_string(""),
    ngx_string("PASSED"),
    ngx_string("DELAYED"),
    ngx_string("REJECTED"),
    ngx_string("DELAYED_DRY_RUN"),
    ngx_string("REJECTED_DRY_RUN")
};


static ngx_int_t
ngx_http_hubgate_handler(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_pool_cleanup_t           *cln;
    ngx_http_hubgate_ctx_t       *ctx;
    ngx_http_hubgate_loc_conf_t  *lcf;

    ctx = ngx_http_hubgate_get_ctx(r);

    if (ctx == NULL) {
        /* a pool cleanup owns it, so it outlives internal redirects */
        cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_hubgate_ctx_t));
        if (cln == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx = cln->data;
        ngx_memzero(ctx, sizeof(ngx_http_hubgate_ctx_t));
        ctx->jwt_error = -1;

        cln->handler = ngx_http_hubgate_ctx_cleanup;
        ngx_http_set_ctx(r, ctx, ngx_http_hubgate_module);
    }

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_hubgate_module);

    if (ctx->lcf != lcf) {
        if (ctx->lcf) {
            ngx_http_hubgate_redirected(r, lcf, ctx);
        }

        ctx->lcf = lcf;
        ctx->done = 0;
    }

    if (ctx->done) {
        /* limits and identity alone do not grant access */
        return (lcf->jwt || lcf->webhook) ? NGX_OK : NGX_DECLINED;
    }

    if (!ctx->stripped) {
        if (ngx_http_hubgate_identity_strip(r, 1) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->stripped = 1;
    }

    if (!lcf->jwt && lcf->limits == NULL && lcf->identity_secret.len == 0
        && lcf->webhook == NULL)
    {
        return NGX_DECLINED;
    }

    rc = ngx_http_hubgate_run(r, lcf, ctx);

    if (rc == NGX_OK) {
        ctx->done = 1;
        return (lcf->jwt || lcf->webhook) ? NGX_OK : NGX_DECLINED;
    }

    return rc;
}


static void
ngx_http_hubgate_ctx_cleanup(void *data)
{
    /* nothing to release: the handler marks the context as ours */
}


/*
 * Internal redirects (try_files, error_page, named locations) clear module
 * contexts; the pool cleanup finds ours again, so limits are counted and
 * client headers stripped once per request, as limit_req does.
 */

ngx_http_hubgate_ctx_t *
ngx_http_hubgate_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t      *cln;
    ngx_http_hubgate_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_hubgate_module);

    if (ctx || !r->internal) {
        return ctx;
    }

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_hubgate_ctx_cleanup) {
            ctx = cln->data;
            ngx_http_set_ctx(r, ctx, ngx_http_hubgate_module);
            return ctx;
        }
    }

    return NULL;
}


/*
 * The init of a zone holding an ngx_http_hubgate_cache_t (data): the old
 * cycle's tree is kept across reloads; a new one is made with insert.
 */

ngx_int_t
ngx_http_hubgate_cache_zone_init(ngx_shm_zone_t *shm_zone, void *data,
    ngx_rbtree_insert_pt insert, const char *directive)
{
    ngx_http_hubgate_cache_t  *ocache = data;

    size_t                     len;
    ngx_http_hubgate_cache_t  *cache;

    cache = shm_zone->data;

    if (ocache) {
        cache->sh = ocache->sh;
        cache->shpool = ocache->shpool;
        return NGX_OK;
    }

    cache->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        cache->sh = cache->shpool->data;
        return NGX_OK;
    }

    cache->sh = ngx_slab_alloc(cache->shpool,
                               sizeof(ngx_http_hubgate_cache_sh_t));
    if (cache->sh == NULL) {
        return NGX_ERROR;
    }

    cache->shpool->data = cache->sh;

    ngx_rbtree_init(&cache->sh->rbtree, &cache->sh->sentinel, insert);
    ngx_queue_init(&cache->sh->queue);

    len = sizeof(" in  zone \"\"") + ngx_strlen(directive)
          + shm_zone->shm.name.len;

    cache->shpool->log_ctx = ngx_slab_alloc(cache->shpool, len);
    if (cache->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(cache->shpool->log_ctx, " in %s zone \"%V\"%Z", directive,
                &shm_zone->shm.name);

    cache->shpool->log_nomem = 0;

    return NGX_OK;
}


/*
 * Sleeps the request for ms without a worker waiting, as limit_req does: a
 * timer on the write event, then the phases run again.  Returns NGX_AGAIN
 * for the phase handler to return.
 */

ngx_int_t
ngx_http_hubgate_delay(ngx_http_request_t *r, ngx_msec_t ms)
{
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_hubgate_delayed;

    r->connection->write->delayed = 1;
    ngx_add_timer(r->connection->write, ms);

    return NGX_AGAIN;
}


static void
ngx_http_hubgate_delayed(ngx_http_request_t *r)
{
    ngx_event_t  *wev;

    wev = r->connection->write;

    if (wev->delayed) {
        /* a write event before the timer: keep waiting */
        if (ngx_handle_write_event(wev, 0) != NGX_OK) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        }

        return;
    }

    if (ngx_handle_read_event(r->connection->read, 0) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_http_core_run_phases;

    ngx_http_core_run_phases(r);
}


/*
 * A GET subrequest answered in memory, without the client's body or its
 * framing (sr->headers_in is a copy of the client's).
 */

ngx_int_t
ngx_http_hubgate_subrequest_get(ngx_http_request_t *r, ngx_str_t *uri,
    ngx_str_t *args, ngx_http_post_subrequest_t *ps,
    ngx_http_request_t **psr)
{
    ngx_http_request_t  *sr;

    if (ngx_http_subrequest(r, uri, args, &sr, ps,
                            NGX_HTTP_SUBREQUEST_WAITED
                            |NGX_HTTP_SUBREQUEST_IN_MEMORY)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    sr->request_body = ngx_pcalloc(r->pool, sizeof(ngx_http_request_body_t));
    if (sr->request_body == NULL) {
        return NGX_ERROR;
    }

    sr->method = NGX_HTTP_GET;
    sr->method_name = ngx_http_core_get_method;

    sr->headers_in.content_length = NULL;
    sr->headers_in.content_length_n = -1;
    sr->headers_in.transfer_encoding = NULL;
    sr->headers_in.chunked = 0;

    *psr = sr;

    return NGX_OK;
}


/* the request moved to another location: decide what still holds */

static void
ngx_http_hubgate_redirected(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx)
{
    /* our own identity headers: the new location adds its own */
    (void) ngx_http_hubgate_identity_strip(r, 0);

    /* the new location's requires and webhook scheme apply in any case */
    ctx->requires_done = 0;

    if (!ctx->wh_done || ctx->lcf->webhook != lcf->webhook) {
        ctx->wh_done = 0;
        ctx->wh_fetched = 0;
        ctx->wh_fetching = 0;
        ctx->wh_fetch = 0;
        ctx->wh_status = NGX_HTTP_HUBGATE_WH_NONE;
        ctx->wh_id_done = 0;
        ctx->wh_secrets = NULL;
        ngx_str_null(&ctx->wh_header);
        ngx_str_null(&ctx->wh_id);
        ngx_str_null(&ctx->wh_key);
    }

    if (ctx->jwt_done && lcf->jwt
        && ngx_memcmp(ctx->lcf->policy, lcf->policy, sizeof(lcf->policy))
           == 0)
    {
        /* accepted under the same policy: nothing to check again */
        return;
    }

    ctx->parsed = 0;
    ctx->verified = 0;
    ctx->jwt_done = 0;
    ctx->fetched = 0;
    ctx->fetching = 0;
    ctx->bad_request = 0;
    ctx->jwt = NULL;
    ctx->jwt_error = -1;
    ngx_str_null(&ctx->token);
    ngx_str_null(&ctx->tenant);
    ngx_str_null(&ctx->subject);
    ngx_str_null(&ctx->roles);
}


static ngx_int_t
ngx_http_hubgate_run(ngx_http_request_t *r, ngx_http_hubgate_loc_conf_t *lcf,
    ngx_http_hubgate_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (lcf->jwt && !ctx->jwt_done) {
        rc = ngx_http_hubgate_jwt_step(r, lcf, ctx);

        if (rc != NGX_OK) {
            if (rc >= NGX_HTTP_SPECIAL_RESPONSE && lcf->webhook) {
                ngx_http_hubgate_webhook_jwt_failed(r, ctx);
            }

            return rc;
        }

        ctx->jwt_done = 1;
    }

    if (lcf->jwt && !ctx->requires_done) {
        rc = ngx_http_hubgate_requires(r, lcf, ctx);

        if (rc != NGX_OK) {
            return rc;
        }

        ctx->requires_done = 1;
    }

    if (lcf->limits && !ctx->limit_done) {
        rc = ngx_http_hubgate_limit_step(r, lcf, ctx);

        if (rc != NGX_OK) {
            return rc;
        }

        ctx->limit_done = 1;
    }

    if (lcf->webhook && !ctx->wh_done) {
        rc = ngx_http_hubgate_webhook_step(r, lcf, ctx);

        if (rc != NGX_OK) {
            return rc;
        }
    }

    return ngx_http_hubgate_identity_add(r, lcf, ctx);
}


static ngx_int_t
ngx_http_hubgate_requires(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx)
{
    ngx_str_t                    val;
    ngx_uint_t                   i, j;
    ngx_table_elt_t             *h;
    ngx_http_complex_value_t    *cv;
    ngx_http_hubgate_require_t  *req;

    if (lcf->requires == NULL) {
        return NGX_OK;
    }

    req = lcf->requires->elts;

    for (i = 0; i < lcf->requires->nelts; i++) {
        cv = req[i].values->elts;

        for (j = 0; j < req[i].values->nelts; j++) {
            if (ngx_http_complex_value(r, &cv[j], &val) != NGX_OK) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            /* empty, "0" and a JSON false fail */
            if (val.len != 0 && !(val.len == 1 && val.data[0] == '0')
                && !(val.len == 5 && ngx_strncmp(val.data, "false", 5) == 0))
            {
                continue;
            }

            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "hubgate: jwt require \"%V\" failed",
                          &cv[j].value);

            ngx_http_hubgate_stat_inc(r,
                                   NGX_HTTP_HUBGATE_STAT_INSUFFICIENT_SCOPE);

            h = ngx_list_push(&r->headers_out.headers);
            if (h == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            h->hash = 1;
            ngx_str_set(&h->key, "WWW-Authenticate");

            h->value.len = sizeof("Bearer realm=\"\", error=\"\"") - 1
                           + lcf->realm.len
                           + sizeof("insufficient_scope") - 1;
            h->value.data = ngx_pnalloc(r->pool, h->value.len);
            if (h->value.data == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            h->value.len = ngx_sprintf(h->value.data,
                                       "Bearer realm=\"%V\", error=\"%s\"",
                                       &lcf->realm,
                                       req[i].error == NGX_HTTP_FORBIDDEN
                                       ? "insufficient_scope"
                                       : "invalid_token")
                           - h->value.data;

            r->headers_out.www_authenticate = h;

            return req[i].error;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hubgate_variable_str(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t               *s;
    ngx_http_hubgate_ctx_t  *ctx;

    ctx = ngx_http_hubgate_get_ctx(r->main);

    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    s = (ngx_str_t *) ((u_char *) ctx + data);

    if (s->data == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = s->len;
    v->data = s->data;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hubgate_variable_error(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    const char              *s;
    ngx_http_hubgate_ctx_t  *ctx;

    ctx = ngx_http_hubgate_get_ctx(r->main);

    if (ctx == NULL || ctx->jwt_error < 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    s = ctx->jwt_error == HG_JWT_OK ? "" : hg_jwt_strerror(ctx->jwt_error);

    v->len = ngx_strlen(s);
    v->data = (u_char *) s;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hubgate_variable_limit(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_hubgate_ctx_t  *ctx;

    ctx = ngx_http_hubgate_get_ctx(r->main);

    if (ctx == NULL || ctx->limit_status == NGX_HTTP_HUBGATE_LIMIT_NONE) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = ngx_http_hubgate_limit_names[ctx->limit_status].len;
    v->data = ngx_http_hubgate_limit_names[ctx->limit_status].data;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hubgate_variable_member(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    size_t                   prefix;
    hg_jwt_t                *jwt;
    ngx_str_t               *name, value;
    json_t                  *object;
    ngx_http_hubgate_ctx_t  *ctx;

    /* prefix variables get their full name as data */
    name = (ngx_str_t *) data;

    ctx = ngx_http_hubgate_get_ctx(r->main);

    jwt = ctx ? ngx_http_hubgate_jwt_get(r, ctx) : NULL;

    if (jwt == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    if (name->len > sizeof("jwt_claim_") - 1
        && ngx_strncmp(name->data, "jwt_claim_", sizeof("jwt_claim_") - 1)
           == 0)
    {
        prefix = sizeof("jwt_claim_") - 1;
        object = jwt->payload;

    } else {
        prefix = sizeof("jwt_header_") - 1;
        object = jwt->header;
    }

    if (name->len <= prefix
        || ngx_http_hubgate_jwt_member(r, object, name->data + prefix,
                                       name->len - prefix, &value)
           != NGX_OK)
    {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = value.len;
    v->data = value.data;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


/* data 1: $hubgate_webhook_id; 0: $hubgate_webhook_status */

static ngx_int_t
ngx_http_hubgate_variable_webhook(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                id;
    ngx_int_t                rc;
    const char              *s;
    ngx_http_hubgate_ctx_t  *ctx;

    ctx = ngx_http_hubgate_get_ctx(r->main);

    if (ctx == NULL || ctx->wh_status == NGX_HTTP_HUBGATE_WH_NONE) {
        v->not_found = 1;
        return NGX_OK;
    }

    if (data) {
        rc = ngx_http_hubgate_webhook_id(r->main, ctx, &id);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc != NGX_OK) {
            v->not_found = 1;
            return NGX_OK;
        }

        v->data = id.data;
        v->len = id.len;

    } else {
        s = ngx_http_hubgate_webhook_status_name(ctx->wh_status);
        v->data = (u_char *) s;
        v->len = ngx_strlen(s);
    }

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hubgate_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_hubgate_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hubgate_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt           *h;
    ngx_http_core_main_conf_t     *cmcf;
    ngx_http_hubgate_main_conf_t  *mcf;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_hubgate_module);

    if (ngx_http_hubgate_status_init_zone(cf, mcf) != NGX_OK) {
        return NGX_ERROR;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_hubgate_handler;

    return NGX_OK;
}


static void *
ngx_http_hubgate_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_hubgate_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_hubgate_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&mcf->limit_zones, cf->pool, 4,
                       sizeof(ngx_shm_zone_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return mcf;
}


static void *
ngx_http_hubgate_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_hubgate_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_hubgate_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->realm = { 0, NULL };
     *     conf->key_files = NULL;
     *     conf->keys = NULL;
     *     conf->jwks_zone = NULL;
     *     conf->algorithms = 0;
     *     conf->issuer = { 0, NULL };
     *     conf->tenant_claim = { 0, NULL };
     *     conf->roles_claim = { 0, NULL };
     *     conf->requires = NULL;
     *     conf->limits = NULL;
     *     conf->identity_secret = { 0, NULL };
     *     conf->webhook = NULL;
     */

    conf->jwt = NGX_CONF_UNSET;
    conf->audiences = NGX_CONF_UNSET_PTR;
    conf->leeway = NGX_CONF_UNSET;
    conf->limit_status = NGX_CONF_UNSET_UINT;
    conf->limit_log_level = NGX_CONF_UNSET_UINT;

    return conf;
}


static char *
ngx_http_hubgate_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_hubgate_loc_conf_t  *prev = parent;
    ngx_http_hubgate_loc_conf_t  *conf = child;

    if (conf->jwt == NGX_CONF_UNSET) {
        conf->jwt = prev->jwt == NGX_CONF_UNSET ? 0 : prev->jwt;
        conf->realm = prev->realm;
    }

    if (conf->limits == NULL) {
        conf->limits = prev->limits;
    }

    ngx_conf_merge_uint_value(conf->limit_status, prev->limit_status,
                              NGX_HTTP_TOO_MANY_REQUESTS);
    ngx_conf_merge_uint_value(conf->limit_log_level, prev->limit_log_level,
                              NGX_LOG_ERR);

    if (conf->identity_secret.data == NULL) {
        conf->identity_secret = prev->identity_secret;
        conf->identity_file = prev->identity_file;
    }

    if (ngx_http_hubgate_webhook_merge(cf, prev, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_hubgate_jwt_merge(cf, prev, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    return ngx_http_hubgate_webhook_check(cf, conf);
}


static char *
ngx_http_hubgate_jwt(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hubgate_loc_conf_t *lcf = conf;

    ngx_str_t  *value;

    if (lcf->jwt != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        lcf->jwt = 0;
        return NGX_CONF_OK;
    }

    if (value[1].len == 0 || ngx_strlchr(value[1].data,
                                         value[1].data + value[1].len, '"'))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hubgate_jwt: the realm \"%V\" must be non-empty "
                           "and hold no double quote", &value[1]);
        return NGX_CONF_ERROR;
    }

    lcf->jwt = 1;
    lcf->realm = value[1];

    return NGX_CONF_OK;
}


static char *
ngx_http_hubgate_limit_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hubgate_loc_conf_t *lcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value;

    if (lcf->limit_status != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    n = ngx_atoi(value[1].data, value[1].len);

    if (n < 400 || n > 599) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hubgate_limit_status: \"%V\" is not an error "
                           "status: use a code from 400 to 599, such as 429",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    lcf->limit_status = n;

    return NGX_CONF_OK;
}


static char *
ngx_http_hubgate_limit_log_level(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_hubgate_loc_conf_t *lcf = conf;

    ngx_str_t        *value;
    ngx_conf_enum_t  *e;

    if (lcf->limit_log_level != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (e = ngx_http_hubgate_log_levels; e->name.len; e++) {
        if (e->name.len == value[1].len
            && ngx_strcmp(e->name.data, value[1].data) == 0)
        {
            lcf->limit_log_level = e->value;
            return NGX_CONF_OK;
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "hubgate_limit_log_level: invalid level \"%V\": "
                       "use info, notice, warn or error", &value[1]);

    return NGX_CONF_ERROR;
}
