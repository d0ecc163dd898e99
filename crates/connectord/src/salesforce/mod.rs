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
mod composite;
mod credentials;
pub mod eca;
pub mod eca_lookup;
mod error;
mod error_body;
mod http;
pub mod instance;
mod limits;
mod metadata;
mod org;
#[cfg(test)]
mod parse_props;
mod record;
mod redact;
mod rest;
mod sessions;
mod versions;

pub use app::{AppSession, Bounded};
pub use auth::{AccessToken, TOKEN_PATH};
pub use composite::{SubResponse, Subrequest};
pub use error::{ComponentFailure, SalesforceError};
pub use instance::{InstancePolicy, check_instance_url};
pub use limits::{ApiUsage, LIMIT_INFO_HEADER, parse_limit_info};
pub use metadata::DeployOutcome;
pub use org::{Org, RotationSink};
pub use record::Recorder;
pub use rest::{COLLECTION_BATCH, COMPOSITE_MAX};
pub use versions::{newest as newest_version, parse_versions};

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

#[derive(Debug, Clone)]
struct Shared {
    http: http::Http,
    usage: limits::UsageMap,
    versions: versions::VersionCache,
    client_id: String,
    client_secret: SecretString,
    api_version: String,
    login_url: Url,
    sandbox_login_url: Url,
    username_domain: String,
    policy: InstancePolicy,
    /// `salesforce.app_token_wait` and the first pause between two tries of a new app's token.
    app_token_wait: Duration,
    retry_base: Duration,
    /// Why Salesforce rejects the product's own OAuth client, once it has: set once, for
    /// the life of the process (only new settings, that is a restart, can change it).
    client_rejected: std::sync::OnceLock<String>,
    /// Admin access tokens per connection, reused while valid.
    sessions: Arc<sessions::Sessions>,
    /// `salesforce.session_timeout`: how long a cached admin access token is reused.
    session_timeout: Duration,
    /// Orgs that refused SOQL on `ExternalClientApplication` (see `eca_lookup`).
    refused_app_query: Arc<eca_lookup::RefusedOrgs>,
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
        let retry_base = tuning.retry_base;
        let mut http = http::Http::new(settings, tuning, usage.clone())?;
        if let Some(dir) = &settings.record_dir {
            http = http.with_recorder(Arc::new(Recorder::open(dir)?));
            tracing::warn!(
                "salesforce.record_dir is set: every Salesforce exchange is written there (secrets redacted, people masked)"
            );
        }
        if settings.allow_loopback_http {
            tracing::warn!(
                "salesforce.allow_loopback_http is on: plain-http loopback instance URLs are accepted (tests and demo only)"
            );
        }
        Ok(Self {
            inner: Arc::new(Shared {
                http,
                usage,
                versions: versions::VersionCache::default(),
                client_id: settings.client_id.clone(),
                client_secret: settings.client_secret.clone(),
                api_version: settings.api_version.clone(),
                login_url: settings.login_url.clone(),
                sandbox_login_url: settings.sandbox_login_url.clone(),
                username_domain: settings.username_domain.clone(),
                policy: InstancePolicy::from_settings(settings),
                app_token_wait: settings.app_token_wait,
                retry_base,
                client_rejected: std::sync::OnceLock::new(),
                sessions: Arc::default(),
                session_timeout: settings.session_timeout,
                refused_app_query: Arc::default(),
            }),
        })
    }

    pub(crate) fn refused_app_query(&self) -> &eca_lookup::RefusedOrgs {
        self.inner.refused_app_query.as_ref()
    }

    /// Why Salesforce rejects the product's own OAuth client (`salesforce.client_id` /
    /// `client_secret`), once a token request of this process was answered so: `/readyz`
    /// answers 503 with it and the daemon claims no more passes.
    pub fn client_rejected(&self) -> Option<&str> {
        self.inner.client_rejected.get().map(String::as_str)
    }

    /// A failed refresh-token grant (the product's own client): an `invalid_client_id` or
    /// `invalid_client` answer becomes [`SalesforceError::OAuthClientRejected`] and is
    /// remembered process-wide (logged once).
    pub(crate) fn product_client_failure(&self, error: SalesforceError) -> SalesforceError {
        let error = error.for_product_client();
        if matches!(error, SalesforceError::OAuthClientRejected { .. })
            && self.inner.client_rejected.set(error.to_string()).is_ok()
        {
            tracing::error!(
                reason = %error,
                "Salesforce rejects the product's OAuth client: no new passes are started until salesforce.client_id and salesforce.client_secret are fixed and connectord is restarted"
            );
        }
        error
    }

    /// The same client (settings, usage map), recording every exchange it makes into `dir`,
    /// one redacted JSON file per exchange (`record.rs`). For `check --record DIR`.
    pub fn with_recorder(&self, dir: &std::path::Path) -> Result<Self, SalesforceError> {
        let recorder = Arc::new(Recorder::open(dir)?);
        let mut shared = (*self.inner).clone();
        shared.http = shared.http.with_recorder(recorder);
        Ok(Self {
            inner: Arc::new(shared),
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
        (self.inner.sessions.as_ref(), self.inner.session_timeout)
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

    /// How long a new app's refused token is asked for again, and the first pause between tries.
    pub(crate) fn app_token_patience(&self) -> (Duration, Duration) {
        (self.inner.app_token_wait, self.inner.retry_base)
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
