-- Desired state: one row per tenant per Salesforce org, written by the product.
-- The rules below live in the database so that every writer (the product, the command line,
-- a person with psql) gets the same clear error at write time.

-- Settings the database needs to enforce its rules. Exactly one row; the daemon writes
-- `reconciler.max_connections_per_tenant` here when it starts.
CREATE TABLE connectord_settings (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    max_connections_per_tenant integer NOT NULL DEFAULT 20
        CHECK (max_connections_per_tenant > 0)
);
INSERT INTO connectord_settings DEFAULT VALUES;

CREATE TABLE connections (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id text NOT NULL,
    instance_url text NOT NULL,
    enabled boolean NOT NULL DEFAULT false,
    required_fields text[] NOT NULL DEFAULT '{}',
    reconnect_requested_at timestamptz NULL,
    -- Write-only inbox: the daemon seals a token written here and sets the column back to NULL.
    admin_refresh_token text NULL,
    generation bigint NOT NULL DEFAULT 1,
    mapping_mode text NOT NULL DEFAULT 'email'
        CONSTRAINT connections_mapping_mode_check
        CHECK (mapping_mode IN ('email', 'saml_name_id', 'manual')),
    auto_mapping boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT connections_tenant_instance_unique UNIQUE (tenant_id, instance_url)
);

-- Shape checks: a clear message naming the bad value, before any constraint is checked.
CREATE FUNCTION connections_validate() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    field text;
    entry_number integer := 0;
BEGIN
    IF btrim(NEW.tenant_id) = '' THEN
        RAISE EXCEPTION 'tenant_id must not be empty'
            USING ERRCODE = 'check_violation', TABLE = 'connections', COLUMN = 'tenant_id',
                  CONSTRAINT = 'connections_tenant_id_shape';
    END IF;

    IF NEW.instance_url !~ '^https?://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$' THEN
        RAISE EXCEPTION 'instance_url "%" is not an http(s) URL of a host', NEW.instance_url
            USING ERRCODE = 'check_violation', TABLE = 'connections', COLUMN = 'instance_url',
                  CONSTRAINT = 'connections_instance_url_shape',
                  HINT = 'write the org''s My Domain URL without a path or a trailing slash, '
                      || 'like https://acme.my.salesforce.com';
    END IF;

    FOREACH field IN ARRAY NEW.required_fields LOOP
        entry_number := entry_number + 1;
        IF field IS NULL
           OR field !~ '^[A-Za-z][A-Za-z0-9_]*\.[A-Za-z][A-Za-z0-9_]*$' THEN
            RAISE EXCEPTION 'required_fields entry % (%) is not an Object.Field API name',
                    entry_number, coalesce('"' || field || '"', 'NULL')
                USING ERRCODE = 'check_violation', TABLE = 'connections',
                      COLUMN = 'required_fields', CONSTRAINT = 'connections_required_fields_shape',
                      HINT = 'write each entry like Account.Name or Invoice__c.Total__c';
        END IF;
    END LOOP;

    IF NEW.mapping_mode NOT IN ('email', 'saml_name_id', 'manual') THEN
        RAISE EXCEPTION 'mapping_mode "%" is not one of email, saml_name_id, manual',
                NEW.mapping_mode
            USING ERRCODE = 'check_violation', TABLE = 'connections', COLUMN = 'mapping_mode',
                  CONSTRAINT = 'connections_mapping_mode_check';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER connections_10_validate
    BEFORE INSERT OR UPDATE ON connections
    FOR EACH ROW EXECUTE FUNCTION connections_validate();

-- The per-tenant cap and a readable duplicate error. The advisory lock (in a key space of its
-- own: the two-key form with a fixed first key) serialises writers of one tenant, so two
-- concurrent inserts cannot both see room for one more. Under READ COMMITTED (PostgreSQL's
-- default) each statement below sees what the previous lock holder committed.
CREATE FUNCTION connections_tenant_rules() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    cap integer;
    existing integer;
    duplicate uuid;
