//! The executor: carries out one planned step against the org and records the result at once.

use std::collections::HashMap;

use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::access;
use super::model::{ComponentSet, Desired, Known, Role, Shape};
use super::names::{MAX_SERIAL, SetNames, soql_literal};
use super::plan::Step;
use super::{record, retired};
use crate::salesforce::eca::{self, AppSpec, IpRelaxation};
use crate::salesforce::{Org, SalesforceError};

/// The user licence of API-only integration users.
const INTEGRATION_LICENSE: &str = "Salesforce Integration";
use crate::secrets::{Purpose, Sealer};

/// Why a step did not complete.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Salesforce(#[from] SalesforceError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("sealed consumer secret cannot be opened: {0}")]
    Seal(String),
    #[error("the pass was cut off")]
    Interrupted,
    /// The org's IP restrictions refuse the app's client-credentials tokens (`ip_restricted`).
    #[error("{}", app_ip_remedy(message, *relaxation))]
    AppIpRestricted {
        message: String,
        relaxation: IpRelaxation,
    },
    /// The row was pointed at another org and the old one could not be cleaned up
    /// (`old_org_remnants`).
    #[error(
        "this connection now names another org, and its components in the previous org {url} could not be removed ({cause}); an admin of that org must remove them: {}",
        remnants.join("; ")
    )]
    OldOrgRemnants {
        url: String,
        cause: String,
        remnants: Vec<String>,
    },
    /// A person deactivated the set's integration user (`integration_user_deactivated`).
    #[error(
        "the connection's integration user {username} was deactivated in the Salesforce org, and \
         connectord does not reactivate a user an admin deactivated; to restore access, \
         reconnect the connection (a new integration user is created and the old one stays \
         inactive), or reactivate the user in Setup > Users if that was a mistake"
    )]
    IntegrationUserDeactivated { username: String },
}

/// IP restrictions that refuse the app's own tokens (the admin's calls went through earlier in
/// the pass): a remedy the connection's own policy can offer.
pub(super) fn name_ip_restriction(step: &Step, error: StepError, shape: Shape) -> StepError {
    match error {
        StepError::Salesforce(SalesforceError::IpRestricted { message })
            if matches!(step, Step::Verify { .. } | Step::UpgradeApp { .. }) =>
        {
            StepError::AppIpRestricted {
                message,
                relaxation: shape.ip_relaxation,
            }
        }
        other => other,
    }
}

/// The `ip_restricted` sentence for the app's tokens, with the remedy that fits the setting.
fn app_ip_remedy(message: &str, relaxation: IpRelaxation) -> String {
    let allow = "an org admin can add the product's outgoing addresses to the trusted IP ranges \
                 (Setup > Network Access) or to the integration user's profile login IP ranges";
    match relaxation {
        IpRelaxation::Enforce => format!(
            "the Salesforce org's IP restrictions refuse the app's tokens ({message}); {allow}, \
             or the operator can relax this connection's app IP policy \
             (`connectord connection ip-relaxation ID bypass`, or the column \
             connections.ip_relaxation = 'bypass')"
        ),
        IpRelaxation::Bypass => format!(
            "the Salesforce org's IP restrictions refuse the app's tokens ({message}) even though \
             the app bypasses them; {allow}"
        ),
    }
}

/// What one pass works with.
pub struct Executor<'a> {
    pub pool: &'a sqlx::PgPool,
    pub org: &'a Org,
    pub sealer: &'a Sealer,
    pub api_version: &'a str,
    pub id: Uuid,
    pub tenant_id: &'a str,
    /// Consumer secrets read in this pass, by set serial, so Verify need not unseal them.
    pub secrets: HashMap<i32, (String, SecretString)>,
}

