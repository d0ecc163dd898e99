//! The bad-input catalogue (`docs/bad-input.md`): each input gets its exact error code and
//! message, a healthy connection next to it still converges, and the org is left holding
//! nothing it should not.

use std::sync::Arc;
use std::time::Duration;

use connectord::error_code::ErrorCode;
use connectord::reconcile::{Outcome, Reconciler};
use connectord::salesforce::Salesforce;
use connectord::secrets::Sealer;
use connectord::store::{self, NewConnection, Phase};
use connectord_sim::{OrgConfig, OrgHandle, SimulatorConfig};
use secrecy::SecretString;
use sqlx::PgPool;
use uuid::Uuid;

use crate::lifecycle::{assert_exactly_one_connection, assert_nothing_left};
use crate::support::{World, fast_tuning, settings_with};

const GOOD: [&str; 2] = ["Account.Industry", "Contact.Email"];

/// A failed pass: the code, the phase it leaves, and the message.
async fn fails_with(world: &World, id: Uuid, phase: Phase, code: ErrorCode) -> String {
    let outcome = world.converge(id).await;
    assert_eq!(
        outcome,
        Outcome::Failed { phase, code },
        "{}",
        world.trail(id).await
    );
    let status = world.status(id).await;
    assert_eq!(status.error_code.as_deref(), Some(code.as_str()));
    status.error_message.unwrap_or_default()
}

/// Turning the connection off leaves the org with nothing of it.
async fn off_leaves_nothing(world: &World, id: Uuid, org: &OrgHandle) {
    store::set_enabled(&world.pool, id, false).await.unwrap();
    assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Disabled));
    assert_nothing_left(org);
}

/// A healthy connection on `org` still converges next to the bad one.
async fn others_converge(world: &World, org: &OrgHandle) {
    let id = world.add("healthy", org, &GOOD, true).await;
    assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Ready));
}

#[sqlx::test(migrations = "./migrations")]
async fn unknown_objects_fields_and_setup_objects_need_a_person_before_anything_is_made(
    pool: PgPool,
) {
    let world = World::start(pool, SimulatorConfig::with_orgs(2)).await;
    let org = world.org("org1");
    // The most fields a row may hold (migration 0013).
    let five_hundred: Vec<String> = (0..500).map(|i| format!("Account.F{i}__c")).collect();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["NoSuchObject__c.Name".into()],
            "the org has no object NoSuchObject__c",
        ),
        (
            vec!["Account.Name".into(), "Account.NoSuchField__c".into()],
            "Account.NoSuchField__c",
        ),
        (five_hundred, "Account.F0__c"),
        (vec!["User.Email".into()], "restricted picklist"),
    ];
    for (i, (fields, named)) in cases.into_iter().enumerate() {
        let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
        org.reset_api_calls();
        let id = world.add(&format!("t{i}"), &org, &refs, true).await;
        let message = fails_with(&world, id, Phase::ActionRequired, ErrorCode::UnknownField).await;
        assert!(message.contains(named), "{message}");
        assert!(message.contains("fix the field name"), "{message}");
        // Checked before anything is made, in a handful of calls even for 500 fields.
        assert_nothing_left(&org);
        assert!(org.api_calls().total < 20, "{:?}", org.api_calls());
        off_leaves_nothing(&world, id, &org).await;
    }
    others_converge(&world, &world.org("org2")).await;
}

#[sqlx::test(migrations = "./migrations")]
async fn empty_duplicate_odd_case_and_unpermissionable_fields_settle(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    // No fields: an app and a user that can read nothing yet.
    let empty = world.add("empty", &org, &[], true).await;
    assert_eq!(world.converge(empty).await, Outcome::Settled(Phase::Ready));
    assert!(world.status(empty).await.granted_fields.is_empty());
    off_leaves_nothing(&world, empty, &org).await;
    // Duplicates and odd case are one field.
    let dups = ["Account.Industry", "account.industry", "ACCOUNT.INDUSTRY"];
    let id = world.add("dups", &org, &dups, true).await;
    assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Ready));
    assert_exactly_one_connection(&org, &["Account.Industry"]);
    off_leaves_nothing(&world, id, &org).await;
    // A field that takes no field permission (read with its object) needs no grant.
    let id = world
        .add("unperm", &org, &["Account.CreatedDate", "Account.Id"], true)
        .await;
    assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Ready));
    let snap = org.snapshot();
    let ps = world.status(id).await.permission_set_id.unwrap();
    assert!(snap.fields_granted(&ps).is_empty(), "no field grant");
    assert_eq!(snap.objects_granted(&ps).len(), 1);
    off_leaves_nothing(&world, id, &org).await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_token_of_another_org_is_refused_as_a_revoked_authorisation(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(2)).await;
    let (org1, org2) = (world.org("org1"), world.org("org2"));
    let new = NewConnection {
        tenant_id: "acme".into(),
        instance_url: org1.instance_url().as_str().trim_end_matches('/').into(),
        required_fields: GOOD.iter().map(|f| f.to_string()).collect(),
        enabled: true,
    };
    let wrong = SecretString::from(org2.admin_refresh_token());
    let id = store::insert_connection(&world.pool, &world.reconciler.sealer, &new, &wrong)
        .await
        .unwrap();
    let message = fails_with(
        &world,
        id,
        Phase::ActionRequired,
        ErrorCode::AdminTokenRevoked,
    )
    .await;
    assert!(message.contains("sign in again"), "{message}");
    assert_nothing_left(&org1);
    assert_nothing_left(&org2);
    others_converge(&world, &org2).await;
}

