
/*
 * hubgate: webhook signature schemes.  See hg_webhook.h.
 */

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "hg_webhook.h"


#define HG_WH_MAC_MAX       64          /* SHA-512 */
#define HG_WH_TS_DIGITS     18          /* fits a long long */
#define HG_WH_MAX_PARTS     5
#define HG_WH_WHSEC         "whsec_"


/* the pieces of a signed payload, MACed one after the other */

typedef struct {
    hg_wh_str_t  part[HG_WH_MAX_PARTS];
    size_t       nparts;
} hg_wh_payload_t;


/* the signatures a header offered, decoded */

typedef struct {
    unsigned char  sig[HG_WH_MAX_SIGS][HG_WH_MAC_MAX];
    size_t         len[HG_WH_MAX_SIGS];
    size_t         nsigs;
} hg_wh_sigs_t;


static const char *hg_wh_check_secrets(const hg_wh_config_t *cf);
static const char *hg_wh_check_standard(const hg_wh_config_t *cf);
static const char *hg_wh_check_hmac(const hg_wh_config_t *cf);
static int hg_wh_stripe(const hg_wh_config_t *cf, const hg_wh_request_t *r,
    char *id, size_t idlen);
static int hg_wh_stripe_parse(hg_wh_str_t *v, hg_wh_str_t *ts,
    hg_wh_sigs_t *sigs);
static int hg_wh_standard(const hg_wh_config_t *cf,
    const hg_wh_request_t *r, char *id, size_t idlen);
static int hg_wh_standard_parse(hg_wh_str_t *v, hg_wh_sigs_t *sigs);
static int hg_wh_github(const hg_wh_config_t *cf, const hg_wh_request_t *r,
    char *id, size_t idlen);
static int hg_wh_square(const hg_wh_config_t *cf, const hg_wh_request_t *r,
    char *id, size_t idlen);
static int hg_wh_intuit(const hg_wh_config_t *cf, const hg_wh_request_t *r,
    char *id, size_t idlen);
static int hg_wh_mailchimp(const hg_wh_config_t *cf,
    const hg_wh_request_t *r, char *id, size_t idlen);
static int hg_wh_query_value(const hg_wh_str_t *url, const char *name,
    hg_wh_str_t *value);
static int hg_wh_hmac(const hg_wh_config_t *cf, const hg_wh_request_t *r,
    char *id, size_t idlen);
static int hg_wh_base64_header(const hg_wh_config_t *cf,
    const hg_wh_request_t *r, const char *name, hg_wh_payload_t *pl);
static int hg_wh_header(const hg_wh_request_t *r, const char *name,
    hg_wh_str_t *value);
static int hg_wh_set_id(const hg_wh_str_t *value, char *id, size_t idlen);
static int hg_wh_parse_ts(const hg_wh_str_t *v, long long *t);
static int hg_wh_check_ts(const hg_wh_config_t *cf, long long t,
    time_t now);
static int hg_wh_match(const hg_wh_config_t *cf, const char *digest,
    const hg_wh_payload_t *pl, const hg_wh_sigs_t *sigs, int whsec);
static int hg_wh_mac(EVP_MAC *hmac, const char *digest,
    const unsigned char *key, size_t key_len, const hg_wh_payload_t *pl,
    unsigned char *mac, size_t *mac_len);
static int hg_wh_whsec_key(const unsigned char *secret, size_t len,
    unsigned char *key, size_t *key_len);
static void hg_wh_add(hg_wh_payload_t *pl, const char *data, size_t len);
static int hg_wh_hex_decode(const char *in, size_t len, unsigned char *out,
    size_t size);
static int hg_wh_b64_decode(const char *in, size_t len, unsigned char *out,
    size_t size);
static int hg_wh_b64_value(int c);
static void hg_wh_trim(hg_wh_str_t *v);
static int hg_wh_next_item(hg_wh_str_t *rest, int sep, hg_wh_str_t *item);


