
/*
 * hubgate: JWS/JWT core (RFC 7515, RFC 7519, RFC 8725).  See hg_jwt.h.
 */

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include "hg_jwt.h"
#include "hg_jwks.h"


#define HG_JWT_JSON_FLAGS   (JSON_ENCODE_ANY | JSON_COMPACT)


static int hg_jwt_b64url_value(unsigned char c);
static void hg_jwt_limits(const hg_jwt_limits_t *in, hg_jwt_limits_t *out);
static int hg_jwt_split(const char *token, size_t len, size_t *dot1,
    size_t *dot2);
static int hg_jwt_depth_ok(const unsigned char *p, size_t len,
    unsigned max_depth);
static int hg_jwt_load_part(const char *b64, size_t len, unsigned max_depth,
    json_t **out);
static int hg_jwt_check_header(hg_jwt_t *jwt, hg_alg_set_t algorithms);
static int hg_jwt_decode_sig(hg_jwt_t *jwt, const char *b64, size_t len);

static const EVP_MD *hg_jwt_alg_md(hg_alg_e alg);
static size_t hg_jwt_ec_len(hg_alg_e alg);
static int hg_jwt_verify_hmac(const hg_jwt_t *jwt, const hg_key_t *key);
static int hg_jwt_verify_ecdsa(const hg_jwt_t *jwt, const hg_key_t *key);
static int hg_jwt_verify_digest(const hg_jwt_t *jwt, hg_key_t *key,
    const unsigned char *sig, size_t sig_len);
static int hg_jwt_verify_pkey(const hg_jwt_t *jwt, const hg_key_t *key,
    const unsigned char *sig, size_t sig_len);
static int hg_jwt_set_padding(EVP_PKEY_CTX *pctx, hg_alg_e alg,
    const EVP_MD *md);

static long long hg_jwt_sat_add(long long a, long long b);
static long long hg_jwt_real_to_ll(double d, int round_up);
static int hg_jwt_claim_time(json_t *payload, const char *name,
    int round_up, int *present, long long *value);
static int hg_jwt_claim_types(json_t *payload);
static int hg_jwt_check_times(json_t *payload,
    const hg_jwt_claims_policy_t *policy, time_t now);
static int hg_jwt_check_issuer(json_t *payload, const char *issuer);
static int hg_jwt_check_audience(json_t *payload,
    const hg_jwt_claims_policy_t *policy);
static int hg_jwt_audience_match(json_t *aud,
    const hg_jwt_claims_policy_t *policy);

static int hg_jwt_is_scalar_array(json_t *array);
static int hg_jwt_text_dup(const char *s, size_t len, char **out,
    size_t *out_len);
static int hg_jwt_text_dump(json_t *value, char **out, size_t *out_len);
static int hg_jwt_text_join(json_t *array, char **out, size_t *out_len);
static size_t hg_jwt_scalar_text(json_t *value, char *buf, size_t size);

static int hg_jwt_ascii_lower(int c);
static int hg_jwt_is_tchar(int c);
static int hg_jwt_is_b64token(int c);
static int hg_jwt_bearer_scheme(const char *value, size_t len);


static const char  *const hg_jwt_alg_names[HG_ALG_MAX] = {
    NULL,
    "HS256", "HS384", "HS512",
    "RS256", "RS384", "RS512",
    "PS256", "PS384", "PS512",
    "ES256", "ES384", "ES512",
    "EdDSA"
};


static const char  *const hg_jwt_err_names[HG_JWT_ERR_MAX] = {
    "ok",
    "missing",
    "malformed",
    "too_large",
    "bad_json",
    "bad_alg",
    "crit",
    "no_key",
    "bad_signature",
    "bad_claim_type",
    "expired",
    "not_yet_valid",
    "bad_issuer",
    "bad_audience",
    "internal"
};


/* base64url alphabet (RFC 4648 5): value, or -1; a table keeps the hot
 * loop free of branches on random input */

static const signed char  hg_jwt_b64url_table[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
    -1,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, 63,
    -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1
};


static int
hg_jwt_b64url_value(unsigned char c)
{
    return hg_jwt_b64url_table[c];
}


