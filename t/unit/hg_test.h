
/*
 * hubgate unit tests: keys, signatures and tokens made at test time with
 * OpenSSL, independently of the code under test.  Header-only (static
 * inline) so that each test_*.c links alone, as the Makefile builds them.
 */

#ifndef HG_TEST_H
#define HG_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <jansson.h>

#include "hg_jwt.h"
#include "hg_jwks.h"


/* signing variants, for the negative tests */
#define HG_T_DER_ECDSA      0x01    /* leave the ECDSA signature in DER */
#define HG_T_PSS_SALT_MAX   0x02    /* PSS with the longest salt */
#define HG_T_PKCS1          0x04    /* PKCS #1 v1.5 whatever the alg */


static inline char *
hg_t_b64url(const unsigned char *in, size_t len)
{
    static const char  tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    char      *out, *p;
    size_t     i;
    uint32_t   v;

    out = malloc(len / 3 * 4 + 5);
    assert_non_null(out);
    p = out;

    for (i = 0; i + 2 < len; i += 3) {
        v = (uint32_t) in[i] << 16 | (uint32_t) in[i + 1] << 8 | in[i + 2];
        *p++ = tab[v >> 18 & 63];
        *p++ = tab[v >> 12 & 63];
        *p++ = tab[v >> 6 & 63];
        *p++ = tab[v & 63];
    }

    if (len - i == 1) {
        v = (uint32_t) in[i] << 16;
        *p++ = tab[v >> 18 & 63];
        *p++ = tab[v >> 12 & 63];

    } else if (len - i == 2) {
        v = (uint32_t) in[i] << 16 | (uint32_t) in[i + 1] << 8;
        *p++ = tab[v >> 18 & 63];
        *p++ = tab[v >> 12 & 63];
        *p++ = tab[v >> 6 & 63];
    }

    *p = '\0';

    return out;
}


static inline char *
hg_t_b64url_str(const char *s)
{
    return hg_t_b64url((const unsigned char *) s, strlen(s));
}


/* printf into a malloc'ed string */
static inline char *
hg_t_fmt(const char *fmt, ...)
{
    int      n;
    char    *s;
    va_list  args;

    va_start(args, fmt);
    n = vsnprintf(NULL, 0, fmt, args);
    va_end(args);
    assert_true(n >= 0);

    s = malloc((size_t) n + 1);
    assert_non_null(s);

    va_start(args, fmt);
    vsnprintf(s, (size_t) n + 1, fmt, args);
    va_end(args);

    return s;
}


static inline EVP_PKEY *
hg_t_rsa(unsigned bits)
{
    EVP_PKEY  *pkey;

    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) bits);
    assert_non_null(pkey);

    return pkey;
}


static inline EVP_PKEY *
hg_t_ec(const char *curve)
{
    EVP_PKEY  *pkey;

    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
    assert_non_null(pkey);

    return pkey;
}


static inline EVP_PKEY *
hg_t_okp(const char *type)
{
    EVP_PKEY  *pkey;

    pkey = EVP_PKEY_Q_keygen(NULL, NULL, type);
    assert_non_null(pkey);

    return pkey;
}


static inline const EVP_MD *
hg_t_md(hg_alg_e alg)
{
    switch (alg) {
    case HG_ALG_HS256: case HG_ALG_RS256: case HG_ALG_PS256:
    case HG_ALG_ES256:
        return EVP_sha256();
    case HG_ALG_HS384: case HG_ALG_RS384: case HG_ALG_PS384:
    case HG_ALG_ES384:
        return EVP_sha384();
    case HG_ALG_HS512: case HG_ALG_RS512: case HG_ALG_PS512:
    case HG_ALG_ES512:
        return EVP_sha512();
    default:
        return NULL;
    }
}


static inline int
hg_t_is_hs(hg_alg_e alg)
{
    return alg >= HG_ALG_HS256 && alg <= HG_ALG_HS512;
}


static inline int
hg_t_is_es(hg_alg_e alg)
{
    return alg >= HG_ALG_ES256 && alg <= HG_ALG_ES512;
}


static inline int
hg_t_is_ps(hg_alg_e alg)
{
    return alg >= HG_ALG_PS256 && alg <= HG_ALG_PS512;
}


