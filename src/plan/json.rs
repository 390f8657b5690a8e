//! `diff --format json` and `push --format json`: the plan (and what a push did) as one
//! JSON document, for CI. The shape is documented in docs/diff-and-push.md ("Machine
//! output") and stays stable: fields are added, never renamed or removed, within
//! `"version": 1`.

use crate::plan::apply::{Outcome, Report};
use crate::plan::compare::{changed_paths, normalised};
use crate::plan::planner::{Action, AppChange, AppPlan, Conflict, Plan, Step};
use crate::plan::remote::RemotePipeline;
use serde_json::{Map, Value, json};

pub const VERSION: u64 = 1;

/// The document `diff --format json` prints.
pub fn diff(plan: &Plan, endpoint: &str) -> Value {
    document("diff", plan, endpoint, None, false)
}

/// The document `push --format json` prints: the plan, and what was done unless nothing
/// was attempted (`report` is `None` after a dry run, a declined confirmation, or when
/// there was nothing to write).
pub fn push(plan: &Plan, endpoint: &str, report: Option<&Report>, dry_run: bool) -> Value {
    document("push", plan, endpoint, report, dry_run)
}

fn document(
    command: &str,
    plan: &Plan,
    endpoint: &str,
    report: Option<&Report>,
    dry_run: bool,
) -> Value {
    let c = plan.counts();
    let mut doc = json!({
        "version": VERSION,
        "command": command,
        "gate": endpoint,
        "inSync": match report {
            Some(r) => r.all_succeeded(),
            None => !plan.has_differences(),
        },
        "summary": {
            "applications": {"create": c.app_create, "update": c.app_update},
            "pipelines": {
                "create": c.create, "update": c.update, "unchanged": c.unchanged,
                "prune": c.prune, "conflict": c.conflict,
            },
        },
        "applications": plan.apps.iter().enumerate()
            .map(|(i, a)| application(a, report.and_then(|r| r.apps.get(i))))
            .collect::<Vec<_>>(),
        "pipelines": plan.steps.iter().enumerate()
            .map(|(i, s)| pipeline(s, report.and_then(|r| r.steps.get(i))))
            .collect::<Vec<_>>(),
        "orphans": plan.orphans.iter()
            .map(|o| json!({"application": o.app, "pipeline": o.name, "source": o.source}))
            .collect::<Vec<_>>(),
        "unreadable": plan.unreadable.iter()
            .map(|(app, why)| json!({"application": app, "error": why}))
            .collect::<Vec<_>>(),
    });
    if !plan.unreadable.is_empty()
        && let Value::Object(m) = &mut doc
    {
        m.insert("inSync".into(), json!(false));
    }
    if let (Some(found), Value::Object(m)) = (&plan.undeclared, &mut doc) {
        m.insert(
            "undeclared".into(),
            found
                .iter()
                .map(|o| json!({"application": o.app, "pipeline": o.name, "source": o.source}))
                .collect(),
        );
    }
    if command == "push"
        && let Value::Object(m) = &mut doc
    {
        m.insert("dryRun".into(), json!(dry_run));
        m.insert("pushed".into(), report.map_or(Value::Null, pushed));
        m.insert(
            "unverified".into(),
            json!(report.and_then(|r| r.unverified.clone())),
        );
    }
    doc
}

fn pushed(r: &Report) -> Value {
    let count = |f: fn(&Outcome) -> bool| r.steps.iter().filter(|o| f(o)).count();
    json!({
        "created": count(|o| *o == Outcome::Created),
        "updated": count(|o| *o == Outcome::Updated),
        "unchanged": count(|o| *o == Outcome::Unchanged),
        "pruned": count(|o| *o == Outcome::Pruned),
        "failed": count(|o| matches!(o, Outcome::Failed(_))),
        "applicationsFailed": r.apps.iter().filter(|a| a.is_err()).count(),
    })
}

