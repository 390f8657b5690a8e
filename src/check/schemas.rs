//! The Kubernetes and Argo Rollouts schemas, embedded in the binary (an installed binary
//! cannot see the repository) and compiled once per process, each when first needed or
//! by [`warm_up`]'s thread, whichever comes first. Origin and licence:
//! `schemas/LICENSE-NOTICE.md`.

use anyhow::{Context, Result};
use jsonschema::{Draft, Validator};
use serde_json::Value;
use std::sync::{Once, OnceLock};

/// The kinds we have a schema for, with the one apiVersion each is checked at.
pub const KINDS: &[(&str, &str, Kind)] = &[
    ("Rollout", "argoproj.io/v1alpha1", Kind::Rollout),
    (
        "AnalysisTemplate",
        "argoproj.io/v1alpha1",
        Kind::AnalysisTemplate,
    ),
    ("Deployment", "apps/v1", Kind::Deployment),
    ("Service", "v1", Kind::Service),
    ("Job", "batch/v1", Kind::Job),
    ("ConfigMap", "v1", Kind::ConfigMap),
    ("Secret", "v1", Kind::Secret),
    ("ServiceAccount", "v1", Kind::ServiceAccount),
    ("Role", "rbac.authorization.k8s.io/v1", Kind::Role),
    (
        "RoleBinding",
        "rbac.authorization.k8s.io/v1",
        Kind::RoleBinding,
    ),
    // The SLOs' rules (templates/release/slo_rules.libsonnet, docs/slo-alerts.md).
    (
        "PrometheusRule",
        "monitoring.coreos.com/v1",
        Kind::PrometheusRule,
    ),
    ("Rules", "monitoring.googleapis.com/v1", Kind::GmpRules),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Rollout,
    AnalysisTemplate,
    Deployment,
    Service,
    Job,
    ConfigMap,
    Secret,
    ServiceAccount,
    Role,
    RoleBinding,
    /// prometheus-operator's PrometheusRule.
    PrometheusRule,
    /// Google Cloud Managed Service for Prometheus' `Rules`.
    GmpRules,
    /// Not a manifest's kind (not in [`KINDS`]): the pod template of Rollouts, Jobs,
    /// Deployments and AnalysisTemplate Job metrics, checked on its own.
    PodTemplateSpec,
}

/// The schemas as `build.rs` prepared them (`schema_embed.rs`: pod template copies cut
/// out, no descriptions, minified).
macro_rules! embedded {
    ($name:literal) => {
        include_str!(concat!(env!("OUT_DIR"), "/", $name))
    };
}
const ROLLOUT: &str = embedded!("rollout.json");
const ANALYSIS_TEMPLATE: &str = embedded!("analysis-template.json");
const POD_TEMPLATE_SPEC: &str = embedded!("pod-template-spec.json");
const JOB: &str = embedded!("job.json");
const DEPLOYMENT: &str = embedded!("deployment.json");
const SERVICE: &str = embedded!("service.json");
const CONFIG_MAP: &str = embedded!("config-map.json");
const SECRET: &str = embedded!("secret.json");
const SERVICE_ACCOUNT: &str = embedded!("service-account.json");
const ROLE: &str = embedded!("role.json");
const ROLE_BINDING: &str = embedded!("role-binding.json");
const PROMETHEUS_RULE: &str = embedded!("prometheus-rule.json");
const GMP_RULES: &str = embedded!("gmp-rules.json");

pub struct Schema {
    pub validator: Validator,
    /// The schema as compiled, to name allowed fields and forms in messages.
    pub raw: Value,
}

