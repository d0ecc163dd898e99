//! Token vending (issue 14, item 2): `connectord token ID --tenant T` and the daemon's vendor
//! behind it refuse every connection that is not the tenant's own, enabled and ready with a
//! verified set, without a Salesforce call; they serve a second request from the cache, and a
//! cached token never outlives the authorisation it was minted under.

use connectord::store;
use connectord::vend::{VendError, Vended, Vendor};
use connectord_sim::{OrgHandle, SimulatorConfig};
use sqlx::PgPool;
use uuid::Uuid;

use crate::commands::connectord;
use crate::support::{World, settings_with};

/// The vendor the daemon would build for this world, with `extra` settings.
pub(crate) fn vendor(world: &World, extra: &[(&str, &str)]) -> Vendor {
    let settings = settings_with(&world.simulator, &world.key, extra);
    Vendor::new(
        world.pool.clone(),
        world.reconciler.salesforce.clone(),
        world.reconciler.sealer.clone(),
        settings.vending,
    )
}

/// `tenant`'s connection to `org`, converged to `ready`.
pub(crate) async fn ready(world: &World, tenant: &str, org: &OrgHandle) -> Uuid {
    let id = world.add(tenant, org, &["Account.Name"], true).await;
    world.converge(id).await;
    assert_eq!(world.phase(id).await, Some(store::Phase::Ready));
    id
}

/// Token requests the org has answered so far (admin and app grants alike).
pub(crate) fn minted(org: &OrgHandle) -> u64 {
    org.api_calls().get("token")
}

fn secret(token: &Vended) -> String {
    use secrecy::ExposeSecret as _;
    token.access_token.expose_secret().to_owned()
}

async fn refused(vendor: &Vendor, id: Uuid, tenant: &str) {
    match vendor.token(id, tenant).await {
        Err(VendError::NotAvailable { .. }) => {}
        other => panic!("expected token_not_available, got {other:?}"),
    }
}

#[sqlx::test]
async fn another_tenants_id_is_refused_exactly_like_an_unknown_id_without_a_salesforce_call(
    pool: PgPool,
) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = ready(&world, "acme", &org).await;
    let before = minted(&org);

    let theirs = connectord(&world, &["token", &id.to_string(), "--tenant", "globex"]).await;
    let unknown = Uuid::new_v4();
    let none = connectord(
        &world,
        &["token", &unknown.to_string(), "--tenant", "globex"],
    )
    .await;

    for out in [&theirs, &none] {
        assert_eq!(out.status.code(), Some(1));
        assert!(out.stdout.is_empty(), "nothing printed");
    }
    let last_line = |out: &std::process::Output| {
        let text = String::from_utf8_lossy(&out.stderr).to_string();
        text.lines().last().unwrap_or_default().to_owned()
    };
    let theirs = last_line(&theirs);
    assert!(theirs.contains("token_not_available"), "{theirs}");
    assert_eq!(
        theirs.replace(&id.to_string(), "ID"),
        last_line(&none).replace(&unknown.to_string(), "ID"),
        "the refusal does not tell an existing id from an unknown one"
    );
    assert_eq!(minted(&org), before, "no Salesforce call was made");
}

#[sqlx::test]
async fn a_connection_turned_off_is_refused_at_once_even_with_a_cached_token(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = ready(&world, "acme", &org).await;
    let vendor = vendor(&world, &[]);
    vendor.token(id, "acme").await.expect("a token while ready");
    let before = minted(&org);

    // Only the row changes: no pass has run, nothing is torn down yet.
    store::set_enabled(&world.pool, id, false).await.unwrap();
    refused(&vendor, id, "acme").await;
    // Turned on again but not yet reconciled: a stale generation is refused too.
    store::set_enabled(&world.pool, id, true).await.unwrap();
    refused(&vendor, id, "acme").await;

    assert_eq!(minted(&org), before, "no Salesforce call was made");
}

