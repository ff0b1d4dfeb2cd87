/*
 * hubgated: EN 16931 totals of an invoice (invoice.h, invoice_compute).
 *
 * Every sum is checked int64 arithmetic in minor units; every product goes
 * through dec_muldiv_minor (exact __int128, halves toward +infinity).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invoice/invoice.h"


typedef struct {
    invoice_t       *inv;
    invoice_errs_t  *errs;
    int              exp;
    int              rc;        /* first failure, INVOICE_OK if none */
} compute_ctx_t;


static void compute_fail(compute_ctx_t *c, int rc, const char *path,
    const char *msg);
static void compute_check_rate(compute_ctx_t *c, const char *path,
    vat_category_e cat, dec_t rate);
static int compute_ac(compute_ctx_t *c, invoice_ac_t *ac, int64_t dflt_base,
    const char *path);
static void compute_line(compute_ctx_t *c, invoice_line_t *l, size_t i);
static invoice_vat_t *compute_vat_row(invoice_totals_t *t,
    vat_category_e cat, dec_t rate);
static void compute_vat_add(compute_ctx_t *c, vat_category_e cat,
    dec_t rate, int64_t amount, const char *reason, const char *code);
static void compute_vat_defaults(compute_ctx_t *c);
static int compute_vat_cmp(const void *a, const void *b);


/* BT-120 / BT-121 when the invoice gives none, for the categories whose
 * reason is a fixed legal mention (BR-AE-10, BR-IC-10, BR-G-10, BR-O-10) */
static const struct {
    vat_category_e   cat;
    const char      *reason;
    const char      *code;
} vat_default_reasons[] = {
    { VAT_CAT_AE, "Reverse charge", "VATEX-EU-AE" },
    { VAT_CAT_K,  "Intra-community supply", "VATEX-EU-IC" },
    { VAT_CAT_G,  "Export outside the EU", "VATEX-EU-G" },
    { VAT_CAT_O,  "Not subject to VAT", "VATEX-EU-O" },
};


