//! The patch formats kubectl sends: JSON merge patch (RFC 7386) and JSON patch
//! (RFC 6902, with RFC 6901 pointers).

use serde_json::{Map, Value};

/// RFC 7386: objects merge key by key, `null` deletes a key, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(target) = target else {
        return;
    };
    for (key, value) in patch {
        if value.is_null() {
            target.remove(key);
        } else {
            merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// RFC 6902. Every operation applies or none does: the error names the operation that
/// failed, in the words of the Go library the API server uses (evanphx/json-patch).
pub fn json_patch(target: &Value, patch: &Value) -> Result<Value, String> {
    let Value::Array(ops) = patch else {
        return Err("json: cannot unmarshal object into Go value of type jsonpatch.Patch".into());
    };
    let mut doc = target.clone();
    for op in ops {
        let field = |name: &str| op.get(name).and_then(Value::as_str);
        let kind = field("op").unwrap_or("");
        let path = field("path").ok_or_else(|| format!("missing path in {op}"))?;
        match kind {
            "add" => add(&mut doc, path, value_of(op)?)?,
            "remove" => {
                remove(&mut doc, path)?;
            }
            "replace" => {
                // Replace needs an existing value.
                get(&doc, path).ok_or_else(|| {
                    format!("replace operation does not apply: doc is missing key: {path}")
                })?;
                remove(&mut doc, path)?;
                add(&mut doc, path, value_of(op)?)?;
            }
            "move" => {
                let from = field("from").ok_or("missing from")?;
                let v = remove(&mut doc, from)?;
                add(&mut doc, path, v)?;
            }
            "copy" => {
                let from = field("from").ok_or("missing from")?;
                let v = get(&doc, from).cloned().ok_or_else(|| {
                    format!("copy operation does not apply: doc is missing from path: {from}")
                })?;
                add(&mut doc, path, v)?;
            }
            "test" => {
                let expected = value_of(op)?;
                if get(&doc, path) != Some(&expected) {
                    return Err(format!("testing value {path} failed: test failed"));
                }
            }
            other => return Err(format!("Unexpected kind: {other}")),
        }
    }
    Ok(doc)
}

fn value_of(op: &Value) -> Result<Value, String> {
    op.get("value")
        .cloned()
        .ok_or_else(|| format!("missing value in {op}"))
}

/// The reference tokens of an RFC 6901 pointer (`~1` is `/`, `~0` is `~`).
pub fn tokens(pointer: &str) -> Result<Vec<String>, String> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err(format!(
            "JSON pointer must be empty or start with a \"/\": {pointer}"
        ));
    };
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

pub fn get<'a>(doc: &'a Value, pointer: &str) -> Option<&'a Value> {
    let mut cur = doc;
    for t in tokens(pointer).ok()? {
        cur = match cur {
            Value::Object(m) => m.get(&t)?,
            Value::Array(a) => a.get(t.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn parent<'a>(doc: &'a mut Value, pointer: &str) -> Result<(&'a mut Value, String), String> {
    let mut toks = tokens(pointer)?;
    let last = toks
        .pop()
        .ok_or_else(|| "cannot operate on the whole document".to_string())?;
    let mut cur = doc;
    for t in toks {
        cur = match cur {
            Value::Object(m) => m.get_mut(&t),
            Value::Array(a) => t.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| format!("doc is missing path: \"{pointer}\": missing value"))?;
    }
    Ok((cur, last))
}

fn add(doc: &mut Value, pointer: &str, value: Value) -> Result<(), String> {
    if pointer.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (container, last) = parent(doc, pointer)?;
    match container {
        Value::Object(m) => {
            m.insert(last, value);
            Ok(())
        }
        Value::Array(a) => {
            let i = if last == "-" {
                a.len()
            } else {
                last.parse::<usize>()
                    .ok()
                    .filter(|i| *i <= a.len())
                    .ok_or_else(|| format!("add operation does not apply: doc is missing path: \"{pointer}\": missing value"))?
            };
            a.insert(i, value);
            Ok(())
        }
        _ => Err(format!(
            "add operation does not apply: doc is missing path: \"{pointer}\": missing value"
        )),
    }
}

fn remove(doc: &mut Value, pointer: &str) -> Result<Value, String> {
    let missing = || {
        format!(
            "remove operation does not apply: doc is missing path: \"{pointer}\": missing value"
        )
    };
    let (container, last) = parent(doc, pointer).map_err(|_| missing())?;
    match container {
        Value::Object(m) => m.remove(&last).ok_or_else(missing),
        Value::Array(a) => match last.parse::<usize>() {
            Ok(i) if i < a.len() => Ok(a.remove(i)),
            _ => Err(missing()),
        },
        _ => Err(missing()),
    }
}
