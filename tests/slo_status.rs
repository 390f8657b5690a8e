//! `kujira-gen slo status`, the real binary against a real Prometheus (Debian's 2.42 on
//! 127.0.0.1, tests/support/prometheus.rs) and against fake servers that fail in the ways
//! a provider fails: refused connections, HTTP errors, garbage, silence.
//!
//! The fleet's series are written here, relative to the time of the test, because the
//! command asks for "now": every counter grows by a fixed amount per step, so each ratio
//! is exact (figures next to each team below). The Prometheus tests are skipped with a
//! message when prometheus or promtool is missing, unless CI=true.

mod support;

use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};
use support::prometheus;
use support::test::Test;

const DAY: i64 = 86_400;

/// A value file with the SLOs `objectives` (and any other keys of `extra`).
fn team(app: &str, objectives: &str, extra: &str) -> String {
    format!(
        r#"{{"Application": "{app}", "Email": "{app}@example.com", "Notification": "{app}-releases",
  "Account": "gke-production", "Image": "gcr.io/example/{app}"{extra},
  "SLO": {{"Objectives": {objectives}}}}}
"#
    )
}

const AVAILABILITY: &str = r#"{"availability": {"Type": "Availability", "Objective": 99.9, "Window": "28d", "Metric": "http_requests_total"}}"#;

const AVAILABILITY_AND_LATENCY: &str = r#"{"availability": {"Type": "Availability", "Objective": 99.9, "Window": "28d", "Metric": "http_requests_total"},
  "latency": {"Type": "Latency", "Objective": 99, "ThresholdSeconds": 0.3, "Window": "28d", "Metric": "http_request_duration_seconds"}}"#;

