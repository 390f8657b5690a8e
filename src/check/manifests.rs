//! The Kubernetes objects a pipeline deploys or runs (`deployManifest.manifests[]`,
//! `runJobManifest.manifest`), each validated against the schema its `apiVersion` and
//! `kind` select.

use super::schema_message::{self, Finding};
use super::schemas::{KINDS, Kind, Schema, Schemas};
use super::view::{Field, PipelineView, kind_of, quote, string_field};
use super::{Report, path};
use crate::diag::Severity;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// One embedded manifest.
pub struct Found<'a> {
    /// `pipelines[0].stages[0].manifests[6]`
    pub path: String,
    /// The manifest as given to the validators (always an object) ...
    pub value: &'a Value,
    /// ... and as a map.
    pub manifest: &'a Map<String, Value>,
    /// Whether a `deployManifest` stage deploys it (rather than a Run Job running it).
    pub deployed: bool,
    /// Whether Orca evaluates `${...}` in it before use (`skipExpressionEvaluation` unset).
    pub evaluated: bool,
}

impl Found<'_> {
    pub fn kind(&self) -> Option<&str> {
        self.manifest.get("kind").and_then(Value::as_str)
    }

    pub fn name(&self) -> Option<&str> {
        self.manifest
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
    }
}

/// Every manifest of the pipeline, reporting `manifests` lists of the wrong shape. A
/// `runJobManifest`'s `manifest` of the wrong shape is `runjob.rs`'s to report.
pub fn collect<'a>(view: &PipelineView<'a>, report: &mut Report) -> Vec<Found<'a>> {
    let mut found = Vec::new();
    for stage in &view.stages {
        // With `source: "artifact"` the manifests come from an artifact at run time.
        if stage.str_field("source") == Some("artifact") {
            continue;
        }
        let evaluated = stage.stage.get("skipExpressionEvaluation") != Some(&Value::Bool(true));
        match stage.stage_type() {
            Some("deployManifest") => {
                let list_path = stage.field_path("manifests");
                let Some(items) = report.stage_array(
                    stage,
                    "manifests",
                    "a deployManifest stage needs `manifests`, the objects to deploy",
                ) else {
                    continue;
                };
                if items.is_empty() {
                    report.warning(
                        list_path.as_str(),
                        "`manifests` is empty: this stage deploys nothing",
                    );
                }
                for (i, item) in items.iter().enumerate() {
                    let item_path = path::index(&list_path, i);
                    match item {
                        Value::Object(manifest) => found.push(Found {
                            path: item_path,
                            value: item,
                            manifest,
                            deployed: true,
                            evaluated,
                        }),
                        other => report.error(
                            item_path,
                            format!("a manifest must be an object, got {}", kind_of(other)),
                        ),
                    }
                }
            }
            Some("runJobManifest") => {
                if let Some(value @ Value::Object(manifest)) = stage.stage.get("manifest") {
                    found.push(Found {
                        path: stage.field_path("manifest"),
                        value,
                        manifest,
                        deployed: false,
                        evaluated,
                    });
                }
            }
            _ => {}
        }
    }
    found
}

pub fn validate(schemas: &Schemas, found: &[Found], report: &mut Report) {
    for f in found {
        validate_one(schemas, f, report);
    }
}

