//! The defaults the schema documents are the defaults the templates apply: for every
//! `default` in schemas/value.schema.json, writing the key with its default value gives
//! the same pipeline as leaving it out.

mod support;

use serde_json::{Value, json};
use support::test::{Test, project_dir};

/// What a key's parent must hold for the key to be allowed at all.
fn skeleton(parent: &str) -> Option<Value> {
    match parent {
        "" => Some(json!({
            "Application": "sample", "Notification": "sample-channel", "Email": "a@example.com",
            "Account": "k8s", "Image": "gcr.io/p/sample"
        })),
        "/ScenarioTest" => Some(json!({"Collection": "c.json"})),
        "/Notification" => Some(json!({"Channel": "sample-channel"})),
        "/Resources" => Some(json!({})),
        "/SLO" => Some(
            json!({"Objectives": {"availability": {"Type": "Availability",
            "Objective": 99.9, "Metric": "http_requests_total"}}}),
        ),
        "/Canary" => Some(json!({"Steps": [{"Weight": 20}]})),
        _ => None,
    }
}

/// (pointer, default) for every documented default, through `properties` and the object
/// alternatives of `oneOf`.
fn defaults(schema: &Value, node: &Value, pointer: &str, out: &mut Vec<(String, Value)>) {
    let node = match node
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
    {
        Some(r) => schema.pointer(r).unwrap_or(node),
        None => node,
    };
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        for (k, p) in props {
            let child = format!("{pointer}/{k}");
            if let Some(d) = p.get("default") {
                out.push((child.clone(), d.clone()));
            }
            defaults(schema, p, &child, out);
        }
    }
    for alt in node
        .get("oneOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        defaults(schema, alt, pointer, out);
    }
}

fn build(value: &Value) -> String {
    let collection = std::fs::read_to_string(
        project_dir().join("examples/scenario-test/scenario.postman_collection.json"),
    )
    .unwrap();
    let out = Test::new()
        .write("value.json", serde_json::to_string_pretty(value).unwrap())
        .write("c.json", collection)
        // SLOs need the platform's metric provider.
        .write(
            ".kujira/slo.json",
            r#"{"provider": {"address": "http://prometheus.monitoring:9090"}}"#,
        )
        .args(["build", "value.json"])
        .output();
    assert_eq!(out.status, 0, "{value}: {}", out.stderr);
    out.stdout
}

#[test]
fn documented_defaults_are_the_applied_defaults() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(project_dir().join("schemas/value.schema.json")).unwrap(),
    )
    .unwrap();
    let mut found = Vec::new();
    defaults(&schema, &schema, "", &mut found);
    assert!(found.len() >= 10, "{found:?}");
    for (pointer, default) in found {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let mut base = skeleton("").unwrap();
        if !parent.is_empty() {
            let s = skeleton(parent)
                .unwrap_or_else(|| panic!("tests/defaults.rs: add a skeleton for {parent}"));
            base[&parent[1..]] = s;
        }
        let mut with = base.clone();
        match parent {
            "" => with[key] = default.clone(),
            p => with[&p[1..]][key] = default.clone(),
        }
        assert_eq!(
            build(&base),
            build(&with),
            "{pointer}: the template's default differs from the schema's {default}"
        );
    }
}
