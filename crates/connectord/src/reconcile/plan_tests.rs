//! Table-driven tests of the planner: each case is a desired state, what is known, and the
//! step kinds (and phase) expected.

use std::collections::BTreeSet;

use chrono::{TimeZone, Utc};

use super::model::*;
use super::plan::*;
use crate::salesforce::eca::IpRelaxation;

pub(super) fn fields(names: &[&str]) -> BTreeSet<FieldName> {
    names.iter().map(|n| FieldName::parse(n).unwrap()).collect()
}

pub(super) fn on(names: &[&str]) -> Desired {
    Desired {
        enabled: true,
        fields: fields(names),
        reconnect_requested_at: None,
        shape: Shape::current(IpRelaxation::Enforce),
    }
}

pub(super) fn off() -> Desired {
    Desired {
        enabled: false,
        fields: fields(&["Account.Name"]),
        reconnect_requested_at: None,
        shape: Shape::current(IpRelaxation::Enforce),
    }
}

/// A complete, verified set granting exactly `names`.
pub(super) fn complete(serial: i32, role: Role, names: &[&str]) -> ComponentSet {
    let f = fields(names);
    let objects = super::dependencies::objects_needed(&f)
        .into_iter()
        .enumerate()
        .map(|(i, object)| ObjectGrant {
            id: format!("110{serial}{i}"),
            object,
            read_only: true,
        })
        .collect();
    let field_grants = f
        .iter()
        .enumerate()
        .map(|(i, field)| FieldGrant {
            id: format!("01k{serial}{i}"),
            field: field.clone(),
            read_only: true,
        })
        .collect();
    ComponentSet {
        serial,
        role,
        fields: f,
        implicit: BTreeSet::new(),
        user: Some(UserState {
            id: format!("005{serial}"),
            active: true,
        }),
        license: Some(format!("2LA{serial}")),
        permission_set: Some(PermissionSetState {
            id: format!("0PS{serial}"),
            objects,
            fields: field_grants,
        }),
        assignment: Some(format!("0Pa{serial}")),
        app: Some(format!("0xA{serial}")),
        shape: Shape::current(IpRelaxation::Enforce),
        credentials: true,
        verified: true,
        names: None,
        app_policy_drift: false,
    }
}

pub(super) fn known(sets: Vec<ComponentSet>) -> Known {
    let last_serial = sets.iter().map(|s| s.serial).max().unwrap_or(0);
    Known {
        handled_reconnect_at: None,
        sets,
        last_serial,
        no_spare_seat: false,
    }
}

/// The steps as short names, e.g. `begin:1`, `ensure:1`, `deploy:1`.
pub(super) fn kinds(plan: &Plan) -> Vec<String> {
    plan.steps
        .iter()
        .map(|s| match s {
            Step::Begin { serial, .. } => format!("begin:{serial}"),
            Step::EnsureAccess { serial, .. } => format!("ensure:{serial}"),
            Step::DeployApp { serial } => format!("deploy:{serial}"),
            Step::UpgradeApp {
                serial, gradual, ..
            } => match gradual {
                true => format!("upgrade:{serial}"),
                false => format!("upgrade_now:{serial}"),
            },
            Step::FetchCredentials { serial } => format!("credentials:{serial}"),
            Step::Verify { serial } => format!("verify:{serial}"),
            Step::Promote { serial } => format!("promote:{serial}"),
            Step::Retire { serial } => format!("retire:{serial}"),
            Step::RemoveApp { serial } => format!("remove_app:{serial}"),
            Step::RemoveAccess { serial, .. } => format!("remove_access:{serial}"),
            Step::Forget { serial } => format!("forget:{serial}"),
            Step::HandleReconnect => "handle_reconnect".to_owned(),
            Step::UserDeactivated { serial } => format!("user_deactivated:{serial}"),
        })
        .collect()
}

pub(super) fn ensure_work(plan: &Plan) -> &AccessWork {
    plan.steps
        .iter()
        .find_map(|s| match s {
            Step::EnsureAccess { work, .. } => Some(work),
            _ => None,
        })
        .expect("an EnsureAccess step")
}

