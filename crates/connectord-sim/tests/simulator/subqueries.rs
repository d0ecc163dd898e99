//! SOQL parent-to-child subqueries, parent paths in WHERE, and the reads the reconciler makes
//! (admin observation in one Composite call; the client-credentials probe).

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const PERMISSION_SET_QUERY: &str = "SELECT Id, (SELECT Id, SobjectType, PermissionsRead, PermissionsCreate, PermissionsEdit, PermissionsDelete, PermissionsViewAllRecords, PermissionsModifyAllRecords FROM ObjectPerms), (SELECT Id, Field, PermissionsRead, PermissionsEdit FROM FieldPerms), (SELECT Id, AssigneeId FROM Assignments) FROM PermissionSet WHERE Name = 'Agent'";

/// An integration user holding the PSL and permission set `Agent` (Account read,
/// Account.Industry read); answers (user id, permission set id).
async fn provisioned(env: &Env, username: &str) -> (String, String) {
    let user = env.integration_user(username).await;
    let psl = env.id_of("SELECT Id FROM PermissionSetLicense WHERE DeveloperName = 'SalesforceAPIIntegrationPsl'").await;
    let (status, _) = env
        .post(
            "sobjects/PermissionSetLicenseAssign",
            json!({"AssigneeId": user, "PermissionSetLicenseId": psl}),
        )
        .await;
    assert_eq!(status, 201);
    let (_, ps) = env
        .post(
            "sobjects/PermissionSet",
            json!({"Name": "Agent", "Label": "Agent"}),
        )
        .await;
    let ps = ps["id"].as_str().expect("ps").to_string();
    for (object, body) in [
        (
            "ObjectPermissions",
            json!({"ParentId": ps, "SobjectType": "Account", "PermissionsRead": true}),
        ),
        (
            "FieldPermissions",
            json!({"ParentId": ps, "SobjectType": "Account", "Field": "Account.Industry", "PermissionsRead": true}),
        ),
        (
            "PermissionSetAssignment",
            json!({"AssigneeId": user, "PermissionSetId": ps}),
        ),
    ] {
        let (status, answer) = env.post(&format!("sobjects/{object}"), body).await;
        assert_eq!(status, 201, "{answer}");
    }
    (user, ps)
}

#[tokio::test]
async fn child_relationships_nest_a_result_per_parent_or_null() {
    let env = start().await;
    let (user, ps) = provisioned(&env, "agent@acme-int.example.com").await;
    let (status, body) = env.query(PERMISSION_SET_QUERY).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["totalSize"], 1);
    let row = &body["records"][0];
    assert_eq!(row["Id"], ps.as_str());
    let objects = &row["ObjectPerms"];
    assert_eq!(objects["totalSize"], 1);
    assert_eq!(objects["done"], true);
    let grant = &objects["records"][0];
    assert_eq!(grant["attributes"]["type"], "ObjectPermissions");
    assert_eq!(grant["SobjectType"], "Account");
    assert_eq!(grant["PermissionsRead"], true);
    assert_eq!(grant["PermissionsEdit"], false);
    assert_eq!(row["FieldPerms"]["records"][0]["Field"], "Account.Industry");
    assert_eq!(row["FieldPerms"]["records"][0]["PermissionsEdit"], false);
    assert_eq!(row["Assignments"]["totalSize"], 1);
    assert_eq!(
        row["Assignments"]["records"][0]["AssigneeId"],
        user.as_str()
    );
    assert!(
        row["Assignments"]["records"][0]["attributes"]["url"]
            .as_str()
            .is_some_and(|u| u.contains("/sobjects/PermissionSetAssignment/0Pa"))
    );
    let (status, _) = env
        .post(
            "sobjects/PermissionSet",
            json!({"Name": "Empty", "Label": "Empty"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, body) = env
        .query("SELECT Name, (SELECT Id FROM ObjectPerms WHERE SobjectType = 'Account'), (SELECT Id FROM Assignments) FROM PermissionSet ORDER BY Name")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["records"][0]["Name"], "Agent");
    assert_eq!(body["records"][0]["ObjectPerms"]["totalSize"], 1);
    assert_eq!(body["records"][1]["Name"], "Empty");
    assert_eq!(body["records"][1]["ObjectPerms"], Value::Null);
    assert_eq!(body["records"][1]["Assignments"], Value::Null);
}

#[tokio::test]
async fn an_unknown_child_relationship_is_an_invalid_type() {
    let env = start().await;
    let soql = "SELECT Id, (SELECT Id FROM Grants) FROM PermissionSet";
    let (status, body) = env.query(soql).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!([{"errorCode": "INVALID_TYPE", "message": format!("\n{soql}\n{}^\nERROR at Row:1:Column:28\nDidn't understand relationship 'Grants' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.", " ".repeat(27))}])
    );
    let (status, body) = env
        .query("SELECT Id, (SELECT Bogus FROM ObjectPerms) FROM PermissionSet")
        .await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], "INVALID_FIELD", "{body}");
    assert!(
        body[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("No such column 'Bogus' on entity 'ObjectPermissions'"))
    );
}

