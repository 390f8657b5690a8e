//! The SLOs' Prometheus rules (templates/release/slo_rules.libsonnet, docs/slo-alerts.md):
//! the rule files `build -o` writes pass `promtool check rules`; the alerts fire within the
//! SRE Workbook's detection time for a burn rate above theirs and never below a burn rate
//! of 1 (`promtool test rules`, over input series where the 5xx series is created lazily,
//! at the first failure, as client libraries do); the PrometheusRule and GMP `Rules`
//! resources pass the output checks; mistakes in the platform's alert table are reported
//! at their place. The promtool tests are skipped with a message when promtool is
//! missing, unless CI=true (tests/support/prometheus.rs `available`).

mod support;

use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::time::Instant;
use support::prometheus;
use support::test::{Output, Test};

const PROVIDER: &str = "http://prometheus.monitoring.svc:9090";

/// A team with one availability SLO (99.9% over 28 days) and no environments.
const SHOP: &str = r##"{
  "Application": "shop",
  "Email": "shop@example.com",
  "Notification": "#shop-alerts",
  "Account": "k8s",
  "Image": "gcr.io/example/shop",
  "SLO": {"Objectives": {"availability": {"Type": "Availability", "Objective": 99.9,
                                          "Window": "28d", "Metric": "http_requests_total"}},
          "PreviewAnalysis": false, "PostPromotionAnalysis": false}
}"##;

/// The error budget of SHOP's objective: 1 - 0.999.
const BUDGET: f64 = 0.001;

/// `build -o out` of SHOP with `rules` as the platform's rule settings.
fn build_shop(rules: Value) -> Output {
    let out = Test::new()
        .write(
            ".kujira/slo.json",
            json!({"provider": {"address": PROVIDER}, "rules": rules}).to_string(),
        )
        .write("teams/shop/value.json", SHOP)
        .args(["build", "-o", "out", "teams/shop/value.json"])
        .output();
    assert_eq!(out.status, 0, "{}", out.stderr);
    out
}

fn promtool(args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run promtool");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn minutes(duration: &str) -> u64 {
    kujira_gen::platform::slo_rules::seconds(duration).expect("a duration") / 60
}

#[test]
fn every_generated_rule_file_passes_promtool_check_rules() {
    let out = Test::new()
        .example_tree("gitops")
        // The example policy's exemption expires; judged on a fixed day (tests/platform.rs).
        .env("KUJIRA_TODAY", "2026-12-02")
        .args([
            "build",
            "-o",
            "out",
            "teams/slo-blue-green/value.json",
            "teams/slo-canary/value.json",
        ])
        .output();
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("wrote 8 files for 2 applications"),
        "{}",
        out.stderr
    );
    let payments = std::fs::read_to_string(out.dir.path().join("out/payments/slo-rules.yaml"))
        .expect("the rule file of payments");
    insta::assert_snapshot!("payments_rule_file", payments);
    if !prometheus::available("slo_rules", &["promtool"]) {
        return;
    }
    // Two objectives x two environments, each 5 recordings (the windows 5m, 30m, 1h, 6h,
    // 3d) and 3 alerts.
    for app in ["payments", "checkout"] {
        let file = format!("out/{app}/slo-rules.yaml");
        let started = Instant::now();
        let (ok, text) = promtool(&["check", "rules", &file], out.dir.path());
        eprintln!("promtool check rules {file}: {:?}", started.elapsed());
        assert!(ok, "{text}");
        assert!(text.contains("SUCCESS: 32 rules found"), "{text}");
    }
}

/// One alert-table row and the Prometheus test of it.
struct Row {
    severity: &'static str,
    long: &'static str,
    short: &'static str,
    burn_rate: f64,
    /// Minutes between two input samples and between two rule evaluations (the 3-day
    /// window is tested with 5-minute steps: 1-minute ones took promtool minutes).
    step: u64,
}

/// The SRE Workbook's table, the default of `rules.alerts`.
const WORKBOOK: [Row; 3] = [
    Row {
        severity: "page",
        long: "1h",
        short: "5m",
        burn_rate: 14.4,
        step: 1,
    },
    Row {
        severity: "page",
        long: "6h",
        short: "30m",
        burn_rate: 6.0,
        step: 1,
    },
    Row {
        severity: "ticket",
        long: "3d",
        short: "6h",
        burn_rate: 1.0,
        step: 5,
    },
];

