
/*
 * hubgated: Stripe (REST API, form-encoded; Connect OAuth or an API key).
 * Contract in provider_ops.h.
 *
 * Streams, each a list paginated with limit and starting_after (newest
 * first, so objects created during a run never shift the pages), from
 * created[gte] on an incremental run:
 *   customers  canonical customers
 *   invoices   canonical orders, lines from invoice.lines.data as given
 *   charges    canonical orders, but only for charges without an invoice:
 *              a charge of an invoice is that invoice's payment, already
 *              in the invoice's status, so it is skipped (it yields no
 *              record, no refetch; the cursor still moves past it)
 *
 * Amounts are Stripe's integer minor units, kept as they are; decimal
 * text (unit prices) comes from them with the ISO 4217 exponent.
 *
 * Calls on behalf of a connected account: with Connect OAuth the access
 * token is the connected account's own key, so no Stripe-Account header;
 * only when the token is the platform key (pc->client_secret) and an
 * account is named is Stripe-Account sent.
 *
 * Ownership: every output is the caller's (http_req_free, prov_page_free,
 * prov_tokens_free); records keep a reference to the object as "raw".
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "civil.h"
#include "providers/provider_ops.h"


#define STRIPE_LIST_MAX    100
#define STRIPE_LOAD_FLAGS  (JSON_REJECT_DUPLICATES)


static const char *stripe_id(json_t *j);
static void stripe_copy(char *dst, size_t len, const char *src);
static int stripe_stream(const char *stream);
static int stripe_api_req(const prov_conf_t *pc, const prov_auth_t *auth,
    http_req_t *req, char *err, size_t errlen);
static int stripe_iso(json_t *unix_ts, char *out, size_t len);
static int stripe_unix(const char *iso, int64_t *out);
static void stripe_minor_text(int64_t minor, int exp, char *out,
    size_t len);
static int stripe_rate(json_t *pct, char *out, size_t len);
static json_t *stripe_address(json_t *a);
static json_t *stripe_customer(json_t *c, char *err, size_t errlen);
static json_t *stripe_invoice(json_t *inv, char *err, size_t errlen);
static int stripe_invoice_line(json_t *lines, json_t *li,
    const char *currency, char *err, size_t errlen);
static json_t *stripe_charge(json_t *ch, char *err, size_t errlen);
static int stripe_map(const char *stream, json_t *obj, json_t *records,
    char *err, size_t errlen);

static int stripe_authorize_url(const prov_conf_t *pc,
    const char *redirect_uri, const char *state, const char *challenge,
    char **url, char *err, size_t errlen);
static int stripe_token_request(const prov_conf_t *pc, const char *grant,
    const char *value, const char *verifier, const char *redirect_uri,
    http_req_t *req, char *err, size_t errlen);
static int stripe_token_parse(const http_resp_t *resp,
    prov_tokens_t *tokens, prov_error_t *perr, char *err, size_t errlen);
static int stripe_identity_request(const prov_conf_t *pc,
    const prov_auth_t *auth, http_req_t *req, char *err, size_t errlen);
static int stripe_identity_parse(const http_resp_t *resp,
    prov_identity_t *id, char *err, size_t errlen);
static int stripe_revoke_request(const prov_conf_t *pc,
    const prov_auth_t *auth, const char *refresh_token, http_req_t *req,
    char *err, size_t errlen);
static int stripe_page_request(const prov_conf_t *pc,
    const prov_auth_t *auth, const prov_ask_t *ask, http_req_t *req,
    char *err, size_t errlen);
static int stripe_page_parse(const prov_conf_t *pc, const prov_ask_t *ask,
    const http_resp_t *resp, prov_page_t *page, char *err, size_t errlen);
static int stripe_record_request(const prov_conf_t *pc,
    const prov_auth_t *auth, const char *stream, const char *id,
    http_req_t *req, char *err, size_t errlen);
static int stripe_record_parse(const prov_conf_t *pc, const char *stream,
    const http_resp_t *resp, prov_page_t *page, char *err, size_t errlen);
static void stripe_error_parse(const http_resp_t *resp, prov_error_t *perr);
static int stripe_webhook_targets(const char *event_type, const char *body,
    size_t len, json_t **targets, char *err, size_t errlen);


static const char *const  stripe_streams[] = {
    "customers", "invoices", "charges", NULL
};


const provider_ops_t  provider_stripe = {
    "stripe",
    0,                                  /* Connect has no PKCE */
    stripe_streams,
    stripe_authorize_url,
    stripe_token_request,
    stripe_token_parse,
    stripe_identity_request,
    stripe_identity_parse,
    stripe_revoke_request,
    stripe_page_request,
    stripe_page_parse,
    stripe_record_request,
    stripe_record_parse,
    stripe_error_parse,
    stripe_webhook_targets,
};


