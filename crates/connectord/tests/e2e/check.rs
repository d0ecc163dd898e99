//! `connectord check`: the read-only preflight, against simulator orgs made to fail each
//! blocker in turn, and the reconciler's refusal of an org without the configured API version.

use connectord_sim::{OrgConfig, OrgHandle, SimulatorConfig};
use serde_json::Value;
use sqlx::PgPool;
use tokio::io::AsyncWriteExt as _;

use crate::commands::{command, connectord};
use crate::support::World;

const FIELDS: [&str; 2] = ["Account.Industry", "Contact.Email"];

fn one_org(config: OrgConfig) -> SimulatorConfig {
    SimulatorConfig {
        orgs: vec![config],
        ..SimulatorConfig::default()
    }
}

/// Runs `check ID --json` on a read-only org; the exit code and the parsed report.
async fn check(world: &World, org: &OrgHandle, fields: &[&str]) -> (i32, Value) {
    let id = world.add("acme", org, fields, false).await;
    org.faults().set_read_only(true);
    let out = connectord(world, &["check", &id.to_string(), "--json"]).await;
    assert_eq!(
        org.faults().writes_refused(),
        0,
        "the check wrote to the org"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

fn item<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["item"] == name))
        .unwrap_or_else(|| panic!("no item {name} in {report:#}"))
}

