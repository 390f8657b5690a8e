//! Values that expressions read from Run Job stages, checked against what the jobs print
//! and what Clouddriver and Orca make of it (`upstream::property_parser`,
//! docs/spinnaker-rules.md "Job outputs"):
//! - Orca reads properties from a job's log only with `propertyFile` naming one of the
//!   Job's containers;
//! - Clouddriver lower-cases every `SPINNAKER_PROPERTY_` key, so `['NEW_REVISION']` reads
//!   null: a condition on it is simply false, and the stages it guards never run;
//! - when the job fails, Orca has stored the properties in the stage's `context` but not
//!   in its `outputs` (`WaitOnJobCompletion` fails before returning them as outputs).

use super::Report;
use super::stage_refs::{self, RefKind};
use super::view::{PipelineView, StageView, path_of, quote, visit_strings};
use crate::upstream::property_parser::{self, PrintedKeys};
use serde_json::Value;
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
    /// The container `propertyFile` names, when it names one of the Job's.
    reads_log: bool,
    printed: PrintedKeys,
    continues_on_failure: bool,
}

pub fn check(view: &PipelineView, report: &mut Report) {
    let producers: Vec<Producer> = view
        .stages
        .iter()
        .filter(|s| s.stage_type() == Some("runJobManifest"))
        .map(|s| producer(s, report))
        .collect();
    if producers.is_empty() {
        return;
    }
    for (k, v) in view.pipeline {
        let _ = visit_strings(v, &mut |steps, text| {
            if text.contains("#stage") {
                let at = || path_of(&super::path::key(&view.path, k), steps);
                check_text(view, &producers, text, at, report);
            }
            ControlFlow::Continue(())
        });
    }
}

/// The reads of job outputs in one string of the pipeline, at `at`.
fn check_text(
    view: &PipelineView,
    producers: &[Producer],
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
            check_read(p, r.text, &map, &key, &at(), report);
        }
    }
}

fn producer<'a>(stage: &'a StageView<'a>, report: &mut Report) -> Producer<'a> {
    let continues_on_failure = stage.stage.get("continuePipeline") == Some(&Value::Bool(true))
        || stage.stage.get("failPipeline") == Some(&Value::Bool(false));
    let Some(container) = stage.str_field("propertyFile") else {
        return Producer {
            stage,
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

fn check_read(p: &Producer, reference: &str, map: &str, key: &str, at: &str, report: &mut Report) {
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
        if map == "outputs" && p.continues_on_failure {
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
