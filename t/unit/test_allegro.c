
/*
 * allegro: OAuth requests and answers, the checkout-forms and order-events
 * streams (exact URLs, headers, cursors across pages), the canonical order
 * field by field, and error bodies.  Fixtures follow the shapes and
 * examples of shared/specs/providers/allegro-openapi.yaml.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "providers/provider_ops.h"


#define API    "https://api.allegro.pl.test"
#define AUTH   "https://allegro.pl.test"
#define MEDIA  "application/vnd.allegro.public.v1+json"
#define TOKEN  "eyJhbGciOiJSUzI1NiJ9.access"

/* a paid form with an invoice, from the spec's examples */
#define FORM_PAID \
    "{\"id\":\"29738e61-7f6a-11e8-ac45-09db60ede9d6\"," \
    "\"messageToSeller\":\"Please send me an item in red color\"," \
    "\"buyer\":{\"id\":\"23123123\",\"email\":\"user-email@allegro.pl\"," \
    "\"login\":\"User_Login\",\"firstName\":\"Jan\",\"lastName\":" \
    "\"Kowalski\",\"guest\":false,\"address\":{\"street\":\"Solna\"," \
    "\"city\":\"Pozna\\u0144\",\"postCode\":\"60-166\",\"countryCode\":" \
    "\"PL\"}}," \
    "\"payment\":{\"id\":\"0f8f1d13-7e9e-11e8-9b00-c5b0dfb78ea6\"," \
    "\"type\":\"ONLINE\",\"provider\":\"PAYU\",\"finishedAt\":" \
    "\"2018-10-12T10:12:32.321Z\",\"paidAmount\":{\"amount\":\"123.45\"," \
    "\"currency\":\"PLN\"}}," \
    "\"status\":\"READY_FOR_PROCESSING\"," \
    "\"fulfillment\":{\"status\":\"SENT\"}," \
    "\"delivery\":{\"address\":{\"firstName\":\"Jan\",\"lastName\":" \
    "\"Kowalski\",\"street\":\"Grunwaldzka 182\",\"city\":\"Pozna\\u0144\"," \
    "\"zipCode\":\"60-166\",\"countryCode\":\"PL\"},\"cost\":{\"amount\":" \
    "\"15.99\",\"currency\":\"PLN\"}}," \
    "\"invoice\":{\"required\":true,\"address\":{\"street\":" \
    "\"Grunwaldzka 182\",\"city\":\"Pozna\\u0144\",\"zipCode\":\"60-166\"," \
    "\"countryCode\":\"PL\",\"company\":{\"name\":\"Udix Sp. z o.o.\"," \
    "\"ids\":[{\"type\":\"PL_NIP\",\"value\":\"5261040828\"}]," \
    "\"vatPayerStatus\":\"ACTIVE\",\"taxId\":\"111-11-11-111\"}}}," \
    "\"lineItems\":[{\"id\":\"62ae358b-8f65-4fc4-9c77-bedf604a2e2b\"," \
    "\"offer\":{\"id\":\"3213213\",\"name\":\"Name of purchased offer\"," \
    "\"external\":{\"id\":\"SKU-1\"}},\"quantity\":2,\"originalPrice\":" \
    "{\"amount\":\"59.99\",\"currency\":\"PLN\"},\"price\":{\"amount\":" \
    "\"53.73\",\"currency\":\"PLN\"},\"tax\":{\"rate\":\"23.00\"," \
    "\"subject\":\"GOODS\"},\"boughtAt\":\"2018-01-01T10:23:43.123Z\"}]," \
    "\"surcharges\":[],\"summary\":{\"totalToPay\":{\"amount\":\"123.45\"," \
    "\"currency\":\"PLN\"}},\"updatedAt\":\"2011-12-03T10:15:30.133Z\"," \
    "\"revision\":\"819b5836\"}"

