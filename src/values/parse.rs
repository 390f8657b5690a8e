//! Strict JSON parsing that remembers where every key and value is in the text.
//!
//! serde_json keeps no positions, so the file is parsed with `jsonc-parser` (all of its
//! JSON5/JSONC extensions switched off) into an AST with byte ranges, then converted into
//! a `serde_json::Value` plus a table from JSON pointer to position.

use jsonc_parser::ast;
use jsonc_parser::errors::ParseErrorKind;
use jsonc_parser::{CollectOptions, ParseOptions};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

/// Where one node of the document is: the byte offset of its key (for object members)
/// and of its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub key: Option<usize>,
    pub value: usize,
}

/// Byte offsets of every node, by JSON pointer (`""` is the root, `/ScenarioTest/Collection`).
#[derive(Debug, Default, Clone)]
pub struct Spans(HashMap<String, Span>);

impl Spans {
    pub fn get(&self, pointer: &str) -> Option<Span> {
        self.0.get(pointer).copied()
    }
}

/// A document that parsed; `duplicates` lists keys that appear twice in one object (the
/// JSON grammar allows them, but the later one silently wins: always a mistake here).
#[derive(Debug)]
pub struct Parsed {
    pub value: Value,
    pub spans: Spans,
    pub duplicates: Vec<Duplicate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// Pointer of the repeated member.
    pub pointer: String,
    /// Byte offset of the second occurrence's key.
    pub offset: usize,
    /// Byte offset of the first occurrence's key.
    pub first: usize,
}

/// A syntax error: where, and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub offset: usize,
    pub message: String,
}

/// Nesting deeper than this is refused rather than risking the stack; no value file
/// needs more than a handful of levels.
const MAX_DEPTH: usize = 64;

pub fn parse(text: &str) -> Result<Parsed, SyntaxError> {
    let options = ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    };
    if let Some(e) = prescan(text) {
        return Err(e);
    }
    let result =
        jsonc_parser::parse_to_ast(text, &CollectOptions::default(), &options).map_err(|e| {
            // "Unterminated" is noticed at the end of the text; say so there, not at the `{`.
            let offset = match e.kind() {
                ParseErrorKind::UnterminatedObject | ParseErrorKind::UnterminatedArray => {
                    text.trim_end().len()
                }
                _ => e.range().start,
            };
            SyntaxError {
                offset,
                message: describe(e.kind()),
            }
        })?;
    let Some(root) = result.value else {
        return Err(SyntaxError {
            offset: text.len(),
            message: "expected a JSON value, found end of file".into(),
        });
    };
    let mut out = Parsed {
        value: Value::Null,
        spans: Spans::default(),
        duplicates: Vec::new(),
    };
    out.value = convert(
        &root,
        String::new(),
        None,
        &mut out.spans,
        &mut out.duplicates,
    );
    Ok(out)
}