/// Requests per minute: 10 per second.
const PER_MINUTE: f64 = 600.0;

/// Counter samples, one per step from 0 to `steps`: healthy until step `from`, then a
/// fraction `error_ratio` of the requests fail. The 5xx series does not exist until the
/// first failure (its first sample is the count after one step of failures), as with
/// client libraries that create a label set when it is first used. `good_exists: false`:
/// no request ever succeeds and the good series never exists either.
fn input_series(
    step: u64,
    steps: u64,
    from: u64,
    error_ratio: f64,
    good_exists: bool,
) -> Vec<Value> {
    let per_step = PER_MINUTE * step as f64;
    let mut good = Vec::new();
    let mut bad = Vec::new();
    let (mut g, mut b) = (0.0, 0.0);
    for i in 0..=steps {
        if i > from {
            g += per_step * (1.0 - error_ratio);
            b += per_step * error_ratio;
        } else {
            g += if i == 0 { 0.0 } else { per_step };
        }
        good.push(format!("{g}"));
        bad.push(if i > from { format!("{b}") } else { "_".into() });
    }
    let mut series = vec![
        json!({"series": "http_requests_total{code=\"500\",namespace=\"shop\"}",
                                 "values": bad.join(" ")}),
    ];
    if good_exists {
        series.push(
            json!({"series": "http_requests_total{code=\"200\",namespace=\"shop\"}",
                           "values": good.join(" ")}),
        );
    }
    series
}

