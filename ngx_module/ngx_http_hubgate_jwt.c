
/*
 * hubgate: the JWT step of the access handler, its directives, and the
 * verified-token cache (shared memory, keyed by token hash and policy).
 */


#include "ngx_http_hubgate_module.h"

#include <openssl/evp.h>
#include <openssl/x509.h>


#define NGX_HTTP_HUBGATE_HASH_LEN  32


#define NGX_HTTP_HUBGATE_CACHE_DATA  512


/*
 * A verified, accepted token: a hit skips decoding, parsing, the signature
 * and the claim checks.  Only time can make such a token invalid, and
 * "expires" already stops at its exp (plus leeway).  The identity that the
 * policy extracted is kept, so headers need no parse; $jwt_claim_*
 * variables parse the token lazily.
 */

typedef struct {
    ngx_rbtree_node_t               node;
    ngx_queue_t                     queue;
    time_t                          expires;
    u_char                          hash[NGX_HTTP_HUBGATE_HASH_LEN];
    u_short                         tenant_len;
    u_short                         subject_len;
    u_short                         roles_len;
    u_char                          data[1];   /* tenant subject roles */
} ngx_http_hubgate_cache_node_t;


static ngx_int_t ngx_http_hubgate_jwt_reject(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx,
    ngx_int_t err);
static ngx_int_t ngx_http_hubgate_jwt_bearer(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx);
static ngx_int_t ngx_http_hubgate_jwt_parse(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx);
static int ngx_http_hubgate_jwt_decode(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx);
static ngx_int_t ngx_http_hubgate_jwt_accept(ngx_http_request_t *r,
    ngx_http_hubgate_ctx_t *ctx);
static void ngx_http_hubgate_jwt_cleanup(void *data);
static ngx_int_t ngx_http_hubgate_jwt_identity(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx);
static ngx_int_t ngx_http_hubgate_cache_hash(ngx_http_hubgate_loc_conf_t *lcf,
    ngx_str_t *token, u_char *hash);
static ngx_int_t ngx_http_hubgate_cache_lookup(ngx_http_request_t *r,
    ngx_http_hubgate_ctx_t *ctx, u_char *hash);
static void ngx_http_hubgate_cache_insert(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx,
    u_char *hash);
static ngx_int_t ngx_http_hubgate_cache_copy(ngx_http_request_t *r,
    ngx_str_t *dst, u_char *src, size_t len);
static void ngx_http_hubgate_cache_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_int_t ngx_http_hubgate_cache_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_hubgate_jwt_policy(ngx_conf_t *cf,
    ngx_http_hubgate_loc_conf_t *conf);


static ngx_int_t
ngx_http_hubgate_jwt_reject(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx,
    ngx_int_t err)
{
    u_char           *p;
    size_t            len;
    ngx_uint_t        status;
    const char       *code, *reason;
    ngx_table_elt_t  *h;

    ctx->jwt_error = err;
    status = NGX_HTTP_UNAUTHORIZED;
    reason = hg_jwt_strerror(err);

    if (err == HG_JWT_ERR_MISSING) {
        code = NULL;

    } else if (ctx->bad_request) {
        code = "invalid_request";
        status = NGX_HTTP_BAD_REQUEST;

    } else {
        code = "invalid_token";
    }

    if (status == NGX_HTTP_BAD_REQUEST) {
        ngx_http_hubgate_stat_inc(r, NGX_HTTP_HUBGATE_STAT_INVALID_REQUEST);

    } else {
        ngx_http_hubgate_stat_inc(r, NGX_HTTP_HUBGATE_STAT_REJECTED + err);
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "hubgate: jwt rejected: %s", reason);

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = sizeof("Bearer realm=\"\", error=\"\", error_description=\"\"") - 1
          + lcf->realm.len + sizeof("invalid_request") - 1
          + ngx_strlen(reason);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "WWW-Authenticate");
    h->value.data = p;

    if (code == NULL) {
        p = ngx_sprintf(p, "Bearer realm=\"%V\"", &lcf->realm);

    } else {
        p = ngx_sprintf(p, "Bearer realm=\"%V\", error=\"%s\", "
                        "error_description=\"%s\"",
                        &lcf->realm, code, reason);
    }

    h->value.len = p - h->value.data;
    r->headers_out.www_authenticate = h;

    return status;
}


