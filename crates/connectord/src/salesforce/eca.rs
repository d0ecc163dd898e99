//! The External Client App package, built in memory: `package.xml` and the five component files
//! of an ECA that allows the client-credentials flow as one API-only execution user, and the
//! destructive package that removes them again.
//!
//! Types, folders and suffixes (Metadata API Developer Guide, one page per type):
//! `ExternalClientApplication` (`externalClientApps/*.eca`), `ExtlClntAppOauthSettings`
//! (`extlClntAppOauthSettings/*.ecaOauth`), `ExtlClntAppGlobalOauthSettings`
//! (`extlClntAppGlobalOauthSets/*.ecaGlblOauth`), `ExtlClntAppOauthConfigurablePolicies`
//! (`extlClntAppOauthPolicies/*.ecaOauthPlcy`), `ExtlClntAppConfigurablePolicies`
//! (`extlClntAppPolicies/*.ecaPlcy`). Elements are written in alphabetical order, as
//! Salesforce's own retrieves write them.

use std::io::Write as _;

use quick_xml::escape::escape;

const NS: &str = "http://soap.sforce.com/2006/04/metadata";

/// How the app treats the org's IP restrictions (`ipRelaxationPolicyType`); the setting
/// `salesforce.ip_relaxation` spells it `enforce` or `bypass`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IpRelaxation {
    /// Honour the org's IP restrictions (Salesforce's default).
    #[default]
    Enforce,
    /// Let the app's tokens in from any address: the remedy when IP restrictions block it.
    Bypass,
}

impl IpRelaxation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enforce => "Enforce",
            Self::Bypass => "Bypass",
        }
    }

    /// `enforce` or `bypass`, as the setting and the `connections.ip_relaxation` column spell it.
    pub fn column_value(self) -> &'static str {
        match self {
            Self::Enforce => "enforce",
            Self::Bypass => "bypass",
        }
    }

    /// The column's spelling back; `None` for anything else.
    pub fn from_column(text: &str) -> Option<Self> {
        match text {
            "enforce" => Some(Self::Enforce),
            "bypass" => Some(Self::Bypass),
            _ => None,
        }
    }
}

/// What the app should look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSpec {
    /// DeveloperName: letters, digits and underscores, starting with a letter (see
    /// [`is_developer_name`]).
    pub name: String,
    pub label: String,
    pub contact_email: String,
    pub description: String,
    /// OAuth scopes as the metadata spells them; least privilege is `["Api"]`.
    pub scopes: Vec<String>,
    /// Username of the API-only integration user that client-credentials tokens act as. The
    /// user must exist before the deploy.
    pub execution_username: String,
    pub ip_relaxation: IpRelaxation,
    pub callback_url: String,
}

