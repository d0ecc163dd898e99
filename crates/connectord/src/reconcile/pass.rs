//! One reconcile pass over one connection: seal the inbox, load, observe, then plan and take
//! one step at a time until nothing is left to do or a step fails. The loop that schedules
//! passes lives elsewhere; tests call [`Reconciler::reconcile_once`] directly.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use sqlx::PgPool;
use tracing::{Instrument, info, info_span, warn};
use uuid::Uuid;

use super::failure::jittered;
use super::holder::{Holder, Unshared};
use super::model::{Role, Shape};
use super::names::SetNames;
use super::observe;
use super::pacing;
use super::plan::{Phase, Step, plan};
use super::record::{self, Finish, Loaded};
use super::steps::{Executor, StepError, describe, name_ip_restriction};
use crate::error_code::ErrorCode;
use crate::salesforce::eca::IpRelaxation;
use crate::salesforce::{Salesforce, SalesforceError};
use crate::secrets::Sealer;
use crate::test_hooks;

/// A pass never takes more steps than this (a full scope change takes 14).
const MAX_STEPS: usize = 40;
/// A connection whose upgrade had to wait is looked at again after about this long.
const UPGRADE_WAIT: Duration = Duration::from_secs(60);

/// Everything a pass needs; one per process, shared by all passes.
#[derive(Clone)]
pub struct Reconciler {
    pub pool: PgPool,
    pub salesforce: Salesforce,
    pub sealer: Arc<Sealer>,
    pub resync_interval: Duration,
    /// `salesforce.ip_relaxation`: part of the shape every app is deployed with.
    pub ip_relaxation: IpRelaxation,
    /// `reconciler.upgrades_per_minute`: in-place upgrades begun per minute, all processes.
    pub upgrades_per_minute: u32,
    /// `reconciler.mapping_max_users`: most users member mapping reads from one org.
    pub mapping_max_users: u32,
}

impl Reconciler {
    /// The reconciler the settings describe, on this pool and client.
    pub fn new(
        pool: PgPool,
        salesforce: Salesforce,
        sealer: Arc<Sealer>,
        settings: &crate::config::Settings,
    ) -> Self {
        Self {
            pool,
            salesforce,
            sealer,
            resync_interval: settings.reconciler.resync_interval,
            ip_relaxation: settings.salesforce.ip_relaxation,
            upgrades_per_minute: settings.reconciler.upgrades_per_minute,
            mapping_max_users: settings.reconciler.mapping_max_users,
        }
    }
}

/// How a pass ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Nothing left to do: `ready` or `disabled`.
    Settled(Phase),
    /// A step failed; the status says why.
    Failed { phase: Phase, code: ErrorCode },
    /// The row no longer exists.
    Gone,
    /// Cut off on purpose ([`Reconciler::reconcile_cut_after`]).
    Interrupted,
    /// Stopped before a Salesforce call because the lease on the connection was lost (another
    /// replica may be working on it now); nothing more was written.
    LeaseLost,
}

