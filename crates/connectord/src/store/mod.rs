//! PostgreSQL: the pool, the migrations and the queries on the contract's tables.
//!
//! The database enforces the contract's rules itself (see `migrations/` and
//! `docs/tables.md`), so every writer gets the same readable error; here a refused write
//! becomes [`StoreError::Rejected`] with the database's message.

mod connect;
mod connections;
mod error;
mod events;
mod phase;
mod sealed;
mod settings;
mod status;

use sqlx::{PgPool, migrate::Migrator, postgres::PgListener};

pub use connect::{ConnectError, Target, connect, connect_one, connect_options, probe};
pub use connections::{
    Connection, NewConnection, delete_connection, get_connection, insert_connection,
    request_reconnect, set_enabled, set_fields,
};
pub use connections::{insert_connection_with_policy, set_ip_relaxation};
pub use error::{Rejection, StoreError};
pub use events::{Event, append_event, recent_events};
pub use phase::{Phase, UnknownPhase};
pub use sealed::{
    ResealReport, load_refresh_token, replace_rotated_refresh_token, reseal_stale, seal_inbox_token,
};
pub use settings::{max_connections_per_tenant, set_max_connections_per_tenant};
pub use status::{ConnectionStatus, StatusRow, get_status, list_status, retry_now};

/// The channel on which every insert, update and delete of a `connections` row is announced;
/// the payload is the row's id.
pub const NOTIFY_CHANNEL: &str = "connectord_connections";

/// The migrations in `migrations/`, compiled into the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!();

/// Applies the migrations that have not been applied yet and returns how many that was;
/// does nothing (and returns 0) when all have.
pub async fn migrate(pool: &PgPool) -> Result<usize, StoreError> {
    let before = applied_migrations(pool).await?;
    MIGRATOR.run(pool).await?;
    Ok(applied_migrations(pool).await?.saturating_sub(before))
}

/// Counted without creating sqlx's bookkeeping table (the migrator does that under its own
/// lock); unchecked queries because that table need not exist when this is compiled.
async fn applied_migrations(pool: &PgPool) -> Result<usize, StoreError> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await?;
    if !exists {
        return Ok(0);
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await?;
    Ok(usize::try_from(count).unwrap_or(0))
}

/// A listener subscribed to [`NOTIFY_CHANNEL`].
pub async fn listen(pool: &PgPool) -> Result<PgListener, StoreError> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(NOTIFY_CHANNEL).await?;
    Ok(listener)
}
