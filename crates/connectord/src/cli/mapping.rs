//! `connectord mapping …`: member account mappings from the command line. Wrong members,
//! unknown or inactive users, bad CSV lines exit 2 with a message that says what is wrong.

use std::path::Path;

use anyhow::Context as _;
use sqlx::PgPool;
use uuid::Uuid;

use super::{BadInput, MappingCommand};
use crate::config::Settings;
use crate::mapping::csv::{self, EXPORT_HEADER};
use crate::mapping::manual::{self, Context};
use crate::mapping::{MappingError, store as mapping_store};
use crate::salesforce::Salesforce;
use crate::secrets::Sealer;
use crate::store;

pub async fn run(settings: &Settings, command: MappingCommand) -> anyhow::Result<()> {
    let pool = store::connect(settings).await?;
    match command {
        MappingCommand::List { id, csv, json } => list(&pool, id, csv, json).await,
        MappingCommand::Export { id, file } => export(&pool, id, file.as_deref()).await,
        MappingCommand::Remove { id, member } => remove(&pool, id, &member).await,
        MappingCommand::Set {
            id,
            member,
            salesforce_user,
        } => {
            let (sealer, salesforce) = org_access(settings)?;
            let cx = Context {
                pool: &pool,
                salesforce: &salesforce,
                sealer: &sealer,
            };
            let mapping = manual::set(cx, id, &member, &salesforce_user)
                .await
                .map_err(cli_error)?;
            println!(
                "member {} is mapped by hand to {} ({})",
                mapping.member_id, mapping.username, mapping.user_id
            );
            Ok(())
        }
        MappingCommand::Import { id, file } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| BadInput(format!("cannot read {}: {e}", file.display())))?;
            let (lines, bad) = csv::parse_import(&text)
                .map_err(|e| BadInput(format!("{}: {e}", file.display())))?;
            let (sealer, salesforce) = org_access(settings)?;
            let cx = Context {
                pool: &pool,
                salesforce: &salesforce,
                sealer: &sealer,
            };
            let done = manual::import(cx, id, &lines, bad)
                .await
                .map_err(cli_error)?;
            for (number, message) in &done.bad {
                eprintln!("{}: line {number}: {message}", file.display());
            }
            println!("applied {} mapping(s) by hand", done.applied.len());
            if done.bad.is_empty() {
                Ok(())
            } else {
                Err(BadInput(format!(
                    "{} bad line(s) in {}; the other lines were applied",
                    done.bad.len(),
                    file.display()
                ))
                .into())
            }
        }
    }
}

/// Setting up what talks to the org: the sealing key and the Salesforce client.
fn org_access(settings: &Settings) -> anyhow::Result<(Sealer, Salesforce)> {
    let sealer = Sealer::from_settings(&settings.secrets)?;
    let salesforce =
        Salesforce::new(&settings.salesforce).context("cannot set up the Salesforce client")?;
    Ok((sealer, salesforce))
}

fn cli_error(error: MappingError) -> anyhow::Error {
    if error.is_bad_input() {
        BadInput(error.to_string()).into()
    } else {
        error.into()
    }
}

async fn tenant_of(pool: &PgPool, id: Uuid) -> anyhow::Result<String> {
    let target = mapping_store::target(pool, id)
        .await?
        .ok_or_else(|| BadInput(format!("no connection {id}")))?;
    Ok(target.tenant_id)
}

const LIST_HEADER: [&str; 6] = [
    "member_id",
    "salesforce_user_id",
    "salesforce_username",
    "method",
    "mapped_at",
    "unmapped_reason",
];

async fn list(pool: &PgPool, id: Uuid, as_csv: bool, as_json: bool) -> anyhow::Result<()> {
    let tenant = tenant_of(pool, id).await?;
    let rows = mapping_store::listing(pool, id, &tenant).await?;
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|row| match &row.mapped {
            Some(stored) => [
                row.member_id.clone(),
                stored.mapping.user_id.clone(),
                stored.mapping.username.clone(),
                stored.mapping.method.to_string(),
                stored
                    .mapped_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                String::new(),
            ],
            None => [
                row.member_id.clone(),
                String::new(),
                String::new(),
                "unmapped".into(),
                String::new(),
                row.gap.clone().unwrap_or_default(),
            ],
        })
        .collect();
    if as_json {
        println!("{}", serde_json::to_string_pretty(&as_objects(&cells))?);
        return Ok(());
    }
    if as_csv {
        let mut out = csv::line(&LIST_HEADER);
        for row in &cells {
            out.push_str(&csv::line(row));
        }
        print!("{out}");
        return Ok(());
    }
    if cells.is_empty() {
        println!("no members and no mappings for connection {id} (tenant {tenant:?})");
        return Ok(());
    }
    let headers = LIST_HEADER.map(|h| h.to_ascii_uppercase());
    let mut widths = headers.clone().map(|h| h.len());
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count().max(1));
        }
    }
    for row in std::iter::once(&headers).chain(&cells) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| {
                let cell = if cell.is_empty() { "-" } else { cell };
                format!("{cell:<width$}")
            })
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
    let unmapped = rows.iter().filter(|r| r.mapped.is_none()).count();
    println!(
        "{} mapped, {unmapped} unmapped",
        rows.len().saturating_sub(unmapped)
    );
    Ok(())
}

async fn export(pool: &PgPool, id: Uuid, file: Option<&Path>) -> anyhow::Result<()> {
    tenant_of(pool, id).await?;
    let mappings = mapping_store::mappings(pool, id).await?;
    let mut out = csv::line(&EXPORT_HEADER);
    for stored in &mappings {
        let m = &stored.mapping;
        out.push_str(&csv::line(&[
            m.member_id.as_str(),
            m.user_id.as_str(),
            m.username.as_str(),
            m.method.as_str(),
        ]));
    }
    match file {
        None => print!("{out}"),
        Some(path) => {
            std::fs::write(path, out)
                .map_err(|e| BadInput(format!("cannot write {}: {e}", path.display())))?;
            println!("wrote {} mapping(s) to {}", mappings.len(), path.display());
        }
    }
    Ok(())
}

async fn remove(pool: &PgPool, id: Uuid, member: &str) -> anyhow::Result<()> {
    let tenant = tenant_of(pool, id).await?;
    let known = mapping_store::members(pool, &tenant)
        .await?
        .iter()
        .any(|m| m.id == member)
        || mapping_store::mappings(pool, id)
            .await?
            .iter()
            .any(|s| s.mapping.member_id == member);
    if !known {
        return Err(BadInput(
            MappingError::NoMember {
                tenant,
                member: member.to_owned(),
            }
            .to_string(),
        )
        .into());
    }
    match mapping_store::remove(pool, id, member).await? {
        Some(username) => println!(
            "removed the mapping of member {member} (was {username}); automatic mapping will leave it alone until it is mapped by hand"
        ),
        None => println!(
            "member {member} had no mapping; automatic mapping will leave it alone until it is mapped by hand"
        ),
    }
    Ok(())
}

/// The listing as JSON objects keyed by the CSV header; an empty cell is `null`.
fn as_objects(cells: &[[String; 6]]) -> serde_json::Value {
    cells
        .iter()
        .map(|row| {
            let object: serde_json::Map<String, serde_json::Value> = LIST_HEADER
                .iter()
                .zip(row)
                .map(|(key, cell)| {
                    let value = if cell.is_empty() {
                        serde_json::Value::Null
                    } else {
                        cell.as_str().into()
                    };
                    ((*key).to_owned(), value)
                })
                .collect();
            serde_json::Value::Object(object)
        })
        .collect()
}
