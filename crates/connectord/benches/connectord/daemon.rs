//! `connectord run` as a separate process, the way operators run it, and what the kernel says
//! it costs (`/proc/<pid>/stat`, `/proc/<pid>/status`).
//!
//! The binary is the one Cargo builds beside this benchmark (`CARGO_BIN_EXE_connectord` is set
//! for benchmarks as for integration tests), so `cargo bench` measures a release build.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;

use crate::world::World;

pub struct Daemon {
    child: tokio::process::Child,
    pub pid: u32,
    port: u16,
    log: PathBuf,
}

fn free_port() -> anyhow::Result<u16> {
    let socket = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(socket.local_addr()?.port())
}

/// Clock ticks per second of `/proc/<pid>/stat` (USER_HZ: 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

impl Daemon {
    /// Starts `connectord run` for `world` with `settings` (`CONNECTORD__…` pairs) on top of the
    /// defaults, and waits until `/readyz` answers 200.
    pub async fn start(world: &World, settings: &[(&str, &str)]) -> anyhow::Result<Daemon> {
        let port = free_port()?;
        let log = std::env::temp_dir().join(format!(
            "connectord-bench-{}.log",
            uuid::Uuid::new_v4().simple()
        ));
        let file = std::fs::File::create(&log)?;
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_connectord"));
        command
            .arg("run")
            .envs(world.env())
            .env("CONNECTORD__HTTP__LISTEN", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(file)
            .kill_on_drop(true);
        for (name, value) in settings {
            command.env(name, value);
        }
        let child = command.spawn().context("starting connectord run")?;
        let pid = child.id().context("the daemon exited at once")?;
        let daemon = Daemon {
            child,
            pid,
            port,
            log,
        };
        for _ in 0..300 {
            if daemon.readyz().await == 200 {
                return Ok(daemon);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("the daemon never became ready:\n{}", daemon.log_tail())
    }

    async fn readyz(&self) -> u16 {
        let url = format!("http://127.0.0.1:{}/readyz", self.port);
        match reqwest::get(&url).await {
            Ok(response) => response.status().as_u16(),
            Err(_) => 0,
        }
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().rev().take(20).collect();
        lines.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    /// CPU seconds (user + system) the process has used so far.
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        cpu_seconds_of(self.pid as i32)
    }

    /// Resident memory (`VmRSS`) in MiB.
    pub fn rss_mib(&self) -> anyhow::Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .context("no VmRSS")?;
        Ok(kib / 1024.0)
    }

    /// SIGTERM, then waits for the exit; fails if it did not exit 0.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let status = tokio::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await?;
        anyhow::ensure!(status.success(), "kill -TERM {} failed", self.pid);
        let exit = tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .context("the daemon did not stop within 60 s")??;
        let tail = self.log_tail();
        let _ = std::fs::remove_file(&self.log);
        anyhow::ensure!(exit.success(), "the daemon exited with {exit}:\n{tail}");
        Ok(())
    }
}

/// CPU seconds (user + system) process `pid` has used, from `/proc/<pid>/stat`.
pub fn cpu_seconds_of(pid: i32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).context("bad stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12th and 13th after the name.
    let ticks = |i: usize| -> anyhow::Result<f64> {
        Ok(fields.get(i).context("short stat")?.parse::<f64>()?)
    };
    Ok((ticks(11)? + ticks(12)?) / TICKS_PER_SECOND)
}

/// CPU seconds the whole machine has spent busy (every state of `/proc/stat`'s `cpu` line but
/// idle and iowait), summed over its cores.
pub fn machine_busy_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let line = stat
        .lines()
        .find(|l| l.starts_with("cpu "))
        .context("no cpu line")?;
    let ticks: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let total: f64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3).copied().unwrap_or(0.0) + ticks.get(4).copied().unwrap_or(0.0);
    Ok((total - idle) / TICKS_PER_SECOND)
}

/// CPU seconds the live threads of `pid` have run, to the nanosecond (the first field of
/// `/proc/<pid>/task/<tid>/schedstat`). `/proc/<pid>/stat` counts 10 ms ticks, too coarse for
/// an idle process over half a minute; threads that already exited are not counted, which is
/// right for a steady process and wrong for a turn-on (that uses [`cpu_seconds_of`]).
pub fn cpu_seconds_precise(pid: i32) -> anyhow::Result<f64> {
    let mut nanos = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let path = task?.path().join("schedstat");
        // A thread may exit between the listing and the read.
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        nanos += text
            .split_whitespace()
            .next()
            .context("empty schedstat")?
            .parse::<u64>()?;
    }
    Ok(nanos as f64 / 1e9)
}

/// [`cpu_seconds_precise`] of whichever of `pids` still exist.
pub fn cpu_seconds_precise_of_all(pids: &[i32]) -> f64 {
    pids.iter()
        .filter_map(|p| cpu_seconds_precise(*p).ok())
        .sum()
}
