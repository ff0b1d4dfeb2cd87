/*
 * hubgated: invoice model lifetime and code tables (invoice.h).
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invoice/invoice.h"


static void invoice_party_free(invoice_party_t *p);
static void invoice_ac_free(invoice_ac_t *ac);
static void invoice_line_free(invoice_line_t *line);
static void *invoice_grow(void *arr, size_t n, size_t size);


static const char  *vat_codes[VAT_CAT_COUNT] = {
    "S", "Z", "E", "AE", "K", "G", "O", "L", "M"
};

/* ISO 4217 codes with 0 minor units */
static const char  *currency_exp0[] = {
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF",
    "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF", NULL
};

/* ISO 4217 codes with 3 minor units: not expressible in EN 16931 */
static const char  *currency_exp3[] = {
    "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND", NULL
};


invoice_t *
invoice_new(void)
{
    invoice_t  *inv;

    inv = calloc(1, sizeof(*inv));
    if (inv == NULL) {
        return NULL;
    }

    inv->kind = INVOICE_KIND_INVOICE;
    inv->exchange_rate = DEC_ONE;
    memcpy(inv->payment_means_code, "30", 3);

    return inv;
}


void
invoice_free(invoice_t *inv)
{
    size_t  i;

    if (inv == NULL) {
        return;
    }

    free(inv->number);
    free(inv->buyer_reference);
    free(inv->order_reference);
    free(inv->preceding_number);
    free(inv->note);
    free(inv->iban);
    free(inv->bic);
    free(inv->payment_reference);
    free(inv->payment_terms);
    free(inv->correction_reason);
    free(inv->preceding_ksef_number);
    invoice_party_free(&inv->seller);
    invoice_party_free(&inv->buyer);

    for (i = 0; i < inv->n_lines; i++) {
        invoice_line_free(&inv->lines[i]);
    }
    free(inv->lines);

    for (i = 0; i < inv->n_acs; i++) {
        invoice_ac_free(&inv->acs[i]);
    }
    free(inv->acs);

    free(inv->totals.vat);
    free(inv);
}


invoice_line_t *
invoice_add_line(invoice_t *inv)
{
    invoice_line_t  *lines, *l;

    lines = invoice_grow(inv->lines, inv->n_lines, sizeof(*lines));
    if (lines == NULL) {
        return NULL;
    }

    inv->lines = lines;
    l = &lines[inv->n_lines++];
    memset(l, 0, sizeof(*l));
    memcpy(l->unit_code, "C62", 4);
    l->base_quantity = DEC_ONE;

    return l;
}


invoice_ac_t *
invoice_add_ac(invoice_t *inv)
{
    invoice_ac_t  *acs;

    acs = invoice_grow(inv->acs, inv->n_acs, sizeof(*acs));
    if (acs == NULL) {
        return NULL;
    }

    inv->acs = acs;
    memset(&acs[inv->n_acs], 0, sizeof(*acs));
    acs[inv->n_acs].amount_given = 1;

    return &acs[inv->n_acs++];
}


invoice_ac_t *
invoice_line_add_ac(invoice_line_t *line)
{
    invoice_ac_t  *acs;

    acs = invoice_grow(line->acs, line->n_acs, sizeof(*acs));
    if (acs == NULL) {
        return NULL;
    }

    line->acs = acs;
    memset(&acs[line->n_acs], 0, sizeof(*acs));
    acs[line->n_acs].amount_given = 1;

    return &acs[line->n_acs++];
}


int
invoice_strset(char **slot, const char *s)
{
    char  *copy;

    copy = NULL;
    if (s != NULL) {
        copy = strdup(s);
        if (copy == NULL) {
            return INVOICE_ENOMEM;
        }
    }

    free(*slot);
    *slot = copy;

    return INVOICE_OK;
}


int
invoice_currency_exponent(const char *code)
{
    size_t  i;

    if (code == NULL || strlen(code) != 3) {
        return -1;
    }

    for (i = 0; i < 3; i++) {
        if (code[i] < 'A' || code[i] > 'Z') {
            return -1;
        }
    }

    for (i = 0; currency_exp3[i] != NULL; i++) {
        if (strcmp(code, currency_exp3[i]) == 0) {
            return -1;
        }
    }

    for (i = 0; currency_exp0[i] != NULL; i++) {
        if (strcmp(code, currency_exp0[i]) == 0) {
            return 0;
        }
    }

    return 2;
}


const char *
invoice_vat_category_code(vat_category_e c)
{
    if ((unsigned) c >= VAT_CAT_COUNT) {
        return "?";
    }

    return vat_codes[c];
}


int
invoice_vat_category_parse(const char *s, vat_category_e *out)
{
    int  i;

    for (i = 0; i < VAT_CAT_COUNT; i++) {
        if (s != NULL && strcmp(s, vat_codes[i]) == 0) {
            *out = (vat_category_e) i;
            return INVOICE_OK;
        }
    }

    return INVOICE_EINVAL;
}


void
invoice_errs_add(invoice_errs_t *errs, const char *path, const char *fmt,
    ...)
{
    va_list         ap;
    invoice_err_t  *e;

    if (errs == NULL) {
        return;
    }

    if (errs->n >= INVOICE_ERRS_MAX) {
        errs->dropped++;
        return;
    }

    e = &errs->e[errs->n++];
    snprintf(e->path, sizeof(e->path), "%s", path);

    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
}


static void
invoice_party_free(invoice_party_t *p)
{
    free(p->name);
    free(p->trading_name);
    free(p->vat_id);
    free(p->tax_reg_id);
    free(p->legal_id);
    free(p->street);
    free(p->street2);
    free(p->city);
    free(p->postal_code);
    free(p->subdivision);
    free(p->email);
}


static void
invoice_ac_free(invoice_ac_t *ac)
{
    free(ac->reason);
    free(ac->reason_code);
}


static void
invoice_line_free(invoice_line_t *line)
{
    size_t  i;

    free(line->id);
    free(line->name);
    free(line->description);
    free(line->note);
    free(line->seller_item_id);
    free(line->class_code);
    free(line->class_scheme);
    free(line->vat_exemption_reason);
    free(line->vat_exemption_code);

    for (i = 0; i < line->n_acs; i++) {
        invoice_ac_free(&line->acs[i]);
    }
    free(line->acs);
}


/* room for one more element; doubling capacity at powers of two */
static void *
invoice_grow(void *arr, size_t n, size_t size)
{
    size_t  cap;

    if (n != 0 && (n & (n - 1)) != 0) {
        return arr;
    }

    cap = n == 0 ? 4 : n * 2;
    if (n >= 4 && cap > SIZE_MAX / size) {
        return NULL;
    }

    if (n > 0 && n < 4) {
        return arr;
    }

    return realloc(arr, cap * size);
}
