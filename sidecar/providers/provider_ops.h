
/*
 * hubgated: what a provider does for OAuth and sync (DESIGN §4, Providers).
 *
 * One C file per provider (allegro.c, stripe.c, ...) fills one
 * provider_ops_t.  The functions are pure: they build requests (http_req_t)
 * and parse answers (http_resp_t) into canonical JSON, with no I/O, no
 * database, no clock of their own and no global mutable state, so they are
 * unit-tested and fuzzed without a network.  The sync engine (sync/) and
 * the OAuth flow (sync/oauth.c) do the calls, the retries, the limits and
 * the storage.
 *
 * Canonical records (what page_parse and record_parse put in
 * prov_page_t.records), one JSON object each, "type" first:
 *
 *   {"type": "order", "external_id": "...", "status": "pending" | "paid" |
 *    "cancelled" | "refunded" | "partially_refunded",
 *    "currency": "PLN", "total_minor": 12345 (integer, ISO 4217 exponent),
 *    "ordered_at": "2026-01-02T03:04:05.000Z", "external_updated_at": ...,
 *    "customer": <customer without "type"> or null,
 *    "lines": [{"product": <product without "type"> or null,
 *               "description": "...", "quantity": "2" (decimal text),
 *               "unit_price": "12.34" (decimal text, gross as the provider
 *               shows it), "vat_rate": "23" (decimal text) or null,
 *               "total_minor": 2468}],
 *    "raw": <the provider's record, untouched>}
 *   {"type": "customer", "external_id", "name", "email", "tax_id",
 *    "country" ("PL" or null), "address": {"street", "city",
 *    "postal_code", "country"} (keys absent when unknown), "raw"}
 *   {"type": "product", "external_id", "sku" or null, "name",
 *    "unit_price": "12.34" or null, "currency" or null,
 *    "vat_rate": "23" or null, "raw"}
 *
 * Money is never a double: decimal text or integer minor units.
 *
 * Return contract: int functions return 0, or -1 with a one-line reason
 * in err (never a token or a secret).  Outputs are owned by the caller:
 * http_req_free, prov_page_free, prov_tokens_free.
 */

#ifndef PROVIDER_OPS_H
#define PROVIDER_OPS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../net/http.h"


/* from hubgated.conf, per provider; borrowed for the call */
typedef struct {
    const char  *api_url;           /* allegro_api_url, stripe_api_url */
    const char  *auth_url;          /* allegro_auth_url, stripe_connect_url */
    const char  *client_id;         /* "" when not configured */
    const char  *client_secret;     /* read from its file; NULL if none */
    int          page_size;         /* sync_page_size */
} prov_conf_t;

/* what a call is authorized with */
typedef struct {
    const char  *access_token;      /* OAuth access token, or the API key */
    const char  *account_id;        /* provider account (Stripe acct_...),
                                       may be NULL */
} prov_auth_t;

/* a token endpoint's answer (authorization_code or refresh_token grant) */
typedef struct {
    char        *access_token;
    char        *refresh_token;     /* NULL when none was given */
    int64_t      expires_in;        /* seconds; -1 when it never expires */
    char        *scope;             /* may be NULL */
    char        *account_id;        /* when the answer names the account
                                       (Stripe stripe_user_id), else NULL */
} prov_tokens_t;

/* a provider's error, from its error body */
typedef struct {
    char         code[64];          /* "invalid_grant", "rate_limit", ... */
    char         message[256];      /* printable, bounded, no secrets */
} prov_error_t;

typedef struct {
    char         account_id[128];
    char         display_name[256];
} prov_identity_t;

/* which page to ask for */
typedef struct {
    const char  *stream;            /* one of ops->streams */
    const char  *cursor;            /* the committed cursor, NULL at start */
    const char  *since;             /* incremental: ISO time of the last
                                       successful sync, or NULL (full) */
} prov_ask_t;

typedef struct {
    json_t      *records;           /* array of canonical records */
    json_t      *refetch;           /* array of {"stream", "id"} to fetch
                                       one by one (record_request), or NULL */
    char        *next_cursor;       /* to commit with this page; NULL: the
                                       stream is finished for this run */
    char        *final_cursor;      /* when next_cursor is NULL: the cursor
                                       the next run starts from (e.g. the
                                       newest event id), or NULL */
    int64_t      total;             /* records in this run, -1 unknown */
} prov_page_t;


