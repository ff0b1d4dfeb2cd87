
/*
 * hubgated: invoices, credit notes, numbering series and the seller
 * (DESIGN §4, Invoices; sql/015_invoicing.sql).
 *
 * The model and its totals are invoice/ (EN 16931, exact decimals); the
 * numbering and the lifecycle are SQL functions that lock what they
 * change, so two requests never take one number and a rolled back request
 * gives its number back.  A document is rendered from the stored row on
 * every GET, in the format the client asked for.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "accept.h"
#include "validate.h"
#include "../clock.h"
#include "../invoice/invoice.h"
#include "../invoice/row.h"


#define H_INV_LIST_DEFAULT  50
#define H_INV_LIST_MAX      500
#define H_INV_PAYMENT_DAYS  14


typedef enum {
    H_FMT_JSON = 0,
    H_FMT_UBL,
    H_FMT_RO,
    H_FMT_KSEF,
    H_FMT_PDF,
    H_FMT_NONE
} h_fmt_e;


static void h_inv_invalid(api_req_t *r, const invoice_errs_t *errs);

/* a series name keeps the settings' invoiceSeries rule (validate.h) */
#define h_inv_series_name_ok(s)  (validate_series_name((s), strlen(s)) == 0)
static json_t *h_inv_profile(api_req_t *r, int *failed);
static void h_inv_answer(api_req_t *r, int status, const char *id);
static void h_inv_answer_new(api_req_t *r, json_t *ins, json_t *full);
static void h_inv_store(api_req_t *r, invoice_t *inv, json_t *extra,
    const json_t *corrects, const char *series, const char *today,
    int issue, const char *action, json_t *details);
static json_t *h_inv_full(api_req_t *r, PGresult *res, const char *today);
static h_fmt_e h_inv_format(api_req_t *r);
static void h_inv_transition(api_req_t *r, const char *action);
static json_t *h_inv_insert(api_req_t *r, const char *series,
    const char *today, int issue, json_t *item);
static int h_inv_credit_lines(api_req_t *r, json_t *doc, json_t *req,
    json_t **corrects);
static int h_inv_only_keys(api_req_t *r, json_t *body,
    const char *const *keys, const char *msg);


/* 422 msg unless every member of body is one of keys; 0 or -1 */
static int
h_inv_only_keys(api_req_t *r, json_t *body, const char *const *keys,
    const char *msg)
{
    const char  *key;
    json_t      *unused;
    size_t       i;

    json_object_foreach(body, key, unused) {
        for (i = 0; keys[i] != NULL && strcmp(keys[i], key) != 0; i++) {
            /* void */
        }
        if (keys[i] == NULL) {
            api_error(r, 422, "validation_failed", "%s", msg);
            return -1;
        }
    }

    return 0;
}


/* 422 with every problem the model found, by path */
static void
h_inv_invalid(api_req_t *r, const invoice_errs_t *errs)
{
    json_t  *details;
    size_t   i;

    details = json_array();
    for (i = 0; details != NULL && i < errs->n; i++) {
        json_array_append_new(details,
                              json_pack("{s:s, s:s, s:s}",
                                        "field", errs->e[i].path,
                                        "code", "invalid",
                                        "message", errs->e[i].msg));
    }

    if (details == NULL) {
        api_error(r, 500, "internal", "out of memory");
        return;
    }

    api_error_json(r, 422,
                   json_pack("{s:{s:s, s:s, s:o}}", "error",
                             "code", "validation_failed",
                             "message",
                             errs->n > 0 ? errs->e[0].msg
                                         : "the invoice is not valid",
                             "details", details));
}


/* the tenant's seller profile, or NULL (*failed after answering 500) */
static json_t *
h_inv_profile(api_req_t *r, int *failed)
{
    PGresult  *res;
    json_t    *j;
    char       err[512];

    *failed = 0;

    res = db_exec(r->db, DB_S_SELLER_GET, 0, NULL, err, sizeof(err));
    if (res == NULL) {
        api_db_error(r, err);
        *failed = 1;
        return NULL;
    }

    j = PQntuples(res) == 1
        ? json_loads(PQgetvalue(res, 0, 0), 0, NULL) : NULL;
    PQclear(res);

    return j;
}


/* the lifecycle fields with the rendered document: GET's JSON */
static json_t *
h_inv_full(api_req_t *r, PGresult *res, const char *today)
{
    json_t     *o, *doc;
    invoice_t  *inv;
    char        err[256];

    o = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    if (o == NULL) {
        api_error(r, 500, "internal", "out of memory");
        return NULL;
    }

    if (invoice_row_load(PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
                         PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 5),
                         PQgetvalue(res, 0, 6), today, &inv, err,
                         sizeof(err))
        != INVOICE_OK)
    {
        json_decref(o);
        api_error(r, 500, "internal", "%s", err);
        return NULL;
    }

    if (invoice_to_json(inv, &doc) != INVOICE_OK) {
        invoice_free(inv);
        json_decref(o);
        api_error(r, 500, "internal", "out of memory");
        return NULL;
    }
    invoice_free(inv);

    if (PQgetisnull(res, 0, 4)) {
        json_object_set_new(doc, "number", json_null());
        json_object_set_new(doc, "issue_date", json_null());
    }

    json_object_set_new(o, "document", doc);
    return o;
}


