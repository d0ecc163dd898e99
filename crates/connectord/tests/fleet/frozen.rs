//! A replica frozen mid-deploy (SIGSTOP) past its lease, while another replica takes the
//! connection over and converges it, then thawed (SIGCONT): the frozen one never writes again
//! and leaves nothing of its own in the org (issue 14, item 4).

use std::time::Duration;

use connectord_sim::{OrgConfig, SimulatorConfig};
use sqlx::PgPool;
use uuid::Uuid;

use crate::daemons::{Daemon, database_url, held_by, wait_converged};
use crate::support::{World, written};

async fn lease_epoch(pool: &PgPool, id: Uuid) -> i64 {
    sqlx::query_scalar("SELECT epoch FROM connection_leases WHERE connection_id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("lease")
}

async fn wait_for(
    what: &str,
    seconds: u64,
    logs: impl Fn() -> String,
    done: impl AsyncFn() -> bool,
) {
    for _ in 0..seconds * 10 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting until {what}\n{}", logs());
}

#[sqlx::test]
async fn a_replica_thawed_after_losing_its_lease_mid_deploy_never_writes_and_leaves_nothing_in_the_org(
    pool: PgPool,
) {
    let config = SimulatorConfig {
        orgs: vec![OrgConfig {
            integration_licenses: 4,
            ..OrgConfig::named("org1")
        }],
        ..SimulatorConfig::default()
    };
    let world = World::start(pool, config).await;
    let org = world.org("org1");
    org.faults().set_deploys_hang(true);
    let id = world.add("frozen", &org, &["Account.Industry"], true).await;
    let url = database_url(&world.pool);

    // A submits the app's deploy and polls it: the deploy hangs, A's pass waits in the poll loop.
    let a = Daemon::start(&world, &url, &[]).await;
    wait_for(
        "A polls its deploy",
        60,
        || a.logs(),
        async || org.api_calls().get("deploy_status") > 0,
    )
    .await;
    assert_eq!(held_by(&world.pool, &a.owner_pattern()).await, vec![id]);
    let a_epoch = lease_epoch(&world.pool, id).await;
    a.signal("STOP").await;

    // B takes the lapsed lease over and converges the connection, deploys going through again.
    org.faults().set_deploys_hang(false);
    let mut b = Daemon::start(&world, &url, &[]).await;
    wait_converged(&world.pool, 60, || b.logs()).await;
    wait_for(
        "B's pass has ended",
        60,
        || b.logs(),
        async || held_by(&world.pool, &b.owner_pattern()).await.is_empty(),
    )
    .await;
    assert!(lease_epoch(&world.pool, id).await > a_epoch, "B took over");
    // Only A is left to write.
    b.signal("TERM").await;
    b.exit_status().await;
    let before = written(&world.pool, id).await;
    let calls_before = org.api_calls();

    a.signal("CONT").await;
    wait_for(
        "A finds its lease lost",
        30,
        || a.logs(),
        async || a.logs().contains("lease lost"),
    )
    .await;
    // Give a stale write every chance to land.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let after = written(&world.pool, id).await;
    assert_eq!(
        after,
        before,
        "A wrote after losing its lease; log:\n{}",
        a.logs()
    );
    assert_eq!(
        org.api_calls(),
        calls_before,
        "A called the org after losing its lease; log:\n{}",
        a.logs()
    );
    let snap = org.snapshot();
    assert_eq!(snap.external_client_apps.len(), 1, "apps");
    assert_eq!(snap.active_integration_users().len(), 1, "active users");
    let sets = snap
        .permission_sets
        .iter()
        .filter(|p| p.name.starts_with("Connectord_"))
        .count();
    assert_eq!(sets, 1, "permission sets");
    assert_eq!(
        snap.permission_set_license_assigns.len(),
        1,
        "licence assignments"
    );
    assert!(a.logs().contains("lease lost"));
}

#[sqlx::test]
async fn a_deploy_that_outlasts_the_lease_keeps_it_renewed_and_every_write_lands(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    org.faults().set_deploys_hang(true);
    let id = world.add("slow", &org, &["Account.Industry"], true).await;
    let url = database_url(&world.pool);
    let a = Daemon::start(&world, &url, &[]).await;
    wait_for(
        "A polls its deploy",
        60,
        || a.logs(),
        async || org.api_calls().get("deploy_status") > 0,
    )
    .await;
    // Three lease expiries (2 s each) inside one step.
    tokio::time::sleep(Duration::from_secs(6)).await;
    org.faults().set_deploys_hang(false);
    wait_converged(&world.pool, 60, || a.logs()).await;
    assert_eq!(lease_epoch(&world.pool, id).await, 1, "never taken over");
    assert_eq!(org.api_calls().get("deploy"), 1, "one deploy");
    assert!(!a.logs().contains("lease lost"), "{}", a.logs());
}