static const hg_wh_scheme_t  hg_wh_schemes[] = {
    { "stripe",    hg_wh_check_secrets,  hg_wh_stripe },
    { "standard",  hg_wh_check_standard, hg_wh_standard },
    { "github",    hg_wh_check_secrets,  hg_wh_github },
    { "square",    hg_wh_check_secrets,  hg_wh_square },
    { "intuit",    hg_wh_check_secrets,  hg_wh_intuit },
    { "mailchimp", hg_wh_check_secrets,  hg_wh_mailchimp },
    { "hmac",      hg_wh_check_hmac,     hg_wh_hmac },
};


static const char  *const hg_wh_err_names[] = {
    "ok",
    "missing",
    "format",
    "stale",
    "future",
    "signature",
    "internal"
};


const hg_wh_scheme_t *
hg_wh_scheme(const char *name)
{
    size_t  i;

    if (name == NULL) {
        return NULL;
    }

    for (i = 0; i < sizeof(hg_wh_schemes) / sizeof(hg_wh_schemes[0]); i++) {
        if (strcmp(hg_wh_schemes[i].name, name) == 0) {
            return &hg_wh_schemes[i];
        }
    }

    return NULL;
}


const char *
hg_wh_strerror(int err)
{
    if (err < HG_WH_OK || err > HG_WH_ERR_INTERNAL) {
        return "internal";
    }

    return hg_wh_err_names[err];
}


static const char *
hg_wh_check_secrets(const hg_wh_config_t *cf)
{
    size_t  i;

    if (cf == NULL || cf->nsecrets == 0 || cf->secrets == NULL
        || cf->secret_lens == NULL)
    {
        return "no secret";
    }

    if (cf->nsecrets > HG_WH_MAX_SECRETS) {
        return "too many secrets (at most 16)";
    }

    for (i = 0; i < cf->nsecrets; i++) {
        if (cf->secrets[i] == NULL || cf->secret_lens[i] == 0) {
            return "empty secret";
        }
    }

    return NULL;
}


static const char *
hg_wh_check_standard(const hg_wh_config_t *cf)
{
    size_t         i, len;
    const char    *msg;
    unsigned char  key[HG_WH_KEY_MAX];

    msg = hg_wh_check_secrets(cf);

    if (msg != NULL) {
        return msg;
    }

    for (i = 0; i < cf->nsecrets; i++) {
        if (hg_wh_whsec_key(cf->secrets[i], cf->secret_lens[i], key, &len)
            != 0)
        {
            return "a secret is not \"whsec_<base64>\"";
        }
    }

    OPENSSL_cleanse(key, sizeof(key));

    return NULL;
}


static const char *
hg_wh_check_hmac(const hg_wh_config_t *cf)
{
    const char  *msg;

    msg = hg_wh_check_secrets(cf);

    if (msg != NULL) {
        return msg;
    }

    if (cf->header_name == NULL || cf->header_name[0] == '\0') {
        return "the hmac scheme needs header=";
    }

    if (cf->alg != HG_WH_SHA1 && cf->alg != HG_WH_SHA256
        && cf->alg != HG_WH_SHA512)
    {
        return "unknown algorithm (sha1, sha256 or sha512)";
    }

    if (cf->encoding != HG_WH_HEX && cf->encoding != HG_WH_BASE64) {
        return "unknown encoding (hex or base64)";
    }

    if (cf->payload_ts && (cf->ts_header == NULL || cf->ts_header[0] == '\0'))
    {
        return "a timestamped payload needs a timestamp header";
    }

    return NULL;
}


