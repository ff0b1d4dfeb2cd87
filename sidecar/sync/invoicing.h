
/*
 * hubgated: invoices generated from synced orders, and the scheduler's
 * overdue pass (DESIGN §4, Invoices; sql/015_invoicing.sql).
 *
 * invoicing_page runs inside the transaction that stores a sync's page
 * (sync/pipeline.c), after the page's records are stored: when the
 * integration's settings say autoGenerateInvoices, every paid order of
 * the page without an invoice gets one, issued from the settings'
 * invoiceSeries (marked paid when autoMarkAsPaid), so an order and its
 * invoice are committed together or not at all, and the unique source key
 * of sql/004 keeps an order from being invoiced twice.  An order that
 * cannot be invoiced (no seller profile, a total its lines do not give) is
 * counted in the run's invoices_failed with the reason in invoice_error;
 * it does not fail the sync.
 */

#ifndef SYNC_INVOICING_H
#define SYNC_INVOICING_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../store/db.h"


/*
 * In the caller's tenant transaction.  records: the page's canonical
 * records (borrowed).  Returns 0 (*created set); -1 with err when a
 * statement failed (the caller rolls back and retries the page).
 */
int invoicing_page(db_conn_t *db, const char *sync_id,
    const char *integration, const json_t *records, int64_t now_ms,
    int64_t *created, char *err, size_t errlen);

/* the scheduler's hook (queue_register_tick): issued -> overdue */
void invoicing_tick(db_conn_t *db, int64_t now_ms);

/* counters for /metrics */
uint64_t invoicing_stat_created(void);
uint64_t invoicing_stat_failed(void);
uint64_t invoicing_stat_overdue(void);

#endif /* SYNC_INVOICING_H */
