//! Drives the steps for many value files: load -> validate -> render -> bundle -> check,
//! in parallel, with results in input order.
//!
//! Everything expensive is done once per process (schemas compiled) or once per worker
//! thread (templates parsed, inside each thread's jrsonnet state), never once per team.

use crate::bundle::Bundle;
use crate::check::Checker;
use crate::diag::{self, Diagnostic};
use crate::platform::{self, Platform};
use crate::render::{self, Renderer, Resolver};
use crate::values::{self, discover::Input, schema::ValueSchema};
use anyhow::Result;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{OnceLock, mpsc};

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
    /// `--platform DIR`: the platform's defaults and policy. Given to [`compile`] and the
    /// other entry points: overrides what each value file's own place finds (see
    /// [`platform::resolve`]). Given to [`Compiler::new`]: the directory to read, already
    /// resolved.
    pub platform: Option<PathBuf>,
    /// `--allow-empty`: a directory without value files is not an error.
    pub allow_empty: bool,
    /// `--verbose`: each value file gets a note naming its platform directory and templates.
    pub verbose: bool,
}

/// The outcome for one value file: whether it compiled without errors, its bundle then
/// (unless compiled for [`validate`], which keeps none), and every diagnostic (warnings
/// too) either way.
///
/// `B` is what is kept of a bundle: the bundle itself, or what a command makes of it on
/// the worker that compiled it ([`compile_keeping`]).
#[derive(Debug)]
pub struct Unit<B = Bundle> {
    pub file: String,
    /// It rendered and its bundle passed the output checks.
    pub compiled: bool,
    pub bundle: Option<B>,
    pub diagnostics: Vec<Diagnostic>,
    /// The application the file declares, with the position of its `Application` value,
    /// for the checks across files.
    pub application: Option<(String, (usize, usize))>,
    /// The platform directory and template set it was compiled with.
    pub governing: platform::resolve::Governing,
}

/// A value file that loaded without errors, ready to render (maybe more than once).
#[derive(Debug)]
pub struct Prepared {
    pub file: values::ValueFile,
    /// Its values with the platform's defaults, and its environments.
    pub resolved: values::Resolved,
    /// The platform's defaults for this application, placeholders filled in.
    pub defaults: Option<Map<String, Value>>,
    /// The application it declares, with the position of `Application`.
    pub application: Option<(String, (usize, usize))>,
    /// The files it names, by the path written in it.
    pub files: std::collections::BTreeMap<String, String>,
    /// Values that must never be printed.
    pub secrets: Vec<String>,
    /// Warnings found so far.
    pub diagnostics: Vec<Diagnostic>,
}

/// The last step for one file's diagnostics: secrets replaced by `***`, then sorted in
/// file order, as a reader goes through it (stable: same-place problems keep the order
/// the steps found them in), the value file's own first.
pub fn finish(diagnostics: &mut [Diagnostic], file: &str, secrets: &[String]) {
    diag::scrub(diagnostics, secrets);
    diagnostics.sort_by_key(|d| (d.file != file, d.file.clone(), d.line, d.column));
}

/// What the bundles are for, which decides how they are finished and whether they are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// `build`, `diff`, `push`: finished (ids, pipeline triggers, the `kujiraGen` marker
    /// with its digest) and kept.
    Output,
    /// `impact`: ids only, no marker (its source never changes between two renders of a
    /// team and its digest changes with any content, so it would say nothing).
    Comparison,
    /// `validate`: finished as for `Output` except the marker's digest, which no check
    /// reads (see [`crate::marker::stamp_unhashed`]), checked, then dropped by the worker
    /// that made it, so that memory does not grow with the number of teams.
    Validation,
}

