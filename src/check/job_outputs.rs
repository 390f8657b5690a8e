//! Values that expressions read from Run Job stages, checked against what the jobs print
//! and what Clouddriver and Orca make of it (`upstream::property_parser`,
//! docs/spinnaker-rules.md "Job outputs"):
//! - Orca reads properties from a job's log only with `propertyFile` naming one of the
//!   Job's containers;
//! - Clouddriver lower-cases every `SPINNAKER_PROPERTY_` key, so `['NEW_REVISION']` reads
//!   null: a condition on it is simply false, and the stages it guards never run;
//! - when the job fails, Orca has stored the properties in the stage's `context` but not
//!   in its `outputs` (`WaitOnJobCompletion` fails before returning them as outputs). A
//!   read of `outputs` that can be evaluated after such a failure is an error: the
//!   condition is written for that case and silently never holds in it (issue 18). Where
//!   the reader cannot run after the failure (it runs before the job, or the failure
//!   stops every stage after it) the read is only a warning.

use super::Report;
use super::stage_refs::{self, RefKind};
use super::view::{PipelineView, StageView, Step, path_of, quote, visit_strings};
use crate::upstream::property_parser::{self, PrintedKeys};
use serde_json::Value;
use std::collections::HashSet;
use std::ops::ControlFlow;

/// Keys Orca itself puts into a Run Job stage's outputs (WaitOnJobCompletion,
/// PromoteManifestKatoOutputsTask).
const ORCA_OUTPUT_KEYS: &[&str] = &[
    "jobStatus",
    "completionDetails",
    "propertyFileContents",
    "outputs.manifests",
    "outputs.manifestNamesByNamespace",
    "outputs.boundArtifacts",
    "outputs.createdArtifacts",
    "artifacts",
];

/// What a Run Job stage reports.
struct Producer<'a> {
    stage: &'a StageView<'a>,
    /// Index into `view.stages`.
    index: usize,
    /// The container `propertyFile` names, when it names one of the Job's.
    reads_log: bool,
    printed: PrintedKeys,
    continues_on_failure: bool,
    /// Its failure ends it FAILED_CONTINUE (`continuePipeline`), so the stages after it
    /// still start; `failPipeline: false` alone ends it STOPPED, and they never start
    /// (Orca `Stage.kt` `failureStatus`, `allUpstreamStagesComplete`).
    descendants_run_after_failure: bool,
}

/// Where a string that reads a job's output is evaluated.
#[derive(Clone, Copy)]
enum Reader {
    /// A stage's field (index into `view.stages`); `notifications` when it is in the
    /// stage's notifications, which Orca evaluates when the stage ends.
    Stage { index: usize, notifications: bool },
    /// The pipeline's `notifications`: evaluated when the execution ends
    /// (EchoNotifyingExecutionListener), after every stage.
    PipelineEnd,
    /// Any other pipeline-level field (triggers, expected artifacts, parameters): evaluated
    /// when the execution starts, before any job ran.
    PipelineStart,
}

pub fn check(view: &PipelineView, report: &mut Report) {
    let producers: Vec<Producer> = view
        .stages
        .iter()
        .enumerate()
        .filter(|(_, s)| s.stage_type() == Some("runJobManifest"))
        .map(|(i, s)| producer(i, s, report))
        .collect();
    if producers.is_empty() {
        return;
    }
    let graph = Graph::new(view);
    for (k, v) in view.pipeline {
        let _ = visit_strings(v, &mut |steps, text| {
            if text.contains("#stage") {
                let at = || path_of(&super::path::key(&view.path, k), steps);
                let reader = reader_of(view, k, steps);
                check_text(view, &producers, &graph, reader, text, at, report);
            }
            ControlFlow::Continue(())
        });
    }
}

/// The stage (or pipeline-level place) a string at `k` + `steps` belongs to.
fn reader_of(view: &PipelineView, k: &str, steps: &[Step]) -> Reader {
    if k != "stages" {
        return if k == "notifications" {
            Reader::PipelineEnd
        } else {
            Reader::PipelineStart
        };
    }
    let Some(Step::Index(j)) = steps.first() else {
        return Reader::PipelineStart;
    };
    let stage = view
        .pipeline
        .get("stages")
        .and_then(|s| s.get(*j))
        .and_then(Value::as_object);
    let index = stage.and_then(|stage| {
        view.stages
            .iter()
            .position(|s| std::ptr::eq(s.stage, stage))
    });
    match index {
        Some(index) => Reader::Stage {
            index,
            notifications: matches!(steps.get(1), Some(Step::Key("notifications"))),
        },
        None => Reader::PipelineStart,
    }
}

