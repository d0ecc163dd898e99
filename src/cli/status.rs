//! `connectord status`.

use crate::config::Settings;

pub async fn run(_settings: &Settings, _tenant: Option<&str>, _json: bool) -> anyhow::Result<()> {
    anyhow::bail!("`connectord status` is not built yet in this version")
}
