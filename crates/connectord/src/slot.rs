//! A pass's working slot, and stepping out of it while the pass only waits.
//!
//! The daemon works on at most `reconciler.concurrency` connections at once per process: a
//! pass runs holding one permit of the loop's semaphore, its *slot*. Much of a pass is
//! waiting, though: between the status polls of a Metadata deploy (seconds on a real org) and
//! before retrying a failed call. Holding a slot through such a wait keeps another connection
//! from being worked on for nothing, so [`idle`] gives the slot back for the wait, wakes the
//! loop so it can claim another connection, and queues for a slot again afterwards (the
//! semaphore is fair: passes resume in the order they asked).
//!
//! A pass that steps out keeps its lease all along: it is still heart-beaten and no other
//! replica can claim its connection. The loop bounds how many connections it holds that way.
//!
//! The slot is a task-local set by [`scope`]. Outside one (the command line, the demo's direct
//! passes, tests) [`idle`] is a plain sleep.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

tokio::task_local! {
    static SLOT: Slot;
}

/// The slot of one pass: the semaphore it came from and, while the pass works, its permit.
/// Cheap to clone.
#[derive(Clone)]
pub struct Slot {
    inner: Arc<Inner>,
}

struct Inner {
    semaphore: Arc<Semaphore>,
    permit: Mutex<Option<OwnedSemaphorePermit>>,
    /// Notified when the pass steps out, so whoever hands out slots can look again.
    stepped_out: Arc<Notify>,
}

impl Slot {
    /// A slot holding `permit`, a permit of `semaphore`.
    pub fn new(
        semaphore: Arc<Semaphore>,
        permit: OwnedSemaphorePermit,
        stepped_out: Arc<Notify>,
    ) -> Slot {
        Slot {
            inner: Arc::new(Inner {
                semaphore,
                permit: Mutex::new(Some(permit)),
                stepped_out,
            }),
        }
    }

    /// Whether the pass holds its permit now (it does except while it idles).
    #[cfg(test)]
    fn holds_permit(&self) -> bool {
        self.permit().is_some()
    }

    /// Gives the permit back now (at the end of a pass).
    pub fn release(&self) {
        self.permit().take();
    }

    fn permit(&self) -> std::sync::MutexGuard<'_, Option<OwnedSemaphorePermit>> {
        self.inner
            .permit
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Drops the permit, if held, and says whether it was.
    fn step_out(&self) -> bool {
        let released = self.permit().take().is_some();
        if released {
            self.inner.stepped_out.notify_one();
        }
        released
    }

    /// Waits for a permit (in turn) and keeps it. A closed semaphore leaves the pass without
    /// one: it carries on rather than fail over bookkeeping.
    async fn step_in(&self) {
        match self.inner.semaphore.clone().acquire_owned().await {
            Ok(permit) => *self.permit() = Some(permit),
            Err(_) => tracing::debug!("the slot semaphore is closed: carrying on without a slot"),
        }
    }
}

/// Runs `f` with `slot` as the current task's slot.
pub async fn scope<F: Future>(slot: Slot, f: F) -> F::Output {
    SLOT.scope(slot, f).await
}

/// Waits `d`. Inside a [`scope`], the slot is given back for the wait and taken again (in
/// turn) before returning; elsewhere this is `tokio::time::sleep`.
pub async fn idle(d: Duration) {
    let slot = SLOT.try_with(Slot::clone).ok();
    // Only the wait that gave the permit back takes one again.
    let Some(slot) = slot.filter(Slot::step_out) else {
        tokio::time::sleep(d).await;
        return;
    };
    let _waiting = Waiting::start();
    tokio::time::sleep(d).await;
    slot.step_in().await;
}

/// Counts a pass in `passes_waiting` for as long as it lives (also when the pass is cut off).
struct Waiting;

impl Waiting {
    fn start() -> Waiting {
        crate::metrics::global().passes_waiting.inc();
        Waiting
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        crate::metrics::global().passes_waiting.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::Instant;

    fn one_permit() -> (Arc<Semaphore>, Slot, Arc<Notify>) {
        let semaphore = Arc::new(Semaphore::new(1));
        let permit = semaphore.clone().try_acquire_owned().unwrap();
        let notify = Arc::new(Notify::new());
        let slot = Slot::new(semaphore.clone(), permit, notify.clone());
        (semaphore, slot, notify)
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_pass_lends_its_permit_and_gets_one_back_when_it_is_free_again() {
        let (semaphore, slot, stepped_out) = one_permit();
        let a = tokio::spawn(scope(slot.clone(), idle(Duration::from_millis(200))));
        // A steps out at once and says so.
        tokio::time::timeout(Duration::from_millis(100), stepped_out.notified())
            .await
            .expect("A steps out at the start of its wait");
        assert!(!slot.holds_permit());
        let b = semaphore
            .clone()
            .try_acquire_owned()
            .expect("B gets the permit A gave back while A idles");
        // A's wait ends while B works: A queues for the permit B holds.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(!a.is_finished(), "A resumed without a permit");
        assert!(!slot.holds_permit());
        drop(b);
        a.await.unwrap();
        assert!(slot.holds_permit());
        assert_eq!(semaphore.available_permits(), 0, "A holds the one permit");
        slot.release();
        assert_eq!(semaphore.available_permits(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn idle_outside_a_scope_is_a_plain_sleep() {
        let (semaphore, slot, _) = one_permit();
        let started = Instant::now();
        idle(Duration::from_millis(200)).await;
        assert_eq!(started.elapsed(), Duration::from_millis(200));
        assert!(slot.holds_permit(), "a slot not in scope is left alone");
        assert_eq!(semaphore.available_permits(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_closed_semaphore_lets_the_pass_carry_on_without_a_permit() {
        let (semaphore, slot, _) = one_permit();
        scope(slot.clone(), async {
            semaphore.close();
            idle(Duration::from_millis(10)).await;
        })
        .await;
        assert!(!slot.holds_permit());
    }
}
