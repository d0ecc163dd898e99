//! A session on one org as the product's admin: the current instance URL (it changes when the
//! token endpoint names a new one after a My Domain rename), the access token shared by every
//! clone, and the one request path every operation goes through (one refresh and one retry on
//! `INVALID_SESSION_ID`).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::future::BoxFuture;

use reqwest::{Method, RequestBuilder};
use secrecy::{ExposeSecret as _, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use super::{
    Salesforce,
    auth::{Grant, TokenFailure, is_moved, request_token},
    error::SalesforceError,
    error_body::{ApiError, bad_body, from_api_error, from_response},
    http::Answer,
    limits::ApiUsage,
};

/// Stores a refresh token the org rotated, in place of the one just redeemed (given first):
/// called with (redeemed, new) before the access token that came with the new one is used.
/// Its error (never holding a token) fails the request.
pub type RotationSink =
    Arc<dyn Fn(SecretString, SecretString) -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// A session on one org. Cheap to clone; clones share the token and the URL.
#[derive(Clone)]
pub struct Org {
    pub(crate) inner: Arc<OrgInner>,
}

pub(crate) struct OrgInner {
    pub(crate) sf: Salesforce,
    /// The refresh token to redeem: the one given, then each one the org rotated to.
    pub(super) refresh_token: Mutex<SecretString>,
    /// The connection whose cached access token this session uses, and where a rotated
    /// refresh token goes (`None`: no cache, and a rotated token is only kept in memory).
    pub(super) connection: Option<(uuid::Uuid, RotationSink)>,
    urls: Mutex<OrgUrls>,
    token: tokio::sync::Mutex<Option<SecretString>>,
}

pub(super) struct OrgUrls {
    current: Url,
    renamed_from: Option<Url>,
    /// The org the admin's token must answer for (recorded by the reconciler).
    pub(super) expected_org: Option<String>,
    /// The org the admin's token answered for.
    pub(super) org_id: Option<String>,
    /// The user the admin's token acts as.
    user_id: Option<String>,
}

impl std::fmt::Debug for Org {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Org")
            .field("instance_url", &self.instance_url().as_str())
            .finish_non_exhaustive()
    }
}

impl Org {
    pub(crate) fn new(
        sf: Salesforce,
        instance_url: Url,
        refresh_token: SecretString,
        connection: Option<(uuid::Uuid, RotationSink)>,
    ) -> Self {
        Self {
            inner: Arc::new(OrgInner {
                sf,
                refresh_token: Mutex::new(refresh_token),
                connection,
                urls: Mutex::new(OrgUrls {
                    current: instance_url,
                    renamed_from: None,
                    expected_org: None,
                    org_id: None,
                    user_id: None,
                }),
                token: tokio::sync::Mutex::new(None),
            }),
        }
    }

    /// The URL in use now (differs from the one given after a My Domain rename).
    pub fn instance_url(&self) -> Url {
        match self.inner.urls.lock() {
            Ok(urls) => urls.current.clone(),
            Err(poisoned) => poisoned.into_inner().current.clone(),
        }
    }

    /// The URL this session started with, if the token endpoint has since named another one.
    pub fn renamed_from(&self) -> Option<Url> {
        match self.inner.urls.lock() {
            Ok(urls) => urls.renamed_from.clone(),
            Err(poisoned) => poisoned.into_inner().renamed_from.clone(),
        }
    }

    /// The last `Sforce-Limit-Info` seen from this org.
    pub fn api_usage(&self) -> Option<ApiUsage> {
        self.inner.sf.api_usage(&self.instance_url())
    }

    pub(crate) fn sf(&self) -> &Salesforce {
        &self.inner.sf
    }

    /// `/services/data/vXX.X/{rest}`.
    pub(crate) fn data_path(&self, rest: &str) -> String {
        format!("/services/data/v{}/{}", self.inner.sf.api_version(), rest)
    }

