//! Shared set-up: a running simulator, an admin session, request helpers, deploy zips.

use std::io::Write;

use connectord_sim::{OrgConfig, OrgHandle, Simulator, SimulatorConfig};
use serde_json::{Value, json};

pub const V: &str = "v64.0";

pub struct Env {
    pub sim: Simulator,
    pub org: OrgHandle,
    pub http: reqwest::Client,
    pub token: String,
}

pub async fn start_with(orgs: Vec<OrgConfig>) -> Env {
    let config = SimulatorConfig {
        orgs,
        ..SimulatorConfig::default()
    };
    let sim = Simulator::start(config).await.expect("simulator starts");
    let org = sim.orgs()[0].clone();
    let http = reqwest::Client::new();
    let token = admin_token(&http, &org).await;
    Env {
        sim,
        org,
        http,
        token,
    }
}

pub async fn start() -> Env {
    start_with(vec![OrgConfig::named("acme")]).await
}

pub async fn admin_token(http: &reqwest::Client, org: &OrgHandle) -> String {
    let body: Value = http
        .post(format!("{}services/oauth2/token", org.instance_url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", org.admin_refresh_token().as_str()),
            ("client_id", "connectord-sim-client"),
            ("client_secret", "connectord-sim-secret"),
        ])
        .send()
        .await
        .expect("token call")
        .json()
        .await
        .expect("token json");
    body["access_token"]
        .as_str()
        .expect("access token")
        .to_string()
}

impl Env {
    pub fn url(&self, path: &str) -> String {
        format!("{}services/data/{V}/{path}", self.org.instance_url())
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.call_as(&self.token, method, path, body).await
    }

    pub async fn call_as(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, self.url(path)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn query(&self, soql: &str) -> (u16, Value) {
        let q: String = url::form_urlencoded::byte_serialize(soql.as_bytes()).collect();
        self.get(&format!("query?q={q}")).await
    }

    pub async fn id_of(&self, soql: &str) -> String {
        let (status, body) = self.query(soql).await;
        assert_eq!(status, 200, "{body}");
        body["records"][0]["Id"]
            .as_str()
            .expect("a record")
            .to_string()
    }

    pub async fn integration_profile(&self) -> String {
        self.id_of("SELECT Id FROM Profile WHERE Name = 'Minimum Access - API Only Integrations'")
            .await
    }

    /// Creates an active integration user; answers its id.
    pub async fn integration_user(&self, username: &str) -> String {
        let profile = self.integration_profile().await;
        let (status, body) = self
            .post("sobjects/User", user_body(username, "intg", &profile))
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().expect("id").to_string()
    }
}

pub fn user_body(username: &str, alias: &str, profile: &str) -> Value {
    json!({
        "Username": username, "Alias": alias, "Email": "integration@example.com",
        "FirstName": "Agent", "LastName": "Integration", "ProfileId": profile,
        "LanguageLocaleKey": "en_US", "LocaleSidKey": "en_US",
        "EmailEncodingKey": "UTF-8", "TimeZoneSidKey": "America/Los_Angeles",
    })
}

/// A zip of `files` (path, content).
pub fn zip(files: &[(&str, String)]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut writer = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default();
        for (path, content) in files {
            writer.start_file(*path, options).expect("zip entry");
            writer.write_all(content.as_bytes()).expect("zip write");
        }
        writer.finish().expect("zip finish");
    }
    out.into_inner()
}

pub fn package_xml(types: &[(&str, &str)]) -> String {
    let body: String = types
        .iter()
        .map(|(t, m)| format!("<types><members>{m}</members><name>{t}</name></types>"))
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Package xmlns=\"http://soap.sforce.com/2006/04/metadata\">{body}<version>64.0</version></Package>"
    )
}

fn doc(root: &str, inner: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><{root} xmlns=\"http://soap.sforce.com/2006/04/metadata\">{inner}</{root}>"
    )
}

