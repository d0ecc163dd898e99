//! The deployment kit (Dockerfile, deploy/compose.yaml, deploy/kubernetes/, deploy/observability/)
//! checked against the binary: its commands, settings, ports, paths and metrics. No container
//! engine is needed: every file is parsed here and held against the real thing.

mod compose;
mod health;
mod kit;
mod kubernetes;
mod observability;
mod promql;

#[allow(dead_code)]
#[path = "../fleet/daemons.rs"]
mod daemons;
#[allow(dead_code)]
#[path = "../fleet/metrics_text.rs"]
mod metrics_text;
#[allow(dead_code)]
#[path = "../e2e/support.rs"]
mod support;

/// Without `DATABASE_URL`, one throwaway PostgreSQL cluster serves this test binary.
#[ctor::ctor(unsafe)]
fn database() {
    connectord::embedded_db::provide_database_url_or_exit();
}
