//! Security: where tokens may go, Government Cloud, least privilege.

use std::sync::Arc;

use connectord::error_code::ErrorCode;
use connectord::reconcile::{Outcome, Reconciler};
use connectord::salesforce::Salesforce;
use connectord::secrets::Sealer;
use connectord::store::{self, NewConnection, Phase};
use connectord_sim::SimulatorConfig;
use secrecy::SecretString;
use sqlx::PgPool;
use uuid::Uuid;
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};

use crate::support::{World, fast_tuning, settings_with};

const FIELDS: [&str; 2] = ["Account.Name", "Contact.Email"];

/// A connection row pointing at `url`, enabled, with some admin token.
async fn add_url(world: &World, tenant: &str, url: &str) -> Uuid {
    let new = NewConnection {
        tenant_id: tenant.to_owned(),
        instance_url: url.to_owned(),
        required_fields: FIELDS.iter().map(|f| f.to_string()).collect(),
        enabled: true,
    };
    let token = SecretString::from("5Aep861-some-admin-token-for-a-refused-url");
    store::insert_connection(&world.pool, &world.reconciler.sealer, &new, &token)
        .await
        .expect("the database accepts the row; the daemon refuses it")
}

/// A reconciler like the world's, but with `salesforce.allow_loopback_http` off.
fn strict_reconciler(world: &World) -> Reconciler {
    let mut settings = settings_with(&world.simulator, &world.key, &[]);
    settings.salesforce.allow_loopback_http = false;
    Reconciler::new(
        world.pool.clone(),
        Salesforce::with_tuning(&settings.salesforce, fast_tuning()).unwrap(),
        Arc::new(Sealer::new(world.key, [])),
        &settings,
    )
}

#[sqlx::test(migrations = "./migrations")]
async fn a_loopback_url_without_the_setting_gets_no_request_of_any_kind(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let id = add_url(&world, "acme", &server.uri()).await;
    let outcome = strict_reconciler(&world).reconcile_once(id).await.unwrap();
    assert_eq!(
        outcome,
        Outcome::Failed {
            phase: Phase::ActionRequired,
            code: ErrorCode::InvalidInstanceUrl
        }
    );
    let status = world.status(id).await;
    let message = status.error_message.unwrap_or_default();
    assert!(message.contains("must use https"), "{message}");
    server.verify().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn foreign_instance_urls_need_a_person_and_nothing_else_stalls(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let cases = [
        ("https://10.0.0.1", "not an IP address"),
        ("https://evil.example.com", "not under a Salesforce domain"),
        (
            "https://acme.my.salesforce.com.evil.example",
            "not under a Salesforce domain",
        ),
        (
            "https://acme.my.salesforce.com:8443",
            "must not name a port",
        ),
        (
            "https://login.salesforce.com",
            "not under a Salesforce domain",
        ),
    ];
    let mut ids = Vec::new();
    for (i, (url, _)) in cases.iter().enumerate() {
        ids.push(add_url(&world, &format!("tenant{i}"), url).await);
    }
    let org = world.org("org1");
    let good = world.add("good", &org, &FIELDS, true).await;
    for (id, (url, reason)) in ids.iter().zip(cases) {
        let outcome = world.reconciler.reconcile_once(*id).await.unwrap();
        assert_eq!(
            outcome,
            Outcome::Failed {
                phase: Phase::ActionRequired,
                code: ErrorCode::InvalidInstanceUrl
            },
            "{url}"
        );
        let status = world.status(*id).await;
        assert_eq!(status.error_code.as_deref(), Some("invalid_instance_url"));
        let message = status.error_message.unwrap_or_default();
        assert!(message.contains(reason), "{url}: {message}");
        assert!(status.next_attempt_at.is_none(), "waits for a person");
    }
    assert_eq!(world.converge(good).await, Outcome::Settled(Phase::Ready));
}

#[sqlx::test(migrations = "./migrations")]
async fn government_cloud_orgs_are_refused_early_with_a_reason(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    for (i, url) in [
        "https://agency.my.salesforce.mil",
        "https://agency.lightning.crmforce.mil",
        "https://agency--uat.sandbox.my.salesforce.mil",
    ]
    .into_iter()
    .enumerate()
    {
        let id = add_url(&world, &format!("gov{i}"), url).await;
        let outcome = world.reconciler.reconcile_once(id).await.unwrap();
        assert_eq!(
            outcome,
            Outcome::Failed {
                phase: Phase::ActionRequired,
                code: ErrorCode::GovernmentCloudUnsupported
            },
            "{url}"
        );
        let status = world.status(id).await;
        assert_eq!(
            status.error_code.as_deref(),
            Some("government_cloud_unsupported")
        );
        let message = status.error_message.unwrap_or_default();
        assert!(
            message.contains("Government Cloud") && message.contains("nothing was sent"),
            "{message}"
        );
        // Nothing was made and nothing was announced as being worked on.
        assert!(status.integration_username.is_none());
        assert_ne!(status.phase, Phase::Provisioning);
    }
    assert_eq!(world.org("org1").api_calls().total, 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn the_permission_set_grants_read_on_the_required_fields_and_nothing_else(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let fields = ["Account.Industry", "Contact.Email", "Contact.Phone"];
    let id = world.add("acme", &org, &fields, true).await;
    assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Ready));
    let status = world.status(id).await;
    let snap = org.snapshot();
    let ps_id = status.permission_set_id.clone().unwrap();

    let objects: Vec<_> = snap
        .object_permissions
        .iter()
        .filter(|o| o.parent_id == ps_id)
        .collect();
    let mut object_names: Vec<&str> = objects.iter().map(|o| o.sobject_type.as_str()).collect();
    object_names.sort();
    assert_eq!(object_names, ["Account", "Contact"], "{objects:#?}");
    for o in &objects {
        assert!(o.read, "{o:?}");
        assert!(!o.create, "{o:?}");
        assert!(!o.edit, "{o:?}");
        assert!(!o.delete, "{o:?}");
        assert!(!o.view_all, "{o:?}");
        assert!(!o.modify_all, "{o:?}");
    }
    let grants: Vec<_> = snap
        .field_permissions
        .iter()
        .filter(|f| f.parent_id == ps_id)
        .collect();
    let mut granted: Vec<&str> = grants.iter().map(|f| f.field.as_str()).collect();
    granted.sort();
    assert_eq!(granted, fields, "{grants:#?}");
    for f in &grants {
        assert!(f.read && !f.edit, "{f:?}");
        assert_eq!(f.field.split('.').next(), Some(f.sobject_type.as_str()));
    }
    // The integration user holds this permission set and no other.
    let user_id = status.integration_user_id.clone().unwrap();
    let held: Vec<_> = snap
        .permission_set_assignments
        .iter()
        .filter(|a| a.assignee_id == user_id)
        .map(|a| a.permission_set_id.clone())
        .collect();
    assert_eq!(held, [ps_id], "{held:?}");
    // The app is a client-credentials app run as that user, with the API scope only.
    assert_eq!(snap.external_client_apps.len(), 1);
    let app = &snap.external_client_apps[0];
    assert!(app.client_credentials_enabled);
    assert_eq!(
        app.client_credentials_user.as_deref(),
        status.integration_username.as_deref()
    );
    let scopes = app.oauth_scopes.clone().unwrap_or_default();
    assert_eq!(scopes, ["Api"], "{scopes:?}");
}
