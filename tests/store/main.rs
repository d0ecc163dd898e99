//! Integration tests of the PostgreSQL contract, the sealed credentials and the command line.
//! Each `#[sqlx::test]` gets a fresh database (migrated unless it says otherwise).

mod cli;
mod definer;
mod due;
mod fence;
mod generation;
mod helpers;
mod notify;
mod remove;
mod rules;
mod sealing;
mod tenant;
mod tenant_seal;
#[allow(dead_code)]
#[path = "../e2e/support.rs"]
mod support;
