//! Member account mapping end to end: the reconciler maps members after a pass settles
//! `ready`, reading the org's users through the connection's own app; the command line maps,
//! removes, imports and exports by hand.

use connectord::reconcile::Outcome;
use connectord::store::Phase;
use connectord_sim::OrgHandle;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::commands::command;
use crate::support::World;

mod automatic;
mod by_hand;

/// Runs the binary quietly (warnings only on stderr).
async fn run(world: &World, args: &[&str]) -> std::process::Output {
    command(world, args)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("connectord runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn add_member(
    pool: &PgPool,
    tenant: &str,
    member: &str,
    email: Option<&str>,
    nid: Option<&str>,
) {
    sqlx::query(
        "INSERT INTO tenant_members (tenant_id, member_id, email, saml_name_id) VALUES ($1, $2, $3, $4)",
    )
    .bind(tenant)
    .bind(member)
    .bind(email)
    .bind(nid)
    .execute(pool)
    .await
    .expect("member inserted");
}

/// The connection's mappings as (member, username, method), by member.
async fn mappings(pool: &PgPool, id: Uuid) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "SELECT member_id, salesforce_username, method FROM member_mappings
          WHERE connection_id = $1 ORDER BY member_id",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .expect("mappings read")
}

fn row(member: &str, username: &str, method: &str) -> (String, String, String) {
    (member.into(), username.into(), method.into())
}

/// Adds an active standard user to the org; answers its id.
fn add_user(
    org: &OrgHandle,
    first: &str,
    username: &str,
    email: &str,
    fed: Option<&str>,
) -> String {
    let profile = org
        .snapshot()
        .users
        .iter()
        .find(|u| u.profile_name == "Standard User")
        .expect("a standard user")
        .profile_id
        .clone();
    org.admin_create(
        "User",
        json!({
            "Username": username, "FirstName": first, "LastName": "Added", "Email": email,
            "Alias": first.chars().take(8).collect::<String>().to_lowercase(),
            "ProfileId": profile, "TimeZoneSidKey": "America/Los_Angeles",
            "LocaleSidKey": "en_US", "EmailEncodingKey": "UTF-8", "LanguageLocaleKey": "en_US",
            "FederationIdentifier": fed,
        }),
    )
    .expect("user created")
}

async fn ready(world: &World, id: Uuid) {
    let outcome = world.converge(id).await;
    assert_eq!(
        outcome,
        Outcome::Settled(Phase::Ready),
        "{}",
        world.trail(id).await
    );
}

/// A second pass on a ready connection (what the periodic resync does).
async fn resync(world: &World, id: Uuid) {
    let outcome = world
        .reconciler
        .reconcile_once(id)
        .await
        .expect("pass runs");
    assert_eq!(outcome, Outcome::Settled(Phase::Ready));
}
