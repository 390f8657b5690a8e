//! A real Prometheus for the SLO tests: Debian's `prometheus` package (2.42, with
//! `promtool`), started on 127.0.0.1 over a TSDB built from OpenMetrics fixtures with
//! `promtool tsdb create-blocks-from openmetrics`. Never a system service: the process
//! belongs to the test and is killed when the handle is dropped (also on a failed
//! assertion).
//!
//! Without `prometheus` or `promtool` on PATH, [`start`] returns `None` after printing why
//! and what to install, unless `CI=true`: there the tests must run, so it panics.

use serde_json::Value;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// The evaluation time of the fixtures: 2026-01-01T00:00:00Z (tools/gen_prometheus_fixtures.py).
pub const T0: i64 = 1_767_225_600;

pub struct Prometheus {
    child: Child,
    /// `http://127.0.0.1:PORT`, what a provider `address` is set to.
    pub url: String,
    /// How long `promtool` took to build the TSDB, and Prometheus to become ready.
    pub load_time: Duration,
    pub start_time: Duration,
    dir: TempDir,
    agent: ureq::Agent,
}

/// The fixtures directory, `tests/fixtures/prometheus`.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/prometheus")
}

fn installed(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether the tests needing `tools` can run here: `false` (after saying so on stderr)
/// when one is missing and CI is unset; a panic when one is missing under `CI=true`.
pub fn available(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !installed(t)).collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!(
        "{test}: {} not found on PATH; install Debian's packages (apt-get install -y prometheus curl jq: prometheus brings promtool)",
        missing.join(", ")
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{message}; under CI=true these tests must run (.ci/run installs them)");
    }
    // Straight to stderr: libtest captures only the print macros, and a skip must show.
    let _ = writeln!(std::io::stderr(), "SKIPPED {message}");
    false
}

/// Builds a TSDB from `files` (OpenMetrics, relative to [`fixtures`]) and starts
/// Prometheus on a free port of 127.0.0.1. `None` when the tools are missing and CI is
/// unset (see [`available`]).
pub fn start(test: &str, files: &[&str]) -> Option<Prometheus> {
    start_shifted(test, files, 0)
}

/// [`start`], with every sample moved `shift` seconds later: for what queries "now",
/// like the budget job, the fixtures' T0 becomes `T0 + shift`.
pub fn start_shifted(test: &str, files: &[&str], shift: i64) -> Option<Prometheus> {
    start_rewritten(test, files, shift, &[])
}

/// [`start_shifted`], with each `(from, to)` of `rewrites` replaced in the fixtures' text
/// first: the same series under other labels (e.g. `namespace="shop-spent"` as
/// `namespace="shop"`, for a release of `shop`).
pub fn start_rewritten(
    test: &str,
    files: &[&str],
    shift: i64,
    rewrites: &[(&str, &str)],
) -> Option<Prometheus> {
    if !available(test, &["prometheus", "promtool"]) {
        return None;
    }
    let texts: Vec<(String, String)> = files
        .iter()
        .map(|file| {
            let mut text = std::fs::read_to_string(fixtures().join(file)).expect("read a fixture");
            for (from, to) in rewrites {
                text = text.replace(from, to);
            }
            (file.to_string(), shifted(&text, shift))
        })
        .collect();
    start_texts(&texts, "100y")
}

/// Starts Prometheus over OpenMetrics texts made by the test (`(name, text)`), keeping
/// `retention` of data (`--storage.tsdb.retention.time`, e.g. "15d": blocks entirely older
/// than that, relative to the newest sample, are deleted as a real server would).
pub fn start_generated(
    test: &str,
    texts: &[(String, String)],
    retention: &str,
) -> Option<Prometheus> {
    if !available(test, &["prometheus", "promtool"]) {
        return None;
    }
    start_texts(texts, retention)
}

fn start_texts(texts: &[(String, String)], retention: &str) -> Option<Prometheus> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().join("data");
    let loading = Instant::now();
    for (file, text) in texts {
        let input = dir.path().join(file);
        std::fs::write(&input, text).expect("write the fixture");
        let out = Command::new("promtool")
            .args(["tsdb", "create-blocks-from", "openmetrics", "--quiet"])
            .arg(&input)
            .arg(&data)
            .output()
            .expect("run promtool");
        assert!(
            out.status.success(),
            "promtool could not load {file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let load_time = loading.elapsed();
    let config = dir.path().join("prometheus.yml");
    // No scrape jobs: the fixtures are all the data there is.
    std::fs::write(&config, "global: {}\n").expect("write prometheus.yml");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    // The port is free when chosen but may be taken before Prometheus binds it: retry.
    let mut last_log = String::new();
    for _ in 0..3 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log_path = dir.path().join("prometheus.log");
        let log = std::fs::File::create(&log_path).expect("create the log");
        let starting = Instant::now();
        let mut child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            // Blocks older than the retention (relative to the newest) are deleted.
            .arg(format!("--storage.tsdb.retention.time={retention}"))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                last_log = std::fs::read_to_string(&log_path).unwrap_or_default();
                break;
            }
            let ready = agent
                .get(format!("{url}/-/ready"))
                .call()
                .is_ok_and(|r| r.status() == 200);
            if ready {
                return Some(Prometheus {
                    child,
                    url,
                    load_time,
                    start_time: starting.elapsed(),
                    dir,
                    agent,
                });
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                last_log = std::fs::read_to_string(&log_path).unwrap_or_default();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("Prometheus did not start; its log:\n{last_log}");
}

/// The OpenMetrics text with each sample's timestamp (its last field) moved by `shift`
/// seconds.
fn shifted(text: &str, shift: i64) -> String {
    if shift == 0 {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        match line.rsplit_once(' ') {
            Some((rest, ts)) if !line.starts_with('#') => {
                let ts: i64 = ts.parse().expect("a sample with a timestamp");
                out.push_str(&format!("{rest} {}\n", ts + shift));
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

impl Prometheus {
    /// `POST /api/v1/query` at `time` (Unix seconds): the answer's JSON, or the error
    /// Prometheus gave.
    pub fn query(&self, promql: &str, time: i64) -> Result<Value, String> {
        query(&self.agent, &self.url, promql, time)
    }
}

/// An instant query against any Prometheus HTTP API (also an unreachable one).
pub fn query(agent: &ureq::Agent, url: &str, promql: &str, time: i64) -> Result<Value, String> {
    let time = time.to_string();
    let mut response = agent
        .post(format!("{url}/api/v1/query"))
        .send_form([("query", promql), ("time", time.as_str())])
        .map_err(|e| format!("POST {url}/api/v1/query: {e}"))?;
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("reading the answer: {e}"))?;
    let json: Value = serde_json::from_str(&body).map_err(|e| format!("not JSON ({e}): {body}"))?;
    if json["status"] == "success" {
        Ok(json)
    } else {
        Err(format!(
            "{}: {}",
            json["errorType"].as_str().unwrap_or("error"),
            json["error"].as_str().unwrap_or(&body)
        ))
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
