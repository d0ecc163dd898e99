//! Reading an app's consumer key and secret, and proving them with a client-credentials token.

use connectord::salesforce::SalesforceError;
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::json;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{bearer_token, method, path, query_param},
};

use crate::support::*;

pub const CONSUMER_KEY: &str = "3MVG9CONSUMER-KEY";
pub const CONSUMER_SECRET: &str = "CONSUMER-SECRET-9F8E7D";
pub const APP_TOKEN: &str = "00DAPP-TOKEN-minted";

pub async fn mount_credentials(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(format!("{API}/apps/oauth/credentials/0xH5g0000001")))
        .and(bearer_token(ACCESS_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "consumers": [{"id": "0Ha5g0000002", "name": "Acme_Agent"}]
        })))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "{API}/apps/oauth/credentials/0xH5g0000001/0Ha5g0000002"
        )))
        .and(query_param("part", "keyandsecret"))
        .and(bearer_token(ACCESS_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "key": CONSUMER_KEY, "secret": CONSUMER_SECRET
        })))
        .expect(1)
        .mount(server)
        .await;
}

pub async fn mount_client_credentials(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/services/oauth2/token"))
        .and(FormHas(vec![
            ("grant_type", "client_credentials".into()),
            ("client_id", CONSUMER_KEY.into()),
            ("client_secret", CONSUMER_SECRET.into()),
        ]))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(token_body(APP_TOKEN, &server.uri())),
        )
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/query")))
        .and(query_param("q", "SELECT Id FROM Account LIMIT 1"))
        .and(bearer_token(APP_TOKEN))
        .respond_with(query_answer(json!([])))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn the_key_and_secret_are_read_through_the_connect_credentials_resources() {
    let server = MockServer::start().await;
    token_mock(&server, ACCESS_TOKEN)
        .expect(1)
        .mount(&server)
        .await;
    mount_credentials(&server).await;

    let (key, secret) = org_on(&server)
        .app_credentials("0xH5g0000001")
        .await
        .unwrap();

    assert_eq!(key, CONSUMER_KEY);
    assert_eq!(secret.expose_secret(), CONSUMER_SECRET);
    assert!(!format!("{secret:?}").contains(CONSUMER_SECRET));
}

#[tokio::test]
async fn a_withheld_secret_is_an_error_saying_which_setting_allows_it() {
    let server = MockServer::start().await;
    token_mock(&server, ACCESS_TOKEN).mount(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/apps/oauth/credentials/0xH1")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"consumers": [{"id": "0Ha1"}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/apps/oauth/credentials/0xH1/0Ha1")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"key": CONSUMER_KEY})))
        .expect(1)
        .mount(&server)
        .await;

    let e = org_on(&server).app_credentials("0xH1").await.unwrap_err();

    assert!(
        e.to_string().contains("enableClientSecretInRestApiAccess"),
        "{e}"
    );
}

#[tokio::test]
async fn verifying_mints_a_client_credentials_token_and_makes_one_read_with_it() {
    let server = MockServer::start().await;
    token_mock(&server, ACCESS_TOKEN)
        .expect(0)
        .mount(&server)
        .await;
    mount_client_credentials(&server).await;

    org_on(&server)
        .verify_client_credentials(
            CONSUMER_KEY,
            &SecretString::from(CONSUMER_SECRET),
            "SELECT Id FROM Account LIMIT 1",
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_rejected_client_credentials_grant_is_an_error_without_the_secret() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/oauth2/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_client", "error_description": "invalid client credentials"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;

    let e = client_for(&server)
        .client_credentials_token(
            &url_of(&server),
            CONSUMER_KEY,
            &SecretString::from(CONSUMER_SECRET),
        )
        .await
        .unwrap_err();

    assert!(
        matches!(e, SalesforceError::Rejected { ref code, .. } if code == "invalid_client"),
        "{e:?}"
    );
    assert!(!format!("{e} {e:?}").contains(CONSUMER_SECRET));
}

#[tokio::test]
async fn the_proof_of_fields_on_three_objects_is_one_composite_call_naming_each_field() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/oauth2/token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(token_body(APP_TOKEN, &server.uri())),
        )
        .expect(1)
        .mount(&server)
        .await;
    let probes = [
        "SELECT Id, Industry FROM Account LIMIT 1",
        "SELECT Id, Email FROM Contact LIMIT 1",
        "SELECT Id, Status FROM Lead LIMIT 1",
    ]
    .map(String::from);
    let requests: Vec<serde_json::Value> = probes
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let q: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
            json!({"method": "GET", "url": format!("{API}/query?q={q}"), "referenceId": format!("probe{i}")})
        })
        .collect();
    Mock::given(method("POST"))
        .and(path(format!("{API}/composite")))
        .and(bearer_token(APP_TOKEN))
        .and(wiremock::matchers::body_json(
            json!({"allOrNone": false, "compositeRequest": requests}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"compositeResponse": [
            {"referenceId": "probe0", "httpStatusCode": 200, "body": {"totalSize": 0, "done": true, "records": []}},
            {"referenceId": "probe1", "httpStatusCode": 400, "body": [{"errorCode": "INVALID_FIELD",
                "message": "\nSELECT Id, Email FROM Contact LIMIT 1\n           ^\nERROR at Row:1:Column:12\nNo such column 'Email' on entity 'Contact'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name."}]},
            {"referenceId": "probe2", "httpStatusCode": 200, "body": {"totalSize": 0, "done": true, "records": []}}
        ]})))
        .expect(1)
        .mount(&server)
        .await;

    let e = org_on(&server)
        .prove_reads(CONSUMER_KEY, &SecretString::from(CONSUMER_SECRET), &probes)
        .await
        .unwrap_err();

    match e {
        SalesforceError::FieldNotReadable { field, .. } => assert_eq!(field, "Contact.Email"),
        other => panic!("expected field_not_readable, got {other:?}"),
    }
}
