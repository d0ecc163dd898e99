//! `connectord describe ID [--json]`: the row, its status, its components in the org as
//! recorded, the last error with its message and remedy, and the last events.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::BadInput;
use crate::config::Settings;
use crate::error_code::ErrorCode;
use crate::store::{self, ConnectionStatus};

/// How many of the latest events `describe` shows.
const LAST_EVENTS: u32 = 10;

pub async fn run(settings: &Settings, id: Uuid, json: bool) -> anyhow::Result<()> {
    let pool = store::connect(settings).await?;
    let connection = store::get_connection(&pool, id)
        .await?
        .ok_or_else(|| BadInput(format!("no connection {id}")))?;
    let status = store::get_status(&pool, id).await?;
    let events = super::events::oldest_first(&pool, id, Some(LAST_EVENTS)).await?;
    let description = json!({
        "connection": connection,
        "status": status,
        "components": status.as_ref().map(components),
        "last_error": status.as_ref().and_then(last_error),
        "events": events,
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&description)?);
        return Ok(());
    }
    let mut out = String::new();
    section(&mut out, "Connection", &description["connection"]);
    match &description["status"] {
        Value::Null => out.push_str("Status\n  not looked at by the daemon yet\n"),
        status => section(&mut out, "Status", status),
    }
    if !description["components"].is_null() {
        section(
            &mut out,
            "Components in the org (as recorded)",
            &description["components"],
        );
    }
    match &description["last_error"] {
        Value::Null => out.push_str("Last error\n  none\n"),
        error => section(&mut out, "Last error", error),
    }
    out.push_str(&format!(
        "Last events (at most {LAST_EVENTS}, oldest first)\n"
    ));
    if events.is_empty() {
        out.push_str("  none\n");
    }
    for line in super::events::render(&events).lines() {
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
    print!("{out}");
    Ok(())
}

/// The app, the integration user and the permission set, as the last pass recorded them.
fn components(status: &ConnectionStatus) -> Value {
    json!({
        "external_client_app": {
            "name": status.connected_app_name,
            "id": status.connected_app_id,
            "consumer_key": status.consumer_key,
        },
        "integration_user": {
            "username": status.integration_username,
            "id": status.integration_user_id,
        },
        "permission_set": {
            "name": status.permission_set_name,
            "id": status.permission_set_id,
            "granted_fields": status.granted_fields,
        },
        "verified_at": status.verified_at.map(timestamp),
    })
}

/// The error code, its message and what a person does about it.
fn last_error(status: &ConnectionStatus) -> Option<Value> {
    let code = status.error_code.as_deref()?;
    let remedy = ErrorCode::ALL
        .iter()
        .find(|known| known.as_str() == code)
        .map(|known| known.remedy());
    Some(json!({
        "code": code,
        "message": status.error_message,
        "remedy": remedy,
        "attempts": status.attempts,
        "next_attempt_at": status.next_attempt_at.map(timestamp),
    }))
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `title`, then one indented `key: value` line per field (nested objects indented further).
fn section(out: &mut String, title: &str, value: &Value) {
    out.push_str(title);
    out.push('\n');
    fields(out, value, 1);
}

fn fields(out: &mut String, value: &Value, depth: usize) {
    let Value::Object(map) = value else {
        return;
    };
    let indent = "  ".repeat(depth);
    for (key, value) in map {
        match value {
            Value::Object(_) => {
                out.push_str(&format!("{indent}{key}\n"));
                fields(out, value, depth + 1);
            }
            Value::Null => out.push_str(&format!("{indent}{key}: -\n")),
            Value::String(text) => out.push_str(&format!("{indent}{key}: {text}\n")),
            Value::Array(items) => {
                let items: Vec<String> = items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                    .collect();
                out.push_str(&format!("{indent}{key}: {}\n", items.join(", ")));
            }
            other => out.push_str(&format!("{indent}{key}: {other}\n")),
        }
    }
}
