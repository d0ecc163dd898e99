//! The pure mapping from Salesforce's answers (HTTP status + error body) to
//! [`SalesforceError`].
//!
//! Salesforce error bodies come as a JSON array of `{message, errorCode, fields?}` (REST), a
//! single such object (some Connect and Metadata resources), or `{error, error_description}`
//! (the OAuth token endpoint). Anything else is a [`SalesforceError::BadResponse`].

use serde::Deserialize;

use super::error::SalesforceError;

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
    if status == 429 {
        // Too Many Requests (RFC 6585 §4); the caller adds `Retry-After` from the headers.
        return SalesforceError::Throttled {
            detail: "HTTP 429 Too Many Requests".into(),
            retry_after: None,
        };
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

/// A `FIELD_INTEGRITY_EXCEPTION` message about a permission another one needs ("Permission
/// Read Contacts depends on permission(s): Read Accounts").
pub(crate) fn is_permission_dependency(message: &str) -> bool {
    message
        .to_ascii_lowercase()
        .contains("depends on permission")
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
        // The same code for two limits: the daily allowance ("TotalRequests Limit exceeded.")
        // and too many long-running requests at once ("ConcurrentPerOrgLongTxn Limit
        // exceeded", "ConcurrentRequests (Concurrent API Requests) Limit exceeded"), which
        // clears in seconds. Sources in docs/salesforce-client.md.
        "REQUEST_LIMIT_EXCEEDED" if message.to_ascii_lowercase().contains("concurrent") => {
            SalesforceError::Throttled {
                detail: message,
                retry_after: None,
            }
        }
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
        "FIELD_INTEGRITY_EXCEPTION" if is_permission_dependency(&message) => {
            SalesforceError::PermissionDependencyMissing { message }
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
    use crate::error_code::ErrorCode;

    #[test]
    fn a_permission_dependency_is_its_own_code_other_integrity_errors_are_not() {
        let e = from_response(
            400,
            br#"[{"message":"Permission Read Contacts depends on permission(s): Read Accounts","errorCode":"FIELD_INTEGRITY_EXCEPTION","fields":["PermissionsRead"]}]"#,
        );
        assert_eq!(e.error_code(), ErrorCode::PermissionDependencyMissing);
        let e = from_response(
            400,
            br#"[{"message":"The API name can only contain underscores","errorCode":"FIELD_INTEGRITY_EXCEPTION"}]"#,
        );
        assert!(matches!(e, SalesforceError::Rejected { .. }), "{e:?}");
    }

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
    fn the_concurrent_request_limit_is_a_short_retry_not_the_daily_allowance() {
        for message in [
            "ConcurrentPerOrgLongTxn Limit exceeded.",
            "ConcurrentRequests (Concurrent API Requests) Limit exceeded",
        ] {
            let body =
                serde_json::json!([{"message": message, "errorCode": "REQUEST_LIMIT_EXCEEDED"}]);
            let e = from_response(403, body.to_string().as_bytes());
            assert!(matches!(e, SalesforceError::Throttled { .. }), "{e:?}");
            assert!(e.is_retryable());
            assert_eq!(e.error_code(), ErrorCode::SalesforceUnavailable);
        }
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
}
