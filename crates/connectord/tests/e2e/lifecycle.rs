//! Each lifecycle transition, with the org's exact contents asserted afterwards.

use std::collections::BTreeSet;

use connectord::reconcile::Outcome;
use connectord::reconcile::dependencies::objects_needed;
use connectord::reconcile::model::FieldName;
use connectord::store::{self, Phase};
use connectord_sim::{OrgHandle, SimulatorConfig};
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::World;

const FIELDS: [&str; 3] = ["Account.Name", "Account.Industry", "Contact.Email"];

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The org holds exactly one app, one active integration user and one permission set that
/// grants read on exactly `fields` (and their objects, with their dependencies), assigned to
/// that user.
pub fn assert_exactly_one_connection(org: &OrgHandle, fields: &[&str]) {
    let snap = org.snapshot();
    let users = snap.active_integration_users();
    assert_eq!(users.len(), 1, "one active integration user: {:#?}", users);
    let user = users[0];
    let ours: Vec<_> = snap
        .permission_sets
        .iter()
        .filter(|p| p.name.starts_with("Connectord_"))
        .collect();
    assert_eq!(ours.len(), 1, "one permission set: {ours:#?}");
    let ps = ours[0];
    // Required fields such as Account.Name take no field permission: the object grants them.
    let permissioned: Vec<&str> = fields
        .iter()
        .copied()
        .filter(|f| *f != "Account.Name")
        .collect();
    assert_eq!(snap.fields_granted(&ps.id), set(&permissioned));
    // And the objects those need Read on (Read Contact needs Read Account).
    let parsed = fields.iter().filter_map(|f| FieldName::parse(f)).collect();
    let objects: BTreeSet<String> = objects_needed(&parsed).into_iter().collect();
    assert_eq!(snap.objects_granted(&ps.id), objects);
    for grant in snap
        .field_permissions
        .iter()
        .filter(|g| g.parent_id == ps.id)
    {
        assert!(
            grant.read && !grant.edit,
            "read-only field grant: {grant:?}"
        );
    }
    for grant in snap
        .object_permissions
        .iter()
        .filter(|g| g.parent_id == ps.id)
    {
        assert!(
            grant.read
                && !grant.create
                && !grant.edit
                && !grant.delete
                && !grant.view_all
                && !grant.modify_all,
            "read-only object grant: {grant:?}"
        );
    }
    let assigned: Vec<_> = snap
        .permission_set_assignments
        .iter()
        .filter(|a| a.permission_set_id == ps.id)
        .collect();
    assert_eq!(assigned.len(), 1);
    assert_eq!(assigned[0].assignee_id, user.id);
    assert_eq!(
        snap.external_client_apps.len(),
        1,
        "one app: {:#?}",
        snap.external_client_apps
    );
    assert_eq!(
        snap.permission_set_license_assigns
            .iter()
            .filter(|l| l.assignee_id == user.id)
            .count(),
        1
    );
}

/// Nothing of connectord's is left: no app, no permission set, no active integration user.
pub fn assert_nothing_left(org: &OrgHandle) {
    let snap = org.snapshot();
    assert!(
        snap.active_integration_users().is_empty(),
        "{:#?}",
        snap.active_integration_users()
    );
    assert!(
        !snap
            .permission_sets
            .iter()
            .any(|p| p.name.starts_with("Connectord_"))
    );
    assert!(snap.external_client_apps.is_empty());
    assert!(snap.permission_set_license_assigns.is_empty());
}

async fn ready(world: &World, id: Uuid) {
    let outcome = world.converge(id).await;
    let status = world.status(id).await;
    assert_eq!(
        outcome,
        Outcome::Settled(Phase::Ready),
        "status: {status:#?}\ntrail:\n{}",
        world.trail(id).await
    );
}

