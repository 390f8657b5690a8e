//! A structural diff of two JSON values: the paths that differ, with their old and new
//! values. Array elements are matched by what identifies them where they have it (a
//! Kubernetes object by kind and name, a stage or container by name, a stage by refId), so
//! that one added stage is one change, not a shift of every stage after it.

use serde_json::Value;

/// One difference. `old` is `None` for something added, `new` for something removed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Change {
    pub path: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// Every difference between `old` and `new`, in document order. Values are kept as
/// canonical JSON text (comparable, hashable).
pub fn diff(old: &Value, new: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    walk(old, new, &mut String::new(), &mut out);
    out
}

/// [`diff`] of two bundles as `{application, pipelines}`, without copying them into one
/// value first (a bundle is ~100 KB of JSON; this runs for every team).
pub fn diff_bundles(old: &crate::bundle::Bundle, new: &crate::bundle::Bundle) -> Vec<Change> {
    let mut out = Vec::new();
    let mut path = String::from("application");
    walk_maps(&old.application, &new.application, &mut path, &mut out);
    let (a, b) = (&old.pipelines, &new.pipelines);
    let names = |ps: &[serde_json::Map<String, Value>]| -> Option<Vec<String>> {
        let ids: Vec<String> = ps
            .iter()
            .map(|p| p.get("name").and_then(Value::as_str).map(str::to_string))
            .collect::<Option<_>>()?;
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        (sorted.len() == ids.len()).then_some(ids)
    };
    match (names(a), names(b)) {
        (Some(ia), Some(ib)) => {
            for (x, id) in a.iter().zip(&ia) {
                let mut path = format!("pipelines[{id}]");
                match ib.iter().position(|j| j == id) {
                    Some(j) => walk_maps(x, &b[j], &mut path, &mut out),
                    None => push(&mut out, &path, Some(&Value::Object(x.clone())), None),
                }
            }
            for (y, id) in b.iter().zip(&ib) {
                if !ia.contains(id) {
                    let path = format!("pipelines[{id}]");
                    push(&mut out, &path, None, Some(&Value::Object(y.clone())));
                }
            }
        }
        _ => {
            let as_value = |ps: &[serde_json::Map<String, Value>]| {
                Value::Array(ps.iter().cloned().map(Value::Object).collect())
            };
            let mut path = String::from("pipelines");
            walk(&as_value(a), &as_value(b), &mut path, &mut out);
        }
    }
    out
}

fn walk_maps(
    a: &serde_json::Map<String, Value>,
    b: &serde_json::Map<String, Value>,
    path: &mut String,
    out: &mut Vec<Change>,
) {
    if a == b {
        return;
    }
    let mut keys: Vec<&String> = a
        .keys()
        .chain(b.keys().filter(|k| !a.contains_key(*k)))
        .collect();
    keys.sort();
    for k in keys {
        let len = path.len();
        push_key(path, k);
        match (a.get(k), b.get(k)) {
            (Some(x), Some(y)) => walk(x, y, path, out),
            (x, y) => push(out, path, x, y),
        }
        path.truncate(len);
    }
}

fn text(v: &Value) -> String {
    crate::marker::canonical_json(v)
}

fn push(out: &mut Vec<Change>, path: &str, old: Option<&Value>, new: Option<&Value>) {
    out.push(Change {
        path: path.to_string(),
        old: old.map(text),
        new: new.map(text),
    });
}

fn walk(old: &Value, new: &Value, path: &mut String, out: &mut Vec<Change>) {
    if old == new {
        return;
    }
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => walk_maps(a, b, path, out),
        (Value::Array(a), Value::Array(b)) => match identities(a, b) {
            Some((ia, ib)) => {
                for (x, id) in a.iter().zip(&ia) {
                    let len = path.len();
                    path.push_str(&format!("[{id}]"));
                    match ib.iter().position(|j| j == id) {
                        Some(j) => walk(x, &b[j], path, out),
                        None => push(out, path, Some(x), None),
                    }
                    path.truncate(len);
                }
                for (y, id) in b.iter().zip(&ib) {
                    if !ia.contains(id) {
                        let len = path.len();
                        path.push_str(&format!("[{id}]"));
                        push(out, path, None, Some(y));
                        path.truncate(len);
                    }
                }
                let common_a: Vec<&String> = ia.iter().filter(|i| ib.contains(i)).collect();
                let common_b: Vec<&String> = ib.iter().filter(|i| ia.contains(i)).collect();
                if common_a != common_b {
                    let order = |ids: &[&String]| {
                        Value::Array(ids.iter().map(|s| Value::String((*s).clone())).collect())
                    };
                    let len = path.len();
                    path.push_str(" (order)");
                    push(out, path, Some(&order(&common_a)), Some(&order(&common_b)));
                    path.truncate(len);
                }
            }
            None if a.len() == b.len() => {
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    walk(x, y, path, out);
                    path.truncate(len);
                }
            }
            None => push(out, path, Some(old), Some(new)),
        },
        _ => push(out, path, Some(old), Some(new)),
    }
}