const BUILD_1: [&str; 6] = [
    "begin:1",
    "ensure:1",
    "deploy:1",
    "credentials:1",
    "verify:1",
    "promote:1",
];

#[test]
fn the_lifecycle_table() {
    let mut half_built = ComponentSet::new(1, Role::Building, fields(&["Account.Name"]));
    half_built.user = Some(UserState {
        id: "005x".into(),
        active: true,
    });
    let mut deployed_unverified = complete(1, Role::Building, &["Account.Name"]);
    deployed_unverified.credentials = false;
    deployed_unverified.verified = false;
    let mut credentials_unverified = deployed_unverified.clone();
    credentials_unverified.credentials = true;
    let mut torn_half = complete(1, Role::Retiring, &["Account.Name"]);
    torn_half.app = None;
    torn_half.assignment = None;
    let mut only_user_left = ComponentSet::new(1, Role::Retiring, fields(&["Account.Name"]));
    only_user_left.user = Some(UserState {
        id: "005".into(),
        active: false,
    });

    let cases: Vec<(&str, Desired, Known, Phase, Vec<&str>)> = vec![
        (
            "off and nothing exists",
            off(),
            known(vec![]),
            Phase::Disabled,
            vec![],
        ),
        (
            "on and nothing exists",
            on(&["Account.Name"]),
            known(vec![]),
            Phase::Provisioning,
            BUILD_1.to_vec(),
        ),
        (
            "on and settled",
            on(&["Account.Name"]),
            known(vec![complete(1, Role::Active, &["Account.Name"])]),
            Phase::Ready,
            vec![],
        ),
        (
            "on, cut off after the user",
            on(&["Account.Name"]),
            known(vec![half_built]),
            Phase::Provisioning,
            vec![
                "ensure:1",
                "deploy:1",
                "credentials:1",
                "verify:1",
                "promote:1",
            ],
        ),
        (
            "on, cut off after the deploy",
            on(&["Account.Name"]),
            known(vec![deployed_unverified]),
            Phase::Provisioning,
            vec!["credentials:1", "verify:1", "promote:1"],
        ),
        (
            "on, cut off before verifying",
            on(&["Account.Name"]),
            known(vec![credentials_unverified]),
            Phase::Provisioning,
            vec!["verify:1", "promote:1"],
        ),
        (
            "off and settled",
            off(),
            known(vec![complete(1, Role::Active, &["Account.Name"])]),
            Phase::Deprovisioning,
            vec!["retire:1", "remove_access:1", "remove_app:1", "forget:1"],
        ),
        (
            "off, cut off half way through teardown",
            off(),
            known(vec![torn_half.clone()]),
            Phase::Deprovisioning,
            vec!["remove_access:1", "forget:1"],
        ),
        (
            "off, only a deactivated user left",
            off(),
            known(vec![only_user_left]),
            Phase::Deprovisioning,
            vec!["forget:1"],
        ),
        (
            "scope change, make before break",
            on(&["Account.Name", "Account.Industry"]),
            known(vec![complete(1, Role::Active, &["Account.Name"])]),
            Phase::Recreating,
            vec![
                "begin:2",
                "ensure:2",
                "deploy:2",
                "credentials:2",
                "verify:2",
                "promote:2",
                "remove_access:1",
                "remove_app:1",
                "forget:1",
            ],
        ),
        (
            "scope change with a new set promoted, old one retiring",
            on(&["Account.Industry"]),
            known(vec![
                complete(1, Role::Retiring, &["Account.Name"]),
                complete(2, Role::Active, &["Account.Industry"]),
            ]),
            Phase::Ready,
            vec!["remove_access:1", "remove_app:1", "forget:1"],
        ),
        (
            "scope changed back while the new set was building",
            on(&["Account.Name"]),
            known(vec![
                complete(1, Role::Active, &["Account.Name"]),
                ComponentSet::new(2, Role::Building, fields(&["Account.Industry"])),
            ]),
            Phase::Ready,
            vec!["retire:2", "forget:2"],
        ),
        (
            "scope changed again while building",
            on(&["Contact.Email"]),
            known(vec![
                complete(1, Role::Active, &["Account.Name"]),
                complete(2, Role::Building, &["Account.Industry"]),
            ]),
            Phase::Recreating,
            vec![
                "ensure:1",
                "retire:2",
                "remove_access:2",
                "remove_app:2",
                "forget:2",
                "begin:3",
                "ensure:3",
                "deploy:3",
                "credentials:3",
                "verify:3",
                "promote:3",
                "remove_access:1",
                "remove_app:1",
                "forget:1",
            ],
        ),
        (
            "a retiring set goes before anything is built",
            on(&["Contact.Email"]),
            known(vec![complete(1, Role::Retiring, &["Account.Name"])]),
            Phase::Provisioning,
            vec![
                "remove_access:1",
                "remove_app:1",
                "forget:1",
                "begin:2",
                "ensure:2",
                "deploy:2",
                "credentials:2",
                "verify:2",
                "promote:2",
            ],
        ),
    ];
    for (name, desired, known, phase, expected) in cases {
        let plan = plan(&desired, &known);
        assert_eq!(kinds(&plan), expected, "case: {name}");
        assert_eq!(plan.phase, phase, "case: {name}");
        assert!(!plan.reason.is_empty(), "case: {name}");
    }
}

