//! REST operations pinned to their exact requests.

use connectord::salesforce::{SalesforceError, Subrequest};
use reqwest::Method;
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, Request, Respond, ResponseTemplate,
    matchers::{body_json, header, method, path, query_param},
};

use crate::support::*;

async fn server_with_token() -> MockServer {
    let server = MockServer::start().await;
    token_mock(&server, ACCESS_TOKEN)
        .expect(1)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_query_follows_next_records_url_until_done() {
    let server = server_with_token().await;
    let soql = "SELECT Id FROM FieldPermissions WHERE ParentId = '0PS1'";
    Mock::given(method("GET"))
        .and(path(format!("{API}/query")))
        .and(query_param("q", soql))
        .and(bearer(ACCESS_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "totalSize": 3, "done": false,
            "nextRecordsUrl": "/services/data/v64.0/query/01gRO0000016PIAYA2-2000",
            "records": [{"attributes": {"type": "FieldPermissions"}, "Id": "01k1"}, {"Id": "01k2"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/query/01gRO0000016PIAYA2-2000")))
        .and(bearer(ACCESS_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "totalSize": 3, "done": true, "records": [{"Id": "01k3"}]
        })))
        .expect(1)
        .mount(&server)
        .await;

    let records: Vec<IdOnly> = org_on(&server).query(soql).await.unwrap();

    let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["01k1", "01k2", "01k3"]);
}

#[tokio::test]
async fn create_posts_the_fields_and_returns_the_id() {
    let server = server_with_token().await;
    let fields =
        json!({"Name": "Acme_Agent_g1", "Label": "Acme agent", "Description": "least privilege"});
    Mock::given(method("POST"))
        .and(path(format!("{API}/sobjects/PermissionSet")))
        .and(bearer(ACCESS_TOKEN))
        .and(header("content-type", "application/json"))
        .and(body_json(&fields))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"id": "0PS5g0000001", "success": true, "errors": []})),
        )
        .expect(1)
        .mount(&server)
        .await;

    let id = org_on(&server)
        .create("PermissionSet", &fields)
        .await
        .unwrap();

    assert_eq!(id, "0PS5g0000001");
}

#[tokio::test]
async fn a_duplicate_username_is_its_own_error() {
    let server = server_with_token().await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/sobjects/User")))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!([
            {"message": "Duplicate Username.", "errorCode": "DUPLICATE_USERNAME", "fields": ["Username"]}
        ])))
        .expect(1)
        .mount(&server)
        .await;

    let e = org_on(&server)
        .create("User", &json!({"Username": "a@b.c"}))
        .await
        .unwrap_err();

    assert!(
        matches!(e, SalesforceError::Duplicate { ref code, .. } if code == "DUPLICATE_USERNAME"),
        "{e:?}"
    );
}

#[tokio::test]
async fn update_patches_and_delete_deletes_by_id() {
    let server = server_with_token().await;
    Mock::given(method("PATCH"))
        .and(path(format!("{API}/sobjects/User/005A")))
        .and(bearer(ACCESS_TOKEN))
        .and(body_json(json!({"IsActive": false})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{API}/sobjects/PermissionSet/0PS1")))
        .and(bearer(ACCESS_TOKEN))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{API}/sobjects/PermissionSet/0PS2")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!([
            {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
        ])))
        .expect(1)
        .mount(&server)
        .await;
    let org = org_on(&server);

    org.update("User", "005A", &json!({"IsActive": false}))
        .await
        .unwrap();
    org.delete("PermissionSet", "0PS1").await.unwrap();
    let gone = org.delete("PermissionSet", "0PS2").await.unwrap_err();

    assert!(matches!(gone, SalesforceError::NotFound { .. }), "{gone:?}");
}

#[tokio::test]
async fn a_path_injection_in_an_id_is_refused_without_a_call() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .mount(&server)
        .await;

    let e = org_on(&server).delete("User", "../../x").await.unwrap_err();

    assert!(matches!(e, SalesforceError::Rejected { .. }), "{e:?}");
}

/// Answers a collections create with one success per record sent.
struct EchoSaveResults;

