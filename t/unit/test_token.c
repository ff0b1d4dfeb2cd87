
/*
 * token: dev-token minting (sidecar/token.c), checked with the edge's own
 * JWKS loader and JWT verifier, and RFC 7638 thumbprints.
 */

#include "hg_test.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/param_build.h>

#include "token.h"


#define ISS     "https://dev.hubgate.test"
#define AUD     "hubgate-api"
#define TENANT  "tenant-a"
#define SUB     "user-42"
#define TTL     3600

/* RFC 7638 section 3.1 */
#define RFC_N                                                                \
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7" \
    "aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBX" \
    "Arwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9" \
    "c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM" \
    "4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
#define RFC_E   "AQAB"
#define RFC_KID "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


typedef struct {
    char       dir[64];
    char       path[128];
    EVP_PKEY  *rsa;
    EVP_PKEY  *p256;
    EVP_PKEY  *ed25519;
    EVP_PKEY  *rsa1024;
    EVP_PKEY  *p384;
} fixture_t;


static fixture_t  T;

static const char *const  roles[] = { "admin", "billing" };


static int
group_setup(void **state)
{
    strcpy(T.dir, "/tmp/test_token.XXXXXX");
    assert_non_null(mkdtemp(T.dir));
    snprintf(T.path, sizeof(T.path), "%s/key.pem", T.dir);

    T.rsa = hg_t_rsa(2048);
    T.p256 = hg_t_ec("P-256");
    T.ed25519 = hg_t_okp("ED25519");
    T.rsa1024 = hg_t_rsa(1024);
    T.p384 = hg_t_ec("P-384");

    return 0;
}


static int
group_teardown(void **state)
{
    (void) unlink(T.path);
    (void) rmdir(T.dir);

    EVP_PKEY_free(T.rsa);
    EVP_PKEY_free(T.p256);
    EVP_PKEY_free(T.ed25519);
    EVP_PKEY_free(T.rsa1024);
    EVP_PKEY_free(T.p384);

    return 0;
}


/* writes pkey's private key (or its public key) to T.path with a mode */
static const char *
key_file(EVP_PKEY *pkey, mode_t mode, int public, const char *pass)
{
    FILE  *f;

    (void) unlink(T.path);
    f = fopen(T.path, "w");
    assert_non_null(f);

    if (public) {
        assert_int_equal(PEM_write_PUBKEY(f, pkey), 1);

    } else if (pass != NULL) {
        assert_int_equal(PEM_write_PrivateKey(f, pkey, EVP_aes_256_cbc(),
                                              (unsigned char *) pass,
                                              (int) strlen(pass), NULL, NULL),
                         1);

    } else {
        assert_int_equal(PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL,
                                              NULL), 1);
    }

    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(T.path, mode), 0);

    return T.path;
}


static token_claims_t
claims(void)
{
    token_claims_t  c;

    memset(&c, 0, sizeof(token_claims_t));
    c.issuer = ISS;
    c.audience = AUD;
    c.tenant = TENANT;
    c.subject = SUB;
    c.roles = roles;
    c.nroles = 2;
    c.ttl = TTL;
    c.now = time(NULL);
    c.extra_json = "{\"plan\":\"pro\",\"seats\":5}";

    return c;
}


static char *
mint(const token_claims_t *c)
{
    char   err[512];
    char  *jwt;

    jwt = NULL;
    err[0] = '\0';

    if (token_mint(T.path, c, &jwt, err, sizeof(err)) != 0) {
        fail_msg("token_mint: %s", err);
    }

    assert_non_null(jwt);

    return jwt;
}


/* independently: SHA-256 of hg_t_jwk()'s members, sorted and compact */
static char *
expected_kid(EVP_PKEY *pkey)
{
    char           *s, *kid;
    json_t         *jwk;
    unsigned char   md[32];

    jwk = hg_t_jwk(pkey);
    s = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(s);
    assert_int_equal(EVP_Digest(s, strlen(s), md, NULL, EVP_sha256(), NULL),
                     1);
    kid = hg_t_b64url(md, sizeof(md));
    free(s);
    json_decref(jwk);

    return kid;
}


