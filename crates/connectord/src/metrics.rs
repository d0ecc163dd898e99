//! Prometheus metrics, served on `/metrics` in the OpenMetrics text format.
//!
//! One set per process ([`global`]): the Salesforce client counts its calls from deep inside
//! its HTTP layer, and threading a handle there would touch every constructor. Gauges that
//! describe the whole fleet (connections by phase, due-queue depth) are read from the database
//! at scrape time, so every replica reports the same values for them.

use std::sync::LazyLock;

use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

mod process;

type Labels = Vec<(&'static str, String)>;

/// Every metric the daemon exports.
pub struct Metrics {
    registry: Registry,
    /// `process_*` (the names every Prometheus client library uses, without the prefix).
    process: process::ProcessMetrics,
    /// Passes by `outcome` (`ready`, `disabled`, `failed`, `action_required`, `gone`,
    /// `lease_lost`, `interrupted`, `error`) and `error_code`.
    pub passes: Family<Labels, Counter>,
    pub pass_duration: Histogram,
    pub passes_in_flight: Gauge,
    /// Passes in flight that stepped out of their slot to wait (see [`crate::slot`]).
    pub passes_waiting: Gauge,
    /// Connections by `phase` and `error_code` (fleet-wide, read at scrape time).
    pub connections: Family<Labels, Gauge>,
    /// Salesforce HTTP calls (each attempt) by `operation` and `status`.
    pub salesforce_calls: Family<Labels, Counter>,
    /// Share of the daily API allowance used, by `org` (origin), from `Sforce-Limit-Info`.
    pub api_usage: Family<Labels, Gauge<f64, AtomicU64>>,
    pub lease_takeovers: Counter,
    pub leases_lost: Counter,
    /// Due connections nobody holds (fleet-wide, read at scrape time).
    pub due: Gauge,
    /// From a change of the desired state to the pass that made the connection ready.
    pub desired_to_ready: Histogram,
    /// 1 when this replica's `/readyz` would answer 200 (set at scrape time).
    pub ready: Gauge,
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("connectord");
        let passes = Family::<Labels, Counter>::default();
        registry.register("passes", "Reconcile passes by outcome", passes.clone());
        let pass_duration = Histogram::new(exponential_buckets(0.01, 2.0, 16));
        registry.register(
            "pass_duration_seconds",
            "How long one reconcile pass took",
            pass_duration.clone(),
        );
        let passes_in_flight = Gauge::default();
        registry.register(
            "passes_in_flight",
            "Passes running in this process",
            passes_in_flight.clone(),
        );
        let passes_waiting = Gauge::default();
        registry.register(
            "passes_waiting",
            "Passes in flight that gave their slot back while they wait (a deploy, a retry)",
            passes_waiting.clone(),
        );
        let connections = Family::<Labels, Gauge>::default();
        registry.register(
            "connections",
            "Connections by phase and error code",
            connections.clone(),
        );
        let salesforce_calls = Family::<Labels, Counter>::default();
        registry.register(
            "salesforce_calls",
            "Salesforce HTTP calls by operation and status",
            salesforce_calls.clone(),
        );
        let api_usage = Family::<Labels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "salesforce_api_usage_ratio",
            "Share of the org's daily API allowance used, from Sforce-Limit-Info",
            api_usage.clone(),
        );
        let lease_takeovers = Counter::default();
        registry.register(
            "lease_takeovers",
            "Connections claimed from a replica that stopped heart-beating",
            lease_takeovers.clone(),
        );
        let leases_lost = Counter::default();
        registry.register(
            "leases_lost",
            "Leases this process found taken while it worked",
            leases_lost.clone(),
        );
        let due = Gauge::default();
        registry.register(
            "due_connections",
            "Connections with work due that nobody holds",
            due.clone(),
        );
        let desired_to_ready = Histogram::new(exponential_buckets(0.1, 2.0, 16));
        registry.register(
            "desired_to_ready_seconds",
            "Time from a change of the desired state to phase ready",
            desired_to_ready.clone(),
        );
        let ready = Gauge::default();
        registry.register(
            "ready",
            "1 when this replica is ready (what /readyz answers), else 0",
            ready.clone(),
        );
        let build_info = Family::<Labels, Gauge>::default();
        registry.register(
            "build_info",
            "The version and commit this binary was built from (always 1)",
            build_info.clone(),
        );
        build_info
            .get_or_create(&vec![
                ("version", env!("CARGO_PKG_VERSION").to_owned()),
                ("commit", env!("CONNECTORD_COMMIT").to_owned()),
            ])
            .set(1);
        Metrics {
            registry,
            process: process::ProcessMetrics::new(),
            passes,
            pass_duration,
            passes_in_flight,
            passes_waiting,
            connections,
            salesforce_calls,
            api_usage,
            lease_takeovers,
            leases_lost,
            due,
            desired_to_ready,
            ready,
        }
    }

    /// The text exposition of every metric (the process metrics read afresh).
    pub fn render(&self) -> String {
        self.process.refresh();
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode_registry(&mut out, &self.registry);
        let _ = encode_registry(&mut out, self.process.registry());
        let _ = encode_eof(&mut out);
        out
    }

    pub fn pass_ended(&self, outcome: &str, error_code: Option<&str>, seconds: f64) {
        self.passes
            .get_or_create(&vec![
                ("outcome", outcome.to_owned()),
                ("error_code", error_code.unwrap_or("").to_owned()),
            ])
            .inc();
        self.pass_duration.observe(seconds);
    }

    /// Replaces the counts by phase and error code: every phase has a series (0 when no
    /// connection is in it), and a pair no longer present disappears.
    pub fn set_phases(&self, counts: &[(String, String, i64)]) {
        self.connections.clear();
        for phase in crate::store::Phase::ALL {
            let mut any = false;
            for (_, code, count) in counts.iter().filter(|(p, _, _)| p == phase.as_str()) {
                any = true;
                self.connections
                    .get_or_create(&vec![
                        ("phase", phase.as_str().to_owned()),
                        ("error_code", code.clone()),
                    ])
                    .set(*count);
            }
            if !any {
                self.connections
                    .get_or_create(&vec![
                        ("phase", phase.as_str().to_owned()),
                        ("error_code", String::new()),
                    ])
                    .set(0);
            }
        }
    }
}

