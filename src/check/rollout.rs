//! A blue-green Rollout switches traffic by re-pointing two Services: they must exist, so
//! the pipeline that deploys the Rollout must deploy them too, and they must differ (a
//! preview equal to the active Service would send the untested version live); a canary's
//! Services likewise. A Rollout's analyses must name AnalysisTemplates the pipeline deploys,
//! give every argument those templates leave open, and take a pod-template hash only from a
//! ReplicaSet Argo Rollouts knows by that name.

use super::Report;
use super::manifests::Found;
use super::path;
use super::view::quote;
use serde_json::Value;

pub fn check(found: &[Found], report: &mut Report) {
    check_services(found, report);
    check_canary_services(found, report);
    check_workload_refs(found, report);
    check_analyses(found, report);
}

/// The analyses a Rollout asks for (v1.9.1 `RolloutAnalysis`): blue-green before and after
/// promotion, a canary's background analysis and its analysis steps.
fn analysis_refs<'a>(rollout: &'a Found) -> Vec<(String, &'a Value)> {
    let strategy = path::key(&path::key(&rollout.path, "spec"), "strategy");
    let mut out = Vec::new();
    for (kind, key) in [
        ("blueGreen", "prePromotionAnalysis"),
        ("blueGreen", "postPromotionAnalysis"),
        ("canary", "analysis"),
    ] {
        if let Some(a) = rollout
            .value
            .pointer(&format!("/spec/strategy/{kind}/{key}"))
        {
            out.push((path::key(&path::key(&strategy, kind), key), a));
        }
    }
    if let Some(Value::Array(steps)) = rollout.value.pointer("/spec/strategy/canary/steps") {
        let steps_path = path::key(&path::key(&strategy, "canary"), "steps");
        for (i, step) in steps.iter().enumerate() {
            if let Some(a) = step.get("analysis") {
                out.push((path::key(&path::index(&steps_path, i), "analysis"), a));
            }
        }
    }
    out
}

