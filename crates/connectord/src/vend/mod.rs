//! Token vending: short-lived client-credentials access tokens for a tenant's agent.
//!
//! [`Vendor::token`] is the one path every token goes through, from `connectord token ID
//! --tenant T` (the operator, who holds `secrets.key`) and from the daemon's
//! `POST /v1/connections/{id}/token` (an agent, with a bearer credential bound to its tenant;
//! see [`agents`] and [`endpoint`]). Each call first runs [`authorise`] (one statement, no
//! Salesforce call); only then is a cached token served or a new one minted. The threat model
//! is in `docs/security.md`, section 2.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use secrecy::{ExposeSecret as _, SecretString};
use sqlx::PgPool;
use url::Url;
use uuid::Uuid;

use crate::error_code::ErrorCode;
use crate::salesforce::{Salesforce, SalesforceError};
use crate::secrets::{Purpose, Sealer};

pub mod agents;
mod authorise;
pub mod endpoint;
mod settings;

pub use authorise::{Authorised, Grant, authorise};
pub use settings::VendingSettings;

/// Why no token was vended. No variant's text holds a secret.
#[derive(Debug, thiserror::Error)]
pub enum VendError {
    /// Not the tenant's connection, unknown, off, not ready at its generation, or not
    /// verified: one message for all, so it does not reveal whether another tenant's id exists.
    #[error(
        "token_not_available: no token is available for connection {id} of tenant {tenant:?}; \
         a token is vended only for the tenant's own connection while it is enabled and ready"
    )]
    NotAvailable { id: Uuid, tenant: String },
    #[error("cannot read the connection's authorisation")]
    Database(#[from] sqlx::Error),
    #[error("cannot open the app's sealed consumer secret (was secrets.key changed?)")]
    Sealed,
    #[error("the org did not mint a token: {0}")]
    Salesforce(#[from] SalesforceError),
}

impl VendError {
    /// The contract's error code for this refusal or failure.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Self::NotAvailable { .. } => ErrorCode::TokenNotAvailable,
            Self::Database(_) | Self::Sealed => ErrorCode::Internal,
            Self::Salesforce(e) => e.error_code(),
        }
    }
}

/// A vended token. `Debug` hides it.
#[derive(Debug, Clone)]
pub struct Vended {
    pub access_token: SecretString,
    /// The org's URL, checked with the same host policy as every other caller's.
    pub instance_url: Url,
    /// As Salesforce sent it (milliseconds since the epoch).
    pub issued_at: Option<String>,
    pub expires_at: DateTime<Utc>,
}

impl Vended {
    /// What `connectord token` prints and the endpoint answers: the token is exposed here only.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "access_token": self.access_token.expose_secret(),
            "instance_url": self.instance_url.as_str().trim_end_matches('/'),
            "token_type": "Bearer",
            "issued_at": self.issued_at,
            "expires_at": self.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        })
    }
}

struct Cached {
    grant: Grant,
    token: Vended,
}

struct Inner {
    pool: PgPool,
    salesforce: Salesforce,
    sealer: Arc<Sealer>,
    settings: VendingSettings,
    /// One token per connection, in memory only.
    cache: Mutex<HashMap<Uuid, Cached>>,
}

/// Vends tokens; one per process, cheap to clone (clones share the cache).
#[derive(Clone)]
pub struct Vendor {
    inner: Arc<Inner>,
}

impl Vendor {
    pub fn new(
        pool: PgPool,
        salesforce: Salesforce,
        sealer: Arc<Sealer>,
        settings: VendingSettings,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                pool,
                salesforce,
                sealer,
                settings,
                cache: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// A token for `tenant`'s connection `id`: authorised first, then from the cache while the
    /// grant is unchanged and the token is not within `refresh_margin` of expiring, else minted.
    pub async fn token(&self, id: Uuid, tenant: &str) -> Result<Vended, VendError> {
        let Some(authorised) = authorise(&self.inner.pool, id, tenant).await? else {
            self.forget(id);
            return Err(VendError::NotAvailable {
                id,
                tenant: tenant.to_owned(),
            });
        };
        if let Some(token) = self.cached(id, &authorised.grant) {
            return Ok(token);
        }
        let token = self.mint(id, &authorised).await?;
        if let Ok(mut cache) = self.inner.cache.lock() {
            cache.insert(
                id,
                Cached {
                    grant: authorised.grant,
                    token: token.clone(),
                },
            );
        }
        Ok(token)
    }

    fn cached(&self, id: Uuid, grant: &Grant) -> Option<Vended> {
        let margin = TimeDelta::from_std(self.inner.settings.refresh_margin).ok()?;
        let cache = self.inner.cache.lock().ok()?;
        let hit = cache.get(&id)?;
        (hit.grant == *grant && Utc::now() < hit.token.expires_at - margin)
            .then(|| hit.token.clone())
    }

    fn forget(&self, id: Uuid) {
        if let Ok(mut cache) = self.inner.cache.lock() {
            cache.remove(&id);
        }
    }

    async fn mint(&self, id: Uuid, authorised: &Authorised) -> Result<Vended, VendError> {
        let sf = &self.inner.salesforce;
        let secret = self
            .inner
            .sealer
            .open(id, Purpose::ConsumerSecret, &authorised.sealed_secret)
            .map_err(|_| VendError::Sealed)?;
        let url_text = &authorised.grant.instance_url;
        let url = Url::parse(url_text).map_err(|e| SalesforceError::InvalidInstanceUrl {
            url: url_text.clone(),
            reason: e.to_string(),
        })?;
        let url = sf.instance_policy().check(&url)?;
        let before = Utc::now();
        let token = sf
            .client_credentials_token(&url, &authorised.grant.consumer_key, &secret)
            .await?;
        // The URL the token response names is where the agent will send the token: it passes
        // the same host policy as every other URL a token goes to.
        let instance_url = sf
            .instance_policy()
            .check(&token.instance_url.unwrap_or(url))?;
        let expires_at = expiry(
            token.issued_at.as_deref(),
            before,
            self.inner.settings.token_lifetime,
        );
        Ok(Vended {
            access_token: token.token,
            instance_url,
            issued_at: token.issued_at,
            expires_at,
        })
    }
}

/// `issued_at` (milliseconds since the epoch) plus `lifetime`, counted from the earlier of
/// Salesforce's `issued_at` and our clock before the request, so neither clock being ahead
/// makes a token look longer-lived than it is.
fn expiry(
    issued_at: Option<&str>,
    before: DateTime<Utc>,
    lifetime: std::time::Duration,
) -> DateTime<Utc> {
    let issued = issued_at
        .and_then(|ms| ms.trim().parse::<i64>().ok())
        .and_then(DateTime::<Utc>::from_timestamp_millis)
        .map_or(before, |at| at.min(before));
    issued + TimeDelta::from_std(lifetime).unwrap_or(TimeDelta::minutes(15))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_counts_from_the_earlier_clock_and_ignores_a_malformed_issued_at() {
        let before = DateTime::<Utc>::from_timestamp_millis(1_700_000_000_000).unwrap();
        let lifetime = std::time::Duration::from_secs(900);
        let later = Some("1700000005000");
        let earlier = Some("1699999990000");
        assert_eq!(
            expiry(later, before, lifetime),
            before + TimeDelta::seconds(900)
        );
        assert_eq!(
            expiry(earlier, before, lifetime),
            before + TimeDelta::seconds(890)
        );
        assert_eq!(
            expiry(Some("soon"), before, lifetime),
            before + TimeDelta::seconds(900)
        );
        assert_eq!(
            expiry(None, before, lifetime),
            before + TimeDelta::seconds(900)
        );
    }
}
