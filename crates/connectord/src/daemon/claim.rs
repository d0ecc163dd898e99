//! Leases in PostgreSQL: claiming due connections, heart-beating, releasing, and the counts the
//! metrics report. A connection is claimable when it has no lease or its lease expired; the
//! claim locks the connection rows it picks with `FOR NO KEY UPDATE SKIP LOCKED` (replicas
//! claiming at the same moment spread over different rows instead of waiting), and the upsert's
//! `WHERE expires_at <= now()` is what makes two claims of one connection impossible.
//!
//! Claims start from `connection_due` (migration 0011): an index of when each connection may
//! next be claimed, kept by triggers and never later than the truth, so a poll reads due work
//! only, however many connections are settled. The full rule is still checked on what it gives.
//!
//! Order: changes of the desired state (and tokens in the inbox) first, the most recent change
//! first, so an admin's toggle does not queue behind a bulk change of a thousand rows; then
//! retries and resyncs, the longest overdue first.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// One connection this process now holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    pub id: Uuid,
    pub epoch: i64,
    /// The lease was held by another process that stopped heart-beating.
    pub took_over_from: Option<String>,
    /// The phase before this pass (`None`: never reconciled).
    pub phase_before: Option<String>,
    /// When the desired state last changed.
    pub desired_changed_at: DateTime<Utc>,
}

/// What to claim.
#[derive(Debug, Clone)]
pub struct ClaimRequest<'a> {
    pub owner: &'a str,
    pub limit: i64,
    pub expiry: Duration,
    /// Connections this process is working on already (never claimed twice locally).
    pub in_flight: &'a [Uuid],
    /// Org origins (`https://host`) near their API allowance: only urgent work for them.
    pub throttled: &'a [String],
}

/// Claims up to `limit` due connections. Due: never reconciled, desired state changed since,
/// a token waiting in the inbox, a retry or resync due, or a lease left by a crashed replica.
/// Urgent (allowed on throttled orgs): turning off and reconnecting.
pub async fn claim(pool: &PgPool, request: &ClaimRequest<'_>) -> sqlx::Result<Vec<Claimed>> {
    let rows = sqlx::query!(
        r#"WITH picked AS (
               SELECT c.id, c.generation_changed_at, s.phase AS phase_before,
                      l.owner AS prev_owner, l.epoch AS prev_epoch, l.expires_at AS prev_expires
                 FROM connection_due q
                 JOIN connections c ON c.id = q.connection_id
                 LEFT JOIN connection_status s ON s.connection_id = c.id
                 LEFT JOIN connection_leases l ON l.connection_id = c.id
                 LEFT JOIN connection_state st ON st.connection_id = c.id
                WHERE q.due_at <= now()
                  AND (l.connection_id IS NULL OR l.expires_at <= now())
                  AND NOT (c.id = ANY($4::uuid[]))
                  AND (s.connection_id IS NULL
                       OR s.observed_generation < c.generation
                       OR c.admin_refresh_token IS NOT NULL
                       OR s.next_attempt_at <= now()
                       OR l.owner IS NOT NULL)
                  AND (NOT c.enabled
                       OR c.reconnect_requested_at IS DISTINCT FROM st.handled_reconnect_at
                       OR NOT coalesce(lower(substring(coalesce(s.instance_url, c.instance_url)
                                                       FROM '^[A-Za-z]+://[^/]+')) = ANY($5::text[]),
                                       false))
                ORDER BY q.due_at, q.changed_at DESC
                LIMIT $2
                  FOR NO KEY UPDATE OF c SKIP LOCKED
           ), claimed AS (
               INSERT INTO connection_leases AS l (connection_id, owner, epoch, expires_at, claimed_at)
               SELECT id, $1, 1, now() + make_interval(secs => $3), clock_timestamp() FROM picked
               ON CONFLICT (connection_id) DO UPDATE
                  SET owner = EXCLUDED.owner, epoch = l.epoch + 1,
                      expires_at = EXCLUDED.expires_at, claimed_at = clock_timestamp()
                WHERE l.expires_at <= now()
               RETURNING l.connection_id, l.epoch, l.claimed_at
           ), expired AS (
               UPDATE connection_lease_history h
                  SET released_at = p.prev_expires, ended = 'expired'
                 FROM picked p JOIN claimed k ON k.connection_id = p.id
                WHERE h.connection_id = p.id AND h.epoch = p.prev_epoch
                  AND p.prev_owner IS NOT NULL AND h.ended IS NULL
           ), history AS (
               INSERT INTO connection_lease_history (connection_id, epoch, owner, claimed_at)
               SELECT connection_id, epoch, $1, claimed_at FROM claimed
           )
           SELECT k.connection_id AS "id!", k.epoch AS "epoch!", p.prev_owner AS "prev_owner?",
                  p.phase_before AS "phase_before?", p.generation_changed_at AS "changed_at!"
             FROM claimed k JOIN picked p ON p.id = k.connection_id"#,
        request.owner,
        request.limit,
        request.expiry.as_secs_f64(),
        request.in_flight,
        request.throttled,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Claimed {
            id: r.id,
            epoch: r.epoch,
            took_over_from: r.prev_owner,
            phase_before: r.phase_before,
            desired_changed_at: r.changed_at,
        })
        .collect())
}

