//! Evaluates a parsed query against an org's records, as a given user sees them.

use serde_json::{Map, Value, json};

use super::SoqlError;
use super::filter::{self, OrderKey};
use super::parser::{FieldRef, Query};
use crate::access::Actor;
use crate::errors::SfError;
use crate::org::{Data, Record};
use crate::schema::{FieldDef, FieldType, ObjectDef, schema};

const INVALID_TYPE_HINT: &str = "If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.";
const INVALID_RELATIONSHIP_HINT: &str = "If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.";
const INVALID_FIELD_HINT: &str = "If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.";

/// A field path resolved against the schema: relationship hops, then the field.
pub(super) struct Resolved {
    hops: Vec<(&'static FieldDef, &'static ObjectDef)>,
    pub(super) field: &'static FieldDef,
}

/// Who reads, what, from which object.
pub(super) struct Ctx<'a> {
    pub(super) data: &'a Data,
    pub(super) actor: &'a Actor,
    pub(super) root: &'static ObjectDef,
}

impl Ctx<'_> {
    pub(super) fn resolve(&self, field: &FieldRef) -> Result<Resolved, SoqlError> {
        let mut object = self.root;
        let mut hops = Vec::new();
        let (last, rels) = field
            .path
            .split_last()
            .ok_or_else(|| SoqlError::malformed(field.col, "empty field"))?;
        for rel in rels {
            let reference = object.relationship(rel).ok_or_else(|| SoqlError {
                code: "INVALID_FIELD",
                col: field.col,
                reason: format!("Didn't understand relationship '{rel}' in field path. {INVALID_RELATIONSHIP_HINT}"),
            })?;
            let FieldType::Reference(target) = reference.kind else {
                return Err(SoqlError::malformed(field.col, "not a relationship"));
            };
            let target = schema()
                .object(target)
                .ok_or_else(|| SoqlError::malformed(field.col, "unknown relationship target"))?;
            if !self.actor.can_read_field(self.data, object, reference)
                || !self.actor.can_read_object(self.data, target)
            {
                return Err(no_such_column(field.col, rel, object));
            }
            hops.push((reference, target));
            object = target;
        }
        let def = object
            .field(last)
            .filter(|f| self.actor.can_read_field(self.data, object, f))
            .ok_or_else(|| no_such_column(field.col, last, object))?;
        Ok(Resolved { hops, field: def })
    }

    pub(super) fn value(&self, record: &Record, resolved: &Resolved) -> Value {
        let mut current = record.clone();
        for (reference, target) in &resolved.hops {
            let Some(id) = current.get(reference.name).and_then(Value::as_str) else {
                return Value::Null;
            };
            match self.data.find(target.name, id) {
                Some(next) => current = next.clone(),
                None => return Value::Null,
            }
        }
        current
            .get(resolved.field.name)
            .cloned()
            .unwrap_or(Value::Null)
    }
}

fn no_such_column(col: usize, name: &str, object: &ObjectDef) -> SoqlError {
    SoqlError {
        code: "INVALID_FIELD",
        col,
        reason: format!(
            "No such column '{name}' on entity '{}'. {INVALID_FIELD_HINT}",
            object.name
        ),
    }
}

fn attributes(object: &ObjectDef, id: Option<&str>, version: &str) -> Value {
    match id {
        Some(id) => {
            json!({"type": object.name, "url": format!("/services/data/v{version}/sobjects/{}/{id}", object.name)})
        }
        None => json!({"type": object.name}),
    }
}

fn put(map: &mut Map<String, Value>, hops: &[(String, Option<Value>)], field: &str, value: Value) {
    match hops.split_first() {
        None => {
            map.insert(field.to_string(), value);
        }
        Some(((rel, None), _)) => {
            map.entry(rel.clone()).or_insert(Value::Null);
        }
        Some(((rel, Some(attrs)), rest)) => {
            let entry = map
                .entry(rel.clone())
                .or_insert_with(|| json!({ "attributes": attrs }));
            if let Value::Object(inner) = entry {
                put(inner, rest, field, value);
            }
        }
    }
}

/// A query checked against the schema, ready to run: its object, resolved fields, ORDER BY
/// keys and child subqueries.
struct Plan<'a> {
    ctx: Ctx<'a>,
    query: &'a Query,
    fields: Vec<Resolved>,
    order: Vec<OrderKey>,
    children: Vec<Child<'a>>,
}

/// A parent-to-child subquery: the relationship's name, the child's lookup field, its plan.
struct Child<'a> {
    name: &'static str,
    field: &'static str,
    plan: Plan<'a>,
}

fn unknown_relationship(query: &Query) -> SoqlError {
    SoqlError {
        code: "INVALID_TYPE",
        col: query.from_col,
        reason: format!(
            "Didn't understand relationship '{}' in FROM part of query call. {INVALID_RELATIONSHIP_HINT}",
            query.from
        ),
    }
}