fn validate_one(schemas: &Schemas, f: &Found, report: &mut Report) {
    let m = f.manifest;
    let kind_field = string_field(m, "kind");
    let api_field = string_field(m, "apiVersion");
    for (key, field) in [("apiVersion", &api_field), ("kind", &kind_field)] {
        if let Some(problem) = field.problem(key) {
            report.error(field.path(&f.path, key), problem);
        }
    }
    if !has_name(m) {
        report.error(
            &f.path,
            "the manifest has neither `metadata.name` nor `metadata.generateName`",
        );
    }
    let (Field::Ok(kind), Field::Ok(api_version)) = (kind_field, api_field) else {
        return;
    };
    let Some(&(_, expected_api, schema_kind)) = KINDS.iter().find(|(k, _, _)| *k == kind) else {
        unknown_kind(f, kind, api_version, report);
        return;
    };
    if api_version != expected_api {
        report.error(
            path::key(&f.path, "apiVersion"),
            format!(
                "a `{kind}` has apiVersion {} (Kubernetes 1.32), got {}",
                quote(expected_api),
                quote(api_version)
            ),
        );
        return;
    }
    let mut findings = Vec::new();
    let instance = f.value;
    // The Rollout CRD's own unknown fields are warnings: the API server drops them rather
    // than failing, which is worth knowing (a typo in `blueGreen` silently changes the
    // release) but is what the CRD allows.
    let unknown = if schema_kind == Kind::Rollout {
        Severity::Warning
    } else {
        Severity::Error
    };
    run(
        schemas.get(schema_kind),
        instance,
        &f.path,
        unknown,
        &mut findings,
        report,
    );
    // The Rollout, Job and Deployment schemas as embedded leave the pod template
    // unchecked (schema_embed.rs cuts it out): PodTemplateSpec checks it.
    if matches!(schema_kind, Kind::Rollout | Kind::Job | Kind::Deployment)
        && let Some(template) = instance.pointer("/spec/template")
    {
        let at = path::key(&path::key(&f.path, "spec"), "template");
        let pts = schemas.get(Kind::PodTemplateSpec);
        run(pts, template, &at, Severity::Error, &mut findings, report);
    }
    // So do an AnalysisTemplate's Job metrics (schemas.rs cuts their template out).
    if schema_kind == Kind::AnalysisTemplate
        && let Some(Value::Array(metrics)) = instance.pointer("/spec/metrics")
    {
        let list = path::key(&path::key(&f.path, "spec"), "metrics");
        for (i, metric) in metrics.iter().enumerate() {
            if let Some(template) = metric.pointer("/provider/job/spec/template") {
                let mut at = path::index(&list, i);
                for key in ["provider", "job", "spec", "template"] {
                    at = path::key(&at, key);
                }
                let pts = schemas.get(Kind::PodTemplateSpec);
                run(pts, template, &at, Severity::Error, &mut findings, report);
            }
        }
    }
    if f.evaluated {
        // `"replicas": "${ #toInt(parameters.replicas) }"` becomes an integer before
        // Kubernetes sees it (an expression that is the whole string keeps its result's
        // type); only the evaluated value could be checked.
        findings.retain(|(_, finding)| !finding.value_is_expression);
    }
    emit(findings, report);
}

fn has_name(m: &Map<String, Value>) -> bool {
    let Some(Value::Object(meta)) = m.get("metadata") else {
        return false;
    };
    ["name", "generateName"]
        .iter()
        .any(|k| matches!(string_field(meta, k), Field::Ok(_)))
}

fn unknown_kind(f: &Found, kind: &str, api_version: &str, report: &mut Report) {
    let at = path::key(&f.path, "kind");
    if let Some((known, _, _)) = KINDS.iter().find(|(k, _, _)| k.eq_ignore_ascii_case(kind)) {
        report.error(
            at,
            format!(
                "unknown kind {}: kinds are case-sensitive, did you mean {}?",
                quote(kind),
                quote(known)
            ),
        );
        return;
    }
    report.warning(
        at,
        format!(
            "kind {} (apiVersion {}) has no schema in kujira-gen, so this manifest is not validated",
            quote(kind),
            quote(api_version)
        ),
    );
}

/// Validates `instance`, skipping the error walk in the common case (valid). `unknown` is
/// the severity of a field the schema does not define.
/// `schema`'s findings on `instance`, into `out`; a schema that does not compile (never an
/// embedded one: a test compiles each) is an error of its own.
fn run(
    schema: Result<&Schema, &str>,
    instance: &Value,
    base: &str,
    unknown: Severity,
    out: &mut Vec<(Severity, Finding)>,
    report: &mut Report,
) {
    let schema = match schema {
        Ok(s) => s,
        Err(message) => {
            report.error(base, message);
            return;
        }
    };
    if schema.validator.is_valid(instance) {
        return;
    }
    for error in schema.validator.iter_errors(instance) {
        for finding in schema_message::findings(&error, instance, &schema.raw, base) {
            let severity = if finding.unknown_field {
                unknown
            } else {
                Severity::Error
            };
            out.push((severity, finding));
        }
    }
}

