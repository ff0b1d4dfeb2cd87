
/*
 * hg_webhook: the webhook signature schemes.  Signatures are made here
 * with OpenSSL's one-shot HMAC, independently of the code under test.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hg_webhook.h"


#define NOW       1700000000
#define MAX_HDRS  8
#define URL       "https://shop.example/hooks/square"

#define S1        "whsec_first_secret_for_tests_0001"
#define S2        "whsec_second_secret_for_tests_002"
#define S3        "whsec_unrelated_secret_for_tests3"

/* Standard Webhooks keys: "whsec_" + base64 of the key bytes */
#define W1        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define W2        "whsec_c2Vjb25kIGtleSBmb3IgdGVzdHM="
#define W3        "whsec_dW5yZWxhdGVkIGtleQ=="


typedef struct {
    const char  *name[MAX_HDRS];
    char        *value[MAX_HDRS];
    size_t       n;
} hdrs_t;


typedef struct {
    const unsigned char  *secret[2];
    size_t                len[2];
    hg_wh_config_t        cf;
} conf_t;


static int
lookup(void *ctx, const char *name, hg_wh_str_t *value)
{
    size_t   i;
    hdrs_t  *h;

    h = ctx;

    for (i = 0; i < h->n; i++) {
        if (strcasecmp(h->name[i], name) == 0) {
            value->data = h->value[i];
            value->len = strlen(h->value[i]);
            return 0;
        }
    }

    return -1;
}


/* takes a malloc'ed value */
static void
hdr_set(hdrs_t *h, const char *name, char *value)
{
    size_t  i;

    for (i = 0; i < h->n; i++) {
        if (strcasecmp(h->name[i], name) == 0) {
            free(h->value[i]);
            h->value[i] = value;
            return;
        }
    }

    assert_true(h->n < MAX_HDRS);
    h->name[h->n] = name;
    h->value[h->n++] = value;
}


static void
hdr_del(hdrs_t *h, const char *name)
{
    size_t  i;

    for (i = 0; i < h->n; i++) {
        if (strcasecmp(h->name[i], name) == 0) {
            free(h->value[i]);
            h->name[i] = h->name[h->n - 1];
            h->value[i] = h->value[h->n - 1];
            h->n--;
            return;
        }
    }
}


static void
hdr_free(hdrs_t *h)
{
    while (h->n) {
        free(h->value[--h->n]);
    }
}


static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));


static char *
fmt(const char *f, ...)
{
    int      n;
    char    *s;
    va_list  args;

    va_start(args, f);
    n = vasprintf(&s, f, args);
    va_end(args);
    assert_true(n >= 0);

    return s;
}


/* one or two secrets; the rest zero (scheme defaults) */
static void
conf(conf_t *c, const char *s1, const char *s2)
{
    memset(c, 0, sizeof(*c));
    c->secret[0] = (const unsigned char *) s1;
    c->len[0] = strlen(s1);
    c->cf.nsecrets = 1;

    if (s2 != NULL) {
        c->secret[1] = (const unsigned char *) s2;
        c->len[1] = strlen(s2);
        c->cf.nsecrets = 2;
    }

    c->cf.secrets = c->secret;
    c->cf.secret_lens = c->len;
}


static int
run_url(const char *scheme, const conf_t *c, hdrs_t *h, const char *body,
    size_t body_len, const char *url, time_t now, char *id, size_t idlen)
{
    hg_wh_request_t        r;
    const hg_wh_scheme_t  *s;

    s = hg_wh_scheme(scheme);
    assert_non_null(s);
    assert_null(s->check(&c->cf));

    r.body.data = body;
    r.body.len = body_len;
    r.url.data = url;
    r.url.len = url ? strlen(url) : 0;
    r.header = lookup;
    r.ctx = h;
    r.now = now;

    return s->verify(&c->cf, &r, id, idlen);
}


static int
run(const char *scheme, const conf_t *c, hdrs_t *h, const char *body)
{
    char  id[HG_WH_ID_MAX + 1];

    return run_url(scheme, c, h, body, strlen(body), URL, NOW, id,
                   sizeof(id));
}


/* HMAC(key, a || b) */
static unsigned int
mac(const EVP_MD *md, const void *key, size_t key_len, const char *a,
    size_t a_len, const char *b, size_t b_len, unsigned char *out)
{
    char          *buf;
    unsigned int   n;

    buf = malloc(a_len + b_len + 1);
    assert_non_null(buf);
    memcpy(buf, a, a_len);
    memcpy(buf + a_len, b, b_len);
    assert_non_null(HMAC(md, key, (int) key_len, (unsigned char *) buf,
                         a_len + b_len, out, &n));
    free(buf);

    return n;
}


static char *
hex(const unsigned char *in, size_t len)
{
    char    *s;
    size_t   i;

    s = malloc(2 * len + 1);
    assert_non_null(s);

    for (i = 0; i < len; i++) {
        sprintf(s + 2 * i, "%02x", in[i]);
    }

    return s;
}


static char *
b64(const unsigned char *in, size_t len)
{
    char  *s;

    s = malloc(4 * ((len + 2) / 3) + 1);
    assert_non_null(s);
    EVP_EncodeBlock((unsigned char *) s, in, (int) len);

    return s;
}


/* Stripe: "<hex HMAC-SHA256(secret, t.body)>" */
static char *
stripe_sig(const char *secret, long long t, const char *body, size_t len)
{
    char           *pre, *s;
    unsigned int    n;
    unsigned char   m[EVP_MAX_MD_SIZE];

    pre = fmt("%lld.", t);
    n = mac(EVP_sha256(), secret, strlen(secret), pre, strlen(pre), body,
            len, m);
    s = hex(m, n);
    free(pre);

    return s;
}


