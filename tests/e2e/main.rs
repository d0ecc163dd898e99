//! End-to-end: the reconciler against the Salesforce simulator and a real PostgreSQL.

mod commands;
mod crash;
mod lifecycle;
mod support;
mod faults;
mod hardening;
mod product_role;
mod secrets_hygiene;
mod bad_input;
