-- 007_webhooks: what webhook intake and its secrets need on top of 002/003.
-- Tenant isolation as described in 001_core.sql.
--
-- A webhook names no tenant: the edge's secret subrequest is scoped with
-- set_config('hubgate.tenant', integration_tenant(integration, provider))
-- (the SECURITY DEFINER function of 002_integrations.sql, the one lookup
-- across tenants), then reads under RLS like any other request; the
-- intake scopes each event the same way (008_webhook_intake.sql).

-- GET /v1/webhooks/events pages newest first by (received_at, id): the
-- index carries the tie-breaker so a page is one index range scan.
DROP INDEX webhook_events_tenant;
CREATE INDEX webhook_events_tenant ON webhook_events (tenant_id, received_at DESC, id DESC);

-- The live webhook secrets of an integration, newest first (the edge's
-- secret subrequest and GET /v1/integrations/{id}/webhook-secret).
CREATE INDEX credentials_webhook_secret ON credentials (integration_id, created_at DESC)
    WHERE purpose = 'webhook_secret';
