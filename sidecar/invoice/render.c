/*
 * hubgated: the invoice renderer registry (invoice.h).
 *
 * One table, looked up by name.  Each renderer lives in a file of its
 * own.  The unit tests and fuzzers link the model without pango and cairo:
 * for them a weak stand-in of the PDF renderer answers INVOICE_ENOTFOUND;
 * hubgated and the tools link pdf.c, whose definition takes over.
 */

#include <string.h>

#include "invoice/invoice.h"


static int render_stub(const invoice_t *inv, const invoice_render_opts_t *o,
    unsigned char **out, size_t *len, char *err, size_t errlen);


static const invoice_renderer_t  *renderers[] = {
    &invoice_renderer_json,
    &invoice_renderer_ubl,
    &invoice_renderer_ubl_ro,
    &invoice_renderer_ksef,
    &invoice_renderer_pdf,
};


/* for builds without pango and cairo (unit tests, fuzzers) */
__attribute__((weak)) const invoice_renderer_t  invoice_renderer_pdf = {
    "pdf", "application/pdf", render_stub
};


const invoice_renderer_t *
invoice_renderer(const char *name)
{
    size_t  i;

    if (name == NULL) {
        return NULL;
    }

    for (i = 0; i < sizeof(renderers) / sizeof(renderers[0]); i++) {
        if (strcmp(renderers[i]->name, name) == 0) {
            return renderers[i];
        }
    }

    return NULL;
}


static int
render_stub(const invoice_t *inv, const invoice_render_opts_t *o,
    unsigned char **out, size_t *len, char *err, size_t errlen)
{
    if (err != NULL && errlen > 0) {
        strncpy(err, "renderer not built", errlen - 1);
        err[errlen - 1] = '\0';
    }

    return INVOICE_ENOTFOUND;
}
