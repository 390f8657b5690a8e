//! One module per subcommand: each wires library steps together and prints the result.

pub mod build;
pub mod completions;
pub mod diff;
pub mod doctor;
mod gate;
pub mod graph;
pub mod impact;
pub mod init;
pub mod push;
pub mod schema;
pub mod slo;
pub mod validate;

use crate::{CompileArgs, InputArgs, Outcome};
use kujira_gen::bundle::Bundle;
use kujira_gen::compile::{self, Options, Unit};
use kujira_gen::diag::{self, Diagnostic, Severity};
use kujira_gen::term::{self, Palette};

impl InputArgs {
    /// Compile options without templates of their own (the built-in set).
    pub fn options(&self) -> Options {
        Options {
            templates: None,
            jpath: self.jpath.clone(),
            root: self.root.clone(),
            threads: self.jobs.map_or(0, usize::from),
            allow_empty: self.allow_empty,
            verbose: self.verbose,
            platform: self.platform.clone(),
        }
    }
}

impl CompileArgs {
    pub fn options(&self) -> Options {
        Options {
            templates: self.templates.clone(),
            ..self.inputs.options()
        }
    }
}

/// Every unit's diagnostics in one list, a template error met by many teams merged into
/// one, and with `--strict` every warning made an error.
pub fn collect_diagnostics<B>(units: &[Unit<B>], strict: bool) -> Vec<Diagnostic> {
    let all = units.iter().flat_map(|u| u.diagnostics.iter().cloned());
    let mut merged = diag::merge_repeated(all.collect());
    if strict {
        strictly(&mut merged);
    }
    merged
}

/// `--strict`: warnings count as errors. Notes stay notes: an exempted policy violation
/// or an active exemption is information the platform team decided on, not a problem.
pub fn strictly(diagnostics: &mut [Diagnostic]) {
    for d in diagnostics {
        if d.severity == Severity::Warning {
            d.severity = Severity::Error;
        }
    }
}

/// Compiles all inputs and prints their diagnostics (warnings too) on stderr. The bundles
/// come back only when nothing had an error: no command acts on half a repository.
pub fn compile_or_report(args: &CompileArgs) -> Result<Vec<Bundle>, Outcome> {
    compile_or_report_keeping(args, |b| b)
}

/// [`compile_or_report`], keeping what `keep` makes of each bundle (see
/// [`compile::compile_keeping`]).
pub fn compile_or_report_keeping<B: Send>(
    args: &CompileArgs,
    keep: impl Fn(Bundle) -> B + Sync,
) -> Result<Vec<B>, Outcome> {
    let mut units = match compile::compile_keeping(&args.inputs.paths, &args.options(), keep) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("kujira-gen: error: {e:#}");
            return Err(Outcome::Failed);
        }
    };
    // Given part of the repository, an application another value file declares is still
    // a clash: pushing (and pruning) it would fight that file's pipelines.
    compile::check_across_repository(&mut units);
    let diagnostics = collect_diagnostics(&units, args.inputs.strict);
    let palette = Palette::new(term::stderr_color());
    eprint!("{}", diag::render_styled(&diagnostics, &palette));
    if diag::count_errors(&diagnostics) > 0 {
        eprintln!(
            "{}",
            failure_summary(&units, &diagnostics, args.inputs.strict)
        );
        return Err(Outcome::Failed);
    }
    Ok(units.into_iter().filter_map(|u| u.bundle).collect())
}

/// `2 errors in 1 of 3 files`: errors as printed (a template error met by many files
/// counts once), files that had one.
pub fn failure_summary<B>(units: &[Unit<B>], printed: &[Diagnostic], strict: bool) -> String {
    let errors = diag::count_errors(printed);
    let failed = units
        .iter()
        .filter(|u| {
            u.diagnostics
                .iter()
                .any(|d| d.is_error() || (strict && d.severity == Severity::Warning))
        })
        .count();
    format!(
        "{errors} error{} in {failed} of {} file{}",
        plural(errors),
        units.len(),
        plural(units.len())
    )
}

pub fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
