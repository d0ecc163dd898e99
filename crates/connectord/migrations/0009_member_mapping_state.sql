-- What member mapping remembers between runs, beside the mappings themselves.

-- Members whose mapping was removed with `connectord mapping remove`: automatic mapping leaves
-- them alone until they are mapped again by hand (`mapping set` or `mapping import`).
CREATE TABLE member_mapping_blocks (
    connection_id uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    member_id text NOT NULL,
    blocked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, member_id)
);

-- Why each member was left unmapped by the last automatic run (rewritten by every run), so
-- that `mapping list` can say it: `no_match`, `no_key`, `ambiguous_users`,
-- `ambiguous_members`, `user_mapped_by_hand`, `manual_mode`.
CREATE TABLE member_mapping_gaps (
    connection_id uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    member_id text NOT NULL,
    reason text NOT NULL,
    noted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, member_id)
);
