//! The strict Salesforce simulator, driven with plain reqwest: every rule is checked with its
//! exact status code and error body.

#[path = "simulator/collections.rs"]
mod collections;
#[path = "simulator/dependencies.rs"]
mod dependencies;
#[path = "simulator/deploy.rs"]
mod deploy;
#[path = "simulator/faults.rs"]
mod faults;
#[path = "simulator/helpers.rs"]
mod helpers;
#[path = "simulator/oauth.rs"]
mod oauth;
#[path = "simulator/records.rs"]
mod records;
#[path = "simulator/subqueries.rs"]
mod subqueries;
#[path = "simulator/subrequests.rs"]
mod subrequests;
#[path = "simulator/wide.rs"]
mod wide;
