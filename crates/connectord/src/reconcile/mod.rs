//! The reconciler: a pure planner (desired + known → next steps) and a thin executor that takes
//! one step at a time and asks the planner again.

mod access;
pub mod app_policy;
pub mod dependencies;
mod failure;
pub mod fence;
mod grant;
mod holder;
pub mod model;
pub mod names;
pub mod observe;
pub mod offboard;
pub mod pacing;
pub mod pass;
pub mod plan;
mod plan_access;
mod proof;
pub mod record;
mod repoint;
mod retired;
pub mod steps;

pub use holder::Holder;
pub use pass::{Outcome, Reconciler};

#[cfg(test)]
mod plan_dependency_tests;
#[cfg(test)]
mod plan_revocation_tests;
#[cfg(test)]
mod plan_tests;
