
/*
 * stripe: Connect OAuth requests and answers, list pagination (exact URLs
 * with starting_after and created[gte], headers, Stripe-Account only with
 * the platform key), customers, invoices and charges as canonical records
 * field by field (charges of invoices skipped), webhook targets, errors.
 * Fixtures follow Stripe's documented object shapes.
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


#define API       "https://api.stripe.test"
#define CONNECT   "https://connect.stripe.test"
#define PLATFORM  "sk_test_platform0000000000"
#define KEY       "rk_test_account00000000000"

#define CUSTOMER \
    "{\"id\":\"cus_NffrFeUfNV2Hib\",\"object\":\"customer\"," \
    "\"address\":{\"city\":\"Warszawa\",\"country\":\"PL\",\"line1\":" \
    "\"Marsza\\u0142kowska 1\",\"line2\":\"lok. 2\",\"postal_code\":" \
    "\"00-001\",\"state\":null},\"created\":1680893993,\"email\":" \
    "\"jennyrosen@example.com\",\"name\":\"Jenny Rosen\"," \
    "\"tax_ids\":{\"object\":\"list\",\"data\":[{\"id\":\"txi_1\"," \
    "\"type\":\"eu_vat\",\"value\":\"PL5261040828\"}],\"has_more\":false}}"

#define INVOICE \
    "{\"id\":\"in_1MtHbELkdIwHu7ixl4OzzPMv\",\"object\":\"invoice\"," \
    "\"currency\":\"pln\",\"customer\":\"cus_NffrFeUfNV2Hib\"," \
    "\"customer_name\":\"Jenny Rosen\",\"customer_email\":" \
    "\"jennyrosen@example.com\",\"customer_address\":{\"city\":" \
    "\"Warszawa\",\"country\":\"PL\",\"line1\":\"Prosta 5\",\"line2\":null," \
    "\"postal_code\":\"00-002\",\"state\":null},\"customer_tax_ids\":" \
    "[{\"type\":\"eu_vat\",\"value\":\"PL5261040828\"}]," \
    "\"created\":1680644467,\"status\":\"paid\",\"total\":3690," \
    "\"status_transitions\":{\"finalized_at\":1680644500,\"paid_at\":" \
    "1680648000,\"voided_at\":null,\"marked_uncollectible_at\":null}," \
    "\"lines\":{\"object\":\"list\",\"data\":[" \
    "{\"id\":\"il_1\",\"object\":\"line_item\",\"amount\":2460," \
    "\"currency\":\"pln\",\"description\":\"2 x T-shirt\",\"quantity\":2," \
    "\"price\":{\"id\":\"price_1\",\"object\":\"price\",\"product\":" \
    "\"prod_NWjs8kKbJWmuuc\",\"unit_amount\":1230}," \
    "\"tax_rates\":[{\"id\":\"txr_1\",\"percentage\":23.0}]}," \
    "{\"id\":\"il_2\",\"object\":\"line_item\",\"amount\":1230," \
    "\"currency\":\"pln\",\"description\":\"Cap\",\"quantity\":3," \
    "\"price\":{\"id\":\"price_2\",\"object\":\"price\",\"product\":" \
    "null,\"unit_amount\":410},\"tax_rates\":[{\"id\":\"txr_2\"," \
    "\"percentage\":8}]}],\"has_more\":false}}"

#define CHARGE_OWN \
    "{\"id\":\"ch_3MmlLrLkdIwHu7ix0snN0B15\",\"object\":\"charge\"," \
    "\"amount\":1099,\"amount_refunded\":0,\"currency\":\"usd\"," \
    "\"customer\":null,\"description\":\"Order 7\",\"invoice\":null," \
    "\"created\":1679090539,\"refunded\":false,\"status\":\"succeeded\"," \
    "\"billing_details\":{\"address\":{\"city\":null,\"country\":\"US\"," \
    "\"line1\":null,\"line2\":null,\"postal_code\":\"94111\",\"state\":" \
    "null},\"email\":\"a@b.test\",\"name\":\"Ann\",\"phone\":null}}"

#define CHARGE_OF_INVOICE \
    "{\"id\":\"ch_of_invoice\",\"object\":\"charge\",\"amount\":3690," \
    "\"amount_refunded\":0,\"currency\":\"pln\",\"customer\":" \
    "\"cus_NffrFeUfNV2Hib\",\"invoice\":\"in_1MtHbELkdIwHu7ixl4OzzPMv\"," \
    "\"created\":1680648000,\"refunded\":false,\"status\":\"succeeded\"}"


static const prov_conf_t  conf = {
    API, CONNECT, "ca_32D88BD1qLklliziD7gYQvctJIhWBSQ7", PLATFORM, 2
};


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
    strcpy(r.content_type, "application/json");

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


static prov_page_t
parse_ok(const char *stream, const char *cursor, const char *body)
{
    char         err[256];
    http_resp_t  r;
    prov_ask_t   ask;
    prov_page_t  page;

    ask.stream = stream;
    ask.cursor = cursor;
    ask.since = NULL;
    r = resp_of(200, body);
    if (provider_stripe.page_parse(&conf, &ask, &r, &page, err, sizeof(err))
        != 0)
    {
        fail_msg("page_parse: %s", err);
    }
    http_resp_free(&r);

    return page;
}


static void
test_oauth(void **state)
{
    char           *url, err[128];
    http_req_t      req;
    http_resp_t     r;
    prov_error_t    perr;
    prov_tokens_t   t;
    prov_auth_t     a;

    (void) state;

    assert_int_equal(provider_stripe.authorize_url(&conf,
                         "https://app.test/cb", "st&1", NULL, &url, err,
                         sizeof(err)), 0);
    assert_string_equal(url, CONNECT "/oauth/authorize?response_type=code"
                        "&client_id=ca_32D88BD1qLklliziD7gYQvctJIhWBSQ7"
                        "&scope=read_write&state=st%261"
                        "&redirect_uri=https%3A%2F%2Fapp.test%2Fcb");
    free(url);

    assert_int_equal(provider_stripe.token_request(&conf,
                         "authorization_code", "ac_123", NULL,
                         "https://app.test/cb", &req, err, sizeof(err)), 0);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.url, CONNECT "/oauth/token");
    assert_string_equal(req.body, "grant_type=authorization_code"
                        "&code=ac_123");
    assert_int_equal(req.nheaders, 2);
    assert_string_equal(req.headers[0],
                        "Content-Type: application/x-www-form-urlencoded");
    assert_string_equal(req.headers[1], "Authorization: Bearer " PLATFORM);
    http_req_free(&req);

    assert_int_equal(provider_stripe.token_request(&conf, "refresh_token",
                         "rt_1", NULL, NULL, &req, err, sizeof(err)), 0);
    assert_string_equal(req.body, "grant_type=refresh_token"
                        "&refresh_token=rt_1");
    http_req_free(&req);

    r = resp_of(200, "{\"access_token\":\"sk_test_conn\",\"livemode\":"
                "false,\"refresh_token\":\"rt_X\",\"token_type\":\"bearer\","
                "\"stripe_publishable_key\":\"pk_test_x\",\"stripe_user_id\":"
                "\"acct_1032D82eZvKYlo2C\",\"scope\":\"read_write\"}");
    assert_int_equal(provider_stripe.token_parse(&r, &t, &perr, err,
                                                 sizeof(err)), 0);
    assert_string_equal(t.access_token, "sk_test_conn");
    assert_string_equal(t.refresh_token, "rt_X");
    assert_string_equal(t.scope, "read_write");
    assert_string_equal(t.account_id, "acct_1032D82eZvKYlo2C");
    assert_int_equal(t.expires_in, -1);
    prov_tokens_free(&t);
    http_resp_free(&r);

    r = resp_of(400, "{\"error\":\"invalid_grant\",\"error_description\":"
                "\"Authorization code does not exist: ac_123\"}");
    assert_int_equal(provider_stripe.token_parse(&r, &t, &perr, err,
                                                 sizeof(err)), -1);
    assert_string_equal(perr.code, "invalid_grant");
    assert_string_equal(perr.message,
                        "Authorization code does not exist: ac_123");
    http_resp_free(&r);

    /* deauthorize */
    a.access_token = "sk_test_conn";
    a.account_id = "acct_1032D82eZvKYlo2C";
    assert_int_equal(provider_stripe.revoke_request(&conf, &a, "rt_X", &req,
                                                    err, sizeof(err)), 0);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.url, CONNECT "/oauth/deauthorize");
    assert_string_equal(req.body, "client_id="
                        "ca_32D88BD1qLklliziD7gYQvctJIhWBSQ7"
                        "&stripe_user_id=acct_1032D82eZvKYlo2C");
    assert_string_equal(req.headers[1], "Authorization: Bearer " PLATFORM);
    http_req_free(&req);

    a.account_id = NULL;
    assert_int_equal(provider_stripe.revoke_request(&conf, &a, NULL, &req,
                                                    err, sizeof(err)), -1);
    http_req_free(&req);
}


