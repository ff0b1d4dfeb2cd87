
/*
 * hubgated: dev-token minting.  Contract in token.h.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <jansson.h>

#include "token.h"


#define TOKEN_RSA_MIN_BITS   2048
#define TOKEN_RSA_MAX_BITS   8192
#define TOKEN_SIG_MAX        (TOKEN_RSA_MAX_BITS / 8)
#define TOKEN_COORD_LEN      32                /* P-256, Ed25519 */
#define TOKEN_JTI_LEN        16

/* EVP_EncodeBlock output for n bytes, with its NUL */
#define TOKEN_B64_SIZE(n)    (((size_t) (n) + 2) / 3 * 4 + 1)


/* the keys we sign with; indexes token_kinds[] */
typedef enum {
    TOKEN_KIND_RSA = 0,
    TOKEN_KIND_EC,
    TOKEN_KIND_OKP
} token_kind_e;


typedef struct {
    const char  *kty;
    const char  *crv;                /* NULL for RSA */
    const char  *alg;
    const char  *digest;             /* NULL: EdDSA hashes by itself */
    const char  *member[2];          /* the JWK's key members, in order */
    const char  *param[2];           /* and where OpenSSL keeps them */
    int          pad;                /* 0: minimal integer, -1: octets */
} token_kind_t;


