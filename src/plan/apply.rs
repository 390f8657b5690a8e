//! Carrying out a plan: applications first, then copies that block a save, then
//! pipelines, then prunes, a bounded number at a time; then reading back what was written.
//!
//! Every save carries an id, so sending it again can never create a second pipeline. When a
//! write fails in a way that leaves its outcome unknown (connection dropped, timeout, 5xx,
//! Gate's "did not succeed (status: RUNNING)" 400 after ~32 s, an answer that is not
//! Gate's), the pipeline is read back first: if the write landed, it is done; otherwise it
//! is sent again, with back-off, within the retry budget (an answer that is not Gate's is
//! not sent again: the same proxy would answer).
//!
//! A delete goes by name (Gate has no delete by id), and only for a name that no other
//! pipeline of the application has. A pipeline that shares its name is first saved under a
//! name of its own (by its id, which cannot touch another pipeline), read back under that
//! name, and only then deleted by it.
//!
//! Afterwards every application written to is read again, and each pipeline is checked
//! against what this push meant to leave: another writer may have saved over it (two
//! pushes at once), or a write may have reported success without taking effect.

use crate::gate::retry::{Backoff, human_duration};
use crate::gate::{Client, GateError};
use crate::marker;
use crate::plan::compare::{in_sync, name_key, same_name};
use crate::plan::packed::PackedPipeline;
use crate::plan::parallel::bounded;
use crate::plan::planner::{Action, AppChange, AppPlan, Plan, Step, leftover_name};
use crate::plan::read::{self, ReadOptions, Wanted};
use crate::plan::remote::{Expected, RemoteApp, RemotePipeline};
use serde_json::{Map, Value, json};
use std::collections::{BTreeSet, HashMap, HashSet};

/// What happened to one pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
    Pruned,
    Failed(String),
}

/// Results in plan order: `apps[i]` for `plan.apps[i]`, `steps[i]` for `plan.steps[i]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    pub apps: Vec<Result<(), String>>,
    pub steps: Vec<Outcome>,
    /// Why the read-back after the writes could not be done, if it could not.
    pub unverified: Option<String>,
}

impl Report {
    pub fn all_succeeded(&self) -> bool {
        self.unverified.is_none()
            && self.apps.iter().all(Result::is_ok)
            && self.steps.iter().all(|o| !matches!(o, Outcome::Failed(_)))
    }
}

/// Executes `plan`. `read.parallel` bounds the requests in flight; `progress(done, total)`
/// is called after each pipeline write.
pub fn apply(
    client: &Client,
    plan: &Plan,
    read: &ReadOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Report {
    let parallel = read.parallel;
    // Applications first (their tasks take a while on a real Gate: in parallel too).
    let app_jobs: Vec<usize> = (0..plan.apps.len())
        .filter(|&i| plan.apps[i].change != AppChange::Unchanged)
        .collect();
    let mut apps: Vec<Result<(), String>> = vec![Ok(()); plan.apps.len()];
    bounded(
        &app_jobs,
        parallel,
        |i| upsert_application(client, &plan.apps[i]).map_err(|e| e.to_string()),
        |i, r| apps[i] = r,
    );

    let mut steps: Vec<Option<Outcome>> = vec![None; plan.steps.len()];
    let not_created: HashSet<&str> = plan
        .apps
        .iter()
        .zip(&apps)
        .filter(|(a, r)| a.change == AppChange::Create && r.is_err())
        .map(|(a, _)| a.name.as_str())
        .collect();
    // Copies go before the saves they block, other prunes after the saves.
    let mut phases: [Vec<usize>; 3] = Default::default();
    for (i, s) in plan.steps.iter().enumerate() {
        let app_missing = not_created.contains(s.app.as_str());
        steps[i] = match s.action {
            Action::Unchanged => Some(Outcome::Unchanged),
            Action::Conflict(c) => Some(Outcome::Failed(c.explain(&s.others))),
            _ if app_missing => Some(Outcome::Failed(format!(
                "not written: application {} could not be created",
                s.app
            ))),
            Action::Prune if s.rename_first => {
                phases[0].push(i);
                None
            }
            Action::Prune => {
                phases[2].push(i);
                None
            }
            _ => {
                phases[1].push(i);
                None
            }
        };
    }

    let total = phases.iter().map(Vec::len).sum();
    let mut done = 0;
    for jobs in &phases {
        bounded(
            jobs,
            parallel,
            |i| run_step(client, &plan.steps[i]),
            |i, outcome| {
                steps[i] = Some(outcome);
                done += 1;
                progress(done, total);
            },
        );
    }
    let mut report = Report {
        apps,
        steps: steps
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Outcome::Failed("not attempted".into())))
            .collect(),
        unverified: None,
    };
    // A save blocked by a copy that could not be removed fails like Front50 would make it.
    block_saves_behind_failed_copies(plan, &mut report);
    verify(client, plan, &mut report, read);
    report
}

