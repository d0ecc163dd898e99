//! Replay: a folder of recorded exchanges (`salesforce.record_dir`, or the committed fixtures
//! in `tests/fixtures/salesforce/CALL/CASE/`) becomes a wiremock server that answers them in
//! order (strictly: a call that drifted from the recording gets a 501), and the client's call
//! runs against it. A case named `ok…` must succeed; one named
//! `err-Variant…` must fail with that `SalesforceError` variant. A recording from a real org
//! dropped in as a new case folder runs under the same test.

use std::path::{Path, PathBuf};

use serde_json::Value;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/salesforce");

/// One recorded exchange.
pub struct Exchange(pub Value);

impl Exchange {
    pub fn method(&self) -> &str {
        self.0["request"]["method"].as_str().unwrap_or("GET")
    }
    /// The path, its API version made the client's.
    pub fn path(&self) -> String {
        let path = self.0["request"]["path"].as_str().unwrap_or("/");
        match path.strip_prefix("/services/data/v") {
            Some(rest) => format!("{API}/{}", rest.split_once('/').map_or("", |r| r.1)),
            None => path.to_owned(),
        }
    }
    pub fn query(&self, key: &str) -> Option<String> {
        self.0["request"]["query"]
            .as_array()?
            .iter()
            .find_map(|pair| {
                (pair[0] == key).then(|| pair[1].as_str().unwrap_or_default().to_owned())
            })
    }
    pub fn json_body(&self) -> Value {
        self.0["request"]["body"]["json"].clone()
    }
    fn answer(&self, server_uri: &str) -> ResponseTemplate {
        let response = &self.0["response"];
        let status = response["status"].as_u64().unwrap_or(500) as u16;
        let mut template = ResponseTemplate::new(status);
        if let Some(headers) = response["headers"].as_object() {
            for (name, value) in headers {
                if name != "content-type" {
                    template = template.insert_header(name.as_str(), value.as_str().unwrap_or(""));
                }
            }
        }
        let body = &response["body"];
        if let Some(json) = body.get("json") {
            let mut json = json.clone();
            // A token answer names the org's host: make it this server.
            if json.get("instance_url").is_some() {
                json["instance_url"] = Value::String(server_uri.to_owned());
            }
            template = template.set_body_json(json);
        } else if let Some(text) = body.get("text").and_then(Value::as_str) {
            template = template.set_body_string(text);
        }
        template
    }
}

/// A case folder's exchanges, in file-name order.
pub fn exchanges(dir: &Path) -> Vec<Exchange> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| Exchange(serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap()))
        .collect()
}

/// Every case folder of a call, by name.
pub fn cases(call: &str) -> Vec<(String, PathBuf)> {
    let mut cases: Vec<(String, PathBuf)> = std::fs::read_dir(Path::new(FIXTURES).join(call))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| (e.file_name().into_string().unwrap(), e.path()))
        .collect();
    cases.sort();
    assert!(
        cases.iter().any(|(n, _)| n.starts_with("ok")),
        "{call}: no ok case"
    );
    assert!(
        cases.iter().any(|(n, _)| n.starts_with("err-")),
        "{call}: no error case"
    );
    cases
}

/// Answers the exchanges strictly in order: a request must be the next exchange's method and
/// path, or the one just served again (a deploy polled while it runs). A refresh-token grant
/// the folder does not hold is answered with a fresh token. Anything else is a 501 naming what
/// was expected, so a call that drifted from the recording fails loudly.
struct InOrder {
    exchanges: Vec<(String, String, ResponseTemplate)>,
    cursor: std::sync::Mutex<usize>,
    token: ResponseTemplate,
}

impl wiremock::Respond for InOrder {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let mut cursor = self.cursor.lock().unwrap();
        let is = |i: usize| {
            self.exchanges.get(i).is_some_and(|(m, p, _)| {
                m.eq_ignore_ascii_case(request.method.as_str()) && *p == request.url.path()
            })
        };
        if is(*cursor) {
            *cursor += 1;
            return self.exchanges[*cursor - 1].2.clone();
        }
        if *cursor > 0 && is(*cursor - 1) {
            return self.exchanges[*cursor - 1].2.clone();
        }
        if request.method.as_str() == "POST" && request.url.path() == "/services/oauth2/token" {
            return self.token.clone();
        }
        if request.method.as_str() == "GET" && request.url.path() == "/services/data/" {
            // The versions list, read once per org before the first data call: a folder
            // recorded before that call existed does not hold it (tests/fixtures/salesforce/
            // versions has the documented answer).
            return ResponseTemplate::new(200).set_body_json(versions_body());
        }
        let expected = self
            .exchanges
            .get(*cursor)
            .map_or("nothing more".to_owned(), |(m, p, _)| format!("{m} {p}"));
        ResponseTemplate::new(501).set_body_string(format!(
            "replay: got {} {}, expected {expected}",
            request.method,
            request.url.path()
        ))
    }
}

/// A server that replays `exchanges` in order (see [`InOrder`]).
pub async fn replay(exchanges: &[Exchange]) -> MockServer {
    let server = MockServer::start().await;
    let uri = server.uri();
    let responder = InOrder {
        exchanges: exchanges
            .iter()
            .map(|e| (e.method().to_owned(), e.path(), e.answer(&uri)))
            .collect(),
        cursor: std::sync::Mutex::new(0),
        token: ResponseTemplate::new(200).set_body_json(token_body(ACCESS_TOKEN, &uri)),
    };
    Mock::given(wiremock::matchers::any())
        .respond_with(responder)
        .mount(&server)
        .await;
    server
}

/// Checks a call's outcome against the case's name.
pub fn expect<T: std::fmt::Debug>(
    case: &str,
    result: Result<T, connectord::salesforce::SalesforceError>,
) {
    match case.strip_prefix("err-") {
        None => assert!(result.is_ok(), "{case}: {result:?}"),
        Some(rest) => {
            let variant = rest.split('-').next().unwrap_or(rest);
            let error = format!("{:?}", result.expect_err(case));
            assert!(error.starts_with(variant), "{case}: {error}");
        }
    }
}

/// `GET /services/data/`: every version from 31.0 to 67.0, in Salesforce's shape (REST API
/// Developer Guide, "Versions").
fn versions_body() -> serde_json::Value {
    (31..=67)
        .map(|v| {
            serde_json::json!({
                "label": format!("v{v}.0"),
                "url": format!("/services/data/v{v}.0"),
                "version": format!("{v}.0"),
            })
        })
        .collect()
}
