//! Tearing a set's access down.

use reqwest::Method;
use serde_json::json;

use crate::reconcile::model::ComponentSet;
use crate::reconcile::plan::TeardownWork;
use crate::salesforce::{Org, SalesforceError, Subrequest};

/// Removes what `work` lists, access first, tolerating what is already gone.
pub async fn teardown(
    org: &Org,
    set: &mut ComponentSet,
    work: &TeardownWork,
) -> Result<(), SalesforceError> {
    // Access goes first: a deactivated user's tokens stop working at once, and without the
    // assignment its sessions read nothing. Not all-or-none, so each goes even if another
    // fails (what is already gone answers 404).
    let mut requests = Vec::new();
    if let Some(id) = &work.deactivate_user {
        requests.push(
            Subrequest::new(Method::PATCH, format!("sobjects/User/{id}"), "deactivate")
                .with_body(json!({ "IsActive": false })),
        );
    }
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
    let answers = org.composite_in_order(false, requests).await?;
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
