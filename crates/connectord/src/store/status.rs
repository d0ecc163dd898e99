//! `connection_status`: the observed state the daemon writes, read next to the desired state.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use super::{Connection, Phase, StoreError};

/// A `connection_status` row: every column of the contract, and never a secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConnectionStatus {
    pub connection_id: Uuid,
    pub phase: Phase,
    /// The `connections.generation` this status describes; 0 before the first pass.
    pub observed_generation: i64,
    /// The URL the daemon is using now (differs from the row after a My Domain rename).
    pub instance_url: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub connected_app_name: Option<String>,
    pub connected_app_id: Option<String>,
    pub consumer_key: Option<String>,
    pub integration_username: Option<String>,
    pub integration_user_id: Option<String>,
    pub permission_set_name: Option<String>,
    pub permission_set_id: Option<String>,
    pub granted_fields: Vec<String>,
    pub verified_at: Option<DateTime<Utc>>,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_reconciled_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// The shape version of the app in service (see `reconcile::model::SHAPE_VERSION`).
    pub shape_version: Option<i32>,
}

/// A connection with its observed state; `status` is `None` until the daemon first looks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StatusRow {
    #[serde(flatten)]
    pub connection: Connection,
    pub status: Option<ConnectionStatus>,
}

/// The status of one connection, if the daemon has written one.
pub async fn get_status(
    executor: impl PgExecutor<'_>,
    id: Uuid,
) -> Result<Option<ConnectionStatus>, StoreError> {
    let status = sqlx::query_as!(
        ConnectionStatus,
        r#"SELECT connection_id, phase AS "phase: Phase", observed_generation, instance_url,
                  error_code, error_message, connected_app_name, connected_app_id, consumer_key,
                  integration_username, integration_user_id, permission_set_name,
                  permission_set_id, granted_fields, verified_at, attempts, next_attempt_at,
                  last_reconciled_at, updated_at, shape_version
             FROM connection_status WHERE connection_id = $1"#,
        id
    )
    .fetch_optional(executor)
    .await?;
    Ok(status)
}

/// Every connection (of one tenant, or all), with its status, ordered by tenant and instance.
/// Both tables are read from one snapshot.
pub async fn list_status(
    pool: &PgPool,
    tenant: Option<&str>,
) -> Result<Vec<StatusRow>, StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query!("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let connections = sqlx::query_as!(
        Connection,
        r#"SELECT id, tenant_id, instance_url, enabled, required_fields, reconnect_requested_at,
                  generation, mapping_mode, auto_mapping,
                  admin_refresh_token IS NOT NULL AS "has_inbox_token!",
                  created_at, updated_at
             FROM connections
            WHERE $1::text IS NULL OR tenant_id = $1
            ORDER BY tenant_id, instance_url"#,
        tenant
    )
    .fetch_all(&mut *tx)
    .await?;
    let ids: Vec<Uuid> = connections.iter().map(|c| c.id).collect();
    let mut statuses: HashMap<Uuid, ConnectionStatus> = sqlx::query_as!(
        ConnectionStatus,
        r#"SELECT connection_id, phase AS "phase: Phase", observed_generation, instance_url,
                  error_code, error_message, connected_app_name, connected_app_id, consumer_key,
                  integration_username, integration_user_id, permission_set_name,
                  permission_set_id, granted_fields, verified_at, attempts, next_attempt_at,
                  last_reconciled_at, updated_at, shape_version
             FROM connection_status WHERE connection_id = ANY($1)"#,
        &ids
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|status| (status.connection_id, status))
    .collect();
    tx.commit().await?;
    Ok(connections
        .into_iter()
        .map(|connection| StatusRow {
            status: statuses.remove(&connection.id),
            connection,
        })
        .collect())
}

/// Makes every connection whose last pass failed with `code` due now; returns how many. `run`
/// does this at start for `oauth_client_rejected`: the remedy is new settings, that is a restart.
pub async fn retry_now(
    pool: &PgPool,
    code: crate::error_code::ErrorCode,
) -> Result<u64, StoreError> {
    let done = sqlx::query!(
        "UPDATE connection_status SET next_attempt_at = now()
          WHERE error_code = $1 AND (next_attempt_at IS NULL OR next_attempt_at > now())",
        code.as_str()
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
