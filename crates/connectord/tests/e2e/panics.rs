//! A pass that panics (a bug) must not take its lease with it, nor the daemon: the lease is
//! released, the connection says `internal_panic`, and the process goes on serving the others.

use connectord::store::Phase;
use connectord_sim::SimulatorConfig;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::support::World;

const FIELDS: [&str; 1] = ["Account.Name"];

/// `Some(owner)` while the lease is held, `Some(None)` once released, `None` if never claimed.
async fn lease_owner(pool: &PgPool, id: Uuid) -> Option<Option<String>> {
    sqlx::query_scalar("SELECT owner FROM connection_leases WHERE connection_id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
        .expect("lease")
}

#[sqlx::test(migrations = "./migrations")]
async fn a_panicking_pass_releases_its_lease_and_says_internal_panic_while_the_daemon_serves_on(
    pool: PgPool,
) {
    let world = World::start(pool, SimulatorConfig::with_orgs(2)).await;
    let (first_org, second_org) = (world.org("org1"), world.org("org2"));
    let broken = world.add("panics", &first_org, &FIELDS, true).await;
    connectord::test_hooks::make_passes_panic(broken);
    let stop = CancellationToken::new();
    let daemon = tokio::spawn(connectord::daemon::run(
        world.reconciler.clone(),
        1,
        stop.clone(),
    ));

    world
        .wait_until(&[broken], 60, "the panic is recorded", async || {
            let status = connectord::store::get_status(&world.pool, broken)
                .await
                .expect("status");
            status.is_some_and(|s| s.error_code.as_deref() == Some("internal_panic"))
        })
        .await;
    world
        .wait_until(&[broken], 60, "the lease is released", async || {
            lease_owner(&world.pool, broken).await == Some(None)
        })
        .await;
    let status = world.status(broken).await;
    assert_eq!(status.phase, Phase::Failed);
    assert!(status.attempts >= 1);
    assert!(
        status
            .next_attempt_at
            .is_some_and(|at| at > status.updated_at),
        "retried later, with backoff: {status:?}"
    );
    let message = status.error_message.unwrap_or_default();
    assert!(!message.contains(&broken.to_string()), "{message}");

    // The same process, its one slot given back, goes on with another connection.
    let healthy = world.add("serves-on", &second_org, &FIELDS, true).await;
    world
        .wait_until(
            &[healthy],
            60,
            "the other connection is ready",
            async || world.phase(healthy).await == Some(Phase::Ready),
        )
        .await;
    assert_eq!(first_org.snapshot().external_client_apps.len(), 0);

    stop.cancel();
    daemon
        .await
        .expect("the daemon task did not panic")
        .expect("daemon stops cleanly");
}
