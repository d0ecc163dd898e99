//! The admin's refresh-token grant: caching, one refresh on an expired session, revoked
//! tokens, a host that no longer serves the org, a renamed org.

use connectord::{error_code::ErrorCode, salesforce::SalesforceError};
use secrecy::SecretString;
use serde_json::json;
use url::Url;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path, query_param},
};

use crate::support::*;

#[tokio::test]
async fn the_refresh_token_is_redeemed_once_at_the_orgs_own_host_and_the_token_is_reused() {
    let server = MockServer::start().await;
    token_mock(&server, ACCESS_TOKEN)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/query")))
        .and(query_param("q", "SELECT Id FROM Profile"))
        .and(bearer(ACCESS_TOKEN))
        .and(wiremock::matchers::header("accept", "application/json"))
        .respond_with(query_answer(
            json!([{"attributes": {"type": "Profile"}, "Id": "00e1"}]),
        ))
        .expect(2)
        .mount(&server)
        .await;

    let org = org_on(&server);
    let first: Vec<IdOnly> = org.query("SELECT Id FROM Profile").await.unwrap();
    let again: Vec<IdOnly> = org.clone().query("SELECT Id FROM Profile").await.unwrap();

    assert_eq!(first, vec![IdOnly { id: "00e1".into() }]);
    assert_eq!(first, again);
    assert_eq!(org.renamed_from(), None);
}

#[tokio::test]
async fn an_expired_session_is_refreshed_once_and_the_call_retried_once() {
    let server = MockServer::start().await;
    token_mock(&server, "TOKEN-OLD")
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    token_mock(&server, "TOKEN-NEW")
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/query")))
        .and(bearer("TOKEN-OLD"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!([
            {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
        ])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/query")))
        .and(bearer("TOKEN-NEW"))
        .respond_with(query_answer(json!([{"Id": "005A"}])))
        .expect(1)
        .mount(&server)
        .await;

    let records: Vec<IdOnly> = org_on(&server).query("SELECT Id FROM User").await.unwrap();

    assert_eq!(records, vec![IdOnly { id: "005A".into() }]);
}

#[tokio::test]
async fn a_session_refused_twice_is_not_retried_a_third_time() {
    let server = MockServer::start().await;
    token_mock(&server, ACCESS_TOKEN)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/query")))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!([
            {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
        ])))
        .expect(2)
        .mount(&server)
        .await;

    let e = org_on(&server)
        .query::<IdOnly>("SELECT Id FROM User")
        .await
        .unwrap_err();

    assert!(matches!(e, SalesforceError::SessionExpired), "{e:?}");
}

#[tokio::test]
async fn a_revoked_refresh_token_is_reported_and_never_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/oauth2/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant", "error_description": "expired access/refresh token"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;

    let e = org_on(&server)
        .query::<IdOnly>("SELECT Id FROM User")
        .await
        .unwrap_err();

    assert!(
        matches!(e, SalesforceError::AdminTokenRevoked { .. }),
        "{e:?}"
    );
    assert_eq!(e.error_code(), ErrorCode::AdminTokenRevoked);
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("sign in again"), "{e}");
}

#[tokio::test]
async fn a_redirecting_host_is_not_followed_and_the_login_url_names_the_new_instance() {
    let old = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    let login = MockServer::start().await;
    let renamed = MockServer::start().await;
    // Salesforce redirects a previous My Domain host with a 301 or a 307.
    Mock::given(method("POST"))
        .and(path("/services/oauth2/token"))
        .respond_with(ResponseTemplate::new(301).insert_header(
            "location",
            format!("{}/services/oauth2/token", elsewhere.uri()).as_str(),
        ))
        .expect(1)
        .mount(&old)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&elsewhere)
        .await;
    Mock::given(method("POST"))
        .and(path("/services/oauth2/token"))
        .and(refresh_form())
        .respond_with(
            ResponseTemplate::new(200).set_body_json(token_body(ACCESS_TOKEN, &renamed.uri())),
        )
        .expect(1)
        .mount(&login)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/query")))
        .and(bearer(ACCESS_TOKEN))
        .respond_with(query_answer(json!([])))
        .expect(1)
        .mount(&renamed)
        .await;

    let org = client_for(&login).org(url_of(&old), SecretString::from(REFRESH_TOKEN));
    let records: Vec<IdOnly> = org.query("SELECT Id FROM Account").await.unwrap();

    assert!(records.is_empty());
    assert_eq!(org.instance_url().origin(), url_of(&renamed).origin());
    assert_eq!(
        org.renamed_from().map(|u| u.origin()),
        Some(url_of(&old).origin())
    );
}

