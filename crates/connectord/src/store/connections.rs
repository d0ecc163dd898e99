//! `connections`: the desired state, as the command line writes it and the daemon reads it.

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use sqlx::PgPool;
use uuid::Uuid;

use super::{StoreError, sealed};
use crate::salesforce::eca::IpRelaxation;
use crate::secrets::{Owner, Sealer};

/// A connection to add.
#[derive(Debug, Clone)]
pub struct NewConnection {
    pub tenant_id: String,
    pub instance_url: String,
    pub required_fields: Vec<String>,
    pub enabled: bool,
}

/// A `connections` row, without the inbox token (only whether one is waiting).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Connection {
    pub id: Uuid,
    pub tenant_id: String,
    pub instance_url: String,
    pub enabled: bool,
    pub required_fields: Vec<String>,
    pub reconnect_requested_at: Option<DateTime<Utc>>,
    pub generation: i64,
    pub mapping_mode: String,
    pub auto_mapping: bool,
    /// A token waits in the `admin_refresh_token` inbox column, not sealed yet.
    pub has_inbox_token: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Inserts a connection and its sealed admin refresh token in one transaction; the token
/// never touches the inbox column. Returns the new id.
pub async fn insert_connection(
    pool: &PgPool,
    sealer: &Sealer,
    new: &NewConnection,
    admin_refresh_token: &SecretString,
) -> Result<Uuid, StoreError> {
    insert_connection_with_policy(pool, sealer, new, admin_refresh_token, None).await
}

/// [`insert_connection`] with the connection's own IP relaxation policy (`None`: the
/// installation's `salesforce.ip_relaxation`), written in the same statement.
pub async fn insert_connection_with_policy(
    pool: &PgPool,
    sealer: &Sealer,
    new: &NewConnection,
    admin_refresh_token: &SecretString,
    ip_relaxation: Option<IpRelaxation>,
) -> Result<Uuid, StoreError> {
    let id = Uuid::new_v4();
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "INSERT INTO connections (id, tenant_id, instance_url, required_fields, enabled,
                                  ip_relaxation)
         VALUES ($1, $2, $3, $4, $5, $6)",
        id,
        new.tenant_id,
        new.instance_url,
        &new.required_fields,
        new.enabled,
        ip_relaxation.map(IpRelaxation::column_value),
    )
    .execute(&mut *tx)
    .await?;
    let owner = Owner::new(id, &new.tenant_id);
    sealed::put_refresh_token(&mut tx, sealer, owner, admin_refresh_token).await?;
    tx.commit().await?;
    Ok(id)
}

/// The connection with this id, if there is one.
pub async fn get_connection(pool: &PgPool, id: Uuid) -> Result<Option<Connection>, StoreError> {
    let connection = sqlx::query_as!(
        Connection,
        r#"SELECT id, tenant_id, instance_url, enabled, required_fields, reconnect_requested_at,
                  generation, mapping_mode, auto_mapping,
                  admin_refresh_token IS NOT NULL AS "has_inbox_token!",
                  created_at, updated_at
             FROM connections WHERE id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await?;
    Ok(connection)
}

/// Turns access on or off. Returns the generation after the change.
pub async fn set_enabled(pool: &PgPool, id: Uuid, enabled: bool) -> Result<i64, StoreError> {
    sqlx::query_scalar!(
        "UPDATE connections SET enabled = $2 WHERE id = $1 RETURNING generation",
        id,
        enabled
    )
    .fetch_optional(pool)
    .await?
    .ok_or(StoreError::NotFound(id))
}

/// Sets the connection's own IP relaxation policy (`None`: back to the installation's
/// `salesforce.ip_relaxation`). Returns the generation after the change.
pub async fn set_ip_relaxation(
    pool: &PgPool,
    id: Uuid,
    ip_relaxation: Option<IpRelaxation>,
) -> Result<i64, StoreError> {
    sqlx::query_scalar!(
        "UPDATE connections SET ip_relaxation = $2 WHERE id = $1 RETURNING generation",
        id,
        ip_relaxation.map(IpRelaxation::column_value)
    )
    .fetch_optional(pool)
    .await?
    .ok_or(StoreError::NotFound(id))
}

/// Asks for the connection's components to be deleted and created anew. Returns the
/// generation after the change.
pub async fn request_reconnect(pool: &PgPool, id: Uuid) -> Result<i64, StoreError> {
    sqlx::query_scalar!(
        "UPDATE connections SET reconnect_requested_at = now() WHERE id = $1
         RETURNING generation",
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(StoreError::NotFound(id))
}

/// Replaces the `Object.Field` names the agent must read. Returns the generation after the
/// change (unchanged when the list is the same).
pub async fn set_fields(pool: &PgPool, id: Uuid, fields: &[String]) -> Result<i64, StoreError> {
    sqlx::query_scalar!(
        "UPDATE connections SET required_fields = $2 WHERE id = $1 RETURNING generation",
        id,
        fields
    )
    .fetch_optional(pool)
    .await?
    .ok_or(StoreError::NotFound(id))
}

/// Deletes the row; the database refuses while its components may still exist in
/// Salesforce ([`StoreError::Rejected`]).
pub async fn delete_connection(pool: &PgPool, id: Uuid) -> Result<(), StoreError> {
    let deleted = sqlx::query!("DELETE FROM connections WHERE id = $1", id)
        .execute(pool)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(StoreError::NotFound(id));
    }
    Ok(())
}
