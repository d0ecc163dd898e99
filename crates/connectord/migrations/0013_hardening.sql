-- Database hardening (issue 14, items 1 and 10 and the tenant_id / required_fields limits).
-- See docs/security.md.
--
-- 1. Every SECURITY DEFINER function runs with a pinned search path: this schema, then
--    temporary objects last. Without it, a session of the product's role could create a
--    TEMP TABLE named like one of ours (temporary objects come first on the default path)
--    with a trigger of its own, and a definer function writing "that" table would run the
--    session's trigger as the role that applied the migrations. The two due-queue functions
--    of 0011 are recreated with every name qualified (the schema is the one this migration
--    runs in: the daemon may run in a non-public one), and any definer function of this
--    schema still without a pinned path gets one.

DO $pin$
DECLARE
    s text := quote_ident(current_schema());
BEGIN
    EXECUTE replace($fn$
CREATE OR REPLACE FUNCTION @s@.connection_due_on_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO @s@.connection_due (connection_id, due_at, changed_at)
            VALUES (NEW.id, '-infinity', pg_catalog.now())
            ON CONFLICT (connection_id)
            DO UPDATE SET due_at = '-infinity', changed_at = pg_catalog.now();
    ELSIF NEW.generation IS DISTINCT FROM OLD.generation
          OR (NEW.admin_refresh_token IS NOT NULL
              AND NEW.admin_refresh_token IS DISTINCT FROM OLD.admin_refresh_token) THEN
        UPDATE @s@.connection_due SET due_at = '-infinity', changed_at = pg_catalog.now()
         WHERE connection_id = NEW.id;
    END IF;
    RETURN NULL;
END;
$$
$fn$, '@s@', s);

    EXECUTE replace($fn$
CREATE OR REPLACE FUNCTION @s@.connection_due_on_daemon_write() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    PERFORM @s@.connection_due_refresh(coalesce(NEW.connection_id, OLD.connection_id));
    RETURN NULL;
END;
$$
$fn$, '@s@', s);
END
$pin$;

-- Pin every definer function of this schema (the two above, and any other, now or left by a
-- hand edit) to this schema with temporary objects last. pg_catalog is searched first anyway.
DO $pin$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = current_schema()::regnamespace AND p.prosecdef
    LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = %I, pg_temp', f, current_schema());
    END LOOP;
END
$pin$;

-- 10. A row's tenant never changes: a row moved to another tenant would keep its sealed token
--     and map the other tenant's members. The product's role loses the column grant, and every
--     writer (an owner with psql too) gets a clear error naming the column. A connection for
--     another tenant is a new row.
CREATE FUNCTION connections_tenant_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.tenant_id IS DISTINCT FROM OLD.tenant_id THEN
        RAISE EXCEPTION 'tenant_id cannot be changed (connection % belongs to tenant "%")',
                OLD.id, OLD.tenant_id
            USING ERRCODE = 'check_violation', TABLE = 'connections', COLUMN = 'tenant_id',
                  CONSTRAINT = 'connections_tenant_id_immutable',
                  HINT = 'add a new connection for the other tenant instead';
    END IF;
    RETURN NEW;
END;
$$;

-- Fires first among the BEFORE UPDATE triggers (they fire in name order).
CREATE TRIGGER connections_01_tenant_immutable
    BEFORE UPDATE OF tenant_id ON connections
    FOR EACH ROW EXECUTE FUNCTION connections_tenant_immutable();

DO $grants$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'connectord_product') THEN
        REVOKE UPDATE (tenant_id) ON connections FROM connectord_product;
    END IF;
END
$grants$;

-- Limits on what the product writes, checked before the shape checks of 0001 (so a huge
-- required_fields is refused before its entries are looked at):
--   * tenant_id: 1 to 128 characters, no control characters (C0, DEL, C1, U+2028, U+2029),
--     and no "@{" (the tenant ends up in Salesforce composite request bodies, where "@{"
--     starts a reference to another subrequest's result);
--   * required_fields: at most 500 entries.
CREATE FUNCTION connections_limits() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF char_length(NEW.tenant_id) NOT BETWEEN 1 AND 128 THEN
        RAISE EXCEPTION 'tenant_id must be 1 to 128 characters long (it has %)',
                char_length(NEW.tenant_id)
            USING ERRCODE = 'check_violation', TABLE = 'connections', COLUMN = 'tenant_id',
                  CONSTRAINT = 'connections_tenant_id_shape';
    END IF;
    IF NEW.tenant_id ~ '[\x01-\x1f\x7f-\x9f\u2028\u2029]' THEN
        RAISE EXCEPTION 'tenant_id must not contain control characters'
            USING ERRCODE = 'check_violation', TABLE = 'connections', COLUMN = 'tenant_id',
                  CONSTRAINT = 'connections_tenant_id_shape';
    END IF;
    IF strpos(NEW.tenant_id, '@{') > 0 THEN
        RAISE EXCEPTION 'tenant_id must not contain "@{"'
            USING ERRCODE = 'check_violation', TABLE = 'connections', COLUMN = 'tenant_id',
                  CONSTRAINT = 'connections_tenant_id_shape';
    END IF;
    IF cardinality(NEW.required_fields) > 500 THEN
        RAISE EXCEPTION 'required_fields has % entries (the limit is 500)',
                cardinality(NEW.required_fields)
            USING ERRCODE = 'check_violation', TABLE = 'connections',
                  COLUMN = 'required_fields', CONSTRAINT = 'connections_required_fields_limit';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER connections_09_limits
    BEFORE INSERT OR UPDATE OF tenant_id, required_fields ON connections
    FOR EACH ROW EXECUTE FUNCTION connections_limits();
