
/*
 * vault: KEK files, data keys, sealing, rotation, tamper and wrong AAD.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "vault.h"


/* ASan intercepts mlock() as a no-op that succeeds */
#if defined(__SANITIZE_ADDRESS__)
#define HG_T_ASAN  1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HG_T_ASAN  1
#endif
#endif


#define K1  "8a1f3c5e7d9b2a4c6e8f0a1b3c5d7e9f1a2b3c4d5e6f708192a3b4c5d6e7f809"
#define K2  "f0e1d2c3b4a5968778695a4b3c2d1e0ff1e2d3c4b5a69788796a5b4c3d2e1f00"

#define TENANT   "tenant-a"
#define INTEG    "0b9e6f52-integration"
#define PURPOSE  "api_key"
#define SECRET   "sk_live_not_a_real_secret_1234567890"


typedef struct {
    char  dir[64];
    char  path[128];
} tmp_t;


static tmp_t  T;


static int
group_setup(void **state)
{
    strcpy(T.dir, "/tmp/test_vault.XXXXXX");
    assert_non_null(mkdtemp(T.dir));
    snprintf(T.path, sizeof(T.path), "%s/kek", T.dir);

    return 0;
}


static int
group_teardown(void **state)
{
    (void) unlink(T.path);
    (void) rmdir(T.dir);

    return 0;
}


/* writes the KEK file with a mode, returns its path */
static const char *
kek_file(const char *text, mode_t mode)
{
    FILE  *f;

    (void) unlink(T.path);
    f = fopen(T.path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(T.path, mode), 0);

    return T.path;
}


static vault_t *
load(const char *text)
{
    int       rc;
    char      err[256];
    vault_t  *v;

    v = NULL;
    err[0] = '\0';
    rc = vault_kek_load(kek_file(text, 0600), &v, err, sizeof(err));
    if (rc != VAULT_OK) {
        fail_msg("load: %d %s", rc, err);
    }
    assert_non_null(v);

    return v;
}


static size_t
seal(const vault_dek_t *dek, const char *tenant, const char *integ,
    const char *purpose, const char *text, unsigned char *out, size_t size)
{
    int     rc;
    char    err[256];
    size_t  n;

    n = 0;
    rc = vault_seal(dek, 7, tenant, integ, purpose,
                    (const unsigned char *) text, strlen(text), out, size,
                    &n, err, sizeof(err));
    if (rc != VAULT_OK) {
        fail_msg("seal: %d %s", rc, err);
    }
    assert_int_equal(n, VAULT_SEALED_LEN(strlen(text)));

    return n;
}


static int
open_blob(const vault_dek_t *dek, const char *tenant, const char *integ,
    const char *purpose, const unsigned char *blob, size_t len,
    const char *expect)
{
    int            rc;
    char           err[256];
    size_t         n;
    unsigned char  out[256];

    n = 0;
    memset(out, 0xaa, sizeof(out));
    rc = vault_open(dek, tenant, integ, purpose, blob, len, out, sizeof(out),
                    &n, err, sizeof(err));

    if (rc == VAULT_OK && expect != NULL) {
        assert_int_equal(n, strlen(expect));
        assert_memory_equal(out, expect, n);
    }

    if (rc != VAULT_OK && len >= VAULT_OVERHEAD) {
        /* no plaintext is left behind on failure */
        assert_null(memmem(out, sizeof(out), "sk_live", 7));
    }

    return rc;
}


