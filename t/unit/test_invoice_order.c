/*
 * invoice_from_order: a synced order (gross prices, the total the buyer
 * paid) made into an EN 16931 invoice.  The expected values are worked
 * out by hand in the comments: N = round(G * 100 / (100 + rate)), VAT per
 * rate on the summed nets, BT-114 = order total - BT-112.  Every invoice
 * made here is also rendered as UBL.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "invoice/invoice.h"
#include "invoice/from_order.h"


#define PROFILE_PL                                                          \
    "{'seller': {'name': 'Sklep Sp. z o.o.', 'vat_id': 'PL1234563218',"    \
    "            'email': 'faktury@sklep.example',"                         \
    "            'address': {'street': 'Prosta 1', 'city': 'Warszawa',"     \
    "                        'postal_code': '00-001', 'country': 'PL'}},"   \
    " 'payment': {'means_code': '30', 'iban': 'PL61109010140000071219812874',"\
    "             'terms': '14 days'},"                                     \
    " 'payment_days': 14}"


static json_t *J(const char *s);
static invoice_t *make(const char *order, const char *profile,
    const char *dflt, const char *issue, const char *due);
static invoice_t *make_j(const json_t *order, const json_t *profile,
    const char *dflt, const char *issue, const char *due);
static void refuse_j(const json_t *order, const json_t *profile,
    const char *dflt, const char *issue, const char *due, int rc,
    const char *reason);
static void refuse(const char *order, int rc, const char *reason);
static void check_ubl(const invoice_t *inv, const char *needle);
static const invoice_vat_t *vat_row(const invoice_t *inv,
    vat_category_e cat, const char *rate);
static void assert_dec(dec_t d, const char *text);
static const char *due_of(const char *issue, int days);


/* JSON with ' for ", for readable literals */
static json_t *
J(const char *s)
{
    json_t        *j;
    json_error_t   e;
    char          *c, *p;

    c = strdup(s);
    assert_non_null(c);
    for (p = c; *p != '\0'; p++) {
        if (*p == '\'') {
            *p = '"';
        }
    }

    j = json_loads(c, JSON_REJECT_DUPLICATES, &e);
    if (j == NULL) {
        fail_msg("bad test JSON at %d: %s", e.position, e.text);
    }
    free(c);

    return j;
}


static invoice_t *
make(const char *order, const char *profile, const char *dflt,
    const char *issue, const char *due)
{
    json_t     *o, *p;
    invoice_t  *inv;

    o = J(order);
    p = J(profile);
    inv = make_j(o, p, dflt, issue, due);
    json_decref(o);
    json_decref(p);

    return inv;
}


static invoice_t *
make_j(const json_t *order, const json_t *profile, const char *dflt,
    const char *issue, const char *due)
{
    invoice_t  *inv;
    char        err[256];
    int         rc;

    inv = NULL;
    err[0] = 'x';
    err[1] = '\0';
    rc = invoice_from_order(order, profile, dflt, issue, due, "FV/1", &inv,
                            err, sizeof(err));
    if (rc != INVOICE_OK) {
        fail_msg("invoice_from_order: %d %s", rc, err);
    }
    assert_non_null(inv);
    assert_true(inv->computed);
    assert_string_equal(err, "");
    check_ubl(inv, NULL);

    return inv;
}


static void
refuse_j(const json_t *order, const json_t *profile, const char *dflt,
    const char *issue, const char *due, int rc, const char *reason)
{
    invoice_t  *inv, *sentinel;
    char        err[256];

    sentinel = (invoice_t *) &inv;
    inv = sentinel;
    err[0] = '\0';
    assert_int_equal(invoice_from_order(order, profile, dflt, issue, due,
                                        "FV/1", &inv, err, sizeof(err)),
                     rc);
    assert_ptr_equal(inv, sentinel);
    if (strstr(err, reason) == NULL) {
        fail_msg("reason \"%s\" lacks \"%s\"", err, reason);
    }
    assert_null(strchr(err, '\n'));
}


static void
refuse(const char *order, int rc, const char *reason)
{
    json_t  *o, *p;

    o = J(order);
    p = J(PROFILE_PL);
    refuse_j(o, p, "23", "2026-03-05", NULL, rc, reason);
    json_decref(o);
    json_decref(p);
}


static void
check_ubl(const invoice_t *inv, const char *needle)
{
    const invoice_renderer_t  *r;
    unsigned char             *out;
    size_t                     len;
    char                       err[256];

    r = invoice_renderer("ubl");
    assert_non_null(r);
    out = NULL;
    if (r->render(inv, NULL, &out, &len, err, sizeof(err)) != INVOICE_OK) {
        fail_msg("ubl: %s", err);
    }
    assert_non_null(out);
    assert_true(len > 100);
    if (needle != NULL && memmem(out, len, needle, strlen(needle)) == NULL)
    {
        fail_msg("UBL lacks %s", needle);
    }
    free(out);
}


static const invoice_vat_t *
vat_row(const invoice_t *inv, vat_category_e cat, const char *rate)
{
    dec_t   d;
    size_t  i;

    assert_int_equal(dec_parse(rate, strlen(rate), &d), DEC_OK);
    for (i = 0; i < inv->totals.n_vat; i++) {
        if (inv->totals.vat[i].category == cat
            && dec_cmp(inv->totals.vat[i].rate, d) == 0)
        {
            return &inv->totals.vat[i];
        }
    }

    fail_msg("no VAT row %s %s", invoice_vat_category_code(cat), rate);
    return NULL;
}


