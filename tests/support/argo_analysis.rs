//! How Argo Rollouts (v1.9.1) turns Prometheus answers into an analysis result, for the
//! metrics kujira-gen generates. Written from the upstream sources named on each item
//! (read with `git -C /work/.mirror/argoproj+argo-rollouts/repo show v1.9.1:PATH`), for
//! the subset the templates use; anything else is reported as unsupported rather than
//! guessed.
//!
//! - Arguments: every `{{args.NAME}}` of the metric is replaced by the argument's value;
//!   a tag without a value is an error (utils/template/template.go `ResolveArgs`,
//!   `resolve`; utils/analysis/factory.go `ResolveMetricArgs` runs it over the metric's
//!   JSON).
//! - Result: a vector answer becomes the list of its sample values, a scalar its value
//!   (metricproviders/prometheus/prometheus.go `processResponse`); a failed query is an
//!   Error measurement (`Run`, `MarkMeasurementError`).
//! - Conditions: expr expressions over `result`; an evaluation error (e.g. an index out
//!   of range) is an Error measurement. Success and failure false: Inconclusive. Only a
//!   success condition: failure is its negation, and the reverse (utils/evaluate/
//!   evaluate.go `EvaluateResult`). Supported here: `result[I] OP NUMBER` comparisons
//!   joined by `&&` and `||` (expr compiles both with short-circuit jumps).
//! - A metric: after each measurement, Failed when failed > failureLimit (default 0),
//!   Inconclusive when inconclusive > inconclusiveLimit (default 0), Error when
//!   consecutive errors > consecutiveErrorLimit (default 4), the last of these that holds
//!   winning; otherwise Successful once `count` measurements were taken (analysis/
//!   analysis.go `assessMetricStatus`, `assessMetricFailureInconclusiveOrError`;
//!   utils/defaults/defaults.go `DefaultConsecutiveErrorLimit`).
//! - A run: the worst of its metrics in the order Successful < Running < Pending <
//!   Inconclusive < Error < Failed; a completed Failed/Error/Inconclusive metric stops
//!   the others' measurements (utils/analysis/helpers.go `analysisStatusOrder`,
//!   `IsTerminating`).

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    // In analysisStatusOrder's order, best first.
    Successful,
    Running,
    Pending,
    Inconclusive,
    Error,
    Failed,
}

impl Phase {
    pub fn completed(self) -> bool {
        matches!(
            self,
            Phase::Successful | Phase::Failed | Phase::Error | Phase::Inconclusive
        )
    }
}

