//! connectord: provisions server-to-server Salesforce connections for every tenant at once.
//!
//! The layout follows the architecture: [`store`] holds desired and observed state in
//! PostgreSQL, [`salesforce`] talks to customers' orgs, [`reconcile`] converges one connection
//! per pass, [`slot`] lets a pass that only waits step out of its concurrency slot,
//! [`simulator`] is a strict fake org for the demo and the tests.

pub mod cli;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod embedded_db;
pub mod error_code;
pub mod http;
pub mod mapping;
pub mod metrics;
pub mod reconcile;
pub mod salesforce;
pub mod secrets;
pub mod simulator;
pub mod slot;
pub mod store;
pub mod telemetry;
#[doc(hidden)]
pub mod test_hooks;
pub mod vend;
