//! The rules of `slo.json`'s `rules` (the SLO alert table) that JSON Schema cannot express,
//! each reported at its place in the file: a row's short window must be shorter than its
//! long window, and every window must hold at least two scrapes (`rate()` over fewer than
//! two samples returns nothing, so the alert could never fire). The templates check the
//! same as a backstop (templates/release/slo_rules.libsonnet `settings`). docs/slo-alerts.md.

use crate::diag::Diagnostic;
use crate::values::ValueFile;
use serde_json::Value;

/// The default `scrapeInterval` (templates/slo-platform.libsonnet).
const DEFAULT_SCRAPE_INTERVAL: &str = "15s";

/// Seconds of a Prometheus duration with one unit (`30s`, `5m`, `1h`, `3d`, `2w`); `None`
/// for anything else (the schema reports it).
pub fn seconds(d: &str) -> Option<u64> {
    let unit = match d.chars().last()? {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        'w' => 604_800,
        _ => return None,
    };
    let digits = &d[..d.len() - 1];
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(unit)
}

pub fn check(file: &ValueFile) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    let Some(rules) = file.value.get("rules") else {
        return problems;
    };
    let scrape_text = file
        .value
        .get("scrapeInterval")
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_SCRAPE_INTERVAL);
    let scrape = seconds(scrape_text);
    let Some(Value::Array(alerts)) = rules.get("alerts") else {
        return problems;
    };
    for (i, row) in alerts.iter().enumerate() {
        let window = |key: &str| {
            row.get(key)
                .and_then(Value::as_str)
                .and_then(|t| Some((t, seconds(t)?)))
        };
        let (Some((long_text, long)), Some((short_text, short))) =
            (window("longWindow"), window("shortWindow"))
        else {
            continue;
        };
        let at = format!("/rules/alerts/{i}/shortWindow");
        if short >= long {
            problems.push(file.diagnostic(
                &at,
                false,
                format!("must be shorter than longWindow ({long_text}), got {short_text:?}"),
            ));
        } else if let Some(scrape) = scrape
            && short < 2 * scrape
        {
            problems.push(file.diagnostic(
                &at,
                false,
                format!(
                    "must be at least twice scrapeInterval ({scrape_text}): rate() over a shorter window has fewer than two samples and the alert could never fire; got {short_text:?}"
                ),
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_with_one_unit() {
        assert_eq!(seconds("15s"), Some(15));
        assert_eq!(seconds("5m"), Some(300));
        assert_eq!(seconds("3d"), Some(259_200));
        assert_eq!(seconds("2w"), Some(1_209_600));
        for bad in ["", "m", "05m", "1h30m", "1.5h", "10", "-5m", "5M"] {
            assert_eq!(seconds(bad), None, "{bad}");
        }
    }
}
