//! Salesforce's REST error shapes: an array of `{message, errorCode, fields}` for a failed
//! call, and `{statusCode, message, fields}` inside a SaveResult.

use axum::http::StatusCode;
use serde_json::{Value, json};

/// One error as an org reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct SfError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub fields: Vec<String>,
}

impl SfError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        SfError {
            status,
            code: code.to_string(),
            message: message.into(),
            fields: Vec::new(),
        }
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn with_fields<I: IntoIterator<Item = S>, S: Into<String>>(mut self, fields: I) -> Self {
        self.fields = fields.into_iter().map(Into::into).collect();
        self
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested resource does not exist",
        )
    }

    pub fn session_expired() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
        )
    }

    pub fn limit_exceeded() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
        )
    }

    /// Too many long-running requests at once (not the daily allowance).
    pub fn concurrent_limit_exceeded() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "REQUEST_LIMIT_EXCEEDED",
            "ConcurrentPerOrgLongTxn Limit exceeded.",
        )
    }

    pub fn malformed_json(detail: impl std::fmt::Display) -> Self {
        Self::bad_request("JSON_PARSER_ERROR", format!("Unexpected JSON: {detail}"))
    }

    /// The body of a failed REST call: an array with this one error.
    pub fn body(&self) -> Value {
        if self.fields.is_empty() {
            json!([{ "message": self.message, "errorCode": self.code }])
        } else {
            json!([{ "message": self.message, "errorCode": self.code, "fields": self.fields }])
        }
    }

    /// The error as it appears inside a SaveResult (`statusCode`, not `errorCode`).
    pub fn save_result_error(&self) -> Value {
        json!({ "statusCode": self.code, "message": self.message, "fields": self.fields })
    }
}

/// A failed SaveResult, as sObject Collections return it.
pub fn failed_save_result(error: &SfError) -> Value {
    json!({ "success": false, "errors": [error.save_result_error()] })
}

/// The SaveResult of a record rolled back by `allOrNone`.
pub fn rolled_back_save_result() -> Value {
    json!({ "success": false, "errors": [{
        "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
        "fields": []
    }]})
}