static void
assert_dec(dec_t d, const char *text)
{
    char  buf[DEC_STR_MAX];

    assert_true(dec_format(d, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, text);
}


/* the due date made of issue + payment_days, through the function */
static const char *
due_of(const char *issue, int days)
{
    static char  due[11];
    json_t      *o, *p;
    invoice_t   *inv;

    o = J("{'type': 'order', 'external_id': 'D-1', 'currency': 'PLN',"
          " 'lines': [{'quantity': '1', 'unit_price': '1.23',"
          "            'vat_rate': '23'}]}");
    p = J(PROFILE_PL);
    assert_int_equal(json_object_set_new(p, "payment_days",
                                         json_integer(days)), 0);
    inv = make_j(o, p, "23", issue, NULL);
    memcpy(due, inv->due_date, sizeof(due));
    invoice_free(inv);
    json_decref(o);
    json_decref(p);

    return due;
}


/*
 * Two rates and a delivery line of unknown rate (default 23):
 *   2 x 49.99 = 99.98 at 23%: N = round(9998 * 100 / 123) = 8128 (81.28)
 *   35.00 at 8%:              N = round(350000 / 108)     = 3241 (32.41)
 *   delivery 12.99 at 23%:    N = round(129900 / 123)     = 1056 (10.56)
 *   23%: 91.84 -> VAT 21.1232 = 21.12;  8%: 32.41 -> 2.5928 = 2.59
 *   BT-112 = 124.25 + 23.71 = 147.96; the buyer paid 147.97: BT-114 0.01
 */
static void
test_pln_two_rates_and_delivery(void **state)
{
    invoice_t            *inv;
    const invoice_vat_t  *v;
    json_t               *j;

    inv = make("{'type': 'order', 'external_id': 'A-100', 'status': 'paid',"
               " 'currency': 'PLN', 'total_minor': 14797,"
               " 'ordered_at': '2026-03-02T10:11:12.000Z',"
               " 'customer': {'external_id': 'c1', 'name': 'Jan Kowalski',"
               "   'email': 'jan@example.pl', 'tax_id': '526-104-08-28',"
               "   'country': 'PL', 'address': {'street': 'Długa 5',"
               "   'city': 'Kraków', 'postal_code': '30-001',"
               "   'country': 'PL'}},"
               " 'lines': ["
               "  {'product': {'external_id': 'p1', 'sku': 'TS-01',"
               "               'name': 'T-shirt'},"
               "   'description': 'Koszulka', 'quantity': '2',"
               "   'unit_price': '49.99', 'vat_rate': '23',"
               "   'total_minor': 9998},"
               "  {'product': null, 'description': 'Książka',"
               "   'quantity': '1', 'unit_price': '35.00', 'vat_rate': '8',"
               "   'total_minor': 3500},"
               "  {'product': null, 'description': 'Delivery',"
               "   'quantity': '1', 'unit_price': '12.99', 'vat_rate': null,"
               "   'total_minor': 1299}]}",
               PROFILE_PL, "23", "2026-03-05", "2026-03-19");

    assert_int_equal(inv->n_lines, 3);
    assert_int_equal(inv->lines[0].net_minor, 8128);
    assert_int_equal(inv->lines[1].net_minor, 3241);
    assert_int_equal(inv->lines[2].net_minor, 1056);
    assert_dec(inv->lines[0].price, "40.64");
    assert_dec(inv->lines[1].price, "32.41");
    assert_dec(inv->lines[2].price, "10.56");
    assert_dec(inv->lines[0].quantity, "2");
    assert_string_equal(inv->lines[0].name, "Koszulka");
    assert_string_equal(inv->lines[0].seller_item_id, "TS-01");
    assert_null(inv->lines[1].seller_item_id);
    assert_string_equal(inv->lines[2].name, "Delivery");
    assert_int_equal(inv->lines[2].vat_category, VAT_CAT_S);
    assert_dec(inv->lines[2].vat_rate, "23");
    assert_int_equal(inv->lines[1].vat_category, VAT_CAT_S);

    assert_int_equal(inv->totals.n_vat, 2);
    v = vat_row(inv, VAT_CAT_S, "23");
    assert_int_equal(v->taxable_minor, 9184);
    assert_int_equal(v->tax_minor, 2112);
    v = vat_row(inv, VAT_CAT_S, "8");
    assert_int_equal(v->taxable_minor, 3241);
    assert_int_equal(v->tax_minor, 259);

    assert_int_equal(inv->totals.line_net_minor, 12425);
    assert_int_equal(inv->totals.tax_exclusive_minor, 12425);
    assert_int_equal(inv->totals.vat_minor, 2371);
    assert_int_equal(inv->totals.tax_inclusive_minor, 14796);
    assert_int_equal(inv->rounding_minor, 1);
    assert_int_equal(inv->totals.rounding_minor, 1);
    assert_int_equal(inv->totals.payable_minor, 14797);

    /* the document */
    assert_int_equal(inv->kind, INVOICE_KIND_INVOICE);
    assert_string_equal(inv->number, "FV/1");
    assert_string_equal(inv->currency, "PLN");
    assert_string_equal(inv->issue_date, "2026-03-05");
    assert_string_equal(inv->due_date, "2026-03-19");
    assert_string_equal(inv->delivery_date, "2026-03-02");
    assert_string_equal(inv->order_reference, "A-100");
    assert_string_equal(inv->payment_reference, "A-100");
    assert_string_equal(inv->note, "Order A-100");
    assert_string_equal(inv->payment_means_code, "30");
    assert_string_equal(inv->iban, "PL61109010140000071219812874");
    assert_string_equal(inv->payment_terms, "14 days");

    /* the parties */
    assert_string_equal(inv->seller.name, "Sklep Sp. z o.o.");
    assert_string_equal(inv->seller.vat_id, "PL1234563218");
    assert_string_equal(inv->seller.city, "Warszawa");
    assert_string_equal(inv->seller.country, "PL");
    assert_string_equal(inv->buyer.name, "Jan Kowalski");
    assert_string_equal(inv->buyer.email, "jan@example.pl");
    assert_string_equal(inv->buyer.vat_id, "PL5261040828");
    assert_string_equal(inv->buyer.street, "Długa 5");
    assert_string_equal(inv->buyer.city, "Kraków");
    assert_string_equal(inv->buyer.postal_code, "30-001");
    assert_string_equal(inv->buyer.country, "PL");

    check_ubl(inv, "<cbc:PayableAmount currencyID=\"PLN\">147.97"
                   "</cbc:PayableAmount>");
    check_ubl(inv, "<cbc:PayableRoundingAmount currencyID=\"PLN\">0.01"
                   "</cbc:PayableRoundingAmount>");
    check_ubl(inv, "<cbc:PaymentID>A-100</cbc:PaymentID>");
    check_ubl(inv, "<cbc:ActualDeliveryDate>2026-03-02"
                   "</cbc:ActualDeliveryDate>");

    /* the API JSON says the same */
    assert_int_equal(invoice_to_json(inv, &j), INVOICE_OK);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(j, "totals"), "payable")),
                        "147.97");
    assert_string_equal(json_string_value(json_object_get(j,
                            "rounding_amount")), "0.01");
    json_decref(j);

    invoice_free(inv);
}


