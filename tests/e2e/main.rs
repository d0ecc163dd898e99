//! End-to-end: the reconciler against the Salesforce simulator and a real PostgreSQL.

mod bad_input;
mod bounded;
mod commands;
mod crash;
mod evolve;
mod faults;
mod grant;
mod hardening;
mod lifecycle;
mod mapping;
mod org_change;
mod product_role;
mod secrets_hygiene;
mod slots;
mod support;
mod vending;
mod vending_http;
