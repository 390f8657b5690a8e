//! The SLO components (templates/release/slo.libsonnet, the `SLO` and `Canary` definitions
//! of schemas/value.schema.json, schemas/platform-slo.schema.json) without a Prometheus:
//! their schemas and defaults, what they generate for each setting, and the release built
//! with them passing every output check. The queries themselves run in
//! tests/slo_prometheus.rs; the release end to end in tests/release_scenarios.rs.

mod support;

use insta::assert_snapshot;
use serde_json::{Value, json};
use support::slo::{components, objectives, platform, team};
use support::test::{Test, project_dir};

fn schema(file: &str) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(project_dir().join("schemas").join(file)).unwrap(),
    )
    .unwrap()
}

fn validator(file: &str) -> jsonschema::Validator {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema(file))
        .unwrap()
}

/// The value schema without its required keys: a document of only `SLO` and `Canary` is
/// checked against their definitions.
fn slo_validator() -> jsonschema::Validator {
    let mut s = schema("value.schema.json");
    let m = s.as_object_mut().unwrap();
    for k in ["required", "if", "then"] {
        m.remove(k);
    }
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&s)
        .unwrap()
}

fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

fn with_slo(slo: Value) -> Value {
    json!({"Values": team("sample", json!({"SLO": slo})), "Platform": platform("http://prometheus.monitoring:9090")})
}

fn render(values: &Value) -> Value {
    components(values).unwrap_or_else(|e| panic!("{e}"))
}

/// Every `examples` entry of the schema's definitions is valid against its definition.
#[test]
fn the_slo_schema_accepts_its_examples_and_the_test_slos() {
    let v = slo_validator();
    let raw = schema("value.schema.json");
    for (name, def) in raw["$defs"].as_object().unwrap() {
        for example in def["examples"].as_array().into_iter().flatten() {
            let doc = match name.as_str() {
                "SLO" => json!({"SLO": example}),
                "Canary" => json!({"Canary": example}),
                "Objective" => json!({"SLO": {"Objectives": {"x": example}}}),
                _ => continue,
            };
            assert_eq!(
                errors(&v, &doc),
                Vec::<String>::new(),
                "$defs/{name} example {example}"
            );
        }
    }
    let doc = json!({"SLO": {"Objectives": objectives(), "PreviewAnalysis": true,
        "PostPromotionAnalysis": false, "ErrorBudgetGate": true,
        "Analysis": {"Interval": "30s", "Count": 10}}});
    assert_eq!(errors(&v, &doc), Vec::<String>::new());
}

#[test]
fn the_slo_schema_rejects_each_mistake() {
    let v = slo_validator();
    let objective = |o: Value| json!({"SLO": {"Objectives": {"availability": o}}});
    let availability =
        json!({"Type": "Availability", "Objective": 99.9, "Metric": "http_requests_total"});
    let with = |k: &str, val: Value| {
        let mut o = availability.clone();
        o[k] = val;
        objective(o)
    };
    let without = |k: &str| {
        let mut o = availability.clone();
        o.as_object_mut().unwrap().remove(k);
        objective(o)
    };
    let cases = [
        ("no objectives", json!({"SLO": {"Objectives": {}}})),
        (
            "bad SLO name",
            json!({"SLO": {"Objectives": {"Avail": availability.clone()}}}),
        ),
        ("objective of 100", with("Objective", json!(100))),
        ("objective of 0", with("Objective", json!(0))),
        ("objective as text", with("Objective", json!("99.9"))),
        ("unknown type", with("Type", json!("Throughput"))),
        ("window in minutes", with("Window", json!("30m"))),
        (
            "metric name with a dash",
            with("Metric", json!("http-requests")),
        ),
        (
            "label value with a quote",
            with("Labels", json!({"service": "a\"b"})),
        ),
        (
            "label name with a dash",
            with("Labels", json!({"service-name": "a"})),
        ),
        (
            "threshold on availability",
            with("ThresholdSeconds", json!(0.3)),
        ),
        ("no metric and no queries", without("Metric")),
        (
            "metric and queries",
            with("Good", json!("sum(rate(x{$selector}[$window]))")),
        ),
        ("unknown key", with("Objectve", json!(99))),
        (
            "latency by metric without threshold",
            objective(json!({"Type": "Latency", "Objective": 99, "Metric": "h"})),
        ),
        (
            "good without total",
            objective(json!({"Type": "Availability", "Objective": 99,
                "Good": "sum(rate(x{$selector}[$window]))"})),
        ),
        (
            "query without $window",
            objective(json!({"Type": "Availability", "Objective": 99,
                "Good": "sum(rate(x{$selector}[5m]))", "Total": "sum(rate(x{$selector}[$window]))"})),
        ),
        (
            "query without $selector",
            objective(json!({"Type": "Availability", "Objective": 99,
                "Good": "sum(rate(x[$window]))", "Total": "sum(rate(x{$selector}[$window]))"})),
        ),
        (
            "query with another placeholder",
            objective(json!({"Type": "Availability", "Objective": 99,
                "Good": "sum(rate(x{$selector,$team}[$window]))", "Total": "sum(rate(x{$selector}[$window]))"})),
        ),
        (
            "labels with queries",
            objective(
                json!({"Type": "Availability", "Objective": 99, "Labels": {"a": "b"},
                "Good": "sum(rate(x{$selector}[$window]))", "Total": "sum(rate(x{$selector}[$window]))"}),
            ),
        ),
        (
            "analysis count 0",
            json!({"SLO": {"Objectives": {"a": availability.clone()}, "Analysis": {"Count": 0}}}),
        ),
        (
            "analysis interval in days",
            json!({"SLO": {"Objectives": {"a": availability.clone()}, "Analysis": {"Interval": "1d"}}}),
        ),
        ("canary without steps", json!({"Canary": {"Steps": []}})),
        (
            "canary weight 100",
            json!({"Canary": {"Steps": [{"Weight": 100}]}}),
        ),
        (
            "canary pause without unit",
            json!({"Canary": {"Steps": [{"Weight": 10, "Pause": "5"}]}}),
        ),
        (
            "canary unknown analysis",
            json!({"Canary": {"Steps": [{"Weight": 10}], "Analysis": "Both"}}),
        ),
        (
            "HTTPRoute in capitals",
            json!({"Canary": {"Steps": [{"Weight": 10}], "TrafficRouting": {"HTTPRoute": "Sample"}}}),
        ),
    ];
    for (what, doc) in cases {
        assert!(!errors(&v, &doc).is_empty(), "{what}: accepted {doc}");
    }
}