/// The stages each stage waits for (`requisiteStageRefIds`), as indexes into
/// `view.stages`; unknown refIds are graph.rs's to report.
struct Graph {
    waits_for: Vec<Vec<usize>>,
}

impl Graph {
    fn new(view: &PipelineView) -> Self {
        let waits_for = view
            .stages
            .iter()
            .map(|s| {
                s.stage
                    .get("requisiteStageRefIds")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .filter_map(|r| view.stages.iter().position(|t| t.ref_id() == Some(r)))
                    .collect()
            })
            .collect();
        Graph { waits_for }
    }

    /// Every stage `of` waits for, directly or through others (cycles tolerated).
    fn upstream(&self, of: usize) -> HashSet<usize> {
        let mut seen = HashSet::new();
        let mut todo = vec![of];
        while let Some(i) = todo.pop() {
            for &p in self.waits_for.get(i).into_iter().flatten() {
                if seen.insert(p) {
                    todo.push(p);
                }
            }
        }
        seen
    }

    /// Whether `reader` can be evaluated after the job of `p` failed.
    fn runs_after_failure(&self, p: &Producer, reader: Reader) -> bool {
        match reader {
            Reader::PipelineEnd => true,
            Reader::PipelineStart => false,
            Reader::Stage {
                index,
                notifications,
            } if index == p.index => notifications,
            Reader::Stage { index, .. } => {
                if self.upstream(p.index).contains(&index) {
                    // It ended before the job started.
                    false
                } else if self.upstream(index).contains(&p.index) {
                    p.descendants_run_after_failure
                } else {
                    // A parallel branch: it may start at any time, after the failure too.
                    true
                }
            }
        }
    }
}

/// The reads of job outputs in one string of the pipeline, at `at`.
fn check_text(
    view: &PipelineView,
    producers: &[Producer],
    graph: &Graph,
    reader: Reader,
    text: &str,
    at: impl Fn() -> String,
    report: &mut Report,
) {
    for r in stage_refs::parse(text) {
        let target = match r.kind {
            RefKind::Stage => view.stage_named(&r.arg),
            RefKind::ByRefId => view.stage_with_ref_id(&r.arg),
            RefKind::Judgment => None,
        };
        let Some(target) = target else { continue };
        let Some(p) = producers.iter().find(|p| std::ptr::eq(p.stage, target)) else {
            continue;
        };
        // `r.text` is a slice of `text`.
        let end = r.text.as_ptr() as usize - text.as_ptr() as usize + r.text.len();
        let after = &text[end..];
        if let Some((map, key)) = accessors(after) {
            let after_failure = p.continues_on_failure && graph.runs_after_failure(p, reader);
            check_read(p, r.text, &map, &key, after_failure, &at(), report);
        }
    }
}

fn producer<'a>(index: usize, stage: &'a StageView<'a>, report: &mut Report) -> Producer<'a> {
    let descendants_run_after_failure =
        stage.stage.get("continuePipeline") == Some(&Value::Bool(true));
    let continues_on_failure = descendants_run_after_failure
        || stage.stage.get("failPipeline") == Some(&Value::Bool(false));
    let Some(container) = stage.str_field("propertyFile") else {
        return Producer {
            stage,
            index,
            descendants_run_after_failure,
            reads_log: false,
            printed: PrintedKeys::default(),
            continues_on_failure,
        };
    };
    let pod_spec = stage
        .stage
        .get("manifest")
        .and_then(|m| m.pointer("/spec/template/spec"));
    let found = ["containers", "initContainers"].iter().find_map(|list| {
        pod_spec
            .and_then(|s| s.get(*list))
            .and_then(Value::as_array)
            .and_then(|cs| {
                cs.iter()
                    .find(|c| c.get("name").and_then(Value::as_str) == Some(container))
            })
    });
    let Some(found) = found else {
        // A manifest from an artifact is only known at run time; a manifest that is not a
        // Job with containers is runjob.rs's to report.
        let has_containers = pod_spec
            .and_then(|s| s.get("containers"))
            .is_some_and(Value::is_array);
        if stage.str_field("source") != Some("artifact") && has_containers {
            report.error(
                stage.field_path("propertyFile"),
                format!(
                    "`propertyFile` names container {}, but the Job has no container of that name: Orca would read no properties",
                    quote(container)
                ),
            );
        }
        return Producer {
            stage,
            index,
            descendants_run_after_failure,
            reads_log: false,
            printed: PrintedKeys {
                keys: Vec::new(),
                dynamic: true,
            },
            continues_on_failure,
        };
    };
    let mut text = String::new();
    for key in ["command", "args"] {
        if let Some(Value::Array(items)) = found.get(key) {
            for s in items.iter().filter_map(Value::as_str) {
                text.push_str(s);
                text.push('\n');
            }
        }
    }
    Producer {
        stage,
        index,
        descendants_run_after_failure,
        reads_log: true,
        printed: property_parser::printed_keys(&text),
        continues_on_failure,
    }
}

