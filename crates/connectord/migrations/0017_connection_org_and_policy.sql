-- Issue 14, items 5 and 7: which org a connection's components live in, and a per-connection
-- IP relaxation policy.

-- Item 7. The IP relaxation policy of this connection's app: 'enforce' honours the org's IP
-- restrictions, 'bypass' lets the app's tokens in from any address. NULL means the
-- installation's default (`salesforce.ip_relaxation`). Desired state, written by the product.
ALTER TABLE connections ADD COLUMN ip_relaxation text NULL
    CONSTRAINT connections_ip_relaxation_check CHECK (ip_relaxation IN ('enforce', 'bypass'));

-- A changed policy is a change of the desired state. connections_30_bump_generation (0001)
-- leaves `generation` as it was or one higher; this trigger fires after it (triggers fire in
-- name order) and before connections_40_note_generation_change, and counts the policy too.
CREATE FUNCTION connections_bump_generation_policy() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.ip_relaxation IS DISTINCT FROM OLD.ip_relaxation
       AND NEW.generation = OLD.generation THEN
        NEW.generation := OLD.generation + 1;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER connections_35_bump_generation_policy
    BEFORE UPDATE ON connections
    FOR EACH ROW EXECUTE FUNCTION connections_bump_generation_policy();

DO $grants$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'connectord_product') THEN
        RETURN;
    END IF;
    GRANT SELECT (ip_relaxation), INSERT (ip_relaxation), UPDATE (ip_relaxation)
        ON connections TO connectord_product;
END
$grants$;

-- Item 5. Daemon-owned, never written by the product: the row's `instance_url` the recorded
-- component sets were built for, and the Salesforce org id the admin's token answered for
-- there (from the token response's `id` URL, `.../id/ORGID/USERID`). A row whose
-- `instance_url` no longer equals `org_url` was pointed at another org: the components are
-- torn down in the recorded org first.
ALTER TABLE connection_state ADD COLUMN org_url text NULL;
ALTER TABLE connection_state ADD COLUMN org_id text NULL;

-- Rows worked on before this migration were built for the URL the row names now.
UPDATE connection_state st SET org_url = c.instance_url
  FROM connections c WHERE c.id = st.connection_id;