/// `.key`, or `["a.b/c"]` for keys that are not plain words.
fn push_key(path: &mut String, k: &str) {
    let plain = k
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$');
    if plain {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(k);
    } else {
        path.push_str(&format!("[{}]", text(&Value::String(k.to_string()))));
    }
}

/// What identifies each element, tried in order; the first that every element of both
/// arrays has, unique on each side, wins.
fn identities(a: &[Value], b: &[Value]) -> Option<(Vec<String>, Vec<String>)> {
    if a.is_empty() && b.is_empty() {
        return None;
    }
    IDENTITIES.iter().find_map(|id| {
        let ids = |xs: &[Value]| -> Option<Vec<String>> {
            let ids: Vec<String> = xs.iter().map(id).collect::<Option<_>>()?;
            let mut sorted = ids.clone();
            sorted.sort();
            sorted.dedup();
            (sorted.len() == ids.len()).then_some(ids)
        };
        Some((ids(a)?, ids(b)?))
    })
}

/// A Kubernetes object: `Kind/name`.
fn kube_id(v: &Value) -> Option<String> {
    let kind = v.get("kind")?.as_str()?;
    let name = v.get("metadata")?.get("name")?.as_str()?;
    Some(format!("{kind}/{name}"))
}

fn name_id(v: &Value) -> Option<String> {
    v.get("name")?.as_str().map(str::to_string)
}

fn ref_id(v: &Value) -> Option<String> {
    v.get("refId")?.as_str().map(str::to_string)
}

fn id_id(v: &Value) -> Option<String> {
    v.get("id")?.as_str().map(str::to_string)
}

const IDENTITIES: [fn(&Value) -> Option<String>; 4] = [kube_id, name_id, ref_id, id_id];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn c(path: &str, old: Option<&str>, new: Option<&str>) -> Change {
        Change {
            path: path.into(),
            old: old.map(str::to_string),
            new: new.map(str::to_string),
        }
    }

    #[test]
    fn values_keys_and_named_elements() {
        let old = json!({"stages": [{"name": "A", "x": 1}, {"name": "B"}], "k": "v", "a.b": 1});
        let new = json!({"stages": [{"name": "A", "x": 2}, {"name": "C"}], "n": true, "a.b": 2});
        assert_eq!(
            diff(&old, &new),
            vec![
                c("[\"a.b\"]", Some("1"), Some("2")),
                c("k", Some("\"v\""), None),
                c("n", None, Some("true")),
                c("stages[A].x", Some("1"), Some("2")),
                c("stages[B]", Some("{\"name\":\"B\"}"), None),
                c("stages[C]", None, Some("{\"name\":\"C\"}")),
            ]
        );
    }

    #[test]
    fn kubernetes_objects_by_kind_and_name_and_order_changes() {
        let svc = |n: &str| json!({"kind": "Service", "metadata": {"name": n}});
        let old = json!([svc("a"), svc("b")]);
        let new = json!([svc("b"), svc("a")]);
        assert_eq!(
            diff(&old, &new),
            vec![c(
                " (order)",
                Some("[\"Service/a\",\"Service/b\"]"),
                Some("[\"Service/b\",\"Service/a\"]")
            )]
        );
    }

    #[test]
    fn anonymous_elements_by_position_or_whole() {
        assert_eq!(
            diff(&json!({"a": [1, 2]}), &json!({"a": [1, 3]})),
            vec![c("a[1]", Some("2"), Some("3"))]
        );
        assert_eq!(
            diff(&json!({"a": [1]}), &json!({"a": [1, 3]})),
            vec![c("a", Some("[1]"), Some("[1,3]"))]
        );
        assert!(diff(&json!({"a": [1]}), &json!({"a": [1]})).is_empty());
    }
}
