-- 005_api: what the first API stage needs on top of 001..004.
-- Tenant isolation as described in 001_core.sql.

-- How an integration authenticates to its provider: an OAuth connection
-- (pending until the authorization-code flow completes) or an API key
-- stored in the vault at creation.
ALTER TABLE integrations
    ADD COLUMN auth_mode text NOT NULL DEFAULT 'oauth'
        CHECK (auth_mode IN ('oauth', 'api_key'));

-- GET /v1/audit pages by id within a tenant.
CREATE INDEX audit_log_tenant_id ON audit_log (tenant_id, id DESC);

-- hubgated refuses to start when a data key is wrapped by a KEK version
-- that its kek_file lacks: the one question about tenant_keys it asks
-- across tenants. Versions only, never keys.
CREATE FUNCTION kek_versions_in_use() RETURNS TABLE (kek_version integer, data_keys bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT kek_version, count(*) FROM tenant_keys
           WHERE retired_at IS NULL GROUP BY kek_version ORDER BY kek_version $$;
REVOKE ALL ON FUNCTION kek_versions_in_use() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kek_versions_in_use() TO hubgate_app;