#[test]
fn scope_change_without_a_spare_seat_breaks_before_it_makes() {
    let mut k = known(vec![complete(1, Role::Active, &["Account.Name"])]);
    k.no_spare_seat = true;
    let plan = plan(&on(&["Account.Industry"]), &k);
    assert_eq!(
        kinds(&plan),
        [
            "retire:1",
            "remove_access:1",
            "remove_app:1",
            "forget:1",
            "begin:2",
            "ensure:2",
            "deploy:2",
            "credentials:2",
            "verify:2",
            "promote:2"
        ]
    );
    assert_eq!(plan.phase, Phase::Recreating);
}

#[test]
fn reconnect_deletes_everything_then_creates_anew() {
    let mut desired = on(&["Account.Name"]);
    desired.reconnect_requested_at = Some(Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap());
    let k = known(vec![complete(4, Role::Active, &["Account.Name"])]);
    let plan = plan(&desired, &k);
    assert_eq!(
        kinds(&plan),
        [
            "retire:4",
            "remove_access:4",
            "remove_app:4",
            "forget:4",
            "handle_reconnect",
            "begin:5",
            "ensure:5",
            "deploy:5",
            "credentials:5",
            "verify:5",
            "promote:5"
        ]
    );
    assert_eq!(plan.phase, Phase::Recreating);
}

#[test]
fn a_reconnect_already_handled_is_not_repeated() {
    let at = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let mut desired = on(&["Account.Name"]);
    desired.reconnect_requested_at = Some(at);
    let mut k = known(vec![complete(1, Role::Active, &["Account.Name"])]);
    k.handled_reconnect_at = Some(at);
    assert!(plan(&desired, &k).steps.is_empty());
}

#[test]
fn a_reconnect_while_off_is_handled_after_the_teardown() {
    let mut desired = off();
    desired.reconnect_requested_at = Some(Utc::now());
    let plan = plan(
        &desired,
        &known(vec![complete(1, Role::Active, &["Account.Name"])]),
    );
    assert_eq!(
        kinds(&plan),
        [
            "retire:1",
            "remove_access:1",
            "remove_app:1",
            "forget:1",
            "handle_reconnect"
        ]
    );
}

#[test]
fn serials_are_never_reused_even_after_a_set_is_forgotten() {
    let mut k = known(vec![]);
    k.last_serial = 7;
    assert_eq!(kinds(&plan(&on(&["Account.Name"]), &k))[0], "begin:8");
}

