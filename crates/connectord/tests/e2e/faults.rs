//! Salesforce faults injected through the simulator: a share of 500/503 answers, dropped
//! connections, latency, expired sessions, an exhausted API allowance. Every connection still
//! converges, failed passes back off, the requests spent are counted (every attempt, retried
//! ones included) and bounded, and no component is duplicated.
//!
//! A short run is always on; `CONNECTORD_LONG_FAULTS=1` runs many more cycles and seeds.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use connectord::error_code::ErrorCode;
use connectord::reconcile::Outcome;
use connectord::store::{self, Phase};
use connectord_sim::{OrgHandle, SimulatorConfig};
use sqlx::PgPool;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::{Layer, registry::Registry};
use uuid::Uuid;

use crate::lifecycle::{assert_exactly_one_connection, assert_nothing_left};
use crate::support::World;

const FIELDS: [&str; 2] = ["Account.Name", "Contact.Email"];
const SCOPED: [&str; 2] = ["Account.Industry", "Contact.Phone"];

fn long_run() -> bool {
    std::env::var("CONNECTORD_LONG_FAULTS").is_ok_and(|v| v == "1")
}

/// Counts every HTTP request the client sends: one `salesforce_call` span per call plus one
/// `retrying` event per extra attempt.
#[derive(Clone, Default)]
struct Requests(Arc<AtomicU64>);

