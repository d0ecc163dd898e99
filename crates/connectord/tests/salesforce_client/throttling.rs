//! Salesforce asking for fewer requests (429 and `Retry-After`), and creates whose answer was
//! lost: never sent a second time.

use std::time::{Duration, Instant};

use connectord::{error_code::ErrorCode, salesforce::SalesforceError};
use serde_json::json;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

use crate::support::*;

async fn server_with_token() -> MockServer {
    let server = MockServer::start().await;
    token_mock(&server, ACCESS_TOKEN).mount(&server).await;
    server
}

fn too_many(retry_after: &str) -> ResponseTemplate {
    ResponseTemplate::new(429).insert_header("Retry-After", retry_after)
}

#[tokio::test]
async fn a_429_is_sent_again_no_sooner_than_its_retry_after() {
    let server = server_with_token().await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/query")))
        .respond_with(too_many("1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/query")))
        .respond_with(query_answer(json!([{"Id": "005A"}])))
        .expect(1)
        .mount(&server)
        .await;

    let started = Instant::now();
    let users = org_on(&server)
        .query::<IdOnly>("SELECT Id FROM User")
        .await
        .unwrap();

    assert_eq!(users.len(), 1);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "sent again after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_429_asking_for_a_long_wait_ends_the_call_and_carries_the_wait() {
    let server = server_with_token().await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/query")))
        .respond_with(too_many("600"))
        .expect(1)
        .mount(&server)
        .await;

    let e = org_on(&server)
        .query::<IdOnly>("SELECT Id FROM User")
        .await
        .unwrap_err();

    assert!(matches!(e, SalesforceError::Throttled { .. }), "{e:?}");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(600)));
    assert_eq!(e.error_code(), ErrorCode::SalesforceUnavailable);
}

#[tokio::test]
async fn a_create_whose_answer_timed_out_is_not_sent_again() {
    let server = server_with_token().await;
    // The record may well have been created: the answer just never came back in time.
    Mock::given(method("POST"))
        .and(path(format!("{API}/sobjects/Account")))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"id": "001A", "success": true, "errors": []}))
                .set_delay(Duration::from_secs(3)),
        )
        .expect(1)
        .mount(&server)
        .await;

    let e = org_on(&server)
        .create("Account", &json!({"Name": "Acme"}))
        .await
        .unwrap_err();

    assert!(matches!(e, SalesforceError::Unavailable { .. }), "{e:?}");
}