impl Respond for EchoSaveResults {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let n = body["records"].as_array().map_or(0, Vec::len);
        let results: Vec<Value> = (0..n)
            .map(|i| json!({"id": format!("01k{i:04}"), "success": true, "errors": []}))
            .collect();
        ResponseTemplate::new(200).set_body_json(results)
    }
}

fn field_permission(i: usize) -> Value {
    json!({
        "attributes": {"type": "FieldPermissions"},
        "ParentId": "0PS1", "SobjectType": "Account",
        "Field": format!("Account.F{i}__c"), "PermissionsRead": true, "PermissionsEdit": false
    })
}

#[tokio::test]
async fn create_many_sends_batches_of_at_most_200_all_or_none() {
    let server = server_with_token().await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/composite/sobjects")))
        .and(bearer(ACCESS_TOKEN))
        .respond_with(EchoSaveResults)
        .expect(3)
        .mount(&server)
        .await;
    let records: Vec<Value> = (0..450).map(field_permission).collect();

    let ids = org_on(&server).create_many(records.clone()).await.unwrap();

    assert_eq!(ids.len(), 450);
    let sent = server.received_requests().await.unwrap();
    let batches: Vec<Value> = sent
        .iter()
        .filter(|r| r.url.path().ends_with("/composite/sobjects"))
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    let sizes: Vec<usize> = batches
        .iter()
        .map(|b| b["records"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [200, 200, 50]);
    assert!(batches.iter().all(|b| b["allOrNone"] == json!(true)));
    assert_eq!(batches[1]["records"][0], records[200]);
}

#[tokio::test]
async fn a_failed_record_is_named_by_index_and_field() {
    let server = server_with_token().await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/composite/sobjects")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"success": false, "errors": [{"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": "Record rolled back", "fields": []}]},
            {"success": false, "errors": [{"statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "message": "Field: bad value for restricted picklist field: Account.F1__c", "fields": ["Field"]}]}
        ])))
        .expect(1)
        .mount(&server)
        .await;

    let e = org_on(&server)
        .create_many(vec![field_permission(0), field_permission(1)])
        .await
        .unwrap_err();

    match e {
        SalesforceError::UnknownField { field, message } => {
            assert_eq!(field, "Account.F1__c");
            assert!(message.starts_with("record 1:"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn delete_many_sends_ids_in_batches_and_ignores_records_already_gone() {
    let server = server_with_token().await;
    let ids: Vec<String> = (0..201).map(|i| format!("01k{i:04}")).collect();
    let first_batch = ids[..200].join(",");
    Mock::given(method("DELETE"))
        .and(path(format!("{API}/composite/sobjects")))
        .and(query_param("ids", first_batch.as_str()))
        .and(query_param("allOrNone", "false"))
        .and(bearer(ACCESS_TOKEN))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                (0..200)
                    .map(|i| json!({"id": format!("01k{i:04}"), "success": true, "errors": []}))
                    .collect::<Vec<_>>(),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{API}/composite/sobjects")))
        .and(query_param("ids", "01k0200"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"success": false, "errors": [{"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted", "fields": []}]}
        ])))
        .expect(1)
        .mount(&server)
        .await;

    org_on(&server).delete_many(&ids).await.unwrap();
}

#[tokio::test]
async fn composite_sends_subrequests_under_the_data_path_in_one_call() {
    let server = server_with_token().await;
    let expected = json!({
        "allOrNone": true,
        "compositeRequest": [
            {"method": "POST", "url": "/services/data/v64.0/sobjects/PermissionSet", "referenceId": "ps",
             "body": {"Name": "Acme_Agent_g1", "Label": "Acme agent"}},
            {"method": "POST", "url": "/services/data/v64.0/sobjects/PermissionSetAssignment", "referenceId": "psa",
             "body": {"AssigneeId": "005A", "PermissionSetId": "@{ps.id}"}}
        ]
    });
    Mock::given(method("POST"))
        .and(path(format!("{API}/composite")))
        .and(bearer(ACCESS_TOKEN))
        .and(body_json(&expected))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"compositeResponse": [
            {"body": {"id": "0PS1", "success": true, "errors": []}, "httpHeaders": {}, "httpStatusCode": 201, "referenceId": "ps"},
            {"body": {"id": "0Pa1", "success": true, "errors": []}, "httpHeaders": {}, "httpStatusCode": 201, "referenceId": "psa"}
        ]})))
        .expect(1)
        .mount(&server)
        .await;

    let answers = org_on(&server)
        .composite(
            true,
            vec![
                Subrequest::new(Method::POST, "sobjects/PermissionSet", "ps")
                    .with_body(json!({"Name": "Acme_Agent_g1", "Label": "Acme agent"})),
                Subrequest::new(Method::POST, "sobjects/PermissionSetAssignment", "psa")
                    .with_body(json!({"AssigneeId": "005A", "PermissionSetId": "@{ps.id}"})),
            ],
        )
        .await
        .unwrap();

    let ids: Vec<Option<&str>> = answers.iter().map(|a| a.id()).collect();
    assert_eq!(ids, [Some("0PS1"), Some("0Pa1")]);
}

