//! `diff --format markdown`: the plan as a pull-request comment. A summary and a table of
//! every pipeline that would change first; below it, each pipeline's diff folded in a
//! `<details>` block. GitHub refuses comments over 65,536 characters: past
//! [`LIMIT`], the remaining rows and diffs are left out, and the comment says so.

use crate::plan::planner::{Action, AppChange, Plan, Step};
use crate::plan::render::{app_diff, plural, step_diff};
use crate::term::Palette;
use std::fmt::Write as _;

/// The longest comment produced, in characters (GitHub's limit is 65,536).
pub const LIMIT: usize = 60_000;

/// The comment. `summary_only`: the table without the diffs.
pub fn diff(plan: &Plan, summary_only: bool) -> String {
    let c = plan.counts();
    let mut out = String::new();
    out.push_str("### kujira-gen diff\n\n");
    // Said first: a repository whose other applications match is still not compared.
    for (app, why) in &plan.unreadable {
        let _ = writeln!(out, "**Cannot read application `{app}`**: {why}\n");
    }
    if !plan.has_differences() {
        let _ = writeln!(
            out,
            "Spinnaker matches the value files: {} unchanged.",
            plural(c.unchanged, "pipeline", "pipelines")
        );
        push_orphans(plan, &mut out);
        return out;
    }
    let _ = write!(
        out,
        "**{} to create, {} to update, {} to prune",
        c.create, c.update, c.prune
    );
    if c.conflict > 0 {
        let _ = write!(out, ", {}", plural(c.conflict, "conflict", "conflicts"));
    }
    let _ = writeln!(out, "**; {} unchanged.", c.unchanged);
    if c.app_create + c.app_update > 0 {
        let _ = writeln!(
            out,
            "Applications: {} to create, {} to update.",
            c.app_create, c.app_update
        );
    }
    out.push('\n');

    let mut rows: Vec<String> = Vec::new();
    for a in &plan.apps {
        let change = match &a.change {
            AppChange::Create => "create application".to_string(),
            AppChange::Update(keys) => format!("update application: {}", keys.join(", ")),
            AppChange::Unchanged => continue,
        };
        rows.push(format!(
            "| {} | {} | {} | |",
            if a.change == AppChange::Create {
                "+"
            } else {
                "~"
            },
            code(&a.name),
            cell(&change)
        ));
    }
    for s in plan.steps.iter().filter(|s| s.action != Action::Unchanged) {
        rows.push(format!(
            "| {} | {} | {} | {} |",
            sign(s),
            code(&s.label()),
            cell(&what(s)),
            s.source.as_deref().map(code).unwrap_or_default()
        ));
    }
    out.push_str("| | pipeline | change | value file |\n|---|---|---|---|\n");
    let mut shown = 0;
    for row in &rows {
        if out.len() + row.len() > LIMIT / 2 {
            break;
        }
        out.push_str(row);
        out.push('\n');
        shown += 1;
    }
    if shown < rows.len() {
        let _ = writeln!(
            out,
            "\n{} more not listed: the comment would be too long. Run `kujira-gen diff` for all of them.",
            rows.len() - shown
        );
    }
    push_orphans(plan, &mut out);
    if summary_only {
        return out;
    }

    let pal = Palette::default();
    let mut blocks: Vec<(String, String)> = Vec::new();
    for a in &plan.apps {
        if a.change == AppChange::Unchanged {
            continue;
        }
        let d = app_diff(a, &pal);
        blocks.push((format!("application <code>{}</code>", html(&a.name)), d));
    }
    for s in plan.steps.iter().filter(|s| s.action != Action::Unchanged) {
        let d = step_diff(s, &pal);
        if d.is_empty() {
            continue;
        }
        let (added, removed) = counts(&d);
        blocks.push((
            format!(
                "<code>{}</code>: {} (+{added} −{removed})",
                html(&s.label()),
                html(verb(s))
            ),
            d,
        ));
    }
    let mut left_out = 0;
    for (summary, d) in &blocks {
        let fence = fence_for(d);
        let block = format!(
            "\n<details>\n<summary>{summary}</summary>\n\n{fence}diff\n{d}{fence}\n\n</details>\n"
        );
        if out.len() + block.len() > LIMIT {
            left_out += 1;
            continue;
        }
        out.push_str(&block);
    }
    if left_out > 0 {
        let _ = writeln!(
            out,
            "\n{} left out: the comment would be too long. Run `kujira-gen diff` to see them.",
            plural(left_out, "diff", "diffs")
        );
    }
    out
}

