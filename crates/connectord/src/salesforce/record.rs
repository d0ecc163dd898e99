//! Recording every Salesforce exchange to a folder, one JSON file per exchange
//! (`0001-POST-oauth2_token.json`, …, numbered in the order they happened), for a bug report
//! from a real org or to replay in tests (`tests/salesforce_client/replay.rs`).
//!
//! Off unless `salesforce.record_dir` is set (`CONNECTORD__SALESFORCE__RECORD_DIR`) or a
//! caller asks for it ([`super::Salesforce::with_recorder`]); when off, the HTTP client holds
//! no recorder and does no extra work. Everything written passes through [`Redactor`]: no
//! token, secret, consumer key, session id or password, and no person's name or e-mail.
//!
//! A file holds `{"request": {method, path, query, headers, body}, "response": {status,
//! headers, body}}` (or `"transport_error"` instead of `response` when no answer came).
//! A body is `{"json": …}`, `{"form": [[k, v], …]}`, `{"text": "…"}` or `{"omitted": why}`
//! (a multipart deploy: its zip names the integration user and is not needed to replay).

use std::{
    path::{Path, PathBuf},
    sync::Mutex,
};

use reqwest::{StatusCode, header::HeaderMap};
use serde_json::{Value, json};

use super::{
    error::SalesforceError,
    redact::{REDACTED, Redactor, is_user_path},
};

/// Request headers worth keeping (the `Authorization` header is kept as a bare scheme).
const REQUEST_HEADERS: &[&str] = &["content-type", "accept"];
/// Answer headers worth keeping.
const ANSWER_HEADERS: &[&str] = &[
    "content-type",
    "sforce-limit-info",
    "retry-after",
    "location",
];

/// Writes the exchanges of one client. Shared by the client's clones.
#[derive(Debug)]
pub struct Recorder {
    dir: PathBuf,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    next: u64,
    redactor: Redactor,
}

/// What was sent, captured before sending (only when recording).
pub(crate) struct Sent {
    method: String,
    url: url::Url,
    headers: Vec<(String, String)>,
    bearer: Option<String>,
    body: Option<Vec<u8>>,
}

impl Sent {
    pub fn of(request: &reqwest::Request) -> Self {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let headers = REQUEST_HEADERS
            .iter()
            .filter_map(|name| Some(((*name).to_owned(), header(name)?)))
            .collect();
        let bearer =
            header("authorization").and_then(|v| v.strip_prefix("Bearer ").map(str::to_owned));
        Self {
            method: request.method().as_str().to_owned(),
            url: request.url().clone(),
            headers,
            bearer,
            body: request
                .body()
                .and_then(|b| b.as_bytes())
                .map(<[u8]>::to_vec),
        }
    }
}

/// What came back: an answer, or why none did.
pub(crate) enum Received<'a> {
    Answer {
        status: StatusCode,
        headers: &'a HeaderMap,
        body: &'a [u8],
    },
    Failed(&'a str),
}

impl Recorder {
    /// Records into `dir` (created if missing), numbering after any recording already there.
    pub fn open(dir: &Path) -> Result<Self, SalesforceError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            SalesforceError::Setup(format!(
                "salesforce.record_dir: cannot create it: {}",
                e.kind()
            ))
        })?;
        let next = std::fs::read_dir(dir)
            .map_err(|e| {
                SalesforceError::Setup(format!(
                    "salesforce.record_dir: cannot read it: {}",
                    e.kind()
                ))
            })?
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().into_string().ok()?;
                name.split('-').next()?.parse::<u64>().ok()
            })
            .max()
            .unwrap_or(0)
            + 1;
        Ok(Self {
            dir: dir.to_owned(),
            state: Mutex::new(State {
                next,
                redactor: Redactor::default(),
            }),
        })
    }

    /// The folder written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes one exchange. A failure to write is logged (without content) and otherwise
    /// ignored: recording never changes what the client does.
    pub(crate) fn record(&self, sent: &Sent, received: Received<'_>) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (n, document) = state.document(sent, received);
        let name = format!("{n:04}-{}-{}.json", sent.method, slug(sent.url.path()));
        let written = serde_json::to_vec_pretty(&document)
            .map_err(std::io::Error::other)
            .and_then(|bytes| std::fs::write(self.dir.join(name), bytes));
        if let Err(e) = written {
            tracing::warn!(error = %e.kind(), "could not write a Salesforce recording");
        }
    }
}

