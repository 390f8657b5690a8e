//! How the Kubernetes and Argo Rollouts schemas are prepared for embedding, at build time
//! (`build.rs` includes this file): the pod templates the Job, Deployment, Rollout and
//! AnalysisTemplate schemas inline are cut out (see [`CUTS`]), descriptions are dropped,
//! subschemas that repeat are shared through `$ref`s ([`share_repeated`]) and the JSON is
//! minified. 2.7 MB of JSON becomes 0.1 MB, and parsing and compiling it was most of the
//! start-up of a one-file `validate`.
//!
//! Only `serde_json` here: the build script compiles this file on its own.

use serde_json::{Value, json};

/// Where the Job and Deployment schemas inline their pod template, a copy of
/// PodTemplateSpec.
pub const INLINED_TEMPLATE: &str = "/properties/spec/properties/template";

/// Where the AnalysisTemplate CRD inlines the pod template of a Job metric provider: nine
/// tenths of the schema's compile time (measured 13 ms of 13.6 ms, dependencies at
/// opt-level 1), for a provider kujira-gen's templates never use. `manifests.rs` validates
/// such a template against PodTemplateSpec instead.
pub const ANALYSIS_JOB_TEMPLATE: &str = "/properties/spec/properties/metrics/items/properties/provider/properties/job/properties/spec/properties/template";

/// The embedded schemas: the name of the prepared file, the source under `schemas/`, and
/// the pod template cut out of it, if any.
///
/// The Job schema is 680 KB because it inlines a full copy of PodTemplateSpec at
/// `spec.template`: that copy is about nine tenths of its compile time (measured ~3 ms of
/// ~3.3 ms), while validating a Job costs the same either way (~0.5 us). As PodTemplateSpec
/// is compiled anyway (for the Rollout's template), the copy is cut out and a Job's
/// `spec.template` is validated against PodTemplateSpec instead: the same constraints (a
/// test checks that the copy adds none), compiled once. The Deployment's likewise.
///
/// The Rollout CRD's own copy of the pod template (`spec.template`, two fifths of all the
/// schema JSON compiled at start: one file's `validate` 69.1M -> 58.7M instructions) is cut
/// too: the generated Rollouts have no template (they use `workloadRef`), and a template an
/// override writes is checked against PodTemplateSpec, as before. What only the CRD's copy
/// checked (compared keyword by keyword): six quantity `pattern`s (`divisor` and the like)
/// and that values are not null; PodTemplateSpec already rejected the fields newer than
/// Kubernetes 1.32 that the CRD allows.
pub const CUTS: &[(&str, &str, Option<&str>)] = &[
    (
        "rollout.json",
        "argo-rollouts/rollout.strict.schema.json",
        Some(INLINED_TEMPLATE),
    ),
    (
        "analysis-template.json",
        "argo-rollouts/analysis-template.strict.schema.json",
        Some(ANALYSIS_JOB_TEMPLATE),
    ),
    (
        "pod-template-spec.json",
        "kubernetes-v1.32/podtemplatespec-v1.json",
        None,
    ),
    (
        "job.json",
        "kubernetes-v1.32/job-batch-v1.json",
        Some(INLINED_TEMPLATE),
    ),
    (
        "deployment.json",
        "kubernetes-v1.32/deployment-apps-v1.json",
        Some(INLINED_TEMPLATE),
    ),
    ("service.json", "kubernetes-v1.32/service-v1.json", None),
    (
        "config-map.json",
        "kubernetes-v1.32/configmap-v1.json",
        None,
    ),
    ("secret.json", "kubernetes-v1.32/secret-v1.json", None),
    (
        "service-account.json",
        "kubernetes-v1.32/serviceaccount-v1.json",
        None,
    ),
    ("role.json", "kubernetes-v1.32/role-rbac-v1.json", None),
    (
        "role-binding.json",
        "kubernetes-v1.32/rolebinding-rbac-v1.json",
        None,
    ),
    (
        "prometheus-rule.json",
        "monitoring/prometheusrule.strict.schema.json",
        None,
    ),
    (
        "gmp-rules.json",
        "monitoring/gmp-rules.strict.schema.json",
        None,
    ),
];

