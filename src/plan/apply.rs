//! Carrying out a plan: applications first, then pipelines, a bounded number at a time.
//!
//! Every save carries an id, so sending it again can never create a second pipeline. When a
//! write fails in a way that leaves its outcome unknown (connection dropped, timeout, 5xx,
//! Gate's "did not succeed (status: RUNNING)" 400 after ~32 s), the pipeline is read back
//! first: if the write landed, it is done; otherwise it is sent again, with back-off, within
//! the retry budget.

use crate::gate::retry::{Backoff, human_duration};
use crate::gate::{Client, GateError};
use crate::marker;
use crate::plan::compare::in_sync;
use crate::plan::planner::{Action, AppChange, AppPlan, Plan, Step};
use serde_json::{Map, Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

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
}

impl Report {
    pub fn all_succeeded(&self) -> bool {
        self.apps.iter().all(Result::is_ok)
            && self.steps.iter().all(|o| !matches!(o, Outcome::Failed(_)))
    }
}

/// Executes `plan`. `parallel` bounds the writes in flight; `progress(done, total)` is
/// called after each pipeline write.
pub fn apply(
    client: &Client,
    plan: &Plan,
    parallel: usize,
    progress: &mut dyn FnMut(usize, usize),
) -> Report {
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
    let mut jobs: Vec<usize> = Vec::new();
    for (i, s) in plan.steps.iter().enumerate() {
        let app_missing = plan
            .apps
            .iter()
            .zip(&apps)
            .any(|(a, r)| a.name == s.app && a.change == AppChange::Create && r.is_err());
        steps[i] = match s.action {
            Action::Unchanged => Some(Outcome::Unchanged),
            Action::Conflict(c) => Some(Outcome::Failed(c.explain().to_string())),
            _ if app_missing => Some(Outcome::Failed(format!(
                "not written: application {} could not be created",
                s.app
            ))),
            _ => {
                jobs.push(i);
                None
            }
        };
    }

    let total = jobs.len();
    let mut done = 0;
    bounded(
        &jobs,
        parallel,
        |i| run_step(client, &plan.steps[i]),
        |i, outcome| {
            steps[i] = Some(outcome);
            done += 1;
            progress(done, total);
        },
    );
    Report {
        apps,
        steps: steps
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Outcome::Failed("not attempted".into())))
            .collect(),
    }
}

/// Runs `work(i)` for each index in `jobs` on at most `parallel` threads; `done(i, result)`
/// is called on this thread as results come in.
fn bounded<T: Send>(
    jobs: &[usize],
    parallel: usize,
    work: impl Fn(usize) -> T + Sync,
    mut done: impl FnMut(usize, T),
) {
    if jobs.is_empty() {
        return;
    }
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, T)>();
    std::thread::scope(|scope| {
        for _ in 0..parallel.clamp(1, jobs.len()) {
            let tx = tx.clone();
            let (next, work) = (&next, &work);
            scope.spawn(move || {
                loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&i) = jobs.get(k) else { break };
                    if tx.send((i, work(i))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (i, result) in rx {
            done(i, result);
        }
    });
}

fn run_step(client: &Client, step: &Step) -> Outcome {
    let result = match (step.action, &step.desired) {
        (Action::Create | Action::Update, Some(desired)) => {
            save(client, &step.app, &step.name, desired).map(|()| {
                if step.action == Action::Create {
                    Outcome::Created
                } else {
                    Outcome::Updated
                }
            })
        }
        (Action::Prune, _) => prune(client, step).map(|()| Outcome::Pruned),
        _ => Err("nothing to write".to_string()),
    };
    result.unwrap_or_else(Outcome::Failed)
}

/// Creates or upserts the application and waits for its task.
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
    client.wait_task(&id, &description)
}

/// Saves one pipeline so that Gate ends up holding exactly `desired`.
fn save(
    client: &Client,
    app: &str,
    name: &str,
    desired: &Map<String, Value>,
) -> Result<(), String> {
    let mut backoff = Backoff::new(client.policy());
    loop {
        let err = match client.save_pipeline(desired) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if !(err.is_retryable() || err.is_uncertain()) {
            return Err(explain_save_error(&err));
        }
        // The save may have landed: look before sending it again.
        match client.get_pipeline(app, name) {
            Ok(Some(remote)) if landed(desired, &remote) => {
                client.notice(&format!("{app}/{name}: {err}; read back: the save landed"));
                return Ok(());
            }
            Ok(_) => {}
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

fn landed(desired: &Map<String, Value>, remote: &Map<String, Value>) -> bool {
    remote.get("id") == desired.get("id") && in_sync(desired, remote)
}

fn explain_save_error(e: &GateError) -> String {
    if e.is_duplicate_name() {
        format!("{e} (another pipeline with this name appeared after the plan was made; run again)")
    } else {
        e.to_string()
    }
}

/// Deletes one generated pipeline; re-reads after an uncertain answer, and never deletes
/// a pipeline that lost its marker in the meantime.
fn prune(client: &Client, step: &Step) -> Result<(), String> {
    let (app, name) = (&step.app, &step.name);
    let mut backoff = Backoff::new(client.policy());
    loop {
        let err = match client.delete_pipeline(app, name) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if !(err.is_retryable() || err.is_uncertain()) {
            return Err(err.to_string());
        }
        match client.get_pipeline(app, name) {
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
            Ok(Some(_)) => {}
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
