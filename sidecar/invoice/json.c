/*
 * hubgated: the API JSON of an invoice, both ways, and the "json" renderer
 * (invoice.h documents the shape).
 *
 * Input is validated field by field; every problem is reported with its
 * path, so the API can answer 422 with all of them at once.  Values are
 * never echoed into messages (they may be personal data).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invoice/invoice.h"


#define JSON_STR_MAX  1024          /* longest accepted text field */


typedef struct {
    invoice_errs_t  *errs;
    int              exp;           /* of the document currency */
    int              bad;
} json_ctx_t;


static void json_err(json_ctx_t *c, const char *path, const char *key,
    const char *msg);
static const json_t *json_member(json_ctx_t *c, const json_t *obj,
    const char *path, const char *key, int type, int required);
static void json_str(json_ctx_t *c, const json_t *obj, const char *path,
    const char *key, char **slot, int required);
static void json_fixed(json_ctx_t *c, const json_t *obj, const char *path,
    const char *key, char *buf, size_t size, int required,
    int (*ok)(const char *));
static int json_dec(json_ctx_t *c, const json_t *obj, const char *path,
    const char *key, dec_t *out, int required);
static int json_money(json_ctx_t *c, const json_t *obj, const char *path,
    const char *key, int64_t *out, int required);
static int json_is_date(const char *s);
static int json_is_upper(const char *s, size_t n);
static int json_is_currency(const char *s);
static int json_is_country(const char *s);
static int json_is_means(const char *s);
static int json_is_unit(const char *s);
static void json_party(json_ctx_t *c, const json_t *obj, const char *path,
    invoice_party_t *p);
static void json_ac(json_ctx_t *c, const json_t *obj, const char *path,
    invoice_ac_t *ac, int doc);
static void json_vat(json_ctx_t *c, const json_t *obj, const char *path,
    const char *ckey, const char *rkey, vat_category_e *cat, dec_t *rate);
static void json_line(json_ctx_t *c, const json_t *obj, const char *path,
    invoice_line_t *l, size_t i);
static int json_acs(json_ctx_t *c, const json_t *obj, const char *path,
    invoice_t *inv, invoice_line_t *l);
static int out_set(json_t *o, const char *key, json_t *v);
static int out_str(json_t *o, const char *key, const char *s);
static int out_money(json_t *o, const char *key, int64_t m, int exp);
static int out_dec(json_t *o, const char *key, dec_t d);
static json_t *out_party(const invoice_party_t *p);
static json_t *out_ac(const invoice_ac_t *ac, int exp, int doc);
static json_t *out_line(const invoice_line_t *l, int exp);
static json_t *out_totals(const invoice_t *inv, int exp);
static json_t *out_breakdown(const invoice_t *inv, int exp);
static int json_render(const invoice_t *inv, const invoice_render_opts_t *o,
    unsigned char **out, size_t *len, char *err, size_t errlen);


const invoice_renderer_t  invoice_renderer_json = {
    "json", "application/json", json_render
};


