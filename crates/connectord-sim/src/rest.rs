//! The REST surface under `/services/data`: authentication, the API allowance, the
//! `Sforce-Limit-Info` header, call counting, then routing to the resource handlers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::access::Actor;
use super::errors::SfError;
use super::faults::FaultState;
use super::org::{Org, OrgState, Session, World, bool_field};
use super::{collections, composite, connect, metadata, sobjects};

/// API versions the simulator answers (Salesforce keeps old versions for years).
pub const MIN_VERSION: f64 = 31.0;
pub const MAX_VERSION: f64 = 67.0;

/// Everything a resource handler needs.
pub struct Ctx<'a> {
    pub state: &'a mut OrgState,
    pub world: &'a World,
    pub faults: &'a FaultState,
    pub actor: Actor,
    pub version: String,
}

/// A handler's answer.
pub type Answer = Result<(StatusCode, Option<Value>), SfError>;

/// One request as the router sees it (also used for composite subrequests).
pub struct Call<'a> {
    pub method: &'a Method,
    pub segments: Vec<&'a str>,
    pub query: HashMap<String, String>,
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
}

/// Which counter a call increments.
pub fn kind_of(method: &Method, segments: &[&str]) -> &'static str {
    match (segments, method.as_str()) {
        (["limits", ..], _) => "limits",
        (["sobjects", _, "describe"], _) => "describe",
        (["sobjects", ..], "POST") => "sobject_create",
        (["sobjects", _, _], "PATCH") => "sobject_update",
        (["sobjects", _, _], "DELETE") => "sobject_delete",
        (["sobjects", ..], _) => "sobject_read",
        (["query", ..], _) => "query",
        (["composite", "sobjects", ..], _) => "composite_sobjects",
        (["composite", ..], _) => "composite",
        (["metadata", "deployRequest"], _) => "deploy",
        (["metadata", "deployRequest", _], "PATCH") => "deploy_cancel",
        (["metadata", ..], _) => "deploy_status",
        (["apps", "oauth", "usage", ..], _) => "oauth_usage",
        (["apps", ..], _) => "oauth_credentials",
        _ => "other",
    }
}

/// Routes one call. Subrequests of `/composite` come here too.
pub fn route(ctx: &mut Ctx, call: &Call) -> Answer {
    let method = call.method.as_str();
    match (call.segments.as_slice(), method) {
        ([], "GET") | ([""], "GET") => Ok((StatusCode::OK, Some(resources(&ctx.version)))),
        (["limits"] | ["limits", ""], "GET") => Ok((StatusCode::OK, Some(limits(ctx.state)))),
        (["sobjects"] | ["sobjects", ""], "GET") => sobjects::global_describe(ctx),
        (["sobjects", object], "POST") => sobjects::create(ctx, object, call.body),
        (["sobjects", object], "GET") => sobjects::object_info(ctx, object),
        (["sobjects", object, "describe"], "GET") => sobjects::describe(ctx, object),
        (["sobjects", object, id], "GET") => {
            sobjects::read(ctx, object, id, call.query.get("fields"))
        }
        (["sobjects", object, id], "PATCH") => sobjects::update(ctx, object, id, call.body),
        (["sobjects", object, id], "DELETE") => sobjects::delete(ctx, object, id),
        (["query"] | ["query", ""], "GET") => sobjects::query(ctx, call.query.get("q")),
        (["query", cursor], "GET") => sobjects::query_more(ctx, cursor),
        (["composite"], "POST") => composite::composite(ctx, call.body),
        (["composite", "sobjects"], "POST") => collections::create(ctx, call.body, false),
        (["composite", "sobjects"], "PATCH") => collections::update(ctx, call.body, false),
        (["composite", "sobjects"], "DELETE") => collections::delete(ctx, &call.query, false),
        (["metadata", "deployRequest"], "POST") => {
            metadata::submit(ctx, call.content_type, call.body)
        }
        (["metadata", "deployRequest", id], "GET") => metadata::status(ctx, id, &call.query),
        (["metadata", "deployRequest", id], "PATCH") => metadata::cancel(ctx, id, call.body),
        (["apps", "oauth", "usage"], "GET") => connect::usage(ctx, &call.query),
        (["apps", "oauth", "credentials", app], "GET") => connect::consumers(ctx, app),
        (["apps", "oauth", "credentials", app, consumer], "GET") => {
            connect::credentials(ctx, app, consumer, call.query.get("part"))
        }
        _ => Err(SfError::not_found()),
    }
}

