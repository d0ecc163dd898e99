//! A database outage under a running daemon, on a throwaway PostgreSQL cluster of its own
//! (`initdb` + `pg_ctl` on a free port in a temporary directory; never the shared server).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use connectord::simulator::SimulatorConfig;
use connectord::store::{self, Phase};
use sqlx::postgres::PgPoolOptions;

use crate::daemons::{self, Daemon};
use crate::support::World;

/// A PostgreSQL cluster in a temporary directory, stopped and removed on drop.
struct Cluster {
    dir: tempfile::TempDir,
    port: u16,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// Runs a PostgreSQL tool as the `postgres` user when we are root (initdb refuses root).
fn as_postgres(program: &str, args: &[&str]) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--", program]).args(args);
        command
    } else {
        let mut command = Command::new(program);
        command.args(args);
        command
    }
}

fn run(mut command: Command) {
    let out = command.output().expect("the PostgreSQL tool runs");
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Cluster {
    fn create() -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        if is_root() {
            let mut chown = Command::new("chown");
            chown.args(["postgres:", &dir.path().to_string_lossy()]);
            run(chown);
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .expect("a free port")
            .port();
        let cluster = Cluster { dir, port };
        let data = cluster.data();
        run(as_postgres(
            "initdb",
            &["-D", &data, "-U", "postgres", "-A", "trust", "--no-sync"],
        ));
        cluster.start();
        cluster
    }

    fn data(&self) -> String {
        self.dir.path().join("data").to_string_lossy().into_owned()
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    fn start(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        run(as_postgres(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &path(&self.log()),
                "-w",
                "start",
            ],
        ));
    }

    fn stop(&self) {
        run(as_postgres(
            "pg_ctl",
            &["-D", &self.data(), "-m", "fast", "-w", "stop"],
        ));
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_postgres("pg_ctl", &["-D", &self.data(), "-m", "immediate", "stop"]).output();
    }
}

#[tokio::test]
async fn the_daemon_survives_a_database_restart_and_converges_what_changed_after_it() {
    let cluster = tokio::task::spawn_blocking(Cluster::create).await.unwrap();
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&cluster.url("postgres"))
        .await
        .expect("the throwaway cluster answers");
    sqlx::query("CREATE DATABASE connectord")
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let url = cluster.url("connectord");
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(2))
        .connect(&url)
        .await
        .unwrap();
    store::migrate(&pool).await.unwrap();
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let mut daemon = Daemon::start(&world, &url, &[]).await;
    let before = world.add("acme", &org, &["Account.Industry"], true).await;
    daemons::wait_converged(&world.pool, 30, || daemon.logs()).await;

    tokio::task::spawn_blocking({
        let data = cluster.data();
        move || {
            run(as_postgres(
                "pg_ctl",
                &["-D", &data, "-m", "fast", "-w", "stop"],
            ))
        }
    })
    .await
    .unwrap();
    daemon.wait_for_readyz(503).await;
    assert!(daemon.still_running(), "{}", daemon.logs());
    let (_, why) = daemon.get("/readyz").await;
    assert!(why.contains("database unreachable"), "{why}");

    let cluster = tokio::task::spawn_blocking(move || {
        cluster.start();
        cluster
    })
    .await
    .unwrap();
    daemon.wait_until_ready().await;
    store::set_enabled(&world.pool, before, false)
        .await
        .unwrap();
    let after = world.add("globex", &org, &["Account.Name"], true).await;
    daemons::wait_converged(&world.pool, 60, || daemon.logs()).await;

    assert_eq!(world.status(before).await.phase, Phase::Disabled);
    assert_eq!(world.status(after).await.phase, Phase::Ready);
    assert!(daemon.still_running());
    daemon.signal("TERM").await;
    assert_eq!(
        daemon.exit_status().await.code(),
        Some(0),
        "{}",
        daemon.logs()
    );
    world.pool.close().await;
    tokio::task::spawn_blocking(move || cluster.stop())
        .await
        .unwrap();
}
