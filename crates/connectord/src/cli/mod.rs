//! The command line of the contract. Each command lives in its own module; this one only
//! parses and dispatches.

use clap::{Parser, Subcommand};
use uuid::Uuid;

use crate::config::Settings;

mod agent;
mod check;
mod connection;
pub mod daemon;
mod describe;
mod events;
pub mod generate;
pub mod health;
mod mapping;
mod status;

/// Exit codes of the contract.
pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;

/// Bad usage or bad input: the message says what is wrong; the process exits 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// The exit code for an error that reached `main`.
pub fn exit_code(error: &anyhow::Error) -> u8 {
    let bad_input = error
        .chain()
        .any(|cause| cause.is::<BadInput>() || cause.is::<crate::config::ConfigError>());
    if bad_input {
        EXIT_BAD_INPUT
    } else {
        EXIT_FAILURE
    }
}

/// What `--help` says about the environment (every command reads the same settings).
const ENVIRONMENT: &str = "\
Environment:
  DATABASE_URL           the PostgreSQL database (database.url), e.g. postgres://user@host:5432/db
  CONNECTORD_CONFIG      a TOML settings file read over the built-in defaults (same as --config)
  CONNECTORD__SECTION__KEY
                         any setting, e.g. CONNECTORD__SECRETS__KEY (base64 of 32 random bytes),
                         CONNECTORD__SALESFORCE__CLIENT_ID, CONNECTORD__SALESFORCE__CLIENT_SECRET,
                         CONNECTORD__RECONCILER__CONCURRENCY=32 (double underscore between levels;
                         wins over the file)
  RUST_LOG               a log filter (wins over log.filter), e.g. info,connectord=debug

Settings are documented in config/default.toml and the README. Exit codes: 0 success,
2 bad usage, bad input or a bad setting (one line naming it), 1 anything else.";

