//! The "read only" switch of an org ([`Faults::set_read_only`](super::Faults::set_read_only)):
//! while it is on, every call that could change the org is refused and counted, so a test can
//! prove that a command wrote nothing. Reads are GETs, the token request, and a `/composite`
//! whose subrequests are all GETs; anything else is a write.

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::errors::SfError;
use super::faults::FaultState;

/// Whether a call of `method` to `path` with `body` could change the org.
pub fn is_write(method: &Method, path: &str, body: &[u8]) -> bool {
    if *method == Method::GET || *method == Method::HEAD {
        return false;
    }
    if *method != Method::POST {
        return true;
    }
    if path == "/services/oauth2/token" {
        return false;
    }
    let is_composite = path.starts_with("/services/data/v")
        && path.trim_end_matches('/').ends_with("/composite")
        && path.matches('/').count() == 4;
    if !is_composite {
        return true;
    }
    let Ok(parsed) = serde_json::from_slice::<Value>(body) else {
        return true;
    };
    let Some(requests) = parsed.get("compositeRequest").and_then(Value::as_array) else {
        return true;
    };
    !requests
        .iter()
        .all(|r| r.get("method").and_then(Value::as_str) == Some("GET"))
}

/// The refusal of a write while the org is read-only, counted.
pub fn refuse(faults: &FaultState) -> Response {
    faults.count_refused_write();
    let e = SfError::new(
        StatusCode::FORBIDDEN,
        "INSUFFICIENT_ACCESS",
        "simulator: this org is read-only and refuses every write",
    );
    (e.status, axum::Json(e.body())).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gets_tokens_and_get_only_composites_are_reads() {
        let composite = "/services/data/v67.0/composite";
        let reads = br#"{"compositeRequest":[{"method":"GET","url":"x","referenceId":"a"}]}"#;
        let writes = br#"{"compositeRequest":[{"method":"GET","url":"x","referenceId":"a"},
                          {"method":"POST","url":"y","referenceId":"b"}]}"#;
        assert!(!is_write(&Method::GET, "/services/data/v67.0/query", b""));
        assert!(!is_write(&Method::POST, "/services/oauth2/token", b""));
        assert!(!is_write(&Method::POST, composite, reads));
        assert!(is_write(&Method::POST, composite, writes));
        assert!(is_write(
            &Method::POST,
            "/services/data/v67.0/composite/sobjects",
            reads
        ));
        assert!(is_write(
            &Method::PATCH,
            "/services/data/v67.0/sobjects/User/1",
            b""
        ));
        assert!(is_write(
            &Method::DELETE,
            "/services/data/v67.0/sobjects/User/1",
            b""
        ));
    }
}
