
/*
 * Fuzzes Stripe's parsers: the input is an answer body given to the list
 * and single-object parse of every stream, to token_parse, identity_parse
 * and error_parse, and an event body given to webhook_targets (with its
 * type from the caller and from the body); it is also read as the since
 * time and the cursor of page_request.  Anything provider_ops.h promises
 * is checked; a broken promise aborts.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers/provider_ops.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check_page(int rc, const prov_page_t *page);
static void fuzz_targets(const char *type, const char *body, size_t len);


static const prov_conf_t  fuzz_conf = {
    "https://api.test", "https://connect.test", "ca_x", "sk_test_x", 2
};

static const prov_auth_t  fuzz_auth = { "sk_test_x", "acct_1" };

static const char *const  fuzz_types[] = {
    NULL, "invoice.paid", "charge.refunded", "customer.created", "x"
};


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int               rc;
    char              err[256], *text;
    size_t            i;
    prov_ask_t        ask;
    http_req_t        req;
    http_resp_t       r;
    prov_page_t       page;
    prov_error_t      perr;
    prov_tokens_t     tokens;
    prov_identity_t   id;
    const char *const *s;

    text = malloc(size + 1);
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';

    memset(&r, 0, sizeof(r));
    r.status = 200;
    r.body = text;
    r.len = size;
    r.retry_after_ms = -1;

    for (s = provider_stripe.streams; *s != NULL; s++) {
        ask.stream = *s;
        ask.cursor = NULL;
        ask.since = NULL;
        rc = provider_stripe.page_parse(&fuzz_conf, &ask, &r, &page, err,
                                        sizeof(err));
        fuzz_check_page(rc, &page);
        prov_page_free(&page);

        rc = provider_stripe.record_parse(&fuzz_conf, *s, &r, &page, err,
                                          sizeof(err));
        fuzz_check_page(rc, &page);
        if (rc == 0 && (json_array_size(page.records) > 1
                        || page.next_cursor != NULL))
        {
            abort();
        }
        prov_page_free(&page);

        /* the input as since and as cursor */
        ask.since = text;
        if (provider_stripe.page_request(&fuzz_conf, &fuzz_auth, &ask, &req,
                                         err, sizeof(err)) == 0
            && strstr(req.url, "created%5Bgte%5D=") == NULL)
        {
            abort();
        }
        http_req_free(&req);

        ask.since = NULL;
        ask.cursor = text;
        if (provider_stripe.page_request(&fuzz_conf, &fuzz_auth, &ask, &req,
                                         err, sizeof(err)) != 0
            || strchr(req.url + 8, '/') == NULL
            || strspn(req.url, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                      "qrstuvwxyz0123456789-._~:/?&=%") != strlen(req.url))
        {
            abort();
        }
        http_req_free(&req);
    }

    rc = provider_stripe.token_parse(&r, &tokens, &perr, err, sizeof(err));
    if (rc == 0) {
        if (tokens.access_token == NULL || tokens.expires_in != -1) {
            abort();
        }
        prov_tokens_free(&tokens);
    } else if (tokens.access_token != NULL) {
        abort();
    }

    rc = provider_stripe.identity_parse(&r, &id, err, sizeof(err));
    if (rc == 0 && id.account_id[0] == '\0') {
        abort();
    }

    r.status = 401;
    provider_stripe.error_parse(&r, &perr);
    if (perr.code[0] == '\0'
        || strnlen(perr.code, sizeof(perr.code)) == sizeof(perr.code))
    {
        abort();
    }

    for (i = 0; i < sizeof(fuzz_types) / sizeof(fuzz_types[0]); i++) {
        fuzz_targets(fuzz_types[i], text, size);
    }

    free(text);

    return 0;
}


static void
fuzz_targets(const char *type, const char *body, size_t len)
{
    int          rc;
    char         err[256];
    json_t      *t, *e;
    const char  *stream;

    t = (json_t *) 1;
    rc = provider_stripe.webhook_targets(type, body, len, &t, err,
                                         sizeof(err));

    if (rc != 0) {
        if (t != NULL) {
            abort();
        }
        return;
    }

    if (t == NULL) {
        return;
    }

    e = json_array_get(t, 0);
    stream = json_string_value(json_object_get(e, "stream"));

    if (json_array_size(t) != 1 || stream == NULL
        || !json_is_string(json_object_get(e, "id"))
        || (strcmp(stream, "invoices") != 0 && strcmp(stream, "charges") != 0
            && strcmp(stream, "customers") != 0))
    {
        abort();
    }

    json_decref(t);
}


static void
fuzz_check_page(int rc, const prov_page_t *page)
{
    size_t   i;
    json_t  *rec;
    char    *s;

    if (rc != 0) {
        if (page->records != NULL || page->next_cursor != NULL) {
            abort();
        }
        return;
    }

    if (!json_is_array(page->records) || page->refetch != NULL
        || page->final_cursor != NULL)
    {
        abort();
    }

    json_array_foreach(page->records, i, rec) {
        if (!json_is_string(json_object_get(rec, "type"))
            || !json_is_string(json_object_get(rec, "external_id")))
        {
            abort();
        }
    }

    s = json_dumps(page->records, JSON_COMPACT);
    if (s == NULL) {
        abort();
    }
    free(s);
}
