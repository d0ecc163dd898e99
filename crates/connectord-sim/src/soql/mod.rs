//! A small real SOQL implementation: lexer, parser and evaluator over an org's records.
//!
//! Errors carry Salesforce's shape: the query, a caret under the offending column,
//! `ERROR at Row:1:Column:N` and the reason (`MALFORMED_QUERY`, `INVALID_FIELD`,
//! `INVALID_TYPE`, `INVALID_QUERY_FILTER_OPERATOR`).

mod eval;
mod filter;
mod lexer;
mod parser;

pub use eval::execute;
pub use parser::Query;

use super::errors::SfError;

/// A query error before it is rendered against the query text.
#[derive(Debug, Clone, PartialEq)]
pub struct SoqlError {
    pub code: &'static str,
    pub col: usize,
    pub reason: String,
}

impl SoqlError {
    pub fn malformed(col: usize, reason: &str) -> Self {
        SoqlError {
            code: "MALFORMED_QUERY",
            col,
            reason: reason.to_string(),
        }
    }

    /// The REST error: the query line, a caret, the position and the reason.
    pub fn render(&self, query: &str) -> SfError {
        let caret = format!("{}^", " ".repeat(self.col.saturating_sub(1)));
        SfError::bad_request(
            self.code,
            format!(
                "\n{query}\n{caret}\nERROR at Row:1:Column:{}\n{}",
                self.col, self.reason
            ),
        )
    }
}

/// Parses a query.
pub fn parse(query: &str) -> Result<Query, SfError> {
    let toks = lexer::lex(query).map_err(|e| e.render(query))?;
    parser::parse(toks).map_err(|e| e.render(query))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_with_in_and_parentheses_parses() {
        let q = parse(
            "select Id, Profile.Name from User where (IsActive = true or Alias != 'x') and Username IN ('a@b.c', 'd@e.f') order by Username desc limit 5",
        );
        let Ok(q) = q else { panic!("parses: {q:?}") };
        assert_eq!(q.from, "User");
        assert_eq!(q.fields.len(), 2);
        assert_eq!(
            q.fields[1].path,
            vec!["Profile".to_string(), "Name".to_string()]
        );
        assert_eq!(q.limit, Some(5));
        assert!(q.order_by[0].descending);
    }

    #[test]
    fn a_missing_from_is_a_malformed_query_pointing_at_the_column() {
        let Err(e) = parse("SELECT Id Account") else {
            panic!("must fail")
        };
        assert_eq!(e.code, "MALFORMED_QUERY");
        assert!(
            e.message.contains("ERROR at Row:1:Column:11"),
            "{}",
            e.message
        );
        assert!(
            e.message.contains("unexpected token: 'Account'"),
            "{}",
            e.message
        );
    }
}