/*
 * 3 x 9.99 at 23%: each N = round(99900 / 123) = 812; VAT on 24.36 is
 * 5.6028 = 5.60; BT-112 29.96, paid 29.97: BT-114 +0.01.
 * 4 x 1.04 at 23%: each N = round(10400 / 123) = 85 (84.55); VAT on 3.40
 * is 0.782 = 0.78; BT-112 4.18, paid 4.16: BT-114 -0.02 (|D| <= 4 lines).
 */
static void
test_rounding(void **state)
{
    invoice_t  *inv;
    size_t      i;

    inv = make("{'type': 'order', 'external_id': 'R-1', 'currency': 'PLN',"
               " 'total_minor': 2997, 'lines': ["
               "  {'quantity': '1', 'unit_price': '9.99', 'vat_rate': '23',"
               "   'total_minor': 999},"
               "  {'quantity': '1', 'unit_price': '9.99', 'vat_rate': '23',"
               "   'total_minor': 999},"
               "  {'quantity': '1', 'unit_price': '9.99', 'vat_rate': '23',"
               "   'total_minor': 999}]}",
               PROFILE_PL, "23", "2026-03-05", NULL);
    for (i = 0; i < 3; i++) {
        assert_int_equal(inv->lines[i].net_minor, 812);
        assert_dec(inv->lines[i].price, "8.12");
    }
    assert_int_equal(inv->totals.vat_minor, 560);
    assert_int_equal(inv->totals.tax_inclusive_minor, 2996);
    assert_int_equal(inv->totals.rounding_minor, 1);
    assert_int_equal(inv->totals.payable_minor, 2997);
    invoice_free(inv);

    inv = make("{'type': 'order', 'external_id': 'R-2', 'currency': 'PLN',"
               " 'total_minor': 416, 'lines': ["
               "  {'quantity': '1', 'vat_rate': '23', 'total_minor': 104},"
               "  {'quantity': '1', 'vat_rate': '23', 'total_minor': 104},"
               "  {'quantity': '1', 'vat_rate': '23', 'total_minor': 104},"
               "  {'quantity': '1', 'vat_rate': '23', 'total_minor': 104}]}",
               PROFILE_PL, "23", "2026-03-05", NULL);
    assert_int_equal(inv->lines[3].net_minor, 85);
    assert_int_equal(inv->totals.line_net_minor, 340);
    assert_int_equal(inv->totals.vat_minor, 78);
    assert_int_equal(inv->totals.tax_inclusive_minor, 418);
    assert_int_equal(inv->totals.rounding_minor, -2);
    assert_int_equal(inv->totals.payable_minor, 416);
    check_ubl(inv, "<cbc:PayableRoundingAmount currencyID=\"PLN\">-0.02"
                   "</cbc:PayableRoundingAmount>");
    invoice_free(inv);
}


/*
 * Without total_minor anywhere: G = round(1.5 x 3.33) = round(4.995) =
 * 5.00; N = round(50000 / 123) = 407 (406.50..); price 4.07 / 1.5 =
 * 2.71333333, 1.5 x 2.71333333 = 4.069999995 -> 4.07.  No order total:
 * no rounding, BT-115 = BT-112 = 4.07 + 0.94.
 */
static void
test_no_totals(void **state)
{
    invoice_t  *inv;

    inv = make("{'type': 'order', 'external_id': 'N-1', 'currency': 'PLN',"
               " 'lines': [{'quantity': '1.5', 'unit_price': '3.33',"
               "            'vat_rate': '23'}]}",
               PROFILE_PL, "23", "2026-03-05", NULL);
    assert_int_equal(inv->lines[0].net_minor, 407);
    assert_dec(inv->lines[0].price, "2.71333333");
    assert_dec(inv->lines[0].quantity, "1.5");
    assert_int_equal(inv->totals.vat_minor, 94);
    assert_int_equal(inv->totals.rounding_minor, 0);
    assert_int_equal(inv->totals.payable_minor, 501);
    assert_string_equal(inv->lines[0].name, "Item");
    /* no ordered_at: no delivery date */
    assert_string_equal(inv->delivery_date, "");
    invoice_free(inv);
}


