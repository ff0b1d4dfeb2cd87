
/*
 * hubgated: the provider ops registry and the helpers every provider
 * shares (PKCE, ISO 4217 exponents, decimal text to minor units).
 * Contract in provider_ops.h.  Pure but for prov_pkce_verifier, which
 * draws from the OpenSSL CSPRNG.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "providers/provider_ops.h"


static void prov_json_wipe(json_t *root, const char *key);


#define PROV_VERIFIER_BYTES   32            /* 43 base64url characters */


typedef struct {
    const char  code[4];
    int         exponent;
} prov_currency_t;


static void prov_b64url(const unsigned char *in, size_t len, char *out);


static const provider_ops_t *const  prov_all[] = {
    &provider_allegro,
    &provider_stripe,
};


/*
 * ISO 4217 currencies whose exponent is not 2; every other code (PLN,
 * EUR, USD, GBP, RON, CZK, HUF, SEK, NOK, DKK, CHF, ...) has 2.  HUF and
 * CZK are 2 in ISO 4217 even though their cash has no subunits in use.
 */
static const prov_currency_t  prov_currencies[] = {
    { "BHD", 3 }, { "BIF", 0 }, { "CLF", 4 }, { "CLP", 0 }, { "DJF", 0 },
    { "GNF", 0 }, { "IQD", 3 }, { "ISK", 0 }, { "JOD", 3 }, { "JPY", 0 },
    { "KMF", 0 }, { "KRW", 0 }, { "KWD", 3 }, { "LYD", 3 }, { "OMR", 3 },
    { "PYG", 0 }, { "RWF", 0 }, { "TND", 3 }, { "UGX", 0 }, { "UYI", 0 },
    { "UYW", 4 }, { "VND", 0 }, { "VUV", 0 }, { "XAF", 0 }, { "XOF", 0 },
    { "XPF", 0 },
};


const provider_ops_t *
provider_ops(const char *name)
{
    size_t  i;

    if (name == NULL) {
        return NULL;
    }

    for (i = 0; i < sizeof(prov_all) / sizeof(prov_all[0]); i++) {
        if (strcmp(prov_all[i]->name, name) == 0) {
            return prov_all[i];
        }
    }

    return NULL;
}


int
prov_pkce_verifier(char out[64], char *err, size_t errlen)
{
    unsigned char  raw[PROV_VERIFIER_BYTES];

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        if (err != NULL && errlen > 0) {
            (void) snprintf(err, errlen, "RAND_bytes failed");
        }
        return -1;
    }

    prov_b64url(raw, sizeof(raw), out);
    OPENSSL_cleanse(raw, sizeof(raw));

    return 0;
}


void
prov_pkce_challenge(const char *verifier, char out[48])
{
    unsigned char  md[SHA256_DIGEST_LENGTH];

    SHA256((const unsigned char *) verifier, strlen(verifier), md);
    prov_b64url(md, sizeof(md), out);
}


int
prov_currency_exponent(const char *currency)
{
    size_t  i;

    if (currency == NULL) {
        return 2;
    }

    for (i = 0; i < sizeof(prov_currencies) / sizeof(prov_currencies[0]);
         i++)
    {
        if (strcmp(prov_currencies[i].code, currency) == 0) {
            return prov_currencies[i].exponent;
        }
    }

    return 2;
}


/*
 * [-+]?digits[.digits]: the integer part scaled by 10^exponent, the first
 * exponent fraction digits added, and the magnitude rounded up when the
 * next digit is 5 or more (half away from zero: "-0.005" EUR is -1, "0.004"
 * is 0).  No exponent notation, no spaces, no "12." or ".5".  Text past
 * int64 fails.  No floating point anywhere.
 */
int
prov_decimal_to_minor(const char *text, const char *currency,
    int64_t *minor)
{
    int          neg, exp, i;
    int64_t      v, d;
    const char  *p;

    if (text == NULL) {
        return -1;
    }

    exp = prov_currency_exponent(currency);
    p = text;
    neg = 0;

    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }

    if (*p < '0' || *p > '9') {
        return -1;
    }

    v = 0;
    for ( /* void */ ; *p >= '0' && *p <= '9'; p++) {
        if (v > (INT64_MAX - (*p - '0')) / 10) {
            return -1;
        }
        v = v * 10 + (*p - '0');
    }

    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9') {
            return -1;
        }
    } else if (*p != '\0') {
        return -1;
    }

    for (i = 0; i < exp; i++) {
        d = (*p >= '0' && *p <= '9') ? *p++ - '0' : 0;
        if (v > (INT64_MAX - d) / 10) {
            return -1;
        }
        v = v * 10 + d;
    }

    if (*p >= '5' && *p <= '9') {
        if (v == INT64_MAX) {
            return -1;
        }
        v++;
    }

    while (*p >= '0' && *p <= '9') {
        p++;
    }

    if (*p != '\0') {
        return -1;
    }

    *minor = neg ? -v : v;

    return 0;
}


void
prov_page_free(prov_page_t *page)
{
    if (page == NULL) {
        return;
    }

    json_decref(page->records);
    json_decref(page->refetch);
    free(page->next_cursor);
    free(page->final_cursor);
    memset(page, 0, sizeof(*page));
}