static int
stripe_authorize_url(const prov_conf_t *pc, const char *redirect_uri,
    const char *state, const char *challenge, char **url, char *err,
    size_t errlen)
{
    int    n;
    char  *cid, *ru, *st;

    *url = NULL;

    if (pc->client_id == NULL || pc->client_id[0] == '\0') {
        prov_err(err, errlen, "stripe: the Connect client id (ca_...) is "
                   "not set");
        return -1;
    }

    cid = http_escape(pc->client_id);
    ru = http_escape(redirect_uri);
    st = http_escape(state);
    n = -1;

    if (cid != NULL && ru != NULL && st != NULL) {
        n = asprintf(url, "%.*s/oauth/authorize?response_type=code"
                     "&client_id=%s&scope=read_write&state=%s"
                     "&redirect_uri=%s", prov_base_len(pc->auth_url),
                     pc->auth_url, cid, st, ru);
    }

    free(cid);
    free(ru);
    free(st);

    if (n < 0) {
        *url = NULL;
        prov_err(err, errlen, "out of memory");
        return -1;
    }

    return 0;
}


static int
stripe_token_request(const prov_conf_t *pc, const char *grant,
    const char *value, const char *verifier, const char *redirect_uri,
    http_req_t *req, char *err, size_t errlen)
{
    int  rc;

    http_req_init(req, "POST");

    if (pc->client_secret == NULL) {
        prov_err(err, errlen, "stripe: the platform secret key is not "
                   "configured");
        return -1;
    }

    if (strcmp(grant, "authorization_code") == 0) {
        rc = http_req_form(req, "grant_type", grant, "code", value, NULL);

    } else if (strcmp(grant, "refresh_token") == 0) {
        rc = http_req_form(req, "grant_type", grant, "refresh_token", value,
                           NULL);

    } else {
        prov_err(err, errlen, "stripe: unknown grant %.32s", grant);
        return -1;
    }

    if (rc != 0
        || http_req_url(req, "%.*s/oauth/token", prov_base_len(pc->auth_url),
                        pc->auth_url) != 0
        || http_req_header(req, "Authorization: Bearer %s",
                           pc->client_secret) != 0)
    {
        http_req_free(req);
        prov_err(err, errlen, "out of memory");
        return -1;
    }

    return 0;
}


static int
stripe_token_parse(const http_resp_t *resp, prov_tokens_t *tokens,
    prov_error_t *perr, char *err, size_t errlen)
{
    memset(tokens, 0, sizeof(*tokens));

    if (resp->status < 200 || resp->status > 299) {
        stripe_error_parse(resp, perr);
        prov_err(err, errlen, "stripe token endpoint: HTTP %ld: %s",
                 resp->status, perr->code);
        return -1;
    }

    /* Connect tokens do not expire; the answer names the account */
    return prov_oauth_tokens(resp, "stripe", STRIPE_LOAD_FLAGS, 0,
                             "stripe_user_id", tokens, err, errlen);
}


static int
stripe_identity_request(const prov_conf_t *pc, const prov_auth_t *auth,
    http_req_t *req, char *err, size_t errlen)
{
    http_req_init(req, "GET");

    if (http_req_url(req, "%.*s/v1/account", prov_base_len(pc->api_url),
                     pc->api_url) != 0)
    {
        prov_err(err, errlen, "out of memory");
        return -1;
    }

    return stripe_api_req(pc, auth, req, err, errlen);
}


static int
stripe_identity_parse(const http_resp_t *resp, prov_identity_t *id,
    char *err, size_t errlen)
{
    json_t      *root;
    const char  *aid, *name;

    memset(id, 0, sizeof(*id));

    root = prov_json_load(resp, "stripe", STRIPE_LOAD_FLAGS, err, errlen);
    if (root == NULL) {
        return -1;
    }

    aid = prov_json_str(root, "id");
    if (aid == NULL || aid[0] == '\0'
        || strlen(aid) >= sizeof(id->account_id))
    {
        json_decref(root);
        prov_err(err, errlen, "stripe /v1/account: no usable id");
        return -1;
    }

    name = prov_json_str(root, "settings.dashboard.display_name");
    if (name == NULL || name[0] == '\0') {
        name = prov_json_str(root, "business_profile.name");
    }
    if (name == NULL || name[0] == '\0') {
        name = prov_json_str(root, "email");
    }
    if (name == NULL || name[0] == '\0') {
        name = aid;
    }

    stripe_copy(id->account_id, sizeof(id->account_id), aid);
    stripe_copy(id->display_name, sizeof(id->display_name), name);
    json_decref(root);

    return 0;
}


