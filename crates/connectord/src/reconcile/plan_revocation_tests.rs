//! Planner cases for revocation (issue 14, items 3 and 8): access goes first on turn-off and on
//! narrowing, a deactivated user is never reactivated, a widened app policy is put back.

use super::model::*;
use super::plan::*;
use super::plan_tests::{complete, kinds, known, off, on};

const THREE: [&str; 3] = ["Account.Name", "Account.Industry", "Contact.Email"];

fn grant_ids(set: &ComponentSet, field: &str) -> String {
    let ps = set.permission_set.as_ref().expect("a permission set");
    ps.fields
        .iter()
        .find(|g| g.field.as_str() == field)
        .map(|g| g.id.clone())
        .expect("a grant")
}

#[test]
fn turning_off_first_deactivates_the_user_and_unassigns_in_one_call_before_the_app_goes() {
    let set = complete(1, Role::Active, &THREE);
    let plan = plan(&off(), &known(vec![set.clone()]));
    assert_eq!(
        kinds(&plan),
        ["retire:1", "remove_access:1", "remove_app:1", "forget:1"]
    );
    let Step::RemoveAccess { work, .. } = &plan.steps[1] else {
        panic!("access goes first: {plan:?}");
    };
    assert_eq!(work.deactivate_user, set.user.map(|u| u.id));
    assert_eq!(work.unassign, set.assignment);
    assert!(work.delete_permission_set.is_some() && work.remove_license.is_some());
}

#[test]
fn narrowing_revokes_the_removed_fields_and_objects_in_the_set_in_service_before_building() {
    let active = complete(1, Role::Active, &THREE);
    let plan = plan(&on(&["Account.Name"]), &known(vec![active.clone()]));
    assert_eq!(
        kinds(&plan)[..3],
        ["ensure:1", "begin:2", "ensure:2"],
        "{plan:?}"
    );
    let Step::EnsureAccess { work, .. } = &plan.steps[0] else {
        panic!("revocation goes first: {plan:?}");
    };
    let mut revoked = work.revoke_fields.clone();
    revoked.sort();
    let mut expected = vec![
        grant_ids(&active, "Account.Industry"),
        grant_ids(&active, "Contact.Email"),
    ];
    expected.sort();
    assert_eq!(revoked, expected);
    let contact = active
        .permission_set
        .as_ref()
        .and_then(|ps| ps.objects.iter().find(|o| o.object == "Contact"))
        .map(|o| o.id.clone());
    assert_eq!(work.revoke_objects, contact.into_iter().collect::<Vec<_>>());
    let only_revokes = AccessWork {
        revoke_fields: work.revoke_fields.clone(),
        revoke_objects: work.revoke_objects.clone(),
        ..AccessWork::default()
    };
    assert_eq!(
        *work, only_revokes,
        "nothing but revocation in the set in service"
    );
    assert_eq!(plan.phase, Phase::Recreating);
}

#[test]
fn once_revoked_the_narrowing_goes_on_to_build_the_new_set() {
    let mut active = complete(1, Role::Active, &THREE);
    if let Some(ps) = active.permission_set.as_mut() {
        ps.fields.retain(|g| g.field.as_str() == "Account.Name");
        ps.objects.retain(|o| o.object == "Account");
    }
    let plan = plan(&on(&["Account.Name"]), &known(vec![active]));
    assert_eq!(kinds(&plan)[0], "begin:2");
}

#[test]
fn widening_stays_make_before_break() {
    let plan = plan(
        &on(&THREE),
        &known(vec![complete(1, Role::Active, &["Account.Name"])]),
    );
    assert_eq!(kinds(&plan)[0], "begin:2");
    assert!(
        !kinds(&plan).contains(&"ensure:1".to_owned()),
        "the set in service is left as it is: {plan:?}"
    );
}

#[test]
fn a_user_deactivated_in_the_org_is_not_reactivated_and_needs_a_person() {
    let mut set = complete(1, Role::Active, &THREE);
    set.user.as_mut().expect("a user").active = false;
    set.assignment = None;
    let plan = plan(&on(&THREE), &known(vec![set]));
    assert_eq!(kinds(&plan), ["user_deactivated:1"]);
    assert_eq!(plan.phase, Phase::ActionRequired);
    assert!(plan.reason.contains("reconnect"), "{}", plan.reason);
}

#[test]
fn a_change_of_fields_does_not_bring_back_a_connection_whose_user_was_deactivated() {
    let mut set = complete(1, Role::Active, &THREE);
    set.user.as_mut().expect("a user").active = false;
    let plan = plan(&on(&["Account.Name", "Case.Subject"]), &known(vec![set]));
    assert_eq!(kinds(&plan), ["ensure:1", "user_deactivated:1"], "{plan:?}");
    assert_eq!(plan.phase, Phase::ActionRequired);
}

#[test]
fn a_deactivated_user_still_lets_the_connection_be_turned_off_or_reconnected() {
    let mut set = complete(1, Role::Active, &THREE);
    set.user.as_mut().expect("a user").active = false;
    let off_plan = plan(&off(), &known(vec![set.clone()]));
    assert_eq!(off_plan.phase, Phase::Deprovisioning);
    assert_eq!(kinds(&off_plan)[..2], ["retire:1", "remove_access:1"]);
    let mut desired = on(&THREE);
    desired.reconnect_requested_at = Some(chrono::Utc::now());
    let again = plan(&desired, &known(vec![set]));
    assert_eq!(again.phase, Phase::Recreating);
    assert!(kinds(&again).contains(&"begin:2".to_owned()));
}

#[test]
fn a_widened_app_policy_is_deployed_again_in_place_at_once() {
    let mut set = complete(1, Role::Active, &THREE);
    set.app_policy_drift = true;
    set.verified = false;
    let plan = plan(&on(&THREE), &known(vec![set]));
    assert_eq!(kinds(&plan), ["upgrade_now:1"], "not gradual, not waiting");
    assert_eq!(plan.phase, Phase::Provisioning);
}

#[test]
fn turned_on_again_after_teardown_began_builds_a_new_set_instead_of_blaming_the_customer() {
    // Turn-off retires the set before its first write deactivates the user; a pass cut off
    // right after that write leaves a retiring set with an inactive user.
    let mut set = complete(1, Role::Retiring, &THREE);
    set.user.as_mut().expect("a user").active = false;
    let plan = plan(&on(&THREE), &known(vec![set]));
    assert_ne!(plan.phase, Phase::ActionRequired, "{plan:?}");
    let kinds = kinds(&plan);
    assert!(
        !kinds.iter().any(|k| k.starts_with("user_deactivated")),
        "{kinds:?}"
    );
    assert_eq!(kinds[0], "remove_access:1", "{kinds:?}");
    assert!(kinds.contains(&"begin:2".to_owned()), "{kinds:?}");
}
