
/*
 * hubgate: verification keys from JWKS and PEM.  See hg_jwks.h.
 */

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "hg_jwks.h"


#define HG_JWKS_MIN_RSA_BITS   2048
#define HG_JWKS_MAX_RSA_BITS   8192      /* HG_JWT_MAX_SIG */
#define HG_JWKS_MAX_RSA_E      8         /* bytes: OpenSSL's 64-bit cap */
#define HG_JWKS_MIN_SECRET     32
#define HG_JWKS_MAX_SECRET     1024
#define HG_JWKS_MAX_COORD      66        /* P-521 */
#define HG_JWKS_SKIP_LEN       96

/* what a JWK member decodes into: RSA n may carry one leading zero */
#define HG_JWKS_MAX_B64        (HG_JWKS_MAX_RSA_BITS / 8 + 1)


typedef struct {
    const char  *name;           /* JWK "crv" */
    int          nid;
    hg_kty_e     kty;
    hg_alg_e     alg;
    size_t       len;            /* bytes of one coordinate or of x */
} hg_jwks_curve_t;


typedef struct {
    hg_keyset_t  *ks;
    size_t        index;         /* of the JWK or PEM block, for messages */
    char         *err;
    size_t        errlen;
    char          skip[HG_JWKS_SKIP_LEN];   /* why the first key skipped */
} hg_jwks_ctx_t;


static void hg_jwks_err(char *err, size_t errlen, const char *fmt, ...);
static void hg_jwks_key_err(hg_jwks_ctx_t *ctx, const char *what);
static void hg_jwks_skip(hg_jwks_ctx_t *ctx, const char *what,
    json_t *value);
static void hg_jwks_key_free(hg_key_t *key);
static void hg_jwks_truncate(hg_keyset_t *ks, size_t n);
static int hg_jwks_push(hg_jwks_ctx_t *ctx, hg_key_t *key);
static int hg_jwks_finish(hg_jwks_ctx_t *ctx, size_t start, int rc,
    const char *what);

static int hg_jwks_add_jwk(hg_jwks_ctx_t *ctx, json_t *jwk);
static int hg_jwks_jwk_usable(hg_jwks_ctx_t *ctx, json_t *jwk);
static int hg_jwks_jwk_meta(hg_jwks_ctx_t *ctx, json_t *jwk, hg_key_t *key);
static int hg_jwks_jwk_key(hg_jwks_ctx_t *ctx, json_t *jwk, hg_key_t *key);
static int hg_jwks_b64_member(json_t *jwk, const char *name,
    unsigned char *out, size_t size, size_t *len);
static const hg_jwks_curve_t *hg_jwks_curve(json_t *jwk, hg_kty_e kty);
static const hg_jwks_curve_t *hg_jwks_curve_by_nid(int nid);
static int hg_jwks_jwk_oct(hg_jwks_ctx_t *ctx, json_t *jwk, hg_key_t *key);
static int hg_jwks_jwk_rsa(hg_jwks_ctx_t *ctx, json_t *jwk, hg_key_t *key);
static int hg_jwks_jwk_ec(hg_jwks_ctx_t *ctx, json_t *jwk, hg_key_t *key,
    const hg_jwks_curve_t *curve);
static int hg_jwks_jwk_okp(hg_jwks_ctx_t *ctx, json_t *jwk, hg_key_t *key,
    const hg_jwks_curve_t *curve);
static EVP_PKEY *hg_jwks_rsa_pkey(const unsigned char *n, size_t n_len,
    const unsigned char *e, size_t e_len);
static EVP_PKEY *hg_jwks_ec_pkey(const hg_jwks_curve_t *curve,
    const unsigned char *point, size_t len);
static EVP_PKEY *hg_jwks_fromdata(const char *type, OSSL_PARAM_BLD *bld);

static int hg_jwks_pkey_key(hg_jwks_ctx_t *ctx, EVP_PKEY *pkey,
    hg_key_t *key);
static int hg_jwks_rsa_check(hg_jwks_ctx_t *ctx, EVP_PKEY *pkey);
static int hg_jwks_ec_curve(EVP_PKEY *pkey);
static int hg_jwks_public_check(EVP_PKEY *pkey);

