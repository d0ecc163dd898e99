//! Mapping by hand, as the command line does it: check the member against `tenant_members` and
//! the username against the org's users (through the connection), then write. The checks of an
//! import are a pure function ([`check_import`]) over what was read.

use std::collections::{BTreeMap, HashMap, HashSet};

use sqlx::PgPool;
use uuid::Uuid;

use super::csv::{BadLine, ImportLine};
use super::error::MappingError;
use super::model::{Mapping, Method, OrgUser};
use super::{org_users, store};
use crate::salesforce::Salesforce;
use crate::secrets::Sealer;

/// What the by-hand operations need.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub pool: &'a PgPool,
    pub salesforce: &'a Salesforce,
    pub sealer: &'a Sealer,
}

/// Maps `member` to the active user `username` by hand; lifts a `remove` block.
pub async fn set(
    cx: Context<'_>,
    id: Uuid,
    member: &str,
    username: &str,
) -> Result<Mapping, MappingError> {
    let target = store::target(cx.pool, id)
        .await?
        .ok_or(MappingError::NoConnection(id))?;
    let members = store::members(cx.pool, &target.tenant_id).await?;
    if !members.iter().any(|m| m.id == member) {
        return Err(MappingError::NoMember {
            tenant: target.tenant_id,
            member: member.to_owned(),
        });
    }
    let session = org_users::session(cx.pool, cx.salesforce, cx.sealer, id).await?;
    let users = org_users::all_users(&session).await?;
    let user = find_user(&users, username)?;
    let others: Vec<String> = store::members_of_user(cx.pool, id, &user.id)
        .await?
        .into_iter()
        .filter(|m| m != member)
        .collect();
    if let Some(other) = others.into_iter().next() {
        return Err(MappingError::UserTaken {
            username: user.username.clone(),
            member: other,
        });
    }
    let mapping = manual(member, user);
    store::set_manual(cx.pool, id, &mapping).await?;
    Ok(mapping)
}

/// What an import did: the mappings applied and the bad lines by number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Imported {
    pub applied: Vec<Mapping>,
    pub bad: Vec<BadLine>,
}

/// Applies the good lines of an import (all in one transaction); `bad` holds the lines that
/// did not parse (from [`super::csv::parse_import`]) and the ones that fail the checks.
pub async fn import(
    cx: Context<'_>,
    id: Uuid,
    lines: &[ImportLine],
    mut bad: Vec<BadLine>,
) -> Result<Imported, MappingError> {
    let target = store::target(cx.pool, id)
        .await?
        .ok_or(MappingError::NoConnection(id))?;
    let members: HashSet<String> = store::members(cx.pool, &target.tenant_id)
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect();
    let session = org_users::session(cx.pool, cx.salesforce, cx.sealer, id).await?;
    let users = org_users::all_users(&session).await?;
    let existing: Vec<Mapping> = store::mappings(cx.pool, id)
        .await?
        .into_iter()
        .map(|s| s.mapping)
        .collect();
    let checked = check_import(lines, &target.tenant_id, &members, &users, &existing);
    store::set_manual_all(cx.pool, id, &checked.applied).await?;
    bad.extend(checked.bad);
    bad.sort();
    Ok(Imported {
        applied: checked.applied,
        bad,
    })
}