#[sqlx::test]
async fn turning_on_creates_a_verified_least_privilege_connection(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &FIELDS, true).await;
    org.reset_api_calls();

    ready(&world, id).await;

    assert_exactly_one_connection(&org, &FIELDS);
    let status = world.status(id).await;
    assert_eq!(status.phase, Phase::Ready);
    assert!(status.error_code.is_none());
    assert!(status.verified_at.is_some());
    for column in [
        &status.connected_app_name,
        &status.connected_app_id,
        &status.consumer_key,
        &status.integration_username,
        &status.integration_user_id,
        &status.permission_set_name,
        &status.permission_set_id,
    ] {
        assert!(
            column.is_some(),
            "every detail column is filled: {status:#?}"
        );
    }
    assert_eq!(
        status
            .granted_fields
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>(),
        set(&FIELDS)
    );
    // The design: one Composite call describes the objects (unknown fields fail before anything
    // is made; required fields need no grant); one Composite call creates the user, licence,
    // permission set, grants and assignment; the deploy and one status poll (whose answer names
    // the app's id); the credentials list and the key and secret; one proof read. OAuth token
    // requests do not count against the allowance, nor does the unauthenticated versions list
    // (read once per org per process).
    let calls = org.api_calls();
    println!("turn on: {} calls {:?}", calls.total, calls.by_kind);
    assert_eq!(calls.get("versions"), 1, "{calls:?}");
    assert_eq!(
        calls.total - calls.get("token") - calls.get("versions"),
        7,
        "{calls:?}"
    );
}

#[sqlx::test]
async fn turning_off_removes_everything_and_deactivates_the_user(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &FIELDS, true).await;
    ready(&world, id).await;

    store::set_enabled(&world.pool, id, false).await.unwrap();
    assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Disabled));

    assert_nothing_left(&org);
    let snap = org.snapshot();
    let username = world.status(id).await.integration_username;
    assert!(username.is_none(), "no details once disabled");
    assert!(
        snap.users
            .iter()
            .any(|u| u.username.starts_with("connectord.") && !u.is_active),
        "the user is deactivated, not deleted"
    );
    store::delete_connection(&world.pool, id)
        .await
        .expect("a disabled connection can be deleted");
}

#[sqlx::test]
async fn changing_the_fields_recreates_the_connection_make_before_break(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &FIELDS, true).await;
    ready(&world, id).await;
    let before = world.status(id).await;

    let wider = [
        "Account.Name",
        "Account.Industry",
        "Contact.Email",
        "Opportunity.Amount",
    ];
    store::set_fields(&world.pool, id, &wider.map(String::from))
        .await
        .unwrap();
    ready(&world, id).await;

    let after = world.status(id).await;
    assert_ne!(
        after.connected_app_name, before.connected_app_name,
        "a new app"
    );
    assert_ne!(
        after.integration_username, before.integration_username,
        "a new user"
    );
    assert_exactly_one_connection(&org, &wider);
    let trail = world.trail(id).await;
    let promote = trail.find("promote ok").expect("promoted");
    let old_removed = trail.rfind("remove_app ok").expect("old app removed");
    assert!(
        promote < old_removed,
        "the new set was promoted before the old one was removed:\n{trail}"
    );
}

#[sqlx::test]
async fn without_a_spare_seat_a_scope_change_breaks_before_it_makes(pool: PgPool) {
    let mut config = SimulatorConfig::with_orgs(1);
    config.orgs[0].integration_licenses = 1;
    let world = World::start(pool, config).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &FIELDS, true).await;
    ready(&world, id).await;

    store::set_fields(&world.pool, id, &["Account.Name".to_owned()])
        .await
        .unwrap();
    ready(&world, id).await;

    assert_exactly_one_connection(&org, &["Account.Name"]);
    assert!(
        world.trail(id).await.contains("no_spare_seat"),
        "{}",
        world.trail(id).await
    );
}

#[sqlx::test]
async fn reconnecting_deletes_everything_and_creates_it_anew(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &FIELDS, true).await;
    ready(&world, id).await;
    let before = world.status(id).await;

    store::request_reconnect(&world.pool, id).await.unwrap();
    ready(&world, id).await;

    let after = world.status(id).await;
    assert_ne!(after.consumer_key, before.consumer_key);
    // The user torn down is reused for the new set (issue 20 item 5): a new username, a new
    // permission set, and no deactivated user left behind.
    assert_ne!(after.integration_username, before.integration_username);
    assert_ne!(after.permission_set_id, before.permission_set_id);
    assert_exactly_one_connection(&org, &FIELDS);
    let trail = world.trail(id).await;
    let removed = trail.rfind("remove_access ok").expect("old access removed");
    let created = trail.rfind("ensure_access ok").expect("new access created");
    assert!(removed < created, "delete first, then create:\n{trail}");
}

