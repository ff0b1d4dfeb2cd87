-- 011_sync: storing a sync's pages.  Tenant isolation as in 001_core.sql.
--
-- sync_store_page() takes one provider page, already mapped to canonical
-- records by hubgated (providers/provider_ops.h describes them), and in
-- the caller's transaction upserts its customers, products and orders,
-- commits the stream's cursor and adds the page to the sync run's
-- progress: a crash between two pages resumes at the next one and a page
-- stored twice changes nothing (upserts on integration + external id).
--
-- It runs as its caller (hubgate_app) inside a tenant-scoped transaction,
-- so row-level security applies to every statement.  The whole page goes
-- in a few set-based statements; when one of them fails (a record that
-- PostgreSQL refuses, such as an impossible date), the page is stored
-- again record by record and each refused record is counted as failed,
-- so one bad record never stops a sync.

-- a text timestamp from a provider, or NULL when it is not one
CREATE FUNCTION hg_ts(p text) RETURNS timestamptz
    LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF p IS NULL OR p !~ '^\d{4}-\d{2}-\d{2}' THEN
        RETURN NULL;
    END IF;
    RETURN p::timestamptz;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;

-- the set-based part: counts of created and updated top-level records
CREATE FUNCTION sync_upsert_records(p_integration uuid, p_records jsonb,
                                    p_customers boolean, p_products boolean,
                                    OUT created integer, OUT updated integer)
    LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
    v_tenant uuid := current_setting('hubgate.tenant')::uuid;
    n_c      integer := 0;
    n_u      integer := 0;
