/*
 * invoice totals: EN 16931 BR-CO-10..17 on hand-made invoices (several
 * rates, allowances and charges, credit notes, negative lines, VAT
 * currency), validation and overflow errors, the JSON round trip, and the
 * CEN example invoices re-created from their data: invoice_compute must
 * give exactly their LegalMonetaryTotal and TaxTotal.  Run from the
 * repository root (the examples are ../shared/specs/en16931/examples; set
 * HUBGATE_SPECS to override).
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glob.h>
#include <cmocka.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "invoice/invoice.h"


static dec_t
D(const char *s)
{
    dec_t  d;

    assert_int_equal(dec_parse(s, strlen(s), &d), DEC_OK);
    return d;
}


static invoice_t *
mk_invoice(const char *currency)
{
    invoice_t  *inv;

    inv = invoice_new();
    assert_non_null(inv);
    assert_int_equal(invoice_strset(&inv->number, "T-1"), INVOICE_OK);
    memcpy(inv->issue_date, "2025-03-01", 11);
    snprintf(inv->currency, sizeof(inv->currency), "%s", currency);
    assert_int_equal(invoice_strset(&inv->seller.name, "Seller"), 0);
    assert_int_equal(invoice_strset(&inv->buyer.name, "Buyer"), 0);
    memcpy(inv->seller.country, "PL", 3);
    memcpy(inv->buyer.country, "PL", 3);

    return inv;
}


static invoice_line_t *
mk_line(invoice_t *inv, const char *qty, const char *price,
    vat_category_e cat, const char *rate)
{
    invoice_line_t  *l;

    l = invoice_add_line(inv);
    assert_non_null(l);
    assert_int_equal(invoice_strset(&l->name, "item"), 0);
    l->quantity = D(qty);
    l->price = D(price);
    l->vat_category = cat;
    l->vat_rate = D(rate);

    return l;
}


static invoice_ac_t *
mk_ac(invoice_ac_t *ac, int charge, int64_t amount)
{
    assert_non_null(ac);
    ac->is_charge = charge;
    ac->amount_minor = amount;
    assert_int_equal(invoice_strset(&ac->reason, "r"), 0);

    return ac;
}


static const invoice_vat_t *
vat_row(const invoice_t *inv, vat_category_e cat, const char *rate)
{
    size_t  i;

    for (i = 0; i < inv->totals.n_vat; i++) {
        if (inv->totals.vat[i].category == cat
            && dec_cmp(inv->totals.vat[i].rate, D(rate)) == 0)
        {
            return &inv->totals.vat[i];
        }
    }

    fail_msg("no VAT row %s %s", invoice_vat_category_code(cat), rate);
    return NULL;
}


/* BR-CO-10..16 hold between the totals */
static void
check_sums(const invoice_t *inv)
{
    const invoice_totals_t  *t = &inv->totals;
    int64_t                  lines, a, c, vat;
    size_t                   i;

    lines = 0;
    for (i = 0; i < inv->n_lines; i++) {
        lines += inv->lines[i].net_minor;
    }
    a = 0;
    c = 0;
    for (i = 0; i < inv->n_acs; i++) {
        if (inv->acs[i].is_charge) {
            c += inv->acs[i].amount_minor;
        } else {
            a += inv->acs[i].amount_minor;
        }
    }
    vat = 0;
    for (i = 0; i < t->n_vat; i++) {
        vat += t->vat[i].tax_minor;
    }

    assert_int_equal(t->line_net_minor, lines);                 /* 10 */
    assert_int_equal(t->allowance_minor, a);                    /* 11 */
    assert_int_equal(t->charge_minor, c);                       /* 12 */
    assert_int_equal(t->tax_exclusive_minor, lines - a + c);    /* 13 */
    assert_int_equal(t->vat_minor, vat);                        /* 14 */
    assert_int_equal(t->tax_inclusive_minor,
                     t->tax_exclusive_minor + t->vat_minor);    /* 15 */
    assert_int_equal(t->payable_minor, t->tax_inclusive_minor
                     - t->prepaid_minor + t->rounding_minor);   /* 16 */
}


static void
test_multi_rate(void **state)
{
    invoice_t            *inv;
    invoice_errs_t        errs = { 0 };
    const invoice_vat_t  *v;

    inv = mk_invoice("PLN");
    mk_line(inv, "3", "33.333", VAT_CAT_S, "23");         /* 100.00 */
    mk_line(inv, "1", "0.05", VAT_CAT_S, "23");           /*   0.05 */
    mk_line(inv, "2.5", "10.10", VAT_CAT_S, "8");         /*  25.25 */
    mk_line(inv, "1", "19.99", VAT_CAT_S, "5");           /*  19.99 */
    mk_line(inv, "4", "2.50", VAT_CAT_Z, "0");            /*  10.00 */

    assert_int_equal(invoice_compute(inv, &errs), INVOICE_OK);
    assert_int_equal(errs.n, 0);
    assert_int_equal(inv->lines[0].net_minor, 10000);
    assert_int_equal(inv->totals.n_vat, 4);

    /* BR-CO-17 on the summed base: 100.05 * 23% = 23.0115 -> 23.01 */
    v = vat_row(inv, VAT_CAT_S, "23");
    assert_int_equal(v->taxable_minor, 10005);
    assert_int_equal(v->tax_minor, 2301);
    v = vat_row(inv, VAT_CAT_S, "8");
    assert_int_equal(v->tax_minor, 202);                  /* 2.02 */
    v = vat_row(inv, VAT_CAT_S, "5");
    assert_int_equal(v->tax_minor, 100);                  /* 0.9995 */
    v = vat_row(inv, VAT_CAT_Z, "0");
    assert_int_equal(v->tax_minor, 0);

    /* sorted by category then rate */
    assert_int_equal(inv->totals.vat[0].category, VAT_CAT_S);
    assert_int_equal(dec_cmp(inv->totals.vat[0].rate, D("5")), 0);
    assert_int_equal(dec_cmp(inv->totals.vat[2].rate, D("23")), 0);

    assert_int_equal(inv->totals.line_net_minor, 15529);
    assert_int_equal(inv->totals.vat_minor, 2603);
    assert_int_equal(inv->totals.payable_minor, 18132);
    check_sums(inv);
    invoice_free(inv);
}


