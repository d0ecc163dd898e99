//! Object-permission dependencies in the plan (issue 21 item 6): the objects a field list
//! implies are widened by what Salesforce requires (Read Contact needs Read Account), object
//! Read only, dependencies first, and `connectord plan` says why.

use super::dependencies::{granted_for_dependencies, objects_needed};
use super::model::*;
use super::plan::*;
use super::plan_tests::{complete, ensure_work, fields, known, on};

#[test]
fn the_objects_a_field_list_needs_come_with_their_dependencies_first() {
    let cases: [(&[&str], &[&str]); 6] = [
        (&["Account.Name"], &["Account"]),
        (&["Contact.Email"], &["Account", "Contact"]),
        (&["Account.Name", "Contact.Email"], &["Account", "Contact"]),
        (
            &["Case.Subject", "Opportunity.Amount"],
            &["Account", "Case", "Opportunity"],
        ),
        (&["Lead.Email"], &["Lead"]),
        (&["contact.Email"], &["Account", "contact"]),
    ];
    for (field_list, expected) in cases {
        assert_eq!(
            objects_needed(&fields(field_list)),
            expected,
            "{field_list:?}"
        );
    }
}

#[test]
fn a_contact_field_alone_also_grants_read_on_account_and_the_plan_says_why() {
    let plan = plan(&on(&["Contact.Email"]), &known(vec![]));
    let work = ensure_work(&plan);
    assert_eq!(work.grant_objects, ["Account", "Contact"]);
    // Object read only: no field of Account is granted.
    assert_eq!(
        work.grant_fields,
        vec![FieldName::parse("Contact.Email").unwrap()]
    );
    assert_eq!(work.dependencies, ["Account (needed by Contact)"]);
    let shown = serde_json::to_string(&plan).unwrap();
    assert!(shown.contains("Account (needed by Contact)"), "{shown}");
}

#[test]
fn no_dependency_is_reported_when_the_fields_name_the_object_themselves() {
    let f = fields(&["Account.Name", "Contact.Email"]);
    assert!(granted_for_dependencies(&f, &objects_needed(&f)).is_empty());
    let plan = plan(&on(&["Account.Name", "Contact.Email"]), &known(vec![]));
    let shown = serde_json::to_string(&plan).unwrap();
    assert!(!shown.contains("dependencies"), "{shown}");
}

#[test]
fn narrowing_to_contact_fields_keeps_read_on_account() {
    let active = complete(1, Role::Active, &["Account.Name", "Contact.Email"]);
    let account = active.permission_set.as_ref().unwrap().objects[0].clone();
    assert_eq!(account.object, "Account");
    let plan = plan(&on(&["Contact.Email"]), &known(vec![active]));
    for step in &plan.steps {
        if let Step::EnsureAccess { serial: 1, work } = step {
            assert!(!work.revoke_objects.contains(&account.id), "{work:?}");
        }
    }
}

#[test]
fn a_set_missing_the_account_dependency_is_repaired_with_it() {
    let mut set = complete(1, Role::Active, &["Contact.Email"]);
    let ps = set.permission_set.as_mut().unwrap();
    ps.objects.retain(|o| o.object != "Account");
    let plan = plan(&on(&["Contact.Email"]), &known(vec![set]));
    let work = ensure_work(&plan);
    assert_eq!(work.grant_objects, ["Account"]);
}
