
/*
 * hubgated: the statements of sync runs, cursors and canonical records
 * (sync/pipeline.c, api/h_syncs.c, api/h_records.c).
 * Included by db_stmts.h, whose rules apply (named, prepared, tenant
 * scope by row-level security).
 */

#ifndef STMTS_SYNC_H
#define STMTS_SYNC_H


#define DB_STMTS_SYNC(X)                                                      \
    X(DB_S_SYNC_LOAD,                                                         \
      "SELECT i.provider, i.status, i.account_id, s.status,"                  \
      " s.cancel_requested, s.trigger,"                                       \
      " to_char(i.last_sync_at AT TIME ZONE 'UTC',"                           \
      " 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"                                \
      " COALESCE((SELECT json_object_agg(c.stream, c.cursor)"                 \
      "   FROM sync_cursors c WHERE c.integration_id = i.id), '{}')"          \
      " FROM sync_runs s JOIN integrations i ON i.id = s.integration_id"      \
      " WHERE s.id = $1::uuid FOR UPDATE OF s")                               \
    X(DB_S_SYNC_START,                                                        \
      "UPDATE sync_runs SET status = 'running', stage = 'connecting',"        \
      " started_at = COALESCE(started_at, $2::timestamptz), error = NULL"     \
      " WHERE id = $1::uuid RETURNING sync_run_json(id)")                     \
    X(DB_S_SYNC_PAGE,                                                         \
      "SELECT created, updated, failed, run,"                                 \
      " (run->>'cancel_requested')::bool"                                     \
      " FROM sync_store_page($1::uuid, $2::uuid, $3, $4::jsonb, $5,"          \
      " $6::bool, $7, $8::int, $9::int)")                                     \
    X(DB_S_SYNC_FINISH,                                                       \
      "SELECT r->'run', (r->>'disabled')::bool"                               \
      " FROM sync_finish($1::uuid, $2, $3, $4::timestamptz, $5::int) r")      \
    X(DB_S_SYNC_ENQUEUE,                                                      \
      "SELECT sync_id, job_id, created, sync_run_json(sync_id) FROM"          \
      " sync_enqueue(" DB_TENANT_UUID ", $1::uuid, $2, $3::jsonb,"            \
      " $4::timestamptz)")                                                    \
    X(DB_S_SYNC_GET,                                                          \
      "SELECT sync_run_json(s.id) FROM sync_runs s"                           \
      " WHERE s.tenant_id = " DB_TENANT_UUID " AND s.id = $1::uuid")          \
    X(DB_S_SYNC_UNKNOWN,                                                      \
      "SELECT t FROM jsonb_array_elements($2::jsonb) t"                       \
      " WHERE t->>'revision' IS NULL OR NOT EXISTS (SELECT 1"                 \
      " FROM external_orders o WHERE o.integration_id = $1::uuid"             \
      " AND o.external_id = t->>'id'"                                         \
      " AND o.raw->>'revision' = t->>'revision')")                            \
    X(DB_S_INT_GET_STATUS,                                                    \
      "SELECT i.status FROM integrations i"                                   \
      " WHERE i.tenant_id = " DB_TENANT_UUID " AND i.id = $1::uuid")          \
    X(DB_S_SYNC_LIST,                                                         \
      "SELECT " DB_CURSOR("s") ", sync_run_json(s.id)"                        \
      " FROM sync_runs s WHERE s.tenant_id = " DB_TENANT_UUID                 \
      " AND ($1::bigint IS NULL OR (s.created_at, s.id) < (timestamptz"       \
      "     'epoch' + $1::bigint * interval '1 microsecond', $2::uuid))"      \
      " AND ($3::uuid IS NULL OR s.integration_id = $3::uuid)"                \
      " AND ($4::text IS NULL OR s.status = $4)"                              \
      " ORDER BY s.created_at DESC, s.id DESC LIMIT $5::int")                 \
    X(DB_S_SYNC_CANCEL,                                                       \
      "WITH s AS (UPDATE sync_runs SET cancel_requested = true,"              \
      "   status = CASE WHEN status = 'queued' THEN 'cancelled'"              \
      "            ELSE status END,"                                          \
      "   stage = CASE WHEN status = 'queued' THEN 'cancelled' ELSE stage END,"\
      "   finished_at = CASE WHEN status = 'queued' THEN $2::timestamptz"     \
      "                 ELSE finished_at END"                                 \
      "  WHERE tenant_id = " DB_TENANT_UUID " AND id = $1::uuid"              \
      "  AND status IN ('queued', 'running') RETURNING id, job_id, status),"  \
      " j AS (UPDATE jobs SET cancel_requested = true,"                       \
      "   status = CASE WHEN jobs.status = 'queued' THEN 'cancelled'"         \
      "            ELSE jobs.status END,"                                     \
      "   finished_at = CASE WHEN jobs.status = 'queued' THEN now()"          \
      "                 ELSE jobs.finished_at END"                            \
      "  FROM s WHERE jobs.id = s.job_id RETURNING jobs.id)"                  \
      " SELECT s.status, (SELECT count(*) FROM j) FROM s")                    \
    X(DB_S_SYNC_STATUS,                                                       \
      "SELECT s.status FROM sync_runs s WHERE s.tenant_id = " DB_TENANT_UUID  \
      " AND s.id = $1::uuid")                                                 \
    X(DB_S_WHEV_GET,                                                          \
      "SELECT e.provider, e.event_type, encode(e.body, 'hex'),"               \
      " e.processed_at IS NOT NULL, i.status"                                 \
      " FROM webhook_events e JOIN integrations i ON i.id = e.integration_id" \
      " WHERE e.id = $1::uuid")                                               \
    X(DB_S_WHEV_DONE,                                                         \
      "UPDATE webhook_events SET processed_at = now(), last_error = $2"       \
      " WHERE id = $1::uuid")                                                 \
    X(DB_S_LIST_ORDERS,                                                       \
      "SELECT " DB_CURSOR("o") ", json_build_object("                         \
      " 'id', o.id, 'integration_id', o.integration_id,"                      \
      " 'external_id', o.external_id, 'status', o.status,"                    \
      " 'customer_id', o.customer_id, 'currency', o.currency,"                \
      " 'total_minor', o.total_minor, 'ordered_at', o.ordered_at,"            \
      " 'external_updated_at', o.external_updated_at,"                        \
      " 'lines', o.canonical->'lines', 'created_at', o.created_at,"           \
      " 'updated_at', o.updated_at)"                                          \
      " FROM external_orders o WHERE o.tenant_id = " DB_TENANT_UUID           \
      " AND ($1::bigint IS NULL OR (o.created_at, o.id) < (timestamptz"       \
      "     'epoch' + $1::bigint * interval '1 microsecond', $2::uuid))"      \
      " AND ($3::uuid IS NULL OR o.integration_id = $3::uuid)"                \
      " ORDER BY o.created_at DESC, o.id DESC LIMIT $4::int")                 \
    X(DB_S_LIST_CUSTOMERS,                                                    \
      "SELECT " DB_CURSOR("o") ", json_build_object("                         \
      " 'id', o.id, 'integration_id', o.integration_id,"                      \
      " 'external_id', o.external_id, 'name', o.name,"                        \
      " 'email', o.email, 'tax_id', o.tax_id, 'country', o.country,"          \
      " 'address', o.address, 'created_at', o.created_at,"                    \
      " 'updated_at', o.updated_at)"                                          \
      " FROM customers o WHERE o.tenant_id = " DB_TENANT_UUID                 \
      " AND ($1::bigint IS NULL OR (o.created_at, o.id) < (timestamptz"       \
      "     'epoch' + $1::bigint * interval '1 microsecond', $2::uuid))"      \
      " AND ($3::uuid IS NULL OR o.integration_id = $3::uuid)"                \
      " ORDER BY o.created_at DESC, o.id DESC LIMIT $4::int")                 \
    X(DB_S_LIST_PRODUCTS,                                                     \
      "SELECT " DB_CURSOR("o") ", json_build_object("                         \
      " 'id', o.id, 'integration_id', o.integration_id,"                      \
      " 'external_id', o.external_id, 'sku', o.sku, 'name', o.name,"          \
      " 'unit_price', o.unit_price::text, 'currency', o.currency,"            \
      " 'vat_rate', o.vat_rate::text, 'created_at', o.created_at,"            \
      " 'updated_at', o.updated_at)"                                          \
      " FROM products o WHERE o.tenant_id = " DB_TENANT_UUID                  \
      " AND ($1::bigint IS NULL OR (o.created_at, o.id) < (timestamptz"       \
      "     'epoch' + $1::bigint * interval '1 microsecond', $2::uuid))"      \
      " AND ($3::uuid IS NULL OR o.integration_id = $3::uuid)"                \
      " ORDER BY o.created_at DESC, o.id DESC LIMIT $4::int")


#endif /* STMTS_SYNC_H */
