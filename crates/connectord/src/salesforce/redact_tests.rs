use serde_json::json;

use super::*;

#[test]
fn secret_named_fields_are_redacted_and_remembered_everywhere_after() {
    let mut r = Redactor::default();
    let mut answer = json!({
        "access_token": "00Dxx0000001gPL!AQ4AQFakeToken",
        "instance_url": "https://acme.my.salesforce.com",
        "token_type": "Bearer",
        "signature": "c2lnbmF0dXJlLXZhbHVl",
        "consumers": [{"id": "0Hxxx", "key": "3MVG9CONSUMERKEY", "secret": "S3CRET-VALUE"}]
    });
    r.learn_json(&answer);
    r.json(&mut answer, false);
    assert_eq!(answer["access_token"], REDACTED);
    assert_eq!(answer["signature"], REDACTED);
    assert_eq!(answer["consumers"][0]["key"], REDACTED);
    assert_eq!(answer["consumers"][0]["secret"], REDACTED);
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["consumers"][0]["id"], "0Hxxx");
    // Learned: the key is scrubbed from free text that carries it later.
    assert_eq!(
        r.text("client_id=3MVG9CONSUMERKEY&x=1"),
        format!("client_id={REDACTED}&x=1")
    );
}

#[test]
fn form_pairs_with_secret_names_are_redacted() {
    let mut r = Redactor::default();
    let pairs = vec![
        ("grant_type".to_owned(), "refresh_token".to_owned()),
        ("refresh_token".to_owned(), "5Aep861REFRESH".to_owned()),
        ("client_id".to_owned(), "3MVG9PRODUCT".to_owned()),
        ("client_secret".to_owned(), "PRODUCT-SECRET".to_owned()),
    ];
    r.learn_pairs(&pairs);
    let out = r.pairs(pairs, false);
    assert_eq!(out[0].1, "refresh_token");
    assert!(out[1..].iter().all(|(_, v)| v == REDACTED), "{out:?}");
    assert_eq!(r.text("x 5Aep861REFRESH y"), format!("x {REDACTED} y"));
}

#[test]
fn session_ids_are_scrubbed_by_their_shape_even_when_never_seen() {
    let mut r = Redactor::default();
    let text = "Bearer 00D5g000004Xyz1!AQ8AQH.x_y-z and 00D5g000004Xyz1 alone";
    assert_eq!(
        r.text(text),
        format!("Bearer {REDACTED} and 00D5g000004Xyz1 alone")
    );
}

#[test]
fn people_are_masked_consistently_but_profiles_keep_their_names() {
    let mut r = Redactor::default();
    let mut page = json!({"records": [
        {"attributes": {"type": "User"}, "Name": "Ada Lovelace", "Email": "ada@acme.example",
         "Username": "ada@acme.example.prod", "FirstName": "Ada"},
        {"attributes": {"type": "Profile"}, "Name": "Minimum Access - API Only Integrations"}
    ]});
    r.json(&mut page, false);
    let user = &page["records"][0];
    assert!(
        user["Name"].as_str().unwrap().starts_with("Person "),
        "{user}"
    );
    assert!(
        user["Email"]
            .as_str()
            .unwrap()
            .ends_with("@example.invalid")
    );
    assert_ne!(user["Email"], user["Username"]);
    assert!(user["FirstName"].as_str().unwrap().starts_with("Person "));
    assert_ne!(user["FirstName"], user["Name"]);
    assert_eq!(
        page["records"][1]["Name"],
        "Minimum Access - API Only Integrations"
    );
    // The same address in SOQL gets the same mask as in the record.
    let soql = r.text("SELECT Id FROM User WHERE Email = 'ada@acme.example'");
    assert_eq!(
        soql,
        format!(
            "SELECT Id FROM User WHERE Email = '{}'",
            user["Email"].as_str().unwrap()
        )
    );
}

#[test]
fn a_user_create_inside_a_composite_masks_the_users_name() {
    let mut r = Redactor::default();
    let mut body = json!({"compositeRequest": [
        {"method": "POST", "url": "/services/data/v64.0/sobjects/User", "referenceId": "u",
         "body": {"Name": "Grace Hopper", "LastName": "Hopper"}},
        {"method": "POST", "url": "/services/data/v64.0/sobjects/PermissionSet",
         "referenceId": "ps", "body": {"Name": "Acme_Agent"}}
    ]});
    r.json(&mut body, false);
    let name = &body["compositeRequest"][0]["body"]["Name"];
    assert!(name.as_str().unwrap().starts_with("Person "), "{body}");
    assert_eq!(body["compositeRequest"][1]["body"]["Name"], "Acme_Agent");
    assert!(is_user_path("/services/data/v64.0/sobjects/User/005xx"));
    assert!(!is_user_path("/services/data/v64.0/sobjects/UserLicense"));
}

#[test]
fn e_mail_addresses_are_found_in_free_text() {
    assert_eq!(find_email("to: a.b+c@x.example."), Some((4, 19)));
    assert_eq!(find_email("@ not@all"), None);
    assert_eq!(find_email("user@localhost and x@y.z"), Some((19, 24)));
}
