//! The stable error codes of the contract (`connection_status.error_code`).

use std::fmt;

/// What a customer's admin sees in `connection_status.error_code`. The text form is the
/// contract: never rename a variant's string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    AdminTokenRevoked,
    LicenseUnavailable,
    GovernmentCloudUnsupported,
    InvalidInstanceUrl,
    UnknownField,
    ApiLimitExceeded,
    IpRestricted,
    DeployFailed,
    SalesforceUnavailable,
    Internal,
    /// `connectord token` / the token endpoint refused: not the tenant's connection, or not
    /// enabled and ready at its generation with a verified set. Never written to a status row.
    TokenNotAvailable,
    /// The admin's token answers for another org than the row names (issue 14 item 5).
    OrgMismatch,
    /// The row was pointed at another org and the old org could not be cleaned up: what is
    /// left there is listed (issue 14 item 5).
    OldOrgRemnants,
    /// A deploy did not finish within `salesforce.deploy_wait_limit` and was cancelled.
    DeployTimedOut,
    /// A pass panicked (a bug): its lease was released and it is retried with backoff.
    InternalPanic,
    /// The org does not let the admin read the app's consumer secret through the REST API.
    /// Remedy: an org admin turns on "Allow access to External Client App consumer secrets via
    /// REST API" (`ExternalClientAppSettings.enableClientSecretInRestApiAccess`, API 62.0+) and
    /// gives the admin who authorised connectord the View Client Secret permission (issue 21
    /// item 1).
    ConsumerSecretAccessOff,
    /// The token endpoint kept refusing the connection's own app (client-credentials
    /// `invalid_grant`) after the propagation wait (`salesforce.app_token_wait`). Remedy: none
    /// at first (it is retried with backoff); if it persists, the message carries Salesforce's
    /// description: an inactive run-as user or no usable OAuth scope (issue 21 item 3).
    AppTokenRefused,
    /// The org has no "Minimum Access - API Only Integrations" profile, so no integration user
    /// can be created. Remedy: an org admin makes the profile available (it comes with the
    /// Salesforce Integration user licence), then the connection is retried (issue 21 item 2).
    IntegrationProfileMissing,
    /// A person deactivated the connection's integration user; connectord does not reactivate
    /// it. Remedy: reconnect.
    IntegrationUserDeactivated,
    /// Salesforce's token endpoint rejects the product's own OAuth client
    /// (`salesforce.client_id` / `client_secret`): a process-wide condition (issue 16 item 2).
    #[serde(rename = "oauth_client_rejected")]
    OAuthClientRejected,
    /// The org does not offer the configured `salesforce.api_version` (issue 17 item 5).
    ApiVersionUnavailable,
    /// Salesforce refused an object permission because it depends on another the field list
    /// does not imply (`FIELD_INTEGRITY_EXCEPTION` "… depends on permission(s): …"), one
    /// outside connectord's dependency table (issue 21 item 6).
    PermissionDependencyMissing,
    /// The proof before `ready` named a required field that the integration user cannot read
    /// although its permission set grants it (issue 20 item 6).
    FieldNotReadable,
}

