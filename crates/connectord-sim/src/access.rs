//! Who is calling and what they may see: the admin sees everything; any other user (the
//! client-credentials execution user) sees only what its assigned permission sets grant.

use super::errors::SfError;
use super::org::{Data, bool_field, str_field};
use super::schema::{FieldDef, ObjectDef, in_org};

/// The user a session acts as.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: String,
    /// Holds the System Administrator profile (every object and field).
    pub admin: bool,
}

impl Actor {
    /// The actor for `user_id`, judged by its profile.
    pub fn for_user(data: &Data, user_id: &str) -> Actor {
        let admin = data
            .find("User", user_id)
            .and_then(|user| str_field(user, "ProfileId"))
            .and_then(|profile| data.find("Profile", profile))
            .and_then(|profile| str_field(profile, "Name"))
            == Some("System Administrator");
        Actor {
            user_id: user_id.to_string(),
            admin,
        }
    }

    fn permission_sets<'a>(&'a self, data: &'a Data) -> impl Iterator<Item = &'a str> + 'a {
        data.table("PermissionSetAssignment")
            .iter()
            .filter(|a| str_field(a, "AssigneeId") == Some(self.user_id.as_str()))
            .filter_map(|a| str_field(a, "PermissionSetId"))
    }

    fn object_flag(&self, data: &Data, object: &ObjectDef, flag: &str) -> bool {
        let sets: Vec<&str> = self.permission_sets(data).collect();
        data.table("ObjectPermissions").iter().any(|p| {
            str_field(p, "ParentId").is_some_and(|parent| sets.contains(&parent))
                && str_field(p, "SobjectType") == Some(object.name)
                && bool_field(p, flag)
        })
    }

    /// May this actor query `object` at all?
    pub fn can_read_object(&self, data: &Data, object: &ObjectDef) -> bool {
        if !in_org(data.extra_custom_fields, object, None) {
            return false;
        }
        if self.admin {
            return true;
        }
        if object.setup {
            return matches!(object.name, "User" | "Profile");
        }
        self.object_flag(data, object, "PermissionsRead")
    }

    /// May this actor read `field` of `object` (given it can read the object)?
    pub fn can_read_field(&self, data: &Data, object: &ObjectDef, field: &FieldDef) -> bool {
        if !in_org(data.extra_custom_fields, object, Some(field)) {
            return false;
        }
        if self.admin || object.setup || !field.permissionable {
            return true;
        }
        let name = format!("{}.{}", object.name, field.name);
        if data.withheld_fields.contains(&name) {
            return false;
        }
        let sets: Vec<&str> = self.permission_sets(data).collect();
        data.table("FieldPermissions").iter().any(|p| {
            str_field(p, "ParentId").is_some_and(|parent| sets.contains(&parent))
                && str_field(p, "Field") == Some(name.as_str())
                && bool_field(p, "PermissionsRead")
        })
    }

    /// Writes need the admin, or the object permission for data objects.
    pub fn check_write(
        &self,
        data: &Data,
        object: &ObjectDef,
        action: &str,
    ) -> Result<(), SfError> {
        if self.admin {
            return Ok(());
        }
        let flag = match action {
            "create" => "PermissionsCreate",
            "delete" => "PermissionsDelete",
            _ => "PermissionsEdit",
        };
        if !object.setup && self.object_flag(data, object, flag) {
            return Ok(());
        }
        Err(SfError::bad_request(
            "INSUFFICIENT_ACCESS_OR_READONLY",
            "insufficient access rights on object id",
        ))
    }
}