fn platform(address: &str, auth: &str) -> String {
    format!(r#"{{"provider": {{"address": "{address}", "auth": {auth}}}}}"#)
}

/// One service's traffic: per step of the 28 days (4 steps) and per minute of the last
/// 70 minutes (70 steps), requests, failed ones, and ones within 0.3 s.
struct Traffic {
    namespace: &'static str,
    weekly: (u64, u64, u64),
    minute: (u64, u64, u64),
    /// Whether the success series (`code="200"`) exists: a client library creates it on
    /// the first success, so a service that never succeeded has none.
    successes: bool,
}

/// OpenMetrics text of `services`, the last sample at `last` (Unix seconds). Samples: one
/// 10 minutes after the start of a 28-day window ending at `last` (so that it stays in
/// the window for the few seconds until the query), every 7 days, 70 minutes before
/// `last`, then every minute.
fn openmetrics(services: &[Traffic], last: i64) -> String {
    let mut times = vec![
        last - 28 * DAY + 600,
        last - 21 * DAY,
        last - 14 * DAY,
        last - 7 * DAY,
        last - 4200,
    ];
    let weekly_steps = times.len() - 1;
    times.extend((1..=70).map(|i| last - 4200 + 60 * i));
    // Cumulative (total, errors, fast) at each time.
    let cumulative = |s: &Traffic| {
        let mut at = vec![(0u64, 0u64, 0u64)];
        for step in 0..times.len() - 1 {
            let (t, e, f) = at[step];
            let (dt, de, df) = if step < weekly_steps {
                s.weekly
            } else {
                s.minute
            };
            at.push((t + dt, e + de, f + df));
        }
        at
    };
    let mut out = vec!["# TYPE http_requests counter".to_string()];
    for s in services {
        let at = cumulative(s);
        for (code, pick) in [("200", 0), ("500", 1)] {
            if code == "200" && !s.successes {
                continue;
            }
            for (i, t) in times.iter().enumerate() {
                let (total, errors, _) = at[i];
                let v = if pick == 0 { total - errors } else { errors };
                out.push(format!(
                    "http_requests_total{{code=\"{code}\",namespace=\"{}\"}} {v} {t}",
                    s.namespace
                ));
            }
        }
    }
    out.push("# TYPE http_request_duration_seconds histogram".into());
    for s in services {
        let at = cumulative(s);
        for (i, t) in times.iter().enumerate() {
            let (total, _, fast) = at[i];
            let ns = s.namespace;
            out.push(format!(
                "http_request_duration_seconds_bucket{{namespace=\"{ns}\",le=\"0.3\"}} {fast} {t}"
            ));
            out.push(format!(
                "http_request_duration_seconds_bucket{{namespace=\"{ns}\",le=\"+Inf\"}} {total} {t}"
            ));
            out.push(format!(
                "http_request_duration_seconds_count{{namespace=\"{ns}\"}} {total} {t}"
            ));
            out.push(format!(
                "http_request_duration_seconds_sum{{namespace=\"{ns}\"}} 0 {t}"
            ));
        }
    }
    out.push("# EOF".into());
    out.join("\n") + "\n"
}

/// The fleet. Over 28 days each busy service serves 4 x 582,500 + 70 x 1,000 = 2,400,000
/// requests.
fn fleet() -> Vec<Traffic> {
    vec![
        // cart (production): 4 x 865 + 70 x 2 = 3,600 errors: SLI 0.9985, 150 % of a 99.9 %
        // budget; the last hour 2 errors per 1,000: burn 2.
        Traffic {
            namespace: "cart",
            weekly: (582_500, 865, 582_500),
            minute: (1000, 2, 1000),
            successes: true,
        },
        // cart (staging, gate off): the same figures.
        Traffic {
            namespace: "cart-staging",
            weekly: (582_500, 865, 582_500),
            minute: (1000, 2, 1000),
            successes: true,
        },
        // api: 4 x 900 = 3,600 errors, none in the last hour: 150 %, burn 0 (after cart).
        Traffic {
            namespace: "api",
            weekly: (582_500, 900, 582_500),
            minute: (1000, 0, 1000),
            successes: true,
        },
        // shop: 4 x 85 + 70 x 2 = 480 errors: 0.9998, 20 %, burn 2; latency: 4 x 579,675 +
        // 70 x 990 = 2,388,000 within 0.3 s: 0.995, 50 % of a 99 % budget, burn 1.
        Traffic {
            namespace: "shop",
            weekly: (582_500, 85, 579_675),
            minute: (1000, 2, 990),
            successes: true,
        },
        // idle: 4 x 600,000 requests with 4 x 60 errors (0.9999, 10 %), none in the last
        // hour: no burn rate.
        Traffic {
            namespace: "idle",
            weekly: (600_000, 60, 600_000),
            minute: (0, 0, 0),
            successes: true,
        },
        // quiet: its counters exist and never move.
        Traffic {
            namespace: "quiet",
            weekly: (0, 0, 0),
            minute: (0, 0, 0),
            successes: true,
        },
        // broken: every request fails and `code="200"` was never created.
        Traffic {
            namespace: "broken",
            weekly: (1000, 1000, 1000),
            minute: (10, 10, 10),
            successes: false,
        },
    ]
}

fn fleet_files(test: Test, address: &str) -> Test {
    test.write(".kujira/slo.json", platform(address, r#"{"type": "none"}"#))
        .write(
            "teams/cart/value.json",
            team(
                "cart",
                AVAILABILITY,
                r#", "Environments": [{"Name": "staging", "Namespace": "cart-staging", "SLO": {"ErrorBudgetGate": false}}, {"Name": "production"}]"#,
            ),
        )
        .write("teams/api/value.json", team("api", AVAILABILITY, ""))
        .write("teams/shop/value.json", team("shop", AVAILABILITY_AND_LATENCY, ""))
        .write("teams/quiet/value.json", team("quiet", AVAILABILITY, ""))
        .write("teams/idle/value.json", team("idle", AVAILABILITY, ""))
        .write("teams/broken/value.json", team("broken", AVAILABILITY, ""))
        .write(
            "teams/plain/value.json",
            r#"{"Application": "plain", "Email": "p@example.com", "Notification": "p", "Account": "k", "Image": "gcr.io/p/plain"}"#,
        )
}

/// Prometheus over the fleet's series, the last sample a minute ago.
fn start_fleet(test: &str) -> Option<(prometheus::Prometheus, tempfile::TempDir)> {
    if !prometheus::available(test, &["prometheus", "promtool"]) {
        return None;
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fleet.om");
    std::fs::write(&file, openmetrics(&fleet(), now - 60)).unwrap();
    // An absolute path: the support module reads it instead of a fixture (Path::join
    // keeps an absolute path), and writes its unshifted copy over it.
    let prom = prometheus::start(test, &[file.to_str().unwrap()])?;
    Some((prom, dir))
}

#[test]
fn the_fleet_worst_first_in_three_formats() {
    let Some((prom, _dir)) = start_fleet("the_fleet_worst_first_in_three_formats") else {
        return;
    };
    let mut outputs = Vec::new();
    for format in ["human", "json", "markdown"] {
        let out = fleet_files(Test::new(), &prom.url)
            .args(["slo", "status", "teams", "--format", format])
            .output();
        assert_eq!(out.stderr, "", "{format}");
        // Budgets are exhausted, every query answered.
        assert_eq!(out.status, 3, "{format}: {}", out.stdout);
        outputs.push(out.stdout);
    }
    insta::assert_snapshot!("fleet_human", outputs[0]);
    insta::assert_snapshot!("fleet_json", outputs[1]);
    insta::assert_snapshot!("fleet_markdown", outputs[2]);
    // The order, spelled out: failures none; then spent (broken's 100000 %, the 150 %
    // ones by burn: cart's 2 before api's 0, then by environment), shop, idle; quiet
    // (no data) last.
    let json: serde_json::Value = serde_json::from_str(&outputs[1]).unwrap();
    let order: Vec<String> = json["slos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}/{}/{}",
                r["application"].as_str().unwrap(),
                r["environment"].as_str().unwrap_or("-"),
                r["slo"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            "broken/-/availability",
            "cart/production/availability",
            "cart/staging/availability",
            "api/-/availability",
            "shop/-/latency",
            "shop/-/availability",
            "idle/-/availability",
            "quiet/-/availability"
        ]
    );
}

/// A fake provider: answers every request with `response` (raw HTTP), or never when it
/// is `None`; keeps each request's head.
fn fake_provider(response: Option<&'static str>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (head, _) = support::http_head::read_request(&stream);
            log.lock().unwrap().push(head);
            match response {
                Some(r) => {
                    let _ = stream.write_all(r.as_bytes());
                }
                // Silence: the connection stays open until the test process ends.
                None => held.push(stream),
            }
        }
    });
    (url, seen)
}

fn http(status: &str, body: &str) -> &'static str {
    let text = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    Box::leak(text.into_boxed_str())
}

