//! Metrics as a service's client library really exposes them, scraped as Prometheus
//! scrapes them, written as OpenMetrics for `promtool tsdb create-blocks-from`.
//!
//! What makes it real, and what fixtures with steady series miss:
//! - A label set appears on its first request, not before (client_golang's
//!   `CounterVec.WithLabelValues`, prometheus_client's `labels()`): the first sample of a
//!   `code="500"` series already counts every failure since the previous scrape.
//! - A histogram's series (every bucket, `_count`, `_sum`) appear on its first
//!   observation.
//! - Scrapes every `every` seconds at an offset of their own: requests between two
//!   scrapes are seen only at the next one; a burst can start and end in between.
//! - A container restart resets every counter of its pod; the series come back on the
//!   next request.
//! - Bucket bounds spelled by Go's client (`le="1"`) or as Prometheus 3 stores them
//!   (`le="1.0"`: model/textparse `normalizeFloatsInLabelValues`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One request served by one pod.
#[derive(Debug, Clone, Copy)]
pub struct Request {
    /// Unix seconds.
    pub at: i64,
    pub pod: usize,
    pub code: u16,
    pub seconds: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeSpelling {
    /// Go's client: strconv.FormatFloat(b, 'g', -1, 64): "0.3", "1".
    Go,
    /// Prometheus 3 after parsing: whole numbers get ".0": "0.3", "1.0".
    Prometheus3,
}

/// The histogram's bucket bounds (seconds), as client_golang's defaults start.
pub const BUCKETS: &[f64] = &[0.1, 0.3, 1.0, 2.5];

/// One ReplicaSet's pods, their requests and their restarts.
pub struct Version<'a> {
    pub namespace: &'a str,
    pub service: &'a str,
    pub hash: &'a str,
    pub requests: Vec<Request>,
    /// (pod, Unix seconds): the container restarts, its counters start again from nothing.
    pub restarts: Vec<(usize, i64)>,
    pub le: LeSpelling,
}

fn le_label(bound: f64, spelling: LeSpelling) -> String {
    if bound.is_infinite() {
        return "+Inf".into();
    }
    let go = format!("{bound}");
    match spelling {
        LeSpelling::Go => go,
        LeSpelling::Prometheus3 if !go.contains('.') && !go.contains('e') => format!("{go}.0"),
        LeSpelling::Prometheus3 => go,
    }
}

#[derive(Default, Clone)]
struct PodState {
    codes: BTreeMap<u16, u64>,
    /// Per bucket (the last is +Inf), cumulative; `None` before the first observation.
    buckets: Option<Vec<u64>>,
    sum: f64,
}

/// The OpenMetrics text of `version`'s series, scraped every `every` seconds from `from`
/// (the first scrape) to `to`. Ends with `# EOF`.
pub fn scrape(version: &Version, from: i64, to: i64, every: i64) -> String {
    let pods = version
        .requests
        .iter()
        .map(|r| r.pod + 1)
        .chain(version.restarts.iter().map(|(p, _)| p + 1))
        .max()
        .unwrap_or(1);
    // Requests and restarts in time order (a restart before a request at the same second).
    let mut events: Vec<(i64, Option<Request>, usize)> = version
        .restarts
        .iter()
        .map(|(pod, at)| (*at, None, *pod))
        .chain(version.requests.iter().map(|r| (r.at, Some(*r), r.pod)))
        .collect();
    events.sort_by_key(|(at, r, _)| (*at, r.is_some()));
    let mut state = vec![PodState::default(); pods];
    // series -> samples (time, value)
    let mut counters: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    let mut histograms: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    let mut next = 0;
    let mut t = from;
    while t <= to {
        while next < events.len() && events[next].0 <= t {
            let (_, request, pod) = events[next];
            next += 1;
            let Some(r) = request else {
                state[pod] = PodState::default();
                continue;
            };
            let s = &mut state[pod];
            *s.codes.entry(r.code).or_insert(0) += 1;
            let buckets = s.buckets.get_or_insert_with(|| vec![0; BUCKETS.len() + 1]);
            for (i, bound) in BUCKETS.iter().chain([f64::INFINITY].iter()).enumerate() {
                if r.seconds <= *bound {
                    buckets[i] += 1;
                }
            }
            s.sum += r.seconds;
        }
        for (pod, s) in state.iter().enumerate() {
            let base = format!(
                "namespace=\"{}\",service=\"{}\",rollouts_pod_template_hash=\"{}\",pod=\"{}-{}-{pod}\"",
                version.namespace, version.service, version.hash, version.service, version.hash
            );
            for (code, n) in &s.codes {
                counters
                    .entry(format!("http_requests_total{{code=\"{code}\",{base}}}"))
                    .or_default()
                    .push((t, *n as f64));
            }
            if let Some(buckets) = &s.buckets {
                for (i, bound) in BUCKETS.iter().chain([f64::INFINITY].iter()).enumerate() {
                    histograms
                        .entry(format!(
                            "http_request_duration_seconds_bucket{{{base},le=\"{}\"}}",
                            le_label(*bound, version.le)
                        ))
                        .or_default()
                        .push((t, buckets[i] as f64));
                }
                let count = buckets[BUCKETS.len()];
                histograms
                    .entry(format!("http_request_duration_seconds_count{{{base}}}"))
                    .or_default()
                    .push((t, count as f64));
                histograms
                    .entry(format!("http_request_duration_seconds_sum{{{base}}}"))
                    .or_default()
                    .push((t, s.sum));
            }
        }
        t += every;
    }
    let mut out = String::new();
    out.push_str("# TYPE http_requests counter\n# HELP http_requests Requests served.\n");
    for (series, samples) in &counters {
        for (t, v) in samples {
            let _ = writeln!(out, "{series} {v} {t}");
        }
    }
    out.push_str(
        "# TYPE http_request_duration_seconds histogram\n# HELP http_request_duration_seconds Time to serve a request.\n",
    );
    for (series, samples) in &histograms {
        for (t, v) in samples {
            let _ = writeln!(out, "{series} {v} {t}");
        }
    }
    out.push_str("# EOF\n");
    out
}

/// `n` requests from `pod`, one every `gap` seconds from `start`.
pub fn steady(start: i64, n: usize, gap: i64, pod: usize, code: u16, seconds: f64) -> Vec<Request> {
    (0..n)
        .map(|i| Request {
            at: start + i as i64 * gap,
            pod,
            code,
            seconds,
        })
        .collect()
}