static void
stripe_set(hdrs_t *h, const char *secret, long long t, const char *body)
{
    char  *sig;

    sig = stripe_sig(secret, t, body, strlen(body));
    hdr_set(h, "Stripe-Signature", fmt("t=%lld,v1=%s", t, sig));
    free(sig);
}


static void
test_scheme_table(void **state)
{
    conf_t                 c;
    const hg_wh_scheme_t  *s;

    static const char     *names[] = {
        "stripe", "square", "intuit", "standard", "github", "mailchimp",
        "hmac"
    };
    size_t                 i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        s = hg_wh_scheme(names[i]);
        assert_non_null(s);
        assert_string_equal(s->name, names[i]);
    }

    assert_null(hg_wh_scheme("pubsub"));
    assert_null(hg_wh_scheme("Stripe"));
    assert_null(hg_wh_scheme(""));
    assert_null(hg_wh_scheme(NULL));

    assert_string_equal(hg_wh_strerror(HG_WH_OK), "ok");
    assert_string_equal(hg_wh_strerror(HG_WH_ERR_STALE), "stale");
    assert_string_equal(hg_wh_strerror(HG_WH_ERR_FUTURE), "future");
    assert_string_equal(hg_wh_strerror(HG_WH_ERR_SIGNATURE), "signature");
    assert_string_equal(hg_wh_strerror(-1), "internal");
    assert_string_equal(hg_wh_strerror(99), "internal");

    /* configuration checks */
    memset(&c, 0, sizeof(c));
    assert_non_null(hg_wh_scheme("stripe")->check(&c.cf));
    conf(&c, "", NULL);
    assert_non_null(hg_wh_scheme("github")->check(&c.cf));
    conf(&c, "not base64 !", NULL);
    assert_non_null(hg_wh_scheme("standard")->check(&c.cf));
    assert_null(hg_wh_scheme("stripe")->check(&c.cf));
    conf(&c, "whsec_", NULL);
    assert_non_null(hg_wh_scheme("standard")->check(&c.cf));
    conf(&c, W1, W2);
    assert_null(hg_wh_scheme("standard")->check(&c.cf));
    c.cf.nsecrets = HG_WH_MAX_SECRETS + 1;
    assert_non_null(hg_wh_scheme("stripe")->check(&c.cf));

    conf(&c, S1, NULL);
    assert_non_null(hg_wh_scheme("hmac")->check(&c.cf));
    c.cf.header_name = "X-Sig";
    assert_null(hg_wh_scheme("hmac")->check(&c.cf));
    c.cf.alg = 7;
    assert_non_null(hg_wh_scheme("hmac")->check(&c.cf));
    c.cf.alg = HG_WH_SHA1;
    c.cf.encoding = 5;
    assert_non_null(hg_wh_scheme("hmac")->check(&c.cf));
    c.cf.encoding = HG_WH_BASE64;
    c.cf.payload_ts = 1;
    assert_non_null(hg_wh_scheme("hmac")->check(&c.cf));
    c.cf.ts_header = "X-Ts";
    assert_null(hg_wh_scheme("hmac")->check(&c.cf));
}