static void token_err(char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int token_check_claims(const token_claims_t *c, char *err,
    size_t errlen);
static char *token_payload(const token_claims_t *c, char *err,
    size_t errlen);
static int token_add_extra(json_t *claims, const char *text, char *err,
    size_t errlen);
static EVP_PKEY *token_load_key(const char *path, token_kind_e *kind,
    char *err, size_t errlen);
static int token_read_file(const char *path, char *buf, size_t *len,
    char *err, size_t errlen);
static int token_no_passphrase(char *buf, int size, int rwflag, void *u);
static int token_kind(EVP_PKEY *pkey);
static json_t *token_jwk(EVP_PKEY *pkey, token_kind_e kind,
    const char *kid);
static int token_member(json_t *jwk, const char *name, EVP_PKEY *pkey,
    const char *param, int pad);
static char *token_sign(EVP_PKEY *pkey, token_kind_e kind,
    const char *payload, char *err, size_t errlen);
static int token_ecdsa_raw(unsigned char *sig, size_t *len);
static size_t token_b64url(const void *in, size_t len, char *out);


static const token_kind_t  token_kinds[] = {
    { "RSA", NULL, "RS256", "SHA256", { "n", "e" },
      { OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E }, 0 },
    { "EC", "P-256", "ES256", "SHA256", { "x", "y" },
      { OSSL_PKEY_PARAM_EC_PUB_X, OSSL_PKEY_PARAM_EC_PUB_Y },
      TOKEN_COORD_LEN },
    { "OKP", "Ed25519", "EdDSA", NULL, { "x", NULL },
      { OSSL_PKEY_PARAM_PUB_KEY, NULL }, -1 },
};


static void
token_err(char *err, size_t errlen, const char *fmt, ...)
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
token_mint(const char *key_file, const token_claims_t *c, char **jwt,
    char *err, size_t errlen)
{
    char          *payload, *out;
    EVP_PKEY      *pkey;
    token_kind_e   kind;

    if (c == NULL || jwt == NULL) {
        token_err(err, errlen, "token: invalid argument");
        return -1;
    }

    if (token_check_claims(c, err, errlen) != 0) {
        return -1;
    }

    payload = token_payload(c, err, errlen);
    if (payload == NULL) {
        return -1;
    }

    out = NULL;
    pkey = token_load_key(key_file, &kind, err, errlen);

    if (pkey != NULL) {
        out = token_sign(pkey, kind, payload, err, errlen);
        EVP_PKEY_free(pkey);
    }

    free(payload);

    if (out == NULL) {
        return -1;
    }

    *jwt = out;

    return 0;
}


int
token_jwks(const char *key_file, char **jwks, char *err, size_t errlen)
{
    char          *s;
    json_t        *jwk, *doc;
    EVP_PKEY      *pkey;
    token_kind_e   kind;
    char           kid[TOKEN_THUMBPRINT_LEN];

    if (jwks == NULL) {
        token_err(err, errlen, "token: invalid argument");
        return -1;
    }

    pkey = token_load_key(key_file, &kind, err, errlen);
    if (pkey == NULL
        || token_thumbprint(pkey, kid, sizeof(kid), err, errlen) != 0)
    {
        EVP_PKEY_free(pkey);
        return -1;
    }

    jwk = token_jwk(pkey, kind, kid);
    EVP_PKEY_free(pkey);

    doc = jwk ? json_pack("{s:[O]}", "keys", jwk) : NULL;
    s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

    json_decref(doc);
    json_decref(jwk);

    if (s == NULL) {
        token_err(err, errlen, "token: cannot export the public key");
        return -1;
    }

    *jwks = s;

    return 0;
}


int
token_thumbprint(EVP_PKEY *pkey, char *out, size_t outlen, char *err,
    size_t errlen)
{
    int             kind, ok;
    char           *s;
    json_t         *jwk;
    const char     *type;
    char            b64[TOKEN_B64_SIZE(32)];
    unsigned char   md[32];

    if (pkey == NULL || out == NULL || outlen < TOKEN_THUMBPRINT_LEN) {
        token_err(err, errlen, "token: invalid argument");
        return -1;
    }

    kind = token_kind(pkey);
    if (kind < 0) {
        type = EVP_PKEY_get0_type_name(pkey);
        token_err(err, errlen, "token: no thumbprint for a %s key: RSA, "
                  "EC P-256 or Ed25519 only", type ? type : "unknown");
        return -1;
    }

    /* RFC 7638 3.3: the required members only, sorted, no white space */
    jwk = token_jwk(pkey, (token_kind_e) kind, NULL);
    s = jwk ? json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    ok = s != NULL
         && EVP_Digest(s, strlen(s), md, NULL, EVP_sha256(), NULL) == 1;
    free(s);
    json_decref(jwk);

    if (!ok) {
        ERR_clear_error();
        token_err(err, errlen, "token: cannot export the public key");
        return -1;
    }

    (void) token_b64url(md, sizeof(md), b64);
    memcpy(out, b64, TOKEN_THUMBPRINT_LEN);

    return 0;
}


static int
token_check_claims(const token_claims_t *c, char *err, size_t errlen)
{
    size_t       i;
    const char  *v[4] = { c->issuer, c->audience, c->tenant, c->subject };

    static const char  *names[4] = { "issuer", "audience", "tenant",
                                     "subject" };

    for (i = 0; i < 4; i++) {
        if (v[i] == NULL || v[i][0] == '\0') {
            token_err(err, errlen, "token: %s is missing or empty",
                      names[i]);
            return -1;
        }
    }

    if (c->ttl < 1 || c->ttl > TOKEN_TTL_MAX) {
        token_err(err, errlen, "token: ttl %ld is out of range, 1 to %d "
                  "seconds", c->ttl, TOKEN_TTL_MAX);
        return -1;
    }

    if (c->now < 0 || (long long) c->now > LLONG_MAX - c->ttl) {
        token_err(err, errlen, "token: the time is out of range");
        return -1;
    }

    if (c->nroles > 0 && c->roles == NULL) {
        token_err(err, errlen, "token: %zu roles but no list", c->nroles);
        return -1;
    }

    return 0;
}


/* the claims as compact JSON, malloc'ed */
static char *
token_payload(const token_claims_t *c, char *err, size_t errlen)
{
    size_t          i;
    char           *s;
    json_t         *claims, *roles;
    const char     *r;
    json_error_t    jerr;
    char            jti[2 * TOKEN_JTI_LEN + 1];
    unsigned char   rnd[TOKEN_JTI_LEN];

    static const char  hex[] = "0123456789abcdef";

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        ERR_clear_error();
        token_err(err, errlen, "token: RAND_bytes failed");
        return NULL;
    }

    for (i = 0; i < TOKEN_JTI_LEN; i++) {
        jti[2 * i] = hex[rnd[i] >> 4];
        jti[2 * i + 1] = hex[rnd[i] & 0x0f];
    }

    jti[2 * TOKEN_JTI_LEN] = '\0';

    /* a NULL array (no memory) makes json_pack_ex fail below */
    roles = json_array();

    /* the edge joins roles with ',': "a,b" would read as two roles */
    for (i = 0; roles != NULL && i < c->nroles; i++) {
        r = c->roles[i];

        if (r == NULL || *r == '\0' || strchr(r, ',') != NULL
            || json_array_append_new(roles, json_string(r)) != 0)
        {
            json_decref(roles);
            token_err(err, errlen, "token: role %zu is empty, holds ',' or "
                      "is not UTF-8", i + 1);
            return NULL;
        }
    }

    claims = json_pack_ex(&jerr, 0,
                          "{s:s, s:s, s:s, s:s, s:O, s:I, s:I, s:I, s:s}",
                          "iss", c->issuer, "aud", c->audience,
                          "tid", c->tenant, "sub", c->subject,
                          "roles", roles,
                          "iat", (json_int_t) c->now,
                          "nbf", (json_int_t) c->now,
                          "exp", (json_int_t) c->now + c->ttl,
                          "jti", jti);
    json_decref(roles);

    if (claims == NULL) {
        token_err(err, errlen, "token: claims: %s", jerr.text);
        return NULL;
    }

    s = NULL;

    if (c->extra_json == NULL
        || token_add_extra(claims, c->extra_json, err, errlen) == 0)
    {
        s = json_dumps(claims, JSON_COMPACT);

        if (s == NULL) {
            token_err(err, errlen, "token: out of memory");

        } else if (strlen(s) > TOKEN_JSON_MAX) {
            token_err(err, errlen, "token: claims are longer than %d bytes",
                      TOKEN_JSON_MAX);
            free(s);
            s = NULL;
        }
    }

    json_decref(claims);

    return s;
}


