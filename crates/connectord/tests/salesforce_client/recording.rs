//! The recorder's edges: a call that got no answer, a folder that already holds recordings,
//! and a folder that cannot be one.

use connectord::salesforce::SalesforceError;
use secrecy::SecretString;
use serde_json::Value;
use wiremock::MockServer;

use crate::{replay::exchanges, support::*};

#[tokio::test]
async fn a_call_that_got_no_answer_is_recorded_with_the_reason_and_no_secret() {
    // The discard port: nothing listens there, the connection is refused.
    let nowhere = "http://127.0.0.1:9/";
    let (sf, url) = (client(nowhere), url::Url::parse(nowhere).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let org = sf
        .with_recorder(dir.path())
        .unwrap()
        .org(url, SecretString::from(REFRESH_TOKEN));
    let failure = org.query::<Value>("SELECT Id FROM User").await.unwrap_err();
    assert!(
        matches!(failure, SalesforceError::Unavailable { .. }),
        "{failure:?}"
    );
    let recorded = exchanges(dir.path());
    // Each attempt of the token grant (connection refused is retried) is one file.
    assert_eq!(recorded.len(), 3);
    for exchange in &recorded {
        assert_eq!(
            exchange.0["transport_error"], "could not connect",
            "{}",
            exchange.0
        );
        assert!(exchange.0.get("response").is_none());
        let text = exchange.0.to_string();
        assert!(
            !text.contains(REFRESH_TOKEN) && !text.contains(CLIENT_SECRET),
            "{text}"
        );
    }
}

#[tokio::test]
async fn recordings_are_numbered_after_those_already_in_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("0007-GET-query.json"), "{}").unwrap();
    let server = MockServer::start().await;
    token_mock(&server, ACCESS_TOKEN).mount(&server).await;
    let org = client_for(&server)
        .with_recorder(dir.path())
        .unwrap()
        .org(url_of(&server), SecretString::from(REFRESH_TOKEN));
    let _ = org.query::<Value>("SELECT Id FROM User").await;
    assert!(dir.path().join("0008-POST-oauth2_token.json").exists());
    // 0009 is the org's versions list, read before the first data call.
    assert!(dir.path().join("0010-GET-query.json").exists());
}

#[tokio::test]
async fn a_record_dir_that_cannot_be_a_folder_is_a_setup_error() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let server = MockServer::start().await;
    let failure = client_for(&server).with_recorder(file.path()).unwrap_err();
    assert!(matches!(failure, SalesforceError::Setup(_)), "{failure:?}");
}