static void
test_identity(void **state)
{
    char             err[128];
    http_req_t       req;
    http_resp_t      r;
    prov_identity_t  id;
    prov_auth_t      a;

    (void) state;

    a.access_token = KEY;
    a.account_id = NULL;
    assert_int_equal(provider_stripe.identity_request(&conf, &a, &req, err,
                                                      sizeof(err)), 0);
    assert_string_equal(req.method, "GET");
    assert_string_equal(req.url, API "/v1/account");
    assert_int_equal(req.nheaders, 1);
    assert_string_equal(req.headers[0], "Authorization: Bearer " KEY);
    http_req_free(&req);

    r = resp_of(200, "{\"id\":\"acct_1\",\"object\":\"account\","
                "\"business_profile\":{\"name\":\"Shop\"},\"settings\":"
                "{\"dashboard\":{\"display_name\":\"Shop PL\"}},"
                "\"email\":\"o@shop.test\"}");
    assert_int_equal(provider_stripe.identity_parse(&r, &id, err,
                                                    sizeof(err)), 0);
    assert_string_equal(id.account_id, "acct_1");
    assert_string_equal(id.display_name, "Shop PL");
    http_resp_free(&r);

    r = resp_of(200, "{\"id\":\"acct_2\",\"business_profile\":{\"name\":"
                "null},\"email\":\"o@shop.test\"}");
    assert_int_equal(provider_stripe.identity_parse(&r, &id, err,
                                                    sizeof(err)), 0);
    assert_string_equal(id.display_name, "o@shop.test");
    http_resp_free(&r);
}