int
invoice_from_json(const json_t *j, invoice_t **out, invoice_errs_t *errs)
{
    json_ctx_t     c;
    invoice_t     *inv;
    const json_t  *v, *lines;
    const char    *kind;
    size_t         i;
    int            saved_exp;
    char           path[32];

    c.errs = errs;
    c.bad = 0;
    c.exp = 2;

    if (!json_is_object(j)) {
        invoice_errs_add(errs, "", "must be an object");
        return INVOICE_EINVAL;
    }

    inv = invoice_new();
    if (inv == NULL) {
        return INVOICE_ENOMEM;
    }

    v = json_member(&c, j, "", "kind", JSON_STRING, 0);
    if (v != NULL) {
        kind = json_string_value(v);
        if (strcmp(kind, "credit_note") == 0) {
            inv->kind = INVOICE_KIND_CREDIT_NOTE;
        } else if (strcmp(kind, "invoice") != 0) {
            json_err(&c, "", "kind", "must be invoice or credit_note");
        }
    }

    json_str(&c, j, "", "number", &inv->number, 1);
    json_fixed(&c, j, "", "issue_date", inv->issue_date,
               sizeof(inv->issue_date), 1, json_is_date);
    json_fixed(&c, j, "", "due_date", inv->due_date, sizeof(inv->due_date),
               0, json_is_date);
    json_fixed(&c, j, "", "currency", inv->currency, sizeof(inv->currency),
               1, json_is_currency);
    if (inv->currency[0] != '\0') {
        c.exp = invoice_currency_exponent(inv->currency);
        if (c.exp < 0) {
            json_err(&c, "", "currency", "EN 16931 allows 0 or 2 decimals");
            c.exp = 2;
        }
    }
    json_fixed(&c, j, "", "vat_currency", inv->vat_currency,
               sizeof(inv->vat_currency), 0, json_is_currency);
    if (json_dec(&c, j, "", "exchange_rate", &inv->exchange_rate,
                 inv->vat_currency[0] != '\0'
                 && strcmp(inv->vat_currency, inv->currency) != 0
                 && json_object_get(j, "vat_total_in_vat_currency") == NULL)
            == 1
        && dec_sign(inv->exchange_rate) <= 0)
    {
        json_err(&c, "", "exchange_rate", "must be greater than 0");
    }

    saved_exp = c.exp;
    c.exp = invoice_currency_exponent(inv->vat_currency);
    if (c.exp < 0) {
        c.exp = 2;
    }
    inv->vat_in_vat_currency_given =
        json_money(&c, j, "", "vat_total_in_vat_currency",
                   &inv->vat_in_vat_currency_minor, 0) == 1;
    c.exp = saved_exp;

    json_str(&c, j, "", "buyer_reference", &inv->buyer_reference, 0);
    json_str(&c, j, "", "order_reference", &inv->order_reference, 0);
    json_str(&c, j, "", "note", &inv->note, 0);

    v = json_member(&c, j, "", "preceding_invoice", JSON_OBJECT,
                    inv->kind == INVOICE_KIND_CREDIT_NOTE);
    if (v != NULL) {
        json_str(&c, v, "preceding_invoice", "number",
                 &inv->preceding_number, 1);
        json_fixed(&c, v, "preceding_invoice", "issue_date",
                   inv->preceding_date, sizeof(inv->preceding_date), 0,
                   json_is_date);
        json_str(&c, v, "preceding_invoice", "ksef_number",
                 &inv->preceding_ksef_number, 0);
    }
    json_str(&c, j, "", "correction_reason", &inv->correction_reason, 0);

    v = json_member(&c, j, "", "period", JSON_OBJECT, 0);
    if (v != NULL) {
        json_fixed(&c, v, "period", "start", inv->period_start,
                   sizeof(inv->period_start), 0, json_is_date);
        json_fixed(&c, v, "period", "end", inv->period_end,
                   sizeof(inv->period_end), 0, json_is_date);
        if (inv->period_start[0] != '\0' && inv->period_end[0] != '\0'
            && strcmp(inv->period_end, inv->period_start) < 0)
        {
            json_err(&c, "period", "end", "must not be before start");
        }
    }

    v = json_member(&c, j, "", "delivery", JSON_OBJECT, 0);
    if (v != NULL) {
        json_fixed(&c, v, "delivery", "date", inv->delivery_date,
                   sizeof(inv->delivery_date), 0, json_is_date);
        json_fixed(&c, v, "delivery", "country", inv->delivery_country,
                   sizeof(inv->delivery_country), 0, json_is_country);
    }

    v = json_member(&c, j, "", "payment", JSON_OBJECT, 0);
    if (v != NULL) {
        json_fixed(&c, v, "payment", "means_code", inv->payment_means_code,
                   sizeof(inv->payment_means_code), 0, json_is_means);
        json_str(&c, v, "payment", "iban", &inv->iban, 0);
        json_str(&c, v, "payment", "bic", &inv->bic, 0);
        json_str(&c, v, "payment", "reference", &inv->payment_reference, 0);
        json_str(&c, v, "payment", "terms", &inv->payment_terms, 0);
    }

    v = json_member(&c, j, "", "seller", JSON_OBJECT, 1);
    if (v != NULL) {
        json_party(&c, v, "seller", &inv->seller);
    }
    v = json_member(&c, j, "", "buyer", JSON_OBJECT, 1);
    if (v != NULL) {
        json_party(&c, v, "buyer", &inv->buyer);
    }

    lines = json_member(&c, j, "", "lines", JSON_ARRAY, 1);
    if (lines != NULL && json_array_size(lines) == 0) {
        json_err(&c, "", "lines", "at least one line");
    }
    if (lines != NULL) {
        for (i = 0; i < json_array_size(lines); i++) {
            invoice_line_t  *l = invoice_add_line(inv);

            if (l == NULL) {
                invoice_free(inv);
                return INVOICE_ENOMEM;
            }
            snprintf(path, sizeof(path), "lines[%zu]", i);
            if (!json_is_object(json_array_get(lines, i))) {
                json_err(&c, path, NULL, "must be an object");
                continue;
            }
            json_line(&c, json_array_get(lines, i), path, l, i);
        }
    }

    if (json_acs(&c, j, "", inv, NULL) != INVOICE_OK) {
        invoice_free(inv);
        return INVOICE_ENOMEM;
    }

    json_money(&c, j, "", "prepaid_amount", &inv->prepaid_minor, 0);
    json_money(&c, j, "", "rounding_amount", &inv->rounding_minor, 0);

    if (c.bad) {
        invoice_free(inv);
        return INVOICE_EINVAL;
    }

    *out = inv;

    return INVOICE_OK;
}


