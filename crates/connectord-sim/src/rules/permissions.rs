//! Permission sets, object and field permissions, assignments and licence assignments.

use serde_json::Value;

use super::super::errors::SfError;
use super::super::org::{Data, Record, bool_field, str_field};
use super::super::schema::{in_org, schema};
use super::super::seed::{INTEGRATION_LICENSE, INTEGRATION_PSL};
use super::user_license;

const API_NAME_RULES: &str = "The API name can only contain underscores and alphanumeric characters. It must be unique, begin with a letter, not include spaces, not end with an underscore, and not contain two consecutive underscores.";

fn valid_api_name(name: &str) -> bool {
    name.len() <= 80
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.ends_with('_')
        && !name.contains("__")
}

fn duplicate_value(existing_id: Option<&str>) -> SfError {
    SfError::bad_request(
        "DUPLICATE_VALUE",
        format!(
            "duplicate value found: <unknown> duplicates value on record with id: {}",
            existing_id.unwrap_or("<unknown>")
        ),
    )
}

pub fn permission_set(data: &Data, old: Option<&Record>, new: &mut Record) -> Result<(), SfError> {
    let name = str_field(new, "Name").unwrap_or_default().to_string();
    if name.len() > 80 {
        return Err(SfError::bad_request(
            "STRING_TOO_LONG",
            format!("API Name: data value too large: {name} (max length=80)"),
        )
        .with_fields(["Name"]));
    }
    if !valid_api_name(&name) {
        return Err(
            SfError::bad_request("FIELD_INTEGRITY_EXCEPTION", API_NAME_RULES).with_fields(["Name"]),
        );
    }
    let label = str_field(new, "Label").unwrap_or_default();
    if label.chars().count() > 80 {
        return Err(SfError::bad_request(
            "STRING_TOO_LONG",
            format!("Label: data value too large: {label} (max length=80)"),
        )
        .with_fields(["Label"]));
    }
    let own_id = old.and_then(|o| str_field(o, "Id"));
    let taken = data.table("PermissionSet").iter().any(|p| {
        str_field(p, "Id") != own_id
            && str_field(p, "Name").is_some_and(|n| n.eq_ignore_ascii_case(&name))
    });
    if taken {
        return Err(SfError::bad_request(
            "DUPLICATE_DEVELOPER_NAME",
            "The API name you entered is already in use. Enter a unique API name.",
        )
        .with_fields(["Name"]));
    }
    new.insert("IsOwnedByProfile".into(), Value::Bool(false));
    Ok(())
}

/// Canonical name of a permissionable object, or the restricted-picklist error.
fn sobject_type(data: &Data, record: &mut Record) -> Result<&'static str, SfError> {
    let given = str_field(record, "SobjectType")
        .unwrap_or_default()
        .to_string();
    let object = schema()
        .object(&given)
        .filter(|o| o.permissionable && in_org(data.extra_custom_fields, o, None))
        .ok_or_else(|| {
            SfError::bad_request(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                format!("Sobject Type Name: bad value for restricted picklist field: {given}"),
            )
            .with_fields(["SobjectType"])
        })?;
    record.insert("SobjectType".into(), Value::String(object.name.into()));
    Ok(object.name)
}

fn depends(flag: &str, needs: &[&str], record: &Record, label: &str) -> Result<(), SfError> {
    if !bool_field(record, flag) {
        return Ok(());
    }
    let missing: Vec<&str> = needs
        .iter()
        .copied()
        .filter(|n| !bool_field(record, &format!("Permissions{n}")))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(SfError::bad_request(
        "FIELD_INTEGRITY_EXCEPTION",
        format!(
            "Permission {label} depends on permission(s): {}",
            missing.join(", ")
        ),
    )
    .with_fields([flag]))
}

/// Read on the first object needs Read on the others in the same permission set (standard
/// objects; the simulator's own statement of the rule, see `crates/connectord-sim/README.md`).
const READ_NEEDS: [(&str, &str); 4] = [
    ("Contact", "Account"),
    ("Opportunity", "Account"),
    ("Case", "Account"),
    ("Contract", "Account"),
];

fn plural(label: &str) -> String {
    match label.strip_suffix('y') {
        Some(stem) => format!("{stem}ies"),
        None => format!("{label}s"),
    }
}