#[sqlx::test]
async fn a_connection_not_yet_ready_or_at_a_stale_generation_is_refused(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let vendor = vendor(&world, &[]);
    let id = world.add("acme", &org, &["Account.Name"], true).await;
    refused(&vendor, id, "acme").await;
    world.converge(id).await;
    let fields = vec!["Account.Name".to_owned(), "Account.Industry".to_owned()];
    store::set_fields(&world.pool, id, &fields).await.unwrap();
    let before = minted(&org);

    refused(&vendor, id, "acme").await;

    assert_eq!(minted(&org), before, "no Salesforce call was made");
}

#[sqlx::test]
async fn an_active_set_that_was_never_verified_gets_no_token(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = ready(&world, "acme", &org).await;
    sqlx::query(
        "UPDATE component_sets SET state = jsonb_set(state, '{verified}', 'false')
          WHERE connection_id = $1",
    )
    .bind(id)
    .execute(&world.pool)
    .await
    .unwrap();
    let before = minted(&org);

    refused(&vendor(&world, &[]), id, "acme").await;

    assert_eq!(minted(&org), before, "no Salesforce call was made");
}

#[sqlx::test]
async fn a_second_request_is_served_from_the_cache_without_a_salesforce_call(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = ready(&world, "acme", &org).await;
    let vendor = vendor(&world, &[]);
    let before = minted(&org);

    let first = vendor.token(id, "acme").await.expect("first token");
    let second = vendor.token(id, "acme").await.expect("second token");

    assert_eq!(minted(&org), before + 1, "one token request for two calls");
    assert_eq!(secret(&first), secret(&second));
    assert_eq!(first.expires_at, second.expires_at);
    let issued: i64 = first.issued_at.as_deref().unwrap().parse().unwrap();
    let lifetime = first.expires_at.timestamp_millis() - issued;
    assert!(
        lifetime <= 15 * 60 * 1000 && lifetime > 14 * 60 * 1000,
        "expires_at is issued_at plus the default 15m: {lifetime} ms"
    );
}

#[sqlx::test]
async fn a_token_within_the_refresh_margin_of_expiring_is_minted_again(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = ready(&world, "acme", &org).await;
    let extra = [
        ("CONNECTORD__VENDING__TOKEN_LIFETIME", "60s"),
        ("CONNECTORD__VENDING__REFRESH_MARGIN", "60s"),
    ];
    let vendor = vendor(&world, &extra);
    let before = minted(&org);

    vendor.token(id, "acme").await.expect("first token");
    vendor.token(id, "acme").await.expect("second token");

    assert_eq!(minted(&org), before + 2, "never served within the margin");
}

#[sqlx::test]
async fn a_recreated_set_never_gets_the_token_cached_for_the_old_one(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = ready(&world, "acme", &org).await;
    let vendor = vendor(&world, &[]);
    let old = vendor.token(id, "acme").await.expect("a token");

    // No request in between (a refusal would drop the cached token): only the grant check
    // stands between the old set's token and the new set.
    store::request_reconnect(&world.pool, id).await.unwrap();
    world.converge(id).await;
    assert_eq!(world.phase(id).await, Some(store::Phase::Ready));
    let before = minted(&org);
    let new = vendor
        .token(id, "acme")
        .await
        .expect("a token for the new set");

    assert_eq!(minted(&org), before + 1, "minted for the new set");
    assert_ne!(secret(&old), secret(&new));
}

#[sqlx::test]
async fn a_re_parented_connection_never_gets_the_token_cached_for_its_old_tenant(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = ready(&world, "acme", &org).await;
    let vendor = vendor(&world, &[]);
    let acmes = vendor.token(id, "acme").await.expect("a token");

    // Re-parented behind every trigger's back (no generation bump, no immutability rule):
    // only the cache's own check stands between the old token and the new tenant.
    let mut tx = world.pool.begin().await.unwrap();
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE connections SET tenant_id = 'globex' WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let globexs = vendor.token(id, "globex").await.expect("minted anew");
    assert_ne!(secret(&acmes), secret(&globexs));
    refused(&vendor, id, "acme").await;
}