int
invoice_compute(invoice_t *inv, invoice_errs_t *errs)
{
    compute_ctx_t      c;
    invoice_totals_t  *t;
    invoice_vat_t     *v;
    size_t             i;
    int                vexp;
    char               path[64];

    c.inv = inv;
    c.errs = errs;
    c.rc = INVOICE_OK;
    t = &inv->totals;

    free(t->vat);
    memset(t, 0, sizeof(*t));
    inv->computed = 0;

    c.exp = invoice_currency_exponent(inv->currency);
    if (c.exp < 0) {
        compute_fail(&c, INVOICE_EINVAL, "currency",
                     "not an ISO 4217 code with 0 or 2 decimals");
        return c.rc;
    }

    if (inv->n_lines == 0) {
        compute_fail(&c, INVOICE_EINVAL, "lines", "at least one line");
    }

    for (i = 0; i < inv->n_lines; i++) {
        compute_line(&c, &inv->lines[i], i);
        if (money_add(t->line_net_minor, inv->lines[i].net_minor,
                      &t->line_net_minor) != DEC_OK)
        {
            compute_fail(&c, INVOICE_ERANGE, "lines", "sum overflows");
        }
    }

    for (i = 0; i < inv->n_acs; i++) {
        invoice_ac_t  *ac = &inv->acs[i];

        snprintf(path, sizeof(path), "allowances_charges[%zu]", i);
        if ((unsigned) ac->vat_category >= VAT_CAT_COUNT) {
            compute_fail(&c, INVOICE_EINVAL, path, "unknown VAT category");
            continue;
        }
        compute_check_rate(&c, path, ac->vat_category, ac->vat_rate);

        if (compute_ac(&c, ac, t->line_net_minor, path) != INVOICE_OK) {
            continue;
        }

        if (ac->is_charge) {
            if (money_add(t->charge_minor, ac->amount_minor,
                          &t->charge_minor) != DEC_OK)
            {
                compute_fail(&c, INVOICE_ERANGE, path, "sum overflows");
            }
            compute_vat_add(&c, ac->vat_category, ac->vat_rate,
                            ac->amount_minor, NULL, NULL);

        } else {
            if (money_add(t->allowance_minor, ac->amount_minor,
                          &t->allowance_minor) != DEC_OK)
            {
                compute_fail(&c, INVOICE_ERANGE, path, "sum overflows");
            }
            compute_vat_add(&c, ac->vat_category, ac->vat_rate,
                            -ac->amount_minor, NULL, NULL);
        }
    }

    if (c.rc != INVOICE_OK) {
        return c.rc;
    }

    /* BR-CO-13 */
    if (money_sub(t->line_net_minor, t->allowance_minor,
                  &t->tax_exclusive_minor) != DEC_OK
        || money_add(t->tax_exclusive_minor, t->charge_minor,
                     &t->tax_exclusive_minor) != DEC_OK)
    {
        compute_fail(&c, INVOICE_ERANGE, "totals", "overflow");
        return c.rc;
    }

    /* BR-CO-17 per row, BR-CO-14 their sum */
    for (i = 0; i < t->n_vat; i++) {
        v = &t->vat[i];
        if (dec_muldiv_minor(dec_from_minor(v->taxable_minor, c.exp),
                             v->rate, DEC(100, 0), c.exp, &v->tax_minor)
                != DEC_OK
            || money_add(t->vat_minor, v->tax_minor, &t->vat_minor)
                != DEC_OK)
        {
            compute_fail(&c, INVOICE_ERANGE, "vat_breakdown", "overflow");
            return c.rc;
        }
    }

    compute_vat_defaults(&c);
    qsort(t->vat, t->n_vat, sizeof(*t->vat), compute_vat_cmp);

    /* BT-111 */
    if (inv->vat_currency[0] != '\0'
        && strcmp(inv->vat_currency, inv->currency) != 0)
    {
        vexp = invoice_currency_exponent(inv->vat_currency);
        if (vexp < 0) {
            compute_fail(&c, INVOICE_EINVAL, "vat_currency",
                         "not an ISO 4217 code with 0 or 2 decimals");
        } else if (inv->vat_in_vat_currency_given) {
            t->vat_in_vat_currency_minor = inv->vat_in_vat_currency_minor;
        } else if (dec_sign(inv->exchange_rate) <= 0) {
            compute_fail(&c, INVOICE_EINVAL, "exchange_rate",
                         "must be greater than 0");
        } else if (dec_muldiv_minor(dec_from_minor(t->vat_minor, c.exp),
                                    inv->exchange_rate, DEC_ONE, vexp,
                                    &t->vat_in_vat_currency_minor)
                   != DEC_OK)
        {
            compute_fail(&c, INVOICE_ERANGE, "exchange_rate", "overflow");
        }
        t->has_vat_in_vat_currency = 1;
    }

    /* BR-CO-15, BR-CO-16 */
    t->prepaid_minor = inv->prepaid_minor;
    t->rounding_minor = inv->rounding_minor;
    if (money_add(t->tax_exclusive_minor, t->vat_minor,
                  &t->tax_inclusive_minor) != DEC_OK
        || money_sub(t->tax_inclusive_minor, t->prepaid_minor,
                     &t->payable_minor) != DEC_OK
        || money_add(t->payable_minor, t->rounding_minor,
                     &t->payable_minor) != DEC_OK)
    {
        compute_fail(&c, INVOICE_ERANGE, "totals", "overflow");
    }

    if (c.rc == INVOICE_OK) {
        inv->computed = 1;
    }

    return c.rc;
}


static void
compute_fail(compute_ctx_t *c, int rc, const char *path, const char *msg)
{
    invoice_errs_add(c->errs, path, "%s", msg);
    if (c->rc == INVOICE_OK) {
        c->rc = rc;
    }
}