/// The schema as embedded: `cut` replaced by `{}` (anything goes there: PodTemplateSpec
/// checks it), then without descriptions, then with repeated subschemas shared.
pub fn prepare(mut schema: Value, cut: Option<&str>) -> Result<Value, String> {
    if let Some(pointer) = cut {
        let template = schema
            .pointer_mut(pointer)
            .ok_or_else(|| format!("no pod template at {pointer}"))?;
        *template = json!({});
    }
    strip_descriptions(&mut schema);
    share_repeated(&mut schema)?;
    Ok(schema)
}

/// The `definitions` entries [`share_repeated`] adds are named this, then a number.
pub const SHARED: &str = "kujira-shared-";

/// Subschemas shorter than this (as minified JSON) stay where they are: below it, a
/// `$ref` saves too little to pay for itself.
const SHARE_MIN_BYTES: usize = 100;

/// Moves every subschema that occurs twice or more (as minified JSON, at least
/// [`SHARE_MIN_BYTES`]) into `definitions`, and puts a `$ref` to it in each place: the
/// yannh and Argo schemas inline every type wherever it is used (a pod template spells
/// out `Container` for containers and initContainers, a `Probe` three times in each, a
/// `SecurityContext`...). jsonschema compiles a `$ref`'s target once per document, so
/// the start-up work follows the distinct types, not their uses: PodTemplateSpec 78.6 ->
/// 34.9 KB of JSON, the eleven schemas' parse and compile 38.9M -> 26.0M instructions
/// (callgrind). What a document accepts is unchanged: [`inline_shared`] undoes this, and
/// a test checks that it gives back the schema before.
///
/// Largest first, then again on what is left, until nothing repeats: a subschema inside
/// a larger repeated one counts once after that one is shared.
pub fn share_repeated(schema: &mut Value) -> Result<(), String> {
    let Some(root) = schema.as_object() else {
        return Ok(());
    };
    if let Some(defs) = root.get("definitions").and_then(Value::as_object)
        && defs.keys().any(|k| k.starts_with(SHARED))
    {
        return Err(format!(
            "the schema already has definitions named {SHARED}*"
        ));
    }
    let mut shared = Vec::new();
    loop {
        let mut counts = std::collections::HashMap::new();
        for_each_subschema(schema, &mut |s| {
            let text = s.to_string();
            if text.len() >= SHARE_MIN_BYTES {
                *counts.entry(text).or_insert(0usize) += 1;
            }
        });
        for def in &shared {
            for_each_subschema(def, &mut |s| {
                let text = s.to_string();
                if text.len() >= SHARE_MIN_BYTES {
                    *counts.entry(text).or_insert(0usize) += 1;
                }
            });
        }
        // The longest repeated text; of equal lengths, the first in text order (the
        // output must not depend on the map's order).
        let Some(best) = counts
            .into_iter()
            .filter(|(_, n)| *n >= 2)
            .map(|(text, _)| text)
            .max_by(|a, b| a.len().cmp(&b.len()).then_with(|| b.cmp(a)))
        else {
            break;
        };
        let target: Value =
            serde_json::from_str(&best).map_err(|e| format!("re-reading a subschema: {e}"))?;
        let reference = json!({ "$ref": format!("#/definitions/{SHARED}{}", shared.len() + 1) });
        replace_subschemas(schema, &target, &reference);
        for def in &mut shared {
            replace_subschemas(def, &target, &reference);
        }
        shared.push(target);
    }
    if shared.is_empty() {
        return Ok(());
    }
    let defs = schema
        .as_object_mut()
        .map(|m| m.entry("definitions").or_insert_with(|| json!({})));
    let Some(Value::Object(defs)) = defs else {
        return Err("the schema's `definitions` is not an object".into());
    };
    for (i, def) in shared.into_iter().enumerate() {
        defs.insert(format!("{SHARED}{}", i + 1), def);
    }
    Ok(())
}

