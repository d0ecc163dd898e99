//! What can go wrong in member mapping. The command line turns the variants a person can fix
//! by changing their input into exit code 2.

use uuid::Uuid;

use crate::salesforce::SalesforceError;
use crate::secrets::SealError;

#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("no connection {0}")]
    NoConnection(Uuid),
    #[error("connection {0} is not ready: it has no app credentials yet")]
    NotReady(Uuid),
    #[error("connection {id} has an unknown mapping_mode {mode:?}")]
    UnknownMode { id: Uuid, mode: String },
    #[error("member {member:?} is not a member of tenant {tenant:?}")]
    NoMember { tenant: String, member: String },
    #[error("no Salesforce user {0:?} in the org")]
    NoUser(String),
    #[error("Salesforce user {0:?} is not active")]
    InactiveUser(String),
    #[error(
        "Salesforce user {username:?} is already mapped to member {member:?}; remove that mapping first"
    )]
    UserTaken { username: String, member: String },
    #[error("cannot open the sealed consumer secret (was secrets.key changed?): {0}")]
    Sealing(#[from] SealError),
    #[error(
        "mapping_too_many_users: the org has {at_least} or more active users, over reconciler.mapping_max_users ({max}), so automatic mapping read no further; raise that setting, or turn auto_mapping off and map members by hand (connectord mapping set / import). The connection itself is unaffected"
    )]
    TooManyUsers { at_least: u64, max: usize },
    #[error("instance URL {url}: {reason}")]
    InstanceUrl { url: String, reason: String },
    #[error(transparent)]
    Salesforce(#[from] SalesforceError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl MappingError {
    /// A stable code for the failures a person acts on, recorded with the `member_mapping`
    /// event (`detail.error_code`).
    pub fn code(&self) -> Option<&'static str> {
        match self {
            MappingError::TooManyUsers { .. } => Some("mapping_too_many_users"),
            _ => None,
        }
    }

    /// Errors in what the person asked for (exit 2), as opposed to failures (exit 1).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            MappingError::NoConnection(_)
                | MappingError::NotReady(_)
                | MappingError::NoMember { .. }
                | MappingError::NoUser(_)
                | MappingError::InactiveUser(_)
                | MappingError::UserTaken { .. }
        )
    }
}
