
/*
 * hubgated: the job queue (see queue.h).
 *
 * Threads, each with a connection of its own (none from the API pool):
 *   workers    claim one job at a time, run its handler, finish it;
 *   listener   LISTEN hubgate_jobs, wakes idle workers on a notification
 *              and after every (re)connection, when some may be missed;
 *   heartbeat  renews this instance's leases every lease / 3 and raises
 *              job->cancelled for the jobs asked to stop;
 *   scheduler  enqueues due syncs and runs the tick hooks.
 * One mutex and one condition variable (monotonic clock) serve them all:
 * wake-ups are generation counters, so a wake between a worker's empty
 * claim and its sleep is never lost.
 *
 * Ownership: the registry tables hold borrowed kinds and functions; each
 * thread owns its connection (db_wrap'ed, PQfinish'ed by the thread); a
 * claimed job_t lives on its worker's stack, and its payload is owned by
 * the worker (json_decref after the finish).  The heartbeat reaches a
 * running job only through queue_worker_t.job, under queue.lock.
 */

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "queue.h"
#include "../clock.h"
#include "../log.h"


#define QUEUE_KINDS_MAX    32
#define QUEUE_OWNER_LEN    320
#define QUEUE_IDLE_MS      1000     /* an idle worker looks every second */
#define QUEUE_MIN_NAP_MS   20       /* due jobs all locked by others */
#define QUEUE_RETRY_MS     1000     /* reconnection backoff */
#define QUEUE_LISTEN_POLL  500      /* listener checks for stop */
#define QUEUE_DUE_LIMIT    "100"    /* integrations per scheduler pass */
#define QUEUE_SLEEP_STEP   10       /* test.sleep: ms between checks */


typedef struct {
    const char      *kind;
    job_handler_pt   handler;
} queue_kind_t;


typedef struct {
    pthread_t    tid;
    int          n;
    int          started;
    char         owner[QUEUE_OWNER_LEN];
    db_conn_t   *db;                /* NULL while disconnected */
    job_t       *job;               /* the running job, under queue.lock */
    uint64_t     rnd;               /* jitter: xorshift64 state */
} queue_worker_t;


static struct {
    pthread_mutex_t   lock;
    pthread_cond_t    cond;
    int               inited;

    /* under lock */
    uint64_t          work_gen;         /* workers: something to claim */
    uint64_t          tick_gen;         /* scheduler: the clock moved */
    int               stopping;         /* no more claims, ticks, LISTEN */
    int               beat_stop;        /* heartbeat: after the workers */
    int               workers_alive;
    int               running;

    /* set by queue_start, read-only afterwards */
    char             *conninfo;
    char              instance[256];
    int               nworkers;
    queue_worker_t   *workers;
    pthread_t         listener, heartbeat, scheduler;
    int               listener_started, heartbeat_started;
    int               scheduler_started;

    atomic_llong      lease_ms;
    atomic_llong      scheduler_ms;

    queue_kind_t      kinds[QUEUE_KINDS_MAX];
    int               nkinds;
    queue_tick_pt     ticks[QUEUE_TICKS_MAX];
    int               nticks;

    atomic_ullong     claimed, done, retried, dead, cancelled, lost;
} queue = {
    .lock = PTHREAD_MUTEX_INITIALIZER
};


static const int64_t  queue_backoff[] = {
    1000, 60 * 1000, 5 * 60 * 1000, 15 * 60 * 1000, 60 * 60 * 1000,
    4 * 60 * 60 * 1000
};


static void queue_init_once(void);
static void queue_deadline(struct timespec *ts, int64_t ms);
static int queue_nap(int64_t ms, const int *flag);
static db_conn_t *queue_connect(char *err, size_t errlen);
static void queue_disconnect(db_conn_t **c);
static int queue_broken(db_conn_t *c);
static int queue_ensure(db_conn_t **c, const char *who, int *logged);
static job_handler_pt queue_lookup(const char *kind);
static void *queue_worker_main(void *arg);
static int queue_claim(queue_worker_t *w, job_t *job);
static int64_t queue_idle_ms(queue_worker_t *w);
static void queue_run(queue_worker_t *w, job_t *job);
static void queue_finish(queue_worker_t *w, job_t *job, job_result_e rc);
static int queue_finish_exec(queue_worker_t *w, job_t *job, db_stmt_e stmt,
    int n, const char *const *v);
static void queue_log_job(int level, const char *event, const job_t *job,
    const char *k1, const char *v1, const char *k2, const char *v2);
static void *queue_listener_main(void *arg);
static void *queue_heartbeat_main(void *arg);
static void *queue_scheduler_main(void *arg);
static void queue_wake_workers(void);
static uint64_t queue_random(queue_worker_t *w);
static job_result_e queue_noop(job_t *job, db_conn_t *db);
static job_result_e queue_test_fail_handler(job_t *job, db_conn_t *db);
static job_result_e queue_test_sleep(job_t *job, db_conn_t *db);


/* ------------------------------------------------------------------ */
/* pure parts: backoff, jitter, the test clock's body, test.fail       */