impl Executor<'_> {
    /// Takes one step; `known` reflects everything that was done, even when it fails midway.
    pub async fn take(
        &mut self,
        step: &Step,
        desired: &Desired,
        known: &mut Known,
    ) -> Result<(), StepError> {
        match step {
            Step::Begin { serial, fields } => {
                if *serial > MAX_SERIAL {
                    return Err(SalesforceError::Setup(format!(
                        "this connection has been recreated {MAX_SERIAL} times; remove it and add it again"
                    ))
                    .into());
                }
                // The serial is taken before the set is recorded: a pass cut off in between
                // must not hand the same serial (and so the same username, perhaps of a user
                // already deactivated, which is never reactivated) to the next set.
                known.last_serial = known.last_serial.max(*serial);
                record::save_state(self.pool, self.id, known).await?;
                let mut set =
                    ComponentSet::new(*serial, Role::Building, fields.iter().cloned().collect());
                let domain = self.org.sf().username_domain();
                set.names = Some(SetNames::new(self.id, *serial, domain));
                record::save_set(self.pool, self.id, &set).await?;
                known.sets.push(set);
            }
            Step::EnsureAccess { serial, work } => {
                let reuse = retired::reusable(self.pool, self.id, known).await?;
                let set = set_mut(known, *serial);
                let names = SetNames::of(self.id, set);
                let reused = reuse.as_deref();
                let result = access::ensure(self.org, &names, self.tenant_id, set, work, reused);
                let result = result.await;
                set.verified = false;
                record::save_set(self.pool, self.id, set).await?;
                if reuse.is_some() && set.user.as_ref().map(|u| u.id.as_str()) == reused {
                    retired::clear(self.pool, self.id).await?;
                }
                if let Err(SalesforceError::LicenseUnavailable { message }) = result {
                    return Err(self.licence_shortage(message).await.into());
                }
                result?;
            }
            Step::DeployApp { serial } => {
                let names = names_of(self.id, known, *serial);
                let spec = app_spec(&names, self.tenant_id, desired.shape);
                let outcome = self
                    .org
                    .deploy(eca::deploy_package(&spec, self.api_version))
                    .await?;
                // The deploy's answer names the app's id; ask only when it did not.
                let app = match outcome.id_of("ExternalClientApplication", &names.app) {
                    Some(id) => Some(id.to_owned()),
                    None => {
                        let soql = app_query(&names.app);
                        self.org.find_app(&soql, &names.app, None).await?
                    }
                };
                let set = set_mut(known, *serial);
                set.app = app;
                set.shape = desired.shape;
                set.app_policy_drift = false;
                set.credentials = false;
                set.verified = false;
                record::save_set(self.pool, self.id, set).await?;
                record::save_credentials(self.pool, self.id, *serial, None, None).await?;
                if set.app.is_none() {
                    return Err(SalesforceError::BadResponse {
                        status: 200,
                        detail: format!(
                            "the deploy succeeded but no External Client App named {} was found",
                            names.app
                        ),
                    }
                    .into());
                }
            }
            Step::UpgradeApp { serial, to, .. } => {
                // Same name, new shape: the deploy updates the app in place and its consumer
                // key and secret stay, so the agent is never cut off. Recorded only once the
                // upgraded app has been proven, so a pass cut off here simply does it again.
                let names = names_of(self.id, known, *serial);
                let spec = app_spec(&names, self.tenant_id, *to);
                self.org
                    .deploy(eca::deploy_package(&spec, self.api_version))
                    .await?;
                let (key, secret) = self.credentials(*serial).await?;
                let set = set_mut(known, *serial);
                let probe = super::proof::probe_queries(set);
                let verified = self.org.prove_reads(&key, &secret, &probe).await;
                set.shape = *to;
                set.app_policy_drift = false;
                set.verified = verified.is_ok();
                record::save_set(self.pool, self.id, set).await?;
                verified?;
                record::mark_verified(self.pool, self.id, *serial).await?;
            }
            Step::FetchCredentials { serial } => {
                let set = set_mut(known, *serial);
                let app = set.app.clone().unwrap_or_default();
                let (key, secret) = self.org.app_credentials(&app).await?;
                let sealed = self
                    .sealer
                    .seal(self.id, Purpose::ConsumerSecret, &secret)
                    .map_err(|e| StepError::Seal(e.to_string()))?;
                record::save_credentials(self.pool, self.id, *serial, Some(&key), Some(&sealed))
                    .await?;
                set.credentials = true;
                record::save_set(self.pool, self.id, set).await?;
                self.secrets.insert(*serial, (key, secret));
            }
            Step::Verify { serial } => {
                let (key, secret) = self.credentials(*serial).await?;
                let set = set_mut(known, *serial);
                let probe = super::proof::probe_queries(set);
                self.org.prove_reads(&key, &secret, &probe).await?;
                set.verified = true;
                record::save_set(self.pool, self.id, set).await?;
                record::mark_verified(self.pool, self.id, *serial).await?;
            }
            Step::Promote { serial } => {
                for set in known.sets.iter_mut() {
                    if set.serial == *serial {
                        set.role = Role::Active;
                    } else if set.role == Role::Active {
                        set.role = Role::Retiring;
                    }
                    record::save_set(self.pool, self.id, set).await?;
                }
                known.no_spare_seat = false;
                record::save_state(self.pool, self.id, known).await?;
            }
            Step::Retire { serial } => {
                let set = set_mut(known, *serial);
                set.role = Role::Retiring;
                record::save_set(self.pool, self.id, set).await?;
            }
            Step::RemoveApp { serial } => {
                let names = names_of(self.id, known, *serial);
                let result = self
                    .org
                    .deploy(eca::destructive_package(&names.app, self.api_version))
                    .await;
                let gone = match result {
                    Ok(_) => true,
                    // Already deleted (by a pass that was cut off, or by a person).
                    Err(SalesforceError::DeployFailed { ref failures })
                        if failures
                            .iter()
                            .all(|f| f.problem.to_ascii_lowercase().contains("no ")) =>
                    {
                        true
                    }
                    Err(e) => return Err(e.into()),
                };
                let set = set_mut(known, *serial);
                if gone {
                    set.app = None;
                    set.credentials = false;
                    set.verified = false;
                }
                record::save_set(self.pool, self.id, set).await?;
                record::save_credentials(self.pool, self.id, *serial, None, None).await?;
            }
            Step::RemoveAccess { serial, work } => {
                let set = set_mut(known, *serial);
                let result = access::teardown(self.org, set, work).await;
                retired::record_teardown(self.pool, self.id, self.org.org_id(), set, work).await?;
                result?;
            }
            Step::Forget { serial } => {
                record::forget_set(self.pool, self.id, *serial).await?;
                known.sets.retain(|s| s.serial != *serial);
            }
            Step::HandleReconnect => {
                known.handled_reconnect_at = desired.reconnect_requested_at;
                record::save_state(self.pool, self.id, known).await?;
            }
            Step::UserDeactivated { serial } => {
                let username = SetNames::of(self.id, set_mut(known, *serial)).username;
                return Err(StepError::IntegrationUserDeactivated { username });
            }
        }
        Ok(())
    }

    /// The licence error with the org's seat count, so the admin knows what to free.
    async fn licence_shortage(&self, original: String) -> SalesforceError {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Seats {
            total_licenses: i64,
            used_licenses: i64,
        }
        let soql = format!(
            "SELECT TotalLicenses, UsedLicenses FROM UserLicense WHERE Name = {}",
            soql_literal(INTEGRATION_LICENSE)
        );
        let message = match self.org.query::<Seats>(&soql).await {
            Ok(rows) => match rows.first() {
                Some(s) => format!(
                    "{} of {} Salesforce Integration user licences are in use",
                    s.used_licenses, s.total_licenses
                ),
                None => "the org has no Salesforce Integration user licence".to_owned(),
            },
            Err(_) => original,
        };
        SalesforceError::LicenseUnavailable { message }
    }

    /// The consumer key and secret of a set: from this pass, or unsealed from the database.
    async fn credentials(&mut self, serial: i32) -> Result<(String, SecretString), StepError> {
        if let Some(found) = self.secrets.get(&serial) {
            return Ok(found.clone());
        }
        let (key, sealed) = record::set_credentials(self.pool, self.id, serial)
            .await?
            .ok_or_else(|| StepError::Seal("no consumer secret is stored for this set".into()))?;
        let secret = self
            .sealer
            .open(self.id, Purpose::ConsumerSecret, &sealed)
            .map_err(|e| StepError::Seal(e.to_string()))?;
        self.secrets.insert(serial, (key.clone(), secret.clone()));
        Ok((key, secret))
    }
}

