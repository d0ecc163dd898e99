//! `connectord health`: the image's health check, against a running daemon's listener.

use std::process::Output;

use connectord_sim::SimulatorConfig;
use sqlx::PgPool;

use crate::daemons::{Daemon, database_url};
use crate::support::World;

/// `connectord health` with `http.listen` set to `listen`, and nothing else.
async fn health(listen: &str) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_connectord"))
        .arg("health")
        .env_clear()
        .env("CONNECTORD__HTTP__LISTEN", listen)
        .output()
        .await
        .expect("connectord health runs")
}

fn free_port() -> u16 {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    socket.local_addr().unwrap().port()
}

#[sqlx::test]
async fn health_exits_0_against_a_ready_daemon_listening_on_all_addresses(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let daemon = Daemon::start(&world, &database_url(&world.pool), &[]).await;
    // As in the image: http.listen is 0.0.0.0:PORT, and the probe asks loopback.
    let output = health(&format!("0.0.0.0:{}", daemon.port)).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn health_exits_1_when_nothing_listens() {
    let output = health(&format!("127.0.0.1:{}", free_port())).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/readyz did not answer"), "{stderr}");
}

#[tokio::test]
async fn health_exits_1_when_readyz_answers_503() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new().route(
        "/readyz",
        axum::routing::get(|| async {
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "not ready: database unreachable\n",
            )
        }),
    );
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let output = health(&format!("127.0.0.1:{port}")).await;
    server.abort();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("answered 503: not ready: database unreachable"),
        "{stderr}"
    );
}