int64_t
queue_backoff_ms(int attempt)
{
    size_t  n;

    n = sizeof(queue_backoff) / sizeof(queue_backoff[0]);

    if (attempt < 1) {
        return queue_backoff[0];
    }

    if ((size_t) attempt > n) {
        return queue_backoff[n - 1];
    }

    return queue_backoff[attempt - 1];
}


int64_t
queue_jitter_ms(int64_t d, uint64_t r)
{
    if (d <= 0) {
        return 0;
    }

    /* d is at most hours: d * 1100 stays far below INT64_MAX */
    return d * (int64_t) (900 + r % 201) / 1000;
}


int
queue_advance_parse(const json_t *body, int64_t *ms, char *err,
    size_t errlen)
{
    json_int_t   n;
    const char  *key;
    json_t      *v, *value;

    if (!json_is_object(body)) {
        snprintf(err, errlen, "the body must be a JSON object");
        return -1;
    }

    json_object_foreach((json_t *) body, key, value) {
        if (strcmp(key, "advance_seconds") != 0) {
            snprintf(err, errlen, "unknown member (only advance_seconds)");
            return -1;
        }
    }

    v = json_object_get(body, "advance_seconds");

    if (!json_is_integer(v)) {
        snprintf(err, errlen, "advance_seconds must be an integer from 0"
                 " to %lld", QUEUE_ADVANCE_MAX_S);
        return -1;
    }

    n = json_integer_value(v);

    if (n < 0 || n > QUEUE_ADVANCE_MAX_S) {
        snprintf(err, errlen, "advance_seconds must be an integer from 0"
                 " to %lld", QUEUE_ADVANCE_MAX_S);
        return -1;
    }

    *ms = (int64_t) n * 1000;
    return 0;
}


job_result_e
queue_test_fail(job_t *job)
{
    json_int_t   times, after;
    const char  *outcome;
    json_t      *v;

    v = json_object_get(job->payload, "times");
    times = json_is_integer(v) ? json_integer_value(v) : 1;

    if (job->attempts > times) {
        return JOB_DONE;
    }

    snprintf(job->error, sizeof(job->error), "test failure %d",
             job->attempts);

    outcome = json_string_value(json_object_get(job->payload, "outcome"));

    if (outcome != NULL && strcmp(outcome, "fail") == 0) {
        return JOB_FAIL;
    }

    if (outcome != NULL && strcmp(outcome, "retry_after") == 0) {
        v = json_object_get(job->payload, "retry_after_ms");
        after = json_is_integer(v) ? json_integer_value(v) : 0;

        /* a day at most: a provider's Retry-After is seconds to hours */
        if (after < 0) {
            after = 0;

        } else if (after > 24 * 3600 * 1000LL) {
            after = 24 * 3600 * 1000LL;
        }

        job->retry_after_ms = after;
        return JOB_RETRY_AFTER;
    }

    return JOB_RETRY;
}


/* ------------------------------------------------------------------ */
/* registry                                                            */


static void
queue_init_once(void)
{
    pthread_condattr_t  attr;

    /* under queue.lock */
    if (queue.inited) {
        return;
    }

    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&queue.cond, &attr);
    pthread_condattr_destroy(&attr);

    atomic_store(&queue.lease_ms, 30000);
    atomic_store(&queue.scheduler_ms, 10000);
    queue.inited = 1;
}


int
queue_register(const char *kind, job_handler_pt handler)
{
    int  i, rc;

    if (kind == NULL || handler == NULL || strlen(kind) >= 64) {
        return -1;
    }

    pthread_mutex_lock(&queue.lock);

    rc = 0;

    for (i = 0; i < queue.nkinds; i++) {
        if (strcmp(queue.kinds[i].kind, kind) == 0) {
            rc = -1;
        }
    }

    if (rc == 0 && queue.nkinds < QUEUE_KINDS_MAX) {
        queue.kinds[queue.nkinds].kind = kind;
        queue.kinds[queue.nkinds].handler = handler;
        queue.nkinds++;

    } else {
        rc = -1;
    }

    pthread_mutex_unlock(&queue.lock);

    return rc;
}


int
queue_register_tick(queue_tick_pt fn)
{
    int  rc;

    if (fn == NULL) {
        return -1;
    }

    pthread_mutex_lock(&queue.lock);

    rc = -1;
    if (queue.nticks < QUEUE_TICKS_MAX) {
        queue.ticks[queue.nticks++] = fn;
        rc = 0;
    }

    pthread_mutex_unlock(&queue.lock);

    return rc;
}


/* the test kinds exist only while the test clock is on */
static job_handler_pt
queue_lookup(const char *kind)
{
    int             i;
    job_handler_pt  h;

    if (strcmp(kind, "noop") == 0) {
        return queue_noop;
    }

    if (clock_test_enabled()) {
        if (strcmp(kind, "test.fail") == 0) {
            return queue_test_fail_handler;
        }

        if (strcmp(kind, "test.sleep") == 0) {
            return queue_test_sleep;
        }
    }

    h = NULL;

    pthread_mutex_lock(&queue.lock);

    for (i = 0; i < queue.nkinds; i++) {
        if (strcmp(queue.kinds[i].kind, kind) == 0) {
            h = queue.kinds[i].handler;
            break;
        }
    }

    pthread_mutex_unlock(&queue.lock);

    return h;
}