/* a form as bought: no invoice, no payment, free delivery */
#define FORM_BOUGHT \
    "{\"id\":\"form-2\",\"buyer\":{\"id\":\"777\",\"email\":\"b@x.pl\"," \
    "\"login\":\"bob\",\"guest\":true},\"status\":\"BOUGHT\"," \
    "\"delivery\":{\"address\":{\"firstName\":\"B\",\"lastName\":\"C\"," \
    "\"street\":\"Ulica 1\",\"city\":\"Krak\\u00f3w\",\"zipCode\":" \
    "\"30-001\",\"countryCode\":\"PL\"},\"cost\":{\"amount\":\"0.00\"," \
    "\"currency\":\"PLN\"}}," \
    "\"lineItems\":[{\"id\":\"li\",\"offer\":{\"id\":\"9\",\"name\":" \
    "\"Mug\"},\"quantity\":3,\"originalPrice\":{\"amount\":\"10.10\"," \
    "\"currency\":\"PLN\"},\"price\":{\"amount\":\"10.10\",\"currency\":" \
    "\"PLN\"}}],\"surcharges\":[],\"summary\":{\"totalToPay\":{\"amount\":" \
    "\"30.30\",\"currency\":\"PLN\"}},\"updatedAt\":" \
    "\"2011-12-02T09:00:00.000Z\"}"


static const prov_conf_t  conf = {
    API, AUTH, "client-1", "s3cret", 2
};

static const prov_auth_t  auth = { TOKEN, NULL };


static http_resp_t
resp_of(long status, const char *body)
{
    http_resp_t  r;

    memset(&r, 0, sizeof(r));
    r.status = status;
    r.body = strdup(body);
    assert_non_null(r.body);
    r.len = strlen(body);
    r.retry_after_ms = -1;
    strcpy(r.content_type, MEDIA);

    return r;
}


static json_t *
load(const char *text)
{
    json_t        *j;
    json_error_t   e;

    j = json_loads(text, 0, &e);
    if (j == NULL) {
        fail_msg("bad test JSON: %s", e.text);
    }

    return j;
}


static void
assert_json(json_t *got, const char *want)
{
    json_t  *w;
    char    *g;

    w = load(want);
    if (!json_equal(got, w)) {
        g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
        fail_msg("got %s\nwant %s", g, want);
    }
    json_decref(w);
}


/* rec without its "raw" members (checked apart) */
static void
strip_raw(json_t *rec)
{
    size_t   i;
    json_t  *line;

    json_object_del(rec, "raw");
    json_object_del(json_object_get(rec, "customer"), "raw");
    json_array_foreach(json_object_get(rec, "lines"), i, line) {
        json_object_del(json_object_get(line, "product"), "raw");
    }
}


static void
assert_api_headers(const http_req_t *req)
{
    assert_int_equal(req->nheaders, 2);
    assert_string_equal(req->headers[0], "Accept: " MEDIA);
    assert_string_equal(req->headers[1], "Authorization: Bearer " TOKEN);
    assert_null(req->body);
}


static void
test_authorize_url(void **state)
{
    char  *url, err[128];

    (void) state;

    assert_int_equal(provider_allegro.authorize_url(&conf,
                         "https://app.test/cb?x=1", "st/ate", "E9Mel-cM",
                         &url, err, sizeof(err)), 0);
    assert_string_equal(url, AUTH "/auth/oauth/authorize?response_type=code"
                        "&client_id=client-1"
                        "&redirect_uri=https%3A%2F%2Fapp.test%2Fcb%3Fx%3D1"
                        "&state=st%2Fate&code_challenge_method=S256"
                        "&code_challenge=E9Mel-cM");
    free(url);

    /* PKCE is required */
    assert_int_equal(provider_allegro.authorize_url(&conf, "https://a/cb",
                         "s", NULL, &url, err, sizeof(err)), -1);
    assert_null(url);
}


static void
test_token_request(void **state)
{
    char         err[128];
    http_req_t   req;
    prov_conf_t  c;

    (void) state;

    assert_int_equal(provider_allegro.token_request(&conf,
                         "authorization_code", "co de", "verifier-1",
                         "https://app.test/cb", &req, err, sizeof(err)), 0);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.url, AUTH "/auth/oauth/token");
    assert_string_equal(req.body, "grant_type=authorization_code"
                        "&code=co%20de&redirect_uri=https%3A%2F%2Fapp.test"
                        "%2Fcb&code_verifier=verifier-1");
    assert_int_equal(req.nheaders, 3);
    assert_string_equal(req.headers[0],
                        "Content-Type: application/x-www-form-urlencoded");
    /* base64("client-1:s3cret") */
    assert_string_equal(req.headers[1],
                        "Authorization: Basic Y2xpZW50LTE6czNjcmV0");
    assert_string_equal(req.headers[2], "Accept: application/json");
    http_req_free(&req);

    assert_int_equal(provider_allegro.token_request(&conf, "refresh_token",
                         "rt-1", NULL, "https://app.test/cb", &req, err,
                         sizeof(err)), 0);
    assert_string_equal(req.body, "grant_type=refresh_token"
                        "&refresh_token=rt-1"
                        "&redirect_uri=https%3A%2F%2Fapp.test%2Fcb");
    http_req_free(&req);

    assert_int_equal(provider_allegro.token_request(&conf, "password", "x",
                         NULL, "u", &req, err, sizeof(err)), -1);
    http_req_free(&req);

    c = conf;
    c.client_secret = NULL;
    assert_int_equal(provider_allegro.token_request(&c, "refresh_token",
                         "rt", NULL, "u", &req, err, sizeof(err)), -1);
    http_req_free(&req);
}


