-- When each connection may next be claimed, kept beside it so that a claim reads an index of
-- due work instead of scanning every connection (BENCHMARKS.md, "Cost of idling"). Not part
-- of the contract: the product never reads or writes this table.
--
-- `due_at` is never later than the moment the connection becomes claimable: the claim still
-- checks the full rule on the rows the index gives it, so an early `due_at` only costs a look.
-- The rule (see src/daemon/claim.rs): no lease or an expired one, and then never reconciled,
-- desired state changed, a token in the inbox, a retry or resync due, or a lease left by a
-- process that stopped.
--   * Anything that can make a connection due sooner lowers `due_at` unconditionally: a new
--     connection or a change of its desired state sets it to -infinity.
--   * Only `connection_due_refresh` raises it. It locks the row first and computes in a later
--     statement; under READ COMMITTED that statement's snapshot holds every change whose
--     writer held the lock before, and a writer that comes after lowers it again itself. So a
--     change of the desired state made while a pass writes its status is never lost.
--   * A claim moves `due_at` to the lease's expiry, out of the way of the next claim. A
--     heartbeat leaves it there: a held lease is checked by the claim itself.
CREATE TABLE connection_due (
    connection_id uuid PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
    -- NULL: nothing due until something changes.
    due_at timestamptz NULL,
    -- When the desired state last changed: among changes (all due at -infinity) the most
    -- recent is claimed first.
    changed_at timestamptz NOT NULL DEFAULT now()
);

-- The claim's order: one index scan, however much is due.
CREATE INDEX connection_due_at_idx ON connection_due (due_at, changed_at DESC)
    WHERE due_at IS NOT NULL;

-- The moment `target` becomes claimable, from the rows as they are now.
CREATE FUNCTION connection_due_compute(target uuid) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT CASE
               WHEN wanted IS NULL THEN NULL
               WHEN l.connection_id IS NULL THEN wanted
               ELSE greatest(wanted, l.expires_at)
           END
      FROM connections c
      LEFT JOIN connection_status s ON s.connection_id = c.id
      LEFT JOIN connection_leases l ON l.connection_id = c.id
     CROSS JOIN LATERAL (
           SELECT CASE
                      WHEN s.connection_id IS NULL
                           OR s.observed_generation < c.generation
                           OR c.admin_refresh_token IS NOT NULL THEN '-infinity'::timestamptz
                      -- A holder that stops leaves it due when its lease lapses (least()
                      -- ignores a NULL next_attempt_at).
                      WHEN l.owner IS NOT NULL THEN least(s.next_attempt_at, l.expires_at)
                      ELSE s.next_attempt_at
                  END AS wanted) w
     WHERE c.id = target
$$;

CREATE FUNCTION connection_due_refresh(target uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM connection_due WHERE connection_id = target FOR UPDATE;
    -- A statement of its own: it sees what the writers who held the lock before us committed.
    UPDATE connection_due SET due_at = connection_due_compute(target)
     WHERE connection_id = target;
END;
$$;

-- A new connection, or a change that bumped its generation (or a token in the inbox): due now.
-- Triggers run as their definer: the product's role (migration 0008) has no grant on this table.
CREATE FUNCTION connection_due_on_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO connection_due (connection_id, due_at, changed_at)
            VALUES (NEW.id, '-infinity', now())
            ON CONFLICT (connection_id) DO UPDATE SET due_at = '-infinity', changed_at = now();
    ELSIF NEW.generation IS DISTINCT FROM OLD.generation
          OR (NEW.admin_refresh_token IS NOT NULL
              AND NEW.admin_refresh_token IS DISTINCT FROM OLD.admin_refresh_token) THEN
        UPDATE connection_due SET due_at = '-infinity', changed_at = now()
         WHERE connection_id = NEW.id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER connections_95_due
    AFTER INSERT OR UPDATE ON connections
    FOR EACH ROW EXECUTE FUNCTION connection_due_on_change();

-- The daemon wrote its status (a pass ended or moved on), or a lease was taken or given back:
-- recompute.
CREATE FUNCTION connection_due_on_daemon_write() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    PERFORM connection_due_refresh(coalesce(NEW.connection_id, OLD.connection_id));
    RETURN NULL;
END;
$$;

CREATE TRIGGER connection_status_due
    AFTER INSERT OR UPDATE OR DELETE ON connection_status
    FOR EACH ROW EXECUTE FUNCTION connection_due_on_daemon_write();

-- A lease taken (a new epoch), given back, cut short or deleted (by an operator, say). A
-- heartbeat (same owner and epoch, a later expiry) does not fire it.
CREATE TRIGGER connection_leases_due_claim
    AFTER INSERT ON connection_leases
    FOR EACH ROW EXECUTE FUNCTION connection_due_on_daemon_write();

CREATE TRIGGER connection_leases_due
    AFTER UPDATE OF owner, epoch, expires_at ON connection_leases
    FOR EACH ROW WHEN (NEW.owner IS NULL OR NEW.epoch IS DISTINCT FROM OLD.epoch
                       OR NEW.expires_at < OLD.expires_at)
    EXECUTE FUNCTION connection_due_on_daemon_write();

CREATE TRIGGER connection_leases_due_delete
    AFTER DELETE ON connection_leases
    FOR EACH ROW EXECUTE FUNCTION connection_due_on_daemon_write();

INSERT INTO connection_due (connection_id, due_at, changed_at)
SELECT id, connection_due_compute(id), generation_changed_at FROM connections;