/// Every schema with the name its messages give it, in the order [`warm_up`] compiles
/// them: first what the built-in templates' bundles need, the largest first.
const SOURCES: [(Kind, &str, &str); 13] = [
    (
        Kind::PodTemplateSpec,
        "PodTemplateSpec (v1)",
        POD_TEMPLATE_SPEC,
    ),
    (Kind::Rollout, "Rollout (argoproj.io/v1alpha1)", ROLLOUT),
    (Kind::Job, "Job (batch/v1)", JOB),
    (Kind::Deployment, "Deployment (apps/v1)", DEPLOYMENT),
    (Kind::Service, "Service (v1)", SERVICE),
    (Kind::ServiceAccount, "ServiceAccount (v1)", SERVICE_ACCOUNT),
    (Kind::Role, "Role (rbac.authorization.k8s.io/v1)", ROLE),
    (
        Kind::RoleBinding,
        "RoleBinding (rbac.authorization.k8s.io/v1)",
        ROLE_BINDING,
    ),
    (Kind::ConfigMap, "ConfigMap (v1)", CONFIG_MAP),
    (Kind::Secret, "Secret (v1)", SECRET),
    (
        Kind::AnalysisTemplate,
        "AnalysisTemplate (argoproj.io/v1alpha1)",
        ANALYSIS_TEMPLATE,
    ),
    (
        Kind::PrometheusRule,
        "PrometheusRule (monitoring.coreos.com/v1)",
        PROMETHEUS_RULE,
    ),
    (
        Kind::GmpRules,
        "Rules (monitoring.googleapis.com/v1)",
        GMP_RULES,
    ),
];

/// The compiled schemas, by position in [`SOURCES`]. Process-wide: they are the same for
/// every caller, and a static is never dropped (freeing the validators took as long as a
/// third of compiling them, at the end of every run).
static COMPILED: [OnceLock<Result<Schema, String>>; SOURCES.len()] =
    [const { OnceLock::new() }; SOURCES.len()];

/// Starts compiling every schema on a thread of its own, once per process, and returns at
/// once: a one-file `validate` then loads, checks and renders the value file while the
/// schemas compile (they were half its time, compiled before anything else). A schema
/// needed before the thread reaches it is compiled by whoever needs it; one being compiled
/// is waited for. The thread is not joined: at exit, nothing it does is lost.
pub fn warm_up() {
    static STARTED: Once = Once::new();
    STARTED.call_once(|| {
        // Without a thread (a limit on threads), each schema compiles when first needed.
        let _ = std::thread::Builder::new()
            .name("schemas".into())
            .spawn(|| {
                for (kind, _, _) in SOURCES {
                    let _ = Schemas.get(kind);
                }
            });
    });
}

/// The schemas, each compiled when first asked for (see [`warm_up`]).
pub struct Schemas;

impl Schemas {
    /// The schema of `kind`, or why it does not compile (an embedded schema always does:
    /// a test compiles each one).
    pub fn get(&self, kind: Kind) -> Result<&'static Schema, &'static str> {
        let i = SOURCES
            .iter()
            .position(|(k, _, _)| *k == kind)
            .unwrap_or_default();
        let (_, name, text) = SOURCES[i];
        COMPILED[i]
            .get_or_init(|| {
                parse(text)
                    .and_then(|raw| compile(name, raw))
                    .map_err(|e| format!("{e:#}"))
            })
            .as_ref()
            .map_err(String::as_str)
    }
}

fn parse(text: &str) -> Result<Value> {
    serde_json::from_str(text).context("an embedded schema is not valid JSON")
}

/// Draft 7 is forced: the yannh schemas declare `$schema: http://json-schema.org/schema#`,
/// which jsonschema would read as the latest draft (2020-12), whose `format` is only an
/// annotation.
fn compile(name: &'static str, raw: Value) -> Result<Schema> {
    let validator = crate::trusted_schema::compile(&raw, Draft::Draft7)
        .map_err(|e| anyhow::anyhow!("cannot compile the {name} schema: {e}"))?;
    Ok(Schema { validator, raw })
}

#[cfg(test)]
mod tests {
    use super::super::schema_embed::{self, CUTS, INLINED_TEMPLATE};
    use super::*;
    use serde_json::{Map, json};

