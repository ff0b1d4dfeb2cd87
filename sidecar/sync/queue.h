
/*
 * hubgated: the job queue (DESIGN §4, Sync engine).
 *
 * Jobs are rows of `jobs`.  worker_threads threads each own a database
 * connection of their own (not the API pool) and take jobs with
 * claim_jobs() (FOR UPDATE SKIP LOCKED), so any number of hubgated
 * instances share one queue and never run a job twice.  A listener
 * connection LISTENs on hubgate_jobs (NOTIFY on every insert or requeue)
 * and wakes an idle worker at once; otherwise workers look every second.
 * A heartbeat thread renews the leases of this instance's running jobs
 * every job_lease / 3 and raises job->cancelled when a job was cancelled;
 * a job whose lease ran out (its worker died) is claimed again.
 *
 * Outcomes (the handler's return):
 *   JOB_DONE         status done
 *   JOB_RETRY        transient: queued again after 1 s, 1 min, 5 min,
 *                    15 min, 1 h, 4 h (by attempt, ±10 % jitter); dead
 *                    after max_attempts, with last_error
 *   JOB_RETRY_AFTER  the provider said when (429 Retry-After): queued
 *                    again at job->retry_after_ms from now
 *   JOB_FAIL         permanent (a 4xx): dead at once, with last_error
 *   JOB_CANCELLED    the handler saw job->cancelled and stopped
 * A handler that crashes the process leaves its job running until its
 * lease expires; the next claim counts another attempt.
 *
 * Every schedule uses clock_now_ms() (the test clock), leases use the
 * database's now().
 */

#ifndef QUEUE_H
#define QUEUE_H

#include <stdatomic.h>
#include <stdint.h>

#include <jansson.h>

#include "../store/db.h"


typedef enum {
    JOB_DONE = 0,
    JOB_RETRY,
    JOB_RETRY_AFTER,
    JOB_FAIL,
    JOB_CANCELLED
} job_result_e;

typedef struct {
    int64_t       id;
    char          tenant[DB_UUID_LEN + 1];
    char          integration[DB_UUID_LEN + 1];   /* "" when none */
    char          kind[64];
    json_t       *payload;          /* borrowed for the handler's call */
    int           attempts;         /* this run included (1 on the first) */
    int           max_attempts;
    atomic_int    cancelled;        /* set by the heartbeat thread */

    /* set by the handler */
    char          error[512];       /* last_error: no secrets */
    int64_t       retry_after_ms;   /* JOB_RETRY_AFTER */
} job_t;

/*
 * A handler runs with db, a connection of the worker's own, outside any
 * transaction; it opens and commits its own (scoped with
 * db_begin_tenant_id to job->tenant).  It must return within its lease or
 * keep the heartbeat happy (the heartbeat thread does that for it).
 */
typedef job_result_e (*job_handler_pt)(job_t *job, db_conn_t *db);

/*
 * Before queue_start; kind is borrowed (a string literal), shorter than 64
 * bytes.  Returns 0; -1 when the table is full or kind is taken.
 * Built in: "noop" (JOB_DONE at once: benchmarks and tests) and, only
 * while clock_test_enabled(), "test.fail" (see queue_test_fail) and
 * "test.sleep" ({"ms": n}: sleeps, watching job->cancelled).  A job of a
 * kind nobody registered goes dead with last_error "unknown job kind".
 */
int queue_register(const char *kind, job_handler_pt handler);

/*
 * The scheduler's hooks: called on every tick (scheduler_interval, and
 * when queue_wake moved the clock) after the due syncs were enqueued,
 * with the scheduler's own connection (outside any transaction: a hook
 * commits what it opens) and clock_now_ms().  Before queue_start; at most
 * QUEUE_TICKS_MAX.  Returns 0, -1 when full.
 */
#define QUEUE_TICKS_MAX  8
typedef void (*queue_tick_pt)(db_conn_t *db, int64_t now_ms);
int queue_register_tick(queue_tick_pt fn);