static void
test_token_parse(void **state)
{
    char           err[128];
    http_resp_t    r;
    prov_error_t   perr;
    prov_tokens_t  t;

    (void) state;

    r = resp_of(200, "{\"access_token\":\"AT\",\"token_type\":\"bearer\","
                "\"refresh_token\":\"RT\",\"expires_in\":43199,\"scope\":"
                "\"allegro:api:orders:read\",\"allegro_api\":true,"
                "\"jti\":\"j\"}");
    assert_int_equal(provider_allegro.token_parse(&r, &t, &perr, err,
                                                  sizeof(err)), 0);
    assert_string_equal(t.access_token, "AT");
    assert_string_equal(t.refresh_token, "RT");
    assert_int_equal(t.expires_in, 43199);
    assert_string_equal(t.scope, "allegro:api:orders:read");
    assert_null(t.account_id);
    prov_tokens_free(&t);
    http_resp_free(&r);

    r = resp_of(400, "{\"error\":\"invalid_grant\",\"error_description\":"
                "\"Invalid refresh token\"}");
    memset(&perr, 0, sizeof(perr));
    assert_int_equal(provider_allegro.token_parse(&r, &t, &perr, err,
                                                  sizeof(err)), -1);
    assert_string_equal(perr.code, "invalid_grant");
    assert_string_equal(perr.message, "Invalid refresh token");
    assert_null(t.access_token);
    http_resp_free(&r);

    r = resp_of(200, "{\"token_type\":\"bearer\"}");
    assert_int_equal(provider_allegro.token_parse(&r, &t, &perr, err,
                                                  sizeof(err)), -1);
    http_resp_free(&r);

    r = resp_of(200, "not json");
    assert_int_equal(provider_allegro.token_parse(&r, &t, &perr, err,
                                                  sizeof(err)), -1);
    http_resp_free(&r);
}


static void
test_identity(void **state)
{
    char             err[128];
    http_req_t       req;
    http_resp_t      r;
    prov_identity_t  id;

    (void) state;

    assert_int_equal(provider_allegro.identity_request(&conf, &auth, &req,
                                                       err, sizeof(err)), 0);
    assert_string_equal(req.method, "GET");
    assert_string_equal(req.url, API "/me");
    assert_api_headers(&req);
    http_req_free(&req);

    r = resp_of(200, "{\"id\":\"46968690\",\"login\":\"Client:46968690\","
                "\"firstName\":\"Amadeusz\",\"lastName\":\"Iksi\\u0144ski\","
                "\"email\":\"user-email@allegro.pl\",\"company\":{\"name\":"
                "\"Allegro.pl sp. z o.o.\",\"taxId\":null}}");
    assert_int_equal(provider_allegro.identity_parse(&r, &id, err,
                                                     sizeof(err)), 0);
    assert_string_equal(id.account_id, "46968690");
    assert_string_equal(id.display_name, "Client:46968690");
    http_resp_free(&r);

    r = resp_of(200, "{\"login\":\"x\"}");
    assert_int_equal(provider_allegro.identity_parse(&r, &id, err,
                                                     sizeof(err)), -1);
    http_resp_free(&r);
}


