
/*
 * hubgate: the edge module's shared declarations.
 *
 * One access handler runs, in order: strip client X-Hubgate-* headers,
 * JWT, requires, per-key limits, identity headers.  Each concern lives in
 * its own ngx_http_hubgate_<concern>.c; the pure cores (hg_*.c) use no
 * nginx types.
 */

#ifndef _NGX_HTTP_HUBGATE_MODULE_H_INCLUDED_
#define _NGX_HTTP_HUBGATE_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "hg_jwt.h"
#include "hg_jwks.h"
#include "hg_limit.h"
#include "hg_identity.h"
#include "hg_webhook.h"


#define NGX_HTTP_HUBGATE_POLICY_LEN     16
#define NGX_HTTP_HUBGATE_UNKNOWN_KID_INTERVAL  60
#define NGX_HTTP_HUBGATE_FETCH_GUARD    10
#define NGX_HTTP_HUBGATE_FIRST_FETCH_GUARD  2
#define NGX_HTTP_HUBGATE_NEG_KIDS       32


/* limit outcomes, as $hubgate_limit_status names them */
#define NGX_HTTP_HUBGATE_LIMIT_NONE             0
#define NGX_HTTP_HUBGATE_LIMIT_PASSED           1
#define NGX_HTTP_HUBGATE_LIMIT_DELAYED          2
#define NGX_HTTP_HUBGATE_LIMIT_REJECTED         3
#define NGX_HTTP_HUBGATE_LIMIT_DELAYED_DRY_RUN  4
#define NGX_HTTP_HUBGATE_LIMIT_REJECTED_DRY_RUN 5


/*
 * webhook outcomes, as $hubgate_webhook_status and the counters name them;
 * MISSING to SIGNATURE in the order of hg_wh_err_e
 */
enum {
    NGX_HTTP_HUBGATE_WH_NONE = 0,
    NGX_HTTP_HUBGATE_WH_OK,
    NGX_HTTP_HUBGATE_WH_MISSING,
    NGX_HTTP_HUBGATE_WH_FORMAT,
    NGX_HTTP_HUBGATE_WH_STALE,
    NGX_HTTP_HUBGATE_WH_FUTURE,
    NGX_HTTP_HUBGATE_WH_SIGNATURE,
    NGX_HTTP_HUBGATE_WH_NO_SECRET,
    NGX_HTTP_HUBGATE_WH_UNAVAILABLE,
    NGX_HTTP_HUBGATE_WH_MAX
};

#define NGX_HTTP_HUBGATE_WH_SECRET_MAX   1024   /* bytes of one secret */


/* edge counters in the status zone; index into sh->counters */
enum {
    NGX_HTTP_HUBGATE_STAT_ACCEPTED = 0,
    NGX_HTTP_HUBGATE_STAT_CACHE_HIT,
    NGX_HTTP_HUBGATE_STAT_CACHE_MISS,
    NGX_HTTP_HUBGATE_STAT_JWKS_FETCH_OK,
    NGX_HTTP_HUBGATE_STAT_JWKS_FETCH_FAILED,
    NGX_HTTP_HUBGATE_STAT_INSUFFICIENT_SCOPE,
    NGX_HTTP_HUBGATE_STAT_INVALID_REQUEST,
    NGX_HTTP_HUBGATE_STAT_SPOOFED_HEADERS,
    NGX_HTTP_HUBGATE_STAT_REJECTED,          /* + hg_jwt_err_e */
    NGX_HTTP_HUBGATE_STAT_WEBHOOK = NGX_HTTP_HUBGATE_STAT_REJECTED
                                    + HG_JWT_ERR_MAX,  /* + WH outcome */
    NGX_HTTP_HUBGATE_STAT_MAX = NGX_HTTP_HUBGATE_STAT_WEBHOOK
                                + NGX_HTTP_HUBGATE_WH_MAX
};


/* JWKS fetched by subrequest, shared by all workers */
typedef struct {
    uint64_t                        generation;
    time_t                          fetched;       /* 0: never */
    time_t                          expires;
    time_t                          fetching_until;
    time_t                          unknown_kid_refresh;
    uint32_t                        neg_kid[NGX_HTTP_HUBGATE_NEG_KIDS];
    time_t                          neg_time[NGX_HTTP_HUBGATE_NEG_KIDS];
    ngx_uint_t                      neg_next;
    size_t                          len;
    u_char                         *data;          /* slab */
} ngx_http_hubgate_jwks_sh_t;


typedef struct {
    ngx_http_hubgate_jwks_sh_t     *sh;
    ngx_slab_pool_t                *shpool;
    ngx_str_t                       uri;
    time_t                          ttl;
    /* worker-local parse of sh->data, replaced when generation moves */
    uint64_t                        generation;
    hg_keyset_t                    *keys;
} ngx_http_hubgate_jwks_t;