/* answers status with GET's JSON of invoice id, in the transaction */
static void
h_inv_answer(api_req_t *r, int status, const char *id)
{
    PGresult  *res;
    json_t    *o;
    char       err[512], today[11];
    const char *v[1];

    v[0] = id;
    res = db_exec(r->db, DB_S_INV_GET, 1, v, err, sizeof(err));
    if (res == NULL) {
        api_db_error(r, err);
        return;
    }

    if (PQntuples(res) != 1) {
        PQclear(res);
        api_error(r, 404, "not_found", "no such invoice");
        return;
    }

    clock_date(clock_now_ms(), today);
    o = h_inv_full(r, res, today);
    PQclear(res);

    if (o != NULL) {
        api_json(r, status, o);
    }
}


/*
 * 201 for an invoice just inserted: its row (ins, stolen) with the
 * document as computed before the insert (full, stolen), numbered and
 * dated as the row is.  No second read: the series' lock is held until
 * the commit, so the less done after the insert, the sooner the next
 * issuer gets its number.
 */
static void
h_inv_answer_new(api_req_t *r, json_t *ins, json_t *full)
{
    json_object_set(full, "number", json_object_get(ins, "number"));
    json_object_set(full, "issue_date", json_object_get(ins, "issue_date"));
    json_object_set(full, "due_date", json_object_get(ins, "due_date"));
    json_object_set_new(ins, "document", full);

    snprintf(r->location, sizeof(r->location), "%.*s/v1/invoices/%s",
             (int) (r->path - r->path_buf), r->path_buf,
             json_string_value(json_object_get(ins, "id")));

    api_json(r, 201, ins);
}


/*
 * ?format= (json, ubl, ro, ksef, pdf), else the first media range of
 * Accept that we make (q=0 ranges skipped), else H_FMT_NONE (406).
 */
static h_fmt_e
h_inv_format(api_req_t *r)
{
    static const struct {
        const char  *name;
        h_fmt_e      fmt;
    } names[] = {
        { "json", H_FMT_JSON }, { "ubl", H_FMT_UBL }, { "xml", H_FMT_UBL },
        { "ro", H_FMT_RO }, { "ksef", H_FMT_KSEF }, { "pdf", H_FMT_PDF }
    };
    static const char *const  types[] = {
        "application/json", "application/*", "*/*", "application/xml",
        "text/xml", "application/pdf"
    };
    static const h_fmt_e      fmts[] = {
        H_FMT_JSON, H_FMT_JSON, H_FMT_JSON, H_FMT_UBL, H_FMT_UBL, H_FMT_PDF
    };
    const char  *q;
    size_t       i;
    int          k;

    q = api_query(r, "format");
    if (q != NULL) {
        for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            if (strcmp(q, names[i].name) == 0) {
                return names[i].fmt;
            }
        }
        return H_FMT_NONE;
    }

    k = api_accept_pick(api_header(r, "Accept"), types,
                        sizeof(types) / sizeof(types[0]));
    if (k >= 0) {
        return fmts[k];
    }

    return H_FMT_NONE;
}


void
h_invoices_list(api_req_t *r)
{
    int          limit;
    char         err[512];
    h_page_t     pg;
    PGresult    *res;
    const char  *v[7], *state, *kind, *integ, *series;

    limit = h_page_args(r, H_INV_LIST_DEFAULT, H_INV_LIST_MAX, &pg);
    if (limit < 0) {
        return;
    }

    state = api_query(r, "state");
    kind = api_query(r, "kind");
    integ = api_query(r, "integration");
    series = api_query(r, "series");

    if (state != NULL && strcmp(state, "draft") != 0
        && strcmp(state, "issued") != 0 && strcmp(state, "paid") != 0
        && strcmp(state, "overdue") != 0 && strcmp(state, "cancelled") != 0)
    {
        api_error(r, 400, "bad_request",
                  "state must be draft, issued, paid, overdue or cancelled");
        return;
    }

    if (kind != NULL && strcmp(kind, "invoice") != 0
        && strcmp(kind, "credit_note") != 0)
    {
        api_error(r, 400, "bad_request", "kind must be invoice or credit_note");
        return;
    }

    if (integ != NULL && !h_uuid(integ)) {
        api_error(r, 400, "bad_request", "integration must be a uuid");
        return;
    }

    if (series != NULL && !h_inv_series_name_ok(series)) {
        api_error(r, 400, "bad_request", "series is not a series name");
        return;
    }

    if (api_tx_begin(r) != 0) {
        return;
    }

    v[0] = pg.cursor_us;
    v[1] = pg.cursor_id;
    v[2] = state;
    v[3] = kind;
    v[4] = integ;
    v[5] = series;
    v[6] = pg.lim;

    res = db_exec(r->db, DB_S_INV_LIST, 7, v, err, sizeof(err));
    if (res == NULL) {
        api_db_error(r, err);
        return;
    }

    h_page_answer(r, res, limit);
}