/// Replaces `{{args.NAME}}` tags (spaces inside the braces allowed) with `args`' values.
pub fn resolve_args(text: &str, args: &[(&str, &str)]) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            // fasttemplate keeps an unterminated tag as text.
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let tag = after[..end].trim();
        let value = tag
            .strip_prefix("args.")
            .and_then(|name| args.iter().find(|(n, _)| *n == name))
            .map(|(_, v)| *v)
            .ok_or_else(|| format!("failed to resolve {{{{{}}}}}", &after[..end]))?;
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The `result` a condition sees for a Prometheus query answer (`data` of the JSON).
pub fn result_of(answer: &Value) -> Result<Vec<f64>, String> {
    let data = &answer["data"];
    let number = |v: &Value| -> Result<f64, String> {
        let text = v[1]
            .as_str()
            .ok_or_else(|| format!("sample value is not a string: {v}"))?;
        // Go's strconv.ParseFloat, as the client's SampleValue parses it: NaN, +Inf, -Inf.
        match text {
            "NaN" => Ok(f64::NAN),
            "+Inf" => Ok(f64::INFINITY),
            "-Inf" => Ok(f64::NEG_INFINITY),
            t => t.parse::<f64>().map_err(|e| format!("{t}: {e}")),
        }
    };
    match data["resultType"].as_str() {
        Some("vector") => data["result"]
            .as_array()
            .ok_or("vector without result")?
            .iter()
            .map(|s| number(&s["value"]))
            .collect(),
        Some("scalar") => Ok(vec![number(&data["result"])?]),
        other => Err(format!("Prometheus metric type not supported: {other:?}")),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Cond {
    Or(Vec<Cond>),
    And(Vec<Cond>),
    Compare { index: usize, op: Op, value: f64 },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

fn parse(condition: &str) -> Result<Cond, String> {
    let or: Result<Vec<Cond>, String> = condition
        .split("||")
        .map(|part| {
            let and: Result<Vec<Cond>, String> = part.split("&&").map(parse_compare).collect();
            and.map(Cond::And)
        })
        .collect();
    or.map(Cond::Or)
}

fn parse_compare(text: &str) -> Result<Cond, String> {
    let text = text.trim();
    let unsupported = || format!("unsupported condition (not `result[I] OP NUMBER`): {text}");
    let rest = text.strip_prefix("result[").ok_or_else(unsupported)?;
    let (index, rest) = rest.split_once(']').ok_or_else(unsupported)?;
    let index: usize = index.trim().parse().map_err(|_| unsupported())?;
    let rest = rest.trim_start();
    let (op, value) = [
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<", Op::Lt),
        (">", Op::Gt),
    ]
    .iter()
    .find_map(|(s, op)| rest.strip_prefix(s).map(|v| (*op, v)))
    .ok_or_else(unsupported)?;
    let value: f64 = value.trim().parse().map_err(|_| unsupported())?;
    Ok(Cond::Compare { index, op, value })
}

fn eval(cond: &Cond, result: &[f64]) -> Result<bool, String> {
    match cond {
        Cond::Or(parts) => {
            for p in parts {
                if eval(p, result)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Cond::And(parts) => {
            for p in parts {
                if !eval(p, result)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Cond::Compare { index, op, value } => {
            let x = *result.get(*index).ok_or_else(|| {
                format!("index out of range [{index}] with length {}", result.len())
            })?;
            Ok(match op {
                Op::Lt => x < *value,
                Op::Le => x <= *value,
                Op::Gt => x > *value,
                Op::Ge => x >= *value,
                Op::Eq => x == *value,
                Op::Ne => x != *value,
            })
        }
    }
}

/// `EvaluateResult` for one measurement's `result`.
pub fn measurement(metric: &Value, result: &[f64]) -> Result<Phase, String> {
    let success = metric["successCondition"].as_str().unwrap_or("");
    let failure = metric["failureCondition"].as_str().unwrap_or("");
    let ok = |c: &str| -> Result<bool, String> {
        if c.is_empty() {
            Ok(false)
        } else {
            eval(&parse(c)?, result)
        }
    };
    let (mut s, mut f) = (ok(success)?, ok(failure)?);
    match (success.is_empty(), failure.is_empty()) {
        (true, true) => return Ok(Phase::Successful),
        (false, true) => f = !s,
        (true, false) => s = !f,
        (false, false) => {}
    }
    Ok(if f {
        Phase::Failed
    } else if !s {
        Phase::Inconclusive
    } else {
        Phase::Successful
    })
}

fn limit(metric: &Value, key: &str, default: i64) -> i64 {
    match &metric[key] {
        Value::Number(n) => n.as_i64().unwrap_or(default),
        Value::String(s) => s.parse().unwrap_or(default),
        _ => default,
    }
}

/// A metric's state after its measurements so far (`assessMetricStatus` without
/// `consecutiveSuccessLimit` and dry runs, which the templates do not use).
pub fn metric_phase(metric: &Value, measurements: &[Phase]) -> Phase {
    let Some(last) = measurements.last() else {
        return Phase::Pending;
    };
    if !last.completed() {
        return Phase::Running;
    }
    let count = |p: Phase| measurements.iter().filter(|m| **m == p).count() as i64;
    let consecutive_errors = measurements
        .iter()
        .rev()
        .take_while(|m| **m == Phase::Error)
        .count() as i64;
    let mut phase = None;
    let failure_limit = limit(metric, "failureLimit", 0);
    if failure_limit >= 0 && count(Phase::Failed) > failure_limit {
        phase = Some(Phase::Failed);
    }
    if count(Phase::Inconclusive) > limit(metric, "inconclusiveLimit", 0) {
        phase = Some(Phase::Inconclusive);
    }
    if consecutive_errors > limit(metric, "consecutiveErrorLimit", 4) {
        phase = Some(Phase::Error);
    }
    if let Some(p) = phase {
        return p;
    }
    // EffectiveCount: 1 without count and interval; unbounded with only an interval.
    let effective = match limit(metric, "count", 0) {
        0 if metric["interval"].is_string() => None,
        0 => Some(1),
        n => Some(n),
    };
    // An errored measurement does not count towards `count` (MetricResult.Count only
    // grows for measurements that completed without error: analysis/analysis.go
    // `runMeasurements`).
    let taken = measurements.iter().filter(|m| **m != Phase::Error).count() as i64;
    match effective {
        Some(n) if taken >= n => Phase::Successful,
        _ => Phase::Running,
    }
}

/// The worst phase, in analysisStatusOrder.
pub fn worst(phases: impl IntoIterator<Item = Phase>) -> Phase {
    phases.into_iter().max().unwrap_or(Phase::Successful)
}