static job_result_e
queue_noop(job_t *job, db_conn_t *db)
{
    return JOB_DONE;
}


static job_result_e
queue_test_fail_handler(job_t *job, db_conn_t *db)
{
    return queue_test_fail(job);
}


static job_result_e
queue_test_sleep(job_t *job, db_conn_t *db)
{
    json_int_t       ms;
    json_t          *v;
    struct timespec  step;

    v = json_object_get(job->payload, "ms");
    ms = json_is_integer(v) ? json_integer_value(v) : 0;

    step.tv_sec = 0;
    step.tv_nsec = QUEUE_SLEEP_STEP * 1000000L;

    while (ms > 0) {
        if (atomic_load(&job->cancelled)) {
            return JOB_CANCELLED;
        }

        nanosleep(&step, NULL);
        ms -= QUEUE_SLEEP_STEP;
    }

    return atomic_load(&job->cancelled) ? JOB_CANCELLED : JOB_DONE;
}


/* ------------------------------------------------------------------ */
/* time, naps and connections                                          */


static void
queue_deadline(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);

    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;

    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}


/* sleeps ms or until *flag (read under the lock) is set; returns *flag */
static int
queue_nap(int64_t ms, const int *flag)
{
    int              rc, stop;
    struct timespec  until;

    queue_deadline(&until, ms);

    pthread_mutex_lock(&queue.lock);

    rc = 0;
    while (!*flag && rc != ETIMEDOUT) {
        rc = pthread_cond_timedwait(&queue.cond, &queue.lock, &until);
    }

    stop = *flag;
    pthread_mutex_unlock(&queue.lock);

    return stop;
}


static db_conn_t *
queue_connect(char *err, size_t errlen)
{
    PGconn     *pg;
    db_conn_t  *c;

    pg = db_connect(queue.conninfo, err, errlen);
    if (pg == NULL) {
        return NULL;
    }

    c = db_wrap(pg, err, errlen);
    if (c == NULL) {
        PQfinish(pg);
        return NULL;
    }

    return c;
}


static void
queue_disconnect(db_conn_t **c)
{
    PGconn  *pg;

    if (*c == NULL) {
        return;
    }

    pg = db_pg(*c);
    db_unwrap(*c);
    PQfinish(pg);
    *c = NULL;
}


static int
queue_broken(db_conn_t *c)
{
    return c == NULL || PQstatus(db_pg(c)) != CONNECTION_OK;
}


/*
 * A working connection in *c: reconnects a broken one.  Returns 0, or -1
 * (logged once per outage through *logged) when PostgreSQL refused.
 */
static int
queue_ensure(db_conn_t **c, const char *who, int *logged)
{
    char  err[512];

    if (*c != NULL && !queue_broken(*c)) {
        return 0;
    }

    queue_disconnect(c);

    *c = queue_connect(err, sizeof(err));

    if (*c == NULL) {
        if (!*logged) {
            log_event(LOG_WARN, "queue_db_down", "thread", who, "msg", err,
                      NULL);
            *logged = 1;
        }
        return -1;
    }

    if (*logged) {
        log_event(LOG_INFO, "queue_db_back", "thread", who, NULL);
        *logged = 0;
    }

    return 0;
}


static uint64_t
queue_random(queue_worker_t *w)
{
    w->rnd ^= w->rnd << 13;
    w->rnd ^= w->rnd >> 7;
    w->rnd ^= w->rnd << 17;

    return w->rnd;
}


/* ------------------------------------------------------------------ */
/* workers                                                             */


static void *
queue_worker_main(void *arg)
{
    int               rc, down, timed;
    job_t             job;
    int64_t           idle;
    uint64_t          gen;
    struct timespec   until;
    queue_worker_t   *w;

    w = arg;
    down = 0;

    for ( ;; ) {
        pthread_mutex_lock(&queue.lock);
        gen = queue.work_gen;
        rc = queue.stopping;
        pthread_mutex_unlock(&queue.lock);

        if (rc) {
            break;
        }

        if (queue_ensure(&w->db, w->owner, &down) != 0) {
            queue_nap(QUEUE_RETRY_MS, &queue.stopping);
            continue;
        }

        rc = queue_claim(w, &job);

        if (rc > 0) {
            queue_run(w, &job);
            continue;
        }

        idle = rc == 0 ? queue_idle_ms(w) : QUEUE_RETRY_MS;

        /* NOTIFY, queue_wake or queue_stop end the nap early */
        queue_deadline(&until, idle);
        pthread_mutex_lock(&queue.lock);

        timed = 0;
        while (!queue.stopping && queue.work_gen == gen && !timed) {
            timed = pthread_cond_timedwait(&queue.cond, &queue.lock, &until)
                    == ETIMEDOUT;
        }

        pthread_mutex_unlock(&queue.lock);
    }

    queue_disconnect(&w->db);

    pthread_mutex_lock(&queue.lock);
    queue.workers_alive--;
    pthread_cond_broadcast(&queue.cond);
    pthread_mutex_unlock(&queue.lock);

    return NULL;
}


