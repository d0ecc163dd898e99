//! The proof before `ready` (issue 20 item 6): the app's client-credentials token reads every
//! required field by name, so a field the integration user cannot read fails the proof with
//! its name, even on an object without a single record.

use connectord::error_code::ErrorCode;
use connectord::reconcile::Outcome;
use connectord::store::Phase;
use connectord_sim::SimulatorConfig;
use sqlx::PgPool;

use crate::support::World;

#[sqlx::test]
async fn a_required_field_the_integration_user_cannot_read_fails_the_proof_with_its_name(
    pool: PgPool,
) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    // The integration user's licence does not cover the field, whatever its grants say.
    org.withhold_field("Account.Industry");
    let id = world
        .add("acme", &org, &["Account.Name", "Account.Industry"], true)
        .await;

    let outcome = world.converge(id).await;

    assert_eq!(
        outcome,
        Outcome::Failed {
            phase: Phase::ActionRequired,
            code: ErrorCode::FieldNotReadable
        }
    );
    let message = world.status(id).await.error_message.unwrap_or_default();
    assert!(message.contains("Account.Industry"), "{message}");
}

#[sqlx::test]
async fn a_field_withheld_on_the_second_object_fails_the_proof_too(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    org.withhold_field("Contact.Email");
    let id = world
        .add("acme", &org, &["Account.Industry", "Contact.Email"], true)
        .await;

    let outcome = world.converge(id).await;

    assert_eq!(
        outcome,
        Outcome::Failed {
            phase: Phase::ActionRequired,
            code: ErrorCode::FieldNotReadable
        }
    );
    let message = world.status(id).await.error_message.unwrap_or_default();
    assert!(message.contains("Contact.Email"), "{message}");
}
