//! connectord's benchmarks: `cargo bench --bench connectord [-- --quick]`.
//!
//! Each measurement gets its own throwaway database, dropped at the end, on the server named by
//! `DATABASE_URL` or, without it, on a throwaway cluster of the machine's PostgreSQL binaries
//! (`connectord::embedded_db`), and its own in-process Salesforce simulator. Daemons are the real
//! `connectord run` binary Cargo builds beside this benchmark. The result is a markdown report
//! on stdout (progress on stderr). Targets are reported, never asserted: the exit code is
//! non-zero only when a measurement could not be made.
//!
//! Options: `--quick` (small sizes, for CI); `--scale 1000,10000` (connections turned on at
//! once); `--idle 1000,10000` (settled connections while idle); `--toggles 1000`;
//! `--only calls,scale,reaction,idle`.

mod calls;
mod daemon;
mod db;
mod idle;
mod reaction;
mod report;
mod scale;
mod world;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::report::{Row, Section};

struct Options {
    quick: bool,
    scale: Vec<usize>,
    idle: Vec<usize>,
    toggles: usize,
    busy_toggles: usize,
    background: usize,
    window: Duration,
    only: Option<Vec<String>>,
}

fn list(value: Option<String>, flag: &str) -> anyhow::Result<Vec<usize>> {
    let value = value.with_context(|| format!("{flag} needs a value"))?;
    value
        .split(',')
        .map(|n| n.trim().replace('_', "").parse::<usize>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("{flag} {value}: numbers separated by commas"))
}

fn options() -> anyhow::Result<Options> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let mut o = if quick {
        Options {
            quick,
            scale: vec![200],
            idle: vec![100, 1_000],
            toggles: 50,
            busy_toggles: 20,
            background: 200,
            window: Duration::from_secs(10),
            only: None,
        }
    } else {
        Options {
            quick,
            scale: vec![1_000, 10_000],
            idle: vec![1_000, 10_000],
            toggles: 1_000,
            busy_toggles: 100,
            background: 1_000,
            window: Duration::from_secs(30),
            only: None,
        }
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" | "--bench" => {}
            "--scale" => o.scale = list(args.next(), "--scale")?,
            "--idle" => o.idle = list(args.next(), "--idle")?,
            "--toggles" => {
                o.toggles = list(args.next(), "--toggles")?
                    .first()
                    .copied()
                    .unwrap_or(0)
            }
            "--only" => {
                let value = args.next().context("--only needs a value")?;
                o.only = Some(value.split(',').map(str::to_owned).collect());
            }
            other => anyhow::bail!("unknown option {other}"),
        }
    }
    Ok(o)
}

impl Options {
    fn wants(&self, what: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|o| o == what))
    }
}