static void
test_round_trip(void **state)
{
    char           err[256];
    size_t         n;
    uint32_t       gen, ver;
    vault_t       *v;
    vault_dek_t   *dek, *dek2;
    unsigned char  wrapped[VAULT_WRAPPED_LEN], blob[256], out[4];

    v = load("1 " K1 "\n");
    assert_int_equal(vault_kek_current(v), 1);

    assert_int_equal(vault_dek_new(v, TENANT, &dek, wrapped, err,
                                   sizeof(err)), VAULT_OK);
    assert_int_equal(wrapped[0], VAULT_FORMAT);
    assert_int_equal(vault_wrapped_version(wrapped, sizeof(wrapped), &ver),
                     VAULT_OK);
    assert_int_equal(ver, 1);

    n = seal(dek, TENANT, INTEG, PURPOSE, SECRET, blob, sizeof(blob));
    assert_null(memmem(blob, n, SECRET, strlen(SECRET)));
    assert_int_equal(vault_sealed_generation(blob, n, &gen), VAULT_OK);
    assert_int_equal(gen, 7);
    assert_int_equal(open_blob(dek, TENANT, INTEG, PURPOSE, blob, n, SECRET),
                     VAULT_OK);

    /* the stored form: unwrap, then open what the first key sealed */
    assert_int_equal(vault_dek_unwrap(v, TENANT, wrapped, sizeof(wrapped),
                                      &dek2, err, sizeof(err)), VAULT_OK);
    assert_int_equal(open_blob(dek2, TENANT, INTEG, PURPOSE, blob, n,
                               SECRET), VAULT_OK);

    /* empty plaintext, and a buffer of exactly the size needed */
    n = seal(dek2, TENANT, INTEG, PURPOSE, "", blob, VAULT_OVERHEAD);
    assert_int_equal(n, VAULT_OVERHEAD);
    assert_int_equal(vault_open(dek, TENANT, INTEG, PURPOSE, blob, n, out, 0,
                                &n, err, sizeof(err)), VAULT_OK);
    assert_int_equal(n, 0);

    /* two seals of the same text differ (fresh nonce) */
    {
        unsigned char  b1[256], b2[256];
        size_t         n1, n2;

        n1 = seal(dek, TENANT, INTEG, PURPOSE, SECRET, b1, sizeof(b1));
        n2 = seal(dek, TENANT, INTEG, PURPOSE, SECRET, b2, sizeof(b2));
        assert_int_equal(n1, n2);
        assert_memory_not_equal(b1, b2, n1);
    }

    vault_dek_free(dek);
    vault_dek_free(dek2);
    vault_free(v);
}


static void
test_tamper_sealed(void **state)
{
    int            rc;
    size_t         i, n;
    vault_t       *v;
    vault_dek_t   *dek;
    unsigned char  wrapped[VAULT_WRAPPED_LEN], blob[256], bad[256];

    v = load("1 " K1 "\n");
    assert_int_equal(vault_dek_new(v, TENANT, &dek, wrapped, NULL, 0),
                     VAULT_OK);
    n = seal(dek, TENANT, INTEG, PURPOSE, SECRET, blob, sizeof(blob));

    /* every byte: format, generation, nonce, ciphertext, tag */
    for (i = 0; i < n; i++) {
        memcpy(bad, blob, n);
        bad[i] ^= 0x01;
        rc = open_blob(dek, TENANT, INTEG, PURPOSE, bad, n, NULL);
        if (rc != (i == 0 ? VAULT_ERR_FORMAT : VAULT_ERR_AUTH)) {
            fail_msg("byte %zu flipped: rc %d", i, rc);
        }
    }

    /* truncated, extended, too short for a header */
    assert_int_equal(open_blob(dek, TENANT, INTEG, PURPOSE, blob, n - 1,
                               NULL), VAULT_ERR_AUTH);
    memcpy(bad, blob, n);
    bad[n] = 0;
    assert_int_equal(open_blob(dek, TENANT, INTEG, PURPOSE, bad, n + 1,
                               NULL), VAULT_ERR_AUTH);
    assert_int_equal(open_blob(dek, TENANT, INTEG, PURPOSE, blob,
                               VAULT_OVERHEAD - 1, NULL), VAULT_ERR_FORMAT);

    assert_int_equal(open_blob(dek, TENANT, INTEG, PURPOSE, blob, n, SECRET),
                     VAULT_OK);

    vault_dek_free(dek);
    vault_free(v);
}