static void
test_page_requests(void **state)
{
    char         err[128];
    http_req_t   req;
    prov_ask_t   ask;
    prov_auth_t  a;

    (void) state;

    a.access_token = KEY;
    a.account_id = "acct_1";

    ask.stream = "invoices";
    ask.cursor = NULL;
    ask.since = NULL;
    assert_int_equal(provider_stripe.page_request(&conf, &a, &ask, &req, err,
                                                  sizeof(err)), 0);
    assert_string_equal(req.url, API "/v1/invoices?limit=2");
    /* the account's own key: no Stripe-Account */
    assert_int_equal(req.nheaders, 1);
    assert_string_equal(req.headers[0], "Authorization: Bearer " KEY);
    http_req_free(&req);

    ask.stream = "charges";
    ask.cursor = "ch_3Mml";
    ask.since = "2023-03-17T22:02:19.000Z";
    assert_int_equal(provider_stripe.page_request(&conf, &a, &ask, &req, err,
                                                  sizeof(err)), 0);
    assert_string_equal(req.url, API "/v1/charges?limit=2"
                        "&starting_after=ch_3Mml&created%5Bgte%5D=1679090539");
    http_req_free(&req);

    /* offsets are honoured */
    ask.stream = "customers";
    ask.cursor = NULL;
    ask.since = "2023-03-18T00:02:19+02:00";
    a.access_token = PLATFORM;
    assert_int_equal(provider_stripe.page_request(&conf, &a, &ask, &req, err,
                                                  sizeof(err)), 0);
    assert_string_equal(req.url, API "/v1/customers?limit=2"
                        "&created%5Bgte%5D=1679090539");
    /* the platform key on behalf of a connected account */
    assert_int_equal(req.nheaders, 2);
    assert_string_equal(req.headers[0], "Authorization: Bearer " PLATFORM);
    assert_string_equal(req.headers[1], "Stripe-Account: acct_1");
    http_req_free(&req);

    ask.since = "yesterday";
    assert_int_equal(provider_stripe.page_request(&conf, &a, &ask, &req, err,
                                                  sizeof(err)), -1);
    http_req_free(&req);

    ask.stream = "refunds";
    ask.since = NULL;
    assert_int_equal(provider_stripe.page_request(&conf, &a, &ask, &req, err,
                                                  sizeof(err)), -1);
    http_req_free(&req);

    assert_int_equal(provider_stripe.record_request(&conf, &a, "invoices",
                         "in_1/x", &req, err, sizeof(err)), 0);
    assert_string_equal(req.url, API "/v1/invoices/in_1%2Fx");
    http_req_free(&req);
    assert_int_equal(provider_stripe.record_request(&conf, &a, "charges",
                         "ch_1", &req, err, sizeof(err)), 0);
    assert_string_equal(req.url, API "/v1/charges/ch_1");
    http_req_free(&req);
}


