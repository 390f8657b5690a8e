//! The Kubernetes and Argo Rollouts schemas, embedded in the binary (an installed binary
//! cannot see the repository) and compiled once. Origin and licence:
//! `schemas/LICENSE-NOTICE.md`.

use anyhow::{Context, Result};
use jsonschema::{Draft, Validator};
use serde_json::Value;

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

pub struct Schema {
    pub validator: Validator,
    /// The schema as compiled, to name allowed fields and forms in messages.
    pub raw: Value,
}

pub struct Schemas {
    pub rollout: Schema,
    pub analysis_template: Schema,
    pub pod_template_spec: Schema,
    /// The Job schema without its pod template (`schema_embed.rs` cuts it out at build time).
    pub job: Schema,
    /// The Deployment schema without its pod template, likewise.
    pub deployment: Schema,
    pub service: Schema,
    pub config_map: Schema,
    pub secret: Schema,
    pub service_account: Schema,
    pub role: Schema,
    pub role_binding: Schema,
}

impl Schemas {
    /// Parses and compiles every schema. The two large schemas compile on a second thread.
    pub fn compile() -> Result<Self> {
        let (pod_template_spec, rest) = std::thread::scope(|scope| {
            let pts = scope.spawn(|| compile("PodTemplateSpec (v1)", parse(POD_TEMPLATE_SPEC)?));
            let rest = (|| -> Result<_> {
                Ok((
                    compile("Rollout (argoproj.io/v1alpha1)", parse(ROLLOUT)?)?,
                    compile(
                        "AnalysisTemplate (argoproj.io/v1alpha1)",
                        parse(ANALYSIS_TEMPLATE)?,
                    )?,
                    compile("Job (batch/v1)", parse(JOB)?)?,
                    compile("Deployment (apps/v1)", parse(DEPLOYMENT)?)?,
                    compile("Service (v1)", parse(SERVICE)?)?,
                    compile("ConfigMap (v1)", parse(CONFIG_MAP)?)?,
                    compile("Secret (v1)", parse(SECRET)?)?,
                    compile("ServiceAccount (v1)", parse(SERVICE_ACCOUNT)?)?,
                    compile("Role (rbac.authorization.k8s.io/v1)", parse(ROLE)?)?,
                    compile(
                        "RoleBinding (rbac.authorization.k8s.io/v1)",
                        parse(ROLE_BINDING)?,
                    )?,
                ))
            })();
            let pts = pts
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("compiling PodTemplateSpec panicked")));
            (pts, rest)
        });
        let (
            rollout,
            analysis_template,
            job,
            deployment,
            service,
            config_map,
            secret,
            service_account,
            role,
            role_binding,
        ) = rest?;
        Ok(Self {
            rollout,
            analysis_template,
            pod_template_spec: pod_template_spec?,
            job,
            deployment,
            service,
            config_map,
            secret,
            service_account,
            role,
            role_binding,
        })
    }

    pub fn get(&self, kind: Kind) -> &Schema {
        match kind {
            Kind::Rollout => &self.rollout,
            Kind::AnalysisTemplate => &self.analysis_template,
            Kind::Service => &self.service,
            Kind::Job => &self.job,
            Kind::Deployment => &self.deployment,
            Kind::ConfigMap => &self.config_map,
            Kind::Secret => &self.secret,
            Kind::ServiceAccount => &self.service_account,
            Kind::Role => &self.role,
            Kind::RoleBinding => &self.role_binding,
        }
    }
}

fn parse(text: &str) -> Result<Value> {
    serde_json::from_str(text).context("an embedded schema is not valid JSON")
}

/// Draft 7 is forced: the yannh schemas declare `$schema: http://json-schema.org/schema#`,
/// which jsonschema would read as the latest draft (2020-12), whose `format` is only an
/// annotation.
fn compile(name: &'static str, raw: Value) -> Result<Schema> {
    let validator = jsonschema::options()
        .with_draft(Draft::Draft7)
        .build(&raw)
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
            other => panic!("no embedded schema {other}"),
        }
    }

    /// What is embedded is the source with its pod template cut out and nothing else
    /// removed but descriptions: every constraint is still there.
    #[test]
    fn the_embedded_schemas_are_the_sources_without_descriptions() {
        for (name, file, cut) in CUTS {
            let embedded = parse(embedded_text(name)).unwrap();
            let mut original = source(file);
            if let Some(pointer) = cut {
                *original.pointer_mut(pointer).unwrap() = json!({});
            }
            let mut out = Vec::new();
            differences(&original, &embedded, "", &mut out);
            assert_eq!(out, Vec::<String>::new(), "{file}");
            assert!(
                embedded.to_string().len() < original.to_string().len(),
                "{file}"
            );
            assert!(
                !embedded.to_string().contains("\"description\":\""),
                "{file}"
            );
            // And what build.rs wrote is current.
            assert_eq!(
                schema_embed::prepare(source(file), *cut),
                Ok(embedded),
                "{file}"
            );
        }
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
        let s = Schemas::compile().unwrap();
        for (_, _, kind) in KINDS {
            assert!(s.get(*kind).raw.is_object());
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
        let s = Schemas::compile().unwrap();
        let template = generated_analysis_template();
        assert_eq!(template["kind"], "AnalysisTemplate");
        let errors: Vec<String> = s
            .analysis_template
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

    /// With draft 7 forced, `format` asserts: a bad date-time is an error.
    #[test]
    fn draft_7_is_in_force() {
        let s = Schemas::compile().unwrap();
        let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "a", "creationTimestamp": "yesterday"}});
        assert!(!s.service_account.validator.is_valid(&sa));
        let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "a", "creationTimestamp": "2026-01-01T00:00:00Z"}});
        assert!(s.service_account.validator.is_valid(&sa));
    }
}