static void
test_tamper_wrapped(void **state)
{
    int            rc;
    char           err[256];
    size_t         i;
    vault_t       *v;
    vault_dek_t   *dek, *dek2;
    unsigned char  wrapped[VAULT_WRAPPED_LEN], bad[VAULT_WRAPPED_LEN + 1];

    v = load("1 " K1 "\n");
    assert_int_equal(vault_dek_new(v, TENANT, &dek, wrapped, NULL, 0),
                     VAULT_OK);

    for (i = 0; i < VAULT_WRAPPED_LEN; i++) {
        memcpy(bad, wrapped, sizeof(wrapped));
        bad[i] ^= 0x80;
        dek2 = NULL;
        rc = vault_dek_unwrap(v, TENANT, bad, sizeof(wrapped), &dek2, err,
                              sizeof(err));
        assert_null(dek2);

        if (i == 0) {
            assert_int_equal(rc, VAULT_ERR_FORMAT);
        } else if (i < VAULT_HEADER_LEN) {
            assert_int_equal(rc, VAULT_ERR_KEK_VERSION);
        } else if (rc != VAULT_ERR_AUTH) {
            fail_msg("byte %zu flipped: rc %d", i, rc);
        }
    }

    /* version 0 is never valid */
    memcpy(bad, wrapped, sizeof(wrapped));
    memset(bad + 1, 0, 4);
    assert_int_equal(vault_dek_unwrap(v, TENANT, bad, sizeof(wrapped), &dek2,
                                      NULL, 0), VAULT_ERR_FORMAT);

    assert_int_equal(vault_dek_unwrap(v, TENANT, wrapped, sizeof(wrapped) - 1,
                                      &dek2, NULL, 0), VAULT_ERR_FORMAT);
    memcpy(bad, wrapped, sizeof(wrapped));
    assert_int_equal(vault_dek_unwrap(v, TENANT, bad, sizeof(bad), &dek2,
                                      NULL, 0), VAULT_ERR_FORMAT);

    /* another tenant's wrapped key */
    assert_int_equal(vault_dek_unwrap(v, "tenant-b", wrapped, sizeof(wrapped),
                                      &dek2, NULL, 0), VAULT_ERR_AUTH);

    vault_dek_free(dek);
    vault_free(v);
}


static void
test_wrong_aad(void **state)
{
    size_t         n;
    vault_t       *v;
    vault_dek_t   *dek, *other;
    unsigned char  wrapped[VAULT_WRAPPED_LEN], blob[256];

    v = load("1 " K1 "\n");
    assert_int_equal(vault_dek_new(v, TENANT, &dek, wrapped, NULL, 0),
                     VAULT_OK);
    assert_int_equal(vault_dek_new(v, TENANT, &other, wrapped, NULL, 0),
                     VAULT_OK);
    n = seal(dek, TENANT, INTEG, PURPOSE, SECRET, blob, sizeof(blob));

    assert_int_equal(open_blob(dek, "tenant-b", INTEG, PURPOSE, blob, n,
                               NULL), VAULT_ERR_AUTH);
    assert_int_equal(open_blob(dek, TENANT, "other-integration", PURPOSE,
                               blob, n, NULL), VAULT_ERR_AUTH);
    assert_int_equal(open_blob(dek, TENANT, INTEG, "refresh_token", blob, n,
                               NULL), VAULT_ERR_AUTH);
    assert_int_equal(open_blob(other, TENANT, INTEG, PURPOSE, blob, n, NULL),
                     VAULT_ERR_AUTH);

    /* the length prefixes keep field boundaries: "ab"+"c" is not "a"+"bc" */
    n = seal(dek, "ab", "c", PURPOSE, SECRET, blob, sizeof(blob));
    assert_int_equal(open_blob(dek, "a", "bc", PURPOSE, blob, n, NULL),
                     VAULT_ERR_AUTH);
    assert_int_equal(open_blob(dek, "ab", "c", PURPOSE, blob, n, SECRET),
                     VAULT_OK);

    vault_dek_free(dek);
    vault_dek_free(other);
    vault_free(v);
}


