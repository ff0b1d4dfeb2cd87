/*
 * Fuzzes the invoice core from the API side: arbitrary bytes as JSON ->
 * invoice_from_json -> invoice_compute -> every renderer of this core
 * (json, ubl, ubl-ro, and ksef when ksef.c is linked).  Nothing may
 * crash, leak or overflow silently; a rejected document has at least one
 * error with a path; every XML output is well-formed; the JSON output
 * parses back to the same totals.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "invoice/invoice.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check_xml(const unsigned char *out, size_t len);
static void fuzz_check_roundtrip(const invoice_t *inv);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char  *xml[] = { "ubl", "ubl-ro", "ksef" };
    json_t             *j;
    json_error_t        jerr;
    invoice_t          *inv;
    invoice_errs_t      errs;
    const invoice_renderer_t *r;
    unsigned char      *out;
    size_t              len, i;
    char                err[256];
    int                 rc;

    j = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL) {
        return 0;
    }

    memset(&errs, 0, sizeof(errs));
    inv = NULL;
    rc = invoice_from_json(j, &inv, &errs);
    json_decref(j);
    if (rc != INVOICE_OK) {
        if (rc != INVOICE_EINVAL || errs.n == 0 || inv != NULL) {
            abort();
        }
        return 0;
    }

    memset(&errs, 0, sizeof(errs));
    rc = invoice_compute(inv, &errs);
    if (rc != INVOICE_OK) {
        if (errs.n == 0 || inv->computed) {
            abort();
        }
        invoice_free(inv);
        return 0;
    }

    for (i = 0; i < sizeof(xml) / sizeof(xml[0]); i++) {
        r = invoice_renderer(xml[i]);
        if (r->render(inv, NULL, &out, &len, err, sizeof(err))
            == INVOICE_OK)
        {
            fuzz_check_xml(out, len);
            free(out);
        }
    }

    r = invoice_renderer("json");
    if (r->render(inv, NULL, &out, &len, err, sizeof(err)) != INVOICE_OK) {
        abort();
    }
    free(out);

    fuzz_check_roundtrip(inv);
    invoice_free(inv);

    return 0;
}


static void
fuzz_check_xml(const unsigned char *out, size_t len)
{
    xmlDocPtr  doc;

    doc = xmlReadMemory((const char *) out, (int) len, "fuzz.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR
                        | XML_PARSE_NOWARNING);
    if (doc == NULL) {
        abort();
    }
    xmlFreeDoc(doc);
}


static void
fuzz_check_roundtrip(const invoice_t *inv)
{
    json_t          *j;
    invoice_t       *back;
    invoice_errs_t   errs;

    if (invoice_to_json(inv, &j) != INVOICE_OK) {
        abort();
    }

    memset(&errs, 0, sizeof(errs));
    if (invoice_from_json(j, &back, &errs) != INVOICE_OK
        || invoice_compute(back, &errs) != INVOICE_OK
        || memcmp(&back->totals, &inv->totals,
                  offsetof(invoice_totals_t, vat)) != 0
        || back->totals.n_vat != inv->totals.n_vat)
    {
        abort();
    }

    json_decref(j);
    invoice_free(back);
}
