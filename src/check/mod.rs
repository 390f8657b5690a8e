//! Output checks: what a template produced must be a pipeline Spinnaker will run as meant.
//!
//! They run on every render, also with a user's own `--templates`, so they trust nothing
//! about the shape of the bundle: any JSON is reported on, never panicked on. `build`
//! refuses to print a bundle with an error here; `validate` reports every finding.
//!
//! Each rule lives in its own file and reports into one [`Report`]; this module only walks
//! the pipelines in order, so diagnostics come out grouped by pipeline, then by rule.

mod artifact_binding;
mod graph;
mod job_outputs;
mod job_permissions;
mod manifests;
mod path;
mod pipeline;
mod rollout;
mod runjob;
/// Compiled by build.rs; here for the tests that check what it embedded.
#[cfg(test)]
mod schema_embed;
mod schema_message;
mod schemas;
mod stage_refs;
mod view;

#[cfg(test)]
mod fixture;

use crate::bundle::Bundle;
use crate::diag::{Diagnostic, Severity};

/// The output checks. Their schemas compile once per process, on a thread of their own
/// started here, or when first needed (see [`schemas::warm_up`]); a checker is `Send +
/// Sync`, share it across threads.
pub struct Checker {
    schemas: schemas::Schemas,
}

impl Checker {
    pub fn new() -> anyhow::Result<Checker> {
        schemas::warm_up();
        Ok(Checker {
            schemas: schemas::Schemas,
        })
    }

    /// Every problem in `bundle`. `file` (the value file's display path) becomes each
    /// diagnostic's `file`; `path` points into the bundle (`pipelines[0].stages[2]...`).
    pub fn check(&self, bundle: &Bundle, file: &str) -> Vec<Diagnostic> {
        let mut report = Report::new(file);
        pipeline::check_application(bundle, &mut report);
        let mut names = pipeline::Names::default();
        for (i, p) in bundle.pipelines.iter().enumerate() {
            if crate::bundle::too_deep(p) {
                report.error(
                    format!("pipelines[{i}]"),
                    format!(
                        "nested more than {} levels deep (objects and arrays within each other): diff and push cannot read it back",
                        crate::bundle::MAX_DEPTH
                    ),
                );
                continue;
            }
            let view = view::PipelineView::new(i, p);
            pipeline::check(&view, bundle, &mut names, &mut report);
            graph::check(&view, &mut report);
            stage_refs::check(&view, &mut report);
            runjob::check(&view, &mut report);
            job_outputs::check(&view, &mut report);
            let found = manifests::collect(&view, &mut report);
            manifests::validate(&self.schemas, &found, &mut report);
            rollout::check(&found, &mut report);
            artifact_binding::check(&view, &mut report);
            job_permissions::check(&view, &found, &mut report);
        }
        report.diagnostics
    }
}

/// Collects the diagnostics of one bundle; every one has the same `file`.
pub(crate) struct Report<'f> {
    file: &'f str,
    diagnostics: Vec<Diagnostic>,
}

impl<'f> Report<'f> {
    fn new(file: &'f str) -> Self {
        Self {
            file,
            diagnostics: Vec::new(),
        }
    }

    pub fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.add(Severity::Error, path, message);
    }

    pub fn warning(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.add(Severity::Warning, path, message);
    }

    /// The array a stage requires under `key`, or `None` after reporting that it is
    /// missing (`missing` says what the stage needs it for) or not an array.
    pub fn stage_array<'a>(
        &mut self,
        stage: &view::StageView<'a>,
        key: &str,
        missing: &str,
    ) -> Option<&'a Vec<serde_json::Value>> {
        match stage.stage.get(key) {
            Some(serde_json::Value::Array(items)) => Some(items),
            None | Some(serde_json::Value::Null) => {
                self.error(&stage.path, missing);
                None
            }
            Some(other) => {
                self.error(
                    stage.field_path(key),
                    format!("`{key}` must be an array, got {}", view::kind_of(other)),
                );
                None
            }
        }
    }

    /// Adds a diagnostic and hands it back, for notes.
    pub fn add(
        &mut self,
        severity: Severity,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        let d = match severity {
            Severity::Error => Diagnostic::error(self.file, message),
            Severity::Warning => Diagnostic::warning(self.file, message),
            Severity::Note => Diagnostic::note(self.file, message),
        }
        .with_path(path);
        self.diagnostics.push(d);
        let last = self.diagnostics.len() - 1;
        &mut self.diagnostics[last]
    }
}

