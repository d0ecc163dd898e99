use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn added_latency_delays_every_call() {
    let env = start().await;
    env.org.faults().set_latency(Duration::from_millis(150));
    let started = Instant::now();
    let (status, _) = env.get("limits").await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn an_error_share_of_one_answers_500_or_503_with_salesforce_bodies() {
    let env = start().await;
    env.org.faults().set_error_rate(1.0, 7);
    for _ in 0..4 {
        let (status, body) = env.get("limits").await;
        assert!(status == 500 || status == 503, "{status}");
        let code = if status == 500 {
            "UNKNOWN_EXCEPTION"
        } else {
            "SERVER_UNAVAILABLE"
        };
        assert_eq!(body[0]["errorCode"], code);
    }
    env.org.faults().clear();
    assert_eq!(env.get("limits").await.0, 200);
}

#[tokio::test]
async fn a_seeded_error_share_repeats_the_same_sequence() {
    let env = start().await;
    let mut runs = Vec::new();
    for _ in 0..2 {
        env.org.faults().set_error_rate(0.5, 42);
        let mut statuses = Vec::new();
        for _ in 0..12 {
            statuses.push(env.get("limits").await.0);
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&200) && runs[0].iter().any(|s| *s >= 500),
        "{:?}",
        runs[0]
    );
}

#[tokio::test]
async fn dropped_connections_give_no_answer_at_all() {
    let env = start().await;
    env.org.faults().set_drop_rate(1.0, 1);
    let result = env
        .http
        .get(env.url("limits"))
        .bearer_auth(&env.token)
        .send()
        .await;
    let error = result.expect_err("no response");
    assert!(!error.is_status() && !error.is_timeout(), "{error}");
    env.org.faults().clear();
    assert_eq!(env.get("limits").await.0, 200);
}

#[tokio::test]
async fn revoked_sessions_and_refresh_tokens_fail_like_salesforce() {
    let env = start().await;
    env.org.faults().revoke_sessions();
    let (status, body) = env.get("limits").await;
    assert_eq!(
        (status, body),
        (
            401,
            json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
        )
    );
    let fresh = admin_token(&env.http, &env.org).await;
    assert_eq!(
        env.call_as(&fresh, reqwest::Method::GET, "limits", None)
            .await
            .0,
        200
    );
    env.org.faults().revoke_admin_refresh_token();
    assert_eq!(
        env.call_as(&fresh, reqwest::Method::GET, "limits", None)
            .await
            .0,
        401
    );
    let response = env
        .http
        .post(format!("{}services/oauth2/token", env.org.instance_url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", env.org.admin_refresh_token().as_str()),
            ("client_id", "connectord-sim-client"),
            ("client_secret", "connectord-sim-secret"),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 400);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "expired access/refresh token"})
    );
}

#[tokio::test]
async fn an_exhausted_allowance_answers_request_limit_exceeded() {
    let env = start().await;
    env.org.faults().exhaust_api_allowance();
    let (status, body) = env.get("limits").await;
    assert_eq!(
        (status, body),
        (
            403,
            json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
        )
    );
}

#[tokio::test]
async fn the_next_deploy_can_be_made_to_fail_once() {
    let env = start().await;
    let user = env.integration_user("agent@acme-int.example.com").await;
    let _ = user;
    env.org.faults().fail_next_deploy("Simulated failure");
    let id = env
        .deploy(eca_zip("Agent_App", "agent@acme-int.example.com"))
        .await;
    let status = env.deploy_status(&id).await;
    assert_eq!(status["deployResult"]["status"], "Failed");
    assert_eq!(
        status["deployResult"]["details"]["componentFailures"][0]["problem"],
        "Simulated failure"
    );
    assert!(env.org.snapshot().external_client_apps.is_empty());
    let id = env
        .deploy(eca_zip("Agent_App", "agent@acme-int.example.com"))
        .await;
    assert_eq!(
        env.deploy_status(&id).await["deployResult"]["status"],
        "Succeeded"
    );
}

#[tokio::test]
async fn a_hanging_deploy_never_finishes() {
    let env = start().await;
    env.integration_user("agent@acme-int.example.com").await;
    env.org.faults().set_deploys_hang(true);
    let id = env
        .deploy(eca_zip("Agent_App", "agent@acme-int.example.com"))
        .await;
    for _ in 0..5 {
        let status = env.deploy_status(&id).await;
        assert_eq!(status["deployResult"]["status"], "InProgress");
        assert_eq!(status["deployResult"]["done"], false);
    }
    assert!(env.org.snapshot().external_client_apps.is_empty());
}
