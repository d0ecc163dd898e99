-- Observed state: one row per connection, written by the daemon only.
CREATE TABLE connection_status (
    connection_id uuid PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
    phase text NOT NULL DEFAULT 'pending'
        CONSTRAINT connection_status_phase_check
        CHECK (phase IN ('pending', 'provisioning', 'ready', 'recreating', 'deprovisioning',
                         'disabled', 'failed', 'action_required')),
    -- The `connections.generation` this status describes; 0 = never observed.
    observed_generation bigint NOT NULL DEFAULT 0,
    -- The URL the daemon is using now (differs from the row after a My Domain rename).
    instance_url text NULL,
    error_code text NULL,
    error_message text NULL,
    connected_app_name text NULL,
    connected_app_id text NULL,
    consumer_key text NULL,
    integration_username text NULL,
    integration_user_id text NULL,
    permission_set_name text NULL,
    permission_set_id text NULL,
    granted_fields text[] NOT NULL DEFAULT '{}',
    verified_at timestamptz NULL,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NULL,
    last_reconciled_at timestamptz NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A connection row may be deleted only when nothing of it can exist in Salesforce: the daemon
-- writes a status row before its first Salesforce call, so "no status row" means nothing was
-- ever created, and phase `disabled` means everything was torn down.
-- FOR SHARE waits for a daemon transaction that is changing the status right now, and keeps
-- it from changing the status until this delete commits.
CREATE FUNCTION connections_guard_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    current_phase text;
BEGIN
    SELECT s.phase INTO current_phase FROM connection_status s
     WHERE s.connection_id = OLD.id
       FOR SHARE;
    IF FOUND AND current_phase <> 'disabled' THEN
        RAISE EXCEPTION 'connection % may still have components in Salesforce (phase %): '
                        'disable it first and wait for phase disabled, '
                        'or use connectord connection remove', OLD.id, current_phase
            USING ERRCODE = 'restrict_violation', TABLE = 'connections',
                  CONSTRAINT = 'connections_delete_while_provisioned',
                  HINT = 'UPDATE connections SET enabled = false WHERE id = '''
                      || OLD.id || ''', then delete once connection_status.phase is disabled';
    END IF;
    RETURN OLD;
END;
$$;

CREATE TRIGGER connections_05_guard_delete
    BEFORE DELETE ON connections
    FOR EACH ROW EXECUTE FUNCTION connections_guard_delete();

-- Runs as the role that applied the migrations: the product may delete rows without being
-- allowed to lock (or even update) connection_status. The search path is pinned likewise.
DO $pin$ BEGIN
    EXECUTE format('ALTER FUNCTION connections_guard_delete() SET search_path = %I, pg_temp',
                   current_schema());
END $pin$;
