//! A My Domain rename: the old host stops answering, the login endpoint names the new one.

use connectord::reconcile::Outcome;
use connectord::store::{self, Phase};
use connectord_sim::SimulatorConfig;
use sqlx::PgPool;
use uuid::Uuid;

use crate::lifecycle::assert_exactly_one_connection;
use crate::support::World;

fn origin(url: &url::Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

async fn url_changes(world: &World, id: Uuid) -> Vec<serde_json::Value> {
    store::recent_events(&world.pool, id, 500)
        .await
        .expect("events")
        .into_iter()
        .filter(|e| e.action == "instance_url_changed")
        .map(|e| e.detail)
        .collect()
}

#[sqlx::test]
async fn an_org_renamed_between_two_passes_is_followed_and_recorded_once(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &["Account.Name"], true).await;
    assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Ready));
    let old = origin(&org.instance_url());
    assert_eq!(
        world.status(id).await.instance_url.as_deref(),
        Some(old.as_str())
    );

    let new = origin(&org.rename("acme-renamed").await.expect("rename"));
    assert_ne!(old, new);
    org.reset_api_calls();
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
    let status = world.status(id).await;
    assert_eq!(status.phase, Phase::Ready);
    assert_eq!(status.instance_url.as_deref(), Some(new.as_str()));
    assert_eq!(status.error_code, None);
    assert_eq!(status.attempts, 0);
    let changes = url_changes(&world, id).await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["from"], old.as_str());
    assert_eq!(changes[0]["to"], new.as_str());
    // One resync's worth of calls: no retry storm against the dead host's replacement.
    let first = org.api_calls();
    assert!(first.total <= 6, "{first:?}");

    // Later passes start from the new URL: nothing more to follow, no more events.
    org.reset_api_calls();
    for _ in 0..3 {
        let outcome = world
            .reconciler
            .reconcile_once(id)
            .await
            .expect("pass runs");
        assert_eq!(outcome, Outcome::Settled(Phase::Ready));
    }
    assert_eq!(url_changes(&world, id).await.len(), 1);
    let later = org.api_calls();
    // The admin token taken at the new URL is reused (issue 20): no token request at all.
    assert_eq!(
        later.get("token"),
        0,
        "the admin token is reused: {later:?}"
    );
    assert_eq!(
        world.status(id).await.instance_url.as_deref(),
        Some(new.as_str())
    );
    // The row keeps what the product wrote; the status says what is in use.
    let row = store::get_connection(&world.pool, id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(row.instance_url, old);
    assert_exactly_one_connection(&org, &["Account.Name"]);
}

#[sqlx::test]
async fn an_org_renamed_in_the_middle_of_a_pass_settles_at_the_new_url(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &["Account.Name"], true).await;
    // The deploy stays in progress until the org has moved.
    org.faults().set_deploys_hang(true);
    let reconciler = world.reconciler.clone();
    let pass = tokio::spawn(async move { reconciler.reconcile_once(id).await });
    while org.api_calls().get("deploy_status") == 0 {
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let new = origin(&org.rename("acme-renamed").await.expect("rename"));
    org.faults().set_deploys_hang(false);
    // The host stopped answering mid-session: the client takes a fresh token, which names the
    // new URL, and the same pass carries on there.
    let outcome = pass.await.expect("joins").expect("pass runs");
    assert_eq!(
        outcome,
        Outcome::Settled(Phase::Ready),
        "{}",
        world.trail(id).await
    );
    let status = world.status(id).await;
    assert_eq!(status.instance_url.as_deref(), Some(new.as_str()));
    assert_eq!(status.attempts, 0);
    assert_eq!(url_changes(&world, id).await.len(), 1);
    assert_exactly_one_connection(&org, &["Account.Name"]);
}
