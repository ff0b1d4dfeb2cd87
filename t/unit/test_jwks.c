
/*
 * hg_jwks: JWK and PEM loading, refusals, key binding, iteration.
 */

#include "hg_test.h"

#include <openssl/rand.h>
#include <openssl/x509.h>


typedef struct {
    EVP_PKEY       *rsa;
    EVP_PKEY       *rsa1024;
    EVP_PKEY       *p256;
    EVP_PKEY       *p384;
    EVP_PKEY       *p521;
    EVP_PKEY       *k256;
    EVP_PKEY       *ed25519;
    EVP_PKEY       *ed448;
    EVP_PKEY       *x25519;
    unsigned char   secret[80];
} keys_t;


static keys_t  K;


static int
group_setup(void **state)
{
    K.rsa = hg_t_rsa(2048);
    K.rsa1024 = hg_t_rsa(1024);
    K.p256 = hg_t_ec("P-256");
    K.p384 = hg_t_ec("P-384");
    K.p521 = hg_t_ec("P-521");
    K.k256 = hg_t_ec("secp256k1");
    K.ed25519 = hg_t_okp("ED25519");
    K.ed448 = hg_t_okp("ED448");
    K.x25519 = hg_t_okp("X25519");
    assert_int_equal(RAND_bytes(K.secret, sizeof(K.secret)), 1);

    return 0;
}


static int
group_teardown(void **state)
{
    EVP_PKEY_free(K.rsa);
    EVP_PKEY_free(K.rsa1024);
    EVP_PKEY_free(K.p256);
    EVP_PKEY_free(K.p384);
    EVP_PKEY_free(K.p521);
    EVP_PKEY_free(K.k256);
    EVP_PKEY_free(K.ed25519);
    EVP_PKEY_free(K.ed448);
    EVP_PKEY_free(K.x25519);

    return 0;
}


static json_t *
jwk_with(json_t *jwk, const char *name, const char *value)
{
    json_object_set_new(jwk, name, json_string(value));

    return jwk;
}


static json_t *
set_of(json_t *jwk)
{
    json_t  *keys;

    keys = json_array();
    json_array_append_new(keys, jwk);

    return json_pack("{s:o}", "keys", keys);
}


/* adds text; on failure checks that err says something and leaks nothing */
static int
add(hg_keyset_t *ks, const char *text, const char *secret_b64, char *err,
    size_t errlen)
{
    int  rc;

    memset(err, 0, errlen);
    rc = hg_jwks_add_data(ks, text, strlen(text), err, errlen);

    if (rc != 0) {
        assert_true(strlen(err) > 0);
        assert_true(strlen(err) < errlen);

        if (secret_b64 && strlen(secret_b64) >= 8) {
            assert_null(strstr(err, secret_b64));
        }
    }

    return rc;
}


static int
add_json(hg_keyset_t *ks, json_t *json, char *err, size_t errlen)
{
    int    rc;
    char  *s;

    s = json_dumps(json, JSON_COMPACT);
    json_decref(json);
    rc = add(ks, s, NULL, err, errlen);
    free(s);

    return rc;
}


static void
test_jwks_all_types(void **state)
{
    char          err[256];
    json_t       *keys;
    hg_keyset_t   ks;

    keys = json_array();
    json_array_append_new(keys, jwk_with(hg_t_jwk(K.rsa), "kid", "rsa"));
    json_array_append_new(keys, jwk_with(hg_t_jwk(K.p256), "kid", "p256"));
    json_array_append_new(keys, jwk_with(hg_t_jwk(K.p384), "kid", "p384"));
    json_array_append_new(keys, jwk_with(hg_t_jwk(K.p521), "kid", "p521"));
    json_array_append_new(keys, jwk_with(hg_t_jwk(K.ed25519), "use", "sig"));
    json_array_append_new(keys, hg_t_jwk(K.ed448));
    json_array_append_new(keys, jwk_with(hg_t_jwk_oct(K.secret, 32), "kid",
                                         "hs"));

    hg_jwks_init(&ks);
    assert_int_equal(add_json(&ks, json_pack("{s:o}", "keys", keys), err,
                              sizeof(err)), 0);
    assert_int_equal(ks.nkeys, 7);

    assert_int_equal(ks.keys[0].kty, HG_KTY_RSA);
    assert_int_equal(ks.keys[0].bits, 2048);
    assert_string_equal(ks.keys[0].kid, "rsa");
    assert_int_equal(ks.keys[0].kid_len, 3);
    assert_int_equal(ks.keys[0].alg, HG_ALG_UNKNOWN);
    assert_non_null(ks.keys[0].pkey);
    assert_null(ks.keys[0].secret);

    assert_int_equal(ks.keys[1].kty, HG_KTY_EC);
    assert_int_equal(ks.keys[1].curve_nid, NID_X9_62_prime256v1);
    assert_int_equal(ks.keys[1].bits, 256);
    assert_int_equal(ks.keys[2].curve_nid, NID_secp384r1);
    assert_int_equal(ks.keys[3].curve_nid, NID_secp521r1);
    assert_int_equal(ks.keys[3].bits, 521);

    assert_int_equal(ks.keys[4].kty, HG_KTY_OKP);
    assert_int_equal(ks.keys[4].curve_nid, NID_ED25519);
    assert_int_equal(ks.keys[4].kid_len, 0);
    assert_int_equal(ks.keys[5].curve_nid, NID_ED448);

    assert_int_equal(ks.keys[6].kty, HG_KTY_OCT);
    assert_int_equal(ks.keys[6].secret_len, 32);
    assert_memory_equal(ks.keys[6].secret, K.secret, 32);
    assert_null(ks.keys[6].pkey);

    /* adding to a set appends */
    assert_int_equal(add_json(&ks, hg_t_jwk(K.p256), err, sizeof(err)), 0);
    assert_int_equal(ks.nkeys, 8);

    hg_jwks_free(&ks);
    assert_int_equal(ks.nkeys, 0);
    hg_jwks_free(&ks);
}