/// The five components of one app, as (metadata type, folder, suffix, member name).
pub fn components(app_name: &str) -> [(&'static str, &'static str, &'static str, String); 5] {
    [
        (
            "ExternalClientApplication",
            "externalClientApps",
            "eca",
            app_name.to_owned(),
        ),
        (
            "ExtlClntAppOauthSettings",
            "extlClntAppOauthSettings",
            "ecaOauth",
            format!("{app_name}_oauth"),
        ),
        (
            "ExtlClntAppGlobalOauthSettings",
            "extlClntAppGlobalOauthSets",
            "ecaGlblOauth",
            format!("{app_name}_glbl"),
        ),
        (
            "ExtlClntAppOauthConfigurablePolicies",
            "extlClntAppOauthPolicies",
            "ecaOauthPlcy",
            format!("{app_name}_oauthPlcy"),
        ),
        (
            "ExtlClntAppConfigurablePolicies",
            "extlClntAppPolicies",
            "ecaPlcy",
            format!("{app_name}_plcy"),
        ),
    ]
}

/// Whether `name` is a valid DeveloperName (≤ 80 chars, letters/digits/underscores, starts
/// with a letter, no trailing or double underscore).
pub fn is_developer_name(name: &str) -> bool {
    name.len() <= 80
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.ends_with('_')
        && !name.contains("__")
}

/// The zip that creates (or updates) the app.
pub fn deploy_package(spec: &AppSpec, api_version: &str) -> Vec<u8> {
    let [eca, oauth, global, oauth_policies, policies] = components(&spec.name);
    let mut files = vec![(
        "package.xml".to_owned(),
        manifest(&spec.name, api_version, true),
    )];
    let app = &spec.name;
    let scopes = spec.scopes.join(",");
    let bodies = [
        (
            &eca,
            document(
                eca.0,
                &[
                    ("contactEmail", &spec.contact_email),
                    ("description", &spec.description),
                    ("distributionState", "Local"),
                    ("isProtected", "false"),
                    ("label", &spec.label),
                ],
            ),
        ),
        (
            &oauth,
            document(
                oauth.0,
                &[
                    ("commaSeparatedOauthScopes", &scopes),
                    ("externalClientApplication", app),
                    ("label", &oauth.3),
                ],
            ),
        ),
        (
            &global,
            document(
                global.0,
                &[
                    ("callbackUrl", &spec.callback_url),
                    ("externalClientApplication", app),
                    ("isClientCredentialsFlowEnabled", "true"),
                    ("isConsumerSecretOptional", "false"),
                    ("label", &global.3),
                ],
            ),
        ),
        (
            &oauth_policies,
            document(
                oauth_policies.0,
                &[
                    ("clientCredentialsFlowUser", &spec.execution_username),
                    ("externalClientApplication", app),
                    ("ipRelaxationPolicyType", spec.ip_relaxation.as_str()),
                    ("isClientCredentialsFlowEnabled", "true"),
                    ("label", &oauth_policies.3),
                    ("permittedUsersPolicyType", "AdminApprovedPreAuthorized"),
                ],
            ),
        ),
        (
            &policies,
            document(
                policies.0,
                &[
                    ("externalClientApplication", app),
                    ("isEnabled", "true"),
                    ("isOauthPluginEnabled", "true"),
                    ("label", &policies.3),
                ],
            ),
        ),
    ];
    for ((_, folder, suffix, member), body) in bodies {
        files.push((format!("{folder}/{member}.{suffix}"), body));
    }
    zip_files(&files)
}

/// The zip that deletes the app: `package.xml` with only `<version>`, and
/// `destructiveChanges.xml` naming every component (wildcards are not allowed there).
pub fn destructive_package(app_name: &str, api_version: &str) -> Vec<u8> {
    let files = vec![
        (
            "package.xml".to_owned(),
            manifest(app_name, api_version, false),
        ),
        (
            "destructiveChanges.xml".to_owned(),
            manifest(app_name, api_version, true).replace(
                &format!("    <version>{}</version>\n", escape(api_version)),
                "",
            ),
        ),
    ];
    zip_files(&files)
}

/// `package.xml` (or, without the version, `destructiveChanges.xml`). Dependents are listed
/// before the app itself.
fn manifest(app_name: &str, api_version: &str, with_members: bool) -> String {
    let mut xml = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Package xmlns=\"{NS}\">\n");
    if with_members {
        let mut parts = components(app_name).to_vec();
        parts.rotate_left(1);
        for (kind, _, _, member) in parts {
            xml.push_str(&format!(
                "    <types>\n        <members>{}</members>\n        <name>{kind}</name>\n    </types>\n",
                escape(member.as_str())
            ));
        }
    }
    xml.push_str(&format!(
        "    <version>{}</version>\n</Package>\n",
        escape(api_version)
    ));
    xml
}

fn document(root: &str, elements: &[(&str, &str)]) -> String {
    let mut xml = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{root} xmlns=\"{NS}\">\n");
    for (name, value) in elements {
        xml.push_str(&format!("    <{name}>{}</{name}>\n", escape(*value)));
    }
    xml.push_str(&format!("</{root}>\n"));
    xml
}

fn zip_files(files: &[(String, String)]) -> Vec<u8> {
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, body) in files {
        // Writing to memory: the only failures are programming errors.
        writer
            .start_file(name.as_str(), options)
            .expect("zip entry in memory");
        writer
            .write_all(body.as_bytes())
            .expect("zip write in memory");
    }
    writer.finish().expect("zip finish in memory").into_inner()
}

#[cfg(test)]
mod tests;
