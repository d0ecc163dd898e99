//! Issue 14 items 5 and 6: the row says which org; an old org is torn down before a new one is
//! built; a token answering for another org stops the connection; a network outage is not a
//! revoked token.

use connectord::error_code::ErrorCode;
use connectord::reconcile::Outcome;
use connectord::store::{self, Phase};
use connectord_sim::{OrgHandle, SimulatorConfig};
use sqlx::PgPool;
use uuid::Uuid;

use crate::lifecycle::assert_exactly_one_connection;
use crate::support::World;

fn url_of(org: &OrgHandle) -> String {
    org.instance_url().as_str().trim_end_matches('/').to_owned()
}

/// What the product does to point a row at `org`: its URL and, in the inbox, its admin's token.
async fn point_at(world: &World, id: Uuid, org: &OrgHandle) {
    sqlx::query("UPDATE connections SET instance_url = $2, admin_refresh_token = $3 WHERE id = $1")
        .bind(id)
        .bind(url_of(org))
        .bind(org.admin_refresh_token())
        .execute(&world.pool)
        .await
        .expect("re-point the row");
}

fn assert_nothing_of_ours_left(org: &OrgHandle) {
    let snap = org.snapshot();
    assert!(snap.active_integration_users().is_empty(), "{snap:#?}");
    assert!(snap.external_client_apps.is_empty(), "{snap:#?}");
    let ours = snap
        .permission_sets
        .iter()
        .filter(|p| p.name.starts_with("Connectord_"))
        .count();
    assert_eq!(ours, 0, "{snap:#?}");
}

async fn actions(world: &World, id: Uuid) -> Vec<String> {
    store::recent_events(&world.pool, id, 500)
        .await
        .expect("events")
        .into_iter()
        .rev()
        .map(|e| format!("{} {}", e.action, e.outcome))
        .collect()
}

#[sqlx::test]
async fn pointing_a_row_at_another_org_tears_down_the_old_org_before_building_in_the_new(
    pool: PgPool,
) {
    let world = World::start(pool, SimulatorConfig::with_orgs(2)).await;
    let (one, two) = (world.org("org1"), world.org("org2"));
    let id = world.add("acme", &one, &["Account.Name"], true).await;
    assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Ready));
    assert_exactly_one_connection(&one, &["Account.Name"]);

    point_at(&world, id, &two).await;
    let outcome = world.converge(id).await;
    assert_eq!(
        outcome,
        Outcome::Settled(Phase::Ready),
        "{}",
        world.trail(id).await
    );

    assert_nothing_of_ours_left(&one);
    assert_exactly_one_connection(&two, &["Account.Name"]);
    let status = world.status(id).await;
    assert_eq!(status.instance_url.as_deref(), Some(url_of(&two).as_str()));
    let trail = actions(&world, id).await;
    let left = trail.iter().position(|a| a == "old_org_left ok");
    let built = trail.iter().rposition(|a| a == "deploy_app ok");
    assert!(
        matches!((left, built), (Some(l), Some(b)) if l < b),
        "the old org is left before the new one is built: {trail:#?}"
    );
    // The org id the token answered for is recorded, by the daemon, for the new org.
    let recorded: Option<String> =
        sqlx::query_scalar("SELECT org_id FROM connection_state WHERE connection_id = $1")
            .bind(id)
            .fetch_one(&world.pool)
            .await
            .unwrap();
    assert_eq!(recorded, Some(two.org_id()));
}

#[sqlx::test]
async fn a_refused_url_fixed_in_the_row_is_used_by_the_next_pass(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &["Account.Name"], true).await;
    sqlx::query("UPDATE connections SET instance_url = 'https://acme.example.com' WHERE id = $1")
        .bind(id)
        .execute(&world.pool)
        .await
        .unwrap();
    let refused = world.reconciler.reconcile_once(id).await.unwrap();
    assert_eq!(
        refused,
        Outcome::Failed {
            phase: Phase::ActionRequired,
            code: ErrorCode::InvalidInstanceUrl
        }
    );

    sqlx::query("UPDATE connections SET instance_url = $2 WHERE id = $1")
        .bind(id)
        .bind(url_of(&org))
        .execute(&world.pool)
        .await
        .unwrap();
    assert_eq!(
        world.converge(id).await,
        Outcome::Settled(Phase::Ready),
        "{}",
        world.trail(id).await
    );
    assert_exactly_one_connection(&org, &["Account.Name"]);
}