typedef struct {
    const char  *conninfo;          /* database_url (copied) */
    int          workers;           /* worker_threads, 1..QUEUE_WORKERS_MAX */
    int64_t      lease_ms;          /* job_lease */
    int64_t      scheduler_ms;      /* scheduler_interval */
    const char  *instance;          /* "<host>:<pid>" (NULL: computed); a
                                       worker's lease owner is
                                       "<instance>:<n>" */
} queue_conf_t;

#define QUEUE_WORKERS_MAX  64

/* starts workers, listener, heartbeat and scheduler threads */
int queue_start(const queue_conf_t *qc, char *err, size_t errlen);
/* reload: lease and scheduler interval */
void queue_reconfigure(int64_t lease_ms, int64_t scheduler_ms);
/* wakes every idle worker and the scheduler (test clock moved) */
void queue_wake(void);
/* stops claiming, waits up to timeout_ms for running jobs, then returns
 * (jobs still running keep their lease and are taken again later) */
void queue_stop(int64_t timeout_ms);

/*
 * Inside the caller's tenant-scoped transaction: inserts a job of kind for
 * the tenant in scope.  integration may be NULL, payload is JSON text
 * (NULL = {}), unique_key may be NULL, delay_ms from clock_now_ms().
 * Returns 0 and *id; 1 and *id of the existing job when a queued or
 * running job has the same unique_key; -1 with err.
 */
int queue_enqueue(db_conn_t *c, const char *kind, const char *integration,
    const char *payload, const char *unique_key, int64_t delay_ms,
    int64_t *id, char *err, size_t errlen);

/*
 * Inside the caller's tenant-scoped transaction: cancels job id.  Returns
 * 0 when it was queued (now cancelled), 1 when it is running (the worker
 * is told through the heartbeat and its handler should return
 * JOB_CANCELLED), 2 when there is no queued or running job with that id
 * in the tenant; -1 with err.
 */
int queue_cancel(db_conn_t *c, int64_t id, char *err, size_t errlen);

/*
 * Inside the caller's tenant-scoped transaction: a sync run of the
 * integration (trigger "manual", "schedule" or "webhook") and the "sync"
 * job carrying it; its payload is payload (JSON object text, NULL = {})
 * plus "sync_id".  Manual and scheduled syncs are one at a time per
 * integration.  Returns 0 (created) or 1 (one was queued or running: its
 * ids) with sync_id and *job_id; -1 with err.
 */
int queue_sync_enqueue(db_conn_t *c, const char *integration,
    const char *trigger, const char *payload, char sync_id[DB_UUID_LEN + 1],
    int64_t *job_id, char *err, size_t errlen);

/* the retry delay after attempt n (1-based) before jitter, in ms */
int64_t queue_backoff_ms(int attempt);

/* d with ±10 % jitter from r (any random value): d * (900..1100) / 1000 */
int64_t queue_jitter_ms(int64_t d, uint64_t r);

/*
 * The test clock's body {"advance_seconds": n}: 0 and *ms when n is an
 * integer from 0 to QUEUE_ADVANCE_MAX_S; -1 with a message in err.
 */
#define QUEUE_ADVANCE_MAX_S  (10LL * 366 * 24 * 3600)
int queue_advance_parse(const json_t *body, int64_t *ms, char *err,
    size_t errlen);

/*
 * The payload of the built-in kind "test.fail" ({"outcome": "retry" |
 * "fail" | "retry_after", "retry_after_ms": n, "times": k}) for attempt:
 * JOB_DONE once attempt > times, else the outcome with job->error and
 * retry_after_ms set.  Pure: the fuzz target calls it.
 */
job_result_e queue_test_fail(job_t *job);

/* statistics for /metrics */
typedef struct {
    uint64_t  claimed, done, retried, dead, cancelled;
    uint64_t  lost;                 /* finishes refused: lease taken over */
    int       running;
    int       workers;
} queue_stats_t;
void queue_stats(queue_stats_t *st);


#endif /* QUEUE_H */
