//! Every call connectord makes, replayed from `tests/fixtures/salesforce/CALL/CASE/`:
//! Salesforce's documented example bodies (each file names its source), and any recording
//! from a real org dropped in beside them. The arguments come from the first recorded request.

use connectord::salesforce::eca;
use secrecy::SecretString;
use serde_json::Value;

use crate::{replay::*, support::*};

/// Runs `call` once per case folder of `name`.
async fn each_case<F, Fut, T>(name: &str, call: F)
where
    F: Fn(connectord::salesforce::Org, Vec<Exchange>) -> Fut,
    Fut: std::future::Future<Output = Result<T, connectord::salesforce::SalesforceError>>,
    T: std::fmt::Debug,
{
    for (case, dir) in cases(name) {
        let exchanges = exchanges(&dir);
        let server = replay(&exchanges).await;
        let result = call(org_on(&server), exchanges).await;
        expect(&case, result);
    }
}

/// `/services/data/vXX.X/sobjects/TYPE[/ID]` → (TYPE, ID).
fn sobject_of(exchange: &Exchange) -> (String, String) {
    let path = exchange.path();
    let mut parts = path.split("/sobjects/").nth(1).unwrap_or("").split('/');
    let sobject = parts.next().unwrap_or("").to_owned();
    (sobject, parts.next().unwrap_or("").to_owned())
}

#[tokio::test]
async fn replayed_refresh_grants_give_a_session_or_the_documented_error() {
    each_case("token_refresh", |org, _| async move {
        org.query::<Value>("SELECT Id FROM Organization").await
    })
    .await;
}

#[tokio::test]
async fn replayed_client_credentials_grants_give_a_token_or_the_documented_error() {
    for (case, dir) in cases("token_client_credentials") {
        let server = replay(&exchanges(&dir)).await;
        let result = client_for(&server)
            .client_credentials_token(&url_of(&server), "3MVG9KEY", &SecretString::from("S"))
            .await;
        expect(&case, result.map(|_| ()));
    }
}

#[tokio::test]
async fn replayed_queries_read_every_page_or_map_the_error() {
    each_case("query", |org, ex| async move {
        let soql = ex[0].query("q").unwrap_or_default();
        org.query::<Value>(&soql).await
    })
    .await;
}

#[tokio::test]
async fn replayed_creates_give_the_new_id_or_map_the_error() {
    each_case("create", |org, ex| async move {
        let (sobject, _) = sobject_of(&ex[0]);
        org.create(&sobject, &ex[0].json_body()).await
    })
    .await;
}

#[tokio::test]
async fn replayed_updates_succeed_or_map_the_error() {
    each_case("update", |org, ex| async move {
        let (sobject, id) = sobject_of(&ex[0]);
        org.update(&sobject, &id, &ex[0].json_body()).await
    })
    .await;
}

#[tokio::test]
async fn replayed_deletes_succeed_or_map_the_error() {
    each_case("delete", |org, ex| async move {
        let (sobject, id) = sobject_of(&ex[0]);
        org.delete(&sobject, &id).await
    })
    .await;
}

