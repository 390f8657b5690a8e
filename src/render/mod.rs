//! The Jsonnet step: values in, `{application, pipelines}` JSON out.
//!
//! Entry contract: `main.jsonnet` of the template set evaluates to
//! `function(values) { application: {...}, pipelines: [...] }`. The values go in as data
//! (a top-level argument built from JSON), never as code.
//!
//! A `Renderer` owns one jrsonnet `State`, which is not `Send`: each worker thread makes its
//! own and reuses it for every team, so every template file is parsed and its top level
//! evaluated once per thread.

pub mod embedded;
mod error;
pub mod resolver;
pub mod source;

pub use error::to_diagnostic;
pub use resolver::Resolver;
pub use source::TemplateSource;

use jrsonnet_evaluator::manifest::JsonFormat;
use jrsonnet_evaluator::tla::TlaArg;
use jrsonnet_evaluator::trace::PathResolver;
use jrsonnet_evaluator::{IStr, SourcePath, State, Val, apply_tla};
use std::collections::HashMap;

/// A failed evaluation, kept as jrsonnet's error so that its trace can be formatted.
pub struct RenderError(pub jrsonnet_evaluator::Error);

pub struct Renderer {
    state: State,
    /// The built-in files this template set uses unchanged, for [`Renderer::warm_up`].
    embedded: Vec<&'static str>,
}

impl Renderer {
    pub fn new(resolver: Resolver) -> Self {
        let embedded = resolver.embedded_in_use();
        let mut builder = State::builder();
        builder.import_resolver(resolver).context_initializer(
            jrsonnet_stdlib::ContextInitializer::new(PathResolver::new_cwd_fallback()),
        );
        Self {
            state: builder.build(),
            embedded,
        }
    }

    /// Parses and analyses the built-in template files this set uses (and evaluates their
    /// top level, an object whose fields stay lazy), as the first render would: a worker
    /// does it while the value schema compiles (10.6M instructions of a one-file
    /// `validate`'s ~44M). Only files kujira-gen ships: an override's file is read when
    /// the templates import it, as before. A failure is left for the render to report:
    /// jrsonnet keeps only what succeeded, so the render meets the same error.
    pub fn warm_up(&self) {
        let _entered = self.state.try_enter();
        for path in &self.embedded {
            let _ = self.state.import_from(&SourcePath::default(), *path);
        }
    }

    /// Calls the entry function with `values` and returns its result as JSON.
    pub fn render(&self, values: &serde_json::Value) -> Result<serde_json::Value, RenderError> {
        self.render_entry(embedded::ENTRY, values)
    }

    /// Calls another entry function of the template set (a logical path such as
    /// [`embedded::SLO_STATUS_ENTRY`]) with `values`, as [`Renderer::render`] calls
    /// `main.jsonnet`.
    pub fn render_entry(
        &self,
        entry: &str,
        values: &serde_json::Value,
    ) -> Result<serde_json::Value, RenderError> {
        let result = self.evaluate(entry, values);
        // jrsonnet's reference-counted objects form cycles that only this collects; without
        // it memory grows by ~100 KB per render (see ../shared/reference/rust-crates.md).
        jrsonnet_gcmodule::collect_thread_cycles();
        result.map_err(RenderError)
    }

    fn evaluate(
        &self,
        entry: &str,
        values: &serde_json::Value,
    ) -> jrsonnet_evaluator::Result<serde_json::Value> {
        let _entered = self.state.try_enter();
        let entry = self.state.import_from(&SourcePath::default(), entry)?;
        // serde_json -> Val through serde keeps integers as numbers (Val::from_serde would
        // turn them into strings in this jrsonnet version).
        let values: Val = serde_json::from_value(values.clone())
            .map_err(|e| runtime_error(format!("values: {e}")))?;
        // jrsonnet's API takes this map; interned strings hash by identity, safely.
        #[allow(clippy::mutable_key_type)]
        let mut args: HashMap<IStr, TlaArg> = HashMap::new();
        args.insert("values".into(), TlaArg::Val(values));
        let out = apply_tla(&args, entry)?;
        // Straight into serde_json: half the cost of printing JSON text and parsing it back.
        // An error on the way (a lazy field failing) comes out of serde as bare text, so
        // evaluate again through jrsonnet's own manifester, whose error keeps the trace.
        match serde_json::to_value(&out) {
            Ok(v) => Ok(v),
            Err(serde_error) => {
                out.manifest(JsonFormat::minify())?;
                Err(runtime_error(serde_error.to_string()))
            }
        }
    }
}

fn runtime_error(message: String) -> jrsonnet_evaluator::Error {
    jrsonnet_evaluator::error::ErrorKind::RuntimeError(message.into()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn renderer_with(main: &str) -> (tempfile::TempDir, Renderer) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.jsonnet"), main).unwrap();
        let r = Renderer::new(Resolver::new(Some(dir.path()), &[]));
        (dir, r)
    }

    #[test]
    fn values_go_in_as_data_and_integers_stay_integers() {
        let (_d, r) = renderer_with("function(values) { n: values.N + 1, s: values.S }");
        let out = r
            .render(&json!({"N": 2, "S": "a\"; error 'x'"}))
            .ok()
            .unwrap();
        assert_eq!(out, json!({"n": 3, "s": "a\"; error 'x'"}));
        assert!(out["n"].is_i64() || out["n"].is_u64());
    }

    #[test]
    fn a_renderer_is_reused_across_values() {
        let (_d, r) = renderer_with("function(values) values.A");
        for i in 0..3 {
            assert_eq!(r.render(&json!({"A": i})).ok().unwrap(), json!(i));
        }
    }

    #[test]
    fn an_override_imports_the_embedded_library() {
        let (_d, r) = renderer_with(
            "local config = import 'config.libsonnet'; function(values) std.objectHas(config, 'images')",
        );
        assert_eq!(r.render(&json!({})).ok().unwrap(), json!(true));
    }

    #[test]
    fn an_override_can_wrap_the_builtin_file_it_replaces() {
        let (_d, r) = renderer_with(
            "local builtin = import 'builtin/main.jsonnet';\n\
             function(values) { n: std.length(builtin(values).pipelines) }",
        );
        let values = json!({"Application": "a", "Email": "a@b.c", "Notification": "c", "Account": "k",
                            "Image": "gcr.io/p/a"});
        assert_eq!(r.render(&values).ok().unwrap(), json!({"n": 1}));
    }
}
