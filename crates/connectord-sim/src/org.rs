//! The in-memory state of one simulated org, and the world the orgs share (the product's OAuth
//! client, usernames that are unique across every org).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Instant;

use serde_json::{Map, Value};
use url::Url;

use super::config::OrgConfig;
use super::faults::FaultState;
use super::ids;

/// A record: field name → JSON value, always with `Id`.
pub type Record = Map<String, Value>;

/// The data that a transaction may roll back.
#[derive(Debug, Clone, Default)]
pub struct Data {
    /// Records by canonical object name, in insertion order.
    pub tables: BTreeMap<String, Vec<Record>>,
    /// External Client Apps by developer name.
    pub ecas: BTreeMap<String, EcaBundle>,
    /// How many of the wide objects' fields this org has (`OrgConfig::extra_custom_fields`).
    pub extra_custom_fields: u32,
    /// `Object.Field` names no user but the admin can read, whatever the permission sets say
    /// (as when the user's licence does not cover them): [`super::OrgHandle::withhold_field`].
    pub withheld_fields: std::collections::BTreeSet<String>,
}

impl Data {
    pub fn table(&self, sobject: &str) -> &[Record] {
        self.tables.get(sobject).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn find(&self, sobject: &str, id: &str) -> Option<&Record> {
        let id = ids::to_18(id);
        self.table(sobject)
            .iter()
            .find(|record| str_field(record, "Id") == Some(id.as_str()))
    }

    pub fn find_mut(&mut self, sobject: &str, id: &str) -> Option<&mut Record> {
        let id = ids::to_18(id);
        self.tables
            .get_mut(sobject)?
            .iter_mut()
            .find(|record| str_field(record, "Id") == Some(id.as_str()))
    }

    /// The object that holds `id`, found by its key prefix.
    pub fn object_of(&self, id: &str) -> Option<String> {
        let id = ids::to_18(id);
        self.tables
            .iter()
            .find(|(_, records)| {
                records
                    .iter()
                    .any(|r| str_field(r, "Id") == Some(id.as_str()))
            })
            .map(|(name, _)| name.clone())
    }

    pub fn remove(&mut self, sobject: &str, id: &str) -> Option<Record> {
        let id = ids::to_18(id);
        let table = self.tables.get_mut(sobject)?;
        let index = table
            .iter()
            .position(|r| str_field(r, "Id") == Some(id.as_str()))?;
        Some(table.remove(index))
    }

    pub fn insert(&mut self, sobject: &str, record: Record) {
        self.tables
            .entry(sobject.to_string())
            .or_default()
            .push(record);
    }
}

/// A string field of a record.
pub fn str_field<'a>(record: &'a Record, field: &str) -> Option<&'a str> {
    record.get(field).and_then(Value::as_str)
}

/// A boolean field of a record (absent = false).
pub fn bool_field(record: &Record, field: &str) -> bool {
    record.get(field).and_then(Value::as_bool).unwrap_or(false)
}

/// An External Client App and the settings deployed for it.
#[derive(Debug, Clone, Default)]
pub struct EcaBundle {
    pub id: String,
    pub developer_name: String,
    pub label: String,
    pub contact_email: String,
    pub description: String,
    pub distribution_state: String,
    pub oauth_settings: Option<EcaOauthSettings>,
    pub global_oauth: Option<EcaGlobalOauth>,
    pub oauth_policies: Option<EcaOauthPolicies>,
    pub policies: Option<EcaPolicies>,
}

#[derive(Debug, Clone, Default)]
pub struct EcaOauthSettings {
    pub scopes: Vec<String>,
}

#[derive(Clone, Default)]
pub struct EcaGlobalOauth {
    pub callback_url: String,
    pub client_credentials_enabled: bool,
    pub has_certificate: bool,
    pub consumer_id: String,
    pub consumer_key: String,
    pub consumer_secret: String,
}

impl std::fmt::Debug for EcaGlobalOauth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EcaGlobalOauth")
            .field("callback_url", &self.callback_url)
            .field(
                "client_credentials_enabled",
                &self.client_credentials_enabled,
            )
            .field("consumer_key", &self.consumer_key)
            .field("consumer_secret", &"[REDACTED]")
            .finish()
    }
}

#[derive(Debug, Clone, Default)]
pub struct EcaOauthPolicies {
    pub client_credentials_enabled: bool,
    pub client_credentials_user: Option<String>,
    pub permitted_users: String,
    pub ip_relaxation: String,
}

#[derive(Debug, Clone, Default)]
pub struct EcaPolicies {
    pub is_enabled: bool,
}

/// An access token the org issued.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: String,
    pub expires_at: Instant,
}