static int hg_jwks_pem_block(hg_jwks_ctx_t *ctx, const char *name,
    const unsigned char *data, long len);
static EVP_PKEY *hg_jwks_pem_decode(const char *name,
    const unsigned char *data, long len);
static int hg_jwks_pem_end(void);


static const hg_jwks_curve_t  hg_jwks_curves[] = {
    { "P-256",   NID_X9_62_prime256v1, HG_KTY_EC,  HG_ALG_ES256, 32 },
    { "P-384",   NID_secp384r1,        HG_KTY_EC,  HG_ALG_ES384, 48 },
    { "P-521",   NID_secp521r1,        HG_KTY_EC,  HG_ALG_ES512, 66 },
    { "Ed25519", NID_ED25519,          HG_KTY_OKP, HG_ALG_EDDSA, 32 },
    { "Ed448",   NID_ED448,            HG_KTY_OKP, HG_ALG_EDDSA, 57 }
};

#define HG_JWKS_NCURVES  (sizeof(hg_jwks_curves) / sizeof(hg_jwks_curves[0]))


void
hg_jwks_init(hg_keyset_t *ks)
{
    memset(ks, 0, sizeof(hg_keyset_t));
}


void
hg_jwks_free(hg_keyset_t *ks)
{
    if (ks == NULL) {
        return;
    }

    hg_jwks_truncate(ks, 0);
    memset(ks, 0, sizeof(hg_keyset_t));
}


static void
hg_jwks_key_free(hg_key_t *key)
{
    int  i;

    for (i = 0; i < HG_ALG_MAX; i++) {
        EVP_PKEY_CTX_free(key->vctx[i]);
        EVP_MD_free(key->md[i]);
    }

    EVP_PKEY_free(key->pkey);

    if (key->secret) {
        OPENSSL_cleanse(key->secret, key->secret_len);
        free(key->secret);
    }

    memset(key, 0, sizeof(hg_key_t));
}


/* drops the keys from index n on: a failed add leaves the set as it was */

static void
hg_jwks_truncate(hg_keyset_t *ks, size_t n)
{
    while (ks->nkeys > n) {
        hg_jwks_key_free(&ks->keys[--ks->nkeys]);
    }
}


static void
hg_jwks_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  args;

    if (err == NULL || errlen == 0) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(err, errlen, fmt, args);
    va_end(args);
}


static void
hg_jwks_key_err(hg_jwks_ctx_t *ctx, const char *what)
{
    hg_jwks_err(ctx->err, ctx->errlen, "key %zu: %s", ctx->index, what);
}


/*
 * Remembers why the first skipped key was skipped.  The member value is
 * named only when it is a short printable token: it comes from the
 * network and goes to the error log.
 */

static void
hg_jwks_skip(hg_jwks_ctx_t *ctx, const char *what, json_t *value)
{
    size_t       i, len;
    const char  *s;

    if (ctx->skip[0] != '\0') {
        return;
    }

    s = json_string_value(value);
    len = json_string_length(value);

    for (i = 0; s != NULL && i < len; i++) {
        if (s[i] <= ' ' || s[i] > '~' || s[i] == '"' || s[i] == '\\') {
            s = NULL;
        }
    }

    if (s == NULL || len == 0 || len > 24) {
        snprintf(ctx->skip, sizeof(ctx->skip), "key %zu: %s", ctx->index,
                 what);
        return;
    }

    snprintf(ctx->skip, sizeof(ctx->skip), "key %zu: %s \"%s\"",
             ctx->index, what, s);
}


static int
hg_jwks_push(hg_jwks_ctx_t *ctx, hg_key_t *key)
{
    if (ctx->ks->nkeys >= HG_JWKS_MAX_KEYS) {
        hg_jwks_err(ctx->err, ctx->errlen, "more than %d keys",
                    HG_JWKS_MAX_KEYS);
        hg_jwks_key_free(key);
        return -1;
    }

    ctx->ks->keys[ctx->ks->nkeys++] = *key;
    memset(key, 0, sizeof(hg_key_t));

    return 0;
}


