/*
 * hubgated: UBL 2.1 Invoice and CreditNote renderers, EN 16931 and
 * CIUS-RO (invoice.h: invoice_renderer_ubl, invoice_renderer_ubl_ro).
 *
 * Written with libxml2's xmlTextWriter into memory, in the element order of
 * the UBL 2.1 schemas (the XSD is a sequence: order matters).  The input is
 * a computed invoice; this file does not compute, it only writes what the
 * model holds.  CIUS-RO adds its customization id, and needs the VAT total
 * in RON (TaxCurrencyCode and a second TaxTotal) when the document
 * currency is not RON, and a county code (RO-xx) on Romanian addresses.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlwriter.h>

#include "invoice/invoice.h"


#define UBL_NS_INVOICE  "urn:oasis:names:specification:ubl:schema:xsd:" \
                        "Invoice-2"
#define UBL_NS_CREDIT   "urn:oasis:names:specification:ubl:schema:xsd:" \
                        "CreditNote-2"
#define UBL_NS_CAC      "urn:oasis:names:specification:ubl:schema:xsd:" \
                        "CommonAggregateComponents-2"
#define UBL_NS_CBC      "urn:oasis:names:specification:ubl:schema:xsd:" \
                        "CommonBasicComponents-2"


typedef struct {
    xmlTextWriterPtr   w;
    const invoice_t   *inv;
    int                exp;
    int                ro;          /* CIUS-RO */
    int                failed;
} ubl_ctx_t;


static int ubl_render_en(const invoice_t *inv,
    const invoice_render_opts_t *o, unsigned char **out, size_t *len,
    char *err, size_t errlen);
static int ubl_render_ro(const invoice_t *inv,
    const invoice_render_opts_t *o, unsigned char **out, size_t *len,
    char *err, size_t errlen);
static int ubl_render(const invoice_t *inv, const invoice_render_opts_t *o,
    int ro, unsigned char **out, size_t *len, char *err, size_t errlen);
static int ubl_check_required(const invoice_t *inv, char *err,
    size_t errlen);
static int ubl_check_ro(const invoice_t *inv, char *err, size_t errlen);
static int ubl_check_ro_party(const invoice_party_t *p, const char *who,
    char *err, size_t errlen);
static void ubl_document(ubl_ctx_t *c);
static void ubl_party(ubl_ctx_t *c, const char *role,
    const invoice_party_t *p);
static void ubl_ac(ubl_ctx_t *c, const invoice_ac_t *ac, int doc);
static void ubl_tax_category(ubl_ctx_t *c, const char *name,
    vat_category_e cat, dec_t rate, const char *reason, const char *code);
static void ubl_tax_totals(ubl_ctx_t *c);
static void ubl_monetary_total(ubl_ctx_t *c);
static void ubl_line(ubl_ctx_t *c, const invoice_line_t *l, size_t i);
static void ubl_start(ubl_ctx_t *c, const char *name);
static void ubl_end(ubl_ctx_t *c);
static void ubl_text(ubl_ctx_t *c, const char *name, const char *text);
static void ubl_attr_text(ubl_ctx_t *c, const char *name, const char *attr,
    const char *aval, const char *text);
static void ubl_amount(ubl_ctx_t *c, const char *name, int64_t minor);
static void ubl_amount_in(ubl_ctx_t *c, const char *name, int64_t minor,
    const char *currency, int exp);
static void ubl_dec(ubl_ctx_t *c, const char *name, const char *attr,
    const char *aval, dec_t d);
static void ubl_errmsg(char *err, size_t errlen, const char *msg);


const invoice_renderer_t  invoice_renderer_ubl = {
    "ubl", "application/xml", ubl_render_en
};

const invoice_renderer_t  invoice_renderer_ubl_ro = {
    "ubl-ro", "application/xml", ubl_render_ro
};


static int
ubl_render_en(const invoice_t *inv, const invoice_render_opts_t *o,
    unsigned char **out, size_t *len, char *err, size_t errlen)
{
    return ubl_render(inv, o, 0, out, len, err, errlen);
}


static int
ubl_render_ro(const invoice_t *inv, const invoice_render_opts_t *o,
    unsigned char **out, size_t *len, char *err, size_t errlen)
{
    return ubl_render(inv, o, 1, out, len, err, errlen);
}


