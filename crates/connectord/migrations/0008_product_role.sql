-- The product's database role, `connectord_product`: what the product (its admin console,
-- support tools, monitoring) may do, and nothing more. Grant it to the product's login role:
--     GRANT connectord_product TO product_app;
--
-- It may:
--   * insert, update and delete rows of `connections`, writing only the desired columns
--     (`generation`, `created_at`, `updated_at` are the database's; deletes are still guarded
--     by the "disable it first" trigger);
--   * write `admin_refresh_token` (the inbox) but never read it back;
--   * write `tenant_members`; read `connection_status`, `connection_events`, `member_mappings`.
-- It may not read or write the sealed secrets (`connection_secrets`, `component_sets`), the
-- reconciler's bookkeeping (`connection_state`), `connectord_settings`, nor write status or
-- events: the product cannot forge what the daemon observed.
--
-- Roles belong to the whole cluster, so the role is created only when missing. Creating it
-- needs CREATEROLE; a migrating user without it gets a warning and no grants, and an operator
-- creates the role (`CREATE ROLE connectord_product NOLOGIN;`) and runs `connectord migrate`
-- again, or applies the GRANT statements below by hand.

DO $role$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'connectord_product') THEN
        BEGIN
            CREATE ROLE connectord_product NOLOGIN;
        EXCEPTION
            -- Another database of the cluster created it at the same moment.
            WHEN duplicate_object OR unique_violation THEN NULL;
            WHEN insufficient_privilege THEN
                RAISE WARNING 'connectord: cannot create role connectord_product (no CREATEROLE); '
                    'create it as an administrator and run connectord migrate again';
        END;
    END IF;
END
$role$;

DO $grants$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'connectord_product') THEN
        RETURN;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO connectord_product', current_schema());

    -- Desired state. Every column but the inbox may be read.
    GRANT SELECT (id, tenant_id, instance_url, enabled, required_fields, reconnect_requested_at,
                  generation, mapping_mode, auto_mapping, created_at, updated_at)
        ON connections TO connectord_product;
    GRANT INSERT (id, tenant_id, instance_url, enabled, required_fields, reconnect_requested_at,
                  admin_refresh_token, mapping_mode, auto_mapping)
        ON connections TO connectord_product;
    GRANT UPDATE (tenant_id, instance_url, enabled, required_fields, reconnect_requested_at,
                  admin_refresh_token, mapping_mode, auto_mapping)
        ON connections TO connectord_product;
    GRANT DELETE ON connections TO connectord_product;

    GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_members TO connectord_product;

    -- Observed state and the audit trail: read only.
    GRANT SELECT ON connection_status, connection_events, member_mappings TO connectord_product;
END
$grants$;