static void
test_jwks_shapes(void **state)
{
    static const char  *bad[] = {
        "",
        "{",
        "{}",
        "[]",
        "{\"keys\":{}}",
        "{\"keys\":\"x\"}",
        "{\"keys\":[]}",
        "{\"keys\":[1]}",
        "{\"keys\":[[]]}",
        "{\"keys\":[{}]}",
        "{\"keys\":[{\"kty\":1}]}",
        "{\"keys\":[],\"keys\":[]}",
        "{\"kty\":\"oct\",\"kty\":\"oct\",\"k\":\"x\"}",
        "{\"keys\":[]} trailing",
        "   \n\t",
        "not json, not PEM"
    };

    size_t        i;
    char          err[256];
    hg_keyset_t   ks;

    hg_jwks_init(&ks);

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(add(&ks, bad[i], NULL, err, sizeof(err)), -1);
        assert_int_equal(ks.nkeys, 0);
    }

    assert_int_equal(hg_jwks_add_json(&ks, "{}", 2, NULL, 0), -1);
}


static void
test_jwk_lone_and_whitespace(void **state)
{
    char         *s, *t, err[256];
    json_t       *jwk;
    hg_keyset_t   ks;

    hg_jwks_init(&ks);
    jwk = hg_t_jwk(K.p256);
    s = json_dumps(jwk, JSON_INDENT(2));
    json_decref(jwk);
    t = hg_t_fmt(" \r\n\t%s\n", s);

    assert_int_equal(add(&ks, t, NULL, err, sizeof(err)), 0);
    assert_int_equal(ks.nkeys, 1);

    /* the length bounds the text */
    assert_int_equal(hg_jwks_add_data(&ks, t, strlen(t) - 3, err,
                                      sizeof(err)), -1);
    assert_int_equal(ks.nkeys, 1);

    free(s);
    free(t);
    hg_jwks_free(&ks);
}


