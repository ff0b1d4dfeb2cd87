
/*
 * hubgated: the OAuth authorization-code callback, reconnect and "test
 * connection" (the flow itself is sync/oauth.c).
 *
 * The callback is signed by the edge but carries no tenant: the browser
 * comes back from the provider without our JWT, and the tenant is the one
 * the state was issued for.  It manages its own transactions (the state is
 * consumed in one that always commits) and leaves r->in_tx unset.  A
 * browser (Accept preferring text/html) gets a small self-contained page;
 * anything else gets JSON.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/entities.h>
#include <libxml/xmlmemory.h>

#include "api.h"
#include "../log.h"
#include "../net/http.h"
#include "../providers/provider_ops.h"
#include "../sync/oauth.h"
#include "../sync/sync_conf.h"


#define H_OAUTH_DB_WAIT_MS  5000


static void h_oauth_answer(api_req_t *r, const oauth_result_t *res);
static void h_oauth_page(api_req_t *r, int status, const char *title,
    const char *text);
static int h_oauth_identity(api_req_t *r, const char *provider,
    const char *token, const char *account, prov_identity_t *id,
    long *status, prov_error_t *perr);
static void h_oauth_token_error(api_req_t *r, int rc, const char *err);


void
h_oauth_callback(api_req_t *r)
{
    int             rc;
    char            err[512];
    const char     *state, *code, *perror;
    oauth_result_t  res;

    state = api_query(r, "state");
    code = api_query(r, "code");
    perror = api_query(r, "error");

    if (r->db == NULL) {
        r->db = db_acquire(H_OAUTH_DB_WAIT_MS, err, sizeof(err));
        if (r->db == NULL) {
            log_event(LOG_ERROR, "database", "msg", err, NULL);
            api_error(r, 503, "unavailable", "the database is unavailable");
            return;
        }
    }

    if (perror != NULL) {
        rc = oauth_deny(r->db, state, r->tenant_slug, perror, &res, err,
                        sizeof(err));
    } else {
        rc = oauth_complete(r->db, state, code, r->tenant_slug, &res, err,
                            sizeof(err));
    }

    if (rc != 0) {
        api_db_error(r, err);
        return;
    }

    if (res.status >= 400) {
        log_event(LOG_WARN, "oauth", "msg", "callback refused", "code",
                  res.code, "provider_code", res.provider_code,
                  "integration", res.integration, NULL);
    }

    h_oauth_answer(r, &res);
}


static void
h_oauth_answer(api_req_t *r, const oauth_result_t *res)
{
    char    text[512];
    json_t *e;

    if (oauth_accept_html(api_header(r, "Accept"))) {
        if (res->status < 400) {
            snprintf(text, sizeof(text), "The integration is connected"
                     "%s%s%s. You can close this window.",
                     res->display_name[0] || res->account_id[0]
                     ? " to " : "",
                     res->display_name[0] ? res->display_name
                                          : res->account_id,
                     "");
            h_oauth_page(r, 200, "Connected", text);

        } else {
            snprintf(text, sizeof(text), "%s (%s%s%s).", res->message,
                     res->code, res->provider_code[0] ? ": " : "",
                     res->provider_code);
            h_oauth_page(r, res->status, "Not connected", text);
        }
        return;
    }

    if (res->status < 400) {
        api_json(r, 200, json_pack("{s:s,s:s,s:s,s:s?}",
                                   "integration_id", res->integration,
                                   "status", "active",
                                   "account_id", res->account_id,
                                   "display_name",
                                   res->display_name[0]
                                   ? res->display_name : NULL));
        return;
    }

    e = json_pack("{s:{s:s,s:s}}", "error", "code", res->code, "message",
                  res->message);

    if (e != NULL && res->provider_code[0]) {
        json_object_set_new(json_object_get(e, "error"), "provider_code",
                            json_string(res->provider_code));
    }

    if (e != NULL && res->integration[0]) {
        json_object_set_new(json_object_get(e, "error"), "integration_id",
                            json_string(res->integration));
    }

    api_error_json(r, res->status, e);
}


/* a page with no external assets; title and text are escaped here */
static void
h_oauth_page(api_req_t *r, int status, const char *title, const char *text)
{
    int       n;
    char     *buf;
    xmlChar  *t, *x;

    t = xmlEncodeSpecialChars(NULL, (const xmlChar *) title);
    x = xmlEncodeSpecialChars(NULL, (const xmlChar *) text);

    n = (t && x) ? asprintf(&buf,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width\">"
        "<title>hubgate: %s</title><style>body{font-family:sans-serif;"
        "max-width:36em;margin:4em auto;padding:0 1em;color:#222}"
        "</style></head>\n<body><h1>%s</h1><p>%s</p></body></html>\n",
        (const char *) t, (const char *) t, (const char *) x) : -1;

    xmlFree(t);
    xmlFree(x);

    if (n < 0) {
        api_error(r, 500, "internal", "out of memory");
        return;
    }

    api_raw_take(r, status, "text/html; charset=utf-8", buf, (size_t) n);
}


