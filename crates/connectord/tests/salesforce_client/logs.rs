//! A whole provisioning-shaped sequence with every log line captured at TRACE: no token,
//! secret or refresh token may appear in it, yet each call's span must be there.

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use connectord::salesforce::eca;
use serde_json::json;
use tracing_subscriber::fmt::{MakeWriter, format::FmtSpan};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

use crate::{credentials::*, support::*};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn no_token_or_secret_appears_in_the_logs_of_a_full_sequence() {
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(buffer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    // The first token expires at once: the sequence also covers a refresh.
    token_mock(&server, "EXPIRING-TOKEN-111")
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    token_mock(&server, ACCESS_TOKEN)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/query")))
        .and(bearer("EXPIRING-TOKEN-111"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!([
            {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
        ])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/query")))
        .and(bearer(ACCESS_TOKEN))
        .respond_with(query_answer(json!([{"Id": "00e1"}])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/sobjects/User")))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"id": "005A", "success": true, "errors": []})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/metadata/deployRequest")))
        .respond_with(ResponseTemplate::new(201).set_body_json(
            json!({"id": "0Af1", "deployResult": {"done": false, "status": "Pending"}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/metadata/deployRequest/0Af1")))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": "0Af1", "deployResult": {"done": true, "status": "Succeeded"}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    mount_credentials(&server).await;
    mount_client_credentials(&server).await;

    let org = org_on(&server);
    let profiles: Vec<IdOnly> = org
        .query("SELECT Id FROM Profile WHERE Name = 'Minimum Access - API Only Integrations'")
        .await
        .unwrap();
    assert_eq!(profiles.len(), 1);
    org.create("User", &json!({"Username": "agent.g1@acme.example"}))
        .await
        .unwrap();
    let spec = eca::AppSpec {
        name: "Acme_Agent".into(),
        label: "Acme agent".into(),
        contact_email: "ops@example.com".into(),
        description: "agent".into(),
        scopes: vec!["Api".into()],
        execution_username: "agent.g1@acme.example".into(),
        ip_relaxation: eca::IpRelaxation::Enforce,
        callback_url: "https://product.example/cb".into(),
    };
    org.deploy(eca::deploy_package(&spec, "64.0"))
        .await
        .unwrap();
    let (key, secret) = org.app_credentials("0xH5g0000001").await.unwrap();
    org.verify_client_credentials(&key, &secret, "SELECT Id FROM Account LIMIT 1")
        .await
        .unwrap();
    let failure = org.delete("Bad", "../x").await.unwrap_err();
    tracing::error!(error = %failure, debug = ?failure, org = ?org, secret = ?secret, "reported");
    drop(_guard);

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    for secret in [
        REFRESH_TOKEN,
        CLIENT_SECRET,
        "EXPIRING-TOKEN-111",
        ACCESS_TOKEN,
        CONSUMER_SECRET,
        APP_TOKEN,
    ] {
        assert!(
            !logs.contains(secret),
            "{secret} leaked into the logs:\n{logs}"
        );
    }
    // The capture really saw the calls: spans with method, path, status, api-usage.
    assert!(logs.contains("salesforce_call"), "{logs}");
    assert!(
        logs.contains(&format!("path=\"{API}/query\""))
            || logs.contains(&format!("path={API}/query")),
        "{logs}"
    );
    assert!(logs.contains("status=401"), "{logs}");
    assert!(logs.contains("api_usage=42/15000"), "{logs}");
    assert!(
        logs.contains("path=/services/oauth2/token")
            || logs.contains("path=\"/services/oauth2/token\""),
        "{logs}"
    );
    // SOQL stays out of the span: the path never carries the query string.
    assert!(!logs.contains("Minimum Access"), "{logs}");
}
