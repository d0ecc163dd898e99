//! Creating and repairing a set's access (user, licence, permission set, grants, assignment)
//! in as few Composite calls as the limits allow, and tearing it down.
//!
//! Composite limits (REST API Developer Guide, "Composite"): at most 25 subrequests, of which at
//! most 5 may be queries or sObject Collections; a collection holds at most 200 records. The
//! first call carries every subrequest that refers to another (`@{user.id}`), so it is all or
//! nothing; later calls carry the remaining grants with the ids the first one returned.

use reqwest::Method;
use serde_json::{Value, json};

use super::model::{
    ComponentSet, FieldGrant, FieldName, ObjectGrant, PermissionSetState, UserState,
};
use super::names::{SetNames, soql_literal};
use super::observe::{INTEGRATION_PSL, query_path};
use super::plan::{AccessWork, TeardownWork};
use crate::salesforce::{Org, SalesforceError, SubResponse, Subrequest};

pub const INTEGRATION_PROFILE: &str = "Minimum Access - API Only Integrations";
const MAX_SUBREQUESTS: usize = 25;
const MAX_HEAVY: usize = 5;
const COLLECTION_SIZE: usize = 200;

/// One subrequest and whether it counts against the five queries/collections.
struct Op {
    request: Subrequest,
    heavy: bool,
}

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

fn query(reference: &str, soql: String) -> Op {
    Op {
        request: Subrequest::new(Method::GET, query_path(&soql), reference),
        heavy: true,
    }
}

fn collection(records: Vec<Value>, reference: String, method: Method) -> Op {
    let request = Subrequest::new(method, "composite/sobjects", reference)
        .with_body(json!({ "allOrNone": true, "records": records }));
    Op {
        request,
        heavy: true,
    }
}

