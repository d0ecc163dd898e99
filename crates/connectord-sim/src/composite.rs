//! `POST /composite`: up to 25 subrequests, at most 5 of them queries or sObject Collections,
//! `@{ref.field}` references in URLs and bodies, `allOrNone` (REST API Developer Guide,
//! "Composite", "Send Multiple Requests Using Composite"). Subrequests may be sObject
//! resources, Query/QueryAll and, from API 43.0, sObject Collections; never `/composite`
//! itself or other resources under it.

use std::collections::HashMap;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use super::collections;
use super::errors::SfError;
use super::org::Data;
use super::rest::{Answer, Call, Ctx, route};
use super::sobjects::parse_body;

pub const MAX_SUBREQUESTS: usize = 25;
pub const MAX_QUERY_SUBREQUESTS: usize = 5;
/// sObject Collections are Composite subrequests from this API version on.
const COLLECTIONS_SINCE: f64 = 43.0;

/// Puts the org's records back as they were before a failed all-or-none operation.
pub fn rollback(ctx: &mut Ctx, snapshot: Data) {
    ctx.state.data = snapshot;
    ctx.world
        .resync_usernames(&ctx.state.org_id, &ctx.state.data);
}

fn halted() -> Value {
    json!([{"errorCode": "PROCESSING_HALTED", "message": "The transaction was rolled back since another operation in the same transaction failed."}])
}