int
hg_jwt_b64url_decode(const char *in, size_t len, unsigned char *out,
    size_t out_size, size_t *out_len)
{
    int       v;
    size_t    i, n, need;
    uint32_t  acc;
    unsigned  bits;

    /* one leftover character carries 6 bits: never a whole byte */
    if (len % 4 == 1) {
        return -1;
    }

    need = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);

    if (need > out_size) {
        return -1;
    }

    acc = 0;
    bits = 0;
    n = 0;

    for (i = 0; i < len; i++) {
        v = hg_jwt_b64url_value((unsigned char) in[i]);
        if (v < 0) {
            return -1;
        }

        acc = ((acc << 6) | (uint32_t) v) & 0xffff;
        bits += 6;

        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char) (acc >> bits);
        }
    }

    /* RFC 4648 3.5: a canonical encoding leaves the pad bits zero */
    if (acc & ((1u << bits) - 1)) {
        return -1;
    }

    *out_len = n;

    return 0;
}


static void
hg_jwt_limits(const hg_jwt_limits_t *in, hg_jwt_limits_t *out)
{
    out->max_token = HG_JWT_MAX_TOKEN_DEFAULT;
    out->max_depth = HG_JWT_MAX_DEPTH_DEFAULT;
    out->algorithms = HG_ALG_SET_DEFAULT;

    if (in == NULL) {
        return;
    }

    if (in->max_token) {
        out->max_token = in->max_token;
    }

    if (in->max_depth) {
        out->max_depth = in->max_depth;
    }

    if (in->algorithms) {
        out->algorithms = in->algorithms;
    }
}


int
hg_jwt_parse(hg_jwt_t *jwt, const char *token, size_t len,
    const hg_jwt_limits_t *limits)
{
    int              rc;
    size_t           dot1, dot2;
    hg_jwt_limits_t  lim;

    memset(jwt, 0, sizeof(hg_jwt_t));

    hg_jwt_limits(limits, &lim);

    if (token == NULL || len == 0) {
        return HG_JWT_ERR_MALFORMED;
    }

    if (len > lim.max_token) {
        return HG_JWT_ERR_TOO_LARGE;
    }

    if (hg_jwt_split(token, len, &dot1, &dot2) != 0) {
        return HG_JWT_ERR_MALFORMED;
    }

    jwt->token = token;
    jwt->signing_input_len = dot2;

    rc = hg_jwt_load_part(token, dot1, lim.max_depth, &jwt->header);

    if (rc == HG_JWT_OK) {
        rc = hg_jwt_check_header(jwt, lim.algorithms);
    }

    if (rc == HG_JWT_OK) {
        rc = hg_jwt_load_part(token + dot1 + 1, dot2 - dot1 - 1,
                              lim.max_depth, &jwt->payload);
    }

    if (rc == HG_JWT_OK) {
        rc = hg_jwt_decode_sig(jwt, token + dot2 + 1, len - dot2 - 1);
    }

    if (rc != HG_JWT_OK) {
        hg_jwt_free(jwt);
    }

    return rc;
}


void
hg_jwt_free(hg_jwt_t *jwt)
{
    if (jwt == NULL) {
        return;
    }

    json_decref(jwt->header);
    json_decref(jwt->payload);

    memset(jwt, 0, sizeof(hg_jwt_t));
}


/* exactly two dots, non-empty header and payload (the JSON form has none) */

static int
hg_jwt_split(const char *token, size_t len, size_t *dot1, size_t *dot2)
{
    size_t  i, n;

    n = 0;
    *dot1 = 0;
    *dot2 = 0;

    for (i = 0; i < len; i++) {
        if (token[i] != '.') {
            continue;
        }

        if (n == 2) {
            return -1;
        }

        if (n++ == 0) {
            *dot1 = i;

        } else {
            *dot2 = i;
        }
    }

    if (n != 2 || *dot1 == 0 || *dot2 == *dot1 + 1) {
        return -1;
    }

    return 0;
}


/* jansson recurses per level: bound the nesting before it parses */

