//! Table tests of the pure evaluator: one change to a healthy org's facts per case, and the
//! one item it must turn into a blocker (or warning).

use std::collections::{BTreeMap, BTreeSet};

use super::REQUIRED_PERMISSIONS;
use super::evaluate;
use super::model::{Facts, FieldInfo, Seats, Status};
use crate::reconcile::model::FieldName;
use crate::salesforce::ApiUsage;

fn fields() -> BTreeSet<FieldName> {
    ["Account.Industry", "Account.Name"]
        .iter()
        .map(|f| FieldName::parse(f).unwrap())
        .collect()
}

fn healthy() -> Facts {
    let account = vec![
        FieldInfo {
            name: "Industry".into(),
            permissionable: true,
        },
        FieldInfo {
            name: "Name".into(),
            permissionable: true,
        },
    ];
    Facts {
        configured_version: "67.0".into(),
        versions: Some(vec!["66.0".into(), "67.0".into()]),
        admin_permissions: Ok(REQUIRED_PERMISSIONS
            .iter()
            .map(|(f, _, _)| ((*f).to_owned(), true))
            .collect()),
        user_license: Ok(Some(Seats { total: 5, used: 1 })),
        permission_set_license: Ok(Some(Seats { total: 5, used: 1 })),
        integration_profile: Ok(true),
        external_client_apps: Ok(0),
        api_usage: Some(ApiUsage {
            used: 10,
            max: 15_000,
        }),
        objects: BTreeMap::from([("Account".to_owned(), Ok(account))]),
    }
}

/// The items that are not a pass, as (item, status).
fn findings(facts: &Facts) -> Vec<(String, Status)> {
    evaluate(facts, &fields())
        .into_iter()
        .filter(|i| i.status != Status::Pass)
        .map(|i| (i.item, i.status))
        .collect()
}

#[test]
fn a_healthy_org_has_only_passes() {
    assert_eq!(findings(&healthy()), []);
}

#[test]
fn each_broken_fact_turns_exactly_its_item_into_a_blocker_or_warning() {
    type Change = fn(&mut Facts);
    let cases: &[(&str, Change, &str, Status)] = &[
        (
            "a version the org lacks",
            |f| f.configured_version = "68.0".into(),
            "api version",
            Status::Blocker,
        ),
        (
            "an unreadable versions list",
            |f| f.versions = None,
            "api version",
            Status::Warn,
        ),
        (
            "no free user licence",
            |f| f.user_license = Ok(Some(Seats { total: 5, used: 5 })),
            "integration user licences",
            Status::Blocker,
        ),
        (
            "no user licence at all",
            |f| f.user_license = Ok(None),
            "integration user licences",
            Status::Blocker,
        ),
        (
            "no free permission set licence",
            |f| f.permission_set_license = Ok(Some(Seats { total: 1, used: 1 })),
            "integration permission set licences",
            Status::Blocker,
        ),
        (
            "no integration profile",
            |f| f.integration_profile = Ok(false),
            "integration profile",
            Status::Blocker,
        ),
        (
            "External Client Apps unreadable",
            |f| f.external_client_apps = Err("INVALID_TYPE".into()),
            "external client apps",
            Status::Blocker,
        ),
        (
            "the allowance spent",
            |f| {
                f.api_usage = Some(ApiUsage {
                    used: 15_000,
                    max: 15_000,
                })
            },
            "daily api allowance",
            Status::Blocker,
        ),
        (
            "the allowance nearly spent",
            |f| {
                f.api_usage = Some(ApiUsage {
                    used: 14_000,
                    max: 15_000,
                })
            },
            "daily api allowance",
            Status::Warn,
        ),
        (
            "no limit header",
            |f| f.api_usage = None,
            "daily api allowance",
            Status::Warn,
        ),
        (
            "a field that is not there",
            |f| {
                if let Some(Ok(list)) = f.objects.get_mut("Account") {
                    list.retain(|x| x.name != "Industry")
                }
            },
            "field Account.Industry",
            Status::Blocker,
        ),
        (
            "a field that is not permissionable",
            |f| {
                if let Some(Ok(list)) = f.objects.get_mut("Account") {
                    list[1].permissionable = false
                }
            },
            "field Account.Name",
            Status::Blocker,
        ),
        (
            "a missing permission",
            |f| {
                if let Ok(held) = &mut f.admin_permissions {
                    held.insert("PermissionsModifyMetadata".into(), false);
                }
            },
            "admin permission PermissionsModifyMetadata",
            Status::Blocker,
        ),
    ];
    for (case, change, item, status) in cases {
        let mut facts = healthy();
        change(&mut facts);
        assert_eq!(findings(&facts), [((*item).to_owned(), *status)], "{case}");
    }
}

#[test]
fn an_object_that_cannot_be_described_blocks_each_of_its_fields() {
    let mut facts = healthy();
    facts
        .objects
        .insert("Account".into(), Err("NOT_FOUND".into()));
    let found = findings(&facts);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found
            .iter()
            .all(|(item, s)| item.starts_with("field ") && *s == Status::Blocker)
    );
}

#[test]
fn permissions_that_cannot_be_read_block_each_permission() {
    let mut facts = healthy();
    facts.admin_permissions = Err("INSUFFICIENT_ACCESS".into());
    assert_eq!(findings(&facts).len(), REQUIRED_PERMISSIONS.len());
}