static int
hg_jwks_finish(hg_jwks_ctx_t *ctx, size_t start, int rc, const char *what)
{
    if (rc == 0 && ctx->ks->nkeys == start) {
        if (ctx->skip[0] != '\0') {
            hg_jwks_err(ctx->err, ctx->errlen, "no usable key in %s (%s)",
                        what, ctx->skip);

        } else {
            hg_jwks_err(ctx->err, ctx->errlen, "no usable key in %s", what);
        }

        rc = -1;
    }

    if (rc != 0) {
        hg_jwks_truncate(ctx->ks, start);
    }

    /* nothing we refused should surface later in nginx's SSL errors */
    ERR_clear_error();

    return rc;
}


int
hg_jwks_add_data(hg_keyset_t *ks, const char *data, size_t len, char *err,
    size_t errlen)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (data[i] != ' ' && data[i] != '\t' && data[i] != '\r'
            && data[i] != '\n')
        {
            break;
        }
    }

    if (i < len && data[i] == '{') {
        return hg_jwks_add_json(ks, data, len, err, errlen);
    }

    return hg_jwks_add_pem(ks, data, len, err, errlen);
}


int
hg_jwks_add_json(hg_keyset_t *ks, const char *json, size_t len, char *err,
    size_t errlen)
{
    int            rc;
    size_t         i, start;
    json_t        *root, *keys;
    json_error_t   error;
    hg_jwks_ctx_t  ctx;

    memset(&ctx, 0, sizeof(hg_jwks_ctx_t));
    ctx.ks = ks;
    ctx.err = err;
    ctx.errlen = errlen;

    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &error);
    if (root == NULL) {
        /* error.text may quote the input, which may be a secret */
        hg_jwks_err(err, errlen, "invalid JSON at line %d, column %d",
                    error.line, error.column);
        return -1;
    }

    start = ks->nkeys;
    keys = json_object_get(root, "keys");
    rc = 0;

    if (json_is_array(keys)) {
        for (i = 0; rc == 0 && i < json_array_size(keys); i++) {
            ctx.index = i;
            rc = hg_jwks_add_jwk(&ctx, json_array_get(keys, i)) < 0 ? -1 : 0;
        }

    } else if (keys == NULL && json_object_get(root, "kty") != NULL) {
        rc = hg_jwks_add_jwk(&ctx, root) < 0 ? -1 : 0;

    } else {
        hg_jwks_err(err, errlen, "neither a JWK Set nor a JWK");
        rc = -1;
    }

    json_decref(root);

    return hg_jwks_finish(&ctx, start, rc, "JWKS");
}


/* 1: added, 0: skipped, -1: refused (err set) */

static int
hg_jwks_add_jwk(hg_jwks_ctx_t *ctx, json_t *jwk)
{
    int       rc;
    hg_key_t  key;

    if (!json_is_object(jwk)) {
        hg_jwks_key_err(ctx, "not a JSON object");
        return -1;
    }

    rc = hg_jwks_jwk_usable(ctx, jwk);
    if (rc <= 0) {
        return rc;
    }

    memset(&key, 0, sizeof(hg_key_t));

    rc = hg_jwks_jwk_meta(ctx, jwk, &key);
    if (rc <= 0) {
        return rc;
    }

    rc = hg_jwks_jwk_key(ctx, jwk, &key);
    if (rc <= 0) {
        hg_jwks_key_free(&key);
        return rc;
    }

    /* a pinned alg must fit the key it pins (RFC 8725 3.1) */
    if (key.alg != HG_ALG_UNKNOWN && !hg_jwks_key_fits(&key, key.alg)) {
        hg_jwks_key_err(ctx, "\"alg\" does not fit the key type or curve");
        hg_jwks_key_free(&key);
        return -1;
    }

    return hg_jwks_push(ctx, &key) == 0 ? 1 : -1;
}


/* "use" and "key_ops" (RFC 7517 4.2, 4.3): only signature verification */

static int
hg_jwks_jwk_usable(hg_jwks_ctx_t *ctx, json_t *jwk)
{
    size_t   i;
    json_t  *v, *op;

    v = json_object_get(jwk, "use");

    if (v != NULL) {
        if (!json_is_string(v)) {
            hg_jwks_key_err(ctx, "\"use\" is not a string");
            return -1;
        }

        if (strcmp(json_string_value(v), "sig") != 0) {
            hg_jwks_skip(ctx, "use", v);
            return 0;
        }
    }

    v = json_object_get(jwk, "key_ops");
    if (v == NULL) {
        return 1;
    }

    if (!json_is_array(v)) {
        hg_jwks_key_err(ctx, "\"key_ops\" is not an array");
        return -1;
    }

    for (i = 0; i < json_array_size(v); i++) {
        op = json_array_get(v, i);

        if (json_is_string(op) && strcmp(json_string_value(op), "verify") == 0)
        {
            return 1;
        }
    }

    hg_jwks_skip(ctx, "key_ops without \"verify\"", NULL);

    return 0;
}