/// The report's sections, and how long each part took (set-up included).
async fn run(o: &Options) -> anyhow::Result<(Vec<Section>, Vec<(&'static str, Duration)>)> {
    let mut sections = Vec::new();
    let mut took = Vec::new();
    let mut part = Instant::now();
    if o.wants("calls") {
        eprintln!("1. API calls per operation");
        let rows = db::with_database(calls::measure).await?;
        sections.push(Section {
            title: "1. Salesforce API calls per operation".to_owned(),
            rows,
            notes: vec![
                "Counted by the simulator; OAuth token requests are left out (they do not count \
                 against the org's daily API allowance)."
                    .to_owned(),
            ],
        });
        took.push(("calls", part.elapsed()));
        part = Instant::now();
    }
    let mut runs = Vec::new();
    if o.wants("scale") && !o.scale.is_empty() {
        eprintln!("2. convergence at scale {:?}", o.scale);
        runs = scale::measure(&o.scale).await?;
        sections.push(Section {
            title: format!(
                "2. Convergence at scale ({} ms latency on every call, concurrency {} per process)",
                scale::LATENCY.as_millis(),
                scale::CONCURRENCY
            ),
            rows: scale::rows(&runs),
            notes: vec![
                "Time from one `UPDATE connections SET enabled = true` to every connection \
                 `ready`. Bound: N × calls per connection × latency ÷ (concurrency × processes)."
                    .to_owned(),
            ],
        });
        took.push(("scale", part.elapsed()));
        part = Instant::now();
    }
    if o.wants("reaction") {
        eprintln!("3. reaction time");
        let plan = reaction::Plan {
            idle_toggles: o.toggles,
            busy_toggles: o.busy_toggles,
            background: o.background,
        };
        let rows = db::with_database(|db| reaction::measure(db, plan)).await?;
        sections.push(Section {
            title: "3. Reaction time".to_owned(),
            rows,
            notes: Vec::new(),
        });
        took.push(("reaction", part.elapsed()));
        part = Instant::now();
    }
    if o.wants("idle") {
        let mut rows = Vec::new();
        let mut smallest: Option<idle::Idle> = None;
        for &n in &o.idle {
            eprintln!("4. idling over {n} settled connections");
            let idle = db::with_database(|db| idle::measure(db, n, o.window)).await?;
            rows.extend(idle_rows(&idle, smallest.as_ref()));
            smallest.get_or_insert(idle);
        }
        sections.push(Section {
            title: "4. Cost of idling".to_owned(),
            rows,
            notes: vec![format!(
                "One `connectord run` over settled connections written straight into the \
                 database (`ready`, next resync an hour away), measured over {} s after a {} s \
                 warm-up.",
                o.window.as_secs(),
                idle::WARM_UP.as_secs()
            )],
        });
        took.push(("idle", part.elapsed()));
    }
    if !runs.is_empty() {
        sections.push(Section {
            title: "5. CPU per provisioning".to_owned(),
            rows: scale::cpu_rows(&runs),
            notes: Vec::new(),
        });
    }
    Ok((sections, took))
}

/// Database load must not grow with the number of settled connections: each size after the
/// first is held against the first (the reference), allowing 50 % plus a little absolute noise.
fn idle_rows(idle: &idle::Idle, reference: Option<&idle::Idle>) -> Vec<Row> {
    let n = idle.connections;
    let flat = |value: f64, of: fn(&idle::Idle) -> f64, noise: f64| match reference {
        Some(r) => (
            value <= of(r) * 1.5 + noise,
            format!("≤ 1.5 × the {} figure", r.connections),
        ),
        None => (true, "the reference for larger N".to_owned()),
    };
    let (commits_met, commits_target) =
        flat(idle.commits_per_second, |i| i.commits_per_second, 0.1);
    let (cpu_met, cpu_target) = flat(
        idle.db_cpu_seconds_per_hour,
        |i| i.db_cpu_seconds_per_hour,
        0.5,
    );
    vec![
        Row {
            what: format!("{n} settled: resident memory"),
            measured: format!("{:.1} MiB", idle.rss_mib),
            target: "< 150 MB".to_owned(),
            bound: "—".to_owned(),
            met: idle.rss_mib * 1.048_576 < 150.0,
            note: "VmRSS of the process at the end of the window".to_owned(),
        },
        Row {
            what: format!("{n} settled: daemon CPU"),
            measured: format!("{:.1} CPU s/h", idle.cpu_seconds_per_hour),
            target: "(reported)".to_owned(),
            bound: "—".to_owned(),
            met: true,
            note: format!(
                "over {} s, from each thread's /proc/<pid>/task/<tid>/schedstat",
                idle.window.as_secs()
            ),
        },
        Row {
            what: format!("{n} settled: database transactions"),
            measured: format!("{:.2} /s", idle.commits_per_second),
            target: format!("independent of N: {commits_target}"),
            bound: "—".to_owned(),
            met: commits_met,
            note: "`pg_stat_database.xact_commit` of the bench database".to_owned(),
        },
        Row {
            what: format!("{n} settled: database server CPU"),
            measured: format!("{:.1} CPU s/h", idle.db_cpu_seconds_per_hour),
            target: format!("independent of N: {cpu_target}"),
            bound: "—".to_owned(),
            met: cpu_met,
            note: "the daemon's PostgreSQL backends, from /proc/<pid>/task/<tid>/schedstat"
                .to_owned(),
        },
    ]
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .unwrap_or_default()
        .trim()
        .to_owned();
    format!("{cores} cores, {model}, {memory} memory")
}

/// Without `DATABASE_URL`, one throwaway PostgreSQL cluster serves the whole run.
#[ctor::ctor(unsafe)]
fn database() {
    connectord::embedded_db::provide_database_url_or_exit();
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("connectord bench: {e:#}");
            return ExitCode::from(2);
        }
    };
    let start = Instant::now();
    match run(&options).await {
        Ok((sections, took)) => {
            println!(
                "## connectord benchmarks{}\n",
                if options.quick { " (quick)" } else { "" }
            );
            println!(
                "Machine: {}. Date: {}.",
                machine(),
                chrono::Utc::now().to_rfc3339()
            );
            report::print(&sections);
            let parts: Vec<String> = took
                .iter()
                .map(|(what, d)| format!("{what} {:.0} s", d.as_secs_f64()))
                .collect();
            println!(
                "\nTotal time: {:.0} s ({}).",
                start.elapsed().as_secs_f64(),
                parts.join(", ")
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("connectord bench: a measurement could not be made: {e:#}");
            ExitCode::FAILURE
        }
    }
}