/// - `args[].valueFrom.podTemplateHashValue`: `Latest` (the new ReplicaSet) or `Stable`;
///   any other value leaves the argument empty, silently (utils/analysis/factory.go
///   `BuildArgumentsForRolloutAnalysisRun`; the CRD declares a plain string). An empty hash
///   in a query selects the wrong series, or none.
/// - `templates[].templateName`: an AnalysisTemplate the pipeline deploys in the Rollout's
///   namespace, or the analysis cannot start (a warning: a platform may install shared
///   templates itself); every argument it declares without a value must be given here, or
///   the AnalysisRun is never created ("args.NAME was not resolved":
///   utils/analysis/helpers.go `MergeArgs`, `ResolveArgs`).
fn check_analyses(found: &[Found], report: &mut Report) {
    let namespace = |m: &Found| {
        m.value
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    for rollout in found.iter().filter(|f| f.kind() == Some("Rollout")) {
        for (at, analysis) in analysis_refs(rollout) {
            let args = analysis.get("args").and_then(Value::as_array);
            let args_path = path::key(&at, "args");
            for (i, arg) in args.into_iter().flatten().enumerate() {
                let Some(hash) = arg.pointer("/valueFrom/podTemplateHashValue") else {
                    continue;
                };
                if !matches!(hash.as_str(), Some("Latest" | "Stable")) {
                    report.error(
                        path::key(&path::key(&path::index(&args_path, i), "valueFrom"), "podTemplateHashValue"),
                        format!(
                            "must be \"Latest\" (the new ReplicaSet: the preview, the promoted version, the canary) or \"Stable\": Argo Rollouts leaves the argument empty for any other value, without an error, got {}",
                            crate::describe::value(hash, false)
                        ),
                    );
                }
            }
            let given: Vec<&str> = args
                .into_iter()
                .flatten()
                .filter_map(|a| a.get("name").and_then(Value::as_str))
                .collect();
            let templates = analysis.get("templates").and_then(Value::as_array);
            let templates_path = path::key(&at, "templates");
            for (i, t) in templates.into_iter().flatten().enumerate() {
                if t.get("clusterScope") == Some(&Value::Bool(true)) {
                    continue;
                }
                let Some(name) = t.get("templateName").and_then(Value::as_str) else {
                    continue;
                };
                let template = found.iter().find(|m| {
                    m.deployed
                        && m.kind() == Some("AnalysisTemplate")
                        && m.name() == Some(name)
                        && namespace(m) == namespace(rollout)
                });
                let name_path = path::key(&path::index(&templates_path, i), "templateName");
                let Some(template) = template else {
                    report.warning(
                        name_path,
                        format!(
                            "names AnalysisTemplate {}, which no deployManifest stage of this pipeline deploys in the Rollout's namespace: it must exist there beforehand, or the analysis never starts",
                            quote(name)
                        ),
                    );
                    continue;
                };
                let declared = template
                    .value
                    .pointer("/spec/args")
                    .and_then(Value::as_array);
                for arg in declared.into_iter().flatten() {
                    let Some(arg_name) = arg.get("name").and_then(Value::as_str) else {
                        continue;
                    };
                    let open = arg.get("value").is_none() && arg.get("valueFrom").is_none();
                    if open && !given.contains(&arg_name) {
                        report.error(
                            args_path.clone(),
                            format!(
                                "AnalysisTemplate {} needs the argument {}, which this analysis does not give: Argo Rollouts never creates the AnalysisRun (\"args.{arg_name} was not resolved\")",
                                quote(name),
                                quote(arg_name)
                            ),
                        );
                    }
                }
            }
        }
    }
}

/// `spec.workloadRef`: Argo Rollouts takes the pod template from the referenced object
/// (rollout/templateref.go), which must exist when the Rollout is applied: the pipeline
/// deploys it. A Rollout with both a reference and its own template is rejected ("template
/// must be empty for workload reference rollout"). The Deployment must not run pods of its
/// own: they would be the untested version, outside the preview.
fn check_workload_refs(found: &[Found], report: &mut Report) {
    for f in found.iter().filter(|f| f.kind() == Some("Rollout")) {
        let Some(Value::Object(wref)) = f.value.pointer("/spec/workloadRef") else {
            continue;
        };
        let spec_path = path::key(&f.path, "spec");
        let ref_path = path::key(&spec_path, "workloadRef");
        if f.value.pointer("/spec/template").is_some() {
            report.error(
                path::key(&spec_path, "template"),
                "a Rollout with `workloadRef` must not have its own `template`: Argo Rollouts rejects it (\"template must be empty for workload reference rollout\")",
            );
        }
        let (Some(kind), Some(name)) = (
            wref.get("kind").and_then(Value::as_str),
            wref.get("name").and_then(Value::as_str),
        ) else {
            continue;
        };
        let namespace = |m: &Found| {
            m.value
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let target = found.iter().find(|m| {
            m.deployed
                && m.kind() == Some(kind)
                && m.name() == Some(name)
                && namespace(m) == namespace(f)
        });
        let Some(target) = target else {
            report.error(
                ref_path,
                format!(
                    "`workloadRef` names {kind} {}, but no deployManifest stage of this pipeline deploys it in the Rollout's namespace",
                    quote(name)
                ),
            );
            continue;
        };
        let scale_down = wref
            .get("scaleDown")
            .and_then(Value::as_str)
            .unwrap_or("never");
        let replicas = target
            .value
            .pointer("/spec/replicas")
            .and_then(Value::as_i64);
        if kind == "Deployment" && scale_down == "never" && replicas != Some(0) {
            report.error(
                path::key(&path::key(&target.path, "spec"), "replicas"),
                format!(
                    "the Deployment that Rollout {} takes its pod template from must have `replicas: 0` (its `workloadRef.scaleDown` is \"never\"): its own pods would run the new version outside the preview, untested",
                    quote(f.name().unwrap_or("?"))
                ),
            );
        }
    }
}

fn check_services(found: &[Found], report: &mut Report) {
    let services = deployed_services(found);
    for f in found.iter().filter(|f| f.kind() == Some("Rollout")) {
        let Some(Value::Object(blue_green)) = f.value.pointer("/spec/strategy/blueGreen") else {
            continue;
        };
        let bg_path = strategy_path(f, "blueGreen");
        // A missing or non-string service name is the schema's to report.
        let active = blue_green.get("activeService").and_then(Value::as_str);
        let preview = blue_green.get("previewService").and_then(Value::as_str);
        for (key, name) in [("activeService", active), ("previewService", preview)] {
            if let Some(name) = name {
                require_service(&services, &bg_path, key, name, report);
            }
        }
        if let (Some(a), Some(p)) = (active, preview)
            && a == p
        {
            report.error(
                path::key(&bg_path, "previewService"),
                format!(
                    "`previewService` is the same Service as `activeService` ({}): the version under test would receive live traffic",
                    quote(a)
                ),
            );
        }
    }
}

/// A canary's Services (`canaryService`, `stableService`): Argo Rollouts points them at the
/// canary and the stable pods, and fails the update when one does not exist
/// (rollout/service.go `reconcileStableAndCanaryService`).
fn check_canary_services(found: &[Found], report: &mut Report) {
    let services = deployed_services(found);
    for f in found.iter().filter(|f| f.kind() == Some("Rollout")) {
        let Some(Value::Object(canary)) = f.value.pointer("/spec/strategy/canary") else {
            continue;
        };
        let at = strategy_path(f, "canary");
        for key in ["canaryService", "stableService"] {
            if let Some(name) = canary.get(key).and_then(Value::as_str) {
                require_service(&services, &at, key, name, report);
            }
        }
    }
}

/// The Services any deployManifest stage of the pipeline deploys, whatever its order.
fn deployed_services<'a>(found: &'a [Found]) -> Vec<&'a str> {
    found
        .iter()
        .filter(|f| f.deployed && f.kind() == Some("Service"))
        .filter_map(Found::name)
        .collect()
}

