//! Template impact: every team rendered with the old and the new templates, and the
//! differences grouped by identical change, so that a platform team sees before merging
//! which teams' pipelines change and how ("312 teams: this image changes; 3 teams: ...").
//!
//! Two teams have the same change when the structural differences of their bundles are
//! the same once each team's own names (its application name and value-file path) are
//! replaced by placeholders (`{app}`, `{source}`): a description that names the
//! application changes the same way for everyone.

pub mod jsondiff;
pub mod report;

use crate::bundle::{self, Bundle};
use crate::compile::{self, Compiler, Options};
use crate::diag::{self, Diagnostic, Severity};
use crate::graph;
use crate::render::{Renderer, TemplateSource};
use anyhow::Result;
use jsondiff::Change;
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;

/// What one team came to.
#[derive(Debug)]
pub struct Team {
    /// The value file, as the user named it.
    pub file: String,
    /// Problems: the value file's own, the new templates' errors and output-check
    /// findings, and (as warnings) the old templates' errors.
    pub diagnostics: Vec<Diagnostic>,
    pub outcome: Outcome,
}

#[derive(Debug)]
pub enum Outcome {
    /// Could not be compared (invalid value file, the new templates fail).
    Failed,
    Unchanged,
    Changed(Box<Changed>),
}

#[derive(Debug)]
pub struct Changed {
    /// The normalised changes: what teams are grouped by.
    pub changes: Vec<Change>,
    /// The bundles, kept only for the first team of each distinct change (the one whose
    /// diff is shown): a thousand teams' bundles would cost hundreds of MB.
    pub bundles: Option<Bundles>,
}

#[derive(Debug)]
pub struct Bundles {
    /// `None` when the old templates failed for this team.
    pub old: Option<Bundle>,
    pub new: Bundle,
}

/// Renders every input with both template sets (in parallel; two renderers per worker)
/// and compares them.
pub fn compare(
    paths: &[PathBuf],
    options: &Options,
    old: &TemplateSource,
    new: &TemplateSource,
) -> Result<Vec<Team>> {
    let (inputs, problems) =
        crate::values::discover::discover(paths, options.root.as_deref(), options.allow_empty);
    let old_resolver = old.resolver(&options.jpath)?;
    let new_resolver = new.resolver(&options.jpath)?;
    let failed = |d: Diagnostic| Team {
        file: d.file.clone(),
        outcome: if d.is_error() {
            Outcome::Failed
        } else {
            Outcome::Unchanged
        },
        diagnostics: vec![d],
    };
    let mut teams: Vec<Team> = problems.into_iter().map(failed).collect();
    // Each value file with the platform settings that govern it (the template sets are
    // the two compared).
    let (groups, unresolved) = compile::group_inputs(inputs, options);
    let mut compared: Vec<(usize, Team)> = unresolved
        .into_iter()
        .map(|(i, d)| (i, failed(d)))
        .collect();
    let mut seen: std::collections::HashSet<Vec<Change>> = std::collections::HashSet::new();
    for (group_options, members) in &groups {
        let compiler = Compiler::new(group_options)?.without_markers();
        let results = compile::parallel_map(
            members,
            options.threads,
            || {
                (
                    Renderer::new(old_resolver.clone()),
                    Renderer::new(new_resolver.clone()),
                )
            },
            |(old_r, new_r), (_, input)| compare_one(&compiler, input, old_r, new_r).0,
        );
        // Render the first team of each distinct change again, keeping its bundles this
        // time.
        let (old_r, new_r) = (
            Renderer::new(old_resolver.clone()),
            Renderer::new(new_resolver.clone()),
        );
        // `--verbose`: the platform directory per team; the template sets are the two
        // compared.
        let platform = group_options
            .platform
            .as_ref()
            .map_or_else(|| "none".to_string(), |p| p.display().to_string());
        for (mut team, (i, input)) in results.into_iter().zip(members) {
            if options.verbose {
                let note = Diagnostic::note(
                    team.file.clone(),
                    format!(
                        "platform {platform}, templates {} and {}",
                        old.label(),
                        new.label()
                    ),
                );
                team.diagnostics.insert(0, note);
            }
            if let Outcome::Changed(c) = &mut team.outcome
                && seen.insert(c.changes.clone())
            {
                c.bundles = compare_one(&compiler, input, &old_r, &new_r).1;
            }
            compared.push((*i, team));
        }
    }
    compared.sort_by_key(|(i, _)| *i);
    teams.extend(compared.into_iter().map(|(_, t)| t));
    Ok(teams)
}

