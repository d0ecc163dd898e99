//! At most one deactivated integration user per connection (issue 20 item 5): the user
//! connectord deactivated when it tore a set down is renamed and reactivated for the next set
//! instead of leaving one more deactivated user in the org for every reconnect; a user a
//! person deactivated is never reactivated.

use connectord::store::{self, Phase};
use connectord_sim::{OrgHandle, SimulatorConfig};
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::World;

const INTEGRATION_PROFILE: &str = "Minimum Access - API Only Integrations";

fn deactivated_integration_users(org: &OrgHandle) -> Vec<String> {
    org.snapshot()
        .users
        .iter()
        .filter(|u| u.profile_name == INTEGRATION_PROFILE && !u.is_active)
        .map(|u| u.id.clone())
        .collect()
}

async fn converged_ready(world: &World, id: Uuid) {
    world.converge(id).await;
    assert_eq!(
        world.phase(id).await,
        Some(Phase::Ready),
        "{}",
        world.trail(id).await
    );
}

#[sqlx::test]
async fn reconnecting_again_and_again_leaves_at_most_one_deactivated_integration_user(
    pool: PgPool,
) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &["Account.Industry"], true).await;
    converged_ready(&world, id).await;
    let first = world.status(id).await.integration_user_id.unwrap();

    for round in 1..=3 {
        store::request_reconnect(&world.pool, id).await.unwrap();
        converged_ready(&world, id).await;
        let retired = deactivated_integration_users(&org);
        assert!(retired.len() <= 1, "round {round}: {retired:?}");
        assert_eq!(org.snapshot().active_integration_users().len(), 1);
    }
    // The first set's user serves still, renamed to the newest set's username.
    let status = world.status(id).await;
    assert_eq!(status.integration_user_id.unwrap(), first);
    let snap = org.snapshot();
    let user = snap.users.iter().find(|u| u.id == first).unwrap();
    assert_eq!(user.username, status.integration_username.unwrap());
    assert!(
        user.username.ends_with(".4@integration.connectord.invalid"),
        "{}",
        user.username
    );
}

#[sqlx::test]
async fn turning_a_connection_off_and_on_again_reuses_its_retired_user(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &["Account.Industry"], true).await;
    converged_ready(&world, id).await;
    let first = world.status(id).await.integration_user_id.unwrap();

    store::set_enabled(&world.pool, id, false).await.unwrap();
    world.converge(id).await;
    assert_eq!(world.phase(id).await, Some(Phase::Disabled));
    assert_eq!(deactivated_integration_users(&org), vec![first.clone()]);
    store::set_enabled(&world.pool, id, true).await.unwrap();
    converged_ready(&world, id).await;

    assert_eq!(world.status(id).await.integration_user_id.unwrap(), first);
    assert!(deactivated_integration_users(&org).is_empty());
}

#[sqlx::test]
async fn a_user_a_person_deactivated_is_never_reused_by_later_sets(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &["Account.Industry"], true).await;
    converged_ready(&world, id).await;
    let theirs = world.status(id).await.integration_user_id.unwrap();
    org.admin_update("User", &theirs, serde_json::json!({"IsActive": false}))
        .unwrap();
    world.converge(id).await;

    for _ in 0..2 {
        store::request_reconnect(&world.pool, id).await.unwrap();
        converged_ready(&world, id).await;
        assert_ne!(world.status(id).await.integration_user_id.unwrap(), theirs);
        let snap = org.snapshot();
        assert!(!snap.users.iter().any(|u| u.id == theirs && u.is_active));
    }
}

#[sqlx::test]
async fn a_session_minted_before_the_user_was_retired_stays_dead_when_the_user_is_reused(
    pool: PgPool,
) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &["Account.Industry"], true).await;
    converged_ready(&world, id).await;
    let first = world.status(id).await.integration_user_id.unwrap();
    let old = crate::revocation::agent(&world, id, &org).await.unwrap();
    assert!(crate::revocation::reads(&old, "SELECT Industry FROM Account").await);

    // Off (the user is deactivated, the old session is not used meanwhile), then on again.
    store::set_enabled(&world.pool, id, false).await.unwrap();
    world.converge(id).await;
    store::set_enabled(&world.pool, id, true).await.unwrap();
    converged_ready(&world, id).await;
    assert_eq!(world.status(id).await.integration_user_id.unwrap(), first);

    assert!(!crate::revocation::reads(&old, "SELECT Industry FROM Account").await);
    let fresh = crate::revocation::agent(&world, id, &org).await.unwrap();
    assert!(crate::revocation::reads(&fresh, "SELECT Industry FROM Account").await);
}

#[sqlx::test]
async fn a_turn_off_cut_after_deactivating_the_user_then_turned_on_again_is_ready_not_action_required(
    pool: PgPool,
) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &["Account.Industry"], true).await;
    converged_ready(&world, id).await;
    let first = world.status(id).await.integration_user_id.unwrap();

    store::set_enabled(&world.pool, id, false).await.unwrap();
    // Only the first step (access cut: the user deactivated), as if the process died there.
    world.reconciler.reconcile_cut_after(id, 1).await.unwrap();
    store::set_enabled(&world.pool, id, true).await.unwrap();
    converged_ready(&world, id).await;

    // Our own deactivation is not taken for a person's: the user is reused, not reported.
    assert_eq!(world.status(id).await.integration_user_id.unwrap(), first);
    assert!(deactivated_integration_users(&org).is_empty());
}
