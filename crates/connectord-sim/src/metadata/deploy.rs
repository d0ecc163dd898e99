//! Running a deploy: validate every component against the org (and the rest of the deploy),
//! then apply all of it, or nothing when `rollbackOnError` is set and anything failed.

use serde_json::{Value, json};

use super::package::{Component, Package, Problem};
use crate::org::{
    EcaBundle, EcaGlobalOauth, EcaOauthPolicies, EcaOauthSettings, EcaPolicies, OrgState, Record,
    bool_field, str_field,
};
use crate::schema::OAUTH_SCOPE_FIELDS;
use crate::seed::{INTEGRATION_PROFILE, random_token};

pub const EXECUTION_USER_MESSAGE: &str =
    "Enter a valid execution user for the OAuth client credentials flow.";

/// The finished state of a deploy.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub success: bool,
    pub failures: Vec<Value>,
    pub successes: Vec<Value>,
    pub completed: chrono::DateTime<chrono::Utc>,
}

fn failure(p: &Problem) -> Value {
    json!({"changed": false, "componentType": p.kind, "created": false, "deleted": false,
           "fileName": p.file, "fullName": p.name, "problem": p.message, "problemType": "Error",
           "success": false})
}

fn success(
    kind: &str,
    name: &str,
    file: &str,
    created: bool,
    deleted: bool,
    id: Option<&str>,
) -> Value {
    json!({"changed": true, "componentType": kind, "created": created, "deleted": deleted,
           "fileName": file, "fullName": name, "id": id, "success": true})
}