/* vat_rate null: the default rate; 10.80 at 8% = 10.00 + 0.80 */
static void
test_default_rate(void **state)
{
    invoice_t  *inv;
    json_t     *o, *p;

    inv = make("{'type': 'order', 'external_id': 'V-1', 'currency': 'PLN',"
               " 'total_minor': 1080, 'lines': [{'quantity': '1',"
               "  'unit_price': '10.80', 'vat_rate': null,"
               "  'total_minor': 1080}]}",
               PROFILE_PL, "8", "2026-03-05", NULL);
    assert_dec(inv->lines[0].vat_rate, "8");
    assert_int_equal(inv->lines[0].vat_category, VAT_CAT_S);
    assert_int_equal(inv->lines[0].net_minor, 1000);
    assert_int_equal(vat_row(inv, VAT_CAT_S, "8")->tax_minor, 80);
    assert_int_equal(inv->totals.rounding_minor, 0);
    assert_int_equal(inv->totals.payable_minor, 1080);
    invoice_free(inv);

    /* an absent vat_rate is the same as null; a rate with 2 decimals */
    inv = make("{'type': 'order', 'external_id': 'V-2', 'currency': 'PLN',"
               " 'total_minor': 1055, 'lines': [{'quantity': '1',"
               "  'total_minor': 1055}]}",
               PROFILE_PL, "5.50", "2026-03-05", NULL);
    assert_dec(inv->lines[0].vat_rate, "5.5");
    assert_int_equal(inv->lines[0].net_minor, 1000);
    assert_int_equal(inv->totals.payable_minor, 1055);
    invoice_free(inv);

    /* no default and no rate */
    o = J("{'type': 'order', 'external_id': 'V-3', 'currency': 'PLN',"
          " 'lines': [{'quantity': '1', 'total_minor': 100}]}");
    p = J(PROFILE_PL);
    refuse_j(o, p, NULL, "2026-03-05", NULL, INVOICE_EINVAL,
             "no vat_rate and no usable default");
    refuse_j(o, p, "abc", "2026-03-05", NULL, INVOICE_EINVAL,
             "no vat_rate and no usable default");
    refuse_j(o, p, "123", "2026-03-05", NULL, INVOICE_EINVAL,
             "between 0 and 100");
    json_decref(o);
    json_decref(p);
}


/* rate 0: category Z, the net is the gross, no VAT */
static void
test_zero_rate(void **state)
{
    invoice_t  *inv;

    inv = make("{'type': 'order', 'external_id': 'Z-1', 'currency': 'PLN',"
               " 'total_minor': 2300, 'lines': ["
               "  {'quantity': '2', 'unit_price': '5.00', 'vat_rate': '0',"
               "   'total_minor': 1000},"
               "  {'quantity': '1', 'vat_rate': null, 'total_minor': 1300}]}",
               PROFILE_PL, "0", "2026-03-05", NULL);
    assert_int_equal(inv->lines[0].vat_category, VAT_CAT_Z);
    assert_int_equal(inv->lines[1].vat_category, VAT_CAT_Z);
    assert_int_equal(inv->lines[0].net_minor, 1000);
    assert_dec(inv->lines[0].price, "5.00");
    assert_int_equal(inv->totals.n_vat, 1);
    assert_int_equal(vat_row(inv, VAT_CAT_Z, "0")->taxable_minor, 2300);
    assert_int_equal(inv->totals.vat_minor, 0);
    assert_int_equal(inv->totals.payable_minor, 2300);
    check_ubl(inv, "<cbc:ID>Z</cbc:ID>");
    invoice_free(inv);
}


/*
 * EUR, 19% and 7%: 3 x 19.99 = 59.97: N = round(599700 / 119) = 5039,
 * price 50.39 / 3 = 16.79666667 (3 x = 50.39000001 -> 50.39); 4.99 at 7%:
 * N = round(49900 / 107) = 466; VAT 50.39 x 19% = 9.5741 = 9.57, 4.66 x
 * 7% = 0.3262 = 0.33; BT-112 64.95, paid 64.96.
 */
static void
test_eur(void **state)
{
    invoice_t  *inv;

    inv = make("{'type': 'order', 'external_id': 'E-1', 'currency': 'EUR',"
               " 'total_minor': 6496,"
               " 'customer': {'name': 'Max Muster', 'tax_id': 'DE123456789',"
               "   'address': {'city': 'Berlin', 'country': 'DE'}},"
               " 'lines': ["
               "  {'quantity': '3', 'unit_price': '19.99', 'vat_rate': '19',"
               "   'total_minor': 5997},"
               "  {'quantity': '1', 'unit_price': '4.99', 'vat_rate': '7'}]}",
               PROFILE_PL, "23", "2026-03-05", NULL);
    assert_int_equal(inv->lines[0].net_minor, 5039);
    assert_dec(inv->lines[0].price, "16.79666667");
    assert_int_equal(inv->lines[1].net_minor, 466);
    assert_int_equal(vat_row(inv, VAT_CAT_S, "19")->tax_minor, 957);
    assert_int_equal(vat_row(inv, VAT_CAT_S, "7")->tax_minor, 33);
    assert_int_equal(inv->totals.tax_inclusive_minor, 6495);
    assert_int_equal(inv->totals.rounding_minor, 1);
    assert_int_equal(inv->totals.payable_minor, 6496);
    assert_string_equal(inv->buyer.vat_id, "DE123456789");
    assert_string_equal(inv->buyer.country, "DE");
    check_ubl(inv, "<cbc:PayableAmount currencyID=\"EUR\">64.96"
                   "</cbc:PayableAmount>");
    invoice_free(inv);
}


/*
 * JPY (exponent 0): 1100 at 10% -> 1000; 3 x 330 = 990 -> 900, price 300;
 * VAT 190; BT-112 2090 = what was paid.
 */
