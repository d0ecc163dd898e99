//! Create, update and delete of records, with the field-level checks every object shares.
//! Object-specific rules live in [`super::rules`].

use serde_json::Value;

use super::access::Actor;
use super::errors::SfError;
use super::ids;
use super::org::{Data, OrgState, Record, World};
use super::rules;
use super::schema::{FieldDef, FieldType, ObjectDef, schema};

/// The object named in a URL or a record's `attributes.type`.
pub fn object(sobject: &str) -> Result<&'static ObjectDef, SfError> {
    schema().object(sobject).ok_or_else(SfError::not_found)
}

fn now() -> Value {
    Value::String(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// Checks one incoming field value and returns it in stored form.
fn coerce(data: &Data, field: &FieldDef, value: &Value) -> Result<Value, SfError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    match field.kind {
        FieldType::Boolean => match value {
            Value::Bool(_) => Ok(value.clone()),
            other => Err(SfError::bad_request(
                "JSON_PARSER_ERROR",
                format!(
                    "Cannot deserialize instance of boolean from {} value {other} or request may be missing a required field",
                    json_kind(other)
                ),
            )),
        },
        FieldType::Int | FieldType::Double | FieldType::Currency => match value {
            Value::Number(_) => Ok(value.clone()),
            other => Err(SfError::bad_request(
                "JSON_PARSER_ERROR",
                format!(
                    "Cannot deserialize instance of {} from {} value {other} or request may be missing a required field",
                    field.kind.describe_name(),
                    json_kind(other)
                ),
            )),
        },
        FieldType::Reference(target) => {
            let Some(id) = value.as_str() else {
                return Err(malformed_id(field, value));
            };
            let wanted = ids::key_prefix(target);
            if !ids::looks_like_id(id) || !id.starts_with(wanted) {
                return Err(malformed_id(field, value));
            }
            if data.find(target, id).is_none() {
                return Err(SfError::bad_request(
                    "INVALID_CROSS_REFERENCE_KEY",
                    "invalid cross reference id",
                )
                .with_fields([field.name]));
            }
            Ok(Value::String(ids::to_18(id)))
        }
        _ => match value {
            Value::String(_) => Ok(value.clone()),
            Value::Number(n) => Ok(Value::String(n.to_string())),
            Value::Bool(b) => Ok(Value::String(b.to_string())),
            other => Err(SfError::bad_request(
                "JSON_PARSER_ERROR",
                format!(
                    "Cannot deserialize instance of string from {} value",
                    json_kind(other)
                ),
            )),
        },
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "VALUE_STRING",
        Value::Number(_) => "VALUE_NUMBER_INT",
        Value::Bool(_) => "VALUE_TRUE",
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
        Value::Null => "VALUE_NULL",
    }
}

fn malformed_id(field: &FieldDef, value: &Value) -> SfError {
    let shown = value
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| value.to_string());
    SfError::bad_request(
        "MALFORMED_ID",
        format!("{}: id value of incorrect type: {shown}", field.label),
    )
    .with_fields([field.name])
}

fn is_blank(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        _ => false,
    }
}

/// Reads the body's fields against the object's schema (`creating` picks createable or
/// updateable).
fn read_fields(
    data: &Data,
    object: &ObjectDef,
    body: &Value,
    creating: bool,
) -> Result<Record, SfError> {
    let Value::Object(map) = body else {
        return Err(SfError::malformed_json(
            "the request body must be a JSON object",
        ));
    };
    let mut record = Record::new();
    for (key, value) in map {
        if key == "attributes" {
            continue;
        }
        let field = object.field(key).ok_or_else(|| {
            SfError::bad_request(
                "INVALID_FIELD",
                format!("No such column '{key}' on sobject of type {}", object.name),
            )
        })?;
        let writable = if creating {
            field.createable
        } else {
            field.updateable
        };
        if !writable {
            return Err(SfError::bad_request(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                format!(
                    "Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                    field.name
                ),
            )
            .with_fields([field.name]));
        }
        record.insert(field.name.to_string(), coerce(data, field, value)?);
    }
    Ok(record)
}

fn missing_required(object: &ObjectDef, record: &Record) -> Result<(), SfError> {
    let missing: Vec<&str> = object
        .fields
        .iter()
        .filter(|f| f.required && is_blank(record.get(f.name)))
        .map(|f| f.name)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(SfError::bad_request(
        "REQUIRED_FIELD_MISSING",
        format!("Required fields are missing: [{}]", missing.join(", ")),
    )
    .with_fields(missing))
}

