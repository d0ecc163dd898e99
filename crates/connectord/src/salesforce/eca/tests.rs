use std::io::Read as _;

use super::*;

fn unzip(bytes: &[u8]) -> Vec<(String, String)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).unwrap();
            let mut text = String::new();
            file.read_to_string(&mut text).unwrap();
            (file.name().to_owned(), text)
        })
        .collect()
}

fn spec() -> AppSpec {
    AppSpec {
        name: "Acme_Agent".into(),
        label: "Acme <Agent> & Co".into(),
        contact_email: "ops@example.com".into(),
        description: "Reads \"Account\" for the agent".into(),
        scopes: vec!["Api".into()],
        execution_username: "agent.g1@acme.example".into(),
        ip_relaxation: IpRelaxation::Enforce,
        callback_url: "https://product.example/oauth/callback".into(),
    }
}

#[test]
fn the_deploy_package_holds_the_manifest_and_five_components() {
    let files = unzip(&deploy_package(&spec(), "64.0"));
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "package.xml",
            "externalClientApps/Acme_Agent.eca",
            "extlClntAppOauthSettings/Acme_Agent_oauth.ecaOauth",
            "extlClntAppGlobalOauthSets/Acme_Agent_glbl.ecaGlblOauth",
            "extlClntAppOauthPolicies/Acme_Agent_oauthPlcy.ecaOauthPlcy",
            "extlClntAppPolicies/Acme_Agent_plcy.ecaPlcy",
        ]
    );
    let manifest = &files[0].1;
    for kind in [
        "ExternalClientApplication",
        "ExtlClntAppOauthSettings",
        "ExtlClntAppGlobalOauthSettings",
        "ExtlClntAppOauthConfigurablePolicies",
        "ExtlClntAppConfigurablePolicies",
    ] {
        assert!(
            manifest.contains(&format!("<name>{kind}</name>")),
            "{kind} missing"
        );
    }
    assert!(manifest.contains("<version>64.0</version>"));
}

#[test]
fn text_is_escaped_in_every_element() {
    let files = unzip(&deploy_package(&spec(), "64.0"));
    let eca = &files[1].1;
    assert!(
        eca.contains("<label>Acme &lt;Agent&gt; &amp; Co</label>"),
        "{eca}"
    );
    assert!(eca.contains("<distributionState>Local</distributionState>"));
    assert!(!eca.contains("<Agent>"));
}

#[test]
fn the_oauth_policies_name_the_execution_user_and_the_ip_policy() {
    let mut s = spec();
    s.ip_relaxation = IpRelaxation::Bypass;
    let files = unzip(&deploy_package(&s, "64.0"));
    let policies = &files[4].1;
    assert!(policies.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ExtlClntAppOauthConfigurablePolicies xmlns=\"http://soap.sforce.com/2006/04/metadata\">"));
    assert!(
        policies.contains(
            "<clientCredentialsFlowUser>agent.g1@acme.example</clientCredentialsFlowUser>"
        )
    );
    assert!(policies.contains("<ipRelaxationPolicyType>Bypass</ipRelaxationPolicyType>"));
    assert!(
        policies.contains("<isClientCredentialsFlowEnabled>true</isClientCredentialsFlowEnabled>")
    );
    assert!(policies.contains(
        "<permittedUsersPolicyType>AdminApprovedPreAuthorized</permittedUsersPolicyType>"
    ));
    let oauth = &files[2].1;
    assert!(oauth.contains("<commaSeparatedOauthScopes>Api</commaSeparatedOauthScopes>"));
    assert!(oauth.contains("<externalClientApplication>Acme_Agent</externalClientApplication>"));
}

#[test]
fn the_destructive_package_names_every_component_and_keeps_package_xml_empty() {
    let files = unzip(&destructive_package("Acme_Agent", "64.0"));
    assert_eq!(files.len(), 2);
    let (package_name, package) = &files[0];
    assert_eq!(package_name, "package.xml");
    assert!(!package.contains("<types>"));
    assert!(package.contains("<version>64.0</version>"));
    let (destructive_name, destructive) = &files[1];
    assert_eq!(destructive_name, "destructiveChanges.xml");
    assert_eq!(destructive.matches("<types>").count(), 5);
    assert!(!destructive.contains('*'));
    for member in [
        "Acme_Agent_oauth",
        "Acme_Agent_glbl",
        "Acme_Agent_oauthPlcy",
        "Acme_Agent_plcy",
    ] {
        assert!(
            destructive.contains(&format!("<members>{member}</members>")),
            "{member}"
        );
    }
    // The app itself goes last, after everything that refers to it.
    let app = destructive.find("<members>Acme_Agent</members>").unwrap();
    let plcy = destructive
        .find("<members>Acme_Agent_plcy</members>")
        .unwrap();
    assert!(app > plcy);
}

#[test]
fn the_same_spec_gives_the_same_bytes() {
    assert_eq!(
        deploy_package(&spec(), "64.0"),
        deploy_package(&spec(), "64.0")
    );
}

#[test]
fn developer_names_follow_salesforce_rules() {
    assert!(is_developer_name("Acme_Agent_1"));
    assert!(!is_developer_name("1Acme"));
    assert!(!is_developer_name("Acme__Agent"));
    assert!(!is_developer_name("Acme_"));
    assert!(!is_developer_name("Acme-Agent"));
    assert!(!is_developer_name(&"A".repeat(81)));
}
