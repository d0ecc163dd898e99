//! `connectord run`: the loop that schedules passes across a fleet of replicas.
//!
//! - [`claim`]: leases in PostgreSQL (claim due work, heartbeat, release).
//! - [`lease`]: this process's view of its leases and the heartbeat task.
//! - [`listener`]: `LISTEN` for instant reaction, with a poll as the fallback.
//! - `schedule`: the loop itself: claim as many as there are free slots, run each pass in its
//!   slot (a pass that only waits steps out of it: [`crate::slot`]).
//! - [`throttle`]: orgs near their daily API allowance get urgent work only.
//! - `shutdown`: signals.

pub mod claim;
pub mod lease;
pub mod listener;
mod schedule;
mod shutdown;
pub mod throttle;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::ReconcilerSettings;
use crate::reconcile::Reconciler;

pub use schedule::serve;
pub use shutdown::cancel_on_signals;

/// How many passes a process has in flight at most, per slot (`concurrency`). Passes that gave
/// their slot back while they wait for a deploy or a retry still hold their lease and are
/// heart-beaten; this bounds how many connections one process holds that way, so that a
/// process does not sit on work other replicas could do.
pub const IN_FLIGHT_PER_SLOT: usize = 4;

/// How the loop runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Passes making Salesforce calls at once in this process (slots); at most
    /// [`IN_FLIGHT_PER_SLOT`] times as many in flight, waiting ones included.
    pub concurrency: usize,
    pub lease_expiry: Duration,
    pub poll_interval: Duration,
    pub shutdown_deadline: Duration,
    pub api_usage_threshold: f64,
    /// Who holds the leases this process takes: `host:pid:random`.
    pub owner: String,
}

impl Options {
    pub fn from_settings(settings: &ReconcilerSettings) -> Self {
        Options {
            concurrency: settings.concurrency,
            lease_expiry: settings.lease_expiry,
            poll_interval: settings.poll_interval,
            shutdown_deadline: settings.shutdown_deadline,
            api_usage_threshold: settings.api_usage_threshold,
            owner: owner_id(),
        }
    }

    /// The defaults of `config/default.toml` with this concurrency.
    pub fn with_concurrency(concurrency: usize) -> Self {
        Options {
            concurrency,
            lease_expiry: Duration::from_secs(20),
            poll_interval: Duration::from_secs(2),
            shutdown_deadline: Duration::from_secs(30),
            api_usage_threshold: 0.9,
            owner: owner_id(),
        }
    }
}

/// What `/readyz` reads besides the database.
#[derive(Debug, Clone, Default)]
pub struct Health {
    /// The `LISTEN` connection is up.
    pub listening: Arc<AtomicBool>,
    /// A graceful stop has begun.
    pub stopping: CancellationToken,
}

/// Runs passes with default options until `shutdown` is cancelled (used by `demo`).
pub async fn run(
    reconciler: Reconciler,
    concurrency: usize,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let health = Health {
        stopping: shutdown,
        ..Health::default()
    };
    serve(reconciler, Options::with_concurrency(concurrency), health).await
}

/// `host:pid:random`, unique per process, readable in `connection_leases.owner`.
pub fn owner_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned());
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}:{}:{}", std::process::id(), &random[..8])
}
