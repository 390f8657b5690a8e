//! The analysis against a real Prometheus (Debian's 2.42) over traffic shaped like a real
//! preview's: series created by the client library on their first request, scraped every
//! 15 s at their own offset, the scenario test's requests arriving after the analysis has
//! started, bursts of failures between two scrapes, too few requests, a container
//! restart, histograms whose bucket bounds Prometheus 3 spells `le="1.0"`.
//!
//! Each scenario renders the generated AnalysisTemplate, runs each metric's query at the
//! times the controller would (from the run's start, every interval, 10 s after an
//! error), evaluates it with Argo Rollouts' rules (tests/support/argo_analysis.rs) and
//! asserts the phase of every metric and of the run, and the last value measured.

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::argo_analysis::{self as argo, Phase};
use support::prometheus::{self, T0};
use support::slo::{components, objectives, platform, team};
use support::traffic::{self, LeSpelling, Request, Version};

const SCRAPE: i64 = 15;
/// Scrapes happen at T0 + 7 + 15k: never on a measurement's second.
const SCRAPE_OFFSET: i64 = 7;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// One metric measured as the controller does from `start`: its phase and the values of
/// its measurements.
fn measure(address_metric: &Value, start: i64) -> (Phase, Vec<f64>) {
    let agent = agent();
    let prom = &address_metric["provider"]["prometheus"];
    let (address, query) = (
        prom["address"].as_str().unwrap(),
        prom["query"].as_str().unwrap(),
    );
    let interval = match address_metric["interval"].as_str().unwrap() {
        "1m" => 60,
        other => panic!("interval {other}"),
    };
    let mut phases = Vec::new();
    let mut values = Vec::new();
    let mut time = start;
    for _ in 0..100 {
        let answer = prometheus::query(&agent, address, query, time);
        let phase = match answer.and_then(|a| argo::result_of(&a)) {
            Ok(result) => {
                values.push(result.first().copied().unwrap_or(f64::NAN));
                argo::measurement(address_metric, &result).unwrap_or(Phase::Error)
            }
            Err(_) => Phase::Error,
        };
        phases.push(phase);
        let metric_phase = argo::metric_phase(address_metric, &phases);
        if metric_phase.completed() {
            return (metric_phase, values);
        }
        time += if phase == Phase::Error { 10 } else { interval };
    }
    panic!("the metric did not complete");
}

