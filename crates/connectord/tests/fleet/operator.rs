//! `connectord run` as an operator meets it: a rejected OAuth client (issue 16 item 2) and
//! logs a pipeline can read (item 5).

use std::time::Duration;

use connectord::store::Phase;
use connectord_sim::SimulatorConfig;
use serde_json::Value;
use sqlx::PgPool;

use crate::daemons::{Daemon, database_url};
use crate::support::World;

async fn wait_for(world: &World, id: uuid::Uuid, phase: Phase, daemon: &Daemon) {
    for _ in 0..300 {
        if world.phase(id).await == Some(phase) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{id} never reached {phase}; log:\n{}", daemon.logs());
}

#[sqlx::test]
async fn a_rejected_oauth_client_is_its_own_error_readyz_503_and_no_more_passes_until_a_restart(
    pool: PgPool,
) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let url = database_url(&world.pool);
    let mut daemon = Daemon::start(
        &world,
        &url,
        &[(
            "CONNECTORD__SALESFORCE__CLIENT_ID",
            "not-the-product-client",
        )],
    )
    .await;
    let first = world.add("acme", &org, &["Account.Industry"], true).await;
    wait_for(&world, first, Phase::ActionRequired, &daemon).await;
    let status = world.status(first).await;
    assert_eq!(
        status.error_code.as_deref(),
        Some("oauth_client_rejected"),
        "{status:?}"
    );
    let message = status.error_message.unwrap_or_default();
    assert!(message.contains("salesforce.client_id"), "{message}");
    daemon.wait_for_readyz(503).await;
    let (_, body) = daemon.get("/readyz").await;
    assert!(body.contains("OAuth client"), "{body}");
    assert!(!body.contains("sim-secret"), "{body}");

    // Process-wide: a connection added now is not even tried.
    let tokens = org.api_calls().get("token");
    let second = world.add("globex", &org, &["Account.Industry"], true).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(world.phase(second).await, None, "{}", daemon.logs());
    assert_eq!(org.api_calls().get("token"), tokens);
    let rejected = daemon
        .logs()
        .matches("Salesforce rejects the product's OAuth client")
        .count();
    assert_eq!(rejected, 1, "logged once:\n{}", daemon.logs());

    // New settings (a restart) bring both connections up at once, not at the next resync.
    daemon.signal("TERM").await;
    assert!(daemon.exit_status().await.success());
    let fixed = Daemon::start(&world, &url, &[]).await;
    wait_for(&world, first, Phase::Ready, &fixed).await;
    wait_for(&world, second, Phase::Ready, &fixed).await;
}

/// Each stderr line of the daemon, parsed as JSON (panics naming the line that is not).
fn json_lines(log: &str) -> Vec<Value> {
    log.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"))
        })
        .collect()
}

fn with_message<'a>(lines: &'a [Value], message: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["message"] == message).collect()
}

#[sqlx::test]
async fn every_log_line_is_json_with_json_values_and_a_start_line_that_shows_no_secret(
    pool: PgPool,
) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &["Account.Industry"], true).await;
    let url = database_url(&world.pool);
    let mut daemon = Daemon::start(
        &world,
        &url,
        &[("RUST_LOG", "info,connectord::salesforce=debug")],
    )
    .await;
    wait_for(&world, id, Phase::Ready, &daemon).await;
    daemon.signal("TERM").await;
    assert!(daemon.exit_status().await.success());
    let log = daemon.logs();
    assert!(
        !log.contains('\u{1b}'),
        "no colour codes when piped:\n{log}"
    );
    assert!(!log.contains(&world.simulator.client_secret()), "{log}");
    let lines = json_lines(&log);

    let start = with_message(&lines, "connectord starting");
    assert_eq!(start.len(), 1, "{log}");
    assert_eq!(start[0]["version"], env!("CARGO_PKG_VERSION"));
    assert!(start[0]["commit"].as_str().is_some_and(|c| !c.is_empty()));
    let config: Value = serde_json::from_str(start[0]["config"].as_str().unwrap()).unwrap();
    assert_eq!(config["secrets"]["key"], "set");
    assert_eq!(config["salesforce"]["client_secret"], "set");
    assert_eq!(config["database"]["url"], "set");
    assert_eq!(config["reconciler"]["lease_expiry"], "2s");

    let loopback = lines
        .iter()
        .filter(|l| {
            l["message"]
                .as_str()
                .unwrap_or("")
                .contains("allow_loopback_http")
        })
        .count();
    assert_eq!(loopback, 1, "the loopback warning once:\n{log}");
    assert!(
        !lines
            .iter()
            .any(|l| l["target"] == "sqlx::postgres::notice"),
        "no PostgreSQL NOTICE at info:\n{log}"
    );

    let steps = with_message(&lines, "taking step");
    assert!(!steps.is_empty(), "{log}");
    for step in steps {
        let text = step["step"].as_str().expect("the step as JSON text");
        let value: Value = serde_json::from_str(text).expect("the step parses as JSON");
        assert!(value.is_object(), "{text}");
    }
    let settled = with_message(&lines, "pass settled");
    assert!(settled.iter().any(|l| l["duration_ms"].is_u64()), "{log}");

    let calls = with_message(&lines, "salesforce call");
    assert!(!calls.is_empty(), "each call at debug:\n{log}");
    assert!(calls.iter().all(|c| c["level"] == "DEBUG"));
    assert!(
        calls
            .iter()
            .any(|c| c["span"]["path"] == "/services/oauth2/token" && c["span"]["status"] == 200)
    );
}