/* 1 and *job (payload owned by the caller), 0 when none is ready, -1 */
static int
queue_claim(queue_worker_t *w, job_t *job)
{
    char          err[512], lease[24], now[CLOCK_ISO_LEN];
    PGresult     *res;
    json_error_t  jerr;
    const char   *v[3];

    snprintf(lease, sizeof(lease), "%lld",
             (long long) atomic_load(&queue.lease_ms));
    clock_iso(clock_now_ms(), now);

    v[0] = w->owner;
    v[1] = lease;
    v[2] = now;

    res = db_exec(w->db, DB_S_Q_CLAIM, 3, v, err, sizeof(err));
    if (res == NULL) {
        log_event(LOG_WARN, "job_claim_failed", "owner", w->owner, "msg",
                  err, NULL);
        return -1;
    }

    if (PQntuples(res) != 1) {
        PQclear(res);
        return 0;
    }

    memset(job, 0, sizeof(*job));
    job->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    snprintf(job->tenant, sizeof(job->tenant), "%s", PQgetvalue(res, 0, 1));
    snprintf(job->integration, sizeof(job->integration), "%s",
             PQgetvalue(res, 0, 2));
    snprintf(job->kind, sizeof(job->kind), "%s", PQgetvalue(res, 0, 3));
    job->payload = json_loads(PQgetvalue(res, 0, 4), JSON_DECODE_ANY, &jerr);
    job->attempts = (int) strtol(PQgetvalue(res, 0, 5), NULL, 10);
    job->max_attempts = (int) strtol(PQgetvalue(res, 0, 6), NULL, 10);
    atomic_init(&job->cancelled, 0);

    /* a kind longer than job_t holds matches no handler: dead, as unknown */
    if (PQgetlength(res, 0, 3) >= (int) sizeof(job->kind)) {
        job->kind[sizeof(job->kind) - 2] = '~';
    }

    PQclear(res);

    atomic_fetch_add(&queue.claimed, 1);

    if (log_enabled(LOG_DEBUG)) {
        char  a[16];

        snprintf(a, sizeof(a), "%d", job->attempts);
        queue_log_job(LOG_DEBUG, "job_claimed", job, "attempt", a, "owner",
                      w->owner);
    }

    return 1;
}


/* how long an idle worker sleeps: until the earliest run_at, at most 1 s */
static int64_t
queue_idle_ms(queue_worker_t *w)
{
    char       err[512];
    int64_t    at, d;
    PGresult  *res;

    res = db_exec(w->db, DB_S_Q_NEXT, 0, NULL, err, sizeof(err));
    if (res == NULL) {
        return QUEUE_IDLE_MS;
    }

    d = QUEUE_IDLE_MS;

    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
        at = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        d = at - clock_now_ms();
    }

    PQclear(res);

    if (d < QUEUE_MIN_NAP_MS) {
        return QUEUE_MIN_NAP_MS;
    }

    return d < QUEUE_IDLE_MS ? d : QUEUE_IDLE_MS;
}


static void
queue_run(queue_worker_t *w, job_t *job)
{
    job_result_e    rc;
    job_handler_pt  h;

    h = queue_lookup(job->kind);

    pthread_mutex_lock(&queue.lock);
    w->job = job;
    queue.running++;
    pthread_mutex_unlock(&queue.lock);

    if (h == NULL) {
        snprintf(job->error, sizeof(job->error), "unknown job kind");
        rc = JOB_FAIL;

    } else if (job->payload == NULL) {
        snprintf(job->error, sizeof(job->error), "payload is not JSON");
        rc = JOB_FAIL;

    } else {
        rc = h(job, w->db);
    }

    pthread_mutex_lock(&queue.lock);
    w->job = NULL;
    queue.running--;
    pthread_mutex_unlock(&queue.lock);

    /* a handler that left its transaction open must not keep it */
    if (!queue_broken(w->db)
        && PQtransactionStatus(db_pg(w->db)) != PQTRANS_IDLE)
    {
        db_rollback(w->db);
    }

    queue_finish(w, job, rc);

    json_decref(job->payload);
    job->payload = NULL;
}


