//! `connectord_settings`: the settings the database itself needs to enforce its rules.

use sqlx::PgPool;

use super::StoreError;

/// Writes `reconciler.max_connections_per_tenant` where the database's per-tenant cap reads
/// it; the daemon calls this when it starts. Existing rows over a lowered cap stay; only new
/// ones are refused.
pub async fn set_max_connections_per_tenant(pool: &PgPool, limit: u32) -> Result<(), StoreError> {
    let limit = i32::try_from(limit).unwrap_or(i32::MAX);
    sqlx::query!(
        "INSERT INTO connectord_settings (singleton, max_connections_per_tenant)
         VALUES (true, $1)
         ON CONFLICT (singleton) DO UPDATE
            SET max_connections_per_tenant = EXCLUDED.max_connections_per_tenant",
        limit
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The cap the database enforces now.
pub async fn max_connections_per_tenant(pool: &PgPool) -> Result<i32, StoreError> {
    let limit = sqlx::query_scalar!(
        "SELECT max_connections_per_tenant FROM connectord_settings WHERE singleton"
    )
    .fetch_optional(pool)
    .await?
    .unwrap_or(20);
    Ok(limit)
}