static int
ubl_render(const invoice_t *inv, const invoice_render_opts_t *o, int ro,
    unsigned char **out, size_t *len, char *err, size_t errlen)
{
    ubl_ctx_t    c;
    xmlBufferPtr buf;
    int          rc;

    if (inv == NULL || !inv->computed) {
        ubl_errmsg(err, errlen, "invoice not computed");
        return INVOICE_EINVAL;
    }

    rc = ubl_check_required(inv, err, errlen);
    if (rc != INVOICE_OK) {
        return rc;
    }

    if (ro) {
        rc = ubl_check_ro(inv, err, errlen);
        if (rc != INVOICE_OK) {
            return rc;
        }
    }

    buf = xmlBufferCreate();
    if (buf == NULL) {
        ubl_errmsg(err, errlen, "out of memory");
        return INVOICE_ENOMEM;
    }

    memset(&c, 0, sizeof(c));
    c.inv = inv;
    c.ro = ro;
    c.exp = invoice_currency_exponent(inv->currency);
    c.w = xmlNewTextWriterMemory(buf, 0);
    if (c.w == NULL) {
        xmlBufferFree(buf);
        ubl_errmsg(err, errlen, "out of memory");
        return INVOICE_ENOMEM;
    }

    if (o != NULL && o->pretty) {
        xmlTextWriterSetIndent(c.w, 1);
        xmlTextWriterSetIndentString(c.w, BAD_CAST "  ");
    }

    if (xmlTextWriterStartDocument(c.w, NULL, "UTF-8", NULL) < 0) {
        c.failed = 1;
    }

    ubl_document(&c);

    if (xmlTextWriterEndDocument(c.w) < 0) {
        c.failed = 1;
    }

    xmlFreeTextWriter(c.w);         /* flushes into buf */

    if (c.failed) {
        xmlBufferFree(buf);
        ubl_errmsg(err, errlen, "XML writer failed");
        return INVOICE_EINTERNAL;
    }

    *len = (size_t) xmlBufferLength(buf);
    *out = malloc(*len + 1);
    if (*out == NULL) {
        xmlBufferFree(buf);
        ubl_errmsg(err, errlen, "out of memory");
        return INVOICE_ENOMEM;
    }

    memcpy(*out, xmlBufferContent(buf), *len);
    (*out)[*len] = '\0';
    xmlBufferFree(buf);

    return INVOICE_OK;
}


/* the mandatory elements the XSD or EN 16931 needs from the model */
static int
ubl_check_required(const invoice_t *inv, char *err, size_t errlen)
{
    const char  *missing;

    missing = NULL;
    if (inv->number == NULL || inv->number[0] == '\0') {
        missing = "number";
    } else if (inv->issue_date[0] == '\0') {
        missing = "issue_date";
    } else if (inv->seller.name == NULL || inv->seller.country[0] == '\0') {
        missing = "seller.name or seller.address.country";
    } else if (inv->buyer.name == NULL || inv->buyer.country[0] == '\0') {
        missing = "buyer.name or buyer.address.country";
    }

    if (missing != NULL) {
        if (err != NULL && errlen > 0) {
            snprintf(err, errlen, "missing %s", missing);
        }
        return INVOICE_EINVAL;
    }

    return INVOICE_OK;
}


/* what CIUS-RO needs beyond EN 16931 and the model can tell */
static int
ubl_check_ro(const invoice_t *inv, char *err, size_t errlen)
{
    int  rc;

    if (strcmp(inv->currency, "RON") != 0
        && (strcmp(inv->vat_currency, "RON") != 0
            || !inv->totals.has_vat_in_vat_currency))
    {
        ubl_errmsg(err, errlen, "CIUS-RO: vat_currency must be RON with an "
                   "exchange_rate when the currency is not RON");
        return INVOICE_EINVAL;
    }

    rc = ubl_check_ro_party(&inv->seller, "seller", err, errlen);
    if (rc != INVOICE_OK) {
        return rc;
    }

    return ubl_check_ro_party(&inv->buyer, "buyer", err, errlen);
}


