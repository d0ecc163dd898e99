//! End-to-end: the reconciler against the Salesforce simulator and a real PostgreSQL.

mod lifecycle;
mod support;
