
/*
 * hubgate: JWS/JWT core (RFC 7515, RFC 7519, RFC 8725).
 *
 * Pure C: no nginx types, so unit tests and fuzzers link it alone.
 * Depends on OpenSSL 3 (libcrypto) and jansson.
 *
 * Return contract: functions return HG_JWT_OK (0) or one hg_jwt_err_e code;
 * they never print.  Memory: an hg_jwt_t is owned by the caller; everything
 * it points to is released by hg_jwt_free().
 */

#ifndef HG_JWT_H
#define HG_JWT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <jansson.h>


typedef enum {
    HG_ALG_UNKNOWN = 0,
    HG_ALG_HS256,
    HG_ALG_HS384,
    HG_ALG_HS512,
    HG_ALG_RS256,
    HG_ALG_RS384,
    HG_ALG_RS512,
    HG_ALG_PS256,
    HG_ALG_PS384,
    HG_ALG_PS512,
    HG_ALG_ES256,
    HG_ALG_ES384,
    HG_ALG_ES512,
    HG_ALG_EDDSA,
    HG_ALG_MAX
} hg_alg_e;

/* bit set of hg_alg_e values */
typedef uint32_t  hg_alg_set_t;

#define HG_ALG_BIT(a)  ((hg_alg_set_t) 1 << (a))

/* the default allowlist: ES384, ES512 and EdDSA only when named */
#define HG_ALG_SET_DEFAULT                                                   \
    (HG_ALG_BIT(HG_ALG_HS256) | HG_ALG_BIT(HG_ALG_HS384)                     \
     | HG_ALG_BIT(HG_ALG_HS512) | HG_ALG_BIT(HG_ALG_RS256)                   \
     | HG_ALG_BIT(HG_ALG_RS384) | HG_ALG_BIT(HG_ALG_RS512)                   \
     | HG_ALG_BIT(HG_ALG_PS256) | HG_ALG_BIT(HG_ALG_PS384)                   \
     | HG_ALG_BIT(HG_ALG_PS512) | HG_ALG_BIT(HG_ALG_ES256))


typedef enum {
    HG_KTY_UNKNOWN = 0,
    HG_KTY_OCT,
    HG_KTY_RSA,
    HG_KTY_EC,
    HG_KTY_OKP
} hg_kty_e;


/*
 * Error codes.  Their names (hg_jwt_strerror) are what $hubgate_jwt_error
 * holds and what hubgate_status counts, so they are part of the contract.
 */
typedef enum {
    HG_JWT_OK = 0,
    HG_JWT_ERR_MISSING,         /* "missing": no bearer token sent */
    HG_JWT_ERR_MALFORMED,       /* "malformed": not 3 base64url parts */
    HG_JWT_ERR_TOO_LARGE,       /* "too_large": over max token size */
    HG_JWT_ERR_JSON,            /* "bad_json": invalid JSON, not an object,
                                   duplicate member, too deep */
    HG_JWT_ERR_ALG,             /* "bad_alg": missing, "none", unknown or
                                   not in the allowlist */
    HG_JWT_ERR_CRIT,            /* "crit": crit or b64 header present */
    HG_JWT_ERR_NO_KEY,          /* "no_key": no key for kid/alg */
    HG_JWT_ERR_SIGNATURE,       /* "bad_signature" */
    HG_JWT_ERR_CLAIM_TYPE,      /* "bad_claim_type": exp/nbf/iat not a
                                   number, iss/sub not a string, ... */
    HG_JWT_ERR_EXPIRED,         /* "expired" (also: exp missing) */
    HG_JWT_ERR_NOT_YET_VALID,   /* "not_yet_valid": nbf or iat ahead */
    HG_JWT_ERR_ISSUER,          /* "bad_issuer" */
    HG_JWT_ERR_AUDIENCE,        /* "bad_audience" */
    HG_JWT_ERR_INTERNAL,        /* "internal": allocation or OpenSSL */
    HG_JWT_ERR_MAX
} hg_jwt_err_e;


/* bounds: RFC 8725 wants sizes and depth limited */
#define HG_JWT_MAX_TOKEN_DEFAULT   8192
#define HG_JWT_MAX_DEPTH_DEFAULT   8
#define HG_JWT_MAX_SIG             1024     /* RSA-8192 */


/* a verification key, made by the JWKS/PEM loader (hg_jwks.h) */
typedef struct hg_key_s  hg_key_t;


typedef struct {
    /* borrowed from the token passed to hg_jwt_parse() */
    const char     *token;
    size_t          signing_input_len;   /* "header.payload" */

    hg_alg_e        alg;
    const char     *kid;                 /* borrowed from header, or NULL */
    size_t          kid_len;

    json_t         *header;              /* owned: JSON object */
    json_t         *payload;             /* owned: JSON object */

    unsigned char   sig[HG_JWT_MAX_SIG];
    size_t          sig_len;
} hg_jwt_t;


