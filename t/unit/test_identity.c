
/*
 * hg_identity: the signed identity header between the edge and hubgated.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hg_identity.h"


#define T0   1700000000

static const unsigned char  KEY[] = "0123456789abcdef0123456789abcdef-key";
static const unsigned char  KEY2[] = "0123456789abcdef0123456789abcdef-kez";


#define S(s)  { (s), sizeof(s) - 1 }


static hg_identity_t
sample(void)
{
    hg_identity_t  id = {
        S("POST"), S("/v1/invoices?x=1"), S("acme"), S("alice"),
        S("admin,billing"), S("")
    };

    return id;
}


static int
sign(const hg_identity_t *id, time_t t, char *out)
{
    return hg_identity_sign(KEY, sizeof(KEY) - 1, t, id, out,
                            HG_IDENTITY_HEADER_MAX + 1);
}


static int
verify(const char *h, const hg_identity_t *id, time_t now, long max_age)
{
    return hg_identity_verify(KEY, sizeof(KEY) - 1, h, h ? strlen(h) : 0, id,
                              now, max_age);
}


static void
test_roundtrip(void **state)
{
    int            n;
    size_t         i;
    char           h[HG_IDENTITY_HEADER_MAX + 1];
    hg_identity_t  id;

    id = sample();
    n = sign(&id, T0, h);
    assert_int_equal(n, (int) strlen(h));
    assert_int_equal(n, 2 + 10 + 4 + 64);
    assert_memory_equal(h, "t=1700000000,v1=", 16);

    for (i = 16; i < (size_t) n; i++) {
        assert_non_null(strchr("0123456789abcdef", h[i]));
    }

    assert_int_equal(verify(h, &id, T0, 60), HG_IDENTITY_OK);

    /* deterministic */
    {
        char  h2[HG_IDENTITY_HEADER_MAX + 1];

        assert_int_equal(sign(&id, T0, h2), n);
        assert_string_equal(h, h2);
    }
}


/* the canonical string computed here, independently, pins the format */
static void
test_known_answer(void **state)
{
    size_t          i;
    char            h[HG_IDENTITY_HEADER_MAX + 1], want[HG_IDENTITY_HEADER_MAX];
    unsigned int    len;
    hg_identity_t   id;
    unsigned char   mac[32];

    static const char  canon[] =
        "hubgate-identity-v1\n"
        "10:1700000000\n"
        "4:POST\n"
        "16:/v1/invoices?x=1\n"
        "4:acme\n"
        "5:alice\n"
        "13:admin,billing\n"
        "0:\n";

    id = sample();
    assert_true(sign(&id, T0, h) > 0);

    assert_non_null(HMAC(EVP_sha256(), KEY, sizeof(KEY) - 1,
                         (const unsigned char *) canon, sizeof(canon) - 1,
                         mac, &len));
    assert_int_equal(len, 32);

    strcpy(want, "t=1700000000,v1=");

    for (i = 0; i < 32; i++) {
        sprintf(want + 16 + 2 * i, "%02x", mac[i]);
    }

    assert_string_equal(h, want);
}


static hg_identity_str_t *
field(hg_identity_t *id, int f)
{
    switch (f) {
    case 0:
        return &id->method;
    case 1:
        return &id->uri;
    case 2:
        return &id->tenant;
    case 3:
        return &id->subject;
    case 4:
        return &id->roles;
    default:
        return &id->webhook;
    }
}


static void
test_tamper_fields(void **state)
{
    int                 f;
    char                h[HG_IDENTITY_HEADER_MAX + 1];
    hg_identity_t       id, bad;
    hg_identity_str_t  *v;

    id = sample();
    assert_true(sign(&id, T0, h) > 0);

    for (f = 0; f < 6; f++) {

        /* changed value, shortened value, emptied value */
        bad = id;
        v = field(&bad, f);
        v->data = "X";
        v->len = 1;
        assert_int_equal(verify(h, &bad, T0, 60), HG_IDENTITY_ERR_SIGNATURE);

        bad = id;
        v = field(&bad, f);

        if (v->len) {
            v->len--;
            assert_int_equal(verify(h, &bad, T0, 60),
                             HG_IDENTITY_ERR_SIGNATURE);

            v->data = NULL;
            v->len = 0;
            assert_int_equal(verify(h, &bad, T0, 60),
                             HG_IDENTITY_ERR_SIGNATURE);
        }
    }

    /* an empty webhook may be given as NULL or "" */
    bad = id;
    bad.webhook.data = NULL;
    assert_int_equal(verify(h, &bad, T0, 60), HG_IDENTITY_OK);
}


