//! Pacing of in-place upgrades: at most `reconciler.upgrades_per_minute` begin in any minute,
//! counted in PostgreSQL so that every process and every concurrent pass share one budget.

use sqlx::PgPool;
use uuid::Uuid;

/// Any fixed number: the advisory lock that serialises slot taking.
const SLOT_LOCK: i64 = 0x636f_6e6e_7570_6772; // "connupgr"

/// Takes one upgrade slot for `id` if fewer than `per_minute` were taken in the last minute;
/// false if the budget is spent (or `per_minute` is 0: upgrades paused).
pub async fn take_upgrade_slot(pool: &PgPool, id: Uuid, per_minute: u32) -> sqlx::Result<bool> {
    if per_minute == 0 {
        return Ok(false);
    }
    let mut tx = pool.begin().await?;
    // Held until commit: two passes cannot both see the last free slot.
    sqlx::query!("SELECT pg_advisory_xact_lock($1)", SLOT_LOCK)
        .execute(&mut *tx)
        .await?;
    let taken = sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM upgrade_slots
            WHERE taken_at > clock_timestamp() - interval '1 minute'"#
    )
    .fetch_one(&mut *tx)
    .await?;
    let free = taken < i64::from(per_minute);
    if free {
        sqlx::query!(
            "INSERT INTO upgrade_slots (connection_id, taken_at) VALUES ($1, clock_timestamp())",
            id
        )
        .execute(&mut *tx)
        .await?;
        // Slots older than the window count for nothing any more.
        sqlx::query!(
            "DELETE FROM upgrade_slots WHERE taken_at < clock_timestamp() - interval '1 hour'"
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(free)
}
