//! The org's users, read through the connection itself: a client-credentials token minted with
//! the connection's consumer key and secret (the app connectord made), then SOQL with every
//! page followed (up to a cap for automatic mapping). What the app's execution user may read is what mapping sees.

use uuid::Uuid;

use super::error::MappingError;
use super::model::OrgUser;
use crate::reconcile::record;
use crate::salesforce::{AppSession, Bounded, Salesforce};
use crate::secrets::{Purpose, Sealer};

/// The active users automatic mapping matches against.
pub const ACTIVE_USERS_SOQL: &str =
    "SELECT Id, Username, Email, FederationIdentifier, IsActive FROM User WHERE IsActive = true";

/// Every user, active or not, so that a manual mapping can say "inactive" rather than "unknown".
pub const ALL_USERS_SOQL: &str =
    "SELECT Id, Username, Email, FederationIdentifier, IsActive FROM User";

/// A session as the connection's app, on the org's current URL.
pub async fn session(
    pool: &sqlx::PgPool,
    salesforce: &Salesforce,
    sealer: &Sealer,
    id: Uuid,
) -> Result<AppSession, MappingError> {
    let loaded = record::load(pool, id)
        .await?
        .ok_or(MappingError::NoConnection(id))?;
    let (key, sealed) = record::active_credentials(pool, id)
        .await?
        .ok_or(MappingError::NotReady(id))?;
    let secret = sealer.open(id, Purpose::ConsumerSecret, &sealed)?;
    let text = loaded.url_in_use();
    let url = url::Url::parse(&text)
        .map_err(|e| e.to_string())
        .and_then(|u| {
            salesforce
                .instance_policy()
                .check(&u)
                .map_err(|e| e.to_string())
        })
        .map_err(|reason| MappingError::InstanceUrl {
            url: text.clone(),
            reason,
        })?;
    Ok(salesforce.app_session(&url, &key, &secret).await?)
}

/// The org's active users, if there are no more than `max` (`reconciler.mapping_max_users`):
/// an org with more is refused after its first page, `MappingError::TooManyUsers`.
pub async fn active_users(session: &AppSession, max: u32) -> Result<Vec<OrgUser>, MappingError> {
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    match session
        .query_at_most::<OrgUser>(ACTIVE_USERS_SOQL, max)
        .await?
    {
        Bounded::All(users) => Ok(users.into_iter().filter(|u| u.is_active).collect()),
        Bounded::TooMany { at_least } => Err(MappingError::TooManyUsers { at_least, max }),
    }
}

/// Every user of the org.
pub async fn all_users(session: &AppSession) -> Result<Vec<OrgUser>, MappingError> {
    Ok(session.query(ALL_USERS_SOQL).await?)
}
