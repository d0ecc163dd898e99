//! The Metadata REST deploy: the multipart request, polling, failures, a deploy that never ends.

use std::time::Duration;

use connectord::salesforce::{Salesforce, SalesforceError, eca};
use secrecy::SecretString;
use serde_json::json;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{bearer_token, body_json, method, path, query_param},
};

use crate::support::*;

fn deploy_path() -> String {
    format!("{API}/metadata/deployRequest")
}

fn status(done: bool, status: &str) -> serde_json::Value {
    json!({
        "id": "0Af5g00000ABC",
        "url": "https://x/services/data/v64.0/metadata/deployRequest/0Af5g00000ABC?includeDetails=true",
        "deployResult": {"id": "0Af5g00000ABC", "done": done, "status": status, "success": status == "Succeeded",
                          "numberComponentErrors": 0, "details": {"componentFailures": [], "componentSuccesses": []}}
    })
}

async fn submitted(server: &MockServer) {
    token_mock(server, ACCESS_TOKEN)
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(deploy_path()))
        .and(bearer_token(ACCESS_TOKEN))
        .respond_with(ResponseTemplate::new(201).set_body_json(status(false, "Pending")))
        .expect(1)
        .mount(server)
        .await;
}

fn package() -> Vec<u8> {
    eca::destructive_package("Acme_Agent", "64.0")
}

#[tokio::test]
async fn a_deploy_sends_the_options_and_the_zip_as_multipart_then_polls_until_done() {
    let server = MockServer::start().await;
    submitted(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("{}/0Af5g00000ABC", deploy_path())))
        .and(query_param("includeDetails", "true"))
        .and(bearer_token(ACCESS_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(status(false, "InProgress")))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{}/0Af5g00000ABC", deploy_path())))
        .and(query_param("includeDetails", "true"))
        .respond_with(ResponseTemplate::new(200).set_body_json(status(true, "Succeeded")))
        .expect(1)
        .mount(&server)
        .await;

    let outcome = org_on(&server).deploy(package()).await.unwrap();

    assert_eq!(outcome.id, "0Af5g00000ABC");
    assert_eq!(outcome.status, "Succeeded");
    let requests = server.received_requests().await.unwrap();
    let post = requests
        .iter()
        .find(|r| r.method.as_str() == "POST" && r.url.path() == deploy_path())
        .unwrap();
    let content_type = post.headers.get("content-type").unwrap().to_str().unwrap();
    assert!(
        content_type.starts_with("multipart/form-data; boundary="),
        "{content_type}"
    );
    let body = String::from_utf8_lossy(&post.body);
    let json_part = body
        .find("Content-Disposition: form-data; name=\"json\"")
        .expect("json part");
    let file_part = body
        .find("Content-Disposition: form-data; name=\"file\"; filename=\"deploy.zip\"")
        .expect("file part");
    assert!(json_part < file_part);
    let json_section = &body[json_part..file_part];
    assert!(
        json_section.contains("Content-Type: application/json"),
        "{json_section}"
    );
    assert!(
        json_section.contains(r#"{"deployOptions":{"singlePackage":true,"rollbackOnError":true}}"#)
    );
    assert!(body[file_part..].contains("Content-Type: application/zip"));
    let zip = package();
    assert!(
        post.body.windows(zip.len()).any(|w| w == zip.as_slice()),
        "the zip is sent unchanged"
    );
}

#[tokio::test]
async fn a_failed_deploy_reports_each_component_failure() {
    let server = MockServer::start().await;
    submitted(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("{}/0Af5g00000ABC", deploy_path())))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "0Af5g00000ABC",
            "deployResult": {"done": true, "status": "Failed", "success": false, "details": {"componentFailures": [
                {"changed": false, "componentType": "ExtlClntAppOauthConfigurablePolicies", "created": false, "deleted": false,
                 "fileName": "extlClntAppOauthPolicies/Acme_Agent_oauthPlcy.ecaOauthPlcy", "fullName": "Acme_Agent_oauthPlcy",
                 "problem": "Enter a valid execution user for the OAuth client credentials flow.", "problemType": "Error", "success": false}
            ]}}
        })))
        .expect(1)
        .mount(&server)
        .await;

    let e = org_on(&server).deploy(package()).await.unwrap_err();

    match &e {
        SalesforceError::DeployFailed { failures } => {
            assert_eq!(failures.len(), 1);
            assert_eq!(
                failures[0].component_type,
                "ExtlClntAppOauthConfigurablePolicies"
            );
            assert_eq!(failures[0].full_name, "Acme_Agent_oauthPlcy");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(e.to_string().contains("valid execution user"), "{e}");
}

#[tokio::test]
async fn a_deploy_past_its_wait_limit_is_cancelled_and_times_out_with_its_id() {
    let server = MockServer::start().await;
    submitted(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("{}/0Af5g00000ABC", deploy_path())))
        .respond_with(ResponseTemplate::new(200).set_body_json(status(false, "InProgress")))
        .mount(&server)
        .await;
    // Metadata API Developer Guide, "Cancel a Deployment in Progress Using REST".
    Mock::given(method("PATCH"))
        .and(path(format!("{}/0Af5g00000ABC", deploy_path())))
        .and(bearer_token(ACCESS_TOKEN))
        .and(body_json(json!({"deployResult": {"status": "Canceling"}})))
        .respond_with(ResponseTemplate::new(202).set_body_json(status(true, "Canceled")))
        .expect(1)
        .mount(&server)
        .await;
    let mut tuning = tuning();
    tuning.deploy_max_wait = Duration::from_millis(50);
    let sf = Salesforce::with_tuning(&settings(&format!("{}/", server.uri())), tuning).unwrap();
    let org = sf.org(url_of(&server), SecretString::from(REFRESH_TOKEN));

    let e = org.deploy(package()).await.unwrap_err();

    assert!(
        matches!(e, SalesforceError::DeployTimedOut { ref id, canceled: true } if id == "0Af5g00000ABC"),
        "{e:?}"
    );
    assert!(e.is_retryable());
    assert_eq!(e.error_code().as_str(), "deploy_timed_out");
}
