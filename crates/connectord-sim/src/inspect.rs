//! Typed views of an org for tests and curl users: every record connectord cares about, and
//! the count of calls by endpoint kind. No secret appears here.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::org::{OrgState, Record, bool_field, str_field};

fn s(record: &Record, field: &str) -> String {
    str_field(record, field).unwrap_or_default().to_string()
}

fn o(record: &Record, field: &str) -> Option<String> {
    str_field(record, field).map(str::to_string)
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UserRecord {
    pub id: String,
    pub username: String,
    pub alias: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: String,
    pub profile_id: String,
    pub profile_name: String,
    pub is_active: bool,
    pub federation_identifier: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PermissionSetRecord {
    pub id: String,
    pub name: String,
    pub label: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ObjectPermissionRecord {
    pub id: String,
    pub parent_id: String,
    pub sobject_type: String,
    pub read: bool,
    pub create: bool,
    pub edit: bool,
    pub delete: bool,
    pub view_all: bool,
    pub modify_all: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FieldPermissionRecord {
    pub id: String,
    pub parent_id: String,
    pub sobject_type: String,
    pub field: String,
    pub read: bool,
    pub edit: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AssignmentRecord {
    pub id: String,
    pub assignee_id: String,
    pub permission_set_id: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LicenseAssignRecord {
    pub id: String,
    pub assignee_id: String,
    pub permission_set_license_id: String,
}

/// An External Client App with its deployed settings (never its secret).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ExternalClientAppRecord {
    pub id: String,
    pub developer_name: String,
    pub label: String,
    pub contact_email: String,
    pub distribution_state: String,
    pub oauth_scopes: Option<Vec<String>>,
    pub callback_url: Option<String>,
    pub client_credentials_enabled: bool,
    pub client_credentials_user: Option<String>,
    pub permitted_users: Option<String>,
    pub ip_relaxation: Option<String>,
    pub enabled: bool,
    pub consumer_id: Option<String>,
    pub consumer_key: Option<String>,
    /// A certificate was deployed (JWT bearer instead of a secret).
    pub has_certificate: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LicenseRecord {
    pub id: String,
    pub name: String,
    pub total: i64,
    pub used: i64,
}

/// Every record connectord touches, typed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OrgSnapshot {
    pub org_id: String,
    pub instance_url: String,
    pub users: Vec<UserRecord>,
    pub permission_sets: Vec<PermissionSetRecord>,
    pub object_permissions: Vec<ObjectPermissionRecord>,
    pub field_permissions: Vec<FieldPermissionRecord>,
    pub permission_set_assignments: Vec<AssignmentRecord>,
    pub permission_set_license_assigns: Vec<LicenseAssignRecord>,
    pub user_licenses: Vec<LicenseRecord>,
    pub permission_set_licenses: Vec<LicenseRecord>,
    pub external_client_apps: Vec<ExternalClientAppRecord>,
}

impl OrgSnapshot {
    pub fn user(&self, username: &str) -> Option<&UserRecord> {
        self.users
            .iter()
            .find(|u| u.username.eq_ignore_ascii_case(username))
    }

    /// Active users holding the API-only integration profile.
    pub fn active_integration_users(&self) -> Vec<&UserRecord> {
        self.users
            .iter()
            .filter(|u| u.is_active && u.profile_name == super::seed::INTEGRATION_PROFILE)
            .collect()
    }

    pub fn permission_set(&self, name: &str) -> Option<&PermissionSetRecord> {
        self.permission_sets.iter().find(|p| p.name == name)
    }

    /// `Object.Field` names the permission set grants read on.
    pub fn fields_granted(&self, permission_set_id: &str) -> BTreeSet<String> {
        self.field_permissions
            .iter()
            .filter(|f| f.parent_id == permission_set_id && f.read)
            .map(|f| f.field.clone())
            .collect()
    }

    /// Objects the permission set grants read on.
    pub fn objects_granted(&self, permission_set_id: &str) -> BTreeSet<String> {
        self.object_permissions
            .iter()
            .filter(|f| f.parent_id == permission_set_id && f.read)
            .map(|f| f.sobject_type.clone())
            .collect()
    }

    pub fn external_client_app(&self, developer_name: &str) -> Option<&ExternalClientAppRecord> {
        self.external_client_apps
            .iter()
            .find(|a| a.developer_name == developer_name)
    }
}

fn licenses(state: &OrgState, table: &str, name_field: &str) -> Vec<LicenseRecord> {
    state
        .data
        .table(table)
        .iter()
        .map(|r| LicenseRecord {
            id: s(r, "Id"),
            name: s(r, name_field),
            total: r
                .get("TotalLicenses")
                .and_then(serde_json::Value::as_i64)
                .unwrap_or(0),
            used: r
                .get("UsedLicenses")
                .and_then(serde_json::Value::as_i64)
                .unwrap_or(0),
        })
        .collect()
}

pub fn snapshot(state: &OrgState) -> OrgSnapshot {
    let data = &state.data;
    let profile_name = |id: &str| {
        data.find("Profile", id)
            .map(|p| s(p, "Name"))
            .unwrap_or_default()
    };
    OrgSnapshot {
        org_id: state.org_id.clone(),
        instance_url: state
            .instance_url
            .as_str()
            .trim_end_matches('/')
            .to_string(),
        users: data
            .table("User")
            .iter()
            .map(|r| UserRecord {
                id: s(r, "Id"),
                username: s(r, "Username"),
                alias: s(r, "Alias"),
                email: s(r, "Email"),
                first_name: o(r, "FirstName"),
                last_name: s(r, "LastName"),
                profile_id: s(r, "ProfileId"),
                profile_name: profile_name(&s(r, "ProfileId")),
                is_active: bool_field(r, "IsActive"),
                federation_identifier: o(r, "FederationIdentifier"),
            })
            .collect(),
        permission_sets: data
            .table("PermissionSet")
            .iter()
            .filter(|r| !owned_by_profile(data, s(r, "Id").as_str()))
            .map(|r| PermissionSetRecord {
                id: s(r, "Id"),
                name: s(r, "Name"),
                label: s(r, "Label"),
                description: o(r, "Description"),
            })
            .collect(),
        object_permissions: data
            .table("ObjectPermissions")
            .iter()
            .map(|r| ObjectPermissionRecord {
                id: s(r, "Id"),
                parent_id: s(r, "ParentId"),
                sobject_type: s(r, "SobjectType"),
                read: bool_field(r, "PermissionsRead"),
                create: bool_field(r, "PermissionsCreate"),
                edit: bool_field(r, "PermissionsEdit"),
                delete: bool_field(r, "PermissionsDelete"),
                view_all: bool_field(r, "PermissionsViewAllRecords"),
                modify_all: bool_field(r, "PermissionsModifyAllRecords"),
            })
            .collect(),
        field_permissions: data
            .table("FieldPermissions")
            .iter()
            .map(|r| FieldPermissionRecord {
                id: s(r, "Id"),
                parent_id: s(r, "ParentId"),
                sobject_type: s(r, "SobjectType"),
                field: s(r, "Field"),
                read: bool_field(r, "PermissionsRead"),
                edit: bool_field(r, "PermissionsEdit"),
            })
            .collect(),
        permission_set_assignments: data
            .table("PermissionSetAssignment")
            .iter()
            .filter(|r| !owned_by_profile(data, s(r, "PermissionSetId").as_str()))
            .map(|r| AssignmentRecord {
                id: s(r, "Id"),
                assignee_id: s(r, "AssigneeId"),
                permission_set_id: s(r, "PermissionSetId"),
            })
            .collect(),
        permission_set_license_assigns: data
            .table("PermissionSetLicenseAssign")
            .iter()
            .map(|r| LicenseAssignRecord {
                id: s(r, "Id"),
                assignee_id: s(r, "AssigneeId"),
                permission_set_license_id: s(r, "PermissionSetLicenseId"),
            })
            .collect(),
        user_licenses: licenses(state, "UserLicense", "Name"),
        permission_set_licenses: licenses(state, "PermissionSetLicense", "DeveloperName"),
        external_client_apps: data
            .ecas
            .values()
            .map(|b| ExternalClientAppRecord {
                id: b.id.clone(),
                developer_name: b.developer_name.clone(),
                label: b.label.clone(),
                contact_email: b.contact_email.clone(),
                distribution_state: b.distribution_state.clone(),
                oauth_scopes: b.oauth_settings.as_ref().map(|o| o.scopes.clone()),
                callback_url: b.global_oauth.as_ref().map(|g| g.callback_url.clone()),
                client_credentials_enabled: b
                    .global_oauth
                    .as_ref()
                    .is_some_and(|g| g.client_credentials_enabled)
                    && b.oauth_policies
                        .as_ref()
                        .is_some_and(|p| p.client_credentials_enabled),
                client_credentials_user: b
                    .oauth_policies
                    .as_ref()
                    .and_then(|p| p.client_credentials_user.clone()),
                permitted_users: b.oauth_policies.as_ref().map(|p| p.permitted_users.clone()),
                ip_relaxation: b.oauth_policies.as_ref().map(|p| p.ip_relaxation.clone()),
                enabled: b.policies.as_ref().is_some_and(|p| p.is_enabled),
                consumer_id: b.global_oauth.as_ref().map(|g| g.consumer_id.clone()),
                consumer_key: b.global_oauth.as_ref().map(|g| g.consumer_key.clone()),
                has_certificate: b.global_oauth.as_ref().is_some_and(|g| g.has_certificate),
            })
            .collect(),
    }
}

/// Calls an org answered, by endpoint kind (`token`, `query`, `sobject_create`, `composite`,
/// `composite_sobjects`, `deploy`, `deploy_status`, `oauth_credentials`, `limits`, …).
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct ApiCalls {
    pub total: u64,
    pub by_kind: BTreeMap<String, u64>,
    /// What `Sforce-Limit-Info` reports as used.
    pub api_usage: u64,
}

impl ApiCalls {
    pub fn get(&self, kind: &str) -> u64 {
        self.by_kind.get(kind).copied().unwrap_or(0)
    }
}

pub fn calls(state: &OrgState) -> ApiCalls {
    ApiCalls {
        total: state.calls_total,
        by_kind: state.calls.clone(),
        api_usage: state.api_used,
    }
}

/// A profile's own permission set (not one anybody created): left out of the snapshot.
fn owned_by_profile(data: &super::org::Data, id: &str) -> bool {
    data.find("PermissionSet", id)
        .is_some_and(|set| bool_field(set, "IsOwnedByProfile"))
}
