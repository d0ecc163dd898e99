//! Logging: JSON lines on stderr by default (`log.format = pretty` for people), filtered by
//! `RUST_LOG` when set, else by `log.filter`. Standard output is left to commands' own output.
//!
//! Fit for a pipeline: every line is one JSON object; values that are JSON are logged as JSON
//! text, never as Rust `Debug`; no colour unless stderr is a terminal; PostgreSQL's NOTICEs
//! (sqlx logs them at INFO, e.g. "relation _sqlx_migrations already exists, skipping" on every
//! start) are not shown unless the filter names sqlx; `run` starts with one line naming
//! the version, the commit and the effective configuration (secrets only as set/unset).

use std::io::IsTerminal as _;
use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Value, json};
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::{LogFormat, LogSettings, Settings};

/// The commit this binary was built from (`git rev-parse --short HEAD`), or `unknown` when it
/// was built outside a git checkout (a tarball, a Docker build without `.git`).
pub const COMMIT: &str = env!("CONNECTORD_COMMIT");

/// sqlx logs PostgreSQL's NOTICE messages under this target, at INFO.
const NOTICE_TARGET: &str = "sqlx::postgres::notice";

/// The filter: `RUST_LOG`, else `log.filter`; PostgreSQL's notices only at WARN and above
/// unless the filter names sqlx itself (e.g. `RUST_LOG=info,sqlx::postgres::notice=info`).
fn filter(settings: &LogSettings) -> EnvFilter {
    let text = std::env::var("RUST_LOG")
        .ok()
        .filter(|t| EnvFilter::try_new(t).is_ok())
        .unwrap_or_else(|| settings.filter.clone());
    let filter = EnvFilter::try_new(&text).unwrap_or_else(|_| EnvFilter::new("info"));
    if text.contains("sqlx") {
        return filter;
    }
    match format!("{NOTICE_TARGET}=warn").parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    }
}

/// Installs the global subscriber. Safe to call more than once (later calls do nothing).
pub fn init(settings: &LogSettings) {
    let registry = tracing_subscriber::registry().with(filter(settings));
    let result = match settings.format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_ansi(false)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        LogFormat::Pretty => registry
            .with(
                fmt::layer()
                    .with_target(false)
                    .with_ansi(std::io::stderr().is_terminal())
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
    // Already installed (tests, or a second call): keep the first.
    let _ = result;
}

/// The line `run` starts with: version, commit and the effective configuration.
pub fn log_start(settings: &Settings) {
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        commit = COMMIT,
        config = %effective_config(settings),
        "connectord starting"
    );
}

fn set(secret: &SecretString) -> &'static str {
    if secret.expose_secret().trim().is_empty() {
        "unset"
    } else {
        "set"
    }
}

fn duration(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// Every setting as it is in effect, as JSON; each secret only as `"set"` or `"unset"`.
pub fn effective_config(s: &Settings) -> Value {
    let sf = &s.salesforce;
    let r = &s.reconciler;
    json!({
        "database": {
            "url": set(&s.database.url),
            "max_connections": s.database.max_connections,
            "connect_timeout": duration(s.database.connect_timeout),
        },
        "secrets": {
            "key": set(&s.secrets.key),
            "previous_keys": s.secrets.previous_keys.len(),
        },
        "salesforce": {
            "client_id": if sf.client_id.trim().is_empty() { "unset" } else { "set" },
            "client_secret": set(&sf.client_secret),
            "api_version": sf.api_version,
            "login_url": sf.login_url.as_str(),
            "sandbox_login_url": sf.sandbox_login_url.as_str(),
            "allow_loopback_http": sf.allow_loopback_http,
            "allowed_domains": sf.allowed_domains,
            "government_cloud_domains": sf.government_cloud_domains,
            "government_cloud_instances": sf.government_cloud_instances,
            "ip_relaxation": format!("{:?}", sf.ip_relaxation).to_ascii_lowercase(),
            "username_domain": sf.username_domain,
            "connect_timeout": duration(sf.connect_timeout),
            "request_timeout": duration(sf.request_timeout),
        },
        "reconciler": {
            "resync_interval": duration(r.resync_interval),
            "concurrency": r.concurrency,
            "max_connections_per_tenant": r.max_connections_per_tenant,
            "upgrades_per_minute": r.upgrades_per_minute,
            "lease_expiry": duration(r.lease_expiry),
            "poll_interval": duration(r.poll_interval),
            "shutdown_deadline": duration(r.shutdown_deadline),
            "api_usage_threshold": r.api_usage_threshold,
        },
        "http": { "listen": s.http.listen.to_string() },
        "vending": {
            "token_lifetime": duration(s.vending.token_lifetime),
            "refresh_margin": duration(s.vending.refresh_margin),
        },
        "log": {
            "format": format!("{:?}", s.log.format).to_ascii_lowercase(),
            "filter": s.log.filter,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_effective_config_shows_secrets_only_as_set_or_unset() {
        let settings = Settings::load_from([
            (
                "DATABASE_URL".to_owned(),
                "postgres://u:hunter2@db/x".to_owned(),
            ),
            (
                "CONNECTORD__SALESFORCE__CLIENT_SECRET".to_owned(),
                "very-secret".to_owned(),
            ),
        ])
        .unwrap();
        let config = effective_config(&settings);
        let text = config.to_string();
        assert!(
            !text.contains("hunter2") && !text.contains("very-secret"),
            "{text}"
        );
        assert_eq!(config["database"]["url"], "set");
        assert_eq!(config["salesforce"]["client_secret"], "set");
        assert_eq!(config["secrets"]["key"], "unset");
        assert_eq!(config["reconciler"]["resync_interval"], "10m");
    }
}
