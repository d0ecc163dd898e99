//! Passes cut off at random instants, many times over: afterwards every org holds exactly one
//! set of components (or none once disabled), never a duplicate or a leftover.

use std::time::Duration;

use connectord::reconcile::Outcome;
use connectord::simulator::SimulatorConfig;
use connectord::store::{self, Phase};
use rand::{Rng, SeedableRng, rngs::StdRng};
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::World;

/// Runs passes that are dropped after a random delay (the task dies wherever it is: inside an
/// HTTP call, between a call and its record, inside a transaction) until one completes.
async fn converge_with_cuts(
    world: &World,
    id: Uuid,
    rng: &mut StdRng,
    cuts: &mut usize,
) -> Outcome {
    for _ in 0..200 {
        let budget = Duration::from_millis(rng.gen_range(0..60));
        match tokio::time::timeout(budget, world.reconciler.reconcile_once(id)).await {
            Ok(outcome) => {
                let outcome = outcome.expect("pass runs");
                if matches!(outcome, Outcome::Settled(_)) {
                    return outcome;
                }
            }
            Err(_) => *cuts += 1,
        }
    }
    panic!(
        "did not settle in 200 interrupted passes:\n{}",
        world.trail(id).await
    );
}

#[sqlx::test]
async fn passes_cut_off_anywhere_never_leave_duplicates_or_leftovers(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    // A little latency on every call, so cuts land inside calls as well as between them.
    org.faults().set_latency(Duration::from_millis(3));
    let mut rng = StdRng::seed_from_u64(7);
    let mut cuts = 0;
    let id = world.add("acme", &org, &["Account.Name"], true).await;
    let field_sets: [&[&str]; 3] = [
        &["Account.Name"],
        &["Account.Name", "Contact.Email"],
        &["Case.Subject"],
    ];

    for round in 0..3 {
        let fields = field_sets[round % field_sets.len()];
        store::set_fields(
            &world.pool,
            id,
            &fields.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
        )
        .await
        .unwrap();
        store::set_enabled(&world.pool, id, true).await.unwrap();
        assert_eq!(
            converge_with_cuts(&world, id, &mut rng, &mut cuts).await,
            Outcome::Settled(Phase::Ready)
        );
        crate::lifecycle::assert_exactly_one_connection(&org, fields);

        store::set_enabled(&world.pool, id, false).await.unwrap();
        assert_eq!(
            converge_with_cuts(&world, id, &mut rng, &mut cuts).await,
            Outcome::Settled(Phase::Disabled)
        );
        crate::lifecycle::assert_nothing_left(&org);
    }
    println!("{cuts} passes were cut off");
    assert!(cuts > 10, "the test must actually cut passes off ({cuts})");
}
