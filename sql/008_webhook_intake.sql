-- 008_webhook_intake: the intake of verified webhooks, many per commit.
-- Tenant isolation as described in 001_core.sql.
--
-- hubgated collects the events that arrive while a commit is under way
-- and hands them to webhook_intake() together, in autocommit: one round
-- trip and one commit for the whole group (group commit), instead of
-- BEGIN, the tenant scope, the insert and COMMIT per event.  An event is
-- answered 2xx only after the commit of its group.
--
-- The function runs as its caller (hubgate_app), so row-level security
-- applies to every insert: each event is scoped to the tenant that owns
-- its integration (integration_tenant(), the one lookup across tenants)
-- and every statement names that tenant.
--
-- One row per input, by position (ord, 1-based): event NULL when there is
-- no integration of that provider; else the event's row, whether it was
-- there already (a redelivery, or the same event twice in the group), and
-- the tenant.  A new event gets its webhook.process job in the same
-- transaction.  A concurrent delivery of the same event in another group
-- waits on the unique key, then finds the committed row; hubgated sorts a
-- group by (provider, integration, event id) so two groups take those
-- locks in one order and cannot deadlock.

CREATE FUNCTION webhook_intake(p_provider text[], p_integration uuid[],
                               p_event_id text[], p_event_type text[],
                               p_body bytea[])
    RETURNS TABLE (ord integer, event uuid, duplicate boolean, tenant uuid)
    LANGUAGE plpgsql VOLATILE SECURITY INVOKER
    AS $$
DECLARE
    v_tenant   uuid;
    v_id       uuid;
    v_provider text;
    v_integ    uuid;
    i          integer;
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_event_id, 1), 0) LOOP
        ord := i;

        -- a group comes sorted by integration: look each one up once
        IF v_integ IS DISTINCT FROM p_integration[i]
           OR v_provider IS DISTINCT FROM p_provider[i]
        THEN
            v_provider := p_provider[i];
            v_integ := p_integration[i];
            v_tenant := public.integration_tenant(v_integ, v_provider);

            IF v_tenant IS NOT NULL THEN
                PERFORM pg_catalog.set_config('hubgate.tenant',
                                              v_tenant::text, true);
            END IF;
        END IF;

        tenant := v_tenant;

        IF v_tenant IS NULL THEN
            event := NULL;
            duplicate := NULL;
            RETURN NEXT;
            CONTINUE;
        END IF;

        v_id := NULL;

        INSERT INTO public.webhook_events (tenant_id, provider,
                                           integration_id, event_id,
                                           event_type, body)
            VALUES (v_tenant, p_provider[i], p_integration[i],
                    p_event_id[i], p_event_type[i], p_body[i])
            ON CONFLICT (provider, integration_id, event_id) DO NOTHING
            RETURNING id INTO v_id;

        IF v_id IS NOT NULL THEN
            INSERT INTO public.jobs (tenant_id, integration_id, kind,
                                     payload, unique_key)
                VALUES (v_tenant, p_integration[i], 'webhook.process',
                        jsonb_build_object('event_id', v_id),
                        'webhook:' || v_id);
            event := v_id;
            duplicate := false;

        ELSE
            SELECT e.id INTO event FROM public.webhook_events e
             WHERE e.tenant_id = v_tenant AND e.provider = p_provider[i]
               AND e.integration_id = p_integration[i]
               AND e.event_id = p_event_id[i];
            duplicate := true;
        END IF;

        RETURN NEXT;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION webhook_intake(text[], uuid[], text[], text[], bytea[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION webhook_intake(text[], uuid[], text[], text[], bytea[]) TO hubgate_app;
