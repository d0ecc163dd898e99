//! The command line of the contract. Each command lives in its own module; this one only
//! parses and dispatches.

use std::net::SocketAddr;

use clap::{Parser, Subcommand};
use uuid::Uuid;

use crate::config::Settings;

mod agent;
mod check;
mod connection;
pub mod daemon;
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

#[derive(Debug, Parser)]
#[command(
    name = "connectord",
    version,
    about = "Provisions server-to-server Salesforce connections from desired state in PostgreSQL"
)]
pub struct Cli {
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
    Demo,
    /// The Salesforce simulator alone, for local development.
    Simulate {
        /// Address to listen on, e.g. 127.0.0.1:8443.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// How many orgs to host.
        #[arg(long, default_value_t = 1)]
        orgs: usize,
    },
    /// A table of connections and their phase.
    Status {
        #[arg(long)]
        tenant: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Change the desired state of connections.
    #[command(subcommand)]
    Connection(ConnectionCommand),
    /// What the next reconcile of a connection would do, without doing it.
    Plan {
        id: Uuid,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Read-only preflight of the connection's org: each item pass / warn / blocker with its
    /// remedy; exit 0 when no blocker, 1 when a blocker. `--instance-url URL` (refresh token
    /// on standard input, `--field` for the fields) checks an org before its row is written.
    Check {
        #[arg(required_unless_present = "instance_url")]
        id: Option<Uuid>,
        #[arg(long = "instance-url", conflicts_with = "id")]
        instance_url: Option<String>,
        /// `Object.Field` API names (with --instance-url; repeat the flag).
        #[arg(long = "field")]
        fields: Vec<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Where recordings of the exchanges go (lands with CONNECTORD__SALESFORCE__RECORD_DIR).
        #[arg(long)]
        record: Option<std::path::PathBuf>,
    },
    /// A short-lived access token for the agent, as JSON with expires_at; only for the
    /// tenant's own connection while it is enabled and ready (else exit 1, token_not_available).
    Token {
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
        #[arg(long)]
        tenant: String,
        /// Who holds it (free text, shown by `agent list`).
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Revoke a credential by its id: refused from the next request on.
    Revoke { id: Uuid },
    /// The credentials (never the credentials themselves), as JSON.
    List {
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum MappingCommand {
    /// The connection's member mappings, and the members left unmapped with why.
    List {
        id: Uuid,
        /// Print CSV instead of a table.
        #[arg(long)]
        csv: bool,
    },
    /// Map a member by hand to an active Salesforce user of the org.
    Set {
        id: Uuid,
        #[arg(long)]
        member: String,
        #[arg(long = "salesforce-user")]
        salesforce_user: String,
    },
    /// Remove a member's mapping; automatic mapping leaves the member alone until it is
    /// mapped again by hand.
    Remove {
        id: Uuid,
        #[arg(long)]
        member: String,
    },
    /// Map members by hand from a CSV file with the header member_id,salesforce_username.
    Import { id: Uuid, file: std::path::PathBuf },
    /// Write every mapping as CSV (member_id,salesforce_user_id,salesforce_username,method).
    Export {
        id: Uuid,
        /// Where to write; standard output if absent.
        file: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConnectionCommand {
    /// Add a connection; reads the admin refresh token from standard input; prints the id.
    Add {
        #[arg(long)]
        tenant: String,
        #[arg(long = "instance-url")]
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
        id: Uuid,
        #[arg(value_enum)]
        policy: PolicyArg,
    },
    /// Turn access on.
    Enable { id: Uuid },
    /// Turn access off (the components are removed from the org).
    Disable { id: Uuid },
    /// Delete the connection's components and create them anew.
    Reconnect { id: Uuid },
    /// Replace the fields the agent must read.
    Fields {
        id: Uuid,
        #[arg(long = "field", required = true)]
        fields: Vec<String>,
    },
    /// Disable, wait until torn down, delete the row.
    Remove {
        id: Uuid,
        /// How long to wait for the teardown, e.g. 30s or 10m.
        #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
        timeout: std::time::Duration,
    },
}

/// An IP relaxation policy on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PolicyArg {
    Enforce,
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

/// Runs one command to completion.
pub async fn run(cli: Cli, settings: Settings) -> anyhow::Result<()> {
    match cli.command {
        Command::Migrate => connection::migrate(&settings).await,
        Command::Status { tenant, json } => status::run(&settings, tenant.as_deref(), json).await,
        Command::Connection(command) => connection::run(&settings, command).await,
        Command::Simulate { listen, orgs } => crate::simulator::run_standalone(listen, orgs).await,
        Command::Run => daemon::run(&settings).await,
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
