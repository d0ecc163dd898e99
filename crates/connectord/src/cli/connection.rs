//! `connectord migrate` and `connectord connection …`: desired-state changes from the command
//! line. Every rule the database refuses a write for becomes exit code 2 with its message.

use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString, zeroize::Zeroize as _};
use sqlx::PgPool;
use tokio::io::{AsyncRead, AsyncReadExt as _};
use uuid::Uuid;

use super::{BadInput, ConnectionCommand};
use crate::{
    config::Settings,
    reconcile::offboard::{self, ForgetError},
    secrets::Sealer,
    store::{self, NewConnection, Phase, StoreError},
};

/// How often `remove` looks at the status while it waits.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// No refresh token is anywhere near this long; more is a mistake on the command line.
const MAX_TOKEN_BYTES: u64 = 16 * 1024;

pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let pool = store::connect(settings).await?;
    let applied = store::migrate(&pool).await?;
    if applied == 0 {
        println!("the schema was already up to date");
    } else {
        println!("applied {applied} migration(s); the schema is up to date");
    }
    Ok(())
}

pub async fn run(settings: &Settings, command: ConnectionCommand) -> anyhow::Result<()> {
    match command {
        ConnectionCommand::Add {
            tenant,
            instance_url,
            fields,
            enable,
            ip_relaxation,
        } => {
            // The key first: a missing key must not cost the caller their token on stdin.
            let sealer = Sealer::from_settings(&settings.secrets)?;
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                eprintln!("reading the admin refresh token from standard input (end with Ctrl-D)");
            }
            let token = read_token(tokio::io::stdin()).await?;
            let pool = store::connect(settings).await?;
            let new = NewConnection {
                tenant_id: tenant,
                instance_url: instance_url.trim().trim_end_matches('/').to_owned(),
                required_fields: dedup(fields),
                enabled: enable,
            };
            let policy = ip_relaxation.and_then(|p| p.policy());
            let id = store::insert_connection_with_policy(&pool, &sealer, &new, &token, policy)
                .await
                .map_err(cli_error)?;
            println!("{id}");
        }
        ConnectionCommand::Enable { id } => {
            let pool = store::connect(settings).await?;
            let generation = store::set_enabled(&pool, id, true)
                .await
                .map_err(cli_error)?;
            println!("connection {id}: enabled (generation {generation})");
        }
        ConnectionCommand::Disable { id } => {
            let pool = store::connect(settings).await?;
            let generation = store::set_enabled(&pool, id, false)
                .await
                .map_err(cli_error)?;
            println!("connection {id}: disabled (generation {generation})");
        }
        ConnectionCommand::Reconnect { id } => {
            let pool = store::connect(settings).await?;
            let generation = store::request_reconnect(&pool, id)
                .await
                .map_err(cli_error)?;
            println!("connection {id}: reconnect requested (generation {generation})");
        }
        ConnectionCommand::Fields { id, fields } => {
            let pool = store::connect(settings).await?;
            let fields = dedup(fields);
            let generation = store::set_fields(&pool, id, &fields)
                .await
                .map_err(cli_error)?;
            println!(
                "connection {id}: {} required field(s) (generation {generation})",
                fields.len()
            );
        }
        ConnectionCommand::IpRelaxation { id, policy } => {
            let pool = store::connect(settings).await?;
            let generation = store::set_ip_relaxation(&pool, id, policy.policy())
                .await
                .map_err(cli_error)?;
            let shown = policy
                .policy()
                .map_or("the installation's default", |p| p.column_value());
            println!("connection {id}: IP relaxation {shown} (generation {generation})");
        }
        ConnectionCommand::Remove { id, timeout } => {
            let pool = store::connect(settings).await?;
            remove(&pool, id, timeout).await?;
        }
        ConnectionCommand::Forget { id, reason } => forget(settings, id, &reason).await?,
    }
    Ok(())
}

