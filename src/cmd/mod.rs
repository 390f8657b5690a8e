//! One module per subcommand: each wires library steps together and prints the result.

pub mod build;
pub mod diff;
mod gate;
pub mod push;
pub mod schema;
pub mod validate;

use crate::{CompileArgs, Outcome};
use kujira_gen::bundle::Bundle;
use kujira_gen::compile::{self, Options, Unit};
use kujira_gen::diag;

impl CompileArgs {
    pub fn options(&self) -> Options {
        Options {
            templates: self.templates.clone(),
            jpath: self.jpath.clone(),
            root: self.root.clone(),
            threads: self.jobs.map_or(0, usize::from),
            platform: self.platform.clone(),
        }
    }
}

/// Compiles all inputs and prints their diagnostics (warnings too) on stderr. The bundles
/// come back only when nothing had an error: no command acts on half a repository.
pub fn compile_or_report(args: &CompileArgs) -> Result<Vec<Bundle>, Outcome> {
    let units = match compile::compile(&args.paths, &args.options()) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("kujira-gen: error: {e:#}");
            return Err(Outcome::Failed);
        }
    };
    let diagnostics: Vec<_> = units
        .iter()
        .flat_map(|u| u.diagnostics.iter().cloned())
        .collect();
    eprint!("{}", diag::render_human(&diagnostics));
    if diag::count_errors(&diagnostics) > 0 {
        eprintln!("{}", failure_summary(&units));
        return Err(Outcome::Failed);
    }
    Ok(units.into_iter().filter_map(|u| u.bundle).collect())
}

/// `2 errors in 1 of 3 files`.
pub fn failure_summary(units: &[Unit]) -> String {
    let errors: usize = units
        .iter()
        .map(|u| diag::count_errors(&u.diagnostics))
        .sum();
    let failed = units
        .iter()
        .filter(|u| diag::count_errors(&u.diagnostics) > 0)
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