/*
 * invoices_insert() of one item; the inserted invoice's JSON (new ref),
 * or NULL after answering.
 */
static json_t *
h_inv_insert(api_req_t *r, const char *series, const char *today, int issue,
    json_t *item)
{
    PGresult    *res;
    json_t      *items, *ins, *one;
    char        *text, err[512];
    const char  *v[5];

    items = json_array();
    if (items == NULL || json_array_append(items, item) != 0
        || (text = json_dumps(items, JSON_COMPACT)) == NULL)
    {
        json_decref(items);
        api_error(r, 500, "internal", "out of memory");
        return NULL;
    }
    json_decref(items);

    v[0] = series;
    v[1] = today;
    v[2] = issue ? "true" : "false";
    v[3] = text;
    v[4] = "true";

    res = db_exec(r->db, DB_S_INV_INSERT, 5, v, err, sizeof(err));
    free(text);

    if (res == NULL) {
        api_db_error(r, err);
        return NULL;
    }

    if (!PQgetisnull(res, 0, 1)) {
        api_error(r, 409, "series_period", "%s", PQgetvalue(res, 0, 1));
        PQclear(res);
        return NULL;
    }

    ins = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);

    one = json_array_get(ins, 0);
    if (!json_is_object(one)) {
        json_decref(ins);
        api_error(r, 500, "internal", "the invoice was not stored");
        return NULL;
    }

    json_incref(one);
    json_decref(ins);
    return one;
}


/*
 * Stores a computed invoice (inv, freed here) by invoices_insert() and
 * answers 201 with it.  The item gets the members of extra (stolen, may
 * be NULL) and, line by line, corrects[i] as corrects_line_no (borrowed,
 * may be NULL); the audit entry is action with details (stolen) and the
 * number taken.
 */
static void
h_inv_store(api_req_t *r, invoice_t *inv, json_t *extra,
    const json_t *corrects, const char *series, const char *today,
    int issue, const char *action, json_t *details)
{
    json_t  *item, *full, *ins, *lines;
    char     target[96];
    size_t   i;

    item = invoice_row_item(inv);
    full = NULL;
    if (item != NULL && invoice_to_json(inv, &full) != INVOICE_OK) {
        full = NULL;
    }
    invoice_free(inv);

    if (item == NULL || full == NULL || extra == NULL || details == NULL
        || json_object_update(item, extra) != 0)
    {
        json_decref(item);
        json_decref(full);
        json_decref(extra);
        json_decref(details);
        api_error(r, 500, "internal", "out of memory");
        return;
    }
    json_decref(extra);

    lines = json_object_get(item, "lines");
    for (i = 0; corrects != NULL && i < json_array_size(lines); i++) {
        json_object_set(json_array_get(lines, i), "corrects_line_no",
                        json_array_get(corrects, i));
    }

    ins = h_inv_insert(r, series, today, issue, item);
    json_decref(item);
    if (ins == NULL) {
        json_decref(full);
        json_decref(details);
        return;
    }

    snprintf(target, sizeof(target), "invoice:%s",
             json_string_value(json_object_get(ins, "id")));
    json_object_set(details, "number", json_object_get(ins, "number"));
    if (api_audit(r, action, target, details) != 0) {
        json_decref(full);
        json_decref(ins);
        return;
    }

    h_inv_answer_new(r, ins, full);
}


/*
 * POST /v1/invoices: the API JSON of invoice.h plus "series" (default
 * "default") and "issue" (default false: a draft).  The number and the
 * issue date come from the series when the invoice is issued; the seller
 * and payment default to the seller profile.
 */