static int
hg_jwt_depth_ok(const unsigned char *p, size_t len, unsigned max_depth)
{
    int       in_string, escaped;
    size_t    i;
    unsigned  depth;

    depth = 0;
    in_string = 0;
    escaped = 0;

    for (i = 0; i < len; i++) {

        if (in_string) {
            if (escaped) {
                escaped = 0;

            } else if (p[i] == '\\') {
                escaped = 1;

            } else if (p[i] == '"') {
                in_string = 0;
            }

            continue;
        }

        switch (p[i]) {

        case '"':
            in_string = 1;
            break;

        case '{':
        case '[':
            if (++depth > max_depth) {
                return 0;
            }
            break;

        case '}':
        case ']':
            if (depth) {
                depth--;
            }
            break;

        default:
            break;
        }
    }

    return 1;
}


static int
hg_jwt_load_part(const char *b64, size_t len, unsigned max_depth,
    json_t **out)
{
    int             rc;
    size_t          n, size;
    json_t         *json;
    json_error_t    error;
    unsigned char  *buf;

    size = len / 4 * 3 + 3;

    buf = malloc(size);
    if (buf == NULL) {
        return HG_JWT_ERR_INTERNAL;
    }

    rc = HG_JWT_ERR_MALFORMED;

    if (hg_jwt_b64url_decode(b64, len, buf, size, &n) != 0) {
        goto done;
    }

    rc = HG_JWT_ERR_JSON;

    if (!hg_jwt_depth_ok(buf, n, max_depth)) {
        goto done;
    }

    json = json_loadb((const char *) buf, n, JSON_REJECT_DUPLICATES, &error);
    if (json == NULL) {
        goto done;
    }

    if (!json_is_object(json)) {
        json_decref(json);
        goto done;
    }

    *out = json;
    rc = HG_JWT_OK;

done:

    free(buf);

    return rc;
}


static int
hg_jwt_check_header(hg_jwt_t *jwt, hg_alg_set_t algorithms)
{
    json_t    *v;
    hg_alg_e   alg;

    v = json_object_get(jwt->header, "alg");
    if (!json_is_string(v)) {
        return HG_JWT_ERR_ALG;
    }

    alg = hg_jwt_alg_from_name(json_string_value(v), json_string_length(v));

    if (alg == HG_ALG_UNKNOWN || !(algorithms & HG_ALG_BIT(alg))) {
        return HG_JWT_ERR_ALG;
    }

    /* RFC 7515 4.1.11: we understand no extension, so none may be critical;
       RFC 7797 b64=false would change the signing input */
    if (json_object_get(jwt->header, "crit") != NULL
        || json_object_get(jwt->header, "b64") != NULL)
    {
        return HG_JWT_ERR_CRIT;
    }

    v = json_object_get(jwt->header, "kid");

    if (v != NULL) {
        if (!json_is_string(v)) {
            return HG_JWT_ERR_JSON;
        }

        if (json_string_length(v) > 0) {
            jwt->kid = json_string_value(v);
            jwt->kid_len = json_string_length(v);
        }
    }

    /* "jku", "x5u", "jwk", "x5c": never fetched, never trusted */

    jwt->alg = alg;

    return HG_JWT_OK;
}


static int
hg_jwt_decode_sig(hg_jwt_t *jwt, const char *b64, size_t len)
{
    if (len == 0) {
        return HG_JWT_ERR_SIGNATURE;
    }

    if (hg_jwt_b64url_decode(b64, len, jwt->sig, HG_JWT_MAX_SIG,
                             &jwt->sig_len)
        != 0)
    {
        return HG_JWT_ERR_MALFORMED;
    }

    return HG_JWT_OK;
}


hg_alg_e
hg_jwt_alg_from_name(const char *name, size_t len)
{
    int  i;

    if (name == NULL) {
        return HG_ALG_UNKNOWN;
    }

    for (i = HG_ALG_UNKNOWN + 1; i < HG_ALG_MAX; i++) {
        if (strlen(hg_jwt_alg_names[i]) == len
            && memcmp(hg_jwt_alg_names[i], name, len) == 0)
        {
            return (hg_alg_e) i;
        }
    }

    return HG_ALG_UNKNOWN;
}


const char *
hg_jwt_alg_name(hg_alg_e alg)
{
    if (alg <= HG_ALG_UNKNOWN || alg >= HG_ALG_MAX) {
        return "unknown";
    }

    return hg_jwt_alg_names[alg];
}