static void
test_forms_pages(void **state)
{
    char         err[256];
    json_t      *c;
    http_req_t   req;
    prov_ask_t   ask;
    http_resp_t  r;
    prov_page_t  page, last;

    (void) state;

    /* first page: since as the lower bound, no upper bound yet */
    ask.stream = "checkout-forms";
    ask.cursor = NULL;
    ask.since = "2011-12-01T00:00:00.000Z";

    assert_int_equal(provider_allegro.page_request(&conf, &auth, &ask, &req,
                                                   err, sizeof(err)), 0);
    assert_string_equal(req.method, "GET");
    assert_string_equal(req.url, API "/order/checkout-forms?limit=2&offset=0"
                        "&sort=-updatedAt"
                        "&updatedAt.gte=2011-12-01T00%3A00%3A00.000Z");
    assert_api_headers(&req);
    http_req_free(&req);

    r = resp_of(200, "{\"checkoutForms\":[" FORM_PAID "," FORM_BOUGHT "],"
                "\"count\":2,\"totalCount\":3}");
    assert_int_equal(provider_allegro.page_parse(&conf, &ask, &r, &page,
                                                 err, sizeof(err)), 0);
    http_resp_free(&r);

    assert_int_equal(json_array_size(page.records), 2);
    assert_int_equal(page.total, 3);
    assert_null(page.refetch);
    assert_null(page.final_cursor);
    assert_non_null(page.next_cursor);
    c = load(page.next_cursor);
    /* past the one form read at the last form's time */
    assert_json(c, "{\"lte\":\"2011-12-02T09:00:00.000Z\",\"skip\":1,"
                "\"gte\":\"2011-12-01T00:00:00.000Z\",\"total\":3}");
    json_decref(c);

    /* the second page pages over the same window */
    ask.cursor = page.next_cursor;
    ask.since = "2099-01-01T00:00:00.000Z";      /* the cursor's wins */
    assert_int_equal(provider_allegro.page_request(&conf, &auth, &ask, &req,
                                                   err, sizeof(err)), 0);
    assert_string_equal(req.url, API "/order/checkout-forms?limit=2&offset=1"
                        "&sort=-updatedAt"
                        "&updatedAt.gte=2011-12-01T00%3A00%3A00.000Z"
                        "&updatedAt.lte=2011-12-02T09%3A00%3A00.000Z");
    http_req_free(&req);

    r = resp_of(200, "{\"checkoutForms\":[" FORM_BOUGHT "],\"count\":1,"
                "\"totalCount\":3}");
    assert_int_equal(provider_allegro.page_parse(&conf, &ask, &r, &last,
                                                 err, sizeof(err)), 0);
    http_resp_free(&r);
    assert_int_equal(json_array_size(last.records), 1);
    assert_null(last.next_cursor);
    assert_null(last.final_cursor);
    assert_int_equal(last.total, 3);
    prov_page_free(&last);
    prov_page_free(&page);

    /* a full page all at the window's end time: skip further */
    ask.cursor = "{\"lte\":\"2011-12-02T09:00:00.000Z\",\"skip\":1,"
                 "\"total\":9}";
    ask.since = NULL;
    r = resp_of(200, "{\"checkoutForms\":[" FORM_BOUGHT "," FORM_BOUGHT
                "],\"count\":2,\"totalCount\":5}");
    assert_int_equal(provider_allegro.page_parse(&conf, &ask, &r, &page,
                                                 err, sizeof(err)), 0);
    http_resp_free(&r);
    assert_int_equal(page.total, 9);
    c = load(page.next_cursor);
    assert_json(c, "{\"lte\":\"2011-12-02T09:00:00.000Z\",\"skip\":3,"
                "\"total\":9}");
    json_decref(c);
    prov_page_free(&page);

    assert_int_equal(provider_allegro.page_request(&conf, &auth, &ask, &req,
                                                   err, sizeof(err)), 0);
    assert_string_equal(req.url, API "/order/checkout-forms?limit=2&offset=1"
                        "&sort=-updatedAt"
                        "&updatedAt.lte=2011-12-02T09%3A00%3A00.000Z");
    http_req_free(&req);

    /* the window's count reached by skip + page */
    r = resp_of(200, "{\"checkoutForms\":[" FORM_BOUGHT "," FORM_BOUGHT
                "],\"count\":2,\"totalCount\":3}");
    assert_int_equal(provider_allegro.page_parse(&conf, &ask, &r, &page,
                                                 err, sizeof(err)), 0);
    http_resp_free(&r);
    assert_null(page.next_cursor);
    prov_page_free(&page);

    /* a full page that reaches totalCount ends the stream too */
    ask.cursor = NULL;
    ask.since = NULL;
    r = resp_of(200, "{\"checkoutForms\":[" FORM_PAID "," FORM_BOUGHT "],"
                "\"count\":2,\"totalCount\":2}");
    assert_int_equal(provider_allegro.page_parse(&conf, &ask, &r, &page,
                                                 err, sizeof(err)), 0);
    assert_null(page.next_cursor);
    http_resp_free(&r);
    prov_page_free(&page);

    /* a full sync asks with no bounds at all */
    assert_int_equal(provider_allegro.page_request(&conf, &auth, &ask, &req,
                                                   err, sizeof(err)), 0);
    assert_string_equal(req.url, API "/order/checkout-forms?limit=2&offset=0"
                        "&sort=-updatedAt");
    http_req_free(&req);

    /* empty */
    r = resp_of(200, "{\"checkoutForms\":[],\"count\":0,\"totalCount\":0}");
    assert_int_equal(provider_allegro.page_parse(&conf, &ask, &r, &page,
                                                 err, sizeof(err)), 0);
    assert_int_equal(json_array_size(page.records), 0);
    assert_null(page.next_cursor);
    assert_int_equal(page.total, 0);
    http_resp_free(&r);
    prov_page_free(&page);

    /* bad cursors */
    ask.cursor = "{\"skip\":-1,\"lte\":\"x\"}";
    assert_int_equal(provider_allegro.page_request(&conf, &auth, &ask, &req,
                                                   err, sizeof(err)), -1);
    http_req_free(&req);
    ask.cursor = "garbage";
    assert_int_equal(provider_allegro.page_request(&conf, &auth, &ask, &req,
                                                   err, sizeof(err)), -1);
    http_req_free(&req);
}


