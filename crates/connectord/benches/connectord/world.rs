//! The simulator, a throwaway database and an in-process reconciler wired together, plus the
//! helpers every measurement shares.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use connectord::config::Settings;
use connectord::reconcile::{Outcome, Reconciler};
use connectord::salesforce::Salesforce;
use connectord::secrets::Sealer;
use connectord::store::{self, NewConnection};
use connectord_sim::{OrgConfig, OrgHandle, Simulator, SimulatorConfig};
use futures::{StreamExt as _, TryStreamExt as _};
use secrecy::SecretString;
use uuid::Uuid;

use crate::db::Throwaway;

pub struct World {
    pub db: Throwaway,
    pub key: [u8; 32],
    pub simulator: Simulator,
    pub reconciler: Reconciler,
}

/// `count` orgs named `{prefix}1`… with `seats` integration licences and `extra` wide fields.
pub fn orgs(prefix: &str, count: usize, seats: u32, extra: u32) -> Vec<OrgConfig> {
    (1..=count)
        .map(|n| OrgConfig {
            integration_licenses: seats,
            extra_custom_fields: extra,
            daily_api_limit: 10_000_000,
            ..OrgConfig::named(&format!("{prefix}{n}"))
        })
        .collect()
}

impl World {
    pub async fn start(db: &Throwaway, orgs: Vec<OrgConfig>) -> anyhow::Result<World> {
        let simulator = Simulator::start(SimulatorConfig {
            orgs,
            ..SimulatorConfig::default()
        })
        .await?;
        let key: [u8; 32] = rand::random();
        let settings = Settings::load_from(
            World::env_for(&simulator, &key, &db.url)
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v)),
        )?;
        let salesforce = Salesforce::new(&settings.salesforce)?;
        let sealer = Arc::new(Sealer::from_settings(&settings.secrets)?);
        let reconciler = Reconciler::new(db.pool.clone(), salesforce, sealer, &settings);
        Ok(World {
            db: db.clone(),
            key,
            simulator,
            reconciler,
        })
    }

    /// The settings a daemon for this world needs, as environment variables.
    fn env_for(
        simulator: &Simulator,
        key: &[u8; 32],
        database_url: &str,
    ) -> Vec<(&'static str, String)> {
        vec![
            ("DATABASE_URL", database_url.to_owned()),
            (
                "CONNECTORD__SECRETS__KEY",
                base64::engine::general_purpose::STANDARD.encode(key),
            ),
            ("CONNECTORD__SALESFORCE__CLIENT_ID", simulator.client_id()),
            (
                "CONNECTORD__SALESFORCE__CLIENT_SECRET",
                simulator.client_secret(),
            ),
            (
                "CONNECTORD__SALESFORCE__LOGIN_URL",
                simulator.login_url().to_string(),
            ),
            (
                "CONNECTORD__SALESFORCE__ALLOW_LOOPBACK_HTTP",
                "true".to_owned(),
            ),
        ]
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        World::env_for(&self.simulator, &self.key, &self.db.url)
    }

    pub fn org(&self, name: &str) -> anyhow::Result<OrgHandle> {
        self.simulator
            .org(name)
            .with_context(|| format!("no org {name}"))
    }

    /// Adds a connection for `tenant` to `org`, with the org's admin refresh token.
    pub async fn add(
        &self,
        tenant: &str,
        org: &OrgHandle,
        fields: &[String],
        enabled: bool,
    ) -> anyhow::Result<Uuid> {
        let new = NewConnection {
            tenant_id: tenant.to_owned(),
            instance_url: org.instance_url().as_str().trim_end_matches('/').to_owned(),
            required_fields: fields.to_vec(),
            enabled,
        };
        let token = SecretString::from(org.admin_refresh_token());
        Ok(store::insert_connection(&self.db.pool, &self.reconciler.sealer, &new, &token).await?)
    }

    /// Adds `per_org` connections (one tenant each, one field) to every org, 16 at a time.
    pub async fn add_many(
        &self,
        orgs: &[OrgHandle],
        per_org: usize,
        enabled: bool,
    ) -> anyhow::Result<Vec<Uuid>> {
        let fields = vec!["Account.Industry".to_owned()];
        let jobs: Vec<(String, &OrgHandle)> = orgs
            .iter()
            .flat_map(|org| (0..per_org).map(move |t| (format!("{}-t{t}", org.name()), org)))
            .collect();
        futures::stream::iter(jobs)
            .map(|(tenant, org)| {
                let fields = &fields;
                async move { self.add(&tenant, org, fields, enabled).await }
            })
            .buffer_unordered(16)
            .try_collect()
            .await
    }

    /// Runs passes until one settles (at most five); the last outcome.
    pub async fn converge(&self, id: Uuid) -> anyhow::Result<Outcome> {
        let mut last = Outcome::Gone;
        for _ in 0..5 {
            last = self.reconciler.reconcile_once(id).await?;
            if matches!(last, Outcome::Settled(_) | Outcome::Gone) {
                return Ok(last);
            }
        }
        anyhow::bail!("connection {id} did not settle: {last:?}")
    }

    /// How many connections are in `phase`.
    pub async fn count_in(&self, phase: &str) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT count(*) FROM connection_status s JOIN connections c ON c.id = s.connection_id
              WHERE s.phase = $1 AND s.observed_generation = c.generation",
        )
        .bind(phase)
        .fetch_one(&self.db.pool)
        .await?)
    }

    /// Waits until `count` connections are settled in `phase`, for at most `limit`.
    pub async fn wait_for(&self, phase: &str, count: i64, limit: Duration) -> anyhow::Result<()> {
        let start = std::time::Instant::now();
        loop {
            let now = self.count_in(phase).await?;
            if now >= count {
                return Ok(());
            }
            if start.elapsed() > limit {
                anyhow::bail!("only {now} of {count} connections {phase} after {limit:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Calls the orgs counted, token requests left out (they do not count against the
    /// allowance), since `reset`.
    pub fn billable_calls(orgs: &[OrgHandle]) -> u64 {
        orgs.iter()
            .map(|org| {
                let calls = org.api_calls();
                calls.total - calls.get("token")
            })
            .sum()
    }

    pub fn reset_calls(orgs: &[OrgHandle]) {
        for org in orgs {
            org.reset_api_calls();
        }
    }

    pub async fn shutdown(self) {
        self.simulator.shutdown().await;
    }
}
