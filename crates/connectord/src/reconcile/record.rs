//! The reconciler's reads and writes in PostgreSQL: the desired row, the known component sets,
//! `connection_status` and the audit trail.
//!
//! Every write checks the pass's lease in its own statement ([`super::fence`]): inside a
//! leased pass, a write whose lease was taken over writes nothing and fails.

use sqlx::PgPool;
use uuid::Uuid;

use super::fence;
use super::model::{ComponentSet, Desired, FieldName, Known, Role, Shape};
use super::names::SetNames;
use super::plan::Phase;
use crate::error_code::ErrorCode;
use crate::salesforce::eca::IpRelaxation;

/// One connection as a pass starts it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub id: Uuid,
    pub tenant_id: String,
    pub generation: i64,
    /// The URL in the row; `current_url` is the one in use (after a My Domain rename).
    pub instance_url: String,
    pub current_url: Option<String>,
    pub desired: Desired,
    pub known: Known,
    /// Fields in the row that are not `Object.Field` (the database refuses them; kept for a
    /// clear error if the rule was ever bypassed).
    pub malformed_fields: Vec<String>,
    pub has_status: bool,
    /// Failed passes in a row (for the backoff).
    pub attempts: i32,
    /// The row's own IP relaxation policy (`None`: `salesforce.ip_relaxation`).
    pub ip_relaxation: Option<IpRelaxation>,
    /// The row's `instance_url` the recorded components were built for (`None`: never
    /// recorded), and the org id the admin's token answered for there.
    pub org_url: Option<String>,
    pub org_id: Option<String>,
}

impl Loaded {
    /// The URL in use: the one last followed (after a My Domain rename) while the row still
    /// names the org it was followed from, else the row's. The row, not an earlier status,
    /// says which org.
    pub fn url_in_use(&self) -> String {
        match &self.current_url {
            Some(current) if self.org_url.as_deref() == Some(self.instance_url.as_str()) => {
                current.clone()
            }
            _ => self.instance_url.clone(),
        }
    }

    /// The row now names another org than the one the recorded components were built in.
    pub fn repointed(&self) -> bool {
        !self.known.sets.is_empty()
            && self
                .org_url
                .as_deref()
                .is_some_and(|built_for| built_for != self.instance_url)
    }
}

