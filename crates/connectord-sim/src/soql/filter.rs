//! WHERE and ORDER BY: matching one record against a condition, checking a condition's fields
//! and literals before any record is read, and sorting rows.

use std::cmp::Ordering;

use serde_json::Value;

use super::SoqlError;
use super::eval::{Ctx, Resolved};
use super::parser::{Expr, Literal};
use crate::ids;
use crate::org::Record;
use crate::schema::{FieldDef, FieldType};

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

pub(super) fn eval(ctx: &Ctx, expr: &Expr, record: &Record) -> Result<bool, SoqlError> {
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

/// Resolves every field of `expr` and checks its literals, so a bad condition fails even when
/// no record is there to test it against.
pub(super) fn check(ctx: &Ctx, expr: &Expr) -> Result<(), SoqlError> {
    match expr {
        Expr::And(a, b) | Expr::Or(a, b) => {
            check(ctx, a)?;
            check(ctx, b)
        }
        Expr::Not(a) => check(ctx, a),
        Expr::Cmp(field, _, literal, col) => {
            check_literal(ctx.resolve(field)?.field, literal, *col)
        }
        Expr::In(field, _, literals, col) => {
            let resolved = ctx.resolve(field)?;
            literals
                .iter()
                .try_for_each(|l| check_literal(resolved.field, l, *col))
        }
        Expr::Like(field, _) => ctx.resolve(field).map(|_| ()),
    }
}

/// One ORDER BY key: the field, descending, nulls last.
pub(super) type OrderKey = (Resolved, bool, bool);

/// Sorts `rows` by the ORDER BY keys, in order.
pub(super) fn sort(ctx: &Ctx, rows: &mut [&Record], order: &[OrderKey]) {
    rows.sort_by(|a, b| {
        for (resolved, descending, nulls_last) in order {
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
}
