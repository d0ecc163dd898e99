//! `POST /services/oauth2/token`: the `refresh_token` grant (the product's client and an
//! admin's refresh token) and the `client_credentials` grant (an External Client App's
//! consumer key and secret; the token acts as the app's execution user).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::json;

use super::faults::IpRestrictions;
use super::org::{Org, OrgState, Session, World, bool_field, str_field};
use super::seed::random_token;

/// What Salesforce says when a grant comes from outside the allowed addresses.
const IP_RESTRICTED: &str = "ip restricted";

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// An access token for `user_id`; `rotated` is a new refresh token sent with it.
fn issue(
    state: &mut OrgState,
    world: &World,
    user_id: &str,
    client_credentials: bool,
    rotated: Option<String>,
) -> Response {
    let token = format!("{}!AQ{}", &state.org_id[..15], random_token(96));
    let ttl = state.config.access_token_ttl;
    state.sessions.insert(
        token.clone(),
        Session {
            user_id: user_id.to_string(),
            expires_at: Instant::now() + ttl,
        },
    );
    let issued_at = chrono::Utc::now().timestamp_millis().to_string();
    let id_host = world
        .login_url()
        .map_or_else(|| state.instance_url.to_string(), |u| u.to_string());
    let id = format!("{}id/{}/{}", id_host, state.org_id, user_id);
    let signature = base64::engine::general_purpose::STANDARD.encode(random_token(32));
    let scope = if client_credentials {
        "api"
    } else {
        "api refresh_token"
    };
    let instance = state
        .instance_url
        .as_str()
        .trim_end_matches('/')
        .to_string();
    let mut body = json!({
        "access_token": token, "signature": signature, "scope": scope,
        "instance_url": instance, "id": id, "token_type": "Bearer", "issued_at": issued_at,
    });
    if let Some(refresh) = rotated {
        body["refresh_token"] = json!(refresh);
    }
    (StatusCode::OK, axum::Json(body)).into_response()
}

fn check_product_client(world: &World, form: &HashMap<String, String>) -> Option<Response> {
    let id = form
        .get("client_id")
        .map(String::as_str)
        .unwrap_or_default();
    if id != world.client_id {
        return Some(oauth_error(
            "invalid_client_id",
            "client identifier invalid",
        ));
    }
    if form.get("client_secret").map(String::as_str) != Some(world.client_secret.as_str()) {
        return Some(oauth_error("invalid_client", "invalid client credentials"));
    }
    None
}

fn refresh(org: &Org, world: &World, form: &HashMap<String, String>) -> Response {
    let mut state = org.lock();
    state.count_call("token");
    if let Some(error) = check_product_client(world, form) {
        return error;
    }
    let token = form
        .get("refresh_token")
        .map(String::as_str)
        .unwrap_or_default();
    let Some(user) = state.refresh_tokens.get(token).cloned() else {
        return oauth_error("invalid_grant", "expired access/refresh token");
    };
    let active = state
        .data
        .find("User", &user)
        .is_some_and(|u| bool_field(u, "IsActive"));
    if !active {
        return oauth_error("invalid_grant", "inactive user");
    }
    if org.faults.ip_restrictions() == IpRestrictions::Everything {
        return oauth_error("invalid_grant", IP_RESTRICTED);
    }
    let rotated = state
        .config
        .rotate_refresh_tokens
        .then(|| rotate(&mut state, token, &user));
    issue(&mut state, world, &user, false, rotated)
}

/// Refresh-token rotation: `spent` stops working and a new token for `user` replaces it
/// (Salesforce Help, "OAuth 2.0 Refresh Token Flow for Renewed Sessions": the previous
/// refresh token is invalidated). The seeded admin token follows it.
fn rotate(state: &mut OrgState, spent: &str, user: &str) -> String {
    let new = format!("5Aep861{}", random_token(80));
    state.refresh_tokens.remove(spent);
    state.refresh_tokens.insert(new.clone(), user.to_owned());
    if state.admin_refresh_token == spent {
        state.admin_refresh_token = new.clone();
    }
    new
}

