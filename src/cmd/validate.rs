//! `kujira-gen validate`: every problem in every file, in one run.

use crate::{CompileArgs, Format, Outcome};
use anyhow::Result;
use kujira_gen::{compile, diag};
use std::io::Write;

pub fn run(args: &CompileArgs, format: Format) -> Result<Outcome> {
    let units = compile::compile(&args.paths, &args.options())?;
    let diagnostics: Vec<_> = units
        .iter()
        .flat_map(|u| u.diagnostics.iter().cloned())
        .collect();
    let errors = diag::count_errors(&diagnostics);
    match format {
        Format::Json => std::io::stdout().write_all(diag::render_json(&diagnostics).as_bytes())?,
        Format::Human => {
            eprint!("{}", diag::render_human(&diagnostics));
            if errors > 0 {
                eprintln!("{}", super::failure_summary(&units));
            } else {
                let warnings = diag::count_warnings(&diagnostics);
                let files = units.iter().filter(|u| u.bundle.is_some()).count();
                let mut line = format!("{files} file{} ok", super::plural(files));
                if warnings > 0 {
                    line.push_str(&format!(" ({warnings} warning{})", super::plural(warnings)));
                }
                println!("{line}");
            }
        }
    }
    Ok(if errors > 0 {
        Outcome::Failed
    } else {
        Outcome::Ok
    })
}
