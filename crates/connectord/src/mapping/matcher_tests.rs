//! Table-driven cases for the matcher: each names the situation, the inputs in shorthand and
//! the whole expected outcome.

use std::collections::BTreeSet;

use super::matcher::{Inputs, decide};
use super::model::{DropReason, Gap, Mapping, Member, Method, Mode, OrgUser};

fn member(id: &str, email: Option<&str>, name_id: Option<&str>) -> Member {
    Member {
        id: id.into(),
        email: email.map(Into::into),
        saml_name_id: name_id.map(Into::into),
    }
}

fn user(id: &str, email: &str, fed: Option<&str>, active: bool) -> OrgUser {
    OrgUser {
        id: id.into(),
        username: format!("{id}@org.example"),
        email: Some(email.into()),
        federation_identifier: fed.map(Into::into),
        is_active: active,
    }
}

fn mapping(member: &str, user: &str, method: Method) -> Mapping {
    Mapping {
        member_id: member.into(),
        user_id: user.into(),
        username: format!("{user}@org.example"),
        method,
    }
}

struct Case {
    name: &'static str,
    mode: Mode,
    members: Vec<Member>,
    users: Vec<OrgUser>,
    existing: Vec<Mapping>,
    blocked: &'static [&'static str],
    /// (member, user, method) of the whole resulting set.
    want: Vec<(&'static str, &'static str, Method)>,
    want_unmapped: Vec<(&'static str, Gap)>,
    want_drops: Vec<(&'static str, DropReason)>,
}

fn cases() -> Vec<Case> {
    use Method::{Email, Manual, SamlNameId};
    vec![
        Case {
            name: "e-mail matches ignore case and surrounding spaces",
            mode: Mode::Email,
            members: vec![member("m1", Some(" Alice@Example.COM "), None)],
            users: vec![user("u1", "alice@example.com", None, true)],
            existing: vec![],
            blocked: &[],
            want: vec![("m1", "u1", Email)],
            want_unmapped: vec![],
            want_drops: vec![],
        },
        Case {
            name: "SAML NameID matches FederationIdentifier exactly, not by e-mail",
            mode: Mode::SamlNameId,
            members: vec![
                member("m1", Some("a@x.com"), Some("alice")),
                member("m2", Some("b@x.com"), Some("BOB")),
            ],
            users: vec![
                user("u1", "other@x.com", Some("alice"), true),
                user("u2", "b@x.com", Some("bob"), true),
            ],
            existing: vec![],
            blocked: &[],
            want: vec![("m1", "u1", SamlNameId)],
            want_unmapped: vec![("m2", Gap::NoMatch)],
            want_drops: vec![],
        },
        Case {
            name: "inactive users never match",
            mode: Mode::Email,
            members: vec![member("m1", Some("d@x.com"), None)],
            users: vec![user("u1", "d@x.com", None, false)],
            existing: vec![],
            blocked: &[],
            want: vec![],
            want_unmapped: vec![("m1", Gap::NoMatch)],
            want_drops: vec![],
        },
        Case {
            name: "several users for one member leave it unmapped",
            mode: Mode::Email,
            members: vec![member("m1", Some("shared@x.com"), None)],
            users: vec![
                user("u1", "shared@x.com", None, true),
                user("u2", "SHARED@x.com", None, true),
            ],
            existing: vec![],
            blocked: &[],
            want: vec![],
            want_unmapped: vec![("m1", Gap::AmbiguousUsers)],
            want_drops: vec![],
        },
        Case {
            name: "several members for one user leave them all unmapped",
            mode: Mode::Email,
            members: vec![
                member("m1", Some("a@x.com"), None),
                member("m2", Some("A@X.com"), None),
            ],
            users: vec![user("u1", "a@x.com", None, true)],
            existing: vec![],
            blocked: &[],
            want: vec![],
            want_unmapped: vec![("m1", Gap::AmbiguousMembers), ("m2", Gap::AmbiguousMembers)],
            want_drops: vec![],
        },
        Case {
            name: "a manual mapping is kept even when e-mail points elsewhere",
            mode: Mode::Email,
            members: vec![member("m1", Some("a@x.com"), None)],
            users: vec![
                user("u1", "a@x.com", None, true),
                user("u2", "z@x.com", None, true),
            ],
            existing: vec![mapping("m1", "u2", Manual)],
            blocked: &[],
            want: vec![("m1", "u2", Manual)],
            want_unmapped: vec![],
            want_drops: vec![],
        },
        Case {
            name: "a user mapped by hand is not given to another member automatically",
            mode: Mode::Email,
            members: vec![
                member("m1", None, None),
                member("m2", Some("a@x.com"), None),
            ],
            users: vec![user("u1", "a@x.com", None, true)],
            existing: vec![mapping("m1", "u1", Manual)],
            blocked: &[],
            want: vec![("m1", "u1", Manual)],
            want_unmapped: vec![("m2", Gap::UserMappedByHand)],
            want_drops: vec![],
        },
        Case {
            name: "deactivated users lose their mappings, manual or automatic",
            mode: Mode::Email,
            members: vec![
                member("m1", Some("a@x.com"), None),
                member("m2", Some("b@x.com"), None),
            ],
            users: vec![
                user("u1", "a@x.com", None, false),
                user("u2", "b@x.com", None, false),
            ],
            existing: vec![mapping("m1", "u1", Email), mapping("m2", "u2", Manual)],
            blocked: &[],
            want: vec![],
            want_unmapped: vec![("m1", Gap::NoMatch), ("m2", Gap::NoMatch)],
            want_drops: vec![
                ("m1", DropReason::UserInactive),
                ("m2", DropReason::UserInactive),
            ],
        },
        Case {
            name: "members no longer in the tenant lose their mappings",
            mode: Mode::Email,
            members: vec![],
            users: vec![user("u1", "a@x.com", None, true)],
            existing: vec![mapping("m1", "u1", Manual), mapping("m2", "u1", Email)],
            blocked: &[],
            want: vec![],
            want_unmapped: vec![],
            want_drops: vec![
                ("m1", DropReason::MemberGone),
                ("m2", DropReason::MemberGone),
            ],
        },
        Case {
            name: "a member removed by hand is not mapped again automatically",
            mode: Mode::Email,
            members: vec![member("m1", Some("a@x.com"), None)],
            users: vec![user("u1", "a@x.com", None, true)],
            existing: vec![],
            blocked: &["m1"],
            want: vec![],
            want_unmapped: vec![("m1", Gap::RemovedByHand)],
            want_drops: vec![],
        },
        Case {
            name: "a blocked member does not make another member's match ambiguous",
            mode: Mode::Email,
            members: vec![
                member("m1", Some("a@x.com"), None),
                member("m2", Some("a@x.com"), None),
            ],
            users: vec![user("u1", "a@x.com", None, true)],
            existing: vec![],
            blocked: &["m1"],
            want: vec![("m2", "u1", Email)],
            want_unmapped: vec![("m1", Gap::RemovedByHand)],
            want_drops: vec![],
        },
        Case {
            name: "manual mode maps nothing automatically and drops automatic mappings",
            mode: Mode::Manual,
            members: vec![
                member("m1", Some("a@x.com"), None),
                member("m2", Some("b@x.com"), None),
            ],
            users: vec![
                user("u1", "a@x.com", None, true),
                user("u2", "b@x.com", None, true),
            ],
            existing: vec![mapping("m1", "u1", Email), mapping("m2", "u2", Manual)],
            blocked: &[],
            want: vec![("m2", "u2", Manual)],
            want_unmapped: vec![("m1", Gap::ManualMode)],
            want_drops: vec![("m1", DropReason::NoLongerMatches)],
        },
        Case {
            name: "a member without an e-mail has nothing to match with",
            mode: Mode::Email,
            members: vec![
                member("m1", Some("  "), None),
                member("m2", None, Some("x")),
            ],
            users: vec![user("u1", "a@x.com", Some("x"), true)],
            existing: vec![],
            blocked: &[],
            want: vec![],
            want_unmapped: vec![("m1", Gap::NoKey), ("m2", Gap::NoKey)],
            want_drops: vec![],
        },
        Case {
            name: "an automatic mapping moves when the member's e-mail changes",
            mode: Mode::Email,
            members: vec![member("m1", Some("new@x.com"), None)],
            users: vec![
                user("u1", "old@x.com", None, true),
                user("u2", "new@x.com", None, true),
            ],
            existing: vec![mapping("m1", "u1", Email)],
            blocked: &[],
            want: vec![("m1", "u2", Email)],
            want_unmapped: vec![],
            want_drops: vec![],
        },
        Case {
            name: "an automatic mapping that no longer matches is dropped",
            mode: Mode::Email,
            members: vec![member("m1", Some("gone@x.com"), None)],
            users: vec![user("u1", "a@x.com", None, true)],
            existing: vec![mapping("m1", "u1", Email)],
            blocked: &[],
            want: vec![],
            want_unmapped: vec![("m1", Gap::NoMatch)],
            want_drops: vec![("m1", DropReason::NoLongerMatches)],
        },
    ]
}

#[test]
fn every_matcher_case_gives_the_expected_mappings_gaps_and_drops() {
    for case in cases() {
        let blocked: BTreeSet<String> = case.blocked.iter().map(|b| b.to_string()).collect();
        let decision = decide(Inputs {
            mode: case.mode,
            members: &case.members,
            users: &case.users,
            existing: &case.existing,
            blocked: &blocked,
        });
        let got: Vec<(&str, &str, Method)> = decision
            .mappings
            .iter()
            .map(|m| (m.member_id.as_str(), m.user_id.as_str(), m.method))
            .collect();
        assert_eq!(got, case.want, "mappings: {}", case.name);
        let unmapped: Vec<(&str, Gap)> = decision
            .unmapped
            .iter()
            .map(|(m, g)| (m.as_str(), *g))
            .collect();
        assert_eq!(unmapped, case.want_unmapped, "unmapped: {}", case.name);
        let drops: Vec<(&str, DropReason)> = decision
            .drops
            .iter()
            .map(|(m, r)| (m.member_id.as_str(), *r))
            .collect();
        assert_eq!(drops, case.want_drops, "drops: {}", case.name);
    }
}

#[test]
fn a_rerun_on_unchanged_data_writes_nothing() {
    let members = vec![member("m1", Some("a@x.com"), None)];
    let users = vec![user("u1", "a@x.com", None, true)];
    let blocked = BTreeSet::new();
    let first = decide(Inputs {
        mode: Mode::Email,
        members: &members,
        users: &users,
        existing: &[],
        blocked: &blocked,
    });
    assert_eq!(first.upserts.len(), 1);
    let second = decide(Inputs {
        mode: Mode::Email,
        members: &members,
        users: &users,
        existing: &first.mappings,
        blocked: &blocked,
    });
    assert_eq!(second.mappings, first.mappings);
    assert!(second.upserts.is_empty() && second.drops.is_empty());
}

#[test]
fn a_manual_mapping_follows_a_renamed_username() {
    let members = vec![member("m1", None, None)];
    let mut renamed = user("u1", "a@x.com", None, true);
    renamed.username = "renamed@org.example".into();
    let existing = vec![mapping("m1", "u1", Method::Manual)];
    let decision = decide(Inputs {
        mode: Mode::Email,
        members: &members,
        users: &[renamed],
        existing: &existing,
        blocked: &BTreeSet::new(),
    });
    assert_eq!(decision.upserts.len(), 1);
    assert_eq!(decision.upserts[0].username, "renamed@org.example");
    assert_eq!(decision.upserts[0].method, Method::Manual);
}
