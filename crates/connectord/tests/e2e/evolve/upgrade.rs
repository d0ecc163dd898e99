//! A new connectord version raises the shape version: 100 ready connections across ten orgs
//! are brought up to date in place, a few per minute, and none ever leaves `ready`.

use std::collections::HashMap;

use connectord::reconcile::model::SHAPE_VERSION;
use connectord::reconcile::{Outcome, Reconciler};
use connectord::store::{self, Phase};
use connectord_sim::{OrgConfig, SimulatorConfig};
use sqlx::PgPool;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::support::World;

const ORGS: usize = 10;
const TENANTS: usize = 10;
/// The test's pace (production's default is 30).
const PER_MINUTE: u32 = 25;

fn ten_orgs() -> SimulatorConfig {
    SimulatorConfig {
        orgs: (1..=ORGS)
            .map(|n| OrgConfig {
                integration_licenses: TENANTS as u32 + 2,
                ..OrgConfig::named(&format!("org{n}"))
            })
            .collect(),
        ..SimulatorConfig::default()
    }
}

/// One pass on each connection, a batch at a time; each one must end `ready` with no error.
async fn pass_each(world: &World, reconciler: &Reconciler, ids: &[Uuid]) {
    for batch in ids.chunks(20) {
        let mut passes = JoinSet::new();
        for id in batch.iter().copied() {
            let reconciler = reconciler.clone();
            passes.spawn(async move { (id, reconciler.reconcile_once(id).await) });
        }
        while let Some(done) = passes.join_next().await {
            let (id, outcome) = done.expect("joins");
            let outcome = outcome.expect("pass runs");
            let status = world.status(id).await;
            assert_eq!(
                (outcome, status.phase, status.error_code.as_deref()),
                (Outcome::Settled(Phase::Ready), Phase::Ready, None),
                "{}",
                world.trail(id).await
            );
        }
    }
}

async fn versions(world: &World, ids: &[Uuid]) -> HashMap<Uuid, Option<i32>> {
    let mut found = HashMap::new();
    for id in ids {
        found.insert(*id, world.status(*id).await.shape_version);
    }
    found
}

