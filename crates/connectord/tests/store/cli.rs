//! The command line against a real database: exit codes and what it prints.

use connectord::store;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{connectord, stderr, stdout};

const TOKEN: &str = "refresh-token-for-cli-tests";

async fn add(pool: &PgPool, tenant: &str, url: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "connection",
        "add",
        "--tenant",
        tenant,
        "--instance-url",
        url,
    ];
    args.extend_from_slice(extra);
    connectord(pool, &args, TOKEN, &[]).await
}

#[sqlx::test(migrations = false)]
async fn migrate_creates_the_schema_and_a_second_run_is_a_no_op(pool: PgPool) {
    let first = connectord(&pool, &["migrate"], "", &[]).await;
    assert!(first.status.success(), "{}", stderr(&first));
    let all = store::MIGRATOR.iter().count();
    let expected = format!("applied {all} migration(s); the schema is up to date");
    assert_eq!(stdout(&first).trim(), expected);
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()
            AND table_name IN ('connections', 'connection_status', 'connection_events',
                               'tenant_members', 'member_mappings', 'connection_secrets')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(tables, 6);

    let second = connectord(&pool, &["migrate"], "", &[]).await;
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(stdout(&second).trim(), "the schema was already up to date");
    assert_eq!(store::migrate(&pool).await.unwrap(), 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn add_prints_the_id_of_a_row_with_the_given_desired_state(pool: PgPool) {
    let output = add(
        &pool,
        "acme",
        "https://acme.my.salesforce.com",
        &[
            "--field",
            "Account.Name",
            "--field",
            "Contact.Email",
            "--field",
            "Account.Name",
            "--enable",
        ],
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let id: Uuid = stdout(&output).trim().parse().unwrap();
    let connection = store::get_connection(&pool, id).await.unwrap().unwrap();
    assert_eq!(connection.tenant_id, "acme");
    assert!(connection.enabled);
    assert_eq!(
        connection.required_fields,
        ["Account.Name", "Contact.Email"]
    );
    assert!(!connection.has_inbox_token);
}

#[sqlx::test(migrations = "./migrations")]
async fn add_without_a_token_on_stdin_exits_2_and_writes_nothing(pool: PgPool) {
    let mut args = vec!["connection", "add", "--tenant", "acme"];
    args.extend(["--instance-url", "https://acme.my.salesforce.com"]);
    let output = connectord(&pool, &args, "\n", &[]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("no refresh token on standard input"),
        "{}",
        stderr(&output)
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM connections")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn add_without_a_sealing_key_exits_2_naming_the_key(pool: PgPool) {
    let mut args = vec!["connection", "add", "--tenant", "acme"];
    args.extend(["--instance-url", "https://acme.my.salesforce.com"]);
    let output = connectord(&pool, &args, TOKEN, &[("CONNECTORD__SECRETS__KEY", "")]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("secrets.key"),
        "{}",
        stderr(&output)
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn database_rules_become_exit_2_with_the_database_message(pool: PgPool) {
    let url = "https://acme.my.salesforce.com";
    assert!(add(&pool, "acme", url, &[]).await.status.success());

    let duplicate = add(&pool, "acme", url, &[]).await;
    assert_eq!(duplicate.status.code(), Some(2));
    assert!(
        stderr(&duplicate).contains(&format!(
            "tenant \"acme\" already has a connection to {url}"
        )),
        "{}",
        stderr(&duplicate)
    );

    let bad_field = add(
        &pool,
        "acme",
        "https://b.my.salesforce.com",
        &["--field", "Name"],
    )
    .await;
    assert_eq!(bad_field.status.code(), Some(2));
    assert!(
        stderr(&bad_field).contains("required_fields entry 1 (\"Name\") is not an Object.Field"),
        "{}",
        stderr(&bad_field)
    );

    let bad_url = add(&pool, "acme", "acme.my.salesforce.com", &[]).await;
    assert_eq!(bad_url.status.code(), Some(2));
    assert!(
        stderr(&bad_url).contains("is not an http(s) URL"),
        "{}",
        stderr(&bad_url)
    );
    for output in [duplicate, bad_field, bad_url] {
        assert!(!stderr(&output).contains(TOKEN));
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn enable_disable_reconnect_and_fields_change_the_desired_state(pool: PgPool) {
    let output = add(&pool, "acme", "https://acme.my.salesforce.com", &[]).await;
    let id = stdout(&output).trim().to_owned();
    let uuid: Uuid = id.parse().unwrap();

    let enable = connectord(&pool, &["connection", "enable", &id], "", &[]).await;
    assert!(enable.status.success(), "{}", stderr(&enable));
    assert!(
        stdout(&enable).contains("enabled (generation 2)"),
        "{}",
        stdout(&enable)
    );
    assert!(
        store::get_connection(&pool, uuid)
            .await
            .unwrap()
            .unwrap()
            .enabled
    );

    let disable = connectord(&pool, &["connection", "disable", &id], "", &[]).await;
    assert!(disable.status.success());
    assert!(
        !store::get_connection(&pool, uuid)
            .await
            .unwrap()
            .unwrap()
            .enabled
    );

    let reconnect = connectord(&pool, &["connection", "reconnect", &id], "", &[]).await;
    assert!(reconnect.status.success());
    let connection = store::get_connection(&pool, uuid).await.unwrap().unwrap();
    assert!(connection.reconnect_requested_at.is_some());

    let args = ["connection", "fields", &id, "--field", "Case.Subject"];
    let fields = connectord(&pool, &args, "", &[]).await;
    assert!(fields.status.success(), "{}", stderr(&fields));
    let connection = store::get_connection(&pool, uuid).await.unwrap().unwrap();
    assert_eq!(connection.required_fields, ["Case.Subject"]);
    assert_eq!(connection.generation, 5);
}

#[sqlx::test(migrations = "./migrations")]
async fn an_unknown_id_exits_2_naming_it(pool: PgPool) {
    let unknown = Uuid::new_v4().to_string();
    for command in ["enable", "disable", "reconnect", "remove"] {
        let output = connectord(&pool, &["connection", command, &unknown], "", &[]).await;
        assert_eq!(output.status.code(), Some(2), "{command}");
        assert!(
            stderr(&output).contains(&format!("no connection {unknown}")),
            "{command}: {}",
            stderr(&output)
        );
    }
    let args = ["connection", "fields", &unknown, "--field", "Account.Name"];
    assert_eq!(
        connectord(&pool, &args, "", &[]).await.status.code(),
        Some(2)
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn status_lists_connections_as_a_table_or_json_without_secrets(pool: PgPool) {
    let acme = add(&pool, "acme", "https://acme.my.salesforce.com", &[]).await;
    let acme_id = stdout(&acme).trim().to_owned();
    add(&pool, "globex", "https://globex.my.salesforce.com", &[]).await;
    sqlx::query(
        "INSERT INTO connection_status (connection_id, phase, error_code, consumer_key)
         VALUES ($1, 'action_required', 'license_unavailable', '3MVG9-consumer-key')",
    )
    .bind(acme_id.parse::<Uuid>().unwrap())
    .execute(&pool)
    .await
    .unwrap();

    let table = connectord(&pool, &["status"], "", &[]).await;
    assert!(table.status.success(), "{}", stderr(&table));
    let text = stdout(&table);
    assert!(text.starts_with("ID "), "{text}");
    assert!(text.contains("action_required*"), "{text}");
    assert!(text.contains("license_unavailable"), "{text}");
    assert!(text.contains("globex"), "{text}");

    let json = connectord(&pool, &["status", "--tenant", "acme", "--json"], "", &[]).await;
    assert!(json.status.success(), "{}", stderr(&json));
    assert!(!stdout(&json).contains(TOKEN));
    let rows: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["id"], acme_id.as_str());
    assert_eq!(rows[0]["status"]["phase"], "action_required");
    assert_eq!(rows[0]["status"]["consumer_key"], "3MVG9-consumer-key");
    assert_eq!(rows[0]["status"]["attempts"], 0);

    let none = connectord(&pool, &["status", "--tenant", "initech"], "", &[]).await;
    assert_eq!(
        stdout(&none).trim(),
        "no connections for tenant \"initech\""
    );
}

#[tokio::test]
async fn an_unreachable_database_exits_1_without_repeating_the_password() {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_connectord"))
        .arg("status")
        .env(
            "DATABASE_URL",
            "postgres://app:hunter2-secret@127.0.0.1:1/connectord",
        )
        .env("CONNECTORD__DATABASE__CONNECT_TIMEOUT", "2s")
        .env("CONNECTORD__LOG__FORMAT", "pretty")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains("cannot connect to the database"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}
