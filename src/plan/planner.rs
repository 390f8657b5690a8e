//! The plan: what `push` would do to make Spinnaker match the bundles, and why. Pure: the
//! remote state comes in as data.
//!
//! Rules, per application:
//! - A declared pipeline matches the remote pipeline of the same name (trimmed,
//!   case-insensitive, as Front50 compares), else the remote pipeline with its id. A
//!   matched pipeline is saved with the remote id, so Front50 updates it in place and never
//!   rejects it as a duplicate; an unmatched one keeps its deterministic id.
//! - In sync (same content, same marker): unchanged, nothing written.
//! - The remote pipeline has no kujira-gen marker: not ours, a conflict unless `--adopt`.
//! - The remote pipeline's content no longer matches its own marker digest (edited in
//!   Spinnaker since it was pushed) and differs from the declaration: drift, a conflict
//!   unless `--force`.
//! - With `--prune`, remote pipelines with the marker that nothing declares are deleted
//!   (drifted ones only with `--force`); pipelines without the marker are never touched.

use crate::bundle::Bundle;
use crate::marker;
use crate::plan::compare::{application_changes, in_sync, same_content, same_name};
use serde_json::{Map, Value};

/// One application as the bundles declare it.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredApp {
    pub name: String,
    pub attributes: Map<String, Value>,
    pub pipelines: Vec<DesiredPipeline>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DesiredPipeline {
    /// The value file it comes from.
    pub source: String,
    pub name: String,
    pub pipeline: Map<String, Value>,
}