impl State {
    fn document(&mut self, sent: &Sent, received: Received<'_>) -> (u64, Value) {
        let n = self.next;
        self.next += 1;
        let r = &mut self.redactor;
        let in_user = is_user_path(sent.url.path());
        // Learn every secret of both sides first, so that each is scrubbed on both sides.
        if let Some(token) = &sent.bearer {
            r.learn(token);
        }
        let query: Vec<(String, String)> = sent.url.query_pairs().into_owned().collect();
        r.learn_pairs(&query);
        let request_body = Parsed::of(sent.body.as_deref(), content_type(&sent.headers));
        let answer_body = match &received {
            Received::Answer { body, headers, .. } => Some(Parsed::of(
                Some(body),
                headers.get("content-type").and_then(|v| v.to_str().ok()),
            )),
            Received::Failed(_) => None,
        };
        for parsed in std::iter::once(&request_body).chain(answer_body.iter()) {
            parsed.learn(r);
        }
        let mut headers: serde_json::Map<String, Value> = sent
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(r.text(v))))
            .collect();
        if sent.bearer.is_some() {
            headers.insert("authorization".into(), format!("Bearer {REDACTED}").into());
        }
        let request = json!({
            "method": sent.method,
            "path": r.text(sent.url.path()),
            "query": r.pairs(query, in_user),
            "headers": headers,
            "body": request_body.redacted(r, in_user),
        });
        let document = match received {
            Received::Answer {
                status, headers, ..
            } => {
                let kept: serde_json::Map<String, Value> = ANSWER_HEADERS
                    .iter()
                    .filter_map(|name| {
                        let value = headers.get(*name)?.to_str().ok()?;
                        Some(((*name).to_owned(), Value::String(r.text(value))))
                    })
                    .collect();
                let body = answer_body.map_or(Value::Null, |b| b.redacted(r, in_user));
                json!({"request": request, "response": {
                    "status": status.as_u16(), "headers": kept, "body": body,
                }})
            }
            Received::Failed(why) => json!({"request": request, "transport_error": why}),
        };
        (n, document)
    }
}

fn content_type(headers: &[(String, String)]) -> Option<&str> {
    headers
        .iter()
        .find(|(k, _)| k == "content-type")
        .map(|(_, v)| v.as_str())
}

/// A body, read as what it is.
enum Parsed {
    None,
    Json(Value),
    Form(Vec<(String, String)>),
    Text(String),
    Omitted(String),
}

impl Parsed {
    fn of(body: Option<&[u8]>, content_type: Option<&str>) -> Self {
        let Some(body) = body else {
            return match content_type {
                Some(ct) => {
                    let kind = ct.split(';').next().unwrap_or(ct).trim();
                    Self::Omitted(format!("a streamed {kind} body is not recorded"))
                }
                None => Self::None,
            };
        };
        if body.is_empty() {
            return Self::None;
        }
        let ct = content_type.unwrap_or("").to_ascii_lowercase();
        if ct.starts_with("application/x-www-form-urlencoded") {
            return Self::Form(url::form_urlencoded::parse(body).into_owned().collect());
        }
        if let Ok(value) = serde_json::from_slice::<Value>(body) {
            return Self::Json(value);
        }
        match std::str::from_utf8(body) {
            Ok(text) if !ct.contains("zip") && !ct.contains("multipart") => {
                Self::Text(text.to_owned())
            }
            _ => Self::Omitted(format!("{} bytes of {ct}", body.len())),
        }
    }

    fn learn(&self, r: &mut Redactor) {
        match self {
            Self::Json(value) => r.learn_json(value),
            Self::Form(pairs) => r.learn_pairs(pairs),
            _ => {}
        }
    }

    fn redacted(&self, r: &mut Redactor, in_user: bool) -> Value {
        match self {
            Self::None => Value::Null,
            Self::Json(value) => {
                let mut value = value.clone();
                r.json(&mut value, in_user);
                json!({ "json": value })
            }
            Self::Form(pairs) => json!({ "form": r.pairs(pairs.clone(), in_user) }),
            Self::Text(text) => json!({ "text": r.text(text) }),
            Self::Omitted(why) => json!({ "omitted": why }),
        }
    }
}

/// A file-name-safe summary of a path: what follows `/services/` (the API version dropped).
fn slug(path: &str) -> String {
    let rest = path.strip_prefix("/services/").unwrap_or(path);
    let rest = match rest.strip_prefix("data/") {
        Some(data) => data.split_once('/').map_or(data, |(_, after)| after),
        None => rest,
    };
    let slug: String = rest
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(60)
        .collect();
    let slug = slug.trim_matches('_');
    if slug.is_empty() {
        "root".into()
    } else {
        slug.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::slug;

    #[test]
    fn file_names_summarise_the_path_without_the_version() {
        assert_eq!(slug("/services/data/v64.0/query"), "query");
        assert_eq!(slug("/services/oauth2/token"), "oauth2_token");
        assert_eq!(
            slug("/services/data/v64.0/metadata/deployRequest/0Af1"),
            "metadata_deployRequest_0Af1"
        );
        assert_eq!(slug("/"), "root");
    }
}