static void
test_customers(void **state)
{
    json_t       *rec;
    prov_page_t   page;

    (void) state;

    page = parse_ok("customers", NULL, "{\"object\":\"list\",\"url\":"
                    "\"/v1/customers\",\"has_more\":true,\"data\":["
                    CUSTOMER ",{\"id\":\"cus_2\",\"object\":\"customer\","
                    "\"address\":null,\"email\":null,\"name\":null}]}");
    assert_int_equal(json_array_size(page.records), 2);
    assert_string_equal(page.next_cursor, "cus_2");
    assert_null(page.final_cursor);
    assert_int_equal(page.total, -1);

    rec = json_array_get(page.records, 0);
    assert_string_equal(json_object_iter_key(json_object_iter(rec)), "type");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(rec, "raw"), "object")),
                        "customer");
    strip_raw(rec);
    assert_json(rec, "{\"type\":\"customer\","
                "\"external_id\":\"cus_NffrFeUfNV2Hib\",\"name\":"
                "\"Jenny Rosen\",\"email\":\"jennyrosen@example.com\","
                "\"tax_id\":\"PL5261040828\",\"country\":\"PL\","
                "\"address\":{\"street\":\"Marsza\\u0142kowska 1, lok. 2\","
                "\"city\":\"Warszawa\",\"postal_code\":\"00-001\","
                "\"country\":\"PL\"}}");

    rec = json_array_get(page.records, 1);
    strip_raw(rec);
    assert_json(rec, "{\"type\":\"customer\",\"external_id\":\"cus_2\","
                "\"name\":null,\"email\":null,\"tax_id\":null,"
                "\"country\":null,\"address\":{}}");
    prov_page_free(&page);

    /* the last page */
    page = parse_ok("customers", "cus_2", "{\"object\":\"list\","
                    "\"has_more\":false,\"data\":[]}");
    assert_null(page.next_cursor);
    assert_int_equal(json_array_size(page.records), 0);
    prov_page_free(&page);
}