impl Reconciler {
    /// Converges one connection as far as it can in one pass.
    ///
    /// Boxed as `dyn Future + Send` here, where every lifetime is concrete: spawning the plain
    /// `async fn` trips rustc's "`Send` is not general enough" (rust-lang/rust#110338).
    pub fn reconcile_once(
        &self,
        id: Uuid,
    ) -> Pin<Box<dyn Future<Output = anyhow::Result<Outcome>> + Send + '_>> {
        let span = info_span!("reconcile", connection_id = %id, tenant_id = tracing::field::Empty,
            generation = tracing::field::Empty, phase = tracing::field::Empty);
        Box::pin(self.pass(id, usize::MAX, &Unshared).instrument(span))
    }

    /// A pass that stops dead after `steps` steps, writing nothing more, as if the process had
    /// been killed at that step boundary. For crash tests.
    #[doc(hidden)]
    pub fn reconcile_cut_after(
        &self,
        id: Uuid,
        steps: usize,
    ) -> Pin<Box<dyn Future<Output = anyhow::Result<Outcome>> + Send + '_>> {
        Box::pin(self.pass(id, steps, &Unshared))
    }

    pub(super) async fn pass(
        &self,
        id: Uuid,
        cut_after: usize,
        lease: &dyn Holder,
    ) -> anyhow::Result<Outcome> {
        test_hooks::panic_if_asked(id);
        let started = std::time::Instant::now();
        let Some(mut loaded) = record::load(&self.pool, id).await? else {
            return Ok(Outcome::Gone);
        };
        // A row pointed at another org: the old org is left first, with the token that worked
        // there, before a new token is taken in from the inbox.
        if loaded.repointed() {
            if let Some(outcome) = self.leave_old_org(&mut loaded, lease).await? {
                return Ok(outcome);
            }
        }
        let new_token = crate::store::seal_inbox_token(&self.pool, &self.sealer, id).await?;
        if new_token {
            self.took_new_token(id).await?;
        }
        let relaxation = loaded.ip_relaxation.unwrap_or(self.ip_relaxation);
        loaded.desired.shape = Shape::current(relaxation);
        let span = tracing::Span::current();
        span.record("tenant_id", loaded.tenant_id.as_str());
        span.record("generation", loaded.generation);

        let first = plan(&loaded.desired, &loaded.known);
        // Nothing recorded and nothing to create: no Salesforce call at all.
        if loaded.known.sets.is_empty() && !first.steps.iter().any(|s| s.calls_salesforce()) {
            return self.finish_without_calls(&mut loaded).await;
        }
        let url_text = loaded.url_in_use();
        let url = match url::Url::parse(&url_text)
            .map_err(|e| SalesforceError::InvalidInstanceUrl {
                url: url_text.clone(),
                reason: e.to_string(),
            })
            // Where tokens may go, Government Cloud included: refused here, before any request.
            .and_then(|u| self.salesforce.instance_policy().check(&u))
        {
            Ok(url) => url,
            Err(error) => return self.fail(&loaded, &url_text, error.into()).await,
        };
        if let Some(bad) = loaded.malformed_fields.first() {
            let error = SalesforceError::UnknownField {
                field: bad.clone(),
                message: "not an Object.Field API name".into(),
            };
            return self.fail(&loaded, &url_text, error.into()).await;
        }
        let Some(token) = crate::store::load_refresh_token(&self.pool, &self.sealer, id).await?
        else {
            let error = SalesforceError::AdminTokenRevoked {
                description: "no admin refresh token is stored for this connection".into(),
            };
            return self.fail(&loaded, &url_text, error.into()).await;
        };
        if !record::announce(&self.pool, id, first.phase, &url_text).await? {
            return Ok(Outcome::Gone);
        }
        if loaded.org_url.as_deref() != Some(loaded.instance_url.as_str()) {
            // Nothing is recorded for another org here: this one is the connection's now.
            record::save_org(&self.pool, id, &loaded.instance_url, None).await?;
            loaded.org_url = Some(loaded.instance_url.clone());
            loaded.org_id = None;
        }
        let org = self.admin_org(id, url, token);
        org.expect_org(loaded.org_id.clone());
        let tenant_id = loaded.tenant_id.clone();
        let mut executor = Executor {
            pool: &self.pool,
            org: &org,
            sealer: &self.sealer,
            api_version: self.salesforce.api_version(),
            id,
            tenant_id: &tenant_id,
            secrets: HashMap::new(),
        };
        let result = self
            .converge(&mut executor, &mut loaded, cut_after, lease)
            .await;
        if result.is_err() && !lease.still_held() {
            warn!("lease lost: stopping the pass before its next Salesforce call");
            return Ok(Outcome::LeaseLost);
        }
        if matches!(result, Err(StepError::Interrupted)) {
            return Ok(Outcome::Interrupted);
        }
        if let (None, Some(found)) = (&loaded.org_id, org.org_id()) {
            record::save_org(&self.pool, id, &loaded.instance_url, Some(&found)).await?;
        }
        let current = org
            .instance_url()
            .to_string()
            .trim_end_matches('/')
            .to_owned();
        if current != url_text {
            info!(from = %url_text, to = %current, "the org's instance URL changed");
            record::event(
                &self.pool,
                id,
                "instance_url_changed",
                "followed",
                json!({ "from": url_text, "to": current }),
            )
            .await?;
        }
        match result {
            Ok(Converged { phase, deferred }) => {
                let wait = if deferred {
                    UPGRADE_WAIT.min(self.resync_interval)
                } else {
                    self.resync_interval
                };
                let next = (phase == Phase::Ready).then(|| jittered(wait));
                let end = Finish {
                    phase,
                    generation: loaded.generation,
                    instance_url: &current,
                    error: None,
                    next_attempt_in: next,
                };
                record::finish(&self.pool, id, &loaded.known, &end).await?;
                span.record("phase", phase.as_str());
                let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                info!(phase = phase.as_str(), duration_ms, "pass settled");
                if new_token {
                    record::event(&self.pool, id, "admin_token_accepted", "ok", json!({})).await?;
                }
                if phase == Phase::Ready {
                    self.map_members(id).await?;
                }
                Ok(Outcome::Settled(phase))
            }
            Err(error) => self.fail(&loaded, &current, error).await,
        }
    }

    /// Observes every recorded set, then plans and takes steps until the plan is empty.
    pub(super) async fn converge(
        &self,
        executor: &mut Executor<'_>,
        loaded: &mut Loaded,
        cut_after: usize,
        lease: &dyn Holder,
    ) -> Result<Converged, StepError> {
        let id = loaded.id;
        for set in loaded.known.sets.iter_mut() {
            if !lease.still_held() {
                return Err(StepError::Interrupted);
            }
            let names = SetNames::of(id, set);
            let seen = observe::observe_known(executor.org, &names, set.app.as_deref()).await?;
            let drift = observe::apply(set, seen);
            record::save_set(&self.pool, id, set).await?;
            if !drift.is_empty() && set.role == Role::Active {
                warn!(serial = set.serial, drift = %json!(drift), "components changed in the org");
                record::event(
                    &self.pool,
                    id,
                    "drift_found",
                    "repairing",
                    json!({ "serial": set.serial, "found": drift }),
                )
                .await?;
            }
        }
        for taken in 0..MAX_STEPS {
            if taken == cut_after {
                return Err(StepError::Interrupted);
            }
            let next = plan(&loaded.desired, &loaded.known);
            let Some(step) = next.steps.first() else {
                return Ok(Converged {
                    phase: next.phase,
                    deferred: false,
                });
            };
            if step.calls_salesforce() && !lease.still_held() {
                return Err(StepError::Interrupted);
            }
            // An upgrade of a connection in service waits for its turn; it stays as it is.
            if matches!(step, Step::UpgradeApp { gradual: true, .. })
                && !pacing::take_upgrade_slot(&self.pool, id, self.upgrades_per_minute).await?
            {
                info!(
                    per_minute = self.upgrades_per_minute,
                    "the upgrade waits for its turn"
                );
                return Ok(Converged {
                    phase: next.phase,
                    deferred: true,
                });
            }
            tracing::Span::current().record("phase", next.phase.as_str());
            info!(step = %describe(step), reason = %next.reason, "taking step");
            match executor
                .take(step, &loaded.desired, &mut loaded.known)
                .await
            {
                Ok(()) => record::event(&self.pool, id, step.name(), "ok", describe(step)).await?,
                // No seat for a second user while the old one holds it: replace break-before-make.
                Err(StepError::Salesforce(SalesforceError::LicenseUnavailable { .. }))
                    if loaded.known.set(Role::Active).is_some() && !loaded.known.no_spare_seat =>
                {
                    loaded.known.no_spare_seat = true;
                    record::save_state(&self.pool, id, &loaded.known).await?;
                    record::event(
                        &self.pool,
                        id,
                        "no_spare_seat",
                        "break_before_make",
                        json!({}),
                    )
                    .await?;
                }
                Err(error) => {
                    let error = name_ip_restriction(step, error, loaded.desired.shape);
                    record::event(
                        &self.pool,
                        id,
                        step.name(),
                        "failed",
                        json!({ "step": describe(step), "error": error.to_string() }),
                    )
                    .await?;
                    return Err(error);
                }
            }
        }
        Err(StepError::Salesforce(SalesforceError::BadResponse {
            status: 0,
            detail: format!("the connection did not settle within {MAX_STEPS} steps"),
        }))
    }

    /// Automatic member mapping after a pass settled `ready` (if `auto_mapping` is on). Its
    /// failure never fails the pass: it is logged and recorded as an event.
    async fn map_members(&self, id: Uuid) -> anyhow::Result<()> {
        let max = self.mapping_max_users;
        let result = crate::mapping::sync(&self.pool, &self.salesforce, &self.sealer, id, max);
        if let Err(error) = result.await {
            warn!(error = %error, "member mapping failed; the connection stays ready");
            let detail = json!({ "error": error.to_string(), "error_code": error.code() });
            record::event(&self.pool, id, "member_mapping", "failed", detail).await?;
        }
        Ok(())
    }

    async fn finish_without_calls(&self, loaded: &mut Loaded) -> anyhow::Result<Outcome> {
        let next = plan(&loaded.desired, &loaded.known);
        if next.steps.contains(&Step::HandleReconnect) {
            loaded.known.handled_reconnect_at = loaded.desired.reconnect_requested_at;
            record::save_state(&self.pool, loaded.id, &loaded.known).await?;
        }
        let phase = plan(&loaded.desired, &loaded.known).phase;
        let url = loaded.url_in_use();
        let end = Finish {
            phase,
            generation: loaded.generation,
            instance_url: &url,
            error: None,
            next_attempt_in: None,
        };
        record::finish(&self.pool, loaded.id, &loaded.known, &end).await?;
        Ok(Outcome::Settled(phase))
    }
}

/// How [`Reconciler::converge`] ended well.
pub(super) struct Converged {
    phase: Phase,
    /// An upgrade is due but waits for its turn.
    deferred: bool,
}
