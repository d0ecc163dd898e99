//! One automatic mapping run for one connection: read the members, the mappings, the blocks
//! and the org's active users (through the connection's own app), decide, write the changes.
//! The reconciler calls [`sync`] after a pass settles `ready`.

use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::error::MappingError;
use super::matcher::{Decision, Inputs, decide};
use super::model::Mode;
use super::{org_users, store};
use crate::salesforce::Salesforce;
use crate::secrets::Sealer;

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncReport {
    /// `auto_mapping` is off (or the connection is gone): nothing was read or written.
    Skipped,
    /// The run happened.
    Done {
        mapped: usize,
        written: usize,
        dropped: usize,
        unmapped: usize,
    },
}

/// Runs automatic mapping for connection `id` if its `auto_mapping` is on, reading at most
/// `max_users` of the org's users. Reads the org only
/// when the tenant has members or the connection has mappings. Appends a `member_mapping`
/// event when anything changed.
pub async fn sync(
    pool: &PgPool,
    salesforce: &Salesforce,
    sealer: &Sealer,
    id: Uuid,
    max_users: u32,
) -> Result<SyncReport, MappingError> {
    let Some(target) = store::target(pool, id).await? else {
        return Ok(SyncReport::Skipped);
    };
    if !target.auto_mapping {
        return Ok(SyncReport::Skipped);
    }
    let mode = Mode::parse(&target.mapping_mode).ok_or_else(|| MappingError::UnknownMode {
        id,
        mode: target.mapping_mode.clone(),
    })?;
    let members = store::members(pool, &target.tenant_id).await?;
    let existing: Vec<_> = store::mappings(pool, id)
        .await?
        .into_iter()
        .map(|s| s.mapping)
        .collect();
    // A tenant that does not use mapping costs the org nothing.
    if members.is_empty() && existing.is_empty() {
        return Ok(SyncReport::Done {
            mapped: 0,
            written: 0,
            dropped: 0,
            unmapped: 0,
        });
    }
    let session = org_users::session(pool, salesforce, sealer, id).await?;
    let users = org_users::active_users(&session, max_users).await?;
    let blocked = store::blocked(pool, id).await?;
    let decision = decide(Inputs {
        mode,
        members: &members,
        users: &users,
        existing: &existing,
        blocked: &blocked,
    });
    store::apply(pool, id, &decision).await?;
    if !decision.upserts.is_empty() || !decision.drops.is_empty() {
        tracing::info!(
            connection_id = %id,
            written = decision.upserts.len(),
            dropped = decision.drops.len(),
            unmapped = decision.unmapped.len(),
            "member mappings changed"
        );
        crate::reconcile::record::event(pool, id, "member_mapping", "changed", detail(&decision))
            .await?;
    }
    Ok(SyncReport::Done {
        mapped: decision.mappings.len(),
        written: decision.upserts.len(),
        dropped: decision.drops.len(),
        unmapped: decision.unmapped.len(),
    })
}

/// The event detail: member ids, user ids and reasons only (no e-mail, no NameID).
fn detail(decision: &Decision) -> serde_json::Value {
    let written: Vec<_> = decision
        .upserts
        .iter()
        .map(|m| json!({ "member_id": m.member_id, "salesforce_user_id": m.user_id, "method": m.method.as_str() }))
        .collect();
    let dropped: Vec<_> = decision
        .drops
        .iter()
        .map(|(m, why)| json!({ "member_id": m.member_id, "salesforce_user_id": m.user_id, "reason": why.as_str() }))
        .collect();
    json!({
        "mapped": decision.mappings.len(),
        "written": written,
        "dropped": dropped,
        "unmapped": decision.unmapped.len(),
    })
}
