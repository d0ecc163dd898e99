//! deploy/kubernetes/: a kustomize base whose objects match the binary.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_norway::Value;

use crate::kit::{self, at, list, text};

const BASE: &str = "deploy/kubernetes";

/// Every object of the base, with the file it came from.
fn objects() -> Vec<(String, Value)> {
    let kustomization = kit::yaml(&format!("{BASE}/kustomization.yaml"));
    list(at(&kustomization, &["resources"]))
        .iter()
        .flat_map(|file| {
            let file = text(file);
            kit::yaml_documents(&format!("{BASE}/{file}"))
                .into_iter()
                .map(move |o| (file.clone(), o))
        })
        .collect()
}

fn object(kind: &str) -> Value {
    let mut found: Vec<Value> = objects()
        .into_iter()
        .filter(|(_, o)| o.get("kind").map(text).as_deref() == Some(kind))
        .map(|(_, o)| o)
        .collect();
    assert_eq!(found.len(), 1, "one {kind}");
    found.remove(0)
}

/// A container's env as (name, literal value or None when it comes from a Secret).
fn env(container: &Value) -> Vec<(String, Option<String>)> {
    list(at(container, &["env"]))
        .iter()
        .map(|e| {
            let value = e.get("value").map(text);
            if value.is_none() {
                let secret = at(e, &["valueFrom", "secretKeyRef"]);
                assert!(secret.get("name").is_some() && secret.get("key").is_some());
            }
            (text(at(e, &["name"])), value)
        })
        .collect()
}

fn only_container(pod_template: &Value) -> Value {
    let containers = list(at(pod_template, &["spec", "containers"]));
    assert_eq!(containers.len(), 1);
    containers[0].clone()
}

fn args(container: &Value) -> Vec<String> {
    list(at(container, &["args"])).iter().map(text).collect()
}

#[test]
fn the_kustomization_lists_every_manifest_in_the_base_and_nothing_missing() {
    let kustomization = kit::yaml(&format!("{BASE}/kustomization.yaml"));
    let listed: BTreeSet<String> = list(at(&kustomization, &["resources"]))
        .iter()
        .map(text)
        .collect();
    let on_disk: BTreeSet<String> = std::fs::read_dir(kit::root().join(BASE))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") && n != "kustomization.yaml")
        .collect();
    assert_eq!(listed, on_disk);
    let kinds: BTreeSet<String> = objects()
        .iter()
        .map(|(_, o)| text(at(o, &["kind"])))
        .collect();
    for kind in [
        "Deployment",
        "Job",
        "Secret",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "PodMonitor",
    ] {
        assert!(kinds.contains(kind), "no {kind} in {kinds:?}");
    }
}

#[test]
fn the_deployment_runs_two_replicas_probed_on_the_operations_port_it_listens_on() {
    let deployment = object("Deployment");
    assert_eq!(text(at(&deployment, &["spec", "replicas"])), "2");
    let template = at(&deployment, &["spec", "template"]);
    let container = only_container(template);
    kit::assert_command_parses("deployment", &args(&container));
    assert_eq!(args(&container), ["run"]);
    let settings = kit::settings_from("deployment", &env(&container));
    let ports = list(at(&container, &["ports"]));
    let metrics = ports
        .iter()
        .find(|p| p.get("name").map(text).as_deref() == Some("metrics"))
        .expect("a port named metrics");
    assert_eq!(
        text(at(metrics, &["containerPort"])),
        kit::listen_port(&settings).to_string(),
        "the port is http.listen's"
    );
    assert!(
        settings.http.listen.ip().is_unspecified(),
        "the kubelet and Prometheus reach the pod's address, not loopback"
    );
    for (probe, path) in [
        ("livenessProbe", "/healthz"),
        ("readinessProbe", "/readyz"),
        ("startupProbe", "/healthz"),
    ] {
        let get = at(&container, &[probe, "httpGet"]);
        assert_eq!(text(at(get, &["path"])), path, "{probe}");
        assert!(kit::PATHS.contains(&path));
        assert_eq!(text(at(get, &["port"])), "metrics", "{probe}");
    }
    let resources = at(&container, &["resources"]);
    assert!(resources.get("requests").is_some() && resources.get("limits").is_some());
}

#[test]
fn the_grace_period_outlasts_the_shutdown_deadline_so_sigkill_never_races_the_lease_release() {
    let deployment = object("Deployment");
    let template = at(&deployment, &["spec", "template"]);
    let container = only_container(template);
    let env = env(&container);
    assert!(
        env.iter()
            .any(|(n, v)| n == "CONNECTORD__RECONCILER__SHUTDOWN_DEADLINE" && v.is_some()),
        "the deadline is set explicitly, not left to a default that could change"
    );
    let settings = kit::settings_from("deployment", &env);
    let grace: u64 = text(at(template, &["spec", "terminationGracePeriodSeconds"]))
        .parse()
        .unwrap();
    let margin = Duration::from_secs(10);
    assert!(
        Duration::from_secs(grace) >= settings.reconciler.shutdown_deadline + margin,
        "grace {grace}s against a deadline of {:?}",
        settings.reconciler.shutdown_deadline
    );
}

