-- The reconciler's own bookkeeping. Not part of the contract: the product never reads or
-- writes these tables (connection_status is its view of the same facts).

-- One row per connection the daemon has worked on.
CREATE TABLE connection_state (
    connection_id uuid PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
    -- The newest connections.reconnect_requested_at already acted on.
    handled_reconnect_at timestamptz NULL,
    -- The highest component-set serial ever begun. Serials are never reused: a deactivated
    -- integration user keeps its username for ever.
    last_serial integer NOT NULL DEFAULT 0,
    -- A replacement set could not get an integration licence seat while the active set held
    -- one: replace break-before-make.
    no_spare_seat boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per set of components in the org (user, licence assignment, permission set and its
-- grants, assignment, External Client App). Written as soon as each component exists, so a
-- pass that is cut off is followed by one that knows what was made.
CREATE TABLE component_sets (
    connection_id uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    serial integer NOT NULL CHECK (serial > 0),
    -- The reconciler's model of the set (role, fields, ids of each component).
    state jsonb NOT NULL,
    consumer_key text NULL,
    -- Sealed with secrets.key; associated data binds it to the connection and purpose.
    consumer_secret bytea NULL,
    verified_at timestamptz NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, serial)
);

-- Due work is found through connection_status.next_attempt_at and observed_generation.
CREATE INDEX connection_status_next_attempt_idx
    ON connection_status (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
