//! Tests of the settings: layering, overrides and the one-line errors.

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults_load_without_any_environment() {
    let s = Settings::load_from(env(&[])).unwrap();
    assert_eq!(s.reconciler.concurrency, 16);
    assert_eq!(s.reconciler.resync_interval, Duration::from_secs(600));
    assert_eq!(s.salesforce.api_version, "67.0");
    assert_eq!(s.http.listen.to_string(), "127.0.0.1:9464");
    assert_eq!(s.log.format, LogFormat::Json);
    assert!(s.database_url().is_err());
    assert_eq!(s.salesforce.ip_relaxation, IpRelaxation::Enforce);
    assert_eq!(s.reconciler.upgrades_per_minute, 30);
}

#[test]
fn the_ip_relaxation_policy_is_enforce_or_bypass() {
    let s =
        Settings::load_from(env(&[("CONNECTORD__SALESFORCE__IP_RELAXATION", "bypass")])).unwrap();
    assert_eq!(s.salesforce.ip_relaxation, IpRelaxation::Bypass);
    let e = Settings::load_from(env(&[("CONNECTORD__SALESFORCE__IP_RELAXATION", "relaxed")]))
        .unwrap_err();
    assert_eq!(e.key, "salesforce.ip_relaxation", "{e}");
}

#[test]
fn environment_overrides_use_double_underscores() {
    let s = Settings::load_from(env(&[
        ("CONNECTORD__RECONCILER__CONCURRENCY", "3"),
        ("CONNECTORD__RECONCILER__RESYNC_INTERVAL", "30s"),
        ("CONNECTORD__LOG__FORMAT", "pretty"),
        ("DATABASE_URL", "postgres://localhost/x"),
    ]))
    .unwrap();
    assert_eq!(s.reconciler.concurrency, 3);
    assert_eq!(s.reconciler.resync_interval, Duration::from_secs(30));
    assert_eq!(s.log.format, LogFormat::Pretty);
    assert_eq!(
        s.database_url().unwrap().expose_secret(),
        "postgres://localhost/x"
    );
}

#[test]
fn a_bad_duration_names_the_key() {
    let e = Settings::load_from(env(&[("CONNECTORD__RECONCILER__RESYNC_INTERVAL", "soon")]))
        .unwrap_err();
    assert_eq!(e.key, "reconciler.resync_interval");
    assert!(!e.to_string().contains('\n'));
}

#[test]
fn a_bad_number_names_the_key_and_the_variable() {
    let e =
        Settings::load_from(env(&[("CONNECTORD__RECONCILER__CONCURRENCY", "lots")])).unwrap_err();
    assert_eq!(e.key, "reconciler.concurrency");
    assert!(
        e.to_string()
            .contains("CONNECTORD__RECONCILER__CONCURRENCY"),
        "{e}"
    );
}

#[test]
fn a_numeric_looking_string_stays_a_string() {
    let s = Settings::load_from(env(&[("CONNECTORD__SALESFORCE__CLIENT_ID", "12345")])).unwrap();
    assert_eq!(s.salesforce.client_id, "12345");
}

#[test]
fn a_secret_is_never_repeated_in_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "[secrets]\nkey = 987654321\n").unwrap();
    let e = Settings::load_from(env(&[("CONNECTORD_CONFIG", path.to_str().unwrap())])).unwrap_err();
    assert_eq!(e.key, "secrets.key");
    assert!(!e.to_string().contains("987654321"), "{e}");
}

#[test]
fn a_bad_database_url_is_refused() {
    let e = Settings::load_from(env(&[("DATABASE_URL", "mysql://x")])).unwrap_err();
    assert_eq!(e.key, "database.url");
}

#[test]
fn an_unknown_key_is_refused() {
    let e = Settings::load_from(env(&[("CONNECTORD__RECONCILER__CONCURENCY", "3")])).unwrap_err();
    assert!(e.to_string().contains("concurency"), "{e}");
}

#[test]
fn the_secret_key_must_be_32_bytes_of_base64() {
    let missing = Settings::load_from(env(&[])).unwrap();
    assert_eq!(missing.secrets.key().unwrap_err().key, "secrets.key");
    let short = Settings::load_from(env(&[("CONNECTORD__SECRETS__KEY", "c2hvcnQ=")])).unwrap();
    assert!(
        short
            .secrets
            .key()
            .unwrap_err()
            .problem
            .contains("32 bytes")
    );
    let good = Settings::load_from(env(&[(
        "CONNECTORD__SECRETS__KEY",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    )]))
    .unwrap();
    assert_eq!(good.secrets.key().unwrap()[31], 31);
}

