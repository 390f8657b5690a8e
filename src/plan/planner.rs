//! The plan: what `push` would do to make Spinnaker match the bundles, and why. Pure: the
//! remote state comes in as data.
//!
//! Rules, per application:
//! - A declared pipeline matches the remote pipeline of the same name (as Gate and
//!   Front50 compare names: Java's trim and equalsIgnoreCase, see
//!   [`crate::plan::compare::same_name`]), else the remote pipeline with its id. Among
//!   several of the same name it matches a generated one before a hand-made one, then the
//!   one with its id, else one equal to it, else one that was not edited in Spinnaker,
//!   else the one of exactly its name. A matched
//!   pipeline is saved with the remote id, so Front50 updates it in place and never
//!   rejects it as a duplicate; an unmatched one keeps its deterministic id.
//! - In sync (same content, same marker): unchanged, nothing written.
//! - The remote pipeline has no kujira-gen marker: not ours, a conflict unless `--adopt`.
//! - The remote pipeline's content no longer matches its own marker digest (edited in
//!   Spinnaker since it was pushed) and differs from the declaration: drift, a conflict
//!   unless `--force`.
//! - Other remote pipelines with a declared pipeline's name are duplicates: Gate deletes
//!   by name and Front50 refuses to save a pipeline while another one has its name. Each
//!   is a conflict naming both ids. With `--force`, a generated copy is deleted safely
//!   (renamed to a name of its own first, then deleted by that name, so that the delete
//!   cannot reach the declared one), but only when the kept pipeline is in sync or will be
//!   saved; one kujira-gen did not create is never touched.
//! - A generated pipeline named like a copy renamed by an interrupted `--force`
//!   (`NAME (copy ID, deleted by kujira-gen)`, its own id) is deleted, `--prune` or not.
//! - With `--prune`, remote pipelines with the marker that nothing declares are deleted
//!   (drifted ones only with `--force`); pipelines without the marker are never touched. A
//!   delete by name is planned only for a name no other pipeline of the application has;
//!   otherwise the pipeline is renamed first (`--force`) or it is a conflict.

use crate::bundle::Bundle;
use crate::marker;
use crate::plan::compare::{application_changes, java_trim, name_key, same_name};
use crate::plan::packed::PackedPipeline;
use crate::plan::remote::{RemoteApp, RemotePipeline};
use serde_json::{Map, Value};
use std::collections::HashMap;

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
    pub pipeline: PackedPipeline,
    /// [`marker::digest`] of `pipeline`: its content, as remote pipelines are compared.
    pub digest: String,
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
    /// A declared pipeline that needs a save, while other pipelines have its name:
    /// Front50 refuses the save.
    Duplicate,
    /// A generated pipeline with the name of a declared one (a copy).
    Copy,
    /// A pipeline kujira-gen did not create, with the name of a declared one.
    ForeignCopy,
    /// A generated pipeline to prune whose name another pipeline that stays has too: a
    /// delete by name could remove that one.
    SharedName,
}

impl Conflict {
    /// Why, and what resolves it. `others`: the ids of the other pipelines of the same
    /// name (for the duplicate kinds).
    pub fn explain(self, others: &[String]) -> String {
        let ids = others.join(", ");
        match self {
            Conflict::NotGenerated => {
                "exists in Spinnaker but was not created by kujira-gen; --adopt takes it over".into()
            }
            Conflict::Drifted => {
                "was changed in Spinnaker since kujira-gen wrote it; --force overwrites the changes".into()
            }
            Conflict::DriftedOrphan => {
                "is no longer declared but was changed in Spinnaker since kujira-gen wrote it; --force deletes it anyway".into()
            }
            Conflict::Duplicate => format!(
                "Spinnaker refuses to save it while another pipeline has its name (id {ids}); see that pipeline's conflict"
            ),
            Conflict::Copy => format!(
                "a copy of the declared pipeline (id {ids}) under its name; Gate saves and deletes by name and could hit either: delete this copy in Spinnaker, or push --force to delete it safely (renamed first)"
            ),
            Conflict::ForeignCopy => format!(
                "has the name of the declared pipeline (id {ids}) but was not created by kujira-gen, which never deletes it; Gate saves and deletes by name and could hit either: rename or delete one of them in Spinnaker"
            ),
            Conflict::SharedName => format!(
                "is no longer declared, but another pipeline has its name (id {ids}) and Gate deletes by name: --force deletes it safely (renamed first)"
            ),
        }
    }

    /// Conflicts about a second pipeline of a name, whose lines name its id.
    pub fn names_an_id(self) -> bool {
        matches!(
            self,
            Conflict::Copy | Conflict::ForeignCopy | Conflict::SharedName
        )
    }