#[test]
fn drift_repair_grants_only_what_is_missing_and_revokes_what_is_extra() {
    let mut set = complete(
        1,
        Role::Active,
        &["Account.Name", "Account.Industry", "Contact.Email"],
    );
    let ps = set.permission_set.as_mut().unwrap();
    // Someone removed Contact.Email, gave edit on Account.Name, and added Account.Phone.
    ps.fields.retain(|g| g.field.as_str() != "Contact.Email");
    ps.fields
        .iter_mut()
        .find(|g| g.field.as_str() == "Account.Name")
        .unwrap()
        .read_only = false;
    ps.fields.push(FieldGrant {
        id: "01kX".into(),
        field: FieldName::parse("Account.Phone").unwrap(),
        read_only: true,
    });
    // and made Account modify-all, and granted Lead.
    ps.objects
        .iter_mut()
        .find(|g| g.object == "Account")
        .unwrap()
        .read_only = false;
    ps.objects.push(ObjectGrant {
        id: "110X".into(),
        object: "Lead".into(),
        read_only: true,
    });
    let restricted_account = ps
        .objects
        .iter()
        .find(|g| g.object == "Account")
        .unwrap()
        .id
        .clone();
    let restricted_name = ps
        .fields
        .iter()
        .find(|g| g.field.as_str() == "Account.Name")
        .unwrap()
        .id
        .clone();

    let plan = plan(
        &on(&["Account.Name", "Account.Industry", "Contact.Email"]),
        &known(vec![set]),
    );
    assert_eq!(kinds(&plan), ["ensure:1", "verify:1"]);
    assert_eq!(plan.phase, Phase::Provisioning);
    let work = ensure_work(&plan);
    assert_eq!(
        work.grant_fields,
        vec![FieldName::parse("Contact.Email").unwrap()]
    );
    assert_eq!(work.restrict_fields, vec![restricted_name]);
    assert_eq!(work.revoke_fields, vec!["01kX".to_owned()]);
    assert_eq!(work.restrict_objects, vec![restricted_account]);
    assert_eq!(work.revoke_objects, vec!["110X".to_owned()]);
    assert!(work.grant_objects.is_empty());
    assert!(
        !work.create_user && !work.create_permission_set && !work.assign && !work.assign_license
    );
}

#[test]
fn a_deleted_app_is_redeployed_and_reverified() {
    let mut set = complete(1, Role::Active, &["Account.Name"]);
    set.app = None;
    assert_eq!(
        kinds(&plan(&on(&["Account.Name"]), &known(vec![set]))),
        ["deploy:1", "credentials:1", "verify:1"]
    );
}

#[test]
fn a_removed_assignment_is_restored() {
    let mut set = complete(1, Role::Active, &["Account.Name"]);
    set.assignment = None;
    let plan = plan(&on(&["Account.Name"]), &known(vec![set]));
    let work = ensure_work(&plan);
    assert!(work.assign && !work.create_user);
}

#[test]
fn a_new_set_grants_read_on_each_object_once() {
    let plan = plan(
        &on(&["Account.Name", "account.Industry", "Contact.Email"]),
        &known(vec![]),
    );
    let work = ensure_work(&plan);
    let objects: Vec<String> = work
        .grant_objects
        .iter()
        .map(|o| o.to_ascii_lowercase())
        .collect();
    assert_eq!(objects, ["account", "contact"]);
    assert_eq!(work.grant_fields.len(), 3);
    assert!(work.create_user && work.assign_license && work.create_permission_set && work.assign);
}

#[test]
fn field_names_compare_without_regard_to_case() {
    assert_eq!(fields(&["Account.Name", "ACCOUNT.NAME"]).len(), 1);
    let settled = known(vec![complete(1, Role::Active, &["Account.Name"])]);
    assert!(plan(&on(&["account.name"]), &settled).steps.is_empty());
}

#[test]
fn field_names_must_be_object_dot_field() {
    for bad in [
        "Account",
        "Account.",
        ".Name",
        "Account.Name.X",
        "1Account.Name",
        "Acc ount.Name",
        "",
    ] {
        assert!(FieldName::parse(bad).is_none(), "{bad:?}");
    }
    for good in ["Account.Name", "Invoice__c.Amount__c", " Contact.Email "] {
        assert!(FieldName::parse(good).is_some(), "{good:?}");
    }
}

#[test]
fn only_steps_that_touch_the_org_call_salesforce() {
    let plan = plan(&on(&["Account.Name"]), &known(vec![]));
    let calling: Vec<bool> = plan.steps.iter().map(Step::calls_salesforce).collect();
    assert_eq!(calling, [false, true, true, true, true, false]);
}

