-- 009_queue: what hubgated's job queue needs beyond 003 (DESIGN §4, Sync
-- engine): wake-ups by NOTIFY, leases on the database's clock, lease
-- renewal with cancellation, finishing a leased job, sync enqueueing and
-- the scheduler's pass over due integrations.
-- Tenant isolation as described in 001_core.sql.
--
-- Two clocks.  Schedules (run_at, next_sync_at) follow hubgated's clock,
-- which the test clock may move forward: functions take it as p_now.
-- Leases follow the database's now() only, so a jump of the test clock
-- never makes a running job look abandoned.
--
-- Every function that touches a leased job names its owner (lease_owner,
-- "<host>:<pid>:<worker>") and changes only a running row that owner
-- holds: a worker whose lease expired and was taken over cannot finish
-- the job a second time, and a finish that is retried after a lost
-- connection is harmless.

-- cancel_requested: DELETE of a running sync (or queue_cancel) asks the
-- worker to stop; the heartbeat (renew_leases) reports it.
ALTER TABLE jobs ADD COLUMN cancel_requested boolean NOT NULL DEFAULT false;
CREATE INDEX jobs_lease_owner ON jobs (lease_owner) WHERE status = 'running';
-- finishing a job ends the sync run it carries: found by job_id
CREATE INDEX sync_runs_job ON sync_runs (job_id);

-- NOTIFY hubgate_jobs on every insert (once per statement: a bulk insert
-- wakes the workers once) and whenever a job goes back to 'queued'.
-- Notifications of one transaction with the same payload are folded
-- into one by PostgreSQL, and are sent at commit.
CREATE FUNCTION jobs_notify() RETURNS trigger
    LANGUAGE plpgsql SECURITY INVOKER SET search_path = public, pg_temp
AS $$
BEGIN
    PERFORM pg_catalog.pg_notify('hubgate_jobs', '');
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION jobs_notify() FROM PUBLIC;

CREATE TRIGGER jobs_notify_insert AFTER INSERT ON jobs
    FOR EACH STATEMENT EXECUTE FUNCTION jobs_notify();
-- row level but filtered by WHEN, which is evaluated without calling the
-- function: claims and finishes (status running/done) cost nothing
CREATE TRIGGER jobs_notify_requeue AFTER UPDATE OF status ON jobs
    FOR EACH ROW WHEN (NEW.status = 'queued' AND OLD.status <> 'queued')
    EXECUTE FUNCTION jobs_notify();

-- claim_jobs: as in 003, but run_at is compared with p_now (hubgated's
-- clock) while leases are set and judged by now().  An expired lease on
-- a job that was asked to stop ends it as cancelled; one on a job that
-- has used all its attempts (the handler kept killing its worker) ends
-- it as dead.  Everything else expired is taken again (attempts + 1).
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
                     ORDER BY q.run_at, q.id LIMIT p_limit
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

-- renew_leases: the heartbeat of one hubgated instance.  p_owner is an
-- owner ("<host>:<pid>:<n>") or an instance prefix ("<host>:<pid>",
-- which covers every worker of it).  Extends the leases of its running
-- jobs and returns the ids of those asked to stop.
CREATE FUNCTION renew_leases(p_owner text, p_lease interval)
    RETURNS SETOF bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
    RETURN QUERY
    WITH u AS (
        UPDATE jobs j SET lease_expires_at = now() + p_lease
         WHERE j.status = 'running'
           AND (j.lease_owner = p_owner
                OR starts_with(j.lease_owner, p_owner || ':'))
        RETURNING j.id, j.cancel_requested)
    SELECT u.id FROM u WHERE u.cancel_requested;
END
$$;

-- The finishing functions: true when the owner still held the job.
CREATE FUNCTION job_done(p_id bigint, p_owner text) RETURNS boolean
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    WITH u AS (
        UPDATE jobs SET status = 'done', lease_expires_at = NULL,
               finished_at = now(), updated_at = now()
         WHERE id = p_id AND lease_owner = p_owner AND status = 'running'
        RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM u)
$$;

CREATE FUNCTION job_retry(p_id bigint, p_owner text, p_run_at timestamptz,
                          p_error text) RETURNS boolean
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    WITH u AS (
        UPDATE jobs SET status = 'queued', run_at = p_run_at,
               lease_expires_at = NULL, last_error = p_error,
               updated_at = now()
         WHERE id = p_id AND lease_owner = p_owner AND status = 'running'
        RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM u)
$$;

