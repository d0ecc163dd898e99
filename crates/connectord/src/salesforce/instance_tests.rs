use super::*;
use crate::error_code::ErrorCode;

fn check(text: &str, loopback: bool) -> Result<Url, SalesforceError> {
    check_instance_url(&Url::parse(text).unwrap(), loopback)
}

fn code(text: &str) -> Option<ErrorCode> {
    check(text, false).err().map(|e| e.error_code())
}

#[test]
fn a_my_domain_url_is_accepted() {
    let url = check("https://acme.my.salesforce.com", false).unwrap();
    assert_eq!(url.as_str(), "https://acme.my.salesforce.com/");
}

#[test]
fn sandboxes_scratch_orgs_and_partitioned_hosts_are_accepted() {
    for ok in [
        "https://acme--uat.sandbox.my.salesforce.com",
        "https://power-fun-1234-dev-ed.scratch.my.salesforce.com",
        "https://acme-dev-ed.develop.my.salesforce.com",
        "https://ACME.My.Salesforce.COM/",
        "https://acme.my.salesforce.com:443",
    ] {
        assert!(check(ok, false).is_ok(), "{ok}");
    }
}

#[test]
fn plain_http_is_refused_except_on_loopback_when_allowed() {
    assert!(check("http://acme.my.salesforce.com", true).is_err());
    assert!(check("http://127.0.0.1:8080", false).is_err());
    assert!(check("http://127.0.0.1:8080", true).is_ok());
    assert!(check("http://localhost:8080/", true).is_ok());
    assert!(check("http://[::1]:8080/", true).is_ok());
}

#[test]
fn paths_queries_and_credentials_are_refused() {
    assert!(check("https://acme.my.salesforce.com/services", false).is_err());
    assert!(check("https://acme.my.salesforce.com/?x=1", false).is_err());
    assert!(check("https://acme.my.salesforce.com/#x", false).is_err());
    assert!(check("https://u:p@acme.my.salesforce.com", false).is_err());
    assert!(check("https://u@acme.my.salesforce.com", false).is_err());
    assert!(check("ftp://acme.my.salesforce.com", false).is_err());
}

#[test]
fn hosts_outside_the_allowed_domains_are_refused() {
    for bad in [
        "https://evil.example.com",
        "https://acme.my.salesforce.com.evil.example",
        "https://evilmy.salesforce.com",
        "https://my.salesforce.com",
        "https://login.salesforce.com",
        "https://acme.my.salesforce.com.",
        "https://acme.lightning.force.com",
    ] {
        assert_eq!(code(bad), Some(ErrorCode::InvalidInstanceUrl), "{bad}");
    }
}

#[test]
fn ip_literals_and_unusual_ports_are_refused_even_over_https() {
    for bad in [
        "https://10.0.0.1",
        "https://[2001:db8::1]",
        "https://127.0.0.1:8443",
        "https://acme.my.salesforce.com:8443",
        "https://acme.my.salesforce.com:80",
    ] {
        assert_eq!(code(bad), Some(ErrorCode::InvalidInstanceUrl), "{bad}");
    }
    // The loopback exception is for http with the flag only, never an https IP literal.
    assert!(check("https://127.0.0.1:8443", true).is_err());
    // And never for a port on a real host.
    assert!(check("http://acme.my.salesforce.com:8080", true).is_err());
}

#[test]
fn government_cloud_hosts_are_refused_with_their_own_code_and_reason() {
    for gov in [
        "https://agency.my.salesforce.mil",
        "https://agency.lightning.crmforce.mil",
        "https://agency--uat.sandbox.my.salesforce.mil",
        "http://agency.my.salesforce.mil",
    ] {
        assert_eq!(
            code(gov),
            Some(ErrorCode::GovernmentCloudUnsupported),
            "{gov}"
        );
    }
    let e = check("https://agency.my.salesforce.mil", false).unwrap_err();
    assert!(e.to_string().contains("Government Cloud"), "{e}");
    assert!(e.to_string().contains("agency.my.salesforce.mil"), "{e}");
}

#[test]
fn a_my_domain_named_gs0_or_gs1_is_not_mistaken_for_government_cloud() {
    // gs0 is Salesforce's download host and sfdx-core treats `gs1.` as internal: neither label
    // is a documented Government Cloud marker, so an ordinary My Domain with it is accepted.
    for host in [
        "https://gs0.my.salesforce.com",
        "https://gs1.my.salesforce.com",
        "https://acme-gs1.my.salesforce.com",
    ] {
        assert!(check(host, false).is_ok(), "{host}");
    }
}

#[test]
fn an_instance_label_still_marks_government_cloud_when_configured() {
    let policy = InstancePolicy {
        government_cloud_instances: vec!["gov9".into()],
        ..InstancePolicy::default()
    };
    let e = policy
        .check(&Url::parse("https://agency.gov9.my.salesforce.com").unwrap())
        .unwrap_err();
    assert_eq!(e.error_code(), ErrorCode::GovernmentCloudUnsupported);
}

#[test]
fn the_domain_lists_are_configuration() {
    let policy = InstancePolicy {
        allow_loopback_http: false,
        allowed_domains: vec!["example.org".into()],
        government_cloud_domains: vec!["gov.example.org".into()],
        government_cloud_instances: vec![],
    };
    let check = |t: &str| policy.check(&Url::parse(t).unwrap());
    assert!(check("https://acme.example.org").is_ok());
    assert!(check("https://gs0.example.org").is_ok());
    assert!(check("https://acme.my.salesforce.com").is_err());
    assert_eq!(
        check("https://x.gov.example.org").unwrap_err().error_code(),
        ErrorCode::GovernmentCloudUnsupported
    );
}

#[test]
fn domain_entries_are_normalised() {
    assert_eq!(
        normalise_domain(" *.My.Salesforce.COM. "),
        "my.salesforce.com"
    );
    assert_eq!(normalise_domain(".my.salesforce.com"), "my.salesforce.com");
}

#[test]
fn the_error_never_repeats_a_password() {
    let e = check("https://u:hunter2@acme.my.salesforce.com", false).unwrap_err();
    assert!(!e.to_string().contains("hunter2"), "{e}");
    assert!(!format!("{e:?}").contains("hunter2"));
}
