//! A throwaway database on the benchmark's server (the one `DATABASE_URL` names, else a
//! throwaway cluster of its own started in `main.rs`), created for one measurement and dropped
//! after.

use anyhow::Context as _;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// The `application_name` of the benchmark's own sessions (to tell them from the daemon's).
const OWN_APPLICATION: &str = "connectord-bench";

/// The server the benchmark uses: `DATABASE_URL` without its database.
fn server() -> anyhow::Result<String> {
    let url = std::env::var("DATABASE_URL").context("DATABASE_URL is set by main")?;
    let mut url = url::Url::parse(&url).context("DATABASE_URL is a URL")?;
    url.set_path("");
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[derive(Clone)]
pub struct Throwaway {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
}

impl Throwaway {
    /// Creates `connectord_bench_<random>` and applies the migrations.
    pub async fn create() -> anyhow::Result<Throwaway> {
        let name = format!(
            "connectord_bench_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let server = server()?;
        let admin = PgPool::connect(&format!("{server}/postgres"))
            .await
            .context("connecting to the benchmark's PostgreSQL server")?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await?;
        admin.close().await;
        let url = format!("{server}/{name}");
        let options: PgConnectOptions = url.parse()?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect_with(options.application_name(OWN_APPLICATION))
            .await?;
        connectord::store::migrate(&pool).await?;
        Ok(Throwaway { name, url, pool })
    }

    /// Closes the pool and drops the database (and any session still on it).
    pub async fn drop_now(&self) -> anyhow::Result<()> {
        self.pool.close().await;
        let admin = PgPool::connect(&format!("{}/postgres", server()?)).await?;
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&admin)
        .await?;
        admin.close().await;
        Ok(())
    }

    /// Transactions committed in this database so far (`pg_stat_database.xact_commit`).
    pub async fn commits(&self) -> anyhow::Result<i64> {
        // Statistics are flushed by each backend at most once a second; clear this session's
        // snapshot so the figure is fresh.
        sqlx::query("SELECT pg_stat_clear_snapshot()")
            .execute(&self.pool)
            .await?;
        let commits: i64 = sqlx::query_scalar(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(commits)
    }

    /// The server processes serving this database for others than the benchmark (the
    /// daemons), to read their CPU time.
    pub async fn daemon_backends(&self) -> anyhow::Result<Vec<i32>> {
        let pids: Vec<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity
              WHERE datname = current_database() AND application_name <> $1",
        )
        .bind(OWN_APPLICATION)
        .fetch_all(&self.pool)
        .await?;
        Ok(pids)
    }
}

/// Runs `measure` on a fresh database and drops the database whatever happened.
pub async fn with_database<T, F, Fut>(measure: F) -> anyhow::Result<T>
where
    F: FnOnce(Throwaway) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let db = Throwaway::create().await?;
    let result = measure(db.clone()).await;
    let dropped = db.drop_now().await;
    let value = result?;
    dropped?;
    Ok(value)
}