/// What the parser would report badly or not at all: nesting deep enough to exhaust the
/// stack (checked before the recursive parser runs), and raw line breaks or other control
/// characters inside strings (JSON forbids them; the parser would take the next line as
/// part of the string and complain somewhere else).
fn prescan(text: &str) -> Option<SyntaxError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, b) in text.bytes().enumerate() {
        if in_string {
            match b {
                b'\n' | b'\r' => {
                    return Some(SyntaxError {
                        offset: i,
                        message: "unterminated string: expected `\"` before the end of the line"
                            .into(),
                    });
                }
                0..=0x1f => {
                    return Some(SyntaxError {
                        offset: i,
                        message:
                            "control character inside a string: write it escaped (\\t, \\u0001...)"
                                .into(),
                    });
                }
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(SyntaxError {
                        offset: i,
                        message: format!("nesting deeper than {MAX_DEPTH} levels"),
                    });
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

fn convert(
    node: &ast::Value<'_>,
    pointer: String,
    key: Option<usize>,
    spans: &mut Spans,
    duplicates: &mut Vec<Duplicate>,
) -> Value {
    let start = match node {
        ast::Value::StringLit(n) => n.range.start,
        ast::Value::NumberLit(n) => n.range.start,
        ast::Value::BooleanLit(n) => n.range.start,
        ast::Value::Object(n) => n.range.start,
        ast::Value::Array(n) => n.range.start,
        ast::Value::NullKeyword(n) => n.range.start,
    };
    spans.0.insert(pointer.clone(), Span { key, value: start });
    match node {
        ast::Value::StringLit(s) => Value::String(s.value.to_string()),
        ast::Value::NumberLit(n) => number(n.value),
        ast::Value::BooleanLit(b) => Value::Bool(b.value),
        ast::Value::NullKeyword(_) => Value::Null,
        ast::Value::Array(a) => Value::Array(
            a.elements
                .iter()
                .enumerate()
                .map(|(i, e)| convert(e, format!("{pointer}/{i}"), None, spans, duplicates))
                .collect(),
        ),
        ast::Value::Object(o) => {
            let mut map = Map::new();
            let mut first_key: HashMap<&str, usize> = HashMap::new();
            for prop in &o.properties {
                let name = prop.name.as_str();
                let key_start = match &prop.name {
                    ast::ObjectPropName::String(s) => s.range.start,
                    ast::ObjectPropName::Word(w) => w.range.start,
                };
                let child = format!("{pointer}/{}", escape_pointer(name));
                if let Some(&first) = first_key.get(name) {
                    duplicates.push(Duplicate {
                        pointer: child.clone(),
                        offset: key_start,
                        first,
                    });
                } else {
                    first_key.insert(name, key_start);
                }
                let v = convert(&prop.value, child, Some(key_start), spans, duplicates);
                map.insert(name.to_string(), v);
            }
            Value::Object(map)
        }
    }
}

/// Integers stay integers (`3`, not `3.0`), so that a template sees exactly what was written.
fn number(text: &str) -> Value {
    match serde_json::from_str::<Number>(text) {
        Ok(n) => Value::Number(n),
        // The parser only hands over valid JSON number literals; a literal too large for
        // f64 is the one way here, and such a number is wrong in any value file.
        Err(_) => Value::Null,
    }
}

/// RFC 6901: `~` -> `~0`, `/` -> `~1`.
pub fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Syntax errors in plain words, saying what was expected.
fn describe(kind: &ParseErrorKind) -> String {
    use ParseErrorKind::*;
    match kind {
        CommentsNotAllowed => "comments are not allowed in JSON".into(),
        ExpectedColonAfterObjectKey => "expected `:` after the key".into(),
        ExpectedObjectValue => "expected a value after `:`".into(),
        ExpectedDigit | ExpectedPlusMinusOrDigitInNumberLiteral => {
            "expected a digit in the number".into()
        }
        ExpectedDigitFollowingNegativeSign => "expected a digit after `-`".into(),
        ExpectedStringObjectProperty => "expected a key in double quotes".into(),
        ExpectedComma => "expected `,` between members (or a closing `}` / `]`)".into(),
        MultipleRootJsonValues => "expected end of file after the top-level value".into(),
        TrailingCommasNotAllowed => "trailing comma: expected another member after `,`".into(),
        UnexpectedCloseBrace => "unexpected `}`".into(),
        UnexpectedCloseBracket => "unexpected `]`".into(),
        UnexpectedColon => "unexpected `:`".into(),
        UnexpectedComma => "unexpected `,`: expected a value".into(),
        UnexpectedWord => {
            "expected a JSON value (strings need double quotes; literals are true, false, null)"
                .into()
        }
        UnexpectedToken | UnexpectedTokenInObject => "expected a JSON value".into(),
        UnterminatedArray => "unterminated array: expected `]`".into(),
        UnterminatedObject => "unterminated object: expected `}`".into(),
        UnterminatedCommentBlock => "unterminated comment".into(),
        SingleQuotedStringsNotAllowed => "strings need double quotes".into(),
        HexadecimalNumbersNotAllowed => "hexadecimal numbers are not JSON".into(),
        UnaryPlusNumbersNotAllowed => "numbers cannot start with `+`".into(),
        BareDecimalPointNumbersNotAllowed => {
            "expected a digit before and after the decimal point".into()
        }
        NonFiniteNumbersNotAllowed => "Infinity and NaN are not JSON".into(),
        NestingDepthExceeded => format!("nesting deeper than {MAX_DEPTH} levels"),
        String(e) => format!("invalid string: {}", lower_first(&e.to_string())),
        #[allow(unreachable_patterns)]
        other => lower_first(&other.to_string()),
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Turns byte offsets into 1-based line and column (in characters, as editors count).
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { starts }
    }

    pub fn position(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let column = text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        (line, column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pos(text: &str, offset: usize) -> (usize, usize) {
        LineIndex::new(text).position(text, offset)
    }

    #[test]
    fn keeps_values_and_positions() {
        let text = "{\n  \"A\": \"x\",\n  \"B\": {\"C\": [1, 2.5]}\n}";
        let p = parse(text).unwrap();
        assert_eq!(p.value, json!({"A": "x", "B": {"C": [1, 2.5]}}));
        let c1 = p.spans.get("/B/C/1").unwrap();
        assert_eq!(pos(text, c1.value), (3, 18));
        let b = p.spans.get("/B").unwrap();
        assert_eq!(pos(text, b.key.unwrap()), (3, 3));
        assert!(p.value["B"]["C"][0].is_u64(), "integers stay integers");
    }

    #[test]
    fn reports_duplicate_keys() {
        let p = parse(r#"{"A": 1, "A": 2}"#).unwrap();
        assert_eq!(
            p.duplicates,
            vec![Duplicate {
                pointer: "/A".into(),
                offset: 9,
                first: 1
            }]
        );
    }

    #[test]
    fn strict_json_only() {
        for (text, message) in [
            (
                "{\"A\": 1,}",
                "trailing comma: expected another member after `,`",
            ),
            ("{\"A\": 1 // no\n}", "comments are not allowed in JSON"),
            ("{'A': 1}", "strings need double quotes"),
            ("{\"A\" 1}", "expected `:` after the key"),
            (
                "{\"A\": 1 \"B\": 2}",
                "expected `,` between members (or a closing `}` / `]`)",
            ),
            ("{\"A\": 1", "unterminated object: expected `}`"),
            ("", "expected a JSON value, found end of file"),
            ("{\"A\": 0x10}", "hexadecimal numbers are not JSON"),
            (
                "{\"A\": \"x\n}",
                "unterminated string: expected `\"` before the end of the line",
            ),
            (
                "{\"A\": \"a\tb\"}",
                "control character inside a string: write it escaped (\\t, \\u0001...)",
            ),
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!(e.message, message, "for {text:?}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = "[".repeat(100_000);
        let e = parse(&text).unwrap_err();
        assert_eq!(e.offset, MAX_DEPTH);
    }

    #[test]
    fn columns_count_characters() {
        let text = "{\"é\": x}";
        assert_eq!(pos(text, text.find('x').unwrap()), (1, 7));
        assert_eq!(pos("a\nb", 2), (2, 1));
        assert_eq!(pos("a\nb", 99), (2, 2));
    }

    #[test]
    fn pointer_escaping() {
        assert_eq!(escape_pointer("a/b~c"), "a~1b~0c");
    }
}
