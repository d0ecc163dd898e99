//! Composite (REST API Developer Guide, "Composite"): up to 25 subrequests in one API call,
//! `@{ref.field}` references, `allOrNone`, and `collateSubrequests`.
//!
//! Order: "When subrequests are collated, the processing speed is faster, but the order of
//! execution is not guaranteed (unless there is an explicit dependency between the
//! subrequests). If collation is disabled, then the subrequests are executed in the order in
//! which they are received"; from API 49.0 the default is true (Composite Request Body). So a
//! call whose subrequests depend on each other without an `@{ref}` (a permission set deleted
//! after its assignments, an assignment after the user's licence) goes through
//! [`Org::composite_in_order`], which sends `collateSubrequests: false`.
//!
//! `PROCESSING_HALTED` answers two different things: the bystanders of an all-or-none failure
//! ("The transaction was rolled back since another operation in the same transaction
//! failed."), and a subrequest whose `@{ref}` found nothing ("Invalid reference specified. No
//! value for … found", e.g. a lookup query that returned no rows). Only the first is skipped
//! when looking for the failure; the second is [`SalesforceError::InvalidReference`], naming the
//! reference.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    Org,
    error::SalesforceError,
    error_body::ApiError,
    rest::{COMPOSITE_MAX, with_record_context},
};

/// The message of a subrequest halted only because another one failed.
const ROLLED_BACK: &str = "The transaction was rolled back since another operation";
/// The message of a subrequest whose `@{ref}` found no value.
const INVALID_REFERENCE: &str = "Invalid reference specified.";

/// One subrequest of a Composite call. `url` is relative to `/services/data/vXX.X/`, e.g.
/// `sobjects/PermissionSet` or `sobjects/User/@{newUser.id}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Subrequest {
    pub method: Method,
    pub url: String,
    pub reference_id: String,
    pub body: Option<Value>,
}

impl Subrequest {
    pub fn new(method: Method, url: impl Into<String>, reference_id: impl Into<String>) -> Self {
        Self {
            method,
            url: url.into(),
            reference_id: reference_id.into(),
            body: None,
        }
    }

    pub fn with_body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
}

/// One answer of a Composite call.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubResponse {
    pub reference_id: String,
    pub http_status_code: u16,
    #[serde(default)]
    pub body: Value,
}

impl SubResponse {
    /// The failure this answer reports, if it is one.
    pub fn error(&self) -> Option<SalesforceError> {
        if (200..300).contains(&self.http_status_code) {
            return None;
        }
        let bytes = serde_json::to_vec(&self.body).unwrap_or_default();
        Some(super::error_body::from_response(
            self.http_status_code,
            &bytes,
        ))
    }