/* a shared rbtree + LRU queue: the verified-token and the secret caches */
typedef struct {
    ngx_rbtree_t                    rbtree;
    ngx_rbtree_node_t               sentinel;
    ngx_queue_t                     queue;
} ngx_http_hubgate_cache_sh_t;


typedef struct {
    ngx_http_hubgate_cache_sh_t    *sh;
    ngx_slab_pool_t                *shpool;
} ngx_http_hubgate_cache_t;


/* limit zone: the shape leaves room for Redis reconciliation */
typedef struct {
    ngx_rbtree_t                    rbtree;
    ngx_rbtree_node_t               sentinel;
    ngx_queue_t                     queue;
    ngx_atomic_t                    passed;
    ngx_atomic_t                    delayed;
    ngx_atomic_t                    rejected;
    ngx_atomic_t                    dry_run_rejected;
    ngx_atomic_t                    evicted;
    ngx_atomic_t                    keys;
    time_t                          last_sync;     /* for redis= later */
} ngx_http_hubgate_limit_sh_t;


typedef struct {
    ngx_http_hubgate_limit_sh_t    *sh;
    ngx_slab_pool_t                *shpool;
    ngx_str_t                       name;
    ngx_uint_t                      fail_closed;
    ngx_shm_zone_t                 *shm_zone;
} ngx_http_hubgate_limit_zone_t;


typedef struct {
    ngx_shm_zone_t                 *shm_zone;
    ngx_http_complex_value_t        key;
    ngx_http_complex_value_t        rate_cv;
    uint64_t                        rate;          /* 0: from rate_cv */
    uint64_t                        burst;
    unsigned                        nodelay:1;
    unsigned                        dry_run:1;
} ngx_http_hubgate_limit_t;


typedef struct {
    ngx_array_t                    *values;        /* complex values */
    ngx_uint_t                      error;         /* 401 or 403 */
} ngx_http_hubgate_require_t;


/* hubgate_webhook: one per location that verifies webhooks */
typedef struct {
    ngx_str_t                       name;          /* the scheme */
    const hg_wh_scheme_t           *scheme;        /* NULL: pubsub */
    ngx_uint_t                      pubsub;
    ngx_uint_t                      url_secret;    /* mailchimp, param= */
    hg_wh_config_t                  wc;            /* file secrets */
    ngx_uint_t                      nfile;         /* of wc.nsecrets */
    ngx_http_complex_value_t       *secret_request;
    time_t                          secret_ttl;
    ngx_http_complex_value_t       *url;           /* square */
    ngx_str_t                       audience;      /* pubsub */
    ngx_str_t                       email;         /* pubsub */
} ngx_http_hubgate_webhook_t;


typedef struct {
    ngx_shm_zone_t                 *webhook_zone;
    ngx_shm_zone_t                 *cache_zone;
    time_t                          cache_ttl;
    ngx_shm_zone_t                 *status_zone;
    ngx_array_t                     limit_zones;   /* ngx_shm_zone_t * */
} ngx_http_hubgate_main_conf_t;


typedef struct {
    ngx_str_t                       realm;         /* empty: jwt off */
    ngx_int_t                       jwt;           /* unset, 0, 1 */

    ngx_array_t                    *key_files;     /* ngx_str_t */
    hg_keyset_t                    *keys;          /* from key_files */
    ngx_shm_zone_t                 *jwks_zone;     /* key_request */

    hg_alg_set_t                    algorithms;
    ngx_str_t                       issuer;
    ngx_array_t                    *audiences;     /* ngx_str_t */
    char                          **aud_ptrs;
    time_t                          leeway;
    ngx_str_t                       tenant_claim;
    ngx_str_t                       roles_claim;
    ngx_array_t                    *requires;

    u_char                          policy[NGX_HTTP_HUBGATE_POLICY_LEN];

    ngx_array_t                    *limits;
    ngx_uint_t                      limit_status;
    ngx_uint_t                      limit_log_level;

    ngx_str_t                       identity_secret;
    ngx_str_t                       identity_file;

    ngx_http_hubgate_webhook_t     *webhook;       /* NULL: none */
} ngx_http_hubgate_loc_conf_t;