void
h_integration_reconnect(api_req_t *r)
{
    int          rc;
    char         err[512], provider[64], status[32], target[96], *url;
    PGresult    *res;
    const char  *v[1];

    if (h_integration_begin(r) != 0) {
        return;
    }

    v[0] = r->params[0];
    res = h_row(r, DB_S_OAUTH_INT_LOCK, 1, v);
    if (res == NULL) {
        return;
    }

    snprintf(provider, sizeof(provider), "%s", PQgetvalue(res, 0, 0));
    snprintf(status, sizeof(status), "%s", PQgetvalue(res, 0, 2));
    rc = strcmp(PQgetvalue(res, 0, 1), "oauth");
    PQclear(res);

    if (rc != 0) {
        api_error(r, 409, "not_oauth", "the integration uses an API key:"
                  " there is nothing to reconnect");
        return;
    }

    if (strcmp(status, "pending") != 0
        && strcmp(status, "needs_reconnect") != 0)
    {
        api_error(r, 409, "already_connected", "the integration is %s:"
                  " only a pending or needs_reconnect one is reconnected",
                  status);
        return;
    }

    rc = oauth_begin(r->db, r->tenant, r->params[0], provider, &url, err,
                     sizeof(err));

    if (rc == OAUTH_NOT_CONFIGURED) {
        api_error(r, 409, "provider_not_configured", "%s has no OAuth client"
                  " configured", provider);
        return;
    }

    if (rc != 0) {
        log_event(LOG_ERROR, "oauth", "msg", err, "integration",
                  r->params[0], NULL);
        api_error(r, 500, "internal", "cannot start the authorization"
                  " (request id %s)", r->request_id);
        return;
    }

    snprintf(target, sizeof(target), "integration:%s", r->params[0]);

    if (api_audit(r, "integration.reconnect", target,
                  json_pack("{s:s}", "provider", provider))
        != 0)
    {
        free(url);
        return;
    }

    api_json(r, 200, json_pack("{s:s,s:s,s:s}", "id", r->params[0],
                               "status", status, "authorize_url", url));
    free(url);
}


/* answers a failed oauth_access_token */
static void
h_oauth_token_error(api_req_t *r, int rc, const char *err)
{
    switch (rc) {

    case OAUTH_RECONNECT:
        api_error(r, 409, "needs_reconnect", "the provider refused the stored"
                  " credentials: reconnect the integration");
        return;

    case OAUTH_NOT_CONNECTED:
        api_error(r, 409, "not_connected", "the integration has no"
                  " credentials yet: complete the connection first");
        return;

    case OAUTH_TRANSIENT:
        api_error(r, 502, "provider_unavailable", "the provider did not"
                  " answer the token refresh: try again");
        return;

    default:
        log_event(LOG_ERROR, "oauth", "msg", err, "integration",
                  r->params[0], NULL);
        api_error(r, 500, "internal", "cannot get an access token (request"
                  " id %s)", r->request_id);
    }
}


/*
 * One identity call with token: 0 with *status (2xx: id filled; else perr),
 * 1 when the provider has no identity endpoint, -1 when no answer came.
 */