    /// The `id` a create answered, if any.
    pub fn id(&self) -> Option<&str> {
        self.body.get("id").and_then(Value::as_str)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CompositeBody<'a> {
    all_or_none: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    collate_subrequests: Option<bool>,
    composite_request: Vec<SubrequestWire<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SubrequestWire<'a> {
    method: &'a str,
    url: String,
    reference_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompositeAnswer {
    composite_response: Vec<SubResponse>,
}

impl Org {
    /// One Composite call (at most 25 subrequests) of subrequests that may run in any order
    /// (Salesforce collates them by default). With `all_or_none`, a failure is returned as the
    /// error of the first subrequest that really failed (not the rolled-back ones).
    pub async fn composite(
        &self,
        all_or_none: bool,
        subrequests: Vec<Subrequest>,
    ) -> Result<Vec<SubResponse>, SalesforceError> {
        self.composite_call(all_or_none, None, subrequests).await
    }

    /// One Composite call whose subrequests must run in the order given:
    /// `collateSubrequests: false`.
    pub async fn composite_in_order(
        &self,
        all_or_none: bool,
        subrequests: Vec<Subrequest>,
    ) -> Result<Vec<SubResponse>, SalesforceError> {
        self.composite_call(all_or_none, Some(false), subrequests)
            .await
    }

    async fn composite_call(
        &self,
        all_or_none: bool,
        collate: Option<bool>,
        subrequests: Vec<Subrequest>,
    ) -> Result<Vec<SubResponse>, SalesforceError> {
        if subrequests.len() > COMPOSITE_MAX {
            return Err(SalesforceError::Rejected {
                status: 0,
                code: "INVALID_ARGUMENT".into(),
                message: format!(
                    "{} subrequests; a composite call takes at most {COMPOSITE_MAX}",
                    subrequests.len()
                ),
                fields: Vec::new(),
            });
        }
        let body = CompositeBody {
            all_or_none,
            collate_subrequests: collate,
            composite_request: subrequests
                .iter()
                .map(|s| SubrequestWire {
                    method: s.method.as_str(),
                    url: self.data_path(&s.url),
                    reference_id: &s.reference_id,
                    body: s.body.as_ref(),
                })
                .collect(),
        };
        let answer: CompositeAnswer = self
            .call_json(Method::POST, &self.data_path("composite"), &[], |r| {
                r.json(&body)
            })
            .await?;
        if all_or_none {
            first_failure(&answer.composite_response)?;
        }
        Ok(answer.composite_response)
    }
}

/// The first error of a subresponse's body, if its body is a Salesforce error list.
fn first_error(response: &SubResponse) -> Option<ApiError> {
    serde_json::from_value::<Vec<ApiError>>(response.body.clone())
        .ok()
        .and_then(|errors| errors.into_iter().next())
}

/// Whether a subresponse failed only because another subrequest did.
fn is_bystander(response: &SubResponse) -> bool {
    first_error(response)
        .is_some_and(|e| e.error_code == "PROCESSING_HALTED" && e.message.starts_with(ROLLED_BACK))
}

/// The error of an all-or-none call: the first subresponse that really failed (an invalid
/// reference included), or, when every subresponse says it was rolled back, that. (A failed
/// record inside a collection answers 200: its caller reads the SaveResults.)
fn first_failure(responses: &[SubResponse]) -> Result<(), SalesforceError> {
    let mut halted = 0;
    for response in responses {
        let Some(error) = response.error() else {
            continue;
        };
        if is_bystander(response) {
            halted += 1;
            continue;
        }
        let reference = &response.reference_id;
        let error = match first_error(response) {
            Some(e)
                if e.error_code == "PROCESSING_HALTED" && e.message.contains(INVALID_REFERENCE) =>
            {
                SalesforceError::InvalidReference {
                    reference: referenced_name(&e.message).unwrap_or_default(),
                    message: format!("subrequest {reference}: {}", e.message),
                }
            }
            _ => with_record_context(error, &format!("subrequest {reference}")),
        };
        return Err(error);
    }
    if halted > 0 && halted == responses.len() {
        return Err(SalesforceError::Rejected {
            status: 400,
            code: "PROCESSING_HALTED".into(),
            message: format!(
                "all {halted} subrequests say they were rolled back because another failed, and none says why"
            ),
            fields: Vec::new(),
        });
    }
    Ok(())
}

/// `profile` of "Invalid reference specified. No value for profile.records[0].Id found in
/// profile": the referenceId whose answer had no such value.
fn referenced_name(message: &str) -> Option<String> {
    let (_, after) = message.split_once("No value for ")?;
    let name: String = after
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(reference: &str, status: u16, body: Value) -> SubResponse {
        SubResponse {
            reference_id: reference.into(),
            http_status_code: status,
            body,
        }
    }

    fn halted(message: &str) -> Value {
        json!([{"errorCode": "PROCESSING_HALTED", "message": message}])
    }

    #[test]
    fn an_invalid_reference_is_the_failure_and_names_the_empty_lookup() {
        let responses = [
            answer(
                "profile",
                400,
                halted(
                    "The transaction was rolled back since another operation in the same transaction failed.",
                ),
            ),
            answer(
                "user",
                400,
                halted(
                    "Invalid reference specified. No value for profile.records[0].Id found in profile",
                ),
            ),
        ];
        match first_failure(&responses) {
            Err(SalesforceError::InvalidReference { reference, message }) => {
                assert_eq!(reference, "profile");
                assert!(message.contains("subrequest user"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_call_whose_every_subresponse_says_rolled_back_is_still_an_error() {
        let rolled_back = "The transaction was rolled back since another operation in the same transaction failed.";
        let responses = [
            answer("a", 400, halted(rolled_back)),
            answer("b", 400, halted(rolled_back)),
        ];
        assert!(matches!(
            first_failure(&responses),
            Err(SalesforceError::Rejected { ref code, .. }) if code == "PROCESSING_HALTED"
        ));
    }

    #[test]
    fn the_rolled_back_bystanders_are_skipped_for_the_real_failure() {
        let responses = [
            answer(
                "a",
                400,
                halted(
                    "The transaction was rolled back since another operation in the same transaction failed.",
                ),
            ),
            answer(
                "b",
                400,
                json!([{"errorCode": "DUPLICATE_VALUE", "message": "dup"}]),
            ),
        ];
        assert!(matches!(
            first_failure(&responses),
            Err(SalesforceError::Duplicate { .. })
        ));
    }
}
