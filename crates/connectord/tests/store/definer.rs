//! SECURITY DEFINER functions run as the role that applied the migrations, so none of them may
//! resolve a name through the caller's search path (issue 14, item 1).

use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::insert;

const ACME: &str = "https://acme.my.salesforce.com";

#[sqlx::test(migrations = "./migrations")]
async fn no_security_definer_function_leaves_its_search_path_to_the_caller(pool: PgPool) {
    let functions: Vec<(String, Option<Vec<String>>)> = sqlx::query_as(
        "SELECT p.oid::regprocedure::text, p.proconfig FROM pg_proc p
          WHERE p.pronamespace = current_schema()::regnamespace AND p.prosecdef
          ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(functions.len() >= 4, "the definer functions: {functions:?}");
    let pinned = format!("search_path={}, pg_temp", current_schema(&pool).await);
    let unpinned: Vec<&(String, Option<Vec<String>>)> = functions
        .iter()
        .filter(|(_, config)| !config.iter().flatten().any(|setting| *setting == pinned))
        .collect();
    assert!(
        unpinned.is_empty(),
        "definer functions without `{pinned}`: {unpinned:?}"
    );
}

async fn current_schema(pool: &PgPool) -> String {
    sqlx::query_scalar("SELECT current_schema()")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The product's role shadows `connection_due` with a temporary table of its own whose
/// trigger records who runs it, then changes a connection so that the due-queue trigger
/// (a definer function) writes "connection_due".
#[sqlx::test(migrations = "./migrations")]
async fn a_temp_table_of_the_product_role_cannot_run_its_trigger_as_the_owner(pool: PgPool) {
    let id = insert(&pool, "acme", ACME).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    for statement in [
        "SET ROLE connectord_product",
        "CREATE TEMP TABLE connection_due
             (connection_id uuid PRIMARY KEY, due_at timestamptz, changed_at timestamptz)",
        "CREATE TEMP TABLE loot (who name)",
        "CREATE FUNCTION pg_temp.steal() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             INSERT INTO pg_temp.loot VALUES (current_user);
             RETURN NULL;
         END $$",
        "CREATE TRIGGER steal AFTER INSERT OR UPDATE ON pg_temp.connection_due
             FOR EACH ROW EXECUTE FUNCTION pg_temp.steal()",
    ] {
        sqlx::query(statement).execute(&mut *conn).await.unwrap();
    }
    sqlx::query("INSERT INTO pg_temp.connection_due VALUES ($1, NULL, now())")
        .bind(id)
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("TRUNCATE pg_temp.loot")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("UPDATE connections SET enabled = true WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await
        .unwrap();
    let new_id: Uuid = sqlx::query_scalar(
        "INSERT INTO connections (tenant_id, instance_url) VALUES ('acme', $1) RETURNING id",
    )
    .bind("https://acme2.my.salesforce.com")
    .fetch_one(&mut *conn)
    .await
    .unwrap();

    let ran_as: Vec<String> = sqlx::query_scalar("SELECT who::text FROM pg_temp.loot")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    assert!(
        ran_as.is_empty(),
        "the product's trigger ran from a definer function as {ran_as:?}"
    );
    sqlx::query("RESET ROLE").execute(&mut *conn).await.unwrap();
    drop(conn);
    // The real queue got both writes.
    let due: Vec<bool> = sqlx::query_scalar(
        "SELECT due_at = '-infinity' FROM connection_due WHERE connection_id IN ($1, $2)",
    )
    .bind(id)
    .bind(new_id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(due, [true, true]);
}
