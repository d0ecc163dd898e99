//! The lease fence on every write of a pass (issue 14, item 4).
//!
//! A leased pass ([`Reconciler::reconcile_leased`]) runs inside [`scope`], which makes its
//! [`Holder`] the task's fence. Every write in [`super::record`] passes the fence's token
//! (owner, epoch) to the database function `connection_lease_holds` (migration 0016) in the
//! same statement, so a pass whose lease was taken over writes nothing, however late it wakes
//! up. A write the fence refused marks the
//! lease lost ([`Holder::lose`]) and fails with [`LEASE_LOST`]; the pass then ends as
//! [`super::Outcome::LeaseLost`].
//!
//! Outside a scope (tests, `reconcile_once`, the command line, the demo's direct passes) the
//! writes are not fenced and [`still_held`] is always true.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use sqlx::PgPool;
use tracing::{Instrument as _, info_span, warn};
use uuid::Uuid;

use super::holder::Holder;
use super::pass::{Outcome, Reconciler};

tokio::task_local! {
    static FENCE: Arc<dyn Holder>;
}

/// The message of the error a refused write fails with.
pub const LEASE_LOST: &str = "the lease on the connection was lost: the write was refused";

/// Runs `f` with `holder` as the fence of every write it makes.
#[doc(hidden)]
pub async fn scope<F: Future>(holder: Arc<dyn Holder>, f: F) -> F::Output {
    FENCE.scope(holder, f).await
}

/// Whether the current pass may still work on its connection (true outside a [`scope`]).
/// Asked from inside long waits, such as the polls of a Metadata deploy, so that a pass whose
/// lease lapsed stops waiting instead of carrying on where another process works now.
pub fn still_held() -> bool {
    FENCE.try_with(|h| h.still_held()).unwrap_or(true)
}

/// The token the writes of the current task pass to `connection_lease_holds`: `(None, 0)`
/// outside a fenced scope (the write is unconditional).
pub(super) fn token() -> (Option<String>, i64) {
    FENCE
        .try_with(|h| h.token().map(|(owner, epoch)| (owner.to_owned(), epoch)))
        .ok()
        .flatten()
        .map_or((None, 0), |(owner, epoch)| (Some(owner), epoch))
}

/// After a fenced write that changed `rows` rows: when none, asks whether the fence is why
/// (the statement cannot say which of its conditions held). If it is, the lease is marked lost
/// and the write fails; otherwise nothing matched for another reason and the write succeeds.
pub(super) async fn checked(pool: &PgPool, id: Uuid, rows: u64) -> sqlx::Result<u64> {
    let (owner, epoch) = token();
    if rows > 0 || owner.is_none() {
        return Ok(rows);
    }
    let holds = sqlx::query_scalar!(
        r#"SELECT connection_lease_holds($1, $2, $3) AS "holds!""#,
        id,
        owner,
        epoch
    )
    .fetch_one(pool)
    .await?;
    if holds {
        return Ok(rows);
    }
    warn!(connection_id = %id, epoch, "lease lost: a write of the pass was refused");
    let _ = FENCE.try_with(|h| h.lose());
    Err(sqlx::Error::Protocol(LEASE_LOST.to_owned()))
}

impl Reconciler {
    /// [`Reconciler::reconcile_once`] for a pass that holds a lease: it stops with
    /// [`Outcome::LeaseLost`] before the next Salesforce call once `lease` is no longer held,
    /// and every write it makes is fenced by the lease ([`super::fence`]): a write that finds
    /// the lease gone writes nothing and ends the pass as [`Outcome::LeaseLost`].
    pub fn reconcile_leased(
        &self,
        id: Uuid,
        lease: Arc<dyn Holder>,
    ) -> Pin<Box<dyn Future<Output = anyhow::Result<Outcome>> + Send + '_>> {
        let span = info_span!("reconcile", connection_id = %id, tenant_id = tracing::field::Empty,
            generation = tracing::field::Empty, phase = tracing::field::Empty);
        Box::pin(
            async move {
                let result = scope(lease.clone(), self.pass(id, usize::MAX, &*lease)).await;
                match result {
                    // Whatever the pass was doing, it wrote nothing more once the lease was gone.
                    Err(_) if !lease.still_held() => {
                        warn!("lease lost: the pass stopped without writing");
                        Ok(Outcome::LeaseLost)
                    }
                    other => other,
                }
            }
            .instrument(span),
        )
    }
}