/* "a" + "bc" and "ab" + "c" must not collide */
static void
test_boundaries(void **state)
{
    char           h[HG_IDENTITY_HEADER_MAX + 1];
    hg_identity_t  a, b;

    a = sample();
    a.tenant.data = "a";
    a.tenant.len = 1;
    a.subject.data = "bc";
    a.subject.len = 2;

    b = a;
    b.tenant.data = "ab";
    b.tenant.len = 2;
    b.subject.data = "c";
    b.subject.len = 1;

    assert_true(sign(&a, T0, h) > 0);
    assert_int_equal(verify(h, &a, T0, 0), HG_IDENTITY_OK);
    assert_int_equal(verify(h, &b, T0, 0), HG_IDENTITY_ERR_SIGNATURE);

    /* a value holding the separator itself */
    b = a;
    b.tenant.data = "a\n2:bc";
    b.tenant.len = 6;
    b.subject.data = "";
    b.subject.len = 0;
    assert_int_equal(verify(h, &b, T0, 0), HG_IDENTITY_ERR_SIGNATURE);
}


static void
test_tamper_header(void **state)
{
    int            n;
    char           h[HG_IDENTITY_HEADER_MAX + 1], *p;
    hg_identity_t  id;

    id = sample();
    n = sign(&id, T0, h);

    /* every hex digit matters */
    for (p = h + 16; p < h + n; p++) {
        *p = *p == '0' ? '1' : '0';
        assert_int_equal(verify(h, &id, T0, 60), HG_IDENTITY_ERR_SIGNATURE);
        *p = *p == '0' ? '1' : '0';
    }

    /* a fresher t does not carry the old MAC */
    h[11] = '1';
    assert_int_equal(verify(h, &id, T0, 60), HG_IDENTITY_ERR_SIGNATURE);

    /* an unsigned header is a signature failure, whatever its age */
    assert_int_equal(verify("t=1,v1=000000000000000000000000000000000000000"
                            "0000000000000000000000000", &id, T0, 60),
                     HG_IDENTITY_ERR_SIGNATURE);
}


static void
test_wrong_key(void **state)
{
    char           h[HG_IDENTITY_HEADER_MAX + 1];
    hg_identity_t  id;

    id = sample();
    assert_true(sign(&id, T0, h) > 0);
    assert_int_equal(hg_identity_verify(KEY2, sizeof(KEY2) - 1, h, strlen(h),
                                        &id, T0, 60),
                     HG_IDENTITY_ERR_SIGNATURE);
    assert_int_equal(hg_identity_verify(KEY, sizeof(KEY) - 2, h, strlen(h),
                                        &id, T0, 60),
                     HG_IDENTITY_ERR_SIGNATURE);

    /* short keys are refused on both sides */
    assert_int_equal(hg_identity_verify(KEY, HG_IDENTITY_MIN_SECRET - 1, h,
                                        strlen(h), &id, T0, 60),
                     HG_IDENTITY_ERR_INTERNAL);
    assert_int_equal(hg_identity_sign(KEY, HG_IDENTITY_MIN_SECRET - 1, T0,
                                      &id, h, sizeof(h)), -1);
    assert_int_equal(hg_identity_sign(NULL, 0, T0, &id, h, sizeof(h)), -1);
    assert_true(hg_identity_sign(KEY, HG_IDENTITY_MIN_SECRET, T0, &id, h,
                                 sizeof(h)) > 0);
}


