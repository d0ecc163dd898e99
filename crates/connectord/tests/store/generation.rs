//! `generation` counts changes of the desired state, and only those.

use connectord::store;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{insert, sealer};

async fn generation(pool: &PgPool, id: Uuid) -> (i64, chrono::DateTime<chrono::Utc>) {
    sqlx::query_as("SELECT generation, updated_at FROM connections WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn every_desired_change_bumps_the_generation_and_nothing_else_does(pool: PgPool) {
    let id = insert(&pool, "acme", "https://acme.my.salesforce.com")
        .await
        .unwrap();
    assert_eq!(generation(&pool, id).await.0, 1);

    let steps: [(&str, i64); 14] = [
        ("enabled = true", 1),
        ("enabled = true", 0),
        ("required_fields = '{Account.Name}'", 1),
        ("required_fields = '{Account.Name}'", 0),
        ("reconnect_requested_at = now()", 1),
        ("instance_url = 'https://acme2.my.salesforce.com'", 1),
        // The tenant never changes (tests/store/tenant.rs); the same value is no change.
        ("tenant_id = 'acme'", 0),
        ("mapping_mode = 'manual'", 1),
        ("auto_mapping = false", 1),
        ("admin_refresh_token = 'a-new-token'", 1),
        ("admin_refresh_token = 'a-new-token'", 0),
        ("admin_refresh_token = NULL", 0),
        // Writers cannot set the counter or the creation time themselves.
        ("generation = 100", 0),
        ("created_at = now() - interval '1 day'", 0),
    ];
    for (assignment, bump) in steps {
        let (before, _) = generation(&pool, id).await;
        sqlx::query(&format!(
            "UPDATE connections SET {assignment} WHERE id = $1"
        ))
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
        let (after, _) = generation(&pool, id).await;
        assert_eq!(after - before, bump, "SET {assignment}");
    }
    let created_after_now: bool =
        sqlx::query_scalar("SELECT created_at > now() - interval '1 hour' FROM connections")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(created_after_now, "created_at was rewritten");
}

#[sqlx::test(migrations = "./migrations")]
async fn sealing_the_inbox_token_clears_it_without_a_bump_but_updates_the_timestamp(pool: PgPool) {
    let id = insert(&pool, "acme", "https://acme.my.salesforce.com")
        .await
        .unwrap();
    sqlx::query("UPDATE connections SET admin_refresh_token = 'tok' WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    let (with_token, written_at) = generation(&pool, id).await;
    assert_eq!(with_token, 2, "a new token retriggers work");

    assert!(store::seal_inbox_token(&pool, &sealer(), id).await.unwrap());
    let (after, cleared_at) = generation(&pool, id).await;
    assert_eq!(after, with_token);
    assert!(cleared_at > written_at);
}

#[sqlx::test(migrations = "./migrations")]
async fn the_store_functions_report_the_generation_after_their_change(pool: PgPool) {
    let id = insert(&pool, "acme", "https://acme.my.salesforce.com")
        .await
        .unwrap();
    assert_eq!(store::set_enabled(&pool, id, true).await.unwrap(), 2);
    assert_eq!(store::set_enabled(&pool, id, true).await.unwrap(), 2);
    assert_eq!(store::request_reconnect(&pool, id).await.unwrap(), 3);
    let fields = vec!["Account.Name".to_owned()];
    assert_eq!(store::set_fields(&pool, id, &fields).await.unwrap(), 4);
    let connection = store::get_connection(&pool, id).await.unwrap().unwrap();
    assert_eq!(connection.generation, 4);
    assert!(connection.enabled);
    assert!(connection.reconnect_requested_at.is_some());
    assert_eq!(connection.required_fields, fields);

    let unknown = Uuid::new_v4();
    let error = store::set_enabled(&pool, unknown, true).await.unwrap_err();
    assert_eq!(error.to_string(), format!("no connection {unknown}"));
}
