//! The process metrics every Prometheus client library exports (`process_cpu_seconds_total`,
//! `process_resident_memory_bytes`, `process_open_fds`), read from `/proc/self` at scrape time.
//! Elsewhere than Linux they stay at 0.

use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

pub struct ProcessMetrics {
    registry: Registry,
    cpu_seconds: Counter<f64, AtomicU64>,
    resident_memory: Gauge,
    open_fds: Gauge,
}

/// What `/proc/self/stat` says, in clock ticks and pages.
#[derive(Debug, PartialEq)]
struct Stat {
    cpu_ticks: u64,
    rss_pages: i64,
}

/// Fields after the command name (which may hold spaces and parentheses): state is field 3,
/// utime 14, stime 15, rss 24 (proc(5)).
fn parse_stat(text: &str) -> Option<Stat> {
    let (_, rest) = text.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).copied();
    let utime: u64 = field(14)?.parse().ok()?;
    let stime: u64 = field(15)?.parse().ok()?;
    let rss_pages: i64 = field(24)?.parse().ok()?;
    Some(Stat {
        cpu_ticks: utime.saturating_add(stime),
        rss_pages,
    })
}

impl ProcessMetrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let cpu_seconds = Counter::<f64, AtomicU64>::default();
        registry.register(
            "process_cpu_seconds",
            "User and system CPU time spent, in seconds",
            cpu_seconds.clone(),
        );
        let resident_memory = Gauge::default();
        registry.register(
            "process_resident_memory_bytes",
            "Resident memory size in bytes",
            resident_memory.clone(),
        );
        let open_fds = Gauge::default();
        registry.register(
            "process_open_fds",
            "Number of open file descriptors",
            open_fds.clone(),
        );
        ProcessMetrics {
            registry,
            cpu_seconds,
            resident_memory,
            open_fds,
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Reads `/proc/self` again; a value that cannot be read is left as it was.
    pub fn refresh(&self) {
        if let Some(stat) = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .as_deref()
            .and_then(parse_stat)
        {
            // SAFETY: sysconf only reads a system constant.
            let (ticks, page) = unsafe {
                (
                    libc::sysconf(libc::_SC_CLK_TCK),
                    libc::sysconf(libc::_SC_PAGESIZE),
                )
            };
            if ticks > 0 {
                let seconds = stat.cpu_ticks as f64 / ticks as f64;
                let delta = seconds - self.cpu_seconds.get();
                if delta > 0.0 {
                    self.cpu_seconds.inc_by(delta);
                }
            }
            // c_long is i64 here, i32 on 32-bit targets.
            #[allow(clippy::useless_conversion)]
            if page > 0 {
                self.resident_memory
                    .set(stat.rss_pages.saturating_mul(i64::from(page)));
            }
        }
        if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
            // The directory handle itself is one of the entries.
            let count = entries.count().saturating_sub(1);
            self.open_fds.set(i64::try_from(count).unwrap_or(i64::MAX));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_name_with_spaces_and_parentheses_does_not_shift_the_fields() {
        // Fields 3..=24: state S, then utime (14) = 7, stime (15) = 5, rss (24) = 1000.
        let line = "42 (a) b (c)) S 1 2 3 4 5 6 7 8 9 10 7 5 0 0 0 0 0 0 0 0 1000 0 0";
        assert_eq!(
            parse_stat(line),
            Some(Stat {
                cpu_ticks: 12,
                rss_pages: 1000
            })
        );
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) S 1 2"), None);
    }
}
