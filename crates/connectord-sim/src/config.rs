//! How a simulator and its orgs are set up.

use std::time::Duration;

/// The whole simulator: the product's OAuth client and the orgs to host.
#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    /// The product's own OAuth client id: the one admin refresh tokens were issued to.
    pub client_id: String,
    pub client_secret: String,
    pub orgs: Vec<OrgConfig>,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            client_id: "connectord-sim-client".to_string(),
            client_secret: "connectord-sim-secret".to_string(),
            orgs: vec![OrgConfig::default()],
        }
    }
}

impl SimulatorConfig {
    /// `count` orgs named `org1` … `orgN` with default settings.
    pub fn with_orgs(count: usize) -> Self {
        SimulatorConfig {
            orgs: (1..=count)
                .map(|n| OrgConfig::named(&format!("org{n}")))
                .collect(),
            ..SimulatorConfig::default()
        }
    }
}

/// One org.
#[derive(Debug, Clone)]
pub struct OrgConfig {
    /// Its My Domain name (`acme` plays `acme.my.salesforce.com`); also used in seeded usernames.
    pub name: String,
    /// Seats of the "Salesforce Integration" user licence and of the API integration PSL.
    pub integration_licenses: u32,
    /// The daily API allowance (`DailyApiRequests.Max`).
    pub daily_api_limit: u64,
    /// How long an access token lives.
    pub access_token_ttl: Duration,
    /// Records per query page before `nextRecordsUrl` (Salesforce's default is 2000).
    pub query_page_size: usize,
    /// How many status polls a deploy takes before it is done (1: done at the first poll).
    pub deploy_polls_until_done: u32,
    /// How many extra custom text fields the org has, dealt over the wide objects `Wide_1__c` …
    /// `Wide_5__c` (at most 1,250; `simulator::wide_field(n)` names the `n`th). 0: none of them.
    pub extra_custom_fields: u32,
    /// "Allow access to External Client App consumer secrets via REST API"
    /// (`ExternalClientAppSettings.enableClientSecretInRestApiAccess`). Off: the credentials
    /// resource refuses `part=secret|keyandsecret` with 403 `FUNCTIONALITY_NOT_ENABLED`.
    pub client_secret_in_rest_api: bool,
    /// Client-credentials grants of a freshly deployed app that answer `invalid_grant` before
    /// the app works (propagation after a deploy). 0: it works at once.
    pub app_propagation_grants: u32,
    /// Collated Composite subrequests run in an order drawn from this seed (see
    /// `simulator::collate`).
    pub collation_seed: u64,
    /// The newest API version the org offers (`GET /services/data/` lists 31.0 up to it; a
    /// newer one in a path answers 404 `NOT_FOUND`, as an org not yet upgraded would).
    pub newest_api_version: f64,
    /// Refresh-token rotation: each redeemed refresh token answers a new one and stops working
    /// (`invalid_grant` if it is sent again).
    pub rotate_refresh_tokens: bool,
    /// Whether SOQL on `ExternalClientApplication` answers (most orgs do, though the Object
    /// Reference lists the object as internal, without query()). Off: such a query answers
    /// 400 `INVALID_TYPE`, and apps are found only through `GET /apps/oauth/usage` and
    /// `GET /apps/oauth/credentials/{appId}`.
    pub eca_soql: bool,
}

impl Default for OrgConfig {
    fn default() -> Self {
        OrgConfig::named("org1")
    }
}

impl OrgConfig {
    pub fn named(name: &str) -> Self {
        OrgConfig {
            name: name.to_string(),
            integration_licenses: 5,
            daily_api_limit: 100_000,
            access_token_ttl: Duration::from_secs(2 * 60 * 60),
            query_page_size: 2000,
            deploy_polls_until_done: 1,
            extra_custom_fields: 0,
            client_secret_in_rest_api: true,
            app_propagation_grants: 0,
            collation_seed: 0,
            newest_api_version: super::rest::MAX_VERSION,
            rotate_refresh_tokens: false,
            eca_soql: true,
        }
    }
}