ngx_int_t
ngx_http_hubgate_jwt_step(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx)
{
    int                           err;
    time_t                        now;
    ngx_int_t                     rc;
    hg_jwt_claims_policy_t        policy;
    ngx_http_hubgate_main_conf_t *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_hubgate_module);

    if (!ctx->parsed) {
        rc = ngx_http_hubgate_jwt_bearer(r, lcf, ctx);
        if (rc != NGX_OK) {
            return rc;
        }

        if (mcf->cache_zone) {
            /* computed once: a miss inserts under the same key */
            if (ngx_http_hubgate_cache_hash(lcf, &ctx->token, ctx->hash)
                != NGX_OK)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            rc = ngx_http_hubgate_cache_lookup(r, ctx, ctx->hash);

            if (rc == NGX_OK) {
                ngx_http_hubgate_stat_inc(r, NGX_HTTP_HUBGATE_STAT_CACHE_HIT);
                return ngx_http_hubgate_jwt_accept(r, ctx);
            }

            if (rc == NGX_ERROR) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            ngx_http_hubgate_stat_inc(r, NGX_HTTP_HUBGATE_STAT_CACHE_MISS);
        }

        rc = ngx_http_hubgate_jwt_parse(r, lcf, ctx);
        if (rc != NGX_OK) {
            return rc;
        }

        ctx->parsed = 1;
    }

    if (!ctx->verified) {
        rc = ngx_http_hubgate_jwks_verify(r, lcf, ctx);

        if (rc == NGX_AGAIN || rc == NGX_ERROR) {
            return rc == NGX_AGAIN ? NGX_AGAIN
                                   : NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rc != NGX_OK) {
            return ngx_http_hubgate_jwt_reject(r, lcf, ctx, ctx->jwt_error);
        }

        ctx->verified = 1;
    }

    now = ngx_time();

    policy.issuer = lcf->issuer.len ? (const char *) lcf->issuer.data : NULL;
    policy.audiences = (const char **) lcf->aud_ptrs;
    policy.naudiences = lcf->audiences ? lcf->audiences->nelts : 0;
    policy.leeway = (long) lcf->leeway;
    policy.require_exp = 1;

    err = hg_jwt_check_claims(ctx->jwt, &policy, now);
    if (err != HG_JWT_OK) {
        return ngx_http_hubgate_jwt_reject(r, lcf, ctx, err);
    }

    rc = ngx_http_hubgate_jwt_identity(r, lcf, ctx);

    if (rc == NGX_ABORT) {
        ngx_str_null(&ctx->tenant);
        ngx_str_null(&ctx->subject);
        ngx_str_null(&ctx->roles);
        return ngx_http_hubgate_jwt_reject(r, lcf, ctx,
                                           HG_JWT_ERR_CLAIM_TYPE);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (mcf->cache_zone) {
        ngx_http_hubgate_cache_insert(r, lcf, ctx, ctx->hash);
    }

    return ngx_http_hubgate_jwt_accept(r, ctx);
}


static ngx_int_t
ngx_http_hubgate_jwt_accept(ngx_http_request_t *r,
    ngx_http_hubgate_ctx_t *ctx)
{
    ctx->jwt_error = HG_JWT_OK;

    if (!ctx->accepted) {
        /* once per request, internal redirects included */
        ngx_http_hubgate_stat_inc(r, NGX_HTTP_HUBGATE_STAT_ACCEPTED);
        ctx->accepted = 1;
    }

    return NGX_OK;
}


