//! The admin's grant over time (issue 20 items 1–3): refresh-token rotation, access tokens
//! reused while valid, and re-authorisation after a revoke.

use std::time::Duration;

use connectord::error_code::ErrorCode;
use connectord::reconcile::Outcome;
use connectord::store::{self, Phase};
use connectord_sim::{OrgHandle, SimulatorConfig};
use secrecy::ExposeSecret as _;
use sqlx::PgPool;
use uuid::Uuid;

use crate::lifecycle::assert_exactly_one_connection;
use crate::support::World;

const FIELDS: [&str; 2] = ["Account.Name", "Account.Industry"];

async fn settles(world: &World, id: Uuid, phase: Phase) {
    let outcome = world.converge(id).await;
    assert_eq!(
        outcome,
        Outcome::Settled(phase),
        "status: {:#?}\ntrail:\n{}",
        world.status(id).await,
        world.trail(id).await
    );
}

/// The refresh token sealed for the connection, opened.
async fn sealed_token(world: &World, id: Uuid) -> String {
    store::load_refresh_token(&world.pool, &world.reconciler.sealer, id)
        .await
        .expect("token opens")
        .expect("a token is sealed")
        .expose_secret()
        .to_owned()
}

/// The actions of the connection's audit trail, oldest first.
async fn actions(world: &World, id: Uuid) -> Vec<String> {
    let events = store::recent_events(&world.pool, id, 500)
        .await
        .expect("events");
    events.iter().rev().map(|e| e.action.clone()).collect()
}

/// Each next pass has to redeem the refresh token again: the org ends every session.
fn end_sessions(org: &OrgHandle) {
    org.faults().revoke_sessions();
}

#[sqlx::test]
async fn with_rotation_on_a_full_lifecycle_stores_each_rotated_token_and_never_reuses_one(
    pool: PgPool,
) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    org.set_refresh_token_rotation(true);
    let first = org.admin_refresh_token();
    let id = world.add("acme", &org, &FIELDS, true).await;

    settles(&world, id, Phase::Ready).await;
    let after_on = sealed_token(&world, id).await;
    assert_ne!(after_on, first, "the rotated token replaced the first one");
    assert_eq!(after_on, org.admin_refresh_token());

    end_sessions(&org);
    let more = ["Account.Name", "Account.Industry", "Contact.Email"].map(String::from);
    store::set_fields(&world.pool, id, &more)
        .await
        .expect("scope change");
    settles(&world, id, Phase::Ready).await;
    assert_exactly_one_connection(&org, &["Account.Name", "Account.Industry", "Contact.Email"]);
    let after_scope = sealed_token(&world, id).await;
    assert_ne!(after_scope, after_on);

    end_sessions(&org);
    store::request_reconnect(&world.pool, id)
        .await
        .expect("reconnect");
    settles(&world, id, Phase::Ready).await;
    let after_reconnect = sealed_token(&world, id).await;
    assert_ne!(after_reconnect, after_scope);

    end_sessions(&org);
    store::set_enabled(&world.pool, id, false)
        .await
        .expect("off");
    settles(&world, id, Phase::Disabled).await;
    assert_eq!(sealed_token(&world, id).await, org.admin_refresh_token());

    let trail = actions(&world, id).await;
    assert!(
        trail.iter().filter(|a| *a == "admin_token_rotated").count() >= 4,
        "{trail:?}"
    );
}

#[sqlx::test]
async fn resyncs_reuse_the_admin_access_token_instead_of_redeeming_the_refresh_token(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &FIELDS, true).await;
    settles(&world, id, Phase::Ready).await;
    org.reset_api_calls();

    const RESYNCS: u64 = 10;
    for _ in 0..RESYNCS {
        settles(&world, id, Phase::Ready).await;
    }

    let token_requests = org.api_calls().get("token");
    assert_eq!(
        token_requests, 0,
        "{RESYNCS} resyncs redeemed the refresh token {token_requests} times"
    );
}

#[sqlx::test]
async fn a_session_the_org_ended_is_replaced_by_one_fresh_grant_within_the_pass(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &FIELDS, true).await;
    settles(&world, id, Phase::Ready).await;
    // The next session the org hands out lives half a second; the daemon keeps it.
    org.set_access_token_ttl(Duration::from_millis(500));
    end_sessions(&org);
    settles(&world, id, Phase::Ready).await;
    org.set_access_token_ttl(Duration::from_secs(3600));
    tokio::time::sleep(Duration::from_millis(600)).await;
    org.reset_api_calls();

    // The daemon still holds the session the org has let expire.
    settles(&world, id, Phase::Ready).await;

    assert_eq!(org.api_calls().get("token"), 1, "one fresh grant, no more");
    settles(&world, id, Phase::Ready).await;
    assert_eq!(org.api_calls().get("token"), 1, "the fresh token is reused");
}

#[sqlx::test]
async fn with_rotation_on_reused_sessions_and_expiries_keep_the_connection_ready(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    org.set_refresh_token_rotation(true);
    let id = world.add("acme", &org, &FIELDS, true).await;
    settles(&world, id, Phase::Ready).await;

    for _ in 0..3 {
        settles(&world, id, Phase::Ready).await;
        end_sessions(&org);
        settles(&world, id, Phase::Ready).await;
    }

    assert_eq!(sealed_token(&world, id).await, org.admin_refresh_token());
}

#[sqlx::test]
async fn after_a_revoke_a_new_admin_token_brings_the_same_components_back_to_ready(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &FIELDS, true).await;
    settles(&world, id, Phase::Ready).await;
    let before = org.snapshot();
    let status_before = world.status(id).await;

    org.faults().revoke_admin_refresh_token();
    let outcome = world.converge(id).await;
    assert_eq!(
        outcome,
        Outcome::Failed {
            phase: Phase::ActionRequired,
            code: ErrorCode::AdminTokenRevoked
        }
    );

    let new = org.issue_admin_refresh_token();
    sqlx::query("UPDATE connections SET admin_refresh_token = $2 WHERE id = $1")
        .bind(id)
        .bind(&new)
        .execute(&world.pool)
        .await
        .expect("the product writes the new token");
    settles(&world, id, Phase::Ready).await;

    let after = org.snapshot();
    assert_eq!(
        after.external_client_apps, before.external_client_apps,
        "same app"
    );
    assert_eq!(
        after.users, before.users,
        "no second user, none deactivated"
    );
    assert_eq!(after.permission_sets, before.permission_sets);
    assert_exactly_one_connection(&org, &FIELDS);
    let status = world.status(id).await;
    assert_eq!(status.connected_app_id, status_before.connected_app_id);
    assert_eq!(
        status.integration_user_id,
        status_before.integration_user_id
    );
    assert_eq!(status.error_code, None);
    assert_eq!(sealed_token(&world, id).await, new);
    let trail = actions(&world, id).await;
    let at = |action: &str| trail.iter().position(|a| a == action);
    let (revoked, received, accepted) = (
        at("admin_token_revoked"),
        at("admin_token_received"),
        at("admin_token_accepted"),
    );
    assert!(
        revoked.is_some() && revoked < received && received < accepted,
        "{trail:?}"
    );
}
