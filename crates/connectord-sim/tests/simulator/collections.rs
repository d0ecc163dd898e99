use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

fn field_permission(ps: &str, field: &str) -> Value {
    json!({"attributes": {"type": "FieldPermissions"}, "ParentId": ps, "SobjectType": field.split('.').next(), "Field": field, "PermissionsRead": true, "PermissionsEdit": false})
}

async fn permission_set(env: &Env) -> String {
    let (_, body) = env
        .post(
            "sobjects/PermissionSet",
            json!({"Name": "Agent", "Label": "Agent"}),
        )
        .await;
    body["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn collections_answer_one_save_result_per_record_and_roll_back_all_or_none() {
    let env = start().await;
    let ps = permission_set(&env).await;
    let records = vec![
        field_permission(&ps, "Account.Industry"),
        field_permission(&ps, "Account.Bogus__c"),
    ];
    let (status, body) = env
        .post(
            "composite/sobjects",
            json!({"allOrNone": true, "records": records}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!([
            {"success": false, "errors": [{"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": "Record rolled back because not all records were valid and the request was using AllOrNone header", "fields": []}]},
            {"success": false, "errors": [{"statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "message": "Field Name: bad value for restricted picklist field: Account.Bogus__c", "fields": ["Field"]}]},
        ])
    );
    assert!(env.org.snapshot().field_permissions.is_empty());
    let records = vec![
        field_permission(&ps, "Account.Industry"),
        field_permission(&ps, "Contact.Email"),
    ];
    let (status, body) = env
        .post(
            "composite/sobjects",
            json!({"allOrNone": true, "records": records}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body[0]["success"], true);
    assert_eq!(body[1]["success"], true);
    let granted: Vec<String> = env.org.snapshot().fields_granted(&ps).into_iter().collect();
    assert_eq!(
        granted,
        vec!["Account.Industry".to_string(), "Contact.Email".to_string()]
    );
    let ids = format!(
        "{},{}",
        body[0]["id"].as_str().unwrap_or_default(),
        body[1]["id"].as_str().unwrap_or_default()
    );
    let (status, body) = env
        .call(
            Method::DELETE,
            &format!("composite/sobjects?ids={ids}&allOrNone=true"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body[0]["success"], true);
    assert!(env.org.snapshot().field_permissions.is_empty());
}

#[tokio::test]
async fn collections_refuse_more_than_two_hundred_records() {
    let env = start().await;
    let ps = permission_set(&env).await;
    let records: Vec<Value> = (0..201)
        .map(|_| field_permission(&ps, "Account.Industry"))
        .collect();
    let (status, body) = env
        .post(
            "composite/sobjects",
            json!({"allOrNone": true, "records": records}),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!([{"message": "record limit reached. cannot submit more than 200 records into this call", "errorCode": "EXCEEDED_ID_LIMIT"}])
        )
    );
}

#[tokio::test]
async fn setup_and_non_setup_objects_cannot_share_a_collection() {
    let env = start().await;
    let records = vec![
        json!({"attributes": {"type": "Account"}, "Name": "Mixed"}),
        json!({"attributes": {"type": "PermissionSet"}, "Name": "Mixed", "Label": "Mixed"}),
    ];
    let (status, body) = env
        .post(
            "composite/sobjects",
            json!({"allOrNone": false, "records": records}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body[0]["success"], true);
    assert_eq!(
        body[1],
        json!({"success": false, "errors": [{"statusCode": "MIXED_DML_OPERATION", "message": "DML operation on setup object is not permitted after you have updated a non-setup object (or vice versa): PermissionSet, original object: Account", "fields": []}]})
    );
}

#[tokio::test]
async fn composite_resolves_references_and_counts_as_one_call() {
    let env = start().await;
    env.org.reset_api_calls();
    let body = json!({"allOrNone": true, "compositeRequest": [
        {"method": "POST", "url": format!("/services/data/{V}/sobjects/PermissionSet"), "referenceId": "ps", "body": {"Name": "Agent", "Label": "Agent"}},
        {"method": "POST", "url": format!("/services/data/{V}/sobjects/ObjectPermissions"), "referenceId": "op", "body": {"ParentId": "@{ps.id}", "SobjectType": "Account", "PermissionsRead": true}},
        {"method": "GET", "url": format!("/services/data/{V}/query?q=SELECT+Id+FROM+PermissionSet+WHERE+Name+%3D+%27Agent%27"), "referenceId": "q"},
    ]});
    let (status, answer) = env.post("composite", body).await;
    assert_eq!(status, 200, "{answer}");
    let responses = answer["compositeResponse"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(responses.len(), 3);
    assert_eq!(responses[0]["httpStatusCode"], 201);
    assert_eq!(responses[1]["httpStatusCode"], 201);
    assert_eq!(responses[2]["body"]["totalSize"], 1);
    assert_eq!(env.org.api_calls().api_usage, 1);
    let snapshot = env.org.snapshot();
    let ps = snapshot.permission_set("Agent").expect("created");
    assert_eq!(snapshot.objects_granted(&ps.id).len(), 1);
}

#[tokio::test]
async fn composite_all_or_none_rolls_back_and_halts_the_others() {
    let env = start().await;
    let body = json!({"allOrNone": true, "collateSubrequests": false, "compositeRequest": [
        {"method": "POST", "url": format!("/services/data/{V}/sobjects/PermissionSet"), "referenceId": "ps", "body": {"Name": "Agent", "Label": "Agent"}},
        {"method": "POST", "url": format!("/services/data/{V}/sobjects/PermissionSet"), "referenceId": "dup", "body": {"Name": "Agent", "Label": "Again"}},
    ]});
    let (status, answer) = env.post("composite", body).await;
    assert_eq!(status, 200);
    assert_eq!(answer["compositeResponse"][0]["httpStatusCode"], 400);
    assert_eq!(
        answer["compositeResponse"][0]["body"][0]["errorCode"],
        "PROCESSING_HALTED"
    );
    assert_eq!(
        answer["compositeResponse"][1]["body"][0]["errorCode"],
        "DUPLICATE_DEVELOPER_NAME"
    );
    assert!(env.org.snapshot().permission_sets.is_empty());
}

#[tokio::test]
async fn composite_limits_subrequests_and_queries() {
    let env = start().await;
    let query = json!({"method": "GET", "url": format!("/services/data/{V}/query?q=SELECT+Id+FROM+Account"), "referenceId": "q"});
    let limits =
        json!({"method": "GET", "url": format!("/services/data/{V}/limits"), "referenceId": "l"});
    let (status, body) = env
        .post("composite", json!({"compositeRequest": vec![limits; 26]}))
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!([{"message": "Limit exceeded: the maximum number of subrequests is 25", "errorCode": "LIMIT_EXCEEDED"}])
        )
    );
    let (status, body) = env
        .post("composite", json!({"compositeRequest": vec![query; 6]}))
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!([{"message": "Limit exceeded: the maximum number of query subrequests is 5", "errorCode": "LIMIT_EXCEEDED"}])
        )
    );
}
