
/*
 * hubgated: Allegro (REST API, OAuth 2 authorization code with PKCE).
 * Contract in provider_ops.h; shapes from shared/specs/providers/
 * allegro-openapi.yaml.
 *
 * Streams:
 *   checkout-forms  GET /order/checkout-forms, newest change first
 *                   (sort=-updatedAt; Allegro breaks ties in a stable
 *                   order), paged by keyset rather than by offset: Allegro
 *                   refuses offset + limit past 10000, and an offset over a
 *                   changing list skips or repeats forms.  The cursor is
 *                   {"lte": "<updatedAt>", "skip": K, "gte": "<since>",
 *                   "total": N}: the next page is the forms changed at or
 *                   before lte, past the K forms changed exactly at lte
 *                   that were already read.  A form changed during the run
 *                   moves above lte and out of this run's window (the next
 *                   incremental run, or the journal, takes it); a resumed
 *                   run asks for the same window and the same place in it.
 *                   total is the first page's totalCount, the run's size.
 *   order-events    GET /order/events?from=<event id>: the journal.  It
 *                   gives no records, only refetch targets (the checkout
 *                   forms it names).  With no cursor yet it asks
 *                   /order/event-stats for the newest event id and starts
 *                   from there, so history is not replayed after a full
 *                   sync.
 *
 * Ownership: every output is the caller's (http_req_free, prov_page_free,
 * prov_tokens_free); records keep a reference to the parsed form as "raw".
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "providers/provider_ops.h"


#define ALLEGRO_MEDIA      "application/vnd.allegro.public.v1+json"
#define ALLEGRO_FORMS_MAX  100          /* limit of /order/checkout-forms */
#define ALLEGRO_EVENTS_MAX 1000         /* limit of /order/events */
#define ALLEGRO_LOAD_FLAGS (JSON_REJECT_DUPLICATES)


typedef struct {
    const char  *lte;               /* NULL on the first page */
    const char  *gte;               /* ask->since unless the cursor has one */
    json_int_t   skip;
    json_int_t   total;
} allegro_cur_t;


static int allegro_api_req(const prov_conf_t *pc, const prov_auth_t *auth,
    http_req_t *req, char *err, size_t errlen);
static int allegro_limit(const prov_conf_t *pc, int max);
static int allegro_rate(const char *text, char *out, size_t len);
static int allegro_line(json_t *lines, json_t *item, const char *currency,
    char *err, size_t errlen);
static int allegro_delivery(json_t *lines, json_t *form,
    const char *currency, char *err, size_t errlen);
static json_t *allegro_customer(json_t *form);
static const char *allegro_status(json_t *form);
static json_t *allegro_order(json_t *form, char *err, size_t errlen);
static int allegro_cursor(const char *text, allegro_cur_t *cur,
    json_t **holder);
static void allegro_copy(char *dst, size_t len, const char *src);

static int allegro_authorize_url(const prov_conf_t *pc,
    const char *redirect_uri, const char *state, const char *challenge,
    char **url, char *err, size_t errlen);
static int allegro_token_request(const prov_conf_t *pc, const char *grant,
    const char *value, const char *verifier, const char *redirect_uri,
    http_req_t *req, char *err, size_t errlen);
static int allegro_token_parse(const http_resp_t *resp,
    prov_tokens_t *tokens, prov_error_t *perr, char *err, size_t errlen);
static int allegro_identity_request(const prov_conf_t *pc,
    const prov_auth_t *auth, http_req_t *req, char *err, size_t errlen);
static int allegro_identity_parse(const http_resp_t *resp,
    prov_identity_t *id, char *err, size_t errlen);
static int allegro_page_request(const prov_conf_t *pc,
    const prov_auth_t *auth, const prov_ask_t *ask, http_req_t *req,
    char *err, size_t errlen);
static int allegro_page_parse(const prov_conf_t *pc, const prov_ask_t *ask,
    const http_resp_t *resp, prov_page_t *page, char *err, size_t errlen);
static int allegro_forms_parse(const prov_conf_t *pc, const prov_ask_t *ask,
    json_t *root, prov_page_t *page, char *err, size_t errlen);
static int allegro_events_parse(const prov_conf_t *pc,
    const prov_ask_t *ask, json_t *root, prov_page_t *page, char *err,
    size_t errlen);
static int allegro_record_request(const prov_conf_t *pc,
    const prov_auth_t *auth, const char *stream, const char *id,
    http_req_t *req, char *err, size_t errlen);
