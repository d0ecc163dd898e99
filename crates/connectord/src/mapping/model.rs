//! The words of member mapping: members, org users, mappings, modes and why a member is left
//! unmapped. Plain data; the database and the org speak these through `store` and `org_users`.

use std::fmt;

/// How a connection maps members automatically (`connections.mapping_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A member's e-mail against the user's `Email`, case-insensitively.
    Email,
    /// A member's SAML NameID against the user's `FederationIdentifier`, exactly.
    SamlNameId,
    /// No automatic mapping: only what is mapped by hand.
    Manual,
}

impl Mode {
    pub fn parse(text: &str) -> Option<Mode> {
        match text {
            "email" => Some(Mode::Email),
            "saml_name_id" => Some(Mode::SamlNameId),
            "manual" => Some(Mode::Manual),
            _ => None,
        }
    }
}

/// How one mapping was made (`member_mappings.method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Method {
    Email,
    SamlNameId,
    Manual,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Email => "email",
            Method::SamlNameId => "saml_name_id",
            Method::Manual => "manual",
        }
    }

    pub fn parse(text: &str) -> Option<Method> {
        match text {
            "email" => Some(Method::Email),
            "saml_name_id" => Some(Method::SamlNameId),
            "manual" => Some(Method::Manual),
            _ => None,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A member of the tenant (`tenant_members`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    pub email: Option<String>,
    pub saml_name_id: Option<String>,
}

/// A user of the org, as read through the connection.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct OrgUser {
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "Username")]
    pub username: String,
    #[serde(rename = "Email", default)]
    pub email: Option<String>,
    #[serde(rename = "FederationIdentifier", default)]
    pub federation_identifier: Option<String>,
    #[serde(rename = "IsActive", default)]
    pub is_active: bool,
}

/// One row of `member_mappings` (without its timestamp).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub member_id: String,
    pub user_id: String,
    pub username: String,
    pub method: Method,
}

/// Why automatic mapping left a member unmapped (`member_mapping_gaps.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Gap {
    /// No active user has the member's e-mail or NameID.
    NoMatch,
    /// The member has no e-mail (or NameID) to match with.
    NoKey,
    /// Several active users match the member.
    AmbiguousUsers,
    /// Several members match the same user.
    AmbiguousMembers,
    /// The matching user is mapped by hand to another member.
    UserMappedByHand,
    /// The connection's mode is `manual`.
    ManualMode,
    /// `mapping remove` took the member out of automatic mapping.
    RemovedByHand,
}

impl Gap {
    pub fn as_str(self) -> &'static str {
        match self {
            Gap::NoMatch => "no_match",
            Gap::NoKey => "no_key",
            Gap::AmbiguousUsers => "ambiguous_users",
            Gap::AmbiguousMembers => "ambiguous_members",
            Gap::UserMappedByHand => "user_mapped_by_hand",
            Gap::ManualMode => "manual_mode",
            Gap::RemovedByHand => "removed_by_hand",
        }
    }
}

/// Why a mapping that existed is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The Salesforce user is no longer active (deactivated or deleted).
    UserInactive,
    /// The member is no longer in `tenant_members`.
    MemberGone,
    /// An automatic mapping that the current mode and data no longer produce.
    NoLongerMatches,
}

impl DropReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::UserInactive => "user_inactive",
            DropReason::MemberGone => "member_gone",
            DropReason::NoLongerMatches => "no_longer_matches",
        }
    }
}