/// `['outputs']['key']`, `.outputs.key`, `?.context['key']`... right after a stage
/// reference: the map read (`outputs` or `context`) and the key.
fn accessors(after: &str) -> Option<(String, String)> {
    let (first, rest) = accessor(after)?;
    if first != "outputs" && first != "context" {
        return None;
    }
    let (key, _) = accessor(rest)?;
    Some((first, key))
}

fn accessor(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start();
    let s = s.strip_prefix('?').unwrap_or(s);
    if let Some(rest) = s.strip_prefix('.') {
        let rest = rest.trim_start();
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end == 0 {
            return None;
        }
        return Some((rest[..end].to_string(), &rest[end..]));
    }
    let rest = s.strip_prefix('[')?.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let body = &rest[1..];
    let close = body.find(quote)?;
    let after = body[close + 1..].trim_start().strip_prefix(']')?;
    Some((body[..close].to_string(), after))
}

/// `after_failure`: the reader can be evaluated after the job of `p` failed and the
/// pipeline went on.
fn check_read(
    p: &Producer,
    reference: &str,
    map: &str,
    key: &str,
    after_failure: bool,
    at: &str,
    report: &mut Report,
) {
    let stage = p.stage.label();
    let read = format!("{reference}['{map}']['{key}']");
    if map == "outputs" && ORCA_OUTPUT_KEYS.contains(&key) {
        return;
    }
    if !p.reads_log {
        if map == "outputs" && !p.printed.dynamic {
            report.error(
                at,
                format!(
                    "`{read}`: stage {stage} has no `propertyFile`, so Orca reads no properties from its job's log"
                ),
            );
        }
        return;
    }
    let stored: Vec<String> = p
        .printed
        .keys
        .iter()
        .map(|k| property_parser::stored_key(k))
        .collect();
    if stored.iter().any(|k| k == key) {
        if map == "outputs" && after_failure {
            report.error(
                at,
                format!(
                    "`{read}` is null whenever the job of stage {stage} fails: Orca then keeps its properties in the stage's context only (WaitOnJobCompletion fails before returning outputs), and this can be evaluated after that failure, since the stage continues on failure; read ['context']['{key}'], which holds them after a success and a failure alike"
                ),
            );
        } else if map == "outputs" && p.continues_on_failure {
            report.warning(
                at,
                format!(
                    "`{read}`: when the job of stage {stage} fails, Orca keeps its properties in the stage's context only (WaitOnJobCompletion fails before returning outputs); read ['context']['{key}'] to see them after a failure too"
                ),
            );
        }
        return;
    }
    if let Some(printed) = p
        .printed
        .keys
        .iter()
        .find(|k| property_parser::stored_key(k) == key.to_lowercase())
    {
        report.error(
            at,
            format!(
                "`{read}` is always null: the job of stage {stage} prints {}{printed}=..., which Clouddriver stores as `{}` (it lower-cases property keys); read ['{map}']['{}']",
                property_parser::PROPERTY_PREFIX,
                property_parser::stored_key(printed),
                property_parser::stored_key(printed),
            ),
        );
        return;
    }
    if map == "outputs" && !p.printed.dynamic {
        let known = if stored.is_empty() {
            "it prints no properties".to_string()
        } else {
            format!("it prints {}", stored.join(", "))
        };
        report.error(
            at,
            format!(
                "`{read}` is always null: the job of stage {stage} never prints {}{key}=... ({known})",
                property_parser::PROPERTY_PREFIX
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessor_chains() {
        assert_eq!(
            accessors("['outputs']['new_revision'] == 'true'"),
            Some(("outputs".into(), "new_revision".into()))
        );
        assert_eq!(
            accessors(" .context.stable_hash"),
            Some(("context".into(), "stable_hash".into()))
        );
        assert_eq!(
            accessors("?.outputs[\"X\"]"),
            Some(("outputs".into(), "X".into()))
        );
        assert_eq!(accessors("['status'].toString()"), None);
        assert_eq!(accessors("['outputs']"), None);
    }
}

#[cfg(test)]
mod after_failure_tests {
    use super::super::fixture::{check_json, variant};
    use serde_json::{Value, json};

    const READ: &str = "#stage('Wait for preview')['outputs']['nothing_new'] == 'false'";

    fn enabled() -> Value {
        json!({"type": "expression", "expression": READ})
    }

    /// The diagnostics mentioning the read, as (severity, path) pairs.
    fn reads(changes: &[(&str, Option<Value>)]) -> Vec<(String, String)> {
        let out = check_json(variant(changes));
        out.lines()
            .filter(|l| l.contains("['outputs']['nothing_new']"))
            .map(|l| {
                let mut parts = l.splitn(4, ": ");
                let _file = parts.next();
                (
                    parts.next().unwrap_or_default().to_string(),
                    parts.next().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    fn pair(severity: &str, path: &str) -> (String, String) {
        (severity.to_string(), path.to_string())
    }

    #[test]
    fn a_later_stage_of_a_job_that_continues_on_failure_is_an_error() {
        let got = reads(&[
            ("/pipelines/0/stages/1/continuePipeline", Some(json!(true))),
            ("/pipelines/0/stages/1/failPipeline", Some(json!(false))),
            ("/pipelines/0/stages/4/stageEnabled", Some(enabled())),
        ]);
        // The fixture's Scenario test (stage 2) reads it too.
        assert_eq!(
            got,
            [
                pair("error", "pipelines[0].stages[2].stageEnabled.expression"),
                pair("error", "pipelines[0].stages[4].stageEnabled.expression"),
            ]
        );
        let text = check_json(variant(&[
            ("/pipelines/0/stages/1/continuePipeline", Some(json!(true))),
            ("/pipelines/0/stages/4/stageEnabled", Some(enabled())),
        ]));
        assert!(
            text.contains("read ['context']['nothing_new']"),
            "the message says what to read: {text}"
        );
    }

    #[test]
    fn a_parallel_branch_and_the_pipeline_notifications_can_run_after_the_failure() {
        let got = reads(&[
            ("/pipelines/0/stages/1/continuePipeline", Some(json!(true))),
            // Abort waits for Deploy only: a branch beside the wait.
            (
                "/pipelines/0/stages/5/requisiteStageRefIds",
                Some(json!(["1"])),
            ),
            ("/pipelines/0/stages/5/stageEnabled", Some(enabled())),
            (
                "/pipelines/0/notifications/0/message",
                Some(json!({"pipeline.failed": {"text": format!("${{{READ}}}")}})),
            ),
        ]);
        assert_eq!(
            got,
            [
                pair(
                    "error",
                    "pipelines[0].notifications[0].message[\"pipeline.failed\"].text"
                ),
                pair("error", "pipelines[0].stages[2].stageEnabled.expression"),
                pair("error", "pipelines[0].stages[5].stageEnabled.expression"),
            ]
        );
    }

    #[test]
    fn a_reader_that_cannot_run_after_the_failure_is_a_warning() {
        // `failPipeline: false` without `continuePipeline`: a failed wait ends STOPPED and
        // the stages after it never start; Deploy ran before the wait.
        let got = reads(&[
            ("/pipelines/0/stages/1/failPipeline", Some(json!(false))),
            ("/pipelines/0/stages/4/stageEnabled", Some(enabled())),
            ("/pipelines/0/stages/0/stageEnabled", Some(enabled())),
        ]);
        assert_eq!(
            got,
            [
                pair("warning", "pipelines[0].stages[0].stageEnabled.expression"),
                pair("warning", "pipelines[0].stages[2].stageEnabled.expression"),
                pair("warning", "pipelines[0].stages[4].stageEnabled.expression"),
            ]
        );
    }

    #[test]
    fn a_job_that_fails_the_pipeline_is_not_reported() {
        let got = reads(&[("/pipelines/0/stages/4/stageEnabled", Some(enabled()))]);
        assert_eq!(got, Vec::<(String, String)>::new());
    }
}