/*
 * The parsed token for $jwt_claim_* and $jwt_header_*: a cache hit did
 * not parse it, so it is parsed here on first use.  NULL if unavailable.
 */

hg_jwt_t *
ngx_http_hubgate_jwt_get(ngx_http_request_t *r, ngx_http_hubgate_ctx_t *ctx)
{
    if (ctx->jwt_error != HG_JWT_OK) {
        return NULL;
    }

    if (ctx->jwt == NULL && ctx->token.len && ctx->lcf
        && ngx_http_hubgate_jwt_decode(r, ctx->lcf, ctx) != HG_JWT_OK)
    {
        return NULL;
    }

    return ctx->jwt;
}


static ngx_int_t
ngx_http_hubgate_jwt_bearer(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx)
{
    int               rc;
    size_t            len;
    const char       *token;
    ngx_table_elt_t  *auth;

    auth = r->headers_in.authorization;

    if (auth == NULL) {
        return ngx_http_hubgate_jwt_reject(r, lcf, ctx, HG_JWT_ERR_MISSING);
    }

    rc = hg_jwt_parse_bearer((const char *) auth->value.data, auth->value.len,
                             &token, &len);
    if (rc == 1) {
        return ngx_http_hubgate_jwt_reject(r, lcf, ctx, HG_JWT_ERR_MISSING);
    }

    if (rc != 0) {
        /* RFC 6750 3.1: a malformed request is invalid_request, 400 */
        ctx->bad_request = 1;
        return ngx_http_hubgate_jwt_reject(r, lcf, ctx, HG_JWT_ERR_MALFORMED);
    }

    ctx->token.data = (u_char *) token;
    ctx->token.len = len;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hubgate_jwt_parse(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx)
{
    int  rc;

    rc = ngx_http_hubgate_jwt_decode(r, lcf, ctx);

    if (rc == HG_JWT_ERR_INTERNAL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc != HG_JWT_OK) {
        return ngx_http_hubgate_jwt_reject(r, lcf, ctx, rc);
    }

    return NGX_OK;
}


/* parses ctx->token into ctx->jwt, owned by the request pool */

static int
ngx_http_hubgate_jwt_decode(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx)
{
    int                  rc;
    hg_jwt_t            *jwt;
    hg_jwt_limits_t      limits;
    ngx_pool_cleanup_t  *cln;

    jwt = ngx_pcalloc(r->pool, sizeof(hg_jwt_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (jwt == NULL || cln == NULL) {
        return HG_JWT_ERR_INTERNAL;
    }

    cln->handler = ngx_http_hubgate_jwt_cleanup;
    cln->data = jwt;

    limits.max_token = 0;
    limits.max_depth = 0;
    limits.algorithms = lcf->algorithms;

    rc = hg_jwt_parse(jwt, (const char *) ctx->token.data, ctx->token.len,
                      &limits);
    if (rc == HG_JWT_OK) {
        ctx->jwt = jwt;
    }

    return rc;
}


static void
ngx_http_hubgate_jwt_cleanup(void *data)
{
    hg_jwt_t  *jwt = data;

    hg_jwt_free(jwt);
}


static ngx_int_t
ngx_http_hubgate_jwt_identity(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx)
{
    static u_char  sub[] = "sub";

    ngx_int_t   rc[3];
    ngx_uint_t  i;
    json_t     *payload;

    payload = ctx->jwt->payload;

    rc[0] = ngx_http_hubgate_jwt_member(r, payload, lcf->tenant_claim.data,
                                        lcf->tenant_claim.len, &ctx->tenant);
    rc[1] = ngx_http_hubgate_jwt_member(r, payload, sub, sizeof(sub) - 1,
                                        &ctx->subject);
    rc[2] = ngx_http_hubgate_jwt_member(r, payload, lcf->roles_claim.data,
                                        lcf->roles_claim.len, &ctx->roles);

    for (i = 0; i < 3; i++) {
        if (rc[i] == NGX_ERROR || rc[i] == NGX_ABORT) {
            return rc[i];
        }
    }

    return NGX_OK;
}


/*
 * Returns NGX_OK with value set, NGX_DECLINED when the member is absent
 * (value left empty), NGX_ABORT when its text holds a control character,
 * NGX_ERROR on allocation failure.
 */

ngx_int_t
ngx_http_hubgate_jwt_member(ngx_http_request_t *r, json_t *object,
    u_char *name, size_t len, ngx_str_t *value)
{
    char    *text;
    size_t   text_len;
    size_t   i;

    if (hg_jwt_member_text(object, (const char *) name, len, &text,
                           &text_len)
        != 0)
    {
        return NGX_DECLINED;
    }

    /*
     * Values end up in headers (X-Hubgate-*, proxy_set_header): a CR or
     * LF in a claim must never become a header of its own.
     */

    for (i = 0; i < text_len; i++) {
        if ((u_char) text[i] < 0x20 || text[i] == 0x7f) {
            free(text);
            return NGX_ABORT;
        }
    }

    value->data = ngx_pnalloc(r->pool, text_len + 1);
    if (value->data == NULL) {
        free(text);
        return NGX_ERROR;
    }

    ngx_memcpy(value->data, text, text_len);
    value->data[text_len] = '\0';
    value->len = text_len;
    free(text);

    return NGX_OK;
}


/*
 * SHA-256 of the policy and the token.  OpenSSL 3 looks an algorithm up on
 * every implicit use; the worker fetches SHA-256 and a digest context once
 * and keeps them for its lifetime (a worker is single-threaded).
 */

static ngx_int_t
ngx_http_hubgate_cache_hash(ngx_http_hubgate_loc_conf_t *lcf,
    ngx_str_t *token, u_char *hash)
{
    static EVP_MD      *sha256;
    static EVP_MD_CTX  *md;

    unsigned  n;

    if (md == NULL) {
        sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
        md = EVP_MD_CTX_new();

        if (sha256 == NULL || md == NULL) {
            EVP_MD_free(sha256);
            EVP_MD_CTX_free(md);
            sha256 = NULL;
            md = NULL;
            return NGX_ERROR;
        }
    }

    if (EVP_DigestInit_ex2(md, sha256, NULL) != 1
        || EVP_DigestUpdate(md, lcf->policy, sizeof(lcf->policy)) != 1
        || EVP_DigestUpdate(md, token->data, token->len) != 1
        || EVP_DigestFinal_ex(md, hash, &n) != 1)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* NGX_OK: a hit, identity filled in; NGX_DECLINED: a miss */

static ngx_int_t
ngx_http_hubgate_cache_lookup(ngx_http_request_t *r,
    ngx_http_hubgate_ctx_t *ctx, u_char *hash)
{
    u_char                         *p;
    size_t                          len;
    ngx_int_t                       rc;
    ngx_rbtree_key_t                key;
    ngx_rbtree_node_t              *node, *sentinel;
    ngx_http_hubgate_cache_t       *cache;
    ngx_http_hubgate_cache_node_t  *cn;
    ngx_http_hubgate_main_conf_t   *mcf;
    u_char                          data[NGX_HTTP_HUBGATE_CACHE_DATA];
    u_short                         lens[3];

    mcf = ngx_http_get_module_main_conf(r, ngx_http_hubgate_module);
    cache = mcf->cache_zone->data;

    ngx_memcpy(&key, hash, sizeof(key));
    rc = NGX_DECLINED;

    ngx_shmtx_lock(&cache->shpool->mutex);

    node = cache->sh->rbtree.root;
    sentinel = cache->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (key != node->key) {
            node = (key < node->key) ? node->left : node->right;
            continue;
        }

        cn = (ngx_http_hubgate_cache_node_t *) node;

        if (ngx_memcmp(hash, cn->hash, NGX_HTTP_HUBGATE_HASH_LEN) != 0) {
            node = ngx_memcmp(hash, cn->hash, NGX_HTTP_HUBGATE_HASH_LEN) < 0
                   ? node->left : node->right;
            continue;
        }

        if (cn->expires > ngx_time()) {
            ngx_queue_remove(&cn->queue);
            ngx_queue_insert_head(&cache->sh->queue, &cn->queue);

            lens[0] = cn->tenant_len;
            lens[1] = cn->subject_len;
            lens[2] = cn->roles_len;
            ngx_memcpy(data, cn->data, lens[0] + lens[1] + lens[2]);
            rc = NGX_OK;
        }

        break;
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);

    if (rc != NGX_OK) {
        return rc;
    }

    p = data;
    len = lens[0];

    if (ngx_http_hubgate_cache_copy(r, &ctx->tenant, p, len) != NGX_OK
        || ngx_http_hubgate_cache_copy(r, &ctx->subject, p += len,
                                       lens[1]) != NGX_OK
        || ngx_http_hubgate_cache_copy(r, &ctx->roles, p + lens[1],
                                       lens[2]) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hubgate_cache_copy(ngx_http_request_t *r, ngx_str_t *dst,
    u_char *src, size_t len)
{
    if (len == 0) {
        ngx_str_null(dst);
        return NGX_OK;
    }

    dst->data = ngx_pnalloc(r->pool, len);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dst->data, src, len);
    dst->len = len;

    return NGX_OK;
}


static void
ngx_http_hubgate_cache_insert(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx,
    u_char *hash)
{
    u_char                         *p;
    size_t                          data_len;
    time_t                          now, expires;
    long long                       exp;
    ngx_uint_t                      i;
    ngx_queue_t                    *q;
    ngx_http_hubgate_cache_t       *cache;
    ngx_http_hubgate_cache_node_t  *cn;
    ngx_http_hubgate_main_conf_t   *mcf;

    data_len = ctx->tenant.len + ctx->subject.len + ctx->roles.len;

    if (data_len > NGX_HTTP_HUBGATE_CACHE_DATA
        || hg_jwt_expiry(ctx->jwt, &exp) != 0)
    {
        /* unusually large identities are verified every time */
        return;
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_hubgate_module);
    cache = mcf->cache_zone->data;
    now = ngx_time();

    /* valid while now <= exp + leeway, as hg_jwt_check_claims() counts */
    expires = now + mcf->cache_ttl;

    if (exp < (long long) expires - lcf->leeway - 1) {
        expires = (time_t) (exp + lcf->leeway + 1);
    }

    if (expires <= now) {
        return;
    }

    ngx_shmtx_lock(&cache->shpool->mutex);

    /* expire at most two stale entries, as limit_req does */
    for (i = 0; i < 2 && !ngx_queue_empty(&cache->sh->queue); i++) {
        q = ngx_queue_last(&cache->sh->queue);
        cn = ngx_queue_data(q, ngx_http_hubgate_cache_node_t, queue);

        if (cn->expires > now) {
            break;
        }

        ngx_queue_remove(q);
        ngx_rbtree_delete(&cache->sh->rbtree, &cn->node);
        ngx_slab_free_locked(cache->shpool, cn);
    }

    for ( ;; ) {
        cn = ngx_slab_alloc_locked(cache->shpool,
                        offsetof(ngx_http_hubgate_cache_node_t, data)
                        + data_len);
        if (cn != NULL || ngx_queue_empty(&cache->sh->queue)) {
            break;
        }

        /* full: the least recently used entry makes room */
        q = ngx_queue_last(&cache->sh->queue);
        ngx_queue_remove(q);
        cn = ngx_queue_data(q, ngx_http_hubgate_cache_node_t, queue);
        ngx_rbtree_delete(&cache->sh->rbtree, &cn->node);
        ngx_slab_free_locked(cache->shpool, cn);
    }

    if (cn != NULL) {
        ngx_memcpy(&cn->node.key, hash, sizeof(ngx_rbtree_key_t));
        ngx_memcpy(cn->hash, hash, NGX_HTTP_HUBGATE_HASH_LEN);
        cn->expires = expires;
        cn->tenant_len = (u_short) ctx->tenant.len;
        cn->subject_len = (u_short) ctx->subject.len;
        cn->roles_len = (u_short) ctx->roles.len;

        p = ngx_cpymem(cn->data, ctx->tenant.data, ctx->tenant.len);
        p = ngx_cpymem(p, ctx->subject.data, ctx->subject.len);
        ngx_memcpy(p, ctx->roles.data, ctx->roles.len);

        ngx_rbtree_insert(&cache->sh->rbtree, &cn->node);
        ngx_queue_insert_head(&cache->sh->queue, &cn->queue);
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);
}


static void
ngx_http_hubgate_cache_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t              **p;
    ngx_http_hubgate_cache_node_t   *cn, *cnt;

    for ( ;; ) {

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            cn = (ngx_http_hubgate_cache_node_t *) node;
            cnt = (ngx_http_hubgate_cache_node_t *) temp;

            p = (ngx_memcmp(cn->hash, cnt->hash, NGX_HTTP_HUBGATE_HASH_LEN)
                 < 0) ? &temp->left : &temp->right;
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
ngx_http_hubgate_cache_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    return ngx_http_hubgate_cache_zone_init(shm_zone, data,
                                         ngx_http_hubgate_cache_rbtree_insert,
                                         "hubgate_jwt_cache");
}


char *
ngx_http_hubgate_jwt_cache(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hubgate_main_conf_t *mcf = conf;

    u_char                    *p;
    ssize_t                    size;
    ngx_str_t                 *value, name, s;
    ngx_uint_t                 i;
    ngx_http_hubgate_cache_t  *cache;

    if (mcf->cache_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;
    size = 0;
    name.len = 0;
    mcf->cache_ttl = 300;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {
            name.data = value[i].data + 5;
            p = (u_char *) ngx_strchr(name.data, ':');

            if (p == NULL) {
                goto invalid_zone;
            }

            name.len = p - name.data;
            s.data = p + 1;
            s.len = value[i].data + value[i].len - s.data;
            size = ngx_parse_size(&s);

            if (name.len == 0 || size == NGX_ERROR) {
                goto invalid_zone;
            }

            if (size < (ssize_t) (8 * ngx_pagesize)) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "hubgate_jwt_cache: zone \"%V\" is too "
                                   "small: use at least %uz",
                                   &name, 8 * ngx_pagesize);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "ttl=", 4) == 0) {
            s.data = value[i].data + 4;
            s.len = value[i].len - 4;
            mcf->cache_ttl = ngx_parse_time(&s, 1);

            if (mcf->cache_ttl == (time_t) NGX_ERROR || mcf->cache_ttl == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "hubgate_jwt_cache: invalid ttl \"%V\": "
                                   "use a time such as ttl=5m", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hubgate_jwt_cache: unknown parameter \"%V\": "
                           "use zone=<name>:<size> [ttl=<time>]", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (name.len == 0) {
        goto invalid_zone;
    }

    cache = ngx_pcalloc(cf->pool, sizeof(ngx_http_hubgate_cache_t));
    if (cache == NULL) {
        return NGX_CONF_ERROR;
    }

    mcf->cache_zone = ngx_shared_memory_add(cf, &name, size,
                                            &ngx_http_hubgate_module);
    if (mcf->cache_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (mcf->cache_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hubgate_jwt_cache: zone \"%V\" is already used",
                           &name);
        return NGX_CONF_ERROR;
    }

    mcf->cache_zone->init = ngx_http_hubgate_cache_init_zone;
    mcf->cache_zone->data = cache;

    return NGX_CONF_OK;

invalid_zone:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "hubgate_jwt_cache: needs zone=<name>:<size>, "
                       "for example zone=jwt:10m");
    return NGX_CONF_ERROR;
}


char *
ngx_http_hubgate_jwt_algorithms(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_hubgate_loc_conf_t *lcf = conf;

    hg_alg_e    alg;
    ngx_str_t  *value;
    ngx_uint_t  i;

    if (lcf->algorithms) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strcasecmp(value[i].data, (u_char *) "none") == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "hubgate_jwt_algorithms: \"%V\" can never be "
                               "enabled (RFC 8725): remove it", &value[i]);
            return NGX_CONF_ERROR;
        }

        alg = hg_jwt_alg_from_name((const char *) value[i].data,
                                   value[i].len);

        if (alg == HG_ALG_UNKNOWN) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "hubgate_jwt_algorithms: unknown algorithm "
                               "\"%V\": names are case-sensitive, use "
                               "HS256/384/512, RS256/384/512, PS256/384/512, "
                               "ES256/384/512 or EdDSA", &value[i]);
            return NGX_CONF_ERROR;
        }

        lcf->algorithms |= HG_ALG_BIT(alg);
    }

    return NGX_CONF_OK;
}