static EVP_PKEY *
rfc_pkey(void)
{
    size_t           n_len, e_len;
    BIGNUM          *n, *e;
    EVP_PKEY        *pkey;
    OSSL_PARAM      *params;
    EVP_PKEY_CTX    *pctx;
    OSSL_PARAM_BLD  *bld;
    unsigned char    nb[512], eb[8];

    assert_int_equal(hg_jwt_b64url_decode(RFC_N, strlen(RFC_N), nb,
                                          sizeof(nb), &n_len), 0);
    assert_int_equal(hg_jwt_b64url_decode(RFC_E, strlen(RFC_E), eb,
                                          sizeof(eb), &e_len), 0);

    n = BN_bin2bn(nb, (int) n_len, NULL);
    e = BN_bin2bn(eb, (int) e_len, NULL);
    bld = OSSL_PARAM_BLD_new();
    assert_non_null(n);
    assert_non_null(e);
    assert_non_null(bld);
    assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n), 1);
    assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e), 1);
    params = OSSL_PARAM_BLD_to_param(bld);
    assert_non_null(params);

    pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    assert_non_null(pctx);
    assert_int_equal(EVP_PKEY_fromdata_init(pctx), 1);
    pkey = NULL;
    assert_int_equal(EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY,
                                       params), 1);

    EVP_PKEY_CTX_free(pctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);

    return pkey;
}


static void
test_rfc7638(void **state)
{
    char       err[256], kid[TOKEN_THUMBPRINT_LEN];
    EVP_PKEY  *pkey;

    pkey = rfc_pkey();

    assert_int_equal(token_thumbprint(pkey, kid, sizeof(kid), err,
                                      sizeof(err)), 0);
    assert_string_equal(kid, RFC_KID);

    /* too small a buffer */
    err[0] = '\0';
    assert_int_equal(token_thumbprint(pkey, kid, sizeof(kid) - 1, err,
                                      sizeof(err)), -1);
    assert_true(err[0] != '\0');

    EVP_PKEY_free(pkey);
}


static void
test_thumbprint_kinds(void **state)
{
    char       err[256], kid[TOKEN_THUMBPRINT_LEN], *want;
    size_t     i;
    EVP_PKEY  *keys[3];

    keys[0] = T.rsa;
    keys[1] = T.p256;
    keys[2] = T.ed25519;

    for (i = 0; i < 3; i++) {
        want = expected_kid(keys[i]);
        assert_int_equal(token_thumbprint(keys[i], kid, sizeof(kid), err,
                                          sizeof(err)), 0);
        assert_string_equal(kid, want);
        free(want);
    }

    /* P-384 has no place here */
    err[0] = '\0';
    assert_int_equal(token_thumbprint(T.p384, kid, sizeof(kid), err,
                                      sizeof(err)), -1);
    assert_non_null(strstr(err, "EC"));
}


/* the JWKS as published: one key, pinned, kid = thumbprint */
static void
check_jwks(EVP_PKEY *pkey, hg_alg_e alg, const char *jwks, char *kid)
{
    json_t       *doc, *jwk;
    const char   *kty, *crv;
    json_error_t  jerr;

    doc = json_loads(jwks, JSON_REJECT_DUPLICATES, &jerr);
    assert_non_null(doc);
    assert_int_equal(json_array_size(json_object_get(doc, "keys")), 1);
    jwk = json_array_get(json_object_get(doc, "keys"), 0);

    assert_string_equal(json_string_value(json_object_get(jwk, "alg")),
                        hg_jwt_alg_name(alg));
    assert_string_equal(json_string_value(json_object_get(jwk, "use")),
                        "sig");
    assert_string_equal(json_string_value(json_object_get(jwk, "kid")),
                        kid);
    assert_null(json_object_get(jwk, "d"));

    kty = json_string_value(json_object_get(jwk, "kty"));
    crv = json_string_value(json_object_get(jwk, "crv"));

    if (alg == HG_ALG_RS256) {
        assert_string_equal(kty, "RSA");
        assert_string_equal(json_string_value(json_object_get(jwk, "e")),
                            "AQAB");
        assert_int_equal(json_object_size(jwk), 6);

    } else if (alg == HG_ALG_ES256) {
        assert_string_equal(kty, "EC");
        assert_string_equal(crv, "P-256");
        assert_int_equal(strlen(json_string_value(json_object_get(jwk, "x"))),
                         43);
        assert_int_equal(strlen(json_string_value(json_object_get(jwk, "y"))),
                         43);
        assert_int_equal(json_object_size(jwk), 7);

    } else {
        assert_string_equal(kty, "OKP");
        assert_string_equal(crv, "Ed25519");
        assert_int_equal(strlen(json_string_value(json_object_get(jwk, "x"))),
                         43);
        assert_int_equal(json_object_size(jwk), 6);
    }

    json_decref(doc);
}