#[tokio::test]
async fn parent_paths_filter_in_where() {
    let env = start().await;
    provisioned(&env, "agent@acme-int.example.com").await;
    env.integration_user("other@acme-int.example.com").await;
    let (status, body) = env
        .query("SELECT Id FROM PermissionSetLicenseAssign WHERE Assignee.Username = 'agent@acme-int.example.com' AND PermissionSetLicense.DeveloperName = 'SalesforceAPIIntegrationPsl'")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["totalSize"], 1);
    assert!(
        body["records"][0]["Id"]
            .as_str()
            .is_some_and(|id| id.len() == 18)
    );
    let (_, body) = env
        .query("SELECT Id FROM PermissionSetLicenseAssign WHERE Assignee.Username = 'other@acme-int.example.com' AND PermissionSetLicense.DeveloperName = 'SalesforceAPIIntegrationPsl'")
        .await;
    assert_eq!(body["totalSize"], 0);
    assert_eq!(body["records"], json!([]));
    let (status, body) = env
        .query("SELECT Id, IsActive FROM User WHERE Username = 'agent@acme-int.example.com'")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["totalSize"], 1);
    assert_eq!(body["records"][0]["IsActive"], true);
}

#[tokio::test]
async fn the_reconciler_observes_a_set_in_one_composite_call() {
    let env = start().await;
    provisioned(&env, "agent@acme-int.example.com").await;
    env.org.reset_api_calls();
    let q = |soql: &str| {
        let encoded: String = url::form_urlencoded::byte_serialize(soql.as_bytes()).collect();
        format!("/services/data/{V}/query?q={encoded}")
    };
    let body = json!({"allOrNone": false, "compositeRequest": [
        {"method": "GET", "referenceId": "user", "url": q("SELECT Id, IsActive FROM User WHERE Username = 'agent@acme-int.example.com'")},
        {"method": "GET", "referenceId": "license", "url": q("SELECT Id FROM PermissionSetLicenseAssign WHERE Assignee.Username = 'agent@acme-int.example.com' AND PermissionSetLicense.DeveloperName = 'SalesforceAPIIntegrationPsl'")},
        {"method": "GET", "referenceId": "permissionSet", "url": q(PERMISSION_SET_QUERY)},
        {"method": "GET", "referenceId": "app", "url": q("SELECT Id FROM ExternalClientApplication WHERE DeveloperName = 'Agent_App'")},
    ]});
    let (status, answer) = env.post("composite", body).await;
    assert_eq!(status, 200, "{answer}");
    let responses = answer["compositeResponse"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let sizes: Vec<(u64, u64)> = responses
        .iter()
        .map(|r| {
            (
                r["httpStatusCode"].as_u64().unwrap_or(0),
                r["body"]["totalSize"].as_u64().unwrap_or(99),
            )
        })
        .collect();
    assert_eq!(sizes, vec![(200, 1), (200, 1), (200, 1), (200, 0)]);
    assert_eq!(
        responses[2]["body"]["records"][0]["FieldPerms"]["totalSize"],
        1
    );
    assert_eq!(env.org.api_calls().api_usage, 1);
}

/// Deploys app `Agent_App` running as `username`; answers a client-credentials access token.
async fn client_credentials_token(env: &Env, username: &str) -> String {
    let id = env.deploy(eca_zip("Agent_App", username)).await;
    let status = env.deploy_status(&id).await;
    assert_eq!(status["deployResult"]["status"], "Succeeded", "{status}");
    let app = env
        .id_of("SELECT Id FROM ExternalClientApplication WHERE DeveloperName = 'Agent_App'")
        .await;
    let (_, consumers) = env.get(&format!("apps/oauth/credentials/{app}")).await;
    let consumer = consumers["consumers"][0]["id"].as_str().expect("consumer");
    let (_, creds) = env
        .get(&format!(
            "apps/oauth/credentials/{app}/{consumer}?part=keyandsecret"
        ))
        .await;
    let token: Value = env
        .http
        .post(format!("{}services/oauth2/token", env.org.instance_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", creds["key"].as_str().expect("key")),
            ("client_secret", creds["secret"].as_str().expect("secret")),
        ])
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    token["access_token"]
        .as_str()
        .expect("cc token")
        .to_string()
}

#[tokio::test]
async fn the_client_credentials_probe_reads_what_the_set_grants() {
    let env = start().await;
    let (user, _) = provisioned(&env, "agent@acme-int.example.com").await;
    let agent = client_credentials_token(&env, "agent@acme-int.example.com").await;
    let probe = |soql: &str| {
        let encoded: String = url::form_urlencoded::byte_serialize(soql.as_bytes()).collect();
        format!("query?q={encoded}")
    };
    let (status, rows) = env
        .call_as(
            &agent,
            Method::GET,
            &probe("SELECT Id FROM Account LIMIT 1"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{rows}");
    assert_eq!(rows["totalSize"], 1);
    assert_eq!(rows["records"][0]["attributes"]["type"], "Account");
    let (status, rows) = env
        .call_as(
            &agent,
            Method::GET,
            &probe(&format!("SELECT Id FROM User WHERE Id = '{user}'")),
            None,
        )
        .await;
    assert_eq!(status, 200, "{rows}");
    assert_eq!(rows["totalSize"], 1);
    assert_eq!(rows["records"][0]["Id"], user.as_str());
    let (status, rows) = env
        .call_as(
            &agent,
            Method::GET,
            &probe("SELECT Id FROM Contact LIMIT 1"),
            None,
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(rows[0]["errorCode"], "INVALID_TYPE");
}
