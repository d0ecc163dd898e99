//! The CSV of `mapping import` and `mapping export` (RFC 4180 style: comma-separated, fields
//! with a comma, quote or line break quoted, quotes doubled). A record is one line; quoted line
//! breaks are not read back, and member ids and usernames never hold one.
//!
//! Formulas are neutralised (OWASP "CSV injection"): a cell that starts with `=`, `+`, `-`,
//! `@`, a tab or a carriage return is written with a leading `'`, so a spreadsheet shows it as
//! text instead of running it. So that every value reads back as written, a cell that starts
//! with `'` gets one too. Import removes one leading `'` when what follows starts with one of
//! those characters (or another `'`), and keeps any other leading `'` as part of the value.

/// The characters that make a spreadsheet read a cell as a formula, and the escape itself.
const ESCAPED_STARTS: [char; 7] = ['=', '+', '-', '@', '\t', '\r', '\''];

/// The header `mapping import` expects.
pub const IMPORT_HEADER: [&str; 2] = ["member_id", "salesforce_username"];
/// The header `mapping export` writes.
pub const EXPORT_HEADER: [&str; 4] = [
    "member_id",
    "salesforce_user_id",
    "salesforce_username",
    "method",
];

/// One import line: its number in the file (the header is line 1) and its two fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportLine {
    pub number: usize,
    pub member_id: String,
    pub username: String,
}

/// A line that cannot be used: its number and what is wrong with it.
pub type BadLine = (usize, String);

/// Reads an import file: the lines that have the right shape, and the others by number with
/// what is wrong. A wrong header is an error for the whole file.
pub fn parse_import(text: &str) -> Result<(Vec<ImportLine>, Vec<BadLine>), String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let header = lines
        .by_ref()
        .find(|(_, l)| !l.trim().is_empty())
        .ok_or("the file is empty; the first line must be member_id,salesforce_username")?;
    let names = split(header.1).map_err(|e| format!("line {}: {e}", header.0))?;
    let names: Vec<String> = names
        .iter()
        .map(|n| n.trim().to_ascii_lowercase())
        .collect();
    if names != IMPORT_HEADER {
        return Err(format!(
            "line {}: the header must be member_id,salesforce_username (found {:?})",
            header.0,
            header.1.trim()
        ));
    }
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for (number, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        match split(line) {
            Err(e) => bad.push((number, e)),
            Ok(fields) if fields.len() != 2 => {
                bad.push((number, format!("expected 2 fields, found {}", fields.len())))
            }
            Ok(fields) => {
                let member_id = unescape(fields[0].trim()).to_owned();
                let username = unescape(fields[1].trim()).to_owned();
                if member_id.is_empty() {
                    bad.push((number, "member_id is empty".into()));
                } else if username.is_empty() {
                    bad.push((number, "salesforce_username is empty".into()));
                } else {
                    good.push(ImportLine {
                        number,
                        member_id,
                        username,
                    });
                }
            }
        }
    }
    Ok((good, bad))
}

/// Splits one line into fields.
pub fn split(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.trim_end_matches('\r').chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.trim().is_empty() && !was_quoted => {
                field.clear();
                quoted = true;
                was_quoted = true;
            }
            (false, '"') => return Err("a quote in the middle of an unquoted field".into()),
            (false, ',') => {
                fields.push(std::mem::take(&mut field));
                was_quoted = false;
            }
            (false, c) if was_quoted && !c.is_whitespace() => {
                return Err("text after a closing quote".into());
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed".into());
    }
    fields.push(field);
    Ok(fields)
}

/// A cell as written: with a leading `'` when it would start like a formula (or an escape).
fn escape(field: &str) -> std::borrow::Cow<'_, str> {
    if field.starts_with(ESCAPED_STARTS) {
        format!("'{field}").into()
    } else {
        field.into()
    }
}

