//! The one error type of the Salesforce client: each variant's sentence for the customer's
//! admin, the contract's error code it shows and whether it is worth retrying. Salesforce's
//! error bodies are mapped to it in `error_body.rs`.

use crate::error_code::ErrorCode;

/// One component that a Metadata API deploy could not save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentFailure {
    /// Metadata type, e.g. `ExtlClntAppOauthConfigurablePolicies`.
    pub component_type: String,
    /// The component's full name.
    pub full_name: String,
    /// Salesforce's sentence about what is wrong.
    pub problem: String,
}

impl std::fmt::Display for ComponentFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.component_type, self.full_name, self.problem
        )
    }
}

/// Everything that can go wrong talking to Salesforce. `Display` is a sentence a customer's
/// admin can act on; no variant ever holds a token or a secret.
#[derive(Debug, thiserror::Error)]
pub enum SalesforceError {
    #[error(
        "Salesforce no longer accepts the admin's authorization ({description}); an admin must sign in again to reconnect"
    )]
    AdminTokenRevoked { description: String },

    /// The access token expired and a fresh one was refused too. Internal: the client already
    /// refreshed once and retried once.
    #[error("Salesforce refused a freshly issued session; try again later")]
    SessionExpired,

    #[error(
        "the Salesforce org has used up its daily API request allowance; work resumes when it resets"
    )]
    ApiLimitExceeded,

    /// Salesforce asked for fewer requests for a short while: HTTP 429 (with `Retry-After`
    /// when it gave one), or the concurrent form of `REQUEST_LIMIT_EXCEEDED` (too many
    /// long-running requests at once, e.g. "ConcurrentPerOrgLongTxn Limit exceeded"). Unlike
    /// the daily allowance, this clears in seconds.
    #[error("Salesforce is busy and asked connectord to slow down ({detail}); it will be retried")]
    Throttled {
        detail: String,
        retry_after: Option<std::time::Duration>,
    },

    #[error("Salesforce has no such record ({message})")]
    NotFound { message: String },

    #[error("Salesforce already has a record like this ({code}: {message})")]
    Duplicate { code: String, message: String },

    #[error(
        "Salesforce does not know the field {field} or it cannot be granted ({message}); fix the field name or make it permissionable"
    )]
    UnknownField { field: String, message: String },

    /// The proof before `ready` could not read a required field with the app's token although
    /// the permission set grants it (`INVALID_FIELD`, "No such column", on the probe).
    #[error(
        "the integration user cannot read the field {field} although its permission set grants it ({message})"
    )]
    FieldNotReadable { field: String, message: String },

    #[error(
        "the Salesforce org has no free licence for the integration user ({message}): free one or buy more, then reconnect"
    )]
    LicenseUnavailable { message: String },

    /// The token endpoint refused a grant from this address: `invalid_grant` with the
    /// description `ip restricted` (also seen as "IP restricted or invalid login hours"; the
    /// `invalid_grant` descriptions are listed at salesforcedictionary.com, "invalid_grant").
    #[error(
        "the Salesforce org's IP restrictions refuse connectord's address ({message}); an org admin must add the product's outgoing addresses to the trusted IP ranges (Setup > Network Access) or to the login IP ranges of the user's profile"
    )]
    IpRestricted { message: String },

    #[error("deploying the app to Salesforce failed: {}", join_failures(failures))]
    DeployFailed { failures: Vec<ComponentFailure> },

    #[error(
        "the Salesforce deploy {id} did not finish within the deploy wait limit and was cancelled{}; it will be tried again later (Setup > Deployment Status shows the org's deploy queue)",
        if *.canceled { "" } else { " (the cancellation was not confirmed)" }
    )]
    DeployTimedOut { id: String, canceled: bool },

    #[error("Salesforce rejected the request (HTTP {status}, {code}): {message}")]
    Rejected {
        status: u16,
        code: String,
        message: String,
        fields: Vec<String>,
    },

    #[error(
        "Salesforce answered with a redirect (HTTP {status}) that was not followed; check the org's URL"
    )]
    Redirected { status: u16 },

    #[error("Salesforce is unavailable ({detail}); it will be retried")]
    Unavailable { detail: String },

    #[error("Salesforce sent an answer that could not be understood (HTTP {status}: {detail})")]
    BadResponse { status: u16, detail: String },

    #[error("the instance URL {url} is not a Salesforce org address ({reason})")]
    InvalidInstanceUrl { url: String, reason: String },

    #[error(
        "{host} is a Salesforce Government Cloud org, which connectord does not support: Government Cloud runs in a separate authorization boundary that the product is not cleared for, so nothing was sent to it"
    )]
    GovernmentCloudUnsupported { host: String },

    /// The admin's token answered for another org than the one this connection's row names
    /// (or than the one its components were built in).
    #[error(
        "the admin's authorization answers for another Salesforce org ({found}) than the one this connection names ({expected}); nothing was changed in either org: check the connection's instance_url, then sign in again as an admin of that org"
    )]
    OrgMismatch { expected: String, found: String },

    /// The credentials resource refused the consumer secret (issue 21 item 1).
    #[error(
        "Salesforce refused to give connectord the app's consumer secret ({message}); an org admin must turn on \"Allow access to External Client App consumer secrets via REST API\" in Setup > External Client Apps > Settings (the org setting ExternalClientAppSettings.enableClientSecretInRestApiAccess, API 62.0 and later) and give the admin who authorised connectord the View Client Secret permission (with the External Client App permissions to manage the app)"
    )]
    ConsumerSecretAccessOff { message: String },

    /// The client-credentials grant of the connection's own app answered `invalid_grant` for
    /// longer than the propagation wait (issue 21 item 3).
    #[error(
        "Salesforce refuses tokens to this connection's app ({description}); a new app can take minutes to work everywhere, so it will be tried again. If it persists: check that the app's run-as user is active and that the app has the OAuth scope api"
    )]
    AppTokenRefused { description: String },

    /// A lookup inside a Composite call found no row, so the subrequests that needed it were
    /// halted ("Invalid reference specified"): the org lacks the integration profile.
    #[error(
        "the Salesforce org has no profile named \"Minimum Access - API Only Integrations\" ({message}), which API-only integration users need; an org admin must make it available (it comes with the Salesforce Integration user licence), then connectord tries again"
    )]
    IntegrationProfileMissing { message: String },

    /// A Composite subrequest's `@{reference…}` found no value (`PROCESSING_HALTED`, "Invalid
    /// reference specified"): typically a lookup query that returned no rows. The caller knows
    /// what `reference` looked up and names it.
    #[error("Salesforce found nothing for the lookup {reference} ({message})")]
    InvalidReference { reference: String, message: String },

    #[error("the Salesforce client could not be set up: {0}")]
    Setup(String),

    /// The token endpoint refused the product's own OAuth client (`invalid_client_id` or
    /// `invalid_client` on the admin's refresh-token grant): every connection is affected.
    #[error(
        "Salesforce rejects connectord's own OAuth client ({code}: {description}); fix salesforce.client_id and salesforce.client_secret, then restart connectord"
    )]
    OAuthClientRejected { code: String, description: String },

    /// The org's versions list (`GET /services/data/`) lacks `salesforce.api_version`.
    #[error(
        "the org does not offer Salesforce API version {configured} (its newest is {newest}); nothing else was sent to it: set salesforce.api_version to a version the org offers"
    )]
    ApiVersionUnavailable { configured: String, newest: String },

    /// `FIELD_INTEGRITY_EXCEPTION` "Permission Read X depends on permission(s): Read Y": the
    /// org requires an object permission the field list does not imply (issue 21 item 6).
    #[error(
        "Salesforce requires another object permission first ({message}); add a field of the object it names to the connection's fields so connectord grants read on it"
    )]
    PermissionDependencyMissing { message: String },
}

