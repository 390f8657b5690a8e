//! Words for JSON values and types in messages, shared by the value-file and the
//! output-check explanations of schema errors: "expected an integer, got \"3\"",
//! "did you mean `Application`?".

use jsonschema::JsonType;
use jsonschema::error::TypeKind;
use serde_json::Value;

/// Longest string quoted in full in a message.
const MAX_QUOTED_CHARS: usize = 60;

/// "a string", "an array"... for messages that name a value's kind without echoing it.
pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A value for "got ...": scalars as written (long strings shortened), containers by kind,
/// and `***` for a scalar stored under a key that looks secret ("an object" gives nothing away).
pub fn value(v: &Value, secret: bool) -> String {
    match v {
        Value::String(_) | Value::Number(_) | Value::Bool(_) if secret => "***".into(),
        Value::String(s) => match s.char_indices().nth(MAX_QUOTED_CHARS) {
            Some((cut, _)) => quote(&format!("{}...", &s[..cut])),
            None => quote(s),
        },
        Value::Array(_) | Value::Object(_) => kind_of(v).into(),
        other => other.to_string(),
    }
}

/// A string as JSON writes it, quotes and escapes included.
pub fn quote(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

/// "a string" for the JSON Schema type name `string`.
pub fn article(type_name: &str) -> &'static str {
    match type_name {
        "string" => "a string",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "a boolean (true or false)",
        "object" => "an object",
        "array" => "an array",
        "null" => "null",
        _ => "a value",
    }
}

fn type_name(t: JsonType) -> &'static str {
    match t {
        JsonType::Null => "null",
        JsonType::Boolean => "boolean",
        JsonType::Integer => "integer",
        JsonType::Number => "number",
        JsonType::String => "string",
        JsonType::Array => "array",
        JsonType::Object => "object",
    }
}

/// "an integer", "a string or an integer" for a failed `type`. `null` is left out when
/// something else is allowed: the Kubernetes schemas allow it almost everywhere, and
/// nobody should be told to write it.
pub fn expected_types(kind: &TypeKind) -> String {
    let names: Vec<&str> = match kind {
        TypeKind::Single(t) => vec![type_name(*t)],
        TypeKind::Multiple(set) => set.iter().map(type_name).collect(),
    };
    expected_type_names(&names)
}

/// Like [`expected_types`], from type names (`["string", "integer"]`).
pub fn expected_type_names(names: &[&str]) -> String {
    let has_other = names.iter().any(|n| *n != "null");
    let mut words: Vec<&str> = Vec::new();
    for n in names {
        if *n == "null" && has_other {
            continue;
        }
        let w = article(n);
        if !words.contains(&w) {
            words.push(w);
        }
    }
    join_or(&words)
}

/// "a", "a or b", "a, b or c".
pub fn join_or(words: &[&str]) -> String {
    match words {
        [] => "another value".into(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// The candidate a misspelt word most likely meant: the same letters in another case, or
/// one at most a third of its letters away (ties go to the first in alphabetical order).
pub fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let candidates: Vec<&str> = candidates.collect();
    if let Some(same) = candidates.iter().find(|c| c.eq_ignore_ascii_case(word)) {
        return Some(same);
    }
    let lower = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(&lower, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= (c.chars().count().max(3) / 3).max(1))
        .min_by_key(|&(d, c)| (d, c))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_described_briefly_and_secrets_hidden() {
        assert_eq!(value(&json!("3"), false), "\"3\"");
        assert_eq!(value(&json!(3), true), "***");
        assert_eq!(value(&json!({"a": 1}), true), "an object");
        let long = "x".repeat(100);
        assert_eq!(
            value(&json!(long), false),
            format!("\"{}...\"", "x".repeat(60))
        );
    }

    #[test]
    fn types_read_as_words_without_null() {
        assert_eq!(expected_type_names(&["string", "null"]), "a string");
        assert_eq!(
            expected_type_names(&["string", "integer", "object"]),
            "a string, an integer or an object"
        );
        assert_eq!(expected_type_names(&["null"]), "null");
    }

    #[test]
    fn closest_accepts_typos_not_strangers() {
        let keys = ["Application", "Account", "Image"];
        assert_eq!(closest("Imgae", keys.into_iter()), Some("Image"));
        assert_eq!(closest("Namespace", keys.into_iter()), None);
        assert_eq!(closest("account", keys.into_iter()), Some("Account"));
    }
}
