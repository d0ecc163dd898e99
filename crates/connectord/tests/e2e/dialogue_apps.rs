//! Reading External Client Apps without depending on SOQL (issue 21 item 4): the Object
//! Reference lists `ExternalClientApplication` as internal, query() not among its calls. An
//! org that answers `INVALID_TYPE` to the query is served through the documented Connect REST
//! resources (`/apps/oauth/credentials/{appId}`, `/apps/oauth/usage`), for the whole life of a
//! connection, teardown included.

use connectord::reconcile::Outcome;
use connectord::store::{self, Phase};
use connectord_sim::SimulatorConfig;
use sqlx::PgPool;
use uuid::Uuid;

use crate::lifecycle::{assert_exactly_one_connection, assert_nothing_left};
use crate::support::World;

const FIELDS: [&str; 2] = ["Account.Industry", "Contact.Email"];

async fn ready(world: &World, id: Uuid) {
    let outcome = world.converge(id).await;
    assert_eq!(
        outcome,
        Outcome::Settled(Phase::Ready),
        "{}",
        world.trail(id).await
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn an_org_that_refuses_soql_on_external_client_apps_still_gets_a_full_lifecycle(
    pool: PgPool,
) {
    let mut config = SimulatorConfig::with_orgs(1);
    config.orgs[0].eca_soql = false;
    let world = World::start(pool, config).await;
    let org = world.org("org1");
    let id = world.add("noeca", &org, &FIELDS, true).await;

    // Turn on, and a settled pass after it.
    ready(&world, id).await;
    ready(&world, id).await;
    assert_exactly_one_connection(&org, &FIELDS);

    // Someone deletes the app: the pass sees it gone (the credentials resource answers 404,
    // the usage list does not name it) and deploys it again.
    let app = world.status(id).await.connected_app_id.expect("an app id");
    org.admin_delete("ExternalClientApplication", &app).unwrap();
    org.reset_api_calls();
    ready(&world, id).await;
    let calls = org.api_calls();
    assert!(calls.get("oauth_usage") >= 1, "{calls:?}");
    assert!(world.trail(id).await.contains("drift_found"));
    assert_exactly_one_connection(&org, &FIELDS);

    // A change of fields (make before break), then turning off (teardown).
    let wider = ["Account.Name", "Account.Industry", "Contact.Email"];
    store::set_fields(&world.pool, id, &wider.map(String::from))
        .await
        .unwrap();
    ready(&world, id).await;
    assert_exactly_one_connection(&org, &wider);
    store::set_enabled(&world.pool, id, false).await.unwrap();
    assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Disabled));
    assert_nothing_left(&org);

    // The refusal was taken once and remembered for the org, not asked again every pass.
    assert_eq!(org.eca_soql_refusals(), 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn an_org_that_answers_the_app_query_is_never_sent_to_the_usage_list(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("eca", &org, &FIELDS, true).await;
    ready(&world, id).await;
    let app = world.status(id).await.connected_app_id.expect("an app id");
    org.admin_delete("ExternalClientApplication", &app).unwrap();
    org.reset_api_calls();
    ready(&world, id).await;
    assert_eq!(org.api_calls().get("oauth_usage"), 0);
    assert_eq!(org.eca_soql_refusals(), 0);
}

/// Issue 21 item 6: Read Contact needs Read Account. A connection that names only Contact
/// fields is granted object Read on Account too (no Account field), and the org accepts it.
#[sqlx::test(migrations = "./migrations")]
async fn contact_fields_alone_are_granted_with_read_on_account_which_salesforce_requires(
    pool: PgPool,
) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("contacts", &org, &["Contact.Email"], true).await;
    ready(&world, id).await;
    let status = world.status(id).await;
    let ps = status.permission_set_id.expect("a permission set");
    let snap = org.snapshot();
    let objects: Vec<String> = snap.objects_granted(&ps).into_iter().collect();
    assert_eq!(objects, ["Account", "Contact"]);
    let fields: Vec<String> = snap.fields_granted(&ps).into_iter().collect();
    assert_eq!(fields, ["Contact.Email"]);
}