/* the claims object holds exactly the reserved names when this runs */
static int
token_add_extra(json_t *claims, const char *text, char *err, size_t errlen)
{
    int            rc;
    json_t        *extra, *value;
    const char    *name;
    json_error_t   jerr;

    extra = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (extra == NULL || !json_is_object(extra)) {
        token_err(err, errlen, "token: extra claims must be a JSON object%s%s",
                  extra ? "" : ": ", extra ? "" : jerr.text);
        json_decref(extra);
        return -1;
    }

    rc = 0;

    json_object_foreach(extra, name, value) {
        if (json_object_get(claims, name) != NULL) {
            token_err(err, errlen, "token: extra claims may not set \"%s\"",
                      name);
            rc = -1;
            break;
        }

        if (json_object_set(claims, name, value) != 0) {
            token_err(err, errlen, "token: out of memory");
            rc = -1;
            break;
        }
    }

    json_decref(extra);

    return rc;
}


/* reads, parses and classifies the key; the caller frees it */
static EVP_PKEY *
token_load_key(const char *path, token_kind_e *kind, char *err,
    size_t errlen)
{
    int          k, bits;
    BIO         *bio;
    char        *buf;
    size_t       len;
    EVP_PKEY    *pkey;
    const char  *type;

    if (path == NULL || *path == '\0') {
        token_err(err, errlen, "token: no key file given");
        return NULL;
    }

    /* one byte more than allowed, to see that the file is too large */
    buf = malloc(TOKEN_KEY_FILE_MAX + 1);
    if (buf == NULL) {
        token_err(err, errlen, "token: out of memory");
        return NULL;
    }

    pkey = NULL;

    if (token_read_file(path, buf, &len, err, errlen) == 0) {
        bio = BIO_new_mem_buf(buf, (int) len);
        pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, token_no_passphrase,
                                             NULL)
                   : NULL;
        BIO_free(bio);
        ERR_clear_error();

        if (pkey == NULL) {
            token_err(err, errlen, "token: key file \"%s\" holds no PEM "
                      "private key (encrypted keys are not supported)",
                      path);
        }
    }

    OPENSSL_cleanse(buf, TOKEN_KEY_FILE_MAX + 1);
    free(buf);

    if (pkey == NULL) {
        return NULL;
    }

    k = token_kind(pkey);
    bits = EVP_PKEY_get_bits(pkey);

    if (k < 0
        || (k == TOKEN_KIND_RSA
            && (bits < TOKEN_RSA_MIN_BITS || bits > TOKEN_RSA_MAX_BITS)))
    {
        type = EVP_PKEY_get0_type_name(pkey);
        token_err(err, errlen, "token: key file \"%s\" holds an unsupported "
                  "key (%s, %d bits): use RSA of %d to %d bits, EC P-256 or "
                  "Ed25519", path, type ? type : "unknown", bits,
                  TOKEN_RSA_MIN_BITS, TOKEN_RSA_MAX_BITS);
        EVP_PKEY_free(pkey);
        return NULL;
    }

    *kind = (token_kind_e) k;

    return pkey;
}