static void
test_allowances_charges(void **state)
{
    invoice_t        *inv;
    invoice_line_t   *l;
    invoice_ac_t     *ac;
    invoice_errs_t    errs = { 0 };

    inv = mk_invoice("EUR");
    l = mk_line(inv, "10", "12.00", VAT_CAT_S, "21");     /* 120.00 */
    mk_ac(invoice_line_add_ac(l), 0, 1000);               /* -10.00 */
    ac = mk_ac(invoice_line_add_ac(l), 1, 0);             /* +5% of 120 */
    ac->amount_given = 0;
    ac->has_percent = 1;
    ac->percent = D("5");
    l = mk_line(inv, "1", "50", VAT_CAT_S, "9");          /*  50.00 */

    ac = mk_ac(invoice_add_ac(inv), 0, 0);                /* 10% of lines */
    ac->amount_given = 0;
    ac->has_percent = 1;
    ac->percent = D("10");
    ac->vat_category = VAT_CAT_S;
    ac->vat_rate = D("21");
    ac = mk_ac(invoice_add_ac(inv), 1, 795);              /* shipping */
    ac->vat_category = VAT_CAT_S;
    ac->vat_rate = D("9");
    inv->prepaid_minor = 5000;
    inv->rounding_minor = 1;

    assert_int_equal(invoice_compute(inv, &errs), INVOICE_OK);
    assert_int_equal(inv->lines[0].gross_minor, 12000);
    assert_int_equal(inv->lines[0].charge_minor, 600);
    assert_int_equal(inv->lines[0].net_minor, 11600);
    assert_int_equal(inv->acs[0].amount_minor, 1660);     /* 10% of 166 */
    assert_int_equal(inv->acs[0].base_minor, 16600);
    assert_int_equal(inv->totals.allowance_minor, 1660);
    assert_int_equal(inv->totals.charge_minor, 795);
    assert_int_equal(inv->totals.tax_exclusive_minor, 16600 - 1660 + 795);

    /* 21%: 116.00 - 16.60 = 99.40 -> 20.874 -> 20.87;
     *  9%: 50.00 + 7.95 = 57.95 -> 5.2155 -> 5.22 */
    assert_int_equal(vat_row(inv, VAT_CAT_S, "21")->taxable_minor, 9940);
    assert_int_equal(vat_row(inv, VAT_CAT_S, "21")->tax_minor, 2087);
    assert_int_equal(vat_row(inv, VAT_CAT_S, "9")->taxable_minor, 5795);
    assert_int_equal(vat_row(inv, VAT_CAT_S, "9")->tax_minor, 522);
    assert_int_equal(inv->totals.payable_minor,
                     15735 + 2609 - 5000 + 1);
    check_sums(inv);
    invoice_free(inv);
}


static void
test_credit_note_and_negative_lines(void **state)
{
    invoice_t       *inv;
    invoice_errs_t   errs = { 0 };

    inv = mk_invoice("EUR");
    inv->kind = INVOICE_KIND_CREDIT_NOTE;
    assert_int_equal(invoice_strset(&inv->preceding_number, "T-0"), 0);
    mk_line(inv, "2", "10.00", VAT_CAT_S, "20");
    mk_line(inv, "-1", "0.03", VAT_CAT_S, "20");          /* -0.03 */

    assert_int_equal(invoice_compute(inv, &errs), INVOICE_OK);
    /* a credit note keeps the signs: positive amounts are credited */
    assert_int_equal(inv->lines[1].net_minor, -3);
    assert_int_equal(inv->totals.line_net_minor, 1997);
    assert_int_equal(inv->totals.vat_minor, 399);         /* 3.994 */
    assert_int_equal(inv->totals.payable_minor, 2396);
    check_sums(inv);

    /* an all-negative line set: the half at -0.005 goes up to -0.00 */
    invoice_free(inv);
    inv = mk_invoice("EUR");
    mk_line(inv, "-1", "0.05", VAT_CAT_S, "10");          /* -0.05 */
    assert_int_equal(invoice_compute(inv, &errs), INVOICE_OK);
    assert_int_equal(inv->totals.vat_minor, 0);           /* -0.005 */
    invoice_free(inv);

    inv = mk_invoice("EUR");
    mk_line(inv, "-1", "0.15", VAT_CAT_S, "10");          /* -0.015 */
    assert_int_equal(invoice_compute(inv, &errs), INVOICE_OK);
    assert_int_equal(inv->totals.vat_minor, -1);
    invoice_free(inv);
}