-- dead and cancelled also end the sync run the job was carrying, if any
CREATE FUNCTION job_dead(p_id bigint, p_owner text, p_error text)
    RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
    UPDATE jobs SET status = 'dead', lease_expires_at = NULL,
           last_error = p_error, dead_at = now(), finished_at = now(),
           updated_at = now()
     WHERE id = p_id AND lease_owner = p_owner AND status = 'running';

    IF NOT FOUND THEN
        RETURN false;
    END IF;

    UPDATE sync_runs SET status = 'failed', error = p_error,
           finished_at = now()
     WHERE job_id = p_id AND status IN ('queued', 'running');

    RETURN true;
END
$$;

CREATE FUNCTION job_cancelled(p_id bigint, p_owner text) RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
    UPDATE jobs SET status = 'cancelled', lease_expires_at = NULL,
           finished_at = now(), updated_at = now()
     WHERE id = p_id AND lease_owner = p_owner AND status = 'running';

    IF NOT FOUND THEN
        RETURN false;
    END IF;

    UPDATE sync_runs SET status = 'cancelled', finished_at = now()
     WHERE job_id = p_id AND status IN ('queued', 'running');

    RETURN true;
END
$$;

-- job_cancel: inside a tenant-scoped transaction (row-level security
-- applies).  A queued job is cancelled at once (and its sync run); a
-- running one gets cancel_requested, which the heartbeat of its instance
-- passes to the worker.  Returns the job's status afterwards
-- ('cancelled' or 'running'), NULL when no such queued or running job.
CREATE FUNCTION job_cancel(p_id bigint) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = public, pg_temp
AS $$
DECLARE
    v_status text;
BEGIN
    UPDATE jobs
       SET status = CASE WHEN status = 'queued' THEN 'cancelled'
                         ELSE status END,
           cancel_requested = (status = 'running'),
           finished_at = CASE WHEN status = 'queued' THEN now()
                              ELSE finished_at END,
           updated_at = now()
     WHERE id = p_id AND status IN ('queued', 'running')
    RETURNING status INTO v_status;

    IF v_status = 'cancelled' THEN
        UPDATE sync_runs SET status = 'cancelled', finished_at = now()
         WHERE job_id = p_id AND status = 'queued';
    ELSIF v_status = 'running' THEN
        UPDATE sync_runs SET cancel_requested = true
         WHERE job_id = p_id AND status IN ('queued', 'running');
    END IF;

    RETURN v_status;
END
$$;

-- next_job_at: the earliest run_at of a queued job, or NULL: an idle
-- worker sleeps until then instead of polling.
CREATE FUNCTION next_job_at() RETURNS timestamptz
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT run_at FROM jobs WHERE status = 'queued' ORDER BY run_at LIMIT 1
$$;

-- sync_enqueue: a sync run and the 'sync' job that carries it (payload
-- p_payload plus sync_id).  Manual and scheduled syncs of one integration
-- share unique_key 'sync:<integration>': while one is queued or running,
-- a second request returns it with created = false.  Webhook-triggered
-- syncs are not deduplicated here.  Runs as its caller: inside the
-- tenant-scoped transaction of the API, or from enqueue_due_syncs.
CREATE FUNCTION sync_enqueue(p_tenant uuid, p_integration uuid,
                             p_trigger text, p_payload jsonb,
                             p_now timestamptz)
    RETURNS TABLE (sync_id uuid, job_id bigint, created boolean)
    LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = public, pg_temp
AS $$
DECLARE
    v_key  text;
    v_sync uuid;
    v_job  bigint;
    i      integer;
