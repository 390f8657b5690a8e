//! The report of `slo status`: rows worst first, as a table for people, JSON for tools,
//! or Markdown for a pull request or a wiki page.

use super::measure::{Budget, Gate, Status};
use serde_json::{Value, json};

/// Worst first: rows whose queries failed (nothing is known, someone must look), then
/// the most budget spent, then the fastest burn; ties by team, environment and SLO, so
/// that the order never depends on the order of the answers. Figures compare as the JSON
/// reports them (rounded): two budgets both 150 % spent are a tie whatever the last bits
/// of Prometheus' floating point say.
pub fn sort(rows: &mut [Status]) {
    rows.sort_by(|a, b| {
        let key = |s: &Status| {
            (
                s.errors.is_empty(),
                s.spent_percent.map_or(f64::NEG_INFINITY, |p| round(p, 2)),
                s.burn_rate.map_or(f64::NEG_INFINITY, |b| round(b, 3)),
            )
        };
        let (ea, sa, ba) = key(a);
        let (eb, sb, bb) = key(b);
        ea.cmp(&eb)
            .then(sb.total_cmp(&sa))
            .then(bb.total_cmp(&ba))
            .then_with(|| names(a).cmp(&names(b)))
    });
}

fn names(s: &Status) -> (&str, &str, &str) {
    let t = &s.target;
    (
        t.application.as_str(),
        t.environment.as_deref().unwrap_or(""),
        t.objective.name.as_str(),
    )
}

/// The counts every format ends with.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub slos: usize,
    pub teams: usize,
    pub blocked: usize,
    pub exhausted: usize,
    pub failed: usize,
}

pub fn summary(rows: &[Status]) -> Summary {
    let mut teams: Vec<&str> = rows.iter().map(|r| r.target.file.as_str()).collect();
    teams.sort_unstable();
    teams.dedup();
    Summary {
        slos: rows.len(),
        teams: teams.len(),
        blocked: rows.iter().filter(|r| r.gate == Gate::Blocks).count(),
        exhausted: rows
            .iter()
            .filter(|r| r.budget == Budget::Exhausted)
            .count(),
        failed: rows.iter().filter(|r| !r.errors.is_empty()).count(),
    }
}

/// `9 SLOs of 6 teams: 2 releases blocked, 3 budgets exhausted, 1 SLO not measured.`
pub fn summary_line(s: &Summary, without_slo: usize) -> String {
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut line = format!(
        "{} of {}: {}, {}, {}.",
        plural(s.slos, "SLO", "SLOs"),
        plural(s.teams, "team", "teams"),
        plural(s.blocked, "release blocked", "releases blocked"),
        plural(s.exhausted, "budget exhausted", "budgets exhausted"),
        plural(s.failed, "SLO not measured", "SLOs not measured"),
    );
    if without_slo > 0 {
        line.push_str(&format!(
            " {} without SLOs.",
            plural(without_slo, "value file", "value files")
        ));
    }
    line
}

/// `12.5` from 12.5, `150` from 150.0000001: at most `decimals` decimals, no trailing zeros.
fn number(x: f64, decimals: usize) -> String {
    let text = format!("{x:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    if text == "-0" { "0".into() } else { text }
}

fn round(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}

/// The cells of a row, as people read them.
struct Cells {
    team: String,
    environment: String,
    slo: String,
    objective: String,
    sli: String,
    spent: String,
    burn: String,
    release: String,
    note: String,
}

fn cells(s: &Status, burn_window: &str) -> Cells {
    let t = &s.target;
    let o = &t.objective;
    let failed = !s.errors.is_empty();
    let unknown = |known: Option<String>, quiet: &str| match known {
        Some(v) => v,
        None if failed => "error".into(),
        None => quiet.into(),
    };
    let mut burn = unknown(s.burn_rate.map(|b| number(b, 2)), "no data");
    if o.burn_window != burn_window {
        burn.push_str(&format!(" ({})", o.burn_window));
    }
    let mut note: Vec<String> = s.errors.iter().map(|e| format!("error: {e}")).collect();
    note.extend(s.notes.iter().cloned());
    Cells {
        team: t.application.clone(),
        environment: t.environment.clone().unwrap_or_else(|| "-".into()),
        slo: o.name.clone(),
        objective: format!("{}% / {}", o.objective_percent, o.window),
        sli: match (s.sli, s.budget) {
            (Some(v), _) => format!("{}%", number(v * 100.0, 4)),
            (None, Budget::NoData) => "no data".into(),
            (None, _) => unknown(None, "-"),
        },
        spent: match (s.spent_percent, s.budget) {
            (Some(p), _) => format!("{}%", number(p, 1)),
            (None, Budget::NoData) => "no data".into(),
            (None, _) => unknown(None, "-"),
        },
        burn,
        release: gate_words(s.gate).into(),
        note: note.join("; "),
    }
}

fn gate_words(g: Gate) -> &'static str {
    match g {
        Gate::Passes => "passes",
        Gate::Blocks => "blocked",
        Gate::Off => "gate off",
        Gate::Unknown => "unknown",
    }
}

