//! Reading a Composite answer: the real cause of a failure, and the ids of what was made.

use serde_json::Value;

use crate::reconcile::model::{
    ComponentSet, FieldGrant, FieldName, ObjectGrant, PermissionSetState, UserState,
};
use crate::reconcile::plan::AccessWork;
use crate::salesforce::{SalesforceError, SubResponse};

use super::COLLECTION_SIZE;

/// The first failed record of a collection answer, as an error naming the field it was about.
fn record_failure(
    body: &Value,
    field_of: impl Fn(usize) -> Option<String>,
) -> Option<SalesforceError> {
    let results = body.as_array()?;
    // With all-or-none, the other records report ALL_OR_NONE_OPERATION_ROLLED_BACK: the cause
    // is the record whose error is something else.
    let code_of = |e: &Value| {
        e.get("statusCode")
            .or_else(|| e.get("errorCode"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let (index, error) = results.iter().enumerate().find_map(|(i, r)| {
        let errors = r.get("errors")?.as_array()?;
        let cause = errors
            .iter()
            .find(|e| code_of(e).as_deref() != Some("ALL_OR_NONE_OPERATION_ROLLED_BACK"))?;
        (r.get("success") == Some(&Value::Bool(false))).then_some((i, cause))
    })?;
    let code = error
        .get("statusCode")
        .or_else(|| error.get("errorCode"))
        .and_then(Value::as_str)
        .unwrap_or("UNKNOWN_EXCEPTION")
        .to_owned();
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if code == "FIELD_INTEGRITY_EXCEPTION"
        && message
            .to_ascii_lowercase()
            .contains("depends on permission")
    {
        return Some(SalesforceError::PermissionDependencyMissing { message });
    }
    match field_of(index) {
        Some(field)
            if code.contains("RESTRICTED_PICKLIST")
                || code == "INVALID_FIELD"
                || code == "FIELD_INTEGRITY_EXCEPTION" =>
        {
            Some(SalesforceError::UnknownField { field, message })
        }
        _ => Some(SalesforceError::Rejected {
            status: 400,
            code,
            message,
            fields: vec![],
        }),
    }
}

/// The chunk number in a reference like `fields3`.
fn chunk_of(reference: &str, prefix: &str) -> Option<usize> {
    reference.strip_prefix(prefix)?.parse().ok()
}

/// The cause of a failed all-or-none call: a failed record of a collection (its subresponse may
/// even be a 200), else the first failure that is not `PROCESSING_HALTED` (rolled back because
/// of another subrequest).
fn first_failure(work: &AccessWork, answers: &[SubResponse]) -> Option<SalesforceError> {
    for answer in answers {
        let reference = answer.reference_id.as_str();
        let failure = if let Some(chunk) = chunk_of(reference, "objects") {
            let objects = work.grant_objects.iter().skip(chunk * COLLECTION_SIZE);
            let objects: Vec<&String> = objects.collect();
            record_failure(&answer.body, |i| objects.get(i).map(|o| o.to_string()))
        } else if let Some(chunk) = chunk_of(reference, "fields") {
            let fields: Vec<&FieldName> = work
                .grant_fields
                .iter()
                .skip(chunk * COLLECTION_SIZE)
                .collect();
            record_failure(&answer.body, |i| {
                fields.get(i).map(|f| f.as_str().to_owned())
            })
        } else if chunk_of(reference, "restrict").is_some()
            || chunk_of(reference, "revoke").is_some()
        {
            record_failure(&answer.body, |_| None)
        } else {
            None
        };
        if failure.is_some() {
            return failure;
        }
    }
    answers.iter().find_map(|a| {
        let halted = a.body.to_string().contains("PROCESSING_HALTED");
        if halted { None } else { a.error() }
    })
}

/// Records what each answer created or changed, in `set`, as soon as it is known.
pub(super) fn take_answers(
    set: &mut ComponentSet,
    work: &AccessWork,
    answers: &[SubResponse],
) -> Result<(), SalesforceError> {
    if let Some(error) = first_failure(work, answers) {
        return Err(error);
    }
    for answer in answers {
        let reference = answer.reference_id.as_str();
        let id = answer.id().map(str::to_owned);
        let saved = |i: usize| -> Option<String> {
            answer
                .body
                .as_array()?
                .get(i)?
                .get("id")?
                .as_str()
                .map(str::to_owned)
        };
        match reference {
            "user" => set.user = id.map(|id| UserState { id, active: true }),
            "license" => set.license = id,
            "ps" => {
                set.permission_set = id.map(|id| PermissionSetState {
                    id,
                    objects: vec![],
                    fields: vec![],
                })
            }
            "assignment" => set.assignment = id,
            _ => {}
        }
        if let Some(chunk) = chunk_of(reference, "objects") {
            let objects =
                &work.grant_objects[(chunk * COLLECTION_SIZE).min(work.grant_objects.len())..];
            if let Some(ps) = set.permission_set.as_mut() {
                for (i, object) in objects.iter().take(COLLECTION_SIZE).enumerate() {
                    if let Some(id) = saved(i) {
                        ps.objects.push(ObjectGrant {
                            id,
                            object: object.clone(),
                            read_only: true,
                        });
                    }
                }
            }
        }
        if let Some(chunk) = chunk_of(reference, "fields") {
            let fields =
                &work.grant_fields[(chunk * COLLECTION_SIZE).min(work.grant_fields.len())..];
            if let Some(ps) = set.permission_set.as_mut() {
                for (i, field) in fields.iter().take(COLLECTION_SIZE).enumerate() {
                    if let Some(id) = saved(i) {
                        ps.fields.push(FieldGrant {
                            id,
                            field: field.clone(),
                            read_only: true,
                        });
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error_code::ErrorCode;

    #[test]
    fn a_refused_object_permission_dependency_is_its_own_code_not_an_unknown_field() {
        let body = serde_json::json!([{
            "success": false,
            "errors": [{
                "statusCode": "FIELD_INTEGRITY_EXCEPTION",
                "message": "Permission Read Contacts depends on permission(s): Read Accounts",
                "fields": ["PermissionsRead"]
            }]
        }]);
        let error = record_failure(&body, |_| Some("Contact".to_owned())).expect("an error");
        assert_eq!(error.error_code(), ErrorCode::PermissionDependencyMissing);
        assert!(error.to_string().contains("Read Accounts"), "{error}");
        // Any other integrity error on a grant still names the field.
        let body = serde_json::json!([{
            "success": false,
            "errors": [{"statusCode": "FIELD_INTEGRITY_EXCEPTION", "message": "Field Account.X does not belong to SobjectType Contact"}]
        }]);
        let error = record_failure(&body, |_| Some("Account.X".to_owned())).expect("an error");
        assert_eq!(error.error_code(), ErrorCode::UnknownField);
    }
}