char *
ngx_http_hubgate_jwt_require(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hubgate_loc_conf_t *lcf = conf;

    ngx_str_t                          *value;
    ngx_uint_t                          i;
    ngx_http_complex_value_t           *cv;
    ngx_http_hubgate_require_t         *req;
    ngx_http_compile_complex_value_t    ccv;

    if (lcf->requires == NULL) {
        lcf->requires = ngx_array_create(cf->pool, 2,
                                         sizeof(ngx_http_hubgate_require_t));
        if (lcf->requires == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    req = ngx_array_push(lcf->requires);
    if (req == NULL) {
        return NGX_CONF_ERROR;
    }

    req->error = NGX_HTTP_FORBIDDEN;
    req->values = ngx_array_create(cf->pool, 2,
                                   sizeof(ngx_http_complex_value_t));
    if (req->values == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "error=", 6) == 0) {
            if (ngx_strcmp(value[i].data + 6, "401") == 0) {
                req->error = NGX_HTTP_UNAUTHORIZED;

            } else if (ngx_strcmp(value[i].data + 6, "403") == 0) {
                req->error = NGX_HTTP_FORBIDDEN;

            } else {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "hubgate_jwt_require: invalid \"%V\": "
                                   "use error=401 or error=403", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        cv = ngx_array_push(req->values);
        if (cv == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));
        ccv.cf = cf;
        ccv.value = &value[i];
        ccv.complex_value = cv;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    if (req->values->nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hubgate_jwt_require: needs at least one value, "
                           "such as $jwt_claim_admin");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


char *
ngx_http_hubgate_jwt_merge(ngx_conf_t *cf, ngx_http_hubgate_loc_conf_t *prev,
    ngx_http_hubgate_loc_conf_t *conf)
{
    ngx_str_t   *aud;
    ngx_uint_t   i;

    if (conf->key_files == NULL) {
        conf->key_files = prev->key_files;
        conf->keys = prev->keys;
    }

    if (conf->jwks_zone == NULL) {
        conf->jwks_zone = prev->jwks_zone;
    }

    if (conf->algorithms == 0) {
        conf->algorithms = prev->algorithms ? prev->algorithms
                                            : HG_ALG_SET_DEFAULT;
    }

    ngx_conf_merge_str_value(conf->issuer, prev->issuer, "");
    ngx_conf_merge_ptr_value(conf->audiences, prev->audiences, NULL);
    ngx_conf_merge_sec_value(conf->leeway, prev->leeway, 0);
    ngx_conf_merge_str_value(conf->tenant_claim, prev->tenant_claim, "tid");
    ngx_conf_merge_str_value(conf->roles_claim, prev->roles_claim, "roles");

    if (conf->requires == NULL) {
        conf->requires = prev->requires;
    }

    if (conf->jwt && conf->keys == NULL && conf->jwks_zone == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hubgate_jwt \"%V\" has no key: add "
                           "hubgate_jwt_key_file or hubgate_jwt_key_request",
                           &conf->realm);
        return NGX_CONF_ERROR;
    }

    if (conf->audiences && conf->aud_ptrs == NULL) {
        conf->aud_ptrs = ngx_palloc(cf->pool,
                                    conf->audiences->nelts * sizeof(char *));
        if (conf->aud_ptrs == NULL) {
            return NGX_CONF_ERROR;
        }

        aud = conf->audiences->elts;

        for (i = 0; i < conf->audiences->nelts; i++) {
            conf->aud_ptrs[i] = (char *) aud[i].data;
        }
    }

    if (ngx_http_hubgate_jwt_policy(cf, conf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * The policy digest keys the verified-token cache: the allowlist, the
 * public material of every file key, the key request URI and the claim
 * rules.  A changed key file therefore invalidates cached tokens on reload.
 */

static ngx_int_t
ngx_http_hubgate_jwt_policy(ngx_conf_t *cf, ngx_http_hubgate_loc_conf_t *conf)
{
    int                       len;
    u_char                   *der, *p;
    size_t                    i;
    unsigned                  n;
    ngx_str_t                *aud;
    ngx_int_t                 rc;
    EVP_MD_CTX               *md;
    const hg_key_t           *key;
    ngx_http_hubgate_jwks_t  *jw;
    u_char                    digest[EVP_MAX_MD_SIZE];

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1
        || EVP_DigestUpdate(md, &conf->algorithms, sizeof(conf->algorithms))
           != 1
        || EVP_DigestUpdate(md, &conf->leeway, sizeof(conf->leeway)) != 1
        || EVP_DigestUpdate(md, conf->issuer.data, conf->issuer.len + 1)
           != 1)
    {
        goto done;
    }

    /* the cache keeps the identity these claims name */
    if (EVP_DigestUpdate(md, conf->tenant_claim.data,
                         conf->tenant_claim.len + 1) != 1
        || EVP_DigestUpdate(md, conf->roles_claim.data,
                            conf->roles_claim.len + 1) != 1)
    {
        goto done;
    }

    if (conf->audiences) {
        aud = conf->audiences->elts;

        for (i = 0; i < conf->audiences->nelts; i++) {
            if (EVP_DigestUpdate(md, aud[i].data, aud[i].len + 1) != 1) {
                goto done;
            }
        }
    }

    if (conf->jwks_zone) {
        jw = conf->jwks_zone->data;

        if (EVP_DigestUpdate(md, jw->uri.data, jw->uri.len + 1) != 1) {
            goto done;
        }
    }

    for (i = 0; conf->keys && i < conf->keys->nkeys; i++) {
        key = &conf->keys->keys[i];

        if (EVP_DigestUpdate(md, key->kid, key->kid_len + 1) != 1
            || EVP_DigestUpdate(md, &key->alg, sizeof(key->alg)) != 1)
        {
            goto done;
        }

        if (key->secret
            && EVP_DigestUpdate(md, key->secret, key->secret_len) != 1)
        {
            goto done;
        }

        if (key->pkey) {
            len = i2d_PUBKEY(key->pkey, NULL);
            if (len <= 0) {
                goto done;
            }

            der = ngx_alloc(len, cf->log);
            if (der == NULL) {
                goto done;
            }

            p = der;
            i2d_PUBKEY(key->pkey, &p);

            if (EVP_DigestUpdate(md, der, len) != 1) {
                ngx_free(der);
                goto done;
            }

            ngx_free(der);
        }
    }

    if (EVP_DigestFinal_ex(md, digest, &n) != 1) {
        goto done;
    }

    ngx_memcpy(conf->policy, digest, NGX_HTTP_HUBGATE_POLICY_LEN);
    rc = NGX_OK;

done:

    EVP_MD_CTX_free(md);

    return rc;
}
