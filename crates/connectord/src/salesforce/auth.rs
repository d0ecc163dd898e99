//! OAuth 2.0 against Salesforce's token endpoint with the `oauth2` crate: the admin's
//! refresh-token grant and an app's client-credentials grant, sent through our own HTTP
//! client (no redirects, retries, spans).
//!
//! Every non-200 answer is classified here, before `oauth2` sees it. Only the documented signal
//! of a renamed My Domain, a 301 or 307 redirect (Salesforce Help, "Understand Redirections for
//! Previous My Domain Host Names"), means "this host no longer serves this org"
//! ([`TokenFailure::HostGone`], so the caller can try the login host). A host that does not
//! answer at all is a network failure (`salesforce_unavailable`, retried later), never a
//! reason to send the refresh token elsewhere. Anything else is mapped by
//! [`super::error_body::from_response`] (`invalid_grant` → `AdminTokenRevoked` for the
//! refresh-token grant, `AppTokenRefused` for the client-credentials grant).

use oauth2::{
    AuthType, ClientId, ClientSecret, EndpointNotSet, EndpointSet, ExtraTokenFields, RefreshToken,
    RequestTokenError, StandardRevocableToken, StandardTokenResponse, TokenResponse as _, TokenUrl,
    basic::{
        BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
        BasicTokenType,
    },
};
use reqwest::Method;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use super::{error::SalesforceError, error_body::from_response, http::Http};

/// The path of the token endpoint on any Salesforce host.
pub const TOKEN_PATH: &str = "/services/oauth2/token";

/// A short-lived access token (e.g. the one `connectord token` prints). `Debug` hides it.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token: SecretString,
    /// The org's URL as the token endpoint named it.
    pub instance_url: Option<Url>,
    /// Milliseconds since the epoch, as Salesforce sent it.
    pub issued_at: Option<String>,
    /// The org the token answers for: `ORGID` of the response's `id` URL
    /// (`https://login.salesforce.com/id/ORGID/USERID`).
    pub org_id: Option<String>,
    /// The user the token acts as: `USERID` of the same `id` URL.
    pub user_id: Option<String>,
    /// A new refresh token sent with the access token: the org or app rotates refresh tokens,
    /// and the one just redeemed no longer works (Salesforce Help, "OAuth 2.0 Refresh Token
    /// Flow for Renewed Sessions").
    pub refresh_token: Option<SecretString>,
}

/// The fields Salesforce adds to a token response (`instance_url`, `id`, `issued_at`, ...).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub(crate) struct SalesforceTokenFields {
    #[serde(default)]
    instance_url: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    issued_at: Option<String>,
}

impl ExtraTokenFields for SalesforceTokenFields {}

pub(super) type SalesforceTokenResponse =
    StandardTokenResponse<SalesforceTokenFields, BasicTokenType>;

type TokenClient = oauth2::Client<
    BasicErrorResponse,
    SalesforceTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// The two grants connectord uses.
pub(crate) enum Grant<'a> {
    RefreshToken(&'a SecretString),
    ClientCredentials,
}

/// Why a token could not be had.
#[derive(Debug)]
pub(crate) enum TokenFailure {
    /// The host does not serve this org any more: it redirected (301 or 307).
    HostGone(SalesforceError),
    Failed(SalesforceError),
}

impl From<TokenFailure> for SalesforceError {
    fn from(f: TokenFailure) -> Self {
        match f {
            TokenFailure::HostGone(e) | TokenFailure::Failed(e) => e,
        }
    }
}

/// What the HTTP function hands back to `oauth2` when the answer is not a 200.
#[derive(Debug, thiserror::Error)]
enum TokenHttpError {
    #[error("the token endpoint's host does not serve this org")]
    HostGone(SalesforceError),
    #[error("the token request failed")]
    Failed(SalesforceError),
}

/// Redeems `grant` at `{host}/services/oauth2/token` with the given client credentials.
pub(crate) async fn request_token(
    http: &Http,
    host: &Url,
    client_id: &str,
    client_secret: &SecretString,
    grant: Grant<'_>,
) -> Result<AccessToken, TokenFailure> {
    let token_url = host
        .join(TOKEN_PATH)
        .map_err(|e| TokenFailure::Failed(SalesforceError::Setup(e.to_string())))?;
    let client: TokenClient = oauth2::Client::new(ClientId::new(client_id.to_owned()))
        .set_client_secret(ClientSecret::new(client_secret.expose_secret().to_owned()))
        .set_auth_type(AuthType::RequestBody)
        .set_token_uri(TokenUrl::from_url(token_url));

    // Each request's future owns its `Http` (a cheap clone): a future borrowing it here made
    // every caller's future fail rustc's "`Send` is not general enough" check when spawned
    // (rust-lang/rust#110338).
    let app = matches!(grant, Grant::ClientCredentials);
    let send = |request: oauth2::HttpRequest| {
        let http = http.clone();
        async move { send_token_request(&http, request).await }
    };
    let result = match grant {
        Grant::RefreshToken(refresh) => {
            let refresh = RefreshToken::new(refresh.expose_secret().to_owned());
            client
                .exchange_refresh_token(&refresh)
                .request_async(&send)
                .await
        }
        Grant::ClientCredentials => {
            client
                .exchange_client_credentials()
                .request_async(&send)
                .await
        }
    };
    let outcome = match result {
        Ok(response) => return access_token_from(&response).map_err(TokenFailure::Failed),
        Err(RequestTokenError::Request(TokenHttpError::HostGone(e))) => {
            Err(TokenFailure::HostGone(e))
        }
        Err(RequestTokenError::Request(TokenHttpError::Failed(e))) => Err(TokenFailure::Failed(e)),
        Err(RequestTokenError::ServerResponse(e)) => {
            Err(TokenFailure::Failed(super::error_body::from_oauth_error(
                400,
                e.error().as_ref(),
                e.error_description()
                    .map(String::as_str)
                    .unwrap_or_default(),
            )))
        }
        Err(RequestTokenError::Parse(e, _)) => {
            Err(TokenFailure::Failed(SalesforceError::BadResponse {
                status: 200,
                detail: format!("unexpected token response: {}", e.inner()),
            }))
        }
        Err(RequestTokenError::Other(detail)) => {
            Err(TokenFailure::Failed(SalesforceError::BadResponse {
                status: 200,
                detail,
            }))
        }
    };
    outcome.map_err(|f| if app { refused_app(f) } else { f })
}

