//! `connectord demo`: the whole lifecycle against the built-in simulator. It starts the
//! simulator and the reconciler loop in this process, writes desired state the way a product
//! would, and checks that every org converges: turn on, scope change, reconnect, drift repair,
//! turn off. Exits non-zero with a clear message if anything does not.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use secrecy::{ExposeSecret, SecretString};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::cli::BadInput;
use crate::config::{ConfigError, Settings};
use crate::embedded_db::EmbeddedDb;
use crate::reconcile::Reconciler;
use crate::salesforce::{Salesforce, Tuning};
use crate::secrets::Sealer;
use crate::store::{self, NewConnection, Phase};
use connectord_sim::{OrgConfig, OrgHandle, Simulator, SimulatorConfig};

const WAIT: Duration = Duration::from_secs(60);

struct Tenant {
    name: &'static str,
    org: OrgHandle,
    id: Uuid,
}

/// The demo on `database.url` when one is set, else on a throwaway cluster of its own that is
/// removed at the end, also after an error or Ctrl-C.
pub async fn run(settings: &Settings) -> anyhow::Result<()> {
    if !settings.database.url.expose_secret().is_empty() {
        let url = settings.database_url()?;
        create_database_if_missing(url, settings.database.connect_timeout).await?;
        return run_on(url.expose_secret(), settings).await;
    }
    let started = Instant::now();
    let cluster = EmbeddedDb::start().map_err(|e| match e.is_setup() {
        true => anyhow::Error::new(BadInput(e.to_string())),
        false => anyhow::Error::new(e).context("cannot start a throwaway PostgreSQL cluster"),
    })?;
    println!(
        "PostgreSQL: a throwaway cluster of {} on 127.0.0.1:{} in {}, started in {} ms \
         (set DATABASE_URL to use a server of your own)",
        cluster.bindir().display(),
        cluster.port(),
        cluster.folder().display(),
        started.elapsed().as_millis()
    );
    let url = cluster.url("postgres");
    let result = tokio::select! {
        result = run_on(&url, settings) => result,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    drop(cluster);
    result
}

async fn run_on(url: &str, settings: &Settings) -> anyhow::Result<()> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|_| ConfigError::new("database.url", "is not a PostgreSQL URL"))?;
    store::probe(&options, settings.database.connect_timeout).await?;
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .context("cannot connect to the database")?;
    store::migrate(&pool).await?;

    let config = SimulatorConfig {
        orgs: ["acme", "globex", "initech"].map(OrgConfig::named).to_vec(),
        ..SimulatorConfig::default()
    };
    let simulator = Simulator::start(config).await?;
    println!("Salesforce simulator: login at {}", simulator.login_url());

    let mut sf_settings = settings.salesforce.clone();
    sf_settings.client_id = simulator.client_id();
    sf_settings.client_secret = SecretString::from(simulator.client_secret());
    sf_settings.login_url = simulator.login_url();
    sf_settings.allow_loopback_http = true;
    let tuning = Tuning {
        deploy_first_poll: Duration::from_millis(50),
        deploy_max_poll_interval: Duration::from_millis(500),
        deploy_max_wait: sf_settings.deploy_wait_limit,
        ..Tuning::default()
    };
    let mut demo_settings = settings.clone();
    demo_settings.salesforce = sf_settings.clone();
    let mut reconciler = Reconciler::new(
        pool.clone(),
        Salesforce::with_tuning(&sf_settings, tuning)?,
        // A throwaway key: the demo's secrets die with it.
        Arc::new(Sealer::new(rand::random(), [])),
        &demo_settings,
    );
    // Drift is found at the next resync: make it come soon.
    reconciler.resync_interval = Duration::from_secs(2);
    let shutdown = CancellationToken::new();
    let daemon = tokio::spawn(crate::daemon::run(reconciler.clone(), 4, shutdown.clone()));

    let result = walk_through(&pool, &reconciler, &simulator).await;
    shutdown.cancel();
    let _ = daemon.await;
    simulator.shutdown().await;
    match result {
        Ok(()) => {
            println!("\nThe demo converged as expected.");
            Ok(())
        }
        Err(e) => Err(e.context("the demo did not converge as expected")),
    }
}

