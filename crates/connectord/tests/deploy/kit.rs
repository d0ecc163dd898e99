//! Reading the kit's files, and what every manifest is held against: the settings the binary
//! knows, the commands it parses, the operations port and paths it serves.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_norway::Value;

/// The operations endpoints `src/http.rs` serves on `http.listen`.
pub const PATHS: &[&str] = &["/healthz", "/readyz", "/metrics"];

/// The repository's top folder (the workspace root), where `deploy/`, `Dockerfile` and `docs/`
/// live.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every document of a YAML file (`---` separated).
pub fn yaml_documents(relative: &str) -> Vec<Value> {
    let text = read(relative);
    serde_norway::Deserializer::from_str(&text)
        .map(|document| {
            serde::Deserialize::deserialize(document)
                .unwrap_or_else(|e| panic!("{relative} does not parse: {e}"))
        })
        .filter(|v: &Value| !v.is_null())
        .collect()
}

pub fn yaml(relative: &str) -> Value {
    let mut documents = yaml_documents(relative);
    assert_eq!(documents.len(), 1, "{relative} holds one document");
    documents.remove(0)
}

/// `value[a][b]…`, panicking with the path when a step is missing.
pub fn at<'v>(value: &'v Value, path: &[&str]) -> &'v Value {
    path.iter().fold(value, |v, key| {
        v.get(*key)
            .unwrap_or_else(|| panic!("no {} in {v:?}", path.join(".")))
    })
}

pub fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

pub fn list(value: &Value) -> Vec<Value> {
    value
        .as_sequence()
        .unwrap_or_else(|| panic!("not a list: {value:?}"))
        .clone()
}

/// `section.key` for every setting in config/default.toml (compiled into the binary: it is
/// where every setting gets its default, so a key missing there is no setting).
pub fn setting_keys() -> BTreeSet<String> {
    let mut section = String::new();
    let mut keys = BTreeSet::new();
    for line in read("crates/connectord/config/default.toml")
        .lines()
        .map(str::trim)
    {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
        } else if let Some((key, _)) = line.split_once('=').filter(|_| !line.starts_with('#')) {
            keys.insert(format!("{section}.{}", key.trim()));
        }
    }
    assert!(keys.contains("http.listen"), "{keys:?}");
    keys
}

/// Checks a container's environment against the binary: every `CONNECTORD__…` names a real
/// setting, and the whole (secrets replaced by stand-ins of the right shape) loads and
/// validates as `run` would load it. Returns the settings.
pub fn settings_from(
    where_: &str,
    env: &[(String, Option<String>)],
) -> connectord::config::Settings {
    let keys = setting_keys();
    let mut loaded = Vec::new();
    for (name, value) in env {
        if let Some(rest) = name.strip_prefix("CONNECTORD__") {
            let key = rest.to_ascii_lowercase().replace("__", ".");
            assert!(
                keys.contains(&key),
                "{where_}: {name} is no setting ({key})"
            );
        } else {
            assert!(
                ["DATABASE_URL", "RUST_LOG", "CONNECTORD_CONFIG"].contains(&name.as_str()),
                "{where_}: {name} is read by nothing"
            );
        }
        let value = value.clone().unwrap_or_else(|| stand_in(name));
        loaded.push((name.clone(), value));
    }
    connectord::config::Settings::load_from(loaded)
        .unwrap_or_else(|e| panic!("{where_}: the settings do not load: {e}"))
}

/// A value of the right shape for a variable that comes from a Secret.
fn stand_in(name: &str) -> String {
    match name {
        "DATABASE_URL" => "postgres://connectord@db:5432/connectord".into(),
        "CONNECTORD__SECRETS__KEY" => "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(),
        _ => "from-a-secret".into(),
    }
}

/// Parses a command line as `connectord` would (the first word is the subcommand).
pub fn assert_command_parses(where_: &str, args: &[String]) {
    use clap::Parser as _;
    let argv = std::iter::once("connectord".to_owned()).chain(args.iter().cloned());
    if let Err(e) = connectord::cli::Cli::try_parse_from(argv) {
        panic!(
            "{where_}: `connectord {}` does not parse: {e}",
            args.join(" ")
        );
    }
}

pub fn listen_port(settings: &connectord::config::Settings) -> u16 {
    settings.http.listen.port()
}

pub fn exists(relative: &str) -> bool {
    Path::new(&root().join(relative)).exists()
}
