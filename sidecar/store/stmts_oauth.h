
/*
 * hubgated: the statements of OAuth sessions, tokens and refresh
 * (sync/oauth.c).
 * Included by db_stmts.h, whose rules apply (named, prepared, tenant
 * scope by row-level security).
 *
 * Times go in as ISO text from clock_now_ms (the test clock moves them)
 * and come out as epoch milliseconds.  sealed columns come out as bytea
 * text (PQunescapeBytea); state hashes and sealed blobs go in binary.
 */

#ifndef STMTS_OAUTH_H
#define STMTS_OAUTH_H


#define DB_OAUTH_MS(col)                                                      \
    "(extract(epoch FROM " col ") * 1000)::bigint"

#define DB_STMTS_OAUTH(X)                                                     \
    X(DB_S_OAUTH_SESSION_INSERT,                                              \
      "INSERT INTO oauth_sessions (tenant_id, integration_id, state_hash,"    \
      " pkce_verifier_sealed, key_version, redirect_uri, expires_at)"        \
      " VALUES (" DB_TENANT_UUID ", $1::uuid, $2, $3, $4::int, $5,"           \
      " $6::timestamptz)")                                                    \
    X(DB_S_OAUTH_SESSION_RETIRE,                                              \
      "UPDATE oauth_sessions SET used_at = $2::timestamptz"                   \
      " WHERE tenant_id = " DB_TENANT_UUID " AND integration_id = $1::uuid"   \
      " AND used_at IS NULL")                                                 \
    X(DB_S_OAUTH_SESSION_CONSUME,                                             \
      "SELECT outcome, tenant_id, tenant_slug, integration_id, provider,"     \
      " pkce_verifier_sealed, redirect_uri"                                   \
      " FROM oauth_session_consume($1, $2::timestamptz)")                     \
    X(DB_S_OAUTH_INT_GET,                                                     \
      "SELECT provider, auth_mode, status, COALESCE(account_id, ''),"         \
      " COALESCE(display_name, '') FROM integrations"                         \
      " WHERE tenant_id = " DB_TENANT_UUID " AND id = $1::uuid")              \
    X(DB_S_OAUTH_INT_LOCK,                                                    \
      "SELECT provider, auth_mode, status FROM integrations"                  \
      " WHERE tenant_id = " DB_TENANT_UUID " AND id = $1::uuid FOR UPDATE")   \
    X(DB_S_OAUTH_ACTIVATE,                                                    \
      "UPDATE integrations SET status = 'active', account_id = $2,"           \
      " display_name = COALESCE(NULLIF($3, ''), display_name),"               \
      " last_error = NULL, last_error_at = NULL, health = 'healthy',"         \
      " consecutive_failures = 0, updated_at = now()"                         \
      " WHERE tenant_id = " DB_TENANT_UUID " AND id = $1::uuid")              \
    X(DB_S_OAUTH_INT_ERROR,                                                   \
      "UPDATE integrations SET last_error = $2, last_error_at = now(),"        \
      " status = COALESCE($3, status), updated_at = now()"                    \
      " WHERE tenant_id = " DB_TENANT_UUID " AND id = $1::uuid")              \
    X(DB_S_OAUTH_CRED_PUT,                                                    \
      "INSERT INTO credentials (tenant_id, integration_id, purpose, sealed,"  \
      " key_version, expires_at) VALUES (" DB_TENANT_UUID ", $1::uuid, $2,"   \
      " $3, $4::int, $5::timestamptz)"                                        \
      " ON CONFLICT (integration_id, purpose)"                                \
      " WHERE purpose <> 'webhook_secret' AND valid_until IS NULL"            \
      " DO UPDATE SET sealed = EXCLUDED.sealed,"                              \
      " key_version = EXCLUDED.key_version,"                                  \
      " expires_at = EXCLUDED.expires_at, updated_at = now()")                \
    X(DB_S_OAUTH_CRED_DROP,                                                   \
      "DELETE FROM credentials WHERE tenant_id = " DB_TENANT_UUID             \
      " AND integration_id = $1::uuid AND purpose = $2")                      \
    X(DB_S_OAUTH_CRED_GET,                                                    \
      "SELECT sealed, COALESCE(" DB_OAUTH_MS("expires_at") ", -1)"            \
      " FROM credentials WHERE tenant_id = " DB_TENANT_UUID                   \
      " AND integration_id = $1::uuid AND purpose = $2"                       \
      " AND valid_until IS NULL")                                             \
    X(DB_S_OAUTH_REFRESH_LOCK,                                                \
      "SELECT sealed FROM credentials WHERE tenant_id = " DB_TENANT_UUID      \
      " AND integration_id = $1::uuid AND purpose = 'refresh_token'"          \
      " AND valid_until IS NULL FOR UPDATE")


#endif /* STMTS_OAUTH_H */
