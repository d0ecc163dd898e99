//! `connection_due`, the index the claim reads: it must never say "later" when the claim rule
//! says "now", whatever order the product and the daemon write in.

use std::time::Duration;

use connectord::daemon::claim::{self, ClaimRequest};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::insert;

const URL: &str = "https://acme.my.salesforce.com";
const EXPIRY: Duration = Duration::from_secs(30);

/// The claim rule of `src/daemon/claim.rs`, written out on its own (throttling aside).
const CLAIMABLE_BY_RULE: &str = "
    SELECT c.id FROM connections c
      LEFT JOIN connection_status s ON s.connection_id = c.id
      LEFT JOIN connection_leases l ON l.connection_id = c.id
     WHERE (l.connection_id IS NULL OR l.expires_at <= now())
       AND (s.connection_id IS NULL OR s.observed_generation < c.generation
            OR c.admin_refresh_token IS NOT NULL OR s.next_attempt_at <= now()
            OR l.owner IS NOT NULL)";

/// Every connection the rule calls claimable is due in the index, and the index agrees with
/// what `connection_due_compute` makes of the rows.
async fn assert_index_agrees(pool: &PgPool) {
    let claimable: Vec<Uuid> = sqlx::query_scalar(CLAIMABLE_BY_RULE)
        .fetch_all(pool)
        .await
        .unwrap();
    for id in &claimable {
        let due: bool = sqlx::query_scalar(
            "SELECT due_at <= now() FROM connection_due WHERE connection_id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await
        .unwrap()
        .flatten()
        .unwrap_or(false);
        assert!(
            due,
            "{id} is claimable by the rule but not due in connection_due"
        );
    }
    // Never later than its rows say; and for connections nobody holds, due now exactly when
    // its rows say so (the index does not fill up with work that is not due).
    let wrong: Vec<(Uuid, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT q.connection_id, q.due_at::text, t.truth::text
           FROM connection_due q
           LEFT JOIN connection_leases l ON l.connection_id = q.connection_id
          CROSS JOIN LATERAL (SELECT connection_due_compute(q.connection_id) AS truth) t
          WHERE (t.truth IS NOT NULL AND (q.due_at IS NULL OR q.due_at > t.truth))
             OR (l.owner IS NULL
                 AND coalesce(q.due_at <= now(), false) <> coalesce(t.truth <= now(), false))",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(wrong.is_empty(), "(id, due_at, from its rows): {wrong:?}");
    let depth = claim::queue_depth(pool).await.unwrap();
    assert_eq!(
        depth,
        claimable.len() as i64,
        "queue depth follows the rule"
    );
}

async fn claim_as(pool: &PgPool, owner: &str) -> Vec<Uuid> {
    let request = ClaimRequest {
        owner,
        limit: 100,
        expiry: EXPIRY,
        in_flight: &[],
        throttled: &[],
    };
    let claimed = claim::claim(pool, &request).await.unwrap();
    claimed.into_iter().map(|c| c.id).collect()
}

/// What a pass writes when it ends: the generation it saw and when to look again.
async fn write_status(pool: &PgPool, id: Uuid, observed: i64, next_in_secs: f64) {
    sqlx::query(
        "INSERT INTO connection_status (connection_id, phase, observed_generation, next_attempt_at)
         VALUES ($1, 'ready', $2, now() + make_interval(secs => $3))
         ON CONFLICT (connection_id) DO UPDATE
            SET observed_generation = EXCLUDED.observed_generation,
                next_attempt_at = EXCLUDED.next_attempt_at",
    )
    .bind(id)
    .bind(observed)
    .bind(next_in_secs)
    .execute(pool)
    .await
    .unwrap();
}

/// Runs `sql` with `$1` = `id`, as the product would.
async fn update(pool: &PgPool, sql: &str, id: Uuid) {
    sqlx::query(sql).bind(id).execute(pool).await.unwrap();
}

async fn generation(pool: &PgPool, id: Uuid) -> i64 {
    sqlx::query_scalar("SELECT generation FROM connections WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn is_due(pool: &PgPool, id: Uuid) -> bool {
    sqlx::query_scalar(
        "SELECT coalesce(due_at <= now(), false) FROM connection_due WHERE connection_id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test]
async fn the_index_follows_every_step_of_a_connections_life(pool: PgPool) {
    let id = insert(&pool, "acme", URL).await.unwrap();
    assert!(is_due(&pool, id).await, "a new connection is due at once");
    assert_index_agrees(&pool).await;

    // A pass claims it, writes its status mid-pass, and gives it back: settled for an hour.
    assert_eq!(claim_as(&pool, "a").await, vec![id]);
    assert!(claim_as(&pool, "b").await.is_empty(), "held");
    write_status(&pool, id, generation(&pool, id).await, 3600.0).await;
    assert!(!is_due(&pool, id).await, "held by a live pass");
    assert_index_agrees(&pool).await;
    let epoch: i64 =
        sqlx::query_scalar("SELECT epoch FROM connection_leases WHERE connection_id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        claim::release(&pool, "a", id, epoch, Duration::ZERO)
            .await
            .unwrap()
    );
    assert!(!is_due(&pool, id).await, "settled: nothing due for an hour");
    assert!(claim_as(&pool, "b").await.is_empty());
    assert_index_agrees(&pool).await;

    // The product changes the desired state: due at once.
    update(
        &pool,
        "UPDATE connections SET enabled = NOT enabled WHERE id = $1",
        id,
    )
    .await;
    assert!(is_due(&pool, id).await);
    assert_index_agrees(&pool).await;
    write_status(&pool, id, generation(&pool, id).await, 3600.0).await;
    assert!(!is_due(&pool, id).await);

    // A token in the inbox: due at once.
    update(
        &pool,
        "UPDATE connections SET admin_refresh_token = 'token' WHERE id = $1",
        id,
    )
    .await;
    assert!(is_due(&pool, id).await);
    assert_index_agrees(&pool).await;
    update(
        &pool,
        "UPDATE connections SET admin_refresh_token = NULL WHERE id = $1",
        id,
    )
    .await;
    write_status(&pool, id, generation(&pool, id).await, 3600.0).await;
    assert!(!is_due(&pool, id).await);

    // A retry due in the past, then a released lease that cools down.
    write_status(&pool, id, generation(&pool, id).await, -1.0).await;
    assert!(is_due(&pool, id).await);
    assert_eq!(claim_as(&pool, "b").await, vec![id]);
    let epoch = epoch + 1;
    assert!(
        claim::release(&pool, "b", id, epoch, Duration::from_secs(60))
            .await
            .unwrap()
    );
    assert!(!is_due(&pool, id).await, "cooling down");
    assert!(claim_as(&pool, "c").await.is_empty());
    assert_index_agrees(&pool).await;
}

#[sqlx::test]
async fn a_holder_that_stops_after_writing_its_status_is_taken_over_when_its_lease_lapses(
    pool: PgPool,
) {
    let id = insert(&pool, "acme", URL).await.unwrap();
    let request = ClaimRequest {
        owner: "a",
        limit: 1,
        expiry: Duration::from_secs(1),
        in_flight: &[],
        throttled: &[],
    };
    assert_eq!(claim::claim(&pool, &request).await.unwrap().len(), 1);
    write_status(&pool, id, generation(&pool, id).await, 3600.0).await;
    assert!(claim_as(&pool, "b").await.is_empty(), "held");
    // "a" dies without releasing; its lease lapses.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_index_agrees(&pool).await;
    assert_eq!(claim_as(&pool, "b").await, vec![id], "taken over");
}

/// The product's change and the daemon's status write race, in both orders; the change must
/// leave the connection due either way.
#[sqlx::test]
async fn a_change_made_while_a_pass_writes_its_status_is_never_lost(pool: PgPool) {
    for product_first in [true, false] {
        let id = insert(&pool, &format!("t{product_first}"), URL)
            .await
            .unwrap();
        let seen = generation(&pool, id).await;
        write_status(&pool, id, seen, 3600.0).await;
        assert!(!is_due(&pool, id).await);

        let mut first = pool.begin().await.unwrap();
        let second = if product_first {
            sqlx::query("UPDATE connections SET enabled = NOT enabled WHERE id = $1")
                .bind(id)
                .execute(&mut *first)
                .await
                .unwrap();
            let pool = pool.clone();
            tokio::spawn(async move { write_status(&pool, id, seen, 3600.0).await })
        } else {
            sqlx::query(
                "UPDATE connection_status SET observed_generation = $2,
                        next_attempt_at = now() + interval '1 hour' WHERE connection_id = $1",
            )
            .bind(id)
            .bind(seen)
            .execute(&mut *first)
            .await
            .unwrap();
            let pool = pool.clone();
            tokio::spawn(async move {
                update(
                    &pool,
                    "UPDATE connections SET enabled = NOT enabled WHERE id = $1",
                    id,
                )
                .await;
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            !second.is_finished(),
            "the second writer waits for the first"
        );
        first.commit().await.unwrap();
        second.await.unwrap();

        assert!(generation(&pool, id).await > seen);
        assert!(is_due(&pool, id).await, "product first: {product_first}");
        assert_index_agrees(&pool).await;
    }
}

#[sqlx::test]
async fn changes_go_first_the_most_recent_first_then_the_longest_overdue(pool: PgPool) {
    let mut ids = Vec::new();
    for tenant in ["retry-late", "retry-early", "changed-first", "changed-last"] {
        let id = insert(&pool, tenant, URL).await.unwrap();
        write_status(&pool, id, generation(&pool, id).await, 3600.0).await;
        ids.push(id);
    }
    let [retry_late, retry_early, changed_first, changed_last] = ids[..] else {
        unreachable!()
    };
    write_status(
        &pool,
        retry_late,
        generation(&pool, retry_late).await,
        -10.0,
    )
    .await;
    write_status(
        &pool,
        retry_early,
        generation(&pool, retry_early).await,
        -20.0,
    )
    .await;
    for id in [changed_first, changed_last] {
        update(
            &pool,
            "UPDATE connections SET enabled = NOT enabled WHERE id = $1",
            id,
        )
        .await;
    }

    let mut order = Vec::new();
    for _ in 0..4 {
        let request = ClaimRequest {
            owner: "a",
            limit: 1,
            expiry: EXPIRY,
            in_flight: &[],
            throttled: &[],
        };
        let claimed = claim::claim(&pool, &request).await.unwrap();
        order.extend(claimed.into_iter().map(|c| c.id));
    }
    assert_eq!(
        order,
        vec![changed_last, changed_first, retry_early, retry_late]
    );
}