static void
test_rotation(void **state)
{
    char           err[256];
    size_t         n;
    uint32_t       ver;
    vault_t       *v1, *v12, *v2;
    vault_dek_t   *dek, *dek_old, *dek_new;
    unsigned char  wrapped[VAULT_WRAPPED_LEN], rewrapped[VAULT_WRAPPED_LEN];
    unsigned char  blob[256];

    v1 = load("1 " K1 "\n");
    assert_int_equal(vault_dek_new(v1, TENANT, &dek, wrapped, NULL, 0),
                     VAULT_OK);
    n = seal(dek, TENANT, INTEG, PURPOSE, SECRET, blob, sizeof(blob));
    vault_dek_free(dek);
    vault_free(v1);

    /* v2 added: the old blob still unwraps, with version 1 */
    v12 = load("# rotated\n1 " K1 "\n2 " K2 "\n");
    assert_int_equal(vault_kek_current(v12), 2);
    assert_int_equal(vault_kek_count(v12), 2);
    assert_int_equal(vault_dek_unwrap(v12, TENANT, wrapped, sizeof(wrapped),
                                      &dek_old, err, sizeof(err)), VAULT_OK);
    assert_int_equal(open_blob(dek_old, TENANT, INTEG, PURPOSE, blob, n,
                               SECRET), VAULT_OK);

    /* vault rotate: now wrapped by v2, data untouched */
    assert_int_equal(vault_rewrap(v12, TENANT, wrapped, sizeof(wrapped),
                                  rewrapped, err, sizeof(err)), VAULT_OK);
    assert_int_equal(vault_wrapped_version(rewrapped, sizeof(rewrapped),
                                           &ver), VAULT_OK);
    assert_int_equal(ver, 2);
    assert_memory_not_equal(wrapped, rewrapped, sizeof(wrapped));

    /* in place, as the header allows */
    {
        unsigned char  again[VAULT_WRAPPED_LEN];

        memcpy(again, wrapped, sizeof(again));
        assert_int_equal(vault_rewrap(v12, TENANT, again, sizeof(again),
                                      again, NULL, 0), VAULT_OK);
        assert_int_equal(vault_wrapped_version(again, sizeof(again), &ver),
                         VAULT_OK);
        assert_int_equal(ver, 2);
    }

    vault_dek_free(dek_old);
    vault_free(v12);

    /* v1 retired: the rewrapped key opens the same data */
    v2 = load("2 " K2 "\n");
    assert_int_equal(vault_dek_unwrap(v2, TENANT, rewrapped,
                                      sizeof(rewrapped), &dek_new, err,
                                      sizeof(err)), VAULT_OK);
    assert_int_equal(open_blob(dek_new, TENANT, INTEG, PURPOSE, blob, n,
                               SECRET), VAULT_OK);

    vault_dek_free(dek_new);
    vault_free(v2);
}


static void
test_missing_version(void **state)
{
    char           err[256];
    vault_t       *v1, *v2;
    vault_dek_t   *dek, *dek2;
    unsigned char  wrapped[VAULT_WRAPPED_LEN], out[VAULT_WRAPPED_LEN];

    v1 = load("1 " K1 "\n");
    assert_int_equal(vault_dek_new(v1, TENANT, &dek, wrapped, NULL, 0),
                     VAULT_OK);
    vault_dek_free(dek);
    vault_free(v1);

    v2 = load("2 " K2 "\n");

    dek2 = NULL;
    err[0] = '\0';
    assert_int_equal(vault_dek_unwrap(v2, TENANT, wrapped, sizeof(wrapped),
                                      &dek2, err, sizeof(err)),
                     VAULT_ERR_KEK_VERSION);
    assert_null(dek2);
    assert_non_null(strstr(err, "KEK version 1,"));
    assert_non_null(strstr(err, "not loaded"));

    err[0] = '\0';
    assert_int_equal(vault_rewrap(v2, TENANT, wrapped, sizeof(wrapped), out,
                                  err, sizeof(err)), VAULT_ERR_KEK_VERSION);
    assert_non_null(strstr(err, "KEK version 1,"));

    assert_string_equal(vault_strerror(VAULT_ERR_KEK_VERSION),
                        "KEK version not loaded");

    vault_free(v2);
}


/* refused with rc, a message containing want and no key material */
static void
bad_file(const char *text, mode_t mode, int rc_want, const char *want)
{
    int       rc;
    char      err[512];
    vault_t  *v;

    v = NULL;
    err[0] = '\0';
    rc = vault_kek_load(kek_file(text, mode), &v, err, sizeof(err));
    if (rc != rc_want) {
        fail_msg("rc %d, want %d (%s) for \"%s\"", rc, rc_want, err, text);
    }
    assert_null(v);

    if (strstr(err, want) == NULL) {
        fail_msg("message \"%s\" lacks \"%s\"", err, want);
    }
    assert_non_null(strstr(err, T.path));

    /* neither the whole key nor any 8-digit piece of it */
    for (size_t i = 0; i + 8 <= 64; i++) {
        assert_null(strstr(err, (char[9]) { K1[i], K1[i + 1], K1[i + 2],
                                            K1[i + 3], K1[i + 4], K1[i + 5],
                                            K1[i + 6], K1[i + 7], 0 }));
        assert_null(strstr(err, (char[9]) { K2[i], K2[i + 1], K2[i + 2],
                                            K2[i + 3], K2[i + 4], K2[i + 5],
                                            K2[i + 6], K2[i + 7], 0 }));
    }
}