/// What is shared read-only by all workers.
pub struct Compiler {
    schema: ValueSchema,
    checker: Checker,
    resolver: Resolver,
    platform: Platform,
    /// Problems in the platform's own files, reported once.
    pub platform_problems: Vec<Diagnostic>,
    purpose: Purpose,
    /// What it compiles with, for the units.
    governing: platform::resolve::Governing,
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
        // First: it starts compiling the output checks' schemas on a thread of their own.
        let checker = Checker::new()?;
        let schema = ValueSchema::new()?;
        if let Some(dir) = &options.platform
            && !dir.is_dir()
        {
            anyhow::bail!("--platform {}: not a directory", dir.display());
        }
        let (platform, platform_problems) =
            platform::load(options.platform.as_deref(), &schema, &platform::today()?);
        Ok(Self {
            schema,
            checker,
            resolver: Resolver::new(options.templates.as_deref(), &options.jpath),
            platform,
            platform_problems,
            purpose: Purpose::Output,
            governing: platform::resolve::Governing {
                platform: options.platform.clone(),
                templates: options.templates.clone(),
            },
        })
    }

    /// Compiles one input with a worker's renderer.
    pub fn compile_one(&self, input: &Input, renderer: &Renderer) -> Unit {
        let prepared = match self.prepare(input) {
            Ok(p) => p,
            Err(unit) => return unit,
        };
        let (bundle, findings) = self.render_checked(&prepared, renderer);
        let compiled = bundle.is_some();
        let mut unit = Unit {
            file: input.display.clone(),
            compiled,
            bundle: bundle.filter(|_| self.purpose != Purpose::Validation),
            diagnostics: prepared.diagnostics,
            application: prepared.application,
            governing: self.governing.clone(),
        };
        unit.diagnostics.extend(findings);
        finish(&mut unit.diagnostics, &unit.file, &prepared.secrets);
        unit
    }

    /// Everything before rendering: load, schema, rules, the files the value file names.
    /// A file that has errors comes back as a finished `Unit`: rendering invalid values
    /// would only add confusing template errors.
    pub fn prepare(&self, input: &Input) -> Result<Prepared, Unit> {
        let mut unit = Unit {
            file: input.display.clone(),
            compiled: false,
            bundle: None,
            diagnostics: Vec::new(),
            application: None,
            governing: self.governing.clone(),
        };
        if self.platform.defaults_invalid {
            let place = self
                .platform
                .dir
                .as_ref()
                .map(|d| d.join(platform::defaults::FILE_NAME).display().to_string())
                .unwrap_or_else(|| platform::defaults::FILE_NAME.to_string());
            unit.diagnostics.push(Diagnostic::note(
                input.display.clone(),
                format!(
                    "not validated: the platform's defaults ({place}) have errors, reported there"
                ),
            ));
            return Err(unit);
        }
        let file = match values::load(input) {
            Ok(f) => f,
            Err(d) => {
                unit.diagnostics.push(d);
                return Err(unit);
            }
        };
        let mut secrets = values::rules::secrets(&file.value);
        let application = file
            .value
            .get("Application")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if !application.is_empty() {
            unit.application = Some((application.clone(), file.position("/Application", false)));
        }
        let defaults = self
            .platform
            .defaults
            .as_ref()
            .map(|d| d.for_application(&application));
        let (checked, resolved) = values::check_with(&file, &self.schema, defaults.as_ref());
        unit.diagnostics.extend(checked);
        unit.diagnostics.extend(values::rules::check_slo(
            &file,
            &resolved.environments,
            &self.slo_provider(),
        ));
        let loaded = values::files::load(&file);
        unit.diagnostics.extend(loaded.diagnostics);
        secrets.extend(loaded.secrets);
        if let Some(policy) = &self.platform.policy {
            unit.diagnostics
                .extend(policy.check(&file, &application, &resolved.environments));
        }
        if diag::count_errors(&unit.diagnostics) > 0 {
            finish(&mut unit.diagnostics, &unit.file, &secrets);
            return Err(unit);
        }
        Ok(Prepared {
            file,
            resolved,
            defaults,
            application: unit.application,
            files: loaded.files,
            secrets,
            diagnostics: unit.diagnostics,
        })
    }

    /// Renders a prepared value file and runs the output checks: the bundle only when it
    /// passed them (whatever a template produced must pass them; a bundle that does not
    /// is never printed, written or pushed), and the findings either way. The findings
    /// are not yet scrubbed of secrets: see [`finish`].
    pub fn render_checked(
        &self,
        prepared: &Prepared,
        renderer: &Renderer,
    ) -> (Option<Bundle>, Vec<Diagnostic>) {
        match self.render_only(prepared, renderer) {
            Ok(bundle) => {
                let findings = self.checker.check(&bundle, &prepared.file.display);
                let failed = diag::count_errors(&findings) > 0;
                ((!failed).then_some(bundle), findings)
            }
            Err(d) => (None, vec![d]),
        }
    }

    /// Renders without the output checks (for the old side of a comparison, which is what
    /// Spinnaker has, checked or not).
    pub fn render_only(
        &self,
        prepared: &Prepared,
        renderer: &Renderer,
    ) -> Result<Bundle, Diagnostic> {
        self.render(
            &prepared.file,
            &prepared.resolved,
            prepared.defaults.as_ref(),
            prepared.files.clone(),
            renderer,
        )
    }

    /// Evaluates another entry function of the template set (`slo status`:
    /// [`render::embedded::SLO_STATUS_ENTRY`]) with the input a render of `prepared`
    /// gets, platform settings included, and returns its JSON as it is.
    pub fn evaluate_entry(
        &self,
        prepared: &Prepared,
        renderer: &Renderer,
        entry: &str,
    ) -> Result<Value, Diagnostic> {
        let input = self.input(
            &prepared.file,
            &prepared.resolved,
            prepared.defaults.as_ref(),
            prepared.files.clone(),
        );
        renderer
            .render_entry(entry, &input)
            .map_err(|e| render::to_diagnostic(&e, &prepared.file.display))
    }

    fn render(
        &self,
        file: &values::ValueFile,
        resolved: &values::Resolved,
        defaults: Option<&Map<String, Value>>,
        files: std::collections::BTreeMap<String, String>,
        renderer: &Renderer,
    ) -> Result<Bundle, Diagnostic> {
        let input = self.input(file, resolved, defaults, files);
        let rendered = renderer
            .render(&input)
            .map_err(|e| render::to_diagnostic(&e, &file.display))?;
        let mut bundle = Bundle::from_rendered(&file.source, rendered).map_err(|m| {
            Diagnostic::error(file.display.clone(), format!("template result: {m}"))
        })?;
        match self.purpose {
            Purpose::Output => bundle.finalize(),
            Purpose::Comparison => bundle.add_ids(),
            Purpose::Validation => bundle.finalize_unhashed(),
        }
        Ok(bundle)
    }

    /// The entry functions' argument: the values with `_kujira` (see main.jsonnet).
    fn input(
        &self,
        file: &values::ValueFile,
        resolved: &values::Resolved,
        defaults: Option<&Map<String, Value>>,
        files: std::collections::BTreeMap<String, String>,
    ) -> Value {
        let mut input = resolved.values.clone();
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
        k.insert(
            "environments".into(),
            Value::Array(
                resolved
                    .environments
                    .iter()
                    .map(|e| {
                        let mut m = Map::new();
                        m.insert(
                            "name".into(),
                            e.name.clone().map_or(Value::Null, Value::String),
                        );
                        m.insert("values".into(), Value::Object(e.values.clone()));
                        Value::Object(m)
                    })
                    .collect(),
            ),
        );
        k.insert(
            "platformDefaults".into(),
            Value::Array(
                defaults
                    .map(|d| {
                        d.keys()
                            .filter(|key| file.value.get(key.as_str()).is_none())
                            .map(|key| Value::String(key.clone()))
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
        );
        // The platform's SLO settings, merged by the templates over their defaults; absent
        // without `slo.json`, so that files without SLOs render as before.
        if let Some(slo) = &self.platform.slo {
            k.insert("slo".into(), Value::Object(slo.values.clone()));
        }
        input.insert("_kujira".into(), Value::Object(k));
        Value::Object(input)
    }

    /// Whether the platform's SLO settings name a metric provider, for the SLO rules.
    fn slo_provider(&self) -> values::rules::SloProvider {
        use values::rules::SloProvider;
        match &self.platform.slo {
            Some(s) if s.has_provider() => SloProvider::Configured {
                retention: s.retention(),
                place: s.display.clone(),
            },
            Some(s) => SloProvider::Missing(s.display.clone()),
            None if self.platform.slo_invalid => SloProvider::Invalid(self.platform.slo_file()),
            None => SloProvider::Missing(self.platform.slo_file()),
        }
    }

    /// Bundles without the `kujiraGen` marker (for comparing two renders).
    pub fn without_markers(mut self) -> Self {
        self.purpose = Purpose::Comparison;
        self
    }

    /// Bundles checked and dropped, for `validate` (see [`Purpose::Validation`]).
    fn validating(mut self) -> Self {
        self.purpose = Purpose::Validation;
        self
    }

    pub fn renderer(&self) -> Renderer {
        Renderer::new(self.resolver.clone())
    }
}

/// Discovers and compiles every input. Problems finding inputs come first, as units of
/// their own.
pub fn compile(paths: &[PathBuf], options: &Options) -> Result<Vec<Unit>> {
    compile_for(paths, options, Purpose::Output, &|b| b)
}

/// [`compile`], keeping of each bundle what `keep` makes of it, on the worker thread
/// that compiled it: `diff` and `push` keep pipelines as compact text
/// ([`crate::plan::planner::declare`]), so that a thousand bundles' parsed JSON never
/// exists at once.
pub fn compile_keeping<B: Send>(
    paths: &[PathBuf],
    options: &Options,
    keep: impl Fn(Bundle) -> B + Sync,
) -> Result<Vec<Unit<B>>> {
    compile_for(paths, options, Purpose::Output, &keep)
}

/// [`compile`] for `validate`: the same diagnostics, but no unit keeps its bundle, so a
/// repository of any size validates in the memory of a few teams (the units left are
/// names and diagnostics).
pub fn validate(paths: &[PathBuf], options: &Options) -> Result<Vec<Unit>> {
    compile_for(paths, options, Purpose::Validation, &|b| b)
}

fn compile_for<B: Send>(
    paths: &[PathBuf],
    options: &Options,
    purpose: Purpose,
    keep: &(dyn Fn(Bundle) -> B + Sync),
) -> Result<Vec<Unit<B>>> {
    let (inputs, problems) =
        values::discover::discover(paths, options.root.as_deref(), options.allow_empty);
    let (groups, unresolved) = group_inputs(inputs, options);
    let mut units: Vec<Unit<B>> = problems.into_iter().map(Unit::problem).collect();
    let mut compiled: Vec<(usize, Unit<B>)> = unresolved
        .into_iter()
        .map(|(i, d)| (i, Unit::problem(d)))
        .collect();
    for (group_options, members) in &groups {
        let (indices, inputs): (Vec<usize>, Vec<Input>) = members.iter().cloned().unzip();
        let group = compile_group(&inputs, group_options, purpose, keep)?;
        units.extend(group.platform);
        compiled.extend(indices.into_iter().zip(group.units));
    }
    compiled.sort_by_key(|(i, _)| *i);
    let mut compiled: Vec<Unit<B>> = compiled.into_iter().map(|(_, u)| u).collect();
    if options.verbose {
        for u in &mut compiled {
            let note = governing_note(&u.file, &u.governing);
            u.diagnostics.insert(0, note);
        }
    }
    check_across_files(&mut compiled);
    units.extend(compiled);
    Ok(units)
}

/// What `--verbose` says of a value file: the platform directory and template set it was
/// compiled with.
pub fn governing_note(file: &str, governing: &platform::resolve::Governing) -> Diagnostic {
    Diagnostic::note(
        file.to_string(),
        format!(
            "platform {}, templates {}",
            governing.platform_name(),
            governing.templates_name()
        ),
    )
}

/// The inputs grouped by the settings that govern them (see [`platform::resolve`]), in
/// order of first appearance, each group with the options to compile it with (the given
/// ones, its platform directory and templates filled in) and each input with its index;
/// the inputs whose settings cannot be found come back as errors of their own.
#[allow(clippy::type_complexity)]
pub fn group_inputs(
    inputs: Vec<Input>,
    options: &Options,
) -> (
    Vec<(Options, Vec<(usize, Input)>)>,
    Vec<(usize, Diagnostic)>,
) {
    let mut groups: Vec<(platform::resolve::Governing, Vec<(usize, Input)>)> = Vec::new();
    let mut unresolved = Vec::new();
    for (i, input) in inputs.into_iter().enumerate() {
        match platform::resolve::for_file(
            &input.path,
            options.platform.as_deref(),
            options.templates.as_deref(),
        ) {
            Ok(g) => match groups.iter_mut().find(|(k, _)| *k == g) {
                Some((_, members)) => members.push((i, input)),
                None => groups.push((g, vec![(i, input)])),
            },
            Err(message) => unresolved.push((i, Diagnostic::error(input.display.clone(), message))),
        }
    }
    let groups = groups
        .into_iter()
        .map(|(g, members)| {
            let group = Options {
                platform: g.platform,
                templates: g.templates,
                ..options.clone()
            };
            (group, members)
        })
        .collect();
    (groups, unresolved)
}

/// What one group of inputs compiled to.
struct Group<B> {
    /// One per input, in input order.
    units: Vec<Unit<B>>,
    /// One per platform file with problems.
    platform: Vec<Unit<B>>,
}

/// Compiles the inputs of one group: the units in input order, and one unit per platform
/// file with problems.
fn compile_group<B: Send>(
    inputs: &[Input],
    options: &Options,
    purpose: Purpose,
    keep: &(dyn Fn(Bundle) -> B + Sync),
) -> Result<Group<B>> {
    // The workers start first and parse the templates while this thread builds the
    // compiler (the value schema, the platform's files): for one value file, the two were
    // a third of the run, one after the other.
    let ready: OnceLock<Option<Compiler>> = OnceLock::new();
    let mut failed = None;
    let compiled = std::thread::scope(|s| {
        let workers = s.spawn(|| {
            parallel_map(
                inputs,
                options.threads,
                || {
                    let renderer =
                        Renderer::new(Resolver::new(options.templates.as_deref(), &options.jpath));
                    // With nothing to compile (`validate --changed` on a commit without
                    // value files), nothing to parse.
                    if !inputs.is_empty() {
                        renderer.warm_up();
                    }
                    renderer
                },
                |renderer, input| {
                    let compiler = ready.wait().as_ref()?;
                    Some(compiler.compile_one(input, renderer).keeping(keep))
                },
            )
        });
        // Should building the compiler panic, the workers must not wait for it forever.
        let _release = ReleaseOnDrop(&ready);
        let compiler = Compiler::new(options).map(|c| match purpose {
            Purpose::Output => c,
            Purpose::Comparison => c.without_markers(),
            Purpose::Validation => c.validating(),
        });
        let _ = ready.set(compiler.map_err(|e| failed = Some(e)).ok());
        workers
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    if let Some(e) = failed {
        return Err(e);
    }
    let Some(Some(compiler)) = ready.get() else {
        anyhow::bail!("no compiler was built");
    };
    // One unit per platform file, so that the summary counts files.
    let mut platform_units: Vec<Unit<B>> = Vec::new();
    for d in &compiler.platform_problems {
        match platform_units.iter_mut().find(|u| u.file == d.file) {
            Some(u) => u.diagnostics.push(d.clone()),
            None => platform_units.push(Unit::problem(d.clone())),
        }
    }
    Ok(Group {
        units: compiled.into_iter().flatten().collect(),
        platform: platform_units,
    })
}

impl<B> Unit<B> {
    /// A unit of one problem that is not a value file's (a path that cannot be read, a
    /// platform file's error).
    pub fn problem(d: Diagnostic) -> Self {
        Unit {
            file: d.file.clone(),
            compiled: false,
            bundle: None,
            diagnostics: vec![d],
            application: None,
            governing: platform::resolve::Governing::default(),
        }
    }
}

impl Unit {
    /// The same unit with what `keep` makes of its bundle.
    fn keeping<B>(self, keep: &(dyn Fn(Bundle) -> B + Sync)) -> Unit<B> {
        Unit {
            file: self.file,
            compiled: self.compiled,
            bundle: self.bundle.map(keep),
            diagnostics: self.diagnostics,
            application: self.application,
            governing: self.governing,
        }
    }
}

/// Sets the workers' compiler to none when dropped before it was set (the thread building
/// it is unwinding).
struct ReleaseOnDrop<'a>(&'a OnceLock<Option<Compiler>>);

impl Drop for ReleaseOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.0.set(None);
    }
}

/// What no single file shows: two value files declaring the same application (Front50
/// compares application names case-insensitively). Both files get the error, naming the
/// other, and neither is built: `build -o`, `diff` and `push` would refuse them, so
/// `validate` (the pre-commit check) must too.
pub fn check_across_files<B>(units: &mut [Unit<B>]) {
    let declared: Vec<(usize, String)> = units
        .iter()
        .enumerate()
        .filter_map(|(i, u)| u.application.as_ref().map(|(a, _)| (i, a.to_lowercase())))
        .collect();
    for (i, app) in &declared {
        let others: Vec<String> = declared
            .iter()
            .filter(|(j, other)| j != i && other == app)
            .map(|(j, _)| units[*j].file.clone())
            .collect();
        if others.is_empty() {
            continue;
        }
        let unit = &mut units[*i];
        let (name, at) = unit.application.clone().unwrap_or_default();
        unit.diagnostics.push(
            Diagnostic::error(
                unit.file.clone(),
                format!(
                    "application `{name}` is also declared by {}: an application is declared by one value file (list its environments under `Environments`)",
                    others.join(", ")
                ),
            )
            .at(Some(at))
            .with_path("Application"),
        );
        unit.compiled = false;
        unit.bundle = None;
    }
}

/// [`check_across_files`] against every value file the same platform governs, not only the
/// ones compiled (`validate --changed`, a partial `build`, `diff` or `push`): a new team may
/// not take an application another, unchanged team declares. The platform's `.kujira/`
/// marks the GitOps repository: the files looked at are those under the directory that
/// holds it (for a `--platform` directory elsewhere, under the repository root of the
/// files compiled). Files no platform governs are checked among themselves only. The
/// other files are only read for their `Application`.
pub fn check_across_repository<B>(units: &mut Vec<Unit<B>>) {
    use std::collections::HashSet;
    use std::path::Path;
    let compiled: HashSet<PathBuf> = units
        .iter()
        .filter(|u| u.application.is_some())
        .map(|u| platform::resolve::absolute(Path::new(&u.file)))
        .collect();
    let roots: Vec<PathBuf> = {
        let mut r: Vec<PathBuf> = units
            .iter()
            .filter(|u| u.application.is_some())
            .filter_map(|u| {
                let dir = platform::resolve::absolute(u.governing.platform.as_deref()?);
                if dir.file_name().is_some_and(|n| n == platform::DEFAULT_DIR) {
                    dir.parent().map(Path::to_path_buf)
                } else {
                    values::discover::git_root(&platform::resolve::absolute(Path::new(&u.file)))
                }
            })
            .collect();
        r.sort();
        r.dedup();
        r
    };
    if roots.is_empty() {
        return;
    }
    // The roots are absolute, so are the paths under them.
    let others = values::discover::value_files_under(&roots);
    let cwd = platform::resolve::absolute(&std::env::current_dir().unwrap_or_default());
    let kept = units.len();
    let others: Vec<PathBuf> = others
        .into_iter()
        .filter(|p| !compiled.contains(p))
        .collect();
    // Only the name is needed (the errors go to the files compiled): a plain parse,
    // without the positions a full load records; on every core (a thousand small reads
    // are most of a pre-commit check).
    let names = parallel_map(
        &others,
        0,
        || (),
        |(), path| {
            let bytes = values::read_bounded(path, values::MAX_VALUE_FILE_BYTES).ok()?;
            values::application_of(&bytes)
        },
    );
    for (path, app) in others.iter().zip(names) {
        let Some(app) = app else { continue };
        units.push(Unit {
            file: platform::resolve::relative_to(path, &cwd)
                .display()
                .to_string(),
            compiled: false,
            bundle: None,
            diagnostics: Vec::new(),
            application: Some((app, (0, 0))),
            governing: platform::resolve::Governing::default(),
        });
    }
    check_across_files(units);
    units.truncate(kept);
}

/// Compiles every input, in parallel, results in input order.
pub fn compile_inputs(compiler: &Compiler, inputs: &[Input], threads: usize) -> Vec<Unit> {
    parallel_map(
        inputs,
        threads,
        || compiler.renderer(),
        |renderer, input| compiler.compile_one(input, renderer),
    )
}

/// `work` over every item on `threads` workers (0 = one per core), each with its own
/// `state` (a jrsonnet renderer is not `Send`: one per thread). Workers take the next item
/// by index; results are put back in input order, so the output does not depend on
/// scheduling.
pub fn parallel_map<I, S, T>(
    items: &[I],
    threads: usize,
    state: impl Fn() -> S + Sync,
    work: impl Fn(&S, &I) -> T + Sync,
) -> Vec<T>
where
    I: Sync,
    T: Send,
{
    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .min(items.len())
    .max(1);
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, T)>();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, state, work) = (&next, &state, &work);
            s.spawn(move || {
                let st = state();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    if tx.send((i, work(&st, item))).is_err() {
                        break;
                    }
                }
            });
        }
    });
    drop(tx);
    let mut slots: Vec<Option<T>> = (0..items.len()).map(|_| None).collect();
    for (i, out) in rx {
        slots[i] = Some(out);
    }
    slots.into_iter().flatten().collect()
}
