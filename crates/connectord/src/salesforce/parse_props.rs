//! Property tests of every parser of Salesforce answers: error bodies, SOQL results, deploy
//! results, token responses, the API-usage header and composite answers. Whatever the bytes
//! (random, truncated, HTML, JSON of the right shape with wrong types), no parser panics, and
//! what comes out is an error with a contract code or a value.
//!
//! `PROPTEST_CASES` raises the number of cases (256 by default).

use proptest::prelude::*;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Map, Value, json};

use super::auth::{SalesforceTokenResponse, access_token_from};
use super::composite::SubResponse;
use super::error_body::from_response;
use super::http::Answer;
use super::metadata::read_deploy_answer;
use super::org::decode;
use super::rest::QueryPage;
use super::{InstancePolicy, parse_limit_info};

/// Keys Salesforce answers use, so random objects often hit the real shapes.
const KEYS: [&str; 24] = [
    "errorCode",
    "statusCode",
    "message",
    "fields",
    "error",
    "error_description",
    "records",
    "done",
    "totalSize",
    "nextRecordsUrl",
    "attributes",
    "Id",
    "access_token",
    "instance_url",
    "issued_at",
    "token_type",
    "id",
    "deployResult",
    "status",
    "details",
    "componentFailures",
    "problem",
    "fullName",
    "compositeResponse",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
        prop::sample::select(&["Succeeded", "Failed", "InProgress", "true", "Bearer"][..])
            .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(&KEYS[..]), inner), 0..6).prop_map(
                |pairs| {
                    let map: Map<String, Value> =
                        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
                    Value::Object(map)
                }
            ),
        ]
    })
}

/// Random bytes, random JSON, JSON cut short, or an HTML page.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        json_value().prop_map(|v| serde_json::to_vec(&v).unwrap_or_default()),
        (json_value(), any::<prop::sample::Index>()).prop_map(|(v, cut)| {
            let mut bytes = serde_json::to_vec(&v).unwrap_or_default();
            let at = cut.index(bytes.len() + 1);
            bytes.truncate(at);
            bytes
        }),
        ".{0,40}".prop_map(|t| format!("<html><body>{t}</body></html>").into_bytes()),
    ]
}

fn answer(status: u16, body: Vec<u8>) -> Answer {
    Answer {
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        headers: HeaderMap::new(),
        body: body.into(),
    }
}

proptest! {
    #[test]
    fn error_bodies_always_map_to_an_error_with_a_code(status in 100u16..600, body in body()) {
        let error = from_response(status, &body);
        let _ = error.error_code();
        prop_assert!(!error.to_string().is_empty());
    }

    #[test]
    fn soql_results_decode_or_fail_cleanly(status in 100u16..600, body in body()) {
        let decoded = decode::<QueryPage<Value>>(&answer(status, body.clone()));
        if let Err(error) = decoded {
            let _ = error.error_code();
        }
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct Row { #[serde(rename = "Id")] id: String, #[serde(default)] name: Option<String> }
        let _ = decode::<QueryPage<Row>>(&answer(status, body));
    }

    #[test]
    fn deploy_results_parse_or_fail_cleanly(body in body()) {
        if let Err(error) = read_deploy_answer(&body) {
            let _ = error.error_code();
        }
    }

    #[test]
    fn deploy_results_of_the_right_shape_never_panic(
        done in any::<bool>(),
        status in prop::sample::select(&["Succeeded", "Failed", "InProgress", ""][..]),
        failures in json_value(),
    ) {
        let body = json!({
            "id": "0AfXX0000000001",
            "deployResult": {"done": done, "status": status,
                             "details": {"componentFailures": failures}},
        });
        let result = read_deploy_answer(&serde_json::to_vec(&body).unwrap_or_default());
        if done && status != "Succeeded" {
            prop_assert!(result.is_err());
        }
    }

    #[test]
    fn token_responses_parse_or_fail_cleanly(body in body()) {
        if let Ok(response) = serde_json::from_slice::<SalesforceTokenResponse>(&body) {
            if let Ok(token) = access_token_from(&response) {
                // Whatever URL a token response names still goes through the policy.
                if let Some(url) = token.instance_url {
                    let _ = InstancePolicy::default().check(&url);
                }
            }
        }
    }

    #[test]
    fn token_responses_with_any_instance_url_never_panic(url in ".{0,60}") {
        let body = json!({"access_token": "00Dx!AQ", "token_type": "Bearer",
                          "instance_url": url, "issued_at": "1"});
        if let Ok(response) = serde_json::from_value::<SalesforceTokenResponse>(body) {
            if let Ok(Some(url)) = access_token_from(&response).map(|t| t.instance_url) {
                let _ = InstancePolicy::default().check(&url);
            }
        }
    }

    #[test]
    fn composite_answers_never_panic(body in body()) {
        if let Ok(responses) = serde_json::from_slice::<Vec<SubResponse>>(&body) {
            for response in responses {
                let _ = response.error().map(|e| e.error_code());
                let _ = response.id();
            }
        }
    }

    #[test]
    fn the_limit_header_never_panics(value in ".{0,40}") {
        let _ = parse_limit_info(&value);
    }

    #[test]
    fn instance_urls_never_panic(text in ".{0,60}") {
        if let Ok(url) = url::Url::parse(&text) {
            let _ = InstancePolicy::default().check(&url);
        }
    }
}
