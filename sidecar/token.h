
/*
 * hubgated: dev-token minting (`hubgated token mint`, `hubgated token
 * jwks`).  Signs JWTs that the edge (ngx_module/hg_jwt.c) accepts, and
 * publishes the matching public key as a JWKS.
 *
 * Pure C on OpenSSL 3 libcrypto and jansson: no database, no event loop,
 * no global mutable state, so unit tests link this file alone.
 *
 * Key file: one PEM private key (PKCS #8 or traditional), unencrypted
 * (an encrypted key is refused, never prompted for), at most
 * TOKEN_KEY_FILE_MAX bytes, a regular file of mode 0600 or 0400 exactly.
 * The key decides the algorithm:
 *   RSA of 2048 to 8192 bits   RS256   (the edge refuses larger keys)
 *   EC P-256                   ES256   (raw r||s signature, 64 bytes)
 *   Ed25519                    EdDSA
 * Anything else is refused.  The file is read into memory that is wiped
 * after parsing; the EVP_PKEY is freed before the call returns.
 *
 * The JWS header is {"alg":..,"typ":"JWT","kid":..}, the kid being the
 * RFC 7638 thumbprint of the public key, the same kid token_jwks()
 * publishes.
 *
 * Return contract: every int function returns 0 or -1; none prints.  If
 * err is not NULL and errlen > 0, a failing call writes a NUL-terminated
 * one-line message there (truncated to fit; it may name the file, never
 * key material) and a successful call leaves it untouched.  Output
 * parameters are only written on success.  Strings returned in *jwt and
 * *jwks are malloc'ed and owned by the caller (free()).
 */

#ifndef TOKEN_H
#define TOKEN_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>


#define TOKEN_TTL_MAX         (30 * 86400)   /* seconds */
#define TOKEN_KEY_FILE_MAX    65536          /* bytes */
#define TOKEN_JSON_MAX        65536          /* serialized claims */
#define TOKEN_THUMBPRINT_LEN  44             /* 43 characters and NUL */


typedef struct {
    const char         *issuer;      /* iss, required non-empty */
    const char         *audience;    /* aud, required non-empty */
    const char         *tenant;      /* tid claim, required non-empty */
    const char         *subject;     /* sub, required non-empty */
    const char *const  *roles;       /* "roles": array of non-empty
                                        strings without ','; NULL if
                                        nroles is 0 */
    size_t              nroles;
    long                ttl;         /* seconds, 1 .. TOKEN_TTL_MAX */
    time_t              now;         /* iat = nbf = now, exp = now + ttl;
                                        must not be negative */
    const char         *extra_json;  /* NULL, or a JSON object whose
                                        members are added (e.g.
                                        {"plan":"pro"}); may not override
                                        iss, aud, tid, sub, roles, iat,
                                        nbf, exp, jti */
} token_claims_t;


/*
 * Reads the key file (rules above) and signs a compact JWS whose payload
 * is, in this order: iss, aud (a string), tid, sub, roles (an array, empty
 * when nroles is 0), iat, nbf, exp, jti (16 random bytes in lowercase hex),
 * then the members of extra_json.  All strings must be valid UTF-8.
 * Returns the token, NUL-terminated, in *jwt (owned by the caller).
 * The claims are checked and built before the key file is read.
 * Errors: a missing or empty claim, a role that is empty or holds ',', a
 * ttl out of range, extra_json that is not a JSON object (duplicates are
 * refused) or names a reserved claim, claims longer than TOKEN_JSON_MAX
 * once serialized, a key file that cannot be read, is not a regular file,
 * has the wrong mode or holds no usable key, an OpenSSL failure.
 */
int token_mint(const char *key_file, const token_claims_t *c, char **jwt,
    char *err, size_t errlen);

/*
 * The public half of the key file's key as a JWKS document:
 * {"keys":[{"kty":..,..,"kid":<thumbprint>,"alg":..,"use":"sig"}]}, with
 * RSA: n, e; EC: crv "P-256", x, y (32 bytes each); OKP: crv "Ed25519", x;
 * all base64url without padding.  *jwks is owned by the caller.  Errors:
 * those of the key file, as for token_mint().
 */
int token_jwks(const char *key_file, char **jwks, char *err, size_t errlen);

/*
 * RFC 7638 JWK thumbprint (SHA-256 over the required members, base64url
 * without padding) of pkey's public part, written NUL-terminated to out,
 * which must hold TOKEN_THUMBPRINT_LEN bytes.  pkey is borrowed.  Takes
 * RSA (any size up to 8192 bits), EC P-256 and Ed25519 keys, public or
 * private; anything else is an error naming the key type.
 */
int token_thumbprint(EVP_PKEY *pkey, char *out, size_t outlen, char *err,
    size_t errlen);


#endif /* TOKEN_H */