fn push_orphans(plan: &Plan, out: &mut String) {
    if let Some(found) = plan.undeclared.as_ref().filter(|f| !f.is_empty()) {
        let names: Vec<String> = found
            .iter()
            .map(|o| code(&format!("{}/{}", o.app, o.name)))
            .collect();
        let _ = writeln!(
            out,
            "\nGenerated for applications the value files do not declare (push leaves them): {}.",
            names.join(", ")
        );
    }
    if plan.orphans.is_empty() {
        return;
    }
    let names: Vec<String> = plan
        .orphans
        .iter()
        .map(|o| code(&format!("{}/{}", o.app, o.name)))
        .collect();
    let _ = writeln!(
        out,
        "\nNo longer declared (`--prune` deletes them): {}.",
        names.join(", ")
    );
}

fn sign(s: &Step) -> &'static str {
    match s.action {
        Action::Create => "+",
        Action::Update => "~",
        Action::Unchanged => "=",
        Action::Prune => "-",
        Action::Conflict(_) => "!",
    }
}

fn verb(s: &Step) -> &'static str {
    match s.action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Unchanged => "unchanged",
        Action::Prune => "prune",
        Action::Conflict(_) => "conflict",
    }
}

/// The change column: the verb and why.
fn what(s: &Step) -> String {
    let why = match s.action {
        Action::Conflict(c) => c.explain(&s.others),
        Action::Prune if !s.rename_first => format!(
            "generated from {}, no longer declared",
            s.source.as_deref().unwrap_or("an unknown source")
        ),
        _ => s.notes.join("; "),
    };
    let mut text = verb(s).to_string();
    if !why.is_empty() {
        text.push_str(": ");
        text.push_str(&why);
    }
    if matches!(s.action, Action::Prune) && !s.rename_first && !s.notes.is_empty() {
        text.push_str("; ");
        text.push_str(&s.notes.join("; "));
    }
    text
}

/// Lines added and removed by a unified diff.
fn counts(d: &str) -> (usize, usize) {
    let mut added = 0;
    let mut removed = 0;
    for l in d.lines() {
        if l.starts_with('+') && !l.starts_with("+++") {
            added += 1;
        } else if l.starts_with('-') && !l.starts_with("---") {
            removed += 1;
        }
    }
    (added, removed)
}

/// A code fence longer than any run of backticks in `text`.
fn fence_for(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

/// Inline code that survives backticks and pipes in a table cell.
fn code(text: &str) -> String {
    let text = text.replace('|', "\\|");
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

/// Plain text in a table cell.
fn cell(text: &str) -> String {
    html(text).replace('|', "\\|").replace('\n', " ")
}

fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_outgrow_backticks_in_the_diff() {
        assert_eq!(fence_for("no ticks"), "```");
        assert_eq!(fence_for("a ```` b"), "`````");
    }

    #[test]
    fn table_cells_escape_pipes_and_html() {
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("a`b"), "`` a`b ``");
        assert_eq!(cell("x <y> | z"), "x &lt;y&gt; \\| z");
    }

    #[test]
    fn a_long_plan_stays_under_githubs_limit_and_says_what_it_left_out() {
        use crate::plan::planner::Step;
        use serde_json::json;
        let step = |i: usize| Step {
            app: format!("app{i}"),
            name: "release".into(),
            source: Some(format!("teams/app{i}/value.json")),
            action: Action::Create,
            desired: json!({"name": "release", "description": "x".repeat(4000)})
                .as_object()
                .and_then(|p| crate::plan::packed::PackedPipeline::pack(p).ok()),
            digest: None,
            remote: None,
            notes: Vec::new(),
            others: Vec::new(),
            rename_first: false,
        };
        let plan = Plan {
            steps: (0..40).map(step).collect(),
            ..Plan::default()
        };
        let md = diff(&plan, false);
        assert!(md.len() <= LIMIT + 200, "{}", md.len());
        assert!(md.contains("| + | `app39/release` | create | `teams/app39/value.json` |"));
        assert!(
            md.contains("diffs left out: the comment would be too long."),
            "{md}"
        );
        let left_out: usize = md
            .lines()
            .find_map(|l| l.split_once(" diffs left out").map(|(n, _)| n))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        assert!(left_out > 0);
        assert_eq!(md.matches("<details>").count() + left_out, 40);
    }

    #[test]
    fn in_sync_is_one_line() {
        assert_eq!(
            diff(&Plan::default(), false),
            "### kujira-gen diff\n\nSpinnaker matches the value files: 0 pipelines unchanged.\n"
        );
    }
}