#[test]
fn every_pod_runs_as_non_root_on_a_read_only_root_filesystem_without_capabilities() {
    for kind in ["Deployment", "Job"] {
        let template = at(&object(kind), &["spec", "template"]).clone();
        let pod = at(&template, &["spec", "securityContext"]);
        assert_eq!(text(at(pod, &["runAsNonRoot"])), "true", "{kind}");
        assert_ne!(text(at(pod, &["runAsUser"])), "0", "{kind}");
        let container = only_container(&template);
        let security = at(&container, &["securityContext"]);
        assert_eq!(text(at(security, &["readOnlyRootFilesystem"])), "true");
        assert_eq!(text(at(security, &["allowPrivilegeEscalation"])), "false");
        let dropped: Vec<String> = list(at(security, &["capabilities", "drop"]))
            .iter()
            .map(text)
            .collect();
        assert_eq!(dropped, ["ALL"], "{kind}");
    }
}

#[test]
fn the_migrate_job_runs_migrate_with_the_database_from_a_secret() {
    let job = object("Job");
    let container = only_container(at(&job, &["spec", "template"]));
    assert_eq!(args(&container), ["migrate"]);
    kit::assert_command_parses("job", &args(&container));
    let env = env(&container);
    kit::settings_from("job", &env);
    assert!(env.iter().any(|(n, v)| n == "DATABASE_URL" && v.is_none()));
}

#[test]
fn secrets_are_templates_holding_no_real_value_and_match_what_the_pods_reference() {
    let mut provided = BTreeSet::new();
    for (file, o) in objects() {
        if text(at(&o, &["kind"])) != "Secret" {
            continue;
        }
        let name = text(at(&o, &["metadata", "name"]));
        assert!(
            o.get("data").is_none(),
            "{file}: stringData placeholders only"
        );
        for (key, value) in at(&o, &["stringData"]).as_mapping().unwrap() {
            assert_eq!(text(value), "REPLACE_ME", "{file}: {name} holds a value");
            provided.insert((name.clone(), text(key)));
        }
    }
    for kind in ["Deployment", "Job"] {
        let container = only_container(at(&object(kind), &["spec", "template"]));
        for e in list(at(&container, &["env"])) {
            if let Some(secret) = e.get("valueFrom") {
                let secret = at(secret, &["secretKeyRef"]);
                let reference = (text(at(secret, &["name"])), text(at(secret, &["key"])));
                assert!(
                    provided.contains(&reference),
                    "{kind}: {reference:?} not provided"
                );
            }
        }
    }
}

#[test]
fn the_network_policy_lets_out_only_dns_postgres_and_https() {
    let policy = object("NetworkPolicy");
    let types: Vec<String> = list(at(&policy, &["spec", "policyTypes"]))
        .iter()
        .map(text)
        .collect();
    assert!(types.contains(&"Egress".to_owned()) && types.contains(&"Ingress".to_owned()));
    let egress: BTreeSet<String> = list(at(&policy, &["spec", "egress"]))
        .iter()
        .flat_map(|rule| list(at(rule, &["ports"])))
        .map(|p| text(at(&p, &["port"])))
        .collect();
    let wanted: BTreeSet<String> = ["53", "443", "5432"].map(String::from).into();
    assert_eq!(egress, wanted);
    let selector = at(&policy, &["spec", "podSelector", "matchLabels"]);
    assert!(selects(selector, "Deployment") && selects(selector, "Job"));
    let ingress: Vec<String> = list(at(&policy, &["spec", "ingress"]))
        .iter()
        .flat_map(|rule| list(at(rule, &["ports"])))
        .map(|p| text(at(&p, &["port"])))
        .collect();
    let deployment = object("Deployment");
    let container = only_container(at(&deployment, &["spec", "template"]));
    let settings = kit::settings_from("deployment", &env(&container));
    assert_eq!(ingress, [kit::listen_port(&settings).to_string()]);
}

/// Whether `selector` (matchLabels) selects the pods of `kind`'s template.
fn selects(selector: &Value, kind: &str) -> bool {
    let workload = object(kind);
    let pod_labels = at(&workload, &["spec", "template", "metadata", "labels"]);
    selector
        .as_mapping()
        .unwrap()
        .iter()
        .all(|(k, v)| pod_labels.get(k) == Some(v))
}

#[test]
fn the_pod_monitor_and_the_disruption_budget_select_the_daemons_pods() {
    let matches = |selector: &Value| selects(selector, "Deployment");
    let monitor = object("PodMonitor");
    assert!(matches(at(&monitor, &["spec", "selector", "matchLabels"])));
    let endpoint = &list(at(&monitor, &["spec", "podMetricsEndpoints"]))[0];
    assert_eq!(text(at(endpoint, &["port"])), "metrics");
    assert_eq!(text(at(endpoint, &["path"])), "/metrics");
    let budget = object("PodDisruptionBudget");
    assert!(matches(at(&budget, &["spec", "selector", "matchLabels"])));
    assert_eq!(text(at(&budget, &["spec", "minAvailable"])), "1");
}
