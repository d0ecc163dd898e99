//! The subrequests that grant, restrict and revoke, packed into calls within the limits.

use reqwest::Method;
use serde_json::{Value, json};

use crate::reconcile::plan::AccessWork;
use crate::salesforce::Subrequest;

use super::{COLLECTION_SIZE, MAX_HEAVY, MAX_SUBREQUESTS, Op, collection};

pub(super) fn grant_ops(work: &AccessWork, ps_ref: &str) -> Vec<Op> {
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
pub(super) fn pack(ops: Vec<Op>) -> Vec<Vec<Op>> {
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

pub(super) fn substitute(value: &mut Value, from: &str, to: &str) {
    match value {
        Value::String(s) if s == from => *s = to.to_owned(),
        Value::Array(items) => items.iter_mut().for_each(|v| substitute(v, from, to)),
        Value::Object(map) => map.values_mut().for_each(|v| substitute(v, from, to)),
        _ => {}
    }
}
