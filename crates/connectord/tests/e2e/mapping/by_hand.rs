//! Mapping by hand from the command line: import, export, remove; and a failing read.

use connectord_sim::SimulatorConfig;
use sqlx::PgPool;

use super::*;
use crate::support::World;

#[sqlx::test]
async fn a_csv_import_applies_the_good_lines_and_reports_each_bad_one_by_number(pool: PgPool) {
    let world = World::start(pool.clone(), SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    for member in ["m1", "m2", "m3", "m4"] {
        add_member(&pool, "acme", member, None, None).await;
    }
    let id = world.add("acme", &org, &["Account.Industry"], true).await;
    let id_text = id.to_string();
    ready(&world, id).await;
    assert!(mappings(&pool, id).await.is_empty());

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mappings.csv");
    std::fs::write(
        &file,
        "member_id,salesforce_username\n\
         m1,alice@org1.example.com\n\
         m-unknown,bob@org1.example.com\n\
         m2,dave@org1.example.com\n\
         m3,\"carol@org1.example.com\"\n\
         m4\n\
         m2,bob@org1.example.com\n",
    )
    .unwrap();
    let out = run(
        &world,
        &["mapping", "import", &id_text, file.to_str().unwrap()],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for number in [3, 4, 6] {
        assert!(
            stderr.contains(&format!("line {number}: ")),
            "line {number}: {stderr}"
        );
    }
    for number in [1, 2, 5, 7] {
        assert!(
            !stderr.contains(&format!("line {number}: ")),
            "line {number}: {stderr}"
        );
    }
    assert!(stderr.contains("3 bad line(s)"), "{stderr}");
    assert_eq!(
        mappings(&pool, id).await,
        [
            row("m1", "alice@org1.example.com", "manual"),
            row("m2", "bob@org1.example.com", "manual"),
            row("m3", "carol@org1.example.com", "manual"),
        ]
    );

    // Export: to standard output and to a file, the same CSV.
    let alice = org
        .snapshot()
        .user("alice@org1.example.com")
        .unwrap()
        .id
        .clone();
    let out = run(&world, &["mapping", "export", &id_text]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = text(&out.stdout);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("member_id,salesforce_user_id,salesforce_username,method")
    );
    assert_eq!(
        lines.next(),
        Some(format!("m1,{alice},alice@org1.example.com,manual").as_str())
    );
    assert_eq!(lines.count(), 2);
    let exported = dir.path().join("export.csv");
    let out = run(
        &world,
        &["mapping", "export", &id_text, exported.to_str().unwrap()],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&exported).unwrap(), csv);

    // A file with the wrong header changes nothing.
    std::fs::write(&file, "member,username\nm4,dave@org1.example.com\n").unwrap();
    let out = run(
        &world,
        &["mapping", "import", &id_text, file.to_str().unwrap()],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("header"),
        "{}",
        text(&out.stderr)
    );
}

#[sqlx::test]
async fn a_removed_mapping_is_not_added_back_until_it_is_mapped_by_hand(pool: PgPool) {
    let world = World::start(pool.clone(), SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    add_member(
        &pool,
        "acme",
        "m-alice",
        Some("alice.nguyen@example.com"),
        None,
    )
    .await;
    let id = world.add("acme", &org, &["Account.Industry"], true).await;
    let id_text = id.to_string();
    ready(&world, id).await;
    assert_eq!(mappings(&pool, id).await.len(), 1);

    let out = run(
        &world,
        &["mapping", "remove", &id_text, "--member", "m-alice"],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    resync(&world, id).await;
    assert!(mappings(&pool, id).await.is_empty());
    let list = run(&world, &["mapping", "list", &id_text]).await;
    let list = text(&list.stdout);
    assert!(list.contains("removed_by_hand"), "{list}");
    assert!(list.contains("0 mapped, 1 unmapped"), "{list}");

    let out = run(
        &world,
        &["mapping", "remove", &id_text, "--member", "m-ghost"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));

    let out = run(
        &world,
        &[
            "mapping",
            "set",
            &id_text,
            "--member",
            "m-alice",
            "--salesforce-user",
            "alice@org1.example.com",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    resync(&world, id).await;
    assert_eq!(
        mappings(&pool, id).await,
        [row("m-alice", "alice@org1.example.com", "manual")]
    );
}

#[sqlx::test]
async fn a_mapping_failure_leaves_the_connection_ready(pool: PgPool) {
    let world = World::start(pool.clone(), SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    add_member(
        &pool,
        "acme",
        "m-alice",
        Some("alice.nguyen@example.com"),
        None,
    )
    .await;
    let id = world.add("acme", &org, &["Account.Industry"], true).await;
    ready(&world, id).await;
    // The connection's app loses its secret: the mapping read fails, the pass does not.
    sqlx::query(
        "UPDATE component_sets SET consumer_secret = '\\x00'::bytea WHERE connection_id = $1",
    )
    .bind(id)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("DELETE FROM member_mappings WHERE connection_id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    resync(&world, id).await;
    assert!(mappings(&pool, id).await.is_empty());
    let trail = world.trail(id).await;
    assert!(trail.contains("member_mapping failed"), "{trail}");
}
