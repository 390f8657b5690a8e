//! The impact report in its three forms: for people (`human`), for tools (`json`) and for
//! a pull-request comment (`markdown`: a summary table, the diffs folded below it).

use super::{Counts, Group, Outcome, Team, graph_changes, unified_diff};
use crate::diag::Diagnostic;
use crate::term::{Palette, Tone};
use serde::Serialize;
use std::fmt::Write as _;

/// Values longer than this are cut in summaries (the diff has them in full).
const MAX_VALUE_CHARS: usize = 80;
/// Changes listed per group in summaries; the diff has the rest.
const MAX_CHANGES_SHOWN: usize = 10;
/// GitHub refuses comments over 65,536 characters: the Markdown report stops adding diffs
/// before that, and each diff is cut at this many lines.
const MARKDOWN_BUDGET: usize = 60_000;
const MARKDOWN_DIFF_LINES: usize = 300;

/// Everything a report says, computed once for every form.
#[derive(Debug, Serialize)]
pub struct Report {
    pub old: String,
    pub new: String,
    pub teams: usize,
    pub changed: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub groups: Vec<GroupReport>,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Serialize)]
pub struct GroupReport {
    /// The value files of the teams with this change.
    pub teams: Vec<String>,
    /// The change, each team's own names as `{app}` and `{source}`.
    pub changes: Vec<ChangeReport>,
    /// The value file whose diff is shown.
    pub diff_of: String,
    /// Unified diff of that team's files (`<app>/<pipeline>.json`).
    pub diff: String,
    /// Pipelines whose stage graph changes, with Mermaid pictures before and after.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub graphs: Vec<GraphReport>,
}

#[derive(Debug, Serialize)]
pub struct ChangeReport {
    pub path: String,
    /// JSON text, absent when added.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    /// JSON text, absent when removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct GraphReport {
    pub pipeline: String,
    pub old: String,
    pub new: String,
}

