//! The mapping tables: `tenant_members` (read), `member_mappings`, `member_mapping_blocks` and
//! `member_mapping_gaps` (read and written). Writes of an automatic run are guarded so that a
//! manual change made meanwhile from the command line is never overwritten.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::matcher::Decision;
use super::model::{Gap, Mapping, Member, Method};

/// The connection's mapping settings.
#[derive(Debug, Clone)]
pub struct Target {
    pub tenant_id: String,
    pub mapping_mode: String,
    pub auto_mapping: bool,
}

/// A stored mapping with its timestamp.
#[derive(Debug, Clone)]
pub struct Stored {
    pub mapping: Mapping,
    pub mapped_at: DateTime<Utc>,
}

/// One line of `mapping list`: a member (or a mapping whose member is gone) and its state.
#[derive(Debug, Clone)]
pub struct Listed {
    pub member_id: String,
    pub mapped: Option<Stored>,
    /// Why it is unmapped, as last noted (`removed_by_hand` while blocked).
    pub gap: Option<String>,
}

pub async fn target(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<Target>> {
    let row = sqlx::query!(
        "SELECT tenant_id, mapping_mode, auto_mapping FROM connections WHERE id = $1",
        id
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| Target {
        tenant_id: r.tenant_id,
        mapping_mode: r.mapping_mode,
        auto_mapping: r.auto_mapping,
    }))
}

pub async fn members(pool: &PgPool, tenant: &str) -> sqlx::Result<Vec<Member>> {
    let rows = sqlx::query!(
        "SELECT member_id, email, saml_name_id FROM tenant_members
          WHERE tenant_id = $1 ORDER BY member_id",
        tenant
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Member {
            id: r.member_id,
            email: r.email,
            saml_name_id: r.saml_name_id,
        })
        .collect())
}

/// The connection's mappings, by member id. Rows with an unknown method are skipped (the
/// table's check constraint keeps them out).
pub async fn mappings(pool: &PgPool, id: Uuid) -> sqlx::Result<Vec<Stored>> {
    let rows = sqlx::query!(
        "SELECT member_id, salesforce_user_id, salesforce_username, method, mapped_at
           FROM member_mappings WHERE connection_id = $1 ORDER BY member_id",
        id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(Stored {
                mapping: Mapping {
                    member_id: r.member_id,
                    user_id: r.salesforce_user_id,
                    username: r.salesforce_username,
                    method: Method::parse(&r.method)?,
                },
                mapped_at: r.mapped_at,
            })
        })
        .collect())
}

/// The members already mapped to the Salesforce user `user_id`.
pub async fn members_of_user(pool: &PgPool, id: Uuid, user_id: &str) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        "SELECT member_id FROM member_mappings
          WHERE connection_id = $1 AND salesforce_user_id = $2 ORDER BY member_id",
        id,
        user_id
    )
    .fetch_all(pool)
    .await
}

