//! End-to-end: the reconciler against the Salesforce simulator and a real PostgreSQL.

mod bad_input;
mod commands;
mod crash;
mod evolve;
mod faults;
mod hardening;
mod lifecycle;
mod mapping;
mod product_role;
mod revocation;
mod secrets_hygiene;
mod slots;
mod support;
