//! A stateful Salesforce simulator: fake orgs that follow the documented API strictly.

use std::net::SocketAddr;

/// `connectord simulate`: serve `orgs` fake orgs on `listen` until interrupted.
pub async fn run_standalone(_listen: SocketAddr, _orgs: usize) -> anyhow::Result<()> {
    anyhow::bail!("`connectord simulate` is not built yet in this version")
}
