//! The admin's grant as a pass uses it: a session on the org whose access token is reused
//! across passes of this process, and whose rotated refresh tokens are stored at once.
//!
//! A rotated refresh token is stored in its own transaction before the access token that came
//! with it is used, not with the pass's results: the org stops honouring the redeemed token
//! the moment it answers, and a pass records its results in many writes over minutes, so a
//! crash or a failed step in between would otherwise lose the only token that still works.

use std::sync::Arc;

use secrecy::SecretString;
use serde_json::json;
use uuid::Uuid;

use super::pass::Reconciler;
use super::record;
use crate::salesforce::{Org, RotationSink};

impl Reconciler {
    /// The admin's session on the org at `url` for connection `id`.
    pub(super) fn admin_org(&self, id: Uuid, url: url::Url, token: SecretString) -> Org {
        let (pool, sealer) = (self.pool.clone(), self.sealer.clone());
        let store: RotationSink = Arc::new(move |redeemed, new| {
            let (pool, sealer) = (pool.clone(), sealer.clone());
            Box::pin(async move {
                let replaced = crate::store::replace_rotated_refresh_token(
                    &pool, &sealer, id, &redeemed, &new,
                )
                .await
                .map_err(|e| e.to_string())?;
                // A token written meanwhile (re-authorisation) is newer than the rotated one.
                let outcome = if replaced { "stored" } else { "newer_kept" };
                record::event(&pool, id, "admin_token_rotated", outcome, json!({}))
                    .await
                    .map_err(|e| e.to_string())
            })
        });
        self.salesforce.connection_org(id, url, token, store)
    }

    /// After the inbox handed over a new admin refresh token: the access token taken with the
    /// old one is not used again, and the trail says a token came in (never which).
    pub(super) async fn took_new_token(&self, id: Uuid) -> sqlx::Result<()> {
        self.salesforce.forget_session(id);
        record::event(&self.pool, id, "admin_token_received", "sealed", json!({})).await
    }
}