const char *
hg_jwt_strerror(int err)
{
    if (err < 0 || err >= HG_JWT_ERR_MAX) {
        return "internal";
    }

    return hg_jwt_err_names[err];
}


int
hg_jwt_verify(const hg_jwt_t *jwt, const hg_key_t *key)
{
    int  rc;

    if (jwt == NULL || key == NULL || jwt->token == NULL
        || !hg_jwks_key_fits(key, jwt->alg))
    {
        return HG_JWT_ERR_NO_KEY;
    }

    switch (jwt->alg) {

    case HG_ALG_HS256:
    case HG_ALG_HS384:
    case HG_ALG_HS512:
        rc = hg_jwt_verify_hmac(jwt, key);
        break;

    case HG_ALG_ES256:
    case HG_ALG_ES384:
    case HG_ALG_ES512:
        rc = hg_jwt_verify_ecdsa(jwt, key);
        break;

    default:
        rc = hg_jwt_verify_pkey(jwt, key, jwt->sig, jwt->sig_len);
        break;
    }

    if (rc != HG_JWT_OK) {
        /* a failed verification must not leak into nginx's SSL error log */
        ERR_clear_error();
    }

    return rc;
}


static const EVP_MD *
hg_jwt_alg_md(hg_alg_e alg)
{
    switch (alg) {

    case HG_ALG_HS256:
    case HG_ALG_RS256:
    case HG_ALG_PS256:
    case HG_ALG_ES256:
        return EVP_sha256();

    case HG_ALG_HS384:
    case HG_ALG_RS384:
    case HG_ALG_PS384:
    case HG_ALG_ES384:
        return EVP_sha384();

    case HG_ALG_HS512:
    case HG_ALG_RS512:
    case HG_ALG_PS512:
    case HG_ALG_ES512:
        return EVP_sha512();

    default:
        /* EdDSA hashes internally */
        return NULL;
    }
}


/* RFC 7518 3.4: R and S each as long as the curve order */

static size_t
hg_jwt_ec_len(hg_alg_e alg)
{
    switch (alg) {

    case HG_ALG_ES256:
        return 32;

    case HG_ALG_ES384:
        return 48;

    case HG_ALG_ES512:
        return 66;

    default:
        return 0;
    }
}


static int
hg_jwt_verify_hmac(const hg_jwt_t *jwt, const hg_key_t *key)
{
    int            rc;
    unsigned int   mac_len;
    unsigned char  mac[EVP_MAX_MD_SIZE];

    if (key->secret == NULL || key->secret_len > INT_MAX) {
        return HG_JWT_ERR_NO_KEY;
    }

    if (HMAC(hg_jwt_alg_md(jwt->alg), key->secret, (int) key->secret_len,
             (const unsigned char *) jwt->token, jwt->signing_input_len,
             mac, &mac_len)
        == NULL)
    {
        return HG_JWT_ERR_INTERNAL;
    }

    /* the length is public; the bytes are compared in constant time */
    rc = HG_JWT_ERR_SIGNATURE;

    if (jwt->sig_len == mac_len
        && CRYPTO_memcmp(mac, jwt->sig, mac_len) == 0)
    {
        rc = HG_JWT_OK;
    }

    OPENSSL_cleanse(mac, sizeof(mac));

    return rc;
}


/* JWS carries raw R||S; OpenSSL verifies DER (RFC 8725 3.4: no DER input) */

static int
hg_jwt_verify_ecdsa(const hg_jwt_t *jwt, const hg_key_t *key)
{
    int             rc, der_len;
    size_t          n;
    BIGNUM         *r, *s;
    ECDSA_SIG      *es;
    unsigned char  *der;

    n = hg_jwt_ec_len(jwt->alg);

    if (n == 0 || jwt->sig_len != 2 * n) {
        return HG_JWT_ERR_SIGNATURE;
    }

    es = ECDSA_SIG_new();
    r = BN_bin2bn(jwt->sig, (int) n, NULL);
    s = BN_bin2bn(jwt->sig + n, (int) n, NULL);

    if (es == NULL || r == NULL || s == NULL
        || ECDSA_SIG_set0(es, r, s) != 1)
    {
        ECDSA_SIG_free(es);
        BN_free(r);
        BN_free(s);
        return HG_JWT_ERR_INTERNAL;
    }

    der = NULL;
    der_len = i2d_ECDSA_SIG(es, &der);
    ECDSA_SIG_free(es);

    if (der_len <= 0) {
        return HG_JWT_ERR_INTERNAL;
    }

    rc = hg_jwt_verify_pkey(jwt, key, der, (size_t) der_len);

    OPENSSL_free(der);

    return rc;
}