typedef struct {
    size_t          max_token;           /* 0: HG_JWT_MAX_TOKEN_DEFAULT */
    unsigned        max_depth;           /* 0: HG_JWT_MAX_DEPTH_DEFAULT */
    hg_alg_set_t    algorithms;          /* 0: HG_ALG_SET_DEFAULT */
} hg_jwt_limits_t;


typedef struct {
    const char     *issuer;              /* NUL-terminated or NULL */
    const char    **audiences;           /* any one must match; NULL: none */
    size_t          naudiences;
    long            leeway;              /* seconds */
    int             require_exp;         /* missing exp is "expired" */
} hg_jwt_claims_policy_t;


/*
 * Splits and decodes a compact JWS, parses header and payload (both must be
 * JSON objects; duplicates and depth refused), resolves "alg" against the
 * allowlist ("none" is never allowed), refuses "crit" and "b64", decodes the
 * signature.  The jwt is zeroed first.  An empty "kid" counts as no kid
 * (jwt->kid stays NULL).  An empty signature part is HG_JWT_ERR_SIGNATURE.
 * On error the jwt is left freed (hg_jwt_free is harmless, and may be
 * called any number of times).
 */
int hg_jwt_parse(hg_jwt_t *jwt, const char *token, size_t len,
    const hg_jwt_limits_t *limits);

void hg_jwt_free(hg_jwt_t *jwt);

/*
 * Checks that the key may be used with jwt->alg (RFC 8725 key binding: a
 * pinned JWK "alg" must equal it; otherwise the key type and curve must
 * fit it; an HMAC key must be at least as long as the hash), then verifies
 * the signature over the signing input.  ECDSA signatures are raw R||S of
 * exactly the curve's length; RSA signatures exactly the modulus length;
 * PS* use MGF1 with the same hash and a salt as long as the hash.  Returns
 * HG_JWT_OK, HG_JWT_ERR_NO_KEY (key does not fit the alg),
 * HG_JWT_ERR_SIGNATURE, or HG_JWT_ERR_INTERNAL (allocation failure).
 * Constant time for HMAC.  Leaves the OpenSSL error queue empty on failure.
 */
int hg_jwt_verify(const hg_jwt_t *jwt, const hg_key_t *key);

/*
 * exp/nbf/iat must be numbers (a fraction counts against the token), iss
 * and sub strings, aud a string or an array of strings, whatever the
 * policy; then exp (and its presence when require_exp), nbf, iat, iss and
 * aud are checked, leeway applied.  policy may be NULL (types and times
 * only, no leeway).
 */
int hg_jwt_check_claims(const hg_jwt_t *jwt,
    const hg_jwt_claims_policy_t *policy, time_t now);

/*
 * The token's exp, rounded down as hg_jwt_check_claims() counts it.
 * Returns 0, or -1 when exp is absent or not a number.
 */
int hg_jwt_expiry(const hg_jwt_t *jwt, long long *exp);

/* "RS256" -> HG_ALG_RS256; HG_ALG_UNKNOWN for anything else, "none" too */
hg_alg_e hg_jwt_alg_from_name(const char *name, size_t len);
const char *hg_jwt_alg_name(hg_alg_e alg);

/* the names listed with hg_jwt_err_e; "internal" when out of range */
const char *hg_jwt_strerror(int err);

/*
 * Strict base64url (RFC 4648 section 5, RFC 7515 section 2): no padding, no
 * white space, non-zero leftover bits refused.  Returns 0 with *out_len
 * set, or -1 on a bad character or length, or when out_size is too small.
 */
int hg_jwt_b64url_decode(const char *in, size_t len, unsigned char *out,
    size_t out_size, size_t *out_len);

/*
 * Finds a bearer token in an Authorization header value (RFC 6750 2.1:
 * scheme case-insensitive, one or more spaces, b64token charset, optional
 * trailing spaces).  Returns 0 with *token and *len pointing into value, 1 when
 * the scheme is not Bearer, -1 when it is Bearer but malformed.
 */
int hg_jwt_parse_bearer(const char *value, size_t len, const char **token,
    size_t *token_len);

/*
 * Text of a claim (payload) or header member, for nginx variables:
 * string as is, number as JSON writes it, true/false, array of scalars
 * joined by ",", object as compact JSON.  *out is malloc'ed; caller frees.
 * Returns 0 when found, -1 when absent or on allocation failure.
 */
int hg_jwt_member_text(json_t *object, const char *name, size_t name_len,
    char **out, size_t *out_len);


#endif /* HG_JWT_H */
