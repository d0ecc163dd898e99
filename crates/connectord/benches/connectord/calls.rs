//! 1. Salesforce API calls per operation, counted by the simulator, beside the minimum the API
//!    allows. Passes run in this process (`Reconciler::reconcile_once`) until they settle.

use std::collections::BTreeMap;

use connectord::reconcile::Outcome;
use connectord::store::{self, Phase};
use connectord_sim::{OrgHandle, wide_field};
use uuid::Uuid;

use crate::db::Throwaway;
use crate::report::Row;
use crate::world::{World, orgs};

/// sObject Collections take at most 200 records; a Composite call at most 5 queries or
/// collections (REST API Developer Guide, "sObject Collections" and "Composite").
const COLLECTION: u64 = 200;
const HEAVY_PER_COMPOSITE: u64 = 5;

/// Composite calls that creating a set with `grants` object and field permissions needs: the
/// user, licence assignment, permission set and assignment are single-record subrequests; the
/// grants go in collections of 200, five collections per Composite call.
fn access_composites(grants: u64) -> u64 {
    grants
        .div_ceil(COLLECTION)
        .div_ceil(HEAVY_PER_COMPOSITE)
        .max(1)
}

/// A new set: the access composite(s), the app's deploy and one status poll, the two calls
/// that read its credentials, and one proof read with its token.
fn turn_on_minimum(grants: u64) -> u64 {
    access_composites(grants) + 2 + 2 + 1
}

/// Removing a set: a destructive deploy and one status poll, and one Composite call that
/// deletes the assignment, licence assignment and permission set (its grants go with it) and
/// deactivates the user.
const TEARDOWN_MINIMUM: u64 = 3;

/// Fields `from..from+count` of the wide objects: spread over all five of them.
fn wide(from: u32, count: u32) -> Vec<String> {
    (from..from + count).filter_map(wide_field).collect()
}

/// Objects the fields span (each needs an object permission too).
fn objects_of(fields: &[String]) -> u64 {
    let mut objects: Vec<&str> = fields
        .iter()
        .filter_map(|f| f.split_once('.').map(|(o, _)| o))
        .collect();
    objects.sort_unstable();
    objects.dedup();
    objects.len() as u64
}

struct Measure<'a> {
    world: &'a World,
    org: OrgHandle,
    rows: Vec<Row>,
}

impl Measure<'_> {
    /// Runs `id` to a settled state and records the calls it took as `operation`.
    async fn record(
        &mut self,
        operation: &str,
        id: Uuid,
        minimum: u64,
        target: u64,
        note: &str,
    ) -> anyhow::Result<()> {
        self.org.reset_api_calls();
        let outcome = self.world.converge(id).await?;
        anyhow::ensure!(
            matches!(outcome, Outcome::Settled(_)),
            "{operation}: {outcome:?}"
        );
        let calls = self.org.api_calls();
        let mut kinds: BTreeMap<&str, u64> = BTreeMap::new();
        for (kind, n) in &calls.by_kind {
            if kind != "token" {
                kinds.insert(kind, *n);
            }
        }
        let spent = calls.total - calls.get("token");
        let breakdown = kinds
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        self.rows.push(Row {
            what: operation.to_owned(),
            measured: spent.to_string(),
            target: format!("≤ {target}"),
            bound: format!("{minimum} (minimum)"),
            met: spent <= target,
            note: format!(
                "{breakdown}; {} token request(s) not counted{}",
                calls.get("token"),
                if note.is_empty() {
                    String::new()
                } else {
                    format!("; {note}")
                }
            ),
        });
        Ok(())
    }
}

pub async fn measure(db: Throwaway) -> anyhow::Result<Vec<Row>> {
    let world = World::start(&db, orgs("calls", 1, 10, 1_250)).await?;
    let org = world.org("calls1")?;
    let mut m = Measure {
        world: &world,
        org: org.clone(),
        rows: Vec::new(),
    };
    let describe = "one describe composite on top, by design";
    for (n, count) in [(1, 5u32), (2, 200), (3, 500)] {
        // 500: the most `required_fields` a connection may hold (migration 0013).
        let fields = wide(0, count);
        let grants = count as u64 + objects_of(&fields);
        let id = world.add(&format!("t{n}"), &org, &fields, true).await?;
        let minimum = turn_on_minimum(grants);
        m.record(
            &format!("turn on, {count} fields on {} objects", objects_of(&fields)),
            id,
            minimum,
            minimum + 2,
            describe,
        )
        .await?;
        if count != 5 {
            store::set_enabled(&db.pool, id, false).await?;
            world.converge(id).await?;
            continue;
        }
        // The 5-field connection goes through the rest of the lifecycle.
        m.record("drift check of a settled connection", id, 1, 1, "")
            .await?;
        let other = wide(5, 5);
        store::set_fields(&db.pool, id, &other).await?;
        // Revocation first (issue 14, item 3): one Composite call deletes the removed fields'
        // grants from the set in service before the new set is built.
        let minimum = turn_on_minimum(5 + objects_of(&other)) + TEARDOWN_MINIMUM + 1;
        m.record(
            "scope change, 5 → 5 other fields",
            id,
            minimum,
            minimum + 2,
            "removed fields revoked first, then make-before-break: a new set, then the old one \
             removed",
        )
        .await?;
        store::request_reconnect(&db.pool, id).await?;
        let minimum = TEARDOWN_MINIMUM + turn_on_minimum(5 + objects_of(&other));
        m.record(
            "reconnect",
            id,
            minimum,
            minimum + 2,
            "everything removed, then made anew",
        )
        .await?;
        store::set_enabled(&db.pool, id, false).await?;
        m.record("turn off", id, TEARDOWN_MINIMUM, TEARDOWN_MINIMUM + 2, "")
            .await?;
        let status = store::get_status(&db.pool, id).await?;
        anyhow::ensure!(
            status.is_some_and(|s| s.phase == Phase::Disabled),
            "the lifecycle connection ended disabled"
        );
    }
    let rows = m.rows;
    world.shutdown().await;
    Ok(rows)
}