/// Disables the connection, waits until the daemon reports it torn down (or it never had a
/// status), then deletes the row. Progress goes to standard error.
async fn remove(pool: &PgPool, id: Uuid, timeout: Duration) -> anyhow::Result<()> {
    store::set_enabled(pool, id, false)
        .await
        .map_err(cli_error)?;
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last_seen: Option<Phase> = None;
    loop {
        let status = store::get_status(pool, id).await?;
        let phase = status.as_ref().map(|s| s.phase);
        if matches!(phase, None | Some(Phase::Disabled)) {
            match store::delete_connection(pool, id).await {
                Ok(()) | Err(StoreError::NotFound(_)) => {
                    println!("connection {id}: removed");
                    return Ok(());
                }
                // The daemon took it up again in between; keep waiting.
                Err(StoreError::Rejected(_)) => {}
                Err(error) => return Err(error.into()),
            }
        } else if phase != last_seen {
            if let Some(status) = &status {
                let problem = match (&status.error_code, &status.error_message) {
                    (Some(code), Some(message)) => format!(" [{code}: {message}]"),
                    (Some(code), None) => format!(" [{code}]"),
                    _ => String::new(),
                };
                eprintln!(
                    "connection {id}: phase {}{problem}; waiting for the teardown",
                    status.phase
                );
            }
            last_seen = phase;
        }
        if tokio::time::Instant::now() >= deadline {
            let phase = phase.map_or_else(|| "none".to_owned(), |p| p.to_string());
            anyhow::bail!(
                "connection {id} was not torn down within {} (phase {phase}); it stays \
                 disabled. Is `connectord run` running? Run this command again to keep waiting",
                humantime::format_duration(timeout)
            );
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// `connection forget`: an unknown id or an empty reason is bad input (exit 2); a grant that
/// still works is a refusal (exit 1) that says to disable first.
async fn forget(settings: &Settings, id: Uuid, reason: &str) -> anyhow::Result<()> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(BadInput("--reason must say why the connection is forgotten".into()).into());
    }
    let sealer = Sealer::from_settings(&settings.secrets)?;
    let salesforce = crate::salesforce::Salesforce::new(&settings.salesforce)?;
    let pool = store::connect(settings).await?;
    let forgotten = offboard::forget(&pool, &sealer, &salesforce, id, reason)
        .await
        .map_err(|e| match e {
            ForgetError::NotFound(_) => BadInput(e.to_string()).into(),
            other => anyhow::Error::from(other),
        })?;
    println!("connection {id}: forgotten ({})", forgotten.cause);
    if forgotten.remnants.is_empty() {
        println!("nothing was recorded in the org");
    } else {
        println!("left in the org, for its admin to delete by hand:");
        for remnant in &forgotten.remnants {
            println!("  {remnant}");
        }
    }
    Ok(())
}

/// Reads the admin refresh token: the whole input, trimmed; one token, no inner whitespace.
pub(super) async fn read_token(input: impl AsyncRead + Unpin) -> Result<SecretString, BadInput> {
    let mut raw = String::new();
    let read = input
        .take(MAX_TOKEN_BYTES + 1)
        .read_to_string(&mut raw)
        .await;
    let token = SecretString::from(raw.trim());
    raw.zeroize();
    if read.is_err() {
        return Err(BadInput(
            "standard input is not readable text; pipe the admin refresh token into it".into(),
        ));
    }
    let text = token.expose_secret();
    if text.is_empty() {
        return Err(BadInput("no refresh token on standard input".into()));
    }
    if text.len() as u64 > MAX_TOKEN_BYTES {
        return Err(BadInput(format!(
            "the refresh token on standard input is longer than {MAX_TOKEN_BYTES} bytes"
        )));
    }
    if text.chars().any(char::is_whitespace) {
        return Err(BadInput(
            "standard input holds more than one word; give only the admin refresh token".into(),
        ));
    }
    Ok(token)
}

/// The fields in the order given, each once.
fn dedup(fields: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    fields
        .into_iter()
        .map(|f| f.trim().to_owned())
        .filter(|f| seen.insert(f.clone()))
        .collect()
}

/// A refused write or an unknown id is bad input (exit 2); anything else is a failure.
fn cli_error(error: StoreError) -> anyhow::Error {
    if error.is_bad_input() {
        BadInput(error.to_string()).into()
    } else {
        error.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(input: &str) -> Result<SecretString, BadInput> {
        read_token(input.as_bytes()).await
    }

    #[tokio::test]
    async fn a_token_is_read_trimmed() {
        let token = read("  5Aep861.abc==\n").await.unwrap();
        assert_eq!(token.expose_secret(), "5Aep861.abc==");
    }

    #[tokio::test]
    async fn empty_input_is_refused_with_the_contract_message() {
        let error = read(" \n").await.err().unwrap();
        assert_eq!(error.to_string(), "no refresh token on standard input");
    }

    #[tokio::test]
    async fn two_words_are_refused_without_repeating_them() {
        let error = read("secret-one secret-two").await.err().unwrap();
        assert!(!error.to_string().contains("secret-"), "{error}");
    }

    #[tokio::test]
    async fn an_oversized_input_is_refused() {
        let huge = "x".repeat(MAX_TOKEN_BYTES as usize + 10);
        let error = read(&huge).await.err().unwrap();
        assert!(error.to_string().contains("longer than"), "{error}");
    }

    #[test]
    fn fields_keep_their_order_and_lose_duplicates() {
        let fields = vec!["B.x".into(), " A.y".into(), "B.x".into()];
        assert_eq!(dedup(fields), vec!["B.x".to_owned(), "A.y".to_owned()]);
    }

    #[test]
    fn refusals_and_unknown_ids_exit_2_and_other_failures_exit_1() {
        let unknown = cli_error(StoreError::NotFound(Uuid::nil()));
        assert_eq!(
            super::super::exit_code(&unknown),
            super::super::EXIT_BAD_INPUT
        );
        assert_eq!(
            unknown.to_string(),
            format!("no connection {}", Uuid::nil())
        );
        let down = cli_error(StoreError::Database(sqlx::Error::PoolTimedOut));
        assert_eq!(super::super::exit_code(&down), super::super::EXIT_FAILURE);
    }
}
