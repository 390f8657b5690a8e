//! Drives the steps for many value files: load -> validate -> render -> bundle -> check,
//! in parallel, with results in input order.
//!
//! Everything expensive is done once per process (schemas compiled) or once per worker
//! thread (templates parsed, inside each thread's jrsonnet state), never once per team.

use crate::bundle::Bundle;
use crate::check::Checker;
use crate::diag::{self, Diagnostic};
use crate::render::{self, Renderer, Resolver};
use crate::values::{self, discover::Input, schema::ValueSchema};
use anyhow::Result;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--templates DIR`: overrides for the built-in templates.
    pub templates: Option<PathBuf>,
    /// `-J DIR`: Jsonnet library paths.
    pub jpath: Vec<PathBuf>,
    /// `--root DIR`: what source paths are relative to.
    pub root: Option<PathBuf>,
    /// Worker threads; 0 = one per core.
    pub threads: usize,
}

/// The outcome for one value file: a bundle when it compiled without errors, and every
/// diagnostic (warnings too) either way.
#[derive(Debug)]
pub struct Unit {
    pub file: String,
    pub bundle: Option<Bundle>,
    pub diagnostics: Vec<Diagnostic>,
}

/// What is shared read-only by all workers.
pub struct Compiler {
    schema: ValueSchema,
    checker: Checker,
    resolver: Resolver,
}

impl Compiler {
    pub fn new(options: &Options) -> Result<Self> {
        // A mistyped directory would otherwise fall back to the built-in templates silently.
        let named = options.templates.iter().map(|d| ("--templates", d));
        for (flag, dir) in named.chain(options.jpath.iter().map(|d| ("-J", d))) {
            if !dir.is_dir() {
                anyhow::bail!("{flag} {}: not a directory", dir.display());
            }
        }
        Ok(Self {
            schema: ValueSchema::new()?,
            checker: Checker::new()?,
            resolver: Resolver::new(options.templates.as_deref(), &options.jpath),
        })
    }

    /// Compiles one input with a worker's renderer.
    pub fn compile_one(&self, input: &Input, renderer: &Renderer) -> Unit {
        let mut unit = Unit {
            file: input.display.clone(),
            bundle: None,
            diagnostics: Vec::new(),
        };
        let file = match values::load(input) {
            Ok(f) => f,
            Err(d) => {
                unit.diagnostics.push(d);
                return unit;
            }
        };
        let mut secrets = values::rules::secrets(&file.value);
        unit.diagnostics.extend(values::check(&file, &self.schema));
        let loaded = values::files::load(&file);
        unit.diagnostics.extend(loaded.diagnostics);
        secrets.extend(loaded.secrets);

        // Rendering invalid values would only add confusing template errors.
        if diag::count_errors(&unit.diagnostics) == 0 {
            match self.render(&file, loaded.files, renderer) {
                Ok(bundle) => {
                    // Whatever a template produced must pass the output checks; a bundle
                    // that does not is never printed, written or pushed.
                    let findings = self.checker.check(&bundle, &file.display);
                    let failed = diag::count_errors(&findings) > 0;
                    unit.diagnostics.extend(findings);
                    if !failed {
                        unit.bundle = Some(bundle);
                    }
                }
                Err(d) => unit.diagnostics.push(d),
            }
        }
        diag::scrub(&mut unit.diagnostics, &secrets);
        // In file order, as a reader goes through it (stable: same-place problems keep
        // the order the steps found them in).
        unit.diagnostics
            .sort_by_key(|d| (d.file != unit.file, d.file.clone(), d.line, d.column));
        unit
    }

    fn render(
        &self,
        file: &values::ValueFile,
        files: std::collections::BTreeMap<String, String>,
        renderer: &Renderer,
    ) -> Result<Bundle, Diagnostic> {
        let mut input = file.value.clone();
        if let Value::Object(m) = &mut input {
            let mut k = Map::new();
            k.insert("source".into(), Value::String(file.source.clone()));
            k.insert(
                "files".into(),
                Value::Object(
                    files
                        .into_iter()
                        .map(|(p, t)| (p, Value::String(t)))
                        .collect(),
                ),
            );
            m.insert("_kujira".into(), Value::Object(k));
        }
        let rendered = renderer
            .render(&input)
            .map_err(|e| render::to_diagnostic(&e, &file.display))?;
        let mut bundle = Bundle::from_rendered(&file.source, rendered).map_err(|m| {
            Diagnostic::error(file.display.clone(), format!("template result: {m}"))
        })?;
        bundle.finalize();
        Ok(bundle)
    }

    pub fn renderer(&self) -> Renderer {
        Renderer::new(self.resolver.clone())
    }
}

/// Discovers and compiles every input. Problems finding inputs come first, as units of
/// their own.
pub fn compile(paths: &[PathBuf], options: &Options) -> Result<Vec<Unit>> {
    let (inputs, problems) = values::discover::discover(paths, options.root.as_deref());
    let compiler = Compiler::new(options)?;
    let mut units: Vec<Unit> = problems
        .into_iter()
        .map(|d| Unit {
            file: d.file.clone(),
            bundle: None,
            diagnostics: vec![d],
        })
        .collect();
    units.extend(compile_inputs(&compiler, &inputs, options.threads));
    Ok(units)
}

/// Workers take the next input by index; results are put back in input order, so the
/// output does not depend on scheduling.
pub fn compile_inputs(compiler: &Compiler, inputs: &[Input], threads: usize) -> Vec<Unit> {
    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .min(inputs.len())
    .max(1);
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, Unit)>();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let tx = tx.clone();
            let next = &next;
            s.spawn(move || {
                let renderer = compiler.renderer();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(input) = inputs.get(i) else { break };
                    if tx
                        .send((i, compiler.compile_one(input, &renderer)))
                        .is_err()
                    {
                        break;
                    }
                }
            });
        }
    });
    drop(tx);
    let mut slots: Vec<Option<Unit>> = (0..inputs.len()).map(|_| None).collect();
    for (i, unit) in rx {
        slots[i] = Some(unit);
    }
    slots.into_iter().flatten().collect()
}
