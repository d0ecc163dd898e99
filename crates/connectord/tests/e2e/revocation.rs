//! Issue 14, items 3 and 8: access is cut first (on turn-off and on narrowing), a user the
//! customer deactivated stays deactivated, and a widened app policy is noticed within one
//! resync. The "agent" here is a client-credentials session of the connection's own app, as
//! the product's agent gets it.

use connectord::error_code::ErrorCode;
use connectord::reconcile::{Outcome, record};
use connectord::salesforce::AppSession;
use connectord::secrets::Purpose;
use connectord::store::{self, Phase};
use connectord_sim::{OrgHandle, SimulatorConfig};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::World;

const THREE: [&str; 3] = ["Account.Name", "Account.Industry", "Contact.Email"];

/// The key and secret of the connection's app in service, as the agent's vendor holds them.
async fn credentials(world: &World, id: Uuid) -> (String, secrecy::SecretString) {
    let (key, sealed) = record::active_credentials(&world.pool, id)
        .await
        .unwrap()
        .expect("credentials of the set in service");
    let secret = world
        .reconciler
        .sealer
        .open(id, Purpose::ConsumerSecret, &sealed)
        .unwrap();
    (key, secret)
}

/// A client-credentials session minted with `credentials`.
async fn session(
    world: &World,
    org: &OrgHandle,
    (key, secret): &(String, secrecy::SecretString),
) -> Result<AppSession, String> {
    world
        .reconciler
        .salesforce
        .app_session(&org.instance_url(), key, secret)
        .await
        .map_err(|e| e.to_string())
}

/// A client-credentials session of the connection's app in service, as the agent gets one.
pub(crate) async fn agent(world: &World, id: Uuid, org: &OrgHandle) -> Result<AppSession, String> {
    session(world, org, &credentials(world, id).await).await
}

pub(crate) async fn reads(session: &AppSession, soql: &str) -> bool {
    session.query::<Value>(soql).await.is_ok()
}

async fn ready(world: &World, id: Uuid) {
    let outcome = world.converge(id).await;
    assert_eq!(
        outcome,
        Outcome::Settled(Phase::Ready),
        "trail:\n{}",
        world.trail(id).await
    );
}

async fn ready_with(world: &World, org: &OrgHandle, fields: &[&str]) -> Uuid {
    let id = world.add("acme", org, fields, true).await;
    ready(world, id).await;
    id
}

#[sqlx::test]
async fn a_turned_off_connections_first_write_cuts_the_agents_access(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = ready_with(&world, &org, &THREE).await;
    let held = credentials(&world, id).await;
    let session = session(&world, &org, &held)
        .await
        .expect("the agent has a session");
    assert!(reads(&session, "SELECT Email FROM Contact").await);

    store::set_enabled(&world.pool, id, false).await.unwrap();
    // Two steps (the set is marked retiring, then the first Salesforce write), as if the
    // process died right after that write.
    world.reconciler.reconcile_cut_after(id, 2).await.unwrap();

    assert_eq!(
        org.snapshot().external_client_apps.len(),
        1,
        "the app is still there: only the first write was made"
    );
    assert!(
        !reads(&session, "SELECT Email FROM Contact").await,
        "the agent's session read after the first write"
    );
    assert!(
        self::session(&world, &org, &held).await.is_err(),
        "a new token was minted after the first write"
    );
    assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Disabled));
    let calls = org.api_calls();
    println!("turn off: {:?}", calls.by_kind);
}

#[sqlx::test]
async fn a_removed_field_is_unreadable_before_the_new_set_exists(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = ready_with(&world, &org, &THREE).await;
    let session = agent(&world, id, &org).await.unwrap();
    assert!(reads(&session, "SELECT Industry FROM Account").await);

    store::set_fields(&world.pool, id, &["Account.Name".to_owned()])
        .await
        .unwrap();
    world.reconciler.reconcile_cut_after(id, 1).await.unwrap();

    let ours = org
        .snapshot()
        .permission_sets
        .iter()
        .filter(|p| p.name.starts_with("Connectord_"))
        .count();
    assert_eq!(ours, 1, "no new set exists yet");
    assert!(!reads(&session, "SELECT Industry FROM Account").await);
    assert!(!reads(&session, "SELECT Email FROM Contact").await);
    assert!(
        reads(&session, "SELECT Name FROM Account").await,
        "what is still required stays readable"
    );
}

