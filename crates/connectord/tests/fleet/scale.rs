//! Several `connectord run` processes sharing one database: every connection converges, no
//! connection is ever worked on by two of them at once, a killed one's work is taken over,
//! SIGTERM drains and releases, `/metrics` parses.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use connectord::store::{self, Phase};
use connectord_sim::{OrgConfig, SimulatorConfig};
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
                .add(
                    &format!("tenant-{n}-{t}"),
                    &org,
                    &["Account.Industry"],
                    true,
                )
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
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT owner, count(*) FROM connection_lease_history GROUP BY owner")
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
            format!(
                "--- daemon {} ---\n{}",
                d.pid,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            )
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

/// Every org answers each call after `latency`, so that passes are long enough to be caught
/// in the middle.
fn slow_down(world: &World, org_count: usize, latency: Duration) {
    for n in 1..=org_count {
        world.org(&format!("org{n}")).faults().set_latency(latency);
    }
}

/// Waits until the daemon holds at least one lease.
async fn wait_until_working(world: &World, daemon: &Daemon) {
    for _ in 0..300 {
        if !daemons::held_by(&world.pool, &daemon.owner_pattern())
            .await
            .is_empty()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "daemon {} never claimed work:\n{}",
        daemon.pid,
        daemon.logs()
    );
}

async fn metric_sum(daemon: &Daemon, name: &str) -> f64 {
    let (status, text) = daemon.get("/metrics").await;
    assert_eq!(status, 200);
    crate::metrics_text::parse(&text)
        .into_iter()
        .filter(|s| s.name == name)
        .map(|s| s.value)
        .sum()
}

#[sqlx::test]
async fn a_killed_daemons_connections_are_finished_by_the_others_after_its_leases_expire(
    pool: PgPool,
) {
    const ORGS: usize = 3;
    let world = World::start(pool, orgs(ORGS, 20)).await;
    slow_down(&world, ORGS, Duration::from_millis(150));
    let url = database_url(&world.pool);
    let settings = [("CONNECTORD__RECONCILER__CONCURRENCY", "4")];
    let mut victim = Daemon::start(&world, &url, &settings).await;
    let mut others = vec![
        Daemon::start(&world, &url, &settings).await,
        Daemon::start(&world, &url, &settings).await,
    ];
    add_many(&world, ORGS, 8).await;
    wait_until_working(&world, &victim).await;

    victim.signal("KILL").await;
    assert_eq!(
        victim.exit_status().await.code(),
        None,
        "killed by a signal"
    );
    let orphaned = daemons::held_by(&world.pool, &victim.owner_pattern()).await;
    assert!(!orphaned.is_empty(), "it died holding leases");
    daemons::wait_converged(&world.pool, 120, || all_logs(&others)).await;

    for id in &orphaned {
        let history: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT owner, ended FROM connection_lease_history
              WHERE connection_id = $1 ORDER BY epoch",
        )
        .bind(id)
        .fetch_all(&world.pool)
        .await
        .unwrap();
        let killed = history
            .iter()
            .position(|(owner, _)| owner.contains(&format!(":{}:", victim.pid)))
            .expect("the victim's claim is in the history");
        assert_eq!(history[killed].1.as_deref(), Some("expired"), "{history:?}");
        let after = &history[killed + 1..];
        assert!(
            !after.is_empty(),
            "someone else claimed it after: {history:?}"
        );
        assert_eq!(world.status(*id).await.phase, Phase::Ready);
    }
    assert_eq!(daemons::overlapping_claims(&world.pool).await, 0);
    assert_one_set_per_enabled_connection(&world, ORGS).await;
    let mut takeovers = 0.0;
    for daemon in &mut others {
        assert!(daemon.still_running());
        takeovers += metric_sum(daemon, "connectord_lease_takeovers_total").await;
    }
    assert!(takeovers >= orphaned.len() as f64, "{takeovers} takeovers");
}