#[sqlx::test]
async fn when_the_old_orgs_token_no_longer_works_the_remnants_are_listed_and_the_new_org_is_built(
    pool: PgPool,
) {
    let world = World::start(pool, SimulatorConfig::with_orgs(2)).await;
    let (one, two) = (world.org("org1"), world.org("org2"));
    let id = world.add("acme", &one, &["Account.Name"], true).await;
    assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Ready));
    let username = world.status(id).await.integration_username.unwrap();
    one.faults().revoke_admin_refresh_token();

    point_at(&world, id, &two).await;
    let outcome = world.reconciler.reconcile_once(id).await.unwrap();
    assert_eq!(
        outcome,
        Outcome::Failed {
            phase: Phase::ActionRequired,
            code: ErrorCode::OldOrgRemnants
        },
        "{}",
        world.trail(id).await
    );
    let status = world.status(id).await;
    let message = status.error_message.clone().unwrap_or_default();
    assert!(message.contains(&username), "{message}");
    assert!(message.contains(&url_of(&one)), "{message}");
    assert!(
        status.next_attempt_at.is_some(),
        "the new org is built at the re-check"
    );
    let trail = world.trail(id).await;
    assert!(trail.contains("old_org_remnants reported"), "{trail}");
    assert!(trail.contains(&username), "{trail}");
    // Still there: nothing could remove it, and it was reported.
    assert_eq!(one.snapshot().active_integration_users().len(), 1);

    assert_eq!(
        world.converge(id).await,
        Outcome::Settled(Phase::Ready),
        "{}",
        world.trail(id).await
    );
    assert_exactly_one_connection(&two, &["Account.Name"]);
}

#[sqlx::test]
async fn a_token_that_answers_for_another_org_stops_with_org_mismatch_and_touches_neither(
    pool: PgPool,
) {
    let world = World::start(pool, SimulatorConfig::with_orgs(2)).await;
    let (one, two) = (world.org("org1"), world.org("org2"));
    let id = world.add("acme", &one, &["Account.Name"], true).await;
    assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Ready));
    // org1's host now redirects (a rename), and someone with the product's role puts another
    // org's token in the inbox: the login host would redeem it for org2.
    one.rename("org1-renamed").await.unwrap();
    sqlx::query("UPDATE connections SET admin_refresh_token = $2 WHERE id = $1")
        .bind(id)
        .bind(two.admin_refresh_token())
        .execute(&world.pool)
        .await
        .unwrap();
    let before = two.snapshot();

    let outcome = world.reconciler.reconcile_once(id).await.unwrap();
    assert_eq!(
        outcome,
        Outcome::Failed {
            phase: Phase::ActionRequired,
            code: ErrorCode::OrgMismatch
        },
        "{}",
        world.trail(id).await
    );
    let status = world.status(id).await;
    assert_eq!(status.error_code.as_deref(), Some("org_mismatch"));
    let after = two.snapshot();
    assert_eq!(
        after.users.len(),
        before.users.len(),
        "nothing made in org2"
    );
    assert!(after.external_client_apps.is_empty());
    assert_exactly_one_connection(&one, &["Account.Name"]);
}

#[sqlx::test]
async fn a_network_outage_at_the_orgs_host_is_retried_and_the_token_never_goes_to_the_login_host(
    pool: PgPool,
) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &["Account.Name"], true).await;
    assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Ready));

    org.go_dark().await;
    org.reset_api_calls();
    let outcome = world.reconciler.reconcile_once(id).await.unwrap();
    assert_eq!(
        outcome,
        Outcome::Failed {
            phase: Phase::Failed,
            code: ErrorCode::SalesforceUnavailable
        },
        "{}",
        world.trail(id).await
    );
    // The login host redeems any org's token: it was never asked.
    assert_eq!(org.api_calls().get("token"), 0, "{:?}", org.api_calls());
    assert!(world.status(id).await.next_attempt_at.is_some());

    org.come_back().await.unwrap();
    assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Ready));
    assert_exactly_one_connection(&org, &["Account.Name"]);
}

/// Low finding: names now carry all 128 bits of the id; sets recorded under the old names
/// (no names in their state) are still found, kept and torn down under those names.
#[sqlx::test]
async fn a_set_created_under_the_old_names_is_still_found_and_torn_down(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &["Account.Name"], true).await;
    // The set was begun by an older release: its state holds no names.
    let cut = world.reconciler.reconcile_cut_after(id, 1).await.unwrap();
    assert_eq!(cut, Outcome::Interrupted);
    sqlx::query("UPDATE component_sets SET state = state - 'names' WHERE connection_id = $1")
        .bind(id)
        .execute(&world.pool)
        .await
        .unwrap();
    assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Ready));
    let hex = id.simple().to_string();
    let status = world.status(id).await;
    assert_eq!(
        status.permission_set_name.as_deref(),
        Some(format!("Connectord_{}_1", &hex[..16]).as_str())
    );

    // A later pass finds every component under the old names: nothing is rebuilt.
    org.reset_api_calls();
    assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Ready));
    assert_eq!(org.api_calls().get("deploy"), 0, "{:?}", org.api_calls());
    assert_exactly_one_connection(&org, &["Account.Name"]);

    store::set_enabled(&world.pool, id, false).await.unwrap();
    assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Disabled));
    assert_nothing_of_ours_left(&org);
}

/// Low finding: the integration username's domain is the installation's.
#[sqlx::test]
async fn integration_usernames_use_the_installations_username_domain(pool: PgPool) {
    let domain = (
        "CONNECTORD__SALESFORCE__USERNAME_DOMAIN",
        "staging.acme.example",
    );
    let world = World::start_with(pool, SimulatorConfig::with_orgs(1), &[domain]).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &["Account.Name"], true).await;
    assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Ready));
    let username = world.status(id).await.integration_username.unwrap();
    assert!(username.ends_with("@staging.acme.example"), "{username}");
    let snap = org.snapshot();
    assert_eq!(snap.active_integration_users()[0].username, username);
}
