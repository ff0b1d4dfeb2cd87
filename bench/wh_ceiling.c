/*
 * hubgate webhook bench: the ceiling of durable intake.
 *
 *   wh_ceiling CONNINFO CONNS SECONDS TENANT INTEGRATION BODYFILE PREFIX
 *
 * CONNS threads, one libpq connection each (autocommit), insert rows into
 * webhook_events as fast as PostgreSQL commits them, for SECONDS: one
 * prepared INSERT per row, each its own transaction, the same columns and
 * body bytes that hubgated's intake writes (without its job row: this is
 * the plain table's ceiling).  Event ids are PREFIX-<thread>-<n>, so every
 * row is new.  The connection scopes itself to TENANT
 * (set_config('hubgate.tenant'), as hubgated does) so row-level security
 * applies as to hubgated.  The clock starts when every thread has
 * connected and prepared.
 *
 * Prints one line bench/webhook.sh parses:
 *   HGCEIL inserts=N errors=N duration_us=N
 * and the first error, if any, on stderr.  Exit 0 when it ran (errors
 * are counted, not fatal), 1 when a connection could not be set up.
 */

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


typedef struct {
    int         n;
    PGconn     *conn;
    long long   inserts;
    long long   errors;
} worker_t;


static const char  *conninfo, *tenant, *integration, *prefix;
static char        *body;
static int          body_len;
static double       seconds;

static pthread_barrier_t  start_line;
static struct timespec    t_start;
static atomic_int         first_error;


static double
now_s(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static int
setup(worker_t *w)
{
    PGresult    *res;
    const char  *v[1];

    w->conn = PQconnectdb(conninfo);
    if (PQstatus(w->conn) != CONNECTION_OK) {
        fprintf(stderr, "wh_ceiling: connect: %s", PQerrorMessage(w->conn));
        return -1;
    }

    v[0] = tenant;
    res = PQexecParams(w->conn, "SELECT set_config('hubgate.tenant', $1,"
                       " false)", 1, NULL, v, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "wh_ceiling: set_config: %s",
                PQerrorMessage(w->conn));
        PQclear(res);
        return -1;
    }
    PQclear(res);

    res = PQprepare(w->conn, "ins", "INSERT INTO webhook_events (tenant_id,"
                    " provider, integration_id, event_id, event_type, body)"
                    " VALUES ($1::uuid, 'stripe', $2::uuid, $3,"
                    " 'invoice.paid', $4)", 4, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        fprintf(stderr, "wh_ceiling: prepare: %s", PQerrorMessage(w->conn));
        PQclear(res);
        return -1;
    }
    PQclear(res);

    return 0;
}


static void *
run(void *arg)
{
    worker_t    *w = arg;
    char         id[128];
    double       end;
    PGresult    *res;
    const char  *v[4];
    int          lens[4] = { 0, 0, 0, 0 };
    int          fmts[4] = { 0, 0, 0, 1 };
    long long    i;

    pthread_barrier_wait(&start_line);

    end = now_s() + seconds;
    v[0] = tenant;
    v[1] = integration;
    v[2] = id;
    v[3] = body;
    lens[3] = body_len;

    for (i = 0; now_s() < end; i++) {
        snprintf(id, sizeof(id), "%s-%d-%lld", prefix, w->n, i);

        res = PQexecPrepared(w->conn, "ins", 4, v, lens, fmts, 0);

        if (PQresultStatus(res) == PGRES_COMMAND_OK) {
            w->inserts++;

        } else {
            w->errors++;
            if (atomic_exchange(&first_error, 1) == 0) {
                fprintf(stderr, "wh_ceiling: insert: %s",
                        PQerrorMessage(w->conn));
            }
        }

        PQclear(res);
    }

    return NULL;
}


int
main(int argc, char **argv)
{
    int              conns, i;
    long             size;
    FILE            *f;
    worker_t        *ws;
    pthread_t       *ts;
    struct timespec  t_end;
    long long        inserts = 0, errors = 0, us;

    if (argc != 8) {
        fprintf(stderr, "usage: wh_ceiling CONNINFO CONNS SECONDS TENANT"
                " INTEGRATION BODYFILE PREFIX\n");
        return 2;
    }

    conninfo = argv[1];
    conns = atoi(argv[2]);
    seconds = atof(argv[3]);
    tenant = argv[4];
    integration = argv[5];
    prefix = argv[7];

    if (conns < 1 || conns > 1024 || seconds <= 0) {
        fprintf(stderr, "wh_ceiling: CONNS 1..1024, SECONDS > 0\n");
        return 2;
    }

    f = fopen(argv[6], "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        perror(argv[6]);
        return 1;
    }
    body = malloc(size + 1);
    if (body == NULL || fread(body, 1, size, f) != (size_t) size) {
        perror(argv[6]);
        return 1;
    }
    fclose(f);
    body_len = (int) size;

    ws = calloc(conns, sizeof(*ws));
    ts = calloc(conns, sizeof(*ts));
    if (ws == NULL || ts == NULL) {
        perror("calloc");
        return 1;
    }

    for (i = 0; i < conns; i++) {
        ws[i].n = i;
        if (setup(&ws[i]) != 0) {
            return 1;
        }
    }

    pthread_barrier_init(&start_line, NULL, conns + 1);

    for (i = 0; i < conns; i++) {
        if (pthread_create(&ts[i], NULL, run, &ws[i]) != 0) {
            perror("pthread_create");
            return 1;
        }
    }

    pthread_barrier_wait(&start_line);
    clock_gettime(CLOCK_MONOTONIC, &t_start);

    for (i = 0; i < conns; i++) {
        pthread_join(ts[i], NULL);
        inserts += ws[i].inserts;
        errors += ws[i].errors;
        PQfinish(ws[i].conn);
    }

    clock_gettime(CLOCK_MONOTONIC, &t_end);
    us = (t_end.tv_sec - t_start.tv_sec) * 1000000LL
         + (t_end.tv_nsec - t_start.tv_nsec) / 1000;

    printf("HGCEIL inserts=%lld errors=%lld duration_us=%lld\n", inserts,
           errors, us);

    return 0;
}
