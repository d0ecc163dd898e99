//! A session as a connection's own app: a client-credentials token minted with the app's
//! consumer key and secret, then SOQL reads made with it, as the app's execution user. This is
//! how connectord reads an org "through the connection itself" (member mapping reads the org's
//! users this way), so those reads prove and use exactly what the product's agent gets.

use reqwest::Method;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, de::DeserializeOwned};
use url::Url;

use super::{Salesforce, error::SalesforceError, org::decode};

/// An app session on one org. `Debug` shows the URL only.
pub struct AppSession {
    sf: Salesforce,
    instance_url: Url,
    token: SecretString,
}

impl std::fmt::Debug for AppSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppSession")
            .field("instance_url", &self.instance_url.as_str())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page<T> {
    #[serde(default)]
    total_size: Option<u64>,
    done: bool,
    records: Vec<T>,
    #[serde(default)]
    next_records_url: Option<String>,
}

/// What [`AppSession::query_at_most`] read.
#[derive(Debug)]
pub enum Bounded<T> {
    /// Every record.
    All(Vec<T>),
    /// More than the limit: this many at least (Salesforce's `totalSize` when it gave one).
    TooMany { at_least: u64 },
}

impl Salesforce {
    /// Mints a client-credentials token for the app at `instance_url` and returns a session
    /// that reads with it (at the instance URL the token response names, if any).
    pub async fn app_session(
        &self,
        instance_url: &Url,
        consumer_key: &str,
        consumer_secret: &SecretString,
    ) -> Result<AppSession, SalesforceError> {
        let token = self
            .client_credentials_token(instance_url, consumer_key, consumer_secret)
            .await?;
        let base = token.instance_url.unwrap_or_else(|| instance_url.clone());
        let base = self.instance_policy().check(&base)?;
        Ok(AppSession {
            sf: self.clone(),
            instance_url: base,
            token: token.token,
        })
    }
}

impl AppSession {
    /// The URL this session reads from.
    pub fn instance_url(&self) -> &Url {
        &self.instance_url
    }

    /// Runs a SOQL query and follows `nextRecordsUrl` until every record is read.
    pub async fn query<T: DeserializeOwned>(&self, soql: &str) -> Result<Vec<T>, SalesforceError> {
        match self.query_at_most(soql, usize::MAX).await? {
            Bounded::All(records) => Ok(records),
            Bounded::TooMany { at_least } => Err(SalesforceError::BadResponse {
                status: 200,
                detail: format!("a query said it has {at_least} records"),
            }),
        }
    }

    /// Runs a SOQL query, following `nextRecordsUrl`, unless it has more than `max` records:
    /// then no further page is read (the first page's `totalSize` tells, and the records read
    /// are counted as well in case it does not).
    pub async fn query_at_most<T: DeserializeOwned>(
        &self,
        soql: &str,
        max: usize,
    ) -> Result<Bounded<T>, SalesforceError> {
        let path = format!("/services/data/v{}/query", self.sf.api_version());
        let first: Page<T> = self.get(&path, Some(soql)).await?;
        let total = first.total_size.unwrap_or(0);
        if usize::try_from(total).map_or(true, |t| t > max) {
            return Ok(Bounded::TooMany { at_least: total });
        }
        let mut records = first.records;
        let mut next = (!first.done).then_some(first.next_records_url).flatten();
        while let Some(path) = next.take() {
            if records.len() > max {
                return Ok(Bounded::TooMany {
                    at_least: records.len() as u64,
                });
            }
            if !path.starts_with("/services/data/") {
                return Err(SalesforceError::BadResponse {
                    status: 200,
                    detail: "nextRecordsUrl is not a data API path".into(),
                });
            }
            let page: Page<T> = self.get(&path, None).await?;
            records.extend(page.records);
            next = (!page.done).then_some(page.next_records_url).flatten();
        }
        if records.len() > max {
            return Ok(Bounded::TooMany {
                at_least: records.len() as u64,
            });
        }
        Ok(Bounded::All(records))
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        soql: Option<&str>,
    ) -> Result<T, SalesforceError> {
        let mut url = self
            .instance_url
            .join(path)
            .map_err(|e| SalesforceError::Setup(e.to_string()))?;
        if let Some(soql) = soql {
            url.query_pairs_mut().append_pair("q", soql);
        }
        let answer = self
            .sf
            .http()
            .send(Method::GET, &url, |client| {
                client
                    .get(url.clone())
                    .bearer_auth(self.token.expose_secret())
                    .header(reqwest::header::ACCEPT, "application/json")
            })
            .await?;
        decode(&answer)
    }
}