static void
json_err(json_ctx_t *c, const char *path, const char *key, const char *msg)
{
    char  full[160];

    if (key == NULL) {
        snprintf(full, sizeof(full), "%s", path);
    } else if (path[0] == '\0') {
        snprintf(full, sizeof(full), "%s", key);
    } else {
        snprintf(full, sizeof(full), "%s.%s", path, key);
    }

    invoice_errs_add(c->errs, full, "%s", msg);
    c->bad = 1;
}


/* obj[key] if it has the type; absent or null: NULL (an error if
 * required); another type: NULL and an error */
static const json_t *
json_member(json_ctx_t *c, const json_t *obj, const char *path,
    const char *key, int type, int required)
{
    const json_t  *v;

    v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v)) {
        if (required) {
            json_err(c, path, key, "required");
        }
        return NULL;
    }

    if ((int) json_typeof(v) != type) {
        json_err(c, path, key, type == JSON_STRING ? "must be a string"
                               : type == JSON_OBJECT ? "must be an object"
                               : "must be an array");
        return NULL;
    }

    return v;
}


static void
json_str(json_ctx_t *c, const json_t *obj, const char *path,
    const char *key, char **slot, int required)
{
    const json_t  *v;
    const char    *s;
    size_t         len, i;

    v = json_member(c, obj, path, key, JSON_STRING, required);
    if (v == NULL) {
        return;
    }

    s = json_string_value(v);
    len = json_string_length(v);
    if (len == 0 || len > JSON_STR_MAX) {
        json_err(c, path, key, len == 0 ? "must not be empty"
                                        : "longer than 1024 bytes");
        return;
    }

    /* XML 1.0 cannot carry other control characters (nor NUL) */
    for (i = 0; i < len; i++) {
        if ((unsigned char) s[i] < 0x20 && s[i] != '\t' && s[i] != '\n'
            && s[i] != '\r')
        {
            json_err(c, path, key, "contains a control character");
            return;
        }
    }

    if (invoice_strset(slot, s) != INVOICE_OK) {
        json_err(c, path, key, "out of memory");
    }
}


static void
json_fixed(json_ctx_t *c, const json_t *obj, const char *path,
    const char *key, char *buf, size_t size, int required,
    int (*ok)(const char *))
{
    const json_t  *v;
    const char    *s;

    v = json_member(c, obj, path, key, JSON_STRING, required);
    if (v == NULL) {
        return;
    }

    s = json_string_value(v);
    if (json_string_length(v) >= size || strlen(s) != json_string_length(v)
        || !ok(s))
    {
        json_err(c, path, key, ok == json_is_date ? "must be YYYY-MM-DD"
                 : ok == json_is_currency ? "must be an ISO 4217 code"
                 : ok == json_is_country ? "must be an ISO 3166-1 code"
                 : "invalid code");
        return;
    }

    memcpy(buf, s, strlen(s) + 1);
}


