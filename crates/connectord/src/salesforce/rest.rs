//! REST operations: SOQL query (every page), sObject create/update/delete and sObject
//! Collections (200 records a call). Composite is in `composite.rs`.

use reqwest::Method;
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::Value;

use super::{
    Org,
    error::SalesforceError,
    error_body::{ApiError, from_api_error},
    org::decode,
};

/// Most records one sObject Collections call takes.
pub const COLLECTION_BATCH: usize = 200;
/// Most subrequests one Composite call takes.
pub const COMPOSITE_MAX: usize = 25;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct QueryPage<T> {
    done: bool,
    records: Vec<T>,
    #[serde(default)]
    next_records_url: Option<String>,
}

#[derive(Deserialize)]
struct CreateResult {
    id: String,
    #[serde(default)]
    success: Option<bool>,
    #[serde(default)]
    errors: Vec<ApiError>,
}

/// One SaveResult of sObject Collections.
#[derive(Deserialize)]
struct SaveResult {
    #[serde(default)]
    id: Option<String>,
    success: bool,
    #[serde(default)]
    errors: Vec<ApiError>,
}

/// An sObject type name or a record id: letters, digits, underscores only.
fn segment<'a>(what: &str, value: &'a str) -> Result<&'a str, SalesforceError> {
    if !value.is_empty() && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(value)
    } else {
        Err(SalesforceError::Rejected {
            status: 0,
            code: "INVALID_ARGUMENT".into(),
            message: format!("{what} {value:?} is not a Salesforce name or id"),
            fields: Vec::new(),
        })
    }
}

impl Org {
    /// Runs a SOQL query and follows `nextRecordsUrl` until every record is read.
    pub async fn query<T: DeserializeOwned>(&self, soql: &str) -> Result<Vec<T>, SalesforceError> {
        let first: QueryPage<T> = self
            .call_json(Method::GET, &self.data_path("query"), &[("q", soql)], |r| r)
            .await?;
        let mut records = first.records;
        let mut next = if first.done {
            None
        } else {
            first.next_records_url
        };
        while let Some(path) = next.take() {
            if !path.starts_with("/services/data/") {
                return Err(SalesforceError::BadResponse {
                    status: 200,
                    detail: "nextRecordsUrl is not a data API path".into(),
                });
            }
            let page: QueryPage<T> = self.call_json(Method::GET, &path, &[], |r| r).await?;
            records.extend(page.records);
            next = if page.done {
                None
            } else {
                page.next_records_url
            };
        }
        Ok(records)
    }

    /// `POST /sobjects/{Type}`; the new record's id.
    pub async fn create(&self, sobject: &str, fields: &Value) -> Result<String, SalesforceError> {
        let path = self.data_path(&format!("sobjects/{}", segment("sObject", sobject)?));
        let result: CreateResult = self
            .call_json(Method::POST, &path, &[], |r| r.json(fields))
            .await?;
        if result.success == Some(false) || !result.errors.is_empty() {
            let first = result.errors.into_iter().next().unwrap_or_default();
            return Err(from_api_error(400, first));
        }
        Ok(result.id)
    }

    /// `PATCH /sobjects/{Type}/{Id}` (answers 204).
    pub async fn update(
        &self,
        sobject: &str,
        id: &str,
        fields: &Value,
    ) -> Result<(), SalesforceError> {
        let path = self.data_path(&format!(
            "sobjects/{}/{}",
            segment("sObject", sobject)?,
            segment("id", id)?
        ));
        let answer = self
            .call(Method::PATCH, &path, &[], |r| r.json(fields))
            .await?;
        expect_no_content(&answer)
    }

    /// `DELETE /sobjects/{Type}/{Id}` (answers 204; a missing record is `NotFound`).
    pub async fn delete(&self, sobject: &str, id: &str) -> Result<(), SalesforceError> {
        let path = self.data_path(&format!(
            "sobjects/{}/{}",
            segment("sObject", sobject)?,
            segment("id", id)?
        ));
        let answer = self.call(Method::DELETE, &path, &[], |r| r).await?;
        expect_no_content(&answer)
    }

