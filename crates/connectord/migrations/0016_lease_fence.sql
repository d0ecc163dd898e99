-- The fence every write of a leased pass goes through (issue 14, item 4). A pass run by the
-- daemon holds a lease (connection_leases: owner, epoch); its writes of status, component sets,
-- reconciler state and events call this function IN THE SAME STATEMENT, so a pass whose lease
-- lapsed (a process frozen past its lease, a heartbeat that could not reach the database) and
-- was taken over writes nothing, however late it wakes up.
--
-- `lease_owner` NULL: the write is not fenced (a pass run from a test, `reconcile_once`, the
-- demo: nobody else contends for the connection).
--
-- The lease row is locked FOR SHARE for the rest of the writing transaction: a takeover (the
-- claim's UPDATE of that row) waits until the fenced write has committed, so no fenced write
-- ever lands after another process claimed the connection.
CREATE FUNCTION connection_lease_holds(connection uuid, lease_owner text, lease_epoch bigint)
RETURNS boolean
LANGUAGE sql VOLATILE AS $$
    SELECT lease_owner IS NULL OR EXISTS (
        SELECT 1 FROM connection_leases l
         WHERE l.connection_id = connection AND l.owner = lease_owner
           AND l.epoch = lease_epoch AND l.expires_at > now()
           FOR SHARE)
$$;