static int allegro_record_parse(const prov_conf_t *pc, const char *stream,
    const http_resp_t *resp, prov_page_t *page, char *err, size_t errlen);
static void allegro_error_parse(const http_resp_t *resp,
    prov_error_t *perr);


static const char *const  allegro_streams[] = {
    "checkout-forms", "order-events", NULL
};


const provider_ops_t  provider_allegro = {
    "allegro",
    1,
    allegro_streams,
    allegro_authorize_url,
    allegro_token_request,
    allegro_token_parse,
    allegro_identity_request,
    allegro_identity_parse,
    NULL,                               /* Allegro has no revocation */
    allegro_page_request,
    allegro_page_parse,
    allegro_record_request,
    allegro_record_parse,
    allegro_error_parse,
    NULL,                               /* no webhooks: the journal */
};


static int
allegro_authorize_url(const prov_conf_t *pc, const char *redirect_uri,
    const char *state, const char *challenge, char **url, char *err,
    size_t errlen)
{
    int    n;
    char  *cid, *ru, *st, *ch;

    *url = NULL;

    if (challenge == NULL || pc->client_id == NULL
        || pc->client_id[0] == '\0')
    {
        prov_err(err, errlen, "allegro: %s",
                    challenge == NULL ? "a PKCE challenge is required"
                                      : "allegro_client_id is not set");
        return -1;
    }

    cid = http_escape(pc->client_id);
    ru = http_escape(redirect_uri);
    st = http_escape(state);
    ch = http_escape(challenge);
    n = -1;

    if (cid != NULL && ru != NULL && st != NULL && ch != NULL) {
        n = asprintf(url, "%.*s/auth/oauth/authorize?response_type=code"
                     "&client_id=%s&redirect_uri=%s&state=%s"
                     "&code_challenge_method=S256&code_challenge=%s",
                     prov_base_len(pc->auth_url), pc->auth_url, cid, ru, st,
                     ch);
    }

    free(cid);
    free(ru);
    free(st);
    free(ch);

    if (n < 0) {
        *url = NULL;
        prov_err(err, errlen, "out of memory");
        return -1;
    }

    return 0;
}


static int
allegro_token_request(const prov_conf_t *pc, const char *grant,
    const char *value, const char *verifier, const char *redirect_uri,
    http_req_t *req, char *err, size_t errlen)
{
    int            rc, n;
    char          *pair, basic[1024];
    size_t         len;

    http_req_init(req, "POST");

    if (pc->client_secret == NULL || pc->client_id == NULL
        || pc->client_id[0] == '\0')
    {
        prov_err(err, errlen, "allegro: the client id or secret is not "
                    "configured");
        return -1;
    }

    n = asprintf(&pair, "%s:%s", pc->client_id, pc->client_secret);
    if (n < 0) {
        prov_err(err, errlen, "out of memory");
        return -1;
    }
    len = (size_t) n;

    if ((len + 2) / 3 * 4 + 1 > sizeof(basic)) {
        OPENSSL_cleanse(pair, len);
        free(pair);
        prov_err(err, errlen, "allegro: the client credentials are too "
                    "long");
        return -1;
    }

    EVP_EncodeBlock((unsigned char *) basic, (unsigned char *) pair,
                    (int) len);
    OPENSSL_cleanse(pair, len);
    free(pair);

    if (strcmp(grant, "authorization_code") == 0) {
        if (verifier != NULL) {
            rc = http_req_form(req, "grant_type", grant, "code", value,
                               "redirect_uri", redirect_uri,
                               "code_verifier", verifier, NULL);
        } else {
            rc = http_req_form(req, "grant_type", grant, "code", value,
                               "redirect_uri", redirect_uri, NULL);
        }

    } else if (strcmp(grant, "refresh_token") == 0) {
        if (redirect_uri != NULL) {
            rc = http_req_form(req, "grant_type", grant, "refresh_token",
                               value, "redirect_uri", redirect_uri, NULL);
        } else {
            rc = http_req_form(req, "grant_type", grant, "refresh_token",
                               value, NULL);
        }

    } else {
        OPENSSL_cleanse(basic, sizeof(basic));
        prov_err(err, errlen, "allegro: unknown grant %.32s", grant);
        return -1;
    }

    if (rc != 0
        || http_req_url(req, "%.*s/auth/oauth/token",
                        prov_base_len(pc->auth_url), pc->auth_url) != 0
        || http_req_header(req, "Authorization: Basic %s", basic) != 0
        || http_req_header(req, "Accept: application/json") != 0)
    {
        OPENSSL_cleanse(basic, sizeof(basic));
        http_req_free(req);
        prov_err(err, errlen, "out of memory");
        return -1;
    }

    OPENSSL_cleanse(basic, sizeof(basic));

    return 0;
}


