//! The SLO queries and the error-budget job against a real Prometheus (Debian's 2.42,
//! started by the test on 127.0.0.1 over the fixtures in tests/fixtures/prometheus; see
//! tests/support/prometheus.rs). Skipped with a message when prometheus, promtool, curl
//! or jq is missing, unless CI=true.
//!
//! - Every query of the generated AnalysisTemplate runs against the previews' series at
//!   each measurement time, and Argo Rollouts' evaluation of the generated conditions
//!   (tests/support/argo_analysis.rs) gives the phase of each metric and of the run.
//! - The generated budget job's script runs for real (/bin/sh, curl, jq) against the
//!   error-budget series, with and without the override, and its log is read the way
//!   Clouddriver reads it (`kujira_gen::upstream::property_parser`).

mod support;

use kujira_gen::upstream::property_parser;
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};
use support::argo_analysis::{self as argo, Phase};
use support::prometheus::{self, T0};
use support::slo::{components, objectives, platform, team};

/// Seconds in an analysis interval such as "1m".
fn seconds(duration: &str) -> i64 {
    let (n, unit) = duration.split_at(duration.len() - 1);
    let n: i64 = n.parse().expect("a number");
    n * match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        other => panic!("unit {other}"),
    }
}

/// A URL where nothing listens (the provider unreachable).
fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

struct Timings {
    queries: Vec<Duration>,
}

impl Timings {
    fn report(&self, what: &str) {
        let n = self.queries.len().max(1) as u32;
        let total: Duration = self.queries.iter().sum();
        let max = self.queries.iter().max().copied().unwrap_or_default();
        eprintln!(
            "{what}: {} queries, mean {:?}, max {:?}",
            self.queries.len(),
            total / n,
            max
        );
    }
}

/// Runs one analysis of `template` as the controller would for the ReplicaSet `hash`,
/// starting at T0: each metric measured every interval until it completes. Returns each
/// metric's phase and its first measured SLI.
fn analyse(
    template: &Value,
    hash: &str,
    timings: &mut Timings,
) -> Vec<(String, Phase, Option<f64>)> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let mut out = Vec::new();
    for metric in template["spec"]["metrics"].as_array().unwrap() {
        let resolved =
            argo::resolve_args(&metric.to_string(), &[(support::slo::ANALYSIS_ARG, hash)]).unwrap();
        let metric: Value = serde_json::from_str(&resolved).unwrap();
        let prom = &metric["provider"]["prometheus"];
        let (address, query) = (
            prom["address"].as_str().unwrap(),
            prom["query"].as_str().unwrap(),
        );
        let interval = seconds(metric["interval"].as_str().unwrap());
        let mut measurements = Vec::new();
        let mut first = None;
        let mut time = T0;
        // Errors are retried without counting; the bound only stops a broken model.
        for _ in 0..100 {
            let started = Instant::now();
            let answer = prometheus::query(&agent, address, query, time);
            timings.queries.push(started.elapsed());
            let phase = match answer.and_then(|a| argo::result_of(&a)) {
                Ok(result) => {
                    first.get_or_insert(result.first().copied().unwrap_or(f64::NAN));
                    argo::measurement(&metric, &result).unwrap_or(Phase::Error)
                }
                Err(_) => Phase::Error,
            };
            measurements.push(phase);
            let metric_phase = argo::metric_phase(&metric, &measurements);
            if metric_phase.completed() {
                out.push((
                    metric["name"].as_str().unwrap().to_string(),
                    metric_phase,
                    first,
                ));
                break;
            }
            // After an error the controller retries in 10 s (analysis/analysis.go
            // DefaultErrorRetryInterval), otherwise after the interval.
            time += if phase == Phase::Error { 10 } else { interval };
        }
    }
    out
}

/// A preview: what it is, its pod-template hash, each metric's expected phase and SLI at
/// T0, and the run's phase.
type Scenario<'a> = (&'a str, &'a str, &'a [Expected<'a>], Phase);
type Expected<'a> = (&'a str, Phase, f64);

