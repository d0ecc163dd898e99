//! The planner: desired state + what is known of the org → the steps that converge them.
//! A pure function; `connectord plan` prints it, the executor takes its first step and asks
//! again.

use serde::Serialize;

pub use crate::store::Phase;

use super::model::{ComponentSet, Desired, FieldName, Known, Role, Shape};
use super::plan_access::{access_work, narrowing};

/// What creating or repairing a set's access takes; done in as few calls as the API allows.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct AccessWork {
    pub create_user: bool,
    pub assign_license: bool,
    pub create_permission_set: bool,
    /// Objects to grant read on (dependencies first).
    pub grant_objects: Vec<String>,
    /// `grant_objects` needed only by others (`"Account (needed by Contact)"`, `dependencies`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<String>,
    /// Object permissions that grant more than read: set back to read only.
    pub restrict_objects: Vec<String>,
    /// Object permissions for objects no longer needed.
    pub revoke_objects: Vec<String>,
    pub grant_fields: Vec<FieldName>,
    /// Field permissions that grant edit: set back to read only.
    pub restrict_fields: Vec<String>,
    /// Field permissions for fields no longer needed.
    pub revoke_fields: Vec<String>,
    pub assign: bool,
}

impl AccessWork {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// What tearing down a set's access takes, in one Composite call. Access goes first: the user
/// is deactivated (its tokens stop working at once; users cannot be deleted) and the permission
/// set unassigned, then the permission set is deleted and the licence assignment removed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct TeardownWork {
    pub unassign: Option<String>,
    pub delete_permission_set: Option<String>,
    pub remove_license: Option<String>,
    pub deactivate_user: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Record a new set before anything of it is created, so a crash can find it again.
    Begin {
        serial: i32,
        fields: Vec<FieldName>,
    },
    EnsureAccess {
        serial: i32,
        work: AccessWork,
    },
    DeployApp {
        serial: i32,
    },
    /// Deploy the app again under the same name with the current shape (a Metadata deploy
    /// updates it in place, keeping its consumer key and secret), then verify it again.
    UpgradeApp {
        serial: i32,
        from: Shape,
        to: Shape,
        /// The set is in service: the upgrade waits for its turn under
        /// `reconciler.upgrades_per_minute`. A set not yet verified goes at once.
        gradual: bool,
    },
    FetchCredentials {
        serial: i32,
    },
    Verify {
        serial: i32,
    },
    /// The set becomes the one the agent uses; the previous one starts retiring.
    Promote {
        serial: i32,
    },
    Retire {
        serial: i32,
    },
    RemoveApp {
        serial: i32,
    },
    RemoveAccess {
        serial: i32,
        work: TeardownWork,
    },
    /// Nothing of the set is left in the org: drop its record.
    Forget {
        serial: i32,
    },
    /// The reconnect request has been acted on.
    HandleReconnect,
    /// The set's integration user was deactivated in the org (by a person: connectord only
    /// deactivates users it tears down). It is not reactivated: the connection waits for a
    /// reconnect (`integration_user_deactivated`).
    UserDeactivated {
        serial: i32,
    },
}

