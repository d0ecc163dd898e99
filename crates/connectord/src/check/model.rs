//! What `connectord check` reads from an org ([`Facts`]) and what it reports ([`Item`],
//! [`Report`]).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::salesforce::ApiUsage;

/// One verdict of the preflight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Warn,
    Blocker,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Warn => "warn",
            Self::Blocker => "blocker",
        }
    }
}

/// One line of the report: what was checked, the verdict, what was found, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    pub item: String,
    pub status: Status,
    pub detail: String,
    /// What to do about a warn or a blocker (empty for a pass).
    pub remedy: String,
    /// The contract's error code a blocker would end in, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
}

impl Item {
    pub fn pass(item: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(item, Status::Pass, detail, "")
    }

    pub fn new(
        item: impl Into<String>,
        status: Status,
        detail: impl Into<String>,
        remedy: impl Into<String>,
    ) -> Self {
        Self {
            item: item.into(),
            status,
            detail: detail.into(),
            remedy: remedy.into(),
            code: None,
        }
    }

    pub fn with_code(mut self, code: crate::error_code::ErrorCode) -> Self {
        self.code = Some(code.as_str());
        self
    }
}

/// Seats of a licence: how many exist and how many are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seats {
    pub total: i64,
    pub used: i64,
}

impl Seats {
    pub fn free(self) -> i64 {
        (self.total - self.used).max(0)
    }
}

/// One field as describe reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldInfo {
    pub name: String,
    pub permissionable: bool,
}

/// A read that answered, or why it did not (Salesforce's message).
pub type Read<T> = Result<T, String>;

/// Everything the preflight read from the org, before any judgement.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    /// `salesforce.api_version`.
    pub configured_version: String,
    /// The org's versions list (`None`: its answer was not a versions list).
    pub versions: Option<Vec<String>>,
    /// Each system permission named in [`super::REQUIRED_PERMISSIONS`] → whether any of the
    /// admin's permission sets (its profile's own included) grants it.
    pub admin_permissions: Read<BTreeMap<String, bool>>,
    /// The "Salesforce Integration" user licence (`Ok(None)`: the org has none).
    pub user_license: Read<Option<Seats>>,
    /// The "Salesforce API Integration" permission set licence.
    pub permission_set_license: Read<Option<Seats>>,
    /// Whether the profile "Minimum Access - API Only Integrations" exists.
    pub integration_profile: Read<bool>,
    /// How many External Client Apps a plain SOQL query over `ExternalClientApplication` saw.
    pub external_client_apps: Read<usize>,
    /// The org's daily allowance as the last answer's `Sforce-Limit-Info` gave it.
    pub api_usage: Option<ApiUsage>,
    /// Each object of the required fields → its fields as describe lists them.
    pub objects: BTreeMap<String, Read<Vec<FieldInfo>>>,
}

/// The whole preflight, as printed.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub instance_url: String,
    pub api_version: String,
    /// API calls made, the token request excepted.
    pub api_calls: u32,
    pub blockers: usize,
    pub items: Vec<Item>,
}

impl Report {
    pub fn new(
        instance_url: String,
        api_version: String,
        api_calls: u32,
        items: Vec<Item>,
    ) -> Self {
        let blockers = items.iter().filter(|i| i.status == Status::Blocker).count();
        Self {
            instance_url,
            api_version,
            api_calls,
            blockers,
            items,
        }
    }

    /// The report as a table: one line per item, its remedy under it.
    pub fn table(&self) -> String {
        let width = self
            .items
            .iter()
            .map(|i| i.item.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let mut out = format!(
            "check of {} (API {}, {} API calls)\n{:<7}  {:<width$}  detail\n",
            self.instance_url, self.api_version, self.api_calls, "status", "item"
        );
        for item in &self.items {
            out.push_str(&format!(
                "{:<7}  {:<width$}  {}\n",
                item.status.as_str(),
                item.item,
                item.detail
            ));
            if !item.remedy.is_empty() {
                let code = item.code.map(|c| format!(" [{c}]")).unwrap_or_default();
                out.push_str(&format!(
                    "{:<7}  {:<width$}  -> {}{code}\n",
                    "", "", item.remedy
                ));
            }
        }
        out.push_str(&match self.blockers {
            0 => "no blocker: connectord can provision this org\n".to_owned(),
            n => format!("{n} blocker(s): fix them before enabling a connection\n"),
        });
        out
    }
}
