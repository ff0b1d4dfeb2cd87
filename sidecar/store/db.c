
/*
 * hubgated: the PostgreSQL pool (see db.h).
 */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "../log.h"


struct db_conn_s {
    PGconn      *pg;
    int          busy;
    int          broken;
    char         sqlstate[6];
};


typedef struct {
    const char  *name;
    const char  *sql;
} db_stmt_t;


#define DB_STMT_ENTRY(id, sql)  { #id, sql },

static const db_stmt_t  db_stmts[] = { DB_STMTS(DB_STMT_ENTRY) };

#undef DB_STMT_ENTRY


static pthread_mutex_t  db_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t   db_free_cond;
static db_conn_t       *db_conns;
static int              db_size;
static char            *db_conninfo;
static db_pool_stats_t  db_st;


static int db_open(db_conn_t *c, char *err, size_t errlen);
static int db_prepare(db_conn_t *c, char *err, size_t errlen);
static void db_err(char *err, size_t errlen, const char *what, PGconn *pg,
    const PGresult *res);
static void db_fail(db_conn_t *c, const char *what, PGresult *res,
    char *err, size_t errlen);
static int db_begin_scope(db_conn_t *c, db_stmt_e stmt, int nparams,
    const char *const *values, char tenant[DB_UUID_LEN + 1], char *err,
    size_t errlen);


int
db_pool_init(const char *conninfo, int size, char *err, size_t errlen)
{
    pthread_condattr_t  ca;

    db_conns = calloc(size, sizeof(db_conn_t));
    db_conninfo = strdup(conninfo);

    if (db_conns == NULL || db_conninfo == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&db_free_cond, &ca);
    pthread_condattr_destroy(&ca);

    db_size = size;
    db_st.size = size;

    return 0;
}


void
db_pool_set_conninfo(const char *conninfo)
{
    char  *old, *copy;

    copy = strdup(conninfo);
    if (copy == NULL) {
        return;
    }

    pthread_mutex_lock(&db_lock);
    old = db_conninfo;
    db_conninfo = copy;
    pthread_mutex_unlock(&db_lock);

    if (old) {
        explicit_bzero(old, strlen(old));
        free(old);
    }
}


void
db_pool_close(void)
{
    int  i;

    pthread_mutex_lock(&db_lock);

    for (i = 0; i < db_size; i++) {
        if (db_conns[i].pg) {
            PQfinish(db_conns[i].pg);
            db_conns[i].pg = NULL;
        }
    }

    db_st.open = 0;
    pthread_mutex_unlock(&db_lock);
}


void
db_pool_stats(db_pool_stats_t *st)
{
    pthread_mutex_lock(&db_lock);
    *st = db_st;
    pthread_mutex_unlock(&db_lock);
}


int
db_pool_size(void)
{
    return db_size;             /* fixed at db_pool_init */
}


db_conn_t *
db_acquire(int timeout_ms, char *err, size_t errlen)
{
    int              i, waited;
    db_conn_t       *c;
    struct timespec  until;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long) (timeout_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }

    waited = 0;
    c = NULL;

    pthread_mutex_lock(&db_lock);

    for ( ;; ) {
        /* an open idle connection first, then any idle slot */
        for (i = 0; i < db_size; i++) {
            if (!db_conns[i].busy && db_conns[i].pg && !db_conns[i].broken) {
                c = &db_conns[i];
                break;
            }
        }

        if (c == NULL) {
            for (i = 0; i < db_size; i++) {
                if (!db_conns[i].busy) {
                    c = &db_conns[i];
                    break;
                }
            }
        }

        if (c != NULL) {
            break;
        }

        waited = 1;

        if (pthread_cond_timedwait(&db_free_cond, &db_lock, &until)
            == ETIMEDOUT)
        {
            db_st.timeouts++;
            pthread_mutex_unlock(&db_lock);
            snprintf(err, errlen, "no database connection free within %d ms",
                     timeout_ms);
            return NULL;
        }
    }

    c->busy = 1;
    db_st.in_use++;
    db_st.acquired++;
    db_st.waited += waited;
    pthread_mutex_unlock(&db_lock);

    if (c->pg && (c->broken || PQstatus(c->pg) != CONNECTION_OK)) {
        PQfinish(c->pg);
        c->pg = NULL;
        __atomic_fetch_sub(&db_st.open, 1, __ATOMIC_RELAXED);
    }

    c->broken = 0;

    if (c->pg == NULL && db_open(c, err, errlen) != 0) {
        db_release(c);
        return NULL;
    }

    c->sqlstate[0] = '\0';
    return c;
}


