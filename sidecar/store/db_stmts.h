
/*
 * hubgated: every SQL statement the daemon runs, by name.  Each pool
 * connection prepares them all when it opens.  Statements that touch
 * tenant-owned tables rely on row-level security for the tenant (set by
 * DB_S_TENANT_SCOPE) and take tenant_id from the same setting on insert.
 *
 * Integrations and audit entries are rendered to JSON by PostgreSQL
 * (json_build_object, TimeZone UTC): one shape for every route, and the
 * daemon splices rows into answers without parsing them.  Effective
 * settings are the defaults overlaid by the stored keys (validated when
 * they were written).
 */

#ifndef DB_STMTS_H
#define DB_STMTS_H


#define DB_TENANT_UUID  "current_setting('hubgate.tenant')::uuid"

/* p: the parameter holding the default settings (validate.c) as JSON */
#define DB_INTEGRATION_JSON(p)                                                \
    "json_build_object('id', i.id, 'provider', i.provider,"                   \
    " 'display_name', i.display_name, 'auth', i.auth_mode,"                   \
    " 'status', i.status, 'health', i.health,"                                \
    " 'connected', EXISTS (SELECT 1 FROM credentials c"                       \
    "     WHERE c.integration_id = i.id AND c.purpose IN"                     \
    "     ('api_key', 'access_token', 'refresh_token')),"                     \
    " 'account_id', i.account_id, 'last_error', i.last_error,"                \
    " 'last_error_at', i.last_error_at, 'last_sync_at', i.last_sync_at,"      \
    " 'next_sync_at', i.next_sync_at, 'created_at', i.created_at,"            \
    " 'updated_at', i.updated_at, 'settings', " p "::jsonb || i.settings)"

#define DB_CURSOR(t)                                                          \
    "((extract(epoch FROM " t ".created_at) * 1000000)::bigint::text"         \
    " || '_' || " t ".id)"

/* the same over another timestamp column c */
#define DB_CURSOR_AT(t, c)                                                    \
    "((extract(epoch FROM " t "." c ") * 1000000)::bigint::text"             \
    " || '_' || " t ".id)"


/* the statements of each subsystem, in a list of its own */
#include "stmts_queue.h"
#include "stmts_oauth.h"
#include "stmts_sync.h"
#include "stmts_invoice.h"