static void
test_order_mapping(void **state)
{
    char         err[256];
    http_resp_t  r;
    prov_page_t  page;
    json_t      *rec, *raw;

    (void) state;

    r = resp_of(200, FORM_PAID);
    assert_int_equal(provider_allegro.record_parse(&conf, "checkout-forms",
                                                   &r, &page, err,
                                                   sizeof(err)), 0);
    http_resp_free(&r);
    assert_int_equal(json_array_size(page.records), 1);
    assert_null(page.next_cursor);

    rec = json_array_get(page.records, 0);
    raw = json_object_get(rec, "raw");
    assert_string_equal(json_string_value(json_object_get(raw, "revision")),
                        "819b5836");

    /* "type" first */
    assert_string_equal(json_object_iter_key(json_object_iter(rec)), "type");

    strip_raw(rec);

    assert_json(rec, "{\"type\":\"order\","
        "\"external_id\":\"29738e61-7f6a-11e8-ac45-09db60ede9d6\","
        "\"status\":\"paid\",\"currency\":\"PLN\",\"total_minor\":12345,"
        "\"ordered_at\":\"2018-01-01T10:23:43.123Z\","
        "\"external_updated_at\":\"2011-12-03T10:15:30.133Z\","
        "\"customer\":{\"external_id\":\"23123123\","
        "\"name\":\"Udix Sp. z o.o.\",\"email\":\"user-email@allegro.pl\","
        "\"tax_id\":\"5261040828\",\"country\":\"PL\","
        "\"address\":{\"street\":\"Grunwaldzka 182\","
        "\"city\":\"Pozna\\u0144\",\"postal_code\":\"60-166\","
        "\"country\":\"PL\"}},"
        "\"lines\":["
        "{\"product\":{\"external_id\":\"3213213\",\"sku\":\"SKU-1\","
        "\"name\":\"Name of purchased offer\",\"unit_price\":\"53.73\","
        "\"currency\":\"PLN\",\"vat_rate\":\"23\"},"
        "\"description\":\"Name of purchased offer\",\"quantity\":\"2\","
        "\"unit_price\":\"53.73\",\"vat_rate\":\"23\",\"total_minor\":10746},"
        "{\"product\":null,\"description\":\"Delivery\",\"quantity\":\"1\","
        "\"unit_price\":\"15.99\",\"vat_rate\":null,\"total_minor\":1599}]}");
    prov_page_free(&page);

    /* no invoice: the delivery address, the login; no free delivery line */
    r = resp_of(200, FORM_BOUGHT);
    assert_int_equal(provider_allegro.record_parse(&conf, "checkout-forms",
                                                   &r, &page, err,
                                                   sizeof(err)), 0);
    http_resp_free(&r);
    rec = json_array_get(page.records, 0);
    strip_raw(rec);
    assert_json(rec, "{\"type\":\"order\",\"external_id\":\"form-2\","
        "\"status\":\"pending\",\"currency\":\"PLN\",\"total_minor\":3030,"
        "\"ordered_at\":\"2011-12-02T09:00:00.000Z\","
        "\"external_updated_at\":\"2011-12-02T09:00:00.000Z\","
        "\"customer\":{\"external_id\":\"777\",\"name\":\"bob\","
        "\"email\":\"b@x.pl\",\"tax_id\":null,\"country\":\"PL\","
        "\"address\":{\"street\":\"Ulica 1\",\"city\":\"Krak\\u00f3w\","
        "\"postal_code\":\"30-001\",\"country\":\"PL\"}},"
        "\"lines\":[{\"product\":{\"external_id\":\"9\",\"sku\":null,"
        "\"name\":\"Mug\",\"unit_price\":\"10.10\",\"currency\":\"PLN\","
        "\"vat_rate\":null},\"description\":\"Mug\",\"quantity\":\"3\","
        "\"unit_price\":\"10.10\",\"vat_rate\":null,\"total_minor\":3030}]}");
    prov_page_free(&page);
}


