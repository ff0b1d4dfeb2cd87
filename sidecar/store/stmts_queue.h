
/*
 * hubgated: the statements of the job queue, the scheduler and the test
 * clock (sync/queue.c).  Included by db_stmts.h, whose rules apply (named,
 * prepared, tenant scope by row-level security).
 *
 * The cross-tenant ones (claim, renew, finish, next, due syncs) call the
 * SECURITY DEFINER functions of sql/009_queue.sql, in autocommit; enqueue,
 * cancel and sync enqueue run inside the caller's tenant-scoped
 * transaction.  Times are ISO text from clock_iso (hubgated's clock),
 * durations milliseconds.
 */

#ifndef STMTS_QUEUE_H
#define STMTS_QUEUE_H


#define DB_QUEUE_ACTIVE  "status IN ('queued', 'running')"

#define DB_STMTS_QUEUE(X)                                                     \
    X(DB_S_Q_CLAIM,                                                           \
      "SELECT id, tenant_id, COALESCE(integration_id::text, ''), kind,"       \
      " payload, attempts, max_attempts FROM claim_jobs($1, 1,"               \
      " $2::bigint * interval '1 millisecond', $3::timestamptz)")             \
    X(DB_S_Q_NEXT,                                                            \
      "SELECT (extract(epoch FROM next_job_at()) * 1000)::bigint")            \
    X(DB_S_Q_RENEW,                                                           \
      "SELECT r FROM renew_leases($1,"                                        \
      " $2::bigint * interval '1 millisecond') r")                            \
    X(DB_S_Q_DONE,                                                            \
      "SELECT job_done($1::bigint, $2)")                                      \
    X(DB_S_Q_RETRY,                                                           \
      "SELECT job_retry($1::bigint, $2, $3::timestamptz, $4)")                \
    X(DB_S_Q_DEAD,                                                            \
      "SELECT job_dead($1::bigint, $2, $3)")                                  \
    X(DB_S_Q_CANCELLED,                                                       \
      "SELECT job_cancelled($1::bigint, $2)")                                 \
    X(DB_S_Q_CANCEL,                                                          \
      "SELECT job_cancel($1::bigint)")                                        \
    X(DB_S_Q_ENQUEUE,                                                         \
      "INSERT INTO jobs (tenant_id, integration_id, kind, payload,"           \
      " unique_key, run_at) VALUES (" DB_TENANT_UUID ", $1::uuid, $2,"        \
      " COALESCE($3::jsonb, '{}'), $4, $5::timestamptz)"                      \
      " ON CONFLICT (tenant_id, unique_key) WHERE unique_key IS NOT NULL"     \
      " AND " DB_QUEUE_ACTIVE " DO NOTHING RETURNING id")                     \
    X(DB_S_Q_EXISTING,                                                        \
      "SELECT id FROM jobs WHERE tenant_id = " DB_TENANT_UUID                 \
      " AND unique_key = $1 AND " DB_QUEUE_ACTIVE)                            \
    X(DB_S_Q_SYNC_ENQUEUE,                                                    \
      "SELECT sync_id, job_id, created FROM sync_enqueue(" DB_TENANT_UUID     \
      ", $1::uuid, $2, $3::jsonb, $4::timestamptz)")                          \
    X(DB_S_Q_DUE_SYNCS,                                                       \
      "SELECT enqueue_due_syncs($1::timestamptz, $2::int)")


#endif /* STMTS_QUEUE_H */