pub fn build(
    old: String,
    new: String,
    teams: &[Team],
    groups: &[Group],
    counts: Counts,
    diagnostics: Vec<Diagnostic>,
) -> Report {
    let groups = groups
        .iter()
        .map(|g| {
            let first = &teams[g.members[0]];
            let bundles = match &first.outcome {
                Outcome::Changed(c) => c.bundles.as_ref(),
                _ => None,
            };
            let (diff, graphs) = match bundles {
                Some(b) => (
                    unified_diff(b.old.as_ref(), &b.new),
                    graph_changes(b.old.as_ref(), &b.new)
                        .into_iter()
                        .map(|(pipeline, old, new)| GraphReport { pipeline, old, new })
                        .collect(),
                ),
                None => (String::new(), Vec::new()),
            };
            GroupReport {
                teams: g.members.iter().map(|&i| teams[i].file.clone()).collect(),
                changes: g
                    .changes
                    .iter()
                    .map(|c| ChangeReport {
                        path: c.path.clone(),
                        old: c.old.clone(),
                        new: c.new.clone(),
                    })
                    .collect(),
                diff_of: first.file.clone(),
                diff,
                graphs,
            }
        })
        .collect();
    Report {
        old,
        new,
        teams: counts.teams,
        changed: counts.changed,
        unchanged: counts.unchanged,
        failed: counts.failed,
        groups,
        diagnostics,
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `5 teams compared: 3 changed (in 2 different ways), 2 unchanged, 1 failed`.
pub fn headline(r: &Report) -> String {
    let mut s = format!(
        "{} compared: {} changed",
        plural(r.teams, "team", "teams"),
        r.changed
    );
    if r.groups.len() > 1 {
        let _ = write!(s, " (in {} different ways)", r.groups.len());
    }
    let _ = write!(s, ", {} unchanged", r.unchanged);
    if r.failed > 0 {
        let _ = write!(s, ", {} failed", r.failed);
    }
    s
}

/// `"abc"`, or its first characters and its length.
fn short(json: &str) -> String {
    let n = json.chars().count();
    if n <= MAX_VALUE_CHARS {
        json.to_string()
    } else {
        let head: String = json.chars().take(MAX_VALUE_CHARS - 20).collect();
        format!("{head}... ({n} characters)")
    }
}

/// One change in words: `path: old -> new`, `path: added new`, `path: removed`.
fn change_line(c: &ChangeReport) -> String {
    let path = if c.path.is_empty() {
        "(everything)"
    } else {
        &c.path
    };
    match (&c.old, &c.new) {
        (Some(o), Some(n)) => format!("{path}: {} -> {}", short(o), short(n)),
        (None, Some(n)) => format!("{path}: added {}", short(n)),
        (Some(_), None) => format!("{path}: removed"),
        (None, None) => path.to_string(),
    }
}

fn group_title(g: &GroupReport) -> String {
    format!(
        "{}: {}",
        plural(g.teams.len(), "team", "teams"),
        plural(g.changes.len(), "change", "changes")
    )
}

/// Lines of at most ~100 characters listing `items`, comma separated.
fn wrapped(items: &[String], indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for (i, item) in items.iter().enumerate() {
        let piece = if i + 1 < items.len() {
            format!("{item}, ")
        } else {
            item.clone()
        };
        if !line.is_empty() && line.len() + piece.len() > 100 {
            let _ = writeln!(out, "{indent}{}", line.trim_end());
            line.clear();
        }
        line.push_str(&piece);
    }
    if !line.is_empty() {
        let _ = writeln!(out, "{indent}{line}");
    }
    out
}

pub fn human(r: &Report, palette: &Palette) -> String {
    let mut out = format!("old: {}\nnew: {}\n{}\n", r.old, r.new, headline(r));
    for g in &r.groups {
        let _ = write!(
            out,
            "\n{}\n",
            palette.paint(Tone::Header, &format!("== {}", group_title(g)))
        );
        for c in g.changes.iter().take(MAX_CHANGES_SHOWN) {
            let _ = writeln!(out, "  {}", change_line(c));
        }
        if g.changes.len() > MAX_CHANGES_SHOWN {
            let _ = writeln!(
                out,
                "  ... and {} more (see the diff)",
                g.changes.len() - MAX_CHANGES_SHOWN
            );
        }
        for graph in &g.graphs {
            let _ = writeln!(
                out,
                "  the stage graph of pipeline {:?} changes (--format markdown draws it)",
                graph.pipeline
            );
        }
        out.push_str("  teams:\n");
        out.push_str(&wrapped(&g.teams, "    "));
        let _ = writeln!(out, "  diff of {}:", g.diff_of);
        for line in g.diff.lines() {
            let tone = if line.starts_with("+++") || line.starts_with("---") {
                Tone::Header
            } else if line.starts_with('+') {
                Tone::Added
            } else if line.starts_with('-') {
                Tone::Removed
            } else if line.starts_with("@@") {
                Tone::Hunk
            } else {
                Tone::Same
            };
            let _ = writeln!(out, "{}", palette.paint(tone, line));
        }
    }
    out
}

pub fn json(r: &Report) -> String {
    // Plain data with string keys: serialising cannot fail.
    let mut s = serde_json::to_string_pretty(r).unwrap_or_default();
    s.push('\n');
    s
}

/// Text in a table cell or summary: no line breaks, `|` escaped, inline code fenced with
/// enough backticks.
fn code(s: &str) -> String {
    let s = s.replace('\n', " ").replace('|', "\\|");
    let mut ticks = "`".to_string();
    while s.contains(&ticks) {
        ticks.push('`');
    }
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{s}{pad}{ticks}")
}

/// A code block fence longer than any run of backticks in `s`.
fn fence(s: &str) -> String {
    let mut f = "```".to_string();
    while s.contains(&f) {
        f.push('`');
    }
    f
}

fn change_markdown(c: &ChangeReport) -> String {
    let path = code(if c.path.is_empty() {
        "(everything)"
    } else {
        &c.path
    });
    match (&c.old, &c.new) {
        (Some(o), Some(n)) => format!("{path}: {} → {}", code(&short(o)), code(&short(n))),
        (None, Some(n)) => format!("{path}: added {}", code(&short(n))),
        (Some(_), None) => format!("{path}: removed"),
        (None, None) => path,
    }
}

pub fn markdown(r: &Report) -> String {
    let mut out = format!(
        "### kujira-gen impact: {} of {} teams change\n\n",
        r.changed, r.teams
    );
    let _ = writeln!(
        out,
        "Templates {} → {}. {}.\n",
        code(&r.old),
        code(&r.new),
        headline(r)
    );
    let errors = r.diagnostics.iter().filter(|d| d.is_error()).count();
    if errors > 0 {
        let _ = writeln!(
            out,
            "**{} with the new templates** (run `kujira-gen impact` or `validate` to see them).\n",
            plural(errors, "error", "errors")
        );
    }
    if r.groups.is_empty() {
        out.push_str("No pipeline changes.\n");
        return out;
    }
    out.push_str("| teams | change |\n|---:|---|\n");
    for g in &r.groups {
        let mut cell = g.changes.first().map(change_markdown).unwrap_or_default();
        if g.changes.len() > 1 {
            let _ = write!(cell, " and {} more", g.changes.len() - 1);
        }
        let _ = writeln!(out, "| {} | {cell} |", g.teams.len());
    }
    out.push('\n');
    let mut omitted = 0;
    for g in &r.groups {
        let mut section = format!("<details><summary>{}</summary>\n\n", group_title(g));
        for c in g.changes.iter().take(MAX_CHANGES_SHOWN) {
            let _ = writeln!(section, "- {}", change_markdown(c));
        }
        if g.changes.len() > MAX_CHANGES_SHOWN {
            let _ = writeln!(
                section,
                "- ... and {} more (see the diff)",
                g.changes.len() - MAX_CHANGES_SHOWN
            );
        }
        let teams: Vec<String> = g.teams.iter().map(|t| code(t)).collect();
        let _ = writeln!(section, "\nTeams: {}\n", teams.join(", "));
        for graph in &g.graphs {
            for (when, chart) in [("before", &graph.old), ("after", &graph.new)] {
                let f = fence(chart);
                let _ = writeln!(
                    section,
                    "Stage graph of {} {when}:\n\n{f}mermaid\n{chart}{f}\n",
                    code(&graph.pipeline)
                );
            }
        }
        let lines: Vec<&str> = g.diff.lines().collect();
        let shown = lines.len().min(MARKDOWN_DIFF_LINES);
        let body = lines[..shown].join("\n");
        let f = fence(&body);
        let _ = writeln!(
            section,
            "Diff of {}:\n\n{f}diff\n{body}\n{f}",
            code(&g.diff_of)
        );
        if lines.len() > shown {
            let _ = writeln!(
                section,
                "\n({} more lines: run `kujira-gen impact` to see them all)",
                lines.len() - shown
            );
        }
        section.push_str("\n</details>\n\n");
        if out.len() + section.len() > MARKDOWN_BUDGET {
            omitted += 1;
            continue;
        }
        out.push_str(&section);
    }
    if omitted > 0 {
        let _ = writeln!(
            out,
            "({} not shown: a comment holds at most 65,536 characters; `kujira-gen impact --format json` has them all)",
            plural(omitted, "group", "groups")
        );
    }
    out
}
