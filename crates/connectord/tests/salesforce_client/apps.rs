//! Finding an External Client App when the org refuses SOQL on it (issue 21 item 4): the
//! exact requests, and that the refusal is taken once per org for the process.

use serde_json::json;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{bearer_token, method, path, query_param},
};

use crate::support::*;

const SOQL: &str = "SELECT Id FROM ExternalClientApplication WHERE DeveloperName = 'Acme_Agent'";

#[tokio::test]
async fn an_org_that_refuses_the_app_query_is_asked_once_then_read_through_the_usage_list() {
    let server = MockServer::start().await;
    token_mock(&server, ACCESS_TOKEN).mount(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/query")))
        .and(query_param("q", SOQL))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!([{
            "message": "sObject type 'ExternalClientApplication' is not supported.",
            "errorCode": "INVALID_TYPE"
        }])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/apps/oauth/usage")))
        .and(query_param("page", "0"))
        .and(query_param("pageSize", "100"))
        .and(bearer_token(ACCESS_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "apps": [
                {"developerName": "Other_App", "identifier": "0xH5g0000000009"},
                {"developerName": "Acme_Agent", "identifier": "0xH5g0000000001"}
            ],
            "nextPageUrl": null
        })))
        .expect(2)
        .mount(&server)
        .await;
    let sf = client_for(&server);
    for _ in 0..2 {
        // A new session each time, as each pass has: the refusal is remembered by the client.
        let org = sf.org(url_of(&server), secrecy::SecretString::from(REFRESH_TOKEN));
        let found = org.find_app(SOQL, "Acme_Agent", None).await.unwrap();
        assert_eq!(found.as_deref(), Some("0xH5g0000000001"));
    }
}

#[tokio::test]
async fn a_recorded_app_is_checked_by_its_credentials_resource_and_a_404_means_gone() {
    let server = MockServer::start().await;
    token_mock(&server, ACCESS_TOKEN).mount(&server).await;
    Mock::given(method("GET"))
        .and(path(format!(
            "{API}/apps/oauth/credentials/0xH5g0000000001"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"consumers": []})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "{API}/apps/oauth/credentials/0xH5g0000000002"
        )))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!([{
            "message": "The requested resource does not exist", "errorCode": "NOT_FOUND"
        }])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/apps/oauth/usage")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"apps": []})))
        .expect(1)
        .mount(&server)
        .await;
    let org = org_on(&server);
    let there = org
        .find_app_without_soql("Acme_Agent", Some("0xH5g0000000001"))
        .await
        .unwrap();
    assert_eq!(there.as_deref(), Some("0xH5g0000000001"));
    let gone = org
        .find_app_without_soql("Acme_Agent", Some("0xH5g0000000002"))
        .await
        .unwrap();
    assert_eq!(gone, None);
}