#[cfg(test)]
mod tests {
    use super::fixture::{check_json, checker, valid_bundle_json};
    use super::*;
    use serde_json::json;

    #[test]
    fn checker_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Checker>();
    }

    #[test]
    fn the_realistic_blue_green_bundle_is_clean() {
        let out = check_json(valid_bundle_json());
        assert_eq!(out, "", "expected no diagnostics, got:\n{out}");
    }

    #[test]
    fn every_diagnostic_carries_the_given_file() {
        let mut v = valid_bundle_json();
        v["pipelines"][0]["name"] = json!("");
        let b = Bundle::from_rendered("teams/sample/value.json", v).unwrap();
        let ds = checker().check(&b, "display/path.json");
        assert!(!ds.is_empty());
        assert!(ds.iter().all(|d| d.file == "display/path.json"));
        assert!(ds.iter().all(|d| d.line.is_none() && d.column.is_none()));
    }

    /// Odd shapes everywhere a rule looks: it must report, never panic.
    #[test]
    fn odd_shapes_are_reported_not_panicked_on() {
        let odd_values = [
            json!(null),
            json!(3),
            json!(-1.5),
            json!("x"),
            json!(true),
            json!([]),
            json!([null, 1, "a", {}]),
            json!({}),
            json!({"kind": 3, "apiVersion": []}),
        ];
        let pointers = [
            "/pipelines/0/application",
            "/pipelines/0/name",
            "/pipelines/0/stages",
            "/pipelines/0/stages/0",
            "/pipelines/0/stages/0/refId",
            "/pipelines/0/stages/0/type",
            "/pipelines/0/stages/0/name",
            "/pipelines/0/stages/0/manifests",
            "/pipelines/0/stages/0/manifests/0",
            "/pipelines/0/stages/0/manifests/5/metadata",
            "/pipelines/0/stages/0/manifests/5/spec",
            "/pipelines/0/stages/0/manifests/6/spec/strategy",
            "/pipelines/0/stages/0/manifests/6/spec/strategy/blueGreen",
            "/pipelines/0/stages/0/manifests/6/spec/strategy/blueGreen/activeService",
            "/pipelines/0/stages/0/manifests/6/spec/template",
            "/pipelines/0/stages/0/manifests/6/spec/template/spec/containers",
            "/pipelines/0/stages/1/requisiteStageRefIds",
            "/pipelines/0/stages/1/requisiteStageRefIds/0",
            "/pipelines/0/stages/1/manifest",
            "/pipelines/0/stages/1/manifest/spec/template",
            "/pipelines/0/stages/1/account",
            "/pipelines/0/stages/1/alias",
            "/pipelines/0/stages/2/stageEnabled",
            "/pipelines/0/stages/2/stageEnabled/expression",
            "/pipelines/0/stages/7/preconditions",
            "/pipelines/0/stages/7/preconditions/0/context",
            "/application/name",
        ];
        let c = checker();
        let original = valid_bundle_json();
        for p in pointers {
            let before = original
                .pointer(p)
                .unwrap_or_else(|| panic!("no {p} in the fixture"));
            for odd in &odd_values {
                let mut v = original.clone();
                if let Some(slot) = v.pointer_mut(p) {
                    *slot = odd.clone();
                }
                let b = Bundle::from_rendered("f", v).unwrap();
                let ds = c.check(&b, "f");
                // A value of another JSON type where the fixture has a valid one is an error
                // somewhere (null and empty containers are fine in a few places).
                if std::mem::discriminant(before) != std::mem::discriminant(odd) && !odd.is_null() {
                    assert!(
                        ds.iter().any(|d| d.is_error()),
                        "{p} = {odd}: no error reported"
                    );
                }
            }
        }
    }
}
