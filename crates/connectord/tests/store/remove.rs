//! `connection remove`: disable, wait for the daemon's teardown, delete.

use std::time::Duration;

use connectord::store;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{connectord, insert, set_phase, stderr, stdout};

#[sqlx::test(migrations = "./migrations")]
async fn a_connection_the_daemon_never_touched_is_removed_at_once(pool: PgPool) {
    let id = insert(&pool, "acme", "https://acme.my.salesforce.com")
        .await
        .unwrap();
    let output = connectord(&pool, &["connection", "remove", &id.to_string()], "", &[]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output).trim(), format!("connection {id}: removed"));
    assert!(store::get_connection(&pool, id).await.unwrap().is_none());
}

#[sqlx::test(migrations = "./migrations")]
async fn remove_waits_for_the_teardown_before_deleting(pool: PgPool) {
    let id = insert(&pool, "acme", "https://acme.my.salesforce.com")
        .await
        .unwrap();
    store::set_enabled(&pool, id, true).await.unwrap();
    set_phase(&pool, id, "ready").await;

    let remove = tokio::spawn({
        let pool = pool.clone();
        async move {
            let args = ["connection", "remove", &id.to_string(), "--timeout", "5m"];
            connectord(&pool, &args, "", &[]).await
        }
    });
    // Play the daemon: once the connection is disabled, tear it down.
    wait_until_disabled(&pool, id).await;
    assert!(
        store::get_connection(&pool, id).await.unwrap().is_some(),
        "deleted too early"
    );
    set_phase(&pool, id, "deprovisioning").await;
    set_phase(&pool, id, "disabled").await;

    let output = remove.await.unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output).trim(), format!("connection {id}: removed"));
    assert!(store::get_connection(&pool, id).await.unwrap().is_none());
}

#[sqlx::test(migrations = "./migrations")]
async fn remove_gives_up_after_its_timeout_and_leaves_the_row_disabled(pool: PgPool) {
    let id = insert(&pool, "acme", "https://acme.my.salesforce.com")
        .await
        .unwrap();
    store::set_enabled(&pool, id, true).await.unwrap();
    set_phase(&pool, id, "ready").await;

    let args = ["connection", "remove", &id.to_string(), "--timeout", "1s"];
    let output = connectord(&pool, &args, "", &[]).await;
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains(&format!("connection {id}: phase ready")),
        "{err}"
    );
    assert!(
        err.contains("was not torn down within 1s (phase ready)"),
        "{err}"
    );
    let connection = store::get_connection(&pool, id).await.unwrap().unwrap();
    assert!(!connection.enabled);
}

async fn wait_until_disabled(pool: &PgPool, id: Uuid) {
    for _ in 0..6000 {
        let connection = store::get_connection(pool, id).await.unwrap().unwrap();
        if !connection.enabled {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("remove never disabled the connection");
}
