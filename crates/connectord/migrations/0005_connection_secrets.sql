-- Internal: credentials sealed with `secrets.key` (AES-256-GCM; the connection id and the
-- purpose are bound in as associated data). Never readable without the key.
CREATE TABLE connection_secrets (
    connection_id uuid PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
    admin_refresh_token bytea NULL,
    consumer_secret bytea NULL,
    -- Hex id of the key that sealed both values; rows under an older key need resealing.
    key_id text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