impl ErrorCode {
    pub const ALL: &[ErrorCode] = &[
        Self::AdminTokenRevoked,
        Self::LicenseUnavailable,
        Self::GovernmentCloudUnsupported,
        Self::InvalidInstanceUrl,
        Self::UnknownField,
        Self::ApiLimitExceeded,
        Self::IpRestricted,
        Self::DeployFailed,
        Self::SalesforceUnavailable,
        Self::Internal,
        Self::TokenNotAvailable,
        Self::OrgMismatch,
        Self::OldOrgRemnants,
        Self::DeployTimedOut,
        Self::InternalPanic,
        Self::ConsumerSecretAccessOff,
        Self::AppTokenRefused,
        Self::IntegrationProfileMissing,
        Self::IntegrationUserDeactivated,
        Self::OAuthClientRejected,
        Self::ApiVersionUnavailable,
        Self::PermissionDependencyMissing,
        Self::FieldNotReadable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AdminTokenRevoked => "admin_token_revoked",
            Self::LicenseUnavailable => "license_unavailable",
            Self::GovernmentCloudUnsupported => "government_cloud_unsupported",
            Self::InvalidInstanceUrl => "invalid_instance_url",
            Self::UnknownField => "unknown_field",
            Self::ApiLimitExceeded => "api_limit_exceeded",
            Self::IpRestricted => "ip_restricted",
            Self::DeployFailed => "deploy_failed",
            Self::SalesforceUnavailable => "salesforce_unavailable",
            Self::Internal => "internal",
            Self::TokenNotAvailable => "token_not_available",
            Self::OrgMismatch => "org_mismatch",
            Self::OldOrgRemnants => "old_org_remnants",
            Self::DeployTimedOut => "deploy_timed_out",
            Self::InternalPanic => "internal_panic",
            Self::ConsumerSecretAccessOff => "consumer_secret_access_off",
            Self::AppTokenRefused => "app_token_refused",
            Self::IntegrationProfileMissing => "integration_profile_missing",
            Self::IntegrationUserDeactivated => "integration_user_deactivated",
            Self::OAuthClientRejected => "oauth_client_rejected",
            Self::ApiVersionUnavailable => "api_version_unavailable",
            Self::PermissionDependencyMissing => "permission_dependency_missing",
            Self::FieldNotReadable => "field_not_readable",
        }
    }

    /// Whether the failure waits for a person (`action_required`) rather than healing by
    /// itself on retry (`failed`).
    pub fn needs_a_person(self) -> bool {
        matches!(
            self,
            Self::AdminTokenRevoked
                | Self::LicenseUnavailable
                | Self::GovernmentCloudUnsupported
                | Self::InvalidInstanceUrl
                | Self::UnknownField
                | Self::IpRestricted
                | Self::OrgMismatch
                | Self::OldOrgRemnants
                | Self::ConsumerSecretAccessOff
                | Self::IntegrationProfileMissing
                | Self::IntegrationUserDeactivated
                | Self::OAuthClientRejected
                | Self::ApiVersionUnavailable
                | Self::PermissionDependencyMissing
                | Self::FieldNotReadable
        )
    }

    /// What a person does about it: the remedy `describe` shows beside the message.
    pub fn remedy(self) -> &'static str {
        match self {
            Self::AdminTokenRevoked => {
                "an admin of the org signs in again; write the new refresh token to connections.admin_refresh_token"
            }
            Self::LicenseUnavailable => {
                "free a Salesforce Integration user licence in the org (or buy one), then `connectord connection reconnect ID`"
            }
            Self::GovernmentCloudUnsupported => {
                "none: Government Cloud orgs are not supported; remove the connection"
            }
            Self::InvalidInstanceUrl => {
                "correct connections.instance_url to the org's My Domain URL (https://NAME.my.salesforce.com)"
            }
            Self::UnknownField => {
                "correct the field's API name with `connectord connection fields ID --field Object.Field`, or make the field permissionable in the org"
            }
            Self::ApiLimitExceeded => {
                "none needed: work resumes when the org's daily API allowance resets (or raise the org's limit)"
            }
            Self::IpRestricted => {
                "add the product's outgoing addresses to the org's trusted IP ranges, or `connectord connection ip-relaxation ID bypass` when the app's tokens are refused"
            }
            Self::DeployFailed => {
                "read the message for the component Salesforce refused; fix the org or the settings, then `connectord connection reconnect ID`"
            }
            Self::SalesforceUnavailable => "none needed: retried by itself with backoff",
            Self::Internal => {
                "retried by itself; if it persists, read the daemon's log for this connection_id and report it"
            }
            Self::TokenNotAvailable => {
                "ask for the tenant's own connection, and wait until it is enabled and ready"
            }
            Self::OrgMismatch => {
                "check connections.instance_url, then sign in again as an admin of that org"
            }
            Self::OldOrgRemnants => {
                "remove the listed components from the old org by hand (or restore its admin's access); the connection already builds in the org its row names"
            }
            Self::DeployTimedOut => {
                "none needed at first: the deploy was cancelled and is tried again in 5 minutes; if it persists, look at the org's deploy queue (Setup > Deployment Status)"
            }
            Self::InternalPanic => {
                "retried by itself; a pass hit a bug in connectord: report it with the daemon's log for this connection_id"
            }
            Self::ConsumerSecretAccessOff => {
                "an org admin turns on \"Allow access to External Client App consumer secrets via REST API\" (ExternalClientAppSettings.enableClientSecretInRestApiAccess) and gives the authorising admin the View Client Secret permission"
            }
            Self::AppTokenRefused => {
                "none needed at first (a new app takes minutes to propagate); if it persists, check that the app's run-as user is active and the app has the OAuth scope api"
            }
            Self::IntegrationProfileMissing => {
                "an org admin makes the profile \"Minimum Access - API Only Integrations\" available (it comes with the Salesforce Integration user licence)"
            }
            Self::IntegrationUserDeactivated => {
                "`connectord connection reconnect ID` (a new integration user is made), or reactivate the user in Setup > Users if that was a mistake"
            }
            Self::OAuthClientRejected => {
                "fix salesforce.client_id and salesforce.client_secret (the product's own OAuth client), then restart connectord"
            }
            Self::ApiVersionUnavailable => {
                "set salesforce.api_version to a version the org offers (the message lists the newest), or wait for the org's upgrade"
            }
            Self::PermissionDependencyMissing => {
                "add a field of the object the message names to the connection (`connectord connection fields ID --field Object.Field`) so connectord grants read on it, and report the dependency so it joins connectord's table"
            }
            Self::FieldNotReadable => {
                "an org admin finds what keeps the integration user from reading the named field though its permission set grants it (the user's licence, a field restriction), then `connectord connection reconnect ID`; or drop the field with `connectord connection fields ID --field ...`"
            }
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_match_serde_and_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert!(seen.insert(code.as_str()));
            assert!(!code.remedy().is_empty());
        }
    }
}
