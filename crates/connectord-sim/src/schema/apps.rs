//! The External Client App objects SOQL reads (Object Reference, API 64): the app itself, its
//! OAuth settings (one boolean `OauthScopes…` field per scope) and its OAuth policy
//! configuration (`ExtlClntAppOauthPlcyCnfg`: the client-credentials run-as user, the IP
//! relaxation and permitted-users policies). Read only: they change by Metadata deploys and in
//! Setup. The records are mirrored from the deployed bundles (`metadata::deploy::sync_records`).

use super::ObjectDef;
use super::objects::{O, f, object};

/// The scopes a Metadata deploy accepts (`commaSeparatedOauthScopes`) and the field of
/// `ExtlClntAppOauthSettings` each shows as. `Basic` and `CustomApplications` have no
/// `OauthScopes…` field in API 64's object: the simulator does not show them in SOQL.
pub const OAUTH_SCOPE_FIELDS: &[(&str, Option<&str>)] = &[
    ("Api", Some("OauthScopesAPI")),
    ("Basic", None),
    ("Chatter", Some("OauthScopesCHATTER_REST_API")),
    ("CustomApplications", None),
    ("CustomPermissions", Some("OauthScopesCUSTOM_PERMISSIONS")),
    ("Full", Some("OauthScopesFULL")),
    ("OpenID", Some("OauthScopesOPENID")),
    ("RefreshToken", Some("OauthScopesREFRESH_TOKEN")),
    ("Web", Some("OauthScopesWEB")),
    ("Visualforce", Some("OauthScopesVF")),
    ("Wave", Some("OauthScopesWAVE_REST_API")),
    ("Lightning", Some("OauthScopesLIGHTNING")),
    ("Content", Some("OauthScopesCONTENT")),
    ("Pardot", Some("OauthScopesPARDOT_API")),
    ("Cdp", Some("OauthScopesCDP_API")),
];

/// The other scope fields of API 64's `ExtlClntAppOauthSettings`, which no scope the simulator
/// deploys turns on (always `false`).
const OTHER_SCOPE_FIELDS: &[&str] = &[
    "OauthScopesADDRESS",
    "OauthScopesCDP_CALCULATED_INSIGHT_API",
    "OauthScopesCDP_IDENTITYRESOLUTION_API",
    "OauthScopesCDP_INGEST_API",
    "OauthScopesCDP_PROFILE_API",
    "OauthScopesCDP_QUERY_API",
    "OauthScopesCDP_SEGMENT_API",
    "OauthScopesCHATBOT_API",
    "OauthScopesECLAIR_REST_API",
    "OauthScopesEINSTEIN_GPT_API",
    "OauthScopesEMAIL",
    "OauthScopesFORGOT_PASSWORD",
    "OauthScopesHUB_API",
    "OauthScopesINTERACTION_API",
    "OauthScopesOFFLINE_ACCESS",
    "OauthScopesPHONE",
    "OauthScopesPROFILE",
    "OauthScopesPWDLESS_LOGIN_API",
    "OauthScopesSFAP_API",
    "OauthScopesSSO",
    "OauthScopesUSER_REGISTRATION_API",
];

pub(super) fn objects() -> Vec<ObjectDef> {
    use super::FieldType::*;
    let app = || {
        f(
            "ExternalClientApplicationId",
            Reference("ExternalClientApplication"),
        )
        .read_only()
        .rel("ExternalClientApplication")
    };
    let mut settings = vec![
        f("DeveloperName", String).read_only(),
        f("MasterLabel", String).read_only(),
        app(),
    ];
    settings.extend(
        OAUTH_SCOPE_FIELDS
            .iter()
            .filter_map(|(_, field)| *field)
            .chain(OTHER_SCOPE_FIELDS.iter().copied())
            .map(|field| f(field, Boolean).read_only()),
    );
    vec![
        object(O {
            name: "ExternalClientApplication",
            label: "External Client App",
            setup: true,
            crud: (false, false, false),
            fields: vec![
                f("DeveloperName", String).read_only(),
                f("MasterLabel", String).read_only(),
                f("Description", Textarea).read_only(),
                f("ContactEmail", Email).read_only(),
                f("DistributionState", Picklist).read_only(),
                f("NamespacePrefix", String).read_only(),
            ],
        }),
        object(O {
            name: "ExtlClntAppOauthSettings",
            label: "External Client Application OAuth Settings",
            setup: true,
            crud: (false, false, false),
            fields: settings,
        }),
        object(O {
            name: "ExtlClntAppOauthPlcyCnfg",
            label: "External Client App OAuth Policy Config",
            setup: true,
            crud: (false, false, false),
            fields: vec![
                f("DeveloperName", String).read_only(),
                f("MasterLabel", String).read_only(),
                app(),
                f(
                    "ExtlClntAppOauthSettingsId",
                    Reference("ExtlClntAppOauthSettings"),
                )
                .read_only()
                .rel("ExtlClntAppOauthSettings"),
                f("ClientCredentialsFlowUser", Email).read_only(),
                f("IsClientCredentialsFlowEnabled", Boolean).read_only(),
                f("IpRelaxationPolicyType", Picklist).read_only(),
                f("PermittedUsersPolicyType", Picklist).read_only(),
            ],
        }),
    ]
}