#[sqlx::test]
async fn sigterm_lets_passes_in_flight_finish_releases_every_lease_and_exits_0(pool: PgPool) {
    let world = World::start(pool, orgs(1, 20)).await;
    slow_down(&world, 1, Duration::from_millis(100));
    let url = database_url(&world.pool);
    let mut daemon = Daemon::start(
        &world,
        &url,
        &[("CONNECTORD__RECONCILER__CONCURRENCY", "3")],
    )
    .await;
    add_many(&world, 1, 12).await;
    wait_until_working(&world, &daemon).await;
    let in_flight = daemons::held_by(&world.pool, &daemon.owner_pattern()).await;

    daemon.signal("TERM").await;
    let status = daemon.exit_status().await;

    assert_eq!(status.code(), Some(0), "{}", daemon.logs());
    for id in &in_flight {
        let status = world.status(*id).await;
        assert_eq!(status.phase, Phase::Ready, "{}", world.trail(*id).await);
    }
    assert!(
        daemons::held_by(&world.pool, "%").await.is_empty(),
        "no lease left held"
    );
    let unreleased: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM connection_lease_history WHERE ended IS DISTINCT FROM 'released'",
    )
    .fetch_one(&world.pool)
    .await
    .unwrap();
    assert_eq!(unreleased, 0);
    assert!(
        daemons::unconverged(&world.pool).await > 0,
        "it stopped claiming new work at the signal"
    );
}

#[sqlx::test]
async fn metrics_are_served_in_the_prometheus_text_format_without_any_customers_host(pool: PgPool) {
    let world = World::start(pool, orgs(2, 5)).await;
    let url = database_url(&world.pool);
    let daemon = Daemon::start(&world, &url, &[]).await;
    let org1 = world.org("org1");
    world.add("acme", &org1, &["Account.Industry"], true).await;
    world.add("globex", &org1, &["Account.Name"], true).await;
    let org2 = world.org("org2");
    org2.faults().revoke_admin_refresh_token();
    world.add("initech", &org2, &["Account.Name"], true).await;
    daemons::wait_settled(&world.pool, 3).await;

    assert_eq!(daemon.get("/healthz").await.0, 200);
    let (status, text) = daemon.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    let samples = crate::metrics_text::parse(&text);
    let value = |name: &str, labels: &[(&str, &str)]| -> f64 {
        samples
            .iter()
            .filter(|s| s.name == name && labels.iter().all(|(k, v)| s.label(k) == Some(*v)))
            .map(|s| s.value)
            .sum()
    };
    assert_eq!(
        value(
            "connectord_passes_total",
            &[("outcome", "ready"), ("error_code", "")]
        ),
        2.0,
        "{text}"
    );
    assert_eq!(
        value(
            "connectord_passes_total",
            &[
                ("outcome", "action_required"),
                ("error_code", "admin_token_revoked")
            ]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(value("connectord_connections", &[("phase", "ready")]), 2.0);
    assert_eq!(
        value("connectord_connections", &[("phase", "action_required")]),
        1.0
    );
    assert_eq!(value("connectord_connections", &[("phase", "failed")]), 0.0);
    assert_eq!(value("connectord_due_connections", &[]), 0.0);
    assert_eq!(value("connectord_pass_duration_seconds_count", &[]), 3.0);
    assert_eq!(value("connectord_desired_to_ready_seconds_count", &[]), 2.0);
    assert!(
        value(
            "connectord_salesforce_calls_total",
            &[("operation", "composite"), ("status", "200")]
        ) > 0.0
    );
    assert!(
        value(
            "connectord_salesforce_calls_total",
            &[("operation", "oauth_token"), ("status", "400")]
        ) >= 1.0
    );
    // metrics.org_label is off by default: one unlabelled series, no customer's host.
    for org in [&org1, &org2] {
        let host = org.instance_url().host_str().unwrap_or_default().to_owned();
        let origin = org.instance_url().origin().ascii_serialization();
        assert!(!text.contains(&origin) && !text.contains(&host), "{text}");
    }
    assert!(!text.contains("org=\""), "{text}");
    let usage = value("connectord_salesforce_api_usage_ratio", &[]);
    assert!(usage > 0.0 && usage < 1.0, "usage {usage} in {text}");
    // Histogram buckets are cumulative and end at the count.
    let buckets: Vec<f64> = samples
        .iter()
        .filter(|s| s.name == "connectord_pass_duration_seconds_bucket")
        .map(|s| s.value)
        .collect();
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    assert_eq!(buckets.last(), Some(&3.0));
}