static int
stripe_revoke_request(const prov_conf_t *pc, const prov_auth_t *auth,
    const char *refresh_token, http_req_t *req, char *err, size_t errlen)
{
    http_req_init(req, "POST");

    if (auth == NULL || auth->account_id == NULL
        || pc->client_secret == NULL || pc->client_id == NULL
        || pc->client_id[0] == '\0')
    {
        prov_err(err, errlen, "stripe: deauthorizing needs the connected "
                   "account and the platform's client id and secret key");
        return -1;
    }

    if (http_req_form(req, "client_id", pc->client_id, "stripe_user_id",
                      auth->account_id, NULL) != 0
        || http_req_url(req, "%.*s/oauth/deauthorize",
                        prov_base_len(pc->auth_url), pc->auth_url) != 0
        || http_req_header(req, "Authorization: Bearer %s",
                           pc->client_secret) != 0)
    {
        http_req_free(req);
        prov_err(err, errlen, "out of memory");
        return -1;
    }

    return 0;
}


static int
stripe_page_request(const prov_conf_t *pc, const prov_auth_t *auth,
    const prov_ask_t *ask, http_req_t *req, char *err, size_t errlen)
{
    int       rc, limit;
    char     *after, since[40];
    int64_t   ts;

    http_req_init(req, "GET");

    if (!stripe_stream(ask->stream)) {
        prov_err(err, errlen, "stripe has no stream %.64s", ask->stream);
        return -1;
    }

    since[0] = '\0';
    if (ask->since != NULL) {
        if (stripe_unix(ask->since, &ts) != 0) {
            prov_err(err, errlen, "stripe: bad since time");
            return -1;
        }
        (void) snprintf(since, sizeof(since), "&created%%5Bgte%%5D=%lld",
                        (long long) ts);
    }

    limit = pc->page_size <= 0 || pc->page_size > STRIPE_LIST_MAX
            ? STRIPE_LIST_MAX : pc->page_size;

    after = ask->cursor ? http_escape(ask->cursor) : NULL;
    rc = -1;

    if (ask->cursor == NULL || after != NULL) {
        rc = http_req_url(req, "%.*s/v1/%s?limit=%d%s%s%s",
                          prov_base_len(pc->api_url), pc->api_url,
                          ask->stream, limit,
                          after ? "&starting_after=" : "",
                          after ? after : "", since);
    }

    free(after);

    if (rc != 0) {
        prov_err(err, errlen, "out of memory");
        return -1;
    }

    return stripe_api_req(pc, auth, req, err, errlen);
}


static int
stripe_page_parse(const prov_conf_t *pc, const prov_ask_t *ask,
    const http_resp_t *resp, prov_page_t *page, char *err, size_t errlen)
{
    size_t       i;
    json_t      *root, *data, *obj, *more;
    const char  *last;

    memset(page, 0, sizeof(*page));
    page->total = -1;

    if (!stripe_stream(ask->stream)) {
        prov_err(err, errlen, "stripe has no stream %.64s", ask->stream);
        return -1;
    }

    root = prov_json_load(resp, "stripe", STRIPE_LOAD_FLAGS, err, errlen);
    if (root == NULL) {
        return -1;
    }

    data = json_object_get(root, "data");
    more = json_object_get(root, "has_more");

    if (!json_is_array(data) || !json_is_boolean(more)) {
        json_decref(root);
        prov_err(err, errlen, "stripe %s: not a list", ask->stream);
        return -1;
    }

    page->records = json_array();
    if (page->records == NULL) {
        json_decref(root);
        prov_err(err, errlen, "out of memory");
        return -1;
    }

    last = NULL;

    json_array_foreach(data, i, obj) {
        if (stripe_map(ask->stream, obj, page->records, err, errlen) != 0) {
            json_decref(root);
            prov_page_free(page);
            return -1;
        }
        last = prov_json_str(obj, "id");
    }

    if (json_is_true(more) && last != NULL) {
        page->next_cursor = strdup(last);
        if (page->next_cursor == NULL) {
            json_decref(root);
            prov_page_free(page);
            prov_err(err, errlen, "out of memory");
            return -1;
        }
    }

    json_decref(root);

    return 0;
}


static int
stripe_record_request(const prov_conf_t *pc, const prov_auth_t *auth,
    const char *stream, const char *id, http_req_t *req, char *err,
    size_t errlen)
{
    int    rc;
    char  *eid;

    http_req_init(req, "GET");

    if (!stripe_stream(stream)) {
        prov_err(err, errlen, "stripe has no stream %.64s", stream);
        return -1;
    }

    eid = http_escape(id);
    rc = eid == NULL
         ? -1
         : http_req_url(req, "%.*s/v1/%s/%s", prov_base_len(pc->api_url),
                        pc->api_url, stream, eid);
    free(eid);

    if (rc != 0) {
        prov_err(err, errlen, "out of memory");
        return -1;
    }

    return stripe_api_req(pc, auth, req, err, errlen);
}


