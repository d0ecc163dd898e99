//! Creating and repairing a set's access (user, licence, permission set, grants, assignment)
//! in as few Composite calls as the limits allow, and tearing it down.
//!
//! Composite limits (REST API Developer Guide, "Composite"): at most 25 subrequests, of which at
//! most 5 may be queries or sObject Collections; a collection holds at most 200 records. The
//! first call carries every subrequest that refers to another (`@{user.id}`), so it is all or
//! nothing; later calls carry the remaining grants with the ids the first one returned.

mod answers;
mod classify;
mod grants;
mod lookups;
mod teardown;

pub use teardown::teardown;

use reqwest::Method;
use serde_json::{Value, json};

use super::model::{ComponentSet, UserState};
use super::names::{SetNames, soql_literal};
use super::observe::{INTEGRATION_PSL, query_path};
use super::plan::AccessWork;
use crate::salesforce::{Org, SalesforceError, Subrequest};
use answers::take_answers;
use classify::classify;
use grants::{grant_ops, pack, substitute};

pub const INTEGRATION_PROFILE: &str = "Minimum Access - API Only Integrations";
pub(super) const MAX_SUBREQUESTS: usize = 25;
pub(super) const MAX_HEAVY: usize = 5;
pub(super) const COLLECTION_SIZE: usize = 200;

/// One subrequest and whether it counts against the five queries/collections.
pub(super) struct Op {
    request: Subrequest,
    heavy: bool,
}

fn query(reference: &str, soql: String) -> Op {
    Op {
        request: Subrequest::new(Method::GET, query_path(&soql), reference),
        heavy: true,
    }
}

pub(super) fn collection(records: Vec<Value>, reference: String, method: Method) -> Op {
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
        "Email": names.email,
        "FirstName": "connectord",
        "LastName": format!("Integration {}", truncate(tenant, 60)),
        "ProfileId": "@{profile.records[0].Id}",
        "LanguageLocaleKey": "en_US",
        "LocaleSidKey": "en_US",
        "EmailEncodingKey": "UTF-8",
        "TimeZoneSidKey": "GMT",
    })
}

/// A retired integration user made the new set's: renamed (Salesforce lets an admin edit an
/// inactive user's Username) and reactivated; it keeps its profile.
fn reuse_body(names: &SetNames, tenant: &str) -> Value {
    let mut body = user_body(names, tenant);
    if let Some(fields) = body.as_object_mut() {
        fields.remove("ProfileId");
        fields.insert("IsActive".into(), Value::Bool(true));
    }
    body
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// Creates or repairs what `work` lists, recording every id into `set` as soon as it is known.
/// A user to create is `reuse` (a retired integration user of this connection) when given.
pub async fn ensure(
    org: &Org,
    names: &SetNames,
    tenant: &str,
    set: &mut ComponentSet,
    work: &AccessWork,
    reuse: Option<&str>,
) -> Result<(), SalesforceError> {
    let reuse = reuse.filter(|_| work.create_user);
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
    if let Some(id) = reuse {
        core.push(Op {
            request: Subrequest::new(Method::PATCH, format!("sobjects/User/{id}"), "reuse")
                .with_body(reuse_body(names, tenant)),
            heavy: false,
        });
    } else if work.create_user {
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
    let user_ref = match (&set.user, reuse) {
        (Some(u), _) if !work.create_user => u.id.clone(),
        (_, Some(id)) => id.to_owned(),
        _ => "@{user.id}".to_owned(),
    };
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
    // In order: the assignment needs the licence first, which no `@{ref}` says.
    let answers = org
        .composite_in_order(true, first.into_iter().map(|o| o.request).collect())
        .await
        .map_err(lookups::name_missing_lookup)?;
    take_answers(set, work, &answers)?;
    if let Some(id) = reuse {
        set.user = Some(UserState {
            id: id.to_owned(),
            active: true,
        });
    }

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
        let answers = org.composite_in_order(true, requests).await?;
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