static void
member_is(json_t *object, const char *name, const char *want)
{
    char    *s;
    size_t   len;

    if (hg_jwt_member_text(object, name, strlen(name), &s, &len) != 0) {
        fail_msg("no member \"%s\"", name);
    }

    assert_string_equal(s, want);
    free(s);
}


static json_int_t
member_int(json_t *object, const char *name)
{
    json_t  *v;

    v = json_object_get(object, name);
    assert_true(json_is_integer(v));

    return json_integer_value(v);
}


/* mint with pkey, verify with the edge's JWKS loader and JWT verifier */
static void
round_trip(EVP_PKEY *pkey, hg_alg_e alg, mode_t mode)
{
    char                    err[512], kid[TOKEN_THUMBPRINT_LEN];
    char                   *jwks, *tok, *want;
    size_t                  iter;
    hg_jwt_t                jwt;
    const char             *auds[1];
    hg_keyset_t             ks;
    const hg_key_t         *key;
    token_claims_t          c;
    hg_jwt_limits_t         limits;
    hg_jwt_claims_policy_t  policy;

    key_file(pkey, mode, 0, NULL);

    want = expected_kid(pkey);
    assert_int_equal(token_thumbprint(pkey, kid, sizeof(kid), err,
                                      sizeof(err)), 0);
    assert_string_equal(kid, want);
    free(want);

    jwks = NULL;
    if (token_jwks(T.path, &jwks, err, sizeof(err)) != 0) {
        fail_msg("token_jwks: %s", err);
    }
    check_jwks(pkey, alg, jwks, kid);

    hg_jwks_init(&ks);
    if (hg_jwks_add_json(&ks, jwks, strlen(jwks), err, sizeof(err)) != 0) {
        fail_msg("hg_jwks_add_json: %s", err);
    }
    assert_int_equal(ks.nkeys, 1);
    assert_int_equal(ks.keys[0].alg, alg);
    free(jwks);

    c = claims();
    tok = mint(&c);

    memset(&limits, 0, sizeof(hg_jwt_limits_t));
    limits.algorithms = HG_ALG_BIT(alg);
    assert_int_equal(hg_jwt_parse(&jwt, tok, strlen(tok), &limits),
                     HG_JWT_OK);
    assert_int_equal(jwt.alg, alg);
    assert_int_equal(jwt.kid_len, strlen(kid));
    assert_memory_equal(jwt.kid, kid, jwt.kid_len);
    member_is(jwt.header, "typ", "JWT");
    assert_int_equal(json_object_size(jwt.header), 3);

    if (alg == HG_ALG_ES256) {
        assert_int_equal(jwt.sig_len, 64);
    }

    iter = 0;
    key = hg_jwks_next(&ks, jwt.kid, jwt.kid_len, jwt.alg, &iter);
    assert_non_null(key);
    assert_int_equal(hg_jwt_verify(&jwt, key), HG_JWT_OK);

    /* the edge's claim checks */
    auds[0] = AUD;
    memset(&policy, 0, sizeof(hg_jwt_claims_policy_t));
    policy.issuer = ISS;
    policy.audiences = auds;
    policy.naudiences = 1;
    policy.require_exp = 1;
    assert_int_equal(hg_jwt_check_claims(&jwt, &policy, c.now), HG_JWT_OK);
    assert_int_equal(hg_jwt_check_claims(&jwt, &policy, c.now + TTL + 1),
                     HG_JWT_ERR_EXPIRED);
    assert_int_equal(hg_jwt_check_claims(&jwt, &policy, c.now - 60),
                     HG_JWT_ERR_NOT_YET_VALID);

    member_is(jwt.payload, "iss", ISS);
    member_is(jwt.payload, "aud", AUD);
    member_is(jwt.payload, "tid", TENANT);
    member_is(jwt.payload, "sub", SUB);
    member_is(jwt.payload, "roles", "admin,billing");
    member_is(jwt.payload, "plan", "pro");
    member_is(jwt.payload, "seats", "5");
    assert_true(json_is_string(json_object_get(jwt.payload, "aud")));
    assert_int_equal(member_int(jwt.payload, "iat"), c.now);
    assert_int_equal(member_int(jwt.payload, "nbf"), c.now);
    assert_int_equal(member_int(jwt.payload, "exp")
                     - member_int(jwt.payload, "iat"), TTL);
    assert_int_equal(strlen(json_string_value(json_object_get(jwt.payload,
                                                              "jti"))), 32);
    assert_int_equal(json_object_size(jwt.payload), 11);

    /* a changed payload byte fails the signature */
    hg_jwt_free(&jwt);
    tok[strchr(tok, '.') - tok + 5] ^= 0x01;
    if (hg_jwt_parse(&jwt, tok, strlen(tok), &limits) == HG_JWT_OK) {
        assert_int_equal(hg_jwt_verify(&jwt, key), HG_JWT_ERR_SIGNATURE);
    }

    hg_jwt_free(&jwt);
    hg_jwks_free(&ks);
    free(tok);
}