static int
stripe_record_parse(const prov_conf_t *pc, const char *stream,
    const http_resp_t *resp, prov_page_t *page, char *err, size_t errlen)
{
    json_t  *root;

    memset(page, 0, sizeof(*page));
    page->total = -1;

    if (!stripe_stream(stream)) {
        prov_err(err, errlen, "stripe has no stream %.64s", stream);
        return -1;
    }

    root = prov_json_load(resp, "stripe", STRIPE_LOAD_FLAGS, err, errlen);
    if (root == NULL) {
        return -1;
    }

    page->records = json_array();
    if (page->records == NULL
        || stripe_map(stream, root, page->records, err, errlen) != 0)
    {
        if (page->records == NULL) {
            prov_err(err, errlen, "out of memory");
        }
        json_decref(root);
        prov_page_free(page);
        return -1;
    }

    json_decref(root);
    page->total = (int64_t) json_array_size(page->records);

    return 0;
}


/* {"error": {"type", "code", "message", "param"}} (the API) or
 * {"error": "invalid_grant", "error_description"} (Connect OAuth) */
static void
stripe_error_parse(const http_resp_t *resp, prov_error_t *perr)
{
    json_t        *root, *e;
    const char    *code, *msg;
    json_error_t   je;

    (void) snprintf(perr->code, sizeof(perr->code), "http_%ld",
                    resp->status);
    (void) snprintf(perr->message, sizeof(perr->message), "HTTP %ld",
                    resp->status);

    if (resp->body == NULL) {
        return;
    }

    root = json_loadb(resp->body, resp->len, STRIPE_LOAD_FLAGS, &je);
    e = json_object_get(root, "error");

    if (json_is_string(e)) {
        code = json_string_value(e);
        msg = prov_json_str(root, "error_description");

    } else {
        code = prov_json_str(e, "code");
        if (code == NULL) {
            code = prov_json_str(e, "type");
        }
        msg = prov_json_str(e, "message");
    }

    if (code != NULL && code[0] != '\0') {
        stripe_copy(perr->code, sizeof(perr->code), code);
    }

    if (msg != NULL && msg[0] != '\0') {
        stripe_copy(perr->message, sizeof(perr->message), msg);
    }

    json_decref(root);
}


/*
 * invoice.* → the invoice; charge.* → the charge, or its invoice when it
 * has one (the charge itself is no record then); customer.* → the
 * customer.  Other events need no sync.
 */
static int
stripe_webhook_targets(const char *event_type, const char *body, size_t len,
    json_t **targets, char *err, size_t errlen)
{
    static const char *const  invoice_ev[] = {
        "invoice.created", "invoice.paid", "invoice.updated",
        "invoice.finalized", "invoice.voided",
        "invoice.marked_uncollectible", NULL
    };
    static const char *const  charge_ev[] = {
        "charge.refunded", "charge.succeeded", "charge.failed", NULL
    };
    static const char *const  customer_ev[] = {
        "customer.created", "customer.updated", NULL
    };

    size_t         i;
    json_t        *root, *obj, *t;
    const char    *stream, *id, *type, *inv;
    json_error_t   je;

    *targets = NULL;

    root = json_loadb(body, len, STRIPE_LOAD_FLAGS, &je);
    if (!json_is_object(root)) {
        json_decref(root);
        prov_err(err, errlen, "stripe event: not a JSON object");
        return -1;
    }

    type = event_type ? event_type : prov_json_str(root, "type");
    stream = NULL;

    for (i = 0; type != NULL && stream == NULL && invoice_ev[i]; i++) {
        if (strcmp(type, invoice_ev[i]) == 0) {
            stream = "invoices";
        }
    }
    for (i = 0; type != NULL && stream == NULL && charge_ev[i]; i++) {
        if (strcmp(type, charge_ev[i]) == 0) {
            stream = "charges";
        }
    }
    for (i = 0; type != NULL && stream == NULL && customer_ev[i]; i++) {
        if (strcmp(type, customer_ev[i]) == 0) {
            stream = "customers";
        }
    }

    if (stream == NULL) {
        json_decref(root);
        return 0;
    }

    obj = prov_json_get(root, "data.object");
    id = prov_json_str(obj, "id");

    if (id == NULL || id[0] == '\0') {
        /* type may live in root */
        prov_err(err, errlen, "stripe event %.64s: no data.object.id",
                   type);
        json_decref(root);
        return -1;
    }

    if (strcmp(stream, "charges") == 0) {
        inv = stripe_id(json_object_get(obj, "invoice"));
        if (inv != NULL && inv[0] != '\0') {
            stream = "invoices";
            id = inv;
        }
    }

    t = json_pack("[{s:s, s:s}]", "stream", stream, "id", id);
    json_decref(root);

    if (t == NULL) {
        prov_err(err, errlen, "out of memory");
        return -1;
    }

    *targets = t;

    return 0;
}