async fn walk_through(
    pool: &PgPool,
    reconciler: &Reconciler,
    simulator: &Simulator,
) -> anyhow::Result<()> {
    let demo_tag = &Uuid::new_v4().simple().to_string()[..6];
    let plan = [
        ("acme", vec!["Account.Name", "Account.Industry"]),
        ("globex", vec!["Contact.Email", "Opportunity.Amount"]),
        ("initech", vec!["Account.Name", "Case.Subject"]),
    ];
    let mut tenants = Vec::new();
    for (name, fields) in plan {
        let org = simulator.org(name).context("simulator org")?;
        let new = NewConnection {
            tenant_id: format!("{name}-{demo_tag}"),
            instance_url: org.instance_url().as_str().trim_end_matches('/').to_owned(),
            required_fields: fields.iter().map(|f| f.to_string()).collect(),
            enabled: true,
        };
        let token = SecretString::from(org.admin_refresh_token());
        let id = store::insert_connection(pool, &reconciler.sealer, &new, &token).await?;
        tenants.push(Tenant { name, org, id });
    }

    println!("\n1. Turn on access for three tenants");
    wait_all(pool, &tenants, Phase::Ready).await?;
    for t in &tenants {
        check_one_connection(t)?;
    }

    println!("\n2. acme asks for one more field: the connection is recreated");
    let acme = &tenants[0];
    let before = status(pool, acme.id).await?;
    store::set_fields(
        pool,
        acme.id,
        &[
            "Account.Name".into(),
            "Account.Industry".into(),
            "Account.AnnualRevenue".into(),
        ],
    )
    .await?;
    wait_changed(pool, acme, &before).await?;
    let after = status(pool, acme.id).await?;
    ensure!(
        after.granted_fields.len() == 3,
        "acme should be granted 3 fields, has {:?}",
        after.granted_fields
    );
    ensure!(
        after.consumer_key != before.consumer_key,
        "acme should have a new app"
    );
    check_one_connection(acme)?;

    println!("\n3. globex asks to reconnect: everything is deleted and created anew");
    let globex = &tenants[1];
    let before = status(pool, globex.id).await?;
    store::request_reconnect(pool, globex.id).await?;
    wait_changed(pool, globex, &before).await?;
    check_one_connection(globex)?;

    println!(
        "\n4. Someone deletes initech's permission set assignment in the org: drift is repaired"
    );
    let initech = &tenants[2];
    let snap = initech.org.snapshot();
    let ps = status(pool, initech.id)
        .await?
        .permission_set_id
        .context("initech permission set")?;
    let assignment = snap
        .permission_set_assignments
        .iter()
        .find(|a| a.permission_set_id == ps)
        .context("initech's assignment")?;
    initech
        .org
        .admin_delete("PermissionSetAssignment", &assignment.id)?;
    wait_for(
        || async {
            let snap = initech.org.snapshot();
            Ok(snap
                .permission_set_assignments
                .iter()
                .any(|a| a.permission_set_id == ps))
        },
        "initech's assignment to be restored",
    )
    .await?;
    println!("   repaired at the next resync");
    check_one_connection(initech)?;

    println!("\n5. Turn off access for everyone");
    for t in &tenants {
        store::set_enabled(pool, t.id, false).await?;
    }
    wait_all(pool, &tenants, Phase::Disabled).await?;
    println!("\nWhat is left in each org (users cannot be deleted, so they are deactivated):");
    for t in &tenants {
        let snap = t.org.snapshot();
        let ours = snap
            .users
            .iter()
            .filter(|u| u.username.starts_with("connectord."))
            .collect::<Vec<_>>();
        let apps = snap.external_client_apps.len();
        let sets = snap
            .permission_sets
            .iter()
            .filter(|p| p.name.starts_with("Connectord_"))
            .count();
        println!(
            "  {:<8} apps: {apps}  permission sets: {sets}  integration users: {} ({} active)",
            t.name,
            ours.len(),
            ours.iter().filter(|u| u.is_active).count()
        );
        ensure!(
            apps == 0 && sets == 0 && ours.iter().all(|u| !u.is_active),
            "{} still holds components",
            t.name
        );
    }
    for t in &tenants {
        store::delete_connection(pool, t.id).await?;
    }
    Ok(())
}