static int
hg_jwt_verify_pkey(const hg_jwt_t *jwt, const hg_key_t *key,
    const unsigned char *sig, size_t sig_len)
{
    int            rc;
    EVP_MD_CTX    *ctx;
    const EVP_MD  *md;
    EVP_PKEY_CTX  *pctx;

    if (key->pkey == NULL) {
        return HG_JWT_ERR_NO_KEY;
    }

    /* RFC 8017 8.1.2, 8.2.2: a signature is exactly k bytes long */
    if (key->kty == HG_KTY_RSA
        && sig_len != (size_t) EVP_PKEY_get_size(key->pkey))
    {
        return HG_JWT_ERR_SIGNATURE;
    }

    if (jwt->alg != HG_ALG_EDDSA) {
        return hg_jwt_verify_digest(jwt, (hg_key_t *) key, sig, sig_len);
    }

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        return HG_JWT_ERR_INTERNAL;
    }

    md = hg_jwt_alg_md(jwt->alg);
    pctx = NULL;
    rc = HG_JWT_ERR_SIGNATURE;

    if (EVP_DigestVerifyInit(ctx, &pctx, md, NULL, key->pkey) == 1
        && hg_jwt_set_padding(pctx, jwt->alg, md) == 0
        && EVP_DigestVerify(ctx, sig, sig_len,
                            (const unsigned char *) jwt->token,
                            jwt->signing_input_len)
           == 1)
    {
        rc = HG_JWT_OK;
    }

    EVP_MD_CTX_free(ctx);

    return rc;
}


/*
 * RSA and ECDSA: the hash, then EVP_PKEY_verify() with a context the key
 * keeps per algorithm (made once: OpenSSL 3 otherwise fetches the digest
 * and signature implementations and sets the padding on every token).
 */

static int
hg_jwt_verify_digest(const hg_jwt_t *jwt, hg_key_t *key,
    const unsigned char *sig, size_t sig_len)
{
    unsigned int    dlen;
    EVP_PKEY_CTX   *pctx;
    unsigned char   digest[EVP_MAX_MD_SIZE];

    if (key->md[jwt->alg] == NULL) {
        key->md[jwt->alg] = EVP_MD_fetch(NULL,
                                   EVP_MD_get0_name(hg_jwt_alg_md(jwt->alg)),
                                   NULL);
        if (key->md[jwt->alg] == NULL) {
            return HG_JWT_ERR_INTERNAL;
        }
    }

    pctx = key->vctx[jwt->alg];

    if (pctx == NULL) {
        pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);

        if (pctx == NULL
            || EVP_PKEY_verify_init(pctx) != 1
            || EVP_PKEY_CTX_set_signature_md(pctx, key->md[jwt->alg]) <= 0
            || hg_jwt_set_padding(pctx, jwt->alg, key->md[jwt->alg]) != 0)
        {
            EVP_PKEY_CTX_free(pctx);
            return HG_JWT_ERR_INTERNAL;
        }

        key->vctx[jwt->alg] = pctx;
    }

    if (EVP_Digest(jwt->token, jwt->signing_input_len, digest, &dlen,
                   key->md[jwt->alg], NULL)
        != 1)
    {
        return HG_JWT_ERR_INTERNAL;
    }

    return EVP_PKEY_verify(pctx, sig, sig_len, digest, dlen) == 1
           ? HG_JWT_OK : HG_JWT_ERR_SIGNATURE;
}


/* RFC 7518 3.3 and 3.5: PKCS #1 v1.5, or PSS with MGF1 and salt = hash */