static void
test_vat_currency(void **state)
{
    invoice_t       *inv;
    invoice_errs_t   errs = { 0 };

    inv = mk_invoice("EUR");
    memcpy(inv->vat_currency, "RON", 4);
    inv->exchange_rate = D("4.9771");
    mk_line(inv, "1", "100.00", VAT_CAT_S, "19");         /* VAT 19.00 */

    assert_int_equal(invoice_compute(inv, &errs), INVOICE_OK);
    assert_true(inv->totals.has_vat_in_vat_currency);
    /* 19.00 * 4.9771 = 94.5649 -> 94.56 */
    assert_int_equal(inv->totals.vat_in_vat_currency_minor, 9456);

    /* JPY has no minor unit: 19.00 * 158.555 = 3012.545 -> 3013 */
    memcpy(inv->vat_currency, "JPY", 4);
    inv->exchange_rate = D("158.555");
    assert_int_equal(invoice_compute(inv, &errs), INVOICE_OK);
    assert_int_equal(inv->totals.vat_in_vat_currency_minor, 3013);

    /* the same currency: no BT-111 */
    memcpy(inv->vat_currency, "EUR", 4);
    assert_int_equal(invoice_compute(inv, &errs), INVOICE_OK);
    assert_false(inv->totals.has_vat_in_vat_currency);

    /* a given BT-111 wins over the rate */
    memcpy(inv->vat_currency, "SEK", 4);
    inv->vat_in_vat_currency_given = 1;
    inv->vat_in_vat_currency_minor = 200073;
    assert_int_equal(invoice_compute(inv, &errs), INVOICE_OK);
    assert_int_equal(inv->totals.vat_in_vat_currency_minor, 200073);
    invoice_free(inv);

    /* a document in JPY: amounts at 0 decimals */
    inv = mk_invoice("JPY");
    mk_line(inv, "3", "333.5", VAT_CAT_S, "10");          /* 1000.5 */
    assert_int_equal(invoice_compute(inv, &errs), INVOICE_OK);
    assert_int_equal(inv->totals.line_net_minor, 1001);
    assert_int_equal(inv->totals.vat_minor, 100);         /* 100.1 */
    invoice_free(inv);
}


static int
has_err(const invoice_errs_t *errs, const char *path, const char *needle)
{
    size_t  i;

    for (i = 0; i < errs->n; i++) {
        if (strcmp(errs->e[i].path, path) == 0
            && strstr(errs->e[i].msg, needle) != NULL)
        {
            return 1;
        }
    }

    return 0;
}


static void
test_errors(void **state)
{
    invoice_t       *inv;
    invoice_line_t  *l;
    invoice_errs_t   errs;

    inv = mk_invoice("EUR");
    mk_line(inv, "1", "1", VAT_CAT_S, "0");
    l = mk_line(inv, "1", "1", VAT_CAT_Z, "5");
    l = mk_line(inv, "1", "-1", VAT_CAT_S, "20");
    l = mk_line(inv, "1", "1", VAT_CAT_E, "0");
    l->base_quantity = DEC_ZERO;

    memset(&errs, 0, sizeof(errs));
    assert_int_equal(invoice_compute(inv, &errs), INVOICE_EINVAL);
    assert_true(has_err(&errs, "lines[0].vat_rate", "greater than 0"));
    assert_true(has_err(&errs, "lines[1].vat_rate", "must be 0"));
    assert_true(has_err(&errs, "lines[2].unit_price", "negative"));
    assert_true(has_err(&errs, "lines[3].base_quantity", "greater"));
    assert_false(inv->computed);
    invoice_free(inv);

    /* E needs an exemption reason (BR-E-10) */
    inv = mk_invoice("EUR");
    l = mk_line(inv, "1", "1", VAT_CAT_E, "0");
    memset(&errs, 0, sizeof(errs));
    assert_int_equal(invoice_compute(inv, &errs), INVOICE_EINVAL);
    assert_true(has_err(&errs, "lines", "BR-E-10"));
    assert_int_equal(invoice_strset(&l->vat_exemption_reason, "Art. 43"), 0);
    memset(&errs, 0, sizeof(errs));
    assert_int_equal(invoice_compute(inv, &errs), INVOICE_OK);
    assert_string_equal(inv->totals.vat[0].exemption_reason, "Art. 43");
    invoice_free(inv);

    /* AE gets its fixed mention */
    inv = mk_invoice("EUR");
    mk_line(inv, "1", "1", VAT_CAT_AE, "0");
    assert_int_equal(invoice_compute(inv, NULL), INVOICE_OK);
    assert_string_equal(inv->totals.vat[0].exemption_code, "VATEX-EU-AE");
    invoice_free(inv);

    /* currencies EN 16931 cannot express, none at all, no lines */
    inv = mk_invoice("KWD");
    memset(&errs, 0, sizeof(errs));
    assert_int_equal(invoice_compute(inv, &errs), INVOICE_EINVAL);
    assert_true(has_err(&errs, "currency", "ISO 4217"));
    memcpy(inv->currency, "EUR", 4);
    memset(&errs, 0, sizeof(errs));
    assert_int_equal(invoice_compute(inv, &errs), INVOICE_EINVAL);
    assert_true(has_err(&errs, "lines", "at least one"));
    invoice_free(inv);

    /* overflow: an error, never a wrap */
    inv = mk_invoice("EUR");
    mk_line(inv, "92233720368", "92233720368", VAT_CAT_S, "20");
    memset(&errs, 0, sizeof(errs));
    assert_int_equal(invoice_compute(inv, &errs), INVOICE_ERANGE);
    invoice_free(inv);

    inv = mk_invoice("EUR");
    mk_line(inv, "9000000", "9000000000", VAT_CAT_S, "20");
    mk_line(inv, "9000000", "9000000000", VAT_CAT_S, "20");
    memset(&errs, 0, sizeof(errs));
    assert_int_equal(invoice_compute(inv, &errs), INVOICE_ERANGE);
    invoice_free(inv);
}


