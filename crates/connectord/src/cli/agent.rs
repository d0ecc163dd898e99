//! `connectord agent add|revoke|list`: the operator's side of agent credentials.

use secrecy::ExposeSecret as _;

use super::{AgentCommand, BadInput};
use crate::config::Settings;
use crate::store;
use crate::vend::agents;

pub async fn run(settings: &Settings, command: AgentCommand) -> anyhow::Result<()> {
    let pool = store::connect(settings).await?;
    match command {
        AgentCommand::Add { tenant, label } => {
            if tenant.trim().is_empty() || tenant.chars().any(char::is_control) {
                return Err(BadInput("--tenant must name a tenant".into()).into());
            }
            let (id, credential) = agents::create(&pool, &tenant, &label).await?;
            let out = serde_json::json!({
                "id": id,
                "tenant_id": tenant,
                "credential": credential.expose_secret(),
            });
            println!("{out}");
        }
        AgentCommand::Revoke { id } => {
            if !agents::revoke(&pool, id).await? {
                return Err(BadInput(format!("no unrevoked agent credential {id}")).into());
            }
            println!("revoked {id}");
        }
        AgentCommand::List { tenant } => {
            let all = agents::list(&pool, tenant.as_deref()).await?;
            println!("{}", serde_json::to_string_pretty(&all)?);
        }
    }
    Ok(())
}
