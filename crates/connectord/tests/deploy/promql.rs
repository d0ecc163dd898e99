//! Just enough of PromQL to list what an expression names: the metrics, the labels matched on
//! each, and the labels it groups or joins by.

/// One metric named in an expression, with the labels its selector matches.
#[derive(Debug, PartialEq)]
pub struct Selector {
    pub metric: String,
    /// `(label, value)` for `=` matchers; `value` is `None` for `!=`, `=~`, `!~`.
    pub matchers: Vec<(String, Option<String>)>,
}

/// What an expression names.
#[derive(Debug, Default, PartialEq)]
pub struct Names {
    pub selectors: Vec<Selector>,
    /// Labels in `by (…)`, `without (…)`, `on (…)`, `ignoring (…)`, `group_left (…)`.
    pub grouping: Vec<String>,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// The metrics of the exporter: names starting with one of `prefixes`.
pub fn names(expr: &str, prefixes: &[&str]) -> Names {
    let mut names = Names::default();
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            // Skip a string literal (label values, quantile arguments are numbers).
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            continue;
        }
        if !(c.is_ascii_alphabetic() || c == '_') || (i > 0 && is_name_char(chars[i - 1])) {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && is_name_char(chars[i]) {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        let rest: String = chars[i..].iter().collect();
        let after = rest.trim_start();
        if [
            "by",
            "without",
            "on",
            "ignoring",
            "group_left",
            "group_right",
        ]
        .contains(&word.as_str())
            && after.starts_with('(')
        {
            let close = after.find(')').expect("closing parenthesis");
            names.grouping.extend(
                after[1..close]
                    .split(',')
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned),
            );
            i += rest.len() - after.len() + close + 1;
            continue;
        }
        if !prefixes.iter().any(|p| word.starts_with(p)) {
            continue;
        }
        let mut matchers = Vec::new();
        if let Some(body) = after.strip_prefix('{') {
            let close = body.find('}').expect("closing brace");
            for matcher in body[..close]
                .split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
            {
                let op = matcher.find(['=', '!']).expect("a matcher operator");
                let label = matcher[..op].trim().to_owned();
                let exact = matcher[op..].starts_with('=') && !matcher[op..].starts_with("=~");
                let value = exact.then(|| matcher[op + 1..].trim().trim_matches('"').to_owned());
                matchers.push((label, value));
            }
            i += rest.len() - after.len() + 1 + close + 1;
        }
        names.selectors.push(Selector {
            metric: word,
            matchers,
        });
    }
    names
}

#[test]
fn names_are_found_past_functions_strings_and_grouping() {
    let expr = r#"histogram_quantile(0.99, sum by (le) (rate(connectord_x_bucket{phase="a b",code=~"x|y"}[5m]))) / on (job) connectord_y and vector(0)"#;
    let found = names(expr, &["connectord_"]);
    assert_eq!(
        found.selectors,
        [
            Selector {
                metric: "connectord_x_bucket".into(),
                matchers: vec![("phase".into(), Some("a b".into())), ("code".into(), None)],
            },
            Selector {
                metric: "connectord_y".into(),
                matchers: vec![],
            },
        ]
    );
    assert_eq!(found.grouping, ["le", "job"]);
}
