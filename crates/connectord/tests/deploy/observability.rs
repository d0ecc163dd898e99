//! deploy/observability/: the dashboard and the alert rules name only metrics and labels a
//! running daemon serves, and every alert links its runbook section.

use connectord::error_code::ErrorCode;
use connectord::store::Phase;
use connectord_sim::SimulatorConfig;
use serde_json::Value as Json;
use sqlx::PgPool;
use std::collections::{BTreeMap, BTreeSet};

use crate::daemons::{Daemon, database_url};
use crate::kit::{self, at, list, text};
use crate::metrics_text::{self, Sample};
use crate::promql;
use crate::support::World;

/// The exporter's own metric names (anything else, `up` or `vector`, is Prometheus's).
const OURS: &[&str] = &["connectord_", "process_"];
/// Labels Prometheus attaches to every scraped series.
const TARGET_LABELS: &[&str] = &["job", "instance"];

/// Every alert rule: (name, expression, runbook_url).
fn alerts() -> Vec<(String, String, String)> {
    let rules = kit::yaml("deploy/observability/alerts.yaml");
    list(at(&rules, &["groups"]))
        .iter()
        .flat_map(|g| list(at(g, &["rules"])))
        .map(|r| {
            (
                text(at(&r, &["alert"])),
                text(at(&r, &["expr"])),
                text(at(&r, &["annotations", "runbook_url"])),
            )
        })
        .collect()
}

fn dashboard() -> Json {
    serde_json::from_str(&kit::read("deploy/observability/dashboard.json"))
        .expect("the dashboard is JSON")
}

/// Every `expr` anywhere in the dashboard, with its panel's title.
fn dashboard_exprs() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for panel in dashboard()["panels"].as_array().expect("panels") {
        let title = panel["title"].as_str().unwrap_or_default().to_owned();
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr");
            out.push((title.clone(), expr.to_owned()));
        }
    }
    out
}

/// GitHub's anchor for a Markdown heading.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

#[test]
fn every_alert_links_a_section_of_the_runbook_and_the_issue_s_alerts_are_all_there() {
    let runbook = kit::read("docs/runbook.md");
    let anchors: BTreeSet<String> = runbook
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(anchor)
        .collect();
    let alerts = alerts();
    for (name, _, url) in &alerts {
        let (file, section) = url.split_once('#').expect("a section anchor");
        assert_eq!(file, "docs/runbook.md", "{name}");
        assert!(
            anchors.contains(section),
            "{name}: no section #{section} in {anchors:?}"
        );
    }
    let names: BTreeSet<&str> = alerts.iter().map(|(n, _, _)| n.as_str()).collect();
    for wanted in [
        "ConnectordNoReadyReplica",
        "ConnectordConnectionsActionRequired",
        "ConnectordPassErrorRate",
        "ConnectordOrgNearApiAllowance",
        "ConnectordLeaseTakeovers",
        "ConnectordDeploysTakingLong",
        "ConnectordToggleToReadySlow",
    ] {
        assert!(names.contains(wanted), "no alert {wanted}");
    }
}

#[test]
fn the_dashboard_reads_the_provisioned_datasource_and_has_unique_panel_ids() {
    let provisioned = kit::yaml("deploy/observability/grafana/datasource.yaml");
    let uid = text(at(&list(at(&provisioned, &["datasources"]))[0], &["uid"]));
    let dashboard = dashboard();
    let mut ids = BTreeSet::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        assert_eq!(panel["datasource"]["uid"].as_str(), Some(uid.as_str()));
        assert!(
            ids.insert(panel["id"].as_u64().expect("an id")),
            "duplicate id"
        );
    }
    assert!(!dashboard_exprs().is_empty());
}

/// Metric name → the label names and the values seen on it.
fn exported(
    text: &str,
    samples: &[Sample],
) -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let mut out: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for sample in samples {
        let labels = out.entry(sample.name.clone()).or_default();
        for (k, v) in &sample.labels {
            labels.entry(k.clone()).or_default().insert(v.clone());
        }
    }
    // A family with no sample yet (a labelled counter nothing has counted) still exists.
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            let suffixes: &[&str] = match kind {
                "counter" => &["_total"],
                "histogram" => &["_bucket", "_sum", "_count"],
                _ => &[""],
            };
            for suffix in suffixes {
                out.entry(format!("{name}{suffix}")).or_default();
            }
        }
    }
    out
}