static void
test_stripe(void **state)
{
    char         *sig, *bad;
    conf_t        c;
    hdrs_t        h = { { 0 }, { 0 }, 0 };
    const char   *body = "{\"id\":\"evt_1\",\"type\":\"charge.succeeded\"}";
    char          id[HG_WH_ID_MAX + 1];

    conf(&c, S1, NULL);

    /* missing */
    assert_int_equal(run("stripe", &c, &h, body), HG_WH_ERR_MISSING);

    stripe_set(&h, S1, NOW, body);
    id[0] = 'x';
    assert_int_equal(run_url("stripe", &c, &h, body, strlen(body), NULL,
                             NOW, id, sizeof(id)), HG_WH_OK);
    assert_string_equal(id, "");

    /* tampered body */
    assert_int_equal(run("stripe", &c, &h,
                         "{\"id\":\"evt_1\",\"type\":\"charge.refunded\"}"),
                     HG_WH_ERR_SIGNATURE);

    /* wrong secret */
    conf(&c, S3, NULL);
    assert_int_equal(run("stripe", &c, &h, body), HG_WH_ERR_SIGNATURE);

    /* rotation: the second secret of two */
    conf(&c, S3, S1);
    assert_int_equal(run("stripe", &c, &h, body), HG_WH_OK);

    /* several v1, v0 ignored, spaces tolerated around the value */
    sig = stripe_sig(S2, NOW, body, strlen(body));
    bad = stripe_sig(S3, NOW, body, strlen(body));
    conf(&c, S1, S2);
    hdr_set(&h, "Stripe-Signature",
            fmt("  t=%d,v1=%s,v1=%s,v0=%s  ", NOW, bad, sig, bad));
    assert_int_equal(run("stripe", &c, &h, body), HG_WH_OK);
    hdr_set(&h, "Stripe-Signature", fmt("v1=%s,t=%d", sig, NOW));
    assert_int_equal(run("stripe", &c, &h, body), HG_WH_OK);
    hdr_set(&h, "Stripe-Signature", fmt("t=%d,v1=%s", NOW, bad));
    assert_int_equal(run("stripe", &c, &h, body), HG_WH_ERR_SIGNATURE);

    /* the timestamp is signed */
    hdr_set(&h, "Stripe-Signature", fmt("t=%d,v1=%s", NOW + 1, sig));
    assert_int_equal(run("stripe", &c, &h, body), HG_WH_ERR_SIGNATURE);

    /* uppercase hex decodes to the same MAC */
    {
        char  *p, *up;

        up = fmt("%s", sig);

        for (p = up; *p; p++) {
            if (*p >= 'a' && *p <= 'f') {
                *p = (char) (*p - 'a' + 'A');
            }
        }

        hdr_set(&h, "Stripe-Signature", fmt("t=%d,v1=%s", NOW, up));
        assert_int_equal(run("stripe", &c, &h, body), HG_WH_OK);
        free(up);
    }

    /* malformed */
    hdr_set(&h, "Stripe-Signature", fmt("t=abc,v1=%s", sig));
    assert_int_equal(run("stripe", &c, &h, body), HG_WH_ERR_FORMAT);
    hdr_set(&h, "Stripe-Signature", fmt("t=-5,v1=%s", sig));
    assert_int_equal(run("stripe", &c, &h, body), HG_WH_ERR_FORMAT);
    hdr_set(&h, "Stripe-Signature", fmt("v1=%s", sig));
    assert_int_equal(run("stripe", &c, &h, body), HG_WH_ERR_FORMAT);
    hdr_set(&h, "Stripe-Signature", fmt("t=%d", NOW));
    assert_int_equal(run("stripe", &c, &h, body), HG_WH_ERR_FORMAT);
    hdr_set(&h, "Stripe-Signature", fmt("t=%d,v0=%s", NOW, sig));
    assert_int_equal(run("stripe", &c, &h, body), HG_WH_ERR_FORMAT);
    hdr_set(&h, "Stripe-Signature", fmt("t=%d,t=%d,v1=%s", NOW, NOW, sig));
    assert_int_equal(run("stripe", &c, &h, body), HG_WH_ERR_FORMAT);
    hdr_set(&h, "Stripe-Signature", fmt("t=%d,v1=%.62s", NOW, sig));
    assert_int_equal(run("stripe", &c, &h, body), HG_WH_ERR_FORMAT);
    hdr_set(&h, "Stripe-Signature", fmt("t=%d,v1=%sff", NOW, sig));
    assert_int_equal(run("stripe", &c, &h, body), HG_WH_ERR_FORMAT);
    hdr_set(&h, "Stripe-Signature", fmt("t=%d,v1=%.63sg", NOW, sig));
    assert_int_equal(run("stripe", &c, &h, body), HG_WH_ERR_FORMAT);
    hdr_set(&h, "Stripe-Signature", fmt("t=1234567890123456789,v1=%s", sig));
    assert_int_equal(run("stripe", &c, &h, body), HG_WH_ERR_FORMAT);
    hdr_set(&h, "Stripe-Signature", fmt("%s", ""));
    assert_int_equal(run("stripe", &c, &h, body), HG_WH_ERR_FORMAT);
    hdr_set(&h, "Stripe-Signature",
            fmt("t=%d,v1=%s,v1=%s,v1=%s,v1=%s,v1=%s,v1=%s,v1=%s,v1=%s,v1=%s",
                NOW, bad, bad, bad, bad, bad, bad, bad, bad, sig));
    assert_int_equal(run("stripe", &c, &h, body), HG_WH_ERR_FORMAT);

    free(sig);
    free(bad);
    hdr_free(&h);
}


static void
test_stripe_time(void **state)
{
    conf_t        c;
    hdrs_t        h = { { 0 }, { 0 }, 0 };
    const char   *body = "{}";

    conf(&c, S1, NULL);

    stripe_set(&h, S1, NOW - 300, body);
    assert_int_equal(run("stripe", &c, &h, body), HG_WH_OK);
    stripe_set(&h, S1, NOW - 301, body);
    assert_int_equal(run("stripe", &c, &h, body), HG_WH_ERR_STALE);
    stripe_set(&h, S1, NOW + 300, body);
    assert_int_equal(run("stripe", &c, &h, body), HG_WH_OK);
    stripe_set(&h, S1, NOW + 301, body);
    assert_int_equal(run("stripe", &c, &h, body), HG_WH_OK);     /* ahead */
    stripe_set(&h, S1, 0, body);
    assert_int_equal(run("stripe", &c, &h, body), HG_WH_ERR_STALE);

    /* the signature comes first: an unsigned stale header is a forgery */
    stripe_set(&h, S3, NOW - 1000, body);
    assert_int_equal(run("stripe", &c, &h, body), HG_WH_ERR_SIGNATURE);

    /* a tolerance of our own, and none */
    c.cf.tolerance = 10;
    stripe_set(&h, S1, NOW - 11, body);
    assert_int_equal(run("stripe", &c, &h, body), HG_WH_ERR_STALE);
    stripe_set(&h, S1, NOW - 10, body);
    assert_int_equal(run("stripe", &c, &h, body), HG_WH_OK);
    stripe_set(&h, S1, NOW + 1000, body);
    assert_int_equal(run("stripe", &c, &h, body), HG_WH_OK);
    c.cf.tolerance = -1;
    stripe_set(&h, S1, 1, body);
    assert_int_equal(run("stripe", &c, &h, body), HG_WH_OK);

    /* an extreme tolerance does not overflow */
    c.cf.tolerance = LONG_MAX;
    stripe_set(&h, S1, 999999999999999999LL, body);
    assert_int_equal(run("stripe", &c, &h, body), HG_WH_OK);

    hdr_free(&h);
}


/* Standard Webhooks: v1,<base64 HMAC-SHA256(key, id.ts.body)> */
static char *
standard_sig(const char *whsec, const char *msg_id, long long t,
    const char *body)
{
    int             klen;
    char           *pre, *s, *b;
    const char     *k;
    unsigned int    n;
    unsigned char   key[256], m[EVP_MAX_MD_SIZE];

    k = whsec + 6;
    klen = EVP_DecodeBlock(key, (const unsigned char *) k, (int) strlen(k));
    assert_true(klen > 0);

    /* EVP_DecodeBlock counts the padding as zero bytes */
    if (strlen(k) >= 1 && k[strlen(k) - 1] == '=') {
        klen--;
    }

    if (strlen(k) >= 2 && k[strlen(k) - 2] == '=') {
        klen--;
    }

    pre = fmt("%s.%lld.", msg_id, t);
    n = mac(EVP_sha256(), key, (size_t) klen, pre, strlen(pre), body,
            strlen(body), m);
    b = b64(m, n);
    s = fmt("v1,%s", b);
    free(b);
    free(pre);

    return s;
}


