//! `kujira-gen validate`: every problem in every file, in one run.

use crate::{CompileArgs, Outcome, ValidateFormat};
use anyhow::Result;
use kujira_gen::term::{self, Palette};
use kujira_gen::{compile, diag, values};
use std::io::Write;

pub fn run(args: &CompileArgs, format: ValidateFormat, changed: bool) -> Result<Outcome> {
    let paths = if changed {
        values::discover::affected_by(&args.inputs.paths)
    } else {
        args.inputs.paths.clone()
    };
    let units = compile::validate(&paths, &args.options())?;
    let diagnostics = super::collect_diagnostics(&units, args.inputs.strict);
    let errors = diag::count_errors(&diagnostics);
    let mut stdout = std::io::stdout().lock();
    match format {
        ValidateFormat::Json => stdout.write_all(diag::render_json(&diagnostics).as_bytes())?,
        ValidateFormat::Human | ValidateFormat::Github => {
            if format == ValidateFormat::Github {
                stdout.write_all(diag::render_github(&diagnostics).as_bytes())?;
            } else {
                let palette = Palette::new(term::stderr_color());
                eprint!("{}", diag::render_styled(&diagnostics, &palette));
            }
            if errors > 0 {
                eprintln!(
                    "{}",
                    super::failure_summary(&units, &diagnostics, args.inputs.strict)
                );
            } else {
                let warnings = diag::count_warnings(&diagnostics);
                let files = units.iter().filter(|u| u.compiled).count();
                let mut line = format!("{files} file{} ok", super::plural(files));
                if warnings > 0 {
                    line.push_str(&format!(" ({warnings} warning{})", super::plural(warnings)));
                }
                writeln!(stdout, "{line}")?;
            }
        }
    }
    Ok(if errors > 0 {
        Outcome::Failed
    } else {
        Outcome::Ok
    })
}