BEGIN
    IF TG_OP = 'UPDATE'
       AND NEW.tenant_id IS NOT DISTINCT FROM OLD.tenant_id
       AND NEW.instance_url IS NOT DISTINCT FROM OLD.instance_url THEN
        RETURN NEW;
    END IF;

    PERFORM pg_advisory_xact_lock(hashtext('connectord.tenant'), hashtext(NEW.tenant_id));

    SELECT c.id INTO duplicate FROM connections c
     WHERE c.tenant_id = NEW.tenant_id AND c.instance_url = NEW.instance_url AND c.id <> NEW.id;
    IF FOUND THEN
        RAISE EXCEPTION 'tenant "%" already has a connection to % (connection %)',
                NEW.tenant_id, NEW.instance_url, duplicate
            USING ERRCODE = 'unique_violation', TABLE = 'connections',
                  CONSTRAINT = 'connections_tenant_instance_unique';
    END IF;

    IF TG_OP = 'INSERT' OR NEW.tenant_id IS DISTINCT FROM OLD.tenant_id THEN
        SELECT s.max_connections_per_tenant INTO cap FROM connectord_settings s;
        cap := coalesce(cap, 20);
        SELECT count(*) INTO existing FROM connections c
         WHERE c.tenant_id = NEW.tenant_id AND c.id <> NEW.id;
        IF existing >= cap THEN
            RAISE EXCEPTION 'tenant "%" already has % (the limit is %)',
                    NEW.tenant_id,
                    existing || CASE WHEN existing = 1 THEN ' connection' ELSE ' connections' END,
                    cap
                USING ERRCODE = 'check_violation', TABLE = 'connections',
                      CONSTRAINT = 'connections_per_tenant_limit',
                      HINT = 'remove a connection first, or raise '
                          || 'reconciler.max_connections_per_tenant';
        END IF;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER connections_20_tenant_rules
    BEFORE INSERT OR UPDATE OF tenant_id, instance_url ON connections
    FOR EACH ROW EXECUTE FUNCTION connections_tenant_rules();

-- Runs as the role that applied the migrations, so a writer needs no grant on
-- connectord_settings; the search path is pinned to this schema (temporary objects last)
-- so that nothing can be slipped in.
DO $pin$ BEGIN
    EXECUTE format('ALTER FUNCTION connections_tenant_rules() SET search_path = %I, pg_temp',
                   current_schema());
END $pin$;

-- `generation` counts changes of the desired state; the daemon compares it with
-- `connection_status.observed_generation`. Writers cannot set it themselves.
-- A new admin refresh token counts as a change (so it retriggers work); the daemon clearing
-- the inbox column does not.
CREATE FUNCTION connections_bump_generation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.generation := OLD.generation;
    NEW.created_at := OLD.created_at;
    IF NEW.enabled IS DISTINCT FROM OLD.enabled
       OR NEW.required_fields IS DISTINCT FROM OLD.required_fields
       OR NEW.reconnect_requested_at IS DISTINCT FROM OLD.reconnect_requested_at
       OR NEW.instance_url IS DISTINCT FROM OLD.instance_url
       OR NEW.tenant_id IS DISTINCT FROM OLD.tenant_id
       OR NEW.mapping_mode IS DISTINCT FROM OLD.mapping_mode
       OR NEW.auto_mapping IS DISTINCT FROM OLD.auto_mapping
       OR (NEW.admin_refresh_token IS NOT NULL
           AND NEW.admin_refresh_token IS DISTINCT FROM OLD.admin_refresh_token) THEN
        NEW.generation := OLD.generation + 1;
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TRIGGER connections_30_bump_generation
    BEFORE UPDATE ON connections
    FOR EACH ROW EXECUTE FUNCTION connections_bump_generation();

-- Every change is announced on the channel `connectord_connections` with the row id as
-- payload, so the daemon reacts at once instead of at its next poll.
CREATE FUNCTION connections_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('connectord_connections', OLD.id::text);
    ELSE
        PERFORM pg_notify('connectord_connections', NEW.id::text);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER connections_90_notify
    AFTER INSERT OR UPDATE OR DELETE ON connections
    FOR EACH ROW EXECUTE FUNCTION connections_notify();