impl Requests {
    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

struct IsRetry(bool);

impl Visit for IsRetry {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" && format!("{value:?}") == "retrying" {
            self.0 = true;
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Requests {
    fn on_new_span(&self, attrs: &tracing::span::Attributes<'_>, _: &tracing::Id, _: Context<S>) {
        if attrs.metadata().name() == "salesforce_call" {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<S>) {
        let mut retry = IsRetry(false);
        event.record(&mut retry);
        if retry.0 {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Installs the counter on this thread (the sqlx test runtime and the simulator run here).
fn count_requests() -> (Requests, tracing::subscriber::DefaultGuard) {
    let requests = Requests::default();
    let subscriber = Registry::default().with(requests.clone());
    (requests, tracing::subscriber::set_default(subscriber))
}

/// Runs passes until the connection settles, checking after every failed pass that it is
/// retried later (never at once) and by itself (`failed`, not `action_required`).
async fn converge_through(world: &World, id: Uuid, max_passes: usize) -> usize {
    for pass in 1..=max_passes {
        match world.reconciler.reconcile_once(id).await.unwrap() {
            Outcome::Settled(_) => return pass,
            Outcome::Failed { phase, code } => {
                assert_eq!(phase, Phase::Failed, "{code:?}: {}", world.trail(id).await);
                let status = world.status(id).await;
                let next = status.next_attempt_at.expect("a failed pass is retried");
                assert!(next > Utc::now(), "backs off before the next attempt");
                assert!(status.attempts >= 1);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    panic!(
        "did not settle in {max_passes} passes:\n{}",
        world.trail(id).await
    );
}

/// Turn on, change the scope, turn off: the requests one fault-free cycle spends.
async fn cycle(world: &World, org: &OrgHandle, id: Uuid, max_passes: usize) {
    store::set_enabled(&world.pool, id, true).await.unwrap();
    store::set_fields(&world.pool, id, &strings(&FIELDS))
        .await
        .unwrap();
    converge_through(world, id, max_passes).await;
    assert_eq!(world.status(id).await.phase, Phase::Ready);
    assert_exactly_one_connection(org, &FIELDS);
    store::set_fields(&world.pool, id, &strings(&SCOPED))
        .await
        .unwrap();
    converge_through(world, id, max_passes).await;
    assert_eq!(world.status(id).await.phase, Phase::Ready);
    assert_exactly_one_connection(org, &SCOPED);
    store::set_enabled(&world.pool, id, false).await.unwrap();
    converge_through(world, id, max_passes).await;
    assert_eq!(world.status(id).await.phase, Phase::Disabled);
    assert_nothing_left(org);
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[sqlx::test(migrations = "./migrations")]
async fn server_errors_and_dropped_connections_converge_with_bounded_requests(pool: PgPool) {
    let (requests, _guard) = count_requests();
    let world = World::start(pool, SimulatorConfig::with_orgs(2)).await;
    // The fault-free baseline on org2.
    let clean = world.org("org2");
    let baseline_id = world.add("baseline", &clean, &FIELDS, false).await;
    cycle(&world, &clean, baseline_id, 3).await;
    let baseline = requests.get();
    assert!(baseline > 10, "the counter sees the calls: {baseline}");

    let org = world.org("org1");
    let id = world.add("acme", &org, &FIELDS, false).await;
    let (cycles, seeds): (usize, &[u64]) = if long_run() {
        (10, &[1, 2, 3, 4, 5])
    } else {
        (1, &[7])
    };
    for &seed in seeds {
        org.faults().set_error_rate(0.2, seed);
        org.faults().set_drop_rate(0.05, seed + 100);
        let before = requests.get();
        for _ in 0..cycles {
            cycle(&world, &org, id, 40).await;
        }
        let spent = requests.get() - before;
        // Retries and replays cost extra, but within a small multiple of the clean run:
        // a hot retry loop would spend orders of magnitude more.
        assert!(
            spent <= baseline * 4 * cycles as u64,
            "seed {seed}: {spent} requests for {cycles} cycles (clean cycle: {baseline})"
        );
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn latency_spikes_and_expired_sessions_still_converge_once(pool: PgPool) {
    let (requests, _guard) = count_requests();
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    org.faults().set_latency(Duration::from_millis(20));
    let id = world.add("acme", &org, &FIELDS, true).await;
    // Every session dies after each few steps: each pass must refresh and carry on.
    let mut passes = 0;
    loop {
        passes += 1;
        assert!(passes < 40, "{}", world.trail(id).await);
        org.faults().revoke_sessions();
        match world.reconciler.reconcile_cut_after(id, 3).await.unwrap() {
            Outcome::Settled(Phase::Ready) => break,
            Outcome::Interrupted => {}
            other => panic!("{other:?}: {}", world.trail(id).await),
        }
    }
    assert_exactly_one_connection(&org, &FIELDS);
    assert!(org.api_calls().get("token") >= passes as u64 / 2);
    assert!(requests.get() < 400, "{} requests", requests.get());
}

#[sqlx::test(migrations = "./migrations")]
async fn an_exhausted_allowance_backs_off_with_one_request_per_pass(pool: PgPool) {
    let (requests, _guard) = count_requests();
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    org.faults().exhaust_api_allowance();
    let id = world.add("acme", &org, &FIELDS, true).await;
    let mut waits = Vec::new();
    for attempt in 1..=3 {
        let before = requests.get();
        let outcome = world.reconciler.reconcile_once(id).await.unwrap();
        assert_eq!(
            outcome,
            Outcome::Failed {
                phase: Phase::Failed,
                code: ErrorCode::ApiLimitExceeded
            }
        );
        // The token grant and the org's versions list (read once per process, unauthenticated)
        // are not API calls; the first REST call is refused and not retried.
        let spent = requests.get() - before;
        let allowed = if attempt == 1 { 3 } else { 2 };
        assert!(spent <= allowed, "pass {attempt}: {spent} requests");
        let status = world.status(id).await;
        assert_eq!(status.attempts, attempt);
        waits.push(status.next_attempt_at.unwrap() - Utc::now());
    }
    // Exponential backoff (1 s, 2 s, 4 s, each + up to 20 %).
    assert!(waits[1] > waits[0] && waits[2] > waits[1], "{waits:?}");
    assert!(org.snapshot().active_integration_users().is_empty());

    org.set_daily_api_limit(1_000_000);
    assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Ready));
    assert_exactly_one_connection(&org, &FIELDS);
    assert_eq!(world.status(id).await.attempts, 0);
}
