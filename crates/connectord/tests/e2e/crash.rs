//! Passes cut off at random instants, many times over: afterwards every org holds exactly one
//! set of components (or none once disabled), never a duplicate or a leftover.

use std::time::Duration;

use connectord::reconcile::{Outcome, Reconciler};
use connectord::store::{self, Phase};
use connectord_sim::SimulatorConfig;
use rand::{Rng, SeedableRng, rngs::StdRng};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

use crate::support::World;

/// Runs passes that are dropped after a random delay (the task dies wherever it is: inside an
/// HTTP call, between a call and its record, inside a transaction) until one completes.
///
/// The passes share a pool of one connection. A dropped sqlx future can leave its statement in
/// the connection's write buffer, and sqlx sends it the next time that connection is used:
/// with several connections, a cut pass's write could land in the middle of a later pass,
/// which no crash can do. With one, it goes out first thing in the next pass, before anything
/// else is read or written, as if it had reached the server just before the process died.
async fn converge_with_cuts(
    world: &World,
    id: Uuid,
    rng: &mut StdRng,
    cuts: &mut usize,
) -> Outcome {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with((*world.pool.connect_options()).clone())
        .await
        .expect("the passes' pool");
    let reconciler = Reconciler {
        pool: pool.clone(),
        ..world.reconciler.clone()
    };
    // Cuts land anywhere in the first 60 ms of a pass; the window doubles every 20 passes, so
    // that on a machine too loaded for a pass to end in 60 ms one still ends in the end.
    let mut window_ms = 60;
    for attempt in 1..=200 {
        let budget = Duration::from_millis(rng.gen_range(0..window_ms));
        if attempt % 20 == 0 {
            window_ms *= 2;
        }
        match tokio::time::timeout(budget, reconciler.reconcile_once(id)).await {
            Ok(outcome) => {
                let outcome = outcome.expect("pass runs");
                if matches!(outcome, Outcome::Settled(_)) {
                    pool.close().await;
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

/// Every pass is cut off after one step, so each step boundary of a turn-on, a scope change and
/// a turn-off is a crash point in turn; the next pass must find what the last one left.
#[sqlx::test]
async fn a_pass_cut_at_every_step_boundary_is_finished_by_the_next(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = world.add("acme", &org, &["Account.Industry"], true).await;

    async fn cut_then_finish(world: &World, id: Uuid, wanted: Phase) -> usize {
        let mut boundaries = 0;
        loop {
            let cut = world
                .reconciler
                .reconcile_cut_after(id, 1)
                .await
                .expect("pass runs");
            if cut != Outcome::Interrupted {
                assert_eq!(cut, Outcome::Settled(wanted), "{}", world.trail(id).await);
                return boundaries;
            }
            boundaries += 1;
            assert!(boundaries < 40, "no progress:\n{}", world.trail(id).await);
        }
    }
    let on = cut_then_finish(&world, id, Phase::Ready).await;
    crate::lifecycle::assert_exactly_one_connection(&org, &["Account.Industry"]);
    store::set_fields(&world.pool, id, &["Contact.Email".to_owned()])
        .await
        .unwrap();
    let change = cut_then_finish(&world, id, Phase::Ready).await;
    crate::lifecycle::assert_exactly_one_connection(&org, &["Contact.Email"]);
    store::set_enabled(&world.pool, id, false).await.unwrap();
    let off = cut_then_finish(&world, id, Phase::Disabled).await;
    crate::lifecycle::assert_nothing_left(&org);
    println!("cut at {on} + {change} + {off} step boundaries");
    assert_eq!(
        (on, change, off),
        // The scope change revokes the removed field first (issue 14, item 3): one step more;
        // turn-off marks the set retiring before its first write: one step more.
        (6, 10, 4),
        "one cut per step of each plan"
    );
}
