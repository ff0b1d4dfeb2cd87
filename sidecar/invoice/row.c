
/*
 * hubgated: an invoice between the model and its database row (row.h).
 */

#include <stdio.h>
#include <string.h>

#include "invoice/row.h"


static json_t *row_lines(const invoice_t *inv);
static int row_set_str(json_t *o, const char *key, const char *s);


json_t *
invoice_row_document(const json_t *inv_json)
{
    json_t  *doc, *lines, *l;
    size_t   i;

    doc = json_deep_copy(inv_json);
    if (doc == NULL) {
        return NULL;
    }

    json_object_del(doc, "number");
    json_object_del(doc, "issue_date");
    json_object_del(doc, "due_date");
    json_object_del(doc, "totals");
    json_object_del(doc, "vat_breakdown");

    lines = json_object_get(doc, "lines");
    json_array_foreach(lines, i, l) {
        json_object_del(l, "net_amount");
    }

    return doc;
}


json_t *
invoice_row_item(const invoice_t *inv)
{
    json_t                  *full, *item, *t, *lines;
    const invoice_totals_t  *tt;
    int                      bad;

    if (!inv->computed || invoice_to_json(inv, &full) != INVOICE_OK) {
        return NULL;
    }

    tt = &inv->totals;
    item = json_object();
    t = json_pack("{sI sI sI sI sI sI sI sI}",
                  "line", (json_int_t) tt->line_net_minor,
                  "allowances", (json_int_t) tt->allowance_minor,
                  "charges", (json_int_t) tt->charge_minor,
                  "tax_exclusive", (json_int_t) tt->tax_exclusive_minor,
                  "vat", (json_int_t) tt->vat_minor,
                  "tax_inclusive", (json_int_t) tt->tax_inclusive_minor,
                  "prepaid", (json_int_t) tt->prepaid_minor,
                  "payable", (json_int_t) tt->payable_minor);
    lines = row_lines(inv);

    if (item == NULL || t == NULL || lines == NULL) {
        json_decref(item);
        json_decref(t);
        json_decref(lines);
        json_decref(full);
        return NULL;
    }

    if (tt->has_vat_in_vat_currency) {
        bad = json_object_set_new(t, "vat_vc",
                  json_integer((json_int_t) tt->vat_in_vat_currency_minor));
    } else {
        bad = 0;
    }

    bad |= row_set_str(item, "kind", inv->kind == INVOICE_KIND_CREDIT_NOTE
                                     ? "credit_note" : "invoice");
    bad |= row_set_str(item, "currency", inv->currency);
    bad |= row_set_str(item, "vat_currency", inv->vat_currency);
    bad |= row_set_str(item, "due_date", inv->due_date);
    bad |= row_set_str(item, "notes", inv->note);
    /* the parties and the document's allowances and charges are the
     * document's own: invoices_insert() reads them there */
    bad |= json_object_set(item, "vat_breakdown",
                           json_object_get(full, "vat_breakdown"));
    bad |= json_object_set_new(item, "totals", t);
    bad |= json_object_set_new(item, "lines", lines);
    bad |= json_object_set_new(item, "document", invoice_row_document(full));
    json_decref(full);

    if (bad) {
        json_decref(item);
        return NULL;
    }

    return item;
}


static json_t *
row_lines(const invoice_t *inv)
{
    json_t                *arr, *o;
    const invoice_line_t  *l;
    char                   q[DEC_STR_MAX], p[DEC_STR_MAX], r[DEC_STR_MAX];
    size_t                 i;

    arr = json_array();

    for (i = 0; arr != NULL && i < inv->n_lines; i++) {
        l = &inv->lines[i];

        if (dec_format(l->quantity, q, sizeof(q)) < 0
            || dec_format(l->price, p, sizeof(p)) < 0
            || dec_format(l->vat_rate, r, sizeof(r)) < 0)
        {
            json_decref(arr);
            return NULL;
        }

        o = json_pack("{sI ss ss ss ss sI sI sI ss ss}",
                      "line_no", (json_int_t) (i + 1),
                      "description", l->name != NULL ? l->name : "",
                      "quantity", q, "unit_code", l->unit_code,
                      "unit_price", p,
                      "allowance_minor", (json_int_t) l->allowance_minor,
                      "charge_minor", (json_int_t) l->charge_minor,
                      "net_minor", (json_int_t) l->net_minor,
                      "vat_category",
                      invoice_vat_category_code(l->vat_category),
                      "vat_rate", r);

        if (o == NULL
            || row_set_str(o, "vat_exemption", l->vat_exemption_reason) != 0
            || json_array_append_new(arr, o) != 0)
        {
            json_decref(arr);
            return NULL;
        }
    }

    return arr;
}


/* sets key to s; nothing for NULL or "" */
static int
row_set_str(json_t *o, const char *key, const char *s)
{
    if (s == NULL || s[0] == '\0') {
        return 0;
    }

    return json_object_set_new(o, key, json_string(s));
}


int
invoice_row_load(const char *document, const char *kind,
    const char *number, const char *issue_date, const char *due_date,
    const char *fallback_date, invoice_t **out, char *err, size_t errlen)
{
    json_t          *j;
    json_error_t     jerr;
    invoice_t       *inv;
    invoice_errs_t   errs;
    int              rc, bad;

    *out = NULL;

    j = json_loads(document, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(j)) {
        json_decref(j);
        snprintf(err, errlen, "stored document does not parse");
        return INVOICE_EINVAL;
    }

    bad = json_object_set_new(j, "number",
              json_string(number != NULL && number[0] != '\0'
                          ? number : INVOICE_DRAFT_NUMBER));
    bad |= json_object_set_new(j, "issue_date",
               json_string(issue_date != NULL && issue_date[0] != '\0'
                           ? issue_date : fallback_date));
    if (due_date != NULL && due_date[0] != '\0') {
        bad |= json_object_set_new(j, "due_date", json_string(due_date));
    } else {
        json_object_del(j, "due_date");
    }
    if (kind != NULL) {
        bad |= json_object_set_new(j, "kind", json_string(kind));
    }

    if (bad) {
        json_decref(j);
        snprintf(err, errlen, "out of memory");
        return INVOICE_ENOMEM;
    }

    memset(&errs, 0, sizeof(errs));
    rc = invoice_from_json(j, &inv, &errs);
    json_decref(j);

    if (rc == INVOICE_OK) {
        rc = invoice_compute(inv, &errs);
        if (rc != INVOICE_OK) {
            invoice_free(inv);
        }
    }

    if (rc != INVOICE_OK) {
        if (errs.n > 0) {
            snprintf(err, errlen, "stored document: %s: %s", errs.e[0].path,
                     errs.e[0].msg);
        } else {
            snprintf(err, errlen, "stored document does not compute");
        }
        return rc;
    }

    *out = inv;
    return INVOICE_OK;
}