/// One team compared; its bundles come back beside it when it changed.
fn compare_one(
    compiler: &Compiler,
    input: &crate::values::discover::Input,
    old_r: &Renderer,
    new_r: &Renderer,
) -> (Team, Option<Bundles>) {
    let prepared = match compiler.prepare(input) {
        Ok(p) => p,
        Err(unit) => {
            let team = Team {
                file: unit.file,
                diagnostics: unit.diagnostics,
                outcome: Outcome::Failed,
            };
            return (team, None);
        }
    };
    let mut diagnostics = prepared.diagnostics.clone();
    let (new, findings) = compiler.render_checked(&prepared, new_r);
    diagnostics.extend(findings);
    let old = match compiler.render_only(&prepared, old_r) {
        Ok(b) => Ok(b),
        Err(mut d) => {
            d.severity = Severity::Warning;
            d.message = format!("with the old templates: {}", d.message);
            diagnostics.push(d.clone());
            Err(d)
        }
    };
    compile::finish(&mut diagnostics, &input.display, &prepared.secrets);
    let mut bundles = None;
    let outcome = match new {
        None => Outcome::Failed,
        Some(new) => {
            let names = Names::of(&new);
            let changes = match &old {
                Ok(old) => jsondiff::diff_bundles(old, &new),
                Err(d) => vec![Change {
                    path: "(old templates)".into(),
                    old: Some(d.message.clone()),
                    new: Some("render".into()),
                }],
            };
            if changes.is_empty() {
                Outcome::Unchanged
            } else {
                bundles = Some(Bundles { old: old.ok(), new });
                Outcome::Changed(Box::new(Changed {
                    changes: changes.into_iter().map(|c| names.normalise(c)).collect(),
                    bundles: None,
                }))
            }
        }
    };
    let team = Team {
        file: input.display.clone(),
        diagnostics,
        outcome,
    };
    (team, bundles)
}

/// The bundle as compared and shown: bundles are rendered without the `kujiraGen` marker
/// (see [`Compiler::without_markers`]): its source never changes between two renders of
/// a team and its digest changes with any content, so it would say nothing.
fn comparable(b: &Bundle) -> Value {
    b.to_json()
}

/// A team's own words and their placeholders, longest first.
struct Names(Vec<(String, &'static str)>);

impl Names {
    fn of(b: &Bundle) -> Self {
        let mut words = vec![(b.source.clone(), "{source}")];
        if let Some(app) = b.application_name() {
            words.push((app.to_string(), "{app}"));
        }
        words.retain(|(w, _)| !w.is_empty());
        words.sort_by_key(|(w, _)| std::cmp::Reverse(w.len()));
        Self(words)
    }

    fn normalise(&self, c: Change) -> Change {
        Change {
            path: self.replace(&c.path),
            old: c.old.map(|s| self.replace(&s)),
            new: c.new.map(|s| self.replace(&s)),
        }
    }

    fn replace(&self, s: &str) -> String {
        let mut out = s.to_string();
        for (word, placeholder) in &self.0 {
            out = replace_word(&out, word, placeholder);
        }
        out
    }
}

/// Replaces `word` where it is not part of a longer name (no letter or digit right
/// before or after it): `sample` in `sample-preview` and `teams/sample/x`, not in
/// `samples`.
pub fn replace_word(s: &str, word: &str, with: &str) -> String {
    if word.is_empty() || !s.contains(word) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut prev: Option<char> = None;
    while let Some(i) = rest.find(word) {
        let before = rest[..i]
            .chars()
            .next_back()
            .or(if i == 0 { prev } else { None });
        let after = rest[i + word.len()..].chars().next();
        let bounded = |c: Option<char>| !c.is_some_and(|c| c.is_ascii_alphanumeric());
        out.push_str(&rest[..i]);
        if bounded(before) && bounded(after) {
            out.push_str(with);
        } else {
            out.push_str(word);
        }
        prev = word.chars().next_back();
        rest = &rest[i + word.len()..];
    }
    out.push_str(rest);
    out
}

/// Teams with the same change.
#[derive(Debug)]
pub struct Group<'a> {
    pub changes: &'a [Change],
    /// Indexes into the teams, in input order.
    pub members: Vec<usize>,
}

/// Changed teams grouped by identical (normalised) change: the largest group first, then
/// in the order of each group's first team.
pub fn group(teams: &[Team]) -> Vec<Group<'_>> {
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<&[Change], usize> = HashMap::new();
    for (i, t) in teams.iter().enumerate() {
        if let Outcome::Changed(c) = &t.outcome {
            match index.get(c.changes.as_slice()) {
                Some(&g) => groups[g].members.push(i),
                None => {
                    index.insert(&c.changes, groups.len());
                    groups.push(Group {
                        changes: &c.changes,
                        members: vec![i],
                    });
                }
            }
        }
    }
    groups.sort_by(|a, b| {
        b.members
            .len()
            .cmp(&a.members.len())
            .then(a.members[0].cmp(&b.members[0]))
    });
    groups
}