    /// A schema as it is in `schemas/`, before `build.rs` prepared it.
    fn source(file: &str) -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("schemas")
            .join(file);
        parse(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn embedded_text(name: &str) -> &'static str {
        match name {
            "rollout.json" => ROLLOUT,
            "analysis-template.json" => ANALYSIS_TEMPLATE,
            "pod-template-spec.json" => POD_TEMPLATE_SPEC,
            "job.json" => JOB,
            "deployment.json" => DEPLOYMENT,
            "service.json" => SERVICE,
            "config-map.json" => CONFIG_MAP,
            "secret.json" => SECRET,
            "service-account.json" => SERVICE_ACCOUNT,
            "role.json" => ROLE,
            "role-binding.json" => ROLE_BINDING,
            "prometheus-rule.json" => PROMETHEUS_RULE,
            "gmp-rules.json" => GMP_RULES,
            other => panic!("no embedded schema {other}"),
        }
    }

    /// What is embedded is the source with its pod template cut out and nothing else
    /// removed but descriptions: every constraint is still there, once the shared
    /// subschemas are put back in place.
    #[test]
    fn the_embedded_schemas_are_the_sources_without_descriptions() {
        for (name, file, cut) in CUTS {
            let embedded = parse(embedded_text(name)).unwrap();
            let inlined = schema_embed::inline_shared(&embedded);
            let mut original = source(file);
            if let Some(pointer) = cut {
                *original.pointer_mut(pointer).unwrap() = json!({});
            }
            let mut out = Vec::new();
            differences(&original, &inlined, "", &mut out);
            assert_eq!(out, Vec::<String>::new(), "{file}");
            assert!(
                embedded.to_string().len() < original.to_string().len(),
                "{file}"
            );
            assert!(
                !embedded.to_string().contains("\"description\":\""),
                "{file}"
            );
            // Only repeated subschemas are shared, each at least twice.
            let text = embedded.to_string();
            for (def, _) in embedded["definitions"].as_object().into_iter().flatten() {
                if def.starts_with(schema_embed::SHARED) {
                    let uses = text.matches(&format!("\"#/definitions/{def}\"")).count();
                    assert!(uses >= 2, "{file}: {def} used {uses} times");
                }
            }
            // And what build.rs wrote is current.
            assert_eq!(
                schema_embed::prepare(source(file), *cut),
                Ok(embedded),
                "{file}"
            );
        }
    }

    /// Repeated subschemas go to `definitions`, largest first; data that looks like a
    /// schema (`enum`, `default`), the root and short subschemas stay; inlining gives the
    /// schema back.
    #[test]
    fn repeated_subschemas_are_shared() {
        let probe = json!({"type": "object", "additionalProperties": false,
            "properties": {"port": {"type": "integer", "format": "int32"},
                           "path": {"type": "string", "pattern": "^/[a-z0-9/._-]*$"},
                           "scheme": {"type": "string", "enum": ["HTTP", "HTTPS"]}}});
        let original = json!({"type": "object", "properties": {
            "liveness": probe, "readiness": probe,
            "checks": {"type": "array", "items": probe},
            "small": {"type": "string"}, "other": {"type": "string"},
            "data": {"enum": [probe, probe]}, "default": probe}});
        let mut schema = original.clone();
        schema_embed::share_repeated(&mut schema).unwrap();
        let r = json!({"$ref": "#/definitions/kujira-shared-1"});
        assert_eq!(
            schema,
            json!({"type": "object", "properties": {
                "liveness": r, "readiness": r, "checks": {"type": "array", "items": r},
                "small": {"type": "string"}, "other": {"type": "string"},
                "data": {"enum": [probe, probe]}, "default": r},
                "definitions": {"kujira-shared-1": probe}})
        );
        assert_eq!(schema_embed::inline_shared(&schema), original);
        // Nothing repeats: nothing changes.
        let mut lone = json!({"properties": {"a": probe}});
        schema_embed::share_repeated(&mut lone).unwrap();
        assert_eq!(lone, json!({"properties": {"a": probe}}));
    }

    /// A property named `description` is not the keyword: it stays, with its own schema
    /// stripped; data (`enum`, `default`) is left alone.
    #[test]
    fn only_the_description_keyword_is_stripped() {
        let mut schema = json!({"description": "d", "type": "object",
            "properties": {"description": {"type": "string", "description": "d"}},
            "items": [{"description": "d", "enum": [{"description": "kept"}]}],
            "default": {"description": "kept"}});
        schema_embed::strip_descriptions(&mut schema);
        assert_eq!(
            schema,
            json!({"type": "object", "properties": {"description": {"type": "string"}},
                "items": [{"enum": [{"description": "kept"}]}],
                "default": {"description": "kept"}})
        );
    }

