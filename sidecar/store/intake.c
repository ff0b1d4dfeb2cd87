
/*
 * hubgated: group commit of webhook intake (intake.h).
 */

#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intake.h"
#include "../log.h"
#include "../metrics.h"


#define INTAKE_WAIT_MS    5000          /* for a pooled connection */

/* PostgreSQL type oids of the binary array parameters */
#define INTAKE_OID_TEXT   25
#define INTAKE_OID_BYTEA  17


static void intake_commit(intake_event_t **group, size_t n);
static int intake_exec(intake_event_t **group, size_t n);
static void intake_fail(intake_event_t **group, size_t n,
    intake_status_e status, const char *err);
static int intake_result(intake_event_t **group, size_t n, PGresult *res);
static int intake_cmp(const void *a, const void *b);
static char *intake_array(intake_event_t **group, size_t n, int field,
    int *len);
static const char *intake_field(const intake_event_t *ev, int field,
    size_t *len);


static pthread_mutex_t   intake_lock = PTHREAD_MUTEX_INITIALIZER;
static intake_event_t   *intake_head;
static intake_event_t   *intake_tail;
static int               intake_leading;    /* groups being committed */


/*
 * Each waiting thread sleeps on its own event's condition: a leader wakes
 * exactly the threads whose events it committed, and the thread of the
 * oldest queued event to lead the next group; nobody else wakes.
 */
void
intake_record(intake_event_t *ev)
{
    int              max;
    size_t           i, n, bytes;
    intake_event_t  *group[INTAKE_GROUP_MAX];

    ev->next = NULL;
    ev->done = 0;
    pthread_cond_init(&ev->cond, NULL);

    /* a quarter of the pool commits groups; the rest serves other routes */
    max = db_pool_size() / 4;
    if (max < 1) {
        max = 1;
    }

    pthread_mutex_lock(&intake_lock);

    if (intake_tail != NULL) {
        intake_tail->next = ev;
    } else {
        intake_head = ev;
    }

    intake_tail = ev;

    while (!ev->done) {

        if (intake_head == NULL || intake_leading >= max) {
            pthread_cond_wait(&ev->cond, &intake_lock);
            continue;
        }

        /* lead: every queued event, within the group's bounds */
        n = 0;
        bytes = 0;

        while (intake_head != NULL && n < INTAKE_GROUP_MAX
               && (n == 0
                   || bytes + intake_head->body_len <= INTAKE_GROUP_BYTES))
        {
            bytes += intake_head->body_len;
            group[n++] = intake_head;
            intake_head = intake_head->next;
        }

        if (intake_head == NULL) {
            intake_tail = NULL;
        }

        intake_leading++;
        pthread_mutex_unlock(&intake_lock);

        intake_commit(group, n);

        pthread_mutex_lock(&intake_lock);
        intake_leading--;

        for (i = 0; i < n; i++) {
            group[i]->done = 1;

            if (group[i] != ev) {
                pthread_cond_signal(&group[i]->cond);
            }
        }

        /* what queued meanwhile: its oldest event's thread leads */
        if (intake_head != NULL && intake_head != ev) {
            pthread_cond_signal(&intake_head->cond);
        }
    }

    pthread_mutex_unlock(&intake_lock);

    pthread_cond_destroy(&ev->cond);
}


static void
intake_commit(intake_event_t **group, size_t n)
{
    size_t  i;

    qsort(group, n, sizeof(intake_event_t *), intake_cmp);
    metrics_intake_group(n);

    if (intake_exec(group, n) == 0 || n == 1) {
        return;
    }

    /* one event the group could not take fails alone */
    log_event(LOG_WARN, "intake", "msg", group[0]->err, "retry",
              "event by event", NULL);

    for (i = 0; i < n; i++) {
        (void) intake_exec(&group[i], 1);
    }
}


/*
 * One call of webhook_intake() for the group.  Returns 0 when every event
 * has its status (stored, duplicate, not found; or unavailable, which a
 * retry event by event would not change), -1 when the call failed on a
 * live connection (every event FAILED).
 */
static int
intake_exec(intake_event_t **group, size_t n)
{
    int          f, tries, rc, lens[5], fmts[5];
    char         err[512], *values[5];
    PGresult    *res;
    db_conn_t   *c;

    memset(values, 0, sizeof(values));

    for (f = 0; f < 5; f++) {
        values[f] = intake_array(group, n, f, &lens[f]);
        fmts[f] = 1;

        if (values[f] == NULL) {
            intake_fail(group, n, INTAKE_FAILED, "out of memory");
            rc = -1;
            goto done;
        }
    }

    for (tries = 0; ; tries++) {
        c = db_acquire(INTAKE_WAIT_MS, err, sizeof(err));

        if (c == NULL) {
            intake_fail(group, n, INTAKE_UNAVAILABLE, err);
            rc = 0;
            goto done;
        }

        res = db_execb(c, DB_S_WEBHOOK_INTAKE, 5, (const char **) values,
                       lens, fmts, err, sizeof(err));

        if (res != NULL || PQstatus(db_pg(c)) == CONNECTION_OK
            || tries >= db_pool_size())
        {
            break;
        }

        /* the server closed it: another connection reconnects */
        log_event(LOG_WARN, "database", "msg", err, "retry",
                  "on another connection", NULL);
        db_release(c);
    }

    if (res == NULL) {
        rc = PQstatus(db_pg(c)) == CONNECTION_OK ? -1 : 0;
        intake_fail(group, n, rc ? INTAKE_FAILED : INTAKE_UNAVAILABLE, err);
        db_release(c);
        goto done;
    }

    rc = intake_result(group, n, res);
    PQclear(res);
    db_release(c);

done:

    for (f = 0; f < 5; f++) {
        free(values[f]);
    }

    return rc;
}