static int
ubl_check_ro_party(const invoice_party_t *p, const char *who, char *err,
    size_t errlen)
{
    char  msg[128];

    if (strcmp(p->country, "RO") != 0) {
        return INVOICE_OK;
    }

    if (p->subdivision == NULL || strncmp(p->subdivision, "RO-", 3) != 0
        || strlen(p->subdivision) < 4 || strlen(p->subdivision) > 5)
    {
        snprintf(msg, sizeof(msg), "CIUS-RO: %s.address.subdivision must "
                 "be a county code RO-xx", who);
        ubl_errmsg(err, errlen, msg);
        return INVOICE_EINVAL;
    }

    if (strcmp(p->subdivision, "RO-B") == 0
        && (p->city == NULL || strncmp(p->city, "SECTOR", 6) != 0
            || p->city[6] < '1' || p->city[6] > '6' || p->city[7] != '\0'))
    {
        snprintf(msg, sizeof(msg), "CIUS-RO: %s.address.city must be "
                 "SECTOR1..SECTOR6 in Bucharest", who);
        ubl_errmsg(err, errlen, msg);
        return INVOICE_EINVAL;
    }

    if (p->street == NULL || p->city == NULL) {
        snprintf(msg, sizeof(msg), "CIUS-RO: %s.address needs street and "
                 "city", who);
        ubl_errmsg(err, errlen, msg);
        return INVOICE_EINVAL;
    }

    return INVOICE_OK;
}


static void
ubl_document(ubl_ctx_t *c)
{
    const invoice_t  *inv = c->inv;
    int               credit;
    size_t            i;

    credit = inv->kind == INVOICE_KIND_CREDIT_NOTE;

    ubl_start(c, credit ? "CreditNote" : "Invoice");
    if (xmlTextWriterWriteAttribute(c->w, BAD_CAST "xmlns",
            BAD_CAST (credit ? UBL_NS_CREDIT : UBL_NS_INVOICE)) < 0
        || xmlTextWriterWriteAttribute(c->w, BAD_CAST "xmlns:cac",
            BAD_CAST UBL_NS_CAC) < 0
        || xmlTextWriterWriteAttribute(c->w, BAD_CAST "xmlns:cbc",
            BAD_CAST UBL_NS_CBC) < 0)
    {
        c->failed = 1;
    }

    ubl_text(c, "cbc:CustomizationID", c->ro ? INVOICE_CUSTOMIZATION_CIUS_RO
                                             : INVOICE_CUSTOMIZATION_EN16931);
    ubl_text(c, "cbc:ID", inv->number);
    ubl_text(c, "cbc:IssueDate", inv->issue_date);
    if (!credit) {
        ubl_text(c, "cbc:DueDate", inv->due_date);
        ubl_text(c, "cbc:InvoiceTypeCode", "380");
    } else {
        ubl_text(c, "cbc:CreditNoteTypeCode", "381");
    }
    ubl_text(c, "cbc:Note", inv->note);
    ubl_text(c, "cbc:DocumentCurrencyCode", inv->currency);
    if (inv->totals.has_vat_in_vat_currency) {
        ubl_text(c, "cbc:TaxCurrencyCode", inv->vat_currency);
    }
    ubl_text(c, "cbc:BuyerReference", inv->buyer_reference);

    if (inv->period_start[0] != '\0' || inv->period_end[0] != '\0') {
        ubl_start(c, "cac:InvoicePeriod");
        ubl_text(c, "cbc:StartDate", inv->period_start);
        ubl_text(c, "cbc:EndDate", inv->period_end);
        ubl_end(c);
    }

    if (inv->order_reference != NULL) {
        ubl_start(c, "cac:OrderReference");
        ubl_text(c, "cbc:ID", inv->order_reference);
        ubl_end(c);
    }

    if (inv->preceding_number != NULL) {
        ubl_start(c, "cac:BillingReference");
        ubl_start(c, "cac:InvoiceDocumentReference");
        ubl_text(c, "cbc:ID", inv->preceding_number);
        ubl_text(c, "cbc:IssueDate", inv->preceding_date);
        ubl_end(c);
        ubl_end(c);
    }

    ubl_start(c, "cac:AccountingSupplierParty");
    ubl_party(c, "seller", &inv->seller);
    ubl_end(c);
    ubl_start(c, "cac:AccountingCustomerParty");
    ubl_party(c, "buyer", &inv->buyer);
    ubl_end(c);

    if (inv->delivery_date[0] != '\0' || inv->delivery_country[0] != '\0') {
        ubl_start(c, "cac:Delivery");
        ubl_text(c, "cbc:ActualDeliveryDate", inv->delivery_date);
        if (inv->delivery_country[0] != '\0') {
            ubl_start(c, "cac:DeliveryLocation");
            ubl_start(c, "cac:Address");
            ubl_start(c, "cac:Country");
            ubl_text(c, "cbc:IdentificationCode", inv->delivery_country);
            ubl_end(c);
            ubl_end(c);
            ubl_end(c);
        }
        ubl_end(c);
    }

    if (inv->payment_means_code[0] != '\0') {
        ubl_start(c, "cac:PaymentMeans");
        ubl_text(c, "cbc:PaymentMeansCode", inv->payment_means_code);
        if (credit) {
            ubl_text(c, "cbc:PaymentDueDate", inv->due_date);
        }
        ubl_text(c, "cbc:PaymentID", inv->payment_reference);
        if (inv->iban != NULL) {
            ubl_start(c, "cac:PayeeFinancialAccount");
            ubl_text(c, "cbc:ID", inv->iban);
            if (inv->bic != NULL) {
                ubl_start(c, "cac:FinancialInstitutionBranch");
                ubl_text(c, "cbc:ID", inv->bic);
                ubl_end(c);
            }
            ubl_end(c);
        }
        ubl_end(c);
    }

    if (inv->payment_terms != NULL) {
        ubl_start(c, "cac:PaymentTerms");
        ubl_text(c, "cbc:Note", inv->payment_terms);
        ubl_end(c);
    }

    for (i = 0; i < inv->n_acs; i++) {
        ubl_ac(c, &inv->acs[i], 1);
    }

    ubl_tax_totals(c);
    ubl_monetary_total(c);

    for (i = 0; i < inv->n_lines; i++) {
        ubl_line(c, &inv->lines[i], i);
    }

    ubl_end(c);
}