#[sqlx::test]
async fn drift_is_repaired_and_reported(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &FIELDS, true).await;
    ready(&world, id).await;
    let status = world.status(id).await;
    let ps = status.permission_set_id.clone().unwrap();
    let snap = org.snapshot();
    // Someone removes a field grant, unassigns the permission set, and adds a grant of their own.
    let grant = snap
        .field_permissions
        .iter()
        .find(|g| g.parent_id == ps && g.field == "Contact.Email")
        .unwrap();
    org.admin_delete("FieldPermissions", &grant.id).unwrap();
    let assignment = snap
        .permission_set_assignments
        .iter()
        .find(|a| a.permission_set_id == ps)
        .unwrap();
    org.admin_delete("PermissionSetAssignment", &assignment.id)
        .unwrap();
    // An admin's own permission set assigned to the integration user is theirs to keep.
    let theirs = org
        .admin_create(
            "PermissionSet",
            serde_json::json!({"Name": "Admins_Own", "Label": "Admins own"}),
        )
        .unwrap();
    let user = status.integration_user_id.clone().unwrap();
    org.admin_create(
        "PermissionSetAssignment",
        serde_json::json!({"AssigneeId": user, "PermissionSetId": theirs}),
    )
    .unwrap();
    org.reset_api_calls();

    ready(&world, id).await;

    assert_exactly_one_connection(&org, &FIELDS);
    let snap = org.snapshot();
    assert!(
        snap.permission_set_assignments
            .iter()
            .any(|a| a.permission_set_id == theirs),
        "the admin's own assignment stays"
    );
    let trail = world.trail(id).await;
    assert!(trail.contains("drift_found"), "{trail}");
    assert!(
        trail.contains("Contact.Email"),
        "the event names what was found:\n{trail}"
    );
}

#[sqlx::test]
async fn a_settled_connection_is_checked_with_one_api_call(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &FIELDS, true).await;
    ready(&world, id).await;
    org.reset_api_calls();

    ready(&world, id).await;

    let calls = org.api_calls();
    println!("drift check: {:?}", calls.by_kind);
    assert_eq!(
        calls.total - calls.get("token"),
        1,
        "one REST call: {calls:?}"
    );
}

#[sqlx::test]
async fn an_unknown_field_needs_a_person_and_names_the_field(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world
        .add(
            "acme",
            &org,
            &["Account.Name", "Account.NoSuchField__c"],
            true,
        )
        .await;

    let outcome = world.converge(id).await;

    assert_eq!(
        outcome,
        Outcome::Failed {
            phase: Phase::ActionRequired,
            code: connectord::error_code::ErrorCode::UnknownField
        }
    );
    let status = world.status(id).await;
    assert!(
        status
            .error_message
            .as_deref()
            .unwrap_or_default()
            .contains("Account.NoSuchField__c"),
        "{status:?}"
    );
    assert!(
        org.snapshot().active_integration_users().is_empty(),
        "nothing half-made is left active"
    );
}

#[sqlx::test]
async fn a_revoked_admin_token_needs_a_person(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    org.faults().revoke_admin_refresh_token();
    let id = world.add("acme", &org, &FIELDS, true).await;

    let outcome = world.converge(id).await;

    assert_eq!(
        outcome,
        Outcome::Failed {
            phase: Phase::ActionRequired,
            code: connectord::error_code::ErrorCode::AdminTokenRevoked
        }
    );
    assert!(
        world.status(id).await.next_attempt_at.is_none(),
        "no retry until the row changes"
    );
}

#[sqlx::test]
async fn no_free_licence_needs_a_person_and_says_how_many_are_used(pool: PgPool) {
    let mut config = SimulatorConfig::with_orgs(1);
    config.orgs[0].integration_licenses = 1;
    let world = World::start(pool, config).await;
    let org = world.org("org1");
    let first = world.add("acme", &org, &["Account.Industry"], true).await;
    ready(&world, first).await;
    let second = world.add("globex", &org, &["Account.Industry"], true).await;

    let outcome = world.converge(second).await;

    assert_eq!(
        outcome,
        Outcome::Failed {
            phase: Phase::ActionRequired,
            code: connectord::error_code::ErrorCode::LicenseUnavailable
        }
    );
    let message = world.status(second).await.error_message.unwrap_or_default();
    assert!(message.contains("1 of 1"), "{message}");
    assert!(message.contains("then reconnect"), "{message}");
    assert_exactly_one_connection(&org, &["Account.Industry"]);
}