static void
test_age(void **state)
{
    char           h[HG_IDENTITY_HEADER_MAX + 1];
    hg_identity_t  id;

    id = sample();
    assert_true(sign(&id, T0, h) > 0);

    assert_int_equal(verify(h, &id, T0 + 60, 60), HG_IDENTITY_OK);
    assert_int_equal(verify(h, &id, T0 + 61, 60), HG_IDENTITY_ERR_STALE);
    assert_int_equal(verify(h, &id, T0 - 60, 60), HG_IDENTITY_OK);
    assert_int_equal(verify(h, &id, T0 - 61, 60), HG_IDENTITY_ERR_STALE);
    assert_int_equal(verify(h, &id, T0, 0), HG_IDENTITY_OK);
    assert_int_equal(verify(h, &id, T0 + 1, 0), HG_IDENTITY_ERR_STALE);
    assert_int_equal(verify(h, &id, T0, -1), HG_IDENTITY_ERR_STALE);

    /* extreme clocks do not overflow */
    assert_int_equal(verify(h, &id, (time_t) INT64_MIN, 60),
                     HG_IDENTITY_ERR_STALE);
    assert_int_equal(verify(h, &id, (time_t) INT64_MAX, 60),
                     HG_IDENTITY_ERR_STALE);
    assert_int_equal(verify(h, &id, T0, (long) INT64_MAX), HG_IDENTITY_OK);

    assert_true(sign(&id, 0, h) > 0);
    assert_memory_equal(h, "t=0,", 4);
    assert_int_equal(verify(h, &id, 0, 0), HG_IDENTITY_OK);

    assert_true(sign(&id, (time_t) INT64_MAX, h) > 0);
    assert_int_equal(strlen(h), 2 + 19 + 4 + 64);
    assert_int_equal(verify(h, &id, (time_t) INT64_MAX, 0), HG_IDENTITY_OK);
    assert_int_equal(verify(h, &id, 0, 60), HG_IDENTITY_ERR_STALE);

    assert_int_equal(sign(&id, -1, h), -1);
}


static void
test_format(void **state)
{
    int            n;
    char           h[HG_IDENTITY_HEADER_MAX + 1], *hex, *b;
    size_t         i;
    hg_identity_t  id;

    static const char  *bad[] = {
        "",
        "t=",
        "t=1700000000",
        "t=1700000000,v1=",
        "t=,v1=%s",
        "t=01700000000,v1=%s",
        "t=00,v1=%s",
        "t=-1,v1=%s",
        "t=+1700000000,v1=%s",
        "t= 1700000000,v1=%s",
        "t=1700000000 ,v1=%s",
        "t=1700000000, v1=%s",
        "t=1700000000,v1=%s ",
        " t=1700000000,v1=%s",
        "t=1700000000,v1=%s,",
        "t=1700000000,v1=%sa",
        "t=1700000000,v2=%s",
        "T=1700000000,v1=%s",
        "t=1700000000;v1=%s",
        "v1=%s,t=1700000000",
        "t=99999999999999999999,v1=%s",
        "t=9223372036854775808,v1=%s",
        "t=1700000000,v1=%.63s",
        "t=1700000000,v1=%.62s"
    };

    id = sample();
    n = sign(&id, T0, h);
    assert_true(n > 0);
    hex = h + 16;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        b = malloc(200);
        snprintf(b, 200, bad[i], hex);
        assert_int_equal(verify(b, &id, T0, 60), HG_IDENTITY_ERR_FORMAT);
        free(b);
    }

    /* uppercase hex is not the canonical form */
    for (i = 16; i < (size_t) n; i++) {
        if (h[i] >= 'a' && h[i] <= 'f') {
            h[i] -= 'a' - 'A';
            assert_int_equal(verify(h, &id, T0, 60), HG_IDENTITY_ERR_FORMAT);
            break;
        }
    }

    assert_int_equal(verify(NULL, &id, T0, 60), HG_IDENTITY_ERR_MISSING);

    /* the length bounds the header: no NUL needed, none allowed */
    assert_true(sign(&id, T0, h) > 0);
    assert_int_equal(hg_identity_verify(KEY, sizeof(KEY) - 1, h, n - 1, &id,
                                        T0, 60), HG_IDENTITY_ERR_FORMAT);
    assert_int_equal(hg_identity_verify(KEY, sizeof(KEY) - 1, h, n + 1, &id,
                                        T0, 60), HG_IDENTITY_ERR_FORMAT);
}