    /// A stable name for machine-readable output.
    pub fn code(self) -> &'static str {
        match self {
            Conflict::NotGenerated => "notGenerated",
            Conflict::Drifted => "drifted",
            Conflict::DriftedOrphan => "driftedOrphan",
            Conflict::Duplicate => "duplicate",
            Conflict::Copy => "copy",
            Conflict::ForeignCopy => "foreignCopy",
            Conflict::SharedName => "sharedName",
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
    /// What would be saved (with the id to use); `None` for prunes and copies.
    pub desired: Option<PackedPipeline>,
    /// [`marker::digest`] of `desired`.
    pub digest: Option<String>,
    pub remote: Option<RemotePipeline>,
    /// Why an update is special: "takes over ... (--adopt)", "renames ...".
    pub notes: Vec<String>,
    /// For duplicates: the ids of the other pipelines of the same name.
    pub others: Vec<String>,
    /// A prune that renames the pipeline to a name of its own before deleting it by that
    /// name, because another pipeline has its name.
    pub rename_first: bool,
}

impl Step {
    /// `sample/release`, with the id when another pipeline has the same name.
    pub fn label(&self) -> String {
        let id_matters =
            self.rename_first || matches!(self.action, Action::Conflict(c) if c.names_an_id());
        match (&self.remote, id_matters) {
            (Some(r), true) => format!("{}/{} (id {})", self.app, self.name, r.id_text()),
            _ => format!("{}/{}", self.app, self.name),
        }
    }

    /// The id the pipeline has, or gets, in Spinnaker.
    pub fn id(&self) -> Option<String> {
        let from_desired = self
            .desired
            .as_ref()
            .and_then(PackedPipeline::id)
            .and_then(Value::as_str)
            .map(str::to_string);
        from_desired.or_else(|| self.remote.as_ref().map(RemotePipeline::id_text))
    }
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
    /// Applications that could not be read (an answer over the size limit), with why:
    /// left out of the plan, nothing written to them, and the command fails.
    pub unreadable: Vec<(String, String)>,
    /// `diff --undeclared`: generated pipelines of applications nothing declares; `None`
    /// when not looked for.
    pub undeclared: Option<Vec<Orphan>>,
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

    /// Number of writes a push would make (a rename before a delete counts as one).
    pub fn writes(&self) -> usize {
        let c = self.counts();
        c.create + c.update + c.prune + c.app_create + c.app_update
    }
}

/// One value file's declaration as `diff` and `push` hold it: its application and its
/// pipelines, packed (see [`PackedPipeline`]), with what keeps it from being pushed.
/// Made by [`declare`] on the compile's worker threads, so that the parsed pipelines of a
/// thousand teams never exist at once.
#[derive(Debug, Clone, PartialEq)]
pub struct Declaration {
    pub source: String,
    /// The application's name, trimmed; `None` when it has none.
    pub name: Option<String>,
    pub attributes: Map<String, Value>,
    pub pipelines: Vec<DesiredPipeline>,
    /// Why some of it cannot be pushed, a line each, starting with the source.
    pub errors: Vec<String>,
}

/// What one bundle declares, checked on its own: the application has a name, every
/// pipeline has a name Spinnaker keeps as it is, belongs to that application, and can
/// be packed; each gets its application and id when the template left them out. The
/// bundle must be finished ([`Bundle::finalize`]): a pipeline's marker digest is taken as
/// its content's digest.
pub fn declare(b: Bundle) -> Declaration {
    let mut out = Declaration {
        name: b
            .application_name()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string),
        source: b.source,
        attributes: b.application,
        pipelines: Vec::new(),
        errors: Vec::new(),
    };
    let Some(app_name) = out.name.clone() else {
        out.errors
            .push(format!("{}: the application has no name", out.source));
        return out;
    };
    for (i, mut pipeline) in b.pipelines.into_iter().enumerate() {
        let Some(raw_name) = pipeline
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            out.errors
                .push(format!("{}: pipelines[{i}] has no name", out.source));
            continue;
        };
        let name = java_trim(&raw_name);
        if name.is_empty() {
            out.errors
                .push(format!("{}: pipelines[{i}] has no name", out.source));
            continue;
        }
        if name != raw_name {
            // Front50 trims names on save (Java's trim(): spaces and control
            // characters): the pipeline would never read back equal.
            out.errors.push(format!(
                "{}: pipeline name {raw_name:?} has leading or trailing spaces or control characters, which Spinnaker removes",
                out.source
            ));
            continue;
        }
        let mut stamped_as_is = true;
        match pipeline.get("application").and_then(Value::as_str) {
            Some(a) if !same_name(a, &app_name) => {
                out.errors.push(format!(
                    "{}: pipeline {name} belongs to application {a}, but the file declares application {app_name}",
                    out.source
                ));
                continue;
            }
            Some(_) => {}
            None => {
                pipeline.insert("application".into(), Value::String(app_name.clone()));
                stamped_as_is = false;
            }
        }
        if !pipeline.contains_key("id") {
            pipeline.insert(
                "id".into(),
                Value::String(marker::pipeline_id(&app_name, name)),
            );
        }
        // A finished bundle's marker holds the digest of exactly this content (the id is
        // not part of it): no need to hash every pipeline a second time.
        let recorded = marker::marker_of(&pipeline)
            .and_then(|m| m.get("digest"))
            .and_then(Value::as_str)
            .filter(|_| stamped_as_is)
            .map(str::to_string);
        let digest = recorded.unwrap_or_else(|| marker::digest(&pipeline));
        match PackedPipeline::pack(&pipeline) {
            Ok(packed) => out.pipelines.push(DesiredPipeline {
                source: out.source.clone(),
                name: name.to_string(),
                pipeline: packed,
                digest,
            }),
            Err(why) => out
                .errors
                .push(format!("{}: pipeline {app_name}/{name} {why}", out.source)),
        }
    }
    out
}