/// The alerts of `rules` (the rule file) as promtool expects them firing: the rule's
/// labels (which include the identity the expression's result carries) and annotations.
fn expected_alerts(rules: &Value) -> Vec<Value> {
    rules["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap().iter())
        .filter(|r| r.get("alert").is_some())
        .map(|r| json!({"exp_labels": r["labels"], "exp_annotations": r["annotations"]}))
        .collect()
}

/// Runs `promtool test rules` on the rule file in `out` with the given input series and
/// checks (`(minute, firing)`); panics with promtool's report when one fails.
fn promtool_test(out: &Output, step: u64, series: Vec<Value>, checks: &[(u64, bool)]) {
    let rule_file = out.dir.path().join("out/shop/slo-rules.yaml");
    let text = std::fs::read_to_string(&rule_file).unwrap();
    let rules: Value = serde_saphyr::from_str(&text).unwrap();
    let firing = expected_alerts(&rules);
    assert_eq!(firing.len(), 1, "one alert per test: {text}");
    let tests = json!({
        "rule_files": [rule_file],
        "evaluation_interval": format!("{step}m"),
        "tests": [{
            "interval": format!("{step}m"),
            "input_series": series,
            "alert_rule_test": checks.iter().map(|(minute, fires)| json!({
                "eval_time": format!("{minute}m"),
                "alertname": "KujiraSLOErrorBudgetBurn",
                "exp_alerts": if *fires { firing.clone() } else { vec![] },
            })).collect::<Vec<_>>(),
        }],
    });
    // JSON is YAML: promtool reads it as its test file.
    let test_file = out.dir.path().join("test.yaml");
    std::fs::write(&test_file, tests.to_string()).unwrap();
    let started = Instant::now();
    let (ok, report) = promtool(&["test", "rules", "test.yaml"], out.dir.path());
    eprintln!(
        "promtool test rules ({} checks): {:?}",
        checks.len(),
        started.elapsed()
    );
    assert!(ok, "checks {checks:?}:\n{report}");
}

/// Each row of the Workbook's table, alone, against a service whose error ratio jumps to
/// twice the row's burn rate after a healthy long window. The Workbook's detection time
/// is longWindow x burnRate(row) / burnRate(actual) (the long window's ratio grows
/// linearly until it crosses the threshold; the short window's crosses it twelve times
/// sooner): here half the long window. The alert must not fire one step before it, and
/// must fire within it plus 3 steps (a lazily created 5xx series loses its first
/// step of failures to rate(), and the rules are evaluated once a step).
#[test]
fn each_alert_fires_within_the_workbooks_detection_time() {
    if !prometheus::available("slo_rules", &["promtool"]) {
        return;
    }
    for row in &WORKBOOK {
        let out = build_shop(json!({"interval": format!("{}m", row.step), "alerts": [
            {"severity": row.severity, "longWindow": row.long, "shortWindow": row.short,
             "burnRate": row.burn_rate}]}));
        let long = minutes(row.long);
        let detection = long / 2;
        let start = (long + 10) / row.step * row.step;
        let steps = (start + detection + 10 * row.step) / row.step;
        let series = input_series(
            row.step,
            steps,
            start / row.step,
            2.0 * row.burn_rate * BUDGET,
            true,
        );
        eprintln!(
            "{} {}/{} x{}: errors from minute {start}, detection time {detection} min",
            row.severity, row.long, row.short, row.burn_rate
        );
        promtool_test(
            &out,
            row.step,
            series,
            &[
                (start, false),
                (start + detection * 8 / 10 / row.step * row.step, false),
                (start + detection - row.step, false),
                (start + detection + 3 * row.step, true),
            ],
        );
    }
}

/// At 0.9 times the sustainable burn rate the budget lasts longer than the SLO's window:
/// no row alerts, however long it lasts (two long windows).
#[test]
fn no_alert_fires_below_a_burn_rate_of_one() {
    if !prometheus::available("slo_rules", &["promtool"]) {
        return;
    }
    for row in &WORKBOOK {
        let out = build_shop(json!({"interval": format!("{}m", row.step), "alerts": [
            {"severity": row.severity, "longWindow": row.long, "shortWindow": row.short,
             "burnRate": row.burn_rate}]}));
        let long = minutes(row.long);
        let start = (long + 10) / row.step * row.step;
        let steps = (start + 2 * long) / row.step;
        let series = input_series(row.step, steps, start / row.step, 0.9 * BUDGET, true);
        let checks: Vec<(u64, bool)> = (0..=8)
            .map(|i| ((start + i * long / 4) / row.step * row.step, false))
            .collect();
        promtool_test(&out, row.step, series, &checks);
    }
}

/// A service that fails every request from its first one has no good series at all: it
/// counts as zero (`or on() vector(0)`), the error ratio is 1, a burn rate of 1000 for a
/// 99.9% objective, and the fast page fires within two steps of the 5xx series' first two
/// samples (the Workbook: 1h x 14.4 / 1000 = 52 s).
#[test]
fn a_service_failing_every_request_pages_within_minutes() {
    if !prometheus::available("slo_rules", &["promtool"]) {
        return;
    }
    let row = &WORKBOOK[0];
    let out = build_shop(json!({"interval": "1m", "alerts": [
        {"severity": row.severity, "longWindow": row.long, "shortWindow": row.short,
         "burnRate": row.burn_rate}]}));
    let series = input_series(1, 30, 10, 1.0, false);
    promtool_test(
        &out,
        1,
        series,
        &[(10, false), (11, false), (13, true), (30, true)],
    );
}

/// The example platform deploys a PrometheusRule with every release; with `GMPRules` a
/// Google Managed Prometheus `Rules`. Both pass the output checks (their CRDs' schemas),
/// and a platform without a format deploys neither.
#[test]
fn the_rule_resources_pass_the_output_checks() {
    let teams = [
        "teams/slo-blue-green/value.json",
        "teams/slo-canary/value.json",
    ];
    for format in ["PrometheusRule", "GMPRules", "none"] {
        let test = Test::new()
            .example_tree("gitops")
            // The example policy's exemption expires; judged on a fixed day (tests/platform.rs).
            .env("KUJIRA_TODAY", "2026-12-02");
        let slo_path = test.path().join(".kujira/slo.json");
        let mut slo: Value =
            serde_json::from_str(&std::fs::read_to_string(&slo_path).unwrap()).unwrap();
        slo["rules"]["format"] = json!(format);
        let test = test.write(".kujira/slo.json", slo.to_string());
        let out = test.args(["validate", teams[0], teams[1]]).output();
        assert_eq!(
            (out.status, out.stdout.as_str()),
            (0, "2 files ok\n"),
            "{format}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("warning"), "{format}: {}", out.stderr);
        let built = Test::new()
            .example_tree("gitops")
            // The example policy's exemption expires; judged on a fixed day (tests/platform.rs).
            .env("KUJIRA_TODAY", "2026-12-02")
            .write(".kujira/slo.json", slo.to_string())
            .args(["build", teams[0]])
            .output();
        let bundle: Value = serde_json::from_str(&built.stdout).expect("a bundle");
        let kinds: Vec<(String, String)> = bundle["pipelines"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["stages"].as_array().unwrap().iter())
            .flat_map(|s| s["manifests"].as_array().into_iter().flatten())
            .filter(|m| m["metadata"]["name"] == "payments-slo-rules")
            .map(|m| {
                assert_eq!(m["spec"]["groups"].as_array().unwrap().len(), 2);
                assert_eq!(m["metadata"]["labels"]["release"], "kube-prometheus-stack");
                (
                    m["apiVersion"].as_str().unwrap().to_string(),
                    m["kind"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let expected: Vec<(String, String)> = match format {
            "PrometheusRule" => {
                vec![("monitoring.coreos.com/v1".into(), "PrometheusRule".into()); 2]
            }
            "GMPRules" => vec![("monitoring.googleapis.com/v1".into(), "Rules".into()); 2],
            _ => vec![],
        };
        assert_eq!(kinds, expected, "{format}: one per environment");
    }
}

/// Mistakes in the platform's alert table, each reported at its place in slo.json.
#[test]
fn mistakes_in_the_alert_table_are_reported_where_they_are() {
    let cases: [(&str, Value, &str); 7] = [
        (
            "not a list",
            json!({"alerts": {"severity": "page"}}),
            "rules.alerts: expected an array, got an object",
        ),
        (
            "a window that is no duration",
            json!({"alerts": [{"severity": "page", "longWindow": "1 hour", "shortWindow": "5m", "burnRate": 14.4}]}),
            "rules.alerts[0].longWindow: must be a Prometheus duration with one unit, such as 1h, 6h or 3d; got \"1 hour\"",
        ),
        (
            "a burn rate of 0",
            json!({"alerts": [{"severity": "page", "longWindow": "1h", "shortWindow": "5m", "burnRate": 0}]}),
            "rules.alerts[0].burnRate: must be greater than 0, got 0",
        ),
        (
            "a negative burn rate",
            json!({"alerts": [{"severity": "page", "longWindow": "1h", "shortWindow": "5m", "burnRate": -1}]}),
            "rules.alerts[0].burnRate: must be greater than 0, got -1",
        ),
        (
            "a short window under two scrapes",
            json!({"alerts": [{"severity": "page", "longWindow": "1h", "shortWindow": "1m", "burnRate": 14.4}]}),
            "rules.alerts[0].shortWindow: must be at least twice scrapeInterval (1m): rate() over a shorter window has fewer than two samples and the alert could never fire; got \"1m\"",
        ),
        (
            "a short window as long as the long one",
            json!({"alerts": [{"severity": "page", "longWindow": "6h", "shortWindow": "6h", "burnRate": 6}]}),
            "rules.alerts[0].shortWindow: must be shorter than longWindow (6h), got \"6h\"",
        ),
        (
            "an unknown format",
            json!({"format": "Thanos"}),
            "rules.format: expected one of `PrometheusRule`, `GMPRules`, `none`; got \"Thanos\"",
        ),
    ];
    for (what, rules, expected) in cases {
        let out = Test::new()
            .write(
                ".kujira/slo.json",
                json!({"provider": {"address": PROVIDER}, "scrapeInterval": "1m", "rules": rules})
                    .to_string(),
            )
            .write("teams/shop/value.json", SHOP)
            .args(["validate", "teams/shop/value.json"])
            .output();
        assert_eq!(out.status, 1, "{what}: {}", out.stderr);
        // At a line and column of the platform's file.
        let line = out
            .stderr
            .lines()
            .find(|l| l.contains(expected))
            .unwrap_or_else(|| panic!("{what}: {}", out.stderr));
        assert!(
            line.starts_with(".kujira/slo.json:1:") && line.contains(": error: "),
            "{what}: {line}"
        );
        // One message for the mistake (the team's SLO is then reported as unmeasurable).
        assert_eq!(
            out.stderr.matches("slo.json:").count(),
            1,
            "{what}: {}",
            out.stderr
        );
    }
}
