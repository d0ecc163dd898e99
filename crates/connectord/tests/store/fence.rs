//! The lease fence (issue 14, item 4): every write of a leased pass checks, in the same
//! statement, that the pass still holds the connection's lease (owner and epoch, unexpired).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use connectord::reconcile::model::{ComponentSet, Known, Role};
use connectord::reconcile::record::{self, Finish};
use connectord::reconcile::{Holder, fence};
use connectord::store::Phase;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::insert;
use crate::support::written;

/// A pass's lease as the daemon hands it to the pass: its token, and whether a write found it
/// gone.
struct Token {
    owner: &'static str,
    epoch: i64,
    lost: AtomicBool,
}

impl Token {
    fn new(owner: &'static str, epoch: i64) -> Arc<Token> {
        Arc::new(Token {
            owner,
            epoch,
            lost: AtomicBool::new(false),
        })
    }
}

impl Holder for Token {
    fn still_held(&self) -> bool {
        !self.lost.load(Ordering::Relaxed)
    }
    fn token(&self) -> Option<(&str, i64)> {
        Some((self.owner, self.epoch))
    }
    fn lose(&self) {
        self.lost.store(true, Ordering::Relaxed);
    }
}

fn known(serial: i32) -> Known {
    Known {
        sets: vec![ComponentSet::new(serial, Role::Active, BTreeSet::new())],
        last_serial: serial,
        ..Known::default()
    }
}

/// Every kind of write a pass makes, each on its own; the results in order.
async fn every_write(pool: &PgPool, id: Uuid, serial: i32) -> Vec<(&'static str, bool)> {
    let known = known(serial);
    let end = Finish {
        phase: Phase::Ready,
        generation: 1,
        instance_url: "https://acme.my.salesforce.com",
        error: None,
        next_attempt_in: None,
    };
    let url = "https://acme.my.salesforce.com";
    vec![
        (
            "announce",
            record::announce(pool, id, Phase::Provisioning, url)
                .await
                .is_ok(),
        ),
        (
            "save_set",
            record::save_set(pool, id, &known.sets[0]).await.is_ok(),
        ),
        (
            "save_state",
            record::save_state(pool, id, &known).await.is_ok(),
        ),
        (
            "save_credentials",
            record::save_credentials(pool, id, 1, Some("key"), Some(b"sealed"))
                .await
                .is_ok(),
        ),
        (
            "mark_verified",
            record::mark_verified(pool, id, 1).await.is_ok(),
        ),
        (
            "event",
            record::event(pool, id, "create_app", "ok", serde_json::json!({}))
                .await
                .is_ok(),
        ),
        (
            "finish",
            record::finish(pool, id, &known, &end).await.is_ok(),
        ),
        ("forget_set", record::forget_set(pool, id, 1).await.is_ok()),
    ]
}

async fn lease(pool: &PgPool, id: Uuid, owner: &str, epoch: i64, seconds: f64) {
    sqlx::query(
        "INSERT INTO connection_leases (connection_id, owner, epoch, expires_at)
         VALUES ($1, $2, $3, now() + make_interval(secs => $4))
         ON CONFLICT (connection_id) DO UPDATE
            SET owner = EXCLUDED.owner, epoch = EXCLUDED.epoch, expires_at = EXCLUDED.expires_at",
    )
    .bind(id)
    .bind(owner)
    .bind(epoch)
    .bind(seconds)
    .execute(pool)
    .await
    .unwrap();
}

#[sqlx::test(migrations = "./migrations")]
async fn a_write_with_a_stale_epoch_changes_nothing(pool: PgPool) {
    let id = insert(&pool, "acme", "https://acme.my.salesforce.com")
        .await
        .unwrap();
    // What the first pass wrote, unfenced; then replica B took the lease over (epoch 2).
    for (write, ok) in every_write(&pool, id, 2).await {
        assert!(ok, "unfenced {write}");
    }
    record::save_set(&pool, id, &known(1).sets[0])
        .await
        .unwrap();
    lease(&pool, id, "replica-b", 2, 60.0).await;
    let before = written(&pool, id).await;

    // Replica A wakes up with epoch 1; B's own older epoch; another owner with B's epoch.
    for (owner, epoch) in [("replica-a", 1), ("replica-b", 1), ("replica-a", 2)] {
        let stale = Token::new(owner, epoch);
        let results = fence::scope(stale.clone(), every_write(&pool, id, 3)).await;
        for (write, ok) in results {
            assert!(!ok, "{write} with ({owner}, {epoch}) must be refused");
        }
        assert!(!stale.still_held(), "a refused write marks the lease lost");
        assert_eq!(written(&pool, id).await, before, "({owner}, {epoch}) wrote");
    }
    lease(&pool, id, "replica-b", 2, -1.0).await;
    let expired = Token::new("replica-b", 2);
    for (write, ok) in fence::scope(expired.clone(), every_write(&pool, id, 3)).await {
        assert!(!ok, "{write} under an expired lease must be refused");
    }
    assert_eq!(written(&pool, id).await, before, "an expired lease wrote");

    // The holder of the current lease writes.
    lease(&pool, id, "replica-b", 2, 60.0).await;
    let current = Token::new("replica-b", 2);
    for (write, ok) in fence::scope(current.clone(), every_write(&pool, id, 3)).await {
        assert!(ok, "{write} by the holder of the lease");
    }
    assert!(current.still_held());
    assert_ne!(written(&pool, id).await, before);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_fenced_write_that_matches_no_row_for_another_reason_still_holds_the_lease(pool: PgPool) {
    let id = insert(&pool, "acme", "https://acme.my.salesforce.com")
        .await
        .unwrap();
    lease(&pool, id, "replica-a", 1, 60.0).await;
    let held = Token::new("replica-a", 1);
    // No set 7 exists: nothing to verify, and nothing says the lease is gone.
    fence::scope(held.clone(), record::mark_verified(&pool, id, 7))
        .await
        .unwrap();
    assert!(held.still_held());
}