static void
test_use_and_key_ops(void **state)
{
    char          err[256];
    json_t       *keys, *jwk;
    hg_keyset_t   ks;

    hg_jwks_init(&ks);

    assert_int_equal(add_json(&ks, set_of(jwk_with(hg_t_jwk(K.p256), "use",
                                                   "enc")),
                              err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no usable key"));
    assert_non_null(strstr(err, "\"enc\""));

    jwk = hg_t_jwk(K.p256);
    json_object_set_new(jwk, "key_ops", json_pack("[s,s]", "sign", "encrypt"));
    assert_int_equal(add_json(&ks, set_of(jwk), err, sizeof(err)), -1);

    jwk = hg_t_jwk(K.p256);
    json_object_set_new(jwk, "key_ops", json_string("verify"));
    assert_int_equal(add_json(&ks, set_of(jwk), err, sizeof(err)), -1);

    jwk = hg_t_jwk(K.p256);
    json_object_set_new(jwk, "use", json_integer(1));
    assert_int_equal(add_json(&ks, set_of(jwk), err, sizeof(err)), -1);
    assert_int_equal(ks.nkeys, 0);

    /* skipped keys do not stop the usable ones */
    keys = json_array();
    json_array_append_new(keys, jwk_with(hg_t_jwk(K.p384), "use", "enc"));
    jwk = hg_t_jwk(K.p256);
    json_object_set_new(jwk, "key_ops", json_pack("[s,s]", "sign", "verify"));
    json_array_append_new(keys, jwk);
    json_array_append_new(keys, jwk_with(hg_t_jwk(K.rsa), "use", "sig"));
    assert_int_equal(add_json(&ks, json_pack("{s:o}", "keys", keys), err,
                              sizeof(err)), 0);
    assert_int_equal(ks.nkeys, 2);
    assert_int_equal(ks.keys[0].curve_nid, NID_X9_62_prime256v1);
    assert_int_equal(ks.keys[1].kty, HG_KTY_RSA);

    hg_jwks_free(&ks);
}


static void
test_unsupported_skipped(void **state)
{
    char          err[256];
    json_t       *keys, *jwk;
    hg_keyset_t   ks;

    hg_jwks_init(&ks);

    /* X25519 is key agreement, secp256k1 not a JOSE signature curve */
    assert_int_equal(add_json(&ks, set_of(hg_t_jwk(K.x25519)), err,
                              sizeof(err)), -1);
    assert_non_null(strstr(err, "X25519"));

    assert_int_equal(add_json(&ks, set_of(jwk_with(hg_t_jwk(K.p256), "crv",
                                                   "secp256k1")),
                              err, sizeof(err)), -1);
    assert_non_null(strstr(err, "crv"));

    assert_int_equal(add_json(&ks, json_pack("{s:s}", "kty", "DSA"), err,
                              sizeof(err)), -1);
    assert_non_null(strstr(err, "\"DSA\""));

    assert_int_equal(add_json(&ks, set_of(jwk_with(hg_t_jwk(K.rsa), "alg",
                                                   "RSA-OAEP")),
                              err, sizeof(err)), -1);
    assert_non_null(strstr(err, "RSA-OAEP"));

    assert_int_equal(add_json(&ks, set_of(jwk_with(hg_t_jwk(K.p256), "alg",
                                                   "none")),
                              err, sizeof(err)), -1);

    /* an unprintable kty is not echoed */
    assert_int_equal(add_json(&ks, json_pack("{s:s}", "kty", "a\nb"), err,
                              sizeof(err)), -1);
    assert_null(strchr(err, '\n'));

    keys = json_array();
    json_array_append_new(keys, json_pack("{s:s}", "kty", "foo"));
    json_array_append_new(keys, hg_t_jwk(K.x25519));
    json_array_append_new(keys, hg_t_jwk(K.ed25519));
    jwk = json_pack("{s:o}", "keys", keys);
    assert_int_equal(add_json(&ks, jwk, err, sizeof(err)), 0);
    assert_int_equal(ks.nkeys, 1);
    assert_int_equal(ks.keys[0].curve_nid, NID_ED25519);

    hg_jwks_free(&ks);
}


static void
test_kid(void **state)
{
    char          err[256], kid[HG_JWKS_MAX_KID + 2];
    json_t       *jwk;
    hg_keyset_t   ks;

    memset(kid, 'k', sizeof(kid) - 1);
    kid[sizeof(kid) - 1] = '\0';

    hg_jwks_init(&ks);
    assert_int_equal(add_json(&ks, jwk_with(hg_t_jwk(K.p256), "kid", kid),
                              err, sizeof(err)), -1);

    kid[HG_JWKS_MAX_KID] = '\0';
    assert_int_equal(add_json(&ks, jwk_with(hg_t_jwk(K.p256), "kid", kid),
                              err, sizeof(err)), 0);
    assert_int_equal(ks.keys[0].kid_len, HG_JWKS_MAX_KID);
    assert_string_equal(ks.keys[0].kid, kid);

    jwk = hg_t_jwk(K.p256);
    json_object_set_new(jwk, "kid", json_integer(7));
    assert_int_equal(add_json(&ks, jwk, err, sizeof(err)), -1);

    assert_int_equal(add_json(&ks, jwk_with(hg_t_jwk(K.p256), "kid", ""),
                              err, sizeof(err)), 0);
    assert_int_equal(ks.keys[1].kid_len, 0);

    assert_true(hg_jwks_has_kid(&ks, kid, HG_JWKS_MAX_KID));
    assert_false(hg_jwks_has_kid(&ks, kid, HG_JWKS_MAX_KID - 1));
    assert_false(hg_jwks_has_kid(&ks, "", 0));
    assert_false(hg_jwks_has_kid(&ks, NULL, 0));
    assert_false(hg_jwks_has_kid(NULL, "k", 1));

    hg_jwks_free(&ks);
}


static void
test_oct_sizes(void **state)
{
    char          err[256], *k;
    json_t       *jwk;
    hg_keyset_t   ks;

    hg_jwks_init(&ks);

    k = hg_t_b64url(K.secret, 31);
    assert_int_equal(add_json(&ks, hg_t_jwk_oct(K.secret, 31), err,
                              sizeof(err)), -1);
    assert_null(strstr(err, k));
    assert_non_null(strstr(err, "31 bytes"));
    free(k);

    assert_int_equal(add_json(&ks, hg_t_jwk_oct(K.secret, 0), err,
                              sizeof(err)), -1);

    assert_int_equal(add_json(&ks, jwk_with(hg_t_jwk_oct(K.secret, 47),
                                            "alg", "HS384"),
                              err, sizeof(err)), -1);
    assert_int_equal(add_json(&ks, jwk_with(hg_t_jwk_oct(K.secret, 63),
                                            "alg", "HS512"),
                              err, sizeof(err)), -1);
    assert_int_equal(add_json(&ks, jwk_with(hg_t_jwk_oct(K.secret, 31),
                                            "alg", "HS256"),
                              err, sizeof(err)), -1);
    assert_int_equal(ks.nkeys, 0);

    assert_int_equal(add_json(&ks, hg_t_jwk_oct(K.secret, 32), err,
                              sizeof(err)), 0);
    assert_int_equal(add_json(&ks, jwk_with(hg_t_jwk_oct(K.secret, 48),
                                            "alg", "HS384"),
                              err, sizeof(err)), 0);
    assert_int_equal(add_json(&ks, jwk_with(hg_t_jwk_oct(K.secret, 64),
                                            "alg", "HS512"),
                              err, sizeof(err)), 0);
    assert_int_equal(ks.nkeys, 3);
    assert_int_equal(ks.keys[2].alg, HG_ALG_HS512);

    /* an HMAC key pinned to an asymmetric alg */
    assert_int_equal(add_json(&ks, jwk_with(hg_t_jwk_oct(K.secret, 64),
                                            "alg", "RS256"),
                              err, sizeof(err)), -1);

    /* k missing, not a string, not base64url */
    assert_int_equal(add_json(&ks, json_pack("{s:s}", "kty", "oct"), err,
                              sizeof(err)), -1);
    assert_int_equal(add_json(&ks, json_pack("{s:s,s:i}", "kty", "oct", "k",
                                             1), err, sizeof(err)), -1);
    jwk = json_pack("{s:s,s:s}", "kty", "oct",
                    "k", "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2Vj=");
    assert_int_equal(add_json(&ks, jwk, err, sizeof(err)), -1);
    assert_null(strstr(err, "c2VjcmV0"));

    assert_int_equal(ks.nkeys, 3);
    hg_jwks_free(&ks);
}


/* broken JSON right after a secret: the message quotes no input */
static void
test_error_has_no_key_material(void **state)
{
    char         *k, *text, err[512];
    hg_keyset_t   ks;

    k = hg_t_b64url(K.secret, 48);
    hg_jwks_init(&ks);

    text = hg_t_fmt("{\"keys\":[{\"kty\":\"oct\",\"k\":\"%s\\q\"}]}", k);
    assert_int_equal(add(&ks, text, k, err, sizeof(err)), -1);
    free(text);

    text = hg_t_fmt("{\"keys\":[{\"kty\":\"oct\",\"k\":\"%s\" \"x\"}]}", k);
    assert_int_equal(add(&ks, text, k, err, sizeof(err)), -1);
    free(text);

    text = hg_t_fmt("{\"keys\":[{\"kty\":\"oct\",\"k\":\"%s!\"}]}", k);
    assert_int_equal(add(&ks, text, k, err, sizeof(err)), -1);
    free(text);

    text = hg_t_fmt("{\"kty\":\"oct\",\"k\":\"%s\",\"alg\":\"HS512\"}", k);
    assert_int_equal(add(&ks, text, k, err, sizeof(err)), -1);
    free(text);

    text = hg_t_fmt("{\"kty\":\"oct\",\"k\":\"%s\",\"alg\":\"ES256\"}", k);
    assert_int_equal(add(&ks, text, k, err, sizeof(err)), -1);
    free(text);

    /* a tiny buffer is still NUL-terminated */
    text = hg_t_fmt("{\"kty\":\"oct\",\"k\":\"%s\",\"alg\":\"ES256\"}", k);
    memset(err, 'x', sizeof(err));
    assert_int_equal(hg_jwks_add_data(&ks, text, strlen(text), err, 4), -1);
    assert_int_equal(strlen(err), 3);
    free(text);

    free(k);
    hg_jwks_free(&ks);
}


static void
test_rsa_refusals(void **state)
{
    char          err[256], *pem;
    json_t       *jwk;
    hg_keyset_t   ks;

    hg_jwks_init(&ks);

    assert_int_equal(add_json(&ks, hg_t_jwk(K.rsa1024), err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "1024 bits"));

    pem = hg_t_pem(K.rsa1024);
    assert_int_equal(add(&ks, pem, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "1024 bits"));
    free(pem);

    /* even exponent, exponent 1, huge exponent */
    jwk = jwk_with(hg_t_jwk(K.rsa), "e", "AQAA");
    assert_int_equal(add_json(&ks, jwk, err, sizeof(err)), -1);
    jwk = jwk_with(hg_t_jwk(K.rsa), "e", "AQ");
    assert_int_equal(add_json(&ks, jwk, err, sizeof(err)), -1);
    jwk = jwk_with(hg_t_jwk(K.rsa), "e", "AQAAAAAAAAAAAQ");
    assert_int_equal(add_json(&ks, jwk, err, sizeof(err)), -1);

    /* n missing, not base64url, RSA pinned to an EC alg */
    jwk = hg_t_jwk(K.rsa);
    json_object_del(jwk, "n");
    assert_int_equal(add_json(&ks, jwk, err, sizeof(err)), -1);
    jwk = jwk_with(hg_t_jwk(K.rsa), "n", "AQAB+");
    assert_int_equal(add_json(&ks, jwk, err, sizeof(err)), -1);
    jwk = jwk_with(hg_t_jwk(K.rsa), "alg", "ES256");
    assert_int_equal(add_json(&ks, jwk, err, sizeof(err)), -1);

    assert_int_equal(ks.nkeys, 0);

    jwk = jwk_with(hg_t_jwk(K.rsa), "alg", "PS384");
    assert_int_equal(add_json(&ks, jwk, err, sizeof(err)), 0);
    assert_int_equal(ks.keys[0].alg, HG_ALG_PS384);

    hg_jwks_free(&ks);
}


/* RSA n with one leading zero byte (some encoders add it) still loads */
static void
test_rsa_leading_zero(void **state)
{
    int             n;
    char           *b, err[256];
    BIGNUM         *bn;
    hg_keyset_t     ks;
    unsigned char   buf[1100];

    bn = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(K.rsa, OSSL_PKEY_PARAM_RSA_N, &bn),
                     1);
    buf[0] = 0;
    n = BN_bn2bin(bn, buf + 1);
    BN_free(bn);
    b = hg_t_b64url(buf, (size_t) n + 1);

    hg_jwks_init(&ks);
    assert_int_equal(add_json(&ks, jwk_with(hg_t_jwk(K.rsa), "n", b), err,
                              sizeof(err)), 0);
    assert_int_equal(ks.keys[0].bits, 2048);
    hg_jwks_free(&ks);
    free(b);
}


/* y changed by one: a point off the curve (invalid-curve attacks) */
static void
test_ec_refusals(void **state)
{
    char            err[256], *b;
    size_t          len;
    json_t         *jwk;
    hg_keyset_t     ks;
    unsigned char   y[66];

    hg_jwks_init(&ks);

    jwk = hg_t_jwk(K.p256);
    assert_int_equal(hg_jwt_b64url_decode(json_string_value(
                         json_object_get(jwk, "y")), 43, y, sizeof(y), &len),
                     0);
    y[31] ^= 1;
    b = hg_t_b64url(y, 32);
    assert_int_equal(add_json(&ks, jwk_with(jwk, "y", b), err, sizeof(err)),
                     -1);
    free(b);

    /* x and y of the field's length exactly */
    jwk = hg_t_jwk(K.p256);
    assert_int_equal(add_json(&ks, jwk_with(jwk, "crv", "P-384"), err,
                              sizeof(err)), -1);
    jwk = hg_t_jwk(K.p384);
    assert_int_equal(add_json(&ks, jwk_with(jwk, "crv", "P-256"), err,
                              sizeof(err)), -1);
    b = hg_t_b64url(y, 31);
    assert_int_equal(add_json(&ks, jwk_with(hg_t_jwk(K.p256), "x", b), err,
                              sizeof(err)), -1);
    free(b);

    /* all-zero coordinates, all-ones coordinates (x >= p) */
    memset(y, 0, sizeof(y));
    b = hg_t_b64url(y, 32);
    jwk = jwk_with(jwk_with(hg_t_jwk(K.p256), "x", b), "y", b);
    assert_int_equal(add_json(&ks, jwk, err, sizeof(err)), -1);
    free(b);
    memset(y, 0xff, sizeof(y));
    b = hg_t_b64url(y, 32);
    jwk = jwk_with(hg_t_jwk(K.p256), "x", b);
    assert_int_equal(add_json(&ks, jwk, err, sizeof(err)), -1);
    free(b);

    /* missing y; EC pinned to the wrong curve's alg; EC with kty OKP */
    jwk = hg_t_jwk(K.p256);
    json_object_del(jwk, "y");
    assert_int_equal(add_json(&ks, jwk, err, sizeof(err)), -1);
    jwk = jwk_with(hg_t_jwk(K.p256), "alg", "ES384");
    assert_int_equal(add_json(&ks, jwk, err, sizeof(err)), -1);
    jwk = jwk_with(hg_t_jwk(K.p256), "alg", "EdDSA");
    assert_int_equal(add_json(&ks, jwk, err, sizeof(err)), -1);
    jwk = jwk_with(hg_t_jwk(K.p256), "kty", "OKP");
    assert_int_equal(add_json(&ks, jwk, err, sizeof(err)), -1);

    assert_int_equal(ks.nkeys, 0);

    jwk = jwk_with(hg_t_jwk(K.p521), "alg", "ES512");
    assert_int_equal(add_json(&ks, jwk, err, sizeof(err)), 0);
    hg_jwks_free(&ks);
}


static void
test_okp_refusals(void **state)
{
    char          err[256];
    json_t       *jwk;
    hg_keyset_t   ks;

    hg_jwks_init(&ks);

    jwk = jwk_with(hg_t_jwk(K.ed25519), "crv", "Ed448");
    assert_int_equal(add_json(&ks, jwk, err, sizeof(err)), -1);
    jwk = jwk_with(hg_t_jwk(K.ed448), "crv", "Ed25519");
    assert_int_equal(add_json(&ks, jwk, err, sizeof(err)), -1);
    jwk = jwk_with(hg_t_jwk(K.ed25519), "alg", "ES256");
    assert_int_equal(add_json(&ks, jwk, err, sizeof(err)), -1);
    jwk = jwk_with(hg_t_jwk(K.ed25519), "kty", "EC");
    assert_int_equal(add_json(&ks, jwk, err, sizeof(err)), -1);
    assert_int_equal(ks.nkeys, 0);

    jwk = jwk_with(hg_t_jwk(K.ed25519), "alg", "EdDSA");
    assert_int_equal(add_json(&ks, jwk, err, sizeof(err)), 0);
    assert_int_equal(ks.keys[0].alg, HG_ALG_EDDSA);
    hg_jwks_free(&ks);
}


/* one bad key refuses the document; the set is left as it was */
static void
test_rollback(void **state)
{
    char          err[256];
    json_t       *keys;
    hg_keyset_t   ks;

    hg_jwks_init(&ks);
    assert_int_equal(add_json(&ks, hg_t_jwk(K.p256), err, sizeof(err)), 0);

    keys = json_array();
    json_array_append_new(keys, hg_t_jwk(K.rsa));
    json_array_append_new(keys, hg_t_jwk_oct(K.secret, 32));
    json_array_append_new(keys, hg_t_jwk(K.rsa1024));
    assert_int_equal(add_json(&ks, json_pack("{s:o}", "keys", keys), err,
                              sizeof(err)), -1);
    assert_non_null(strstr(err, "key 2"));
    assert_int_equal(ks.nkeys, 1);
    assert_int_equal(ks.keys[0].kty, HG_KTY_EC);
    assert_null(ks.keys[1].pkey);
    assert_null(ks.keys[2].secret);

    hg_jwks_free(&ks);
}


static void
test_max_keys(void **state)
{
    int           i;
    char          err[256];
    json_t       *keys;
    hg_keyset_t   ks;

    keys = json_array();

    for (i = 0; i < HG_JWKS_MAX_KEYS; i++) {
        json_array_append_new(keys, hg_t_jwk_oct(K.secret, 32 + i % 16));
    }

    hg_jwks_init(&ks);
    assert_int_equal(add_json(&ks, json_pack("{s:O}", "keys", keys), err,
                              sizeof(err)), 0);
    assert_int_equal(ks.nkeys, HG_JWKS_MAX_KEYS);

    assert_int_equal(add_json(&ks, hg_t_jwk(K.p256), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "more than 64 keys"));
    assert_int_equal(ks.nkeys, HG_JWKS_MAX_KEYS);
    hg_jwks_free(&ks);

    json_array_append_new(keys, hg_t_jwk_oct(K.secret, 32));
    hg_jwks_init(&ks);
    assert_int_equal(add_json(&ks, json_pack("{s:o}", "keys", keys), err,
                              sizeof(err)), -1);
    assert_int_equal(ks.nkeys, 0);
    hg_jwks_free(&ks);
}


static void
test_pem_many(void **state)
{
    char         *a, *b, *c, *text, err[256];
    hg_keyset_t   ks;

    a = hg_t_pem(K.rsa);
    b = hg_t_pem(K.p384);
    c = hg_t_pem(K.ed448);
    text = hg_t_fmt("comment line\n%s\nmore text\n%s%s", a, b, c);

    hg_jwks_init(&ks);
    assert_int_equal(add(&ks, text, NULL, err, sizeof(err)), 0);
    assert_int_equal(ks.nkeys, 3);
    assert_int_equal(ks.keys[0].kty, HG_KTY_RSA);
    assert_int_equal(ks.keys[1].kty, HG_KTY_EC);
    assert_int_equal(ks.keys[1].curve_nid, NID_secp384r1);
    assert_int_equal(ks.keys[2].kty, HG_KTY_OKP);
    assert_int_equal(ks.keys[2].kid_len, 0);
    assert_int_equal(ks.keys[2].alg, HG_ALG_UNKNOWN);

    /* the length bounds the text: the last block is cut */
    hg_jwks_free(&ks);
    hg_jwks_init(&ks);
    assert_int_equal(hg_jwks_add_pem(&ks, text, strlen(text) - 30, err,
                                     sizeof(err)), -1);
    assert_int_equal(ks.nkeys, 0);

    free(a);
    free(b);
    free(c);
    free(text);
    hg_jwks_free(&ks);
}


static char *
pem_of(const char *name, int (*write)(BIO *, void *), void *obj)
{
    BIO    *bio;
    char   *data, *s;
    long    len;

    bio = BIO_new(BIO_s_mem());
    assert_int_equal(write(bio, obj), 1);
    len = BIO_get_mem_data(bio, &data);
    s = malloc((size_t) len + 1);
    memcpy(s, data, (size_t) len);
    s[len] = '\0';
    BIO_free(bio);

    assert_non_null(strstr(s, name));

    return s;
}


static int
write_cert(BIO *bio, void *obj)
{
    return PEM_write_bio_X509(bio, obj);
}


static int
write_private(BIO *bio, void *obj)
{
    return PEM_write_bio_PrivateKey(bio, obj, NULL, NULL, 0, NULL, NULL);
}


static int
write_rsa_public(BIO *bio, void *obj)
{
    int             len, rc;
    unsigned char  *der;

    der = NULL;
    len = i2d_PublicKey(obj, &der);
    assert_true(len > 0);
    rc = PEM_write_bio(bio, "RSA PUBLIC KEY", "", der, len) > 0;
    OPENSSL_free(der);

    return rc;
}


static X509 *
self_signed(EVP_PKEY *pkey)
{
    X509  *x;

    x = X509_new();
    assert_non_null(x);
    assert_int_equal(X509_set_version(x, 2), 1);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    assert_int_equal(X509_set_pubkey(x, pkey), 1);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *) "hubgate", -1, -1, 0);
    assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(x)), 1);
    assert_true(X509_sign(x, pkey, EVP_sha256()) > 0);

    return x;
}


