//! The one error type of the Salesforce client, and the pure mapping from Salesforce's answers
//! (HTTP status + error body) to it.
//!
//! Salesforce error bodies come as a JSON array of `{message, errorCode, fields?}` (REST), a
//! single such object (some Connect and Metadata resources), or `{error, error_description}`
//! (the OAuth token endpoint). Anything else is a [`SalesforceError::BadResponse`].

use serde::Deserialize;

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

    #[error("Salesforce has no such record ({message})")]
    NotFound { message: String },

    #[error("Salesforce already has a record like this ({code}: {message})")]
    Duplicate { code: String, message: String },

    #[error(
        "Salesforce does not know the field {field} or it cannot be granted ({message}); fix the field name or make it permissionable"
    )]
    UnknownField { field: String, message: String },

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

    #[error("the Salesforce deploy {id} did not finish in time; it will be checked again")]
    DeployTimedOut { id: String },

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

    #[error("the Salesforce client could not be set up: {0}")]
    Setup(String),
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
            Self::LicenseUnavailable { .. } => ErrorCode::LicenseUnavailable,
            Self::IpRestricted { .. } => ErrorCode::IpRestricted,
            Self::DeployFailed { .. } => ErrorCode::DeployFailed,
            Self::InvalidInstanceUrl { .. } | Self::Redirected { .. } => {
                ErrorCode::InvalidInstanceUrl
            }
            Self::GovernmentCloudUnsupported { .. } => ErrorCode::GovernmentCloudUnsupported,
            Self::SessionExpired
            | Self::Unavailable { .. }
            | Self::BadResponse { .. }
            | Self::DeployTimedOut { .. } => ErrorCode::SalesforceUnavailable,
            Self::NotFound { .. }
            | Self::Duplicate { .. }
            | Self::Rejected { .. }
            | Self::Setup(_) => ErrorCode::Internal,
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
                | Self::DeployTimedOut { .. }
        )
    }
}

/// One entry of a REST error body, or of a SaveResult's `errors` (which says `statusCode`).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ApiError {
    #[serde(default)]
    pub message: String,
    #[serde(default, alias = "statusCode")]
    #[serde(rename = "errorCode")]
    pub error_code: String,
    #[serde(default)]
    pub fields: Vec<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorBody {
    Many(Vec<ApiError>),
    OAuth {
        error: String,
        #[serde(default)]
        error_description: String,
    },
    One(ApiError),
}

/// Maps a non-success HTTP answer to an error. Pure: status and body in, error out.
pub(crate) fn from_response(status: u16, body: &[u8]) -> SalesforceError {
    if (300..400).contains(&status) {
        return SalesforceError::Redirected { status };
    }
    if status >= 500 {
        return SalesforceError::Unavailable {
            detail: format!("HTTP {status}"),
        };
    }
    let parsed: ErrorBody = match serde_json::from_slice(body) {
        Ok(parsed) => parsed,
        Err(e) => return bad_body(status, body, &e),
    };
    match parsed {
        ErrorBody::OAuth {
            error,
            error_description,
        } => from_oauth_error(status, &error, &error_description),
        ErrorBody::Many(errors) => match errors.into_iter().next() {
            Some(first) => from_api_error(status, first),
            None => SalesforceError::BadResponse {
                status,
                detail: "empty error list".into(),
            },
        },
        ErrorBody::One(error) => from_api_error(status, error),
    }
}

/// Describes a body that is not the JSON we expected, without repeating it.
pub(crate) fn bad_body(status: u16, body: &[u8], e: &serde_json::Error) -> SalesforceError {
    let looks_like_html = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'<');
    let detail = if looks_like_html {
        "an HTML page instead of JSON".to_owned()
    } else if e.is_eof() {
        "truncated JSON".to_owned()
    } else if e.is_data() {
        format!("unexpected JSON shape: {e}")
    } else {
        "not JSON".to_owned()
    };
    SalesforceError::BadResponse { status, detail }
}

