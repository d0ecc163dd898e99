//! Shared fixtures: keys, rows written the way the product writes them, and the binary.

use std::process::Output;

use base64::Engine as _;
use connectord::secrets::Sealer;
use sqlx::PgPool;
use tokio::{io::AsyncWriteExt as _, process::Command};
use uuid::Uuid;

pub const KEY: [u8; 32] = [0x11; 32];
pub const OTHER_KEY: [u8; 32] = [0x22; 32];

pub fn sealer() -> Sealer {
    Sealer::new(KEY, [])
}

pub fn key_base64(key: [u8; 32]) -> String {
    base64::engine::general_purpose::STANDARD.encode(key)
}

/// Inserts a row with plain SQL, as the product does.
pub async fn insert(pool: &PgPool, tenant: &str, instance_url: &str) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO connections (tenant_id, instance_url) VALUES ($1, $2) RETURNING id",
    )
    .bind(tenant)
    .bind(instance_url)
    .fetch_one(pool)
    .await
}

pub async fn set_phase(pool: &PgPool, id: Uuid, phase: &str) {
    sqlx::query(
        "INSERT INTO connection_status (connection_id, phase) VALUES ($1, $2)
         ON CONFLICT (connection_id) DO UPDATE SET phase = EXCLUDED.phase",
    )
    .bind(id)
    .bind(phase)
    .execute(pool)
    .await
    .unwrap();
}

/// The message of the database error a write failed with.
pub fn db_message(error: sqlx::Error) -> String {
    match error.as_database_error() {
        Some(db) => db.message().to_owned(),
        None => panic!("expected a database error, got {error:?}"),
    }
}

/// The URL of the test's own database, derived from `DATABASE_URL`.
pub fn database_url(pool: &PgPool) -> String {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL is set for #[sqlx::test]");
    let mut url = url::Url::parse(&base).expect("DATABASE_URL is a URL");
    let database = pool
        .connect_options()
        .get_database()
        .expect("a test database")
        .to_owned();
    url.set_path(&database);
    url.to_string()
}

/// Runs the real binary against the test's database, with `stdin` piped in and
/// `secrets.key` set to [`KEY`] unless `env` says otherwise.
pub async fn connectord(pool: &PgPool, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_connectord"));
    for (name, _) in std::env::vars() {
        if name.starts_with("CONNECTORD") {
            command.env_remove(name);
        }
    }
    command
        .args(args)
        .env("DATABASE_URL", database_url(pool))
        .env("CONNECTORD__SECRETS__KEY", key_base64(KEY))
        .env("CONNECTORD__LOG__FORMAT", "pretty")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("the binary starts");
    let mut input = child.stdin.take().expect("stdin is piped");
    input
        .write_all(stdin.as_bytes())
        .await
        .expect("stdin takes the input");
    drop(input);
    child.wait_with_output().await.expect("the binary finishes")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
