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
    /// The org does not offer the configured `salesforce.api_version` (issue 17 item 5).
    ApiVersionUnavailable,
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
        Self::ApiVersionUnavailable,
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
            Self::ApiVersionUnavailable => "api_version_unavailable",
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
                | Self::ApiVersionUnavailable
        )
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
        }
    }
}
