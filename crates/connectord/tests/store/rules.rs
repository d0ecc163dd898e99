//! Every database rule refuses a bad write with a message that says what is wrong.

use connectord::store::{self, StoreError};
use sqlx::PgPool;

use crate::helpers::{db_message, insert, set_phase};

const ACME: &str = "https://acme.my.salesforce.com";

#[sqlx::test(migrations = "./migrations")]
async fn an_empty_tenant_is_refused(pool: PgPool) {
    let error = insert(&pool, "  ", ACME).await.unwrap_err();
    assert_eq!(db_message(error), "tenant_id must not be empty");
}

#[sqlx::test(migrations = "./migrations")]
async fn an_instance_url_must_be_an_http_url_of_a_host(pool: PgPool) {
    for bad in [
        "acme.my.salesforce.com",
        "ftp://acme.my.salesforce.com",
        "https://acme.my.salesforce.com/",
        "https://acme.my.salesforce.com/services/data",
        "https://",
        "https://acme.my.salesforce.com?x=1",
    ] {
        let error = insert(&pool, "acme", bad).await.unwrap_err();
        assert_eq!(
            db_message(error),
            format!("instance_url \"{bad}\" is not an http(s) URL of a host")
        );
    }
    for good in [
        ACME,
        "http://127.0.0.1:8443",
        "https://acme--dev.sandbox.my.salesforce.com",
    ] {
        insert(&pool, "acme", good).await.unwrap();
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn required_fields_must_look_like_object_dot_field(pool: PgPool) {
    let id = insert(&pool, "acme", ACME).await.unwrap();
    for (fields, bad_entry) in [
        (vec!["Account.Name", "Account"], "2 (\"Account\")"),
        (vec!["Account.Name.Extra"], "1 (\"Account.Name.Extra\")"),
        (vec!["Account."], "1 (\"Account.\")"),
        (vec!["1Account.Name"], "1 (\"1Account.Name\")"),
        (vec!["Account.Na me"], "1 (\"Account.Na me\")"),
        (vec!["Account.Name; DROP"], "1 (\"Account.Name; DROP\")"),
    ] {
        let fields: Vec<String> = fields.into_iter().map(String::from).collect();
        let error = store::set_fields(&pool, id, &fields).await.unwrap_err();
        let StoreError::Rejected(rejection) = error else {
            panic!("expected a rejection, got {error:?}");
        };
        assert_eq!(
            rejection.message,
            format!("required_fields entry {bad_entry} is not an Object.Field API name")
        );
        assert_eq!(rejection.code, "23514");
        assert!(rejection.hint.unwrap().contains("Account.Name"));
    }
    let good: Vec<String> = ["Account.Name", "ns__Invoice__c.Total__c", "Contact.Email"]
        .map(String::from)
        .into();
    assert_eq!(store::set_fields(&pool, id, &good).await.unwrap(), 2);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_null_field_entry_is_named_too(pool: PgPool) {
    let error = sqlx::query(
        "INSERT INTO connections (tenant_id, instance_url, required_fields)
         VALUES ('acme', $1, ARRAY['Account.Name', NULL])",
    )
    .bind(ACME)
    .execute(&pool)
    .await
    .unwrap_err();
    assert_eq!(
        db_message(error),
        "required_fields entry 2 (NULL) is not an Object.Field API name"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn an_unknown_mapping_mode_is_refused(pool: PgPool) {
    let id = insert(&pool, "acme", ACME).await.unwrap();
    let error = sqlx::query("UPDATE connections SET mapping_mode = 'sso' WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap_err();
    assert_eq!(
        db_message(error),
        "mapping_mode \"sso\" is not one of email, saml_name_id, manual"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_second_connection_to_the_same_org_is_refused(pool: PgPool) {
    let first = insert(&pool, "acme", ACME).await.unwrap();
    let error = insert(&pool, "acme", ACME).await.unwrap_err();
    let pg = error.as_database_error().unwrap();
    assert_eq!(pg.code().as_deref(), Some("23505"));
    assert_eq!(pg.constraint(), Some("connections_tenant_instance_unique"));
    assert_eq!(
        pg.message(),
        format!("tenant \"acme\" already has a connection to {ACME} (connection {first})")
    );
    // Another tenant may connect to the same org.
    insert(&pool, "globex", ACME).await.unwrap();
}

#[sqlx::test(migrations = "./migrations")]
async fn a_tenant_over_its_cap_is_refused_and_the_cap_is_configurable(pool: PgPool) {
    assert_eq!(store::max_connections_per_tenant(&pool).await.unwrap(), 20);
    store::set_max_connections_per_tenant(&pool, 2)
        .await
        .unwrap();
    assert_eq!(store::max_connections_per_tenant(&pool).await.unwrap(), 2);
    insert(&pool, "acme", "https://a.my.salesforce.com")
        .await
        .unwrap();
    insert(&pool, "acme", "https://b.my.salesforce.com")
        .await
        .unwrap();
    let error = insert(&pool, "acme", "https://c.my.salesforce.com")
        .await
        .unwrap_err();
    assert_eq!(
        db_message(error),
        "tenant \"acme\" already has 2 connections (the limit is 2)"
    );
    // Other tenants are not affected, and cannot move a row into the full tenant (no row
    // changes tenant at all: tests/store/tenant.rs).
    let other = insert(&pool, "globex", "https://c.my.salesforce.com")
        .await
        .unwrap();
    let error = sqlx::query("UPDATE connections SET tenant_id = 'acme' WHERE id = $1")
        .bind(other)
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(db_message(error).starts_with("tenant_id cannot be changed"));
}

#[sqlx::test(migrations = "./migrations")]
async fn two_concurrent_inserts_cannot_both_take_the_last_place(pool: PgPool) {
    store::set_max_connections_per_tenant(&pool, 1)
        .await
        .unwrap();
    let mut first = pool.begin().await.unwrap();
    sqlx::query("INSERT INTO connections (tenant_id, instance_url) VALUES ('acme', $1)")
        .bind("https://a.my.salesforce.com")
        .execute(&mut *first)
        .await
        .unwrap();

    // The second insert starts while the first is not committed yet ...
    let second = tokio::spawn({
        let pool = pool.clone();
        async move { insert(&pool, "acme", "https://b.my.salesforce.com").await }
    });
    // ... and waits for the tenant's lock instead of counting an uncommitted row as absent.
    let mut waited = false;
    for _ in 0..1000 {
        waited = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_database d ON d.oid = l.database
                             WHERE l.locktype = 'advisory' AND NOT l.granted
                               AND d.datname = current_database())",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if waited {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(waited, "the second insert never waited for the tenant lock");
    first.commit().await.unwrap();

    let error = second.await.unwrap().unwrap_err();
    assert_eq!(
        db_message(error),
        "tenant \"acme\" already has 1 connection (the limit is 1)"
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM connections")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn deleting_a_connection_that_may_exist_in_salesforce_is_refused(pool: PgPool) {
    let id = insert(&pool, "acme", ACME).await.unwrap();
    set_phase(&pool, id, "ready").await;
    let error = store::delete_connection(&pool, id).await.unwrap_err();
    let StoreError::Rejected(rejection) = error else {
        panic!("expected a rejection, got {error:?}");
    };
    assert_eq!(
        rejection.message,
        format!(
            "connection {id} may still have components in Salesforce (phase ready): disable it \
             first and wait for phase disabled, or use connectord connection remove"
        )
    );
    assert_eq!(rejection.code, "23001");
    assert!(store::get_connection(&pool, id).await.unwrap().is_some());

    for phase in [
        "pending",
        "provisioning",
        "deprovisioning",
        "failed",
        "action_required",
    ] {
        set_phase(&pool, id, phase).await;
        let error = store::delete_connection(&pool, id).await.unwrap_err();
        assert!(
            error.to_string().contains(&format!("(phase {phase})")),
            "{error}"
        );
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn a_disabled_or_never_provisioned_connection_can_be_deleted(pool: PgPool) {
    let never = insert(&pool, "acme", ACME).await.unwrap();
    store::delete_connection(&pool, never).await.unwrap();

    let disabled = insert(&pool, "acme", ACME).await.unwrap();
    set_phase(&pool, disabled, "disabled").await;
    store::delete_connection(&pool, disabled).await.unwrap();
    assert!(store::get_status(&pool, disabled).await.unwrap().is_none());

    let error = store::delete_connection(&pool, disabled).await.unwrap_err();
    assert!(matches!(error, StoreError::NotFound(id) if id == disabled));
}

#[sqlx::test(migrations = "./migrations")]
async fn the_audit_trail_outlives_the_connection_and_records_its_deletion(pool: PgPool) {
    let id = insert(&pool, "acme", ACME).await.unwrap();
    let detail = serde_json::json!({"permission_set": "Connectord_Agent"});
    store::append_event(&pool, id, "permission_set_created", "ok", &detail)
        .await
        .unwrap();
    store::delete_connection(&pool, id).await.unwrap();

    let events = store::recent_events(&pool, id, 10).await.unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["connection_deleted", "permission_set_created"]);
    assert_eq!(events[0].detail["tenant_id"], "acme");
    assert_eq!(events[0].detail["instance_url"], ACME);
    assert_eq!(events[1].detail, detail);
}

#[sqlx::test(migrations = "./migrations")]
async fn the_unique_constraint_still_speaks_plainly_when_writers_race_past_the_trigger(
    pool: PgPool,
) {
    // Under REPEATABLE READ the trigger's check cannot see a row committed after the
    // transaction's snapshot; the unique constraint is the backstop.
    let mut first = pool.begin().await.unwrap();
    let mut second = pool.begin().await.unwrap();
    for tx in [&mut first, &mut second] {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .execute(&mut **tx)
            .await
            .unwrap();
        sqlx::query("SELECT 1").execute(&mut **tx).await.unwrap();
    }
    let insert = "INSERT INTO connections (tenant_id, instance_url) VALUES ('acme', $1)";
    sqlx::query(insert)
        .bind(ACME)
        .execute(&mut *first)
        .await
        .unwrap();
    first.commit().await.unwrap();
    let error = sqlx::query(insert)
        .bind(ACME)
        .execute(&mut *second)
        .await
        .unwrap_err();
    let error = StoreError::from(error);
    assert_eq!(
        error.to_string(),
        format!(
            "the tenant already has a connection to this instance URL: \
             Key (tenant_id, instance_url)=(acme, {ACME}) already exists."
        )
    );
    assert!(error.is_bad_input());
}

#[sqlx::test(migrations = "./migrations")]
async fn a_writer_granted_only_the_product_tables_can_insert_update_and_delete(pool: PgPool) {
    // The rules read and write tables the product is not granted; they must still work.
    // Everything happens in one transaction that is rolled back, the role included.
    let role = format!("connectord_test_writer_{}", uuid::Uuid::new_v4().simple());
    let mut tx = pool.begin().await.unwrap();
    for statement in [
        format!("CREATE ROLE {role} NOLOGIN"),
        format!("GRANT SELECT, INSERT, UPDATE, DELETE ON connections TO {role}"),
        format!("GRANT SELECT ON connection_status, connection_events TO {role}"),
        format!("SET LOCAL ROLE {role}"),
    ] {
        sqlx::query(&statement).execute(&mut *tx).await.unwrap();
    }
    let id: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO connections (tenant_id, instance_url) VALUES ('acme', $1) RETURNING id",
    )
    .bind(ACME)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE connections SET enabled = false, instance_url = 'https://acme2.my.salesforce.com'
          WHERE id = $1",
    )
    .bind(id)
    .execute(&mut *tx)
    .await
    .unwrap();
    // The daemon reports the teardown ...
    sqlx::query("RESET ROLE").execute(&mut *tx).await.unwrap();
    sqlx::query("INSERT INTO connection_status (connection_id, phase) VALUES ($1, 'disabled')")
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(&format!("SET LOCAL ROLE {role}"))
        .execute(&mut *tx)
        .await
        .unwrap();
    // ... and the product deletes the row.
    let deleted = sqlx::query("DELETE FROM connections WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(deleted.rows_affected(), 1);
    tx.rollback().await.unwrap();
}
