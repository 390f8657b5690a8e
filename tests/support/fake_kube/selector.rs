//! `labelSelector` and `fieldSelector` as the API server reads them
//! (k8s.io/apimachinery/pkg/labels and pkg/fields).

use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Requirement {
    /// `k=v`, `k==v`
    Equals(String, String),
    /// `k!=v`: also true when the label is absent.
    NotEquals(String, String),
    /// `k in (a,b)`
    In(String, Vec<String>),
    /// `k notin (a,b)`: also true when the label is absent.
    NotIn(String, Vec<String>),
    /// `k`
    Exists(String),
    /// `!k`
    DoesNotExist(String),
}

impl Requirement {
    fn matches(&self, labels: &serde_json::Map<String, Value>) -> bool {
        let get = |k: &str| labels.get(k).and_then(Value::as_str);
        match self {
            Requirement::Equals(k, v) => get(k) == Some(v),
            Requirement::NotEquals(k, v) => get(k) != Some(v),
            Requirement::In(k, vs) => get(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            Requirement::NotIn(k, vs) => !get(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::DoesNotExist(k) => !labels.contains_key(k),
        }
    }
}

/// Splits at commas that are not inside `( )`.
fn split_top(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn set_values(rest: &str, whole: &str) -> Result<Vec<String>, String> {
    let inner = rest
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| {
            format!("unable to parse requirement: found '{whole}', expected: '(' and ')'")
        })?;
    Ok(inner
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect())
}

pub fn parse_labels(selector: &str) -> Result<Vec<Requirement>, String> {
    let mut reqs = Vec::new();
    for part in split_top(selector) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let req = if let Some(key) = part.strip_prefix('!') {
            Requirement::DoesNotExist(key.trim().to_string())
        } else if let Some((k, v)) = part.split_once("!=") {
            Requirement::NotEquals(k.trim().into(), v.trim().into())
        } else if let Some((k, v)) = part.split_once("==") {
            Requirement::Equals(k.trim().into(), v.trim().into())
        } else if let Some((k, v)) = part.split_once('=') {
            Requirement::Equals(k.trim().into(), v.trim().into())
        } else if let Some((k, rest)) = part.split_once(" notin ") {
            Requirement::NotIn(k.trim().into(), set_values(rest, part)?)
        } else if let Some((k, rest)) = part.split_once(" in ") {
            Requirement::In(k.trim().into(), set_values(rest, part)?)
        } else if part.contains(['(', ')', ' ', '<', '>']) {
            return Err(format!(
                "unable to parse requirement: found '{part}', expected: in, notin, =, ==, !=, gt, lt"
            ));
        } else {
            Requirement::Exists(part.to_string())
        };
        reqs.push(req);
    }
    Ok(reqs)
}

pub fn labels_match(reqs: &[Requirement], obj: &Value) -> bool {
    let empty = serde_json::Map::new();
    let labels = obj
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    reqs.iter().all(|r| r.matches(labels))
}

/// One `fieldSelector` term: `metadata.name=x`, `metadata.namespace!=y`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldTerm {
    pub field: String,
    pub value: String,
    pub equal: bool,
}

/// Every resource supports `metadata.name` and `metadata.namespace`; the fields some
/// built-in kinds add (a Pod's `status.phase`) are not served.
pub fn parse_fields(selector: &str) -> Result<Vec<FieldTerm>, String> {
    let mut terms = Vec::new();
    for part in selector.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (field, value, equal) = if let Some((f, v)) = part.split_once("!=") {
            (f, v, false)
        } else if let Some((f, v)) = part.split_once("==") {
            (f, v, true)
        } else if let Some((f, v)) = part.split_once('=') {
            (f, v, true)
        } else {
            return Err(format!(
                "invalid selector: '{selector}'; can't understand '{part}'"
            ));
        };
        let field = field.trim();
        if field != "metadata.name" && field != "metadata.namespace" {
            return Err(format!("field label not supported: {field}"));
        }
        terms.push(FieldTerm {
            field: field.into(),
            value: value.trim().into(),
            equal,
        });
    }
    Ok(terms)
}

pub fn fields_match(terms: &[FieldTerm], obj: &Value) -> bool {
    terms.iter().all(|t| {
        let pointer = if t.field == "metadata.name" {
            "/metadata/name"
        } else {
            "/metadata/namespace"
        };
        let actual = obj.pointer(pointer).and_then(Value::as_str).unwrap_or("");
        (actual == t.value) == t.equal
    })
}

/// The name a field selector pins (`metadata.name=x`): the API server authorizes such a
/// list or watch as a request for that name, so `resourceNames` rules apply to it.
pub fn exact_name(terms: &[FieldTerm]) -> Option<&str> {
    terms
        .iter()
        .find(|t| t.field == "metadata.name" && t.equal)
        .map(|t| t.value.as_str())
}