/* kid and alg */

static int
hg_jwks_jwk_meta(hg_jwks_ctx_t *ctx, json_t *jwk, hg_key_t *key)
{
    json_t  *v;

    v = json_object_get(jwk, "kid");

    if (v != NULL) {
        if (!json_is_string(v)) {
            hg_jwks_key_err(ctx, "\"kid\" is not a string");
            return -1;
        }

        if (json_string_length(v) > HG_JWKS_MAX_KID) {
            hg_jwks_key_err(ctx, "\"kid\" is longer than 128 bytes");
            return -1;
        }

        key->kid_len = json_string_length(v);
        memcpy(key->kid, json_string_value(v), key->kid_len);
        key->kid[key->kid_len] = '\0';
    }

    v = json_object_get(jwk, "alg");
    if (v == NULL) {
        return 1;
    }

    if (!json_is_string(v)) {
        hg_jwks_key_err(ctx, "\"alg\" is not a string");
        return -1;
    }

    /* RSA-OAEP, ECDH-ES, none...: a key for something else */
    key->alg = hg_jwt_alg_from_name(json_string_value(v),
                                    json_string_length(v));
    if (key->alg == HG_ALG_UNKNOWN) {
        hg_jwks_skip(ctx, "unsupported alg", v);
        return 0;
    }

    return 1;
}


static int
hg_jwks_jwk_key(hg_jwks_ctx_t *ctx, json_t *jwk, hg_key_t *key)
{
    json_t                 *kty;
    const char             *s;
    const hg_jwks_curve_t  *curve;

    kty = json_object_get(jwk, "kty");
    if (!json_is_string(kty)) {
        hg_jwks_key_err(ctx, "\"kty\" is missing or not a string");
        return -1;
    }

    s = json_string_value(kty);

    if (strcmp(s, "oct") == 0) {
        return hg_jwks_jwk_oct(ctx, jwk, key);
    }

    if (strcmp(s, "RSA") == 0) {
        return hg_jwks_jwk_rsa(ctx, jwk, key);
    }

    if (strcmp(s, "EC") != 0 && strcmp(s, "OKP") != 0) {
        hg_jwks_skip(ctx, "unsupported kty", kty);
        return 0;
    }

    curve = hg_jwks_curve(jwk, s[0] == 'E' ? HG_KTY_EC : HG_KTY_OKP);
    if (curve == NULL) {
        hg_jwks_skip(ctx, "unsupported crv", json_object_get(jwk, "crv"));
        return 0;
    }

    if (curve->kty == HG_KTY_EC) {
        return hg_jwks_jwk_ec(ctx, jwk, key, curve);
    }

    return hg_jwks_jwk_okp(ctx, jwk, key, curve);
}


static int
hg_jwks_b64_member(json_t *jwk, const char *name, unsigned char *out,
    size_t size, size_t *len)
{
    json_t  *v;

    v = json_object_get(jwk, name);

    if (!json_is_string(v)) {
        return -1;
    }

    return hg_jwt_b64url_decode(json_string_value(v), json_string_length(v),
                                out, size, len);
}


static const hg_jwks_curve_t *
hg_jwks_curve(json_t *jwk, hg_kty_e kty)
{
    size_t   i;
    json_t  *crv;

    crv = json_object_get(jwk, "crv");
    if (!json_is_string(crv)) {
        return NULL;
    }

    for (i = 0; i < HG_JWKS_NCURVES; i++) {
        if (hg_jwks_curves[i].kty == kty
            && strcmp(hg_jwks_curves[i].name, json_string_value(crv)) == 0)
        {
            return &hg_jwks_curves[i];
        }
    }

    return NULL;
}