struct Scenario {
    what: &'static str,
    hash: &'static str,
    requests: Vec<Request>,
    restarts: Vec<(usize, i64)>,
    le: LeSpelling,
    /// Per metric: name, phase, last value measured (approximately).
    expected: Vec<(&'static str, Phase, f64)>,
    run: Phase,
}

/// The scenario test: one request a second for `n` seconds from T0 + `start`, on the two
/// preview pods in turn.
fn test_traffic(start: i64, n: usize, code: u16, seconds: f64) -> Vec<Request> {
    (0..n)
        .map(|i| Request {
            at: T0 + start + i as i64,
            pod: i % 2,
            code,
            seconds,
        })
        .collect()
}

fn scenarios() -> Vec<Scenario> {
    use Phase::*;
    let healthy = |what, hash, le| Scenario {
        what,
        hash,
        // The test starts 45 s after the analysis (the wait job, Orca, the newman pod).
        requests: test_traffic(45, 60, 200, 0.05),
        restarts: vec![],
        le,
        expected: vec![
            ("availability", Successful, 1.0),
            ("latency", Successful, 1.0),
            ("latency-1s", Successful, 1.0),
            ("success", Successful, 1.0),
        ],
        run: Successful,
    };
    let mut burst = test_traffic(45, 60, 200, 0.05);
    // 30 failures between the scrapes at T0+112 and T0+127: the `code="500"` series is
    // born at its first scrape with the value 30 and never changes again.
    burst.extend(traffic::steady(T0 + 114, 30, 0, 0, 500, 0.05));
    let mut crash = test_traffic(45, 40, 500, 0.05);
    crash.iter_mut().for_each(|r| r.pod = 0);
    crash.extend(traffic::steady(T0 + 100, 60, 1, 0, 200, 0.05));
    vec![
        healthy(
            "healthy preview, test starting after the first measurement",
            "aaaa000001",
            LeSpelling::Go,
        ),
        healthy(
            "healthy preview, buckets spelled by Prometheus 3",
            "aaaa000002",
            LeSpelling::Prometheus3,
        ),
        Scenario {
            what: "every test request fails (no good series exists)",
            hash: "bbbb000001",
            requests: test_traffic(45, 60, 500, 0.05),
            restarts: vec![],
            le: LeSpelling::Go,
            expected: vec![
                ("availability", Failed, 0.0),
                ("latency", Successful, 1.0),
                ("latency-1s", Successful, 1.0),
                ("success", Failed, 0.0),
            ],
            run: Failed,
        },
        Scenario {
            what: "a burst of failures between two scrapes",
            hash: "bbbb000002",
            requests: burst,
            restarts: vec![],
            le: LeSpelling::Go,
            expected: vec![
                ("availability", Failed, 60.0 / 90.0),
                ("latency", Successful, 1.0),
                ("latency-1s", Successful, 1.0),
                ("success", Failed, 60.0 / 90.0),
            ],
            run: Failed,
        },
        Scenario {
            what: "failures, then a container restart, then successes",
            hash: "bbbb000003",
            requests: crash,
            restarts: vec![(0, T0 + 95)],
            le: LeSpelling::Go,
            // Failed at T0+120: the last scrape before the restart (T0+82) saw 38 of the
            // 40 failures (the 2 after it died with the container, as they would), the
            // scrape at T0+112 13 successes since: 13 / 51.
            expected: vec![
                ("availability", Failed, 13.0 / 51.0),
                ("latency", Successful, 1.0),
                ("latency-1s", Successful, 1.0),
                ("success", Failed, 13.0 / 51.0),
            ],
            run: Failed,
        },
        Scenario {
            what: "latency broken, buckets spelled by Prometheus 3",
            hash: "cccc000001",
            requests: test_traffic(45, 60, 200, 1.5),
            restarts: vec![],
            le: LeSpelling::Prometheus3,
            expected: vec![
                ("availability", Successful, 1.0),
                ("latency", Failed, 0.0),
                ("latency-1s", Failed, 0.0),
                ("success", Successful, 1.0),
            ],
            run: Failed,
        },
        Scenario {
            what: "no request at all",
            hash: "dddd000001",
            requests: vec![],
            restarts: vec![],
            le: LeSpelling::Go,
            expected: vec![
                ("availability", Inconclusive, -1.0),
                ("latency", Inconclusive, -1.0),
                ("latency-1s", Inconclusive, -1.0),
                ("success", Inconclusive, -1.0),
            ],
            run: Inconclusive,
        },
        Scenario {
            what: "5 requests, fewer than the 20 a measurement needs",
            hash: "dddd000002",
            requests: test_traffic(45, 5, 200, 0.05),
            restarts: vec![],
            le: LeSpelling::Go,
            expected: vec![
                ("availability", Inconclusive, -6.0),
                ("latency", Inconclusive, -6.0),
                ("latency-1s", Inconclusive, -6.0),
                ("success", Inconclusive, -6.0),
            ],
            run: Inconclusive,
        },
    ]
}

#[test]
fn preview_analysis_under_realistic_traffic() {
    let all = scenarios();
    let texts: Vec<(String, String)> = all
        .iter()
        .map(|s| {
            let version = Version {
                namespace: "sample",
                service: "sample",
                hash: s.hash,
                requests: s.requests.clone(),
                restarts: s.restarts.clone(),
                le: s.le,
            };
            (
                format!("{}.om", s.hash),
                traffic::scrape(&version, T0 - 300 + SCRAPE_OFFSET, T0 + 600, SCRAPE),
            )
        })
        .collect();
    let Some(prom) =
        prometheus::start_generated("preview_analysis_under_realistic_traffic", &texts, "100y")
    else {
        return;
    };
    let values = json!({
        "Values": team("sample", json!({"SLO": {"Objectives": objectives()}})),
        "Platform": platform(&prom.url),
    });
    let out = components(&values).unwrap();
    let template = out["analysisTemplates"][0].clone();
    for s in &all {
        let mut phases = Vec::new();
        for (metric, (name, phase, value)) in template["spec"]["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&s.expected)
        {
            assert_eq!(metric["name"], *name, "{}", s.what);
            let resolved =
                argo::resolve_args(&metric.to_string(), &[(support::slo::ANALYSIS_ARG, s.hash)])
                    .unwrap();
            let metric: Value = serde_json::from_str(&resolved).unwrap();
            let (measured, values) = measure(&metric, T0);
            let last = values.last().copied().unwrap_or(f64::NAN);
            assert_eq!(
                measured, *phase,
                "{}: metric {name} measured {values:?}",
                s.what
            );
            assert!(
                (last - value).abs() < 1e-9,
                "{}: metric {name} measured {values:?}, expected the last to be {value}",
                s.what
            );
            phases.push(measured);
        }
        assert_eq!(argo::worst(phases), s.run, "{}: the run", s.what);
    }

    // What the queries before counting said about the same data: rate() over a 2m
    // window never sees the burst's series (born at 30, constant after) and reads 100 %.
    let old = "sum(rate(http_requests_total{code!~\"5..\",rollouts_pod_template_hash=\"bbbb000002\"}[2m])) / sum(rate(http_requests_total{rollouts_pod_template_hash=\"bbbb000002\"}[2m]))";
    let answer = prom.query(old, T0 + 150).unwrap();
    let ratio = argo::result_of(&answer).unwrap();
    assert_eq!(
        ratio,
        vec![1.0],
        "rate() misses the burst born between scrapes"
    );
    // And an exact `le="1"` finds nothing where Prometheus 3 wrote `le="1.0"`.
    let exact = "sum(http_request_duration_seconds_bucket{le=\"1\",rollouts_pod_template_hash=\"cccc000001\"})";
    let answer = prom.query(exact, T0 + 300).unwrap();
    assert_eq!(
        answer["data"]["result"],
        json!([]),
        "le=\"1\" on Prometheus 3 data"
    );
}

/// The budget job of a team whose availability SLO looks at 28 days, with its script run
/// for real (/bin/sh, curl, jq) against `address`: exit status, log, properties.
fn run_budget(address: &str) -> (i32, String, std::collections::BTreeMap<String, Value>) {
    let values = json!({
        "Values": team("shop", json!({"SLO": {"Objectives": {
            "availability": {"Type": "Availability", "Objective": 99.9, "Window": "28d",
                             "Metric": "http_requests_total", "Labels": {"service": "shop"}}
        }}})),
        "Platform": platform(address),
    });
    let out = components(&values).unwrap();
    let container = &out["budgetJob"]["spec"]["template"]["spec"]["containers"][0];
    let mut cmd = std::process::Command::new("/bin/sh");
    cmd.arg("-c").arg(container["args"][0].as_str().unwrap());
    for var in container["env"].as_array().unwrap() {
        cmd.env(
            var["name"].as_str().unwrap(),
            var["value"].as_str().unwrap_or_default(),
        );
    }
    let output = cmd.output().unwrap();
    let log = String::from_utf8_lossy(&output.stdout).into_owned();
    let properties = kujira_gen::upstream::property_parser::parse(&log)
        .unwrap()
        .values;
    (output.status.code().unwrap_or(-1), log, properties)
}

/// 30 days of one pod's traffic, 100 requests an hour, scraped every 12 hours (one TSDB
/// block each: promtool writes 2-hour blocks) up to a minute ago,
/// with an incident 20 days ago: 1,500 failures in one hour (its `code="500"` series is
/// born then).
fn month_with_an_old_incident(now: i64) -> String {
    let start = now - 30 * 86_400;
    let mut requests = traffic::steady(start, 30 * 24 * 100, 36, 0, 200, 0.05);
    requests.extend(traffic::steady(now - 20 * 86_400, 1_500, 2, 0, 500, 0.05));
    let version = Version {
        namespace: "shop",
        service: "shop",
        hash: "1111111111",
        requests,
        restarts: vec![],
        le: LeSpelling::Go,
    };
    traffic::scrape(&version, start + 30, now - 60, 43_200)
}

#[test]
fn the_budget_blocks_when_the_provider_keeps_less_than_the_window() {
    if !prometheus::available(
        "the_budget_blocks_when_the_provider_keeps_less_than_the_window",
        &["prometheus", "promtool", "curl", "jq"],
    ) {
        return;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let data = vec![("month.om".to_string(), month_with_an_old_incident(now))];
    // Keeping everything, the incident spends the budget many times over.
    let Some(all) = prometheus::start_generated("budget, all data", &data, "100y") else {
        return;
    };
    let (status, log, props) = run_budget(&all.url);
    assert_eq!(status, 1, "{log}");
    assert_eq!(props["budget_availability_status"], "exhausted", "{log}");
    drop(all);
    // Prometheus' default retention (15d) has deleted the incident: the same query now
    // reads a perfect month. The job asks the server what it keeps and refuses to judge.
    let Some(short) = prometheus::start_generated("budget, 15 days kept", &data, "15d") else {
        return;
    };
    let values = json!({
        "Values": team("shop", json!({"SLO": {"Objectives": {
            "availability": {"Type": "Availability", "Objective": 99.9, "Window": "28d",
                             "Metric": "http_requests_total", "Labels": {"service": "shop"}}
        }}})),
        "Platform": platform(&short.url),
    });
    let query = components(&values).unwrap()["budgetQueries"]["availability"]
        .as_str()
        .unwrap()
        .to_string();
    let sli = argo::result_of(&short.query(&query, now).unwrap()).unwrap();
    assert_eq!(
        sli,
        vec![1.0],
        "without the old blocks the month looks perfect"
    );
    let (status, log, props) = run_budget(&short.url);
    assert_eq!(status, 1, "{log}");
    assert_eq!(props["budget_availability_status"], "short_data", "{log}");
    assert_eq!(props["budget_result"], "blocked", "{log}");
    assert!(
        props["budget_message"]
            .as_str()
            .unwrap()
            .starts_with("Error budgets could not be checked (availability): availability cannot be judged: the metric provider keeps 15d of data, less than its 28d window."),
        "{log}"
    );
}