void
h_invoices_create(api_req_t *r)
{
    json_t          *body, *profile, *v;
    invoice_t       *inv;
    invoice_errs_t   errs;
    const char      *series;
    char             today[11], sbuf[VALIDATE_SERIES_MAX + 1];
    int              issue, failed, days;

    body = api_body_json(r);
    if (body == NULL) {
        return;
    }

    if (json_object_get(body, "number") != NULL
        || json_object_get(body, "issue_date") != NULL)
    {
        json_decref(body);
        api_error(r, 422, "validation_failed",
                  "number and issue_date are given by the series when the"
                  " invoice is issued");
        return;
    }

    v = json_object_get(body, "kind");
    if (v != NULL && !(json_is_string(v)
                       && strcmp(json_string_value(v), "invoice") == 0))
    {
        json_decref(body);
        api_error(r, 422, "validation_failed",
                  "kind must be invoice; a credit note is made by"
                  " POST /v1/invoices/{id}/credit-note");
        return;
    }

    v = json_object_get(body, "series");
    series = v == NULL ? "default" : json_string_value(v);
    if (series == NULL || !h_inv_series_name_ok(series)) {
        json_decref(body);
        api_error(r, 422, "validation_failed",
                  "series must be 1 to 64 of [A-Za-z0-9_/.-], starting with"
                  " a letter or digit");
        return;
    }
    snprintf(sbuf, sizeof(sbuf), "%s", series);
    series = sbuf;

    v = json_object_get(body, "issue");
    if (v != NULL && !json_is_boolean(v)) {
        json_decref(body);
        api_error(r, 422, "validation_failed", "issue must be a boolean");
        return;
    }
    issue = json_is_true(v);

    if (api_tx_begin(r) != 0) {
        json_decref(body);
        return;
    }

    profile = h_inv_profile(r, &failed);
    if (failed) {
        json_decref(body);
        return;
    }

    if (json_object_get(body, "seller") == NULL
        && json_object_get(profile, "seller") != NULL)
    {
        json_object_set(body, "seller", json_object_get(profile, "seller"));
    }
    if (json_object_get(body, "payment") == NULL
        && json_object_get(profile, "payment") != NULL)
    {
        json_object_set(body, "payment", json_object_get(profile, "payment"));
    }

    v = json_object_get(profile, "payment_days");
    days = json_is_integer(v) ? (int) json_integer_value(v)
                              : H_INV_PAYMENT_DAYS;
    json_decref(profile);

    clock_date(clock_now_ms(), today);
    json_object_set_new(body, "number", json_string(INVOICE_DRAFT_NUMBER));
    json_object_set_new(body, "issue_date", json_string(today));

    memset(&errs, 0, sizeof(errs));
    inv = NULL;
    if (invoice_from_json(body, &inv, &errs) != INVOICE_OK
        || invoice_compute(inv, &errs) != INVOICE_OK)
    {
        if (json_object_get(body, "seller") == NULL) {
            invoice_errs_add(&errs, "seller",
                             "no seller given and no seller profile"
                             " (PUT /v1/seller)");
        }
        json_decref(body);
        invoice_free(inv);
        h_inv_invalid(r, &errs);
        return;
    }
    json_decref(body);

    h_inv_store(r, inv, json_pack("{s:i}", "payment_days", days), NULL,
                series, today, issue,
                issue ? "invoice.issue" : "invoice.create",
                json_pack("{s:s}", "series", series));
}


void
h_invoice_get(api_req_t *r)
{
    static const char   *rnames[] = { "json", "ubl", "ubl-ro", "ksef", "pdf" };
    PGresult            *res;
    invoice_t           *inv;
    const invoice_renderer_t  *rd;
    invoice_render_opts_t      o;
    h_fmt_e              fmt;
    json_t              *full;
    unsigned char       *out;
    size_t               len;
    char                 err[512], today[11];
    const char          *v[1];

    if (!h_uuid(r->params[0])) {
        api_error(r, 404, "not_found", "no such invoice");
        return;
    }

    fmt = h_inv_format(r);
    if (fmt == H_FMT_NONE) {
        api_error(r, 406, "not_acceptable",
                  "invoices are application/json, application/xml (UBL),"
                  " application/pdf, or ?format=json|ubl|ro|ksef|pdf");
        return;
    }

    if (api_tx_begin(r) != 0) {
        return;
    }

    v[0] = r->params[0];
    res = db_exec(r->db, DB_S_INV_GET, 1, v, err, sizeof(err));
    if (res == NULL) {
        api_db_error(r, err);
        return;
    }

    if (PQntuples(res) != 1) {
        PQclear(res);
        api_error(r, 404, "not_found", "no such invoice");
        return;
    }

    clock_date(clock_now_ms(), today);

    if (fmt == H_FMT_JSON) {
        full = h_inv_full(r, res, today);
        PQclear(res);
        if (full != NULL) {
            api_json(r, 200, full);
        }
        return;
    }

    if (strcmp(PQgetvalue(res, 0, 3), "draft") == 0 && fmt != H_FMT_PDF) {
        PQclear(res);
        api_error(r, 409, "not_issued",
                  "a draft has no number yet: issue it before asking for"
                  " its UBL or FA(3)");
        return;
    }

    if (invoice_row_load(PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
                         PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 5),
                         PQgetvalue(res, 0, 6), today, &inv, err,
                         sizeof(err))
        != INVOICE_OK)
    {
        PQclear(res);
        api_error(r, 500, "internal", "%s", err);
        return;
    }
    PQclear(res);

    rd = invoice_renderer(rnames[fmt]);
    memset(&o, 0, sizeof(o));
    out = NULL;

    if (rd == NULL
        || rd->render(inv, &o, &out, &len, err, sizeof(err)) != INVOICE_OK)
    {
        invoice_free(inv);
        free(out);
        if (rd == NULL) {
            api_error(r, 501, "not_implemented", "%s is not built in",
                      rnames[fmt]);
        } else {
            api_error(r, 422, "render_failed", "%s", err);
        }
        return;
    }
    invoice_free(inv);

    api_raw(r, 200, rd->content_type, (const char *) out, len);
    free(out);
}


