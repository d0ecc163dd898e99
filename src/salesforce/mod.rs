//! The Salesforce client: auth, REST, composite, metadata deploy, credentials, limits.
//!
//! [`Salesforce`] is built once per process from the settings; [`Salesforce::org`] gives an
//! [`Org`], a session on one org as the product's admin, through which every operation goes.
//! What the client relies on about Salesforce's wire formats, with sources, is in
//! `docs/salesforce-client.md`.

use std::{sync::Arc, time::Duration};

use secrecy::SecretString;
use url::Url;

use crate::config::SalesforceSettings;

mod app;
mod auth;
mod credentials;
pub mod eca;
mod error;
mod error_body;
mod http;
pub mod instance;
mod limits;
mod metadata;
mod org;
#[cfg(test)]
mod parse_props;
mod rest;
mod sessions;

pub use app::{AppSession, Bounded};
pub use auth::{AccessToken, TOKEN_PATH};
pub use error::{ComponentFailure, SalesforceError};
pub use instance::{InstancePolicy, check_instance_url};
pub use limits::{ApiUsage, LIMIT_INFO_HEADER, parse_limit_info};
pub use metadata::DeployOutcome;
pub use org::{Org, RotationSink};
pub use rest::{COLLECTION_BATCH, COMPOSITE_MAX, SubResponse, Subrequest};

/// Knobs that are not operator settings: retry and deploy-polling pacing. Tests shrink them.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// Attempts per call for transient failures (timeouts, broken connections, 5xx).
    pub retry_attempts: u32,
    /// First backoff; doubles per attempt, with jitter.
    pub retry_base: Duration,
    /// Wait before the first deploy status poll.
    pub deploy_first_poll: Duration,
    /// Longest wait between two deploy status polls.
    pub deploy_max_poll_interval: Duration,
    /// Total time a deploy may take before it is cancelled and `DeployTimedOut`
    /// (`salesforce.deploy_wait_limit`).
    pub deploy_max_wait: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            retry_attempts: 3,
            retry_base: Duration::from_millis(200),
            deploy_first_poll: Duration::from_millis(250),
            deploy_max_poll_interval: Duration::from_secs(5),
            deploy_max_wait: Duration::from_secs(600),
        }
    }
}

/// One per process; cheap to clone (clones share the HTTP client and the API-usage map).
#[derive(Clone, Debug)]
pub struct Salesforce {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    http: http::Http,
    usage: limits::UsageMap,
    client_id: String,
    client_secret: SecretString,
    api_version: String,
    login_url: Url,
    sandbox_login_url: Url,
    username_domain: String,
    policy: InstancePolicy,
    /// Admin access tokens per connection, reused while valid.
    sessions: sessions::Sessions,
    /// `salesforce.session_timeout`: how long a cached admin access token is reused.
    session_timeout: Duration,
}

impl Salesforce {
    pub fn new(settings: &SalesforceSettings) -> Result<Self, SalesforceError> {
        let tuning = Tuning {
            deploy_max_wait: settings.deploy_wait_limit,
            ..Tuning::default()
        };
        Self::with_tuning(settings, tuning)
    }

    pub fn with_tuning(
        settings: &SalesforceSettings,
        tuning: Tuning,
    ) -> Result<Self, SalesforceError> {
        let usage = limits::UsageMap::default();
        let http = http::Http::new(settings, tuning, usage.clone())?;
        if settings.allow_loopback_http {
            tracing::warn!(
                "salesforce.allow_loopback_http is on: plain-http loopback instance URLs are accepted (tests and demo only)"
            );
        }
        Ok(Self {
            inner: Arc::new(Shared {
                http,
                usage,
                client_id: settings.client_id.clone(),
                client_secret: settings.client_secret.clone(),
                api_version: settings.api_version.clone(),
                login_url: settings.login_url.clone(),
                sandbox_login_url: settings.sandbox_login_url.clone(),
                username_domain: settings.username_domain.clone(),
                policy: InstancePolicy::from_settings(settings),
                sessions: sessions::Sessions::default(),
                session_timeout: settings.session_timeout,
            }),
        })
    }

    /// A session on one org as the product's admin (refresh-token grant). The access token is
    /// fetched on first use, cached, and shared by clones of the returned [`Org`].
    pub fn org(&self, instance_url: Url, refresh_token: SecretString) -> Org {
        Org::new(self.clone(), instance_url, refresh_token, None)
    }

    /// [`Salesforce::org`] for connection `id`: its access token is reused across sessions
    /// of this process while valid, and a refresh token the org rotates is handed to
    /// `on_rotation` (which must store it) before the new access token is used.
    pub fn connection_org(
        &self,
        id: uuid::Uuid,
        instance_url: Url,
        refresh_token: SecretString,
        on_rotation: RotationSink,
    ) -> Org {
        Org::new(
            self.clone(),
            instance_url,
            refresh_token,
            Some((id, on_rotation)),
        )
    }

    /// Forgets connection `id`'s cached access token (a new refresh token was written).
    pub fn forget_session(&self, id: uuid::Uuid) {
        self.inner.sessions.forget(id);
    }

    pub(crate) fn sessions(&self) -> (&sessions::Sessions, Duration) {
        (&self.inner.sessions, self.inner.session_timeout)
    }

    /// Mints a client-credentials token for an app: `POST {instance_url}/services/oauth2/token`.
    pub async fn client_credentials_token(
        &self,
        instance_url: &Url,
        consumer_key: &str,
        consumer_secret: &SecretString,
    ) -> Result<AccessToken, SalesforceError> {
        let host = self.inner.policy.check(instance_url)?;
        auth::request_token(
            &self.inner.http,
            &host,
            consumer_key,
            consumer_secret,
            auth::Grant::ClientCredentials,
        )
        .await
        .map_err(SalesforceError::from)
    }

    /// The last `Sforce-Limit-Info` seen from the org at `instance_url`.
    pub fn api_usage(&self, instance_url: &Url) -> Option<ApiUsage> {
        self.inner.usage.get(instance_url)
    }

    /// Every org's last known usage, keyed by origin (`https://host`), for metrics.
    pub fn api_usage_all(&self) -> Vec<(String, ApiUsage)> {
        self.inner.usage.all()
    }

    pub fn api_version(&self) -> &str {
        &self.inner.api_version
    }

    pub(crate) fn http(&self) -> &http::Http {
        &self.inner.http
    }

    /// Where a refresh token for the org at `instance_url` is redeemed when its own host says
    /// it moved: `salesforce.sandbox_login_url` for a sandbox (a host under
    /// `sandbox.my.salesforce.com`), `salesforce.login_url` otherwise.
    pub fn login_url_for(&self, instance_url: &Url) -> &Url {
        if is_sandbox_host(instance_url) {
            &self.inner.sandbox_login_url
        } else {
            &self.inner.login_url
        }
    }

    /// `salesforce.username_domain`: the domain part of integration usernames.
    pub fn username_domain(&self) -> &str {
        &self.inner.username_domain
    }

    /// Where tokens may go: the instance URL policy built from the settings.
    pub fn instance_policy(&self) -> &InstancePolicy {
        &self.inner.policy
    }

    pub(crate) fn client_credentials_of_product(&self) -> (&str, &SecretString) {
        (&self.inner.client_id, &self.inner.client_secret)
    }
}

/// A sandbox's My Domain host: `NAME--SBX.sandbox.my.salesforce.com`.
pub fn is_sandbox_host(url: &Url) -> bool {
    url.host_str().is_some_and(|host| {
        host.trim_end_matches('.')
            .to_ascii_lowercase()
            .ends_with(".sandbox.my.salesforce.com")
    })
}
