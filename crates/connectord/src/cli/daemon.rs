//! `connectord run`, `plan` and `token`.

use std::sync::Arc;

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::BadInput;
use crate::config::Settings;
use crate::reconcile::{Reconciler, plan, record};
use crate::salesforce::Salesforce;
use crate::secrets::Sealer;
use crate::store;
use crate::vend::Vendor;

/// The reconciler for these settings, on this pool: the one `run` and `demo` use.
pub fn reconciler(
    settings: &Settings,
    pool: sqlx::PgPool,
    salesforce: Salesforce,
) -> anyhow::Result<Reconciler> {
    // (`Salesforce::new` already warned about `salesforce.allow_loopback_http`: once.)
    let sealer = Sealer::from_settings(&settings.secrets)?;
    Ok(Reconciler::new(
        pool,
        salesforce,
        Arc::new(sealer),
        settings,
    ))
}

pub async fn run(settings: &Settings) -> anyhow::Result<()> {
    // Check what can be checked before touching anything: half-configured, it exits 2.
    settings.secrets.key()?;
    require_product_client(settings)?;
    crate::telemetry::log_start(settings);
    let pool = store::connect(settings).await?;
    store::migrate(&pool).await?;
    // A rejected OAuth client is fixed by new settings, so by this start: try those now.
    let retried =
        store::retry_now(&pool, crate::error_code::ErrorCode::OAuthClientRejected).await?;
    if retried > 0 {
        tracing::info!(
            connections = retried,
            "retrying the connections that failed with oauth_client_rejected under the previous settings"
        );
    }
    store::set_max_connections_per_tenant(&pool, settings.reconciler.max_connections_per_tenant)
        .await?;
    let salesforce =
        Salesforce::new(&settings.salesforce).context("cannot set up the Salesforce client")?;
    let listener = tokio::net::TcpListener::bind(settings.http.listen)
        .await
        .with_context(|| format!("cannot listen on http.listen {}", settings.http.listen))?;
    let address = listener.local_addr()?;
    let reconciler = reconciler(settings, pool.clone(), salesforce.clone())?;
    // After a key rotation (a restart with a new secrets.key and the old one in
    // secrets.previous_keys), seal everything again with the new key, in the background.
    tokio::spawn(reseal(pool.clone(), reconciler.sealer.clone()));
    let health = crate::daemon::Health::default();
    crate::daemon::cancel_on_signals(health.stopping.clone());
    let vendor = Vendor::new(
        pool.clone(),
        salesforce.clone(),
        reconciler.sealer.clone(),
        settings.vending.clone(),
    );
    let ops = crate::http::Ops {
        pool,
        salesforce,
        health: health.clone(),
        vendor,
        org_label: settings.metrics.org_label,
    };
    let served = CancellationToken::new();
    let http = tokio::spawn(crate::http::serve(listener, ops, served.clone()));
    tracing::info!(%address, "serving /healthz, /readyz, /metrics and the token endpoint");
    let options = crate::daemon::Options::from_settings(&settings.reconciler);
    let result = crate::daemon::serve(reconciler, options, health).await;
    served.cancel();
    if let Ok(Err(e)) = http.await {
        tracing::warn!(error = %e, "the operations endpoint failed");
    }
    result
}

/// `salesforce.client_id` and `client_secret` must both be set for `run`.
fn require_product_client(settings: &Settings) -> Result<(), crate::config::ConfigError> {
    use secrecy::ExposeSecret as _;
    let sf = &settings.salesforce;
    for (key, empty) in [
        ("salesforce.client_id", sf.client_id.trim().is_empty()),
        (
            "salesforce.client_secret",
            sf.client_secret.expose_secret().trim().is_empty(),
        ),
    ] {
        if empty {
            return Err(crate::config::ConfigError::new(
                key,
                "missing: set it to the product's own OAuth client (CONNECTORD__SALESFORCE__CLIENT_ID / CONNECTORD__SALESFORCE__CLIENT_SECRET)",
            ));
        }
    }
    Ok(())
}

async fn reseal(pool: sqlx::PgPool, sealer: Arc<Sealer>) {
    match store::reseal_stale(&pool, &sealer).await {
        Ok(report) => {
            if report.resealed + report.resealed_sets > 0 {
                tracing::info!(
                    connections = report.resealed,
                    app_secrets = report.resealed_sets,
                    "re-sealed credentials with the current secrets.key"
                );
            }
            if !report.unreadable.is_empty() || !report.unreadable_sets.is_empty() {
                tracing::warn!(
                    connections = %serde_json::json!(report.unreadable),
                    app_secrets = %serde_json::json!(report.unreadable_sets),
                    "some sealed credentials open with no configured key: add the key that sealed them to secrets.previous_keys"
                );
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot re-seal credentials"),
    }
}

/// Prints what the next pass would do, from what is recorded (a pass first re-reads the org).
pub async fn plan(settings: &Settings, id: Uuid, json: bool) -> anyhow::Result<()> {
    let pool = store::connect(settings).await?;
    let mut loaded = record::load(&pool, id)
        .await?
        .ok_or_else(|| BadInput(format!("no connection {id}")))?;
    loaded.desired.shape = crate::reconcile::model::Shape::current(
        loaded
            .ip_relaxation
            .unwrap_or(settings.salesforce.ip_relaxation),
    );
    let plan = plan::plan(&loaded.desired, &loaded.known);
    if json {
        println!("{}", serde_json::to_string_pretty(&plan)?);
        return Ok(());
    }
    println!(
        "connection {id} (generation {}): {}",
        loaded.generation, plan.phase
    );
    println!("{}", plan.reason);
    for (i, step) in plan.steps.iter().enumerate() {
        let detail = serde_json::to_value(step)?;
        let args: Vec<String> = detail
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| *k != "step")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        println!("  {}. {} {}", i + 1, step.name(), args.join(" "));
    }
    if plan.steps.is_empty() {
        println!("  nothing to do");
    }
    Ok(())
}

/// Prints a short-lived token for `tenant`'s connection `id`, through the same authorisation
/// and vending as the daemon's token endpoint. The process is short-lived, so its cache is
/// too: each call that is authorised mints (the daemon's endpoint caches across calls).
pub async fn token(settings: &Settings, id: Uuid, tenant: &str) -> anyhow::Result<()> {
    let sealer = Sealer::from_settings(&settings.secrets)?;
    let pool = store::connect(settings).await?;
    let salesforce = Salesforce::new(&settings.salesforce)?;
    let vendor = Vendor::new(pool, salesforce, Arc::new(sealer), settings.vending.clone());
    let token = vendor.token(id, tenant).await?;
    println!("{}", token.to_json());
    Ok(())
}