    /// The session's access token, else the connection's cached one, else a fresh one
    /// (concurrent callers wait for one refresh).
    async fn access_token(&self) -> Result<SecretString, SalesforceError> {
        let mut slot = self.inner.token.lock().await;
        if let Some(token) = slot.as_ref() {
            return Ok(token.clone());
        }
        if let Some(token) = self.cached_token() {
            *slot = Some(token.clone());
            return Ok(token);
        }
        let requested = Instant::now();
        let token = self.refresh().await?;
        if let Some((id, _)) = &self.inner.connection {
            let (sessions, lifetime) = self.inner.sf.sessions();
            let origin = self.instance_url().origin().ascii_serialization();
            let org_id = self.org_id();
            sessions.put(*id, origin, org_id, token.clone(), requested, lifetime);
        }
        *slot = Some(token.clone());
        Ok(token)
    }

    /// Takes the admin's access token now (the token request only), so that
    /// [`Org::org_id`] and [`Org::user_id`] are known before the first call.
    pub async fn sign_in(&self) -> Result<(), SalesforceError> {
        self.access_token().await.map(|_| ())
    }

    /// Forgets `stale` (here and in the connection's cache) unless another task already
    /// replaced it.
    async fn invalidate(&self, stale: &SecretString) {
        let mut slot = self.inner.token.lock().await;
        if let Some((id, _)) = &self.inner.connection {
            self.inner.sf.sessions().0.drop_if(*id, stale);
        }
        if slot
            .as_ref()
            .is_some_and(|t| t.expose_secret() == stale.expose_secret())
        {
            *slot = None;
        }
    }

    /// The org the token must answer for (the one recorded for this connection), if known.
    pub fn expect_org(&self, org_id: Option<String>) {
        self.lock_urls().expected_org = org_id;
    }

    /// The org the admin's token answered for, once a token was taken.
    pub fn org_id(&self) -> Option<String> {
        self.lock_urls().org_id.clone()
    }

    /// The user the admin's token acts as, once a token was taken.
    pub fn user_id(&self) -> Option<String> {
        self.lock_urls().user_id.clone()
    }

    pub(super) fn lock_urls(&self) -> std::sync::MutexGuard<'_, OrgUrls> {
        self.inner.urls.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The refresh-token grant at the org's own host, then at the login host (the sandbox one
    /// for a sandbox) only if the own host answered that it moved (301/307); follows a changed
    /// `instance_url` only then. The token must answer for the org this session expects.
    async fn refresh(&self) -> Result<SecretString, SalesforceError> {
        let sf = &self.inner.sf;
        let current = sf.instance_policy().check(&self.instance_url())?;
        let redeemed = self
            .inner
            .refresh_token
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let grant = || Grant::RefreshToken(&redeemed);
        let (id, secret) = sf.client_credentials_of_product();
        let (token, moved) = match request_token(sf.http(), &current, id, secret, grant()).await {
            Ok(token) => (token, false),
            Err(TokenFailure::HostGone(why)) => {
                let login = sf.login_url_for(&current);
                tracing::warn!(
                    reason = %why,
                    login = %login.origin().ascii_serialization(),
                    "the org's own host says it moved; redeeming the refresh token at the login host"
                );
                let token = request_token(sf.http(), login, id, secret, grant()).await;
                (
                    token.map_err(|f| sf.product_client_failure(f.into()))?,
                    true,
                )
            }
            Err(TokenFailure::Failed(e)) => return Err(sf.product_client_failure(e)),
        };
        // The redeemed token is spent once a new one came back: store the new one first.
        if let Some(new) = token.refresh_token.clone() {
            self.rotated(redeemed.clone(), new).await?;
        }
        let expected = self.lock_urls().expected_org.clone();
        if let (Some(expected), Some(found)) = (&expected, &token.org_id) {
            if expected != found {
                return Err(SalesforceError::OrgMismatch {
                    expected: format!("org {expected}"),
                    found: format!("org {found}"),
                });
            }
        }
        if let Some(named) = &token.instance_url {
            let named = sf.instance_policy().check(named)?;
            if named.origin() != current.origin() {
                // The org's own host answering for another host's org is not a rename.
                if !moved {
                    return Err(SalesforceError::OrgMismatch {
                        expected: current.origin().ascii_serialization(),
                        found: named.origin().ascii_serialization(),
                    });
                }
                tracing::info!(
                    from = %current.origin().ascii_serialization(),
                    to = %named.origin().ascii_serialization(),
                    "the org's instance URL changed"
                );
                let mut urls = self.lock_urls();
                let old = std::mem::replace(&mut urls.current, named);
                if urls.renamed_from.is_none() {
                    urls.renamed_from = Some(old);
                }
            }
        }
        if token.org_id.is_some() {
            self.lock_urls().org_id = token.org_id.clone();
        }
        if token.user_id.is_some() {
            self.lock_urls().user_id = token.user_id.clone();
        }
        Ok(token.token)
    }

