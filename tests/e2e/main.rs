//! End-to-end: the reconciler against the Salesforce simulator and a real PostgreSQL.

mod commands;
mod crash;
mod lifecycle;
mod support;
