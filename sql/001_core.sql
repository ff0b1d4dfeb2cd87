-- 001_core: migration bookkeeping, tenants, their data keys, idempotency,
-- audit. Applied by tools/migrate.sh (later `hubgated migrate`) as role
-- hubgate inside one transaction; the runner records the version.
--
-- Tenant isolation, used by every tenant-owned table in every migration:
--   * tenant_id uuid NOT NULL REFERENCES tenants ON DELETE CASCADE, so
--     deleting a tenant removes its rows and its data keys;
--   * ROW LEVEL SECURITY ENABLEd and FORCEd with policy tenant_isolation:
--       tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid
--     The daemon (role hubgate_app: not owner, not BYPASSRLS) runs
--     SET LOCAL hubgate.tenant = '<uuid>' in each transaction, so a query
--     that forgets its WHERE clause still sees only that tenant. Unset, the
--     expression is NULL and nothing matches. NULLIF because once a
--     placeholder has been SET LOCAL in a session it reads back as '' (not
--     NULL) afterwards, and ''::uuid would raise instead of matching nothing.
--   * references between tenant-owned tables are composite
--     (tenant_id, x_id) -> (tenant_id, id), so a row can never point at
--     another tenant's row even through a bug in the daemon.
-- Cross-tenant work (job claiming, webhook routing, tenant lookup by slug)
-- goes through a few narrow SECURITY DEFINER functions owned by hubgate.

CREATE TABLE IF NOT EXISTS schema_migrations (
    version    text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT ON schema_migrations TO hubgate_app;

-- tenants: one row per customer of hubgate. slug is what the signed identity
-- carries (JWT "tid"); id is what every other table references.
CREATE TABLE tenants (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug       text NOT NULL UNIQUE CHECK (slug ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$'),
    name       text NOT NULL DEFAULT '',
    status     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants
    USING (id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid)
    WITH CHECK (id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid);
GRANT SELECT ON tenants TO hubgate_app;   -- created by `hubgated tenant create`

-- The daemon learns the tenant uuid from the identity's slug before it can
-- set hubgate.tenant: the one lookup it may do across tenants.
CREATE FUNCTION tenant_id_by_slug(p_slug text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT id FROM tenants WHERE slug = p_slug AND status = 'active' $$;
REVOKE ALL ON FUNCTION tenant_id_by_slug(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenant_id_by_slug(text) TO hubgate_app;

-- tenant_keys: the tenant's data keys, wrapped (AES-256-GCM) by the KEK
-- version kek_version. dek_version is the version stamped into ciphertexts;
-- `vault rotate` rewrites wrapped_key + kek_version, never the data.
-- Cascade on tenant delete = crypto-shredding of its data.
CREATE TABLE tenant_keys (
    tenant_id   uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    dek_version integer NOT NULL CHECK (dek_version > 0),
    kek_version integer NOT NULL CHECK (kek_version > 0),
    wrapped_key bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    rotated_at  timestamptz,
    retired_at  timestamptz,
    PRIMARY KEY (tenant_id, dek_version)
);
CREATE INDEX tenant_keys_kek_version ON tenant_keys (kek_version);  -- rotate: what is still on an old KEK
ALTER TABLE tenant_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_keys
    USING (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid);
GRANT SELECT, INSERT ON tenant_keys TO hubgate_app;

-- idempotency_keys: Idempotency-Key on mutating POSTs. Same key + same
-- request_hash: replay response_*; other hash: 422; in_progress: 409.
CREATE TABLE idempotency_keys (
    tenant_id        uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    key              text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    method           text NOT NULL,
    path             text NOT NULL,
    request_hash     bytea NOT NULL,
    status           text NOT NULL DEFAULT 'in_progress'
                     CHECK (status IN ('in_progress', 'done')),
    response_status  smallint,
    response_headers jsonb,
    response_body    bytea,
    created_at       timestamptz NOT NULL DEFAULT now(),
    completed_at     timestamptz,
    PRIMARY KEY (tenant_id, key),
    CHECK (status = 'in_progress' OR response_status IS NOT NULL)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);  -- expiry sweep
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON idempotency_keys
    USING (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO hubgate_app;

-- audit_log: append-only for the daemon (no UPDATE/DELETE grant).
CREATE TABLE audit_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text NOT NULL,            -- subject of the identity, or 'system'
    action     text NOT NULL,            -- e.g. integration.create, vault.decrypt
    target     text,                     -- e.g. integration:<uuid>
    request_id text,
    details    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_tenant_at ON audit_log (tenant_id, at DESC, id DESC);  -- GET /v1/audit
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_log
    USING (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid);
GRANT SELECT, INSERT ON audit_log TO hubgate_app;
GRANT USAGE ON SEQUENCE audit_log_id_seq TO hubgate_app;