/* buf holds TOKEN_KEY_FILE_MAX + 1 bytes */
static int
token_read_file(const char *path, char *buf, size_t *len, char *err,
    size_t errlen)
{
    int          fd;
    size_t       n;
    ssize_t      r;
    struct stat  st;
    char         why[128];

    why[0] = '\0';

    /* O_NONBLOCK: a FIFO in the key's place must not hang the open */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd == -1 || fstat(fd, &st) == -1) {
        snprintf(why, sizeof(why), ": %s", strerror(errno));

    } else if (!S_ISREG(st.st_mode)) {
        snprintf(why, sizeof(why), " is not a regular file");

    } else if ((st.st_mode & 07777) != 0600 && (st.st_mode & 07777) != 0400) {
        snprintf(why, sizeof(why), " has mode %04o, it must be 0600 or 0400",
                 (unsigned) (st.st_mode & 07777));

    } else {
        n = 0;

        do {
            r = read(fd, buf + n, TOKEN_KEY_FILE_MAX + 1 - n);
            n += r > 0 ? (size_t) r : 0;
        } while ((r > 0 && n <= TOKEN_KEY_FILE_MAX)
                 || (r == -1 && errno == EINTR));

        if (r == -1) {
            snprintf(why, sizeof(why), ": %s", strerror(errno));

        } else if (n > TOKEN_KEY_FILE_MAX) {
            snprintf(why, sizeof(why), " is larger than %d bytes",
                     TOKEN_KEY_FILE_MAX);
        }

        *len = n;
    }

    if (fd != -1) {
        (void) close(fd);
    }

    if (why[0] != '\0') {
        token_err(err, errlen, "token: key file \"%s\"%s", path, why);
        return -1;
    }

    return 0;
}


/* never prompt: an encrypted key fails to load */
static int
token_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    return -1;
}


/* a token_kind_e, or -1; RSA of any size */
static int
token_kind(EVP_PKEY *pkey)
{
    char  group[64];

    if (EVP_PKEY_is_a(pkey, "RSA")) {
        return TOKEN_KIND_RSA;
    }

    if (EVP_PKEY_is_a(pkey, "ED25519")) {
        return TOKEN_KIND_OKP;
    }

    if (EVP_PKEY_is_a(pkey, "EC")
        && EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
                                          group, sizeof(group), NULL)
           == 1
        && OBJ_sn2nid(group) == NID_X9_62_prime256v1)
    {
        return TOKEN_KIND_EC;
    }

    ERR_clear_error();

    return -1;
}


/*
 * The public JWK, kty first: the members RFC 7638 requires, then, with a
 * kid, those a JWKS publishes.
 */
static json_t *
token_jwk(EVP_PKEY *pkey, token_kind_e kind, const char *kid)
{
    int                  ok;
    size_t               i;
    json_t              *jwk;
    const token_kind_t  *k;

    k = &token_kinds[kind];
    jwk = json_pack("{s:s}", "kty", k->kty);

    ok = jwk != NULL
         && (k->crv == NULL
             || json_object_set_new(jwk, "crv", json_string(k->crv)) == 0);

    for (i = 0; ok && i < 2 && k->member[i] != NULL; i++) {
        ok = token_member(jwk, k->member[i], pkey, k->param[i], k->pad)
             == 0;
    }

    if (ok && kid != NULL) {
        ok = json_object_set_new(jwk, "kid", json_string(kid)) == 0
             && json_object_set_new(jwk, "alg", json_string(k->alg)) == 0
             && json_object_set_new(jwk, "use", json_string("sig")) == 0;
    }

    if (!ok) {
        ERR_clear_error();
        json_decref(jwk);
        return NULL;
    }

    return jwk;
}


/*
 * A key parameter in base64url: a big-endian integer, minimal (pad 0) or
 * left-padded to pad bytes, or TOKEN_COORD_LEN raw octets (pad -1).
 */