fn resources(version: &str) -> Value {
    let base = format!("/services/data/v{version}");
    json!({
        "sobjects": format!("{base}/sobjects"), "query": format!("{base}/query"),
        "limits": format!("{base}/limits"), "composite": format!("{base}/composite"),
        "metadata": format!("{base}/metadata"),
    })
}

fn limits(state: &OrgState) -> Value {
    let max = state.config.daily_api_limit;
    json!({
        "DailyApiRequests": {"Max": max, "Remaining": max.saturating_sub(state.api_used)},
        "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
        "DataStorageMB": {"Max": 5, "Remaining": 5},
        "FileStorageMB": {"Max": 20, "Remaining": 20},
    })
}

/// `GET /services/data/`: the versions list up to `newest` (no authentication, no limit
/// header).
pub fn versions(newest: f64) -> Value {
    let mut out = Vec::new();
    let mut v = MIN_VERSION;
    while v <= newest.min(MAX_VERSION) {
        out.push(json!({"label": format!("v{v:.1}"), "url": format!("/services/data/v{v:.1}"), "version": format!("{v:.1}")}));
        v += 1.0;
    }
    Value::Array(out)
}

fn parse_version(segment: &str, newest: f64) -> Option<String> {
    let number = segment.strip_prefix('v')?;
    let value: f64 = number.parse().ok()?;
    let (_, minor) = number.split_once('.')?;
    (minor.len() == 1 && (MIN_VERSION..=newest.min(MAX_VERSION)).contains(&value))
        .then(|| number.to_string())
}

fn json_response(status: StatusCode, body: Option<Value>, limit: Option<String>) -> Response {
    let mut response = match body {
        Some(body) => (status, axum::Json(body)).into_response(),
        None => status.into_response(),
    };
    if let Some(limit) = limit.and_then(|l| l.parse().ok()) {
        response.headers_mut().insert("Sforce-Limit-Info", limit);
    }
    response
}

/// Handles one HTTP request under `/services/data`.
pub fn handle(
    org: &Arc<Org>,
    world: &World,
    method: &Method,
    path: &str,
    raw_query: Option<&str>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let rest = path
        .trim_start_matches("/services/data")
        .trim_start_matches('/');
    let mut segments: Vec<&str> = rest.split('/').collect();
    if segments.last() == Some(&"") {
        segments.pop();
    }
    let mut state = org.lock();
    if segments.is_empty() {
        state.count_call("versions");
        return json_response(
            StatusCode::OK,
            Some(versions(state.config.newest_api_version)),
            None,
        );
    }
    let Some(version) = parse_version(segments[0], state.config.newest_api_version) else {
        state.count_call("other");
        return json_response(
            StatusCode::NOT_FOUND,
            Some(SfError::not_found().body()),
            None,
        );
    };
    let segments = segments[1..].to_vec();
    let kind = kind_of(method, &segments);
    state.count_call(kind);
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("OAuth "))
        })
        .map(str::trim)
        .unwrap_or_default()
        .to_string();
    let now = Instant::now();
    let session = state.sessions.get(&token).cloned();
    // A deactivated user's sessions end with it (client-credentials tokens included).
    let active = |s: &Session| {
        state
            .data
            .find("User", &s.user_id)
            .is_some_and(|u| bool_field(u, "IsActive"))
    };
    let Some(session) = session.filter(|s| s.expires_at > now && active(s)) else {
        state.sessions.remove(&token);
        let e = SfError::session_expired();
        return json_response(e.status, Some(e.body()), None);
    };
    if state.api_used >= state.config.daily_api_limit {
        let e = SfError::limit_exceeded();
        let limit = state.limit_header();
        return json_response(e.status, Some(e.body()), Some(limit));
    }
    state.api_used += 1;
    let query: HashMap<String, String> = raw_query
        .map(|q| serde_urlencoded::from_str(q).unwrap_or_default())
        .unwrap_or_default();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let actor = Actor::for_user(&state.data, &session.user_id);
    let call = Call {
        method,
        segments,
        query,
        content_type,
        body,
    };
    let answer = {
        let mut ctx = Ctx {
            state: &mut state,
            world,
            faults: &org.faults,
            actor,
            version,
        };
        route(&mut ctx, &call)
    };
    let limit = Some(state.limit_header());
    match answer {
        Ok((status, body)) => json_response(status, body, limit),
        Err(e) => json_response(e.status, Some(e.body()), limit),
    }
}