fn application(a: &AppPlan, result: Option<&Result<(), String>>) -> Value {
    let (action, reason, paths) = match &a.change {
        AppChange::Create => (
            "create",
            "not in Spinnaker".to_string(),
            vec![String::new()],
        ),
        AppChange::Update(keys) => (
            "update",
            format!("declared attributes differ: {}", keys.join(", ")),
            keys.iter().map(|k| pointer(k)).collect(),
        ),
        AppChange::Unchanged => ("unchanged", "as declared".to_string(), Vec::new()),
    };
    let mut m = Map::new();
    m.insert("application".into(), json!(a.name));
    m.insert("action".into(), json!(action));
    m.insert("reason".into(), json!(reason));
    m.insert("changedPaths".into(), json!(paths));
    if let Some(r) = result {
        let (result, error) = match (r, &a.change) {
            (_, AppChange::Unchanged) => ("unchanged", None),
            (Ok(()), AppChange::Create) => ("created", None),
            (Ok(()), AppChange::Update(_)) => ("updated", None),
            (Err(e), _) => ("failed", Some(e.clone())),
        };
        m.insert("result".into(), json!(result));
        m.insert("error".into(), json!(error));
    }
    Value::Object(m)
}

fn pipeline(s: &Step, outcome: Option<&Outcome>) -> Value {
    let (action, conflict, reason) = match s.action {
        Action::Create => ("create", None, "not in Spinnaker".to_string()),
        Action::Update => ("update", None, "differs from the declaration".to_string()),
        Action::Unchanged => ("unchanged", None, "as declared".to_string()),
        Action::Prune if s.rename_first => ("prune", None, s.notes.join("; ")),
        Action::Prune => (
            "prune",
            None,
            format!(
                "generated from {}, no longer declared",
                s.source.as_deref().unwrap_or("an unknown source")
            ),
        ),
        Action::Conflict(c) => ("conflict", Some(c.code()), c.explain(&s.others)),
    };
    let mut m = Map::new();
    m.insert("application".into(), json!(s.app));
    m.insert("pipeline".into(), json!(s.name));
    m.insert("id".into(), json!(s.id()));
    m.insert(
        "remoteId".into(),
        json!(s.remote.as_ref().map(RemotePipeline::id_text)),
    );
    m.insert("source".into(), json!(s.source));
    m.insert("action".into(), json!(action));
    m.insert("conflict".into(), json!(conflict));
    m.insert("reason".into(), json!(reason));
    m.insert("notes".into(), json!(s.notes));
    m.insert("others".into(), json!(s.others));
    m.insert("changedPaths".into(), json!(paths(s)));
    if let Some(o) = outcome {
        let (result, error) = match o {
            Outcome::Created => ("created", None),
            Outcome::Updated => ("updated", None),
            Outcome::Unchanged => ("unchanged", None),
            Outcome::Pruned => ("pruned", None),
            Outcome::Failed(e) => ("failed", Some(e.clone())),
        };
        m.insert("result".into(), json!(result));
        m.insert("error".into(), json!(error));
    }
    Value::Object(m)
}

/// What a push would change in the pipeline, as JSON Pointers into it: `""` (all of it)
/// for a pipeline created or deleted, none when nothing would be written.
fn paths(s: &Step) -> Vec<String> {
    let remote = s.remote.as_ref().and_then(RemotePipeline::body);
    match (s.action, &s.desired, remote) {
        (Action::Unchanged, _, _) => Vec::new(),
        (Action::Create, _, _)
        | (Action::Prune, _, _)
        | (Action::Conflict(Conflict::DriftedOrphan | Conflict::SharedName), _, _) => {
            vec![String::new()]
        }
        (_, Some(d), Some(r)) => {
            let mut out = changed_paths(&normalised(&r), &normalised(&d.unpack()));
            if d.marker() != crate::marker::marker_of(&r) {
                out.push(pointer(crate::marker::MARKER_KEY));
            }
            out
        }
        (Action::Conflict(_), None, _) => Vec::new(),
        _ => vec![String::new()],
    }
}

fn pointer(key: &str) -> String {
    format!("/{}", key.replace('~', "~0").replace('/', "~1"))
}