static int
allegro_token_parse(const http_resp_t *resp, prov_tokens_t *tokens,
    prov_error_t *perr, char *err, size_t errlen)
{
    memset(tokens, 0, sizeof(*tokens));

    if (resp->status < 200 || resp->status > 299) {
        allegro_error_parse(resp, perr);
        prov_err(err, errlen, "allegro token endpoint: HTTP %ld: %s",
                 resp->status, perr->code);
        return -1;
    }

    return prov_oauth_tokens(resp, "allegro", ALLEGRO_LOAD_FLAGS, 1, NULL,
                             tokens, err, errlen);
}


static int
allegro_identity_request(const prov_conf_t *pc, const prov_auth_t *auth,
    http_req_t *req, char *err, size_t errlen)
{
    http_req_init(req, "GET");

    if (http_req_url(req, "%.*s/me", prov_base_len(pc->api_url),
                     pc->api_url) != 0)
    {
        prov_err(err, errlen, "out of memory");
        return -1;
    }

    return allegro_api_req(pc, auth, req, err, errlen);
}


static int
allegro_identity_parse(const http_resp_t *resp, prov_identity_t *id,
    char *err, size_t errlen)
{
    json_t      *root;
    const char  *uid, *login;

    memset(id, 0, sizeof(*id));

    root = prov_json_load(resp, "allegro", ALLEGRO_LOAD_FLAGS, err, errlen);
    if (root == NULL) {
        return -1;
    }

    uid = prov_json_str(root, "id");
    login = prov_json_str(root, "login");

    if (uid == NULL || uid[0] == '\0' || strlen(uid) >= sizeof(id->account_id))
    {
        json_decref(root);
        prov_err(err, errlen, "allegro /me: no usable id");
        return -1;
    }

    allegro_copy(id->account_id, sizeof(id->account_id), uid);
    allegro_copy(id->display_name, sizeof(id->display_name),
                 login ? login : uid);
    json_decref(root);

    return 0;
}


static int
allegro_page_request(const prov_conf_t *pc, const prov_auth_t *auth,
    const prov_ask_t *ask, http_req_t *req, char *err, size_t errlen)
{
    int            rc, b;
    char          *lte, *gte, *from;
    json_t        *holder;
    allegro_cur_t  cur;

    http_req_init(req, "GET");
    b = prov_base_len(pc->api_url);

    if (strcmp(ask->stream, "order-events") == 0) {
        if (ask->cursor == NULL) {
            rc = http_req_url(req, "%.*s/order/event-stats", b, pc->api_url);

        } else {
            from = http_escape(ask->cursor);
            rc = from == NULL
                 ? -1
                 : http_req_url(req, "%.*s/order/events?from=%s&limit=%d", b,
                                pc->api_url, from,
                                allegro_limit(pc, ALLEGRO_EVENTS_MAX));
            free(from);
        }

        if (rc != 0) {
            prov_err(err, errlen, "out of memory");
            return -1;
        }

        return allegro_api_req(pc, auth, req, err, errlen);
    }

    if (strcmp(ask->stream, "checkout-forms") != 0) {
        prov_err(err, errlen, "allegro has no stream %.64s", ask->stream);
        return -1;
    }

    memset(&cur, 0, sizeof(cur));
    cur.gte = ask->since;
    holder = NULL;

    if (ask->cursor != NULL
        && allegro_cursor(ask->cursor, &cur, &holder) != 0)
    {
        prov_err(err, errlen, "allegro checkout-forms: bad cursor");
        return -1;
    }

    lte = cur.lte ? http_escape(cur.lte) : NULL;
    gte = cur.gte ? http_escape(cur.gte) : NULL;

    rc = -1;
    if ((cur.lte == NULL || lte != NULL) && (cur.gte == NULL || gte != NULL))
    {
        rc = http_req_url(req, "%.*s/order/checkout-forms?limit=%d"
                          "&offset=%lld&sort=-updatedAt%s%s%s%s", b,
                          pc->api_url, allegro_limit(pc, ALLEGRO_FORMS_MAX),
                          (long long) cur.skip,
                          gte ? "&updatedAt.gte=" : "", gte ? gte : "",
                          lte ? "&updatedAt.lte=" : "", lte ? lte : "");
    }

    free(lte);
    free(gte);
    json_decref(holder);

    if (rc != 0) {
        prov_err(err, errlen, "out of memory");
        return -1;
    }

    return allegro_api_req(pc, auth, req, err, errlen);
}