static void
test_rs256(void **state)
{
    round_trip(T.rsa, HG_ALG_RS256, 0600);
}


static void
test_es256(void **state)
{
    round_trip(T.p256, HG_ALG_ES256, 0600);
}


static void
test_eddsa(void **state)
{
    round_trip(T.ed25519, HG_ALG_EDDSA, 0400);
}


/* roles may be absent, and extra_json too: an empty array, no extras */
static void
test_minimal(void **state)
{
    char             *tok;
    hg_jwt_t          jwt;
    json_t           *r;
    token_claims_t    c;
    hg_jwt_limits_t   limits;

    key_file(T.p256, 0600, 0, NULL);
    c = claims();
    c.roles = NULL;
    c.nroles = 0;
    c.extra_json = NULL;
    c.ttl = TOKEN_TTL_MAX;
    tok = mint(&c);

    memset(&limits, 0, sizeof(hg_jwt_limits_t));
    assert_int_equal(hg_jwt_parse(&jwt, tok, strlen(tok), &limits),
                     HG_JWT_OK);
    r = json_object_get(jwt.payload, "roles");
    assert_true(json_is_array(r));
    assert_int_equal(json_array_size(r), 0);
    assert_int_equal(json_object_size(jwt.payload), 9);
    assert_int_equal(member_int(jwt.payload, "exp") - c.now, TOKEN_TTL_MAX);

    hg_jwt_free(&jwt);
    free(tok);
}


/* refused, with want in a one-line message that shows no key */
static void
refused(const char *path, const token_claims_t *c, const char *want)
{
    int    rc;
    char   err[512];
    char  *jwt;

    jwt = NULL;
    err[0] = '\0';
    rc = c ? token_mint(path, c, &jwt, err, sizeof(err))
           : token_jwks(path, &jwt, err, sizeof(err));

    if (rc != -1 || jwt != NULL) {
        fail_msg("not refused (want \"%s\")", want);
    }

    if (strstr(err, want) == NULL) {
        fail_msg("message \"%s\" lacks \"%s\"", err, want);
    }

    assert_null(strchr(err, '\n'));
    assert_null(strstr(err, "-----"));
}


