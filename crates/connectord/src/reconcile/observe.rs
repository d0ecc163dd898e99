//! Looking at one set's components in the org: five queries in one Composite call (one API
//! call; five is the most a Composite call may hold), then a pure comparison with what was recorded, which says what drifted.

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;
use tracing::warn;

use super::app_policy::{self, AppPolicy};
use super::model::{
    ComponentSet, FieldGrant, FieldName, ObjectGrant, PermissionSetState, UserState,
};
use super::names::{SetNames, soql_literal};
use crate::salesforce::{Org, SalesforceError, Subrequest};

pub const INTEGRATION_PSL: &str = "SalesforceAPIIntegrationPsl";

/// What the org holds under one set's names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    pub user: Option<UserState>,
    pub license: Option<String>,
    pub permission_set: Option<ObservedPermissionSet>,
    pub app: Option<String>,
    /// The app's OAuth policy (run-as user, scopes, IP and permitted-users policies).
    pub app_policy: Option<AppPolicy>,
    /// The org would not answer the policy read (an org or API version without those objects
    /// or fields): the policy is not compared, rather than every pass failing.
    pub app_policy_unreadable: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedPermissionSet {
    pub state: PermissionSetState,
    /// Users the permission set is assigned to, with the assignment ids.
    pub assignments: Vec<(String, String)>,
}

/// The queries that find a set's components by name, as Composite subrequests.
pub fn queries(names: &SetNames) -> Vec<Subrequest> {
    queries_for(names, true)
}

/// [`queries`], without the app's SOQL read when `with_app` is false (an org that refuses it).
fn queries_for(names: &SetNames, with_app: bool) -> Vec<Subrequest> {
    let username = soql_literal(&names.username);
    let soql = [
        (
            "user",
            format!("SELECT Id, IsActive FROM User WHERE Username = {username}"),
        ),
        (
            "license",
            format!(
                "SELECT Id FROM PermissionSetLicenseAssign WHERE Assignee.Username = {username} \
                 AND PermissionSetLicense.DeveloperName = '{INTEGRATION_PSL}'"
            ),
        ),
        (
            "permissionSet",
            format!(
                "SELECT Id, \
                 (SELECT Id, SobjectType, PermissionsRead, PermissionsCreate, PermissionsEdit, \
                 PermissionsDelete, PermissionsViewAllRecords, PermissionsModifyAllRecords FROM ObjectPerms), \
                 (SELECT Id, Field, PermissionsRead, PermissionsEdit FROM FieldPerms), \
                 (SELECT Id, AssigneeId FROM Assignments) \
                 FROM PermissionSet WHERE Name = {}",
                soql_literal(&names.permission_set)
            ),
        ),
        (
            "app",
            format!(
                "SELECT Id FROM ExternalClientApplication WHERE DeveloperName = {}",
                soql_literal(&names.app)
            ),
        ),
        ("appPolicy", app_policy::query(names)),
    ];
    soql.into_iter()
        .filter(|(reference, _)| with_app || *reference != "app")
        .map(|(reference, q)| Subrequest::new(Method::GET, query_path(&q), reference))
        .collect()
}

/// `query?q=…`, percent-encoded.
pub fn query_path(soql: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(soql.as_bytes()).collect();
    format!("query?q={encoded}")
}

/// Runs the five queries in one call.
pub async fn observe(org: &Org, names: &SetNames) -> Result<Observation, SalesforceError> {
    observe_known(org, names, None).await
}

/// [`observe`], knowing the app id recorded for the set (if any). An org that refuses SOQL
/// on `ExternalClientApplication` (`INVALID_TYPE`) has its app found through documented
/// resources instead (`Org::find_app_without_soql`), in this pass and every later one.
pub async fn observe_known(
    org: &Org,
    names: &SetNames,
    known_app: Option<&str>,
) -> Result<Observation, SalesforceError> {
    let mut without_soql = org.app_query_refused();
    let answers = org
        .composite(false, queries_for(names, !without_soql))
        .await?;
    let mut observation = Observation::default();
    for answer in answers {
        if let Some(error) = answer.error() {
            if answer.reference_id == "app" {
                org.note_app_query_error(error)?;
                without_soql = true;
                continue;
            }
            if answer.reference_id == "appPolicy" && unsupported(&error) {
                warn!(error = %error, "the app's OAuth policy cannot be read: not compared");
                observation.app_policy_unreadable = true;
                continue;
            }
            return Err(error);
        }
        let records = records(&answer.body);
        match answer.reference_id.as_str() {
            "user" => {
                observation.user = records.first().map(|r| UserState {
                    id: text(r, "Id"),
                    active: r.get("IsActive").and_then(Value::as_bool).unwrap_or(false),
                });
            }
            "license" => observation.license = records.first().map(|r| text(r, "Id")),
            "permissionSet" => observation.permission_set = records.first().map(permission_set),
            "app" => observation.app = records.first().map(|r| text(r, "Id")),
            "appPolicy" => {
                observation.app_policy = records.first().map(|r| app_policy::parse(r, names))
            }
            _ => {}
        }
    }
    if without_soql {
        observation.app = org.find_app_without_soql(&names.app, known_app).await?;
    }
    Ok(observation)
}

/// The org does not know the object or a field the read names.
fn unsupported(error: &SalesforceError) -> bool {
    crate::salesforce::eca_lookup::is_unsupported_read(error)
}

