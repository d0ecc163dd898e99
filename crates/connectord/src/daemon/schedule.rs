//! The loop: claim as many due connections as there are free slots, run a pass on each under
//! its lease and in its slot, release it after; wake on NOTIFY, on the poll, when a pass ends
//! or when one steps out of its slot to wait. On shutdown: stop claiming, let passes finish
//! within the deadline, release every lease.
//!
//! A slot is a permit of one semaphore of `concurrency` permits. A pass gives its slot back
//! while it only waits (see [`crate::slot`]) and keeps its lease, so passes in flight can
//! outnumber slots: at most [`IN_FLIGHT_PER_SLOT`] × `concurrency` of them.

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt as _;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

use super::claim::{self, ClaimRequest, Claimed};
use super::lease::{Lease, Leases};
use super::listener::Listener;
use super::throttle::Throttle;
use super::{Health, IN_FLIGHT_PER_SLOT, Options};
use crate::metrics;
use crate::reconcile::{Holder, Outcome, Reconciler, fence};
use crate::slot::{self, Slot};

/// A pass that broke off without recording when to retry (the database went away, say) leaves
/// its connection alone for this long.
const ERROR_COOL_DOWN: Duration = Duration::from_secs(5);
/// How often lease history older than a week is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60 * 60);

/// What every pass task shares.
#[derive(Clone)]
struct Context {
    reconciler: Reconciler,
    leases: Leases,
    /// The slots: passes making Salesforce calls hold one each.
    permits: Arc<Semaphore>,
    /// A pass ended or stepped out of its slot: there may be room to claim.
    wake: Arc<Notify>,
    abort: CancellationToken,
}

/// Runs passes until `health.stopping` is cancelled, then drains and releases (see module doc).
pub async fn serve(reconciler: Reconciler, options: Options, health: Health) -> anyhow::Result<()> {
    let pool = reconciler.pool.clone();
    let leases = Leases::new(&options.owner, options.lease_expiry);
    let beat_stop = CancellationToken::new();
    let heartbeat = tokio::spawn(leases.clone().keep_alive(pool.clone(), beat_stop.clone()));
    let permits = Arc::new(Semaphore::new(options.concurrency));
    let most_in_flight = options.concurrency.saturating_mul(IN_FLIGHT_PER_SLOT);
    let context = Context {
        reconciler: reconciler.clone(),
        leases: leases.clone(),
        permits: permits.clone(),
        wake: Arc::new(Notify::new()),
        abort: CancellationToken::new(),
    };
    let tracker = TaskTracker::new();
    let mut listener = Listener::new(pool.clone(), health.listening.clone());
    let mut throttle = Throttle::new(options.api_usage_threshold);
    let mut pruned_at: Option<Instant> = None;
    let shutdown = health.stopping.clone();
    info!(owner = %options.owner, concurrency = options.concurrency, most_in_flight,
          lease_expiry = ?options.lease_expiry, "reconciler started");
    while !shutdown.is_cancelled() {
        {
            let in_flight = leases.ids();
            // The slots are taken before the claim, so that a pass coming back from a wait
            // cannot take one between the claim and the spawn and leave a claimed connection
            // unworked. Those left over (fewer due, or the claim failed) are given back at the
            // end of this block, before the loop waits.
            // Salesforce rejects the product's own OAuth client: every pass would fail the
            // same way, so none is started until a restart with new settings.
            let room = match reconciler.salesforce.client_rejected() {
                Some(_) => 0,
                None => most_in_flight.saturating_sub(in_flight.len()),
            };
            let slots = take_slots(&permits, room);
            if !slots.is_empty() {
                let usage = reconciler.salesforce.api_usage_all();
                let throttled = throttle.throttled(&usage, Instant::now());
                let request = ClaimRequest {
                    owner: &options.owner,
                    limit: i64::try_from(slots.len()).unwrap_or(i64::MAX),
                    expiry: options.lease_expiry,
                    in_flight: &in_flight,
                    throttled: &throttled,
                };
                let sent = Instant::now();
                match claim::claim(&pool, &request).await {
                    Ok(claimed) => {
                        for (one, permit) in claimed.into_iter().zip(slots) {
                            let lease = leases.add(one.id, one.epoch, sent);
                            tracker.spawn(run_pass(context.clone(), one, lease, permit));
                        }
                    }
                    Err(e) => warn!(error = %e, "cannot claim due connections"),
                }
            }
        }
        if pruned_at.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
            pruned_at = Some(Instant::now());
            if let Err(e) = claim::prune_history(&pool).await {
                warn!(error = %e, "cannot prune lease history");
            }
        }
        let has_room = permits.available_permits() > 0 && leases.count() < most_in_flight;
        tokio::select! {
            _ = listener.wait(options.poll_interval), if has_room => {}
            _ = context.wake.notified() => {}
            _ = shutdown.cancelled() => {}
        }
    }

    let in_flight = leases.ids().len();
    info!(in_flight, deadline = ?options.shutdown_deadline,
          "stopping: no new claims; waiting for passes in flight");
    tracker.close();
    if tokio::time::timeout(options.shutdown_deadline, tracker.wait())
        .await
        .is_err()
    {
        warn!("shutdown deadline passed: cutting off the passes still running");
        context.abort.cancel();
        tracker.wait().await;
    }
    beat_stop.cancel();
    let _ = heartbeat.await;
    match claim::release_all(&pool, &options.owner).await {
        Ok(released) => info!(released, "leases released; stopped"),
        Err(e) => warn!(error = %e, "cannot release leases: they lapse after the lease expiry"),
    }
    Ok(())
}