static int
token_member(json_t *jwk, const char *name, EVP_PKEY *pkey,
    const char *param, int pad)
{
    int             n;
    size_t          len;
    BIGNUM         *bn;
    char            b64[TOKEN_B64_SIZE(TOKEN_SIG_MAX)];
    unsigned char   buf[TOKEN_SIG_MAX];

    n = -1;
    bn = NULL;

    if (pad < 0) {
        if (EVP_PKEY_get_octet_string_param(pkey, param, buf, sizeof(buf),
                                            &len) == 1
            && len == TOKEN_COORD_LEN)
        {
            n = (int) len;
        }

    } else if (EVP_PKEY_get_bn_param(pkey, param, &bn) == 1
               && BN_num_bytes(bn) <= (pad ? pad : (int) sizeof(buf)))
    {
        n = pad ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
    }

    BN_free(bn);

    if (n <= 0) {
        return -1;
    }

    (void) token_b64url(buf, (size_t) n, b64);

    return json_object_set_new(jwk, name, json_string(b64));
}


/* "b64(header).b64(payload).b64(signature)", malloc'ed */
static char *
token_sign(EVP_PKEY *pkey, token_kind_e kind, const char *payload,
    char *err, size_t errlen)
{
    int             ok;
    char           *header, *out;
    size_t          hlen, plen, n, siglen;
    json_t         *h;
    EVP_MD_CTX     *ctx;
    char            kid[TOKEN_THUMBPRINT_LEN];
    unsigned char   sig[TOKEN_SIG_MAX];

    if (token_thumbprint(pkey, kid, sizeof(kid), err, errlen) != 0) {
        return NULL;
    }

    h = json_pack("{s:s, s:s, s:s}", "alg", token_kinds[kind].alg,
                  "typ", "JWT", "kid", kid);
    header = h ? json_dumps(h, JSON_COMPACT) : NULL;
    json_decref(h);

    hlen = header ? strlen(header) : 0;
    plen = strlen(payload);
    out = header ? malloc(TOKEN_B64_SIZE(hlen) + TOKEN_B64_SIZE(plen)
                          + TOKEN_B64_SIZE(TOKEN_SIG_MAX))
                 : NULL;

    if (out == NULL) {
        free(header);
        token_err(err, errlen, "token: out of memory");
        return NULL;
    }

    n = token_b64url(header, hlen, out);
    free(header);
    out[n++] = '.';
    n += token_b64url(payload, plen, out + n);

    siglen = sizeof(sig);
    ctx = EVP_MD_CTX_new();

    ok = ctx != NULL
         && EVP_DigestSignInit_ex(ctx, NULL, token_kinds[kind].digest, NULL,
                                  NULL, pkey, NULL) == 1
         && EVP_DigestSign(ctx, sig, &siglen, (unsigned char *) out, n) == 1
         && (kind != TOKEN_KIND_EC || token_ecdsa_raw(sig, &siglen) == 0);

    EVP_MD_CTX_free(ctx);

    if (!ok) {
        ERR_clear_error();
        free(out);
        token_err(err, errlen, "token: signing failed");
        return NULL;
    }

    out[n++] = '.';
    (void) token_b64url(sig, siglen, out + n);

    return out;
}


/* JWS ES256 (RFC 7518 3.4): DER ECDSA-Sig-Value to r||s, in place */
static int
token_ecdsa_raw(unsigned char *sig, size_t *len)
{
    int                   ok;
    ECDSA_SIG            *es;
    const BIGNUM         *r, *s;
    const unsigned char  *p;

    p = sig;
    es = d2i_ECDSA_SIG(NULL, &p, (long) *len);
    if (es == NULL) {
        return -1;
    }

    ECDSA_SIG_get0(es, &r, &s);

    ok = BN_bn2binpad(r, sig, TOKEN_COORD_LEN) == TOKEN_COORD_LEN
         && BN_bn2binpad(s, sig + TOKEN_COORD_LEN, TOKEN_COORD_LEN)
            == TOKEN_COORD_LEN;

    ECDSA_SIG_free(es);

    if (ok) {
        *len = 2 * TOKEN_COORD_LEN;
    }

    return ok ? 0 : -1;
}


/*
 * Base64url without padding into out[TOKEN_B64_SIZE(len)]; returns the
 * length written.  Callers keep len far below INT_MAX.
 */
static size_t
token_b64url(const void *in, size_t len, char *out)
{
    int    n;
    char  *p;

    n = EVP_EncodeBlock((unsigned char *) out, in, (int) len);

    while (n > 0 && out[n - 1] == '=') {
        n--;
    }

    out[n] = '\0';

    for (p = out; *p != '\0'; p++) {
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    }

    return (size_t) n;
}
