-- Issue 20 item 5: the integration user of a set connectord tore down itself (deactivated,
-- since Salesforce users cannot be deleted), kept so that the connection's next set reuses it
-- (renamed to the new set's username and reactivated) instead of leaving one more deactivated
-- user in the customer's org. At most one per connection; with the org it belongs to, so it
-- is never reused in another org. Never a user a person deactivated.
ALTER TABLE connection_state
    ADD COLUMN retired_user_id text NULL,
    ADD COLUMN retired_user_org text NULL;
