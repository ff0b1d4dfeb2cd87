
/*
 * hubgate: what the upstream may trust.  Every client-sent X-Hubgate-*
 * header is removed before anything else runs; after JWT and limits the
 * module adds X-Hubgate-Tenant, -Subject, -Roles, -Webhook and, with
 * hubgate_identity_secret, X-Hubgate-Auth: an HMAC over the method, URI
 * and those values (hg_identity.h), which hubgated verifies.
 */


#include "ngx_http_hubgate_module.h"


static ngx_int_t ngx_http_hubgate_identity_push(ngx_http_request_t *r,
    const char *name, u_char *data, size_t len);
static void ngx_http_hubgate_identity_cleanup(void *data);


static ngx_inline ngx_uint_t
ngx_http_hubgate_is_ours(ngx_table_elt_t *h)
{
    return h->key.len >= sizeof("x-hubgate-") - 1
           && ngx_strncasecmp(h->key.data, (u_char *) "x-hubgate-",
                              sizeof("x-hubgate-") - 1) == 0;
}


/*
 * client: the headers came from the client (logged and counted); else
 * they are ours from a previous location, removed before re-adding.
 */

ngx_int_t
ngx_http_hubgate_identity_strip(ngx_http_request_t *r, ngx_uint_t client)
{
    ngx_uint_t        i, found;
    ngx_list_t        old;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *nh;

    found = 0;
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (ngx_http_hubgate_is_ours(&h[i])) {
            found++;
        }
    }

    if (found == 0) {
        return NGX_OK;
    }

    if (client) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "hubgate: removed %ui client-sent X-Hubgate-* "
                      "header(s)", found);

        ngx_http_hubgate_stat_add(r, NGX_HTTP_HUBGATE_STAT_SPOOFED_HEADERS,
                                  found);
    }

    /*
     * Rebuild the list without them.  The old elements stay in the pool,
     * so headers_in pointers such as headers_in.host remain valid.
     */

    old = r->headers_in.headers;

    if (ngx_list_init(&r->headers_in.headers, r->pool, 20,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the copy's first part is intact; its "last" is not used here */
    part = &old.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (ngx_http_hubgate_is_ours(&h[i])) {
            continue;
        }

        nh = ngx_list_push(&r->headers_in.headers);
        if (nh == NULL) {
            return NGX_ERROR;
        }

        *nh = h[i];
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_hubgate_identity_add(ngx_http_request_t *r,
    ngx_http_hubgate_loc_conf_t *lcf, ngx_http_hubgate_ctx_t *ctx)
{
    ngx_str_t       auth;
    hg_identity_t   id;

    if (ctx->tenant.len
        && ngx_http_hubgate_identity_push(r, "X-Hubgate-Tenant",
                                          ctx->tenant.data, ctx->tenant.len)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->subject.len
        && ngx_http_hubgate_identity_push(r, "X-Hubgate-Subject",
                                          ctx->subject.data, ctx->subject.len)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->roles.len
        && ngx_http_hubgate_identity_push(r, "X-Hubgate-Roles",
                                          ctx->roles.data, ctx->roles.len)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->wh_header.len
        && ngx_http_hubgate_identity_push(r, "X-Hubgate-Webhook",
                                          ctx->wh_header.data,
                                          ctx->wh_header.len)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (lcf->identity_secret.len == 0) {
        return NGX_OK;
    }

    id.method.data = (const char *) r->method_name.data;
    id.method.len = r->method_name.len;
    id.uri.data = (const char *) r->unparsed_uri.data;
    id.uri.len = r->unparsed_uri.len;
    id.tenant.data = (const char *) ctx->tenant.data;
    id.tenant.len = ctx->tenant.len;
    id.subject.data = (const char *) ctx->subject.data;
    id.subject.len = ctx->subject.len;
    id.roles.data = (const char *) ctx->roles.data;
    id.roles.len = ctx->roles.len;
    id.webhook.data = (const char *) ctx->wh_header.data;
    id.webhook.len = ctx->wh_header.len;

    if (ngx_http_hubgate_identity_sign(r, &lcf->identity_secret, &id, &auth)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_hubgate_identity_push(r, "X-Hubgate-Auth", auth.data,
                                       auth.len)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_OK;
}


/* the X-Hubgate-Auth value for id, signed now, in the request pool */

ngx_int_t
ngx_http_hubgate_identity_sign(ngx_http_request_t *r, ngx_str_t *secret,
    hg_identity_t *id, ngx_str_t *value)
{
    int   n;
    char  buf[HG_IDENTITY_HEADER_MAX + 1];

    n = hg_identity_sign(secret->data, secret->len, ngx_time(), id, buf,
                         sizeof(buf));
    if (n < 0) {
        return NGX_ERROR;
    }

    value->data = ngx_pnalloc(r->pool, n);
    if (value->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(value->data, buf, n);
    value->len = n;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hubgate_identity_push(ngx_http_request_t *r, const char *name,
    u_char *data, size_t len)
{
    return ngx_http_hubgate_identity_header(r, &r->headers_in.headers, name,
                                            data, len);
}


/* appends a request header to headers (r->headers_in's or a subrequest's) */

ngx_int_t
ngx_http_hubgate_identity_header(ngx_http_request_t *r, ngx_list_t *headers,
    const char *name, u_char *data, size_t len)
{
    size_t            n;
    ngx_table_elt_t  *h;

    h = ngx_list_push(headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    n = ngx_strlen(name);

    h->key.data = (u_char *) name;
    h->key.len = n;
    h->value.data = data;
    h->value.len = len;

    h->lowcase_key = ngx_pnalloc(r->pool, n);
    if (h->lowcase_key == NULL) {
        return NGX_ERROR;
    }

    h->hash = ngx_hash_strlow(h->lowcase_key, h->key.data, n);

    return NGX_OK;
}


char *
ngx_http_hubgate_identity_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_hubgate_loc_conf_t *lcf = conf;

    size_t               len;
    u_char              *key;
    ngx_str_t           *value;
    ngx_pool_cleanup_t  *cln;
    char                 err[256];

    if (lcf->identity_secret.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_conf_full_name(cf->cycle, &value[1], 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (hg_identity_load_secret((const char *) value[1].data, &key, &len,
                                err, sizeof(err))
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hubgate_identity_secret \"%V\": %s",
                           &value[1], err);
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_explicit_memzero(key, len);
        free(key);
        return NGX_CONF_ERROR;
    }

    lcf->identity_secret.data = key;
    lcf->identity_secret.len = len;
    lcf->identity_file = value[1];

    cln->handler = ngx_http_hubgate_identity_cleanup;
    cln->data = &lcf->identity_secret;

    return NGX_CONF_OK;
}


static void
ngx_http_hubgate_identity_cleanup(void *data)
{
    ngx_str_t  *secret = data;

    ngx_explicit_memzero(secret->data, secret->len);
    free(secret->data);
}