/// The process's metrics.
pub fn global() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

/// Counts one Salesforce HTTP attempt; `status` is `None` when no answer came back.
pub fn salesforce_call(path: &str, status: Option<u16>) {
    let status = status.map_or_else(|| "transport_error".to_owned(), |s| s.to_string());
    global()
        .salesforce_calls
        .get_or_create(&vec![
            ("operation", operation(path).to_owned()),
            ("status", status),
        ])
        .inc();
}

/// A bounded name for what a call did, from its path (ids and versions left out).
pub fn operation(path: &str) -> &'static str {
    let mut parts = path.trim_matches('/').split('/');
    match (parts.next(), parts.next()) {
        (Some("services"), Some("oauth2")) => match parts.next() {
            Some("token") => "oauth_token",
            Some("revoke") => "oauth_revoke",
            _ => "oauth_other",
        },
        (Some("services"), Some("Soap")) => "metadata",
        (Some("services"), Some("data")) => {
            let _version = parts.next();
            match (parts.next(), parts.next()) {
                (None, _) => "versions",
                (Some("composite"), Some("sobjects")) => "composite_sobjects",
                (Some("composite"), _) => "composite",
                (Some("query" | "queryAll"), _) => "query",
                (Some("sobjects"), _) => "sobjects",
                (Some("tooling"), _) => "tooling",
                (Some("limits"), _) => "limits",
                (Some("apps"), _) => "apps",
                _ => "other",
            }
        }
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_leave_ids_and_versions_out() {
        assert_eq!(operation("/services/oauth2/token"), "oauth_token");
        assert_eq!(operation("/services/data/v64.0/query"), "query");
        assert_eq!(
            operation("/services/data/v64.0/sobjects/User/005000000000001"),
            "sobjects"
        );
        assert_eq!(
            operation("/services/data/v64.0/composite/sobjects"),
            "composite_sobjects"
        );
        assert_eq!(operation("/services/data/v64.0/composite"), "composite");
        assert_eq!(operation("/services/Soap/m/64.0"), "metadata");
        assert_eq!(operation("/services/data/"), "versions");
        assert_eq!(operation("/somewhere/else"), "other");
    }

    #[test]
    fn rendered_metrics_carry_the_prefix_and_labels() {
        let metrics = Metrics::new();
        metrics.pass_ended("failed", Some("ip_restricted"), 0.5);
        metrics.set_phases(&[
            ("ready".into(), String::new(), 3),
            ("action_required".into(), "ip_restricted".into(), 2),
        ]);
        let text = metrics.render();
        assert!(
            text.contains(
                r#"connectord_passes_total{outcome="failed",error_code="ip_restricted"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"connectord_connections{phase="ready",error_code=""} 3"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"connectord_connections{phase="action_required",error_code="ip_restricted"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"connectord_connections{phase="failed",error_code=""} 0"#),
            "{text}"
        );
        metrics.set_phases(&[("ready".into(), String::new(), 5)]);
        let text = metrics.render();
        assert!(
            !text.contains(r#"connectord_connections{phase="action_required",error_code="ip"#),
            "a code gone stays gone: {text}"
        );
        assert!(
            text.contains("connectord_pass_duration_seconds_count 1"),
            "{text}"
        );
    }

    #[test]
    fn the_build_and_the_process_are_described_once_with_one_eof() {
        let text = Metrics::new().render();
        let commit = env!("CONNECTORD_COMMIT");
        let version = env!("CARGO_PKG_VERSION");
        assert!(
            text.contains(&format!(
                r#"connectord_build_info{{version="{version}",commit="{commit}"}} 1"#
            )),
            "{text}"
        );
        assert_eq!(text.matches("# EOF").count(), 1, "{text}");
        assert!(text.trim_end().ends_with("# EOF"), "{text}");
        if cfg!(target_os = "linux") {
            for name in [
                "process_cpu_seconds_total ",
                "process_resident_memory_bytes ",
                "process_open_fds ",
            ] {
                let line = text.lines().find(|l| l.starts_with(name));
                let value: f64 = line
                    .and_then(|l| l.rsplit_once(' '))
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or_else(|| panic!("no {name}in {text}"));
                assert!(value >= 0.0, "{name}{value}");
            }
            assert!(
                !text.contains("process_resident_memory_bytes 0\n"),
                "{text}"
            );
        }
    }
}
