//! What a new org holds: the admin, licences, profiles, a few users and data records.

use std::collections::{BTreeMap, HashMap};

use rand::Rng;
use serde_json::{Value, json};
use url::Url;

use super::config::OrgConfig;
use super::ids;
use super::org::{Data, OrgState, Record};

pub const INTEGRATION_PROFILE: &str = "Minimum Access - API Only Integrations";
pub const INTEGRATION_LICENSE: &str = "Salesforce Integration";
pub const INTEGRATION_PSL: &str = "SalesforceAPIIntegrationPsl";

/// A random token-like string of `len` characters.
pub fn random_token(len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| char::from(CHARS[rng.gen_range(0..CHARS.len())]))
        .collect()
}

struct Seeder {
    state: OrgState,
}

impl Seeder {
    fn add(&mut self, sobject: &str, fields: Value) -> String {
        let id = self.state.next_id(sobject);
        let mut record = Record::new();
        record.insert("Id".into(), Value::String(id.clone()));
        if let Value::Object(map) = fields {
            record.extend(map);
        }
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        for stamp in ["CreatedDate", "LastModifiedDate", "SystemModstamp"] {
            record.insert(stamp.into(), Value::String(now.clone()));
        }
        record.insert("IsDeleted".into(), Value::Bool(false));
        self.state.data.insert(sobject, record);
        id
    }
}

/// A freshly seeded org. `code` makes its ids distinct from other orgs'.
pub fn seed(config: &OrgConfig, code: u32, instance_url: Url) -> OrgState {
    let org_id = ids::make_id("Organization", code, 1);
    let state = OrgState {
        name: config.name.clone(),
        org_id,
        code,
        counter: 1,
        instance_url,
        config: config.clone(),
        data: Data {
            extra_custom_fields: config.extra_custom_fields,
            ..Data::default()
        },
        sessions: HashMap::new(),
        refresh_tokens: HashMap::new(),
        admin_user_id: String::new(),
        admin_refresh_token: String::new(),
        api_used: 0,
        calls: BTreeMap::new(),
        calls_total: 0,
        first_call_since_mark: None,
        deploys: HashMap::new(),
        cursors: HashMap::new(),
        propagating: HashMap::new(),
        eca_soql_refusals: 0,
    };
    let mut s = Seeder { state };
    let seats = config.integration_licenses;
    let full = s.add(
        "UserLicense",
        json!({"Name": "Salesforce", "MasterLabel": "Salesforce", "LicenseDefinitionKey": "SFDC",
               "TotalLicenses": 10, "UsedLicenses": 0, "Status": "Active"}),
    );
    let integration = s.add(
        "UserLicense",
        json!({"Name": INTEGRATION_LICENSE, "MasterLabel": INTEGRATION_LICENSE,
               "LicenseDefinitionKey": "SFDC_INTEGRATION", "TotalLicenses": seats,
               "UsedLicenses": 0, "Status": "Active"}),
    );
    s.add(
        "PermissionSetLicense",
        json!({"DeveloperName": INTEGRATION_PSL, "MasterLabel": "Salesforce API Integration",
               "TotalLicenses": seats, "UsedLicenses": 0, "Status": "Active"}),
    );
    let admin_profile = s.add(
        "Profile",
        json!({"Name": "System Administrator", "UserLicenseId": full, "UserType": "Standard",
               "PermissionsApiUserOnly": false}),
    );
    let mut owned = json!({"Name": "X00e_System_Administrator", "Label": "System Administrator",
                           "IsOwnedByProfile": true, "ProfileId": admin_profile.clone()});
    for permission in super::schema::SYSTEM_PERMISSIONS {
        owned[*permission] = Value::Bool(true);
    }
    let admin_set = s.add("PermissionSet", owned);
    let standard_profile = s.add(
        "Profile",
        json!({"Name": "Standard User", "UserLicenseId": full, "UserType": "Standard",
               "PermissionsApiUserOnly": false}),
    );
    s.add(
        "Profile",
        json!({"Name": INTEGRATION_PROFILE, "UserLicenseId": integration,
               "UserType": "Standard", "PermissionsApiUserOnly": true}),
    );
    let domain = format!("{}.example.com", config.name.to_lowercase());
    let user = |first: &str, last: &str, alias: &str, profile: &str, active: bool, fed: Value| {
        json!({
            "Username": format!("{}@{domain}", first.to_lowercase()),
            "FirstName": first, "LastName": last, "Name": format!("{first} {last}"),
            "Email": format!("{}.{}@example.com", first.to_lowercase(), last.to_lowercase()),
            "Alias": alias, "ProfileId": profile, "IsActive": active,
            "TimeZoneSidKey": "America/Los_Angeles", "LocaleSidKey": "en_US",
            "EmailEncodingKey": "UTF-8", "LanguageLocaleKey": "en_US",
            "FederationIdentifier": fed, "UserType": "Standard",
        })
    };
    let admin = s.add(
        "User",
        user("Admin", "User", "admin", &admin_profile, true, Value::Null),
    );
    // Every user holds its profile's own permission set through an assignment.
    s.add(
        "PermissionSetAssignment",
        json!({"AssigneeId": admin.clone(), "PermissionSetId": admin_set}),
    );
    let people = [
        ("Alice", "Nguyen", "anguy", true),
        ("Bob", "Okafor", "bokaf", true),
        ("Carol", "Schmidt", "cschm", true),
        ("Dave", "Inactive", "dinac", false),
    ];
    for (first, last, alias, active) in people {
        let fed = Value::String(format!("{}.{}", first.to_lowercase(), last.to_lowercase()));
        s.add(
            "User",
            user(first, last, alias, &standard_profile, active, fed),
        );
    }
    let acme = s.add(
        "Account",
        json!({"Name": "Acme Corporation", "Industry": "Manufacturing", "Tier__c": "Gold",
               "AnnualRevenue": 1_200_000.0, "OwnerId": admin.clone(), "Health_Score__c": 87.5}),
    );
    s.add(
        "Account",
        json!({"Name": "Globex", "Industry": "Energy", "Tier__c": "Silver", "OwnerId": admin.clone()}),
    );
    s.add(
        "Account",
        json!({"Name": "Initech", "Industry": "Technology", "Tier__c": "Bronze", "OwnerId": admin.clone()}),
    );
    s.add(
        "Contact",
        json!({"FirstName": "Wile", "LastName": "Coyote", "Name": "Wile Coyote",
               "Email": "wile@acme.example", "AccountId": acme.clone(), "OwnerId": admin.clone()}),
    );
    s.add(
        "Opportunity",
        json!({"Name": "Acme renewal", "StageName": "Prospecting", "CloseDate": "2030-01-31",
               "Amount": 50_000.0, "AccountId": acme.clone(), "OwnerId": admin.clone()}),
    );
    s.add(
        "Invoice__c",
        json!({"Name": "INV-0001", "Amount__c": 1200.0, "Status__c": "Open",
               "Account__c": acme, "OwnerId": admin.clone()}),
    );
    let refresh = format!("5Aep861{}", random_token(80));
    s.state.admin_user_id = admin.clone();
    s.state.admin_refresh_token = refresh.clone();
    s.state.refresh_tokens.insert(refresh, admin);
    super::rules::recompute(&mut s.state.data);
    s.state
}
