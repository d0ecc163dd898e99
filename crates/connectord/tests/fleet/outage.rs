//! A database outage under a running daemon, on a throwaway PostgreSQL cluster of its own
//! (`connectord::embedded_db`: never the shared server, nor this binary's own cluster).

use std::time::Duration;

use connectord::embedded_db::EmbeddedDb;
use connectord::store::{self, Phase};
use connectord_sim::SimulatorConfig;
use sqlx::postgres::PgPoolOptions;

use crate::daemons::{self, Daemon};
use crate::support::World;

#[tokio::test]
async fn the_daemon_survives_a_database_restart_and_converges_what_changed_after_it() {
    let mut cluster = tokio::task::spawn_blocking(EmbeddedDb::start)
        .await
        .unwrap()
        .expect("a throwaway cluster starts");
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&cluster.url("postgres"))
        .await
        .expect("the throwaway cluster answers");
    sqlx::query("CREATE DATABASE connectord")
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let url = cluster.url("connectord");
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(2))
        .connect(&url)
        .await
        .unwrap();
    store::migrate(&pool).await.unwrap();
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let mut daemon = Daemon::start(&world, &url, &[]).await;
    let before = world.add("acme", &org, &["Account.Industry"], true).await;
    daemons::wait_converged(&world.pool, 30, || daemon.logs()).await;

    let mut cluster = tokio::task::spawn_blocking(move || {
        cluster.stop().expect("the cluster stops");
        cluster
    })
    .await
    .unwrap();
    daemon.wait_for_readyz(503).await;
    assert!(daemon.still_running(), "{}", daemon.logs());
    let (_, why) = daemon.get("/readyz").await;
    assert!(why.contains("database unreachable"), "{why}");

    let cluster = tokio::task::spawn_blocking(move || {
        cluster
            .restart()
            .expect("the cluster starts again on its port");
        cluster
    })
    .await
    .unwrap();
    daemon.wait_until_ready().await;
    store::set_enabled(&world.pool, before, false)
        .await
        .unwrap();
    let after = world.add("globex", &org, &["Account.Name"], true).await;
    daemons::wait_converged(&world.pool, 60, || daemon.logs()).await;

    assert_eq!(world.status(before).await.phase, Phase::Disabled);
    assert_eq!(world.status(after).await.phase, Phase::Ready);
    assert!(daemon.still_running());
    daemon.signal("TERM").await;
    assert_eq!(
        daemon.exit_status().await.code(),
        Some(0),
        "{}",
        daemon.logs()
    );
    world.pool.close().await;
    tokio::task::spawn_blocking(move || drop(cluster))
        .await
        .unwrap();
}
