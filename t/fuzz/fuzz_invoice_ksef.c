
/*
 * libFuzzer target: API JSON -> invoice_from_json -> invoice_compute ->
 * the KSeF FA(3) renderer (sidecar/invoice/ksef.c), and for one input in
 * eight of at most 4 lines the PDF renderer (sidecar/invoice/pdf.c; it is
 * slow, so not on every input).
 *
 * Oracles: no sanitizer report; a render that succeeds returns a
 * well-formed XML document (libxml2 reads it back) whose root is
 * Faktura in the FA(3) namespace, or a PDF ("%PDF-" .. "%%EOF"); a
 * render that fails says why.  LLVMFuzzerInitialize renders one PDF so
 * that fontconfig's one-time set-up happens before the runs, and its
 * process-lifetime allocations are suppressed for LeakSanitizer.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "invoice/invoice.h"


#define FUZZ_NS  "http://crd.gov.pl/wzor/2025/06/25/13775/"


static void fuzz_check(const unsigned char *xml, size_t len);
static void fuzz_pdf(const invoice_t *inv);


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);


/* fontconfig keeps its configuration for the process's life, reachable
 * only in ways LeakSanitizer does not see: not a leak of ours */
const char *
__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\n";
}


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    invoice_t       *inv;
    invoice_line_t  *l;

    inv = invoice_new();
    if (inv == NULL) {
        abort();
    }

    memcpy(inv->currency, "PLN", 4);
    memcpy(inv->issue_date, "2025-11-14", 11);
    memcpy(inv->seller.country, "PL", 3);
    memcpy(inv->buyer.country, "PL", 3);
    l = invoice_add_line(inv);
    if (l == NULL
        || invoice_strset(&inv->number, "FV/1") != INVOICE_OK
        || invoice_strset(&inv->seller.name, "Zażółć") != INVOICE_OK
        || invoice_strset(&inv->buyer.name, "Ștefan") != INVOICE_OK
        || invoice_strset(&l->id, "1") != INVOICE_OK
        || invoice_strset(&l->name, "gęślą jaźń") != INVOICE_OK)
    {
        abort();
    }
    l->quantity = DEC_ONE;
    l->price = DEC_ONE;
    l->vat_rate = DEC(23, 0);

    if (invoice_compute(inv, NULL) != INVOICE_OK) {
        abort();
    }

    fuzz_pdf(inv);
    invoice_free(inv);

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t                     *j;
    invoice_t                  *inv;
    invoice_errs_t              errs;
    const invoice_renderer_t   *r;
    unsigned char              *out;
    size_t                      len;
    char                        err[256];
    invoice_render_opts_t       o;

    j = json_loadb((const char *) data, size, 0, NULL);
    if (j == NULL) {
        return 0;
    }

    memset(&errs, 0, sizeof(errs));
    inv = NULL;

    if (invoice_from_json(j, &inv, &errs) == INVOICE_OK
        && invoice_compute(inv, &errs) == INVOICE_OK)
    {
        r = invoice_renderer("ksef");
        if (r == NULL) {
            abort();
        }

        memset(&o, 0, sizeof(o));
        o.pretty = size & 1;
        err[0] = '\0';

        if (r->render(inv, &o, &out, &len, err, sizeof(err)) == INVOICE_OK) {
            fuzz_check(out, len);
            free(out);
        } else if (err[0] == '\0') {
            abort();
        }

        if (size % 8 == 0 && inv->n_lines <= 4) {
            fuzz_pdf(inv);
        }
    }

    invoice_free(inv);
    json_decref(j);

    return 0;
}


static void
fuzz_check(const unsigned char *xml, size_t len)
{
    xmlDocPtr   doc;
    xmlNodePtr  root;

    doc = xmlReadMemory((const char *) xml, (int) len, "ksef.xml", "UTF-8",
                        XML_PARSE_NONET | XML_PARSE_NOERROR
                        | XML_PARSE_NOWARNING);
    if (doc == NULL) {
        abort();
    }

    root = xmlDocGetRootElement(doc);
    if (root == NULL || root->ns == NULL
        || strcmp((const char *) root->name, "Faktura") != 0
        || strcmp((const char *) root->ns->href, FUZZ_NS) != 0)
    {
        abort();
    }

    xmlFreeDoc(doc);
}


static void
fuzz_pdf(const invoice_t *inv)
{
    unsigned char  *out;
    size_t          len;
    char            err[256];

    err[0] = '\0';

    if (invoice_renderer_pdf.render(inv, NULL, &out, &len, err, sizeof(err))
        != INVOICE_OK)
    {
        if (err[0] == '\0') {
            abort();
        }
        return;
    }

    if (len < 10 || memcmp(out, "%PDF-", 5) != 0
        || memmem(out + len - 7, 7, "%%EOF", 5) == NULL)
    {
        abort();
    }

    free(out);
}