static void
test_sign_args(void **state)
{
    char           h[HG_IDENTITY_HEADER_MAX + 1];
    hg_identity_t  id;

    id = sample();
    assert_int_equal(hg_identity_sign(KEY, sizeof(KEY) - 1, T0, &id, h, 80),
                     -1);
    assert_int_equal(hg_identity_sign(KEY, sizeof(KEY) - 1, T0, &id, h, 81),
                     80);
    assert_int_equal(hg_identity_sign(KEY, sizeof(KEY) - 1, T0, NULL, h,
                                      sizeof(h)), -1);

    id.uri.data = NULL;
    assert_int_equal(hg_identity_sign(KEY, sizeof(KEY) - 1, T0, &id, h,
                                      sizeof(h)), -1);

    assert_string_equal(hg_identity_strerror(HG_IDENTITY_OK), "ok");
    assert_string_equal(hg_identity_strerror(HG_IDENTITY_ERR_MISSING),
                        "missing");
    assert_string_equal(hg_identity_strerror(HG_IDENTITY_ERR_FORMAT),
                        "format");
    assert_string_equal(hg_identity_strerror(HG_IDENTITY_ERR_STALE), "stale");
    assert_string_equal(hg_identity_strerror(HG_IDENTITY_ERR_SIGNATURE),
                        "signature");
    assert_string_equal(hg_identity_strerror(HG_IDENTITY_ERR_INTERNAL),
                        "internal");
    assert_string_equal(hg_identity_strerror(99), "internal");
}


/* secret files */


static void
write_file(const char *path, const char *data, size_t len)
{
    FILE  *f;

    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}


static void
test_load_secret(void **state)
{
    char            dir[] = "/tmp/hg_identity_XXXXXX", path[64], err[256];
    char           *big;
    size_t          len;
    unsigned char  *key;

    static const char  secret[] = " s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t";

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/secret", dir);

    write_file(path, secret, sizeof(secret) - 1);
    assert_int_equal(hg_identity_load_secret(path, &key, &len, err,
                                             sizeof(err)), 0);
    assert_int_equal(len, sizeof(secret) - 1);
    assert_memory_equal(key, secret, len);
    free(key);

    /* trailing white space goes, leading stays */
    big = malloc(100);
    snprintf(big, 100, "%s \t\r\n\n\v\f", secret);
    write_file(path, big, strlen(big));
    assert_int_equal(hg_identity_load_secret(path, &key, &len, err,
                                             sizeof(err)), 0);
    assert_int_equal(len, sizeof(secret) - 1);
    assert_memory_equal(key, secret, len);
    free(key);
    free(big);

    /* 31 bytes after trimming; the message shows no secret bytes */
    write_file(path, "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3c\n\n", 33);
    assert_int_equal(hg_identity_load_secret(path, &key, &len, err,
                                             sizeof(err)), -1);
    assert_null(key);
    assert_non_null(strstr(err, "31 bytes"));
    assert_null(strstr(err, "s3cr3t"));

    write_file(path, "", 0);
    assert_int_equal(hg_identity_load_secret(path, &key, &len, err,
                                             sizeof(err)), -1);

    big = malloc(70000);
    memset(big, 'k', 70000);
    write_file(path, big, 70000);
    assert_int_equal(hg_identity_load_secret(path, &key, &len, err,
                                             sizeof(err)), -1);
    assert_null(strstr(err, "kkkk"));
    write_file(path, big, 65536);
    assert_int_equal(hg_identity_load_secret(path, &key, &len, err,
                                             sizeof(err)), 0);
    assert_int_equal(len, 65536);
    free(key);
    free(big);

    assert_int_equal(hg_identity_load_secret(dir, &key, &len, err,
                                             sizeof(err)), -1);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(hg_identity_load_secret(path, &key, &len, err,
                                             sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot open"));
    assert_int_equal(hg_identity_load_secret(path, &key, &len, NULL, 0), -1);
    assert_int_equal(rmdir(dir), 0);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_tamper_fields),
        cmocka_unit_test(test_boundaries),
        cmocka_unit_test(test_tamper_header),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_age),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_sign_args),
        cmocka_unit_test(test_load_secret),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
