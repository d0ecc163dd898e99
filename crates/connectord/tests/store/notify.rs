//! Every change of a `connections` row is announced on the channel, with the row's id.

use std::time::Duration;

use connectord::store::{self, NOTIFY_CHANNEL};
use sqlx::{PgPool, postgres::PgListener};

use crate::helpers::{insert, set_phase};

/// The next notification's payload; a generous bound so a missing NOTIFY fails, not hangs.
async fn next(listener: &mut PgListener) -> String {
    let notification = tokio::time::timeout(Duration::from_secs(30), listener.recv())
        .await
        .expect("a notification arrives")
        .unwrap();
    assert_eq!(notification.channel(), NOTIFY_CHANNEL);
    notification.payload().to_owned()
}

#[sqlx::test(migrations = "./migrations")]
async fn inserts_updates_and_deletes_are_announced_with_the_row_id(pool: PgPool) {
    let mut listener = store::listen(&pool).await.unwrap();

    let id = insert(&pool, "acme", "https://acme.my.salesforce.com")
        .await
        .unwrap();
    assert_eq!(next(&mut listener).await, id.to_string());

    store::set_enabled(&pool, id, true).await.unwrap();
    assert_eq!(next(&mut listener).await, id.to_string());

    store::set_enabled(&pool, id, false).await.unwrap();
    assert_eq!(next(&mut listener).await, id.to_string());
    set_phase(&pool, id, "disabled").await;
    store::delete_connection(&pool, id).await.unwrap();
    assert_eq!(next(&mut listener).await, id.to_string());
}

#[sqlx::test(migrations = "./migrations")]
async fn a_refused_write_announces_nothing(pool: PgPool) {
    let mut listener = store::listen(&pool).await.unwrap();
    insert(&pool, "", "https://acme.my.salesforce.com")
        .await
        .unwrap_err();
    let id = insert(&pool, "acme", "https://acme.my.salesforce.com")
        .await
        .unwrap();
    // The first announcement is the good insert's: the refused one left none behind.
    assert_eq!(next(&mut listener).await, id.to_string());
}