impl From<Bundle> for Declaration {
    fn from(b: Bundle) -> Self {
        declare(b)
    }
}

/// Groups the declarations by application and checks that they can be pushed together:
/// each is pushable on its own (see [`declare`]), no two pipelines of an application have
/// the same name or id, and an application declared twice is declared the same way. Takes
/// the declarations: their pipelines become the plan's without a copy.
pub fn desired_state(declarations: Vec<Declaration>) -> Result<Vec<DesiredApp>, Vec<String>> {
    let mut apps: Vec<(DesiredApp, String)> = Vec::new();
    let mut errors = Vec::new();
    for d in declarations {
        errors.extend(d.errors);
        let Some(app_name) = d.name else { continue };
        let idx = match apps.iter().position(|(a, _)| same_name(&a.name, &app_name)) {
            Some(i) => {
                if marker::canonical_json(&Value::Object(apps[i].0.attributes.clone()))
                    != marker::canonical_json(&Value::Object(d.attributes.clone()))
                {
                    errors.push(format!(
                        "{}: application {app_name} is also declared by {}, with different attributes",
                        d.source, apps[i].1
                    ));
                }
                i
            }
            None => {
                apps.push((
                    DesiredApp {
                        name: app_name.clone(),
                        attributes: d.attributes,
                        pipelines: Vec::new(),
                    },
                    d.source.clone(),
                ));
                apps.len() - 1
            }
        };
        let app = &mut apps[idx].0;
        for p in d.pipelines {
            if let Some(other) = app.pipelines.iter().find(|o| same_name(&o.name, &p.name)) {
                errors.push(format!(
                    "{}: pipeline {app_name}/{} is also declared by {} (Spinnaker compares names case-insensitively)",
                    p.source, p.name, other.source
                ));
                continue;
            }
            if let Some(other) = app
                .pipelines
                .iter()
                .find(|o| o.pipeline.id() == p.pipeline.id())
            {
                errors.push(format!(
                    "{}: pipeline {app_name}/{} has the same id as {app_name}/{} ({})",
                    p.source, p.name, other.name, other.source
                ));
                continue;
            }
            app.pipelines.push(p);
        }
    }
    if errors.is_empty() {
        Ok(apps.into_iter().map(|(a, _)| a).collect())
    } else {
        Err(errors)
    }
}

/// The plan for `desired` against `remote` (matched by application name).
pub fn plan(desired: Vec<DesiredApp>, remote: Vec<RemoteApp>, flags: Flags) -> Plan {
    let mut out = Plan::default();
    let mut remote: HashMap<String, RemoteApp> =
        remote.into_iter().map(|r| (name_key(&r.name), r)).collect();
    for app in desired {
        let r = remote.remove(&name_key(&app.name)).unwrap_or_default();
        out.apps.push(plan_application(&app, r.attributes.as_ref()));
        plan_pipelines(app, r.pipelines, flags, &mut out);
    }
    out
}

