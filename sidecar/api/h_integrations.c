
/*
 * hubgated: /v1/integrations and their settings.
 */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api.h"
#include "validate.h"
#include "../log.h"
#include "../providers/providers.h"
#include "../sync/oauth.h"
#include "../vault/keyring.h"


#define H_LIST_DEFAULT  50
#define H_LIST_MAX      200


static char  *h_defaults;              /* JSON text, set once */


static void h_not_found(api_req_t *r, const char *id);
static void h_defaults_init(void);
static const char *h_defaults_json(void);
static int h_integration_answer(api_req_t *r, int status, const char *id,
    const char *extra);
static void h_set_status(api_req_t *r, int activate);
static char *h_authorize_extra(api_req_t *r, const char *id,
    const char *provider);


/* 8-4-4-4-12 hex digits; anything else cannot name an integration */
int
h_uuid(const char *s)
{
    int  i;

    for (i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') {
                return 0;
            }

        } else if (!((s[i] >= '0' && s[i] <= '9')
                     || (s[i] >= 'a' && s[i] <= 'f')
                     || (s[i] >= 'A' && s[i] <= 'F')))
        {
            return 0;
        }
    }

    return s[36] == '\0';
}


/* {id} names an integration, and the tenant's transaction is open */
int
h_integration_begin(api_req_t *r)
{
    if (!h_uuid(r->params[0])) {
        h_not_found(r, r->params[0]);
        return -1;
    }

    return api_tx_begin(r);
}


static void
h_not_found(api_req_t *r, const char *id)
{
    api_error(r, 404, "not_found", "no integration %s", id);
}


/*
 * Runs a statement whose first parameter is the integration's id; its one
 * row, or NULL after answering 404 (no such integration for the tenant)
 * or the database error.
 */
PGresult *
h_row(api_req_t *r, db_stmt_e stmt, int n, const char *const *v)
{
    char       err[512];
    PGresult  *res;

    res = db_exec(r->db, stmt, n, v, err, sizeof(err));
    if (res == NULL) {
        api_db_error(r, err);
        return NULL;
    }

    if (PQntuples(res) != 1) {
        PQclear(res);
        h_not_found(r, v[0]);
        return NULL;
    }

    return res;
}


/* 1..max, or -1 when malformed; def when absent */
int
h_limit(api_req_t *r, int def, int max)
{
    long         n;
    char        *end;
    const char  *v;

    v = api_query(r, "limit");
    if (v == NULL) {
        return def;
    }

    if (*v < '1' || *v > '9' || strlen(v) > 4) {
        return -1;
    }

    n = strtol(v, &end, 10);

    return (*end == '\0' && n >= 1 && n <= max) ? (int) n : -1;
}


/* the default settings as JSON text, computed once */
static void
h_defaults_init(void)
{
    json_t  *d;

    d = validate_settings_defaults();
    h_defaults = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
}


static const char *
h_defaults_json(void)
{
    static pthread_once_t  once = PTHREAD_ONCE_INIT;

    pthread_once(&once, h_defaults_init);

    return h_defaults ? h_defaults : "{}";
}


/*
 * The integration as PostgreSQL rendered it; extra (or NULL) is spliced
 * in before the closing brace, e.g. ",\"authorize_url\":null".  Answers
 * 404 or 500 itself and returns -1.
 */
static int
h_integration_answer(api_req_t *r, int status, const char *id,
    const char *extra)
{
    char       *buf;
    size_t      len, elen;
    PGresult   *res;
    const char *v[2], *row;

    v[0] = id;
    v[1] = h_defaults_json();

    res = h_row(r, DB_S_INT_GET, 2, v);
    if (res == NULL) {
        return -1;
    }

    row = PQgetvalue(res, 0, 0);
    len = strlen(row);
    elen = extra ? strlen(extra) : 0;

    buf = malloc(len + elen + 2);
    if (buf == NULL || len < 2 || row[len - 1] != '}') {
        free(buf);
        PQclear(res);
        api_error(r, 500, "internal", "cannot render the integration");
        return -1;
    }

    memcpy(buf, row, len - 1);
    if (elen) {
        memcpy(buf + len - 1, extra, elen);
    }
    buf[len - 1 + elen] = '}';

    buf[len + elen] = '\0';
    api_raw_take(r, status, "application/json", buf, len + elen);
    PQclear(res);

    return 0;
}


