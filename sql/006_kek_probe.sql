-- 006_kek_probe: hubgated checks at start that each KEK version in its
-- kek_file is the key that wrapped the data keys (a wrong key pasted under
-- the right version number would otherwise fail only at the first
-- decrypt). One wrapped data key per KEK version, with its tenant for the
-- associated data; wrapped keys are useless without the KEK.
CREATE FUNCTION kek_probe() RETURNS TABLE (kek_version integer, tenant_id uuid, wrapped_key bytea)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT DISTINCT ON (kek_version) kek_version, tenant_id, wrapped_key
            FROM tenant_keys WHERE retired_at IS NULL
           ORDER BY kek_version, created_at $$;
REVOKE ALL ON FUNCTION kek_probe() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kek_probe() TO hubgate_app;