/// Revocation relies on order (the user is deactivated before anything else): since API 49.0
/// Salesforce collates unrelated subrequests unless told not to, and then order is not kept.
#[tokio::test]
async fn a_composite_that_must_keep_its_order_asks_salesforce_not_to_collate() {
    let server = server_with_token().await;
    let expected = json!({
        "allOrNone": false,
        "collateSubrequests": false,
        "compositeRequest": [
            {"method": "PATCH", "url": "/services/data/v64.0/sobjects/User/005A",
             "referenceId": "deactivate", "body": {"IsActive": false}},
            {"method": "DELETE", "url": "/services/data/v64.0/sobjects/PermissionSetAssignment/0Pa1",
             "referenceId": "unassign"}
        ]
    });
    Mock::given(method("POST"))
        .and(path(format!("{API}/composite")))
        .and(body_json(&expected))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"compositeResponse": [
            {"body": null, "httpHeaders": {}, "httpStatusCode": 204, "referenceId": "deactivate"},
            {"body": null, "httpHeaders": {}, "httpStatusCode": 204, "referenceId": "unassign"}
        ]})))
        .expect(1)
        .mount(&server)
        .await;

    let answers = org_on(&server)
        .composite_in_order(
            false,
            vec![
                Subrequest::new(Method::PATCH, "sobjects/User/005A", "deactivate")
                    .with_body(json!({"IsActive": false})),
                Subrequest::new(
                    Method::DELETE,
                    "sobjects/PermissionSetAssignment/0Pa1",
                    "unassign",
                ),
            ],
        )
        .await
        .unwrap();
    assert!(answers.iter().all(|a| a.error().is_none()));
}

#[tokio::test]
async fn an_all_or_none_composite_reports_the_subrequest_that_failed() {
    let server = server_with_token().await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/composite")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"compositeResponse": [
            {"body": [{"errorCode": "DUPLICATE_VALUE", "message": "duplicate value found"}], "httpHeaders": {}, "httpStatusCode": 400, "referenceId": "psa"},
            {"body": [{"errorCode": "PROCESSING_HALTED", "message": "The transaction was rolled back"}], "httpHeaders": {}, "httpStatusCode": 400, "referenceId": "other"}
        ]})))
        .expect(1)
        .mount(&server)
        .await;

    let e = org_on(&server)
        .composite(
            true,
            vec![Subrequest::new(
                Method::POST,
                "sobjects/PermissionSetAssignment",
                "psa",
            )],
        )
        .await
        .unwrap_err();

    match e {
        SalesforceError::Duplicate { code, message } => {
            assert_eq!(code, "DUPLICATE_VALUE");
            assert!(message.contains("psa"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn more_than_25_subrequests_are_refused_without_a_call() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let many = (0..26)
        .map(|i| Subrequest::new(Method::GET, "limits", format!("r{i}")))
        .collect();

    assert!(org_on(&server).composite(false, many).await.is_err());
}