static void
test_jpy(void **state)
{
    invoice_t  *inv;

    inv = make("{'type': 'order', 'external_id': 'J-1', 'currency': 'JPY',"
               " 'total_minor': 2090, 'lines': ["
               "  {'quantity': '1', 'unit_price': '1100', 'vat_rate': '10',"
               "   'total_minor': 1100},"
               "  {'quantity': '3', 'unit_price': '330', 'vat_rate': '10'}]}",
               PROFILE_PL, "10", "2026-03-05", NULL);
    assert_int_equal(inv->lines[0].net_minor, 1000);
    assert_int_equal(inv->lines[1].net_minor, 900);
    assert_dec(inv->lines[0].price, "1000");
    assert_dec(inv->lines[1].price, "300");
    assert_int_equal(inv->totals.vat_minor, 190);
    assert_int_equal(inv->totals.rounding_minor, 0);
    assert_int_equal(inv->totals.payable_minor, 2090);
    check_ubl(inv, "<cbc:PayableAmount currencyID=\"JPY\">2090"
                   "</cbc:PayableAmount>");
    invoice_free(inv);

    /* 1000 yen at 8%: N = round(100000 / 108) = 926 (925.93), VAT 74.08
     * = 74, BT-112 1000: no rounding */
    inv = make("{'type': 'order', 'external_id': 'J-2', 'currency': 'JPY',"
               " 'total_minor': 1000, 'lines': [{'quantity': '1',"
               "  'vat_rate': '8', 'total_minor': 1000}]}",
               PROFILE_PL, "10", "2026-03-05", NULL);
    assert_int_equal(inv->lines[0].net_minor, 926);
    assert_int_equal(inv->totals.vat_minor, 74);
    assert_int_equal(inv->totals.payable_minor, 1000);
    invoice_free(inv);
}


static void
test_buyer_vat_id(void **state)
{
    static const struct {
        const char  *customer;
        const char  *vat_id;         /* NULL: none */
        const char  *country;
    } cases[] = {
        { "{'name': 'a', 'tax_id': '526-104-08-28',"
          " 'address': {'country': 'PL'}}", "PL5261040828", "PL" },
        { "{'name': 'a', 'tax_id': '526 104 08 28', 'country': 'pl'}",
          "PL5261040828", "PL" },
        { "{'name': 'a', 'tax_id': '5261040828'}", "PL5261040828", "PL" },
        { "{'name': 'a', 'tax_id': 'PL5261040828', 'country': 'DE'}",
          "PL5261040828", "DE" },
        { "{'name': 'a', 'tax_id': '123456789', 'country': 'GR'}",
          "EL123456789", "GR" },
        { "{'name': 'a', 'tax_id': '0123456789', 'country': 'CZ',"
          " 'address': {'country': 'SK'}}", "SK0123456789", "SK" },
        { "{'name': 'a', 'tax_id': 'atu123'}", "atu123", "PL" },
        { "{'name': 'a', 'tax_id': '--'}", "--", "PL" },
        { "{'name': 'a', 'tax_id': ''}", NULL, "PL" },
        { "{'name': 'a', 'tax_id': null, 'country': 'POL'}", NULL, "PL" },
    };
    invoice_t  *inv;
    json_t     *o, *p;
    size_t      i;

    p = J(PROFILE_PL);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        o = J("{'type': 'order', 'external_id': 'B-1', 'currency': 'PLN',"
              " 'lines': [{'quantity': '1', 'total_minor': 123}]}");
        assert_int_equal(json_object_set_new(o, "customer",
                                             J(cases[i].customer)), 0);
        inv = make_j(o, p, "23", "2026-03-05", NULL);
        if (cases[i].vat_id == NULL) {
            assert_null(inv->buyer.vat_id);
        } else {
            assert_non_null(inv->buyer.vat_id);
            assert_string_equal(inv->buyer.vat_id, cases[i].vat_id);
        }
        assert_string_equal(inv->buyer.country, cases[i].country);
        invoice_free(inv);
        json_decref(o);
    }
    json_decref(p);
}


static void
test_buyer_fallbacks(void **state)
{
    invoice_t   *inv;
    json_t      *o, *p;
    const char  *base;

    base = "{'type': 'order', 'external_id': 'C-7', 'currency': 'PLN',"
           " 'lines': [{'quantity': '1', 'total_minor': 123}]}";

    /* no customer at all, null, or not an object */
    inv = make(base, PROFILE_PL, "23", "2026-03-05", NULL);
    assert_string_equal(inv->buyer.name, "Customer");
    assert_string_equal(inv->buyer.country, "PL");
    assert_null(inv->buyer.email);
    assert_null(inv->buyer.vat_id);
    invoice_free(inv);

    p = J(PROFILE_PL);
    o = J(base);
    json_object_set_new(o, "customer", json_null());
    inv = make_j(o, p, "23", "2026-03-05", NULL);
    assert_string_equal(inv->buyer.name, "Customer");
    invoice_free(inv);

    /* the email when there is no name */
    json_object_set_new(o, "customer",
                        J("{'name': '', 'email': 'x@example.com'}"));
    inv = make_j(o, p, "23", "2026-03-05", NULL);
    assert_string_equal(inv->buyer.name, "x@example.com");
    assert_string_equal(inv->buyer.email, "x@example.com");
    invoice_free(inv);

    /* neither: the order's id; the country of customer.country */
    json_object_set_new(o, "customer",
                        J("{'external_id': 'c', 'country': 'CZ',"
                          " 'address': {'street': 'Ulice 1'}}"));
    inv = make_j(o, p, "23", "2026-03-05", NULL);
    assert_string_equal(inv->buyer.name, "Customer C-7");
    assert_string_equal(inv->buyer.country, "CZ");
    assert_string_equal(inv->buyer.street, "Ulice 1");
    assert_null(inv->buyer.city);
    invoice_free(inv);

    /* address.country over country; the seller's as the last resort */
    json_object_set_new(o, "customer",
                        J("{'name': 'n', 'country': 'CZ',"
                          " 'address': {'country': 'SK'}}"));
    inv = make_j(o, p, "23", "2026-03-05", NULL);
    assert_string_equal(inv->buyer.country, "SK");
    invoice_free(inv);

    json_object_set_new(o, "customer", J("{'name': 'n', 'address': {}}"));
    inv = make_j(o, p, "23", "2026-03-05", NULL);
    assert_string_equal(inv->buyer.country, "PL");
    invoice_free(inv);

    json_decref(o);
    json_decref(p);
}