static const hg_jwks_curve_t *
hg_jwks_curve_by_nid(int nid)
{
    size_t  i;

    for (i = 0; i < HG_JWKS_NCURVES; i++) {
        if (hg_jwks_curves[i].nid == nid) {
            return &hg_jwks_curves[i];
        }
    }

    return NULL;
}


static int
hg_jwks_jwk_oct(hg_jwks_ctx_t *ctx, json_t *jwk, hg_key_t *key)
{
    int            rc;
    size_t         len, min;
    unsigned char  buf[HG_JWKS_MAX_SECRET];

    rc = -1;

    if (hg_jwks_b64_member(jwk, "k", buf, sizeof(buf), &len) != 0) {
        hg_jwks_key_err(ctx, "\"k\" is missing, not base64url, or longer "
                        "than 1024 bytes");
        goto done;
    }

    min = key->alg == HG_ALG_HS512 ? 64
          : key->alg == HG_ALG_HS384 ? 48 : HG_JWKS_MIN_SECRET;

    if (len < min) {
        hg_jwks_err(ctx->err, ctx->errlen, "key %zu: HMAC key of %zu bytes, "
                    "at least %zu required", ctx->index, len, min);
        goto done;
    }

    key->secret = malloc(len);
    if (key->secret == NULL) {
        hg_jwks_key_err(ctx, "out of memory");
        goto done;
    }

    memcpy(key->secret, buf, len);
    key->secret_len = len;
    key->kty = HG_KTY_OCT;
    key->bits = (int) (len * 8);
    rc = 1;

done:

    OPENSSL_cleanse(buf, sizeof(buf));

    return rc;
}


static int
hg_jwks_jwk_rsa(hg_jwks_ctx_t *ctx, json_t *jwk, hg_key_t *key)
{
    size_t          n_len, e_len;
    EVP_PKEY       *pkey;
    unsigned char   n[HG_JWKS_MAX_B64], e[HG_JWKS_MAX_RSA_E];

    if (hg_jwks_b64_member(jwk, "n", n, sizeof(n), &n_len) != 0) {
        hg_jwks_key_err(ctx, "\"n\" is missing, not base64url, or over "
                        "8192 bits");
        return -1;
    }

    if (hg_jwks_b64_member(jwk, "e", e, sizeof(e), &e_len) != 0) {
        hg_jwks_key_err(ctx, "\"e\" is missing, not base64url, or over "
                        "64 bits");
        return -1;
    }

    pkey = hg_jwks_rsa_pkey(n, n_len, e, e_len);
    if (pkey == NULL) {
        hg_jwks_key_err(ctx, "invalid RSA public key");
        return -1;
    }

    return hg_jwks_pkey_key(ctx, pkey, key);
}


static int
hg_jwks_jwk_ec(hg_jwks_ctx_t *ctx, json_t *jwk, hg_key_t *key,
    const hg_jwks_curve_t *curve)
{
    size_t          x_len, y_len;
    EVP_PKEY       *pkey;
    unsigned char   point[1 + 2 * HG_JWKS_MAX_COORD];

    /* RFC 7518 6.2.1.2: x and y are exactly as long as the field */
    point[0] = POINT_CONVERSION_UNCOMPRESSED;

    if (hg_jwks_b64_member(jwk, "x", point + 1, curve->len, &x_len) != 0
        || hg_jwks_b64_member(jwk, "y", point + 1 + curve->len, curve->len,
                              &y_len)
           != 0
        || x_len != curve->len || y_len != curve->len)
    {
        hg_jwks_key_err(ctx, "\"x\" or \"y\" is missing, not base64url, or "
                        "not the curve's length");
        return -1;
    }

    pkey = hg_jwks_ec_pkey(curve, point, 1 + 2 * curve->len);
    if (pkey == NULL) {
        hg_jwks_key_err(ctx, "invalid EC public key (not on the curve?)");
        return -1;
    }

    return hg_jwks_pkey_key(ctx, pkey, key);
}


