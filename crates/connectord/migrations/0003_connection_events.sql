-- Append-only audit trail. `connection_id` has no foreign key on purpose: the trail of a
-- connection outlives its row. Never a secret in it.
CREATE TABLE connection_events (
    id bigserial PRIMARY KEY,
    connection_id uuid NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    action text NOT NULL,
    outcome text NOT NULL,
    detail jsonb NOT NULL DEFAULT '{}'
);

CREATE INDEX connection_events_connection_at ON connection_events (connection_id, at);

-- The trail records the deletion of the row itself, with what identified it.
CREATE FUNCTION connections_record_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    INSERT INTO connection_events (connection_id, action, outcome, detail)
    VALUES (OLD.id, 'connection_deleted', 'ok',
            jsonb_build_object('tenant_id', OLD.tenant_id, 'instance_url', OLD.instance_url,
                               'generation', OLD.generation));
    RETURN NULL;
END;
$$;

CREATE TRIGGER connections_80_record_delete
    AFTER DELETE ON connections
    FOR EACH ROW EXECUTE FUNCTION connections_record_delete();

-- Runs as the role that applied the migrations: deleting a row needs no grant on the audit
-- trail. The search path is pinned likewise.
DO $pin$ BEGIN
    EXECUTE format('ALTER FUNCTION connections_record_delete() SET search_path = %I, pg_temp',
                   current_schema());
END $pin$;