/// A deploy request and how far it has got.
#[derive(Debug, Clone)]
pub struct Deploy {
    pub id: String,
    pub rollback_on_error: bool,
    pub check_only: bool,
    pub created: chrono::DateTime<chrono::Utc>,
    pub polls: u32,
    pub polls_until_done: Option<u32>,
    pub package: super::metadata::package::Package,
    pub outcome: Option<super::metadata::deploy::Outcome>,
    /// Where a cancellation stands: `Canceling` once asked, `Canceled` from the next poll.
    pub cancel: Option<Cancel>,
}

/// A deploy's cancellation (Metadata API Developer Guide, "Cancel a Deployment in Progress
/// Using REST": processed asynchronously, `Canceling` then `Canceled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancel {
    Canceling,
    Canceled,
}

/// What a query cursor still has to return.
#[derive(Debug, Clone)]
pub struct Cursor {
    pub records: Vec<Value>,
    pub total: usize,
    pub offset: usize,
}

/// One org's state. Its `Debug` leaves out tokens and secrets.
pub struct OrgState {
    pub name: String,
    pub org_id: String,
    pub code: u32,
    pub counter: u64,
    pub instance_url: Url,
    pub config: OrgConfig,
    pub data: Data,
    pub sessions: HashMap<String, Session>,
    /// Refresh token → user id.
    pub refresh_tokens: HashMap<String, String>,
    pub admin_user_id: String,
    pub admin_refresh_token: String,
    pub api_used: u64,
    pub calls: BTreeMap<String, u64>,
    pub calls_total: u64,
    /// When the first call since [`OrgHandle::mark_calls`](super::OrgHandle::mark_calls)
    /// arrived (after any injected latency).
    pub first_call_since_mark: Option<std::time::Instant>,
    pub deploys: HashMap<String, Deploy>,
    pub cursors: HashMap<String, Cursor>,
    /// Consumer key → client-credentials grants still refused while the new app propagates
    /// (`OrgConfig::app_propagation_grants`).
    pub propagating: HashMap<String, u32>,
    /// SOQL queries on `ExternalClientApplication` refused (`OrgConfig::eca_soql` off).
    pub eca_soql_refusals: u64,
}

impl std::fmt::Debug for OrgState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrgState")
            .field("name", &self.name)
            .field("org_id", &self.org_id)
            .field("instance_url", &self.instance_url.as_str())
            .field("sessions", &self.sessions.len())
            .field("api_used", &self.api_used)
            .finish_non_exhaustive()
    }
}

impl OrgState {
    pub fn next_id(&mut self, sobject: &str) -> String {
        self.counter += 1;
        ids::make_id(sobject, self.code, self.counter)
    }

    pub fn count_call(&mut self, kind: &str) {
        *self.calls.entry(kind.to_string()).or_default() += 1;
        self.calls_total += 1;
        self.first_call_since_mark
            .get_or_insert_with(std::time::Instant::now);
    }

    pub fn limit_header(&self) -> String {
        format!(
            "api-usage={}/{}",
            self.api_used, self.config.daily_api_limit
        )
    }
}

/// One org: its state and its fault switches.
#[derive(Debug)]
pub struct Org {
    pub state: Mutex<OrgState>,
    pub faults: FaultState,
}

impl Org {
    /// The state, even if a previous holder panicked (the data stays usable).
    pub fn lock(&self) -> MutexGuard<'_, OrgState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What all orgs of one simulator share. Its `Debug` leaves out the client secret.
pub struct World {
    pub client_id: String,
    pub client_secret: String,
    /// Lower-cased username → org id (usernames are unique across all orgs).
    pub usernames: Mutex<HashMap<String, String>>,
    pub orgs: RwLock<Vec<Arc<Org>>>,
    pub login_url: RwLock<Option<Url>>,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

impl World {
    pub fn usernames(&self) -> MutexGuard<'_, HashMap<String, String>> {
        self.usernames.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn orgs(&self) -> Vec<Arc<Org>> {
        self.orgs.read().map(|o| o.clone()).unwrap_or_default()
    }

    /// Re-registers the usernames of `org_id` after a rollback restored its users.
    pub fn resync_usernames(&self, org_id: &str, data: &Data) {
        let mut names = self.usernames();
        names.retain(|_, owner| owner != org_id);
        for user in data.table("User") {
            if let Some(username) = str_field(user, "Username") {
                names.insert(username.to_lowercase(), org_id.to_string());
            }
        }
    }

    pub fn login_url(&self) -> Option<Url> {
        self.login_url.read().ok().and_then(|u| u.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_holds_no_token_or_secret() {
        let config = super::super::config::OrgConfig::named("acme");
        let url = Url::parse("http://127.0.0.1:1").unwrap_or_else(|_| unreachable!());
        let state = super::super::seed::seed(&config, 1, url);
        let printed = format!("{state:?}");
        assert!(!printed.contains(&state.admin_refresh_token));
        let global = EcaGlobalOauth {
            consumer_secret: "s3cr3t-value".into(),
            ..Default::default()
        };
        assert!(!format!("{global:?}").contains("s3cr3t-value"));
    }
}
