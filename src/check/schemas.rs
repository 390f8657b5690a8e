//! The Kubernetes and Argo Rollouts schemas, embedded in the binary (an installed binary
//! cannot see the repository) and compiled once. Origin and licence:
//! `schemas/LICENSE-NOTICE.md`.

use anyhow::{Context, Result};
use jsonschema::{Draft, Validator};
use serde_json::{Value, json};

/// The kinds we have a schema for, with the one apiVersion each is checked at.
pub const KINDS: &[(&str, &str, Kind)] = &[
    ("Rollout", "argoproj.io/v1alpha1", Kind::Rollout),
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
    Deployment,
    Service,
    Job,
    ConfigMap,
    Secret,
    ServiceAccount,
    Role,
    RoleBinding,
}

const ROLLOUT: &str = include_str!("../../schemas/argo-rollouts/rollout.strict.schema.json");
const POD_TEMPLATE_SPEC: &str =
    include_str!("../../schemas/kubernetes-v1.32/podtemplatespec-v1.json");
const JOB: &str = include_str!("../../schemas/kubernetes-v1.32/job-batch-v1.json");
const DEPLOYMENT: &str = include_str!("../../schemas/kubernetes-v1.32/deployment-apps-v1.json");
const SERVICE: &str = include_str!("../../schemas/kubernetes-v1.32/service-v1.json");
const CONFIG_MAP: &str = include_str!("../../schemas/kubernetes-v1.32/configmap-v1.json");
const SECRET: &str = include_str!("../../schemas/kubernetes-v1.32/secret-v1.json");
const SERVICE_ACCOUNT: &str = include_str!("../../schemas/kubernetes-v1.32/serviceaccount-v1.json");
const ROLE: &str = include_str!("../../schemas/kubernetes-v1.32/role-rbac-v1.json");
const ROLE_BINDING: &str = include_str!("../../schemas/kubernetes-v1.32/rolebinding-rbac-v1.json");

/// Where the Job and Deployment schemas inline their pod template, a copy of
/// PodTemplateSpec.
const INLINED_TEMPLATE: &str = "/properties/spec/properties/template";

pub struct Schema {
    pub validator: Validator,
    /// The schema as compiled, to name allowed fields and forms in messages.
    pub raw: Value,
}

pub struct Schemas {
    pub rollout: Schema,
    pub pod_template_spec: Schema,
    /// The Job schema without its pod template (see [`Schemas::compile`]).
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
    /// Parses and compiles every schema.
    ///
    /// The Job schema is 680 KB because it inlines a full copy of PodTemplateSpec at
    /// `spec.template`: that copy is about nine tenths of its compile time (measured ~3 ms
    /// of ~3.3 ms), while validating a Job costs the same either way (~0.5 us). As
    /// PodTemplateSpec is compiled anyway (for the Rollout's template), the copy is cut
    /// out here and a Job's `spec.template` is validated against PodTemplateSpec instead:
    /// the same constraints (a test checks that the copy adds none), compiled once.
    ///
    /// The two large schemas compile on a second thread.
    pub fn compile() -> Result<Self> {
        let (pod_template_spec, rest) = std::thread::scope(|scope| {
            let pts = scope.spawn(|| compile("PodTemplateSpec (v1)", parse(POD_TEMPLATE_SPEC)?));
            let rest = (|| -> Result<_> {
                let job = without_template(parse(JOB)?, "Job")?;
                let deployment = without_template(parse(DEPLOYMENT)?, "Deployment")?;
                Ok((
                    compile("Rollout (argoproj.io/v1alpha1)", parse(ROLLOUT)?)?,
                    compile("Job (batch/v1)", job)?,
                    compile("Deployment (apps/v1)", deployment)?,
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

/// The schema with its inlined pod template replaced by `{}` (anything goes there:
/// PodTemplateSpec checks it).
fn without_template(mut schema: Value, kind: &str) -> Result<Value> {
    let template = schema
        .pointer_mut(INLINED_TEMPLATE)
        .with_context(|| format!("the {kind} schema has no spec.template"))?;
    *template = json!({});
    Ok(schema)
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
    use super::*;
    use serde_json::Map;

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
        let job = parse(JOB).unwrap();
        let mut pts = parse(POD_TEMPLATE_SPEC).unwrap();
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
