//! The describable schema every simulated org shares: the setup objects connectord touches and
//! a handful of standard and custom data objects with realistic fields.
//!
//! Which fields can be permissioned follows Salesforce's rules for `FieldPermissions.Field`
//! (Object Reference, "FieldPermissions"): required fields, the Id and the system audit fields
//! are always visible and have no field permission; formula and roll-up fields can be granted
//! read but never edit.

mod apps;
mod objects;
mod wide;

pub use apps::OAUTH_SCOPE_FIELDS;
pub use wide::wide_field;

use std::sync::LazyLock;

/// The system permissions a `PermissionSet` (and a profile's own permission set) carries in
/// the simulator: a few of the `Permissions*` booleans of the Object Reference's PermissionSet
/// (the admin's profile holds them all; `OrgHandle::set_admin_permission` takes one away).
pub const SYSTEM_PERMISSIONS: &[&str] = &[
    "PermissionsApiEnabled",
    "PermissionsViewSetup",
    "PermissionsManageUsers",
    "PermissionsManageProfilesPermsets",
    "PermissionsAssignPermissionSets",
    "PermissionsCustomizeApplication",
    "PermissionsModifyMetadata",
    "PermissionsModifyAllData",
];

/// The value type of a field, as `describe` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Id,
    String,
    Email,
    Boolean,
    Int,
    Double,
    Currency,
    Date,
    DateTime,
    Picklist,
    Textarea,
    Reference(&'static str),
}

impl FieldType {
    pub fn describe_name(self) -> &'static str {
        match self {
            FieldType::Id => "id",
            FieldType::String => "string",
            FieldType::Email => "email",
            FieldType::Boolean => "boolean",
            FieldType::Int => "int",
            FieldType::Double => "double",
            FieldType::Currency => "currency",
            FieldType::Date => "date",
            FieldType::DateTime => "datetime",
            FieldType::Picklist => "picklist",
            FieldType::Textarea => "textarea",
            FieldType::Reference(_) => "reference",
        }
    }
}

/// One field of an object.
#[derive(Debug, Clone)]
pub struct FieldDef {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: FieldType,
    pub createable: bool,
    pub updateable: bool,
    /// Must be given on create (`REQUIRED_FIELD_MISSING` otherwise).
    pub required: bool,
    /// May appear in `FieldPermissions.Field`.
    pub permissionable: bool,
    /// For reference fields: the relationship name used in SOQL (`Profile.Name`).
    pub relationship: Option<&'static str>,
    /// Default on create when not given.
    pub default_bool: Option<bool>,
    /// For the fields of the wide objects (`Wide_1__c`…): the field's place among them; an org
    /// has the field only when this is below its `extra_custom_fields`.
    pub extra: Option<u32>,
}

/// A parent-to-child relationship, traversed in SOQL by a subquery
/// (`SELECT Id, (SELECT Id FROM ObjectPerms) FROM PermissionSet`): the children are the
/// records of `object` whose lookup `field` holds the parent's id.
#[derive(Debug, Clone)]
pub struct ChildRelationship {
    pub name: &'static str,
    pub object: &'static str,
    pub field: &'static str,
}

/// One object of the schema.
#[derive(Debug, Clone)]
pub struct ObjectDef {
    pub name: &'static str,
    pub label: &'static str,
    pub custom: bool,
    /// Setup objects cannot share a DML transaction with data objects (`MIXED_DML_OPERATION`).
    pub setup: bool,
    pub createable: bool,
    pub updateable: bool,
    pub deletable: bool,
    /// May be named in `ObjectPermissions.SobjectType`.
    pub permissionable: bool,
    pub fields: Vec<FieldDef>,
    /// Child relationships (describe's `childRelationships`).
    pub children: Vec<ChildRelationship>,
    /// For the wide objects: the object's place among them; an org has the object only when
    /// this is below its `extra_custom_fields`.
    pub extra: Option<u32>,
}

impl ObjectDef {
    /// The field named `name`, case-insensitively (SOQL and the REST API ignore case).
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields
            .iter()
            .find(|field| field.name.eq_ignore_ascii_case(name))
    }

    /// The child relationship named `name`, case-insensitively.
    pub fn child(&self, name: &str) -> Option<&ChildRelationship> {
        self.children
            .iter()
            .find(|child| child.name.eq_ignore_ascii_case(name))
    }

    /// The reference field whose relationship name is `name`, case-insensitively.
    pub fn relationship(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|field| {
            field
                .relationship
                .is_some_and(|rel| rel.eq_ignore_ascii_case(name))
        })
    }
}

/// Does an org seeded with `extra_custom_fields` have `object` (and, when given, `field`)?
/// Everything outside the wide objects is in every org.
pub fn in_org(extra_custom_fields: u32, object: &ObjectDef, field: Option<&FieldDef>) -> bool {
    object.extra.is_none_or(|n| n < extra_custom_fields)
        && field
            .and_then(|f| f.extra)
            .is_none_or(|n| n < extra_custom_fields)
}

/// The whole schema.
#[derive(Debug)]
pub struct Schema {
    pub objects: Vec<ObjectDef>,
}

impl Schema {
    /// The object named `name`, case-insensitively.
    pub fn object(&self, name: &str) -> Option<&ObjectDef> {
        self.objects
            .iter()
            .find(|object| object.name.eq_ignore_ascii_case(name))
    }
}

/// The schema every org of the simulator holds.
pub fn schema() -> &'static Schema {
    static SCHEMA: LazyLock<Schema> = LazyLock::new(objects::build);
    &SCHEMA
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_and_system_fields_cannot_be_permissioned() {
        let account = schema().object("account").map(|o| o.name);
        assert_eq!(account, Some("Account"));
        let account = schema().object("Account").into_iter().next();
        let Some(account) = account else {
            panic!("Account is in the schema")
        };
        assert!(!account.field("Name").is_some_and(|f| f.permissionable));
        assert!(!account.field("Id").is_some_and(|f| f.permissionable));
        assert!(account.field("industry").is_some_and(|f| f.permissionable));
        assert!(account.field("Tier__c").is_some_and(|f| f.permissionable));
    }
}