/* issue, pay, cancel */
static void
h_inv_transition(api_req_t *r, const char *action)
{
    PGresult    *res;
    json_t      *j, *e;
    const char  *code, *v[3];
    char         err[512], today[11], target[96], act[32];
    int          status;

    if (!h_uuid(r->params[0])) {
        api_error(r, 404, "not_found", "no such invoice");
        return;
    }

    if (api_tx_begin(r) != 0) {
        return;
    }

    clock_date(clock_now_ms(), today);
    v[0] = r->params[0];
    v[1] = action;
    v[2] = today;

    res = db_exec(r->db, DB_S_INV_TRANSITION, 3, v, err, sizeof(err));
    if (res == NULL) {
        api_db_error(r, err);
        return;
    }

    j = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);

    e = json_object_get(j, "error");
    if (e != NULL) {
        code = json_string_value(e);
        status = strcmp(code, "not_found") == 0 ? 404 : 409;
        api_error(r, status, code, "%s",
                  json_string_value(json_object_get(j, "message")));
        json_decref(j);
        return;
    }
    json_decref(j);

    snprintf(target, sizeof(target), "invoice:%s", r->params[0]);
    snprintf(act, sizeof(act), "invoice.%s", action);
    if (api_audit(r, act, target, NULL) != 0) {
        return;
    }

    h_inv_answer(r, 200, r->params[0]);
}


void
h_invoice_issue(api_req_t *r)
{
    h_inv_transition(r, "issue");
}


void
h_invoice_pay(api_req_t *r)
{
    h_inv_transition(r, "pay");
}


void
h_invoice_cancel(api_req_t *r)
{
    h_inv_transition(r, "cancel");
}


/*
 * The lines of a credit note, in doc (the corrected invoice's document,
 * changed in place): req NULL credits what is left of every line; else
 * req is [{"line": n, "quantity": "q"}], each at most what is left of
 * line n.  *corrects gets, per credit note line, the invoice line it
 * corrects.  0, or -1 after answering.
 */