fn flag(c: &Component, name: &str) -> bool {
    c.xml
        .child_text(name)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

fn text(c: &Component, name: &str) -> String {
    c.xml.child_text(name).unwrap_or_default().to_string()
}

fn execution_user_ok(state: &OrgState, username: &str) -> bool {
    let Some(user) = state
        .data
        .table("User")
        .iter()
        .find(|u| str_field(u, "Username").is_some_and(|n| n.eq_ignore_ascii_case(username)))
    else {
        return false;
    };
    let api_only = str_field(user, "ProfileId")
        .and_then(|p| state.data.find("Profile", p))
        .is_some_and(|p: &Record| {
            bool_field(p, "PermissionsApiUserOnly")
                || str_field(p, "Name") == Some(INTEGRATION_PROFILE)
        });
    bool_field(user, "IsActive") && api_only
}

fn check(state: &OrgState, package: &Package, c: &Component) -> Result<(), String> {
    let required = |name: &str| -> Result<(), String> {
        if text(c, name).is_empty() {
            Err(format!("Required field is missing: {name}"))
        } else {
            Ok(())
        }
    };
    if c.kind == "ExternalClientApplication" {
        required("label")?;
        required("contactEmail")?;
        let state_value = text(c, "distributionState");
        if !state_value.is_empty() && !["Local", "Packageable"].contains(&state_value.as_str()) {
            return Err(format!(
                "'{state_value}' is not a valid value for the enum 'ExternalClientAppDistributionState'"
            ));
        }
        return Ok(());
    }
    let app = text(c, "externalClientApplication");
    let app_known = state.data.ecas.contains_key(&app)
        || package
            .components
            .iter()
            .any(|o| o.kind == "ExternalClientApplication" && o.name == app);
    if app.is_empty() || !app_known {
        return Err(format!(
            "In field: externalClientApplication - no ExternalClientApplication named {app} found"
        ));
    }
    match c.kind.as_str() {
        "ExtlClntAppOauthSettings" => {
            required("commaSeparatedOauthScopes")?;
            for scope in text(c, "commaSeparatedOauthScopes")
                .split(',')
                .map(str::trim)
            {
                if !OAUTH_SCOPE_FIELDS.iter().any(|(name, _)| *name == scope) {
                    return Err(format!("Invalid OAuth scope: {scope}"));
                }
            }
        }
        "ExtlClntAppGlobalOauthSettings" => required("callbackUrl")?,
        "ExtlClntAppOauthConfigurablePolicies" => {
            if flag(c, "isClientCredentialsFlowEnabled")
                && !execution_user_ok(state, &text(c, "clientCredentialsFlowUser"))
            {
                return Err(EXECUTION_USER_MESSAGE.to_string());
            }
            let permitted = text(c, "permittedUsersPolicyType");
            if !permitted.is_empty()
                && !["AllSelfAuthorized", "AdminApprovedPreAuthorized"]
                    .contains(&permitted.as_str())
            {
                return Err(format!(
                    "'{permitted}' is not a valid value for the enum 'ExtlClntAppOauthPermittedUsersPolicyType'"
                ));
            }
            let ip = text(c, "ipRelaxationPolicyType");
            if !ip.is_empty()
                && !["Enforce", "Bypass", "BypassUsrNeedsActivation"].contains(&ip.as_str())
            {
                return Err(format!(
                    "'{ip}' is not a valid value for the enum 'ExtlClntAppOauthIpRelaxationPolicyType'"
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

fn apply(state: &mut OrgState, c: &Component) -> (bool, String) {
    let app_name = if c.kind == "ExternalClientApplication" {
        c.name.clone()
    } else {
        text(c, "externalClientApplication")
    };
    let created = !state.data.ecas.contains_key(&app_name) && c.kind == "ExternalClientApplication";
    if created {
        let id = state.next_id("ExternalClientApplication");
        state.data.ecas.insert(
            app_name.clone(),
            EcaBundle {
                id,
                developer_name: app_name.clone(),
                ..EcaBundle::default()
            },
        );
    }
    let next_consumer = state.next_id("OauthConsumer");
    let Some(bundle) = state.data.ecas.get_mut(&app_name) else {
        return (false, String::new());
    };
    match c.kind.as_str() {
        "ExternalClientApplication" => {
            bundle.label = text(c, "label");
            bundle.contact_email = text(c, "contactEmail");
            bundle.description = text(c, "description");
            bundle.distribution_state = text(c, "distributionState");
        }
        "ExtlClntAppOauthSettings" => {
            bundle.oauth_settings = Some(EcaOauthSettings {
                scopes: text(c, "commaSeparatedOauthScopes")
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .collect(),
            });
        }
        "ExtlClntAppGlobalOauthSettings" => {
            let previous = bundle.global_oauth.take();
            bundle.global_oauth = Some(EcaGlobalOauth {
                callback_url: text(c, "callbackUrl"),
                client_credentials_enabled: flag(c, "isClientCredentialsFlowEnabled"),
                has_certificate: !text(c, "certificate").is_empty(),
                consumer_id: previous
                    .as_ref()
                    .map_or(next_consumer, |p| p.consumer_id.clone()),
                consumer_key: previous.as_ref().map_or_else(
                    || format!("3MVG9{}", random_token(80)),
                    |p| p.consumer_key.clone(),
                ),
                consumer_secret: previous
                    .as_ref()
                    .map_or_else(|| random_token(64), |p| p.consumer_secret.clone()),
            });
        }
        "ExtlClntAppOauthConfigurablePolicies" => {
            let user = text(c, "clientCredentialsFlowUser");
            bundle.oauth_policies = Some(EcaOauthPolicies {
                client_credentials_enabled: flag(c, "isClientCredentialsFlowEnabled"),
                client_credentials_user: (!user.is_empty()).then_some(user),
                permitted_users: text(c, "permittedUsersPolicyType"),
                ip_relaxation: text(c, "ipRelaxationPolicyType"),
            });
        }
        "ExtlClntAppConfigurablePolicies" => {
            bundle.policies = Some(EcaPolicies {
                is_enabled: flag(c, "isEnabled"),
            });
        }
        _ => {}
    }
    (created, bundle.id.clone())
}

fn destroy(state: &mut OrgState, kind: &str, name: &str) -> bool {
    if kind == "ExternalClientApplication" {
        return state.data.ecas.remove(name).is_some();
    }
    let Some(bundle) = state
        .data
        .ecas
        .values_mut()
        .find(|b| b.developer_name == name)
    else {
        return false;
    };
    match kind {
        "ExtlClntAppOauthSettings" => bundle.oauth_settings.take().is_some(),
        "ExtlClntAppGlobalOauthSettings" => bundle.global_oauth.take().is_some(),
        "ExtlClntAppOauthConfigurablePolicies" => bundle.oauth_policies.take().is_some(),
        "ExtlClntAppConfigurablePolicies" => bundle.policies.take().is_some(),
        _ => false,
    }
}

/// Mirrors the apps into the `ExternalClientApplication` table that SOQL reads.
pub fn sync_records(state: &mut OrgState) {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let records: Vec<Record> = state
        .data
        .ecas
        .values()
        .map(|b| {
            let value = json!({"Id": b.id, "DeveloperName": b.developer_name, "MasterLabel": b.label,
                "Description": b.description, "ContactEmail": b.contact_email,
                "DistributionState": b.distribution_state, "NamespacePrefix": null,
                "CreatedDate": now, "LastModifiedDate": now, "SystemModstamp": now, "IsDeleted": false});
            match value {
                Value::Object(map) => map,
                _ => Record::new(),
            }
        })
        .collect();
    state
        .data
        .tables
        .insert("ExternalClientApplication".into(), records);
    super::app_records::sync(state, &now);
}

/// Validates and applies the package; `forced` is an injected failure message.
pub fn run(
    state: &mut OrgState,
    package: &Package,
    rollback_on_error: bool,
    forced: Option<String>,
) -> Outcome {
    let mut failures: Vec<Value> = package.problems.iter().map(failure).collect();
    if let Some(message) = forced {
        let (kind, name, file) = package
            .components
            .first()
            .map(|c| (c.kind.clone(), c.name.clone(), c.file.clone()))
            .unwrap_or_else(|| {
                (
                    "ExternalClientApplication".into(),
                    "unknown".into(),
                    "package.xml".into(),
                )
            });
        failures.push(failure(&Problem {
            kind,
            name,
            file,
            message,
        }));
    }
    let mut good = Vec::new();
    for c in &package.components {
        match check(state, package, c) {
            Ok(()) => good.push(c),
            Err(message) => failures.push(failure(&Problem {
                kind: c.kind.clone(),
                name: c.name.clone(),
                file: c.file.clone(),
                message,
            })),
        }
    }
    let success_all = failures.is_empty();
    let mut successes = Vec::new();
    if success_all || !rollback_on_error {
        for (kind, name) in &package.destructive {
            let deleted = destroy(state, kind, name);
            successes.push(success(
                kind,
                name,
                "destructiveChanges.xml",
                false,
                deleted,
                None,
            ));
        }
        let mut ordered = good.clone();
        ordered.sort_by_key(|c| c.kind != "ExternalClientApplication");
        for c in ordered {
            let (created, id) = apply(state, c);
            successes.push(success(
                &c.kind,
                &c.name,
                &c.file,
                created,
                false,
                Some(&id),
            ));
        }
        sync_records(state);
    }
    Outcome {
        success: success_all,
        failures,
        successes,
        completed: chrono::Utc::now(),
    }
}
