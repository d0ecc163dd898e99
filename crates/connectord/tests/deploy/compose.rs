//! deploy/compose.yaml, the Dockerfile and .dockerignore.

use serde_norway::Value;

use crate::kit::{self, at, list, text};

fn compose() -> Value {
    let mut compose = kit::yaml("deploy/compose.yaml");
    // The replicas share one block through a YAML merge key.
    compose.apply_merge().expect("merge keys resolve");
    compose
}

fn service(compose: &Value, name: &str) -> Value {
    at(compose, &["services", name]).clone()
}

fn command(service: &Value) -> Vec<String> {
    list(at(service, &["command"])).iter().map(text).collect()
}

fn env(service: &Value) -> Vec<(String, Option<String>)> {
    at(service, &["environment"])
        .as_mapping()
        .expect("environment is a mapping")
        .iter()
        .map(|(k, v)| (text(k), Some(text(v))))
        .collect()
}

const REPLICAS: &[&str] = &["connectord-a", "connectord-b"];

#[test]
fn compose_runs_migrate_once_then_two_replicas_on_distinct_ports_scraped_by_prometheus() {
    let compose = compose();
    let migrate = service(&compose, "migrate");
    assert_eq!(command(&migrate), ["migrate"]);
    kit::assert_command_parses("migrate", &command(&migrate));
    let settings = kit::settings_from("migrate", &env(&migrate));
    // `docker compose run migrate connection add` seals the token with the replicas' key.
    let replica = kit::settings_from(REPLICAS[0], &env(&service(&compose, REPLICAS[0])));
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(&settings.secrets.key),
        secrecy::ExposeSecret::expose_secret(&replica.secrets.key)
    );
    assert_eq!(text(at(&migrate, &["restart"])), "no");

    let simulator = service(&compose, "simulator");
    kit::assert_command_parses("simulator", &command(&simulator));
    assert_eq!(command(&simulator)[0], "simulate");
    let published: Vec<String> = list(at(&simulator, &["ports"])).iter().map(text).collect();

    let prometheus = kit::yaml("deploy/observability/prometheus.yml");
    let job = &list(at(&prometheus, &["scrape_configs"]))[0];
    assert_eq!(text(at(job, &["metrics_path"])), "/metrics");
    let targets: Vec<String> = list(at(&list(at(job, &["static_configs"]))[0], &["targets"]))
        .iter()
        .map(text)
        .collect();

    let mut ports = Vec::new();
    for name in REPLICAS {
        let replica = service(&compose, name);
        assert_eq!(command(&replica), ["run"], "{name}");
        kit::assert_command_parses(name, &command(&replica));
        let depends = at(&replica, &["depends_on", "migrate", "condition"]);
        assert_eq!(text(depends), "service_completed_successfully", "{name}");
        let settings = kit::settings_from(name, &env(&replica));
        let port = kit::listen_port(&settings);
        // They live in the simulator's network namespace: its loopback orgs are theirs.
        assert_eq!(text(at(&replica, &["network_mode"])), "service:simulator");
        assert!(settings.salesforce.allow_loopback_http);
        assert!(
            settings
                .salesforce
                .login_url
                .as_str()
                .starts_with("http://127.0.0.1:8443")
        );
        assert!(
            published.contains(&format!("{port}:{port}")),
            "{name}: {port}"
        );
        assert!(
            targets.contains(&format!("simulator:{port}")),
            "{name}: {targets:?}"
        );
        let grace = humantime::parse_duration(&text(at(&replica, &["stop_grace_period"]))).unwrap();
        assert!(grace > settings.reconciler.shutdown_deadline, "{name}");
        ports.push(port);
    }
    ports.dedup();
    assert_eq!(ports.len(), REPLICAS.len(), "one operations port each");
    let rules = list(at(&prometheus, &["rule_files"]));
    assert_eq!(rules.len(), 1);
}