/* appends the canonical record of obj (none for a charge of an invoice) */
static int
stripe_map(const char *stream, json_t *obj, json_t *records, char *err,
    size_t errlen)
{
    json_t  *rec, *c;

    if (strcmp(stream, "customers") == 0) {
        c = stripe_customer(obj, err, errlen);
        if (c == NULL) {
            return -1;
        }
        rec = json_pack("{s:s}", "type", "customer");
        if (rec == NULL || json_object_update(rec, c) != 0) {
            json_decref(rec);
            json_decref(c);
            prov_err(err, errlen, "out of memory");
            return -1;
        }
        json_decref(c);

    } else if (strcmp(stream, "invoices") == 0) {
        rec = stripe_invoice(obj, err, errlen);

    } else {
        c = json_object_get(obj, "invoice");
        if (c != NULL && !json_is_null(c)) {
            return 0;
        }
        rec = stripe_charge(obj, err, errlen);
    }

    if (rec == NULL) {
        return -1;
    }

    if (json_array_append_new(records, rec) != 0) {
        prov_err(err, errlen, "out of memory");
        return -1;
    }

    return 0;
}


/* a customer object as a canonical customer without "type" */
static json_t *
stripe_customer(json_t *c, char *err, size_t errlen)
{
    json_t      *addr, *res;
    const char  *id;

    id = prov_json_str(c, "id");
    if (id == NULL || id[0] == '\0') {
        prov_err(err, errlen, "stripe customer without an id");
        return NULL;
    }

    addr = stripe_address(json_object_get(c, "address"));
    if (addr == NULL) {
        prov_err(err, errlen, "out of memory");
        return NULL;
    }

    res = json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:o, s:O}",
                    "external_id", id,
                    "name", prov_json_str(c, "name"),
                    "email", prov_json_str(c, "email"),
                    "tax_id", prov_json_str(json_array_get(
                                  prov_json_get(c, "tax_ids.data"), 0),
                                  "value"),
                    "country", prov_json_str(c, "address.country"),
                    "address", addr,
                    "raw", c);
    if (res == NULL) {
        prov_err(err, errlen, "stripe customer %.64s: cannot build the "
                   "record", id);
    }

    return res;
}


static json_t *
stripe_invoice(json_t *inv, char *err, size_t errlen)
{
    size_t       i;
    char         cur[4], created[32], updated[32];
    json_t      *total, *lines, *li, *cust, *addr, *rec, *st, *t;
    int64_t      newest;
    const char  *id, *ccy, *status, *s;
    const char  *keys[] = { "finalized_at", "paid_at", "voided_at",
                            "marked_uncollectible_at" };

    id = prov_json_str(inv, "id");
    ccy = prov_json_str(inv, "currency");
    total = json_object_get(inv, "total");

    if (id == NULL || id[0] == '\0' || ccy == NULL || strlen(ccy) != 3
        || !json_is_integer(total)
        || stripe_iso(json_object_get(inv, "created"), created,
                      sizeof(created)) != 0)
    {
        prov_err(err, errlen, "stripe invoice %.64s: no id, currency, "
                   "total or created", id ? id : "?");
        return NULL;
    }

    for (i = 0; i < 3; i++) {
        cur[i] = (char) (ccy[i] >= 'a' && ccy[i] <= 'z'
                         ? ccy[i] - 'a' + 'A' : ccy[i]);
    }
    cur[3] = '\0';

    /* Stripe has no updated time: the latest status transition */
    newest = json_integer_value(json_object_get(inv, "created"));
    st = json_object_get(inv, "status_transitions");
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        t = json_object_get(st, keys[i]);
        if (json_is_integer(t) && json_integer_value(t) > newest) {
            newest = json_integer_value(t);
        }
    }
    t = json_integer((json_int_t) newest);
    if (t == NULL || stripe_iso(t, updated, sizeof(updated)) != 0) {
        json_decref(t);
        prov_err(err, errlen, "stripe invoice %.64s: bad times", id);
        return NULL;
    }
    json_decref(t);

    s = prov_json_str(inv, "status");
    status = "pending";
    if (s != NULL && strcmp(s, "paid") == 0) {
        status = "paid";
    } else if (s != NULL
               && (strcmp(s, "void") == 0 || strcmp(s, "uncollectible") == 0))
    {
        status = "cancelled";
    }

    lines = json_array();
    if (lines == NULL) {
        prov_err(err, errlen, "out of memory");
        return NULL;
    }

    json_array_foreach(prov_json_get(inv, "lines.data"), i, li) {
        if (stripe_invoice_line(lines, li, cur, err, errlen) != 0) {
            json_decref(lines);
            return NULL;
        }
    }

    addr = stripe_address(json_object_get(inv, "customer_address"));
    cust = addr == NULL
           ? NULL
           : json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?, s:o, s:n}",
                       "external_id",
                       stripe_id(json_object_get(inv, "customer")),
                       "name", prov_json_str(inv, "customer_name"),
                       "email", prov_json_str(inv, "customer_email"),
                       "tax_id", prov_json_str(json_array_get(json_object_get(
                                     inv, "customer_tax_ids"), 0), "value"),
                       "country",
                       prov_json_str(inv, "customer_address.country"),
                       "address", addr,
                       "raw");
    if (cust == NULL) {
        json_decref(lines);
        prov_err(err, errlen, "out of memory");
        return NULL;
    }

    rec = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:o, s:o, s:O}",
                    "type", "order",
                    "external_id", id,
                    "status", status,
                    "currency", cur,
                    "total_minor", json_integer_value(total),
                    "ordered_at", created,
                    "external_updated_at", updated,
                    "customer", cust,
                    "lines", lines,
                    "raw", inv);
    if (rec == NULL) {
        prov_err(err, errlen, "stripe invoice %.64s: cannot build the "
                   "record", id);
    }

    return rec;
}