pub async fn load(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<Loaded>> {
    let Some(row) = sqlx::query!(
        r#"SELECT c.tenant_id, c.instance_url, c.enabled, c.required_fields,
                  c.reconnect_requested_at, c.generation, c.ip_relaxation,
                  s.instance_url AS "current_url?", (s.connection_id IS NOT NULL) AS "has_status!",
                  s.attempts AS "attempts?",
                  st.handled_reconnect_at AS "handled_reconnect_at?",
                  st.last_serial AS "last_serial?", st.no_spare_seat AS "no_spare_seat?",
                  st.org_url AS "org_url?", st.org_id AS "org_id?"
             FROM connections c
             LEFT JOIN connection_status s ON s.connection_id = c.id
             LEFT JOIN connection_state st ON st.connection_id = c.id
            WHERE c.id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let sets = sqlx::query_scalar!(
        "SELECT state FROM component_sets WHERE connection_id = $1 ORDER BY serial",
        id
    )
    .fetch_all(pool)
    .await?;
    let mut parsed = Vec::with_capacity(sets.len());
    for state in sets {
        let set: ComponentSet = serde_json::from_value(state)
            .map_err(|e| sqlx::Error::Decode(format!("component_sets.state: {e}").into()))?;
        parsed.push(set);
    }
    let (fields, malformed): (Vec<_>, Vec<_>) = row
        .required_fields
        .iter()
        .map(|f| (FieldName::parse(f), f))
        .partition(|(parsed, _)| parsed.is_some());
    Ok(Some(Loaded {
        id,
        tenant_id: row.tenant_id,
        generation: row.generation,
        instance_url: row.instance_url,
        current_url: row.current_url,
        desired: Desired {
            enabled: row.enabled,
            fields: fields.into_iter().filter_map(|(f, _)| f).collect(),
            reconnect_requested_at: row.reconnect_requested_at,
            // A pass sets the configured IP relaxation (`Reconciler::ip_relaxation`).
            shape: Shape::current(IpRelaxation::default()),
        },
        known: Known {
            handled_reconnect_at: row.handled_reconnect_at,
            sets: parsed,
            last_serial: row.last_serial.unwrap_or(0),
            no_spare_seat: row.no_spare_seat.unwrap_or(false),
        },
        malformed_fields: malformed.into_iter().map(|(_, f)| f.clone()).collect(),
        has_status: row.has_status,
        attempts: row.attempts.unwrap_or(0),
        ip_relaxation: row
            .ip_relaxation
            .as_deref()
            .and_then(IpRelaxation::from_column),
        org_url: row.org_url,
        org_id: row.org_id,
    }))
}

/// Writes the phase before the first Salesforce call of a pass, so the row cannot be deleted
/// while components may be in the making. Returns false if the connection is gone.
pub async fn announce(
    pool: &PgPool,
    id: Uuid,
    phase: Phase,
    instance_url: &str,
) -> sqlx::Result<bool> {
    let (owner, epoch) = fence::token();
    let done = sqlx::query!(
        r#"INSERT INTO connection_status (connection_id, phase, instance_url)
           SELECT id, $2, $3 FROM connections WHERE id = $1 AND connection_lease_holds($1, $4, $5)
           ON CONFLICT (connection_id) DO UPDATE
              SET phase = EXCLUDED.phase, instance_url = EXCLUDED.instance_url, updated_at = now()"#,
        id,
        phase.as_str(),
        instance_url,
        owner,
        epoch
    )
    .execute(pool)
    .await?;
    Ok(fence::checked(pool, id, done.rows_affected()).await? == 1)
}

/// Records which org the connection's components are (to be) built in: the row's URL, and the
/// org id the admin's token answered for there (`None` until a token was taken).
pub async fn save_org(
    pool: &PgPool,
    id: Uuid,
    org_url: &str,
    org_id: Option<&str>,
) -> sqlx::Result<()> {
    let (owner, epoch) = fence::token();
    let done = sqlx::query!(
        r#"INSERT INTO connection_state (connection_id, org_url, org_id)
           SELECT $1, $2, $3 WHERE connection_lease_holds($1, $4, $5)
           ON CONFLICT (connection_id) DO UPDATE
              SET org_url = EXCLUDED.org_url, org_id = EXCLUDED.org_id, updated_at = now()"#,
        id,
        org_url,
        org_id,
        owner,
        epoch
    )
    .execute(pool)
    .await?;
    fence::checked(pool, id, done.rows_affected()).await?;
    Ok(())
}

pub async fn save_state(pool: &PgPool, id: Uuid, known: &Known) -> sqlx::Result<()> {
    let (owner, epoch) = fence::token();
    let done = sqlx::query!(
        r#"INSERT INTO connection_state (connection_id, handled_reconnect_at, last_serial, no_spare_seat)
           SELECT $1, $2, $3, $4 WHERE connection_lease_holds($1, $5, $6)
           ON CONFLICT (connection_id) DO UPDATE
              SET handled_reconnect_at = EXCLUDED.handled_reconnect_at,
                  last_serial = EXCLUDED.last_serial,
                  no_spare_seat = EXCLUDED.no_spare_seat,
                  updated_at = now()"#,
        id,
        known.handled_reconnect_at,
        known.last_serial,
        known.no_spare_seat,
        owner,
        epoch
    )
    .execute(pool)
    .await?;
    fence::checked(pool, id, done.rows_affected()).await?;
    Ok(())
}

pub async fn save_set(pool: &PgPool, id: Uuid, set: &ComponentSet) -> sqlx::Result<()> {
    let state = serde_json::to_value(set).map_err(|e| sqlx::Error::Encode(e.into()))?;
    let (owner, epoch) = fence::token();
    let done = sqlx::query!(
        r#"INSERT INTO component_sets (connection_id, serial, state)
           SELECT $1, $2, $3 WHERE connection_lease_holds($1, $4, $5)
           ON CONFLICT (connection_id, serial) DO UPDATE SET state = EXCLUDED.state, updated_at = now()"#,
        id,
        set.serial,
        state,
        owner,
        epoch
    )
    .execute(pool)
    .await?;
    fence::checked(pool, id, done.rows_affected()).await?;
    Ok(())
}

pub async fn save_credentials(
    pool: &PgPool,
    id: Uuid,
    serial: i32,
    consumer_key: Option<&str>,
    sealed_secret: Option<&[u8]>,
) -> sqlx::Result<()> {
    let (owner, epoch) = fence::token();
    let done = sqlx::query!(
        "UPDATE component_sets SET consumer_key = $3, consumer_secret = $4, updated_at = now()
          WHERE connection_id = $1 AND serial = $2 AND connection_lease_holds($1, $5, $6)",
        id,
        serial,
        consumer_key,
        sealed_secret,
        owner,
        epoch
    )
    .execute(pool)
    .await?;
    fence::checked(pool, id, done.rows_affected()).await?;
    Ok(())
}

pub async fn mark_verified(pool: &PgPool, id: Uuid, serial: i32) -> sqlx::Result<()> {
    let (owner, epoch) = fence::token();
    let done = sqlx::query!(
        "UPDATE component_sets SET verified_at = now()
          WHERE connection_id = $1 AND serial = $2 AND connection_lease_holds($1, $3, $4)",
        id,
        serial,
        owner,
        epoch
    )
    .execute(pool)
    .await?;
    fence::checked(pool, id, done.rows_affected()).await?;
    Ok(())
}

pub async fn forget_set(pool: &PgPool, id: Uuid, serial: i32) -> sqlx::Result<()> {
    let (owner, epoch) = fence::token();
    let done = sqlx::query!(
        "DELETE FROM component_sets
          WHERE connection_id = $1 AND serial = $2 AND connection_lease_holds($1, $3, $4)",
        id,
        serial,
        owner,
        epoch
    )
    .execute(pool)
    .await?;
    fence::checked(pool, id, done.rows_affected()).await?;
    Ok(())
}

/// The consumer key and sealed secret of the active set, for `connectord token`.
pub async fn active_credentials(
    pool: &PgPool,
    id: Uuid,
) -> sqlx::Result<Option<(String, Vec<u8>)>> {
    let rows = sqlx::query!(
        r#"SELECT state, consumer_key AS "consumer_key!", consumer_secret AS "consumer_secret!"
             FROM component_sets
            WHERE connection_id = $1 AND consumer_key IS NOT NULL AND consumer_secret IS NOT NULL
            ORDER BY serial DESC"#,
        id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .find(|r| r.state.get("role").and_then(|v| v.as_str()) == Some("active"))
        .map(|r| (r.consumer_key, r.consumer_secret)))
}

/// How a pass ended, for `connection_status`.
#[derive(Debug, Clone)]
pub struct Finish<'a> {
    pub phase: Phase,
    pub generation: i64,
    pub instance_url: &'a str,
    pub error: Option<(ErrorCode, String)>,
    /// When to look again, from the database's clock: `next_attempt_at = now() + this`, so a
    /// replica whose clock is behind cannot shorten the wait.
    pub next_attempt_in: Option<std::time::Duration>,
}

/// Writes the end of a pass: the phase, the error, and the details of the active set.
pub async fn finish(pool: &PgPool, id: Uuid, known: &Known, end: &Finish<'_>) -> sqlx::Result<()> {
    let active = known.set(Role::Active);
    let names = active.map(|a| SetNames::of(id, a));
    let (code, message) = match &end.error {
        Some((code, message)) => (Some(code.as_str()), Some(message.as_str())),
        None => (None, None),
    };
    // Fields granted by a field permission, and those readable through the object alone.
    let granted: Vec<String> = active
        .map(|a| {
            let explicit = a
                .permission_set
                .iter()
                .flat_map(|ps| ps.fields.iter().map(|g| &g.field));
            let mut all: Vec<String> = explicit
                .chain(a.implicit.iter())
                .map(|f| f.as_str().to_owned())
                .collect();
            all.sort_by_key(|f| f.to_ascii_lowercase());
            all
        })
        .unwrap_or_default();
    let verified_serial = active.filter(|a| a.verified).map(|a| a.serial);
    let shape_version = active
        .filter(|a| a.app.is_some())
        .map(|a| i32::try_from(a.shape.version).unwrap_or(i32::MAX));
    let (owner, epoch) = fence::token();
    let done = sqlx::query!(
        r#"INSERT INTO connection_status AS s (connection_id, phase, observed_generation, instance_url,
                error_code, error_message, connected_app_name, connected_app_id, consumer_key,
                integration_username, integration_user_id, permission_set_name, permission_set_id,
                granted_fields, verified_at, attempts, next_attempt_at, last_reconciled_at,
                shape_version)
           SELECT c.id, $2, $3, $4, $5, $6, $7, $8,
                  (SELECT cs.consumer_key FROM component_sets cs
                    WHERE cs.connection_id = c.id AND cs.serial = $14),
                  $9, $10, $11, $12, $13,
                  (SELECT cs.verified_at FROM component_sets cs
                    WHERE cs.connection_id = c.id AND cs.serial = $15),
                  CASE WHEN $5::text IS NULL THEN 0 ELSE 1 END,
                  now() + make_interval(secs => $16::float8), now(), $17
             FROM connections c WHERE c.id = $1 AND connection_lease_holds($1, $18, $19)
           ON CONFLICT (connection_id) DO UPDATE SET
                phase = EXCLUDED.phase, observed_generation = EXCLUDED.observed_generation,
                instance_url = EXCLUDED.instance_url, error_code = EXCLUDED.error_code,
                error_message = EXCLUDED.error_message,
                connected_app_name = EXCLUDED.connected_app_name,
                connected_app_id = EXCLUDED.connected_app_id, consumer_key = EXCLUDED.consumer_key,
                integration_username = EXCLUDED.integration_username,
                integration_user_id = EXCLUDED.integration_user_id,
                permission_set_name = EXCLUDED.permission_set_name,
                permission_set_id = EXCLUDED.permission_set_id,
                granted_fields = EXCLUDED.granted_fields,
                verified_at = coalesce(EXCLUDED.verified_at, s.verified_at),
                attempts = CASE WHEN EXCLUDED.error_code IS NULL THEN 0 ELSE s.attempts + 1 END,
                next_attempt_at = EXCLUDED.next_attempt_at,
                last_reconciled_at = now(), updated_at = now(),
                shape_version = EXCLUDED.shape_version"#,
        id,
        end.phase.as_str(),
        end.generation,
        end.instance_url,
        code,
        message,
        names.as_ref().map(|n| n.app.as_str()),
        active.and_then(|a| a.app.as_deref()),
        names.as_ref().map(|n| n.username.as_str()),
        active.and_then(|a| a.user.as_ref()).map(|u| u.id.as_str()),
        names.as_ref().map(|n| n.permission_set.as_str()),
        active.and_then(|a| a.permission_set.as_ref()).map(|p| p.id.as_str()),
        &granted,
        active.map(|a| a.serial),
        verified_serial,
        end.next_attempt_in.map(|d| d.as_secs_f64()),
        shape_version,
        owner,
        epoch
    )
    .execute(pool)
    .await?;
    fence::checked(pool, id, done.rows_affected()).await?;
    Ok(())
}