static const char  *json_doc =
    "{\"kind\":\"invoice\",\"number\":\"FV/2025/03/1\","
    "\"issue_date\":\"2025-03-01\",\"due_date\":\"2025-03-15\","
    "\"currency\":\"EUR\",\"vat_currency\":\"RON\","
    "\"exchange_rate\":\"4.9771\","
    "\"seller\":{\"name\":\"S.C. Ţară SRL\",\"vat_id\":\"RO1234567\","
    "\"address\":{\"street\":\"Str. Şcolii 1\",\"city\":\"SECTOR1\","
    "\"subdivision\":\"RO-B\",\"country\":\"RO\"}},"
    "\"buyer\":{\"name\":\"Zażółć sp. z o.o.\","
    "\"address\":{\"city\":\"Kraków\",\"country\":\"PL\"}},"
    "\"lines\":[{\"name\":\"a\",\"quantity\":\"2\",\"unit_price\":\"9.99\","
    "\"vat_category\":\"S\",\"vat_rate\":\"19\","
    "\"allowances_charges\":[{\"amount\":\"1.00\",\"reason\":\"promo\"}]},"
    "{\"name\":\"b\",\"quantity\":1,\"unit_price\":\"5\","
    "\"vat_category\":\"S\",\"vat_rate\":9}],"
    "\"allowances_charges\":[{\"charge\":true,\"amount\":\"3.50\","
    "\"reason\":\"shipping\",\"vat_category\":\"S\",\"vat_rate\":\"19\"}]}";


static void
test_json(void **state)
{
    json_t                    *j, *back;
    json_error_t               jerr;
    invoice_t                 *inv, *inv2;
    invoice_errs_t             errs = { 0 };
    const invoice_renderer_t  *r;
    unsigned char             *out;
    size_t                     len;
    char                       err[128];

    j = json_loads(json_doc, 0, &jerr);
    assert_non_null(j);
    assert_int_equal(invoice_from_json(j, &inv, &errs), INVOICE_OK);
    json_decref(j);
    assert_int_equal(invoice_compute(inv, &errs), INVOICE_OK);
    assert_int_equal(inv->totals.line_net_minor, 1898 + 500);
    assert_int_equal(inv->totals.charge_minor, 350);

    assert_int_equal(invoice_to_json(inv, &back), INVOICE_OK);
    assert_string_equal(json_string_value(json_object_get(
        json_object_get(back, "totals"), "tax_exclusive")), "27.48");
    assert_string_equal(json_string_value(json_object_get(
        json_array_get(json_object_get(back, "lines"), 0), "net_amount")),
        "18.98");

    /* the output is valid input, and gives the same totals */
    assert_int_equal(invoice_from_json(back, &inv2, &errs), INVOICE_OK);
    assert_int_equal(invoice_compute(inv2, &errs), INVOICE_OK);
    assert_memory_equal(&inv->totals, &inv2->totals,
                        offsetof(invoice_totals_t, vat));
    json_decref(back);
    invoice_free(inv2);

    r = invoice_renderer("json");
    assert_non_null(r);
    assert_int_equal(r->render(inv, NULL, &out, &len, err, sizeof(err)), 0);
    assert_non_null(strstr((char *) out, "\"payable\":"));
    free(out);

    r = invoice_renderer("ubl-ro");
    assert_non_null(r);
    assert_int_equal(r->render(inv, NULL, &out, &len, err, sizeof(err)), 0);
    assert_non_null(strstr((char *) out, "CIUS-RO:1.0.1"));
    assert_non_null(strstr((char *) out,
        "<cbc:TaxCurrencyCode>RON</cbc:TaxCurrencyCode>"));
    free(out);
    assert_null(invoice_renderer("nope"));
    invoice_free(inv);
}