impl Step {
    /// The step's name, as in the events' `action` and the plan's JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Step::Begin { .. } => "begin",
            Step::EnsureAccess { .. } => "ensure_access",
            Step::DeployApp { .. } => "deploy_app",
            Step::UpgradeApp { .. } => "upgrade_app",
            Step::FetchCredentials { .. } => "fetch_credentials",
            Step::Verify { .. } => "verify",
            Step::Promote { .. } => "promote",
            Step::Retire { .. } => "retire",
            Step::RemoveApp { .. } => "remove_app",
            Step::RemoveAccess { .. } => "remove_access",
            Step::Forget { .. } => "forget",
            Step::HandleReconnect => "handle_reconnect",
            Step::UserDeactivated { .. } => "user_deactivated",
        }
    }

    /// Whether the step sends anything to Salesforce.
    pub fn calls_salesforce(&self) -> bool {
        !matches!(
            self,
            Step::Begin { .. }
                | Step::Promote { .. }
                | Step::Retire { .. }
                | Step::Forget { .. }
                | Step::HandleReconnect
                | Step::UserDeactivated { .. }
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub phase: Phase,
    /// Why this plan, in a sentence (for `connectord plan` and the events).
    pub reason: String,
    pub steps: Vec<Step>,
}

/// The steps that take what is known to what is desired.
pub fn plan(desired: &Desired, known: &Known) -> Plan {
    let mut plan = plan_steps(desired, known);
    if plan
        .steps
        .iter()
        .any(|s| matches!(s, Step::UserDeactivated { .. }))
    {
        plan.phase = Phase::ActionRequired;
        plan.reason = "the integration user was deactivated in the org: it is not reactivated; \
                       reconnect to create a new one"
            .into();
    }
    plan
}

fn plan_steps(desired: &Desired, known: &Known) -> Plan {
    let mut steps = Vec::new();
    let retiring: Vec<&ComponentSet> = known
        .sets
        .iter()
        .filter(|s| s.role == Role::Retiring)
        .collect();
    // Sets already on their way out go first: they may hold the licence seat a new set needs.
    for set in &retiring {
        teardown(set, &mut steps);
    }
    let reconnect_pending = match (desired.reconnect_requested_at, known.handled_reconnect_at) {
        (Some(asked), Some(handled)) => asked > handled,
        (Some(_), None) => true,
        (None, _) => false,
    };

    if !desired.enabled {
        // Each set is marked retiring before its teardown starts: teardown deactivates the user
        // first, and a set we began to tear down is never taken back into service (turned on
        // again meanwhile, a new set is built), so a user found inactive in a set still in
        // service was deactivated by a person, never by a pass cut off mid-teardown.
        for set in known.sets.iter().filter(|s| s.role != Role::Retiring) {
            steps.push(Step::Retire { serial: set.serial });
            teardown(set, &mut steps);
        }
        if reconnect_pending {
            // Everything is being removed anyway: turning on again creates it anew.
            steps.push(Step::HandleReconnect);
        }
        let (phase, reason) = if steps.is_empty() {
            (
                Phase::Disabled,
                "access is off and nothing is left in the org",
            )
        } else {
            (
                Phase::Deprovisioning,
                "access is off: remove every component",
            )
        };
        return Plan {
            phase,
            reason: reason.into(),
            steps,
        };
    }

    let active = known.set(Role::Active);
    let building = known.set(Role::Building);

    if reconnect_pending {
        for set in known.sets.iter().filter(|s| s.role != Role::Retiring) {
            steps.push(Step::Retire { serial: set.serial });
            teardown(set, &mut steps);
        }
        steps.push(Step::HandleReconnect);
        build_new(known.next_serial(), desired, &mut steps);
        return Plan {
            phase: Phase::Recreating,
            reason: "reconnect requested: delete every component, then create them anew".into(),
            steps,
        };
    }

    if let Some(active) = active.filter(|a| a.fields == desired.fields) {
        if let Some(stale) = building {
            steps.push(Step::Retire {
                serial: stale.serial,
            });
            teardown(stale, &mut steps);
        }
        let repairs_from = steps.len();
        build(active, desired.shape, &mut steps);
        let added = &steps[repairs_from..];
        // An upgrade in place of a verified set keeps it in service: still ready.
        let upgrading =
            active.verified && added.iter().any(|s| matches!(s, Step::UpgradeApp { .. }));
        let only_upgrade = upgrading && added.len() == 1;
        let repairing = !added.is_empty() && !only_upgrade;
        let (phase, reason) = match (repairing, retiring.is_empty() && building.is_none()) {
            (false, _) if upgrading => (
                Phase::Ready,
                "bring the app up to the current shape in place, one connection at a time",
            ),
            (false, true) => (Phase::Ready, "the org matches the desired state"),
            (false, false) => (
                Phase::Ready,
                "remove the components the connection no longer uses",
            ),
            (true, _) if active.verified => {
                (Phase::Provisioning, "repair components changed in the org")
            }
            (true, _) => (Phase::Provisioning, "finish the connection"),
        };
        return Plan {
            phase,
            reason: reason.into(),
            steps,
        };
    }

    // A set for the desired fields is needed. Fields (and objects) no longer required stop
    // being readable first, in the set in service, before anything else is done.
    let break_first = active.is_some() && known.no_spare_seat;
    if let Some(active) = active.filter(|_| !break_first) {
        let work = narrowing(active, desired);
        if !work.is_empty() {
            let serial = active.serial;
            steps.insert(0, Step::EnsureAccess { serial, work });
        }
    }
    // A customer who deactivated the user in service cut the connection off: a change of fields
    // does not quietly bring it back with a new user; reconnect does.
    if let Some(active) = active.filter(|a| a.user.as_ref().is_some_and(|u| !u.active)) {
        steps.push(Step::UserDeactivated {
            serial: active.serial,
        });
        return Plan {
            phase: Phase::ActionRequired,
            reason: String::new(),
            steps,
        };
    }
    let reusable = building.filter(|b| b.fields == desired.fields);
    if let Some(stale) = building.filter(|b| b.fields != desired.fields) {
        steps.push(Step::Retire {
            serial: stale.serial,
        });
        teardown(stale, &mut steps);
    }
    if let Some(active) = active.filter(|_| break_first) {
        steps.push(Step::Retire {
            serial: active.serial,
        });
        teardown(active, &mut steps);
    }
    match reusable {
        Some(set) => build(set, desired.shape, &mut steps),
        None => build_new(known.next_serial(), desired, &mut steps),
    }
    if let Some(active) = active.filter(|_| !break_first) {
        // Promote moved it to Retiring: make before break.
        teardown(active, &mut steps);
    }
    let (phase, reason) = match (active, break_first) {
        (None, _) => (Phase::Provisioning, "access is on: create the connection"),
        (Some(_), false) => (
            Phase::Recreating,
            "the required fields changed: build the new connection, then remove the old one",
        ),
        (Some(_), true) => (
            Phase::Recreating,
            "the required fields changed and no licence seat is spare: remove the old connection, then build the new one",
        ),
    };
    Plan {
        phase,
        reason: reason.into(),
        steps,
    }
}

fn build_new(serial: i32, desired: &Desired, steps: &mut Vec<Step>) {
    steps.push(Step::Begin {
        serial,
        fields: desired.fields.iter().cloned().collect(),
    });
    build(
        &ComponentSet::new(serial, Role::Building, desired.fields.clone()),
        desired.shape,
        steps,
    );
}

/// The steps that complete (or repair) one set, ending with its promotion if it is new. An app
/// deployed with another shape than `shape` is upgraded in place when its credentials are
/// held, and deployed again from scratch otherwise.
fn build(set: &ComponentSet, shape: Shape, steps: &mut Vec<Step>) {
    let serial = set.serial;
    if set.user.as_ref().is_some_and(|u| !u.active) {
        steps.push(Step::UserDeactivated { serial });
        return;
    }
    let work = access_work(set);
    let repairs_access = !work.is_empty();
    // A policy widened in the org is put back the way an upgrade is: deployed again in place.
    let outdated = set.app.is_some() && (set.shape != shape || set.app_policy_drift);
    let upgrade = outdated && set.credentials;
    let deploy = set.app.is_none() || (outdated && !upgrade);
    if repairs_access {
        steps.push(Step::EnsureAccess { serial, work });
    }
    if deploy {
        steps.push(Step::DeployApp { serial });
    }
    if upgrade {
        steps.push(Step::UpgradeApp {
            serial,
            from: set.shape,
            to: shape,
            gradual: set.verified
                && set.role == Role::Active
                && !repairs_access
                && !set.app_policy_drift,
        });
    }
    if deploy || !set.credentials {
        steps.push(Step::FetchCredentials { serial });
    }
    // An upgrade verifies the set itself.
    if deploy || (!upgrade && (repairs_access || !set.verified)) {
        steps.push(Step::Verify { serial });
    }
    if set.role == Role::Building {
        steps.push(Step::Promote { serial });
    }
}

/// The steps that remove one set from the org and then from the record: its access first (one
/// Composite call that deactivates the user before anything else), then its app.
fn teardown(set: &ComponentSet, steps: &mut Vec<Step>) {
    let serial = set.serial;
    let work = TeardownWork {
        unassign: set.assignment.clone(),
        delete_permission_set: set.permission_set.as_ref().map(|p| p.id.clone()),
        remove_license: set.license.clone(),
        deactivate_user: set.user.as_ref().filter(|u| u.active).map(|u| u.id.clone()),
    };
    if work != TeardownWork::default() {
        steps.push(Step::RemoveAccess { serial, work });
    }
    if set.app.is_some() {
        steps.push(Step::RemoveApp { serial });
    }
    steps.push(Step::Forget { serial });
}
