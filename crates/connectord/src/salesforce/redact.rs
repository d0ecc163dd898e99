//! What a recording may not hold: every token, secret, consumer key, session id and password
//! is replaced by `[REDACTED]`, and people's names and e-mail addresses by stable masks
//! (`person3@example.invalid`, `Person 3`: the same value gets the same mask throughout one
//! recorder, so a recording still reads as a consistent story).
//!
//! Three nets, each catching what the one before might miss:
//! 1. by key: JSON and form fields named like a secret (`access_token`, `client_secret`,
//!    `key`, `secret`, `password`, …) or like a person's detail (`Email`, `Username`,
//!    `FirstName`, …, and `Name` inside a User record or a request about users);
//! 2. by value: every secret seen once (learned from the keys above and from the
//!    `Authorization` header) is scrubbed wherever it appears later, in any exchange;
//! 3. by shape: anything that looks like a Salesforce session id (`00D…!…`) or an e-mail
//!    address is scrubbed or masked in every string, the SOQL of a query string included.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

pub(crate) const REDACTED: &str = "[REDACTED]";

/// Field names (lower case, without `_` and `-`) whose values are secrets.
const SECRET_KEYS: &[&str] = &[
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "token",
    "sessionid",
    "clientid",
    "clientsecret",
    "clientassertion",
    "assertion",
    "consumerkey",
    "consumersecret",
    "key",
    "secret",
    "signature",
    "password",
    "newpassword",
    "apikey",
    "authorization",
];

/// Field names whose values describe a person wherever they appear.
const PERSON_KEYS: &[&str] = &[
    "email",
    "username",
    "firstname",
    "lastname",
    "middlename",
    "communitynickname",
    "alias",
    "contactemail",
    "federationidentifier",
    "phone",
    "mobilephone",
];

/// Field names that are a person's name inside a User record (elsewhere `Name` is a profile's,
/// a permission set's or a licence's name, which a bug report needs).
const USER_NAME_KEYS: &[&str] = &["name", "fullname", "displayname"];