/// Up to `at_most` free slots, taken now.
fn take_slots(permits: &Arc<Semaphore>, at_most: usize) -> Vec<OwnedSemaphorePermit> {
    std::iter::from_fn(|| permits.clone().try_acquire_owned().ok())
        .take(at_most)
        .collect()
}

async fn run_pass(
    context: Context,
    claimed: Claimed,
    lease: Arc<Lease>,
    permit: OwnedSemaphorePermit,
) {
    let metrics = metrics::global();
    let id = claimed.id;
    if let Some(previous) = &claimed.took_over_from {
        metrics.lease_takeovers.inc();
        info!(connection_id = %id, previous_owner = %previous, epoch = claimed.epoch,
              "took over a lapsed lease");
    }
    metrics.passes_in_flight.inc();
    let slot = Slot::new(context.permits.clone(), permit, context.wake.clone());
    let started = Instant::now();
    let pass = slot::scope(
        slot.clone(),
        context.reconciler.reconcile_leased(id, lease.clone()),
    );
    // A panicking pass must not take its lease with it: the lease would be heart-beaten by
    // this process for ever and the connection never worked on again.
    let pass = std::panic::AssertUnwindSafe(pass).catch_unwind();
    let result = tokio::select! {
        result = pass => Some(result),
        _ = context.abort.cancelled() => None,
    };
    let result = match result {
        Some(Ok(result)) => Some(result),
        Some(Err(_)) => {
            error!(connection_id = %id, "pass panicked: recording it and releasing the lease");
            let holder: Arc<dyn Holder> = lease.clone();
            Some(fence::scope(holder, context.reconciler.record_panic(id)).await)
        }
        None => None,
    };
    let seconds = started.elapsed().as_secs_f64();
    let cool_down = match &result {
        Some(Ok(outcome)) => {
            let (label, code) = outcome_labels(outcome);
            metrics.pass_ended(label, code, seconds);
            if matches!(outcome, Outcome::Settled(crate::store::Phase::Ready))
                && claimed.phase_before.as_deref() != Some("ready")
            {
                let waited = chrono::Utc::now() - claimed.desired_changed_at;
                let waited = waited.to_std().unwrap_or_default();
                metrics.desired_to_ready.observe(waited.as_secs_f64());
            }
            Duration::ZERO
        }
        Some(Err(e)) => {
            error!(connection_id = %id, error = format!("{e:#}"), "pass aborted");
            metrics.pass_ended("error", None, seconds);
            ERROR_COOL_DOWN
        }
        None => {
            warn!(connection_id = %id, "pass cut off at the shutdown deadline");
            metrics.pass_ended("interrupted", None, seconds);
            Duration::ZERO
        }
    };
    if !lease.lost() {
        let owner = context.leases.owner();
        match claim::release(
            &context.reconciler.pool,
            owner,
            id,
            claimed.epoch,
            cool_down,
        )
        .await
        {
            Ok(true) => {}
            Ok(false) => warn!(connection_id = %id, "lease was no longer held at release"),
            Err(e) => warn!(connection_id = %id, error = %e,
                            "cannot release the lease: it lapses after the lease expiry"),
        }
    }
    context.leases.remove(id);
    metrics.passes_in_flight.dec();
    slot.release();
    context.wake.notify_one();
}

/// `outcome` and `error_code` labels of a pass.
fn outcome_labels(outcome: &Outcome) -> (&'static str, Option<&'static str>) {
    match outcome {
        Outcome::Settled(phase) => (phase.as_str(), None),
        Outcome::Failed { phase, code } => (phase.as_str(), Some(code.as_str())),
        Outcome::Gone => ("gone", None),
        Outcome::Interrupted => ("interrupted", None),
        Outcome::LeaseLost => ("lease_lost", None),
    }
}
