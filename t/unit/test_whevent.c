
/*
 * hg_whevent: the event id and type of a verified webhook, and the
 * X-Hubgate-Webhook value they travel in.  Hashes are made here with
 * OpenSSL's one-shot digest, independently of the code under test.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "hg_whevent.h"


#define STRIPE_BODY  "{\"id\":\"evt_1\",\"object\":\"event\"," \
                     "\"type\":\"charge.succeeded\",\"data\":{}}"


typedef struct {
    int    rc;
    char   id[HG_WHEVENT_ID_SIZE];
    char  *type;
} got_t;


/* "sha256:<hex>" of len bytes */
static void
sha256_id(const char *body, size_t len, char *out)
{
    unsigned int   i, n;
    unsigned char  md[EVP_MAX_MD_SIZE];

    assert_int_equal(EVP_Digest(body, len, md, &n, EVP_sha256(), NULL), 1);

    strcpy(out, "sha256:");

    for (i = 0; i < n; i++) {
        sprintf(out + 7 + 2 * i, "%02x", md[i]);
    }
}


static void
payload(got_t *g, const char *scheme, const char *body, size_t len)
{
    free(g->type);
    memset(g, 0, sizeof(*g));
    memset(g->id, 'x', sizeof(g->id));

    g->rc = hg_whevent_payload(scheme, body, len, g->id, sizeof(g->id),
                               &g->type);
}


static void
payload_s(got_t *g, const char *scheme, const char *body)
{
    payload(g, scheme, body, strlen(body));
}


/* a body of len bytes: {"<member>":"xxx...x"} */
static char *
long_member(const char *member, size_t len)
{
    char    *b;
    size_t   n;

    b = malloc(len + 64);
    assert_non_null(b);

    n = (size_t) sprintf(b, "{\"%s\":\"", member);
    memset(b + n, 'x', len);
    strcpy(b + n + len, "\"}");

    return b;
}


static void
expect_hashed(got_t *g, const char *body, size_t len)
{
    char  want[HG_WHEVENT_ID_SIZE];

    sha256_id(body, len, want);
    assert_int_equal(g->rc, HG_WHEVENT_HASHED);
    assert_string_equal(g->id, want);
}


static void
expect_header(const char *v, int rc, const char *scheme, const char *id)
{
    int          got;
    char         s[HG_WHEVENT_SCHEME_SIZE];
    size_t       id_len;
    const char  *p;

    got = hg_whevent_header(v, strlen(v), s, sizeof(s), &p, &id_len);

    assert_int_equal(got, rc);

    if (rc != HG_WHEVENT_OK) {
        return;
    }

    assert_string_equal(s, scheme);

    if (id == NULL) {
        assert_null(p);
        assert_int_equal(id_len, 0);
        return;
    }

    assert_non_null(p);
    assert_int_equal(id_len, strlen(id));
    assert_memory_equal(p, id, id_len);
    assert_ptr_equal(p, v + strlen(v) - id_len);
}


