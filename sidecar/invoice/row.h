
/*
 * hubgated: an invoice between the model and its database row
 * (sql/015_invoicing.sql).
 *
 * The row keeps the invoice's content as `document`, the API JSON of
 * invoice.h without number, issue_date and due_date (those are columns,
 * set when the invoice is issued), plus the totals and lines as columns.
 * invoice_row_item makes the item invoices_insert() takes from a computed
 * invoice; invoice_row_load makes a computed invoice again from a row.
 *
 * Pure C on jansson and the model: no database.  Outputs are owned by the
 * caller (json_decref, invoice_free).  Errors are one line in err.
 */

#ifndef INVOICE_ROW_H
#define INVOICE_ROW_H

#include <stddef.h>

#include <jansson.h>

#include "invoice/invoice.h"


/* the number a draft shows where an issued invoice shows its own */
#define INVOICE_DRAFT_NUMBER  "DRAFT"


/*
 * The item of a computed invoice: {"kind", "currency", "vat_currency",
 * "due_date", "notes", "document", "totals", "vat_breakdown", "lines"}
 * (the parties and document allowances and charges are the document's);
 * the caller adds the source, customer and payment fields.  NULL on
 * ENOMEM or when inv is not computed.
 */
json_t *invoice_row_item(const invoice_t *inv);

/*
 * The document of an API JSON invoice (borrowed): a copy without number,
 * issue_date, due_date and the output-only totals; NULL on ENOMEM.
 */
json_t *invoice_row_document(const json_t *inv_json);

/*
 * A computed invoice from a row's document (JSON text) and its columns:
 * number NULL or "" shows INVOICE_DRAFT_NUMBER, issue_date NULL or "" is
 * replaced by fallback_date, due_date NULL or "" stays absent.  Returns
 * INVOICE_OK and *out, or an error with err (the document does not parse
 * or no longer computes).
 */
int invoice_row_load(const char *document, const char *kind,
    const char *number, const char *issue_date, const char *due_date,
    const char *fallback_date, invoice_t **out, char *err, size_t errlen);

#endif /* INVOICE_ROW_H */
