//! Issue 20 item 6: the proof before `ready` reads every required field by name with the app's
//! client-credentials token: one SOQL per object, `SELECT Id, <its fields> FROM <object>
//! LIMIT 1`. Salesforce checks field-level security when it parses the query, so a field the
//! run-as user cannot read fails the proof with `INVALID_FIELD` ("No such column …"), that is
//! `unknown_field` naming the field, even when the object holds no record at all.

use super::model::{ComponentSet, objects_of};
use super::names::soql_literal;

/// The reads that prove a set: one per object of its fields, each naming all of that object's
/// fields; with no field, the run-as user's own record.
pub fn probe_queries(set: &ComponentSet) -> Vec<String> {
    let objects = objects_of(&set.fields);
    if objects.is_empty() {
        let user = set.user.as_ref().map(|u| u.id.as_str()).unwrap_or_default();
        return vec![format!(
            "SELECT Id FROM User WHERE Id = {}",
            soql_literal(user)
        )];
    }
    objects
        .iter()
        .map(|object| {
            let fields: Vec<&str> = set
                .fields
                .iter()
                .filter(|f| f.object().eq_ignore_ascii_case(object))
                .filter_map(|f| f.as_str().split_once('.').map(|(_, name)| name))
                .filter(|name| !name.eq_ignore_ascii_case("Id"))
                .collect();
            let mut columns = vec!["Id"];
            columns.extend(fields);
            format!("SELECT {} FROM {object} LIMIT 1", columns.join(", "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::reconcile::model::{FieldName, Role};

    #[test]
    fn the_proof_names_every_required_field_in_one_query_per_object() {
        let fields: BTreeSet<FieldName> = ["Account.Industry", "Contact.Email", "account.Name"]
            .iter()
            .filter_map(|f| FieldName::parse(f))
            .collect();
        let set = ComponentSet::new(1, Role::Active, fields);
        let queries = probe_queries(&set);
        assert_eq!(
            queries,
            vec![
                "SELECT Id, Industry, Name FROM Account LIMIT 1".to_owned(),
                "SELECT Id, Email FROM Contact LIMIT 1".to_owned(),
            ]
        );
    }
}