fn records(body: &Value) -> Vec<Value> {
    body.get("records")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn text(record: &Value, key: &str) -> String {
    record
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ObjectPermsRow {
    id: String,
    sobject_type: String,
    #[serde(default)]
    permissions_read: bool,
    #[serde(default)]
    permissions_create: bool,
    #[serde(default)]
    permissions_edit: bool,
    #[serde(default)]
    permissions_delete: bool,
    #[serde(default)]
    permissions_view_all_records: bool,
    #[serde(default)]
    permissions_modify_all_records: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FieldPermsRow {
    id: String,
    field: String,
    #[serde(default)]
    permissions_read: bool,
    #[serde(default)]
    permissions_edit: bool,
}

/// A child relationship's rows: Salesforce answers `null` when there are none.
fn children<T: for<'de> Deserialize<'de>>(record: &Value, relationship: &str) -> Vec<T> {
    record
        .get(relationship)
        .map(records)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|row| serde_json::from_value(row).ok())
        .collect()
}

fn permission_set(record: &Value) -> ObservedPermissionSet {
    let objects = children::<ObjectPermsRow>(record, "ObjectPerms")
        .into_iter()
        .map(|o| ObjectGrant {
            read_only: o.permissions_read
                && !(o.permissions_create
                    || o.permissions_edit
                    || o.permissions_delete
                    || o.permissions_view_all_records
                    || o.permissions_modify_all_records),
            id: o.id,
            object: o.sobject_type,
        })
        .collect();
    let fields = children::<FieldPermsRow>(record, "FieldPerms")
        .into_iter()
        .filter_map(|f| {
            Some(FieldGrant {
                read_only: f.permissions_read && !f.permissions_edit,
                field: FieldName::parse(&f.field)?,
                id: f.id,
            })
        })
        .collect();
    let assignments = records(record.get("Assignments").unwrap_or(&Value::Null))
        .iter()
        .map(|a| (text(a, "AssigneeId"), text(a, "Id")))
        .collect();
    ObservedPermissionSet {
        state: PermissionSetState {
            id: text(record, "Id"),
            objects,
            fields,
        },
        assignments,
    }
}

/// Takes what the org showed into the set and says, in sentences, what differs from the record.
pub fn apply(set: &mut ComponentSet, seen: Observation) -> Vec<String> {
    let mut drift = Vec::new();
    let mut note = |what: String| drift.push(what);
    match (&set.user, &seen.user) {
        (Some(_), None) => note("the integration user is missing".into()),
        (Some(was), Some(now)) if was.active && !now.active => {
            note("the integration user was deactivated".into())
        }
        _ => {}
    }
    if set.license.is_some() && seen.license.is_none() {
        note("the integration licence assignment was removed".into());
    }
    let user_id = seen.user.as_ref().map(|u| u.id.clone());
    let assignment = seen.permission_set.as_ref().and_then(|ps| {
        ps.assignments
            .iter()
            .find(|(assignee, _)| Some(assignee) == user_id.as_ref())
            .map(|(_, id)| id.clone())
    });
    match (&set.permission_set, &seen.permission_set) {
        (Some(_), None) => note("the permission set was deleted".into()),
        (Some(was), Some(now)) => {
            for g in &was.fields {
                match now.state.fields.iter().find(|n| n.field == g.field) {
                    None => note(format!("read access to {} was removed", g.field.as_str())),
                    Some(n) if !n.read_only => {
                        note(format!("edit access to {} was granted", g.field.as_str()))
                    }
                    Some(_) => {}
                }
            }
            for n in &now.state.fields {
                if !was.fields.iter().any(|g| g.field == n.field) {
                    note(format!("access to {} was added", n.field.as_str()));
                }
            }
            for n in &now.state.objects {
                if !n.read_only {
                    note(format!("more than read access to {} was granted", n.object));
                }
            }
        }
        _ => {}
    }
    if set.assignment.is_some() && assignment.is_none() && seen.permission_set.is_some() {
        note("the permission set was unassigned from the integration user".into());
    }
    if set.app.is_some() && seen.app.is_none() {
        note("the External Client App was deleted".into());
    }
    if set.app.is_some() && seen.app.is_some() && set.app != seen.app {
        note("the External Client App was replaced".into());
    }
    // Only an app that is still ours has a policy to compare (a replaced one is redeployed).
    set.app_policy_drift = false;
    if set.app.is_some() && set.app == seen.app && !seen.app_policy_unreadable {
        let widened = app_policy::differences(seen.app_policy.as_ref(), set.shape);
        set.app_policy_drift = !widened.is_empty();
        drift.extend(widened);
    }
    let app_changed = set.app != seen.app;
    set.user = seen.user;
    set.license = seen.license;
    set.permission_set = seen.permission_set.map(|ps| ps.state);
    set.assignment = assignment;
    set.app = seen.app;
    if app_changed {
        set.credentials = false;
    }
    if !drift.is_empty() {
        set.verified = false;
    }
    drift
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::SubResponse;

    fn answer(status: u16, code: &str) -> SalesforceError {
        let body = serde_json::json!([{ "message": "no", "errorCode": code }]);
        let answer = SubResponse {
            reference_id: "appPolicy".into(),
            http_status_code: status,
            body,
        };
        answer.error().expect("an error")
    }

    #[test]
    fn an_org_without_the_policy_objects_skips_the_policy_read_but_nothing_else() {
        assert!(unsupported(&answer(400, "INVALID_TYPE")));
        assert!(unsupported(&answer(400, "INVALID_FIELD")));
        assert!(!unsupported(&answer(401, "INVALID_SESSION_ID")));
        assert!(!unsupported(&answer(403, "REQUEST_LIMIT_EXCEEDED")));
        assert!(!unsupported(&answer(500, "UNKNOWN_EXCEPTION")));
    }
}
