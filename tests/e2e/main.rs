//! End-to-end: the reconciler against the Salesforce simulator and a real PostgreSQL.

mod commands;
mod crash;
mod daemons;
mod lifecycle;
mod metrics_text;
mod outage;
mod scale;
mod support;
