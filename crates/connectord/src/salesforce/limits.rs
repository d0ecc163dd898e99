//! The org's daily API allowance as Salesforce reports it on every REST response:
//! `Sforce-Limit-Info: api-usage=USED/MAX`, sometimes followed by
//! `; per-app-api-usage=USED/MAX(appName=NAME)` or `; api-bursts=…` (Salesforce REST API
//! Developer Guide, "Limit Info Header"). Kept per org in a map the scheduler and the metrics
//! exporter read.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use url::Url;

/// The name of the header.
pub const LIMIT_INFO_HEADER: &str = "sforce-limit-info";

/// Requests used so far in the rolling 24 hours, out of the org's allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiUsage {
    pub used: u64,
    pub max: u64,
}

impl ApiUsage {
    /// Share of the allowance used, 0.0 to 1.0 (1.0 when `max` is 0).
    pub fn fraction(&self) -> f64 {
        if self.max == 0 {
            return 1.0;
        }
        self.used as f64 / self.max as f64
    }
}

impl std::fmt::Display for ApiUsage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.used, self.max)
    }
}

/// Reads `api-usage=USED/MAX` out of the header value; `None` when absent or malformed.
pub fn parse_limit_info(value: &str) -> Option<ApiUsage> {
    value.split([';', ',']).find_map(|part| {
        let (key, rest) = part.trim().split_once('=')?;
        if key.trim() != "api-usage" {
            return None;
        }
        let (used, max) = rest.trim().split_once('/')?;
        Some(ApiUsage {
            used: used.trim().parse().ok()?,
            max: max.trim().parse().ok()?,
        })
    })
}

/// The key an org is known by in the map: its origin (scheme, host, port).
pub(crate) fn org_key(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// Last known usage per org, shared by every clone of the client.
#[derive(Debug, Clone, Default)]
pub(crate) struct UsageMap(Arc<Mutex<HashMap<String, ApiUsage>>>);

impl UsageMap {
    pub fn record(&self, url: &Url, usage: ApiUsage) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(org_key(url), usage);
        }
    }

    pub fn get(&self, url: &Url) -> Option<ApiUsage> {
        self.0.lock().ok()?.get(&org_key(url)).copied()
    }

    pub fn all(&self) -> Vec<(String, ApiUsage)> {
        self.0
            .lock()
            .map(|map| map.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_api_usage_is_parsed() {
        assert_eq!(
            parse_limit_info("api-usage=18/15000"),
            Some(ApiUsage {
                used: 18,
                max: 15000
            })
        );
    }

    #[test]
    fn per_app_usage_after_it_is_ignored() {
        assert_eq!(
            parse_limit_info("api-usage=25/5000; per-app-api-usage=17/250(appName=sample-app)"),
            Some(ApiUsage {
                used: 25,
                max: 5000
            })
        );
    }

    #[test]
    fn a_malformed_header_gives_nothing() {
        assert_eq!(parse_limit_info("api-usage=lots"), None);
        assert_eq!(parse_limit_info("per-app-api-usage=1/2"), None);
        assert_eq!(parse_limit_info(""), None);
    }

    #[test]
    fn usage_is_kept_per_org_origin() {
        let map = UsageMap::default();
        let a = Url::parse("https://a.my.salesforce.com/services/data").unwrap();
        let b = Url::parse("https://b.my.salesforce.com").unwrap();
        map.record(&a, ApiUsage { used: 1, max: 10 });
        assert_eq!(
            map.get(&Url::parse("https://a.my.salesforce.com").unwrap()),
            Some(ApiUsage { used: 1, max: 10 })
        );
        assert_eq!(map.get(&b), None);
    }
}