/// The five ECA component files for app `name` running as `user`.
pub fn eca_files(name: &str, user: &str) -> Vec<(String, String)> {
    vec![
        (
            format!("externalClientApps/{name}.eca"),
            doc(
                "ExternalClientApplication",
                "<contactEmail>ops@example.com</contactEmail><description>agent</description><distributionState>Local</distributionState><isProtected>false</isProtected><label>Agent</label>",
            ),
        ),
        (
            format!("extlClntAppOauthSettings/{name}.ecaOauth"),
            doc(
                "ExtlClntAppOauthSettings",
                &format!(
                    "<commaSeparatedOauthScopes>Api</commaSeparatedOauthScopes><externalClientApplication>{name}</externalClientApplication><label>{name}</label>"
                ),
            ),
        ),
        (
            format!("extlClntAppGlobalOauthSets/{name}.ecaGlblOauth"),
            doc(
                "ExtlClntAppGlobalOauthSettings",
                &format!(
                    "<callbackUrl>https://example.com/cb</callbackUrl><externalClientApplication>{name}</externalClientApplication><isClientCredentialsFlowEnabled>true</isClientCredentialsFlowEnabled><label>{name}</label>"
                ),
            ),
        ),
        (
            format!("extlClntAppOauthPolicies/{name}.ecaOauthPlcy"),
            doc(
                "ExtlClntAppOauthConfigurablePolicies",
                &format!(
                    "<clientCredentialsFlowUser>{user}</clientCredentialsFlowUser><externalClientApplication>{name}</externalClientApplication><ipRelaxationPolicyType>Enforce</ipRelaxationPolicyType><isClientCredentialsFlowEnabled>true</isClientCredentialsFlowEnabled><label>{name}</label><permittedUsersPolicyType>AdminApprovedPreAuthorized</permittedUsersPolicyType>"
                ),
            ),
        ),
        (
            format!("extlClntAppPolicies/{name}.ecaPlcy"),
            doc(
                "ExtlClntAppConfigurablePolicies",
                &format!(
                    "<externalClientApplication>{name}</externalClientApplication><isEnabled>true</isEnabled><label>{name}</label>"
                ),
            ),
        ),
    ]
}

pub const ECA_TYPES: [&str; 5] = [
    "ExternalClientApplication",
    "ExtlClntAppOauthSettings",
    "ExtlClntAppGlobalOauthSettings",
    "ExtlClntAppOauthConfigurablePolicies",
    "ExtlClntAppConfigurablePolicies",
];

/// The zip deploying app `name` for `user`.
pub fn eca_zip(name: &str, user: &str) -> Vec<u8> {
    let types: Vec<(&str, &str)> = ECA_TYPES.iter().map(|t| (*t, name)).collect();
    let mut files = vec![("package.xml".to_string(), package_xml(&types))];
    files.extend(eca_files(name, user));
    let refs: Vec<(&str, String)> = files.iter().map(|(p, c)| (p.as_str(), c.clone())).collect();
    zip(&refs)
}

impl Env {
    /// Submits a deploy; answers its id.
    pub async fn deploy(&self, zip_bytes: Vec<u8>) -> String {
        let form = reqwest::multipart::Form::new()
            .part(
                "json",
                reqwest::multipart::Part::text(
                    r#"{"deployOptions":{"singlePackage":true,"rollbackOnError":true}}"#,
                )
                .mime_str("application/json")
                .expect("mime"),
            )
            .part(
                "file",
                reqwest::multipart::Part::bytes(zip_bytes)
                    .file_name("deploy.zip")
                    .mime_str("application/zip")
                    .expect("mime"),
            );
        let response = self
            .http
            .post(self.url("metadata/deployRequest"))
            .bearer_auth(&self.token)
            .multipart(form)
            .send()
            .await
            .expect("deploy sent");
        assert_eq!(response.status().as_u16(), 201);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["deployResult"]["status"], "Pending");
        body["id"].as_str().expect("deploy id").to_string()
    }

    pub async fn deploy_status(&self, id: &str) -> Value {
        let (status, body) = self
            .get(&format!("metadata/deployRequest/{id}?includeDetails=true"))
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }
}
