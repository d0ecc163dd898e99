//! Deterministic names of a set's components, derived from the connection and the set's serial,
//! so a pass that was cut off finds what it created instead of creating it twice.

use uuid::Uuid;

/// The domain of integration usernames. Usernames must look like e-mail addresses and be unique
/// across every Salesforce org; the connection id makes them so.
pub const USERNAME_DOMAIN: &str = "integration.connectord.invalid";

/// Names of one set of components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetNames {
    pub username: String,
    pub alias: String,
    pub permission_set: String,
    pub app: String,
}

impl SetNames {
    pub fn new(connection: Uuid, serial: i32) -> Self {
        let hex = connection.simple().to_string();
        let short = &hex[..16];
        Self {
            // Salesforce keeps a deactivated user's username for ever: the serial makes a
            // recreated user's name new.
            username: format!("connectord.{hex}.{serial}@{USERNAME_DOMAIN}"),
            // At most 8 characters, not unique.
            alias: format!("cd{}", &hex[..6]),
            // Letters, digits and single underscores, starting with a letter, at most 80.
            permission_set: format!("Connectord_{short}_{serial}"),
            app: format!("Connectord_{short}_{serial}"),
        }
    }
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

    #[test]
    fn names_follow_salesforce_rules_and_differ_by_serial() {
        let id = Uuid::parse_str("0b7e5d2a-9f4c-4e61-8a3b-c2d1e0f9a8b7").unwrap();
        let one = SetNames::new(id, 1);
        let two = SetNames::new(id, 2);
        assert_ne!(one.username, two.username);
        assert_ne!(one.permission_set, two.permission_set);
        assert!(one.alias.len() <= 8);
        assert!(one.username.len() <= 80 && one.username.contains('@'));
        for name in [&one.permission_set, &one.app] {
            assert!(name.len() <= 80);
            assert!(name.chars().next().unwrap().is_ascii_alphabetic());
            assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
            assert!(!name.contains("__") && !name.ends_with('_'));
        }
        assert_eq!(SetNames::new(id, 1), one, "names are deterministic");
    }

    #[test]
    fn soql_literals_escape_quotes() {
        assert_eq!(soql_literal("o'brien"), r"'o\'brien'");
        assert_eq!(soql_literal(r"a\b"), r"'a\\b'");
    }
}
