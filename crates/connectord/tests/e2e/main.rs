//! End-to-end: the reconciler against the Salesforce simulator and a real PostgreSQL.

mod bad_input;
mod bounded;
mod check;
mod commands;
mod crash;
mod dialogue;
mod dialogue_apps;
mod evolve;
mod faults;
mod grant;
mod hardening;
mod lifecycle;
mod mapping;
mod offboarding;
mod operator;
mod org_change;
mod panics;
mod product_role;
mod proof;
mod recording;
mod retired_users;
mod revocation;
mod secrets_hygiene;
mod slots;
mod support;
mod vending;
mod vending_http;

/// Without `DATABASE_URL`, one throwaway PostgreSQL cluster serves this test binary.
#[ctor::ctor(unsafe)]
fn database() {
    connectord::embedded_db::provide_database_url_or_exit();
}