static int
hg_jwks_jwk_okp(hg_jwks_ctx_t *ctx, json_t *jwk, hg_key_t *key,
    const hg_jwks_curve_t *curve)
{
    size_t          len;
    EVP_PKEY       *pkey;
    unsigned char   x[HG_JWKS_MAX_COORD];

    if (hg_jwks_b64_member(jwk, "x", x, curve->len, &len) != 0
        || len != curve->len)
    {
        hg_jwks_key_err(ctx, "\"x\" is missing, not base64url, or not the "
                        "curve's length");
        return -1;
    }

    pkey = EVP_PKEY_new_raw_public_key_ex(NULL, OBJ_nid2sn(curve->nid),
                                          NULL, x, len);
    if (pkey == NULL) {
        hg_jwks_key_err(ctx, "invalid OKP public key");
        return -1;
    }

    return hg_jwks_pkey_key(ctx, pkey, key);
}


static EVP_PKEY *
hg_jwks_rsa_pkey(const unsigned char *n, size_t n_len,
    const unsigned char *e, size_t e_len)
{
    BIGNUM          *bn_n, *bn_e;
    EVP_PKEY        *pkey;
    OSSL_PARAM_BLD  *bld;

    pkey = NULL;
    bn_n = BN_bin2bn(n, (int) n_len, NULL);
    bn_e = BN_bin2bn(e, (int) e_len, NULL);
    bld = OSSL_PARAM_BLD_new();

    if (bn_n != NULL && bn_e != NULL && bld != NULL
        && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1
        && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1)
    {
        pkey = hg_jwks_fromdata("RSA", bld);
    }

    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);

    return pkey;
}


static EVP_PKEY *
hg_jwks_ec_pkey(const hg_jwks_curve_t *curve, const unsigned char *point,
    size_t len)
{
    EVP_PKEY        *pkey;
    OSSL_PARAM_BLD  *bld;

    pkey = NULL;
    bld = OSSL_PARAM_BLD_new();

    if (bld != NULL
        && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                           OBJ_nid2sn(curve->nid), 0)
           == 1
        && OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
                                            point, len)
           == 1)
    {
        pkey = hg_jwks_fromdata("EC", bld);
    }

    OSSL_PARAM_BLD_free(bld);

    return pkey;
}


static EVP_PKEY *
hg_jwks_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
    EVP_PKEY      *pkey;
    OSSL_PARAM    *params;
    EVP_PKEY_CTX  *pctx;

    pkey = NULL;
    params = OSSL_PARAM_BLD_to_param(bld);
    pctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);

    if (params == NULL || pctx == NULL
        || EVP_PKEY_fromdata_init(pctx) != 1
        || EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
    {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }

    EVP_PKEY_CTX_free(pctx);
    OSSL_PARAM_free(params);

    return pkey;
}


/*
 * Classifies and checks a public key from a JWK or a PEM block, then
 * takes it into key.  Frees pkey on refusal.  1: ok, -1: refused.
 */

static int
hg_jwks_pkey_key(hg_jwks_ctx_t *ctx, EVP_PKEY *pkey, hg_key_t *key)
{
    int                     nid;
    const hg_jwks_curve_t  *curve;

    if (EVP_PKEY_is_a(pkey, "RSA")) {
        if (hg_jwks_rsa_check(ctx, pkey) != 0) {
            EVP_PKEY_free(pkey);
            return -1;
        }

        key->kty = HG_KTY_RSA;
        key->curve_nid = NID_undef;

    } else {
        nid = EVP_PKEY_is_a(pkey, "EC") ? hg_jwks_ec_curve(pkey)
              : EVP_PKEY_is_a(pkey, "ED25519") ? NID_ED25519
              : EVP_PKEY_is_a(pkey, "ED448") ? NID_ED448 : NID_undef;

        curve = hg_jwks_curve_by_nid(nid);

        if (curve == NULL) {
            hg_jwks_key_err(ctx, "unsupported key type or curve");
            EVP_PKEY_free(pkey);
            return -1;
        }

        if (curve->kty == HG_KTY_EC && hg_jwks_public_check(pkey) != 0) {
            hg_jwks_key_err(ctx, "EC point is not a valid public key");
            EVP_PKEY_free(pkey);
            return -1;
        }

        key->kty = curve->kty;
        key->curve_nid = curve->nid;
    }

    key->bits = EVP_PKEY_get_bits(pkey);
    key->pkey = pkey;

    return 1;
}