/// What is wrong with `expr` against the served metrics (empty when nothing is).
fn problems(
    expr: &str,
    exported: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
) -> Vec<String> {
    let names = promql::names(expr, OURS);
    let mut problems = Vec::new();
    let mut labels_here = BTreeSet::new();
    for selector in &names.selectors {
        let Some(labels) = exported.get(&selector.metric) else {
            problems.push(format!("no metric {}", selector.metric));
            continue;
        };
        labels_here.extend(labels.keys().cloned());
        for (label, value) in &selector.matchers {
            let Some(seen) = labels.get(label) else {
                problems.push(format!("{} has no label {label}", selector.metric));
                continue;
            };
            let Some(value) = value else { continue };
            let known = seen.contains(value)
                || (label == "phase" && Phase::ALL.iter().any(|p| p.as_str() == value))
                || (label == "error_code" && ErrorCode::ALL.iter().any(|c| c.as_str() == value));
            if !known {
                problems.push(format!(
                    "{}{{{label}=\"{value}\"}} never exists",
                    selector.metric
                ));
            }
        }
    }
    for label in &names.grouping {
        if !labels_here.contains(label) && !TARGET_LABELS.contains(&label.as_str()) {
            problems.push(format!("grouped by {label}, which none of its metrics has"));
        }
    }
    if names.selectors.is_empty() {
        problems.push("names no metric of connectord".into());
    }
    problems
}

#[sqlx::test]
async fn every_metric_and_label_in_the_dashboard_and_the_alerts_is_served_by_a_running_daemon(
    pool: PgPool,
) {
    let world = World::start(pool, SimulatorConfig::with_orgs(2)).await;
    let daemon = Daemon::start(&world, &database_url(&world.pool), &[]).await;
    let org1 = world.org("org1");
    world.add("acme", &org1, &["Account.Name"], true).await;
    let org2 = world.org("org2");
    org2.faults().revoke_admin_refresh_token();
    world.add("initech", &org2, &["Account.Name"], true).await;
    crate::daemons::wait_settled(&world.pool, 2).await;
    let (status, text) = daemon.get("/metrics").await;
    assert_eq!(status, 200);
    let samples = metrics_text::parse(&text);
    let exported = exported(&text, &samples);

    let mut all = Vec::new();
    for (name, expr, _) in alerts() {
        all.extend(
            problems(&expr, &exported)
                .into_iter()
                .map(|p| format!("alert {name}: {p}")),
        );
    }
    for (title, expr) in dashboard_exprs() {
        all.extend(
            problems(&expr, &exported)
                .into_iter()
                .map(|p| format!("panel {title}: {p}")),
        );
    }
    assert!(all.is_empty(), "{all:#?}\n/metrics:\n{text}");

    // What the alerts lean on is there with the values they expect.
    let value = |name: &str, labels: &[(&str, &str)]| -> f64 {
        samples
            .iter()
            .filter(|s| s.name == name && labels.iter().all(|(k, v)| s.label(k) == Some(*v)))
            .map(|s| s.value)
            .sum()
    };
    assert_eq!(value("connectord_ready", &[]), 1.0);
    assert_eq!(value("connectord_build_info", &[]), 1.0);
    assert_eq!(
        value(
            "connectord_connections",
            &[
                ("phase", "action_required"),
                ("error_code", "admin_token_revoked")
            ]
        ),
        1.0,
        "{text}"
    );
    assert!(value("process_resident_memory_bytes", &[]) > 0.0);
    assert!(value("process_open_fds", &[]) > 0.0);
}

#[test]
fn a_metric_or_label_the_daemon_does_not_serve_is_reported() {
    let text = "# TYPE connectord_connections gauge\nconnectord_connections{phase=\"ready\",error_code=\"\"} 1\n# TYPE connectord_passes counter\n";
    let exported = exported(text, &metrics_text::parse(text));
    assert!(problems("max by (phase) (connectord_connections)", &exported).is_empty());
    assert!(problems("sum(rate(connectord_passes_total[5m]))", &exported).is_empty());
    for wrong in [
        "connectord_connection",
        r#"connectord_connections{org="x"}"#,
        r#"connectord_connections{phase="stuck"}"#,
        "sum by (tenant) (connectord_connections)",
        "up",
    ] {
        assert!(!problems(wrong, &exported).is_empty(), "{wrong} passed");
    }
}
