//! `connection_events`: the append-only audit trail. Never a secret in it.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use super::StoreError;

/// One entry of the trail.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Event {
    pub id: i64,
    pub connection_id: Uuid,
    pub at: DateTime<Utc>,
    pub action: String,
    pub outcome: String,
    pub detail: serde_json::Value,
}

/// Appends an entry: `action` is what was done in Salesforce or decided, `outcome` how it
/// went, `detail` anything that helps a person later (never a secret). Returns its id.
pub async fn append_event(
    executor: impl PgExecutor<'_>,
    connection_id: Uuid,
    action: &str,
    outcome: &str,
    detail: &serde_json::Value,
) -> Result<i64, StoreError> {
    let id = sqlx::query_scalar!(
        "INSERT INTO connection_events (connection_id, action, outcome, detail)
         VALUES ($1, $2, $3, $4) RETURNING id",
        connection_id,
        action,
        outcome,
        detail
    )
    .fetch_one(executor)
    .await?;
    Ok(id)
}

/// The connection's latest `limit` entries, newest first.
pub async fn recent_events(
    executor: impl PgExecutor<'_>,
    connection_id: Uuid,
    limit: i64,
) -> Result<Vec<Event>, StoreError> {
    let events = sqlx::query_as!(
        Event,
        "SELECT id, connection_id, at, action, outcome, detail FROM connection_events
          WHERE connection_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
        connection_id,
        limit
    )
    .fetch_all(executor)
    .await?;
    Ok(events)
}
