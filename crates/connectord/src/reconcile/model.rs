//! What the planner reasons about: the desired state of one connection and what is known of its
//! components in the org. Plain data, no I/O.
//!
//! A connection's components come in *sets*: one integration user, its licence assignment, one
//! permission set with its grants and assignment, and one External Client App, all built for one
//! list of fields. A set is named after the connection and its `serial`, so a pass that was cut
//! off can find and adopt what it created. At most two sets exist at once: the `Active` one that
//! serves the agent and a `Building` one that replaces it (scope change, reconnect), or a
//! `Retiring` one being torn down.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::salesforce::eca::IpRelaxation;

/// The version of the shape of what connectord creates in an org: the app's OAuth scopes and
/// policies and the permission template. Raise it whenever a release changes any of them, and
/// say what changed below; `ready` connections built with an older shape are then brought up
/// to date in place, a few per minute (`reconciler.upgrades_per_minute`).
///
/// 1. Scopes `Api`; client credentials as the set's API-only user, admin-approved users only;
///    IP relaxation from `salesforce.ip_relaxation`; read-only object and field grants for the
///    required fields. (Sets recorded before versions existed were built this way.)
pub const SHAPE_VERSION: u32 = 1;

/// The shape an app was (or is to be) deployed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    pub version: u32,
    pub ip_relaxation: IpRelaxation,
}

impl Shape {
    /// What this release builds, with the configured IP relaxation.
    pub fn current(ip_relaxation: IpRelaxation) -> Self {
        Self {
            version: SHAPE_VERSION,
            ip_relaxation,
        }
    }

    /// What sets recorded before shapes were versioned hold: version 1, IP restrictions
    /// enforced (the only policy that release deployed).
    pub fn unversioned() -> Self {
        Self {
            version: 1,
            ip_relaxation: IpRelaxation::Enforce,
        }
    }
}

/// A `Object.Field` API name, compared case-insensitively as Salesforce does.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FieldName(String);

impl FieldName {
    /// `None` unless the text is `Object.Field` (the database enforces the same shape).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (object, field) = text.split_once('.')?;
        let ok = |part: &str| {
            part.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        (ok(object) && ok(field)).then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn object(&self) -> &str {
        self.0.split_once('.').map_or(&self.0, |(object, _)| object)
    }

    fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl PartialEq for FieldName {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for FieldName {}
impl PartialOrd for FieldName {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for FieldName {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

/// The objects a list of fields reads from, case-insensitively distinct, in order.
pub fn objects_of(fields: &BTreeSet<FieldName>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    fields
        .iter()
        .filter(|f| seen.insert(f.object().to_ascii_lowercase()))
        .map(|f| f.object().to_owned())
        .collect()
}

/// The row of `connections`, as the planner needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub enabled: bool,
    pub fields: BTreeSet<FieldName>,
    pub reconnect_requested_at: Option<DateTime<Utc>>,
    /// The shape this release builds (not a column: it comes from the code and the settings).
    pub shape: Shape,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Building,
    Active,
    Retiring,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserState {
    pub id: String,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectGrant {
    pub id: String,
    pub object: String,
    /// Read and nothing else (no create, edit, delete, view all, modify all).
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldGrant {
    pub id: String,
    pub field: FieldName,
    /// Read without edit.
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionSetState {
    pub id: String,
    pub objects: Vec<ObjectGrant>,
    pub fields: Vec<FieldGrant>,
}

/// One set of components: what the daemon recorded, refreshed by what the org showed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentSet {
    pub serial: i32,
    pub role: Role,
    pub fields: BTreeSet<FieldName>,
    /// Fields readable through object access alone, which take no field permission (required
    /// and system fields, such as `Account.Name`: describe says `permissionable: false`).
    #[serde(default)]
    pub implicit: BTreeSet<FieldName>,
    pub user: Option<UserState>,
    pub license: Option<String>,
    pub permission_set: Option<PermissionSetState>,
    pub assignment: Option<String>,
    pub app: Option<String>,
    /// What the app was last deployed with (meaningless while `app` is `None`).
    #[serde(default = "Shape::unversioned")]
    pub shape: Shape,
    /// The consumer key and the sealed secret are held.
    pub credentials: bool,
    /// A client-credentials token was minted and used with these components.
    pub verified: bool,
    /// The names the set was begun with; `None` for sets recorded before names were kept
    /// (they carry [`super::names::SetNames::legacy`] names in the org).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names: Option<super::names::SetNames>,
    /// The org shows the app's OAuth policy wider than deployed (another run-as user, more
    /// scopes, …): the app is deployed again in place.
    #[serde(default)]
    pub app_policy_drift: bool,
}

impl ComponentSet {
    pub fn new(serial: i32, role: Role, fields: BTreeSet<FieldName>) -> Self {
        Self {
            serial,
            role,
            fields,
            implicit: BTreeSet::new(),
            user: None,
            license: None,
            permission_set: None,
            assignment: None,
            app: None,
            shape: Shape::unversioned(),
            credentials: false,
            verified: false,
            names: None,
            app_policy_drift: false,
        }
    }

    /// Nothing of this set is left in the org (a deactivated user counts as gone: users
    /// cannot be deleted).
    pub fn is_gone(&self) -> bool {
        self.app.is_none()
            && self.assignment.is_none()
            && self.permission_set.is_none()
            && self.license.is_none()
            && self.user.as_ref().is_none_or(|u| !u.active)
    }
}

/// Everything the daemon knows of one connection's components.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Known {
    /// The newest reconnect request already acted on.
    pub handled_reconnect_at: Option<DateTime<Utc>>,
    pub sets: Vec<ComponentSet>,
    /// The highest serial ever begun: serials are never reused, because a deactivated user
    /// keeps its username for ever.
    pub last_serial: i32,
    /// The org had no free integration licence seat when a replacement set was started while
    /// the active one still held its seat: replace break-before-make instead.
    pub no_spare_seat: bool,
}

impl Known {
    pub fn set(&self, role: Role) -> Option<&ComponentSet> {
        self.sets.iter().find(|s| s.role == role)
    }

    pub fn next_serial(&self) -> i32 {
        self.sets
            .iter()
            .map(|s| s.serial)
            .max()
            .unwrap_or(0)
            .max(self.last_serial)
            + 1
    }
}