fn strategy_path(rollout: &Found, strategy: &str) -> String {
    path::key(
        &path::key(&path::key(&rollout.path, "spec"), "strategy"),
        strategy,
    )
}

/// The Service a Rollout's strategy names under `key` must be deployed by the pipeline.
fn require_service(services: &[&str], at: &str, key: &str, name: &str, report: &mut Report) {
    if !services.contains(&name) {
        report.error(
            path::key(at, key),
            format!(
                "`{key}` names Service {}, but no deployManifest stage of this pipeline deploys a Service with that name ({})",
                quote(name),
                deployed_list(services)
            ),
        );
    }
}

fn deployed_list(services: &[&str]) -> String {
    if services.is_empty() {
        return "it deploys no Service".to_string();
    }
    let names: Vec<String> = services.iter().map(|s| quote(s)).collect();
    format!("it deploys {}", names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{check_json, variant};
    use insta::assert_snapshot;
    use serde_json::json;

    const BG: &str = "/pipelines/0/stages/0/manifests/6/spec/strategy/blueGreen";

    #[test]
    fn services_must_be_deployed_by_the_pipeline() {
        let v = variant(&[
            (&format!("{BG}/activeService"), Some(json!("sample"))),
            (
                &format!("{BG}/previewService"),
                Some(json!("sample-previw")),
            ),
        ]);
        assert_snapshot!(check_json(v));
    }

    #[test]
    fn active_and_preview_must_differ() {
        let v = variant(&[(
            &format!("{BG}/previewService"),
            Some(json!("sample-active")),
        )]);
        assert_snapshot!(check_json(v));
    }

    #[test]
    fn services_of_another_deploy_stage_count() {
        let mut v = variant(&[]);
        let stages = v["pipelines"][0]["stages"].as_array_mut().unwrap();
        let mut services_stage = stages[0].clone();
        let manifests = stages[0]["manifests"].as_array_mut().unwrap();
        let preview = manifests.remove(5);
        services_stage["manifests"] = json!([preview]);
        services_stage["refId"] = json!("0");
        services_stage["name"] = json!("Deploy services");
        stages.push(services_stage);
        assert_eq!(check_json(v), "");
    }

    #[test]
    fn without_any_service_the_message_says_so() {
        let v = variant(&[
            (
                "/pipelines/0/stages/0/manifests/5",
                Some(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})),
            ),
            (
                "/pipelines/0/stages/0/manifests/4",
                Some(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "y"}})),
            ),
        ]);
        assert_snapshot!(check_json(v));
    }
}