static int
hg_jwks_rsa_check(hg_jwks_ctx_t *ctx, EVP_PKEY *pkey)
{
    int      bits, rc;
    BIGNUM  *e;

    bits = EVP_PKEY_get_bits(pkey);

    if (bits < HG_JWKS_MIN_RSA_BITS || bits > HG_JWKS_MAX_RSA_BITS) {
        hg_jwks_err(ctx->err, ctx->errlen, "key %zu: RSA key of %d bits, "
                    "2048 to 8192 required", ctx->index, bits);
        return -1;
    }

    /* a huge or even exponent is a slow or broken key, never a real one */
    e = NULL;

    if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
        hg_jwks_key_err(ctx, "invalid RSA public key");
        return -1;
    }

    rc = (BN_is_odd(e) && BN_num_bits(e) > 1 && BN_num_bits(e) <= 64)
         ? 0 : -1;

    BN_free(e);

    if (rc != 0) {
        hg_jwks_key_err(ctx, "RSA public exponent is even, 1, or over "
                        "64 bits");
    }

    return rc;
}


static int
hg_jwks_ec_curve(EVP_PKEY *pkey)
{
    char  name[64];

    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
                                       name, sizeof(name), NULL)
        != 1)
    {
        return NID_undef;
    }

    return OBJ_sn2nid(name);
}


/* on the curve, in range, of the right order (RFC 8725 3.4, invalid curve) */

static int
hg_jwks_public_check(EVP_PKEY *pkey)
{
    int            rc;
    EVP_PKEY_CTX  *pctx;

    pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (pctx == NULL) {
        return -1;
    }

    rc = EVP_PKEY_public_check(pctx) == 1 ? 0 : -1;

    EVP_PKEY_CTX_free(pctx);

    return rc;
}


int
hg_jwks_add_pem(hg_keyset_t *ks, const char *pem, size_t len, char *err,
    size_t errlen)
{
    int             rc;
    BIO            *bio;
    long            data_len;
    char           *name, *header;
    size_t          start;
    unsigned char  *data;
    hg_jwks_ctx_t   ctx;

    memset(&ctx, 0, sizeof(hg_jwks_ctx_t));
    ctx.ks = ks;
    ctx.err = err;
    ctx.errlen = errlen;

    if (len > INT_MAX) {
        hg_jwks_err(err, errlen, "PEM text too large");
        return -1;
    }

    bio = BIO_new_mem_buf(pem, (int) len);
    if (bio == NULL) {
        hg_jwks_err(err, errlen, "out of memory");
        return -1;
    }

    start = ks->nkeys;
    rc = 0;

    for ( ;; ctx.index++) {
        if (PEM_read_bio(bio, &name, &header, &data, &data_len) != 1) {
            if (!hg_jwks_pem_end()) {
                hg_jwks_err(err, errlen, "invalid PEM block %zu", ctx.index);
                rc = -1;
            }

            break;
        }

        rc = hg_jwks_pem_block(&ctx, name, data, data_len);

        /* the block may have been a private key */
        OPENSSL_cleanse(data, (size_t) data_len);
        OPENSSL_free(data);
        OPENSSL_free(name);
        OPENSSL_free(header);

        if (rc != 0) {
            break;
        }
    }

    BIO_free(bio);

    return hg_jwks_finish(&ctx, start, rc, "PEM text");
}


/* PEM_read_bio failed: at the end of the text, or on a broken block */

static int
hg_jwks_pem_end(void)
{
    unsigned long  e;

    e = ERR_peek_last_error();

    return ERR_GET_LIB(e) == ERR_LIB_PEM
           && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
}


static int
hg_jwks_pem_block(hg_jwks_ctx_t *ctx, const char *name,
    const unsigned char *data, long len)
{
    hg_key_t   key;
    EVP_PKEY  *pkey;

    if (strstr(name, "PRIVATE KEY") != NULL) {
        hg_jwks_key_err(ctx, "a private key: give the public key only");
        return -1;
    }

    if (strcmp(name, "PUBLIC KEY") != 0
        && strcmp(name, "RSA PUBLIC KEY") != 0
        && strcmp(name, "CERTIFICATE") != 0)
    {
        /* EC PARAMETERS and the like */
        return 0;
    }

    pkey = hg_jwks_pem_decode(name, data, len);
    if (pkey == NULL) {
        hg_jwks_err(ctx->err, ctx->errlen, "key %zu: invalid %s", ctx->index,
                    name);
        return -1;
    }

    memset(&key, 0, sizeof(hg_key_t));

    if (hg_jwks_pkey_key(ctx, pkey, &key) < 0) {
        return -1;
    }

    return hg_jwks_push(ctx, &key);
}


