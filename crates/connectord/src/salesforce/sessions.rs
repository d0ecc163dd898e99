//! Admin access tokens kept in memory per connection, so that a pass reuses the token an
//! earlier pass of this process took instead of redeeming the refresh token again.
//!
//! A token is reused until `salesforce.session_timeout` after it was requested (the org's
//! session timeout; Salesforce's default is two hours, and the timer only restarts on use, so
//! this is the earliest it can end), only at the host it was issued for and only for the org it
//! answered for. A session the org ended sooner answers `INVALID_SESSION_ID`; [`super::Org`]
//! then drops it here and takes a fresh one, once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret as _, SecretString};
use uuid::Uuid;

use super::{Org, error::SalesforceError};

/// One connection's admin access token.
struct Cached {
    token: SecretString,
    /// `scheme://host:port` the token was issued at.
    origin: String,
    org_id: Option<String>,
    expires: Instant,
}

/// Every connection's cached access token. `Debug` shows how many there are, never a token.
#[derive(Default)]
pub(crate) struct Sessions {
    entries: Mutex<HashMap<Uuid, Cached>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("cached", &self.lock().len())
            .finish()
    }
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Cached>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The connection's token if it is still within its lifetime, for this host and, when
    /// one is expected, this org.
    pub(crate) fn get(
        &self,
        id: Uuid,
        origin: &str,
        expected_org: Option<&str>,
    ) -> Option<(SecretString, Option<String>)> {
        let mut entries = self.lock();
        let usable = entries.get(&id).is_some_and(|c| {
            c.expires > Instant::now()
                && c.origin == origin
                && expected_org.is_none_or(|org| c.org_id.as_deref() == Some(org))
        });
        if !usable {
            entries.remove(&id);
            return None;
        }
        entries
            .get(&id)
            .map(|c| (c.token.clone(), c.org_id.clone()))
    }

    /// Keeps `token` for the connection until `requested + lifetime`.
    pub(crate) fn put(
        &self,
        id: Uuid,
        origin: String,
        org_id: Option<String>,
        token: SecretString,
        requested: Instant,
        lifetime: Duration,
    ) {
        if lifetime.is_zero() {
            return;
        }
        let expires = requested + lifetime;
        self.lock().insert(
            id,
            Cached {
                token,
                origin,
                org_id,
                expires,
            },
        );
    }

    /// Drops the connection's token if it is still `stale` (another pass may have replaced it).
    pub(crate) fn drop_if(&self, id: Uuid, stale: &SecretString) {
        let mut entries = self.lock();
        if entries
            .get(&id)
            .is_some_and(|c| c.token.expose_secret() == stale.expose_secret())
        {
            entries.remove(&id);
        }
    }

    /// Drops the connection's token whatever it is (a new refresh token was written).
    pub(crate) fn forget(&self, id: Uuid) {
        self.lock().remove(&id);
    }
}

impl Org {
    /// The connection's access token from an earlier session, if still valid for this host
    /// and the org this session expects.
    pub(super) fn cached_token(&self) -> Option<SecretString> {
        let (id, _) = self.inner.connection.as_ref()?;
        let origin = self.instance_url().origin().ascii_serialization();
        let expected = self.lock_urls().expected_org.clone();
        let (sessions, _) = self.inner.sf.sessions();
        let (token, org_id) = sessions.get(*id, &origin, expected.as_deref())?;
        if org_id.is_some() {
            self.lock_urls().org_id = org_id;
        }
        Some(token)
    }

    /// Takes `new` in place of the redeemed refresh token `old`: in memory at once (the org no
    /// longer honours `old`), then in the connection's storage.
    pub(super) async fn rotated(
        &self,
        old: SecretString,
        new: SecretString,
    ) -> Result<(), SalesforceError> {
        if new.expose_secret() == old.expose_secret() {
            return Ok(());
        }
        *self
            .inner
            .refresh_token
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = new.clone();
        tracing::info!("the org rotated the admin refresh token; storing the new one");
        let Some((_, store)) = &self.inner.connection else {
            return Ok(());
        };
        store(old, new).await.map_err(|e| {
            SalesforceError::Setup(format!(
                "the refresh token the org rotated to could not be stored: {e}"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "https://acme.my.salesforce.com";

    #[test]
    fn a_token_is_reused_only_within_its_lifetime_at_its_host_for_its_org() {
        let sessions = Sessions::default();
        let id = Uuid::new_v4();
        let token = SecretString::from("00Dx!token");
        let org = Some("00D000000000001AAA".to_owned());
        let now = Instant::now();
        sessions.put(
            id,
            HOST.into(),
            org.clone(),
            token,
            now,
            Duration::from_secs(60),
        );
        assert!(sessions.get(id, HOST, org.as_deref()).is_some());
        assert!(sessions.get(id, HOST, None).is_some());
        assert!(
            sessions
                .get(id, "https://other.my.salesforce.com", None)
                .is_none()
        );
        // Asking for another host dropped it.
        assert!(sessions.get(id, HOST, None).is_none());

        let token = SecretString::from("00Dx!token");
        sessions.put(id, HOST.into(), org, token, now, Duration::from_secs(60));
        assert!(sessions.get(id, HOST, Some("00D000000000002AAA")).is_none());

        let old = now - Duration::from_secs(61);
        let token = SecretString::from("00Dx!token");
        sessions.put(id, HOST.into(), None, token, old, Duration::from_secs(60));
        assert!(sessions.get(id, HOST, None).is_none(), "past its lifetime");
    }

    #[test]
    fn only_the_stale_token_is_dropped() {
        let sessions = Sessions::default();
        let id = Uuid::new_v4();
        let now = Instant::now();
        let fresh = SecretString::from("fresh");
        sessions.put(id, HOST.into(), None, fresh, now, Duration::from_secs(60));
        sessions.drop_if(id, &SecretString::from("stale"));
        assert!(sessions.get(id, HOST, None).is_some());
        sessions.drop_if(id, &SecretString::from("fresh"));
        assert!(sessions.get(id, HOST, None).is_none());
    }

    #[test]
    fn a_zero_timeout_keeps_nothing() {
        let sessions = Sessions::default();
        let id = Uuid::new_v4();
        let token = SecretString::from("t");
        sessions.put(id, HOST.into(), None, token, Instant::now(), Duration::ZERO);
        assert!(sessions.get(id, HOST, None).is_none());
    }
}
