//! A blue-green Rollout switches traffic by re-pointing two Services: they must exist, so
//! the pipeline that deploys the Rollout must deploy them too, and they must differ (a
//! preview equal to the active Service would send the untested version live).

use super::Report;
use super::manifests::Found;
use super::path;
use super::view::quote;
use serde_json::Value;

pub fn check(found: &[Found], report: &mut Report) {
    check_services(found, report);
    check_workload_refs(found, report);
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
    // Any deployManifest stage of the pipeline counts, whatever its order.
    let services: Vec<&str> = found
        .iter()
        .filter(|f| f.deployed && f.kind() == Some("Service"))
        .filter_map(Found::name)
        .collect();
    for f in found.iter().filter(|f| f.kind() == Some("Rollout")) {
        let Some(Value::Object(blue_green)) = f.value.pointer("/spec/strategy/blueGreen") else {
            continue;
        };
        let bg_path = path::key(
            &path::key(&path::key(&f.path, "spec"), "strategy"),
            "blueGreen",
        );
        // A missing or non-string service name is the schema's to report.
        let active = blue_green.get("activeService").and_then(Value::as_str);
        let preview = blue_green.get("previewService").and_then(Value::as_str);
        for (key, name) in [("activeService", active), ("previewService", preview)] {
            if let Some(name) = name
                && !services.contains(&name)
            {
                report.error(
                    path::key(&bg_path, key),
                    format!(
                        "`{key}` names Service {}, but no deployManifest stage of this pipeline deploys a Service with that name ({})",
                        quote(name),
                        deployed_list(&services)
                    ),
                );
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