static void
test_json_errors(void **state)
{
    json_t          *j;
    json_error_t     jerr;
    invoice_t       *inv = NULL;
    invoice_errs_t   errs = { 0 };

    j = json_loads("{\"kind\":\"bill\",\"currency\":\"eur\","
                   "\"issue_date\":\"2025-02-30\","
                   "\"seller\":{\"address\":{}},"
                   "\"buyer\":{\"name\":\"b\",\"address\":{\"country\":"
                   "\"PL\"}},\"lines\":[{\"name\":\"x\",\"quantity\":1.5,"
                   "\"unit_price\":\"1,00\",\"vat_category\":\"X\"}, 3],"
                   "\"prepaid_amount\":\"1.001\"}", 0, &jerr);
    assert_non_null(j);
    assert_int_equal(invoice_from_json(j, &inv, &errs), INVOICE_EINVAL);
    assert_null(inv);
    json_decref(j);

    assert_true(has_err(&errs, "kind", "invoice or credit_note"));
    assert_true(has_err(&errs, "number", "required"));
    assert_true(has_err(&errs, "currency", "ISO 4217"));
    assert_true(has_err(&errs, "issue_date", "YYYY-MM-DD"));
    assert_true(has_err(&errs, "seller.name", "required"));
    assert_true(has_err(&errs, "seller.address.country", "required"));
    assert_true(has_err(&errs, "lines[0].quantity", "decimal string"));
    assert_true(has_err(&errs, "lines[0].unit_price", "decimal string"));
    assert_true(has_err(&errs, "lines[0].vat_category", "one of"));
    assert_true(has_err(&errs, "lines[1]", "object"));
    assert_true(has_err(&errs, "prepaid_amount", "decimals"));

    /* the scales sql/004_invoices.sql stores */
    memset(&errs, 0, sizeof(errs));
    j = json_loads("{\"lines\":[{\"quantity\":\"1.0000001\","
                   "\"unit_price\":\"0.12345678\",\"vat_rate\":\"5.125\","
                   "\"vat_category\":\"S\",\"name\":\"n\"}]}", 0, &jerr);
    assert_non_null(j);
    assert_int_equal(invoice_from_json(j, &inv, &errs), INVOICE_EINVAL);
    json_decref(j);
    assert_true(has_err(&errs, "lines[0].quantity", "6 decimals"));
    assert_true(has_err(&errs, "lines[0].vat_rate", "2 decimals"));
    assert_false(has_err(&errs, "lines[0].unit_price", ""));
}


static char *
render(const invoice_t *inv, const char *name, int want_rc, char *err,
    size_t errlen)
{
    const invoice_renderer_t  *r;
    unsigned char             *out = NULL;
    size_t                     len = 0;

    r = invoice_renderer(name);
    assert_non_null(r);
    err[0] = '\0';
    assert_int_equal(r->render(inv, NULL, &out, &len, err, errlen), want_rc);
    if (want_rc != INVOICE_OK) {
        assert_null(out);
        return NULL;
    }
    assert_int_equal(strlen((char *) out), len);

    return (char *) out;
}


static void
test_ubl(void **state)
{
    invoice_t       *inv;
    invoice_line_t  *l;
    char            *x, err[160];

    inv = mk_invoice("EUR");
    l = mk_line(inv, "2", "1.5", VAT_CAT_S, "23");
    assert_non_null(l);
    l = mk_line(inv, "1", "4", VAT_CAT_O, "0");
    assert_null(render(inv, "ubl", INVOICE_EINVAL, err, sizeof(err)));
    assert_string_equal(err, "invoice not computed");

    assert_int_equal(invoice_compute(inv, NULL), INVOICE_OK);
    x = render(inv, "ubl", INVOICE_OK, err, sizeof(err));
    assert_non_null(strstr(x, "<Invoice xmlns=\"urn:oasis:names:"
                              "specification:ubl:schema:xsd:Invoice-2\""));
    assert_non_null(strstr(x, "<cbc:CustomizationID>urn:cen.eu:en16931:2017"
                              "</cbc:CustomizationID>"));
    assert_non_null(strstr(x, "<cbc:InvoicedQuantity unitCode=\"C62\">2<"));
    assert_non_null(strstr(x, "<cbc:PriceAmount currencyID=\"EUR\">1.5<"));
    assert_non_null(strstr(x, "<cbc:PayableAmount currencyID=\"EUR\">"
                              "7.69<"));
    /* O: no rate (BR-O-05), its fixed mention */
    assert_non_null(strstr(x, "<cbc:ID>O</cbc:ID><cbc:TaxExemptionReason"
                              "Code>VATEX-EU-O<"));
    free(x);

    /* credit note: its own root, CreditedQuantity, the corrected one */
    inv->kind = INVOICE_KIND_CREDIT_NOTE;
    assert_int_equal(invoice_strset(&inv->preceding_number, "T-0"), 0);
    memcpy(inv->due_date, "2025-04-01", 11);
    x = render(inv, "ubl", INVOICE_OK, err, sizeof(err));
    assert_non_null(strstr(x, "<CreditNote xmlns="));
    assert_non_null(strstr(x, "<cbc:CreditNoteTypeCode>381<"));
    assert_non_null(strstr(x, "<cbc:CreditedQuantity "));
    assert_non_null(strstr(x, "<cac:InvoiceDocumentReference><cbc:ID>T-0<"));
    assert_non_null(strstr(x, "<cbc:PaymentDueDate>2025-04-01<"));
    assert_null(strstr(x, "<cbc:DueDate>"));
    free(x);

    /* XML escaping is the writer's, never ours */
    assert_int_equal(invoice_strset(&inv->lines[0].name, "a<b & \"c\""), 0);
    x = render(inv, "ubl", INVOICE_OK, err, sizeof(err));
    assert_non_null(strstr(x, "<cbc:Name>a&lt;b &amp; &quot;c&quot;"
                              "</cbc:Name>"));
    free(x);

    invoice_free(inv);
}


