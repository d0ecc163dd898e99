//! `connectord status`: connections and their phase, as a table for people or JSON for tools.
//! Never shows a secret: the inbox token only as "waiting", the app only by its key.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::{
    config::Settings,
    store::{self, Phase, StatusRow},
};

pub async fn run(
    settings: &Settings,
    tenant: Option<&str>,
    phase: Option<Phase>,
    json: bool,
) -> anyhow::Result<()> {
    let pool = store::connect(settings).await?;
    let mut rows = store::list_status(&pool, tenant).await?;
    if let Some(phase) = phase {
        rows.retain(|row| row.status.as_ref().is_some_and(|s| s.phase == phase));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else if rows.is_empty() {
        let tenant = tenant.map(|t| format!(" for tenant {t:?}"));
        let phase = phase.map(|p| format!(" in phase {p}"));
        println!(
            "no connections{}{}",
            tenant.unwrap_or_default(),
            phase.unwrap_or_default()
        );
    } else {
        print!("{}", render_table(&rows));
    }
    Ok(())
}

const HEADERS: [&str; 8] = [
    "ID", "TENANT", "INSTANCE", "ENABLED", "PHASE", "ERROR", "UPDATED", "MESSAGE",
];

/// One line per connection, columns padded to their widest cell. The phase is marked with
/// `*` while the daemon has not yet caught up with the latest change, and is `-` before the
/// daemon first looked at the connection.
fn render_table(rows: &[StatusRow]) -> String {
    let cells: Vec<[String; 8]> = rows.iter().map(cells).collect();
    let mut widths = HEADERS.map(str::len);
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let headers = HEADERS.map(str::to_owned);
    for row in std::iter::once(&headers).chain(&cells) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn cells(row: &StatusRow) -> [String; 8] {
    let connection = &row.connection;
    let (phase, error, updated, message) = match &row.status {
        Some(status) => {
            let behind = status.observed_generation < connection.generation;
            (
                format!("{}{}", status.phase, if behind { "*" } else { "" }),
                status.error_code.clone().unwrap_or_else(|| "-".into()),
                status.updated_at.max(connection.updated_at),
                // One line, whatever Salesforce put in it.
                status.error_message.as_deref().map_or_else(
                    || "-".into(),
                    |m| m.split_whitespace().collect::<Vec<_>>().join(" "),
                ),
            )
        }
        None => ("-".into(), "-".into(), connection.updated_at, "-".into()),
    };
    [
        connection.id.to_string(),
        connection.tenant_id.clone(),
        connection.instance_url.clone(),
        if connection.enabled { "yes" } else { "no" }.into(),
        phase,
        error,
        timestamp(updated),
        message,
    ]
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;
    use uuid::Uuid;

    use super::*;
    use crate::store::{Connection, ConnectionStatus};

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_750_000_000 + seconds, 0)
            .single()
            .unwrap()
    }

    fn connection(tenant: &str, generation: i64) -> Connection {
        Connection {
            id: Uuid::from_u128(generation as u128),
            tenant_id: tenant.into(),
            instance_url: format!("https://{tenant}.my.salesforce.com"),
            enabled: true,
            required_fields: vec!["Account.Name".into()],
            reconnect_requested_at: None,
            generation,
            mapping_mode: "email".into(),
            auto_mapping: true,
            has_inbox_token: false,
            created_at: at(0),
            updated_at: at(10),
        }
    }

    fn status(id: Uuid, phase: Phase, observed: i64) -> ConnectionStatus {
        ConnectionStatus {
            connection_id: id,
            phase,
            observed_generation: observed,
            instance_url: None,
            error_code: Some("license_unavailable".into()),
            error_message: Some("no Salesforce Integration licence left".into()),
            connected_app_name: None,
            connected_app_id: None,
            consumer_key: None,
            integration_username: None,
            integration_user_id: None,
            permission_set_name: None,
            permission_set_id: None,
            granted_fields: vec![],
            verified_at: None,
            attempts: 3,
            next_attempt_at: None,
            last_reconciled_at: None,
            updated_at: at(20),
            shape_version: None,
        }
    }

    #[test]
    fn the_table_shows_phase_error_and_a_marker_while_the_daemon_is_behind() {
        let caught_up = connection("acme", 2);
        let behind = connection("globex", 5);
        let rows = vec![
            StatusRow {
                status: Some(status(caught_up.id, Phase::ActionRequired, 2)),
                connection: caught_up,
            },
            StatusRow {
                status: Some(status(behind.id, Phase::Ready, 4)),
                connection: behind,
            },
            StatusRow {
                connection: connection("initech", 1),
                status: None,
            },
        ];
        let table = render_table(&rows);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("ID "), "{table}");
        assert!(lines[1].contains(" action_required "), "{table}");
        assert!(lines[1].contains(" license_unavailable "), "{table}");
        assert!(lines[1].contains(" 2025-06-15T15:07:00Z "), "{table}");
        assert!(
            lines[1].ends_with(" no Salesforce Integration licence left"),
            "{table}"
        );
        assert!(lines[2].contains(" ready* "), "{table}");
        assert!(lines[3].contains("initech"), "{table}");
        assert!(lines[3].contains(" 2025-06-15T15:06:50Z "), "{table}");
        assert!(lines[3].ends_with(" -"), "{table}");
        // Columns line up: every PHASE cell starts where the header does.
        let phase_at = lines[0].find("PHASE").unwrap();
        assert_eq!(&lines[2][phase_at..phase_at + 6], "ready*");
    }

    #[test]
    fn json_nests_the_status_and_never_holds_the_inbox_token() {
        let row = StatusRow {
            connection: connection("acme", 1),
            status: None,
        };
        let json = serde_json::to_value([&row]).unwrap();
        assert_eq!(json[0]["tenant_id"], "acme");
        assert_eq!(json[0]["status"], serde_json::Value::Null);
        assert_eq!(json[0]["has_inbox_token"], false);
        assert!(json[0].get("admin_refresh_token").is_none());
    }
}
