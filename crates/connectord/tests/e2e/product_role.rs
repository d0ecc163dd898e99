//! The product's database role (`migrations/0008_product_role.sql`), used through a real login
//! role that is a member of it: it writes desired state, reads status and the trail, and can
//! neither read sealed secrets nor forge status.

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _, PgConnection, PgPool};
use uuid::Uuid;

/// A login role in `connectord_product`, dropped when the test ends.
struct ProductLogin {
    admin: PgPool,
    name: String,
}

impl ProductLogin {
    async fn create(admin: &PgPool) -> ProductLogin {
        let name = format!("connectord_product_test_{}", Uuid::new_v4().simple());
        sqlx::query(&format!(
            "CREATE ROLE {name} LOGIN IN ROLE connectord_product"
        ))
        .execute(admin)
        .await
        .unwrap();
        ProductLogin {
            admin: admin.clone(),
            name,
        }
    }

    async fn connect(&self) -> PgConnection {
        let options: PgConnectOptions = (*self.admin.connect_options()).clone();
        options.username(&self.name).connect().await.unwrap()
    }

    async fn drop_role(self) {
        sqlx::query(&format!("DROP ROLE {}", self.name))
            .execute(&self.admin)
            .await
            .unwrap();
    }
}

async fn refused(conn: &mut PgConnection, sql: &str, id: Uuid) -> String {
    let error = sqlx::query(sql)
        .bind(id)
        .execute(&mut *conn)
        .await
        .expect_err(sql);
    let text = error.to_string();
    assert!(text.contains("permission denied"), "{sql}: {text}");
    text
}

#[sqlx::test(migrations = "./migrations")]
async fn the_product_role_writes_desired_state_and_reads_status_but_nothing_else(pool: PgPool) {
    let login = ProductLogin::create(&pool).await;
    let mut product = login.connect().await;

    // Desired state: insert, change, read back.
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO connections (tenant_id, instance_url, enabled, required_fields,
                                  admin_refresh_token)
         VALUES ('acme', 'https://acme.my.salesforce.com', true, '{Account.Name}', 'inbox-token')
         RETURNING id",
    )
    .fetch_one(&mut product)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE connections SET required_fields = '{Contact.Email}', enabled = false,
                reconnect_requested_at = now() WHERE id = $1",
    )
    .bind(id)
    .execute(&mut product)
    .await
    .unwrap();
    let generation: i64 = sqlx::query_scalar("SELECT generation FROM connections WHERE id = $1")
        .bind(id)
        .fetch_one(&mut product)
        .await
        .unwrap();
    assert_eq!(generation, 2);

    // The daemon's side, written as the migrating role.
    sqlx::query("INSERT INTO connection_status (connection_id, phase) VALUES ($1, 'disabled')")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO connection_events (connection_id, action, outcome) VALUES ($1, 'x', 'ok')",
    )
    .bind(id)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO connection_secrets (connection_id, key_id) VALUES ($1, 'k')")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();

    // Observed state and the trail are readable.
    let phase: String =
        sqlx::query_scalar("SELECT phase FROM connection_status WHERE connection_id = $1")
            .bind(id)
            .fetch_one(&mut product)
            .await
            .unwrap();
    assert_eq!(phase, "disabled");
    let events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM connection_events WHERE connection_id = $1")
            .bind(id)
            .fetch_one(&mut product)
            .await
            .unwrap();
    assert_eq!(events, 1);

    // Secrets, the inbox, status and the trail are out of reach.
    for sql in [
        "SELECT admin_refresh_token FROM connections WHERE id = $1",
        "SELECT * FROM connection_secrets WHERE connection_id = $1",
        "SELECT consumer_secret FROM component_sets WHERE connection_id = $1",
        "SELECT * FROM connection_state WHERE connection_id = $1",
        "UPDATE connection_status SET phase = 'ready' WHERE connection_id = $1",
        "INSERT INTO connection_status (connection_id) VALUES ($1)",
        "DELETE FROM connection_status WHERE connection_id = $1",
        "INSERT INTO connection_events (connection_id, action, outcome) VALUES ($1, 'forged', 'ok')",
        "DELETE FROM connection_events WHERE connection_id = $1",
        "UPDATE connections SET generation = 99 WHERE id = $1",
        "UPDATE connectord_settings SET max_connections_per_tenant = 1000 WHERE $1::uuid IS NOT NULL",
        "INSERT INTO member_mappings (connection_id, member_id, salesforce_user_id,
             salesforce_username, method) VALUES ($1, 'm', '005', 'u', 'manual')",
    ] {
        refused(&mut product, sql, id).await;
    }

    // Deleting a torn-down row works (its status, trail entry and secrets go with it).
    let deleted = sqlx::query("DELETE FROM connections WHERE id = $1")
        .bind(id)
        .execute(&mut product)
        .await
        .unwrap();
    assert_eq!(deleted.rows_affected(), 1);
    product.close().await.unwrap();
    login.drop_role().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn the_product_role_cannot_delete_a_row_whose_components_may_exist(pool: PgPool) {
    let login = ProductLogin::create(&pool).await;
    let mut product = login.connect().await;
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO connections (tenant_id, instance_url, enabled)
         VALUES ('acme', 'https://acme.my.salesforce.com', true) RETURNING id",
    )
    .fetch_one(&mut product)
    .await
    .unwrap();
    sqlx::query("INSERT INTO connection_status (connection_id, phase) VALUES ($1, 'ready')")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    let error = sqlx::query("DELETE FROM connections WHERE id = $1")
        .bind(id)
        .execute(&mut product)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("disable it first"), "{error}");
    product.close().await.unwrap();
    login.drop_role().await;
}