BEGIN
    created := 0;
    updated := 0;

    -- customers: records of their own, and the buyers of orders
    IF p_customers THEN
        WITH src AS (
            SELECT DISTINCT ON (x->>'external_id') r->>'type' AS kind, x
              FROM jsonb_array_elements(p_records) r,
                   LATERAL (SELECT CASE WHEN r->>'type' = 'customer' THEN r
                                        ELSE r->'customer' END AS x) s
             WHERE (r->>'type' = 'customer'
                    OR (r->>'type' = 'order'
                        AND jsonb_typeof(r->'customer') = 'object'))
               AND coalesce(x->>'external_id', '') <> ''
             ORDER BY x->>'external_id', (r->>'type' = 'customer') DESC
        ), up AS (
            INSERT INTO customers AS c (tenant_id, integration_id, external_id,
                                        name, email, tax_id, country, address)
            SELECT v_tenant, p_integration, x->>'external_id',
                   coalesce(nullif(x->>'name', ''), nullif(x->>'email', ''),
                            x->>'external_id'),
                   nullif(x->>'email', ''), nullif(x->>'tax_id', ''),
                   CASE WHEN x->>'country' ~ '^[A-Z]{2}$' THEN x->>'country' END,
                   CASE WHEN jsonb_typeof(x->'address') = 'object'
                        THEN x->'address' ELSE '{}' END
              FROM src
            ON CONFLICT (integration_id, external_id) DO UPDATE
               SET name = EXCLUDED.name, email = EXCLUDED.email,
                   tax_id = EXCLUDED.tax_id, country = EXCLUDED.country,
                   address = EXCLUDED.address, updated_at = now()
             WHERE (c.name, c.email, c.tax_id, c.country, c.address)
                   IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.email,
                   EXCLUDED.tax_id, EXCLUDED.country, EXCLUDED.address)
            RETURNING (xmax = 0) AS ins, c.external_id
        )
        SELECT count(*) FILTER (WHERE up.ins AND src.kind = 'customer'),
               count(*) FILTER (WHERE NOT up.ins AND src.kind = 'customer')
          INTO n_c, n_u
          FROM up JOIN src ON src.x->>'external_id' = up.external_id;
        created := created + n_c;
        updated := updated + n_u;
    END IF;

    -- products: records of their own, and the items of order lines
    IF p_products THEN
        WITH src AS (
            SELECT DISTINCT ON (x->>'external_id') r->>'type' AS kind, x
              FROM jsonb_array_elements(p_records) r,
                   LATERAL (SELECT r AS x WHERE r->>'type' = 'product'
                            UNION ALL
                            SELECT l->'product'
                              FROM jsonb_array_elements(
                                       CASE WHEN r->>'type' = 'order'
                                             AND jsonb_typeof(r->'lines') = 'array'
                                            THEN r->'lines' ELSE '[]' END) l
                             WHERE jsonb_typeof(l->'product') = 'object') s
             WHERE coalesce(x->>'external_id', '') <> ''
             ORDER BY x->>'external_id', (r->>'type' = 'product') DESC
        ), up AS (
            INSERT INTO products AS p (tenant_id, integration_id, external_id,
                                       sku, name, unit_price, currency,
                                       vat_rate)
            SELECT v_tenant, p_integration, x->>'external_id',
                   nullif(x->>'sku', ''),
                   coalesce(nullif(x->>'name', ''), x->>'external_id'),
                   CASE WHEN x->>'unit_price' ~ '^-?\d{1,14}(\.\d{1,6})?$'
                        THEN (x->>'unit_price')::numeric END,
                   CASE WHEN x->>'currency' ~ '^[A-Z]{3}$' THEN x->>'currency' END,
                   CASE WHEN x->>'vat_rate' ~ '^\d{1,3}(\.\d{1,2})?$'
                        THEN (x->>'vat_rate')::numeric END
              FROM src
            ON CONFLICT (integration_id, external_id) DO UPDATE
               SET sku = EXCLUDED.sku, name = EXCLUDED.name,
                   unit_price = EXCLUDED.unit_price,
                   currency = EXCLUDED.currency, vat_rate = EXCLUDED.vat_rate,
                   updated_at = now()
             WHERE (p.sku, p.name, p.unit_price, p.currency, p.vat_rate)
                   IS DISTINCT FROM (EXCLUDED.sku, EXCLUDED.name,
                   EXCLUDED.unit_price, EXCLUDED.currency, EXCLUDED.vat_rate)
            RETURNING (xmax = 0) AS ins, p.external_id
        )
        SELECT count(*) FILTER (WHERE up.ins AND src.kind = 'product'),
               count(*) FILTER (WHERE NOT up.ins AND src.kind = 'product')
          INTO n_c, n_u
          FROM up JOIN src ON src.x->>'external_id' = up.external_id;
        created := created + n_c;
        updated := updated + n_u;
    END IF;

    -- orders: a repeated page finds them unchanged and counts nothing
    WITH src AS (
        SELECT DISTINCT ON (r->>'external_id') r
          FROM jsonb_array_elements(p_records) r
         WHERE r->>'type' = 'order' AND coalesce(r->>'external_id', '') <> ''
         ORDER BY r->>'external_id'
    ), up AS (
        INSERT INTO external_orders AS o (tenant_id, integration_id,
                    external_id, status, customer_id, currency, total_minor,
                    ordered_at, external_updated_at, canonical, raw)
        SELECT v_tenant, p_integration, r->>'external_id', r->>'status',
               (SELECT c.id FROM customers c
                 WHERE c.integration_id = p_integration
                   AND c.external_id = r->'customer'->>'external_id'),
               CASE WHEN r->>'currency' ~ '^[A-Z]{3}$' THEN r->>'currency' END,
               CASE WHEN r->>'total_minor' ~ '^-?\d{1,18}$'
                    THEN (r->>'total_minor')::bigint END,
               hg_ts(r->>'ordered_at'), hg_ts(r->>'external_updated_at'),
               r - 'raw' - 'type', r->'raw'
          FROM src
        ON CONFLICT (integration_id, external_id) DO UPDATE
           SET status = EXCLUDED.status, customer_id = EXCLUDED.customer_id,
               currency = EXCLUDED.currency,
               total_minor = EXCLUDED.total_minor,
               ordered_at = EXCLUDED.ordered_at,
               external_updated_at = EXCLUDED.external_updated_at,
               canonical = EXCLUDED.canonical, raw = EXCLUDED.raw,
               updated_at = now()
         WHERE (o.status, o.customer_id, o.currency, o.total_minor,
                o.canonical)
               IS DISTINCT FROM (EXCLUDED.status, EXCLUDED.customer_id,
               EXCLUDED.currency, EXCLUDED.total_minor, EXCLUDED.canonical)
        RETURNING (xmax = 0) AS ins
    )
    SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins)
      INTO n_c, n_u FROM up;
    created := created + n_c;
    updated := updated + n_u;
END
$$;

-- One page: records, then the cursor, then the run's progress.  p_cursor
-- NULL with p_stream_done deletes the stream's cursor (a finished list
-- starts again from the last sync's time next run).  Returns the counts
-- and the sync run as GET /v1/syncs/{id} shows it, to publish.
CREATE FUNCTION sync_store_page(p_sync uuid, p_integration uuid,
                                p_stream text, p_records jsonb,
                                p_cursor text, p_stream_done boolean,
                                p_stage text, p_percent integer,
                                p_total integer,
                                OUT created integer, OUT updated integer,
                                OUT failed integer, OUT run json)
    LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
    v_tenant uuid := current_setting('hubgate.tenant')::uuid;
    v_set    jsonb;
    v_cust   boolean;
    v_prod   boolean;
    v_n      integer;
    v_rec    jsonb;
    v_c      integer;
    v_u      integer;
