//! Test helpers: the realistic blue-green bundle and a shared, compiled checker.

use super::Checker;
use crate::bundle::Bundle;
use crate::diag::render_human;
use serde_json::Value;
use std::sync::OnceLock;

pub const BLUE_GREEN: &str = include_str!("testdata/blue_green.json");

pub fn valid_bundle_json() -> Value {
    serde_json::from_str(BLUE_GREEN).expect("testdata/blue_green.json is JSON")
}

/// One checker for all tests: compiling the schemas for each test would dominate the run.
pub fn checker() -> &'static Checker {
    static CHECKER: OnceLock<Checker> = OnceLock::new();
    CHECKER.get_or_init(|| Checker::new().expect("the embedded schemas compile"))
}

/// The diagnostics for a rendered bundle, as `validate` prints them.
pub fn check_json(rendered: Value) -> String {
    let b = Bundle::from_rendered("teams/sample/value.json", rendered).expect("bundle shape");
    render_human(&checker().check(&b, "teams/sample/value.json"))
}

/// The valid bundle with the value at each JSON pointer replaced (or removed for `None`).
pub fn variant(changes: &[(&str, Option<Value>)]) -> Value {
    let mut v = valid_bundle_json();
    for (pointer, new) in changes {
        match new {
            Some(new) => set(&mut v, pointer, new.clone()),
            None => remove(&mut v, pointer),
        }
    }
    v
}

/// Sets the value at `pointer`, creating the last key of an object if needed.
fn set(v: &mut Value, pointer: &str, new: Value) {
    if let Some(slot) = v.pointer_mut(pointer) {
        *slot = new;
        return;
    }
    let (parent, key) = pointer.rsplit_once('/').expect("pointer has a parent");
    match v.pointer_mut(parent) {
        Some(Value::Object(m)) => {
            m.insert(key.replace("~1", "/").replace("~0", "~"), new);
        }
        Some(Value::Array(a)) if key == "-" => a.push(new),
        _ => panic!("no parent object at {parent}"),
    }
}

fn remove(v: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer has a parent");
    match v.pointer_mut(parent) {
        Some(Value::Object(m)) => {
            m.remove(&key.replace("~1", "/").replace("~0", "~"));
        }
        Some(Value::Array(a)) => {
            a.remove(key.parse::<usize>().expect("array index"));
        }
        _ => panic!("no parent at {parent}"),
    }
}