/// Rewrites the outcome of a save whose name a failed copy removal still blocks: Front50
/// refused it as a duplicate, and the copy's failure is the reason to show.
fn block_saves_behind_failed_copies(plan: &Plan, report: &mut Report) {
    for (i, s) in plan.steps.iter().enumerate() {
        if !s.rename_first {
            continue;
        }
        let Outcome::Failed(why) = report.steps[i].clone() else {
            continue;
        };
        for (j, d) in plan.steps.iter().enumerate() {
            let blocked = d.app == s.app
                && same_name(&d.name, &s.name)
                && matches!(d.action, Action::Create | Action::Update)
                && matches!(report.steps[j], Outcome::Failed(_));
            if blocked {
                report.steps[j] = Outcome::Failed(format!(
                    "not saved: the copy {} (id {}) could not be removed: {why}",
                    s.name,
                    s.remote
                        .as_ref()
                        .map(RemotePipeline::id_text)
                        .unwrap_or_default()
                ));
            }
        }
    }
}

fn run_step(client: &Client, step: &Step) -> Outcome {
    let result = match (step.action, &step.desired) {
        (Action::Update, Some(_)) if let Err(why) = unchanged_since_plan(client, step) => Err(why),
        (Action::Create | Action::Update, Some(desired)) => {
            save(client, &step.app, &step.name, desired).map(|()| {
                if step.action == Action::Create {
                    Outcome::Created
                } else {
                    Outcome::Updated
                }
            })
        }
        (Action::Prune, _) if step.rename_first => {
            rename_and_delete(client, step).map(|()| Outcome::Pruned)
        }
        (Action::Prune, _) => prune(client, step).map(|()| Outcome::Pruned),
        _ => Err("nothing to write".to_string()),
    };
    result.unwrap_or_else(Outcome::Failed)
}

/// Before overwriting a pipeline, reads it again: the plan's drift and ownership checks
/// hold only for the version they saw, and time passes between the plan and the write
/// (a confirmation, other writes). An update is rare, so one read each is cheap. By id in
/// the application's list, which is read fresh (Front50 `refresh=true`) and also finds a
/// name that Gate's by-name read cannot carry (`/`).
fn unchanged_since_plan(client: &Client, step: &Step) -> Result<(), String> {
    let Some(before) = &step.remote else {
        return Ok(());
    };
    let Some(id) = &before.id else { return Ok(()) };
    let list = client
        .list_pipelines(&step.app)
        .map_err(|e| format!("not saved: cannot read it again before overwriting it: {e}"))?;
    let now = list
        .into_iter()
        .find(|p| p.get("id") == Some(id))
        .map(RemotePipeline::from_map);
    match now {
        Some(now) if same_version(before, &now) => Ok(()),
        Some(now) => Err(format!(
            "not saved: changed in Spinnaker after the plan was made{}; run kujira-gen diff and push again",
            who(&now)
        )),
        None => Err(
            "not saved: deleted in Spinnaker after the plan was made; push again to create it"
                .into(),
        ),
    }
}

/// Creates or upserts the application and waits for its task, all within one retry
/// budget.
fn upsert_application(client: &Client, app: &AppPlan) -> Result<(), GateError> {
    let email_missing = app
        .attributes
        .get("email")
        .and_then(Value::as_str)
        .is_none_or(|e| e.trim().is_empty());
    if email_missing {
        return Err(GateError::Config(format!(
            "application {} has no email, which Spinnaker requires",
            app.name
        )));
    }
    let verb = if app.change == AppChange::Create {
        "Create"
    } else {
        "Update"
    };
    let description = format!("{verb} Application: {}", app.name);
    let task = json!({
        "application": app.name,
        "description": description,
        "job": [{"type": "createApplication", "application": Value::Object(app.attributes.clone())}],
    });
    // Creating an application is an upsert: sending it twice does no harm.
    let mut backoff = Backoff::new(client.policy());
    let id = loop {
        match client.submit_task(&task) {
            Ok(id) => break id,
            Err(e) if e.is_retryable() => match backoff.next_delay(e.retry_after()) {
                Some(d) => {
                    client.notice(&format!("{e}; retrying in {}", human_duration(d)));
                    std::thread::sleep(d);
                }
                None => return Err(e),
            },
            Err(e) => return Err(e),
        }
    };
    client.wait_task(&id, &description, backoff.deadline())
}

