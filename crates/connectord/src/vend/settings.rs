//! `[vending]`: how long a vended token is taken to live, and how long before that it is
//! replaced.

use std::time::Duration;

use serde::Deserialize;

use crate::config::ConfigError;

/// Salesforce's client-credentials answer carries `issued_at` but no `expires_in`: an access
/// token lives as long as the org's session timeout (Setup > Session Settings; 2 hours by
/// default, 15 minutes at the shortest). The default lifetime is that shortest value, so a
/// token is never taken to live longer than any org lets it; an operator whose orgs all use a
/// longer timeout may raise it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendingSettings {
    /// How long after `issued_at` a vended token is taken to expire (`expires_at`).
    #[serde(with = "humantime_serde")]
    pub token_lifetime: Duration,
    /// A cached token is served only until this long before its `expires_at`; then a new one
    /// is minted.
    #[serde(with = "humantime_serde")]
    pub refresh_margin: Duration,
}

impl Default for VendingSettings {
    fn default() -> Self {
        Self {
            token_lifetime: Duration::from_secs(15 * 60),
            refresh_margin: Duration::from_secs(60),
        }
    }
}

impl VendingSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.token_lifetime < Duration::from_secs(60) {
            return Err(ConfigError::new(
                "vending.token_lifetime",
                "must be at least 1m (Salesforce's shortest session timeout is 15m)",
            ));
        }
        if self.refresh_margin > self.token_lifetime {
            return Err(ConfigError::new(
                "vending.refresh_margin",
                "must not be longer than vending.token_lifetime",
            ));
        }
        Ok(())
    }
}