static int
allegro_page_parse(const prov_conf_t *pc, const prov_ask_t *ask,
    const http_resp_t *resp, prov_page_t *page, char *err, size_t errlen)
{
    int      rc;
    json_t  *root;

    memset(page, 0, sizeof(*page));
    page->total = -1;

    root = prov_json_load(resp, "allegro", ALLEGRO_LOAD_FLAGS, err, errlen);
    if (root == NULL) {
        return -1;
    }

    page->records = json_array();
    if (page->records == NULL) {
        json_decref(root);
        prov_err(err, errlen, "out of memory");
        return -1;
    }

    if (strcmp(ask->stream, "checkout-forms") == 0) {
        rc = allegro_forms_parse(pc, ask, root, page, err, errlen);

    } else if (strcmp(ask->stream, "order-events") == 0) {
        rc = allegro_events_parse(pc, ask, root, page, err, errlen);

    } else {
        prov_err(err, errlen, "allegro has no stream %.64s", ask->stream);
        rc = -1;
    }

    json_decref(root);

    if (rc != 0) {
        prov_page_free(page);
    }

    return rc;
}


static int
allegro_forms_parse(const prov_conf_t *pc, const prov_ask_t *ask,
    json_t *root, prov_page_t *page, char *err, size_t errlen)
{
    size_t          i, n, same;
    json_t         *forms, *form, *rec, *tc, *holder, *next;
    json_int_t      skip;
    const char     *last, *u;
    allegro_cur_t   cur;

    forms = json_object_get(root, "checkoutForms");
    tc = json_object_get(root, "totalCount");

    if (!json_is_array(forms) || (tc != NULL && !json_is_integer(tc))) {
        prov_err(err, errlen, "allegro checkout-forms: not a list of "
                    "checkout forms");
        return -1;
    }

    memset(&cur, 0, sizeof(cur));
    cur.gte = ask->since;
    cur.total = tc ? json_integer_value(tc) : -1;
    holder = NULL;

    if (ask->cursor != NULL
        && allegro_cursor(ask->cursor, &cur, &holder) != 0)
    {
        prov_err(err, errlen, "allegro checkout-forms: bad cursor");
        return -1;
    }

    json_array_foreach(forms, i, form) {
        rec = allegro_order(form, err, errlen);
        if (rec == NULL || json_array_append_new(page->records, rec) != 0) {
            json_decref(holder);
            return -1;
        }
    }

    n = json_array_size(forms);
    page->total = cur.total;

    /* a short page, or the window's count reached: the end */
    if (n == 0 || n < (size_t) allegro_limit(pc, ALLEGRO_FORMS_MAX)
        || (tc != NULL && cur.skip + (json_int_t) n >= json_integer_value(tc)))
    {
        json_decref(holder);
        return 0;
    }

    /* the next window ends at the last form read, past those read at its
     * very time (identical text: one API, one format) */
    last = prov_json_str(json_array_get(forms, n - 1), "updatedAt");
    if (last == NULL) {
        json_decref(holder);
        prov_err(err, errlen, "allegro checkout-forms: a form without "
                    "updatedAt; cannot page");
        return -1;
    }

    for (same = 0; same < n; same++) {
        u = prov_json_str(json_array_get(forms, n - 1 - same), "updatedAt");
        if (u == NULL || strcmp(u, last) != 0) {
            break;
        }
    }

    skip = (json_int_t) same;
    if (same == n && cur.lte != NULL && strcmp(cur.lte, last) == 0) {
        skip += cur.skip;
    }

    next = json_pack("{s:s, s:I, s:s*, s:I}", "lte", last, "skip", skip,
                     "gte", cur.gte, "total", cur.total);
    page->next_cursor = next ? json_dumps(next, JSON_COMPACT) : NULL;
    json_decref(next);
    json_decref(holder);

    if (page->next_cursor == NULL) {
        prov_err(err, errlen, "out of memory");
        return -1;
    }

    return 0;
}