/// `FIELD_INTEGRITY_EXCEPTION` "Permission Read Contacts depends on permission(s): Read
/// Accounts" when the permission set does not read what `sobject` needs.
fn read_dependencies(data: &Data, sobject: &str, record: &Record) -> Result<(), SfError> {
    if !bool_field(record, "PermissionsRead") {
        return Ok(());
    }
    let parent = str_field(record, "ParentId");
    let missing: Vec<String> = READ_NEEDS
        .iter()
        .filter(|(o, _)| *o == sobject)
        .filter(|(_, need)| {
            !data.table("ObjectPermissions").iter().any(|p| {
                str_field(p, "ParentId") == parent
                    && str_field(p, "SobjectType") == Some(*need)
                    && bool_field(p, "PermissionsRead")
            })
        })
        .map(|(_, need)| format!("Read {}", plural(need)))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(SfError::bad_request(
        "FIELD_INTEGRITY_EXCEPTION",
        format!(
            "Permission Read {} depends on permission(s): {}",
            plural(sobject),
            missing.join(", ")
        ),
    )
    .with_fields(["PermissionsRead"]))
}

/// `Ok(false)`: the row grants nothing, so Salesforce does not keep it.
pub fn object_permission(
    data: &Data,
    old: Option<&Record>,
    new: &mut Record,
) -> Result<bool, SfError> {
    let sobject = sobject_type(data, new)?;
    depends("PermissionsCreate", &["Read"], new, "Create")?;
    depends("PermissionsEdit", &["Read"], new, "Edit")?;
    depends("PermissionsDelete", &["Read", "Edit"], new, "Delete")?;
    depends("PermissionsViewAllRecords", &["Read"], new, "View All")?;
    depends(
        "PermissionsModifyAllRecords",
        &["Read", "Edit", "Delete", "ViewAllRecords"],
        new,
        "Modify All",
    )?;
    read_dependencies(data, sobject, new)?;
    if old.is_none() {
        let parent = str_field(new, "ParentId");
        if let Some(dup) = data.table("ObjectPermissions").iter().find(|p| {
            str_field(p, "ParentId") == parent && str_field(p, "SobjectType") == Some(sobject)
        }) {
            return Err(duplicate_value(str_field(dup, "Id")));
        }
    }
    let flags = [
        "Read",
        "Create",
        "Edit",
        "Delete",
        "ViewAllRecords",
        "ModifyAllRecords",
    ];
    Ok(flags
        .iter()
        .any(|f| bool_field(new, &format!("Permissions{f}"))))
}

/// `Ok(false)`: the row grants nothing, so Salesforce does not keep it.
pub fn field_permission(
    data: &Data,
    old: Option<&Record>,
    new: &mut Record,
) -> Result<bool, SfError> {
    let sobject = sobject_type(data, new)?;
    let given = str_field(new, "Field").unwrap_or_default().to_string();
    let bad_field = || {
        SfError::bad_request(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            format!("Field Name: bad value for restricted picklist field: {given}"),
        )
        .with_fields(["Field"])
    };
    let (object_name, field_name) = given.split_once('.').ok_or_else(bad_field)?;
    let object = schema()
        .object(object_name)
        .filter(|o| o.permissionable)
        .ok_or_else(bad_field)?;
    let field = object
        .field(field_name)
        .filter(|f| f.permissionable && in_org(data.extra_custom_fields, object, Some(f)))
        .ok_or_else(bad_field)?;
    let canonical = format!("{}.{}", object.name, field.name);
    if object.name != sobject {
        return Err(SfError::bad_request(
            "FIELD_INTEGRITY_EXCEPTION",
            format!("Field {canonical} does not belong to SobjectType {sobject}"),
        )
        .with_fields(["Field"]));
    }
    new.insert("Field".into(), Value::String(canonical.clone()));
    depends("PermissionsEdit", &["Read"], new, "Edit")?;
    if bool_field(new, "PermissionsEdit") && !field.updateable {
        return Err(SfError::bad_request(
            "FIELD_INTEGRITY_EXCEPTION",
            format!("Field {canonical} is read-only: it can be granted Read but not Edit"),
        )
        .with_fields(["PermissionsEdit"]));
    }
    if old.is_none() {
        let parent = str_field(new, "ParentId");
        if let Some(dup) = data.table("FieldPermissions").iter().find(|p| {
            str_field(p, "ParentId") == parent && str_field(p, "Field") == Some(canonical.as_str())
        }) {
            return Err(duplicate_value(str_field(dup, "Id")));
        }
    }
    Ok(bool_field(new, "PermissionsRead") || bool_field(new, "PermissionsEdit"))
}