/*
 * An invoice line: amount is the line's total in minor units; the unit
 * price is amount / quantity when that is exact, else the price's
 * unit_amount, else amount / quantity rounded half away from zero.
 */
static int
stripe_invoice_line(json_t *lines, json_t *li, const char *currency,
    char *err, size_t errlen)
{
    char          qtext[32], unit[48], rate[32];
    json_t       *amount, *q, *ua, *prod, *line, *price;
    int64_t       a, n, u;
    const char   *desc, *pid;

    amount = json_object_get(li, "amount");
    q = json_object_get(li, "quantity");

    if (!json_is_integer(amount) || (q != NULL && !json_is_null(q)
                                     && !json_is_integer(q)))
    {
        prov_err(err, errlen, "stripe invoice line without an integer "
                   "amount");
        return -1;
    }

    a = json_integer_value(amount);
    n = json_is_integer(q) ? json_integer_value(q) : 1;
    if (n < 1) {
        n = 1;
    }

    price = json_object_get(li, "price");
    ua = json_object_get(price, "unit_amount");

    if (a % n == 0) {
        u = a / n;
    } else if (json_is_integer(ua)) {
        u = json_integer_value(ua);
    } else {
        /* C division truncates: shifting by half first rounds halves
         * away from zero */
        u = (a >= 0 ? a + n / 2 : a - n / 2) / n;
    }

    stripe_minor_text(u, prov_currency_exponent(currency), unit,
                      sizeof(unit));
    (void) snprintf(qtext, sizeof(qtext), "%lld", (long long) n);

    if (stripe_rate(prov_json_get(json_array_get(json_object_get(li,
                                                              "tax_rates"),
                                              0), "percentage"),
                    rate, sizeof(rate)) != 0)
    {
        rate[0] = '\0';
    }

    desc = prov_json_str(li, "description");
    pid = stripe_id(json_object_get(price, "product"));
    if (pid == NULL) {
        pid = prov_json_str(price, "id");
    }

    prod = NULL;
    if (pid != NULL) {
        prod = json_pack("{s:s, s:n, s:s?, s:s, s:s, s:s?, s:O}",
                         "external_id", pid,
                         "sku",
                         "name", desc,
                         "unit_price", unit,
                         "currency", currency,
                         "vat_rate", rate[0] ? rate : NULL,
                         "raw", price);
        if (prod == NULL) {
            prov_err(err, errlen, "out of memory");
            return -1;
        }
    }

    line = json_pack("{s:o, s:s, s:s, s:s, s:s?, s:I}",
                     "product", prod ? prod : json_null(),
                     "description", desc ? desc : "",
                     "quantity", qtext,
                     "unit_price", unit,
                     "vat_rate", rate[0] ? rate : NULL,
                     "total_minor", (json_int_t) a);

    if (line == NULL || json_array_append_new(lines, line) != 0) {
        prov_err(err, errlen, "out of memory");
        return -1;
    }

    return 0;
}