static void
test_invoices(void **state)
{
    json_t       *rec;
    prov_page_t   page;

    (void) state;

    page = parse_ok("invoices", NULL, "{\"object\":\"list\",\"has_more\":"
                    "false,\"data\":[" INVOICE "]}");
    assert_null(page.next_cursor);
    rec = json_array_get(page.records, 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(rec, "raw"), "id")),
                        "in_1MtHbELkdIwHu7ixl4OzzPMv");
    strip_raw(rec);
    assert_json(rec, "{\"type\":\"order\","
        "\"external_id\":\"in_1MtHbELkdIwHu7ixl4OzzPMv\","
        "\"status\":\"paid\",\"currency\":\"PLN\",\"total_minor\":3690,"
        "\"ordered_at\":\"2023-04-04T21:41:07.000Z\","
        "\"external_updated_at\":\"2023-04-04T22:40:00.000Z\","
        "\"customer\":{\"external_id\":\"cus_NffrFeUfNV2Hib\","
        "\"name\":\"Jenny Rosen\",\"email\":\"jennyrosen@example.com\","
        "\"tax_id\":\"PL5261040828\",\"country\":\"PL\","
        "\"address\":{\"street\":\"Prosta 5\",\"city\":\"Warszawa\","
        "\"postal_code\":\"00-002\",\"country\":\"PL\"}},"
        "\"lines\":["
        "{\"product\":{\"external_id\":\"prod_NWjs8kKbJWmuuc\",\"sku\":null,"
        "\"name\":\"2 x T-shirt\",\"unit_price\":\"12.30\",\"currency\":"
        "\"PLN\",\"vat_rate\":\"23\"},\"description\":\"2 x T-shirt\","
        "\"quantity\":\"2\",\"unit_price\":\"12.30\",\"vat_rate\":\"23\","
        "\"total_minor\":2460},"
        "{\"product\":{\"external_id\":\"price_2\",\"sku\":null,"
        "\"name\":\"Cap\",\"unit_price\":\"4.10\",\"currency\":\"PLN\","
        "\"vat_rate\":\"8\"},\"description\":\"Cap\",\"quantity\":\"3\","
        "\"unit_price\":\"4.10\",\"vat_rate\":\"8\",\"total_minor\":1230}]}");
    prov_page_free(&page);
}


/* the status of INVOICE or CHARGE_OWN with members replaced */
static const char *
status_of(const char *stream, const char *base, const char *extra)
{
    static char   buf[64];
    char         *body, *list;
    json_t       *o, *x;
    prov_page_t   page;

    o = load(base);
    x = load(extra);
    json_object_update(o, x);
    json_decref(x);
    body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    assert_true(asprintf(&list, "{\"object\":\"list\",\"has_more\":false,"
                         "\"data\":[%s]}", body) > 0);
    free(body);

    page = parse_ok(stream, NULL, list);
    free(list);
    assert_int_equal(json_array_size(page.records), 1);
    snprintf(buf, sizeof(buf), "%s", json_string_value(json_object_get(
                 json_array_get(page.records, 0), "status")));
    prov_page_free(&page);

    return buf;
}


static void
test_statuses(void **state)
{
    (void) state;

    assert_string_equal(status_of("invoices", INVOICE,
                                  "{\"status\":\"draft\"}"), "pending");
    assert_string_equal(status_of("invoices", INVOICE,
                                  "{\"status\":\"open\"}"), "pending");
    assert_string_equal(status_of("invoices", INVOICE,
                                  "{\"status\":\"void\"}"), "cancelled");
    assert_string_equal(status_of("invoices", INVOICE,
                                  "{\"status\":\"uncollectible\"}"),
                        "cancelled");

    assert_string_equal(status_of("charges", CHARGE_OWN, "{}"), "paid");
    assert_string_equal(status_of("charges", CHARGE_OWN,
                                  "{\"amount_refunded\":100}"),
                        "partially_refunded");
    assert_string_equal(status_of("charges", CHARGE_OWN,
                                  "{\"amount_refunded\":1099,"
                                  "\"refunded\":true}"), "refunded");
    assert_string_equal(status_of("charges", CHARGE_OWN,
                                  "{\"status\":\"failed\"}"), "cancelled");
    assert_string_equal(status_of("charges", CHARGE_OWN,
                                  "{\"status\":\"pending\"}"), "pending");
}


