//! Issue 14 item 5: a row pointed at another org. The row, not an earlier status, says which
//! org; before anything is built in the new one, the components recorded for the old one are
//! torn down there, with the sealed admin token that worked for it (the new org's token, if
//! one waits in the inbox, is taken in only afterwards). If the old org cannot be reached with
//! it any more, what is left there is listed in an event and in the status, and forgotten.

use serde_json::json;
use tracing::{info, warn};

use super::holder::Holder;
use super::model::ComponentSet;
use super::names::SetNames;
use super::pass::{Outcome, Reconciler};
use super::plan::Phase;
use super::record::{self, Loaded};
use super::steps::{Executor, StepError};
use crate::salesforce::SalesforceError;

impl Reconciler {
    /// Tears down the components recorded for the org the row named before. `Some` ends the
    /// pass there (the teardown failed, or the lease was lost); `None` goes on with the row's
    /// org, `loaded` updated.
    pub(super) async fn leave_old_org(
        &self,
        loaded: &mut Loaded,
        lease: &dyn Holder,
    ) -> anyhow::Result<Option<Outcome>> {
        let id = loaded.id;
        let row_url = loaded.instance_url.clone();
        let old_url = loaded
            .current_url
            .clone()
            .or_else(|| loaded.org_url.clone())
            .unwrap_or_else(|| row_url.clone());
        if old_url == row_url {
            // The row now names the URL already in use (the org's name after a rename).
            record::save_org(&self.pool, id, &row_url, loaded.org_id.as_deref()).await?;
            loaded.org_url = Some(row_url);
            return Ok(None);
        }
        info!(from = %old_url, to = %row_url, "the row names another org: leaving the old one first");
        let serials: Vec<i32> = loaded.known.sets.iter().map(|s| s.serial).collect();
        let detail = json!({ "from": old_url, "to": row_url, "serials": serials });
        record::event(&self.pool, id, "org_changed", "leaving_old_org", detail).await?;

        let mut old = loaded.clone();
        old.desired.enabled = false;
        let result = self.tear_down_in(&mut old, &old_url, lease).await;
        match result {
            Ok(()) => {
                record::event(
                    &self.pool,
                    id,
                    "old_org_left",
                    "ok",
                    json!({ "org": old_url }),
                )
                .await?;
            }
            Err(StepError::Interrupted) if !lease.still_held() => {
                return Ok(Some(Outcome::LeaseLost));
            }
            Err(StepError::Interrupted) => return Ok(Some(Outcome::Interrupted)),
            Err(StepError::Salesforce(e)) if e.error_code().needs_a_person() => {
                warn!(error = %e, "the old org cannot be cleaned up: reporting what is left");
                let remnants = self.forget_remnants(&mut old, &old_url, &e).await?;
                self.now_in(loaded, old, &row_url).await?;
                let error = StepError::OldOrgRemnants {
                    url: old_url,
                    cause: e.to_string(),
                    remnants,
                };
                return Ok(Some(self.fail(loaded, &row_url, error).await?));
            }
            // Worth trying again (an outage): the old org stays recorded.
            Err(e) => return Ok(Some(self.fail(&old, &old_url, e).await?)),
        }
        self.now_in(loaded, old, &row_url).await?;
        Ok(None)
    }

    /// The connection's org is the row's from now on: recorded, and the status's URL in use
    /// is the row's (a later pass must not go back to the old org's URL).
    async fn now_in(&self, loaded: &mut Loaded, old: Loaded, row_url: &str) -> anyhow::Result<()> {
        record::save_org(&self.pool, loaded.id, row_url, None).await?;
        record::announce(&self.pool, loaded.id, Phase::Provisioning, row_url).await?;
        loaded.known = old.known;
        loaded.org_url = Some(row_url.to_owned());
        loaded.org_id = None;
        loaded.current_url = Some(row_url.to_owned());
        Ok(())
    }

    /// Runs the turn-off plan against the org at `url`, expecting the org recorded for it.
    async fn tear_down_in(
        &self,
        old: &mut Loaded,
        url: &str,
        lease: &dyn Holder,
    ) -> Result<(), StepError> {
        let checked = url::Url::parse(url)
            .map_err(|e| SalesforceError::InvalidInstanceUrl {
                url: url.to_owned(),
                reason: e.to_string(),
            })
            .and_then(|u| self.salesforce.instance_policy().check(&u))?;
        let token = crate::store::load_refresh_token(&self.pool, &self.sealer, old.id)
            .await
            .map_err(|e| StepError::Seal(e.to_string()))?
            .ok_or_else(|| SalesforceError::AdminTokenRevoked {
                description: "no admin refresh token is stored for this connection".into(),
            })?;
        let org = self.admin_org(old.id, checked, token);
        org.expect_org(old.org_id.clone());
        let tenant_id = old.tenant_id.clone();
        let mut executor = Executor {
            pool: &self.pool,
            org: &org,
            sealer: &self.sealer,
            api_version: self.salesforce.api_version(),
            id: old.id,
            tenant_id: &tenant_id,
            secrets: Default::default(),
        };
        self.converge(&mut executor, old, usize::MAX, lease)
            .await
            .map(|_| ())
    }

    /// Lists what is left of each recorded set in the old org (event `old_org_remnants`), then
    /// forgets the sets: the row no longer names that org.
    async fn forget_remnants(
        &self,
        old: &mut Loaded,
        url: &str,
        cause: &SalesforceError,
    ) -> anyhow::Result<Vec<String>> {
        let remnants: Vec<String> = old
            .known
            .sets
            .iter()
            .flat_map(|set| describe_remnants(old.id, set))
            .collect();
        let detail = json!({ "org": url, "cause": cause.to_string(), "remnants": remnants });
        record::event(&self.pool, old.id, "old_org_remnants", "reported", detail).await?;
        for set in std::mem::take(&mut old.known.sets) {
            record::forget_set(&self.pool, old.id, set.serial).await?;
        }
        Ok(remnants)
    }
}

/// What may be left of one set, by name (and id where known); never a secret.
pub(super) fn describe_remnants(id: uuid::Uuid, set: &ComponentSet) -> Vec<String> {
    let names = SetNames::of(id, set);
    let mut left = Vec::new();
    if let Some(app) = &set.app {
        left.push(format!("External Client App {} ({app})", names.app));
    }
    if let Some(ps) = &set.permission_set {
        left.push(format!(
            "permission set {} ({})",
            names.permission_set, ps.id
        ));
    }
    if let Some(user) = set.user.as_ref().filter(|u| u.active) {
        left.push(format!(
            "active integration user {} ({})",
            names.username, user.id
        ));
    }
    if set.license.is_some() {
        left.push(format!(
            "integration licence assignment of {}",
            names.username
        ));
    }
    left
}
