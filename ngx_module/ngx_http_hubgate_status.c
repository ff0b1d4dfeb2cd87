
/*
 * hubgate: edge counters in shared memory, and the hubgate_status
 * location handler (JSON, or Prometheus text with ?format=prometheus).
 * Counters live in a zone of their own, so they survive reloads.
 */


#include "ngx_http_hubgate_module.h"


#define NGX_HTTP_HUBGATE_STATUS_ZONE_SIZE  (8 * 4096)


static ngx_int_t ngx_http_hubgate_status_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_hubgate_status_init(ngx_shm_zone_t *shm_zone,
    void *data);
static u_char *ngx_http_hubgate_status_json(u_char *p, ngx_atomic_t *c,
    ngx_http_hubgate_main_conf_t *mcf);
static u_char *ngx_http_hubgate_status_prom(u_char *p, ngx_atomic_t *c,
    ngx_http_hubgate_main_conf_t *mcf);


static ngx_str_t  ngx_http_hubgate_status_zone_name =
    ngx_string("hubgate_status");


ngx_int_t
ngx_http_hubgate_status_init_zone(ngx_conf_t *cf,
    ngx_http_hubgate_main_conf_t *mcf)
{
    ngx_shm_zone_t  *zone;

    zone = ngx_shared_memory_add(cf, &ngx_http_hubgate_status_zone_name,
                                 NGX_HTTP_HUBGATE_STATUS_ZONE_SIZE,
                                 &ngx_http_hubgate_module);
    if (zone == NULL) {
        return NGX_ERROR;
    }

    zone->init = ngx_http_hubgate_status_init;
    zone->data = mcf;
    mcf->status_zone = zone;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hubgate_status_init(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t  *shpool;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (data || shm_zone->shm.exists) {
        /* reused across reloads: shpool->data already holds the counters */
        return NGX_OK;
    }

    shpool->data = ngx_slab_calloc(shpool,
                             NGX_HTTP_HUBGATE_STAT_MAX * sizeof(ngx_atomic_t));
    if (shpool->data == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_inline ngx_atomic_t *
ngx_http_hubgate_counters(ngx_http_hubgate_main_conf_t *mcf)
{
    return ((ngx_slab_pool_t *) mcf->status_zone->shm.addr)->data;
}


void
ngx_http_hubgate_stat_inc(ngx_http_request_t *r, ngx_uint_t counter)
{
    ngx_http_hubgate_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_hubgate_module);

    (void) ngx_atomic_fetch_add(&ngx_http_hubgate_counters(mcf)[counter], 1);
}


void
ngx_http_hubgate_stat_add(ngx_http_request_t *r, ngx_uint_t counter,
    ngx_uint_t n)
{
    ngx_http_hubgate_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_hubgate_module);

    (void) ngx_atomic_fetch_add(&ngx_http_hubgate_counters(mcf)[counter], n);
}


char *
ngx_http_hubgate_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_hubgate_status_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_hubgate_status_handler(ngx_http_request_t *r)
{
    size_t                         size;
    ngx_int_t                      rc;
    ngx_str_t                      format;
    ngx_buf_t                     *b;
    ngx_uint_t                     prom;
    ngx_chain_t                    out;
    ngx_atomic_t                  *c;
    ngx_http_hubgate_main_conf_t  *mcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_hubgate_module);
    c = ngx_http_hubgate_counters(mcf);

    prom = ngx_http_arg(r, (u_char *) "format", 6, &format) == NGX_OK
           && format.len == 10
           && ngx_strncmp(format.data, "prometheus", 10) == 0;

    /* generous: names are short, numbers at most 20 digits */
    size = 4096 + (HG_JWT_ERR_MAX + NGX_HTTP_HUBGATE_WH_MAX) * 128
           + mcf->limit_zones.nelts * (6 * 160 + 256);

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (prom) {
        b->last = ngx_http_hubgate_status_prom(b->last, c, mcf);
        ngx_str_set(&r->headers_out.content_type,
                    "text/plain; version=0.0.4; charset=utf-8");

    } else {
        b->last = ngx_http_hubgate_status_json(b->last, c, mcf);
        ngx_str_set(&r->headers_out.content_type, "application/json");
    }

    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static u_char *
ngx_http_hubgate_status_json(u_char *p, ngx_atomic_t *c,
    ngx_http_hubgate_main_conf_t *mcf)
{
    ngx_uint_t                      i;
    ngx_shm_zone_t                **zones;
    ngx_http_hubgate_limit_zone_t  *zone;

    p = ngx_sprintf(p, "{\"jwt\":{\"accepted\":%uA,\"rejected\":{",
                    c[NGX_HTTP_HUBGATE_STAT_ACCEPTED]);

    for (i = HG_JWT_ERR_MISSING; i < HG_JWT_ERR_MAX; i++) {
        p = ngx_sprintf(p, "%s\"%s\":%uA", i == HG_JWT_ERR_MISSING ? "" : ",",
                        hg_jwt_strerror(i),
                        c[NGX_HTTP_HUBGATE_STAT_REJECTED + i]);
    }

    p = ngx_sprintf(p, ",\"invalid_request\":%uA,\"insufficient_scope\":%uA}},"
                    "\"cache\":{\"hits\":%uA,\"misses\":%uA},"
                    "\"jwks\":{\"fetched\":%uA,\"failed\":%uA},"
                    "\"spoofed_headers_removed\":%uA,\"limits\":{",
                    c[NGX_HTTP_HUBGATE_STAT_INVALID_REQUEST],
                    c[NGX_HTTP_HUBGATE_STAT_INSUFFICIENT_SCOPE],
                    c[NGX_HTTP_HUBGATE_STAT_CACHE_HIT],
                    c[NGX_HTTP_HUBGATE_STAT_CACHE_MISS],
                    c[NGX_HTTP_HUBGATE_STAT_JWKS_FETCH_OK],
                    c[NGX_HTTP_HUBGATE_STAT_JWKS_FETCH_FAILED],
                    c[NGX_HTTP_HUBGATE_STAT_SPOOFED_HEADERS]);

    zones = mcf->limit_zones.elts;

    for (i = 0; i < mcf->limit_zones.nelts; i++) {
        zone = zones[i]->data;

        /* zone names are nginx.conf tokens: no quotes or backslashes */
        p = ngx_sprintf(p, "%s\"%V\":{\"passed\":%uA,\"delayed\":%uA,"
                        "\"rejected\":%uA,\"dry_run_rejected\":%uA,"
                        "\"keys\":%uA,\"evicted\":%uA}",
                        i ? "," : "", &zone->name, zone->sh->passed,
                        zone->sh->delayed, zone->sh->rejected,
                        zone->sh->dry_run_rejected, zone->sh->keys,
                        zone->sh->evicted);
    }

    p = ngx_sprintf(p, "},\"webhooks\":{\"accepted\":%uA,\"rejected\":{",
                    c[NGX_HTTP_HUBGATE_STAT_WEBHOOK + NGX_HTTP_HUBGATE_WH_OK]);

    for (i = NGX_HTTP_HUBGATE_WH_MISSING; i < NGX_HTTP_HUBGATE_WH_MAX; i++) {
        p = ngx_sprintf(p, "%s\"%s\":%uA",
                        i == NGX_HTTP_HUBGATE_WH_MISSING ? "" : ",",
                        ngx_http_hubgate_webhook_status_name(i),
                        c[NGX_HTTP_HUBGATE_STAT_WEBHOOK + i]);
    }

    return ngx_sprintf(p, "}}}\n");
}


static u_char *
ngx_http_hubgate_status_prom(u_char *p, ngx_atomic_t *c,
    ngx_http_hubgate_main_conf_t *mcf)
{
    ngx_uint_t                      i;
    ngx_shm_zone_t                **zones;
    ngx_http_hubgate_limit_zone_t  *zone;

    p = ngx_sprintf(p,
            "# HELP hubgate_jwt_accepted_total Requests with a valid JWT.\n"
            "# TYPE hubgate_jwt_accepted_total counter\n"
            "hubgate_jwt_accepted_total %uA\n"
            "# HELP hubgate_jwt_rejected_total Requests refused, by reason.\n"
            "# TYPE hubgate_jwt_rejected_total counter\n",
            c[NGX_HTTP_HUBGATE_STAT_ACCEPTED]);

    for (i = HG_JWT_ERR_MISSING; i < HG_JWT_ERR_MAX; i++) {
        p = ngx_sprintf(p, "hubgate_jwt_rejected_total{reason=\"%s\"} %uA\n",
                        hg_jwt_strerror(i),
                        c[NGX_HTTP_HUBGATE_STAT_REJECTED + i]);
    }

    p = ngx_sprintf(p,
            "hubgate_jwt_rejected_total{reason=\"invalid_request\"} %uA\n"
            "hubgate_jwt_rejected_total{reason=\"insufficient_scope\"} %uA\n"
            "# TYPE hubgate_jwt_cache_hits_total counter\n"
            "hubgate_jwt_cache_hits_total %uA\n"
            "# TYPE hubgate_jwt_cache_misses_total counter\n"
            "hubgate_jwt_cache_misses_total %uA\n"
            "# TYPE hubgate_jwks_fetches_total counter\n"
            "hubgate_jwks_fetches_total{result=\"ok\"} %uA\n"
            "hubgate_jwks_fetches_total{result=\"failed\"} %uA\n"
            "# TYPE hubgate_spoofed_headers_removed_total counter\n"
            "hubgate_spoofed_headers_removed_total %uA\n"
            "# HELP hubgate_limit_requests_total Limit decisions by zone.\n"
            "# TYPE hubgate_limit_requests_total counter\n",
            c[NGX_HTTP_HUBGATE_STAT_INVALID_REQUEST],
            c[NGX_HTTP_HUBGATE_STAT_INSUFFICIENT_SCOPE],
            c[NGX_HTTP_HUBGATE_STAT_CACHE_HIT],
            c[NGX_HTTP_HUBGATE_STAT_CACHE_MISS],
            c[NGX_HTTP_HUBGATE_STAT_JWKS_FETCH_OK],
            c[NGX_HTTP_HUBGATE_STAT_JWKS_FETCH_FAILED],
            c[NGX_HTTP_HUBGATE_STAT_SPOOFED_HEADERS]);

    zones = mcf->limit_zones.elts;

    for (i = 0; i < mcf->limit_zones.nelts; i++) {
        zone = zones[i]->data;

        p = ngx_sprintf(p,
            "hubgate_limit_requests_total{zone=\"%V\",result=\"passed\"} %uA\n"
            "hubgate_limit_requests_total{zone=\"%V\",result=\"delayed\"} %uA\n"
            "hubgate_limit_requests_total{zone=\"%V\",result=\"rejected\"} "
            "%uA\n"
            "hubgate_limit_requests_total{zone=\"%V\","
            "result=\"dry_run_rejected\"} %uA\n"
            "hubgate_limit_keys{zone=\"%V\"} %uA\n"
            "hubgate_limit_evicted_total{zone=\"%V\"} %uA\n",
            &zone->name, zone->sh->passed, &zone->name, zone->sh->delayed,
            &zone->name, zone->sh->rejected, &zone->name,
            zone->sh->dry_run_rejected, &zone->name, zone->sh->keys,
            &zone->name, zone->sh->evicted);
    }

    p = ngx_sprintf(p,
            "# HELP hubgate_webhook_accepted_total Webhooks verified.\n"
            "# TYPE hubgate_webhook_accepted_total counter\n"
            "hubgate_webhook_accepted_total %uA\n"
            "# HELP hubgate_webhook_rejected_total Webhooks refused, by "
            "reason.\n"
            "# TYPE hubgate_webhook_rejected_total counter\n",
            c[NGX_HTTP_HUBGATE_STAT_WEBHOOK + NGX_HTTP_HUBGATE_WH_OK]);

    for (i = NGX_HTTP_HUBGATE_WH_MISSING; i < NGX_HTTP_HUBGATE_WH_MAX; i++) {
        p = ngx_sprintf(p,
                        "hubgate_webhook_rejected_total{reason=\"%s\"} %uA\n",
                        ngx_http_hubgate_webhook_status_name(i),
                        c[NGX_HTTP_HUBGATE_STAT_WEBHOOK + i]);
    }

    return p;
}