/// Only the refresh-token grant's `invalid_grant` means the admin's grant is gone. From the
/// client-credentials grant it means the app cannot have a token yet or at all: not yet
/// propagated after a deploy, "no valid scopes defined" (Winter '26), an inactive run-as user.
fn refused_app(failure: TokenFailure) -> TokenFailure {
    match failure {
        TokenFailure::Failed(SalesforceError::AdminTokenRevoked { description }) => {
            TokenFailure::Failed(SalesforceError::AppTokenRefused { description })
        }
        other => other,
    }
}

/// The access token and Salesforce's extra fields of a parsed token response.
pub(super) fn access_token_from(
    response: &SalesforceTokenResponse,
) -> Result<AccessToken, SalesforceError> {
    let extra = response.extra_fields();
    let instance_url = match extra.instance_url.as_deref() {
        Some(text) => Some(Url::parse(text).map_err(|_| SalesforceError::BadResponse {
            status: 200,
            detail: "the token response's instance_url is not a URL".into(),
        })?),
        None => None,
    };
    Ok(AccessToken {
        token: SecretString::from(response.access_token().secret().to_owned()),
        instance_url,
        issued_at: extra.issued_at.clone(),
        org_id: extra.id.as_deref().and_then(org_id_of),
        user_id: extra.id.as_deref().and_then(user_id_of),
        refresh_token: response
            .refresh_token()
            .map(|t| SecretString::from(t.secret().to_owned()))
            .filter(|t| !t.expose_secret().trim().is_empty()),
    })
}

/// `USERID` of an identity URL `…/id/ORGID/USERID`, when the URL is well formed.
pub(crate) fn user_id_of(identity: &str) -> Option<String> {
    org_id_of(identity)?;
    let user = identity.trim_end_matches('/').rsplit('/').next()?;
    let well_formed =
        matches!(user.len(), 15 | 18) && user.chars().all(|c| c.is_ascii_alphanumeric());
    well_formed.then(|| user.to_owned())
}

/// `ORGID` of an identity URL `…/id/ORGID/USERID` (15 or 18 letters and digits).
pub(crate) fn org_id_of(identity: &str) -> Option<String> {
    let mut parts = identity.trim_end_matches('/').rsplit('/');
    let _user = parts.next()?;
    let org = parts.next()?;
    let marker = parts.next()?;
    let well_formed =
        matches!(org.len(), 15 | 18) && org.chars().all(|c| c.is_ascii_alphanumeric());
    (marker == "id" && well_formed).then(|| org.to_owned())
}

/// A previous My Domain host's answer: Salesforce redirects those "with redirect code 301 or
/// redirect code 307" (Salesforce Help, "Understand Redirections for Previous My Domain Host
/// Names"). Nothing else counts as a renamed host.
pub(crate) fn is_moved(status: u16) -> bool {
    matches!(status, 301 | 307)
}

/// The `oauth2` HTTP function: our client, and every non-200 classified here.
async fn send_token_request(
    http: &Http,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, TokenHttpError> {
    let (parts, body) = request.into_parts();
    let url = Url::parse(&parts.uri.to_string())
        .map_err(|e| TokenHttpError::Failed(SalesforceError::Setup(e.to_string())))?;
    let answer = http
        .send(Method::POST, &url, |client| {
            client
                .request(parts.method.clone(), url.clone())
                .headers(parts.headers.clone())
                .body(body.clone())
        })
        .await
        .map_err(|t| TokenHttpError::Failed(SalesforceError::from(t)))?;
    let status = answer.status.as_u16();
    if is_moved(status) {
        let e = from_response(status, &answer.body);
        return Err(TokenHttpError::HostGone(e));
    }
    if status != 200 {
        return Err(TokenHttpError::Failed(from_response(status, &answer.body)));
    }
    let mut response = oauth2::http::Response::builder().status(answer.status);
    if let Some(headers) = response.headers_mut() {
        *headers = answer.headers;
    }
    response
        .body(answer.body.to_vec())
        .map_err(|e| TokenHttpError::Failed(SalesforceError::Setup(e.to_string())))
}
