//! Settings: `config/default.toml` (compiled in), then the file named by `CONNECTORD_CONFIG`,
//! then `CONNECTORD__SECTION__KEY` environment variables; `DATABASE_URL` is `database.url`.
//!
//! Loading checks every value's type and shape; a command then asks for what it needs
//! (`database_url()`, `secrets.key()`), so a setting that only one command uses only stops
//! that command. Every problem is a [`ConfigError`] naming the key, shown as one line.

use std::{net::SocketAddr, time::Duration};

use figment::{
    Figment,
    providers::{Format, Toml},
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub use crate::salesforce::eca::IpRelaxation;

const DEFAULTS: &str = include_str!("../config/default.toml");

/// A setting that is missing or malformed. Its `Display` is one line naming the key.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {key}: {problem}")]
pub struct ConfigError {
    pub key: String,
    pub problem: String,
}

impl ConfigError {
    pub fn new(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            problem: problem.into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub secrets: SecretSettings,
    pub salesforce: SalesforceSettings,
    pub reconciler: ReconcilerSettings,
    pub http: HttpSettings,
    pub log: LogSettings,
    /// `[vending]`: token lifetime and cache margin (`crate::vend`).
    pub vending: crate::vend::VendingSettings,
    pub metrics: MetricsSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: SecretString,
    pub max_connections: u32,
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretSettings {
    pub key: SecretString,
    #[serde(default)]
    pub previous_keys: Vec<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SalesforceSettings {
    pub client_id: String,
    pub client_secret: SecretString,
    pub api_version: String,
    pub login_url: url::Url,
    /// Where a sandbox's (`*.sandbox.my.salesforce.com`) refresh token is redeemed instead.
    pub sandbox_login_url: url::Url,
    pub allow_loopback_http: bool,
    /// An org's host must be strictly under one of these (see `salesforce::InstancePolicy`).
    pub allowed_domains: Vec<String>,
    /// Hosts under these domains are Government Cloud orgs, refused early.
    pub government_cloud_domains: Vec<String>,
    /// Instance names (a host label such as `gs0`) that mark a Government Cloud org.
    pub government_cloud_instances: Vec<String>,
    /// The IP relaxation policy of the apps connectord deploys.
    pub ip_relaxation: IpRelaxation,
    /// The domain part of integration usernames: one per installation, so that a restored
    /// copy of another installation's database cannot collide with this one's users.
    pub username_domain: String,
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// How long a Metadata API deploy may run before it is cancelled (`deploy_timed_out`).
    #[serde(with = "humantime_serde")]
    pub deploy_wait_limit: Duration,
    /// How long the proof step keeps asking for a token for a freshly deployed app while the
    /// token endpoint answers `invalid_grant` (a new app takes a while to reach every server),
    /// with backoff, before it reports `app_token_refused`.
    #[serde(with = "humantime_serde", default = "default_app_token_wait")]
    pub app_token_wait: Duration,
    /// When set, every Salesforce exchange is written there, redacted (`salesforce/record.rs`).
    #[serde(default)]
    pub record_dir: Option<std::path::PathBuf>,
    /// How long an admin access token is reused after it was issued: the org's session
    /// timeout (Salesforce's default is two hours). A token the org ended sooner is replaced
    /// on its `INVALID_SESSION_ID`.
    #[serde(with = "humantime_serde")]
    pub session_timeout: Duration,
}

fn default_app_token_wait() -> Duration {
    Duration::from_secs(180)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconcilerSettings {
    #[serde(with = "humantime_serde")]
    pub resync_interval: Duration,
    pub concurrency: usize,
    pub max_connections_per_tenant: u32,
    /// Ready connections brought up to a new shape per minute, across all processes.
    pub upgrades_per_minute: u32,
    /// How long a claim on a connection lasts without a heartbeat.
    #[serde(with = "humantime_serde")]
    pub lease_expiry: Duration,
    /// How often due work is looked for when no notification arrives.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// How long passes in flight may take to finish after the first SIGTERM/SIGINT.
    #[serde(with = "humantime_serde")]
    pub shutdown_deadline: Duration,
    /// Share of an org's daily API allowance (0–1) above which it only gets urgent work.
    pub api_usage_threshold: f64,
    /// Most users member mapping reads from one org in one run (`mapping_too_many_users`).
    pub mapping_max_users: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    pub listen: SocketAddr,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// Label `salesforce_api_usage_ratio` by org (its origin): one series per customer's
    /// host. Off: one unlabelled series, the highest usage of any org.
    pub org_label: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    pub filter: String,
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn load() -> Result<Self, ConfigError> {
        Self::load_from(std::env::vars())
    }

    /// Reads the settings from the given environment (tests pass their own).
    pub fn load_from(env: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = env.into_iter().collect();
        let lookup = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());

        // Where each overridden key came from, to name it in an error.
        let mut origins: Vec<(String, String)> = Vec::new();
        let mut figment = Figment::from(Toml::string(DEFAULTS));
        if let Some(path) = lookup("CONNECTORD_CONFIG").filter(|p| !p.is_empty()) {
            if !std::path::Path::new(&path).is_file() {
                return Err(ConfigError::new(
                    "CONNECTORD_CONFIG",
                    format!("no such file: {path}"),
                ));
            }
            figment = figment.merge(Toml::file(&path));
        }
        if let Some(url) = lookup("DATABASE_URL") {
            figment = figment.merge(("database.url", url));
            origins.push(("database.url".into(), "DATABASE_URL".into()));
        }
        // Values from the environment are strings; `extract_lossy` turns "3" into a number
        // where a number is wanted, and leaves "12345" a string where a string is.
        for (name, value) in &env {
            if let Some(rest) = name.strip_prefix("CONNECTORD__") {
                let key = rest.to_ascii_lowercase().replace("__", ".");
                figment = figment.merge((key.clone(), value.clone()));
                origins.push((key, name.clone()));
            }
        }
        let settings: Settings = figment
            .extract_lossy()
            .map_err(|e| from_figment(e, &origins))?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let url = self.database.url.expose_secret();
        let postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
        if !url.is_empty() && !postgres {
            return Err(ConfigError::new(
                "database.url",
                "must be a postgres:// or postgresql:// URL",
            ));
        }
        if self.reconciler.concurrency == 0 {
            return Err(ConfigError::new(
                "reconciler.concurrency",
                "must be at least 1",
            ));
        }
        if self.reconciler.resync_interval < Duration::from_secs(1) {
            return Err(ConfigError::new(
                "reconciler.resync_interval",
                "must be at least 1s",
            ));
        }
        if self.reconciler.lease_expiry < Duration::from_secs(1) {
            return Err(ConfigError::new(
                "reconciler.lease_expiry",
                "must be at least 1s",
            ));
        }
        if self.reconciler.poll_interval < Duration::from_millis(100) {
            return Err(ConfigError::new(
                "reconciler.poll_interval",
                "must be at least 100ms",
            ));
        }
        let threshold = self.reconciler.api_usage_threshold;
        if !(threshold > 0.0 && threshold <= 1.0) {
            return Err(ConfigError::new(
                "reconciler.api_usage_threshold",
                "must be a share above 0 and at most 1, like 0.9",
            ));
        }
        if self.reconciler.max_connections_per_tenant == 0 {
            return Err(ConfigError::new(
                "reconciler.max_connections_per_tenant",
                "must be at least 1",
            ));
        }
        let version = &self.salesforce.api_version;
        let well_formed = version
            .split_once('.')
            .is_some_and(|(major, minor)| major.parse::<u32>().is_ok() && minor == "0");
        if !well_formed {
            return Err(ConfigError::new(
                "salesforce.api_version",
                format!("{version:?} is not an API version like 64.0"),
            ));
        }
        self.validate_domains()?;
        self.vending.validate()?;
        let sf = &self.salesforce;
        for (key, url) in [
            ("salesforce.login_url", &sf.login_url),
            ("salesforce.sandbox_login_url", &sf.sandbox_login_url),
        ] {
            check_login_url(key, url, sf.allow_loopback_http)?;
        }
        check_username_domain(&sf.username_domain)?;
        Ok(())
    }

    fn validate_domains(&self) -> Result<(), ConfigError> {
        let sf = &self.salesforce;
        if sf.allowed_domains.is_empty() {
            return Err(ConfigError::new(
                "salesforce.allowed_domains",
                "must name at least one domain, like my.salesforce.com",
            ));
        }
        let lists = [
            ("salesforce.allowed_domains", &sf.allowed_domains, 2),
            (
                "salesforce.government_cloud_domains",
                &sf.government_cloud_domains,
                2,
            ),
            (
                "salesforce.government_cloud_instances",
                &sf.government_cloud_instances,
                1,
            ),
        ];
        for (key, list, min_labels) in lists {
            for entry in list {
                let domain = crate::salesforce::instance::normalise_domain(entry);
                let labels: Vec<&str> = domain.split('.').collect();
                let well_formed = labels.len() >= min_labels
                    && labels.iter().all(|l| {
                        !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    });
                if !well_formed {
                    let wanted = if min_labels == 1 {
                        "an instance name like gs0"
                    } else {
                        "a domain with at least two labels, like my.salesforce.com"
                    };
                    return Err(ConfigError::new(key, format!("{entry:?} is not {wanted}")));
                }
            }
        }
        Ok(())
    }

    /// The database URL, or an error saying how to give it.
    pub fn database_url(&self) -> Result<&SecretString, ConfigError> {
        if self.database.url.expose_secret().is_empty() {
            return Err(ConfigError::new(
                "database.url",
                "missing: set DATABASE_URL (or CONNECTORD__DATABASE__URL)",
            ));
        }
        Ok(&self.database.url)
    }
}

impl SecretSettings {
    /// The sealing key, decoded; an error if it is missing or not 32 bytes of base64.
    pub fn key(&self) -> Result<[u8; 32], ConfigError> {
        decode_key("secrets.key", &self.key)?.ok_or_else(|| {
            ConfigError::new(
                "secrets.key",
                "missing: set CONNECTORD__SECRETS__KEY to base64 of 32 random bytes \
                 (openssl rand -base64 32)",
            )
        })
    }

    /// The older keys, decoded, in the order given.
    pub fn previous_keys(&self) -> Result<Vec<[u8; 32]>, ConfigError> {
        self.previous_keys
            .iter()
            .enumerate()
            .filter_map(|(i, k)| decode_key(&format!("secrets.previous_keys[{i}]"), k).transpose())
            .collect()
    }
}

fn decode_key(key: &str, value: &SecretString) -> Result<Option<[u8; 32]>, ConfigError> {
    use base64::Engine as _;
    let text = value.expose_secret().trim();
    if text.is_empty() {
        return Ok(None);
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| ConfigError::new(key, "is not valid base64"))?;
    let array: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
        ConfigError::new(key, format!("must decode to 32 bytes, not {}", b.len()))
    })?;
    Ok(Some(array))
}

/// Keys whose values must never be repeated in an error.
const SECRET_KEYS: [&str; 4] = [
    "database.url",
    "secrets.key",
    "secrets.previous_keys",
    "salesforce.client_secret",
];

fn from_figment(error: figment::Error, origins: &[(String, String)]) -> ConfigError {
    let key = if error.path.is_empty() {
        "(settings)".to_owned()
    } else {
        error.path.join(".")
    };
    let problem = if SECRET_KEYS.iter().any(|k| key.starts_with(k)) {
        "must be a string".to_owned()
    } else {
        match &error.kind {
            figment::error::Kind::Message(m) => m.clone(),
            kind => kind.to_string(),
        }
    };
    let origin = origins
        .iter()
        .rev()
        .find(|(k, _)| *k == key)
        .map(|(_, name)| format!(" (set by {name})"))
        .or_else(|| {
            let source = error.metadata.as_ref()?.source.as_ref()?;
            Some(format!(" (in {source})"))
        })
        .unwrap_or_default();
    ConfigError::new(key, format!("{problem}{origin}"))
}

#[path = "config_checks.rs"]
mod checks;
use checks::{check_login_url, check_username_domain};

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
