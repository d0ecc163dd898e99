//! `connectord run` as separate processes, for the tests of a fleet sharing one database.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use base64::Engine as _;
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::World;

/// A running daemon: its pid (part of its lease owner id), its operations port and its log.
pub struct Daemon {
    child: tokio::process::Child,
    pub pid: u32,
    pub port: u16,
    pub log: PathBuf,
}

/// The URL of the database behind `pool` on the shared server.
pub fn database_url(pool: &PgPool) -> String {
    let options = pool.connect_options();
    format!(
        "postgres://postgres@127.0.0.1:{}/{}",
        options.get_port(),
        options.get_database().expect("test database name")
    )
}

fn free_port() -> u16 {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    socket.local_addr().expect("bound").port()
}

impl Daemon {
    /// Starts `connectord run` on `database_url` for `world`'s simulator and key, with short
    /// leases and polls; `settings` are extra `CONNECTORD__…` variables.
    pub async fn start(world: &World, database_url: &str, settings: &[(&str, &str)]) -> Daemon {
        let port = free_port();
        let log = std::env::temp_dir().join(format!("connectord-e2e-{}.log", Uuid::new_v4()));
        let file = std::fs::File::create(&log).expect("log file");
        let key = base64::engine::general_purpose::STANDARD.encode(world.key);
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_connectord"));
        command
            .arg("run")
            .env("DATABASE_URL", database_url)
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
            .env("CONNECTORD__HTTP__LISTEN", format!("127.0.0.1:{port}"))
            .env("CONNECTORD__RECONCILER__LEASE_EXPIRY", "2s")
            .env("CONNECTORD__RECONCILER__POLL_INTERVAL", "200ms")
            .env("CONNECTORD__DATABASE__CONNECT_TIMEOUT", "1s")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(file)
            .kill_on_drop(true);
        for (name, value) in settings {
            command.env(name, value);
        }
        let child = command.spawn().expect("the daemon starts");
        let pid = child.id().expect("running");
        let daemon = Daemon {
            child,
            pid,
            port,
            log,
        };
        daemon.wait_until_ready().await;
        daemon
    }

    /// `connection_leases.owner LIKE` this matches the daemon's leases.
    pub fn owner_pattern(&self) -> String {
        format!("%:{}:%", self.pid)
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// GET on the operations port: status and body (status 0 when nothing answers).
    pub async fn get(&self, path: &str) -> (u16, String) {
        let url = format!("http://127.0.0.1:{}{path}", self.port);
        match reqwest::get(&url).await {
            Ok(response) => {
                let status = response.status().as_u16();
                (status, response.text().await.unwrap_or_default())
            }
            Err(_) => (0, String::new()),
        }
    }

    /// Waits until `/readyz` answers 200.
    pub async fn wait_until_ready(&self) {
        self.wait_for_readyz(200).await;
    }

    pub async fn wait_for_readyz(&self, wanted: u16) {
        for _ in 0..300 {
            if self.get("/readyz").await.0 == wanted {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("/readyz never answered {wanted}; log:\n{}", self.logs());
    }

    pub async fn signal(&self, name: &str) {
        let sent = tokio::process::Command::new("kill")
            .args([&format!("-{name}"), &self.pid.to_string()])
            .status()
            .await
            .expect("kill runs");
        assert!(sent.success(), "kill -{name} {}", self.pid);
    }

    pub fn still_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub async fn exit_status(&mut self) -> ExitStatus {
        tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("did not exit; log:\n{}", self.logs()))
            .expect("wait")
    }
}

impl Drop for Daemon {
    /// Kills the process and waits (briefly, blocking) until it is gone, so that its database
    /// sessions are closed before the test's database is dropped.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.start_kill();
            for _ in 0..100 {
                if !matches!(self.child.try_wait(), Ok(None)) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// Leases `pattern`'s owner holds now.
pub async fn held_by(pool: &PgPool, pattern: &str) -> Vec<Uuid> {
    sqlx::query_scalar("SELECT connection_id FROM connection_leases WHERE owner LIKE $1")
        .bind(pattern)
        .fetch_all(pool)
        .await
        .expect("leases")
}

/// How many connections are not yet where their row says (`ready` when enabled, else
/// `disabled`, for the current generation).
pub async fn unconverged(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM connections c
           LEFT JOIN connection_status s ON s.connection_id = c.id
          WHERE s.connection_id IS NULL OR s.observed_generation <> c.generation
             OR s.phase <> CASE WHEN c.enabled THEN 'ready' ELSE 'disabled' END",
    )
    .fetch_one(pool)
    .await
    .expect("count")
}

/// Waits until every connection converged; panics with the phases and `logs` if not in time.
/// Waits (up to 30 s) until `count` connections are `ready` or `action_required`.
pub async fn wait_settled(pool: &PgPool, count: i64) {
    for _ in 0..300 {
        let settled: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM connection_status WHERE phase IN ('ready', 'action_required')",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        if settled == count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn wait_converged(pool: &PgPool, seconds: u64, logs: impl Fn() -> String) {
    for _ in 0..seconds * 5 {
        if unconverged(pool).await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let phases: Vec<(String, Option<String>, i64)> = sqlx::query_as(
        "SELECT s.phase, s.error_code, count(*) FROM connections c
           LEFT JOIN connection_status s ON s.connection_id = c.id GROUP BY 1, 2",
    )
    .fetch_all(pool)
    .await
    .unwrap_or_default();
    panic!(
        "{} connections did not converge in {seconds} s: {phases:?}\n{}",
        unconverged(pool).await,
        logs()
    );
}

/// Pairs of claims of one connection whose intervals overlap (must be none).
pub async fn overlapping_claims(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM connection_lease_history a
           JOIN connection_lease_history b
             ON a.connection_id = b.connection_id AND a.epoch < b.epoch
          WHERE b.claimed_at < coalesce(a.released_at, 'infinity')",
    )
    .fetch_one(pool)
    .await
    .expect("overlaps")
}