static void
test_ubl_ro(void **state)
{
    invoice_t  *inv;
    char       *x, err[160];

    inv = mk_invoice("EUR");
    memcpy(inv->seller.country, "RO", 3);
    assert_int_equal(invoice_strset(&inv->seller.street, "Str. A 1"), 0);
    assert_int_equal(invoice_strset(&inv->seller.city, "Cluj-Napoca"), 0);
    mk_line(inv, "1", "100", VAT_CAT_S, "19");
    assert_int_equal(invoice_compute(inv, NULL), INVOICE_OK);

    /* EUR without the VAT in RON */
    assert_null(render(inv, "ubl-ro", INVOICE_EINVAL, err, sizeof(err)));
    assert_non_null(strstr(err, "RON"));

    memcpy(inv->vat_currency, "RON", 4);
    inv->exchange_rate = D("4.9771");
    assert_int_equal(invoice_compute(inv, NULL), INVOICE_OK);
    assert_null(render(inv, "ubl-ro", INVOICE_EINVAL, err, sizeof(err)));
    assert_non_null(strstr(err, "seller.address.subdivision"));

    assert_int_equal(invoice_strset(&inv->seller.subdivision, "RO-B"), 0);
    assert_null(render(inv, "ubl-ro", INVOICE_EINVAL, err, sizeof(err)));
    assert_non_null(strstr(err, "SECTOR1..SECTOR6"));

    assert_int_equal(invoice_strset(&inv->seller.city, "SECTOR3"), 0);
    x = render(inv, "ubl-ro", INVOICE_OK, err, sizeof(err));
    assert_non_null(strstr(x, INVOICE_CUSTOMIZATION_CIUS_RO));
    assert_non_null(strstr(x, "<cbc:CityName>SECTOR3<"));
    assert_non_null(strstr(x, "<cbc:CountrySubentity>RO-B<"));
    /* 19.00 EUR of VAT = 94.56 RON, in a second TaxTotal */
    assert_non_null(strstr(x, "<cbc:TaxCurrencyCode>RON<"));
    assert_non_null(strstr(x, "<cac:TaxTotal><cbc:TaxAmount currencyID="
                              "\"RON\">94.56</cbc:TaxAmount></cac:TaxTotal>"));
    free(x);

    /* the EN 16931 renderer does not ask for RO rules */
    memcpy(inv->vat_currency, "", 1);
    assert_int_equal(invoice_compute(inv, NULL), INVOICE_OK);
    x = render(inv, "ubl", INVOICE_OK, err, sizeof(err));
    assert_null(strstr(x, "TaxCurrencyCode"));
    free(x);
    invoice_free(inv);
}


/* ---- the CEN examples ---------------------------------------------- */

static xmlXPathContextPtr  xc;


static char *
xs(xmlNodePtr ctx, const char *expr)
{
    xmlXPathObjectPtr  o;
    char              *s;

    xc->node = ctx;
    o = xmlXPathEvalExpression(BAD_CAST expr, xc);
    assert_non_null(o);
    s = (char *) xmlXPathCastToString(o);
    xmlXPathFreeObject(o);

    return s;                           /* "" if absent; xmlFree it */
}


static int
xhas(xmlNodePtr ctx, const char *expr)
{
    char  *s = xs(ctx, expr);
    int    has = s[0] != '\0';

    xmlFree(s);
    return has;
}


static dec_t
xdec(xmlNodePtr ctx, const char *expr, const char *dflt)
{
    char   *s = xs(ctx, expr);
    dec_t   d = D(s[0] != '\0' ? s : dflt);

    xmlFree(s);
    return d;
}


static int64_t
xmoney(xmlNodePtr ctx, const char *expr, int exp)
{
    char     *s = xs(ctx, expr);
    int64_t   m = 0;

    if (s[0] != '\0') {
        assert_int_equal(money_parse(s, strlen(s), exp, &m), DEC_OK);
    }
    xmlFree(s);

    return m;
}


static xmlNodeSetPtr
xnodes(xmlNodePtr ctx, const char *expr, xmlXPathObjectPtr *hold)
{
    xc->node = ctx;
    *hold = xmlXPathEvalExpression(BAD_CAST expr, xc);
    assert_non_null(*hold);

    return (*hold)->nodesetval;
}


static void
read_ac(xmlNodePtr n, invoice_ac_t *ac, int exp, int doc)
{
    char  *s;

    assert_non_null(ac);
    s = xs(n, "string(cbc:ChargeIndicator)");
    ac->is_charge = strcmp(s, "true") == 0;
    xmlFree(s);
    ac->amount_minor = xmoney(n, "string(cbc:Amount)", exp);
    if (doc) {
        s = xs(n, "string(cac:TaxCategory/cbc:ID)");
        assert_int_equal(invoice_vat_category_parse(s, &ac->vat_category),
                         0);
        xmlFree(s);
        ac->vat_rate = xdec(n, "string(cac:TaxCategory/cbc:Percent)", "0");
    }
}


/* the exemption reason the example gives for a category, if any */
static void
read_reason(xmlNodePtr root, const char *cat, invoice_line_t *l)
{
    char  expr[200], *s;

    snprintf(expr, sizeof(expr), "string(cac:TaxTotal/cac:TaxSubtotal/"
             "cac:TaxCategory[cbc:ID='%s']/cbc:TaxExemptionReason)", cat);
    s = xs(root, expr);
    if (s[0] != '\0') {
        assert_int_equal(invoice_strset(&l->vat_exemption_reason, s), 0);
    }
    xmlFree(s);
}