static int
hg_jwt_set_padding(EVP_PKEY_CTX *pctx, hg_alg_e alg, const EVP_MD *md)
{
    switch (alg) {

    case HG_ALG_RS256:
    case HG_ALG_RS384:
    case HG_ALG_RS512:
        return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0
               ? 0 : -1;

    case HG_ALG_PS256:
    case HG_ALG_PS384:
    case HG_ALG_PS512:
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0
            || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST)
               <= 0
            || EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) <= 0)
        {
            return -1;
        }

        return 0;

    default:
        return 0;
    }
}


static long long
hg_jwt_sat_add(long long a, long long b)
{
    if (b > 0 && a > LLONG_MAX - b) {
        return LLONG_MAX;
    }

    if (b < 0 && a < LLONG_MIN - b) {
        return LLONG_MIN;
    }

    return a + b;
}


/* a JSON real as whole seconds, rounded the way that is stricter */

static long long
hg_jwt_real_to_ll(double d, int round_up)
{
    long long  v;

    if (d >= 9.0e18) {
        return LLONG_MAX;
    }

    if (d <= -9.0e18) {
        return LLONG_MIN;
    }

    v = (long long) d;

    if (round_up && (double) v < d) {
        v++;

    } else if (!round_up && (double) v > d) {
        v--;
    }

    return v;
}


static int
hg_jwt_claim_time(json_t *payload, const char *name, int round_up,
    int *present, long long *value)
{
    json_t  *v;

    *present = 0;
    *value = 0;

    v = json_object_get(payload, name);
    if (v == NULL) {
        return HG_JWT_OK;
    }

    if (json_is_integer(v)) {
        *value = json_integer_value(v);

    } else if (json_is_real(v)) {
        *value = hg_jwt_real_to_ll(json_real_value(v), round_up);

    } else {
        return HG_JWT_ERR_CLAIM_TYPE;
    }

    *present = 1;

    return HG_JWT_OK;
}


static int
hg_jwt_claim_types(json_t *payload)
{
    size_t   i;
    json_t  *v;

    v = json_object_get(payload, "iss");
    if (v != NULL && !json_is_string(v)) {
        return HG_JWT_ERR_CLAIM_TYPE;
    }

    v = json_object_get(payload, "sub");
    if (v != NULL && !json_is_string(v)) {
        return HG_JWT_ERR_CLAIM_TYPE;
    }

    v = json_object_get(payload, "aud");
    if (v == NULL || json_is_string(v)) {
        return HG_JWT_OK;
    }

    if (!json_is_array(v)) {
        return HG_JWT_ERR_CLAIM_TYPE;
    }

    for (i = 0; i < json_array_size(v); i++) {
        if (!json_is_string(json_array_get(v, i))) {
            return HG_JWT_ERR_CLAIM_TYPE;
        }
    }

    return HG_JWT_OK;
}


int
hg_jwt_check_claims(const hg_jwt_t *jwt,
    const hg_jwt_claims_policy_t *policy, time_t now)
{
    int  rc;

    if (jwt == NULL || jwt->payload == NULL) {
        return HG_JWT_ERR_INTERNAL;
    }

    rc = hg_jwt_claim_types(jwt->payload);
    if (rc != HG_JWT_OK) {
        return rc;
    }

    rc = hg_jwt_check_times(jwt->payload, policy, now);
    if (rc != HG_JWT_OK || policy == NULL) {
        return rc;
    }

    rc = hg_jwt_check_issuer(jwt->payload, policy->issuer);
    if (rc != HG_JWT_OK) {
        return rc;
    }

    return hg_jwt_check_audience(jwt->payload, policy);
}


int
hg_jwt_expiry(const hg_jwt_t *jwt, long long *exp)
{
    int  present;

    if (jwt == NULL || jwt->payload == NULL
        || hg_jwt_claim_time(jwt->payload, "exp", 0, &present, exp)
           != HG_JWT_OK
        || !present)
    {
        return -1;
    }

    return 0;
}


