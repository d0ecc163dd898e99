//! Where tokens may go: the policy an org's instance URL must pass before any request is sent
//! to it (the refresh-token grant included).
//!
//! Accepted: `https://HOST` with nothing after the host (no user, no path, no query, no port
//! other than 443), where HOST is a name (never an IP literal) strictly under one of
//! `salesforce.allowed_domains` (default `my.salesforce.com`, which covers My Domain hosts
//! `NAME.my.salesforce.com`, sandboxes `NAME--SBX.sandbox.my.salesforce.com` and scratch orgs
//! `NAME.scratch.my.salesforce.com`). `http://127.0.0.1:PORT` / `http://localhost:PORT` only
//! when `salesforce.allow_loopback_http` is set (tests and the demo).
//!
//! Government Cloud Plus orgs are recognised by host (a host under
//! `salesforce.government_cloud_domains`, `*.my.salesforce.mil` by default, or a label equal to
//! one of `salesforce.government_cloud_instances`, empty by default) and refused with
//! [`SalesforceError::GovernmentCloudUnsupported`] before anything else is checked. Sources for
//! the defaults are in `docs/bad-input.md` ("Government Cloud").

use url::{Host, Url};

use super::error::SalesforceError;
use crate::config::SalesforceSettings;

/// Default `salesforce.allowed_domains` (keep in step with `config/default.toml`).
pub const DEFAULT_ALLOWED_DOMAINS: [&str; 1] = ["my.salesforce.com"];
/// Default `salesforce.government_cloud_domains` (keep in step with `config/default.toml`).
pub const DEFAULT_GOVERNMENT_CLOUD_DOMAINS: [&str; 3] =
    ["salesforce.mil", "cloudforce.mil", "crmforce.mil"];
/// Default `salesforce.government_cloud_instances` (keep in step with `config/default.toml`):
/// none. `gs0`/`gs1` were here once, but gs0 is Salesforce's download host and the Salesforce
/// CLI treats `gs1.` as an internal host; no documented instance name marks Government Cloud.
pub const DEFAULT_GOVERNMENT_CLOUD_INSTANCES: [&str; 0] = [];

/// The rules an instance URL must pass. Built once from the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstancePolicy {
    pub allow_loopback_http: bool,
    /// Lower-case domains; an org host must be strictly under one of them.
    pub allowed_domains: Vec<String>,
    /// Lower-case domains whose hosts (and the domain itself) are Government Cloud.
    pub government_cloud_domains: Vec<String>,
    /// Lower-case instance names (`gs0`) that mark a host as Government Cloud.
    pub government_cloud_instances: Vec<String>,
}

impl Default for InstancePolicy {
    fn default() -> Self {
        let owned = |list: &[&str]| list.iter().map(|d| d.to_string()).collect();
        Self {
            allow_loopback_http: false,
            allowed_domains: owned(&DEFAULT_ALLOWED_DOMAINS),
            government_cloud_domains: owned(&DEFAULT_GOVERNMENT_CLOUD_DOMAINS),
            government_cloud_instances: owned(&DEFAULT_GOVERNMENT_CLOUD_INSTANCES),
        }
    }
}

/// `*.Example.COM.` → `example.com`: what a domain entry means, normalised.
pub fn normalise_domain(entry: &str) -> String {
    entry
        .trim()
        .trim_start_matches("*.")
        .trim_start_matches('.')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

impl InstancePolicy {
    pub fn from_settings(settings: &SalesforceSettings) -> Self {
        let normalise = |list: &[String]| list.iter().map(|d| normalise_domain(d)).collect();
        Self {
            allow_loopback_http: settings.allow_loopback_http,
            allowed_domains: normalise(&settings.allowed_domains),
            government_cloud_domains: normalise(&settings.government_cloud_domains),
            government_cloud_instances: normalise(&settings.government_cloud_instances),
        }
    }

    /// Checks `url` and returns it as an origin with a trailing `/`.
    pub fn check(&self, url: &Url) -> Result<Url, SalesforceError> {
        let refuse = |reason: &str| SalesforceError::InvalidInstanceUrl {
            url: url.origin().ascii_serialization(),
            reason: reason.to_owned(),
        };
        let (loopback, domain) = match url.host() {
            Some(Host::Domain(d)) => (d.eq_ignore_ascii_case("localhost"), Some(d)),
            Some(Host::Ipv4(ip)) => (ip.is_loopback(), None),
            Some(Host::Ipv6(ip)) => (ip.is_loopback(), None),
            None => return Err(refuse("it has no host")),
        };
        if let Some(host) = domain {
            let host = host.to_ascii_lowercase();
            if self.is_government_cloud(&host) {
                return Err(SalesforceError::GovernmentCloudUnsupported { host });
            }
        }
        let loopback_allowed = loopback && self.allow_loopback_http && url.scheme() == "http";
        match url.scheme() {
            "https" => {}
            "http" if loopback_allowed => {}
            "http" => return Err(refuse("it must use https")),
            _ => return Err(refuse("it must be an https URL")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse("it must not carry a user name or password"));
        }
        if !(url.path().is_empty() || url.path() == "/")
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(refuse(
                "it must be just the org's address, without a path or query",
            ));
        }
        if !loopback_allowed {
            let Some(host) = domain else {
                return Err(refuse(
                    "it must name the org's My Domain host, not an IP address",
                ));
            };
            if url.port().is_some() {
                return Err(refuse("it must not name a port"));
            }
            if !self.is_allowed(&host.to_ascii_lowercase()) {
                return Err(refuse(&format!(
                    "its host is not under a Salesforce domain ({})",
                    self.allowed_domains.join(", ")
                )));
            }
        }
        Url::parse(&format!("{}/", url.origin().ascii_serialization()))
            .map_err(|_| refuse("it is not a valid address"))
    }

    fn is_allowed(&self, host: &str) -> bool {
        self.allowed_domains.iter().any(|d| {
            host.strip_suffix(d.as_str())
                .and_then(|rest| rest.strip_suffix('.'))
                .is_some_and(|name| !name.is_empty() && !name.ends_with('.'))
        })
    }

    fn is_government_cloud(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.');
        let under = self.government_cloud_domains.iter().any(|d| {
            host == d
                || host
                    .strip_suffix(d.as_str())
                    .is_some_and(|rest| rest.ends_with('.'))
        });
        under
            || host
                .split('.')
                .any(|label| self.government_cloud_instances.iter().any(|i| i == label))
    }
}

/// Checks `url` with the default domain lists; see [`InstancePolicy::check`].
pub fn check_instance_url(url: &Url, allow_loopback_http: bool) -> Result<Url, SalesforceError> {
    InstancePolicy {
        allow_loopback_http,
        ..InstancePolicy::default()
    }
    .check(url)
}

#[cfg(test)]
#[path = "instance_tests.rs"]
mod tests;