fn client_credentials(org: &Org, world: &World, form: &HashMap<String, String>) -> Response {
    let mut state = org.lock();
    state.count_call("token");
    let key = form
        .get("client_id")
        .map(String::as_str)
        .unwrap_or_default();
    let secret = form
        .get("client_secret")
        .map(String::as_str)
        .unwrap_or_default();
    let Some(bundle) = state
        .data
        .ecas
        .values()
        .find(|b| {
            b.global_oauth
                .as_ref()
                .is_some_and(|g| g.consumer_key == key)
        })
        .cloned()
    else {
        return oauth_error("invalid_client_id", "client identifier invalid");
    };
    let Some(global) = bundle.global_oauth.as_ref() else {
        return oauth_error("invalid_client_id", "client identifier invalid");
    };
    if global.consumer_secret != secret {
        return oauth_error("invalid_client", "invalid client credentials");
    }
    if !bundle.policies.as_ref().is_some_and(|p| p.is_enabled) {
        return oauth_error("invalid_client_id", "client identifier invalid");
    }
    let policy_on = bundle
        .oauth_policies
        .as_ref()
        .is_some_and(|p| p.client_credentials_enabled);
    if !global.client_credentials_enabled || !policy_on {
        return oauth_error("invalid_grant", "client credentials flow not enabled");
    }
    if let Some(refusal) = not_yet_usable(&mut state, &bundle, key) {
        return refusal;
    }
    let bypass = bundle
        .oauth_policies
        .as_ref()
        .is_some_and(|p| p.ip_relaxation.eq_ignore_ascii_case("Bypass"));
    match org.faults.ip_restrictions() {
        IpRestrictions::Off => {}
        IpRestrictions::Apps | IpRestrictions::Everything if bypass => {}
        IpRestrictions::Apps | IpRestrictions::Everything => {
            return oauth_error("invalid_grant", IP_RESTRICTED);
        }
    }
    let username = bundle
        .oauth_policies
        .as_ref()
        .and_then(|p| p.client_credentials_user.clone())
        .unwrap_or_default();
    let user = state
        .data
        .table("User")
        .iter()
        .find(|u| str_field(u, "Username").is_some_and(|n| n.eq_ignore_ascii_case(&username)))
        .cloned();
    let Some(user) = user else {
        return oauth_error("invalid_grant", "no client credentials user enabled");
    };
    if !bool_field(&user, "IsActive") {
        return oauth_error("invalid_grant", "user is inactive");
    }
    let user_id = str_field(&user, "Id").unwrap_or_default().to_string();
    let _ = world;
    issue(&mut state, world, &user_id, true, None)
}

/// Scopes the client-credentials flow cannot grant (Winter '26: a request left with none of the
/// others is refused "no valid scopes defined").
const NOT_FOR_CLIENT_CREDENTIALS: &[&str] = &["Full", "RefreshToken"];

/// A new app that has not reached every server yet (the first `app_propagation_grants` grants
/// of each app), or one whose scopes leave nothing the flow can grant: `invalid_grant`.
fn not_yet_usable(
    state: &mut OrgState,
    bundle: &super::org::EcaBundle,
    key: &str,
) -> Option<Response> {
    let initial = state.config.app_propagation_grants;
    let left = state.propagating.entry(key.to_string()).or_insert(initial);
    if *left > 0 {
        *left -= 1;
        return Some(oauth_error("invalid_grant", "app is not yet available"));
    }
    let scopes = bundle
        .oauth_settings
        .as_ref()
        .map(|o| o.scopes.clone())
        .unwrap_or_default();
    let usable = scopes.iter().any(|s| {
        !NOT_FOR_CLIENT_CREDENTIALS
            .iter()
            .any(|n| s.eq_ignore_ascii_case(n))
    });
    (!usable).then(|| oauth_error("invalid_grant", "no valid scopes defined"))
}

fn parse_form(body: &[u8]) -> HashMap<String, String> {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

/// The token endpoint of one org's My Domain.
pub fn org_token(org: &Arc<Org>, world: &World, body: &[u8]) -> Response {
    let form = parse_form(body);
    match form.get("grant_type").map(String::as_str) {
        Some("refresh_token") => refresh(org, world, &form),
        Some("client_credentials") => client_credentials(org, world, &form),
        _ => {
            org.lock().count_call("token");
            oauth_error("unsupported_grant_type", "grant type not supported")
        }
    }
}

/// The token endpoint of `login.salesforce.com`: redeems any org's refresh token and names
/// that org's current instance URL; client credentials need the org's My Domain.
pub fn login_token(world: &World, body: &[u8]) -> Response {
    let form = parse_form(body);
    if form.get("grant_type").map(String::as_str) != Some("refresh_token") {
        return oauth_error("unsupported_grant_type", "grant type not supported");
    }
    let token = form.get("refresh_token").cloned().unwrap_or_default();
    let owner = world
        .orgs()
        .into_iter()
        .find(|org| org.lock().refresh_tokens.contains_key(&token));
    match owner {
        Some(org) => refresh(&org, world, &form),
        None => {
            if let Some(error) = check_product_client(world, &form) {
                return error;
            }
            oauth_error("invalid_grant", "expired access/refresh token")
        }
    }
}