static void
standard_set(hdrs_t *h, const char *whsec, const char *msg_id, long long t,
    const char *body)
{
    hdr_set(h, "webhook-id", fmt("%s", msg_id));
    hdr_set(h, "webhook-timestamp", fmt("%lld", t));
    hdr_set(h, "webhook-signature", standard_sig(whsec, msg_id, t, body));
}


static void
test_standard(void **state)
{
    char         *good, *bad;
    conf_t        c;
    hdrs_t        h = { { 0 }, { 0 }, 0 };
    const char   *body = "{\"type\":\"invoice.paid\"}";
    char          id[HG_WH_ID_MAX + 1];

    conf(&c, W1, NULL);
    assert_int_equal(run("standard", &c, &h, body), HG_WH_ERR_MISSING);

    standard_set(&h, W1, "msg_2a", NOW, body);
    assert_int_equal(run_url("standard", &c, &h, body, strlen(body), NULL,
                             NOW, id, sizeof(id)), HG_WH_OK);
    assert_string_equal(id, "msg_2a");

    /* a small id buffer truncates, none is fine */
    assert_int_equal(run_url("standard", &c, &h, body, strlen(body), NULL,
                             NOW, id, 4), HG_WH_OK);
    assert_string_equal(id, "msg");
    assert_int_equal(run_url("standard", &c, &h, body, strlen(body), NULL,
                             NOW, NULL, 0), HG_WH_OK);

    /* tampered body, id and timestamp are all signed */
    assert_int_equal(run("standard", &c, &h, "{\"type\":\"invoice.void\"}"),
                     HG_WH_ERR_SIGNATURE);
    hdr_set(&h, "webhook-id", fmt("msg_2b"));
    assert_int_equal(run("standard", &c, &h, body), HG_WH_ERR_SIGNATURE);
    hdr_set(&h, "webhook-id", fmt("msg_2a"));
    hdr_set(&h, "webhook-timestamp", fmt("%d", NOW + 1));
    assert_int_equal(run("standard", &c, &h, body), HG_WH_ERR_SIGNATURE);

    /* wrong secret; rotation */
    standard_set(&h, W1, "msg_2a", NOW, body);
    conf(&c, W3, NULL);
    assert_int_equal(run("standard", &c, &h, body), HG_WH_ERR_SIGNATURE);
    conf(&c, W3, W1);
    assert_int_equal(run("standard", &c, &h, body), HG_WH_OK);

    /* the key is the decoded part, not the "whsec_" string */
    conf(&c, W2, NULL);
    standard_set(&h, W2, "msg_2a", NOW, body);
    assert_int_equal(run("standard", &c, &h, body), HG_WH_OK);
    conf(&c, "c2Vjb25kIGtleSBmb3IgdGVzdHM=", NULL);
    assert_int_equal(run("standard", &c, &h, body), HG_WH_OK);

    /* several signatures, other versions ignored */
    conf(&c, W1, NULL);
    good = standard_sig(W1, "msg_2a", NOW, body);
    bad = standard_sig(W3, "msg_2a", NOW, body);
    hdr_set(&h, "webhook-signature",
            fmt("v1a,AAAA %s  v2,xyz %s", bad, good));
    assert_int_equal(run("standard", &c, &h, body), HG_WH_OK);
    hdr_set(&h, "webhook-signature", fmt("%s", bad));
    assert_int_equal(run("standard", &c, &h, body), HG_WH_ERR_SIGNATURE);

    /* missing parts */
    hdr_set(&h, "webhook-signature", fmt("%s", good));
    hdr_del(&h, "webhook-timestamp");
    assert_int_equal(run("standard", &c, &h, body), HG_WH_ERR_MISSING);
    hdr_set(&h, "webhook-timestamp", fmt("%d", NOW));
    hdr_del(&h, "webhook-signature");
    assert_int_equal(run("standard", &c, &h, body), HG_WH_ERR_MISSING);
    hdr_set(&h, "webhook-signature", fmt("%s", good));
    assert_int_equal(run("standard", &c, &h, body), HG_WH_OK);

    /* malformed */
    hdr_set(&h, "webhook-timestamp", fmt("%d.5", NOW));
    assert_int_equal(run("standard", &c, &h, body), HG_WH_ERR_FORMAT);
    hdr_set(&h, "webhook-timestamp", fmt("%d", NOW));
    hdr_set(&h, "webhook-signature", fmt("v1a,AAAA"));
    assert_int_equal(run("standard", &c, &h, body), HG_WH_ERR_FORMAT);
    hdr_set(&h, "webhook-signature", fmt("v1,%s", "!!notbase64!!"));
    assert_int_equal(run("standard", &c, &h, body), HG_WH_ERR_FORMAT);
    hdr_set(&h, "webhook-signature", fmt("v1,%.40s", good + 3));
    assert_int_equal(run("standard", &c, &h, body), HG_WH_ERR_FORMAT);
    hdr_set(&h, "webhook-signature", fmt("%s", good));
    hdr_set(&h, "webhook-id", fmt("msg 2a"));
    assert_int_equal(run("standard", &c, &h, body), HG_WH_ERR_FORMAT);
    hdr_set(&h, "webhook-id", fmt("%s", ""));
    assert_int_equal(run("standard", &c, &h, body), HG_WH_ERR_FORMAT);

    /* padding may be left out, but not be wrong */
    {
        char  *nopad;

        nopad = fmt("%s", good);
        assert_true(nopad[strlen(nopad) - 1] == '=');
        nopad[strlen(nopad) - 1] = '\0';
        hdr_set(&h, "webhook-id", fmt("msg_2a"));
        hdr_set(&h, "webhook-signature", fmt("%s", nopad));
        assert_int_equal(run("standard", &c, &h, body), HG_WH_OK);
        hdr_set(&h, "webhook-signature", fmt("%s==", nopad));
        assert_int_equal(run("standard", &c, &h, body), HG_WH_ERR_FORMAT);
        free(nopad);
    }

    /* the svix-* names */
    hdr_free(&h);
    hdr_set(&h, "svix-id", fmt("msg_2a"));
    hdr_set(&h, "svix-timestamp", fmt("%d", NOW));
    hdr_set(&h, "svix-signature", fmt("%s", good));
    assert_int_equal(run("standard", &c, &h, body), HG_WH_OK);

    free(good);
    free(bad);
    hdr_free(&h);
}


