//! `connectord check`: prints the read-only preflight of a connection's org (or of an org given
//! by `--instance-url`, with the admin refresh token on standard input).

use std::collections::BTreeSet;

use anyhow::Context;
use url::Url;
use uuid::Uuid;

use super::BadInput;
use crate::check::{self, Target};
use crate::config::Settings;
use crate::reconcile::model::{FieldName, Shape};
use crate::reconcile::record;
use crate::salesforce::Salesforce;
use crate::secrets::Sealer;
use crate::store;

/// The preflight found at least one blocker (exit 1).
#[derive(Debug, thiserror::Error)]
#[error("the check found {0} blocker(s)")]
pub struct Blocked(pub usize);

/// What `check` was asked about.
pub struct Args {
    pub id: Option<Uuid>,
    pub instance_url: Option<String>,
    pub fields: Vec<String>,
    pub json: bool,
    pub record: Option<std::path::PathBuf>,
}

pub async fn run(settings: &Settings, args: Args) -> anyhow::Result<()> {
    let mut salesforce =
        Salesforce::new(&settings.salesforce).context("cannot set up the Salesforce client")?;
    if let Some(dir) = &args.record {
        // Every exchange of this check, redacted, one JSON file each (salesforce/record.rs).
        salesforce = salesforce
            .with_recorder(dir)
            .map_err(|e| BadInput(format!("--record {}: {e}", dir.display())))?;
    }
    let shape = Shape::current(settings.salesforce.ip_relaxation);
    let (org, target) = match (args.id, args.instance_url) {
        (Some(id), None) => {
            if !args.fields.is_empty() {
                return Err(BadInput(
                    "--field goes with --instance-url; a connection's fields are its row's".into(),
                )
                .into());
            }
            let sealer = Sealer::from_settings(&settings.secrets)?;
            let pool = store::connect(settings).await?;
            let mut loaded = record::load(&pool, id)
                .await?
                .ok_or_else(|| BadInput(format!("no connection {id}")))?;
            loaded.desired.shape = Shape::current(
                loaded
                    .ip_relaxation
                    .unwrap_or(settings.salesforce.ip_relaxation),
            );
            let token = store::load_refresh_token(&pool, &sealer, id)
                .await?
                .ok_or_else(|| BadInput(format!("connection {id} has no admin refresh token")))?;
            let url = Url::parse(&loaded.url_in_use())
                .map_err(|e| BadInput(format!("the row's instance_url is not a URL: {e}")))?;
            let org = salesforce.org(url, token);
            org.expect_org(loaded.org_id.clone());
            let target = Target {
                connection: id,
                written: true,
                fields: loaded.desired.fields.clone(),
                desired: loaded.desired,
                known: loaded.known,
            };
            (org, target)
        }
        (None, Some(instance_url)) => {
            let url = Url::parse(instance_url.trim()).map_err(|e| {
                BadInput(format!("--instance-url {instance_url:?} is not a URL: {e}"))
            })?;
            let fields = parse_fields(&args.fields)?;
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                eprintln!("reading the admin refresh token from standard input (end with Ctrl-D)");
            }
            let token = super::connection::read_token(tokio::io::stdin()).await?;
            (salesforce.org(url, token), check::unwritten(fields, shape))
        }
        _ => {
            return Err(BadInput("give a connection id, or --instance-url URL with the admin refresh token on standard input".into()).into());
        }
    };
    let report = check::run(&salesforce, &org, &target).await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.table());
    }
    if report.blockers > 0 {
        return Err(Blocked(report.blockers).into());
    }
    Ok(())
}

fn parse_fields(fields: &[String]) -> Result<BTreeSet<FieldName>, BadInput> {
    fields
        .iter()
        .map(|f| {
            FieldName::parse(f.trim())
                .ok_or_else(|| BadInput(format!("--field {f:?} is not an Object.Field API name")))
        })
        .collect()
}