fn plan<'a>(
    data: &'a Data,
    actor: &'a Actor,
    root: &'static ObjectDef,
    query: &'a Query,
) -> Result<Plan<'a>, SoqlError> {
    let ctx = Ctx { data, actor, root };
    let fields = query
        .fields
        .iter()
        .map(|f| ctx.resolve(f))
        .collect::<Result<_, _>>()?;
    let mut order = Vec::new();
    for o in &query.order_by {
        order.push((ctx.resolve(&o.field)?, o.descending, o.nulls_last));
    }
    if let Some(expr) = &query.filter {
        filter::check(&ctx, expr)?;
    }
    let mut children = Vec::new();
    for sub in &query.subqueries {
        let (relationship, object) = root
            .child(&sub.from)
            .and_then(|c| schema().object(c.object).map(|o| (c, o)))
            .filter(|(_, o)| actor.can_read_object(data, o))
            .ok_or_else(|| unknown_relationship(sub))?;
        if sub.count {
            return Err(SoqlError::malformed(
                sub.from_col,
                "COUNT() is not supported in a subquery",
            ));
        }
        children.push(Child {
            name: relationship.name,
            field: relationship.field,
            plan: plan(data, actor, object, sub)?,
        });
    }
    Ok(Plan {
        ctx,
        query,
        fields,
        order,
        children,
    })
}

/// The rows `plan` selects (only the children of `parent` for a subquery), sorted and limited.
fn rows<'a>(plan: &Plan<'a>, parent: Option<(&str, &str)>) -> Result<Vec<&'a Record>, SoqlError> {
    let mut rows: Vec<&'a Record> = Vec::new();
    for record in plan.ctx.data.table(plan.ctx.root.name) {
        if let Some((field, id)) = parent
            && record.get(field).and_then(Value::as_str) != Some(id)
        {
            continue;
        }
        let keep = match &plan.query.filter {
            Some(expr) => filter::eval(&plan.ctx, expr, record)?,
            None => true,
        };
        if keep {
            rows.push(record);
        }
    }
    filter::sort(&plan.ctx, &mut rows, &plan.order);
    Ok(rows
        .into_iter()
        .skip(plan.query.offset.unwrap_or(0))
        .take(plan.query.limit.unwrap_or(usize::MAX))
        .collect())
}

/// Builds one output row, nesting relationship fields as Salesforce does, and each child
/// relationship as `null` (no children) or a query result of its own.
fn project(plan: &Plan, record: &Record, version: &str) -> Result<Value, SoqlError> {
    let ctx = &plan.ctx;
    let id = record.get("Id").and_then(Value::as_str);
    let mut row = Map::new();
    row.insert("attributes".into(), attributes(ctx.root, id, version));
    for resolved in &plan.fields {
        let value = ctx.value(record, resolved);
        let mut hops: Vec<(String, Option<Value>)> = Vec::new();
        let mut current = Some(record.clone());
        for (reference, target) in &resolved.hops {
            let rel = reference.relationship.unwrap_or(reference.name).to_string();
            let next = current
                .as_ref()
                .and_then(|c| c.get(reference.name))
                .and_then(Value::as_str)
                .and_then(|id| ctx.data.find(target.name, id))
                .cloned();
            let attrs = next
                .as_ref()
                .map(|n| attributes(target, n.get("Id").and_then(Value::as_str), version));
            let stop = attrs.is_none();
            hops.push((rel, attrs));
            current = next;
            if stop {
                break;
            }
        }
        put(&mut row, &hops, resolved.field.name, value);
    }
    for child in &plan.children {
        let found = match id {
            Some(id) => rows(&child.plan, Some((child.field, id)))?,
            None => Vec::new(),
        };
        let value = if found.is_empty() {
            Value::Null
        } else {
            let records = found
                .iter()
                .map(|r| project(&child.plan, r, version))
                .collect::<Result<Vec<_>, _>>()?;
            json!({"totalSize": records.len(), "done": true, "records": records})
        };
        row.insert(child.name.to_string(), value);
    }
    Ok(Value::Object(row))
}

/// Runs `query` (already parsed from `text`) for `actor`; answers the matching rows and the
/// total before LIMIT/OFFSET paging by the caller.
pub fn execute(
    data: &Data,
    actor: &Actor,
    query: &Query,
    text: &str,
    version: &str,
) -> Result<(Vec<Value>, usize), SfError> {
    let render = |e: SoqlError| e.render(text);
    let root = schema()
        .object(&query.from)
        .filter(|o| actor.can_read_object(data, o))
        .ok_or_else(|| {
            render(SoqlError {
                code: "INVALID_TYPE",
                col: query.from_col,
                reason: format!(
                    "sObject type '{}' is not supported. {INVALID_TYPE_HINT}",
                    query.from
                ),
            })
        })?;
    let plan = plan(data, actor, root, query).map_err(render)?;
    let selected = rows(&plan, None).map_err(render)?;
    let total = selected.len();
    if query.count {
        return Ok((Vec::new(), total));
    }
    let out = selected
        .iter()
        .map(|r| project(&plan, r, version))
        .collect::<Result<Vec<_>, _>>()
        .map_err(render)?;
    Ok((out, total))
}
