
/*
 * hubgated: the provider registry (DESIGN §4, Providers; GET /v1/providers).
 *
 * Pure data and small functions: one static, read-only table of the nine
 * providers hubgate connects to, what each one authenticates with, which
 * edge webhook scheme verifies its events, and a check of the shape of its
 * API keys.  No I/O, no global mutable state: safe from any thread.
 *
 * Base URLs are production defaults; configuration overrides each one
 * (tests and the demo point them at local fakes).  Mailchimp's holds the
 * placeholder "{dc}", the data center named by the API key suffix or by the
 * OAuth metadata endpoint.
 *
 * Ownership: every pointer returned here is borrowed from the static table
 * and lives as long as the process; provider_json() returns a new reference
 * owned by the caller.
 */

#ifndef PROVIDERS_H
#define PROVIDERS_H

#include <stddef.h>

#include <jansson.h>


#define PROVIDER_AUTH_OAUTH    0x01
#define PROVIDER_AUTH_API_KEY  0x02

#define PROVIDER_WHY_MAX       160         /* enough for any check message */


typedef struct provider_s  provider_t;

struct provider_s {
    const char  *name;            /* "allegro": the API and URL name */
    const char  *title;           /* "Allegro" */
    const char  *category;        /* marketplace | payments | accounting |
                                     email | marketing | einvoicing */
    const char  *country;         /* "PL", "RO" or NULL when global */
    unsigned     auth;            /* PROVIDER_AUTH_* modes supported */
    const char  *oauth_flow;      /* "authorization_code+pkce", or NULL */
    const char  *api_key_kind;    /* "restricted API key", or NULL */
    const char  *webhook_scheme;  /* edge scheme (stripe, square, intuit,
                                     pubsub, mailchimp) or NULL */
    const char  *base_url;        /* production API base URL */

    /*
     * Checks the shape of an API key of len bytes (any bytes, NUL
     * included).  Returns 0, or -1 with a one-line reason in why (always
     * NUL-terminated when whylen > 0); the reason never quotes the key.
     * NULL: provider_check_api_key() applies the generic check.
     */
    int        (*check_api_key)(const char *key, size_t len, char *why,
                                size_t whylen);
};


/* the static table, *n entries (9); borrowed */
const provider_t *providers_all(size_t *n);

/* the provider named name (exact, case-sensitive); NULL if unknown */
const provider_t *provider_find(const char *name);

/*
 * The key check of p, or the generic one (8..4096 bytes of 0x21..0x7e)
 * when p has none or p is NULL.  Contract as check_api_key above.
 */
int provider_check_api_key(const provider_t *p, const char *key, size_t len,
    char *why, size_t whylen);

/*
 * A new reference, owned by the caller, or NULL when out of memory:
 *   {"name", "title", "category", "country" (or null),
 *    "auth_modes": ["oauth", "api_key"] (those supported, in that order),
 *    "oauth_flow", "api_key_kind", "webhook_scheme" (each or null),
 *    "syncs_available": false}
 */
json_t *provider_json(const provider_t *p);


#endif /* PROVIDERS_H */