#[sqlx::test]
async fn a_new_shape_reaches_100_ready_connections_gradually_without_leaving_ready(pool: PgPool) {
    let world = World::start(pool, ten_orgs()).await;
    let mut ids = Vec::new();
    for org in world.simulator.orgs() {
        for tenant in 0..TENANTS {
            let tenant = format!("tenant{tenant}");
            ids.push(world.add(&tenant, &org, &["Account.Name"], true).await);
        }
    }
    pass_each(&world, &world.reconciler, &ids).await;
    let current = i32::try_from(SHAPE_VERSION).expect("small");
    assert!(
        versions(&world, &ids)
            .await
            .values()
            .all(|v| *v == Some(current))
    );
    let before: HashMap<Uuid, store::ConnectionStatus> = {
        let mut map = HashMap::new();
        for id in &ids {
            map.insert(*id, world.status(*id).await);
        }
        map
    };

    // As if an older connectord had built them all.
    let older = current - 1;
    sqlx::query(
        "UPDATE component_sets SET state = jsonb_set(state, '{shape,version}', to_jsonb($1::int))",
    )
    .bind(older)
    .execute(&world.pool)
    .await
    .expect("age the sets");
    sqlx::query("UPDATE connection_status SET shape_version = $1")
        .bind(older)
        .execute(&world.pool)
        .await
        .expect("age the status");
    for org in world.simulator.orgs() {
        org.reset_api_calls();
    }

    let mut paced = world.reconciler.clone();
    paced.upgrades_per_minute = PER_MINUTE;
    let mut minute = 0;
    loop {
        let pending: Vec<Uuid> = versions(&world, &ids)
            .await
            .into_iter()
            .filter(|(_, v)| *v != Some(current))
            .map(|(id, _)| id)
            .collect();
        if pending.is_empty() {
            break;
        }
        assert!(minute < 10, "upgrades did not finish in 10 minutes");
        pass_each(&world, &paced, &pending).await;
        minute += 1;
        let done = versions(&world, &ids)
            .await
            .values()
            .filter(|v| **v == Some(current))
            .count();
        let expected = (PER_MINUTE as usize * minute).min(ids.len());
        assert_eq!(done, expected, "after minute {minute}");
        // The ones still waiting are due again within about a minute, not a resync.
        for id in &ids {
            let status = world.status(*id).await;
            if status.shape_version != Some(current) {
                let next = status.next_attempt_at.expect("planned");
                assert!(next < chrono::Utc::now() + chrono::Duration::seconds(75));
            }
        }
        // The clock moves on a minute.
        sqlx::query("UPDATE upgrade_slots SET taken_at = taken_at - interval '61 seconds'")
            .execute(&world.pool)
            .await
            .expect("advance the clock");
    }
    assert_eq!(minute, ids.len().div_ceil(PER_MINUTE as usize));

    // Updated in place: same apps, same credentials, one app per connection, one deploy each.
    let mut deploys = 0;
    for org in world.simulator.orgs() {
        assert_eq!(org.snapshot().external_client_apps.len(), TENANTS);
        deploys += org.api_calls().get("deploy");
    }
    assert_eq!(deploys, ids.len() as u64);
    for id in &ids {
        let after = world.status(*id).await;
        let was = &before[id];
        assert_eq!(after.connected_app_id, was.connected_app_id);
        assert_eq!(after.consumer_key, was.consumer_key);
        assert_eq!(after.integration_user_id, was.integration_user_id);
        assert!(after.verified_at > was.verified_at, "verified again");
        let trail = world.trail(*id).await;
        assert_eq!(trail.matches("upgrade_app ok").count(), 1, "{trail}");
    }
}

#[sqlx::test]
async fn an_upgrade_paused_or_cut_off_mid_deploy_leaves_the_connection_ready(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &["Account.Name"], true).await;
    assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Ready));
    let before = world.status(id).await;
    let current = i32::try_from(SHAPE_VERSION).expect("small");
    sqlx::query(
        "UPDATE component_sets SET state = jsonb_set(state, '{shape,version}', to_jsonb($1::int))",
    )
    .bind(current - 1)
    .execute(&world.pool)
    .await
    .expect("age the set");
    org.reset_api_calls();

    // Paused: nothing is deployed, the connection stays as it is.
    let mut paused = world.reconciler.clone();
    paused.upgrades_per_minute = 0;
    assert_eq!(
        paused.reconcile_once(id).await.expect("pass runs"),
        Outcome::Settled(Phase::Ready)
    );
    assert_eq!(org.api_calls().get("deploy"), 0);
    assert_eq!(world.status(id).await.shape_version, Some(current - 1));

    // Cut off while the deploy is in progress: still ready, still the old version.
    org.faults().set_deploys_hang(true);
    let reconciler = world.reconciler.clone();
    let pass = tokio::spawn(async move { reconciler.reconcile_once(id).await });
    while org.api_calls().get("deploy_status") == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    pass.abort();
    let _ = pass.await;
    let status = world.status(id).await;
    assert_eq!(status.phase, Phase::Ready);
    assert_eq!(status.shape_version, Some(current - 1));

    // The next pass does it again, in place.
    org.faults().set_deploys_hang(false);
    assert_eq!(
        world
            .reconciler
            .reconcile_once(id)
            .await
            .expect("pass runs"),
        Outcome::Settled(Phase::Ready),
        "{}",
        world.trail(id).await
    );
    let after = world.status(id).await;
    assert_eq!(after.shape_version, Some(current));
    assert_eq!(after.consumer_key, before.consumer_key);
    assert_eq!(org.snapshot().external_client_apps.len(), 1);
}
