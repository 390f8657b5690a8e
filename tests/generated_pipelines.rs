//! Property: whatever valid value file a team writes, the built-in templates produce a
//! pipeline that passes every output check: each Rollout (CRD schema and pod template),
//! Service, Job, ConfigMap, ServiceAccount, Role and RoleBinding validates against the
//! vendored schemas, the stage graph is sound, Run Jobs are well-formed. Enumerates every
//! combination of trigger, scenario test, manual judgment and auto-promotion, varying the
//! other keys along the way.

use kujira_gen::compile::{Compiler, Options, compile_inputs};
use kujira_gen::values::discover::Input;
use serde_json::{Value, json};

const COLLECTION: &str = include_str!("../examples/scenario-test/scenario.postman_collection.json");
const REPOS: [&str; 4] = ["github", "gitlab", "bitbucket", "stash"];
const ENVIRONMENT: &str =
    include_str!("../examples/scenario-test/preview.postman_environment.json");

fn variants() -> Vec<Value> {
    let triggers = [
        None,
        Some(json!({"Type": "docker", "Tag": "^v[0-9.]+$"})),
        Some(json!({"Account": "gcr"})),
        Some(json!({"Type": "pubsub", "Subscription": "gcr-images"})),
        Some(json!({"Type": "webhook"})),
        Some(json!({"Type": "webhook", "Source": "ci"})),
        Some(json!({"Type": "manual"})),
    ];
    let tests = [
        None,
        Some(json!({"Collection": "c.json"})),
        Some(
            json!({"Collection": "c.json", "Environment": "e.json", "Image": "postman/newman:6", "TimeoutSeconds": 120}),
        ),
    ];
    let judgments = [
        None,
        Some(json!(false)),
        Some(json!(true)),
        Some(json!({"Instructions": "Look first."})),
    ];
    let images = [
        "gcr.io/p/app",
        "nginx",
        "registry.example.com:5000/team/app",
        "docker.io/library/app",
    ];
    let mut out = Vec::new();
    let mut i = 0;
    for trigger in &triggers {
        for test in &tests {
            for judgment in &judgments {
                for auto in [false, true] {
                    let judged = matches!(judgment, Some(j) if j != &json!(false));
                    if auto && (test.is_some() || judged) {
                        continue; // refused by the rules, tested in the corpus
                    }
                    i += 1;
                    let mut v = json!({
                        "Application": format!("app-{i}"),
                        "Email": "team@example.com",
                        "Notification": if i % 2 == 0 { json!("#team") } else { json!({"Channel": "team", "When": ["failed"]}) },
                        "Account": "gke-prod",
                        "Image": images[i % images.len()],
                        "Repo": REPOS[i % REPOS.len()],
                    });
                    let o = v.as_object_mut().unwrap();
                    if let Some(t) = trigger {
                        o.insert("Trigger".into(), t.clone());
                    }
                    if let Some(t) = test {
                        o.insert("ScenarioTest".into(), t.clone());
                    }
                    if let Some(j) = judgment {
                        o.insert("ManualJudgment".into(), j.clone());
                    }
                    if auto {
                        o.insert("AutoPromotion".into(), json!(true));
                    }
                    if i % 3 == 0 {
                        o.insert("Namespace".into(), json!("shared-ns"));
                        o.insert("Env".into(), json!({"A": "1", "DB_PASSWORD": {"Secret": "db", "Key": "pw"}, "C": {"ConfigMap": "cfg", "Key": "c"}}));
                        o.insert("Resources".into(), json!({"Cpu": "1", "Memory": "1Gi", "CpuLimit": "2", "MemoryLimit": "2Gi"}));
                    }
                    if i % 5 == 0 {
                        o.insert("Port".into(), json!(9090));
                        o.insert("HealthCheckPath".into(), json!("/ready"));
                        o.insert("Replicas".into(), json!(5));
                        o.insert("ScaleDownDelaySeconds".into(), json!(0));
                        o.insert("RepoProject".into(), json!("org"));
                        o.insert("RepoSlug".into(), json!("repo"));
                    }
                    out.push(v);
                }
            }
        }
    }
    out
}