fn org_with_seats(name: &str, seats: u32) -> OrgConfig {
    OrgConfig {
        integration_licenses: seats,
        ..OrgConfig::named(name)
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn no_integration_licence_or_no_free_seat_needs_a_person_and_leaks_nothing(pool: PgPool) {
    let config = SimulatorConfig {
        orgs: vec![org_with_seats("none", 0), org_with_seats("one", 1)],
        ..SimulatorConfig::default()
    };
    let world = World::start(pool, config).await;
    let none = world.org("none");
    let id = world.add("acme", &none, &GOOD, true).await;
    let message = fails_with(
        &world,
        id,
        Phase::ActionRequired,
        ErrorCode::LicenseUnavailable,
    )
    .await;
    assert!(message.contains("free one or buy more"), "{message}");
    assert!(none.snapshot().active_integration_users().is_empty());
    off_leaves_nothing(&world, id, &none).await;

    // All seats used: the first tenant holds the only one, the second is told why.
    let one = world.org("one");
    let first = world.add("first", &one, &GOOD, true).await;
    assert_eq!(world.converge(first).await, Outcome::Settled(Phase::Ready));
    let second = world.add("second", &one, &GOOD, true).await;
    fails_with(
        &world,
        second,
        Phase::ActionRequired,
        ErrorCode::LicenseUnavailable,
    )
    .await;
    assert_exactly_one_connection(&one, &GOOD);
    store::set_enabled(&world.pool, second, false)
        .await
        .unwrap();
    assert_eq!(
        world.converge(second).await,
        Outcome::Settled(Phase::Disabled)
    );
    assert_exactly_one_connection(&one, &GOOD);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_deploy_that_never_finishes_is_retried_later_and_then_finishes(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let mut settings = settings_with(&world.simulator, &world.key, &[]);
    settings.salesforce.allow_loopback_http = true;
    let tuning = connectord::salesforce::Tuning {
        deploy_max_wait: Duration::from_millis(200),
        ..fast_tuning()
    };
    let reconciler = Reconciler::new(
        world.pool.clone(),
        Salesforce::with_tuning(&settings.salesforce, tuning).unwrap(),
        Arc::new(Sealer::new(world.key, [])),
        &settings,
    );
    let org = world.org("org1");
    org.faults().set_deploys_hang(true);
    let id = world.add("acme", &org, &GOOD, true).await;
    let outcome = reconciler.reconcile_once(id).await.unwrap();
    assert_eq!(
        outcome,
        Outcome::Failed {
            phase: Phase::Failed,
            code: ErrorCode::DeployTimedOut
        }
    );
    let status = world.status(id).await;
    let message = status.error_message.unwrap_or_default();
    assert!(message.contains("did not finish within"), "{message}");
    assert!(status.next_attempt_at.is_some());
    org.faults().set_deploys_hang(false);
    assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Ready));
    assert_exactly_one_connection(&org, &GOOD);
}

#[sqlx::test(migrations = "./migrations")]
async fn an_org_renamed_mid_flight_is_followed_without_duplicates(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &GOOD, true).await;
    let cut = world.reconciler.reconcile_cut_after(id, 3).await.unwrap();
    assert_eq!(cut, Outcome::Interrupted);
    let renamed = org.rename("org1-renamed").await.unwrap();
    assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Ready));
    let status = world.status(id).await;
    assert_eq!(
        status.instance_url.as_deref(),
        Some(renamed.as_str().trim_end_matches('/'))
    );
    assert_exactly_one_connection(&org, &GOOD);
    off_leaves_nothing(&world, id, &org).await;
}
