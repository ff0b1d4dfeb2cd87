-- 010_oauth: the one cross-tenant step of the OAuth callback.
-- Tenant isolation as described in 001_core.sql.
--
-- The browser comes back from the provider with ?code&state and no
-- identity of ours: the tenant is only known from the state.  hubgated
-- hashes the state (SHA-256) and hands the hash to oauth_session_consume(),
-- which marks the session used in the same statement that finds it, so a
-- state completes at most one callback however many arrive at once (the
-- row lock of the UPDATE serialises them; the losers find used_at set).
--
-- Outcomes: 'ok' (the session's tenant, integration and sealed PKCE
-- verifier follow), 'expired' (it was still unused but past expires_at:
-- it is used up now as well), 'used' (a replay), 'unknown' (no such
-- state: forged or tampered).  p_now is hubgated's clock (the test clock
-- moves it), the same one that wrote expires_at.

CREATE FUNCTION oauth_session_consume(p_state_hash bytea, p_now timestamptz)
    RETURNS TABLE (outcome text, tenant_id uuid, tenant_slug text,
                   integration_id uuid, provider text,
                   pkce_verifier_sealed bytea, redirect_uri text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = public, pg_temp
    AS $$
DECLARE
    v_expires timestamptz;
BEGIN
    UPDATE oauth_sessions s SET used_at = p_now
     WHERE s.state_hash = p_state_hash AND s.used_at IS NULL
    RETURNING s.tenant_id, s.integration_id, s.pkce_verifier_sealed,
              s.redirect_uri, s.expires_at
         INTO tenant_id, integration_id, pkce_verifier_sealed,
              redirect_uri, v_expires;

    IF NOT FOUND THEN
        IF EXISTS (SELECT 1 FROM oauth_sessions s
                    WHERE s.state_hash = p_state_hash)
        THEN
            outcome := 'used';
        ELSE
            outcome := 'unknown';
        END IF;

        tenant_id := NULL;
        integration_id := NULL;
        pkce_verifier_sealed := NULL;
        redirect_uri := NULL;
        RETURN NEXT;
        RETURN;
    END IF;

    SELECT t.slug, i.provider INTO tenant_slug, provider
      FROM tenants t JOIN integrations i ON i.tenant_id = t.id
     WHERE t.id = oauth_session_consume.tenant_id
       AND i.id = oauth_session_consume.integration_id
       AND t.status = 'active';

    IF NOT FOUND THEN
        outcome := 'unknown';
        tenant_id := NULL;
        integration_id := NULL;
        pkce_verifier_sealed := NULL;
        redirect_uri := NULL;

    ELSIF v_expires <= p_now THEN
        outcome := 'expired';
        pkce_verifier_sealed := NULL;

    ELSE
        outcome := 'ok';
    END IF;

    RETURN NEXT;
END $$;
REVOKE ALL ON FUNCTION oauth_session_consume(bytea, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION oauth_session_consume(bytea, timestamptz)
    TO hubgate_app;

-- A new authorize_url (reconnect) retires the integration's unused sessions.
CREATE INDEX oauth_sessions_integration ON oauth_sessions (integration_id);