/* DER ECDSA to R||S, each n bytes */
static inline size_t
hg_t_der_to_raw(const unsigned char *der, size_t len, size_t n,
    unsigned char *out)
{
    ECDSA_SIG             *es;
    const BIGNUM          *r, *s;
    const unsigned char   *p;

    p = der;
    es = d2i_ECDSA_SIG(NULL, &p, (long) len);
    assert_non_null(es);
    ECDSA_SIG_get0(es, &r, &s);
    assert_int_equal(BN_bn2binpad(r, out, (int) n), (int) n);
    assert_int_equal(BN_bn2binpad(s, out + n, (int) n), (int) n);
    ECDSA_SIG_free(es);

    return 2 * n;
}


/* signs in with pkey (or secret for HS*); out holds HG_JWT_MAX_SIG bytes */
static inline size_t
hg_t_sign(hg_alg_e alg, EVP_PKEY *pkey, const unsigned char *secret,
    size_t secret_len, const char *in, size_t in_len, unsigned char *out,
    int flags)
{
    size_t          len;
    unsigned int    mac_len;
    EVP_MD_CTX     *ctx;
    EVP_PKEY_CTX   *pctx;
    unsigned char   buf[HG_JWT_MAX_SIG + 16];

    if (hg_t_is_hs(alg)) {
        assert_non_null(HMAC(hg_t_md(alg), secret, (int) secret_len,
                             (const unsigned char *) in, in_len, out,
                             &mac_len));
        return mac_len;
    }

    ctx = EVP_MD_CTX_new();
    assert_non_null(ctx);
    assert_int_equal(EVP_DigestSignInit(ctx, &pctx, hg_t_md(alg), NULL,
                                        pkey), 1);

    if (hg_t_is_ps(alg) && !(flags & HG_T_PKCS1)) {
        assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING)
                    > 0);
        assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
                        (flags & HG_T_PSS_SALT_MAX) ? RSA_PSS_SALTLEN_MAX
                                                    : RSA_PSS_SALTLEN_DIGEST)
                    > 0);
    }

    len = sizeof(buf);
    assert_int_equal(EVP_DigestSign(ctx, buf, &len,
                                    (const unsigned char *) in, in_len), 1);
    EVP_MD_CTX_free(ctx);

    if (hg_t_is_es(alg) && !(flags & HG_T_DER_ECDSA)) {
        return hg_t_der_to_raw(buf, len,
                               alg == HG_ALG_ES256 ? 32
                               : alg == HG_ALG_ES384 ? 48 : 66, out);
    }

    memcpy(out, buf, len);

    return len;
}


/* "b64(header).b64(payload)" */
static inline char *
hg_t_input(const char *header, const char *payload)
{
    char  *h, *p, *s;

    h = hg_t_b64url_str(header);
    p = hg_t_b64url_str(payload);
    s = hg_t_fmt("%s.%s", h, p);
    free(h);
    free(p);

    return s;
}


/* a compact JWS with a raw signature */
static inline char *
hg_t_token_sig(const char *input, const unsigned char *sig, size_t len)
{
    char  *b, *s;

    b = hg_t_b64url(sig, len);
    s = hg_t_fmt("%s.%s", input, b);
    free(b);

    return s;
}


static inline char *
hg_t_token(const char *header, const char *payload, hg_alg_e alg,
    EVP_PKEY *pkey, const unsigned char *secret, size_t secret_len,
    int flags)
{
    char           *input, *tok;
    size_t          len;
    unsigned char   sig[HG_JWT_MAX_SIG];

    input = hg_t_input(header, payload);
    len = hg_t_sign(alg, pkey, secret, secret_len, input, strlen(input),
                    sig, flags);
    tok = hg_t_token_sig(input, sig, len);
    free(input);

    return tok;
}


static inline char *
hg_t_bn_b64(EVP_PKEY *pkey, const char *param, int pad)
{
    int             n;
    char           *s;
    BIGNUM         *bn;
    unsigned char   buf[1100];

    bn = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(pkey, param, &bn), 1);
    n = pad ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
    assert_true(n > 0);
    BN_free(bn);
    s = hg_t_b64url(buf, (size_t) n);

    return s;
}