fn plan_pipelines(mut app: DesiredApp, remote: Vec<RemotePipeline>, flags: Flags, out: &mut Plan) {
    let mut taken = vec![false; remote.len()];
    let matches: Vec<Option<usize>> = app
        .pipelines
        .iter()
        .map(|d| {
            let found = find_remote(&remote, &taken, d);
            if let Some(i) = found {
                taken[i] = true;
            }
            found
        })
        .collect();
    let originals = follow_reused_ids(&mut app.pipelines, &matches, &remote);
    let app_name = app.name;
    // Remote pipelines sharing a declared pipeline's name: copies.
    let mut copy_of: Vec<Option<usize>> = vec![None; remote.len()];
    for (di, d) in app.pipelines.iter().enumerate() {
        for (ri, r) in remote.iter().enumerate() {
            if !taken[ri] && name_key(&r.name) == name_key(&d.name) {
                copy_of[ri] = Some(di);
            }
        }
    }
    let mut slots: Vec<Option<RemotePipeline>> = remote.iter().cloned().map(Some).collect();
    // A remote pipeline that was exactly the declaration before a trigger was rewritten
    // was read without its body (it was as expected); the declaration as it was is that
    // body, so that the diff shows only the rewritten field.
    for (m, original) in matches.iter().zip(&originals) {
        if let (Some(i), Some(original)) = (m, original)
            && let Some(Some(r)) = slots.get_mut(*i)
            && !r.has_body()
            && r.matches(marker::marker_of(original), &marker::digest(original))
        {
            r.set_body(original);
        }
    }
    for ((di, d), m) in app.pipelines.into_iter().enumerate().zip(&matches) {
        let copies: Vec<usize> = (0..remote.len())
            .filter(|&ri| copy_of[ri] == Some(di))
            .collect();
        let mut step = plan_pipeline(&app_name, d, m.and_then(|i| slots[i].take()), flags);
        let kept_id = step.id().unwrap_or_else(|| "no id".into());
        if !copies.is_empty() {
            step.others = copies.iter().map(|&ri| remote[ri].id_text()).collect();
            // Copies go only when the declared pipeline is sure to be saved or is in sync:
            // deleting them for a kept pipeline that is itself a conflict (a hand-made one
            // holding the declared id) would leave the declaration with no pipeline.
            let kept_is_safe = !matches!(step.action, Action::Conflict(_));
            let removable =
                flags.force && kept_is_safe && copies.iter().all(|&ri| remote[ri].is_generated());
            if matches!(step.action, Action::Create | Action::Update) && !removable {
                step.action = Action::Conflict(Conflict::Duplicate);
                step.notes.clear();
            }
        }
        let declared_label = format!("{app_name}/{}", step.name);
        out.steps.push(step);
        for ri in copies {
            let Some(r) = slots[ri].take() else { continue };
            let kept_is_safe = !matches!(
                out.steps.last().map(|s| s.action),
                Some(Action::Conflict(_))
            );
            let (action, rename_first, notes) = match (
                r.is_generated(),
                flags.force && kept_is_safe,
            ) {
                (true, true) => (
                    Action::Prune,
                    true,
                    vec![format!(
                        "a copy of {declared_label} (id {kept_id}); renamed first, then deleted by its new name, which cannot reach {kept_id} (--force)"
                    )],
                ),
                (true, false) => (Action::Conflict(Conflict::Copy), false, Vec::new()),
                (false, _) => (Action::Conflict(Conflict::ForeignCopy), false, Vec::new()),
            };
            out.steps.push(Step {
                app: app_name.clone(),
                name: r.name.clone(),
                source: source_of(&r),
                action,
                desired: None,
                digest: None,
                remote: Some(r),
                notes,
                others: vec![kept_id.clone()],
                rename_first,
            });
        }
    }

    // Generated pipelines nothing declares.
    let mut undeclared: Vec<usize> = (0..remote.len())
        .filter(|&i| slots[i].is_some() && remote[i].is_generated())
        .collect();
    undeclared.sort_by_key(|&i| name_key(&remote[i].name));
    for i in undeclared {
        let Some(r) = slots[i].take() else { continue };
        let source = source_of(&r);
        let leftover = is_leftover_copy(&r);
        if !flags.prune && !leftover {
            out.orphans.push(Orphan {
                app: app_name.clone(),
                name: r.name.clone(),
                source,
            });
            continue;
        }
        let mut notes = Vec::new();
        if leftover {
            // Renamed by an earlier --force that was interrupted before its delete: that
            // push had decided to delete it, and the rename is what makes it "drifted".
            notes.push(
                "left over from an interrupted --force cleanup (renamed, not yet deleted)"
                    .to_string(),
            );
        }
        let mut action = if r.drifted && !flags.force && !leftover {
            Action::Conflict(Conflict::DriftedOrphan)
        } else {
            if r.drifted {
                notes.push("deletes changes made in Spinnaker (--force)".to_string());
            }
            Action::Prune
        };
        // Every other pipeline of the application with this name stays: a delete by
        // name could remove one of them instead.
        let others: Vec<String> = (0..remote.len())
            .filter(|&j| j != i && name_key(&remote[j].name) == name_key(&r.name))
            .map(|j| remote[j].id_text())
            .collect();
        let mut rename_first = false;
        if !others.is_empty() && action == Action::Prune {
            if flags.force {
                rename_first = true;
                notes.insert(
                    0,
                    format!(
                        "generated from {}, no longer declared",
                        source.as_deref().unwrap_or("an unknown source")
                    ),
                );
                notes.push(format!(
                    "renamed first, then deleted by its new name, which cannot reach {} (--force)",
                    others.join(", ")
                ));
            } else {
                action = Action::Conflict(Conflict::SharedName);
                notes.clear();
            }
        }
        if let Action::Conflict(_) = action {
            notes.clear();
        }
        out.steps.push(Step {
            app: app_name.clone(),
            name: r.name.clone(),
            source,
            action,
            desired: None,
            digest: None,
            remote: Some(r),
            notes,
            others,
            rename_first,
        });
    }
}

