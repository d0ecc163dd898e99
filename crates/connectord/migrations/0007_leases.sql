-- Work claiming across replicas. Not part of the contract: the product never reads or writes
-- these tables.

-- One row per connection ever claimed. A connection may be claimed when it has no row, or when
-- its row's expires_at has passed: either released (owner NULL) or held by a replica that
-- stopped heart-beating (owner set: the claim is a takeover).
CREATE TABLE connection_leases (
    connection_id uuid PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
    -- The process holding it (host:pid:random), NULL once released.
    owner text NULL,
    -- Counts claims; a holder proves it still holds the lease with (owner, epoch).
    epoch bigint NOT NULL DEFAULT 1,
    -- Extended by the holder's heartbeat. After a release it may lie a little in the future:
    -- a pass that broke off without writing its status leaves a short cool-down.
    expires_at timestamptz NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX connection_leases_owner_idx ON connection_leases (owner) WHERE owner IS NOT NULL;

-- Who worked on what, when: one row per claim. `ended` is 'released' or 'expired' (taken over
-- after the holder stopped heart-beating); NULL while held. Times are clock_timestamp() taken
-- inside the claiming and releasing statements, so for one connection the intervals
-- [claimed_at, released_at] of different claims never overlap. Rows older than a week are
-- pruned by the daemon.
CREATE TABLE connection_lease_history (
    connection_id uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    epoch bigint NOT NULL,
    owner text NOT NULL,
    claimed_at timestamptz NOT NULL,
    released_at timestamptz NULL,
    ended text NULL CHECK (ended IN ('released', 'expired')),
    PRIMARY KEY (connection_id, epoch)
);

CREATE INDEX connection_lease_history_released_idx ON connection_lease_history (released_at);

-- When the desired state last changed (generation bumped), for the "desired change to ready"
-- metric. Added by this migration; maintained by the trigger below, never by writers.
ALTER TABLE connections ADD COLUMN generation_changed_at timestamptz NOT NULL DEFAULT now();

CREATE FUNCTION connections_note_generation_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.generation IS DISTINCT FROM OLD.generation THEN
        NEW.generation_changed_at := now();
    ELSE
        NEW.generation_changed_at := OLD.generation_changed_at;
    END IF;
    RETURN NEW;
END;
$$;

-- Fires after connections_30_bump_generation (triggers fire in name order).
CREATE TRIGGER connections_40_note_generation_change
    BEFORE UPDATE ON connections
    FOR EACH ROW EXECUTE FUNCTION connections_note_generation_change();