/* BR-S-05, BR-Z-05, BR-E-05, BR-AE-05, BR-IC-05, BR-G-05, BR-O-05 */
static void
compute_check_rate(compute_ctx_t *c, const char *path, vat_category_e cat,
    dec_t rate)
{
    char  p[96];

    snprintf(p, sizeof(p), "%s.vat_rate", path);

    if (dec_sign(rate) < 0 || dec_cmp(rate, DEC(100, 0)) > 0) {
        compute_fail(c, INVOICE_EINVAL, p, "must be between 0 and 100");
        return;
    }

    switch (cat) {
    case VAT_CAT_S:
        if (dec_sign(rate) == 0) {
            compute_fail(c, INVOICE_EINVAL, p,
                         "must be greater than 0 for category S");
        }
        break;

    case VAT_CAT_L:
    case VAT_CAT_M:
        break;

    default:
        if (dec_sign(rate) != 0) {
            compute_fail(c, INVOICE_EINVAL, p,
                         "must be 0 for this category");
        }
        break;
    }
}


/* the amount of an allowance or charge given by percent and base */
static int
compute_ac(compute_ctx_t *c, invoice_ac_t *ac, int64_t dflt_base,
    const char *path)
{
    char  p[160];

    if (!ac->amount_given) {
        if (!ac->has_percent) {
            snprintf(p, sizeof(p), "%s.amount", path);
            compute_fail(c, INVOICE_EINVAL, p, "amount or percent required");
            return INVOICE_EINVAL;
        }
        if (!ac->has_base) {
            ac->base_minor = dflt_base;
            ac->has_base = 1;
        }
        if (dec_muldiv_minor(dec_from_minor(ac->base_minor, c->exp),
                             ac->percent, DEC(100, 0), c->exp,
                             &ac->amount_minor) != DEC_OK)
        {
            snprintf(p, sizeof(p), "%s.percent", path);
            compute_fail(c, INVOICE_ERANGE, p, "amount overflows");
            return INVOICE_ERANGE;
        }
    }

    if (ac->amount_minor < 0) {
        snprintf(p, sizeof(p), "%s.amount", path);
        compute_fail(c, INVOICE_EINVAL, p,
                     "must not be negative (use charge or allowance)");
        return INVOICE_EINVAL;
    }

    return INVOICE_OK;
}


static void
compute_line(compute_ctx_t *c, invoice_line_t *l, size_t i)
{
    size_t   k;
    int64_t  *sum;
    char     path[64], p[128];

    snprintf(path, sizeof(path), "lines[%zu]", i);
    l->gross_minor = 0;
    l->allowance_minor = 0;
    l->charge_minor = 0;
    l->net_minor = 0;

    if ((unsigned) l->vat_category >= VAT_CAT_COUNT) {
        snprintf(p, sizeof(p), "%s.vat_category", path);
        compute_fail(c, INVOICE_EINVAL, p, "unknown VAT category");
        return;
    }
    compute_check_rate(c, path, l->vat_category, l->vat_rate);

    if (dec_sign(l->price) < 0) {
        snprintf(p, sizeof(p), "%s.unit_price", path);
        compute_fail(c, INVOICE_EINVAL, p, "must not be negative (BR-27)");
        return;
    }

    if (dec_sign(l->base_quantity) <= 0) {
        snprintf(p, sizeof(p), "%s.base_quantity", path);
        compute_fail(c, INVOICE_EINVAL, p, "must be greater than 0");
        return;
    }

    if (dec_muldiv_minor(l->quantity, l->price, l->base_quantity, c->exp,
                         &l->gross_minor) != DEC_OK)
    {
        compute_fail(c, INVOICE_ERANGE, path, "amount overflows");
        return;
    }

    for (k = 0; k < l->n_acs; k++) {
        snprintf(p, sizeof(p), "%s.allowances_charges[%zu]", path, k);
        if (compute_ac(c, &l->acs[k], l->gross_minor, p) != INVOICE_OK) {
            return;
        }
        sum = l->acs[k].is_charge ? &l->charge_minor : &l->allowance_minor;
        if (money_add(*sum, l->acs[k].amount_minor, sum) != DEC_OK) {
            compute_fail(c, INVOICE_ERANGE, p, "sum overflows");
            return;
        }
    }

    if (money_sub(l->gross_minor, l->allowance_minor, &l->net_minor)
            != DEC_OK
        || money_add(l->net_minor, l->charge_minor, &l->net_minor) != DEC_OK)
    {
        compute_fail(c, INVOICE_ERANGE, path, "amount overflows");
        return;
    }

    compute_vat_add(c, l->vat_category, l->vat_rate, l->net_minor,
                    l->vat_exemption_reason, l->vat_exemption_code);
}


