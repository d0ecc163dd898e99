//! SOQL grammar: `SELECT fields FROM Object [WHERE cond] [ORDER BY f [ASC|DESC] [NULLS
//! FIRST|LAST], …] [LIMIT n] [OFFSET n]`, with `COUNT()`. A field of the outer query may be a
//! parent-to-child subquery in parentheses, `(SELECT … FROM ChildRelationship …)` (SOQL and
//! SOSL Reference, "Using Relationship Queries"); subqueries do not nest.

use super::SoqlError;
use super::lexer::{Tok, Token};

/// A field path (`Name`, `Profile.Name`) and where it stood.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRef {
    pub path: Vec<String>,
    pub col: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp(FieldRef, &'static str, Literal, usize),
    In(FieldRef, bool, Vec<Literal>, usize),
    Like(FieldRef, String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    pub field: FieldRef,
    pub descending: bool,
    pub nulls_last: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub count: bool,
    pub fields: Vec<FieldRef>,
    /// Parent-to-child subqueries; their `from` is a child relationship name.
    pub subqueries: Vec<Query>,
    pub from: String,
    pub from_col: usize,
    pub filter: Option<Expr>,
    pub order_by: Vec<OrderBy>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

struct P {
    toks: Vec<Token>,
    pos: usize,
}

impl P {
    fn peek(&self) -> &Token {
        let last = self.toks.len().saturating_sub(1);
        &self.toks[self.pos.min(last)]
    }
    fn unexpected(&self) -> SoqlError {
        let t = self.peek();
        SoqlError::malformed(t.col, &format!("unexpected token: '{}'", t.tok.text()))
    }
    fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }
    fn kw(&mut self, kw: &str) -> Result<(), SoqlError> {
        if self.is_kw(kw) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }
    fn expect(&mut self, tok: Tok) -> Result<(), SoqlError> {
        if self.peek().tok == tok {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }
    fn ident(&mut self) -> Result<(String, usize), SoqlError> {
        match self.peek().tok.clone() {
            Tok::Ident(s) if !is_reserved(&s) => {
                let col = self.peek().col;
                self.pos += 1;
                Ok((s, col))
            }
            _ => Err(self.unexpected()),
        }
    }
    fn field(&mut self) -> Result<FieldRef, SoqlError> {
        let (first, col) = self.ident()?;
        let mut path = vec![first];
        while self.peek().tok == Tok::Dot {
            self.pos += 1;
            path.push(self.ident()?.0);
        }
        Ok(FieldRef { path, col })
    }
    fn number(&mut self) -> Result<usize, SoqlError> {
        match self.peek().tok.clone() {
            Tok::Num(n) => {
                let value = n.parse::<usize>().map_err(|_| self.unexpected())?;
                self.pos += 1;
                Ok(value)
            }
            _ => Err(self.unexpected()),
        }
    }
    fn literal(&mut self) -> Result<Literal, SoqlError> {
        let lit = match &self.peek().tok {
            Tok::Str(s) => Literal::Str(s.clone()),
            Tok::Num(n) => Literal::Num(n.parse::<f64>().map_err(|_| self.unexpected())?),
            Tok::Ident(s) if s.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Tok::Ident(s) if s.eq_ignore_ascii_case("false") => Literal::Bool(false),
            Tok::Ident(s) if s.eq_ignore_ascii_case("null") => Literal::Null,
            _ => return Err(self.unexpected()),
        };
        self.pos += 1;
        Ok(lit)
    }
    fn or(&mut self) -> Result<Expr, SoqlError> {
        let mut left = self.and()?;
        while self.is_kw("OR") {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }
    fn and(&mut self) -> Result<Expr, SoqlError> {
        let mut left = self.unary()?;
        while self.is_kw("AND") {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }
    fn unary(&mut self) -> Result<Expr, SoqlError> {
        if self.is_kw("NOT") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek().tok == Tok::LParen {
            self.pos += 1;
            let inner = self.or()?;
            self.expect(Tok::RParen)?;
            return Ok(inner);
        }
        self.condition()
    }
    fn condition(&mut self) -> Result<Expr, SoqlError> {
        let field = self.field()?;
        let col = self.peek().col;
        if let Tok::Op(op) = self.peek().tok {
            self.pos += 1;
            let value = self.literal()?;
            return Ok(Expr::Cmp(field, op, value, col));
        }
        let negated = if self.is_kw("NOT") {
            self.pos += 1;
            true
        } else {
            false
        };
        if self.is_kw("IN") {
            self.pos += 1;
            self.expect(Tok::LParen)?;
            let mut values = vec![self.literal()?];
            while self.peek().tok == Tok::Comma {
                self.pos += 1;
                values.push(self.literal()?);
            }
            self.expect(Tok::RParen)?;
            return Ok(Expr::In(field, negated, values, col));
        }
        if !negated && self.is_kw("LIKE") {
            self.pos += 1;
            return match self.literal()? {
                Literal::Str(pattern) => Ok(Expr::Like(field, pattern)),
                _ => Err(SoqlError::malformed(col, "LIKE needs a string pattern")),
            };
        }
        Err(self.unexpected())
    }
}

const RESERVED: &[&str] = &[
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "LIMIT", "OFFSET",
    "ASC", "DESC", "NULLS", "NULL", "TRUE", "FALSE",
];

fn is_reserved(word: &str) -> bool {
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word))
}

pub fn parse(toks: Vec<Token>) -> Result<Query, SoqlError> {
    let mut p = P { toks, pos: 0 };
    let query = select(&mut p, false)?;
    if p.peek().tok != Tok::End {
        return Err(p.unexpected());
    }
    Ok(query)
}

/// One select-list item: a field, or (outside a subquery) a parenthesised subquery.
fn item(
    p: &mut P,
    nested: bool,
    fields: &mut Vec<FieldRef>,
    subqueries: &mut Vec<Query>,
) -> Result<(), SoqlError> {
    if !nested && p.peek().tok == Tok::LParen {
        p.pos += 1;
        subqueries.push(select(p, true)?);
        return p.expect(Tok::RParen);
    }
    fields.push(p.field()?);
    Ok(())
}

/// `SELECT … [OFFSET n]`, stopping before the closing parenthesis of a subquery or the end.
fn select(p: &mut P, nested: bool) -> Result<Query, SoqlError> {
    p.kw("SELECT")?;
    let mut fields = Vec::new();
    let mut subqueries = Vec::new();
    let mut count = false;
    if matches!(&p.peek().tok, Tok::Ident(s) if s.eq_ignore_ascii_case("COUNT"))
        && p.toks.get(p.pos + 1).map(|t| &t.tok) == Some(&Tok::LParen)
    {
        p.pos += 2;
        p.expect(Tok::RParen)?;
        count = true;
    } else {
        item(p, nested, &mut fields, &mut subqueries)?;
        while p.peek().tok == Tok::Comma {
            p.pos += 1;
            item(p, nested, &mut fields, &mut subqueries)?;
        }
    }
    p.kw("FROM")?;
    let (from, from_col) = p.ident()?;
    let filter = if p.is_kw("WHERE") {
        p.pos += 1;
        Some(p.or()?)
    } else {
        None
    };
    let mut order_by = Vec::new();
    if p.is_kw("ORDER") {
        p.pos += 1;
        p.kw("BY")?;
        loop {
            let field = p.field()?;
            let mut descending = false;
            if p.is_kw("ASC") {
                p.pos += 1;
            } else if p.is_kw("DESC") {
                p.pos += 1;
                descending = true;
            }
            let mut nulls_last = descending;
            if p.is_kw("NULLS") {
                p.pos += 1;
                if p.is_kw("FIRST") {
                    nulls_last = false;
                } else if p.is_kw("LAST") {
                    nulls_last = true;
                } else {
                    return Err(p.unexpected());
                }
                p.pos += 1;
            }
            order_by.push(OrderBy {
                field,
                descending,
                nulls_last,
            });
            if p.peek().tok != Tok::Comma {
                break;
            }
            p.pos += 1;
        }
    }
    let limit = if p.is_kw("LIMIT") {
        p.pos += 1;
        Some(p.number()?)
    } else {
        None
    };
    let offset = if p.is_kw("OFFSET") {
        p.pos += 1;
        Some(p.number()?)
    } else {
        None
    };
    Ok(Query {
        count,
        fields,
        subqueries,
        from,
        from_col,
        filter,
        order_by,
        limit,
        offset,
    })
}