static void
test_bad_files(void **state)
{
    char      err[256];
    vault_t  *v;

    /* bad hex: a 'g' in the middle of K1 */
    bad_file("1 8a1f3c5e7d9b2a4c6e8f0a1b3c5d7e9f"
             "ga2b3c4d5e6f708192a3b4c5d6e7f809\n", 0600,
             VAULT_ERR_KEK_SYNTAX, "line 1: key of version 1 is not "
             "hexadecimal");
    /* short key, long key */
    bad_file("# keys\n\n3 " K1 "\n4 8a1f3c5e7d9b2a4c6e8f0a1b3c5d7e9f\n", 0600,
             VAULT_ERR_KEK_SYNTAX, "line 4: key of version 4 must be exactly "
             "64 hex digits");
    bad_file("1 " K1 "00\n", 0600, VAULT_ERR_KEK_SYNTAX, "line 1:");
    /* duplicate version, even with another key */
    bad_file("1 " K1 "\n1 " K2 "\n", 0600, VAULT_ERR_KEK_DUP,
             "line 2: version 1 appears twice");
    /* modes */
    bad_file("1 " K1 "\n", 0644, VAULT_ERR_KEK_MODE, "mode 0644");
    bad_file("1 " K1 "\n", 0640, VAULT_ERR_KEK_MODE, "0600 or 0400");
    bad_file("1 " K1 "\n", 0700, VAULT_ERR_KEK_MODE, "mode 0700");
    /* versions */
    bad_file("0 " K1 "\n", 0600, VAULT_ERR_KEK_SYNTAX, "positive");
    bad_file("-1 " K1 "\n", 0600, VAULT_ERR_KEK_SYNTAX, "line 1:");
    bad_file("4294967296 " K1 "\n", 0600, VAULT_ERR_KEK_SYNTAX, "larger");
    bad_file("v1 " K1 "\n", 0600, VAULT_ERR_KEK_SYNTAX, "line 1:");
    bad_file("1" K1 "\n", 0600, VAULT_ERR_KEK_SYNTAX, "line 1:");
    bad_file("1 " K1 " # trailing\n", 0600, VAULT_ERR_KEK_SYNTAX, "line 1:");
    /* nothing */
    bad_file("# only a comment\n\n", 0600, VAULT_ERR_KEK_NONE, "no key");
    bad_file("", 0600, VAULT_ERR_KEK_NONE, "no key");

    /* missing file, directory */
    v = NULL;
    err[0] = '\0';
    assert_int_equal(vault_kek_load("/nonexistent/kek", &v, err,
                                    sizeof(err)), VAULT_ERR_IO);
    assert_non_null(strstr(err, "/nonexistent/kek"));
    assert_int_equal(vault_kek_load(T.dir, &v, err, sizeof(err)),
                     VAULT_ERR_KEK_MODE);
    assert_null(v);

    /* a truncated error buffer is still terminated */
    err[0] = 'x';
    assert_int_equal(vault_kek_load(kek_file("1 " K1 "\n", 0644), &v, err, 5),
                     VAULT_ERR_KEK_MODE);
    assert_int_equal(strlen(err), 4);
}


