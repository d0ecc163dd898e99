//! IP restrictions: the status says `ip_restricted` with the remedy that fits, and the app's
//! IP relaxation policy is configuration.

use connectord::config::IpRelaxation;
use connectord::reconcile::Outcome;
use connectord::store::{self, Phase};
use connectord_sim::{IpRestrictions, SimulatorConfig};
use sqlx::PgPool;

use crate::lifecycle::assert_exactly_one_connection;
use crate::support::World;

const BYPASS: (&str, &str) = ("CONNECTORD__SALESFORCE__IP_RELAXATION", "bypass");

#[sqlx::test]
async fn ip_restrictions_that_refuse_the_app_say_so_and_bypass_lifts_them_in_place(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    org.faults().set_ip_restrictions(IpRestrictions::Apps);
    let id = world.add("acme", &org, &["Account.Name"], true).await;

    let outcome = world
        .reconciler
        .reconcile_once(id)
        .await
        .expect("pass runs");
    assert_eq!(
        outcome,
        Outcome::Failed {
            phase: Phase::ActionRequired,
            code: connectord::error_code::ErrorCode::IpRestricted
        },
        "{}",
        world.trail(id).await
    );
    let status = world.status(id).await;
    assert_eq!(status.error_code.as_deref(), Some("ip_restricted"));
    let message = status.error_message.clone().unwrap_or_default();
    assert!(message.contains("Network Access"), "{message}");
    assert!(message.contains("connection ip-relaxation"), "{message}");
    // Nothing in connectord's tables will announce the remedy: a slow re-check is planned.
    let recheck = status.next_attempt_at.expect("a re-check is planned");
    assert!(recheck > chrono::Utc::now() + chrono::Duration::minutes(5));
    let app = org.snapshot().external_client_apps[0].clone();
    assert_eq!(app.ip_relaxation.as_deref(), Some("Enforce"));

    // A re-check under the same policy fails the same way, with a handful of calls.
    org.reset_api_calls();
    let again = world
        .reconciler
        .reconcile_once(id)
        .await
        .expect("pass runs");
    assert!(matches!(again, Outcome::Failed { .. }));
    assert!(org.api_calls().total <= 8, "{:?}", org.api_calls());

    // The operator relaxes the app's policy: the same app is updated, and the set proven.
    let mut relaxed = world.reconciler.clone();
    relaxed.ip_relaxation = IpRelaxation::Bypass;
    let outcome = relaxed.reconcile_once(id).await.expect("pass runs");
    assert_eq!(
        outcome,
        Outcome::Settled(Phase::Ready),
        "{}",
        world.trail(id).await
    );
    let status = world.status(id).await;
    assert_eq!(status.error_code, None);
    assert!(status.verified_at.is_some());
    let after = org.snapshot().external_client_apps[0].clone();
    assert_eq!(after.ip_relaxation.as_deref(), Some("Bypass"));
    assert_eq!(after.id, app.id, "updated in place");
    assert_eq!(after.consumer_key, app.consumer_key);
    assert!(world.trail(id).await.contains("upgrade_app ok"));
    assert_exactly_one_connection(&org, &["Account.Name"]);
}

#[sqlx::test]
async fn with_bypass_configured_new_apps_pass_the_org_ip_restrictions(pool: PgPool) {
    let world = World::start_with(pool, SimulatorConfig::with_orgs(1), &[BYPASS]).await;
    let org = world.org("org1");
    org.faults().set_ip_restrictions(IpRestrictions::Apps);
    let id = world.add("acme", &org, &["Account.Name"], true).await;
    assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Ready));
    let apps = org.snapshot().external_client_apps;
    assert_eq!(apps[0].ip_relaxation.as_deref(), Some("Bypass"));
    assert_eq!(world.trail(id).await.matches("upgrade_app").count(), 0);
}

#[sqlx::test]
async fn ip_restrictions_on_the_admin_authorization_name_only_the_org_side_remedy(pool: PgPool) {
    let world = World::start_with(pool, SimulatorConfig::with_orgs(1), &[BYPASS]).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &["Account.Name"], true).await;
    assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Ready));
    org.faults().set_ip_restrictions(IpRestrictions::Everything);

    let outcome = world
        .reconciler
        .reconcile_once(id)
        .await
        .expect("pass runs");
    assert!(
        matches!(
            outcome,
            Outcome::Failed {
                phase: Phase::ActionRequired,
                ..
            }
        ),
        "{outcome:?}"
    );
    let status = world.status(id).await;
    assert_eq!(status.error_code.as_deref(), Some("ip_restricted"));
    let message = status.error_message.unwrap_or_default();
    assert!(message.contains("Network Access"), "{message}");
    assert!(!message.contains("ip-relaxation"), "{message}");
    // The components stay as they were.
    assert_exactly_one_connection(&org, &["Account.Name"]);

    org.faults().set_ip_restrictions(IpRestrictions::Off);
    let outcome = world
        .reconciler
        .reconcile_once(id)
        .await
        .expect("pass runs");
    assert_eq!(outcome, Outcome::Settled(Phase::Ready));
}

/// Issue 14 item 7: the policy is the connection's, not the installation's.
#[sqlx::test]
async fn bypass_for_one_tenant_leaves_every_other_tenants_app_enforcing(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(2)).await;
    let (one, two) = (world.org("org1"), world.org("org2"));
    let a = world.add("acme", &one, &["Account.Name"], true).await;
    let b = world.add("globex", &two, &["Account.Name"], true).await;
    for id in [a, b] {
        assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Ready));
    }
    let before = store::get_connection(&world.pool, a)
        .await
        .unwrap()
        .unwrap();

    // The product relaxes acme's connection, through its own database role.
    let mut conn = world.pool.acquire().await.unwrap();
    sqlx::query("SET ROLE connectord_product")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("UPDATE connections SET ip_relaxation = 'bypass' WHERE id = $1")
        .bind(a)
        .execute(&mut *conn)
        .await
        .expect("the product role may set the policy");
    let refused = sqlx::query("UPDATE connections SET ip_relaxation = 'open' WHERE id = $1")
        .bind(a)
        .execute(&mut *conn)
        .await
        .expect_err("only enforce or bypass");
    assert!(refused.to_string().contains("ip_relaxation"), "{refused}");
    sqlx::query("RESET ROLE").execute(&mut *conn).await.unwrap();
    drop(conn);
    let after = store::get_connection(&world.pool, a)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.generation, before.generation + 1, "a desired change");

    for id in [a, b] {
        assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Ready));
    }
    let relaxed = one.snapshot().external_client_apps;
    let untouched = two.snapshot().external_client_apps;
    assert_eq!(relaxed[0].ip_relaxation.as_deref(), Some("Bypass"));
    assert_eq!(untouched[0].ip_relaxation.as_deref(), Some("Enforce"));
    assert!(world.trail(a).await.contains("upgrade_app ok"));
    assert_eq!(world.trail(b).await.matches("upgrade_app").count(), 0);

    // Back to the installation's default: enforced again, in place.
    store::set_ip_relaxation(&world.pool, a, None)
        .await
        .unwrap();
    assert_eq!(world.converge(a).await, Outcome::Settled(Phase::Ready));
    let back = one.snapshot().external_client_apps;
    assert_eq!(back[0].ip_relaxation.as_deref(), Some("Enforce"));
    assert_eq!(back[0].id, relaxed[0].id, "updated in place");
}
