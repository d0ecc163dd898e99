use serde_json::json;

use crate::helpers::*;

/// Integration user with PSL, a permission set granting Account + Account.Industry, assigned.
async fn provisioned_user(env: &Env, username: &str) -> String {
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
    env.post(
        "sobjects/ObjectPermissions",
        json!({"ParentId": ps, "SobjectType": "Account", "PermissionsRead": true}),
    )
    .await;
    env.post("sobjects/FieldPermissions", json!({"ParentId": ps, "SobjectType": "Account", "Field": "Account.Industry", "PermissionsRead": true})).await;
    let (status, _) = env
        .post(
            "sobjects/PermissionSetAssignment",
            json!({"AssigneeId": user, "PermissionSetId": ps}),
        )
        .await;
    assert_eq!(status, 201);
    user
}

#[tokio::test]
async fn a_deployed_app_issues_client_credentials_tokens_limited_to_its_grants() {
    let env = start().await;
    provisioned_user(&env, "agent@acme-int.example.com").await;
    let id = env
        .deploy(eca_zip("Agent_App", "agent@acme-int.example.com"))
        .await;
    let status = env.deploy_status(&id).await;
    assert_eq!(status["deployResult"]["status"], "Succeeded", "{status}");
    assert_eq!(
        status["deployResult"]["details"]["componentFailures"],
        json!([])
    );
    let app = env.id_of("SELECT Id, DeveloperName FROM ExternalClientApplication WHERE DeveloperName = 'Agent_App'").await;
    let (code, consumers) = env.get(&format!("apps/oauth/credentials/{app}")).await;
    assert_eq!(code, 200, "{consumers}");
    let consumer = consumers["consumers"][0]["id"]
        .as_str()
        .expect("consumer")
        .to_string();
    let (code, creds) = env
        .get(&format!(
            "apps/oauth/credentials/{app}/{consumer}?part=keyandsecret"
        ))
        .await;
    assert_eq!(code, 200);
    let (key, secret) = (
        creds["key"].as_str().expect("key"),
        creds["secret"].as_str().expect("secret"),
    );
    let token: serde_json::Value = env
        .http
        .post(format!("{}services/oauth2/token", env.org.instance_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", key),
            ("client_secret", secret),
        ])
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let agent = token["access_token"]
        .as_str()
        .expect("cc token")
        .to_string();
    let (code, rows) = env
        .call_as(
            &agent,
            reqwest::Method::GET,
            "query?q=SELECT+Id,+Industry+FROM+Account+LIMIT+1",
            None,
        )
        .await;
    assert_eq!(code, 200, "{rows}");
    assert_eq!(rows["totalSize"], 1);
    let (code, rows) = env
        .call_as(
            &agent,
            reqwest::Method::GET,
            "query?q=SELECT+Id,+Phone+FROM+Account",
            None,
        )
        .await;
    assert_eq!(code, 400);
    assert_eq!(rows[0]["errorCode"], "INVALID_FIELD");
    let (code, rows) = env
        .call_as(
            &agent,
            reqwest::Method::GET,
            "query?q=SELECT+Id+FROM+Contact",
            None,
        )
        .await;
    assert_eq!(code, 400);
    assert_eq!(rows[0]["errorCode"], "INVALID_TYPE");
    let snapshot = env.org.snapshot();
    let app = snapshot.external_client_app("Agent_App").expect("app");
    assert!(app.client_credentials_enabled && app.enabled);
    assert_eq!(
        app.client_credentials_user.as_deref(),
        Some("agent@acme-int.example.com")
    );
    // The admin reads the app's policy and scopes by SOQL (ExtlClntAppOauthPlcyCnfg).
    let (code, policy) = env
        .query(
            "SELECT ClientCredentialsFlowUser, IsClientCredentialsFlowEnabled, \
             ExtlClntAppOauthSettings.OauthScopesAPI, ExtlClntAppOauthSettings.OauthScopesFULL \
             FROM ExtlClntAppOauthPlcyCnfg WHERE ExternalClientApplication.DeveloperName = 'Agent_App'",
        )
        .await;
    assert_eq!(code, 200, "{policy}");
    let row = &policy["records"][0];
    assert_eq!(
        row["ClientCredentialsFlowUser"],
        "agent@acme-int.example.com"
    );
    assert_eq!(row["IsClientCredentialsFlowEnabled"], true);
    assert_eq!(row["ExtlClntAppOauthSettings"]["OauthScopesAPI"], true);
    assert_eq!(row["ExtlClntAppOauthSettings"]["OauthScopesFULL"], false);
    // A deactivated user's sessions end with it.
    let user = env
        .id_of("SELECT Id FROM User WHERE Username = 'agent@acme-int.example.com'")
        .await;
    env.org
        .admin_update("User", &user, json!({"IsActive": false}))
        .expect("deactivated");
    let (code, rows) = env
        .call_as(
            &agent,
            reqwest::Method::GET,
            "query?q=SELECT+Id+FROM+Account",
            None,
        )
        .await;
    assert_eq!(code, 401, "{rows}");
    assert_eq!(rows[0]["errorCode"], "INVALID_SESSION_ID");
}