static void
queue_finish(queue_worker_t *w, job_t *job, job_result_e rc)
{
    int64_t      delay;
    char         id[24], at[CLOCK_ISO_LEN], a[16], d[24];
    const char  *v[4];

    snprintf(id, sizeof(id), "%lld", (long long) job->id);
    snprintf(a, sizeof(a), "%d", job->attempts);
    v[0] = id;
    v[1] = w->owner;

    if ((rc == JOB_RETRY || rc == JOB_RETRY_AFTER)
        && job->attempts >= job->max_attempts)
    {
        rc = JOB_FAIL;
    }

    if (rc != JOB_DONE && rc != JOB_CANCELLED && job->error[0] == '\0') {
        snprintf(job->error, sizeof(job->error), "failed");
    }

    switch (rc) {

    case JOB_DONE:
        if (queue_finish_exec(w, job, DB_S_Q_DONE, 2, v) == 0) {
            atomic_fetch_add(&queue.done, 1);
            if (log_enabled(LOG_DEBUG)) {
                queue_log_job(LOG_DEBUG, "job_done", job, "attempts", a,
                              "owner", w->owner);
            }
        }
        return;

    case JOB_RETRY:
    case JOB_RETRY_AFTER:
        if (rc == JOB_RETRY) {
            delay = queue_jitter_ms(queue_backoff_ms(job->attempts),
                                    queue_random(w));
        } else {
            delay = job->retry_after_ms > 0 ? job->retry_after_ms : 0;
        }

        clock_iso(clock_now_ms() + delay, at);
        v[2] = at;
        v[3] = job->error;

        if (queue_finish_exec(w, job, DB_S_Q_RETRY, 4, v) == 0) {
            atomic_fetch_add(&queue.retried, 1);
            snprintf(d, sizeof(d), "%lld", (long long) delay);
            log_event(LOG_INFO, "job_retry", "job", id, "kind", job->kind,
                      "tenant", job->tenant, "attempts", a, "delay_ms", d,
                      "run_at", at, "error", job->error, NULL);
        }
        return;

    case JOB_CANCELLED:
        if (queue_finish_exec(w, job, DB_S_Q_CANCELLED, 2, v) == 0) {
            atomic_fetch_add(&queue.cancelled, 1);
            queue_log_job(LOG_INFO, "job_cancelled", job, "attempts", a,
                          NULL, NULL);
        }
        return;

    default:
        v[2] = job->error;

        if (queue_finish_exec(w, job, DB_S_Q_DEAD, 3, v) == 0) {
            atomic_fetch_add(&queue.dead, 1);
            log_event(LOG_WARN, "job_dead", "job", id, "kind", job->kind,
                      "tenant", job->tenant, "attempts", a, "error",
                      job->error, NULL);
        }
        return;
    }
}


/*
 * Runs a finishing statement; after a lost connection it reconnects and
 * runs it again (the owner check makes that harmless) until it went
 * through or the queue stops.  0 when the row was ours and changed.
 */
static int
queue_finish_exec(queue_worker_t *w, job_t *job, db_stmt_e stmt, int n,
    const char *const *v)
{
    int        ok, down;
    char       err[512], id[24];
    PGresult  *res;

    down = 0;
    snprintf(id, sizeof(id), "%lld", (long long) job->id);

    for ( ;; ) {
        if (queue_ensure(&w->db, w->owner, &down) == 0) {
            res = db_exec(w->db, stmt, n, v, err, sizeof(err));

            if (res != NULL) {
                ok = PQntuples(res) == 1
                     && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
                PQclear(res);

                if (!ok) {
                    atomic_fetch_add(&queue.lost, 1);
                    log_event(LOG_WARN, "job_lease_lost", "job", id, "kind",
                              job->kind, "tenant", job->tenant, "owner",
                              w->owner, NULL);
                    return -1;
                }

                return 0;
            }

            if (!queue_broken(w->db)) {
                log_event(LOG_ERROR, "job_finish_failed", "job", id, "kind",
                          job->kind, "tenant", job->tenant, "msg", err,
                          NULL);
                return -1;
            }
        }

        if (queue_nap(QUEUE_RETRY_MS, &queue.beat_stop)) {
            log_event(LOG_WARN, "job_finish_abandoned", "job", id, "kind",
                      job->kind, "msg", "stopping: its lease will expire",
                      NULL);
            return -1;
        }
    }
}


static void
queue_log_job(int level, const char *event, const job_t *job,
    const char *k1, const char *v1, const char *k2, const char *v2)
{
    char  id[24];

    snprintf(id, sizeof(id), "%lld", (long long) job->id);

    log_event(level, event, "job", id, "kind", job->kind, "tenant",
              job->tenant, k1, v1, k2, v2, NULL);
}


/* ------------------------------------------------------------------ */
/* listener, heartbeat, scheduler                                      */


static void
queue_wake_workers(void)
{
    pthread_mutex_lock(&queue.lock);
    queue.work_gen++;
    pthread_cond_broadcast(&queue.cond);
    pthread_mutex_unlock(&queue.lock);
}


void
queue_wake(void)
{
    pthread_mutex_lock(&queue.lock);
    queue.work_gen++;
    queue.tick_gen++;
    pthread_cond_broadcast(&queue.cond);
    pthread_mutex_unlock(&queue.lock);
}