static void
test_key_errors(void **state)
{
    char            missing[160];
    token_claims_t  c;

    c = claims();

    key_file(T.rsa, 0644, 0, NULL);
    refused(T.path, &c, "has mode 0644");
    refused(T.path, &c, T.path);
    refused(T.path, NULL, "has mode 0644");

    key_file(T.rsa, 0640, 0, NULL);
    refused(T.path, &c, "has mode 0640, it must be 0600 or 0400");

    snprintf(missing, sizeof(missing), "%s/missing.pem", T.dir);
    refused(missing, &c, missing);
    refused(missing, &c, "No such file");
    refused(T.dir, &c, "not a regular file");
    refused(NULL, &c, "no key file");

    key_file(T.rsa1024, 0600, 0, NULL);
    refused(T.path, &c, "unsupported key (RSA, 1024 bits)");
    refused(T.path, NULL, "unsupported key (RSA, 1024 bits)");

    key_file(T.p384, 0600, 0, NULL);
    refused(T.path, &c, "unsupported key (EC, 384 bits)");

    key_file(T.p256, 0600, 1, NULL);
    refused(T.path, &c, "holds no PEM private key");

    /* an encrypted key is refused, not prompted for */
    key_file(T.ed25519, 0600, 0, "secret");
    refused(T.path, &c, "encrypted keys are not supported");
}


static void
test_claim_errors(void **state)
{
    token_claims_t        c;
    static const char    *bad_roles[] = { "admin", "a,b" };

    key_file(T.ed25519, 0600, 0, NULL);

    c = claims();
    c.extra_json = "[1]";
    refused(T.path, &c, "extra claims must be a JSON object");
    c.extra_json = "\"pro\"";
    refused(T.path, &c, "extra claims must be a JSON object: ");
    c.extra_json = "{\"plan\":";
    refused(T.path, &c, "extra claims must be a JSON object: ");
    c.extra_json = "{\"plan\":1,\"plan\":2}";
    refused(T.path, &c, "duplicate");
    c.extra_json = "{\"plan\":\"pro\",\"tid\":\"tenant-b\"}";
    refused(T.path, &c, "may not set \"tid\"");
    c.extra_json = "{\"exp\":4102444800}";
    refused(T.path, &c, "may not set \"exp\"");

    c = claims();
    c.ttl = 0;
    refused(T.path, &c, "ttl 0 is out of range");
    c.ttl = TOKEN_TTL_MAX + 1;
    refused(T.path, &c, "out of range");
    c.ttl = -5;
    refused(T.path, &c, "out of range");

    c = claims();
    c.tenant = "";
    refused(T.path, &c, "tenant is missing or empty");
    c = claims();
    c.issuer = NULL;
    refused(T.path, &c, "issuer is missing or empty");

    c = claims();
    c.roles = bad_roles;
    refused(T.path, &c, "role 2 is empty, holds ','");
    c.roles = NULL;
    refused(T.path, &c, "no list");

    c = claims();
    c.subject = "user-\xff";
    refused(T.path, &c, "token: claims:");
}


static void
test_jti_unique(void **state)
{
    char             *t1, *t2;
    hg_jwt_t          j1, j2;
    const char       *jti1, *jti2;
    token_claims_t    c;
    hg_jwt_limits_t   limits;

    key_file(T.ed25519, 0600, 0, NULL);
    c = claims();
    t1 = mint(&c);
    t2 = mint(&c);

    memset(&limits, 0, sizeof(hg_jwt_limits_t));
    limits.algorithms = HG_ALG_BIT(HG_ALG_EDDSA);
    assert_int_equal(hg_jwt_parse(&j1, t1, strlen(t1), &limits), HG_JWT_OK);
    assert_int_equal(hg_jwt_parse(&j2, t2, strlen(t2), &limits), HG_JWT_OK);

    jti1 = json_string_value(json_object_get(j1.payload, "jti"));
    jti2 = json_string_value(json_object_get(j2.payload, "jti"));
    assert_non_null(jti1);
    assert_non_null(jti2);
    assert_int_equal(strspn(jti1, "0123456789abcdef"), 32);
    assert_string_not_equal(jti1, jti2);

    hg_jwt_free(&j1);
    hg_jwt_free(&j2);
    free(t1);
    free(t2);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_rfc7638),
        cmocka_unit_test(test_thumbprint_kinds),
        cmocka_unit_test(test_rs256),
        cmocka_unit_test(test_es256),
        cmocka_unit_test(test_eddsa),
        cmocka_unit_test(test_minimal),
        cmocka_unit_test(test_key_errors),
        cmocka_unit_test(test_claim_errors),
        cmocka_unit_test(test_jti_unique),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
