//! Metadata API deploys over REST: `POST …/metadata/deployRequest` (multipart: part `json`
//! with the deploy options, part `file` with the zip), then
//! `GET …/metadata/deployRequest/{id}?includeDetails=true` with growing waits until
//! `deployResult.done` (Metadata API Developer Guide, "Deploy Metadata with Apex Testing Using
//! REST" and "Check the Status of Your Deployment Using REST Resources").

use std::time::Duration;

use reqwest::{
    Method,
    multipart::{Form, Part},
};
use serde::{Deserialize, Deserializer};
use tokio::time::Instant;

use super::{
    Org,
    error::{ComponentFailure, SalesforceError},
};

/// The deploy options connectord always sends.
pub const DEPLOY_OPTIONS: &str =
    r#"{"deployOptions":{"singlePackage":true,"rollbackOnError":true}}"#;

/// A deploy that finished well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployOutcome {
    /// The deploy request id (`0Af…`).
    pub id: String,
    /// `Succeeded`.
    pub status: String,
    /// The components deployed, from `details.componentSuccesses`.
    pub components: Vec<DeployedComponent>,
}

/// One deployed component: a `DeployMessage` of `componentSuccesses`, whose `id` is the id of
/// the deployed component (Apex Reference, "DeployMessage Class").
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployedComponent {
    #[serde(default)]
    pub component_type: String,
    #[serde(default)]
    pub full_name: String,
    #[serde(default)]
    pub id: Option<String>,
}

impl DeployOutcome {
    /// The id of the component of `component_type` named `full_name`, if the answer gave it.
    pub fn id_of(&self, component_type: &str, full_name: &str) -> Option<&str> {
        self.components
            .iter()
            .find(|c| c.component_type == component_type && c.full_name == full_name)
            .and_then(|c| c.id.as_deref())
            .filter(|id| !id.is_empty())
    }
}

#[derive(Deserialize)]
struct DeployAnswer {
    id: String,
    #[serde(default, rename = "deployResult")]
    deploy_result: Option<DeployResult>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeployResult {
    #[serde(default, deserialize_with = "bool_or_string")]
    done: bool,
    #[serde(default)]
    status: String,
    #[serde(default)]
    error_message: Option<String>,
    #[serde(default)]
    details: Option<Details>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Details {
    #[serde(default, deserialize_with = "one_or_many")]
    component_failures: Vec<Failure>,
    #[serde(default, deserialize_with = "one_or_many")]
    component_successes: Vec<DeployedComponent>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Failure {
    #[serde(default)]
    component_type: Option<String>,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    problem: String,
}

fn bool_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum B {
        Bool(bool),
        Text(String),
    }
    Ok(match Option::<B>::deserialize(d)? {
        Some(B::Bool(b)) => b,
        Some(B::Text(t)) => t.eq_ignore_ascii_case("true"),
        None => false,
    })
}

fn one_or_many<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum M<T> {
        Many(Vec<T>),
        One(T),
    }
    Ok(match Option::<M<T>>::deserialize(d)? {
        Some(M::Many(v)) => v,
        Some(M::One(f)) => vec![f],
        None => Vec::new(),
    })
}

impl Org {
    /// Deploys a zip (see [`super::eca`]) and waits until Salesforce is done with it. The
    /// waits between polls give the pass's slot back ([`crate::slot::idle`]).
    pub async fn deploy(&self, zip: Vec<u8>) -> Result<DeployOutcome, SalesforceError> {
        let path = self.data_path("metadata/deployRequest");
        let zip = bytes::Bytes::from(zip);
        let submitted: DeployAnswer = self
            .call_json(Method::POST, &path, &[], |r| r.multipart(deploy_form(&zip)))
            .await?;
        let id = submitted.id;
        tracing::info!(deploy_id = %id, "deploy submitted");
        if let Some(result) = submitted.deploy_result.filter(|r| r.done) {
            return finish(id, result);
        }

        let tuning = self.sf().http().tuning().clone();
        let deadline = Instant::now() + tuning.deploy_max_wait;
        let mut wait = tuning.deploy_first_poll;
        let status_path = format!("{path}/{id}");
        loop {
            if Instant::now() + wait > deadline {
                return self.cancel(&status_path, id, &tuning).await;
            }
            crate::slot::idle(wait).await;
            // The lease is renewed by the daemon's heartbeat every third of its expiry; if that
            // failed for long enough (a frozen process, an unreachable database), stop here.
            if !crate::reconcile::fence::still_held() {
                tracing::warn!(deploy_id = %id, "lease lost: no longer waiting for the deploy");
                return Err(SalesforceError::DeployTimedOut {
                    id,
                    canceled: false,
                });
            }
            let result = self.deploy_status(&status_path).await?;
            if result.done {
                return finish(id, result);
            }
            tracing::debug!(deploy_id = %id, status = %result.status, "deploy in progress");
            wait = next_wait(wait, tuning.deploy_max_poll_interval);
        }
    }

