//! `kujira-gen build`: print one bundle, or write all of them as files with `-o`.

use crate::{CompileArgs, Outcome};
use anyhow::{Result, bail};
use kujira_gen::bundle;
use std::io::Write;
use std::path::Path;

pub fn run(args: &CompileArgs, output: Option<&Path>) -> Result<Outcome> {
    match output {
        Some(dir) => {
            // Each team's files are made as text on the worker that compiled it.
            let teams = match super::compile_or_report_keeping(args, bundle::OutputFiles::from) {
                Ok(t) => t,
                Err(outcome) => return Ok(outcome),
            };
            let applications = teams.len();
            let files = bundle::output_files(teams, dir)?;
            bundle::write_files(&files)?;
            eprintln!(
                "wrote {} file{} for {} application{} to {}",
                files.len(),
                super::plural(files.len()),
                applications,
                super::plural(applications),
                dir.display()
            );
        }
        None => {
            let bundles = match super::compile_or_report(args) {
                Ok(b) => b,
                Err(outcome) => return Ok(outcome),
            };
            let [one] = bundles.as_slice() else {
                bail!(
                    "{} value files compiled; printing needs exactly one (write them all with -o DIR)",
                    bundles.len()
                );
            };
            let mut out = std::io::stdout().lock();
            out.write_all(bundle::to_pretty(&one.to_json()).as_bytes())?;
            out.flush()?;
        }
    }
    Ok(Outcome::Ok)
}