fn join_failures(failures: &[ComponentFailure]) -> String {
    if failures.is_empty() {
        return "no detail given".to_owned();
    }
    failures
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl SalesforceError {
    /// The contract's error code a customer sees for this failure.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Self::AdminTokenRevoked { .. } => ErrorCode::AdminTokenRevoked,
            Self::ApiLimitExceeded => ErrorCode::ApiLimitExceeded,
            Self::UnknownField { .. } => ErrorCode::UnknownField,
            Self::FieldNotReadable { .. } => ErrorCode::FieldNotReadable,
            Self::LicenseUnavailable { .. } => ErrorCode::LicenseUnavailable,
            Self::IpRestricted { .. } => ErrorCode::IpRestricted,
            Self::DeployFailed { .. } => ErrorCode::DeployFailed,
            Self::DeployTimedOut { .. } => ErrorCode::DeployTimedOut,
            Self::InvalidInstanceUrl { .. } | Self::Redirected { .. } => {
                ErrorCode::InvalidInstanceUrl
            }
            Self::GovernmentCloudUnsupported { .. } => ErrorCode::GovernmentCloudUnsupported,
            Self::OrgMismatch { .. } => ErrorCode::OrgMismatch,
            Self::ConsumerSecretAccessOff { .. } => ErrorCode::ConsumerSecretAccessOff,
            Self::AppTokenRefused { .. } => ErrorCode::AppTokenRefused,
            Self::IntegrationProfileMissing { .. } => ErrorCode::IntegrationProfileMissing,
            Self::OAuthClientRejected { .. } => ErrorCode::OAuthClientRejected,
            Self::ApiVersionUnavailable { .. } => ErrorCode::ApiVersionUnavailable,
            Self::PermissionDependencyMissing { .. } => ErrorCode::PermissionDependencyMissing,
            Self::SessionExpired
            | Self::Unavailable { .. }
            | Self::BadResponse { .. }
            | Self::Throttled { .. } => ErrorCode::SalesforceUnavailable,
            Self::NotFound { .. }
            | Self::Duplicate { .. }
            | Self::Rejected { .. }
            | Self::InvalidReference { .. }
            | Self::Setup(_) => ErrorCode::Internal,
        }
    }

    /// On the product's own client's grant, `invalid_client_id` and `invalid_client` mean
    /// that Salesforce rejects `salesforce.client_id` / `client_secret` (Salesforce Help,
    /// "OAuth 2.0 error codes"); on an app's grant they are about the app, not the product.
    pub(crate) fn for_product_client(self) -> Self {
        match self {
            Self::Rejected { code, message, .. }
                if matches!(code.as_str(), "invalid_client_id" | "invalid_client") =>
            {
                Self::OAuthClientRejected {
                    code,
                    description: message,
                }
            }
            other => other,
        }
    }

    /// Whether the same call may succeed if simply tried again soon (a transient failure).
    /// `ApiLimitExceeded` is not: the org needs hours, not seconds.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::SessionExpired
                | Self::Unavailable { .. }
                | Self::BadResponse { .. }
                | Self::Throttled { .. }
                | Self::DeployTimedOut { .. }
        )
    }

    /// How long Salesforce asked to be left alone (`Retry-After`), if it said.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::Throttled { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deploy_failures_are_listed_in_the_message() {
        let e = SalesforceError::DeployFailed {
            failures: vec![ComponentFailure {
                component_type: "ExtlClntAppOauthConfigurablePolicies".into(),
                full_name: "App_oauthPlcy".into(),
                problem: "Enter a valid execution user".into(),
            }],
        };
        let text = e.to_string();
        assert!(
            text.contains("App_oauthPlcy") && text.contains("valid execution user"),
            "{text}"
        );
    }
}