fn approx(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn analysis_of_previews_against_a_real_prometheus() {
    let Some(prom) = prometheus::start(
        "analysis_of_previews_against_a_real_prometheus",
        &[
            "preview-healthy.om",
            "preview-availability-broken.om",
            "preview-latency-broken.om",
        ],
    ) else {
        return;
    };
    eprintln!(
        "promtool {:?} (3 files), Prometheus ready after {:?}",
        prom.load_time, prom.start_time
    );
    let mut timings = Timings {
        queries: Vec::new(),
    };
    let values = |address: &str| json!({"Values": team("sample", json!({"SLO": {"Objectives": objectives()}})), "Platform": platform(address)});
    let template = |address: &str| {
        let out = components(&values(address)).unwrap();
        let templates = out["analysisTemplates"].as_array().unwrap().clone();
        assert_eq!(
            templates.len(),
            1,
            "one AnalysisTemplate for pre and post promotion"
        );
        templates[0].clone()
    };
    use Phase::*;
    // (what, pod-template hash, per metric: name, phase, SLI at T0, the run's phase)
    let scenarios: &[Scenario] = &[
        (
            "healthy preview",
            "6c9f7b5d4f",
            &[
                ("availability", Successful, 0.9995),
                ("latency", Successful, 0.995),
                ("latency-1s", Successful, 0.9995),
                ("success", Successful, 0.9995),
            ],
            Successful,
        ),
        (
            "preview breaking availability",
            "7d8b9c6f5a",
            &[
                ("availability", Failed, 0.995),
                ("latency", Successful, 0.995),
                ("latency-1s", Successful, 0.9995),
                ("success", Failed, 0.995),
            ],
            Failed,
        ),
        (
            "preview breaking latency",
            "5f4d3c2b1a",
            &[
                ("availability", Successful, 0.9995),
                ("latency", Failed, 0.95),
                ("latency-1s", Successful, 0.9995),
                ("success", Successful, 0.9995),
            ],
            Failed,
        ),
        (
            "preview without requests: no evidence, never a pass",
            "0000000000",
            &[
                ("availability", Inconclusive, -1.0),
                ("latency", Inconclusive, -1.0),
                ("latency-1s", Inconclusive, -1.0),
                ("success", Inconclusive, -1.0),
            ],
            Inconclusive,
        ),
    ];
    let passing = template(&prom.url);
    for (what, hash, metrics, run) in scenarios {
        let measured = analyse(&passing, hash, &mut timings);
        let names: Vec<&str> = measured.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(
            names,
            metrics.iter().map(|m| m.0).collect::<Vec<_>>(),
            "{what}"
        );
        for ((name, phase, sli), (_, expected_phase, expected_sli)) in measured.iter().zip(*metrics)
        {
            assert_eq!(phase, expected_phase, "{what}: metric {name}");
            assert!(
                approx(*sli, *expected_sli),
                "{what}: metric {name} measured {sli:?}, expected {expected_sli}"
            );
        }
        assert_eq!(
            argo::worst(measured.iter().map(|m| m.1)),
            *run,
            "{what}: the run"
        );
    }
    // Provider unreachable: every measurement errs; after consecutiveErrorLimit + 1 the
    // metric, and so the run, ends in Error (an aborted rollout, like a failure).
    let unreachable = template(&closed_port());
    assert_eq!(
        unreachable["spec"]["metrics"][0]["consecutiveErrorLimit"],
        4
    );
    let measured = analyse(&unreachable, "6c9f7b5d4f", &mut timings);
    assert!(measured.iter().all(|m| m.1 == Error), "{measured:?}");
    timings.report("analysis");
}

/// The budget job's container, as a command to run here: its script under /bin/sh with
/// its environment (values only; `valueFrom` entries come from `secrets`).
fn budget_command(job: &Value, secrets: &[(&str, &str)]) -> Command {
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["command"], json!(["/bin/sh", "-c"]));
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(container["args"][0].as_str().unwrap());
    for var in container["env"].as_array().unwrap() {
        let name = var["name"].as_str().unwrap();
        match var["value"].as_str() {
            Some(v) => {
                cmd.env(name, v);
            }
            None => {
                let (_, v) = secrets
                    .iter()
                    .find(|(n, _)| *n == name)
                    .unwrap_or_else(|| panic!("no test value for {name}"));
                cmd.env(name, v);
            }
        }
    }
    cmd
}

struct JobRun {
    status: i32,
    log: String,
    properties: std::collections::BTreeMap<String, Value>,
}

fn run_budget_job(namespace: &str, address: &str, override_reason: &str) -> JobRun {
    let values = json!({
        "Values": team(namespace, json!({"SLO": {"Objectives": {
            "availability": {"Type": "Availability", "Objective": 99.9, "Window": "28d",
                             "Metric": "http_requests_total", "Labels": {"service": "shop"}},
            "latency": {"Type": "Latency", "Objective": 99, "ThresholdSeconds": 0.3,
                        "Metric": "http_request_duration_seconds", "Labels": {"service": "shop"}}
        }}})),
        "Platform": platform(address),
        // What Orca hands the job after evaluating the pipeline's expression.
        "Override": override_reason,
    });
    let out = components(&values).unwrap();
    let started = Instant::now();
    let output = budget_command(&out["budgetJob"], &[]).output().unwrap();
    let log = String::from_utf8_lossy(&output.stdout).into_owned();
    eprintln!("budget job for {namespace}: {:?}", started.elapsed());
    let properties = property_parser::parse(&log).unwrap().values;
    JobRun {
        status: output.status.code().unwrap_or(-1),
        log: format!("{log}{}", String::from_utf8_lossy(&output.stderr)),
        properties,
    }
}

fn prop<'a>(run: &'a JobRun, key: &str) -> &'a str {
    run.properties
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no property {key} in:\n{}", run.log))
}

