//! The objects and fields of the simulated schema.

use super::{ChildRelationship, FieldDef, FieldType, ObjectDef, Schema};

pub(super) struct F(FieldDef);

pub(super) fn f(name: &'static str, kind: FieldType) -> F {
    F(FieldDef {
        name,
        label: name,
        kind,
        createable: true,
        updateable: true,
        required: false,
        permissionable: true,
        relationship: None,
        default_bool: if kind == FieldType::Boolean {
            Some(false)
        } else {
            None
        },
        extra: None,
    })
}

impl F {
    /// Required on create; required fields have no field permission.
    fn required(mut self) -> Self {
        self.0.required = true;
        self.0.permissionable = false;
        self
    }
    /// Computed by the org: readable, never written through the API (formulas, names).
    pub(super) fn read_only(mut self) -> Self {
        self.0.createable = false;
        self.0.updateable = false;
        self
    }
    fn create_only(mut self) -> Self {
        self.0.updateable = false;
        self
    }
    fn unpermissionable(mut self) -> Self {
        self.0.permissionable = false;
        self
    }
    pub(super) fn rel(mut self, relationship: &'static str) -> Self {
        self.0.relationship = Some(relationship);
        self
    }
    fn default(mut self, value: bool) -> Self {
        self.0.default_bool = Some(value);
        self
    }
}

fn system_fields() -> Vec<F> {
    use FieldType::*;
    vec![
        f("Id", Id).read_only().unpermissionable(),
        f("CreatedDate", DateTime).read_only().unpermissionable(),
        f("CreatedById", Reference("User"))
            .read_only()
            .unpermissionable()
            .rel("CreatedBy"),
        f("LastModifiedDate", DateTime)
            .read_only()
            .unpermissionable(),
        f("SystemModstamp", DateTime).read_only().unpermissionable(),
        f("IsDeleted", Boolean).read_only().unpermissionable(),
    ]
}

pub(super) struct O {
    pub(super) name: &'static str,
    pub(super) label: &'static str,
    pub(super) setup: bool,
    pub(super) crud: (bool, bool, bool),
    pub(super) fields: Vec<F>,
}

pub(super) fn object(o: O) -> ObjectDef {
    let mut fields: Vec<FieldDef> = system_fields().into_iter().map(|f| f.0).collect();
    fields.extend(o.fields.into_iter().map(|f| f.0));
    ObjectDef {
        name: o.name,
        label: o.label,
        custom: o.name.ends_with("__c"),
        setup: o.setup,
        createable: o.crud.0,
        updateable: o.crud.1,
        deletable: o.crud.2,
        permissionable: !o.setup,
        fields,
        children: CHILDREN
            .iter()
            .filter(|(parent, ..)| *parent == o.name)
            .map(|&(_, name, object, field)| ChildRelationship {
                name,
                object,
                field,
            })
            .collect(),
        extra: None,
    }
}

/// The system fields every object has (for the wide objects).
pub(super) fn system_field_defs() -> Vec<FieldDef> {
    system_fields().into_iter().map(|f| f.0).collect()
}

/// Child relationships: parent object, relationship name, child object, child lookup field.
/// Names as the Object Reference gives them (PermissionSet: `ObjectPerms`, `FieldPerms`,
/// `Assignments`; User: `PermissionSetAssignments`; Account: `Contacts`, `Opportunities`,
/// `Cases`); a custom lookup's default relationship name ends in `__r`.
const CHILDREN: &[(&str, &str, &str, &str)] = &[
    (
        "PermissionSet",
        "ObjectPerms",
        "ObjectPermissions",
        "ParentId",
    ),
    (
        "PermissionSet",
        "FieldPerms",
        "FieldPermissions",
        "ParentId",
    ),
    (
        "PermissionSet",
        "Assignments",
        "PermissionSetAssignment",
        "PermissionSetId",
    ),
    (
        "User",
        "PermissionSetAssignments",
        "PermissionSetAssignment",
        "AssigneeId",
    ),
    ("Account", "Contacts", "Contact", "AccountId"),
    ("Account", "Opportunities", "Opportunity", "AccountId"),
    ("Account", "Cases", "Case", "AccountId"),
    ("Account", "Invoices__r", "Invoice__c", "Account__c"),
];