static int
hg_wh_stripe(const hg_wh_config_t *cf, const hg_wh_request_t *r, char *id,
    size_t idlen)
{
    int              rc;
    long long        t;
    hg_wh_str_t      v, ts;
    hg_wh_sigs_t     sigs;
    hg_wh_payload_t  pl;

    (void) hg_wh_set_id(NULL, id, idlen);

    if (hg_wh_header(r, "Stripe-Signature", &v) != 0) {
        return HG_WH_ERR_MISSING;
    }

    if (hg_wh_stripe_parse(&v, &ts, &sigs) != 0
        || hg_wh_parse_ts(&ts, &t) != 0)
    {
        return HG_WH_ERR_FORMAT;
    }

    pl.nparts = 0;
    hg_wh_add(&pl, ts.data, ts.len);
    hg_wh_add(&pl, ".", 1);
    hg_wh_add(&pl, r->body.data, r->body.len);

    rc = hg_wh_match(cf, "SHA256", &pl, &sigs, 0);

    if (rc != HG_WH_OK) {
        return rc;
    }

    /* Stripe refuses only the too old, as its libraries do */
    rc = hg_wh_check_ts(cf, t, r->now);

    return rc == HG_WH_ERR_FUTURE ? HG_WH_OK : rc;
}


/* "t=<ts>,v1=<hex>,..."; one t, 1 to HG_WH_MAX_SIGS v1, others ignored */

static int
hg_wh_stripe_parse(hg_wh_str_t *v, hg_wh_str_t *ts, hg_wh_sigs_t *sigs)
{
    int          n;
    hg_wh_str_t  item;

    ts->data = NULL;
    ts->len = 0;
    sigs->nsigs = 0;

    while (hg_wh_next_item(v, ',', &item) == 0) {

        if (item.len >= 2 && item.data[0] == 't' && item.data[1] == '=') {
            if (ts->data != NULL) {
                return -1;
            }

            ts->data = item.data + 2;
            ts->len = item.len - 2;
            continue;
        }

        if (item.len < 3 || memcmp(item.data, "v1=", 3) != 0) {
            continue;
        }

        if (sigs->nsigs == HG_WH_MAX_SIGS) {
            return -1;
        }

        n = hg_wh_hex_decode(item.data + 3, item.len - 3,
                             sigs->sig[sigs->nsigs], HG_WH_MAC_MAX);

        if (n != 32) {
            return -1;
        }

        sigs->len[sigs->nsigs++] = 32;
    }

    return (ts->data == NULL || sigs->nsigs == 0) ? -1 : 0;
}


static int
hg_wh_standard(const hg_wh_config_t *cf, const hg_wh_request_t *r,
    char *id, size_t idlen)
{
    int              rc;
    long long        t;
    hg_wh_str_t      wid, ts, v;
    hg_wh_sigs_t     sigs;
    hg_wh_payload_t  pl;

    (void) hg_wh_set_id(NULL, id, idlen);

    if (hg_wh_header(r, "webhook-id", &wid) == 0) {
        rc = hg_wh_header(r, "webhook-timestamp", &ts)
             | hg_wh_header(r, "webhook-signature", &v);

    } else if (hg_wh_header(r, "svix-id", &wid) == 0) {
        rc = hg_wh_header(r, "svix-timestamp", &ts)
             | hg_wh_header(r, "svix-signature", &v);

    } else {
        return HG_WH_ERR_MISSING;
    }

    if (rc != 0) {
        return HG_WH_ERR_MISSING;
    }

    if (hg_wh_set_id(&wid, id, idlen) != 0
        || hg_wh_parse_ts(&ts, &t) != 0
        || hg_wh_standard_parse(&v, &sigs) != 0)
    {
        return HG_WH_ERR_FORMAT;
    }

    pl.nparts = 0;
    hg_wh_add(&pl, wid.data, wid.len);
    hg_wh_add(&pl, ".", 1);
    hg_wh_add(&pl, ts.data, ts.len);
    hg_wh_add(&pl, ".", 1);
    hg_wh_add(&pl, r->body.data, r->body.len);

    rc = hg_wh_match(cf, "SHA256", &pl, &sigs, 1);

    return rc != HG_WH_OK ? rc : hg_wh_check_ts(cf, t, r->now);
}


