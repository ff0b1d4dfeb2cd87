
/*
 * hubgated: the statements of invoices, series, customers and products
 * (invoice/, api/h_invoices.c, sync/pipeline.c, sync/engine.c).
 * Included by db_stmts.h, whose rules apply (named, prepared, tenant
 * scope by row-level security).  The work is in the functions of
 * sql/015_invoicing.sql.
 */

#ifndef STMTS_INVOICE_H
#define STMTS_INVOICE_H


#define DB_STMTS_INVOICE(X)                                                   \
    /* $1 series, $2 date, $3 issue, $4 items, $5 answer ->                 \
       inserted, error, n */                                                 \
    X(DB_S_INV_INSERT,                                                        \
      "SELECT inserted, error, n FROM invoices_insert($1, $2::date,"          \
      " $3::bool, $4::jsonb, $5::bool)")                                      \
    X(DB_S_INV_TRANSITION,                                                    \
      "SELECT invoice_transition($1::uuid, $2, $3::date)")                    \
    /* the row GET /v1/invoices/{id} renders; FOR UPDATE when $2 */          \
    X(DB_S_INV_GET,                                                           \
      "SELECT invoice_json(i), i.document, i.kind, i.state, i.number,"        \
      " to_char(i.issue_date, 'YYYY-MM-DD'),"                                 \
      " to_char(i.due_date, 'YYYY-MM-DD'), i.series"                          \
      " FROM invoices i WHERE i.tenant_id = " DB_TENANT_UUID                  \
      " AND i.id = $1::uuid")                                                 \
    X(DB_S_INV_LOCK,                                                          \
      "SELECT invoice_json(i), i.document, i.kind, i.state, i.number,"        \
      " to_char(i.issue_date, 'YYYY-MM-DD'),"                                 \
      " to_char(i.due_date, 'YYYY-MM-DD'), i.series"                          \
      " FROM invoices i WHERE i.tenant_id = " DB_TENANT_UUID                  \
      " AND i.id = $1::uuid FOR UPDATE")                                      \
    /* what credit notes (not cancelled) already credit, per line */         \
    X(DB_S_INV_CREDITED,                                                      \
      "SELECT l.corrects_line_no, sum(l.quantity)::text"                      \
      " FROM invoices c JOIN invoice_lines l ON l.invoice_id = c.id"          \
      " WHERE c.tenant_id = " DB_TENANT_UUID                                  \
      " AND c.corrects_invoice_id = $1::uuid AND c.state <> 'cancelled'"      \
      " AND l.corrects_line_no IS NOT NULL GROUP BY 1")                       \
    /* $1 cursor us, $2 cursor id, $3 state, $4 kind, $5 integration,        \
       $6 series, $7 limit */                                                \
    X(DB_S_INV_LIST,                                                          \
      "SELECT " DB_CURSOR("i") ", invoice_json(i)"                            \
      " FROM invoices i WHERE i.tenant_id = " DB_TENANT_UUID                  \
      " AND ($1::bigint IS NULL OR (i.created_at, i.id) < (timestamptz"       \
      "     'epoch' + $1::bigint * interval '1 microsecond', $2::uuid))"      \
      " AND ($3::text IS NULL OR i.state = $3)"                               \
      " AND ($4::text IS NULL OR i.kind = $4)"                                \
      " AND ($5::uuid IS NULL OR i.integration_id = $5::uuid)"                \
      " AND ($6::text IS NULL OR i.series = $6)"                              \
      " ORDER BY i.created_at DESC, i.id DESC LIMIT $7::int")                 \
    X(DB_S_SERIES_GET,                                                        \
      "SELECT invoice_series_json(s, $2::date) FROM invoice_series s"         \
      " WHERE s.tenant_id = " DB_TENANT_UUID " AND s.name = $1")              \
    X(DB_S_SERIES_PUT,                                                        \
      "SELECT invoice_series_put($1, $2, $3, $4::bigint, $5::date)")          \
    X(DB_S_SELLER_GET,                                                        \
      "SELECT p.profile FROM seller_profiles p"                               \
      " WHERE p.tenant_id = " DB_TENANT_UUID)                                 \
    X(DB_S_SELLER_PUT,                                                        \
      "INSERT INTO seller_profiles AS p (tenant_id, profile)"                 \
      " VALUES (" DB_TENANT_UUID ", $1::jsonb)"                               \
      " ON CONFLICT (tenant_id) DO UPDATE SET profile = EXCLUDED.profile,"    \
      " updated_at = now() RETURNING p.profile")                              \
    /* a page of a sync: $1 integration, $2 the page's paid order ids        \
       (JSON array) -> the settings, the seller profile and the ids that     \
       have no invoice yet */                                                \
    X(DB_S_INV_GEN_PREP,                                                      \
      "SELECT coalesce((i.settings->>'autoGenerateInvoices')::bool, false),"  \
      " coalesce(i.settings->>'invoiceSeries', 'default'),"                   \
      " coalesce((i.settings->>'autoMarkAsPaid')::bool, false),"              \
      " coalesce(i.settings->>'defaultVatRate', '23'),"                       \
      " (SELECT p.profile FROM seller_profiles p"                             \
      "   WHERE p.tenant_id = i.tenant_id),"                                  \
      " CASE WHEN (i.settings->>'autoGenerateInvoices')::bool"                \
      "  THEN invoices_missing_orders(i.id, $2::jsonb) END"                   \
      " FROM integrations i WHERE i.id = $1::uuid")                           \
    X(DB_S_INV_GEN_COUNT,                                                     \
      "UPDATE sync_runs SET invoices_created = invoices_created + $2::int,"   \
      " invoices_failed = invoices_failed + $3::int,"                         \
      " invoice_error = coalesce($4, invoice_error) WHERE id = $1::uuid")     \
    /* the scheduler, across tenants */                                      \
    X(DB_S_INV_OVERDUE,                                                       \
      "SELECT invoices_mark_overdue($1::date)")


#endif /* STMTS_INVOICE_H */
