//! Mirrors each app's OAuth settings and OAuth policy into the `ExtlClntAppOauthSettings` and
//! `ExtlClntAppOauthPlcyCnfg` tables that SOQL reads, as Salesforce shows what was deployed (or
//! changed in Setup): one boolean field per scope, the run-as user's username.

use serde_json::{Map, Value, json};

use crate::ids::sibling_id;
use crate::org::{EcaBundle, OrgState, Record};
use crate::schema::OAUTH_SCOPE_FIELDS;

fn settings_record(b: &EcaBundle, now: &str) -> Option<Record> {
    let settings = b.oauth_settings.as_ref()?;
    let mut record = Map::new();
    record.insert(
        "Id".into(),
        json!(sibling_id("ExtlClntAppOauthSettings", &b.id)),
    );
    record.insert("DeveloperName".into(), json!(b.developer_name));
    record.insert("MasterLabel".into(), json!(b.label));
    record.insert("ExternalClientApplicationId".into(), json!(b.id));
    for (scope, field) in OAUTH_SCOPE_FIELDS {
        if let Some(field) = field {
            let on = settings
                .scopes
                .iter()
                .any(|s| s.eq_ignore_ascii_case(scope));
            record.insert((*field).into(), Value::Bool(on));
        }
    }
    stamp(&mut record, now);
    Some(record)
}

fn policy_record(b: &EcaBundle, now: &str) -> Option<Record> {
    let p = b.oauth_policies.as_ref()?;
    let settings = b
        .oauth_settings
        .as_ref()
        .map(|_| sibling_id("ExtlClntAppOauthSettings", &b.id));
    let value = json!({
        "Id": sibling_id("ExtlClntAppOauthPlcyCnfg", &b.id),
        "DeveloperName": b.developer_name, "MasterLabel": b.label,
        "ExternalClientApplicationId": b.id, "ExtlClntAppOauthSettingsId": settings,
        "ClientCredentialsFlowUser": p.client_credentials_user,
        "IsClientCredentialsFlowEnabled": p.client_credentials_enabled,
        "IpRelaxationPolicyType": p.ip_relaxation,
        "PermittedUsersPolicyType": p.permitted_users,
    });
    let mut record = match value {
        Value::Object(map) => map,
        _ => Record::new(),
    };
    stamp(&mut record, now);
    Some(record)
}

fn stamp(record: &mut Record, now: &str) {
    for field in ["CreatedDate", "LastModifiedDate", "SystemModstamp"] {
        record.insert(field.into(), json!(now));
    }
    record.insert("IsDeleted".into(), Value::Bool(false));
}

/// Rebuilds both tables from the apps' bundles.
pub fn sync(state: &mut OrgState, now: &str) {
    let bundles = state.data.ecas.values();
    let (settings, policies): (Vec<_>, Vec<_>) = bundles
        .map(|b| (settings_record(b, now), policy_record(b, now)))
        .unzip();
    let tables = &mut state.data.tables;
    tables.insert(
        "ExtlClntAppOauthSettings".into(),
        settings.into_iter().flatten().collect(),
    );
    tables.insert(
        "ExtlClntAppOauthPlcyCnfg".into(),
        policies.into_iter().flatten().collect(),
    );
}