    /// Where `wide` differs from `narrow`, ignoring descriptions: keys only in one of them,
    /// or different scalars, as JSON pointers.
    fn differences(narrow: &Value, wide: &Value, at: &str, out: &mut Vec<String>) {
        match (narrow, wide) {
            (Value::Object(a), Value::Object(b)) => {
                let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
                for k in keys {
                    if k == "description" {
                        continue;
                    }
                    let here = format!("{at}/{k}");
                    match (a.get(k), b.get(k)) {
                        (Some(x), Some(y)) => differences(x, y, &here, out),
                        (Some(_), None) => out.push(format!("only in Job: {here}")),
                        (None, Some(_)) => out.push(format!("only in PodTemplateSpec: {here}")),
                        (None, None) => {}
                    }
                }
            }
            (x, y) if x != y => out.push(format!("differs: {at}")),
            _ => {}
        }
    }

    /// Validating a Job's template against PodTemplateSpec instead of the Job schema's own
    /// copy must lose no constraint. The copy is PodTemplateSpec minus one `maxLength`
    /// (63, the DNS label limit Kubernetes enforces on every container name anyway).
    #[test]
    fn the_job_schemas_pod_template_is_pod_template_spec() {
        let job = source("kubernetes-v1.32/job-batch-v1.json");
        let mut pts = source("kubernetes-v1.32/podtemplatespec-v1.json");
        pts.as_object_mut()
            .map(|m: &mut Map<String, Value>| m.remove("$schema"));
        let mut out = Vec::new();
        differences(job.pointer(INLINED_TEMPLATE).unwrap(), &pts, "", &mut out);
        assert_eq!(
            out,
            vec![
                "only in PodTemplateSpec: /properties/spec/properties/initContainers/items/properties/name/maxLength"
            ]
        );
    }

    #[test]
    fn every_schema_compiles_and_the_yannh_ones_declare_the_versionless_draft() {
        let kinds = KINDS.iter().map(|(_, _, k)| *k);
        for kind in kinds.chain([Kind::PodTemplateSpec]) {
            let i = SOURCES.iter().position(|(k, _, _)| *k == kind);
            assert!(i.is_some(), "{kind:?} has no source");
            let raw = &Schemas.get(kind).unwrap().raw;
            // Compiling skips the meta-schema check (`trusted_schema`): here it is.
            assert_eq!(
                crate::trusted_schema::meta_errors(raw, Draft::Draft7),
                Vec::<String>::new(),
                "{kind:?}"
            );
        }
        for text in [JOB, SERVICE, POD_TEMPLATE_SPEC, DEPLOYMENT] {
            assert_eq!(
                parse(text).unwrap()["$schema"],
                "http://json-schema.org/schema#"
            );
        }
    }