/* 1 if present and valid, 0 if absent, -1 if invalid */
static int
json_dec(json_ctx_t *c, const json_t *obj, const char *path,
    const char *key, dec_t *out, int required)
{
    const json_t  *v;
    int            rc;

    v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v)) {
        if (required) {
            json_err(c, path, key, "required");
            return -1;
        }
        return 0;
    }

    if (json_is_integer(v)) {
        *out = DEC(json_integer_value(v), 0);
        return 1;
    }

    if (!json_is_string(v)) {
        json_err(c, path, key, "must be a decimal string");
        return -1;
    }

    rc = dec_parse(json_string_value(v), json_string_length(v), out);
    if (rc != DEC_OK) {
        json_err(c, path, key, rc == DEC_ERANGE
                 ? "out of range or more than 8 decimals"
                 : "must be a decimal string like \"12.50\"");
        return -1;
    }

    return 1;
}


static int
json_money(json_ctx_t *c, const json_t *obj, const char *path,
    const char *key, int64_t *out, int required)
{
    const json_t  *v;
    int            rc;

    v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v)) {
        if (required) {
            json_err(c, path, key, "required");
            return -1;
        }
        return 0;
    }

    if (!json_is_string(v)) {
        json_err(c, path, key, "must be a decimal string");
        return -1;
    }

    rc = money_parse(json_string_value(v), json_string_length(v), c->exp,
                     out);
    if (rc != DEC_OK) {
        json_err(c, path, key, rc == DEC_ERANGE
                 ? "out of range or more decimals than the currency has"
                 : "must be a decimal string like \"12.50\"");
        return -1;
    }

    return 1;
}


static int
json_is_date(const char *s)
{
    static const int  mdays[12] = {
        31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };
    int               i, y, m, d;

    for (i = 0; i < 10; i++) {
        if (i == 4 || i == 7) {
            if (s[i] != '-') {
                return 0;
            }
        } else if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }

    if (s[10] != '\0') {
        return 0;
    }

    y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10
        + (s[3] - '0');
    m = (s[5] - '0') * 10 + (s[6] - '0');
    d = (s[8] - '0') * 10 + (s[9] - '0');

    if (y < 1900 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1]) {
        return 0;
    }

    if (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
    {
        return 0;
    }

    return 1;
}


static int
json_is_upper(const char *s, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (s[i] < 'A' || s[i] > 'Z') {
            return 0;
        }
    }

    return s[n] == '\0';
}


static int
json_is_currency(const char *s)
{
    return json_is_upper(s, 3);
}


static int
json_is_country(const char *s)
{
    return json_is_upper(s, 2);
}


static int
json_is_means(const char *s)
{
    size_t  i, n;

    n = strlen(s);
    for (i = 0; i < n; i++) {
        if ((s[i] < '0' || s[i] > '9') && (s[i] < 'A' || s[i] > 'Z')) {
            return 0;
        }
    }

    return n >= 1 && n <= 3;
}


static int
json_is_unit(const char *s)
{
    return json_is_means(s);
}


static void
json_party(json_ctx_t *c, const json_t *obj, const char *path,
    invoice_party_t *p)
{
    const json_t  *a;
    char           ap[32];

    json_str(c, obj, path, "name", &p->name, 1);
    json_str(c, obj, path, "trading_name", &p->trading_name, 0);
    json_str(c, obj, path, "vat_id", &p->vat_id, 0);
    json_str(c, obj, path, "tax_registration_id", &p->tax_reg_id, 0);
    json_str(c, obj, path, "legal_id", &p->legal_id, 0);
    json_str(c, obj, path, "email", &p->email, 0);

    snprintf(ap, sizeof(ap), "%s.address", path);
    a = json_member(c, obj, path, "address", JSON_OBJECT, 1);
    if (a == NULL) {
        return;
    }

    json_str(c, a, ap, "street", &p->street, 0);
    json_str(c, a, ap, "street2", &p->street2, 0);
    json_str(c, a, ap, "city", &p->city, 0);
    json_str(c, a, ap, "postal_code", &p->postal_code, 0);
    json_str(c, a, ap, "subdivision", &p->subdivision, 0);
    json_fixed(c, a, ap, "country", p->country, sizeof(p->country), 1,
               json_is_country);
}