void
h_integrations_list(api_req_t *r)
{
    int          limit;
    char         err[512];
    h_page_t     pg;
    PGresult    *res;
    const char  *v[4];

    limit = h_page_args(r, H_LIST_DEFAULT, H_LIST_MAX, &pg);
    if (limit < 0) {
        return;
    }

    v[0] = pg.cursor_us;
    v[1] = pg.cursor_id;
    v[2] = pg.lim;
    v[3] = h_defaults_json();

    if (api_tx_begin(r) != 0) {
        return;
    }

    res = db_exec(r->db, DB_S_INT_LIST, 4, v, err, sizeof(err));
    if (res == NULL) {
        api_db_error(r, err);
        return;
    }

    h_page_answer(r, res, limit);
}


int
h_page_args(api_req_t *r, int def, int max, h_page_t *pg)
{
    int          limit;
    const char  *cursor, *sep;

    limit = h_limit(r, def, max);
    if (limit < 0) {
        api_error(r, 400, "bad_request", "limit must be an integer from 1"
                  " to %d", max);
        return -1;
    }

    pg->cursor_us = NULL;
    pg->cursor_id = NULL;
    cursor = api_query(r, "cursor");

    if (cursor != NULL) {
        sep = strchr(cursor, '_');

        if (sep == NULL || sep == cursor || sep - cursor > 19
            || strspn(cursor, "0123456789") != (size_t) (sep - cursor)
            || !h_uuid(sep + 1))
        {
            api_error(r, 400, "bad_request", "cursor is not one this API"
                      " returned");
            return -1;
        }

        snprintf(pg->us, sizeof(pg->us), "%.*s", (int) (sep - cursor),
                 cursor);
        pg->cursor_us = pg->us;
        pg->cursor_id = sep + 1;
    }

    snprintf(pg->lim, sizeof(pg->lim), "%d", limit + 1);

    return limit;
}


void
h_page_answer(api_req_t *r, PGresult *res, int limit)
{
    int      i, n, rows;
    char    *buf, *p;
    size_t   size;

    n = PQntuples(res);
    rows = n < limit ? n : limit;

    /* {"data":[row,row,...],"next_cursor":"..."|null}: rows as rendered */
    size = 64;
    for (i = 0; i < rows; i++) {
        size += PQgetlength(res, i, 1) + 1;
    }

    if (n > limit) {
        size += PQgetlength(res, limit - 1, 0);
    }

    buf = malloc(size);
    if (buf == NULL) {
        PQclear(res);
        api_error(r, 500, "internal", "out of memory");
        return;
    }

    p = stpcpy(buf, "{\"data\":[");

    for (i = 0; i < rows; i++) {
        if (i) {
            *p++ = ',';
        }
        p = stpcpy(p, PQgetvalue(res, i, 1));
    }

    p = stpcpy(p, "],\"next_cursor\":");

    if (n > limit) {
        *p++ = '"';
        p = stpcpy(p, PQgetvalue(res, limit - 1, 0));   /* digits_uuid */
        *p++ = '"';
    } else {
        p = stpcpy(p, "null");
    }

    *p++ = '}';

    *p = '\0';
    api_raw_take(r, 200, "application/json", buf, p - buf);
    PQclear(res);
}


