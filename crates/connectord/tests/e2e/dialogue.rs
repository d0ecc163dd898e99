//! The Salesforce dialogue as a real org answers it (issue 21 items 1, 2, 3, 5): consumer
//! secrets masked from the REST API, a lookup that finds nothing inside a Composite call, a new
//! app whose token is refused while it propagates, and Composite subrequests that Salesforce
//! runs in any order unless told not to.

use connectord::error_code::ErrorCode;
use connectord::reconcile::Outcome;
use connectord::store::{self, Phase};
use connectord_sim::SimulatorConfig;
use sqlx::PgPool;
use uuid::Uuid;

use crate::lifecycle::{assert_exactly_one_connection, assert_nothing_left};
use crate::support::World;

const FIELDS: [&str; 2] = ["Account.Industry", "Contact.Email"];

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

#[sqlx::test(migrations = "./migrations")]
async fn an_org_that_masks_consumer_secrets_needs_a_person_not_an_internal_retry_loop(
    pool: PgPool,
) {
    let world = World::start(pool, SimulatorConfig::default()).await;
    let org = world.org("org1");
    org.set_client_secret_in_rest_api(false);
    let id = world.add("masked", &org, &FIELDS, true).await;
    let message = fails_with(
        &world,
        id,
        Phase::ActionRequired,
        ErrorCode::ConsumerSecretAccessOff,
    )
    .await;
    for needle in ["enableClientSecretInRestApiAccess", "View Client Secret"] {
        assert!(message.contains(needle), "{message}");
    }
    // The admin turns the setting on; the next pass finishes.
    org.set_client_secret_in_rest_api(true);
    assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Ready));
    assert_exactly_one_connection(&org, &FIELDS);
}

#[sqlx::test(migrations = "./migrations")]
async fn an_org_without_the_integration_profile_names_it_instead_of_never_settling(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::default()).await;
    let org = world.org("org1");
    assert!(org.remove_setup_record("Profile", "Minimum Access - API Only Integrations"));
    let id = world.add("noprofile", &org, &FIELDS, true).await;
    let message = fails_with(
        &world,
        id,
        Phase::ActionRequired,
        ErrorCode::IntegrationProfileMissing,
    )
    .await;
    assert!(
        message.contains("Minimum Access - API Only Integrations"),
        "{message}"
    );
    store::set_enabled(&world.pool, id, false).await.unwrap();
    assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Disabled));
    assert_nothing_left(&org);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_new_app_refused_while_it_propagates_is_asked_again_and_proven(pool: PgPool) {
    let world = World::start_with(
        pool,
        SimulatorConfig::default(),
        &[("CONNECTORD__SALESFORCE__APP_TOKEN_WAIT", "5s")],
    )
    .await;
    let org = world.org("org1");
    org.set_app_propagation_grants(3);
    let id = world.add("fresh", &org, &FIELDS, true).await;
    let outcome = world
        .reconciler
        .reconcile_once(id)
        .await
        .expect("pass runs");
    assert_eq!(
        outcome,
        Outcome::Settled(Phase::Ready),
        "{}",
        world.trail(id).await
    );
    assert_exactly_one_connection(&org, &FIELDS);
}

#[sqlx::test(migrations = "./migrations")]
async fn an_app_refused_past_the_wait_is_app_token_refused_not_a_revoked_admin(pool: PgPool) {
    let world = World::start_with(
        pool,
        SimulatorConfig::default(),
        &[("CONNECTORD__SALESFORCE__APP_TOKEN_WAIT", "50ms")],
    )
    .await;
    let org = world.org("org1");
    org.set_app_propagation_grants(1_000);
    let id = world.add("stuck", &org, &FIELDS, true).await;
    let message = fails_with(&world, id, Phase::Failed, ErrorCode::AppTokenRefused).await;
    assert!(message.contains("app is not yet available"), "{message}");
    // The admin's own grant was never in question.
    assert_ne!(
        world.status(id).await.error_code.as_deref(),
        Some("admin_token_revoked")
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn build_and_teardown_hold_whatever_order_salesforce_collates_subrequests_in(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::default()).await;
    let org = world.org("org1");
    for seed in 0..6 {
        org.set_collation_seed(seed);
        let id = world
            .add(&format!("collated{seed}"), &org, &FIELDS, true)
            .await;
        // One pass each: a subrequest that ran too early would fail it (and only a retry,
        // with everything else already done, would hide that).
        assert_eq!(
            world
                .reconciler
                .reconcile_once(id)
                .await
                .expect("pass runs"),
            Outcome::Settled(Phase::Ready),
            "seed {seed}: {}",
            world.trail(id).await
        );
        assert_exactly_one_connection(&org, &FIELDS);
        store::set_enabled(&world.pool, id, false).await.unwrap();
        assert_eq!(
            world
                .reconciler
                .reconcile_once(id)
                .await
                .expect("pass runs"),
            Outcome::Settled(Phase::Disabled),
            "seed {seed}: {}",
            world.trail(id).await
        );
        assert_nothing_left(&org);
    }
}
