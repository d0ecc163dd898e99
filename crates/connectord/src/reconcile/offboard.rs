//! Issue 20 item 4: `connectord connection forget ID --reason TEXT`, letting go of a customer
//! whose org can no longer be reached or whose admin's grant is gone. Turn-off cannot happen
//! then, so the delete guard (migration 0002) would refuse the row for ever.
//!
//! Forget first proves the grant is gone: the sealed admin refresh token is redeemed once, and
//! if it still works forget refuses (turn the connection off instead). Then, in one
//! transaction with the row locked: a `forgotten` event lists by name and id every component
//! the daemon recorded in the org (so the customer's admin can delete them by hand), the
//! status row goes (with it the guard's "may still exist in Salesforce"; only the daemon's
//! role may write `connection_status`, never the product's), and the row goes with its
//! sealed secrets and component sets (`ON DELETE CASCADE`). The audit trail has no foreign key,
//! so the event outlives the row, followed by the trigger's `connection_deleted`. Token vending
//! checks the row on every request (`vend::authorise`), so `token` stops at once.

use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::model::ComponentSet;
use super::names::SetNames;
use super::repoint::describe_remnants;
use crate::error_code::ErrorCode;
use crate::salesforce::{Salesforce, SalesforceError};
use crate::secrets::Sealer;
use crate::store::StoreError;

/// Why a connection was not forgotten.
#[derive(Debug, thiserror::Error)]
pub enum ForgetError {
    #[error("no connection {0}")]
    NotFound(Uuid),
    /// The admin's grant still redeems: the components can be removed properly.
    #[error(
        "connection {0}: the admin's authorization still works, so its components can be removed properly: disable it first (connectord connection remove {0}); forget is only for an org that can no longer be reached or whose admin's grant is gone"
    )]
    GrantStillWorks(Uuid),
    /// The org answered in a way that says nothing about the grant (e.g. the product's own
    /// OAuth client is refused, or the org is busy).
    #[error(
        "connection {id}: could not tell whether the admin's grant is gone ({cause}); try again later"
    )]
    Undecided { id: Uuid, cause: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("connection {id}: its recorded components cannot be read: {detail}")]
    Unreadable { id: Uuid, detail: String },
}

impl From<sqlx::Error> for ForgetError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(StoreError::from(error))
    }
}

/// What forget removed and reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forgotten {
    /// Why the grant was taken to be gone.
    pub cause: String,
    /// Every component recorded in the org, by name and id.
    pub remnants: Vec<String>,
}

/// Proves the grant is gone, then forgets the connection (see the module's comment).
pub async fn forget(
    pool: &PgPool,
    sealer: &Sealer,
    salesforce: &Salesforce,
    id: Uuid,
    reason: &str,
) -> Result<Forgotten, ForgetError> {
    let cause = grant_gone(pool, sealer, salesforce, id).await?;
    let remnants = remove(pool, id, reason, &cause).await?;
    Ok(Forgotten { cause, remnants })
}

/// Why the admin's grant cannot be used any more, or why forget must refuse.
async fn grant_gone(
    pool: &PgPool,
    sealer: &Sealer,
    salesforce: &Salesforce,
    id: Uuid,
) -> Result<String, ForgetError> {
    let Some(loaded) = super::record::load(pool, id).await? else {
        return Err(ForgetError::NotFound(id));
    };
    let Some(token) = crate::store::load_refresh_token(pool, sealer, id).await? else {
        return Ok("no admin refresh token is stored for this connection".into());
    };
    let url_text = loaded.url_in_use();
    let url = match url::Url::parse(&url_text) {
        Ok(url) => url,
        Err(e) => return Ok(format!("the instance URL {url_text} is not a URL ({e})")),
    };
    let checked = match salesforce.instance_policy().check(&url) {
        Ok(checked) => checked,
        Err(e) => return Ok(e.to_string()),
    };
    let org = salesforce.org(checked, token);
    org.expect_org(loaded.org_id.clone());
    // Any read redeems the grant first; the user's own record is always there to read.
    let result = org
        .query::<serde_json::Value>("SELECT Id FROM User LIMIT 1")
        .await;
    match result {
        Ok(_) => Err(ForgetError::GrantStillWorks(id)),
        Err(e) if ends_the_grant(&e) => Ok(e.to_string()),
        Err(e) => Err(ForgetError::Undecided {
            id,
            cause: e.to_string(),
        }),
    }
}

/// The failures that say the org cannot be reached with this grant any more.
fn ends_the_grant(error: &SalesforceError) -> bool {
    matches!(
        error.error_code(),
        ErrorCode::AdminTokenRevoked
            | ErrorCode::InvalidInstanceUrl
            | ErrorCode::GovernmentCloudUnsupported
            | ErrorCode::OrgMismatch
            | ErrorCode::IpRestricted
            | ErrorCode::SalesforceUnavailable
    )
}

/// The event, then the row, in one transaction; returns the remnants listed.
async fn remove(
    pool: &PgPool,
    id: Uuid,
    reason: &str,
    cause: &str,
) -> Result<Vec<String>, ForgetError> {
    let mut tx = pool.begin().await?;
    let Some(row) = sqlx::query!(
        "SELECT tenant_id, instance_url FROM connections WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Err(ForgetError::NotFound(id));
    };
    let states = sqlx::query_scalar!(
        "SELECT state FROM component_sets WHERE connection_id = $1 ORDER BY serial",
        id
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut remnants = Vec::new();
    for state in states {
        let set: ComponentSet =
            serde_json::from_value(state).map_err(|e| ForgetError::Unreadable {
                id,
                detail: e.to_string(),
            })?;
        remnants.extend(left_of(id, &set));
    }
    let retired = sqlx::query_scalar!(
        "SELECT retired_user_id FROM connection_state WHERE connection_id = $1",
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .flatten();
    remnants.extend(
        retired.map(|user| format!("deactivated integration user ({user}) of an earlier set")),
    );
    let detail = json!({
        "reason": reason,
        "cause": cause,
        "tenant_id": row.tenant_id,
        "instance_url": row.instance_url,
        "remnants": remnants,
    });
    sqlx::query!(
        "INSERT INTO connection_events (connection_id, action, outcome, detail)
         VALUES ($1, 'forgotten', 'ok', $2)",
        id,
        detail
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!("DELETE FROM connection_status WHERE connection_id = $1", id)
        .execute(&mut *tx)
        .await?;
    sqlx::query!("DELETE FROM connections WHERE id = $1", id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(remnants)
}

/// Everything of one set that may be left in the org: what turn-off would have removed, and
/// the integration user even when deactivated (users cannot be deleted).
fn left_of(id: Uuid, set: &ComponentSet) -> Vec<String> {
    let mut left = describe_remnants(id, set);
    if let Some(user) = set.user.as_ref().filter(|u| !u.active) {
        let names = SetNames::of(id, set);
        left.push(format!(
            "deactivated integration user {} ({})",
            names.username, user.id
        ));
    }
    left
}
