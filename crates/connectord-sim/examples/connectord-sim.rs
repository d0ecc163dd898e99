//! The Salesforce simulator alone, for local development, without the daemon (the same as
//! `connectord simulate`): `cargo run -p connectord-sim --example connectord-sim -- --orgs 2`.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;

/// Serve fake Salesforce orgs until SIGINT or SIGTERM.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Where the login endpoint listens; each org gets a port of its own on the same address.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// How many orgs to serve.
    #[arg(long, default_value_t = 1)]
    orgs: usize,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match connectord_sim::run_standalone(args.listen, args.orgs).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("connectord-sim: {error:#}");
            ExitCode::FAILURE
        }
    }
}