static void
json_vat(json_ctx_t *c, const json_t *obj, const char *path,
    const char *ckey, const char *rkey, vat_category_e *cat, dec_t *rate)
{
    const json_t  *v;

    v = json_member(c, obj, path, ckey, JSON_STRING, 1);
    if (v != NULL
        && invoice_vat_category_parse(json_string_value(v), cat)
           != INVOICE_OK)
    {
        json_err(c, path, ckey, "must be one of S Z E AE K G O L M");
    }

    *rate = DEC_ZERO;
    if (json_dec(c, obj, path, rkey, rate, 0) == 1
        && (dec_sign(*rate) < 0 || dec_cmp(*rate, DEC(100, 0)) > 0
            || dec_normalize(*rate).scale > 2))
    {
        json_err(c, path, rkey,
                 "must be between 0 and 100, at most 2 decimals");
    }
}


static void
json_ac(json_ctx_t *c, const json_t *obj, const char *path,
    invoice_ac_t *ac, int doc)
{
    const json_t  *v;
    int            has_amount;

    v = json_object_get(obj, "charge");
    if (v != NULL && !json_is_boolean(v)) {
        json_err(c, path, "charge", "must be true or false");
    }
    ac->is_charge = json_is_true(v);

    has_amount = json_money(c, obj, path, "amount", &ac->amount_minor, 0);
    if (has_amount == 1 && ac->amount_minor < 0) {
        json_err(c, path, "amount", "must not be negative");
    }
    ac->amount_given = has_amount == 1;

    ac->has_percent = json_dec(c, obj, path, "percent", &ac->percent, 0)
                      == 1;
    if (ac->has_percent && dec_sign(ac->percent) < 0) {
        json_err(c, path, "percent", "must not be negative");
    }
    ac->has_base = json_money(c, obj, path, "base_amount", &ac->base_minor,
                              0) == 1;

    if (has_amount == 0 && !ac->has_percent) {
        json_err(c, path, "amount", "amount or percent required");
    }

    json_str(c, obj, path, "reason", &ac->reason, 0);
    json_str(c, obj, path, "reason_code", &ac->reason_code, 0);
    if (ac->reason == NULL && ac->reason_code == NULL) {
        json_err(c, path, "reason", "reason or reason_code required "
                 "(BR-33, BR-38, BR-42, BR-44)");
    }

    if (doc) {
        json_vat(c, obj, path, "vat_category", "vat_rate", &ac->vat_category,
                 &ac->vat_rate);
    }
}


static int
json_acs(json_ctx_t *c, const json_t *obj, const char *path, invoice_t *inv,
    invoice_line_t *l)
{
    const json_t  *arr, *e;
    invoice_ac_t  *ac;
    size_t         i;
    char           p[96];

    arr = json_member(c, obj, path, "allowances_charges", JSON_ARRAY, 0);
    if (arr == NULL) {
        return INVOICE_OK;
    }

    for (i = 0; i < json_array_size(arr); i++) {
        if (path[0] == '\0') {
            snprintf(p, sizeof(p), "allowances_charges[%zu]", i);
        } else {
            snprintf(p, sizeof(p), "%s.allowances_charges[%zu]", path, i);
        }

        e = json_array_get(arr, i);
        if (!json_is_object(e)) {
            json_err(c, p, NULL, "must be an object");
            continue;
        }

        ac = l != NULL ? invoice_line_add_ac(l) : invoice_add_ac(inv);
        if (ac == NULL) {
            return INVOICE_ENOMEM;
        }
        json_ac(c, e, p, ac, l == NULL);
    }

    return INVOICE_OK;
}


