//! sObject Collections (`POST`, `PATCH`, `DELETE /composite/sobjects`): up to 200 records, one
//! SaveResult per record in order, `allOrNone`, no mixing of setup and non-setup objects (REST
//! API Developer Guide, "sObject Collections"). They are also valid Composite subrequests
//! (API 43.0+); an all-or-none Composite call makes every collection in it all-or-none
//! (REST API Developer Guide, "allOrNone Parameters in Composite and Collections Requests").

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::composite::rollback;
use super::dml;
use super::errors::{SfError, failed_save_result, rolled_back_save_result};
use super::ids;
use super::org::Data;
use super::rest::{Answer, Ctx};
use super::schema::schema;
use super::sobjects::parse_body;

pub const MAX_COLLECTION_RECORDS: usize = 200;

/// Whether a collection's answer holds a record that failed.
pub fn has_failure(body: &Value) -> bool {
    body.as_array().is_some_and(|results| {
        results
            .iter()
            .any(|r| r.get("success") != Some(&json!(true)))
    })
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

fn too_many() -> SfError {
    SfError::bad_request(
        "EXCEEDED_ID_LIMIT",
        "record limit reached. cannot submit more than 200 records into this call",
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

/// The body's `allOrNone` and `records`, checked.
fn records_of(body: &Value) -> Result<(bool, &Vec<Value>), SfError> {
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
        return Err(too_many());
    }
    Ok((all_or_none, records))
}

/// The record's `attributes.type`, in the same setup class as the first record's.
fn record_type<'a>(record: &'a Value, first: &str) -> Result<&'a str, SfError> {
    let sobject = record
        .pointer("/attributes/type")
        .and_then(Value::as_str)
        .ok_or_else(|| SfError::bad_request("INVALID_TYPE", "Must send a concrete entity type."))?;
    if is_setup(sobject).is_some() && is_setup(sobject) != is_setup(first) {
        return Err(mixed_dml(sobject, first));
    }
    Ok(sobject)
}

fn first_type(records: &[Value]) -> String {
    records
        .first()
        .and_then(|r| r.pointer("/attributes/type"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// `POST /composite/sobjects`. `forced` makes it all-or-none whatever the body says.
pub fn create(ctx: &mut Ctx, body: &[u8], forced: bool) -> Answer {
    let body = parse_body(body)?;
    let (all_or_none, records) = records_of(&body)?;
    let snapshot = ctx.state.data.clone();
    let first = first_type(records);
    let mut outcomes = Vec::new();
    for record in records {
        let outcome = record_type(record, &first).and_then(|sobject| {
            dml::create(ctx.state, ctx.world, &ctx.actor, sobject, record)
                .map(|id| json!({"id": id, "success": true, "errors": []}))
        });
        outcomes.push(outcome);
    }
    finish(ctx, snapshot, all_or_none || forced, outcomes)
}

fn update_one(ctx: &mut Ctx, record: &Value, first: &str) -> Result<Value, SfError> {
    let sobject = record_type(record, first)?;
    let id = record
        .get("id")
        .or_else(|| record.get("Id"))
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            SfError::bad_request("MISSING_ARGUMENT", "Id not specified in an update call")
        })?;
    if !ids::looks_like_id(id) {
        return Err(SfError::bad_request(
            "MALFORMED_ID",
            format!("malformed id {id}"),
        ));
    }
    if dml::object_of_id(&ctx.state.data, id).is_none() {
        return Err(SfError::bad_request(
            "ENTITY_IS_DELETED",
            "entity is deleted",
        ));
    }
    let mut fields = record.clone();
    if let Value::Object(map) = &mut fields {
        map.retain(|key, _| !key.eq_ignore_ascii_case("id"));
    }
    dml::update(ctx.state, ctx.world, &ctx.actor, sobject, id, &fields)?;
    Ok(json!({"id": ids::to_18(id), "success": true, "errors": []}))
}

/// `PATCH /composite/sobjects`: each record names its type and `id`.
pub fn update(ctx: &mut Ctx, body: &[u8], forced: bool) -> Answer {
    let body = parse_body(body)?;
    let (all_or_none, records) = records_of(&body)?;
    let snapshot = ctx.state.data.clone();
    let first = first_type(records);
    let mut outcomes = Vec::new();
    for record in records {
        outcomes.push(update_one(ctx, record, &first));
    }
    finish(ctx, snapshot, all_or_none || forced, outcomes)
}

/// `DELETE /composite/sobjects?ids=…&allOrNone=…`.
pub fn delete(ctx: &mut Ctx, query: &HashMap<String, String>, forced: bool) -> Answer {
    let ids_param = query.get("ids").map(String::as_str).unwrap_or_default();
    let wanted: Vec<&str> = ids_param
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if wanted.len() > MAX_COLLECTION_RECORDS {
        return Err(too_many());
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
        outcomes.push(outcome);
    }
    finish(ctx, snapshot, all_or_none || forced, outcomes)
}