static void
intake_fail(intake_event_t **group, size_t n, intake_status_e status,
    const char *err)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        group[i]->status = status;
        snprintf(group[i]->err, sizeof(group[i]->err), "%s", err);
    }
}


/* rows (ord, event, duplicate, tenant), one per event by position */
static int
intake_result(intake_event_t **group, size_t n, PGresult *res)
{
    int              i, ord;
    size_t           seen;
    intake_event_t  *ev;

    if ((size_t) PQntuples(res) != n || PQnfields(res) != 4) {
        intake_fail(group, n, INTAKE_FAILED,
                    "webhook_intake() answered a row count other than the"
                    " group's");
        return -1;
    }

    seen = 0;

    for (i = 0; i < PQntuples(res); i++) {
        ord = atoi(PQgetvalue(res, i, 0));

        if (ord < 1 || (size_t) ord > n) {
            continue;
        }

        ev = group[ord - 1];
        seen++;

        if (PQgetisnull(res, i, 1)) {
            ev->status = INTAKE_NOT_FOUND;
            continue;
        }

        snprintf(ev->id, sizeof(ev->id), "%s", PQgetvalue(res, i, 1));
        snprintf(ev->tenant, sizeof(ev->tenant), "%s", PQgetvalue(res, i, 3));
        ev->status = strcmp(PQgetvalue(res, i, 2), "t") == 0
                     ? INTAKE_DUPLICATE : INTAKE_STORED;
    }

    if (seen != n) {
        intake_fail(group, n, INTAKE_FAILED,
                    "webhook_intake() answered an unknown position");
        return -1;
    }

    return 0;
}


/* the order in which groups lock unique keys */
static int
intake_cmp(const void *a, const void *b)
{
    int                    rc;
    const intake_event_t  *x, *y;

    x = *(const intake_event_t *const *) a;
    y = *(const intake_event_t *const *) b;

    rc = strcmp(x->provider, y->provider);
    if (rc == 0) {
        rc = strcmp(x->integration, y->integration);
    }
    if (rc == 0) {
        rc = strcmp(x->event_id, y->event_id);
    }

    return rc;
}


/*
 * A one-dimensional array in PostgreSQL's binary format (array_recv):
 * ndim, has-nulls, element oid, length and lower bound, then each element
 * as a length (-1: NULL) and its bytes; integers in network order.  text
 * elements for every field but the body (bytea); the SQL casts the
 * integrations to uuid[].  malloc'ed.
 */
static char *
intake_array(intake_event_t **group, size_t n, int field, int *len)
{
    char         *buf, *p;
    size_t        i, size, l;
    uint32_t      w[5], e;
    const char   *v;

    size = sizeof(w);

    for (i = 0; i < n; i++) {
        (void) intake_field(group[i], field, &l);
        size += 4 + l;
    }

    if (size > INT32_MAX) {
        return NULL;
    }

    buf = malloc(size);
    if (buf == NULL) {
        return NULL;
    }

    w[0] = htonl(1);
    w[1] = htonl(field == 3 ? 1 : 0);       /* event types may be NULL */
    w[2] = htonl(field == 4 ? INTAKE_OID_BYTEA : INTAKE_OID_TEXT);
    w[3] = htonl((uint32_t) n);
    w[4] = htonl(1);
    memcpy(buf, w, sizeof(w));
    p = buf + sizeof(w);

    for (i = 0; i < n; i++) {
        v = intake_field(group[i], field, &l);
        e = v ? htonl((uint32_t) l) : htonl(UINT32_MAX);
        memcpy(p, &e, 4);
        p += 4;

        if (v != NULL) {
            memcpy(p, v, l);
            p += l;
        }
    }

    *len = (int) (p - buf);

    return buf;
}


/* field 0 provider, 1 integration, 2 event id, 3 type (or NULL), 4 body */
static const char *
intake_field(const intake_event_t *ev, int field, size_t *len)
{
    const char  *v;

    switch (field) {
    case 0:
        v = ev->provider;
        break;
    case 1:
        v = ev->integration;
        break;
    case 2:
        v = ev->event_id;
        break;
    case 3:
        v = ev->event_type;
        break;
    default:
        *len = ev->body_len;
        return ev->body ? ev->body : "";
    }

    *len = v ? strlen(v) : 0;

    return v;
}
