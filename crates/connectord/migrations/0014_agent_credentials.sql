-- Token vending (issue 14, item 2): the credentials agents present to the daemon's
-- `POST /v1/connections/{id}/token`. An operator makes one per agent with
-- `connectord agent add --tenant T` (the credential is printed once and never stored) and
-- revokes it with `connectord agent revoke ID`. Only a SHA-256 digest of the credential is kept:
-- the credential is 32 random bytes, so a digest cannot be reversed or guessed, and a copy of
-- this table does not let anyone vend a token.
--
-- Not part of the product role's grants (0008): the product can neither read the digests nor
-- make or revoke credentials; only the daemon's own role (the migration owner) and operators
-- with it can. An agent never connects to the database at all.
CREATE TABLE agent_credentials (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- The only tenant whose connections this credential may get tokens for.
    tenant_id text NOT NULL CHECK (tenant_id <> ''),
    -- Who holds it, for the operator (free text, never a secret).
    label text NOT NULL DEFAULT '',
    secret_digest bytea NOT NULL UNIQUE CHECK (octet_length(secret_digest) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Set by `connectord agent revoke`: from then on the credential is refused.
    revoked_at timestamptz NULL
);
CREATE INDEX agent_credentials_tenant_idx ON agent_credentials (tenant_id);
REVOKE ALL ON agent_credentials FROM PUBLIC;