static int
h_inv_credit_lines(api_req_t *r, json_t *doc, json_t *req,
    json_t **corrects)
{
    PGresult    *res;
    json_t      *lines, *out, *l, *x, *c;
    dec_t        left[1024], q, orig;
    char         err[512], buf[DEC_STR_MAX];
    const char  *v[1], *s, *qs;
    size_t       i, n, k;
    long         no;
    int64_t      m1, m2;
    int          whole, ok;

    lines = json_object_get(doc, "lines");
    n = json_array_size(lines);
    if (n == 0 || n > sizeof(left) / sizeof(left[0])) {
        api_error(r, 409, "not_creditable", "the invoice has %zu lines", n);
        return -1;
    }

    for (i = 0; i < n; i++) {
        s = json_string_value(json_object_get(json_array_get(lines, i),
                                              "quantity"));
        if (s == NULL || dec_parse(s, strlen(s), &left[i]) != DEC_OK) {
            api_error(r, 500, "internal", "stored line %zu has no quantity",
                      i + 1);
            return -1;
        }
    }

    v[0] = r->params[0];
    res = db_exec(r->db, DB_S_INV_CREDITED, 1, v, err, sizeof(err));
    if (res == NULL) {
        api_db_error(r, err);
        return -1;
    }

    for (k = 0; k < (size_t) PQntuples(res); k++) {
        no = strtol(PQgetvalue(res, k, 0), NULL, 10);
        s = PQgetvalue(res, k, 1);
        if (no >= 1 && (size_t) no <= n
            && dec_parse(s, strlen(s), &q) == DEC_OK
            && dec_to_minor(left[no - 1], 6, &m1) == DEC_OK
            && dec_to_minor(q, 6, &m2) == DEC_OK)
        {
            /* left = quantity - credited, at 6 places */
            left[no - 1] = dec_from_minor(m1 - m2, 6);
        }
    }
    PQclear(res);

    out = json_array();
    *corrects = json_array();

    if (req == NULL) {
        for (i = 0; i < n; i++) {
            if (dec_sign(left[i]) == 0) {
                continue;
            }
            l = json_deep_copy(json_array_get(lines, i));
            dec_format(dec_normalize(left[i]), buf, sizeof(buf));
            json_object_set_new(l, "quantity", json_string(buf));
            json_object_del(l, "id");
            json_array_append_new(out, l);
            json_array_append_new(*corrects, json_integer((json_int_t) i + 1));
        }

    } else {
        if (!json_is_array(req) || json_array_size(req) == 0) {
            json_decref(out);
            api_error(r, 422, "validation_failed",
                      "lines must be a non-empty array of {line, quantity}");
            return -1;
        }

        json_array_foreach(req, k, x) {
            c = json_object_get(x, "line");
            qs = json_string_value(json_object_get(x, "quantity"));
            ok = json_is_integer(c) && json_integer_value(c) >= 1
                 && (size_t) json_integer_value(c) <= n && qs != NULL
                 && dec_parse(qs, strlen(qs), &q) == DEC_OK
                 && dec_sign(q) > 0;
            if (!ok) {
                json_decref(out);
                api_error(r, 422, "validation_failed",
                          "lines[%zu]: line must be a line number of the"
                          " invoice and quantity a positive decimal string",
                          k);
                return -1;
            }

            i = (size_t) json_integer_value(c) - 1;
            l = json_array_get(lines, i);
            s = json_string_value(json_object_get(l, "quantity"));
            if (s == NULL || dec_parse(s, strlen(s), &orig) != DEC_OK
                || dec_cmp(q, left[i]) > 0 || dec_sign(orig) < 0)
            {
                json_decref(out);
                api_error(r, 409, "over_credit",
                          "line %zu: the quantity is more than is left to"
                          " credit", i + 1);
                return -1;
            }

            whole = dec_cmp(q, orig) == 0;
            if (!whole && json_array_size(json_object_get(l,
                                              "allowances_charges")) > 0)
            {
                json_decref(out);
                api_error(r, 422, "validation_failed",
                          "line %zu has allowances or charges: credit it in"
                          " full", i + 1);
                return -1;
            }

            /* what this entry credits is no longer left for the next
             * entry naming the same line */
            if (dec_to_minor(left[i], 6, &m1) != DEC_OK
                || dec_to_minor(q, 6, &m2) != DEC_OK)
            {
                json_decref(out);
                api_error(r, 422, "validation_failed",
                          "lines[%zu]: quantity has more than 6 decimals", k);
                return -1;
            }
            left[i] = dec_from_minor(m1 - m2, 6);

            l = json_deep_copy(l);
            json_object_set_new(l, "quantity", json_string(qs));
            json_object_del(l, "id");
            json_array_append_new(out, l);
            json_array_append_new(*corrects, json_integer((json_int_t) i + 1));
        }

        /* a part of the invoice: its document level amounts stay */
        json_object_set_new(doc, "allowances_charges", json_array());
        json_object_del(doc, "prepaid_amount");
        json_object_del(doc, "rounding_amount");
    }

    if (json_array_size(out) == 0) {
        json_decref(out);
        api_error(r, 409, "already_credited",
                  "every line of the invoice is credited already");
        return -1;
    }

    json_object_set_new(doc, "lines", out);
    return 0;
}


/*
 * POST /v1/invoices/{id}/credit-note {"reason", "lines": [{"line",
 * "quantity"}] (absent: all that is left), "series" (default: the
 * invoice's)}: an issued credit note referencing the invoice.
 */
