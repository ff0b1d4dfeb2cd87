
/*
 * hubgate: verification keys from JWKS (RFC 7517/7518/8037) and PEM.
 *
 * Pure C (OpenSSL 3, jansson).  A keyset is owned by the caller and
 * released with hg_jwks_free(); keys own their EVP_PKEY and secret.
 *
 * Loading rules (RFC 8725):
 *   - a JWK "alg" pins the key to that one algorithm;
 *   - without "alg", the key is bound to its type: oct -> HS*, RSA -> RS*
 *     and PS*, EC P-256/384/521 -> ES256/384/512, OKP Ed25519/Ed448 ->
 *     EdDSA;
 *   - "use" other than "sig" and "key_ops" without "verify" skip the key;
 *   - unsupported kty/crv skip the key (named in err when nothing loads);
 *   - RSA keys under 2048 bits and HMAC keys shorter than 32 bytes (or
 *     than the hash of a pinned HS384/HS512) are refused with an error;
 *   - "x5c", "x5u", "jku", "jwk" are ignored, never fetched or trusted.
 *
 * Functions return 0 on success, -1 on error with a one-line reason in
 * err (NUL-terminated, at most errlen bytes, never containing key bytes).
 */

#ifndef HG_JWKS_H
#define HG_JWKS_H

#include <stddef.h>
#include <openssl/evp.h>

#include "hg_jwt.h"


#define HG_JWKS_MAX_KEYS   64
#define HG_JWKS_MAX_KID    128


struct hg_key_s {
    char              kid[HG_JWKS_MAX_KID + 1];
    size_t            kid_len;      /* 0: no kid (PEM, or JWK without) */
    hg_kty_e          kty;
    hg_alg_e          alg;          /* pinned, or HG_ALG_UNKNOWN */
    int               curve_nid;    /* EC/OKP: NID_X9_62_prime256v1, ... */
    int               bits;         /* RSA modulus bits, EC field bits */
    EVP_PKEY         *pkey;         /* owned; NULL for oct */
    unsigned char    *secret;       /* owned; oct only */
    size_t            secret_len;

    /*
     * Verification contexts made on first use, per algorithm, so OpenSSL
     * does not look the algorithms up again for every token.  Owned, freed
     * with the key.  They make a key single-threaded: the nginx worker is;
     * threads must not share a keyset.
     */
    EVP_PKEY_CTX     *vctx[HG_ALG_MAX];
    EVP_MD           *md[HG_ALG_MAX];
};


typedef struct {
    hg_key_t          keys[HG_JWKS_MAX_KEYS];
    size_t            nkeys;
} hg_keyset_t;


/* zeroes the set; call before the first add */
void hg_jwks_init(hg_keyset_t *ks);

/* adds every usable key of a JWKS document {"keys":[...]} or a lone JWK */
int hg_jwks_add_json(hg_keyset_t *ks, const char *json, size_t len,
    char *err, size_t errlen);

/* adds every public key (RSA, EC, Ed25519, Ed448) of a PEM text */
int hg_jwks_add_pem(hg_keyset_t *ks, const char *pem, size_t len,
    char *err, size_t errlen);

/* JSON when the first non-space byte is '{', else PEM */
int hg_jwks_add_data(hg_keyset_t *ks, const char *data, size_t len,
    char *err, size_t errlen);

/*
 * Candidate keys for a token, in order: *iter starts at 0.  With a kid,
 * keys whose kid equals it, then kid-less keys; without a kid, every key.
 * Only keys that hg_jwks_key_fits() the alg are returned.  NULL at end.
 */
const hg_key_t *hg_jwks_next(const hg_keyset_t *ks, const char *kid,
    size_t kid_len, hg_alg_e alg, size_t *iter);

/* binding check: may this key verify this alg (type, curve, pin, size) */
int hg_jwks_key_fits(const hg_key_t *key, hg_alg_e alg);

/* true when some key carries exactly this kid */
int hg_jwks_has_kid(const hg_keyset_t *ks, const char *kid, size_t kid_len);

void hg_jwks_free(hg_keyset_t *ks);


#endif /* HG_JWKS_H */
