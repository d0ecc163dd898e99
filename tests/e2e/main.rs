//! End-to-end: the reconciler against the Salesforce simulator and a real PostgreSQL.

mod crash;
mod lifecycle;
mod support;