/// Inserts a record; answers its id.
pub fn create(
    state: &mut OrgState,
    world: &World,
    actor: &Actor,
    sobject: &str,
    body: &Value,
) -> Result<String, SfError> {
    let object = object(sobject)?;
    actor.check_write(&state.data, object, "create")?;
    if !object.createable {
        return Err(SfError::bad_request(
            "INVALID_TYPE_FOR_OPERATION",
            format!("entity type cannot be inserted: {}", object.name),
        ));
    }
    let mut record = read_fields(&state.data, object, body, true)?;
    missing_required(object, &record)?;
    for field in &object.fields {
        if let Some(default) = field.default_bool {
            record
                .entry(field.name.to_string())
                .or_insert(Value::Bool(default));
        }
    }
    if object.field("OwnerId").is_some() && is_blank(record.get("OwnerId")) {
        record.insert("OwnerId".into(), Value::String(actor.user_id.clone()));
    }
    let keep = rules::before_insert(state, world, object, &mut record)?;
    let id = state.next_id(object.name);
    record.insert("Id".into(), Value::String(id.clone()));
    for stamp in ["CreatedDate", "LastModifiedDate", "SystemModstamp"] {
        record.insert(stamp.into(), now());
    }
    record.insert("CreatedById".into(), Value::String(actor.user_id.clone()));
    record.insert("IsDeleted".into(), Value::Bool(false));
    if keep {
        rules::after_insert(state, world, object, &record);
        state.data.insert(object.name, record);
    }
    rules::recompute(&mut state.data);
    Ok(id)
}

/// Updates the fields given in `body`.
pub fn update(
    state: &mut OrgState,
    world: &World,
    actor: &Actor,
    sobject: &str,
    id: &str,
    body: &Value,
) -> Result<(), SfError> {
    let object = object(sobject)?;
    let old = existing(&state.data, object, id)?;
    actor.check_write(&state.data, object, "edit")?;
    if !object.updateable {
        return Err(SfError::bad_request(
            "INVALID_TYPE_FOR_OPERATION",
            format!("entity type cannot be updated: {}", object.name),
        ));
    }
    let changes = read_fields(&state.data, object, body, false)?;
    let mut new = old.clone();
    new.extend(changes);
    missing_required(object, &new)?;
    new.insert("LastModifiedDate".into(), now());
    new.insert("SystemModstamp".into(), now());
    let keep = rules::before_update(state, world, object, &old, &mut new)?;
    let id = ids::to_18(id);
    let deactivated =
        object.name == "User" && new.get("IsActive").and_then(Value::as_bool) == Some(false);
    if keep {
        rules::after_update(state, world, object, &old, &new);
        if let Some(slot) = state.data.find_mut(object.name, &id) {
            *slot = new;
        }
    } else {
        state.data.remove(object.name, &id);
    }
    // A deactivated user's sessions end at once, not only when next used: reactivating the
    // user later does not bring them back.
    if deactivated {
        state.sessions.retain(|_, s| ids::to_18(&s.user_id) != id);
    }
    rules::recompute(&mut state.data);
    Ok(())
}

/// Deletes a record.
pub fn delete(state: &mut OrgState, actor: &Actor, sobject: &str, id: &str) -> Result<(), SfError> {
    let object = object(sobject)?;
    let old = existing(&state.data, object, id)?;
    actor.check_write(&state.data, object, "delete")?;
    if !object.deletable {
        return Err(SfError::bad_request(
            "INVALID_TYPE_FOR_OPERATION",
            "entity type cannot be deleted",
        ));
    }
    rules::before_delete(state, object, &old)?;
    state.data.remove(object.name, id);
    rules::recompute(&mut state.data);
    Ok(())
}

/// The stored record `id` of `object`, or the 404 Salesforce answers.
pub fn existing(data: &Data, object: &ObjectDef, id: &str) -> Result<Record, SfError> {
    if !ids::looks_like_id(id) {
        return Err(SfError::new(
            axum::http::StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("Provided external ID field does not exist or is not accessible: {id}"),
        ));
    }
    data.find(object.name, id)
        .cloned()
        .ok_or_else(SfError::not_found)
}

/// The object a record id belongs to (for `DELETE /composite/sobjects?ids=`).
pub fn object_of_id(data: &Data, id: &str) -> Option<&'static ObjectDef> {
    data.object_of(id).and_then(|name| schema().object(&name))
}
