//! Shared fixtures: settings pointing at mock servers, fast tuning, the token endpoint.

use std::time::Duration;

use connectord::{
    config::SalesforceSettings,
    salesforce::{Org, Salesforce, Tuning},
};
use secrecy::SecretString;
use serde_json::json;
use url::Url;
use wiremock::{
    Match, Mock, MockServer, Request, ResponseTemplate,
    matchers::{method, path},
};

pub const CLIENT_ID: &str = "product-client-id";
pub const CLIENT_SECRET: &str = "PRODUCT-CLIENT-SECRET-7f3a";
pub const REFRESH_TOKEN: &str = "REFRESH-TOKEN-5Aep861";
pub const ACCESS_TOKEN: &str = "00DACCESS-TOKEN-one";
pub const API: &str = "/services/data/v64.0";

pub fn settings(login_url: &str) -> SalesforceSettings {
    SalesforceSettings {
        client_id: CLIENT_ID.into(),
        client_secret: SecretString::from(CLIENT_SECRET),
        api_version: "64.0".into(),
        login_url: Url::parse(login_url).unwrap(),
        sandbox_login_url: Url::parse(login_url).unwrap(),
        allow_loopback_http: true,
        allowed_domains: vec!["my.salesforce.com".into()],
        government_cloud_domains: vec!["salesforce.mil".into()],
        government_cloud_instances: vec![],
        ip_relaxation: Default::default(),
        username_domain: "integration.connectord.invalid".into(),
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(2),
        deploy_wait_limit: Duration::from_secs(5),
        app_token_wait: Duration::from_millis(200),
        record_dir: None,
        session_timeout: Duration::from_secs(2 * 60 * 60),
    }
}

pub fn tuning() -> Tuning {
    Tuning {
        retry_attempts: 3,
        retry_base: Duration::from_millis(1),
        deploy_first_poll: Duration::from_millis(1),
        deploy_max_poll_interval: Duration::from_millis(5),
        deploy_max_wait: Duration::from_secs(5),
    }
}

pub fn client(login_url: &str) -> Salesforce {
    Salesforce::with_tuning(&settings(login_url), tuning()).unwrap()
}

/// A client whose login URL is a host that never answers.
pub fn client_for(server: &MockServer) -> Salesforce {
    client(&format!("{}/", server.uri()))
}

pub fn url_of(server: &MockServer) -> Url {
    Url::parse(&server.uri()).unwrap()
}

pub fn org_on(server: &MockServer) -> Org {
    client_for(server).org(url_of(server), SecretString::from(REFRESH_TOKEN))
}

/// Matches a form-encoded body holding every given pair.
pub struct FormHas(pub Vec<(&'static str, String)>);

impl Match for FormHas {
    fn matches(&self, request: &Request) -> bool {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect();
        self.0
            .iter()
            .all(|(k, v)| pairs.iter().any(|(pk, pv)| pk == k && pv == v))
    }
}

pub fn refresh_form() -> FormHas {
    FormHas(vec![
        ("grant_type", "refresh_token".into()),
        ("refresh_token", REFRESH_TOKEN.into()),
        ("client_id", CLIENT_ID.into()),
        ("client_secret", CLIENT_SECRET.into()),
    ])
}

pub fn token_body(access_token: &str, instance_url: &str) -> serde_json::Value {
    json!({
        "access_token": access_token,
        "signature": "c2lnbmF0dXJl",
        "scope": "api refresh_token",
        "instance_url": instance_url,
        "id": "https://login.salesforce.com/id/00Dxx0000001gPL/005xx000001Sv6A",
        "token_type": "Bearer",
        "issued_at": "1700000000000"
    })
}

/// The refresh-token grant at `server`, answering `access_token` and naming `server` itself.
pub fn token_mock(server: &MockServer, access_token: &str) -> Mock {
    Mock::given(method("POST"))
        .and(path("/services/oauth2/token"))
        .and(refresh_form())
        .respond_with(
            ResponseTemplate::new(200).set_body_json(token_body(access_token, &server.uri())),
        )
}

pub fn bearer(token: &str) -> wiremock::matchers::HeaderExactMatcher {
    wiremock::matchers::header("authorization", format!("Bearer {token}").as_str())
}

pub fn query_answer(records: serde_json::Value) -> ResponseTemplate {
    let size = records.as_array().map_or(0, Vec::len);
    ResponseTemplate::new(200)
        .insert_header("Sforce-Limit-Info", "api-usage=42/15000")
        .set_body_json(json!({"totalSize": size, "done": true, "records": records}))
}

#[derive(Debug, serde::Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct IdOnly {
    pub id: String,
}