/*
 * A certificate only carries the key here: no chain, no dates, no names
 * are checked, just as for a bare public key.
 */

static EVP_PKEY *
hg_jwks_pem_decode(const char *name, const unsigned char *data, long len)
{
    X509                 *x509;
    EVP_PKEY             *pkey;
    const unsigned char  *p;

    p = data;

    if (strcmp(name, "PUBLIC KEY") == 0) {
        pkey = d2i_PUBKEY(NULL, &p, len);

    } else if (strcmp(name, "RSA PUBLIC KEY") == 0) {
        pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, len);

    } else {
        x509 = d2i_X509(NULL, &p, len);
        pkey = x509 ? X509_get_pubkey(x509) : NULL;
        X509_free(x509);
    }

    /* trailing bytes inside the block: not what we were given to trust */
    if (pkey != NULL && p != data + len) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }

    return pkey;
}


int
hg_jwks_key_fits(const hg_key_t *key, hg_alg_e alg)
{
    if (key == NULL || alg <= HG_ALG_UNKNOWN || alg >= HG_ALG_MAX) {
        return 0;
    }

    if (key->alg != HG_ALG_UNKNOWN && key->alg != alg) {
        return 0;
    }

    switch (key->kty) {

    case HG_KTY_OCT:
        return key->secret != NULL
               && ((alg == HG_ALG_HS256 && key->secret_len >= 32)
                   || (alg == HG_ALG_HS384 && key->secret_len >= 48)
                   || (alg == HG_ALG_HS512 && key->secret_len >= 64));

    case HG_KTY_RSA:
        return key->pkey != NULL && alg >= HG_ALG_RS256
               && alg <= HG_ALG_PS512;

    case HG_KTY_EC:
        return key->pkey != NULL
               && ((alg == HG_ALG_ES256
                    && key->curve_nid == NID_X9_62_prime256v1)
                   || (alg == HG_ALG_ES384 && key->curve_nid == NID_secp384r1)
                   || (alg == HG_ALG_ES512
                       && key->curve_nid == NID_secp521r1));

    case HG_KTY_OKP:
        return key->pkey != NULL && alg == HG_ALG_EDDSA
               && (key->curve_nid == NID_ED25519
                   || key->curve_nid == NID_ED448);

    default:
        return 0;
    }
}


/*
 * The iterator runs over the keys twice when the token names a kid:
 * values below nkeys walk the keys with that kid, values from nkeys on
 * walk the kid-less keys.
 */

const hg_key_t *
hg_jwks_next(const hg_keyset_t *ks, const char *kid, size_t kid_len,
    hg_alg_e alg, size_t *iter)
{
    size_t           i;
    const hg_key_t  *key;

    if (ks == NULL) {
        return NULL;
    }

    if (kid == NULL) {
        kid_len = 0;
    }

    while (*iter < 2 * ks->nkeys) {
        i = *iter;
        (*iter)++;

        if (kid_len == 0 && i >= ks->nkeys) {
            break;
        }

        key = &ks->keys[i % ks->nkeys];

        if (kid_len && i < ks->nkeys
            && (key->kid_len != kid_len
                || memcmp(key->kid, kid, kid_len) != 0))
        {
            continue;
        }

        if (kid_len && i >= ks->nkeys && key->kid_len != 0) {
            continue;
        }

        if (hg_jwks_key_fits(key, alg)) {
            return key;
        }
    }

    *iter = 2 * ks->nkeys;

    return NULL;
}


int
hg_jwks_has_kid(const hg_keyset_t *ks, const char *kid, size_t kid_len)
{
    size_t  i;

    if (ks == NULL || kid == NULL || kid_len == 0) {
        return 0;
    }

    for (i = 0; i < ks->nkeys; i++) {
        if (ks->keys[i].kid_len == kid_len
            && memcmp(ks->keys[i].kid, kid, kid_len) == 0)
        {
            return 1;
        }
    }

    return 0;
}
