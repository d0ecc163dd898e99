//! A world for end-to-end tests: a simulator, a fresh database and a reconciler wired to both.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use connectord::config::Settings;
use connectord::reconcile::{Outcome, Reconciler};
use connectord::salesforce::{Salesforce, Tuning};
use connectord::secrets::Sealer;
use connectord::store::{self, NewConnection};
use connectord_sim::{OrgHandle, Simulator, SimulatorConfig};
use secrecy::SecretString;
use sqlx::PgPool;
use uuid::Uuid;

pub struct World {
    pub pool: PgPool,
    /// The sealing key (so commands run as processes can open what the tests sealed).
    pub key: [u8; 32],
    pub simulator: Simulator,
    pub reconciler: Reconciler,
}

/// The test settings, plus `CONNECTORD__…` variables of the test's own.
pub fn settings_with(simulator: &Simulator, key: &[u8; 32], extra: &[(&str, &str)]) -> Settings {
    let key = base64::engine::general_purpose::STANDARD.encode(key);
    let extra = extra.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    Settings::load_from(
        [
            (
                "CONNECTORD__SALESFORCE__CLIENT_ID".to_owned(),
                simulator.client_id(),
            ),
            (
                "CONNECTORD__SALESFORCE__CLIENT_SECRET".to_owned(),
                simulator.client_secret(),
            ),
            (
                "CONNECTORD__SALESFORCE__LOGIN_URL".to_owned(),
                simulator.login_url().to_string(),
            ),
            (
                "CONNECTORD__SALESFORCE__ALLOW_LOOPBACK_HTTP".to_owned(),
                "true".to_owned(),
            ),
            ("CONNECTORD__SECRETS__KEY".to_owned(), key),
        ]
        .into_iter()
        .chain(extra),
    )
    .expect("test settings load")
}

/// Fast retries and deploy polls, so tests do not wait on production pacing.
pub fn fast_tuning() -> Tuning {
    Tuning {
        retry_attempts: 3,
        retry_base: Duration::from_millis(5),
        deploy_first_poll: Duration::from_millis(5),
        deploy_max_poll_interval: Duration::from_millis(20),
        deploy_max_wait: Duration::from_secs(5),
    }
}

impl World {
    pub async fn start(pool: PgPool, config: SimulatorConfig) -> World {
        World::start_with(pool, config, &[]).await
    }

    /// A world whose settings add `extra` (`("CONNECTORD__SECTION__KEY", value)` pairs).
    pub async fn start_with(
        pool: PgPool,
        config: SimulatorConfig,
        extra: &[(&str, &str)],
    ) -> World {
        let simulator = Simulator::start(config).await.expect("simulator starts");
        let key: [u8; 32] = rand::random();
        let settings = settings_with(&simulator, &key, extra);
        let salesforce =
            Salesforce::with_tuning(&settings.salesforce, fast_tuning()).expect("client");
        let sealer = Arc::new(Sealer::from_settings(&settings.secrets).expect("sealer"));
        let reconciler = Reconciler::new(pool.clone(), salesforce, sealer, &settings);
        World {
            pool,
            key,
            simulator,
            reconciler,
        }
    }

    pub fn org(&self, name: &str) -> OrgHandle {
        self.simulator.org(name).expect("org exists")
    }

    /// Adds a connection to `org` for `tenant`, with the org's admin refresh token.
    pub async fn add(&self, tenant: &str, org: &OrgHandle, fields: &[&str], enabled: bool) -> Uuid {
        let new = NewConnection {
            tenant_id: tenant.to_owned(),
            instance_url: org.instance_url().as_str().trim_end_matches('/').to_owned(),
            required_fields: fields.iter().map(|f| f.to_string()).collect(),
            enabled,
        };
        let token = SecretString::from(org.admin_refresh_token());
        store::insert_connection(&self.pool, &self.reconciler.sealer, &new, &token)
            .await
            .expect("insert connection")
    }

    /// Runs passes until one settles or fails (at most a few), returning the last outcome.
    pub async fn converge(&self, id: Uuid) -> Outcome {
        let mut last = Outcome::Gone;
        for _ in 0..3 {
            last = self.reconciler.reconcile_once(id).await.expect("pass runs");
            if matches!(last, Outcome::Settled(_) | Outcome::Gone) {
                break;
            }
        }
        last
    }

    pub async fn status(&self, id: Uuid) -> store::ConnectionStatus {
        store::get_status(&self.pool, id)
            .await
            .expect("status read")
            .expect("status exists")
    }

    /// The connection's phase, `None` before its first pass.
    pub async fn phase(&self, id: Uuid) -> Option<store::Phase> {
        store::get_status(&self.pool, id)
            .await
            .expect("status read")
            .map(|s| s.phase)
    }

    /// Waits (at most `seconds`) until `done` holds, failing with `what` and the audit trails
    /// of `ids`.
    pub async fn wait_until(
        &self,
        ids: &[Uuid],
        seconds: u64,
        what: &str,
        done: impl AsyncFn() -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
        while !done().await {
            if tokio::time::Instant::now() > deadline {
                let mut trails = String::new();
                for id in ids {
                    trails.push_str(&format!("--- {id}\n{}\n", self.trail(*id).await));
                }
                panic!("timed out waiting until {what}\n{trails}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl World {
    /// The audit trail, oldest first, as `action outcome detail` lines (for failure messages).
    pub async fn trail(&self, id: Uuid) -> String {
        let events = store::recent_events(&self.pool, id, 200)
            .await
            .expect("events");
        events
            .iter()
            .rev()
            .map(|e| format!("{} {} {}", e.action, e.outcome, e.detail))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Everything a pass writes about connection `id`, as text.
#[allow(dead_code)]
pub async fn written(pool: &PgPool, id: Uuid) -> String {
    sqlx::query_scalar(
        "SELECT concat_ws(' | ',
            (SELECT jsonb_agg(to_jsonb(s)) FROM connection_status s WHERE connection_id = $1),
            (SELECT jsonb_agg(to_jsonb(c) ORDER BY serial) FROM component_sets c
              WHERE connection_id = $1),
            (SELECT jsonb_agg(to_jsonb(t)) FROM connection_state t WHERE connection_id = $1),
            (SELECT jsonb_agg(to_jsonb(e) ORDER BY id) FROM connection_events e
              WHERE connection_id = $1))",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap()
}