fn one_team(address: &str, auth: &str) -> Test {
    Test::new()
        .write(".kujira/slo.json", platform(address, auth))
        .write("teams/api/value.json", team("api", AVAILABILITY, ""))
}

/// The report with the provider's address (a random port) as `ADDRESS`.
fn status(test: Test, address: &str, args: &[&str]) -> (String, i32) {
    let mut test = test.args(["slo", "status", "teams"]);
    for a in args {
        test = test.arg(a);
    }
    let out = test.output();
    assert_eq!(out.stderr, "");
    (out.stdout.replace(address, "ADDRESS"), out.status)
}

const HEADING: &str =
    "TEAM  ENVIRONMENT  SLO           OBJECTIVE    SLI    BUDGET SPENT  BURN (1h)  RELEASE  NOTE\n";

#[test]
fn a_provider_that_is_down_is_an_error_in_each_row() {
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let (out, code) = status(one_team(&closed, r#"{"type": "none"}"#), &closed, &[]);
    assert_eq!(
        out,
        format!(
            "{HEADING}api   -            availability  99.9% / 28d  error  error         error      unknown  error: cannot reach ADDRESS: connection refused\n\n\
             1 SLO of 1 team: 0 releases blocked, 0 budgets exhausted, 1 SLO not measured.\n"
        )
    );
    assert_eq!(code, 1);
}

#[test]
fn http_errors_garbage_and_silence_are_errors_in_the_row() {
    let cases = [
        (
            Some(http("500 Internal Server Error", "upstream exploded")),
            "error: ADDRESS: HTTP 500: `upstream exploded`",
        ),
        (
            Some(http("200 OK", "<html>hello</html>")),
            "error: ADDRESS: not a Prometheus answer: `<html>hello</html>`",
        ),
        (
            Some(http(
                "400 Bad Request",
                r#"{"status":"error","errorType":"bad_data","error":"parse error at char 3"}"#,
            )),
            "error: ADDRESS: HTTP 400: Prometheus says bad_data: parse error at char 3",
        ),
        (
            Some(http(
                "200 OK",
                r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#,
            )),
            "error: ADDRESS: the query answered 0 samples instead of one",
        ),
        (None, "error: no answer from ADDRESS within 1s"),
    ];
    for (response, note) in cases {
        let (url, _) = fake_provider(response);
        let (out, code) = status(
            one_team(&url, r#"{"type": "none"}"#),
            &url,
            &["--timeout", "1"],
        );
        let row = out.lines().nth(1).unwrap_or_default();
        assert!(row.ends_with(note), "{note}\n{out}");
        assert!(row.starts_with("api   -            availability  99.9% / 28d  error  error         error      unknown  "), "{out}");
        assert_eq!(code, 1, "{out}");
    }
}

#[test]
fn bearer_tokens_come_from_the_environment() {
    let answer = http(
        "200 OK",
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"0.9998"]}]}}"#,
    );
    let bearer = r#"{"type": "bearer", "secret": "prometheus-reader", "key": "token"}"#;
    // Without the variable: said in the row, nothing sent.
    let (url, seen) = fake_provider(Some(answer));
    let (out, code) = status(one_team(&url, bearer), &url, &[]);
    assert!(
        out.contains("error: ADDRESS: the provider wants a bearer token (auth.type bearer: Secret prometheus-reader, key token); set KUJIRA_PROMETHEUS_TOKEN\n"),
        "{out}"
    );
    assert_eq!(code, 1);
    assert!(seen.lock().unwrap().is_empty());
    // With it: sent on every query.
    let (url, seen) = fake_provider(Some(answer));
    let test = one_team(&url, bearer).env("KUJIRA_PROMETHEUS_TOKEN", "s3cret\n");
    let (out, code) = status(test, &url, &[]);
    // The same answer for the 28 days and the hour: 20 % spent, burning at 0.2.
    assert_eq!(
        out,
        "TEAM  ENVIRONMENT  SLO           OBJECTIVE    SLI     BUDGET SPENT  BURN (1h)  RELEASE  NOTE\n\
         api   -            availability  99.9% / 28d  99.98%  20%           0.2        passes\n\n\
         1 SLO of 1 team: 0 releases blocked, 0 budgets exhausted, 0 SLOs not measured.\n"
    );
    assert_eq!(code, 0);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2, "the budget and the burn query");
    for head in seen.iter() {
        assert!(
            head.contains("authorization: Bearer s3cret\r\n")
                || head.contains("Authorization: Bearer s3cret\r\n"),
            "{head}"
        );
    }
    // Workload identity: the address as is, without a token unless one is given.
    let (url, seen) = fake_provider(Some(answer));
    let (_, code) = status(
        one_team(
            &url,
            r#"{"type": "gcpWorkloadIdentity", "serviceAccount": "metrics-reader", "analysisAddress": "http://frontend:9090"}"#,
        ),
        &url,
        &[],
    );
    assert_eq!(code, 0);
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .all(|h| !h.to_ascii_lowercase().contains("authorization"))
    );
}

