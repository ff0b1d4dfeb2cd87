
/*
 * hubgated: OAuth connections, single-flight refresh, revocation (see
 * oauth.h).
 */

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "oauth.h"
#include "sync_conf.h"
#include "../clock.h"
#include "../log.h"
#include "../net/http.h"
#include "../providers/provider_ops.h"
#include "../vault/keyring.h"


#define OAUTH_ACTOR       "hubgated"
#define OAUTH_STATE_RAW   32
#define OAUTH_STATE_LEN   44              /* base64url of 32 bytes + NUL */
#define OAUTH_TOKEN_MAX   (64 * 1024)


/* a provider's conf and ops, with the snapshot reference that keeps them */
typedef struct {
    sync_conf_t           *sc;
    const prov_conf_t     *pc;
    const provider_ops_t  *ops;
} oauth_prov_t;

/* what a consumed state gave */
typedef struct {
    char                   tenant[DB_UUID_LEN + 1];
    char                   provider[64];
    unsigned char         *sealed;        /* PQfreemem */
    size_t                 sealed_len;
    char                  *redirect_uri;  /* malloc'ed */
} oauth_session_t;


static atomic_uint_fast64_t  oauth_n_refreshes;
static atomic_uint_fast64_t  oauth_n_refresh_failures;
static atomic_uint_fast64_t  oauth_n_connects;
static atomic_uint_fast64_t  oauth_n_revocations;


static int oauth_prov_get(const char *provider, oauth_prov_t *p);
static void oauth_prov_put(oauth_prov_t *p);
static void oauth_b64url(const unsigned char *in, size_t n, char *out);
static int oauth_seal_put(db_conn_t *c, const char *tenant,
    const char *integration, const char *purpose, const char *token,
    int64_t expires_ms, char *err, size_t errlen);
static int oauth_open(db_conn_t *c, const char *tenant,
    const char *integration, const char *purpose, const unsigned char *blob,
    size_t bloblen, char **out, char *err, size_t errlen);
static int oauth_cred(db_conn_t *c, const char *tenant,
    const char *integration, const char *purpose, char **out,
    int64_t *expires_ms, char *err, size_t errlen);
static int oauth_audit(db_conn_t *c, const char *actor, const char *action,
    const char *integration, const char *request_id, json_t *details,
    char *err, size_t errlen);
