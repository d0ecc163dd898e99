//! Deterministic names of a set's components, derived from the connection and the set's serial,
//! so a pass that was cut off finds what it created instead of creating it twice.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::model::ComponentSet;

/// The domain of integration usernames before `salesforce.username_domain` existed (and its
/// default). Usernames must look like e-mail addresses and be unique across every Salesforce
/// org; the connection id makes them so.
pub const USERNAME_DOMAIN: &str = "integration.connectord.invalid";

/// The highest serial a set can be given: its names stay within Salesforce's limits up to it
/// (36^5 - 1, about 60 million recreations of one connection).
pub const MAX_SERIAL: i32 = 60_466_175;

/// Names of one set of components. Recorded in the set's state when the set begins, so a set
/// keeps the names it was created under whatever a later release or setting would choose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetNames {
    pub username: String,
    /// The user's e-mail address (`noreply@` the username's domain).
    #[serde(default = "legacy_email")]
    pub email: String,
    pub alias: String,
    pub permission_set: String,
    pub app: String,
}

fn legacy_email() -> String {
    format!("noreply@{USERNAME_DOMAIN}")
}

impl SetNames {
    /// The names of a new set. All 128 bits of the connection id are in every name that must
    /// be unique (the product chooses ids), in base 36, so that:
    /// - the app's DeveloperName (a letter for the id's top digit, 24 more digits, the serial
    ///   in base 36) is at most 30 characters, and its longest component name,
    ///   `{app}_oauthPlcy`, at most 40 (Salesforce's limit for those names);
    /// - the permission set's name `Connectord_{id}_{serial}` is at most 42 (limit 80);
    /// - the username `connectord.{id}.{serial}@{domain}` is at most 80 with a domain of at
    ///   most 32 characters (`salesforce.username_domain` is checked for that).
    pub fn new(connection: Uuid, serial: i32, username_domain: &str) -> Self {
        let id = base36(connection.as_u128(), 25);
        let serial36 = base36(u128::from(serial.max(0).unsigned_abs()), 1);
        // 36^24 <= 2^128 < 16 * 36^24: the top digit is 0..=15, written as a letter a..=p.
        let top = id.as_bytes()[0];
        let lead = char::from(b'a' + (top as char).to_digit(36).unwrap_or(0) as u8);
        Self {
            username: format!("connectord.{id}.{serial36}@{username_domain}"),
            email: format!("noreply@{username_domain}"),
            alias: format!("cd{}", &id[id.len() - 6..]),
            permission_set: format!("Connectord_{id}_{serial36}"),
            app: format!("{lead}{}{serial36}", &id[1..]),
        }
    }

    /// The names sets were given before they were recorded with the set: 64 bits of the id,
    /// the serial in decimal, the fixed username domain. Sets recorded without names still
    /// carry these in the org, so they are found, adopted and torn down under them.
    pub fn legacy(connection: Uuid, serial: i32) -> Self {
        let hex = connection.simple().to_string();
        let short = &hex[..16];
        Self {
            username: format!("connectord.{hex}.{serial}@{USERNAME_DOMAIN}"),
            email: legacy_email(),
            alias: format!("cd{}", &hex[..6]),
            permission_set: format!("Connectord_{short}_{serial}"),
            app: format!("Connectord_{short}_{serial}"),
        }
    }

    /// The names of a recorded set: those it was begun with, else the legacy ones.
    pub fn of(connection: Uuid, set: &ComponentSet) -> Self {
        set.names
            .clone()
            .unwrap_or_else(|| Self::legacy(connection, set.serial))
    }
}

/// `value` in base 36 (digits and lower-case letters), left-padded with zeros to `width`.
fn base36(mut value: u128, width: usize) -> String {
    let mut digits = Vec::new();
    while value > 0 {
        let digit = (value % 36) as u32;
        digits.push(char::from_digit(digit, 36).unwrap_or('0'));
        value /= 36;
    }
    while digits.len() < width {
        digits.push('0');
    }
    digits.iter().rev().collect()
}

/// A SOQL string literal: quotes and backslashes escaped.
pub fn soql_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_developer_name(name: &str, limit: usize) {
        assert!(name.len() <= limit, "{name} is longer than {limit}");
        assert!(name.chars().next().unwrap().is_ascii_alphabetic(), "{name}");
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{name}"
        );
        assert!(!name.contains("__") && !name.ends_with('_'), "{name}");
    }

    #[test]
    fn names_follow_salesforce_rules_and_differ_by_serial() {
        let id = Uuid::parse_str("0b7e5d2a-9f4c-4e61-8a3b-c2d1e0f9a8b7").unwrap();
        let one = SetNames::new(id, 1, USERNAME_DOMAIN);
        let two = SetNames::new(id, 2, USERNAME_DOMAIN);
        assert_ne!(one.username, two.username);
        assert_ne!(one.permission_set, two.permission_set);
        assert_ne!(one.app, two.app);
        assert!(one.alias.len() <= 8);
        assert!(one.username.len() <= 80 && one.username.contains('@'));
        assert_eq!(SetNames::new(id, 1, USERNAME_DOMAIN), one, "deterministic");
    }

    /// Low finding: ids the product chooses must not collide in any name (the old names used
    /// only the first 64 bits of the id).
    #[test]
    fn ids_that_share_their_first_64_bits_get_different_names() {
        let a = Uuid::parse_str("0b7e5d2a-9f4c-4e61-0000-000000000001").unwrap();
        let b = Uuid::parse_str("0b7e5d2a-9f4c-4e61-0000-000000000002").unwrap();
        let (x, y) = (
            SetNames::new(a, 1, USERNAME_DOMAIN),
            SetNames::new(b, 1, USERNAME_DOMAIN),
        );
        assert_ne!(x.app, y.app);
        assert_ne!(x.permission_set, y.permission_set);
        assert_ne!(x.username, y.username);
        assert_eq!(
            SetNames::legacy(a, 1).app,
            SetNames::legacy(b, 1).app,
            "the old names collided"
        );
    }

    /// Low finding: every generated name stays within its Salesforce limit at every serial,
    /// the app's longest component name (`{app}_oauthPlcy`, limit 40) included.
    #[test]
    fn every_name_stays_within_its_limit_at_every_serial() {
        let longest_domain = "a".repeat(28) + ".com";
        for id in [Uuid::nil(), Uuid::max(), Uuid::new_v4()] {
            for serial in [1, 9, 36, 1_679_616, MAX_SERIAL] {
                let names = SetNames::new(id, serial, &longest_domain);
                assert_developer_name(&names.app, 30);
                for (_, _, _, member) in crate::salesforce::eca::components(&names.app) {
                    assert_developer_name(&member, 40);
                }
                assert_developer_name(&names.permission_set, 80);
                assert!(names.username.len() <= 80, "{}", names.username);
                assert!(names.alias.len() <= 8);
            }
        }
    }

    #[test]
    fn soql_literals_escape_quotes() {
        assert_eq!(soql_literal("o'brien"), r"'o\'brien'");
        assert_eq!(soql_literal(r"a\b"), r"'a\\b'");
    }
}
