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
    /// A person deactivated the connection's integration user; connectord does not reactivate
    /// it. Remedy: reconnect.
    IntegrationUserDeactivated,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 11] = [
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
        Self::IntegrationUserDeactivated,
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
            Self::IntegrationUserDeactivated => "integration_user_deactivated",
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
                | Self::IntegrationUserDeactivated
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