static void
test_charges(void **state)
{
    json_t       *rec;
    prov_page_t   page;

    (void) state;

    /* the charge of an invoice is skipped, the cursor moves past it */
    page = parse_ok("charges", NULL, "{\"object\":\"list\",\"has_more\":"
                    "true,\"data\":[" CHARGE_OWN "," CHARGE_OF_INVOICE "]}");
    assert_int_equal(json_array_size(page.records), 1);
    assert_string_equal(page.next_cursor, "ch_of_invoice");
    assert_null(page.refetch);

    rec = json_array_get(page.records, 0);
    strip_raw(rec);
    assert_json(rec, "{\"type\":\"order\","
        "\"external_id\":\"ch_3MmlLrLkdIwHu7ix0snN0B15\","
        "\"status\":\"paid\",\"currency\":\"USD\",\"total_minor\":1099,"
        "\"ordered_at\":\"2023-03-17T22:02:19.000Z\","
        "\"external_updated_at\":\"2023-03-17T22:02:19.000Z\","
        "\"customer\":{\"external_id\":null,\"name\":\"Ann\","
        "\"email\":\"a@b.test\",\"tax_id\":null,\"country\":\"US\","
        "\"address\":{\"postal_code\":\"94111\",\"country\":\"US\"}},"
        "\"lines\":[{\"product\":null,\"description\":\"Charge Order 7\","
        "\"quantity\":\"1\",\"unit_price\":\"10.99\",\"vat_rate\":null,"
        "\"total_minor\":1099}]}");
    prov_page_free(&page);

    /* zero-decimal: minor units are yen */
    page = parse_ok("charges", NULL, "{\"object\":\"list\",\"has_more\":"
                    "false,\"data\":[{\"id\":\"ch_jpy\",\"amount\":500,"
                    "\"currency\":\"jpy\",\"created\":0,\"status\":"
                    "\"succeeded\",\"invoice\":null}]}");
    rec = json_array_get(page.records, 0);
    assert_true(json_is_null(json_object_get(rec, "customer")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(
                            json_object_get(rec, "lines"), 0),
                            "unit_price")), "500");
    assert_string_equal(json_string_value(json_object_get(json_array_get(
                            json_object_get(rec, "lines"), 0),
                            "description")), "Charge");
    assert_string_equal(json_string_value(json_object_get(rec,
                            "ordered_at")), "1970-01-01T00:00:00.000Z");
    prov_page_free(&page);
}


static void
test_record_parse(void **state)
{
    char         err[128];
    http_resp_t  r;
    prov_page_t  page;

    (void) state;

    r = resp_of(200, INVOICE);
    assert_int_equal(provider_stripe.record_parse(&conf, "invoices", &r,
                                                  &page, err, sizeof(err)),
                     0);
    assert_int_equal(json_array_size(page.records), 1);
    assert_null(page.next_cursor);
    http_resp_free(&r);
    prov_page_free(&page);

    r = resp_of(200, CHARGE_OF_INVOICE);
    assert_int_equal(provider_stripe.record_parse(&conf, "charges", &r,
                                                  &page, err, sizeof(err)),
                     0);
    assert_int_equal(json_array_size(page.records), 0);
    http_resp_free(&r);
    prov_page_free(&page);

    r = resp_of(200, "{\"id\":\"in_x\",\"currency\":\"pln\"}");
    assert_int_equal(provider_stripe.record_parse(&conf, "invoices", &r,
                                                  &page, err, sizeof(err)),
                     -1);
    assert_null(page.records);
    http_resp_free(&r);
}