    /// Sends a request to `path` (+ `query`) on the org, authorised as the admin; on a 401
    /// refreshes the token once and sends it once more. Returns the answer whatever its status.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        decorate: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Answer, SalesforceError> {
        let mut refreshed = false;
        loop {
            let token = self.access_token().await?;
            // Once per org per process (cached): an org without the configured version is
            // refused here, not answered with a 404 per call.
            if path.starts_with("/services/data/v") {
                self.ensure_api_version().await?;
            }
            let url = self.url(path, query)?;
            let sent = self
                .inner
                .sf
                .http()
                .send(method.clone(), &url, |client| {
                    decorate(
                        client
                            .request(method.clone(), url.clone())
                            .bearer_auth(token.expose_secret())
                            .header(reqwest::header::ACCEPT, "application/json"),
                    )
                })
                .await;
            // A host that does not answer is an outage, never a sign of a rename.
            let answer = sent?;
            // The documented sign of a rename in the middle of a session: the old host
            // redirects. A fresh token names the org's current URL; go on there if it moved.
            if is_moved(answer.status.as_u16()) && !refreshed {
                refreshed = true;
                let before = self.instance_url();
                self.invalidate(&token).await;
                self.access_token().await?;
                if self.instance_url().origin() == before.origin() {
                    return Ok(answer);
                }
                continue;
            }
            if answer.status == reqwest::StatusCode::UNAUTHORIZED && !refreshed {
                tracing::debug!("session expired; refreshing once");
                self.invalidate(&token).await;
                refreshed = true;
                continue;
            }
            return Ok(answer);
        }
    }

    /// [`Org::call`], then the body decoded as `T` (2xx) or mapped to an error.
    pub(crate) async fn call_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        decorate: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<T, SalesforceError> {
        let answer = self.call(method, path, query, decorate).await?;
        decode(&answer)
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<Url, SalesforceError> {
        let base = self
            .inner
            .sf
            .instance_policy()
            .check(&self.instance_url())?;
        let mut url = base
            .join(path)
            .map_err(|e| SalesforceError::Setup(e.to_string()))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }
}

/// A success answer's body as `T`; an error answer (or a 2xx whose body is an error list)
/// mapped to its variant; anything else `BadResponse`.
pub(crate) fn decode<T: DeserializeOwned>(answer: &Answer) -> Result<T, SalesforceError> {
    let status = answer.status.as_u16();
    if !answer.status.is_success() {
        return Err(match from_response(status, &answer.body) {
            SalesforceError::Throttled { detail, .. } => SalesforceError::Throttled {
                detail,
                retry_after: super::http::retry_after(&answer.headers),
            },
            other => other,
        });
    }
    match serde_json::from_slice::<T>(&answer.body) {
        Ok(value) => Ok(value),
        Err(e) => Err(error_in_success(status, &answer.body)
            .unwrap_or_else(|| bad_body(status, &answer.body, &e))),
    }
}

/// A 2xx whose body is Salesforce's error shape (`[{errorCode, message}]`).
fn error_in_success(status: u16, body: &[u8]) -> Option<SalesforceError> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Errors {
        Many(Vec<Coded>),
        One(Coded),
    }
    #[derive(serde::Deserialize)]
    struct Coded {
        #[serde(rename = "errorCode")]
        error_code: String,
        #[serde(default)]
        message: String,
        #[serde(default)]
        fields: Vec<String>,
    }
    let first = match serde_json::from_slice::<Errors>(body).ok()? {
        Errors::Many(list) => list.into_iter().next()?,
        Errors::One(one) => one,
    };
    Some(from_api_error(
        status,
        ApiError {
            message: first.message,
            error_code: first.error_code,
            fields: first.fields,
        },
    ))
}