static void
ubl_party(ubl_ctx_t *c, const char *role, const invoice_party_t *p)
{
    ubl_start(c, "cac:Party");

    if (p->trading_name != NULL) {
        ubl_start(c, "cac:PartyName");
        ubl_text(c, "cbc:Name", p->trading_name);
        ubl_end(c);
    }

    ubl_start(c, "cac:PostalAddress");
    ubl_text(c, "cbc:StreetName", p->street);
    ubl_text(c, "cbc:AdditionalStreetName", p->street2);
    ubl_text(c, "cbc:CityName", p->city);
    ubl_text(c, "cbc:PostalZone", p->postal_code);
    ubl_text(c, "cbc:CountrySubentity", p->subdivision);
    ubl_start(c, "cac:Country");
    ubl_text(c, "cbc:IdentificationCode", p->country);
    ubl_end(c);
    ubl_end(c);

    if (p->vat_id != NULL) {
        ubl_start(c, "cac:PartyTaxScheme");
        ubl_text(c, "cbc:CompanyID", p->vat_id);
        ubl_start(c, "cac:TaxScheme");
        ubl_text(c, "cbc:ID", "VAT");
        ubl_end(c);
        ubl_end(c);
    }

    /* BT-32 exists for the seller only */
    if (p->tax_reg_id != NULL && strcmp(role, "seller") == 0) {
        ubl_start(c, "cac:PartyTaxScheme");
        ubl_text(c, "cbc:CompanyID", p->tax_reg_id);
        ubl_start(c, "cac:TaxScheme");
        ubl_text(c, "cbc:ID", "TAX");
        ubl_end(c);
        ubl_end(c);
    }

    ubl_start(c, "cac:PartyLegalEntity");
    ubl_text(c, "cbc:RegistrationName", p->name);
    ubl_text(c, "cbc:CompanyID", p->legal_id);
    ubl_end(c);

    if (p->email != NULL) {
        ubl_start(c, "cac:Contact");
        ubl_text(c, "cbc:ElectronicMail", p->email);
        ubl_end(c);
    }

    ubl_end(c);
}