/// Checks import lines in order against the tenant's members, the org's users and the
/// mappings as they stand (updated line by line): unknown member, unknown or inactive user, a
/// member given twice, a user already mapped to another member are bad lines.
pub fn check_import(
    lines: &[ImportLine],
    tenant: &str,
    members: &HashSet<String>,
    users: &[OrgUser],
    existing: &[Mapping],
) -> Imported {
    let mut owner: HashMap<String, String> = existing
        .iter()
        .map(|m| (m.user_id.clone(), m.member_id.clone()))
        .collect();
    let mut current: HashMap<String, String> = existing
        .iter()
        .map(|m| (m.member_id.clone(), m.user_id.clone()))
        .collect();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = Imported::default();
    for line in lines {
        let verdict = if let Some(first) = seen.get(&line.member_id) {
            Err(format!(
                "member {:?} is already mapped on line {first}",
                line.member_id
            ))
        } else if !members.contains(&line.member_id) {
            Err(MappingError::NoMember {
                tenant: tenant.to_owned(),
                member: line.member_id.clone(),
            }
            .to_string())
        } else {
            find_user(users, &line.username).map_err(|e| e.to_string())
        };
        let user = match verdict {
            Ok(user) => user,
            Err(message) => {
                out.bad.push((line.number, message));
                continue;
            }
        };
        if let Some(other) = owner.get(&user.id).filter(|o| **o != line.member_id) {
            let error = MappingError::UserTaken {
                username: user.username.clone(),
                member: other.clone(),
            };
            out.bad.push((line.number, error.to_string()));
            continue;
        }
        seen.insert(line.member_id.clone(), line.number);
        if let Some(previous) = current.insert(line.member_id.clone(), user.id.clone()) {
            owner.remove(&previous);
        }
        owner.insert(user.id.clone(), line.member_id.clone());
        out.applied.push(manual(&line.member_id, user));
    }
    out
}

/// The user named `username` (usernames compare case-insensitively), if it is active.
fn find_user<'u>(users: &'u [OrgUser], username: &str) -> Result<&'u OrgUser, MappingError> {
    let user = users
        .iter()
        .find(|u| u.username.eq_ignore_ascii_case(username.trim()))
        .ok_or_else(|| MappingError::NoUser(username.to_owned()))?;
    if user.is_active {
        Ok(user)
    } else {
        Err(MappingError::InactiveUser(user.username.clone()))
    }
}

fn manual(member: &str, user: &OrgUser) -> Mapping {
    Mapping {
        member_id: member.to_owned(),
        user_id: user.id.clone(),
        username: user.username.clone(),
        method: Method::Manual,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, username: &str, active: bool) -> OrgUser {
        OrgUser {
            id: id.into(),
            username: username.into(),
            email: None,
            federation_identifier: None,
            is_active: active,
        }
    }

    fn line(number: usize, member: &str, username: &str) -> ImportLine {
        ImportLine {
            number,
            member_id: member.into(),
            username: username.into(),
        }
    }

    #[test]
    fn import_checks_flag_each_bad_line_and_keep_the_rest() {
        let members: HashSet<String> = ["m1", "m2", "m3", "m4"].map(String::from).into();
        let users = [
            user("u1", "alice@org", true),
            user("u2", "bob@org", true),
            user("u3", "dave@org", false),
            user("u4", "erin@org", true),
        ];
        let existing = [Mapping {
            member_id: "m4".into(),
            user_id: "u4".into(),
            username: "erin@org".into(),
            method: Method::Email,
        }];
        let lines = [
            line(2, "m1", "ALICE@org"),
            line(3, "ghost", "bob@org"),
            line(4, "m2", "nobody@org"),
            line(5, "m2", "dave@org"),
            line(6, "m1", "bob@org"),
            line(7, "m3", "erin@org"),
            line(8, "m2", "bob@org"),
        ];
        let out = check_import(&lines, "acme", &members, &users, &existing);
        let applied: Vec<(&str, &str)> = out
            .applied
            .iter()
            .map(|m| (m.member_id.as_str(), m.user_id.as_str()))
            .collect();
        assert_eq!(applied, [("m1", "u1"), ("m2", "u2")]);
        assert!(out.applied.iter().all(|m| m.method == Method::Manual));
        let bad: Vec<usize> = out.bad.iter().map(|(n, _)| *n).collect();
        assert_eq!(bad, [3, 4, 5, 6, 7]);
        assert!(out.bad[0].1.contains("not a member"), "{:?}", out.bad);
        assert!(out.bad[1].1.contains("no Salesforce user"), "{:?}", out.bad);
        assert!(out.bad[2].1.contains("not active"), "{:?}", out.bad);
        assert!(out.bad[3].1.contains("line 2"), "{:?}", out.bad);
        assert!(out.bad[4].1.contains("\"m4\""), "{:?}", out.bad);
    }
}