/// One application as Gate has it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RemoteApp {
    pub name: String,
    /// `None` when the application does not exist.
    pub attributes: Option<Map<String, Value>>,
    pub pipelines: Vec<Map<String, Value>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags {
    pub prune: bool,
    pub adopt: bool,
    pub force: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppChange {
    Create,
    /// The declared attributes that differ.
    Update(Vec<String>),
    Unchanged,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AppPlan {
    pub name: String,
    pub change: AppChange,
    pub attributes: Map<String, Value>,
    pub remote: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// The remote pipeline was not created by kujira-gen.
    NotGenerated,
    /// The remote pipeline was changed in Spinnaker since kujira-gen wrote it.
    Drifted,
    /// Like `Drifted`, for a pipeline that would be pruned.
    DriftedOrphan,
}

impl Conflict {
    pub fn explain(self) -> &'static str {
        match self {
            Conflict::NotGenerated => {
                "exists in Spinnaker but was not created by kujira-gen; --adopt takes it over"
            }
            Conflict::Drifted => {
                "was changed in Spinnaker since kujira-gen wrote it; --force overwrites the changes"
            }
            Conflict::DriftedOrphan => {
                "is no longer declared but was changed in Spinnaker since kujira-gen wrote it; --force deletes it anyway"
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Unchanged,
    Prune,
    Conflict(Conflict),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub app: String,
    pub name: String,
    /// The value file that declares it, or for a pruned pipeline the one its marker names.
    pub source: Option<String>,
    pub action: Action,
    /// What would be saved (with the id to use); `None` for prunes.
    pub desired: Option<Map<String, Value>>,
    pub remote: Option<Map<String, Value>>,
    /// Why an update is special: "takes over ... (--adopt)", "renames ...".
    pub notes: Vec<String>,
}

/// A generated pipeline that nothing declares any more, left alone without `--prune`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    pub app: String,
    pub name: String,
    pub source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub apps: Vec<AppPlan>,
    pub steps: Vec<Step>,
    pub orphans: Vec<Orphan>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub create: usize,
    pub update: usize,
    pub unchanged: usize,
    pub prune: usize,
    pub conflict: usize,
    pub app_create: usize,
    pub app_update: usize,
}

impl Plan {
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for s in &self.steps {
            match s.action {
                Action::Create => c.create += 1,
                Action::Update => c.update += 1,
                Action::Unchanged => c.unchanged += 1,
                Action::Prune => c.prune += 1,
                Action::Conflict(_) => c.conflict += 1,
            }
        }
        for a in &self.apps {
            match a.change {
                AppChange::Create => c.app_create += 1,
                AppChange::Update(_) => c.app_update += 1,
                AppChange::Unchanged => {}
            }
        }
        c
    }

    /// Spinnaker differs from the declaration (conflicts included).
    pub fn has_differences(&self) -> bool {
        let c = self.counts();
        c.create + c.update + c.prune + c.conflict + c.app_create + c.app_update > 0
    }

    /// Number of writes a push would make.
    pub fn writes(&self) -> usize {
        let c = self.counts();
        c.create + c.update + c.prune + c.app_create + c.app_update
    }
}

/// Groups the bundles by application and checks that they can be pushed together: every
/// application and pipeline has a name, no two pipelines of an application have the same
/// name or id, and an application declared twice is declared the same way.
pub fn desired_state(bundles: &[Bundle]) -> Result<Vec<DesiredApp>, Vec<String>> {
    let mut apps: Vec<(DesiredApp, String)> = Vec::new();
    let mut errors = Vec::new();
    for b in bundles {
        let Some(app_name) = b
            .application_name()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        else {
            errors.push(format!("{}: the application has no name", b.source));
            continue;
        };
        let idx = match apps.iter().position(|(a, _)| same_name(&a.name, app_name)) {
            Some(i) => {
                if marker::canonical_json(&Value::Object(apps[i].0.attributes.clone()))
                    != marker::canonical_json(&Value::Object(b.application.clone()))
                {
                    errors.push(format!(
                        "{}: application {app_name} is also declared by {}, with different attributes",
                        b.source, apps[i].1
                    ));
                }
                i
            }
            None => {
                apps.push((
                    DesiredApp {
                        name: app_name.to_string(),
                        attributes: b.application.clone(),
                        pipelines: Vec::new(),
                    },
                    b.source.clone(),
                ));
                apps.len() - 1
            }
        };
        for (i, p) in b.pipelines.iter().enumerate() {
            let Some(raw_name) = p.get("name").and_then(Value::as_str) else {
                errors.push(format!("{}: pipelines[{i}] has no name", b.source));
                continue;
            };
            let name = raw_name.trim();
            if name.is_empty() {
                errors.push(format!("{}: pipelines[{i}] has no name", b.source));
                continue;
            }
            if name != raw_name {
                // Front50 trims names on save: the pipeline would never read back equal.
                errors.push(format!(
                    "{}: pipeline name {raw_name:?} has leading or trailing spaces, which Spinnaker removes",
                    b.source
                ));
                continue;
            }
            let mut pipeline = p.clone();
            match p.get("application").and_then(Value::as_str) {
                Some(a) if !same_name(a, app_name) => {
                    errors.push(format!(
                        "{}: pipeline {name} belongs to application {a}, but the file declares application {app_name}",
                        b.source
                    ));
                    continue;
                }
                Some(_) => {}
                None => {
                    pipeline.insert("application".into(), Value::String(app_name.to_string()));
                }
            }
            if !pipeline.contains_key("id") {
                pipeline.insert(
                    "id".into(),
                    Value::String(marker::pipeline_id(app_name, name)),
                );
            }
            let app = &mut apps[idx].0;
            if let Some(other) = app.pipelines.iter().find(|o| same_name(&o.name, name)) {
                errors.push(format!(
                    "{}: pipeline {app_name}/{name} is also declared by {} (Spinnaker compares names case-insensitively)",
                    b.source, other.source
                ));
                continue;
            }
            if let Some(other) = app
                .pipelines
                .iter()
                .find(|o| o.pipeline.get("id") == pipeline.get("id"))
            {
                errors.push(format!(
                    "{}: pipeline {app_name}/{name} has the same id as {app_name}/{} ({})",
                    b.source, other.name, other.source
                ));
                continue;
            }
            app.pipelines.push(DesiredPipeline {
                source: b.source.clone(),
                name: name.to_string(),
                pipeline,
            });
        }
    }
    if errors.is_empty() {
        Ok(apps.into_iter().map(|(a, _)| a).collect())
    } else {
        Err(errors)
    }
}

/// The plan for `desired` against `remote` (matched by application name).
pub fn plan(desired: &[DesiredApp], remote: &[RemoteApp], flags: Flags) -> Plan {
    let mut out = Plan::default();
    let empty = RemoteApp::default();
    for app in desired {
        let r = remote
            .iter()
            .find(|r| same_name(&r.name, &app.name))
            .unwrap_or(&empty);
        out.apps.push(plan_application(app, r.attributes.as_ref()));

        let mut matched = vec![false; r.pipelines.len()];
        for d in &app.pipelines {
            let found = find_remote(&r.pipelines, &matched, d);
            if let Some(i) = found {
                matched[i] = true;
            }
            out.steps.push(plan_pipeline(
                &app.name,
                d,
                found.map(|i| &r.pipelines[i]),
                flags,
            ));
        }

        let mut undeclared: Vec<&Map<String, Value>> = r
            .pipelines
            .iter()
            .zip(&matched)
            .filter(|(p, m)| !**m && marker::is_generated(p))
            .map(|(p, _)| p)
            .collect();
        undeclared.sort_by_key(|p| name_of(p).to_lowercase());
        for p in undeclared {
            let name = name_of(p).to_string();
            let source = marker::marker_of(p)
                .and_then(|m| m.get("source"))
                .and_then(Value::as_str)
                .map(str::to_string);
            if !flags.prune {
                out.orphans.push(Orphan {
                    app: app.name.clone(),
                    name,
                    source,
                });
                continue;
            }
            let drifted = marker::has_drifted(p);
            let (action, notes) = match (drifted, flags.force) {
                (true, false) => (Action::Conflict(Conflict::DriftedOrphan), Vec::new()),
                (true, true) => (
                    Action::Prune,
                    vec!["deletes changes made in Spinnaker (--force)".to_string()],
                ),
                (false, _) => (Action::Prune, Vec::new()),
            };
            out.steps.push(Step {
                app: app.name.clone(),
                name,
                source,
                action,
                desired: None,
                remote: Some(p.clone()),
                notes,
            });
        }
    }
    out
}

fn name_of(p: &Map<String, Value>) -> &str {
    p.get("name").and_then(Value::as_str).unwrap_or("")
}

/// The remote pipeline a declared one stands for: same name (exact case first), else the
/// same id.
fn find_remote(
    remote: &[Map<String, Value>],
    taken: &[bool],
    d: &DesiredPipeline,
) -> Option<usize> {
    let free = |i: &usize| !taken[*i];
    let by_exact = (0..remote.len())
        .filter(free)
        .find(|&i| name_of(&remote[i]).trim() == d.name);
    let by_name = || {
        (0..remote.len())
            .filter(free)
            .find(|&i| same_name(name_of(&remote[i]), &d.name))
    };
    let by_id = || {
        let id = d.pipeline.get("id")?;
        (0..remote.len())
            .filter(free)
            .find(|&i| remote[i].get("id") == Some(id))
    };
    by_exact.or_else(by_name).or_else(by_id)
}

fn plan_application(app: &DesiredApp, remote: Option<&Map<String, Value>>) -> AppPlan {
    let change = match remote {
        None => AppChange::Create,
        Some(r) => {
            let changed = application_changes(&app.attributes, r);
            if changed.is_empty() {
                AppChange::Unchanged
            } else {
                AppChange::Update(changed)
            }
        }
    };
    AppPlan {
        name: app.name.clone(),
        change,
        attributes: app.attributes.clone(),
        remote: remote.cloned(),
    }
}

fn plan_pipeline(
    app: &str,
    d: &DesiredPipeline,
    remote: Option<&Map<String, Value>>,
    flags: Flags,
) -> Step {
    let mut step = Step {
        app: app.to_string(),
        name: d.name.clone(),
        source: Some(d.source.clone()),
        action: Action::Create,
        desired: Some(d.pipeline.clone()),
        remote: remote.cloned(),
        notes: Vec::new(),
    };
    let Some(r) = remote else {
        return step;
    };
    let mut desired = d.pipeline.clone();
    if let Some(id) = r.get("id") {
        // Saving with the remote id updates that pipeline in place; the marker digest does
        // not cover the id, so it stays valid.
        desired.insert("id".into(), id.clone());
    }
    step.desired = Some(desired);
    let desired = step.desired.as_ref().unwrap_or(&d.pipeline);
    if in_sync(desired, r) {
        step.action = Action::Unchanged;
        return step;
    }
    let remote_name = name_of(r);
    if remote_name != d.name {
        step.notes
            .push(format!("renames \"{remote_name}\" to \"{}\"", d.name));
    }
    decide_update(step, r, flags)
}

/// Update, or a conflict (then without notes: nothing would be done).
fn decide_update(mut step: Step, r: &Map<String, Value>, flags: Flags) -> Step {
    let Some(desired) = step.desired.as_ref() else {
        return step;
    };
    let content_equal = same_content(desired, r);
    step.action = if !marker::is_generated(r) {
        if flags.adopt {
            step.notes
                .push("takes over a pipeline not created by kujira-gen (--adopt)".into());
            Action::Update
        } else {
            Action::Conflict(Conflict::NotGenerated)
        }
    } else if marker::has_drifted(r) && !content_equal {
        if flags.force {
            step.notes
                .push("overwrites changes made in Spinnaker (--force)".into());
            Action::Update
        } else {
            Action::Conflict(Conflict::Drifted)
        }
    } else {
        if content_equal {
            step.notes.push("only the kujira-gen marker changes".into());
        }
        Action::Update
    };
    if let Action::Conflict(_) = step.action {
        step.notes.clear();
    }
    step
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bundle(source: &str, v: Value) -> Bundle {
        let mut b = Bundle::from_rendered(source, v).unwrap();
        b.finalize();
        b
    }

    fn sample() -> Bundle {
        bundle(
            "teams/sample/value.json",
            json!({"application": {"name": "sample", "email": "t@example.com"},
                "pipelines": [
                    {"name": "release", "application": "sample", "stages": [{"refId": "1"}]},
                    {"name": "rollback", "application": "sample", "stages": []}]}),
        )
    }

    /// What Gate returns after kujira-gen pushed `p`: the same pipeline plus server fields.
    fn as_stored(p: &Map<String, Value>, index: usize) -> Map<String, Value> {
        let mut r = p.clone();
        r.insert("index".into(), json!(index));
        r.insert("updateTs".into(), json!("1700000000000"));
        r.insert("lastModifiedBy".into(), json!("anonymous"));
        r.insert("schema".into(), json!("1"));
        r
    }

    fn remote_of(b: &Bundle) -> RemoteApp {
        RemoteApp {
            name: "sample".into(),
            attributes: Some(b.application.clone()),
            pipelines: b
                .pipelines
                .iter()
                .enumerate()
                .map(|(i, p)| as_stored(p, i))
                .collect(),
        }
    }

    fn actions(p: &Plan) -> Vec<(String, Action)> {
        p.steps.iter().map(|s| (s.name.clone(), s.action)).collect()
    }

    #[test]
    fn everything_new_is_created_with_the_application() {
        let b = sample();
        let d = desired_state(std::slice::from_ref(&b)).unwrap();
        let p = plan(&d, &[], Flags::default());
        assert_eq!(p.apps[0].change, AppChange::Create);
        assert_eq!(
            actions(&p),
            vec![
                ("release".into(), Action::Create),
                ("rollback".into(), Action::Create)
            ]
        );
        let id = p.steps[0].desired.as_ref().unwrap()["id"].clone();
        assert_eq!(id, json!(marker::pipeline_id("sample", "release")));
        assert_eq!(p.writes(), 3);
    }

    #[test]
    fn what_was_pushed_is_unchanged() {
        let b = sample();
        let d = desired_state(std::slice::from_ref(&b)).unwrap();
        let p = plan(&d, &[remote_of(&b)], Flags::default());
        assert_eq!(p.apps[0].change, AppChange::Unchanged);
        assert!(p.steps.iter().all(|s| s.action == Action::Unchanged));
        assert!(!p.has_differences());
        assert_eq!(p.writes(), 0);
    }

    #[test]
    fn a_changed_declaration_updates_in_place_with_the_remote_id() {
        let b = sample();
        let mut remote = remote_of(&b);
        remote.pipelines[0].insert("id".into(), json!("front50-uuid"));
        // Pushed earlier under a name that differed in case only.
        remote.pipelines[0].insert("name".into(), json!("Release"));
        marker::stamp(&mut remote.pipelines[0], "teams/sample/value.json");
        let mut changed = b.clone();
        changed.pipelines[0].insert("description".into(), json!("new"));
        changed.pipelines[0].remove(marker::MARKER_KEY);
        marker::stamp(&mut changed.pipelines[0], &changed.source);
        let d = desired_state(&[changed]).unwrap();
        let p = plan(&d, &[remote], Flags::default());
        assert_eq!(p.steps[0].action, Action::Update);
        let desired = p.steps[0].desired.as_ref().unwrap();
        assert_eq!(desired["id"], json!("front50-uuid"));
        assert!(!marker::has_drifted(desired), "the digest must stay valid");
        assert_eq!(p.steps[0].notes, vec!["renames \"Release\" to \"release\""]);
    }

    #[test]
    fn unmarked_pipelines_need_adopt() {
        let b = sample();
        let mut remote = remote_of(&b);
        remote.pipelines[1].remove(marker::MARKER_KEY);
        let d = desired_state(std::slice::from_ref(&b)).unwrap();
        let p = plan(&d, std::slice::from_ref(&remote), Flags::default());
        assert_eq!(p.steps[1].action, Action::Conflict(Conflict::NotGenerated));
        let p = plan(
            &d,
            &[remote],
            Flags {
                adopt: true,
                ..Flags::default()
            },
        );
        assert_eq!(p.steps[1].action, Action::Update);
        assert_eq!(
            p.steps[1].notes,
            vec!["takes over a pipeline not created by kujira-gen (--adopt)"]
        );
    }

    #[test]
    fn drift_needs_force_unless_it_already_matches() {
        let b = sample();
        let mut remote = remote_of(&b);
        remote.pipelines[0].insert("stages".into(), json!([]));
        let d = desired_state(std::slice::from_ref(&b)).unwrap();
        let p = plan(&d, std::slice::from_ref(&remote), Flags::default());
        assert_eq!(p.steps[0].action, Action::Conflict(Conflict::Drifted));
        let forced = plan(
            &d,
            std::slice::from_ref(&remote),
            Flags {
                force: true,
                ..Flags::default()
            },
        );
        assert_eq!(forced.steps[0].action, Action::Update);

        // The repository caught up with the edit made in Spinnaker: nothing is lost by
        // rewriting the marker.
        let mut caught_up = b.clone();
        caught_up.pipelines[0].insert("stages".into(), json!([]));
        caught_up.pipelines[0].remove(marker::MARKER_KEY);
        marker::stamp(&mut caught_up.pipelines[0], &caught_up.source);
        let d = desired_state(&[caught_up]).unwrap();
        let p = plan(&d, &[remote], Flags::default());
        assert_eq!(p.steps[0].action, Action::Update);
        assert_eq!(p.steps[0].notes, vec!["only the kujira-gen marker changes"]);
    }

    #[test]
    fn prune_only_generated_undeclared_pipelines() {
        let b = sample();
        let mut remote = remote_of(&b);
        let mut old = json!({"name": "old", "application": "sample"})
            .as_object()
            .unwrap()
            .clone();
        marker::stamp(&mut old, "teams/sample/value.json");
        remote.pipelines.push(as_stored(&old, 2));
        remote.pipelines.push(
            json!({"name": "hand-made", "application": "sample", "id": "h"})
                .as_object()
                .unwrap()
                .clone(),
        );
        let d = desired_state(std::slice::from_ref(&b)).unwrap();
        let p = plan(&d, std::slice::from_ref(&remote), Flags::default());
        assert_eq!(p.steps.len(), 2, "no prune without --prune");
        assert_eq!(
            p.orphans,
            vec![Orphan {
                app: "sample".into(),
                name: "old".into(),
                source: Some("teams/sample/value.json".into())
            }]
        );
        let p = plan(
            &d,
            &[remote],
            Flags {
                prune: true,
                ..Flags::default()
            },
        );
        assert_eq!(
            actions(&p),
            vec![
                ("release".into(), Action::Unchanged),
                ("rollback".into(), Action::Unchanged),
                ("old".into(), Action::Prune),
            ]
        );
    }

    #[test]
    fn drifted_orphans_are_pruned_only_with_force() {
        let b = sample();
        let mut remote = remote_of(&b);
        let mut old = json!({"name": "old", "application": "sample"})
            .as_object()
            .unwrap()
            .clone();
        marker::stamp(&mut old, "teams/sample/value.json");
        old.insert("description".into(), json!("edited in Deck"));
        remote.pipelines.push(old);
        let d = desired_state(std::slice::from_ref(&b)).unwrap();
        let flags = Flags {
            prune: true,
            ..Flags::default()
        };
        let p = plan(&d, std::slice::from_ref(&remote), flags);
        assert_eq!(p.steps[2].action, Action::Conflict(Conflict::DriftedOrphan));
        let p = plan(
            &d,
            &[remote],
            Flags {
                force: true,
                ..flags
            },
        );
        assert_eq!(p.steps[2].action, Action::Prune);
    }

    #[test]
    fn a_remote_pipeline_with_our_id_but_another_name_is_renamed_back() {
        let b = sample();
        let mut remote = remote_of(&b);
        remote.pipelines[1].insert("name".into(), json!("renamed in deck"));
        let d = desired_state(std::slice::from_ref(&b)).unwrap();
        let p = plan(
            &d,
            &[remote],
            Flags {
                prune: true,
                ..Flags::default()
            },
        );
        // Renaming changed the content: drift, so not silently undone.
        assert_eq!(p.steps[1].action, Action::Conflict(Conflict::Drifted));
        assert_eq!(p.steps.len(), 2, "the renamed pipeline is not an orphan");
    }

    #[test]
    fn application_attribute_changes() {
        let b = sample();
        let mut remote = remote_of(&b);
        remote.attributes = Some(
            json!({"name": "sample", "email": "old@example.com", "createTs": "1"})
                .as_object()
                .unwrap()
                .clone(),
        );
        let d = desired_state(std::slice::from_ref(&b)).unwrap();
        let p = plan(&d, &[remote], Flags::default());
        assert_eq!(p.apps[0].change, AppChange::Update(vec!["email".into()]));
    }

    #[test]
    fn conflicting_declarations_are_rejected() {
        let a = sample();
        let mut b = sample();
        b.source = "teams/other/value.json".into();
        b.pipelines[0].insert("name".into(), json!("RELEASE"));
        b.pipelines.truncate(1);
        b.application
            .insert("email".into(), json!("other@example.com"));
        let errors = desired_state(&[a, b]).unwrap_err();
        assert_eq!(
            errors,
            vec![
                "teams/other/value.json: application sample is also declared by teams/sample/value.json, with different attributes",
                "teams/other/value.json: pipeline sample/RELEASE is also declared by teams/sample/value.json (Spinnaker compares names case-insensitively)",
            ]
        );
    }
}