static void
test_pem_kinds(void **state)
{
    X509         *x;
    char         *s, *t, err[256];
    hg_keyset_t   ks;

    hg_jwks_init(&ks);

    x = self_signed(K.p256);
    s = pem_of("CERTIFICATE", write_cert, x);
    assert_int_equal(add(&ks, s, NULL, err, sizeof(err)), 0);
    assert_int_equal(ks.keys[0].curve_nid, NID_X9_62_prime256v1);
    free(s);
    X509_free(x);

    s = pem_of("RSA PUBLIC KEY", write_rsa_public, K.rsa);
    assert_int_equal(add(&ks, s, NULL, err, sizeof(err)), 0);
    assert_int_equal(ks.keys[1].kty, HG_KTY_RSA);
    free(s);

    /* a private key is refused, and the message does not quote it */
    s = pem_of("PRIVATE KEY", write_private, K.p256);
    assert_int_equal(add(&ks, s, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "private key"));
    assert_null(strstr(err, "MI"));
    free(s);

    /* unsupported curves and types refuse the text */
    s = hg_t_pem(K.k256);
    assert_int_equal(add(&ks, s, NULL, err, sizeof(err)), -1);
    free(s);
    s = hg_t_pem(K.x25519);
    assert_int_equal(add(&ks, s, NULL, err, sizeof(err)), -1);
    free(s);

    /* a broken block */
    s = hg_t_pem(K.p256);
    s[40] = s[40] == 'A' ? 'B' : 'A';
    assert_int_equal(add(&ks, s, NULL, err, sizeof(err)), -1);
    t = strstr(s, "-----END");
    assert_non_null(t);
    *t = '\0';
    assert_int_equal(add(&ks, s, NULL, err, sizeof(err)), -1);
    free(s);

    /* other blocks are skipped; alone they make an empty text */
    t = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n"
        "-----END EC PARAMETERS-----\n";
    assert_int_equal(add(&ks, t, NULL, err, sizeof(err)), -1);
    s = hg_t_pem(K.p256);
    t = hg_t_fmt("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n"
                 "-----END EC PARAMETERS-----\n%s", s);
    assert_int_equal(add(&ks, t, NULL, err, sizeof(err)), 0);
    free(s);
    free(t);

    assert_int_equal(ks.nkeys, 3);
    hg_jwks_free(&ks);
}