/// Replaces `@{ref.path}` in `text` with values from earlier results.
fn resolve_refs(text: &str, results: &HashMap<String, Value>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("@{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| after.to_string())?;
        let expr = &after[..end];
        let mut parts = expr.split('.');
        let name = parts.next().unwrap_or_default();
        let mut value = results.get(name).ok_or_else(|| expr.to_string())?;
        for part in parts {
            let next = if let Some((key, index)) =
                part.strip_suffix(']').and_then(|p| p.split_once('['))
            {
                value
                    .get(key)
                    .and_then(|v| index.parse::<usize>().ok().and_then(|i| v.get(i)))
            } else {
                value.get(part)
            };
            value = next.ok_or_else(|| expr.to_string())?;
        }
        match value {
            Value::String(s) => out.push_str(s),
            other => out.push_str(&other.to_string()),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn resolve_value(value: &Value, results: &HashMap<String, Value>) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) => Value::String(resolve_refs(s, results)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| resolve_value(v, results))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), resolve_value(v, results)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

pub fn composite(ctx: &mut Ctx, body: &[u8]) -> Answer {
    let body = parse_body(body)?;
    let all_or_none = body
        .get("allOrNone")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let Some(requests) = body.get("compositeRequest").and_then(Value::as_array) else {
        return Err(SfError::bad_request(
            "JSON_PARSER_ERROR",
            "compositeRequest is required",
        ));
    };
    if requests.len() > MAX_SUBREQUESTS {
        return Err(SfError::bad_request(
            "LIMIT_EXCEEDED",
            format!("Limit exceeded: the maximum number of subrequests is {MAX_SUBREQUESTS}"),
        ));
    }
    let queries = requests
        .iter()
        .filter(|r| r.get("url").and_then(Value::as_str).is_some_and(is_heavy))
        .count();
    if queries > MAX_QUERY_SUBREQUESTS {
        return Err(SfError::bad_request(
            "LIMIT_EXCEEDED",
            format!(
                "Limit exceeded: the maximum number of query subrequests is {MAX_QUERY_SUBREQUESTS}"
            ),
        ));
    }
    let snapshot = ctx.state.data.clone();
    let collate = super::collate::collated(&body, &ctx.version);
    let order = super::collate::execution_order(requests, collate, ctx.state.config.collation_seed);
    let mut results: HashMap<String, Value> = HashMap::new();
    let mut answered: Vec<Option<(Value, bool)>> = vec![None; requests.len()];
    let mut failed = false;
    for index in order {
        let request = &requests[index];
        let reference = request
            .get("referenceId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if failed && all_or_none {
            answered[index] = Some((
                json!({"body": halted(), "httpHeaders": {}, "httpStatusCode": 400, "referenceId": reference}),
                false,
            ));
            continue;
        }
        let (status, body, collection) = match subrequest(ctx, request, &results, all_or_none) {
            Ok((status, body, collection)) => (status, body.unwrap_or(Value::Null), collection),
            Err(e) => (e.status, e.body(), false),
        };
        // A collection answers 200 with one SaveResult per record; a failed record is the
        // subrequest's failure.
        let failed_here = !status.is_success() || (collection && collections::has_failure(&body));
        if status.is_success() {
            results.insert(reference.clone(), body.clone());
        }
        failed |= failed_here;
        let mut headers = json!({});
        if status == StatusCode::CREATED
            && let (Some(id), Some(url)) = (
                body.get("id").and_then(Value::as_str),
                request.get("url").and_then(Value::as_str),
            )
        {
            headers = json!({"Location": format!("{}/{id}", url.trim_end_matches('/'))});
        }
        answered[index] = Some((
            json!({"body": body, "httpHeaders": headers, "httpStatusCode": status.as_u16(), "referenceId": reference}),
            failed_here,
        ));
    }
    // Answers come back in the order received, whatever the order they ran in.
    let (mut responses, failures): (Vec<Value>, Vec<bool>) = answered.into_iter().flatten().unzip();
    if failed && all_or_none {
        rollback(ctx, snapshot);
        for (response, failure) in responses.iter_mut().zip(failures) {
            let ok = response
                .get("httpStatusCode")
                .and_then(Value::as_u64)
                .is_some_and(|s| s < 300);
            if ok && !failure {
                *response = json!({"body": halted(), "httpHeaders": {}, "httpStatusCode": 400,
                                   "referenceId": response.get("referenceId").cloned().unwrap_or(Value::Null)});
            }
        }
    }
    Ok((
        StatusCode::OK,
        Some(json!({"compositeResponse": responses})),
    ))
}

/// Whether a subrequest URL is a query or an sObject Collections call (at most 5 a call).
fn is_heavy(url: &str) -> bool {
    let path = url.split('?').next().unwrap_or_default();
    let mut segments = path
        .trim_start_matches("/services/data/")
        .trim_start_matches('/')
        .split('/')
        .skip_while(|s| s.starts_with('v'));
    matches!(
        (segments.next(), segments.next()),
        (Some("query" | "queryAll"), _) | (Some("composite"), Some("sobjects"))
    )
}

fn not_supported() -> SfError {
    SfError::bad_request(
        "INVALID_INPUT",
        "This resource is not supported as a composite subrequest",
    )
}

/// Runs one subrequest; answers its result and whether it was an sObject Collections call.
fn subrequest(
    ctx: &mut Ctx,
    request: &Value,
    results: &HashMap<String, Value>,
    all_or_none: bool,
) -> Result<(StatusCode, Option<Value>, bool), SfError> {
    let method = request
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or("GET");
    let method = Method::from_bytes(method.as_bytes())
        .map_err(|_| SfError::bad_request("INVALID_INPUT", "invalid method"))?;
    let url = request
        .get("url")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let bad_ref = |expr: String| {
        SfError::bad_request(
            "PROCESSING_HALTED",
            format!("Invalid reference specified. No value for {expr} found."),
        )
    };
    let url = resolve_refs(url, results).map_err(bad_ref)?;
    let body = match request.get("body") {
        Some(b) => serde_json::to_vec(&resolve_value(b, results).map_err(bad_ref)?)
            .map_err(SfError::malformed_json)?,
        None => Vec::new(),
    };
    let (path, raw_query) = url
        .split_once('?')
        .map_or((url.as_str(), None), |(p, q)| (p, Some(q)));
    let rest = path
        .trim_start_matches("/services/data/")
        .trim_start_matches('/');
    let mut segments: Vec<&str> = rest.split('/').collect();
    let version = match segments.first().and_then(|v| v.strip_prefix('v')) {
        Some(v) => v.parse::<f64>().unwrap_or(0.0),
        None => return Err(SfError::not_found()),
    };
    segments.remove(0);
    let query: HashMap<String, String> = raw_query
        .map(|q| serde_urlencoded::from_str(q).unwrap_or_default())
        .unwrap_or_default();
    match segments.as_slice() {
        ["composite", "sobjects"] if version >= COLLECTIONS_SINCE => {
            let answer = match method.as_str() {
                "POST" => collections::create(ctx, &body, all_or_none),
                "PATCH" => collections::update(ctx, &body, all_or_none),
                "DELETE" => collections::delete(ctx, &query, all_or_none),
                _ => Err(SfError::not_found()),
            }?;
            return Ok((answer.0, answer.1, true));
        }
        ["composite", ..] | ["metadata", ..] => return Err(not_supported()),
        _ => {}
    }
    let call = Call {
        method: &method,
        segments,
        query,
        content_type: Some("application/json"),
        body: &body,
    };
    route(ctx, &call).map(|(status, body)| (status, body, false))
}