pub fn build() -> Schema {
    use FieldType::*;
    let objects = vec![
        object(O {
            name: "User",
            label: "User",
            setup: true,
            crud: (true, true, false),
            fields: vec![
                f("Username", String).required(),
                f("LastName", String).required(),
                f("FirstName", String),
                f("Name", String).read_only().unpermissionable(),
                f("Email", Email).required(),
                f("Alias", String).required(),
                f("TimeZoneSidKey", Picklist).required(),
                f("LocaleSidKey", Picklist).required(),
                f("EmailEncodingKey", Picklist).required(),
                f("ProfileId", Reference("Profile"))
                    .required()
                    .rel("Profile"),
                f("LanguageLocaleKey", Picklist).required(),
                f("IsActive", Boolean).default(true),
                f("FederationIdentifier", String),
                f("CommunityNickname", String),
                f("Title", String),
                f("UserType", Picklist).read_only(),
            ],
        }),
        object(O {
            name: "Profile",
            label: "Profile",
            setup: true,
            crud: (false, false, false),
            fields: vec![
                f("Name", String).read_only(),
                f("UserLicenseId", Reference("UserLicense"))
                    .read_only()
                    .rel("UserLicense"),
                f("UserType", Picklist).read_only(),
                f("PermissionsApiUserOnly", Boolean).read_only(),
            ],
        }),
        object(O {
            name: "UserLicense",
            label: "User License",
            setup: true,
            crud: (false, false, false),
            fields: vec![
                f("Name", String).read_only(),
                f("MasterLabel", String).read_only(),
                f("LicenseDefinitionKey", String).read_only(),
                f("TotalLicenses", Int).read_only(),
                f("UsedLicenses", Int).read_only(),
                f("Status", Picklist).read_only(),
            ],
        }),
        object(O {
            name: "PermissionSetLicense",
            label: "Permission Set License",
            setup: true,
            crud: (false, false, false),
            fields: vec![
                f("DeveloperName", String).read_only(),
                f("MasterLabel", String).read_only(),
                f("TotalLicenses", Int).read_only(),
                f("UsedLicenses", Int).read_only(),
                f("Status", Picklist).read_only(),
            ],
        }),
        object(O {
            name: "PermissionSetLicenseAssign",
            label: "Permission Set License Assignment",
            setup: true,
            crud: (true, false, true),
            fields: vec![
                f("AssigneeId", Reference("User"))
                    .required()
                    .create_only()
                    .rel("Assignee"),
                f("PermissionSetLicenseId", Reference("PermissionSetLicense"))
                    .required()
                    .create_only()
                    .rel("PermissionSetLicense"),
            ],
        }),
        object(O {
            name: "PermissionSet",
            label: "Permission Set",
            setup: true,
            crud: (true, true, true),
            fields: vec![
                f("Name", String).required(),
                f("Label", String).required(),
                f("Description", Textarea),
                f("IsOwnedByProfile", Boolean).read_only(),
                f("ProfileId", Reference("Profile"))
                    .read_only()
                    .rel("Profile"),
                f("NamespacePrefix", String).read_only(),
                f("LicenseId", Reference("UserLicense"))
                    .create_only()
                    .rel("License"),
            ]
            .into_iter()
            .chain(
                super::SYSTEM_PERMISSIONS
                    .iter()
                    .map(|name| f(name, Boolean)),
            )
            .collect(),
        }),
        object(O {
            name: "ObjectPermissions",
            label: "Object Permissions",
            setup: true,
            crud: (true, true, true),
            fields: vec![
                f("ParentId", Reference("PermissionSet"))
                    .required()
                    .create_only()
                    .rel("Parent"),
                f("SobjectType", Picklist).required().create_only(),
                f("PermissionsRead", Boolean),
                f("PermissionsCreate", Boolean),
                f("PermissionsEdit", Boolean),
                f("PermissionsDelete", Boolean),
                f("PermissionsViewAllRecords", Boolean),
                f("PermissionsModifyAllRecords", Boolean),
            ],
        }),
        object(O {
            name: "FieldPermissions",
            label: "Field Permissions",
            setup: true,
            crud: (true, true, true),
            fields: vec![
                f("ParentId", Reference("PermissionSet"))
                    .required()
                    .create_only()
                    .rel("Parent"),
                f("SobjectType", Picklist).required().create_only(),
                f("Field", Picklist).required().create_only(),
                f("PermissionsRead", Boolean),
                f("PermissionsEdit", Boolean),
            ],
        }),
        object(O {
            name: "PermissionSetAssignment",
            label: "Permission Set Assignment",
            setup: true,
            crud: (true, false, true),
            fields: vec![
                f("AssigneeId", Reference("User"))
                    .required()
                    .create_only()
                    .rel("Assignee"),
                f("PermissionSetId", Reference("PermissionSet"))
                    .required()
                    .create_only()
                    .rel("PermissionSet"),
            ],
        }),
        object(O {
            name: "Account",
            label: "Account",
            setup: false,
            crud: (true, true, true),
            fields: vec![
                f("Name", String).required(),
                f("Industry", Picklist),
                f("Phone", String),
                f("Website", String),
                f("AnnualRevenue", Currency),
                f("NumberOfEmployees", Int),
                f("Description", Textarea),
                f("OwnerId", Reference("User"))
                    .unpermissionable()
                    .rel("Owner"),
                f("Tier__c", Picklist),
                f("Health_Score__c", Double).read_only(),
            ],
        }),
        object(O {
            name: "Contact",
            label: "Contact",
            setup: false,
            crud: (true, true, true),
            fields: vec![
                f("LastName", String).required(),
                f("FirstName", String),
                f("Name", String).read_only().unpermissionable(),
                f("Email", Email),
                f("Phone", String),
                f("Title", String),
                f("AccountId", Reference("Account")).rel("Account"),
                f("OwnerId", Reference("User"))
                    .unpermissionable()
                    .rel("Owner"),
            ],
        }),
        object(O {
            name: "Opportunity",
            label: "Opportunity",
            setup: false,
            crud: (true, true, true),
            fields: vec![
                f("Name", String).required(),
                f("StageName", Picklist).required(),
                f("CloseDate", Date).required(),
                f("Amount", Currency),
                f("Probability", Double),
                f("ExpectedRevenue", Currency).read_only(),
                f("AccountId", Reference("Account")).rel("Account"),
                f("OwnerId", Reference("User"))
                    .unpermissionable()
                    .rel("Owner"),
            ],
        }),
        object(O {
            name: "Lead",
            label: "Lead",
            setup: false,
            crud: (true, true, true),
            fields: vec![
                f("LastName", String).required(),
                f("FirstName", String),
                f("Company", String).required(),
                f("Status", Picklist),
                f("Email", Email),
                f("OwnerId", Reference("User"))
                    .unpermissionable()
                    .rel("Owner"),
            ],
        }),
        object(O {
            name: "Case",
            label: "Case",
            setup: false,
            crud: (true, true, true),
            fields: vec![
                f("CaseNumber", String).read_only().unpermissionable(),
                f("Subject", String),
                f("Status", Picklist),
                f("Priority", Picklist),
                f("Description", Textarea),
                f("AccountId", Reference("Account")).rel("Account"),
                f("ContactId", Reference("Contact")).rel("Contact"),
                f("OwnerId", Reference("User"))
                    .unpermissionable()
                    .rel("Owner"),
            ],
        }),
        object(O {
            name: "Invoice__c",
            label: "Invoice",
            setup: false,
            crud: (true, true, true),
            fields: vec![
                f("Name", String).required(),
                f("Amount__c", Currency),
                f("Status__c", Picklist),
                f("Account__c", Reference("Account")).rel("Account__r"),
                f("OwnerId", Reference("User"))
                    .unpermissionable()
                    .rel("Owner"),
            ],
        }),
    ];
    let mut objects = objects;
    objects.extend(super::apps::objects());
    objects.extend(super::wide::objects());
    Schema { objects }
}