static void
test_standard_time(void **state)
{
    conf_t        c;
    hdrs_t        h = { { 0 }, { 0 }, 0 };
    const char   *body = "{}";

    conf(&c, W1, NULL);

    standard_set(&h, W1, "msg_t", NOW - 300, body);
    assert_int_equal(run("standard", &c, &h, body), HG_WH_OK);
    standard_set(&h, W1, "msg_t", NOW - 301, body);
    assert_int_equal(run("standard", &c, &h, body), HG_WH_ERR_STALE);
    standard_set(&h, W1, "msg_t", NOW + 300, body);
    assert_int_equal(run("standard", &c, &h, body), HG_WH_OK);
    standard_set(&h, W1, "msg_t", NOW + 301, body);
    assert_int_equal(run("standard", &c, &h, body), HG_WH_ERR_FUTURE);
    standard_set(&h, W3, "msg_t", NOW + 301, body);
    assert_int_equal(run("standard", &c, &h, body), HG_WH_ERR_SIGNATURE);

    hdr_free(&h);
}


/* the example of the Standard Webhooks / Svix documentation */
static void
test_standard_vector(void **state)
{
    conf_t        c;
    hdrs_t        h = { { 0 }, { 0 }, 0 };
    const char   *body = "{\"test\": 2432232314}";

    conf(&c, W1, NULL);
    hdr_set(&h, "webhook-id", fmt("msg_p5jXN8AQM9LWM0D4loKWxJek"));
    hdr_set(&h, "webhook-timestamp", fmt("1614265330"));
    hdr_set(&h, "webhook-signature",
            fmt("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));

    assert_int_equal(run_url("standard", &c, &h, body, strlen(body), NULL,
                             1614265330, NULL, 0), HG_WH_OK);

    hdr_free(&h);
}


static void
github_set(hdrs_t *h, const char *secret, const char *body, size_t len)
{
    char           *s;
    unsigned int    n;
    unsigned char   m[EVP_MAX_MD_SIZE];

    n = mac(EVP_sha256(), secret, strlen(secret), "", 0, body, len, m);
    s = hex(m, n);
    hdr_set(h, "X-Hub-Signature-256", fmt("sha256=%s", s));
    free(s);
}


static void
test_github(void **state)
{
    conf_t        c;
    hdrs_t        h = { { 0 }, { 0 }, 0 };
    char          id[HG_WH_ID_MAX + 1];

    /* GitHub's documented example */
    conf(&c, "It's a Secret to Everybody", NULL);
    hdr_set(&h, "X-Hub-Signature-256",
            fmt("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f"
                "4379c8b043e17"));
    hdr_set(&h, "X-GitHub-Delivery",
            fmt("72d3162e-cc78-11e3-81ab-4c9367dc0958"));

    assert_int_equal(run_url("github", &c, &h, "Hello, World!", 13, NULL,
                             NOW, id, sizeof(id)), HG_WH_OK);
    assert_string_equal(id, "72d3162e-cc78-11e3-81ab-4c9367dc0958");

    /* tampered body; the id is still reported */
    id[0] = '\0';
    assert_int_equal(run_url("github", &c, &h, "Hello, World?", 13, NULL,
                             NOW, id, sizeof(id)), HG_WH_ERR_SIGNATURE);
    assert_string_equal(id, "72d3162e-cc78-11e3-81ab-4c9367dc0958");

    /* wrong secret, then the second of two */
    conf(&c, "It's a secret to everybody", NULL);
    assert_int_equal(run("github", &c, &h, "Hello, World!"),
                     HG_WH_ERR_SIGNATURE);
    conf(&c, "It's a secret to everybody", "It's a Secret to Everybody");
    assert_int_equal(run("github", &c, &h, "Hello, World!"), HG_WH_OK);

    /* no timestamp in this scheme: any now */
    assert_int_equal(run_url("github", &c, &h, "Hello, World!", 13, NULL,
                             0, NULL, 0), HG_WH_OK);

    /* malformed */
    hdr_set(&h, "X-Hub-Signature-256",
            fmt("sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f"
                "4379c8b043e17"));
    assert_int_equal(run("github", &c, &h, "Hello, World!"),
                     HG_WH_ERR_FORMAT);
    hdr_set(&h, "X-Hub-Signature-256",
            fmt("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f"
                "4379c8b043e1"));
    assert_int_equal(run("github", &c, &h, "Hello, World!"),
                     HG_WH_ERR_FORMAT);
    hdr_set(&h, "X-Hub-Signature-256",
            fmt("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f"
                "4379c8b043e1z"));
    assert_int_equal(run("github", &c, &h, "Hello, World!"),
                     HG_WH_ERR_FORMAT);
    github_set(&h, "It's a Secret to Everybody", "Hello, World!", 13);
    hdr_set(&h, "X-GitHub-Delivery", fmt("bad\001id"));
    assert_int_equal(run("github", &c, &h, "Hello, World!"),
                     HG_WH_ERR_FORMAT);
    hdr_del(&h, "X-GitHub-Delivery");
    assert_int_equal(run_url("github", &c, &h, "Hello, World!", 13, NULL,
                             NOW, id, sizeof(id)), HG_WH_OK);
    assert_string_equal(id, "");

    /* missing */
    hdr_del(&h, "X-Hub-Signature-256");
    assert_int_equal(run("github", &c, &h, "Hello, World!"),
                     HG_WH_ERR_MISSING);

    hdr_free(&h);
}


/* base64 HMAC-SHA256(secret, a || body) in header name */
static void
b64_set(hdrs_t *h, const char *name, const char *secret, const char *a,
    const char *body, size_t len)
{
    unsigned int    n;
    unsigned char   m[EVP_MAX_MD_SIZE];

    n = mac(EVP_sha256(), secret, strlen(secret), a, strlen(a), body, len,
            m);
    hdr_set(h, name, b64(m, n));
}


static void
test_square(void **state)
{
    conf_t        c;
    hdrs_t        h = { { 0 }, { 0 }, 0 };
    const char   *body = "{\"merchant_id\":\"M1\",\"type\":\"order.created\"}";
    const char   *hn = "x-square-hmacsha256-signature";

    conf(&c, "sq_signature_key_1", NULL);
    assert_int_equal(run("square", &c, &h, body), HG_WH_ERR_MISSING);

    b64_set(&h, hn, "sq_signature_key_1", URL, body, strlen(body));
    assert_int_equal(run("square", &c, &h, body), HG_WH_OK);
    assert_int_equal(run("square", &c, &h, "{\"merchant_id\":\"M2\"}"),
                     HG_WH_ERR_SIGNATURE);

    /* the URL is signed */
    assert_int_equal(run_url("square", &c, &h, body, strlen(body),
                             URL "2", NOW, NULL, 0), HG_WH_ERR_SIGNATURE);
    assert_int_equal(run_url("square", &c, &h, body, strlen(body), NULL,
                             NOW, NULL, 0), HG_WH_ERR_INTERNAL);

    conf(&c, "sq_signature_key_2", NULL);
    assert_int_equal(run("square", &c, &h, body), HG_WH_ERR_SIGNATURE);
    conf(&c, "sq_signature_key_2", "sq_signature_key_1");
    assert_int_equal(run("square", &c, &h, body), HG_WH_OK);

    /* the hex form, or a truncated base64, is not Square's */
    hdr_set(&h, hn, fmt("%064x", 0));
    assert_int_equal(run("square", &c, &h, body), HG_WH_ERR_FORMAT);
    hdr_set(&h, hn, fmt("AAAA"));
    assert_int_equal(run("square", &c, &h, body), HG_WH_ERR_FORMAT);
    hdr_set(&h, hn, fmt("%s", ""));
    assert_int_equal(run("square", &c, &h, body), HG_WH_ERR_FORMAT);

    hdr_free(&h);
}


static void
test_intuit(void **state)
{
    conf_t        c;
    hdrs_t        h = { { 0 }, { 0 }, 0 };
    const char   *body = "{\"eventNotifications\":[{\"realmId\":\"1\"}]}";

    conf(&c, "verifier-token-1", NULL);
    assert_int_equal(run("intuit", &c, &h, body), HG_WH_ERR_MISSING);

    b64_set(&h, "intuit-signature", "verifier-token-1", "", body,
            strlen(body));
    assert_int_equal(run("intuit", &c, &h, body), HG_WH_OK);
    assert_int_equal(run("intuit", &c, &h, "{\"eventNotifications\":[]}"),
                     HG_WH_ERR_SIGNATURE);

    /* no URL in this payload */
    assert_int_equal(run_url("intuit", &c, &h, body, strlen(body),
                             "https://x.example/", NOW, NULL, 0), HG_WH_OK);

    conf(&c, "verifier-token-2", NULL);
    assert_int_equal(run("intuit", &c, &h, body), HG_WH_ERR_SIGNATURE);
    conf(&c, "verifier-token-2", "verifier-token-1");
    assert_int_equal(run("intuit", &c, &h, body), HG_WH_OK);

    hdr_set(&h, "intuit-signature", fmt("sha256=abc"));
    assert_int_equal(run("intuit", &c, &h, body), HG_WH_ERR_FORMAT);

    hdr_free(&h);
}


static int
chimp(const conf_t *c, const char *url)
{
    hdrs_t  h = { { 0 }, { 0 }, 0 };

    return run_url("mailchimp", c, &h, "type=subscribe", 14, url, NOW, NULL,
                   0);
}


static void
test_mailchimp(void **state)
{
    conf_t  c;

    conf(&c, "Zk3pQ9vT2", NULL);

    assert_int_equal(chimp(&c, "https://h.example/mc?key=Zk3pQ9vT2"),
                     HG_WH_OK);
    assert_int_equal(chimp(&c, "https://h.example/mc?a=1&key=Zk3pQ9vT2&b"),
                     HG_WH_OK);
    assert_int_equal(chimp(&c, "https://h.example/mc?key=Zk3pQ9vT2#frag"),
                     HG_WH_OK);

    /* wrong, longer, shorter */
    assert_int_equal(chimp(&c, "https://h.example/mc?key=Zk3pQ9vT3"),
                     HG_WH_ERR_SIGNATURE);
    assert_int_equal(chimp(&c, "https://h.example/mc?key=Zk3pQ9vT22"),
                     HG_WH_ERR_SIGNATURE);
    assert_int_equal(chimp(&c, "https://h.example/mc?key=Zk3pQ9vT"),
                     HG_WH_ERR_SIGNATURE);

    /* rotation */
    conf(&c, "other", "Zk3pQ9vT2");
    assert_int_equal(chimp(&c, "https://h.example/mc?key=Zk3pQ9vT2"),
                     HG_WH_OK);
    assert_int_equal(chimp(&c, "https://h.example/mc?key=other"), HG_WH_OK);

    /* missing, malformed */
    assert_int_equal(chimp(&c, "https://h.example/mc"), HG_WH_ERR_MISSING);
    assert_int_equal(chimp(&c, "https://h.example/mc?keys=other"),
                     HG_WH_ERR_MISSING);
    assert_int_equal(chimp(&c, "https://h.example/mc?key"),
                     HG_WH_ERR_MISSING);
    assert_int_equal(chimp(&c, NULL), HG_WH_ERR_MISSING);
    assert_int_equal(chimp(&c, "https://h.example/mc?key="),
                     HG_WH_ERR_FORMAT);
    assert_int_equal(chimp(&c, "https://h.example/mc?key=other&key=x"),
                     HG_WH_ERR_FORMAT);
    assert_int_equal(chimp(&c, "https://h.example/mc#?key=other"),
                     HG_WH_ERR_MISSING);

    /* a parameter of our own */
    c.cf.param = "token";
    assert_int_equal(chimp(&c, "https://h.example/mc?key=other"),
                     HG_WH_ERR_MISSING);
    assert_int_equal(chimp(&c, "https://h.example/mc?token=other"),
                     HG_WH_OK);
}


static void
hmac_set(hdrs_t *h, const conf_t *c, const EVP_MD *md, const char *secret,
    const char *ts, const char *body)
{
    char           *pre, *s;
    unsigned int    n;
    unsigned char   m[EVP_MAX_MD_SIZE];

    pre = ts ? fmt("%s.", ts) : fmt("%s", "");
    n = mac(md, secret, strlen(secret), pre, strlen(pre), body,
            strlen(body), m);
    s = c->cf.encoding == HG_WH_HEX ? hex(m, n) : b64(m, n);
    hdr_set(h, c->cf.header_name,
            fmt("%s%s", c->cf.prefix ? c->cf.prefix : "", s));
    free(s);
    free(pre);

    if (ts) {
        hdr_set(h, c->cf.ts_header, fmt("%s", ts));
    }
}


static void
test_hmac_sha1_hex(void **state)
{
    conf_t        c;
    hdrs_t        h = { { 0 }, { 0 }, 0 };
    const char   *body = "payload=1";

    conf(&c, "k1", NULL);
    c.cf.header_name = "X-Signature";
    c.cf.alg = HG_WH_SHA1;
    c.cf.encoding = HG_WH_HEX;
    c.cf.prefix = "sha1=";

    assert_int_equal(run("hmac", &c, &h, body), HG_WH_ERR_MISSING);
    hmac_set(&h, &c, EVP_sha1(), "k1", NULL, body);
    assert_int_equal(run("hmac", &c, &h, body), HG_WH_OK);
    assert_int_equal(run("hmac", &c, &h, "payload=2"), HG_WH_ERR_SIGNATURE);

    conf(&c, "k2", NULL);
    c.cf.header_name = "X-Signature";
    c.cf.alg = HG_WH_SHA1;
    c.cf.prefix = "sha1=";
    assert_int_equal(run("hmac", &c, &h, body), HG_WH_ERR_SIGNATURE);
    conf(&c, "k2", "k1");
    c.cf.header_name = "X-Signature";
    c.cf.alg = HG_WH_SHA1;
    c.cf.prefix = "sha1=";
    assert_int_equal(run("hmac", &c, &h, body), HG_WH_OK);

    /* a SHA-256 length is not a SHA-1 MAC; the prefix is required */
    hdr_set(&h, "X-Signature", fmt("sha1=%064x", 0));
    assert_int_equal(run("hmac", &c, &h, body), HG_WH_ERR_FORMAT);
    hdr_set(&h, "X-Signature", fmt("%040x", 0));
    assert_int_equal(run("hmac", &c, &h, body), HG_WH_ERR_FORMAT);
    hdr_set(&h, "X-Signature", fmt("sha256=%040x", 0));
    assert_int_equal(run("hmac", &c, &h, body), HG_WH_ERR_FORMAT);
    hdr_set(&h, "X-Signature", fmt("sha1=%040x", 0));
    assert_int_equal(run("hmac", &c, &h, body), HG_WH_ERR_SIGNATURE);

    hdr_free(&h);
}


static void
test_hmac_sha512_b64_ts(void **state)
{
    char          ts[32];
    conf_t        c;
    hdrs_t        h = { { 0 }, { 0 }, 0 };
    const char   *body = "{\"n\":1}";

    conf(&c, "sekrit-512", "older-512");
    c.cf.header_name = "X-Sig";
    c.cf.alg = HG_WH_SHA512;
    c.cf.encoding = HG_WH_BASE64;
    c.cf.payload_ts = 1;
    c.cf.ts_header = "X-Sig-Timestamp";

    snprintf(ts, sizeof(ts), "%d", NOW);
    hmac_set(&h, &c, EVP_sha512(), "older-512", ts, body);
    assert_int_equal(run("hmac", &c, &h, body), HG_WH_OK);
    assert_int_equal(run("hmac", &c, &h, "{\"n\":2}"), HG_WH_ERR_SIGNATURE);

    /* the timestamp is signed */
    hdr_set(&h, "X-Sig-Timestamp", fmt("%d", NOW - 1));
    assert_int_equal(run("hmac", &c, &h, body), HG_WH_ERR_SIGNATURE);

    hmac_set(&h, &c, EVP_sha512(), "unknown", ts, body);
    assert_int_equal(run("hmac", &c, &h, body), HG_WH_ERR_SIGNATURE);

    /* MAC over the body alone is not accepted when a timestamp is used */
    hmac_set(&h, &c, EVP_sha512(), "sekrit-512", NULL, body);
    assert_int_equal(run("hmac", &c, &h, body), HG_WH_ERR_SIGNATURE);

    snprintf(ts, sizeof(ts), "%d", NOW - 301);
    hmac_set(&h, &c, EVP_sha512(), "sekrit-512", ts, body);
    assert_int_equal(run("hmac", &c, &h, body), HG_WH_ERR_STALE);
    snprintf(ts, sizeof(ts), "%d", NOW + 301);
    hmac_set(&h, &c, EVP_sha512(), "sekrit-512", ts, body);
    assert_int_equal(run("hmac", &c, &h, body), HG_WH_ERR_FUTURE);

    hdr_set(&h, "X-Sig-Timestamp", fmt("soon"));
    assert_int_equal(run("hmac", &c, &h, body), HG_WH_ERR_FORMAT);
    hdr_del(&h, "X-Sig-Timestamp");
    assert_int_equal(run("hmac", &c, &h, body), HG_WH_ERR_MISSING);

    hdr_set(&h, "X-Sig-Timestamp", fmt("%d", NOW));
    hdr_set(&h, "X-Sig", fmt("not base64"));
    assert_int_equal(run("hmac", &c, &h, body), HG_WH_ERR_FORMAT);

    hdr_free(&h);
}


static void
test_hmac_sha256_default(void **state)
{
    conf_t        c;
    hdrs_t        h = { { 0 }, { 0 }, 0 };
    const char   *body = "";

    /* alg and encoding left zero: SHA-256 and hex; an empty body */
    conf(&c, "k256", NULL);
    c.cf.header_name = "X-Webhook-Signature";
    hmac_set(&h, &c, EVP_sha256(), "k256", NULL, body);
    assert_int_equal(run_url("hmac", &c, &h, NULL, 0, NULL, NOW, NULL, 0),
                     HG_WH_OK);
    assert_int_equal(run("hmac", &c, &h, "x"), HG_WH_ERR_SIGNATURE);

    /* a request without a header callback has no header */
    {
        hg_wh_request_t  r;

        memset(&r, 0, sizeof(r));
        assert_int_equal(hg_wh_scheme("hmac")->verify(&c.cf, &r, NULL, 0),
                         HG_WH_ERR_MISSING);
    }

    /* a bad configuration is an internal error, not a pass */
    c.cf.header_name = NULL;
    {
        hg_wh_request_t  r;

        memset(&r, 0, sizeof(r));
        r.header = lookup;
        r.ctx = &h;
        assert_int_equal(hg_wh_scheme("hmac")->verify(&c.cf, &r, NULL, 0),
                         HG_WH_ERR_INTERNAL);
        c.cf.nsecrets = 0;
        c.cf.header_name = "X-Webhook-Signature";
        assert_int_equal(hg_wh_scheme("hmac")->verify(&c.cf, &r, NULL, 0),
                         HG_WH_ERR_INTERNAL);
        assert_int_equal(hg_wh_scheme("github")->verify(&c.cf, &r, NULL, 0),
                         HG_WH_ERR_MISSING);
    }

    hdr_free(&h);
}


/* a 1 MB body through every scheme that signs it */
static void
test_big_body(void **state)
{
    char          *body, *sig;
    size_t         len;
    conf_t         c;
    hdrs_t         h = { { 0 }, { 0 }, 0 };

    len = 1024 * 1024;
    body = malloc(len + 1);
    assert_non_null(body);
    memset(body, 'a', len);
    body[len] = '\0';
    body[len / 2] = '\0';           /* raw bytes, not a C string */

    conf(&c, S1, NULL);
    sig = stripe_sig(S1, NOW, body, len);
    hdr_set(&h, "Stripe-Signature", fmt("t=%d,v1=%s", NOW, sig));
    free(sig);
    assert_int_equal(run_url("stripe", &c, &h, body, len, NULL, NOW, NULL,
                             0), HG_WH_OK);
    body[len - 1] = 'b';
    assert_int_equal(run_url("stripe", &c, &h, body, len, NULL, NOW, NULL,
                             0), HG_WH_ERR_SIGNATURE);
    body[len - 1] = 'a';

    github_set(&h, S1, body, len);
    assert_int_equal(run_url("github", &c, &h, body, len, NULL, NOW, NULL,
                             0), HG_WH_OK);
    assert_int_equal(run_url("github", &c, &h, body, len - 1, NULL, NOW,
                             NULL, 0), HG_WH_ERR_SIGNATURE);

    b64_set(&h, "x-square-hmacsha256-signature", S1, URL, body, len);
    assert_int_equal(run_url("square", &c, &h, body, len, URL, NOW, NULL,
                             0), HG_WH_OK);

    b64_set(&h, "intuit-signature", S1, "", body, len);
    assert_int_equal(run_url("intuit", &c, &h, body, len, NULL, NOW, NULL,
                             0), HG_WH_OK);

    hdr_free(&h);
    free(body);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_scheme_table),
        cmocka_unit_test(test_stripe),
        cmocka_unit_test(test_stripe_time),
        cmocka_unit_test(test_standard),
        cmocka_unit_test(test_standard_time),
        cmocka_unit_test(test_standard_vector),
        cmocka_unit_test(test_github),
        cmocka_unit_test(test_square),
        cmocka_unit_test(test_intuit),
        cmocka_unit_test(test_mailchimp),
        cmocka_unit_test(test_hmac_sha1_hex),
        cmocka_unit_test(test_hmac_sha512_b64_ts),
        cmocka_unit_test(test_hmac_sha256_default),
        cmocka_unit_test(test_big_body),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
