//! Whether a pass may still work on its connection: the daemon answers from its lease, a pass
//! run from a test or the command line always may.

/// Asked before every Salesforce-calling step of a pass: may this pass still work on the
/// connection? The daemon answers from its lease; [`Reconciler::reconcile_once`] always may.
///
/// [`Reconciler::reconcile_once`]: super::Reconciler::reconcile_once
pub trait Holder: Send + Sync {
    fn still_held(&self) -> bool;
}

/// A pass that nobody else can contend for (tests, the command line).
pub(super) struct Unshared;

impl Holder for Unshared {
    fn still_held(&self) -> bool {
        true
    }
}
