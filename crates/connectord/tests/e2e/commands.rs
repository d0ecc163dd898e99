//! The reconciler's commands as an operator runs them: `plan` and `token`.

use base64::Engine as _;
use connectord::store::{self, Phase};
use connectord_sim::SimulatorConfig;
use sqlx::PgPool;

use crate::support::World;

/// The binary, configured for this world's database, key and simulator.
pub(crate) fn command(world: &World, args: &[&str]) -> tokio::process::Command {
    let options = world.pool.connect_options();
    let url = format!(
        "postgres://postgres@{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().expect("test database name")
    );
    let key = base64::engine::general_purpose::STANDARD.encode(world.key);
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_connectord"));
    command
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
        .env(
            "CONNECTORD__SALESFORCE__LOGIN_URL",
            world.simulator.login_url().as_str(),
        )
        .env("CONNECTORD__SALESFORCE__ALLOW_LOOPBACK_HTTP", "true")
        // Any free port for /healthz, /readyz, /metrics: tests run side by side.
        .env("CONNECTORD__HTTP__LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "trace");
    command
}

/// Runs the binary to the end without blocking the runtime that serves the simulator.
pub(crate) async fn connectord(world: &World, args: &[&str]) -> std::process::Output {
    command(world, args)
        .output()
        .await
        .expect("connectord runs")
}

async fn wait_for_phase(world: &World, id: uuid::Uuid, phase: Phase) {
    let what = format!("{phase}");
    world
        .wait_until(&[id], 30, &what, async || {
            world.phase(id).await == Some(phase)
        })
        .await;
}

#[sqlx::test]
async fn the_daemon_follows_toggles_and_exits_0_on_sigterm(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &["Account.Industry"], true).await;
    let mut daemon = command(&world, &["run"])
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("daemon starts");

    wait_for_phase(&world, id, Phase::Ready).await;
    store::set_enabled(&world.pool, id, false).await.unwrap();
    wait_for_phase(&world, id, Phase::Disabled).await;
    crate::lifecycle::assert_nothing_left(&org);

    let pid = daemon.id().expect("running").to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), daemon.wait())
        .await
        .expect("exits after SIGTERM")
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

#[sqlx::test]
async fn bad_configuration_exits_2_with_one_line_naming_the_key(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    for (name, value, key) in [
        (
            "CONNECTORD__RECONCILER__RESYNC_INTERVAL",
            "soon",
            "reconciler.resync_interval",
        ),
        (
            "CONNECTORD__RECONCILER__CONCURRENCY",
            "lots",
            "reconciler.concurrency",
        ),
        ("DATABASE_URL", "mysql://nowhere/x", "database.url"),
        ("CONNECTORD__SECRETS__KEY", "", "secrets.key"),
        (
            "CONNECTORD__SALESFORCE__CLIENT_ID",
            "",
            "salesforce.client_id",
        ),
        (
            "CONNECTORD__SALESFORCE__CLIENT_SECRET",
            " ",
            "salesforce.client_secret",
        ),
    ] {
        let out = command(&world, &["run"])
            .env(name, value)
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}={value}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(key), "{key} named in: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
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
    let not_ready = connectord(&world, &["token", &id.to_string(), "--tenant", "acme"]).await;
    assert_eq!(
        not_ready.status.code(),
        Some(1),
        "not ready yet: {}",
        String::from_utf8_lossy(&not_ready.stderr)
    );
    world.converge(id).await;

    let out = connectord(&world, &["token", &id.to_string(), "--tenant", "acme"]).await;

    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let token = json["access_token"].as_str().expect("a token");
    assert!(!token.is_empty());
    let expires_at = json["expires_at"].as_str().expect("expires_at");
    chrono::DateTime::parse_from_rfc3339(expires_at).expect("RFC 3339");
    assert_eq!(
        json["instance_url"],
        org.instance_url().as_str().trim_end_matches('/')
    );
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(!logs.contains(token), "the token is printed on stdout only");
    assert!(!logs.contains(&org.admin_refresh_token()));
}

#[sqlx::test]
async fn after_a_key_rotation_the_daemon_reseals_everything_with_the_new_key(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &["Account.Industry"], true).await;
    world.converge(id).await;
    let old = base64::engine::general_purpose::STANDARD.encode(world.key);
    let new_key: [u8; 32] = rand::random();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rotation.toml");
    std::fs::write(&file, format!("[secrets]\nprevious_keys = [\"{old}\"]\n")).unwrap();

    let mut daemon = command(&world, &["run"])
        .env("CONNECTORD_CONFIG", &file)
        .env(
            "CONNECTORD__SECRETS__KEY",
            base64::engine::general_purpose::STANDARD.encode(new_key),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("daemon starts");

    let only_new = connectord::secrets::Sealer::new(new_key, []);
    let mut resealed = false;
    for _ in 0..100 {
        let token = store::load_refresh_token(&world.pool, &only_new, id).await;
        let app = connectord::reconcile::record::active_credentials(&world.pool, id)
            .await
            .unwrap();
        let app_opens = app.is_some_and(|(_, sealed)| {
            only_new
                .open(id, connectord::secrets::Purpose::ConsumerSecret, &sealed)
                .is_ok()
        });
        if matches!(token, Ok(Some(_))) && app_opens {
            resealed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    daemon.kill().await.ok();
    assert!(
        resealed,
        "the refresh token and the app secret open with the new key alone"
    );
}
