//! `connectord run`: the loop that schedules passes. It wakes on the database's NOTIFY for
//! instant reaction, and on a short poll as the fallback (retries and resyncs come due by
//! time), runs at most `reconciler.concurrency` passes at once, and on shutdown stops
//! claiming and lets in-flight passes finish.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};
use uuid::Uuid;

use crate::reconcile::{Reconciler, record};

/// How often due work is looked for when no notification arrives.
const POLL: Duration = Duration::from_secs(2);

/// Runs passes until `shutdown` is cancelled, then waits for the passes in flight.
pub async fn run(
    reconciler: Reconciler,
    concurrency: usize,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let permits = Arc::new(Semaphore::new(concurrency));
    let in_flight: Arc<Mutex<HashSet<Uuid>>> = Arc::default();
    let tracker = TaskTracker::new();
    let mut listener = connect_listener(&reconciler).await;
    info!(concurrency, "reconciler started");
    while !shutdown.is_cancelled() {
        let limit = i64::try_from(concurrency * 2).unwrap_or(i64::MAX);
        match record::due(&reconciler.pool, limit).await {
            Ok(due) => {
                for id in due {
                    if !in_flight
                        .lock()
                        .map(|mut set| set.insert(id))
                        .unwrap_or(false)
                    {
                        continue;
                    }
                    let Ok(permit) = permits.clone().acquire_owned().await else {
                        break;
                    };
                    let reconciler = reconciler.clone();
                    let in_flight = in_flight.clone();
                    tracker.spawn(async move {
                        if let Err(e) = reconciler.reconcile_once(id).await {
                            error!(connection_id = %id, error = format!("{e:#}"), "pass aborted");
                        }
                        if let Ok(mut set) = in_flight.lock() {
                            set.remove(&id);
                        }
                        drop(permit);
                    });
                }
            }
            Err(e) => warn!(error = %e, "cannot read due connections"),
        }
        wait_for_work(&mut listener, &reconciler, &shutdown).await;
    }
    info!("shutting down: waiting for passes in flight");
    tracker.close();
    tracker.wait().await;
    Ok(())
}

async fn connect_listener(reconciler: &Reconciler) -> Option<PgListener> {
    match crate::store::listen(&reconciler.pool).await {
        Ok(listener) => Some(listener),
        Err(e) => {
            warn!(error = %e, "cannot LISTEN; falling back to polling");
            None
        }
    }
}

/// Returns on a notification, after the poll interval, or at shutdown.
async fn wait_for_work(
    listener: &mut Option<PgListener>,
    reconciler: &Reconciler,
    shutdown: &CancellationToken,
) {
    let Some(active) = listener.as_mut() else {
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = shutdown.cancelled() => {}
        }
        *listener = connect_listener(reconciler).await;
        return;
    };
    tokio::select! {
        received = active.recv() => {
            if let Err(e) = received {
                warn!(error = %e, "lost the LISTEN connection; reconnecting");
                *listener = None;
            }
        }
        _ = tokio::time::sleep(POLL) => {}
        _ = shutdown.cancelled() => {}
    }
}

/// Cancels `token` on the first SIGTERM or SIGINT; a second one exits at once.
pub fn cancel_on_signals(token: CancellationToken) {
    tokio::spawn(async move {
        if wait_signal().await.is_err() {
            return;
        }
        info!("signal received: finishing passes in flight (send it again to stop at once)");
        token.cancel();
        if wait_signal().await.is_ok() {
            warn!("second signal: stopping now");
            std::process::exit(130);
        }
    });
}

async fn wait_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}
