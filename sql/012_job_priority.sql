-- 012_job_priority: syncs before bulk work.  A sync is what a user waits
-- for (the progress page, the next invoice); a backlog of webhook.process
-- jobs (a provider redelivering a day of events) must not hold it up.
-- Workers claim the highest priority first, then by run_at; a sync job
-- is inserted with priority 10 unless its creator chose another.

CREATE INDEX jobs_ready_priority ON jobs (priority DESC, run_at, id)
    WHERE status = 'queued';
DROP INDEX jobs_ready;

CREATE FUNCTION jobs_default_priority() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF NEW.kind = 'sync' AND NEW.priority = 0 THEN
        NEW.priority := 10;
    END IF;
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION jobs_default_priority() FROM PUBLIC;

CREATE TRIGGER jobs_default_priority BEFORE INSERT ON jobs
    FOR EACH ROW EXECUTE FUNCTION jobs_default_priority();

UPDATE jobs SET priority = 10
 WHERE kind = 'sync' AND priority = 0 AND status IN ('queued', 'running');

-- claim_jobs as in 009, ready jobs by priority first
CREATE OR REPLACE FUNCTION claim_jobs(p_owner text, p_limit integer,
                                      p_lease interval,
                                      p_now timestamptz DEFAULT now())
    RETURNS SETOF jobs
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    RETURN QUERY
    UPDATE jobs j
       SET status = 'running', lease_owner = p_owner,
           lease_expires_at = now() + p_lease, attempts = j.attempts + 1,
           updated_at = now()
     WHERE j.id IN (SELECT q.id FROM jobs q
                     WHERE q.status = 'queued' AND q.run_at <= p_now
                     ORDER BY q.priority DESC, q.run_at, q.id LIMIT p_limit
                     FOR UPDATE SKIP LOCKED)
    RETURNING j.*;
    GET DIAGNOSTICS n = ROW_COUNT;

    IF n >= p_limit THEN
        RETURN;
    END IF;

    WITH gone AS (
        UPDATE jobs j
           SET status = CASE WHEN j.cancel_requested THEN 'cancelled'
                             ELSE 'dead' END,
               last_error = CASE WHEN j.cancel_requested THEN j.last_error
                                 ELSE 'lease expired on the last attempt'
                            END,
               finished_at = now(), updated_at = now(),
               dead_at = CASE WHEN j.cancel_requested THEN NULL
                              ELSE now() END
         WHERE j.id IN (SELECT q.id FROM jobs q
                         WHERE q.status = 'running'
                           AND q.lease_expires_at < now()
                           AND (q.cancel_requested
                                OR q.attempts >= q.max_attempts)
                         FOR UPDATE SKIP LOCKED)
        RETURNING j.id, j.status, j.last_error)
    UPDATE sync_runs s
       SET status = CASE WHEN g.status = 'dead' THEN 'failed'
                         ELSE 'cancelled' END,
           error = CASE WHEN g.status = 'dead' THEN g.last_error
                        ELSE s.error END,
           finished_at = now()
      FROM gone g
     WHERE s.job_id = g.id AND s.status IN ('queued', 'running');

    RETURN QUERY
    UPDATE jobs j
       SET lease_owner = p_owner, lease_expires_at = now() + p_lease,
           attempts = j.attempts + 1, updated_at = now()
     WHERE j.id IN (SELECT q.id FROM jobs q
                     WHERE q.status = 'running' AND q.lease_expires_at < now()
                       AND NOT q.cancel_requested
                       AND q.attempts < q.max_attempts
                     ORDER BY q.lease_expires_at LIMIT p_limit - n
                     FOR UPDATE SKIP LOCKED)
    RETURNING j.*;
END
$$;
