//! `POST /v1/connections/{id}/token` on the daemon's `http.listen`: an agent presents its
//! bearer credential and gets a token for one of its tenant's connections, through the same
//! [`super::Vendor::token`] as `connectord token ID --tenant T`.
//!
//! Answers: 200 with the token JSON; 401 (`invalid_credential`) without a known, unrevoked
//! credential; 403 (`token_not_available`) whenever the connection is not the credential's
//! tenant's, or not enabled and ready (one answer for all, so it does not reveal whether
//! another tenant's id exists); 502 with the contract's code when the org did not mint one;
//! 500 (`internal`) otherwise. No answer and no log line holds a secret.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use uuid::Uuid;

use super::VendError;
use crate::http::Ops;

/// The route, as axum writes it.
pub const PATH: &str = "/v1/connections/{id}/token";

fn answer(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "error_code": code, "message": message });
    let mut response = (status, Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
    }
    response
}

fn bearer(headers: &HeaderMap) -> Option<SecretString> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credential) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| SecretString::from(credential.trim().to_owned()))
}

pub async fn vend(State(ops): State<Ops>, Path(id): Path<Uuid>, headers: HeaderMap) -> Response {
    let Some(credential) = bearer(&headers) else {
        return answer(
            StatusCode::UNAUTHORIZED,
            "invalid_credential",
            "send Authorization: Bearer with an agent credential",
        );
    };
    let tenant = match super::agents::tenant_of(&ops.pool, &credential).await {
        Ok(Some(tenant)) => tenant,
        Ok(None) => {
            return answer(
                StatusCode::UNAUTHORIZED,
                "invalid_credential",
                "the agent credential is unknown or revoked",
            );
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot look up an agent credential");
            return answer(StatusCode::INTERNAL_SERVER_ERROR, "internal", "try again");
        }
    };
    match ops.vendor.token(id, &tenant).await {
        Ok(token) => (StatusCode::OK, Json(token.to_json())).into_response(),
        Err(e) => {
            let status = match &e {
                VendError::NotAvailable { .. } => StatusCode::FORBIDDEN,
                VendError::Salesforce(_) => StatusCode::BAD_GATEWAY,
                VendError::Database(_) | VendError::Sealed => StatusCode::INTERNAL_SERVER_ERROR,
            };
            if status != StatusCode::FORBIDDEN {
                tracing::warn!(connection_id = %id, tenant_id = %tenant, error = %e, "cannot vend a token");
            }
            answer(status, e.error_code().as_str(), &e.to_string())
        }
    }
}
