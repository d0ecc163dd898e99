//! A deploy's zip: `package.xml`, optional `destructiveChanges.xml`, and component files in
//! the folders the Metadata API names for each type.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use super::xml::{self, Element};

/// The External Client App types: (type, folder, suffix).
pub const TYPES: &[(&str, &str, &str)] = &[
    ("ExternalClientApplication", "externalClientApps", "eca"),
    (
        "ExtlClntAppOauthSettings",
        "extlClntAppOauthSettings",
        "ecaOauth",
    ),
    (
        "ExtlClntAppGlobalOauthSettings",
        "extlClntAppGlobalOauthSets",
        "ecaGlblOauth",
    ),
    (
        "ExtlClntAppOauthConfigurablePolicies",
        "extlClntAppOauthPolicies",
        "ecaOauthPlcy",
    ),
    (
        "ExtlClntAppConfigurablePolicies",
        "extlClntAppPolicies",
        "ecaPlcy",
    ),
];

/// A component named in `package.xml`, with its parsed file.
#[derive(Debug, Clone)]
pub struct Component {
    pub kind: String,
    pub name: String,
    pub file: String,
    pub xml: Element,
}

/// A problem found while reading the package; it fails the deploy.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub kind: String,
    pub name: String,
    pub file: String,
    pub message: String,
}

/// Everything a deploy carries.
#[derive(Debug, Clone, Default)]
pub struct Package {
    pub components: Vec<Component>,
    pub destructive: Vec<(String, String)>,
    pub problems: Vec<Problem>,
}

fn problem(kind: &str, name: &str, file: &str, message: impl Into<String>) -> Problem {
    Problem {
        kind: kind.into(),
        name: name.into(),
        file: file.into(),
        message: message.into(),
    }
}

/// `(type, member)` pairs of a manifest.
fn members(manifest: &Element) -> Vec<(String, String)> {
    manifest
        .children_named("types")
        .flat_map(|t| {
            let kind = t.child_text("name").unwrap_or_default().to_string();
            t.children_named("members")
                .map(move |m| (kind.clone(), m.text.trim().to_string()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Reads the zip. A zip that cannot be read at all is an `Err` (the request is refused).
pub fn read(zip_bytes: &[u8]) -> Result<Package, String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip_bytes)).map_err(|e| e.to_string())?;
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(|e| e.to_string())?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().to_string();
        let mut text = String::new();
        entry
            .read_to_string(&mut text)
            .map_err(|e| format!("{name}: {e}"))?;
        files.insert(name, text);
    }
    let mut package = Package::default();
    let manifest_path = files
        .keys()
        .find(|k| {
            k.as_str() == "package.xml"
                || (k.ends_with("/package.xml") && k.matches('/').count() == 1)
        })
        .cloned();
    let Some(manifest_path) = manifest_path else {
        package.problems.push(problem(
            "",
            "package.xml",
            "package.xml",
            "No package.xml found",
        ));
        return Ok(package);
    };
    let base = manifest_path.trim_end_matches("package.xml").to_string();
    let manifest = match xml::parse(&files[&manifest_path]) {
        Ok(m) => m,
        Err(e) => {
            package.problems.push(problem(
                "",
                "package.xml",
                &manifest_path,
                format!("Error parsing file: {e}"),
            ));
            return Ok(package);
        }
    };
    for (kind, name) in members(&manifest) {
        let Some((_, folder, suffix)) = TYPES.iter().find(|(t, _, _)| *t == kind) else {
            package.problems.push(problem(
                &kind,
                &name,
                "package.xml",
                format!("Unknown type name '{kind}' specified in package.xml"),
            ));
            continue;
        };
        if name == "*" {
            package.problems.push(problem(
                &kind,
                &name,
                "package.xml",
                "Wildcards are not supported for this metadata type in this deploy",
            ));
            continue;
        }
        let file = format!("{base}{folder}/{name}.{suffix}");
        let Some(text) = files.get(&file) else {
            package.problems.push(problem(&kind, &name, "package.xml", format!("An object '{name}' of type {kind} was named in package.xml, but was not found in zipped directory")));
            continue;
        };
        match xml::parse(text) {
            Ok(element) if element.name == kind => {
                package.components.push(Component {
                    kind,
                    name,
                    file,
                    xml: element,
                });
            }
            Ok(element) => package.problems.push(problem(
                &kind,
                &name,
                &file,
                format!(
                    "Error parsing file: root element {} does not match type {kind}",
                    element.name
                ),
            )),
            Err(e) => package.problems.push(problem(
                &kind,
                &name,
                &file,
                format!("Error parsing file: {e}"),
            )),
        }
    }
    let destructive_path = format!("{base}destructiveChanges.xml");
    if let Some(text) = files.get(&destructive_path) {
        match xml::parse(text) {
            Ok(element) => {
                for (kind, name) in members(&element) {
                    if name.contains('*') {
                        package.problems.push(problem(
                            &kind,
                            &name,
                            "destructiveChanges.xml",
                            "Wildcards are not allowed in destructive changes",
                        ));
                    } else if !TYPES.iter().any(|(t, _, _)| *t == kind) {
                        package.problems.push(problem(
                            &kind,
                            &name,
                            "destructiveChanges.xml",
                            format!(
                                "Unknown type name '{kind}' specified in destructiveChanges.xml"
                            ),
                        ));
                    } else {
                        package.destructive.push((kind, name));
                    }
                }
            }
            Err(e) => package.problems.push(problem(
                "",
                "destructiveChanges.xml",
                &destructive_path,
                format!("Error parsing file: {e}"),
            )),
        }
    }
    Ok(package)
}
