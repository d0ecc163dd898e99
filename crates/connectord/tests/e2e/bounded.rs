//! Bounded work (security review, issue 14 item 9): backoff from the database's clock, deploy
//! wait limits with cancellation, Salesforce asking to slow down, creates whose answer was lost.

use connectord::error_code::ErrorCode;
use connectord::reconcile::Outcome;
use connectord::store::Phase;
use connectord_sim::SimulatorConfig;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::support::World;

const FIELDS: [&str; 1] = ["Account.Name"];

/// A pool on the same database whose `now()` runs an hour ahead of this process's clock: what
/// a replica whose clock is an hour behind the database sees.
async fn pool_with_database_clock_ahead(pool: &PgPool) -> PgPool {
    sqlx::query("CREATE SCHEMA IF NOT EXISTS skew")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query(
        "CREATE OR REPLACE FUNCTION skew.now() RETURNS timestamptz LANGUAGE sql STABLE
           AS $$ SELECT pg_catalog.now() + interval '1 hour' $$",
    )
    .execute(pool)
    .await
    .unwrap();
    // pg_catalog named last: skew.now() is found before pg_catalog.now().
    let options: PgConnectOptions = (*pool.connect_options())
        .clone()
        .options([("search_path", "public,skew,pg_catalog")]);
    PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn a_replica_whose_clock_is_behind_the_database_keeps_its_backoff(pool: PgPool) {
    let skewed = pool_with_database_clock_ahead(&pool).await;
    let world = World::start(skewed.clone(), SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &FIELDS, true).await;
    org.faults().exhaust_api_allowance();

    let outcome = world.reconciler.reconcile_once(id).await.unwrap();

    assert!(
        matches!(
            outcome,
            Outcome::Failed {
                code: ErrorCode::ApiLimitExceeded,
                ..
            }
        ),
        "{outcome:?}"
    );
    let (waits, skew_seen): (bool, bool) = sqlx::query_as(
        "SELECT s.next_attempt_at > now(), now() > pg_catalog.now() + interval '59 minutes'
           FROM connection_status s WHERE s.connection_id = $1",
    )
    .bind(id)
    .fetch_one(&skewed)
    .await
    .unwrap();
    assert!(skew_seen, "the test pool's now() is an hour ahead");
    assert!(
        waits,
        "next_attempt_at must lie after the database's now(), not after the replica's clock"
    );
    assert_eq!(world.phase(id).await, Some(Phase::Failed));
}

/// Seconds from the database's now() to the connection's next attempt.
async fn seconds_until_next_attempt(world: &World, id: uuid::Uuid) -> f64 {
    sqlx::query_scalar(
        "SELECT extract(epoch FROM s.next_attempt_at - now())::float8
           FROM connection_status s WHERE s.connection_id = $1",
    )
    .bind(id)
    .fetch_one(&world.pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn a_hung_deploy_is_cancelled_at_its_wait_limit_and_not_retried_a_second_later(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &FIELDS, true).await;
    org.faults().set_deploys_hang(true);

    let outcome = world.reconciler.reconcile_once(id).await.unwrap();

    assert!(
        matches!(
            outcome,
            Outcome::Failed {
                code: ErrorCode::DeployTimedOut,
                phase: Phase::Failed
            }
        ),
        "{outcome:?}\n{}",
        world.trail(id).await
    );
    assert_eq!(
        org.api_calls().get("deploy_cancel"),
        1,
        "one cancel request"
    );
    let status = world.status(id).await;
    assert_eq!(status.error_code.as_deref(), Some("deploy_timed_out"));
    let message = status.error_message.unwrap_or_default();
    assert!(message.contains("was cancelled"), "{message}");
    let wait = seconds_until_next_attempt(&world, id).await;
    assert!(
        wait >= 5.0 * 60.0 - 5.0,
        "retried after {wait} s, not at once"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn an_org_with_more_users_than_the_mapping_cap_is_not_read_to_the_end_and_stays_ready(
    pool: PgPool,
) {
    let cap = [("CONNECTORD__RECONCILER__MAPPING_MAX_USERS", "2")];
    let world = World::start_with(pool.clone(), SimulatorConfig::with_orgs(1), &cap).await;
    let org = world.org("org1");
    sqlx::query("INSERT INTO tenant_members (tenant_id, member_id, email) VALUES ($1, $2, $3)")
        .bind("acme")
        .bind("m-alice")
        .bind("alice@org1.example.com")
        .execute(&pool)
        .await
        .unwrap();
    let id = world.add("acme", &org, &FIELDS, true).await;

    // The pass settles ready; mapping stops with its own code and a remedy.
    assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Ready));
    let trail = world.trail(id).await;
    let failed = trail
        .lines()
        .find(|l| l.starts_with("member_mapping failed"))
        .unwrap_or_else(|| panic!("no member_mapping failure in\n{trail}"));
    assert!(
        failed.contains(r#""error_code":"mapping_too_many_users""#)
            && failed.contains("mapping_max_users"),
        "{failed}"
    );
    let mapped: i64 =
        sqlx::query_scalar("SELECT count(*) FROM member_mappings WHERE connection_id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(mapped, 0);

    // One page of users is read, not every page.
    org.set_query_page_size(1);
    org.reset_api_calls();
    let r = &world.reconciler;
    let result = connectord::mapping::sync(&pool, &r.salesforce, &r.sealer, id, 2).await;
    assert!(
        matches!(
            result,
            Err(connectord::mapping::MappingError::TooManyUsers { .. })
        ),
        "{result:?}"
    );
    assert_eq!(org.api_calls().get("query"), 1, "pages read");
}

#[sqlx::test(migrations = "./migrations")]
async fn a_user_create_whose_answer_was_lost_is_not_sent_again_and_the_user_is_adopted(
    pool: PgPool,
) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &FIELDS, true).await;
    // The composite that creates the integration user is applied; its answer never arrives.
    org.faults().lose_answer_after_applying(r#"sobjects/User""#);

    let first = world.reconciler.reconcile_once(id).await.unwrap();

    assert!(
        matches!(
            first,
            Outcome::Failed {
                code: ErrorCode::SalesforceUnavailable,
                ..
            }
        ),
        "{first:?}\n{}",
        world.trail(id).await
    );
    assert_eq!(org.faults().sent_again_after_lost_answer(), 0, "not resent");
    assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Ready));
    assert_eq!(
        org.faults().sent_again_after_lost_answer(),
        0,
        "the next pass adopted the user by name rather than creating it again"
    );
    let snapshot = org.snapshot();
    let username = world.status(id).await.integration_username.unwrap();
    let users = snapshot
        .users
        .iter()
        .filter(|u| u.username == username)
        .count();
    assert_eq!(users, 1, "one integration user");
    assert_eq!(snapshot.active_integration_users().len(), 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn the_concurrent_request_limit_is_a_short_retry_and_not_the_daily_allowance(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &FIELDS, true).await;
    org.faults().refuse_concurrent_requests(1);

    let first = world.reconciler.reconcile_once(id).await.unwrap();

    assert!(
        matches!(
            first,
            Outcome::Failed {
                code: ErrorCode::SalesforceUnavailable,
                phase: Phase::Failed
            }
        ),
        "{first:?}\n{}",
        world.trail(id).await
    );
    let status = world.status(id).await;
    assert_ne!(status.error_code.as_deref(), Some("api_limit_exceeded"));
    let wait = seconds_until_next_attempt(&world, id).await;
    assert!(wait < 5.0, "a short retry, not hours: {wait} s");
    assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Ready));
}
