use std::time::Duration;

use connectord_sim::{OrgConfig, Simulator, SimulatorConfig};
use serde_json::{Value, json};

use crate::helpers::*;

async fn token_call(http: &reqwest::Client, base: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let response = http
        .post(format!("{base}services/oauth2/token"))
        .form(form)
        .send()
        .await
        .expect("sent");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_refresh_token_grant_answers_every_documented_field() {
    let env = start().await;
    let token = env.org.admin_refresh_token();
    let (status, body) = token_call(
        &env.http,
        env.org.instance_url().as_str(),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &token),
            ("client_id", "connectord-sim-client"),
            ("client_secret", "connectord-sim-secret"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    for field in [
        "access_token",
        "signature",
        "scope",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
    ] {
        assert!(body[field].is_string(), "{field} missing in {body}");
    }
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(
        body["instance_url"],
        env.org.instance_url().as_str().trim_end_matches('/')
    );
    assert!(
        body["id"].as_str().unwrap_or_default().ends_with(
            &env.org
                .snapshot()
                .user("admin@acme.example.com")
                .map(|u| u.id.clone())
                .unwrap_or_default()
        )
    );
}

#[tokio::test]
async fn an_unknown_refresh_token_is_an_invalid_grant() {
    let env = start().await;
    let (status, body) = token_call(
        &env.http,
        env.org.instance_url().as_str(),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "nope"),
            ("client_id", "connectord-sim-client"),
            ("client_secret", "connectord-sim-secret"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "expired access/refresh token"})
    );
}

#[tokio::test]
async fn a_wrong_client_is_refused_with_the_real_bodies() {
    let env = start().await;
    let token = env.org.admin_refresh_token();
    let base = env.org.instance_url().to_string();
    let (status, body) = token_call(
        &env.http,
        &base,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &token),
            ("client_id", "someone-else"),
            ("client_secret", "connectord-sim-secret"),
        ],
    )
    .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"error": "invalid_client_id", "error_description": "client identifier invalid"})
        )
    );
    let (status, body) = token_call(
        &env.http,
        &base,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &token),
            ("client_id", "connectord-sim-client"),
            ("client_secret", "wrong"),
        ],
    )
    .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"error": "invalid_client", "error_description": "invalid client credentials"})
        )
    );
}

#[tokio::test]
async fn an_expired_access_token_answers_invalid_session_id() {
    let mut config = OrgConfig::named("acme");
    config.access_token_ttl = Duration::ZERO;
    let env = start_with(vec![config]).await;
    let (status, body) = env.get("limits").await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    );
}

#[tokio::test]
async fn the_login_endpoint_follows_a_my_domain_rename() {
    let env = start().await;
    let old = env.org.instance_url();
    let new = env.org.rename("acme-renamed").await.expect("renamed");
    assert_ne!(old, new);
    // The old host redirects, as Salesforce's previous My Domain hosts do (301 or 307).
    let no_follow = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let old_answer = no_follow
        .get(format!("{old}services/data/"))
        .send()
        .await
        .unwrap();
    assert_eq!(old_answer.status().as_u16(), 301);
    let location = old_answer.headers()["location"].to_str().unwrap();
    assert_eq!(location, format!("{new}services/data/"));
    let token = env.org.admin_refresh_token();
    let (status, body) = token_call(
        &env.http,
        env.sim.login_url().as_str(),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &token),
            ("client_id", "connectord-sim-client"),
            ("client_secret", "connectord-sim-secret"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["instance_url"], new.as_str().trim_end_matches('/'));
    assert_eq!(env.org.name(), "acme-renamed");
}

#[tokio::test]
async fn the_login_endpoint_refuses_client_credentials() {
    let env = start().await;
    let (status, body) = token_call(
        &env.http,
        env.sim.login_url().as_str(),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "x"),
            ("client_secret", "y"),
        ],
    )
    .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"error": "unsupported_grant_type", "error_description": "grant type not supported"})
        )
    );
}

#[tokio::test]
async fn usernames_are_unique_across_orgs_even_after_deactivation() {
    let sim = Simulator::start(SimulatorConfig::with_orgs(2))
        .await
        .expect("starts");
    let http = reqwest::Client::new();
    let orgs = sim.orgs();
    let mut envs = Vec::new();
    for org in orgs {
        let token = admin_token(&http, &org).await;
        envs.push((org, token));
    }
    let first = Env {
        sim,
        org: envs[0].0.clone(),
        http: http.clone(),
        token: envs[0].1.clone(),
    };
    let id = first.integration_user("agent@shared.example.com").await;
    let second = Env {
        sim: first.sim,
        org: envs[1].0.clone(),
        http,
        token: envs[1].1.clone(),
    };
    let profile = second.integration_profile().await;
    let expected = json!([{"message": "Duplicate Username.<br>The username already exists in this or another Salesforce organization. Usernames must be unique across all Salesforce organizations. To resolve, use a different username (it doesn't need to match the user's email address). ", "errorCode": "DUPLICATE_USERNAME", "fields": ["Username"]}]);
    let (status, body) = second
        .post(
            "sobjects/User",
            user_body("Agent@Shared.example.com", "intg", &profile),
        )
        .await;
    assert_eq!((status, body), (400, expected.clone()));
    envs[0]
        .0
        .admin_update("User", &id, json!({"IsActive": false}))
        .expect("deactivated");
    let (status, body) = second
        .post(
            "sobjects/User",
            user_body("agent@shared.example.com", "intg", &profile),
        )
        .await;
    assert_eq!((status, body), (400, expected));
}

/// The product's refresh-token grant with `token` at the org's own host.
async fn redeem(env: &Env, token: &str) -> (u16, Value) {
    token_call(
        &env.http,
        env.org.instance_url().as_str(),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("client_id", "connectord-sim-client"),
            ("client_secret", "connectord-sim-secret"),
        ],
    )
    .await
}

#[tokio::test]
async fn with_rotation_on_each_redeem_answers_a_new_refresh_token_and_the_old_one_is_refused() {
    let env = start().await;
    env.org.set_refresh_token_rotation(true);
    let first = env.org.admin_refresh_token();

    let (status, body) = redeem(&env, &first).await;

    assert_eq!(status, 200);
    let second = body["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!second.is_empty() && second != first, "{body}");
    assert_eq!(env.org.admin_refresh_token(), second);
    let (status, body) = redeem(&env, &first).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    let (status, body) = redeem(&env, &second).await;
    assert_eq!(status, 200, "{body}");

    env.org.set_refresh_token_rotation(false);
    let current = env.org.admin_refresh_token();
    let (status, body) = redeem(&env, &current).await;
    assert_eq!(status, 200);
    assert!(body.get("refresh_token").is_none(), "rotation off: {body}");
    assert_eq!(
        redeem(&env, &current).await.0,
        200,
        "reusable with rotation off"
    );
}

#[tokio::test]
async fn after_a_revoke_the_admin_can_issue_a_new_refresh_token_that_works() {
    let env = start().await;
    let old = env.org.admin_refresh_token();
    env.org.faults().revoke_admin_refresh_token();
    assert_eq!(redeem(&env, &old).await.0, 400);

    let new = env.org.issue_admin_refresh_token();

    assert_ne!(new, old);
    assert_eq!(env.org.admin_refresh_token(), new);
    assert_eq!(redeem(&env, &new).await.0, 200);
    assert_eq!(
        redeem(&env, &old).await.0,
        400,
        "the revoked one stays revoked"
    );
}
