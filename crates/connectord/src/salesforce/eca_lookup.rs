//! Finding an External Client App by its DeveloperName without depending on SOQL.
//!
//! The Object Reference lists `ExternalClientApplication` among the internal objects, with
//! query() not among its supported calls; public projects query it with SOQL and orgs answer,
//! but an org (or a release) may answer `INVALID_TYPE` instead. So the SOQL read is tried
//! first, and once an org refuses it the refusal is remembered for that org for the life of
//! the process: from then on the app is found through documented Connect REST resources:
//! `GET /apps/oauth/credentials/{appId}` when its id is known (present: 200; gone: 404), else
//! the paged list `GET /apps/oauth/usage?page=N&pageSize=100` (`apps[]`, each with
//! `developerName` and `identifier`). Sources and caveats in `docs/salesforce-client.md`.

use std::collections::HashSet;
use std::sync::Mutex;

use reqwest::Method;
use serde::Deserialize;
use tracing::{info, warn};

use super::{Org, error::SalesforceError};

/// Orgs (by instance URL) that answered `INVALID_TYPE` to the app query.
#[derive(Debug, Default)]
pub(crate) struct RefusedOrgs(Mutex<HashSet<String>>);

impl RefusedOrgs {
    fn contains(&self, key: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(key)
    }

    fn insert(&self, key: String) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(key);
    }
}

/// Pages of the usage list read at most (100 apps a page).
const USAGE_PAGES_MAX: u32 = 50;
const USAGE_PAGE_SIZE: u32 = 100;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsagePage {
    #[serde(default)]
    apps: Vec<UsageApp>,
    #[serde(default)]
    next_page_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageApp {
    #[serde(default)]
    developer_name: String,
    #[serde(default)]
    identifier: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IdRow {
    id: String,
}

/// The org does not know the object or a field a read names (`INVALID_TYPE`, `INVALID_FIELD`).
pub fn is_unsupported_read(error: &SalesforceError) -> bool {
    match error {
        SalesforceError::UnknownField { .. } => true,
        SalesforceError::Rejected { code, .. } => code == "INVALID_TYPE",
        _ => false,
    }
}

impl Org {
    /// By instance URL: known before the pass's first call (the org id only after a token).
    fn refusal_key(&self) -> String {
        self.instance_url().as_str().to_owned()
    }

    /// Whether this org is known (in this process) to refuse the app query.
    pub fn app_query_refused(&self) -> bool {
        self.inner
            .sf
            .refused_app_query()
            .contains(&self.refusal_key())
    }

    /// Takes an error answered to the app query: `INVALID_TYPE` is remembered for this org
    /// (then use [`Org::find_app_without_soql`]); any other error is returned.
    pub fn note_app_query_error(&self, error: SalesforceError) -> Result<(), SalesforceError> {
        if !is_unsupported_read(&error) {
            return Err(error);
        }
        info!(error = %error, "this org refuses SOQL on ExternalClientApplication: apps are found through the Connect REST resources from now on");
        self.inner.sf.refused_app_query().insert(self.refusal_key());
        Ok(())
    }

    /// The id of the app named `developer_name`, if the org has it; `known_id` is the id
    /// recorded for it, if any. SOQL (`soql`, answering `Id`) first, unless this org refused
    /// it before.
    pub async fn find_app(
        &self,
        soql: &str,
        developer_name: &str,
        known_id: Option<&str>,
    ) -> Result<Option<String>, SalesforceError> {
        if !self.app_query_refused() {
            match self.query::<IdRow>(soql).await {
                Ok(rows) => return Ok(rows.into_iter().next().map(|r| r.id)),
                Err(error) => self.note_app_query_error(error)?,
            }
        }
        self.find_app_without_soql(developer_name, known_id).await
    }

    /// [`Org::find_app`] through documented resources only.
    pub async fn find_app_without_soql(
        &self,
        developer_name: &str,
        known_id: Option<&str>,
    ) -> Result<Option<String>, SalesforceError> {
        if let Some(id) = known_id.filter(|id| is_id(id)) {
            let path = self.data_path(&format!("apps/oauth/credentials/{id}"));
            match self
                .call_json::<serde_json::Value>(Method::GET, &path, &[], |r| r)
                .await
            {
                Ok(_) => return Ok(Some(id.to_owned())),
                Err(SalesforceError::NotFound { .. }) => {}
                // A refusal (secret access off, a permission) does not show the app gone: it
                // is kept rather than redeployed on a guess.
                Err(
                    error @ (SalesforceError::Rejected { .. }
                    | SalesforceError::ConsumerSecretAccessOff { .. }),
                ) => {
                    warn!(error = %error, "the app's credentials resource would not answer: the recorded app is kept");
                    return Ok(Some(id.to_owned()));
                }
                Err(error) => return Err(error),
            }
        }
        self.app_in_usage_list(developer_name).await
    }

    async fn app_in_usage_list(
        &self,
        developer_name: &str,
    ) -> Result<Option<String>, SalesforceError> {
        let path = self.data_path("apps/oauth/usage");
        let size = USAGE_PAGE_SIZE.to_string();
        for page in 0..USAGE_PAGES_MAX {
            let number = page.to_string();
            let answer: UsagePage = self
                .call_json(
                    Method::GET,
                    &path,
                    &[("page", &number), ("pageSize", &size)],
                    |r| r,
                )
                .await?;
            if let Some(app) = answer
                .apps
                .iter()
                .find(|a| a.developer_name == developer_name && is_id(&a.identifier))
            {
                return Ok(Some(app.identifier.clone()));
            }
            if answer.apps.is_empty() || answer.next_page_url.is_none() {
                return Ok(None);
            }
        }
        Ok(None)
    }
}

/// A Salesforce id: 15 or 18 letters and digits (it goes into a path).
fn is_id(id: &str) -> bool {
    matches!(id.len(), 15 | 18) && id.chars().all(|c| c.is_ascii_alphanumeric())
}
