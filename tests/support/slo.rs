//! Renders the SLO test entries (tests/fixtures/slo/*/main.jsonnet) with kujira-gen's own
//! Jsonnet engine and templates, and the value files the SLO tests share.

use kujira_gen::render::{Renderer, Resolver};
use serde_json::{Value, json};
use std::path::Path;

fn render(entry: &str, values: &Value) -> Result<Value, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/slo")
        .join(entry);
    let renderer = Renderer::new(Resolver::new(Some(&dir), &[]));
    renderer
        .render(values)
        .map_err(|e| kujira_gen::render::to_diagnostic(&e, "value.json").human())
}

/// The AnalysisTemplates' argument carrying the measured pod-template hash.
pub const ANALYSIS_ARG: &str = "pod-template-hash";

/// Every output of release/slo.libsonnet (tests/fixtures/slo/components/main.jsonnet).
pub fn components(values: &Value) -> Result<Value, String> {
    render("components", values)
}

/// A team's value file with `extra` keys merged in.
pub fn team(namespace: &str, extra: Value) -> Value {
    let mut v = json!({
        "Application": "sample",
        "Email": "team-sample@example.com",
        "Notification": "sample-channel",
        "Account": "gke-production",
        "Image": "gcr.io/example-project/sample",
        "Namespace": namespace,
    });
    if let (Some(m), Value::Object(extra)) = (v.as_object_mut(), extra) {
        m.extend(extra);
    }
    v
}

/// The SLOs of the tests: an availability and a latency SLO from metric names (the
/// platform's templates), a latency SLO at a bucket boundary written "1", and an
/// availability SLO from the team's own PromQL.
pub fn objectives() -> Value {
    json!({
        "availability": {"Type": "Availability", "Objective": 99.9, "Window": "28d",
                          "Metric": "http_requests_total", "Labels": {"service": "sample"}},
        "latency": {"Type": "Latency", "Objective": 99, "ThresholdSeconds": 0.3,
                    "Metric": "http_request_duration_seconds"},
        "latency-1s": {"Type": "Latency", "Objective": 99.9, "ThresholdSeconds": 1,
                       "Metric": "http_request_duration_seconds"},
        "success": {"Type": "Availability", "Objective": 99.8,
                    "Good": "sum(rate(http_requests_total{code=~\"2..\",$selector}[$window]))",
                    "Total": "sum(rate(http_requests_total{$selector}[$window]))"}
    })
}

/// Platform settings with a provider at `address`.
pub fn platform(address: &str) -> Value {
    json!({"provider": {"address": address, "auth": {"type": "none"}}})
}
