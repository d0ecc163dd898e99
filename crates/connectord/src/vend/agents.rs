//! Agent credentials: the bearer credentials agents present to `POST /v1/connections/{id}/token`.
//!
//! A credential is `cda_` and 32 random bytes (base64url). It is shown once, when an operator
//! makes it (`connectord agent add --tenant T`); the database keeps only its SHA-256 digest and
//! the one tenant it is bound to. Revoking it (`connectord agent revoke ID`) takes effect on the
//! next request: every request looks the digest up again.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret as _, SecretString};
use sha2::{Digest as _, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

/// What every credential starts with (so a leaked one is recognisable in a scan).
pub const PREFIX: &str = "cda_";

/// One credential as `agent list` shows it (never the credential itself).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Agent {
    pub id: Uuid,
    pub tenant_id: String,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

fn digest(credential: &str) -> Vec<u8> {
    Sha256::digest(credential.as_bytes()).to_vec()
}

/// Makes a credential for `tenant`; returns its id and the credential (shown once).
pub async fn create(
    pool: &PgPool,
    tenant: &str,
    label: &str,
) -> sqlx::Result<(Uuid, SecretString)> {
    let bytes: [u8; 32] = rand::random();
    let credential = format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let id = sqlx::query_scalar!(
        "INSERT INTO agent_credentials (tenant_id, label, secret_digest) VALUES ($1, $2, $3)
         RETURNING id",
        tenant,
        label,
        digest(&credential)
    )
    .fetch_one(pool)
    .await?;
    Ok((id, SecretString::from(credential)))
}

/// Revokes a credential; false if there is no such credential or it was already revoked.
pub async fn revoke(pool: &PgPool, id: Uuid) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE agent_credentials SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
        id
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Every credential, newest first (optionally one tenant's).
pub async fn list(pool: &PgPool, tenant: Option<&str>) -> sqlx::Result<Vec<Agent>> {
    sqlx::query_as!(
        Agent,
        "SELECT id, tenant_id, label, created_at, revoked_at FROM agent_credentials
          WHERE $1::text IS NULL OR tenant_id = $1
          ORDER BY created_at DESC, id",
        tenant
    )
    .fetch_all(pool)
    .await
}

/// The tenant a presented credential is bound to, or `None` if it is unknown or revoked.
pub async fn tenant_of(pool: &PgPool, credential: &SecretString) -> sqlx::Result<Option<String>> {
    let presented = credential.expose_secret();
    if !presented.starts_with(PREFIX) {
        return Ok(None);
    }
    sqlx::query_scalar!(
        "SELECT tenant_id FROM agent_credentials WHERE secret_digest = $1 AND revoked_at IS NULL",
        digest(presented)
    )
    .fetch_optional(pool)
    .await
}
