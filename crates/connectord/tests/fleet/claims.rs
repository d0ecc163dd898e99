//! Claiming work with leases, statement by statement, as several replicas would.

use std::collections::HashSet;
use std::time::Duration;

use connectord::daemon::claim::{self, ClaimRequest, Claimed};
use connectord_sim::SimulatorConfig;
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::World;

const EXPIRY: Duration = Duration::from_secs(30);

async fn claim_as(pool: &PgPool, owner: &str, limit: i64, throttled: &[String]) -> Vec<Claimed> {
    let request = ClaimRequest {
        owner,
        limit,
        expiry: EXPIRY,
        in_flight: &[],
        throttled,
    };
    claim::claim(pool, &request).await.expect("claim")
}

#[sqlx::test]
async fn replicas_claiming_at_the_same_moment_never_get_the_same_connection(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    for n in 0..40 {
        world.add(&format!("t{n}"), &org, &[], true).await;
    }

    let claims = futures::future::join_all(
        ["a", "b", "c", "d"].map(|owner| claim_as(&world.pool, owner, 15, &[])),
    )
    .await;

    let mut seen = HashSet::new();
    for claimed in claims.iter().flatten() {
        assert!(seen.insert(claimed.id), "{} claimed twice", claimed.id);
        assert_eq!(claimed.took_over_from, None);
    }
    let rest = claim_as(&world.pool, "e", 100, &[]).await;
    assert_eq!(seen.len() + rest.len(), 40);
    assert!(rest.iter().all(|c| !seen.contains(&c.id)));
    assert!(claim_as(&world.pool, "f", 100, &[]).await.is_empty());
}

#[sqlx::test]
async fn an_expired_lease_is_taken_over_and_its_old_holder_loses_it(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let id = world.add("acme", &world.org("org1"), &[], true).await;
    let first = claim_as(&world.pool, "a", 10, &[]).await;
    assert_eq!(first.len(), 1);
    let kept = claim::heartbeat(&world.pool, "a", &[(id, first[0].epoch)], EXPIRY)
        .await
        .unwrap();
    assert_eq!(kept, vec![id]);
    assert!(claim_as(&world.pool, "b", 10, &[]).await.is_empty(), "held");

    sqlx::query("UPDATE connection_leases SET expires_at = now() - interval '1 second'")
        .execute(&world.pool)
        .await
        .unwrap();
    let second = claim_as(&world.pool, "b", 10, &[]).await;

    assert_eq!(second.len(), 1);
    assert_eq!(second[0].took_over_from.as_deref(), Some("a"));
    assert_eq!(second[0].epoch, first[0].epoch + 1);
    let lost = claim::heartbeat(&world.pool, "a", &[(id, first[0].epoch)], EXPIRY)
        .await
        .unwrap();
    assert!(lost.is_empty());
    assert!(
        !claim::release(&world.pool, "a", id, first[0].epoch, Duration::ZERO)
            .await
            .unwrap()
    );
    assert!(
        claim::release(&world.pool, "b", id, second[0].epoch, Duration::ZERO)
            .await
            .unwrap()
    );
    let history: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT owner, ended FROM connection_lease_history WHERE connection_id = $1 ORDER BY epoch",
    )
    .bind(id)
    .fetch_all(&world.pool)
    .await
    .unwrap();
    assert_eq!(
        history,
        vec![
            ("a".to_owned(), Some("expired".to_owned())),
            ("b".to_owned(), Some("released".to_owned()))
        ]
    );
}

#[sqlx::test]
async fn an_org_near_its_api_allowance_only_gets_turning_off(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(2)).await;
    let busy = world.org("org1");
    let turn_on = world.add("on", &busy, &[], true).await;
    let turn_off = world.add("off", &busy, &[], false).await;
    let elsewhere = world.add("other", &world.org("org2"), &[], true).await;
    let origin = busy.instance_url().origin().ascii_serialization();

    let claimed: HashSet<Uuid> = claim_as(&world.pool, "a", 10, &[origin])
        .await
        .into_iter()
        .map(|c| c.id)
        .collect();

    assert_eq!(claimed, HashSet::from([turn_off, elsewhere]));
    let later = claim_as(&world.pool, "a", 10, &[]).await;
    assert_eq!(
        later.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![turn_on]
    );
}

#[sqlx::test]
async fn a_released_connection_is_not_claimed_again_until_its_cool_down_ends(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let id = world.add("acme", &world.org("org1"), &[], true).await;
    let first = claim_as(&world.pool, "a", 10, &[]).await;
    claim::release(
        &world.pool,
        "a",
        id,
        first[0].epoch,
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    assert!(claim_as(&world.pool, "b", 10, &[]).await.is_empty());
    sqlx::query("UPDATE connection_leases SET expires_at = now()")
        .execute(&world.pool)
        .await
        .unwrap();
    let again = claim_as(&world.pool, "b", 10, &[]).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].took_over_from, None, "a release is not a takeover");
}
