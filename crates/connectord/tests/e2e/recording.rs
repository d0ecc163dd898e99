//! Recording on (`CONNECTORD__SALESFORCE__RECORD_DIR`) through whole lifecycles: every
//! exchange is on disk, and none of them holds a secret or a person the test knows of.

use connectord::reconcile::{Outcome, record};
use connectord::secrets::Purpose;
use connectord::store::{self, Phase};
use connectord_sim::SimulatorConfig;
use secrecy::ExposeSecret as _;
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::World;

/// Converges to ready and returns the connection's consumer key and secret.
async fn ready(world: &World, id: Uuid) -> [String; 2] {
    let outcome = world.converge(id).await;
    assert_eq!(
        outcome,
        Outcome::Settled(Phase::Ready),
        "{}",
        world.trail(id).await
    );
    let (key, sealed) = record::active_credentials(&world.pool, id)
        .await
        .unwrap()
        .expect("credentials of a ready connection");
    let secret = world
        .reconciler
        .sealer
        .open(id, Purpose::ConsumerSecret, &sealed)
        .unwrap();
    [key, secret.expose_secret().to_owned()]
}

#[sqlx::test(migrations = "./migrations")]
async fn recordings_of_full_lifecycles_hold_no_secret_and_no_person(pool: PgPool) {
    let dir = tempfile::tempdir().unwrap();
    let dir_text = dir.path().to_str().unwrap().to_owned();
    let world = World::start_with(
        pool,
        SimulatorConfig::with_orgs(1),
        &[("CONNECTORD__SALESFORCE__RECORD_DIR", &dir_text)],
    )
    .await;
    let mut secrets = vec![world.simulator.client_secret(), world.simulator.client_id()];
    let org = world.org("org1");
    secrets.push(org.admin_refresh_token());
    // Access tokens are the org id's first 15 characters, `!`, then random text.
    let token_prefix = format!("{}!", &org.org_id()[..15]);
    let id = world
        .add("acme", &org, &["Account.Name", "Contact.Email"], true)
        .await;
    secrets.extend(ready(&world, id).await);
    store::request_reconnect(&world.pool, id).await.unwrap();
    secrets.extend(ready(&world, id).await);
    org.faults().revoke_sessions();
    secrets.extend(ready(&world, id).await);
    let mut people = Vec::new();
    let users = org.snapshot().users;
    assert!(
        users.iter().any(|u| u.username.contains("connectord")),
        "an integration user"
    );
    for user in &users {
        people.extend([user.username.clone(), user.email.clone()]);
        match &user.first_name {
            Some(first) => people.push(format!("{first} {}", user.last_name)),
            None => people.push(user.last_name.clone()),
        }
    }
    store::set_enabled(&world.pool, id, false).await.unwrap();
    assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Disabled));

    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    // Every kind of exchange was recorded, in order, one file each.
    assert!(names.len() > 20, "{names:?}");
    assert!(names[0].starts_with("0001-POST-oauth2_token"), "{names:?}");
    // (The proof reads every required field in one Composite; the versions list is `GET-root`.)
    for kind in [
        "GET-root",
        "POST-composite",
        "POST-metadata_deployRequest",
        "GET-apps_oauth_credentials",
    ] {
        assert!(
            names.iter().any(|n| n.contains(kind)),
            "no {kind} in {names:?}"
        );
    }
    let mut everything = String::new();
    for name in &names {
        let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
        let exchange: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(exchange["request"]["method"].is_string(), "{name}: {text}");
        assert!(exchange["response"]["status"].is_u64(), "{name}: {text}");
        everything.push_str(&text);
    }
    assert!(everything.contains("[REDACTED]"));
    assert!(
        everything.contains("@example.invalid"),
        "people are masked, not dropped"
    );
    for secret in &secrets {
        assert!(secret.len() >= 16, "a real secret: {}", secret.len());
        assert!(
            !everything.contains(secret.as_str()),
            "a secret of {} characters is in a recording",
            secret.len()
        );
    }
    assert!(
        !everything.contains(&token_prefix),
        "an access token is in a recording"
    );
    for person in &people {
        assert!(
            !everything.contains(person.as_str()),
            "{person} is in a recording"
        );
    }
}
