
/*
 * hubgated: the PostgreSQL pool and its named statements.
 *
 * A fixed number of connections (database_pool_size), opened lazily and
 * re-opened after a failure.  Each connection prepares every statement of
 * db_stmts.h when it opens, so a request runs only named, prepared
 * statements (no SQL built from input).  A connection is held by one
 * thread between db_acquire and db_release.
 *
 * Tenant scope: db_begin_tenant opens a transaction and SET LOCALs
 * hubgate.tenant from the signed tenant slug (through tenant_id_by_slug),
 * so row-level security confines every statement of that transaction to
 * the tenant, WHERE clause or not.  A webhook carries no tenant:
 * db_begin_integration takes the tenant owning the integration instead.
 *
 * Return contract: int functions return 0 or -1; on -1 they write a one-line
 * reason to err (never the conninfo).  PGresult objects returned by db_exec
 * are owned by the caller (PQclear).
 */

#ifndef DB_H
#define DB_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "db_stmts.h"


#define DB_UUID_LEN  36


typedef struct db_conn_s  db_conn_t;

typedef struct {
    int        size;
    int        open;            /* connections currently connected */
    int        in_use;
    uint64_t   acquired;        /* total */
    uint64_t   waited;          /* acquisitions that had to wait */
    uint64_t   timeouts;        /* acquisitions that gave up */
    uint64_t   connect_errors;
} db_pool_stats_t;


/* size connections; conninfo copied (db_pool_set_conninfo replaces it) */
int db_pool_init(const char *conninfo, int size, char *err, size_t errlen);
void db_pool_set_conninfo(const char *conninfo);
void db_pool_close(void);
void db_pool_stats(db_pool_stats_t *st);
int db_pool_size(void);

/* waits up to timeout_ms for a free connection; NULL with err on failure */
db_conn_t *db_acquire(int timeout_ms, char *err, size_t errlen);
void db_release(db_conn_t *c);
PGconn *db_pg(db_conn_t *c);

/*
 * Runs a prepared statement with text parameters (NULL = SQL NULL) and
 * text results.  Returns the result, or NULL with err when it failed (the
 * result is cleared; db_sqlstate() has the SQLSTATE).  Marks the
 * connection broken if it was lost.
 */
PGresult *db_exec(db_conn_t *c, db_stmt_e stmt, int nparams,
    const char *const *values, char *err, size_t errlen);

/* the same with lengths and formats (1 = binary, for bytea) */
PGresult *db_execb(db_conn_t *c, db_stmt_e stmt, int nparams,
    const char *const *values, const int *lengths, const int *formats,
    char *err, size_t errlen);

/* SQLSTATE of the last failed db_exec on this connection, "" if none */
const char *db_sqlstate(db_conn_t *c);

/* plain commands: BEGIN, COMMIT, ROLLBACK (no input ever reaches them) */
int db_command(db_conn_t *c, const char *sql, char *err, size_t errlen);

/*
 * BEGIN, then scope the transaction to the tenant named by slug.  tenant
 * gets its uuid.  Returns 0, -1 on a database error, 1 when the slug names
 * no active tenant (the transaction is rolled back).
 */
int db_begin_tenant(db_conn_t *c, const char *slug,
    char tenant[DB_UUID_LEN + 1], char *err, size_t errlen);

/*
 * The same for a webhook, which names no tenant: the tenant is the one
 * owning the integration (uuid text) when its provider is provider.
 * Returns 1 when there is no such integration.
 */
int db_begin_integration(db_conn_t *c, const char *provider,
    const char *integration, char tenant[DB_UUID_LEN + 1], char *err,
    size_t errlen);

/*
 * The same for work that already knows the tenant's uuid (a job row):
 * BEGIN and SET LOCAL hubgate.tenant to it.  Returns 1 when no tenant has
 * that id (rolled back).
 */
int db_begin_tenant_id(db_conn_t *c, const char *tenant_id, char *err,
    size_t errlen);

/* COMMIT; -1 (and the transaction is gone) on failure */
int db_commit(db_conn_t *c, char *err, size_t errlen);

/* ROLLBACK, ignoring errors: for error paths */
void db_rollback(db_conn_t *c);

/*
 * Wraps a standalone connection (operator commands) so db_exec works on it:
 * prepares every statement.  The wrapper is freed by db_unwrap, which
 * leaves pg open (the caller PQfinish'es it).
 */
db_conn_t *db_wrap(PGconn *pg, char *err, size_t errlen);
void db_unwrap(db_conn_t *c);

/* a standalone connection for operator commands (caller PQfinish) */
PGconn *db_connect(const char *conninfo, char *err, size_t errlen);


#endif /* DB_H */