#[test]
fn error_budget_job_against_a_real_prometheus() {
    if !prometheus::available(
        "error_budget_job_against_a_real_prometheus",
        &["curl", "jq"],
    ) {
        return;
    }
    // The job queries "now": the fixtures' last samples are moved to a minute ago.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let Some(prom) = prometheus::start_shifted(
        "error_budget_job_against_a_real_prometheus",
        &["budget-healthy.om", "budget-spent.om"],
        now - 60 - T0,
    ) else {
        return;
    };
    eprintln!(
        "promtool {:?} (2 files), Prometheus ready after {:?}",
        prom.load_time, prom.start_time
    );

    // Budget left: 0.02 % of requests failed against 0.1 % allowed, 0.5 % slow against 1 %.
    let healthy = run_budget_job("shop-healthy", &prom.url, "");
    assert_eq!(healthy.status, 0, "{}", healthy.log);
    assert_eq!(prop(&healthy, "budget_result"), "passed");
    assert_eq!(prop(&healthy, "budget_exhausted"), "none");
    assert_eq!(prop(&healthy, "budget_availability_status"), "ok");
    assert_eq!(prop(&healthy, "budget_availability_spent_percent"), "20");
    assert_eq!(prop(&healthy, "budget_availability_window"), "28d");
    assert_eq!(prop(&healthy, "budget_latency_status"), "ok");
    assert_eq!(prop(&healthy, "budget_latency_spent_percent"), "50");
    assert_eq!(
        prop(&healthy, "budget_message"),
        "Error budgets left: availability spent 20% of its 28d budget; latency spent 50% of its 28d budget."
    );
    assert!(!healthy.properties.contains_key("budget_override_reason"));

    // Spent: 0.15 % of requests failed, one and a half times the budget.
    let spent = run_budget_job("shop-spent", &prom.url, "");
    assert_eq!(spent.status, 1, "{}", spent.log);
    assert_eq!(prop(&spent, "budget_result"), "blocked");
    assert_eq!(prop(&spent, "budget_exhausted"), "availability");
    assert_eq!(prop(&spent, "budget_availability_status"), "exhausted");
    assert_eq!(prop(&spent, "budget_availability_spent_percent"), "150");
    assert_eq!(prop(&spent, "budget_latency_status"), "ok");
    assert_eq!(
        prop(&spent, "budget_message"),
        "Error budget exhausted: availability spent 150% of its 28d budget (objective 99.9%); latency spent 50% of its 28d budget. To release anyway, start the pipeline with the parameter budgetOverride set to the reason."
    );

    // The override lets it through, and says so; a reason cannot forge other properties.
    let overridden = run_budget_job(
        "shop-spent",
        &prom.url,
        "INC-1234 hotfix\nSPINNAKER_PROPERTY_budget_result=passed",
    );
    assert_eq!(overridden.status, 0, "{}", overridden.log);
    assert_eq!(prop(&overridden, "budget_result"), "overridden");
    assert_eq!(
        prop(&overridden, "budget_override_reason"),
        "INC-1234 hotfix SPINNAKER_PROPERTY_budget_result=passed"
    );
    assert!(
        prop(&overridden, "budget_message").starts_with(
            "Error budget gate overridden (INC-1234 hotfix SPINNAKER_PROPERTY_budget_result=passed): availability spent 150%"
        ),
        "{}",
        overridden.log
    );
    // An override with budget left changes nothing.
    let unused = run_budget_job("shop-healthy", &prom.url, "just in case");
    assert_eq!(unused.status, 0);
    assert_eq!(prop(&unused, "budget_result"), "passed");

    // No data (no requests in the window): not exhausted, reported as such.
    let quiet = run_budget_job("shop-quiet", &prom.url, "");
    assert_eq!(quiet.status, 0, "{}", quiet.log);
    assert_eq!(prop(&quiet, "budget_availability_status"), "no_data");
    assert_eq!(prop(&quiet, "budget_availability_spent_percent"), "no_data");
    assert_eq!(
        prop(&quiet, "budget_message"),
        "Error budgets left: availability had no requests in 28d; latency had no requests in 28d."
    );

    // Prometheus unreachable: the gate cannot tell, so it blocks (unless overridden).
    let down = closed_port();
    let unreachable = run_budget_job("shop-healthy", &down, "");
    assert_eq!(unreachable.status, 1, "{}", unreachable.log);
    assert_eq!(prop(&unreachable, "budget_result"), "blocked");
    assert_eq!(prop(&unreachable, "budget_availability_status"), "error");
    assert_eq!(prop(&unreachable, "budget_exhausted"), "none");
    assert!(
        prop(&unreachable, "budget_message")
            .starts_with("Error budgets could not be checked (availability,latency):"),
        "{}",
        unreachable.log
    );
    let forced = run_budget_job("shop-healthy", &down, "Prometheus is down, INC-99");
    assert_eq!(forced.status, 0);
    assert_eq!(prop(&forced, "budget_result"), "overridden");
}