static void
test_good_files(void **state)
{
    int       rc;
    char      err[256];
    vault_t  *v;

    /* comments, blanks, CRLF, tabs, upper case, versions out of order */
    v = NULL;
    rc = vault_kek_load(kek_file("# hubgate KEKs\r\n\r\n"
                                 "  3\t" K2 "  \r\n"
                                 "1 8A1F3C5E7D9B2A4C6E8F0A1B3C5D7E9F"
                                 "1A2B3C4D5E6F708192A3B4C5D6E7F809\n"
                                 "   # indented comment\n"
                                 "2 " K1, 0400), &v, err, sizeof(err));
    if (rc != VAULT_OK) {
        fail_msg("%d %s", rc, err);
    }
    assert_int_equal(vault_kek_current(v), 3);
    assert_int_equal(vault_kek_count(v), 3);
    assert_true(vault_kek_has(v, 1));
    assert_true(vault_kek_has(v, 2));
    assert_false(vault_kek_has(v, 4));
    vault_free(v);

    /* the same text through the buffer parser; upper == lower case */
    {
        const char     *a = "1 " K1 "\n";
        vault_t        *va, *vb;
        vault_dek_t    *dek, *dek2;
        unsigned char   wrapped[VAULT_WRAPPED_LEN];

        assert_int_equal(vault_kek_parse(a, strlen(a), &va, err,
                                         sizeof(err)), VAULT_OK);
        vb = load("1 8A1F3C5E7D9B2A4C6E8F0A1B3C5D7E9F"
                  "1A2B3C4D5E6F708192A3B4C5D6E7F809\n");
        assert_int_equal(vault_dek_new(va, TENANT, &dek, wrapped, NULL, 0),
                         VAULT_OK);
        assert_int_equal(vault_dek_unwrap(vb, TENANT, wrapped,
                                          sizeof(wrapped), &dek2, NULL, 0),
                         VAULT_OK);
        vault_dek_free(dek);
        vault_dek_free(dek2);
        vault_free(va);
        vault_free(vb);
    }

    /* VAULT_KEK_MAX versions load, one more does not */
    {
        int    i;
        char  *text, *p;

        text = malloc((VAULT_KEK_MAX + 1) * 80);
        assert_non_null(text);
        for (i = 1, p = text; i <= VAULT_KEK_MAX + 1; i++) {
            p += sprintf(p, "%d %s\n", i, K1);
        }

        assert_int_equal(vault_kek_parse(text, (size_t) (p - text), &v, err,
                                         sizeof(err)), VAULT_ERR_KEK_SYNTAX);
        *strrchr(text, '\n') = '\0';
        *(strrchr(text, '\n') + 1) = '\0';
        assert_int_equal(vault_kek_parse(text, strlen(text), &v, err,
                                         sizeof(err)), VAULT_OK);
        assert_int_equal(vault_kek_current(v), VAULT_KEK_MAX);
        vault_free(v);
        free(text);
    }
}