void
prov_tokens_free(prov_tokens_t *tokens)
{
    char  **s[] = { &tokens->access_token, &tokens->refresh_token,
                    &tokens->scope, &tokens->account_id };
    size_t  i;

    for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
        if (*s[i] != NULL) {
            OPENSSL_cleanse(*s[i], strlen(*s[i]));
            free(*s[i]);
            *s[i] = NULL;
        }
    }

    tokens->expires_in = 0;
}


/* base64url without padding; out holds len / 3 * 4 + 4 bytes */
static void
prov_b64url(const unsigned char *in, size_t len, char *out)
{
    static const char  tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    size_t    i;
    uint32_t  v;

    for (i = 0; i + 2 < len; i += 3) {
        v = (uint32_t) in[i] << 16 | (uint32_t) in[i + 1] << 8 | in[i + 2];
        *out++ = tab[v >> 18 & 63];
        *out++ = tab[v >> 12 & 63];
        *out++ = tab[v >> 6 & 63];
        *out++ = tab[v & 63];
    }

    if (len - i == 1) {
        v = (uint32_t) in[i] << 16;
        *out++ = tab[v >> 18 & 63];
        *out++ = tab[v >> 12 & 63];

    } else if (len - i == 2) {
        v = (uint32_t) in[i] << 16 | (uint32_t) in[i + 1] << 8;
        *out++ = tab[v >> 18 & 63];
        *out++ = tab[v >> 12 & 63];
        *out++ = tab[v >> 6 & 63];
    }

    *out = '\0';
}


void
prov_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  ap;

    if (err == NULL || errlen == 0) {
        return;
    }

    va_start(ap, fmt);
    (void) vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}


int
prov_base_len(const char *url)
{
    size_t  n;

    n = url ? strlen(url) : 0;
    while (n > 0 && url[n - 1] == '/') {
        n--;
    }

    return (int) n;
}


json_t *
prov_json_load(const http_resp_t *resp, const char *who, size_t flags,
    char *err, size_t errlen)
{
    json_t        *root;
    json_error_t   je;

    if (resp->status < 200 || resp->status > 299) {
        prov_err(err, errlen, "%s: HTTP %ld", who, resp->status);
        return NULL;
    }

    if (resp->body == NULL) {
        prov_err(err, errlen, "%s: empty answer", who);
        return NULL;
    }

    root = json_loadb(resp->body, resp->len, flags, &je);
    if (!json_is_object(root)) {
        json_decref(root);
        prov_err(err, errlen, "%s: the answer is not a JSON object (line %d)",
                 who, je.line);
        return NULL;
    }

    return root;
}


json_t *
prov_json_get(json_t *j, const char *path)
{
    char         key[64];
    size_t       n;
    const char  *dot;

    while (j != NULL && *path) {
        dot = strchr(path, '.');
        n = dot ? (size_t) (dot - path) : strlen(path);
        if (n >= sizeof(key)) {
            return NULL;
        }
        memcpy(key, path, n);
        key[n] = '\0';
        j = json_object_get(j, key);
        path += n + (dot ? 1 : 0);
    }

    return j;
}


const char *
prov_json_str(json_t *j, const char *path)
{
    return json_string_value(prov_json_get(j, path));
}


/* the parsed answer holds the tokens too: wiped before it is freed */
static void
prov_json_wipe(json_t *root, const char *key)
{
    json_t  *v;

    v = json_object_get(root, key);
    if (json_is_string(v)) {
        OPENSSL_cleanse((char *) json_string_value(v), json_string_length(v));
    }
}


int
prov_oauth_tokens(const http_resp_t *resp, const char *who, size_t flags,
    int expires, const char *account_key, prov_tokens_t *tokens, char *err,
    size_t errlen)
{
    json_t      *root, *exp;
    const char  *at, *rt, *scope, *acct;

    memset(tokens, 0, sizeof(*tokens));

    root = prov_json_load(resp, who, flags, err, errlen);
    if (root == NULL) {
        return -1;
    }

    at = prov_json_str(root, "access_token");
    rt = prov_json_str(root, "refresh_token");
    scope = prov_json_str(root, "scope");
    acct = account_key != NULL ? prov_json_str(root, account_key) : NULL;
    exp = expires ? json_object_get(root, "expires_in") : NULL;

    if (at == NULL || at[0] == '\0' || (exp != NULL && !json_is_integer(exp))) {
        json_decref(root);
        prov_err(err, errlen, "%s token answer without an access_token%s",
                 who, expires ? " or with a bad expires_in" : "");
        return -1;
    }

    tokens->access_token = strdup(at);
    tokens->refresh_token = rt ? strdup(rt) : NULL;
    tokens->scope = scope ? strdup(scope) : NULL;
    tokens->account_id = acct ? strdup(acct) : NULL;
    tokens->expires_in = exp ? (int64_t) json_integer_value(exp) : -1;

    prov_json_wipe(root, "access_token");
    prov_json_wipe(root, "refresh_token");
    json_decref(root);

    if (tokens->access_token == NULL || (rt && !tokens->refresh_token)
        || (scope && !tokens->scope) || (acct && !tokens->account_id))
    {
        prov_tokens_free(tokens);
        prov_err(err, errlen, "out of memory");
        return -1;
    }

    return 0;
}

