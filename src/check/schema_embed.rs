//! How the Kubernetes and Argo Rollouts schemas are prepared for embedding, at build time
//! (`build.rs` includes this file): the pod templates the Job, Deployment, Rollout and
//! AnalysisTemplate schemas inline are cut out (see [`CUTS`]), descriptions are dropped and
//! the JSON is minified. 2.7 MB of JSON becomes 0.2 MB, and parsing it was most of the
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
];

/// The schema as embedded: `cut` replaced by `{}` (anything goes there: PodTemplateSpec
/// checks it), then without descriptions.
pub fn prepare(mut schema: Value, cut: Option<&str>) -> Result<Value, String> {
    if let Some(pointer) = cut {
        let template = schema
            .pointer_mut(pointer)
            .ok_or_else(|| format!("no pod template at {pointer}"))?;
        *template = json!({});
    }
    strip_descriptions(&mut schema);
    Ok(schema)
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
