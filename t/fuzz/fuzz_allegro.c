
/*
 * Fuzzes Allegro's parsers: the input is an answer body given to every
 * parse function of every stream (first page and later pages of
 * checkout-forms, event-stats and events of order-events, one checkout
 * form), to token_parse, identity_parse and error_parse; it is also read
 * as a checkout-forms cursor by page_request, as decimal text by
 * prov_decimal_to_minor and as a Retry-After value, the other parsers this
 * module's files hold.  Anything provider_ops.h promises is checked; a
 * broken promise aborts.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers/provider_ops.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_page(const prov_ask_t *ask, const http_resp_t *r,
    int record);
static void fuzz_check_page(int rc, const prov_page_t *page);


static const prov_conf_t  fuzz_conf = {
    "https://api.test", "https://auth.test", "cid", "secret", 2
};

static const prov_auth_t  fuzz_auth = { "token", NULL };


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int               rc;
    char              err[256];
    char             *text;
    int64_t           minor;
    prov_ask_t        ask;
    http_req_t        req;
    http_resp_t       r;
    prov_error_t      perr;
    prov_tokens_t     tokens;
    prov_identity_t   id;

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

    ask.since = NULL;

    ask.stream = "checkout-forms";
    ask.cursor = NULL;
    fuzz_page(&ask, &r, 0);
    ask.cursor = "{\"skip\":1,\"lte\":\"2011-12-03T10:15:30.133Z\","
                 "\"total\":7}";
    fuzz_page(&ask, &r, 0);
    fuzz_page(&ask, &r, 1);

    ask.stream = "order-events";
    ask.cursor = NULL;
    fuzz_page(&ask, &r, 0);
    ask.cursor = "1532603898317497";
    fuzz_page(&ask, &r, 0);

    rc = provider_allegro.token_parse(&r, &tokens, &perr, err, sizeof(err));
    if (rc == 0) {
        if (tokens.access_token == NULL || tokens.account_id != NULL) {
            abort();
        }
        prov_tokens_free(&tokens);
    } else if (tokens.access_token != NULL) {
        abort();
    }

    rc = provider_allegro.identity_parse(&r, &id, err, sizeof(err));
    if (rc == 0 && (id.account_id[0] == '\0'
                    || strnlen(id.display_name, sizeof(id.display_name))
                       == sizeof(id.display_name)))
    {
        abort();
    }

    r.status = 400;
    rc = provider_allegro.token_parse(&r, &tokens, &perr, err, sizeof(err));
    if (rc != -1 || perr.code[0] == '\0'
        || strnlen(perr.message, sizeof(perr.message))
           == sizeof(perr.message))
    {
        abort();
    }
    provider_allegro.error_parse(&r, &perr);

    /* the input as a cursor */
    ask.stream = "checkout-forms";
    ask.cursor = text;
    if (provider_allegro.page_request(&fuzz_conf, &fuzz_auth, &ask, &req,
                                      err, sizeof(err)) == 0)
    {
        if (req.url == NULL || strncmp(req.url, "https://api.test/order/"
                                       "checkout-forms?limit=2&offset=", 51)
                               != 0)
        {
            abort();
        }
    }
    http_req_free(&req);

    if (prov_decimal_to_minor(text, "PLN", &minor) == 0
        && strspn(text, "+-0123456789.") != strlen(text))
    {
        abort();
    }
    (void) prov_decimal_to_minor(text, "JPY", &minor);
    (void) prov_decimal_to_minor(text, "KWD", &minor);

    if (http_parse_retry_after(text, 0) < -1) {
        abort();
    }

    free(text);

    return 0;
}


static void
fuzz_page(const prov_ask_t *ask, const http_resp_t *r, int record)
{
    int          rc;
    char         err[256];
    prov_page_t  page;

    if (record) {
        rc = provider_allegro.record_parse(&fuzz_conf, ask->stream, r,
                                           &page, err, sizeof(err));
        if (rc == 0 && (json_array_size(page.records) != 1
                        || page.next_cursor != NULL))
        {
            abort();
        }
    } else {
        rc = provider_allegro.page_parse(&fuzz_conf, ask, r, &page, err,
                                         sizeof(err));
    }

    fuzz_check_page(rc, &page);
    prov_page_free(&page);
}


static void
fuzz_check_page(int rc, const prov_page_t *page)
{
    size_t   i;
    json_t  *rec;
    char    *s;

    if (rc != 0) {
        if (page->records != NULL || page->next_cursor != NULL
            || page->refetch != NULL || page->final_cursor != NULL)
        {
            abort();
        }
        return;
    }

    if (!json_is_array(page->records)
        || (page->next_cursor != NULL && page->final_cursor != NULL))
    {
        abort();
    }

    json_array_foreach(page->records, i, rec) {
        if (!json_is_string(json_object_get(rec, "external_id"))
            || !json_is_integer(json_object_get(rec, "total_minor"))
            || !json_is_array(json_object_get(rec, "lines")))
        {
            abort();
        }
    }

    /* every record must serialize */
    s = json_dumps(page->records, JSON_COMPACT);
    if (s == NULL) {
        abort();
    }
    free(s);
}