static void
test_webhooks(void **state)
{
    char     err[128];
    json_t  *t;

    (void) state;

#define EVENT(type, obj) \
    "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"" type "\"," \
    "\"data\":{\"object\":" obj "}}"

    assert_int_equal(provider_stripe.webhook_targets("invoice.paid",
                         EVENT("invoice.paid", "{\"id\":\"in_1\"}"),
                         strlen(EVENT("invoice.paid", "{\"id\":\"in_1\"}")),
                         &t, err, sizeof(err)), 0);
    assert_json(t, "[{\"stream\":\"invoices\",\"id\":\"in_1\"}]");
    json_decref(t);

    assert_int_equal(provider_stripe.webhook_targets("charge.refunded",
                         EVENT("charge.refunded", "{\"id\":\"ch_1\","
                               "\"invoice\":null}"),
                         strlen(EVENT("charge.refunded", "{\"id\":\"ch_1\","
                                      "\"invoice\":null}")),
                         &t, err, sizeof(err)), 0);
    assert_json(t, "[{\"stream\":\"charges\",\"id\":\"ch_1\"}]");
    json_decref(t);

    assert_int_equal(provider_stripe.webhook_targets("charge.succeeded",
                         EVENT("charge.succeeded", "{\"id\":\"ch_1\","
                               "\"invoice\":\"in_9\"}"),
                         strlen(EVENT("charge.succeeded", "{\"id\":\"ch_1\","
                                      "\"invoice\":\"in_9\"}")),
                         &t, err, sizeof(err)), 0);
    assert_json(t, "[{\"stream\":\"invoices\",\"id\":\"in_9\"}]");
    json_decref(t);

    /* the type from the body when the caller has none */
    assert_int_equal(provider_stripe.webhook_targets(NULL,
                         EVENT("customer.updated", "{\"id\":\"cus_1\"}"),
                         strlen(EVENT("customer.updated",
                                      "{\"id\":\"cus_1\"}")),
                         &t, err, sizeof(err)), 0);
    assert_json(t, "[{\"stream\":\"customers\",\"id\":\"cus_1\"}]");
    json_decref(t);

    t = (json_t *) 1;
    assert_int_equal(provider_stripe.webhook_targets("payout.paid",
                         EVENT("payout.paid", "{\"id\":\"po_1\"}"),
                         strlen(EVENT("payout.paid", "{\"id\":\"po_1\"}")),
                         &t, err, sizeof(err)), 0);
    assert_null(t);

    assert_int_equal(provider_stripe.webhook_targets("invoice.paid",
                         EVENT("invoice.paid", "{}"),
                         strlen(EVENT("invoice.paid", "{}")),
                         &t, err, sizeof(err)), -1);
    assert_null(t);

    assert_int_equal(provider_stripe.webhook_targets("invoice.paid", "{",
                                                     1, &t, err,
                                                     sizeof(err)), -1);
    assert_null(t);

#undef EVENT
}


static void
test_errors(void **state)
{
    char          err[128];
    http_resp_t   r;
    prov_error_t  e;
    prov_ask_t    ask;
    prov_page_t   page;

    (void) state;

    r = resp_of(402, "{\"error\":{\"code\":\"card_declined\",\"message\":"
                "\"Your card was declined.\",\"param\":\"\",\"type\":"
                "\"card_error\"}}");
    provider_stripe.error_parse(&r, &e);
    assert_string_equal(e.code, "card_declined");
    assert_string_equal(e.message, "Your card was declined.");
    http_resp_free(&r);

    r = resp_of(429, "{\"error\":{\"message\":\"Too many requests\","
                "\"type\":\"rate_limit_error\"}}");
    provider_stripe.error_parse(&r, &e);
    assert_string_equal(e.code, "rate_limit_error");
    http_resp_free(&r);

    r = resp_of(500, "oops");
    provider_stripe.error_parse(&r, &e);
    assert_string_equal(e.code, "http_500");

    ask.stream = "invoices";
    ask.cursor = NULL;
    ask.since = NULL;
    assert_int_equal(provider_stripe.page_parse(&conf, &ask, &r, &page, err,
                                                sizeof(err)), -1);
    http_resp_free(&r);

    r = resp_of(200, "{\"object\":\"list\",\"data\":{}}");
    assert_int_equal(provider_stripe.page_parse(&conf, &ask, &r, &page, err,
                                                sizeof(err)), -1);
    http_resp_free(&r);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_oauth),
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_page_requests),
        cmocka_unit_test(test_customers),
        cmocka_unit_test(test_invoices),
        cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_charges),
        cmocka_unit_test(test_record_parse),
        cmocka_unit_test(test_webhooks),
        cmocka_unit_test(test_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
