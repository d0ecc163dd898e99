//! The harness connectord's tests and benchmarks share.