#[sqlx::test]
async fn a_removed_field_stays_unreadable_even_if_the_new_set_fails(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = ready_with(&world, &org, &THREE).await;
    let session = agent(&world, id, &org).await.unwrap();

    store::set_fields(&world.pool, id, &["Account.Name".to_owned()])
        .await
        .unwrap();
    org.faults()
        .fail_next_deploy("An unexpected error occurred. Please include this ErrorId");
    let outcome = world.reconciler.reconcile_once(id).await.unwrap();

    assert!(
        matches!(outcome, Outcome::Failed { .. }),
        "the new set's deploy failed: {outcome:?}"
    );
    assert!(!reads(&session, "SELECT Email FROM Contact").await);
    assert!(!reads(&session, "SELECT Industry FROM Account").await);
    let fresh = agent(&world, id, &org).await.unwrap();
    assert!(!reads(&fresh, "SELECT Email FROM Contact").await);
    assert!(reads(&fresh, "SELECT Name FROM Account").await);
}

#[sqlx::test]
async fn a_user_the_customer_deactivated_is_not_reactivated(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = ready_with(&world, &org, &THREE).await;
    let user = world.status(id).await.integration_user_id.unwrap();
    org.admin_delete("User", &user).unwrap();

    let outcome = world.converge(id).await;

    assert_eq!(
        outcome,
        Outcome::Failed {
            phase: Phase::ActionRequired,
            code: ErrorCode::IntegrationUserDeactivated
        }
    );
    let snap = org.snapshot();
    let record = snap.users.iter().find(|u| u.id == user).unwrap();
    assert!(!record.is_active, "the user stays deactivated");
    let status = world.status(id).await;
    let message = status.error_message.unwrap_or_default();
    assert!(message.contains("reconnect"), "{message}");
    assert!(
        status.next_attempt_at.is_some(),
        "looked at again: the admin may reactivate it"
    );

    // The remedy: reconnect builds a new user; the old one stays inactive.
    store::request_reconnect(&world.pool, id).await.unwrap();
    ready(&world, id).await;
    let after = world.status(id).await.integration_user_id.unwrap();
    assert_ne!(after, user);
    let snap = org.snapshot();
    assert!(!snap.users.iter().any(|u| u.id == user && u.is_active));
}

async fn app_name(world: &World, id: Uuid) -> String {
    world.status(id).await.connected_app_name.unwrap()
}

#[sqlx::test]
async fn a_run_as_user_switched_to_an_admin_is_put_back_within_one_resync(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = ready_with(&world, &org, &["Account.Industry"]).await;
    let app = app_name(&world, id).await;
    let ours = world.status(id).await.integration_username.unwrap();
    let key_before = world.status(id).await.consumer_key;
    org.admin_set_app_run_as(&app, "admin@org1.example.com")
        .unwrap();
    // The attack works: the app's tokens now read what only the admin can.
    let widened = agent(&world, id, &org).await.unwrap();
    assert!(reads(&widened, "SELECT Amount FROM Opportunity").await);

    let outcome = world.reconciler.reconcile_once(id).await.unwrap();

    assert_eq!(outcome, Outcome::Settled(Phase::Ready));
    let snap = org.snapshot();
    let deployed = snap.external_client_app(&app).unwrap();
    assert_eq!(
        deployed.client_credentials_user.as_deref(),
        Some(ours.as_str())
    );
    assert_eq!(
        world.status(id).await.consumer_key,
        key_before,
        "repaired in place"
    );
    let fresh = agent(&world, id, &org).await.unwrap();
    assert!(!reads(&fresh, "SELECT Amount FROM Opportunity").await);
    let trail = world.trail(id).await;
    assert!(
        trail.contains("drift_found") && trail.contains("run-as user"),
        "{trail}"
    );
}

#[sqlx::test]
async fn widened_app_scopes_are_put_back_within_one_resync(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = ready_with(&world, &org, &["Account.Industry"]).await;
    let app = app_name(&world, id).await;
    org.admin_set_app_scopes(&app, &["Api", "Full", "RefreshToken"])
        .unwrap();

    let outcome = world.reconciler.reconcile_once(id).await.unwrap();

    assert_eq!(outcome, Outcome::Settled(Phase::Ready));
    let snap = org.snapshot();
    let deployed = snap.external_client_app(&app).unwrap();
    assert_eq!(deployed.oauth_scopes, Some(vec!["Api".to_owned()]));
    let trail = world.trail(id).await;
    assert!(
        trail.contains("FULL") && trail.contains("REFRESH_TOKEN"),
        "{trail}"
    );
}

#[sqlx::test]
async fn an_unchanged_app_policy_is_not_drift(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = ready_with(&world, &org, &THREE).await;
    org.reset_api_calls();

    ready(&world, id).await;

    let calls = org.api_calls();
    assert_eq!(calls.total - calls.get("token"), 1, "{calls:?}");
    assert!(!world.trail(id).await.contains("drift_found"));
}