static void
ubl_ac(ubl_ctx_t *c, const invoice_ac_t *ac, int doc)
{
    ubl_start(c, "cac:AllowanceCharge");
    ubl_text(c, "cbc:ChargeIndicator", ac->is_charge ? "true" : "false");
    ubl_text(c, "cbc:AllowanceChargeReasonCode", ac->reason_code);
    ubl_text(c, "cbc:AllowanceChargeReason", ac->reason);
    if (ac->has_percent) {
        ubl_dec(c, "cbc:MultiplierFactorNumeric", NULL, NULL,
                dec_normalize(ac->percent));
    }
    ubl_amount(c, "cbc:Amount", ac->amount_minor);
    if (ac->has_base) {
        ubl_amount(c, "cbc:BaseAmount", ac->base_minor);
    }
    if (doc) {
        ubl_tax_category(c, "cac:TaxCategory", ac->vat_category,
                         ac->vat_rate, NULL, NULL);
    }
    ubl_end(c);
}


static void
ubl_tax_category(ubl_ctx_t *c, const char *name, vat_category_e cat,
    dec_t rate, const char *reason, const char *code)
{
    ubl_start(c, name);
    ubl_text(c, "cbc:ID", invoice_vat_category_code(cat));
    if (cat != VAT_CAT_O) {                         /* BR-O-05 */
        ubl_dec(c, "cbc:Percent", NULL, NULL, dec_normalize(rate));
    }
    /* BR-S-10, BR-Z-10: no exemption reason for taxed categories */
    if (cat != VAT_CAT_S && cat != VAT_CAT_Z && cat != VAT_CAT_L
        && cat != VAT_CAT_M)
    {
        ubl_text(c, "cbc:TaxExemptionReasonCode", code);
        ubl_text(c, "cbc:TaxExemptionReason", reason);
    }
    ubl_start(c, "cac:TaxScheme");
    ubl_text(c, "cbc:ID", "VAT");
    ubl_end(c);
    ubl_end(c);
}


static void
ubl_tax_totals(ubl_ctx_t *c)
{
    const invoice_totals_t  *t = &c->inv->totals;
    const invoice_vat_t     *v;
    size_t                   i;

    ubl_start(c, "cac:TaxTotal");
    ubl_amount(c, "cbc:TaxAmount", t->vat_minor);
    for (i = 0; i < t->n_vat; i++) {
        v = &t->vat[i];
        ubl_start(c, "cac:TaxSubtotal");
        ubl_amount(c, "cbc:TaxableAmount", v->taxable_minor);
        ubl_amount(c, "cbc:TaxAmount", v->tax_minor);
        ubl_tax_category(c, "cac:TaxCategory", v->category, v->rate,
                         v->exemption_reason, v->exemption_code);
        ubl_end(c);
    }
    ubl_end(c);

    /* BT-111: the VAT total in the VAT accounting currency (BR-53) */
    if (t->has_vat_in_vat_currency) {
        ubl_start(c, "cac:TaxTotal");
        ubl_amount_in(c, "cbc:TaxAmount", t->vat_in_vat_currency_minor,
                      c->inv->vat_currency,
                      invoice_currency_exponent(c->inv->vat_currency));
        ubl_end(c);
    }
}


static void
ubl_monetary_total(ubl_ctx_t *c)
{
    const invoice_t         *inv = c->inv;
    const invoice_totals_t  *t = &inv->totals;
    size_t                   i;
    int                      has_a, has_c;

    has_a = 0;
    has_c = 0;
    for (i = 0; i < inv->n_acs; i++) {
        if (inv->acs[i].is_charge) {
            has_c = 1;
        } else {
            has_a = 1;
        }
    }

    ubl_start(c, "cac:LegalMonetaryTotal");
    ubl_amount(c, "cbc:LineExtensionAmount", t->line_net_minor);
    ubl_amount(c, "cbc:TaxExclusiveAmount", t->tax_exclusive_minor);
    ubl_amount(c, "cbc:TaxInclusiveAmount", t->tax_inclusive_minor);
    if (has_a) {
        ubl_amount(c, "cbc:AllowanceTotalAmount", t->allowance_minor);
    }
    if (has_c) {
        ubl_amount(c, "cbc:ChargeTotalAmount", t->charge_minor);
    }
    if (t->prepaid_minor != 0) {
        ubl_amount(c, "cbc:PrepaidAmount", t->prepaid_minor);
    }
    if (t->rounding_minor != 0) {
        ubl_amount(c, "cbc:PayableRoundingAmount", t->rounding_minor);
    }
    ubl_amount(c, "cbc:PayableAmount", t->payable_minor);
    ubl_end(c);
}


