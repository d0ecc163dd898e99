//! sObject Collections as Composite subrequests, and `PATCH /composite/sobjects`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

fn sub(method: &str, path: &str, reference: &str, body: Option<Value>) -> Value {
    let mut request = json!({"method": method, "url": format!("/services/data/{V}/{path}"), "referenceId": reference});
    if let Some(body) = body {
        request["body"] = body;
    }
    request
}

fn field_grant(parent: &str, field: &str) -> Value {
    json!({"attributes": {"type": "FieldPermissions"}, "ParentId": parent,
           "SobjectType": field.split('.').next(), "Field": field, "PermissionsRead": true})
}

fn object_grant(parent: &str, object: &str) -> Value {
    json!({"attributes": {"type": "ObjectPermissions"}, "ParentId": parent,
           "SobjectType": object, "PermissionsRead": true})
}

fn responses(answer: &Value) -> Vec<Value> {
    answer["compositeResponse"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_collection_subrequest_resolves_references_and_answers_save_results() {
    let env = start().await;
    env.org.reset_api_calls();
    let body = json!({"allOrNone": true, "compositeRequest": [
        sub("POST", "sobjects/PermissionSet", "ps", Some(json!({"Name": "Agent", "Label": "Agent"}))),
        sub("POST", "composite/sobjects", "objects0", Some(json!({"allOrNone": true, "records": [
            object_grant("@{ps.id}", "Account"), object_grant("@{ps.id}", "Contact")]}))),
        sub("POST", "composite/sobjects", "fields0", Some(json!({"allOrNone": true, "records": [
            field_grant("@{ps.id}", "Account.Industry")]}))),
    ]});
    let (status, answer) = env.post("composite", body).await;
    assert_eq!(status, 200, "{answer}");
    let responses = responses(&answer);
    assert_eq!(responses.len(), 3);
    let objects = &responses[1];
    assert_eq!(objects["httpStatusCode"], 200, "{objects}");
    assert_eq!(objects["referenceId"], "objects0");
    assert_eq!(objects["httpHeaders"], json!({}));
    let results = objects["body"].as_array().cloned().unwrap_or_default();
    assert_eq!(results.len(), 2);
    for result in &results {
        assert_eq!(result["success"], true, "{result}");
        assert_eq!(result["errors"], json!([]));
        assert!(
            result["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("110"))
        );
    }
    assert_eq!(responses[2]["body"][0]["success"], true);
    assert_eq!(env.org.api_calls().api_usage, 1);
    let snapshot = env.org.snapshot();
    let ps = snapshot.permission_set("Agent").expect("created");
    assert_eq!(snapshot.objects_granted(&ps.id).len(), 2);
    let granted: Vec<String> = snapshot.fields_granted(&ps.id).into_iter().collect();
    assert_eq!(granted, vec!["Account.Industry".to_string()]);
}

#[tokio::test]
async fn a_failed_record_in_a_collection_rolls_back_an_all_or_none_composite() {
    let env = start().await;
    // The collection's own allOrNone is false: the all-or-none composite overrides it.
    let body = json!({"allOrNone": true, "compositeRequest": [
        sub("POST", "sobjects/PermissionSet", "ps", Some(json!({"Name": "Agent", "Label": "Agent"}))),
        sub("POST", "composite/sobjects", "fields0", Some(json!({"allOrNone": false, "records": [
            field_grant("@{ps.id}", "Account.Industry"), field_grant("@{ps.id}", "Account.Bogus__c")]}))),
        sub("GET", "limits", "after", None),
    ]});
    let (status, answer) = env.post("composite", body).await;
    assert_eq!(status, 200, "{answer}");
    let responses = responses(&answer);
    assert_eq!(responses[0]["httpStatusCode"], 400);
    assert_eq!(responses[0]["body"][0]["errorCode"], "PROCESSING_HALTED");
    assert_eq!(responses[1]["httpStatusCode"], 200);
    assert_eq!(
        responses[1]["body"],
        json!([
            {"success": false, "errors": [{"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": "Record rolled back because not all records were valid and the request was using AllOrNone header", "fields": []}]},
            {"success": false, "errors": [{"statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "message": "Field Name: bad value for restricted picklist field: Account.Bogus__c", "fields": ["Field"]}]},
        ])
    );
    assert_eq!(responses[2]["httpStatusCode"], 400);
    assert_eq!(responses[2]["body"][0]["errorCode"], "PROCESSING_HALTED");
    let snapshot = env.org.snapshot();
    assert!(snapshot.permission_sets.is_empty());
    assert!(snapshot.field_permissions.is_empty());
}

#[tokio::test]
async fn without_all_or_none_a_collection_keeps_its_good_records_and_the_call_goes_on() {
    let env = start().await;
    let body = json!({"allOrNone": false, "compositeRequest": [
        sub("POST", "sobjects/PermissionSet", "ps", Some(json!({"Name": "Agent", "Label": "Agent"}))),
        sub("POST", "composite/sobjects", "fields0", Some(json!({"allOrNone": false, "records": [
            field_grant("@{ps.id}", "Account.Industry"), field_grant("@{ps.id}", "Account.Bogus__c")]}))),
        sub("POST", "sobjects/ObjectPermissions", "op", Some(object_grant("@{ps.id}", "Account"))),
    ]});
    let (status, answer) = env.post("composite", body).await;
    assert_eq!(status, 200, "{answer}");
    let responses = responses(&answer);
    assert_eq!(responses[0]["httpStatusCode"], 201);
    assert_eq!(responses[1]["body"][0]["success"], true);
    assert_eq!(responses[1]["body"][1]["success"], false);
    assert_eq!(responses[2]["httpStatusCode"], 201);
    let snapshot = env.org.snapshot();
    let ps = snapshot.permission_set("Agent").expect("kept");
    assert_eq!(snapshot.fields_granted(&ps.id).len(), 1);
    assert_eq!(snapshot.objects_granted(&ps.id).len(), 1);
}

/// A permission set with Account read and Account.Industry read + edit; answers (ps, field grant id).
async fn granted_set(env: &Env) -> (String, String) {
    let (_, ps) = env
        .post(
            "sobjects/PermissionSet",
            json!({"Name": "Agent", "Label": "Agent"}),
        )
        .await;
    let ps = ps["id"].as_str().expect("ps").to_string();
    let (status, _) = env
        .post(
            "sobjects/ObjectPermissions",
            json!({"ParentId": ps, "SobjectType": "Account", "PermissionsRead": true, "PermissionsEdit": true}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, field) = env
        .post(
            "sobjects/FieldPermissions",
            json!({"ParentId": ps, "SobjectType": "Account", "Field": "Account.Industry", "PermissionsRead": true, "PermissionsEdit": true}),
        )
        .await;
    assert_eq!(status, 201, "{field}");
    (ps, field["id"].as_str().expect("field").to_string())
}

#[tokio::test]
async fn collections_update_by_id_and_name_a_missing_id() {
    let env = start().await;
    let (_, field) = granted_set(&env).await;
    let (status, body) = env
        .call(
            Method::PATCH,
            "composite/sobjects",
            Some(json!({"allOrNone": false, "records": [
                {"attributes": {"type": "FieldPermissions"}, "id": field, "PermissionsEdit": false},
                {"attributes": {"type": "FieldPermissions"}, "PermissionsEdit": false},
            ]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!([
            {"id": field, "success": true, "errors": []},
            {"success": false, "errors": [{"statusCode": "MISSING_ARGUMENT", "message": "Id not specified in an update call", "fields": []}]},
        ])
    );
    let (_, rows) = env
        .query(&format!(
            "SELECT PermissionsRead, PermissionsEdit FROM FieldPermissions WHERE Id = '{field}'"
        ))
        .await;
    assert_eq!(rows["records"][0]["PermissionsRead"], true);
    assert_eq!(rows["records"][0]["PermissionsEdit"], false);
}

#[tokio::test]
async fn collection_updates_and_deletes_run_as_subrequests() {
    let env = start().await;
    let (ps, field) = granted_set(&env).await;
    let object = env
        .id_of(&format!(
            "SELECT Id FROM ObjectPermissions WHERE ParentId = '{ps}'"
        ))
        .await;
    let body = json!({"allOrNone": true, "compositeRequest": [
        sub("PATCH", "composite/sobjects", "restrict0", Some(json!({"allOrNone": true, "records": [
            {"attributes": {"type": "FieldPermissions"}, "id": field, "PermissionsEdit": false}]}))),
        sub("DELETE", &format!("composite/sobjects?ids={field},{object}&allOrNone=true"), "revoke0", None),
    ]});
    let (status, answer) = env.post("composite", body).await;
    assert_eq!(status, 200, "{answer}");
    let responses = responses(&answer);
    assert_eq!(
        responses[0]["body"],
        json!([{"id": field, "success": true, "errors": []}])
    );
    assert_eq!(
        responses[1]["body"],
        json!([{"id": field, "success": true, "errors": []}, {"id": object, "success": true, "errors": []}])
    );
    let snapshot = env.org.snapshot();
    assert!(snapshot.field_permissions.is_empty());
    assert!(snapshot.objects_granted(&ps).is_empty());
}

#[tokio::test]
async fn collections_count_toward_the_five_and_nested_composites_are_refused() {
    let env = start().await;
    let collection = sub(
        "POST",
        "composite/sobjects",
        "c",
        Some(json!({"records": []})),
    );
    let query = sub("GET", "query?q=SELECT+Id+FROM+Account", "q", None);
    let mut requests = vec![collection.clone(); 3];
    requests.extend(vec![query; 3]);
    let (status, body) = env
        .post("composite", json!({"compositeRequest": requests}))
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!([{"message": "Limit exceeded: the maximum number of query subrequests is 5", "errorCode": "LIMIT_EXCEEDED"}])
        )
    );
    let nested = sub(
        "POST",
        "composite",
        "n",
        Some(json!({"compositeRequest": []})),
    );
    let old = json!({"method": "POST", "url": "/services/data/v42.0/composite/sobjects", "referenceId": "old", "body": {"records": []}});
    let (status, answer) = env
        .post("composite", json!({"compositeRequest": [nested, old]}))
        .await;
    assert_eq!(status, 200);
    for response in responses(&answer) {
        assert_eq!(response["httpStatusCode"], 400);
        assert_eq!(
            response["body"],
            json!([{"message": "This resource is not supported as a composite subrequest", "errorCode": "INVALID_INPUT"}])
        );
    }
}
