//! What can go wrong in the store, sorted by what the caller does about it.

use std::fmt;

use sqlx::postgres::PgDatabaseError;
use uuid::Uuid;

use crate::secrets::SealError;

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A database rule refused the write (bad input: the message says what is wrong).
    #[error("{0}")]
    Rejected(Rejection),
    /// No `connections` row has this id.
    #[error("no connection {0}")]
    NotFound(Uuid),
    /// A credential could not be sealed, or a sealed one could not be opened (the cause says
    /// which).
    #[error("connection {id}, {purpose}")]
    Seal {
        id: Uuid,
        purpose: &'static str,
        source: SealError,
    },
    #[error("database error")]
    Database(#[source] sqlx::Error),
    #[error("cannot apply the migrations")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// Whether the writer asked for something the contract does not allow (exit code 2).
    pub fn is_bad_input(&self) -> bool {
        matches!(self, Self::Rejected(_) | Self::NotFound(_))
    }
}

/// A write refused by one of the database's rules, with the database's own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The SQLSTATE: `23505` duplicate, `23514` shape or limit, `23001` delete refused, …
    pub code: String,
    /// The rule that refused it (a constraint name from `docs/tables.md`), when known.
    pub constraint: Option<String>,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

/// SQLSTATE class 23 is "integrity constraint violation"; P0001 is a plain `RAISE EXCEPTION`.
fn is_rule_violation(code: &str) -> bool {
    code.starts_with("23") || code == "P0001"
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        let Some(pg) = error
            .as_database_error()
            .and_then(|e| e.try_downcast_ref::<PgDatabaseError>())
        else {
            return Self::Database(error);
        };
        if !is_rule_violation(pg.code()) {
            return Self::Database(error);
        }
        let constraint = pg.constraint().map(str::to_owned);
        // The bare unique index only speaks when two writers race past the friendlier
        // trigger check; say the same thing the trigger would have.
        let message = match (constraint.as_deref(), pg.detail()) {
            (Some("connections_tenant_instance_unique"), Some(detail))
                if pg.message().starts_with("duplicate key") =>
            {
                format!("the tenant already has a connection to this instance URL: {detail}")
            }
            _ => pg.message().to_owned(),
        };
        Self::Rejected(Rejection {
            code: pg.code().to_owned(),
            constraint,
            message,
            hint: pg.hint().map(str::to_owned),
        })
    }
}
