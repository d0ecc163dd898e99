//! The reconciler: a pure planner (desired + known → next steps) and a thin executor that takes
//! one step at a time and asks the planner again.

pub mod model;
pub mod plan;

#[cfg(test)]
mod plan_tests;