/// Appends to the audit trail. `detail` must never hold a secret.
pub async fn event(
    pool: &PgPool,
    id: Uuid,
    action: &str,
    outcome: &str,
    detail: serde_json::Value,
) -> sqlx::Result<()> {
    let (owner, epoch) = fence::token();
    let done = sqlx::query!(
        "INSERT INTO connection_events (connection_id, action, outcome, detail)
         SELECT $1, $2, $3, $4 WHERE connection_lease_holds($1, $5, $6)",
        id,
        action,
        outcome,
        detail,
        owner,
        epoch
    )
    .execute(pool)
    .await?;
    fence::checked(pool, id, done.rows_affected()).await?;
    Ok(())
}

/// The consumer key and sealed secret of one set.
pub async fn set_credentials(
    pool: &PgPool,
    id: Uuid,
    serial: i32,
) -> sqlx::Result<Option<(String, Vec<u8>)>> {
    let row = sqlx::query!(
        r#"SELECT consumer_key AS "consumer_key!", consumer_secret AS "consumer_secret!"
             FROM component_sets
            WHERE connection_id = $1 AND serial = $2
              AND consumer_key IS NOT NULL AND consumer_secret IS NOT NULL"#,
        id,
        serial
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| (r.consumer_key, r.consumer_secret)))
}