/// The platform settings file, with a provider set, is what its schema describes, and
/// each documented default is the file's value.
#[test]
fn the_platform_settings_match_their_schema_and_defaults() {
    let v = validator("platform-slo.schema.json");
    let out = render(&with_slo(
        json!({"Objectives": {"a": {"Type": "Availability", "Objective": 99, "Metric": "m"}}}),
    ));
    let settings = &out["platform"];
    assert_eq!(errors(&v, settings), Vec::<String>::new());
    let raw = schema("platform-slo.schema.json");
    let mut checked = 0;
    for (key, prop) in raw["properties"].as_object().unwrap() {
        if let Some(default) = prop.get("default")
            && key != "provider"
        {
            assert_eq!(&settings[key], default, "{key}");
            checked += 1;
        }
        for (sub, p) in prop["properties"].as_object().into_iter().flatten() {
            if let Some(default) = p.get("default") {
                assert_eq!(&settings[key][sub], default, "{key}.{sub}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 12, "only {checked} defaults checked");
    // The built-in file has no provider: null is valid, and so are the examples.
    let mut none = settings.clone();
    none["provider"] = Value::Null;
    assert_eq!(errors(&v, &none), Vec::<String>::new());
    for auth in raw["$defs"]["Provider"]["properties"]["auth"]["examples"]
        .as_array()
        .unwrap()
    {
        let mut s = settings.clone();
        s["provider"]["auth"] = auth.clone();
        assert_eq!(errors(&v, &s), Vec::<String>::new(), "{auth}");
    }
    let mut bad = settings.clone();
    bad["provider"]["auth"] = json!({"type": "gcpWorkloadIdentity", "serviceAccount": "reader"});
    assert!(
        !errors(&v, &bad).is_empty(),
        "gcpWorkloadIdentity needs analysisAddress"
    );
    bad["podMatcher"] = json!("rollouts_pod_template_hash=\"abc\"");
    assert!(!errors(&v, &bad).is_empty(), "podMatcher needs $hash");
}

/// Writing a documented default gives the same result as leaving the key out.
#[test]
fn the_slo_defaults_are_the_ones_applied() {
    let base = json!({"Objectives": {"availability": {"Type": "Availability", "Objective": 99.9,
        "Metric": "http_requests_total"}}});
    let reference = render(&with_slo(base.clone()));
    let raw = schema("value.schema.json");
    let slo_defaults = raw["$defs"]["SLO"]["properties"].as_object().unwrap();
    let mut checked = 0;
    for (key, p) in slo_defaults {
        if let Some(d) = p.get("default") {
            let mut slo = base.clone();
            slo[key] = d.clone();
            assert_eq!(render(&with_slo(slo)), reference, "SLO.{key}");
            checked += 1;
        }
    }
    let mut slo = base.clone();
    slo["Objectives"]["availability"]["Window"] = raw["$defs"]["Window"]["default"].clone();
    assert_eq!(render(&with_slo(slo)), reference, "Window");
    let canary = |c: Value| {
        let mut values = with_slo(base.clone());
        values["Values"]["Canary"] = c;
        render(&values)
    };
    assert_eq!(
        canary(
            json!({"Steps": [{"Weight": 10}], "Analysis": raw["$defs"]["Canary"]["properties"]["Analysis"]["default"]})
        ),
        canary(json!({"Steps": [{"Weight": 10}]})),
        "Canary.Analysis"
    );
    assert_eq!(checked, 3);
}

#[test]
fn thresholds_are_exact_decimals_from_the_objectives() {
    let out = render(&with_slo(json!({"Objectives": objectives()})));
    let objectives = out["slo"]["objectives"].as_array().unwrap();
    let got: Vec<(&str, &str, &str)> = objectives
        .iter()
        .map(|o| {
            (
                o["name"].as_str().unwrap(),
                o["target"].as_str().unwrap(),
                o["allowed"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("availability", "0.999", "0.001"),
            ("latency", "0.99", "0.01"),
            ("latency-1s", "0.999", "0.001"),
            ("success", "0.998", "0.002"),
        ]
    );
    let metrics = &out["analysisTemplates"][0]["spec"]["metrics"];
    // Negative results (too few requests) are neither: Inconclusive, never a pass.
    assert_eq!(metrics[0]["successCondition"], "result[0] >= 0.999");
    assert_eq!(metrics[0]["inconclusiveLimit"], 4, "count - 1");
    assert_eq!(
        metrics[0]["failureCondition"],
        "result[0] >= 0 && result[0] < 0.999"
    );
    for (objective, target) in [
        (99.99, "0.9999"),
        (95.0, "0.95"),
        (5.5, "0.055"),
        (99.9999, "0.999999"),
    ] {
        let out = render(&with_slo(
            json!({"Objectives": {"a": {"Type": "Availability",
            "Objective": objective, "Metric": "m"}}}),
        ));
        assert_eq!(out["slo"]["objectives"][0]["target"], target, "{objective}");
    }
    let err = components(&with_slo(
        json!({"Objectives": {"a": {"Type": "Availability",
        "Objective": 99.99999, "Metric": "m"}}}),
    ))
    .unwrap_err();
    assert!(
        err.contains("SLO.Objectives.a.Objective: 99.99999 has more than 4 decimals"),
        "{err}"
    );
}

#[test]
fn queries_for_metric_names_and_for_team_queries() {
    let out = render(&with_slo(json!({"Objectives": objectives()})));
    let metrics = &out["analysisTemplates"][0]["spec"]["metrics"];
    let query = |i: usize| {
        metrics[i]["provider"]["prometheus"]["query"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        query(0),
        "((sum(sum(max_over_time(http_requests_total{code!~\"5..\",namespace=\"sample\",service=\"sample\",rollouts_pod_template_hash=\"{{args.pod-template-hash}}\"}[1h]))) or on() vector(0)) / (sum(sum(max_over_time(http_requests_total{namespace=\"sample\",service=\"sample\",rollouts_pod_template_hash=\"{{args.pod-template-hash}}\"}[1h]))) >= 20)) or on() (-1 - (sum(sum(max_over_time(http_requests_total{namespace=\"sample\",service=\"sample\",rollouts_pod_template_hash=\"{{args.pod-template-hash}}\"}[1h]))) or on() vector(0)))"
    );
    // The bucket's `le` as Go (1) or Python and Prometheus 3 (1.0) write it; 0.3 alike.
    assert!(query(1).contains("le=~\"0\\\\.3\""), "{}", query(1));
    assert!(query(2).contains("le=~\"1(\\\\.0)?\""), "{}", query(2));
    assert_eq!(
        query(3),
        "((sum(sum(max_over_time(http_requests_total{code=~\"2..\",rollouts_pod_template_hash=\"{{args.pod-template-hash}}\"}[1h]))) or on() vector(0)) / (sum(sum(max_over_time(http_requests_total{rollouts_pod_template_hash=\"{{args.pod-template-hash}}\"}[1h]))) >= 20)) or on() (-1 - (sum(sum(max_over_time(http_requests_total{rollouts_pod_template_hash=\"{{args.pod-template-hash}}\"}[1h]))) or on() vector(0)))"
    );
    // The budget covers every pod, over the SLO's window.
    assert_eq!(
        out["budgetQueries"]["availability"],
        "(((sum(sum(rate(http_requests_total{code!~\"5..\",namespace=\"sample\",service=\"sample\",rollouts_pod_template_hash=~\".*\"}[28d]))) or on() vector(0)) / sum(sum(rate(http_requests_total{namespace=\"sample\",service=\"sample\",rollouts_pod_template_hash=~\".*\"}[28d])))) >= 0) or on() vector(-1)"
    );
    // A platform matching pods by name instead of a copied label.
    let mut values = with_slo(json!({"Objectives": objectives()}));
    values["Platform"]["podMatcher"] = json!("pod=~\"$rollout-$hash-.*\"");
    let out = render(&values);
    let q = out["analysisTemplates"][0]["spec"]["metrics"][0]["provider"]["prometheus"]["query"]
        .as_str()
        .unwrap();
    assert!(
        q.contains("pod=~\"sample-{{args.pod-template-hash}}-.*\""),
        "{q}"
    );
}

#[test]
fn provider_authentication() {
    let objectives =
        json!({"Objectives": {"a": {"Type": "Availability", "Objective": 99, "Metric": "m"}}});
    let mut values = with_slo(objectives.clone());
    values["Platform"]["provider"]["auth"] =
        json!({"type": "bearer", "secret": "prometheus-reader", "key": "token"});
    let out = render(&values);
    let template = &out["analysisTemplates"][0];
    assert_eq!(
        template["spec"]["args"],
        json!([{"name": "pod-template-hash"},
               {"name": "prometheus-token", "valueFrom": {"secretKeyRef": {"name": "prometheus-reader", "key": "token"}}}])
    );
    assert_eq!(
        template["spec"]["metrics"][0]["provider"]["prometheus"]["headers"],
        json!([{"key": "Authorization", "value": "Bearer {{args.prometheus-token}}"}])
    );
    let env = &out["budgetJob"]["spec"]["template"]["spec"]["containers"][0]["env"];
    assert!(env.as_array().unwrap().contains(&json!({"name": "TOKEN",
        "valueFrom": {"secretKeyRef": {"name": "prometheus-reader", "key": "token"}}})));

    let mut values = with_slo(objectives);
    values["Platform"]["provider"] = json!({
        "address": "https://monitoring.googleapis.com/v1/projects/example/location/global/prometheus",
        "auth": {"type": "gcpWorkloadIdentity", "serviceAccount": "metrics-reader",
                 "analysisAddress": "http://frontend.gmp-public.svc.cluster.local:9090"}});
    let out = render(&values);
    assert_eq!(
        out["analysisTemplates"][0]["spec"]["metrics"][0]["provider"]["prometheus"]["address"],
        "http://frontend.gmp-public.svc.cluster.local:9090"
    );
    let pod = &out["budgetJob"]["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "metrics-reader");
    let env = pod["containers"][0]["env"].as_array().unwrap();
    assert!(env.contains(&json!({"name": "PROMETHEUS_URL",
        "value": "https://monitoring.googleapis.com/v1/projects/example/location/global/prometheus"})));
    assert!(env.iter().any(|e| e["name"] == "METADATA_TOKEN_URL"));
}

#[test]
fn an_slo_without_a_provider_names_the_setting() {
    let mut values = with_slo(json!({"Objectives": objectives()}));
    values["Platform"] = json!({});
    let err = components(&values).unwrap_err();
    assert!(
        err.contains("SLO: the platform has no metric provider. The platform team sets `provider`"),
        "{err}"
    );
}

#[test]
fn blue_green_fields() {
    let out = render(&with_slo(json!({"Objectives": objectives()})));
    let reference = json!({"templates": [{"templateName": "sample-slo"}],
        "args": [{"name": "pod-template-hash", "valueFrom": {"podTemplateHashValue": "Latest"}}]});
    assert_eq!(
        out["blueGreen"],
        json!({"prePromotionAnalysis": reference, "postPromotionAnalysis": reference})
    );
    let out = render(&with_slo(
        json!({"Objectives": objectives(), "PreviewAnalysis": false,
        "PostPromotionAnalysis": false}),
    ));
    assert_eq!(out["blueGreen"], json!({}));
    assert_eq!(out["analysisTemplates"], json!([]));
}

fn canary(canary: Value, slo: bool, test_first: bool) -> Value {
    let mut values = if slo {
        with_slo(json!({"Objectives": objectives()}))
    } else {
        json!({"Values": team("sample", json!({})), "Platform": platform("http://p:9090")})
    };
    values["Values"]["Canary"] = canary;
    values["TestFirst"] = json!(test_first);
    render(&values)
}

#[test]
fn canary_steps() {
    let analysis = json!({"analysis": {"templates": [{"templateName": "sample-slo"}],
        "args": [{"name": "pod-template-hash", "valueFrom": {"podTemplateHashValue": "Latest"}}]}});
    let steps = json!([{"Weight": 10, "Pause": "5m"}, {"Weight": 50}]);
    // Gateway API: one canary pod without traffic for the test, then the weights.
    let routed = canary(
        json!({"Steps": steps, "TrafficRouting": {"HTTPRoute": "sample"}}),
        true,
        true,
    );
    assert_eq!(
        routed["canary"],
        json!({
            "canaryService": "sample-canary",
            "stableService": "sample",
            "trafficRouting": {"plugins": {"argoproj-labs/gatewayAPI": {"httpRoute": "sample", "namespace": "sample"}}},
            "steps": [
                {"setCanaryScale": {"replicas": 1}}, {"pause": {}}, {"setCanaryScale": {"matchTrafficWeight": true}},
                {"setWeight": 10}, analysis, {"pause": {"duration": "5m"}},
                {"setWeight": 50}, analysis,
            ]
        })
    );
    // Replica-count weights: the test runs at the first weight.
    let basic = canary(json!({"Steps": steps}), true, true);
    assert_eq!(
        basic["canary"],
        json!({"canaryService": "sample-canary", "steps": [
            {"setWeight": 10}, {"pause": {}}, analysis, {"pause": {"duration": "5m"}},
            {"setWeight": 50}, analysis]})
    );
    // Background analysis from the first weight, with a template that never stops.
    let background = canary(
        json!({"Steps": steps, "Analysis": "Background", "TrafficRouting": {"HTTPRoute": "sample"}}),
        true,
        false,
    );
    // ... and a counted analysis after the last weight: a background run ends Successful
    // when the rollout ends it, whatever it measured.
    assert_eq!(
        background["canary"]["steps"],
        json!([{"setWeight": 10}, {"pause": {"duration": "5m"}}, {"setWeight": 50}, analysis])
    );
    assert_eq!(
        background["canary"]["analysis"],
        json!({"templates": [{"templateName": "sample-slo-background"}],
               "args": [{"name": "pod-template-hash", "valueFrom": {"podTemplateHashValue": "Latest"}}],
               "startingStep": 0})
    );
    let templates = background["analysisTemplates"].as_array().unwrap();
    assert_eq!(
        templates.len(),
        2,
        "the counted template for the last check, the background one"
    );
    assert_eq!(templates[0]["metadata"]["name"], "sample-slo");
    assert_eq!(templates[1]["metadata"]["name"], "sample-slo-background");
    assert!(
        templates[1]["spec"]["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m.get("count").is_none())
    );
    // Without SLOs: weights and pauses only.
    let plain = canary(json!({"Steps": steps}), false, false);
    assert_eq!(
        plain["canary"]["steps"],
        json!([{"setWeight": 10}, {"pause": {"duration": "5m"}}, {"setWeight": 50}])
    );
    let err = components(&{
        let mut v = with_slo(json!({"Objectives": objectives()}));
        v["Values"]["Canary"] = json!({"Steps": [{"Weight": 50}, {"Weight": 10}]});
        v
    })
    .unwrap_err();
    assert!(
        err.contains("Canary.Steps: weights must increase from step to step, got [50, 10]"),
        "{err}"
    );
}

/// Orca evaluates `${...}` in a Run Job's manifest; the kubelet expands `$(NAME)` of the
/// container's variables and turns `$$` into `$` in args. None may appear in the script.
#[test]
fn the_budget_script_survives_orca_and_the_kubelet() {
    let out = render(&with_slo(json!({"Objectives": objectives()})));
    let container = &out["budgetJob"]["spec"]["template"]["spec"]["containers"][0];
    let script = container["args"][0].as_str().unwrap();
    assert!(!script.contains("${"), "`${{` in the script");
    assert!(!script.contains("$$"), "`$$` in the script");
    for var in container["env"].as_array().unwrap() {
        let reference = format!("$({})", var["name"].as_str().unwrap());
        assert!(!script.contains(&reference), "{reference} in the script");
    }
    // Every key is printed literally, lower case: the output checks can see them.
    let printed = kujira_gen::upstream::property_parser::printed_keys(script);
    assert!(!printed.dynamic, "{printed:?}");
    assert!(printed.keys.iter().all(|k| *k == k.to_lowercase()));
    let outputs = &out["budgetOutputs"];
    for key in ["result", "exhausted", "message", "overrideReason"] {
        let k = outputs[key].as_str().unwrap().to_string();
        assert!(printed.keys.contains(&k), "{k} not printed");
    }
    for o in outputs["perObjective"].as_object().unwrap().values() {
        for k in o.as_object().unwrap().values() {
            assert!(
                printed.keys.contains(&k.as_str().unwrap().to_string()),
                "{k} not printed"
            );
        }
    }
}

/// The same for the jobs that wait for an analysis and for a canary's steps: nothing Orca
/// or the kubelet would change, every key they print literal and lower case, and every key
/// of analysisOutputs printed.
#[test]
fn the_analysis_wait_scripts_survive_orca_and_the_kubelet() {
    let mut values = with_slo(json!({"Objectives": objectives()}));
    values["Values"]["Canary"] = json!({"Steps": [{"Weight": 10}]});
    let out = render(&values);
    for job in ["analysisWaitJob", "canaryWaitJob"] {
        let container = &out[job]["spec"]["template"]["spec"]["containers"][0];
        let script = container["args"][0].as_str().unwrap();
        assert!(!script.contains("${"), "{job}: `${{` in the script");
        assert!(!script.contains("$$"), "{job}: `$$` in the script");
        for var in container["env"].as_array().unwrap() {
            let reference = format!("$({})", var["name"].as_str().unwrap());
            assert!(
                !script.contains(&reference),
                "{job}: {reference} in the script"
            );
        }
        let printed = kujira_gen::upstream::property_parser::printed_keys(script);
        assert!(!printed.dynamic, "{job}: {printed:?}");
        for key in out["analysisOutputs"].as_object().unwrap().values() {
            let key = key.as_str().unwrap().to_string();
            assert!(printed.keys.contains(&key), "{job}: {key} not printed");
        }
        assert!(printed.keys.iter().all(|k| *k == k.to_lowercase()), "{job}");
    }
}

#[test]
fn generated_manifests() {
    let out = render(&with_slo(json!({"Objectives": objectives()})));
    assert_snapshot!(
        "analysis_template",
        serde_json::to_string_pretty(&out["analysisTemplates"][0]).unwrap()
    );
    let mut job = out["budgetJob"].clone();
    let script = job["spec"]["template"]["spec"]["containers"][0]["args"][0]
        .as_str()
        .unwrap()
        .to_string();
    job["spec"]["template"]["spec"]["containers"][0]["args"][0] = json!("<script below>");
    assert_snapshot!(
        "budget_job",
        format!(
            "{}\n\n{script}",
            serde_json::to_string_pretty(&job).unwrap()
        )
    );
}

/// The release built by `kujira-gen validate` with the platform's SLO settings: every
/// output check passes (schemas, the AnalysisTemplate's included; job outputs; permissions;
/// Services; analysis arguments), and the SLO steps are there.
#[test]
fn the_release_with_slos_passes_every_output_check() {
    let collection = std::fs::read_to_string(
        project_dir().join("examples/scenario-test/scenario.postman_collection.json"),
    )
    .unwrap();
    let with_test = |extra: Value| {
        let mut v = team("sample", extra);
        v["ScenarioTest"] = json!({"Collection": "c.json"});
        v
    };
    let slo = json!({"Objectives": objectives()});
    let cases = [
        (
            "blue-green",
            with_test(json!({"SLO": slo})),
            "Analyse promoted",
        ),
        (
            "blue-green, manual trigger",
            with_test(json!({"SLO": slo, "Trigger": {"Type": "manual"}})),
            "Analyse preview",
        ),
        (
            "canary by replicas",
            with_test(
                json!({"SLO": slo, "Canary": {"Steps": [{"Weight": 25, "Pause": "2m"}, {"Weight": 50}]}}),
            ),
            "Analyse canary",
        ),
        (
            "canary through the Gateway API, background analysis",
            with_test(
                json!({"SLO": slo, "Canary": {"Steps": [{"Weight": 10}], "Analysis": "Background",
                "TrafficRouting": {"HTTPRoute": "sample"}}}),
            ),
            "Analyse canary",
        ),
    ];
    for (what, team, stage) in cases {
        let test = Test::new()
            .write(
                ".kujira/slo.json",
                platform("http://prometheus.monitoring:9090").to_string(),
            )
            .write("teams/sample/value.json", team.to_string())
            .write("teams/sample/c.json", &collection);
        let out = test.args(["build", "teams/sample/value.json"]).output();
        assert_eq!(out.status, 0, "{what}: {}", out.stderr);
        assert_eq!(out.stderr, "", "{what}");
        // Not vacuous: the budget stage, the analysis stage and the AnalysisTemplate.
        let bundle: Value = serde_json::from_str(&out.stdout).unwrap();
        let stages = bundle["pipelines"][0]["stages"].as_array().unwrap();
        let names: Vec<&str> = stages.iter().filter_map(|s| s["name"].as_str()).collect();
        assert!(names.contains(&"Check error budget"), "{what}: {names:?}");
        assert!(names.contains(&stage), "{what}: {names:?}");
        let deploy = stages
            .iter()
            .find(|s| s["type"] == "deployManifest")
            .unwrap();
        assert!(
            deploy["manifests"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["kind"] == "AnalysisTemplate"),
            "{what}"
        );
    }
}

/// A fake `kubectl` first on PATH: `get rollout` prints $FAKE_ROLLOUT (the jsonpath
/// answer), `get analysisrun` the file $FAKE_RUN (or fails when it is empty); every call
/// is appended to $FAKE_LOG.
fn fake_kubectl(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("kubectl");
    std::fs::write(
        &path,
        "#!/bin/sh\n\
         echo \"$*\" >> \"$FAKE_LOG\"\n\
         case \"$1 $2\" in\n\
           'get rollout') printf '%s' \"$FAKE_ROLLOUT\" ;;\n\
           'get analysisrun') if [ -n \"$FAKE_RUN\" ]; then cat \"$FAKE_RUN\"; else echo 'Error from server (NotFound)' >&2; exit 1; fi ;;\n\
           *) echo \"unexpected kubectl $*\" >&2; exit 2 ;;\n\
         esac\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

struct Waited {
    status: i32,
    properties: std::collections::BTreeMap<String, Value>,
    calls: Vec<String>,
    log: String,
}

/// Runs the analysis wait job's script with the fake kubectl, the Rollout status
/// `rollout` (`hash|run name|phase|pause reasons|message`) and the AnalysisRun fixture
/// `run`.
fn wait_for_analysis(rollout: &str, run: &str, wait_seconds: u32) -> Waited {
    wait_for(rollout, run, wait_seconds, false)
}

/// [`wait_for_analysis`]; `after_test`: the job of "Analyse preview" after a scenario
/// test, which requires the analysis to have measured after the test's requests.
fn wait_for(rollout: &str, run: &str, wait_seconds: u32, after_test: bool) -> Waited {
    let mut values = with_slo(json!({"Objectives": {
        "availability": {"Type": "Availability", "Objective": 99.9, "Metric": "http_requests_total"},
        "latency": {"Type": "Latency", "Objective": 99, "ThresholdSeconds": 0.3, "Metric": "http_request_duration_seconds"}}}));
    values["TestFirst"] = json!(after_test);
    let out = render(&values);
    let job = &out["analysisWaitJob"];
    assert_eq!(
        job["spec"]["template"]["spec"]["serviceAccountName"],
        "sample-release"
    );
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    let dir = tempfile::tempdir().unwrap();
    fake_kubectl(dir.path());
    let log = dir.path().join("calls");
    let mut cmd = std::process::Command::new("/bin/sh");
    cmd.arg("-c").arg(container["args"][0].as_str().unwrap());
    for var in container["env"].as_array().unwrap() {
        cmd.env(
            var["name"].as_str().unwrap(),
            var["value"].as_str().unwrap(),
        );
    }
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run_file = if run.is_empty() {
        String::new()
    } else {
        project_dir()
            .join("tests/fixtures/slo/analysisruns")
            .join(run)
            .display()
            .to_string()
    };
    let output = cmd
        .env("PATH", path)
        .env("WAIT_SECONDS", wait_seconds.to_string())
        .env("POLL_SECONDS", "1")
        .env("FAKE_ROLLOUT", rollout)
        .env("FAKE_RUN", run_file)
        .env("FAKE_LOG", &log)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    Waited {
        status: output.status.code().unwrap_or(-1),
        properties: kujira_gen::upstream::property_parser::parse(&stdout)
            .unwrap()
            .values,
        calls: std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect(),
        log: format!("{stdout}{}", String::from_utf8_lossy(&output.stderr)),
    }
}

fn props(w: &Waited) -> Vec<(&str, &str)> {
    [
        "analysis_result",
        "analysis_slo",
        "analysis_measured",
        "analysis_threshold",
        "analysis_message",
    ]
    .iter()
    .map(|k| {
        (
            *k,
            w.properties
                .get(*k)
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("no {k}:\n{}", w.log)),
        )
    })
    .collect()
}

#[test]
fn the_analysis_wait_job_names_the_slo_the_value_and_the_threshold() {
    if !support::prometheus::available(
        "the_analysis_wait_job_names_the_slo_the_value_and_the_threshold",
        &["jq"],
    ) {
        return;
    }
    let failed = wait_for_analysis(
        "7d8b9c6f5a|sample-7d8b9c6f5a-3-pre|Degraded||RolloutAborted: analysis failed",
        "failed.json",
        5,
    );
    assert_eq!(failed.status, 1, "{}", failed.log);
    assert_eq!(
        props(&failed),
        [
            ("analysis_result", "failed"),
            ("analysis_slo", "availability"),
            ("analysis_measured", "99.5%"),
            (
                "analysis_threshold",
                "at least 99.9% of requests succeeding"
            ),
            (
                "analysis_message",
                "SLO availability: measured 99.5% of requests succeeding, needs at least 99.9% (analysis sample-7d8b9c6f5a-3-pre Failed)."
            ),
        ]
    );
    let ok = wait_for_analysis(
        "6c9f7b5d4f|sample-6c9f7b5d4f-3-pre|Paused|BlueGreenPause|BlueGreenPause",
        "successful.json",
        5,
    );
    assert_eq!(ok.status, 0, "{}", ok.log);
    assert_eq!(props(&ok)[0], ("analysis_result", "successful"));
    assert_eq!(props(&ok)[1], ("analysis_slo", "none"));
    let inconclusive = wait_for_analysis(
        "0000000000|sample-0000000000-3-pre|Paused|InconclusiveAnalysis|InconclusiveAnalysis",
        "inconclusive.json",
        5,
    );
    assert_eq!(inconclusive.status, 1);
    assert_eq!(
        props(&inconclusive)[4].1,
        "SLO latency: no requests were measured; it needs at least 20 to judge the version (analysis sample-0000000000-3-pre Inconclusive)."
    );
    let too_few = wait_for_analysis(
        "0000000000|sample-0000000000-3-pre|Paused|InconclusiveAnalysis|InconclusiveAnalysis",
        "too-few.json",
        5,
    );
    assert_eq!(too_few.status, 1);
    assert_eq!(props(&too_few)[2], ("analysis_measured", "5 requests"));
    assert_eq!(
        props(&too_few)[4].1,
        "SLO latency: only 5 requests measured; it needs at least 20 to judge the version (analysis sample-0000000000-3-pre Inconclusive)."
    );
    assert_eq!(
        &props(&inconclusive)[..4],
        [
            ("analysis_result", "inconclusive"),
            ("analysis_slo", "latency"),
            ("analysis_measured", "no data"),
            (
                "analysis_threshold",
                "at least 99% of requests within 0.3 s"
            ),
        ]
    );
    let error = wait_for_analysis(
        "6c9f7b5d4f|sample-6c9f7b5d4f-3-pre|Degraded||RolloutAborted",
        "error.json",
        5,
    );
    assert_eq!(error.status, 1);
    assert_eq!(props(&error)[2], ("analysis_measured", "error"));
    assert_eq!(
        props(&error)[4].1,
        "SLO availability could not be measured: Post \"http://prometheus:9090/api/v1/query\": dial tcp 10.0.0.1:9090: connect: connection refused (analysis sample-6c9f7b5d4f-3-pre Error).",
        "{}",
        error.log
    );
    // A run of another revision, or one still running, is waited for until the time is up.
    let stale = wait_for_analysis(
        "7d8b9c6f5a|sample-6c9f7b5d4f-3-pre|Progressing||",
        "successful.json",
        2,
    );
    assert_eq!(stale.status, 1);
    assert_eq!(props(&stale)[0], ("analysis_result", "timeout"));
    // A successful pre-promotion analysis is reported once the BlueGreenPause is there:
    // a promote sent before it would find nothing to resume.
    let early = wait_for_analysis(
        "6c9f7b5d4f|sample-6c9f7b5d4f-3-pre|Progressing||active service cutover pending",
        "successful.json",
        2,
    );
    assert_eq!(props(&early)[0], ("analysis_result", "timeout"));
    let running = wait_for_analysis(
        "6c9f7b5d4f|sample-6c9f7b5d4f-3-pre|Progressing||",
        "running.json",
        1,
    );
    assert_eq!(props(&running)[0], ("analysis_result", "timeout"));
    // Degraded before any analysis (e.g. pods that never became ready).
    let aborted = wait_for_analysis(
        "6c9f7b5d4f||Degraded||ProgressDeadlineExceeded: too slow",
        "",
        5,
    );
    assert_eq!(aborted.status, 1);
    assert_eq!(props(&aborted)[0], ("analysis_result", "aborted"));
    assert!(
        props(&aborted)[4]
            .1
            .ends_with("ProgressDeadlineExceeded: too slow")
    );

    // Every call it made is allowed by the release Role plus releaseRoleRules, and the
    // AnalysisRun read is the one the extra rule is for.
    let out = render(&with_slo(json!({"Objectives": objectives()})));
    let base: Vec<Value> = out["baseRoleRules"].as_array().unwrap().clone();
    let mut extended = base.clone();
    extended.extend(out["releaseRoleRules"].as_array().unwrap().iter().cloned());
    let mut needed_extra = false;
    for call in failed.calls.iter().chain(&ok.calls) {
        let words: Vec<&str> = call.split_whitespace().collect();
        let (resource, name) = match words[..3] {
            ["get", "rollout", name] => ("rollouts", name),
            ["get", "analysisrun", name] => ("analysisruns", name),
            _ => panic!("unexpected call {call}"),
        };
        let request = kujira_gen::upstream::rbac::Request {
            verb: "get",
            group: "argoproj.io",
            resource,
            name: Some(name),
        };
        assert!(
            kujira_gen::upstream::rbac::allows(&extended, &request),
            "{call}"
        );
        needed_extra |= !kujira_gen::upstream::rbac::allows(&base, &request);
    }
    assert!(needed_extra, "the extra rule is needed by some call");
}

/// A one-thread HTTP server on 127.0.0.1 standing in for Prometheus and the GKE metadata
/// server: answers `/token` with an access token and anything else with a Prometheus
/// vector of one sample, `value`; records each request's head.
fn fake_http(value: &'static str) -> (String, std::sync::mpsc::Receiver<String>) {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let (head, _) = support::http_head::read_request(&stream);
            let answer = if head.starts_with("GET /token") {
                r#"{"access_token":"ya29.test-token","expires_in":3599,"token_type":"Bearer"}"#
                    .to_string()
            } else {
                format!(
                    r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[1767225600,"{value}"]}}]}}}}"#
                )
            };
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
            let _ = tx.send(head);
        }
    });
    (url, rx)
}