fn blockers(report: &Value) -> Vec<String> {
    report["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["status"] == "blocker")
        .map(|i| i["item"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[sqlx::test(migrations = "./migrations")]
async fn check_of_a_ready_org_passes_every_item_in_at_most_three_calls_and_writes_nothing(
    pool: PgPool,
) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let users_before = org.snapshot().users.len();
    let (code, report) = check(&world, &org, &FIELDS).await;

    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["blockers"], 0, "{report:#}");
    assert!(report["api_calls"].as_u64().unwrap() <= 3, "{report:#}");
    for item in report["items"].as_array().unwrap() {
        let keys: Vec<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for key in ["item", "status", "detail", "remedy"] {
            assert!(keys.contains(&key), "{item}");
        }
        assert_eq!(item["status"], "pass", "{item}");
    }
    for name in [
        "api version",
        "host",
        "admin permission PermissionsManageUsers",
        "integration user licences",
        "integration permission set licences",
        "integration profile",
        "external client apps",
        "daily api allowance",
        "field Account.Industry",
        "field Contact.Email",
        "would create",
    ] {
        item(&report, name);
    }
    let create = item(&report, "would create")["detail"].as_str().unwrap();
    assert!(
        create.contains("Connectord_") && create.contains("Account.Industry"),
        "{create}"
    );
    // Only reads reached the org: no create, update, delete or deploy was even attempted.
    let calls = org.api_calls();
    for kind in [
        "sobject_create",
        "sobject_update",
        "sobject_delete",
        "composite_sobjects",
        "deploy",
    ] {
        assert_eq!(calls.get(kind), 0, "{kind}: {calls:?}");
    }
    assert_eq!(org.snapshot().users.len(), users_before);
}

#[sqlx::test(migrations = "./migrations")]
async fn the_read_only_org_refuses_and_counts_a_real_pass_writes(pool: PgPool) {
    // The switch the no-writes proof rests on does catch writes.
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &FIELDS, true).await;
    org.faults().set_read_only(true);
    world.converge(id).await;
    assert!(org.faults().writes_refused() > 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn an_org_without_a_free_integration_licence_is_a_blocker(pool: PgPool) {
    let config = OrgConfig {
        integration_licenses: 0,
        ..OrgConfig::named("none")
    };
    let world = World::start(pool, one_org(config)).await;
    let (code, report) = check(&world, &world.org("none"), &FIELDS).await;
    assert_eq!(code, 1, "{report:#}");
    let licence = item(&report, "integration user licences");
    assert_eq!(licence["status"], "blocker");
    assert_eq!(licence["code"], "license_unavailable");
    assert_eq!(
        item(&report, "integration permission set licences")["status"],
        "blocker"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn an_admin_without_manage_users_is_a_blocker_naming_the_permission(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    org.set_admin_permission("PermissionsManageUsers", false);
    let (code, report) = check(&world, &org, &FIELDS).await;
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        blockers(&report),
        ["admin permission PermissionsManageUsers"]
    );
    let remedy = item(&report, "admin permission PermissionsManageUsers")["remedy"].to_string();
    assert!(remedy.contains("Manage Users"), "{remedy}");
}

#[sqlx::test(migrations = "./migrations")]
async fn an_unknown_and_a_non_permissionable_field_are_each_a_blocker(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let fields = [
        "Account.Industry",
        "Account.No_Such_Field__c",
        "Account.Name",
        "Nothing__c.Field__c",
    ];
    let (code, report) = check(&world, &org, &fields).await;
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        blockers(&report),
        [
            "field Account.Name",
            "field Account.No_Such_Field__c",
            "field Nothing__c.Field__c"
        ]
    );
    assert_eq!(item(&report, "field Account.Name")["code"], "unknown_field");
    let detail = item(&report, "field Account.Name")["detail"].to_string();
    assert!(detail.contains("not permissionable"), "{detail}");
    assert_eq!(item(&report, "field Account.Industry")["status"], "pass");
}

#[sqlx::test(migrations = "./migrations")]
async fn an_org_without_the_configured_api_version_is_a_blocker_after_one_call(pool: PgPool) {
    let config = OrgConfig {
        newest_api_version: 60.0,
        ..OrgConfig::named("old")
    };
    let world = World::start(pool, one_org(config)).await;
    let org = world.org("old");
    let (code, report) = check(&world, &org, &FIELDS).await;
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["api_calls"], 1);
    let version = item(&report, "api version");
    assert_eq!(version["code"], "api_version_unavailable");
    assert!(
        version["detail"].as_str().unwrap().contains("newest 60.0"),
        "{version}"
    );
    assert_eq!(org.api_calls().get("token"), 0, "{:?}", org.api_calls());
}

#[sqlx::test(migrations = "./migrations")]
async fn a_government_cloud_org_is_refused_before_anything_is_sent(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let mut child = command(
        &world,
        &[
            "check",
            "--instance-url",
            "https://acme.my.salesforce.mil",
            "--field",
            "Account.Industry",
            "--json",
        ],
    )
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .expect("connectord runs");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"5Aep861-a-refresh-token\n").await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["api_calls"], 0);
    assert_eq!(
        item(&report, "host")["code"],
        "government_cloud_unsupported"
    );
    assert_eq!(report["items"].as_array().unwrap().len(), 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn check_without_an_id_or_with_a_malformed_field_exits_2(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let none = connectord(&world, &["check"]).await;
    assert_eq!(none.status.code(), Some(2));
    let id = world.add("acme", &world.org("org1"), &FIELDS, false).await;
    let mixed = connectord(
        &world,
        &["check", &id.to_string(), "--field", "Account.Industry"],
    )
    .await;
    assert_eq!(
        mixed.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&mixed.stderr)
    );
    let unknown = connectord(&world, &["check", &uuid::Uuid::new_v4().to_string()]).await;
    assert_eq!(unknown.status.code(), Some(2));
}

#[sqlx::test(migrations = "./migrations")]
async fn a_pass_against_an_org_without_the_configured_version_fails_once_with_its_code(
    pool: PgPool,
) {
    let config = OrgConfig {
        newest_api_version: 60.0,
        ..OrgConfig::named("old")
    };
    let world = World::start(pool, one_org(config)).await;
    let org = world.org("old");
    let id = world.add("acme", &org, &FIELDS, true).await;
    world.converge(id).await;
    world.converge(id).await;
    let status = world.status(id).await;
    assert_eq!(
        status.error_code.as_deref(),
        Some("api_version_unavailable"),
        "{status:?}"
    );
    let calls = org.api_calls();
    assert_eq!(
        calls.get("versions"),
        1,
        "one versions call per org per process: {calls:?}"
    );
    assert_eq!(
        calls.get("other"),
        0,
        "no call at a version the org lacks: {calls:?}"
    );
    assert_eq!(calls.get("query"), 0, "{calls:?}");
}

#[sqlx::test(migrations = "./migrations")]
async fn check_of_a_ready_connection_names_what_is_already_there(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &FIELDS, true).await;
    world.converge(id).await;
    let username = world.status(id).await.integration_username.expect("ready");
    org.faults().set_read_only(true);
    let out = connectord(&world, &["check", &id.to_string(), "--json"]).await;
    assert_eq!(org.faults().writes_refused(), 0);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let detail = item(&report, "would create")["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        detail.starts_with("has: user ") && detail.contains(&username),
        "{detail}"
    );
    assert!(detail.contains("next steps: nothing"), "{detail}");
}

#[sqlx::test(migrations = "./migrations")]
async fn check_with_record_writes_each_exchange_without_the_admins_token(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &FIELDS, false).await;
    let dir = tempfile::tempdir().unwrap();
    let out = connectord(
        &world,
        &[
            "check",
            &id.to_string(),
            "--json",
            "--record",
            dir.path().to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut recordings = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(
            !text.contains(&org.admin_refresh_token()),
            "a recording holds the admin's refresh token: {text}"
        );
        recordings += 1;
    }
    assert!(recordings >= 2, "one file per exchange, got {recordings}");
}