fn gate_key(g: Gate) -> &'static str {
    match g {
        Gate::Passes => "passes",
        Gate::Blocks => "blocked",
        Gate::Off => "off",
        Gate::Unknown => "unknown",
    }
}

fn budget_key(b: Budget) -> &'static str {
    match b {
        Budget::Left => "ok",
        Budget::Exhausted => "exhausted",
        Budget::NoData => "no_data",
        Budget::Unknown => "error",
    }
}

/// The burn window the headings name: the templates use one for every SLO.
fn burn_window(rows: &[Status]) -> &str {
    rows.first()
        .map_or("1h", |r| r.target.objective.burn_window.as_str())
}

fn table(rows: &[Status], heading: [String; 9]) -> Vec<[String; 9]> {
    let window = burn_window(rows);
    let mut out = vec![heading];
    for s in rows {
        let c = cells(s, window);
        out.push([
            c.team,
            c.environment,
            c.slo,
            c.objective,
            c.sli,
            c.spent,
            c.burn,
            c.release,
            c.note,
        ]);
    }
    out
}

/// Aligned columns, then the summary.
pub fn human(rows: &[Status], without_slo: usize) -> String {
    let mut out = String::new();
    if !rows.is_empty() {
        let heading = [
            "TEAM",
            "ENVIRONMENT",
            "SLO",
            "OBJECTIVE",
            "SLI",
            "BUDGET SPENT",
            &format!("BURN ({})", burn_window(rows)),
            "RELEASE",
            "NOTE",
        ]
        .map(str::to_string);
        let lines = table(rows, heading);
        let mut widths = [0usize; 9];
        for line in &lines {
            for (w, cell) in widths.iter_mut().zip(line) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for line in &lines {
            let mut text = String::new();
            for (i, (cell, w)) in line.iter().zip(widths).enumerate() {
                if i > 0 {
                    text.push_str("  ");
                }
                text.push_str(cell);
                text.extend(std::iter::repeat_n(' ', w - cell.chars().count()));
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        out.push('\n');
    }
    out.push_str(&summary_line(&summary(rows), without_slo));
    out.push('\n');
    out
}

/// A heading, a table and the summary.
pub fn markdown(rows: &[Status], without_slo: usize) -> String {
    let mut out = String::from("### Error budgets\n\n");
    if !rows.is_empty() {
        let heading = [
            "Team",
            "Environment",
            "SLO",
            "Objective",
            "SLI",
            "Budget spent",
            &format!("Burn rate ({})", burn_window(rows)),
            "Release",
            "Note",
        ]
        .map(str::to_string);
        let lines = table(rows, heading);
        for (i, line) in lines.iter().enumerate() {
            let cells: Vec<String> = line
                .iter()
                .enumerate()
                .map(|(col, c)| {
                    let c = c.replace('|', "\\|");
                    // The decision is what a reader looks for.
                    if i > 0 && col == 7 && c == "blocked" {
                        format!("**{c}**")
                    } else {
                        c
                    }
                })
                .collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
            if i == 0 {
                out.push_str(&format!("|{}\n", "---|".repeat(line.len())));
            }
        }
        out.push('\n');
    }
    out.push_str(&summary_line(&summary(rows), without_slo));
    out.push('\n');
    out
}

/// One document: the rows with exact figures, the summary (docs/slo.md has the fields).
pub fn json(rows: &[Status], without_slo: &[String]) -> String {
    let s = summary(rows);
    let slos: Vec<Value> = rows
        .iter()
        .map(|r| {
            let t = &r.target;
            let o = &t.objective;
            json!({
                "file": t.file,
                "application": t.application,
                "environment": t.environment,
                "slo": o.name,
                "type": o.kind,
                "objectivePercent": o.objective_percent,
                "window": o.window,
                // Prometheus' ratio to 8 decimals: its last bits vary with the
                // extrapolation of `rate`, which depends on the query's time.
                "sli": r.sli.map(|v| round(v, 8)),
                "budgetSpentPercent": r.spent_percent.map(|p| round(p, 2)),
                "burnRate": r.burn_rate.map(|b| round(b, 3)),
                "burnWindow": o.burn_window,
                "budget": budget_key(r.budget),
                "gate": gate_key(r.gate),
                "notes": r.notes,
                "errors": r.errors,
            })
        })
        .collect();
    let doc = json!({
        "slos": slos,
        "summary": {
            "slos": s.slos,
            "teams": s.teams,
            "blocked": s.blocked,
            "exhausted": s.exhausted,
            "failed": s.failed,
        },
        "withoutSlo": without_slo,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_without_noise() {
        assert_eq!(number(150.00000000000014, 1), "150");
        assert_eq!(number(99.85, 4), "99.85");
        assert_eq!(number(33.333333, 1), "33.3");
        assert_eq!(number(-0.00001, 1), "0");
        assert_eq!(number(2.0, 2), "2");
        assert_eq!(round(150.00000000000014, 2), 150.0);
    }
}