/* "v1,<base64> v1a,<...> ..."; only v1 counts, at least one */

static int
hg_wh_standard_parse(hg_wh_str_t *v, hg_wh_sigs_t *sigs)
{
    int          n;
    hg_wh_str_t  item;

    sigs->nsigs = 0;

    while (hg_wh_next_item(v, ' ', &item) == 0) {

        if (item.len < 3 || memcmp(item.data, "v1,", 3) != 0) {
            continue;
        }

        if (sigs->nsigs == HG_WH_MAX_SIGS) {
            return -1;
        }

        n = hg_wh_b64_decode(item.data + 3, item.len - 3,
                             sigs->sig[sigs->nsigs], HG_WH_MAC_MAX);

        if (n != 32) {
            return -1;
        }

        sigs->len[sigs->nsigs++] = 32;
    }

    return sigs->nsigs == 0 ? -1 : 0;
}


static int
hg_wh_github(const hg_wh_config_t *cf, const hg_wh_request_t *r, char *id,
    size_t idlen)
{
    hg_wh_str_t      v, delivery;
    hg_wh_sigs_t     sigs;
    hg_wh_payload_t  pl;

    (void) hg_wh_set_id(NULL, id, idlen);

    if (hg_wh_header(r, "X-GitHub-Delivery", &delivery) == 0
        && hg_wh_set_id(&delivery, id, idlen) != 0)
    {
        return HG_WH_ERR_FORMAT;
    }

    if (hg_wh_header(r, "X-Hub-Signature-256", &v) != 0) {
        return HG_WH_ERR_MISSING;
    }

    if (v.len != sizeof("sha256=") - 1 + 64
        || memcmp(v.data, "sha256=", sizeof("sha256=") - 1) != 0
        || hg_wh_hex_decode(v.data + 7, 64, sigs.sig[0], HG_WH_MAC_MAX)
           != 32)
    {
        return HG_WH_ERR_FORMAT;
    }

    sigs.len[0] = 32;
    sigs.nsigs = 1;

    pl.nparts = 0;
    hg_wh_add(&pl, r->body.data, r->body.len);

    return hg_wh_match(cf, "SHA256", &pl, &sigs, 0);
}


static int
hg_wh_square(const hg_wh_config_t *cf, const hg_wh_request_t *r, char *id,
    size_t idlen)
{
    hg_wh_payload_t  pl;

    (void) hg_wh_set_id(NULL, id, idlen);

    /* the URL the subscription was registered with: the glue must know */
    if (r->url.len == 0 || r->url.data == NULL) {
        return HG_WH_ERR_INTERNAL;
    }

    pl.nparts = 0;
    hg_wh_add(&pl, r->url.data, r->url.len);
    hg_wh_add(&pl, r->body.data, r->body.len);

    return hg_wh_base64_header(cf, r, "x-square-hmacsha256-signature", &pl);
}


static int
hg_wh_intuit(const hg_wh_config_t *cf, const hg_wh_request_t *r, char *id,
    size_t idlen)
{
    hg_wh_payload_t  pl;

    (void) hg_wh_set_id(NULL, id, idlen);

    pl.nparts = 0;
    hg_wh_add(&pl, r->body.data, r->body.len);

    return hg_wh_base64_header(cf, r, "intuit-signature", &pl);
}


/* one base64 HMAC-SHA256 in the header name, over pl */

static int
hg_wh_base64_header(const hg_wh_config_t *cf, const hg_wh_request_t *r,
    const char *name, hg_wh_payload_t *pl)
{
    hg_wh_str_t   v;
    hg_wh_sigs_t  sigs;

    if (hg_wh_header(r, name, &v) != 0) {
        return HG_WH_ERR_MISSING;
    }

    if (hg_wh_b64_decode(v.data, v.len, sigs.sig[0], HG_WH_MAC_MAX) != 32) {
        return HG_WH_ERR_FORMAT;
    }

    sigs.len[0] = 32;
    sigs.nsigs = 1;

    return hg_wh_match(cf, "SHA256", pl, &sigs, 0);
}


