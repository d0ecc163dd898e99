//! Integration tests of the PostgreSQL contract, the sealed credentials and the command line.
//! Each `#[sqlx::test]` gets a fresh database (migrated unless it says otherwise).

mod cli;
mod connect_errors;
mod definer;
mod due;
mod fence;
mod generation;
mod helpers;
mod notify;
mod remove;
mod rules;
mod sealing;
#[allow(dead_code)]
#[path = "../e2e/support.rs"]
mod support;
mod tenant;
mod tenant_seal;

/// Without `DATABASE_URL`, one throwaway PostgreSQL cluster serves this test binary.
#[ctor::ctor(unsafe)]
fn database() {
    connectord::embedded_db::provide_database_url_or_exit();
}