void
h_integrations_create(api_req_t *r)
{
    char               err[512], target[96], *settings, *extra;
    size_t             bloblen;
    json_t            *body;
    uint32_t           ver;
    PGresult          *res;
    const char        *v[5], *auth;
    unsigned char     *blob;
    validate_errs_t    errs;
    validate_create_t  vc;
    char               id[DB_UUID_LEN + 1], vers[16];
    int                lens[4], fmts[4];

    body = api_body_json(r);
    if (body == NULL) {
        return;
    }

    memset(&errs, 0, sizeof(errs));

    if (validate_create(body, &vc, &errs) != 0) {
        json_decref(body);
        api_error_json(r, 422, validate_errors_json(&errs));
        return;
    }

    /* an OAuth integration nobody can complete is refused unwritten */
    if (vc.auth != PROVIDER_AUTH_API_KEY
        && oauth_supported(vc.provider->name)
        && !oauth_configured(vc.provider->name))
    {
        json_decref(vc.settings);
        json_decref(body);
        api_error(r, 409, "provider_not_configured", "%s has no OAuth"
                  " client configured", vc.provider->name);
        return;
    }

    settings = json_dumps(vc.settings, JSON_COMPACT);
    json_decref(vc.settings);

    if (settings == NULL || api_tx_begin(r) != 0) {
        if (settings == NULL) {
            api_error(r, 500, "internal", "out of memory");
        }
        free(settings);
        json_decref(body);
        return;
    }

    v[0] = vc.provider->name;
    v[1] = vc.display_name;
    auth = vc.auth == PROVIDER_AUTH_API_KEY ? "api_key" : "oauth";
    v[2] = auth;
    v[3] = vc.auth == PROVIDER_AUTH_API_KEY ? "active" : "pending";
    v[4] = settings;

    res = db_exec(r->db, DB_S_INT_INSERT, 5, v, err, sizeof(err));
    free(settings);

    if (res == NULL) {
        json_decref(body);
        api_db_error(r, err);
        return;
    }

    snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);

    if (vc.auth == PROVIDER_AUTH_API_KEY) {
        if (keyring_seal(r->db, r->tenant, id, "api_key",
                         (const unsigned char *) vc.api_key, vc.api_key_len,
                         &blob, &bloblen, &ver, err, sizeof(err))
            != 0)
        {
            json_decref(body);
            log_event(LOG_ERROR, "vault", "msg", err, NULL);
            api_error(r, 500, "internal", "cannot seal the credentials"
                      " (request id %s)", r->request_id);
            return;
        }

        snprintf(vers, sizeof(vers), "%u", ver);
        v[0] = id;
        v[1] = "api_key";
        v[2] = (const char *) blob;
        v[3] = vers;
        lens[0] = lens[1] = lens[3] = 0;
        lens[2] = (int) bloblen;
        fmts[0] = fmts[1] = fmts[3] = 0;
        fmts[2] = 1;

        res = db_execb(r->db, DB_S_CRED_INSERT, 4, v, lens, fmts, err,
                       sizeof(err));
        free(blob);

        if (res == NULL) {
            json_decref(body);
            api_db_error(r, err);
            return;
        }

        PQclear(res);
    }

    snprintf(target, sizeof(target), "integration:%s", id);

    if (api_audit(r, "integration.create", target,
                  json_pack("{s:s,s:s}", "provider", vc.provider->name,
                            "auth", auth))
        != 0)
    {
        json_decref(body);
        return;
    }

    /* the body holds the API key: wipe it before it is freed */
    if (vc.api_key != NULL) {
        OPENSSL_cleanse((void *) vc.api_key, vc.api_key_len);
    }

    if (r->body) {
        OPENSSL_cleanse(r->body, r->body_len);
    }

    json_decref(body);

    /* providers without OAuth ops yet stay pending with no URL */
    extra = h_authorize_extra(r, id, vc.auth == PROVIDER_AUTH_API_KEY
                                     || !oauth_supported(vc.provider->name)
                                     ? NULL : vc.provider->name);
    if (extra == NULL) {
        return;
    }

    if (h_integration_answer(r, 201, id, extra) == 0) {
        snprintf(r->location, sizeof(r->location), "%.*s/v1/integrations/%s",
                 (int) (r->path - r->path_buf), r->path_buf, id);
    }

    free(extra);
}


/*
 * ",\"authorize_url\":..." for the answer: null when provider is NULL
 * (an API key, or a provider without OAuth ops yet), else a
 * new state + PKCE session (oauth_begin).  Malloc'ed; NULL after
 * answering the error.
 */
static char *
h_authorize_extra(api_req_t *r, const char *id, const char *provider)
{
    int      rc;
    char     err[512], *url, *quoted, *extra;
    json_t  *s;

    if (provider == NULL) {
        extra = strdup(",\"authorize_url\":null");
        if (extra == NULL) {
            api_error(r, 500, "internal", "out of memory");
        }
        return extra;
    }

    rc = oauth_begin(r->db, r->tenant, id, provider, &url, err, sizeof(err));

    if (rc == OAUTH_NOT_CONFIGURED) {
        api_error(r, 409, "provider_not_configured", "%s has no OAuth client"
                  " configured", provider);
        return NULL;
    }

    if (rc != 0) {
        log_event(LOG_ERROR, "oauth", "msg", err, "integration", id, NULL);
        api_error(r, 500, "internal", "cannot start the authorization"
                  " (request id %s)", r->request_id);
        return NULL;
    }

    s = json_string(url);
    quoted = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
    json_decref(s);
    free(url);

    extra = NULL;
    if (quoted == NULL || asprintf(&extra, ",\"authorize_url\":%s", quoted)
                          < 0)
    {
        extra = NULL;
        api_error(r, 500, "internal", "out of memory");
    }

    free(quoted);

    return extra;
}


void
h_integration_get(api_req_t *r)
{
    if (h_integration_begin(r) != 0) {
        return;
    }

    h_integration_answer(r, 200, r->params[0], NULL);
}


