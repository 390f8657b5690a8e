//! Plans, diffs and summaries as text. Pure: a palette decides about colour.

use crate::plan::apply::{Outcome, Report};
use crate::plan::compare::{pretty, pretty_value, remote_view_of_application};
use crate::plan::planner::{Action, AppChange, AppPlan, Plan, Step};
use crate::plan::remote::RemotePipeline;
use crate::term::{Palette, Tone};
use serde_json::Value;
use similar::{ChangeTag, TextDiff};
use std::fmt::Write as _;

/// One line per application change and per pipeline: `+ create sample/release`.
pub fn plan_lines(plan: &Plan, pal: &Palette) -> String {
    let mut out = unreadable_lines(plan, pal);
    for a in &plan.apps {
        if let Some(line) = app_line(a, pal) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    for s in &plan.steps {
        out.push_str(&step_line(s, pal));
        out.push('\n');
    }
    out
}

/// The plan with a unified diff under each application and pipeline that differs.
pub fn plan_with_diffs(plan: &Plan, pal: &Palette) -> String {
    let mut out = unreadable_lines(plan, pal);
    for a in &plan.apps {
        if let Some(line) = app_line(a, pal) {
            out.push_str(&line);
            out.push('\n');
            out.push_str(&app_diff(a, pal));
        }
    }
    for s in &plan.steps {
        out.push_str(&step_line(s, pal));
        out.push('\n');
        out.push_str(&step_diff(s, pal));
    }
    out
}

/// `! cannot read application X: why`, one line per application left out of the plan.
fn unreadable_lines(plan: &Plan, pal: &Palette) -> String {
    let mut out = String::new();
    for (app, why) in &plan.unreadable {
        let line = format!("! cannot read application {app}: {why}");
        out.push_str(&pal.paint(Tone::Problem, &line));
        out.push('\n');
    }
    out
}

/// The unified diff of one application's attributes: Spinnaker's against the declaration.
pub fn app_diff(a: &AppPlan, pal: &Palette) -> String {
    let new = pretty_value(&Value::Object(a.attributes.clone()));
    let (old, old_label) = match &a.remote {
        Some(r) => (
            pretty_value(&Value::Object(remote_view_of_application(&a.attributes, r))),
            format!("application {} (Spinnaker)", a.name),
        ),
        None => (String::new(), "/dev/null".to_string()),
    };
    unified(
        &old,
        &new,
        &old_label,
        &format!("application {} (declared)", a.name),
        pal,
    )
}

/// The unified diff of one step: Spinnaker's pipeline against the declaration; empty when
/// there is nothing to show (unchanged, or a second copy of a name).
pub fn step_diff(s: &Step, pal: &Palette) -> String {
    if s.action == Action::Unchanged || (s.desired.is_none() && !s.others.is_empty()) {
        return String::new();
    }
    let label = format!("{}/{}", s.app, s.name);
    let remote = s.remote.as_ref().and_then(RemotePipeline::body);
    let old = remote.as_ref().map(pretty).unwrap_or_default();
    let new = match (s.action, &s.desired) {
        (Action::Prune, _) => String::new(),
        (_, Some(d)) => pretty(&d.unpack()),
        (_, None) => String::new(),
    };
    let old_label = if remote.is_some() {
        format!("{label} (Spinnaker)")
    } else {
        "/dev/null".into()
    };
    let new_label = match (&s.desired, &s.source) {
        (Some(_), Some(src)) => format!("{label} ({src})"),
        (Some(_), None) => label.clone(),
        (None, _) => "/dev/null".into(),
    };
    unified(&old, &new, &old_label, &new_label, pal)
}

fn app_line(a: &AppPlan, pal: &Palette) -> Option<String> {
    match &a.change {
        AppChange::Create => {
            Some(pal.paint(Tone::Added, &format!("+ create application {}", a.name)))
        }
        AppChange::Update(keys) => Some(pal.paint(
            Tone::Changed,
            &format!("~ update application {} ({})", a.name, keys.join(", ")),
        )),
        AppChange::Unchanged => None,
    }
}

fn step_line(s: &Step, pal: &Palette) -> String {
    let id = s.label();
    let (tone, mut text) = match s.action {
        Action::Create => (Tone::Added, format!("+ create {id}")),
        Action::Update => (Tone::Changed, format!("~ update {id}")),
        Action::Unchanged => (Tone::Same, format!("= unchanged {id}")),
        Action::Prune if s.rename_first && !s.notes.is_empty() => {
            (Tone::Removed, format!("- prune {id}"))
        }
        Action::Prune => (
            Tone::Removed,
            format!(
                "- prune {id}: generated from {}, no longer declared",
                s.source.as_deref().unwrap_or("an unknown source")
            ),
        ),
        Action::Conflict(c) => (
            Tone::Problem,
            format!("! conflict {id}: {}", c.explain(&s.others)),
        ),
    };
    if !s.notes.is_empty() {
        let sep = if s.action == Action::Prune && !s.rename_first {
            "; "
        } else {
            ": "
        };
        text.push_str(sep);
        text.push_str(&s.notes.join("; "));
    }
    pal.paint(tone, &text)
}

/// A unified diff with 3 lines of context; empty when `old == new`.
pub fn unified(old: &str, new: &str, old_label: &str, new_label: &str, pal: &Palette) -> String {
    if old == new {
        return String::new();
    }
    let diff = TextDiff::from_lines(old, new);
    let mut out = String::new();
    out.push_str(&pal.paint(Tone::Header, &format!("--- {old_label}")));
    out.push('\n');
    out.push_str(&pal.paint(Tone::Header, &format!("+++ {new_label}")));
    out.push('\n');
    let mut udiff = diff.unified_diff();
    udiff.context_radius(3);
    for hunk in udiff.iter_hunks() {
        out.push_str(&pal.paint(Tone::Hunk, &hunk.header().to_string()));
        out.push('\n');
        for change in hunk.iter_changes() {
            let (sign, tone) = match change.tag() {
                ChangeTag::Delete => ("-", Some(Tone::Removed)),
                ChangeTag::Insert => ("+", Some(Tone::Added)),
                ChangeTag::Equal => (" ", None),
            };
            let value = change.value();
            let line = format!("{sign}{}", value.strip_suffix('\n').unwrap_or(value));
            match tone {
                Some(t) => out.push_str(&pal.paint(t, &line)),
                None => out.push_str(&line),
            }
            out.push('\n');
            if change.missing_newline() {
                out.push_str("\\ No newline at end of file\n");
            }
        }
    }
    out
}

pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `Plan: 1 to create, 1 to update, 2 unchanged, 0 to prune.` (and the applications, the
/// conflicts, the orphans when there are any).
pub fn plan_summary(plan: &Plan) -> String {
    let c = plan.counts();
    let mut out = String::new();
    if c.app_create + c.app_update > 0 {
        let _ = writeln!(
            out,
            "Applications: {} to create, {} to update.",
            c.app_create, c.app_update
        );
    }
    let _ = write!(
        out,
        "Plan: {} to create, {} to update, {} unchanged, {} to prune",
        c.create, c.update, c.unchanged, c.prune
    );
    if c.conflict > 0 {
        let _ = write!(out, ", {}", plural(c.conflict, "conflict", "conflicts"));
    }
    out.push_str(".\n");
    out.push_str(&orphan_note(plan));
    out.push_str(&undeclared_note(plan));
    out
}

/// `diff --undeclared`: one line per pipeline, with the value file its marker names.
fn undeclared_note(plan: &Plan) -> String {
    let Some(found) = &plan.undeclared else {
        return String::new();
    };
    if found.is_empty() {
        return "No generated pipelines of applications the value files do not declare.\n".into();
    }
    let mut out = format!(
        "{} of applications the value files do not declare (push leaves them; delete them in Spinnaker when their team is gone):\n",
        plural(found.len(), "generated pipeline", "generated pipelines")
    );
    for o in found {
        let _ = writeln!(
            out,
            "  {}/{} (from {})",
            o.app,
            o.name,
            o.source.as_deref().unwrap_or("an unknown value file")
        );
    }
    out
}

fn orphan_note(plan: &Plan) -> String {
    if plan.orphans.is_empty() {
        return String::new();
    }
    let names: Vec<String> = plan
        .orphans
        .iter()
        .map(|o| format!("{}/{}", o.app, o.name))
        .collect();
    format!(
        "Note: {} no longer declared: {} (--prune deletes {}).\n",
        plural(
            names.len(),
            "generated pipeline is",
            "generated pipelines are"
        ),
        names.join(", "),
        if names.len() == 1 { "it" } else { "them" }
    )
}

/// What a push did: one line per write or failure in plan order, then the counts.
pub fn report(report: &Report, plan: &Plan, pal: &Palette) -> String {
    let mut out = String::new();
    for (a, result) in plan.apps.iter().zip(&report.apps) {
        let verb = match a.change {
            AppChange::Create => "created",
            AppChange::Update(_) => "updated",
            AppChange::Unchanged => continue,
        };
        match result {
            Ok(()) => {
                out.push_str(&pal.paint(Tone::Added, &format!("{verb} application {}", a.name)))
            }
            Err(e) => out.push_str(&pal.paint(
                Tone::Problem,
                &format!("failed application {}: {e}", a.name),
            )),
        }
        out.push('\n');
    }
    let mut counts = [0usize; 5];
    for (s, o) in plan.steps.iter().zip(&report.steps) {
        let id = s.label();
        let line = match o {
            Outcome::Created => {
                counts[0] += 1;
                pal.paint(Tone::Added, &format!("created {id}"))
            }
            Outcome::Updated => {
                counts[1] += 1;
                pal.paint(Tone::Changed, &format!("updated {id}"))
            }
            Outcome::Unchanged => {
                counts[2] += 1;
                continue;
            }
            Outcome::Pruned => {
                counts[3] += 1;
                pal.paint(Tone::Removed, &format!("pruned {id}"))
            }
            Outcome::Failed(why) => {
                counts[4] += 1;
                pal.paint(Tone::Problem, &format!("failed {id}: {why}"))
            }
        };
        out.push_str(&line);
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "Pushed: {} created, {} updated, {} unchanged, {} pruned, {} failed.",
        counts[0], counts[1], counts[2], counts[3], counts[4]
    );
    if let Some(why) = &report.unverified {
        out.push_str(&pal.paint(Tone::Problem, &format!("not verified: {why}")));
        out.push('\n');
    }
    let failed_apps = report.apps.iter().filter(|r| r.is_err()).count();
    if failed_apps > 0 {
        let _ = writeln!(
            out,
            "{} could not be created or updated.",
            plural(failed_apps, "application", "applications")
        );
    }
    out.push_str(&orphan_note(plan));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unified_diff_has_headers_hunks_and_context() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = "a\nb\nc\nd\nE\nf\ng\nh\n";
        let d = unified(old, new, "x (Spinnaker)", "x (v.json)", &Palette::default());
        assert_eq!(
            d,
            "--- x (Spinnaker)\n+++ x (v.json)\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n"
        );
        assert_eq!(unified(old, old, "a", "b", &Palette::default()), "");
    }

    #[test]
    fn coloured_diff_lines() {
        let d = unified("a\n", "b\n", "o", "n", &Palette::new(true));
        assert!(d.contains("\x1b[31m-a\x1b[0m"), "{d:?}");
        assert!(d.contains("\x1b[32m+b\x1b[0m"), "{d:?}");
    }
}