static void oauth_fail(oauth_result_t *res, int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int oauth_consume(db_conn_t *c, const char *state,
    const char *bound_slug, oauth_session_t *s, oauth_result_t *res,
    char *err, size_t errlen);
static void oauth_session_free(oauth_session_t *s);
static int oauth_connect(db_conn_t *c, const oauth_session_t *s,
    const char *code, oauth_result_t *res, char *err, size_t errlen);
static int oauth_exchange(db_conn_t *c, const oauth_session_t *s,
    const oauth_prov_t *p, const char *code, oauth_result_t *res,
    char *err, size_t errlen);
static int oauth_identity(const oauth_prov_t *p, const prov_tokens_t *tok,
    oauth_result_t *res);
static int oauth_store(db_conn_t *c, const oauth_session_t *s,
    const prov_tokens_t *tok, oauth_result_t *res, char *err,
    size_t errlen);
static void oauth_record_error(db_conn_t *c, const char *tenant,
    const char *integration, const char *message, const char *status);
static int oauth_fresh(int64_t expires_ms, const char *token,
    const char *stale);
static int oauth_refresh(db_conn_t *c, const char *tenant,
    const char *integration, const char *provider, const char *stale,
    char **token, char *err, size_t errlen);
static int oauth_refresh_call(db_conn_t *c, const char *tenant,
    const char *integration, const char *provider, const char *refresh,
    char **token, char *err, size_t errlen);
static int oauth_reconnect_mark(db_conn_t *c, const char *tenant,
    const char *integration, const char *why, char *err, size_t errlen);
static int oauth_accept_q(const char *p, const char *end);


/* the conf and ops of provider: 0, or OAUTH_NOT_CONFIGURED */
static int
oauth_prov_get(const char *provider, oauth_prov_t *p)
{
    p->ops = provider_ops(provider);
    p->sc = sync_conf_get();
    p->pc = p->sc ? sync_conf_provider(p->sc, provider) : NULL;

    if (p->ops == NULL || p->ops->authorize_url == NULL
        || p->ops->token_request == NULL || p->pc == NULL
        || p->pc->client_id == NULL || p->pc->client_id[0] == '\0')
    {
        oauth_prov_put(p);
        return OAUTH_NOT_CONFIGURED;
    }

    return 0;
}


static void
oauth_prov_put(oauth_prov_t *p)
{
    if (p->sc) {
        sync_conf_put(p->sc);
    }

    p->sc = NULL;
    p->pc = NULL;
}


int
oauth_supported(const char *provider)
{
    const provider_ops_t  *ops;

    ops = provider_ops(provider);

    return ops != NULL && ops->authorize_url != NULL
           && ops->token_request != NULL && ops->token_parse != NULL;
}


int
oauth_configured(const char *provider)
{
    oauth_prov_t  p;

    if (oauth_prov_get(provider, &p) != 0) {
        return 0;
    }

    oauth_prov_put(&p);

    return 1;
}


/* base64url without padding (RFC 4648 §5); out holds 4 * ceil(n/3) + 1 */
static void
oauth_b64url(const unsigned char *in, size_t n, char *out)
{
    int  len, i;

    len = EVP_EncodeBlock((unsigned char *) out, in, (int) n);

    while (len > 0 && out[len - 1] == '=') {
        len--;
    }

    out[len] = '\0';

    for (i = 0; i < len; i++) {
        if (out[i] == '+') {
            out[i] = '-';

        } else if (out[i] == '/') {
            out[i] = '_';
        }
    }
}


/* seals token as purpose and upserts its live row; expires_ms -1: none */
static int
oauth_seal_put(db_conn_t *c, const char *tenant, const char *integration,
    const char *purpose, const char *token, int64_t expires_ms, char *err,
    size_t errlen)
{
    char            vers[16], exp[CLOCK_ISO_LEN];
    size_t          bloblen;
    uint32_t        ver;
    PGresult       *res;
    const char     *v[5];
    unsigned char  *blob;
    int             lens[5], fmts[5];

    if (keyring_seal(c, tenant, integration, purpose,
                     (const unsigned char *) token, strlen(token), &blob,
                     &bloblen, &ver, err, errlen)
        != 0)
    {
        return -1;
    }

    snprintf(vers, sizeof(vers), "%u", ver);

    if (expires_ms >= 0) {
        clock_iso(expires_ms, exp);
    }

    v[0] = integration;
    v[1] = purpose;
    v[2] = (const char *) blob;
    v[3] = vers;
    v[4] = expires_ms >= 0 ? exp : NULL;
    memset(lens, 0, sizeof(lens));
    memset(fmts, 0, sizeof(fmts));
    lens[2] = (int) bloblen;
    fmts[2] = 1;

    res = db_execb(c, DB_S_OAUTH_CRED_PUT, 5, v, lens, fmts, err, errlen);
    free(blob);

    if (res == NULL) {
        return -1;
    }

    PQclear(res);

    return 0;
}


/* opens a sealed blob into a malloc'ed NUL-terminated string */
static int
oauth_open(db_conn_t *c, const char *tenant, const char *integration,
    const char *purpose, const unsigned char *blob, size_t bloblen,
    char **out, char *err, size_t errlen)
{
    char    *buf;
    size_t   len;

    *out = NULL;

    buf = malloc(bloblen + 1);
    if (buf == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    if (keyring_open(c, tenant, integration, purpose, OAUTH_ACTOR, NULL,
                     blob, bloblen, (unsigned char *) buf, bloblen, &len,
                     err, errlen)
        != 0)
    {
        OPENSSL_cleanse(buf, bloblen + 1);
        free(buf);
        return -1;
    }

    buf[len] = '\0';
    *out = buf;

    return 0;
}


/*
 * The live credential of purpose, opened: 0 with *out (and *expires_ms,
 * -1 when it never expires), 1 when there is none, -1 on failure.
 */
static int
oauth_cred(db_conn_t *c, const char *tenant, const char *integration,
    const char *purpose, char **out, int64_t *expires_ms, char *err,
    size_t errlen)
{
    int             rc;
    size_t          bloblen;
    PGresult       *res;
    const char     *v[2];
    unsigned char  *blob;

    *out = NULL;
    v[0] = integration;
    v[1] = purpose;

    res = db_exec(c, DB_S_OAUTH_CRED_GET, 2, v, err, errlen);
    if (res == NULL) {
        return -1;
    }

    if (PQntuples(res) == 0) {
        PQclear(res);
        return 1;
    }

    if (expires_ms) {
        *expires_ms = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    }

    blob = PQunescapeBytea((const unsigned char *) PQgetvalue(res, 0, 0),
                           &bloblen);
    PQclear(res);

    if (blob == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    rc = oauth_open(c, tenant, integration, purpose, blob, bloblen, out, err,
                    errlen);
    PQfreemem(blob);

    return rc;
}


/* an audit_log row in c's tenant transaction (details stolen) */
static int
oauth_audit(db_conn_t *c, const char *actor, const char *action,
    const char *integration, const char *request_id, json_t *details,
    char *err, size_t errlen)
{
    char        target[96], *d;
    PGresult   *res;
    const char *v[5];

    d = details ? json_dumps(details, JSON_COMPACT) : NULL;
    json_decref(details);
    snprintf(target, sizeof(target), "integration:%s", integration);

    v[0] = actor ? actor : OAUTH_ACTOR;
    v[1] = action;
    v[2] = target;
    v[3] = request_id;
    v[4] = d ? d : "{}";

    res = db_exec(c, DB_S_AUDIT_INSERT, 5, v, err, errlen);
    free(d);

    if (res == NULL) {
        return -1;
    }

    PQclear(res);

    return 0;
}


static void
oauth_fail(oauth_result_t *res, int status, const char *code,
    const char *fmt, ...)
{
    va_list  ap;

    res->status = status;
    snprintf(res->code, sizeof(res->code), "%s", code);

    va_start(ap, fmt);
    vsnprintf(res->message, sizeof(res->message), fmt, ap);
    va_end(ap);
}


int
oauth_begin(db_conn_t *c, const char *tenant, const char *integration,
    const char *provider, char **url, char *err, size_t errlen)
{
    int             rc;
    char            state[OAUTH_STATE_LEN], verifier[64], challenge[48];
    char            vers[16], now_iso[CLOCK_ISO_LEN], exp[CLOCK_ISO_LEN];
    size_t          bloblen;
    int64_t         now;
    uint32_t        ver;
    PGresult       *res;
    const char     *v[6];
    oauth_prov_t    p;
    unsigned char   raw[OAUTH_STATE_RAW], hash[SHA256_DIGEST_LENGTH];
    unsigned char  *blob;
    int             lens[6], fmts[6];

    *url = NULL;

    if (oauth_prov_get(provider, &p) != 0) {
        snprintf(err, errlen, "%s: no OAuth client configured", provider);
        return OAUTH_NOT_CONFIGURED;
    }

    if (p.sc->redirect_uri == NULL || p.sc->redirect_uri[0] == '\0') {
        oauth_prov_put(&p);
        snprintf(err, errlen, "no OAuth redirect URI configured"
                 " (oauth_redirect_uri or public_base_url)");
        return OAUTH_NOT_CONFIGURED;
    }

    rc = -1;
    blob = NULL;

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        snprintf(err, errlen, "no random bytes for the state");
        goto done;
    }

    oauth_b64url(raw, sizeof(raw), state);
    SHA256((const unsigned char *) state, strlen(state), hash);

    if (prov_pkce_verifier(verifier, err, errlen) != 0) {
        goto done;
    }

    if (keyring_seal(c, tenant, integration, "pkce_verifier",
                     (const unsigned char *) verifier, strlen(verifier),
                     &blob, &bloblen, &ver, err, errlen)
        != 0)
    {
        goto done;
    }

    now = clock_now_ms();
    clock_iso(now, now_iso);
    clock_iso(now + OAUTH_STATE_TTL_MS, exp);

    /* only the newest authorize URL of an integration can complete */
    v[0] = integration;
    v[1] = now_iso;
    res = db_exec(c, DB_S_OAUTH_SESSION_RETIRE, 2, v, err, errlen);
    if (res == NULL) {
        goto done;
    }
    PQclear(res);

    snprintf(vers, sizeof(vers), "%u", ver);
    v[0] = integration;
    v[1] = (const char *) hash;
    v[2] = (const char *) blob;
    v[3] = vers;
    v[4] = p.sc->redirect_uri;
    v[5] = exp;
    memset(lens, 0, sizeof(lens));
    memset(fmts, 0, sizeof(fmts));
    lens[1] = (int) sizeof(hash);
    lens[2] = (int) bloblen;
    fmts[1] = fmts[2] = 1;

    res = db_execb(c, DB_S_OAUTH_SESSION_INSERT, 6, v, lens, fmts, err,
                   errlen);
    if (res == NULL) {
        goto done;
    }
    PQclear(res);

    if (p.ops->pkce) {
        prov_pkce_challenge(verifier, challenge);
    }

    if (p.ops->authorize_url(p.pc, p.sc->redirect_uri, state,
                             p.ops->pkce ? challenge : NULL, url, err,
                             errlen)
        != 0)
    {
        *url = NULL;
        goto done;
    }

    rc = 0;

done:

    free(blob);
    OPENSSL_cleanse(raw, sizeof(raw));
    OPENSSL_cleanse(state, sizeof(state));
    OPENSSL_cleanse(verifier, sizeof(verifier));
    oauth_prov_put(&p);

    return rc;
}


/*
 * Marks the state used (autocommit: it stays used whatever follows).
 * 0: s is filled and the connection may go on; 1: res says why not;
 * -1: database failure.
 */
static int
oauth_consume(db_conn_t *c, const char *state, const char *bound_slug,
    oauth_session_t *s, oauth_result_t *res, char *err, size_t errlen)
{
    char            now[CLOCK_ISO_LEN];
    PGresult       *r;
    const char     *v[2], *outcome;
    unsigned char   hash[SHA256_DIGEST_LENGTH];
    int             lens[2], fmts[2];

    memset(s, 0, sizeof(*s));

    if (state == NULL || state[0] == '\0' || strlen(state) > 512) {
        oauth_fail(res, 400, "invalid_state", "the state is missing or"
                   " malformed: start the connection again");
        return 1;
    }

    SHA256((const unsigned char *) state, strlen(state), hash);
    clock_iso(clock_now_ms(), now);

    v[0] = (const char *) hash;
    v[1] = now;
    lens[0] = (int) sizeof(hash);
    lens[1] = 0;
    fmts[0] = 1;
    fmts[1] = 0;

    r = db_execb(c, DB_S_OAUTH_SESSION_CONSUME, 2, v, lens, fmts, err,
                 errlen);
    if (r == NULL) {
        return -1;
    }

    if (PQntuples(r) != 1) {
        PQclear(r);
        snprintf(err, errlen, "oauth_session_consume: no outcome");
        return -1;
    }

    outcome = PQgetvalue(r, 0, 0);

    if (strcmp(outcome, "used") == 0) {
        PQclear(r);
        oauth_fail(res, 400, "state_used", "this authorization was already"
                   " used: start the connection again");
        return 1;
    }

    if (strcmp(outcome, "ok") != 0 && strcmp(outcome, "expired") != 0) {
        PQclear(r);
        oauth_fail(res, 400, "invalid_state", "the state is unknown: start"
                   " the connection again");
        return 1;
    }

    snprintf(res->tenant_slug, sizeof(res->tenant_slug), "%s",
             PQgetvalue(r, 0, 2));
    snprintf(res->integration, sizeof(res->integration), "%s",
             PQgetvalue(r, 0, 3));

    if (bound_slug != NULL && bound_slug[0] != '\0'
        && strcmp(bound_slug, res->tenant_slug) != 0)
    {
        PQclear(r);
        res->integration[0] = '\0';
        res->tenant_slug[0] = '\0';
        oauth_fail(res, 400, "invalid_state", "the state belongs to another"
                   " tenant");
        return 1;
    }

    if (strcmp(outcome, "expired") == 0) {
        PQclear(r);
        oauth_fail(res, 400, "state_expired", "the authorization took longer"
                   " than 10 minutes: start the connection again");
        return 1;
    }

    snprintf(s->tenant, sizeof(s->tenant), "%s", PQgetvalue(r, 0, 1));
    snprintf(s->provider, sizeof(s->provider), "%s", PQgetvalue(r, 0, 4));
    s->sealed = PQunescapeBytea((const unsigned char *) PQgetvalue(r, 0, 5),
                                &s->sealed_len);
    s->redirect_uri = strdup(PQgetvalue(r, 0, 6));
    PQclear(r);

    if (s->sealed == NULL || s->redirect_uri == NULL) {
        oauth_session_free(s);
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    return 0;
}


static void
oauth_session_free(oauth_session_t *s)
{
    if (s->sealed) {
        PQfreemem(s->sealed);
    }

    free(s->redirect_uri);
    s->sealed = NULL;
    s->redirect_uri = NULL;
}


int
oauth_complete(db_conn_t *c, const char *state, const char *code,
    const char *bound_slug, oauth_result_t *res, char *err, size_t errlen)
{
    int              rc;
    oauth_session_t  s;

    memset(res, 0, sizeof(*res));

    rc = oauth_consume(c, state, bound_slug, &s, res, err, errlen);
    if (rc != 0) {
        return rc < 0 ? -1 : 0;
    }

    if (code == NULL || code[0] == '\0' || strlen(code) > 4096) {
        oauth_fail(res, 400, "invalid_request", "the provider sent no"
                   " authorization code");
        rc = 0;

    } else {
        rc = oauth_connect(c, &s, code, res, err, errlen);
    }

    if (rc == 0 && res->status >= 400 && res->integration[0]) {
        oauth_record_error(c, s.tenant, res->integration, res->message,
                           NULL);
    }

    oauth_session_free(&s);

    return rc;
}


int
oauth_deny(db_conn_t *c, const char *state, const char *bound_slug,
    const char *provider_error, oauth_result_t *res, char *err,
    size_t errlen)
{
    int              rc;
    oauth_session_t  s;

    memset(res, 0, sizeof(*res));

    rc = oauth_consume(c, state, bound_slug, &s, res, err, errlen);
    if (rc != 0) {
        return rc < 0 ? -1 : 0;
    }

    oauth_session_free(&s);

    snprintf(res->provider_code, sizeof(res->provider_code), "%s",
             provider_error);

    if (strcmp(provider_error, "access_denied") == 0) {
        oauth_fail(res, 400, "access_denied", "the connection was not"
                   " allowed at the provider: nothing was stored");

    } else {
        oauth_fail(res, 400, "provider_error", "the provider ended the"
                   " authorization with an error: nothing was stored");
    }

    return 0;
}


/*
 * The tenant's transaction of a callback: 0 with res (a failure is in
 * res and rolled back), -1 on a database failure.
 */
static int
oauth_connect(db_conn_t *c, const oauth_session_t *s, const char *code,
    oauth_result_t *res, char *err, size_t errlen)
{
    int           rc;
    PGresult     *r;
    const char   *v[1];
    oauth_prov_t  p;

    rc = db_begin_tenant_id(c, s->tenant, err, errlen);
    if (rc != 0) {
        if (rc > 0) {
            oauth_fail(res, 400, "invalid_state", "the tenant is gone");
            return 0;
        }
        return -1;
    }

    v[0] = res->integration;
    r = db_exec(c, DB_S_OAUTH_INT_LOCK, 1, v, err, errlen);
    if (r == NULL) {
        db_rollback(c);
        return -1;
    }

    if (PQntuples(r) != 1 || strcmp(PQgetvalue(r, 0, 1), "oauth") != 0
        || strcmp(PQgetvalue(r, 0, 0), s->provider) != 0)
    {
        PQclear(r);
        db_rollback(c);
        res->integration[0] = '\0';
        oauth_fail(res, 400, "invalid_state", "the integration is gone");
        return 0;
    }

    PQclear(r);

    if (oauth_prov_get(s->provider, &p) != 0) {
        db_rollback(c);
        oauth_fail(res, 409, "provider_not_configured", "%s has no OAuth"
                   " client configured", s->provider);
        return 0;
    }

    rc = oauth_exchange(c, s, &p, code, res, err, errlen);
    oauth_prov_put(&p);

    if (rc != 0 || res->status >= 400) {
        db_rollback(c);
        return rc;
    }

    if (db_commit(c, err, errlen) != 0) {
        return -1;
    }

    atomic_fetch_add(&oauth_n_connects, 1);
    log_event(LOG_INFO, "oauth", "msg", "integration connected",
              "integration", res->integration, "provider", s->provider,
              NULL);

    return 0;
}


/* inside the tenant transaction: verifier, code exchange, identity, store */
static int
oauth_exchange(db_conn_t *c, const oauth_session_t *s, const oauth_prov_t *p,
    const char *code, oauth_result_t *res, char *err, size_t errlen)
{
    int            rc;
    char          *verifier, perr_buf[256];
    http_req_t     req;
    http_resp_t    resp;
    prov_error_t   perr;
    prov_tokens_t  tok;

    if (oauth_open(c, s->tenant, res->integration, "pkce_verifier",
                   s->sealed, s->sealed_len, &verifier, err, errlen)
        != 0)
    {
        return -1;
    }

    memset(&tok, 0, sizeof(tok));
    memset(&resp, 0, sizeof(resp));
    memset(&perr, 0, sizeof(perr));
    http_req_init(&req, "POST");

    rc = p->ops->token_request(p->pc, "authorization_code", code,
                               p->ops->pkce ? verifier : NULL,
                               s->redirect_uri, &req, perr_buf,
                               sizeof(perr_buf));
    OPENSSL_cleanse(verifier, strlen(verifier));
    free(verifier);

    if (rc != 0) {
        http_req_free(&req);
        oauth_fail(res, 500, "internal", "cannot build the token request");
        log_event(LOG_ERROR, "oauth", "msg", perr_buf, NULL);
        return 0;
    }

    rc = http_send(&req, &resp, perr_buf, sizeof(perr_buf));
    http_req_free(&req);

    if (rc != 0) {
        oauth_fail(res, 502, "provider_unavailable", "the provider did not"
                   " answer the token exchange: try again");
        log_event(LOG_WARN, "oauth", "msg", "token exchange failed",
                  "reason", perr_buf, NULL);
        return 0;
    }

    if (p->ops->token_parse(&resp, &tok, &perr, perr_buf, sizeof(perr_buf))
        != 0)
    {
        snprintf(res->provider_code, sizeof(res->provider_code), "%s",
                 perr.code[0] ? perr.code : "unknown");

        if (resp.status >= 500 || resp.status == 429) {
            oauth_fail(res, 502, "provider_unavailable", "the provider"
                       " failed the token exchange (HTTP %ld): try again",
                       resp.status);
        } else {
            oauth_fail(res, 502, "provider_error", "the provider refused"
                       " the authorization code (%s)", res->provider_code);
        }

        http_resp_free(&resp);
        prov_tokens_free(&tok);
        return 0;
    }

    http_resp_free(&resp);

    rc = oauth_identity(p, &tok, res);
    if (rc == 0) {
        rc = oauth_store(c, s, &tok, res, err, errlen);
    } else {
        rc = 0;
    }

    prov_tokens_free(&tok);

    return rc;
}


/* the account behind the new tokens into res: 0, or -1 with res failed */
static int
oauth_identity(const oauth_prov_t *p, const prov_tokens_t *tok,
    oauth_result_t *res)
{
    int              rc;
    char             why[256];
    http_req_t       req;
    http_resp_t      resp;
    prov_auth_t      auth;
    prov_error_t     perr;
    prov_identity_t  id;

    if (p->ops->identity_request == NULL || p->ops->identity_parse == NULL) {
        if (tok->account_id == NULL || tok->account_id[0] == '\0') {
            oauth_fail(res, 502, "provider_error", "the provider's token"
                       " answer names no account");
            return -1;
        }

        snprintf(res->account_id, sizeof(res->account_id), "%s",
                 tok->account_id);
        return 0;
    }

    auth.access_token = tok->access_token;
    auth.account_id = tok->account_id;
    memset(&resp, 0, sizeof(resp));
    memset(&id, 0, sizeof(id));
    http_req_init(&req, "GET");

    if (p->ops->identity_request(p->pc, &auth, &req, why, sizeof(why)) != 0)
    {
        http_req_free(&req);
        oauth_fail(res, 500, "internal", "cannot build the identity request");
        return -1;
    }

    rc = http_send(&req, &resp, why, sizeof(why));
    http_req_free(&req);

    if (rc != 0) {
        oauth_fail(res, 502, "provider_unavailable", "the provider did not"
                   " answer the identity request: try again");
        return -1;
    }

    if (resp.status < 200 || resp.status > 299) {
        memset(&perr, 0, sizeof(perr));
        if (p->ops->error_parse) {
            p->ops->error_parse(&resp, &perr);
        }
        snprintf(res->provider_code, sizeof(res->provider_code), "%s",
                 perr.code[0] ? perr.code : "unknown");
        oauth_fail(res, 502, "provider_error", "the provider refused the"
                   " identity request (HTTP %ld, %s)", resp.status,
                   res->provider_code);
        http_resp_free(&resp);
        return -1;
    }

    rc = p->ops->identity_parse(&resp, &id, why, sizeof(why));
    http_resp_free(&resp);

    if (rc != 0 || id.account_id[0] == '\0') {
        oauth_fail(res, 502, "provider_error", "the provider's identity"
                   " answer is malformed");
        return -1;
    }

    snprintf(res->account_id, sizeof(res->account_id), "%s", id.account_id);
    snprintf(res->display_name, sizeof(res->display_name), "%s",
             id.display_name);

    return 0;
}


/* the tokens sealed, the integration active, the audit row */
static int
oauth_store(db_conn_t *c, const oauth_session_t *s, const prov_tokens_t *tok,
    oauth_result_t *res, char *err, size_t errlen)
{
    int64_t      exp;
    PGresult    *r;
    const char  *v[3];

    if (tok->access_token == NULL || tok->access_token[0] == '\0'
        || strlen(tok->access_token) > OAUTH_TOKEN_MAX)
    {
        oauth_fail(res, 502, "provider_error", "the provider's token answer"
                   " has no access token");
        return 0;
    }

    exp = tok->expires_in >= 0 ? clock_now_ms() + tok->expires_in * 1000
                               : -1;

    /* the refresh lock first, as a refresh takes it: no lock-order cycle */
    v[0] = res->integration;
    r = db_exec(c, DB_S_OAUTH_REFRESH_LOCK, 1, v, err, errlen);
    if (r == NULL) {
        return -1;
    }
    PQclear(r);

    if (oauth_seal_put(c, s->tenant, res->integration, "access_token",
                       tok->access_token, exp, err, errlen)
        != 0)
    {
        return -1;
    }

    if (tok->refresh_token != NULL && tok->refresh_token[0] != '\0') {
        if (oauth_seal_put(c, s->tenant, res->integration, "refresh_token",
                           tok->refresh_token, -1, err, errlen)
            != 0)
        {
            return -1;
        }

    } else {
        v[0] = res->integration;
        v[1] = "refresh_token";
        r = db_exec(c, DB_S_OAUTH_CRED_DROP, 2, v, err, errlen);
        if (r == NULL) {
            return -1;
        }
        PQclear(r);
    }

    v[0] = res->integration;
    v[1] = res->account_id;
    v[2] = res->display_name;
    r = db_exec(c, DB_S_OAUTH_ACTIVATE, 3, v, err, errlen);
    if (r == NULL) {
        return -1;
    }
    PQclear(r);

    if (oauth_audit(c, NULL, "integration.connect", res->integration, NULL,
                    json_pack("{s:s,s:s}", "provider", s->provider,
                              "account_id", res->account_id),
                    err, errlen)
        != 0)
    {
        return -1;
    }

    res->status = 200;

    return 0;
}


/* last_error (and status when not NULL) in a small transaction of its own */
static void
oauth_record_error(db_conn_t *c, const char *tenant, const char *integration,
    const char *message, const char *status)
{
    char         err[512];
    PGresult    *r;
    const char  *v[3];

    if (db_begin_tenant_id(c, tenant, err, sizeof(err)) != 0) {
        return;
    }

    v[0] = integration;
    v[1] = message;
    v[2] = status;
    r = db_exec(c, DB_S_OAUTH_INT_ERROR, 3, v, err, sizeof(err));

    if (r == NULL) {
        db_rollback(c);
        log_event(LOG_ERROR, "database", "msg", err, NULL);
        return;
    }

    PQclear(r);

    if (db_commit(c, err, sizeof(err)) != 0) {
        log_event(LOG_ERROR, "database", "msg", err, NULL);
    }
}


/* usable: no expiry or beyond the margin, and not the token that failed */
static int
oauth_fresh(int64_t expires_ms, const char *token, const char *stale)
{
    int64_t       margin;
    sync_conf_t  *sc;

    if (stale != NULL && strcmp(token, stale) == 0) {
        return 0;
    }

    if (expires_ms < 0) {
        return 1;
    }

    sc = sync_conf_get();
    margin = sc ? sc->token_refresh_margin_ms : 3600 * 1000;
    if (sc) {
        sync_conf_put(sc);
    }

    return expires_ms > clock_now_ms() + margin;
}


int
oauth_access_token(db_conn_t *c, const char *tenant, const char *integration,
    const char *stale, char **token, char *err, size_t errlen)
{
    int          rc;
    char        *tok, provider[64];
    int64_t      exp;
    PGresult    *r;
    const char  *v[1];

    *token = NULL;

    rc = db_begin_tenant_id(c, tenant, err, errlen);
    if (rc != 0) {
        if (rc > 0) {
            snprintf(err, errlen, "no tenant %s", tenant);
        }
        return -1;
    }

    v[0] = integration;
    r = db_exec(c, DB_S_OAUTH_INT_GET, 1, v, err, errlen);
    if (r == NULL) {
        db_rollback(c);
        return -1;
    }

    if (PQntuples(r) != 1) {
        PQclear(r);
        db_rollback(c);
        snprintf(err, errlen, "no integration %s", integration);
        return -1;
    }

    snprintf(provider, sizeof(provider), "%s", PQgetvalue(r, 0, 0));

    if (strcmp(PQgetvalue(r, 0, 1), "api_key") == 0) {
        PQclear(r);
        rc = oauth_cred(c, tenant, integration, "api_key", &tok, NULL, err,
                        errlen);
        goto fast;
    }

    if (strcmp(PQgetvalue(r, 0, 2), "needs_reconnect") == 0) {
        PQclear(r);
        db_rollback(c);
        snprintf(err, errlen, "the integration needs to be reconnected");
        return OAUTH_RECONNECT;
    }

    PQclear(r);

    rc = oauth_cred(c, tenant, integration, "access_token", &tok, &exp, err,
                    errlen);

    if (rc == 0 && !oauth_fresh(exp, tok, stale)) {
        oauth_token_free(tok);
        return oauth_refresh(c, tenant, integration, provider, stale, token,
                             err, errlen);
    }

fast:

    if (rc != 0) {
        db_rollback(c);
        if (rc > 0) {
            snprintf(err, errlen, "the integration has no credentials");
            return OAUTH_NOT_CONNECTED;
        }
        return -1;
    }

    /* the vault.decrypt audit row commits with the read */
    if (db_commit(c, err, errlen) != 0) {
        oauth_token_free(tok);
        return -1;
    }

    *token = tok;

    return 0;
}


/*
 * In the transaction oauth_access_token opened: lock the refresh token,
 * re-read, and refresh only when nobody did meanwhile.  Ends the
 * transaction.
 */
static int
oauth_refresh(db_conn_t *c, const char *tenant, const char *integration,
    const char *provider, const char *stale, char **token, char *err,
    size_t errlen)
{
    int             rc;
    char           *tok, *refresh;
    size_t          bloblen;
    int64_t         exp;
    PGresult       *r;
    const char     *v[1];
    unsigned char  *blob;

    v[0] = integration;

    /* single flight: every caller and instance queues here */
    r = db_exec(c, DB_S_OAUTH_REFRESH_LOCK, 1, v, err, errlen);
    if (r == NULL) {
        db_rollback(c);
        return -1;
    }

    if (PQntuples(r) == 0) {
        PQclear(r);
        rc = oauth_reconnect_mark(c, tenant, integration, "the access token"
                                  " expired and the provider gave no refresh"
                                  " token", err, errlen);
        return rc == 0 ? OAUTH_RECONNECT : -1;
    }

    blob = PQunescapeBytea((const unsigned char *) PQgetvalue(r, 0, 0),
                           &bloblen);
    PQclear(r);

    if (blob == NULL) {
        db_rollback(c);
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    /* whoever held the lock before may have refreshed or failed */
    r = db_exec(c, DB_S_OAUTH_INT_GET, 1, v, err, errlen);
    if (r == NULL || PQntuples(r) != 1) {
        PQfreemem(blob);
        if (r) {
            PQclear(r);
            snprintf(err, errlen, "no integration %s", integration);
        }
        db_rollback(c);
        return -1;
    }

    if (strcmp(PQgetvalue(r, 0, 2), "needs_reconnect") == 0) {
        PQclear(r);
        PQfreemem(blob);
        db_rollback(c);
        snprintf(err, errlen, "the integration needs to be reconnected");
        return OAUTH_RECONNECT;
    }

    PQclear(r);

    rc = oauth_cred(c, tenant, integration, "access_token", &tok, &exp, err,
                    errlen);
    if (rc < 0) {
        PQfreemem(blob);
        db_rollback(c);
        return -1;
    }

    if (rc == 0 && oauth_fresh(exp, tok, stale)) {
        PQfreemem(blob);

        if (db_commit(c, err, errlen) != 0) {
            oauth_token_free(tok);
            return -1;
        }

        *token = tok;
        return 0;
    }

    oauth_token_free(tok);

    rc = oauth_open(c, tenant, integration, "refresh_token", blob, bloblen,
                    &refresh, err, errlen);
    PQfreemem(blob);

    if (rc != 0) {
        db_rollback(c);
        return -1;
    }

    rc = oauth_refresh_call(c, tenant, integration, provider, refresh, token,
                            err, errlen);
    oauth_token_free(refresh);

    return rc;
}


/* the refresh_token grant, holding the lock; ends the transaction */
static int
oauth_refresh_call(db_conn_t *c, const char *tenant, const char *integration,
    const char *provider, const char *refresh, char **token, char *err,
    size_t errlen)
{
    int            rc;
    char           why[256];
    int64_t        exp;
    http_req_t     req;
    http_resp_t    resp;
    oauth_prov_t   p;
    prov_error_t   perr;
    prov_tokens_t  tok;

    if (oauth_prov_get(provider, &p) != 0) {
        db_rollback(c);
        snprintf(err, errlen, "%s: no OAuth client configured", provider);
        return -1;
    }

    memset(&tok, 0, sizeof(tok));
    memset(&resp, 0, sizeof(resp));
    memset(&perr, 0, sizeof(perr));
    http_req_init(&req, "POST");

    rc = p.ops->token_request(p.pc, "refresh_token", refresh, NULL,
                              p.sc->redirect_uri, &req, err, errlen);
    if (rc == 0) {
        rc = http_send(&req, &resp, why, sizeof(why));
        if (rc != 0) {
            snprintf(err, errlen, "token refresh: %s", why);
            rc = OAUTH_TRANSIENT;
        }
    }

    http_req_free(&req);

    if (rc == 0 && p.ops->token_parse(&resp, &tok, &perr, why, sizeof(why))
                   != 0)
    {
        if (resp.status >= 500 || resp.status == 429 || resp.status == 0) {
            snprintf(err, errlen, "token refresh: HTTP %ld", resp.status);
            rc = OAUTH_TRANSIENT;

        } else if (strcmp(perr.code, "invalid_grant") == 0
                   || strcmp(perr.code, "invalid_client") == 0)
        {
            snprintf(err, errlen, "token refresh refused by %s: %s",
                     provider, perr.code);
            rc = OAUTH_RECONNECT;

        } else {
            snprintf(err, errlen, "token refresh refused by %s: HTTP %ld %s",
                     provider, resp.status,
                     perr.code[0] ? perr.code : "unknown");
            rc = -1;
        }
    }

    http_resp_free(&resp);
    oauth_prov_put(&p);

    if (rc == 0 && (tok.access_token == NULL || tok.access_token[0] == '\0'))
    {
        snprintf(err, errlen, "token refresh: no access token in the answer");
        rc = -1;
    }

    if (rc != 0) {
        prov_tokens_free(&tok);
        atomic_fetch_add(&oauth_n_refresh_failures, 1);

        if (rc == OAUTH_RECONNECT) {
            log_event(LOG_WARN, "oauth", "msg", err, "integration",
                      integration, NULL);
            return oauth_reconnect_mark(c, tenant, integration, err, why,
                                        sizeof(why)) == 0
                   ? OAUTH_RECONNECT : -1;
        }

        db_rollback(c);
        return rc;
    }

    exp = tok.expires_in >= 0 ? clock_now_ms() + tok.expires_in * 1000 : -1;

    if (oauth_seal_put(c, tenant, integration, "access_token",
                       tok.access_token, exp, err, errlen) != 0
        || (tok.refresh_token != NULL && tok.refresh_token[0] != '\0'
            && oauth_seal_put(c, tenant, integration, "refresh_token",
                              tok.refresh_token, -1, err, errlen) != 0))
    {
        prov_tokens_free(&tok);
        db_rollback(c);
        return -1;
    }

    if (db_commit(c, err, errlen) != 0) {
        prov_tokens_free(&tok);
        return -1;
    }

    atomic_fetch_add(&oauth_n_refreshes, 1);

    *token = strdup(tok.access_token);
    prov_tokens_free(&tok);

    if (*token == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    return 0;
}


/* needs_reconnect with why, committed; ends the transaction */
static int
oauth_reconnect_mark(db_conn_t *c, const char *tenant, const char *integration,
    const char *why, char *err, size_t errlen)
{
    PGresult    *r;
    const char  *v[3];

    v[0] = integration;
    v[1] = why;
    v[2] = "needs_reconnect";
    r = db_exec(c, DB_S_OAUTH_INT_ERROR, 3, v, err, errlen);

    if (r == NULL) {
        db_rollback(c);
        return -1;
    }

    PQclear(r);

    if (oauth_audit(c, NULL, "integration.needs_reconnect", integration, NULL,
                    json_pack("{s:s}", "reason", why), err, errlen)
        != 0)
    {
        db_rollback(c);
        return -1;
    }

    return db_commit(c, err, errlen);
}


void
oauth_token_free(char *token)
{
    if (token != NULL) {
        OPENSSL_cleanse(token, strlen(token));
        free(token);
    }
}


int
oauth_revoke(db_conn_t *c, const char *tenant, const char *integration,
    const char *actor, const char *request_id, char *err, size_t errlen)
{
    int            rc, ok;
    char          *access, *refresh, why[256];
    PGresult      *r;
    http_req_t     req;
    http_resp_t    resp;
    const char    *v[1];
    prov_auth_t    auth;
    oauth_prov_t   p;
    prov_error_t   perr;
    char           provider[64], account[128];

    v[0] = integration;
    r = db_exec(c, DB_S_OAUTH_INT_GET, 1, v, err, errlen);
    if (r == NULL) {
        return -1;
    }

    if (PQntuples(r) != 1 || strcmp(PQgetvalue(r, 0, 1), "oauth") != 0) {
        PQclear(r);
        return 0;
    }

    snprintf(provider, sizeof(provider), "%s", PQgetvalue(r, 0, 0));
    snprintf(account, sizeof(account), "%s", PQgetvalue(r, 0, 3));
    PQclear(r);

    if (oauth_prov_get(provider, &p) != 0) {
        return 0;
    }

    if (p.ops->revoke_request == NULL) {
        oauth_prov_put(&p);
        return 0;
    }

    access = refresh = NULL;

    if (oauth_cred(c, tenant, integration, "access_token", &access, NULL,
                   err, errlen) < 0
        || oauth_cred(c, tenant, integration, "refresh_token", &refresh,
                      NULL, err, errlen) < 0)
    {
        oauth_token_free(access);
        oauth_prov_put(&p);
        return -1;
    }

    if (access == NULL && refresh == NULL) {
        oauth_prov_put(&p);
        return 0;
    }

    auth.access_token = access;
    auth.account_id = account[0] ? account : NULL;
    memset(&resp, 0, sizeof(resp));
    memset(&perr, 0, sizeof(perr));
    http_req_init(&req, "POST");
    why[0] = '\0';
    ok = 0;

    rc = p.ops->revoke_request(p.pc, &auth, refresh, &req, why, sizeof(why));
    if (rc == 0) {
        rc = http_send(&req, &resp, why, sizeof(why));
    }

    http_req_free(&req);
    oauth_token_free(access);
    oauth_token_free(refresh);
    oauth_prov_put(&p);

    if (rc == 0 && resp.status >= 200 && resp.status <= 299) {
        ok = 1;

    } else if (rc == 0) {
        if (p.ops->error_parse) {
            p.ops->error_parse(&resp, &perr);
        }
        snprintf(why, sizeof(why), "HTTP %ld %s", resp.status,
                 perr.code[0] ? perr.code : "");
    }

    http_resp_free(&resp);

    if (ok) {
        atomic_fetch_add(&oauth_n_revocations, 1);
        log_event(LOG_INFO, "oauth", "msg", "tokens revoked", "integration",
                  integration, "provider", provider, NULL);

    } else {
        log_event(LOG_WARN, "oauth", "msg", "token revocation failed",
                  "integration", integration, "provider", provider,
                  "reason", why, NULL);
    }

    return oauth_audit(c, actor, ok ? "integration.revoke"
                                    : "integration.revoke_failed",
                       integration, request_id,
                       ok ? json_pack("{s:s}", "provider", provider)
                          : json_pack("{s:s,s:s}", "provider", provider,
                                      "reason", why),
                       err, errlen);
}


void
oauth_stats(oauth_stats_t *st)
{
    st->token_refreshes = atomic_load(&oauth_n_refreshes);
    st->refresh_failures = atomic_load(&oauth_n_refresh_failures);
    st->connects = atomic_load(&oauth_n_connects);
    st->revocations = atomic_load(&oauth_n_revocations);
}


/*
 * The q of one media range "type/sub;a=b;q=0.5" (p..end) in thousandths;
 * 1000 when absent, 0 when malformed.
 */
static int
oauth_accept_q(const char *p, const char *end)
{
    int  q, digits;

    while (p < end) {
        if (*p++ != ';') {
            continue;
        }

        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (end - p < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=') {
            continue;
        }

        p += 2;

        if (p < end && *p == '1') {
            return 1000;
        }

        if (p >= end || *p != '0') {
            return 0;
        }

        p++;
        q = 0;

        if (p < end && *p == '.') {
            p++;

            for (digits = 0; digits < 3; digits++) {
                q *= 10;
                if (p < end && *p >= '0' && *p <= '9') {
                    q += *p++ - '0';
                }
            }
        }

        return q;
    }

    return 1000;
}


int
oauth_accept_html(const char *accept)
{
    int          q, html, json;
    size_t       n;
    const char  *p, *end, *type;

    if (accept == NULL) {
        return 0;
    }

    html = 0;
    json = 0;
    p = accept;

    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }

        if (*p == '\0') {
            break;
        }

        type = p;
        end = strchr(p, ',');
        if (end == NULL) {
            end = p + strlen(p);
        }

        n = strcspn(type, ";, \t");
        if (type + n > end) {
            n = end - type;
        }

        q = oauth_accept_q(type + n, end);

        if ((n == 9 && strncasecmp(type, "text/html", 9) == 0)
            || (n == 6 && strncasecmp(type, "text/*", 6) == 0))
        {
            html = q > html ? q : html;

        } else if ((n == 16 && strncasecmp(type, "application/json", 16) == 0)
                   || (n == 13 && strncasecmp(type, "application/*", 13) == 0)
                   || (n == 3 && strncmp(type, "*/*", 3) == 0))
        {
            json = q > json ? q : json;
        }

        p = end;
    }

    /* a tie (curl sends any type) goes to JSON */
    return html > 0 && html > json;
}
