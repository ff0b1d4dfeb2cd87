-- 014_sync_finish: a failed attempt counts against the integration only
-- while it is active.  A sync that finds its integration inactive,
-- disabled or needing reconnection (or that found the grant refused, and
-- so marked it needs_reconnect) fails the run alone: the integration's
-- failures, health and last_error (the provider's reason) stay as they are.

-- The end of one attempt of a sync, in the caller's transaction.
--   succeeded   the run is done; a full run (not a webhook's targeted
--               one) moves the integration's last_sync_at to the run's
--               start, the "since" of the next incremental run
--   retry       a transient failure: the run waits for its job's retry
--   failed      a permanent failure (or the last attempt)
--   waiting     the provider asked us to slow down (429): not a failure
--   cancelled
-- A retry or a failure counts against the integration: health is degraded
-- after 1 failure in a row, unhealthy after 3, and after p_disable_after
-- the integration is disabled (status error) and the run fails.
-- Returns {"run": <sync_run_json>, "disabled": bool}.
CREATE OR REPLACE FUNCTION sync_finish(p_sync uuid, p_outcome text, p_error text,
                            p_now timestamptz, p_disable_after integer)
    RETURNS json
    LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
    v_run      sync_runs%ROWTYPE;
    v_failures integer;
    v_disabled boolean := false;
BEGIN
    SELECT * INTO v_run FROM sync_runs WHERE id = p_sync FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;

    IF p_outcome = 'succeeded' THEN
        UPDATE sync_runs SET status = 'succeeded', stage = 'done',
               percent = 100, error = NULL, finished_at = p_now
         WHERE id = p_sync;
        UPDATE integrations
           SET last_sync_at = CASE WHEN v_run.trigger = 'webhook'
                                   THEN last_sync_at
                                   ELSE coalesce(v_run.started_at, p_now) END,
               consecutive_failures = 0, health = 'healthy',
               last_error = NULL, updated_at = now()
         WHERE id = v_run.integration_id;

    ELSIF p_outcome IN ('retry', 'failed') THEN
        UPDATE integrations
           SET consecutive_failures = consecutive_failures + 1,
               health = CASE WHEN consecutive_failures + 1 >= 3
                             THEN 'unhealthy' ELSE 'degraded' END,
               last_error = p_error, last_error_at = p_now,
               status = CASE WHEN consecutive_failures + 1 >= p_disable_after
                              AND status = 'active'
                             THEN 'error' ELSE status END,
               updated_at = now()
         WHERE id = v_run.integration_id AND status = 'active'
        RETURNING consecutive_failures INTO v_failures;

        v_disabled := coalesce(v_failures, 0) >= p_disable_after;

        UPDATE sync_runs
           SET status = CASE WHEN p_outcome = 'failed' OR v_disabled
                             THEN 'failed' ELSE 'queued' END,
               stage = CASE WHEN p_outcome = 'failed' OR v_disabled
                            THEN 'failed' ELSE 'retrying' END,
               error = CASE WHEN v_disabled AND p_outcome = 'retry'
                            THEN p_error || ' (integration disabled after '
                                 || v_failures || ' failed syncs in a row)'
                            ELSE p_error END,
               finished_at = CASE WHEN p_outcome = 'failed' OR v_disabled
                                  THEN p_now END
         WHERE id = p_sync;

    ELSIF p_outcome = 'waiting' THEN
        UPDATE sync_runs SET status = 'queued', stage = 'waiting',
               error = p_error
         WHERE id = p_sync;

    ELSIF p_outcome = 'cancelled' THEN
        UPDATE sync_runs SET status = 'cancelled', stage = 'cancelled',
               finished_at = p_now
         WHERE id = p_sync;

    ELSE
        RAISE EXCEPTION 'sync_finish: unknown outcome %', p_outcome;
    END IF;

    RETURN json_build_object('run', sync_run_json(p_sync),
                             'disabled', v_disabled);
END
$$;
