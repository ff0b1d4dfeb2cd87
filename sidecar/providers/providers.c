
/*
 * hubgated: the provider registry.  Contract in providers.h.
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "providers/providers.h"
#include "providers/provider_ops.h"


#define PROVIDERS_STRIPE_PREFIX   8          /* "sk_live_" and the like */
#define PROVIDERS_MC_HEX          32         /* Mailchimp key body */


typedef int (*providers_class_pt)(int c);


/*
 * Weak: the unit tests and fuzzers that link this file alone (without the
 * provider ops and libcurl) see no ops, so no provider syncs there.
 */
#pragma weak provider_ops


static void providers_why(char *why, size_t whylen, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int providers_is_alnum(int c);
static int providers_is_token(int c);
static int providers_is_graph(int c);
static int providers_is_hex_lower(int c);
static int providers_check_span(const char *key, size_t len, size_t base,
    size_t min, size_t max, providers_class_pt ok, const char *what,
    const char *chars, char *why, size_t whylen);
static int providers_check_stripe(const char *key, size_t len, char *why,
    size_t whylen);
static int providers_check_mailchimp(const char *key, size_t len, char *why,
    size_t whylen);
static int providers_check_square(const char *key, size_t len, char *why,
    size_t whylen);
static int providers_check_ksef(const char *key, size_t len, char *why,
    size_t whylen);


/*
 * Base URLs: Allegro, Square and KSeF from the servers of their specs in
 * shared/specs/providers (KSeF's spec names its TEST host; production is
 * api.ksef.mf.gov.pl).  Amazon: the EU endpoint, which serves amazon.pl;
 * the Orders spec's default host is the North American one.
 */
static const provider_t  providers[] = {

    { "allegro", "Allegro", "marketplace", "PL",
      PROVIDER_AUTH_OAUTH, "authorization_code+pkce", NULL, NULL,
      "https://api.allegro.pl", NULL },

    { "amazon", "Amazon Selling Partner", "marketplace", NULL,
      PROVIDER_AUTH_OAUTH, "authorization_code", NULL, NULL,
      "https://sellingpartnerapi-eu.amazon.com", NULL },

    { "gmail", "Gmail", "email", NULL,
      PROVIDER_AUTH_OAUTH, "authorization_code+pkce", NULL, "pubsub",
      "https://gmail.googleapis.com", NULL },

    { "stripe", "Stripe", "payments", NULL,
      PROVIDER_AUTH_OAUTH | PROVIDER_AUTH_API_KEY, "authorization_code",
      "restricted (rk_) or secret (sk_) API key", "stripe",
      "https://api.stripe.com", providers_check_stripe },

    { "quickbooks", "QuickBooks Online", "accounting", NULL,
      PROVIDER_AUTH_OAUTH, "authorization_code", NULL, "intuit",
      "https://quickbooks.api.intuit.com", NULL },

    { "square", "Square", "payments", NULL,
      PROVIDER_AUTH_OAUTH | PROVIDER_AUTH_API_KEY, "authorization_code",
      "personal access token", "square",
      "https://connect.squareup.com", providers_check_square },

    { "mailchimp", "Mailchimp", "marketing", NULL,
      PROVIDER_AUTH_OAUTH | PROVIDER_AUTH_API_KEY, "authorization_code",
      "API key", "mailchimp",
      "https://{dc}.api.mailchimp.com/3.0", providers_check_mailchimp },

    { "anaf", "ANAF e-Factura", "einvoicing", "RO",
      PROVIDER_AUTH_OAUTH, "authorization_code", NULL, NULL,
      "https://api.anaf.ro/prod/FCTEL/rest", NULL },

    { "ksef", "KSeF", "einvoicing", "PL",
      PROVIDER_AUTH_API_KEY, NULL, "KSeF authorization token", NULL,
      "https://api.ksef.mf.gov.pl/v2", providers_check_ksef },
};


const provider_t *
providers_all(size_t *n)
{
    *n = sizeof(providers) / sizeof(providers[0]);

    return providers;
}


const provider_t *
provider_find(const char *name)
{
    size_t  i;

    if (name == NULL) {
        return NULL;
    }

    for (i = 0; i < sizeof(providers) / sizeof(providers[0]); i++) {
        if (strcmp(providers[i].name, name) == 0) {
            return &providers[i];
        }
    }

    return NULL;
}


int
provider_check_api_key(const provider_t *p, const char *key, size_t len,
    char *why, size_t whylen)
{
    if (p != NULL && p->check_api_key != NULL) {
        return p->check_api_key(key, len, why, whylen);
    }

    return providers_check_span(key, len, 0, 8, 4096, providers_is_graph,
                                "an API key",
                                "printable ASCII without spaces", why,
                                whylen);
}


json_t *
provider_json(const provider_t *p)
{
    json_t  *modes;

    modes = json_array();
    if (modes == NULL) {
        return NULL;
    }

    if (((p->auth & PROVIDER_AUTH_OAUTH)
         && json_array_append_new(modes, json_string("oauth")) != 0)
        || ((p->auth & PROVIDER_AUTH_API_KEY)
            && json_array_append_new(modes, json_string("api_key")) != 0))
    {
        json_decref(modes);
        return NULL;
    }

    /* "o" steals modes, even when packing fails */
    return json_pack("{s:s, s:s, s:s, s:s?, s:o, s:s?, s:s?, s:s?, s:b}",
                     "name", p->name,
                     "title", p->title,
                     "category", p->category,
                     "country", p->country,
                     "auth_modes", modes,
                     "oauth_flow", p->oauth_flow,
                     "api_key_kind", p->api_key_kind,
                     "webhook_scheme", p->webhook_scheme,
                     "syncs_available",
                     provider_ops != NULL && provider_ops(p->name) != NULL);
}


static void
providers_why(char *why, size_t whylen, const char *fmt, ...)
{
    va_list  ap;

    if (why == NULL || whylen == 0) {
        return;
    }

    va_start(ap, fmt);
    (void) vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}


/* ASCII classes, independent of the locale */

static int
providers_is_alnum(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9');
}


static int
providers_is_token(int c)
{
    return providers_is_alnum(c) || c == '_' || c == '-';
}


static int
providers_is_graph(int c)
{
    return c >= 0x21 && c <= 0x7e;
}


static int
providers_is_hex_lower(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}


/*
 * key[base..len) must be min..max bytes of class ok; positions in the
 * messages count from 1 over the whole key.
 */
static int
providers_check_span(const char *key, size_t len, size_t base, size_t min,
    size_t max, providers_class_pt ok, const char *what, const char *chars,
    char *why, size_t whylen)
{
    size_t  i;

    if (len - base < min || len - base > max) {
        providers_why(why, whylen,
                      "%s must be %zu to %zu bytes long (got %zu)", what, min,
                      max, len - base);
        return -1;
    }

    for (i = base; i < len; i++) {
        if (!ok((unsigned char) key[i])) {
            providers_why(why, whylen,
                          "%s holds only %s (byte %zu is not one)", what,
                          chars, i + 1);
            return -1;
        }
    }

    return 0;
}


/* ^(sk|rk)_(test|live)_[A-Za-z0-9]{10,247}$ */
static int
providers_check_stripe(const char *key, size_t len, char *why, size_t whylen)
{
    if (len >= 3 && memcmp(key, "pk_", 3) == 0) {
        providers_why(why, whylen, "a publishable key (pk_) cannot read "
                      "from Stripe; give a restricted (rk_) or secret (sk_) "
                      "API key");
        return -1;
    }

    if (len >= 6 && memcmp(key, "whsec_", 6) == 0) {
        providers_why(why, whylen, "this is a webhook signing secret "
                      "(whsec_), not an API key");
        return -1;
    }

    if (len < PROVIDERS_STRIPE_PREFIX
        || (memcmp(key, "sk_", 3) != 0 && memcmp(key, "rk_", 3) != 0)
        || (memcmp(key + 3, "test_", 5) != 0
            && memcmp(key + 3, "live_", 5) != 0))
    {
        providers_why(why, whylen, "a Stripe API key starts with rk_live_, "
                      "rk_test_, sk_live_ or sk_test_");
        return -1;
    }

    return providers_check_span(key, len, PROVIDERS_STRIPE_PREFIX, 10, 247,
                                providers_is_alnum,
                                "the part of a Stripe API key after its "
                                "prefix", "ASCII letters and digits", why,
                                whylen);
}


/* ^[0-9a-f]{32}-[a-z]{2,4}[0-9]{1,3}$ */
static int
providers_check_mailchimp(const char *key, size_t len, char *why,
    size_t whylen)
{
    size_t  i, letters, digits;

    if (len < PROVIDERS_MC_HEX) {
        providers_why(why, whylen, "a Mailchimp API key starts with 32 "
                      "lowercase hex digits (got %zu bytes in all)", len);
        return -1;
    }

    for (i = 0; i < PROVIDERS_MC_HEX; i++) {
        if (!providers_is_hex_lower((unsigned char) key[i])) {
            providers_why(why, whylen, "a Mailchimp API key starts with 32 "
                          "lowercase hex digits (byte %zu is not one)", i + 1);
            return -1;
        }
    }

    if (len == PROVIDERS_MC_HEX || key[PROVIDERS_MC_HEX] != '-') {
        providers_why(why, whylen, "a Mailchimp API key has '-' and its "
                      "data center, such as us21, after 32 hex digits");
        return -1;
    }

    for (i = PROVIDERS_MC_HEX + 1, letters = 0;
         i < len && key[i] >= 'a' && key[i] <= 'z'; i++, letters++)
    {
        /* void */
    }

    for (digits = 0; i < len && key[i] >= '0' && key[i] <= '9';
         i++, digits++)
    {
        /* void */
    }

    if (i != len || letters < 2 || letters > 4 || digits < 1 || digits > 3) {
        providers_why(why, whylen, "the data center after '-' in a "
                      "Mailchimp API key is 2 to 4 lowercase letters and 1 "
                      "to 3 digits, such as us21");
        return -1;
    }

    return 0;
}


static int
providers_check_square(const char *key, size_t len, char *why, size_t whylen)
{
    return providers_check_span(key, len, 0, 20, 1024, providers_is_token,
                                "a Square access token",
                                "ASCII letters, digits, '_' and '-'", why,
                                whylen);
}


static int
providers_check_ksef(const char *key, size_t len, char *why, size_t whylen)
{
    return providers_check_span(key, len, 0, 16, 1024, providers_is_graph,
                                "a KSeF authorization token",
                                "printable ASCII without spaces", why, whylen);
}