/// Maps one Salesforce `{errorCode, message, fields}` to a variant.
pub(crate) fn from_api_error(status: u16, error: ApiError) -> SalesforceError {
    let ApiError {
        message,
        error_code: code,
        fields,
    } = error;
    match code.as_str() {
        "INVALID_SESSION_ID" => SalesforceError::SessionExpired,
        "REQUEST_LIMIT_EXCEEDED" => SalesforceError::ApiLimitExceeded,
        "NOT_FOUND" | "ENTITY_IS_DELETED" => SalesforceError::NotFound { message },
        "DUPLICATE_VALUE"
        | "DUPLICATE_USERNAME"
        | "DUPLICATE_COMM_NICKNAME"
        | "DUPLICATE_DEVELOPER_NAME" => SalesforceError::Duplicate { code, message },
        "INVALID_FIELD"
        | "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
        | "INVALID_FIELD_FOR_INSERT_UPDATE" => {
            let field = fields.first().cloned().unwrap_or_default();
            SalesforceError::UnknownField { field, message }
        }
        "LICENSE_LIMIT_EXCEEDED" | "NO_AVAILABLE_LICENSES" => {
            SalesforceError::LicenseUnavailable { message }
        }
        _ if status == 404 => SalesforceError::NotFound { message },
        _ if status == 401 => SalesforceError::SessionExpired,
        _ => SalesforceError::Rejected {
            status,
            code,
            message,
            fields,
        },
    }
}

/// Maps an OAuth token endpoint error (`{error, error_description}`).
pub(crate) fn from_oauth_error(status: u16, error: &str, description: &str) -> SalesforceError {
    let lower = description.to_ascii_lowercase();
    if lower.contains("ip restricted") || lower.contains("ip address") {
        return SalesforceError::IpRestricted {
            message: description.to_owned(),
        };
    }
    match error {
        "invalid_grant" => SalesforceError::AdminTokenRevoked {
            description: description.to_owned(),
        },
        _ => SalesforceError::Rejected {
            status,
            code: error.to_owned(),
            message: description.to_owned(),
            fields: Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_array_body_maps_by_its_first_error_code() {
        let e = from_response(
            400,
            br#"[{"message":"No such column 'foo'","errorCode":"INVALID_FIELD","fields":["foo"]}]"#,
        );
        assert!(matches!(e, SalesforceError::UnknownField { ref field, .. } if field == "foo"));
        assert_eq!(e.error_code(), ErrorCode::UnknownField);
    }

    #[test]
    fn a_single_object_body_is_accepted() {
        let e = from_response(
            400,
            br#"{"message":"dup","errorCode":"DUPLICATE_USERNAME"}"#,
        );
        assert!(
            matches!(e, SalesforceError::Duplicate { ref code, .. } if code == "DUPLICATE_USERNAME")
        );
    }

    #[test]
    fn a_limit_error_is_not_retryable() {
        let e = from_response(
            403,
            br#"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#,
        );
        assert!(matches!(e, SalesforceError::ApiLimitExceeded));
        assert!(!e.is_retryable());
        assert_eq!(e.error_code(), ErrorCode::ApiLimitExceeded);
    }

    #[test]
    fn an_html_page_is_a_bad_response_with_the_status() {
        let e = from_response(400, b"<html><body>Oops</body></html>");
        match e {
            SalesforceError::BadResponse { status, detail } => {
                assert_eq!(status, 400);
                assert!(detail.contains("HTML"), "{detail}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn truncated_json_is_a_bad_response() {
        let e = from_response(400, br#"[{"message":"No such"#);
        assert!(
            matches!(e, SalesforceError::BadResponse { ref detail, .. } if detail == "truncated JSON"),
            "{e:?}"
        );
    }

    #[test]
    fn invalid_grant_means_the_admin_token_is_revoked_unless_the_ip_is_restricted() {
        let revoked = from_response(
            400,
            br#"{"error":"invalid_grant","error_description":"expired access/refresh token"}"#,
        );
        assert!(matches!(revoked, SalesforceError::AdminTokenRevoked { .. }));
        assert!(!revoked.is_retryable());
        let ip = from_response(
            400,
            br#"{"error":"invalid_grant","error_description":"ip restricted"}"#,
        );
        assert_eq!(ip.error_code(), ErrorCode::IpRestricted);
        let hours = from_response(
            400,
            br#"{"error":"invalid_grant","error_description":"IP restricted or invalid login hours"}"#,
        );
        assert_eq!(hours.error_code(), ErrorCode::IpRestricted);
        assert!(!hours.is_retryable());
        assert!(hours.to_string().contains("Network Access"), "{hours}");
    }

    #[test]
    fn server_errors_and_redirects_have_their_own_variants() {
        assert!(from_response(503, b"").is_retryable());
        assert!(matches!(
            from_response(302, b""),
            SalesforceError::Redirected { status: 302 }
        ));
    }

    #[test]
    fn a_licence_shortage_is_named() {
        let e = from_response(
            400,
            br#"[{"message":"no licenses","errorCode":"LICENSE_LIMIT_EXCEEDED"}]"#,
        );
        assert_eq!(e.error_code(), ErrorCode::LicenseUnavailable);
    }

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