/// A declared pipeline saved under the id of the remote pipeline it stands for (one made
/// before kujira-gen managed it keeps its id) may be the target of another declared
/// pipeline's pipeline trigger (the next environment of a release): that trigger must name
/// the id the pipeline really has. Rewritten, then re-stamped, so that the marker's digest
/// is the digest of what is saved.
/// Returns, for each pipeline rewritten, the declaration as it was.
fn follow_reused_ids(
    pipelines: &mut [DesiredPipeline],
    matches: &[Option<usize>],
    remote: &[RemotePipeline],
) -> Vec<Option<Map<String, Value>>> {
    let mut originals = vec![None; pipelines.len()];
    let renamed: Vec<(Value, Value)> = pipelines
        .iter()
        .zip(matches)
        .filter_map(|(d, m)| {
            let declared = d.pipeline.id()?.clone();
            let kept = remote.get((*m)?)?.id.clone()?;
            (declared != kept).then_some((declared, kept))
        })
        .collect();
    if renamed.is_empty() {
        return originals;
    }
    for (d, original) in pipelines.iter_mut().zip(originals.iter_mut()) {
        let before = d.pipeline.unpack();
        let mut after = before.clone();
        let mut changed = false;
        if let Some(Value::Array(triggers)) = after.get_mut("triggers") {
            for t in triggers.iter_mut() {
                if t.get("type").and_then(Value::as_str) != Some("pipeline") {
                    continue;
                }
                if let Some((_, kept)) = renamed
                    .iter()
                    .find(|(declared, _)| t.get("pipeline") == Some(declared))
                {
                    t["pipeline"] = kept.clone();
                    changed = true;
                }
            }
        }
        if changed {
            marker::stamp(&mut after, &d.source);
            // Only an id changed, in a pipeline that was packed: it packs.
            if let Ok(packed) = PackedPipeline::pack(&after) {
                d.digest = marker::digest(&after);
                d.pipeline = packed;
                *original = Some(before);
            }
        }
    }
    originals
}

/// The name `push --force` gives a copy before deleting it by that name: `NAME (copy ID,
/// deleted by kujira-gen)`, optionally with `, N` before the parenthesis closes.
pub fn leftover_name(name: &str, id: &str, n: usize) -> String {
    if n < 2 {
        format!("{name} (copy {id}, deleted by kujira-gen)")
    } else {
        format!("{name} (copy {id}, deleted by kujira-gen, {n})")
    }
}

/// A generated pipeline that carries the temporary name `push --force` gave it, with its
/// own id in it: a copy whose delete was interrupted (kill -9 between the rename and the
/// delete). Only kujira-gen makes such names, and the id ties it to this very pipeline.
fn is_leftover_copy(r: &RemotePipeline) -> bool {
    let Some(Value::String(id)) = &r.id else {
        return false;
    };
    r.is_generated()
        && java_trim(&r.name).ends_with(')')
        && r.name
            .contains(&format!(" (copy {id}, deleted by kujira-gen"))
}

