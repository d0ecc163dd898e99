//! The daemon at scale: several `connectord run` processes sharing one database, leases,
//! SIGKILL and SIGTERM, a database restart, `/metrics`. A binary of its own so that its
//! processes do not compete for the CPU with the timing-sensitive crash tests of `e2e`.

mod claims;
mod daemons;
mod frozen;
mod kills;
mod metrics_text;
mod operator;
mod outage;
mod scale;
#[allow(dead_code)]
#[path = "../e2e/support.rs"]
mod support;

/// Without `DATABASE_URL`, one throwaway PostgreSQL cluster serves this test binary.
#[ctor::ctor(unsafe)]
fn database() {
    connectord::embedded_db::provide_database_url_or_exit();
}
