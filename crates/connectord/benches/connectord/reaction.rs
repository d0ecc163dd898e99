//! 3. Reaction time: from the `UPDATE` that turns a connection on to the first Salesforce call
//!    connectord makes for it (the simulator timestamps the first call after a mark), with one
//!    `connectord run` process idle, and busy turning on other connections over slow orgs.

use std::time::{Duration, Instant};

use connectord_sim::OrgHandle;
use uuid::Uuid;

use crate::daemon::Daemon;
use crate::db::Throwaway;
use crate::report::{Row, quantile};
use crate::scale::LATENCY;
use crate::world::{World, orgs};

/// Connections per org, so that no org grows unusually large.
const PER_ORG: usize = 100;
/// Idle toggles go on while at most this many earlier ones are still finishing their passes
/// (each on an org of its own, so an org's first call after a toggle is that toggle's), so that
/// a thousand toggles do not take a thousand turn-ons end to end. Half the default slots.
const IDLE_DEPTH: usize = 8;

pub struct Plan {
    pub idle_toggles: usize,
    pub busy_toggles: usize,
    /// Connections the daemon is turning on (over slow orgs) while the busy toggles are made.
    pub background: usize,
}

async fn wait_ready(db: &Throwaway, id: Uuid) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        let settled: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM connection_status s JOIN connections c
                              ON c.id = s.connection_id
                             WHERE c.id = $1 AND s.phase = 'ready'
                               AND s.observed_generation = c.generation)",
        )
        .bind(id)
        .fetch_one(&db.pool)
        .await?;
        if settled {
            return Ok(());
        }
        anyhow::ensure!(start.elapsed() < Duration::from_secs(120), "{id} not ready");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Turns `id` on and answers the milliseconds until `org` saw its first call after it.
async fn toggle(db: &Throwaway, org: &OrgHandle, id: Uuid) -> anyhow::Result<f64> {
    org.mark_calls();
    let start = Instant::now();
    connectord::store::set_enabled(&db.pool, id, true).await?;
    loop {
        if let Some(first) = org.first_call_since_mark() {
            return Ok(first.saturating_duration_since(start).as_secs_f64() * 1000.0);
        }
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(120),
            "no call for {id} within 2 minutes"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn row(what: &str, mut millis: Vec<f64>, target: Option<f64>, note: String) -> Row {
    let p50 = quantile(&mut millis, 0.5);
    let p99 = quantile(&mut millis, 0.99);
    Row {
        what: format!("{what} ({} toggles)", millis.len()),
        measured: format!("p50 {p50:.1} ms, p99 {p99:.1} ms"),
        target: target
            .map(|t| format!("p99 < {t:.0} ms"))
            .unwrap_or_else(|| "(reported)".to_owned()),
        bound: "LISTEN/NOTIFY: a few ms".to_owned(),
        met: target.is_none_or(|t| p99 < t),
        note,
    }
}

pub async fn measure(db: Throwaway, plan: Plan) -> anyhow::Result<Vec<Row>> {
    let toggles = plan.idle_toggles + plan.busy_toggles;
    let react_orgs = toggles.div_ceil(PER_ORG).max(IDLE_DEPTH + 1);
    let busy_orgs = plan.background.div_ceil(PER_ORG).max(1);
    let mut configs = orgs("react", react_orgs, PER_ORG as u32 + 5, 0);
    configs.extend(orgs("busy", busy_orgs, PER_ORG as u32 + 5, 0));
    let world = World::start(&db, configs).await?;
    let react: Vec<OrgHandle> = (1..=react_orgs)
        .map(|n| world.org(&format!("react{n}")))
        .collect::<anyhow::Result<_>>()?;
    let busy: Vec<OrgHandle> = (1..=busy_orgs)
        .map(|n| world.org(&format!("busy{n}")))
        .collect::<anyhow::Result<_>>()?;
    // Connection i lives on react org i % react_orgs.
    let mut targets = Vec::new();
    for i in 0..toggles {
        let org = &react[i % react_orgs];
        let fields = ["Account.Industry".to_owned()];
        let id = world
            .add(&format!("react-{i}"), org, &fields, false)
            .await?;
        targets.push((org.clone(), id));
    }
    let background = world
        .add_many(&busy, plan.background.div_ceil(busy_orgs), false)
        .await?;
    let daemon = Daemon::start(&world, &[]).await?;
    let all = (targets.len() + background.len()) as i64;
    world
        .wait_for("disabled", all, Duration::from_secs(600))
        .await?;

    let mut idle = Vec::new();
    let mut finishing = std::collections::VecDeque::new();
    for (org, id) in &targets[..plan.idle_toggles] {
        if finishing.len() >= IDLE_DEPTH
            && let Some(oldest) = finishing.pop_front()
        {
            wait_ready(&db, oldest).await?;
        }
        idle.push(toggle(&db, org, *id).await?);
        finishing.push_back(*id);
    }
    for id in finishing {
        wait_ready(&db, id).await?;
    }

    for org in &busy {
        org.faults().set_latency(LATENCY);
    }
    sqlx::query("UPDATE connections SET enabled = true WHERE tenant_id LIKE 'busy%'")
        .execute(&db.pool)
        .await?;
    let mut busy_millis = Vec::new();
    let mut while_busy = 0;
    for (org, id) in &targets[plan.idle_toggles..] {
        let pending = background.len() as i64 - world.count_in("ready").await?
            + plan.idle_toggles as i64
            + busy_millis.len() as i64;
        busy_millis.push(toggle(&db, org, *id).await?);
        wait_ready(&db, *id).await?;
        if pending > 0 {
            while_busy += 1;
        }
    }
    daemon.stop().await?;
    world.shutdown().await;
    Ok(vec![
        row(
            "idle: toggle to first Salesforce call",
            idle,
            Some(250.0),
            format!(
                "one `connectord run` with nothing queued: at most {} earlier toggles still \
                 finishing (mostly waiting on their deploys, out of their slots); the first \
                 call is the token request",
                IDLE_DEPTH - 1
            ),
        ),
        row(
            "busy: toggle to first Salesforce call",
            busy_millis,
            None,
            format!(
                "the same process turning on {} other connections over orgs with {} ms \
                 latency (16 passes at once); {while_busy} of the toggles were made while that \
                 work was still under way",
                background.len(),
                LATENCY.as_millis()
            ),
        ),
    ])
}