    /// An AnalysisTemplate as templates/release/slo.libsonnet generates it, rendered with
    /// the embedded templates (bearer auth: its argument and header are in it too).
    fn generated_analysis_template() -> Value {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("main.jsonnet"),
            "local normalize = import 'release/values.libsonnet';\n\
             local slo = import 'release/slo.libsonnet';\n\
             local platform = (import 'slo-platform.libsonnet') + { provider: { address: 'http://prometheus:9090',\n\
               auth: { type: 'bearer', secret: 'prometheus-reader', key: 'token' } } };\n\
             function(values) local r = normalize(values);\n\
               slo.analysisTemplates(r, slo.normalize(values.SLO, r, platform))[0]\n",
        )
        .unwrap();
        let renderer =
            crate::render::Renderer::new(crate::render::Resolver::new(Some(dir.path()), &[]));
        let values = json!({"Application": "sample", "Email": "a@example.com",
            "Notification": "c", "Account": "k", "Image": "gcr.io/p/sample",
            "SLO": {"Objectives": {
                "availability": {"Type": "Availability", "Objective": 99.9, "Metric": "http_requests_total"},
                "latency": {"Type": "Latency", "Objective": 99, "ThresholdSeconds": 0.3,
                            "Metric": "http_request_duration_seconds"}}}});
        renderer.render(&values).ok().unwrap()
    }

    #[test]
    fn a_generated_analysis_template_validates() {
        let template = generated_analysis_template();
        assert_eq!(template["kind"], "AnalysisTemplate");
        let errors: Vec<String> = Schemas
            .get(Kind::AnalysisTemplate)
            .unwrap()
            .validator
            .iter_errors(&template)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }

    /// Deployed by a pipeline, a broken AnalysisTemplate is reported by the output checks,
    /// unknown fields included (errors, unlike the Rollout's: a dropped
    /// `successCondition` would make the analysis pass on anything).
    #[test]
    fn a_broken_analysis_template_is_reported() {
        let mut template = generated_analysis_template();
        let metric = &mut template["spec"]["metrics"][0];
        metric["successCondition"] = json!(true);
        metric["sucessCondition"] = json!("result[0] >= 0.999");
        metric["provider"]["prometheus"]["timeout"] = json!("30s");
        template["spec"]["args"][0]["valueFrom"] = json!({"podTemplateHashValue": "Latest"});
        // A Job metric's pod template is checked against PodTemplateSpec.
        template["spec"]["metrics"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "smoke", "provider": {"job": {"spec": {"backoffLimit": 0,
                "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": 5, "image": "x"}]}}}}}}));
        let v = super::super::fixture::variant(&[(
            "/pipelines/0/stages/0/manifests/-",
            Some(template),
        )]);
        insta::assert_snapshot!(super::super::fixture::check_json(v));
    }

    /// The SLO rule resources (templates/release/slo_rules.libsonnet) against their CRDs:
    /// a valid one passes; a misspelt rule field is an error (the API server would drop
    /// it), and so is a rule without `expr`.
    #[test]
    fn rule_resources_are_checked_against_their_crds() {
        let group = json!({"name": "kujira-slo-shop-availability", "interval": "30s", "rules": [
            {"record": "kujira_slo:sli_error:ratio_rate5m", "expr": "1 - 0.5", "labels": {"kujira_slo": "availability"}},
            {"alert": "KujiraSLOErrorBudgetBurn", "expr": "x > (14.4 * 0.001)",
             "labels": {"severity": "page"}, "annotations": {"summary": "s"}}]});
        for (kind, api_version, schema_kind) in [
            (
                "PrometheusRule",
                "monitoring.coreos.com/v1",
                Kind::PrometheusRule,
            ),
            ("Rules", "monitoring.googleapis.com/v1", Kind::GmpRules),
        ] {
            assert!(
                KINDS.contains(&(kind, api_version, schema_kind)),
                "{kind} is a checked kind"
            );
            let resource = json!({"apiVersion": api_version, "kind": kind,
                "metadata": {"name": "shop-slo-rules", "namespace": "shop"},
                "spec": {"groups": [group.clone()]}});
            let validator = &Schemas.get(schema_kind).unwrap().validator;
            assert!(validator.is_valid(&resource), "{kind}");
            let mut misspelt = resource.clone();
            misspelt["spec"]["groups"][0]["rules"][0]["recrod"] = json!("x");
            assert!(!validator.is_valid(&misspelt), "{kind}: recrod");
            let mut no_expr = resource.clone();
            no_expr["spec"]["groups"][0]["rules"][1]
                .as_object_mut()
                .unwrap()
                .remove("expr");
            assert!(!validator.is_valid(&no_expr), "{kind}: expr");
        }
    }

    /// With draft 7 forced, `format` asserts: a bad date-time is an error.
    #[test]
    fn draft_7_is_in_force() {
        let s = Schemas.get(Kind::ServiceAccount).unwrap();
        let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "a", "creationTimestamp": "yesterday"}});
        assert!(!s.validator.is_valid(&sa));
        let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "a", "creationTimestamp": "2026-01-01T00:00:00Z"}});
        assert!(s.validator.is_valid(&sa));
    }
}