static inline const char *
hg_t_crv(EVP_PKEY *pkey, int *len)
{
    char  name[64];

    if (EVP_PKEY_is_a(pkey, "ED25519")) {
        *len = 32;
        return "Ed25519";
    }

    if (EVP_PKEY_is_a(pkey, "ED448")) {
        *len = 57;
        return "Ed448";
    }

    if (EVP_PKEY_is_a(pkey, "X25519")) {
        *len = 32;
        return "X25519";
    }

    assert_int_equal(EVP_PKEY_get_utf8_string_param(pkey,
                         OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name),
                         NULL), 1);

    if (strcmp(name, "prime256v1") == 0) {
        *len = 32;
        return "P-256";
    }

    if (strcmp(name, "secp384r1") == 0) {
        *len = 48;
        return "P-384";
    }

    if (strcmp(name, "secp521r1") == 0) {
        *len = 66;
        return "P-521";
    }

    *len = 32;
    return strcmp(name, "secp256k1") == 0 ? "secp256k1" : "unknown";
}


/* the public JWK of pkey, as a jansson object (the caller decrefs) */
static inline json_t *
hg_t_jwk(EVP_PKEY *pkey)
{
    int             len;
    char           *x, *y;
    size_t          raw_len;
    json_t         *jwk;
    const char     *crv;
    unsigned char   raw[64];

    jwk = json_object();

    if (EVP_PKEY_is_a(pkey, "RSA")) {
        x = hg_t_bn_b64(pkey, OSSL_PKEY_PARAM_RSA_N, 0);
        y = hg_t_bn_b64(pkey, OSSL_PKEY_PARAM_RSA_E, 0);
        json_object_set_new(jwk, "kty", json_string("RSA"));
        json_object_set_new(jwk, "n", json_string(x));
        json_object_set_new(jwk, "e", json_string(y));
        free(x);
        free(y);
        return jwk;
    }

    crv = hg_t_crv(pkey, &len);

    if (EVP_PKEY_is_a(pkey, "EC")) {
        x = hg_t_bn_b64(pkey, OSSL_PKEY_PARAM_EC_PUB_X, len);
        y = hg_t_bn_b64(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, len);
        json_object_set_new(jwk, "kty", json_string("EC"));
        json_object_set_new(jwk, "crv", json_string(crv));
        json_object_set_new(jwk, "x", json_string(x));
        json_object_set_new(jwk, "y", json_string(y));
        free(x);
        free(y);
        return jwk;
    }

    raw_len = sizeof(raw);
    assert_int_equal(EVP_PKEY_get_raw_public_key(pkey, raw, &raw_len), 1);
    x = hg_t_b64url(raw, raw_len);
    json_object_set_new(jwk, "kty", json_string("OKP"));
    json_object_set_new(jwk, "crv", json_string(crv));
    json_object_set_new(jwk, "x", json_string(x));
    free(x);

    return jwk;
}


static inline json_t *
hg_t_jwk_oct(const unsigned char *secret, size_t len)
{
    char    *k;
    json_t  *jwk;

    k = hg_t_b64url(secret, len);
    jwk = json_pack("{s:s, s:s}", "kty", "oct", "k", k);
    free(k);
    assert_non_null(jwk);

    return jwk;
}


/* adds a JWK or a JWKS object; steals the reference */
static inline int
hg_t_add_json(hg_keyset_t *ks, json_t *json, char *err, size_t errlen)
{
    int    rc;
    char  *s;

    s = json_dumps(json, JSON_COMPACT);
    assert_non_null(s);
    json_decref(json);
    rc = hg_jwks_add_json(ks, s, strlen(s), err, errlen);
    free(s);

    return rc;
}


static inline char *
hg_t_pem(EVP_PKEY *pkey)
{
    BIO    *bio;
    char   *data, *s;
    long    len;

    bio = BIO_new(BIO_s_mem());
    assert_non_null(bio);
    assert_int_equal(PEM_write_bio_PUBKEY(bio, pkey), 1);
    len = BIO_get_mem_data(bio, &data);
    s = malloc((size_t) len + 1);
    assert_non_null(s);
    memcpy(s, data, (size_t) len);
    s[len] = '\0';
    BIO_free(bio);

    return s;
}


#endif /* HG_TEST_H */