#[derive(Debug, Parser)]
#[command(
    name = "connectord",
    version,
    about = "Provisions server-to-server Salesforce connections from desired state in PostgreSQL",
    after_help = ENVIRONMENT
)]
pub struct Cli {
    /// A TOML settings file, read over the built-in defaults and under CONNECTORD__* variables.
    #[arg(long, global = true, value_name = "FILE", env = "CONNECTORD_CONFIG")]
    pub config: Option<std::path::PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply the database migrations and exit.
    Migrate,
    /// The daemon: converge every connection; SIGTERM/SIGINT finishes in-flight work, then exits.
    Run,
    /// The whole lifecycle against the built-in Salesforce simulator.
    #[cfg(feature = "demo")]
    Demo,
    /// The Salesforce simulator alone, for local development.
    #[cfg(feature = "demo")]
    Simulate {
        /// Address to listen on, e.g. 127.0.0.1:8443.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: std::net::SocketAddr,
        /// How many orgs to host.
        #[arg(long, default_value_t = 1)]
        orgs: usize,
    },
    /// A table of connections and their phase, with the last error's code and message.
    Status {
        /// Only this tenant's connections (the product's tenant id).
        #[arg(long)]
        tenant: Option<String>,
        /// Only connections in this phase (`-` rows, not looked at yet, never match).
        #[arg(long, value_parser = parse_phase)]
        phase: Option<crate::store::Phase>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// A connection's audit trail (connection_events), oldest first.
    Events {
        /// The connection's id (as `connection add` printed it).
        id: Uuid,
        /// Print a JSON array instead of lines.
        #[arg(long)]
        json: bool,
        /// Only the latest N events (still oldest first).
        #[arg(long, value_name = "N")]
        limit: Option<u32>,
    },
    /// Everything about one connection: the row, its status, its components in the org as
    /// recorded, the last error with its message and remedy, and the last events.
    Describe {
        /// The connection's id.
        id: Uuid,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// A shell completion script on standard output, e.g.
    /// `connectord completions bash > /etc/bash_completion.d/connectord`.
    Completions {
        /// The shell to write the script for.
        #[arg(value_enum)]
        shell: generate::Shell,
    },
    /// The man page (roff) on standard output, e.g. `connectord man | man -l -`.
    Man,
    /// Probe this daemon's `/readyz` on `http.listen`: exit 0 when ready, 1 otherwise (a
    /// container health check that needs no shell).
    Health,
    /// Change the desired state of connections.
    #[command(subcommand)]
    Connection(ConnectionCommand),
    /// What the next reconcile of a connection would do, without doing it.
    Plan {
        /// The connection's id.
        id: Uuid,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Read-only preflight of the connection's org: each item pass / warn / blocker with its
    /// remedy; exit 0 when no blocker, 1 when a blocker. `--instance-url URL` (refresh token
    /// on standard input, `--field` for the fields) checks an org before its row is written.
    Check {
        /// The connection's id (or give --instance-url instead, for a row not yet written).
        #[arg(required_unless_present = "instance_url")]
        id: Option<Uuid>,
        /// Check this org instead of a connection's; the admin refresh token is read from stdin.
        #[arg(long = "instance-url", conflicts_with = "id")]
        instance_url: Option<String>,
        /// `Object.Field` API names (with --instance-url; repeat the flag).
        #[arg(long = "field")]
        fields: Vec<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Write every Salesforce exchange of the check into this folder, redacted (for a bug
        /// report); the same as CONNECTORD__SALESFORCE__RECORD_DIR for the daemon.
        #[arg(long)]
        record: Option<std::path::PathBuf>,
    },
    /// A short-lived access token for the agent, as JSON with expires_at; only for the
    /// tenant's own connection while it is enabled and ready (else exit 1, token_not_available).
    Token {
        /// The connection's id.
        id: Uuid,
        /// The tenant the connection must belong to.
        #[arg(long)]
        tenant: String,
    },
    /// Agent credentials for the daemon's token endpoint (`POST /v1/connections/ID/token`).
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Which Salesforce user acts for which member of the tenant.
    #[command(subcommand)]
    Mapping(MappingCommand),
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Make a credential bound to one tenant; prints it once, as JSON (only a digest is kept).
    Add {
        /// The tenant the credential may vend tokens for.
        #[arg(long)]
        tenant: String,
        /// Who holds it (free text, shown by `agent list`).
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Revoke a credential by its id: refused from the next request on.
    Revoke {
        /// The credential's id (as `agent add` printed it).
        id: Uuid,
    },
    /// The credentials (never the credentials themselves), as JSON.
    List {
        /// Only this tenant's credentials.
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum MappingCommand {
    /// The connection's member mappings, and the members left unmapped with why.
    List {
        /// The connection's id.
        id: Uuid,
        /// Print CSV instead of a table.
        #[arg(long, conflicts_with = "json")]
        csv: bool,
        /// Print a JSON array instead of a table (empty cells are null).
        #[arg(long)]
        json: bool,
    },
    /// Map a member by hand to an active Salesforce user of the org.
    Set {
        /// The connection's id.
        id: Uuid,
        /// The tenant member's id (tenant_members.member_id).
        #[arg(long)]
        member: String,
        /// The Salesforce username to act for the member.
        #[arg(long = "salesforce-user", value_name = "USERNAME")]
        salesforce_user: String,
    },
    /// Remove a member's mapping; automatic mapping leaves the member alone until it is
    /// mapped again by hand.
    Remove {
        /// The connection's id.
        id: Uuid,
        /// The tenant member's id.
        #[arg(long)]
        member: String,
    },
    /// Map members by hand from a CSV file with the header member_id,salesforce_username.
    Import {
        /// The connection's id.
        id: Uuid,
        /// The CSV file to read.
        file: std::path::PathBuf,
    },
    /// Write every mapping as CSV (member_id,salesforce_user_id,salesforce_username,method).
    Export {
        /// The connection's id.
        id: Uuid,
        /// Where to write; standard output if absent.
        file: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConnectionCommand {
    /// Add a connection; reads the admin refresh token from standard input; prints the id.
    Add {
        /// The product's tenant id (immutable once written).
        #[arg(long)]
        tenant: String,
        /// The org's My Domain URL, https://NAME.my.salesforce.com.
        #[arg(long = "instance-url", value_name = "URL")]
        instance_url: String,
        /// `Object.Field` API names the agent must read (repeat the flag).
        #[arg(long = "field")]
        fields: Vec<String>,
        /// Turn access on right away.
        #[arg(long)]
        enable: bool,
        /// This connection's IP relaxation policy (default: `salesforce.ip_relaxation`).
        #[arg(long = "ip-relaxation", value_enum)]
        ip_relaxation: Option<PolicyArg>,
    },
    /// Set this connection's IP relaxation policy: `enforce`, `bypass`, or `default` (back to
    /// `salesforce.ip_relaxation`). Only this connection's app is redeployed.
    IpRelaxation {
        /// The connection's id.
        id: Uuid,
        /// The policy.
        #[arg(value_enum)]
        policy: PolicyArg,
    },
    /// Turn access on.
    Enable {
        /// The connection's id.
        id: Uuid,
    },
    /// Turn access off (the components are removed from the org).
    Disable {
        /// The connection's id.
        id: Uuid,
    },
    /// Delete the connection's components and create them anew.
    Reconnect {
        /// The connection's id.
        id: Uuid,
    },
    /// Replace the fields the agent must read.
    Fields {
        /// The connection's id.
        id: Uuid,
        /// `Object.Field` API names the agent must read (repeat the flag).
        #[arg(long = "field", required = true)]
        fields: Vec<String>,
    },
    /// Disable, wait until torn down, delete the row.
    Remove {
        /// The connection's id.
        id: Uuid,
        /// How long to wait for the teardown, e.g. 30s or 10m.
        #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
        timeout: std::time::Duration,
    },
    /// Only when the org can no longer be reached or the admin's grant is gone: delete the row
    /// and its secrets, keep a `forgotten` event naming what was left in the org.
    Forget {
        /// The connection's id.
        id: Uuid,
        /// Why (kept in the `forgotten` event), e.g. "customer left, grant revoked".
        #[arg(long)]
        reason: String,
    },
}

/// An IP relaxation policy on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PolicyArg {
    /// Honour the org's IP restrictions.
    Enforce,
    /// The app's tokens work from any address.
    Bypass,
    /// The installation's `salesforce.ip_relaxation`.
    Default,
}

impl PolicyArg {
    pub fn policy(self) -> Option<crate::salesforce::eca::IpRelaxation> {
        use crate::salesforce::eca::IpRelaxation;
        match self {
            Self::Enforce => Some(IpRelaxation::Enforce),
            Self::Bypass => Some(IpRelaxation::Bypass),
            Self::Default => None,
        }
    }
}

fn parse_phase(text: &str) -> Result<crate::store::Phase, String> {
    text.parse().map_err(|e: crate::store::UnknownPhase| {
        let all: Vec<&str> = crate::store::Phase::ALL
            .iter()
            .map(|p| p.as_str())
            .collect();
        format!("{e}; one of {}", all.join(", "))
    })
}

/// Runs one command to completion.
pub async fn run(cli: Cli, settings: Settings) -> anyhow::Result<()> {
    match cli.command {
        Command::Migrate => connection::migrate(&settings).await,
        Command::Status {
            tenant,
            phase,
            json,
        } => status::run(&settings, tenant.as_deref(), phase, json).await,
        Command::Events { id, json, limit } => events::run(&settings, id, json, limit).await,
        Command::Describe { id, json } => describe::run(&settings, id, json).await,
        Command::Completions { shell } => {
            generate::completions(shell);
            Ok(())
        }
        Command::Man => Ok(generate::man()?),
        Command::Health => Ok(health::run(&settings).await?),
        Command::Connection(command) => connection::run(&settings, command).await,
        #[cfg(feature = "demo")]
        Command::Simulate { listen, orgs } => connectord_sim::run_standalone(listen, orgs).await,
        Command::Run => daemon::run(&settings).await,
        #[cfg(feature = "demo")]
        Command::Demo => crate::demo::run(&settings).await,
        Command::Plan { id, json } => daemon::plan(&settings, id, json).await,
        Command::Check {
            id,
            instance_url,
            fields,
            json,
            record,
        } => {
            let args = check::Args {
                id,
                instance_url,
                fields,
                json,
                record,
            };
            check::run(&settings, args).await
        }
        Command::Token { id, tenant } => daemon::token(&settings, id, &tenant).await,
        Command::Agent(command) => agent::run(&settings, command).await,
        Command::Mapping(command) => mapping::run(&settings, command).await,
    }
}
