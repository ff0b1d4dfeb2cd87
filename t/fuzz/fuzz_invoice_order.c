/*
 * Fuzzes invoice_from_order: arbitrary bytes as a synced order (with a
 * fixed, valid seller profile) -> invoice_from_order -> the API JSON and
 * the UBL renderer.  Nothing may crash, leak or overflow silently; a
 * refusal has a one-line reason and leaves the output alone; an accepted
 * order gives a computed invoice whose BT-115 is the order's total_minor
 * when it has one, whose lines carry at most 8 price decimals, and whose
 * UBL is well-formed XML.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "invoice/invoice.h"
#include "invoice/from_order.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const json_t *fuzz_profile(void);
static void fuzz_check(const json_t *order, const invoice_t *inv);


static const char  profile_text[] =
    "{\"seller\": {\"name\": \"Sklep\", \"vat_id\": \"PL1234563218\","
    " \"address\": {\"street\": \"Prosta 1\", \"city\": \"Warszawa\","
    " \"postal_code\": \"00-001\", \"country\": \"PL\"}},"
    " \"payment\": {\"means_code\": \"30\","
    " \"iban\": \"PL61109010140000071219812874\", \"terms\": \"14 days\"},"
    " \"payment_days\": 14}";


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t         *order;
    json_error_t    jerr;
    invoice_t      *inv, *sentinel;
    char            err[256];
    const char     *due;
    int             rc;

    order = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES,
                       &jerr);
    if (order == NULL) {
        return 0;
    }

    /* the last byte picks between a given due date and payment_days */
    due = size > 0 && (data[size - 1] & 1) ? "2026-04-01" : NULL;

    sentinel = (invoice_t *) &inv;
    inv = sentinel;
    err[0] = '\0';
    rc = invoice_from_order(order, fuzz_profile(), "23", "2026-12-25", due,
                            "FV/FUZZ/1", &inv, err, sizeof(err));
    if (rc != INVOICE_OK) {
        if (rc > 0 || inv != sentinel || err[0] == '\0'
            || strchr(err, '\n') != NULL)
        {
            abort();
        }
        json_decref(order);
        return 0;
    }

    if (inv == sentinel || inv == NULL || err[0] != '\0') {
        abort();
    }

    fuzz_check(order, inv);
    invoice_free(inv);
    json_decref(order);

    return 0;
}


/* parsed once, then borrowed by every run (never changed) */
static const json_t *
fuzz_profile(void)
{
    static json_t  *profile;

    if (profile == NULL) {
        profile = json_loads(profile_text, 0, NULL);
        if (profile == NULL) {
            abort();
        }
    }

    return profile;
}


static void
fuzz_check(const json_t *order, const invoice_t *inv)
{
    const invoice_renderer_t  *r;
    const json_t              *total;
    json_t                    *j;
    unsigned char             *out;
    xmlDocPtr                  doc;
    size_t                     len, i;
    char                       err[256];

    if (!inv->computed || inv->n_lines == 0
        || inv->n_lines != json_array_size(json_object_get(order, "lines")))
    {
        abort();
    }

    total = json_object_get(order, "total_minor");
    if (json_is_integer(total)
        && inv->totals.payable_minor != json_integer_value(total))
    {
        abort();
    }

    for (i = 0; i < inv->n_lines; i++) {
        if (dec_sign(inv->lines[i].price) < 0
            || inv->lines[i].price.scale > DEC_MAX_SCALE
            || dec_sign(inv->lines[i].quantity) <= 0)
        {
            abort();
        }
    }

    if ((uint64_t) (inv->totals.rounding_minor < 0
                    ? -inv->totals.rounding_minor
                    : inv->totals.rounding_minor)
        > (uint64_t) inv->n_lines)
    {
        abort();
    }

    if (invoice_to_json(inv, &j) != INVOICE_OK) {
        abort();
    }
    json_decref(j);

    r = invoice_renderer("ubl");
    if (r == NULL
        || r->render(inv, NULL, &out, &len, err, sizeof(err)) != INVOICE_OK)
    {
        abort();
    }

    doc = xmlReadMemory((const char *) out, (int) len, "fuzz.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR
                        | XML_PARSE_NOWARNING);
    if (doc == NULL) {
        abort();
    }
    xmlFreeDoc(doc);
    free(out);
}
