//! Salesforce record ids: a 3-character key prefix naming the object, 12 base-62 characters,
//! and the 3-character case-safe suffix that turns the 15-character id into the 18-character
//! one (the algorithm Salesforce documents for `CASESAFEID`: for each block of 5 characters,
//! a bit per upper-case letter, read from the right, indexes `A-Z0-5`).

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const SUFFIX: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// Key prefixes of the objects the simulator holds (the real ones).
pub fn key_prefix(sobject: &str) -> &'static str {
    match sobject {
        "Organization" => "00D",
        "User" => "005",
        "Profile" => "00e",
        "UserLicense" => "100",
        "PermissionSet" => "0PS",
        "PermissionSetAssignment" => "0Pa",
        "PermissionSetLicense" => "0PL",
        "PermissionSetLicenseAssign" => "2LA",
        "ObjectPermissions" => "110",
        "FieldPermissions" => "01k",
        "Account" => "001",
        "Contact" => "003",
        "Opportunity" => "006",
        "Lead" => "00Q",
        "Case" => "500",
        "Invoice__c" => "a00",
        "ExternalClientApplication" => "0xI",
        // Not documented: made up, distinct from every real one above.
        "ExtlClntAppOauthSettings" => "0xS",
        "ExtlClntAppOauthPlcyCnfg" => "0xP",
        "DeployRequest" => "0Af",
        "OauthConsumer" => "0Hn",
        "QueryLocator" => "01g",
        _ => "000",
    }
}

/// The id of `sobject`'s record that belongs to the record `id` one to one (an app's OAuth
/// settings and policy): the same body under the other key prefix.
pub fn sibling_id(sobject: &str, id: &str) -> String {
    let body = id.get(3..15).unwrap_or_default();
    let id15 = format!("{}{body}", key_prefix(sobject));
    let suffix = case_safe_suffix(&id15);
    id15 + &suffix
}

/// The case-safe 3-character suffix of a 15-character id.
pub fn case_safe_suffix(id15: &str) -> String {
    let bytes = id15.as_bytes();
    let mut out = String::with_capacity(3);
    for block in bytes.chunks(5).take(3) {
        let mut index = 0usize;
        for (position, byte) in block.iter().enumerate() {
            if byte.is_ascii_uppercase() {
                index |= 1 << position;
            }
        }
        out.push(char::from(SUFFIX[index]));
    }
    out
}

/// An 18-character id for `sobject`, unique per (org code, counter).
pub fn make_id(sobject: &str, org_code: u32, counter: u64) -> String {
    let mut body = String::from(key_prefix(sobject));
    body.push_str(&base62(u64::from(org_code), 2));
    body.push_str(&base62(counter, 10));
    let suffix = case_safe_suffix(&body);
    body.push_str(&suffix);
    body
}

/// True when `id` has the shape of a 15- or 18-character Salesforce id.
pub fn looks_like_id(id: &str) -> bool {
    (id.len() == 15 || id.len() == 18) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The 18-character form of a 15- or 18-character id.
pub fn to_18(id: &str) -> String {
    if id.len() == 15 {
        format!("{id}{}", case_safe_suffix(id))
    } else {
        id.to_string()
    }
}

fn base62(mut value: u64, width: usize) -> String {
    let mut digits = vec![b'0'; width];
    for slot in digits.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    String::from_utf8_lossy(&digits).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_case_safe_suffix_matches_a_known_id() {
        // 001000000000001 has no upper-case letters: every block indexes 'A'.
        assert_eq!(case_safe_suffix("001000000000001"), "AAA");
        // An upper-case letter in the first position of the first block sets bit 0.
        assert_eq!(case_safe_suffix("A01000000000001"), "BAA");
    }

    #[test]
    fn ids_are_eighteen_characters_with_the_object_prefix() {
        let id = make_id("User", 3, 42);
        assert_eq!(id.len(), 18);
        assert!(id.starts_with("005"));
        assert!(looks_like_id(&id));
        assert_eq!(to_18(&id[..15]), id);
    }
}
