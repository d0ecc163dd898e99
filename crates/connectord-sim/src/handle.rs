//! [`OrgHandle`]: what tests and the demo hold to drive one simulated org.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use url::Url;

use super::dml;
use super::faults::Faults;
use super::inspect::{self, ApiCalls, OrgSnapshot};
use super::org::{Org, World};
use super::server::{OrgApp, Served, local_url, org_router, serve, stop};

/// One simulated org, as tests drive it. Cheap to clone.
#[derive(Clone)]
pub struct OrgHandle {
    org: Arc<Org>,
    world: Arc<World>,
    served: Arc<Mutex<Option<Served>>>,
    /// Listeners left at earlier addresses (redirects after a rename); dropped with the handle.
    moved_from: Arc<Mutex<Vec<Served>>>,
}

impl OrgHandle {
    pub fn name(&self) -> String {
        self.org.lock().name.clone()
    }

    /// `http://127.0.0.1:PORT/` (no path, like a My Domain URL).
    pub fn instance_url(&self) -> Url {
        self.org.lock().instance_url.clone()
    }

    /// The seeded admin refresh token, issued to the product's client.
    pub fn admin_refresh_token(&self) -> String {
        self.org.lock().admin_refresh_token.clone()
    }

    pub fn org_id(&self) -> String {
        self.org.lock().org_id.clone()
    }

    pub fn snapshot(&self) -> OrgSnapshot {
        inspect::snapshot(&self.org.lock())
    }

    pub fn api_calls(&self) -> ApiCalls {
        inspect::calls(&self.org.lock())
    }

    /// Starts watching for the next call: [`OrgHandle::first_call_since_mark`] answers when the
    /// first call after this one arrived (token requests included), for measuring reaction.
    pub fn mark_calls(&self) {
        self.org.lock().first_call_since_mark = None;
    }

    /// When the first call since the last [`OrgHandle::mark_calls`] arrived, if one has.
    pub fn first_call_since_mark(&self) -> Option<std::time::Instant> {
        self.org.lock().first_call_since_mark
    }

    /// Zeroes the call counters and the API usage.
    pub fn reset_api_calls(&self) {
        let mut state = self.org.lock();
        state.calls.clear();
        state.calls_total = 0;
        state.api_used = 0;
    }

    /// Grants or takes away one system permission (`PermissionsManageUsers`, …) of the admin's
    /// profile, as an org whose admin profile was trimmed would hold it.
    pub fn set_admin_permission(&self, permission: &str, on: bool) {
        let mut state = self.org.lock();
        let admin = state.admin_user_id.clone();
        let profile = state
            .data
            .find("User", &admin)
            .and_then(|u| super::org::str_field(u, "ProfileId"))
            .map(str::to_owned);
        if let Some(sets) = state.data.tables.get_mut("PermissionSet") {
            for set in sets.iter_mut() {
                if super::org::str_field(set, "ProfileId") == profile.as_deref() {
                    set.insert(permission.to_owned(), json!(on));
                }
            }
        }
    }

    pub fn faults(&self) -> Faults {
        Faults {
            org: self.org.clone(),
        }
    }

    /// A My Domain rename: the org moves to a new listener (new instance URL); the old host
    /// answers every request with a 301 to the same path on the new one, as Salesforce's
    /// "Redirect previous My Domain URLs" does; the login endpoint names the new URL from then
    /// on.
    pub async fn rename(&self, new_name: &str) -> anyhow::Result<Url> {
        let old = self.instance_url();
        let new = self.rename_without_redirect(new_name).await?;
        let served = super::moves::serve_redirect(&old, &new).await?;
        self.moved_from
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(served);
        Ok(new)
    }

    /// The org's host stops answering (nothing listens there): a network outage, not a rename.
    pub async fn go_dark(&self) {
        if let Some(served) = self.take_served() {
            stop(served).await;
        }
    }

