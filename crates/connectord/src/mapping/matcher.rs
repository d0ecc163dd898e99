//! The heart of member mapping, with no I/O: members, the org's active users, the mappings
//! that exist and the mode in; the mapping set that should exist, what changes, and why each
//! unmapped member is unmapped, out.
//!
//! Rules (the contract's "Member account mapping"):
//! - a manual mapping is never replaced by an automatic one; it is kept as long as its member
//!   exists and its user is active (its username follows a rename in the org);
//! - any mapping whose user is no longer active is dropped;
//! - automatic matching: e-mail case-insensitively against `Email`, or SAML NameID exactly
//!   against `FederationIdentifier` (Salesforce treats Federation IDs as case-sensitive unless
//!   the org turns that off: Summer '20 release notes, "Seamlessly Integrate Federation IDs
//!   with Identity Providers");
//! - a member matched by several users, or a user matched by several members, is left
//!   unmapped; so is a member whose matching user is mapped by hand to someone else;
//! - members blocked by `mapping remove` are never mapped automatically.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::model::{DropReason, Gap, Mapping, Member, Method, Mode, OrgUser};

/// Everything the matcher looks at.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    pub mode: Mode,
    pub members: &'a [Member],
    /// The org's active users (inactive ones in the list are ignored).
    pub users: &'a [OrgUser],
    pub existing: &'a [Mapping],
    pub blocked: &'a BTreeSet<String>,
}

/// What the matcher decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    /// The whole mapping set that should exist, by member id.
    pub mappings: Vec<Mapping>,
    /// Mappings to write: new ones and changed ones.
    pub upserts: Vec<Mapping>,
    /// Existing mappings to delete, with why.
    pub drops: Vec<(Mapping, DropReason)>,
    /// Members left without a mapping, by member id, with why.
    pub unmapped: Vec<(String, Gap)>,
}

/// Computes the mapping set for one connection.
pub fn decide(inputs: Inputs<'_>) -> Decision {
    let active: HashMap<&str, &OrgUser> = inputs
        .users
        .iter()
        .filter(|u| u.is_active)
        .map(|u| (u.id.as_str(), u))
        .collect();
    let members: BTreeMap<&str, &Member> =
        inputs.members.iter().map(|m| (m.id.as_str(), m)).collect();

    let mut next: BTreeMap<String, Mapping> = BTreeMap::new();
    let mut drops = Vec::new();
    // Manual mappings first: they stand while their member and user do.
    for old in inputs
        .existing
        .iter()
        .filter(|m| m.method == Method::Manual)
    {
        if !members.contains_key(old.member_id.as_str()) {
            drops.push((old.clone(), DropReason::MemberGone));
        } else if let Some(user) = active.get(old.user_id.as_str()) {
            let kept = Mapping {
                username: user.username.clone(),
                ..old.clone()
            };
            next.insert(old.member_id.clone(), kept);
        } else {
            drops.push((old.clone(), DropReason::UserInactive));
        }
    }
    let by_hand: BTreeSet<String> = next.values().map(|m| m.user_id.clone()).collect();

    let mut unmapped = Vec::new();
    let method = match inputs.mode {
        Mode::Email => Some(Method::Email),
        Mode::SamlNameId => Some(Method::SamlNameId),
        Mode::Manual => None,
    };
    let eligible: Vec<&Member> = members
        .values()
        .copied()
        .filter(|m| !next.contains_key(&m.id))
        .collect();
    for member in &eligible {
        if inputs.blocked.contains(&member.id) {
            unmapped.push((member.id.clone(), Gap::RemovedByHand));
        } else if method.is_none() {
            unmapped.push((member.id.clone(), Gap::ManualMode));
        }
    }
    if let Some(method) = method {
        let candidates: Vec<&Member> = eligible
            .into_iter()
            .filter(|m| !inputs.blocked.contains(&m.id))
            .collect();
        let mut users_by_key: HashMap<String, Vec<&OrgUser>> = HashMap::new();
        for user in active.values() {
            if let Some(key) = user_key(user, method) {
                users_by_key.entry(key).or_default().push(user);
            }
        }
        let mut members_by_key: HashMap<String, usize> = HashMap::new();
        for member in &candidates {
            if let Some(key) = member_key(member, method) {
                *members_by_key.entry(key).or_default() += 1;
            }
        }
        for member in candidates {
            let Some(key) = member_key(member, method) else {
                unmapped.push((member.id.clone(), Gap::NoKey));
                continue;
            };
            let found = users_by_key.get(&key).map(Vec::as_slice).unwrap_or(&[]);
            let verdict = match found {
                [] => Err(Gap::NoMatch),
                [_, _, ..] => Err(Gap::AmbiguousUsers),
                [_] if members_by_key.get(&key).copied().unwrap_or(0) > 1 => {
                    Err(Gap::AmbiguousMembers)
                }
                [user] if by_hand.contains(&user.id) => Err(Gap::UserMappedByHand),
                [user] => Ok(*user),
            };
            match verdict {
                Err(gap) => unmapped.push((member.id.clone(), gap)),
                Ok(user) => {
                    let mapping = Mapping {
                        member_id: member.id.clone(),
                        user_id: user.id.clone(),
                        username: user.username.clone(),
                        method,
                    };
                    next.insert(member.id.clone(), mapping);
                }
            }
        }
    }

    // Automatic mappings that are not produced again are dropped.
    for old in inputs
        .existing
        .iter()
        .filter(|m| m.method != Method::Manual)
    {
        if next.get(&old.member_id) == Some(old) {
            continue;
        }
        let reason = if !members.contains_key(old.member_id.as_str()) {
            DropReason::MemberGone
        } else if !active.contains_key(old.user_id.as_str()) {
            DropReason::UserInactive
        } else {
            DropReason::NoLongerMatches
        };
        if !next.contains_key(&old.member_id) {
            drops.push((old.clone(), reason));
        }
    }
    let existing: HashMap<&str, &Mapping> = inputs
        .existing
        .iter()
        .map(|m| (m.member_id.as_str(), m))
        .collect();
    let upserts = next
        .values()
        .filter(|m| existing.get(m.member_id.as_str()) != Some(m))
        .cloned()
        .collect();
    drops.sort_by(|a, b| a.0.member_id.cmp(&b.0.member_id));
    unmapped.sort();
    Decision {
        mappings: next.into_values().collect(),
        upserts,
        drops,
        unmapped,
    }
}

fn member_key(member: &Member, method: Method) -> Option<String> {
    match method {
        Method::Email => normal_email(member.email.as_deref()),
        Method::SamlNameId => exact(member.saml_name_id.as_deref()),
        Method::Manual => None,
    }
}

fn user_key(user: &OrgUser, method: Method) -> Option<String> {
    match method {
        Method::Email => normal_email(user.email.as_deref()),
        Method::SamlNameId => exact(user.federation_identifier.as_deref()),
        Method::Manual => None,
    }
}

fn normal_email(email: Option<&str>) -> Option<String> {
    exact(email).map(|e| e.to_lowercase())
}

fn exact(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}
