//! Connecting to PostgreSQL, with errors that name their cause (refused, authentication
//! failed, database missing, timeout) and where the connection was going: host, port and
//! database, never the password. One probe connection first, bounded by
//! `database.connect_timeout`, so that a cause is seen at once instead of a pool that retries
//! until it reports only "pool timed out".

use std::fmt;
use std::str::FromStr as _;
use std::time::Duration;

use anyhow::Context as _;
use secrecy::ExposeSecret as _;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{ConnectOptions as _, Connection as _, PgPool};

use crate::config::{ConfigError, Settings};

/// Where a connection was going.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
}

impl Target {
    pub fn of(options: &PgConnectOptions) -> Target {
        let host = match options.get_socket() {
            Some(socket) => socket.display().to_string(),
            None => options.get_host().to_owned(),
        };
        Target {
            host,
            port: options.get_port(),
            database: options
                .get_database()
                .unwrap_or(options.get_username())
                .to_owned(),
            user: options.get_username().to_owned(),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "host {} port {} database {}",
            self.host, self.port, self.database
        )
    }
}

/// Why no connection could be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(
        "cannot connect to the database ({0}): connection refused; is the server running and \
         listening on that host and port?"
    )]
    Refused(Target),
    #[error(
        "cannot connect to the database ({target}): authentication failed for user {}; check the \
         user and password in database.url",
        target.user
    )]
    AuthenticationFailed { target: Target },
    #[error(
        "cannot connect to the database ({0}): the database does not exist; create it or name \
         another in database.url"
    )]
    DatabaseMissing(Target),
    #[error(
        "cannot connect to the database ({target}): no answer within {} (database.connect_timeout)",
        humantime::format_duration(*after)
    )]
    Timeout { target: Target, after: Duration },
    #[error("cannot connect to the database ({target}): {cause}")]
    Other { target: Target, cause: String },
}

impl ConnectError {
    fn classify(target: Target, error: sqlx::Error) -> ConnectError {
        if let sqlx::Error::Io(io) = &error {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return ConnectError::Refused(target);
            }
        }
        match error
            .as_database_error()
            .and_then(|db| db.code())
            .as_deref()
        {
            // invalid_password, invalid_authorization_specification
            Some("28P01" | "28000") => ConnectError::AuthenticationFailed { target },
            // invalid_catalog_name
            Some("3D000") => ConnectError::DatabaseMissing(target),
            _ => ConnectError::Other {
                target,
                cause: error.to_string(),
            },
        }
    }
}

/// The parsed `database.url`; never repeats the URL (it may hold a password).
pub fn connect_options(settings: &Settings) -> Result<PgConnectOptions, ConfigError> {
    PgConnectOptions::from_str(settings.database_url()?.expose_secret())
        .map_err(|_| ConfigError::new("database.url", "is not a valid PostgreSQL URL"))
}

/// One connection, or why not, within `timeout`.
pub async fn connect_one(
    options: &PgConnectOptions,
    timeout: Duration,
) -> Result<PgConnection, ConnectError> {
    let target = Target::of(options);
    match tokio::time::timeout(timeout, options.connect()).await {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(error)) => Err(ConnectError::classify(target, error)),
        Err(_) => Err(ConnectError::Timeout {
            target,
            after: timeout,
        }),
    }
}

/// Checks that a connection can be made, within `timeout`.
pub async fn probe(options: &PgConnectOptions, timeout: Duration) -> Result<(), ConnectError> {
    let connection = connect_one(options, timeout).await?;
    let _ = connection.close().await;
    Ok(())
}

/// A pool for `database.url`, checked first so that a wrong URL or a database that is down
/// is reported now, with its cause.
pub async fn connect(settings: &Settings) -> anyhow::Result<PgPool> {
    let options = connect_options(settings)?;
    probe(&options, settings.database.connect_timeout).await?;
    PgPoolOptions::new()
        .max_connections(settings.database.max_connections)
        .acquire_timeout(settings.database.connect_timeout)
        .connect_with(options.clone())
        .await
        .with_context(|| format!("cannot connect to the database ({})", Target::of(&options)))
}