/* description, else product.name, else "Item"; the SKU as BT-155 */
static void
test_line_names(void **state)
{
    invoice_t  *inv;

    inv = make("{'type': 'order', 'external_id': 'L-1', 'currency': 'PLN',"
               " 'status': 'partially_refunded', 'lines': ["
               "  {'description': '', 'product': {'name': 'Mug',"
               "   'sku': 'MUG-1'}, 'quantity': '1', 'total_minor': 100},"
               "  {'product': {'name': 'Cup', 'sku': null},"
               "   'quantity': '1', 'total_minor': 100},"
               "  {'product': null, 'quantity': '1', 'total_minor': 100},"
               "  {'description': 'Plate', 'quantity': 2,"
               "   'total_minor': 100}]}",
               PROFILE_PL, "23", "2026-03-05", NULL);
    assert_string_equal(inv->lines[0].name, "Mug");
    assert_string_equal(inv->lines[0].seller_item_id, "MUG-1");
    assert_string_equal(inv->lines[1].name, "Cup");
    assert_null(inv->lines[1].seller_item_id);
    assert_string_equal(inv->lines[2].name, "Item");
    assert_string_equal(inv->lines[3].name, "Plate");
    assert_dec(inv->lines[3].quantity, "2");
    /* 1.00 at 23% = 0.81 (81.30); 2 x 0.405 = 0.81 */
    assert_int_equal(inv->lines[3].net_minor, 81);
    assert_dec(inv->lines[3].price, "0.405");
    check_ubl(inv, "<cbc:Name>Mug</cbc:Name>");
    invoice_free(inv);
}


