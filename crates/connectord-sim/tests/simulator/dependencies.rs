//! Object-permission dependencies (issue 21 item 6): Read on Contact, Opportunity, Case and
//! Contract needs Read on Account in the same permission set, refused as Salesforce does.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn read_contact_without_read_account_is_refused_with_the_dependency_message() {
    let env = start().await;
    let (status, body) = env
        .post(
            "sobjects/PermissionSet",
            json!({"Name": "Agent", "Label": "Agent"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let ps = body["id"].as_str().unwrap().to_owned();
    let read =
        |object: &str| json!({"ParentId": ps, "SobjectType": object, "PermissionsRead": true});
    for (object, plural) in [("Contact", "Contacts"), ("Opportunity", "Opportunities")] {
        let (status, body) = env.post("sobjects/ObjectPermissions", read(object)).await;
        assert_eq!(
            (status, body),
            (
                400,
                json!([{"message": format!("Permission Read {plural} depends on permission(s): Read Accounts"), "errorCode": "FIELD_INTEGRITY_EXCEPTION", "fields": ["PermissionsRead"]}])
            ),
            "{object}"
        );
    }
    let (status, body) = env
        .post("sobjects/ObjectPermissions", read("Account"))
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = env
        .post("sobjects/ObjectPermissions", read("Contact"))
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = env.post("sobjects/ObjectPermissions", read("Lead")).await;
    assert_eq!(status, 201, "{body}");
}