static json_t *
stripe_charge(json_t *ch, char *err, size_t errlen)
{
    size_t       i;
    char         cur[4], created[32], unit[48], *desc;
    json_t      *amount, *refunded, *lines, *cust, *addr, *rec;
    const char  *id, *ccy, *s, *status, *cid, *name, *email, *d;

    id = prov_json_str(ch, "id");
    ccy = prov_json_str(ch, "currency");
    amount = json_object_get(ch, "amount");

    if (id == NULL || id[0] == '\0' || ccy == NULL || strlen(ccy) != 3
        || !json_is_integer(amount)
        || stripe_iso(json_object_get(ch, "created"), created,
                      sizeof(created)) != 0)
    {
        prov_err(err, errlen, "stripe charge %.64s: no id, currency, "
                   "amount or created", id ? id : "?");
        return NULL;
    }

    for (i = 0; i < 3; i++) {
        cur[i] = (char) (ccy[i] >= 'a' && ccy[i] <= 'z'
                         ? ccy[i] - 'a' + 'A' : ccy[i]);
    }
    cur[3] = '\0';

    s = prov_json_str(ch, "status");
    refunded = json_object_get(ch, "amount_refunded");
    status = "pending";

    if (s != NULL && strcmp(s, "succeeded") == 0) {
        if (json_is_true(json_object_get(ch, "refunded"))) {
            status = "refunded";
        } else if (json_is_integer(refunded)
                   && json_integer_value(refunded) > 0)
        {
            status = "partially_refunded";
        } else {
            status = "paid";
        }

    } else if (s != NULL && strcmp(s, "failed") == 0) {
        status = "cancelled";
    }

    stripe_minor_text(json_integer_value(amount),
                      prov_currency_exponent(cur), unit, sizeof(unit));

    d = prov_json_str(ch, "description");
    if (asprintf(&desc, "Charge%s%s", d ? " " : "", d ? d : "") < 0) {
        prov_err(err, errlen, "out of memory");
        return NULL;
    }

    lines = json_pack("[{s:n, s:s, s:s, s:s, s:n, s:I}]",
                      "product",
                      "description", desc,
                      "quantity", "1",
                      "unit_price", unit,
                      "vat_rate",
                      "total_minor", json_integer_value(amount));
    free(desc);

    cid = stripe_id(json_object_get(ch, "customer"));
    name = prov_json_str(ch, "billing_details.name");
    email = prov_json_str(ch, "billing_details.email");
    cust = NULL;

    if (cid != NULL || name != NULL || email != NULL) {
        addr = stripe_address(prov_json_get(ch, "billing_details.address"));
        cust = addr == NULL
               ? NULL
               : json_pack("{s:s?, s:s?, s:s?, s:n, s:s?, s:o, s:n}",
                           "external_id", cid,
                           "name", name,
                           "email", email,
                           "tax_id",
                           "country",
                           prov_json_str(ch, "billing_details.address.country"),
                           "address", addr,
                           "raw");
        if (cust == NULL) {
            json_decref(lines);
            prov_err(err, errlen, "out of memory");
            return NULL;
        }
    }

    if (lines == NULL) {
        json_decref(cust);
        prov_err(err, errlen, "out of memory");
        return NULL;
    }

    rec = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:o, s:o, s:O}",
                    "type", "order",
                    "external_id", id,
                    "status", status,
                    "currency", cur,
                    "total_minor", json_integer_value(amount),
                    "ordered_at", created,
                    "external_updated_at", created,
                    "customer", cust ? cust : json_null(),
                    "lines", lines,
                    "raw", ch);
    if (rec == NULL) {
        prov_err(err, errlen, "stripe charge %.64s: cannot build the "
                   "record", id);
    }

    return rec;
}


/* a Stripe address as a canonical one: keys absent when unknown */
static json_t *
stripe_address(json_t *a)
{
    int          rc;
    char        *street;
    json_t      *res;
    const char  *l1, *l2, *city, *zip, *cc;

    res = json_object();
    if (res == NULL || !json_is_object(a)) {
        return res;
    }

    l1 = prov_json_str(a, "line1");
    l2 = prov_json_str(a, "line2");
    city = prov_json_str(a, "city");
    zip = prov_json_str(a, "postal_code");
    cc = prov_json_str(a, "country");

    if (l1 != NULL && l1[0] != '\0') {
        if (asprintf(&street, "%s%s%s", l1, l2 && l2[0] ? ", " : "",
                     l2 && l2[0] ? l2 : "") < 0)
        {
            goto fail;
        }
        rc = json_object_set_new(res, "street", json_string(street));
        free(street);
        if (rc != 0) {
            goto fail;
        }
    }

    if ((city && json_object_set_new(res, "city", json_string(city)) != 0)
        || (zip && json_object_set_new(res, "postal_code",
                                       json_string(zip)) != 0)
        || (cc && json_object_set_new(res, "country", json_string(cc)) != 0))
    {
        goto fail;
    }

    return res;

fail:

    json_decref(res);

    return NULL;
}


/* an id, or an expanded object's id */
static const char *
stripe_id(json_t *j)
{
    return json_is_object(j) ? prov_json_str(j, "id") : json_string_value(j);
}


/* a bounded, printable copy (control bytes become '?') */
static void
stripe_copy(char *dst, size_t len, const char *src)
{
    size_t  i;

    for (i = 0; i + 1 < len && src[i] != '\0'; i++) {
        dst[i] = ((unsigned char) src[i] < 0x20 || src[i] == 0x7f)
                 ? '?' : src[i];
    }

    dst[i] = '\0';
}


static int
stripe_stream(const char *stream)
{
    return stream != NULL
           && (strcmp(stream, "customers") == 0
               || strcmp(stream, "invoices") == 0
               || strcmp(stream, "charges") == 0);
}