#[test]
fn fields_readable_through_the_object_need_no_grant() {
    let mut set = complete(1, Role::Active, &["Account.Industry"]);
    set.fields = fields(&["Account.Name", "Account.Industry"]);
    set.implicit = fields(&["Account.Name"]);
    assert!(
        plan(
            &on(&["Account.Name", "Account.Industry"]),
            &known(vec![set])
        )
        .steps
        .is_empty()
    );
}

/// A set whose app was deployed with `version` and `ip`.
fn shaped(mut set: ComponentSet, version: u32, ip: IpRelaxation) -> ComponentSet {
    set.shape = Shape {
        version,
        ip_relaxation: ip,
    };
    set
}

#[test]
fn the_shape_table() {
    use IpRelaxation::{Bypass, Enforce};
    let ready = || complete(1, Role::Active, &["Account.Name"]);
    let old = SHAPE_VERSION - 1;
    let mut failed_verify = shaped(ready(), SHAPE_VERSION, Enforce);
    failed_verify.verified = false;
    let mut no_credentials = shaped(ready(), old, Enforce);
    no_credentials.credentials = false;
    no_credentials.verified = false;
    let mut drifted = shaped(ready(), old, Enforce);
    drifted.assignment = None;
    let mut bypass = on(&["Account.Name"]);
    bypass.shape.ip_relaxation = Bypass;
    let mut bypass_off = off();
    bypass_off.shape.ip_relaxation = Bypass;

    let cases: Vec<(&str, Desired, ComponentSet, Phase, Vec<&str>)> = vec![
        (
            "ready at the current shape",
            on(&["Account.Name"]),
            ready(),
            Phase::Ready,
            vec![],
        ),
        (
            "ready at an older version: upgraded in place, in its turn, still ready",
            on(&["Account.Name"]),
            shaped(ready(), old, Enforce),
            Phase::Ready,
            vec!["upgrade:1"],
        ),
        (
            "ready, and the IP relaxation setting changed",
            bypass.clone(),
            ready(),
            Phase::Ready,
            vec!["upgrade:1"],
        ),
        (
            "blocked by IP restrictions, then bypass configured: upgraded at once",
            bypass.clone(),
            failed_verify,
            Phase::Provisioning,
            vec!["upgrade_now:1"],
        ),
        (
            "an older app without credentials is deployed again",
            on(&["Account.Name"]),
            no_credentials,
            Phase::Provisioning,
            vec!["deploy:1", "credentials:1", "verify:1"],
        ),
        (
            "drift and an older version: repaired first, upgraded at once",
            on(&["Account.Name"]),
            drifted,
            Phase::Provisioning,
            vec!["ensure:1", "upgrade_now:1"],
        ),
        (
            "turned off: an older app is removed, not upgraded",
            bypass_off,
            shaped(ready(), old, Enforce),
            Phase::Deprovisioning,
            vec!["retire:1", "remove_access:1", "remove_app:1", "forget:1"],
        ),
        (
            "new fields: the old fields are revoked, the new set is built in the current shape, \
             the old one removed",
            on(&["Contact.Email"]),
            shaped(ready(), old, Enforce),
            Phase::Recreating,
            vec![
                "ensure:1",
                "begin:2",
                "ensure:2",
                "deploy:2",
                "credentials:2",
                "verify:2",
                "promote:2",
                "remove_access:1",
                "remove_app:1",
                "forget:1",
            ],
        ),
    ];
    for (name, desired, set, phase, steps) in cases {
        let plan = plan(&desired, &known(vec![set]));
        assert_eq!(plan.phase, phase, "{name}: {}", plan.reason);
        assert_eq!(kinds(&plan), steps, "{name}");
        for step in &plan.steps {
            if let Step::UpgradeApp { to, .. } = step {
                assert_eq!(*to, desired.shape, "{name}: upgrades to the desired shape");
            }
        }
    }
}

#[test]
fn a_set_recorded_before_shapes_had_versions_reads_as_version_1_enforcing() {
    let mut json = serde_json::to_value(complete(1, Role::Active, &["Account.Name"])).unwrap();
    json.as_object_mut().unwrap().remove("shape");
    let set: ComponentSet = serde_json::from_value(json).unwrap();
    assert_eq!(
        set.shape,
        Shape {
            version: 1,
            ip_relaxation: IpRelaxation::Enforce
        }
    );
}