fn check_one_connection(t: &Tenant) -> anyhow::Result<()> {
    let snap = t.org.snapshot();
    let users = snap
        .users
        .iter()
        .filter(|u| u.username.starts_with("connectord.") && u.is_active)
        .count();
    let sets = snap
        .permission_sets
        .iter()
        .filter(|p| p.name.starts_with("Connectord_"))
        .count();
    let apps = snap.external_client_apps.len();
    ensure!(
        users == 1 && sets == 1 && apps == 1,
        "{} should hold exactly one connection, holds {users} active users, {sets} permission sets, {apps} apps",
        t.name
    );
    Ok(())
}

async fn status(pool: &PgPool, id: Uuid) -> anyhow::Result<store::ConnectionStatus> {
    store::get_status(pool, id).await?.context("no status yet")
}

/// Waits until every tenant is in `phase`, printing each phase change as it happens.
async fn wait_all(pool: &PgPool, tenants: &[Tenant], phase: Phase) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut last: Vec<Option<Phase>> = vec![None; tenants.len()];
    loop {
        let mut done = true;
        for (i, t) in tenants.iter().enumerate() {
            let now = store::get_status(pool, t.id).await?;
            let current = now.as_ref().map(|s| s.phase);
            if current != last[i] {
                let error = now
                    .as_ref()
                    .and_then(|s| s.error_message.clone())
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default();
                println!(
                    "   {:>6.1}s  {:<8} {}{error}",
                    started.elapsed().as_secs_f32(),
                    t.name,
                    current.map_or("(not seen yet)", Phase::as_str)
                );
                last[i] = current;
            }
            if current == Some(Phase::ActionRequired) {
                bail!(
                    "{} needs action: {:?}",
                    t.name,
                    now.and_then(|s| s.error_message)
                );
            }
            done &= current == Some(phase);
        }
        if done {
            return Ok(());
        }
        if started.elapsed() > WAIT {
            bail!("timed out after {WAIT:?} waiting for every tenant to be {phase}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the tenant is ready again with a different app than `before`.
async fn wait_changed(
    pool: &PgPool,
    t: &Tenant,
    before: &store::ConnectionStatus,
) -> anyhow::Result<()> {
    wait_for(
        || async {
            let now = status(pool, t.id).await?;
            Ok(now.phase == Phase::Ready && now.connected_app_id != before.connected_app_id)
        },
        &format!("{} to be ready with new components", t.name),
    )
    .await?;
    let now = status(pool, t.id).await?;
    println!(
        "   {:<8} ready again: app {} → {}",
        t.name,
        before.connected_app_name.as_deref().unwrap_or("-"),
        now.connected_app_name.as_deref().unwrap_or("-")
    );
    Ok(())
}

async fn wait_for<F, Fut>(check: F, what: &str) -> anyhow::Result<()>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let started = Instant::now();
    while !check().await? {
        if started.elapsed() > WAIT {
            bail!("timed out after {WAIT:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Creates the database named in `url` if the server does not have it yet.
async fn create_database_if_missing(url: &SecretString, timeout: Duration) -> anyhow::Result<()> {
    let options = PgConnectOptions::from_str(url.expose_secret())
        .map_err(|_| ConfigError::new("database.url", "is not a PostgreSQL URL"))?;
    let name = options.get_database().unwrap_or("postgres").to_owned();
    let mut admin = store::connect_one(&options.clone().database("postgres"), timeout).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await?;
    if !exists {
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        sqlx::query(&format!("CREATE DATABASE {quoted}"))
            .execute(&mut admin)
            .await
            .with_context(|| format!("cannot create the database {name}"))?;
        println!("created database {name}");
    }
    admin.close().await?;
    Ok(())
}