void
h_invoice_credit_note(api_req_t *r)
{
    PGresult        *res;
    json_t          *body, *doc, *pre, *corrects, *v;
    invoice_t       *inv;
    invoice_errs_t   errs;
    const char      *state, *reason, *series, *vv[1];
    char             err[512], today[11], sbuf[80];

    if (!h_uuid(r->params[0])) {
        api_error(r, 404, "not_found", "no such invoice");
        return;
    }

    body = api_body_json(r);
    if (body == NULL) {
        return;
    }

    reason = json_string_value(json_object_get(body, "reason"));
    if (reason == NULL || reason[0] == '\0' || strlen(reason) > 256) {
        json_decref(body);
        api_error(r, 422, "validation_failed",
                  "reason is required: 1 to 256 bytes of UTF-8");
        return;
    }

    v = json_object_get(body, "series");
    if (v != NULL && (!json_is_string(v)
                      || !h_inv_series_name_ok(json_string_value(v))))
    {
        json_decref(body);
        api_error(r, 422, "validation_failed", "series is not a series name");
        return;
    }

    if (api_tx_begin(r) != 0) {
        json_decref(body);
        return;
    }

    /* the lock makes concurrent credit notes of one invoice queue */
    vv[0] = r->params[0];
    res = db_exec(r->db, DB_S_INV_LOCK, 1, vv, err, sizeof(err));
    if (res == NULL) {
        json_decref(body);
        api_db_error(r, err);
        return;
    }

    if (PQntuples(res) != 1) {
        PQclear(res);
        json_decref(body);
        api_error(r, 404, "not_found", "no such invoice");
        return;
    }

    state = PQgetvalue(res, 0, 3);
    if (strcmp(PQgetvalue(res, 0, 2), "invoice") != 0
        || (strcmp(state, "issued") != 0 && strcmp(state, "paid") != 0
            && strcmp(state, "overdue") != 0))
    {
        api_error(r, 409, "not_creditable",
                  "only an issued, paid or overdue invoice can be credited"
                  " (this is a%s %s %s)",
                  strcmp(state, "issued") == 0 ? "n" : "", state,
                  PQgetvalue(res, 0, 2));
        PQclear(res);
        json_decref(body);
        return;
    }

    doc = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
    pre = json_pack("{s:s, s:s}", "number", PQgetvalue(res, 0, 4),
                    "issue_date", PQgetvalue(res, 0, 5));
    snprintf(sbuf, sizeof(sbuf), "%s", PQgetvalue(res, 0, 7));
    PQclear(res);

    series = v != NULL ? json_string_value(v) : sbuf;

    if (doc == NULL || pre == NULL) {
        json_decref(doc);
        json_decref(pre);
        json_decref(body);
        api_error(r, 500, "internal", "out of memory");
        return;
    }

    corrects = NULL;
    if (h_inv_credit_lines(r, doc, json_object_get(body, "lines"), &corrects)
        != 0)
    {
        json_decref(corrects);
        json_decref(doc);
        json_decref(pre);
        json_decref(body);
        return;
    }

    clock_date(clock_now_ms(), today);
    json_object_set_new(doc, "kind", json_string("credit_note"));
    json_object_set_new(doc, "preceding_invoice", pre);
    json_object_set_new(doc, "correction_reason", json_string(reason));
    json_object_set_new(doc, "number", json_string(INVOICE_DRAFT_NUMBER));
    json_object_set_new(doc, "issue_date", json_string(today));
    json_object_del(doc, "due_date");

    memset(&errs, 0, sizeof(errs));
    inv = NULL;
    if (invoice_from_json(doc, &inv, &errs) != INVOICE_OK
        || invoice_compute(inv, &errs) != INVOICE_OK)
    {
        json_decref(corrects);
        json_decref(doc);
        json_decref(body);
        invoice_free(inv);
        h_inv_invalid(r, &errs);
        return;
    }
    json_decref(doc);

    h_inv_store(r, inv, json_pack("{s:s}", "corrects", r->params[0]),
                corrects, series, today, 1, "invoice.credit_note",
                json_pack("{s:s}", "corrects", r->params[0]));
    json_decref(corrects);
    json_decref(body);
}


void
h_series_get(api_req_t *r)
{
    PGresult    *res;
    char         name[API_PARAM_LEN], err[512], today[11];
    const char  *v[2];

    if (api_pct_decode(r->params[0], name, sizeof(name)) != 0
        || !h_inv_series_name_ok(name))
    {
        api_error(r, 404, "not_found", "no such series");
        return;
    }

    if (api_tx_begin(r) != 0) {
        return;
    }

    clock_date(clock_now_ms(), today);
    v[0] = name;
    v[1] = today;

    res = db_exec(r->db, DB_S_SERIES_GET, 2, v, err, sizeof(err));
    if (res == NULL) {
        api_db_error(r, err);
        return;
    }

    if (PQntuples(res) != 1) {
        PQclear(res);
        api_error(r, 404, "not_found", "no such series");
        return;
    }

    api_raw(r, 200, "application/json", PQgetvalue(res, 0, 0),
            PQgetlength(res, 0, 0));
    PQclear(res);
}


/* PUT /v1/invoice-series/{name} {"pattern", "reset", "next_seq"} */
void
h_series_put(api_req_t *r)
{
    static const char *const  series_keys[] = { "pattern", "reset",
                                                "next_seq", NULL };
    PGresult    *res;
    json_t      *body, *j, *e, *p, *rs, *ns;
    char         name[API_PARAM_LEN], err[512], today[11], seq[24];
    char         target[96];
    const char  *v[5];

    if (api_pct_decode(r->params[0], name, sizeof(name)) != 0
        || !h_inv_series_name_ok(name))
    {
        api_error(r, 422, "validation_failed",
                  "a series name is 1 to 64 of [A-Za-z0-9_/.-] (a / as"
                  " %%2F), starting with a letter or digit");
        return;
    }

    body = api_body_json(r);
    if (body == NULL) {
        return;
    }

    if (h_inv_only_keys(r, body, series_keys,
                        "unknown field: a series has pattern, reset and"
                        " next_seq")
        != 0)
    {
        json_decref(body);
        return;
    }

    p = json_object_get(body, "pattern");
    rs = json_object_get(body, "reset");
    ns = json_object_get(body, "next_seq");

    if ((p != NULL && !json_is_string(p)) || (rs != NULL && !json_is_string(rs))
        || (ns != NULL && (!json_is_integer(ns) || json_integer_value(ns) < 1)))
    {
        json_decref(body);
        api_error(r, 422, "validation_failed",
                  "pattern and reset are strings, next_seq a positive"
                  " integer");
        return;
    }

    snprintf(seq, sizeof(seq), "%lld",
             ns != NULL ? (long long) json_integer_value(ns) : 0LL);

    if (api_tx_begin(r) != 0) {
        json_decref(body);
        return;
    }

    clock_date(clock_now_ms(), today);
    v[0] = name;
    v[1] = p != NULL ? json_string_value(p) : NULL;
    v[2] = rs != NULL ? json_string_value(rs) : NULL;
    v[3] = ns != NULL ? seq : NULL;
    v[4] = today;

    res = db_exec(r->db, DB_S_SERIES_PUT, 5, v, err, sizeof(err));
    json_decref(body);
    if (res == NULL) {
        api_db_error(r, err);
        return;
    }

    j = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);

    e = json_object_get(j, "error");
    if (e != NULL) {
        api_error(r, strcmp(json_string_value(e), "invalid_pattern") == 0
                     ? 422 : 409,
                  json_string_value(e), "%s",
                  json_string_value(json_object_get(j, "message")));
        json_decref(j);
        return;
    }

    snprintf(target, sizeof(target), "series:%s", name);
    if (api_audit(r, "invoice_series.put", target, NULL) != 0) {
        json_decref(j);
        return;
    }

    api_json(r, 200, json_incref(json_object_get(j, "series")));
    json_decref(j);
}