fn user_body(names: &SetNames, tenant: &str) -> Value {
    json!({
        "Username": names.username,
        "Alias": names.alias,
        "Email": format!("noreply@{}", super::names::USERNAME_DOMAIN),
        "FirstName": "connectord",
        "LastName": format!("Integration {}", truncate(tenant, 60)),
        "ProfileId": "@{profile.records[0].Id}",
        "LanguageLocaleKey": "en_US",
        "LocaleSidKey": "en_US",
        "EmailEncodingKey": "UTF-8",
        "TimeZoneSidKey": "GMT",
    })
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// Creates or repairs what `work` lists, recording every id into `set` as soon as it is known.
pub async fn ensure(
    org: &Org,
    names: &SetNames,
    tenant: &str,
    set: &mut ComponentSet,
    work: &AccessWork,
) -> Result<(), SalesforceError> {
    // Fields the org does not have fail here, before anything is created; fields that take no
    // field permission are readable through the object and recorded as such.
    let classified;
    let work = if work.grant_fields.is_empty() {
        work
    } else {
        let (grant, implicit) = classify(org, &work.grant_fields).await?;
        set.implicit.extend(implicit);
        classified = AccessWork {
            grant_fields: grant,
            ..work.clone()
        };
        &classified
    };
    let mut core: Vec<Op> = Vec::new();
    if work.create_user {
        core.push(query(
            "profile",
            format!(
                "SELECT Id FROM Profile WHERE Name = {}",
                soql_literal(INTEGRATION_PROFILE)
            ),
        ));
        core.push(Op {
            request: Subrequest::new(Method::POST, "sobjects/User", "user")
                .with_body(user_body(names, tenant)),
            heavy: false,
        });
    }
    let user_ref = match &set.user {
        Some(u) if !work.create_user => u.id.clone(),
        _ => "@{user.id}".to_owned(),
    };
    if work.reactivate_user {
        core.push(Op {
            request: Subrequest::new(
                Method::PATCH,
                format!("sobjects/User/{user_ref}"),
                "reactivate",
            )
            .with_body(json!({ "IsActive": true })),
            heavy: false,
        });
    }
    if work.assign_license {
        core.push(query(
            "psl",
            format!(
                "SELECT Id FROM PermissionSetLicense WHERE DeveloperName = '{INTEGRATION_PSL}'"
            ),
        ));
        core.push(Op {
            request: Subrequest::new(
                Method::POST,
                "sobjects/PermissionSetLicenseAssign",
                "license",
            )
            .with_body(
                json!({ "AssigneeId": user_ref, "PermissionSetLicenseId": "@{psl.records[0].Id}" }),
            ),
            heavy: false,
        });
    }
    if work.create_permission_set {
        core.push(Op {
            request: Subrequest::new(Method::POST, "sobjects/PermissionSet", "ps").with_body(json!({
                "Name": names.permission_set,
                "Label": names.permission_set.replace('_', " "),
                "Description": format!("Read access for the agent of tenant {} (managed by connectord)", truncate(tenant, 120)),
            })),
            heavy: false,
        });
    }
    let ps_ref = match &set.permission_set {
        Some(ps) if !work.create_permission_set => ps.id.clone(),
        _ => "@{ps.id}".to_owned(),
    };
    if work.assign {
        core.push(Op {
            request: Subrequest::new(
                Method::POST,
                "sobjects/PermissionSetAssignment",
                "assignment",
            )
            .with_body(json!({ "AssigneeId": user_ref, "PermissionSetId": ps_ref })),
            heavy: false,
        });
    }

    let grants = grant_ops(work, &ps_ref);
    // The first call: every subrequest with a reference, plus as many grants as fit.
    let mut pending = grants.into_iter().peekable();
    let mut first = core;
    let mut heavy = first.iter().filter(|o| o.heavy).count();
    while let Some(op) =
        pending.next_if(|op| first.len() < MAX_SUBREQUESTS && (!op.heavy || heavy < MAX_HEAVY))
    {
        heavy += usize::from(op.heavy);
        first.push(op);
    }
    let answers = org
        .composite(true, first.into_iter().map(|o| o.request).collect())
        .await?;
    take_answers(set, work, &answers)?;

    // The rest, with the permission set's id now known.
    let ps_id = set
        .permission_set
        .as_ref()
        .map(|p| p.id.clone())
        .unwrap_or_default();
    let rest: Vec<Op> = pending.collect();
    for call in pack(rest) {
        let requests = call
            .into_iter()
            .map(|mut o| {
                if let Some(body) = o.request.body.as_mut() {
                    substitute(body, "@{ps.id}", &ps_id);
                }
                o.request
            })
            .collect();
        let answers = org.composite(true, requests).await?;
        take_answers(set, work, &answers)?;
    }
    // Every call succeeded: the restricted and revoked grants are as asked.
    if let Some(ps) = set.permission_set.as_mut() {
        for grant in ps
            .objects
            .iter_mut()
            .filter(|g| work.restrict_objects.contains(&g.id))
        {
            grant.read_only = true;
        }
        for grant in ps
            .fields
            .iter_mut()
            .filter(|g| work.restrict_fields.contains(&g.id))
        {
            grant.read_only = true;
        }
        ps.objects.retain(|g| !work.revoke_objects.contains(&g.id));
        ps.fields.retain(|g| !work.revoke_fields.contains(&g.id));
    }
    Ok(())
}

/// Splits `fields` into those that take a field permission and those readable through object
/// access alone, from the objects' describe (25 objects per Composite call). A field or object
/// the org does not have is `UnknownField`.
async fn classify(
    org: &Org,
    fields: &[FieldName],
) -> Result<(Vec<FieldName>, Vec<FieldName>), SalesforceError> {
    let mut objects: Vec<&str> = fields.iter().map(|f| f.object()).collect();
    objects.sort_by_key(|o| o.to_ascii_lowercase());
    objects.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    // object (lower case) → its fields (lower case) → permissionable
    let mut described: std::collections::HashMap<String, std::collections::HashMap<String, bool>> =
        std::collections::HashMap::new();
    for chunk in objects.chunks(MAX_SUBREQUESTS) {
        let requests = chunk
            .iter()
            .map(|o| {
                Subrequest::new(
                    Method::GET,
                    format!("sobjects/{o}/describe"),
                    format!("d_{o}"),
                )
            })
            .collect();
        for (object, answer) in chunk.iter().zip(org.composite(false, requests).await?) {
            let fields = match answer.error() {
                Some(SalesforceError::NotFound { .. }) => None,
                Some(error) => return Err(error),
                None => answer
                    .body
                    .get("fields")
                    .and_then(Value::as_array)
                    .map(|list| {
                        list.iter()
                            .filter_map(|f| {
                                let name = f.get("name")?.as_str()?.to_ascii_lowercase();
                                let permissionable = f
                                    .get("permissionable")
                                    .and_then(Value::as_bool)
                                    .unwrap_or(true);
                                Some((name, permissionable))
                            })
                            .collect()
                    }),
            };
            if let Some(fields) = fields {
                described.insert(object.to_ascii_lowercase(), fields);
            }
        }
    }
    let (mut grant, mut implicit) = (Vec::new(), Vec::new());
    for field in fields {
        let Some(object) = described.get(&field.object().to_ascii_lowercase()) else {
            return Err(SalesforceError::UnknownField {
                field: field.as_str().to_owned(),
                message: format!("the org has no object {}", field.object()),
            });
        };
        let name = field
            .as_str()
            .split_once('.')
            .map_or("", |(_, f)| f)
            .to_ascii_lowercase();
        match object.get(&name) {
            Some(true) => grant.push(field.clone()),
            Some(false) => implicit.push(field.clone()),
            None => {
                return Err(SalesforceError::UnknownField {
                    field: field.as_str().to_owned(),
                    message: format!(
                        "the org has no field {} that the admin can see",
                        field.as_str()
                    ),
                });
            }
        }
    }
    Ok((grant, implicit))
}

fn grant_ops(work: &AccessWork, ps_ref: &str) -> Vec<Op> {
    let mut ops = Vec::new();
    let objects: Vec<Value> = work
        .grant_objects
        .iter()
        .map(|o| {
            json!({
                "attributes": { "type": "ObjectPermissions" },
                "ParentId": ps_ref, "SobjectType": o, "PermissionsRead": true,
                "PermissionsCreate": false, "PermissionsEdit": false, "PermissionsDelete": false,
                "PermissionsViewAllRecords": false, "PermissionsModifyAllRecords": false,
            })
        })
        .collect();
    for (i, chunk) in objects.chunks(COLLECTION_SIZE).enumerate() {
        ops.push(collection(
            chunk.to_vec(),
            format!("objects{i}"),
            Method::POST,
        ));
    }
    let fields: Vec<Value> = work
        .grant_fields
        .iter()
        .map(|f| {
            json!({
                "attributes": { "type": "FieldPermissions" },
                "ParentId": ps_ref, "SobjectType": f.object(), "Field": f.as_str(),
                "PermissionsRead": true, "PermissionsEdit": false,
            })
        })
        .collect();
    for (i, chunk) in fields.chunks(COLLECTION_SIZE).enumerate() {
        ops.push(collection(
            chunk.to_vec(),
            format!("fields{i}"),
            Method::POST,
        ));
    }
    let restrict: Vec<Value> = work
        .restrict_objects
        .iter()
        .map(|id| {
            json!({
                "attributes": { "type": "ObjectPermissions" }, "id": id, "PermissionsRead": true,
                "PermissionsCreate": false, "PermissionsEdit": false, "PermissionsDelete": false,
                "PermissionsViewAllRecords": false, "PermissionsModifyAllRecords": false,
            })
        })
        .chain(work.restrict_fields.iter().map(|id| {
            json!({
                "attributes": { "type": "FieldPermissions" }, "id": id, "PermissionsEdit": false,
            })
        }))
        .collect();
    for (i, chunk) in restrict.chunks(COLLECTION_SIZE).enumerate() {
        ops.push(collection(
            chunk.to_vec(),
            format!("restrict{i}"),
            Method::PATCH,
        ));
    }
    // Field permissions go before the object permissions they depend on.
    let revoke: Vec<&String> = work
        .revoke_fields
        .iter()
        .chain(&work.revoke_objects)
        .collect();
    for (i, chunk) in revoke.chunks(COLLECTION_SIZE).enumerate() {
        let ids: Vec<&str> = chunk.iter().map(|s| s.as_str()).collect();
        ops.push(Op {
            request: Subrequest::new(
                Method::DELETE,
                format!("composite/sobjects?ids={}&allOrNone=true", ids.join(",")),
                format!("revoke{i}"),
            ),
            heavy: true,
        });
    }
    ops
}

/// Splits subrequests into calls within the Composite limits, keeping their order.
fn pack(ops: Vec<Op>) -> Vec<Vec<Op>> {
    let mut calls: Vec<Vec<Op>> = Vec::new();
    let mut heavy = 0;
    for op in ops {
        let full = calls
            .last()
            .is_none_or(|c| c.len() >= MAX_SUBREQUESTS || (op.heavy && heavy >= MAX_HEAVY));
        if full {
            calls.push(Vec::new());
            heavy = 0;
        }
        heavy += usize::from(op.heavy);
        if let Some(call) = calls.last_mut() {
            call.push(op);
        }
    }
    calls
}

fn substitute(value: &mut Value, from: &str, to: &str) {
    match value {
        Value::String(s) if s == from => *s = to.to_owned(),
        Value::Array(items) => items.iter_mut().for_each(|v| substitute(v, from, to)),
        Value::Object(map) => map.values_mut().for_each(|v| substitute(v, from, to)),
        _ => {}
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
fn take_answers(
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
            "reactivate" => set.user.iter_mut().for_each(|u| u.active = true),
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

/// Removes what `work` lists, in Salesforce's order, tolerating what is already gone.
pub async fn teardown(
    org: &Org,
    set: &mut ComponentSet,
    work: &TeardownWork,
) -> Result<(), SalesforceError> {
    let mut requests = Vec::new();
    if let Some(id) = &work.unassign {
        requests.push(Subrequest::new(
            Method::DELETE,
            format!("sobjects/PermissionSetAssignment/{id}"),
            "unassign",
        ));
    }
    if let Some(id) = &work.delete_permission_set {
        requests.push(Subrequest::new(
            Method::DELETE,
            format!("sobjects/PermissionSet/{id}"),
            "deletePs",
        ));
    }
    if let Some(id) = &work.remove_license {
        requests.push(Subrequest::new(
            Method::DELETE,
            format!("sobjects/PermissionSetLicenseAssign/{id}"),
            "unlicense",
        ));
    }
    if let Some(id) = &work.deactivate_user {
        requests.push(
            Subrequest::new(Method::PATCH, format!("sobjects/User/{id}"), "deactivate")
                .with_body(json!({ "IsActive": false })),
        );
    }
    // Not all-or-none: what is already gone answers 404, and the rest still goes.
    let answers = org.composite(false, requests).await?;
    let mut first_error = None;
    for answer in &answers {
        let gone = match answer.error() {
            None => true,
            Some(SalesforceError::NotFound { .. }) => true,
            Some(SalesforceError::Rejected { code, .. }) if code == "ENTITY_IS_DELETED" => true,
            Some(error) => {
                first_error.get_or_insert(error);
                false
            }
        };
        if gone {
            match answer.reference_id.as_str() {
                "unassign" => set.assignment = None,
                "deletePs" => set.permission_set = None,
                "unlicense" => set.license = None,
                "deactivate" => {
                    if let Some(user) = set.user.as_mut() {
                        user.active = false;
                    }
                }
                _ => {}
            }
        }
    }
    set.verified = false;
    first_error.map_or(Ok(()), Err)
}