/// The unified diff of one team's files, as `build -o` would write them:
/// `<app>/application.json`, `<app>/<pipeline>.json`.
pub fn unified_diff(old: Option<&Bundle>, new: &Bundle) -> String {
    let files = |b: Option<&Bundle>| -> Vec<(String, String)> {
        let Some(b) = b else { return Vec::new() };
        let v = comparable(b);
        let app = bundle::file_stem(b.application_name().unwrap_or("_"));
        let mut out = vec![(
            format!("{app}/application.json"),
            bundle::to_pretty(&v["application"]),
        )];
        for p in v["pipelines"].as_array().into_iter().flatten() {
            let name = bundle::file_stem(p.get("name").and_then(Value::as_str).unwrap_or("_"));
            out.push((format!("{app}/{name}.json"), bundle::to_pretty(p)));
        }
        out
    };
    let (a, b) = (files(old), files(Some(new)));
    let mut names: Vec<&String> = a.iter().map(|(n, _)| n).collect();
    names.extend(
        b.iter()
            .map(|(n, _)| n)
            .filter(|n| !a.iter().any(|(m, _)| m == *n)),
    );
    let mut out = String::new();
    for name in names {
        let find =
            |fs: &[(String, String)]| fs.iter().find(|(n, _)| n == name).map(|(_, t)| t.clone());
        let (x, y) = (find(&a), find(&b));
        if x == y {
            continue;
        }
        let (x, y) = (x.unwrap_or_default(), y.unwrap_or_default());
        let d = similar::TextDiff::from_lines(&x, &y);
        out.push_str(
            &d.unified_diff()
                .context_radius(3)
                .header(&format!("old/{name}"), &format!("new/{name}"))
                .to_string(),
        );
    }
    out
}

/// The Mermaid pictures of the pipelines whose stage graph differs: (pipeline, old, new).
pub fn graph_changes(old: Option<&Bundle>, new: &Bundle) -> Vec<(String, String, String)> {
    let name = |p: &serde_json::Map<String, Value>| {
        p.get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let mut out = Vec::new();
    for p in &new.pipelines {
        let n = name(p);
        let before = old
            .and_then(|o| o.pipelines.iter().find(|q| name(q) == n))
            .map(graph::stages)
            .unwrap_or_default();
        let after = graph::stages(p);
        if before != after {
            out.push((
                n,
                graph::mermaid::flowchart(&before),
                graph::mermaid::flowchart(&after),
            ));
        }
    }
    out
}

/// Counts for the summary and the exit status.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub teams: usize,
    pub changed: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub errors: usize,
}

pub fn counts(teams: &[Team], diagnostics: &[Diagnostic]) -> Counts {
    let mut c = Counts {
        errors: diag::count_errors(diagnostics),
        ..Counts::default()
    };
    for t in teams {
        c.teams += 1;
        match t.outcome {
            Outcome::Failed => c.failed += 1,
            Outcome::Unchanged => c.unchanged += 1,
            Outcome::Changed(_) => c.changed += 1,
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_teams_names_are_replaced_only_as_whole_names() {
        assert_eq!(
            replace_word("sample-preview.sample.svc", "sample", "{app}"),
            "{app}-preview.{app}.svc"
        );
        assert_eq!(
            replace_word("samples sample", "sample", "{app}"),
            "samples {app}"
        );
        assert_eq!(replace_word("xsample", "sample", "{app}"), "xsample");
        assert_eq!(replace_word("aa", "a", "{app}"), "aa");
        assert_eq!(replace_word("a-a", "a", "{app}"), "{app}-{app}");
    }
}
