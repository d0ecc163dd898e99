//! The one authorisation check of token vending, run by `connectord token ID --tenant T` and by
//! `POST /v1/connections/{id}/token` alike: one statement, no Salesforce call.

use sqlx::PgPool;
use uuid::Uuid;

use crate::store::Phase;

/// What a vended token was minted under. A cached token is served only while a new check
/// gives the same grant: a row turned off, re-parented, recreated (new set serial), moved to
/// another org or bumped to a new generation never gets a token minted under the old one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub tenant_id: String,
    pub generation: i64,
    pub serial: i32,
    pub instance_url: String,
    pub consumer_key: String,
}

/// A grant and the sealed consumer secret of its app.
#[derive(Debug)]
pub struct Authorised {
    pub grant: Grant,
    pub sealed_secret: Vec<u8>,
}

/// The grant for `tenant`'s connection `id`, or `None` unless all of these hold: the row is
/// `tenant`'s, it is enabled, its status is `ready` at the row's current generation, and its
/// active component set was verified (a token was minted and used with it) and holds
/// credentials. `None` says nothing about why, so a caller cannot learn whether another
/// tenant's id exists.
pub async fn authorise(pool: &PgPool, id: Uuid, tenant: &str) -> sqlx::Result<Option<Authorised>> {
    let row = sqlx::query!(
        r#"SELECT c.tenant_id, c.generation,
                  coalesce(s.instance_url, c.instance_url) AS "instance_url!",
                  cs.serial, cs.consumer_key AS "consumer_key!",
                  cs.consumer_secret AS "consumer_secret!"
             FROM connections c
             JOIN connection_status s ON s.connection_id = c.id
             JOIN component_sets cs ON cs.connection_id = c.id
            WHERE c.id = $1 AND c.tenant_id = $2 AND c.enabled
              AND s.phase = $3 AND s.observed_generation = c.generation
              AND cs.state ->> 'role' = 'active'
              AND cs.state -> 'verified' = 'true'::jsonb
              AND cs.verified_at IS NOT NULL
              AND cs.consumer_key IS NOT NULL AND cs.consumer_secret IS NOT NULL
            ORDER BY cs.serial DESC
            LIMIT 1"#,
        id,
        tenant,
        Phase::Ready.as_str()
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| Authorised {
        grant: Grant {
            tenant_id: r.tenant_id,
            generation: r.generation,
            serial: r.serial,
            instance_url: r.instance_url,
            consumer_key: r.consumer_key,
        },
        sealed_secret: r.consumer_secret,
    }))
}