typedef struct {
    ngx_http_hubgate_loc_conf_t    *lcf;           /* where it last ran */
    hg_jwt_t                       *jwt;
    ngx_str_t                       token;
    u_char                          hash[32];      /* cache key */
    ngx_int_t                       jwt_error;     /* hg_jwt_err_e or -1 */
    ngx_str_t                       tenant;
    ngx_str_t                       subject;
    ngx_str_t                       roles;
    ngx_uint_t                      limit_status;

    ngx_int_t                       sr_status;

    ngx_uint_t                      wh_status;     /* NGX_HTTP_HUBGATE_WH_* */
    ngx_str_t                       wh_header;     /* X-Hubgate-Webhook */
    ngx_str_t                       wh_id;
    ngx_str_t                       wh_body;       /* flattened raw body */
    ngx_str_t                       wh_key;        /* secret_request URI */
    uint32_t                        wh_hash;       /* of wh_key */
    ngx_array_t                    *wh_secrets;    /* ngx_str_t, fetched */
    ngx_uint_t                      wh_fetch;      /* 200, 404, 500 or 0 */
    ngx_uint_t                      wh_waits;      /* for another's ask */

    unsigned                        stripped:1;
    unsigned                        parsed:1;
    unsigned                        verified:1;
    unsigned                        jwt_done:1;
    unsigned                        fetching:1;
    unsigned                        fetched:1;
    unsigned                        limit_done:1;
    unsigned                        delayed:1;
    unsigned                        done:1;
    unsigned                        bad_request:1;
    unsigned                        accepted:1;
    unsigned                        requires_done:1;
    unsigned                        wh_reading:1;
    unsigned                        wh_read:1;
    unsigned                        wh_fetching:1;
    unsigned                        wh_fetched:1;
    unsigned                        wh_id_done:1;
    unsigned                        wh_done:1;
    unsigned                        wh_masked:1;
} ngx_http_hubgate_ctx_t;


extern ngx_module_t  ngx_http_hubgate_module;


/* ngx_http_hubgate_module.c */
ngx_http_hubgate_ctx_t *ngx_http_hubgate_get_ctx(ngx_http_request_t *r);
ngx_int_t ngx_http_hubgate_cache_zone_init(ngx_shm_zone_t *shm_zone,
    void *data, ngx_rbtree_insert_pt insert, const char *directive);
ngx_int_t ngx_http_hubgate_delay(ngx_http_request_t *r, ngx_msec_t ms);
ngx_int_t ngx_http_hubgate_subrequest_get(ngx_http_request_t *r,
    ngx_str_t *uri, ngx_str_t *args, ngx_http_post_subrequest_t *ps,
    ngx_http_request_t **psr);


/* ngx_http_hubgate_jwt.c */
char *ngx_http_hubgate_jwt_cache(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_hubgate_jwt_algorithms(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_hubgate_jwt_require(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_hubgate_jwt_merge(ngx_conf_t *cf,
    ngx_http_hubgate_loc_conf_t *prev, ngx_http_hubgate_loc_conf_t *conf);
ngx_int_t ngx_http_hubgate_jwt_step(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx);
ngx_int_t ngx_http_hubgate_jwt_member(ngx_http_request_t *r,
    json_t *object, u_char *name, size_t len, ngx_str_t *value);
hg_jwt_t *ngx_http_hubgate_jwt_get(ngx_http_request_t *r,
    ngx_http_hubgate_ctx_t *ctx);

/* ngx_http_hubgate_jwks.c */
char *ngx_http_hubgate_jwt_key_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_hubgate_jwt_key_request(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_hubgate_jwks_verify(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx);

/* ngx_http_hubgate_limit.c */
char *ngx_http_hubgate_limit_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_hubgate_limit(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_hubgate_limit_step(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx);

/* ngx_http_hubgate_identity.c */
char *ngx_http_hubgate_identity_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_hubgate_identity_strip(ngx_http_request_t *r,
    ngx_uint_t client);
ngx_int_t ngx_http_hubgate_identity_add(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx);
ngx_int_t ngx_http_hubgate_identity_header(ngx_http_request_t *r,
    ngx_list_t *headers, const char *name, u_char *data, size_t len);
ngx_int_t ngx_http_hubgate_identity_sign(ngx_http_request_t *r,
    ngx_str_t *secret, hg_identity_t *id, ngx_str_t *value);

/* ngx_http_hubgate_webhook.c */
char *ngx_http_hubgate_webhook(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_hubgate_webhook_cache(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_hubgate_webhook_merge(ngx_conf_t *cf,
    ngx_http_hubgate_loc_conf_t *prev, ngx_http_hubgate_loc_conf_t *conf);
char *ngx_http_hubgate_webhook_check(ngx_conf_t *cf,
    ngx_http_hubgate_loc_conf_t *conf);
ngx_int_t ngx_http_hubgate_webhook_step(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx);
void ngx_http_hubgate_webhook_jwt_failed(ngx_http_request_t *r,
    ngx_http_hubgate_ctx_t *ctx);
ngx_int_t ngx_http_hubgate_webhook_id(ngx_http_request_t *r,
    ngx_http_hubgate_ctx_t *ctx, ngx_str_t *id);
const char *ngx_http_hubgate_webhook_status_name(ngx_uint_t status);

/* ngx_http_hubgate_status.c */
ngx_int_t ngx_http_hubgate_status_init_zone(ngx_conf_t *cf,
    ngx_http_hubgate_main_conf_t *mcf);
void ngx_http_hubgate_stat_inc(ngx_http_request_t *r, ngx_uint_t counter);
void ngx_http_hubgate_stat_add(ngx_http_request_t *r, ngx_uint_t counter,
    ngx_uint_t n);
char *ngx_http_hubgate_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


#endif /* _NGX_HTTP_HUBGATE_MODULE_H_INCLUDED_ */
