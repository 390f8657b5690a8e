//! What "the same" means for pipelines and applications.
//!
//! Pipelines compare by [`marker::content`]: the server-managed fields (`id`, `updateTs`,
//! `lastModifiedBy`, `createTs`, `index`, `schema`, cron trigger ids) and the marker are
//! left out, and key order never matters.

use crate::marker;
use serde_json::{Map, Value};

/// Names as Gate and Front50 compare them: Java's `String.trim()` on both sides, then
/// `String.equalsIgnoreCase` (gate-web `PipelineController.deletePipeline`, front50-web
/// `PipelineController.checkForDuplicatePipeline`, front50-core
/// `DefaultPipelineDAO.getPipelineId`). Not Rust's `trim()`/`to_lowercase()`: those
/// differ for control characters (`old\x1f` is `old` to Gate) and some letters (`ſ` is
/// `s` to Java), and a mismatch lets a delete by name reach a pipeline kujira-gen did not
/// mean.
pub fn same_name(a: &str, b: &str) -> bool {
    name_key(a) == name_key(b)
}

/// A key that is equal for two names exactly when Gate and Front50 take them for the
/// same name (see [`same_name`]).
///
/// Java's `trim()` removes every character up to U+0020 at both ends (control
/// characters included, no other whitespace). `equalsIgnoreCase` compares character by
/// character: equal, or equal after `Character.toUpperCase`, or equal after
/// `Character.toLowerCase` of those; so mapping each character to
/// lower(upper(c)) gives equal keys exactly for names it calls equal. Java's
/// per-character mappings are the simple (one-to-one) ones: a character whose full
/// Unicode mapping has several characters (`ß` -> `SS`) stays as it is, as in Java.
pub fn name_key(name: &str) -> String {
    java_trim(name).chars().map(java_fold).collect()
}

/// Java's `String.trim()`: strips characters <= U+0020 from both ends.
pub fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= '\u{20}')
}

fn java_fold(c: char) -> char {
    java_lower(java_upper(c))
}