/* the status of FORM_BOUGHT with status and extra members changed */
static const char *
status_of(const char *status, const char *extra)
{
    static char  buf[64];
    char         err[256], *body;
    json_t      *f, *x;
    http_resp_t  r;
    prov_page_t  page;

    f = load(FORM_BOUGHT);
    json_object_set_new(f, "status", json_string(status));
    if (extra != NULL) {
        x = load(extra);
        json_object_update(f, x);
        json_decref(x);
    }
    body = json_dumps(f, JSON_COMPACT);
    json_decref(f);

    r = resp_of(200, body);
    free(body);
    assert_int_equal(provider_allegro.record_parse(&conf, "checkout-forms",
                                                   &r, &page, err,
                                                   sizeof(err)), 0);
    http_resp_free(&r);
    snprintf(buf, sizeof(buf), "%s", json_string_value(json_object_get(
                 json_array_get(page.records, 0), "status")));
    prov_page_free(&page);

    return buf;
}


static void
test_statuses(void **state)
{
    char         err[256];
    json_t      *rec;
    http_resp_t  r;
    prov_page_t  page;

    (void) state;

    assert_string_equal(status_of("BOUGHT", NULL), "pending");
    assert_string_equal(status_of("FILLED_IN", NULL), "pending");
    assert_string_equal(status_of("READY_FOR_PROCESSING", NULL), "pending");
    assert_string_equal(status_of("READY_FOR_PROCESSING",
                                  "{\"payment\":{\"id\":\"p\",\"type\":"
                                  "\"ONLINE\",\"finishedAt\":"
                                  "\"2018-10-12T10:12:32.321Z\"}}"), "paid");
    assert_string_equal(status_of("READY_FOR_PROCESSING",
                                  "{\"payment\":{\"id\":\"p\",\"type\":"
                                  "\"ONLINE\",\"finishedAt\":"
                                  "\"2018-10-12T10:12:32.321Z\"},"
                                  "\"fulfillment\":{\"status\":"
                                  "\"RETURNED\"}}"), "refunded");
    assert_string_equal(status_of("CANCELLED", NULL), "cancelled");
    assert_string_equal(status_of("SOMETHING_NEW", NULL), "pending");

    /* the buyer's name when neither company nor invoice */
    {
        r = resp_of(200, "{\"id\":\"f\",\"buyer\":{\"id\":\"1\",\"email\":"
                    "\"e\",\"login\":\"l\",\"firstName\":\"Anna\","
                    "\"lastName\":\"Nowak\",\"address\":{\"city\":\"Gda"
                    "\\u0144sk\",\"postCode\":\"80-001\",\"countryCode\":"
                    "\"PL\"}},\"status\":\"BOUGHT\",\"lineItems\":[],"
                    "\"summary\":{\"totalToPay\":{\"amount\":\"1\","
                    "\"currency\":\"JPY\"}}}");
        assert_int_equal(provider_allegro.record_parse(&conf,
                             "checkout-forms", &r, &page, err, sizeof(err)),
                         0);
        http_resp_free(&r);
        rec = json_array_get(page.records, 0);
        assert_int_equal(json_integer_value(json_object_get(rec,
                             "total_minor")), 1);
        assert_true(json_is_null(json_object_get(rec, "ordered_at")));
        json_object_del(json_object_get(rec, "customer"), "raw");
        assert_json(json_object_get(rec, "customer"),
                    "{\"external_id\":\"1\",\"name\":\"Anna Nowak\","
                    "\"email\":\"e\",\"tax_id\":null,\"country\":\"PL\","
                    "\"address\":{\"city\":\"Gda\\u0144sk\","
                    "\"postal_code\":\"80-001\",\"country\":\"PL\"}}");
        prov_page_free(&page);
    }
}