/* a P-256 PUBLIC KEY whose point is off the curve */
static void
test_pem_bad_point(void **state)
{
    int             len;
    char           *s, *b64, err[256];
    BIO            *bio;
    hg_keyset_t     ks;
    unsigned char  *der, *p;

    der = NULL;
    len = i2d_PUBKEY(K.p256, &der);
    assert_true(len > 0);
    der[len - 1] ^= 1;

    bio = BIO_new(BIO_s_mem());
    assert_true(PEM_write_bio(bio, "PUBLIC KEY", "", der, len) > 0);
    len = (int) BIO_get_mem_data(bio, &p);
    b64 = malloc((size_t) len + 1);
    memcpy(b64, p, (size_t) len);
    b64[len] = '\0';
    s = b64;

    hg_jwks_init(&ks);
    assert_int_equal(add(&ks, s, NULL, err, sizeof(err)), -1);
    assert_int_equal(ks.nkeys, 0);

    free(s);
    BIO_free(bio);
    OPENSSL_free(der);
}


static void
test_key_fits(void **state)
{
    int        a;
    hg_key_t   k;

    memset(&k, 0, sizeof(k));
    k.kty = HG_KTY_OCT;
    k.secret = K.secret;

    for (k.secret_len = 31; k.secret_len <= 65; k.secret_len++) {
        for (a = HG_ALG_UNKNOWN; a <= HG_ALG_MAX; a++) {
            assert_int_equal(hg_jwks_key_fits(&k, a),
                             (a == HG_ALG_HS256 && k.secret_len >= 32)
                             || (a == HG_ALG_HS384 && k.secret_len >= 48)
                             || (a == HG_ALG_HS512 && k.secret_len >= 64));
        }
    }

    k.alg = HG_ALG_HS384;
    assert_false(hg_jwks_key_fits(&k, HG_ALG_HS256));
    assert_true(hg_jwks_key_fits(&k, HG_ALG_HS384));
    k.secret = NULL;
    assert_false(hg_jwks_key_fits(&k, HG_ALG_HS384));

    memset(&k, 0, sizeof(k));
    k.kty = HG_KTY_RSA;
    k.pkey = K.rsa;

    for (a = HG_ALG_UNKNOWN; a <= HG_ALG_MAX; a++) {
        assert_int_equal(hg_jwks_key_fits(&k, a),
                         a >= HG_ALG_RS256 && a <= HG_ALG_PS512);
    }

    k.kty = HG_KTY_EC;
    k.pkey = K.p384;
    k.curve_nid = NID_secp384r1;

    for (a = HG_ALG_UNKNOWN; a <= HG_ALG_MAX; a++) {
        assert_int_equal(hg_jwks_key_fits(&k, a), a == HG_ALG_ES384);
    }

    k.curve_nid = NID_secp256k1;
    assert_false(hg_jwks_key_fits(&k, HG_ALG_ES256));

    k.kty = HG_KTY_OKP;
    k.pkey = K.ed448;
    k.curve_nid = NID_ED448;

    for (a = HG_ALG_UNKNOWN; a <= HG_ALG_MAX; a++) {
        assert_int_equal(hg_jwks_key_fits(&k, a), a == HG_ALG_EDDSA);
    }

    k.curve_nid = NID_X25519;
    assert_false(hg_jwks_key_fits(&k, HG_ALG_EDDSA));
    k.kty = HG_KTY_UNKNOWN;
    assert_false(hg_jwks_key_fits(&k, HG_ALG_EDDSA));
    assert_false(hg_jwks_key_fits(NULL, HG_ALG_EDDSA));
}


