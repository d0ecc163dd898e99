//! `POST /composite` (up to 25 subrequests, at most 5 of them queries, `@{ref.field}`
//! references, `allOrNone`) and sObject Collections (`POST`/`DELETE /composite/sobjects`,
//! up to 200 records, one SaveResult per record in order, no mixing of setup and non-setup
//! objects).

use std::collections::HashMap;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use super::dml;
use super::errors::{SfError, failed_save_result, rolled_back_save_result};
use super::ids;
use super::org::Data;
use super::rest::{Answer, Call, Ctx, route};
use super::schema::schema;
use super::sobjects::parse_body;

pub const MAX_SUBREQUESTS: usize = 25;
pub const MAX_QUERY_SUBREQUESTS: usize = 5;
pub const MAX_COLLECTION_RECORDS: usize = 200;

fn rollback(ctx: &mut Ctx, snapshot: Data) {
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
        .filter(|r| {
            r.get("url")
                .and_then(Value::as_str)
                .is_some_and(|u| u.contains("/query"))
        })
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
    let mut results: HashMap<String, Value> = HashMap::new();
    let mut responses: Vec<Value> = Vec::new();
    let mut failed = false;
    for request in requests {
        let reference = request
            .get("referenceId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if failed && all_or_none {
            responses.push(json!({"body": halted(), "httpHeaders": {}, "httpStatusCode": 400, "referenceId": reference}));
            continue;
        }
        let (status, body) = match subrequest(ctx, request, &results) {
            Ok((status, body)) => (status, body.unwrap_or(Value::Null)),
            Err(e) => (e.status, e.body()),
        };
        if status.is_success() {
            results.insert(reference.clone(), body.clone());
        } else {
            failed = true;
        }
        let mut headers = json!({});
        if status == StatusCode::CREATED
            && let (Some(id), Some(url)) = (
                body.get("id").and_then(Value::as_str),
                request.get("url").and_then(Value::as_str),
            )
        {
            headers = json!({"Location": format!("{}/{id}", url.trim_end_matches('/'))});
        }
        responses.push(json!({"body": body, "httpHeaders": headers, "httpStatusCode": status.as_u16(), "referenceId": reference}));
    }
    if failed && all_or_none {
        rollback(ctx, snapshot);
        for response in &mut responses {
            let ok = response
                .get("httpStatusCode")
                .and_then(Value::as_u64)
                .is_some_and(|s| s < 300);
            if ok {
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

fn subrequest(ctx: &mut Ctx, request: &Value, results: &HashMap<String, Value>) -> Answer {
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
    if segments.first().is_some_and(|v| v.starts_with('v')) {
        segments.remove(0);
    } else {
        return Err(SfError::not_found());
    }
    if matches!(segments.first(), Some(&"composite") | Some(&"metadata")) {
        return Err(SfError::bad_request(
            "INVALID_INPUT",
            "This resource is not supported as a composite subrequest",
        ));
    }
    let query: HashMap<String, String> = raw_query
        .map(|q| serde_urlencoded::from_str(q).unwrap_or_default())
        .unwrap_or_default();
    let call = Call {
        method: &method,
        segments,
        query,
        content_type: Some("application/json"),
        body: &body,
    };
    route(ctx, &call)
}

fn is_setup(sobject: &str) -> Option<bool> {
    schema().object(sobject).map(|o| o.setup)
}

fn mixed_dml(sobject: &str, original: &str) -> SfError {
    SfError::bad_request(
        "MIXED_DML_OPERATION",
        format!(
            "DML operation on setup object is not permitted after you have updated a non-setup object (or vice versa): {sobject}, original object: {original}"
        ),
    )
}

fn finish(
    ctx: &mut Ctx,
    snapshot: Data,
    all_or_none: bool,
    outcomes: Vec<Result<Value, SfError>>,
) -> Answer {
    let any_failed = outcomes.iter().any(Result::is_err);
    let results: Vec<Value> = if any_failed && all_or_none {
        rollback(ctx, snapshot);
        outcomes
            .iter()
            .map(|o| match o {
                Err(e) => failed_save_result(e),
                Ok(_) => rolled_back_save_result(),
            })
            .collect()
    } else {
        outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|e| failed_save_result(&e)))
            .collect()
    };
    Ok((StatusCode::OK, Some(Value::Array(results))))
}

pub fn collection_create(ctx: &mut Ctx, body: &[u8]) -> Answer {
    let body = parse_body(body)?;
    let all_or_none = body
        .get("allOrNone")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let Some(records) = body.get("records").and_then(Value::as_array) else {
        return Err(SfError::bad_request(
            "JSON_PARSER_ERROR",
            "records is required",
        ));
    };
    if records.len() > MAX_COLLECTION_RECORDS {
        return Err(SfError::bad_request(
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
        ));
    }
    let snapshot = ctx.state.data.clone();
    let first_type = records
        .first()
        .and_then(|r| r.pointer("/attributes/type"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut outcomes = Vec::new();
    for record in records {
        let Some(sobject) = record.pointer("/attributes/type").and_then(Value::as_str) else {
            outcomes.push(Err(SfError::bad_request(
                "INVALID_TYPE",
                "Must send a concrete entity type.",
            )));
            continue;
        };
        if is_setup(sobject).is_some() && is_setup(sobject) != is_setup(&first_type) {
            outcomes.push(Err(mixed_dml(sobject, &first_type)));
            continue;
        }
        let outcome = dml::create(ctx.state, ctx.world, &ctx.actor, sobject, record)
            .map(|id| json!({"id": id, "success": true, "errors": []}));
        outcomes.push(outcome);
    }
    finish(ctx, snapshot, all_or_none, outcomes)
}

pub fn collection_delete(ctx: &mut Ctx, query: &HashMap<String, String>) -> Answer {
    let ids_param = query.get("ids").map(String::as_str).unwrap_or_default();
    let wanted: Vec<&str> = ids_param
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if wanted.len() > MAX_COLLECTION_RECORDS {
        return Err(SfError::bad_request(
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
        ));
    }
    let all_or_none = query
        .get("allOrNone")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let snapshot = ctx.state.data.clone();
    let mut first: Option<&'static str> = None;
    let mut outcomes = Vec::new();
    for id in wanted {
        let outcome = if !ids::looks_like_id(id) {
            Err(SfError::bad_request(
                "MALFORMED_ID",
                format!("malformed id {id}"),
            ))
        } else {
            match dml::object_of_id(&ctx.state.data, id) {
                None => Err(SfError::bad_request(
                    "ENTITY_IS_DELETED",
                    "entity is deleted",
                )),
                Some(object) => {
                    let original = *first.get_or_insert(object.name);
                    if is_setup(original) != Some(object.setup) {
                        Err(mixed_dml(object.name, original))
                    } else {
                        dml::delete(ctx.state, &ctx.actor, object.name, id)
                            .map(|_| json!({"id": ids::to_18(id), "success": true, "errors": []}))
                    }
                }
            }
        };
        outcomes.push(outcome.map_err(|e| e.clone()));
    }
    finish(ctx, snapshot, all_or_none, outcomes)
}
