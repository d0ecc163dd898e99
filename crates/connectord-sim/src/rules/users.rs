//! Users: usernames unique across every org (and still taken after deactivation), Alias of at
//! most 8 characters, e-mail shaped usernames and e-mails, and licence seats.

use serde_json::Value;

use super::super::errors::SfError;
use super::super::org::{OrgState, Record, World, bool_field, str_field};
use super::user_license;

pub const DUPLICATE_USERNAME_MESSAGE: &str = "Duplicate Username.<br>The username already exists in this or another Salesforce organization. Usernames must be unique across all Salesforce organizations. To resolve, use a different username (it doesn't need to match the user's email address). ";

fn email_shaped(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !value.contains(char::is_whitespace)
}

pub fn before_write(
    state: &mut OrgState,
    world: &World,
    old: Option<&Record>,
    new: &mut Record,
) -> Result<(), SfError> {
    let username = str_field(new, "Username").unwrap_or_default().to_string();
    if !email_shaped(&username) {
        return Err(SfError::bad_request(
            "INVALID_NEW_VALUE",
            format!("Username: invalid username: {username}. The username must be in the form of an email address (for example, john@acme.com)."),
        )
        .with_fields(["Username"]));
    }
    let email = str_field(new, "Email").unwrap_or_default().to_string();
    if !email_shaped(&email) {
        return Err(SfError::bad_request(
            "INVALID_EMAIL_ADDRESS",
            format!("Email: invalid email address: {email}"),
        )
        .with_fields(["Email"]));
    }
    let alias = str_field(new, "Alias").unwrap_or_default();
    if alias.chars().count() > 8 {
        return Err(SfError::bad_request(
            "STRING_TOO_LONG",
            format!("Alias: data value too large: {alias} (max length=8)"),
        )
        .with_fields(["Alias"]));
    }
    let old_username = old
        .and_then(|o| str_field(o, "Username"))
        .map(str::to_lowercase);
    if old_username.as_deref() != Some(username.to_lowercase().as_str())
        && world.usernames().contains_key(&username.to_lowercase())
    {
        return Err(
            SfError::bad_request("DUPLICATE_USERNAME", DUPLICATE_USERNAME_MESSAGE)
                .with_fields(["Username"]),
        );
    }
    let own_id = old.and_then(|o| str_field(o, "Id"));
    if let Some(nickname) = str_field(new, "CommunityNickname").filter(|n| !n.is_empty()) {
        let taken = state.data.table("User").iter().any(|u| {
            str_field(u, "Id") != own_id
                && str_field(u, "CommunityNickname")
                    .is_some_and(|n| n.eq_ignore_ascii_case(nickname))
        });
        if taken {
            return Err(SfError::bad_request(
                "DUPLICATE_COMM_NICKNAME",
                "Duplicate Nickname.<br>Another user has already selected this nickname.<br>Please select another.",
            )
            .with_fields(["CommunityNickname"]));
        }
    } else {
        let local = username.split('@').next().unwrap_or_default();
        let nickname = format!("{local}{}", state.counter + 1);
        new.insert("CommunityNickname".into(), Value::String(nickname));
    }
    new.insert("UserType".into(), Value::String("Standard".into()));
    let takes_seat = bool_field(new, "IsActive")
        && (old.is_none_or(|o| !bool_field(o, "IsActive"))
            || old.and_then(|o| str_field(o, "ProfileId")) != str_field(new, "ProfileId"));
    if takes_seat {
        check_seat(state, new, own_id)?;
    }
    Ok(())
}

fn check_seat(state: &OrgState, new: &Record, own_id: Option<&str>) -> Result<(), SfError> {
    let Some(license_id) = user_license(&state.data, new) else {
        return Ok(());
    };
    let total = state
        .data
        .find("UserLicense", &license_id)
        .and_then(|l| l.get("TotalLicenses"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let used = state
        .data
        .table("User")
        .iter()
        .filter(|u| str_field(u, "Id") != own_id && bool_field(u, "IsActive"))
        .filter(|u| user_license(&state.data, u).as_deref() == Some(license_id.as_str()))
        .count() as i64;
    if used >= total {
        return Err(SfError::bad_request(
            "LICENSE_LIMIT_EXCEEDED",
            "License Limit Exceeded",
        ));
    }
    Ok(())
}

/// Records the username as taken (across all orgs); an old username is released only when
/// the user is renamed, never on deactivation.
pub fn register(state: &OrgState, world: &World, old: Option<&Record>, new: &Record) {
    let mut names = world.usernames();
    if let Some(old) = old.and_then(|o| str_field(o, "Username")) {
        names.remove(&old.to_lowercase());
    }
    if let Some(username) = str_field(new, "Username") {
        names.insert(username.to_lowercase(), state.org_id.clone());
    }
}
