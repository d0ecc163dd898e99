//! Member account mapping end to end: the reconciler maps members after a pass settles
//! `ready`, reading the org's users through the connection's own app; the command line maps,
//! removes, imports and exports by hand.

use connectord::reconcile::Outcome;
use connectord::simulator::{OrgHandle, SimulatorConfig};
use connectord::store::Phase;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::commands::command;
use crate::support::World;

/// Runs the binary quietly (warnings only on stderr).
async fn run(world: &World, args: &[&str]) -> std::process::Output {
    command(world, args)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("connectord runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn add_member(
    pool: &PgPool,
    tenant: &str,
    member: &str,
    email: Option<&str>,
    nid: Option<&str>,
) {
    sqlx::query(
        "INSERT INTO tenant_members (tenant_id, member_id, email, saml_name_id) VALUES ($1, $2, $3, $4)",
    )
    .bind(tenant)
    .bind(member)
    .bind(email)
    .bind(nid)
    .execute(pool)
    .await
    .expect("member inserted");
}

/// The connection's mappings as (member, username, method), by member.
async fn mappings(pool: &PgPool, id: Uuid) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "SELECT member_id, salesforce_username, method FROM member_mappings
          WHERE connection_id = $1 ORDER BY member_id",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .expect("mappings read")
}

fn row(member: &str, username: &str, method: &str) -> (String, String, String) {
    (member.into(), username.into(), method.into())
}

/// Adds an active standard user to the org; answers its id.
fn add_user(
    org: &OrgHandle,
    first: &str,
    username: &str,
    email: &str,
    fed: Option<&str>,
) -> String {
    let profile = org
        .snapshot()
        .users
        .iter()
        .find(|u| u.profile_name == "Standard User")
        .expect("a standard user")
        .profile_id
        .clone();
    org.admin_create(
        "User",
        json!({
            "Username": username, "FirstName": first, "LastName": "Added", "Email": email,
            "Alias": first.chars().take(8).collect::<String>().to_lowercase(),
            "ProfileId": profile, "TimeZoneSidKey": "America/Los_Angeles",
            "LocaleSidKey": "en_US", "EmailEncodingKey": "UTF-8", "LanguageLocaleKey": "en_US",
            "FederationIdentifier": fed,
        }),
    )
    .expect("user created")
}

async fn ready(world: &World, id: Uuid) {
    let outcome = world.converge(id).await;
    assert_eq!(
        outcome,
        Outcome::Settled(Phase::Ready),
        "{}",
        world.trail(id).await
    );
}

/// A second pass on a ready connection (what the periodic resync does).
async fn resync(world: &World, id: Uuid) {
    let outcome = world
        .reconciler
        .reconcile_once(id)
        .await
        .expect("pass runs");
    assert_eq!(outcome, Outcome::Settled(Phase::Ready));
}

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
