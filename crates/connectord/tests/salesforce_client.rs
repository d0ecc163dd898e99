//! The Salesforce client against wiremock: each operation's exact requests, and each way
//! Salesforce can fail.

#[path = "salesforce_client/support.rs"]
mod support;

#[path = "salesforce_client/apps.rs"]
mod apps;
#[path = "salesforce_client/auth.rs"]
mod auth;
#[path = "salesforce_client/credentials.rs"]
mod credentials;
#[path = "salesforce_client/deploy.rs"]
mod deploy;
#[path = "salesforce_client/failures.rs"]
mod failures;
#[path = "salesforce_client/fixtures.rs"]
mod fixtures;
#[path = "salesforce_client/logs.rs"]
mod logs;
#[path = "salesforce_client/recording.rs"]
mod recording;
#[path = "salesforce_client/replay.rs"]
mod replay;
#[path = "salesforce_client/rest.rs"]
mod rest;
#[path = "salesforce_client/throttling.rs"]
mod throttling;