static int
stripe_api_req(const prov_conf_t *pc, const prov_auth_t *auth,
    http_req_t *req, char *err, size_t errlen)
{
    if (auth == NULL || auth->access_token == NULL) {
        http_req_free(req);
        prov_err(err, errlen, "stripe: no access token or API key");
        return -1;
    }

    if (http_req_header(req, "Authorization: Bearer %s",
                        auth->access_token) != 0
        || (auth->account_id != NULL && pc->client_secret != NULL
            && strcmp(auth->access_token, pc->client_secret) == 0
            && http_req_header(req, "Stripe-Account: %s",
                               auth->account_id) != 0))
    {
        http_req_free(req);
        prov_err(err, errlen, "out of memory");
        return -1;
    }

    return 0;
}


/* a unix time as "2026-01-02T03:04:05.000Z" */
static int
stripe_iso(json_t *unix_ts, char *out, size_t len)
{
    time_t      t;
    struct tm   tm;
    json_int_t  v;

    if (!json_is_integer(unix_ts)) {
        return -1;
    }

    v = json_integer_value(unix_ts);

    /* years 0..9999 */
    if (v < -62167219200LL || v > 253402300799LL) {
        return -1;
    }

    t = (time_t) v;
    if (gmtime_r(&t, &tm) == NULL
        || strftime(out, len, "%Y-%m-%dT%H:%M:%S.000Z", &tm) == 0)
    {
        return -1;
    }

    return 0;
}


/* "YYYY-MM-DDTHH:MM:SS[.fff](Z|+hh:mm|-hh:mm)" to unix seconds */
static int
stripe_unix(const char *iso, int64_t *out)
{
    int          v[6], i, sign, oh, om;
    const char  *p;
    static const char  sep[] = "--T::";
    static const int   width[] = { 4, 2, 2, 2, 2, 2 };

    p = iso;

    for (i = 0; i < 6; i++) {
        if (strspn(p, "0123456789") < (size_t) width[i]) {
            return -1;
        }
        v[i] = 0;
        for (oh = 0; oh < width[i]; oh++) {
            v[i] = v[i] * 10 + (*p++ - '0');
        }
        if (i < 5 && *p++ != sep[i]) {
            return -1;
        }
    }

    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9') {
            return -1;
        }
        while (*p >= '0' && *p <= '9') {
            p++;
        }
    }

    sign = 0;
    oh = 0;
    om = 0;

    if (*p == 'Z' && p[1] == '\0') {
        /* UTC */
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':'
               && strspn(p + 1, "0123456789") == 2
               && strspn(p + 4, "0123456789") == 2)
    {
        sign = *p == '+' ? 1 : -1;
        oh = (p[1] - '0') * 10 + (p[2] - '0');
        om = (p[4] - '0') * 10 + (p[5] - '0');
    } else {
        return -1;
    }

    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23
        || v[4] > 59 || v[5] > 60 || oh > 23 || om > 59)
    {
        return -1;
    }

    *out = civil_days(v[0], v[1], v[2]) * 86400 + v[3] * 3600 + v[4] * 60
           + v[5] - sign * (oh * 3600 + om * 60);

    return 0;
}


/* minor units as decimal text: 12345, 2 -> "123.45"; -5, 2 -> "-0.05" */
static void
stripe_minor_text(int64_t minor, int exp, char *out, size_t len)
{
    int       i;
    char      digits[32];
    size_t    n;
    uint64_t  m;

    if (exp < 0 || exp > 4) {
        exp = 2;
    }

    m = minor < 0 ? (uint64_t) 0 - (uint64_t) minor : (uint64_t) minor;
    (void) snprintf(digits, sizeof(digits), "%0*llu", (exp + 1) & 7,
                    (unsigned long long) m);
    n = strlen(digits);

    if (exp == 0) {
        (void) snprintf(out, len, "%s%s", minor < 0 ? "-" : "", digits);
        return;
    }

    i = (int) n - exp;
    (void) snprintf(out, len, "%s%.*s.%s", minor < 0 ? "-" : "", i, digits,
                    digits + i);
}


/*
 * A tax rate's percentage as decimal text.  Stripe sends it as a JSON
 * number (23 or 8.25), which jansson holds as a double when it has a
 * fraction: rates are not money, and four decimals are all a rate has.
 */
static int
stripe_rate(json_t *pct, char *out, size_t len)
{
    size_t  n;
    double  d;

    if (json_is_integer(pct)) {
        if (json_integer_value(pct) < 0 || json_integer_value(pct) > 100) {
            return -1;
        }
        (void) snprintf(out, len, "%lld",
                        (long long) json_integer_value(pct));
        return 0;
    }

    if (!json_is_real(pct)) {
        return -1;
    }

    d = json_real_value(pct);
    if (!(d >= 0 && d <= 100)) {
        return -1;
    }

    (void) snprintf(out, len, "%.4f", d);
    n = strlen(out);
    while (n > 0 && out[n - 1] == '0') {
        out[--n] = '\0';
    }
    if (n > 0 && out[n - 1] == '.') {
        out[--n] = '\0';
    }

    return 0;
}
