//! The rules a real org enforces on the objects connectord writes, each with the error code
//! Salesforce answers (see `crates/connectord-sim/README.md` for the sources).

mod permissions;
mod users;

use serde_json::Value;

use super::errors::SfError;
use super::org::{Data, OrgState, Record, World, bool_field, str_field};
use super::schema::ObjectDef;

/// Object-specific checks before an insert. `Ok(false)` = accepted but not stored (a
/// permission row that grants nothing).
pub fn before_insert(
    state: &mut OrgState,
    world: &World,
    object: &ObjectDef,
    record: &mut Record,
) -> Result<bool, SfError> {
    match object.name {
        "User" => users::before_write(state, world, None, record).map(|_| true),
        "PermissionSet" => permissions::permission_set(&state.data, None, record).map(|_| true),
        "ObjectPermissions" => permissions::object_permission(&state.data, None, record),
        "FieldPermissions" => permissions::field_permission(&state.data, None, record),
        "PermissionSetAssignment" => permissions::assignment(&state.data, record).map(|_| true),
        "PermissionSetLicenseAssign" => {
            permissions::license_assignment(&state.data, record).map(|_| true)
        }
        _ => Ok(true),
    }
}

/// Bookkeeping after an insert was accepted.
pub fn after_insert(state: &OrgState, world: &World, object: &ObjectDef, record: &Record) {
    if object.name == "User" {
        users::register(state, world, None, record);
    }
}

/// Object-specific checks before an update. `Ok(false)` = the row is deleted instead.
pub fn before_update(
    state: &mut OrgState,
    world: &World,
    object: &ObjectDef,
    old: &Record,
    new: &mut Record,
) -> Result<bool, SfError> {
    match object.name {
        "User" => users::before_write(state, world, Some(old), new).map(|_| true),
        "PermissionSet" => permissions::permission_set(&state.data, Some(old), new).map(|_| true),
        "ObjectPermissions" => permissions::object_permission(&state.data, Some(old), new),
        "FieldPermissions" => permissions::field_permission(&state.data, Some(old), new),
        _ => Ok(true),
    }
}

/// Bookkeeping after an update was accepted.
pub fn after_update(
    state: &OrgState,
    world: &World,
    object: &ObjectDef,
    old: &Record,
    new: &Record,
) {
    if object.name == "User" {
        users::register(state, world, Some(old), new);
    }
}

/// Object-specific checks (and cascades) before a delete.
pub fn before_delete(
    state: &mut OrgState,
    object: &ObjectDef,
    old: &Record,
) -> Result<(), SfError> {
    if object.name == "PermissionSet" {
        permissions::before_permission_set_delete(&mut state.data, old)?;
    }
    Ok(())
}

/// Recomputes derived fields: licence seat counts and users' full names.
pub fn recompute(data: &mut Data) {
    let users: Vec<Record> = data.table("User").to_vec();
    let profiles: Vec<Record> = data.table("Profile").to_vec();
    let license_of = |user: &Record| -> Option<String> {
        let profile = str_field(user, "ProfileId")?;
        profiles
            .iter()
            .find(|p| str_field(p, "Id") == Some(profile))
            .and_then(|p| str_field(p, "UserLicenseId"))
            .map(str::to_string)
    };
    let mut used: std::collections::HashMap<String, i64> = Default::default();
    for user in users.iter().filter(|u| bool_field(u, "IsActive")) {
        if let Some(license) = license_of(user) {
            *used.entry(license).or_default() += 1;
        }
    }
    if let Some(licenses) = data.tables.get_mut("UserLicense") {
        for license in licenses {
            let id = str_field(license, "Id").unwrap_or_default().to_string();
            let count = used.get(&id).copied().unwrap_or(0);
            license.insert("UsedLicenses".into(), Value::from(count));
        }
    }
    let assigns: Vec<String> = data
        .table("PermissionSetLicenseAssign")
        .iter()
        .filter_map(|a| str_field(a, "PermissionSetLicenseId").map(str::to_string))
        .collect();
    if let Some(psls) = data.tables.get_mut("PermissionSetLicense") {
        for psl in psls {
            let id = str_field(psl, "Id").unwrap_or_default().to_string();
            let count = assigns.iter().filter(|a| **a == id).count();
            psl.insert("UsedLicenses".into(), Value::from(count as i64));
        }
    }
    if let Some(users) = data.tables.get_mut("User") {
        for user in users {
            let first = str_field(user, "FirstName").unwrap_or_default();
            let last = str_field(user, "LastName").unwrap_or_default();
            let name = format!("{first} {last}").trim().to_string();
            user.insert("Name".into(), Value::String(name));
        }
    }
}

/// The licence (UserLicense id) a user's profile carries.
pub fn user_license(data: &Data, user: &Record) -> Option<String> {
    let profile = data.find("Profile", str_field(user, "ProfileId")?)?;
    str_field(profile, "UserLicenseId").map(str::to_string)
}
