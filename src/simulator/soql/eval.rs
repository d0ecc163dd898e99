//! Evaluates a parsed query against an org's records, as a given user sees them.

use std::cmp::Ordering;

use serde_json::{Map, Value, json};

use super::SoqlError;
use super::parser::{Expr, FieldRef, Literal, Query};
use crate::simulator::access::Actor;
use crate::simulator::errors::SfError;
use crate::simulator::ids;
use crate::simulator::org::{Data, Record};
use crate::simulator::schema::{FieldDef, FieldType, ObjectDef, schema};

const INVALID_TYPE_HINT: &str = "If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.";
const INVALID_FIELD_HINT: &str = "If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.";

/// A field path resolved against the schema: relationship hops, then the field.
struct Resolved {
    hops: Vec<(&'static FieldDef, &'static ObjectDef)>,
    field: &'static FieldDef,
}

struct Ctx<'a> {
    data: &'a Data,
    actor: &'a Actor,
    root: &'static ObjectDef,
}

impl Ctx<'_> {
    fn resolve(&self, field: &FieldRef) -> Result<Resolved, SoqlError> {
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
                reason: format!("Didn't understand relationship '{rel}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."),
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

    fn value(&self, record: &Record, resolved: &Resolved) -> Value {
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

fn like(value: &str, pattern: &str) -> bool {
    fn go(v: &[char], p: &[char]) -> bool {
        match p.split_first() {
            None => v.is_empty(),
            Some(('%', rest)) => (0..=v.len()).any(|i| go(&v[i..], rest)),
            Some(('_', rest)) => !v.is_empty() && go(&v[1..], rest),
            Some((c, rest)) => {
                v.first().is_some_and(|x| x.eq_ignore_ascii_case(c)) && go(&v[1..], rest)
            }
        }
    }
    let v: Vec<char> = value.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    go(&v, &p)
}

fn compare(value: &Value, literal: &Literal, field: &FieldDef) -> Option<Ordering> {
    match (value, literal) {
        (Value::Null, Literal::Null) => Some(Ordering::Equal),
        (Value::Null, _) | (_, Literal::Null) => None,
        (Value::Bool(a), Literal::Bool(b)) => Some(a.cmp(b)),
        (Value::Number(a), Literal::Num(b)) => a.as_f64().and_then(|a| a.partial_cmp(b)),
        (Value::String(a), Literal::Str(b)) => {
            if matches!(field.kind, FieldType::Id | FieldType::Reference(_)) {
                Some(a.cmp(&ids::to_18(b)))
            } else {
                Some(a.to_lowercase().cmp(&b.to_lowercase()))
            }
        }
        _ => None,
    }
}

fn check_literal(field: &FieldDef, literal: &Literal, col: usize) -> Result<(), SoqlError> {
    let bad = |reason: String| SoqlError {
        code: "INVALID_QUERY_FILTER_OPERATOR",
        col,
        reason,
    };
    match (field.kind, literal) {
        (_, Literal::Null) => Ok(()),
        (FieldType::Boolean, Literal::Bool(_)) => Ok(()),
        (FieldType::Boolean, _) => Err(bad(format!(
            "value of filter criterion for field '{}' must be of type boolean and should not be enclosed in quotes",
            field.name
        ))),
        (FieldType::Id | FieldType::Reference(_), Literal::Str(s)) if !ids::looks_like_id(s) => {
            Err(bad(format!("invalid ID field: {s}")))
        }
        _ => Ok(()),
    }
}

fn eval(ctx: &Ctx, expr: &Expr, record: &Record) -> Result<bool, SoqlError> {
    Ok(match expr {
        Expr::And(a, b) => eval(ctx, a, record)? && eval(ctx, b, record)?,
        Expr::Or(a, b) => eval(ctx, a, record)? || eval(ctx, b, record)?,
        Expr::Not(a) => !eval(ctx, a, record)?,
        Expr::Cmp(field, op, literal, col) => {
            let resolved = ctx.resolve(field)?;
            check_literal(resolved.field, literal, *col)?;
            let value = ctx.value(record, &resolved);
            let ord = compare(&value, literal, resolved.field);
            match *op {
                "=" => ord == Some(Ordering::Equal),
                "!=" => ord != Some(Ordering::Equal),
                "<" => ord == Some(Ordering::Less),
                ">" => ord == Some(Ordering::Greater),
                "<=" => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
                ">=" => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
                _ => false,
            }
        }
        Expr::In(field, negated, literals, col) => {
            let resolved = ctx.resolve(field)?;
            for literal in literals {
                check_literal(resolved.field, literal, *col)?;
            }
            let value = ctx.value(record, &resolved);
            let found = literals
                .iter()
                .any(|l| compare(&value, l, resolved.field) == Some(Ordering::Equal));
            found != *negated
        }
        Expr::Like(field, pattern) => {
            let resolved = ctx.resolve(field)?;
            ctx.value(record, &resolved)
                .as_str()
                .is_some_and(|v| like(v, pattern))
        }
    })
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

/// Builds one output row, nesting relationship fields as Salesforce does.
fn project(ctx: &Ctx, record: &Record, fields: &[(FieldRef, Resolved)], version: &str) -> Value {
    let mut row = Map::new();
    row.insert(
        "attributes".into(),
        attributes(ctx.root, record.get("Id").and_then(Value::as_str), version),
    );
    for (_, resolved) in fields {
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
    Value::Object(row)
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
    let ctx = Ctx { data, actor, root };
    let mut fields = Vec::new();
    for field in &query.fields {
        fields.push((field.clone(), ctx.resolve(field).map_err(render)?));
    }
    let mut order = Vec::new();
    for o in &query.order_by {
        order.push((
            ctx.resolve(&o.field).map_err(render)?,
            o.descending,
            o.nulls_last,
        ));
    }
    let mut rows: Vec<&Record> = Vec::new();
    for record in data.table(root.name) {
        let keep = match &query.filter {
            Some(expr) => eval(&ctx, expr, record).map_err(render)?,
            None => true,
        };
        if keep {
            rows.push(record);
        }
    }
    rows.sort_by(|a, b| {
        for (resolved, descending, nulls_last) in &order {
            let (va, vb) = (ctx.value(a, resolved), ctx.value(b, resolved));
            let ord = match (va.is_null(), vb.is_null()) {
                (true, true) => Ordering::Equal,
                (true, false) => {
                    if *nulls_last {
                        Ordering::Greater
                    } else {
                        Ordering::Less
                    }
                }
                (false, true) => {
                    if *nulls_last {
                        Ordering::Less
                    } else {
                        Ordering::Greater
                    }
                }
                _ => {
                    let o = match (&va, &vb) {
                        (Value::Number(x), Value::Number(y)) => x
                            .as_f64()
                            .partial_cmp(&y.as_f64())
                            .unwrap_or(Ordering::Equal),
                        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
                        _ => va
                            .as_str()
                            .unwrap_or_default()
                            .to_lowercase()
                            .cmp(&vb.as_str().unwrap_or_default().to_lowercase()),
                    };
                    if *descending { o.reverse() } else { o }
                }
            };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    });
    let offset = query.offset.unwrap_or(0);
    let limited: Vec<&Record> = rows
        .into_iter()
        .skip(offset)
        .take(query.limit.unwrap_or(usize::MAX))
        .collect();
    let total = limited.len();
    if query.count {
        return Ok((Vec::new(), total));
    }
    let out = limited
        .iter()
        .map(|r| project(&ctx, r, &fields, version))
        .collect();
    Ok((out, total))
}
