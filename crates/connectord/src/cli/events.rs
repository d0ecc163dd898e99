//! `connectord events ID [--json] [--limit N]`: a connection's audit trail, oldest first.

use chrono::SecondsFormat;
use uuid::Uuid;

use super::BadInput;
use crate::config::Settings;
use crate::store::{self, Event};

pub async fn run(
    settings: &Settings,
    id: Uuid,
    json: bool,
    limit: Option<u32>,
) -> anyhow::Result<()> {
    let pool = store::connect(settings).await?;
    if store::get_connection(&pool, id).await?.is_none() {
        return Err(BadInput(format!("no connection {id}")).into());
    }
    let events = oldest_first(&pool, id, limit).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&events)?);
    } else if events.is_empty() {
        println!("no events for connection {id}");
    } else {
        print!("{}", render(&events));
    }
    Ok(())
}

/// The latest `limit` entries (all without one), oldest first.
pub(super) async fn oldest_first(
    pool: &sqlx::PgPool,
    id: Uuid,
    limit: Option<u32>,
) -> anyhow::Result<Vec<Event>> {
    let limit = limit.map_or(i64::MAX, i64::from);
    let mut events = store::recent_events(pool, id, limit).await?;
    events.reverse();
    Ok(events)
}

/// One line per entry: time, action, outcome, detail as compact JSON.
pub(super) fn render(events: &[Event]) -> String {
    let width = events
        .iter()
        .map(|e| e.action.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for event in events {
        let at = event.at.to_rfc3339_opts(SecondsFormat::Millis, true);
        let detail = match &event.detail {
            serde_json::Value::Object(map) if map.is_empty() => String::new(),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        };
        let line = format!(
            "{at}  {:<width$}  {:<8}  {detail}",
            event.action, event.outcome
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
