//! A stateful Salesforce simulator: fake orgs that follow the documented API strictly.
//!
//! Each org has its own listener (its instance URL has no path, like a My Domain URL); a
//! separate listener plays `login.salesforce.com`. The rules enforced, and where each comes
//! from, are listed in `crates/connectord-sim/README.md`.

mod access;
mod collate;
mod collections;
mod composite;
mod config;
mod connect;
mod dml;
mod errors;
mod faults;
mod handle;
pub mod ids;
mod inspect;
mod listener;
mod metadata;
mod moves;
mod oauth;
mod org;
mod readonly;
mod rest;
mod rules;
mod schema;
mod seed;
mod server;
mod sobjects;
mod soql;

use std::net::SocketAddr;

pub use config::{OrgConfig, SimulatorConfig};
pub use faults::{Faults, IpRestrictions};
pub use handle::OrgHandle;
pub use inspect::{
    ApiCalls, AssignmentRecord, ExternalClientAppRecord, FieldPermissionRecord,
    LicenseAssignRecord, LicenseRecord, ObjectPermissionRecord, OrgSnapshot, PermissionSetRecord,
    UserRecord,
};
pub use schema::wide_field;
pub use seed::{INTEGRATION_LICENSE, INTEGRATION_PROFILE, INTEGRATION_PSL};
pub use server::Simulator;

/// `connectord simulate`: serve `orgs` fake orgs (login endpoint on `listen`) until SIGINT or
/// SIGTERM.
pub async fn run_standalone(listen: SocketAddr, orgs: usize) -> anyhow::Result<()> {
    let simulator = Simulator::start_on(SimulatorConfig::with_orgs(orgs.max(1)), listen).await?;
    println!("Salesforce simulator");
    println!("login URL      {}", simulator.login_url());
    println!("client id      {}", simulator.client_id());
    println!("client secret  {}", simulator.client_secret());
    println!();
    println!("{:<8} {:<28} admin refresh token", "org", "instance URL");
    for org in simulator.orgs() {
        println!(
            "{:<8} {:<28} {}",
            org.name(),
            org.instance_url().as_str().trim_end_matches('/'),
            org.admin_refresh_token()
        );
    }
    println!();
    println!(
        "GET <instance URL>/_simulator/state and /_simulator/calls show an org's records and call counts."
    );
    wait_for_signal().await;
    simulator.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