static void
ubl_line(ubl_ctx_t *c, const invoice_line_t *l, size_t i)
{
    int     credit;
    size_t  k;

    credit = c->inv->kind == INVOICE_KIND_CREDIT_NOTE;

    ubl_start(c, credit ? "cac:CreditNoteLine" : "cac:InvoiceLine");
    ubl_text(c, "cbc:ID", l->id);
    ubl_text(c, "cbc:Note", l->note);
    ubl_dec(c, credit ? "cbc:CreditedQuantity" : "cbc:InvoicedQuantity",
            "unitCode", l->unit_code, l->quantity);
    ubl_amount(c, "cbc:LineExtensionAmount", l->net_minor);

    for (k = 0; k < l->n_acs; k++) {
        ubl_ac(c, &l->acs[k], 0);
    }

    ubl_start(c, "cac:Item");
    ubl_text(c, "cbc:Description", l->description);
    ubl_text(c, "cbc:Name", l->name);
    if (l->seller_item_id != NULL) {
        ubl_start(c, "cac:SellersItemIdentification");
        ubl_text(c, "cbc:ID", l->seller_item_id);
        ubl_end(c);
    }
    if (l->class_code != NULL) {
        ubl_start(c, "cac:CommodityClassification");
        ubl_attr_text(c, "cbc:ItemClassificationCode", "listID",
                      l->class_scheme != NULL ? l->class_scheme : "STI",
                      l->class_code);
        ubl_end(c);
    }
    ubl_tax_category(c, "cac:ClassifiedTaxCategory", l->vat_category,
                     l->vat_rate, NULL, NULL);
    ubl_end(c);

    ubl_start(c, "cac:Price");
    ubl_dec(c, "cbc:PriceAmount", "currencyID", c->inv->currency, l->price);
    if (dec_cmp(l->base_quantity, DEC_ONE) != 0) {
        ubl_dec(c, "cbc:BaseQuantity", "unitCode", l->unit_code,
                l->base_quantity);
    }
    ubl_end(c);

    ubl_end(c);
}


static void
ubl_start(ubl_ctx_t *c, const char *name)
{
    if (xmlTextWriterStartElement(c->w, BAD_CAST name) < 0) {
        c->failed = 1;
    }
}


static void
ubl_end(ubl_ctx_t *c)
{
    if (xmlTextWriterEndElement(c->w) < 0) {
        c->failed = 1;
    }
}


/* an element with text content; absent (NULL or "") writes nothing */
static void
ubl_text(ubl_ctx_t *c, const char *name, const char *text)
{
    if (text == NULL || text[0] == '\0') {
        return;
    }

    if (xmlTextWriterWriteElement(c->w, BAD_CAST name, BAD_CAST text) < 0) {
        c->failed = 1;
    }
}


static void
ubl_attr_text(ubl_ctx_t *c, const char *name, const char *attr,
    const char *aval, const char *text)
{
    ubl_start(c, name);
    if (attr != NULL
        && xmlTextWriterWriteAttribute(c->w, BAD_CAST attr, BAD_CAST aval)
           < 0)
    {
        c->failed = 1;
    }
    if (xmlTextWriterWriteString(c->w, BAD_CAST text) < 0) {
        c->failed = 1;
    }
    ubl_end(c);
}


static void
ubl_amount(ubl_ctx_t *c, const char *name, int64_t minor)
{
    ubl_amount_in(c, name, minor, c->inv->currency, c->exp);
}


static void
ubl_amount_in(ubl_ctx_t *c, const char *name, int64_t minor,
    const char *currency, int exp)
{
    char  buf[DEC_STR_MAX];

    if (money_format(minor, exp, buf, sizeof(buf)) < 0) {
        c->failed = 1;
        return;
    }

    ubl_attr_text(c, name, "currencyID", currency, buf);
}


static void
ubl_dec(ubl_ctx_t *c, const char *name, const char *attr, const char *aval,
    dec_t d)
{
    char  buf[DEC_STR_MAX];

    if (dec_format(d, buf, sizeof(buf)) < 0) {
        c->failed = 1;
        return;
    }

    ubl_attr_text(c, name, attr, aval, buf);
}


static void
ubl_errmsg(char *err, size_t errlen, const char *msg)
{
    if (err != NULL && errlen > 0) {
        snprintf(err, errlen, "%s", msg);
    }
}