static int
hg_jwt_check_times(json_t *payload, const hg_jwt_claims_policy_t *policy,
    time_t now)
{
    int        rc, has_exp, has_nbf, has_iat;
    long long  t, leeway, exp, nbf, iat;

    /* exp rounds down, nbf and iat up: a fraction never extends validity */
    if ((rc = hg_jwt_claim_time(payload, "exp", 0, &has_exp, &exp))
           != HG_JWT_OK
        || (rc = hg_jwt_claim_time(payload, "nbf", 1, &has_nbf, &nbf))
           != HG_JWT_OK
        || (rc = hg_jwt_claim_time(payload, "iat", 1, &has_iat, &iat))
           != HG_JWT_OK)
    {
        return rc;
    }

    leeway = (policy && policy->leeway > 0) ? policy->leeway : 0;
    t = (long long) now;

    if (!has_exp && policy && policy->require_exp) {
        return HG_JWT_ERR_EXPIRED;
    }

    if (has_exp && t > hg_jwt_sat_add(exp, leeway)) {
        return HG_JWT_ERR_EXPIRED;
    }

    if ((has_nbf && nbf > hg_jwt_sat_add(t, leeway))
        || (has_iat && iat > hg_jwt_sat_add(t, leeway)))
    {
        return HG_JWT_ERR_NOT_YET_VALID;
    }

    return HG_JWT_OK;
}


static int
hg_jwt_check_issuer(json_t *payload, const char *issuer)
{
    size_t   len;
    json_t  *v;

    if (issuer == NULL) {
        return HG_JWT_OK;
    }

    v = json_object_get(payload, "iss");
    if (v == NULL) {
        return HG_JWT_ERR_ISSUER;
    }

    len = strlen(issuer);

    if (json_string_length(v) != len
        || memcmp(json_string_value(v), issuer, len) != 0)
    {
        return HG_JWT_ERR_ISSUER;
    }

    return HG_JWT_OK;
}


static int
hg_jwt_check_audience(json_t *payload, const hg_jwt_claims_policy_t *policy)
{
    size_t   i;
    json_t  *aud;

    if (policy->audiences == NULL || policy->naudiences == 0) {
        return HG_JWT_OK;
    }

    aud = json_object_get(payload, "aud");
    if (aud == NULL) {
        return HG_JWT_ERR_AUDIENCE;
    }

    if (json_is_string(aud)) {
        return hg_jwt_audience_match(aud, policy);
    }

    for (i = 0; i < json_array_size(aud); i++) {
        if (hg_jwt_audience_match(json_array_get(aud, i), policy)
            == HG_JWT_OK)
        {
            return HG_JWT_OK;
        }
    }

    return HG_JWT_ERR_AUDIENCE;
}


static int
hg_jwt_audience_match(json_t *aud, const hg_jwt_claims_policy_t *policy)
{
    size_t       i, len;
    const char  *want;

    for (i = 0; i < policy->naudiences; i++) {
        want = policy->audiences[i];

        if (want == NULL) {
            continue;
        }

        len = strlen(want);

        if (json_string_length(aud) == len
            && memcmp(json_string_value(aud), want, len) == 0)
        {
            return HG_JWT_OK;
        }
    }

    return HG_JWT_ERR_AUDIENCE;
}


int
hg_jwt_member_text(json_t *object, const char *name, size_t name_len,
    char **out, size_t *out_len)
{
    char    *key;
    json_t  *v;

    *out = NULL;
    *out_len = 0;

    if (!json_is_object(object) || name == NULL
        || memchr(name, '\0', name_len) != NULL)
    {
        return -1;
    }

    key = malloc(name_len + 1);
    if (key == NULL) {
        return -1;
    }

    memcpy(key, name, name_len);
    key[name_len] = '\0';

    v = json_object_get(object, key);
    free(key);

    if (v == NULL) {
        return -1;
    }

    if (json_is_string(v)) {
        return hg_jwt_text_dup(json_string_value(v), json_string_length(v),
                               out, out_len);
    }

    if (json_is_array(v) && hg_jwt_is_scalar_array(v)) {
        return hg_jwt_text_join(v, out, out_len);
    }

    return hg_jwt_text_dump(v, out, out_len);
}


static int
hg_jwt_is_scalar_array(json_t *array)
{
    size_t   i;
    json_t  *v;

    for (i = 0; i < json_array_size(array); i++) {
        v = json_array_get(array, i);

        if (json_is_array(v) || json_is_object(v)) {
            return 0;
        }
    }

    return 1;
}


