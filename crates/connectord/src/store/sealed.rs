//! `connection_secrets`: the admin refresh token sealed with `secrets.key`, the inbox column
//! that hands a new one over to it, and resealing after a key rotation (which also covers the
//! app consumer secrets in `component_sets`).

use secrecy::{ExposeSecret as _, SecretString};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::StoreError;
use crate::secrets::{Owner, Purpose, SealError, Sealer};

fn seal_error(id: Uuid, purpose: Purpose) -> impl FnOnce(SealError) -> StoreError {
    move |source| StoreError::Seal {
        id,
        purpose: purpose.label(),
        source,
    }
}

/// Moves a token waiting in `connections.admin_refresh_token` into `connection_secrets`,
/// sealed for the connection and its tenant, and sets the column back to NULL, in one
/// transaction (the row locked from the read to the commit): the plaintext is never left
/// behind once the sealed copy exists, nor cleared without it. Returns whether a token was
/// waiting. A blank value is cleared without replacing the sealed token.
pub async fn seal_inbox_token(
    pool: &PgPool,
    sealer: &Sealer,
    id: Uuid,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let row = sqlx::query!(
        "SELECT admin_refresh_token, tenant_id FROM connections WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(StoreError::NotFound(id))?;
    let Some(token) = row.admin_refresh_token.map(SecretString::from) else {
        return Ok(false);
    };
    let trimmed = SecretString::from(token.expose_secret().trim());
    let sealed_one = !trimmed.expose_secret().is_empty();
    if sealed_one {
        put_refresh_token(&mut tx, sealer, Owner::new(id, &row.tenant_id), &trimmed).await?;
    }
    sqlx::query!(
        "UPDATE connections SET admin_refresh_token = NULL WHERE id = $1",
        id
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(sealed_one)
}

/// The connection's admin refresh token, opened for the connection's tenant as the row names
/// it now; `None` when none was ever sealed.
pub async fn load_refresh_token(
    pool: &PgPool,
    sealer: &Sealer,
    id: Uuid,
) -> Result<Option<SecretString>, StoreError> {
    let Some(row) = sqlx::query!(
        "SELECT s.admin_refresh_token, c.tenant_id
           FROM connection_secrets s JOIN connections c ON c.id = s.connection_id
          WHERE s.connection_id = $1",
        id
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let purpose = Purpose::AdminRefreshToken;
    row.admin_refresh_token
        .map(|bytes| sealer.open(Owner::new(id, &row.tenant_id), purpose, &bytes))
        .transpose()
        .map_err(seal_error(id, purpose))
}

/// Refresh-token rotation: seals `new` in place of `redeemed`, in one transaction with the row
/// locked, only if the sealed token is still `redeemed` (a token an operator wrote meanwhile
/// wins). Returns whether it replaced it.
pub async fn replace_rotated_refresh_token(
    pool: &PgPool,
    sealer: &Sealer,
    id: Uuid,
    redeemed: &SecretString,
    new: &SecretString,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let row = sqlx::query!(
        "SELECT s.admin_refresh_token, c.tenant_id
               FROM connection_secrets s JOIN connections c ON c.id = s.connection_id
              WHERE s.connection_id = $1 FOR UPDATE OF s",
        id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else { return Ok(false) };
    let owner = Owner::new(id, &row.tenant_id);
    let purpose = Purpose::AdminRefreshToken;
    let stored = row
        .admin_refresh_token
        .map(|bytes| sealer.open(owner, purpose, &bytes))
        .transpose()
        .map_err(seal_error(id, purpose))?;
    if stored.is_none_or(|s| s.expose_secret() != redeemed.expose_secret()) {
        return Ok(false);
    }
    put_refresh_token(&mut tx, sealer, owner, new).await?;
    tx.commit().await?;
    Ok(true)
}

/// What [`reseal_stale`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ResealReport {
    /// `connection_secrets` rows whose admin refresh token is now sealed with the current key.
    pub resealed: usize,
    /// `connection_secrets` rows left alone because the token did not open with any
    /// configured key.
    pub unreadable: Vec<Uuid>,
    /// `component_sets` rows whose app consumer secret is now sealed with the current key.
    pub resealed_sets: usize,
    /// `component_sets` rows (connection, serial) whose consumer secret no key opens.
    pub unreadable_sets: Vec<(Uuid, i32)>,
}

/// After a key rotation: seals again with the current key every value sealed with an older
/// one: `connection_secrets.admin_refresh_token` and `component_sets.consumer_secret`. An
/// admin refresh token sealed before tenants were bound (format 1) is sealed again for its
/// connection's tenant too. Each
/// row is its own short transaction, so the daemon can run this in the background while it
/// works; calling it again when nothing is stale costs two scans and writes nothing.
pub async fn reseal_stale(pool: &PgPool, sealer: &Sealer) -> Result<ResealReport, StoreError> {
    let mut report = reseal_connection_secrets(pool, sealer).await?;
    reseal_app_secrets(pool, sealer, &mut report).await?;
    Ok(report)
}

/// `component_sets.consumer_secret` values sealed with another key, one row at a time. The
/// key id sits in bytes 2–9 of a sealed value (after the version byte).
async fn reseal_app_secrets(
    pool: &PgPool,
    sealer: &Sealer,
    report: &mut ResealReport,
) -> Result<(), StoreError> {
    let key_id = sealer.key_id();
    let stale = sqlx::query!(
        "SELECT connection_id, serial FROM component_sets
          WHERE consumer_secret IS NOT NULL
            AND encode(substring(consumer_secret FROM 2 FOR 8), 'hex') <> $1
          ORDER BY connection_id, serial",
        key_id
    )
    .fetch_all(pool)
    .await?;
    for row in stale {
        let (id, serial) = (row.connection_id, row.serial);
        let mut tx = pool.begin().await?;
        let sealed = sqlx::query_scalar!(
            "SELECT consumer_secret FROM component_sets
              WHERE connection_id = $1 AND serial = $2 FOR UPDATE",
            id,
            serial
        )
        .fetch_optional(&mut *tx)
        .await?
        .flatten();
        // Gone or cleared since the listing: nothing to do.
        let Some(sealed) = sealed else { continue };
        let resealed = reseal(sealer, id.into(), Purpose::ConsumerSecret, Some(sealed));
        let Ok(Some(resealed)) = resealed else {
            report.unreadable_sets.push((id, serial));
            continue;
        };
        sqlx::query!(
            "UPDATE component_sets SET consumer_secret = $3, updated_at = now()
              WHERE connection_id = $1 AND serial = $2",
            id,
            serial,
            resealed
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        report.resealed_sets += 1;
    }
    Ok(())
}

async fn reseal_connection_secrets(
    pool: &PgPool,
    sealer: &Sealer,
) -> Result<ResealReport, StoreError> {
    let key_id = sealer.key_id();
    // The first byte of a sealed value is its format: 2 binds the tenant.
    let stale = sqlx::query_scalar!(
        "SELECT connection_id FROM connection_secrets
          WHERE key_id <> $1
             OR encode(substring(admin_refresh_token FROM 1 FOR 1), 'hex') <> '02'
          ORDER BY connection_id",
        key_id
    )
    .fetch_all(pool)
    .await?;
    let mut report = ResealReport::default();
    for id in stale {
        let mut tx = pool.begin().await?;
        let row = sqlx::query!(
            "SELECT s.admin_refresh_token, c.tenant_id
               FROM connection_secrets s JOIN connections c ON c.id = s.connection_id
              WHERE s.connection_id = $1 FOR UPDATE OF s",
            id
        )
        .fetch_optional(&mut *tx)
        .await?;
        // Gone since the listing: nothing to do.
        let Some(row) = row else { continue };
        let owner = Owner::new(id, &row.tenant_id);
        let Ok(token) = reseal(
            sealer,
            owner,
            Purpose::AdminRefreshToken,
            row.admin_refresh_token,
        ) else {
            report.unreadable.push(id);
            continue;
        };
        sqlx::query!(
            "UPDATE connection_secrets
                SET admin_refresh_token = $2, key_id = $3, updated_at = now()
              WHERE connection_id = $1",
            id,
            token,
            key_id
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        report.resealed += 1;
    }
    Ok(report)
}

/// Seals again what is stale: sealed with an older key or, for an owner with a tenant, sealed
/// without binding it.
fn reseal(
    sealer: &Sealer,
    owner: Owner<'_>,
    purpose: Purpose,
    sealed: Option<Vec<u8>>,
) -> Result<Option<Vec<u8>>, SealError> {
    let stale = |bytes: &[u8]| match owner.tenant {
        Some(_) => sealer.needs_reseal_for_tenant(bytes),
        None => sealer.needs_reseal(bytes),
    };
    match sealed {
        Some(bytes) if stale(&bytes) => {
            let secret = sealer.open(owner, purpose, &bytes)?;
            sealer.seal(owner, purpose, &secret).map(Some)
        }
        other => Ok(other),
    }
}

/// Seals `token` as the connection's admin refresh token, bound to its tenant; `key_id` names
/// the current key.
pub(super) async fn put_refresh_token(
    conn: &mut PgConnection,
    sealer: &Sealer,
    owner: Owner<'_>,
    token: &SecretString,
) -> Result<(), StoreError> {
    let (id, purpose) = (owner.id, Purpose::AdminRefreshToken);
    let sealed = sealer
        .seal(owner, purpose, token)
        .map_err(seal_error(id, purpose))?;
    sqlx::query!(
        "INSERT INTO connection_secrets (connection_id, admin_refresh_token, key_id)
         VALUES ($1, $2, $3)
         ON CONFLICT (connection_id) DO UPDATE
            SET admin_refresh_token = EXCLUDED.admin_refresh_token,
                key_id = EXCLUDED.key_id,
                updated_at = now()",
        id,
        sealed,
        sealer.key_id()
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}