typedef struct {
    const char          *name;      /* "allegro": as in providers.c */
    int                  pkce;      /* authorize sends an S256 challenge */
    const char *const   *streams;   /* NULL-terminated, in sync order */

    /* OAuth (NULL when the provider has none) */
    int  (*authorize_url)(const prov_conf_t *pc, const char *redirect_uri,
             const char *state, const char *code_challenge, char **url,
             char *err, size_t errlen);
    /* grant: "authorization_code" (value = code, verifier may be NULL) or
     * "refresh_token" (value = the refresh token) */
    int  (*token_request)(const prov_conf_t *pc, const char *grant,
             const char *value, const char *verifier,
             const char *redirect_uri, http_req_t *req, char *err,
             size_t errlen);
    /* 2xx: fills tokens; 4xx: fills perr (invalid_grant, ...), returns -1 */
    int  (*token_parse)(const http_resp_t *resp, prov_tokens_t *tokens,
             prov_error_t *perr, char *err, size_t errlen);
    /* NULL: the token answer names the account */
    int  (*identity_request)(const prov_conf_t *pc, const prov_auth_t *auth,
             http_req_t *req, char *err, size_t errlen);
    int  (*identity_parse)(const http_resp_t *resp, prov_identity_t *id,
             char *err, size_t errlen);
    /* NULL: the provider cannot revoke (the credentials are destroyed) */
    int  (*revoke_request)(const prov_conf_t *pc, const prov_auth_t *auth,
             const char *refresh_token, http_req_t *req, char *err,
             size_t errlen);

    /* sync */
    int  (*page_request)(const prov_conf_t *pc, const prov_auth_t *auth,
             const prov_ask_t *ask, http_req_t *req, char *err,
             size_t errlen);
    int  (*page_parse)(const prov_conf_t *pc, const prov_ask_t *ask,
             const http_resp_t *resp, prov_page_t *page, char *err,
             size_t errlen);
    int  (*record_request)(const prov_conf_t *pc, const prov_auth_t *auth,
             const char *stream, const char *id, http_req_t *req, char *err,
             size_t errlen);
    /* one record answer: page->records gets it (next_cursor stays NULL) */
    int  (*record_parse)(const prov_conf_t *pc, const char *stream,
             const http_resp_t *resp, prov_page_t *page, char *err,
             size_t errlen);
    /* any non-2xx answer: the provider's code and message */
    void (*error_parse)(const http_resp_t *resp, prov_error_t *perr);

    /*
     * A verified webhook event (its type and raw body): *targets gets a
     * new array of {"stream", "id"} to fetch, or NULL when the event
     * needs no sync.  NULL function: events trigger nothing.
     */
    int  (*webhook_targets)(const char *event_type, const char *body,
             size_t len, json_t **targets, char *err, size_t errlen);
} provider_ops_t;


/* the ops of a provider, NULL when it has none yet */
const provider_ops_t *provider_ops(const char *name);

extern const provider_ops_t  provider_allegro;
extern const provider_ops_t  provider_stripe;

/* PKCE (RFC 7636): a 43..128 char verifier and its S256 challenge */
int prov_pkce_verifier(char out[64], char *err, size_t errlen);
void prov_pkce_challenge(const char *verifier, char out[48]);

/* ISO 4217 minor-unit exponent (2 when unknown); "12.345" -> minor units
 * rounding halves away from zero; -1 on malformed text */
int prov_currency_exponent(const char *currency);
int prov_decimal_to_minor(const char *text, const char *currency,
    int64_t *minor);

/*
 * What every provider file needs to read answers.  prov_err: a bounded
 * message (err may be NULL).  prov_base_len: a base URL's length without
 * its trailing slashes.  prov_json_load: a 2xx answer's body as a JSON
 * object (a new reference) or NULL with err naming who.  prov_json_get
 * and prov_json_str: the value at a dotted path of object keys
 * ("summary.totalToPay.amount"), borrowed; NULL when a step is missing.
 */
void prov_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int prov_base_len(const char *url);
json_t *prov_json_load(const http_resp_t *resp, const char *who,
    size_t flags, char *err, size_t errlen);
json_t *prov_json_get(json_t *j, const char *path);
const char *prov_json_str(json_t *j, const char *path);

/*
 * A 2xx token endpoint answer (RFC 6749 §5.1) into tokens: access_token
 * required; refresh_token and scope when given; expires_in (an integer)
 * when expires is set, else -1; account_id from account_key when given.
 * The parsed copies of the tokens are wiped.  0, or -1 with err.
 */
int prov_oauth_tokens(const http_resp_t *resp, const char *who, size_t flags,
    int expires, const char *account_key, prov_tokens_t *tokens, char *err,
    size_t errlen);

void prov_page_free(prov_page_t *page);
void prov_tokens_free(prov_tokens_t *tokens);


#endif /* PROVIDER_OPS_H */