static int
hg_jwt_text_dup(const char *s, size_t len, char **out, size_t *out_len)
{
    char  *p;

    p = malloc(len + 1);
    if (p == NULL) {
        return -1;
    }

    memcpy(p, s, len);
    p[len] = '\0';

    *out = p;
    *out_len = len;

    return 0;
}


/* compact JSON into our own malloc'ed buffer: the caller uses free() */

static int
hg_jwt_text_dump(json_t *value, char **out, size_t *out_len)
{
    char    *p;
    size_t   len;

    len = json_dumpb(value, NULL, 0, HG_JWT_JSON_FLAGS);
    if (len == 0) {
        return -1;
    }

    p = malloc(len + 1);
    if (p == NULL) {
        return -1;
    }

    if (json_dumpb(value, p, len, HG_JWT_JSON_FLAGS) != len) {
        free(p);
        return -1;
    }

    p[len] = '\0';

    *out = p;
    *out_len = len;

    return 0;
}


/* writes at most size bytes of the text, returns its full length */

static size_t
hg_jwt_scalar_text(json_t *value, char *buf, size_t size)
{
    size_t  len;

    if (json_is_string(value)) {
        len = json_string_length(value);

        if (buf && len <= size) {
            memcpy(buf, json_string_value(value), len);
        }

        return len;
    }

    return json_dumpb(value, buf, size, HG_JWT_JSON_FLAGS);
}


static int
hg_jwt_text_join(json_t *array, char **out, size_t *out_len)
{
    char    *p;
    size_t   i, n, len, total;

    n = json_array_size(array);
    total = n ? n - 1 : 0;

    for (i = 0; i < n; i++) {
        total += hg_jwt_scalar_text(json_array_get(array, i), NULL, 0);
    }

    p = malloc(total + 1);
    if (p == NULL) {
        return -1;
    }

    len = 0;

    for (i = 0; i < n; i++) {
        if (i) {
            p[len++] = ',';
        }

        len += hg_jwt_scalar_text(json_array_get(array, i), p + len,
                                  total - len);
    }

    if (len != total) {
        free(p);
        return -1;
    }

    p[len] = '\0';

    *out = p;
    *out_len = len;

    return 0;
}


static int
hg_jwt_ascii_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}


/* RFC 9110 5.6.2 */

static int
hg_jwt_is_tchar(int c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9'))
    {
        return 1;
    }

    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}


/* RFC 6750 2.1, without the trailing "=" */

/* RFC 6750 b64token characters */

static const unsigned char  hg_jwt_b64token_table[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
};


static int
hg_jwt_is_b64token(int c)
{
    return hg_jwt_b64token_table[c & 0xff];
}


/* 1: not Bearer, 0: "Bearer" and a space, -1: "Bearer" badly separated */

static int
hg_jwt_bearer_scheme(const char *value, size_t len)
{
    size_t       i;
    const char  *scheme = "bearer";

    if (value == NULL || len < 6) {
        return 1;
    }

    for (i = 0; i < 6; i++) {
        if (hg_jwt_ascii_lower((unsigned char) value[i]) != scheme[i]) {
            return 1;
        }
    }

    /* "Bearerx" is another scheme; "Bearer" alone, or "Bearer\t", is not */
    if (len > 6 && hg_jwt_is_tchar((unsigned char) value[6])) {
        return 1;
    }

    return (len > 6 && value[6] == ' ') ? 0 : -1;
}


int
hg_jwt_parse_bearer(const char *value, size_t len, const char **token,
    size_t *token_len)
{
    int     rc;
    size_t  i, start, end;

    rc = hg_jwt_bearer_scheme(value, len);
    if (rc != 0) {
        return rc;
    }

    for (i = 6; i < len && value[i] == ' '; i++) {
        /* void */
    }

    start = i;

    while (i < len && hg_jwt_is_b64token((unsigned char) value[i])) {
        i++;
    }

    if (i == start) {
        return -1;
    }

    while (i < len && value[i] == '=') {
        i++;
    }

    end = i;

    while (i < len && value[i] == ' ') {
        i++;
    }

    if (i != len) {
        return -1;
    }

    *token = value + start;
    *token_len = end - start;

    return 0;
}