BEGIN
    failed := 0;

    SELECT i.settings INTO v_set FROM integrations i
     WHERE i.id = p_integration;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'integration % not found', p_integration
              USING ERRCODE = 'no_data_found';
    END IF;

    v_cust := coalesce((v_set->>'autoCreateCustomer')::boolean, true);
    v_prod := coalesce((v_set->>'autoCreateProduct')::boolean, true);
    v_n := coalesce(jsonb_array_length(p_records), 0);

    BEGIN
        SELECT s.created, s.updated INTO created, updated
          FROM sync_upsert_records(p_integration, p_records, v_cust,
                                   v_prod) s;
    EXCEPTION WHEN others THEN
        -- record by record, each in a subtransaction of its own
        created := 0;
        updated := 0;
        FOR v_rec IN SELECT r FROM jsonb_array_elements(p_records) r LOOP
            BEGIN
                SELECT s.created, s.updated INTO v_c, v_u
                  FROM sync_upsert_records(p_integration,
                                           jsonb_build_array(v_rec), v_cust,
                                           v_prod) s;
                created := created + v_c;
                updated := updated + v_u;
            EXCEPTION WHEN others THEN
                failed := failed + 1;
            END;
        END LOOP;
    END;

    -- records without an id are refused too
    failed := failed + (SELECT count(*) FROM jsonb_array_elements(p_records) r
                         WHERE r->>'type' IN ('order', 'customer', 'product')
                           AND coalesce(r->>'external_id', '') = '');

    IF p_cursor IS NOT NULL THEN
        INSERT INTO sync_cursors AS sc (tenant_id, integration_id, stream,
                                        cursor)
        VALUES (v_tenant, p_integration, p_stream, p_cursor)
        ON CONFLICT (integration_id, stream) DO UPDATE
           SET cursor = EXCLUDED.cursor, updated_at = now();
    ELSIF p_stream_done THEN
        DELETE FROM sync_cursors
         WHERE integration_id = p_integration AND stream = p_stream;
    END IF;

    UPDATE sync_runs sr
       SET processed = sr.processed + v_n,
           created_count = sr.created_count + created,
           updated_count = sr.updated_count + updated,
           failed_count = sr.failed_count + failed,
           total = coalesce(p_total, sr.total),
           stage = coalesce(p_stage, sr.stage),
           percent = greatest(sr.percent, least(coalesce(p_percent, 0), 99))
     WHERE sr.id = p_sync;

    run := sync_run_json(p_sync);
END
$$;

-- the sync run as the API shows it (TimeZone UTC is the session's)
CREATE FUNCTION sync_run_json(p_sync uuid) RETURNS json
    LANGUAGE sql STABLE SECURITY INVOKER
AS $$
    SELECT json_build_object('id', s.id, 'integration_id', s.integration_id,
           'trigger', s.trigger, 'status', s.status, 'stage', s.stage,
           'percent', s.percent, 'processed', s.processed,
           'total', s.total, 'created', s.created_count,
           'updated', s.updated_count, 'failed', s.failed_count,
           'cancel_requested', s.cancel_requested, 'error', s.error,
           'attempts', j.attempts, 'created_at', s.created_at,
           'started_at', s.started_at, 'finished_at', s.finished_at)
      FROM sync_runs s LEFT JOIN jobs j ON j.id = s.job_id
     WHERE s.id = p_sync
$$;

GRANT EXECUTE ON FUNCTION hg_ts(text) TO hubgate_app;
GRANT EXECUTE ON FUNCTION sync_upsert_records(uuid, jsonb, boolean, boolean)
    TO hubgate_app;
GRANT EXECUTE ON FUNCTION sync_store_page(uuid, uuid, text, jsonb, text,
    boolean, text, integer, integer) TO hubgate_app;
GRANT EXECUTE ON FUNCTION sync_run_json(uuid) TO hubgate_app;

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
CREATE FUNCTION sync_finish(p_sync uuid, p_outcome text, p_error text,
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
         WHERE id = v_run.integration_id
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
GRANT EXECUTE ON FUNCTION sync_finish(uuid, text, text, timestamptz, integer)
    TO hubgate_app;
