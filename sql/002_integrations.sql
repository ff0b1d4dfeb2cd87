-- 002_integrations: connected provider accounts, their sealed credentials,
-- OAuth handshakes in flight, and durable webhook intake.
-- Tenant isolation as described in 001_core.sql.

CREATE TABLE integrations (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id            uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    provider             text NOT NULL CHECK (provider ~ '^[a-z0-9_]+$'),
    status               text NOT NULL DEFAULT 'pending' CHECK (status IN
                         ('pending', 'active', 'inactive', 'error', 'needs_reconnect')),
    health               text NOT NULL DEFAULT 'healthy'
                         CHECK (health IN ('healthy', 'degraded', 'unhealthy')),
    account_id           text,              -- provider-side identity (Allegro /me, Stripe acct_)
    display_name         text,
    settings             jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(settings) = 'object'),
    consecutive_failures integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    last_error           text,
    last_error_at        timestamptz,
    last_sync_at         timestamptz,
    next_sync_at         timestamptz,       -- scheduler: syncFrequencyMinutes
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id)                  -- target of composite FKs
);
CREATE INDEX integrations_tenant ON integrations (tenant_id, created_at);
CREATE INDEX integrations_due ON integrations (next_sync_at) WHERE status = 'active';
ALTER TABLE integrations ENABLE ROW LEVEL SECURITY;
ALTER TABLE integrations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON integrations
    USING (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON integrations TO hubgate_app;

-- Webhook intake knows only /v1/webhooks/{provider}/{integration}: it finds
-- the owning tenant here, then works under that tenant's RLS.
CREATE FUNCTION integration_tenant(p_integration uuid, p_provider text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT tenant_id FROM integrations
           WHERE id = p_integration AND provider = p_provider $$;
REVOKE ALL ON FUNCTION integration_tenant(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION integration_tenant(uuid, text) TO hubgate_app;

-- credentials: vault-sealed secrets (AES-256-GCM, AD = tenant|integration|
-- purpose, key_version = the tenant data key version in the ciphertext).
-- Several webhook secrets may be live during a rotation overlap
-- (valid_until); for other purposes one live row.
CREATE TABLE credentials (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id      uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    integration_id uuid NOT NULL,
    purpose        text NOT NULL CHECK (purpose IN ('api_key', 'access_token',
                   'refresh_token', 'webhook_secret', 'client_secret')),
    sealed         bytea NOT NULL,
    key_version    integer NOT NULL CHECK (key_version > 0),
    expires_at     timestamptz,             -- token expiry: proactive refresh
    valid_until    timestamptz,             -- end of a rotation overlap
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, integration_id)
        REFERENCES integrations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX credentials_integration ON credentials (integration_id, purpose);
CREATE UNIQUE INDEX credentials_one_live ON credentials (integration_id, purpose)
    WHERE purpose <> 'webhook_secret' AND valid_until IS NULL;
CREATE INDEX credentials_expiring ON credentials (expires_at)
    WHERE purpose = 'access_token';
ALTER TABLE credentials ENABLE ROW LEVEL SECURITY;
ALTER TABLE credentials FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON credentials
    USING (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON credentials TO hubgate_app;

-- oauth_sessions: one authorization-code dance. Only a hash of `state` is
-- stored; used_at makes it single-use, expires_at (10 min) bounds it.
CREATE TABLE oauth_sessions (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id           uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    integration_id      uuid NOT NULL,
    state_hash          bytea NOT NULL UNIQUE,
    pkce_verifier_sealed bytea NOT NULL,
    key_version         integer NOT NULL CHECK (key_version > 0),
    redirect_uri        text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz NOT NULL,
    used_at             timestamptz,
    FOREIGN KEY (tenant_id, integration_id)
        REFERENCES integrations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX oauth_sessions_expires ON oauth_sessions (expires_at);  -- cleanup
ALTER TABLE oauth_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE oauth_sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON oauth_sessions
    USING (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON oauth_sessions TO hubgate_app;

-- webhook_events: committed before the 2xx; the unique key makes a
-- provider's redelivery a no-op (INSERT ... ON CONFLICT DO NOTHING).
CREATE TABLE webhook_events (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id      uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    provider       text NOT NULL,
    integration_id uuid NOT NULL,
    event_id       text NOT NULL CHECK (length(event_id) BETWEEN 1 AND 512),
    event_type     text,
    headers        jsonb NOT NULL DEFAULT '{}',
    body           bytea NOT NULL,          -- raw bytes as verified at the edge
    received_at    timestamptz NOT NULL DEFAULT now(),
    processed_at   timestamptz,
    last_error     text,
    UNIQUE (provider, integration_id, event_id),
    FOREIGN KEY (tenant_id, integration_id)
        REFERENCES integrations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_events_tenant ON webhook_events (tenant_id, received_at DESC);  -- GET /v1/webhooks/events
CREATE INDEX webhook_events_pending ON webhook_events (received_at) WHERE processed_at IS NULL;
ALTER TABLE webhook_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON webhook_events
    USING (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE ON webhook_events TO hubgate_app;