static void
test_next(void **state)
{
    char             err[256];
    json_t          *keys;
    size_t           iter;
    hg_keyset_t      ks;
    const hg_key_t  *key;

    hg_jwks_init(&ks);
    iter = 0;
    assert_null(hg_jwks_next(&ks, NULL, 0, HG_ALG_ES256, &iter));
    assert_null(hg_jwks_next(NULL, NULL, 0, HG_ALG_ES256, &iter));

    keys = json_array();
    json_array_append_new(keys, jwk_with(hg_t_jwk(K.p256), "kid", "a"));
    json_array_append_new(keys, hg_t_jwk(K.p256));
    json_array_append_new(keys, jwk_with(hg_t_jwk(K.p256), "kid", "b"));
    json_array_append_new(keys, jwk_with(hg_t_jwk(K.rsa), "kid", "a"));
    json_array_append_new(keys, jwk_with(hg_t_jwk(K.p256), "kid", "a"));
    json_array_append_new(keys, hg_t_jwk(K.p384));
    json_array_append_new(keys, hg_t_jwk(K.p256));
    assert_int_equal(add_json(&ks, json_pack("{s:o}", "keys", keys), err,
                              sizeof(err)), 0);

    /* kid "a": keys 0 and 4 (3 is RSA), then kid-less 1 and 6 */
    iter = 0;
    key = hg_jwks_next(&ks, "a", 1, HG_ALG_ES256, &iter);
    assert_ptr_equal(key, &ks.keys[0]);
    key = hg_jwks_next(&ks, "a", 1, HG_ALG_ES256, &iter);
    assert_ptr_equal(key, &ks.keys[4]);
    key = hg_jwks_next(&ks, "a", 1, HG_ALG_ES256, &iter);
    assert_ptr_equal(key, &ks.keys[1]);
    key = hg_jwks_next(&ks, "a", 1, HG_ALG_ES256, &iter);
    assert_ptr_equal(key, &ks.keys[6]);
    assert_null(hg_jwks_next(&ks, "a", 1, HG_ALG_ES256, &iter));
    assert_null(hg_jwks_next(&ks, "a", 1, HG_ALG_ES256, &iter));

    /* no kid: every fitting key, in order */
    iter = 0;
    assert_ptr_equal(hg_jwks_next(&ks, NULL, 0, HG_ALG_ES256, &iter),
                     &ks.keys[0]);
    assert_ptr_equal(hg_jwks_next(&ks, NULL, 0, HG_ALG_ES256, &iter),
                     &ks.keys[1]);
    assert_ptr_equal(hg_jwks_next(&ks, NULL, 0, HG_ALG_ES256, &iter),
                     &ks.keys[2]);
    assert_ptr_equal(hg_jwks_next(&ks, NULL, 0, HG_ALG_ES256, &iter),
                     &ks.keys[4]);
    assert_ptr_equal(hg_jwks_next(&ks, NULL, 0, HG_ALG_ES256, &iter),
                     &ks.keys[6]);
    assert_null(hg_jwks_next(&ks, NULL, 0, HG_ALG_ES256, &iter));

    /* a kid with a length, not NUL-terminated; an unknown kid */
    iter = 0;
    assert_ptr_equal(hg_jwks_next(&ks, "bcd", 1, HG_ALG_ES256, &iter),
                     &ks.keys[2]);
    iter = 0;
    assert_ptr_equal(hg_jwks_next(&ks, "zz", 2, HG_ALG_ES256, &iter),
                     &ks.keys[1]);
    iter = 0;
    assert_ptr_equal(hg_jwks_next(&ks, "a", 1, HG_ALG_RS256, &iter),
                     &ks.keys[3]);
    assert_null(hg_jwks_next(&ks, "a", 1, HG_ALG_RS256, &iter));
    iter = 0;
    assert_null(hg_jwks_next(&ks, "a", 1, HG_ALG_HS256, &iter));
    iter = 0;
    assert_ptr_equal(hg_jwks_next(&ks, "a", 1, HG_ALG_ES384, &iter),
                     &ks.keys[5]);

    hg_jwks_free(&ks);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_jwks_all_types),
        cmocka_unit_test(test_jwks_shapes),
        cmocka_unit_test(test_jwk_lone_and_whitespace),
        cmocka_unit_test(test_use_and_key_ops),
        cmocka_unit_test(test_unsupported_skipped),
        cmocka_unit_test(test_kid),
        cmocka_unit_test(test_oct_sizes),
        cmocka_unit_test(test_error_has_no_key_material),
        cmocka_unit_test(test_rsa_refusals),
        cmocka_unit_test(test_rsa_leading_zero),
        cmocka_unit_test(test_ec_refusals),
        cmocka_unit_test(test_okp_refusals),
        cmocka_unit_test(test_rollback),
        cmocka_unit_test(test_max_keys),
        cmocka_unit_test(test_pem_many),
        cmocka_unit_test(test_pem_kinds),
        cmocka_unit_test(test_pem_bad_point),
        cmocka_unit_test(test_key_fits),
        cmocka_unit_test(test_next),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
