//! A sealed admin refresh token is bound to its connection's tenant (issue 14, item 10): a row
//! moved to another tenant behind the database's back keeps no usable token, and tokens sealed
//! before the binding existed still open and are sealed again for their tenant.

use connectord::{
    secrets::{Purpose, SealError},
    store::{self, NewConnection, StoreError},
};
use secrecy::{ExposeSecret as _, SecretString};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{insert, sealer};

const TOKEN: &str = "5Aep861TSESvWeug_xvFHRBTTbf_YrTWgEyjBJ.TenantBoundRefreshToken";

async fn format_of_sealed_token(pool: &PgPool, id: Uuid) -> i32 {
    sqlx::query_scalar(
        "SELECT get_byte(admin_refresh_token, 0) FROM connection_secrets WHERE connection_id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn a_token_left_on_a_row_moved_to_another_tenant_does_not_open(pool: PgPool) {
    let new = NewConnection {
        tenant_id: "acme".into(),
        instance_url: "https://acme.my.salesforce.com".into(),
        required_fields: vec![],
        enabled: false,
    };
    let id = store::insert_connection(&pool, &sealer(), &new, &SecretString::from(TOKEN))
        .await
        .unwrap();
    assert_eq!(format_of_sealed_token(&pool, id).await, 2);
    // The trigger refuses the move; an owner who switches it off gets the move, not the token.
    for statement in [
        "ALTER TABLE connections DISABLE TRIGGER connections_01_tenant_immutable",
        "UPDATE connections SET tenant_id = 'globex'",
        "ALTER TABLE connections ENABLE TRIGGER connections_01_tenant_immutable",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    let error = store::load_refresh_token(&pool, &sealer(), id)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Seal {
                source: SealError::Unauthentic,
                ..
            }
        ),
        "{error:?}"
    );
    // Nor is it sealed again for the new tenant at start-up.
    let report = store::reseal_stale(&pool, &sealer()).await.unwrap();
    assert_eq!((report.resealed, report.unreadable), (0, vec![]));
}

#[sqlx::test(migrations = "./migrations")]
async fn a_token_sealed_before_tenants_were_bound_opens_and_is_resealed_for_its_tenant(
    pool: PgPool,
) {
    let id = insert(&pool, "acme", "https://acme.my.salesforce.com")
        .await
        .unwrap();
    // Format 1: bound to the connection and the purpose only, as sealed before this change.
    let old = sealer()
        .seal(id, Purpose::AdminRefreshToken, &SecretString::from(TOKEN))
        .unwrap();
    sqlx::query(
        "INSERT INTO connection_secrets (connection_id, admin_refresh_token, key_id)
         VALUES ($1, $2, $3)",
    )
    .bind(id)
    .bind(&old)
    .bind(sealer().key_id())
    .execute(&pool)
    .await
    .unwrap();
    let opened = store::load_refresh_token(&pool, &sealer(), id)
        .await
        .unwrap();
    assert_eq!(opened.unwrap().expose_secret(), TOKEN);

    // What the daemon runs in the background at start-up.
    let report = store::reseal_stale(&pool, &sealer()).await.unwrap();
    assert_eq!((report.resealed, report.unreadable), (1, vec![]));
    assert_eq!(format_of_sealed_token(&pool, id).await, 2);
    let opened = store::load_refresh_token(&pool, &sealer(), id)
        .await
        .unwrap();
    assert_eq!(opened.unwrap().expose_secret(), TOKEN);
    assert_eq!(
        store::reseal_stale(&pool, &sealer())
            .await
            .unwrap()
            .resealed,
        0
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_token_handed_over_through_the_inbox_is_sealed_for_its_tenant(pool: PgPool) {
    let id = insert(&pool, "acme", "https://acme.my.salesforce.com")
        .await
        .unwrap();
    sqlx::query("UPDATE connections SET admin_refresh_token = $2 WHERE id = $1")
        .bind(id)
        .bind(TOKEN)
        .execute(&pool)
        .await
        .unwrap();
    assert!(store::seal_inbox_token(&pool, &sealer(), id).await.unwrap());
    assert_eq!(format_of_sealed_token(&pool, id).await, 2);
    let inbox: Option<String> =
        sqlx::query_scalar("SELECT admin_refresh_token FROM connections WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(inbox, None);
}