fn normalise(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

fn is_secret_key(key: &str) -> bool {
    let key = normalise(key);
    SECRET_KEYS.contains(&key.as_str()) || key.ends_with("secret") || key.contains("password")
}

fn is_person_key(key: &str, in_user: bool) -> bool {
    let key = normalise(key);
    // `createdByName`, `lastModifiedByName`, `canceledByName` of a deploy result.
    PERSON_KEYS.contains(&key.as_str())
        || key.ends_with("byname")
        || (in_user && USER_NAME_KEYS.contains(&key.as_str()))
}

/// The redaction state of one recorder: secrets seen so far and the masks handed out.
#[derive(Debug, Default)]
pub(crate) struct Redactor {
    secrets: BTreeSet<String>,
    masks: HashMap<String, String>,
}

impl Redactor {
    /// Remembers a secret so that it is scrubbed wherever it appears from now on.
    pub fn learn(&mut self, secret: &str) {
        let secret = secret.trim();
        // Shorter values ("true", an empty field) would scrub ordinary text.
        if secret.len() >= 6 && secret != REDACTED {
            self.secrets.insert(secret.to_owned());
        }
    }

    /// Learns every secret-named field of a JSON value.
    pub fn learn_json(&mut self, value: &Value) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    match value {
                        Value::String(s) if is_secret_key(key) => self.learn(s),
                        other => self.learn_json(other),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| self.learn_json(v)),
            _ => {}
        }
    }

    /// Learns every secret-named pair of a form or query string.
    pub fn learn_pairs(&mut self, pairs: &[(String, String)]) {
        for (key, value) in pairs {
            if is_secret_key(key) {
                self.learn(value);
            }
        }
    }

    /// Redacts and masks a JSON value in place. `in_user`: the value is about a User record.
    pub fn json(&mut self, value: &mut Value, in_user: bool) {
        match value {
            Value::Object(map) => {
                let in_user = in_user || is_user_object(map);
                for (key, value) in map.iter_mut() {
                    match value {
                        Value::String(s) if is_secret_key(key) && !s.is_empty() => {
                            *s = REDACTED.to_owned();
                        }
                        Value::String(s) if is_person_key(key, in_user) && !s.is_empty() => {
                            *s = self.mask(s);
                        }
                        other => self.json(other, in_user),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.json(v, in_user)),
            Value::String(s) => *s = self.text(s),
            _ => {}
        }
    }

    /// Redacts and masks `(key, value)` pairs (a form body or a query string).
    pub fn pairs(&mut self, pairs: Vec<(String, String)>, in_user: bool) -> Vec<(String, String)> {
        pairs
            .into_iter()
            .map(|(key, value)| {
                let value = if is_secret_key(&key) {
                    REDACTED.to_owned()
                } else if is_person_key(&key, in_user) {
                    self.mask(&value)
                } else {
                    self.text(&value)
                };
                (key, value)
            })
            .collect()
    }

    /// Scrubs known secrets and session-id shapes, and masks e-mail addresses, in free text.
    pub fn text(&mut self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        let out = scrub_session_ids(&out);
        self.mask_emails(&out)
    }

    /// The stable mask of one person's detail.
    fn mask(&mut self, value: &str) -> String {
        if let Some(mask) = self.masks.get(value) {
            return mask.clone();
        }
        let n = self.masks.len() + 1;
        let mask = if value.contains('@') {
            format!("person{n}@example.invalid")
        } else {
            format!("Person {n}")
        };
        self.masks.insert(value.to_owned(), mask.clone());
        mask
    }

    fn mask_emails(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some((start, end)) = find_email(rest) {
            out.push_str(&rest[..start]);
            let mask = self.mask(&rest[start..end]);
            out.push_str(&mask);
            rest = &rest[end..];
        }
        out.push_str(rest);
        out
    }
}

fn is_user_object(map: &serde_json::Map<String, Value>) -> bool {
    let typed_user = map
        .get("attributes")
        .and_then(|a| a.get("type"))
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case("User"));
    // A composite subrequest about users: its body is a User record.
    let about_users = map
        .get("url")
        .and_then(Value::as_str)
        .is_some_and(is_user_path);
    typed_user || about_users
}

/// Whether a request path is about User records (`…/sobjects/User[/…]`).
pub(crate) fn is_user_path(path: &str) -> bool {
    let path = path.split('?').next().unwrap_or(path);
    let mut segments = path.split('/').skip_while(|s| *s != "sobjects").skip(1);
    segments
        .next()
        .is_some_and(|s| s.eq_ignore_ascii_case("User"))
}

fn is_local_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._%+-".contains(c)
}

fn is_domain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '.' || c == '-'
}

/// The byte range of the first e-mail address in `text`.
fn find_email(text: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(at) = text[from..].find('@').map(|i| i + from) {
        let start = text[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_local_char(*c))
            .last()
            .map_or(at, |(i, _)| i);
        let domain_len: usize = text[at + 1..]
            .chars()
            .take_while(|c| is_domain_char(*c))
            .map(char::len_utf8)
            .sum();
        let domain = text[at + 1..at + 1 + domain_len].trim_end_matches(['.', '-']);
        if start < at && domain.contains('.') && !domain.starts_with('.') {
            return Some((start, at + 1 + domain.len()));
        }
        from = at + 1;
    }
    None
}

/// Replaces anything shaped like a Salesforce session id or access token: an org id
/// (`00D` and 12 or 15 more letters or digits), `!`, then the token's text.
fn scrub_session_ids(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("00D") {
        let tail = &rest[i..];
        let id_len = tail.chars().take_while(char::is_ascii_alphanumeric).count();
        let after = &tail[id_len..];
        let token_len = after
            .strip_prefix('!')
            .map(|t| {
                t.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || "._-".contains(*c))
                    .count()
            })
            .unwrap_or(0);
        if (15..=18).contains(&id_len) && token_len > 0 {
            out.push_str(&rest[..i]);
            out.push_str(REDACTED);
            rest = &after[1 + token_len..];
        } else {
            out.push_str(&rest[..i + 3]);
            rest = &rest[i + 3..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
#[path = "redact_tests.rs"]
mod tests;