/// Saves one pipeline so that Gate ends up holding exactly `desired`.
fn save(client: &Client, app: &str, name: &str, desired: &PackedPipeline) -> Result<(), String> {
    let mut backoff = Backoff::new(client.policy());
    loop {
        let err = match client.save_pipeline_json(desired.text()) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        let not_gates = matches!(err, GateError::BadBody { .. });
        if !(err.is_retryable() || err.is_uncertain() || not_gates) {
            return Err(explain_save_error(&err));
        }
        // The save may have landed: look before sending it again. One attempt: this
        // loop retries as a whole, and sending the save again is harmless.
        match client.get_pipeline_once_by_name(app, name) {
            Ok(Some(remote)) if landed(desired, &remote) => {
                client.notice(&format!("{app}/{name}: {err}; read back: the save landed"));
                return Ok(());
            }
            Ok(_) if not_gates => {
                return Err(format!("{err}; read back: the pipeline was not saved"));
            }
            Ok(_) => {}
            Err(read) if not_gates => {
                return Err(format!(
                    "{err}; and the read-back failed too, so whether it was saved is unknown: {read}"
                ));
            }
            Err(read) => client.notice(&format!(
                "{app}/{name}: cannot check whether the save landed: {read}"
            )),
        }
        wait_before_retry(
            client,
            &mut backoff,
            &err,
            &format!("{app}/{name}"),
            "saving",
        )?;
    }
}

/// Sleeps for the next back-off (saying why), or gives up when the retry budget is spent.
fn wait_before_retry(
    client: &Client,
    backoff: &mut Backoff,
    err: &GateError,
    what: &str,
    doing: &str,
) -> Result<(), String> {
    match backoff.next_delay(err.retry_after()) {
        Some(d) => {
            client.notice(&format!(
                "{what}: {err}; {doing} again in {}",
                human_duration(d)
            ));
            std::thread::sleep(d);
            Ok(())
        }
        None => Err(format!(
            "{err} (gave up after {} attempts in {})",
            backoff.attempts(),
            human_duration(backoff.elapsed())
        )),
    }
}

fn landed(desired: &PackedPipeline, remote: &Map<String, Value>) -> bool {
    remote.get("id") == desired.id() && in_sync(&desired.unpack(), remote)
}

fn explain_save_error(e: &GateError) -> String {
    if e.is_duplicate_name() {
        format!("{e} (another pipeline with this name appeared after the plan was made; run again)")
    } else {
        e.to_string()
    }
}

/// Deletes one generated pipeline by its name, which no other pipeline of the application
/// has; re-reads after an uncertain answer, and never deletes a pipeline that lost its
/// marker in the meantime.
fn prune(client: &Client, step: &Step) -> Result<(), String> {
    delete_by_name(client, &step.app, &step.name, None)
}

/// `DELETE /pipelines/{app}/{name}`, retried after an uncertain answer once a read-back
/// shows that the pipeline is still there (and still generated, and, when `id` is given,
/// still that pipeline).
fn delete_by_name(
    client: &Client,
    app: &str,
    name: &str,
    id: Option<&Value>,
) -> Result<(), String> {
    let mut backoff = Backoff::new(client.policy());
    loop {
        let err = match client.delete_pipeline(app, name) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        let not_gates = matches!(err, GateError::BadBody { .. });
        if !(err.is_retryable() || err.is_uncertain() || not_gates) {
            return Err(err.to_string());
        }
        match client.get_pipeline_once_by_name(app, name) {
            Ok(None) => {
                client.notice(&format!(
                    "{app}/{name}: {err}; read back: the delete landed"
                ));
                return Ok(());
            }
            Ok(Some(p)) if !marker::is_generated(&p) => {
                return Err(format!(
                    "{err}; meanwhile a pipeline not created by kujira-gen has this name, so it was left alone"
                ));
            }
            Ok(Some(p)) if id.is_some_and(|id| p.get("id") != Some(id)) => {
                return Err(format!(
                    "{err}; meanwhile another pipeline has this name, so it was left alone"
                ));
            }
            Ok(Some(_)) if not_gates => {
                return Err(format!("{err}; read back: the pipeline was not deleted"));
            }
            Ok(Some(_)) => {}
            Err(read) if not_gates => {
                return Err(format!(
                    "{err}; and the read-back failed too, so whether it was deleted is unknown: {read}"
                ));
            }
            Err(read) => client.notice(&format!(
                "{app}/{name}: cannot check whether the delete landed: {read}"
            )),
        }
        wait_before_retry(
            client,
            &mut backoff,
            &err,
            &format!("{app}/{name}"),
            "deleting",
        )?;
    }
}

