//! `connectord migrate` and `connectord connection …`.

use super::ConnectionCommand;
use crate::config::Settings;

pub async fn migrate(_settings: &Settings) -> anyhow::Result<()> {
    anyhow::bail!("`connectord migrate` is not built yet in this version")
}

pub async fn run(_settings: &Settings, _command: ConnectionCommand) -> anyhow::Result<()> {
    anyhow::bail!("`connectord connection` is not built yet in this version")
}