static void
test_header(void **state)
{
    expect_header("scheme=stripe", HG_WHEVENT_OK, "stripe", NULL);
    expect_header("scheme=standard;id=msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
                  HG_WHEVENT_OK, "standard", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W");
    expect_header("scheme=github;id=72d3162e-cc78-11e3-81ab-4c9367dc0958",
                  HG_WHEVENT_OK, "github",
                  "72d3162e-cc78-11e3-81ab-4c9367dc0958");
    expect_header("scheme=hmac_2;id=a;id=b c=~", HG_WHEVENT_OK, "hmac_2",
                  "a;id=b c=~");
    expect_header("scheme=x;id= ", HG_WHEVENT_OK, "x", " ");
}


static void
test_header_not_webhook(void **state)
{
    expect_header("", HG_WHEVENT_ERR_NOT_WEBHOOK, NULL, NULL);
    expect_header("secret-request", HG_WHEVENT_ERR_NOT_WEBHOOK, NULL, NULL);
    expect_header("scheme", HG_WHEVENT_ERR_NOT_WEBHOOK, NULL, NULL);
    expect_header("Scheme=stripe", HG_WHEVENT_ERR_NOT_WEBHOOK, NULL, NULL);
    expect_header(" scheme=stripe", HG_WHEVENT_ERR_NOT_WEBHOOK, NULL, NULL);
}


static void
test_header_malformed(void **state)
{
    char   v[128];

    expect_header("scheme=", HG_WHEVENT_ERR_MALFORMED, NULL, NULL);
    expect_header("scheme=;id=x", HG_WHEVENT_ERR_MALFORMED, NULL, NULL);
    expect_header("scheme=Stripe", HG_WHEVENT_ERR_MALFORMED, NULL, NULL);
    expect_header("scheme=a-b", HG_WHEVENT_ERR_MALFORMED, NULL, NULL);
    expect_header("scheme=stripe ", HG_WHEVENT_ERR_MALFORMED, NULL, NULL);
    expect_header("scheme=stripe;x=1", HG_WHEVENT_ERR_MALFORMED, NULL, NULL);
    expect_header("scheme=stripe;", HG_WHEVENT_ERR_MALFORMED, NULL, NULL);
    expect_header("scheme=stripe;id", HG_WHEVENT_ERR_MALFORMED, NULL, NULL);
    expect_header("scheme=stripe;ID=1", HG_WHEVENT_ERR_MALFORMED, NULL,
                  NULL);

    /* 63 characters are a name, 64 are not */
    strcpy(v, "scheme=");
    memset(v + 7, 'a', 63);
    v[7 + 63] = '\0';
    expect_header(v, HG_WHEVENT_OK, v + 7, NULL);

    strcat(v, "a");
    expect_header(v, HG_WHEVENT_ERR_MALFORMED, NULL, NULL);

    strcat(v, ";id=1");
    expect_header(v, HG_WHEVENT_ERR_MALFORMED, NULL, NULL);
}


static void
test_header_id(void **state)
{
    char         v[600], s[HG_WHEVENT_SCHEME_SIZE];
    size_t       id_len;
    const char  *id;

    expect_header("scheme=standard;id=", HG_WHEVENT_ERR_ID, NULL, NULL);
    expect_header("scheme=standard;id=a\tb", HG_WHEVENT_ERR_ID, NULL, NULL);
    expect_header("scheme=standard;id=a\x7f", HG_WHEVENT_ERR_ID, NULL, NULL);
    expect_header("scheme=standard;id=\xc3\xa9", HG_WHEVENT_ERR_ID, NULL,
                  NULL);
    expect_header("scheme=standard;id=a\r\n", HG_WHEVENT_ERR_ID, NULL, NULL);

    /* 512 bytes are an id, 513 are not */
    strcpy(v, "scheme=standard;id=");
    memset(v + 19, 'x', 512);
    v[19 + 512] = '\0';
    expect_header(v, HG_WHEVENT_OK, "standard", v + 19);

    strcat(v, "x");
    expect_header(v, HG_WHEVENT_ERR_ID, NULL, NULL);

    /* the length is the value's, NUL or not */
    assert_int_equal(hg_whevent_header("scheme=a;id=b\0c", 15, s, sizeof(s),
                                       &id, &id_len),
                     HG_WHEVENT_ERR_ID);
    assert_int_equal(hg_whevent_header("scheme=a\0;id=b", 14, s, sizeof(s),
                                       &id, &id_len),
                     HG_WHEVENT_ERR_MALFORMED);
    assert_int_equal(hg_whevent_header("scheme=stripe;id=evt", 13, s,
                                       sizeof(s), &id, &id_len),
                     HG_WHEVENT_OK);
    assert_string_equal(s, "stripe");
    assert_null(id);

    /* the scheme's buffer must hold any name */
    assert_int_equal(hg_whevent_header("scheme=a", 8, s, sizeof(s) - 1, &id,
                                       &id_len),
                     HG_WHEVENT_ERR_INTERNAL);
    assert_int_equal(hg_whevent_header(NULL, 0, s, sizeof(s), &id, &id_len),
                     HG_WHEVENT_ERR_NOT_WEBHOOK);
}


static void
test_stripe(void **state)
{
    got_t  g;

    memset(&g, 0, sizeof(g));

    payload_s(&g, "stripe", STRIPE_BODY);
    assert_int_equal(g.rc, HG_WHEVENT_OK);
    assert_string_equal(g.id, "evt_1");
    assert_string_equal(g.type, "charge.succeeded");

    payload_s(&g, "stripe", "{\"id\":\"evt_2\"}");
    assert_int_equal(g.rc, HG_WHEVENT_OK);
    assert_string_equal(g.id, "evt_2");
    assert_null(g.type);

    payload_s(&g, "stripe", "{\"id\":\"evt_3\",\"type\":42}");
    assert_int_equal(g.rc, HG_WHEVENT_OK);
    assert_null(g.type);

    payload_s(&g, "stripe", "{\"id\":\"evt_4\",\"type\":\"\"}");
    assert_int_equal(g.rc, HG_WHEVENT_OK);
    assert_null(g.type);

    /* what hubgated refuses as 400 bad_event */
    payload_s(&g, "stripe", "{\"type\":\"charge.succeeded\"}");
    assert_int_equal(g.rc, HG_WHEVENT_MISSING);
    assert_string_equal(g.id, "");
    assert_null(g.type);

    payload_s(&g, "stripe", "{\"id\":42}");
    assert_int_equal(g.rc, HG_WHEVENT_MISSING);

    payload_s(&g, "stripe", "{\"id\":\"\"}");
    assert_int_equal(g.rc, HG_WHEVENT_MISSING);

    payload_s(&g, "stripe", "[{\"id\":\"evt_5\"}]");
    assert_int_equal(g.rc, HG_WHEVENT_MISSING);

    payload_s(&g, "stripe", "\"evt_6\"");
    assert_int_equal(g.rc, HG_WHEVENT_MISSING);

    payload_s(&g, "stripe", "not json at all");
    assert_int_equal(g.rc, HG_WHEVENT_MISSING);

    payload_s(&g, "stripe", "{\"id\":\"evt_7\"");
    assert_int_equal(g.rc, HG_WHEVENT_MISSING);

    payload_s(&g, "stripe", "{\"id\":\"evt_8\"} trailing");
    assert_int_equal(g.rc, HG_WHEVENT_MISSING);

    payload(&g, "stripe", "", 0);
    assert_int_equal(g.rc, HG_WHEVENT_MISSING);

    payload(&g, "stripe", NULL, 0);
    assert_int_equal(g.rc, HG_WHEVENT_MISSING);

    free(g.type);
}


static void
test_square(void **state)
{
    got_t  g;

    memset(&g, 0, sizeof(g));

    payload_s(&g, "square", "{\"merchant_id\":\"M1\",\"type\":"
              "\"payment.created\",\"event_id\":"
              "\"13b867cf-db3d-4b1c-90b6-2f32a9d78124\",\"data\":{}}");
    assert_int_equal(g.rc, HG_WHEVENT_OK);
    assert_string_equal(g.id, "13b867cf-db3d-4b1c-90b6-2f32a9d78124");
    assert_string_equal(g.type, "payment.created");

    payload_s(&g, "square", "{\"id\":\"x\",\"type\":\"payment.created\"}");
    assert_int_equal(g.rc, HG_WHEVENT_MISSING);
    assert_null(g.type);

    payload_s(&g, "square", "{\"event_id\":null}");
    assert_int_equal(g.rc, HG_WHEVENT_MISSING);

    free(g.type);
}


static void
test_intuit(void **state)
{
    got_t        g;
    const char  *b;

    memset(&g, 0, sizeof(g));

    /* a CloudEvent */
    payload_s(&g, "intuit", "{\"specversion\":\"1.0\",\"id\":"
              "\"88cd52a5-ae2a-4b2b-b3d8-ba8f5e53d3b9\",\"source\":"
              "\"intuit.dsnBgbseACLLRZNxo2dfc4evmEJdxde58xeeYcZliOU=\","
              "\"type\":\"qbo.invoice.created.v1\",\"data\":{}}");
    assert_int_equal(g.rc, HG_WHEVENT_OK);
    assert_string_equal(g.id, "88cd52a5-ae2a-4b2b-b3d8-ba8f5e53d3b9");
    assert_string_equal(g.type, "qbo.invoice.created.v1");

    /* a one-element array of them */
    payload_s(&g, "intuit", "[{\"id\":\"ce-1\",\"type\":"
              "\"qbo.customer.updated.v1\"}]");
    assert_int_equal(g.rc, HG_WHEVENT_OK);
    assert_string_equal(g.id, "ce-1");
    assert_string_equal(g.type, "qbo.customer.updated.v1");

    /* a batch has no single id: the hash, no type */
    b = "[{\"id\":\"ce-1\",\"type\":\"a\"},{\"id\":\"ce-2\",\"type\":\"b\"}]";
    payload_s(&g, "intuit", b);
    expect_hashed(&g, b, strlen(b));
    assert_null(g.type);

    /* the legacy shape neither */
    b = "{\"eventNotifications\":[{\"realmId\":\"1185883450\","
        "\"dataChangeEvent\":{\"entities\":[{\"name\":\"Customer\","
        "\"id\":\"1\",\"operation\":\"Create\"}]}}]}";
    payload_s(&g, "intuit", b);
    expect_hashed(&g, b, strlen(b));
    assert_null(g.type);

    /* optional: an id that will not do is the hash, the type still read */
    b = "{\"id\":7,\"type\":\"qbo.bill.deleted.v1\"}";
    payload_s(&g, "intuit", b);
    expect_hashed(&g, b, strlen(b));
    assert_string_equal(g.type, "qbo.bill.deleted.v1");

    b = "[]";
    payload_s(&g, "intuit", b);
    expect_hashed(&g, b, strlen(b));

    b = "[[{\"id\":\"deep\"}]]";
    payload_s(&g, "intuit", b);
    expect_hashed(&g, b, strlen(b));

    b = "<xml/>";
    payload_s(&g, "intuit", b);
    expect_hashed(&g, b, strlen(b));
    assert_null(g.type);

    free(g.type);
}


static void
test_pubsub(void **state)
{
    got_t  g;

    memset(&g, 0, sizeof(g));

    payload_s(&g, "pubsub", "{\"message\":{\"data\":\"eyJ9\",\"messageId\":"
              "\"2070443601311540\",\"publishTime\":"
              "\"2021-02-26T19:13:55.749Z\"},\"subscription\":"
              "\"projects/p/subscriptions/s\"}");
    assert_int_equal(g.rc, HG_WHEVENT_OK);
    assert_string_equal(g.id, "2070443601311540");
    assert_null(g.type);

    payload_s(&g, "pubsub", "{\"messageId\":\"1\"}");
    assert_int_equal(g.rc, HG_WHEVENT_MISSING);

    payload_s(&g, "pubsub", "{\"message\":\"1\"}");
    assert_int_equal(g.rc, HG_WHEVENT_MISSING);

    payload_s(&g, "pubsub", "{\"message\":{\"messageId\":2070443601311540}}");
    assert_int_equal(g.rc, HG_WHEVENT_MISSING);

    payload_s(&g, "pubsub", "{\"message\":{\"message_id\":\"1\"}}");
    assert_int_equal(g.rc, HG_WHEVENT_MISSING);

    free(g.type);
}


static void
test_hashed_schemes(void **state)
{
    got_t        g;
    size_t       i;
    const char  *b;

    static const char  bin[] = "\x00\x01\xff{\"id\":\"evt\"}\x00";
    static const char  *hashed[] = {
        "github", "mailchimp", "hmac", "standard", "unknown", ""
    };

    memset(&g, 0, sizeof(g));
    b = "{\"id\":\"evt_9\",\"type\":\"invoice.paid\"}";

    for (i = 0; i < sizeof(hashed) / sizeof(hashed[0]); i++) {
        payload_s(&g, hashed[i], b);
        expect_hashed(&g, b, strlen(b));

        /* only standard has a type */
        if (strcmp(hashed[i], "standard") == 0) {
            assert_string_equal(g.type, "invoice.paid");
        } else {
            assert_null(g.type);
        }

        payload(&g, hashed[i], bin, sizeof(bin) - 1);
        expect_hashed(&g, bin, sizeof(bin) - 1);
        assert_null(g.type);
    }

    payload_s(&g, "mailchimp", "type=subscribe&data%5Bid%5D=8a25ff1d98");
    expect_hashed(&g, "type=subscribe&data%5Bid%5D=8a25ff1d98",
                  strlen("type=subscribe&data%5Bid%5D=8a25ff1d98"));

    /* an empty body, and none at all */
    payload(&g, "hmac", "", 0);
    assert_int_equal(g.rc, HG_WHEVENT_HASHED);
    assert_string_equal(g.id, "sha256:e3b0c44298fc1c149afbf4c8996fb924"
                        "27ae41e4649b934ca495991b7852b855");

    payload(&g, "github", NULL, 0);
    assert_int_equal(g.rc, HG_WHEVENT_HASHED);
    assert_string_equal(g.id, "sha256:e3b0c44298fc1c149afbf4c8996fb924"
                        "27ae41e4649b934ca495991b7852b855");

    payload(&g, NULL, b, strlen(b));
    expect_hashed(&g, b, strlen(b));

    free(g.type);
}


/* a \u0000 is valid JSON: elsewhere it is harmless, in an id or type the
 * member counts as absent */
static void
test_nul(void **state)
{
    static const char  nul_pubsub[] =
        "{\"message\":{\"messageId\":\"20\"},\"n\":6\0}";
    static const char  nul_stripe[] = "{\"id\":\"evt_1\",\"n\":6\0}";
    got_t        g;
    const char  *b;

    memset(&g, 0, sizeof(g));

    payload_s(&g, "stripe", "{\"id\":\"evt_nul\",\"type\":"
              "\"charge.succeeded\",\"data\":{\"s\":\"a\\u0000b\"}}");
    assert_int_equal(g.rc, HG_WHEVENT_OK);
    assert_string_equal(g.id, "evt_nul");
    assert_string_equal(g.type, "charge.succeeded");

    payload_s(&g, "stripe", "{\"id\":\"evt\\u0000x\"}");
    assert_int_equal(g.rc, HG_WHEVENT_MISSING);

    payload_s(&g, "stripe", "{\"id\":\"\\u0000\"}");
    assert_int_equal(g.rc, HG_WHEVENT_MISSING);

    payload_s(&g, "pubsub", "{\"message\":{\"messageId\":\"1\\u0000\"}}");
    assert_int_equal(g.rc, HG_WHEVENT_MISSING);

    b = "{\"id\":\"ce\\u0000\",\"type\":\"t\"}";
    payload_s(&g, "intuit", b);
    expect_hashed(&g, b, strlen(b));
    assert_string_equal(g.type, "t");

    payload_s(&g, "square", "{\"event_id\":\"e1\",\"type\":\"a\\u0000b\"}");
    assert_int_equal(g.rc, HG_WHEVENT_OK);
    assert_string_equal(g.id, "e1");
    assert_null(g.type);

    /* a raw NUL byte is not JSON */
    payload(&g, "stripe", "{\"id\":\"e\0\"}", sizeof("{\"id\":\"e\0\"}") - 1);
    assert_int_equal(g.rc, HG_WHEVENT_MISSING);

    /* not even after a number, where jansson lets one pass (found by
     * fuzz_whevent) */
    payload(&g, "pubsub", nul_pubsub, sizeof(nul_pubsub) - 1);
    assert_int_equal(g.rc, HG_WHEVENT_MISSING);
    payload(&g, "stripe", nul_stripe, sizeof(nul_stripe) - 1);
    assert_int_equal(g.rc, HG_WHEVENT_MISSING);

    free(g.type);
}


static void
test_sizes(void **state)
{
    char   *b;
    got_t   g;

    memset(&g, 0, sizeof(g));

    b = long_member("id", HG_WHEVENT_ID_MAX);
    payload_s(&g, "stripe", b);
    assert_int_equal(g.rc, HG_WHEVENT_OK);
    assert_int_equal(strlen(g.id), HG_WHEVENT_ID_MAX);
    free(b);

    b = long_member("id", HG_WHEVENT_ID_MAX + 1);
    payload_s(&g, "stripe", b);
    assert_int_equal(g.rc, HG_WHEVENT_MISSING);
    free(b);

    b = long_member("event_id", 100000);
    payload_s(&g, "square", b);
    assert_int_equal(g.rc, HG_WHEVENT_MISSING);
    free(b);

    b = long_member("id", HG_WHEVENT_ID_MAX + 1);
    payload_s(&g, "intuit", b);
    expect_hashed(&g, b, strlen(b));
    free(b);

    /* a type is as long as it is */
    b = long_member("type", 100000);
    payload_s(&g, "standard", b);
    expect_hashed(&g, b, strlen(b));
    assert_non_null(g.type);
    assert_int_equal(strlen(g.type), 100000);
    free(b);

    free(g.type);
}


/* the header carried the id: only the type; the type not wanted: the id */
static void
test_wanted(void **state)
{
    int    rc;
    char  *type, id[HG_WHEVENT_ID_SIZE];

    type = (char *) "unset";
    rc = hg_whevent_payload("standard", "{\"type\":\"user.created\"}", 23,
                            NULL, 0, &type);
    assert_int_equal(rc, HG_WHEVENT_OK);
    assert_string_equal(type, "user.created");
    free(type);

    /* a required id is not required of a header-identified event */
    type = (char *) "unset";
    rc = hg_whevent_payload("stripe", "not json", 8, NULL, 0, &type);
    assert_int_equal(rc, HG_WHEVENT_OK);
    assert_null(type);

    type = (char *) "unset";
    rc = hg_whevent_payload("pubsub", "{}", 2, NULL, 0, &type);
    assert_int_equal(rc, HG_WHEVENT_OK);
    assert_null(type);

    type = (char *) "unset";
    rc = hg_whevent_payload("github", "{\"type\":\"x\"}", 12, NULL, 0, &type);
    assert_int_equal(rc, HG_WHEVENT_OK);
    assert_null(type);

    rc = hg_whevent_payload("stripe", STRIPE_BODY, strlen(STRIPE_BODY), id,
                            sizeof(id), NULL);
    assert_int_equal(rc, HG_WHEVENT_OK);
    assert_string_equal(id, "evt_1");

    rc = hg_whevent_payload("standard", "{}", 2, id, sizeof(id), NULL);
    assert_int_equal(rc, HG_WHEVENT_HASHED);
    assert_int_equal(strlen(id), 7 + 64);

    rc = hg_whevent_payload("square", "{}", 2, id, sizeof(id), NULL);
    assert_int_equal(rc, HG_WHEVENT_MISSING);
    assert_string_equal(id, "");
}


static void
test_misuse(void **state)
{
    int    rc;
    char  *type, id[HG_WHEVENT_ID_SIZE];

    memset(id, 'x', sizeof(id));
    type = (char *) "unset";
    rc = hg_whevent_payload("stripe", STRIPE_BODY, strlen(STRIPE_BODY), id,
                            sizeof(id) - 1, &type);
    assert_int_equal(rc, HG_WHEVENT_ERR_INTERNAL);
    assert_string_equal(id, "");
    assert_null(type);

    type = (char *) "unset";
    rc = hg_whevent_payload("hmac", NULL, 3, id, sizeof(id), &type);
    assert_int_equal(rc, HG_WHEVENT_ERR_INTERNAL);
    assert_null(type);

    assert_string_equal(hg_whevent_strerror(HG_WHEVENT_OK), "ok");
    assert_string_equal(hg_whevent_strerror(HG_WHEVENT_ERR_ID), "bad id");
    assert_string_equal(hg_whevent_strerror(-1), "unknown");
    assert_string_equal(hg_whevent_strerror(99), "unknown");
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_header_not_webhook),
        cmocka_unit_test(test_header_malformed),
        cmocka_unit_test(test_header_id),
        cmocka_unit_test(test_stripe),
        cmocka_unit_test(test_square),
        cmocka_unit_test(test_intuit),
        cmocka_unit_test(test_pubsub),
        cmocka_unit_test(test_hashed_schemes),
        cmocka_unit_test(test_nul),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_wanted),
        cmocka_unit_test(test_misuse),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