/// Deletes a pipeline that shares its name with another: saves it (by its id) under a
/// name no pipeline has, reads it back under that name, and deletes it by that name.
/// Gate's only delete goes by name and takes the first match, so this is the one way to
/// delete it that cannot reach the other pipeline.
fn rename_and_delete(client: &Client, step: &Step) -> Result<(), String> {
    let app = &step.app;
    let Some(id) = step.remote.as_ref().and_then(|r| r.id.clone()) else {
        return Err(
            "it has no id, so it cannot be told apart from the other; delete it in Spinnaker"
                .into(),
        );
    };
    let id_text = step
        .remote
        .as_ref()
        .map(RemotePipeline::id_text)
        .unwrap_or_default();
    // The full pipeline, by id, as it is now.
    let list = client.list_pipelines(app).map_err(|e| e.to_string())?;
    let Some(mut pipeline) = list.iter().find(|p| p.get("id") == Some(&id)).cloned() else {
        client.notice(&format!(
            "{app}/{}: the pipeline with id {id_text} is gone already",
            step.name
        ));
        return Ok(());
    };
    if !marker::is_generated(&pipeline) {
        return Err(format!(
            "the pipeline with id {id_text} is no longer one kujira-gen created; left alone"
        ));
    }
    let taken: BTreeSet<String> = list
        .iter()
        .filter_map(|p| p.get("name").and_then(Value::as_str))
        .map(name_key)
        .collect();
    let mut temporary = leftover_name(&step.name, &id_text, 1);
    let mut n = 2;
    while taken.contains(&name_key(&temporary)) {
        temporary = leftover_name(&step.name, &id_text, n);
        n += 1;
    }
    pipeline.insert("name".into(), Value::String(temporary.clone()));
    // Should the delete never come (the process killed in between), the renamed copy
    // must not run: its triggers would fire under the temporary name. The next push
    // finds it by that name and deletes it.
    pipeline.insert("disabled".into(), Value::Bool(true));
    let pipeline = PackedPipeline::pack(&pipeline)
        .map_err(|why| format!("the pipeline with id {id_text} {why}; left alone"))?;
    save(client, app, &temporary, &pipeline)
        .map_err(|e| format!("renaming it to \"{temporary}\" before deleting it failed: {e}"))?;
    match client.get_pipeline(app, &temporary) {
        Ok(Some(p)) if p.get("id") == Some(&id) => {}
        Ok(_) => {
            return Err(format!(
                "after renaming it to \"{temporary}\", that name does not lead to id {id_text}; nothing was deleted"
            ));
        }
        Err(e) => {
            return Err(format!(
                "after renaming it to \"{temporary}\", it cannot be read back ({e}); nothing was deleted"
            ));
        }
    }
    delete_by_name(client, app, &temporary, Some(&id))
        .map_err(|e| format!("renamed to \"{temporary}\", but deleting it failed: {e}"))
}

/// Reads back every application written to and checks each of its pipelines against what
/// this push meant to leave; a difference turns the step's outcome into a failure.
fn verify(client: &Client, plan: &Plan, report: &mut Report, read: &ReadOptions) {
    let written: BTreeSet<String> = plan
        .steps
        .iter()
        .zip(&report.steps)
        .filter(|(_, o)| matches!(o, Outcome::Created | Outcome::Updated | Outcome::Pruned))
        .map(|(s, _)| s.app.to_lowercase())
        .collect();
    if written.is_empty() {
        return;
    }
    // The read-back compares digests and ids only: no body is needed.
    let mut expected = Expected::default().without_bodies();
    let mut wanted: Vec<Wanted> = Vec::new();
    let mut slot: HashMap<String, usize> = HashMap::new();
    for s in &plan.steps {
        let key = s.app.to_lowercase();
        if !written.contains(&key) {
            continue;
        }
        if let (Some(d), Some(digest)) = (&s.desired, &s.digest) {
            expected.insert(&s.app, &s.name, d.marker().cloned(), digest.clone());
        }
        let i = *slot.entry(key).or_insert_with(|| {
            wanted.push(Wanted {
                app: s.app.clone(),
                pipelines: Vec::new(),
            });
            wanted.len() - 1
        });
        if s.desired.is_some() {
            wanted[i].pipelines.push(s.name.clone());
        }
    }
    let remote = match read::pipelines(client, &wanted, &expected, read) {
        Ok(r) => r,
        Err(e) => {
            report.unverified = Some(format!(
                "the pipelines written could not be read back, so whether they are as pushed is unknown: {e}"
            ));
            return;
        }
    };
    let mut failures = judge(plan, &report.steps, &remote);
    if read.bulk_limit > 0 && !failures.is_empty() {
        // The bulk list may be older than the writes (Front50 serves it from a cache):
        // read the applications concerned on their own before saying what Spinnaker holds.
        let stale: BTreeSet<String> = failures
            .iter()
            .map(|(i, _)| plan.steps[*i].app.to_lowercase())
            .collect();
        let again: Vec<Wanted> = wanted
            .into_iter()
            .filter(|w| stale.contains(&w.app.to_lowercase()))
            .collect();
        let fresh = ReadOptions {
            bulk_limit: 0,
            ..*read
        };
        match read::pipelines(client, &again, &expected, &fresh) {
            Ok(r) => failures = judge(plan, &report.steps, &r),
            Err(e) => {
                report.unverified = Some(format!(
                    "the pipelines written could not be read back, so whether they are as pushed is unknown: {e}"
                ));
                return;
            }
        }
    }
    for (i, why) in failures {
        report.steps[i] = Outcome::Failed(why);
    }
}

