//! 2. Convergence at scale and 5. CPU per provisioning: N connections turned on at once (one
//!    `UPDATE`) against orgs answering every call after 50 ms, with one and two `connectord run`
//!    processes.

use std::time::{Duration, Instant};

use crate::daemon::{Daemon, cpu_seconds_of, machine_busy_seconds};
use crate::db::{Throwaway, with_database};
use crate::report::Row;
use crate::world::{World, orgs};

pub const LATENCY: Duration = Duration::from_millis(50);
/// `reconciler.concurrency` default.
pub const CONCURRENCY: usize = 16;
/// The client waits this long before its first deploy status poll (`Tuning::default`).
const DEPLOY_FIRST_POLL: Duration = Duration::from_millis(250);

pub struct Run {
    pub connections: usize,
    pub processes: usize,
    pub seconds: f64,
    /// Calls per connection, token requests included (they take the latency too).
    pub calls_per_connection: f64,
    pub billable_per_connection: f64,
    /// Daemon CPU seconds (all processes) per connection turned on.
    pub cpu_per_connection: f64,
    /// CPU seconds over the turn-on: the daemons, this process (the simulator), the whole machine.
    pub cpu_daemons: f64,
    pub cpu_simulator: f64,
    pub cpu_machine: f64,
}

impl Run {
    /// N × calls × latency ÷ (concurrency × processes).
    pub fn bound(&self) -> f64 {
        self.connections as f64 * self.calls_per_connection * LATENCY.as_secs_f64()
            / (CONCURRENCY * self.processes) as f64
    }

    /// Where the machine's CPU went during the turn-on.
    pub fn cpu_split(&self) -> String {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let other = (self.cpu_machine - self.cpu_daemons - self.cpu_simulator).max(0.0);
        format!(
            "machine CPU {:.0} % busy of {cores} cores: daemons {:.0} s, simulator {:.0} s, \
             the rest (PostgreSQL, the system) {other:.0} s",
            100.0 * self.cpu_machine / (self.seconds * cores),
            self.cpu_daemons,
            self.cpu_simulator,
        )
    }

    /// The same with the client's wait before its first deploy poll added to every connection.
    pub fn bound_with_deploy_wait(&self) -> f64 {
        self.connections as f64
            * (self.calls_per_connection * LATENCY.as_secs_f64() + DEPLOY_FIRST_POLL.as_secs_f64())
            / (CONCURRENCY * self.processes) as f64
    }
}

async fn converge(db: Throwaway, connections: usize, processes: usize) -> anyhow::Result<Run> {
    // About a hundred connections per org, so that no org's tables grow unusually large.
    let org_count = (connections / 100).max(1);
    let per_org = connections.div_ceil(org_count);
    let world = World::start(&db, orgs("scale", org_count, per_org as u32 + 5, 0)).await?;
    let handles = world.simulator.orgs();
    let ids = world.add_many(&handles, per_org, false).await?;
    let total = ids.len();
    let mut fleet = Vec::new();
    for _ in 0..processes {
        fleet.push(Daemon::start(&world, &[]).await?);
    }
    // Every connection is first settled as disabled, so that the turn-on is all that is timed.
    world
        .wait_for("disabled", total as i64, Duration::from_secs(600))
        .await?;
    World::reset_calls(&handles);
    for org in &handles {
        org.faults().set_latency(LATENCY);
    }
    let cpu_before: f64 = fleet.iter().map(|d| d.cpu_seconds().unwrap_or(0.0)).sum();
    let simulator_before = cpu_seconds_of(std::process::id() as i32)?;
    let machine_before = machine_busy_seconds()?;
    let start = Instant::now();
    sqlx::query("UPDATE connections SET enabled = true")
        .execute(&db.pool)
        .await?;
    let limit = Duration::from_secs((total as u64 / 4).max(300));
    let waited = world.wait_for("ready", total as i64, limit).await;
    let seconds = start.elapsed().as_secs_f64();
    let cpu_after: f64 = fleet.iter().map(|d| d.cpu_seconds().unwrap_or(0.0)).sum();
    let cpu_simulator = cpu_seconds_of(std::process::id() as i32)? - simulator_before;
    let cpu_machine = machine_busy_seconds()? - machine_before;
    if let Err(e) = waited {
        let logs: Vec<String> = fleet.iter().map(Daemon::log_tail).collect();
        anyhow::bail!("{e}\n{}", logs.join("\n---\n"));
    }
    let all_calls: u64 = handles.iter().map(|o| o.api_calls().total).sum();
    let billable = World::billable_calls(&handles);
    for daemon in fleet {
        daemon.stop().await?;
    }
    world.shutdown().await;
    Ok(Run {
        connections: total,
        processes,
        seconds,
        calls_per_connection: all_calls as f64 / total as f64,
        billable_per_connection: billable as f64 / total as f64,
        cpu_per_connection: (cpu_after - cpu_before) / total as f64,
        cpu_daemons: cpu_after - cpu_before,
        cpu_simulator,
        cpu_machine,
    })
}

pub async fn measure(sizes: &[usize]) -> anyhow::Result<Vec<Run>> {
    let mut runs = Vec::new();
    for &n in sizes {
        for processes in [1, 2] {
            let run = with_database(|db| converge(db, n, processes)).await?;
            eprintln!(
                "  {n} connections, {processes} process(es): {:.1} s",
                run.seconds
            );
            runs.push(run);
        }
    }
    Ok(runs)
}

pub fn rows(runs: &[Run]) -> Vec<Row> {
    let mut rows = Vec::new();
    for run in runs {
        let bound = run.bound();
        let one = runs
            .iter()
            .find(|r| r.connections == run.connections && r.processes == 1);
        let speedup = one.map(|o| o.seconds / run.seconds);
        let (target, met) = if run.processes == 1 {
            (
                format!("≤ {:.1} s (1.5 × bound)", 1.5 * bound),
                run.seconds <= 1.5 * bound,
            )
        } else {
            (
                format!("≤ {:.1} s (1.5 × bound), ≈ 2× faster than one", 1.5 * bound),
                run.seconds <= 1.5 * bound && speedup.is_some_and(|s| s >= 1.8),
            )
        };
        rows.push(Row {
            what: format!(
                "{} connections, {} process{}",
                run.connections,
                run.processes,
                if run.processes == 1 { "" } else { "es" }
            ),
            measured: format!("{:.1} s", run.seconds),
            target,
            bound: format!(
                "{bound:.1} s ({:.1} s with the 250 ms wait before the first deploy poll)",
                run.bound_with_deploy_wait()
            ),
            met,
            note: format!(
                "{:.2} calls per connection ({:.2} without token requests){}; {}",
                run.calls_per_connection,
                run.billable_per_connection,
                speedup
                    .filter(|_| run.processes > 1)
                    .map(|s| format!("; {s:.2}× the speed of one process"))
                    .unwrap_or_default(),
                run.cpu_split()
            ),
        });
    }
    rows
}

pub fn cpu_rows(runs: &[Run]) -> Vec<Row> {
    runs.iter()
        .map(|run| Row {
            what: format!(
                "daemon CPU per turn-on, {} connections, {} process(es)",
                run.connections, run.processes
            ),
            measured: format!("{:.1} ms", run.cpu_per_connection * 1000.0),
            target: "(tracked for regressions)".to_owned(),
            bound: "—".to_owned(),
            met: true,
            note: "user + system time of the `connectord run` processes from /proc/<pid>/stat, \
                   over the whole turn-on (passes, claims, heartbeats, logs); waiting is not CPU"
                .to_owned(),
        })
        .collect()
}