#[tokio::test]
async fn replayed_collection_creates_give_ids_or_the_first_real_failure() {
    each_case("create_many", |org, ex| async move {
        let records = ex[0].json_body()["records"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        org.create_many(records).await
    })
    .await;
}

#[tokio::test]
async fn replayed_collection_deletes_pass_over_deleted_records_and_map_the_rest() {
    each_case("delete_many", |org, ex| async move {
        let ids = ex[0].query("ids").unwrap_or_default();
        let ids: Vec<String> = ids.split(',').map(str::to_owned).collect();
        org.delete_many(&ids).await
    })
    .await;
}

#[tokio::test]
async fn replayed_composites_succeed_or_report_the_subrequest_that_really_failed() {
    each_case("composite", |org, ex| async move {
        let body = ex[0].json_body();
        let requests = body["compositeRequest"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let subrequests = requests
            .iter()
            .map(|r| connectord::salesforce::Subrequest {
                method: r["method"].as_str().unwrap_or("GET").parse().unwrap(),
                url: relative(r["url"].as_str().unwrap_or("")),
                reference_id: r["referenceId"].as_str().unwrap_or("").to_owned(),
                body: r.get("body").cloned(),
            })
            .collect();
        org.composite(body["allOrNone"].as_bool().unwrap_or(true), subrequests)
            .await
    })
    .await;
}

/// A subrequest URL relative to `/services/data/vXX.X/`, as `Org::composite` takes it.
fn relative(url: &str) -> String {
    match url.strip_prefix("/services/data/v") {
        Some(rest) => rest.split_once('/').map_or("", |r| r.1).to_owned(),
        None => url.to_owned(),
    }
}

#[tokio::test]
async fn replayed_deploys_end_as_salesforce_reported() {
    each_case("deploy", |org, _| async move {
        org.deploy(eca::deploy_package(&app_spec(), "64.0")).await
    })
    .await;
}

fn app_spec() -> eca::AppSpec {
    eca::AppSpec {
        name: "Acme_Agent".into(),
        label: "Acme agent".into(),
        contact_email: "ops@example.invalid".into(),
        description: "agent".into(),
        scopes: vec!["Api".into()],
        execution_username: "agent@example.invalid".into(),
        ip_relaxation: eca::IpRelaxation::Enforce,
        callback_url: "https://product.example/cb".into(),
    }
}

#[tokio::test]
async fn replayed_deploys_past_their_wait_limit_are_cancelled() {
    for (case, dir) in cases("deploy_cancel") {
        let server = replay(&exchanges(&dir)).await;
        let tuning = connectord::salesforce::Tuning {
            deploy_max_wait: std::time::Duration::from_millis(30),
            ..tuning()
        };
        let sf = connectord::salesforce::Salesforce::with_tuning(
            &settings(&format!("{}/", server.uri())),
            tuning,
        )
        .unwrap();
        let org = sf.org(url_of(&server), SecretString::from(REFRESH_TOKEN));
        let result = org.deploy(eca::deploy_package(&app_spec(), "64.0")).await;
        expect(&case, result);
    }
}

#[tokio::test]
async fn replayed_credential_reads_give_key_and_secret_or_say_why_not() {
    each_case("credentials", |org, ex| async move {
        let path = ex[0].path();
        let app = path.rsplit('/').next().unwrap_or("").to_owned();
        org.app_credentials(&app).await.map(|(key, _)| key)
    })
    .await;
}

/// Reads an app's credentials and runs a query (the `credentials/ok` and `query/ok` cases).
async fn credentials_then_query(org: &connectord::salesforce::Org) {
    let (key, _) = org.app_credentials("0xIxx0000000001AAA").await.unwrap();
    assert!(!key.is_empty());
    let profiles: Vec<Value> = org.query("SELECT Id FROM Profile").await.unwrap();
    assert_eq!(profiles.len(), 2);
}

#[tokio::test]
async fn a_recording_replays_through_the_same_harness_as_the_fixtures() {
    let mut documented = exchanges(&std::path::Path::new(FIXTURES).join("credentials/ok"));
    documented.extend(exchanges(&std::path::Path::new(FIXTURES).join("query/ok")));
    let server = replay(&documented).await;
    let dir = tempfile::tempdir().unwrap();
    let recording = client_for(&server).with_recorder(dir.path()).unwrap();
    let org = recording.org(url_of(&server), SecretString::from(REFRESH_TOKEN));
    credentials_then_query(&org).await;

    let recorded = exchanges(dir.path());
    let methods: Vec<String> = recorded
        .iter()
        .map(|e| format!("{} {}", e.method(), e.path()))
        .collect();
    // The token grant, the org's versions list (read once before the first data call), and
    // the three data calls.
    assert_eq!(methods.len(), 5, "{methods:?}");
    assert!(
        methods[0].ends_with("/services/oauth2/token"),
        "{methods:?}"
    );
    assert_eq!(methods[1], "GET /services/data/", "{methods:?}");
    let text: String = recorded.iter().map(|e| e.0.to_string()).collect();
    for secret in [
        REFRESH_TOKEN,
        CLIENT_SECRET,
        CLIENT_ID,
        ACCESS_TOKEN,
        "FIXTURE-CONSUMER-SECRET",
        "3MVG9FIXTURECONSUMERKEY",
    ] {
        assert!(!text.contains(secret), "{secret} is in the recording");
    }
    // The recording alone (token grant included) answers the same calls.
    let again = replay(&recorded).await;
    credentials_then_query(&org_on(&again)).await;
}
