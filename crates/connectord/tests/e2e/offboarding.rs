//! Offboarding (issue 20 item 4): `connectord connection forget ID --reason TEXT` lets go of a
//! customer whose admin's grant is gone, keeps a `forgotten` event naming every component left
//! in the org, and stops `token` at once; it refuses while the grant still works.

use connectord::store;
use connectord_sim::SimulatorConfig;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::commands::connectord;
use crate::support::World;
use crate::vending::{ready, vendor};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn count(pool: &PgPool, table: &str, id: Uuid) -> i64 {
    sqlx::query_scalar(&format!(
        "SELECT count(*) FROM {table} WHERE connection_id = $1"
    ))
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test]
async fn forget_refuses_while_the_admins_grant_still_works_and_says_to_disable_first(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = ready(&world, "acme", &org).await;

    let out = connectord(
        &world,
        &["connection", "forget", &id.to_string(), "--reason", "left"],
    )
    .await;

    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("disable it first"),
        "{}",
        stderr(&out)
    );
    assert!(
        store::get_connection(&world.pool, id)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(world.phase(id).await, Some(store::Phase::Ready));
    assert_eq!(count(&world.pool, "connection_secrets", id).await, 1);
}

#[sqlx::test]
async fn forget_after_the_grant_is_revoked_removes_the_row_and_secrets_lists_what_is_left_and_stops_token(
    pool: PgPool,
) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = ready(&world, "acme", &org).await;
    let vendor = vendor(&world, &[]);
    vendor.token(id, "acme").await.expect("a token while ready");
    let status = world.status(id).await;
    org.faults().revoke_admin_refresh_token();

    let out = connectord(
        &world,
        &[
            "connection",
            "forget",
            &id.to_string(),
            "--reason",
            "customer left",
        ],
    )
    .await;

    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        store::get_connection(&world.pool, id)
            .await
            .unwrap()
            .is_none()
    );
    for table in ["connection_secrets", "component_sets", "connection_status"] {
        assert_eq!(count(&world.pool, table, id).await, 0, "{table}");
    }
    // The trail outlives the row: the forgotten event names every component by name and id.
    let events: Vec<(String, Value)> = sqlx::query_as(
        "SELECT action, detail FROM connection_events WHERE connection_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&world.pool)
    .await
    .unwrap();
    let actions: Vec<&str> = events.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions[actions.len() - 2..],
        ["forgotten", "connection_deleted"]
    );
    let detail = &events[events.len() - 2].1;
    assert_eq!(detail["reason"], "customer left");
    assert!(
        detail["cause"]
            .as_str()
            .unwrap()
            .contains("no longer accepts"),
        "{detail}"
    );
    let remnants = detail["remnants"].to_string();
    for wanted in [
        status.connected_app_name.unwrap(),
        status.permission_set_name.unwrap(),
        status.permission_set_id.unwrap(),
        status.integration_username.unwrap(),
        status.integration_user_id.unwrap(),
    ] {
        assert!(remnants.contains(&wanted), "{wanted} in {remnants}");
    }
    // Token vending stops at once, the cached token included.
    assert!(vendor.token(id, "acme").await.is_err());
    let token = connectord(&world, &["token", &id.to_string(), "--tenant", "acme"]).await;
    assert_eq!(token.status.code(), Some(1), "{}", stderr(&token));
}

#[sqlx::test]
async fn forget_of_an_unknown_id_or_without_a_reason_is_bad_input(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let unknown = Uuid::new_v4().to_string();
    let out = connectord(&world, &["connection", "forget", &unknown, "--reason", "x"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = connectord(&world, &["connection", "forget", &unknown, "--reason", " "]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[sqlx::test]
async fn forget_lists_the_retired_integration_user_kept_for_reuse(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = ready(&world, "acme", &org).await;
    let user = world.status(id).await.integration_user_id.unwrap();
    store::set_enabled(&world.pool, id, false).await.unwrap();
    world.converge(id).await;
    org.faults().revoke_admin_refresh_token();

    let out = connectord(
        &world,
        &["connection", "forget", &id.to_string(), "--reason", "gone"],
    )
    .await;

    assert!(out.status.success(), "{}", stderr(&out));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains(&format!("deactivated integration user ({user})")),
        "{printed}"
    );
}