static invoice_vat_t *
compute_vat_row(invoice_totals_t *t, vat_category_e cat, dec_t rate)
{
    size_t          i;
    invoice_vat_t  *v;

    for (i = 0; i < t->n_vat; i++) {
        if (t->vat[i].category == cat && dec_cmp(t->vat[i].rate, rate) == 0)
        {
            return &t->vat[i];
        }
    }

    /* at most VAT_CAT_COUNT * distinct rates: grow one by one */
    v = realloc(t->vat, (t->n_vat + 1) * sizeof(*v));
    if (v == NULL) {
        return NULL;
    }

    t->vat = v;
    v = &t->vat[t->n_vat++];
    memset(v, 0, sizeof(*v));
    v->category = cat;
    v->rate = dec_normalize(rate);

    return v;
}


static void
compute_vat_add(compute_ctx_t *c, vat_category_e cat, dec_t rate,
    int64_t amount, const char *reason, const char *code)
{
    invoice_vat_t  *v;

    v = compute_vat_row(&c->inv->totals, cat, rate);
    if (v == NULL) {
        compute_fail(c, INVOICE_ENOMEM, "vat_breakdown", "out of memory");
        return;
    }

    if (money_add(v->taxable_minor, amount, &v->taxable_minor) != DEC_OK) {
        compute_fail(c, INVOICE_ERANGE, "vat_breakdown", "sum overflows");
        return;
    }

    /* BR-S-10, BR-Z-10: taxed categories carry no exemption reason */
    if (cat == VAT_CAT_S || cat == VAT_CAT_Z || cat == VAT_CAT_L
        || cat == VAT_CAT_M)
    {
        return;
    }

    if (v->exemption_reason == NULL && reason != NULL && reason[0] != '\0') {
        v->exemption_reason = reason;
    }

    if (v->exemption_code == NULL && code != NULL && code[0] != '\0') {
        v->exemption_code = code;
    }
}


/* BR-E-10 and the defaults of vat_default_reasons */
static void
compute_vat_defaults(compute_ctx_t *c)
{
    invoice_totals_t  *t = &c->inv->totals;
    invoice_vat_t     *v;
    size_t             i, k;

    for (i = 0; i < t->n_vat; i++) {
        v = &t->vat[i];
        if (v->exemption_reason != NULL || v->exemption_code != NULL) {
            continue;
        }

        if (v->category == VAT_CAT_E) {
            compute_fail(c, INVOICE_EINVAL, "lines",
                         "category E needs vat_exemption_reason or "
                         "vat_exemption_code on a line (BR-E-10)");
            continue;
        }

        for (k = 0; k < sizeof(vat_default_reasons)
                        / sizeof(vat_default_reasons[0]); k++)
        {
            if (vat_default_reasons[k].cat == v->category) {
                v->exemption_reason = vat_default_reasons[k].reason;
                v->exemption_code = vat_default_reasons[k].code;
            }
        }
    }
}


static int
compute_vat_cmp(const void *a, const void *b)
{
    const invoice_vat_t  *x = a, *y = b;

    if (x->category != y->category) {
        return x->category < y->category ? -1 : 1;
    }

    return dec_cmp(x->rate, y->rate);
}
