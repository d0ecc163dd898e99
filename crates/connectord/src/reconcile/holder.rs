//! Whether a pass may still work on its connection: the daemon answers from its lease, a pass
//! run from a test or the command line always may.

/// Asked before every Salesforce-calling step of a pass: may this pass still work on the
/// connection? The daemon answers from its lease; [`Reconciler::reconcile_once`] always may.
///
/// A holder with a [`Holder::token`] also fences every write of the pass: each one checks in
/// its own statement that the lease (owner, epoch) is still held ([`super::fence`]).
///
/// [`Reconciler::reconcile_once`]: super::Reconciler::reconcile_once
pub trait Holder: Send + Sync {
    fn still_held(&self) -> bool;

    /// The fencing token, `(owner, epoch)` of `connection_leases`, that every write of the pass
    /// must still match. `None`: the writes are not fenced (nobody else contends).
    fn token(&self) -> Option<(&str, i64)> {
        None
    }

    /// A fenced write found the lease gone: from now on the lease is not held.
    fn lose(&self) {}
}

/// A pass that nobody else can contend for (tests, the command line).
pub(super) struct Unshared;

impl Holder for Unshared {
    fn still_held(&self) -> bool {
        true
    }
}