pub async fn blocked(pool: &PgPool, id: Uuid) -> sqlx::Result<BTreeSet<String>> {
    let rows = sqlx::query_scalar!(
        "SELECT member_id FROM member_mapping_blocks WHERE connection_id = $1",
        id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Writes an automatic run's decision in one transaction: drops (only rows still as read),
/// upserts (never over a manual row, unless it is that row's own refresh; never for a member
/// blocked meanwhile), and the unmapped members' reasons.
pub async fn apply(pool: &PgPool, id: Uuid, decision: &Decision) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    for (old, _) in &decision.drops {
        sqlx::query!(
            "DELETE FROM member_mappings
              WHERE connection_id = $1 AND member_id = $2 AND salesforce_user_id = $3
                AND method = $4",
            id,
            old.member_id,
            old.user_id,
            old.method.as_str()
        )
        .execute(&mut *tx)
        .await?;
    }
    for new in &decision.upserts {
        sqlx::query!(
            "INSERT INTO member_mappings AS m
                    (connection_id, member_id, salesforce_user_id, salesforce_username, method)
             SELECT $1, $2, $3, $4, $5
              WHERE NOT EXISTS (SELECT 1 FROM member_mapping_blocks b
                                 WHERE b.connection_id = $1 AND b.member_id = $2)
             ON CONFLICT (connection_id, member_id) DO UPDATE
                SET salesforce_user_id = EXCLUDED.salesforce_user_id,
                    salesforce_username = EXCLUDED.salesforce_username,
                    method = EXCLUDED.method,
                    mapped_at = CASE WHEN m.salesforce_user_id = EXCLUDED.salesforce_user_id
                                     THEN m.mapped_at ELSE now() END
              WHERE m.method <> 'manual'
                 OR (EXCLUDED.method = 'manual'
                     AND m.salesforce_user_id = EXCLUDED.salesforce_user_id)",
            id,
            new.member_id,
            new.user_id,
            new.username,
            new.method.as_str()
        )
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query!(
        "DELETE FROM member_mapping_gaps WHERE connection_id = $1",
        id
    )
    .execute(&mut *tx)
    .await?;
    let (members, reasons): (Vec<String>, Vec<String>) = decision
        .unmapped
        .iter()
        .map(|(m, g)| (m.clone(), g.as_str().to_owned()))
        .unzip();
    sqlx::query!(
        "INSERT INTO member_mapping_gaps (connection_id, member_id, reason)
         SELECT $1, * FROM UNNEST($2::text[], $3::text[])",
        id,
        &members,
        &reasons
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// A mapping made by hand: lifts the member's block and replaces whatever mapping it had.
pub async fn set_manual(pool: &PgPool, id: Uuid, mapping: &Mapping) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    set_manual_in(&mut tx, id, mapping).await?;
    tx.commit().await
}

/// Several mappings made by hand, all or none.
pub async fn set_manual_all(pool: &PgPool, id: Uuid, mappings: &[Mapping]) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    for mapping in mappings {
        set_manual_in(&mut tx, id, mapping).await?;
    }
    tx.commit().await
}

async fn set_manual_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    id: Uuid,
    mapping: &Mapping,
) -> sqlx::Result<()> {
    sqlx::query!(
        "DELETE FROM member_mapping_blocks WHERE connection_id = $1 AND member_id = $2",
        id,
        mapping.member_id
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "DELETE FROM member_mapping_gaps WHERE connection_id = $1 AND member_id = $2",
        id,
        mapping.member_id
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "INSERT INTO member_mappings
                (connection_id, member_id, salesforce_user_id, salesforce_username, method)
         VALUES ($1, $2, $3, $4, 'manual')
         ON CONFLICT (connection_id, member_id) DO UPDATE
            SET salesforce_user_id = EXCLUDED.salesforce_user_id,
                salesforce_username = EXCLUDED.salesforce_username,
                method = 'manual', mapped_at = now()",
        id,
        mapping.member_id,
        mapping.user_id,
        mapping.username
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Removes a member's mapping and keeps automatic mapping away from it. Returns the mapping
/// that was removed, if there was one.
pub async fn remove(pool: &PgPool, id: Uuid, member: &str) -> sqlx::Result<Option<String>> {
    let mut tx = pool.begin().await?;
    let removed = sqlx::query_scalar!(
        "DELETE FROM member_mappings WHERE connection_id = $1 AND member_id = $2
         RETURNING salesforce_username",
        id,
        member
    )
    .fetch_optional(&mut *tx)
    .await?;
    sqlx::query!(
        "INSERT INTO member_mapping_blocks (connection_id, member_id) VALUES ($1, $2)
         ON CONFLICT DO NOTHING",
        id,
        member
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "INSERT INTO member_mapping_gaps (connection_id, member_id, reason) VALUES ($1, $2, $3)
         ON CONFLICT (connection_id, member_id)
         DO UPDATE SET reason = EXCLUDED.reason, noted_at = now()",
        id,
        member,
        Gap::RemovedByHand.as_str()
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(removed)
}

/// Every member of the tenant and every mapping of the connection, by member id.
pub async fn listing(pool: &PgPool, id: Uuid, tenant: &str) -> sqlx::Result<Vec<Listed>> {
    let rows = sqlx::query!(
        r#"SELECT ids.member_id AS "member_id!", g.reason AS "reason?",
                  (b.member_id IS NOT NULL) AS "blocked!"
             FROM (SELECT member_id FROM tenant_members WHERE tenant_id = $2
                   UNION
                   SELECT member_id FROM member_mappings WHERE connection_id = $1) ids
             LEFT JOIN member_mapping_gaps g
                    ON g.connection_id = $1 AND g.member_id = ids.member_id
             LEFT JOIN member_mapping_blocks b
                    ON b.connection_id = $1 AND b.member_id = ids.member_id
            ORDER BY ids.member_id"#,
        id,
        tenant
    )
    .fetch_all(pool)
    .await?;
    let mut mapped = mappings(pool, id).await?.into_iter().peekable();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let stored = mapped.next_if(|m| m.mapping.member_id == row.member_id);
        let gap = match (&stored, row.blocked) {
            (Some(_), _) => None,
            (None, true) => Some(Gap::RemovedByHand.as_str().to_owned()),
            (None, false) => Some(row.reason.unwrap_or_else(|| "not_checked_yet".into())),
        };
        out.push(Listed {
            member_id: row.member_id,
            mapped: stored,
            gap,
        });
    }
    Ok(out)
}
