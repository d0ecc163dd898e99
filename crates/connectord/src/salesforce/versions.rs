//! The API versions an org offers: `GET {instance}/services/data/`, which needs no
//! authentication and answers `[{"label","url","version"}, …]` (REST API Developer Guide,
//! "Versions" and "List Available REST API Versions"). Read once per org per process and kept,
//! so an org that lacks `salesforce.api_version` is refused with `api_version_unavailable`
//! before any other call of a pass, instead of answering every call with a 404.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::Deserialize;
use url::Url;

use super::{Org, Salesforce, SalesforceError, limits::org_key};

/// How long a versions list that lacks the configured version is believed: orgs are upgraded
/// in waves, so a newly released version appears in an org some weeks after another.
const RECHECK_MISSING: Duration = Duration::from_secs(60 * 60);

/// What is known of each org's versions, by origin, and when it was read. `None`: the list
/// could not be read (an answer that is not the list); connectord then goes on and lets the
/// real call speak.
#[derive(Debug, Clone, Default)]
pub(crate) struct VersionCache(Arc<Mutex<HashMap<String, Entry>>>);

/// When an org's versions were read, and what they were.
type Entry = (Instant, Option<Vec<String>>);

impl VersionCache {
    /// The cached list, unless it lacks `configured` and is older than [`RECHECK_MISSING`].
    fn get(&self, url: &Url, configured: &str) -> Option<Option<Vec<String>>> {
        let map = self.0.lock().ok()?;
        let (read_at, versions) = map.get(&org_key(url))?;
        let lacks = versions
            .as_ref()
            .is_some_and(|l| !l.iter().any(|v| v == configured));
        (!lacks || read_at.elapsed() < RECHECK_MISSING).then(|| versions.clone())
    }

    fn put(&self, url: &Url, versions: Option<Vec<String>>) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(org_key(url), (Instant::now(), versions));
        }
    }
}

#[derive(Deserialize)]
struct Version {
    version: String,
}

/// The versions of a versions-list body, oldest first as Salesforce lists them; `None` when
/// the body is not such a list.
pub fn parse_versions(body: &[u8]) -> Option<Vec<String>> {
    let list: Vec<Version> = serde_json::from_slice(body).ok()?;
    Some(list.into_iter().map(|v| v.version).collect())
}

/// The newest of `versions` by number (`"—"` if there is none).
pub fn newest(versions: &[String]) -> String {
    versions
        .iter()
        .filter_map(|v| v.parse::<f64>().ok().map(|n| (n, v)))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map_or_else(|| "—".to_owned(), |(_, v)| v.clone())
}

/// `Err(ApiVersionUnavailable)` when `versions` is known and lacks `configured`.
pub fn require(configured: &str, versions: Option<&[String]>) -> Result<(), SalesforceError> {
    match versions {
        Some(list) if !list.iter().any(|v| v == configured) => {
            Err(SalesforceError::ApiVersionUnavailable {
                configured: configured.to_owned(),
                newest: newest(list),
            })
        }
        _ => Ok(()),
    }
}

impl Salesforce {
    /// The versions the org at `instance_url` offers, read once per process (again after an
    /// hour if the configured version was missing; `None`: the answer was not a versions list). The URL is checked against the instance policy first.
    pub async fn org_versions(
        &self,
        instance_url: &Url,
    ) -> Result<Option<Vec<String>>, SalesforceError> {
        let base = self.instance_policy().check(instance_url)?;
        if let Some(known) = self.inner.versions.get(&base, self.api_version()) {
            return Ok(known);
        }
        let url = base
            .join("/services/data/")
            .map_err(|e| SalesforceError::Setup(e.to_string()))?;
        let answer = self
            .http()
            .send(Method::GET, &url, |client| {
                client
                    .get(url.clone())
                    .header(reqwest::header::ACCEPT, "application/json")
            })
            .await?;
        let versions = answer
            .status
            .is_success()
            .then(|| parse_versions(&answer.body))
            .flatten();
        self.inner.versions.put(&base, versions.clone());
        Ok(versions)
    }
}

impl Org {
    /// Refuses with `ApiVersionUnavailable` when the org does not offer the configured version
    /// (one unauthenticated call per org per process; a versions list that cannot be read is
    /// no reason to stop).
    pub async fn ensure_api_version(&self) -> Result<(), SalesforceError> {
        let versions = self.sf().org_versions(&self.instance_url()).await?;
        require(self.sf().api_version(), versions.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_version_passes_and_an_unlisted_one_names_the_newest() {
        let list = parse_versions(
            br#"[{"label":"Spring '26","url":"/services/data/v66.0","version":"66.0"},
                 {"label":"Summer '26","url":"/services/data/v67.0","version":"67.0"}]"#,
        );
        assert!(require("66.0", list.as_deref()).is_ok());
        let error = require("68.0", list.as_deref()).unwrap_err();
        assert!(matches!(
            &error,
            SalesforceError::ApiVersionUnavailable { configured, newest }
                if configured == "68.0" && newest == "67.0"
        ));
        assert_eq!(
            error.error_code(),
            crate::error_code::ErrorCode::ApiVersionUnavailable
        );
    }

    #[test]
    fn an_unreadable_versions_list_does_not_stop_anything() {
        assert_eq!(parse_versions(b"<html>"), None);
        assert!(require("67.0", None).is_ok());
    }
}