static int
allegro_events_parse(const prov_conf_t *pc, const prov_ask_t *ask,
    json_t *root, prov_page_t *page, char *err, size_t errlen)
{
    size_t       i, j, n;
    json_t      *events, *ev, *t;
    const char  *id, *last, *form, *rev;

    if (ask->cursor == NULL) {
        /* event-stats: where the journal starts */
        t = json_object_get(root, "latestEvent");
        if (t != NULL && !json_is_null(t) && !json_is_object(t)) {
            prov_err(err, errlen, "allegro event-stats: bad latestEvent");
            return -1;
        }
        id = prov_json_str(root, "latestEvent.id");
        page->total = 0;
        if (id != NULL) {
            page->final_cursor = strdup(id);
            if (page->final_cursor == NULL) {
                prov_err(err, errlen, "out of memory");
                return -1;
            }
        }
        return 0;
    }

    events = json_object_get(root, "events");
    if (!json_is_array(events)) {
        prov_err(err, errlen, "allegro order-events: no events list");
        return -1;
    }

    page->refetch = json_array();
    if (page->refetch == NULL) {
        prov_err(err, errlen, "out of memory");
        return -1;
    }

    last = NULL;

    json_array_foreach(events, i, ev) {
        id = prov_json_str(ev, "id");
        if (id == NULL || id[0] == '\0') {
            prov_err(err, errlen, "allegro order-events: event %zu has "
                        "no id", i);
            return -1;
        }
        last = id;

        form = prov_json_str(ev, "order.checkoutForm.id");
        if (form == NULL) {
            continue;
        }

        /* the revision lets the sync skip a form it has already */
        rev = prov_json_str(ev, "order.checkoutForm.revision");

        n = json_array_size(page->refetch);
        for (j = 0; j < n; j++) {
            t = json_array_get(page->refetch, j);

            if (strcmp(prov_json_str(t, "id"), form) == 0) {
                /* named again: the later event has the newer revision */
                if (rev != NULL) {
                    json_object_set_new(t, "revision", json_string(rev));
                } else {
                    json_object_del(t, "revision");
                }
                break;
            }
        }

        if (j == n
            && json_array_append_new(page->refetch,
                                     json_pack("{s:s, s:s, s:s*}", "stream",
                                               "checkout-forms", "id", form,
                                               "revision", rev))
               != 0)
        {
            prov_err(err, errlen, "out of memory");
            return -1;
        }
    }

    n = json_array_size(events);

    if (n > 0 && n >= (size_t) allegro_limit(pc, ALLEGRO_EVENTS_MAX)) {
        page->next_cursor = strdup(last);
        if (page->next_cursor == NULL) {
            prov_err(err, errlen, "out of memory");
            return -1;
        }
        return 0;
    }

    page->final_cursor = strdup(last ? last : ask->cursor);
    if (page->final_cursor == NULL) {
        prov_err(err, errlen, "out of memory");
        return -1;
    }

    return 0;
}


static int
allegro_record_request(const prov_conf_t *pc, const prov_auth_t *auth,
    const char *stream, const char *id, http_req_t *req, char *err,
    size_t errlen)
{
    int    rc;
    char  *eid;

    http_req_init(req, "GET");

    if (strcmp(stream, "checkout-forms") != 0) {
        prov_err(err, errlen, "allegro fetches no single %.64s", stream);
        return -1;
    }

    eid = http_escape(id);
    rc = eid == NULL
         ? -1
         : http_req_url(req, "%.*s/order/checkout-forms/%s",
                        prov_base_len(pc->api_url), pc->api_url, eid);
    free(eid);

    if (rc != 0) {
        prov_err(err, errlen, "out of memory");
        return -1;
    }

    return allegro_api_req(pc, auth, req, err, errlen);
}


static int
allegro_record_parse(const prov_conf_t *pc, const char *stream,
    const http_resp_t *resp, prov_page_t *page, char *err, size_t errlen)
{
    json_t  *root, *rec;

    memset(page, 0, sizeof(*page));
    page->total = -1;

    if (strcmp(stream, "checkout-forms") != 0) {
        prov_err(err, errlen, "allegro fetches no single %.64s", stream);
        return -1;
    }

    root = prov_json_load(resp, "allegro", ALLEGRO_LOAD_FLAGS, err, errlen);
    if (root == NULL) {
        return -1;
    }

    rec = allegro_order(root, err, errlen);
    json_decref(root);

    if (rec == NULL) {
        return -1;
    }

    page->records = json_array();
    if (page->records == NULL
        || json_array_append_new(page->records, rec) != 0)
    {
        prov_page_free(page);
        prov_err(err, errlen, "out of memory");
        return -1;
    }

    page->total = 1;

    return 0;
}


/* {"error", "error_description"} (OAuth) or {"errors": [{"code",
 * "message", "userMessage", ...}]} (the API) */