static void
test_events(void **state)
{
    char         err[256];
    http_req_t   req;
    prov_ask_t   ask;
    http_resp_t  r;
    prov_page_t  page;

    (void) state;

    /* never read: start at the newest event, replay nothing */
    ask.stream = "order-events";
    ask.cursor = NULL;
    ask.since = NULL;
    assert_int_equal(provider_allegro.page_request(&conf, &auth, &ask, &req,
                                                   err, sizeof(err)), 0);
    assert_string_equal(req.url, API "/order/event-stats");
    assert_api_headers(&req);
    http_req_free(&req);

    r = resp_of(200, "{\"latestEvent\":{\"id\":\"1532603898317497\","
                "\"occurredAt\":\"2018-10-12T10:12:32.321Z\"}}");
    assert_int_equal(provider_allegro.page_parse(&conf, &ask, &r, &page,
                                                 err, sizeof(err)), 0);
    http_resp_free(&r);
    assert_int_equal(json_array_size(page.records), 0);
    assert_null(page.next_cursor);
    assert_string_equal(page.final_cursor, "1532603898317497");
    prov_page_free(&page);

    r = resp_of(200, "{}");
    assert_int_equal(provider_allegro.page_parse(&conf, &ask, &r, &page,
                                                 err, sizeof(err)), 0);
    assert_null(page.final_cursor);
    http_resp_free(&r);
    prov_page_free(&page);

    /* a full page (page_size 2): two events of one form */
    ask.cursor = "1532603898317497";
    assert_int_equal(provider_allegro.page_request(&conf, &auth, &ask, &req,
                                                   err, sizeof(err)), 0);
    assert_string_equal(req.url, API "/order/events?from=1532603898317497"
                        "&limit=2");
    http_req_free(&req);

    r = resp_of(200, "{\"events\":["
                "{\"id\":\"1532603898317498\",\"occurredAt\":"
                "\"2018-10-12T10:12:32.321Z\",\"type\":\"BOUGHT\",\"order\":"
                "{\"seller\":{\"id\":\"1\"},\"buyer\":{\"id\":\"2\"},"
                "\"lineItems\":[],\"checkoutForm\":{\"id\":\"cf-1\","
                "\"revision\":\"a\"}}},"
                "{\"id\":\"1532603898317499\",\"occurredAt\":"
                "\"2018-10-12T10:13:32.321Z\",\"type\":\"FILLED_IN\","
                "\"order\":{\"seller\":{\"id\":\"1\"},\"buyer\":{\"id\":"
                "\"2\"},\"lineItems\":[],\"checkoutForm\":{\"id\":\"cf-1\","
                "\"revision\":\"b\"}}}]}");
    assert_int_equal(provider_allegro.page_parse(&conf, &ask, &r, &page,
                                                 err, sizeof(err)), 0);
    http_resp_free(&r);
    assert_int_equal(json_array_size(page.records), 0);
    assert_json(page.refetch, "[{\"stream\":\"checkout-forms\","
                "\"id\":\"cf-1\",\"revision\":\"b\"}]");
    assert_string_equal(page.next_cursor, "1532603898317499");
    assert_null(page.final_cursor);
    prov_page_free(&page);

    /* a short page ends the run where it stopped */
    ask.cursor = "1532603898317499";
    r = resp_of(200, "{\"events\":[{\"id\":\"1532603898317500\","
                "\"occurredAt\":\"2018-10-12T10:14:32.321Z\",\"type\":"
                "\"READY_FOR_PROCESSING\",\"order\":{\"seller\":{\"id\":"
                "\"1\"},\"buyer\":{\"id\":\"2\"},\"lineItems\":[],"
                "\"checkoutForm\":{\"id\":\"cf-2\"}}}]}");
    assert_int_equal(provider_allegro.page_parse(&conf, &ask, &r, &page,
                                                 err, sizeof(err)), 0);
    http_resp_free(&r);
    assert_json(page.refetch, "[{\"stream\":\"checkout-forms\","
                "\"id\":\"cf-2\"}]");
    assert_null(page.next_cursor);
    assert_string_equal(page.final_cursor, "1532603898317500");
    prov_page_free(&page);

    /* nothing new: stay */
    r = resp_of(200, "{\"events\":[]}");
    assert_int_equal(provider_allegro.page_parse(&conf, &ask, &r, &page,
                                                 err, sizeof(err)), 0);
    http_resp_free(&r);
    assert_null(page.next_cursor);
    assert_string_equal(page.final_cursor, "1532603898317499");
    prov_page_free(&page);

    r = resp_of(200, "{\"events\":[{\"type\":\"BOUGHT\"}]}");
    assert_int_equal(provider_allegro.page_parse(&conf, &ask, &r, &page,
                                                 err, sizeof(err)), -1);
    http_resp_free(&r);
}