    /// The org's host answers again at the same address after [`OrgHandle::go_dark`].
    pub async fn come_back(&self) -> anyhow::Result<()> {
        let app = OrgApp {
            org: self.org.clone(),
            world: self.world.clone(),
        };
        let addr = super::moves::socket_addr(&self.instance_url())?;
        let (_, served) = serve(org_router(app), addr).await?;
        *self.served.lock().unwrap_or_else(|p| p.into_inner()) = Some(served);
        Ok(())
    }

    /// A rename after which the old host no longer answers at all (redirects disabled).
    pub async fn rename_without_redirect(&self, new_name: &str) -> anyhow::Result<Url> {
        let app = OrgApp {
            org: self.org.clone(),
            world: self.world.clone(),
        };
        let (addr, served) = serve(
            org_router(app),
            std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        )
        .await?;
        let url = local_url(addr)?;
        {
            let mut state = self.org.lock();
            state.name = new_name.to_string();
            state.instance_url = url.clone();
        }
        let old = self
            .served
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(served);
        if let Some(old) = old {
            stop(old).await;
        }
        Ok(url)
    }

    /// Deletes a record as an org admin would in Setup (drift). Users are deactivated instead.
    pub fn admin_delete(&self, sobject: &str, id: &str) -> anyhow::Result<()> {
        let mut state = self.org.lock();
        let actor = super::access::Actor {
            user_id: state.admin_user_id.clone(),
            admin: true,
        };
        if sobject == "User" {
            return dml::update(
                &mut state,
                &self.world,
                &actor,
                sobject,
                id,
                &json!({"IsActive": false}),
            )
            .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message));
        }
        if sobject == "ExternalClientApplication" {
            let name = state
                .data
                .ecas
                .values()
                .find(|b| b.id == super::ids::to_18(id))
                .map(|b| b.developer_name.clone());
            let name = name.ok_or_else(|| anyhow::anyhow!("no such app {id}"))?;
            state.data.ecas.remove(&name);
            super::metadata::deploy::sync_records(&mut state);
            return Ok(());
        }
        dml::delete(&mut state, &actor, sobject, id)
            .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))
    }

    /// Switches an app's client-credentials run-as user, as an org admin can in Setup (drift).
    /// Setup, unlike a Metadata deploy, takes any active user.
    pub fn admin_set_app_run_as(&self, app: &str, username: &str) -> anyhow::Result<()> {
        self.edit_app(app, |bundle| {
            let policies = bundle.oauth_policies.get_or_insert_with(Default::default);
            policies.client_credentials_user = Some(username.to_owned());
        })
    }

    /// Replaces an app's OAuth scopes (metadata names: `Api`, `Full`, …), as in Setup (drift).
    pub fn admin_set_app_scopes(&self, app: &str, scopes: &[&str]) -> anyhow::Result<()> {
        self.edit_app(app, |bundle| {
            bundle.oauth_settings = Some(super::org::EcaOauthSettings {
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
            });
        })
    }

    fn edit_app(
        &self,
        app: &str,
        edit: impl FnOnce(&mut super::org::EcaBundle),
    ) -> anyhow::Result<()> {
        let mut state = self.org.lock();
        let bundle = state.data.ecas.get_mut(app);
        edit(bundle.ok_or_else(|| anyhow::anyhow!("no such app {app}"))?);
        super::metadata::deploy::sync_records(&mut state);
        Ok(())
    }

    /// Updates a record as an org admin would (drift), with the same rules as the API.
    pub fn admin_update(
        &self,
        sobject: &str,
        id: &str,
        fields: serde_json::Value,
    ) -> anyhow::Result<()> {
        let mut state = self.org.lock();
        let actor = super::access::Actor {
            user_id: state.admin_user_id.clone(),
            admin: true,
        };
        dml::update(&mut state, &self.world, &actor, sobject, id, &fields)
            .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))
    }

    /// Creates a record as an org admin would; answers its id.
    pub fn admin_create(&self, sobject: &str, fields: serde_json::Value) -> anyhow::Result<String> {
        let mut state = self.org.lock();
        let actor = super::access::Actor {
            user_id: state.admin_user_id.clone(),
            admin: true,
        };
        dml::create(&mut state, &self.world, &actor, sobject, &fields)
            .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))
    }

    /// No user but the admin can read `field` (`Object.Field`) from now on, whatever their
    /// permission sets grant: a query naming it answers `INVALID_FIELD` ("No such column").
    pub fn withhold_field(&self, field: &str) {
        self.org
            .lock()
            .data
            .withheld_fields
            .insert(field.to_owned());
    }

    /// Changes the daily API allowance.
    pub fn set_daily_api_limit(&self, limit: u64) {
        self.org.lock().config.daily_api_limit = limit;
    }

    /// Changes the query page size (to exercise `nextRecordsUrl`).
    pub fn set_query_page_size(&self, size: usize) {
        self.org.lock().config.query_page_size = size.max(1);
    }

    /// Changes how many status polls a new deploy takes.
    pub fn set_deploy_polls_until_done(&self, polls: u32) {
        self.org.lock().config.deploy_polls_until_done = polls.max(1);
    }

    /// Turns "Allow access to External Client App consumer secrets via REST API" on or off.
    pub fn set_client_secret_in_rest_api(&self, on: bool) {
        self.org.lock().config.client_secret_in_rest_api = on;
    }

    /// Whether SOQL on `ExternalClientApplication` answers (off: 400 `INVALID_TYPE`).
    pub fn set_eca_soql(&self, on: bool) {
        self.org.lock().config.eca_soql = on;
    }

    /// How many SOQL queries on `ExternalClientApplication` were refused so far.
    pub fn eca_soql_refusals(&self) -> u64 {
        self.org.lock().eca_soql_refusals
    }

    /// The first `grants` client-credentials grants of each app deployed from now on answer
    /// `invalid_grant` ("app is not yet available"), as a new app propagates.
    pub fn set_app_propagation_grants(&self, grants: u32) {
        self.org.lock().config.app_propagation_grants = grants;
    }

    /// Reseeds the order in which collated Composite subrequests run.
    pub fn set_collation_seed(&self, seed: u64) {
        self.org.lock().config.collation_seed = seed;
    }

    /// Removes a seeded setup record by its `Name` or `DeveloperName` (e.g. the Profile
    /// "Minimum Access - API Only Integrations" or the PermissionSetLicense
    /// `SalesforceAPIIntegrationPsl`): an org that lacks it. Answers whether one was removed.
    pub fn remove_setup_record(&self, sobject: &str, name: &str) -> bool {
        let mut state = self.org.lock();
        let Some(rows) = state.data.tables.get_mut(sobject) else {
            return false;
        };
        let before = rows.len();
        rows.retain(|r| {
            ["Name", "DeveloperName"]
                .iter()
                .all(|f| super::org::str_field(r, f) != Some(name))
        });
        before != rows.len()
    }

    /// Switches refresh-token rotation on or off (see `OrgConfig::rotate_refresh_tokens`).
    pub fn set_refresh_token_rotation(&self, on: bool) {
        self.org.lock().config.rotate_refresh_tokens = on;
    }

    /// The org's admin authorises the product again (after a revoke): a new refresh token for
    /// the admin user, which becomes [`OrgHandle::admin_refresh_token`]. Earlier tokens stay as
    /// they are (a revoked one stays revoked).
    pub fn issue_admin_refresh_token(&self) -> String {
        let mut state = self.org.lock();
        let token = format!("5Aep861{}", super::seed::random_token(80));
        let admin = state.admin_user_id.clone();
        state.refresh_tokens.insert(token.clone(), admin);
        state.admin_refresh_token = token.clone();
        token
    }

    /// Changes how long new access tokens live.
    pub fn set_access_token_ttl(&self, ttl: Duration) {
        self.org.lock().config.access_token_ttl = ttl;
    }
}

impl OrgHandle {
    pub(super) fn new(org: Arc<Org>, world: Arc<World>, served: Served) -> Self {
        OrgHandle {
            org,
            world,
            served: Arc::new(Mutex::new(Some(served))),
            moved_from: Arc::new(Mutex::new(Vec::new())),
        }
    }

    pub(super) fn take_served(&self) -> Option<Served> {
        self.served.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}