fn set_mut(known: &mut Known, serial: i32) -> &mut ComponentSet {
    let index = known.sets.iter().position(|s| s.serial == serial);
    match index {
        Some(i) => &mut known.sets[i],
        None => {
            // The planner only names sets it was given or began: keep going with a blank one.
            known.sets.push(ComponentSet::new(
                serial,
                Role::Building,
                Default::default(),
            ));
            known.sets.last_mut().expect("just pushed")
        }
    }
}

/// The names of the recorded set `serial` (legacy names if it is not recorded).
fn names_of(id: Uuid, known: &Known, serial: i32) -> SetNames {
    known
        .sets
        .iter()
        .find(|s| s.serial == serial)
        .map_or_else(|| SetNames::legacy(id, serial), |set| SetNames::of(id, set))
}

/// The app of one set, in the given shape (see [`super::model::SHAPE_VERSION`]).
fn app_spec(names: &SetNames, tenant_id: &str, shape: Shape) -> AppSpec {
    AppSpec {
        name: names.app.clone(),
        label: names.app.replace('_', " "),
        contact_email: names.email.clone(),
        description: format!(
            "Server-to-server access for tenant {tenant_id} (managed by connectord)"
        ),
        scopes: vec!["Api".to_owned()],
        execution_username: names.username.clone(),
        ip_relaxation: shape.ip_relaxation,
        callback_url: "https://localhost/oauth/callback".to_owned(),
    }
}

pub fn app_query(app: &str) -> String {
    format!(
        "SELECT Id FROM ExternalClientApplication WHERE DeveloperName = {}",
        soql_literal(app)
    )
}

/// The detail of a step's event: what was done, never a secret.
pub fn describe(step: &Step) -> serde_json::Value {
    json!(step)
}