/*
 * The secret is compared through SHA-256 digests, so that neither its
 * value nor its length leaks by timing.  The value is taken as sent, not
 * percent-decoded: secrets are meant to be URL-safe.
 */

static int
hg_wh_mailchimp(const hg_wh_config_t *cf, const hg_wh_request_t *r,
    char *id, size_t idlen)
{
    int            rc, match;
    size_t         i;
    hg_wh_str_t    v;
    unsigned int   len;
    unsigned char  got[32], want[32];

    (void) hg_wh_set_id(NULL, id, idlen);

    if (hg_wh_check_secrets(cf) != NULL) {
        return HG_WH_ERR_INTERNAL;
    }

    rc = hg_wh_query_value(&r->url, cf->param ? cf->param : "key", &v);

    if (rc != 0) {
        return rc;
    }

    if (EVP_Digest(v.data, v.len, got, &len, EVP_sha256(), NULL) != 1) {
        ERR_clear_error();
        return HG_WH_ERR_INTERNAL;
    }

    match = 0;

    for (i = 0; i < cf->nsecrets; i++) {
        if (EVP_Digest(cf->secrets[i], cf->secret_lens[i], want, &len,
                       EVP_sha256(), NULL)
            != 1)
        {
            ERR_clear_error();
            return HG_WH_ERR_INTERNAL;
        }

        match |= (CRYPTO_memcmp(got, want, sizeof(want)) == 0);
    }

    OPENSSL_cleanse(want, sizeof(want));

    return match ? HG_WH_OK : HG_WH_ERR_SIGNATURE;
}


/* the value of the one parameter name in the query; twice is ambiguous */

static int
hg_wh_query_value(const hg_wh_str_t *url, const char *name,
    hg_wh_str_t *value)
{
    int           found;
    size_t        n;
    const char   *q, *end;
    hg_wh_str_t   rest, item;

    if (url->data == NULL || url->len == 0) {
        return HG_WH_ERR_MISSING;
    }

    /* a fragment is not part of the query */
    end = memchr(url->data, '#', url->len);

    if (end == NULL) {
        end = url->data + url->len;
    }

    q = memchr(url->data, '?', (size_t) (end - url->data));

    if (q == NULL) {
        return HG_WH_ERR_MISSING;
    }

    rest.data = q + 1;
    rest.len = (size_t) (end - rest.data);

    n = strlen(name);
    found = 0;

    while (hg_wh_next_item(&rest, '&', &item) == 0) {
        if (item.len > n && item.data[n] == '='
            && memcmp(item.data, name, n) == 0)
        {
            if (found) {
                return HG_WH_ERR_FORMAT;
            }

            found = 1;
            value->data = item.data + n + 1;
            value->len = item.len - n - 1;
        }
    }

    if (!found) {
        return HG_WH_ERR_MISSING;
    }

    return value->len == 0 ? HG_WH_ERR_FORMAT : HG_WH_OK;
}