static void
allegro_error_parse(const http_resp_t *resp, prov_error_t *perr)
{
    json_t       *root, *e0;
    const char   *code, *msg;
    json_error_t  je;

    (void) snprintf(perr->code, sizeof(perr->code), "http_%ld",
                    resp->status);
    (void) snprintf(perr->message, sizeof(perr->message), "HTTP %ld",
                    resp->status);

    if (resp->body == NULL) {
        return;
    }

    root = json_loadb(resp->body, resp->len, ALLEGRO_LOAD_FLAGS, &je);
    if (!json_is_object(root)) {
        json_decref(root);
        return;
    }

    code = prov_json_str(root, "error");
    msg = prov_json_str(root, "error_description");

    if (code == NULL) {
        e0 = json_array_get(json_object_get(root, "errors"), 0);
        code = prov_json_str(e0, "code");
        msg = prov_json_str(e0, "message");
        if (msg == NULL) {
            msg = prov_json_str(e0, "userMessage");
        }
    }

    if (code != NULL && code[0] != '\0') {
        allegro_copy(perr->code, sizeof(perr->code), code);
    }

    if (msg != NULL && msg[0] != '\0') {
        allegro_copy(perr->message, sizeof(perr->message), msg);
    }

    json_decref(root);
}


/* the canonical order of one checkout form; NULL with err when the form
 * lacks what an order needs */
static json_t *
allegro_order(json_t *form, char *err, size_t errlen)
{
    size_t       i;
    json_t      *lines, *items, *item, *cust, *rec;
    int64_t      total;
    const char  *id, *amount, *currency, *updated, *ordered;

    id = prov_json_str(form, "id");
    amount = prov_json_str(form, "summary.totalToPay.amount");
    currency = prov_json_str(form, "summary.totalToPay.currency");
    items = json_object_get(form, "lineItems");

    if (id == NULL || id[0] == '\0') {
        prov_err(err, errlen, "allegro checkout form without an id");
        return NULL;
    }

    if (amount == NULL || currency == NULL
        || prov_decimal_to_minor(amount, currency, &total) != 0)
    {
        prov_err(err, errlen, "allegro checkout form %.64s: no usable "
                    "summary.totalToPay", id);
        return NULL;
    }

    if (items != NULL && !json_is_array(items)) {
        prov_err(err, errlen, "allegro checkout form %.64s: lineItems "
                    "is not a list", id);
        return NULL;
    }

    lines = json_array();
    if (lines == NULL) {
        prov_err(err, errlen, "out of memory");
        return NULL;
    }

    json_array_foreach(items, i, item) {
        if (allegro_line(lines, item, currency, err, errlen) != 0) {
            json_decref(lines);
            return NULL;
        }
    }

    if (allegro_delivery(lines, form, currency, err, errlen) != 0) {
        json_decref(lines);
        return NULL;
    }

    updated = prov_json_str(form, "updatedAt");
    ordered = prov_json_str(json_array_get(items, 0), "boughtAt");
    cust = allegro_customer(form);

    rec = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s?, s:s?, s:o, s:o, s:O}",
                    "type", "order",
                    "external_id", id,
                    "status", allegro_status(form),
                    "currency", currency,
                    "total_minor", (json_int_t) total,
                    "ordered_at", ordered ? ordered : updated,
                    "external_updated_at", updated,
                    "customer", cust ? cust : json_null(),
                    "lines", lines,
                    "raw", form);
    if (rec == NULL) {
        prov_err(err, errlen, "allegro checkout form %.64s: cannot "
                    "build the record", id);
    }

    return rec;
}


static const char *
allegro_status(json_t *form)
{
    const char  *s, *f;

    s = prov_json_str(form, "status");
    f = prov_json_str(form, "fulfillment.status");

    if (s == NULL) {
        return "pending";
    }

    if (strcmp(s, "CANCELLED") == 0) {
        return "cancelled";
    }

    if (strcmp(s, "READY_FOR_PROCESSING") == 0) {
        /* RETURNED: every item came back and the seller refunded it */
        if (f != NULL && strcmp(f, "RETURNED") == 0) {
            return "refunded";
        }
        return prov_json_str(form, "payment.finishedAt") ? "paid" : "pending";
    }

    /* BOUGHT, FILLED_IN and anything new */
    return "pending";
}


/*
 * One line of a line item: total_minor = quantity x unit price, exactly.
 */
