//! How each failure shape surfaces: limits, 5xx, timeouts, redirects, HTML pages, truncated
//! JSON, errors in a 200; and the limit header being recorded.

use std::time::Duration;

use connectord::{
    error_code::ErrorCode,
    salesforce::{ApiUsage, Salesforce, SalesforceError},
};
use secrecy::SecretString;
use serde_json::json;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{any, method, path},
};

use crate::support::*;

async fn server_with_token() -> MockServer {
    let server = MockServer::start().await;
    token_mock(&server, ACCESS_TOKEN).mount(&server).await;
    server
}

fn query_path() -> String {
    format!("{API}/query")
}

#[tokio::test]
async fn request_limit_exceeded_is_one_call_and_no_retry() {
    let server = server_with_token().await;
    Mock::given(method("GET"))
        .and(path(query_path()))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!([
            {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
        ])))
        .expect(1)
        .mount(&server)
        .await;

    let e = org_on(&server)
        .query::<IdOnly>("SELECT Id FROM User")
        .await
        .unwrap_err();

    assert!(matches!(e, SalesforceError::ApiLimitExceeded), "{e:?}");
    assert_eq!(e.error_code(), ErrorCode::ApiLimitExceeded);
}

#[tokio::test]
async fn a_server_error_is_retried_and_the_next_answer_used() {
    let server = server_with_token().await;
    Mock::given(method("GET"))
        .and(path(query_path()))
        .respond_with(
            ResponseTemplate::new(503).set_body_string("<html>Service Unavailable</html>"),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(query_path()))
        .respond_with(query_answer(json!([{"Id": "001A"}])))
        .expect(1)
        .mount(&server)
        .await;

    let records: Vec<IdOnly> = org_on(&server)
        .query("SELECT Id FROM Account")
        .await
        .unwrap();

    assert_eq!(records.len(), 1);
}

#[tokio::test]
async fn server_errors_that_persist_become_unavailable_after_three_attempts() {
    let server = server_with_token().await;
    Mock::given(method("GET"))
        .and(path(query_path()))
        .respond_with(ResponseTemplate::new(500))
        .expect(3)
        .mount(&server)
        .await;

    let e = org_on(&server)
        .query::<IdOnly>("SELECT Id FROM Account")
        .await
        .unwrap_err();

    assert!(matches!(e, SalesforceError::Unavailable { .. }), "{e:?}");
    assert!(e.is_retryable());
    assert_eq!(e.error_code(), ErrorCode::SalesforceUnavailable);
}

#[tokio::test]
async fn a_call_that_times_out_becomes_unavailable_after_bounded_retries() {
    let server = server_with_token().await;
    Mock::given(method("GET"))
        .and(path(query_path()))
        .respond_with(query_answer(json!([])).set_delay(Duration::from_secs(3)))
        .expect(3)
        .mount(&server)
        .await;
    let mut settings = settings(&format!("{}/", server.uri()));
    settings.request_timeout = Duration::from_millis(150);
    let sf = Salesforce::with_tuning(&settings, tuning()).unwrap();
    let org = sf.org(url_of(&server), SecretString::from(REFRESH_TOKEN));

    let e = org
        .query::<IdOnly>("SELECT Id FROM Account")
        .await
        .unwrap_err();

    match e {
        SalesforceError::Unavailable { detail } => {
            assert!(detail.contains("timed out"), "{detail}")
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn a_redirect_from_the_api_is_an_error_and_is_not_followed() {
    let server = server_with_token().await;
    let elsewhere = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&elsewhere)
        .await;
    Mock::given(method("GET"))
        .and(path(query_path()))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/steal", elsewhere.uri()).as_str()),
        )
        .expect(1)
        .mount(&server)
        .await;

    let e = org_on(&server)
        .query::<IdOnly>("SELECT Id FROM Account")
        .await
        .unwrap_err();

    assert!(
        matches!(e, SalesforceError::Redirected { status: 302 }),
        "{e:?}"
    );
}

#[tokio::test]
async fn an_html_error_page_is_a_bad_response_naming_the_status() {
    let server = server_with_token().await;
    Mock::given(method("GET"))
        .and(path(query_path()))
        .respond_with(
            ResponseTemplate::new(400)
                .insert_header("content-type", "text/html")
                .set_body_string("<!DOCTYPE html><html><body>Bad Request</body></html>"),
        )
        .expect(1)
        .mount(&server)
        .await;

    let e = org_on(&server)
        .query::<IdOnly>("SELECT Id FROM Account")
        .await
        .unwrap_err();

    match e {
        SalesforceError::BadResponse { status, detail } => {
            assert_eq!(status, 400);
            assert!(detail.contains("HTML"), "{detail}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn truncated_json_in_a_success_is_a_bad_response() {
    let server = server_with_token().await;
    Mock::given(method("GET"))
        .and(path(query_path()))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/json")
                .set_body_string(r#"{"totalSize":1,"done":true,"records":[{"Id":"001"#),
        )
        .expect(1)
        .mount(&server)
        .await;

    let e = org_on(&server)
        .query::<IdOnly>("SELECT Id FROM Account")
        .await
        .unwrap_err();

    assert!(
        matches!(e, SalesforceError::BadResponse { status: 200, ref detail } if detail == "truncated JSON"),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_200_whose_body_is_an_error_list_is_an_error() {
    let server = server_with_token().await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/sobjects/FieldPermissions")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"message": "No such column 'Bogus__c'", "errorCode": "INVALID_FIELD", "fields": ["Bogus__c"]}
        ])))
        .expect(1)
        .mount(&server)
        .await;

    let e = org_on(&server)
        .create("FieldPermissions", &json!({"Bogus__c": true}))
        .await
        .unwrap_err();

    assert!(
        matches!(e, SalesforceError::UnknownField { ref field, .. } if field == "Bogus__c"),
        "{e:?}"
    );
}

#[tokio::test]
async fn the_limit_header_is_recorded_per_org() {
    let server = server_with_token().await;
    Mock::given(method("GET"))
        .and(path(query_path()))
        .respond_with(query_answer(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    let sf = client_for(&server);
    let org = sf.org(url_of(&server), SecretString::from(REFRESH_TOKEN));
    assert_eq!(org.api_usage(), None);

    org.query::<IdOnly>("SELECT Id FROM Account").await.unwrap();

    let expected = ApiUsage {
        used: 42,
        max: 15000,
    };
    assert_eq!(org.api_usage(), Some(expected));
    assert_eq!(sf.api_usage(&url_of(&server)), Some(expected));
    assert_eq!(sf.api_usage_all().len(), 1);
}
