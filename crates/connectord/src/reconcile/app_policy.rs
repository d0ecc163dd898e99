//! The app's OAuth policy as the org shows it (`ExtlClntAppOauthPlcyCnfg` and, through its
//! `ExtlClntAppOauthSettings`, one boolean per scope), and what in it is wider than what
//! connectord deploys: another run-as user, more scopes than `Api`, IP restrictions bypassed
//! when they should be enforced, self-authorised users. Read in the same Composite call as the
//! rest of the drift check.

use serde_json::Value;

use super::model::Shape;
use super::names::{SetNames, soql_literal};

/// The scope fields of `ExtlClntAppOauthSettings` (Object Reference, API 64), without their
/// `OauthScopes` prefix. connectord's apps have `API` and nothing else.
const SCOPE_FIELDS: &[&str] = &[
    "ADDRESS",
    "API",
    "CDP_API",
    "CDP_CALCULATED_INSIGHT_API",
    "CDP_IDENTITYRESOLUTION_API",
    "CDP_INGEST_API",
    "CDP_PROFILE_API",
    "CDP_QUERY_API",
    "CDP_SEGMENT_API",
    "CHATBOT_API",
    "CHATTER_REST_API",
    "CONTENT",
    "CUSTOM_PERMISSIONS",
    "ECLAIR_REST_API",
    "EINSTEIN_GPT_API",
    "EMAIL",
    "FORGOT_PASSWORD",
    "FULL",
    "HUB_API",
    "INTERACTION_API",
    "LIGHTNING",
    "OFFLINE_ACCESS",
    "OPENID",
    "PARDOT_API",
    "PHONE",
    "PROFILE",
    "PWDLESS_LOGIN_API",
    "REFRESH_TOKEN",
    "SFAP_API",
    "SSO",
    "USER_REGISTRATION_API",
    "VF",
    "WAVE_REST_API",
    "WEB",
];
const OUR_SCOPE: &str = "API";
const OUR_PERMITTED_USERS: &str = "AdminApprovedPreAuthorized";

/// What the org shows of one app's OAuth policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppPolicy {
    /// The client-credentials run-as user's username.
    pub run_as: String,
    /// The run-as user is the set's own integration user.
    pub run_as_is_ours: bool,
    pub client_credentials: bool,
    pub ip_relaxation: String,
    pub permitted_users: String,
    /// The scopes turned on, as the field suffixes above (`API`, `FULL`, …).
    pub scopes: Vec<String>,
}

/// The query that reads the policy of the app named in `names`.
pub fn query(names: &SetNames) -> String {
    let scopes: Vec<String> = SCOPE_FIELDS
        .iter()
        .map(|s| format!("ExtlClntAppOauthSettings.OauthScopes{s}"))
        .collect();
    format!(
        "SELECT ClientCredentialsFlowUser, IsClientCredentialsFlowEnabled, \
         IpRelaxationPolicyType, PermittedUsersPolicyType, {} FROM ExtlClntAppOauthPlcyCnfg \
         WHERE ExternalClientApplication.DeveloperName = {}",
        scopes.join(", "),
        soql_literal(&names.app)
    )
}

/// The policy in one record of [`query`]'s answer, for the set named in `names`.
pub fn parse(record: &Value, names: &SetNames) -> AppPolicy {
    let text = |key: &str| {
        record
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let settings = record.get("ExtlClntAppOauthSettings");
    let scopes = SCOPE_FIELDS
        .iter()
        .filter(|s| {
            settings
                .and_then(|r| r.get(format!("OauthScopes{s}")))
                .and_then(Value::as_bool)
                .unwrap_or(false)
        })
        .map(|s| (*s).to_owned())
        .collect();
    let run_as = text("ClientCredentialsFlowUser");
    AppPolicy {
        run_as_is_ours: run_as.eq_ignore_ascii_case(&names.username),
        run_as,
        client_credentials: record
            .get("IsClientCredentialsFlowEnabled")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        ip_relaxation: text("IpRelaxationPolicyType"),
        permitted_users: text("PermittedUsersPolicyType"),
        scopes,
    }
}

/// What in `seen` differs from the policy connectord deployed with `shape`, in sentences;
/// `None` (the app has no OAuth policy) counts as changed too.
pub fn differences(seen: Option<&AppPolicy>, shape: Shape) -> Vec<String> {
    let Some(seen) = seen else {
        return vec!["the app's OAuth policy was removed".into()];
    };
    let mut found = Vec::new();
    if !seen.run_as_is_ours {
        found.push(format!(
            "the app's run-as user was switched to {}",
            if seen.run_as.is_empty() {
                "nobody"
            } else {
                &seen.run_as
            }
        ));
    }
    let extra: Vec<&str> = seen
        .scopes
        .iter()
        .map(String::as_str)
        .filter(|s| *s != OUR_SCOPE)
        .collect();
    if !extra.is_empty() {
        found.push(format!(
            "the app's OAuth scopes were widened with {}",
            extra.join(", ")
        ));
    }
    if !seen.scopes.iter().any(|s| s == OUR_SCOPE) {
        found.push("the app's Api scope was removed".into());
    }
    if !seen.client_credentials {
        found.push("the app's client credentials flow was turned off".into());
    }
    if !seen
        .ip_relaxation
        .eq_ignore_ascii_case(shape.ip_relaxation.as_str())
    {
        found.push(format!(
            "the app's IP relaxation policy was changed to {}",
            seen.ip_relaxation
        ));
    }
    if !seen
        .permitted_users
        .eq_ignore_ascii_case(OUR_PERMITTED_USERS)
    {
        found.push(format!(
            "the app's permitted users policy was changed to {}",
            seen.permitted_users
        ));
    }
    found
}