static int
allegro_line(json_t *lines, json_t *item, const char *currency, char *err,
    size_t errlen)
{
    char         qtext[32], rate[32];
    json_t      *q, *line, *prod;
    int64_t      unit, total;
    json_int_t   qty;
    const char  *price, *oid, *name, *sku, *r;

    q = json_object_get(item, "quantity");
    price = prov_json_str(item, "price.amount");
    oid = prov_json_str(item, "offer.id");
    name = prov_json_str(item, "offer.name");
    sku = prov_json_str(item, "offer.external.id");
    r = prov_json_str(item, "tax.rate");

    if (!json_is_integer(q) || json_integer_value(q) < 1 || price == NULL
        || prov_decimal_to_minor(price, currency, &unit) != 0)
    {
        prov_err(err, errlen, "allegro line item without a usable "
                    "quantity or price");
        return -1;
    }

    qty = json_integer_value(q);

    if (__builtin_mul_overflow(unit, (int64_t) qty, &total)) {
        prov_err(err, errlen, "allegro line item total out of range");
        return -1;
    }

    (void) snprintf(qtext, sizeof(qtext), "%lld", (long long) qty);

    if (r == NULL || allegro_rate(r, rate, sizeof(rate)) != 0) {
        rate[0] = '\0';
    }

    prod = NULL;
    if (oid != NULL) {
        prod = json_pack("{s:s, s:s?, s:s?, s:s, s:s, s:s?, s:O}",
                         "external_id", oid,
                         "sku", sku,
                         "name", name,
                         "unit_price", price,
                         "currency", currency,
                         "vat_rate", rate[0] ? rate : NULL,
                         "raw", json_object_get(item, "offer"));
        if (prod == NULL) {
            prov_err(err, errlen, "out of memory");
            return -1;
        }
    }

    line = json_pack("{s:o, s:s?, s:s, s:s, s:s?, s:I}",
                     "product", prod ? prod : json_null(),
                     "description", name ? name : "",
                     "quantity", qtext,
                     "unit_price", price,
                     "vat_rate", rate[0] ? rate : NULL,
                     "total_minor", (json_int_t) total);

    if (line == NULL || json_array_append_new(lines, line) != 0) {
        prov_err(err, errlen, "out of memory");
        return -1;
    }

    return 0;
}


/* the delivery cost as a line of its own, when there is one */
static int
allegro_delivery(json_t *lines, json_t *form, const char *currency,
    char *err, size_t errlen)
{
    json_t      *line;
    int64_t      cost;
    const char  *amount;

    amount = prov_json_str(form, "delivery.cost.amount");
    if (amount == NULL) {
        return 0;
    }

    if (prov_decimal_to_minor(amount, currency, &cost) != 0) {
        prov_err(err, errlen, "allegro: bad delivery.cost.amount");
        return -1;
    }

    if (cost <= 0) {
        return 0;
    }

    line = json_pack("{s:n, s:s, s:s, s:s, s:n, s:I}",
                     "product",
                     "description", "Delivery",
                     "quantity", "1",
                     "unit_price", amount,
                     "vat_rate",
                     "total_minor", (json_int_t) cost);

    if (line == NULL || json_array_append_new(lines, line) != 0) {
        prov_err(err, errlen, "out of memory");
        return -1;
    }

    return 0;
}


/*
 * The buyer as a canonical customer (without "type"): the invoice data when
 * the buyer asked for an invoice, else the delivery address, else the
 * buyer's own address.  NULL when the form has no buyer.
 */