void
db_release(db_conn_t *c)
{
    /* a connection left inside a transaction is not reusable as it is */
    if (c->pg && PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
        c->broken = 1;
    }

    pthread_mutex_lock(&db_lock);
    c->busy = 0;
    db_st.in_use--;
    pthread_cond_signal(&db_free_cond);
    pthread_mutex_unlock(&db_lock);
}


PGconn *
db_pg(db_conn_t *c)
{
    return c->pg;
}


static int
db_open(db_conn_t *c, char *err, size_t errlen)
{
    char      *ci;

    pthread_mutex_lock(&db_lock);
    ci = strdup(db_conninfo);
    pthread_mutex_unlock(&db_lock);

    if (ci == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    c->pg = db_connect(ci, err, errlen);
    explicit_bzero(ci, strlen(ci));
    free(ci);

    if (c->pg == NULL) {
        __atomic_fetch_add(&db_st.connect_errors, 1, __ATOMIC_RELAXED);
        return -1;
    }

    if (db_prepare(c, err, errlen) != 0) {
        PQfinish(c->pg);
        c->pg = NULL;
        return -1;
    }

    __atomic_fetch_add(&db_st.open, 1, __ATOMIC_RELAXED);
    return 0;
}


static int
db_prepare(db_conn_t *c, char *err, size_t errlen)
{
    size_t     i, n;
    PGresult  *res;

    for (i = 0; i < sizeof(db_stmts) / sizeof(db_stmts[0]); i++) {
        res = PQprepare(c->pg, db_stmts[i].name, db_stmts[i].sql, 0, NULL);

        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            db_err(err, errlen, db_stmts[i].name, c->pg, res);
            PQclear(res);

            /* an old schema is the usual cause: say what to do */
            n = strlen(err);
            snprintf(err + n, errlen - n, " (is the schema current? run"
                     " `hubgated migrate`)");
            return -1;
        }

        PQclear(res);
    }

    return 0;
}


db_conn_t *
db_wrap(PGconn *pg, char *err, size_t errlen)
{
    db_conn_t  *c;

    c = calloc(1, sizeof(db_conn_t));
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    c->pg = pg;

    if (db_prepare(c, err, errlen) != 0) {
        free(c);
        return NULL;
    }

    return c;
}


void
db_unwrap(db_conn_t *c)
{
    free(c);
}


PGconn *
db_connect(const char *conninfo, char *err, size_t errlen)
{
    char       *msg, *nl;
    PGconn     *pg;
    PGresult   *res;

    pg = PQconnectdb(conninfo);

    if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
        msg = pg ? PQerrorMessage(pg) : "out of memory";
        snprintf(err, errlen, "cannot connect to PostgreSQL: %s", msg);
        nl = strchr(err, '\n');
        if (nl) {
            *nl = '\0';
        }
        PQfinish(pg);
        return NULL;
    }

    /* statements never hang a request thread for long */
    res = PQexec(pg, "SET TimeZone = 'UTC'; SET statement_timeout = '30s';"
                     " SET idle_in_transaction_session_timeout = '60s'");
    PQclear(res);

    return pg;
}


PGresult *
db_exec(db_conn_t *c, db_stmt_e stmt, int nparams, const char *const *values,
    char *err, size_t errlen)
{
    return db_execb(c, stmt, nparams, values, NULL, NULL, err, errlen);
}


PGresult *
db_execb(db_conn_t *c, db_stmt_e stmt, int nparams, const char *const *values,
    const int *lengths, const int *formats, char *err, size_t errlen)
{
    const char      *state;
    PGresult        *res;
    ExecStatusType   st;

    res = PQexecPrepared(c->pg, db_stmts[stmt].name, nparams, values,
                         lengths, formats, 0);
    st = PQresultStatus(res);

    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        return res;
    }

    state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(c->sqlstate, sizeof(c->sqlstate), "%s", state ? state : "");
    db_fail(c, db_stmts[stmt].name, res, err, errlen);

    return NULL;
}


const char *
db_sqlstate(db_conn_t *c)
{
    return c->sqlstate;
}


int
db_command(db_conn_t *c, const char *sql, char *err, size_t errlen)
{
    PGresult  *res;

    res = PQexec(c->pg, sql);

    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        db_fail(c, sql, res, err, errlen);
        return -1;
    }

    PQclear(res);
    return 0;
}


int
db_begin_tenant(db_conn_t *c, const char *slug, char tenant[DB_UUID_LEN + 1],
    char *err, size_t errlen)
{
    return db_begin_scope(c, DB_S_TENANT_SCOPE, 1, &slug, tenant, err,
                          errlen);
}


int
db_begin_tenant_id(db_conn_t *c, const char *tenant_id, char *err,
    size_t errlen)
{
    char  tenant[DB_UUID_LEN + 1];

    return db_begin_scope(c, DB_S_TENANT_ID_SCOPE, 1, &tenant_id, tenant,
                          err, errlen);
}


