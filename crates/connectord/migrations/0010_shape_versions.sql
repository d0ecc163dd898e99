-- Upgrades: the version of the shape (app scopes and policies, permission template) each
-- connection's components were built with, and the pacing of in-place upgrades.

-- The shape version of the app in service (NULL while there is none). Contract: "the status
-- shows each connection's version".
ALTER TABLE connection_status ADD COLUMN shape_version integer NULL;

-- One row per in-place upgrade begun, across every process: at most
-- reconciler.upgrades_per_minute rows may fall in any minute. Not part of the contract.
CREATE TABLE upgrade_slots (
    id bigserial PRIMARY KEY,
    connection_id uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    taken_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX upgrade_slots_taken_at_idx ON upgrade_slots (taken_at);