static int
hg_wh_hmac(const hg_wh_config_t *cf, const hg_wh_request_t *r, char *id,
    size_t idlen)
{
    int              rc, n;
    size_t           plen;
    long long        t;
    hg_wh_str_t      v, ts;
    const char      *digest;
    hg_wh_sigs_t     sigs;
    hg_wh_payload_t  pl;

    (void) hg_wh_set_id(NULL, id, idlen);

    if (hg_wh_check_hmac(cf) != NULL) {
        return HG_WH_ERR_INTERNAL;
    }

    digest = cf->alg == HG_WH_SHA1 ? "SHA1"
             : cf->alg == HG_WH_SHA512 ? "SHA512" : "SHA256";

    if (hg_wh_header(r, cf->header_name, &v) != 0) {
        return HG_WH_ERR_MISSING;
    }

    t = 0;

    if (cf->payload_ts) {
        if (hg_wh_header(r, cf->ts_header, &ts) != 0) {
            return HG_WH_ERR_MISSING;
        }

        if (hg_wh_parse_ts(&ts, &t) != 0) {
            return HG_WH_ERR_FORMAT;
        }
    }

    plen = cf->prefix ? strlen(cf->prefix) : 0;

    if (v.len < plen || (plen && memcmp(v.data, cf->prefix, plen) != 0)) {
        return HG_WH_ERR_FORMAT;
    }

    n = cf->encoding == HG_WH_HEX
        ? hg_wh_hex_decode(v.data + plen, v.len - plen, sigs.sig[0],
                           HG_WH_MAC_MAX)
        : hg_wh_b64_decode(v.data + plen, v.len - plen, sigs.sig[0],
                           HG_WH_MAC_MAX);

    if (n != (cf->alg == HG_WH_SHA1 ? 20 : cf->alg == HG_WH_SHA512 ? 64 : 32))
    {
        return HG_WH_ERR_FORMAT;
    }

    sigs.len[0] = (size_t) n;
    sigs.nsigs = 1;

    pl.nparts = 0;

    if (cf->payload_ts) {
        hg_wh_add(&pl, ts.data, ts.len);
        hg_wh_add(&pl, ".", 1);
    }

    hg_wh_add(&pl, r->body.data, r->body.len);

    rc = hg_wh_match(cf, digest, &pl, &sigs, 0);

    if (rc != HG_WH_OK || !cf->payload_ts) {
        return rc;
    }

    return hg_wh_check_ts(cf, t, r->now);
}


/* the header, blanks trimmed */

static int
hg_wh_header(const hg_wh_request_t *r, const char *name, hg_wh_str_t *value)
{
    if (r->header == NULL || r->header(r->ctx, name, value) != 0) {
        return -1;
    }

    if (value->data == NULL) {
        value->data = "";
        value->len = 0;
    }

    hg_wh_trim(value);

    return 0;
}


/* value NULL: just empties id */

static int
hg_wh_set_id(const hg_wh_str_t *value, char *id, size_t idlen)
{
    size_t  i, n;

    if (id != NULL && idlen > 0) {
        id[0] = '\0';
    }

    if (value == NULL) {
        return 0;
    }

    if (value->len == 0 || value->len > HG_WH_ID_MAX) {
        return -1;
    }

    for (i = 0; i < value->len; i++) {
        if (value->data[i] < 0x21 || value->data[i] > 0x7e) {
            return -1;
        }
    }

    if (id == NULL || idlen == 0) {
        return 0;
    }

    n = value->len < idlen - 1 ? value->len : idlen - 1;
    memcpy(id, value->data, n);
    id[n] = '\0';

    return 0;
}


/* decimal seconds, 1 to HG_WH_TS_DIGITS digits, nothing else */

static int
hg_wh_parse_ts(const hg_wh_str_t *v, long long *t)
{
    size_t     i;
    long long  n;

    if (v->len == 0 || v->len > HG_WH_TS_DIGITS) {
        return -1;
    }

    n = 0;

    for (i = 0; i < v->len; i++) {
        if (v->data[i] < '0' || v->data[i] > '9') {
            return -1;
        }

        n = n * 10 + (v->data[i] - '0');
    }

    *t = n;

    return 0;
}


static int
hg_wh_check_ts(const hg_wh_config_t *cf, long long t, time_t now)
{
    long long  tol, n;

    if (cf->tolerance < 0) {
        return HG_WH_OK;
    }

    tol = cf->tolerance ? cf->tolerance : HG_WH_DEFAULT_TOLERANCE;
    n = (long long) now;

    /* t is below 10^18: the differences cannot overflow */
    if (n < 0 || n > LLONG_MAX / 2) {
        return HG_WH_ERR_INTERNAL;
    }

    if (n - t > tol) {
        return HG_WH_ERR_STALE;
    }

    if (t - n > tol) {
        return HG_WH_ERR_FUTURE;
    }

    return HG_WH_OK;
}