/// The inverse of [`share_repeated`]: every `$ref` to a shared definition replaced by
/// the definition (itself inlined), and the shared definitions removed.
pub fn inline_shared(schema: &Value) -> Value {
    let defs = schema.get("definitions").cloned().unwrap_or(Value::Null);
    fn inline(v: &Value, defs: &Value) -> Value {
        match v {
            Value::Object(m) => {
                if let Some(name) = m
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix("#/definitions/"))
                    .filter(|n| n.starts_with(SHARED))
                    && let Some(def) = defs.get(name)
                {
                    return inline(def, defs);
                }
                Value::Object(
                    m.iter()
                        .map(|(k, x)| (k.clone(), inline(x, defs)))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(|x| inline(x, defs)).collect()),
            other => other.clone(),
        }
    }
    let mut out = inline(schema, &defs);
    if let Some(Value::Object(d)) = out.get_mut("definitions") {
        d.retain(|k, _| !k.starts_with(SHARED));
        if d.is_empty()
            && let Some(m) = out.as_object_mut()
        {
            m.remove("definitions");
        }
    }
    out
}

/// Draft 7 keywords whose value is one subschema, and those whose value is a map or a
/// list of subschemas. Everything else (`enum`, `required`, `default`...) is data.
const ONE_SUBSCHEMA: &[&str] = &[
    "items",
    "additionalItems",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
];
const MAP_OF_SUBSCHEMAS: &[&str] = &["properties", "patternProperties", "definitions"];
const LIST_OF_SUBSCHEMAS: &[&str] = &["allOf", "anyOf", "oneOf", "items"];

/// Calls `f` on every subschema below `schema` (not on `schema` itself, and not on the
/// root's `definitions`, which [`share_repeated`] fills), parents before children.
fn for_each_subschema(schema: &Value, f: &mut impl FnMut(&Value)) {
    fn below(schema: &Value, root: bool, f: &mut impl FnMut(&Value)) {
        let Value::Object(map) = schema else { return };
        for (key, value) in map {
            let key = key.as_str();
            let children: Vec<&Value> = match value {
                Value::Object(m) if MAP_OF_SUBSCHEMAS.contains(&key) => {
                    if root && key == "definitions" {
                        continue;
                    }
                    m.values().collect()
                }
                Value::Object(_) if ONE_SUBSCHEMA.contains(&key) => vec![value],
                Value::Array(items) if LIST_OF_SUBSCHEMAS.contains(&key) => items.iter().collect(),
                _ => continue,
            };
            for child in children.into_iter().filter(|c| c.is_object()) {
                f(child);
                below(child, false, f);
            }
        }
    }
    below(schema, true, f)
}

/// Replaces each subschema of `schema` equal to `target` by `reference`, outermost
/// first (a replaced one is not looked into).
fn replace_subschemas(schema: &mut Value, target: &Value, reference: &Value) {
    fn below(schema: &mut Value, root: bool, target: &Value, reference: &Value) {
        let Value::Object(map) = schema else { return };
        for (key, value) in map.iter_mut() {
            let key = key.as_str();
            let children: Vec<&mut Value> = match value {
                Value::Object(m) if MAP_OF_SUBSCHEMAS.contains(&key) => {
                    if root && key == "definitions" {
                        continue;
                    }
                    m.values_mut().collect()
                }
                Value::Object(_) if ONE_SUBSCHEMA.contains(&key) => vec![value],
                Value::Array(items) if LIST_OF_SUBSCHEMAS.contains(&key) => {
                    items.iter_mut().collect()
                }
                _ => continue,
            };
            for child in children.into_iter().filter(|c| c.is_object()) {
                if *child == *target {
                    *child = reference.clone();
                } else {
                    below(child, false, target, reference);
                }
            }
        }
    }
    below(schema, true, target, reference)
}

/// Removes the `description` keyword of every subschema. A property that is *named*
/// `description` (a key of `properties`) stays, and values that are data (`enum`,
/// `const`, `default`, `examples`) are left as they are.
pub fn strip_descriptions(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            map.remove("description");
            for (key, child) in map.iter_mut() {
                match key.as_str() {
                    "properties" | "patternProperties" | "definitions" | "$defs" => {
                        if let Value::Object(named) = child {
                            named.values_mut().for_each(strip_descriptions);
                        }
                    }
                    "enum" | "const" | "default" | "examples" | "example" => {}
                    _ => strip_descriptions(child),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_descriptions),
        _ => {}
    }
}