void
h_seller_get(api_req_t *r)
{
    json_t  *p;
    int      failed;

    if (api_tx_begin(r) != 0) {
        return;
    }

    p = h_inv_profile(r, &failed);
    if (failed) {
        return;
    }

    if (p == NULL) {
        api_error(r, 404, "not_found",
                  "no seller profile yet: PUT /v1/seller");
        return;
    }

    api_json(r, 200, p);
}


/*
 * PUT /v1/seller {"seller": party, "payment": {...}, "payment_days"}:
 * checked by the model itself, as the seller of a one-line invoice.
 */
void
h_seller_put(api_req_t *r)
{
    static const char *const  seller_keys[] = { "seller", "payment",
                                                "payment_days", NULL };
    json_t          *body, *probe, *d;
    invoice_t       *inv;
    invoice_errs_t   errs;
    PGresult        *res;
    char            *text, err[512];
    const char      *v[1];
    size_t           i;

    body = api_body_json(r);
    if (body == NULL) {
        return;
    }

    if (h_inv_only_keys(r, body, seller_keys,
                        "unknown field: a seller profile has seller, payment"
                        " and payment_days")
        != 0)
    {
        json_decref(body);
        return;
    }

    d = json_object_get(body, "payment_days");
    if (d != NULL && (!json_is_integer(d) || json_integer_value(d) < 0
                      || json_integer_value(d) > 365))
    {
        json_decref(body);
        api_error(r, 422, "validation_failed",
                  "payment_days must be an integer from 0 to 365");
        return;
    }

    probe = json_pack("{s:s, s:s, s:s, s:O*, s:O*, s:{s:s, s:{s:s}},"
                      " s:[{s:s, s:s, s:s, s:s, s:s}]}",
                      "number", "PROBE", "issue_date", "2025-01-01",
                      "currency", "EUR",
                      "seller", json_object_get(body, "seller"),
                      "payment", json_object_get(body, "payment"),
                      "buyer", "name", "Probe", "address", "country", "PL",
                      "lines", "name", "probe", "quantity", "1",
                      "unit_price", "1", "vat_category", "S",
                      "vat_rate", "23");
    if (probe == NULL) {
        json_decref(body);
        api_error(r, 500, "internal", "out of memory");
        return;
    }

    memset(&errs, 0, sizeof(errs));
    inv = NULL;
    if (json_object_get(body, "seller") == NULL) {
        invoice_errs_add(&errs, "seller", "is required");
    } else if (invoice_from_json(probe, &inv, &errs) != INVOICE_OK) {
        inv = NULL;
    }
    json_decref(probe);
    invoice_free(inv);

    /* only what is the profile's own: the probe's other fields are good */
    for (i = 0; i < errs.n; i++) {
        if (strncmp(errs.e[i].path, "seller", 6) != 0
            && strncmp(errs.e[i].path, "payment", 7) != 0)
        {
            memmove(&errs.e[i], &errs.e[i + 1],
                    (errs.n - i - 1) * sizeof(errs.e[0]));
            errs.n--;
            i--;
        }
    }

    if (errs.n > 0) {
        json_decref(body);
        h_inv_invalid(r, &errs);
        return;
    }

    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text == NULL) {
        api_error(r, 500, "internal", "out of memory");
        return;
    }

    if (api_tx_begin(r) != 0) {
        free(text);
        return;
    }

    v[0] = text;
    res = db_exec(r->db, DB_S_SELLER_PUT, 1, v, err, sizeof(err));
    free(text);
    if (res == NULL) {
        api_db_error(r, err);
        return;
    }

    if (api_audit(r, "seller.put", "seller", NULL) != 0) {
        PQclear(res);
        return;
    }

    api_raw(r, 200, "application/json", PQgetvalue(res, 0, 0),
            PQgetlength(res, 0, 0));
    PQclear(res);
}