BEGIN
    IF p_trigger IS NULL
       OR p_trigger NOT IN ('manual', 'schedule', 'webhook')
    THEN
        RAISE EXCEPTION 'sync_enqueue: unknown trigger %', p_trigger
            USING ERRCODE = '22023';
    END IF;

    IF p_trigger <> 'webhook' THEN
        v_key := 'sync:' || p_integration::text;
    END IF;

    -- twice: the active job found by the conflict may end in between
    FOR i IN 1 .. 2 LOOP
        v_sync := gen_random_uuid();

        INSERT INTO jobs (tenant_id, integration_id, kind, payload,
                          unique_key, run_at)
            VALUES (p_tenant, p_integration, 'sync',
                    coalesce(p_payload, '{}'::jsonb)
                        || jsonb_build_object('sync_id', v_sync),
                    v_key, coalesce(p_now, now()))
            ON CONFLICT (tenant_id, unique_key)
               WHERE unique_key IS NOT NULL
                 AND status IN ('queued', 'running')
               DO NOTHING
            RETURNING id INTO v_job;

        IF v_job IS NOT NULL THEN
            INSERT INTO sync_runs (id, tenant_id, integration_id, job_id,
                                   trigger)
                VALUES (v_sync, p_tenant, p_integration, v_job, p_trigger);
            sync_id := v_sync;
            job_id := v_job;
            created := true;
            RETURN NEXT;
            RETURN;
        END IF;

        SELECT j.id INTO v_job FROM jobs j
         WHERE j.tenant_id = p_tenant AND j.unique_key = v_key
           AND j.status IN ('queued', 'running');

        IF v_job IS NOT NULL THEN
            SELECT s.id INTO v_sync FROM sync_runs s
             WHERE s.job_id = v_job ORDER BY s.created_at DESC LIMIT 1;
            sync_id := v_sync;
            job_id := v_job;
            created := false;
            RETURN NEXT;
            RETURN;
        END IF;
    END LOOP;

    RAISE EXCEPTION 'sync_enqueue: sync % keeps changing', v_key
        USING ERRCODE = '40001';
END
$$;

-- enqueue_due_syncs: the scheduler's pass, across tenants.  Every active
-- integration whose next_sync_at has come (or is not set yet) gets a
-- scheduled sync unless one is queued or running, and its next_sync_at
-- moves to p_now + syncFrequencyMinutes (60 when unset; validate.c
-- accepts 5 to 1440; a value below 1 means manual only).  Integrations
-- locked by another instance's pass are skipped.  Returns how many syncs
-- were enqueued.
CREATE FUNCTION enqueue_due_syncs(p_now timestamptz, p_limit integer)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    r      record;
    v_freq integer;
    v_new  boolean;
    n      integer := 0;
BEGIN
    FOR r IN
        SELECT i.id, i.tenant_id, i.settings FROM integrations i
         WHERE i.status = 'active'
           AND (i.next_sync_at IS NULL OR i.next_sync_at <= p_now)
         ORDER BY i.next_sync_at NULLS FIRST, i.id
         LIMIT p_limit
         FOR UPDATE SKIP LOCKED
    LOOP
        v_freq := 60;
        IF jsonb_typeof(r.settings -> 'syncFrequencyMinutes') = 'number'
        THEN
            v_freq := least(greatest(
                (r.settings ->> 'syncFrequencyMinutes')::numeric,
                -1), 100000)::integer;
        END IF;

        IF v_freq < 1 THEN
            UPDATE integrations SET next_sync_at = 'infinity'
             WHERE id = r.id;
            CONTINUE;
        END IF;

        SELECT s.created INTO v_new
          FROM sync_enqueue(r.tenant_id, r.id, 'schedule', '{}'::jsonb,
                            p_now) s;
        IF v_new THEN
            n := n + 1;
        END IF;

        UPDATE integrations
           SET next_sync_at = p_now + v_freq * interval '1 minute'
         WHERE id = r.id;
    END LOOP;

    RETURN n;
END
$$;

REVOKE ALL ON FUNCTION claim_jobs(text, integer, interval, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION claim_jobs(text, integer, interval, timestamptz) TO hubgate_app;
REVOKE ALL ON FUNCTION renew_leases(text, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION renew_leases(text, interval) TO hubgate_app;
REVOKE ALL ON FUNCTION job_done(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION job_done(bigint, text) TO hubgate_app;
REVOKE ALL ON FUNCTION job_retry(bigint, text, timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION job_retry(bigint, text, timestamptz, text) TO hubgate_app;
REVOKE ALL ON FUNCTION job_dead(bigint, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION job_dead(bigint, text, text) TO hubgate_app;
REVOKE ALL ON FUNCTION job_cancelled(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION job_cancelled(bigint, text) TO hubgate_app;
REVOKE ALL ON FUNCTION job_cancel(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION job_cancel(bigint) TO hubgate_app;
REVOKE ALL ON FUNCTION next_job_at() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION next_job_at() TO hubgate_app;
REVOKE ALL ON FUNCTION sync_enqueue(uuid, uuid, text, jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sync_enqueue(uuid, uuid, text, jsonb, timestamptz) TO hubgate_app;
REVOKE ALL ON FUNCTION enqueue_due_syncs(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION enqueue_due_syncs(timestamptz, integer) TO hubgate_app;
