//! Issue 20 item 5: at most one deactivated integration user per connection. Salesforce never
//! deletes a user, but it lets an admin edit an inactive user's Username and reactivate it
//! (docs/salesforce-client.md, "Retired integration users"). So the user connectord itself
//! deactivated when it tore a set down is remembered (`connection_state.retired_user_id`, with
//! the org's id) and the next set reuses it: renamed to that set's username and reactivated,
//! in the same Composite call that licenses and assigns it. A user a person deactivated
//! (`integration_user_deactivated`) is never remembered, so never reactivated.

use sqlx::PgPool;
use uuid::Uuid;

use super::fence;
use super::model::{ComponentSet, Known, Role};
use super::plan::TeardownWork;
use super::record;

/// Records `set` after its access was torn down. When connectord itself just deactivated its
/// user, the set is on its way out even if the row is turned on again before it is gone (its
/// user is never taken for one a person deactivated), and the user is remembered for reuse.
pub async fn record_teardown(
    pool: &PgPool,
    id: Uuid,
    org: Option<String>,
    set: &mut ComponentSet,
    work: &TeardownWork,
) -> sqlx::Result<()> {
    let ours = set.user.clone().filter(|u| !u.active).map(|u| u.id);
    let ours = ours.filter(|u| work.deactivate_user.as_ref() == Some(u));
    if ours.is_some() {
        set.role = Role::Retiring;
    }
    record::save_set(pool, id, set).await?;
    match (ours, org) {
        (Some(user), Some(org)) => remember(pool, id, &user, &org).await,
        _ => Ok(()),
    }
}

/// Remembers `user` (just deactivated by connectord in org `org`) for the next set.
async fn remember(pool: &PgPool, id: Uuid, user: &str, org: &str) -> sqlx::Result<()> {
    write(pool, id, Some(user), Some(org)).await
}

/// Forgets the remembered user (it was reused).
pub async fn clear(pool: &PgPool, id: Uuid) -> sqlx::Result<()> {
    write(pool, id, None, None).await
}

/// The remembered user, if it belongs to the org recorded for the connection (none is
/// recorded right after the row was pointed at another org), unless a recorded set still
/// names it.
pub async fn reusable(pool: &PgPool, id: Uuid, known: &Known) -> sqlx::Result<Option<String>> {
    let user = sqlx::query_scalar!(
        "SELECT retired_user_id FROM connection_state
          WHERE connection_id = $1 AND retired_user_org = org_id",
        id
    )
    .fetch_optional(pool)
    .await?
    .flatten();
    let in_use = |user: &String| {
        known
            .sets
            .iter()
            .any(|s| s.user.as_ref().is_some_and(|u| &u.id == user))
    };
    Ok(user.filter(|u| !in_use(u)))
}

async fn write(pool: &PgPool, id: Uuid, user: Option<&str>, org: Option<&str>) -> sqlx::Result<()> {
    let (owner, epoch) = fence::token();
    let done = sqlx::query!(
        r#"INSERT INTO connection_state (connection_id, retired_user_id, retired_user_org)
           SELECT $1, $2, $3 WHERE connection_lease_holds($1, $4, $5)
           ON CONFLICT (connection_id) DO UPDATE
              SET retired_user_id = EXCLUDED.retired_user_id,
                  retired_user_org = EXCLUDED.retired_user_org, updated_at = now()"#,
        id,
        user,
        org,
        owner,
        epoch
    )
    .execute(pool)
    .await?;
    fence::checked(pool, id, done.rows_affected()).await?;
    Ok(())
}