/// A cell as read: without the leading `'` that [`escape`] added.
fn unescape(field: &str) -> &str {
    match field.strip_prefix('\'') {
        Some(rest) if rest.starts_with(ESCAPED_STARTS) => rest,
        _ => field,
    }
}

/// One CSV line (with `\n`), formulas neutralised, quoting fields that need it.
pub fn line<S: AsRef<str>>(fields: &[S]) -> String {
    let mut out: Vec<String> = Vec::with_capacity(fields.len());
    for field in fields {
        let field = escape(field.as_ref());
        let field = field.as_ref();
        if field.contains([',', '"', '\n', '\r']) || field.trim() != field {
            out.push(format!("\"{}\"", field.replace('"', "\"\"")));
        } else {
            out.push(field.to_owned());
        }
    }
    let mut text = out.join(",");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_commas_and_quotes_survive_a_round_trip() {
        let fields = ["plain", "with,comma", "with \"quote\"", " padded "];
        let text = line(&fields);
        assert_eq!(
            text,
            "plain,\"with,comma\",\"with \"\"quote\"\"\",\" padded \"\n"
        );
        assert_eq!(split(text.trim_end()).unwrap(), fields);
    }

    #[test]
    fn an_import_reports_bad_lines_by_number_and_keeps_the_good_ones() {
        let text = "member_id,salesforce_username\n\
                    m1,alice@org.example\n\
                    \n\
                    m2\n\
                    m3,\"unclosed\n\
                    ,bob@org.example\n\
                    m4, carol@org.example \r\n";
        let (good, bad) = parse_import(text).unwrap();
        let good: Vec<(usize, &str, &str)> = good
            .iter()
            .map(|l| (l.number, l.member_id.as_str(), l.username.as_str()))
            .collect();
        assert_eq!(
            good,
            [
                (2, "m1", "alice@org.example"),
                (7, "m4", "carol@org.example")
            ]
        );
        let numbers: Vec<usize> = bad.iter().map(|(n, _)| *n).collect();
        assert_eq!(numbers, [4, 5, 6]);
        assert!(bad[0].1.contains("2 fields"), "{bad:?}");
    }

    #[test]
    fn an_exported_cell_cannot_run_as_a_spreadsheet_formula() {
        let cells = [
            "=HYPERLINK(\"http://evil.example\",\"x\")",
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
        ];
        let text = line(&cells);
        for field in split(text.trim_end_matches('\n')).unwrap() {
            assert!(field.starts_with('\''), "{field:?} in {text:?}");
        }
        assert_eq!(line(&["m1", "alice@org.example"]), "m1,alice@org.example\n");
    }

    #[test]
    fn an_import_reads_back_what_the_export_wrote() {
        let pairs = [
            ("m1", "alice@org.example"),
            ("-5", "=cmd|' /C calc'!A0"),
            ("'quoted", "''twice"),
            ("'=already escaped", "@bob@org.example"),
            ("it's", "o'brien@org.example"),
        ];
        let mut text = line(&IMPORT_HEADER);
        for (member, username) in pairs {
            text.push_str(&line(&[member, username]));
        }
        let (good, bad) = parse_import(&text).unwrap();
        assert!(bad.is_empty(), "{bad:?}");
        let read: Vec<(&str, &str)> = good
            .iter()
            .map(|l| (l.member_id.as_str(), l.username.as_str()))
            .collect();
        assert_eq!(read, pairs);
        // A leading quote of a hand-written file stays when no formula character follows it.
        let (good, _) = parse_import("member_id,salesforce_username\n'm1,'=x\n").unwrap();
        assert_eq!(
            (good[0].member_id.as_str(), good[0].username.as_str()),
            ("'m1", "=x")
        );
    }

    #[test]
    fn a_wrong_header_rejects_the_whole_file() {
        let error = parse_import("member,username\nm1,a@b\n").unwrap_err();
        assert!(error.contains("line 1"), "{error}");
        assert!(parse_import("").is_err());
    }
}