/// The steps of the applications in `remote` whose pipeline is not what this push meant to
/// leave, with what was observed.
fn judge(plan: &Plan, outcomes: &[Outcome], remote: &[RemoteApp]) -> Vec<(usize, String)> {
    let by_name: HashMap<String, &RemoteApp> =
        remote.iter().map(|r| (r.name.to_lowercase(), r)).collect();
    let mut out = Vec::new();
    for (i, (s, outcome)) in plan.steps.iter().zip(outcomes).enumerate() {
        let Some(app) = by_name.get(&s.app.to_lowercase()) else {
            continue;
        };
        let by_id = |id: &Value| app.pipelines.iter().find(|p| p.id.as_ref() == Some(id));
        match outcome {
            Outcome::Created | Outcome::Updated | Outcome::Unchanged => {
                let (Some(d), Some(digest)) = (&s.desired, &s.digest) else {
                    continue;
                };
                let Some(id) = d.id() else { continue };
                let written = !matches!(outcome, Outcome::Unchanged);
                let verb = if written {
                    "was written"
                } else {
                    "was in sync"
                };
                let before = s.remote.as_ref();
                match by_id(id) {
                    None if written && before.is_none() => out.push((
                        i,
                        format!(
                            "was written (Gate answered the save), but no pipeline with its id ({}) is in Spinnaker when read back: the save did not take effect, or the pipeline was deleted since",
                            id_of(id)
                        ),
                    )),
                    None => out.push((
                        i,
                        format!(
                            "{verb}, but no pipeline with its id ({}) is in Spinnaker when read back: it was deleted meanwhile (by another writer?)",
                            id_of(id)
                        ),
                    )),
                    Some(p) if p.matches(d.marker(), digest) => {}
                    Some(p) if written && before.is_some_and(|b| same_version(b, p)) => out.push((
                        i,
                        format!(
                            "was written (Gate answered the save), but Spinnaker still holds the version from before the push when read back{}: the save did not take effect; push again",
                            who(p)
                        ),
                    )),
                    Some(p) => out.push((
                        i,
                        format!(
                            "{verb}, but Spinnaker holds another version when read back{}: another writer saved it meanwhile (a concurrent push?); run kujira-gen diff",
                            who(p)
                        ),
                    )),
                }
            }
            Outcome::Pruned => {
                let id = s.remote.as_ref().and_then(|r| r.id.as_ref());
                if let Some(p) = id.and_then(by_id) {
                    out.push((
                        i,
                        format!(
                            "was deleted, but is in Spinnaker again when read back{}",
                            who(p)
                        ),
                    ));
                }
            }
            Outcome::Failed(_) => {}
        }
    }
    out
}

/// The same stored version: content, marker and Front50's `updateTs`.
fn same_version(a: &RemotePipeline, b: &RemotePipeline) -> bool {
    a.matches(b.marker.as_ref(), &b.digest) && a.update_ts == b.update_ts
}

fn id_of(id: &Value) -> String {
    match id {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// ` (last changed by X at T)`, when Gate says.
fn who(p: &RemotePipeline) -> String {
    match (&p.last_modified_by, &p.update_ts) {
        (Some(by), Some(ts)) => format!(" (last changed by {by}, updateTs {ts})"),
        (Some(by), None) => format!(" (last changed by {by})"),
        _ => String::new(),
    }
}