#[test]
fn grafana_is_provisioned_with_the_dashboard_and_prometheus_with_the_rules() {
    let compose = compose();
    for (name, mounts) in [
        (
            "grafana",
            &[
                "observability/dashboard.json",
                "observability/grafana/datasource.yaml",
                "observability/grafana/dashboards.yaml",
            ][..],
        ),
        (
            "prometheus",
            &["observability/prometheus.yml", "observability/alerts.yaml"][..],
        ),
    ] {
        let volumes: Vec<String> = list(at(&service(&compose, name), &["volumes"]))
            .iter()
            .map(text)
            .collect();
        for file in mounts {
            let mount = volumes
                .iter()
                .find(|v| v.starts_with(&format!("./{file}:")))
                .unwrap_or_else(|| panic!("{name} does not mount {file}: {volumes:?}"));
            assert!(kit::exists(&format!("deploy/{file}")), "{file}");
            let inside = mount.split(':').nth(1).unwrap();
            if file.ends_with("dashboard.json") {
                let provider = kit::yaml("deploy/observability/grafana/dashboards.yaml");
                let path = text(at(
                    &list(at(&provider, &["providers"]))[0],
                    &["options", "path"],
                ));
                assert!(
                    inside.starts_with(&format!("{path}/")),
                    "{inside} under {path}"
                );
            }
            if file.ends_with("alerts.yaml") {
                let prometheus = kit::yaml("deploy/observability/prometheus.yml");
                let rules = text(&list(at(&prometheus, &["rule_files"]))[0]);
                assert_eq!(inside, rules);
            }
        }
    }
}

#[test]
fn the_build_context_leaves_out_target_and_git_and_the_image_checks_itself_with_connectord_health()
{
    let ignore = kit::read(".dockerignore");
    let entries: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for wanted in ["target/", ".git/"] {
        assert!(entries.contains(&wanted), "{wanted} in .dockerignore");
    }
    for needed in ["Cargo.toml", "Cargo.lock", "crates/", ".cargo/"] {
        let name = needed.trim_end_matches('/');
        assert!(
            !entries.iter().any(|e| e.trim_end_matches('/') == name),
            "the build needs {needed}"
        );
    }

    let dockerfile = kit::read("Dockerfile");
    for label in [
        "title",
        "description",
        "version",
        "revision",
        "created",
        "licenses",
    ] {
        assert!(
            dockerfile.contains(&format!("org.opencontainers.image.{label}=")),
            "OCI label {label}"
        );
    }
    let healthcheck = dockerfile
        .lines()
        .skip_while(|l| !l.starts_with("HEALTHCHECK --"))
        .nth(1)
        .expect("a HEALTHCHECK with a command");
    let exec: Vec<String> = serde_json::from_str(healthcheck.trim().trim_start_matches("CMD "))
        .expect("exec form: no shell in the image");
    assert_eq!(exec[0], "/usr/local/bin/connectord");
    kit::assert_command_parses("HEALTHCHECK", &exec[1..]);
    assert_eq!(exec[1..], ["health"]);
    // The daemon image listens where it says it does.
    let listen = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("ENV CONNECTORD__HTTP__LISTEN="))
        .expect("the image sets http.listen");
    let settings = kit::settings_from(
        "Dockerfile",
        &[("CONNECTORD__HTTP__LISTEN".into(), Some(listen.into()))],
    );
    let port = kit::listen_port(&settings);
    assert!(
        dockerfile.contains(&format!("EXPOSE {port}\n")),
        "EXPOSE {port}"
    );
    for target in ["AS simulator", "AS daemon"] {
        assert!(dockerfile.contains(target), "{target}");
    }
    let last_from = dockerfile
        .lines()
        .rev()
        .find(|l| l.starts_with("FROM "))
        .unwrap();
    assert!(
        last_from.ends_with("AS daemon"),
        "the default target is the daemon"
    );
}
