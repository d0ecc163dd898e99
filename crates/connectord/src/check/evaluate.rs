//! The pure half of the preflight: what was read ([`Facts`]) to verdicts ([`Item`]). No I/O;
//! table-tested in `evaluate_tests.rs`.

use std::collections::BTreeSet;

use super::REQUIRED_PERMISSIONS;
use super::model::{Facts, FieldInfo, Item, Read, Seats, Status};
use crate::error_code::ErrorCode;
use crate::reconcile::model::FieldName;
use crate::salesforce::newest_version;

/// Below this share of the daily allowance left, the allowance is a warning.
const LOW_ALLOWANCE: f64 = 0.10;

/// Every verdict that follows from the facts, in the report's order.
pub fn evaluate(facts: &Facts, fields: &BTreeSet<FieldName>) -> Vec<Item> {
    let mut items = vec![api_version(facts)];
    items.extend(permissions(&facts.admin_permissions));
    items.push(seats(
        "integration user licences",
        "Salesforce Integration user licence",
        &facts.user_license,
        "buy or free a Salesforce Integration user licence (Setup > Company Information > User Licenses), or deactivate an integration user that is no longer used",
    ));
    items.push(seats(
        "integration permission set licences",
        "Salesforce API Integration permission set licence",
        &facts.permission_set_license,
        "free a Salesforce API Integration permission set licence (Setup > Company Information > Permission Set Licenses)",
    ));
    items.push(profile(&facts.integration_profile));
    items.push(external_client_apps(&facts.external_client_apps));
    items.push(allowance(facts));
    for field in fields {
        items.push(field_item(facts, field));
    }
    items
}

fn api_version(facts: &Facts) -> Item {
    let name = "api version";
    let configured = &facts.configured_version;
    match &facts.versions {
        None => Item::new(
            name,
            Status::Warn,
            format!("the org's versions list could not be read; {configured} is assumed"),
            "check that the instance URL is the org's My Domain URL",
        ),
        Some(list) if list.iter().any(|v| v == configured) => Item::pass(
            name,
            format!(
                "the org offers {configured} (newest {})",
                newest_version(list)
            ),
        ),
        Some(list) => Item::new(
            name,
            Status::Blocker,
            format!(
                "the org does not offer {configured} (newest {})",
                newest_version(list)
            ),
            "set salesforce.api_version to a version the org offers",
        )
        .with_code(ErrorCode::ApiVersionUnavailable),
    }
}

fn permissions(read: &Read<std::collections::BTreeMap<String, bool>>) -> Vec<Item> {
    REQUIRED_PERMISSIONS
        .iter()
        .map(|(field, label, why)| {
            let name = format!("admin permission {field}");
            match read {
                Err(message) => Item::new(
                    name,
                    Status::Blocker,
                    format!("the admin's permissions could not be read: {message}"),
                    "sign in with an admin who holds View Setup and Configuration",
                ),
                Ok(held) if held.get(*field).copied().unwrap_or(false) => {
                    Item::pass(name, format!("\"{label}\" held ({why})"))
                }
                Ok(_) => Item::new(
                    name,
                    Status::Blocker,
                    format!("the admin lacks \"{label}\" ({why})"),
                    format!("grant \"{label}\" to the admin through a permission set, or sign in as an admin who holds it"),
                ),
            }
        })
        .collect()
}

fn seats(name: &str, what: &str, read: &Read<Option<Seats>>, remedy: &str) -> Item {
    match read {
        Err(message) => Item::new(
            name,
            Status::Blocker,
            format!("could not be read: {message}"),
            remedy,
        )
        .with_code(ErrorCode::LicenseUnavailable),
        Ok(None) => Item::new(
            name,
            Status::Blocker,
            format!("the org has no {what}"),
            remedy,
        )
        .with_code(ErrorCode::LicenseUnavailable),
        Ok(Some(seats)) if seats.free() == 0 => Item::new(
            name,
            Status::Blocker,
            format!("no free seat ({} of {} used)", seats.used, seats.total),
            remedy,
        )
        .with_code(ErrorCode::LicenseUnavailable),
        Ok(Some(seats)) => Item::pass(
            name,
            format!(
                "{} free ({} of {} used)",
                seats.free(),
                seats.used,
                seats.total
            ),
        ),
    }
}

fn profile(read: &Read<bool>) -> Item {
    let name = "integration profile";
    let profile = super::INTEGRATION_PROFILE;
    match read {
        Ok(true) => Item::pass(name, format!("\"{profile}\" present")),
        Ok(false) => Item::new(
            name,
            Status::Blocker,
            format!("the profile \"{profile}\" is missing"),
            "the profile comes with Salesforce Integration user licences: ask Salesforce to provision them",
        ),
        Err(message) => Item::new(
            name,
            Status::Blocker,
            format!("profiles could not be read: {message}"),
            "sign in with an admin who holds View Setup and Configuration",
        ),
    }
}

fn external_client_apps(read: &Read<usize>) -> Item {
    let name = "external client apps";
    match read {
        Ok(count) => Item::pass(
            name,
            format!(
                "ExternalClientApplication is readable ({count} seen); the deploy itself is not tried"
            ),
        ),
        Err(message) => Item::new(
            name,
            Status::Blocker,
            format!("External Client Apps cannot be read in this org: {message}"),
            "External Client Apps need API 60.0 or later and an edition that has them; check Setup > External Client App Manager",
        ),
    }
}

fn allowance(facts: &Facts) -> Item {
    let name = "daily api allowance";
    let Some(usage) = facts.api_usage else {
        return Item::new(
            name,
            Status::Warn,
            "the org sent no Sforce-Limit-Info header",
            "see Setup > Company Information > API Requests, Last 24 Hours",
        );
    };
    let left = usage.max.saturating_sub(usage.used);
    let detail = format!("{left} of {} requests left today", usage.max);
    if left == 0 {
        Item::new(
            name,
            Status::Blocker,
            detail,
            "wait for the rolling 24 hours to free requests, or raise the org's allowance",
        )
        .with_code(ErrorCode::ApiLimitExceeded)
    } else if 1.0 - usage.fraction() < LOW_ALLOWANCE {
        Item::new(
            name,
            Status::Warn,
            detail,
            "other integrations use most of the allowance: provisioning may be slowed",
        )
    } else {
        Item::pass(name, detail)
    }
}

fn field_item(facts: &Facts, field: &FieldName) -> Item {
    let name = format!("field {}", field.as_str());
    let wanted = field.as_str().split_once('.').map_or("", |(_, f)| f);
    let unknown = |detail: String| {
        Item::new(
            name.clone(),
            Status::Blocker,
            detail,
            "correct or remove the field in the connection's required_fields",
        )
        .with_code(ErrorCode::UnknownField)
    };
    let described = facts
        .objects
        .iter()
        .find(|(object, _)| object.eq_ignore_ascii_case(field.object()))
        .map(|(_, read)| read);
    match described {
        None => unknown(format!("the object {} was not described", field.object())),
        Some(Err(message)) => unknown(format!(
            "the object {} cannot be read: {message}",
            field.object()
        )),
        Some(Ok(list)) => match list
            .iter()
            .find(|f: &&FieldInfo| f.name.eq_ignore_ascii_case(wanted))
        {
            None => unknown(format!("{} has no field {wanted}", field.object())),
            Some(info) if !info.permissionable => unknown(format!(
                "{} exists but is not permissionable (a required or system field has no field permission)",
                field.as_str()
            )),
            Some(_) => Item::pass(name.clone(), "exists and is permissionable"),
        },
    }
}