static void
json_line(json_ctx_t *c, const json_t *obj, const char *path,
    invoice_line_t *l, size_t i)
{
    const json_t  *v;
    char           id[24];

    json_str(c, obj, path, "id", &l->id, 0);
    if (l->id == NULL) {
        snprintf(id, sizeof(id), "%zu", i + 1);
        if (invoice_strset(&l->id, id) != INVOICE_OK) {
            json_err(c, path, "id", "out of memory");
        }
    }

    json_str(c, obj, path, "name", &l->name, 1);
    json_str(c, obj, path, "description", &l->description, 0);
    json_str(c, obj, path, "note", &l->note, 0);
    json_str(c, obj, path, "seller_item_id", &l->seller_item_id, 0);
    if (json_dec(c, obj, path, "quantity", &l->quantity, 1) == 1
        && l->quantity.scale > 6)
    {
        json_err(c, path, "quantity", "at most 6 decimals");
    }
    json_fixed(c, obj, path, "unit_code", l->unit_code, sizeof(l->unit_code),
               0, json_is_unit);
    if (json_dec(c, obj, path, "unit_price", &l->price, 1) == 1
        && dec_sign(l->price) < 0)
    {
        json_err(c, path, "unit_price", "must not be negative (BR-27)");
    }
    if (json_dec(c, obj, path, "base_quantity", &l->base_quantity, 0) == 1
        && (dec_sign(l->base_quantity) <= 0 || l->base_quantity.scale > 6))
    {
        json_err(c, path, "base_quantity",
                 "must be greater than 0, at most 6 decimals");
    }

    v = json_member(c, obj, path, "classification", JSON_OBJECT, 0);
    if (v != NULL) {
        char  cp[64];

        snprintf(cp, sizeof(cp), "%s.classification", path);
        json_str(c, v, cp, "code", &l->class_code, 1);
        json_str(c, v, cp, "scheme", &l->class_scheme, 0);
    }

    json_vat(c, obj, path, "vat_category", "vat_rate", &l->vat_category,
             &l->vat_rate);
    json_str(c, obj, path, "vat_exemption_reason", &l->vat_exemption_reason,
             0);
    json_str(c, obj, path, "vat_exemption_code", &l->vat_exemption_code, 0);

    if (json_acs(c, obj, path, NULL, l) != INVOICE_OK) {
        json_err(c, path, "allowances_charges", "out of memory");
    }
}


int
invoice_to_json(const invoice_t *inv, json_t **out)
{
    json_t  *o, *arr, *sub;
    size_t   i;
    int      exp, bad;

    if (!inv->computed) {
        return INVOICE_EINVAL;
    }

    exp = invoice_currency_exponent(inv->currency);
    o = json_object();
    if (o == NULL) {
        return INVOICE_ENOMEM;
    }

    bad = out_str(o, "kind", inv->kind == INVOICE_KIND_CREDIT_NOTE
                             ? "credit_note" : "invoice");
    bad |= out_str(o, "number", inv->number);
    bad |= out_str(o, "issue_date", inv->issue_date);
    bad |= out_str(o, "due_date", inv->due_date);
    bad |= out_str(o, "currency", inv->currency);
    bad |= out_str(o, "vat_currency", inv->vat_currency);
    if (inv->vat_currency[0] != '\0') {
        bad |= out_dec(o, "exchange_rate", inv->exchange_rate);
    }
    if (inv->vat_in_vat_currency_given) {
        bad |= out_money(o, "vat_total_in_vat_currency",
                         inv->vat_in_vat_currency_minor,
                         invoice_currency_exponent(inv->vat_currency));
    }
    bad |= out_str(o, "buyer_reference", inv->buyer_reference);
    bad |= out_str(o, "order_reference", inv->order_reference);
    bad |= out_str(o, "note", inv->note);

    if (inv->preceding_number != NULL) {
        sub = json_object();
        bad |= out_str(sub, "number", inv->preceding_number);
        bad |= out_str(sub, "issue_date", inv->preceding_date);
        bad |= out_str(sub, "ksef_number", inv->preceding_ksef_number);
        bad |= out_set(o, "preceding_invoice", sub);
    }
    bad |= out_str(o, "correction_reason", inv->correction_reason);

    if (inv->period_start[0] != '\0' || inv->period_end[0] != '\0') {
        sub = json_object();
        bad |= out_str(sub, "start", inv->period_start);
        bad |= out_str(sub, "end", inv->period_end);
        bad |= out_set(o, "period", sub);
    }

    if (inv->delivery_date[0] != '\0' || inv->delivery_country[0] != '\0') {
        sub = json_object();
        bad |= out_str(sub, "date", inv->delivery_date);
        bad |= out_str(sub, "country", inv->delivery_country);
        bad |= out_set(o, "delivery", sub);
    }

    sub = json_object();
    bad |= out_str(sub, "means_code", inv->payment_means_code);
    bad |= out_str(sub, "iban", inv->iban);
    bad |= out_str(sub, "bic", inv->bic);
    bad |= out_str(sub, "reference", inv->payment_reference);
    bad |= out_str(sub, "terms", inv->payment_terms);
    bad |= out_set(o, "payment", sub);

    bad |= out_set(o, "seller", out_party(&inv->seller));
    bad |= out_set(o, "buyer", out_party(&inv->buyer));

    arr = json_array();
    for (i = 0; arr != NULL && i < inv->n_lines; i++) {
        bad |= json_array_append_new(arr, out_line(&inv->lines[i], exp));
    }
    bad |= out_set(o, "lines", arr);

    arr = json_array();
    for (i = 0; arr != NULL && i < inv->n_acs; i++) {
        bad |= json_array_append_new(arr, out_ac(&inv->acs[i], exp, 1));
    }
    bad |= out_set(o, "allowances_charges", arr);

    bad |= out_money(o, "prepaid_amount", inv->prepaid_minor, exp);
    bad |= out_money(o, "rounding_amount", inv->rounding_minor, exp);
    bad |= out_set(o, "totals", out_totals(inv, exp));
    bad |= out_set(o, "vat_breakdown", out_breakdown(inv, exp));

    if (bad) {
        json_decref(o);
        return INVOICE_ENOMEM;
    }

    *out = o;

    return INVOICE_OK;
}