#[test]
fn the_domain_lists_default_to_the_policy_constants() {
    use crate::salesforce::instance::*;
    let s = Settings::load_from(env(&[])).unwrap();
    assert_eq!(s.salesforce.allowed_domains, DEFAULT_ALLOWED_DOMAINS);
    assert_eq!(
        s.salesforce.government_cloud_domains,
        DEFAULT_GOVERNMENT_CLOUD_DOMAINS
    );
    assert_eq!(
        s.salesforce.government_cloud_instances,
        DEFAULT_GOVERNMENT_CLOUD_INSTANCES
    );
}

#[test]
fn bad_domain_lists_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    for (body, key) in [
        ("allowed_domains = []", "salesforce.allowed_domains"),
        ("allowed_domains = [\"com\"]", "salesforce.allowed_domains"),
        ("allowed_domains = [\"a..b\"]", "salesforce.allowed_domains"),
        (
            "government_cloud_domains = [\"evil/x.mil\"]",
            "salesforce.government_cloud_domains",
        ),
        (
            "government_cloud_instances = [\"\"]",
            "salesforce.government_cloud_instances",
        ),
        (
            "allowed_domains = \"my.salesforce.com\"",
            "salesforce.allowed_domains",
        ),
    ] {
        let path = dir.path().join("c.toml");
        std::fs::write(&path, format!("[salesforce]\n{body}\n")).unwrap();
        let e =
            Settings::load_from(env(&[("CONNECTORD_CONFIG", path.to_str().unwrap())])).unwrap_err();
        assert_eq!(e.key, key, "{body}: {e}");
    }
}

#[test]
fn a_missing_config_file_is_named() {
    let e = Settings::load_from(env(&[("CONNECTORD_CONFIG", "/nonexistent.toml")])).unwrap_err();
    assert_eq!(e.key, "CONNECTORD_CONFIG");
}

/// Issue 14 item 6: the refresh token only ever goes to an https login host.
#[test]
fn a_login_url_that_is_not_https_stops_start_up() {
    for key in ["LOGIN_URL", "SANDBOX_LOGIN_URL"] {
        let var = format!("CONNECTORD__SALESFORCE__{key}");
        let e = Settings::load_from(env(&[(&var, "http://login.example.com")])).unwrap_err();
        assert_eq!(
            e.key,
            format!("salesforce.{}", key.to_ascii_lowercase()),
            "{e}"
        );
        let e = Settings::load_from(env(&[(&var, "http://127.0.0.1:9")])).unwrap_err();
        assert!(e.to_string().contains("allow_loopback_http"), "{e}");
        let s = Settings::load_from(env(&[
            (&var, "http://127.0.0.1:9"),
            ("CONNECTORD__SALESFORCE__ALLOW_LOOPBACK_HTTP", "true"),
        ]))
        .unwrap();
        assert!(s.salesforce.allow_loopback_http);
    }
}

/// Issue 14 item 6: a sandbox's token goes to the sandbox login host, never production's.
#[test]
fn a_sandbox_refresh_token_goes_to_the_sandbox_login_host() {
    let s = Settings::load_from(env(&[])).unwrap();
    assert_eq!(
        s.salesforce.sandbox_login_url.as_str(),
        "https://test.salesforce.com/"
    );
    let sf = crate::salesforce::Salesforce::new(&s.salesforce).unwrap();
    let sandbox = url::Url::parse("https://acme--uat.sandbox.my.salesforce.com").unwrap();
    let production = url::Url::parse("https://acme.my.salesforce.com").unwrap();
    assert_eq!(
        sf.login_url_for(&sandbox).as_str(),
        "https://test.salesforce.com/"
    );
    assert_eq!(
        sf.login_url_for(&production).as_str(),
        "https://login.salesforce.com/"
    );
}

/// Low finding: the username domain is one per installation, and must be a domain name.
#[test]
fn the_integration_username_domain_comes_from_the_settings() {
    let s = Settings::load_from(env(&[])).unwrap();
    assert_eq!(
        s.salesforce.username_domain,
        "integration.connectord.invalid"
    );
    let s = Settings::load_from(env(&[(
        "CONNECTORD__SALESFORCE__USERNAME_DOMAIN",
        "staging.acme.example",
    )]))
    .unwrap();
    assert_eq!(s.salesforce.username_domain, "staging.acme.example");
    let e = Settings::load_from(env(&[("CONNECTORD__SALESFORCE__USERNAME_DOMAIN", "a@b")]))
        .unwrap_err();
    assert_eq!(e.key, "salesforce.username_domain");
}