/// Issue 14 item 5: the org's own host answering for another org is not a rename.
#[tokio::test]
async fn a_token_from_the_orgs_own_host_naming_another_instance_is_an_org_mismatch() {
    let old = MockServer::start().await;
    let other = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/oauth2/token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(token_body(ACCESS_TOKEN, &other.uri())),
        )
        .expect(1)
        .mount(&old)
        .await;
    for server in [&old, &other] {
        Mock::given(method("GET"))
            .respond_with(query_answer(json!([])))
            .expect(0)
            .mount(server)
            .await;
    }

    let org = org_on(&old);
    let e = org
        .query::<IdOnly>("SELECT Id FROM Account")
        .await
        .unwrap_err();

    assert_eq!(e.error_code(), ErrorCode::OrgMismatch, "{e:?}");
    assert_eq!(org.instance_url().origin(), url_of(&old).origin());
}

/// Issue 14 item 6: only the documented 301/307 of a previous My Domain host counts as moved.
#[tokio::test]
async fn a_302_from_the_token_endpoint_is_not_a_rename_and_the_login_host_is_never_asked() {
    let old = MockServer::start().await;
    let login = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/oauth2/token"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "https://x.example/"))
        .expect(1)
        .mount(&old)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&login)
        .await;

    let e = client_for(&login)
        .org(url_of(&old), SecretString::from(REFRESH_TOKEN))
        .query::<IdOnly>("SELECT Id FROM Account")
        .await
        .unwrap_err();

    assert_ne!(e.error_code(), ErrorCode::AdminTokenRevoked, "{e:?}");
}

/// Issue 14 item 6: a network blip is not a revoked token.
#[tokio::test]
async fn a_host_that_does_not_answer_is_unavailable_and_the_token_never_goes_to_the_login_host() {
    let login = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&login)
        .await;
    // A port nothing listens on.
    let dark = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dark_url = Url::parse(&format!("http://{}", dark.local_addr().unwrap())).unwrap();
    drop(dark);

    let e = client_for(&login)
        .org(dark_url, SecretString::from(REFRESH_TOKEN))
        .query::<IdOnly>("SELECT Id FROM Account")
        .await
        .unwrap_err();

    assert_eq!(e.error_code(), ErrorCode::SalesforceUnavailable, "{e:?}");
    assert!(e.is_retryable());
}

#[tokio::test]
async fn a_plain_http_instance_url_named_by_the_token_endpoint_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/oauth2/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_body(ACCESS_TOKEN, "http://evil.example.com")),
        )
        .expect(1)
        .mount(&server)
        .await;

    let e = org_on(&server)
        .query::<IdOnly>("SELECT Id FROM Account")
        .await
        .unwrap_err();

    assert_eq!(e.error_code(), ErrorCode::InvalidInstanceUrl, "{e:?}");
}

#[tokio::test]
async fn an_instance_url_that_is_not_https_is_refused_before_any_call() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let org = client_for(&server).org(
        url::Url::parse("http://acme.my.salesforce.com").unwrap(),
        SecretString::from(REFRESH_TOKEN),
    );

    let e = org
        .query::<IdOnly>("SELECT Id FROM Account")
        .await
        .unwrap_err();

    assert!(
        matches!(e, SalesforceError::InvalidInstanceUrl { .. }),
        "{e:?}"
    );
}

#[tokio::test]
async fn concurrent_calls_on_clones_share_one_token_refresh() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/oauth2/token"))
        .and(refresh_form())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_body(ACCESS_TOKEN, &server.uri()))
                .set_delay(std::time::Duration::from_millis(50)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/query")))
        .and(bearer(ACCESS_TOKEN))
        .respond_with(query_answer(json!([])))
        .expect(4)
        .mount(&server)
        .await;
    let org = org_on(&server);

    let calls = (0..4).map(|_| {
        let org = org.clone();
        async move { org.query::<IdOnly>("SELECT Id FROM Account").await }
    });
    let results = futures::future::join_all(calls).await;

    assert!(results.iter().all(Result::is_ok), "{results:?}");
}
