//! Automatic mapping: by e-mail, by SAML NameID, ambiguity, re-runs.

use connectord_sim::SimulatorConfig;
use serde_json::json;
use sqlx::PgPool;

use super::*;
use crate::support::World;

#[sqlx::test]
async fn members_are_mapped_by_email_in_one_org_and_by_saml_name_id_in_another(pool: PgPool) {
    let world = World::start(pool.clone(), SimulatorConfig::with_orgs(2)).await;
    let (org1, org2) = (world.org("org1"), world.org("org2"));
    // Several pages of users: the read follows nextRecordsUrl.
    org1.set_query_page_size(2);
    add_member(
        &pool,
        "acme",
        "m-alice",
        Some("Alice.Nguyen@EXAMPLE.com"),
        None,
    )
    .await;
    add_member(
        &pool,
        "acme",
        "m-bob",
        Some("nobody@example.com"),
        Some("bob.okafor"),
    )
    .await;
    add_member(
        &pool,
        "acme",
        "m-dave",
        Some("dave.inactive@example.com"),
        Some("dave.inactive"),
    )
    .await;
    let by_email = world.add("acme", &org1, &["Account.Industry"], true).await;
    let by_nid = world.add("acme", &org2, &["Account.Industry"], true).await;
    sqlx::query("UPDATE connections SET mapping_mode = 'saml_name_id' WHERE id = $1")
        .bind(by_nid)
        .execute(&pool)
        .await
        .unwrap();
    ready(&world, by_email).await;
    ready(&world, by_nid).await;

    assert_eq!(
        mappings(&pool, by_email).await,
        [row("m-alice", "alice@org1.example.com", "email")]
    );
    assert_eq!(
        mappings(&pool, by_nid).await,
        [row("m-bob", "bob@org2.example.com", "saml_name_id")]
    );
    // Dave is inactive in both orgs: unmapped, and the list says so.
    let list = run(&world, &["mapping", "list", &by_email.to_string(), "--csv"]).await;
    assert!(list.status.success(), "{}", text(&list.stderr));
    let list = text(&list.stdout);
    assert!(
        list.starts_with(
            "member_id,salesforce_user_id,salesforce_username,method,mapped_at,unmapped_reason\n"
        ),
        "{list}"
    );
    assert!(list.contains("m-bob,,,unmapped,,no_match\n"), "{list}");
    assert!(list.contains("m-dave,,,unmapped,,no_match\n"), "{list}");

    // Both orgs of the tenant show together.
    let status = run(&world, &["status", "--tenant", "acme"]).await;
    let status = text(&status.stdout);
    assert!(
        status.contains(&by_email.to_string()) && status.contains(&by_nid.to_string()),
        "{status}"
    );
    assert_eq!(
        status.lines().filter(|l| l.contains(" ready ")).count(),
        2,
        "{status}"
    );
}

#[sqlx::test]
async fn ambiguous_matches_are_left_unmapped(pool: PgPool) {
    let world = World::start(pool.clone(), SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    // Two users share Alice's e-mail; two members share Bob's.
    add_user(
        &org,
        "Alicia",
        "alicia@org1.example.com",
        "alice.nguyen@example.com",
        None,
    );
    add_member(
        &pool,
        "acme",
        "m-alice",
        Some("alice.nguyen@example.com"),
        None,
    )
    .await;
    add_member(&pool, "acme", "m-bob", Some("bob.okafor@example.com"), None).await;
    add_member(
        &pool,
        "acme",
        "m-bob-too",
        Some("BOB.okafor@example.com"),
        None,
    )
    .await;
    add_member(
        &pool,
        "acme",
        "m-carol",
        Some("carol.schmidt@example.com"),
        None,
    )
    .await;
    let id = world.add("acme", &org, &["Account.Industry"], true).await;
    ready(&world, id).await;

    assert_eq!(
        mappings(&pool, id).await,
        [row("m-carol", "carol@org1.example.com", "email")]
    );
    let gaps: Vec<(String, String)> = sqlx::query_as(
        "SELECT member_id, reason FROM member_mapping_gaps WHERE connection_id = $1 ORDER BY member_id",
    )
    .bind(id)
    .fetch_all(&pool)
    .await
    .unwrap();
    let want = [
        ("m-alice", "ambiguous_users"),
        ("m-bob", "ambiguous_members"),
        ("m-bob-too", "ambiguous_members"),
    ]
    .map(|(m, r)| (m.to_owned(), r.to_owned()));
    assert_eq!(gaps, want);
}

#[sqlx::test]
async fn reruns_keep_manual_mappings_drop_deactivated_users_and_pick_up_new_ones(pool: PgPool) {
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
    add_member(
        &pool,
        "acme",
        "m-carol",
        Some("carol.schmidt@example.com"),
        None,
    )
    .await;
    add_member(&pool, "acme", "m-erin", Some("erin@example.com"), None).await;
    let id = world.add("acme", &org, &["Account.Industry"], true).await;
    let id_text = id.to_string();
    ready(&world, id).await;
    assert_eq!(mappings(&pool, id).await.len(), 2);

    // By hand: Alice's member acts as Bob's user. Checks first: unknown, inactive, not a member.
    for (member, user, why) in [
        ("m-alice", "ghost@org1.example.com", "no Salesforce user"),
        ("m-alice", "dave@org1.example.com", "not active"),
        ("m-nobody", "bob@org1.example.com", "not a member"),
    ] {
        let out = run(
            &world,
            &[
                "mapping",
                "set",
                &id_text,
                "--member",
                member,
                "--salesforce-user",
                user,
            ],
        )
        .await;
        assert_eq!(out.status.code(), Some(2), "{member} {user}");
        assert!(text(&out.stderr).contains(why), "{}", text(&out.stderr));
    }
    let set = run(
        &world,
        &[
            "mapping",
            "set",
            &id_text,
            "--member",
            "m-alice",
            "--salesforce-user",
            "BOB@org1.example.com",
        ],
    )
    .await;
    assert!(set.status.success(), "{}", text(&set.stderr));

    // Carol leaves the org; Erin joins it.
    let carol = org
        .snapshot()
        .user("carol@org1.example.com")
        .unwrap()
        .id
        .clone();
    org.admin_update("User", &carol, json!({"IsActive": false}))
        .unwrap();
    add_user(
        &org,
        "Erin",
        "erin@org1.example.com",
        "Erin@Example.com",
        None,
    );
    resync(&world, id).await;
    resync(&world, id).await;

    assert_eq!(
        mappings(&pool, id).await,
        [
            row("m-alice", "bob@org1.example.com", "manual"),
            row("m-erin", "erin@org1.example.com", "email"),
        ]
    );
    assert!(
        world.trail(id).await.contains("user_inactive"),
        "{}",
        world.trail(id).await
    );
}