    async fn deploy_status(&self, status_path: &str) -> Result<DeployResult, SalesforceError> {
        let answer: DeployAnswer = self
            .call_json(
                Method::GET,
                status_path,
                &[("includeDetails", "true")],
                |r| r,
            )
            .await?;
        answer
            .deploy_result
            .ok_or_else(|| SalesforceError::BadResponse {
                status: 200,
                detail: "deploy status without deployResult".into(),
            })
    }

    /// The deploy hit its wait limit: asks Salesforce to cancel it (`PATCH` of the
    /// deployRequest with `{"deployResult":{"status":"Canceling"}}`, answered 202 with
    /// `Canceling` or `Canceled`), then polls a few times for the end. A deploy that finished
    /// meanwhile is reported as it ended; otherwise `DeployTimedOut`.
    async fn cancel(
        &self,
        status_path: &str,
        id: String,
        tuning: &super::Tuning,
    ) -> Result<DeployOutcome, SalesforceError> {
        tracing::warn!(deploy_id = %id, "deploy hit its wait limit; cancelling it");
        let asked: Result<DeployAnswer, _> = self
            .call_json(Method::PATCH, status_path, &[], |r| {
                r.header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(CANCEL_BODY)
            })
            .await;
        let mut result = match asked {
            Ok(answer) => answer.deploy_result,
            Err(error) => {
                tracing::warn!(deploy_id = %id, error = %error, "the deploy could not be cancelled");
                return Err(SalesforceError::DeployTimedOut {
                    id,
                    canceled: false,
                });
            }
        };
        for poll in 0..=CANCEL_POLLS {
            match result {
                Some(r) if r.done && r.status == "Canceled" => {
                    tracing::info!(deploy_id = %id, "deploy cancelled");
                    return Err(SalesforceError::DeployTimedOut { id, canceled: true });
                }
                Some(r) if r.done => return finish(id, r),
                _ if poll == CANCEL_POLLS => break,
                _ => {}
            }
            crate::slot::idle(tuning.deploy_max_poll_interval).await;
            result = self.deploy_status(status_path).await.ok();
        }
        Err(SalesforceError::DeployTimedOut {
            id,
            canceled: false,
        })
    }
}

/// The body that asks Salesforce to cancel a deploy in progress (Metadata API Developer Guide,
/// "Cancel a Deployment in Progress Using REST").
pub const CANCEL_BODY: &str = r#"{"deployResult":{"status":"Canceling"}}"#;

/// Status polls after a cancel request before giving up on seeing `Canceled`.
const CANCEL_POLLS: u32 = 3;

fn deploy_form(zip: &bytes::Bytes) -> Form {
    let json = Part::text(DEPLOY_OPTIONS)
        .mime_str("application/json")
        .unwrap_or_else(|_| Part::text(DEPLOY_OPTIONS));
    let file = Part::bytes(zip.to_vec())
        .file_name("deploy.zip")
        .mime_str("application/zip")
        .unwrap_or_else(|_| Part::bytes(zip.to_vec()).file_name("deploy.zip"));
    Form::new().part("json", json).part("file", file)
}

/// Growing waits between polls: ×1.5, capped.
fn next_wait(wait: Duration, cap: Duration) -> Duration {
    wait.mul_f64(1.5).min(cap)
}

fn finish(id: String, result: DeployResult) -> Result<DeployOutcome, SalesforceError> {
    if result.status == "Succeeded" {
        tracing::info!(deploy_id = %id, "deploy succeeded");
        return Ok(DeployOutcome {
            id,
            status: result.status,
            components: result.details.unwrap_or_default().component_successes,
        });
    }
    let mut failures: Vec<ComponentFailure> = result
        .details
        .unwrap_or_default()
        .component_failures
        .into_iter()
        .map(|f| ComponentFailure {
            component_type: f.component_type.unwrap_or_default(),
            full_name: f.full_name,
            problem: f.problem,
        })
        .collect();
    if failures.is_empty() {
        failures.push(ComponentFailure {
            component_type: String::new(),
            full_name: id.clone(),
            problem: result
                .error_message
                .unwrap_or_else(|| format!("the deploy ended with status {}", result.status)),
        });
    }
    tracing::warn!(deploy_id = %id, status = %result.status, failures = failures.len(), "deploy failed");
    Err(SalesforceError::DeployFailed { failures })
}

/// What a deploy answer body comes to: the outcome if it is done, `None` while in progress.
/// The parsing half of [`Org::deploy`], for the property tests.
#[cfg(test)]
pub(super) fn read_deploy_answer(body: &[u8]) -> Result<Option<DeployOutcome>, SalesforceError> {
    let answer: DeployAnswer =
        serde_json::from_slice(body).map_err(|e| super::error_body::bad_body(200, body, &e))?;
    match answer.deploy_result {
        Some(result) if result.done => finish(answer.id, result).map(Some),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_waits_grow_up_to_the_cap() {
        let cap = Duration::from_secs(5);
        let mut wait = Duration::from_millis(250);
        let mut seen = vec![];
        for _ in 0..12 {
            seen.push(wait);
            wait = next_wait(wait, cap);
        }
        assert!(seen.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(*seen.last().unwrap(), cap);
    }

    #[test]
    fn a_failed_result_lists_each_component_failure() {
        let result: DeployResult = serde_json::from_str(
            r#"{"done":true,"status":"Failed","details":{"componentFailures":[
                {"componentType":"ExtlClntAppOauthConfigurablePolicies","fullName":"A_oauthPlcy",
                 "problem":"Enter a valid execution user for the OAuth client credentials flow.","problemType":"Error"}]}}"#,
        )
        .unwrap();
        match finish("0Af1".into(), result) {
            Err(SalesforceError::DeployFailed { failures }) => {
                assert_eq!(failures.len(), 1);
                assert_eq!(failures[0].full_name, "A_oauthPlcy");
                assert!(failures[0].problem.contains("execution user"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn string_booleans_and_a_single_failure_object_are_accepted() {
        let result: DeployResult = serde_json::from_str(
            r#"{"done":"true","status":"Failed","details":{"componentFailures":
                {"componentType":"ExternalClientApplication","fullName":"A","problem":"bad"}}}"#,
        )
        .unwrap();
        assert!(result.done);
        assert_eq!(result.details.unwrap().component_failures.len(), 1);
    }

    #[test]
    fn a_failure_without_details_still_says_why() {
        let result: DeployResult = serde_json::from_str(
            r#"{"done":true,"status":"Failed","errorMessage":"No package.xml found"}"#,
        )
        .unwrap();
        let e = finish("0Af1".into(), result).unwrap_err();
        assert!(e.to_string().contains("No package.xml found"), "{e}");
    }

    #[test]
    fn a_successful_result_names_the_id_of_each_deployed_component() {
        let result: DeployResult = serde_json::from_str(
            r#"{"done":true,"status":"Succeeded","details":{"componentSuccesses":[
                {"componentType":"ExternalClientApplication","fullName":"App_1","id":"0xIabc"},
                {"componentType":"ExtlClntAppOauthSettings","fullName":"App_1_oauth","id":""},
                {"componentType":"","fullName":"package.xml"}]}}"#,
        )
        .unwrap();
        let outcome = finish("0Af1".into(), result).unwrap();
        assert_eq!(
            outcome.id_of("ExternalClientApplication", "App_1"),
            Some("0xIabc")
        );
        assert_eq!(
            outcome.id_of("ExtlClntAppOauthSettings", "App_1_oauth"),
            None
        );
        assert_eq!(outcome.id_of("ExternalClientApplication", "Other"), None);
    }
}