/*
 * One MAC per secret, compared with every offered signature.  whsec:
 * the key is the base64 part of "whsec_<base64>" (Standard Webhooks).
 */

static int
hg_wh_match(const hg_wh_config_t *cf, const char *digest,
    const hg_wh_payload_t *pl, const hg_wh_sigs_t *sigs, int whsec)
{
    int                   rc, match;
    size_t                i, k, mac_len, key_len;
    EVP_MAC              *hmac;
    const unsigned char  *key;
    unsigned char         mac[HG_WH_MAC_MAX], buf[HG_WH_KEY_MAX];

    if (hg_wh_check_secrets(cf) != NULL) {
        return HG_WH_ERR_INTERNAL;
    }

    hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);

    if (hmac == NULL) {
        ERR_clear_error();
        return HG_WH_ERR_INTERNAL;
    }

    rc = HG_WH_OK;
    match = 0;

    for (i = 0; i < cf->nsecrets && rc == HG_WH_OK; i++) {
        key = cf->secrets[i];
        key_len = cf->secret_lens[i];

        if (whsec) {
            if (hg_wh_whsec_key(key, key_len, buf, &key_len) != 0) {
                rc = HG_WH_ERR_INTERNAL;
                break;
            }

            key = buf;
        }

        if (hg_wh_mac(hmac, digest, key, key_len, pl, mac, &mac_len) != 0) {
            rc = HG_WH_ERR_INTERNAL;
            break;
        }

        for (k = 0; k < sigs->nsigs; k++) {
            if (sigs->len[k] == mac_len) {
                match |= (CRYPTO_memcmp(sigs->sig[k], mac, mac_len) == 0);
            }
        }
    }

    EVP_MAC_free(hmac);
    OPENSSL_cleanse(mac, sizeof(mac));
    OPENSSL_cleanse(buf, sizeof(buf));

    if (rc != HG_WH_OK) {
        ERR_clear_error();
        return rc;
    }

    return match ? HG_WH_OK : HG_WH_ERR_SIGNATURE;
}


static int
hg_wh_mac(EVP_MAC *hmac, const char *digest, const unsigned char *key,
    size_t key_len, const hg_wh_payload_t *pl, unsigned char *mac,
    size_t *mac_len)
{
    int           rc;
    size_t        i;
    OSSL_PARAM    params[2];
    EVP_MAC_CTX  *ctx;

    ctx = EVP_MAC_CTX_new(hmac);

    if (ctx == NULL) {
        return -1;
    }

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *) digest, 0);
    params[1] = OSSL_PARAM_construct_end();

    rc = EVP_MAC_init(ctx, key, key_len, params) == 1 ? 0 : -1;

    for (i = 0; rc == 0 && i < pl->nparts; i++) {
        if (pl->part[i].len
            && EVP_MAC_update(ctx, (const unsigned char *) pl->part[i].data,
                              pl->part[i].len)
               != 1)
        {
            rc = -1;
        }
    }

    if (rc == 0
        && EVP_MAC_final(ctx, mac, mac_len, HG_WH_MAC_MAX) != 1)
    {
        rc = -1;
    }

    EVP_MAC_CTX_free(ctx);

    return rc;
}


/* "whsec_<base64>" (the prefix may be absent) to 1..HG_WH_KEY_MAX bytes */

static int
hg_wh_whsec_key(const unsigned char *secret, size_t len, unsigned char *key,
    size_t *key_len)
{
    int          n;
    const char  *s;

    s = (const char *) secret;

    if (len >= sizeof(HG_WH_WHSEC) - 1
        && memcmp(s, HG_WH_WHSEC, sizeof(HG_WH_WHSEC) - 1) == 0)
    {
        s += sizeof(HG_WH_WHSEC) - 1;
        len -= sizeof(HG_WH_WHSEC) - 1;
    }

    n = hg_wh_b64_decode(s, len, key, HG_WH_KEY_MAX);

    if (n <= 0) {
        return -1;
    }

    *key_len = (size_t) n;

    return 0;
}


