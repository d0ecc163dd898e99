//! A connection's tenant is fixed when the row is written, and what the product may write as a
//! tenant or a field list is bounded (issue 14, item 10 and the low findings).

use sqlx::PgPool;

use crate::helpers::{connectord, db_message, insert, stderr};

const ACME: &str = "https://acme.my.salesforce.com";

#[sqlx::test(migrations = "./migrations")]
async fn a_connection_cannot_be_moved_to_another_tenant(pool: PgPool) {
    let id = insert(&pool, "acme", ACME).await.unwrap();

    // Any writer (here the owner, as with psql) gets an error naming the column.
    let error = sqlx::query("UPDATE connections SET tenant_id = 'globex' WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap_err();
    let db = error.as_database_error().expect("a database error");
    assert_eq!(db.constraint(), Some("connections_tenant_id_immutable"));
    assert_eq!(
        db.message(),
        format!("tenant_id cannot be changed (connection {id} belongs to tenant \"acme\")")
    );

    // The product's role may not even name the column in an UPDATE.
    let mut product = pool.acquire().await.unwrap();
    sqlx::query("SET ROLE connectord_product")
        .execute(&mut *product)
        .await
        .unwrap();
    let error = sqlx::query("UPDATE connections SET tenant_id = 'globex' WHERE id = $1")
        .bind(id)
        .execute(&mut *product)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("permission denied"), "{error}");
    // Everything else stays writable.
    sqlx::query("UPDATE connections SET enabled = true WHERE id = $1")
        .bind(id)
        .execute(&mut *product)
        .await
        .unwrap();
    sqlx::query("RESET ROLE")
        .execute(&mut *product)
        .await
        .unwrap();
    drop(product);

    let tenant: String = sqlx::query_scalar("SELECT tenant_id FROM connections WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(tenant, "acme");
}

#[sqlx::test(migrations = "./migrations")]
async fn a_tenant_id_that_could_inject_into_salesforce_requests_or_logs_is_refused(pool: PgPool) {
    let long = "t".repeat(129);
    for (tenant, message) in [
        ("", "tenant_id must be 1 to 128 characters long (it has 0)"),
        (
            long.as_str(),
            "tenant_id must be 1 to 128 characters long (it has 129)",
        ),
        (
            "acme\nforged log line",
            "tenant_id must not contain control characters",
        ),
        (
            "acme\u{1b}[31m",
            "tenant_id must not contain control characters",
        ),
        (
            "acme\u{85}",
            "tenant_id must not contain control characters",
        ),
        (
            "acme\u{2028}",
            "tenant_id must not contain control characters",
        ),
        (
            "@{refUser.records[0].Id}",
            "tenant_id must not contain \"@{\"",
        ),
    ] {
        let error = insert(&pool, tenant, ACME).await.unwrap_err();
        assert_eq!(db_message(error), message, "{tenant:?}");
    }
    // The limits themselves are fine, and so is an @ or a brace on its own.
    for tenant in ["t".repeat(128), "acme@example {eu}".into(), "é".repeat(128)] {
        insert(&pool, &tenant, ACME).await.unwrap();
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn a_required_fields_list_beyond_500_entries_is_refused(pool: PgPool) {
    let id = insert(&pool, "acme", ACME).await.unwrap();
    let fields = |n: usize| -> Vec<String> { (0..n).map(|i| format!("Account.F{i}__c")).collect() };
    sqlx::query("UPDATE connections SET required_fields = $2 WHERE id = $1")
        .bind(id)
        .bind(fields(500))
        .execute(&pool)
        .await
        .unwrap();
    let error = sqlx::query("UPDATE connections SET required_fields = $2 WHERE id = $1")
        .bind(id)
        .bind(fields(501))
        .execute(&pool)
        .await
        .unwrap_err();
    assert_eq!(
        db_message(error),
        "required_fields has 501 entries (the limit is 500)"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn the_command_line_reports_the_tenant_and_field_limits_as_exit_2(pool: PgPool) {
    let args = [
        "connection",
        "add",
        "--tenant",
        "a@{b}",
        "--instance-url",
        ACME,
    ];
    let output = connectord(&pool, &args, "token", &[]).await;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("tenant_id must not contain \"@{\""),
        "{}",
        stderr(&output)
    );

    let id = insert(&pool, "acme", ACME).await.unwrap().to_string();
    let fields: Vec<String> = (0..501).map(|i| format!("Account.F{i}__c")).collect();
    let mut args = vec!["connection", "fields", id.as_str()];
    for field in &fields {
        args.extend(["--field", field.as_str()]);
    }
    let output = connectord(&pool, &args, "", &[]).await;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("required_fields has 501 entries (the limit is 500)"),
        "{}",
        stderr(&output)
    );
}