/* o[key] = v (stolen); non-zero if v is NULL or the set fails */
static int
out_set(json_t *o, const char *key, json_t *v)
{
    if (o == NULL || v == NULL) {
        json_decref(v);
        return 1;
    }

    return json_object_set_new(o, key, v) != 0;
}


/* absent strings are left out */
static int
out_str(json_t *o, const char *key, const char *s)
{
    if (s == NULL || s[0] == '\0') {
        return 0;
    }

    return out_set(o, key, json_string(s));
}


static int
out_money(json_t *o, const char *key, int64_t m, int exp)
{
    char  buf[DEC_STR_MAX];

    if (money_format(m, exp, buf, sizeof(buf)) < 0) {
        return 1;
    }

    return out_set(o, key, json_string(buf));
}


static int
out_dec(json_t *o, const char *key, dec_t d)
{
    char  buf[DEC_STR_MAX];

    if (dec_format(d, buf, sizeof(buf)) < 0) {
        return 1;
    }

    return out_set(o, key, json_string(buf));
}


static json_t *
out_party(const invoice_party_t *p)
{
    json_t  *o, *a;
    int      bad;

    o = json_object();
    a = json_object();
    bad = out_str(o, "name", p->name);
    bad |= out_str(o, "trading_name", p->trading_name);
    bad |= out_str(o, "vat_id", p->vat_id);
    bad |= out_str(o, "tax_registration_id", p->tax_reg_id);
    bad |= out_str(o, "legal_id", p->legal_id);
    bad |= out_str(o, "email", p->email);
    bad |= out_str(a, "street", p->street);
    bad |= out_str(a, "street2", p->street2);
    bad |= out_str(a, "city", p->city);
    bad |= out_str(a, "postal_code", p->postal_code);
    bad |= out_str(a, "subdivision", p->subdivision);
    bad |= out_str(a, "country", p->country);
    bad |= out_set(o, "address", a);

    if (bad) {
        json_decref(o);
        return NULL;
    }

    return o;
}


static json_t *
out_ac(const invoice_ac_t *ac, int exp, int doc)
{
    json_t  *o;
    int      bad;

    o = json_object();
    bad = out_set(o, "charge", json_boolean(ac->is_charge));
    bad |= out_money(o, "amount", ac->amount_minor, exp);
    if (ac->has_percent) {
        bad |= out_dec(o, "percent", ac->percent);
    }
    if (ac->has_base) {
        bad |= out_money(o, "base_amount", ac->base_minor, exp);
    }
    bad |= out_str(o, "reason", ac->reason);
    bad |= out_str(o, "reason_code", ac->reason_code);
    if (doc) {
        bad |= out_str(o, "vat_category",
                       invoice_vat_category_code(ac->vat_category));
        bad |= out_dec(o, "vat_rate", dec_normalize(ac->vat_rate));
    }

    if (bad) {
        json_decref(o);
        return NULL;
    }

    return o;
}