static json_t *
allegro_customer(json_t *form)
{
    int          inv;
    json_t      *buyer, *addr, *a, *ids, *cust;
    char        *full;
    const char  *name, *first, *last, *tax, *zip, *street, *city, *cc;

    buyer = json_object_get(form, "buyer");
    if (!json_is_object(buyer)) {
        return NULL;
    }

    inv = json_is_true(prov_json_get(form, "invoice.required"));
    a = inv ? prov_json_get(form, "invoice.address") : NULL;
    if (!json_is_object(a)) {
        a = prov_json_get(form, "delivery.address");
    }
    if (!json_is_object(a)) {
        a = json_object_get(buyer, "address");
    }

    full = NULL;
    name = inv ? prov_json_str(form, "invoice.address.company.name") : NULL;
    if (name == NULL) {
        name = prov_json_str(buyer, "companyName");
    }
    if (name == NULL) {
        first = prov_json_str(buyer, "firstName");
        last = prov_json_str(buyer, "lastName");
        if (first != NULL || last != NULL) {
            if (asprintf(&full, "%s%s%s", first ? first : "",
                         first && last ? " " : "", last ? last : "") < 0)
            {
                return NULL;
            }
            name = full;
        }
    }
    if (name == NULL) {
        name = prov_json_str(buyer, "login");
    }

    tax = NULL;
    if (inv) {
        ids = prov_json_get(form, "invoice.address.company.ids");
        tax = prov_json_str(json_array_get(ids, 0), "value");
        if (tax == NULL) {
            tax = prov_json_str(form, "invoice.address.company.taxId");
        }
    }

    street = prov_json_str(a, "street");
    city = prov_json_str(a, "city");
    zip = prov_json_str(a, "zipCode");
    if (zip == NULL) {
        zip = prov_json_str(a, "postCode");
    }
    cc = prov_json_str(a, "countryCode");

    addr = json_object();
    if (addr == NULL
        || (street && json_object_set_new(addr, "street",
                                          json_string(street)) != 0)
        || (city && json_object_set_new(addr, "city", json_string(city)) != 0)
        || (zip && json_object_set_new(addr, "postal_code",
                                       json_string(zip)) != 0)
        || (cc && json_object_set_new(addr, "country", json_string(cc)) != 0))
    {
        json_decref(addr);
        free(full);
        return NULL;
    }

    cust = json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?, s:o, s:O}",
                     "external_id", prov_json_str(buyer, "id"),
                     "name", name,
                     "email", prov_json_str(buyer, "email"),
                     "tax_id", tax,
                     "country", cc,
                     "address", addr,
                     "raw", buyer);
    free(full);

    return cust;
}


/* {"lte", "skip", "gte", "total"}; *holder keeps the strings */
static int
allegro_cursor(const char *text, allegro_cur_t *cur, json_t **holder)
{
    json_t        *c, *k, *l, *g, *t;
    json_error_t   je;

    c = json_loads(text, ALLEGRO_LOAD_FLAGS, &je);
    k = json_object_get(c, "skip");
    l = json_object_get(c, "lte");
    g = json_object_get(c, "gte");
    t = json_object_get(c, "total");

    if (!json_is_object(c) || !json_is_integer(k)
        || json_integer_value(k) < 0 || json_integer_value(k) > INT32_MAX
        || !json_is_string(l) || (g != NULL && !json_is_string(g))
        || (t != NULL && !json_is_integer(t)))
    {
        json_decref(c);
        return -1;
    }

    cur->skip = json_integer_value(k);
    cur->lte = json_string_value(l);
    if (g != NULL) {
        cur->gte = json_string_value(g);
    }
    cur->total = t ? json_integer_value(t) : -1;
    *holder = c;

    return 0;
}


static int
allegro_api_req(const prov_conf_t *pc, const prov_auth_t *auth,
    http_req_t *req, char *err, size_t errlen)
{
    if (auth == NULL || auth->access_token == NULL) {
        http_req_free(req);
        prov_err(err, errlen, "allegro: no access token");
        return -1;
    }

    if (http_req_header(req, "Accept: " ALLEGRO_MEDIA) != 0
        || http_req_header(req, "Authorization: Bearer %s",
                           auth->access_token) != 0)
    {
        http_req_free(req);
        prov_err(err, errlen, "out of memory");
        return -1;
    }

    return 0;
}


static int
allegro_limit(const prov_conf_t *pc, int max)
{
    if (pc->page_size <= 0) {
        return max < 100 ? max : 100;
    }

    return pc->page_size < max ? pc->page_size : max;
}


/* "23.00" -> "23", "5.50" -> "5.5"; -1 unless plain decimal text */
static int
allegro_rate(const char *text, char *out, size_t len)
{
    size_t       n, i;
    const char  *dot;

    n = strlen(text);
    if (n == 0 || n >= len || strspn(text, "0123456789.") != n
        || text[0] == '.' || text[n - 1] == '.')
    {
        return -1;
    }

    dot = strchr(text, '.');
    if (dot != NULL && strchr(dot + 1, '.') != NULL) {
        return -1;
    }

    memcpy(out, text, n + 1);

    if (dot != NULL) {
        i = n;
        while (i > 0 && out[i - 1] == '0') {
            out[--i] = '\0';
        }
        if (i > 0 && out[i - 1] == '.') {
            out[--i] = '\0';
        }
    }

    return 0;
}


/* a bounded, printable copy (control bytes become '?') */
static void
allegro_copy(char *dst, size_t len, const char *src)
{
    size_t  i;

    for (i = 0; i + 1 < len && src[i] != '\0'; i++) {
        dst[i] = ((unsigned char) src[i] < 0x20 || src[i] == 0x7f)
                 ? '?' : src[i];
    }

    dst[i] = '\0';
}