static void
hg_wh_add(hg_wh_payload_t *pl, const char *data, size_t len)
{
    /* callers add at most HG_WH_MAX_PARTS parts */
    pl->part[pl->nparts].data = data;
    pl->part[pl->nparts].len = data ? len : 0;
    pl->nparts++;
}


/* either case; returns the byte count, or -1 */

static int
hg_wh_hex_decode(const char *in, size_t len, unsigned char *out,
    size_t size)
{
    int     hi, lo;
    size_t  i;

    if (len % 2 != 0 || len / 2 > size) {
        return -1;
    }

    for (i = 0; i < len; i += 2) {
        hi = OPENSSL_hexchar2int((unsigned char) in[i]);
        lo = OPENSSL_hexchar2int((unsigned char) in[i + 1]);

        if (hi < 0 || lo < 0) {
            return -1;
        }

        out[i / 2] = (unsigned char) (hi << 4 | lo);
    }

    return (int) (len / 2);
}


/*
 * Standard alphabet; the padding may be left out, but if present it is
 * exact, and the unused bits of the last character must be zero, so one
 * signature has one spelling.  Returns the byte count, or -1.
 */

static int
hg_wh_b64_decode(const char *in, size_t len, unsigned char *out,
    size_t size)
{
    int       v;
    size_t    i, n, pad, rem;
    uint32_t  acc;

    pad = 0;

    while (pad < 2 && len > pad && in[len - 1 - pad] == '=') {
        pad++;
    }

    len -= pad;
    rem = len % 4;

    if (rem == 1 || (pad && (len + pad) % 4 != 0)
        || len / 4 * 3 + (rem ? rem - 1 : 0) > size)
    {
        return -1;
    }

    acc = 0;
    n = 0;

    for (i = 0; i < len; i++) {
        v = hg_wh_b64_value((unsigned char) in[i]);

        if (v < 0) {
            return -1;
        }

        acc = acc << 6 | (uint32_t) v;

        if (i % 4 == 3) {
            out[n++] = (unsigned char) (acc >> 16);
            out[n++] = (unsigned char) (acc >> 8);
            out[n++] = (unsigned char) acc;
            acc = 0;
        }
    }

    if (rem == 2) {
        if (acc & 0xf) {
            return -1;
        }

        out[n++] = (unsigned char) (acc >> 4);

    } else if (rem == 3) {
        if (acc & 0x3) {
            return -1;
        }

        out[n++] = (unsigned char) (acc >> 10);
        out[n++] = (unsigned char) (acc >> 2);
    }

    return (int) n;
}


static int
hg_wh_b64_value(int c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }

    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }

    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }

    if (c == '+') {
        return 62;
    }

    if (c == '/') {
        return 63;
    }

    return -1;
}


static void
hg_wh_trim(hg_wh_str_t *v)
{
    while (v->len && (v->data[0] == ' ' || v->data[0] == '\t')) {
        v->data++;
        v->len--;
    }

    while (v->len
           && (v->data[v->len - 1] == ' ' || v->data[v->len - 1] == '\t'))
    {
        v->len--;
    }
}


/* the next non-empty item before sep; -1 when none is left */

static int
hg_wh_next_item(hg_wh_str_t *rest, int sep, hg_wh_str_t *item)
{
    const char  *p;

    for ( ;; ) {
        if (rest->len == 0) {
            return -1;
        }

        p = memchr(rest->data, sep, rest->len);

        item->data = rest->data;
        item->len = p ? (size_t) (p - rest->data) : rest->len;

        rest->data += p ? item->len + 1 : item->len;
        rest->len -= p ? item->len + 1 : item->len;

        if (item->len != 0) {
            return 0;
        }
    }
}
