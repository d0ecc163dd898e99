//! Object-permission dependencies: Salesforce refuses Read on some objects unless the
//! permission set also reads another (Read Contact needs Read Account), with
//! `FIELD_INTEGRITY_EXCEPTION` "Permission Read Contacts depends on permission(s): Read
//! Accounts". The objects a field list implies are widened by these, object Read only (never a
//! field grant). Where the table comes from: `docs/salesforce-client.md`, "Object-permission
//! dependencies". A small static table of standard objects; custom master-detail children are
//! not covered (see the docs).

use std::collections::BTreeSet;

use super::model::{FieldName, objects_of};

/// Read on the first object needs Read on each of the others.
pub const READ_DEPENDENCIES: [(&str, &[&str]); 4] = [
    ("Contact", &["Account"]),
    ("Opportunity", &["Account"]),
    ("Case", &["Account"]),
    ("Contract", &["Account"]),
];

/// The objects `object` needs Read on before it may be read (empty for most).
pub fn read_needs(object: &str) -> &'static [&'static str] {
    READ_DEPENDENCIES
        .iter()
        .find(|(o, _)| o.eq_ignore_ascii_case(object))
        .map_or(&[], |(_, needs)| *needs)
}

/// Every object the fields need Read on: their own objects and what those depend on, each
/// dependency before the objects that need it (Salesforce checks at insert).
pub fn objects_needed(fields: &BTreeSet<FieldName>) -> Vec<String> {
    let own = objects_of(fields);
    let mut out: Vec<String> = Vec::new();
    let mut push = |o: &str| {
        if !out.iter().any(|x| x.eq_ignore_ascii_case(o)) {
            out.push(o.to_owned());
        }
    };
    for object in &own {
        for need in read_needs(object) {
            push(need);
        }
    }
    for object in &own {
        push(object);
    }
    out
}

/// The objects granted only because another needs them, each with the objects that need it
/// ("Account (needed by Contact, Opportunity)"): what `connectord plan` shows.
pub fn granted_for_dependencies(fields: &BTreeSet<FieldName>, grant: &[String]) -> Vec<String> {
    let own = objects_of(fields);
    grant
        .iter()
        .filter(|g| !own.iter().any(|o| o.eq_ignore_ascii_case(g)))
        .map(|g| {
            let by: Vec<&str> = own
                .iter()
                .filter(|o| read_needs(o).iter().any(|n| n.eq_ignore_ascii_case(g)))
                .map(String::as_str)
                .collect();
            format!("{g} (needed by {})", by.join(", "))
        })
        .collect()
}
