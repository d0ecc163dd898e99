//! SIGKILL at random instants across cycles of turning on, changing fields and turning off:
//! afterwards every org holds exactly what its rows ask for.

use std::time::Duration;

use connectord::store;
use connectord_sim::{OrgConfig, SimulatorConfig};
use rand::{Rng, SeedableRng, rngs::StdRng};
use sqlx::PgPool;
use uuid::Uuid;

use crate::daemons::{Daemon, database_url, wait_converged};
use crate::support::World;

const FIELD_SETS: [&[&str]; 3] = [
    &["Account.Industry"],
    &["Account.Industry", "Contact.Email"],
    &["Case.Subject"],
];

#[sqlx::test]
async fn a_daemon_killed_at_random_instants_leaves_every_org_as_its_rows_ask(pool: PgPool) {
    let config = SimulatorConfig {
        orgs: ["org1", "org2"]
            .map(|name| OrgConfig {
                integration_licenses: 12,
                ..OrgConfig::named(name)
            })
            .to_vec(),
        ..SimulatorConfig::default()
    };
    let world = World::start(pool, config).await;
    for name in ["org1", "org2"] {
        // Calls take a little while, so kills land inside passes as well as between them.
        world
            .org(name)
            .faults()
            .set_latency(Duration::from_millis(5));
    }
    let mut ids: Vec<(Uuid, &str)> = Vec::new();
    for (n, name) in ["org1", "org2"].iter().cycle().take(8).enumerate() {
        let org = world.org(name);
        ids.push((
            world
                .add(&format!("tenant-{n}"), &org, FIELD_SETS[0], true)
                .await,
            name,
        ));
    }
    let url = database_url(&world.pool);
    let mut rng = StdRng::seed_from_u64(11);
    let mut kills = 0;
    for cycle in 0..6 {
        // Each cycle changes what some rows ask for: fields, and on or off.
        for (i, (id, _)) in ids.iter().enumerate() {
            let fields: Vec<String> = FIELD_SETS[(cycle + i) % 3]
                .iter()
                .map(|f| f.to_string())
                .collect();
            store::set_fields(&world.pool, *id, &fields).await.unwrap();
            store::set_enabled(&world.pool, *id, (cycle + i) % 4 != 0)
                .await
                .unwrap();
        }
        let mut daemon = Daemon::start(&world, &url, &[]).await;
        tokio::time::sleep(Duration::from_millis(rng.gen_range(50..800))).await;
        daemon.signal("KILL").await;
        daemon.exit_status().await;
        kills += 1;
    }

    let daemon = Daemon::start(&world, &url, &[]).await;
    wait_converged(&world.pool, 120, || daemon.logs()).await;

    for name in ["org1", "org2"] {
        let org = world.org(name);
        let ours: Vec<Uuid> = ids
            .iter()
            .filter(|(_, o)| *o == name)
            .map(|(id, _)| *id)
            .collect();
        let mut enabled = 0;
        for id in &ours {
            let row = store::get_connection(&world.pool, *id)
                .await
                .unwrap()
                .unwrap();
            let status = world.status(*id).await;
            if row.enabled {
                enabled += 1;
                let mut granted = status.granted_fields.clone();
                let mut wanted = row.required_fields.clone();
                granted.sort();
                wanted.sort();
                assert_eq!(granted, wanted, "{id}: granted fields");
            } else {
                assert!(
                    status.permission_set_id.is_none(),
                    "{id}: nothing once disabled"
                );
            }
        }
        let snap = org.snapshot();
        let sets = snap
            .permission_sets
            .iter()
            .filter(|p| p.name.starts_with("Connectord_"))
            .count();
        assert_eq!(
            snap.active_integration_users().len(),
            enabled,
            "{name}: active integration users"
        );
        assert_eq!(sets, enabled, "{name}: permission sets");
        assert_eq!(snap.external_client_apps.len(), enabled, "{name}: apps");
        let licensed = snap.permission_set_license_assigns.len();
        assert_eq!(licensed, enabled, "{name}: licence assignments");
    }
    assert_eq!(kills, 6);
}