static int
check_example(const char *file, int *inconsistent)
{
    xmlDocPtr          doc;
    xmlNodePtr         root, n;
    xmlXPathObjectPtr  hold;
    xmlNodeSetPtr      ns;
    invoice_t         *inv;
    invoice_line_t    *l;
    invoice_errs_t     errs = { 0 };
    const invoice_vat_t *v;
    char              *s, *cat;
    int                exp, i, k, bad;
    int64_t            want;

    doc = xmlReadFile(file, NULL, XML_PARSE_NONET);
    assert_non_null(doc);
    root = xmlDocGetRootElement(doc);
    xc = xmlXPathNewContext(doc);
    xmlXPathRegisterNs(xc, BAD_CAST "cbc", BAD_CAST
        "urn:oasis:names:specification:ubl:schema:xsd:"
        "CommonBasicComponents-2");
    xmlXPathRegisterNs(xc, BAD_CAST "cac", BAD_CAST
        "urn:oasis:names:specification:ubl:schema:xsd:"
        "CommonAggregateComponents-2");

    inv = invoice_new();
    s = xs(root, "string(cbc:DocumentCurrencyCode)");
    snprintf(inv->currency, sizeof(inv->currency), "%s", s);
    xmlFree(s);
    exp = invoice_currency_exponent(inv->currency);
    assert_true(exp >= 0);

    s = xs(root, "string(cbc:TaxCurrencyCode)");
    if (s[0] != '\0') {
        snprintf(inv->vat_currency, sizeof(inv->vat_currency), "%s", s);
        inv->vat_in_vat_currency_given = 1;
        inv->vat_in_vat_currency_minor = xmoney(root,
            "string(cac:TaxTotal[not(cac:TaxSubtotal)]/cbc:TaxAmount)", exp);
    }
    xmlFree(s);

    ns = xnodes(root, "cac:InvoiceLine|cac:CreditNoteLine", &hold);
    for (i = 0; ns != NULL && i < ns->nodeNr; i++) {
        xmlXPathObjectPtr  h2;
        xmlNodeSetPtr      acs;

        n = ns->nodeTab[i];
        l = invoice_add_line(inv);
        l->quantity = xdec(n, "string(cbc:InvoicedQuantity|"
                           "cbc:CreditedQuantity)", "0");
        l->price = xdec(n, "string(cac:Price/cbc:PriceAmount)", "0");
        l->base_quantity = xdec(n, "string(cac:Price/cbc:BaseQuantity)",
                                "1");
        cat = xs(n, "string(cac:Item/cac:ClassifiedTaxCategory/cbc:ID)");
        assert_int_equal(invoice_vat_category_parse(cat, &l->vat_category),
                         0);
        read_reason(root, cat, l);
        xmlFree(cat);
        l->vat_rate = xdec(n, "string(cac:Item/cac:ClassifiedTaxCategory/"
                           "cbc:Percent)", "0");

        acs = xnodes(n, "cac:AllowanceCharge", &h2);
        for (k = 0; acs != NULL && k < acs->nodeNr; k++) {
            read_ac(acs->nodeTab[k], invoice_line_add_ac(l), exp, 0);
        }
        xmlXPathFreeObject(h2);
    }
    xmlXPathFreeObject(hold);

    ns = xnodes(root, "cac:AllowanceCharge", &hold);
    for (i = 0; ns != NULL && i < ns->nodeNr; i++) {
        read_ac(ns->nodeTab[i], invoice_add_ac(inv), exp, 1);
    }
    xmlXPathFreeObject(hold);

    inv->prepaid_minor = xmoney(root,
        "string(cac:LegalMonetaryTotal/cbc:PrepaidAmount)", exp);
    inv->rounding_minor = xmoney(root,
        "string(cac:LegalMonetaryTotal/cbc:PayableRoundingAmount)", exp);

    /*
     * Some examples state a line net that is not quantity x price (EN
     * 16931 itself has no rule tying BT-131 to them): those lines are
     * listed, must be exactly the known ones, and are re-created with the
     * net price that gives the stated net, so that every document total
     * can still be compared exactly.
     */
    if (invoice_compute(inv, &errs) == INVOICE_OK) {
        ns = xnodes(root, "cac:InvoiceLine|cac:CreditNoteLine", &hold);
        for (i = 0; ns != NULL && i < ns->nodeNr; i++) {
            l = &inv->lines[i];
            want = xmoney(ns->nodeTab[i], "string(cbc:LineExtensionAmount)",
                          exp);
            if (want == l->net_minor) {
                continue;
            }
            print_message("# %s line %d: stated %lld is not q x p (%lld)\n",
                          strrchr(file, '/') + 1, i + 1, (long long) want,
                          (long long) l->net_minor);
            (*inconsistent)++;
            want += l->allowance_minor - l->charge_minor;
            l->quantity = DEC(want < 0 ? -1 : 1, 0);
            l->base_quantity = DEC_ONE;
            l->price = DEC(want < 0 ? -want : want, exp);
        }
        xmlXPathFreeObject(hold);
    }

    if (invoice_compute(inv, &errs) != INVOICE_OK) {
        print_message("%s: compute: %s: %s\n", file,
                      errs.n ? errs.e[0].path : "", errs.n ? errs.e[0].msg
                                                           : "");
        invoice_free(inv);
        xmlXPathFreeContext(xc);
        xmlFreeDoc(doc);
        return 1;
    }

    bad = 0;

#define EXPECT(expr, got)                                                  \
    do {                                                                   \
        want = xmoney(root, expr, exp);                                    \
        if (want != (got)) {                                               \
            print_message("%s: %s: want %lld, got %lld\n", file, expr,     \
                          (long long) want, (long long) (got));            \
            bad = 1;                                                       \
        }                                                                  \
    } while (0)

    EXPECT("string(cac:LegalMonetaryTotal/cbc:LineExtensionAmount)",
           inv->totals.line_net_minor);
    EXPECT("string(cac:LegalMonetaryTotal/cbc:AllowanceTotalAmount)",
           inv->totals.allowance_minor);
    EXPECT("string(cac:LegalMonetaryTotal/cbc:ChargeTotalAmount)",
           inv->totals.charge_minor);
    EXPECT("string(cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount)",
           inv->totals.tax_exclusive_minor);
    EXPECT("string(cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount)",
           inv->totals.tax_inclusive_minor);
    EXPECT("string(cac:LegalMonetaryTotal/cbc:PayableAmount)",
           inv->totals.payable_minor);
    EXPECT("string(cac:TaxTotal[cac:TaxSubtotal]/cbc:TaxAmount)",
           inv->totals.vat_minor);

    ns = xnodes(root, "cac:InvoiceLine|cac:CreditNoteLine", &hold);
    for (i = 0; ns != NULL && i < ns->nodeNr; i++) {
        want = xmoney(ns->nodeTab[i], "string(cbc:LineExtensionAmount)",
                      exp);
        if (want != inv->lines[i].net_minor) {
            print_message("%s: line %d: want %lld, got %lld\n", file, i + 1,
                          (long long) want,
                          (long long) inv->lines[i].net_minor);
            bad = 1;
        }
    }
    xmlXPathFreeObject(hold);

    ns = xnodes(root, "cac:TaxTotal/cac:TaxSubtotal", &hold);
    if (ns == NULL || (size_t) ns->nodeNr != inv->totals.n_vat) {
        print_message("%s: VAT rows differ\n", file);
        bad = 1;
    }
    for (i = 0; !bad && i < ns->nodeNr; i++) {
        vat_category_e  c;

        n = ns->nodeTab[i];
        s = xs(n, "string(cac:TaxCategory/cbc:ID)");
        assert_int_equal(invoice_vat_category_parse(s, &c), 0);
        xmlFree(s);
        v = NULL;
        for (k = 0; k < (int) inv->totals.n_vat; k++) {
            if (inv->totals.vat[k].category == c
                && dec_cmp(inv->totals.vat[k].rate,
                           xdec(n, "string(cac:TaxCategory/cbc:Percent)",
                                "0")) == 0)
            {
                v = &inv->totals.vat[k];
            }
        }
        if (v == NULL) {
            print_message("%s: VAT row %d not computed\n", file, i + 1);
            bad = 1;
            break;
        }
        want = xmoney(n, "string(cbc:TaxableAmount)", exp);
        if (want != v->taxable_minor) {
            print_message("%s: VAT row %d base: want %lld, got %lld\n",
                          file, i + 1, (long long) want,
                          (long long) v->taxable_minor);
            bad = 1;
        }
        want = xmoney(n, "string(cbc:TaxAmount)", exp);
        if (want != v->tax_minor) {
            print_message("%s: VAT row %d tax: want %lld, got %lld\n", file,
                          i + 1, (long long) want, (long long) v->tax_minor);
            bad = 1;
        }
    }
    xmlXPathFreeObject(hold);

    if (xhas(root, "cbc:TaxCurrencyCode")) {
        EXPECT("string(cac:TaxTotal[not(cac:TaxSubtotal)]/cbc:TaxAmount)",
               inv->totals.vat_in_vat_currency_minor);
    }

#undef EXPECT

    invoice_free(inv);
    xmlXPathFreeContext(xc);
    xmlFreeDoc(doc);

    return bad;
}