void
h_integration_delete(api_req_t *r)
{
    char         err[512], target[96];
    PGresult    *res;
    const char  *v[1];

    if (h_integration_begin(r) != 0) {
        return;
    }

    /* tokens are revoked where the provider can (best effort); then the
     * credentials, cursors and runs go with it (ON DELETE CASCADE) */
    if (oauth_revoke(r->db, r->tenant, r->params[0], r->subject,
                     r->request_id, err, sizeof(err))
        != 0)
    {
        api_db_error(r, err);
        return;
    }

    v[0] = r->params[0];
    res = h_row(r, DB_S_INT_DELETE, 1, v);
    if (res == NULL) {
        return;
    }

    snprintf(target, sizeof(target), "integration:%s", r->params[0]);

    if (api_audit(r, "integration.delete", target,
                  json_pack("{s:s}", "provider", PQgetvalue(res, 0, 0)))
        != 0)
    {
        PQclear(res);
        return;
    }

    PQclear(res);
    api_raw(r, 204, "application/json", "", 0);
}


void
h_integration_activate(api_req_t *r)
{
    h_set_status(r, 1);
}


void
h_integration_deactivate(api_req_t *r)
{
    h_set_status(r, 0);
}


static void
h_set_status(api_req_t *r, int activate)
{
    int          connected;
    char         err[512], target[96], status[32];
    PGresult    *res;
    const char  *v[2], *to;

    if (h_integration_begin(r) != 0) {
        return;
    }

    v[0] = r->params[0];
    res = h_row(r, DB_S_INT_LOCK, 1, v);
    if (res == NULL) {
        return;
    }

    snprintf(status, sizeof(status), "%s", PQgetvalue(res, 0, 0));
    connected = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    PQclear(res);

    to = activate ? "active" : "inactive";

    if (activate && strcmp(status, "needs_reconnect") == 0) {
        api_error(r, 409, "not_connected", "the provider refused the stored"
                  " credentials: reconnect the integration first");
        return;
    }

    if (activate && !connected) {
        api_error(r, 409, "not_connected", "the integration has no"
                  " credentials yet: complete the connection first");
        return;
    }

    if (strcmp(status, to) != 0) {
        v[1] = to;
        res = db_exec(r->db, DB_S_INT_SET_STATUS, 2, v, err, sizeof(err));
        if (res == NULL) {
            api_db_error(r, err);
            return;
        }

        PQclear(res);
        snprintf(target, sizeof(target), "integration:%s", r->params[0]);

        if (api_audit(r, activate ? "integration.activate"
                                  : "integration.deactivate", target,
                      json_pack("{s:s}", "from", status))
            != 0)
        {
            return;
        }
    }

    h_integration_answer(r, 200, r->params[0], NULL);
}


void
h_settings_get(api_req_t *r)
{
    json_t      *stored;
    PGresult    *res;
    const char  *v[1];

    if (h_integration_begin(r) != 0) {
        return;
    }

    v[0] = r->params[0];
    res = h_row(r, DB_S_INT_SETTINGS, 1, v);
    if (res == NULL) {
        return;
    }

    stored = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);

    api_json(r, 200, validate_settings_effective(stored));
    json_decref(stored);
}


void
h_settings_put(api_req_t *r)
{
    char             target[96], *text;
    json_t          *body, *norm, *stored, *keys;
    PGresult        *res;
    const char      *v[2], *k;
    json_t          *unused;
    validate_errs_t  errs;

    if (!h_uuid(r->params[0])) {
        h_not_found(r, r->params[0]);
        return;
    }

    body = api_body_json(r);
    if (body == NULL) {
        return;
    }

    memset(&errs, 0, sizeof(errs));
    norm = validate_settings(body, "", &errs);
    json_decref(body);

    if (norm == NULL) {
        api_error_json(r, 422, validate_errors_json(&errs));
        return;
    }

    text = json_dumps(norm, JSON_COMPACT);
    keys = json_array();

    json_object_foreach(norm, k, unused) {
        json_array_append_new(keys, json_string(k));
    }

    json_decref(norm);

    if (text == NULL || api_tx_begin(r) != 0) {
        if (text == NULL) {
            api_error(r, 500, "internal", "out of memory");
        }
        free(text);
        json_decref(keys);
        return;
    }

    v[0] = r->params[0];
    v[1] = text;
    res = h_row(r, DB_S_INT_SETTINGS_PUT, 2, v);
    free(text);

    if (res == NULL) {
        json_decref(keys);
        return;
    }

    stored = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);

    snprintf(target, sizeof(target), "integration:%s", r->params[0]);

    if (api_audit(r, "integration.settings", target,
                  json_pack("{s:o}", "set", keys))
        != 0)
    {
        json_decref(stored);
        return;
    }

    api_json(r, 200, validate_settings_effective(stored));
    json_decref(stored);
}