    /// Creates records (each with `attributes.type`) with sObject Collections, 200 a call,
    /// all or none per call. A failed record is reported with its index in `records`.
    pub async fn create_many(&self, records: Vec<Value>) -> Result<Vec<String>, SalesforceError> {
        let path = self.data_path("composite/sobjects");
        let mut ids = Vec::with_capacity(records.len());
        for (batch_no, batch) in records.chunks(COLLECTION_BATCH).enumerate() {
            let body = serde_json::json!({ "allOrNone": true, "records": batch });
            let results: Vec<SaveResult> = self
                .call_json(Method::POST, &path, &[], |r| r.json(&body))
                .await?;
            if results.len() != batch.len() {
                return Err(SalesforceError::BadResponse {
                    status: 200,
                    detail: format!("{} results for {} records", results.len(), batch.len()),
                });
            }
            let offset = batch_no * COLLECTION_BATCH;
            if let Some(e) = first_record_failure(&results, batch, offset) {
                return Err(e);
            }
            for (i, result) in results.into_iter().enumerate() {
                let id = result.id.ok_or_else(|| SalesforceError::BadResponse {
                    status: 200,
                    detail: format!("record {} was saved without an id", offset + i),
                })?;
                ids.push(id);
            }
        }
        Ok(ids)
    }

    /// Deletes records with sObject Collections, 200 a call. A record that is already gone
    /// counts as deleted; any other failure is an error naming the id.
    pub async fn delete_many(&self, ids: &[String]) -> Result<(), SalesforceError> {
        let path = self.data_path("composite/sobjects");
        for batch in ids.chunks(COLLECTION_BATCH) {
            for id in batch {
                segment("id", id)?;
            }
            let joined = batch.join(",");
            let results: Vec<SaveResult> = self
                .call_json(
                    Method::DELETE,
                    &path,
                    &[("ids", joined.as_str()), ("allOrNone", "false")],
                    |r| r,
                )
                .await?;
            for (result, id) in results.into_iter().zip(batch) {
                if result.success {
                    continue;
                }
                let first = result.errors.into_iter().next().unwrap_or_default();
                match first.error_code.as_str() {
                    "ENTITY_IS_DELETED" | "INVALID_CROSS_REFERENCE_KEY" | "NOT_FOUND" => {}
                    _ => {
                        return Err(with_record_context(
                            from_api_error(400, first),
                            &format!("record {id}"),
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

fn expect_no_content(answer: &super::http::Answer) -> Result<(), SalesforceError> {
    if answer.status.is_success() {
        return Ok(());
    }
    decode::<Value>(answer).map(|_| ())
}

/// The first real failure of an all-or-none batch (the others say ALL_OR_NONE_OPERATION_ROLLED_BACK).
fn first_record_failure(
    results: &[SaveResult],
    batch: &[Value],
    offset: usize,
) -> Option<SalesforceError> {
    results.iter().enumerate().find_map(|(i, result)| {
        if result.success {
            return None;
        }
        let first = result.errors.first().cloned().unwrap_or_default();
        if first.error_code == "ALL_OR_NONE_OPERATION_ROLLED_BACK" {
            return None;
        }
        let record = &batch[i];
        let index = offset + i;
        let error = match from_api_error(400, first) {
            SalesforceError::UnknownField { field, message } => {
                let named = record
                    .get("Field")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or(field);
                SalesforceError::UnknownField {
                    field: named,
                    message: format!("record {index}: {message}"),
                }
            }
            other => with_record_context(other, &format!("record {index}")),
        };
        Some(error)
    })
}

/// Prefixes the message of a record-level failure with which record it was.
pub(super) fn with_record_context(error: SalesforceError, which: &str) -> SalesforceError {
    match error {
        SalesforceError::Rejected {
            status,
            code,
            message,
            fields,
        } => SalesforceError::Rejected {
            status,
            code,
            message: format!("{which}: {message}"),
            fields,
        },
        SalesforceError::Duplicate { code, message } => SalesforceError::Duplicate {
            code,
            message: format!("{which}: {message}"),
        },
        SalesforceError::NotFound { message } => SalesforceError::NotFound {
            message: format!("{which}: {message}"),
        },
        SalesforceError::UnknownField { field, message } => SalesforceError::UnknownField {
            field,
            message: format!("{which}: {message}"),
        },
        SalesforceError::LicenseUnavailable { message } => SalesforceError::LicenseUnavailable {
            message: format!("{which}: {message}"),
        },
        other => other,
    }
}
