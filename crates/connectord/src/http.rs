//! The operations endpoints on `http.listen`: `/healthz` (the process answers), `/readyz`
//! (the database answers, the `LISTEN` connection is up, no shutdown under way) and `/metrics`
//! (Prometheus / OpenMetrics text); and token vending for agents (`crate::vend::endpoint`).

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::daemon::{Health, claim};
use crate::metrics;
use crate::salesforce::Salesforce;

/// How long a probe or a scrape waits for the database.
const DB_TIMEOUT: Duration = Duration::from_secs(2);

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What the endpoints read.
#[derive(Clone)]
pub struct Ops {
    pub pool: PgPool,
    pub salesforce: Salesforce,
    pub health: Health,
    /// Token vending for agents (`POST /v1/connections/{id}/token`).
    pub vendor: crate::vend::Vendor,
    /// `metrics.org_label`: one API-usage series per org (its host) rather than the highest.
    pub org_label: bool,
}

pub fn router(ops: Ops) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .route(
            crate::vend::endpoint::PATH,
            post(crate::vend::endpoint::vend),
        )
        .with_state(ops)
}

/// Serves the endpoints on `listener` until `done` is cancelled.
pub async fn serve(
    listener: TcpListener,
    ops: Ops,
    done: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router(ops))
        .with_graceful_shutdown(done.cancelled_owned())
        .await
}

async fn database_answers(pool: &PgPool) -> bool {
    let ping = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(pool);
    matches!(tokio::time::timeout(DB_TIMEOUT, ping).await, Ok(Ok(1)))
}

/// Why this replica is not ready (empty when it is).
async fn not_ready_because(ops: &Ops) -> Vec<String> {
    let mut problems = Vec::new();
    if ops.health.stopping.is_cancelled() {
        problems.push("shutting down".to_owned());
    }
    if !database_answers(&ops.pool).await {
        problems.push("database unreachable".to_owned());
    }
    if !ops.health.listening.load(Ordering::Relaxed) {
        problems.push("not listening for changes".to_owned());
    }
    if let Some(reason) = ops.salesforce.client_rejected() {
        problems.push(reason.to_owned());
    }
    problems
}

async fn readyz(State(ops): State<Ops>) -> impl IntoResponse {
    let problems = not_ready_because(&ops).await;
    if problems.is_empty() {
        (StatusCode::OK, "ready\n".to_owned())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}\n", problems.join(", ")),
        )
    }
}

async fn render_metrics(State(ops): State<Ops>) -> impl IntoResponse {
    let metrics = metrics::global();
    // What /readyz would answer, so an alert can see "no ready replica" in one series.
    metrics
        .ready
        .set(i64::from(not_ready_because(&ops).await.is_empty()));
    // Fleet-wide gauges from the database; left as they were when it does not answer.
    if let Ok(Ok(counts)) = tokio::time::timeout(DB_TIMEOUT, claim::phase_counts(&ops.pool)).await {
        metrics.set_phases(&counts);
    }
    if let Ok(Ok(depth)) = tokio::time::timeout(DB_TIMEOUT, claim::queue_depth(&ops.pool)).await {
        metrics.due.set(depth);
    }
    let usage = ops.salesforce.api_usage_all();
    if ops.org_label {
        for (org, usage) in usage {
            metrics
                .api_usage
                .get_or_create(&vec![("org", org)])
                .set(usage.fraction());
        }
    } else if let Some(highest) = usage.iter().map(|(_, u)| u.fraction()).reduce(f64::max) {
        // One series whatever the number of customers, and no customer's host in it.
        metrics.api_usage.get_or_create(&vec![]).set(highest);
    }
    ([(header::CONTENT_TYPE, OPENMETRICS)], metrics.render())
}