int
db_begin_integration(db_conn_t *c, const char *provider,
    const char *integration, char tenant[DB_UUID_LEN + 1], char *err,
    size_t errlen)
{
    const char  *v[2];

    v[0] = provider;
    v[1] = integration;

    return db_begin_scope(c, DB_S_WEBHOOK_SCOPE, 2, v, tenant, err, errlen);
}


/*
 * BEGIN and the tenant scope go out together in one pipeline: one round
 * trip instead of two on every request.  stmt sets hubgate.tenant and
 * returns it: a uuid, or '' when its parameters name no tenant.
 */
static int
db_begin_scope(db_conn_t *c, db_stmt_e stmt, int nparams,
    const char *const *values, char tenant[DB_UUID_LEN + 1], char *err,
    size_t errlen)
{
    int          rc, step;
    PGresult    *res;
    const char  *v;

    if (PQenterPipelineMode(c->pg) != 1
        || PQsendQueryParams(c->pg, "BEGIN", 0, NULL, NULL, NULL, NULL, 0)
           != 1
        || PQsendQueryPrepared(c->pg, db_stmts[stmt].name, nparams, values,
                               NULL, NULL, 0) != 1
        || PQpipelineSync(c->pg) != 1)
    {
        db_err(err, errlen, "BEGIN", c->pg, NULL);
        c->broken = 1;
        PQexitPipelineMode(c->pg);
        return -1;
    }

    /* BEGIN's result, NULL, the scope's result, NULL, the sync */
    rc = 0;
    tenant[0] = '\0';

    for (step = 0; step < 5; step++) {
        res = PQgetResult(c->pg);

        if (step == 1 || step == 3) {
            PQclear(res);           /* the NULL that ends each query */
            continue;
        }

        if (res == NULL) {
            db_err(err, errlen, "BEGIN", c->pg, NULL);
            rc = -1;
            break;
        }

        if (step == 4) {
            PQclear(res);           /* PGRES_PIPELINE_SYNC */
            break;
        }

        if (PQresultStatus(res) != (step == 0 ? PGRES_COMMAND_OK
                                              : PGRES_TUPLES_OK))
        {
            if (rc == 0) {
                db_err(err, errlen, step ? "tenant scope" : "BEGIN", c->pg,
                       res);
            }
            rc = -1;

        } else if (step == 2) {
            v = PQgetvalue(res, 0, 0);
            if (strlen(v) == DB_UUID_LEN) {
                memcpy(tenant, v, DB_UUID_LEN + 1);
            } else {
                rc = 1;
            }
        }

        PQclear(res);
    }

    if (PQexitPipelineMode(c->pg) != 1 || PQstatus(c->pg) != CONNECTION_OK) {
        if (rc == 0) {
            db_err(err, errlen, "BEGIN", c->pg, NULL);
        }
        c->broken = 1;
        return -1;
    }

    if (rc != 0) {
        db_rollback(c);
    }

    return rc;
}


int
db_commit(db_conn_t *c, char *err, size_t errlen)
{
    PGresult  *res;

    res = PQexec(c->pg, "COMMIT");

    /* COMMIT of a failed transaction reports ROLLBACK as its command tag */
    if (PQresultStatus(res) != PGRES_COMMAND_OK
        || strcmp(PQcmdStatus(res), "COMMIT") != 0)
    {
        db_fail(c, "COMMIT", res, err, errlen);
        return -1;
    }

    PQclear(res);
    return 0;
}


void
db_rollback(db_conn_t *c)
{
    PGresult  *res;

    if (PQtransactionStatus(c->pg) == PQTRANS_IDLE) {
        return;
    }

    res = PQexec(c->pg, "ROLLBACK");
    PQclear(res);
}


/* a failed command: the reason in err, res cleared, a lost link noted */
static void
db_fail(db_conn_t *c, const char *what, PGresult *res, char *err,
    size_t errlen)
{
    db_err(err, errlen, what, c->pg, res);
    PQclear(res);

    if (PQstatus(c->pg) != CONNECTION_OK) {
        c->broken = 1;
    }
}


static void
db_err(char *err, size_t errlen, const char *what, PGconn *pg,
    const PGresult *res)
{
    char        *nl;
    const char  *msg;

    msg = res ? PQresultErrorMessage(res) : NULL;
    if (msg == NULL || *msg == '\0') {
        msg = PQerrorMessage(pg);
    }

    snprintf(err, errlen, "%s: %s", what, msg);
    nl = strchr(err, '\n');
    if (nl) {
        *nl = '\0';
    }
}