/// Reports one manifest's findings, sorted by path (jsonschema's order follows its
/// internal layout) and without repeats: a pod template checked by two schemas may show
/// the same problem to both. A warning where there is also an error says nothing more.
fn emit(mut findings: Vec<(Severity, Finding)>, report: &mut Report) {
    findings.sort_by(|(sa, a), (sb, b)| (&a.path, &a.message, sb).cmp(&(&b.path, &b.message, sa)));
    findings.dedup_by(|(_, b), (_, a)| a.path == b.path && a.message == b.message);
    let error_paths: HashSet<String> = findings
        .iter()
        .filter(|(s, _)| *s == Severity::Error)
        .map(|(_, f)| f.path.clone())
        .collect();
    for (severity, f) in findings {
        if severity == Severity::Warning && error_paths.contains(&f.path) {
            continue;
        }
        let d = report.add(severity, f.path, f.message);
        d.notes.extend(f.notes);
        if severity == Severity::Warning && f.unknown_field {
            d.notes.push(
                "the Rollout CRD does not define this field: the API server drops it, or rejects the object under strict field validation".to_string(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{check_json, variant};
    use insta::assert_snapshot;
    use serde_json::json;

    const DEPLOY: &str = "/pipelines/0/stages/0/manifests";

    #[test]
    fn manifests_of_the_wrong_shape() {
        let v = variant(&[
            (&format!("{DEPLOY}/3"), Some(json!(null))),
            (
                "/pipelines/0/stages/1/manifest",
                Some(json!({"kind": "Job"})),
            ),
        ]);
        assert_snapshot!(check_json(v));
    }

    #[test]
    fn manifests_missing_or_not_a_list() {
        let mut v = variant(&[]);
        let mut second = v["pipelines"][0].clone();
        second["name"] = json!("other");
        second["stages"][0]["manifests"] = json!({"kind": "Service"});
        v["pipelines"][0]["stages"][0]
            .as_object_mut()
            .unwrap()
            .remove("manifests");
        v["pipelines"].as_array_mut().unwrap().push(second);
        // Without the manifests the Rollout's Services are gone too: only shape problems.
        let out = check_json(v);
        assert_snapshot!(out);
    }

    #[test]
    fn artifact_sourced_manifests_are_not_required() {
        let v = variant(&[
            ("/pipelines/0/stages/0/source", Some(json!("artifact"))),
            (
                "/pipelines/0/stages/0/manifestArtifactId",
                Some(json!("a1")),
            ),
            ("/pipelines/0/stages/0/manifests", None),
            ("/pipelines/0/stages/4/stageEnabled", None),
        ]);
        assert_eq!(check_json(v), "");
    }

    #[test]
    fn schema_errors_in_plain_words() {
        let v = variant(&[
            (&format!("{DEPLOY}/4/spec/ports/0/port"), Some(json!("80"))),
            (&format!("{DEPLOY}/4/spec/foo"), Some(json!(1))),
            (&format!("{DEPLOY}/4/spec/type"), Some(json!(["ClusterIP"]))),
            (&format!("{DEPLOY}/2/roleRef"), None),
            (&format!("{DEPLOY}/3/data/collection.json"), Some(json!(3))),
            (
                "/pipelines/0/stages/2/manifest/spec/template/spec/containers/0/volumeMounts/0/mountpath",
                Some(json!("/x")),
            ),
            (
                "/pipelines/0/stages/2/manifest/spec/backoffLimit",
                Some(json!("0")),
            ),
        ]);
        assert_snapshot!(check_json(v));
    }

    #[test]
    fn rollout_pod_template_and_crd_problems() {
        let t = format!("{DEPLOY}/6/spec/template/spec/containers/0");
        let v = variant(&[
            // The template is PodTemplateSpec's to check (the CRD's copy is cut out).
            (&format!("{t}/resources/limits"), Some(json!("256Mi"))),
            (&format!("{t}/ports/0/containerPort"), Some(json!("8080"))),
            (&format!("{t}/imagePullPolicy"), Some(json!(1))),
            // An unknown field in the pod template: an error (PodTemplateSpec).
            (&format!("{t}/livenessprobe"), Some(json!({}))),
            // An unknown field of the Rollout itself: a warning (the CRD prunes it).
            (
                &format!("{DEPLOY}/6/spec/strategy/blueGreen/autoPromotionEnable"),
                Some(json!(false)),
            ),
            (&format!("{DEPLOY}/6/spec/replicas"), Some(json!("2"))),
        ]);
        assert_snapshot!(check_json(v));
    }

    #[test]
    fn spel_expressions_are_checked_only_when_orca_does_not_evaluate_them() {
        let replicas = format!("{DEPLOY}/6/spec/replicas");
        let expr = json!("${ #toInt(parameters.replicas) }");
        let evaluated = variant(&[(&replicas, Some(expr.clone()))]);
        assert_eq!(check_json(evaluated), "");
        let literal = variant(&[
            (&replicas, Some(expr)),
            (
                "/pipelines/0/stages/0/skipExpressionEvaluation",
                Some(json!(true)),
            ),
        ]);
        assert_snapshot!(check_json(literal));
    }

    #[test]
    fn job_pod_template_is_checked() {
        let v = variant(&[
            (
                "/pipelines/0/stages/1/manifest/spec/template/spec/containers",
                Some(json!([{"image": "x", "name": 5}])),
            ),
            (
                "/pipelines/0/stages/1/manifest/spec/template/spec/restartPolicy",
                Some(json!(false)),
            ),
            (
                "/pipelines/0/stages/4/manifest/spec/template",
                Some(json!("pod")),
            ),
            ("/pipelines/0/stages/5/manifest/spec/template", None),
        ]);
        assert_snapshot!(check_json(v));
    }

    #[test]
    fn kinds_and_api_versions() {
        let v = variant(&[
            (&format!("{DEPLOY}/0/apiVersion"), Some(json!("v2"))),
            (&format!("{DEPLOY}/1/kind"), Some(json!("role"))),
            (
                &format!("{DEPLOY}/-"),
                Some(
                    json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                    "metadata": {"name": "sample"}, "spec": {"maxUnavailable": 1}}),
                ),
            ),
            (&format!("{DEPLOY}/3/kind"), None),
            (&format!("{DEPLOY}/3/apiVersion"), Some(json!(1))),
            (
                "/pipelines/0/stages/2/manifest/apiVersion",
                Some(json!("batch/v1beta1")),
            ),
        ]);
        assert_snapshot!(check_json(v));
    }

    #[test]
    fn manifests_need_a_name() {
        let v = variant(&[
            (&format!("{DEPLOY}/0/metadata/name"), None),
            ("/pipelines/0/stages/1/manifest/metadata", None),
        ]);
        assert_snapshot!(check_json(v));
    }

    #[test]
    fn secret_values_never_appear() {
        let v = variant(&[
            (
                &format!("{DEPLOY}/-"),
                Some(json!({"apiVersion": "v1", "kind": "Secret",
                    "metadata": {"name": "sample-db"},
                    "stringData": {"url": 5432, "password": true},
                    "data": {"token": ["c2VjcmV0"]}})),
            ),
            (
                &format!("{DEPLOY}/6/spec/template/spec/containers/0/env/0"),
                Some(json!({"name": "API_TOKEN", "value": 123456789})),
            ),
        ]);
        let out = check_json(v);
        for leaked in ["5432", "true", "c2VjcmV0", "123456789"] {
            assert!(!out.contains(leaked), "{leaked} leaked:\n{out}");
        }
        assert_snapshot!(out);
    }
}