/* rule 1: what an order must be */
static void
test_refusals(void **state)
{
    invoice_t  *inv;
    json_t     *o, *p;

    refuse("{'type': 'customer', 'external_id': 'X', 'currency': 'PLN',"
           " 'lines': [{'quantity': '1', 'total_minor': 1}]}",
           INVOICE_EINVAL, "not an order");
    refuse("{'external_id': 'X', 'currency': 'PLN',"
           " 'lines': [{'quantity': '1', 'total_minor': 1}]}",
           INVOICE_EINVAL, "not an order");
    refuse("[1]", INVOICE_EINVAL, "not an order");
    refuse("{'type': 'order', 'currency': 'PLN',"
           " 'lines': [{'quantity': '1', 'total_minor': 1}]}",
           INVOICE_EINVAL, "no external_id");
    refuse("{'type': 'order', 'external_id': '', 'currency': 'PLN',"
           " 'lines': [{'quantity': '1', 'total_minor': 1}]}",
           INVOICE_EINVAL, "no external_id");
    refuse("{'type': 'order', 'external_id': 7, 'currency': 'PLN',"
           " 'lines': [{'quantity': '1', 'total_minor': 1}]}",
           INVOICE_EINVAL, "no external_id");
    refuse("{'type': 'order', 'external_id': 'X',"
           " 'lines': [{'quantity': '1', 'total_minor': 1}]}",
           INVOICE_EINVAL, "no currency");
    refuse("{'type': 'order', 'external_id': 'X', 'currency': 'KWD',"
           " 'lines': [{'quantity': '1', 'total_minor': 1}]}",
           INVOICE_EINVAL, "no currency");
    refuse("{'type': 'order', 'external_id': 'X', 'currency': 'pln',"
           " 'lines': [{'quantity': '1', 'total_minor': 1}]}",
           INVOICE_EINVAL, "no currency");
    refuse("{'type': 'order', 'external_id': 'X', 'currency': 'PLN'}",
           INVOICE_EINVAL, "no lines");
    refuse("{'type': 'order', 'external_id': 'X', 'currency': 'PLN',"
           " 'lines': []}", INVOICE_EINVAL, "no lines");
    refuse("{'type': 'order', 'external_id': 'X', 'currency': 'PLN',"
           " 'status': 'cancelled',"
           " 'lines': [{'quantity': '1', 'total_minor': 1}]}",
           INVOICE_EINVAL, "order is cancelled");
    refuse("{'type': 'order', 'external_id': 'X', 'currency': 'PLN',"
           " 'status': 'refunded',"
           " 'lines': [{'quantity': '1', 'total_minor': 1}]}",
           INVOICE_EINVAL, "order is refunded");

    /* lines */
    refuse("{'type': 'order', 'external_id': 'X', 'currency': 'PLN',"
           " 'lines': [{'quantity': '0', 'total_minor': 1}]}",
           INVOICE_EINVAL, "lines[0].quantity must be greater than 0");
    refuse("{'type': 'order', 'external_id': 'X', 'currency': 'PLN',"
           " 'lines': [{'quantity': '1', 'total_minor': 1},"
           "           {'quantity': '-2', 'total_minor': 1}]}",
           INVOICE_EINVAL, "lines[1].quantity must be greater than 0");
    refuse("{'type': 'order', 'external_id': 'X', 'currency': 'PLN',"
           " 'lines': [{'quantity': 1.5, 'total_minor': 1}]}",
           INVOICE_EINVAL, "lines[0].quantity must be a decimal");
    refuse("{'type': 'order', 'external_id': 'X', 'currency': 'PLN',"
           " 'lines': [{'quantity': '1', 'total_minor': -5}]}",
           INVOICE_EINVAL, "lines[0]: negative total");
    refuse("{'type': 'order', 'external_id': 'X', 'currency': 'PLN',"
           " 'lines': [{'quantity': '1', 'unit_price': '-1.00'}]}",
           INVOICE_EINVAL, "lines[0]: negative total");
    refuse("{'type': 'order', 'external_id': 'X', 'currency': 'PLN',"
           " 'lines': [{'quantity': '1'}]}",
           INVOICE_EINVAL, "neither total_minor nor unit_price");
    refuse("{'type': 'order', 'external_id': 'X', 'currency': 'PLN',"
           " 'lines': [{'quantity': '1', 'total_minor': '5'}]}",
           INVOICE_EINVAL, "total_minor must be an integer");
    refuse("{'type': 'order', 'external_id': 'X', 'currency': 'PLN',"
           " 'lines': [{'quantity': '1', 'total_minor': 5,"
           "            'vat_rate': '23.001'}]}",
           INVOICE_EINVAL, "at most 2 decimals");
    refuse("{'type': 'order', 'external_id': 'X', 'currency': 'PLN',"
           " 'lines': [7]}", INVOICE_EINVAL, "lines[0] is not an object");
    /* the model's own checks: at most 6 decimals of quantity */
    refuse("{'type': 'order', 'external_id': 'X', 'currency': 'PLN',"
           " 'lines': [{'quantity': '0.0000001', 'total_minor': 0}]}",
           INVOICE_EINVAL, "invoice lines[0].quantity: at most 6 decimals");
    /* 3,000,000 x 1e-8 = 0.03: no price at 8 decimals makes 0.01 */
    refuse("{'type': 'order', 'external_id': 'X', 'currency': 'PLN',"
           " 'lines': [{'quantity': '3000000', 'total_minor': 1,"
           "            'vat_rate': '0'}]}",
           INVOICE_EINVAL, "no unit price");
    /* 1e9 PLN for a millionth of a unit: 1e15 does not fit 8 decimals */
    refuse("{'type': 'order', 'external_id': 'X', 'currency': 'PLN',"
           " 'lines': [{'quantity': '0.000001',"
           "            'total_minor': 100000000000, 'vat_rate': '0'}]}",
           INVOICE_ERANGE, "unit price out of range");

    /* the seller profile */
    o = J("{'type': 'order', 'external_id': 'X', 'currency': 'PLN',"
          " 'lines': [{'quantity': '1', 'total_minor': 1}]}");
    refuse_j(o, NULL, "23", "2026-03-05", NULL, INVOICE_EINVAL,
             "no seller profile: PUT /v1/seller");
    p = J("{}");
    refuse_j(o, p, "23", "2026-03-05", NULL, INVOICE_EINVAL,
             "no seller profile: PUT /v1/seller");
    json_decref(p);
    p = J("{'seller': {'address': {'country': 'PL'}}}");
    refuse_j(o, p, "23", "2026-03-05", NULL, INVOICE_EINVAL,
             "no seller profile: PUT /v1/seller");
    json_decref(p);
    p = J("{'seller': {'name': 'S', 'address': {'city': 'W'}}}");
    refuse_j(o, p, "23", "2026-03-05", NULL, INVOICE_EINVAL,
             "no seller profile: PUT /v1/seller");
    json_decref(p);
    p = J("{'seller': {'name': 'S'}}");
    refuse_j(o, p, "23", "2026-03-05", NULL, INVOICE_EINVAL,
             "no seller profile: PUT /v1/seller");
    json_decref(p);
    p = J("{'seller': {'name': 'S', 'address': {'country': 'Poland'}}}");
    refuse_j(o, p, "23", "2026-03-05", NULL, INVOICE_EINVAL,
             "seller profile: address.country");
    json_decref(p);
    /* what the model refuses of a party, named by its path */
    p = J("{'seller': {'name': 'S', 'vat_id': 5,"
          " 'address': {'country': 'PL'}}}");
    refuse_j(o, p, "23", "2026-03-05", NULL, INVOICE_EINVAL,
             "invoice seller.vat_id: must be a string");
    json_decref(p);
    p = J("{'seller': {'name': 'S', 'address': {'country': 'PL'}},"
          " 'payment': {'means_code': 'not a code'}}");
    refuse_j(o, p, "23", "2026-03-05", NULL, INVOICE_EINVAL,
             "invoice payment.means_code");
    json_decref(p);

    /* the call */
    p = J(PROFILE_PL);
    refuse_j(o, p, "23", NULL, NULL, INVOICE_EINVAL, "issue_date");
    refuse_j(o, p, "23", "2026-02-29", NULL, INVOICE_EINVAL, "issue_date");
    refuse_j(o, p, "23", "2026-03-05", "tomorrow", INVOICE_EINVAL,
             "due_date");
    assert_int_equal(invoice_from_order(o, p, "23", "2026-03-05", NULL,
                                        NULL, &inv, NULL, 0),
                     INVOICE_EINVAL);
    json_decref(p);
    json_decref(o);
}


/*
 * Rule 6: 10.00 at 23% gives N 8.13, VAT 1.87, BT-112 10.00; a total of
 * 10.01 (one line: one unit) is absorbed, 10.02 or 9.98 is not.
 */
