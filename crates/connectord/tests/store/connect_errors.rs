//! A database that cannot be reached is reported at once with its cause and where the
//! connection was going (host, port, database), never the password: `connectord status`
//! against a port nothing listens on, a missing database, a wrong password, a server that
//! never answers.

use std::process::Output;
use std::time::{Duration, Instant};

use connectord::embedded_db::EmbeddedDb;

const PASSWORD: &str = "hunter2-do-not-print";

/// `connectord status` on `url`, with its output and how long it took.
async fn status(url: &str, env: &[(&str, &str)]) -> (Output, Duration) {
    let started = Instant::now();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_connectord"))
        .arg("status")
        .env("DATABASE_URL", url)
        .envs(env.iter().copied())
        .output()
        .await
        .expect("the binary runs");
    (output, started.elapsed())
}

/// Asserts a failure whose one stderr line names `cause`, the target, and no password.
fn assert_reported(output: &Output, cause: &str, port: u16, database: &str) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    for part in [
        cause,
        "host 127.0.0.1",
        &format!("port {port}"),
        &format!("database {database}"),
    ] {
        assert!(stderr.contains(part), "{part:?} missing from: {stderr}");
    }
    assert!(!stderr.contains(PASSWORD), "{stderr}");
    assert!(!stderr.contains("pool timed out"), "{stderr}");
    stderr
}

fn free_port() -> u16 {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    socket.local_addr().expect("bound").port()
}

#[tokio::test]
async fn a_port_nothing_listens_on_is_reported_as_refused_at_once() {
    let port = free_port();
    let url = format!("postgres://postgres:{PASSWORD}@127.0.0.1:{port}/connectord_refused");
    let (output, took) = status(&url, &[]).await;
    assert_reported(&output, "connection refused", port, "connectord_refused");
    // Before: the pool retried for the whole connect timeout (5 s) and said "pool timed out".
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[tokio::test]
async fn a_missing_database_is_reported_as_missing() {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL is set for the tests");
    let mut url = url::Url::parse(&base).expect("DATABASE_URL is a URL");
    let port = url.port().expect("the test server's port");
    let database = format!(
        "connectord_missing_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    url.set_path(&database);
    let (output, _) = status(url.as_str(), &[]).await;
    assert_reported(&output, "the database does not exist", port, &database);
}

#[tokio::test]
async fn a_wrong_password_is_reported_as_an_authentication_failure() {
    let cluster = tokio::task::spawn_blocking(|| EmbeddedDb::start_with_password("right-one"))
        .await
        .unwrap()
        .expect("a cluster with password authentication starts");
    let port = cluster.port();
    let url = format!("postgres://postgres:{PASSWORD}@127.0.0.1:{port}/postgres");
    let (output, _) = status(&url, &[]).await;
    let stderr = assert_reported(&output, "authentication failed", port, "postgres");
    assert!(stderr.contains("user postgres"), "{stderr}");
    tokio::task::spawn_blocking(move || drop(cluster))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_server_that_never_answers_is_reported_as_a_timeout_within_the_connect_timeout() {
    // Accepts connections and never says a word.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let url = format!("postgres://postgres:{PASSWORD}@127.0.0.1:{port}/connectord_silent");
    let env = [("CONNECTORD__DATABASE__CONNECT_TIMEOUT", "1s")];
    let (output, took) = status(&url, &env).await;
    assert_reported(&output, "no answer within 1s", port, "connectord_silent");
    assert!(took < Duration::from_secs(4), "took {took:?}");
    silent.abort();
}