static void
test_cen_examples(void **state)
{
    glob_t       g;
    const char  *specs;
    char         pat[512];
    size_t       i;
    int          bad, inconsistent;

    specs = getenv("HUBGATE_SPECS");
    snprintf(pat, sizeof(pat), "%s/en16931/examples/*.xml",
             specs != NULL ? specs : "../shared/specs");
    assert_int_equal(glob(pat, 0, NULL, &g), 0);
    assert_true(g.gl_pathc >= 11);

    bad = 0;
    inconsistent = 0;
    for (i = 0; i < g.gl_pathc; i++) {
        bad += check_example(g.gl_pathv[i], &inconsistent);
    }
    globfree(&g);

    assert_int_equal(bad, 0);
    /* example1 and example10 line 20 (6 x 18.33 stated -109.98),
     * example2 line 1 (2 x 1273.00 stated 1273.00), example3 lines 1-2
     * (2 x 800.00 stated 800.00) */
    assert_int_equal(inconsistent, 5);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_multi_rate),
        cmocka_unit_test(test_allowances_charges),
        cmocka_unit_test(test_credit_note_and_negative_lines),
        cmocka_unit_test(test_vat_currency),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_json_errors),
        cmocka_unit_test(test_ubl),
        cmocka_unit_test(test_ubl_ro),
        cmocka_unit_test(test_cen_examples),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