static json_t *
out_line(const invoice_line_t *l, int exp)
{
    json_t  *o, *arr, *cl;
    size_t   i;
    int      bad;

    o = json_object();
    bad = out_str(o, "id", l->id);
    bad |= out_str(o, "name", l->name);
    bad |= out_str(o, "description", l->description);
    bad |= out_str(o, "note", l->note);
    bad |= out_str(o, "seller_item_id", l->seller_item_id);
    bad |= out_dec(o, "quantity", l->quantity);
    bad |= out_str(o, "unit_code", l->unit_code);
    bad |= out_dec(o, "unit_price", l->price);
    bad |= out_dec(o, "base_quantity", l->base_quantity);
    if (l->class_code != NULL) {
        cl = json_object();
        bad |= out_str(cl, "code", l->class_code);
        bad |= out_str(cl, "scheme", l->class_scheme);
        bad |= out_set(o, "classification", cl);
    }
    bad |= out_str(o, "vat_category",
                   invoice_vat_category_code(l->vat_category));
    bad |= out_dec(o, "vat_rate", dec_normalize(l->vat_rate));
    bad |= out_str(o, "vat_exemption_reason", l->vat_exemption_reason);
    bad |= out_str(o, "vat_exemption_code", l->vat_exemption_code);

    arr = json_array();
    for (i = 0; arr != NULL && i < l->n_acs; i++) {
        bad |= json_array_append_new(arr, out_ac(&l->acs[i], exp, 0));
    }
    bad |= out_set(o, "allowances_charges", arr);
    bad |= out_money(o, "net_amount", l->net_minor, exp);

    if (bad) {
        json_decref(o);
        return NULL;
    }

    return o;
}


static json_t *
out_totals(const invoice_t *inv, int exp)
{
    const invoice_totals_t  *t = &inv->totals;
    json_t                  *o;
    int                      bad;

    o = json_object();
    bad = out_money(o, "line_net", t->line_net_minor, exp);
    bad |= out_money(o, "allowances", t->allowance_minor, exp);
    bad |= out_money(o, "charges", t->charge_minor, exp);
    bad |= out_money(o, "tax_exclusive", t->tax_exclusive_minor, exp);
    bad |= out_money(o, "vat", t->vat_minor, exp);
    if (t->has_vat_in_vat_currency) {
        bad |= out_money(o, "vat_in_vat_currency",
                         t->vat_in_vat_currency_minor,
                         invoice_currency_exponent(inv->vat_currency));
    }
    bad |= out_money(o, "tax_inclusive", t->tax_inclusive_minor, exp);
    bad |= out_money(o, "prepaid", t->prepaid_minor, exp);
    bad |= out_money(o, "rounding", t->rounding_minor, exp);
    bad |= out_money(o, "payable", t->payable_minor, exp);

    if (bad) {
        json_decref(o);
        return NULL;
    }

    return o;
}


static json_t *
out_breakdown(const invoice_t *inv, int exp)
{
    const invoice_vat_t  *v;
    json_t               *arr, *o;
    size_t                i;
    int                   bad;

    arr = json_array();
    bad = arr == NULL;
    for (i = 0; !bad && i < inv->totals.n_vat; i++) {
        v = &inv->totals.vat[i];
        o = json_object();
        bad |= out_str(o, "category", invoice_vat_category_code(v->category));
        bad |= out_dec(o, "rate", v->rate);
        bad |= out_money(o, "taxable_amount", v->taxable_minor, exp);
        bad |= out_money(o, "tax_amount", v->tax_minor, exp);
        bad |= out_str(o, "exemption_reason", v->exemption_reason);
        bad |= out_str(o, "exemption_code", v->exemption_code);
        bad |= json_array_append_new(arr, o);
    }

    if (bad) {
        json_decref(arr);
        return NULL;
    }

    return arr;
}


static int
json_render(const invoice_t *inv, const invoice_render_opts_t *o,
    unsigned char **out, size_t *len, char *err, size_t errlen)
{
    json_t  *j;
    char    *s;
    int      rc;

    rc = invoice_to_json(inv, &j);
    if (rc != INVOICE_OK) {
        snprintf(err, errlen, "%s", rc == INVOICE_EINVAL
                 ? "invoice not computed" : "out of memory");
        return rc;
    }

    s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER
                      | (o != NULL && o->pretty ? JSON_INDENT(2) : 0));
    json_decref(j);
    if (s == NULL) {
        snprintf(err, errlen, "JSON dump failed");
        return INVOICE_EINTERNAL;
    }

    *out = (unsigned char *) s;
    *len = strlen(s);

    return INVOICE_OK;
}