#define DB_STMTS(X)                                                           \
    X(DB_S_TENANT_SCOPE,                                                      \
      "SELECT set_config('hubgate.tenant',"                                   \
      " COALESCE(tenant_id_by_slug($1)::text, ''), true)")                    \
                                                                              \
    X(DB_S_IDEM_CLAIM,                                                        \
      "INSERT INTO idempotency_keys (tenant_id, key, method, path,"           \
      " request_hash) VALUES (" DB_TENANT_UUID ", $1, $2, $3, $4)"            \
      " ON CONFLICT (tenant_id, key) DO NOTHING RETURNING 1")                 \
    X(DB_S_IDEM_GET,                                                          \
      "SELECT request_hash, status, response_status, response_body,"          \
      " created_at < now() - interval '24 hours',"                            \
      " created_at < now() - interval '60 seconds',"                          \
      " COALESCE(response_headers->>'location', '')"                          \
      " FROM idempotency_keys WHERE tenant_id = " DB_TENANT_UUID             \
      " AND key = $1 FOR UPDATE")                     \
    X(DB_S_IDEM_RESET,                                                        \
      "UPDATE idempotency_keys SET method = $2, path = $3,"                   \
      " request_hash = $4, status = 'in_progress', response_status = NULL,"   \
      " response_headers = NULL, response_body = NULL, created_at = now(),"   \
      " completed_at = NULL WHERE tenant_id = " DB_TENANT_UUID               \
      " AND key = $1")                                  \
    X(DB_S_IDEM_DONE,                                                         \
      "UPDATE idempotency_keys SET status = 'done', response_status = $2,"    \
      " response_headers = $3::jsonb, response_body = $4,"                    \
      " completed_at = now() WHERE tenant_id = " DB_TENANT_UUID              \
      " AND key = $1")                                 \
    X(DB_S_IDEM_DROP,                                                         \
      "DELETE FROM idempotency_keys WHERE tenant_id = " DB_TENANT_UUID       \
      " AND key = $1")                          \
                                                                              \
    X(DB_S_AUDIT_INSERT,                                                      \
      "INSERT INTO audit_log (tenant_id, actor, action, target, request_id,"  \
      " details) VALUES (" DB_TENANT_UUID ", $1, $2, $3, $4, $5::jsonb)")     \
    X(DB_S_AUDIT_LIST,                                                        \
      "SELECT id, json_build_object('id', id, 'at', at, 'actor', actor,"      \
      " 'action', action, 'target', target, 'request_id', request_id,"        \
      " 'details', details) FROM audit_log"                                   \
      " WHERE tenant_id = " DB_TENANT_UUID                                   \
      " AND ($1::bigint IS NULL OR id < $1::bigint)"                        \
      " ORDER BY id DESC LIMIT $2::int")                                      \
                                                                              \
    X(DB_S_INT_LIST,                                                          \
      "SELECT " DB_CURSOR("i") ", " DB_INTEGRATION_JSON("$4")                 \
      " FROM integrations i WHERE i.tenant_id = " DB_TENANT_UUID             \
      " AND ($1::bigint IS NULL OR (i.created_at, i.id) > (timestamptz"      \
      "     'epoch' + $1::bigint * interval '1 microsecond', $2::uuid))"      \
      " ORDER BY i.created_at, i.id LIMIT $3::int")                           \
    X(DB_S_INT_GET,                                                           \
      "SELECT " DB_INTEGRATION_JSON("$2") " FROM integrations i"              \
      " WHERE i.tenant_id = " DB_TENANT_UUID " AND i.id = $1::uuid")          \
    X(DB_S_INT_INSERT,                                                        \
      "INSERT INTO integrations (tenant_id, provider, display_name,"          \
      " auth_mode, status, settings) VALUES (" DB_TENANT_UUID ", $1, $2, $3," \
      " $4, $5::jsonb) RETURNING id")                                         \
    X(DB_S_INT_DELETE,                                                        \
      "DELETE FROM integrations WHERE tenant_id = " DB_TENANT_UUID           \
      " AND id = $1::uuid RETURNING provider")      \
    X(DB_S_INT_LOCK,                                                          \
      "SELECT i.status, EXISTS (SELECT 1 FROM credentials c"                  \
      "     WHERE c.integration_id = i.id AND c.purpose IN"                   \
      "     ('api_key', 'access_token', 'refresh_token')), i.provider"        \
      " FROM integrations i WHERE i.tenant_id = " DB_TENANT_UUID             \
      " AND i.id = $1::uuid FOR UPDATE")                \
    X(DB_S_INT_SET_STATUS,                                                    \
      "UPDATE integrations SET status = $2, updated_at = now()"               \
      " WHERE tenant_id = " DB_TENANT_UUID " AND id = $1::uuid")              \
    X(DB_S_INT_SETTINGS,                                                      \
      "SELECT settings FROM integrations WHERE tenant_id = " DB_TENANT_UUID  \
      " AND id = $1::uuid")                \
    X(DB_S_INT_SETTINGS_PUT,                                                  \
      "UPDATE integrations SET settings = $2::jsonb, updated_at = now()"      \
      " WHERE tenant_id = " DB_TENANT_UUID " AND id = $1::uuid"              \
      " RETURNING settings")                              \
    X(DB_S_SUMMARY_COUNTS,                                                    \
      "SELECT count(*), count(*) FILTER (WHERE status = 'active'),"           \
      " count(*) FILTER (WHERE status = 'pending'),"                          \
      " count(*) FILTER (WHERE status = 'inactive'),"                         \
      " count(*) FILTER (WHERE status = 'error'),"                            \
      " count(*) FILTER (WHERE status = 'needs_reconnect'),"                  \
      " count(*) FILTER (WHERE health = 'unhealthy'),"                        \
      " COALESCE((SELECT json_object_agg(provider, n ORDER BY provider)"      \
      "   FROM (SELECT provider, count(*) AS n FROM integrations"             \
      "         WHERE tenant_id = " DB_TENANT_UUID                            \
      "         GROUP BY provider) p), '{}'),"                                \
      " (SELECT json_build_object('id', s.id, 'integration_id',"              \
      "   s.integration_id, 'status', s.status, 'created_at', s.created_at,"  \
      "   'finished_at', s.finished_at) FROM sync_runs s"                     \
      "   WHERE s.tenant_id = " DB_TENANT_UUID                                \
      "   ORDER BY s.created_at DESC LIMIT 1)"                                \
      " FROM integrations WHERE tenant_id = " DB_TENANT_UUID)                 \
                                                                              \
    X(DB_S_CRED_INSERT,                                                       \
      "INSERT INTO credentials (tenant_id, integration_id, purpose, sealed,"  \
      " key_version) VALUES (" DB_TENANT_UUID ", $1::uuid, $2, $3, $4::int)") \
    X(DB_S_CRED_ALL,                                                          \
      "SELECT c.id, c.integration_id, c.purpose, c.sealed, c.key_version"     \
      " FROM credentials c WHERE c.tenant_id = " DB_TENANT_UUID              \
      " ORDER BY c.created_at")                            \
    X(DB_S_TKEY_GET,                                                          \
      "SELECT dek_version, wrapped_key FROM tenant_keys"                      \
      " WHERE tenant_id = " DB_TENANT_UUID                                    \
      " AND dek_version = COALESCE($1::int, (SELECT max(dek_version)"         \
      "   FROM tenant_keys WHERE tenant_id = " DB_TENANT_UUID                 \
      "   AND retired_at IS NULL))")                       \
    X(DB_S_TKEY_INSERT,                                                       \
      "INSERT INTO tenant_keys (tenant_id, dek_version, kek_version,"         \
      " wrapped_key) VALUES (" DB_TENANT_UUID ", 1, $1::int, $2)"             \
      " ON CONFLICT DO NOTHING RETURNING dek_version")                        \
    X(DB_S_KEK_IN_USE,                                                        \
      "SELECT kek_version, data_keys FROM kek_versions_in_use()")             \
    X(DB_S_KEK_PROBE,                                                         \
      "SELECT kek_version, tenant_id, wrapped_key FROM kek_probe()")          \
    X(DB_S_TENANT_ID_SCOPE,                                                   \
      "SELECT set_config('hubgate.tenant', $1::uuid::text, true)")            \
                                                                              \
    X(DB_S_WEBHOOK_SCOPE,                                                     \
      "SELECT set_config('hubgate.tenant',"                                   \
      " COALESCE(integration_tenant($2::uuid, $1)::text, ''), true)")         \
                                                                              \
    X(DB_S_WEBHOOK_INTAKE,                                                    \
      "SELECT ord, event, duplicate, tenant FROM webhook_intake("           \
      "$1::text[], $2::text[]::uuid[], $3::text[], $4::text[], $5::bytea[])") \
                                                                              \
    X(DB_S_WEBHOOK_LIST,                                                      \
      "SELECT " DB_CURSOR_AT("e", "received_at") ","                          \
      " json_build_object('id', e.id, 'provider', e.provider,"                \
      " 'integration_id', e.integration_id, 'event_id', e.event_id,"          \
      " 'event_type', e.event_type, 'received_at', e.received_at,"            \
      " 'processed_at', e.processed_at, 'size', octet_length(e.body))"        \
      " FROM webhook_events e WHERE e.tenant_id = " DB_TENANT_UUID            \
      " AND ($1::bigint IS NULL OR (e.received_at, e.id) < (timestamptz"      \
      "     'epoch' + $1::bigint * interval '1 microsecond', $2::uuid))"      \
      " AND ($3::text IS NULL OR e.provider = $3)"                            \
      " AND ($4::uuid IS NULL OR e.integration_id = $4::uuid)"                \
      " ORDER BY e.received_at DESC, e.id DESC LIMIT $5::int")                \
                                                                              \
    X(DB_S_WHSEC_LIVE,                                                        \
      "SELECT sealed FROM credentials WHERE tenant_id = " DB_TENANT_UUID      \
      " AND integration_id = $1::uuid AND purpose = 'webhook_secret'"         \
      " AND (valid_until IS NULL OR valid_until > now())"                     \
      " ORDER BY created_at DESC, id DESC LIMIT 16")                          \
                                                                              \
    X(DB_S_WHSEC_OVERLAP,                                                     \
      "UPDATE credentials SET valid_until = LEAST(valid_until,"               \
      " now() + $2::int * interval '1 second'), updated_at = now()"           \
      " WHERE tenant_id = " DB_TENANT_UUID " AND integration_id = $1::uuid"   \
      " AND purpose = 'webhook_secret'"                                       \
      " AND (valid_until IS NULL OR valid_until > now())")                    \
                                                                              \
    X(DB_S_WHSEC_PURGE,                                                       \
      "DELETE FROM credentials WHERE tenant_id = " DB_TENANT_UUID             \
      " AND integration_id = $1::uuid AND purpose = 'webhook_secret'"         \
      " AND ($2::bool OR valid_until <= now())")                              \
                                                                              \
    X(DB_S_WHSEC_META,                                                        \
      "SELECT json_build_object('integration_id', i.id, 'secrets',"           \
      " COALESCE((SELECT json_agg(json_build_object('created_at', "           \
      "   c.created_at,"                                                      \
      "   'valid_until', c.valid_until) ORDER BY"                             \
      "   c.created_at DESC, c.id DESC)"                                      \
      "   FROM credentials c WHERE c.integration_id = i.id"                   \
      "   AND c.purpose = 'webhook_secret'"                                   \
      "   AND (c.valid_until IS NULL OR c.valid_until > now())), '[]'))"      \
      " FROM integrations i WHERE i.tenant_id = " DB_TENANT_UUID              \
      " AND i.id = $1::uuid")                                                 \
                                                                              \
    X(DB_S_PING,                                                              \
      "SELECT 1")                                                             \
    DB_STMTS_QUEUE(X)                                                         \
    DB_STMTS_OAUTH(X)                                                         \
    DB_STMTS_SYNC(X)                                                          \
    DB_STMTS_INVOICE(X)


#define DB_STMT_ENUM(id, sql)  id,

typedef enum {
    DB_STMTS(DB_STMT_ENUM)
    DB_S_COUNT
} db_stmt_e;

#undef DB_STMT_ENUM


#endif /* DB_STMTS_H */
