//! Several `connectord run` processes sharing one database: every connection converges, no
//! connection is ever worked on by two of them at once, a killed one's work is taken over,
//! SIGTERM drains and releases, `/metrics` parses.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use connectord::simulator::{OrgConfig, SimulatorConfig};
use connectord::store::{self, Phase};
use sqlx::PgPool;
use uuid::Uuid;

use crate::daemons::{self, Daemon, database_url};
use crate::support::World;

/// `orgs` orgs named `org1`… with room for `seats` integration users each.
fn orgs(count: usize, seats: u32) -> SimulatorConfig {
    SimulatorConfig {
        orgs: (1..=count)
            .map(|n| OrgConfig {
                integration_licenses: seats,
                ..OrgConfig::named(&format!("org{n}"))
            })
            .collect(),
        ..SimulatorConfig::default()
    }
}

/// Adds `per_org` enabled connections to each org, one tenant each.
async fn add_many(world: &World, org_count: usize, per_org: usize) -> Vec<(Uuid, String)> {
    let mut added = Vec::new();
    for n in 1..=org_count {
        let name = format!("org{n}");
        let org = world.org(&name);
        for t in 0..per_org {
            let id = world
                .add(&format!("tenant-{n}-{t}"), &org, &["Account.Industry"], true)
                .await;
            added.push((id, name.clone()));
        }
    }
    added
}

/// Each org has exactly as many of our integration users and permission sets as it has
/// enabled connections: two passes working on one connection at once would leave extras.
async fn assert_one_set_per_enabled_connection(world: &World, org_count: usize) {
    for n in 1..=org_count {
        let org = world.org(&format!("org{n}"));
        let enabled: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM connections WHERE instance_url = $1 AND enabled",
        )
        .bind(org.instance_url().as_str().trim_end_matches('/'))
        .fetch_one(&world.pool)
        .await
        .unwrap();
        let snap = org.snapshot();
        let users = snap.active_integration_users().len();
        let sets = snap
            .permission_sets
            .iter()
            .filter(|p| p.name.starts_with("Connectord_"))
            .count();
        assert_eq!(users as i64, enabled, "org{n}: integration users");
        assert_eq!(sets as i64, enabled, "org{n}: permission sets");
    }
}

async fn claims_by_owner(pool: &PgPool) -> HashMap<String, i64> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT owner, count(*) FROM connection_lease_history GROUP BY owner",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter().collect()
}

fn all_logs(fleet: &[Daemon]) -> String {
    fleet
        .iter()
        .map(|d| {
            let logs = d.logs();
            let tail: Vec<&str> = logs.lines().rev().take(30).collect();
            format!("--- daemon {} ---\n{}", d.pid, tail.into_iter().rev().collect::<Vec<_>>().join("\n"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[sqlx::test]
async fn three_daemons_converge_hundreds_of_toggled_connections_without_ever_sharing_one(
    pool: PgPool,
) {
    const ORGS: usize = 10;
    let world = World::start(pool, orgs(ORGS, 30)).await;
    let url = database_url(&world.pool);
    let settings = [("CONNECTORD__RECONCILER__CONCURRENCY", "8")];
    let mut fleet = Vec::new();
    for _ in 0..3 {
        fleet.push(Daemon::start(&world, &url, &settings).await);
    }

    let added = add_many(&world, ORGS, 20).await;
    // While they work: turn every third off again, and every seventh off and back on.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for (i, (id, _)) in added.iter().enumerate() {
        if i % 3 == 0 {
            store::set_enabled(&world.pool, *id, false).await.unwrap();
        } else if i % 7 == 0 {
            store::set_enabled(&world.pool, *id, false).await.unwrap();
            store::set_enabled(&world.pool, *id, true).await.unwrap();
        }
    }
    daemons::wait_converged(&world.pool, 120, || all_logs(&fleet)).await;

    assert_eq!(daemons::overlapping_claims(&world.pool).await, 0);
    assert_one_set_per_enabled_connection(&world, ORGS).await;
    let owners = claims_by_owner(&world.pool).await;
    for daemon in &mut fleet {
        let pid = format!(":{}:", daemon.pid);
        assert!(
            owners.keys().any(|o| o.contains(&pid)),
            "daemon {} claimed work: {owners:?}",
            daemon.pid
        );
        assert!(daemon.still_running());
    }
    let off: BTreeSet<Uuid> = added.iter().step_by(3).map(|(id, _)| *id).collect();
    for id in off.iter().take(5) {
        assert_eq!(world.status(*id).await.phase, Phase::Disabled);
    }
}
