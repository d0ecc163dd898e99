//! `connectord check`: a read-only preflight of an org before anything is created there.
//! [`read`] asks the org (GETs and queries only, at most three API calls besides the token
//! request); [`evaluate`] turns what was read into pass / warn / blocker items, each with its
//! remedy; [`run`] puts them together with the host policy and what connectord would create.
//! What each item reads and its sources: `docs/check.md`.

mod evaluate;
#[cfg(test)]
mod evaluate_tests;
mod model;
mod read;

use std::collections::BTreeSet;

use uuid::Uuid;

pub use evaluate::evaluate;
pub use model::{Facts, FieldInfo, Item, Report, Seats, Status};

use crate::reconcile::model::{Desired, FieldName, Known, Role, Shape, objects_of};
use crate::reconcile::names::SetNames;
use crate::reconcile::plan;
use crate::salesforce::{Org, Salesforce, SalesforceError};

/// The profile integration users get (as the reconciler looks it up).
pub const INTEGRATION_PROFILE: &str = "Minimum Access - API Only Integrations";
/// The user licence integration users take (as the reconciler looks it up).
pub const INTEGRATION_LICENSE: &str = "Salesforce Integration";

/// The system permissions the steps need of the admin behind the token: `PermissionSet`
/// field, its label in Setup, and which steps need it (sources in `docs/check.md`).
pub const REQUIRED_PERMISSIONS: &[(&str, &str, &str)] = &[
    ("PermissionsApiEnabled", "API Enabled", "every call"),
    (
        "PermissionsViewSetup",
        "View Setup and Configuration",
        "reading users, licences and permission sets",
    ),
    (
        "PermissionsManageUsers",
        "Manage Users",
        "creating and deactivating the integration user, assigning its licence",
    ),
    (
        "PermissionsManageProfilesPermsets",
        "Manage Profiles and Permission Sets",
        "creating the permission set and its grants",
    ),
    (
        "PermissionsAssignPermissionSets",
        "Assign Permission Sets",
        "assigning the permission set",
    ),
    (
        "PermissionsCustomizeApplication",
        "Customize Application",
        "creating the External Client App",
    ),
    (
        "PermissionsModifyMetadata",
        "Modify Metadata Through Metadata API Functions",
        "deploying the External Client App",
    ),
];

/// The org to check and what the connection would ask of it.
pub struct Target {
    /// The connection (a new id when the row is not written yet: names then differ).
    pub connection: Uuid,
    pub written: bool,
    pub fields: BTreeSet<FieldName>,
    pub desired: Desired,
    pub known: Known,
}

/// The whole preflight of `org` for `target`.
pub async fn run(salesforce: &Salesforce, org: &Org, target: &Target) -> Report {
    let url = org.instance_url();
    let mut items = Vec::new();
    let mut calls = 0;
    match salesforce.instance_policy().check(&url) {
        Err(e) => items.push(refused("host", &e)),
        Ok(_) => {
            items.push(host_item(&url));
            match read::read(org, &target.fields).await {
                Ok(reading) => {
                    calls = reading.api_calls;
                    items.extend(evaluate(&reading.facts, &target.fields));
                    items.push(would_create(salesforce, target));
                }
                Err(e) => items.push(refused("admin token", &e)),
            }
        }
    }
    Report::new(
        url.as_str().trim_end_matches('/').to_owned(),
        salesforce.api_version().to_owned(),
        calls,
        items,
    )
}

/// A failure that ends the preflight early, as a blocker with its code and remedy.
fn refused(name: &str, e: &SalesforceError) -> Item {
    let remedy = match e {
        SalesforceError::GovernmentCloudUnsupported { .. } => {
            "connectord does not support Government Cloud orgs"
        }
        SalesforceError::InvalidInstanceUrl { .. } => {
            "use the org's My Domain URL, https://NAME.my.salesforce.com"
        }
        SalesforceError::AdminTokenRevoked { .. } => {
            "sign in again as an admin of the org and give connectord the new refresh token"
        }
        SalesforceError::IpRestricted { .. } => {
            "let connectord's address through the org's IP restrictions (Setup > Network Access)"
        }
        _ => "see the detail; nothing was changed in the org",
    };
    Item::new(name, Status::Blocker, e.to_string(), remedy).with_code(e.error_code())
}

fn host_item(url: &url::Url) -> Item {
    let host = url.host_str().unwrap_or_default();
    let kind = if crate::salesforce::is_sandbox_host(url) {
        "a sandbox (tokens are redeemed at salesforce.sandbox_login_url after a rename)"
    } else if host.ends_with(".my.salesforce.com") {
        "a My Domain production org"
    } else {
        "accepted by the instance policy"
    };
    Item::pass("host", format!("{host}: {kind}; not Government Cloud"))
}

/// What the next passes would create in the org: the names and the permission set's grants,
/// from the planner and the naming rules the reconciler uses.
fn would_create(salesforce: &Salesforce, target: &Target) -> Item {
    let mut desired = target.desired.clone();
    desired.enabled = true;
    let steps: Vec<&str> = plan::plan(&desired, &target.known)
        .steps
        .iter()
        .map(plan::Step::name)
        .collect();
    // A connection whose active set stays is described by that set's names; otherwise by the
    // names the next set would get.
    let active = target.known.set(Role::Active);
    let (names, verb) = match active {
        Some(set) if !steps.contains(&"begin") => (SetNames::of(target.connection, set), "has"),
        _ => {
            let serial = target.known.next_serial();
            let names = SetNames::new(target.connection, serial, salesforce.username_domain());
            (names, "would create")
        }
    };
    let objects = objects_of(&target.fields).join(", ");
    let fields: Vec<&str> = target.fields.iter().map(FieldName::as_str).collect();
    let note = if target.written {
        ""
    } else {
        " (names for a connection not yet written: the real ones carry its id)"
    };
    let next = if steps.is_empty() {
        "nothing".to_owned()
    } else {
        steps.join(", ")
    };
    Item::pass(
        "would create",
        format!(
            "{verb}: user {} (profile \"{INTEGRATION_PROFILE}\", licence \"{INTEGRATION_LICENSE}\"); permission set {} granting read on [{objects}] and read on fields [{}] (nothing else); External Client App {}; next steps: {next}{note}",
            names.username,
            names.permission_set,
            fields.join(", "),
            names.app,
        ),
    )
}

/// The desired state of a connection that is not written yet.
pub fn unwritten(fields: BTreeSet<FieldName>, shape: Shape) -> Target {
    Target {
        connection: Uuid::new_v4(),
        written: false,
        desired: Desired {
            enabled: true,
            fields: fields.clone(),
            reconnect_requested_at: None,
            shape,
        },
        fields,
        known: Known::default(),
    }
}
