//! Where the machine's PostgreSQL server binaries are: the first folder holding both `initdb`
//! and `postgres`, looked for on `PATH`, then in `pg_config --bindir`, then under the usual
//! install folders (newest version first).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The install folders looked in after `PATH` and `pg_config`, as glob-like patterns whose one
/// `*` is a version: Debian and Ubuntu, RHEL and Fedora (PGDG), source builds, Homebrew.
const USUAL_FOLDERS: [&str; 6] = [
    "/usr/lib/postgresql/*/bin",
    "/usr/pgsql-*/bin",
    "/usr/local/pgsql/bin",
    "/opt/homebrew/opt/postgresql@*/bin",
    "/usr/local/opt/postgresql@*/bin",
    "/opt/homebrew/bin",
];

/// The folder holding `initdb` and `postgres`, or `None` when there is none.
pub fn find() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain(pg_config_bindir())
        .chain(USUAL_FOLDERS.iter().flat_map(|pattern| expand(pattern)))
        .find(|dir| has_server(dir))
}

/// Where the searched folders are, for the message that says none has the binaries.
pub fn searched() -> String {
    format!("PATH, `pg_config --bindir`, {}", USUAL_FOLDERS.join(", "))
}

fn has_server(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("postgres").is_file()
}

fn pg_config_bindir() -> Option<PathBuf> {
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    let dir = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !dir.trim().is_empty()).then(|| PathBuf::from(dir.trim()))
}

/// The folders matching `pattern` (one `*` at most), the highest version first.
fn expand(pattern: &str) -> Vec<PathBuf> {
    let Some((head, tail)) = pattern.split_once('*') else {
        return vec![PathBuf::from(pattern)];
    };
    let (parent, prefix) = head.rsplit_once('/').unwrap_or(("", head));
    let (suffix, rest) = tail.split_once('/').unwrap_or((tail, ""));
    let Ok(entries) = std::fs::read_dir(if parent.is_empty() { "/" } else { parent }) else {
        return Vec::new();
    };
    let mut found: Vec<(Vec<u32>, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let version = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
            Some((version_key(version), entry.path().join(rest)))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0));
    found.into_iter().map(|(_, dir)| dir).collect()
}

/// "15" → [15], "9.6" → [9, 6]; anything not a number sorts lowest.
fn version_key(version: &str) -> Vec<u32> {
    version
        .split('.')
        .map(|part| part.parse().unwrap_or(0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_numerically_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        for version in ["9.6", "15", "10", "16"] {
            std::fs::create_dir_all(dir.path().join(version).join("bin")).unwrap();
        }
        let pattern = format!("{}/*/bin", dir.path().display());
        let found: Vec<_> = expand(&pattern)
            .into_iter()
            .map(|p| p.parent().unwrap().file_name().unwrap().to_owned())
            .collect();
        assert_eq!(found, ["16", "15", "10", "9.6"]);
    }
}