static int
h_oauth_identity(api_req_t *r, const char *provider, const char *token,
    const char *account, prov_identity_t *id, long *status,
    prov_error_t *perr)
{
    int                    rc;
    char                   why[256];
    http_req_t             req;
    http_resp_t            resp;
    prov_auth_t            auth;
    sync_conf_t           *sc;
    const prov_conf_t     *pc;
    const provider_ops_t  *ops;

    ops = provider_ops(provider);
    sc = sync_conf_get();
    pc = sc ? sync_conf_provider(sc, provider) : NULL;

    if (ops == NULL || pc == NULL || ops->identity_request == NULL
        || ops->identity_parse == NULL)
    {
        if (sc) {
            sync_conf_put(sc);
        }
        return 1;
    }

    auth.access_token = token;
    auth.account_id = account[0] ? account : NULL;
    memset(&resp, 0, sizeof(resp));
    http_req_init(&req, "GET");

    rc = ops->identity_request(pc, &auth, &req, why, sizeof(why));
    if (rc == 0) {
        rc = http_send(&req, &resp, why, sizeof(why));
    }

    http_req_free(&req);
    sync_conf_put(sc);

    if (rc != 0) {
        log_event(LOG_WARN, "oauth", "msg", "identity call failed", "reason",
                  why, "integration", r->params[0], NULL);
        http_resp_free(&resp);
        return -1;
    }

    *status = resp.status;

    if (resp.status >= 200 && resp.status <= 299) {
        if (ops->identity_parse(&resp, id, why, sizeof(why)) != 0) {
            *status = 502;
            snprintf(perr->code, sizeof(perr->code), "malformed_identity");
        }

    } else if (ops->error_parse) {
        ops->error_parse(&resp, perr);
    }

    http_resp_free(&resp);

    return 0;
}


void
h_integration_test(api_req_t *r)
{
    int              rc;
    long             status;
    char             err[512], provider[64], account[128], display[256];
    char            *tok, *fresh;
    PGresult        *res;
    const char      *v[1];
    prov_error_t     perr;
    prov_identity_t  id;

    if (h_integration_begin(r) != 0) {
        return;
    }

    v[0] = r->params[0];
    res = h_row(r, DB_S_OAUTH_INT_GET, 1, v);
    if (res == NULL) {
        return;
    }

    snprintf(provider, sizeof(provider), "%s", PQgetvalue(res, 0, 0));
    snprintf(account, sizeof(account), "%s", PQgetvalue(res, 0, 3));
    snprintf(display, sizeof(display), "%s", PQgetvalue(res, 0, 4));
    rc = strcmp(PQgetvalue(res, 0, 2), "needs_reconnect") == 0;
    PQclear(res);

    if (rc) {
        api_error(r, 409, "needs_reconnect", "the provider refused the stored"
                  " credentials: reconnect the integration");
        return;
    }

    /* oauth_access_token runs its own transactions on this connection */
    r->in_tx = 0;
    if (db_commit(r->db, err, sizeof(err)) != 0) {
        api_db_error(r, err);
        return;
    }

    rc = oauth_access_token(r->db, r->tenant, r->params[0], NULL, &tok, err,
                            sizeof(err));
    if (rc != 0) {
        h_oauth_token_error(r, rc, err);
        return;
    }

    memset(&id, 0, sizeof(id));
    memset(&perr, 0, sizeof(perr));
    status = 0;

    rc = h_oauth_identity(r, provider, tok, account, &id, &status, &perr);

    if (rc == 0 && status == 401) {
        /* a token that looked fresh was refused: refresh it once */
        rc = oauth_access_token(r->db, r->tenant, r->params[0], tok, &fresh,
                                err, sizeof(err));
        oauth_token_free(tok);
        tok = NULL;

        if (rc != 0) {
            h_oauth_token_error(r, rc, err);
            return;
        }

        tok = fresh;
        memset(&perr, 0, sizeof(perr));
        rc = h_oauth_identity(r, provider, tok, account, &id, &status, &perr);
    }

    oauth_token_free(tok);

    if (rc < 0) {
        api_error(r, 502, "provider_unavailable", "the provider did not"
                  " answer the identity request");
        return;
    }

    if (rc == 0 && (status < 200 || status > 299)) {
        api_error_json(r, 502, json_pack("{s:{s:s,s:s,s:s,s:i}}", "error",
                       "code", "provider_error", "message", "the provider"
                       " refused the identity request", "provider_code",
                       perr.code[0] ? perr.code : "unknown", "http_status",
                       (int) status));
        return;
    }

    if (rc == 0) {
        snprintf(account, sizeof(account), "%s", id.account_id);
        snprintf(display, sizeof(display), "%s", id.display_name);
    }

    api_json(r, 200, json_pack("{s:b,s:s,s:s}", "ok", 1, "account_id",
                               account, "display_name", display));
}