static void *
queue_listener_main(void *arg)
{
    int              rc, got, down;
    char             err[512];
    PGconn          *pg;
    PGresult        *res;
    PGnotify        *nt;
    struct pollfd    pfd;

    pg = NULL;
    down = 0;

    for ( ;; ) {
        pthread_mutex_lock(&queue.lock);
        rc = queue.stopping;
        pthread_mutex_unlock(&queue.lock);

        if (rc) {
            break;
        }

        if (pg == NULL) {
            pg = db_connect(queue.conninfo, err, sizeof(err));

            if (pg != NULL) {
                res = PQexec(pg, "LISTEN hubgate_jobs");
                if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                    snprintf(err, sizeof(err), "LISTEN: %s",
                             PQresultErrorMessage(res));
                    PQfinish(pg);
                    pg = NULL;
                }
                PQclear(res);
            }

            if (pg == NULL) {
                if (!down) {
                    log_event(LOG_WARN, "queue_listen_down", "msg", err,
                              NULL);
                    down = 1;
                }
                queue_nap(QUEUE_RETRY_MS, &queue.stopping);
                continue;
            }

            if (down) {
                log_event(LOG_INFO, "queue_listen_back", NULL);
                down = 0;
            }

            /* notifications sent while we were away are lost: look now */
            queue_wake_workers();
        }

        pfd.fd = PQsocket(pg);
        pfd.events = POLLIN;
        pfd.revents = 0;

        rc = poll(&pfd, 1, QUEUE_LISTEN_POLL);

        if (rc < 0 && errno != EINTR) {
            PQfinish(pg);
            pg = NULL;
            continue;
        }

        if (rc <= 0) {
            continue;
        }

        if (PQconsumeInput(pg) != 1 || PQstatus(pg) != CONNECTION_OK) {
            log_event(LOG_WARN, "queue_listen_lost", "msg", "the LISTEN"
                      " connection broke: reconnecting", NULL);
            down = 1;
            PQfinish(pg);
            pg = NULL;
            continue;
        }

        got = 0;
        while ((nt = PQnotifies(pg)) != NULL) {
            PQfreemem(nt);
            got = 1;
        }

        if (got) {
            queue_wake_workers();
        }
    }

    PQfinish(pg);

    return NULL;
}


static void *
queue_heartbeat_main(void *arg)
{
    int          i, j, n, down, running;
    char         err[512], lease[24];
    int64_t      id, ms;
    PGresult    *res;
    db_conn_t   *db;
    const char  *v[2];

    db = NULL;
    down = 0;

    for ( ;; ) {
        ms = atomic_load(&queue.lease_ms) / 3;

        if (queue_nap(ms, &queue.beat_stop)) {
            break;
        }

        pthread_mutex_lock(&queue.lock);
        running = queue.running;
        pthread_mutex_unlock(&queue.lock);

        if (running == 0 || queue_ensure(&db, "heartbeat", &down) != 0) {
            continue;
        }

        snprintf(lease, sizeof(lease), "%lld",
                 (long long) atomic_load(&queue.lease_ms));
        v[0] = queue.instance;
        v[1] = lease;

        res = db_exec(db, DB_S_Q_RENEW, 2, v, err, sizeof(err));
        if (res == NULL) {
            log_event(LOG_WARN, "queue_heartbeat_failed", "msg", err, NULL);
            continue;
        }

        n = PQntuples(res);

        pthread_mutex_lock(&queue.lock);

        for (i = 0; i < n; i++) {
            id = strtoll(PQgetvalue(res, i, 0), NULL, 10);

            for (j = 0; j < queue.nworkers; j++) {
                if (queue.workers[j].job != NULL
                    && queue.workers[j].job->id == id)
                {
                    atomic_store(&queue.workers[j].job->cancelled, 1);
                }
            }
        }

        pthread_mutex_unlock(&queue.lock);
        PQclear(res);
    }

    queue_disconnect(&db);

    return NULL;
}


static void *
queue_scheduler_main(void *arg)
{
    int               i, n, down, stop, timed;
    char              err[512], now[CLOCK_ISO_LEN];
    int64_t           ms;
    uint64_t          gen;
    PGresult         *res;
    db_conn_t        *db;
    const char       *v[2];
    struct timespec   until;

    db = NULL;
    down = 0;

    pthread_mutex_lock(&queue.lock);
    gen = queue.tick_gen;
    pthread_mutex_unlock(&queue.lock);

    for ( ;; ) {
        queue_deadline(&until, atomic_load(&queue.scheduler_ms));

        pthread_mutex_lock(&queue.lock);

        timed = 0;
        while (!queue.stopping && queue.tick_gen == gen && !timed) {
            timed = pthread_cond_timedwait(&queue.cond, &queue.lock, &until)
                    == ETIMEDOUT;
        }

        gen = queue.tick_gen;
        stop = queue.stopping;
        pthread_mutex_unlock(&queue.lock);

        if (stop) {
            break;
        }

        if (queue_ensure(&db, "scheduler", &down) != 0) {
            continue;
        }

        ms = clock_now_ms();
        clock_iso(ms, now);
        v[0] = now;
        v[1] = QUEUE_DUE_LIMIT;

        res = db_exec(db, DB_S_Q_DUE_SYNCS, 2, v, err, sizeof(err));

        if (res == NULL) {
            log_event(LOG_WARN, "scheduler_failed", "msg", err, NULL);

        } else {
            n = PQntuples(res) == 1 ? atoi(PQgetvalue(res, 0, 0)) : 0;
            PQclear(res);

            if (n > 0) {
                snprintf(err, sizeof(err), "%d", n);
                log_event(LOG_INFO, "syncs_scheduled", "count", err, NULL);
            }
        }

        for (i = 0; i < queue.nticks; i++) {
            if (queue_broken(db)) {
                break;
            }

            queue.ticks[i](db, ms);

            if (!queue_broken(db)
                && PQtransactionStatus(db_pg(db)) != PQTRANS_IDLE)
            {
                db_rollback(db);
            }
        }
    }

    queue_disconnect(&db);

    return NULL;
}


