//! The commands an operator reaches for (issue 16 item 4): `events`, `describe`, `status
//! --phase`, `mapping list --json`, `--config`, `--help`, completions and the man page.

use connectord_sim::SimulatorConfig;
use serde_json::Value;
use sqlx::PgPool;

use crate::commands::{command, connectord};
use crate::support::World;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json_of(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

#[sqlx::test]
async fn events_describe_and_status_show_an_operator_the_trail_the_components_and_the_remedy(
    pool: PgPool,
) {
    let world = World::start(pool, SimulatorConfig::with_orgs(2)).await;
    let good = world
        .add("acme", &world.org("org1"), &["Account.Industry"], true)
        .await;
    let bad = world
        .add(
            "globex",
            &world.org("org2"),
            &["Account.NoSuchField__c"],
            true,
        )
        .await;
    world.converge(good).await;
    world.converge(bad).await;
    let good_id = good.to_string();
    let bad_id = bad.to_string();

    // events: oldest first; --limit keeps the latest N, still oldest first.
    let all = json_of(&connectord(&world, &["events", &good_id, "--json"]).await);
    let all = all.as_array().expect("an array").clone();
    assert!(all.len() >= 3, "{all:?}");
    let ats: Vec<&str> = all.iter().map(|e| e["at"].as_str().unwrap()).collect();
    assert!(
        ats.windows(2).all(|w| w[0] <= w[1]),
        "oldest first: {ats:?}"
    );
    let last_two =
        json_of(&connectord(&world, &["events", &good_id, "--json", "--limit", "2"]).await);
    assert_eq!(last_two.as_array().unwrap(), &all[all.len() - 2..]);
    let text = stdout(&connectord(&world, &["events", &good_id]).await);
    assert_eq!(text.lines().count(), all.len(), "{text}");

    // describe: the row, the status, the components as recorded, the last events.
    let ready = json_of(&connectord(&world, &["describe", &good_id, "--json"]).await);
    assert_eq!(ready["connection"]["id"], good_id.as_str());
    assert_eq!(ready["status"]["phase"], "ready");
    let key = &ready["components"]["external_client_app"]["consumer_key"];
    assert!(key.as_str().is_some_and(|k| !k.is_empty()), "{ready}");
    assert_eq!(
        ready["components"]["permission_set"]["granted_fields"][0],
        "Account.Industry"
    );
    assert_eq!(ready["last_error"], Value::Null);
    assert!(!ready["events"].as_array().unwrap().is_empty());
    // The last error with its message and remedy, in JSON and in text.
    let failed = json_of(&connectord(&world, &["describe", &bad_id, "--json"]).await);
    assert_eq!(failed["last_error"]["code"], "unknown_field");
    assert!(
        failed["last_error"]["message"]
            .as_str()
            .unwrap()
            .contains("NoSuchField__c")
    );
    assert!(
        failed["last_error"]["remedy"]
            .as_str()
            .unwrap()
            .contains("connection fields")
    );
    let text = stdout(&connectord(&world, &["describe", &bad_id]).await);
    assert!(
        text.contains("Last error") && text.contains("remedy: "),
        "{text}"
    );

    // status --phase (with --tenant) and the message column.
    let table = stdout(&connectord(&world, &["status", "--phase", "action_required"]).await);
    assert!(
        table.lines().next().unwrap().ends_with("MESSAGE"),
        "{table}"
    );
    assert!(
        table.contains(&bad_id) && !table.contains(&good_id),
        "{table}"
    );
    assert!(table.contains("NoSuchField__c"), "{table}");
    let none = stdout(
        &connectord(
            &world,
            &["status", "--phase", "ready", "--tenant", "globex"],
        )
        .await,
    );
    assert_eq!(
        none.trim(),
        "no connections for tenant \"globex\" in phase ready"
    );
    let wrong = connectord(&world, &["status", "--phase", "sleeping"]).await;
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("action_required"));

    // An unknown id is bad input.
    let missing = uuid::Uuid::new_v4().to_string();
    for args in [["events", &missing], ["describe", &missing]] {
        let out = connectord(&world, &args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[sqlx::test]
async fn mapping_list_json_is_an_array_with_null_for_empty_cells(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let id = world.add("acme", &world.org("org1"), &[], false).await;
    sqlx::query(
        "INSERT INTO tenant_members (tenant_id, member_id, email) VALUES ('acme', 'm1', NULL)",
    )
    .execute(&world.pool)
    .await
    .unwrap();
    let list = json_of(&connectord(&world, &["mapping", "list", &id.to_string(), "--json"]).await);
    let rows = list.as_array().expect("an array");
    assert_eq!(rows.len(), 1, "{list}");
    assert_eq!(rows[0]["member_id"], "m1");
    assert_eq!(rows[0]["method"], "unmapped");
    assert_eq!(rows[0]["salesforce_user_id"], Value::Null);
}

#[sqlx::test]
async fn config_names_a_settings_file_like_connectord_config_and_a_bad_one_exits_2(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("connectord.toml");
    std::fs::write(&file, "[reconciler]\nconcurrency = 0\n").unwrap();
    let path = file.to_str().unwrap();
    for out in [
        command(&world, &["--config", path, "status"])
            .output()
            .await
            .unwrap(),
        command(&world, &["status", "--config", path])
            .output()
            .await
            .unwrap(),
        command(&world, &["status"])
            .env("CONNECTORD_CONFIG", path)
            .output()
            .await
            .unwrap(),
    ] {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("reconciler.concurrency"), "{stderr}");
    }
    std::fs::write(&file, "[log]\nformat = \"pretty\"\n").unwrap();
    let good = command(&world, &["--config", path, "status"])
        .output()
        .await
        .unwrap();
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    let missing = command(&world, &["--config", "/nonexistent/c.toml", "status"])
        .output()
        .await
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
}

#[tokio::test]
async fn completions_man_and_help_come_from_the_cli_definition_and_need_no_settings() {
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_connectord"))
            .args(args)
            .env_remove("DATABASE_URL")
            .env("CONNECTORD__RECONCILER__CONCURRENCY", "not a number")
            .output()
            .unwrap()
    };
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef connectord"),
        ("fish", "complete -c connectord"),
    ] {
        let out = run(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(
            script.contains(marker) && script.contains("describe"),
            "{shell}: {script}"
        );
    }
    let man = run(&["man"]);
    assert!(man.status.success());
    let page = String::from_utf8_lossy(&man.stdout);
    assert!(
        page.contains(".TH connectord 1") && page.contains("events"),
        "{page}"
    );
    let help = String::from_utf8_lossy(&run(&["--help"]).stdout).into_owned();
    for name in [
        "DATABASE_URL",
        "CONNECTORD__",
        "CONNECTORD_CONFIG",
        "--config",
        "RUST_LOG",
    ] {
        assert!(help.contains(name), "{name} in --help:\n{help}");
    }
}