fn java_upper(c: char) -> char {
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

fn java_lower(c: char) -> char {
    let mut low = c.to_lowercase();
    match (low.next(), low.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// The pipeline's comparable content, keys sorted at every level.
pub fn normalised(pipeline: &Map<String, Value>) -> Value {
    sorted(&Value::Object(marker::content(pipeline)))
}

/// A copy of `v` whose objects list their keys in sorted order, whatever map type
/// serde_json was built with.
pub fn sorted(v: &Value) -> Value {
    serde_json::from_str(&marker::canonical_json(v)).unwrap_or(Value::Null)
}

/// Pretty JSON of the comparable content with a final newline: what diffs are made of.
pub fn pretty(pipeline: &Map<String, Value>) -> String {
    pretty_value(&normalised(pipeline))
}

pub fn pretty_value(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(&sorted(v)).unwrap_or_default();
    s.push('\n');
    s
}

pub fn same_content(a: &Map<String, Value>, b: &Map<String, Value>) -> bool {
    marker::canonical_json(&Value::Object(marker::content(a)))
        == marker::canonical_json(&Value::Object(marker::content(b)))
}

/// Whether `remote` is exactly what pushing `desired` leaves behind: the same content and
/// the same marker (source and digest).
pub fn in_sync(desired: &Map<String, Value>, remote: &Map<String, Value>) -> bool {
    same_content(desired, remote) && marker::marker_of(desired) == marker::marker_of(remote)
}

/// Where `new` differs from `old`, as JSON Pointers (RFC 6901), in key order: a key or an
/// array element present on one side only, or a value that differs. Objects and arrays
/// are compared member by member, so a changed stage shows as `/stages/2/waitTime`.
pub fn changed_paths(old: &Value, new: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(old, new, &mut String::new(), &mut out);
    out
}

fn walk(old: &Value, new: &Value, at: &mut String, out: &mut Vec<String>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort_unstable();
            keys.dedup();
            for k in keys {
                let len = at.len();
                at.push('/');
                at.push_str(&k.replace('~', "~0").replace('/', "~1"));
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => walk(x, y, at, out),
                    _ => out.push(at.clone()),
                }
                at.truncate(len);
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for i in 0..a.len().max(b.len()) {
                let len = at.len();
                at.push('/');
                at.push_str(&i.to_string());
                match (a.get(i), b.get(i)) {
                    (Some(x), Some(y)) => walk(x, y, at, out),
                    _ => out.push(at.clone()),
                }
                at.truncate(len);
            }
        }
        (a, b) if a != b => out.push(at.clone()),
        _ => {}
    }
}

/// The declared application attributes that Spinnaker does not have with the same value
/// (`name` is the lookup key and not compared). Attribute names compare
/// case-insensitively and `cloudProviders` as a set, because Gate answers
/// `cloudproviders: ["kubernetes"]` for a stored `cloudProviders: "kubernetes"`.
pub fn application_changes(
    declared: &Map<String, Value>,
    remote: &Map<String, Value>,
) -> Vec<String> {
    let mut changed = Vec::new();
    for (k, v) in declared {
        if k == "name" {
            continue;
        }
        let same = match remote_attribute(remote, k) {
            None => false,
            Some(r) if k.eq_ignore_ascii_case("cloudProviders") => {
                provider_set(v) == provider_set(r)
            }
            Some(r) => marker::canonical_json(r) == marker::canonical_json(v),
        };
        if !same {
            changed.push(k.clone());
        }
    }
    changed
}

/// Spinnaker's values of the declared attributes (absent ones left out), shaped like the
/// declaration so that the two can be diffed.
pub fn remote_view_of_application(
    declared: &Map<String, Value>,
    remote: &Map<String, Value>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in declared {
        if k == "name" {
            out.insert(k.clone(), v.clone());
            continue;
        }
        if let Some(r) = remote_attribute(remote, k) {
            let r =
                if k.eq_ignore_ascii_case("cloudProviders") && provider_set(r) == provider_set(v) {
                    v.clone()
                } else {
                    r.clone()
                };
            out.insert(k.clone(), r);
        }
    }
    out
}

fn remote_attribute<'a>(remote: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    remote.get(key).or_else(|| {
        remote
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn provider_set(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = match v {
        Value::String(s) => s.split(',').map(|p| p.trim().to_lowercase()).collect(),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .map(|p| p.trim().to_lowercase())
            .collect(),
        _ => Vec::new(),
    };
    out.retain(|p| !p.is_empty());
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn server_fields_and_key_order_do_not_matter() {
        let mut local = obj(
            json!({"name": "r", "application": "a", "stages": [{"b": 1, "a": 2}],
            "triggers": [{"type": "cron", "cronExpression": "0 0 * * * ?"}]}),
        );
        marker::stamp(&mut local, "t/value.json");
        local.insert("id".into(), json!("generated-id"));
        let remote = obj(
            json!({"triggers": [{"id": "x", "type": "cron", "cronExpression": "0 0 * * * ?"}],
            "stages": [{"a": 2, "b": 1}], "application": "a", "name": "r",
            "id": "other", "index": 4, "schema": "1", "updateTs": "1", "lastModifiedBy": "anonymous",
            "createTs": "0", "kujiraGen": local["kujiraGen"].clone()}),
        );
        assert!(same_content(&local, &remote));
        assert!(in_sync(&local, &remote));
        assert_eq!(pretty(&local), pretty(&remote));
    }

    #[test]
    fn a_different_marker_is_not_in_sync() {
        let mut local = obj(json!({"name": "r"}));
        marker::stamp(&mut local, "teams/new/value.json");
        let mut remote = obj(json!({"name": "r"}));
        marker::stamp(&mut remote, "teams/old/value.json");
        assert!(same_content(&local, &remote));
        assert!(!in_sync(&local, &remote));
    }

    #[test]
    fn pretty_sorts_keys() {
        let p = obj(json!({"name": "r", "application": "a"}));
        assert_eq!(
            pretty(&p),
            "{\n  \"application\": \"a\",\n  \"name\": \"r\"\n}\n"
        );
    }

    #[test]
    fn application_attributes_compare_like_gate_answers() {
        let declared = obj(json!({"name": "app", "email": "app",
            "cloudProviders": "gce,kubernetes", "instancePort": 80}));
        let fixture: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/gate/get-application-expanded.json"
        ))
        .unwrap();
        let remote = fixture["attributes"].as_object().unwrap().clone();
        assert_eq!(
            application_changes(&declared, &remote),
            Vec::<String>::new()
        );
        let declared = obj(json!({"name": "app", "email": "team@example.com",
            "cloudProviders": "kubernetes", "description": "new"}));
        assert_eq!(
            application_changes(&declared, &remote),
            vec!["cloudProviders", "description", "email"]
        );
    }

    #[test]
    fn changed_paths_are_json_pointers_to_what_differs() {
        let old = json!({"a": 1, "s": [{"w": 1}, {"w": 2}], "k/x": "o", "gone": true});
        let new = json!({"a": 1, "s": [{"w": 1}, {"w": 3}, {}], "k/x": "n", "added": 0});
        assert_eq!(
            changed_paths(&old, &new),
            vec!["/added", "/gone", "/k~1x", "/s/1/w", "/s/2"]
        );
        assert!(changed_paths(&old, &old).is_empty());
        assert_eq!(changed_paths(&json!(1), &json!("1")), vec![""]);
    }

    #[test]
    fn names_compare_like_front50() {
        assert!(same_name(" Release", "release"));
        assert!(!same_name("release", "release-2"));
        // Java's trim() strips control characters, not other whitespace.
        assert!(same_name("old\u{1f}", "old"));
        assert!(same_name("\u{0}old\t", "OLD"));
        assert!(!same_name("old\u{a0}", "old"));
        // Java's equalsIgnoreCase: the long s and the Kelvin sign match their ASCII letters.
        assert!(same_name("ſtage", "STAGE"));
        assert!(same_name("\u{212a}ey", "key"));
        assert!(!same_name("straße", "STRASSE"));
    }
}