static void
test_total_mismatch(void **state)
{
    invoice_t  *inv;

    inv = make("{'type': 'order', 'external_id': 'T-1', 'currency': 'PLN',"
               " 'total_minor': 1001, 'lines': [{'quantity': '1',"
               "  'vat_rate': '23', 'total_minor': 1000}]}",
               PROFILE_PL, "23", "2026-03-05", NULL);
    assert_int_equal(inv->totals.tax_inclusive_minor, 1000);
    assert_int_equal(inv->totals.rounding_minor, 1);
    assert_int_equal(inv->totals.payable_minor, 1001);
    invoice_free(inv);

    inv = make("{'type': 'order', 'external_id': 'T-1', 'currency': 'PLN',"
               " 'total_minor': 999, 'lines': [{'quantity': '1',"
               "  'vat_rate': '23', 'total_minor': 1000}]}",
               PROFILE_PL, "23", "2026-03-05", NULL);
    assert_int_equal(inv->totals.rounding_minor, -1);
    assert_int_equal(inv->totals.payable_minor, 999);
    invoice_free(inv);

    refuse("{'type': 'order', 'external_id': 'T-1', 'currency': 'PLN',"
           " 'total_minor': 1002, 'lines': [{'quantity': '1',"
           "  'vat_rate': '23', 'total_minor': 1000}]}",
           INVOICE_EINVAL, "order total 10.02 differs from its lines by "
           "0.02");
    refuse("{'type': 'order', 'external_id': 'T-1', 'currency': 'PLN',"
           " 'total_minor': 998, 'lines': [{'quantity': '1',"
           "  'vat_rate': '23', 'total_minor': 1000}]}",
           INVOICE_EINVAL, "order total 9.98 differs from its lines by "
           "-0.02");
    /* a shipping cost the lines do not carry */
    refuse("{'type': 'order', 'external_id': 'T-1', 'currency': 'JPY',"
           " 'total_minor': 1500, 'lines': [{'quantity': '1',"
           "  'vat_rate': '10', 'total_minor': 1100}]}",
           INVOICE_EINVAL, "order total 1500 differs from its lines by 400");
    refuse("{'type': 'order', 'external_id': 'T-1', 'currency': 'PLN',"
           " 'total_minor': '10.00', 'lines': [{'quantity': '1',"
           "  'vat_rate': '23', 'total_minor': 1000}]}",
           INVOICE_EINVAL, "total_minor must be an integer");
    /* null is as absent */
    inv = make("{'type': 'order', 'external_id': 'T-1', 'currency': 'PLN',"
               " 'total_minor': null, 'lines': [{'quantity': '1',"
               "  'vat_rate': '23', 'total_minor': 1000}]}",
               PROFILE_PL, "23", "2026-03-05", NULL);
    assert_int_equal(inv->totals.rounding_minor, 0);
    invoice_free(inv);
}


static void
test_dates(void **state)
{
    invoice_t  *inv;
    json_t     *o, *p;

    assert_string_equal(due_of("2026-12-25", 14), "2027-01-08");
    assert_string_equal(due_of("2028-02-15", 14), "2028-02-29");
    assert_string_equal(due_of("2027-02-15", 14), "2027-03-01");
    assert_string_equal(due_of("2024-02-28", 1), "2024-02-29");
    assert_string_equal(due_of("2100-02-28", 1), "2100-03-01");
    assert_string_equal(due_of("2000-02-28", 1), "2000-02-29");
    assert_string_equal(due_of("2024-12-31", 365), "2025-12-31");
    assert_string_equal(due_of("2026-01-31", 0), "2026-01-31");
    assert_string_equal(due_of("1999-12-31", 3650), "2009-12-28");

    o = J("{'type': 'order', 'external_id': 'D-2', 'currency': 'PLN',"
          " 'ordered_at': '2026-02-28', 'lines': [{'quantity': '1',"
          " 'total_minor': 100}]}");
    p = J(PROFILE_PL);

    /* a given due date wins over payment_days */
    inv = make_j(o, p, "23", "2026-03-05", "2026-04-01");
    assert_string_equal(inv->due_date, "2026-04-01");
    assert_string_equal(inv->delivery_date, "2026-02-28");
    invoice_free(inv);

    /* neither: no due date; a bad ordered_at: no delivery date */
    json_object_del(p, "payment_days");
    json_object_set_new(o, "ordered_at", json_string("2026-02-30T00:00Z"));
    inv = make_j(o, p, "23", "2026-03-05", NULL);
    assert_string_equal(inv->due_date, "");
    assert_string_equal(inv->delivery_date, "");
    invoice_free(inv);

    json_object_set_new(o, "ordered_at", json_string("2026-02-011"));
    inv = make_j(o, p, "23", "2026-03-05", NULL);
    assert_string_equal(inv->delivery_date, "");
    invoice_free(inv);

    json_object_set_new(p, "payment_days", json_integer(-1));
    refuse_j(o, p, "23", "2026-03-05", NULL, INVOICE_EINVAL,
             "payment_days");
    json_object_set_new(p, "payment_days", json_string("14"));
    refuse_j(o, p, "23", "2026-03-05", NULL, INVOICE_EINVAL,
             "payment_days");

    json_decref(o);
    json_decref(p);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_pln_two_rates_and_delivery),
        cmocka_unit_test(test_rounding),
        cmocka_unit_test(test_no_totals),
        cmocka_unit_test(test_default_rate),
        cmocka_unit_test(test_zero_rate),
        cmocka_unit_test(test_eur),
        cmocka_unit_test(test_jpy),
        cmocka_unit_test(test_buyer_vat_id),
        cmocka_unit_test(test_buyer_fallbacks),
        cmocka_unit_test(test_line_names),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_total_mismatch),
        cmocka_unit_test(test_dates),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