/* ------------------------------------------------------------------ */
/* lifecycle                                                           */


int
queue_start(const queue_conf_t *qc, char *err, size_t errlen)
{
    int              i, rc;
    char             host[200];
    queue_worker_t  *w;

    if (qc->workers < 1 || qc->workers > QUEUE_WORKERS_MAX
        || qc->conninfo == NULL || qc->lease_ms < 3)
    {
        snprintf(err, errlen, "queue: worker_threads must be 1 to %d and"
                 " job_lease at least 3 ms", QUEUE_WORKERS_MAX);
        return -1;
    }

    pthread_mutex_lock(&queue.lock);
    queue_init_once();
    rc = queue.workers != NULL;
    pthread_mutex_unlock(&queue.lock);

    if (rc) {
        snprintf(err, errlen, "queue: started already");
        return -1;
    }

    queue.conninfo = strdup(qc->conninfo);
    queue.workers = calloc((size_t) qc->workers, sizeof(queue_worker_t));

    if (queue.conninfo == NULL || queue.workers == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    if (qc->instance != NULL && qc->instance[0] != '\0') {
        snprintf(queue.instance, sizeof(queue.instance), "%s", qc->instance);

    } else {
        if (gethostname(host, sizeof(host)) != 0) {
            snprintf(host, sizeof(host), "localhost");
        }
        host[sizeof(host) - 1] = '\0';
        snprintf(queue.instance, sizeof(queue.instance), "%s:%ld", host,
                 (long) getpid());
    }

    atomic_store(&queue.lease_ms, qc->lease_ms);
    atomic_store(&queue.scheduler_ms, qc->scheduler_ms > 0
                                      ? qc->scheduler_ms : 10000);
    queue.nworkers = qc->workers;
    queue.stopping = 0;
    queue.beat_stop = 0;

    for (i = 0; i < qc->workers; i++) {
        w = &queue.workers[i];
        w->n = i;
        snprintf(w->owner, sizeof(w->owner), "%s:%d", queue.instance, i);
        w->rnd = ((uint64_t) clock_now_ms() << 20) ^ ((uint64_t) getpid()
                 << 8) ^ (uint64_t) (i + 1) * 0x9e3779b97f4a7c15ULL;
        if (w->rnd == 0) {
            w->rnd = 1;
        }
    }

    if (pthread_create(&queue.listener, NULL, queue_listener_main, NULL)
        != 0)
    {
        goto failed;
    }
    queue.listener_started = 1;

    if (pthread_create(&queue.heartbeat, NULL, queue_heartbeat_main, NULL)
        != 0)
    {
        goto failed;
    }
    queue.heartbeat_started = 1;

    if (pthread_create(&queue.scheduler, NULL, queue_scheduler_main, NULL)
        != 0)
    {
        goto failed;
    }
    queue.scheduler_started = 1;

    for (i = 0; i < qc->workers; i++) {
        pthread_mutex_lock(&queue.lock);
        queue.workers_alive++;
        pthread_mutex_unlock(&queue.lock);

        if (pthread_create(&queue.workers[i].tid, NULL, queue_worker_main,
                           &queue.workers[i])
            != 0)
        {
            pthread_mutex_lock(&queue.lock);
            queue.workers_alive--;
            pthread_mutex_unlock(&queue.lock);
            goto failed;
        }

        queue.workers[i].started = 1;
    }

    log_event(LOG_INFO, "queue_started", "instance", queue.instance, NULL);

    return 0;

failed:

    snprintf(err, errlen, "queue: cannot start a thread: %s",
             strerror(errno));
    queue_stop(0);
    return -1;
}


void
queue_reconfigure(int64_t lease_ms, int64_t scheduler_ms)
{
    if (lease_ms >= 3) {
        atomic_store(&queue.lease_ms, lease_ms);
    }

    if (scheduler_ms > 0) {
        atomic_store(&queue.scheduler_ms, scheduler_ms);
    }

    queue_wake();
}


void
queue_stop(int64_t timeout_ms)
{
    int              i, left, rc;
    char             n[16];
    struct timespec  until;

    if (queue.workers == NULL) {
        return;
    }

    queue_deadline(&until, timeout_ms > 0 ? timeout_ms : 0);

    pthread_mutex_lock(&queue.lock);
    queue.stopping = 1;
    pthread_cond_broadcast(&queue.cond);

    rc = 0;
    while (queue.workers_alive > 0 && rc != ETIMEDOUT) {
        rc = pthread_cond_timedwait(&queue.cond, &queue.lock, &until);
    }

    left = queue.workers_alive;
    queue.beat_stop = 1;
    pthread_cond_broadcast(&queue.cond);
    pthread_mutex_unlock(&queue.lock);

    if (queue.listener_started) {
        pthread_join(queue.listener, NULL);
    }

    if (queue.scheduler_started) {
        pthread_join(queue.scheduler, NULL);
    }

    if (queue.heartbeat_started) {
        pthread_join(queue.heartbeat, NULL);
    }

    if (left > 0) {
        /* they hold their leases; the process ends under them */
        snprintf(n, sizeof(n), "%d", left);
        log_event(LOG_WARN, "queue_stopped", "still_running", n, "msg",
                  "their jobs are taken again when the leases expire", NULL);
        return;
    }

    for (i = 0; i < queue.nworkers; i++) {
        if (queue.workers[i].started) {
            pthread_join(queue.workers[i].tid, NULL);
        }
    }

    log_event(LOG_INFO, "queue_stopped", NULL);
}


void
queue_stats(queue_stats_t *st)
{
    st->claimed = atomic_load(&queue.claimed);
    st->done = atomic_load(&queue.done);
    st->retried = atomic_load(&queue.retried);
    st->dead = atomic_load(&queue.dead);
    st->cancelled = atomic_load(&queue.cancelled);
    st->lost = atomic_load(&queue.lost);

    pthread_mutex_lock(&queue.lock);
    st->running = queue.running;
    st->workers = queue.workers_alive;
    pthread_mutex_unlock(&queue.lock);
}


/* ------------------------------------------------------------------ */
/* inside the caller's tenant-scoped transaction                       */


int
queue_enqueue(db_conn_t *c, const char *kind, const char *integration,
    const char *payload, const char *unique_key, int64_t delay_ms,
    int64_t *id, char *err, size_t errlen)
{
    int          i;
    char         at[CLOCK_ISO_LEN];
    PGresult    *res;
    const char  *v[5];

    if (kind == NULL || kind[0] == '\0' || strlen(kind) >= 64) {
        snprintf(err, errlen, "queue_enqueue: a kind of 1 to 63 bytes");
        return -1;
    }

    clock_iso(clock_now_ms() + (delay_ms > 0 ? delay_ms : 0), at);

    v[0] = integration;
    v[1] = kind;
    v[2] = payload;
    v[3] = unique_key;
    v[4] = at;

    for (i = 0; i < 2; i++) {
        res = db_exec(c, DB_S_Q_ENQUEUE, 5, v, err, errlen);
        if (res == NULL) {
            return -1;
        }

        if (PQntuples(res) == 1) {
            *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
            PQclear(res);
            return 0;
        }

        PQclear(res);

        if (unique_key == NULL) {
            snprintf(err, errlen, "queue_enqueue: the insert returned no id");
            return -1;
        }

        res = db_exec(c, DB_S_Q_EXISTING, 1, &unique_key, err, errlen);
        if (res == NULL) {
            return -1;
        }

        if (PQntuples(res) == 1) {
            *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
            PQclear(res);
            return 1;
        }

        /* the active job ended in between: insert again */
        PQclear(res);
    }

    snprintf(err, errlen, "queue_enqueue: the job with that unique key keeps"
             " changing");
    return -1;
}


int
queue_cancel(db_conn_t *c, int64_t id, char *err, size_t errlen)
{
    int          rc;
    char         ids[24];
    PGresult    *res;
    const char  *v[1], *st;

    snprintf(ids, sizeof(ids), "%lld", (long long) id);
    v[0] = ids;

    res = db_exec(c, DB_S_Q_CANCEL, 1, v, err, errlen);
    if (res == NULL) {
        return -1;
    }

    rc = 2;

    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
        st = PQgetvalue(res, 0, 0);
        rc = strcmp(st, "cancelled") == 0 ? 0 : 1;
    }

    PQclear(res);

    return rc;
}


int
queue_sync_enqueue(db_conn_t *c, const char *integration,
    const char *trigger, const char *payload, char sync_id[DB_UUID_LEN + 1],
    int64_t *job_id, char *err, size_t errlen)
{
    int          rc;
    char         now[CLOCK_ISO_LEN];
    PGresult    *res;
    const char  *v[4];

    clock_iso(clock_now_ms(), now);

    v[0] = integration;
    v[1] = trigger;
    v[2] = payload;
    v[3] = now;

    res = db_exec(c, DB_S_Q_SYNC_ENQUEUE, 4, v, err, errlen);
    if (res == NULL) {
        return -1;
    }

    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        PQclear(res);
        snprintf(err, errlen, "sync_enqueue returned no sync");
        return -1;
    }

    snprintf(sync_id, DB_UUID_LEN + 1, "%s", PQgetvalue(res, 0, 0));
    *job_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    rc = strcmp(PQgetvalue(res, 0, 2), "t") == 0 ? 0 : 1;
    PQclear(res);

    return rc;
}
