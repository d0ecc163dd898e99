use connectord_sim::OrgConfig;
use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn users_cannot_be_deleted() {
    let env = start().await;
    let id = env.integration_user("agent@acme-int.example.com").await;
    let (status, body) = env
        .call(Method::DELETE, &format!("sobjects/User/{id}"), None)
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!([{"message": "entity type cannot be deleted", "errorCode": "INVALID_TYPE_FOR_OPERATION"}])
        )
    );
    assert!(env.org.snapshot().users.iter().any(|u| u.id == id));
}

#[tokio::test]
async fn an_alias_longer_than_eight_characters_is_refused() {
    let env = start().await;
    let profile = env.integration_profile().await;
    let (status, body) = env
        .post(
            "sobjects/User",
            user_body("a@acme-int.example.com", "ninechars", &profile),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!([{"message": "Alias: data value too large: ninechars (max length=8)", "errorCode": "STRING_TOO_LONG", "fields": ["Alias"]}])
        )
    );
}

#[tokio::test]
async fn missing_required_fields_are_named() {
    let env = start().await;
    let (status, body) = env
        .post(
            "sobjects/User",
            json!({"Username": "x@acme-int.example.com", "LastName": "X"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!([{"message": "Required fields are missing: [Email, Alias, TimeZoneSidKey, LocaleSidKey, EmailEncodingKey, ProfileId, LanguageLocaleKey]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["Email", "Alias", "TimeZoneSidKey", "LocaleSidKey", "EmailEncodingKey", "ProfileId", "LanguageLocaleKey"]}])
    );
}

#[tokio::test]
async fn an_unknown_field_on_create_is_invalid_field() {
    let env = start().await;
    let (status, body) = env
        .post("sobjects/Account", json!({"Name": "X", "Colour__c": "red"}))
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!([{"message": "No such column 'Colour__c' on sobject of type Account", "errorCode": "INVALID_FIELD"}])
        )
    );
}

#[tokio::test]
async fn integration_seats_run_out_with_a_licence_error() {
    let mut config = OrgConfig::named("acme");
    config.integration_licenses = 1;
    let env = start_with(vec![config]).await;
    env.integration_user("one@acme-int.example.com").await;
    let profile = env.integration_profile().await;
    let (status, body) = env
        .post(
            "sobjects/User",
            user_body("two@acme-int.example.com", "two", &profile),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!([{"message": "License Limit Exceeded", "errorCode": "LICENSE_LIMIT_EXCEEDED"}])
        )
    );
    let (_, licence) = env.query("SELECT Name, TotalLicenses, UsedLicenses FROM UserLicense WHERE Name = 'Salesforce Integration'").await;
    assert_eq!(licence["records"][0]["UsedLicenses"], 1);
    assert_eq!(licence["records"][0]["TotalLicenses"], 1);
}

async fn permission_set(env: &Env, name: &str) -> String {
    let (status, body) = env
        .post(
            "sobjects/PermissionSet",
            json!({"Name": name, "Label": name}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn permission_set_names_follow_the_api_name_rules() {
    let env = start().await;
    let rules = "The API name can only contain underscores and alphanumeric characters. It must be unique, begin with a letter, not include spaces, not end with an underscore, and not contain two consecutive underscores.";
    for bad in ["1abc", "a__b", "abc_", "has space"] {
        let (status, body) = env
            .post("sobjects/PermissionSet", json!({"Name": bad, "Label": "x"}))
            .await;
        assert_eq!(
            (status, body),
            (
                400,
                json!([{"message": rules, "errorCode": "FIELD_INTEGRITY_EXCEPTION", "fields": ["Name"]}])
            ),
            "{bad}"
        );
    }
    let long = "a".repeat(81);
    let (status, body) = env
        .post(
            "sobjects/PermissionSet",
            json!({"Name": long, "Label": "x"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], "STRING_TOO_LONG");
    permission_set(&env, "Agent_Access").await;
    let (status, body) = env
        .post(
            "sobjects/PermissionSet",
            json!({"Name": "agent_access", "Label": "x"}),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!([{"message": "The API name you entered is already in use. Enter a unique API name.", "errorCode": "DUPLICATE_DEVELOPER_NAME", "fields": ["Name"]}])
        )
    );
}

#[tokio::test]
async fn field_permissions_field_is_a_restricted_picklist() {
    let env = start().await;
    let ps = permission_set(&env, "Agent").await;
    for field in ["Account.Colour__c", "Account.Name", "Account.Id"] {
        let (status, body) = env.post("sobjects/FieldPermissions", json!({"ParentId": ps, "SobjectType": "Account", "Field": field, "PermissionsRead": true})).await;
        assert_eq!(
            (status, body),
            (
                400,
                json!([{"message": format!("Field Name: bad value for restricted picklist field: {field}"), "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "fields": ["Field"]}])
            ),
            "{field}"
        );
    }
    let (status, body) = env.post("sobjects/FieldPermissions", json!({"ParentId": ps, "SobjectType": "Account", "Field": "Account.Tier__c", "PermissionsRead": true})).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn edit_needs_read_and_an_editable_field() {
    let env = start().await;
    let ps = permission_set(&env, "Agent").await;
    let (status, body) = env.post("sobjects/FieldPermissions", json!({"ParentId": ps, "SobjectType": "Account", "Field": "Account.Industry", "PermissionsRead": false, "PermissionsEdit": true})).await;
    assert_eq!(
        (status, body),
        (
            400,
            json!([{"message": "Permission Edit depends on permission(s): Read", "errorCode": "FIELD_INTEGRITY_EXCEPTION", "fields": ["PermissionsEdit"]}])
        )
    );
    let (status, body) = env.post("sobjects/FieldPermissions", json!({"ParentId": ps, "SobjectType": "Account", "Field": "Account.Health_Score__c", "PermissionsRead": true, "PermissionsEdit": true})).await;
    assert_eq!(
        (status, body),
        (
            400,
            json!([{"message": "Field Account.Health_Score__c is read-only: it can be granted Read but not Edit", "errorCode": "FIELD_INTEGRITY_EXCEPTION", "fields": ["PermissionsEdit"]}])
        )
    );
}

#[tokio::test]
async fn integration_users_need_the_psl_before_object_access_and_assignments_are_unique() {
    let env = start().await;
    let user = env.integration_user("agent@acme-int.example.com").await;
    let ps = permission_set(&env, "Agent").await;
    let (status, _) = env
        .post(
            "sobjects/ObjectPermissions",
            json!({"ParentId": ps, "SobjectType": "Account", "PermissionsRead": true}),
        )
        .await;
    assert_eq!(status, 201);
    let assignment = json!({"AssigneeId": user, "PermissionSetId": ps});
    let (status, body) = env
        .post("sobjects/PermissionSetAssignment", assignment.clone())
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!([{"message": "Can't assign permission set Agent to user agent@acme-int.example.com. The user license doesn't allow the permission: Read Account", "errorCode": "FIELD_INTEGRITY_EXCEPTION", "fields": ["PermissionSetId"]}])
        )
    );
    let psl = env.id_of("SELECT Id, TotalLicenses, UsedLicenses FROM PermissionSetLicense WHERE DeveloperName = 'SalesforceAPIIntegrationPsl'").await;
    let (status, body) = env
        .post(
            "sobjects/PermissionSetLicenseAssign",
            json!({"AssigneeId": user, "PermissionSetLicenseId": psl}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = env
        .post("sobjects/PermissionSetAssignment", assignment.clone())
        .await;
    assert_eq!(status, 201);
    let (status, body) = env
        .post("sobjects/PermissionSetAssignment", assignment)
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!([{"message": "duplicate value found: <unknown> duplicates value on record with id: <unknown>", "errorCode": "DUPLICATE_VALUE"}])
        )
    );
    let (status, body) = env
        .call(
            Method::DELETE,
            &format!("sobjects/PermissionSet/{ps}"),
            None,
        )
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!([{"message": "This permission set is assigned to one or more users. Remove the assignments before you delete it.", "errorCode": "DELETE_FAILED"}])
        )
    );
    let snapshot = env.org.snapshot();
    assert_eq!(snapshot.permission_set_assignments.len(), 1);
    assert_eq!(
        snapshot
            .objects_granted(&ps)
            .into_iter()
            .collect::<Vec<_>>(),
        vec!["Account".to_string()]
    );
}

#[tokio::test]
async fn soql_answers_the_reconciler_shapes_and_pages() {
    let env = start().await;
    env.org.set_query_page_size(2);
    let (status, body) = env.query("SELECT Id, Username, IsActive, ProfileId, Profile.Name FROM User WHERE Username IN ('admin@acme.example.com')").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["totalSize"], 1);
    assert_eq!(
        body["records"][0]["Profile"]["Name"],
        "System Administrator"
    );
    assert_eq!(body["records"][0]["attributes"]["type"], "User");
    let (_, page1) = env
        .query("SELECT Id, Name FROM Account ORDER BY Name")
        .await;
    assert_eq!(page1["totalSize"], 3);
    assert_eq!(page1["done"], false);
    assert_eq!(page1["records"][0]["Name"], "Acme Corporation");
    let next = page1["nextRecordsUrl"]
        .as_str()
        .expect("next page")
        .to_string();
    let response = env
        .http
        .get(format!(
            "{}{}",
            env.org.instance_url().as_str().trim_end_matches('/'),
            next
        ))
        .bearer_auth(&env.token)
        .send()
        .await
        .expect("sent");
    let page2: serde_json::Value = response.json().await.expect("json");
    assert_eq!(page2["done"], true);
    assert_eq!(page2["records"][0]["Name"], "Initech");
}

#[tokio::test]
async fn soql_errors_have_salesforce_codes_and_positions() {
    let env = start().await;
    let (status, body) = env.query("SELECT Id, Colour FROM Account").await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], "INVALID_FIELD");
    assert_eq!(
        body[0]["message"],
        "\nSELECT Id, Colour FROM Account\n           ^\nERROR at Row:1:Column:12\nNo such column 'Colour' on entity 'Account'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."
    );
    let (status, body) = env.query("SELECT Id FROM Widget__c").await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], "INVALID_TYPE");
    assert!(
        body[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("sObject type 'Widget__c' is not supported.")
    );
    let (status, body) = env.query("SELECT Id FROM Account WHERE").await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], "MALFORMED_QUERY");
}

#[tokio::test]
async fn every_rest_answer_reports_api_usage_and_the_allowance_runs_out() {
    let mut config = OrgConfig::named("acme");
    config.daily_api_limit = 2;
    let env = start_with(vec![config]).await;
    let response = env
        .http
        .get(format!("{}services/data/", env.org.instance_url()))
        .send()
        .await
        .expect("sent");
    assert!(response.headers().get("Sforce-Limit-Info").is_none());
    let first = env
        .http
        .get(env.url("limits"))
        .bearer_auth(&env.token)
        .send()
        .await
        .expect("sent");
    assert_eq!(first.headers()["Sforce-Limit-Info"], "api-usage=1/2");
    let body: serde_json::Value = first.json().await.expect("json");
    assert_eq!(body["DailyApiRequests"], json!({"Max": 2, "Remaining": 1}));
    let (status, _) = env.get("limits").await;
    assert_eq!(status, 200);
    let (status, body) = env.get("limits").await;
    assert_eq!(
        (status, body),
        (
            403,
            json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
        )
    );
    assert_eq!(env.org.api_calls().get("limits"), 3);
}