fn integration_license_id(data: &Data) -> Option<String> {
    data.table("UserLicense")
        .iter()
        .find(|l| str_field(l, "Name") == Some(INTEGRATION_LICENSE))
        .and_then(|l| str_field(l, "Id"))
        .map(str::to_string)
}

fn integration_psl_id(data: &Data) -> Option<String> {
    data.table("PermissionSetLicense")
        .iter()
        .find(|l| str_field(l, "DeveloperName") == Some(INTEGRATION_PSL))
        .and_then(|l| str_field(l, "Id"))
        .map(str::to_string)
}

pub fn assignment(data: &Data, record: &Record) -> Result<(), SfError> {
    let assignee = str_field(record, "AssigneeId");
    let set = str_field(record, "PermissionSetId");
    let duplicate = data
        .table("PermissionSetAssignment")
        .iter()
        .any(|a| str_field(a, "AssigneeId") == assignee && str_field(a, "PermissionSetId") == set);
    if duplicate {
        return Err(duplicate_value(None));
    }
    let Some(user) = assignee.and_then(|id| data.find("User", id)) else {
        return Ok(());
    };
    let is_integration =
        user_license(data, user).is_some_and(|l| Some(l) == integration_license_id(data));
    let grants: Option<String> = data
        .table("ObjectPermissions")
        .iter()
        .find(|p| str_field(p, "ParentId") == set && bool_field(p, "PermissionsRead"))
        .and_then(|p| str_field(p, "SobjectType"))
        .map(|o| format!("Read {o}"))
        .or_else(|| {
            data.table("FieldPermissions")
                .iter()
                .find(|p| str_field(p, "ParentId") == set)
                .and_then(|p| str_field(p, "Field"))
                .map(|f| format!("Read {f}"))
        });
    let has_psl = data.table("PermissionSetLicenseAssign").iter().any(|a| {
        str_field(a, "AssigneeId") == assignee
            && str_field(a, "PermissionSetLicenseId").map(str::to_string)
                == integration_psl_id(data)
    });
    if let (true, Some(grant), false) = (is_integration, grants, has_psl) {
        let set_name = set
            .and_then(|id| data.find("PermissionSet", id))
            .and_then(|p| str_field(p, "Name"))
            .unwrap_or_default();
        return Err(SfError::bad_request(
            "FIELD_INTEGRITY_EXCEPTION",
            format!(
                "Can't assign permission set {set_name} to user {}. The user license doesn't allow the permission: {grant}",
                str_field(user, "Username").unwrap_or_default()
            ),
        )
        .with_fields(["PermissionSetId"]));
    }
    Ok(())
}

pub fn license_assignment(data: &Data, record: &Record) -> Result<(), SfError> {
    let assignee = str_field(record, "AssigneeId");
    let psl = str_field(record, "PermissionSetLicenseId");
    let existing: Vec<&Record> = data
        .table("PermissionSetLicenseAssign")
        .iter()
        .filter(|a| str_field(a, "PermissionSetLicenseId") == psl)
        .collect();
    if existing
        .iter()
        .any(|a| str_field(a, "AssigneeId") == assignee)
    {
        return Err(duplicate_value(None));
    }
    let total = psl
        .and_then(|id| data.find("PermissionSetLicense", id))
        .and_then(|l| l.get("TotalLicenses"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if existing.len() as i64 >= total {
        return Err(SfError::bad_request(
            "LICENSE_LIMIT_EXCEEDED",
            "License Limit Exceeded",
        ));
    }
    Ok(())
}

pub fn before_permission_set_delete(data: &mut Data, old: &Record) -> Result<(), SfError> {
    let id = str_field(old, "Id").map(str::to_string);
    let assigned = data
        .table("PermissionSetAssignment")
        .iter()
        .any(|a| str_field(a, "PermissionSetId").map(str::to_string) == id);
    if assigned {
        return Err(SfError::bad_request(
            "DELETE_FAILED",
            "This permission set is assigned to one or more users. Remove the assignments before you delete it.",
        ));
    }
    for child in ["ObjectPermissions", "FieldPermissions"] {
        if let Some(rows) = data.tables.get_mut(child) {
            rows.retain(|r| str_field(r, "ParentId").map(str::to_string) != id);
        }
    }
    Ok(())
}
