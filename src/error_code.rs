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
    /// Salesforce's token endpoint rejects the product's own OAuth client
    /// (`salesforce.client_id` / `client_secret`): a process-wide condition (issue 16 item 2).
    #[serde(rename = "oauth_client_rejected")]
    OAuthClientRejected,
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
        Self::OAuthClientRejected,
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
            Self::OAuthClientRejected => "oauth_client_rejected",
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
                | Self::OAuthClientRejected
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
            Self::OAuthClientRejected => {
                "fix salesforce.client_id and salesforce.client_secret (the product's own OAuth client), then restart connectord"
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