#[test]
fn the_prometheus_flag_replaces_the_address_and_inputs_with_errors_are_reported() {
    let (url, seen) = fake_provider(Some(http(
        "200 OK",
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"-1"]}]}}"#,
    )));
    let test = one_team("http://prometheus.invalid:9090", r#"{"type": "none"}"#)
        .write("teams/bad/value.json", r#"{"Application": "bad"}"#)
        .args(["slo", "status", "teams", "--prometheus", &url]);
    let out = test.output();
    // One query per SLI and window (budget, burn), both at the flag's address.
    assert_eq!(seen.lock().unwrap().len(), 2);
    assert!(out.stdout.contains("api   -            availability  99.9% / 28d  no data  no data       no data    passes   no requests in 28d\n"), "{}", out.stdout);
    assert!(
        out.stderr.starts_with("teams/bad/value.json:1:1: error: "),
        "{}",
        out.stderr
    );
    assert_eq!(out.status, 1);
}

#[test]
fn help_names_the_exit_codes_and_the_token_variable() {
    let out = Test::new().args(["slo", "status", "--help"]).output();
    assert_eq!(out.status, 0);
    for part in [
        "KUJIRA_PROMETHEUS_TOKEN",
        "Exit codes: 0 every SLO measured",
        "3 every SLO measured and at least\none budget is exhausted",
    ] {
        assert!(out.stdout.contains(part), "no {part:?} in:\n{}", out.stdout);
    }
}

#[test]
fn a_template_override_of_the_wrong_shape_is_an_error_of_its_file() {
    let out = one_team("http://127.0.0.1:1", r#"{"type": "none"}"#)
        .write(
            "platform-templates/slo-status.jsonnet",
            "function(values) {application: 1}",
        )
        .args([
            "slo",
            "status",
            "teams",
            "--templates",
            "platform-templates",
        ])
        .output();
    assert_eq!(
        out.stderr,
        "teams/api/value.json: error: template result of slo-status.jsonnet: invalid type: integer `1`, expected a string\n"
    );
    assert_eq!(
        out.stdout,
        "0 SLOs of 0 teams: 0 releases blocked, 0 budgets exhausted, 0 SLOs not measured.\n"
    );
    assert_eq!(out.status, 1);
}
