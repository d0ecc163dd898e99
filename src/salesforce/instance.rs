//! What an org's instance URL may look like: `https://HOST` with nothing after the host (no
//! user, no path, no query). `http://127.0.0.1:PORT` / `http://localhost:PORT` only when
//! `salesforce.allow_loopback_http` is set (tests and the demo).

use url::{Host, Url};

use super::error::SalesforceError;

/// Checks `url` and returns it as an origin with a trailing `/`.
pub fn check_instance_url(url: &Url, allow_loopback_http: bool) -> Result<Url, SalesforceError> {
    let refuse = |reason: &str| SalesforceError::InvalidInstanceUrl {
        url: url.origin().ascii_serialization(),
        reason: reason.to_owned(),
    };
    let loopback = match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(refuse("it has no host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback && allow_loopback_http => {}
        "http" => return Err(refuse("it must use https")),
        _ => return Err(refuse("it must be an https URL")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse("it must not carry a user name or password"));
    }
    if !(url.path().is_empty() || url.path() == "/")
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(refuse(
            "it must be just the org's address, without a path or query",
        ));
    }
    Url::parse(&format!("{}/", url.origin().ascii_serialization()))
        .map_err(|_| refuse("it is not a valid address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, loopback: bool) -> Result<Url, SalesforceError> {
        check_instance_url(&Url::parse(text).unwrap(), loopback)
    }

    #[test]
    fn a_my_domain_url_is_accepted() {
        let url = check("https://acme.my.salesforce.com", false).unwrap();
        assert_eq!(url.as_str(), "https://acme.my.salesforce.com/");
    }

    #[test]
    fn plain_http_is_refused_except_on_loopback_when_allowed() {
        assert!(check("http://acme.my.salesforce.com", true).is_err());
        assert!(check("http://127.0.0.1:8080", false).is_err());
        assert!(check("http://127.0.0.1:8080", true).is_ok());
        assert!(check("http://localhost:8080/", true).is_ok());
    }

    #[test]
    fn paths_queries_and_credentials_are_refused() {
        assert!(check("https://acme.my.salesforce.com/services", false).is_err());
        assert!(check("https://acme.my.salesforce.com/?x=1", false).is_err());
        assert!(check("https://u:p@acme.my.salesforce.com", false).is_err());
        assert!(check("ftp://acme.my.salesforce.com", false).is_err());
    }

    #[test]
    fn the_error_never_repeats_a_password() {
        let e = check("https://u:hunter2@acme.my.salesforce.com", false).unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(!format!("{e:?}").contains("hunter2"));
    }
}
