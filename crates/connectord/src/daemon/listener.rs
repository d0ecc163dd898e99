//! Waking the loop: `LISTEN` on the contract's channel for instant reaction, a poll as the
//! fallback, and a lost listener connection re-established at the next poll.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tracing::{info, warn};

/// How long connecting the listener may take before the loop carries on polling.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the loop woke up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    Notified,
    Poll,
    /// The listener was (re-)established: notifications may have been missed.
    Listening,
}

/// The `LISTEN` connection, if it is up, and a flag readiness reads.
pub struct Listener {
    pool: PgPool,
    active: Option<PgListener>,
    up: Arc<AtomicBool>,
}

impl Listener {
    pub fn new(pool: PgPool, up: Arc<AtomicBool>) -> Self {
        Listener {
            pool,
            active: None,
            up,
        }
    }

    /// Waits for a notification or `poll`, whichever comes first (reconnecting first if the
    /// listener is down). Cancel-safe: dropping it loses nothing but a wake-up.
    pub async fn wait(&mut self, poll: Duration) -> Wake {
        let Some(active) = self.active.as_mut() else {
            if self.connect().await {
                return Wake::Listening;
            }
            tokio::time::sleep(poll).await;
            return Wake::Poll;
        };
        tokio::select! {
            received = active.recv() => match received {
                Ok(_) => Wake::Notified,
                Err(e) => {
                    warn!(error = %e, "lost the LISTEN connection; polling until it is back");
                    self.active = None;
                    self.up.store(false, Ordering::Relaxed);
                    Wake::Poll
                }
            },
            _ = tokio::time::sleep(poll) => Wake::Poll,
        }
    }

    async fn connect(&mut self) -> bool {
        match tokio::time::timeout(CONNECT_TIMEOUT, crate::store::listen(&self.pool)).await {
            Ok(Ok(listener)) => {
                info!(channel = crate::store::NOTIFY_CHANNEL, "listening");
                self.active = Some(listener);
                self.up.store(true, Ordering::Relaxed);
                true
            }
            Ok(Err(e)) => {
                warn!(error = %e, "cannot LISTEN; polling meanwhile");
                false
            }
            Err(_) => {
                warn!("cannot LISTEN: timed out; polling meanwhile");
                false
            }
        }
    }
}