fn source_of(r: &RemotePipeline) -> Option<String> {
    r.marker
        .as_ref()
        .and_then(|m| m.get("source"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The remote pipeline a declared one stands for. Among those of its name (ignoring
/// case): the one with its id, else one equal to it, else one not edited in Spinnaker,
/// else one of exactly its name, else the first. Without any of its name: the one with its
/// id (renamed in Spinnaker).
fn find_remote(remote: &[RemotePipeline], taken: &[bool], d: &DesiredPipeline) -> Option<usize> {
    let id = d.pipeline.id();
    let candidates: Vec<usize> = (0..remote.len())
        .filter(|&i| !taken[i] && name_key(&remote[i].name) == name_key(&d.name))
        .collect();
    // A generated one first: keeping a hand-made pipeline of the name (a conflict without
    // --adopt) would make the generated one a copy, and --force would delete it.
    let rank = |&i: &usize| {
        let r = &remote[i];
        (
            !r.is_generated(),
            r.id.as_ref() != id,
            r.digest != d.digest,
            r.drifted,
            java_trim(&r.name) != d.name,
        )
    };
    candidates
        .iter()
        .copied()
        .min_by_key(|i| rank(i))
        .or_else(|| {
            let id = id?;
            (0..remote.len()).find(|&i| !taken[i] && remote[i].id.as_ref() == Some(id))
        })
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
    d: DesiredPipeline,
    remote: Option<RemotePipeline>,
    flags: Flags,
) -> Step {
    let mut desired = d.pipeline;
    if let Some(id) = remote.as_ref().and_then(|r| r.id.clone()) {
        // Saving with the remote id updates that pipeline in place; the marker digest does
        // not cover the id, so it stays valid.
        desired.set_id(id);
    }
    let mut step = Step {
        app: app.to_string(),
        name: d.name,
        source: Some(d.source),
        action: Action::Create,
        desired: Some(desired),
        digest: Some(d.digest),
        remote,
        notes: Vec::new(),
        others: Vec::new(),
        rename_first: false,
    };
    let (Some(r), Some(desired), Some(digest)) = (&step.remote, &step.desired, &step.digest) else {
        return step;
    };
    let content_equal = &r.digest == digest;
    if r.matches(desired.marker(), digest) {
        step.action = Action::Unchanged;
        return step;
    }
    if r.name != step.name {
        step.notes
            .push(format!("renames \"{}\" to \"{}\"", r.name, step.name));
    }
    step.action = if !r.is_generated() {
        if flags.adopt {
            step.notes
                .push("takes over a pipeline not created by kujira-gen (--adopt)".into());
            Action::Update
        } else {
            Action::Conflict(Conflict::NotGenerated)
        }
    } else if r.drifted && !content_equal {
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

    /// The stored pipelines of `b`, to change before [`remote`] reads them.
    fn stored(b: &Bundle) -> Vec<Map<String, Value>> {
        b.pipelines
            .iter()
            .enumerate()
            .map(|(i, p)| as_stored(p, i))
            .collect()
    }

    fn remote(b: &Bundle, pipelines: Vec<Map<String, Value>>) -> Vec<RemoteApp> {
        vec![RemoteApp {
            name: "sample".into(),
            attributes: Some(b.application.clone()),
            pipelines: pipelines
                .into_iter()
                .map(RemotePipeline::from_map)
                .collect(),
        }]
    }

    fn declared(b: &Bundle) -> Vec<DesiredApp> {
        desired_state(vec![declare(b.clone())]).unwrap()
    }

    fn actions(p: &Plan) -> Vec<(String, Action)> {
        p.steps.iter().map(|s| (s.name.clone(), s.action)).collect()
    }

    fn flags(prune: bool, adopt: bool, force: bool) -> Flags {
        Flags {
            prune,
            adopt,
            force,
        }
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn everything_new_is_created_with_the_application() {
        let b = sample();
        let p = plan(declared(&b), Vec::new(), Flags::default());
        assert_eq!(p.apps[0].change, AppChange::Create);
        assert_eq!(
            actions(&p),
            vec![
                ("release".into(), Action::Create),
                ("rollback".into(), Action::Create)
            ]
        );
        let id = p.steps[0].desired.as_ref().unwrap().id().unwrap().clone();
        assert_eq!(id, json!(marker::pipeline_id("sample", "release")));
        assert_eq!(p.writes(), 3);
    }

    #[test]
    fn what_was_pushed_is_unchanged() {
        let b = sample();
        let p = plan(declared(&b), remote(&b, stored(&b)), Flags::default());
        assert_eq!(p.apps[0].change, AppChange::Unchanged);
        assert!(p.steps.iter().all(|s| s.action == Action::Unchanged));
        assert!(!p.has_differences());
        assert_eq!(p.writes(), 0);
    }

    #[test]
    fn a_changed_declaration_updates_in_place_with_the_remote_id() {
        let b = sample();
        let mut r = stored(&b);
        r[0].insert("id".into(), json!("front50-uuid"));
        // Pushed earlier under a name that differed in case only.
        r[0].insert("name".into(), json!("Release"));
        marker::stamp(&mut r[0], "teams/sample/value.json");
        let mut changed = b.clone();
        changed.pipelines[0].insert("description".into(), json!("new"));
        changed.pipelines[0].remove(marker::MARKER_KEY);
        marker::stamp(&mut changed.pipelines[0], &changed.source);
        let p = plan(declared(&changed), remote(&b, r), Flags::default());
        assert_eq!(p.steps[0].action, Action::Update);
        let desired = p.steps[0].desired.as_ref().unwrap().unpack();
        assert_eq!(desired["id"], json!("front50-uuid"));
        assert!(!marker::has_drifted(&desired), "the digest must stay valid");
        assert_eq!(p.steps[0].notes, vec!["renames \"Release\" to \"release\""]);
    }

    #[test]
    fn unmarked_pipelines_need_adopt() {
        let b = sample();
        let mut r = stored(&b);
        r[1].remove(marker::MARKER_KEY);
        let p = plan(declared(&b), remote(&b, r.clone()), Flags::default());
        assert_eq!(p.steps[1].action, Action::Conflict(Conflict::NotGenerated));
        let p = plan(declared(&b), remote(&b, r), flags(false, true, false));
        assert_eq!(p.steps[1].action, Action::Update);
        assert_eq!(
            p.steps[1].notes,
            vec!["takes over a pipeline not created by kujira-gen (--adopt)"]
        );
    }

    #[test]
    fn drift_needs_force_unless_it_already_matches() {
        let b = sample();
        let mut r = stored(&b);
        r[0].insert("stages".into(), json!([]));
        let p = plan(declared(&b), remote(&b, r.clone()), Flags::default());
        assert_eq!(p.steps[0].action, Action::Conflict(Conflict::Drifted));
        let forced = plan(
            declared(&b),
            remote(&b, r.clone()),
            flags(false, false, true),
        );
        assert_eq!(forced.steps[0].action, Action::Update);

        // The repository caught up with the edit made in Spinnaker: nothing is lost by
        // rewriting the marker.
        let mut caught_up = b.clone();
        caught_up.pipelines[0].insert("stages".into(), json!([]));
        caught_up.pipelines[0].remove(marker::MARKER_KEY);
        marker::stamp(&mut caught_up.pipelines[0], &caught_up.source);
        let p = plan(declared(&caught_up), remote(&b, r), Flags::default());
        assert_eq!(p.steps[0].action, Action::Update);
        assert_eq!(p.steps[0].notes, vec!["only the kujira-gen marker changes"]);
    }

    #[test]
    fn prune_only_generated_undeclared_pipelines() {
        let b = sample();
        let mut r = stored(&b);
        let mut old = obj(json!({"name": "old", "application": "sample"}));
        marker::stamp(&mut old, "teams/sample/value.json");
        r.push(as_stored(&old, 2));
        r.push(obj(
            json!({"name": "hand-made", "application": "sample", "id": "h"}),
        ));
        let p = plan(declared(&b), remote(&b, r.clone()), Flags::default());
        assert_eq!(p.steps.len(), 2, "no prune without --prune");
        assert_eq!(
            p.orphans,
            vec![Orphan {
                app: "sample".into(),
                name: "old".into(),
                source: Some("teams/sample/value.json".into())
            }]
        );
        let p = plan(declared(&b), remote(&b, r), flags(true, false, false));
        assert_eq!(
            actions(&p),
            vec![
                ("release".into(), Action::Unchanged),
                ("rollback".into(), Action::Unchanged),
                ("old".into(), Action::Prune),
            ]
        );
        assert!(!p.steps[2].rename_first);
    }

    #[test]
    fn drifted_orphans_are_pruned_only_with_force() {
        let b = sample();
        let mut r = stored(&b);
        let mut old = obj(json!({"name": "old", "application": "sample"}));
        marker::stamp(&mut old, "teams/sample/value.json");
        old.insert("description".into(), json!("edited in Deck"));
        r.push(old);
        let p = plan(
            declared(&b),
            remote(&b, r.clone()),
            flags(true, false, false),
        );
        assert_eq!(p.steps[2].action, Action::Conflict(Conflict::DriftedOrphan));
        let p = plan(declared(&b), remote(&b, r), flags(true, false, true));
        assert_eq!(p.steps[2].action, Action::Prune);
    }

    #[test]
    fn a_remote_pipeline_with_our_id_but_another_name_is_renamed_back() {
        let b = sample();
        let mut r = stored(&b);
        r[1].insert("name".into(), json!("renamed in deck"));
        let p = plan(declared(&b), remote(&b, r), flags(true, false, false));
        // Renaming changed the content: drift, so not silently undone.
        assert_eq!(p.steps[1].action, Action::Conflict(Conflict::Drifted));
        assert_eq!(p.steps.len(), 2, "the renamed pipeline is not an orphan");
    }

    /// `stored(b)` plus a copy of the release pipeline under `id` and `name`.
    fn with_copy(b: &Bundle, id: &str, name: &str) -> Vec<Map<String, Value>> {
        let mut r = stored(b);
        let mut copy = r[0].clone();
        copy.insert("id".into(), json!(id));
        copy.insert("name".into(), json!(name));
        r.push(copy);
        r
    }

    #[test]
    fn a_copy_of_a_declared_pipeline_is_a_conflict_never_a_prune() {
        let b = sample();
        let declared_id = marker::pipeline_id("sample", "release");
        for name in ["release", "Release"] {
            let r = with_copy(&b, "copy-1", name);
            let p = plan(declared(&b), remote(&b, r), flags(true, false, false));
            assert_eq!(
                actions(&p),
                vec![
                    ("release".into(), Action::Unchanged),
                    (name.into(), Action::Conflict(Conflict::Copy)),
                    ("rollback".into(), Action::Unchanged),
                ],
                "{name}"
            );
            assert_eq!(p.steps[0].others, vec!["copy-1"]);
            assert_eq!(p.steps[1].others, vec![declared_id.clone()]);
            assert_eq!(
                p.steps[1].label(),
                "sample/".to_string() + name + " (id copy-1)"
            );
        }
    }

    #[test]
    fn force_deletes_a_generated_copy_by_renaming_it_first() {
        let b = sample();
        let r = with_copy(&b, "copy-1", "Release");
        let p = plan(declared(&b), remote(&b, r), flags(false, false, true));
        assert_eq!(p.steps[1].action, Action::Prune);
        assert!(p.steps[1].rename_first);
        assert_eq!(p.steps[1].remote.as_ref().unwrap().id_text(), "copy-1");
    }

    #[test]
    fn the_kept_pipeline_is_the_one_with_the_declared_id() {
        let b = sample();
        // The copy comes first in Gate's list and has exactly the declared name.
        let mut r = with_copy(&b, "copy-1", "release");
        r.rotate_right(1);
        r[1].insert("name".into(), json!("RELEASE"));
        let p = plan(declared(&b), remote(&b, r), Flags::default());
        assert_eq!(
            p.steps[0].remote.as_ref().unwrap().id_text(),
            marker::pipeline_id("sample", "release")
        );
    }

    #[test]
    fn a_save_blocked_by_a_hand_made_pipeline_of_the_same_name_is_a_conflict() {
        let b = sample();
        let mut r = stored(&b);
        r[0].insert("description".into(), json!("old"));
        marker::stamp(&mut r[0], "teams/sample/value.json");
        r.push(obj(
            json!({"name": "RELEASE", "application": "sample", "id": "hand-made"}),
        ));
        for force in [false, true] {
            let p = plan(
                declared(&b),
                remote(&b, r.clone()),
                flags(true, false, force),
            );
            assert_eq!(p.steps[0].action, Action::Conflict(Conflict::Duplicate));
            assert_eq!(p.steps[1].action, Action::Conflict(Conflict::ForeignCopy));
            assert!(
                p.steps[1].remote.as_ref().unwrap().id_text() == "hand-made",
                "never deleted"
            );
        }
    }

    #[test]
    fn an_orphan_sharing_its_name_with_a_pipeline_that_stays_is_renamed_before_its_delete() {
        let b = sample();
        let mut r = stored(&b);
        let mut old = obj(json!({"name": "old", "application": "sample", "id": "o1"}));
        marker::stamp(&mut old, "teams/sample/value.json");
        r.push(old);
        r.push(obj(
            json!({"name": "OLD", "application": "sample", "id": "h"}),
        ));
        let p = plan(
            declared(&b),
            remote(&b, r.clone()),
            flags(true, false, false),
        );
        assert_eq!(p.steps[2].action, Action::Conflict(Conflict::SharedName));
        assert_eq!(p.steps[2].others, vec!["h"]);
        let p = plan(declared(&b), remote(&b, r), flags(true, false, true));
        assert_eq!(p.steps[2].action, Action::Prune);
        assert!(p.steps[2].rename_first);
    }

    #[test]
    fn application_attribute_changes() {
        let b = sample();
        let mut r = remote(&b, stored(&b));
        r[0].attributes = Some(obj(
            json!({"name": "sample", "email": "old@example.com", "createTs": "1"}),
        ));
        let p = plan(declared(&b), r, Flags::default());
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
        let errors = desired_state(vec![declare(a), declare(b)]).unwrap_err();
        assert_eq!(
            errors,
            vec![
                "teams/other/value.json: application sample is also declared by teams/sample/value.json, with different attributes",
                "teams/other/value.json: pipeline sample/RELEASE is also declared by teams/sample/value.json (Spinnaker compares names case-insensitively)",
            ]
        );
    }

    #[test]
    fn a_pipeline_too_deep_to_read_back_is_refused_and_the_others_are_declared() {
        let mut b = sample();
        let mut deep = json!("bottom");
        for _ in 0..crate::bundle::MAX_DEPTH {
            deep = json!([deep]);
        }
        b.pipelines[1].insert("deep".into(), deep);
        let d = declare(b);
        assert_eq!(
            d.errors,
            vec![
                "teams/sample/value.json: pipeline sample/rollback is nested more than 120 levels deep (objects and arrays within each other)"
            ]
        );
        let names: Vec<&str> = d.pipelines.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, vec!["release"]);
        assert!(desired_state(vec![d]).is_err());
    }
}
