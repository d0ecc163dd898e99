//! Refresh tokens and consumer secrets exist in the database only sealed.

use base64::Engine as _;
use connectord::{
    secrets::{Purpose, SealError, Sealer},
    store::{self, NewConnection, StoreError},
};
use secrecy::{ExposeSecret as _, SecretString};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{KEY, OTHER_KEY, connectord, insert, sealer, stderr, stdout};

const TOKEN: &str = "5Aep861TSESvWeug_xvFHRBTTbf_YrTWgEyjBJ.PlaintextRefreshToken1234";

/// How many rows, in any table of the schema, hold `needle` as text, as the hex of its bytes
/// (how a bytea column shows) or as base64.
async fn rows_holding(pool: &PgPool, needle: &str) -> Vec<String> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
          WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(
        tables.iter().any(|t| t == "connection_secrets"),
        "{tables:?}"
    );
    let hex: String = needle.bytes().map(|b| format!("{b:02x}")).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(needle);
    let mut found = Vec::new();
    for table in tables {
        let count: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM \"{table}\" AS r
              WHERE strpos(row_to_json(r)::text, $1) > 0
                 OR strpos(lower(row_to_json(r)::text), $2) > 0
                 OR strpos(row_to_json(r)::text, $3) > 0"
        ))
        .bind(needle)
        .bind(&hex)
        .bind(&b64)
        .fetch_one(pool)
        .await
        .unwrap();
        if count > 0 {
            found.push(table);
        }
    }
    found
}

#[sqlx::test(migrations = "./migrations")]
async fn the_scan_finds_a_plaintext_token_where_there_is_one(pool: PgPool) {
    // The scan itself must be able to fail: a token in the inbox, and one in a bytea column.
    sqlx::query(
        "INSERT INTO connections (tenant_id, instance_url, admin_refresh_token)
         VALUES ('acme', 'https://acme.my.salesforce.com', $1)",
    )
    .bind(TOKEN)
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(rows_holding(&pool, TOKEN).await, ["connections"]);
    sqlx::query(
        "INSERT INTO connection_secrets (connection_id, admin_refresh_token, key_id)
         SELECT id, convert_to($1, 'UTF8'), 'x' FROM connections",
    )
    .bind(TOKEN)
    .execute(&pool)
    .await
    .unwrap();
    let mut tables = rows_holding(&pool, TOKEN).await;
    tables.sort();
    assert_eq!(tables, ["connection_secrets", "connections"]);
}

#[sqlx::test(migrations = "./migrations")]
async fn after_connection_add_the_token_exists_only_sealed_and_opens_only_with_the_key(
    pool: PgPool,
) {
    let output = connectord(
        &pool,
        &[
            "connection",
            "add",
            "--tenant",
            "acme",
            "--instance-url",
            "https://acme.my.salesforce.com/",
            "--field",
            "Account.Name",
        ],
        &format!("{TOKEN}\n"),
        &[],
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let id: Uuid = stdout(&output).trim().parse().expect("the id is printed");
    assert!(!stderr(&output).contains(TOKEN));

    assert!(rows_holding(&pool, TOKEN).await.is_empty());
    let sealed: Vec<u8> = sqlx::query_scalar(
        "SELECT admin_refresh_token FROM connection_secrets WHERE connection_id = $1",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(!sealed.is_empty());

    let opened = store::load_refresh_token(&pool, &sealer(), id)
        .await
        .unwrap();
    assert_eq!(opened.unwrap().expose_secret(), TOKEN);
    let wrong = Sealer::new(OTHER_KEY, []);
    let error = store::load_refresh_token(&pool, &wrong, id)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Seal {
                source: SealError::UnknownKey(_),
                ..
            }
        ),
        "{error:?}"
    );
    assert!(!format!("{error} {error:?}").contains(TOKEN));
}

#[sqlx::test(migrations = "./migrations")]
async fn a_token_in_the_inbox_is_sealed_and_the_column_cleared(pool: PgPool) {
    let id = store::insert_connection(
        &pool,
        &sealer(),
        &NewConnection {
            tenant_id: "acme".into(),
            instance_url: "https://acme.my.salesforce.com".into(),
            required_fields: vec![],
            enabled: false,
        },
        &SecretString::from("the-first-token"),
    )
    .await
    .unwrap();
    assert!(!store::seal_inbox_token(&pool, &sealer(), id).await.unwrap());

    // The product hands over a new token through the inbox column.
    sqlx::query("UPDATE connections SET admin_refresh_token = $2 WHERE id = $1")
        .bind(id)
        .bind(format!(" {TOKEN}\n"))
        .execute(&pool)
        .await
        .unwrap();
    assert!(
        store::get_connection(&pool, id)
            .await
            .unwrap()
            .unwrap()
            .has_inbox_token
    );
    assert!(store::seal_inbox_token(&pool, &sealer(), id).await.unwrap());

    let connection = store::get_connection(&pool, id).await.unwrap().unwrap();
    assert!(!connection.has_inbox_token);
    assert!(rows_holding(&pool, TOKEN).await.is_empty());
    let opened = store::load_refresh_token(&pool, &sealer(), id)
        .await
        .unwrap();
    assert_eq!(opened.unwrap().expose_secret(), TOKEN);
    // Nothing left to seal.
    assert!(!store::seal_inbox_token(&pool, &sealer(), id).await.unwrap());
}

