-- 003_sync: the job queue, sync runs and cursors, and the canonical data
-- synced from providers (orders, customers, products).
-- Tenant isolation as described in 001_core.sql.

-- jobs: the queue is rows. Workers claim with FOR UPDATE SKIP LOCKED through
-- claim_jobs() (below), hold a lease renewed by heartbeats, and a job whose
-- lease expired is taken again. status 'dead' keeps exhausted jobs with
-- their last_error; unique_key deduplicates while a job is queued/running.
CREATE TABLE jobs (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id        uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    integration_id   uuid,
    kind             text NOT NULL,         -- sync, webhook.process, token.refresh, ...
    payload          jsonb NOT NULL DEFAULT '{}',
    status           text NOT NULL DEFAULT 'queued' CHECK (status IN
                     ('queued', 'running', 'done', 'cancelled', 'dead')),
    priority         smallint NOT NULL DEFAULT 0,
    run_at           timestamptz NOT NULL DEFAULT now(),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts     integer NOT NULL DEFAULT 7 CHECK (max_attempts > 0),  -- 1 + 6 retries
    lease_owner      text,
    lease_expires_at timestamptz,
    unique_key       text,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    dead_at          timestamptz,
    CHECK (status <> 'running' OR (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)),
    FOREIGN KEY (tenant_id, integration_id)
        REFERENCES integrations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX jobs_ready ON jobs (run_at, id) WHERE status = 'queued';
CREATE INDEX jobs_leased ON jobs (lease_expires_at) WHERE status = 'running';
CREATE UNIQUE INDEX jobs_unique_active ON jobs (tenant_id, unique_key)
    WHERE unique_key IS NOT NULL AND status IN ('queued', 'running');
CREATE INDEX jobs_integration ON jobs (integration_id, created_at DESC);
ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON jobs
    USING (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON jobs TO hubgate_app;
GRANT USAGE ON SEQUENCE jobs_id_seq TO hubgate_app;

-- Workers serve every tenant: claiming is the one cross-tenant queue
-- operation, so it is a SECURITY DEFINER function (owner hubgate bypasses
-- RLS). Ready jobs first, then jobs whose lease expired (dead worker).
-- p_now lets the test clock drive it. The worker then SET LOCALs
-- hubgate.tenant to the claimed job's tenant_id to do the work.
CREATE FUNCTION claim_jobs(p_owner text, p_limit integer, p_lease interval,
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
           lease_expires_at = p_now + p_lease, attempts = j.attempts + 1,
           updated_at = p_now
     WHERE j.id IN (SELECT q.id FROM jobs q
                     WHERE q.status = 'queued' AND q.run_at <= p_now
                     ORDER BY q.run_at, q.id LIMIT p_limit
                     FOR UPDATE SKIP LOCKED)
    RETURNING j.*;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n < p_limit THEN
        RETURN QUERY
        UPDATE jobs j
           SET lease_owner = p_owner, lease_expires_at = p_now + p_lease,
               attempts = j.attempts + 1, updated_at = p_now
         WHERE j.id IN (SELECT q.id FROM jobs q
                         WHERE q.status = 'running' AND q.lease_expires_at < p_now
                         ORDER BY q.lease_expires_at LIMIT p_limit - n
                         FOR UPDATE SKIP LOCKED)
        RETURNING j.*;
    END IF;
END
$$;
REVOKE ALL ON FUNCTION claim_jobs(text, integer, interval, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION claim_jobs(text, integer, interval, timestamptz) TO hubgate_app;

-- sync_runs: one sync of one integration; progress for GET /v1/syncs/{id}
-- (SSE is fed through Redis pub/sub, this row is the truth).
CREATE TABLE sync_runs (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id        uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    integration_id   uuid NOT NULL,
    job_id           bigint REFERENCES jobs ON DELETE SET NULL,
    trigger          text NOT NULL DEFAULT 'manual'
                     CHECK (trigger IN ('manual', 'schedule', 'webhook')),
    status           text NOT NULL DEFAULT 'queued' CHECK (status IN
                     ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    stage            text NOT NULL DEFAULT 'queued',
    percent          smallint NOT NULL DEFAULT 0 CHECK (percent BETWEEN 0 AND 100),
    processed        integer NOT NULL DEFAULT 0 CHECK (processed >= 0),
    total            integer CHECK (total >= 0),   -- NULL while unknown
    created_count    integer NOT NULL DEFAULT 0,
    updated_count    integer NOT NULL DEFAULT 0,
    failed_count     integer NOT NULL DEFAULT 0,
    cancel_requested boolean NOT NULL DEFAULT false,
    error            text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    FOREIGN KEY (tenant_id, integration_id)
        REFERENCES integrations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX sync_runs_history ON sync_runs (integration_id, created_at DESC);  -- GET /v1/syncs?integration=
CREATE INDEX sync_runs_tenant ON sync_runs (tenant_id, created_at DESC);        -- admin summary: last sync
ALTER TABLE sync_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE sync_runs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sync_runs
    USING (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON sync_runs TO hubgate_app;

-- sync_cursors: committed with each page, so a crash resumes where it stopped.
CREATE TABLE sync_cursors (
    tenant_id      uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    integration_id uuid NOT NULL,
    stream         text NOT NULL,           -- e.g. checkout-forms, order-events, charges
    cursor         text NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, stream),
    FOREIGN KEY (tenant_id, integration_id)
        REFERENCES integrations (tenant_id, id) ON DELETE CASCADE
);
ALTER TABLE sync_cursors ENABLE ROW LEVEL SECURITY;
ALTER TABLE sync_cursors FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sync_cursors
    USING (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON sync_cursors TO hubgate_app;

-- customers and products: canonical, from a provider (integration_id +
-- external_id, upserted by syncs) or entered by the tenant (both NULL).
-- They outlive a deleted integration because invoices reference them:
-- ON DELETE SET NULL (integration_id) (PG 15 column list) keeps tenant_id.
CREATE TABLE customers (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id      uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    integration_id uuid,
    external_id    text,
    name           text NOT NULL,
    email          text,
    tax_id         text,                    -- VAT / NIP / CUI
    country        char(2),
    address        jsonb NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id),
    UNIQUE (integration_id, external_id),
    FOREIGN KEY (tenant_id, integration_id)
        REFERENCES integrations (tenant_id, id) ON DELETE SET NULL (integration_id)
);
CREATE INDEX customers_tenant_name ON customers (tenant_id, name);
ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE customers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customers
    USING (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON customers TO hubgate_app;

CREATE TABLE products (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id        uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    integration_id   uuid,
    external_id      text,
    sku              text,
    name             text NOT NULL,
    unit_price       numeric(20, 6),        -- exact decimal, never float
    currency         char(3) CHECK (currency ~ '^[A-Z]{3}$'),
    vat_rate         numeric(5, 2),
    vat_category     text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id),
    UNIQUE (integration_id, external_id),
    FOREIGN KEY (tenant_id, integration_id)
        REFERENCES integrations (tenant_id, id) ON DELETE SET NULL (integration_id)
);
CREATE INDEX products_tenant_name ON products (tenant_id, name);
CREATE INDEX products_tenant_sku ON products (tenant_id, sku) WHERE sku IS NOT NULL;
ALTER TABLE products ENABLE ROW LEVEL SECURITY;
ALTER TABLE products FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON products
    USING (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON products TO hubgate_app;

-- external_orders: canonical orders, upserted by syncs on
-- (integration_id, external_id) so a resumed or repeated page never
-- creates a second row. raw keeps the provider's record.
CREATE TABLE external_orders (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id           uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    integration_id      uuid NOT NULL,
    external_id         text NOT NULL,
    status              text,               -- provider status, normalised
    customer_id         uuid,
    currency            char(3) CHECK (currency ~ '^[A-Z]{3}$'),
    total_minor         bigint,             -- minor units of currency
    ordered_at          timestamptz,
    external_updated_at timestamptz,        -- incremental sync (updatedAt / created[gte])
    canonical           jsonb NOT NULL DEFAULT '{}',  -- lines, buyer, addresses
    raw                 jsonb,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (integration_id, external_id),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, integration_id)
        REFERENCES integrations (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, customer_id)
        REFERENCES customers (tenant_id, id) ON DELETE SET NULL (customer_id)
);
CREATE INDEX external_orders_tenant ON external_orders (tenant_id, ordered_at DESC);
ALTER TABLE external_orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE external_orders FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON external_orders
    USING (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON external_orders TO hubgate_app;
