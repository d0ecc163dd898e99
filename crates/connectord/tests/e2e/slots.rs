//! The daemon's slots: a pass that only waits on a deploy gives its slot back, so with one
//! slot a second connection is provisioned from start to `ready` while the first one's deploy
//! is still pending; and a process holds at most `IN_FLIGHT_PER_SLOT` connections per slot.

use std::time::Duration;

use connectord::daemon::IN_FLIGHT_PER_SLOT;
use connectord::reconcile::Reconciler;
use connectord::salesforce::{Salesforce, Tuning};
use connectord::store::Phase;
use connectord_sim::{OrgConfig, OrgHandle, SimulatorConfig};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::support::{World, fast_tuning, settings_with};

const FIELDS: [&str; 1] = ["Account.Name"];

fn apps(org: &OrgHandle) -> usize {
    org.snapshot().external_client_apps.len()
}

/// A reconciler like the world's whose deploys may wait far longer than a test runs: a pass
/// never gives up on a pending deploy here.
fn patient(world: &World) -> Reconciler {
    let settings = settings_with(&world.simulator, &world.key, &[]);
    let tuning = Tuning {
        deploy_max_wait: Duration::from_secs(600),
        ..fast_tuning()
    };
    Reconciler {
        salesforce: Salesforce::with_tuning(&settings.salesforce, tuning).expect("client"),
        ..world.reconciler.clone()
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn with_one_slot_a_second_connection_is_made_ready_while_the_first_waits_on_its_deploy(
    pool: PgPool,
) {
    let world = World::start(pool, SimulatorConfig::with_orgs(2)).await;
    let reconciler = patient(&world);
    let (first_org, second_org) = (world.org("org1"), world.org("org2"));
    first_org.faults().set_deploys_hang(true);

    let first = world.add("slots-a", &first_org, &FIELDS, true).await;
    let stop = CancellationToken::new();
    let daemon = tokio::spawn(connectord::daemon::run(reconciler, 1, stop.clone()));

    world
        .wait_until(
            &[first],
            60,
            "the first pass polls its deploy",
            async || first_org.api_calls().get("deploy_status") > 0,
        )
        .await;
    let second = world.add("slots-b", &second_org, &FIELDS, true).await;
    world
        .wait_until(
            &[first, second],
            60,
            "the second connection is ready",
            async || world.phase(second).await == Some(Phase::Ready),
        )
        .await;

    // The second connection went all the way, deploy included, while the first one's only
    // deploy was still in progress and its pass still in flight.
    let (a, b) = (first_org.api_calls(), second_org.api_calls());
    assert_eq!(b.get("deploy"), 1, "{b:?}");
    assert!(b.get("deploy_status") >= 1, "{b:?}");
    assert_eq!(apps(&second_org), 1);
    assert_eq!(a.get("deploy"), 1, "{a:?}");
    assert_eq!(apps(&first_org), 0, "the first deploy is still pending");
    assert_eq!(
        world.phase(first).await,
        Some(Phase::Provisioning),
        "{}",
        world.trail(first).await
    );
    let polled = a.get("deploy_status");
    world
        .wait_until(&[first], 60, "the first pass polls again", async || {
            first_org.api_calls().get("deploy_status") > polled
        })
        .await;
    assert_eq!(
        first_org.api_calls().get("deploy"),
        1,
        "the same deploy, still polled"
    );

    first_org.faults().set_deploys_hang(false);
    world
        .wait_until(&[first], 60, "the first connection is ready", async || {
            world.phase(first).await == Some(Phase::Ready)
        })
        .await;
    assert_eq!(first_org.api_calls().get("deploy"), 1);
    assert_eq!(apps(&first_org), 1);

    stop.cancel();
    daemon
        .await
        .expect("daemon task")
        .expect("daemon stops cleanly");
}

#[sqlx::test(migrations = "./migrations")]
async fn passes_waiting_on_deploys_hold_at_most_four_connections_per_slot(pool: PgPool) {
    let org = OrgConfig {
        integration_licenses: 10,
        ..OrgConfig::named("org1")
    };
    let config = SimulatorConfig {
        orgs: vec![org],
        ..SimulatorConfig::default()
    };
    let world = World::start(pool, config).await;
    let org = world.org("org1");
    org.faults().set_deploys_hang(true);
    let held = IN_FLIGHT_PER_SLOT;
    let mut ids = Vec::new();
    for n in 0..held + 2 {
        ids.push(world.add(&format!("slots-{n}"), &org, &FIELDS, true).await);
    }
    let stop = CancellationToken::new();
    let daemon = tokio::spawn(connectord::daemon::run(patient(&world), 1, stop.clone()));

    world
        .wait_until(
            &ids,
            60,
            "as many deploys as passes may be held",
            async || org.api_calls().get("deploy") >= held as u64,
        )
        .await;
    // Many polls later (each one a step out of the slot and a wake of the loop), no other
    // connection has been taken on.
    let polled = org.api_calls().get("deploy_status");
    world
        .wait_until(&ids, 60, "the held passes poll on", async || {
            org.api_calls().get("deploy_status") > polled + 40
        })
        .await;
    assert_eq!(org.api_calls().get("deploy"), held as u64);
    // One pass at a time holds the slot; the others wait (or queue for it).
    let waiting = connectord::metrics::global().passes_waiting.get();
    assert!(waiting >= held as i64 - 1, "passes_waiting = {waiting}");
    let mut untouched = 0;
    for id in &ids {
        if matches!(world.phase(*id).await, None | Some(Phase::Pending)) {
            untouched += 1;
        }
    }
    assert_eq!(
        untouched, 2,
        "the connections beyond the cap wait their turn"
    );

    org.faults().set_deploys_hang(false);
    world
        .wait_until(&ids, 60, "every connection is ready", async || {
            for id in &ids {
                if world.phase(*id).await != Some(Phase::Ready) {
                    return false;
                }
            }
            true
        })
        .await;
    assert_eq!(org.api_calls().get("deploy"), ids.len() as u64);

    stop.cancel();
    daemon
        .await
        .expect("daemon task")
        .expect("daemon stops cleanly");
}