#[test]
fn the_budget_job_authenticates_as_configured() {
    if !support::prometheus::available(
        "the_budget_job_authenticates_as_configured",
        &["curl", "jq"],
    ) {
        return;
    }
    let run = |auth: Value, address: &str, env: &[(&str, String)]| {
        let mut values = with_slo(
            json!({"Objectives": {"availability": {"Type": "Availability",
            "Objective": 99.9, "Metric": "http_requests_total"}}}),
        );
        values["Platform"]["provider"] = json!({"address": address, "auth": auth});
        let out = render(&values);
        let container = &out["budgetJob"]["spec"]["template"]["spec"]["containers"][0];
        let mut cmd = std::process::Command::new("/bin/sh");
        cmd.arg("-c").arg(container["args"][0].as_str().unwrap());
        for var in container["env"].as_array().unwrap() {
            if let Some(v) = var["value"].as_str() {
                cmd.env(var["name"].as_str().unwrap(), v);
            }
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let output = cmd.output().unwrap();
        let log = String::from_utf8_lossy(&output.stdout).into_owned();
        (output.status.code(), log)
    };

    // Bearer: the token from the Secret (the job's TOKEN variable) on every query.
    let (url, requests) = fake_http("0.9998");
    let (status, log) = run(
        json!({"type": "bearer", "secret": "prometheus-reader", "key": "token"}),
        &url,
        &[("TOKEN", "s3cret-token".to_string())],
    );
    assert_eq!(status, Some(0), "{log}");
    assert!(
        log.contains("SPINNAKER_PROPERTY_budget_availability_spent_percent=20"),
        "{log}"
    );
    assert!(
        !log.contains("s3cret-token"),
        "the token leaked into the log:\n{log}"
    );
    // First the retention the server keeps, then the query, both with the token.
    let flags = requests.recv().unwrap();
    assert!(flags.starts_with("GET /api/v1/status/flags "), "{flags}");
    assert!(
        flags.contains("Authorization: Bearer s3cret-token\r\n"),
        "{flags}"
    );
    let head = requests.recv().unwrap();
    assert!(head.starts_with("POST /api/v1/query "), "{head}");
    assert!(
        head.contains("Authorization: Bearer s3cret-token\r\n"),
        "{head}"
    );

    // Workload Identity: a token from the metadata server, then on every query.
    let (url, requests) = fake_http("0.9985");
    let (status, log) = run(
        json!({"type": "gcpWorkloadIdentity", "serviceAccount": "metrics-reader",
               "analysisAddress": "http://frontend.gmp-public.svc:9090"}),
        &url,
        &[("METADATA_TOKEN_URL", format!("{url}/token"))],
    );
    assert_eq!(status, Some(1), "exhausted: {log}");
    assert!(
        log.contains("SPINNAKER_PROPERTY_budget_result=blocked"),
        "{log}"
    );
    let token = requests.recv().unwrap();
    assert!(token.starts_with("GET /token "), "{token}");
    assert!(token.contains("Metadata-Flavor: Google\r\n"), "{token}");
    let flags = requests.recv().unwrap();
    assert!(flags.starts_with("GET /api/v1/status/flags "), "{flags}");
    let head = requests.recv().unwrap();
    assert!(
        head.contains("Authorization: Bearer ya29.test-token\r\n"),
        "{head}"
    );
    assert!(
        !log.contains("ya29.test-token"),
        "the token leaked into the log:\n{log}"
    );
}

/// After a scenario test, a successful preview analysis counts only if it measured at
/// least one scrape interval after the test ended (the job's start): one whose last
/// measurement is older did not see all the test's requests.
#[test]
fn the_preview_analysis_must_measure_after_the_test() {
    if !support::prometheus::available("the_preview_analysis_must_measure_after_the_test", &["jq"])
    {
        return;
    }
    let ready = "6c9f7b5d4f|sample-6c9f7b5d4f-3-pre|Paused|BlueGreenPause|BlueGreenPause";
    // Measured on 2026-01-01, long before this job started.
    let early = wait_for(ready, "successful.json", 5, true);
    assert_eq!(early.status, 1, "{}", early.log);
    assert_eq!(props(&early)[0], ("analysis_result", "unmeasured"));
    assert!(
        props(&early)[4].1.starts_with("The analysis sample-6c9f7b5d4f-3-pre took its last measurement at 2026-01-01T00:04:01Z, before the scenario test's last requests could be in the data ("),
        "{:?}",
        props(&early)
    );
    // The same run without a test before it: nothing to have missed.
    let no_test = wait_for(ready, "successful.json", 5, false);
    assert_eq!(no_test.status, 0, "{}", no_test.log);
    // Measured after the job started (plus the scrape interval).
    let late = wait_for(ready, "successful-after-the-test.json", 5, true);
    assert_eq!(late.status, 0, "{}", late.log);
    assert_eq!(props(&late)[0], ("analysis_result", "successful"));
}
