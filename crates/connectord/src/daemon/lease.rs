//! This process's view of the leases it holds, and the heartbeat that keeps them.
//!
//! A lease counts as held until a safety margin before the moment the database would let it
//! expire, measured from when the last successful heartbeat was *sent*, so a pass stops before
//! any other replica can claim the connection, even when the database cannot be reached.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::PgPool;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};
use uuid::Uuid;

use super::claim;
use crate::reconcile::Holder;

/// One lease held by this process.
#[derive(Debug)]
pub struct Lease {
    pub id: Uuid,
    pub epoch: i64,
    /// This process's owner id: with `epoch`, the fencing token of every write of the pass.
    owner: Arc<str>,
    valid_until: Mutex<Instant>,
    lost: AtomicBool,
}

impl Lease {
    fn new(id: Uuid, epoch: i64, owner: Arc<str>, valid_until: Instant) -> Self {
        Lease {
            id,
            epoch,
            owner,
            valid_until: Mutex::new(valid_until),
            lost: AtomicBool::new(false),
        }
    }

    /// Whether another process may have claimed the connection (for metrics and logs).
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }

    fn extend(&self, until: Instant) {
        if let Ok(mut valid) = self.valid_until.lock() {
            *valid = (*valid).max(until);
        }
    }
}

impl Holder for Lease {
    fn still_held(&self) -> bool {
        !self.lost()
            && self
                .valid_until
                .lock()
                .map(|until| Instant::now() < *until)
                .unwrap_or(false)
    }

    fn token(&self) -> Option<(&str, i64)> {
        Some((&self.owner, self.epoch))
    }

    fn lose(&self) {
        if !self.lost.swap(true, Ordering::Relaxed) {
            crate::metrics::global().leases_lost.inc();
        }
    }
}

/// The leases this process holds, keyed by connection.
#[derive(Debug, Clone)]
pub struct Leases {
    owner: Arc<str>,
    expiry: Duration,
    held: Arc<Mutex<HashMap<Uuid, Arc<Lease>>>>,
}

impl Leases {
    pub fn new(owner: &str, expiry: Duration) -> Self {
        Leases {
            owner: owner.into(),
            expiry,
            held: Arc::default(),
        }
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn expiry(&self) -> Duration {
        self.expiry
    }

    /// How long before the database's expiry a lease stops counting as held here.
    fn margin(&self) -> Duration {
        self.expiry / 5
    }

    /// Records a lease claimed by a statement sent at `sent`.
    pub fn add(&self, id: Uuid, epoch: i64, sent: Instant) -> Arc<Lease> {
        let lease = Arc::new(Lease::new(
            id,
            epoch,
            self.owner.clone(),
            sent + self.expiry - self.margin(),
        ));
        if let Ok(mut held) = self.held.lock() {
            held.insert(id, lease.clone());
        }
        lease
    }

    pub fn remove(&self, id: Uuid) {
        if let Ok(mut held) = self.held.lock() {
            held.remove(&id);
        }
    }

    /// The connections held now (claimed and not yet released).
    pub fn ids(&self) -> Vec<Uuid> {
        self.held
            .lock()
            .map(|held| held.keys().copied().collect())
            .unwrap_or_default()
    }

    /// How many leases this process holds.
    pub fn count(&self) -> usize {
        self.held.lock().map(|held| held.len()).unwrap_or_default()
    }

    fn snapshot(&self) -> Vec<Arc<Lease>> {
        self.held
            .lock()
            .map(|held| held.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Extends every held lease once; marks those the database no longer has as lost.
    pub async fn beat(&self, pool: &PgPool) -> sqlx::Result<()> {
        let leases = self.snapshot();
        if leases.is_empty() {
            return Ok(());
        }
        let pairs: Vec<(Uuid, i64)> = leases.iter().map(|l| (l.id, l.epoch)).collect();
        let sent = Instant::now();
        let kept = claim::heartbeat(pool, &self.owner, &pairs, self.expiry).await?;
        for lease in leases {
            if kept.contains(&lease.id) {
                lease.extend(sent + self.expiry - self.margin());
            } else {
                warn!(connection_id = %lease.id, epoch = lease.epoch, "lease lost");
                crate::metrics::global().leases_lost.inc();
                lease.lost.store(true, Ordering::Relaxed);
            }
        }
        debug!(held = pairs.len(), "heartbeat");
        Ok(())
    }

    /// Beats every third of the expiry until `stop` is cancelled.
    pub async fn keep_alive(self, pool: PgPool, stop: CancellationToken) {
        let every = self.expiry / 3;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.cancelled() => return,
            }
            if let Err(e) = self.beat(&pool).await {
                warn!(error = %e, "heartbeat failed: leases lapse unless the database answers");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_lease_stops_counting_as_held_before_the_database_would_let_it_expire() {
        let leases = Leases::new("me", Duration::from_secs(10));
        let lease = leases.add(Uuid::new_v4(), 1, Instant::now());
        assert!(lease.still_held());
        tokio::time::advance(Duration::from_millis(7_900)).await;
        assert!(lease.still_held());
        tokio::time::advance(Duration::from_millis(200)).await;
        assert!(!lease.still_held(), "8 s = expiry minus a fifth");
    }

    #[tokio::test(start_paused = true)]
    async fn a_lost_lease_is_not_held_even_in_time() {
        let leases = Leases::new("me", Duration::from_secs(10));
        let lease = leases.add(Uuid::new_v4(), 1, Instant::now());
        lease.lost.store(true, Ordering::Relaxed);
        assert!(!lease.still_held());
    }
}
