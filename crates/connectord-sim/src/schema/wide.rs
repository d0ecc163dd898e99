//! The wide objects: `Wide_1__c` … `Wide_5__c`, each with `Field_001__c` … `Field_250__c`
//! (text, permissionable), for measuring orgs whose product needs hundreds of fields.
//!
//! They are in the shared schema but an org has only the first `extra_custom_fields` of them
//! ([`OrgConfig::extra_custom_fields`](crate::OrgConfig)), dealt round-robin over the
//! objects: with 7, `Wide_1__c` and `Wide_2__c` have two fields each and the other three one.
//! An org seeded with none has no wide object at all.

use super::{FieldDef, FieldType, ObjectDef};

/// How many wide objects there are.
pub const WIDE_OBJECTS: u32 = 5;
/// How many fields each wide object can have.
pub const WIDE_FIELDS_PER_OBJECT: u32 = 250;

fn leak(text: String) -> &'static str {
    // The schema is built once per process (a `LazyLock`), so this leaks a fixed amount.
    Box::leak(text.into_boxed_str())
}

/// The `n`th extra field (counting from 0) as `Object.Field`: the one an org seeded with more
/// than `n` extra custom fields has. `None` past the last one.
pub fn wide_field(n: u32) -> Option<String> {
    (n < WIDE_OBJECTS * WIDE_FIELDS_PER_OBJECT).then(|| {
        format!(
            "Wide_{}__c.Field_{:03}__c",
            n % WIDE_OBJECTS + 1,
            n / WIDE_OBJECTS + 1
        )
    })
}

fn field(name: &'static str, extra: Option<u32>, required: bool) -> FieldDef {
    FieldDef {
        name,
        label: name,
        kind: FieldType::String,
        createable: true,
        updateable: true,
        required,
        permissionable: !required,
        relationship: None,
        default_bool: None,
        extra,
    }
}

pub(super) fn objects() -> Vec<ObjectDef> {
    (0..WIDE_OBJECTS)
        .map(|o| {
            let mut fields = super::objects::system_field_defs();
            fields.push(field("Name", None, true));
            fields.extend((0..WIDE_FIELDS_PER_OBJECT).map(|k| {
                let name = leak(format!("Field_{:03}__c", k + 1));
                field(name, Some(k * WIDE_OBJECTS + o), false)
            }));
            let name = leak(format!("Wide_{}__c", o + 1));
            ObjectDef {
                name,
                label: name,
                custom: true,
                setup: false,
                createable: true,
                updateable: true,
                deletable: true,
                permissionable: true,
                fields,
                children: Vec::new(),
                extra: Some(o),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::{in_org, schema};
    use super::*;

    #[test]
    fn extra_fields_are_dealt_round_robin_over_the_wide_objects() {
        assert_eq!(wide_field(0).as_deref(), Some("Wide_1__c.Field_001__c"));
        assert_eq!(wide_field(4).as_deref(), Some("Wide_5__c.Field_001__c"));
        assert_eq!(wide_field(5).as_deref(), Some("Wide_1__c.Field_002__c"));
        assert_eq!(wide_field(1249).as_deref(), Some("Wide_5__c.Field_250__c"));
        assert_eq!(wide_field(1250), None);
    }

    #[test]
    fn an_org_has_exactly_its_first_extra_fields() {
        let Some(wide2) = schema().object("Wide_2__c") else {
            panic!("Wide_2__c is in the schema")
        };
        let second = wide2.field("Field_001__c");
        assert!(in_org(2, wide2, second));
        assert!(!in_org(1, wide2, second));
        assert!(!in_org(0, wide2, None));
        let account = schema().object("Account");
        assert!(account.is_some_and(|a| in_org(0, a, a.field("Industry"))));
        assert!(wide2.field("Name").is_some_and(|f| !f.permissionable));
    }
}
