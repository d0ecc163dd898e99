//! sObject resources (create, read, update, delete, describe) and SOQL query with paging.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::dml;
use super::errors::SfError;
use super::org::Cursor;
use super::rest::{Answer, Ctx};
use super::schema::{ObjectDef, schema};
use super::soql;

pub fn parse_body(body: &[u8]) -> Result<Value, SfError> {
    serde_json::from_slice(body).map_err(SfError::malformed_json)
}

fn readable(ctx: &Ctx, sobject: &str) -> Result<&'static ObjectDef, SfError> {
    let object = dml::object(sobject)?;
    if !ctx.actor.can_read_object(&ctx.state.data, object) {
        return Err(SfError::not_found());
    }
    Ok(object)
}

pub fn create(ctx: &mut Ctx, sobject: &str, body: &[u8]) -> Answer {
    let body = parse_body(body)?;
    let id = dml::create(ctx.state, ctx.world, &ctx.actor, sobject, &body)?;
    Ok((
        StatusCode::CREATED,
        Some(json!({"id": id, "success": true, "errors": []})),
    ))
}

pub fn update(ctx: &mut Ctx, sobject: &str, id: &str, body: &[u8]) -> Answer {
    let body = parse_body(body)?;
    dml::update(ctx.state, ctx.world, &ctx.actor, sobject, id, &body)?;
    Ok((StatusCode::NO_CONTENT, None))
}

pub fn delete(ctx: &mut Ctx, sobject: &str, id: &str) -> Answer {
    dml::delete(ctx.state, &ctx.actor, sobject, id)?;
    Ok((StatusCode::NO_CONTENT, None))
}

pub fn read(ctx: &mut Ctx, sobject: &str, id: &str, fields: Option<&String>) -> Answer {
    let object = readable(ctx, sobject)?;
    let record = dml::existing(&ctx.state.data, object, id)?;
    let wanted: Option<Vec<String>> =
        fields.map(|f| f.split(',').map(|s| s.trim().to_string()).collect());
    let mut out = Map::new();
    out.insert(
        "attributes".into(),
        json!({"type": object.name, "url": format!("/services/data/v{}/sobjects/{}/{}", ctx.version, object.name, record.get("Id").and_then(Value::as_str).unwrap_or_default())}),
    );
    match wanted {
        Some(names) => {
            for name in names {
                let field = object
                    .field(&name)
                    .filter(|f| ctx.actor.can_read_field(&ctx.state.data, object, f))
                    .ok_or_else(|| {
                        SfError::bad_request(
                            "INVALID_FIELD",
                            format!("No such column '{name}' on sobject of type {}", object.name),
                        )
                    })?;
                out.insert(
                    field.name.into(),
                    record.get(field.name).cloned().unwrap_or(Value::Null),
                );
            }
        }
        None => {
            for field in &object.fields {
                if ctx.actor.can_read_field(&ctx.state.data, object, field) {
                    out.insert(
                        field.name.into(),
                        record.get(field.name).cloned().unwrap_or(Value::Null),
                    );
                }
            }
        }
    }
    Ok((StatusCode::OK, Some(Value::Object(out))))
}

fn object_summary(object: &ObjectDef, version: &str) -> Value {
    json!({
        "name": object.name, "label": object.label, "custom": object.custom,
        "createable": object.createable, "updateable": object.updateable,
        "deletable": object.deletable, "queryable": true,
        "keyPrefix": super::ids::key_prefix(object.name),
        "urls": {"sobject": format!("/services/data/v{version}/sobjects/{}", object.name),
                 "describe": format!("/services/data/v{version}/sobjects/{}/describe", object.name)},
    })
}

pub fn global_describe(ctx: &mut Ctx) -> Answer {
    let objects: Vec<Value> = schema()
        .objects
        .iter()
        .filter(|o| ctx.actor.can_read_object(&ctx.state.data, o))
        .map(|o| object_summary(o, &ctx.version))
        .collect();
    Ok((
        StatusCode::OK,
        Some(json!({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": objects})),
    ))
}

pub fn object_info(ctx: &mut Ctx, sobject: &str) -> Answer {
    let object = readable(ctx, sobject)?;
    Ok((
        StatusCode::OK,
        Some(json!({"objectDescribe": object_summary(object, &ctx.version), "recentItems": []})),
    ))
}

pub fn describe(ctx: &mut Ctx, sobject: &str) -> Answer {
    let object = readable(ctx, sobject)?;
    let mut body = object_summary(object, &ctx.version);
    let fields: Vec<Value> = object
        .fields
        .iter()
        .filter(|f| ctx.actor.can_read_field(&ctx.state.data, object, f))
        .map(|f| {
            let reference_to: Vec<&str> = match f.kind {
                super::schema::FieldType::Reference(target) => vec![target],
                _ => vec![],
            };
            json!({
                "name": f.name, "label": f.label, "type": f.kind.describe_name(),
                "custom": f.name.ends_with("__c"), "createable": f.createable,
                "updateable": f.updateable, "nillable": !f.required,
                "permissionable": f.permissionable, "referenceTo": reference_to,
                "relationshipName": f.relationship, "defaultedOnCreate": f.default_bool.is_some(),
            })
        })
        .collect();
    if let Value::Object(map) = &mut body {
        map.insert("fields".into(), Value::Array(fields));
    }
    Ok((StatusCode::OK, Some(body)))
}

fn page(ctx: &mut Ctx, cursor: Cursor) -> Value {
    let size = ctx.state.config.query_page_size.max(1);
    let end = (cursor.offset + size).min(cursor.records.len());
    let records: Vec<Value> = cursor.records[cursor.offset..end].to_vec();
    let done = end >= cursor.records.len();
    let mut body = json!({"totalSize": cursor.total, "done": done, "records": records});
    if !done {
        let id = format!("{}-{end}", ctx.state.next_id("QueryLocator"));
        if let Value::Object(map) = &mut body {
            map.insert(
                "nextRecordsUrl".into(),
                Value::String(format!("/services/data/v{}/query/{id}", ctx.version)),
            );
        }
        ctx.state.cursors.insert(
            id,
            Cursor {
                offset: end,
                ..cursor
            },
        );
    }
    body
}

pub fn query(ctx: &mut Ctx, q: Option<&String>) -> Answer {
    let Some(text) = q.filter(|q| !q.trim().is_empty()) else {
        return Err(SfError::bad_request(
            "MALFORMED_QUERY",
            "A query string has to be specified",
        ));
    };
    let parsed = soql::parse(text)?;
    if !ctx.state.config.eca_soql
        && parsed
            .from
            .eq_ignore_ascii_case("ExternalClientApplication")
    {
        ctx.state.eca_soql_refusals += 1;
        return Err(SfError::bad_request(
            "INVALID_TYPE",
            format!(
                "sObject type '{}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
                parsed.from
            ),
        ));
    }
    let (records, total) = soql::execute(&ctx.state.data, &ctx.actor, &parsed, text, &ctx.version)?;
    let cursor = Cursor {
        records,
        total,
        offset: 0,
    };
    Ok((StatusCode::OK, Some(page(ctx, cursor))))
}

pub fn query_more(ctx: &mut Ctx, locator: &str) -> Answer {
    let Some(cursor) = ctx.state.cursors.remove(locator) else {
        return Err(SfError::bad_request(
            "INVALID_QUERY_LOCATOR",
            "invalid query locator",
        ));
    };
    Ok((StatusCode::OK, Some(page(ctx, cursor))))
}