#[test]
fn every_valid_value_file_renders_to_a_pipeline_that_passes_every_check() {
    let dir = tempfile::tempdir().unwrap();
    let variants = variants();
    assert!(variants.len() > 60, "{}", variants.len());
    let inputs: Vec<Input> = variants
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let d = dir.path().join(format!("t{i}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("c.json"), COLLECTION).unwrap();
            std::fs::write(d.join("e.json"), ENVIRONMENT).unwrap();
            std::fs::write(
                d.join("value.json"),
                serde_json::to_string_pretty(v).unwrap(),
            )
            .unwrap();
            let source = format!("t{i}/value.json");
            Input {
                path: d.join("value.json"),
                display: source.clone(),
                source,
            }
        })
        .collect();
    let compiler = Compiler::new(&Options::default()).unwrap();
    let units = compile_inputs(&compiler, &inputs, 0);
    for (unit, value) in units.iter().zip(&variants) {
        assert_eq!(unit.diagnostics, vec![], "{value}");
        let bundle = unit.bundle.as_ref().unwrap();
        let stages = bundle.pipelines[0]["stages"].as_array().unwrap();
        let deploy = stages
            .iter()
            .find(|s| s["type"] == "deployManifest")
            .unwrap();
        let rollout = deploy["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["kind"] == "Rollout")
            .unwrap();
        // The pipeline promotes, also with AutoPromotion (templates/release/manifests.libsonnet).
        assert_eq!(
            rollout["spec"]["strategy"]["blueGreen"]["autoPromotionEnabled"],
            json!(false),
            "{value}"
        );
        let has = |name: &str| stages.iter().any(|s| s["name"] == name);
        assert_eq!(
            has("Scenario test"),
            value.get("ScenarioTest").is_some(),
            "{value}"
        );
        let manual = value.pointer("/Trigger/Type") == Some(&json!("manual"));
        assert_eq!(has("Check parameters"), manual, "{value}");
        for always in [
            "Deploy",
            "Wait for preview",
            "Promote",
            "Verify",
            "Roll back",
            "Fail release",
        ] {
            assert!(has(always), "{always}: {value}");
        }
    }
}

/// Every combination of SLO gates and strategies (blue-green, canary by replicas, canary
/// through the Gateway API, background analysis), with and without a test and a judgment,
/// with every provider authentication: no diagnostic, and the stages each one asks for.
#[test]
fn every_slo_and_canary_combination_passes_every_check() {
    let dir = tempfile::tempdir().unwrap();
    let platform = dir.path().join("platform");
    std::fs::create_dir_all(&platform).unwrap();
    let providers = [
        json!({"address": "http://prometheus.monitoring:9090"}),
        json!({"address": "https://prometheus.example.com/api/prom", "insecure": true,
               "auth": {"type": "bearer", "secret": "prometheus-reader", "key": "token"}}),
        json!({"address": "https://monitoring.googleapis.com/v1/projects/p/location/global/prometheus",
               "auth": {"type": "gcpWorkloadIdentity", "serviceAccount": "metrics-reader",
                        "analysisAddress": "http://frontend.gmp-public.svc:9090"}}),
    ];
    let canaries = [
        None,
        Some(json!({"Steps": [{"Weight": 20, "Pause": "2m"}, {"Weight": 60}]})),
        Some(json!({"Steps": [{"Weight": 10}], "TrafficRouting": {"HTTPRoute": "route"}})),
        Some(json!({"Steps": [{"Weight": 30, "Pause": "30s"}], "Analysis": "Background"})),
    ];
    let gates = [
        (true, true, true),
        (false, false, true),
        (true, false, false),
        (false, true, false),
    ];
    for (p, provider) in providers.iter().enumerate() {
        std::fs::write(
            platform.join("slo.json"),
            json!({"provider": provider}).to_string(),
        )
        .unwrap();
        let mut inputs = Vec::new();
        let mut values = Vec::new();
        for (c, canary) in canaries.iter().enumerate() {
            for (g, (preview, post, budget)) in gates.iter().enumerate() {
                for (test, judgment) in [(false, false), (true, false), (true, true), (false, true)]
                {
                    let mut v = json!({
                        "Application": format!("app-{p}-{c}-{g}"),
                        "Email": "team@example.com", "Notification": "#team",
                        "Account": "gke-prod", "Image": "gcr.io/p/app",
                        "SLO": {"Objectives": {
                            "availability": {"Type": "Availability", "Objective": 99.95, "Metric": "http_requests_total"},
                            "latency": {"Type": "Latency", "Objective": 99, "ThresholdSeconds": 0.25,
                                        "Good": "sum(rate(h_bucket{le=\"0.25\",$selector}[$window]))",
                                        "Total": "sum(rate(h_count{$selector}[$window]))"}},
                            "PreviewAnalysis": preview, "ErrorBudgetGate": budget,
                            "Analysis": {"Interval": "30s", "Count": 4}},
                    });
                    if let Some(canary) = canary {
                        v["Canary"] = canary.clone();
                    } else {
                        v["SLO"]["PostPromotionAnalysis"] = json!(post);
                    }
                    if test {
                        v["ScenarioTest"] = json!({"Collection": "c.json"});
                    }
                    if judgment {
                        v["ManualJudgment"] = json!(true);
                    }
                    let name = format!("p{p}c{c}g{g}t{}j{}", test as u8, judgment as u8);
                    let d = dir.path().join(&name);
                    std::fs::create_dir_all(&d).unwrap();
                    std::fs::write(d.join("c.json"), COLLECTION).unwrap();
                    std::fs::write(d.join("value.json"), v.to_string()).unwrap();
                    let source = format!("{name}/value.json");
                    inputs.push(Input {
                        path: d.join("value.json"),
                        display: source.clone(),
                        source,
                    });
                    values.push(v);
                }
            }
        }
        let options = Options {
            platform: Some(platform.clone()),
            ..Options::default()
        };
        let compiler = Compiler::new(&options).unwrap();
        let units = compile_inputs(&compiler, &inputs, 0);
        for (unit, value) in units.iter().zip(&values) {
            // A blue-green preview analysis without a test measures nothing: the one
            // warning these files may get.
            let unexpected: Vec<_> = unit
                .diagnostics
                .iter()
                .filter(|d| {
                    !d.message
                        .contains("the preview analysis measures the preview's own requests")
                })
                .collect();
            assert!(unexpected.is_empty(), "{value}: {unexpected:?}");
            let bundle = unit.bundle.as_ref().unwrap();
            let stages = bundle.pipelines[0]["stages"].as_array().unwrap();
            let has = |name: &str| stages.iter().any(|s| s["name"] == name);
            let canary = value.get("Canary").is_some();
            let slo = &value["SLO"];
            assert_eq!(
                has("Check error budget"),
                slo["ErrorBudgetGate"] == true,
                "{value}"
            );
            assert_eq!(
                has("Analyse preview"),
                !canary && slo["PreviewAnalysis"] == true,
                "{value}"
            );
            assert_eq!(
                has("Analyse promoted"),
                !canary && slo["PostPromotionAnalysis"] == true,
                "{value}"
            );
            assert_eq!(
                has("Analyse canary"),
                canary && slo["PreviewAnalysis"] == true,
                "{value}"
            );
            assert_eq!(has("Wait for canary"), canary, "{value}");
            let held = value.get("ScenarioTest").is_some() || value.get("ManualJudgment").is_some();
            assert_eq!(has("Promote"), !canary || held, "{value}");
        }
    }
}
