
/*
 * hubgated: OAuth connections (authorization code + state + PKCE S256),
 * the single-flight token refresh, and revocation (DESIGN §4).
 *
 * Every token lives sealed in credentials (vault, AD tenant|integration|
 * purpose); a state lives only as its SHA-256 hash in oauth_sessions, with
 * its PKCE verifier sealed (purpose "pkce_verifier").  Times come from
 * clock_now_ms, so the test clock moves state and token expiry.
 *
 * Refresh is single-flight across threads and hubgated instances: the
 * refresh_token row is locked FOR UPDATE while the token endpoint is
 * called, and whoever gets the lock next re-reads before calling again.
 * A rotated refresh token is stored in the same transaction.
 *
 * Return contract: 0, -1 with a one-line reason in err (never a token),
 * or one of the OAUTH_* codes below where a function says so.  Strings
 * handed out are malloc'ed and owned by the caller (oauth_token_free for
 * tokens: it wipes them).
 */

#ifndef OAUTH_H
#define OAUTH_H

#include <stddef.h>
#include <stdint.h>

#include "../store/db.h"


#define OAUTH_RECONNECT       1     /* the provider refused the grant */
#define OAUTH_TRANSIENT       2     /* network, 5xx, 429: nothing changed */
#define OAUTH_NOT_CONFIGURED  3     /* no client id for the provider */
#define OAUTH_NOT_CONNECTED   4     /* no token stored (yet) */

#define OAUTH_STATE_TTL_MS    (10 * 60 * 1000)


/* what a callback ended with; filled by oauth_complete */
typedef struct {
    int          status;            /* HTTP status to answer: 200, 4xx, 5xx */
    char         code[64];          /* "" on success; invalid_state, ... */
    char         message[256];      /* printable, no secret */
    char         provider_code[64]; /* the provider's error code, or "" */
    char         tenant_slug[64];   /* known once the state matched */
    char         integration[DB_UUID_LEN + 1];
    char         account_id[128];
    char         display_name[256];
} oauth_result_t;

typedef struct {
    uint64_t     token_refreshes;   /* successful refresh calls */
    uint64_t     refresh_failures;  /* refused or failed refresh calls */
    uint64_t     connects;          /* completed callbacks */
    uint64_t     revocations;       /* revoke calls the provider accepted */
} oauth_stats_t;


/* 1 when the provider has OAuth ops (provider_ops.h), else 0 */
int oauth_supported(const char *provider);

/* 1 when the provider has OAuth ops and a configured client id */
int oauth_configured(const char *provider);

/*
 * Starts a connection inside the caller's tenant transaction on c (tenant
 * is its uuid): a new state and PKCE verifier, the session row (10 min)
 * and *url, the provider's authorize URL (malloc'ed).  Earlier unused
 * sessions of the integration are retired.  Returns 0,
 * OAUTH_NOT_CONFIGURED, or -1.
 */
int oauth_begin(db_conn_t *c, const char *tenant, const char *integration,
    const char *provider, char **url, char *err, size_t errlen);

/*
 * The callback, on a connection outside any transaction: consumes state
 * (committed at once: single use, even when what follows fails), then in
 * the tenant's transaction exchanges code, fetches the identity, stores
 * the tokens and activates the integration; any failure there rolls that
 * back and records last_error on the integration.  bound_slug (or NULL):
 * the tenant the request was signed for, which the state must match.
 * Returns 0 with res filled (res->status tells success or not), or -1 on
 * a database failure (err).
 */
int oauth_complete(db_conn_t *c, const char *state, const char *code,
    const char *bound_slug, oauth_result_t *res, char *err, size_t errlen);

/*
 * The same state consumed for a provider's ?error= answer (denied
 * consent): nothing else is stored.  res as for oauth_complete.
 */
int oauth_deny(db_conn_t *c, const char *state, const char *bound_slug,
    const char *provider_error, oauth_result_t *res, char *err,
    size_t errlen);

/*
 * The access token of an integration (the API key for API-key ones), on
 * a connection outside any transaction; refreshed first when it expires
 * within token_refresh_margin, or when it equals stale (a token a caller
 * just got a 401 with; may be NULL).  Returns 0 with *token set,
 * OAUTH_RECONNECT (the integration is now needs_reconnect),
 * OAUTH_TRANSIENT, OAUTH_NOT_CONNECTED or -1.
 */
int oauth_access_token(db_conn_t *c, const char *tenant,
    const char *integration, const char *stale, char **token, char *err,
    size_t errlen);

/* wipes and frees a token from oauth_access_token (NULL is fine) */
void oauth_token_free(char *token);

/*
 * Best-effort revocation at the provider before an integration is
 * deleted, inside the caller's tenant transaction on c: a failure is
 * logged and audited (actor, request_id) and still returns 0; -1 only
 * when the database failed (err).
 */
int oauth_revoke(db_conn_t *c, const char *tenant, const char *integration,
    const char *actor, const char *request_id, char *err, size_t errlen);

/* counters for /metrics */
void oauth_stats(oauth_stats_t *st);

/* 1 when an Accept header prefers text/html over JSON (pure) */
int oauth_accept_html(const char *accept);


#endif /* OAUTH_H */