/// Extends the leases still held by `owner` among `held` (id, epoch); returns the ids extended.
pub async fn heartbeat(
    pool: &PgPool,
    owner: &str,
    held: &[(Uuid, i64)],
    expiry: Duration,
) -> sqlx::Result<Vec<Uuid>> {
    let (ids, epochs): (Vec<Uuid>, Vec<i64>) = held.iter().copied().unzip();
    sqlx::query_scalar!(
        r#"UPDATE connection_leases l SET expires_at = now() + make_interval(secs => $4)
             FROM unnest($2::uuid[], $3::bigint[]) AS h(id, epoch)
            WHERE l.connection_id = h.id AND l.epoch = h.epoch AND l.owner = $1
           RETURNING l.connection_id"#,
        owner,
        &ids,
        &epochs,
        expiry.as_secs_f64()
    )
    .fetch_all(pool)
    .await
}

/// Gives a lease back. `cool_down` keeps the connection from being claimed again at once (after
/// a pass that broke off without writing when to retry). Returns false if it was not held.
pub async fn release(
    pool: &PgPool,
    owner: &str,
    id: Uuid,
    epoch: i64,
    cool_down: Duration,
) -> sqlx::Result<bool> {
    let released = sqlx::query_scalar!(
        r#"WITH released AS (
               UPDATE connection_leases
                  SET owner = NULL, expires_at = now() + make_interval(secs => $4)
                WHERE connection_id = $1 AND owner = $2 AND epoch = $3
               RETURNING connection_id, epoch
           ), history AS (
               UPDATE connection_lease_history h
                  SET released_at = clock_timestamp(), ended = 'released'
                 FROM released r WHERE h.connection_id = r.connection_id AND h.epoch = r.epoch
           )
           SELECT count(*) AS "count!" FROM released"#,
        id,
        owner,
        epoch,
        cool_down.as_secs_f64()
    )
    .fetch_one(pool)
    .await?;
    Ok(released > 0)
}

/// Gives back every lease `owner` still holds (at shutdown); returns how many.
pub async fn release_all(pool: &PgPool, owner: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"WITH released AS (
               UPDATE connection_leases SET owner = NULL, expires_at = now()
                WHERE owner = $1
               RETURNING connection_id, epoch
           ), history AS (
               UPDATE connection_lease_history h
                  SET released_at = clock_timestamp(), ended = 'released'
                 FROM released r WHERE h.connection_id = r.connection_id AND h.epoch = r.epoch
           )
           SELECT count(*) AS "count!" FROM released"#,
        owner
    )
    .fetch_one(pool)
    .await
}

/// Drops lease history older than a week.
pub async fn prune_history(pool: &PgPool) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "DELETE FROM connection_lease_history WHERE released_at < now() - interval '7 days'"
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Connections due and not held by anyone: the fleet's queue.
pub async fn queue_depth(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM connection_due q
             JOIN connections c ON c.id = q.connection_id
             LEFT JOIN connection_status s ON s.connection_id = c.id
             LEFT JOIN connection_leases l ON l.connection_id = c.id
            WHERE q.due_at <= now()
              AND (l.connection_id IS NULL OR l.expires_at <= now())
              AND (s.connection_id IS NULL
                   OR s.observed_generation < c.generation
                   OR c.admin_refresh_token IS NOT NULL
                   OR s.next_attempt_at <= now()
                   OR l.owner IS NOT NULL)"#
    )
    .fetch_one(pool)
    .await
}

/// Connections per phase (`pending` for those never reconciled).
pub async fn phase_counts(pool: &PgPool) -> sqlx::Result<Vec<(String, String, i64)>> {
    let rows = sqlx::query!(
        r#"SELECT coalesce(s.phase, 'pending') AS "phase!",
                  coalesce(s.error_code, '') AS "error_code!", count(*) AS "count!"
             FROM connections c LEFT JOIN connection_status s ON s.connection_id = c.id
            GROUP BY 1, 2"#
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.phase, r.error_code, r.count))
        .collect())
}
