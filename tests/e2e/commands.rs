//! The reconciler's commands as an operator runs them: `plan` and `token`.

use base64::Engine as _;
use connectord::simulator::SimulatorConfig;
use sqlx::PgPool;

use crate::support::World;

/// Runs the binary without blocking the runtime that serves the simulator.
async fn connectord(world: &World, args: &[&str]) -> std::process::Output {
    let options = world.pool.connect_options();
    let url = format!(
        "postgres://postgres@127.0.0.1:5432/{}",
        options.get_database().expect("test database name")
    );
    let key = base64::engine::general_purpose::STANDARD.encode(world.key);
    tokio::process::Command::new(env!("CARGO_BIN_EXE_connectord"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("CONNECTORD__SECRETS__KEY", key)
        .env(
            "CONNECTORD__SALESFORCE__CLIENT_ID",
            world.simulator.client_id(),
        )
        .env(
            "CONNECTORD__SALESFORCE__CLIENT_SECRET",
            world.simulator.client_secret(),
        )
        .env("CONNECTORD__SALESFORCE__ALLOW_LOOPBACK_HTTP", "true")
        .env("RUST_LOG", "trace")
        .output()
        .await
        .expect("connectord runs")
}

#[sqlx::test]
async fn plan_prints_the_steps_of_the_next_pass(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &["Account.Name"], true).await;

    let out = connectord(&world, &["plan", &id.to_string()]).await;

    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for step in [
        "begin",
        "ensure_access",
        "deploy_app",
        "fetch_credentials",
        "verify",
        "promote",
    ] {
        assert!(text.contains(step), "{step} in:\n{text}");
    }
    let unknown = connectord(&world, &["plan", &uuid::Uuid::new_v4().to_string()]).await;
    assert_eq!(unknown.status.code(), Some(2));
}

#[sqlx::test]
async fn token_mints_an_access_token_for_a_ready_connection_and_logs_no_secret(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &["Account.Name"], true).await;
    let not_ready = connectord(&world, &["token", &id.to_string()]).await;
    assert_eq!(
        not_ready.status.code(),
        Some(2),
        "not ready yet: {}",
        String::from_utf8_lossy(&not_ready.stderr)
    );
    world.converge(id).await;

    let out = connectord(&world, &["token", &id.to_string()]).await;

    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let token = json["access_token"].as_str().expect("a token");
    assert!(!token.is_empty());
    assert_eq!(
        json["instance_url"],
        org.instance_url().as_str().trim_end_matches('/')
    );
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(!logs.contains(token), "the token is printed on stdout only");
    assert!(!logs.contains(&org.admin_refresh_token()));
}
