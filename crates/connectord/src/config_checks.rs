//! Checks of single settings that need more than a type: where the refresh token may be sent,
//! and what an integration username's domain may be.

use super::ConfigError;

/// A login host gets the admin's refresh token: https only (plain http to a loopback address
/// when `salesforce.allow_loopback_http` is on, for tests and the demo), no path, no user.
pub(super) fn check_login_url(
    key: &str,
    url: &url::Url,
    allow_loopback_http: bool,
) -> Result<(), ConfigError> {
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(ConfigError::new(key, "must name a host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback && allow_loopback_http => {}
        "http" if loopback => {
            return Err(ConfigError::new(
                key,
                "must be an https URL (plain http to a loopback address needs \
                 salesforce.allow_loopback_http)",
            ));
        }
        _ => return Err(ConfigError::new(key, "must be an https URL")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::new(
            key,
            "must not carry a user name or password",
        ));
    }
    Ok(())
}

/// `integration.example.com`: letters, digits, hyphens and dots, at least two labels.
pub(super) fn check_username_domain(domain: &str) -> Result<(), ConfigError> {
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if labels.len() < 2 || !labels.iter().all(label_ok) || domain.len() > 32 {
        return Err(ConfigError::new(
            "salesforce.username_domain",
            format!(
                "{domain:?} is not a domain name of at most 32 characters, like integration.example.com"
            ),
        ));
    }
    Ok(())
}
