//! The I/O half of the preflight: everything it needs from the org in at most three API
//! calls besides the token request — `GET /services/data/` (the versions list), then one
//! Composite call whose subrequests are all GETs (five SOQL queries and one describe per
//! object of the required fields; a second Composite only past 20 objects). Nothing is
//! written.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde_json::Value;

use super::model::{Facts, FieldInfo, Read, Seats};
use super::{INTEGRATION_LICENSE, INTEGRATION_PROFILE, REQUIRED_PERMISSIONS};
use crate::reconcile::model::{FieldName, objects_of};
use crate::reconcile::names::soql_literal;
use crate::reconcile::observe::INTEGRATION_PSL;
use crate::salesforce::{COMPOSITE_MAX, Org, SalesforceError, SubResponse, Subrequest};

/// The queries of the first Composite call, by reference id.
const QUERIES: usize = 5;

/// What was read, and how many API calls it took (the token request not counted).
pub struct Reading {
    pub facts: Facts,
    pub api_calls: u32,
}

/// Reads the org. The versions list comes first: without the configured version, nothing
/// else is asked.
pub async fn read(org: &Org, fields: &BTreeSet<FieldName>) -> Result<Reading, SalesforceError> {
    let sf = org.sf();
    let versions = sf.org_versions(&org.instance_url()).await?;
    let mut api_calls = 1;
    let configured = sf.api_version().to_owned();
    let mut facts = Facts {
        configured_version: configured.clone(),
        versions: versions.clone(),
        admin_permissions: Err("not read".into()),
        user_license: Err("not read".into()),
        permission_set_license: Err("not read".into()),
        integration_profile: Err("not read".into()),
        external_client_apps: Err("not read".into()),
        api_usage: None,
        objects: BTreeMap::new(),
    };
    if versions.as_ref().is_some_and(|l| !l.contains(&configured)) {
        return Ok(Reading { facts, api_calls });
    }
    org.sign_in().await?;
    let user = org.user_id().unwrap_or_default();
    let objects = objects_of(fields);
    let mut subrequests = queries(&user);
    subrequests.extend(objects.iter().enumerate().map(|(i, object)| {
        Subrequest::new(
            Method::GET,
            format!("sobjects/{object}/describe"),
            format!("d{i}"),
        )
    }));
    let mut answers: BTreeMap<String, SubResponse> = BTreeMap::new();
    for chunk in subrequests.chunks(COMPOSITE_MAX) {
        for answer in org.composite(false, chunk.to_vec()).await? {
            answers.insert(answer.reference_id.clone(), answer);
        }
        api_calls += 1;
    }
    let records = |reference: &str| -> Read<Vec<Value>> {
        let answer = answers.get(reference).ok_or("no answer")?;
        if let Some(e) = answer.error() {
            return Err(e.to_string());
        }
        Ok(answer
            .body
            .get("records")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    };
    facts.admin_permissions = records("perms").map(|r| held_permissions(&r));
    facts.user_license = records("license").map(|r| r.first().map(seats));
    facts.permission_set_license = records("psl").map(|r| r.first().map(seats));
    facts.integration_profile = records("profile").map(|r| !r.is_empty());
    facts.external_client_apps = records("apps").map(|r| r.len());
    for (i, object) in objects.iter().enumerate() {
        let described = match answers.get(&format!("d{i}")) {
            None => Err("no answer".to_owned()),
            Some(answer) => match answer.error() {
                Some(e) => Err(e.to_string()),
                None => Ok(described_fields(&answer.body)),
            },
        };
        facts.objects.insert(object.clone(), described);
    }
    facts.api_usage = org.api_usage();
    Ok(Reading { facts, api_calls })
}

/// The five queries, as Composite subrequests (at most five queries a Composite call).
fn queries(user: &str) -> Vec<Subrequest> {
    let permissions: Vec<String> = REQUIRED_PERMISSIONS
        .iter()
        .map(|(field, _, _)| format!("PermissionSet.{field}"))
        .collect();
    let soql = [
        (
            "perms",
            format!(
                "SELECT {} FROM PermissionSetAssignment WHERE AssigneeId = {}",
                permissions.join(", "),
                soql_literal(user)
            ),
        ),
        (
            "license",
            format!(
                "SELECT Name, TotalLicenses, UsedLicenses FROM UserLicense WHERE Name = {}",
                soql_literal(INTEGRATION_LICENSE)
            ),
        ),
        (
            "psl",
            format!(
                "SELECT DeveloperName, TotalLicenses, UsedLicenses FROM PermissionSetLicense WHERE DeveloperName = {}",
                soql_literal(INTEGRATION_PSL)
            ),
        ),
        (
            "profile",
            format!(
                "SELECT Id FROM Profile WHERE Name = {}",
                soql_literal(INTEGRATION_PROFILE)
            ),
        ),
        (
            "apps",
            "SELECT Id FROM ExternalClientApplication".to_owned(),
        ),
    ];
    debug_assert_eq!(soql.len(), QUERIES);
    soql.into_iter()
        .map(|(reference, q)| {
            let encoded: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
            Subrequest::new(Method::GET, format!("query?q={encoded}"), reference)
        })
        .collect()
}

/// Each required permission → whether any assigned permission set grants it.
fn held_permissions(records: &[Value]) -> BTreeMap<String, bool> {
    REQUIRED_PERMISSIONS
        .iter()
        .map(|(field, _, _)| {
            let held = records.iter().any(|r| {
                r.get("PermissionSet")
                    .and_then(|set| set.get(*field))
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
            });
            ((*field).to_owned(), held)
        })
        .collect()
}

fn seats(record: &Value) -> Seats {
    let number = |name: &str| record.get(name).and_then(Value::as_i64).unwrap_or(0);
    Seats {
        total: number("TotalLicenses"),
        used: number("UsedLicenses"),
    }
}

fn described_fields(body: &Value) -> Vec<FieldInfo> {
    body.get("fields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| {
            Some(FieldInfo {
                name: f.get("name")?.as_str()?.to_owned(),
                permissionable: f
                    .get("permissionable")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            })
        })
        .collect()
}
