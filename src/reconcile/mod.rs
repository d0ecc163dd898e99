//! The reconciler: a pure planner (desired + observed → next steps) and a thin executor.