#[tokio::test]
async fn an_execution_user_that_is_not_api_only_fails_the_deploy_and_changes_nothing() {
    let env = start().await;
    let id = env
        .deploy(eca_zip("Agent_App", "alice@acme.example.com"))
        .await;
    let status = env.deploy_status(&id).await;
    assert_eq!(status["deployResult"]["status"], "Failed");
    let failures = status["deployResult"]["details"]["componentFailures"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(failures.len(), 1);
    assert_eq!(
        failures[0]["componentType"],
        "ExtlClntAppOauthConfigurablePolicies"
    );
    assert_eq!(
        failures[0]["problem"],
        "Enter a valid execution user for the OAuth client credentials flow."
    );
    assert_eq!(failures[0]["problemType"], "Error");
    assert!(env.org.snapshot().external_client_apps.is_empty());
}

#[tokio::test]
async fn destructive_changes_delete_the_named_components() {
    let env = start().await;
    provisioned_user(&env, "agent@acme-int.example.com").await;
    let id = env
        .deploy(eca_zip("Agent_App", "agent@acme-int.example.com"))
        .await;
    assert_eq!(
        env.deploy_status(&id).await["deployResult"]["status"],
        "Succeeded"
    );
    let types: Vec<(&str, &str)> = ECA_TYPES.iter().map(|t| (*t, "Agent_App")).collect();
    let destroy = zip(&[
        ("package.xml", package_xml(&[])),
        ("destructiveChanges.xml", package_xml(&types)),
    ]);
    let id = env.deploy(destroy).await;
    assert_eq!(
        env.deploy_status(&id).await["deployResult"]["status"],
        "Succeeded"
    );
    assert!(env.org.snapshot().external_client_apps.is_empty());
    let (_, rows) = env
        .query("SELECT Id FROM ExternalClientApplication WHERE DeveloperName = 'Agent_App'")
        .await;
    assert_eq!(rows["totalSize"], 0);
    let wildcard = zip(&[
        ("package.xml", package_xml(&[])),
        (
            "destructiveChanges.xml",
            package_xml(&[("ExternalClientApplication", "*")]),
        ),
    ]);
    let id = env.deploy(wildcard).await;
    let status = env.deploy_status(&id).await;
    assert_eq!(status["deployResult"]["status"], "Failed");
    assert_eq!(
        status["deployResult"]["details"]["componentFailures"][0]["problem"],
        "Wildcards are not allowed in destructive changes"
    );
}

#[tokio::test]
async fn a_member_without_its_file_and_malformed_xml_are_component_failures() {
    let env = start().await;
    let missing = zip(&[(
        "package.xml",
        package_xml(&[("ExternalClientApplication", "Ghost")]),
    )]);
    let id = env.deploy(missing).await;
    let status = env.deploy_status(&id).await;
    assert_eq!(
        status["deployResult"]["details"]["componentFailures"][0]["problem"],
        "An object 'Ghost' of type ExternalClientApplication was named in package.xml, but was not found in zipped directory"
    );
    let broken = zip(&[
        (
            "package.xml",
            package_xml(&[("ExternalClientApplication", "Bad")]),
        ),
        (
            "externalClientApps/Bad.eca",
            "<ExternalClientApplication><label>x</ExternalClientApplication>".to_string(),
        ),
    ]);
    let id = env.deploy(broken).await;
    let status = env.deploy_status(&id).await;
    assert_eq!(status["deployResult"]["status"], "Failed");
    assert!(
        status["deployResult"]["details"]["componentFailures"][0]["problem"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Error parsing file")
    );
}

#[tokio::test]
async fn a_deploy_can_take_several_polls() {
    let env = start().await;
    env.org.set_deploy_polls_until_done(3);
    provisioned_user(&env, "agent@acme-int.example.com").await;
    let id = env
        .deploy(eca_zip("Agent_App", "agent@acme-int.example.com"))
        .await;
    assert_eq!(
        env.deploy_status(&id).await["deployResult"]["status"],
        "InProgress"
    );
    assert_eq!(
        env.deploy_status(&id).await["deployResult"]["status"],
        "InProgress"
    );
    assert_eq!(
        env.deploy_status(&id).await["deployResult"]["status"],
        "Succeeded"
    );
}
