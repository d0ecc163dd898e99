-- connection_secrets.consumer_secret was never used: the consumer secret of each app lives
-- with its set of components, in component_sets.consumer_secret (0006), sealed the same way.
-- connection_secrets now holds only the sealed admin refresh token, and key_id names its key.
ALTER TABLE connection_secrets DROP COLUMN consumer_secret;