static void
test_record_request(void **state)
{
    char        err[128];
    http_req_t  req;

    (void) state;

    assert_int_equal(provider_allegro.record_request(&conf, &auth,
                         "checkout-forms", "29738e61/x y", &req, err,
                         sizeof(err)), 0);
    assert_string_equal(req.url, API "/order/checkout-forms/29738e61%2Fx%20y");
    assert_api_headers(&req);
    http_req_free(&req);

    assert_int_equal(provider_allegro.record_request(&conf, &auth,
                         "order-events", "1", &req, err, sizeof(err)), -1);
    http_req_free(&req);
}


static void
test_errors(void **state)
{
    char          err[256];
    http_resp_t   r;
    prov_error_t  e;
    prov_page_t   page;
    prov_ask_t    ask;

    (void) state;

    r = resp_of(406, "{\"errors\":[{\"code\":\"NotAcceptableException\","
                "\"details\":\"\",\"message\":\"Not acceptable representation"
                " requested. Please check 'Accept' request header\","
                "\"path\":\"\",\"userMessage\":\"The request contains "
                "incorrect data.\"}]}");
    provider_allegro.error_parse(&r, &e);
    assert_string_equal(e.code, "NotAcceptableException");
    assert_string_equal(e.message, "Not acceptable representation requested."
                        " Please check 'Accept' request header");
    http_resp_free(&r);

    r = resp_of(401, "{\"error\":\"invalid_token\",\"error_description\":"
                "\"Access token expired\"}");
    provider_allegro.error_parse(&r, &e);
    assert_string_equal(e.code, "invalid_token");
    assert_string_equal(e.message, "Access token expired");
    http_resp_free(&r);

    r = resp_of(502, "<html>bad gateway</html>");
    provider_allegro.error_parse(&r, &e);
    assert_string_equal(e.code, "http_502");
    assert_string_equal(e.message, "HTTP 502");

    /* a page parse refuses a non-2xx answer */
    ask.stream = "checkout-forms";
    ask.cursor = NULL;
    ask.since = NULL;
    assert_int_equal(provider_allegro.page_parse(&conf, &ask, &r, &page,
                                                 err, sizeof(err)), -1);
    http_resp_free(&r);

    /* a form without its total fails the page */
    r = resp_of(200, "{\"checkoutForms\":[{\"id\":\"x\",\"lineItems\":[]}],"
                "\"count\":1,\"totalCount\":1}");
    assert_int_equal(provider_allegro.page_parse(&conf, &ask, &r, &page,
                                                 err, sizeof(err)), -1);
    assert_non_null(strstr(err, "totalToPay"));
    assert_null(page.records);
    http_resp_free(&r);

    r = resp_of(200, "[]");
    assert_int_equal(provider_allegro.page_parse(&conf, &ask, &r, &page,
                                                 err, sizeof(err)), -1);
    http_resp_free(&r);

    ask.stream = "nope";
    r = resp_of(200, "{}");
    assert_int_equal(provider_allegro.page_parse(&conf, &ask, &r, &page,
                                                 err, sizeof(err)), -1);
    http_resp_free(&r);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_authorize_url),
        cmocka_unit_test(test_token_request),
        cmocka_unit_test(test_token_parse),
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_forms_pages),
        cmocka_unit_test(test_order_mapping),
        cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_record_request),
        cmocka_unit_test(test_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
