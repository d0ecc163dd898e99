//! Which required fields take a field permission, from the objects' describe.

use reqwest::Method;
use serde_json::Value;

use crate::reconcile::model::FieldName;
use crate::salesforce::{Org, SalesforceError, Subrequest};

use super::MAX_SUBREQUESTS;

/// Splits `fields` into those that take a field permission and those readable through object
/// access alone, from the objects' describe (25 objects per Composite call). A field or object
/// the org does not have is `UnknownField`.
pub(super) async fn classify(
    org: &Org,
    fields: &[FieldName],
) -> Result<(Vec<FieldName>, Vec<FieldName>), SalesforceError> {
    let mut objects: Vec<&str> = fields.iter().map(|f| f.object()).collect();
    objects.sort_by_key(|o| o.to_ascii_lowercase());
    objects.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    // object (lower case) → its fields (lower case) → permissionable
    let mut described: std::collections::HashMap<String, std::collections::HashMap<String, bool>> =
        std::collections::HashMap::new();
    for chunk in objects.chunks(MAX_SUBREQUESTS) {
        let requests = chunk
            .iter()
            .map(|o| {
                Subrequest::new(
                    Method::GET,
                    format!("sobjects/{o}/describe"),
                    format!("d_{o}"),
                )
            })
            .collect();
        for (object, answer) in chunk.iter().zip(org.composite(false, requests).await?) {
            let fields = match answer.error() {
                Some(SalesforceError::NotFound { .. }) => None,
                Some(error) => return Err(error),
                None => answer
                    .body
                    .get("fields")
                    .and_then(Value::as_array)
                    .map(|list| {
                        list.iter()
                            .filter_map(|f| {
                                let name = f.get("name")?.as_str()?.to_ascii_lowercase();
                                let permissionable = f
                                    .get("permissionable")
                                    .and_then(Value::as_bool)
                                    .unwrap_or(true);
                                Some((name, permissionable))
                            })
                            .collect()
                    }),
            };
            if let Some(fields) = fields {
                described.insert(object.to_ascii_lowercase(), fields);
            }
        }
    }
    let (mut grant, mut implicit) = (Vec::new(), Vec::new());
    for field in fields {
        let Some(object) = described.get(&field.object().to_ascii_lowercase()) else {
            return Err(SalesforceError::UnknownField {
                field: field.as_str().to_owned(),
                message: format!("the org has no object {}", field.object()),
            });
        };
        let name = field
            .as_str()
            .split_once('.')
            .map_or("", |(_, f)| f)
            .to_ascii_lowercase();
        match object.get(&name) {
            Some(true) => grant.push(field.clone()),
            Some(false) => implicit.push(field.clone()),
            None => {
                return Err(SalesforceError::UnknownField {
                    field: field.as_str().to_owned(),
                    message: format!(
                        "the org has no field {} that the admin can see",
                        field.as_str()
                    ),
                });
            }
        }
    }
    Ok((grant, implicit))
}