static void
test_args(void **state)
{
    int            rc;
    char           err[256];
    size_t         n;
    vault_t       *v;
    vault_dek_t   *dek, *none;
    unsigned char  wrapped[VAULT_WRAPPED_LEN], blob[256], out[256];
    char           longid[VAULT_ID_MAX + 2];

    v = load("1 " K1 "\n");
    none = NULL;

    assert_int_equal(vault_dek_new(v, "", &none, wrapped, NULL, 0),
                     VAULT_ERR_ARG);
    assert_int_equal(vault_dek_new(v, NULL, &none, wrapped, NULL, 0),
                     VAULT_ERR_ARG);
    assert_int_equal(vault_dek_new(NULL, TENANT, &none, wrapped, NULL, 0),
                     VAULT_ERR_ARG);
    assert_null(none);

    assert_int_equal(vault_dek_new(v, TENANT, &dek, wrapped, NULL, 0),
                     VAULT_OK);

    rc = vault_seal(dek, 1, TENANT, "", PURPOSE, (const unsigned char *) "x",
                    1, blob, sizeof(blob), &n, err, sizeof(err));
    assert_int_equal(rc, VAULT_ERR_ARG);
    assert_non_null(strstr(err, "integration"));

    memset(longid, 'a', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    assert_int_equal(vault_seal(dek, 1, TENANT, INTEG, longid,
                                (const unsigned char *) "x", 1, blob,
                                sizeof(blob), &n, NULL, 0), VAULT_ERR_ARG);
    longid[VAULT_ID_MAX] = '\0';
    assert_int_equal(vault_seal(dek, 1, TENANT, INTEG, longid,
                                (const unsigned char *) "x", 1, blob,
                                sizeof(blob), &n, NULL, 0), VAULT_OK);

    assert_int_equal(vault_seal(dek, 1, TENANT, INTEG, PURPOSE,
                                (const unsigned char *) "xy", 2, blob,
                                VAULT_SEALED_LEN(2) - 1, &n, NULL, 0),
                     VAULT_ERR_SPACE);
    assert_int_equal(vault_seal(dek, 1, TENANT, INTEG, PURPOSE, blob,
                                VAULT_SEAL_MAX + 1, blob, sizeof(blob), &n,
                                NULL, 0), VAULT_ERR_ARG);

    n = seal(dek, TENANT, INTEG, PURPOSE, SECRET, blob, sizeof(blob));
    assert_int_equal(vault_open(dek, TENANT, INTEG, PURPOSE, blob, n, out,
                                strlen(SECRET) - 1, &n, NULL, 0),
                     VAULT_ERR_SPACE);
    assert_int_equal(vault_open(dek, TENANT, INTEG, NULL, blob, n, out,
                                sizeof(out), &n, NULL, 0), VAULT_ERR_ARG);
    assert_int_equal(vault_open(NULL, TENANT, INTEG, PURPOSE, blob, n, out,
                                sizeof(out), &n, NULL, 0), VAULT_ERR_ARG);

    assert_int_equal(vault_kek_load(NULL, &v, NULL, 0), VAULT_ERR_ARG);
    assert_int_equal(vault_wrapped_version(NULL, 0, NULL), VAULT_ERR_FORMAT);
    assert_int_equal(vault_sealed_generation(blob, 3, NULL),
                     VAULT_ERR_FORMAT);

    for (rc = VAULT_OK; rc > VAULT_ERR_MIN; rc--) {
        assert_string_not_equal(vault_strerror(rc), "unknown error");
    }
    assert_string_equal(vault_strerror(VAULT_ERR_MIN), "unknown error");
    assert_string_equal(vault_strerror(1), "unknown error");
    assert_string_equal(vault_strerror(VAULT_ERR_AUTH),
                        "authentication failed");

    vault_dek_free(dek);
    vault_free(v);
}


static void
test_free_and_lock(void **state)
{
    vault_t        *v;
    vault_dek_t    *dek, *dek2;
    struct rlimit   saved, zero;
    unsigned char   wrapped[VAULT_WRAPPED_LEN];

    vault_free(NULL);
    vault_dek_free(NULL);
    assert_int_equal(vault_flags(NULL), 0);

    /* locked when the limit allows it */
    v = load("1 " K1 "\n");
    assert_int_equal(vault_dek_new(v, TENANT, &dek, wrapped, NULL, 0),
                     VAULT_OK);
    assert_int_equal(vault_dek_flags(dek) & VAULT_F_UNLOCKED, 0);
    assert_int_equal(vault_flags(v) & VAULT_F_UNLOCKED, 0);
    vault_dek_free(dek);
    vault_free(v);

    /* with no lockable memory, keys still work and the flag says so */
    assert_int_equal(getrlimit(RLIMIT_MEMLOCK, &saved), 0);
    zero = saved;
    zero.rlim_cur = 0;
    assert_int_equal(setrlimit(RLIMIT_MEMLOCK, &zero), 0);

    v = load("1 " K1 "\n");
    assert_int_equal(vault_dek_new(v, TENANT, &dek, wrapped, NULL, 0),
                     VAULT_OK);

    assert_int_equal(setrlimit(RLIMIT_MEMLOCK, &saved), 0);

#ifndef HG_T_ASAN
    /* root has CAP_IPC_LOCK and is not bound by the limit */
    if (geteuid() != 0) {
        assert_int_equal(vault_flags(v) & VAULT_F_UNLOCKED,
                         VAULT_F_UNLOCKED);
        assert_int_equal(vault_dek_flags(dek) & VAULT_F_UNLOCKED,
                         VAULT_F_UNLOCKED);
    }
#endif
    assert_int_equal(vault_dek_unwrap(v, TENANT, wrapped, sizeof(wrapped),
                                      &dek2, NULL, 0), VAULT_OK);

    /* wiped and unmapped; ASan checks the rest */
    vault_dek_free(dek);
    vault_dek_free(dek2);
    vault_free(v);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_tamper_sealed),
        cmocka_unit_test(test_tamper_wrapped),
        cmocka_unit_test(test_wrong_aad),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_missing_version),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_good_files),
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_free_and_lock),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
