//! 4. The cost of idling: one `connectord run` process over N settled connections, none due
//!    during the window. The rows are written straight into the database (`ready`, resync an
//!    hour away): provisioning tens of thousands for real would take longer than the whole
//!    benchmark, and a settled connection's rows are all the idle loop reads.

use std::time::{Duration, Instant};

use crate::daemon::{Daemon, cpu_seconds_precise, cpu_seconds_precise_of_all};
use crate::db::Throwaway;
use crate::world::World;

/// Start-up, and the late statistics of PostgreSQL's idle backends, are left out.
pub const WARM_UP: Duration = Duration::from_secs(12);

pub struct Idle {
    pub connections: usize,
    pub window: Duration,
    pub cpu_seconds_per_hour: f64,
    pub db_cpu_seconds_per_hour: f64,
    pub commits_per_second: f64,
    pub rss_mib: f64,
}

async fn insert_settled(db: &Throwaway, count: usize) -> anyhow::Result<()> {
    let mut tx = db.pool.begin().await?;
    sqlx::query(
        "INSERT INTO connections (id, tenant_id, instance_url, required_fields, enabled)
         SELECT gen_random_uuid(), 'idle-' || g, 'https://idle' || g || '.my.salesforce.com',
                ARRAY['Account.Industry'], true
           FROM generate_series(1, $1) g",
    )
    .bind(count as i64)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO connection_status (connection_id, phase, observed_generation, verified_at,
                                        last_reconciled_at, next_attempt_at)
         SELECT id, 'ready', generation, now(), now(),
                now() + interval '1 hour' + random() * interval '10 minutes'
           FROM connections",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO connection_state (connection_id) SELECT id FROM connections")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    // A settled fleet has been vacuumed long since: start from that, not from the dead rows
    // the load itself left (connection_due is rewritten as statuses arrive).
    sqlx::query("VACUUM ANALYZE").execute(&db.pool).await?;
    Ok(())
}

pub async fn measure(db: Throwaway, connections: usize, window: Duration) -> anyhow::Result<Idle> {
    let world = World::start(&db, crate::world::orgs("idle", 1, 5, 0)).await?;
    insert_settled(&db, connections).await?;
    let daemon = Daemon::start(&world, &[]).await?;
    // Let start-up (migrations, first claims, pool warm-up) pass, and its statistics reach
    // pg_stat_database: an idle backend flushes them up to 10 s late (PostgreSQL 15).
    tokio::time::sleep(WARM_UP).await;
    let backends = db.daemon_backends().await?;
    let db_cpu_before = cpu_seconds_precise_of_all(&backends);
    let cpu_before = cpu_seconds_precise(daemon.pid as i32)?;
    let commits_before = db.commits().await?;
    let start = Instant::now();
    tokio::time::sleep(window).await;
    let seconds = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds_precise(daemon.pid as i32)? - cpu_before;
    let db_cpu = cpu_seconds_precise_of_all(&backends) - db_cpu_before;
    // Backends flush their statistics at most once a second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let commits = db.commits().await? - commits_before;
    let rss_mib = daemon.rss_mib()?;
    let still_ready = world.count_in("ready").await?;
    anyhow::ensure!(
        still_ready == connections as i64,
        "{still_ready} of {connections} settled connections still ready"
    );
    daemon.stop().await?;
    world.shutdown().await;
    Ok(Idle {
        connections,
        window,
        cpu_seconds_per_hour: cpu / seconds * 3600.0,
        db_cpu_seconds_per_hour: db_cpu / seconds * 3600.0,
        // Two of the commits are this benchmark's own statistics reads.
        commits_per_second: (commits - 2).max(0) as f64 / seconds,
        rss_mib,
    })
}