#[sqlx::test(migrations = "./migrations")]
async fn a_blank_inbox_value_is_cleared_and_keeps_the_sealed_token(pool: PgPool) {
    let id = insert(&pool, "acme", "https://acme.my.salesforce.com")
        .await
        .unwrap();
    sqlx::query("UPDATE connections SET admin_refresh_token = '  ' WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    assert!(!store::seal_inbox_token(&pool, &sealer(), id).await.unwrap());
    assert!(
        !store::get_connection(&pool, id)
            .await
            .unwrap()
            .unwrap()
            .has_inbox_token
    );
    assert!(
        store::load_refresh_token(&pool, &sealer(), id)
            .await
            .unwrap()
            .is_none()
    );

    let unknown = Uuid::new_v4();
    let error = store::seal_inbox_token(&pool, &sealer(), unknown)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::NotFound(id) if id == unknown));
}

#[sqlx::test(migrations = "./migrations")]
async fn after_a_key_rotation_rows_are_resealed_with_the_new_key(pool: PgPool) {
    let id = insert(&pool, "acme", "https://acme.my.salesforce.com")
        .await
        .unwrap();
    let old = sealer();
    sqlx::query("UPDATE connections SET admin_refresh_token = $2 WHERE id = $1")
        .bind(id)
        .bind(TOKEN)
        .execute(&pool)
        .await
        .unwrap();
    store::seal_inbox_token(&pool, &old, id).await.unwrap();

    let rotated = Sealer::new(OTHER_KEY, [KEY]);
    let report = store::reseal_stale(&pool, &rotated).await.unwrap();
    assert_eq!(report.resealed, 1);
    assert!(report.unreadable.is_empty());
    assert_eq!(
        store::reseal_stale(&pool, &rotated).await.unwrap().resealed,
        0
    );

    let key_id: String =
        sqlx::query_scalar("SELECT key_id FROM connection_secrets WHERE connection_id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(key_id, rotated.key_id());
    // The old key is no longer needed; the old sealer no longer opens anything.
    let new_only = Sealer::new(OTHER_KEY, []);
    let token = store::load_refresh_token(&pool, &new_only, id)
        .await
        .unwrap();
    assert_eq!(token.unwrap().expose_secret(), TOKEN);
    assert!(store::load_refresh_token(&pool, &old, id).await.is_err());
}

#[sqlx::test(migrations = "./migrations")]
async fn a_sealed_value_copied_to_another_connection_does_not_open(pool: PgPool) {
    let a = insert(&pool, "acme", "https://a.my.salesforce.com")
        .await
        .unwrap();
    let b = insert(&pool, "acme", "https://b.my.salesforce.com")
        .await
        .unwrap();
    sqlx::query("UPDATE connections SET admin_refresh_token = 'token-of-a' WHERE id = $1")
        .bind(a)
        .execute(&pool)
        .await
        .unwrap();
    assert!(store::seal_inbox_token(&pool, &sealer(), a).await.unwrap());
    sqlx::query(
        "INSERT INTO connection_secrets (connection_id, admin_refresh_token, key_id)
         SELECT $2, admin_refresh_token, key_id FROM connection_secrets WHERE connection_id = $1",
    )
    .bind(a)
    .bind(b)
    .execute(&pool)
    .await
    .unwrap();
    let error = store::load_refresh_token(&pool, &sealer(), b)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Seal {
                source: SealError::Unauthentic,
                ..
            }
        ),
        "{error:?}"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn after_a_key_rotation_app_consumer_secrets_are_resealed_too(pool: PgPool) {
    let id = insert(&pool, "acme", "https://acme.my.salesforce.com")
        .await
        .unwrap();
    let old = sealer();
    let sealed = old
        .seal(
            id,
            Purpose::ConsumerSecret,
            &SecretString::from("app-consumer-secret"),
        )
        .unwrap();
    sqlx::query(
        "INSERT INTO component_sets (connection_id, serial, state, consumer_key, consumer_secret)
         VALUES ($1, 1, '{}', 'KEY', $2)",
    )
    .bind(id)
    .bind(&sealed)
    .execute(&pool)
    .await
    .unwrap();

    let rotated = Sealer::new(OTHER_KEY, [KEY]);
    let report = store::reseal_stale(&pool, &rotated).await.unwrap();
    assert_eq!(report.resealed_sets, 1, "{report:?}");
    assert!(report.unreadable_sets.is_empty());
    let again = store::reseal_stale(&pool, &rotated).await.unwrap();
    assert_eq!(again.resealed_sets, 0, "{again:?}");

    let stored: Vec<u8> = sqlx::query_scalar(
        "SELECT consumer_secret FROM component_sets WHERE connection_id = $1 AND serial = 1",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    let new_only = Sealer::new(OTHER_KEY, []);
    let opened = new_only.open(id, Purpose::ConsumerSecret, &stored).unwrap();
    assert_eq!(opened.expose_secret(), "app-consumer-secret");
    assert!(old.open(id, Purpose::ConsumerSecret, &stored).is_err());
}

#[sqlx::test(migrations = "./migrations")]
async fn an_app_secret_no_key_opens_is_reported_and_left_alone(pool: PgPool) {
    let id = insert(&pool, "acme", "https://acme.my.salesforce.com")
        .await
        .unwrap();
    let lost = Sealer::new([9; 32], []);
    let sealed = lost
        .seal(id, Purpose::ConsumerSecret, &SecretString::from("gone"))
        .unwrap();
    sqlx::query(
        "INSERT INTO component_sets (connection_id, serial, state, consumer_secret)
         VALUES ($1, 3, '{}', $2)",
    )
    .bind(id)
    .bind(&sealed)
    .execute(&pool)
    .await
    .unwrap();
    let report = store::reseal_stale(&pool, &sealer()).await.unwrap();
    assert_eq!(report.unreadable_sets, vec![(id, 3)]);
    assert_eq!(report.resealed_sets, 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_token_no_key_opens_is_reported_and_left_alone(pool: PgPool) {
    let id = insert(&pool, "acme", "https://acme.my.salesforce.com")
        .await
        .unwrap();
    let lost = Sealer::new([9; 32], []);
    sqlx::query("UPDATE connections SET admin_refresh_token = $2 WHERE id = $1")
        .bind(id)
        .bind(TOKEN)
        .execute(&pool)
        .await
        .unwrap();
    store::seal_inbox_token(&pool, &lost, id).await.unwrap();
    let report = store::reseal_stale(&pool, &sealer()).await.unwrap();
    assert_eq!(report.unreadable, vec![id]);
    assert_eq!(report.resealed, 0);
    let key_id: String =
        sqlx::query_scalar("SELECT key_id FROM connection_secrets WHERE connection_id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(key_id, lost.key_id());
}

#[sqlx::test]
async fn a_rotated_refresh_token_replaces_only_the_token_it_was_redeemed_for(pool: PgPool) {
    let id = insert(&pool, "acme", "https://acme.my.salesforce.com")
        .await
        .unwrap();
    let write = |token: &str| {
        sqlx::query("UPDATE connections SET admin_refresh_token = $2 WHERE id = $1")
            .bind(id)
            .bind(token.to_owned())
    };
    write(TOKEN).execute(&pool).await.unwrap();
    store::seal_inbox_token(&pool, &sealer(), id).await.unwrap();
    let (first, rotated) = (
        SecretString::from(TOKEN),
        SecretString::from("5Aep861rotated"),
    );

    let replaced = store::replace_rotated_refresh_token(&pool, &sealer(), id, &first, &rotated)
        .await
        .unwrap();

    assert!(replaced);
    let opened = store::load_refresh_token(&pool, &sealer(), id)
        .await
        .unwrap();
    assert_eq!(opened.unwrap().expose_secret(), "5Aep861rotated");
    assert!(
        rows_holding(&pool, "5Aep861rotated").await.is_empty(),
        "sealed"
    );

    // An operator re-authorised meanwhile: a late rotation of the old grant must not win.
    write("5Aep861operator").execute(&pool).await.unwrap();
    store::seal_inbox_token(&pool, &sealer(), id).await.unwrap();
    let late = SecretString::from("5Aep861late");
    let replaced = store::replace_rotated_refresh_token(&pool, &sealer(), id, &rotated, &late)
        .await
        .unwrap();

    assert!(!replaced);
    let opened = store::load_refresh_token(&pool, &sealer(), id)
        .await
        .unwrap();
    assert_eq!(opened.unwrap().expose_secret(), "5Aep861operator");
}
